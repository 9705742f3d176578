//! Pure numerics on slices: windows, STFT, PSD scaling, dB, calibration.
//!
//! Must not know: files, network.
//!
//! INTERFACE CONTRACT (used by the simulator's HSD products and by `hydro`; the types and the
//! `spectrogram` signature below are agreed; internals are free): `spectrogram(samples, fs,
//! params)` equals `scipy.signal.spectrogram(x, fs, window, nperseg=win_length,
//! noverlap=win_length-hop, nfft, detrend=False, scaling, mode='psd')`: one-sided, DC and
//! Nyquist not doubled, times at frame centres.
//!
//! Files: `window` (periodic windows), `stft` (the streaming STFT and Welch mean), `level`
//! (calibration and dB), `bands` (hybrid millidecade and decidecade bands), `percentiles`
//! (percentiles and spectral probability density), `error`. Conventions: samples are full-scale floats (±1.0); PSDs are
//! linear until [`level`] turns them into dB; the float64 STFT reproduces scipy's float64
//! numbers, the float32 one is for speed.

mod bands;
mod error;
mod level;
mod percentiles;
#[cfg(test)]
mod reference_tests;
mod stft;
mod window;

pub use bands::{decidecade, hybrid_millidecade, BandMap, Bands};
pub use error::DspError;
pub use level::{Calibration, Level, DB_FLOOR_LINEAR};
pub use percentiles::{percentiles, spectral_probability_density};
pub use stft::{Stft, StftFloat, WelchMean};

/// Window functions (periodic, as scipy's `get_window` defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window {
    /// Hann (scipy `"hann"`).
    Hann,
    /// Hamming (scipy `"hamming"`).
    Hamming,
    /// Blackman (scipy `"blackman"`).
    Blackman,
    /// Kaiser with shape parameter beta.
    Kaiser(f64),
}

/// PSD scaling, as scipy's `scaling=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scaling {
    /// V²/Hz: `2 / (fs · Σw²)` (DC and Nyquist not doubled).
    Density,
    /// V²: `2 / (Σw)²` (DC and Nyquist not doubled).
    Spectrum,
}

/// Short-time Fourier transform parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct StftParams {
    /// FFT length (≥ win_length; zero-padded beyond the window).
    pub nfft: usize,
    /// Window length in samples (scipy's nperseg).
    pub win_length: usize,
    /// Hop between frame starts in samples (nperseg − noverlap).
    pub hop: usize,
    /// Window function applied to each frame.
    pub window: Window,
    /// PSD scaling: per hertz (`Density`) or total power (`Spectrum`).
    pub scaling: Scaling,
}

/// A power spectral density matrix with its axes.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrogram {
    /// Number of frequency bins (nfft/2 + 1).
    pub n_freq: usize,
    /// Number of frames.
    pub n_time: usize,
    /// Linear power, frame-major: `psd[t * n_freq + f]`.
    pub psd: Vec<f32>,
    /// Bin centre frequencies in Hz (length n_freq).
    pub frequency_hz: Vec<f64>,
    /// Frame centre times in seconds from the first sample (length n_time).
    pub time_s: Vec<f64>,
}

/// The spectrogram of `samples` at sample rate `fs` (see the module contract), computed in f64.
pub fn spectrogram(samples: &[f32], fs: f64, params: &StftParams) -> Result<Spectrogram, DspError> {
    let mut stft = Stft::<f64>::new(params, fs)?;
    let n_time = params.frame_count(samples.len() as u64);
    if n_time == 0 {
        return Err(DspError::InvalidParam {
            field: "win_length",
            reason: format!(
                "the signal has {} samples, fewer than one window ({})",
                samples.len(),
                params.win_length
            ),
        });
    }
    let n_time = usize::try_from(n_time).unwrap_or(usize::MAX);
    let n_freq = params.n_freq();
    let mut psd = Vec::with_capacity(n_time.saturating_mul(n_freq));
    stft.push(samples, |_, frame| psd.extend_from_slice(frame));
    Ok(Spectrogram {
        n_freq,
        n_time,
        psd,
        frequency_hz: params.frequencies(fs),
        time_s: (0..n_time as u64)
            .map(|k| params.frame_time(k, fs))
            .collect(),
    })
}
