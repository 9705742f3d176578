//! Frequency bands over a one-sided PSD: hybrid millidecade (HMD) limits exactly as PyPAM's
//! `get_hybrid_millidecade_limits(band=[0, fs/2], nfft, fs)` (what MBARI's pbp uses), base-10
//! decidecade limits, and the band aggregation with partial-bin weighting at band edges of
//! PyPAM's `spectra_ds_to_bands`.
//!
//! Conventions (facts from PyPAM 1.0 / pbp 1.9, re-derived, not copied):
//! - Millidecade centres are `10 · 10^((2n − 1)/2000)` Hz (n = 1, 2, …), edges at
//!   `centre · 10^(∓1/2000)`. Below the crossover the bands are the FFT bins themselves
//!   (`k·Δf ± Δf/2`, from DC); the crossover is the first millidecade wider than Δf, then moved
//!   up while the millidecade centre keeps getting closer to a bin centre (435 Hz at Δf = 1 Hz).
//!   The last band's upper edge is clipped to fs/2.
//! - A band's edge bins are the bins whose ±Δf/2 span holds the edge; they count with the
//!   fraction of their span inside the band, the bins between them fully.
//! - PyPAM sums the PSD densities and divides by the bandwidth without multiplying by Δf; that
//!   equals the mean density only when Δf = 1 Hz (pbp's only setting, nfft = fs). We integrate
//!   (× Δf), which is identical at Δf = 1 Hz and physically right otherwise.
//!
//! Must not know: files, time, calibration.

/// Band edges and centres in Hz: band `i` spans `[limits[i], limits[i+1])`.
#[derive(Debug, Clone, PartialEq)]
pub struct Bands {
    /// Band edges, Hz, increasing (one more than the bands).
    pub limits: Vec<f64>,
    /// Band centre frequencies, Hz.
    pub centres: Vec<f64>,
}

impl Bands {
    /// Number of bands.
    pub fn len(&self) -> usize {
        self.centres.len()
    }

    /// True when there are no bands.
    pub fn is_empty(&self) -> bool {
        self.centres.is_empty()
    }

    /// Lower edges (one per band).
    pub fn lower(&self) -> &[f64] {
        &self.limits[..self.centres.len()]
    }

    /// Upper edges (one per band).
    pub fn upper(&self) -> &[f64] {
        &self.limits[1..=self.centres.len()]
    }
}

/// Centre of millidecade band `n` (PyPAM's `get_center_freq` for 1000 bands per decade).
fn millidecade_centre(n: i64) -> f64 {
    let g = 10f64.powf(3.0 / 10.0);
    let b = 1000.0 * 0.3;
    10.0 * g.powf((2 * (n - 1) + 1) as f64 / (2.0 * b))
}

/// Hybrid millidecade bands for sample rate `fs` and FFT length `nfft`, over `[0, fs/2]`.
pub fn hybrid_millidecade(fs: f64, nfft: usize) -> Bands {
    let top = fs / 2.0;
    let fbw = fs / nfft as f64;
    let low = 10f64.powf(-1.0 / 2000.0);
    let high = 10f64.powf(1.0 / 2000.0);
    let mut count: i64 = 0;
    let mut width = 0.0;
    while width < fbw {
        count += 1;
        let c = millidecade_centre(count);
        width = high * c - low * c;
    }
    let mut centre = millidecade_centre(count);
    let mut linear = (centre / fbw).round_ties_even();
    let mut dc = (linear * fbw - centre).abs() + 0.1;
    while (linear * fbw - centre).abs() < dc {
        dc = (linear * fbw - centre).abs();
        count += 1;
        linear += 1.0;
        centre = millidecade_centre(count);
    }
    linear -= 1.0;
    count -= 1;
    if fbw * linear > top {
        linear = top / fbw + 1.0;
    }
    let mut limits = Vec::new();
    let mut centres = Vec::new();
    let mut i = 0.0;
    while i < linear {
        let fc = i * fbw;
        centres.push(fc);
        limits.push(fc - fbw / 2.0);
        i += 1.0;
    }
    let mut edge = centre * high;
    let mut fc = centre;
    while edge < top {
        fc = millidecade_centre(count);
        edge = fc * high;
        centres.push(fc);
        limits.push(fc * low);
        count += 1;
    }
    if edge > top {
        edge = top;
        if fc > top {
            if let Some(last) = centres.last_mut() {
                *last = top;
            }
        }
    }
    limits.push(edge);
    Bands { limits, centres }
}

/// Base-10 decidecade (one-third-octave) bands with centres `10^(n/10)` Hz and edges
/// `centre · 10^(∓1/20)`: every band at least one FFT bin wide and inside `(0, fs/2]`.
pub fn decidecade(fs: f64, nfft: usize) -> Bands {
    let fbw = fs / nfft as f64;
    let top = fs / 2.0;
    let (lo_k, hi_k) = (10f64.powf(-1.0 / 20.0), 10f64.powf(1.0 / 20.0));
    let mut limits = Vec::new();
    let mut centres = Vec::new();
    for n in -20i32..=60 {
        let c = 10f64.powf(f64::from(n) / 10.0);
        let (l, u) = (c * lo_k, c * hi_k);
        if u - l < fbw || u > top {
            continue;
        }
        if limits
            .last()
            .is_none_or(|&last: &f64| (last - l).abs() > 1e-9 * l)
        {
            if !centres.is_empty() {
                break; // keep the list contiguous
            }
            limits.push(l);
        }
        centres.push(c);
        limits.push(u);
    }
    Bands { limits, centres }
}

/// How each band is built from PSD bins (precomputed once per FFT geometry).
#[derive(Debug, Clone)]
pub struct BandMap {
    /// Per band: (lower edge bin, its weight, upper edge bin, its weight, bandwidth in Hz).
    bands: Vec<(usize, f64, usize, f64, f64)>,
    fbw: f64,
    n_freq: usize,
}

impl BandMap {
    /// Maps `bands` onto a PSD of `n_freq` bins spaced `fbw` Hz from 0 Hz.
    pub fn new(bands: &Bands, fbw: f64, n_freq: usize) -> BandMap {
        let last = n_freq.saturating_sub(1);
        let index = |f: f64| ((f + fbw / 2.0) / fbw).floor().max(0.0) as usize;
        let n = bands.len();
        let mut out = Vec::with_capacity(n);
        for b in 0..n {
            let (lf, uf) = (bands.limits[b], bands.limits[b + 1]);
            let li = index(lf).min(last);
            let ui = index(uf).min(last);
            let lw = li as f64 * fbw + fbw / 2.0 - lf;
            let uw = uf - (ui as f64 * fbw - fbw / 2.0);
            out.push((li, lw / fbw, ui, uw / fbw, uf - lf));
        }
        BandMap {
            bands: out,
            fbw,
            n_freq,
        }
    }

    /// Number of bands (as many as the [`Bands`] it was built from).
    pub fn len(&self) -> usize {
        self.bands.len()
    }

    /// True when there are no bands.
    pub fn is_empty(&self) -> bool {
        self.bands.is_empty()
    }

    /// Band powers (PSD integrated over each band, in PSD unit × Hz) into `power`.
    pub fn power(&self, psd: &[f64], power: &mut Vec<f64>) {
        power.clear();
        debug_assert_eq!(psd.len(), self.n_freq);
        for &(li, lw, ui, uw, width) in &self.bands {
            // A band inside one bin takes that bin's share of its own width (lw and uw would
            // both cover it: counting them would double it).
            let mut s = if li == ui {
                psd[li] * width / self.fbw
            } else {
                psd[li] * lw + psd[ui] * uw
            };
            if ui > li + 1 {
                s += psd[li + 1..ui].iter().sum::<f64>();
            }
            power.push(s * self.fbw);
        }
    }

    /// Mean densities over each band (band power / bandwidth): the HMD spectrum.
    pub fn density(&self, psd: &[f64], out: &mut Vec<f64>) {
        self.power(psd, out);
        for (v, b) in out.iter_mut().zip(&self.bands) {
            *v /= b.4;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hybrid_bands_at_one_hertz_bins_cross_over_at_435_hz() {
        let b = hybrid_millidecade(48_000.0, 48_000);
        // 0..434 Hz are the FFT bins, then millidecades from ~435 Hz to 24 kHz.
        assert_eq!(b.centres[434], 434.0);
        assert!((b.centres[435] - 435.0).abs() < 1.0, "{}", b.centres[435]);
        assert_eq!(b.limits[0], -0.5);
        assert_eq!(*b.limits.last().unwrap(), 24_000.0);
        assert_eq!(b.limits.len(), b.centres.len() + 1);
        assert!(b.limits.windows(2).all(|w| w[1] > w[0]));
        // about 1000·log10(24000/435) millidecades above the crossover
        let n_log = b.len() - 435;
        assert!((1740..1745).contains(&n_log), "{n_log}");
    }

    #[test]
    fn white_noise_density_is_preserved_by_every_band() {
        let (fs, nfft) = (2000.0, 1000); // Δf = 2 Hz
        let psd = vec![3.0; nfft / 2 + 1];
        for bands in [hybrid_millidecade(fs, nfft), decidecade(fs, nfft)] {
            let map = BandMap::new(&bands, fs / nfft as f64, psd.len());
            let mut d = Vec::new();
            map.density(&psd, &mut d);
            for (i, v) in d.iter().enumerate().skip(1).take(d.len() - 2) {
                assert!((v - 3.0).abs() < 1e-9, "band {i}: {v}");
            }
        }
    }

    #[test]
    fn a_tone_lands_in_its_band_with_partial_weights_at_the_edges() {
        let mut psd = vec![0.0; 501];
        psd[300] = 10.0;
        let bands = Bands {
            limits: vec![299.2, 300.3, 301.0],
            centres: vec![299.75, 300.65],
        };
        let map = BandMap::new(&bands, 1.0, psd.len());
        let mut p = Vec::new();
        map.power(&psd, &mut p);
        // bin 300 spans [299.5, 300.5): 0.8 of it in band 0, 0.2 in band 1
        assert!(
            (p[0] - 8.0).abs() < 1e-9 && (p[1] - 2.0).abs() < 1e-9,
            "{p:?}"
        );
    }

    #[test]
    fn decidecades_are_contiguous_and_inside_nyquist() {
        let b = decidecade(64_000.0, 64_000);
        assert!(
            (b.centres[0] - 10f64.powf(0.7)).abs() < 1e-9,
            "{:?}",
            &b.centres[..3]
        );
        assert!(*b.limits.last().unwrap() <= 32_000.0);
        assert!(b.limits.windows(2).all(|w| w[1] > w[0]));
        assert_eq!(b.len(), 38); // 5.01 Hz … 25.1 kHz
    }
}
