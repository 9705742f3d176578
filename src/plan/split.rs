//! `splitDateRange`: cutting a half-open UTC range `[begin, end)` at calendar boundaries —
//! years (1 January), months (the 1st), weeks (00:00 on `dayOfWeek`) or days (00:00) — so large
//! requests become several smaller ones. `all` keeps the range whole.
//!
//! Must not know: rows, products or requests; it only cuts time.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use super::model::SplitRange;

/// The pieces of `[begin, end)`, in order; empty when `begin >= end`. Pieces are contiguous and
/// their union is exactly the input.
pub fn split_range(
    begin: Timestamp,
    end: Timestamp,
    how: SplitRange,
    week_start: Weekday,
) -> Vec<(Timestamp, Timestamp)> {
    if begin >= end {
        return Vec::new();
    }
    if how == SplitRange::All {
        return vec![(begin, end)];
    }
    let mut out = Vec::new();
    let mut start = begin;
    while start < end {
        let next = match next_boundary(start, how, week_start) {
            Some(b) if b < end => b,
            _ => end,
        };
        out.push((start, next));
        start = next;
    }
    out
}

/// The first boundary strictly after `t` (UTC midnight of the next day/week/month/year).
fn next_boundary(t: Timestamp, how: SplitRange, week_start: Weekday) -> Option<Timestamp> {
    let date: Date = t.to_zoned(TimeZone::UTC).date();
    let next: Date = match how {
        SplitRange::All => return None,
        SplitRange::Day => date.checked_add(1.day()).ok()?,
        SplitRange::Week => {
            // Days until the next week start (1..=7).
            let ahead = (week_start.to_monday_zero_offset()
                - date.weekday().to_monday_zero_offset())
            .rem_euclid(7);
            let ahead = if ahead == 0 { 7 } else { ahead };
            date.checked_add(i64::from(ahead).days()).ok()?
        }
        SplitRange::Month => date.first_of_month().checked_add(1.month()).ok()?,
        SplitRange::Year => Date::new(date.year().checked_add(1)?, 1, 1).ok()?,
    };
    next.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn fmt(v: &[(Timestamp, Timestamp)]) -> Vec<String> {
        v.iter()
            .map(|(a, b)| {
                format!(
                    "{}/{}",
                    crate::api::format_onc(*a),
                    crate::api::format_onc(*b)
                )
            })
            .collect()
    }

    #[test]
    fn all_keeps_the_range_and_empty_gives_nothing() {
        let (a, b) = (ts("2016-06-01T00:00:00Z"), ts("2017-06-01T00:00:00Z"));
        assert_eq!(
            split_range(a, b, SplitRange::All, Weekday::Sunday),
            vec![(a, b)]
        );
        assert!(split_range(b, a, SplitRange::Day, Weekday::Sunday).is_empty());
        assert!(split_range(a, a, SplitRange::Year, Weekday::Sunday).is_empty());
    }

    #[test]
    fn months_cut_on_the_first_and_keep_partial_ends() {
        let v = split_range(
            ts("2016-06-15T12:00:00Z"),
            ts("2016-09-01T00:00:00.500Z"),
            SplitRange::Month,
            Weekday::Sunday,
        );
        assert_eq!(
            fmt(&v),
            [
                "2016-06-15T12:00:00.000Z/2016-07-01T00:00:00.000Z",
                "2016-07-01T00:00:00.000Z/2016-08-01T00:00:00.000Z",
                "2016-08-01T00:00:00.000Z/2016-09-01T00:00:00.000Z",
                "2016-09-01T00:00:00.000Z/2016-09-01T00:00:00.500Z",
            ]
        );
    }

    #[test]
    fn weeks_start_on_the_configured_day() {
        // 2017-05-31 is a Wednesday.
        let (a, b) = (ts("2017-05-31T06:00:00Z"), ts("2017-06-15T00:00:00Z"));
        let su = split_range(a, b, SplitRange::Week, Weekday::Sunday);
        assert_eq!(
            fmt(&su),
            [
                "2017-05-31T06:00:00.000Z/2017-06-04T00:00:00.000Z",
                "2017-06-04T00:00:00.000Z/2017-06-11T00:00:00.000Z",
                "2017-06-11T00:00:00.000Z/2017-06-15T00:00:00.000Z",
            ]
        );
        let we = split_range(a, b, SplitRange::Week, Weekday::Wednesday);
        assert_eq!(we[0].1, ts("2017-06-07T00:00:00Z"));
        assert_eq!(we.len(), 3);
        // Starting exactly on a boundary does not produce an empty piece.
        let on = split_range(
            ts("2017-06-04T00:00:00Z"),
            b,
            SplitRange::Week,
            Weekday::Sunday,
        );
        assert_eq!(
            on[0],
            (ts("2017-06-04T00:00:00Z"), ts("2017-06-11T00:00:00Z"))
        );
    }

    #[test]
    fn days_and_years_tile_the_range_exactly() {
        let (a, b) = (ts("2013-10-23T00:00:00Z"), ts("2017-05-31T23:59:59.999Z"));
        let years = split_range(a, b, SplitRange::Year, Weekday::Sunday);
        assert_eq!(years.len(), 5);
        assert_eq!(years[1].0, ts("2014-01-01T00:00:00Z"));
        let days = split_range(
            a,
            ts("2013-11-02T00:00:00Z"),
            SplitRange::Day,
            Weekday::Sunday,
        );
        assert_eq!(days.len(), 10);
        for w in [&years, &days] {
            assert_eq!(w.first().unwrap().0, a);
            for pair in w.windows(2) {
                assert_eq!(pair[0].1, pair[1].0);
                assert!(pair[0].0 < pair[0].1);
            }
        }
        assert_eq!(years.last().unwrap().1, b);
    }
}
