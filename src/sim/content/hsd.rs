//! HSD (hydrophone spectral data) products: the spectrogram of the audio `synth.rs` renders
//! for a recording, at ONC's three resolutions, written as a MATLAB v5 file holding a
//! `SpectData` struct (`PSD`, `frequency`, `time`, `processingComment`) and a `Meta` struct.
//! The values come from the sources' spectral model (`spectra.rs`: the same events, levels and
//! frequencies, what the STFT of that audio gives, with its random texture), not from rendering
//! and transforming the audio, so a five-minute 64 kHz file costs milliseconds, not seconds.
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
//! Files are MATLAB v5 with variables stored plain, not zlib-compressed as MATLAB's default
//! `save` would (see `hsd_mat`; both read the same in scipy and MATLAB).
//!
//! Must not know: the catalog, the HTTP server, file names.

use super::spectra::{model_columns, Frames, Group};
use super::synth::sample_span;
use super::{ContentError, HsdSpec, PlotOptions};
use crate::media::{
    encode_mat, encode_pdf, encode_png, render_spectrogram, MatFile, MatMatrix, MatStruct,
    MatWriteOptions, PngOptions, SpectrogramImage,
};
use image::RgbImage;

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

/// Groups STFT frames (centre times `time_s`) into `n_cols` columns of width `width_s` by
/// centre time; a column that catches no frame takes the frame nearest its centre. Returns the
/// groups and the column centre times.
fn rebin(time_s: &[f64], n_cols: usize, width_s: f64) -> (Vec<Group>, Vec<f64>) {
    let mut groups: Vec<Group> = vec![Vec::new(); n_cols];
    for (j, &t) in time_s.iter().enumerate() {
        let c = ((t / width_s).floor().max(0.0) as usize).min(n_cols - 1);
        groups[c].push(j);
    }
    let mut centres = Vec::with_capacity(n_cols);
    for (c, g) in groups.iter_mut().enumerate() {
        let centre = (c as f64 + 0.5) * width_s;
        centres.push(centre);
        if g.is_empty() {
            let j = time_s
                .iter()
                .enumerate()
                .min_by(|a, b| (a.1 - centre).abs().total_cmp(&(b.1 - centre).abs()))
                .map_or(0, |(j, _)| j);
            g.push(j);
        }
    }
    (groups, centres)
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
    let n_frames = (len - nfft) / hop + 1;
    let frame_t: Vec<f64> = (0..n_frames)
        .map(|j| (j as f64 * hop as f64 + nfft as f64 / 2.0) / fsf)
        .collect();
    let duration = len as f64 / fsf;
    let (groups, time_s, col_desc) = match spec.downsample {
        0 => (
            (0..n_frames).map(|j| vec![j]).collect(),
            frame_t,
            format!("{n_frames} columns every {:.3} s", hop as f64 / fsf),
        ),
        1 => {
            let n = (duration / 60.0).ceil().max(1.0) as usize;
            let (g, t) = rebin(&frame_t, n, 60.0);
            (g, t, format!("{n} one-minute power averages"))
        }
        _ => {
            let n = n_frames.min(300);
            let w = duration / n as f64;
            let (g, t) = rebin(&frame_t, n, w);
            (g, t, format!("{n} power-averaged columns of {w:.3} s"))
        }
    };
    let frames = Frames {
        fs,
        n0,
        nfft,
        hop,
        n_frames,
    };
    let power = model_columns(rec.seed, &frames, &groups);
    let n_freq = nfft / 2 + 1;
    let frequency_hz: Vec<f64> = (0..n_freq).map(|k| k as f64 * fsf / nfft as f64).collect();
    let to_db = |p: f64| 10.0 * p.max(1e-30).log10();
    let db: Vec<f64> = power.into_iter().map(to_db).collect();
    let comment = format!(
        "{label}: {} frequency bins of {:.4} Hz (Hann, nfft {nfft}, hop {hop} samples), {col_desc}; \
         PSD in dB re 1 count^2/Hz (density, not power per bin); onc-hydro simulator (spectral model of its synthetic audio)",
        n_freq,
        fsf / nfft as f64,
    );
    Ok(HsdPsd {
        frequency_hz,
        n_freq,
        time_s,
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
    // Written uncompressed: zlib saves only ~9 % on noise-like dB doubles (plot resolution at
    // 64 kHz: 2.23 MB vs 2.46 MB), not worth deflating the demo's 357 MB on the simulator's
    // CPU; full resolution likewise (157 MB plain in ~5 s vs 144 MB in ~15 s, debug).
    let opts = MatWriteOptions { compress: false };
    encode_mat(&file, opts).map_err(|e| err(spec, e.to_string()))
}

/// The HSD plot for `spec`: the plot-resolution spectrogram (1 s columns, 1025 bins) of the
/// same audio as the MAT, up to `plot.f_max`, drawn by `media::png` with axes, labels and a
/// colour bar (colour range `plot.clim`, else the data's 1st–99.9th percentile).
fn hsd_plot(spec: &HsdSpec, plot: &PlotOptions) -> Result<RgbImage, ContentError> {
    let plot_spec = HsdSpec {
        downsample: 2,
        ..spec.clone()
    };
    let psd = hsd_psd(&plot_spec)?;
    // Bins up to the upper frequency limit (at least two, so the axis has a span).
    let keep = match plot.f_max {
        Some(f) => psd
            .frequency_hz
            .iter()
            .take_while(|&&h| h <= f)
            .count()
            .max(2),
        None => psd.n_freq,
    };
    let db: Vec<f32> = psd
        .db
        .chunks(psd.n_freq)
        .flat_map(|col| col[..keep].iter().map(|&v| v as f32))
        .collect();
    let title = format!(
        "{} {} ({} s)",
        spec.recording.device_code,
        spec.recording.start,
        psd.duration.round()
    );
    let img = SpectrogramImage {
        db: &db,
        n_freq: keep,
        n_time: psd.time_s.len(),
        frequency_hz: &psd.frequency_hz[..keep],
        time_s: &psd.time_s,
        unit: "dB re 1 count²/Hz",
        title: &title,
    };
    let opts = PngOptions {
        clim: plot.clim,
        palette: plot.palette,
        ..PngOptions::default()
    };
    render_spectrogram(&img, &opts).map_err(|e| err(spec, e.to_string()))
}

/// The HSD PNG plot for `spec` (see `hsd_plot`).
pub(crate) fn hsd_png(spec: &HsdSpec, plot: &PlotOptions) -> Result<Vec<u8>, ContentError> {
    encode_png(&hsd_plot(spec, plot)?).map_err(|e| err(spec, e.to_string()))
}

/// The HSD PDF plot for `spec`: the PNG's image on one page (see `media::encode_pdf`).
pub(crate) fn hsd_pdf(spec: &HsdSpec, plot: &PlotOptions) -> Result<Vec<u8>, ContentError> {
    let title = format!(
        "{} HSD {}",
        spec.recording.device_code, spec.recording.start
    );
    encode_pdf(&hsd_plot(spec, plot)?, &title).map_err(|e| err(spec, e.to_string()))
}
