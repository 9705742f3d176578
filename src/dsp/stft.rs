//! The streaming short-time Fourier transform: samples are pushed in blocks of any size, each
//! complete frame is windowed, transformed with one reused realfft plan and scratch buffer, and
//! handed to the caller as a scaled one-sided PSD (scipy's `mode='psd'`, `detrend=False`).
//! For a Welch mean ([`Stft::push_welch`]) frames are transformed two at a time: one complex
//! FFT of `x + i·y` gives |X_k|² + |Y_k|² = (|Z_k|² + |Z_{N−k}|²) / 2, which is all a mean of
//! power spectra needs — no real-FFT post-processing, and one transform per two frames.
//!
//! Memory is one frame-sized buffer plus at most about five windows of pending samples, whatever
//! the length of the stream. Generic over the FFT float type: `f64` reproduces scipy's float64
//! numbers, `f32` is faster.
//!
//! Must not know: files, decoding, dB, output formats.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{FftNum, RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};

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
    /// Welch frames two at a time (planned at the first [`Stft::push_welch`]).
    pairs: Option<Pairs<T>>,
}

/// Two real frames in one complex FFT, for a Welch mean.
struct Pairs<T: StftFloat> {
    fft: Arc<dyn Fft<T>>,
    /// `x + i·y` (the partner `y` still missing while `waiting`), then its transform.
    buf: Vec<Complex<T>>,
    scratch: Vec<Complex<T>>,
    /// Half the one-sided scaling of each bin: (|Z_k|² + |Z_{N−k}|²) · half = (|X_k|² + |Y_k|²) · scale.
    half_scales: Vec<T>,
    /// A frame is in the real parts of `buf`, waiting for its partner.
    waiting: bool,
}

impl<T: StftFloat> Pairs<T> {
    fn new(nfft: usize, scales: &[T]) -> Pairs<T> {
        let fft = FftPlanner::<T>::new().plan_fft_forward(nfft);
        let two = T::one() + T::one();
        Pairs {
            buf: vec![Complex::new(T::zero(), T::zero()); nfft],
            scratch: vec![Complex::new(T::zero(), T::zero()); fft.get_inplace_scratch_len()],
            fft,
            half_scales: scales.iter().map(|&s| s / two).collect(),
            waiting: false,
        }
    }

    /// Windows `src` into the pair; adds the pair's power to `welch` once it is complete.
    fn frame(&mut self, src: &[f32], window: &[T], welch: &mut WelchMean) {
        let win = window.len();
        let scaled = src
            .iter()
            .zip(window)
            .map(|(&x, &w)| <T as From<f32>>::from(x) * w);
        if self.waiting {
            for (z, v) in self.buf[..win].iter_mut().zip(scaled) {
                z.im = v;
            }
            self.transform(welch, 2);
        } else {
            for (z, v) in self.buf[..win].iter_mut().zip(scaled) {
                *z = Complex::new(v, T::zero());
            }
            // The transform works in place, so the zero padding is restored every pair.
            for z in &mut self.buf[win..] {
                *z = Complex::new(T::zero(), T::zero());
            }
            self.waiting = true;
        }
    }

    /// A frame left without a partner goes in alone (its imaginary part is zero).
    fn flush(&mut self, welch: &mut WelchMean) {
        if self.waiting {
            self.transform(welch, 1);
        }
    }

    fn transform(&mut self, welch: &mut WelchMean, frames: u64) {
        self.fft
            .process_with_scratch(&mut self.buf, &mut self.scratch);
        let n = self.buf.len();
        let n_freq = self.half_scales.len();
        let norm = |c: &Complex<T>| c.re * c.re + c.im * c.im;
        let bin = |a: &Complex<T>, b: &Complex<T>, s: T| -> f32 {
            let v: f64 = ((norm(a) + norm(b)) * s).into();
            v as f32
        };
        // Bin k pairs with bin N − k (bin 0 with itself).
        let head = &self.buf[..n_freq];
        let mirror = self.buf[n + 1 - n_freq..].iter().rev();
        let first = bin(&head[0], &head[0], self.half_scales[0]);
        let rest = head[1..]
            .iter()
            .zip(mirror)
            .zip(&self.half_scales[1..])
            .map(|((a, b), &s)| bin(a, b, s));
        welch.add_values(std::iter::once(first).chain(rest), frames);
        self.waiting = false;
    }
}

impl<T: StftFloat> FrameCore<T> {
    /// Transforms the frame `src` (one window of samples) and hands it to `sink`.
    #[inline]
    fn frame(&mut self, src: &[f32], sink: &mut Sink<'_>) {
        self.frames += 1;
        let on_frame = match sink {
            Sink::Psd(on_frame) => on_frame,
            Sink::Welch(welch) => {
                let pairs = self
                    .pairs
                    .get_or_insert_with(|| Pairs::new(self.frame.len(), &self.scales));
                return pairs.frame(src, &self.window, welch);
            }
        };
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
            self.frames - 1,
            on_frame,
        );
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
                pairs: None,
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
    /// starts a new signal (a soundscape minute, or the far side of a gap). A Welch frame
    /// waiting for its partner stays (see [`Stft::finish_welch`]).
    pub fn reset(&mut self) {
        self.pending.clear();
        self.start = 0;
        self.core.frames = 0;
    }

    /// Feeds samples; calls `on_frame(k, psd)` for every frame completed by them.
    pub fn push(&mut self, samples: &[f32], mut on_frame: impl FnMut(u64, &[f32])) {
        self.drive(samples, &mut Sink::Psd(&mut on_frame));
    }

    /// Feeds samples and adds the PSD of every frame completed by them to `welch`, two frames
    /// per FFT: `push(samples, |_, psd| welch.add(psd))` to within float rounding, at about
    /// half the transform work. A frame may wait for its partner: call
    /// [`Stft::finish_welch`] before reading `welch`.
    pub fn push_welch(&mut self, samples: &[f32], welch: &mut WelchMean) {
        self.drive(samples, &mut Sink::Welch(welch));
    }

    /// Adds a Welch frame still waiting for its partner to `welch`, on its own.
    pub fn finish_welch(&mut self, welch: &mut WelchMean) {
        if let Some(p) = self.core.pairs.as_mut() {
            p.flush(welch);
        }
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
    /// Frames' scaled PSDs, two frames at a time (each pair's sum rounded to f32), added to a
    /// running mean.
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

/// Scaled |X|² of frame `k` to `on_frame` (NaN everywhere if its FFT failed).
#[inline]
fn emit<T: StftFloat>(
    ok: bool,
    spectrum: &[Complex<T>],
    scales: &[T],
    power: &mut [f32],
    k: u64,
    on_frame: &mut dyn FnMut(u64, &[f32]),
) {
    if ok {
        for ((p, c), &s) in power.iter_mut().zip(spectrum).zip(scales) {
            let v: f64 = ((c.re * c.re + c.im * c.im) * s).into();
            *p = v as f32;
        }
    } else {
        power.fill(f32::NAN);
    }
    on_frame(k, power);
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
        self.add_values(psd.iter().copied(), 1);
    }

    /// Adds the summed PSDs of `frames` frames, given bin by bin (no buffer of it needed).
    #[inline]
    fn add_values(&mut self, psd: impl IntoIterator<Item = f32>, frames: u64) {
        for (s, p) in self.sum.iter_mut().zip(psd) {
            *s += f64::from(p);
        }
        self.count += frames;
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
