//! The day's pictures: a long-term spectral average (LTSA, minutes × HMD bands on a log
//! frequency axis, UTC clock on the time axis, dB colour bar) and the percentile spectra drawn
//! over the spectral probability density (level × log frequency, the L1…L99 curves in yellow).
//!
//! Must not know: decoding, STFT, NetCDF.

use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::day::{DayAcc, DayProduct, MINUTES, PERCENTILES};
use super::{Context, SoundscapeError};
use crate::media::{self, MediaError, PngOptions, SpectrogramImage};

fn write_png(
    path: &Path,
    img: &SpectrogramImage,
    opts: &PngOptions,
) -> Result<(), SoundscapeError> {
    let media_err = |e: media::PngError| MediaError::Codec {
        file: path.to_path_buf(),
        format: "PNG",
        reason: e.to_string(),
    };
    let rgb = media::render_spectrogram(img, opts).map_err(media_err)?;
    let bytes = media::encode_png(&rgb).map_err(media_err)?;
    media::atomic::write_atomic(path, &bytes).map_err(|source| MediaError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    Ok(())
}

/// The outputs of UTC day `day` (`YYYYMMDD`): NetCDF, LTSA PNG, percentile PNG.
pub(crate) fn day_paths(out_dir: &Path, day: &str) -> [PathBuf; 3] {
    [
        out_dir.join(format!("soundscape_{day}.nc")),
        out_dir.join(format!("soundscape_{day}_ltsa.png")),
        out_dir.join(format!("soundscape_{day}_percentiles.png")),
    ]
}

/// Writes `soundscape_<day>_ltsa.png` and `soundscape_<day>_percentiles.png`.
pub(crate) fn write_pngs(
    out_dir: &Path,
    day: &str,
    acc: &DayAcc,
    stats: &DayProduct,
    ctx: &Context,
) -> Result<Vec<PathBuf>, SoundscapeError> {
    let unit = if ctx.spec.calibration.is_calibrated() {
        "dB re 1 uPa²/Hz"
    } else {
        "dB re 1 FS²/Hz"
    };
    let n = ctx.hmd.len();
    let day_start = Timestamp::from_second(acc.day_index * 86_400)
        .unwrap_or_default()
        .as_second();
    let times: Vec<f64> = (0..MINUTES).map(|m| 60.0 * m as f64).collect();
    let [_, ltsa, pct] = day_paths(out_dir, day);
    let title = format!("LTSA {day} (1-minute hybrid millidecade spectra)");
    // Minutes without data are drawn at the bottom of the colour range.
    let lo_hi = finite_range(&acc.hmd_db);
    let db: Vec<f32> = acc
        .hmd_db
        .iter()
        .map(|&v| if v.is_nan() { lo_hi.0 - 100.0 } else { v })
        .collect();
    let img = SpectrogramImage {
        db: &db,
        n_freq: n,
        n_time: MINUTES,
        frequency_hz: &ctx.hmd.centres,
        time_s: &times,
        unit,
        title: &title,
    };
    let opts = PngOptions {
        plot_width: 1440,
        plot_height: 600,
        log_frequency: true,
        utc_start: Some(day_start),
        ..PngOptions::default()
    };
    write_png(&ltsa, &img, &opts)?;

    // Percentile spectra over the SPD: x = level, y = frequency.
    let levels = &stats.spd_levels;
    let nl = levels.len();
    let mut grid = vec![0f32; n * nl];
    for b in 0..n {
        for l in 0..nl {
            grid[l * n + b] = stats.spd[b * nl + l];
        }
    }
    let peak = grid.iter().copied().fold(0f32, f32::max).max(1e-6);
    for (k, _) in PERCENTILES.iter().enumerate() {
        for b in 0..n {
            let v = stats.percentiles[k * n + b];
            if v.is_finite() && nl > 0 {
                let l = ((f64::from(v) - (levels[0] - 0.5)).floor().max(0.0) as usize).min(nl - 1);
                grid[l * n + b] = peak * 1.2;
            }
        }
    }
    let title = format!("{day}: percentiles L1 L5 L10 L50 L90 L95 L99 (yellow) over the SPD");
    let img = SpectrogramImage {
        db: &grid,
        n_freq: n,
        n_time: nl,
        frequency_hz: &ctx.hmd.centres,
        time_s: levels,
        unit: "probability density (1/dB)",
        title: &title,
    };
    let opts = PngOptions {
        plot_width: 900,
        plot_height: 600,
        clim: Some((0.0, peak)),
        log_frequency: true,
        x_label: Some("Level (dB, same unit as the LTSA)"),
        ..PngOptions::default()
    };
    write_png(&pct, &img, &opts)?;
    Ok(vec![ltsa, pct])
}

fn finite_range(v: &[f32]) -> (f32, f32) {
    v.iter()
        .filter(|x| x.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        })
}
