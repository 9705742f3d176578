//! Errors of the simulator itself (not the HTTP errors it serves).

// TODO(issue 15 item 6): document the public items below, then delete this allow.
#![allow(missing_docs)]

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
