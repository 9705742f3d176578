//! One sync run: resolve the spec's sources through discovery (deployments of each location +
//! category overlapping the time rule's span, so a swapped device is picked up), list each
//! device's archive files with `returnOptions=all` (every page, retried like every engine
//! call), plan the delta against the ledger, move reprocessed files aside, run the engine, then
//! record the versions held, the high-water mark and the run's `sync` section in
//! `<out>/summary.json`.
//!
//! Rolling windows and the first `since_last` run are sent as ONC relative dates
//! (`dateFrom=-PT24H`), so the server's clock decides what "the last 24 h" is; the local clock
//! only pre-filters deployments (with a day of slack).
//!
//! Then each `scalar`/`raw` section of the spec appends near-real-time data to its CSV files
//! (`readings.rs`) under the same lock; a section that fails is a failure of the run (named in
//! `failed`), the others still run.
//!
//! Must not know: terminals, exit codes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::error::SyncError;
use super::product_run::{self, ProductReport};
use super::readings::{fetch_readings, ReadingsReport};
use super::spec::{Source, SyncSpec, TimeRule};
use super::versions::{self, FileVersion};
use crate::api::{format_onc, parse_onc, ArchiveFile, ArchiveQuery, Client, DeviceCode, Params};
use crate::engine::{
    tasks_by_key, ArchiveSpec, Engine, Event, Reporter, TaskKey, TaskSpec, TaskState,
};

/// A file ONC reprocessed since the folder got it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reprocessed {
    /// The archive file name.
    pub name: String,
    /// What changed (`size 100 → 104, modifyDate … → …`).
    pub change: String,
    /// Where the old version now is (relative to the output folder).
    pub superseded: Option<String>,
}

/// What a sync run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// The spec's name.
    pub name: String,
    /// `source → devices` as resolved this run.
    pub resolved: BTreeMap<String, Vec<String>>,
    /// The span listed, in words.
    pub window: String,
    /// Files the listings gave.
    pub listed: u64,
    /// Files new to the folder, downloaded this run.
    pub fetched: Vec<String>,
    /// Files already held in the listed version.
    pub held: u64,
    /// Files reprocessed by ONC: the new version was fetched, the old one kept.
    pub reprocessed: Vec<Reprocessed>,
    /// Files that failed (name → reason).
    pub failed: BTreeMap<String, String>,
    /// Bytes downloaded this run.
    pub bytes: u64,
    /// The high-water mark after this run (end of the newest file held).
    pub high_water_mark: Option<String>,
    /// What each `scalar`/`raw` section appended (sections that failed are in `failed`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub readings: Vec<ReadingsReport>,
    /// What each `products` section ordered (sections that failed are in `failed`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<ProductReport>,
}

/// Watches the engine's events for stored files and passes every event on.
struct Tap {
    inner: Arc<dyn Reporter>,
    stored: Mutex<HashMap<String, u64>>,
}

impl Reporter for Tap {
    fn event(&self, event: &Event) {
        if let Event::FileDone { name, size, .. } = event {
            self.stored
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(name.clone(), *size);
        }
        self.inner.event(event);
    }
}

fn hwm_key(name: &str) -> String {
    format!("sync.hwm.{name}")
}

/// `-PT…` for a look-back of `d` (ONC's relative `dateFrom`).
fn relative(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    let mut out = String::from("-PT");
    if h > 0 {
        out.push_str(&format!("{h}H"));
    }
    if m > 0 {
        out.push_str(&format!("{m}M"));
    }
    if sec > 0 || s == 0 {
        out.push_str(&format!("{sec}S"));
    }
    out
}

/// The listing's time filter and the span (for deployments) it covers, by the local clock.
struct Span {
    describe: String,
    from: Option<Timestamp>,
    relative_from: Option<String>,
    to: Option<Timestamp>,
    latest: bool,
    approx_start: Timestamp,
}

fn span(rule: &TimeRule, hwm: Option<Timestamp>, now: Timestamp) -> Span {
    let back = |d: Duration| now - SignedDuration::try_from(d).unwrap_or(SignedDuration::ZERO);
    let base = Span {
        describe: String::new(),
        from: None,
        relative_from: None,
        to: None,
        latest: false,
        approx_start: now,
    };
    match rule {
        TimeRule::Rolling(d) => Span {
            describe: format!("the last {} (server time)", human(*d)),
            relative_from: Some(relative(*d)),
            approx_start: back(*d),
            ..base
        },
        TimeRule::Range(f, t) => Span {
            describe: format!("[{}, {})", format_onc(*f), format_onc(*t)),
            from: Some(*f),
            to: Some(*t),
            approx_start: *f,
            ..base
        },
        TimeRule::SinceLast(first) => match hwm {
            Some(h) => Span {
                describe: format!("since {} (the last sync's high-water mark)", format_onc(h)),
                from: Some(h),
                approx_start: h,
                ..base
            },
            None => Span {
                describe: format!("the last {} (first sync)", human(*first)),
                relative_from: Some(relative(*first)),
                approx_start: back(*first),
                ..base
            },
        },
        TimeRule::Latest => Span {
            describe: "each device's newest file".into(),
            latest: true,
            approx_start: now,
            ..base
        },
    }
}

pub(super) fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// Runs a discovery or listing call under the engine's retry policy, naming it in errors.
async fn retried<T, F, Fut>(engine: &Engine, what: String, op: F) -> Result<T, SyncError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::api::ApiError>>,
{
    super::error::retried(&engine.settings().retry, what, op).await
}

/// Every deployment of `category` at `location` (discovery, retried).
pub(super) async fn deployed(
    engine: &Engine,
    client: &Client,
    location: &crate::api::LocationCode,
    category: &crate::api::DeviceCategoryCode,
) -> Result<Vec<crate::api::Deployment>, SyncError> {
    let what = format!("deployments of {category} at {location}");
    let filters = Params::new()
        .with("locationCode", location.as_str())
        .with("deviceCategoryCode", category.as_str());
    retried(engine, what, || client.deployments(&filters)).await
}

/// The devices of each source, by discovery.
async fn resolve(
    engine: &Engine,
    client: &Client,
    spec: &SyncSpec,
    sp: &Span,
    now: Timestamp,
) -> Result<BTreeMap<String, Vec<DeviceCode>>, SyncError> {
    let slack = SignedDuration::from_hours(24);
    let mut out = BTreeMap::new();
    for s in &spec.sources {
        match s {
            Source::Device(d) => {
                out.insert(format!("device {d}"), vec![d.clone()]);
            }
            Source::Location {
                location,
                device_category,
            } => {
                let deps = deployed(engine, client, location, device_category).await?;
                let start = sp.approx_start - slack;
                let end = sp.to.unwrap_or(now + slack);
                let mut devices: Vec<DeviceCode> = Vec::new();
                for d in deps {
                    let active = d.end.is_none_or(|e| e > start) && d.begin.is_none_or(|b| b < end);
                    if active && !devices.contains(&d.device_code) {
                        devices.push(d.device_code);
                    }
                }
                out.insert(format!("{location}/{device_category}"), devices);
            }
        }
    }
    Ok(out)
}

/// Every listed file of `device` (one listing per extension).
async fn list(
    engine: &Engine,
    client: &Client,
    spec: &SyncSpec,
    sp: &Span,
    device: &DeviceCode,
) -> Result<Vec<ArchiveFile>, SyncError> {
    let exts: Vec<Option<&str>> = if spec.extensions.is_empty() {
        vec![None]
    } else {
        spec.extensions.iter().map(|e| Some(e.as_str())).collect()
    };
    let mut files = Vec::new();
    for ext in exts {
        let mut q =
            ArchiveQuery::device(device.clone()).return_options(crate::api::ReturnOptions::All);
        q.date_from = sp.from;
        q.date_to = sp.to;
        if let Some(r) = &sp.relative_from {
            q.extra.set("dateFrom", r.as_str());
        }
        if sp.latest {
            q.extra.set("getLatest", "true");
        }
        if let Some(e) = ext {
            q = q.extension(e);
        }
        let what = format!("listing the archive files of {device}");
        let got = retried(engine, what, || client.archive_list(&q)).await?;
        files.extend(got.files);
    }
    Ok(files)
}

/// Runs one sync of `spec` into the engine's folder. `now` is the local clock (only used to
/// pre-filter deployments and to stamp superseded copies without a `modifyDate`).
pub async fn sync_once(
    engine: &Engine,
    client: &Client,
    spec: &SyncSpec,
    reporter: Arc<dyn Reporter>,
    now: Timestamp,
) -> Result<SyncReport, SyncError> {
    let ledger = engine.ledger();
    let hwm = ledger
        .meta(&hwm_key(&spec.name))?
        .and_then(|t| parse_onc(&t).ok());
    let sp = span(&spec.time, hwm, now);
    let resolved = resolve(engine, client, spec, &sp, now).await?;
    let mut report = SyncReport {
        name: spec.name.clone(),
        window: sp.describe.clone(),
        resolved: resolved
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().map(|d| d.to_string()).collect()))
            .collect(),
        ..SyncReport::default()
    };
    // Listed files by name (a file listed twice, e.g. by two sources, counts once).
    let mut listed: BTreeMap<String, (ArchiveFile, TaskSpec)> = BTreeMap::new();
    let mut seen_devices = HashSet::new();
    for device in resolved.values().flatten() {
        if !seen_devices.insert(device.clone()) {
            continue;
        }
        for f in list(engine, client, spec, &sp, device).await? {
            let task = TaskSpec::Archive(ArchiveSpec {
                filename: f.filename.clone(),
                size: f.download_size(),
                folder: Some(device.to_string()),
            });
            if let Err(e) = task.validate() {
                report.failed.insert(f.filename.clone(), e.to_string());
                continue;
            }
            listed.insert(f.filename.clone(), (f, task));
        }
    }
    report.listed = listed.len() as u64;
    let keys: HashSet<TaskKey> = listed.values().map(|(_, t)| t.key()).collect();
    let before = tasks_by_key(ledger, &keys)?;
    let mut reprocessed_names = HashSet::new();
    for (name, (file, task)) in &listed {
        let Some(row) = before.get(&task.key()) else {
            continue;
        };
        if row.state != TaskState::Done {
            continue;
        }
        let listed_v = FileVersion::of(file);
        let held_v = versions::held(ledger, name)?.unwrap_or_else(|| FileVersion {
            size: match &row.spec {
                TaskSpec::Archive(a) => a.size,
                _ => None,
            },
            ..FileVersion::default()
        });
        if let Some(change) = held_v.differs(&listed_v) {
            let kept = versions::supersede(ledger, engine.out_dir(), row, &held_v, &change, now)?;
            let rel = kept.map(|p| {
                p.strip_prefix(engine.out_dir())
                    .unwrap_or(&p)
                    .display()
                    .to_string()
            });
            report.reprocessed.push(Reprocessed {
                name: name.clone(),
                change,
                superseded: rel,
            });
            reprocessed_names.insert(name.clone());
        }
    }
    let sections = product_run::prepare(engine, client, spec, now).await?;
    let mut specs: Vec<TaskSpec> = listed.values().map(|(_, t)| t.clone()).collect();
    specs.extend(sections.iter().flat_map(|s| s.specs().cloned()));
    engine.plan(&specs)?;
    let tap = Arc::new(Tap {
        inner: reporter,
        stored: Mutex::new(HashMap::new()),
    });
    let summary = engine.run(client, tap.clone()).await?;
    let stored = tap
        .stored
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let after = tasks_by_key(ledger, &keys)?;
    let mut newest: Option<Timestamp> = None;
    for (name, (file, task)) in &listed {
        let row = after.get(&task.key());
        match row.map(|r| r.state) {
            Some(TaskState::Done) => {
                versions::record(ledger, name, &FileVersion::of(file))?;
                let end = file.date_to.or(file.date_from).or_else(|| file.start());
                newest = newest.max(end);
                if let Some(size) = stored.get(name) {
                    report.bytes += size;
                    if !reprocessed_names.contains(name) {
                        report.fetched.push(name.clone());
                    }
                } else if !reprocessed_names.contains(name) {
                    report.held += 1;
                }
            }
            state => {
                let reason = row.and_then(|r| r.reason.clone()).unwrap_or_else(|| {
                    format!(
                        "the task is {}",
                        state.map_or("missing".into(), |s| s.to_string())
                    )
                });
                report.failed.insert(name.clone(), reason);
            }
        }
    }
    // The mark only moves forward, and only after a run without failures.
    let mark = match (hwm, newest) {
        (Some(h), Some(n)) => Some(h.max(n)),
        (h, n) => h.or(n),
    };
    if report.failed.is_empty() && summary.stopped.is_none() {
        if let Some(m) = mark {
            if Some(m) != hwm {
                ledger.set_meta(&hwm_key(&spec.name), &format_onc(m))?;
            }
        }
    }
    report.high_water_mark = ledger.meta(&hwm_key(&spec.name))?;
    report.products = product_run::finish(
        engine,
        sections,
        &stored,
        summary.stopped.is_none(),
        &mut report.failed,
        &mut report.reprocessed,
    )?;
    let policy = engine.settings().retry;
    for req in &spec.readings {
        match fetch_readings(client, engine.out_dir(), req, &policy).await {
            Ok(r) => report.readings.push(r),
            Err(e) => {
                let kind = match req.kind {
                    super::readings::ReadingsKind::Scalar => "scalar data of",
                    super::readings::ReadingsKind::Raw => "raw data of",
                };
                let what = format!("{kind} {}", super::readings::describe(&req.source));
                report.failed.insert(what, e.to_string());
            }
        }
    }
    write_summary(engine.out_dir(), &report)?;
    Ok(report)
}

/// Adds the `sync` section to the engine's `<out>/summary.json` (atomically).
fn write_summary(out: &std::path::Path, report: &SyncReport) -> Result<(), SyncError> {
    let path = out.join("summary.json");
    let mut doc: serde_json::Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| serde_json::json!({}));
    if let Some(obj) = doc.as_object_mut() {
        obj.insert(
            "sync".into(),
            serde_json::to_value(report).unwrap_or(serde_json::Value::Null),
        );
    }
    crate::media::atomic::write_atomic_with(&path, |f| {
        use std::io::Write;
        serde_json::to_writer_pretty(&mut *f, &doc).map_err(std::io::Error::other)?;
        f.write_all(b"\n")
    })
    .map_err(|e| SyncError::io("cannot write", &path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_dates_and_words() {
        assert_eq!(relative(Duration::from_secs(86_400)), "-PT24H");
        assert_eq!(relative(Duration::from_secs(5_430)), "-PT1H30M30S");
        assert_eq!(relative(Duration::from_secs(900)), "-PT15M");
        assert_eq!(human(Duration::from_secs(7 * 86_400)), "7 d");
        assert_eq!(human(Duration::from_secs(7_200)), "2 h");
        let now: Timestamp = "2024-04-02T00:00:00Z".parse().unwrap();
        let s = span(&TimeRule::SinceLast(Duration::from_secs(3600)), None, now);
        assert_eq!(s.relative_from.as_deref(), Some("-PT1H"));
        let h: Timestamp = "2024-04-01T12:00:00Z".parse().unwrap();
        let s = span(
            &TimeRule::SinceLast(Duration::from_secs(3600)),
            Some(h),
            now,
        );
        assert_eq!((s.from, s.relative_from), (Some(h), None));
    }
}
