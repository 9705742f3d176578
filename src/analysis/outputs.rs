//! The files one spectrogram job writes: NPZ (+ JSON provenance sidecar), MAT v5 with a
//! `metadata` struct, PNG — each staged through [`super::files::stage`], for the caller to
//! commit (fsync and rename) — and the provenance record itself.
//!
//! Must not know: decoding, the STFT, flags.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use ndarray::{ArrayView1, ArrayView2};
use ndarray_npy::NpzWriter;
use serde_json::json;

use crate::dsp::{Calibration, Scaling, StftParams};
use crate::media::{
    self, AudioInfo, MatFile, MatMatrix, MatStruct, MatValue, MatWriteOptions, PngOptions,
    SpectrogramImage,
};

use super::files::{stage, stage_bytes, Staged};
use super::spectrogram::{stem_of, Computed, OutputFormat, Precision, SpectrogramSpec};
use super::AnalysisError;

/// The input a result came from.
pub(super) struct Source<'a> {
    /// The input file.
    pub input: &'a Path,
    pub sha256: &'a str,
    pub info: &'a AudioInfo,
}

fn encode_err(file: &Path, e: impl std::fmt::Display) -> AnalysisError {
    AnalysisError::Encode {
        file: file.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Stages every requested format, in order (their final names are [`Staged::path`]); nothing is
/// visible until the caller commits them.
pub(super) fn stage_all(
    src: &Source,
    out_dir: &Path,
    params: &StftParams,
    spec: &SpectrogramSpec,
    c: &Computed,
    unit: &'static str,
) -> Result<Vec<Staged>, AnalysisError> {
    let stem = stem_of(src.input);
    let provenance = provenance(src, params, spec, c, unit);
    let mut outputs = Vec::new();
    for format in &spec.formats {
        match format {
            OutputFormat::Npz => {
                let path = out_dir.join(format!("{stem}.npz"));
                outputs.push(stage(&path, |w| write_npz(w, c, spec.average, &path))?);
                let sidecar = out_dir.join(format!("{stem}.json"));
                let text = serde_json::to_string_pretty(&provenance)
                    .map_err(|e| encode_err(&sidecar, e))?;
                outputs.push(stage_bytes(&sidecar, text.as_bytes())?);
            }
            OutputFormat::Mat => {
                let path = out_dir.join(format!("{stem}.mat"));
                // Frame-major data is MATLAB's column-major order for a frequency × time matrix.
                let psd: Vec<f64> = c.db.iter().map(|&v| f64::from(v)).collect();
                let vars = MatFile::new()
                    .with("psd_db", MatMatrix::new(c.n_freq, c.n_time, psd)?)
                    .with("frequency_hz", MatMatrix::column(c.frequency_hz.clone()))
                    .with("time_s", MatMatrix::row(c.time_s.clone()))
                    .with("metadata", json_to_mat(&provenance));
                // Uncompressed: zlib gains little on dB values at several times the cost.
                let bytes = media::encode_mat(&vars, MatWriteOptions { compress: false })?;
                outputs.push(stage_bytes(&path, &bytes)?);
            }
            OutputFormat::Png => {
                let path = out_dir.join(format!("{stem}.png"));
                let title = src
                    .input
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let img = SpectrogramImage {
                    db: &c.db,
                    n_freq: c.n_freq,
                    n_time: c.n_time,
                    frequency_hz: &c.frequency_hz,
                    time_s: &c.time_s,
                    unit,
                    title: &title,
                };
                let opts = PngOptions {
                    clim: spec.clim,
                    ..PngOptions::default()
                };
                let png = |source| AnalysisError::Png {
                    file: path.clone(),
                    source,
                };
                let rgb = media::render_spectrogram(&img, &opts).map_err(png)?;
                let bytes = media::encode_png(&rgb).map_err(png)?;
                outputs.push(stage_bytes(&path, &bytes)?);
            }
        }
    }
    Ok(outputs)
}

/// NPZ (uncompressed, like `numpy.savez`): `psd_db` frequency × time (written in Fortran order
/// straight from the frame-major buffer, so no transpose copy), `frequency_hz`, `time_s`.
fn write_npz(
    w: &mut BufWriter<&mut File>,
    c: &Computed,
    average: bool,
    path: &Path,
) -> Result<(), AnalysisError> {
    let err = |e: &dyn std::fmt::Display| encode_err(path, e);
    let mut npz = NpzWriter::new(w);
    if average {
        npz.add_array("psd_db", &ArrayView1::from(&c.db[..]))
            .map_err(|e| err(&e))?;
    } else {
        let m = ArrayView2::from_shape((c.n_time, c.n_freq), &c.db[..])
            .map_err(|e| err(&e))?
            .reversed_axes();
        npz.add_array("psd_db", &m).map_err(|e| err(&e))?;
    }
    npz.add_array("frequency_hz", &ArrayView1::from(&c.frequency_hz[..]))
        .map_err(|e| err(&e))?;
    npz.add_array("time_s", &ArrayView1::from(&c.time_s[..]))
        .map_err(|e| err(&e))?;
    let w = npz.finish().map_err(|e| err(&e))?;
    w.flush().map_err(|e| AnalysisError::io(path, e))
}

/// The provenance record stored in the JSON sidecar and the MAT `metadata` struct.
fn provenance(
    src: &Source,
    params: &StftParams,
    spec: &SpectrogramSpec,
    c: &Computed,
    unit: &str,
) -> serde_json::Value {
    let calibration = match &spec.calibration {
        Calibration::FullScale => json!({"kind": "none"}),
        Calibration::Flat {
            sensitivity_db,
            full_scale_volts,
        } => json!({"kind": "flat", "sensitivity_db_re_1V_per_uPa": sensitivity_db,
                    "full_scale_volts": full_scale_volts}),
        Calibration::Curve {
            points,
            full_scale_volts,
        } => {
            json!({"kind": "curve", "frequency_hz": points.iter().map(|p| p.0).collect::<Vec<_>>(),
                    "sensitivity_db_re_1V_per_uPa": points.iter().map(|p| p.1).collect::<Vec<_>>(),
                    "full_scale_volts": full_scale_volts})
        }
    };
    let info = src.info;
    json!({
        "tool": "onc-hydro",
        "tool_version": env!("CARGO_PKG_VERSION"),
        "created": format!("{:.3}", jiff::Timestamp::now()),
        "source": {
            "file": src.input.display().to_string(),
            "sha256": src.sha256,
            "format": info.format.name(),
            "sample_rate": info.sample_rate,
            "bits_per_sample": info.bits_per_sample,
            "channels": info.channels,
            "n_samples": c.n_samples,
            // miniSEED: the data's own start time and its traces (gaps lie between them).
            "start_utc": c.segments.first().map(|g| format!("{:.9}", crate::media::ns_to_timestamp(g.start_ns))),
            "segments": c.segments.iter().map(|g| json!({
                "start_utc": format!("{:.9}", crate::media::ns_to_timestamp(g.start_ns)),
                "n_samples": g.samples,
            })).collect::<Vec<_>>(),
        },
        "parameters": {
            "window": params.window.name(),
            "nfft": params.nfft,
            "win_length": params.win_length,
            "hop": params.hop,
            "noverlap": params.win_length - params.hop,
            "scaling": match params.scaling { Scaling::Density => "density", Scaling::Spectrum => "spectrum" },
            "mode": "psd",
            "detrend": false,
            "onesided": true,
            "average": if spec.average { "welch mean" } else { "none" },
            "freq_min_hz": spec.freq_min,
            "freq_max_hz": spec.freq_max,
            "precision": match spec.precision { Precision::F64 => "f64", Precision::F32 => "f32" },
            "db_floor_linear": f64::from(crate::dsp::DB_FLOOR_LINEAR),
        },
        "calibration": calibration,
        "calibration_description": spec.calibration.describe(),
        "unit": unit,
        "layout": {
            "psd_db": if spec.average { "frequency" } else { "frequency × time" },
            "n_freq": c.n_freq,
            "n_time": c.time_s.len(),
            "time_s": "frame centres in seconds from the first sample (across gaps for a miniSEED file of several traces)",
        },
    })
}

/// JSON → MATLAB: objects become structs, numbers scalars, numeric arrays row vectors, null
/// the string `null`, anything else its JSON text.
fn json_to_mat(v: &serde_json::Value) -> MatValue {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut st = MatStruct::new();
            for (k, v) in map {
                st.insert(k, json_to_mat(v));
            }
            MatValue::Struct(st)
        }
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN).into(),
        Value::Bool(b) => f64::from(u8::from(*b)).into(),
        Value::String(s) => s.as_str().into(),
        Value::Null => "null".into(),
        Value::Array(items) => match items.iter().map(|x| x.as_f64()).collect::<Option<Vec<_>>>() {
            Some(nums) => MatMatrix::row(nums).into(),
            None => v.to_string().into(),
        },
    }
}
