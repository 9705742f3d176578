//! The data product state machine: `request` (validate, estimate, `dpRequestId`) → `run`
//! (one `dpRunId`, queued per token behind `max_running_jobs_per_token`) → `download` by index
//! (202 with evolving messages, files ready one by one, 200 with `Content-Disposition`, 404 past
//! the end, 204 for no data, `meta`), plus `status`, `cancel` and `restart` (same `dpRunId`).
//!
//! Time is real seconds since start-up; all durations from the cost model are multiplied by the
//! time scale. Queueing is an exact event simulation: whenever a job finishes, the oldest queued
//! job of the same token starts at that instant.
//!
//! Must not know: axum.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::clock::{iso, plus_secs};
use super::outputs;
use super::products::{self, Plan};
use super::reply::{fmt_duration, fmt_size, ApiError, Body, Reply};
use super::state::{lock, Ctx};

const FIRST_REQUEST_ID: u64 = 28_892_274;
const FIRST_RUN_ID: u64 = 56_070_469;

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RunState {
    Queued {
        since: f64,
    },
    Running {
        start: f64,
    },
    Complete {
        at: f64,
    },
    Cancelled {
        at: f64,
    },
    /// Failed (an injected `error` fault); `restart` re-queues it.
    Failed {
        at: f64,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub id: u64,
    pub state: RunState,
    /// Seconds (already scaled) the job takes once started.
    pub duration: f64,
    /// Start time of the current attempt (for file readiness).
    pub started: Option<f64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub request_id: u64,
    pub token: String,
    pub plan: Plan,
    pub run: Option<Run>,
    /// When the request was made (seconds since start-up).
    pub requested_at: f64,
}

/// All requests of one simulator.
#[derive(Debug, Default)]
pub(crate) struct Jobs {
    next: u64,
    jobs: HashMap<u64, Job>,
    run_index: HashMap<u64, u64>,
}

impl Jobs {
    fn running(&self, token: &str) -> usize {
        self.jobs
            .values()
            .filter(|j| {
                j.token == token
                    && matches!(
                        j.run.as_ref().map(|r| r.state),
                        Some(RunState::Running { .. })
                    )
            })
            .count()
    }

    /// Starts queued jobs of `token` while slots are free, at time `t`.
    fn promote(&mut self, token: &str, t: f64, max: usize) {
        while self.running(token) < max {
            let next = self
                .jobs
                .values()
                .filter(|j| j.token == token)
                .filter_map(|j| match j.run.as_ref().map(|r| r.state) {
                    Some(RunState::Queued { since }) => Some((since, j.request_id)),
                    _ => None,
                })
                .min_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            let Some((since, id)) = next else { break };
            if let Some(run) = self.jobs.get_mut(&id).and_then(|j| j.run.as_mut()) {
                let start = since.max(t);
                run.state = RunState::Running { start };
                run.started = Some(start);
            }
        }
    }

    /// Processes every completion up to `now`, in time order.
    pub(crate) fn advance(&mut self, now: f64, max: usize) {
        loop {
            let due = self
                .jobs
                .values()
                .filter_map(|j| match j.run.as_ref().map(|r| (r.state, r.duration)) {
                    Some((RunState::Running { start }, d)) if start + d <= now => {
                        Some((start + d, j.request_id))
                    }
                    _ => None,
                })
                .min_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            let Some((at, id)) = due else { break };
            let Some(job) = self.jobs.get_mut(&id) else {
                break;
            };
            if let Some(run) = job.run.as_mut() {
                run.state = RunState::Complete { at };
            }
            let token = job.token.clone();
            self.promote(&token, at, max);
        }
    }
}

fn bad_id(param: &str) -> ApiError {
    ApiError::invalid(param, "Invalid search header ID.")
}

fn id_param(ctx: &Ctx, key: &str) -> Result<u64, ApiError> {
    let v = ctx.params.require(key)?;
    v.trim().parse().map_err(|_| bad_id(key))
}

/// Locks the jobs, advanced to now.
fn jobs_now(ctx: &Ctx) -> (std::sync::MutexGuard<'_, Jobs>, f64) {
    let now = ctx.sim.clock.elapsed_s();
    let mut jobs = lock(&ctx.sim.jobs);
    jobs.advance(now, ctx.sim.config.max_running_jobs_per_token.max(1));
    (jobs, now)
}

const REQUEST_KEYS: &[&str] = &[
    "method",
    "dataProductCode",
    "extension",
    "dateFrom",
    "dateTo",
    "locationCode",
    "deviceCategoryCode",
    "deviceCode",
    "propertyCode",
];

/// `dataProductDelivery/request`.
pub(crate) fn request(ctx: &Ctx) -> Result<Reply, ApiError> {
    let p = &ctx.params;
    for (k, _) in p.pairs() {
        if k != "token" && !k.starts_with("dpo_") && !REQUEST_KEYS.contains(&k.as_str()) {
            return Err(ApiError::unknown(k));
        }
    }
    let cfg = &ctx.sim.config;
    let plan = products::plan(
        &ctx.sim.catalog,
        p,
        ctx.now(),
        cfg.audio_sample_rate_override,
        cfg.seed,
    )?;
    let n = plan.outputs.len();
    let (mut jobs, requested_at) = jobs_now(ctx);
    let id = FIRST_REQUEST_ID + jobs.next;
    jobs.next += 1;
    let citations: Vec<Value> = plan.devices.iter().map(|d| {
        let pid = 33_282_795 + id % 100_000;
        json!({"citation": format!("Ocean Networks Canada Society. 2024. {d} data. Subset Query: {pid}. Accessed {}.", &iso(ctx.now())[..10]),
               "doi": "10.34943/e4166edb-4ce0-4b57-9856-acf4198fad53", "landingPageUrl": "https://doi.org/10.34943/e4166edb-4ce0-4b57-9856-acf4198fad53", "queryPid": pid})
    }).collect();
    let pids: Vec<Value> = citations.iter().map(|c| c["queryPid"].clone()).collect();
    let mut body = json!({"citations": citations, "dpRequestId": id, "messages": plan.messages, "queryPids": pids, "queryURL": ctx.query_url(),
        "disclaimer": "Software Developers are implementing estimates of processing times and file sizes for data requests. These are extremely rough to begin with, but bear with us. We expect these estimates will gradually improve."});
    if plan.archived {
        body["fileSize"] = json!(plan.est_size);
        body["numFiles"] = json!(n);
    } else {
        body["estimatedFileSize"] = json!(fmt_size(plan.est_size));
        body["estimatedProcessingTime"] = json!(fmt_duration(plan.cost.total(n)));
    }
    jobs.jobs.insert(
        id,
        Job {
            request_id: id,
            token: ctx.token.clone(),
            plan,
            run: None,
            requested_at,
        },
    );
    Ok(Reply::ok(body))
}

fn run_status(state: RunState) -> &'static str {
    match state {
        RunState::Queued { .. } => "queued",
        RunState::Running { .. } => "data product running",
        RunState::Complete { .. } => "complete",
        RunState::Cancelled { .. } => "cancelled",
        RunState::Failed { .. } => "error",
    }
}

fn files_ready(job: &Job, run: &Run, now: f64, scale: f64) -> usize {
    match (run.state, run.started) {
        (RunState::Complete { .. }, _) => job.plan.outputs.len(),
        (RunState::Running { start }, _) => (1..=job.plan.outputs.len())
            .take_while(|i| start + job.plan.cost.ready_after(*i) * scale <= now)
            .count(),
        _ => 0,
    }
}

/// `dataProductDelivery/run`: creates the run on first call, then reports it.
pub(crate) fn run(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.params.check_names(&["method", "dpRequestId"])?;
    let id = id_param(ctx, "dpRequestId")?;
    let scale = ctx.sim.config.time_scale;
    let max = ctx.sim.config.max_running_jobs_per_token.max(1);
    let (mut jobs, now) = jobs_now(ctx);
    let next_run = FIRST_RUN_ID + jobs.run_index.len() as u64;
    let job = jobs
        .jobs
        .get_mut(&id)
        .ok_or_else(|| bad_id("dpRequestId"))?;
    let token = job.token.clone();
    if job.run.is_none() {
        let duration = job.plan.cost.total(job.plan.outputs.len()) * scale;
        job.run = Some(Run {
            id: next_run,
            state: RunState::Queued { since: now },
            duration,
            started: None,
        });
        jobs.run_index.insert(next_run, id);
        jobs.promote(&token, now, max);
        jobs.advance(now, max);
    }
    let job = jobs.jobs.get(&id).ok_or_else(|| bad_id("dpRequestId"))?;
    let run = job.run.as_ref().ok_or_else(|| bad_id("dpRequestId"))?;
    let done = matches!(
        run.state,
        RunState::Complete { .. } | RunState::Cancelled { .. } | RunState::Failed { .. }
    );
    let body = json!([{"dpRunId": run.id, "fileCount": files_ready(job, run, now, scale), "status": run_status(run.state)}]);
    Ok(Reply::json(if done { 200 } else { 202 }, body))
}

/// `dataProductDelivery/status`.
pub(crate) fn status(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.params.check_names(&["method", "dpRequestId"])?;
    let id = id_param(ctx, "dpRequestId")?;
    let (jobs, now) = jobs_now(ctx);
    let job = jobs.jobs.get(&id).ok_or_else(|| bad_id("dpRequestId"))?;
    let (hdr, status, at) = match job.run.as_ref().map(|r| r.state) {
        None => ("OPEN", "requested", job.requested_at),
        Some(s @ RunState::Queued { since }) => ("OPEN", run_status(s), since),
        Some(s @ RunState::Running { start }) => ("OPEN", run_status(s), start),
        Some(s @ RunState::Complete { at }) => ("COMPLETED", run_status(s), at),
        Some(s @ RunState::Cancelled { at }) => ("CANCELLED", run_status(s), at),
        Some(s @ RunState::Failed { at }) => ("ERROR", run_status(s), at),
    };
    let modified = plus_secs(ctx.now(), at - now);
    Ok(Reply::ok(
        json!({"dpRequestId": id, "searchHdrStatus": hdr, "status": status,
        "description": format!("{} {} request", job.plan.product, job.plan.ext), "modifyDate": iso(modified)}),
    ))
}

/// `dataProductDelivery/cancel`.
pub(crate) fn cancel(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.params.check_names(&["method", "dpRequestId"])?;
    let id = id_param(ctx, "dpRequestId")?;
    let max = ctx.sim.config.max_running_jobs_per_token.max(1);
    let (mut jobs, now) = jobs_now(ctx);
    let job = jobs
        .jobs
        .get_mut(&id)
        .ok_or_else(|| bad_id("dpRequestId"))?;
    let token = job.token.clone();
    let mut out = Vec::new();
    if let Some(run) = job.run.as_mut() {
        if !matches!(run.state, RunState::Complete { .. }) {
            run.state = RunState::Cancelled { at: now };
        }
        out.push(json!({"dpRunId": run.id, "status": "cancelled"}));
    }
    jobs.promote(&token, now, max);
    Ok(Reply::ok(Value::Array(out)))
}

/// `dataProductDelivery/restart`: re-queues a run under the same `dpRunId`.
pub(crate) fn restart(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.params.check_names(&["method", "dpRequestId"])?;
    let id = id_param(ctx, "dpRequestId")?;
    let max = ctx.sim.config.max_running_jobs_per_token.max(1);
    let (mut jobs, now) = jobs_now(ctx);
    let job = jobs
        .jobs
        .get_mut(&id)
        .ok_or_else(|| bad_id("dpRequestId"))?;
    let token = job.token.clone();
    let Some(run) = job.run.as_mut() else {
        return Err(bad_id("dpRequestId"));
    };
    if matches!(
        run.state,
        RunState::Cancelled { .. } | RunState::Complete { .. } | RunState::Failed { .. }
    ) {
        run.state = RunState::Queued { since: now };
        run.started = None;
    }
    jobs.promote(&token, now, max);
    let run = jobs
        .jobs
        .get(&id)
        .and_then(|j| j.run.as_ref())
        .ok_or_else(|| bad_id("dpRequestId"))?;
    Ok(Reply::ok(
        json!([{"dpRunId": run.id, "status": run_status(run.state)}]),
    ))
}

/// Makes the run of the request named in the query (`dpRequestId` or `dpRunId`) fail now,
/// if it is still in progress (the `error` fault). Unknown ids are left to the handler.
pub(crate) fn fail_run(ctx: &Ctx) {
    let max = ctx.sim.config.max_running_jobs_per_token.max(1);
    let (mut jobs, now) = jobs_now(ctx);
    let by_request = ctx
        .params
        .get("dpRequestId")
        .and_then(|v| v.trim().parse::<u64>().ok());
    let by_run = ctx
        .params
        .get("dpRunId")
        .and_then(|v| v.trim().parse::<u64>().ok());
    let Some(id) = by_request.or_else(|| by_run.and_then(|r| jobs.run_index.get(&r).copied()))
    else {
        return;
    };
    let Some(job) = jobs.jobs.get_mut(&id) else {
        return;
    };
    let token = job.token.clone();
    if let Some(run) = job.run.as_mut() {
        if matches!(
            run.state,
            RunState::Queued { .. } | RunState::Running { .. }
        ) {
            run.state = RunState::Failed { at: now };
        }
    }
    jobs.promote(&token, now, max);
}

/// What a download poll sees.
enum Poll {
    NotReady(Value),
    Transferring(String),
    Ready(usize),
    Meta,
    NoData,
    PastEnd,
    Cancelled,
    Failed,
}

fn poll(job: &Job, run: &Run, index: Option<usize>, now: f64, scale: f64) -> Poll {
    let n = job.plan.outputs.len();
    let cost = job.plan.cost;
    match run.state {
        RunState::Cancelled { .. } => Poll::Cancelled,
        RunState::Failed { .. } => Poll::Failed,
        RunState::Queued { .. } => Poll::NotReady(
            json!({"status": "queued", "message": "Queued: waiting for processing resources"}),
        ),
        RunState::Complete { .. } => match index {
            None => Poll::Meta,
            Some(_) if n == 0 => Poll::NoData,
            Some(i) if i > n => Poll::PastEnd,
            Some(i) => Poll::Ready(i),
        },
        RunState::Running { start } => {
            let t = (now - start) / scale.max(1e-12);
            if let Some(i) = index.filter(|i| *i <= n) {
                let ready = cost.ready_after(i);
                if t >= ready {
                    return Poll::Ready(i);
                }
                if t >= ready - cost.transfer_s {
                    return Poll::Transferring(job.plan.outputs[i - 1].name().to_string());
                }
            }
            let gen_end = cost.base_s + cost.per_file_s * n as f64;
            if t >= gen_end {
                return Poll::NotReady(
                    json!({"status": "running", "message": "search complete, waiting on the file system to synchronize"}),
                );
            }
            if t < cost.base_s * 0.15 {
                return Poll::NotReady(json!({"status": "running"}));
            }
            let frac = (t / gen_end).clamp(0.0, 1.0);
            let msg = if job.plan.product == "HSD" && t >= cost.base_s {
                format!("Running... processing hydrophone spectral data, {:.1}% complete for deployment 1 of 1. (0.0% was pre-generated.)", 100.0 * (t - cost.base_s) / (gen_end - cost.base_s).max(1e-9))
            } else if frac < 0.3 {
                "Running... getting data for time segment 1 of 1.".to_string()
            } else if frac < 0.7 {
                "Running... working on time segment 1 of 1, for device deployment 1 of 1."
                    .to_string()
            } else {
                "Running... writing data products, time range 1 of 1.".to_string()
            };
            Poll::NotReady(json!({"status": "running", "message": msg}))
        }
    }
}

/// `dataProductDelivery/download?dpRunId=&index=` (GET and HEAD). `gone` = a 410 fault.
pub(crate) async fn download(ctx: &Ctx, gone: bool) -> Result<Reply, ApiError> {
    ctx.params.check_names(&["method", "dpRunId", "index"])?;
    let run_id = id_param(ctx, "dpRunId")?;
    let index = match ctx.params.get("index").unwrap_or("1") {
        "meta" => None,
        v => Some(
            v.parse::<usize>()
                .ok()
                .filter(|i| *i > 0)
                .ok_or_else(|| ApiError::invalid("index", format!("Invalid index: {v}")))?,
        ),
    };
    let scale = ctx.sim.config.time_scale;
    let (what, job) = {
        let (jobs, now) = jobs_now(ctx);
        let req = *jobs
            .run_index
            .get(&run_id)
            .ok_or_else(|| bad_id("dpRunId"))?;
        let job = jobs.jobs.get(&req).ok_or_else(|| bad_id("dpRunId"))?;
        let run = job.run.as_ref().ok_or_else(|| bad_id("dpRunId"))?;
        (poll(job, run, index, now, scale), job.clone())
    };
    match what {
        Poll::Cancelled => Err(ApiError::plain(
            400,
            json!({"status": "cancelled", "message": "The data product request was cancelled."}),
        )),
        Poll::Failed => Err(ApiError::plain(
            400,
            json!({"status": "error", "message": "The data product run failed; restart the request."}),
        )),
        Poll::NotReady(body) => Ok(Reply::json(202, body)),
        Poll::Transferring(name) if gone => Err(ApiError::plain(
            410,
            json!({"message": format!("File {name} is not available on the FTP server yet.")}),
        )),
        Poll::Transferring(name) => Ok(Reply::json(
            202,
            json!({"status": "running", "message": format!("Transferring ({name}) to the FTP server")}),
        )),
        Poll::NoData => Ok(Reply::empty(204)),
        Poll::PastEnd => Err(ApiError::plain(
            404,
            json!({"message": format!("Index {} is past the last file of run {run_id}.", index.unwrap_or(0))}),
        )),
        Poll::Meta => {
            let xml = outputs::meta_xml(&job.plan, run_id, job.request_id);
            Ok(Reply::file(
                bytes::Bytes::from(xml),
                "application/xml",
                Some(job.plan.meta_name.clone()),
            ))
        }
        Poll::Ready(i) => {
            let out = job.plan.outputs[i - 1].clone();
            let key = format!("dp/{}/{}", job.request_id, out.name());
            if let Some(b) = lock(&ctx.sim.cache).get(&key) {
                return Ok(Reply::file(
                    b,
                    out.content_type(),
                    Some(out.name().to_string()),
                ));
            }
            let sim = std::sync::Arc::clone(&ctx.sim);
            let o = out.clone();
            let rendered = tokio::task::spawn_blocking(move || {
                let c = &sim.config;
                outputs::render(
                    &sim.catalog,
                    &o,
                    c.audio_sample_rate_override,
                    c.seed,
                    c.scalar_nan,
                )
            })
            .await;
            let bytes = match rendered {
                Ok(Ok(b)) => bytes::Bytes::from(b),
                Ok(Err(e)) => {
                    return Err(ApiError::plain(
                        500,
                        json!({"status": "error", "message": e.to_string()}),
                    ))
                }
                Err(e) => {
                    return Err(ApiError::plain(
                        500,
                        json!({"status": "error", "message": e.to_string()}),
                    ))
                }
            };
            lock(&ctx.sim.cache).put(&key, bytes.clone());
            Ok(Reply {
                status: 200,
                body: Body::File {
                    data: bytes,
                    content_type: out.content_type(),
                    filename: Some(out.name().to_string()),
                },
                rows: 0,
            })
        }
    }
}
