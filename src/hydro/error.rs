//! Typed errors of the hydrophone front end. Every error names what was wrong: the input text,
//! the annotation file, the entry inside it and the field, or the option.
//!
//! Must not know: how errors are shown (the CLI adds colour, context and exit codes).

use std::fmt;

/// Where in an annotation file a problem sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file as the user named it.
    pub file: String,
    /// The entry: `requests[3]`, `ICLISTENHF6324[0]`, `row 5`, or `defaults`.
    pub entry: String,
    /// The field (with the alias actually used), when one field is to blame.
    pub field: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: entry {}", self.file, self.entry)?;
        if let Some(field) = &self.field {
            write!(f, ", field `{field}`")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong while planning hydrophone windows, requests and clips.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HydroError {
    /// A time value that none of the accepted forms matches.
    #[error("cannot read time {input:?}: {reason}")]
    InvalidTime {
        /// The text as given.
        input: String,
        /// Why no accepted form matches.
        reason: String,
    },

    /// A timezone name or offset that is not known.
    #[error("unknown timezone {input:?}: {reason}")]
    InvalidTimezone {
        /// The name or offset as given.
        input: String,
        /// Why it is rejected.
        reason: String,
    },

    /// A bad value inside an annotation file.
    #[error("{at}: {message}")]
    Annotation {
        /// The file, entry and field at fault.
        at: Location,
        /// What is wrong with the value.
        message: String,
    },

    /// The annotation file cannot be read or is not JSON/CSV at all.
    #[error("{file}: {message}")]
    AnnotationFile {
        /// The file as the user named it.
        file: String,
        /// Why it cannot be read.
        message: String,
    },

    /// A bad command argument or planning parameter (`--count 0`, a negative pad, …).
    #[error("invalid {name}: {message}")]
    InvalidArgument {
        /// What it concerns, e.g. `audio extension` or `clip source`.
        name: String,
        /// Why the value is rejected.
        message: String,
    },

    /// The plan would hold more windows than anyone should ask for in one go.
    #[error("the plan would hold {count} windows (limit {limit}); narrow the time range")]
    TooManyWindows {
        /// Windows the plan would hold.
        count: u128,
        /// The most allowed in one plan.
        limit: u64,
    },

    /// A data-product option that is malformed or has a value ONC does not accept.
    #[error("invalid data product option {option:?}: {message}")]
    InvalidOption {
        /// The option's name, e.g. `dpo_hydrophoneChannel`.
        option: String,
        /// Why the value is rejected (ONC's allowed values included).
        message: String,
    },

    /// An archive file name without the `YYYYMMDDTHHMMSS.sssZ` start time.
    #[error("cannot read archive file name {name:?}: {reason}")]
    FileName {
        /// The file name.
        name: String,
        /// What is missing or malformed.
        reason: String,
    },
}

impl HydroError {
    /// Shorthand for [`HydroError::InvalidArgument`].
    pub fn arg(name: impl Into<String>, message: impl Into<String>) -> HydroError {
        HydroError::InvalidArgument {
            name: name.into(),
            message: message.into(),
        }
    }
}

/// Result alias for the hydrophone front end.
pub type Result<T, E = HydroError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_errors_name_file_entry_and_field() {
        let e = HydroError::Annotation {
            at: Location {
                file: "calls.json".into(),
                entry: "requests[2]".into(),
                field: Some("pad_before_seconds".into()),
            },
            message: "must be ≥ 0, got -5".into(),
        };
        assert_eq!(
            e.to_string(),
            "calls.json: entry requests[2], field `pad_before_seconds`: must be ≥ 0, got -5"
        );
    }
}
