//! Typed errors of the hydrophone front end. Every error names what was wrong: the input text,
//! the annotation file, the entry inside it and the field, or the option.
//!
//! Must not know: how errors are shown (the CLI adds colour, context and exit codes).

// TODO(issue 15 item 6): document the public items below, then delete this allow.
#![allow(missing_docs)]

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
    InvalidTime { input: String, reason: String },

    /// A timezone name or offset that is not known.
    #[error("unknown timezone {input:?}: {reason}")]
    InvalidTimezone { input: String, reason: String },

    /// A bad value inside an annotation file.
    #[error("{at}: {message}")]
    Annotation { at: Location, message: String },

    /// The annotation file cannot be read or is not JSON/CSV at all.
    #[error("{file}: {message}")]
    AnnotationFile { file: String, message: String },

    /// A bad command argument or planning parameter (`--count 0`, a negative pad, …).
    #[error("invalid {name}: {message}")]
    InvalidArgument { name: String, message: String },

    /// The plan would hold more windows than anyone should ask for in one go.
    #[error("the plan would hold {count} windows (limit {limit}); narrow the time range")]
    TooManyWindows { count: u128, limit: u64 },

    /// A data-product option that is malformed or has a value ONC does not accept.
    #[error("invalid data product option {option:?}: {message}")]
    InvalidOption { option: String, message: String },

    /// An archive file name without the `YYYYMMDDTHHMMSS.sssZ` start time.
    #[error("cannot read archive file name {name:?}: {reason}")]
    FileName { name: String, reason: String },
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
