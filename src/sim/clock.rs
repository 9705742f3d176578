//! Time for the simulator: ONC's timestamp formats (re-exported from `api::time`, their one
//! home), ISO-8601 durations as used by `dateFrom=-P1D` / `dateTo=PT12H`, and the simulator's
//! own clock: "now" = the configured start + wall time elapsed since start-up × the clock speed
//! (`SimConfig::clock_speed`: 1.0 real time, 60.0 an hour a minute, 0.0 frozen) + every manual
//! advance (`SimServer::advance`). New archive files and scalar samples appear as it moves.
//! The job state machine keeps its own time base (real seconds, scaled by the time scale).
//!
//! Must not know: HTTP, the catalog.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use jiff::{civil::Date, tz::TimeZone, SignedDuration, Span, Timestamp};

// ONC's timestamp formats have one home, the client's wire-format module.
pub(crate) use crate::api::time::{
    format_compact as compact_ms, format_compact_seconds as compact_s, format_onc as iso,
};

/// A date parameter as ONC accepts it.
#[derive(Debug, Clone)]
pub(crate) enum DateValue {
    At(Timestamp),
    /// An ISO-8601 duration (`-P1DT1H`, `PT12H30M`), relative to the other end or to now.
    Relative(Span),
}

/// Parses `yyyy-MM-ddTHH:mm:ss.SSSZ`, `yyyy-MM-ddTHH:mm:ssZ`, `yyyy-MM-dd` or an ISO duration.
pub(crate) fn parse_date_value(s: &str) -> Option<DateValue> {
    let t = s.trim();
    if t.starts_with('P') || t.starts_with("-P") || t.starts_with("+P") {
        return t.parse::<Span>().ok().map(DateValue::Relative);
    }
    if t.len() == 10 {
        let d: Date = t.parse().ok()?;
        return d
            .to_zoned(TimeZone::UTC)
            .ok()
            .map(|z| DateValue::At(z.timestamp()));
    }
    if !(t.ends_with('Z') || t.ends_with('z')) {
        return None;
    }
    t.parse::<Timestamp>().ok().map(DateValue::At)
}

/// `ts + span`, with calendar units (days, months) taken in UTC.
pub(crate) fn add_span(ts: Timestamp, span: Span) -> Option<Timestamp> {
    ts.to_zoned(TimeZone::UTC)
        .checked_add(span)
        .ok()
        .map(|z| z.timestamp())
}

/// `ts + seconds` (fractional seconds allowed), saturating at the representable range.
pub(crate) fn plus_secs(ts: Timestamp, secs: f64) -> Timestamp {
    let d = SignedDuration::try_from_secs_f64(secs).unwrap_or(SignedDuration::ZERO);
    ts.checked_add(d).unwrap_or(ts)
}

/// Whole milliseconds since the epoch.
pub(crate) fn ms(ts: Timestamp) -> i64 {
    ts.as_millisecond()
}

/// The timestamp at `ms` milliseconds since the epoch (clamped to jiff's range).
pub(crate) fn from_ms(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// Parses a fixed catalog literal such as `2019-05-20T18:00:00Z`; used only for the built-in
/// catalog, whose literals are checked by a unit test. Falls back to the epoch.
pub(crate) fn lit(s: &str) -> Timestamp {
    s.parse().unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The simulator's clock: the configured "now" at start-up, advancing with wall time × speed,
/// plus manual advances.
#[derive(Debug)]
pub(crate) struct SimClock {
    origin: Timestamp,
    started: Instant,
    speed: f64,
    /// Milliseconds added by [`SimClock::advance`].
    shift_ms: AtomicI64,
}

impl SimClock {
    /// A clock starting at `origin`, moving `speed` simulated seconds per wall second (a
    /// negative or non-finite speed counts as frozen).
    pub(crate) fn new(origin: Timestamp, speed: f64) -> Self {
        SimClock {
            origin,
            started: Instant::now(),
            speed: if speed.is_finite() && speed > 0.0 {
                speed
            } else {
                0.0
            },
            shift_ms: AtomicI64::new(0),
        }
    }

    pub(crate) fn now(&self) -> Timestamp {
        let moved = self.started.elapsed().as_secs_f64() * self.speed;
        let shift = self.shift_ms.load(Ordering::Relaxed) as f64 / 1000.0;
        plus_secs(self.origin, moved + shift)
    }

    /// Moves "now" forward (or back, for a negative duration) by `by`.
    pub(crate) fn advance(&self, by: SignedDuration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.shift_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Seconds of real time since start-up (the time base of the job state machine).
    pub(crate) fn elapsed_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_advances_by_hand_and_by_speed() {
        let t0 = lit("2024-04-01T00:00:00Z");
        let frozen = SimClock::new(t0, 0.0);
        assert_eq!(frozen.now(), t0);
        frozen.advance(SignedDuration::from_hours(1));
        assert_eq!(frozen.now(), lit("2024-04-01T01:00:00Z"));
        // 10^6 simulated seconds per wall second: any wall time at all moves it visibly.
        let fast = SimClock::new(t0, 1e6);
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(fast.now() >= lit("2024-04-01T00:30:00Z"), "{}", fast.now());
        assert_eq!(SimClock::new(t0, f64::NAN).now(), t0);
    }

    #[test]
    fn formats_round_trip() {
        let t = lit("2024-04-01T12:05:00.029Z");
        assert_eq!(iso(t), "2024-04-01T12:05:00.029Z");
        assert_eq!(compact_ms(t), "20240401T120500.029Z");
        assert_eq!(compact_s(t), "20240401T120500Z");
    }

    #[test]
    fn date_values() {
        let day = lit("2024-04-01T00:00:00Z");
        assert!(matches!(parse_date_value("2024-04-01"), Some(DateValue::At(t)) if t == day));
        assert!(
            matches!(parse_date_value("2024-04-01T00:00:00.000Z"), Some(DateValue::At(t)) if t == day)
        );
        assert!(matches!(
            parse_date_value("-P1DT1H"),
            Some(DateValue::Relative(_))
        ));
        assert!(matches!(
            parse_date_value("PT12H30M"),
            Some(DateValue::Relative(_))
        ));
        assert!(parse_date_value("yesterday").is_none());
        assert!(parse_date_value("2024-04-01T00:00:00").is_none());
        let Some(DateValue::Relative(sp)) = parse_date_value("-P1D") else {
            panic!("duration")
        };
        assert_eq!(
            add_span(lit("2024-04-02T00:00:00Z"), sp),
            Some(lit("2024-04-01T00:00:00Z"))
        );
    }
}
