//! Test audio shared by the benchmarks: deterministic noise plus tones as 24-bit integers, and
//! a 24-bit mono FLAC of them through flac-codec's default (LPC) encoder, independent of the
//! project's own writer. Included with `mod common;`; not a benchmark itself.

use std::path::Path;

/// `n` samples at `fs` Hz: xorshift noise (±0.05 of full scale) plus `(amplitude, hertz)` tones,
/// scaled to 24 bits. `state` carries the noise on from one call to the next.
pub fn noise_and_tones(state: &mut u64, fs: u32, n: usize, tones: &[(f64, f64)]) -> Vec<i32> {
    (0..n)
        .map(|k| {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            let noise = ((*state >> 40) as f64 / (1u64 << 24) as f64 - 0.5) * 0.1;
            let t = k as f64 / f64::from(fs);
            let x = tones.iter().fold(noise, |x, &(a, f)| {
                x + a * (2.0 * std::f64::consts::PI * f * t).sin()
            });
            (x * 8_388_607.0).round() as i32
        })
        .collect()
}

/// Writes `samples` as a 24-bit mono FLAC at `fs` Hz.
pub fn write_flac24(path: &Path, fs: u32, samples: &[i32]) {
    let mut w = flac_codec::encode::FlacSampleWriter::create(
        path,
        flac_codec::encode::Options::default(),
        fs,
        24,
        1,
        Some(samples.len() as u64),
    )
    .expect("create FLAC");
    w.write(samples).expect("encode FLAC");
    w.finalize().expect("finish FLAC");
}
