//! The streaming short-time Fourier transform: samples are pushed in blocks of any size, each
//! complete frame is windowed, transformed with one reused realfft plan and scratch buffer, and
//! handed to the caller as a scaled one-sided PSD (scipy's `mode='psd'`, `detrend=False`).
//!
//! Memory is one frame-sized buffer plus at most about five windows of pending samples, whatever
//! the length of the stream. Generic over the FFT float type: `f64` reproduces scipy's float64
//! numbers, `f32` is faster.
//!
//! Must not know: files, decoding, dB, output formats.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{FftNum, RealFftPlanner, RealToComplex};

use super::{DspError, Scaling, StftParams};

/// Largest accepted FFT length (2^24 points); far beyond any useful spectrogram.
pub const MAX_NFFT: usize = 1 << 24;

/// A float type the STFT can run in (`f32` or `f64`).
pub trait StftFloat: FftNum + From<f32> + Into<f64> {}
impl StftFloat for f32 {}
impl StftFloat for f64 {}

impl StftParams {
    /// Checks the parameters against scipy's rules (and a few of our own limits).
    pub fn validate(&self) -> Result<(), DspError> {
        let bad =
            |field: &'static str, reason: String| Err(DspError::InvalidParam { field, reason });
        if self.win_length == 0 {
            return bad("win_length", "must be at least 1 sample".into());
        }
        if self.nfft < self.win_length {
            return bad(
                "nfft",
                format!(
                    "{} is shorter than the window ({} samples)",
                    self.nfft, self.win_length
                ),
            );
        }
        if self.nfft > MAX_NFFT {
            return bad(
                "nfft",
                format!("{} exceeds the limit of {MAX_NFFT}", self.nfft),
            );
        }
        if self.hop == 0 || self.hop > self.win_length {
            return bad(
                "hop",
                format!(
                    "{} must be between 1 and the window length ({})",
                    self.hop, self.win_length
                ),
            );
        }
        if let super::Window::Kaiser(beta) = self.window {
            if !(beta.is_finite() && beta >= 0.0) {
                return bad(
                    "window",
                    format!("kaiser beta must be finite and ≥ 0, got {beta}"),
                );
            }
        }
        Ok(())
    }

    /// Number of one-sided frequency bins (`nfft/2 + 1`).
    pub fn n_freq(&self) -> usize {
        self.nfft / 2 + 1
    }

    /// Number of whole frames in `n_samples` samples (scipy: `(n − noverlap) // hop`).
    pub fn frame_count(&self, n_samples: u64) -> u64 {
        let win = self.win_length as u64;
        if n_samples < win || self.hop == 0 {
            0
        } else {
            (n_samples - win) / self.hop as u64 + 1
        }
    }

    /// Centre time in seconds of frame `k` (scipy: `(k·hop + nperseg/2) / fs`).
    pub fn frame_time(&self, k: u64, fs: f64) -> f64 {
        (k as f64 * self.hop as f64 + self.win_length as f64 / 2.0) / fs
    }

    /// Bin centre frequencies in Hz (`rfftfreq(nfft, 1/fs)`).
    pub fn frequencies(&self, fs: f64) -> Vec<f64> {
        (0..self.n_freq())
            .map(|k| k as f64 * fs / self.nfft as f64)
            .collect()
    }

    /// Per-bin factor turning |X|² into the one-sided PSD: the scaling constant, doubled for every
    /// bin but DC and (for even nfft) Nyquist.
    pub fn bin_scales(&self, fs: f64) -> Vec<f64> {
        let w = self.window.coefficients(self.win_length);
        let base = match self.scaling {
            Scaling::Density => 1.0 / (fs * w.iter().map(|v| v * v).sum::<f64>()),
            Scaling::Spectrum => {
                let s: f64 = w.iter().sum();
                1.0 / (s * s)
            }
        };
        let n_freq = self.n_freq();
        (0..n_freq)
            .map(|k| {
                let nyquist = self.nfft.is_multiple_of(2) && k == n_freq - 1;
                if k == 0 || nyquist {
                    base
                } else {
                    2.0 * base
                }
            })
            .collect()
    }
}

/// A streaming STFT over one signal. Push blocks with [`Stft::push`]; every completed frame's
/// PSD (length `n_freq`, linear, already scaled) is passed to the callback in time order.
pub struct Stft<T: StftFloat> {
    params: StftParams,
    core: FrameCore<T>,
    /// Samples received but not yet fully consumed, from `start`.
    pending: Vec<f32>,
    start: usize,
}

/// The per-frame machinery: window, FFT plan and buffers, and the frame count.
struct FrameCore<T: StftFloat> {
    window: Vec<T>,
    scales: Vec<T>,
    fft: Arc<dyn RealToComplex<T>>,
    frame: Vec<T>,
    spectrum: Vec<Complex<T>>,
    scratch: Vec<Complex<T>>,
    power: Vec<f32>,
    frames: u64,
}

impl<T: StftFloat> FrameCore<T> {
    /// Transforms the frame `src` (one window of samples) and hands it to `sink`.
    #[inline]
    fn frame(&mut self, src: &[f32], sink: &mut Sink<'_>) {
        let ok = transform(
            src,
            &self.window,
            &*self.fft,
            &mut self.frame,
            &mut self.spectrum,
            &mut self.scratch,
        );
        emit(
            ok,
            &self.spectrum,
            &self.scales,
            &mut self.power,
            self.frames,
            sink,
        );
        self.frames += 1;
    }
}

impl<T: StftFloat> Stft<T> {
    /// Plans the FFT and precomputes the window and scaling for sample rate `fs`.
    pub fn new(params: &StftParams, fs: f64) -> Result<Self, DspError> {
        params.validate()?;
        if !(fs.is_finite() && fs > 0.0) {
            return Err(DspError::InvalidParam {
                field: "fs",
                reason: format!("sample rate must be a positive number, got {fs}"),
            });
        }
        let to_t = |v: f64| T::from_f64(v).unwrap_or_else(T::zero);
        let window = params
            .window
            .coefficients(params.win_length)
            .into_iter()
            .map(to_t)
            .collect();
        let scales = params.bin_scales(fs).into_iter().map(to_t).collect();
        let fft = RealFftPlanner::<T>::new().plan_fft_forward(params.nfft);
        let frame = fft.make_input_vec();
        let spectrum = fft.make_output_vec();
        let scratch = fft.make_scratch_vec();
        Ok(Stft {
            params: params.clone(),
            core: FrameCore {
                window,
                scales,
                fft,
                frame,
                spectrum,
                scratch,
                power: vec![0.0; params.n_freq()],
                frames: 0,
            },
            pending: Vec::with_capacity((COMPACT_WINDOWS + 1) * params.win_length + 8192),
            start: 0,
        })
    }

    /// The parameters this STFT runs with.
    pub fn params(&self) -> &StftParams {
        &self.params
    }

    /// Frames emitted so far.
    pub fn frames(&self) -> u64 {
        self.core.frames
    }

    /// Forgets pending samples and the frame count, keeping the FFT plan: the next sample
    /// starts a new signal (a soundscape minute, or the far side of a gap).
    pub fn reset(&mut self) {
        self.pending.clear();
        self.start = 0;
        self.core.frames = 0;
    }

    /// Feeds samples; calls `on_frame(k, psd)` for every frame completed by them.
    pub fn push(&mut self, samples: &[f32], mut on_frame: impl FnMut(u64, &[f32])) {
        self.drive(samples, &mut Sink::Psd(&mut on_frame));
    }

    /// Feeds samples and adds the PSD of every frame completed by them to `welch`: the same
    /// numbers as `push(samples, |_, psd| welch.add(psd))`, without the per-frame PSD buffer.
    pub fn push_welch(&mut self, samples: &[f32], welch: &mut WelchMean) {
        self.drive(samples, &mut Sink::Welch(welch));
    }

    fn drive(&mut self, samples: &[f32], sink: &mut Sink<'_>) {
        let win = self.params.win_length;
        let hop = self.params.hop;
        let mut input = samples;
        // Fast path: no carried-over samples, so whole frames are read straight from the input.
        if self.pending.len() == self.start {
            self.pending.clear();
            self.start = 0;
            let mut pos = 0;
            while pos + win <= input.len() {
                self.core.frame(&input[pos..pos + win], sink);
                pos += hop;
            }
            input = &input[pos.min(input.len())..];
        }
        self.pending.extend_from_slice(input);
        while self.pending.len() - self.start >= win {
            let s = self.start;
            self.core.frame(&self.pending[s..s + win], sink);
            self.start += hop;
        }
        // Compact once the consumed prefix is several windows long: each compaction copies
        // less than a window plus a block, so copying stays well under one move per sample.
        if self.start >= COMPACT_WINDOWS * win || self.start == self.pending.len() {
            self.pending.drain(..self.start);
            self.start = 0;
        }
    }
}

/// Where frames go.
enum Sink<'a> {
    /// Each frame's scaled PSD to a callback.
    Psd(&'a mut dyn FnMut(u64, &[f32])),
    /// Each frame's scaled PSD (rounded to f32 as a PSD frame is) added to a running mean.
    Welch(&'a mut WelchMean),
}

/// Pending samples are compacted once this many windows of them are consumed.
const COMPACT_WINDOWS: usize = 4;

/// One frame: window, zero-pad, real FFT into `spectrum`; false if the FFT refused.
#[inline]
fn transform<T: StftFloat>(
    src: &[f32],
    window: &[T],
    fft: &dyn RealToComplex<T>,
    frame: &mut [T],
    spectrum: &mut [Complex<T>],
    scratch: &mut [Complex<T>],
) -> bool {
    let win = window.len();
    for ((dst, &x), &w) in frame[..win].iter_mut().zip(src).zip(window) {
        *dst = <T as From<f32>>::from(x) * w;
    }
    // realfft uses the input as scratch, so the zero padding is restored every frame.
    for v in &mut frame[win..] {
        *v = T::zero();
    }
    // Lengths come from the plan itself, so this cannot fail.
    fft.process_with_scratch(frame, spectrum, scratch).is_ok()
}

/// Scaled |X|² of frame `k` to `sink` (NaN everywhere if its FFT failed).
#[inline]
fn emit<T: StftFloat>(
    ok: bool,
    spectrum: &[Complex<T>],
    scales: &[T],
    power: &mut [f32],
    k: u64,
    sink: &mut Sink<'_>,
) {
    let bin = |c: &Complex<T>, s: T| -> f32 {
        let v: f64 = ((c.re * c.re + c.im * c.im) * s).into();
        v as f32
    };
    match sink {
        Sink::Psd(on_frame) => {
            if ok {
                for ((p, c), &s) in power.iter_mut().zip(spectrum).zip(scales) {
                    *p = bin(c, s);
                }
            } else {
                power.fill(f32::NAN);
            }
            on_frame(k, power);
        }
        Sink::Welch(welch) => {
            if ok {
                welch.add_values(spectrum.iter().zip(scales).map(|(c, &s)| bin(c, s)));
            } else {
                welch.add_values(std::iter::repeat(f32::NAN));
            }
        }
    }
}

/// Welch averaging: the running f64 mean of frame PSDs (scipy `welch(average='mean')`).
#[derive(Debug, Clone)]
pub struct WelchMean {
    sum: Vec<f64>,
    count: u64,
}

impl WelchMean {
    /// An empty mean over `n_freq` frequency bins.
    pub fn new(n_freq: usize) -> Self {
        WelchMean {
            sum: vec![0.0; n_freq],
            count: 0,
        }
    }

    /// Adds one frame's PSD.
    pub fn add(&mut self, psd: &[f32]) {
        self.add_values(psd.iter().copied());
    }

    /// Adds one frame's PSD given bin by bin (no buffer of it needed).
    #[inline]
    fn add_values(&mut self, psd: impl IntoIterator<Item = f32>) {
        for (s, p) in self.sum.iter_mut().zip(psd) {
            *s += f64::from(p);
        }
        self.count += 1;
    }

    /// Frames added so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The mean PSD (empty when no frame was added).
    pub fn mean(&self) -> Vec<f32> {
        if self.count == 0 {
            return Vec::new();
        }
        let n = self.count as f64;
        self.sum.iter().map(|s| (s / n) as f32).collect()
    }
}
