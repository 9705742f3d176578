//! The product part of one sync run: for each `products` section, resolve the devices
//! (deployments of a location + category, again every run), check what each offers and the
//! options (`plan`'s checks), choose the periods, make one order per device and period, decide
//! which held periods to order again (`rerun.rs`); after the engine ran, count what was
//! fetched, record fingerprints and the section's high-water mark, and compare re-runs.
//!
//! Must not know: terminals, exit codes.

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::Timestamp;
use serde::Serialize;

use super::error::SyncError;
use super::products::{hwm_key, periods, watched, ProductRequest};
use super::rerun;
use super::run::{deployed, Reprocessed};
use super::spec::{Source, SyncSpec};
use crate::api::{format_onc, parse_onc, ArchiveQuery, Client, DeviceCode, ReturnOptions};
use crate::engine::{tasks_by_key, Engine, TaskKey, TaskRow, TaskSpec, TaskState};
use crate::plan::{check_options, fetch_offerings, SourceKey};

/// What one `products` section did in a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProductReport {
    /// The section in words, e.g. `HSD mat of HYDROPHONE at BACAX.H1`.
    pub product: String,
    /// The periods this run covers, in words.
    pub window: String,
    /// Devices ordered from.
    pub devices: Vec<String>,
    /// Orders (device × period) this run covers.
    pub periods: u64,
    /// Orders already held before this run.
    pub held: u64,
    /// Files downloaded this run (new periods and re-runs).
    pub fetched: Vec<String>,
    /// Held periods ordered again because their source files changed.
    pub rechecked: u64,
    /// Of those, periods whose re-run gave the same bytes.
    pub unchanged: u64,
    /// The section's high-water mark after this run (end of the newest period held).
    pub high_water_mark: Option<String>,
}

/// One order of a section.
struct Planned {
    spec: TaskSpec,
    to: Timestamp,
}

/// A section prepared for the engine.
pub(super) struct Section {
    report: ProductReport,
    orders: Vec<Planned>,
    /// Fingerprints to record once the period is held.
    fingerprints: Vec<(TaskKey, String)>,
    failed: Option<String>,
    hwm_key: String,
    hwm: Option<Timestamp>,
}

impl Section {
    /// The orders to plan.
    pub(super) fn specs(&self) -> impl Iterator<Item = &TaskSpec> {
        self.orders.iter().map(|o| &o.spec)
    }
}

/// `[from, to)` periods, oldest first.
type Periods = Vec<(Timestamp, Timestamp)>;

/// Devices of a section with their deployment spans (`None`: unbounded).
type Spans = Vec<(DeviceCode, Option<Timestamp>, Option<Timestamp>)>;

async fn devices(engine: &Engine, client: &Client, source: &Source) -> Result<Spans, SyncError> {
    Ok(match source {
        Source::Device(d) => vec![(d.clone(), None, None)],
        Source::Location {
            location,
            device_category,
        } => deployed(engine, client, location, device_category)
            .await?
            .into_iter()
            .map(|d| (d.device_code, d.begin, d.end))
            .collect(),
    })
}

/// Is `dev` offering the section's product, with its options valid? (`None`: yes.)
async fn offering_problem(
    client: &Client,
    req: &ProductRequest,
    dev: &DeviceCode,
) -> Option<String> {
    let source = SourceKey::Device(dev.clone());
    let offerings = match fetch_offerings(client, std::slice::from_ref(&source)).await {
        Ok(o) => o,
        Err(e) => return Some(format!("asking what {dev} offers: {e}")),
    };
    let pe = (req.product.as_str().into(), req.extension.clone());
    if offerings.offers(&source, &pe) != Some(true) {
        return Some(format!(
            "device {dev} does not offer {} {} (dataProducts)",
            req.product, req.extension
        ));
    }
    let spec = offerings.products.get(&pe).cloned().unwrap_or_default();
    let problems = check_options(&req.options, &spec);
    (!problems.is_empty()).then(|| format!("options: {}", problems.join("; ")))
}

/// Prepares every `products` section of `spec` (a section that cannot be prepared is reported
/// as failed, the others go on).
pub(super) async fn prepare(
    engine: &Engine,
    client: &Client,
    spec: &SyncSpec,
    now: Timestamp,
) -> Result<Vec<Section>, SyncError> {
    let mut out = Vec::new();
    for req in &spec.products {
        let key = hwm_key(&spec.name, req);
        let hwm = engine.ledger().meta(&key)?.and_then(|t| parse_onc(&t).ok());
        let mut s = Section {
            report: ProductReport {
                product: req.describe(),
                ..ProductReport::default()
            },
            orders: Vec::new(),
            fingerprints: Vec::new(),
            failed: None,
            hwm_key: key,
            hwm,
        };
        if let Err(e) = prepare_one(engine, client, spec, req, now, &mut s).await {
            if matches!(e, SyncError::Engine(_)) {
                return Err(e);
            }
            s.orders.clear();
            s.failed = Some(match e {
                SyncError::Spec { message, .. } => message,
                other => other.to_string(),
            });
        }
        out.push(s);
    }
    Ok(out)
}

async fn prepare_one(
    engine: &Engine,
    client: &Client,
    spec: &SyncSpec,
    req: &ProductRequest,
    now: Timestamp,
    s: &mut Section,
) -> Result<(), SyncError> {
    let failed = |m: String| SyncError::spec("products", &req.describe(), m);
    let p = periods(req, &spec.time, s.hwm, now).map_err(failed)?;
    s.report.window = p.describe.clone();
    let spans = devices(engine, client, &req.source).await?;
    // Held periods to watch: those that ended within `recheck` before the newest one.
    let newest = p.pieces.last().map(|x| x.1).max(s.hwm);
    let watch: Periods = match (req.recheck, newest) {
        (Some(r), Some(n)) => watched(req, &spec.time, &p.pieces, n, r, now).map_err(failed)?,
        _ => Vec::new(),
    };
    let overlaps =
        |b: &Option<Timestamp>, e: &Option<Timestamp>, (f, t): (Timestamp, Timestamp)| {
            b.is_none_or(|b| b < t) && e.is_none_or(|e| e > f)
        };
    let mut by_device: BTreeMap<DeviceCode, (Periods, Periods)> = BTreeMap::new();
    for (dev, b, e) in &spans {
        let entry = by_device.entry(dev.clone()).or_default();
        for piece in &p.pieces {
            if overlaps(b, e, *piece) && !entry.0.contains(piece) {
                entry.0.push(*piece);
            }
        }
        for piece in &watch {
            if overlaps(b, e, *piece) && !entry.1.contains(piece) {
                entry.1.push(*piece);
            }
        }
    }
    by_device.retain(|_, (new, watch)| !new.is_empty() || !watch.is_empty());
    for dev in by_device.keys() {
        if let Some(problem) = offering_problem(client, req, dev).await {
            return Err(failed(problem));
        }
    }
    let ledger = engine.ledger();
    for (dev, (pieces, watch)) in &by_device {
        s.report.devices.push(dev.to_string());
        for (f, t) in pieces {
            s.orders.push(Planned {
                spec: TaskSpec::Order(req.order(dev, *f, *t)),
                to: *t,
            });
        }
        if watch.is_empty() {
            continue;
        }
        let (first, last) = (watch[0].0, watch[watch.len() - 1].1);
        let mut q = ArchiveQuery::device(dev.clone()).return_options(ReturnOptions::All);
        q.date_from = Some(first);
        q.date_to = Some(last);
        let what = format!("listing the archive files of {dev} (product re-check)");
        let policy = engine.settings().retry;
        let files = super::error::retried(&policy, what, || client.archive_list(&q))
            .await?
            .files;
        let keys: HashSet<TaskKey> = watch
            .iter()
            .map(|(f, t)| TaskSpec::Order(req.order(dev, *f, *t)).key())
            .collect();
        let rows = tasks_by_key(ledger, &keys)?;
        for (f, t) in watch {
            let order = TaskSpec::Order(req.order(dev, *f, *t));
            let key = order.key();
            let fp = rerun::fingerprint(&files, *f, *t);
            let held = rows.get(&key).filter(|r| r.state == TaskState::Done);
            if let (Some(row), Some(old)) = (held, rerun::recorded(ledger, &key)?) {
                if old != fp && !rerun::is_pending(ledger, &key)? {
                    let what = format!(
                        "{} {} of {dev} [{}, {})",
                        req.product,
                        req.extension,
                        format_onc(*f),
                        format_onc(*t)
                    );
                    rerun::start(ledger, engine.out_dir(), row, &what, now)?;
                    s.report.rechecked += 1;
                }
            }
            if !s.orders.iter().any(|o| o.spec.key() == key) {
                s.orders.push(Planned {
                    spec: order,
                    to: *t,
                });
            }
            s.fingerprints.push((key, fp));
        }
    }
    let keys: HashSet<TaskKey> = s.orders.iter().map(|o| o.spec.key()).collect();
    let before = tasks_by_key(ledger, &keys)?;
    s.report.periods = s.orders.len() as u64;
    s.report.held = before
        .values()
        .filter(|r| r.state == TaskState::Done)
        .count() as u64;
    Ok(())
}

/// After the engine ran: files fetched, failures, fingerprints, high-water marks, re-runs.
pub(super) fn finish(
    engine: &Engine,
    sections: Vec<Section>,
    stored: &HashMap<String, u64>,
    clean_run: bool,
    failed: &mut BTreeMap<String, String>,
    reprocessed: &mut Vec<Reprocessed>,
) -> Result<Vec<ProductReport>, SyncError> {
    let ledger = engine.ledger();
    let keys: HashSet<TaskKey> = sections
        .iter()
        .flat_map(|s| s.orders.iter().map(|o| o.spec.key()))
        .collect();
    let rows: HashMap<TaskKey, TaskRow> = tasks_by_key(ledger, &keys)?;
    let done = rerun::finish(ledger, engine.out_dir(), &rows)?;
    reprocessed.extend(done.changed);
    let mut reports = Vec::new();
    for mut s in sections {
        if let Some(why) = &s.failed {
            failed.insert(s.report.product.clone(), why.clone());
        }
        let mut all_done = s.failed.is_none();
        let mut newest = s.hwm;
        for o in &s.orders {
            let key = o.spec.key();
            let row = rows.get(&key);
            match row.map(|r| r.state) {
                Some(TaskState::Done) => {
                    newest = newest.max(Some(o.to));
                    let Some(row) = row else { continue };
                    // Done rows only: a re-run leaves the previous run's rows pending.
                    for f in ledger.files_of(row.id)? {
                        let done = f.state == crate::engine::FileState::Done;
                        if let Some(n) = f.name.filter(|n| done && stored.contains_key(n)) {
                            s.report.fetched.push(n);
                        }
                    }
                    if done.identical.contains(&key) {
                        s.report.unchanged += 1;
                    }
                }
                state => {
                    all_done = false;
                    let reason = row.and_then(|r| r.reason.clone()).unwrap_or_else(|| {
                        format!(
                            "the order is {}",
                            state.map_or("missing".into(), |s| s.to_string())
                        )
                    });
                    let label = row.map_or_else(|| key.to_string(), |r| r.label.clone());
                    failed.insert(label, reason);
                }
            }
        }
        for (key, fp) in &s.fingerprints {
            let held = rows.get(key).is_some_and(|r| r.state == TaskState::Done);
            if held && !rerun::is_pending(ledger, key)? {
                rerun::record(ledger, key, fp)?;
            }
        }
        if all_done && clean_run && newest != s.hwm {
            if let Some(m) = newest {
                ledger.set_meta(&s.hwm_key, &format_onc(m))?;
            }
        }
        s.report.high_water_mark = ledger.meta(&s.hwm_key)?;
        s.report.fetched.sort();
        s.report.fetched.dedup();
        reports.push(s.report);
    }
    Ok(reports)
}
