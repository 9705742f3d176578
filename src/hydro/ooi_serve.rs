//! The front end on OOI broadband hydrophones: OOI offers no HSD product, so a plan's windows
//! on an OOI device are served from audio. Its windows (merged into contiguous runs, cut at UTC
//! midnights) become engine `ooi_raw` tasks that download the overlapping miniSEED files into
//! `<out>/<REFDES>/raw/`; afterwards every window is cut from them ([`cut_raw_audio`]) as
//! `<out>/<REFDES>/audio/<REFDES>_<YYYYmmddTHHMMSS>.flac` with a sidecar `.json` beside it
//! (sources and gaps, as for clips), and, where the ONC path would fetch an HSD spectrogram,
//! an NPZ spectrogram computed locally by `analysis` with the `spectrogram` command's defaults
//! (1 s Hann window, 50 % overlap, PSD density in dB re full scale) in `<out>/<REFDES>/hsd/`.
//! A window whose outputs exist and whose sidecar lists no gap is not cut again.
//!
//! Must not know: HTTP, terminals.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;

use super::clips_cut::{write_sidecar, ClipCutError, Interval, ProductRecord, Sidecar};
use super::device::{provider_of, Provider};
use super::grid::{DeviceCode, TimeRange, Window};
use super::layout::{raw_folder, OutputLayout};
use super::ooi_audio::{cut_raw_audio, raw_coverage};
use super::plan::Plan;
use crate::analysis::{spectrogram_file, SpectrogramSpec};
use crate::api::time::format_compact_plain;
use crate::engine::{OoiRawSpec, TaskSpec};

/// What serving the OOI windows did (the `ooi` member of the hydro summary).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OoiSummary {
    /// OOI windows in the plan.
    pub windows: u64,
    /// Windows with an audio file and, when asked, a spectrogram (cut now or kept).
    pub served: u64,
    /// Of those, windows with a gap (listed in their sidecars).
    pub with_gaps: u64,
    /// Windows no raw file covers at all.
    pub empty: u64,
    /// Windows cut in this run (0 on a complete rerun).
    pub cut: u64,
    /// Spectrograms asked / written.
    pub spectrograms_asked: u64,
    /// NPZ spectrograms present.
    pub spectrograms: u64,
    /// `window: error` of windows that could not be served.
    pub errors: Vec<String>,
}

/// True when the plan has an OOI device.
pub fn has_ooi(plan: &Plan) -> bool {
    plan.windows
        .iter()
        .any(|(d, _)| provider_of(d) == Provider::Ooi)
}

/// Windows of each OOI device, and which of them want a spectrogram.
fn ooi_windows(plan: &Plan) -> BTreeMap<DeviceCode, (BTreeSet<Window>, BTreeSet<Window>)> {
    let mut out: BTreeMap<DeviceCode, (BTreeSet<Window>, BTreeSet<Window>)> = BTreeMap::new();
    for (d, w) in &plan.windows {
        if provider_of(d) == Provider::Ooi {
            out.entry(d.clone()).or_default().0.insert(*w);
        }
    }
    for r in &plan.requests {
        let Some((all, spect)) = out.get_mut(&r.order.device) else {
            continue;
        };
        let first = Window::containing(r.order.range.start()).index();
        spect.extend(
            all.iter()
                .filter(|w| w.index() >= first && w.index() < first + r.windows as i64)
                .copied(),
        );
    }
    out
}

/// UTC midnight after `t`'s day.
fn next_midnight(t: Timestamp) -> Option<Timestamp> {
    let day = t.to_zoned(jiff::tz::TimeZone::UTC).date();
    day.tomorrow()
        .ok()?
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// The engine tasks that download the raw files of every OOI window: contiguous runs (runs one
/// window apart are merged, so no file lies between two tasks) cut at UTC midnights; every day
/// but a run's first takes only files starting in it, so no file is fetched by two tasks.
pub fn ooi_tasks(plan: &Plan) -> Vec<TaskSpec> {
    let mut tasks = Vec::new();
    for (device, (windows, _)) in ooi_windows(plan) {
        let mut runs: Vec<(i64, i64)> = Vec::new();
        for w in &windows {
            match runs.last_mut() {
                Some((_, end)) if w.index() <= *end + 1 => *end = w.index() + 1,
                _ => runs.push((w.index(), w.index() + 1)),
            }
        }
        for (a, b) in runs {
            let (from, to) = (Window::from_index(a).start(), Window::from_index(b).start());
            let mut start = from;
            let mut first = true;
            while start < to {
                let end = next_midnight(start).unwrap_or(to).min(to);
                tasks.push(TaskSpec::OoiRaw(OoiRawSpec {
                    refdes: device.to_string(),
                    from: start,
                    to: end,
                    folder: Some(raw_folder(&device)),
                    starts_only: !first,
                }));
                first = false;
                start = end;
            }
        }
    }
    tasks
}

/// What a spectrogram record says when its audio is shorter than one STFT window.
const TOO_SHORT: &str = "no spectrogram: the audio holds fewer samples than one STFT window";

/// Computes the NPZ spectrogram of `flac` into `out_dir` (`<stem>.npz` + `<stem>.json`) and
/// describes it like the audio it came from. Audio shorter than one STFT window (a window that
/// is nearly all gap, a clip under a second) gets a record without a file, not an error.
pub(crate) fn spectrogram_of(
    flac: &Path,
    out_dir: &Path,
    audio: &ProductRecord,
) -> Result<ProductRecord, ClipCutError> {
    // The `spectrogram` command's defaults: 1 s Hann, 50 %, density, full scale, NPZ + JSON.
    let spec = SpectrogramSpec::default();
    let window = audio
        .sample_rate
        .and_then(|fs| spec.params_for(fs, flac).ok())
        .map_or(0, |p| p.win_length as u64);
    if audio.units < window {
        return Ok(ProductRecord {
            file: None,
            units: 0,
            sample_rate: None,
            bits_per_sample: None,
            gap_handling: TOO_SHORT,
            ..audio.clone()
        });
    }
    std::fs::create_dir_all(out_dir).map_err(|source| ClipCutError::Io {
        what: "cannot create",
        path: out_dir.to_path_buf(),
        source,
    })?;
    let report = spectrogram_file(flac, out_dir, &spec).map_err(|e| ClipCutError::Source {
        file: flac.to_path_buf(),
        reason: format!("spectrogram: {e}"),
    })?;
    let npz = report
        .outputs
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "npz"));
    Ok(ProductRecord {
        file: npz
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned()),
        achieved: audio.achieved.clone(),
        sources: audio.file.iter().cloned().collect(),
        gaps: audio.gaps.clone(),
        units: report.n_time as u64,
        sample_rate: None,
        bits_per_sample: None,
        gap_handling: "computed from the audio clip: gaps are its silence",
    })
}

/// The window's file stem, `<REFDES>_<YYYYmmddTHHMMSS>`.
pub fn window_stem(device: &DeviceCode, window: &Window) -> String {
    format!("{device}_{}", format_compact_plain(window.start()))
}

/// True when the window's files exist and were cut from the raw files there are now: without
/// gaps, or with the same sources and gaps a cut now would record (so a window across an
/// archive gap is cut once, and again only when new raw files arrive).
fn complete(
    sidecar: &Path,
    want_spect: bool,
    npz: &Path,
    flac: &Path,
    range: &TimeRange,
    raw: &Path,
) -> bool {
    let Ok(text) = std::fs::read_to_string(sidecar) else {
        return false;
    };
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    if !(flac.exists() && (!want_spect || npz.exists())) {
        return false;
    }
    let audio = &doc["audio"];
    if audio["gaps"].as_array().is_some_and(|g| g.is_empty()) {
        return true;
    }
    let Ok((sources, gaps)) = raw_coverage(range, raw) else {
        return false;
    };
    serde_json::to_value(&sources).is_ok_and(|v| v == audio["sources"])
        && serde_json::to_value(&gaps).is_ok_and(|v| v == audio["gaps"])
}

fn serve_one(
    layout: &OutputLayout,
    device: &DeviceCode,
    window: &Window,
    want_spect: bool,
) -> Result<(Sidecar, PathBuf), ClipCutError> {
    let stem = window_stem(device, window);
    let audio_dir = layout.audio_dir(device);
    let flac = audio_dir.join(format!("{stem}.flac"));
    let range: TimeRange = window.range();
    let audio = cut_raw_audio(&range, &layout.raw_dir(device), &flac)?;
    let spectrogram = match (&audio.file, want_spect) {
        (Some(_), true) => Some(spectrogram_of(&flac, &layout.hsd_dir(device), &audio)?),
        (None, true) => Some(ProductRecord {
            units: 0,
            file: None,
            ..audio.clone()
        }),
        _ => None,
    };
    let sidecar = Sidecar {
        device: device.to_string(),
        label: stem.clone(),
        requested: Interval::from(&range),
        audio: Some(audio),
        spectrogram,
    };
    let path = audio_dir.join(format!("{stem}.json"));
    write_sidecar(&path, &sidecar)?;
    Ok((sidecar, path))
}

/// Serves every OOI window of `plan` from the raw files under `out`; a failing window is
/// recorded and the others go on.
pub fn serve_windows(plan: &Plan, out: &Path) -> OoiSummary {
    let layout = OutputLayout::new(out);
    let mut s = OoiSummary::default();
    for (device, (windows, spect)) in ooi_windows(plan) {
        for w in &windows {
            s.windows += 1;
            let want = spect.contains(w);
            s.spectrograms_asked += u64::from(want);
            let stem = window_stem(&device, w);
            let flac = layout.audio_dir(&device).join(format!("{stem}.flac"));
            let npz = layout.hsd_dir(&device).join(format!("{stem}.npz"));
            let side = layout.audio_dir(&device).join(format!("{stem}.json"));
            let raw = layout.raw_dir(&device);
            if complete(&side, want, &npz, &flac, &w.range(), &raw) {
                s.served += 1;
                s.spectrograms += u64::from(want);
                continue;
            }
            match serve_one(&layout, &device, w, want) {
                Ok((side, _)) => {
                    s.cut += 1;
                    let audio = side.audio.as_ref();
                    let spect_ok =
                        !want || side.spectrogram.as_ref().is_some_and(|p| p.file.is_some());
                    if audio.is_some_and(|a| a.file.is_some()) {
                        s.served += u64::from(spect_ok);
                    } else {
                        s.empty += 1;
                    }
                    if audio.is_some_and(|a| a.file.is_some() && !a.gaps.is_empty()) {
                        s.with_gaps += 1;
                    }
                    if side.spectrogram.as_ref().is_some_and(|p| p.file.is_some()) {
                        s.spectrograms += 1;
                    }
                }
                Err(e) => s.errors.push(format!("{stem}: {e}")),
            }
        }
    }
    s
}
