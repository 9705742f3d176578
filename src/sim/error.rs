//! Errors of the simulator itself (not the HTTP errors it serves).

use std::net::SocketAddr;

use super::log::LogOpenError;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Log(#[from] LogOpenError),
    #[error("bad simulator configuration: {0}")]
    Config(String),
}
