//! The day's pictures: a long-term spectral average (LTSA, minutes × HMD bands on a log
//! frequency axis, UTC clock on the time axis, dB colour bar; minutes without data are drawn
//! in neutral grey, as the title says) and the percentile spectra drawn over the spectral
//! probability density (level × log frequency, each of L1…L99 in its own colour, with a legend).
//!
//! Must not know: decoding, STFT, NetCDF.

use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::day::{DayAcc, DayProduct, MINUTES, PERCENTILES};
use super::{Context, SoundscapeError};
use crate::media::{self, Curve, MediaError, PngOptions, SpectrogramImage};

/// Colours of the percentile curves, L1 … L99 (distinct on viridis, light to dark).
const CURVE_COLOURS: [[u8; 3]; 7] = [
    [228, 26, 28],
    [255, 127, 0],
    [255, 255, 51],
    [255, 255, 255],
    [0, 230, 255],
    [255, 64, 255],
    [120, 255, 90],
];

fn write_png(
    path: &Path,
    img: &SpectrogramImage,
    opts: &PngOptions,
    curves: &[Curve],
) -> Result<(), SoundscapeError> {
    let media_err = |e: media::PngError| MediaError::Codec {
        file: path.to_path_buf(),
        format: "PNG",
        reason: e.to_string(),
    };
    let mut rgb = media::render_spectrogram(img, opts).map_err(media_err)?;
    media::draw_curves(&mut rgb, img, opts, curves);
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
    let title = format!("LTSA {day} (1-minute hybrid millidecade spectra, grey: no data)");
    // Minutes without data stay NaN: drawn in neutral grey, not in the colour map.
    let db = &acc.hmd_db;
    let img = SpectrogramImage {
        db,
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
    write_png(&ltsa, &img, &opts, &[])?;

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
    let title = format!("{day}: percentile spectra over the spectral probability density");
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
    let labels: Vec<String> = PERCENTILES.iter().map(|p| format!("L{p}")).collect();
    let curves: Vec<Curve> = labels
        .iter()
        .enumerate()
        .map(|(k, label)| Curve {
            label,
            colour: CURVE_COLOURS[k % CURVE_COLOURS.len()],
            values: &stats.percentiles[k * n..(k + 1) * n],
        })
        .collect();
    write_png(&pct, &img, &opts, &curves)?;
    Ok(vec![ltsa, pct])
}
