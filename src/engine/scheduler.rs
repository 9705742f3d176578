//! The scheduler: picks work from the ledger a few rows at a time (memory stays flat however
//! many tasks there are) and starts workers under the limits — run slots (jobs on the server),
//! download slots, staggered submissions, the run-time window — re-attaching to jobs recorded
//! as requested or running before submitting anything new. Failed workers are recorded with
//! their reason, attempt count and next retry; a 401 stops everything.
//!
//! Must not know: HTTP details, how a single task is driven.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinSet;

use super::ctx::{Ctx, Stop};
use super::error::EngineError;
use super::fetch::archive_task;
use super::ledger::{Pick, TaskRow};
use super::ooi_task::ooi_task;
use super::order::{order_task, run_files_task};
use super::report::Event;
use super::task::{TaskId, TaskKind, TaskSpec, TaskState};

/// Longest the scheduler sleeps without looking at the ledger again.
const MAX_TICK: Duration = Duration::from_millis(500);

type Workers = JoinSet<(TaskId, u32, Result<(), Stop>)>;

/// Tasks being worked on, and how many of them are archive files.
#[derive(Default)]
struct Busy {
    ids: HashSet<TaskId>,
    archive: HashSet<TaskId>,
}

impl Busy {
    fn remove(&mut self, id: TaskId) {
        self.ids.remove(&id);
        self.archive.remove(&id);
    }
}

fn start(
    ctx: &Arc<Ctx>,
    workers: &mut Workers,
    busy: &mut Busy,
    row: TaskRow,
    slot: Option<OwnedSemaphorePermit>,
) {
    busy.ids.insert(row.id);
    if row.spec.kind() == TaskKind::Archive {
        busy.archive.insert(row.id);
    }
    let ctx = Arc::clone(ctx);
    let (id, attempts) = (row.id, row.attempts);
    workers.spawn(async move {
        let result = match row.spec.clone() {
            TaskSpec::Order(spec) => order_task(Arc::clone(&ctx), row, spec, slot).await,
            TaskSpec::Archive(spec) => archive_task(Arc::clone(&ctx), row, spec).await,
            TaskSpec::Run(spec) => run_files_task(Arc::clone(&ctx), row, spec, slot).await,
            TaskSpec::Ooi(spec) => ooi_task(Arc::clone(&ctx), row, spec, slot).await,
            TaskSpec::OoiRaw(spec) => {
                super::ooi_raw::ooi_raw_task(Arc::clone(&ctx), row, spec).await
            }
        };
        (id, attempts, result)
    });
}

/// Records how a worker ended. Returns a fatal engine error, if any.
fn finish(
    ctx: &Ctx,
    id: TaskId,
    attempts: u32,
    result: Result<(), Stop>,
) -> Result<(), EngineError> {
    match result {
        Ok(()) => {
            ctx.stats.add(&ctx.stats.tasks_done, 1);
            ctx.report(Event::TaskDone { task: id });
        }
        Err(Stop::Fail { reason, transient }) => {
            let attempts = attempts + 1;
            let policy = ctx.settings.retry;
            let retry_at = (transient && attempts < policy.task_rounds).then(|| {
                let d = policy.delay(attempts);
                Timestamp::now()
                    .checked_add(SignedDuration::try_from(d).unwrap_or(SignedDuration::ZERO))
                    .unwrap_or_else(|_| Timestamp::now())
            });
            ctx.ledger.set_failed(id, &reason, retry_at)?;
            if retry_at.is_none() {
                ctx.stats.add(&ctx.stats.tasks_failed, 1);
            }
            ctx.report(Event::TaskFailed {
                task: id,
                reason,
                retry_at,
            });
        }
        Err(Stop::Fatal(why)) => ctx.set_fatal(why),
        Err(Stop::Engine(e)) => {
            ctx.set_fatal(e.to_string());
            return Err(e);
        }
    }
    Ok(())
}

/// Whether a failed task being retried still has a job on the server.
fn has_job(row: &TaskRow) -> bool {
    row.request_id.is_some() || row.remote.is_some()
}

/// Runs until every task is done or finally failed, or the run must stop.
pub(crate) async fn run_all(ctx: Arc<Ctx>) -> Result<(), EngineError> {
    let mut workers: Workers = JoinSet::new();
    let mut busy = Busy::default();
    let mut last_submit: Option<Instant> = None;
    let mut window_closed_reported = false;
    let archive_cap = ctx.settings.download_slots * 2;
    let mut engine_error = None;
    loop {
        if ctx.fatal().is_some() {
            break;
        }
        let now = Timestamp::now();
        // 1. Jobs already on the server: re-attach (also outside the window).
        let rows = ctx.ledger.pick(
            Pick::InProgress,
            &busy.ids,
            ctx.settings.run_slots + archive_cap,
            now,
        )?;
        for row in rows {
            if row.state == TaskState::Downloading {
                start(&ctx, &mut workers, &mut busy, row, None);
            } else if let Ok(p) = Arc::clone(&ctx.run_slots).try_acquire_owned() {
                start(&ctx, &mut workers, &mut busy, row, Some(p));
            }
        }
        let open = ctx.settings.window.is_none_or(|w| w.is_open(now));
        let mut wake_in = MAX_TICK;
        if open {
            if window_closed_reported {
                window_closed_reported = false;
                ctx.report(Event::WindowOpen);
            }
            // 2. Retries that are due.
            for row in ctx
                .ledger
                .pick(Pick::RetryDue, &busy.ids, archive_cap, now)?
            {
                match row.spec.kind() {
                    TaskKind::Archive => start(&ctx, &mut workers, &mut busy, row, None),
                    TaskKind::Order => match Arc::clone(&ctx.run_slots).try_acquire_owned() {
                        Ok(p) if has_job(&row) => {
                            start(&ctx, &mut workers, &mut busy, row, Some(p))
                        }
                        Ok(p) => {
                            last_submit = Some(Instant::now());
                            start(&ctx, &mut workers, &mut busy, row, Some(p));
                        }
                        Err(_) => break,
                    },
                }
            }
            // 3. New orders, one per stagger interval, while a run slot is free or fewer
            //    than `run_slots` workers are requesting ahead of a slot.
            loop {
                if let Some(t) = last_submit {
                    let since = t.elapsed();
                    if since < ctx.settings.stagger {
                        wake_in = wake_in.min(ctx.settings.stagger - since);
                        break;
                    }
                }
                let slot = Arc::clone(&ctx.run_slots).try_acquire_owned().ok();
                if slot.is_none()
                    && ctx.requesting_ahead.load(Ordering::Relaxed) >= ctx.settings.run_slots
                {
                    break;
                }
                let Some(row) = ctx
                    .ledger
                    .pick(Pick::Planned(TaskKind::Order), &busy.ids, 1, now)?
                    .pop()
                else {
                    break;
                };
                if slot.is_none() {
                    ctx.requesting_ahead.fetch_add(1, Ordering::Relaxed);
                }
                last_submit = Some(Instant::now());
                start(&ctx, &mut workers, &mut busy, row, slot);
            }
            // 4. Archive files, keeping the download slots fed.
            let archive_busy = busy.archive.len();
            if archive_busy < archive_cap {
                let n = archive_cap - archive_busy;
                for row in ctx
                    .ledger
                    .pick(Pick::Planned(TaskKind::Archive), &busy.ids, n, now)?
                {
                    start(&ctx, &mut workers, &mut busy, row, None);
                }
            }
        } else if let Some(w) = ctx.settings.window {
            let until = w.next_open(now);
            if !window_closed_reported {
                window_closed_reported = true;
                ctx.report(Event::WindowClosed { until });
            }
            let secs = until.duration_since(now).as_secs_f64().max(0.0);
            wake_in = wake_in.min(Duration::from_secs_f64(secs));
        }
        if let Some(at) = ctx.ledger.next_retry_at()? {
            let secs = at.duration_since(Timestamp::now()).as_secs_f64().max(0.001);
            wake_in = wake_in.min(Duration::from_secs_f64(secs));
        }
        if workers.is_empty() && ctx.ledger.pending_count()? == 0 {
            break;
        }
        tokio::select! {
            Some(joined) = workers.join_next() => {
                let mut next = Some(joined);
                // Collect every finished worker before looking at the ledger again.
                while let Some(joined) = next {
                    match joined {
                        Ok((id, attempts, result)) => {
                            busy.remove(id);
                            if let Err(e) = finish(&ctx, id, attempts, result) {
                                engine_error.get_or_insert(e);
                            }
                        }
                        Err(e) => ctx.set_fatal(format!("a worker failed: {e}")),
                    }
                    next = workers.try_join_next();
                }
            }
            _ = ctx.wake.notified() => {}
            _ = tokio::time::sleep(wake_in) => {}
        }
    }
    // Stopping (401 or a ledger failure): workers are dropped mid-flight; the ledger already
    // holds everything needed to resume.
    workers.shutdown().await;
    match engine_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
