//! `PlanError`: what can go wrong discovering, writing or reading a plan workbook. A workbook
//! whose rows are wrong is not an error here but a [`Report`](super::Report) of problems.
//!
//! Must not know: how problems are printed (that is the CLI's business).

use std::path::PathBuf;

use crate::api::ApiError;

/// An error from the `plan` module. Messages name the file, sheet or filter at fault.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A discovery call failed.
    #[error("discovery failed while {context}: {source}")]
    Discovery {
        /// What the walk was doing, e.g. "listing deployments".
        context: String,
        /// The client's error.
        #[source]
        source: ApiError,
    },
    /// A filter given on the command line is unusable.
    #[error("invalid filter {field}: {message}")]
    Filter {
        /// The flag at fault, e.g. `--location`.
        field: String,
        /// Why it is rejected.
        message: String,
    },
    /// Writing the workbook failed.
    #[error("cannot write workbook {path}: {message}")]
    Write {
        /// The workbook being written.
        path: PathBuf,
        /// Why it failed.
        message: String,
    },
    /// The workbook cannot be opened or is not an .xlsx file.
    #[error("cannot read workbook {path}: {message}")]
    Read {
        /// The workbook being read.
        path: PathBuf,
        /// Why it cannot be read.
        message: String,
    },
    /// A required sheet is missing.
    #[error("workbook {path} has no sheet named '{sheet}'")]
    MissingSheet {
        /// The workbook.
        path: PathBuf,
        /// The sheet's expected name, e.g. `Configuration`.
        sheet: String,
    },
    /// File-system failure.
    #[error("{context} {path}: {source}")]
    Io {
        /// What was being done, e.g. "cannot create the folder of".
        context: &'static str,
        /// The file or folder at fault.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl PlanError {
    pub(crate) fn discovery(context: impl Into<String>, source: ApiError) -> PlanError {
        PlanError::Discovery {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn filter(field: impl Into<String>, message: impl Into<String>) -> PlanError {
        PlanError::Filter {
            field: field.into(),
            message: message.into(),
        }
    }
}
