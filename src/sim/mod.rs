//! The Oceans 3.0 simulator: synthetic catalog, deterministic archive content, the
//! request → run → download state machine, latency model with a time scale, fault injection,
//! request log, and a thin axum transport.
//!
//! Must not know: the client, the engine, hydro.

pub mod content;
mod error;
mod server;

pub use error::SimError;
pub use server::SimServer;

/// The token the simulator accepts by default (a demo value, not a secret).
pub const DEMO_TOKEN: &str = "00000000-0000-4000-8000-000000000000";

/// How a simulator instance behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// 1.0 = ONC-like seconds of latency and processing; tests use a small value.
    pub time_scale: f64,
    /// Tokens that are accepted; anything else gets 401.
    pub tokens: Vec<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            time_scale: 1.0,
            tokens: vec![DEMO_TOKEN.to_string()],
        }
    }
}

fn router(_config: SimConfig) -> axum::Router {
    axum::Router::new()
}
