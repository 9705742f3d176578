//! The Oceans 3.0 simulator (and, under the `ooi/` path prefix, the OOI M2M + THREDDS one, see
//! `sim/ooi`): synthetic catalog, deterministic archive content, the
//! request → run → download state machine, latency model with a time scale, fault injection,
//! request log, and a thin axum transport. Serves both URL styles (path style and legacy
//! `?method=`) under `/api/...` as described in onc-api.md §8.
//!
//! Must not know: the client, the engine, hydro.

mod archive;
mod catalog;
mod catalog_data;
mod clock;
pub mod content;
mod delivery;
mod discovery;
mod download;
mod error;
mod faults;
mod jobs;
mod listing;
mod log;
mod ooi;
mod outputs;
mod params;
mod products;
mod readings;
mod reply;
mod reprocess;
mod rng;
mod routes;
mod scalar;
mod server;
pub mod snapshot;
mod state;
mod sync;

use std::path::PathBuf;

use jiff::Timestamp;

pub use error::SimError;
pub use faults::{FaultKind, FaultParseError, FaultPlan, FaultScope};
pub use jobs::DEFAULT_JOB_WORKERS;
pub use log::{LogOpenError, LoggedRequest};
pub use ooi::{OOI_DEMO_TOKEN, OOI_DEMO_USERNAME};
pub use reprocess::{ReprocessParseError, Reprocessing};
pub use server::SimServer;

/// The token the simulator accepts by default (a demo value, not a secret).
pub const DEMO_TOKEN: &str = "00000000-0000-4000-8000-000000000000";

/// How a simulator instance behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// 1.0 = ONC-like seconds of latency and processing; tests use a small value; 0 = no waiting.
    pub time_scale: f64,
    /// Tokens that are accepted; anything else gets 401.
    pub tokens: Vec<String>,
    /// Data product jobs the server runs at once, over all tokens; further runs wait `queued`
    /// (default [`DEFAULT_JOB_WORKERS`]; calibration in `sim/jobs.rs`). ONC asks each user to
    /// keep to 4 concurrent requests, but that is client guidance, not a server limit.
    pub job_workers: usize,
    /// The simulator's "now" at start-up (it then advances by `clock_speed`). Decides what is
    /// published (the newest hour is withheld) and what counts as the future (400/25).
    pub now: Timestamp,
    /// Simulated seconds per wall-clock second: 1.0 real time (the default), 3600.0 an hour a
    /// second, 0.0 a frozen clock that only [`SimServer::advance`] moves (tests).
    pub clock_speed: f64,
    /// Files re-archived with new content at a given simulated time (see [`Reprocessing`]).
    pub reprocess: Vec<Reprocessing>,
    /// Injected faults.
    pub faults: FaultPlan,
    /// Also append every request as one JSON line to this file.
    pub request_log_file: Option<PathBuf>,
    /// Render audio at this sample rate instead of the device's (tests: fast 5-minute files).
    pub audio_sample_rate_override: Option<u32>,
    /// Seed mixed into every device's content.
    pub seed: u64,
    /// Emit occasional bare `NaN` values in scalar data (valid for ONC, invalid JSON).
    pub scalar_nan: bool,
    /// OOI API `(username, token)` pairs accepted by the OOI simulator's basic auth.
    pub ooi_credentials: Vec<(String, String)>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            time_scale: 1.0,
            tokens: vec![DEMO_TOKEN.to_string()],
            job_workers: DEFAULT_JOB_WORKERS,
            now: Timestamp::now(),
            clock_speed: 1.0,
            reprocess: Vec::new(),
            faults: FaultPlan::none(),
            request_log_file: None,
            audio_sample_rate_override: None,
            seed: 0,
            scalar_nan: false,
            ooi_credentials: vec![(OOI_DEMO_USERNAME.to_string(), OOI_DEMO_TOKEN.to_string())],
        }
    }
}
