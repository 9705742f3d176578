//! HSD (hydrophone spectral data) products: the spectrogram of exactly the audio `synth.rs`
//! renders for a recording, at ONC's three resolutions, written as a MATLAB v5 file holding a
//! `SpectData` struct (`PSD`, `frequency`, `time`, `processingComment`) and a `Meta` struct.
//!
//! Units: `PSD` is 10·log10 of the one-sided power spectral *density* of the 24-bit sample
//! values, i.e. **dB re 1 count²/Hz** (Hann window, scipy `scaling='density'`). ONC's own
//! audio-derived PSD is power per bin (not divided by the bin width); to compare, add
//! 10·log10(Δf). Rows are frequencies (`frequency`, Hz, column vector), columns are times
//! (`time`, MATLAB datenums = unix_s/86400 + 719529, one per column, at the column centre).
//!
//! Resolutions (`dpo_spectralDataDownsample`):
//! * 0 full resolution: nfft = window = next power of two ≥ fs (≤ 1 Hz bins), hop = fs/2
//!   (0.5 s columns).
//! * 1 one-minute averages: the same STFT, frames power-averaged per minute (5 columns per
//!   5-minute file).
//! * 2 plot resolution: nfft = 2048 (1025 bins), hop 1024, frames power-averaged into
//!   min(300, frames) equal time columns (1 s columns for a 5-minute file).
//!
//! Files are MATLAB v5 with each variable zlib-compressed (as MATLAB's default `save`), except
//! full resolution, which is stored plain (see `hsd_mat`).
//!
//! Must not know: the catalog, the HTTP server, file names.

use super::synth::{quantise, render_span, sample_span};
use super::{ContentError, HsdSpec};
use crate::dsp::{spectrogram, Scaling, Spectrogram, StftParams, Window};
use crate::media::{
    encode_mat, encode_png, render_spectrogram, MatFile, MatMatrix, MatStruct, MatWriteOptions,
    PngOptions, SpectrogramImage,
};

/// MATLAB datenum of the Unix epoch.
const DATENUM_UNIX_EPOCH: f64 = 719_529.0;

fn err(spec: &HsdSpec, reason: String) -> ContentError {
    ContentError::Render {
        what: format!(
            "{} HSD (downsample {})",
            spec.recording.device_code, spec.downsample
        ),
        reason,
    }
}

/// The PSD columns of one product: linear power, column-major (`n_freq` per column), plus the
/// column centre times in seconds from the recording start.
struct Columns {
    power: Vec<f64>,
    time_s: Vec<f64>,
}

/// Power-averages frames into columns of width `width_s` (frames by centre time); a column
/// that catches no frame takes the frame nearest its centre.
fn rebin(sg: &Spectrogram, n_cols: usize, width_s: f64) -> Columns {
    let nf = sg.n_freq;
    let mut power = vec![0.0f64; nf * n_cols];
    let mut count = vec![0usize; n_cols];
    for (j, &t) in sg.time_s.iter().enumerate() {
        let c = ((t / width_s).floor().max(0.0) as usize).min(n_cols - 1);
        count[c] += 1;
        let col = &mut power[c * nf..(c + 1) * nf];
        for (p, &v) in col.iter_mut().zip(&sg.psd[j * nf..(j + 1) * nf]) {
            *p += f64::from(v);
        }
    }
    let mut time_s = Vec::with_capacity(n_cols);
    for c in 0..n_cols {
        let centre = (c as f64 + 0.5) * width_s;
        time_s.push(centre);
        let col = &mut power[c * nf..(c + 1) * nf];
        if count[c] > 0 {
            let k = count[c] as f64;
            col.iter_mut().for_each(|p| *p /= k);
        } else {
            let j = sg
                .time_s
                .iter()
                .enumerate()
                .min_by(|a, b| (a.1 - centre).abs().total_cmp(&(b.1 - centre).abs()))
                .map_or(0, |(j, _)| j);
            for (p, &v) in col.iter_mut().zip(&sg.psd[j * nf..(j + 1) * nf]) {
                *p = f64::from(v);
            }
        }
    }
    Columns { power, time_s }
}

/// The spectrogram of one HSD product: dB values column-major (`n_freq` per column).
struct HsdPsd {
    frequency_hz: Vec<f64>,
    n_freq: usize,
    /// Column centres in seconds from the recording start.
    time_s: Vec<f64>,
    db: Vec<f64>,
    nfft: usize,
    hop: usize,
    duration: f64,
    comment: String,
}

/// Computes the PSD columns of `spec` at its resolution.
fn hsd_psd(spec: &HsdSpec) -> Result<HsdPsd, ContentError> {
    let rec = &spec.recording;
    let (n0, len) = sample_span(rec)?;
    let fs = rec.sample_rate;
    let fsf = f64::from(fs);
    let audio: Vec<f32> = quantise(&render_span(rec.seed, fs, n0, len))
        .into_iter()
        .map(|v| v as f32)
        .collect();
    let (nfft, hop, label) = match spec.downsample {
        0 | 1 => (
            (fs as usize).next_power_of_two(),
            (fs as usize / 2).max(1),
            if spec.downsample == 0 {
                "full resolution"
            } else {
                "one-minute averages"
            },
        ),
        2 => (2048, 1024, "plot resolution"),
        d => {
            return Err(err(
                spec,
                format!("dpo_spectralDataDownsample {d} (must be 0, 1 or 2)"),
            ));
        }
    };
    if len < nfft {
        return Err(err(
            spec,
            format!("{len} samples is shorter than one {nfft}-point FFT window"),
        ));
    }
    let params = StftParams {
        nfft,
        win_length: nfft,
        hop,
        window: Window::Hann,
        scaling: Scaling::Density,
    };
    let sg = spectrogram(&audio, fsf, &params).map_err(|e| err(spec, e.to_string()))?;
    if sg.n_time == 0 {
        return Err(err(spec, "no complete STFT frame".into()));
    }
    let duration = len as f64 / fsf;
    let (cols, col_desc) = match spec.downsample {
        0 => (
            Columns {
                power: Vec::new(), // taken straight from `sg.psd` below (saves a copy)
                time_s: sg.time_s.clone(),
            },
            format!("{} columns every {:.3} s", sg.n_time, hop as f64 / fsf),
        ),
        1 => {
            let n = (duration / 60.0).ceil().max(1.0) as usize;
            (
                rebin(&sg, n, 60.0),
                format!("{n} one-minute power averages"),
            )
        }
        _ => {
            let n = sg.n_time.min(300);
            let w = duration / n as f64;
            (
                rebin(&sg, n, w),
                format!("{n} power-averaged columns of {w:.3} s"),
            )
        }
    };
    let to_db = |p: f64| 10.0 * p.max(1e-30).log10();
    let db: Vec<f64> = if spec.downsample == 0 {
        sg.psd.iter().map(|&p| to_db(f64::from(p))).collect()
    } else {
        cols.power.iter().map(|&p| to_db(p)).collect()
    };
    let comment = format!(
        "{label}: {} frequency bins of {:.4} Hz (Hann, nfft {nfft}, hop {hop} samples), {col_desc}; \
         PSD in dB re 1 count^2/Hz (density, not power per bin); onc-hydro simulator",
        sg.n_freq,
        fsf / nfft as f64,
    );
    Ok(HsdPsd {
        frequency_hz: sg.frequency_hz.clone(),
        n_freq: sg.n_freq,
        time_s: cols.time_s,
        db,
        nfft,
        hop,
        duration,
        comment,
    })
}

/// The HSD MAT file for `spec` (see the module doc for layout and units).
pub(crate) fn hsd_mat(spec: &HsdSpec) -> Result<Vec<u8>, ContentError> {
    let rec = &spec.recording;
    let fsf = f64::from(rec.sample_rate);
    let HsdPsd {
        frequency_hz,
        n_freq,
        time_s,
        db,
        nfft,
        hop,
        duration,
        comment,
    } = hsd_psd(spec)?;
    let n_cols = time_s.len();
    let start_s = rec.start.as_nanosecond() as f64 / 1e9;
    let datenums: Vec<f64> = time_s
        .iter()
        .map(|t| (start_s + t) / 86_400.0 + DATENUM_UNIX_EPOCH)
        .collect();
    let psd = MatMatrix::new(n_freq, n_cols, db).map_err(|e| err(spec, e.to_string()))?;
    let end = rec.start + jiff::SignedDuration::from_secs_f64(duration);
    let file = MatFile::new()
        .with(
            "SpectData",
            MatStruct::new()
                .with("PSD", psd)
                .with("frequency", MatMatrix::column(frequency_hz))
                .with("time", MatMatrix::row(datenums))
                .with("processingComment", comment)
                .with("psdUnits", "dB re 1 count^2/Hz"),
        )
        .with(
            "Meta",
            MatStruct::new()
                .with("deviceCode", rec.device_code.as_str())
                .with("sampleRate", fsf)
                .with("diversionMode", spec.diversion_mode.as_str())
                .with("spectralDataDownsample", f64::from(spec.downsample))
                .with("dataStart", format!("{:.3}", rec.start))
                .with("dataEnd", format!("{end:.3}"))
                .with("nfft", nfft as f64)
                .with("hop", hop as f64)
                .with("window", "hann"),
        );
    // Full resolution is written uncompressed: zlib saves only ~8 % on noise-like dB doubles
    // but triples the time (64 kHz, 300 s: 157 MB plain in ~5 s vs 144 MB in ~15 s, debug).
    let opts = MatWriteOptions {
        compress: spec.downsample != 0,
    };
    encode_mat(&file, opts).map_err(|e| err(spec, e.to_string()))
}

/// The HSD PNG plot for `spec`: the plot-resolution spectrogram (1 s columns, 1025 bins) of
/// the same audio as the MAT, drawn by `media::png` with axes, labels and a colour bar.
pub(crate) fn hsd_png(spec: &HsdSpec) -> Result<Vec<u8>, ContentError> {
    let plot = HsdSpec {
        downsample: 2,
        ..spec.clone()
    };
    let psd = hsd_psd(&plot)?;
    let db: Vec<f32> = psd.db.iter().map(|&v| v as f32).collect();
    let title = format!(
        "{} {} ({} s)",
        spec.recording.device_code,
        spec.recording.start,
        psd.duration.round()
    );
    let img = SpectrogramImage {
        db: &db,
        n_freq: psd.n_freq,
        n_time: psd.time_s.len(),
        frequency_hz: &psd.frequency_hz,
        time_s: &psd.time_s,
        unit: "dB re 1 count²/Hz",
        title: &title,
    };
    let rgb =
        render_spectrogram(&img, &PngOptions::default()).map_err(|e| err(spec, e.to_string()))?;
    encode_png(&rgb).map_err(|e| err(spec, e.to_string()))
}
