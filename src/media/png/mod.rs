//! Images: spectrograms (here) and time-series line plots ([`LinePlot`], `line.rs`).
//!
//! Spectrogram images: a dB matrix drawn with a colour map ([`Palette`], viridis by default), labelled time
//! and frequency axes with tick values, a dB colour bar and a title, encoded as PNG.
//!
//! Text uses a built-in 5×7 bitmap font (drawn at 2×), so no font file or font library is
//! needed. Only ASCII letters, digits, common punctuation, `µ` and `²` have glyphs; anything
//! else is drawn as `?`.
//!
//! Must not know: how the dB values were computed, files (the caller writes the bytes).

mod line;
mod overlay;

pub use line::LinePlot;
pub use overlay::{draw_curves, Curve};

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder, Rgb, RgbImage};

/// A spectrogram to draw: dB values frame-major (`db[t * n_freq + f]`) with their axes.
#[derive(Debug, Clone, Copy)]
pub struct SpectrogramImage<'a> {
    /// Levels in dB, `n_time × n_freq`, frame-major.
    pub db: &'a [f32],
    /// Frequency bins per frame.
    pub n_freq: usize,
    /// Frames.
    pub n_time: usize,
    /// Centre frequency of each bin, Hz (`n_freq` values).
    pub frequency_hz: &'a [f64],
    /// Time of each frame, seconds from the start (`n_time` values).
    pub time_s: &'a [f64],
    /// Colour-bar label, e.g. `dB re 1 µPa²/Hz`.
    pub unit: &'a str,
    /// Title above the plot (e.g. the source file name).
    pub title: &'a str,
}

/// The colour map of a spectrogram.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Palette {
    /// Perceptually uniform, readable in grey and by colour-blind readers (the default).
    #[default]
    Viridis,
    /// MATLAB's classic `jet` (blue → cyan → yellow → red): not perceptually uniform, but the
    /// look many spectrogram readers know.
    Jet,
    /// Perceptually uniform, optimised for colour-vision deficiency.
    Cividis,
    /// Perceptually uniform, black → purple → yellow.
    Magma,
    /// Google's improved rainbow.
    Turbo,
    /// White (quiet) to black (loud).
    Greys,
}

impl Palette {
    /// The colour of NaN values (no data): [`NO_DATA`] grey, pale rose on [`Palette::Greys`].
    pub fn no_data(self) -> Rgb<u8> {
        match self {
            Palette::Greys => Rgb([255, 215, 215]),
            _ => NO_DATA,
        }
    }

    /// The colour at `x` in `0..=1`.
    fn eval(self, x: f64) -> Rgb<u8> {
        let c = match self {
            Palette::Viridis => colorous::VIRIDIS.eval_continuous(x),
            Palette::Cividis => colorous::CIVIDIS.eval_continuous(x),
            Palette::Magma => colorous::MAGMA.eval_continuous(x),
            Palette::Turbo => colorous::TURBO.eval_continuous(x),
            Palette::Greys => colorous::GREYS.eval_continuous(x),
            Palette::Jet => {
                // Piecewise-linear jet: each channel a trapezoid over [0, 1].
                let ch = |centre: f64| {
                    let v = 1.5 - 4.0 * (x - centre).abs();
                    (v.clamp(0.0, 1.0) * 255.0).round() as u8
                };
                return Rgb([ch(0.75), ch(0.5), ch(0.25)]);
            }
        };
        Rgb([c.r, c.g, c.b])
    }
}

/// Drawing options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PngOptions {
    /// Plot area size in pixels (axes, labels and colour bar come on top).
    pub plot_width: u32,
    /// Plot area height in pixels.
    pub plot_height: u32,
    /// Fixed colour range in dB; `None` picks the 1st–99.9th percentile of the data.
    pub clim: Option<(f32, f32)>,
    /// Logarithmic frequency axis from the first positive frequency (ticks at 1-2-5 × 10^k).
    pub log_frequency: bool,
    /// Label of the horizontal axis instead of "Time (…)" (its values are then plain numbers).
    pub x_label: Option<&'static str>,
    /// When set (seconds since the epoch of `time_s = 0`), the time axis is labelled in UTC
    /// clock time (`HH:MM`) instead of seconds/minutes from the start.
    pub utc_start: Option<i64>,
    /// The colour map.
    pub palette: Palette,
}

impl Default for PngOptions {
    fn default() -> Self {
        PngOptions {
            plot_width: 1000,
            plot_height: 500,
            clim: None,
            log_frequency: false,
            x_label: None,
            utc_start: None,
            palette: Palette::Viridis,
        }
    }
}

/// Errors while drawing or encoding.
#[derive(Debug, thiserror::Error)]
pub enum PngError {
    /// The data do not fit the declared shape (lengths of `db` or the axes), or the colour range is empty.
    #[error("cannot draw spectrogram: {0}")]
    Shape(String),
    /// The PNG encoder failed.
    #[error("cannot encode PNG: {0}")]
    Encode(#[from] image::ImageError),
}

const LEFT: u32 = 96;
const RIGHT: u32 = 130;
const TOP: u32 = 40;
const BOTTOM: u32 = 64;
const SCALE: u32 = 2;
const ADVANCE: u32 = 6 * SCALE;
const GLYPH_H: u32 = 7 * SCALE;
const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
const BLACK: Rgb<u8> = Rgb([0, 0, 0]);
/// The colour of NaN values (no data): a neutral light grey, outside every colour map but
/// [`Palette::Greys`], which gets a pale rose instead ([`Palette::no_data`]).
pub const NO_DATA: Rgb<u8> = Rgb([200, 200, 200]);

/// Draws the spectrogram (frequency upwards, time to the right) into an RGB image.
pub fn render_spectrogram(img: &SpectrogramImage, opts: &PngOptions) -> Result<RgbImage, PngError> {
    let (nf, nt) = (img.n_freq, img.n_time);
    if nf == 0 || nt == 0 || img.db.len() != nf * nt {
        return Err(PngError::Shape(format!(
            "{} values for {nf} frequencies × {nt} frames",
            img.db.len()
        )));
    }
    if img.frequency_hz.len() != nf || img.time_s.len() != nt {
        return Err(PngError::Shape(
            "axis lengths do not match the matrix".into(),
        ));
    }
    let (pw, ph) = (
        opts.plot_width.clamp(16, 8000),
        opts.plot_height.clamp(16, 8000),
    );
    let (lo, hi) = match opts.clim {
        Some((a, b)) if a.is_finite() && b.is_finite() && b > a => (a, b),
        Some((a, b)) => return Err(PngError::Shape(format!("colour range {a}..{b} is empty"))),
        None => auto_range(img.db),
    };
    let lut: Vec<Rgb<u8>> = (0..256)
        .map(|i| opts.palette.eval(f64::from(i) / 255.0))
        .collect();
    // NaN (no data, e.g. a minute without audio) is drawn in a neutral grey outside the map.
    let colour = |v: f32| {
        let x = ((v - lo) / (hi - lo) * 255.0).clamp(0.0, 255.0);
        if x.is_nan() {
            opts.palette.no_data()
        } else {
            lut[x as usize]
        }
    };

    let mut out = RgbImage::from_pixel(LEFT + pw + RIGHT, TOP + ph + BOTTOM, WHITE);
    // Plot area: each pixel shows the mean dB of the frames × bins it covers.
    let col_range = |x: u32| span(x as usize, pw as usize, nt);
    let axis = FreqAxis::new(img.frequency_hz, opts.log_frequency);
    let rows: Vec<(usize, usize)> = match axis {
        FreqAxis::Log { lo, hi } => (0..ph)
            .map(|y| log_rows(img.frequency_hz, lo, hi, ph - 1 - y, ph))
            .collect(),
        FreqAxis::Linear => (0..ph)
            .map(|y| span((ph - 1 - y) as usize, ph as usize, nf))
            .collect(),
    };
    let mut column = vec![0f64; nf];
    for x in 0..pw {
        let (t0, t1) = col_range(x);
        column.fill(0.0);
        for t in t0..t1 {
            for (acc, &v) in column.iter_mut().zip(&img.db[t * nf..(t + 1) * nf]) {
                *acc += f64::from(v);
            }
        }
        let n_t = (t1 - t0) as f64;
        for (y, &(f0, f1)) in rows.iter().enumerate() {
            let sum: f64 = column[f0..f1].iter().sum();
            let v = (sum / (n_t * (f1 - f0) as f64)) as f32;
            out.put_pixel(LEFT + x, TOP + y as u32, colour(v));
        }
    }
    frame(&mut out, LEFT - 1, TOP - 1, pw + 2, ph + 2);

    // Time axis.
    let (t_first, t_last) = (img.time_s[0], img.time_s[nt - 1]);
    let t_span = (t_last - t_first).max(1e-9);
    let (t_div, t_unit) = if opts.x_label.is_some() {
        (1.0, "")
    } else if opts.utc_start.is_some() {
        (3600.0, "UTC")
    } else if t_last >= 600.0 {
        (60.0, "min")
    } else {
        (1.0, "s")
    };
    for tick in nice_ticks(t_first / t_div, t_last / t_div, (pw / 110).max(2) as usize) {
        let x = LEFT as f64 + (tick * t_div - t_first) / t_span * (pw - 1) as f64;
        let x = x.round() as u32;
        vline(&mut out, x, TOP + ph, 6);
        let label = match opts.utc_start {
            Some(t0) => {
                let s = (t0 + (tick * t_div).round() as i64).rem_euclid(86_400);
                format!("{:02}:{:02}", s / 3600, s % 3600 / 60)
            }
            None => fmt_tick(tick),
        };
        text(
            &mut out,
            &label,
            x.saturating_sub(text_width(&label) / 2),
            TOP + ph + 10,
        );
    }
    let xlabel = match opts.x_label {
        Some(l) => l.to_string(),
        None => format!("Time ({t_unit})"),
    };
    text(
        &mut out,
        &xlabel,
        LEFT + pw / 2 - text_width(&xlabel) / 2,
        TOP + ph + 36,
    );

    // Frequency axis.
    let (f_first, f_last) = (img.frequency_hz[0], img.frequency_hz[nf - 1]);
    let f_span = (f_last - f_first).max(1e-9);
    let (f_div, f_unit) = if f_last >= 2000.0 && !opts.log_frequency {
        (1000.0, "kHz")
    } else {
        (1.0, "Hz")
    };
    let ticks: Vec<(f64, f64)> = match axis {
        FreqAxis::Log { lo, hi } => log_ticks(lo, hi)
            .into_iter()
            .map(|v| (v, (v / lo).ln() / (hi / lo).ln()))
            .collect(),
        FreqAxis::Linear => nice_ticks(f_first / f_div, f_last / f_div, (ph / 60).max(2) as usize)
            .into_iter()
            .map(|t| (t, (t * f_div - f_first) / f_span))
            .collect(),
    };
    for (tick, frac) in ticks {
        let y = (TOP + ph - 1) as f64 - frac * (ph - 1) as f64;
        let label = if opts.log_frequency && tick >= 1000.0 {
            format!("{}k", fmt_tick(tick / 1000.0))
        } else {
            fmt_tick(tick)
        };
        left_tick(&mut out, y.round() as u32, &label);
    }
    let ylabel = format!("Frequency ({f_unit})");
    text_vertical(&mut out, &ylabel, 8, TOP + ph / 2 + text_width(&ylabel) / 2);

    // Colour bar.
    let bx = LEFT + pw + 16;
    let bw = 18;
    for y in 0..ph {
        let v = hi - (hi - lo) * y as f32 / (ph - 1).max(1) as f32;
        for x in 0..bw {
            out.put_pixel(bx + x, TOP + y, colour(v));
        }
    }
    frame(&mut out, bx - 1, TOP - 1, bw + 2, ph + 2);
    for tick in nice_ticks(f64::from(lo), f64::from(hi), (ph / 50).max(2) as usize) {
        let y =
            (TOP + ph - 1) as f64 - (tick - f64::from(lo)) / f64::from(hi - lo) * (ph - 1) as f64;
        let y = y.round() as u32;
        hline(&mut out, bx + bw + 1, y, 5);
        text(
            &mut out,
            &fmt_tick(tick),
            bx + bw + 9,
            y.saturating_sub(GLYPH_H / 2),
        );
    }
    let w = text_width(img.unit);
    text_vertical(
        &mut out,
        img.unit,
        LEFT + pw + RIGHT - 22,
        TOP + ph / 2 + w / 2,
    );

    // Title, clipped to the width.
    let max_chars = ((LEFT + pw + RIGHT - 20) / ADVANCE) as usize;
    let title: String = img.title.chars().take(max_chars).collect();
    text(&mut out, &title, LEFT, 12);
    Ok(out)
}

/// How frequencies map to rows.
#[derive(Debug, Clone, Copy)]
enum FreqAxis {
    Linear,
    Log { lo: f64, hi: f64 },
}

impl FreqAxis {
    fn new(freqs: &[f64], log: bool) -> FreqAxis {
        let lo = freqs.iter().copied().find(|&f| f > 0.0);
        match (log, lo, freqs.last()) {
            (true, Some(lo), Some(&hi)) if hi > lo => FreqAxis::Log { lo, hi },
            _ => FreqAxis::Linear,
        }
    }
}

/// Bins whose frequency lies in pixel row `r` (0 = bottom) of a log axis, or the nearest bin.
fn log_rows(freqs: &[f64], lo: f64, hi: f64, r: u32, ph: u32) -> (usize, usize) {
    let at = |k: f64| lo * (hi / lo).powf(k / f64::from(ph));
    let (a, b) = (at(f64::from(r)), at(f64::from(r + 1)));
    let i0 = freqs.partition_point(|&f| f < a);
    let i1 = freqs.partition_point(|&f| f < b);
    if r + 1 == ph {
        return (i0.min(freqs.len() - 1), freqs.len());
    }
    if i1 > i0 {
        (i0, i1)
    } else {
        let i = i0.min(freqs.len() - 1);
        (i, i + 1)
    }
}

/// 1-2-5 ticks between `lo` and `hi`.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut decade = 10f64.powf(lo.log10().floor());
    while decade <= hi {
        for m in [1.0, 2.0, 5.0] {
            let v = decade * m;
            if v >= lo && v <= hi {
                out.push(v);
            }
        }
        decade *= 10.0;
    }
    out
}

/// Encodes an image as PNG bytes.
pub fn encode_png(img: &RgbImage) -> Result<Vec<u8>, PngError> {
    let mut bytes = Vec::new();
    PngEncoder::new_with_quality(&mut bytes, CompressionType::Fast, FilterType::Adaptive)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::Rgb8,
        )?;
    Ok(bytes)
}

/// The half-open range of `n` source cells under output cell `i` of `out` (at least one cell).
fn span(i: usize, out: usize, n: usize) -> (usize, usize) {
    let a = i * n / out;
    let b = ((i + 1) * n / out).max(a + 1).min(n);
    (a.min(n - 1), b)
}

/// 1st and 99.9th percentile of a subsample of the finite values.
fn auto_range(db: &[f32]) -> (f32, f32) {
    let step = (db.len() / 200_000).max(1);
    let mut sample: Vec<f32> = db
        .iter()
        .step_by(step)
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if sample.is_empty() {
        return (-1.0, 0.0);
    }
    sample.sort_unstable_by(f32::total_cmp);
    let at = |q: f64| sample[((sample.len() - 1) as f64 * q).round() as usize];
    let (lo, hi) = (at(0.01), at(0.999));
    if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, lo + 1.0)
    }
}

/// Round tick values (1, 2, 5 × 10^k steps) inside [a, b], about `target` of them.
fn nice_ticks(a: f64, b: f64, target: usize) -> Vec<f64> {
    let range = b - a;
    if !(range.is_finite() && range > 0.0) {
        return vec![a];
    }
    let raw = range / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (a / step).ceil() as i64;
    let last = (b / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

fn fmt_tick(v: f64) -> String {
    let v = if v.abs() < 1e-9 { 0.0 } else { v };
    if (v - v.round()).abs() < 1e-6 {
        format!("{}", v.round() as i64)
    } else if (v * 10.0 - (v * 10.0).round()).abs() < 1e-6 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A tick on the left axis at row `y` with its label right-aligned before it.
fn left_tick(img: &mut RgbImage, y: u32, label: &str) {
    hline(img, LEFT - 7, y, 6);
    let w = text_width(label);
    text(
        img,
        label,
        LEFT.saturating_sub(10 + w),
        y.saturating_sub(GLYPH_H / 2),
    );
}

fn frame(img: &mut RgbImage, x: u32, y: u32, w: u32, h: u32) {
    hline(img, x, y, w);
    hline(img, x, y + h - 1, w);
    vline(img, x, y, h);
    vline(img, x + w - 1, y, h);
}

fn hline(img: &mut RgbImage, x: u32, y: u32, len: u32) {
    for i in 0..len {
        put(img, x + i, y);
    }
}

fn vline(img: &mut RgbImage, x: u32, y: u32, len: u32) {
    for i in 0..len {
        put(img, x, y + i);
    }
}

fn put(img: &mut RgbImage, x: u32, y: u32) {
    if x < img.width() && y < img.height() {
        img.put_pixel(x, y, BLACK);
    }
}

fn text_width(s: &str) -> u32 {
    s.chars().count() as u32 * ADVANCE
}

/// Draws `s` left to right with its top-left corner at (x, y).
fn text(img: &mut RgbImage, s: &str, x: u32, y: u32) {
    for (i, ch) in s.chars().enumerate() {
        let rows = glyph(ch);
        for (r, bits) in rows.iter().enumerate() {
            for c in 0..5u32 {
                if bits & (0x10 >> c) != 0 {
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        put(
                            img,
                            x + i as u32 * ADVANCE + c * SCALE + dx,
                            y + r as u32 * SCALE + dy,
                        );
                    }
                }
            }
        }
    }
}

/// Draws `s` bottom to top (rotated 90° anticlockwise), starting at (x, y_bottom).
fn text_vertical(img: &mut RgbImage, s: &str, x: u32, y_bottom: u32) {
    for (i, ch) in s.chars().enumerate() {
        let rows = glyph(ch);
        for (r, bits) in rows.iter().enumerate() {
            for c in 0..5u32 {
                if bits & (0x10 >> c) != 0 {
                    // Glyph column c runs upwards, glyph row r runs rightwards.
                    let px = x + r as u32 * SCALE;
                    let py = y_bottom.saturating_sub(i as u32 * ADVANCE + c * SCALE);
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        put(img, px + dx, py.saturating_sub(dy));
                    }
                }
            }
        }
    }
}

/// 5×7 glyph rows (bit 4 = leftmost column).
fn glyph(ch: char) -> [u8; 7] {
    match ch {
        ' ' => [0; 7],
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        'a' => [0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F],
        'b' => [0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E],
        'c' => [0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E],
        'd' => [0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F],
        'e' => [0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E],
        'f' => [0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08],
        'g' => [0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x0E],
        'h' => [0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11],
        'i' => [0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E],
        'j' => [0x02, 0x00, 0x06, 0x02, 0x02, 0x12, 0x0C],
        'k' => [0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12],
        'l' => [0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'm' => [0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11],
        'n' => [0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11],
        'o' => [0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E],
        'p' => [0x00, 0x00, 0x1E, 0x11, 0x1E, 0x10, 0x10],
        'q' => [0x00, 0x00, 0x0D, 0x13, 0x0F, 0x01, 0x01],
        'r' => [0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10],
        's' => [0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E],
        't' => [0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06],
        'u' => [0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D],
        'v' => [0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'w' => [0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A],
        'x' => [0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11],
        'y' => [0x00, 0x00, 0x11, 0x11, 0x0F, 0x01, 0x0E],
        'z' => [0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F],
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        ',' => [0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08],
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        '+' => [0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00],
        '=' => [0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        '[' => [0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E],
        ']' => [0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E],
        '/' => [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00],
        ':' => [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        '_' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F],
        '%' => [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        '²' => [0x0C, 0x12, 0x04, 0x08, 0x1E, 0x00, 0x00],
        'µ' => [0x00, 0x11, 0x11, 0x11, 0x13, 0x1D, 0x10],
        _ => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(nf: usize, nt: usize) -> (Vec<f32>, Vec<f64>, Vec<f64>) {
        // Level rises with frequency: the top of the plot must be brighter than the bottom.
        let db = (0..nt).flat_map(|_| (0..nf).map(|f| f as f32)).collect();
        let freqs = (0..nf).map(|f| f as f64 * 100.0).collect();
        let times = (0..nt).map(|t| t as f64 * 0.5 + 0.25).collect();
        (db, freqs, times)
    }

    #[test]
    fn renders_axes_colour_bar_and_orientation() {
        let (db, f, t) = ramp(64, 300);
        let img = SpectrogramImage {
            db: &db,
            n_freq: 64,
            n_time: 300,
            frequency_hz: &f,
            time_s: &t,
            unit: "dB re 1 µPa²/Hz",
            title: "test.flac",
        };
        let opts = PngOptions {
            plot_width: 400,
            plot_height: 200,
            clim: Some((0.0, 63.0)),
            ..PngOptions::default()
        };
        let out = render_spectrogram(&img, &opts).unwrap();
        assert_eq!(out.dimensions(), (LEFT + 400 + RIGHT, TOP + 200 + BOTTOM));
        let lum = |p: &Rgb<u8>| u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2]);
        let top = lum(out.get_pixel(LEFT + 200, TOP + 2));
        let bottom = lum(out.get_pixel(LEFT + 200, TOP + 197));
        assert!(
            top > bottom + 200,
            "viridis bright at high dB: {top} vs {bottom}"
        );
        // The colour bar's top matches the top of the plot (same dB).
        assert_eq!(
            out.get_pixel(LEFT + 400 + 16, TOP),
            out.get_pixel(LEFT + 10, TOP)
        );
        // Some black label pixels exist under the time axis and left of the frequency axis.
        let dark = |x0: u32, x1: u32, y0: u32, y1: u32| {
            (x0..x1)
                .flat_map(|x| (y0..y1).map(move |y| (x, y)))
                .filter(|&(x, y)| lum(out.get_pixel(x, y)) == 0)
                .count()
        };
        assert!(dark(LEFT, LEFT + 400, TOP + 210, TOP + 260) > 100);
        assert!(dark(0, LEFT - 8, TOP, TOP + 200) > 100);
        let png = encode_png(&out).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }

    #[test]
    fn rejects_shape_mismatch_and_empty_clim() {
        let (db, f, t) = ramp(8, 8);
        let mut img = SpectrogramImage {
            db: &db[..60],
            n_freq: 8,
            n_time: 8,
            frequency_hz: &f,
            time_s: &t,
            unit: "dB",
            title: "",
        };
        assert!(render_spectrogram(&img, &PngOptions::default()).is_err());
        img.db = &db;
        let opts = PngOptions {
            clim: Some((5.0, 5.0)),
            ..PngOptions::default()
        };
        assert!(render_spectrogram(&img, &opts).is_err());
        assert!(render_spectrogram(&img, &PngOptions::default()).is_ok());
    }

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(
            nice_ticks(0.0, 300.0, 6),
            vec![0.0, 50.0, 100.0, 150.0, 200.0, 250.0, 300.0]
        );
        assert_eq!(
            nice_ticks(0.25, 1.0, 4),
            vec![0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(fmt_tick(0.6000000000000001), "0.6");
        assert_eq!(fmt_tick(-120.0), "-120");
        assert_eq!(span(0, 10, 3), (0, 1));
        assert_eq!(span(9, 10, 3), (2, 3));
    }
}
