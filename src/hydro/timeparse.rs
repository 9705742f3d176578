//! Every time form a user may write, turned into a UTC `jiff::Timestamp`:
//!
//! * ISO-8601 / RFC 3339 with `Z` or an offset: `2024-04-01T12:34:50Z`,
//!   `2024-04-01T05:34:50.250-07:00`, `2024-04-01 12:34:50+0000`;
//! * a naive date-time `2024-04-01 12:34:50` or `2024-04-01T12:34:50[.sss]`, optionally followed
//!   by a timezone field (`2024-04-01 05:30:00 America/Vancouver`, `… UTC`, `… +02:00`); without
//!   one it is read in the given timezone (UTC unless an annotation's `timezone`/`timezone_str`/`tz` field or `--timezone`
//!   says otherwise);
//! * a bare date `2024-04-01` (midnight in that timezone);
//! * the legacy integer list `[Y, M, D, h, m, s]` (further items are ignored, as the Python tool
//!   does), also read in that timezone.
//!
//! Timezones: `UTC`, `Z`, `±HH:MM`, `±HHMM`, `±HH`, or an IANA name (`America/Vancouver`).
//!
//! Must not know: annotation files (their code adds file/entry/field to these errors).

use jiff::civil::{Date, DateTime};
use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;
use serde_json::Value;

use super::error::{HydroError, Result};

/// A timezone given as `UTC`, `Z`, `±HH:MM`, `±HHMM`, `±HH` or an IANA name.
pub fn parse_timezone(input: &str) -> Result<TimeZone> {
    let s = input.trim();
    let bad = |reason: &str| HydroError::InvalidTimezone {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    if s.is_empty() {
        return Err(bad("empty"));
    }
    if s.eq_ignore_ascii_case("utc") || s == "Z" || s.eq_ignore_ascii_case("gmt") {
        return Ok(TimeZone::UTC);
    }
    if let Some(rest) = s.strip_prefix('+').or_else(|| s.strip_prefix('-')) {
        let sign: i32 = if s.starts_with('-') { -1 } else { 1 };
        let digits: String = rest.chars().filter(|c| *c != ':').collect();
        let well_formed = digits.chars().all(|c| c.is_ascii_digit())
            && (digits.len() == 2 || digits.len() == 4)
            && (rest.len() == digits.len() || (rest.len() == 5 && rest.as_bytes()[2] == b':'));
        if !well_formed {
            return Err(bad("offsets are written ±HH:MM, ±HHMM or ±HH"));
        }
        let hours: i32 = digits[..2].parse().map_err(|_| bad("bad hours"))?;
        let minutes: i32 = if digits.len() == 4 {
            digits[2..].parse().map_err(|_| bad("bad minutes"))?
        } else {
            0
        };
        if hours > 25 || minutes > 59 {
            return Err(bad("offset out of range"));
        }
        let secs = sign * (hours * 3600 + minutes * 60);
        let offset = Offset::from_seconds(secs).map_err(|e| bad(&e.to_string()))?;
        return Ok(TimeZone::fixed(offset));
    }
    TimeZone::get(s).map_err(|e| bad(&format!("not a known IANA timezone name ({e})")))
}

/// A time written as text in any accepted form; naive values are read in `tz`.
pub fn parse_time(input: &str, tz: &TimeZone) -> Result<Timestamp> {
    plausible(parse_time_any_year(input, tz)?, input)
}

/// Years a request may name. Oceans 3.0 holds data from the 2000s on; a year outside this span
/// is a typo (a sign, a missing digit), not a request, so it is refused rather than planned.
const YEARS: std::ops::RangeInclusive<i16> = 1970..=2200;

fn plausible(ts: Timestamp, input: &str) -> Result<Timestamp> {
    let year = ts.to_zoned(TimeZone::UTC).year();
    if YEARS.contains(&year) {
        Ok(ts)
    } else {
        Err(HydroError::InvalidTime {
            input: input.to_string(),
            reason: format!("year {year} is outside {}..={}", YEARS.start(), YEARS.end()),
        })
    }
}

fn parse_time_any_year(input: &str, tz: &TimeZone) -> Result<Timestamp> {
    let s = input.trim();
    let bad = |reason: String| HydroError::InvalidTime {
        input: input.to_string(),
        reason,
    };
    if s.is_empty() {
        return Err(bad("empty".into()));
    }
    // `2024-04-01 05:30:00 America/Vancouver`, `… UTC`, `… +02:00`: a trailing timezone field.
    let parts: Vec<&str> = s.split_whitespace().collect();
    let zoned = match parts[..] {
        [date, time, zone] => Some((format!("{date} {time}"), zone)),
        [date_time, zone] if date_time.contains(['T', 't']) => Some((date_time.to_string(), zone)),
        _ => None,
    };
    if let Some((naive, zone)) = zoned {
        if has_explicit_offset(&naive) {
            return Err(bad("has both a UTC offset and a timezone field".into()));
        }
        let zone_tz = parse_timezone(zone).map_err(|e| bad(e.to_string()))?;
        return parse_time(&naive, &zone_tz).map_err(|e| match e {
            HydroError::InvalidTime { reason, .. } => bad(reason),
            other => other,
        });
    }
    if has_explicit_offset(s) {
        // jiff accepts `Z`, `±HH:MM` and `±HHMM`, with `T` or a space between date and time.
        return s.parse::<Timestamp>().map_err(|e| bad(e.to_string()));
    }
    if let Ok(dt) = s.parse::<DateTime>() {
        if s.len() > 10 {
            return civil_in(dt, tz).map_err(bad);
        }
    }
    if let Ok(date) = s.parse::<Date>() {
        return civil_in(date.to_datetime(jiff::civil::Time::midnight()), tz).map_err(bad);
    }
    Err(bad(
        "expected ISO-8601 like 2024-04-01T12:34:50Z (or with an offset), \
         YYYY-MM-DD HH:MM:SS, or YYYY-MM-DD"
            .into(),
    ))
}

/// True when the text carries its own UTC offset (`Z`, `+HH:MM`, `-HHMM`, …) after the time.
fn has_explicit_offset(s: &str) -> bool {
    let Some(tpos) = s.find(['T', 't', ' ']) else {
        return false;
    };
    let time = &s[tpos + 1..];
    time.ends_with(['Z', 'z']) || time.contains(['+', '-'])
}

fn civil_in(dt: DateTime, tz: &TimeZone) -> std::result::Result<Timestamp, String> {
    // `to_zoned` resolves a civil time in a DST gap/fold compatibly (as Python's zoneinfo does).
    dt.to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|e| e.to_string())
}

/// The legacy `[Y, M, D, h, m, s, …]` integer list; items after the sixth are ignored.
pub fn parse_time_list(items: &[Value], tz: &TimeZone) -> Result<Timestamp> {
    let shown = Value::Array(items.to_vec()).to_string();
    let bad = |reason: String| HydroError::InvalidTime {
        input: shown.clone(),
        reason,
    };
    if items.len() < 6 {
        return Err(bad(format!(
            "a time list needs 6 integers [Y, M, D, h, m, s], got {}",
            items.len()
        )));
    }
    let mut parts = [0i64; 6];
    for (i, (slot, v)) in parts.iter_mut().zip(items).enumerate() {
        *slot =
            as_integer(v).ok_or_else(|| bad(format!("item {} ({v}) is not an integer", i + 1)))?;
    }
    let [y, mo, d, h, mi, sec] = parts;
    let narrow = |v: i64, what: &str| -> std::result::Result<i8, String> {
        i8::try_from(v).map_err(|_| format!("{what} {v} is out of range"))
    };
    let year = i16::try_from(y).map_err(|_| bad(format!("year {y} is out of range")))?;
    let dt = DateTime::new(
        year,
        narrow(mo, "month").map_err(&bad)?,
        narrow(d, "day").map_err(&bad)?,
        narrow(h, "hour").map_err(&bad)?,
        narrow(mi, "minute").map_err(&bad)?,
        narrow(sec, "second").map_err(&bad)?,
        0,
    )
    .map_err(|e| bad(e.to_string()))?;
    plausible(civil_in(dt, tz).map_err(bad)?, &shown)
}

fn as_integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                .map(|f| f as i64)
        }),
        _ => None,
    }
}

/// A JSON time value: a string in any accepted form or a legacy integer list.
pub fn parse_time_value(v: &Value, tz: &TimeZone) -> Result<Timestamp> {
    match v {
        Value::String(s) => parse_time(s, tz),
        Value::Array(items) => parse_time_list(items, tz),
        other => Err(HydroError::InvalidTime {
            input: other.to_string(),
            reason: "expected a time string or a [Y, M, D, h, m, s] list".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::time::format_onc;
    use serde_json::json;

    fn utc(s: &str) -> String {
        format_onc(parse_time(s, &TimeZone::UTC).unwrap())
    }

    #[test]
    fn years_outside_the_data_are_refused() {
        let list: Vec<serde_json::Value> = [-2024, 4, 1, 12, 0, 0].map(|v| json!(v)).to_vec();
        let err = parse_time_list(&list, &TimeZone::UTC)
            .unwrap_err()
            .to_string();
        assert!(err.contains("year -2024"), "{err}");
        assert!(parse_time("-002024-04-01T12:34:50Z", &TimeZone::UTC).is_err());
        assert!(parse_time("0224-04-01T12:34:50Z", &TimeZone::UTC).is_err());
        assert!(parse_time("2024-04-01T12:34:50Z", &TimeZone::UTC).is_ok());
    }

    #[test]
    fn iso_with_z_or_offset() {
        assert_eq!(utc("2024-04-01T12:34:50Z"), "2024-04-01T12:34:50.000Z");
        assert_eq!(utc("2024-04-01T12:34:50.250Z"), "2024-04-01T12:34:50.250Z");
        assert_eq!(utc("2024-04-01T05:34:50-07:00"), "2024-04-01T12:34:50.000Z");
        assert_eq!(utc("2024-04-01T14:34:50+0200"), "2024-04-01T12:34:50.000Z");
        assert_eq!(utc("2024-04-01 12:34:50Z"), "2024-04-01T12:34:50.000Z");
    }

    #[test]
    fn an_explicit_offset_beats_the_timezone_field() {
        let tz = parse_timezone("America/Vancouver").unwrap();
        let t = parse_time("2024-04-01T12:00:00Z", &tz).unwrap();
        assert_eq!(format_onc(t), "2024-04-01T12:00:00.000Z");
    }

    #[test]
    fn naive_values_use_the_timezone() {
        assert_eq!(utc("2024-04-01 12:34:50"), "2024-04-01T12:34:50.000Z");
        assert_eq!(utc("2024-04-01T12:34:50"), "2024-04-01T12:34:50.000Z");
        assert_eq!(utc("2024-04-01"), "2024-04-01T00:00:00.000Z");
        // Prior art §2.4 D: 05:30 in Vancouver (PDT, −07:00) is 12:30Z.
        let tz = parse_timezone("America/Vancouver").unwrap();
        let t = parse_time("2024-04-01 05:30:00", &tz).unwrap();
        assert_eq!(format_onc(t), "2024-04-01T12:30:00.000Z");
        let tz = parse_timezone("+05:30").unwrap();
        let t = parse_time("2024-04-01", &tz).unwrap();
        assert_eq!(format_onc(t), "2024-03-31T18:30:00.000Z");
    }

    #[test]
    fn a_trailing_timezone_field() {
        assert_eq!(
            utc("2024-04-01 05:30:00 America/Vancouver"),
            "2024-04-01T12:30:00.000Z"
        );
        assert_eq!(utc("2024-04-01 12:30:00 UTC"), "2024-04-01T12:30:00.000Z");
        assert_eq!(
            utc("2024-04-01T14:30:00 +02:00"),
            "2024-04-01T12:30:00.000Z"
        );
        assert!(parse_time("2024-04-01 12:30:00 Atlantis", &TimeZone::UTC).is_err());
        assert!(parse_time("2024-04-01 12:30:00Z UTC", &TimeZone::UTC).is_err());
    }

    #[test]
    fn timezone_forms() {
        for (s, secs) in [
            ("UTC", 0),
            ("Z", 0),
            ("+02:00", 7200),
            ("-0730", -27000),
            ("+09", 32400),
        ] {
            let tz = parse_timezone(s).unwrap();
            let off = tz.to_offset(Timestamp::UNIX_EPOCH);
            assert_eq!(off.seconds(), secs, "{s}");
        }
        for s in ["Mars/Olympus", "+2", "+02:0", "", "+99:00"] {
            assert!(parse_timezone(s).is_err(), "{s:?} should be refused");
        }
    }

    #[test]
    fn legacy_lists() {
        let t = parse_time_value(&json!([2024, 4, 1, 12, 34, 50]), &TimeZone::UTC).unwrap();
        assert_eq!(format_onc(t), "2024-04-01T12:34:50.000Z");
        let t = parse_time_value(&json!([2024, 4, 1, 12, 34, 50, 999]), &TimeZone::UTC).unwrap();
        assert_eq!(format_onc(t), "2024-04-01T12:34:50.000Z");
        let e = parse_time_value(&json!([2024, 4, 1]), &TimeZone::UTC).unwrap_err();
        assert!(e.to_string().contains("needs 6 integers"), "{e}");
        let e = parse_time_value(&json!([2024, 13, 1, 0, 0, 0]), &TimeZone::UTC).unwrap_err();
        assert!(e.to_string().contains("month"), "{e}");
        let e = parse_time_value(&json!([2024, "4", 1, 0, 0, 0]), &TimeZone::UTC).unwrap_err();
        assert!(e.to_string().contains("item 2"), "{e}");
    }

    #[test]
    fn garbage_is_refused_with_the_input_named() {
        for s in [
            "",
            "yesterday",
            "2024-04-31",
            "2024-04-01T25:00:00Z",
            "12:00",
        ] {
            let e = parse_time(s, &TimeZone::UTC).unwrap_err();
            assert!(matches!(e, HydroError::InvalidTime { .. }), "{s:?}: {e}");
        }
        assert!(parse_time_value(&json!(17), &TimeZone::UTC).is_err());
    }
}
