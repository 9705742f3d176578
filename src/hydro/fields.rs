//! Typed readers for the fields of one annotation entry (text, seconds, booleans, times,
//! `dpo_*` option objects), each failing with an error that names file, entry and field.
//! Field aliases are tried in order; `null` and empty strings count as absent.
//!
//! Must not know: which fields exist or what they mean (that is `annotations`).

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value};

use super::error::{HydroError, Location, Result};
use super::grid::seconds;
use super::hsd::DpoOptions;
use super::timeparse::parse_time_value;

/// A merged request object being resolved, with its location for error messages.
pub(crate) struct Entry<'a> {
    pub map: &'a Map<String, Value>,
    pub at: &'a Location,
}

impl<'a> Entry<'a> {
    /// The first alias holding a value (not `null`, not an empty string).
    pub(crate) fn get(&self, names: &[&'static str]) -> Option<(&'static str, &'a Value)> {
        names.iter().find_map(|n| {
            self.map.get(*n).and_then(|v| match v {
                Value::Null => None,
                Value::String(s) if s.trim().is_empty() => None,
                v => Some((*n, v)),
            })
        })
    }

    pub(crate) fn err(&self, field: &str, message: impl Into<String>) -> HydroError {
        HydroError::Annotation {
            at: Location {
                field: Some(field.to_string()),
                ..self.at.clone()
            },
            message: message.into(),
        }
    }

    pub(crate) fn text(&self, names: &[&'static str]) -> Result<Option<(&'static str, String)>> {
        match self.get(names) {
            None => Ok(None),
            Some((n, Value::String(s))) => Ok(Some((n, s.trim().to_string()))),
            Some((n, v)) => Err(self.err(n, format!("expected text, got {v}"))),
        }
    }

    pub(crate) fn number(&self, names: &[&'static str]) -> Result<Option<(&'static str, f64)>> {
        let Some((n, v)) = self.get(names) else {
            return Ok(None);
        };
        let x = match v {
            Value::Number(x) => x.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match x {
            Some(x) if x.is_finite() => Ok(Some((n, x))),
            _ => Err(self.err(n, format!("expected a number of seconds, got {v}"))),
        }
    }

    /// A non-negative number of seconds as a duration.
    pub(crate) fn non_negative(&self, names: &[&'static str]) -> Result<Option<SignedDuration>> {
        let Some((n, x)) = self.number(names)? else {
            return Ok(None);
        };
        if x < 0.0 {
            return Err(self.err(n, format!("must be ≥ 0 seconds, got {x}")));
        }
        seconds(x, n)
            .map(Some)
            .map_err(|e| self.err(n, e.to_string()))
    }

    pub(crate) fn boolean(&self, names: &[&'static str]) -> Result<Option<bool>> {
        let Some((n, v)) = self.get(names) else {
            return Ok(None);
        };
        let b = match v {
            Value::Bool(b) => Some(*b),
            Value::Number(x) if x.as_f64() == Some(1.0) => Some(true),
            Value::Number(x) if x.as_f64() == Some(0.0) => Some(false),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "t" | "yes" | "y" | "1" => Some(true),
                "false" | "f" | "no" | "n" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        };
        b.map(Some)
            .ok_or_else(|| self.err(n, format!("expected true or false, got {v}")))
    }

    pub(crate) fn time(&self, names: &[&'static str], tz: &TimeZone) -> Result<Option<Timestamp>> {
        let Some((n, v)) = self.get(names) else {
            return Ok(None);
        };
        parse_time_value(v, tz)
            .map(Some)
            .map_err(|e| self.err(n, e.to_string()))
    }

    pub(crate) fn options(&self) -> Result<DpoOptions> {
        let mut out = DpoOptions::new();
        let Some((n, v)) = self.get(&["data_product_options", "hsd_options"]) else {
            return Ok(out);
        };
        let parsed;
        let obj = match v {
            Value::Object(o) => o,
            Value::String(s) => {
                parsed = serde_json::from_str::<Value>(s)
                    .map_err(|e| self.err(n, format!("not a JSON object: {e}")))?;
                parsed
                    .as_object()
                    .ok_or_else(|| self.err(n, "expected a JSON object of dpo_* options"))?
            }
            other => return Err(self.err(n, format!("expected an object, got {other}"))),
        };
        for (k, val) in obj {
            let text = match val {
                Value::String(s) => s.clone(),
                Value::Number(x) => x.to_string(),
                Value::Bool(b) => b.to_string(),
                other => return Err(self.err(n, format!("option {k}: unsupported value {other}"))),
            };
            out.insert(k, &text)
                .map_err(|e| self.err(n, e.to_string()))?;
        }
        Ok(out)
    }
}

/// A name usable as a file name or folder (no separators, no leading dot).
pub(crate) fn check_name(entry: &Entry, field: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 200
        && !name
            .chars()
            .any(|c| matches!(c, '/' | '\\' | '\0') || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(entry.err(field, format!("{name:?} cannot be used as a file name")))
    }
}
