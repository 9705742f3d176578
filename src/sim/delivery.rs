//! The data product state machine: `request` (validate, estimate, `dpRequestId`) → `run`
//! (one `dpRunId`, queued per token behind `max_running_jobs_per_token`), `status`, `cancel`,
//! `restart` (same `dpRunId`) and the `error` fault. Downloads are in `download.rs`.
//!
//! Time is real seconds since start-up; all durations from the cost model are multiplied by the
//! time scale. Queueing is an exact event simulation: whenever a job finishes, the oldest queued
//! job of the same token starts at that instant.
//!
//! Must not know: axum.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::clock::{iso, plus_secs};
use super::products::{self, Plan};
use super::reply::{fmt_duration, fmt_size, ApiError, Reply};
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
    /// The job a run id belongs to.
    pub(crate) fn by_run(&self, run_id: u64) -> Option<&Job> {
        self.run_index.get(&run_id).and_then(|id| self.jobs.get(id))
    }

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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sim::catalog::Catalog;
    use crate::sim::clock::lit;
    use crate::sim::params::Params;

    pub(crate) fn job(id: u64, token: &str, duration: f64, since: f64) -> Job {
        let q = "dataProductCode=TSSD&extension=csv&deviceCode=SBECTD19p7128&dateFrom=2024-04-01&dateTo=2024-04-02";
        let plan = products::plan(
            &Catalog::builtin(),
            &Params::parse(Some(q)),
            lit("2026-01-01T00:00:00Z"),
            None,
            0,
        )
        .expect("plan");
        Job {
            request_id: id,
            token: token.into(),
            plan,
            requested_at: since,
            run: Some(Run {
                id: id + 100,
                state: RunState::Queued { since },
                duration,
                started: None,
            }),
        }
    }

    fn state(j: &Jobs, id: u64) -> RunState {
        j.jobs[&id].run.as_ref().map(|r| r.state).expect("run")
    }

    #[test]
    fn queued_jobs_start_exactly_when_a_slot_frees() {
        let mut j = Jobs::default();
        for (id, since) in [(1, 0.0), (2, 0.5), (3, 1.0)] {
            j.jobs.insert(id, job(id, "a", 10.0, since));
        }
        j.jobs.insert(4, job(4, "b", 10.0, 1.0));
        for t in ["a", "b"] {
            j.promote(t, 1.0, 2);
        }
        assert_eq!(state(&j, 1), RunState::Running { start: 1.0 });
        assert_eq!(state(&j, 3), RunState::Queued { since: 1.0 });
        assert_eq!(
            state(&j, 4),
            RunState::Running { start: 1.0 },
            "other tokens have their own slots"
        );
        j.advance(10.9, 2);
        assert_eq!(state(&j, 3), RunState::Queued { since: 1.0 });
        j.advance(30.0, 2);
        assert_eq!(state(&j, 1), RunState::Complete { at: 11.0 });
        // Job 3 started when job 1 finished (11.0) and so completed at 21.0.
        assert_eq!(state(&j, 3), RunState::Complete { at: 21.0 });
    }
}
