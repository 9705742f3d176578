//! Tolerant decoding of Oceans 3.0 JSON: booleans sent as `"true"`/`"false"` strings, numbers
//! sent as strings, and bare `NaN`/`Infinity` tokens (invalid JSON) inside scalar data.
//!
//! Must not know: which service a payload came from.

use std::borrow::Cow;

use serde::de::{self, Deserializer};
use serde::Deserialize;
use serde_json::Value;

/// Rewrites bare `NaN`, `-NaN`, `Infinity` and `-Infinity` tokens that appear outside string
/// literals into `null`, so that `serde_json` accepts the text. Borrowed when nothing changes.
pub fn nan_to_null(text: &str) -> Cow<'_, str> {
    if !text.contains("NaN") && !text.contains("Infinity") {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        let token_len = bare_token_len(&bytes[i..]);
        let starts_token = i == 0 || !is_ident_byte(bytes[i - 1]);
        if token_len > 0 && starts_token {
            let end = i + token_len;
            let ends_token = end == bytes.len() || !is_ident_byte(bytes[end]);
            if ends_token {
                out.push_str(&text[copied..i]);
                out.push_str("null");
                copied = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

fn bare_token_len(rest: &[u8]) -> usize {
    for token in [&b"-Infinity"[..], b"Infinity", b"-NaN", b"NaN"] {
        if rest.starts_with(token) {
            return token.len();
        }
    }
    0
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
}

/// `Option<bool>` from a JSON bool, `"true"`/`"false"` (any case), `0`/`1` or null.
pub fn bool_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(Some(true)),
            "false" | "0" | "no" => Ok(Some(false)),
            "" => Ok(None),
            other => Err(de::Error::custom(format!(
                "expected a boolean, got \"{other}\""
            ))),
        },
        Some(Value::Number(n)) => match n.as_i64() {
            Some(0) => Ok(Some(false)),
            Some(1) => Ok(Some(true)),
            _ => Err(de::Error::custom(format!("expected a boolean, got {n}"))),
        },
        Some(other) => Err(de::Error::custom(format!(
            "expected a boolean, got {other}"
        ))),
    }
}

/// A `u64` from a JSON number or numeric string.
pub fn u64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| de::Error::custom(format!("expected a non-negative integer, got {n}"))),
        Value::String(s) => s.trim().parse::<u64>().map_err(|_| {
            de::Error::custom(format!("expected a non-negative integer, got \"{s}\""))
        }),
        other => Err(de::Error::custom(format!(
            "expected an integer, got {other}"
        ))),
    }
}

/// `Option<u64>` from a number, numeric string or null.
pub fn u64_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(u) = n.as_u64() {
                Ok(Some(u))
            } else if let Some(f) = n.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0) {
                Ok(Some(f as u64))
            } else {
                Err(de::Error::custom(format!(
                    "expected a non-negative integer, got {n}"
                )))
            }
        }
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse::<u64>().map(Some).map_err(|_| {
            de::Error::custom(format!("expected a non-negative integer, got \"{s}\""))
        }),
        Some(other) => Err(de::Error::custom(format!(
            "expected an integer, got {other}"
        ))),
    }
}

/// `Option<i64>` from a number, numeric string or null.
pub fn i64_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("expected an integer, got {n}"))),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("expected an integer, got \"{s}\""))),
        Some(other) => Err(de::Error::custom(format!(
            "expected an integer, got {other}"
        ))),
    }
}

/// `Option<f64>` from a number, numeric string, or null (also `"NaN"` → None).
pub fn f64_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) => {
            let t = s.trim();
            if t.is_empty() || t.eq_ignore_ascii_case("nan") {
                return Ok(None);
            }
            t.parse::<f64>()
                .map(Some)
                .map_err(|_| de::Error::custom(format!("expected a number, got \"{s}\"")))
        }
        Some(other) => Err(de::Error::custom(format!("expected a number, got {other}"))),
    }
}

/// `Option<String>` from a string, a number (rendered) or null.
pub fn string_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(other) => Ok(Some(other.to_string())),
    }
}

/// A `Vec<T>` where null (or absence, with `#[serde(default)]`) means empty.
pub fn vec_or_null<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A list that the service sometimes sends as one bare value (`queryPids`: `[33282795]` or
/// `33282795`); null or absence mean empty.
pub fn vec_or_one<'de, D>(d: D) -> Result<Vec<Value>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(one) => vec![one],
    })
}

/// Renders a JSON scalar as a query-parameter value (`next.parameters` values may be numbers).
pub fn value_to_param(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_nan_tokens_become_null_but_strings_are_untouched() {
        let text = r#"{"values":[1.5,NaN,-NaN, Infinity,-Infinity,2],"name":"NaN \"NaN\" Infinity","k":[NaN]}"#;
        let fixed = nan_to_null(text);
        let v: Value = serde_json::from_str(&fixed).expect("valid after rewrite");
        assert_eq!(
            v["values"],
            serde_json::json!([1.5, null, null, null, null, 2])
        );
        assert_eq!(v["name"], "NaN \"NaN\" Infinity");
        assert_eq!(v["k"], serde_json::json!([null]));
    }

    #[test]
    fn nan_inside_identifiers_and_clean_text_are_left_alone() {
        let clean = r#"{"a":[1,2,3],"b":"x"}"#;
        assert!(matches!(nan_to_null(clean), Cow::Borrowed(_)));
        // A key or string containing NaN is not a bare token.
        let text = r#"{"NaNValue":"NaNa","c":[NaN]}"#;
        let v: Value = serde_json::from_str(&nan_to_null(text)).unwrap();
        assert_eq!(v["NaNValue"], "NaNa");
        assert_eq!(v["c"], serde_json::json!([null]));
    }

    #[derive(Deserialize)]
    struct Flags {
        #[serde(default, deserialize_with = "bool_opt")]
        a: Option<bool>,
        #[serde(default, deserialize_with = "bool_opt")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "bool_opt")]
        c: Option<bool>,
        #[serde(default, deserialize_with = "u64_opt")]
        n: Option<u64>,
    }

    #[test]
    fn string_booleans_and_string_numbers_are_accepted() {
        let f: Flags = serde_json::from_str(r#"{"a":"true","b":false,"n":"42"}"#).unwrap();
        assert_eq!(
            (f.a, f.b, f.c, f.n),
            (Some(true), Some(false), None, Some(42))
        );
        assert!(serde_json::from_str::<Flags>(r#"{"a":"maybe"}"#).is_err());
    }
}
