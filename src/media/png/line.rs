//! Time-series line plots: samples streamed in are reduced to one (min, max) pair per pixel
//! column as they arrive (a year of 1 Hz data costs one pass and `plot_width` pairs of
//! memory), then drawn as a line with UTC clock/date ticks on the time axis, round value ticks
//! with the unit on the value axis and a title. Shares the frame, tick and text helpers of the
//! spectrogram renderer.
//!
//! Must not know: files, sensors, where the samples came from.

use image::{Rgb, RgbImage};
use jiff::Timestamp;

use super::{
    frame, left_tick, nice_ticks, text, text_vertical, text_width, vline, PngOptions, ADVANCE,
    BOTTOM, LEFT, TOP, WHITE,
};

const RIGHT_MARGIN: u32 = 40;
const LINE: Rgb<u8> = Rgb([31, 119, 180]);
const GRID: Rgb<u8> = Rgb([225, 225, 225]);

/// A time series being reduced to pixel columns.
#[derive(Debug, Clone)]
pub struct LinePlot {
    t0_ms: i64,
    t1_ms: i64,
    plot_height: u32,
    /// `(min, max)` per pixel column; NaN when the column has no sample.
    columns: Vec<(f64, f64)>,
    samples: u64,
}

impl LinePlot {
    /// A plot of `[t0_ms, t1_ms]` (milliseconds since the Unix epoch, UTC) with the plot area
    /// size of `opts`.
    pub fn new(t0_ms: i64, t1_ms: i64, opts: &PngOptions) -> LinePlot {
        let pw = opts.plot_width.clamp(16, 8000);
        LinePlot {
            t0_ms,
            t1_ms: t1_ms.max(t0_ms),
            plot_height: opts.plot_height.clamp(16, 8000),
            columns: vec![(f64::NAN, f64::NAN); pw as usize],
            samples: 0,
        }
    }

    /// Adds one sample; non-finite values and times outside the span are ignored.
    pub fn push(&mut self, t_ms: i64, v: f64) {
        if !v.is_finite() || t_ms < self.t0_ms || t_ms > self.t1_ms {
            return;
        }
        let n = self.columns.len();
        let span = (self.t1_ms - self.t0_ms).max(1) as f64;
        let x = (((t_ms - self.t0_ms) as f64 / span) * (n - 1) as f64).round() as usize;
        let c = &mut self.columns[x.min(n - 1)];
        if c.0.is_nan() {
            *c = (v, v);
        } else {
            *c = (c.0.min(v), c.1.max(v));
        }
        self.samples += 1;
    }

    /// Samples drawn so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Draws the plot: `title` on top, `y_label` (e.g. `Temperature (C)`) on the value axis.
    pub fn render(&self, title: &str, y_label: &str) -> RgbImage {
        let pw = self.columns.len() as u32;
        let ph = self.plot_height;
        let mut out = RgbImage::from_pixel(LEFT + pw + RIGHT_MARGIN, TOP + ph + BOTTOM, WHITE);
        let (mut lo, mut hi) = self
            .columns
            .iter()
            .filter(|c| !c.0.is_nan())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), c| {
                (a.min(c.0), b.max(c.1))
            });
        if lo > hi {
            text(
                &mut out,
                "no data",
                LEFT + pw / 2 - text_width("no data") / 2,
                TOP + ph / 2,
            );
            (lo, hi) = (0.0, 1.0);
        } else if hi - lo <= 1e-12 * lo.abs().max(1.0) {
            (lo, hi) = (lo - 1.0, hi + 1.0);
        } else {
            let pad = (hi - lo) * 0.05;
            (lo, hi) = (lo - pad, hi + pad);
        }
        let y_of = |v: f64| -> u32 {
            let f = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
            TOP + ph - 1 - (f * (ph - 1) as f64).round() as u32
        };

        // Value axis: grid, ticks, labels with as many decimals as the tick step needs.
        let ticks = nice_ticks(lo, hi, (ph / 60).max(2) as usize);
        let step = match ticks.as_slice() {
            [a, b, ..] => b - a,
            _ => hi - lo,
        };
        let decimals = (-step.log10().floor()).clamp(0.0, 9.0) as usize;
        for &tick in &ticks {
            let y = y_of(tick);
            for x in 0..pw {
                out.put_pixel(LEFT + x, y, GRID);
            }
            let label = format!("{tick:.decimals$}");
            let label = if label
                .trim_start_matches('-')
                .chars()
                .all(|c| c == '0' || c == '.')
            {
                format!("{:.decimals$}", 0.0)
            } else {
                label
            };
            left_tick(&mut out, y, &label);
        }
        text_vertical(&mut out, y_label, 8, TOP + ph / 2 + text_width(y_label) / 2);

        // Time axis in UTC.
        let (t0, t1) = (self.t0_ms.div_euclid(1000), self.t1_ms.div_euclid(1000));
        let span_s = (t1 - t0).max(1);
        let (step_s, format) = time_step(span_s, pw);
        let first = t0.div_euclid(step_s) * step_s
            + if t0.rem_euclid(step_s) == 0 {
                0
            } else {
                step_s
            };
        let mut t = first;
        while t <= t1 {
            let x = LEFT
                + (((t * 1000 - self.t0_ms) as f64 / (self.t1_ms - self.t0_ms).max(1) as f64)
                    * (pw - 1) as f64)
                    .round() as u32;
            for y in 0..ph {
                out.put_pixel(x, TOP + y, GRID);
            }
            vline(&mut out, x, TOP + ph, 6);
            let label = utc(t, format);
            text(
                &mut out,
                &label,
                x.saturating_sub(text_width(&label) / 2),
                TOP + ph + 10,
            );
            t += step_s;
        }
        let xlabel = format!(
            "Time (UTC), {} to {}",
            utc(t0, "%Y-%m-%d %H:%M:%S"),
            utc(t1, "%Y-%m-%d %H:%M:%S")
        );
        text(
            &mut out,
            &xlabel,
            (LEFT + pw / 2).saturating_sub(text_width(&xlabel) / 2),
            TOP + ph + 36,
        );

        // The series: each column spans its (min, max) and reaches to its neighbour's range,
        // so the line is continuous; an empty column leaves a gap.
        let mut prev: Option<(f64, f64)> = None;
        for (x, &(a, b)) in self.columns.iter().enumerate() {
            if a.is_nan() {
                prev = None;
                continue;
            }
            let (mut a2, mut b2) = (a, b);
            if let Some((pa, pb)) = prev {
                a2 = a.min(pb);
                b2 = b.max(pa);
            }
            let (ytop, ybot) = (y_of(b2), y_of(a2));
            for y in ytop..=ybot {
                out.put_pixel(LEFT + x as u32, y, LINE);
            }
            prev = Some((a, b));
        }
        frame(&mut out, LEFT - 1, TOP - 1, pw + 2, ph + 2);

        let max_chars = ((LEFT + pw + RIGHT_MARGIN - 20) / ADVANCE) as usize;
        let title: String = title.chars().take(max_chars).collect();
        text(&mut out, &title, LEFT, 12);
        out
    }
}

/// A round tick step (seconds) for a time span drawn `pw` pixels wide, and its label format.
fn time_step(span_s: i64, pw: u32) -> (i64, &'static str) {
    const STEPS: [i64; 23] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200,
        86_400, 172_800, 604_800, 2_592_000, 7_776_000, 31_536_000,
    ];
    for &step in &STEPS {
        let format = if step < 60 {
            "%H:%M:%S"
        } else if step < 86_400 && span_s <= 86_400 {
            "%H:%M"
        } else if step < 86_400 {
            "%m-%d %H:%M"
        } else {
            "%Y-%m-%d"
        };
        let label_px = format_width(format) + 40;
        let fits = (pw / label_px).max(2) as i64;
        if span_s / step <= fits {
            return (step, format);
        }
    }
    (31_536_000, "%Y-%m-%d")
}

fn format_width(format: &str) -> u32 {
    text_width(&utc(0, format))
}

fn utc(secs: i64, format: &str) -> String {
    Timestamp::from_second(secs)
        .map(|t| t.strftime(format).to_string())
        .unwrap_or_else(|_| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_keep_min_and_max_and_the_line_is_drawn() {
        let opts = PngOptions {
            plot_width: 200,
            plot_height: 100,
            ..PngOptions::default()
        };
        let t0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
        let mut p = LinePlot::new(t0, t0 + 3_600_000, &opts);
        for i in 0..=3600 {
            p.push(t0 + i * 1000, (i as f64 / 600.0).sin());
        }
        p.push(t0 - 1, 5.0); // outside: ignored
        p.push(t0 + 5, f64::NAN);
        assert_eq!(p.samples(), 3601);
        // Every column holds a range inside [-1, 1].
        assert!(p
            .columns
            .iter()
            .all(|c| c.0 >= -1.0 && c.1 <= 1.0 && c.0 <= c.1));
        let img = p.render("DEV Temperature", "Temperature (C)");
        assert_eq!(
            img.dimensions(),
            (LEFT + 200 + RIGHT_MARGIN, TOP + 100 + BOTTOM)
        );
        let blue = img.pixels().filter(|px| **px == LINE).count();
        assert!(blue > 200, "the line has {blue} pixels");
        let black = img.pixels().filter(|px| **px == Rgb([0, 0, 0])).count();
        assert!(black > 500, "axes and labels: {black}");
    }

    #[test]
    fn time_ticks_suit_the_span() {
        assert_eq!(time_step(3600, 1000), (600, "%H:%M"));
        assert_eq!(time_step(60, 1000).1, "%H:%M:%S");
        assert_eq!(time_step(7 * 86_400, 1000).1, "%Y-%m-%d");
        assert_eq!(time_step(365 * 86_400, 1000).0, 7_776_000);
        assert_eq!(utc(1_767_225_600, "%Y-%m-%d %H:%M"), "2026-01-01 00:00");
    }
}
