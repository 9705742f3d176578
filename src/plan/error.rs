//! `PlanError`: what can go wrong discovering, writing or reading a plan workbook. A workbook
//! whose rows are wrong is not an error here but a [`Report`](super::Report) of problems.
//!
//! Must not know: how problems are printed (that is the CLI's business).

// TODO(issue 15 item 6): document the public items below, then delete this allow.
#![allow(missing_docs)]

use std::path::PathBuf;

use crate::api::ApiError;

/// An error from the `plan` module. Messages name the file, sheet or filter at fault.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A discovery call failed.
    #[error("discovery failed while {context}: {source}")]
    Discovery {
        context: String,
        #[source]
        source: ApiError,
    },
    /// A filter given on the command line is unusable.
    #[error("invalid filter {field}: {message}")]
    Filter { field: String, message: String },
    /// Writing the workbook failed.
    #[error("cannot write workbook {path}: {message}")]
    Write { path: PathBuf, message: String },
    /// The workbook cannot be opened or is not an .xlsx file.
    #[error("cannot read workbook {path}: {message}")]
    Read { path: PathBuf, message: String },
    /// A required sheet is missing.
    #[error("workbook {path} has no sheet named '{sheet}'")]
    MissingSheet { path: PathBuf, sheet: String },
    /// File-system failure.
    #[error("{context} {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
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
