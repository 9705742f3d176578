//! The simulator's lifecycle: bind, serve in the background, stop when the handle is dropped.

use std::net::SocketAddr;

use tokio::sync::oneshot;

use super::{SimConfig, SimError};

/// A running simulator. Dropping it stops the server.
pub struct SimServer {
    base_url: String,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl SimServer {
    /// Starts a simulator on `127.0.0.1:0` (an ephemeral loopback port).
    pub async fn start(config: SimConfig) -> Result<SimServer, SimError> {
        Self::bind(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a simulator on `addr`.
    pub async fn bind(config: SimConfig, addr: SocketAddr) -> Result<SimServer, SimError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SimError::Bind { addr, source })?;
        let app = super::router(config);
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(SimServer {
            base_url: format!("http://{addr}/"),
            addr,
            shutdown: Some(tx),
        })
    }

    /// The base URL clients use, e.g. `http://127.0.0.1:40123/` (the API lives under `api/`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
