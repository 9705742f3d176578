//! Renders a device's synthetic hydrophone audio for any span of absolute time: coloured ocean
//! background noise plus the events of `events.rs`.
//!
//! Every output sample is a pure function of (seed, absolute sample index, sample rate): noise
//! comes from a splitmix64 stream indexed by the absolute sample, the noise filters restart on
//! a grid of absolute blocks (after a warm-up long enough for their state to converge), and
//! tonal phasors are re-seeded exactly on a grid of absolute chunks. So rendering two adjacent
//! files gives exactly the samples of rendering their union, and a call straddling a file
//! boundary continues in the next file.
//!
//! Levels are in 24-bit counts. Background PSD (one-sided, counts²/Hz) is about 63 dB below
//! 30 Hz falling to 30 dB at high frequency (RMS ≈ 13 000 counts ≈ −56 dBFS at 64 kHz).
//!
//! Must not know: file formats, the catalog, the HTTP server.

use super::events::{events, mix, Event, Shape};
use super::{ContentError, Recording};

/// Noise filters restart every `BLOCK` absolute samples after `WARM` samples of warm-up.
const BLOCK: i64 = 1 << 16;
const WARM: i64 = 1 << 13;
/// Tonal phasors and the level modulation are recomputed exactly every `CHUNK` samples.
const CHUNK: i64 = 4096;
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
/// Background noise stream key (distinct from the event keys).
const KEY_NOISE: u64 = 0xA0B1_C2D3;

/// The absolute index of the first sample of `rec` and its number of samples.
pub(crate) fn sample_span(rec: &Recording) -> Result<(i64, usize), ContentError> {
    let err = |reason: String| ContentError::Render {
        what: format!("{} audio", rec.device_code),
        reason,
    };
    if rec.sample_rate == 0 || rec.sample_rate > 1_048_575 {
        return Err(err(format!("sample rate {} Hz", rec.sample_rate)));
    }
    if !rec.duration_s.is_finite() || rec.duration_s <= 0.0 || rec.duration_s > 86_400.0 {
        return Err(err(format!(
            "duration {} s (must be in (0, 86400])",
            rec.duration_s
        )));
    }
    let ns = rec.start.as_nanosecond();
    let fs = i128::from(rec.sample_rate);
    let n0 = (ns * fs + 500_000_000).div_euclid(1_000_000_000);
    let n0 = i64::try_from(n0).map_err(|_| err("start time out of range".into()))?;
    let len = (rec.duration_s * f64::from(rec.sample_rate)).round() as usize;
    Ok((n0, len))
}

/// One standard-normal-ish value (Irwin–Hall of four 16-bit uniforms) for stream `key` at
/// absolute index `n`.
#[inline]
fn gauss(key: u64, n: i64) -> f64 {
    let h = mix(key.wrapping_add((n as u64).wrapping_mul(GOLDEN)));
    let s = (h & 0xffff) + ((h >> 16) & 0xffff) + ((h >> 32) & 0xffff) + (h >> 48);
    // Mean 2·65535, variance 4·(65536²−1)/12.
    (s as f64 - 131_070.0) * (1.0 / 37_837.2)
}

/// A linear filter run over white noise: `step(state, x)` returns the output sample.
trait NoiseFilter {
    fn reset(&mut self);
    fn step(&mut self, x: f64) -> f64;
}

/// Ambient background: white + three parallel one-pole low-passes (30 Hz, 300 Hz, 3 kHz).
struct Ambient {
    a: [f64; 3],
    g: [f64; 3],
    white: f64,
    s: [f64; 3],
}

impl Ambient {
    fn new(fs: f64, scale: f64) -> Self {
        // PSD targets (counts²/Hz) of each part; unit white noise has PSD 2/fs.
        let gain = |psd: f64| (psd * fs / 2.0).sqrt() * scale;
        let pole = |fc: f64| (-2.0 * std::f64::consts::PI * fc / fs).exp();
        Ambient {
            a: [pole(30.0), pole(300.0), pole(3_000.0)],
            g: [gain(1e6), gain(1e5), gain(1e4)],
            white: gain(1e3),
            s: [0.0; 3],
        }
    }
}

impl NoiseFilter for Ambient {
    fn reset(&mut self) {
        self.s = [0.0; 3];
    }
    #[inline]
    fn step(&mut self, x: f64) -> f64 {
        let mut y = self.white * x;
        for i in 0..3 {
            self.s[i] = self.a[i] * self.s[i] + (1.0 - self.a[i]) * x;
            y += self.g[i] * self.s[i];
        }
        y
    }
}

/// Ship broadband: two cascaded one-pole low-passes (−12 dB/octave above the cutoff).
struct Cascade {
    a: f64,
    g: f64,
    s: [f64; 2],
}

impl NoiseFilter for Cascade {
    fn reset(&mut self) {
        self.s = [0.0; 2];
    }
    #[inline]
    fn step(&mut self, x: f64) -> f64 {
        self.s[0] = self.a * self.s[0] + (1.0 - self.a) * x;
        self.s[1] = self.a * self.s[1] + (1.0 - self.a) * self.s[0];
        self.g * self.s[1]
    }
}

/// Adds `weight(n) · filter(white)` at absolute samples `[n0, n0 + out.len())` to `out`, where
/// `weight` is evaluated once per absolute `CHUNK`.
fn add_noise(
    key: u64,
    n0: i64,
    out: &mut [f32],
    filter: &mut impl NoiseFilter,
    weight: impl Fn(i64) -> f64,
) {
    let n1 = n0 + out.len() as i64;
    let mut b = n0.div_euclid(BLOCK) * BLOCK;
    while b < n1 {
        filter.reset();
        // Warm-up before the block, then the block's samples before n0 (run, not emitted).
        for n in b - WARM..n0.max(b) {
            filter.step(gauss(key, n));
        }
        let stop = (b + BLOCK).min(n1);
        let mut n = n0.max(b);
        while n < stop {
            let chunk_end = ((n.div_euclid(CHUNK) + 1) * CHUNK).min(stop);
            let w = weight(n.div_euclid(CHUNK) * CHUNK);
            for m in n..chunk_end {
                out[(m - n0) as usize] += (w * filter.step(gauss(key, m))) as f32;
            }
            n = chunk_end;
        }
        b += BLOCK;
    }
}

/// A device's background noise: its level (±3 dB around the nominal) and the slow (6 h) ±25 %
/// amplitude modulation ("weather"), both drawn from the device seed.
pub(crate) struct Background {
    scale: f64,
    phase: f64,
    period: i64,
    fs: f64,
}

impl Background {
    pub(crate) fn new(seed: u64, fs: u32) -> Self {
        let mut r = super::events::Rng::new(&[seed, KEY_NOISE]);
        let scale = 10f64.powf(r.range(-3.0, 3.0) / 20.0);
        let phase = r.range(0.0, std::f64::consts::TAU);
        Background {
            scale,
            phase,
            period: (6 * 3600) as i64 * i64::from(fs),
            fs: f64::from(fs),
        }
    }

    /// The amplitude factor of the modulation at absolute sample `n`.
    pub(crate) fn level(&self, n: i64) -> f64 {
        let x = n.rem_euclid(self.period) as f64 / self.period as f64;
        1.0 + 0.25 * (std::f64::consts::TAU * x + self.phase).sin()
    }

    /// One-sided PSD (counts²/Hz) of the background at `f` Hz before the modulation: the
    /// squared response of `Ambient` times unit white noise's 2/fs.
    pub(crate) fn psd(&self, f: f64) -> f64 {
        let amb = Ambient::new(self.fs, self.scale);
        let w = std::f64::consts::TAU * f / self.fs;
        let (mut re, mut im) = (amb.white, 0.0);
        for i in 0..3 {
            let (h_re, h_im) = one_pole(amb.a[i], w);
            re += amb.g[i] * h_re;
            im += amb.g[i] * h_im;
        }
        (re * re + im * im) * 2.0 / self.fs
    }
}

/// The complex response at `w` rad/sample of `s ← a·s + (1 − a)·x`.
fn one_pole(a: f64, w: f64) -> (f64, f64) {
    // (1 − a) / (1 − a·e^{−jw})
    let (dr, di) = (1.0 - a * w.cos(), a * w.sin());
    let d2 = dr * dr + di * di;
    ((1.0 - a) * dr / d2, -(1.0 - a) * di / d2)
}

/// One-sided PSD (counts²/Hz) at `f` Hz of a ship's broadband noise at full envelope: the
/// `Cascade` of `add_event` (its `amplitude` is the amplitude spectral density at low
/// frequency).
pub(crate) fn ship_broadband_psd(amplitude: f64, cutoff: f64, fs: f64, f: f64) -> f64 {
    let a = (-std::f64::consts::TAU * cutoff / fs).exp();
    let (re, im) = one_pole(a, std::f64::consts::TAU * f / fs);
    let h2 = re * re + im * im;
    amplitude * amplitude * h2 * h2
}

/// A ship's tonal lines `(Hz, amplitude in counts)` as rendered at rate `fs`.
pub(crate) fn ship_lines(tonals: &[f64], amplitude: f64, fs: f64) -> Vec<(f64, f64)> {
    tonals
        .iter()
        .enumerate()
        .filter(|(_, f)| **f < 0.45 * fs)
        .map(|(i, f)| (*f, amplitude * 5.0 / (1.0 + i as f64 * 0.5)))
        .collect()
}

/// A sweep's partials `(harmonic number, amplitude in counts)` as rendered at rate `fs`: each
/// overtone at half the amplitude of the one below, none that would reach 0.45·fs.
pub(crate) fn sweep_partials(
    f0: f64,
    f1: f64,
    harmonics: u32,
    amplitude: f64,
    fs: f64,
) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    let mut amp = amplitude;
    for h in 1..=harmonics {
        if f64::from(h) * f0.max(f1) < 0.45 * fs {
            out.push((f64::from(h), amp));
        }
        amp *= 0.5;
    }
    out
}

/// The sin² envelope of every event at `t` seconds into an event lasting `big_t` seconds.
#[inline]
pub(crate) fn envelope(t: f64, big_t: f64) -> f64 {
    (std::f64::consts::PI * t / big_t).sin().powi(2)
}

/// Renders `len` samples starting at absolute index `n0` (float counts, before quantisation).
pub(crate) fn render_span(seed: u64, fs: u32, n0: i64, len: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; len];
    let fsf = f64::from(fs);
    let bg = Background::new(seed, fs);
    add_noise(
        seed ^ KEY_NOISE,
        n0,
        &mut out,
        &mut Ambient::new(fsf, bg.scale),
        |n| bg.level(n),
    );

    let n1 = n0 + len as i64;
    let from_ms = (i128::from(n0) * 1000).div_euclid(i128::from(fs)) as i64 - 1;
    let to_ms = (i128::from(n1) * 1000).div_euclid(i128::from(fs)) as i64 + 2;
    for ev in events(seed, from_ms, to_ms) {
        add_event(&ev, fs, n0, &mut out);
    }
    out
}

/// The absolute sample span `[start, end)` of an event at rate `fs`.
pub(crate) fn event_samples(ev: &Event, fs: u32) -> (i64, i64) {
    let fs128 = i128::from(fs);
    let s = (i128::from(ev.start_ms) * fs128 + 500).div_euclid(1000) as i64;
    (s, s + (ev.duration_s * f64::from(fs)).round() as i64)
}

fn add_event(ev: &Event, fs: u32, n0: i64, out: &mut [f32]) {
    let fsf = f64::from(fs);
    let (es, ee) = event_samples(ev, fs);
    let lo = es.max(n0);
    let hi = ee.min(n0 + out.len() as i64);
    if lo >= hi {
        return;
    }
    let big_t = (ee - es) as f64 / fsf;
    let tau = std::f64::consts::TAU;
    match &ev.shape {
        Shape::Sweep { f0, f1, harmonics } => {
            let k = (f1 - f0) / big_t;
            let partials = sweep_partials(*f0, *f1, *harmonics, ev.amplitude, fsf);
            for n in lo..hi {
                let t = (n - es) as f64 / fsf;
                let env = envelope(t, big_t);
                let ph = tau * (f0 * t + 0.5 * k * t * t);
                let v: f64 = partials.iter().map(|(h, amp)| amp * (h * ph).sin()).sum();
                out[(n - n0) as usize] += (env * v) as f32;
            }
        }
        Shape::Ship {
            tonals,
            broadband_cutoff,
        } => {
            let env = |n: i64| envelope((n - es) as f64 / fsf, big_t);
            // Broadband: `amplitude` is the amplitude spectral density (counts/√Hz) at CPA.
            let mut cascade = Cascade {
                a: (-tau * broadband_cutoff / fsf).exp(),
                g: ev.amplitude * (fsf / 2.0).sqrt(),
                s: [0.0; 2],
            };
            let slice = &mut out[(lo - n0) as usize..(hi - n0) as usize];
            add_noise(ev.key, lo, slice, &mut cascade, env);
            // Tonal lines: exact phase at each absolute chunk start, then a rotating phasor.
            let lines = ship_lines(tonals, ev.amplitude, fsf);
            let mut n = lo;
            while n < hi {
                let c0 = n.div_euclid(CHUNK) * CHUNK;
                let c1 = (c0 + CHUNK).min(hi);
                let e0 = env(c0);
                let e1 = env(c0 + CHUNK);
                // The phasor starts where the chunk (or the event) starts, never where this
                // render happens to start, so every render gives the same sample values.
                let p0 = c0.max(es);
                for &(f, a) in &lines {
                    let w = tau * f / fsf;
                    let (mut s, mut c) = (w * (p0 - es) as f64).sin_cos();
                    let (sw, cw) = w.sin_cos();
                    for m in p0..c1 {
                        if m >= n {
                            let e = e0 + (e1 - e0) * ((m - c0) as f64 / CHUNK as f64);
                            out[(m - n0) as usize] += (a * e * s) as f32;
                        }
                        (s, c) = (s * cw + c * sw, c * cw - s * sw);
                    }
                }
                n = c1;
            }
        }
    }
}

/// Rounds to 24-bit integer counts with clipping.
pub(crate) fn quantise(x: &[f32]) -> Vec<i32> {
    const MAX: f32 = 8_388_607.0;
    x.iter()
        .map(|v| v.round().clamp(-MAX - 1.0, MAX) as i32)
        .collect()
}
