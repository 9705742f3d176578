//! Distribution statistics over time for each frequency band: percentiles (numpy's default
//! 'linear' method) and the spectral probability density (SPD, Merchant et al. 2013): per band,
//! a histogram of levels in fixed dB bins normalised to a probability density (1/dB).
//!
//! NaN values (minutes without data) are left out. Must not know: files, time, units.

/// The `q`-th percentiles (0–100) of `values`, ignoring NaN, as `numpy.nanpercentile(values, q)`
/// with the default linear interpolation; NaN when no finite value is present.
pub fn percentiles(values: &[f32], q: &[f64], scratch: &mut Vec<f32>) -> Vec<f32> {
    scratch.clear();
    scratch.extend(values.iter().copied().filter(|v| !v.is_nan()));
    if scratch.is_empty() {
        return vec![f32::NAN; q.len()];
    }
    scratch.sort_unstable_by(f32::total_cmp);
    let n = scratch.len();
    q.iter()
        .map(|&p| {
            let pos = (p.clamp(0.0, 100.0) / 100.0) * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            let frac = pos - lo as f64;
            let (a, b) = (f64::from(scratch[lo]), f64::from(scratch[hi]));
            (a + (b - a) * frac) as f32
        })
        .collect()
}

/// Spectral probability density: `levels` is time-major (`levels[t * n_band + b]`, dB). Returns
/// per band (band-major, `n_band × edges.len()-1`) the fraction of finite values in each bin
/// `[edges[i], edges[i+1])` divided by the bin width; values outside the edges count in no bin
/// but in the total, so a column sums (× width) to the fraction inside the range.
pub fn spectral_probability_density(levels: &[f32], n_band: usize, edges: &[f64]) -> Vec<f32> {
    let n_bins = edges.len().saturating_sub(1);
    let mut out = vec![0f32; n_band * n_bins];
    if n_bins == 0 || n_band == 0 {
        return out;
    }
    let (lo, width) = (edges[0], edges[1] - edges[0]);
    let mut totals = vec![0u32; n_band];
    let mut counts = vec![0u32; n_band * n_bins];
    for row in levels.chunks_exact(n_band) {
        for (b, &v) in row.iter().enumerate() {
            if v.is_nan() {
                continue;
            }
            totals[b] += 1;
            let k = ((f64::from(v) - lo) / width).floor();
            if k >= 0.0 && (k as usize) < n_bins {
                counts[b * n_bins + k as usize] += 1;
            }
        }
    }
    for b in 0..n_band {
        if totals[b] == 0 {
            continue;
        }
        let norm = 1.0 / (f64::from(totals[b]) * width);
        for k in 0..n_bins {
            out[b * n_bins + k] = (f64::from(counts[b * n_bins + k]) * norm) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_match_numpy_linear_and_skip_nan() {
        // numpy.nanpercentile([1, 2, 3, 4, nan, 10], [0, 10, 50, 90, 100]) = [1, 1.4, 3, 7.6, 10]
        let v = [1.0, 2.0, 3.0, 4.0, f32::NAN, 10.0];
        let got = percentiles(&v, &[0.0, 10.0, 50.0, 90.0, 100.0], &mut Vec::new());
        let want = [1.0, 1.4, 3.0, 7.6, 10.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{got:?}");
        }
        assert!(percentiles(&[f32::NAN], &[50.0], &mut Vec::new())[0].is_nan());
    }

    #[test]
    fn spd_columns_integrate_to_the_fraction_in_range() {
        // two bands, four minutes
        let levels = [50.0, 70.5, 51.0, 70.0, 50.5, 200.0, f32::NAN, 71.9];
        let edges: Vec<f64> = (0..=30).map(|i| 45.0 + f64::from(i)).collect();
        let spd = spectral_probability_density(&levels, 2, &edges);
        let n = edges.len() - 1;
        let band0: f32 = spd[..n].iter().sum();
        let band1: f32 = spd[n..].iter().sum();
        assert!((band0 - 1.0).abs() < 1e-6, "{band0}");
        assert!((band1 - 0.75).abs() < 1e-6, "{band1}"); // 200 dB is out of range
        assert!((spd[5] - 2.0 / 3.0).abs() < 1e-6); // 50 and 50.5 in [50, 51)
    }
}
