//! The data-product worker: `request` (the `dpRequestId` is committed before anything else
//! happens), `run` (the `dpRunId`s are committed), adaptive polling of `run` while the job is on
//! the server (first poll at the server's estimate, then backing off, capped), downloading each
//! file as soon as the run reports it ready, releasing the run slot the moment the job
//! completes, then the remaining files and the optional `meta` file. A task found `requested` or
//! `running` in the ledger is re-attached (polled), never requested again.
//!
//! Also the worker of a run-download task (the files of runs that exist already).
//!
//! Must not know: archive files, the scheduler's queue.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinSet;

use super::ctx::{Ctx, Stop};
use super::fetch::{product_file, Fetched};
use super::ledger::TaskRow;
use super::report::Event;
use super::task::{OrderSpec, RunSpec, TaskId, TaskState};
use crate::api::{DownloadIndex, RequestId, RunId, RunResponse, RunStatus};

/// One line describing the runs, e.g. `data product running (2 files ready)`.
fn describe(resp: &RunResponse) -> String {
    resp.runs
        .iter()
        .map(|r| {
            let status = if r.status.as_str().is_empty() {
                "unknown"
            } else {
                r.status.as_str()
            };
            format!(
                "run {}: {} ({} files ready)",
                r.dp_run_id, status, r.file_count
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub(crate) type Files = JoinSet<Result<Fetched, Stop>>;

/// Holds the job's place in the server count; gives it back however the worker ends.
pub(crate) struct OnServer<'a> {
    pub ctx: &'a Ctx,
    pub slot: Option<OwnedSemaphorePermit>,
    pub counted: bool,
    pub since: Instant,
}

impl OnServer<'_> {
    pub(crate) fn release(&mut self) {
        if self.counted {
            self.counted = false;
            self.ctx.jobs_changed(-1);
            let ms = self.since.elapsed().as_millis() as u64;
            self.ctx.stats.add(&self.ctx.stats.server_wait_ms, ms);
        }
        if self.slot.take().is_some() {
            self.ctx.wake.notify_one();
        }
    }
}

impl Drop for OnServer<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

/// Gives back a request-ahead place however the worker ends.
pub(crate) struct Ahead<'a>(pub &'a Ctx);

impl Drop for Ahead<'_> {
    fn drop(&mut self) {
        self.0.requesting_ahead.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Drives an order task from wherever the ledger says it is to done. Without a run slot the
/// worker was started to request ahead (the scheduler counted it in `requesting_ahead`): it
/// requests, then waits for a slot before calling `run`, so a freed slot is refilled at once.
pub(crate) async fn order_task(
    ctx: Arc<Ctx>,
    row: TaskRow,
    spec: OrderSpec,
    slot: Option<OwnedSemaphorePermit>,
) -> Result<(), Stop> {
    let id = row.id;
    let ahead = slot.is_none().then(|| Ahead(&ctx));
    let dir = ctx.dir_for(spec.folder.as_deref())?;
    let mut estimate = row.estimate;
    let request = match row.request_id {
        Some(r) => r,
        None => {
            let r = ctx
                .call(id, "request", || ctx.remote.request(&spec.order))
                .await?;
            estimate = r.processing_time();
            // Committed before `run`: a crash from here on re-attaches to this request.
            ctx.ledger.set_requested(id, r.dp_request_id, estimate)?;
            ctx.report(Event::Requested {
                task: id,
                label: row.label.clone(),
            });
            r.dp_request_id
        }
    };
    let slot = run_slot(&ctx, slot).await?;
    drop(ahead);
    let mut job = OnServer {
        ctx: &ctx,
        slot: Some(slot),
        counted: true,
        since: Instant::now(),
    };
    ctx.jobs_changed(1);
    let (mut schedule, first) = ctx.settings.poll.start(estimate);
    let mut first_answer = None;
    let mut wait = Duration::ZERO;
    if row.run_ids.is_empty() {
        let resp = ctx.call(id, "run", || ctx.remote.run(request)).await?;
        if resp.runs.is_empty() {
            return Err(Stop::transient("run: the server returned no dpRunId"));
        }
        ctx.ledger
            .set_running(id, &resp.run_ids(), &describe(&resp))?;
        first_answer = Some(resp);
        wait = first;
    }
    let mut files: Files = JoinSet::new();
    let mut launched: HashMap<RunId, u64> = HashMap::new();
    let mut last_message = row.message.clone().unwrap_or_default();
    let resp = loop {
        let fresh = first_answer.is_some();
        let resp = match first_answer.take() {
            Some(r) => r,
            None => {
                ctx.sleep(wait).await?;
                ctx.call(id, "poll run", || ctx.remote.run(request)).await?
            }
        };
        if let Some(bad) = resp
            .runs
            .iter()
            .find(|r| matches!(r.status, RunStatus::Error | RunStatus::Cancelled))
        {
            let reason = format!("the server reports run {} {}", bad.dp_run_id, bad.status);
            ctx.ledger.clear_job(id)?;
            return Err(Stop::transient(reason));
        }
        let mut new_files = false;
        for r in &resp.runs {
            let n = launched.entry(r.dp_run_id).or_insert(0);
            while *n < r.file_count {
                *n += 1;
                new_files = true;
                let index = DownloadIndex::File(*n as u32);
                files.spawn(product_file(
                    Arc::clone(&ctx),
                    id,
                    dir.clone(),
                    r.dp_run_id,
                    index,
                ));
            }
        }
        let message = describe(&resp);
        if message != last_message {
            ctx.ledger.set_message(id, &message)?;
            ctx.report(Event::JobMessage {
                task: id,
                message: message.clone(),
            });
            last_message = message;
        }
        if resp.is_complete() {
            break resp;
        }
        if job.since.elapsed() > ctx.settings.max_wait {
            give_up(&ctx, id, request).await?;
            return Err(Stop::transient(format!(
                "no result after {:?} on the server; cancelled, will request again",
                ctx.settings.max_wait
            )));
        }
        if new_files {
            schedule.reset();
        }
        // The first poll of a fresh job waits for the server's estimate; later ones back off.
        wait = if fresh {
            first
        } else {
            schedule.next_interval()
        };
    };
    job.release();
    ctx.ledger.set_state(id, TaskState::Downloading)?;
    let mut failure = None;
    for r in &resp.runs {
        if launched.get(&r.dp_run_id).copied().unwrap_or(0) == 0 {
            // No file count (e.g. an older server): walk the indexes until 404 / 204.
            if let Err(e) = walk_indexes(&ctx, id, &dir, r.dp_run_id).await {
                failure.get_or_insert(e);
            }
        }
        if spec.include_meta {
            files.spawn(product_file(
                Arc::clone(&ctx),
                id,
                dir.clone(),
                r.dp_run_id,
                DownloadIndex::Meta,
            ));
        }
    }
    if let Err(e) = join_files(&mut files).await {
        failure.get_or_insert(e);
    }
    if let Some(e) = failure {
        return Err(e);
    }
    ctx.ledger.set_state(id, TaskState::Done)?;
    Ok(())
}

/// The run slot a worker was given, or the next free one.
pub(crate) async fn run_slot(
    ctx: &Ctx,
    slot: Option<OwnedSemaphorePermit>,
) -> Result<OwnedSemaphorePermit, Stop> {
    match slot {
        Some(s) => Ok(s),
        None => Arc::clone(&ctx.run_slots)
            .acquire_owned()
            .await
            .map_err(|_| Stop::Fatal("run slots closed".into())),
    }
}

/// Waits for every file transfer of a task: a fatal stop returns at once (the rest are
/// dropped), otherwise the first failure is returned after all have ended.
pub(crate) async fn join_files(files: &mut Files) -> Result<(), Stop> {
    let mut failure = None;
    while let Some(joined) = files.join_next().await {
        match joined {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                if matches!(e, Stop::Fatal(_) | Stop::Engine(_)) {
                    return Err(e);
                }
                failure.get_or_insert(e);
            }
            Err(e) => {
                failure.get_or_insert(Stop::transient(format!("a download worker failed: {e}")));
            }
        }
    }
    failure.map_or(Ok(()), Err)
}

/// Downloads the files of runs that already exist (`order --run-id`): every index until the
/// server says there are no more (each file polled while the run is still working, with the
/// engine's backoff and maximum wait), then the metadata files.
pub(crate) async fn run_files_task(
    ctx: Arc<Ctx>,
    row: TaskRow,
    spec: RunSpec,
    slot: Option<OwnedSemaphorePermit>,
) -> Result<(), Stop> {
    let ahead = slot.is_none().then(|| Ahead(&ctx));
    drop(ahead);
    drop(slot);
    let id = row.id;
    let dir = ctx.dir_for(spec.folder.as_deref())?;
    ctx.ledger.set_state(id, TaskState::Downloading)?;
    for &run in &spec.run_ids {
        let run = RunId(run);
        walk_indexes(&ctx, id, &dir, run).await?;
        if spec.include_meta {
            product_file(Arc::clone(&ctx), id, dir.clone(), run, DownloadIndex::Meta).await?;
        }
    }
    ctx.ledger.set_state(id, TaskState::Done)?;
    Ok(())
}

async fn walk_indexes(
    ctx: &Arc<Ctx>,
    id: TaskId,
    dir: &std::path::Path,
    run: RunId,
) -> Result<(), Stop> {
    for i in 1..=u32::MAX {
        let got = product_file(
            Arc::clone(ctx),
            id,
            dir.to_path_buf(),
            run,
            DownloadIndex::File(i),
        )
        .await?;
        if matches!(got, Fetched::End | Fetched::NoData) {
            break;
        }
    }
    Ok(())
}

/// Cancels a job that took too long (best effort) and forgets it so it is requested anew.
async fn give_up(ctx: &Ctx, id: TaskId, request: RequestId) -> Result<(), Stop> {
    if let Err(e) = ctx.remote.cancel(request).await {
        tracing::warn!("cancelling request {request} after the maximum wait failed: {e}");
    }
    ctx.ledger.clear_job(id)?;
    Ok(())
}
