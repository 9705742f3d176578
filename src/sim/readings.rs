//! Deterministic readings of the simulated instruments: scalar sensor values on each device's
//! sample grid, raw hex instrument lines, and the text of the daily `.txt` log files. Pure
//! functions of (device, time), shared by the archive, the data products and the near-real-time
//! endpoints.
//!
//! Must not know: HTTP, job state, request parameters.

use jiff::Timestamp;

use super::catalog::{Catalog, Device};
use super::clock::{from_ms, iso, ms};
use super::rng::unit;

/// Most samples per sensor in one response.
pub(crate) const MAX_ROWS: usize = 100_000;
pub(crate) const NAN_PLACEHOLDER: &str = "__SIM_NAN__";

/// `(propertyCode, sensorCode, sensorName, unitOfMeasure)`.
pub(crate) const SENSORS: [(&str, &str, &str, &str); 4] = [
    ("seawatertemperature", "Temperature", "Temperature", "C"),
    ("conductivity", "Conductivity", "Conductivity", "S/m"),
    ("pressure", "Pressure", "Pressure", "decibar"),
    ("salinity", "Salinity", "Practical Salinity", "psu"),
];

/// The sensors of `dev`: `(propertyCode, sensorCode, sensorName, unitOfMeasure)`.
pub(crate) fn sensor_list(
    dev: &Device,
) -> Vec<(&'static str, &'static str, &'static str, &'static str)> {
    sensors_of(dev)
}

/// Times in `[from, to)` on a grid of `step_ms` (phase-shifted like the device's samples).
pub(crate) fn grid_times(dev: &Device, from: i64, to: i64, step_ms: i64) -> Vec<i64> {
    let phase = (dev.seed % 1000) as i64;
    let step = step_ms.max(1);
    let mut out = Vec::new();
    let mut t = (from - phase + step - 1).div_euclid(step) * step + phase;
    while t < to {
        out.push(t);
        t += step;
    }
    out
}

pub(crate) fn sensors_of(
    dev: &Device,
) -> Vec<(&'static str, &'static str, &'static str, &'static str)> {
    SENSORS
        .iter()
        .copied()
        .filter(|s| dev.properties.contains(&s.0))
        .collect()
}

/// The value of sensor `idx` of `dev` at `t_ms` (NaN when `nan` and the sample is a dropout).
pub(crate) fn value(dev: &Device, idx: usize, t_ms: i64, nan: bool) -> f64 {
    let t = t_ms as f64 / 1000.0;
    let tau = std::f64::consts::TAU;
    let noise = unit(dev.seed.wrapping_add(idx as u64), t_ms as u64) - 0.5;
    if nan && unit(dev.seed ^ 0xdead, t_ms as u64) < 0.002 {
        return f64::NAN;
    }
    let v = match idx {
        0 => 3.5 + 0.3 * (tau * t / 86_400.0).sin() + 0.05 * (tau * t / 745.0).sin() + 0.01 * noise,
        1 => 3.21 + 0.02 * (tau * t / 86_400.0).sin() + 0.001 * noise,
        2 => 990.0 + 0.8 * (tau * t / 44_712.0).sin() + 0.02 * noise,
        _ => 34.4 + 0.05 * (tau * t / 86_400.0).cos() + 0.002 * noise,
    };
    (v * 1e5).round() / 1e5
}

/// Sample times of `dev` in `[from, to)` at location `at` (any location when `None`), up to
/// `limit` (+1 to detect a next page) or the last `limit` when `latest`.
pub(crate) fn sample_times(
    cat: &Catalog,
    dev: &Device,
    at: Option<&str>,
    from: i64,
    to: i64,
    limit: usize,
    latest: bool,
) -> Vec<i64> {
    let period = (dev.sample_period_s * 1000.0).round() as i64;
    if period <= 0 || to <= from {
        return Vec::new();
    }
    let phase = (dev.seed % 1000) as i64;
    let mut out = Vec::new();
    let mut deps = cat.deployments_of(dev.code);
    deps.retain(|d| at.is_none_or(|l| d.location == l));
    if latest {
        deps.reverse();
    }
    for d in deps {
        let lo = from.max(ms(d.begin));
        let hi = to.min(d.end.map(ms).unwrap_or(i64::MAX));
        if hi <= lo {
            continue;
        }
        let first = (lo - phase + period - 1).div_euclid(period) * period + phase;
        let last = (hi - 1 - phase).div_euclid(period) * period + phase;
        if latest {
            let mut t = last;
            while t >= first && out.len() < limit {
                out.push(t);
                t -= period;
            }
        } else {
            let mut t = first;
            while t <= last && out.len() <= limit {
                out.push(t);
                t += period;
            }
        }
        if out.len() > limit || (latest && out.len() == limit) {
            break;
        }
    }
    if latest {
        out.reverse();
    }
    out
}

/// Raw hex reading of `dev` at `t_ms` (derived from the scalar values for the CTD).
pub(crate) fn raw_reading(dev: &Device, t_ms: i64) -> String {
    let mut s = String::new();
    for i in 0..4 {
        let v = if dev.properties.is_empty() {
            unit(dev.seed + i, t_ms as u64) * 65_535.0
        } else {
            value(dev, i as usize, t_ms, false).abs() * 60.0
        };
        s.push_str(&format!("{:06X}", (v as u64) & 0xFF_FFFF));
    }
    s.push_str(&format!("{:02X}", (t_ms / 1000) & 0xFF));
    s
}

/// The daily `.txt` log file of `dev` covering `[start, end)`.
pub(crate) fn log_text(dev: &Device, start: Timestamp, end: Timestamp) -> String {
    let step = if dev.properties.is_empty() {
        60_000
    } else {
        10_000
    };
    let mut s = format!(
        "# {} ({}) log file; one line per reading: time, raw hex\n",
        dev.code, dev.name
    );
    let mut t = ms(start);
    while t < ms(end) {
        s.push_str(&iso(from_ms(t)));
        s.push(' ');
        s.push_str(&raw_reading(dev, t));
        s.push('\n');
        t += step;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::clock::lit;

    #[test]
    fn sample_times_page_and_latest() {
        let cat = Catalog::builtin();
        let dev = cat.device("SBECTD19p7128").unwrap();
        let from = ms(lit("2024-04-01T00:00:00Z"));
        let t = sample_times(&cat, dev, None, from, from + 10_000, 100, false);
        assert_eq!(t.len(), 10);
        assert!(t.windows(2).all(|w| w[1] - w[0] == 1000));
        let t = sample_times(&cat, dev, None, from, from + 10_000, 3, false);
        assert_eq!(t.len(), 4, "limit + 1 to detect a next page");
        let t = sample_times(&cat, dev, None, from, from + 10_000, 2, true);
        assert_eq!(t.len(), 2);
        assert!(t[1] > t[0] && t[1] >= from + 9_000);
        // Gap between deployments (May 2023) has no samples.
        let g = ms(lit("2023-05-10T00:00:00Z"));
        assert!(sample_times(&cat, dev, None, g, g + 60_000, 10, false).is_empty());
        let log = log_text(
            dev,
            lit("2024-04-01T00:00:00Z"),
            lit("2024-04-01T00:01:00Z"),
        );
        assert_eq!(log.lines().count(), 7);
        assert!(value(dev, 0, from, false).is_finite());
    }
}
