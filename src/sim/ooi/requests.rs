//! The OOI simulator's asynchronous requests: a request is cut into files (one per deployment
//! overlapping the asked interval, split into at most [`MAX_CHUNKS`] size chunks), the files
//! appear one by one while the "server works" and `status.txt` appears when all are there —
//! latency `(START_S + PER_FILE_S × k) × time scale` after submission. Files are NetCDF
//! classic (64-bit offset) written by `media::netcdf`, not NetCDF-4/HDF5 as OOI's: xarray opens
//! both the same way. Rows are thinned to at most [`MAX_ROWS`] per file (OOI delivers all).
//!
//! Must not know: HTTP, axum.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::inventory::{parts, span, Instrument, Stream};
use crate::media::{NcFile, NcValues};
use crate::sim::rng::{mix, str_hash, unit};

/// Seconds (× time scale) before the first file appears.
pub(crate) const START_S: f64 = 5.0;
/// Seconds (× time scale) between files, and before `status.txt` after the last one.
pub(crate) const PER_FILE_S: f64 = 2.0;
/// Most size chunks per deployment.
pub(crate) const MAX_CHUNKS: usize = 4;
/// Most rows per file.
pub(crate) const MAX_ROWS: usize = 20_000;
/// Requests whose full-rate size exceeds this are refused ("too large").
pub(crate) const MAX_REQUEST_BYTES: f64 = 500e9;

/// One NetCDF file of a request.
#[derive(Debug, Clone)]
pub(crate) struct FileSpec {
    pub name: String,
    pub deployment: u32,
    pub start: Timestamp,
    pub end: Timestamp,
    pub rows: usize,
}

/// One submitted request.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub uuid: String,
    pub user: String,
    pub dir: String,
    pub refdes: &'static str,
    pub stream: Stream,
    pub instrument: &'static Instrument,
    pub files: Vec<FileSpec>,
    pub submitted: Instant,
    pub scale: f64,
    /// Never completes (an injected `error` fault).
    pub stuck: bool,
}

impl Job {
    fn after(&self, secs: f64) -> bool {
        let d = Duration::from_secs_f64((secs * self.scale).clamp(0.0, 1e9));
        self.submitted.elapsed() >= d
    }

    /// Files written so far.
    pub(crate) fn ready_files(&self) -> impl Iterator<Item = &FileSpec> {
        self.files
            .iter()
            .enumerate()
            .filter(|(k, _)| self.after(START_S + PER_FILE_S * *k as f64))
            .map(|(_, f)| f)
    }

    /// Whether `status.txt` exists.
    pub(crate) fn complete(&self) -> bool {
        !self.stuck && self.after(START_S + PER_FILE_S * self.files.len() as f64)
    }

    /// The provenance and annotation companions, as (name, JSON text).
    pub(crate) fn ancillary(&self) -> Vec<(String, String)> {
        let base = format!(
            "{}-{}-{}",
            self.refdes, self.stream.method, self.stream.name
        );
        let prov = serde_json::json!({
            "requestUUID": self.uuid,
            "files": self.files.iter().map(|f| &f.name).collect::<Vec<_>>(),
            "source": "onc-hydro OOI simulator",
        });
        vec![
            (format!("{base}_provenance.json"), prov.to_string()),
            (format!("{base}_annotations.json"), "[]".to_string()),
        ]
    }
}

/// `YYYYMMDDTHHMMSS`.
pub(crate) fn compact(ts: Timestamp) -> String {
    ts.strftime("%Y%m%dT%H%M%S").to_string()
}

/// Cuts `[begin, end)` of `stream` into files. Returns the files and the full-rate size.
pub(crate) fn plan_files(
    inst: &'static Instrument,
    stream: &Stream,
    begin: Timestamp,
    end: Timestamp,
    now: Timestamp,
) -> (Vec<FileSpec>, f64) {
    let mut files = Vec::new();
    let mut bytes = 0.0;
    let row_bytes = 8.0 + 4.0 + 4.0 * stream.vars.len() as f64;
    for d in inst.deployments {
        let Some((ds, de)) = span(d, now) else {
            continue;
        };
        let (s, e) = (ds.max(begin), de.min(end));
        if s >= e {
            continue;
        }
        let secs = e.duration_since(s).as_secs_f64();
        let full_rows = (secs / stream.interval_s).floor().max(1.0);
        bytes += full_rows * row_bytes;
        let chunks = ((full_rows / MAX_ROWS as f64).ceil() as usize).clamp(1, MAX_CHUNKS);
        for c in 0..chunks {
            let cs = s
                .checked_add(jiff::SignedDuration::from_secs_f64(
                    secs * c as f64 / chunks as f64,
                ))
                .unwrap_or(s);
            let ce = s
                .checked_add(jiff::SignedDuration::from_secs_f64(
                    secs * (c + 1) as f64 / chunks as f64,
                ))
                .unwrap_or(e);
            let csecs = ce.duration_since(cs).as_secs_f64();
            let rows = ((csecs / stream.interval_s).ceil() as usize).clamp(1, MAX_ROWS);
            let step = csecs / rows as f64;
            let last = cs
                .checked_add(jiff::SignedDuration::from_secs_f64(
                    step * (rows - 1) as f64,
                ))
                .unwrap_or(cs);
            let name = format!(
                "deployment{:04}_{}-{}-{}_{}-{}.nc",
                d.number,
                inst.refdes,
                stream.method,
                stream.name,
                compact(cs),
                compact(last)
            );
            files.push(FileSpec {
                name,
                deployment: d.number,
                start: cs,
                end: ce,
                rows,
            });
        }
    }
    (files, bytes)
}

/// Seconds since 1900-01-01 (OOI's time base) of `ts`.
fn ntp_seconds(ts: Timestamp) -> f64 {
    ts.as_millisecond() as f64 / 1000.0 + 2_208_988_800.0
}

/// Renders one file of `job` as NetCDF bytes.
pub(crate) fn render(job: &Job, f: &FileSpec) -> Result<Vec<u8>, crate::media::MediaError> {
    let n = f.rows.max(1);
    let step = f.end.duration_since(f.start).as_secs_f64() / n as f64;
    let t0 = ntp_seconds(f.start);
    let times: Vec<f64> = (0..n).map(|i| t0 + step * i as f64).collect();
    let (site, node, sensor) = parts(job.instrument);
    let mut nc = NcFile::new();
    nc.add_dim("obs", n)?;
    nc.add_var("obs", &["obs"], NcValues::I32((0..n as i32).collect()))?;
    nc.add_var("time", &["obs"], NcValues::F64(times.clone()))?;
    nc.set_var_attr("time", "units", "seconds since 1900-01-01 00:00:00")?;
    nc.set_var_attr("time", "standard_name", "time")?;
    nc.set_var_attr("time", "long_name", "time")?;
    nc.set_var_attr("time", "axis", "T")?;
    nc.set_var_attr("time", "calendar", "gregorian")?;
    nc.add_var(
        "deployment",
        &["obs"],
        NcValues::I32(vec![f.deployment as i32; n]),
    )?;
    nc.set_var_attr("deployment", "long_name", "Deployment Number")?;
    nc.add_var("lat", &["obs"], NcValues::F64(vec![job.instrument.lat; n]))?;
    nc.set_var_attr("lat", "units", "degrees_north")?;
    nc.set_var_attr("lat", "standard_name", "latitude")?;
    nc.add_var("lon", &["obs"], NcValues::F64(vec![job.instrument.lon; n]))?;
    nc.set_var_attr("lon", "units", "degrees_east")?;
    nc.set_var_attr("lon", "standard_name", "longitude")?;
    let seed = str_hash(job.refdes) ^ mix(u64::from(f.deployment));
    for (k, v) in job.stream.vars.iter().enumerate() {
        let vs = seed ^ str_hash(v.name);
        let values: Vec<f32> = times
            .iter()
            .map(|t| {
                let phase = 2.0 * std::f64::consts::PI * t / (12.42 * 3600.0);
                let noise = unit(vs, (t * 1000.0) as u64) * 2.0 - 1.0;
                (v.mean + v.tide * (phase + k as f64).sin() + v.noise * noise) as f32
            })
            .collect();
        nc.add_var(v.name, &["obs"], NcValues::F32(values))?;
        nc.set_var_attr(v.name, "units", v.units)?;
        nc.set_var_attr(v.name, "long_name", v.long_name)?;
        nc.set_var_attr(v.name, "coordinates", "time lat lon")?;
    }
    let cover = |ts: Timestamp| format!("{ts:.3}");
    let attrs: [(&str, String); 13] = [
        (
            "title",
            format!("Data produced by Stream Engine for {}", job.refdes),
        ),
        ("institution", "Ocean Observatories Initiative".into()),
        (
            "source",
            "onc-hydro OOI simulator (synthetic values)".into(),
        ),
        ("Conventions", "CF-1.6".into()),
        ("featureType", "point".into()),
        ("cdm_data_type", "Point".into()),
        ("subsite", site.into()),
        ("node", node.into()),
        ("sensor", sensor.into()),
        ("collection_method", job.stream.method.into()),
        ("stream", job.stream.name.into()),
        ("time_coverage_start", cover(f.start)),
        ("time_coverage_end", cover(f.end)),
    ];
    for (k, v) in attrs {
        nc.set_attr(k, v.as_str())?;
    }
    nc.set_attr("requestUUID", job.uuid.as_str())?;
    nc.set_attr("deployment", NcValues::I32(vec![f.deployment as i32]))?;
    nc.set_attr("lat", NcValues::F64(vec![job.instrument.lat]))?;
    nc.set_attr("lon", NcValues::F64(vec![job.instrument.lon]))?;
    nc.set_attr(
        "deployment_depth",
        NcValues::F64(vec![job.instrument.depth]),
    )?;
    if let Some(d) = job
        .instrument
        .deployments
        .iter()
        .find(|d| d.number == f.deployment)
    {
        nc.set_attr("deployment_start", d.start)?;
        nc.set_attr("deployment_stop", d.stop.unwrap_or(""))?;
        nc.set_attr("asset_uid", d.uid)?;
    }
    nc.encode()
}

/// Every request of one simulator, by folder name.
#[derive(Debug, Default)]
pub(crate) struct Requests {
    pub by_dir: HashMap<String, Job>,
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::super::inventory::INSTRUMENTS;
    use super::*;

    #[test]
    fn files_follow_deployments_and_chunks() {
        let inst = &INSTRUMENTS[0];
        let st = inst.streams[0];
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let (files, _) = plan_files(
            inst,
            &st,
            "2017-01-30T22:00:00Z".parse().unwrap(),
            "2017-08-12T19:00:00Z".parse().unwrap(),
            now,
        );
        assert_eq!(files.len(), 2, "{files:?}");
        assert_eq!(files[0].deployment, 1);
        assert_eq!(files[0].rows, 5175);
        assert!(files[0].name.starts_with(
            "deployment0001_RS03CCAL-MJ03F-05-BOTPTA301-streamed-botpt_nano_sample_20170130T220000-"
        ));
        let (all, bytes) = plan_files(inst, &st, "2012-01-01T00:00:00Z".parse().unwrap(), now, now);
        assert_eq!(all.len(), 3 * MAX_CHUNKS);
        assert!(all.iter().all(|f| f.rows <= MAX_ROWS));
        assert!(bytes > 1e9 && bytes < MAX_REQUEST_BYTES);
    }
}
