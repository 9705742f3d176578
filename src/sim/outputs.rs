//! Rendering of generated data product files: each `Output` of a plan to bytes (HSD MAT via
//! the content module, audio and log files via the archive, TSSD CSV/JSON from the scalar
//! model) and the run's `*_META.xml`.
//!
//! Must not know: job state, axum.

use jiff::Timestamp;
use serde_json::{json, Value};

use super::archive::{self, AUDIO_FILE_MS};
use super::catalog::{Catalog, Device};
use super::clock::{from_ms, iso, ms};
use super::content::{self, ContentError};
use super::products::{Output, Plan, PlotKind};
use super::readings;

/// Renders one output (blocking; call from a blocking thread).
pub(crate) fn render(
    cat: &Catalog,
    out: &Output,
    rate_override: Option<u32>,
    seed: u64,
    nan: bool,
) -> Result<Vec<u8>, ContentError> {
    match out {
        Output::Hsd {
            spec,
            plot: Some((kind, plot)),
            ..
        } => match kind {
            PlotKind::Png => content::hsd_png(spec, plot),
            PlotKind::Pdf => content::hsd_pdf(spec, plot),
        },
        Output::Hsd { spec, .. } => content::hsd_mat(spec),
        Output::Audio { file, rate, .. } => archive::render(cat, file, Some(*rate), seed),
        Output::Log { file, .. } => archive::render(cat, file, rate_override, seed),
        Output::Tssd {
            name,
            device,
            from,
            to,
            json,
            avg_s,
        } => {
            let dev = cat.device(device).ok_or_else(|| ContentError::Render {
                what: name.clone(),
                reason: "unknown device".into(),
            })?;
            Ok(tssd(dev, *from, *to, *json, *avg_s, nan).into_bytes())
        }
    }
}

/// TSSD text: CSV with a commented header, or JSON with per-sensor arrays.
fn tssd(
    dev: &Device,
    from: Timestamp,
    to: Timestamp,
    as_json: bool,
    avg_s: Option<u32>,
    nan: bool,
) -> String {
    let step = avg_s.map_or((dev.sample_period_s * 1000.0).max(1.0) as i64, |s| {
        i64::from(s) * 1000
    });
    let times = readings::grid_times(dev, ms(from), ms(to), step);
    let sensors = readings::sensor_list(dev);
    let val = |i: usize, t: i64| -> f64 {
        match avg_s {
            None => readings::value(dev, i, t, nan),
            Some(s) => {
                let n = i64::from(s).clamp(1, 60);
                let dt = i64::from(s) * 1000 / n;
                (0..n)
                    .map(|j| readings::value(dev, i, t + j * dt, false))
                    .sum::<f64>()
                    / n as f64
            }
        }
    };
    if as_json {
        let data: Vec<Value> = sensors.iter().enumerate().map(|(i, (prop, code, name, uom))| {
            json!({"sensorCode": code, "sensorName": name, "propertyCode": prop, "unitOfMeasure": uom,
                   "data": {"sampleTimes": times.iter().map(|t| iso(from_ms(*t))).collect::<Vec<_>>(),
                            "values": times.iter().map(|t| { let v = val(i, *t); if v.is_nan() { Value::Null } else { json!(v) } }).collect::<Vec<_>>(),
                            "qaqcFlags": vec![1; times.len()]}})
        }).collect();
        return json!({"metadata": {"deviceCode": dev.code, "dateFrom": iso(from), "dateTo": iso(to), "qualityControl": "clean"}, "sensorData": data}).to_string();
    }
    let mut s = format!("#\"Ocean Networks Canada Data Product: Time Series Scalar Data\"\n#\"Device: {} ({})\"\n#\"Date range: {} to {}\"\n", dev.name, dev.code, iso(from), iso(to));
    s.push_str("## Time UTC (yyyy-mm-ddThh:mm:ss.fffZ)");
    for (_, _, name, uom) in &sensors {
        s.push_str(&format!(", {name} ({uom}), {name} QC Flag"));
    }
    s.push('\n');
    for t in times {
        s.push_str(&iso(from_ms(t)));
        for i in 0..sensors.len() {
            let v = val(i, t);
            if v.is_nan() {
                s.push_str(", NaN, 9")
            } else {
                s.push_str(&format!(", {v:.5}, 1"))
            }
        }
        s.push('\n');
    }
    s
}

/// The `*_META.xml` file of a finished run.
pub(crate) fn meta_xml(plan: &Plan, run_id: u64, request_id: u64) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<dataProductMetadata>\n");
    s.push_str(&format!("  <dataProduct code=\"{}\" extension=\"{}\"/>\n  <dpRequestId>{request_id}</dpRequestId>\n  <dpRunId>{run_id}</dpRunId>\n", plan.product, plan.ext));
    s.push_str("  <parameters>\n");
    for (k, v) in &plan.echo {
        s.push_str(&format!(
            "    <parameter name=\"{}\">{}</parameter>\n",
            esc(k),
            esc(v)
        ));
    }
    s.push_str("  </parameters>\n  <devices>\n");
    for d in &plan.devices {
        s.push_str(&format!("    <device code=\"{}\"/>\n", esc(d)));
    }
    s.push_str("  </devices>\n  <files>\n");
    for o in &plan.outputs {
        s.push_str(&format!("    <file>{}</file>\n", esc(o.name())));
    }
    s.push_str(&format!("  </files>\n  <sourceFileDuration unit=\"ms\">{AUDIO_FILE_MS}</sourceFileDuration>\n</dataProductMetadata>\n"));
    s
}
