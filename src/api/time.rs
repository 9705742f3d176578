//! ONC's time format: times are UTC and printed as `YYYY-MM-DDTHH:MM:SS.sssZ`; inputs and
//! outputs may also come without milliseconds or as a bare `YYYY-MM-DD` (midnight UTC).
//!
//! Must not know: which request a time belongs to (ranges are half-open `[dateFrom, dateTo)`).

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::de::{self, Deserializer};
use serde::Deserialize;

/// A time string that is not one of ONC's formats.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid time \"{input}\": expected YYYY-MM-DDTHH:MM:SS[.sss]Z or YYYY-MM-DD (UTC)")]
pub struct ParseTimeError {
    /// The rejected text.
    pub input: String,
}

/// Formats a time the way ONC expects and prints it: `2019-06-20T00:00:00.060Z`.
pub fn format_onc(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Formats the compact form used in ONC file names: `20191123T000000.000Z`.
pub fn format_compact(ts: Timestamp) -> String {
    ts.strftime("%Y%m%dT%H%M%S%.3fZ").to_string()
}

/// Formats the whole-second compact form used in generated data product names:
/// `20191123T000000Z`.
pub fn format_compact_seconds(ts: Timestamp) -> String {
    ts.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Formats the whole-second stamp without zone letter that onc-hydro's own output names use
/// (clip and window names): `20191123T000000`.
pub fn format_compact_plain(ts: Timestamp) -> String {
    ts.strftime("%Y%m%dT%H%M%S").to_string()
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z`, an RFC 3339 time with an offset, a time without offset
/// (taken as UTC), or `YYYY-MM-DD` (midnight UTC).
pub fn parse_onc(text: &str) -> Result<Timestamp, ParseTimeError> {
    let s = text.trim();
    let err = || ParseTimeError {
        input: text.to_string(),
    };
    if s.is_empty() {
        return Err(err());
    }
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Ok(ts);
    }
    if s.len() == 10 {
        let date: Date = s.parse().map_err(|_| err())?;
        return date
            .to_zoned(TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|_| err());
    }
    if !s.contains('T') && !s.contains(' ') {
        return Err(err());
    }
    let dt: DateTime = s.parse().map_err(|_| err())?;
    dt.to_zoned(TimeZone::UTC)
        .map(|z| z.timestamp())
        .map_err(|_| err())
}

/// Serde helper: a required ONC time.
pub fn de_timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
    let s = String::deserialize(d)?;
    parse_onc(&s).map_err(de::Error::custom)
}

/// Serde helper: an optional ONC time (`null`, absent or empty → `None`).
pub fn de_timestamp_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => parse_onc(&s).map(Some).map_err(de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_with_milliseconds_or_as_plain_stamps() {
        let t = |s: &str| parse_onc(s).unwrap();
        assert_eq!(
            format_onc(t("2024-04-01T12:34:50.123456Z")),
            "2024-04-01T12:34:50.123Z"
        );
        assert_eq!(
            format_compact_plain(t("2024-04-01T12:34:50.9Z")),
            "20240401T123450"
        );
    }

    #[test]
    fn formats_with_milliseconds_and_z() {
        let ts: Timestamp = "2019-06-20T00:00:00.06Z".parse().unwrap();
        assert_eq!(format_onc(ts), "2019-06-20T00:00:00.060Z");
        assert_eq!(format_compact(ts), "20190620T000000.060Z");
        assert_eq!(format_compact_seconds(ts), "20190620T000000Z");
        let whole: Timestamp = "2024-01-01T12:34:56Z".parse().unwrap();
        assert_eq!(format_onc(whole), "2024-01-01T12:34:56.000Z");
    }

    #[test]
    fn parses_every_onc_shape() {
        let a = parse_onc("2020-03-08T14:53:50Z").unwrap();
        let b = parse_onc("2020-03-08T14:53:50.000Z").unwrap();
        let c = parse_onc("2020-03-08T14:53:50").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        let d = parse_onc("2020-03-08").unwrap();
        assert_eq!(format_onc(d), "2020-03-08T00:00:00.000Z");
        let e = parse_onc("2020-03-08T16:53:50+02:00").unwrap();
        assert_eq!(e, a);
        assert_eq!(
            format_onc(parse_onc("2017-01-20T06:56:40.015Z").unwrap()),
            "2017-01-20T06:56:40.015Z"
        );
    }

    #[test]
    fn rejects_garbage_naming_the_input() {
        for bad in [
            "",
            "yesterday",
            "2020-13-01",
            "2020-03-08T25:00:00Z",
            "-P1D",
        ] {
            let e = parse_onc(bad).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }
}
