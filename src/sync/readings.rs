//! Near-real-time scalar and raw data kept as per-sensor CSV files that only grow:
//! `<out>/<deviceCode>/<deviceCode>_<sensorCode>.csv` (scalar, one per device and sensor) and
//! `<out>/<deviceCode>/<deviceCode>_raw.csv` (raw, one per device). Each run asks
//! `scalardata`/`rawdata` (every `next` page) for the span after the newest sample held,
//! attributes each sample to its device (for a location + category, by the deployment that
//! covers the sample's time, so a swapped instrument gets its own files), and appends only rows
//! newer than each file's last row. `sensorData: null` (or the location route's "no data were
//! found") is an empty result, not an error.
//!
//! "Since the last sample held": per device the oldest of its files' last rows (so a sensor
//! that lags is caught up), over devices the newest (so a retired instrument does not pull the
//! window back to its recovery). With nothing held, the first run takes the last `first`
//! (default 1 h) by the server's clock (`dateFrom=-PT1H`).
//!
//! Must not know: terminals, plotting, exit codes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::Value;

use super::error::{retried, SyncError};
use super::series::{self, csv_field, time_field, SeriesFile};
use super::spec::Source;
use crate::api::{ApiError, Client, Deployment, DeviceOrLocation, Params, RawData, ScalarData};
use crate::engine::RetryPolicy;

/// Scalar sensor values or raw instrument lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadingsKind {
    /// `scalardata`: one file per device and sensor.
    Scalar,
    /// `rawdata`: one file per device.
    Raw,
}

/// Which span a run asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ReadingsTime {
    /// A fixed `[from, to)`; `to = None` is the server's now.
    Range(Timestamp, Option<Timestamp>),
    /// After the newest sample held; with nothing held, the last `first`.
    SinceLast(Duration),
}

/// What to fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadingsRequest {
    /// Scalar or raw.
    pub kind: ReadingsKind,
    /// A device, or a location + device category.
    pub source: Source,
    /// Scalar only: `propertyCode` filters (empty = every sensor).
    pub properties: Vec<String>,
    /// The span.
    pub time: ReadingsTime,
    /// The caller should draw PNG time series of the files (this module draws nothing).
    pub plot: bool,
}

/// One file a run wrote to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadingsFile {
    /// The CSV file.
    pub path: PathBuf,
    /// The device the rows belong to.
    pub device: String,
    /// `sensorCode` (scalar) or `raw`.
    pub sensor: String,
    /// `sensorName`, when sent.
    pub sensor_name: Option<String>,
    /// `unitOfMeasure`, when sent.
    pub unit: Option<String>,
    /// Rows appended this run.
    pub appended: u64,
    /// Samples received that the file already held (not written again).
    pub already_held: u64,
    /// True when this run created the file.
    pub created: bool,
    /// Bytes of a torn last line dropped before appending (0 = the file was whole).
    pub repaired_bytes: u64,
    /// Time of the newest row now held.
    pub last: Option<String>,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadingsReport {
    /// Scalar or raw.
    pub kind: ReadingsKind,
    /// The selection, in words.
    pub source: String,
    /// The span asked for, in words.
    pub window: String,
    /// Requests made (pages).
    pub pages: u32,
    /// Samples received (over all sensors).
    pub received: u64,
    /// Files written to (or that would have been, with nothing new: `appended = 0`).
    pub files: Vec<ReadingsFile>,
    /// Files whose torn last line was dropped on start (also those without new rows).
    pub repaired: Vec<PathBuf>,
    /// The request asked for plots (copied from [`ReadingsRequest::plot`]).
    pub plot: bool,
}

impl ReadingsReport {
    /// Rows appended over all files.
    pub fn appended(&self) -> u64 {
        self.files.iter().map(|f| f.appended).sum()
    }
}

/// A code from the server turned into a safe file-name part.
fn file_part(code: &str) -> String {
    let s: String = code
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match s.trim_start_matches('.') {
        "" => "_".to_string(),
        t => t.to_string(),
    }
}

/// The CSV file of `device`'s `sensor` (`raw` for raw data).
pub fn series_path(out: &Path, device: &str, sensor: &str) -> PathBuf {
    let d = file_part(device);
    out.join(&d).join(format!("{d}_{}.csv", file_part(sensor)))
}

pub(crate) fn describe(source: &Source) -> String {
    match source {
        Source::Device(d) => format!("device {d}"),
        Source::Location {
            location,
            device_category,
        } => format!("{device_category} at {location}"),
    }
}

/// The devices whose files a selection keeps, and the deployments to attribute samples with.
struct Devices {
    codes: Vec<String>,
    deployments: Vec<Deployment>,
    fallback: String,
}

impl Devices {
    fn of(&self, t: Timestamp) -> &str {
        self.deployments
            .iter()
            .rev()
            .find(|d| d.begin.is_none_or(|b| b <= t) && d.end.is_none_or(|e| t < e))
            .map(|d| d.device_code.as_str())
            .unwrap_or(&self.fallback)
    }
}

async fn devices(
    client: &Client,
    source: &Source,
    policy: &RetryPolicy,
) -> Result<Devices, SyncError> {
    match source {
        Source::Device(d) => Ok(Devices {
            codes: vec![d.to_string()],
            deployments: Vec::new(),
            fallback: d.to_string(),
        }),
        Source::Location {
            location,
            device_category,
        } => {
            let filters = Params::new()
                .with("locationCode", location.as_str())
                .with("deviceCategoryCode", device_category.as_str());
            let what = format!("deployments of {device_category} at {location}");
            let mut deployments = retried(policy, what, || client.deployments(&filters)).await?;
            deployments.sort_by_key(|d| d.begin);
            let mut codes: Vec<String> = Vec::new();
            for d in &deployments {
                if !codes.iter().any(|c| c == d.device_code.as_str()) {
                    codes.push(d.device_code.to_string());
                }
            }
            let fallback = match codes.as_slice() {
                [one] => one.clone(),
                _ => format!("{location}_{device_category}"),
            };
            Ok(Devices {
                codes,
                deployments,
                fallback,
            })
        }
    }
}

/// The held files of `device` for this request (repaired on open).
fn held_files(
    out: &Path,
    device: &str,
    req: &ReadingsRequest,
    repaired: &mut Vec<PathBuf>,
) -> Result<Vec<SeriesFile>, SyncError> {
    let dir = out.join(file_part(device));
    let prefix = format!("{}_", file_part(device));
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(SyncError::io("cannot list", &dir, e)),
    };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(sensor) = name
            .strip_prefix(&prefix)
            .and_then(|n| n.strip_suffix(".csv"))
        else {
            continue;
        };
        if (sensor == "raw") != (req.kind == ReadingsKind::Raw) {
            continue;
        }
        let Some(f) = SeriesFile::open(&entry.path())? else {
            continue;
        };
        if f.dropped > 0 {
            repaired.push(entry.path());
        }
        let wanted = req.properties.is_empty()
            || f.get("propertyCode")
                .is_some_and(|p| req.properties.iter().any(|q| q == p));
        if wanted {
            files.push(f);
        }
    }
    Ok(files)
}

/// One file's worth of new samples.
struct Group {
    header: Vec<(String, String)>,
    columns: Vec<String>,
    sensor_name: Option<String>,
    unit: Option<String>,
    /// `(time, fields after the time)`.
    rows: Vec<(Timestamp, Vec<String>)>,
}

fn opt_field(v: Option<impl ToString>) -> String {
    v.map(|v| csv_field(&v.to_string())).unwrap_or_default()
}

fn qaqc_text(info: &serde_json::Map<String, Value>) -> String {
    let mut items: Vec<(i64, String)> = info
        .iter()
        .map(|(k, v)| {
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            (k.parse().unwrap_or(i64::MAX), format!("{k}={text}"))
        })
        .collect();
    items.sort();
    items
        .into_iter()
        .map(|(_, s)| s)
        .collect::<Vec<_>>()
        .join("; ")
}

fn citation(citations: &[Value]) -> Option<String> {
    citations
        .first()
        .and_then(|c| c.get("citation"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// True for the location route's "no data in this span" answer (HTTP 400, ONC code 127).
fn is_no_data(e: &ApiError) -> bool {
    e.has_onc_code(127)
        && e.onc_errors().iter().any(|i| {
            i.error_message
                .as_deref()
                .is_some_and(|m| m.contains("no data were found"))
        })
}

/// Fetches the span `req` asks for and appends what is new to the CSV files under `out`.
pub async fn fetch_readings(
    client: &Client,
    out: &Path,
    req: &ReadingsRequest,
    policy: &RetryPolicy,
) -> Result<ReadingsReport, SyncError> {
    let devs = devices(client, &req.source, policy).await?;
    let mut repaired = Vec::new();
    // Since the last sample held: per device the oldest last row, over devices the newest.
    let mut held: Option<Timestamp> = None;
    for d in &devs.codes {
        let files = held_files(out, d, req, &mut repaired)?;
        let oldest = files.iter().map(|f| f.last).min().flatten();
        held = held.max(oldest);
    }
    let (from, to, relative, window) = match &req.time {
        ReadingsTime::Range(f, t) => (
            Some(*f),
            *t,
            None,
            format!(
                "[{}, {})",
                time_field(*f),
                t.map_or("now".to_string(), time_field)
            ),
        ),
        ReadingsTime::SinceLast(first) => match held {
            Some(h) => (
                Some(h + SignedDuration::from_millis(1)),
                None,
                None,
                format!("after {} (the newest sample held)", time_field(h)),
            ),
            None => (
                None,
                None,
                Some(format!("-PT{}S", first.as_secs().max(1))),
                format!("the last {} s (nothing held yet)", first.as_secs()),
            ),
        },
    };
    let target = match &req.source {
        Source::Device(d) => DeviceOrLocation::Device(d.clone()),
        Source::Location {
            location,
            device_category,
        } => DeviceOrLocation::Location {
            location: location.clone(),
            device_category: device_category.clone(),
        },
    };
    let mut options = Params::new();
    if let Some(r) = &relative {
        options.set("dateFrom", r.as_str());
    }
    let mut report = ReadingsReport {
        kind: req.kind,
        source: describe(&req.source),
        window,
        pages: 0,
        received: 0,
        files: Vec::new(),
        repaired,
        plot: req.plot,
    };
    let location = match &req.source {
        Source::Location { location, .. } => Some(location.to_string()),
        Source::Device(_) => None,
    };
    // Page by page: each page's rows are appended before the next page is fetched, so memory
    // holds one page however long the catch-up, and a crash leaves only complete rows (the
    // next run continues after the newest row held). A retried walk starts over; rows already
    // appended are not written twice.
    let acc = std::sync::Mutex::new(Acc::default());
    let page = |kind: ReadingsKind, scalar: Option<ScalarData>, raw: Option<RawData>| {
        let mut a = acc
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        a.pages += 1;
        let mut received = 0;
        let groups = match (scalar, raw) {
            (Some(d), _) => scalar_groups(&d, &devs, location.as_ref(), &mut received),
            (_, Some(d)) => raw_groups(&d, &devs, location.as_ref(), &mut received),
            _ => BTreeMap::new(),
        };
        a.received += received;
        for ((device, sensor), group) in groups {
            match write_group(out, &device, &sensor, kind, group) {
                Ok(f) => a.add(f),
                Err(e) => {
                    a.failure = Some(e);
                    return Err(ApiError::invalid(
                        "page",
                        "stopped: a CSV file could not be written",
                    ));
                }
            }
        }
        Ok(())
    };
    let got = match req.kind {
        ReadingsKind::Scalar => {
            if !req.properties.is_empty() {
                options.set("propertyCode", req.properties.join(","));
            }
            let what = format!("scalar data of {}", report.source);
            retried(policy, what, || {
                client.scalar_data_pages(&target, from, to, &options, |d| {
                    page(ReadingsKind::Scalar, Some(d), None)
                })
            })
            .await
        }
        ReadingsKind::Raw => {
            let what = format!("raw data of {}", report.source);
            retried(policy, what, || {
                client.raw_data_pages(&target, from, to, &options, |d| {
                    page(ReadingsKind::Raw, None, Some(d))
                })
            })
            .await
        }
    };
    let acc = acc
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(e) = acc.failure {
        return Err(e);
    }
    match got {
        Ok(_) => {}
        Err(SyncError::Api { source, .. }) if is_no_data(&source) => {}
        Err(e) => return Err(e),
    }
    report.pages = acc.pages;
    report.received = acc.received;
    report.files = acc.files.into_values().collect();
    Ok(report)
}

/// What the pages of one walk did so far.
#[derive(Default)]
struct Acc {
    pages: u32,
    received: u64,
    files: BTreeMap<PathBuf, ReadingsFile>,
    failure: Option<SyncError>,
}

impl Acc {
    /// Adds what one page wrote to a file.
    fn add(&mut self, f: ReadingsFile) {
        match self.files.get_mut(&f.path) {
            None => {
                self.files.insert(f.path.clone(), f);
            }
            Some(had) => {
                had.appended += f.appended;
                had.already_held += f.already_held;
                had.created |= f.created;
                had.sensor_name = had.sensor_name.take().or(f.sensor_name);
                had.unit = had.unit.take().or(f.unit);
                had.last = had.last.take().max(f.last);
            }
        }
    }
}

type Groups = BTreeMap<(String, String), Group>;

/// One page of scalar data as rows per device and sensor.
fn scalar_groups(
    data: &ScalarData,
    devs: &Devices,
    location: Option<&String>,
    received: &mut u64,
) -> Groups {
    let mut groups = Groups::new();
    let flags = qaqc_text(&data.qaqc_flag_info);
    let cite = citation(&data.citations);
    for s in &data.sensors {
        let (times, values, qaqc) = (s.sample_times(), s.values(), s.qaqc_flags());
        for (i, t) in times.iter().enumerate() {
            let Some(t) = *t else { continue };
            *received += 1;
            let device = devs.of(t).to_string();
            let group = groups
                .entry((device.clone(), s.sensor_code.clone()))
                .or_insert_with(|| {
                    let mut header = vec![("deviceCode".to_string(), device.clone())];
                    if let Some(l) = location {
                        header.push(("locationCode".into(), l.clone()));
                    }
                    for (k, v) in [
                        ("sensorName", &s.sensor_name),
                        ("sensorCode", &Some(s.sensor_code.clone())),
                        ("sensorCategoryCode", &s.sensor_category_code),
                        ("propertyCode", &s.property_code),
                        ("unitOfMeasure", &s.unit_of_measure),
                        ("qaqcFlags", &Some(flags.clone())),
                        ("citation", &cite),
                    ] {
                        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                            header.push((k.to_string(), v.clone()));
                        }
                    }
                    Group {
                        header,
                        columns: ["time_utc", "value", "qaqc_flag"]
                            .map(String::from)
                            .to_vec(),
                        sensor_name: s.sensor_name.clone(),
                        unit: s.unit_of_measure.clone(),
                        rows: Vec::new(),
                    }
                });
            let v = values.get(i).copied().flatten();
            let q = qaqc.get(i).copied().flatten();
            group.rows.push((t, vec![opt_field(v), opt_field(q)]));
        }
    }
    groups
}

/// One page of raw data as rows per device.
fn raw_groups(
    data: &RawData,
    devs: &Devices,
    location: Option<&String>,
    received: &mut u64,
) -> Groups {
    let mut groups = Groups::new();
    let times = data.times();
    let readings = data.readings();
    let column = |k: &str| {
        data.data
            .get(k)
            .and_then(Value::as_array)
            .filter(|a| a.len() == times.len())
    };
    let line_types = column("lineTypes");
    // Any further per-reading field the server sends becomes a column.
    let extra: Vec<(&String, &Vec<Value>)> = data
        .data
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "times" | "readings" | "lineTypes"))
        .filter_map(|(k, v)| {
            v.as_array()
                .filter(|a| a.len() == times.len())
                .map(|a| (k, a))
        })
        .collect();
    let cite = citation(&data.citations);
    for (i, t) in times.iter().enumerate() {
        let Some(t) = *t else { continue };
        *received += 1;
        let device = devs.of(t).to_string();
        let group = groups
            .entry((device.clone(), "raw".to_string()))
            .or_insert_with(|| {
                let mut header = vec![("deviceCode".to_string(), device.clone())];
                if let Some(l) = location {
                    header.push(("locationCode".into(), l.clone()));
                }
                if let Some(c) = &cite {
                    header.push(("citation".into(), c.clone()));
                }
                let mut columns: Vec<String> = ["time_utc", "line_type", "reading"]
                    .map(String::from)
                    .to_vec();
                columns.extend(extra.iter().map(|(k, _)| k.to_string()));
                Group {
                    header,
                    columns,
                    sensor_name: None,
                    unit: None,
                    rows: Vec::new(),
                }
            });
        let text = |v: &Value| match v {
            Value::String(s) => csv_field(s),
            Value::Null => String::new(),
            other => csv_field(&other.to_string()),
        };
        let mut fields = Vec::new();
        for c in &group.columns[1..] {
            fields.push(match c.as_str() {
                "line_type" => line_types.map(|a| text(&a[i])).unwrap_or_default(),
                "reading" => readings.get(i).map(|r| csv_field(r)).unwrap_or_default(),
                k => extra
                    .iter()
                    .find(|(name, _)| name.as_str() == k)
                    .map(|(_, a)| text(&a[i]))
                    .unwrap_or_default(),
            });
        }
        group.rows.push((t, fields));
    }
    groups
}

/// Appends the rows of `group` newer than the file's last row (creating the file if new).
fn write_group(
    out: &Path,
    device: &str,
    sensor: &str,
    kind: ReadingsKind,
    mut group: Group,
) -> Result<ReadingsFile, SyncError> {
    let path = series_path(out, device, sensor);
    let existing = SeriesFile::open(&path)?;
    let last = existing.as_ref().and_then(|f| f.last);
    let received = group.rows.len() as u64;
    group.rows.sort_by_key(|(t, _)| *t);
    group.rows.dedup_by_key(|(t, _)| *t);
    group.rows.retain(|(t, _)| last.is_none_or(|l| *t > l));
    let newest = group.rows.last().map(|(t, _)| *t).or(last);
    if let Some(f) = existing.as_ref().filter(|f| f.columns != group.columns) {
        // An older file with other columns: its columns win (missing fields stay empty).
        let at: Vec<Option<usize>> = f.columns[1..]
            .iter()
            .map(|c| group.columns[1..].iter().position(|g| g == c))
            .collect();
        for (_, fields) in &mut group.rows {
            *fields = at
                .iter()
                .map(|i| i.and_then(|i| fields.get(i).cloned()).unwrap_or_default())
                .collect();
        }
    }
    let lines: Vec<String> = group
        .rows
        .iter()
        .map(|(t, fields)| {
            let mut line = time_field(*t);
            for f in fields {
                line.push(',');
                line.push_str(f);
            }
            line
        })
        .collect();
    let mut file = ReadingsFile {
        path: path.clone(),
        device: device.to_string(),
        sensor: sensor.to_string(),
        sensor_name: group.sensor_name,
        unit: group.unit,
        appended: lines.len() as u64,
        already_held: received - lines.len() as u64,
        created: false,
        repaired_bytes: existing.as_ref().map_or(0, |f| f.dropped),
        last: newest.map(time_field),
    };
    match existing {
        Some(mut f) => {
            if let Some(n) = newest {
                f.append(&lines, n)?;
            }
        }
        None if lines.is_empty() => {}
        None => {
            let title = match kind {
                ReadingsKind::Scalar => "onc-hydro scalar data (Oceans 3.0 scalardata)",
                ReadingsKind::Raw => "onc-hydro raw data (Oceans 3.0 rawdata)",
            };
            series::create(&path, title, &group.header, &group.columns, &lines)?;
            file.created = true;
        }
    }
    Ok(file)
}
