//! `EngineError`: what can stop the engine as a whole (ledger, files, bad task specs, a rejected
//! token). Per-task failures are not errors here: they are recorded in the ledger and counted in
//! the [`Summary`](super::Summary).
//!
//! Must not know: terminals, exit codes (the CLI maps these).

use std::path::PathBuf;

use crate::api::ApiError;

/// A fatal engine error. Messages never contain the token (API errors are redacted upstream).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The ledger database could not be opened, read or written.
    #[error("ledger {path}: {source}")]
    Ledger {
        /// The ledger file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The ledger holds something this version cannot read.
    #[error("ledger {path}: {message}")]
    LedgerContent {
        /// The ledger file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A file or folder could not be created, written or renamed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done, e.g. `create folder`.
        what: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A task description is invalid (names the field).
    #[error("invalid task {field}: {message}")]
    InvalidTask {
        /// The offending field.
        field: String,
        /// Why it is invalid.
        message: String,
    },
    /// The server rejected the token (HTTP 401); nothing more can succeed.
    #[error("the server rejected the token (HTTP 401): check that your Oceans 3.0 Web Services API token (ONC_TOKEN) is valid; {0}")]
    Unauthorized(String),
    /// The run stopped for another reason (e.g. a worker crashed).
    #[error("the run stopped: {0}")]
    Stopped(String),
    /// An engine setting is out of range.
    #[error("invalid engine setting {field}: {message}")]
    Config {
        /// The setting, e.g. `max_rps`.
        field: String,
        /// Why it is out of range.
        message: String,
    },
    /// No ledger exists where one was expected.
    #[error("no ledger at {0} (run a download into this folder first)")]
    NoLedger(PathBuf),
    /// Another process is running in this output folder (one run per folder at a time).
    #[error("the output folder {out} is in use by another onc-hydro run ({holder}); wait for it to finish or use another --out")]
    Locked {
        /// The output folder.
        out: PathBuf,
        /// Who holds it (pid and start time).
        holder: String,
    },
    /// A file given as a ledger is not one (empty, another SQLite database, not SQLite).
    #[error("{path} is not an onc-hydro ledger: {message}")]
    NotALedger {
        /// The file given.
        path: PathBuf,
        /// What it is instead.
        message: String,
    },
    /// Something the engine writes (settings, the run summary) could not be turned into JSON.
    #[error("cannot write {what} as JSON: {message}")]
    Json {
        /// What was being written, e.g. `summary`.
        what: &'static str,
        /// serde_json's message.
        message: String,
    },
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
