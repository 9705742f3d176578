//! Runs a hydrophone [`Plan`] through the download engine: every planned HSD request becomes an
//! engine order task (folder `<DEVICE>/hsd`), every audio span is listed on the archive and the
//! chosen files become archive tasks (folder `<DEVICE>/audio`). After the engine run it counts
//! which planned five-minute windows have a delivered HSD file and merges that into
//! `<out>/summary.json` (the engine's summary plus a `hydro` member). Planned clips are cut
//! from the downloaded files afterwards (`clips_cut`).
//!
//! Must not know: terminals, command-line flags (the CLI hands in the engine and a reporter).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use jiff::SignedDuration;
use serde::Serialize;

use super::archive::{parse_archive_name, select_audio, AudioExtension, ListedFile};
use super::clips_cut::{cut_clips, ClipsSummary};
use super::device::{provider_of, Provider};
use super::grid::{DeviceCode, TimeRange, WINDOW_SECONDS};
use super::layout::{audio_folder, hsd_folder, OutputLayout};
use super::ooi_serve::{has_ooi, ooi_tasks, serve_windows, OoiSummary};
use super::plan::{Plan, PlannedRequest};
use crate::api::{ArchiveQuery, Client, ReturnOptions};
use crate::engine::{
    ArchiveSpec, Engine, EngineError, OrderSpec, PlanReport, Providers, Reporter, Summary, TaskSpec,
};

/// What can stop a hydrophone run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The engine failed (ledger trouble, a rejected token, …).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Listing the archive failed.
    #[error("listing the archive files of {device}: {message}")]
    Listing {
        /// The hydrophone's device code.
        device: String,
        /// The client's error, token redacted.
        message: String,
    },
    /// The summary could not be turned into JSON (nothing is written then).
    #[error("cannot write {path} as JSON: {source}")]
    Json {
        /// The file that was to be written.
        path: PathBuf,
        /// serde's error.
        source: serde_json::Error,
    },
    /// Local file-system trouble.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done, e.g. "cannot write".
        what: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl RunError {
    /// True when the server rejected the token (the CLI exits 2).
    pub fn is_fatal(&self) -> bool {
        matches!(self, RunError::Engine(EngineError::Unauthorized(_)))
    }
}

/// The hydrophone part of `summary.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HydroSummary {
    /// Five-minute windows the plan asked spectrograms for.
    pub windows_asked: u64,
    /// Of those, windows with a delivered HSD file in every asked format (`--hsd-ext`).
    pub windows_delivered: u64,
    /// HSD files present under `<out>/<DEVICE>/hsd/` for the planned devices and formats.
    pub hsd_files: u64,
    /// The same by extension, e.g. `{"mat": 160, "png": 160}`.
    pub hsd_files_by_ext: BTreeMap<String, u64>,
    /// Archive audio files planned (after selection from the listing).
    pub audio_files_planned: u64,
    /// Requested audio ranges no archive file covers.
    pub audio_gaps: Vec<String>,
    /// Files the engine downloaded in this run (0 on a complete rerun).
    pub files_new: u64,
    /// Wall time of the whole hydrophone run (listing + engine), seconds.
    pub wall_seconds: f64,
    /// Planned windows without an HSD file (`DEVICE start`), at most 50 listed.
    pub missing_windows: Vec<String>,
    /// Clips cut after the downloads (see `clips_cut`).
    pub clips: ClipsSummary,
    /// OOI windows served from raw audio (absent without OOI devices).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ooi: Option<OoiSummary>,
}

/// The engine order task of one planned HSD request.
pub fn hsd_task(request: &PlannedRequest) -> TaskSpec {
    let o = &request.order;
    TaskSpec::Order(OrderSpec::new(o.to_order()).in_folder(hsd_folder(&o.device)))
}

/// Every HSD task of a plan, in plan order (ONC devices only: OOI windows are served from
/// audio, see `ooi_serve`).
pub fn hsd_tasks(plan: &Plan) -> Vec<TaskSpec> {
    plan.requests
        .iter()
        .filter(|r| provider_of(&r.order.device) == Provider::Onc)
        .map(hsd_task)
        .collect()
}

/// Lists the archive for every audio span of the plan and turns the chosen files into archive
/// tasks; each listing is retried with `retry`. Returns the tasks and the uncovered ranges
/// (`DEVICE range`).
pub async fn audio_tasks(
    client: &Client,
    plan: &Plan,
    retry: &crate::engine::RetryPolicy,
) -> Result<(Vec<TaskSpec>, Vec<String>), RunError> {
    let mut by_device: BTreeMap<(DeviceCode, AudioExtension), Vec<TimeRange>> = BTreeMap::new();
    for span in plan
        .audio
        .iter()
        .filter(|s| provider_of(&s.device) == Provider::Onc)
    {
        by_device
            .entry((span.device.clone(), span.extension))
            .or_default()
            .push(span.range);
    }
    let mut tasks = Vec::new();
    let mut gaps = Vec::new();
    for ((device, ext), ranges) in by_device {
        let Some(from) = ranges.iter().map(|r| r.start()).min() else {
            continue;
        };
        let to = ranges.iter().map(|r| r.end()).max().unwrap_or(from);
        // A file starting up to one window before the first range may still overlap it.
        let from = from
            .checked_sub(SignedDuration::from_secs(WINDOW_SECONDS))
            .unwrap_or(from);
        let query = ArchiveQuery::device(device.as_str())
            .between(from, to)
            .return_options(ReturnOptions::All);
        // Retried like every engine call (5xx, 429, timeouts, resets) with the run's policy.
        let listing =
            crate::engine::with_retries(retry, |_, _, _| {}, || client.archive_list(&query))
                .await
                .map_err(|e| RunError::Listing {
                    device: device.to_string(),
                    message: e.to_string(),
                })?;
        let listed: Vec<ListedFile> = listing.files.iter().map(ListedFile::from).collect();
        let preference = match ext {
            AudioExtension::Flac => vec![AudioExtension::Flac, AudioExtension::Wav],
            other => vec![other],
        };
        let chosen = select_audio(&listed, &device, &ranges, &preference);
        for gap in &chosen.uncovered {
            gaps.push(format!("{device} {gap}"));
        }
        for f in chosen.files {
            tasks.push(TaskSpec::Archive(ArchiveSpec {
                filename: f.filename,
                size: f.size,
                folder: Some(audio_folder(&device)),
            }));
        }
    }
    Ok((tasks, gaps))
}

/// The time span of a downloaded HSD/audio file from its name (`<dev>_<start>[_<end>]…`).
fn file_span(name: &str) -> Option<(String, TimeRange)> {
    let parsed = parse_archive_name(name).ok()?;
    let end = match parsed.end {
        Some(e) if e > parsed.start => e,
        _ => parsed
            .start
            .checked_add(SignedDuration::from_secs(WINDOW_SECONDS))
            .ok()?,
    };
    Some((parsed.device, TimeRange::new(parsed.start, end).ok()?))
}

/// HSD files (by extension) in a device's HSD folder, with their spans.
fn hsd_files(layout: &OutputLayout, device: &DeviceCode, ext: &str) -> Vec<TimeRange> {
    let Ok(dir) = std::fs::read_dir(layout.hsd_dir(device)) else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.rsplit('.').next() == Some(ext))
        .filter_map(|n| file_span(&n))
        .filter(|(d, _)| d == device.as_str())
        .map(|(_, r)| r)
        .collect()
}

/// Counts planned windows with a delivered HSD file in each format asked for them: a file
/// serves the window that holds its midpoint (files are five minutes long and start on, or
/// near, the grid).
pub fn count_delivered(plan: &Plan, out: &Path, summary: &mut HydroSummary) {
    let layout = OutputLayout::new(out);
    let mut files: BTreeMap<(DeviceCode, &str), Vec<TimeRange>> = BTreeMap::new();
    let onc = |r: &&PlannedRequest| provider_of(&r.order.device) == Provider::Onc;
    for r in plan.requests.iter().filter(onc) {
        let d = &r.order.device;
        let ext = r.order.settings.format.extension();
        if let std::collections::btree_map::Entry::Vacant(e) = files.entry((d.clone(), ext)) {
            let found = hsd_files(&layout, d, ext);
            *summary.hsd_files_by_ext.entry(ext.to_string()).or_default() += found.len() as u64;
            e.insert(found);
        }
    }
    summary.hsd_files = files.values().map(|v| v.len() as u64).sum();
    // The formats asked for each (device, window index): linear in the planned windows.
    let mut asked_for: BTreeMap<(&DeviceCode, i64), Vec<&str>> = BTreeMap::new();
    for r in plan.requests.iter().filter(onc) {
        let ext = r.order.settings.format.extension();
        let first = super::grid::Window::containing(r.order.range.start()).index();
        for i in 0..r.windows as i64 {
            asked_for
                .entry((&r.order.device, first + i))
                .or_default()
                .push(ext);
        }
    }
    for (device, window) in &plan.windows {
        let w = window.range();
        let Some(asked) = asked_for.get(&(device, window.index())) else {
            continue; // an audio-only window
        };
        summary.windows_asked += 1;
        let hit = asked.iter().all(|ext| {
            files.get(&(device.clone(), *ext)).is_some_and(|spans| {
                spans.iter().any(|s| {
                    let mid = s.start() + s.duration() / 2;
                    mid >= w.start() && mid < w.end()
                })
            })
        });
        if hit {
            summary.windows_delivered += 1;
        } else if summary.missing_windows.len() < 50 {
            summary.missing_windows.push(format!(
                "{device} {}",
                crate::api::time::format_onc(w.start())
            ));
        }
    }
}

/// True when the plan has ONC work (HSD orders or archive audio of an ONC device).
pub fn has_onc(plan: &Plan) -> bool {
    plan.windows
        .iter()
        .any(|(d, _)| provider_of(d) == Provider::Onc)
}

/// Plans the HSD (and, when the plan asks, audio) tasks of `plan` into `engine`, and the raw
/// downloads of its OOI windows. `client` (Oceans 3.0) lists ONC archive audio.
pub async fn plan_tasks(
    engine: &Engine,
    client: Option<&Client>,
    plan: &Plan,
) -> Result<(PlanReport, HydroSummary), RunError> {
    let mut tasks = hsd_tasks(plan);
    let mut summary = HydroSummary::default();
    if plan
        .audio
        .iter()
        .any(|s| provider_of(&s.device) == Provider::Onc)
    {
        let client = client.ok_or_else(|| RunError::Listing {
            device: "ONC".into(),
            message: "no Oceans 3.0 client (token) for the archive listing".into(),
        })?;
        let (audio, gaps) = audio_tasks(client, plan, &engine.settings().retry).await?;
        summary.audio_files_planned = audio.len() as u64;
        summary.audio_gaps = gaps;
        tasks.extend(audio);
    }
    tasks.extend(ooi_tasks(plan));
    let report = engine.plan(&tasks)?;
    Ok((report, summary))
}

/// Plans and runs a hydrophone plan with the providers' clients (`onc` for ONC devices,
/// `ooi_raw` for OOI hydrophones), serves OOI windows from the raw files, cuts the clips and
/// writes `<out>/summary.json` (engine summary + `hydro`).
pub async fn run_plan(
    engine: &Engine,
    providers: Providers,
    plan: &Plan,
    reporter: Arc<dyn Reporter>,
) -> Result<(Summary, HydroSummary), RunError> {
    let clock = Instant::now();
    let (_, mut hydro) = plan_tasks(engine, providers.onc.as_ref(), plan).await?;
    let summary = engine.run_with(providers, reporter).await?;
    hydro.files_new = summary.files;
    count_delivered(plan, engine.out_dir(), &mut hydro);
    if has_ooi(plan) {
        let ooi = serve_windows(plan, engine.out_dir());
        hydro.windows_asked += ooi.windows;
        hydro.windows_delivered += ooi.served;
        hydro.ooi = Some(ooi);
    }
    hydro.clips = cut_clips(plan, engine.out_dir());
    hydro.wall_seconds = clock.elapsed().as_secs_f64();
    write_summary(engine.out_dir(), &summary, &hydro)?;
    Ok((summary, hydro))
}

/// Writes `<dir>/summary.json`: the engine summary with a `hydro` member (temp file + rename).
pub fn write_summary(dir: &Path, engine: &Summary, hydro: &HydroSummary) -> Result<(), RunError> {
    let path = dir.join("summary.json");
    let json = |source| RunError::Json {
        path: path.clone(),
        source,
    };
    let mut doc = serde_json::to_value(engine).map_err(json)?;
    if let serde_json::Value::Object(map) = &mut doc {
        map.insert("hydro".into(), serde_json::to_value(hydro).map_err(json)?);
    }
    let io = |what: &'static str| {
        let path = path.clone();
        move |source| RunError::Io { what, path, source }
    };
    crate::media::atomic::write_atomic_with(&path, |f| {
        serde_json::to_writer_pretty(f, &doc).map_err(std::io::Error::other)
    })
    .map_err(io("cannot write"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hydro::hsd::HsdSettings;
    use crate::hydro::plan::PlanBuilder;
    use crate::hydro::sampling::span;

    fn plan() -> Plan {
        let d = DeviceCode::parse("ICLISTENHF6324").unwrap();
        let r = TimeRange::new(
            "2024-04-01T00:00:00Z".parse().unwrap(),
            "2024-04-01T01:00:00Z".parse().unwrap(),
        )
        .unwrap();
        let mut b = PlanBuilder::new(5).unwrap();
        for burst in span(&r, 5).unwrap() {
            let windows: Vec<_> = burst.windows().collect();
            b.add_windows(&d, &windows, Some(&HsdSettings::default()), None)
                .unwrap();
        }
        b.build()
    }

    #[test]
    fn hsd_tasks_cover_each_request_exactly_in_the_device_folder() {
        let p = plan();
        let tasks = hsd_tasks(&p);
        assert_eq!(tasks.len(), p.requests.len());
        let TaskSpec::Order(o) = &tasks[0] else {
            panic!("not an order")
        };
        assert_eq!(o.folder.as_deref(), Some("ICLISTENHF6324/hsd"));
        let o = &o.order;
        assert_eq!(o.product.as_str(), "HSD");
        assert_eq!(o.extension, "mat");
        assert_eq!(
            o.source,
            crate::api::DataSource::Device {
                device: "ICLISTENHF6324".into(),
                property: None
            }
        );
        assert_eq!(o.date_from, p.requests[0].order.range.start());
        assert_eq!(o.date_to, p.requests[0].order.range.end());
        assert!(o
            .options
            .contains(&("dpo_spectrogramConcatenation".into(), "None".into())));
    }

    #[test]
    fn delivered_windows_are_counted_from_file_names() {
        let p = plan();
        let dir = tempfile::tempdir().unwrap();
        let hsd = dir.path().join("ICLISTENHF6324/hsd");
        std::fs::create_dir_all(&hsd).unwrap();
        for name in [
            "ICLISTENHF6324_20240401T000000.000Z_20240401T000500.000Z-OD-spect_plotRes.mat",
            "ICLISTENHF6324_20240401T000500.000Z_20240401T001000.000Z-OD-spect_plotRes.mat",
            "ICLISTENHF6324_20240401T000500.000Z-ignored.png",
            "notes.txt",
        ] {
            std::fs::write(hsd.join(name), b"x").unwrap();
        }
        let mut s = HydroSummary::default();
        count_delivered(&p, dir.path(), &mut s);
        assert_eq!(s.windows_asked, 12);
        assert_eq!(s.windows_delivered, 2);
        assert_eq!(s.hsd_files, 2);
        assert_eq!(s.missing_windows.len(), 10);
        assert!(s.missing_windows[0].ends_with("2024-04-01T00:10:00.000Z"));
    }
}
