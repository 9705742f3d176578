//! Window functions, periodic ("DFT-even") exactly as scipy's `get_window(name, N)` default
//! (`fftbins=True`): the symmetric window of length N+1 with its last sample dropped.
//!
//! Must not know: files, FFT plans, scaling.

use super::{DspError, Window};

impl Window {
    /// Parses `hann`, `hamming`, `blackman` or `kaiser:BETA` (case-insensitive; `hanning` is
    /// accepted as scipy does).
    pub fn parse(text: &str) -> Result<Window, DspError> {
        let lower = text.trim().to_ascii_lowercase();
        let bad = |reason: String| DspError::InvalidParam {
            field: "window",
            reason,
        };
        match lower.as_str() {
            "hann" | "hanning" => Ok(Window::Hann),
            "hamming" => Ok(Window::Hamming),
            "blackman" => Ok(Window::Blackman),
            other => {
                if let Some(beta) = other.strip_prefix("kaiser:") {
                    let beta: f64 = beta
                        .parse()
                        .map_err(|_| bad(format!("kaiser beta {beta:?} is not a number")))?;
                    if !beta.is_finite() || beta < 0.0 {
                        return Err(bad(format!(
                            "kaiser beta must be finite and ≥ 0, got {beta}"
                        )));
                    }
                    Ok(Window::Kaiser(beta))
                } else if other == "kaiser" {
                    Err(bad("kaiser needs a shape parameter, e.g. kaiser:8.6".into()))
                } else {
                    Err(bad(format!(
                        "unknown window {text:?} (expected hann, hamming, blackman or kaiser:BETA)"
                    )))
                }
            }
        }
    }

    /// The window's name as scipy spells it (`("kaiser", beta)` becomes `kaiser:BETA`).
    pub fn name(&self) -> String {
        match self {
            Window::Hann => "hann".into(),
            Window::Hamming => "hamming".into(),
            Window::Blackman => "blackman".into(),
            Window::Kaiser(beta) => format!("kaiser:{beta}"),
        }
    }

    /// The periodic window of `n` samples, in f64.
    pub fn coefficients(&self, n: usize) -> Vec<f64> {
        if n == 0 {
            return Vec::new();
        }
        if n == 1 {
            return vec![1.0];
        }
        // Periodic = symmetric of length n + 1, last sample dropped: the "denominator" is n.
        let m = n as f64;
        match *self {
            Window::Hann => general_cosine(n, &[0.5, 0.5]),
            Window::Hamming => general_cosine(n, &[0.54, 0.46]),
            Window::Blackman => general_cosine(n, &[0.42, 0.5, 0.08]),
            Window::Kaiser(beta) => {
                let alpha = m / 2.0;
                let denom = bessel_i0(beta);
                (0..n)
                    .map(|i| {
                        let r = (i as f64 - alpha) / alpha;
                        bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / denom
                    })
                    .collect()
            }
        }
    }
}

/// scipy's `general_cosine(M+1, a, sym=True)[:-1]`: Σ_k (−1)^k a_k cos(2πk i / n).
fn general_cosine(n: usize, a: &[f64]) -> Vec<f64> {
    let m = n as f64;
    (0..n)
        .map(|i| {
            // scipy builds fac = linspace(-π, π, M+1) and sums a_k cos(k·fac); with fac =
            // 2πi/n − π this equals Σ (−1)^k a_k cos(2πk i/n).
            let x = 2.0 * std::f64::consts::PI * i as f64 / m;
            a.iter()
                .enumerate()
                .map(|(k, &ak)| {
                    let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
                    sign * ak * (k as f64 * x).cos()
                })
                .sum()
        })
        .collect()
}

/// The modified Bessel function of the first kind, order 0 (power series; relative accuracy
/// about 1e-16 for the arguments a Kaiser window uses).
pub fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut k = 1.0;
    loop {
        term *= q / (k * k);
        sum += term;
        if term < sum * 1e-17 || k > 500.0 {
            return sum;
        }
        k += 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64], tol: f64) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= tol, "index {i}: {x} vs {y}");
        }
    }

    #[test]
    fn hann_periodic_matches_scipy_values() {
        // scipy.signal.get_window('hann', 8)
        let expect = [
            0.0,
            0.146_446_609_406_726_24,
            0.5,
            0.853_553_390_593_273_8,
            1.0,
            0.853_553_390_593_273_8,
            0.5,
            0.146_446_609_406_726_24,
        ];
        close(&Window::Hann.coefficients(8), &expect, 1e-15);
    }

    #[test]
    fn hamming_and_blackman_periodic_values() {
        // scipy.signal.get_window('hamming', 4) and ('blackman', 4)
        close(
            &Window::Hamming.coefficients(4),
            &[0.08, 0.54, 1.0, 0.54],
            1e-15,
        );
        close(
            &Window::Blackman.coefficients(4),
            &[-1.387_778_780_781_445_7e-17, 0.34, 1.0, 0.34],
            1e-15,
        );
    }

    #[test]
    fn kaiser_periodic_values() {
        // scipy.signal.get_window(('kaiser', 8.0), 6)
        let expect = [
            0.002_338_830_512_733_33,
            0.152_010_697_144_661_92,
            0.652_478_674_462_401_4,
            1.0,
            0.652_478_674_462_401_4,
            0.152_010_697_144_661_92,
        ];
        close(&Window::Kaiser(8.0).coefficients(6), &expect, 1e-12);
    }

    #[test]
    fn bessel_i0_known_values() {
        assert!((bessel_i0(0.0) - 1.0).abs() < 1e-16);
        assert!((bessel_i0(1.0) - 1.266_065_877_752_008_4).abs() < 1e-15);
        assert!((bessel_i0(10.0) - 2_815.716_628_466_254).abs() < 1e-9);
    }

    #[test]
    fn parse_accepts_known_names_and_rejects_others() {
        assert_eq!(Window::parse("HANN").unwrap(), Window::Hann);
        assert_eq!(Window::parse("kaiser:14").unwrap(), Window::Kaiser(14.0));
        assert!(Window::parse("kaiser").is_err());
        assert!(Window::parse("kaiser:x").is_err());
        assert!(Window::parse("kaiser:-1").is_err());
        let err = Window::parse("boxcar").unwrap_err().to_string();
        assert!(err.contains("window"), "{err}");
    }
}
