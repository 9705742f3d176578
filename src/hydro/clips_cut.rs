//! Cuts the planned clips out of the downloaded source files: an audio clip as FLAC (source
//! sample rate and bit depth, samples placed from each file's real start in its name), a
//! spectrogram clip as NPZ (columns chosen by each MAT file's `SpectData.time` datenums), and a
//! JSON sidecar per clip with the requested and achieved intervals, sources and gaps. Interior
//! audio gaps are filled with silence so the samples stay aligned in time, and every gap is
//! listed in the sidecar; nothing is shortened silently. All files go through temp + rename.
//!
//! Must not know: HTTP, the engine, terminals.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::archive::parse_archive_name;
use super::clip::{
    plan_audio_clip, plan_spectrogram_clip, AudioSource, ClipAssembly, Piece, SpectSource,
};
use super::clip_write::{total_samples, walk, write_clip_flac, Emit, AUDIO_GAPS};
use super::device::{provider_of, Provider};
use super::error::HydroError;
use super::grid::{DeviceCode, TimeRange, WINDOW_SECONDS};
use super::layout::OutputLayout;
use super::ooi_audio::cut_raw_audio;
use super::ooi_serve::spectrogram_of;
use super::plan::{ClipPlan, Plan};
use crate::api::time::format_onc;
use crate::media::atomic::write_atomic_with;
use crate::media::{self, AudioReader, FlacSpec, NpyArray, NpyData};

/// MATLAB datenum of 1970-01-01.
const DATENUM_EPOCH: f64 = 719_529.0;

/// What can stop one clip.
#[derive(Debug, thiserror::Error)]
pub enum ClipCutError {
    /// Creating, writing or renaming an output file failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done, e.g. "cannot create folder for".
        what: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Reading a MAT source or writing the FLAC/NPZ clip failed.
    #[error(transparent)]
    Media(#[from] media::MediaError),
    /// An audio source could not be decoded.
    #[error(transparent)]
    Decode(#[from] media::DecodeError),
    /// The source files do not fit the clip (e.g. sample rates differ).
    #[error(transparent)]
    Plan(#[from] HydroError),
    /// A source file whose content does not fit (missing field, bad shape).
    #[error("{file}: {reason}")]
    Source {
        /// The source file.
        file: PathBuf,
        /// What does not fit, e.g. "no numeric SpectData.PSD".
        reason: String,
    },
    /// A sidecar could not be turned into JSON (nothing is written then).
    #[error("cannot write the sidecar {path} as JSON: {source}")]
    Json {
        /// The sidecar that was to be written.
        path: PathBuf,
        /// serde's error.
        source: serde_json::Error,
    },
}

/// A half-open interval as printed in sidecars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interval {
    /// Inclusive start, `YYYY-MM-DDTHH:MM:SS.sssZ` (UTC).
    pub start: String,
    /// Exclusive end, same format.
    pub end: String,
}

impl From<&TimeRange> for Interval {
    fn from(r: &TimeRange) -> Self {
        Interval {
            start: format_onc(r.start()),
            end: format_onc(r.end()),
        }
    }
}

/// One product (audio or spectrogram) of a clip, as recorded in the sidecar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductRecord {
    /// File name of the written clip (absent when nothing covered the interval).
    pub file: Option<String>,
    /// From the first taken sample/column to the end of the last; absent when nothing covered.
    pub achieved: Option<Interval>,
    /// Names of the source files used, in time order.
    pub sources: Vec<String>,
    /// Stretches of the requested interval no source covered.
    pub gaps: Vec<Interval>,
    /// Samples (audio) or columns (spectrogram) written.
    pub units: u64,
    /// Audio sample rate, Hz (audio only).
    pub sample_rate: Option<u32>,
    /// Bits per sample of the FLAC clip (audio only).
    pub bits_per_sample: Option<u32>,
    /// How interior gaps appear in the file.
    pub gap_handling: &'static str,
}

/// The JSON sidecar beside a clip.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sidecar {
    /// The hydrophone's device code.
    pub device: String,
    /// The annotation's `label`, else its output name.
    pub label: String,
    /// The interval the annotation asked for.
    pub requested: Interval,
    /// The audio clip; `None` when audio was not asked for.
    pub audio: Option<ProductRecord>,
    /// The spectrogram clip; `None` when not asked for.
    pub spectrogram: Option<ProductRecord>,
}

/// Files of `dir` whose archive name belongs to `device`, has one of `exts`, and starts less
/// than two windows before `range` ends and after it starts (the planner then decides).
fn candidates(dir: &Path, device: &DeviceCode, exts: &[&str], range: &TimeRange) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let margin = SignedDuration::from_secs(2 * WINDOW_SECONDS);
    let earliest = range.start().checked_sub(margin).unwrap_or(range.start());
    let mut found: Vec<(Timestamp, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let parsed = parse_archive_name(&name).ok()?;
            let ok = parsed.device == device.as_str()
                && exts.contains(&parsed.extension.as_str())
                && parsed.start >= earliest
                && parsed.start < range.end();
            ok.then(|| (parsed.start, e.path()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn intervals(a: &ClipAssembly) -> (Option<Interval>, Vec<Interval>) {
    (
        a.achieved().as_ref().map(Interval::from),
        a.gaps.iter().map(Interval::from).collect(),
    )
}

pub(crate) fn ensure_dir(path: &Path) -> Result<(), ClipCutError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| ClipCutError::Io {
            what: "cannot create folder for",
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

/// Cuts the audio clip of `clip` from the files in `dir` into `target`, streamed: each source's
/// length comes from its header (a decode pass only when the header does not say), then the
/// planned samples are decoded block by block straight into the FLAC writer, so a clip of a
/// day holds no more than a decoder block.
pub fn cut_audio(
    clip: &TimeRange,
    device: &DeviceCode,
    dir: &Path,
    target: &Path,
) -> Result<ProductRecord, ClipCutError> {
    let files = candidates(dir, device, &["flac", "wav"], clip);
    let mut sources = Vec::new();
    let mut bits = None;
    for path in &files {
        let name = file_name(path);
        let start = parse_archive_name(&name)?.start;
        let mut reader = AudioReader::open(path)?;
        let info = reader.info().clone();
        let samples = match info.total_frames {
            Some(n) => n,
            None => count_samples(&mut reader)?,
        };
        bits.get_or_insert(info.bits_per_sample);
        sources.push(AudioSource {
            name,
            start,
            sample_rate: info.sample_rate,
            samples,
        });
    }
    let assembly = plan_audio_clip(clip, &sources)?;
    let rate = sources.first().map(|s| s.sample_rate);
    // The FLAC writer takes 16 or 24 bits; anything else (float WAV, 8/32-bit) becomes 24.
    let bits = match bits {
        Some(16) => 16,
        _ => 24,
    };
    let (achieved, gaps) = intervals(&assembly);
    let mut record = ProductRecord {
        file: None,
        achieved,
        sources: assembly.pieces.iter().map(|p| p.name.clone()).collect(),
        gaps,
        units: 0,
        sample_rate: rate,
        bits_per_sample: rate.map(|_| bits),
        gap_handling: AUDIO_GAPS,
    };
    record.sources.dedup();
    let Some(rate) = rate.filter(|_| !assembly.pieces.is_empty()) else {
        return Ok(record);
    };
    let full = (1i64 << (bits - 1)) as f64;
    let total = total_samples(&assembly, rate);
    let spec = FlacSpec {
        sample_rate: rate,
        bits_per_sample: bits,
        channels: 1,
    };
    let mut piece =
        |p: &Piece, emit: &mut Emit<'_>| stream_file(&files[p.source], p.first, p.end, full, emit);
    write_clip_flac(target, &spec, total, |emit| {
        walk(&assembly, rate, &mut piece, emit)
    })?;
    record.units = total;
    record.file = Some(file_name(target));
    Ok(record)
}

/// Samples in a file whose header does not say, by decoding it.
fn count_samples(reader: &mut AudioReader) -> Result<u64, ClipCutError> {
    let mut block = Vec::new();
    let mut n = 0u64;
    while reader.read_block(&mut block)? {
        n += block.len() as u64;
    }
    Ok(n)
}

/// Streams samples `[first, end)` of the audio file `path`, as integers of full scale `full`.
fn stream_file(
    path: &Path,
    first: u64,
    end: u64,
    full: f64,
    emit: &mut Emit<'_>,
) -> Result<(), ClipCutError> {
    let mut reader = AudioReader::open(path)?;
    let (mut block, mut ints) = (Vec::new(), Vec::new());
    let mut at = 0u64;
    while at < end && reader.read_block(&mut block)? {
        let n = block.len() as u64;
        let (a, b) = (first.saturating_sub(at).min(n), (end - at).min(n));
        if a < b {
            ints.clear();
            ints.extend(
                block[a as usize..b as usize]
                    .iter()
                    .map(|s| (f64::from(*s) * full).round().clamp(-full, full - 1.0) as i32),
            );
            emit(&ints)?;
        }
        at += n;
    }
    if at < end {
        return Err(ClipCutError::Source {
            file: path.to_path_buf(),
            reason: format!(
                "the file ended after {at} samples; its header announces {end} or more"
            ),
        });
    }
    Ok(())
}

/// A MAT file's spectrogram: `psd` row-major frequency × time.
struct SpectFile {
    frequency: Vec<f64>,
    psd: Vec<f64>,
    columns: usize,
}

fn read_spect(path: &Path) -> Result<(SpectFile, Vec<Timestamp>), ClipCutError> {
    let bad = |reason: &str| ClipCutError::Source {
        file: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let mat = media::read_mat_path(path)?;
    let matrix = |field: &str| {
        mat.get_path(field)
            .and_then(|v| v.as_matrix())
            .ok_or_else(|| bad(&format!("no numeric {field}")))
    };
    let psd = matrix("SpectData.PSD")?;
    let frequency = matrix("SpectData.frequency")?.data().to_vec();
    let times = matrix("SpectData.time")?.data().to_vec();
    let (rows, cols) = (psd.rows(), psd.cols());
    let nf = frequency.len();
    let mut data = Vec::with_capacity(rows * cols);
    let columns = if rows == nf && cols == times.len() {
        for r in 0..rows {
            data.extend((0..cols).map(|c| psd.get(r, c).unwrap_or(f64::NAN)));
        }
        cols
    } else if cols == nf && rows == times.len() {
        for c in 0..cols {
            data.extend((0..rows).map(|r| psd.get(r, c).unwrap_or(f64::NAN)));
        }
        rows
    } else {
        return Err(bad(&format!(
            "SpectData.PSD is {rows}×{cols}, frequency has {nf} and time {} entries",
            times.len()
        )));
    };
    let mut stamps = Vec::with_capacity(times.len());
    for dn in times {
        let nanos = ((dn - DATENUM_EPOCH) * 86_400.0 * 1e9).round();
        let t = (nanos.is_finite())
            .then(|| Timestamp::from_nanosecond(nanos as i128).ok())
            .flatten()
            .ok_or_else(|| bad(&format!("SpectData.time holds {dn}, not a datenum")))?;
        stamps.push(t);
    }
    Ok((
        SpectFile {
            frequency,
            psd: data,
            columns,
        },
        stamps,
    ))
}

/// Median spacing of column centres, or the file's nominal span split over its columns.
fn column_seconds(times: &[Timestamp]) -> f64 {
    let mut d: Vec<f64> = times
        .windows(2)
        .map(|w| w[1].duration_since(w[0]).as_secs_f64())
        .filter(|s| *s > 0.0)
        .collect();
    if d.is_empty() {
        return WINDOW_SECONDS as f64 / times.len().max(1) as f64;
    }
    d.sort_by(f64::total_cmp);
    d[d.len() / 2]
}

/// Cuts the spectrogram clip of `clip` from the MAT files in `dir` into `target` (NPZ).
pub fn cut_spectrogram(
    clip: &TimeRange,
    device: &DeviceCode,
    dir: &Path,
    target: &Path,
) -> Result<ProductRecord, ClipCutError> {
    let mut files = Vec::new();
    let mut sources = Vec::new();
    for path in candidates(dir, device, &["mat"], clip) {
        let (file, times) = read_spect(&path)?;
        sources.push(SpectSource {
            name: file_name(&path),
            column_seconds: column_seconds(&times),
            column_times: times,
        });
        files.push(file);
    }
    let assembly = plan_spectrogram_clip(clip, &sources)?;
    let (achieved, gaps) = intervals(&assembly);
    let mut record = ProductRecord {
        file: None,
        achieved,
        sources: assembly.pieces.iter().map(|p| p.name.clone()).collect(),
        gaps,
        units: 0,
        sample_rate: None,
        bits_per_sample: None,
        gap_handling: "columns absent; time_s shows where",
    };
    record.sources.dedup();
    let Some(first) = assembly.pieces.first() else {
        return Ok(record);
    };
    let frequency = files[first.source].frequency.clone();
    let mut columns: Vec<(usize, usize)> = Vec::new();
    for p in &assembly.pieces {
        if files[p.source].frequency.len() != frequency.len() {
            return Err(ClipCutError::Source {
                file: dir.join(&p.name),
                reason: "frequency bins differ from the clip's other files".into(),
            });
        }
        columns.extend((p.first as usize..p.end as usize).map(|c| (p.source, c)));
    }
    let nt = columns.len();
    let mut data = Vec::with_capacity(frequency.len() * nt);
    for f in 0..frequency.len() {
        for &(s, c) in &columns {
            let file = &files[s];
            data.push(
                file.psd
                    .get(f * file.columns + c)
                    .copied()
                    .unwrap_or(f64::NAN),
            );
        }
    }
    let time_s: Vec<f64> = columns
        .iter()
        .map(|&(s, c)| {
            sources[s].column_times[c]
                .duration_since(clip.start())
                .as_secs_f64()
        })
        .collect();
    let epoch = |t: Timestamp| t.as_nanosecond() as f64 / 1e9;
    let nf = frequency.len();
    ensure_dir(target)?;
    media::write_npz_path(
        target,
        &[
            ("spectrogram", NpyArray::matrix(nf, nt, NpyData::F64(data))),
            ("frequency_hz", NpyArray::vector(NpyData::F64(frequency))),
            ("time_s", NpyArray::vector(NpyData::F64(time_s))),
            (
                "start_epoch_s",
                NpyArray::vector(NpyData::F64(vec![epoch(clip.start())])),
            ),
            (
                "end_epoch_s",
                NpyArray::vector(NpyData::F64(vec![epoch(clip.end())])),
            ),
        ],
    )?;
    record.units = nt as u64;
    record.file = Some(file_name(target));
    Ok(record)
}

pub(crate) fn write_sidecar(path: &Path, sidecar: &Sidecar) -> Result<(), ClipCutError> {
    let io = |what: &'static str| {
        move |source| ClipCutError::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    };
    ensure_dir(path)?;
    write_atomic_with(path, |f| {
        serde_json::to_writer_pretty(f, sidecar).map_err(std::io::Error::other)
    })
    .map_err(io("cannot write"))
}

/// The local spectrogram of an OOI clip's audio `target`, moved into place as `npz`. analysis
/// names its output after the input, so it is computed in a private folder first.
fn ooi_clip_spectrogram(
    sidecar: &Path,
    clip: &ClipPlan,
    target: &Path,
    npz: &Path,
    audio: &ProductRecord,
) -> Result<ProductRecord, ClipCutError> {
    let work = sidecar.with_file_name(format!(".{}.spectrogram", clip.output_name));
    let mut rec = spectrogram_of(target, &work, audio)?;
    if rec.file.is_none() {
        return Ok(rec); // shorter than one STFT window
    }
    let stem = target
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let moves = [
        (work.join(format!("{stem}.npz")), npz.to_path_buf()),
        (
            work.join(format!("{stem}.json")),
            npz.with_extension("provenance.json"),
        ),
    ];
    for (from, to) in moves {
        std::fs::rename(&from, &to).map_err(|source| ClipCutError::Io {
            what: "cannot move into place",
            path: to,
            source,
        })?;
    }
    let _ = std::fs::remove_dir(&work);
    rec.file = Some(file_name(npz));
    Ok(rec)
}

/// Cuts one clip of an OOI hydrophone from its raw files: audio always (the source of the
/// spectrogram), the spectrogram computed locally beside it as `<name>_spec.npz`.
fn cut_ooi_clip(layout: &OutputLayout, clip: &ClipPlan) -> Result<Sidecar, ClipCutError> {
    let paths = layout.clip_paths(clip);
    let target = paths.audio.clone().unwrap_or_else(|| {
        paths
            .sidecar
            .with_file_name(format!("{}_audio.flac", clip.output_name))
    });
    let audio = cut_raw_audio(&clip.range, &layout.raw_dir(&clip.device), &target)?;
    let spectrogram = match (&paths.spectrogram, &audio.file) {
        (Some(npz), Some(_)) => Some(ooi_clip_spectrogram(
            &paths.sidecar,
            clip,
            &target,
            npz,
            &audio,
        )?),
        (Some(_), None) => Some(ProductRecord {
            units: 0,
            ..audio.clone()
        }),
        (None, _) => None,
    };
    let sidecar = Sidecar {
        device: clip.device.to_string(),
        label: clip.label.clone(),
        requested: Interval::from(&clip.range),
        audio: Some(audio),
        spectrogram,
    };
    write_sidecar(&paths.sidecar, &sidecar)?;
    Ok(sidecar)
}

/// Cuts one clip and writes its sidecar; returns the sidecar.
pub fn cut_clip(layout: &OutputLayout, clip: &ClipPlan) -> Result<Sidecar, ClipCutError> {
    if provider_of(&clip.device) == Provider::Ooi {
        return cut_ooi_clip(layout, clip);
    }
    let paths = layout.clip_paths(clip);
    let audio = match &paths.audio {
        Some(p) => Some(cut_audio(
            &clip.range,
            &clip.device,
            &layout.audio_dir(&clip.device),
            p,
        )?),
        None => None,
    };
    let spectrogram = match &paths.spectrogram {
        Some(p) => Some(cut_spectrogram(
            &clip.range,
            &clip.device,
            &layout.hsd_dir(&clip.device),
            p,
        )?),
        None => None,
    };
    let sidecar = Sidecar {
        device: clip.device.to_string(),
        label: clip.label.clone(),
        requested: Interval::from(&clip.range),
        audio,
        spectrogram,
    };
    write_sidecar(&paths.sidecar, &sidecar)?;
    Ok(sidecar)
}

/// Clip counts for `summary.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClipsSummary {
    /// Clips in the plan.
    pub planned: u64,
    /// Clips whose every product covers the requested interval.
    pub complete: u64,
    /// Clips written with gaps or without some product.
    pub partial: u64,
    /// `output_name: error` of clips that could not be cut.
    pub errors: Vec<String>,
}

/// Cuts every clip of `plan` under `out`; a failing clip is recorded, the others go on.
pub fn cut_clips(plan: &Plan, out: &Path) -> ClipsSummary {
    let layout = OutputLayout::new(out);
    let mut s = ClipsSummary {
        planned: plan.clips.len() as u64,
        ..ClipsSummary::default()
    };
    let mut seen: BTreeMap<PathBuf, ()> = BTreeMap::new();
    for clip in &plan.clips {
        if seen.insert(layout.clip_paths(clip).sidecar, ()).is_some() {
            continue;
        }
        match cut_clip(&layout, clip) {
            Ok(side) => {
                let full = |p: &Option<ProductRecord>| {
                    p.as_ref()
                        .is_none_or(|r| r.file.is_some() && r.gaps.is_empty())
                };
                if full(&side.audio) && full(&side.spectrogram) {
                    s.complete += 1;
                } else {
                    s.partial += 1;
                }
            }
            Err(e) => s.errors.push(format!("{}: {e}", clip.output_name)),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, value: i32, n: usize) {
        let spec = FlacSpec {
            sample_rate: 100,
            bits_per_sample: 16,
            channels: 1,
        };
        media::write_flac_path(&dir.join(name), &vec![value; n], &spec).unwrap();
    }

    fn range(a: &str, b: &str) -> TimeRange {
        TimeRange::new(a.parse().unwrap(), b.parse().unwrap()).unwrap()
    }

    #[test]
    fn an_interior_audio_gap_is_filled_with_silence_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let d = DeviceCode::parse("ICLISTENHF6324").unwrap();
        write(
            dir.path(),
            "ICLISTENHF6324_20240401T000000.000Z.flac",
            1000,
            1000,
        );
        write(
            dir.path(),
            "ICLISTENHF6324_20240401T000012.000Z.flac",
            -2000,
            1000,
        );
        let clip = range("2024-04-01T00:00:05Z", "2024-04-01T00:00:20Z");
        let target = dir.path().join("out/clip.flac");
        let rec = cut_audio(&clip, &d, dir.path(), &target).unwrap();
        assert_eq!(rec.units, 1500);
        assert_eq!(rec.bits_per_sample, Some(16));
        assert_eq!(rec.sources.len(), 2);
        assert_eq!(rec.achieved, Some(Interval::from(&clip)));
        assert_eq!(
            rec.gaps,
            vec![Interval::from(&range(
                "2024-04-01T00:00:10Z",
                "2024-04-01T00:00:12Z"
            ))]
        );
        let samples = AudioReader::open(&target).unwrap().read_all().unwrap();
        let full = 32768.0;
        assert_eq!(samples.len(), 1500);
        assert_eq!((samples[499] * full).round(), 1000.0);
        assert!(samples[500..700].iter().all(|s| *s == 0.0));
        assert_eq!((samples[700] * full).round(), -2000.0);
    }

    #[test]
    fn no_source_file_means_no_clip_file_and_the_whole_interval_as_gap() {
        let dir = tempfile::tempdir().unwrap();
        let d = DeviceCode::parse("ICLISTENHF6324").unwrap();
        let clip = range("2024-04-01T00:00:05Z", "2024-04-01T00:00:20Z");
        let target = dir.path().join("clip.flac");
        let rec = cut_audio(&clip, &d, dir.path(), &target).unwrap();
        assert_eq!(rec.file, None);
        assert_eq!(rec.achieved, None);
        assert_eq!(rec.gaps, vec![Interval::from(&clip)]);
        assert!(!target.exists());
    }
}
