//! Errors of the simulator itself (not the HTTP errors it serves).

use std::net::SocketAddr;

use super::log::LogOpenError;

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The listening address is taken or not allowed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The request log could not be opened.
    #[error(transparent)]
    Log(#[from] LogOpenError),
    /// A setting is out of range or inconsistent.
    #[error("bad simulator configuration: {0}")]
    Config(String),
}
