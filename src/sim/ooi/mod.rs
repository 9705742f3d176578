//! The OOI simulator, served under the `ooi/` path prefix of the same server as Oceans 3.0
//! (so `sim serve` and `--sim` offer both, with one request log, one fault plan and one time
//! scale): the M2M inventory and deployments (`ooi/api/m2m/12576/sensor/inv/…`,
//! `ooi/api/m2m/12587/events/deployment/inv/…`) behind HTTP basic auth, the asynchronous NetCDF
//! request, THREDDS catalogs (`ooi/thredds/catalog/ooi/<user>/<request>/catalog.html|xml`, an
//! `ancillary/` sub-catalog reached by a `catalogRef`, `?dataset=<id>` single-dataset answers as
//! thredds_crawler asks them), the file server (`ooi/thredds/fileServer/…`) and `status.txt` in
//! `ooi/async_results/<user>/<request>/` once the request is complete; and the raw-data archive
//! (`ooi-raw/files/…` day listings and miniSEED files, see `rawdata.rs`).
//!
//! Must not know: the client, the engine.

mod catalog;
mod inventory;
mod rawdata;
mod requests;

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::json;

use super::faults::{FaultKind, FaultScope};
use super::params::Params;
use super::reply::Reply;
use super::rng::{mix, str_hash};
use super::state::Sim;
use super::sync::lock;
use inventory::{distinct, find, parts, span};
pub(crate) use requests::Requests;
use requests::{compact, plan_files, render, Job, MAX_REQUEST_BYTES};

/// The API username the simulator accepts by default (a demo value, not a secret).
pub const OOI_DEMO_USERNAME: &str = "OOIAPI-SIMULATOR00";
/// The API token the simulator accepts by default (a demo value, not a secret).
pub const OOI_DEMO_TOKEN: &str = "TEMP-TOKEN-SIMULATOR";

/// What an `ooi/…` path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// An inventory level (0–4 path parts after `inv/`).
    Inventory(Vec<String>),
    /// A data request (site, node, sensor, method, stream).
    Request(Vec<String>),
    /// Deployment numbers (3 parts) or one deployment (4).
    Deployments(Vec<String>),
    /// A catalog page: user, request folder, sub-folder ("" or "ancillary"), XML?
    Catalog {
        user: String,
        dir: String,
        sub: String,
        xml: bool,
    },
    /// A file: user, request folder, sub-folder, name.
    File {
        user: String,
        dir: String,
        sub: String,
        name: String,
    },
    /// `status.txt` of a request.
    Status { user: String, dir: String },
    /// The raw-data archive (`ooi-raw/files/…`).
    Raw(rawdata::RawRoute),
    /// Anything else.
    Unknown,
}

fn split(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The internal prefix of raw-archive paths (`ooi-raw/files/…` arrives as `raw-archive/files/…`).
pub(crate) const RAW_PREFIX: &str = "raw-archive/files/";

/// Resolves a path below `ooi/` (or a raw-archive path behind [`RAW_PREFIX`]).
pub(crate) fn route(path: &str) -> Route {
    let p = path.trim_matches('/');
    if let Some(rest) = p.strip_prefix(RAW_PREFIX) {
        return Route::Raw(rawdata::route(rest));
    }
    if let Some(rest) = p.strip_prefix("api/m2m/12576/sensor/inv") {
        let parts = split(rest);
        return match parts.len() {
            0..=4 => Route::Inventory(parts),
            5 => Route::Request(parts),
            _ => Route::Unknown,
        };
    }
    if let Some(rest) = p.strip_prefix("api/m2m/12587/events/deployment/inv") {
        let parts = split(rest);
        return if matches!(parts.len(), 3 | 4) {
            Route::Deployments(parts)
        } else {
            Route::Unknown
        };
    }
    let tail = |rest: &str| -> Option<(String, String, String, String)> {
        let parts = split(rest);
        let (user, dir) = (parts.first()?.clone(), parts.get(1)?.clone());
        match parts.len() {
            3 => Some((user, dir, String::new(), parts[2].clone())),
            4 if parts[2] == "ancillary" => Some((user, dir, parts[2].clone(), parts[3].clone())),
            _ => None,
        }
    };
    if let Some(rest) = p.strip_prefix("thredds/catalog/ooi/") {
        if let Some((user, dir, sub, last)) = tail(rest) {
            if last == "catalog.html" || last == "catalog.xml" {
                let xml = last == "catalog.xml";
                return Route::Catalog {
                    user,
                    dir,
                    sub,
                    xml,
                };
            }
        }
        return Route::Unknown;
    }
    if let Some(rest) = p.strip_prefix("thredds/fileServer/ooi/") {
        if let Some((user, dir, sub, name)) = tail(rest) {
            return Route::File {
                user,
                dir,
                sub,
                name,
            };
        }
        return Route::Unknown;
    }
    if let Some(rest) = p.strip_prefix("async_results/") {
        if let Some((user, dir, sub, last)) = tail(rest) {
            if sub.is_empty() && last == "status.txt" {
                return Route::Status { user, dir };
            }
            return Route::File {
                user,
                dir,
                sub,
                name: last,
            };
        }
    }
    Route::Unknown
}

impl Route {
    /// The request-log name.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Route::Inventory(_) => "ooi/sensor/inv",
            Route::Request(_) => "ooi/request",
            Route::Deployments(_) => "ooi/deployment/inv",
            Route::Catalog { .. } => "ooi/thredds/catalog",
            Route::File { .. } => "ooi/thredds/fileServer",
            Route::Status { .. } => "ooi/async_results/status.txt",
            Route::Raw(rawdata::RawRoute::File { .. }) => "ooi-raw/file",
            Route::Raw(_) => "ooi-raw/listing",
            Route::Unknown => "ooi/unknown",
        }
    }

    /// The fault scope.
    pub(crate) fn scope(&self) -> FaultScope {
        match self {
            Route::Catalog { .. } => FaultScope::Thredds,
            Route::File { .. } => FaultScope::FileServer,
            Route::Status { .. } => FaultScope::Async,
            Route::Raw(_) => FaultScope::OoiRaw,
            _ => FaultScope::M2m,
        }
    }

    /// Whether basic auth is required (M2M only; THREDDS and async results are public).
    pub(crate) fn needs_auth(&self) -> bool {
        matches!(
            self,
            Route::Inventory(_) | Route::Request(_) | Route::Deployments(_) | Route::Unknown
        )
    }

    /// Seconds of latency at time scale 1.
    pub(crate) fn latency(&self) -> f64 {
        match self {
            Route::Request(_) => 1.5,
            Route::File { .. } => 0.2,
            Route::Status { .. } => 0.1,
            Route::Raw(rawdata::RawRoute::File { .. }) => 0.2,
            Route::Raw(_) => 0.3,
            _ => 0.4,
        }
    }
}

fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = s.trim().bytes().filter(|&b| b != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i);
        }
        let n = chunk.len();
        if n < 2 {
            return None;
        }
        out.push((acc >> 16) as u8);
        if n > 2 {
            out.push((acc >> 8) as u8);
        }
        if n > 3 {
            out.push(acc as u8);
        }
    }
    Some(out)
}

/// The API username of a valid `Authorization: Basic …` header, if the pair is accepted.
pub(crate) fn authorized(sim: &Sim, header: Option<&str>) -> Option<String> {
    let b64 = header?.trim().strip_prefix("Basic ")?;
    let text = String::from_utf8(b64_decode(b64)?).ok()?;
    let (user, token) = text.split_once(':')?;
    sim.config
        .ooi_credentials
        .iter()
        .any(|(u, t)| u == user && t == token)
        .then(|| user.to_string())
}

fn refused(message: impl Into<String>) -> Reply {
    Reply::json(400, json!({"message": message.into(), "status_code": 400}))
}

fn not_found(what: &str) -> Reply {
    Reply::json(
        404,
        json!({"message": format!("{what} not found"), "status_code": 404}),
    )
}

fn list(items: Vec<&str>) -> Reply {
    let n = items.len();
    Reply::ok(json!(items)).with_rows(n)
}

fn inventory(parts_: &[String]) -> Reply {
    let p: Vec<&str> = parts_.iter().map(String::as_str).collect();
    match p.as_slice() {
        [] => list(distinct(|i| Some(parts(i).0))),
        [site] => list(distinct(|i| (parts(i).0 == *site).then_some(parts(i).1))),
        [site, node] => list(distinct(|i| {
            let (s, n, x) = parts(i);
            (s == *site && n == *node).then_some(x)
        })),
        [site, node, sensor] => match find(site, node, sensor) {
            Some(i) => list(i.methods.to_vec()),
            None => not_found("instrument"),
        },
        [site, node, sensor, method] => match find(site, node, sensor) {
            Some(i) if i.methods.contains(method) => list(
                i.streams
                    .iter()
                    .filter(|s| s.method == *method)
                    .map(|s| s.name)
                    .collect(),
            ),
            _ => not_found("delivery method"),
        },
        _ => not_found("inventory level"),
    }
}

fn deployments(p: &[String]) -> Reply {
    let Some(inst) = find(&p[0], &p[1], &p[2]) else {
        return not_found("instrument");
    };
    let Some(num) = p.get(3) else {
        let v: Vec<u32> = inst.deployments.iter().map(|d| d.number).collect();
        let rows = v.len();
        return Reply::ok(json!(v)).with_rows(rows);
    };
    let Some(d) = num
        .parse::<u32>()
        .ok()
        .and_then(|n| inst.deployments.iter().find(|d| d.number == n))
    else {
        return not_found("deployment");
    };
    let ms = |s: &str| s.parse::<Timestamp>().ok().map(|t| t.as_millisecond());
    Reply::ok(json!([{
        "@class": ".XDeployment",
        "deploymentNumber": d.number,
        "referenceDesignator": inst.refdes,
        "eventStartTime": ms(d.start),
        "eventStopTime": d.stop.and_then(ms),
        "location": {"latitude": inst.lat, "longitude": inst.lon, "depth": inst.depth},
        "sensor": {"uid": d.uid},
    }]))
}

fn parse_dt(params: &Params, key: &str) -> Result<Option<Timestamp>, Reply> {
    match params.get(key).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse::<Timestamp>().map(Some).map_err(|_| {
            refused(format!(
                "{key}: cannot parse \"{v}\" (use YYYY-MM-DDTHH:MM:SS.sssZ)"
            ))
        }),
    }
}

fn request(sim: &Arc<Sim>, user: &str, p: &[String], params: &Params, stuck: bool) -> Reply {
    let Some(inst) = find(&p[0], &p[1], &p[2]) else {
        return not_found("instrument");
    };
    let Some(stream) = inst
        .streams
        .iter()
        .find(|s| s.method == p[3] && s.name == p[4])
    else {
        return not_found("stream");
    };
    let now = sim.now();
    let (begin, end) = match (parse_dt(params, "beginDT"), parse_dt(params, "endDT")) {
        (Ok(b), Ok(e)) => (b, e),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let first = inst
        .deployments
        .iter()
        .filter_map(|d| span(d, now))
        .map(|s| s.0)
        .min()
        .unwrap_or(now);
    let (begin, end) = (begin.unwrap_or(first), end.unwrap_or(now).min(now));
    if begin >= end {
        return refused(format!(
            "beginDT ({begin}) must be before endDT ({end}) and not in the future"
        ));
    }
    let (files, bytes) = plan_files(inst, stream, begin, end, now);
    if files.is_empty() {
        return refused(format!(
            "No data available for {} {} {} between {begin} and {end}",
            inst.refdes, stream.method, stream.name
        ));
    }
    if bytes > MAX_REQUEST_BYTES {
        return refused(format!(
            "Request too large: estimated {:.0} GB exceeds the {:.0} GB limit; request a shorter time range",
            bytes / 1e9,
            MAX_REQUEST_BYTES / 1e9
        ));
    }
    let mut reqs = lock(&sim.ooi);
    reqs.count += 1;
    let n = reqs.count;
    let h = mix(str_hash(user) ^ mix(n) ^ sim.config.seed);
    let uuid = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (h >> 32) as u32,
        (h >> 16) as u16,
        h as u16 & 0xfff,
        (h >> 40) as u16 & 0xfff,
        mix(h) & 0xffff_ffff_ffff
    );
    let mut stamp = now;
    let dir = loop {
        let d = format!(
            "{}-{}-{}-{}",
            compact(stamp),
            inst.refdes,
            stream.method,
            stream.name
        );
        if !reqs.by_dir.contains_key(&d) {
            break d;
        }
        stamp = stamp
            .checked_add(jiff::SignedDuration::from_secs(1))
            .unwrap_or(stamp);
    };
    let nfiles = files.len();
    let job = Job {
        uuid: uuid.clone(),
        user: user.to_string(),
        dir: dir.clone(),
        refdes: inst.refdes,
        stream: *stream,
        instrument: inst,
        files,
        submitted: std::time::Instant::now(),
        scale: sim.config.time_scale,
        stuck,
    };
    reqs.by_dir.insert(dir.clone(), job);
    let base = &sim.base_url;
    let catalog = format!("{base}ooi/thredds/catalog/ooi/{user}/{dir}/catalog.html");
    let results = format!("{base}ooi/async_results/{user}/{dir}");
    Reply::ok(json!({
        "requestUUID": uuid,
        "outputURL": catalog,
        "allURLs": [catalog, results],
        "sizeCalculation": bytes.round(),
        "timeCalculation": requests::START_S + requests::PER_FILE_S * nfiles as f64,
        "numberOfSubJobs": nfiles,
    }))
}

fn with_job<T>(sim: &Sim, user: &str, dir: &str, f: impl FnOnce(&Job) -> T) -> Option<T> {
    let reqs = lock(&sim.ooi);
    reqs.by_dir.get(dir).filter(|j| j.user == user).map(f)
}

/// Answers one `ooi/…` request (auth already checked for M2M routes; `user` is the caller).
pub(crate) async fn serve(
    sim: &Arc<Sim>,
    route: Route,
    params: &Params,
    user: &str,
    fault: Option<FaultKind>,
) -> Reply {
    match route {
        Route::Inventory(p) => inventory(&p),
        Route::Deployments(p) => deployments(&p),
        Route::Request(p) => request(sim, user, &p, params, fault == Some(FaultKind::RunError)),
        Route::Status { user, dir } => match with_job(sim, &user, &dir, Job::complete) {
            Some(true) => Reply::file(
                bytes::Bytes::from_static(b"request completed\n"),
                "text/plain",
                None,
            ),
            _ => Reply::empty(404),
        },
        Route::Catalog {
            user,
            dir,
            sub,
            xml,
        } => {
            let page = with_job(sim, &user, &dir, |job| {
                catalog::page(job, &sim.base_url, &sub, xml, params.get("dataset"))
            });
            match page {
                Some(Some((text, ctype))) => Reply::file(text.into(), ctype, None),
                _ => Reply::empty(404),
            }
        }
        Route::File {
            user,
            dir,
            sub,
            name,
        } => {
            let found = with_job(sim, &user, &dir, |job| {
                if sub == "ancillary" {
                    let ready = job.complete();
                    return job
                        .ancillary()
                        .into_iter()
                        .find(|(n, _)| *n == name && ready)
                        .map(|(_, text)| Ok((text.into_bytes(), "application/json")));
                }
                job.ready_files()
                    .find(|f| f.name == name)
                    .cloned()
                    .map(|f| Err(Box::new((job.clone(), f))))
            });
            match found.flatten() {
                Some(Ok((data, ctype))) => Reply::file(data.into(), ctype, Some(name)),
                Some(Err(pair)) => {
                    let (job, f) = *pair;
                    let rendered = tokio::task::spawn_blocking(move || render(&job, &f)).await;
                    match rendered {
                        Ok(Ok(data)) => {
                            Reply::file(data.into(), "application/x-netcdf", Some(name))
                        }
                        _ => Reply::json(500, json!({"message": "rendering failed"})),
                    }
                }
                None => Reply::empty(404),
            }
        }
        Route::Raw(r) => raw(r, sim.config.audio_sample_rate_override).await,
        Route::Unknown => not_found("service"),
    }
}

/// Answers a raw-archive path: a day listing, a miniSEED file, or 404 (as Apache does).
async fn raw(r: rawdata::RawRoute, rate: Option<u32>) -> Reply {
    match r {
        rawdata::RawRoute::Day {
            folder,
            date,
            station,
        } => match rawdata::listing(&folder, station, date) {
            Some(html) => Reply::file(html.into(), "text/html;charset=UTF-8", None),
            None => Reply::empty(404),
        },
        rawdata::RawRoute::File {
            date,
            station,
            name,
        } => {
            let n = name.clone();
            let rendered =
                tokio::task::spawn_blocking(move || rawdata::render(station, date, &n, rate)).await;
            match rendered {
                Ok(Some(Ok(data))) => {
                    Reply::file(data.into(), "application/octet-stream", Some(name))
                }
                Ok(None) => Reply::empty(404),
                _ => Reply::json(500, json!({"message": "rendering failed"})),
            }
        }
        rawdata::RawRoute::Missing => Reply::empty(404),
    }
}

/// The JSON body of a 401 (M2M answers basic-auth failures with a short message).
pub(crate) fn unauthorized() -> Reply {
    Reply::json(
        401,
        json!({"message": "Authentication failed: check your API username and token", "status_code": 401}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("api/m2m/12576/sensor/inv/"), Route::Inventory(vec![]));
        assert!(matches!(
            route(
                "api/m2m/12576/sensor/inv/RS03CCAL/MJ03F/05-BOTPTA301/streamed/botpt_nano_sample"
            ),
            Route::Request(_)
        ));
        assert!(matches!(
            route("thredds/catalog/ooi/u/d/ancillary/catalog.xml"),
            Route::Catalog { xml: true, .. }
        ));
        assert!(matches!(
            route("async_results/u/d/status.txt"),
            Route::Status { .. }
        ));
        assert_eq!(
            route("thredds/catalog/ooi/u/d/../../x/catalog.xml"),
            Route::Unknown
        );
        assert_eq!(b64_decode("dTpwdw==").unwrap(), b"u:pw");
    }
}
