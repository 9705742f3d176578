//! Engine settings: slots (jobs on the server, file transfers), staggered submission, polling,
//! maximum wait per job, retries, the run-time window and the global request-rate cap. The
//! serialisable part ([`EngineSettings`]) is stored in the ledger so `resume <out>` runs with
//! the same settings; the validation hook and the ledger location are per process.
//!
//! Must not know: command-line flags.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::EngineError;
use super::retry::{secs, PollPolicy, RetryPolicy};
use super::storage::Validator;
use super::window::RunWindow;

/// The persisted settings of an engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineSettings {
    /// Data-product jobs on the server at once (ONC asks for at most 4 per user).
    pub run_slots: usize,
    /// File transfers at once.
    pub download_slots: usize,
    /// Least time between two job submissions.
    #[serde(with = "secs")]
    pub stagger: Duration,
    /// Polling of jobs.
    pub poll: PollPolicy,
    /// Longest a job may take on the server before it is cancelled and retried.
    #[serde(with = "secs")]
    pub max_wait: Duration,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// When new work may start (None: always).
    pub window: Option<RunWindow>,
    /// Requests per second over all endpoints (0: no cap).
    pub max_requests_per_second: f64,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            run_slots: 4,
            download_slots: 10,
            stagger: Duration::from_secs(2),
            poll: PollPolicy::default(),
            max_wait: Duration::from_secs(6 * 3600),
            retry: RetryPolicy::default(),
            window: None,
            max_requests_per_second: 10.0,
        }
    }
}

impl EngineSettings {
    /// Checks ranges; names the bad field.
    pub fn validate(&self) -> Result<(), EngineError> {
        let bad = |field: &str, message: &str| {
            Err(EngineError::Config {
                field: field.into(),
                message: message.into(),
            })
        };
        if self.run_slots == 0 || self.run_slots > 64 {
            return bad("run_slots", "must be between 1 and 64 (ONC asks for 4)");
        }
        if self.download_slots == 0 || self.download_slots > 256 {
            return bad("download_slots", "must be between 1 and 256");
        }
        if !(self.max_requests_per_second >= 0.0 && self.max_requests_per_second.is_finite()) {
            return bad("max_requests_per_second", "must be a number ≥ 0");
        }
        if self.poll.min.is_zero() || self.poll.min > self.poll.max {
            return bad("poll", "need 0 < min ≤ max");
        }
        if !(self.poll.growth >= 1.0 && self.poll.growth.is_finite()) {
            return bad("poll.growth", "must be ≥ 1");
        }
        if !(self.poll.estimate_scale >= 0.0 && self.poll.estimate_scale.is_finite()) {
            return bad("poll.estimate_scale", "must be a number ≥ 0");
        }
        if self.retry.max_attempts == 0 {
            return bad("retry.max_attempts", "must be ≥ 1");
        }
        if self.max_wait.is_zero() {
            return bad("max_wait", "must be > 0");
        }
        Ok(())
    }

    /// Settings for a simulator running at `time_scale` (1.0 = ONC-like seconds): every
    /// wall-clock duration is scaled, the request cap lifted accordingly.
    pub fn scaled(time_scale: f64) -> EngineSettings {
        let s = time_scale.clamp(1e-6, 1.0);
        let d = EngineSettings::default();
        let floor = Duration::from_millis(1);
        EngineSettings {
            stagger: d.stagger.mul_f64(s),
            poll: PollPolicy {
                min: d.poll.min.mul_f64(s).max(floor),
                max: d.poll.max.mul_f64(s).max(floor),
                estimate_scale: s,
                ..d.poll
            },
            max_wait: d.max_wait.mul_f64(s).max(Duration::from_secs(5)),
            retry: RetryPolicy {
                base: d.retry.base.mul_f64(s).max(floor),
                max: d.retry.max.mul_f64(s).max(floor),
                ..d.retry
            },
            max_requests_per_second: if s < 1.0 {
                0.0
            } else {
                d.max_requests_per_second
            },
            ..d
        }
    }
}

/// Everything [`Engine::open`](super::Engine::open) needs.
#[derive(Clone, Default)]
pub struct EngineConfig {
    /// Settings; `None` reuses those stored in the ledger (or the defaults for a new one).
    pub settings: Option<EngineSettings>,
    /// Run on every downloaded file before it is renamed into place.
    pub validator: Option<Validator>,
    /// The ledger file (default `<out>/ledger.sqlite`).
    pub ledger_path: Option<PathBuf>,
    /// Make finally-failed tasks retryable again at the start of the run.
    pub retry_failed: bool,
    /// Re-hash every file recorded as verified before trusting it (default: a size + mtime
    /// check); a mismatch fetches the file again.
    pub verify: bool,
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("settings", &self.settings)
            .field("validator", &self.validator.as_ref().map(|_| "fn"))
            .field("ledger_path", &self.ledger_path)
            .field("retry_failed", &self.retry_failed)
            .field("verify", &self.verify)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_polite_and_valid() {
        let s = EngineSettings::default();
        s.validate().unwrap();
        assert_eq!((s.run_slots, s.download_slots), (4, 10));
        let json = serde_json::to_string(&s).unwrap();
        let back: EngineSettings = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        let partial: EngineSettings = serde_json::from_str(r#"{"run_slots":2}"#).unwrap();
        assert_eq!(partial.run_slots, 2);
        assert_eq!(partial.download_slots, 10);
    }

    #[test]
    fn scaled_settings_shrink_waits() {
        let s = EngineSettings::scaled(0.001);
        s.validate().unwrap();
        assert_eq!(s.stagger, Duration::from_millis(2));
        assert_eq!(s.poll.estimate_scale, 0.001);
        let bad = EngineSettings {
            run_slots: 0,
            ..EngineSettings::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("run_slots"));
    }
}
