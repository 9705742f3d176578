//! Which grid windows a command asks for: `sample` (exactly N windows in ⌈N/K⌉ bursts of K
//! contiguous windows spread evenly over the range), `span` (every window) and the windows of
//! explicit instants (`times`, via annotations).
//!
//! Sampling is deterministic: the same arguments always give the same windows. Bursts never
//! overlap and never repeat a window. The first burst starts at the first window of the range
//! and the last one ends at its last window (a single burst sits in the middle); the slack is
//! shared out as evenly as whole windows allow. Only when the range holds fewer than N windows
//! are fewer planned, and [`Sampled::shortfall`] says so.
//!
//! Must not know: ONC requests, annotation files, terminals.

use super::error::{HydroError, Result};
use super::grid::{window_span, TimeRange, Window};

/// A run of `len` contiguous grid windows starting at `first`: one ONC request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Burst {
    /// The first window.
    pub first: Window,
    /// Windows in the burst (at least 1).
    pub len: usize,
}

impl Burst {
    /// The windows of the burst, in order.
    pub fn windows(&self) -> impl Iterator<Item = Window> + '_ {
        (0..self.len as i64).map(|i| Window::from_index(self.first.index() + i))
    }

    /// `[first start, last end)`.
    pub fn range(&self) -> TimeRange {
        let last = Window::from_index(self.first.index() + self.len as i64 - 1);
        TimeRange::new(self.first.start(), last.end()).unwrap_or(self.first.range())
    }
}

/// The result of [`sample`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sampled {
    /// The bursts, in time order.
    pub bursts: Vec<Burst>,
    /// How many windows the range holds.
    pub available: usize,
    /// How many windows were asked for (N).
    pub requested: usize,
}

impl Sampled {
    /// Windows planned (the sum of the burst lengths).
    pub fn total(&self) -> usize {
        self.bursts.iter().map(|b| b.len).sum()
    }

    /// A sentence when fewer windows than requested could be planned.
    pub fn shortfall(&self) -> Option<String> {
        (self.total() < self.requested).then(|| {
            format!(
                "the range holds only {} five-minute windows, fewer than the {} asked for; \
                 planning all {}",
                self.available,
                self.requested,
                self.total()
            )
        })
    }
}

fn check_per_request(per_request: usize) -> Result<()> {
    if per_request == 0 {
        return Err(HydroError::arg("--per-request", "must be at least 1"));
    }
    Ok(())
}

/// Checks `[from, to)` is a real range (a command range may not be empty).
pub fn command_range(range: &TimeRange) -> Result<()> {
    if range.is_empty() {
        return Err(HydroError::arg(
            "time range",
            "--to must be after --from (ranges are half-open [from, to))",
        ));
    }
    Ok(())
}

/// Every window overlapping `[from, to)`, cut into bursts of at most `per_request`.
pub fn span(range: &TimeRange, per_request: usize) -> Result<Vec<Burst>> {
    check_per_request(per_request)?;
    command_range(range)?;
    let (first, last) = window_span(range)?;
    Ok(chunk(first, (last - first) as usize, per_request))
}

fn chunk(first: i64, count: usize, per_request: usize) -> Vec<Burst> {
    (0..count)
        .step_by(per_request)
        .map(|off| Burst {
            first: Window::from_index(first + off as i64),
            len: per_request.min(count - off),
        })
        .collect()
}

/// Exactly `count` windows of `[from, to)` as ⌈count/K⌉ bursts of `per_request` = K contiguous
/// windows (the last holds the remainder), spread evenly over the range.
pub fn sample(range: &TimeRange, count: usize, per_request: usize) -> Result<Sampled> {
    check_per_request(per_request)?;
    command_range(range)?;
    if count == 0 {
        return Err(HydroError::arg("--count", "must be at least 1"));
    }
    let (first, last) = window_span(range)?;
    let available = (last - first) as usize;
    if count >= available {
        return Ok(Sampled {
            bursts: chunk(first, available, per_request),
            available,
            requested: count,
        });
    }
    let n_bursts = count.div_ceil(per_request);
    let slack = (available - count) as u128;
    let mut bursts = Vec::with_capacity(n_bursts);
    let mut used = 0usize;
    for i in 0..n_bursts {
        let len = per_request.min(count - used);
        let gap_before = if n_bursts == 1 {
            slack / 2
        } else {
            (i as u128 * slack) / (n_bursts as u128 - 1)
        };
        let offset = used as i64 + gap_before as i64;
        bursts.push(Burst {
            first: Window::from_index(first + offset),
            len,
        });
        used += len;
    }
    Ok(Sampled {
        bursts,
        available,
        requested: count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::time::format_onc;
    use std::collections::BTreeSet;

    fn r(a: &str, b: &str) -> TimeRange {
        TimeRange::new(a.parse().unwrap(), b.parse().unwrap()).unwrap()
    }

    fn check_disjoint(s: &Sampled) {
        let mut seen = BTreeSet::new();
        for b in &s.bursts {
            for w in b.windows() {
                assert!(seen.insert(w), "window {w} planned twice");
            }
        }
        for p in s.bursts.windows(2) {
            assert!(p[0].range().end() <= p[1].range().start(), "bursts overlap");
        }
        assert_eq!(seen.len(), s.total());
    }

    #[test]
    fn seed_scenario_2_gives_exactly_160() {
        // Python: 14 requests that fetch 166 files. Ours: 14 bursts, exactly 160 windows.
        let s = sample(&r("2024-04-01T00:00:00Z", "2024-04-03T00:00:00Z"), 160, 12).unwrap();
        assert_eq!(s.bursts.len(), 14);
        assert_eq!(s.total(), 160);
        assert_eq!(s.available, 576);
        assert!(s.bursts[..13].iter().all(|b| b.len == 12));
        assert_eq!(s.bursts[13].len, 4);
        check_disjoint(&s);
        // Evenly spread: slack 416 windows over 13 gaps = 32 windows (2 h 40 min) each.
        assert_eq!(
            format_onc(s.bursts[0].first.start()),
            "2024-04-01T00:00:00.000Z"
        );
        assert_eq!(
            format_onc(s.bursts[1].first.start()),
            "2024-04-01T03:40:00.000Z"
        );
        assert_eq!(
            format_onc(s.bursts[13].range().end()),
            "2024-04-03T00:00:00.000Z"
        );
        assert_eq!(s.shortfall(), None);
    }

    #[test]
    fn prior_art_two_hour_example_gives_four_files() {
        // Python asked for 4 and received 2 (00:00–00:05 and 01:55–02:00, both on the grid).
        let s = sample(&r("2024-04-01T00:00:00Z", "2024-04-01T02:00:00Z"), 4, 2).unwrap();
        let ranges: Vec<String> = s.bursts.iter().map(|b| b.range().to_string()).collect();
        assert_eq!(
            ranges,
            [
                "[2024-04-01T00:00:00.000Z, 2024-04-01T00:10:00.000Z)",
                "[2024-04-01T01:50:00.000Z, 2024-04-01T02:00:00.000Z)"
            ]
        );
        assert_eq!(s.total(), 4);
    }

    #[test]
    fn dense_sampling_never_duplicates() {
        // Python's N = 100, k = 12 over 2 h overlapped its windows; here the range is too small.
        let s = sample(&r("2024-04-01T00:00:00Z", "2024-04-01T02:00:00Z"), 100, 12).unwrap();
        assert_eq!(s.total(), 24);
        check_disjoint(&s);
        assert!(s.shortfall().unwrap().contains("only 24"));
        // Nearly full: 23 of 24 windows, bursts of 5 with one spare window somewhere.
        let s = sample(&r("2024-04-01T00:00:00Z", "2024-04-01T02:00:00Z"), 23, 5).unwrap();
        assert_eq!(s.total(), 23);
        assert_eq!(s.bursts.len(), 5);
        check_disjoint(&s);
    }

    #[test]
    fn sampling_is_exact_for_many_shapes() {
        let range = r("2024-04-01T00:00:00Z", "2024-04-03T00:00:00Z");
        for count in [1, 2, 7, 11, 12, 13, 100, 287, 575, 576] {
            for k in [1, 3, 12, 50, 1000] {
                let s = sample(&range, count, k).unwrap();
                assert_eq!(s.total(), count, "count {count} k {k}");
                assert_eq!(s.bursts.len(), count.div_ceil(k).min(576usize.div_ceil(k)));
                check_disjoint(&s);
                let again = sample(&range, count, k).unwrap();
                assert_eq!(s, again, "deterministic");
            }
        }
    }

    #[test]
    fn a_single_burst_sits_in_the_middle() {
        let s = sample(&r("2024-04-01T00:00:00Z", "2024-04-01T01:00:00Z"), 2, 12).unwrap();
        assert_eq!(s.bursts.len(), 1);
        assert_eq!(
            format_onc(s.bursts[0].first.start()),
            "2024-04-01T00:25:00.000Z"
        );
    }

    #[test]
    fn off_grid_ranges_include_partly_covered_windows() {
        let s = span(&r("2024-04-01T00:02:00Z", "2024-04-01T00:31:00Z"), 3).unwrap();
        let lens: Vec<usize> = s.iter().map(|b| b.len).collect();
        assert_eq!(lens, [3, 3, 1]);
        assert_eq!(format_onc(s[0].first.start()), "2024-04-01T00:00:00.000Z");
        assert_eq!(format_onc(s[2].range().end()), "2024-04-01T00:35:00.000Z");
    }

    #[test]
    fn span_chunks_by_k() {
        // Prior art §3.3: 00:00–00:30 with k = 3 → 2 requests, 6 files.
        let s = span(&r("2024-04-01T00:00:00Z", "2024-04-01T00:30:00Z"), 3).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.iter().map(|b| b.len).sum::<usize>(), 6);
    }

    #[test]
    fn bad_arguments() {
        let range = r("2024-04-01T00:00:00Z", "2024-04-01T01:00:00Z");
        assert!(sample(&range, 0, 12).is_err());
        assert!(sample(&range, 10, 0).is_err());
        assert!(span(&range, 0).is_err());
        let empty = r("2024-04-01T00:00:00Z", "2024-04-01T00:00:00Z");
        assert!(span(&empty, 3).is_err());
        assert!(sample(&empty, 3, 3).is_err());
    }
}
