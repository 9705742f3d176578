//! Query-string handling and parameter validation, the way Oceans 3.0 does it: unknown names
//! → 400/129, missing → 400/128, bad values → 400/127, `dateFrom > dateTo` → 400/23, `dateFrom`
//! in the future → 400/25. Dates accept ONC's formats and ISO-8601 durations (§7). Also
//! re-encodes queries for `queryUrl` / `next.url`.
//!
//! Must not know: the catalog, job state, axum.

use jiff::Timestamp;

use super::clock::{add_span, parse_date_value, DateValue};
use super::reply::{ApiError, ErrorCode};

/// The decoded query string, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

/// A validated `[dateFrom, dateTo)` window; `None` = open end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Window {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `application/x-www-form-urlencoded` text (`+` = space, `%XX`).
pub(crate) fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes a query component (everything but unreserved characters).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Params {
    pub(crate) fn parse(raw: Option<&str>) -> Params {
        let mut pairs = Vec::new();
        for part in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((decode(k), decode(v)));
        }
        Params { pairs }
    }

    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The first value of `key`, if present and non-empty.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// 400/129 for the first name not in `allowed` (`token` is always allowed).
    pub(crate) fn check_names(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self
            .pairs
            .iter()
            .find(|(k, _)| k != "token" && !allowed.contains(&k.as_str()))
        {
            Some((k, _)) => Err(ApiError::unknown(k)),
            None => Ok(()),
        }
    }

    /// The value of a mandatory parameter, or 400/128.
    pub(crate) fn require(&self, key: &str) -> Result<&str, ApiError> {
        self.get(key).ok_or_else(|| ApiError::missing(&[key]))
    }

    /// A copy without `token` and `method` (for logs and echoes).
    pub(crate) fn without(&self, drop: &[&str]) -> Params {
        Params {
            pairs: self
                .pairs
                .iter()
                .filter(|(k, _)| !drop.contains(&k.as_str()))
                .cloned()
                .collect(),
        }
    }

    /// A copy with `key` set to `value` (replacing or appending).
    pub(crate) fn with(&self, key: &str, value: &str) -> Params {
        let mut pairs = self.pairs.clone();
        match pairs.iter_mut().find(|(k, _)| k == key) {
            Some(p) => p.1 = value.to_string(),
            None => pairs.push((key.to_string(), value.to_string())),
        }
        Params { pairs }
    }

    /// `k=v&...` percent-encoded.
    pub(crate) fn query_string(&self) -> String {
        self.pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The parameters as a JSON object of strings (for `next.parameters`).
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for (k, v) in &self.pairs {
            m.entry(k.clone())
                .or_insert_with(|| serde_json::Value::String(v.clone()));
        }
        serde_json::Value::Object(m)
    }

    /// `dateFrom`/`dateTo` validated against `now` (23, 25, 127 for bad formats).
    pub(crate) fn window(&self, now: Timestamp) -> Result<Window, ApiError> {
        let parse = |key: &str| -> Result<Option<DateValue>, ApiError> {
            match self.get(key) {
                None => Ok(None),
                Some(v) => parse_date_value(v).map(Some).ok_or_else(|| {
                    ApiError::invalid(
                        key,
                        format!("Invalid date format for {key}: '{v}' (use yyyy-MM-ddTHH:mm:ss.SSSZ, yyyy-MM-dd or an ISO-8601 duration)"),
                    )
                }),
            }
        };
        let from_v = parse("dateFrom")?;
        let to_v = parse("dateTo")?;
        let overflow = |key: &str| ApiError::invalid(key, format!("{key} is out of range"));
        let (from, to) = match (from_v, to_v) {
            (Some(DateValue::Relative(_)), Some(DateValue::Relative(_))) => {
                return Err(ApiError::bad(
                    ErrorCode::InvalidValue,
                    "dateFrom and dateTo cannot both be durations",
                    "dateFrom,dateTo",
                ))
            }
            (Some(DateValue::At(f)), Some(DateValue::At(t))) => (Some(f), Some(t)),
            (Some(DateValue::At(f)), Some(DateValue::Relative(sp))) => (
                Some(f),
                Some(add_span(f, sp).ok_or_else(|| overflow("dateTo"))?),
            ),
            (Some(DateValue::Relative(sp)), Some(DateValue::At(t))) => (
                Some(add_span(t, sp).ok_or_else(|| overflow("dateFrom"))?),
                Some(t),
            ),
            (Some(DateValue::Relative(sp)), None) => (
                Some(add_span(now, sp).ok_or_else(|| overflow("dateFrom"))?),
                None,
            ),
            (None, Some(DateValue::Relative(sp))) => (
                None,
                Some(add_span(now, sp).ok_or_else(|| overflow("dateTo"))?),
            ),
            (Some(DateValue::At(f)), None) => (Some(f), None),
            (None, Some(DateValue::At(t))) => (None, Some(t)),
            (None, None) => (None, None),
        };
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(ApiError::bad(
                    ErrorCode::InvalidTimeRange,
                    "Invalid Time Range, dateFrom is after dateTo.",
                    "dateFrom,dateTo",
                ));
            }
        }
        if let Some(f) = from {
            if f > now {
                return Err(ApiError::bad(
                    ErrorCode::FutureStart,
                    "Invalid Time Range, Start Time is in the future.",
                    "dateFrom",
                ));
            }
        }
        Ok(Window { from, to })
    }

    /// A positive integer parameter (`rowLimit`, `page`), or 400/127.
    pub(crate) fn positive(&self, key: &str) -> Result<Option<usize>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(ApiError::invalid(
                    key,
                    format!("{key} must be a positive integer, got '{v}'"),
                )),
            },
        }
    }

    /// A `true`/`false` parameter (absent = `default`), or 400/127.
    pub(crate) fn flag(&self, key: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ApiError::invalid(
                key,
                format!("{key} must be true or false, got '{v}'"),
            )),
        }
    }

    /// A value that must be one of `allowed` (exact match), or 400/127.
    pub(crate) fn one_of<'a>(
        &'a self,
        key: &str,
        allowed: &[&str],
    ) -> Result<Option<&'a str>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) if allowed.contains(&v) => Ok(Some(v)),
            Some(v) => Err(ApiError::invalid(
                key,
                format!(
                    "Invalid value '{v}' for {key}; allowed: {}",
                    allowed.join(", ")
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::clock::lit;

    fn p(q: &str) -> Params {
        Params::parse(Some(q))
    }

    #[test]
    fn decoding_and_encoding() {
        let q = p("locationCode=KEMFH.H1&dateFrom=2024-04-01T00%3A00%3A00.000Z&x=a+b");
        assert_eq!(q.get("locationCode"), Some("KEMFH.H1"));
        assert_eq!(q.get("dateFrom"), Some("2024-04-01T00:00:00.000Z"));
        assert_eq!(q.get("x"), Some("a b"));
        assert_eq!(encode("a:b c"), "a%3Ab%20c");
        assert_eq!(decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn names_and_missing() {
        let q = p("locationCodes=X&token=t");
        assert_eq!(
            q.check_names(&["locationCode"]).unwrap_err().code(),
            Some(129)
        );
        assert!(p("token=t").check_names(&[]).is_ok());
        assert_eq!(q.require("filename").unwrap_err().code(), Some(128));
    }

    #[test]
    fn windows() {
        let now = lit("2026-01-01T00:00:00Z");
        let w = p("dateFrom=2024-04-01&dateTo=PT12H").window(now).unwrap();
        assert_eq!(w.to, Some(lit("2024-04-01T12:00:00Z")));
        let w = p("dateFrom=-P1D").window(now).unwrap();
        assert_eq!(w.from, Some(lit("2025-12-31T00:00:00Z")));
        let e = p("dateFrom=2024-04-02&dateTo=2024-04-01")
            .window(now)
            .unwrap_err();
        assert_eq!(e.code(), Some(23));
        let e = p("dateFrom=2027-01-01").window(now).unwrap_err();
        assert_eq!(e.code(), Some(25));
        let e = p("dateFrom=soon").window(now).unwrap_err();
        assert_eq!(e.code(), Some(127));
        let e = p("dateFrom=-P1D&dateTo=PT1H").window(now).unwrap_err();
        assert_eq!(e.code(), Some(127));
    }
}
