//! The sync spec: a small JSON file naming what to keep current in one output folder.
//!
//! ```json
//! {
//!   "name": "barkley-hydrophones",
//!   "sources": [
//!     {"location": "BACAX.H1", "device_category": "HYDROPHONE"},
//!     {"device": "ICLISTENHF6324"}
//!   ],
//!   "extensions": ["flac"],
//!   "time": {"mode": "rolling", "window": "24h"},
//!   "scalar": [{"location": "BACAX", "device_category": "CTD", "properties": ["seawatertemperature"],
//!               "plot": true, "first": "1h"}],
//!   "raw": [{"device": "SBECTD19p7128"}]
//! }
//! ```
//! `products`: data products ordered per device and period (see `products.rs`), under the
//! same `time` rule (not `latest`).
//! `sources`: a device code, or a location + device category resolved through discovery
//! (deployments) on every run, so a swapped or newly deployed device is picked up without
//! editing. `extensions`: server-side filters (absent = every file). `time.mode`: `rolling`
//! (`window`: the last `24h`, `7d`, …), `range` (`from`, `to`: fixed, ONC time formats),
//! `since_last` (from the high-water mark of the last successful sync; `first`: the window of
//! the very first run, default `24h`), or `latest` (only each device's newest file, and only
//! if it is newer than the newest held). `scalar` / `raw`: near-real-time data appended to
//! per-sensor CSV files after the archive part, always since the newest sample held (`first`:
//! the window when nothing is held yet, default `1h`); `properties` (scalar only) filters by
//! `propertyCode`; `plot` asks the caller for PNG time series. With only `scalar`/`raw`
//! sections, `sources` and `time` may be left out. `name` keys the high-water mark (default: the file
//! name without extension). Unknown members are refused, naming them.
//!
//! Must not know: the ledger, HTTP, terminals.

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::error::SyncError;
use super::products::{self, ProductFile, ProductRequest};
use super::readings::{ReadingsKind, ReadingsRequest, ReadingsTime};
use crate::api::{parse_onc, DeviceCategoryCode, DeviceCode, LocationCode};

/// Where files come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Source {
    /// One device.
    Device(DeviceCode),
    /// Whatever devices of this category are deployed at the location (resolved every run).
    Location {
        /// Location code, e.g. `BACAX`.
        location: LocationCode,
        /// Device category code, e.g. `HYDROPHONE`.
        device_category: DeviceCategoryCode,
    },
}

/// Which time span each run covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TimeRule {
    /// The last `window` before the server's "now".
    Rolling(Duration),
    /// A fixed `[from, to)`.
    Range(Timestamp, Timestamp),
    /// From the high-water mark (the end of the newest file held after the last successful
    /// run); the first run takes the last `first`.
    SinceLast(Duration),
    /// Only each device's newest file, if it is newer than the newest held.
    Latest,
}

/// A validated sync spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncSpec {
    /// Keys the high-water mark in the ledger.
    pub name: String,
    /// Devices and location/category pairs.
    pub sources: Vec<Source>,
    /// Server-side extension filters; empty = every file.
    pub extensions: Vec<String>,
    /// The time rule (`Latest`, unused, when there are no `sources`).
    pub time: TimeRule,
    /// Near-real-time scalar/raw sections, run after the archive part.
    pub readings: Vec<ReadingsRequest>,
    /// Data-product sections, ordered with the archive files under the same time rule.
    pub products: Vec<ProductRequest>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    sources: Vec<SourceFile>,
    #[serde(default)]
    extensions: Vec<String>,
    #[serde(default)]
    time: Option<TimeFile>,
    #[serde(default)]
    scalar: Vec<ReadingsFile>,
    #[serde(default)]
    raw: Vec<ReadingsFile>,
    #[serde(default)]
    products: Vec<ProductFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadingsFile {
    #[serde(default)]
    device: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    device_category: Option<String>,
    #[serde(default)]
    properties: Vec<String>,
    #[serde(default)]
    plot: bool,
    #[serde(default)]
    first: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceFile {
    #[serde(default)]
    device: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    device_category: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeFile {
    mode: String,
    #[serde(default)]
    window: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    first: Option<String>,
}

/// Parses `90s`, `15m`, `24h`, `7d` (a whole number and one unit).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let unit = t.chars().last()?;
    let n: u64 = t[..t.len() - unit.len_utf8()].trim().parse().ok()?;
    let secs = match unit {
        's' => n,
        'm' => n.checked_mul(60)?,
        'h' => n.checked_mul(3600)?,
        'd' => n.checked_mul(86_400)?,
        _ => return None,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// A code (device, location, category, extension, name): printable ASCII without separators.
fn check_code(path: &str, field: &str, v: &str) -> Result<String, SyncError> {
    let v = v.trim();
    let ok = !v.is_empty()
        && v.len() <= 100
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && v != "."
        && v != "..";
    if ok {
        Ok(v.to_string())
    } else {
        Err(SyncError::spec(
            path,
            field,
            format!("{v:?} is not a code (letters, digits, '-', '_', '.')"),
        ))
    }
}

impl SyncSpec {
    /// Reads and validates a spec file.
    pub fn read(path: &Path) -> Result<SyncSpec, SyncError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SyncError::io("cannot read the sync spec", path, e))?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "sync".into());
        SyncSpec::parse(&text, &path.display().to_string(), &stem)
    }

    /// Parses and validates spec text; `origin` names it in errors, `default_name` is used
    /// when the spec has no `name`.
    pub fn parse(text: &str, origin: &str, default_name: &str) -> Result<SyncSpec, SyncError> {
        let f: SpecFile = serde_json::from_str(text).map_err(|e| {
            SyncError::spec(
                origin,
                &format!("line {} column {}", e.line(), e.column()),
                e.to_string(),
            )
        })?;
        let name = check_code(origin, "name", f.name.as_deref().unwrap_or(default_name))?;
        let mut sources = Vec::new();
        for (i, src) in f.sources.iter().enumerate() {
            let (d, l, c) = (&src.device, &src.location, &src.device_category);
            sources.push(source(origin, &format!("sources[{i}]"), d, l, c)?);
        }
        let mut readings = Vec::new();
        for (key, kind, list) in [
            ("scalar", ReadingsKind::Scalar, &f.scalar),
            ("raw", ReadingsKind::Raw, &f.raw),
        ] {
            for (i, r) in list.iter().enumerate() {
                let at = format!("{key}[{i}]");
                let (d, l, c) = (&r.device, &r.location, &r.device_category);
                let mut properties = Vec::new();
                for (j, p) in r.properties.iter().enumerate() {
                    properties.push(check_code(origin, &format!("{at}.properties[{j}]"), p)?);
                }
                if kind == ReadingsKind::Raw && !properties.is_empty() {
                    return Err(SyncError::spec(
                        origin,
                        &format!("{at}.properties"),
                        "applies to scalar sections only",
                    ));
                }
                let first = r.first.as_deref().unwrap_or("1h");
                let first = parse_duration(first).ok_or_else(|| {
                    SyncError::spec(
                        origin,
                        &format!("{at}.first"),
                        format!("{first:?} is not a duration like 15m, 1h, 7d"),
                    )
                })?;
                readings.push(ReadingsRequest {
                    kind,
                    source: source(origin, &at, d, l, c)?,
                    properties,
                    time: ReadingsTime::SinceLast(first),
                    plot: r.plot,
                });
            }
        }
        let mut prods = Vec::new();
        for (i, p) in f.products.iter().enumerate() {
            prods.push(products::parse(origin, &format!("products[{i}]"), p)?);
        }
        if sources.is_empty() && readings.is_empty() && prods.is_empty() {
            return Err(SyncError::spec(
                origin,
                "sources",
                "is empty: name at least one (or a products, scalar or raw section)",
            ));
        }
        let t = match (&f.time, sources.is_empty() && prods.is_empty()) {
            (Some(t), _) => t,
            (None, true) => {
                return Ok(SyncSpec {
                    name,
                    sources,
                    extensions: Vec::new(),
                    time: TimeRule::Latest,
                    readings,
                    products: prods,
                });
            }
            (None, false) => {
                return Err(SyncError::spec(
                    origin,
                    "time",
                    "is missing (e.g. {\"mode\": \"rolling\", \"window\": \"24h\"})",
                ))
            }
        };
        let mut extensions = Vec::new();
        for (i, e) in f.extensions.iter().enumerate() {
            let e = e.trim().trim_start_matches('.');
            extensions.push(check_code(origin, &format!("extensions[{i}]"), e)?);
        }
        let dur = |field: &str, v: Option<&str>, default: Option<&str>| {
            let v = v.or(default).ok_or_else(|| {
                SyncError::spec(origin, field, "is missing (e.g. \"24h\", \"7d\")")
            })?;
            parse_duration(v).ok_or_else(|| {
                SyncError::spec(
                    origin,
                    field,
                    format!("{v:?} is not a duration like 15m, 24h, 7d"),
                )
            })
        };
        let time_at = |field: &str, v: Option<&str>| {
            let v = v.ok_or_else(|| SyncError::spec(origin, field, "is missing"))?;
            parse_onc(v).map_err(|e| SyncError::spec(origin, field, e.to_string()))
        };
        let unused = |allowed: &[&str]| -> Result<(), SyncError> {
            let given = [
                ("window", t.window.is_some()),
                ("from", t.from.is_some()),
                ("to", t.to.is_some()),
                ("first", t.first.is_some()),
            ];
            match given.iter().find(|(k, set)| *set && !allowed.contains(k)) {
                Some((k, _)) => Err(SyncError::spec(
                    origin,
                    &format!("time.{k}"),
                    format!("does not apply to mode {:?}", t.mode),
                )),
                None => Ok(()),
            }
        };
        let time = match t.mode.as_str() {
            "rolling" => {
                unused(&["window"])?;
                TimeRule::Rolling(dur("time.window", t.window.as_deref(), None)?)
            }
            "range" => {
                unused(&["from", "to"])?;
                let (from, to) = (
                    time_at("time.from", t.from.as_deref())?,
                    time_at("time.to", t.to.as_deref())?,
                );
                if from >= to {
                    return Err(SyncError::spec(
                        origin,
                        "time.to",
                        "must be after time.from",
                    ));
                }
                TimeRule::Range(from, to)
            }
            "since_last" => {
                unused(&["first"])?;
                TimeRule::SinceLast(dur("time.first", t.first.as_deref(), Some("24h"))?)
            }
            "latest" => {
                unused(&[])?;
                if !prods.is_empty() {
                    return Err(SyncError::spec(
                        origin,
                        "time.mode",
                        "\"latest\" applies to archive files only; products need rolling, range or since_last",
                    ));
                }
                TimeRule::Latest
            }
            other => {
                return Err(SyncError::spec(
                    origin,
                    "time.mode",
                    format!("{other:?}: use rolling, range, since_last or latest"),
                ))
            }
        };
        Ok(SyncSpec {
            name,
            sources,
            extensions,
            time,
            readings,
            products: prods,
        })
    }
}

/// A device, or a location + device category, from a spec entry (`at` names it in errors).
pub(super) fn source(
    origin: &str,
    at: &str,
    device: &Option<String>,
    location: &Option<String>,
    category: &Option<String>,
) -> Result<Source, SyncError> {
    let field = |m: &str| format!("{at}.{m}");
    Ok(match (device, location, category) {
        (Some(d), None, None) => {
            Source::Device(check_code(origin, &field("device"), d)?.as_str().into())
        }
        (None, Some(l), Some(c)) => Source::Location {
            location: check_code(origin, &field("location"), l)?.as_str().into(),
            device_category: check_code(origin, &field("device_category"), c)?
                .as_str()
                .into(),
        },
        _ => {
            return Err(SyncError::spec(
                origin,
                at,
                "give \"device\", or \"location\" with \"device_category\"",
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SyncSpec, SyncError> {
        SyncSpec::parse(text, "t.json", "t")
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration(" 15m "), Some(Duration::from_secs(900)));
        for bad in ["", "h", "0h", "1.5h", "24", "3w", "-1h", "1é"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_full_spec_reads_and_the_example_is_valid() {
        let s = parse(
            r#"{"sources": [{"location": "BACAX.H1", "device_category": "HYDROPHONE"},
                            {"device": "ICLISTENHF6324"}],
                "extensions": [".flac"], "time": {"mode": "rolling", "window": "24h"}}"#,
        )
        .unwrap();
        assert_eq!(s.name, "t");
        assert_eq!(s.extensions, ["flac"]);
        assert_eq!(s.time, TimeRule::Rolling(Duration::from_secs(86_400)));
        assert_eq!(s.sources.len(), 2);
        let example = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/requests/sync_hydrophones.json"
        );
        SyncSpec::read(Path::new(example)).unwrap();
        let nrt = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/requests/sync_barkley_nrt.json"
        );
        let s = SyncSpec::read(Path::new(nrt)).unwrap();
        assert_eq!(s.readings.len(), 2);
        assert_eq!(
            s.readings[0].properties,
            ["seawatertemperature", "salinity"]
        );
        assert!(s.readings[0].plot && !s.readings[1].plot);
        assert_eq!(s.readings[1].kind, ReadingsKind::Raw);
        let only = parse(r#"{"scalar": [{"device": "X"}]}"#).unwrap();
        assert!(only.sources.is_empty());
        assert_eq!(
            only.readings[0].time,
            ReadingsTime::SinceLast(Duration::from_secs(3600))
        );
        let s = parse(r#"{"sources":[{"device":"X"}],"time":{"mode":"since_last"}}"#).unwrap();
        assert_eq!(s.time, TimeRule::SinceLast(Duration::from_secs(86_400)));
    }

    #[test]
    fn errors_name_the_bad_member() {
        let cases = [
            (r#"{"sources": [], "time": {"mode": "latest"}}"#, "sources"),
            (r#"{"sources": [{"device": "X"}]}"#, "time"),
            (r#"{"scalar": [{"location": "A"}]}"#, "scalar[0]"),
            (
                r#"{"raw": [{"device": "X", "properties": ["p"]}]}"#,
                "raw[0].properties",
            ),
            (
                r#"{"scalar": [{"device": "X", "first": "soon"}]}"#,
                "scalar[0].first",
            ),
            (
                r#"{"scalar": [{"device": "X", "properties": ["a/b"]}]}"#,
                "scalar[0].properties[0]",
            ),
            (
                r#"{"sources": [{"location": "A"}], "time": {"mode": "latest"}}"#,
                "sources[0]",
            ),
            (
                r#"{"sources": [{"device": "../x"}], "time": {"mode": "latest"}}"#,
                "sources[0].device",
            ),
            (
                r#"{"sources": [{"device": "X"}], "time": {"mode": "rolling"}}"#,
                "time.window",
            ),
            (
                r#"{"sources": [{"device": "X"}], "time": {"mode": "rolling", "window": "1y"}}"#,
                "time.window",
            ),
            (
                r#"{"sources": [{"device": "X"}], "time": {"mode": "latest", "window": "1h"}}"#,
                "time.window",
            ),
            (
                r#"{"sources": [{"device": "X"}], "time": {"mode": "soon"}}"#,
                "time.mode",
            ),
            (
                r#"{"sources": [{"device": "X"}], "time": {"mode": "range", "from": "2024-01-02", "to": "2024-01-01"}}"#,
                "time.to",
            ),
            (
                r#"{"sources": [{"device": "X"}], "time": {"mode": "range", "from": "yesterday", "to": "2024-01-01"}}"#,
                "time.from",
            ),
            (
                r#"{"sources": [{"device": "X"}], "extensions": ["a/b"], "time": {"mode": "latest"}}"#,
                "extensions[0]",
            ),
            (
                r#"{"sources": [{"device": "X"}], "time": {"mode": "latest"}, "typo": 1}"#,
                "line 1",
            ),
        ];
        for (text, field) in cases {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(&format!(": {field}")), "{field}: {e}");
            assert!(e.starts_with("sync spec t.json"), "{e}");
        }
    }
}
