//! Levels: hydrophone calibration (flat or a frequency curve) and the conversion of linear PSDs
//! to dB, with the unit every output must state.
//!
//! Convention: samples are full-scale floats, so an uncalibrated PSD is in FS²/Hz (or FS² with
//! `spectrum` scaling) and its dB are "re 1 FS²/Hz". With a sensitivity S(f) in dB re 1 V/µPa and
//! the voltage V_fs of digital full scale, pressure = sample · V_fs / 10^(S/20), hence
//! `dB re 1 µPa²/Hz = 10·log10(P) + 20·log10(V_fs) − S(f)`.
//!
//! Must not know: files (a calibration table arrives as text), output formats.

use super::{DspError, Scaling};

/// Linear values below this are clamped before taking dB (−300 dB), so an all-zero input yields
/// finite numbers instead of −∞.
pub const DB_FLOOR_LINEAR: f32 = 1e-30;

/// How sample values map to sound pressure.
#[derive(Debug, Clone, PartialEq)]
pub enum Calibration {
    /// No calibration: levels are dB re full scale.
    FullScale,
    /// A flat hydrophone sensitivity in dB re 1 V/µPa and the full-scale voltage.
    Flat {
        /// Receive sensitivity, dB re 1 V/µPa.
        sensitivity_db: f64,
        /// Volts that a sample value of 1.0 (full scale) stands for.
        full_scale_volts: f64,
    },
    /// Sensitivity (Hz, dB re 1 V/µPa) pairs, interpolated linearly in frequency and held
    /// constant beyond the first and last points; and the full-scale voltage.
    Curve {
        /// (frequency in Hz, sensitivity in dB re 1 V/µPa), frequencies strictly increasing.
        points: Vec<(f64, f64)>,
        /// Volts that a sample value of 1.0 (full scale) stands for.
        full_scale_volts: f64,
    },
}

fn check_volts(full_scale_volts: f64) -> Result<(), DspError> {
    if full_scale_volts.is_finite() && full_scale_volts > 0.0 {
        Ok(())
    } else {
        Err(DspError::InvalidParam {
            field: "full_scale_volts",
            reason: format!("must be a positive number of volts, got {full_scale_volts}"),
        })
    }
}

impl Calibration {
    /// A flat sensitivity (dB re 1 V/µPa, e.g. −170) with the full-scale voltage.
    pub fn flat(sensitivity_db: f64, full_scale_volts: f64) -> Result<Self, DspError> {
        if !sensitivity_db.is_finite() {
            return Err(DspError::InvalidParam {
                field: "sensitivity_db",
                reason: format!("must be a finite number of dB, got {sensitivity_db}"),
            });
        }
        check_volts(full_scale_volts)?;
        Ok(Calibration::Flat {
            sensitivity_db,
            full_scale_volts,
        })
    }

    /// Parses a table of `frequency_hz  sensitivity_db` pairs (separated by commas, semicolons,
    /// tabs or spaces; `#` starts a comment; one non-numeric header line is allowed first).
    /// Frequencies must be ≥ 0 and strictly increasing.
    pub fn curve_from_text(text: &str, full_scale_volts: f64) -> Result<Self, DspError> {
        check_volts(full_scale_volts)?;
        let mut points: Vec<(f64, f64)> = Vec::new();
        let mut seen_data_or_header = false;
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line
                .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
                .filter(|f| !f.is_empty())
                .collect();
            let bad = |reason: String| DspError::Calibration {
                line: line_no,
                reason,
            };
            let parsed: Option<(f64, f64)> = match fields.as_slice() {
                [f, d] => f.parse().ok().zip(d.parse().ok()),
                _ => None,
            };
            let Some((freq, db)) = parsed else {
                if !seen_data_or_header {
                    seen_data_or_header = true; // a header line such as "frequency_hz,dB"
                    continue;
                }
                return Err(bad(format!(
                    "expected two numbers (frequency in Hz, sensitivity in dB re 1 V/µPa), got {line:?}"
                )));
            };
            seen_data_or_header = true;
            if !(freq.is_finite() && freq >= 0.0 && db.is_finite()) {
                return Err(bad(format!(
                    "values must be finite and frequency ≥ 0, got {line:?}"
                )));
            }
            if let Some(&(last, _)) = points.last() {
                if freq <= last {
                    return Err(bad(format!(
                        "frequencies must increase strictly ({freq} Hz follows {last} Hz)"
                    )));
                }
            }
            points.push((freq, db));
        }
        if points.is_empty() {
            return Err(DspError::Calibration {
                line: 0,
                reason: "no frequency/sensitivity pairs found".into(),
            });
        }
        Ok(Calibration::Curve {
            points,
            full_scale_volts,
        })
    }

    /// Whether levels are absolute (re 1 µPa) rather than re full scale.
    pub fn is_calibrated(&self) -> bool {
        !matches!(self, Calibration::FullScale)
    }

    /// The unit of the dB values, e.g. `dB re 1 µPa²/Hz` or `dB re 1 FS²/Hz`.
    pub fn unit(&self, scaling: Scaling) -> &'static str {
        match (self.is_calibrated(), scaling) {
            (true, Scaling::Density) => "dB re 1 µPa²/Hz",
            (true, Scaling::Spectrum) => "dB re 1 µPa²",
            (false, Scaling::Density) => "dB re 1 FS²/Hz",
            (false, Scaling::Spectrum) => "dB re 1 FS²",
        }
    }

    /// Sensitivity in dB re 1 V/µPa at `freq` (None when uncalibrated).
    pub fn sensitivity_at(&self, freq: f64) -> Option<f64> {
        match self {
            Calibration::FullScale => None,
            Calibration::Flat { sensitivity_db, .. } => Some(*sensitivity_db),
            Calibration::Curve { points, .. } => Some(interpolate(points, freq)),
        }
    }

    /// The dB offset added to `10·log10(P)` at each frequency.
    pub fn offsets_db(&self, freqs: &[f64]) -> Vec<f64> {
        let volts_db = match self {
            Calibration::FullScale => return vec![0.0; freqs.len()],
            Calibration::Flat {
                full_scale_volts, ..
            }
            | Calibration::Curve {
                full_scale_volts, ..
            } => 20.0 * full_scale_volts.log10(),
        };
        freqs
            .iter()
            .map(|&f| volts_db - self.sensitivity_at(f).unwrap_or(0.0))
            .collect()
    }

    /// A one-line description for provenance records.
    pub fn describe(&self) -> String {
        match self {
            Calibration::FullScale => "none (dB re full scale)".into(),
            Calibration::Flat {
                sensitivity_db,
                full_scale_volts,
            } => format!(
                "flat sensitivity {sensitivity_db} dB re 1 V/µPa, full scale {full_scale_volts} V"
            ),
            Calibration::Curve {
                points,
                full_scale_volts,
            } => format!(
                "sensitivity curve of {} points ({}–{} Hz, linear interpolation), full scale {full_scale_volts} V",
                points.len(),
                points[0].0,
                points[points.len() - 1].0
            ),
        }
    }
}

/// Linear interpolation in a strictly increasing table, constant beyond its ends.
fn interpolate(points: &[(f64, f64)], x: f64) -> f64 {
    let Some(&(x0, y0)) = points.first() else {
        return 0.0;
    };
    if x <= x0 {
        return y0;
    }
    let i = points.partition_point(|&(px, _)| px <= x);
    if i >= points.len() {
        return points[points.len() - 1].1;
    }
    let (xa, ya) = points[i - 1];
    let (xb, yb) = points[i];
    ya + (yb - ya) * (x - xa) / (xb - xa)
}

/// Converts frames of linear PSD to dB in place, adding a per-bin calibration offset.
#[derive(Debug, Clone)]
pub struct Level {
    offsets: Vec<f32>,
}

impl Level {
    /// Prepares the per-bin offsets of `calibration` for the bins `freqs`.
    pub fn new(calibration: &Calibration, freqs: &[f64]) -> Self {
        Level {
            offsets: calibration
                .offsets_db(freqs)
                .into_iter()
                .map(|v| v as f32)
                .collect(),
        }
    }

    /// Number of bins per frame.
    pub fn n_freq(&self) -> usize {
        self.offsets.len()
    }

    /// `frames` holds whole frames of `n_freq` linear values; each becomes
    /// `10·log10(max(p, DB_FLOOR_LINEAR)) + offset[f]`.
    pub fn to_db(&self, frames: &mut [f32]) {
        let n = self.offsets.len().max(1);
        for frame in frames.chunks_mut(n) {
            for (p, &off) in frame.iter_mut().zip(&self.offsets) {
                *p = db10(p.max(DB_FLOOR_LINEAR)) + off;
            }
        }
    }
}

/// `10·log10(x)` for positive normal `x`, branch-free so the compiler vectorises it (libm's
/// `log10f` is a call per value and was the largest cost after the FFT). x = 2^e·m with m in
/// [√½, √2); ln m = 2·atanh(s), s = (m−1)/(m+1), |s| ≤ 0.172, summed to s⁹ (truncation < 1e-9).
/// Absolute error below 5e-5 dB (1e-5 relative in power) over the f32 range (test
/// `db10_matches_log10`), about the rounding of an f32 result near ±300.
#[inline]
pub fn db10(x: f32) -> f32 {
    const TEN_LOG10_2: f32 = (10.0 * std::f64::consts::LOG10_2) as f32;
    const TEN_LOG10_E: f32 = (10.0 * std::f64::consts::LOG10_E) as f32;
    let bits = x.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m > std::f32::consts::SQRT_2;
    let m = if big { m * 0.5 } else { m };
    let e = (e + i32::from(big)) as f32;
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series = 1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0))));
    TEN_LOG10_2 * e + TEN_LOG10_E * 2.0 * s * series
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_calibration_offsets_and_units() {
        let cal = Calibration::flat(-170.0, 2.0).unwrap();
        let off = cal.offsets_db(&[10.0, 1000.0]);
        let expect = 20.0 * 2f64.log10() + 170.0;
        assert!((off[0] - expect).abs() < 1e-12 && (off[1] - expect).abs() < 1e-12);
        assert_eq!(cal.unit(Scaling::Density), "dB re 1 µPa²/Hz");
        assert_eq!(
            Calibration::FullScale.unit(Scaling::Spectrum),
            "dB re 1 FS²"
        );
        assert!(Calibration::flat(-170.0, 0.0).is_err());
        assert!(Calibration::flat(f64::NAN, 1.0).is_err());
    }

    #[test]
    fn curve_parses_header_comments_and_interpolates() {
        let text =
            "frequency_hz,sensitivity_db\n# comment\n10, -180\n1000\t-170 # mid\n\n2000 -160\n";
        let cal = Calibration::curve_from_text(text, 1.0).unwrap();
        assert_eq!(cal.sensitivity_at(0.0), Some(-180.0));
        assert_eq!(cal.sensitivity_at(10.0), Some(-180.0));
        assert!((cal.sensitivity_at(505.0).unwrap() - -175.0).abs() < 1e-12);
        assert!((cal.sensitivity_at(1500.0).unwrap() - -165.0).abs() < 1e-12);
        assert_eq!(cal.sensitivity_at(9000.0), Some(-160.0));
        assert!(cal.describe().contains("3 points"));
    }

    #[test]
    fn curve_rejects_bad_tables_naming_the_line() {
        let err = Calibration::curve_from_text("10 -170\n5 -171\n", 1.0).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = Calibration::curve_from_text("10 -170\nabc\n", 1.0).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(Calibration::curve_from_text("# nothing\n", 1.0).is_err());
        assert!(Calibration::curve_from_text("10 -170", -1.0).is_err());
    }

    #[test]
    fn db10_matches_log10() {
        let mut worst = 0.0f64;
        let mut x = 1e-30f32;
        while x < 1e30 {
            for k in 0..50 {
                let v = x * (1.0 + k as f32 / 50.0);
                let want = 10.0 * f64::from(v).log10();
                worst = worst.max((f64::from(db10(v)) - want).abs());
            }
            x *= 1.7;
        }
        assert!(worst < 5e-5, "worst abs error {worst} dB");
        assert_eq!(db10(1.0), 0.0);
    }

    #[test]
    fn to_db_applies_floor_and_offsets() {
        let level = Level::new(&Calibration::flat(-160.0, 1.0).unwrap(), &[0.0, 1.0]);
        let mut frames = vec![1.0, 0.01, 0.0, 100.0];
        level.to_db(&mut frames);
        let expect = [160.0, 140.0, -300.0 + 160.0, 180.0];
        for (a, b) in frames.iter().zip(expect) {
            assert!((a - b).abs() < 1e-3, "{a} vs {b}");
        }
    }
}
