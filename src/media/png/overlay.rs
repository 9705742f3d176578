//! Curves over a spectrogram image drawn by [`render_spectrogram`](super::render_spectrogram):
//! one value per frequency bin on the horizontal axis (e.g. percentile spectra over a spectral
//! probability density), each curve in its own colour, with a legend box in the plot's top-right
//! corner. Uses the same axis mapping as the tick marks, so a curve lands on the labels.
//!
//! Must not know: what the values mean.

use image::{Rgb, RgbImage};

use super::{text, text_width, FreqAxis, PngOptions, SpectrogramImage, GLYPH_H, LEFT, TOP};

/// One curve: a value per frequency bin of the image (NaN = no point), in `colour`.
#[derive(Debug, Clone, Copy)]
pub struct Curve<'a> {
    /// Legend text.
    pub label: &'a str,
    /// RGB colour.
    pub colour: [u8; 3],
    /// One value per frequency bin, on the image's horizontal axis.
    pub values: &'a [f32],
}

/// Draws `curves` (2-pixel lines between neighbouring bins) and their legend onto `out`, an
/// image rendered from `img` with `opts`. Curves of the wrong length are skipped.
pub fn draw_curves(
    out: &mut RgbImage,
    img: &SpectrogramImage,
    opts: &PngOptions,
    curves: &[Curve],
) {
    let (pw, ph) = (
        opts.plot_width.clamp(16, 8000),
        opts.plot_height.clamp(16, 8000),
    );
    let (nf, nt) = (img.n_freq, img.n_time);
    if curves.is_empty()
        || nf == 0
        || nt == 0
        || img.time_s.len() != nt
        || img.frequency_hz.len() != nf
    {
        return;
    }
    let (t_first, t_last) = (img.time_s[0], img.time_s[nt - 1]);
    let t_span = (t_last - t_first).max(1e-9);
    let (f_first, f_last) = (img.frequency_hz[0], img.frequency_hz[nf - 1]);
    let f_span = (f_last - f_first).max(1e-9);
    let axis = FreqAxis::new(img.frequency_hz, opts.log_frequency);
    let y_of = |f: f64| -> Option<f64> {
        let frac = match axis {
            FreqAxis::Log { lo, hi } if f > 0.0 => (f / lo).ln() / (hi / lo).ln(),
            FreqAxis::Log { .. } => return None,
            FreqAxis::Linear => (f - f_first) / f_span,
        };
        Some(f64::from(TOP + ph - 1) - frac * f64::from(ph - 1))
    };
    let x_of = |v: f64| f64::from(LEFT) + (v - t_first) / t_span * f64::from(pw - 1);
    let inside = |x: f64, y: f64| {
        x >= f64::from(LEFT)
            && x <= f64::from(LEFT + pw - 1)
            && y >= f64::from(TOP)
            && y <= f64::from(TOP + ph - 1)
    };
    for c in curves.iter().filter(|c| c.values.len() == nf) {
        let colour = Rgb(c.colour);
        let mut prev: Option<(f64, f64)> = None;
        for (b, &v) in c.values.iter().enumerate() {
            let point = y_of(img.frequency_hz[b])
                .filter(|_| v.is_finite())
                .map(|y| (x_of(f64::from(v)), y));
            if let (Some(a), Some(p)) = (prev, point) {
                line(out, a, p, colour, &inside);
            } else if let Some(p) = point {
                line(out, p, p, colour, &inside);
            }
            prev = point;
        }
    }
    // Legend: a white box with a colour swatch and the label per curve.
    let row = GLYPH_H + 6;
    let widest = curves
        .iter()
        .map(|c| text_width(c.label))
        .max()
        .unwrap_or(0);
    let (bw, bh) = (widest + 40, row * curves.len() as u32 + 8);
    if bw + 16 > pw || bh + 16 > ph {
        return;
    }
    let (x0, y0) = (LEFT + pw - bw - 8, TOP + 8);
    for y in y0..y0 + bh {
        for x in x0..x0 + bw {
            let edge = x == x0 || y == y0 || x == x0 + bw - 1 || y == y0 + bh - 1;
            out.put_pixel(
                x,
                y,
                if edge {
                    Rgb([0, 0, 0])
                } else {
                    Rgb([255, 255, 255])
                },
            );
        }
    }
    for (k, c) in curves.iter().enumerate() {
        let y = y0 + 5 + k as u32 * row;
        for dy in 0..GLYPH_H {
            for dx in 0..22 {
                out.put_pixel(x0 + 6 + dx, y + dy, Rgb(c.colour));
            }
        }
        text(out, c.label, x0 + 34, y);
    }
}

/// A 2-pixel-wide straight line from `a` to `b`, clipped to the plot.
fn line(
    out: &mut RgbImage,
    a: (f64, f64),
    b: (f64, f64),
    colour: Rgb<u8>,
    inside: &dyn Fn(f64, f64) -> bool,
) {
    let steps = ((b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil() as usize).clamp(1, 20_000);
    for i in 0..=steps {
        let t = i as f64 / steps as f64;
        let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        for (dx, dy) in [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)] {
            let (px, py) = (x.round() + dx, y.round() + dy);
            if inside(px, py) {
                out.put_pixel(px as u32, py as u32, colour);
            }
        }
    }
}
