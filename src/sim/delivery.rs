//! The data product endpoints: `request` (validate, estimate, `dpRequestId`) → `run` (one
//! `dpRunId`, handed to the server-wide worker pool of `jobs.rs`), `status`, `cancel`, `restart`
//! (same `dpRunId`) and the `error` fault. Downloads are in `download.rs`.
//!
//! Must not know: axum.

use serde_json::{json, Value};

use super::clock::{iso, plus_secs};
use super::jobs::{Job, Jobs, Run, RunState};
use super::products;
use super::reply::{fmt_duration, fmt_size, ApiError, Reply};
use super::state::Ctx;
use super::sync::lock;

pub(crate) fn bad_id(param: &str) -> ApiError {
    ApiError::invalid(param, "Invalid search header ID.")
}

pub(crate) fn id_param(ctx: &Ctx, key: &str) -> Result<u64, ApiError> {
    let v = ctx.params.require(key)?;
    v.trim().parse().map_err(|_| bad_id(key))
}

/// Locks the jobs, advanced to now.
pub(crate) fn jobs_now(ctx: &Ctx) -> (std::sync::MutexGuard<'_, Jobs>, f64) {
    let now = ctx.sim.clock.elapsed_s();
    let mut jobs = lock(&ctx.sim.jobs);
    jobs.advance(now, ctx.sim.config.job_workers.max(1));
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
    let mut plan = products::plan(
        &ctx.sim.catalog,
        p,
        ctx.now(),
        cfg.audio_sample_rate_override,
        cfg.seed,
    )?;
    super::reprocess::rerun(&mut plan.outputs, &lock(&ctx.sim.reprocess), ctx.now());
    let n = plan.outputs.len();
    let (mut jobs, requested_at) = jobs_now(ctx);
    let id = jobs.new_request_id();
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
    jobs.map.insert(
        id,
        Job {
            request_id: id,
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
    let max = ctx.sim.config.job_workers.max(1);
    let (mut jobs, now) = jobs_now(ctx);
    let next_run = jobs.next_run_id();
    let job = jobs.map.get_mut(&id).ok_or_else(|| bad_id("dpRequestId"))?;
    if job.run.is_none() {
        let duration = job.plan.cost.total(job.plan.outputs.len()) * scale;
        job.run = Some(Run {
            id: next_run,
            state: RunState::Queued { since: now },
            duration,
            started: None,
        });
        jobs.index_run(next_run, id);
        jobs.promote(now, max);
        jobs.advance(now, max);
    }
    let job = jobs.map.get(&id).ok_or_else(|| bad_id("dpRequestId"))?;
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
    let job = jobs.map.get(&id).ok_or_else(|| bad_id("dpRequestId"))?;
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
    let max = ctx.sim.config.job_workers.max(1);
    let (mut jobs, now) = jobs_now(ctx);
    let job = jobs.map.get_mut(&id).ok_or_else(|| bad_id("dpRequestId"))?;
    let mut out = Vec::new();
    if let Some(run) = job.run.as_mut() {
        if !matches!(run.state, RunState::Complete { .. }) {
            run.state = RunState::Cancelled { at: now };
        }
        out.push(json!({"dpRunId": run.id, "status": "cancelled"}));
    }
    jobs.promote(now, max);
    Ok(Reply::ok(Value::Array(out)))
}

/// `dataProductDelivery/restart`: re-queues a run under the same `dpRunId`.
pub(crate) fn restart(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.params.check_names(&["method", "dpRequestId"])?;
    let id = id_param(ctx, "dpRequestId")?;
    let max = ctx.sim.config.job_workers.max(1);
    let (mut jobs, now) = jobs_now(ctx);
    let job = jobs.map.get_mut(&id).ok_or_else(|| bad_id("dpRequestId"))?;
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
    jobs.promote(now, max);
    let run = jobs
        .map
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
    let max = ctx.sim.config.job_workers.max(1);
    let (mut jobs, now) = jobs_now(ctx);
    let by_request = ctx
        .params
        .get("dpRequestId")
        .and_then(|v| v.trim().parse::<u64>().ok());
    let by_run = ctx
        .params
        .get("dpRunId")
        .and_then(|v| v.trim().parse::<u64>().ok());
    let Some(id) = by_request.or_else(|| by_run.and_then(|r| jobs.request_of_run(r))) else {
        return;
    };
    let Some(job) = jobs.map.get_mut(&id) else {
        return;
    };
    if let Some(run) = job.run.as_mut() {
        if matches!(
            run.state,
            RunState::Queued { .. } | RunState::Running { .. }
        ) {
            run.state = RunState::Failed { at: now };
        }
    }
    jobs.promote(now, max);
}
