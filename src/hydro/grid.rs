//! The 5-minute UTC time grid: windows `[k·300 s, (k+1)·300 s)` counted from the Unix epoch,
//! half-open time ranges and device codes. Times print through `api::time` (ONC's format, the
//! one home of time formats).
//!
//! All arithmetic is done on whole nanoseconds (`i128`), so there is no float rounding at window
//! edges and times before 1970 floor correctly.
//!
//! Must not know: annotation files, ONC requests, devices' real file start times (those drift off
//! the grid; see `archive` and `clip`).

use std::fmt;

use jiff::{SignedDuration, Timestamp};

use super::error::{HydroError, Result};
use crate::api;
use crate::api::time::format_onc;

/// Length of one grid window (and of one nominal hydrophone source file) in seconds.
pub const WINDOW_SECONDS: i64 = 300;

/// Length of one grid window in nanoseconds.
pub const WINDOW_NANOS: i128 = WINDOW_SECONDS as i128 * NANOS_PER_SECOND;

pub(crate) const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// Upper bound on the number of windows in one plan (≈ 47 years of one device): a guard against
/// typos such as `--to 20240-01-01`, not a policy.
pub const MAX_WINDOWS: u64 = 5_000_000;

/// A device code (`ICLISTENHF6324`, or an OOI reference designator): the one type,
/// validated by `api::DeviceCode::parse`.
pub use crate::api::DeviceCode;

impl From<api::InvalidDeviceCode> for HydroError {
    fn from(e: api::InvalidDeviceCode) -> Self {
        HydroError::arg("device code", e.to_string())
    }
}

/// A timestamp from whole nanoseconds since the epoch, or an error naming `what`.
pub(crate) fn from_nanos(ns: i128, what: &str) -> Result<Timestamp> {
    Timestamp::from_nanosecond(ns)
        .map_err(|e| HydroError::arg(what, format!("time out of range: {e}")))
}

/// Seconds (finite, may be fractional) as a duration, or an error naming `what`.
pub fn seconds(value: f64, what: &str) -> Result<SignedDuration> {
    if !value.is_finite() {
        return Err(HydroError::arg(
            what,
            format!("{value} is not a finite number of seconds"),
        ));
    }
    SignedDuration::try_from_secs_f64(value)
        .map_err(|e| HydroError::arg(what, format!("{value} s is out of range: {e}")))
}

/// A half-open time range `[start, end)`; `start == end` is the empty range at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeRange {
    start: Timestamp,
    end: Timestamp,
}

impl TimeRange {
    /// `[start, end)`; an error when `end` is before `start`.
    pub fn new(start: Timestamp, end: Timestamp) -> Result<TimeRange> {
        if end < start {
            return Err(HydroError::arg(
                "time range",
                format!(
                    "end {} is before start {}",
                    format_onc(end),
                    format_onc(start)
                ),
            ));
        }
        Ok(TimeRange { start, end })
    }

    /// The empty range at `t`.
    pub fn instant(t: Timestamp) -> TimeRange {
        TimeRange { start: t, end: t }
    }

    /// The first instant of the range.
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// The first instant after the range (half-open).
    pub fn end(&self) -> Timestamp {
        self.end
    }

    /// True when the range holds no instant.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// `end − start`.
    pub fn duration(&self) -> SignedDuration {
        self.end.duration_since(self.start)
    }

    /// True when the two half-open ranges share at least one instant.
    pub fn overlaps(&self, other: &TimeRange) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// The common part, if any.
    pub fn intersection(&self, other: &TimeRange) -> Option<TimeRange> {
        let start = self.start.max(other.start);
        let end = self.end.min(other.end);
        (start < end).then_some(TimeRange { start, end })
    }
}

impl fmt::Display for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {})", format_onc(self.start), format_onc(self.end))
    }
}

/// One grid window `[k·300 s, (k+1)·300 s)`, identified by its index `k` since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    index: i64,
}

impl Window {
    /// The window with index `k` (window 0 starts at 1970-01-01T00:00:00Z).
    pub fn from_index(index: i64) -> Window {
        Window { index }
    }

    /// The window holding instant `t` (windows are half-open, so a grid instant starts one).
    pub fn containing(t: Timestamp) -> Window {
        Window {
            index: floor_index(t.as_nanosecond()) as i64,
        }
    }

    /// Windows since the Unix epoch (negative before it).
    pub fn index(&self) -> i64 {
        self.index
    }

    /// The window's first instant.
    pub fn start(&self) -> Timestamp {
        // Any i64 window index within jiff's range was built from a Timestamp; clamp otherwise.
        let ns = i128::from(self.index) * WINDOW_NANOS;
        Timestamp::from_nanosecond(ns).unwrap_or(if ns < 0 {
            Timestamp::MIN
        } else {
            Timestamp::MAX
        })
    }

    /// The next window's first instant (windows are half-open).
    pub fn end(&self) -> Timestamp {
        Window::from_index(self.index + 1).start()
    }

    /// The window as a time range.
    pub fn range(&self) -> TimeRange {
        TimeRange {
            start: self.start(),
            end: self.end(),
        }
    }

    /// The next window on the grid.
    pub fn next(&self) -> Window {
        Window {
            index: self.index + 1,
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.range().fmt(f)
    }
}

fn floor_index(ns: i128) -> i128 {
    ns.div_euclid(WINDOW_NANOS)
}

fn ceil_index(ns: i128) -> i128 {
    -((-ns).div_euclid(WINDOW_NANOS))
}

/// The window indices `first..last` (half-open) of every window overlapping `range`; for an
/// empty range, the single window containing its instant.
pub fn window_span(range: &TimeRange) -> Result<(i64, i64)> {
    let from = range.start.as_nanosecond();
    let to = range.end.as_nanosecond();
    let first = floor_index(from);
    let last = if to == from {
        first + 1
    } else {
        ceil_index(to)
    };
    let count = (last - first) as u128;
    if count > u128::from(MAX_WINDOWS) {
        return Err(HydroError::TooManyWindows {
            count,
            limit: MAX_WINDOWS,
        });
    }
    Ok((first as i64, last as i64))
}

/// Every window overlapping the half-open `range`, in time order; an empty range (a lone
/// instant) yields the window containing it.
pub fn windows_overlapping(range: &TimeRange) -> Result<Vec<Window>> {
    let (first, last) = window_span(range)?;
    Ok((first..last).map(Window::from_index).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn r(a: &str, b: &str) -> TimeRange {
        TimeRange::new(t(a), t(b)).unwrap()
    }

    fn starts(ws: &[Window]) -> Vec<String> {
        ws.iter().map(|w| format_onc(w.start())).collect()
    }

    #[test]
    fn grid_instants_start_a_window() {
        let w = Window::containing(t("2024-04-01T12:35:00Z"));
        assert_eq!(format_onc(w.start()), "2024-04-01T12:35:00.000Z");
        assert_eq!(format_onc(w.end()), "2024-04-01T12:40:00.000Z");
        let w = Window::containing(t("2024-04-01T12:34:59.999999999Z"));
        assert_eq!(format_onc(w.start()), "2024-04-01T12:30:00.000Z");
    }

    #[test]
    fn window_zero_is_the_epoch_and_negative_times_floor() {
        assert_eq!(Window::from_index(0).start(), Timestamp::UNIX_EPOCH);
        let w = Window::containing(t("1969-12-31T23:59:59Z"));
        assert_eq!(w.index(), -1);
        assert_eq!(format_onc(w.start()), "1969-12-31T23:55:00.000Z");
    }

    #[test]
    fn range_windows_are_half_open() {
        // [12:30, 12:40) touches 12:40 only at its open end: two windows, not three.
        let ws = windows_overlapping(&r("2024-04-01T12:30:00Z", "2024-04-01T12:40:00Z")).unwrap();
        assert_eq!(
            starts(&ws),
            ["2024-04-01T12:30:00.000Z", "2024-04-01T12:35:00.000Z"]
        );
        // One nanosecond past the edge reaches the next window.
        let ws = windows_overlapping(&r("2024-04-01T12:30:00Z", "2024-04-01T12:40:00.000000001Z"))
            .unwrap();
        assert_eq!(ws.len(), 3);
    }

    #[test]
    fn an_empty_range_gets_the_window_containing_it() {
        let ws = windows_overlapping(&TimeRange::instant(t("2024-04-01T12:00:00Z"))).unwrap();
        assert_eq!(starts(&ws), ["2024-04-01T12:00:00.000Z"]);
        let ws = windows_overlapping(&TimeRange::instant(t("2024-04-01T12:04:59Z"))).unwrap();
        assert_eq!(starts(&ws), ["2024-04-01T12:00:00.000Z"]);
    }

    #[test]
    fn windows_cross_midnight_and_month_ends() {
        let ws = windows_overlapping(&r("2024-01-31T23:57:00Z", "2024-02-01T00:02:00Z")).unwrap();
        assert_eq!(
            starts(&ws),
            ["2024-01-31T23:55:00.000Z", "2024-02-01T00:00:00.000Z"]
        );
        // Leap day into March.
        let ws = windows_overlapping(&r("2024-02-29T23:50:00Z", "2024-03-01T00:05:00Z")).unwrap();
        assert_eq!(ws.len(), 3);
        assert_eq!(format_onc(ws[2].start()), "2024-03-01T00:00:00.000Z");
        // Year end.
        let ws = windows_overlapping(&r("2023-12-31T23:59:59Z", "2024-01-01T00:00:01Z")).unwrap();
        assert_eq!(
            starts(&ws),
            ["2023-12-31T23:55:00.000Z", "2024-01-01T00:00:00.000Z"]
        );
    }

    #[test]
    fn a_day_holds_288_windows() {
        let ws = windows_overlapping(&r("2024-04-01T00:00:00Z", "2024-04-02T00:00:00Z")).unwrap();
        assert_eq!(ws.len(), 288);
        assert!(ws.windows(2).all(|p| p[0].end() == p[1].start()));
    }

    #[test]
    fn huge_ranges_are_refused() {
        let e = windows_overlapping(&r("1900-01-01T00:00:00Z", "2024-01-01T00:00:00Z"));
        assert!(matches!(e, Err(HydroError::TooManyWindows { .. })), "{e:?}");
    }

    #[test]
    fn ranges_refuse_end_before_start_and_intersect_half_open() {
        assert!(TimeRange::new(t("2024-04-02T00:00:00Z"), t("2024-04-01T00:00:00Z")).is_err());
        let a = r("2024-04-01T00:00:00Z", "2024-04-01T00:05:00Z");
        let b = r("2024-04-01T00:05:00Z", "2024-04-01T00:10:00Z");
        assert!(!a.overlaps(&b));
        assert_eq!(a.intersection(&b), None);
        let c = r("2024-04-01T00:04:00Z", "2024-04-01T00:06:00Z");
        assert_eq!(
            a.intersection(&c),
            Some(r("2024-04-01T00:04:00Z", "2024-04-01T00:05:00Z"))
        );
    }
}
