//! `EngineError`: what can stop the engine as a whole (ledger, files, bad task specs, a rejected
//! token). Per-task failures are not errors here: they are recorded in the ledger and counted in
//! the [`Summary`](super::Summary).
//!
//! Must not know: terminals, exit codes (the CLI maps these).

// TODO(issue 15 item 6): document the public items below, then delete this allow.
#![allow(missing_docs)]

use std::path::PathBuf;

use crate::api::ApiError;

/// A fatal engine error. Messages never contain the token (API errors are redacted upstream).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The ledger database could not be opened, read or written.
    #[error("ledger {path}: {source}")]
    Ledger {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// The ledger holds something this version cannot read.
    #[error("ledger {path}: {message}")]
    LedgerContent { path: PathBuf, message: String },
    /// A file or folder could not be created, written or renamed.
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A task description is invalid (names the field).
    #[error("invalid task {field}: {message}")]
    InvalidTask { field: String, message: String },
    /// The server rejected the token (HTTP 401); nothing more can succeed.
    #[error("the server rejected the token (HTTP 401): check that your Oceans 3.0 Web Services API token (ONC_TOKEN) is valid; {0}")]
    Unauthorized(String),
    /// The run stopped for another reason (e.g. a worker crashed).
    #[error("the run stopped: {0}")]
    Stopped(String),
    /// An engine setting is out of range.
    #[error("invalid engine setting {field}: {message}")]
    Config { field: String, message: String },
    /// No ledger exists where one was expected.
    #[error("no ledger at {0} (run a download into this folder first)")]
    NoLedger(PathBuf),
    /// A remote call failed in a way that stops the operation (e.g. `cancel`).
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl EngineError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> EngineError {
        EngineError::InvalidTask {
            field: field.into(),
            message: message.into(),
        }
    }

    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EngineError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}
