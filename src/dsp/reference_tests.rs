//! Checks of the STFT against a slow textbook DFT and analytic cases (sine peak and power,
//! white-noise level, Parseval), of the streaming path against the one-shot one, and of Welch
//! frames paired in one complex FFT against single frames.
//!
//! Must not know: scipy itself (scripts/scipy_compare.py compares against it when Python is
//! available); the constants here come from the definitions.

use super::*;

/// Deterministic uniform noise in [−1, 1) (xorshift64*), independent of any crate.
fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.max(1);
    (0..n)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            let v = s.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
            (v as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32
        })
        .collect()
}

/// The scipy definition written out with an O(n²) DFT in f64.
fn reference(x: &[f32], fs: f64, p: &StftParams) -> Vec<Vec<f64>> {
    let w = p.window.coefficients(p.win_length);
    let scales = p.bin_scales(fs);
    let n_frames = p.frame_count(x.len() as u64) as usize;
    (0..n_frames)
        .map(|t| {
            let seg = &x[t * p.hop..t * p.hop + p.win_length];
            (0..p.n_freq())
                .map(|k| {
                    let (mut re, mut im) = (0.0f64, 0.0f64);
                    for (n, (&xn, &wn)) in seg.iter().zip(&w).enumerate() {
                        let ang =
                            -2.0 * std::f64::consts::PI * (k * n % p.nfft) as f64 / p.nfft as f64;
                        let v = f64::from(xn) * wn;
                        re += v * ang.cos();
                        im += v * ang.sin();
                    }
                    (re * re + im * im) * scales[k]
                })
                .collect()
        })
        .collect()
}

fn params(nfft: usize, win: usize, hop: usize, window: Window, scaling: Scaling) -> StftParams {
    StftParams {
        nfft,
        win_length: win,
        hop,
        window,
        scaling,
    }
}

fn max_rel_err(got: &Spectrogram, want: &[Vec<f64>]) -> f64 {
    let mut worst = 0.0f64;
    for (t, row) in want.iter().enumerate() {
        for (f, &w) in row.iter().enumerate() {
            let g = f64::from(got.psd[t * got.n_freq + f]);
            worst = worst.max((g - w).abs() / w.abs().max(1e-300));
        }
    }
    worst
}

#[test]
fn matches_reference_dft_for_every_window_odd_and_even_nfft() {
    let x = noise(700, 7);
    let cases = [
        params(64, 64, 32, Window::Hann, Scaling::Density),
        params(65, 50, 17, Window::Hamming, Scaling::Spectrum),
        params(128, 100, 100, Window::Blackman, Scaling::Density),
        params(33, 33, 1, Window::Kaiser(8.6), Scaling::Spectrum),
    ];
    for p in cases {
        let got = spectrogram(&x, 1000.0, &p).unwrap();
        let want = reference(&x, 1000.0, &p);
        assert_eq!(got.n_time, want.len());
        assert_eq!(got.n_freq, p.nfft / 2 + 1);
        let err = max_rel_err(&got, &want);
        assert!(err < 1e-6, "{p:?}: max relative error {err}");
    }
}

#[test]
fn axes_follow_scipy_conventions() {
    let p = params(10, 5, 2, Window::Hann, Scaling::Density);
    let s = spectrogram(&noise(20, 1), 100.0, &p).unwrap();
    // (20 − 3) // 2 = 8 frames, centres at (2k + 2.5) / 100 s.
    assert_eq!(s.n_time, 8);
    assert!((s.time_s[0] - 0.025).abs() < 1e-15 && (s.time_s[7] - 0.165).abs() < 1e-15);
    assert_eq!(s.frequency_hz, vec![0.0, 10.0, 20.0, 30.0, 40.0, 50.0]);
}

#[test]
fn sine_peak_bin_and_power() {
    // A bin-centred sine of amplitude A: with spectrum scaling the peak bin holds A²/2 (V²
    // of the RMS), whatever the window.
    let fs = 1024.0;
    let nfft = 256;
    let amp = 0.5f64;
    let bin = 40;
    let f0 = bin as f64 * fs / nfft as f64;
    let x: Vec<f32> = (0..4096)
        .map(|n| (amp * (2.0 * std::f64::consts::PI * f0 * n as f64 / fs).sin()) as f32)
        .collect();
    for window in [
        Window::Hann,
        Window::Hamming,
        Window::Blackman,
        Window::Kaiser(6.0),
    ] {
        let p = params(nfft, nfft, nfft / 2, window, Scaling::Spectrum);
        let s = spectrogram(&x, fs, &p).unwrap();
        for t in 0..s.n_time {
            let row = &s.psd[t * s.n_freq..(t + 1) * s.n_freq];
            let peak = (0..s.n_freq)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap();
            assert_eq!(peak, bin, "{window:?}");
            let power = f64::from(row[peak]);
            assert!(
                (power - amp * amp / 2.0).abs() < 1e-5,
                "{window:?}: {power}"
            );
        }
    }
}

#[test]
fn white_noise_density_level_and_parseval() {
    // Uniform noise on [−1, 1) has variance 1/3; its one-sided density is 2σ²/fs.
    let fs = 2000.0;
    let x = noise(1 << 17, 42);
    let p = params(512, 512, 256, Window::Hann, Scaling::Density);
    let s = spectrogram(&x, fs, &p).unwrap();
    let inner: Vec<f64> = (1..s.n_freq - 1)
        .map(|f| {
            (0..s.n_time)
                .map(|t| f64::from(s.psd[t * s.n_freq + f]))
                .sum::<f64>()
                / s.n_time as f64
        })
        .collect();
    let mean = inner.iter().sum::<f64>() / inner.len() as f64;
    let expect = 2.0 * (1.0 / 3.0) / fs;
    assert!((mean / expect - 1.0).abs() < 0.02, "{mean} vs {expect}");

    // Parseval with a boxcar-equivalent check: Σ_f PSD·Δf equals the windowed frame's power
    // Σ(x·w)² / Σw² for each frame.
    let w = Window::Hann.coefficients(512);
    let sw2: f64 = w.iter().map(|v| v * v).sum();
    for t in [0, s.n_time / 2, s.n_time - 1] {
        let seg = &x[t * 256..t * 256 + 512];
        let time_power: f64 = seg
            .iter()
            .zip(&w)
            .map(|(&a, &b)| (f64::from(a) * b).powi(2))
            .sum::<f64>()
            / sw2;
        let freq_power: f64 = (0..s.n_freq)
            .map(|f| f64::from(s.psd[t * s.n_freq + f]))
            .sum::<f64>()
            * fs
            / 512.0;
        // One-sided sum: DC and Nyquist counted once, the rest doubled, which is exactly the
        // two-sided total.
        assert!(
            (freq_power / time_power - 1.0).abs() < 1e-6,
            "{freq_power} vs {time_power}"
        );
    }
}

#[test]
fn streaming_in_odd_blocks_equals_one_shot_and_f32_is_close() {
    let x = noise(10_000, 9);
    let p = params(300, 256, 100, Window::Hann, Scaling::Density);
    let whole = spectrogram(&x, 8000.0, &p).unwrap();
    for block in [1usize, 7, 255, 256, 1000, 4096] {
        let mut stft = Stft::<f64>::new(&p, 8000.0).unwrap();
        let mut out = Vec::new();
        let mut next = 0u64;
        for chunk in x.chunks(block) {
            stft.push(chunk, |k, psd| {
                assert_eq!(k, next);
                next += 1;
                out.extend_from_slice(psd);
            });
        }
        assert_eq!(out, whole.psd, "block {block}");
    }
    let mut fast = Stft::<f32>::new(&p, 8000.0).unwrap();
    let mut out = Vec::new();
    fast.push(&x, |_, psd| out.extend_from_slice(psd));
    let worst = out
        .iter()
        .zip(&whole.psd)
        .map(|(a, b)| ((a - b) / b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-3, "f32 STFT relative error {worst}");
}

#[test]
fn welch_mean_averages_frames() {
    let x = noise(5000, 3);
    let p = params(128, 128, 64, Window::Hann, Scaling::Density);
    let s = spectrogram(&x, 100.0, &p).unwrap();
    let mut welch = WelchMean::new(s.n_freq);
    for t in 0..s.n_time {
        welch.add(&s.psd[t * s.n_freq..(t + 1) * s.n_freq]);
    }
    assert_eq!(welch.count(), s.n_time as u64);
    let mean = welch.mean();
    let f = 10;
    let direct: f64 = (0..s.n_time)
        .map(|t| f64::from(s.psd[t * s.n_freq + f]))
        .sum::<f64>()
        / s.n_time as f64;
    assert!((f64::from(mean[f]) / direct - 1.0).abs() < 1e-6);
}

#[test]
fn invalid_parameters_name_the_field() {
    let x = noise(100, 1);
    let cases = [
        (params(64, 128, 32, Window::Hann, Scaling::Density), "nfft"),
        (params(64, 64, 0, Window::Hann, Scaling::Density), "hop"),
        (params(64, 64, 65, Window::Hann, Scaling::Density), "hop"),
        (
            params(64, 0, 1, Window::Hann, Scaling::Density),
            "win_length",
        ),
        (
            params(256, 256, 1, Window::Hann, Scaling::Density),
            "win_length",
        ),
        (
            params(64, 64, 1, Window::Kaiser(f64::NAN), Scaling::Density),
            "window",
        ),
    ];
    for (p, field) in cases {
        let err = spectrogram(&x, 100.0, &p).unwrap_err().to_string();
        assert!(err.contains(field), "{p:?}: {err}");
    }
    let p = params(64, 64, 32, Window::Hann, Scaling::Density);
    assert!(spectrogram(&x, 0.0, &p)
        .unwrap_err()
        .to_string()
        .contains("fs"));
}

/// Welch frames two to a complex FFT give the mean of the frames' own PSDs, for even and odd
/// frame counts, even and odd FFT lengths, zero padding, and frames split by `reset`.
#[test]
fn paired_welch_frames_give_the_mean_of_single_frames() {
    let mut odd = false;
    for (nfft, win, hop, n) in [
        (64, 64, 32, 64 * 9),
        (64, 64, 32, 64 * 5),
        (63, 63, 21, 700),
        (100, 60, 30, 1000),
    ] {
        let params = StftParams {
            nfft,
            win_length: win,
            hop,
            window: Window::Hann,
            scaling: Scaling::Density,
        };
        let x: Vec<f32> = noise(n, 5)
            .iter()
            .enumerate()
            .map(|(i, v)| 0.5 * v + 0.5 * (i as f32 * 0.37).sin())
            .collect();
        let mut one = WelchMean::new(params.n_freq());
        let mut stft = Stft::<f32>::new(&params, 1000.0).unwrap();
        stft.push(&x[..n / 3], |_, p| one.add(p));
        stft.reset();
        stft.push(&x[n / 3..], |_, p| one.add(p));
        let mut paired = WelchMean::new(params.n_freq());
        let mut stft = Stft::<f32>::new(&params, 1000.0).unwrap();
        for block in x[..n / 3].chunks(17) {
            stft.push_welch(block, &mut paired);
        }
        stft.reset();
        stft.push_welch(&x[n / 3..], &mut paired);
        stft.finish_welch(&mut paired);
        assert_eq!(paired.count(), one.count(), "nfft {nfft}, {n} samples");
        odd |= one.count() % 2 == 1;
        for (k, (a, b)) in one.mean().iter().zip(paired.mean()).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * a.abs() + 1e-12,
                "nfft {nfft}, bin {k}: {a} vs {b}"
            );
        }
        // Nothing waits after a finish: a second one adds nothing.
        stft.finish_welch(&mut paired);
        assert_eq!(paired.count(), one.count());
    }
    assert!(odd, "a frame left without a partner is covered");
}
