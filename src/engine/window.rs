//! Run-time windows: a begin and end time of day (UTC), e.g. `22:00-06:00`. Inside the window
//! the engine submits new work; outside it nothing new is submitted while jobs already on the
//! server and running downloads finish.
//!
//! Must not know: the scheduler's slots, HTTP.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// A daily window `[begin, end)` in UTC; `begin > end` wraps past midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunWindow {
    /// Opening time of day (UTC).
    pub begin: Time,
    /// Closing time of day (UTC).
    pub end: Time,
}

impl RunWindow {
    /// Whether new work may start at `now`.
    pub fn is_open(&self, now: Timestamp) -> bool {
        let t = now.to_zoned(TimeZone::UTC).time();
        if self.begin == self.end {
            true
        } else if self.begin < self.end {
            self.begin <= t && t < self.end
        } else {
            t >= self.begin || t < self.end
        }
    }

    /// The next instant at or after `now` when the window is open.
    pub fn next_open(&self, now: Timestamp) -> Timestamp {
        if self.is_open(now) {
            return now;
        }
        let zoned = now.to_zoned(TimeZone::UTC);
        let today = zoned.date().to_datetime(self.begin);
        let mut at = today
            .to_zoned(TimeZone::UTC)
            .map(|z| z.timestamp())
            .unwrap_or(now);
        if at <= now {
            at = at
                .checked_add(SignedDuration::from_hours(24))
                .unwrap_or(now);
        }
        at
    }
}

/// A window that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid run-time window {text:?}: expected HH:MM-HH:MM (UTC), e.g. 22:00-06:00")]
pub struct WindowParseError {
    /// The text given.
    pub text: String,
}

impl FromStr for RunWindow {
    type Err = WindowParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || WindowParseError {
            text: s.to_string(),
        };
        let (a, b) = s
            .split_once('-')
            .or_else(|| s.split_once('–'))
            .ok_or_else(err)?;
        let parse = |x: &str| -> Result<Time, WindowParseError> {
            let x = x.trim();
            let full = if x.len() == 5 {
                format!("{x}:00")
            } else {
                x.to_string()
            };
            full.parse::<Time>().map_err(|_| err())
        };
        Ok(RunWindow {
            begin: parse(a)?,
            end: parse(b)?,
        })
    }
}

impl fmt::Display for RunWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{} UTC",
            self.begin.strftime("%H:%M"),
            self.end.strftime("%H:%M")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn overnight_window_wraps_midnight() {
        let w: RunWindow = "22:00-06:00".parse().unwrap();
        assert!(w.is_open(at("2024-04-01T23:30:00Z")));
        assert!(w.is_open(at("2024-04-01T05:59:59Z")));
        assert!(!w.is_open(at("2024-04-01T06:00:00Z")));
        assert!(!w.is_open(at("2024-04-01T12:00:00Z")));
        assert_eq!(
            w.next_open(at("2024-04-01T12:00:00Z")),
            at("2024-04-01T22:00:00Z")
        );
        assert_eq!(
            w.next_open(at("2024-04-01T23:00:00Z")),
            at("2024-04-01T23:00:00Z")
        );
        assert_eq!(w.to_string(), "22:00-06:00 UTC");
    }

    #[test]
    fn day_window_and_errors() {
        let w: RunWindow = "08:00-17:30".parse().unwrap();
        assert!(w.is_open(at("2024-04-01T08:00:00Z")));
        assert!(!w.is_open(at("2024-04-01T17:30:00Z")));
        assert_eq!(
            w.next_open(at("2024-04-01T18:00:00Z")),
            at("2024-04-02T08:00:00Z")
        );
        assert!("8-17".parse::<RunWindow>().is_err());
        assert!("25:00-06:00".parse::<RunWindow>().is_err());
    }
}
