//! One input file of a spectrogram run: stream-decode it (hashing the same bytes) into the STFT, keep the
//! (cropped) PSD frames, turn them into dB, and write NPZ + JSON sidecar, MAT and/or PNG (see
//! `outputs.rs`), each through a temporary file renamed into place.
//!
//! Memory: one output matrix (f32) plus the decoder's block and the STFT's frame buffers; the
//! audio itself is never held whole. The output matrix is bounded by [`MAX_OUTPUT_BYTES`],
//! checked before anything is allocated (from the header) and again while decoding (a header
//! can lie).
//!
//! Must not know: flags, terminals, worker pools (`batch.rs`).

// TODO(issue 15 item 6): document the public items below, then delete this allow.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::dsp::{Calibration, Level, Scaling, Stft, StftFloat, StftParams, WelchMean, Window};
use crate::media::AudioReader;

use super::AnalysisError;
use super::{files, outputs};

/// The largest spectrogram matrix (f32 values) one file may produce: 4 GiB.
pub const MAX_OUTPUT_BYTES: u64 = 4 << 30;
/// The most spectrogram values per input sample (`bins / hop`): above it the frames overlap so
/// much (e.g. `--overlap 0.999999999`, a hop of 1 sample) that the output is absurd.
pub const MAX_VALUES_PER_SAMPLE: usize = 256;
/// The most bytes reserved up front from a header's sample count (the rest grows as decoded).
const MAX_RESERVE_BYTES: u64 = 256 << 20;

/// An output file type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutputFormat {
    /// `<stem>.npz` (psd_db, frequency_hz, time_s) + `<stem>.json` provenance sidecar.
    Npz,
    /// `<stem>.mat` (MAT v5) with a `metadata` struct.
    Mat,
    /// `<stem>.png` picture.
    Png,
}

impl OutputFormat {
    /// Every format, in output order.
    pub const ALL: [OutputFormat; 3] = [OutputFormat::Npz, OutputFormat::Mat, OutputFormat::Png];

    /// The flag/file-extension name.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Npz => "npz",
            OutputFormat::Mat => "mat",
            OutputFormat::Png => "png",
        }
    }

    /// File extensions this format writes (NPZ brings its JSON sidecar).
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            OutputFormat::Npz => &["npz", "json"],
            OutputFormat::Mat => &["mat"],
            OutputFormat::Png => &["png"],
        }
    }
}

/// The float type of the FFT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Reproduces scipy's float64 numbers.
    F64,
    /// Faster; rounds like scipy on float32 input (relative error ≤ 1.2e-4 within 60 dB of the
    /// peak, up to 0.25 in bins 130–150 dB below it; see `spectrogram --help`).
    F32,
}

/// Window length in seconds when neither a sample count nor a duration is given.
pub const DEFAULT_WIN_DUR_S: f64 = 1.0;
/// Overlap between frames when neither `hop` nor `overlap` is given.
pub const DEFAULT_OVERLAP: f64 = 0.5;

/// Everything about a run that is the same for every file (sample rates may differ).
/// [`SpectrogramSpec::default`] is the `spectrogram` command without options — the one home of
/// its defaults: 1 s Hann window ([`DEFAULT_WIN_DUR_S`]), nfft = window, 50 % overlap
/// ([`DEFAULT_OVERLAP`]), PSD density, all frequencies, NPZ, full scale, float64.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectrogramSpec {
    /// Window length in seconds (used when no sample count is given).
    pub win_dur: Option<f64>,
    /// FFT length in samples (≥ the window; zero-padded).
    pub nfft: Option<usize>,
    /// Window length in samples (scipy's nperseg).
    pub win_length: Option<usize>,
    /// Overlap between frames as a fraction of the window, in [0, 1).
    pub overlap: Option<f64>,
    /// Hop between frame starts in samples.
    pub hop: Option<usize>,
    /// The window function.
    pub window: Window,
    /// PSD scaling (density or spectrum).
    pub scaling: Scaling,
    /// Lowest frequency kept, Hz.
    pub freq_min: Option<f64>,
    /// Highest frequency kept, Hz.
    pub freq_max: Option<f64>,
    /// Write one Welch mean PSD per file instead of a spectrogram.
    pub average: bool,
    /// Output formats, sorted and deduplicated by `check`.
    pub formats: Vec<OutputFormat>,
    /// Calibration to dB re 1 µPa (or full scale).
    pub calibration: Calibration,
    /// Fixed PNG colour range in dB.
    pub clim: Option<(f32, f32)>,
    /// FFT float type.
    pub precision: Precision,
}

impl Default for SpectrogramSpec {
    fn default() -> Self {
        SpectrogramSpec {
            win_dur: None,
            nfft: None,
            win_length: None,
            overlap: None,
            hop: None,
            window: Window::Hann,
            scaling: Scaling::Density,
            freq_min: None,
            freq_max: None,
            average: false,
            formats: vec![OutputFormat::Npz],
            calibration: Calibration::FullScale,
            clim: None,
            precision: Precision::F64,
        }
    }
}

fn bad(text: String) -> Result<(), AnalysisError> {
    Err(AnalysisError::Parameter(text))
}

impl SpectrogramSpec {
    /// Checks the parameters that do not depend on a file, and sorts/deduplicates the formats.
    /// Messages use the command-line names (`--overlap`, …).
    pub fn check(&mut self) -> Result<(), AnalysisError> {
        if let Some(d) = self.win_dur {
            if !(d.is_finite() && d > 0.0) {
                bad(format!(
                    "--win-dur must be a positive number of seconds, got {d}"
                ))?;
            }
        }
        if let Some(o) = self.overlap {
            if !(o.is_finite() && (0.0..1.0).contains(&o)) {
                bad(format!("--overlap must be a fraction in [0, 1), got {o}"))?;
            }
        }
        for (name, v) in [
            ("--nfft", self.nfft),
            ("--win-length", self.win_length),
            ("--hop", self.hop),
        ] {
            if v == Some(0) {
                bad(format!("{name} must be at least 1"))?;
            }
        }
        if let (Some(n), Some(w)) = (self.nfft, self.win_length) {
            if n < w {
                bad(format!("--nfft ({n}) must be at least --win-length ({w})"))?;
            }
        }
        let window_len = self.win_length.or(if self.win_dur.is_none() {
            self.nfft
        } else {
            None
        });
        if let (Some(h), Some(w)) = (self.hop, window_len) {
            if h > w {
                bad(format!(
                    "--hop ({h}) must not exceed the window length ({w})"
                ))?;
            }
        }
        if let (Some(lo), Some(hi)) = (self.freq_min, self.freq_max) {
            if lo > hi {
                bad(format!(
                    "--freq-min ({lo} Hz) is above --freq-max ({hi} Hz)"
                ))?;
            }
        }
        for (name, v) in [("--freq-min", self.freq_min), ("--freq-max", self.freq_max)] {
            if v.is_some_and(|f| !(f.is_finite() && f >= 0.0)) {
                bad(format!("{name} must be a frequency ≥ 0 Hz"))?;
            }
        }
        self.formats.sort();
        self.formats.dedup();
        if self.formats.is_empty() {
            bad("at least one output format is needed".into())?;
        }
        if self.average && self.formats.contains(&OutputFormat::Png) {
            bad(
                "--average writes one mean PSD per file; PNG needs a spectrogram (use npz or mat)"
                    .into(),
            )?;
        }
        Ok(())
    }

    /// STFT parameters for a file at `fs` Hz: window from --win-length, else --nfft, else
    /// --win-dur (default 1 s); nfft defaults to the window; hop from --hop or --overlap
    /// (default 0.5) as `win − ⌊overlap·win⌋`.
    pub fn params_for(&self, fs: u32, file: &Path) -> Result<StftParams, AnalysisError> {
        let bad = |reason: String| AnalysisError::FileParameter {
            file: file.to_path_buf(),
            reason,
        };
        let from_dur = |d: f64| (d * f64::from(fs)).round() as usize;
        let win_length = match (self.win_length, self.win_dur, self.nfft) {
            (Some(w), _, _) => w,
            (None, Some(d), _) => from_dur(d),
            (None, None, Some(n)) => n,
            (None, None, None) => from_dur(DEFAULT_WIN_DUR_S),
        };
        if win_length == 0 {
            return Err(bad(format!(
                "--win-dur gives a window of 0 samples at {fs} Hz"
            )));
        }
        let nfft = self.nfft.unwrap_or(win_length);
        let hop = match self.hop {
            Some(h) => h,
            None => {
                let overlap = self.overlap.unwrap_or(DEFAULT_OVERLAP);
                win_length - (overlap * win_length as f64).floor() as usize
            }
        };
        let params = StftParams {
            nfft,
            win_length,
            hop,
            window: self.window,
            scaling: self.scaling,
        };
        params.validate().map_err(|source| AnalysisError::Dsp {
            file: file.to_path_buf(),
            source,
        })?;
        Ok(params)
    }

    /// The output paths for `input` in `out_dir`, in the order they are written.
    pub fn outputs_for(&self, input: &Path, out_dir: &Path) -> Vec<PathBuf> {
        let stem = stem_of(input);
        self.formats
            .iter()
            .flat_map(|f| f.extensions())
            .map(|ext| out_dir.join(format!("{stem}.{ext}")))
            .collect()
    }
}

/// The output stem of an input (its file name without the extension).
pub fn stem_of(input: &Path) -> String {
    input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "spectrogram".into())
}

/// What was done for one file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileReport {
    /// The input file.
    pub input: PathBuf,
    /// The files written, in order.
    pub outputs: Vec<PathBuf>,
    /// Frequency bins kept.
    pub n_freq: usize,
    /// Frames (1 for a Welch mean).
    pub n_time: usize,
    /// Sample rate of the input, Hz.
    pub sample_rate: u32,
    /// Decoded duration, seconds.
    pub duration_s: f64,
    /// Unit of the dB values.
    pub unit: &'static str,
    /// Wall time spent on this file, seconds.
    pub seconds: f64,
}

impl FileReport {
    /// One human line: input, rate, duration, shape, unit, time, outputs.
    pub fn summary_line(&self) -> String {
        let outs: Vec<String> = self
            .outputs
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        format!(
            "{}: {} Hz, {:.1} s → {} × {} ({}) in {:.2} s: {}",
            self.input.display(),
            self.sample_rate,
            self.duration_s,
            self.n_freq,
            self.n_time,
            self.unit,
            self.seconds,
            outs.join(", ")
        )
    }
}

/// The computed result before writing: dB values frame-major (`db[t * n_freq + f]`).
pub(super) struct Computed {
    pub db: Vec<f32>,
    /// Frequency bins kept.
    pub n_freq: usize,
    /// Frames (1 for a Welch mean).
    pub n_time: usize,
    pub frequency_hz: Vec<f64>,
    pub time_s: Vec<f64>,
    pub n_samples: u64,
    /// The timed segments of a miniSEED input (empty for FLAC/WAV).
    pub segments: Vec<crate::media::Segment>,
}

/// Processes one file end to end: `spec` must have passed [`SpectrogramSpec::check`].
pub fn spectrogram_file(
    input: &Path,
    out_dir: &Path,
    spec: &SpectrogramSpec,
) -> Result<FileReport, AnalysisError> {
    let (report, staged) = spectrogram_file_staged(input, out_dir, spec)?;
    files::commit(staged)?;
    Ok(report)
}

/// [`spectrogram_file`] up to the commit: the outputs are written to their temporaries, for the
/// caller to make durable and visible with [`files::commit`] (a batch does that on another
/// thread while the next file is computed).
pub(super) fn spectrogram_file_staged(
    input: &Path,
    out_dir: &Path,
    spec: &SpectrogramSpec,
) -> Result<(FileReport, Vec<files::Staged>), AnalysisError> {
    let started = Instant::now();
    // SHA-256 comes from the bytes the decoder reads: one pass over the file, not two.
    let mut reader = AudioReader::open_hashed(input)?;
    let info = reader.info().clone();
    let params = spec.params_for(info.sample_rate, input)?;
    let computed = match spec.precision {
        Precision::F64 => compute::<f64>(&mut reader, &params, spec, input),
        Precision::F32 => compute::<f32>(&mut reader, &params, spec, input),
    }?;
    let sha256 = reader.finish_sha256()?;
    let unit = spec.calibration.unit(spec.scaling);
    let source = outputs::Source {
        input,
        sha256: &sha256,
        info: &info,
    };
    let staged = outputs::stage_all(&source, out_dir, &params, spec, &computed, unit)?;
    let report = FileReport {
        input: input.to_path_buf(),
        outputs: staged.iter().map(|s| s.path().to_path_buf()).collect(),
        n_freq: computed.n_freq,
        n_time: computed.n_time,
        sample_rate: info.sample_rate,
        duration_s: computed.n_samples as f64 / f64::from(info.sample_rate),
        unit,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((report, staged))
}

/// Indices `[lo, hi)` of the bins inside `[freq_min, freq_max]`.
fn crop(
    freqs: &[f64],
    spec: &SpectrogramSpec,
    file: &Path,
) -> Result<(usize, usize), AnalysisError> {
    let lo = spec
        .freq_min
        .map_or(0, |f| freqs.partition_point(|&x| x < f));
    let hi = spec
        .freq_max
        .map_or(freqs.len(), |f| freqs.partition_point(|&x| x <= f));
    if lo >= hi {
        return Err(AnalysisError::FileParameter {
            file: file.to_path_buf(),
            reason: format!(
                "no frequency bin lies in [{} Hz, {} Hz] (bins are {} Hz apart up to {} Hz)",
                spec.freq_min.unwrap_or(0.0),
                spec.freq_max.unwrap_or(f64::INFINITY),
                freqs.get(1).copied().unwrap_or(0.0),
                freqs.last().copied().unwrap_or(0.0)
            ),
        });
    }
    Ok((lo, hi))
}

fn too_large(file: &Path, frames: u64, n_freq: usize, params: &StftParams) -> AnalysisError {
    let bytes = frames.saturating_mul(n_freq as u64).saturating_mul(4);
    AnalysisError::TooLarge {
        file: file.to_path_buf(),
        reason: format!(
            "the spectrogram would be {frames} frames × {n_freq} bins = {:.1} GB, above the {} GB \
             limit per file (hop {} of a {}-sample window); use a larger --hop or smaller \
             --overlap, crop with --freq-min/--freq-max, or --average",
            bytes as f64 / 1e9,
            MAX_OUTPUT_BYTES >> 30,
            params.hop,
            params.win_length
        ),
    }
}

fn compute<T: StftFloat>(
    reader: &mut AudioReader,
    params: &StftParams,
    spec: &SpectrogramSpec,
    file: &Path,
) -> Result<Computed, AnalysisError> {
    let fs = f64::from(reader.info().sample_rate);
    let all_freqs = params.frequencies(fs);
    let (lo, hi) = crop(&all_freqs, spec, file)?;
    let n_freq = hi - lo;
    let mut stft = Stft::<T>::new(params, fs).map_err(|source| AnalysisError::Dsp {
        file: file.to_path_buf(),
        source,
    })?;
    if !spec.average && n_freq > MAX_VALUES_PER_SAMPLE * params.hop {
        return Err(AnalysisError::TooLarge {
            file: file.to_path_buf(),
            reason: format!(
                "a hop of {} sample(s) with {n_freq} bins writes {:.0} values per input sample \
                 (limit {MAX_VALUES_PER_SAMPLE}): the output would be hundreds of times the \
                 audio (about {:.1} GB here); use a larger --hop or smaller --overlap",
                params.hop,
                n_freq as f64 / params.hop as f64,
                reader.info().total_frames.unwrap_or(0) as f64 * n_freq as f64 / params.hop as f64
                    * 4e-9
            ),
        });
    }
    let max_values = (MAX_OUTPUT_BYTES / 4) as usize;
    let expected = reader
        .info()
        .total_frames
        .map_or(0, |n| params.frame_count(n));
    if !spec.average && expected.saturating_mul(n_freq as u64) > max_values as u64 {
        return Err(too_large(file, expected, n_freq, params));
    }
    let mut psd: Vec<f32> = Vec::new();
    let mut welch = WelchMean::new(n_freq);
    if !spec.average {
        let want = (expected as usize).saturating_mul(n_freq);
        psd.reserve_exact(want.min((MAX_RESERVE_BYTES / 4) as usize));
    }
    let mut block = Vec::new();
    let mut n_samples = 0u64;
    let mut over_limit = false;
    // A miniSEED file of several traces: frames never span the gap between two (the STFT
    // restarts), and each frame's time is its own trace's start plus its offset in it.
    let segments = reader.segments();
    let timed = segments.len() > 1;
    let (mut segment, mut segment_s) = (0usize, 0.0f64);
    let mut frame_times: Vec<f64> = Vec::new();
    let mut n_frames = 0u64;
    while reader.read_block(&mut block)? {
        if timed && reader.segment_of_last_block() != segment {
            segment = reader.segment_of_last_block();
            segment_s = (segments[segment].start_ns - segments[0].start_ns) as f64 * 1e-9;
            stft.reset();
        }
        if let Some(k) = block.iter().position(|x| !x.is_finite()) {
            return Err(AnalysisError::BadInput {
                file: file.to_path_buf(),
                reason: format!(
                    "sample {} is {} (a float WAV with NaN/Inf samples has no spectrum); \
                     the file is damaged or was written by a failed process",
                    n_samples + k as u64,
                    block[k]
                ),
            });
        }
        n_samples += block.len() as u64;
        stft.push(&block, |k, frame| {
            n_frames += 1;
            if timed && !over_limit {
                frame_times.push(segment_s + params.frame_time(k, fs));
            }
            let kept = &frame[lo..hi];
            if spec.average {
                welch.add(kept);
            } else if psd.len() + kept.len() <= max_values {
                psd.extend_from_slice(kept);
            } else {
                over_limit = true;
            }
        });
        if over_limit {
            return Err(too_large(
                file,
                params.frame_count(n_samples),
                n_freq,
                params,
            ));
        }
    }
    let n_time = n_frames as usize;
    if n_time == 0 {
        return Err(AnalysisError::BadInput {
            file: file.to_path_buf(),
            reason: format!(
                "the file has {n_samples} samples, fewer than one window ({})",
                params.win_length
            ),
        });
    }
    let frequency_hz = all_freqs[lo..hi].to_vec();
    let time_s: Vec<f64> = if timed {
        frame_times
    } else {
        (0..n_time as u64)
            .map(|k| params.frame_time(k, fs))
            .collect()
    };
    let mut db = if spec.average { welch.mean() } else { psd };
    Level::new(&spec.calibration, &frequency_hz).to_db(&mut db);
    Ok(Computed {
        n_time: if spec.average { 1 } else { n_time },
        db,
        n_freq,
        frequency_hz,
        time_s,
        n_samples,
        segments,
    })
}
