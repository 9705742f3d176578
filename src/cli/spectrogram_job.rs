//! One input file of `onc-hydro spectrogram`: hash it, stream-decode it into the STFT, keep the
//! (cropped) PSD frames, turn them into dB, and write NPZ + JSON sidecar, MAT and/or PNG, each
//! through a temporary file renamed into place. Every NPZ/MAT output carries its provenance.
//!
//! Memory: one output matrix (f32) plus the decoder's block and the STFT's frame buffers; the
//! audio itself is never held whole.
//!
//! Must not know: flag parsing and the worker pool (`spectrogram.rs`).

// TODO(issue 15 item 6): document the public items below, then delete this allow.
#![allow(missing_docs)]

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::ValueEnum;
use ndarray::{ArrayView1, ArrayView2};
use ndarray_npy::NpzWriter;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::dsp::{Calibration, Level, Scaling, Stft, StftFloat, StftParams, WelchMean, Window};
use crate::media::{
    self, AudioInfo, AudioReader, MatFile, MatMatrix, MatStruct, MatValue, MatWriteOptions,
    PngOptions, SpectrogramImage,
};

/// An output file type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Npz,
    Mat,
    Png,
}

/// The float type of the FFT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Precision {
    F64,
    F32,
}

/// Everything about a run that is the same for every file (sample rates may differ).
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub win_dur: Option<f64>,
    pub nfft: Option<usize>,
    pub win_length: Option<usize>,
    pub overlap: Option<f64>,
    pub hop: Option<usize>,
    pub window: Window,
    pub scaling: Scaling,
    pub freq_min: Option<f64>,
    pub freq_max: Option<f64>,
    pub average: bool,
    pub formats: Vec<OutputFormat>,
    pub calibration: Calibration,
    pub clim: Option<(f32, f32)>,
    pub precision: Precision,
}

impl JobSpec {
    /// STFT parameters for a file at `fs` Hz: window from --win-length, else --nfft, else
    /// --win-dur (default 1 s); nfft defaults to the window; hop from --hop or --overlap
    /// (default 0.5) as `win − ⌊overlap·win⌋`.
    pub fn params_for(&self, fs: u32) -> anyhow::Result<StftParams> {
        let from_dur = |d: f64| (d * f64::from(fs)).round() as usize;
        let win_length = match (self.win_length, self.win_dur, self.nfft) {
            (Some(w), _, _) => w,
            (None, Some(d), _) => from_dur(d),
            (None, None, Some(n)) => n,
            (None, None, None) => from_dur(1.0),
        };
        if win_length == 0 {
            bail!("--win-dur gives a window of 0 samples at {fs} Hz");
        }
        let nfft = self.nfft.unwrap_or(win_length);
        let hop = match self.hop {
            Some(h) => h,
            None => {
                let overlap = self.overlap.unwrap_or(0.5);
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
        params.validate()?;
        Ok(params)
    }
}

/// What was done for one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub input: PathBuf,
    pub outputs: Vec<PathBuf>,
    pub n_freq: usize,
    pub n_time: usize,
    pub sample_rate: u32,
    pub duration_s: f64,
    pub unit: &'static str,
    pub seconds: f64,
}

impl FileReport {
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

    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "input": self.input.display().to_string(),
            "outputs": self.outputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "n_freq": self.n_freq,
            "n_time": self.n_time,
            "sample_rate": self.sample_rate,
            "duration_s": self.duration_s,
            "unit": self.unit,
            "seconds": self.seconds,
        })
    }
}

/// The computed result before writing: dB values frame-major (`db[t * n_freq + f]`).
struct Computed {
    db: Vec<f32>,
    n_freq: usize,
    n_time: usize,
    frequency_hz: Vec<f64>,
    time_s: Vec<f64>,
    n_samples: u64,
}

/// Processes one file end to end.
pub fn process(input: &Path, out_dir: &Path, spec: &JobSpec) -> anyhow::Result<FileReport> {
    let started = Instant::now();
    let sha256 = sha256_file(input)?;
    let mut reader = AudioReader::open(input)?;
    let info = reader.info().clone();
    let params = spec
        .params_for(info.sample_rate)
        .with_context(|| format!("{}: STFT parameters", input.display()))?;
    let computed = match spec.precision {
        Precision::F64 => compute::<f64>(&mut reader, &params, spec),
        Precision::F32 => compute::<f32>(&mut reader, &params, spec),
    }
    .with_context(|| input.display().to_string())?;
    let unit = spec.calibration.unit(spec.scaling);
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "spectrogram".into());
    let provenance = provenance(input, &sha256, &info, &params, spec, &computed, unit);
    let mut outputs = Vec::new();
    for format in &spec.formats {
        match format {
            OutputFormat::Npz => {
                let path = out_dir.join(format!("{stem}.npz"));
                write_atomic(&path, |w| write_npz(w, &computed, spec.average))?;
                outputs.push(path);
                let sidecar = out_dir.join(format!("{stem}.json"));
                let text = serde_json::to_string_pretty(&provenance)?;
                write_atomic(&sidecar, |w| Ok(w.write_all(text.as_bytes())?))?;
                outputs.push(sidecar);
            }
            OutputFormat::Mat => {
                let path = out_dir.join(format!("{stem}.mat"));
                write_mat(&path, &computed, &provenance)?;
                outputs.push(path);
            }
            OutputFormat::Png => {
                let path = out_dir.join(format!("{stem}.png"));
                let title = input
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let img = SpectrogramImage {
                    db: &computed.db,
                    n_freq: computed.n_freq,
                    n_time: computed.n_time,
                    frequency_hz: &computed.frequency_hz,
                    time_s: &computed.time_s,
                    unit,
                    title: &title,
                };
                let opts = PngOptions {
                    clim: spec.clim,
                    ..PngOptions::default()
                };
                let rgb = media::render_spectrogram(&img, &opts)
                    .with_context(|| format!("drawing {}", path.display()))?;
                let bytes = media::encode_png(&rgb)?;
                write_atomic(&path, |w| Ok(w.write_all(&bytes)?))?;
                outputs.push(path);
            }
        }
    }
    Ok(FileReport {
        input: input.to_path_buf(),
        outputs,
        n_freq: computed.n_freq,
        n_time: computed.n_time,
        sample_rate: info.sample_rate,
        duration_s: computed.n_samples as f64 / f64::from(info.sample_rate),
        unit,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Indices `[lo, hi)` of the bins inside `[freq_min, freq_max]`.
fn crop(freqs: &[f64], spec: &JobSpec) -> anyhow::Result<(usize, usize)> {
    let lo = spec
        .freq_min
        .map_or(0, |f| freqs.partition_point(|&x| x < f));
    let hi = spec
        .freq_max
        .map_or(freqs.len(), |f| freqs.partition_point(|&x| x <= f));
    if lo >= hi {
        bail!(
            "no frequency bin lies in [{} Hz, {} Hz] (bins are {} Hz apart up to {} Hz)",
            spec.freq_min.unwrap_or(0.0),
            spec.freq_max.unwrap_or(f64::INFINITY),
            freqs.get(1).copied().unwrap_or(0.0),
            freqs.last().copied().unwrap_or(0.0)
        );
    }
    Ok((lo, hi))
}

fn compute<T: StftFloat>(
    reader: &mut AudioReader,
    params: &StftParams,
    spec: &JobSpec,
) -> anyhow::Result<Computed> {
    let fs = f64::from(reader.info().sample_rate);
    let all_freqs = params.frequencies(fs);
    let (lo, hi) = crop(&all_freqs, spec)?;
    let n_freq = hi - lo;
    let mut stft = Stft::<T>::new(params, fs)?;
    let expected = reader
        .info()
        .total_frames
        .map_or(0, |n| params.frame_count(n) as usize);
    let mut psd: Vec<f32> = Vec::new();
    let mut welch = WelchMean::new(n_freq);
    if !spec.average {
        psd.reserve_exact(expected.saturating_mul(n_freq));
    }
    let mut block = Vec::new();
    let mut n_samples = 0u64;
    while reader.read_block(&mut block)? {
        n_samples += block.len() as u64;
        stft.push(&block, |_, frame| {
            let kept = &frame[lo..hi];
            if spec.average {
                welch.add(kept);
            } else {
                psd.extend_from_slice(kept);
            }
        });
    }
    let n_time = stft.frames() as usize;
    if n_time == 0 {
        bail!(
            "the file has {n_samples} samples, fewer than one window ({})",
            params.win_length
        );
    }
    let frequency_hz = all_freqs[lo..hi].to_vec();
    let time_s: Vec<f64> = (0..n_time as u64)
        .map(|k| params.frame_time(k, fs))
        .collect();
    let mut db = if spec.average { welch.mean() } else { psd };
    Level::new(&spec.calibration, &frequency_hz).to_db(&mut db);
    Ok(Computed {
        n_time: if spec.average { 1 } else { n_time },
        db,
        n_freq,
        frequency_hz,
        time_s,
        n_samples,
    })
}

/// NPZ (uncompressed, like `numpy.savez`): `psd_db` frequency × time (written in Fortran order
/// straight from the frame-major buffer, so no transpose copy), `frequency_hz`, `time_s`.
fn write_npz(w: &mut BufWriter<File>, c: &Computed, average: bool) -> anyhow::Result<()> {
    let mut npz = NpzWriter::new(w);
    if average {
        npz.add_array("psd_db", &ArrayView1::from(&c.db[..]))?;
    } else {
        let m = ArrayView2::from_shape((c.n_time, c.n_freq), &c.db[..])?.reversed_axes();
        npz.add_array("psd_db", &m)?;
    }
    npz.add_array("frequency_hz", &ArrayView1::from(&c.frequency_hz[..]))?;
    npz.add_array("time_s", &ArrayView1::from(&c.time_s[..]))?;
    npz.finish()?;
    Ok(())
}

/// Writes through `fill` into a temporary file beside `path`, then renames it into place.
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    let (file, tmp_path) = tmp.into_parts();
    let mut w = BufWriter::with_capacity(1 << 20, file);
    fill(&mut w).with_context(|| format!("writing {}", path.display()))?;
    let file = w
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("writing {}", path.display()))?;
    drop(file);
    tmp_path
        .persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut f = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The provenance record stored in the JSON sidecar and the MAT `metadata` struct.
fn provenance(
    input: &Path,
    sha256: &str,
    info: &AudioInfo,
    params: &StftParams,
    spec: &JobSpec,
    c: &Computed,
    unit: &str,
) -> serde_json::Value {
    let calibration = match &spec.calibration {
        Calibration::FullScale => json!({"kind": "none"}),
        Calibration::Flat {
            sensitivity_db,
            full_scale_volts,
        } => json!({"kind": "flat", "sensitivity_db_re_1V_per_uPa": sensitivity_db,
                    "full_scale_volts": full_scale_volts}),
        Calibration::Curve {
            points,
            full_scale_volts,
        } => {
            json!({"kind": "curve", "frequency_hz": points.iter().map(|p| p.0).collect::<Vec<_>>(),
                    "sensitivity_db_re_1V_per_uPa": points.iter().map(|p| p.1).collect::<Vec<_>>(),
                    "full_scale_volts": full_scale_volts})
        }
    };
    json!({
        "tool": "onc-hydro",
        "tool_version": env!("CARGO_PKG_VERSION"),
        "created": format!("{:.3}", jiff::Timestamp::now()),
        "source": {
            "file": input.display().to_string(),
            "sha256": sha256,
            "format": info.format.name(),
            "sample_rate": info.sample_rate,
            "bits_per_sample": info.bits_per_sample,
            "channels": info.channels,
            "n_samples": c.n_samples,
        },
        "parameters": {
            "window": params.window.name(),
            "nfft": params.nfft,
            "win_length": params.win_length,
            "hop": params.hop,
            "noverlap": params.win_length - params.hop,
            "scaling": match params.scaling { Scaling::Density => "density", Scaling::Spectrum => "spectrum" },
            "mode": "psd",
            "detrend": false,
            "onesided": true,
            "average": if spec.average { "welch mean" } else { "none" },
            "freq_min_hz": spec.freq_min,
            "freq_max_hz": spec.freq_max,
            "precision": match spec.precision { Precision::F64 => "f64", Precision::F32 => "f32" },
            "db_floor_linear": f64::from(crate::dsp::DB_FLOOR_LINEAR),
        },
        "calibration": calibration,
        "calibration_description": spec.calibration.describe(),
        "unit": unit,
        "layout": {
            "psd_db": if spec.average { "frequency" } else { "frequency × time" },
            "n_freq": c.n_freq,
            "n_time": c.time_s.len(),
            "time_s": "frame centres in seconds from the first sample",
        },
    })
}

/// MAT v5 (uncompressed: zlib gains little on dB values at several times the cost):
/// `psd_db` (frequency × time doubles), `frequency_hz` (column), `time_s` (row) and a
/// `metadata` struct holding the provenance record.
fn write_mat(path: &Path, c: &Computed, provenance: &serde_json::Value) -> anyhow::Result<()> {
    // Frame-major data is MATLAB's column-major order for a frequency × time matrix.
    let psd: Vec<f64> = c.db.iter().map(|&v| f64::from(v)).collect();
    let vars = MatFile::new()
        .with("psd_db", MatMatrix::new(c.n_freq, c.n_time, psd)?)
        .with("frequency_hz", MatMatrix::column(c.frequency_hz.clone()))
        .with("time_s", MatMatrix::row(c.time_s.clone()))
        .with("metadata", json_to_mat(provenance));
    media::write_mat_path(path, &vars, MatWriteOptions { compress: false })?;
    Ok(())
}

/// JSON → MATLAB: objects become structs, numbers scalars, numeric arrays row vectors, null
/// the string `null`, anything else its JSON text.
fn json_to_mat(v: &serde_json::Value) -> MatValue {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut st = MatStruct::new();
            for (k, v) in map {
                st.insert(k, json_to_mat(v));
            }
            MatValue::Struct(st)
        }
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN).into(),
        Value::Bool(b) => f64::from(u8::from(*b)).into(),
        Value::String(s) => s.as_str().into(),
        Value::Null => "null".into(),
        Value::Array(items) => match items.iter().map(|x| x.as_f64()).collect::<Option<Vec<_>>>() {
            Some(nums) => MatMatrix::row(nums).into(),
            None => v.to_string().into(),
        },
    }
}
