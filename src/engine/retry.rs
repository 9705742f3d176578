//! Retry classification and timing: which failures are transient (5xx, resets, timeouts,
//! truncated bodies, 410 while a file is being transferred), which are permanent (ONC 400
//! errors), which stop everything (401); exponential backoff with jitter; and the adaptive poll
//! schedule (first poll from the server's estimate, then backing off, capped).
//!
//! Must not know: the ledger, the scheduler's slots.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::api::ApiError;
use crate::ooi::OoiError;

/// What to do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// Try again after a backoff.
    Transient,
    /// Retrying cannot help (e.g. HTTP 400 with an ONC `errorCode`): fail the task now.
    Permanent,
    /// Nothing can succeed (HTTP 401): stop the whole run.
    Fatal,
}

/// Classifies an API error.
pub fn classify(e: &ApiError) -> FailureClass {
    if e.is_unauthorized() {
        FailureClass::Fatal
    } else if e.is_transient() || matches!(e, ApiError::Gone { .. } | ApiError::Decode { .. }) {
        // A body that does not decode is usually a proxy or maintenance page.
        FailureClass::Transient
    } else {
        FailureClass::Permanent
    }
}

/// A provider error the engine can classify (ONC's `ApiError`, OOI's `OoiError`).
pub trait Classify: std::fmt::Display {
    /// What to do about it.
    fn class(&self) -> FailureClass;
}

impl Classify for ApiError {
    fn class(&self) -> FailureClass {
        classify(self)
    }
}

impl Classify for OoiError {
    /// 401 stops the run; 5xx, 429, transport failures, truncated or undecodable answers are
    /// retried; refusals (400), 404 and bad arguments fail the task.
    fn class(&self) -> FailureClass {
        if self.is_unauthorized() {
            FailureClass::Fatal
        } else if self.is_transient() {
            FailureClass::Transient
        } else {
            FailureClass::Permanent
        }
    }
}

/// Exponential backoff with jitter for transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts per remote operation (a request, a poll, a file) before the task fails.
    pub max_attempts: u32,
    /// Delay before the first retry; doubles each time.
    #[serde(with = "secs")]
    pub base: Duration,
    /// Longest delay between attempts.
    #[serde(with = "secs")]
    pub max: Duration,
    /// Times a failed task is retried as a whole (later in the same run) before it stays failed.
    pub task_rounds: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base: Duration::from_secs(2),
            max: Duration::from_secs(300),
            task_rounds: 3,
        }
    }
}

static JITTER_STATE: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);

/// A uniform number in [0, 1) from a process-wide splitmix64 sequence mixed with the clock.
pub(crate) fn jitter_unit() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let mut z = JITTER_STATE
        .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
        .wrapping_add(nanos);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

impl RetryPolicy {
    /// The delay before retry number `attempt` (1 = first retry): `base × 2^(attempt-1)`,
    /// capped at `max`, times a jitter factor in [0.5, 1).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self.base.as_secs_f64() * 2f64.powi(attempt.saturating_sub(1).min(30) as i32);
        let capped = exp.min(self.max.as_secs_f64());
        Duration::from_secs_f64(capped * (0.5 + 0.5 * jitter_unit()))
    }
}

/// Calls `op` until it succeeds, retrying transient failures (the same [`classify`] as every
/// engine task: 5xx, 429, timeouts, resets, truncated or undecodable bodies) with `policy`'s
/// backoff, at most `max_attempts` times; `on_retry(error, failures, delay)` hears of each
/// retry. For calls made outside a run, e.g. the archive listing before planning. A server's
/// `Retry-After` is honoured by the client itself (it pauses every request).
pub async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    mut on_retry: impl FnMut(&ApiError, u32, Duration),
    mut op: F,
) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let mut failures = 0u32;
    loop {
        let e = match op().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        failures += 1;
        if classify(&e) != FailureClass::Transient || failures >= policy.max_attempts.max(1) {
            return Err(e);
        }
        let delay = policy.delay(failures);
        on_retry(&e, failures, delay);
        tokio::time::sleep(delay).await;
    }
}

/// How often to ask the server about a job.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PollPolicy {
    /// Shortest interval between polls.
    #[serde(with = "secs")]
    pub min: Duration,
    /// Longest interval between polls (the cap of the backoff).
    #[serde(with = "secs")]
    pub max: Duration,
    /// Growth factor of the interval while nothing changes.
    pub growth: f64,
    /// Multiplies the server's `estimatedProcessingTime` (1.0 for ONC; a simulator running at
    /// a reduced time scale needs the same scale here).
    pub estimate_scale: f64,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            min: Duration::from_secs(1),
            max: Duration::from_secs(30),
            growth: 1.5,
            estimate_scale: 1.0,
        }
    }
}

/// The poll schedule of one job.
#[derive(Debug, Clone)]
pub struct PollSchedule {
    policy: PollPolicy,
    base: Duration,
    current: Duration,
}

impl PollPolicy {
    /// Starts a schedule from the server's estimate (if any). Returns the schedule and the
    /// delay before the first poll: the (scaled) estimate itself, within `[min, max]`.
    pub fn start(&self, estimate: Option<Duration>) -> (PollSchedule, Duration) {
        let est = estimate.map(|d| d.mul_f64(self.estimate_scale.max(0.0)));
        let first = est.unwrap_or(self.min * 2).clamp(self.min, self.max);
        // Later polls start at 5 % of the estimate so a late job costs little extra waiting.
        let base = est
            .map(|d| d.mul_f64(0.05))
            .unwrap_or(self.min)
            .clamp(self.min, self.max);
        (
            PollSchedule {
                policy: *self,
                base,
                current: base,
            },
            first,
        )
    }
}

impl PollSchedule {
    /// The next interval (grows by `growth` each call, capped at `max`).
    pub fn next_interval(&mut self) -> Duration {
        let now = self.current;
        self.current = self
            .current
            .mul_f64(self.policy.growth.max(1.0))
            .min(self.policy.max);
        now
    }

    /// Something changed (a new file became ready): poll eagerly again.
    pub fn reset(&mut self) {
        self.current = self.base;
    }
}

/// Serde for `Duration` as fractional seconds.
pub(crate) mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = f64::deserialize(d)?;
        Duration::try_from_secs_f64(v).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_onc_semantics() {
        let http = |status| ApiError::Http {
            status,
            url: "u".into(),
            body: String::new(),
        };
        assert_eq!(classify(&http(503)), FailureClass::Transient);
        assert_eq!(classify(&http(403)), FailureClass::Permanent);
        let gone = ApiError::Gone {
            url: "u".into(),
            message: None,
        };
        assert_eq!(classify(&gone), FailureClass::Transient);
        let unauth = ApiError::Unauthorized {
            url: "u".into(),
            errors: vec![],
        };
        assert_eq!(classify(&unauth), FailureClass::Fatal);
        let onc = ApiError::Onc {
            status: 400,
            url: "u".into(),
            errors: vec![],
        };
        assert_eq!(classify(&onc), FailureClass::Permanent);
        let cut = ApiError::Truncated {
            url: "u".into(),
            expected: 9,
            received: 1,
        };
        assert_eq!(classify(&cut), FailureClass::Transient);
    }

    #[tokio::test]
    async fn with_retries_retries_transient_and_stops_on_permanent() {
        let policy = RetryPolicy {
            max_attempts: 4,
            base: Duration::from_millis(1),
            max: Duration::from_millis(2),
            task_rounds: 1,
        };
        let http = |status| ApiError::Http {
            status,
            url: "u".into(),
            body: String::new(),
        };
        let mut calls = 0;
        let mut retries = 0;
        let got = with_retries(
            &policy,
            |_, _, _| retries += 1,
            || {
                calls += 1;
                let n = calls;
                async move {
                    if n < 3 {
                        Err(http(if n == 1 { 503 } else { 429 }))
                    } else {
                        Ok(n)
                    }
                }
            },
        )
        .await
        .unwrap();
        assert_eq!((got, retries), (3, 2));
        let mut calls = 0;
        let e = with_retries(
            &policy,
            |_, _, _| {},
            || {
                calls += 1;
                async { Err::<(), _>(http(403)) }
            },
        )
        .await
        .unwrap_err();
        assert_eq!((e.status(), calls), (Some(403), 1));
        let mut calls = 0;
        let e = with_retries(
            &policy,
            |_, _, _| {},
            || {
                calls += 1;
                async { Err::<(), _>(http(502)) }
            },
        )
        .await
        .unwrap_err();
        assert_eq!((e.status(), calls), (Some(502), 4));
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(100),
            max: Duration::from_millis(1000),
            task_rounds: 1,
        };
        for _ in 0..50 {
            let d1 = p.delay(1).as_secs_f64();
            assert!((0.05..0.1).contains(&d1), "{d1}");
            let d3 = p.delay(3).as_secs_f64();
            assert!((0.2..0.4).contains(&d3), "{d3}");
            assert!(p.delay(20).as_secs_f64() < 1.0);
        }
        let spread: Vec<u128> = (0..20).map(|_| p.delay(2).as_micros()).collect();
        assert!(spread.iter().any(|d| *d != spread[0]), "no jitter");
    }

    #[test]
    fn polling_starts_at_the_estimate_then_backs_off_to_the_cap() {
        let pol = PollPolicy {
            min: Duration::from_millis(10),
            max: Duration::from_secs(4),
            growth: 2.0,
            estimate_scale: 0.5,
        };
        let (mut s, first) = pol.start(Some(Duration::from_secs(20)));
        assert_eq!(first, Duration::from_secs(4)); // 10 s scaled, capped at 4
        assert_eq!(s.next_interval(), Duration::from_millis(500));
        assert_eq!(s.next_interval(), Duration::from_secs(1));
        for _ in 0..10 {
            s.next_interval();
        }
        assert_eq!(s.next_interval(), Duration::from_secs(4));
        s.reset();
        assert_eq!(s.next_interval(), Duration::from_millis(500));
        let (_, first) = pol.start(None);
        assert_eq!(first, Duration::from_millis(20));
    }
}
