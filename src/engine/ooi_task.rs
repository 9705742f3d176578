//! The OOI asynchronous-request worker: submit the request and commit its UUID and URLs to the
//! ledger before anything else (a task found with a recorded request is re-attached, never
//! submitted again), poll `status.txt` with the engine's adaptive backoff until it appears or
//! the task's maximum wait passes (the task then fails but keeps its request, so `resume
//! --retry-failed` re-attaches), then read the THREDDS catalog (nested catalogs followed) and
//! download every NetCDF file (and, if asked, the provenance/annotation files) under the
//! download slots: `.part` → size + NetCDF magic check → rename, each file in the ledger.
//!
//! Must not know: ONC, the scheduler's queue.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinSet;

use super::ctx::{Ctx, Stop};
use super::fetch::ooi_file;
use super::ledger::TaskRow;
use super::ooi_spec::{OoiRemote, OoiSpec};
use super::order::{join_files, run_slot, Ahead, Files, OnServer};
use super::report::Event;
use super::task::TaskState;

/// How long the request has been on the server (from the ledger's `requested_at`).
fn waited(row_requested: Option<Timestamp>, fresh: Instant) -> Duration {
    match row_requested {
        Some(t) => {
            let secs = Timestamp::now().duration_since(t).as_secs_f64().max(0.0);
            Duration::from_secs_f64(secs).max(fresh.elapsed())
        }
        None => fresh.elapsed(),
    }
}

/// Drives an OOI task from wherever the ledger says it is to done.
pub(crate) async fn ooi_task(
    ctx: Arc<Ctx>,
    row: TaskRow,
    spec: OoiSpec,
    slot: Option<OwnedSemaphorePermit>,
) -> Result<(), Stop> {
    let id = row.id;
    // A task found downloading was started without a run slot (its request is complete).
    let slot = if row.state == TaskState::Downloading {
        None
    } else {
        let ahead = slot.is_none().then(|| Ahead(&ctx));
        let s = run_slot(&ctx, slot).await?;
        drop(ahead);
        Some(s)
    };
    let dir = ctx.dir_for(spec.folder.as_deref())?;
    let refdes = spec.refdes().map_err(|e| Stop::permanent(e.to_string()))?;
    let mut estimate = row.estimate;
    let mut requested_at = row.requested_at;
    let remote: OoiRemote = match &row.remote {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            Stop::permanent(format!(
                "the ledger's OOI request record is unreadable: {e}"
            ))
        })?,
        None => {
            let r = ctx
                .call(id, "OOI request", || ctx.remote.ooi_request(&spec, &refdes))
                .await?;
            let remote = OoiRemote {
                uuid: r.request_uuid.clone(),
                catalog: r.catalog_url().unwrap_or_default().to_string(),
                results: r.async_url().unwrap_or_default().to_string(),
            };
            let text = serde_json::to_string(&remote)
                .map_err(|e| Stop::permanent(format!("cannot record the OOI request: {e}")))?;
            estimate = r.estimate();
            // Committed before anything else: a crash from here on re-attaches to this request.
            ctx.ledger.set_remote(id, &text, estimate)?;
            requested_at = Some(Timestamp::now());
            ctx.report(Event::Requested {
                task: id,
                label: row.label.clone(),
            });
            remote
        }
    };
    if let Some(slot) = slot {
        wait_complete(&ctx, &row, &spec, &remote, estimate, requested_at, slot).await?;
        ctx.ledger.set_state(id, TaskState::Downloading)?;
    }
    let files = ctx
        .call(id, "THREDDS catalog", || {
            ctx.remote.ooi_catalog(&remote.catalog)
        })
        .await?;
    let wanted: Vec<_> = files
        .into_iter()
        .filter(|f| spec.ancillary || f.file.is_netcdf())
        .collect();
    if !wanted.iter().any(|f| f.file.is_netcdf()) {
        return Err(Stop::transient(format!(
            "the THREDDS catalog of request {} lists no NetCDF file",
            remote.uuid
        )));
    }
    let mut jobs: Files = JoinSet::new();
    for f in wanted {
        jobs.spawn(ooi_file(Arc::clone(&ctx), id, dir.clone(), f));
    }
    join_files(&mut jobs).await?;
    ctx.ledger.set_state(id, TaskState::Done)?;
    Ok(())
}

/// Polls `status.txt` until the request is complete (holding a run slot meanwhile).
async fn wait_complete(
    ctx: &Arc<Ctx>,
    row: &TaskRow,
    spec: &OoiSpec,
    remote: &OoiRemote,
    estimate: Option<Duration>,
    requested_at: Option<Timestamp>,
    slot: OwnedSemaphorePermit,
) -> Result<(), Stop> {
    let id = row.id;
    let mut job = OnServer {
        ctx,
        slot: Some(slot),
        counted: true,
        since: Instant::now(),
    };
    ctx.jobs_changed(1);
    let max_wait = spec.max_wait().unwrap_or(ctx.settings.max_wait);
    let (mut schedule, first) = ctx.settings.poll.start(estimate);
    let fresh = Instant::now();
    let mut polls = 0u64;
    loop {
        let done = ctx
            .call(id, "OOI status.txt", || {
                ctx.remote.ooi_complete(&remote.results)
            })
            .await?;
        polls += 1;
        if done {
            break;
        }
        let waited = waited(requested_at, fresh);
        if waited > max_wait {
            let reason = format!(
                "OOI request {} not complete after {:.0} s (maximum wait {:.0} s); it stays \
                 recorded: `resume --retry-failed` re-attaches to it without asking again",
                remote.uuid,
                waited.as_secs_f64(),
                max_wait.as_secs_f64()
            );
            return Err(Stop::permanent(reason));
        }
        let message = format!(
            "waiting for OOI request {} ({} polls, {:.0} s)",
            remote.uuid,
            polls,
            waited.as_secs_f64()
        );
        ctx.ledger.set_message(id, &message)?;
        ctx.report(Event::JobMessage { task: id, message });
        let wait = if polls == 1 && row.remote.is_none() {
            first
        } else {
            schedule.next_interval()
        };
        ctx.sleep(wait).await?;
    }
    job.release();
    Ok(())
}
