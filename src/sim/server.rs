//! The simulator's lifecycle: bind, serve in the background, stop when the handle is dropped;
//! access to the request log.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::log::{LoggedRequest, RequestLog};
use super::reprocess::Reprocessing;
use super::state::Sim;
use super::sync::lock;
use super::{SimConfig, SimError};

/// A running simulator. Dropping it stops the server.
pub struct SimServer {
    base_url: String,
    addr: SocketAddr,
    sim: Arc<Sim>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl SimServer {
    /// Starts a simulator on `127.0.0.1:0` (an ephemeral loopback port).
    pub async fn start(config: SimConfig) -> Result<SimServer, SimError> {
        Self::bind(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a simulator on `addr`.
    pub async fn bind(config: SimConfig, addr: SocketAddr) -> Result<SimServer, SimError> {
        if !(config.time_scale.is_finite() && config.time_scale >= 0.0) {
            return Err(SimError::Config(format!(
                "time scale must be a number >= 0, got {}",
                config.time_scale
            )));
        }
        let log = RequestLog::open(config.request_log_file.as_deref())?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SimError::Bind { addr, source })?;
        let base_url = format!("http://{addr}/");
        let sim = Arc::new(Sim::new(config, base_url.clone(), log));
        let app = super::routes::router(Arc::clone(&sim));
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(SimServer {
            base_url,
            addr,
            sim,
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

    /// The simulator's "now".
    pub fn now(&self) -> jiff::Timestamp {
        self.sim.now()
    }

    /// Moves the simulator's clock forward by `by` (newly published files and samples appear).
    pub fn advance(&self, by: jiff::SignedDuration) {
        self.sim.clock.advance(by);
    }

    /// Adds a reprocessing event: from simulated time `event.at` on, the file has a new version.
    pub fn reprocess(&self, event: Reprocessing) {
        lock(&self.sim.reprocess).push(event);
    }

    /// Every request served so far, oldest first (the token is never recorded).
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.sim.log.snapshot()
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
