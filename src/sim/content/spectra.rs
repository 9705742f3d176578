//! The spectrogram of a recording computed from the synthetic sources' spectral model instead
//! of from rendered audio: what a Hann-window, density-scaled STFT (`dsp::spectrogram`, scipy's
//! numbers) of `synth.rs`'s audio gives on average, frame by frame, with a deterministic random
//! texture of the right statistics. Rendering and transforming five minutes of 64 kHz audio
//! costs ~0.5 CPU-s and ~300 MB per file; this costs milliseconds and the output's size.
//!
//! The shared truth is `events.rs` (where and what every event is) and `synth.rs` (the
//! background's and each source's levels, envelopes and partials, through the helpers it
//! exports), so the HSD shows the very calls and ships the audio holds, at the same instants
//! and frequencies. The model per STFT frame (N = nfft samples, Δf = fs/N):
//! * noise (background, ship broadband): its PSD S(f) averaged over the window's spectral
//!   kernel |W(f − f_k)|² (mirrored at 0 Hz), times the squared level/envelope at the frame
//!   centre; DC and Nyquist bins at half (scipy does not double them);
//! * tones (ship lines, sweep partials): amplitude A at instantaneous frequency f puts
//!   (A²/2)·(2N/(3·fs))·K((f − f_k)/Δf) into bin k, K the Hann kernel normalised to 1 at 0
//!   (so a steady tone peaks at A²N/(3fs), the density of power A²/2 over Hann's 1.5-bin
//!   noise bandwidth); a sweep is followed through the frame at sub-steps weighted by the
//!   window's energy w², so it smears over the bins it crosses as the STFT does.
//!
//! Texture: the STFT of noise is random (a frame's periodogram is S·Exp(1); an average of K
//! half-overlapping Hann frames is S·Gamma(0.75·K)/(0.75·K)). The noise part of every value is
//! multiplied by such a factor drawn from a hash of (seed, column's first frame, bin), so
//! columns look like measured ones, never smooth, and the same request gives the same bytes.
//!
//! Must not know: file formats, the catalog, the HTTP server.

use super::events::{events, mix, Event, Shape};
use super::synth::Background;
use super::synth::{envelope, event_samples, ship_broadband_psd, ship_lines, sweep_partials};

/// Bins on each side of a tone that receive its leakage (Hann's sidelobes there are < −60 dB).
const TONE_REACH: i64 = 8;
/// Noise texture stream key (distinct from the audio's keys).
const KEY_TEXTURE: u64 = 0x7E87_0BE5;

/// STFT geometry: `nfft`-sample Hann frames every `hop` samples from absolute sample `n0`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frames {
    pub fs: u32,
    pub n0: i64,
    pub nfft: usize,
    pub hop: usize,
    pub n_frames: usize,
}

impl Frames {
    fn n_freq(&self) -> usize {
        self.nfft / 2 + 1
    }
    fn df(&self) -> f64 {
        f64::from(self.fs) / self.nfft as f64
    }
    /// Absolute index of frame `j`'s first sample.
    fn start(&self, j: usize) -> i64 {
        self.n0 + (j * self.hop) as i64
    }
    /// Absolute index of frame `j`'s centre sample.
    fn centre(&self, j: usize) -> i64 {
        self.start(j) + (self.nfft / 2) as i64
    }
}

/// The normalised power kernel of a Hann window at `x` bins from a tone: |W(x)|²/|W(0)|² with
/// W(x) ∝ sinc(x)/(1 − x²).
fn hann_kernel(x: f64) -> f64 {
    let x = x.abs();
    if x < 1e-9 {
        return 1.0;
    }
    if (x - 1.0).abs() < 1e-9 {
        return 0.25;
    }
    let px = std::f64::consts::PI * x;
    let v = (px.sin() / px) / (1.0 - x * x);
    v * v
}

/// Expected noise periodogram per bin for a one-sided PSD `s(f)`: `s` averaged over the Hann
/// kernel (sampled every ¼ bin over ±4 bins, mirrored at 0 Hz), DC and Nyquist at half.
fn noise_bins(fr: &Frames, s: impl Fn(f64) -> f64) -> Vec<f64> {
    let df = fr.df();
    let taps: Vec<(f64, f64)> = (-16..=16)
        .map(|i| {
            let u = f64::from(i) / 4.0;
            (u, hann_kernel(u))
        })
        .collect();
    let norm: f64 = taps.iter().map(|t| t.1).sum();
    let nf = fr.n_freq();
    (0..nf)
        .map(|k| {
            let fk = k as f64 * df;
            let v = taps
                .iter()
                .map(|&(u, w)| w * s((fk + u * df).abs()))
                .sum::<f64>()
                / norm;
            if k == 0 || (k == nf - 1 && fr.nfft.is_multiple_of(2)) {
                0.5 * v
            } else {
                v
            }
        })
        .collect()
}

/// Adds a tone of power `p` (= A²/2, already scaled by the frame weight) at `f` Hz to `col`.
fn add_tone(fr: &Frames, col: &mut [f64], f: f64, p: f64) {
    let df = fr.df();
    let peak = p * 2.0 * fr.nfft as f64 / (3.0 * f64::from(fr.fs));
    let x = f / df;
    let nf = col.len() as i64;
    let lo = ((x.floor() as i64) - TONE_REACH).max(0);
    let hi = ((x.ceil() as i64) + TONE_REACH).min(nf - 1);
    for k in lo..=hi {
        let kf = k as f64;
        let mut w = hann_kernel(x - kf);
        if k > 0 {
            w += hann_kernel(x + kf); // the negative-frequency image
        }
        col[k as usize] += peak * w;
    }
}

/// A Gamma(m)/m variate (mean 1) from the hash `h`: exact sums of exponentials for small `m`,
/// Wilson–Hilferty's cube of a normal beyond.
fn gamma_factor(h: u64, m: f64) -> f64 {
    let unit = |z: u64| ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    if m < 4.5 {
        let k = m.round().max(1.0) as u64;
        let mut z = h;
        let mut sum = 0.0;
        for _ in 0..k {
            sum -= unit(z).ln();
            z = mix(z);
        }
        return sum / k as f64;
    }
    // An approximately standard normal value from four 16-bit uniforms (Irwin–Hall).
    let s = (h & 0xffff) + ((h >> 16) & 0xffff) + ((h >> 32) & 0xffff) + (h >> 48);
    let g = (s as f64 - 131_070.0) / 37_837.2;
    let c = 1.0 / (9.0 * m);
    (1.0 - c + g * c.sqrt()).max(0.0).powi(3)
}

/// One column's frames: their indices (at least one).
pub(crate) type Group = Vec<usize>;

/// The model spectrogram of device `seed`'s audio: one column per group of frames (the mean
/// of their expected periodograms, with texture), linear PSD in counts²/Hz, column-major.
pub(crate) fn model_columns(seed: u64, fr: &Frames, groups: &[Group]) -> Vec<f64> {
    let fs = f64::from(fr.fs);
    let nf = fr.n_freq();
    let bg = Background::new(seed, fr.fs);
    let floor = noise_bins(fr, |f| bg.psd(f));
    // Every event the frames touch (1 ms margins as in `synth::render_span`).
    let first = fr.start(0);
    let last = fr.start(fr.n_frames.saturating_sub(1)) + fr.nfft as i64;
    let to_ms = |n: i64| (i128::from(n) * 1000).div_euclid(i128::from(fr.fs)) as i64;
    let evs = events(seed, to_ms(first) - 1, to_ms(last) + 2);
    let ships: Vec<(&Event, Vec<f64>)> = evs
        .iter()
        .filter_map(|e| match &e.shape {
            Shape::Ship {
                broadband_cutoff, ..
            } => Some((
                e,
                noise_bins(fr, |f| {
                    ship_broadband_psd(e.amplitude, *broadband_cutoff, fs, f)
                }),
            )),
            Shape::Sweep { .. } => None,
        })
        .collect();
    let mut out = vec![0.0f64; nf * groups.len()];
    let mut tones = vec![0.0f64; nf];
    for (c, group) in groups.iter().enumerate() {
        let col = &mut out[c * nf..(c + 1) * nf];
        let inv = 1.0 / group.len() as f64;
        let w_bg = group
            .iter()
            .map(|&j| bg.level(fr.centre(j)).powi(2))
            .sum::<f64>()
            * inv;
        col.iter_mut().zip(&floor).for_each(|(v, s)| *v = w_bg * s);
        tones.iter_mut().for_each(|v| *v = 0.0);
        for (e, bins) in &ships {
            let (es, ee) = event_samples(e, fr.fs);
            let big_t = (ee - es) as f64 / fs;
            let w_env = group
                .iter()
                .map(|&j| fr.centre(j))
                .filter(|n| (es..ee).contains(n))
                .map(|n| envelope((n - es) as f64 / fs, big_t).powi(2))
                .sum::<f64>()
                * inv;
            if w_env == 0.0 {
                continue;
            }
            col.iter_mut().zip(bins).for_each(|(v, s)| *v += w_env * s);
            if let Shape::Ship { tonals, .. } = &e.shape {
                for (f, a) in ship_lines(tonals, e.amplitude, fs) {
                    add_tone(fr, &mut tones, f, w_env * a * a / 2.0);
                }
            }
        }
        // Texture on the noise part, then the deterministic tones.
        let m = if group.len() == 1 {
            1.0
        } else {
            0.75 * group.len() as f64
        };
        let key = mix(seed ^ KEY_TEXTURE ^ mix(fr.start(group[0]) as u64 ^ (fr.nfft as u64) << 40));
        for (k, v) in col.iter_mut().enumerate() {
            *v *= gamma_factor(mix(key.wrapping_add(k as u64)), m);
        }
        for e in evs
            .iter()
            .filter(|e| matches!(e.shape, Shape::Sweep { .. }))
        {
            for &j in group {
                add_sweep(fr, e, j, inv, &mut tones);
            }
        }
        col.iter_mut().zip(&tones).for_each(|(v, t)| *v += t);
    }
    out
}

/// Adds frame `j`'s share (`weight`) of a sweep event's partials to `col`, following the
/// sweep through the frame at sub-steps weighted by the Hann window's energy.
fn add_sweep(fr: &Frames, e: &Event, j: usize, weight: f64, col: &mut [f64]) {
    let Shape::Sweep { f0, f1, harmonics } = e.shape else {
        return;
    };
    let fs = f64::from(fr.fs);
    let (es, ee) = event_samples(e, fr.fs);
    let s0 = fr.start(j);
    let n = fr.nfft as i64;
    if ee <= s0 || es >= s0 + n {
        return;
    }
    let big_t = (ee - es) as f64 / fs;
    let rate = (f1 - f0) / big_t;
    let partials = sweep_partials(f0, f1, harmonics, e.amplitude, fs);
    let top = partials.last().map_or(1.0, |p| p.0);
    // Enough sub-steps that the top partial moves at most half a bin between them.
    let bins_swept = (rate * top).abs() * (n as f64 / fs) / fr.df();
    let steps = ((2.0 * bins_swept).ceil() as usize).clamp(16, 1 << 16);
    let norm = steps as f64 * 0.375; // Σ hann² over `steps` evenly spaced points
    let step = n as f64 / steps as f64;
    for m in 0..steps {
        let pos = (m as f64 + 0.5) * step;
        let abs = s0 + pos as i64;
        if abs < es || abs >= ee {
            continue;
        }
        let hann = 0.5 - 0.5 * (std::f64::consts::TAU * pos / n as f64).cos();
        let q = hann * hann / norm * weight;
        let t = (abs - es) as f64 / fs;
        let env = envelope(t, big_t);
        let f = f0 + rate * t;
        for &(h, amp) in &partials {
            let a = env * amp;
            add_tone(fr, col, h * f, q * a * a / 2.0);
        }
    }
}
