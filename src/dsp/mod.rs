//! Pure numerics on slices: windows, STFT, PSD scaling, dB, calibration.
//!
//! Must not know: files, network.
//!
//! INTERFACE CONTRACT (used by the simulator's HSD products and by `hydro`; the types and the
//! `spectrogram` signature below are agreed; internals are free): `spectrogram(samples, fs,
//! params)` equals `scipy.signal.spectrogram(x, fs, window, nperseg=win_length,
//! noverlap=win_length-hop, nfft, detrend=False, scaling, mode='psd')`: one-sided, DC and
//! Nyquist not doubled, times at frame centres.

/// Window functions (periodic, as scipy's `get_window` defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window {
    Hann,
    Hamming,
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
    pub window: Window,
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

/// Errors from invalid parameters (never from data).
#[derive(Debug, thiserror::Error)]
pub enum DspError {
    #[error("invalid STFT parameter {field}: {reason}")]
    InvalidParam { field: &'static str, reason: String },
}

/// The spectrogram of `samples` at sample rate `fs` (see the module contract).
pub fn spectrogram(samples: &[f32], fs: f64, params: &StftParams) -> Result<Spectrogram, DspError> {
    let _ = (samples, fs);
    Err(DspError::InvalidParam {
        field: "nfft",
        reason: format!("not implemented yet ({})", params.nfft),
    })
}
