//! What can go wrong in a sync: a bad spec (naming the field), a discovery or listing call that
//! failed for good, the ledger, or moving a superseded file aside.
//!
//! Must not know: terminals, exit codes (the CLI maps these).

use std::path::PathBuf;

use crate::api::ApiError;
use crate::engine::{with_retries, EngineError, RetryPolicy};

/// A sync error.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The spec file cannot be read or is invalid; `field` names the bad member.
    #[error("sync spec {path}: {field}: {message}")]
    Spec {
        /// The spec file (or `<inline>`).
        path: String,
        /// The offending member, e.g. `time.window`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A discovery or listing call failed after its retries.
    #[error("{what}: {source}")]
    Api {
        /// Which call.
        what: String,
        /// The final error.
        #[source]
        source: ApiError,
    },
    /// The ledger or the engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A file could not be moved or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Runs a discovery, listing or data call under a retry policy, naming it (`what`) in the
/// warnings and in the final error.
pub(crate) async fn retried<T, F, Fut>(
    policy: &RetryPolicy,
    what: String,
    op: F,
) -> Result<T, SyncError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let log = |e: &ApiError, n: u32, delay: std::time::Duration| {
        tracing::warn!("{what} failed ({n}), retrying in {delay:.1?}: {e}")
    };
    with_retries(policy, log, op)
        .await
        .map_err(|source| SyncError::Api { what, source })
}

impl SyncError {
    pub(crate) fn spec(path: &str, field: &str, message: impl Into<String>) -> SyncError {
        SyncError::Spec {
            path: path.to_string(),
            field: field.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn io(what: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        SyncError::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }

    /// True when the output folder is in use by another run (another `sync`, or any engine
    /// command): nothing was done.
    pub fn is_locked(&self) -> bool {
        matches!(self, SyncError::Engine(EngineError::Locked { .. }))
    }
}
