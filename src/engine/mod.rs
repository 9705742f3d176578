//! The general resumable download engine: tasks (data-product orders and archive files), the
//! SQLite ledger, the polite parallel scheduler, `.part` → rename storage and the run summary.
//!
//! ```text
//! let engine = Engine::open(out, EngineConfig::default())?;   // <out>/ledger.sqlite
//! engine.plan(&tasks)?;                                        // idempotent by canonical key
//! let summary = engine.run(&client, reporter).await?;          // resumes whatever is recorded
//! ```
//! A crash at any instant loses nothing: every step is committed to the ledger before the next
//! remote call, running the same command again (or `resume <out>`) re-attaches to recorded jobs,
//! and verified files are never downloaded again.
//!
//! Must not know: FLAC, MAT, annotations, terminals. Talks to the servers only through `api`
//! (Oceans 3.0) and `ooi` (OOI M2M + THREDDS: the asynchronous-request task kind).

mod config;
mod ctx;
mod error;
mod fetch;
mod ledger;
mod lock;
mod ooi_raw;
mod ooi_spec;
mod ooi_task;
mod order;
mod remote;
mod report;
mod retry;
mod scheduler;
mod storage;
mod summary;
mod task;
mod window;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use serde::Serialize;

pub use config::{EngineConfig, EngineSettings};
pub use error::EngineError;
pub use ledger::{
    FailureRow, FileRow, FileState, Ledger, LedgerStatus, PlanReport, TaskRow, LEDGER_FILE,
};
pub use lock::LOCK_FILE;
pub use ooi_raw::OoiRawSpec;
pub use ooi_spec::OoiSpec;
pub use remote::Providers;
pub use report::{CollectingReporter, Event, NullReporter, Reporter};
pub use retry::{with_retries, PollPolicy, RetryPolicy};
pub use storage::Validator;
use summary::Stats;
pub use summary::Summary;
pub use task::{
    order_key, ArchiveSpec, OrderSpec, RunSpec, TaskId, TaskKey, TaskKind, TaskSpec, TaskState,
};
pub use window::{RunWindow, WindowParseError};

use crate::api::Client;

const SETTINGS_KEY: &str = "settings";

/// A download engine bound to one output folder and its ledger.
pub struct Engine {
    out: PathBuf,
    ledger: Ledger,
    settings: EngineSettings,
    config: EngineConfig,
    /// One run per output folder (released on drop or process exit).
    _lock: lock::OutLock,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("out", &self.out)
            .field("ledger", &self.ledger)
            .field("settings", &self.settings)
            .finish()
    }
}

/// What `cancel_unfinished` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CancelReport {
    /// Server jobs cancelled.
    pub jobs_cancelled: u64,
    /// Cancel calls that failed (the job may have finished or expired already).
    pub cancel_errors: Vec<String>,
    /// Tasks marked cancelled in the ledger.
    pub tasks_cancelled: u64,
}

fn settings_json(settings: &EngineSettings) -> Result<String, EngineError> {
    serde_json::to_string(settings).map_err(|e| EngineError::Json {
        what: "the engine settings",
        message: e.to_string(),
    })
}

fn ledger_path(out: &Path, config: &EngineConfig) -> PathBuf {
    config
        .ledger_path
        .clone()
        .unwrap_or_else(|| out.join(LEDGER_FILE))
}

impl Engine {
    /// Opens (creating if needed) the output folder and its ledger. Settings given in `config`
    /// are stored in the ledger; without them the stored ones (or the defaults) are used.
    pub fn open(out: &Path, config: EngineConfig) -> Result<Engine, EngineError> {
        std::fs::create_dir_all(out)
            .map_err(|e| EngineError::io("cannot create the output folder", out, e))?;
        let lock = lock::acquire(out)?;
        let ledger = Ledger::open(&ledger_path(out, &config))?;
        let stored = match ledger.meta(SETTINGS_KEY)? {
            Some(text) => Some(serde_json::from_str::<EngineSettings>(&text).map_err(|e| {
                EngineError::LedgerContent {
                    path: ledger.path().to_path_buf(),
                    message: format!("unreadable settings: {e}"),
                }
            })?),
            None => None,
        };
        let settings = config
            .settings
            .clone()
            .or(stored.clone())
            .unwrap_or_default();
        settings.validate()?;
        if stored.as_ref() != Some(&settings) {
            let text = settings_json(&settings)?;
            ledger.set_meta(SETTINGS_KEY, &text)?;
        }
        Ok(Engine {
            out: out.to_path_buf(),
            ledger,
            settings,
            config,
            _lock: lock,
        })
    }

    /// Replaces the settings (validated, stored in the ledger for later resumes).
    pub fn with_settings(mut self, settings: EngineSettings) -> Result<Engine, EngineError> {
        settings.validate()?;
        let text = settings_json(&settings)?;
        self.ledger.set_meta(SETTINGS_KEY, &text)?;
        self.settings = settings;
        Ok(self)
    }

    /// The output folder.
    pub fn out_dir(&self) -> &Path {
        &self.out
    }

    /// The settings in force.
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Adds tasks; planning the same work again never duplicates it. Every spec is checked
    /// first; one bad spec rejects the whole batch (naming it).
    pub fn plan(&self, tasks: &[TaskSpec]) -> Result<PlanReport, EngineError> {
        for (i, t) in tasks.iter().enumerate() {
            t.validate().map_err(|e| match e {
                EngineError::InvalidTask { field, message } => EngineError::InvalidTask {
                    field: format!("{field} (task {})", i + 1),
                    message,
                },
                other => other,
            })?;
        }
        self.ledger.plan(tasks)
    }

    /// Progress as recorded in the ledger.
    pub fn status(&self) -> Result<LedgerStatus, EngineError> {
        self.ledger.status()
    }

    /// Runs every unfinished task, re-attaching to recorded jobs, until all are done or finally
    /// failed. Writes `<out>/summary.json`. A rejected token stops the run with
    /// [`EngineError::Unauthorized`] (the summary is written first).
    pub async fn run(
        &self,
        client: &Client,
        reporter: Arc<dyn Reporter>,
    ) -> Result<Summary, EngineError> {
        let providers = Providers {
            onc: Some(client.clone()),
            ..Providers::default()
        };
        self.run_with(providers, reporter).await
    }

    /// [`Engine::run`] with the clients of every provider the ledger's tasks need (an OOI task
    /// run without an OOI client fails naming what is missing).
    pub async fn run_with(
        &self,
        providers: Providers,
        reporter: Arc<dyn Reporter>,
    ) -> Result<Summary, EngineError> {
        let started = Timestamp::now();
        let clock = Instant::now();
        if self.config.retry_failed {
            self.ledger.retry_failed()?;
        }
        let (ledger, out, verify) = (self.ledger.clone(), self.out.clone(), self.config.verify);
        let checked = tokio::task::spawn_blocking(move || fetch::recheck(&ledger, &out, verify))
            .await
            .map_err(|e| EngineError::Stopped(format!("the disk re-check failed: {e}")))??;
        reporter.event(&Event::Rechecked {
            checked: checked.checked,
            invalidated: checked.invalidated,
            parts_swept: checked.parts_swept,
        });
        let before = self.ledger.status()?;
        reporter.event(&Event::Started {
            total: before.total,
            already_done: before.count(TaskState::Done),
            files_done: before.files_done,
            bytes_done: before.bytes_done,
        });
        let stats = Arc::new(Stats::default());
        let remote = remote::Remote::new(
            providers,
            self.settings.max_requests_per_second,
            Arc::clone(&stats),
        );
        let ctx = Arc::new(ctx::Ctx::new(
            self.ledger.clone(),
            remote,
            self.out.clone(),
            self.settings.clone(),
            self.config.validator.clone(),
            reporter,
            Arc::clone(&stats),
        ));
        let result = scheduler::run_all(Arc::clone(&ctx)).await;
        let after = self.ledger.status()?;
        let failed_final = after.count(TaskState::Failed) - after.retrying;
        let done = after.count(TaskState::Done);
        let summary = Summary {
            started,
            finished: Timestamp::now(),
            wall_seconds: clock.elapsed().as_secs_f64(),
            tasks_total: after.total,
            tasks_done: done,
            tasks_done_this_run: stats.tasks_done.load(Ordering::Relaxed),
            tasks_failed: failed_final,
            tasks_skipped: before.count(TaskState::Done),
            tasks_unfinished: after.total - done - failed_final,
            files: stats.files.load(Ordering::Relaxed),
            files_skipped: stats.files_skipped.load(Ordering::Relaxed),
            bytes: stats.bytes.load(Ordering::Relaxed),
            requests: stats.requests(),
            retries: stats.retries.load(Ordering::Relaxed),
            server_wait_seconds: stats.server_wait_ms.load(Ordering::Relaxed) as f64 / 1000.0,
            stopped: ctx.fatal(),
        };
        summary.write_json(&self.out)?;
        result?;
        if let Some(why) = ctx.fatal() {
            return Err(if why.contains("HTTP 401") {
                EngineError::Unauthorized(why)
            } else {
                EngineError::Stopped(why)
            });
        }
        Ok(summary)
    }

    /// Cancels the server jobs of every unfinished task and marks those tasks cancelled
    /// (planning them again revives them).
    pub async fn cancel_unfinished(&self, client: &Client) -> Result<CancelReport, EngineError> {
        let mut report = CancelReport::default();
        for row in self.ledger.unfinished_jobs()? {
            let Some(req) = row.request_id else { continue };
            match client.cancel(req).await {
                Ok(_) => report.jobs_cancelled += 1,
                Err(e) if e.is_unauthorized() => {
                    return Err(EngineError::Unauthorized(e.to_string()))
                }
                Err(e) => report
                    .cancel_errors
                    .push(format!("task {} (dpRequestId {req}): {e}", row.id)),
            }
        }
        report.tasks_cancelled = self.ledger.cancel_unfinished()?;
        Ok(report)
    }
}

/// Calls `visit` with every task of the ledger in id order (one row in memory at a time).
/// Task ids are SQLite row ids (1, 2, …, never reused); the walk stops when all are seen.
pub fn for_each_task(
    ledger: &Ledger,
    mut visit: impl FnMut(TaskRow) -> Result<(), EngineError>,
) -> Result<(), EngineError> {
    let total = ledger.status()?.total;
    let (mut seen, mut misses, mut id) = (0u64, 0u32, 0i64);
    while seen < total && misses < 10_000 {
        id += 1;
        let Some(row) = ledger.task(TaskId(id))? else {
            misses += 1;
            continue;
        };
        seen += 1;
        visit(row)?;
    }
    Ok(())
}

/// The ledger rows of `keys` (keys not in the ledger are absent from the map).
pub fn tasks_by_key(
    ledger: &Ledger,
    keys: &std::collections::HashSet<TaskKey>,
) -> Result<std::collections::HashMap<TaskKey, TaskRow>, EngineError> {
    let mut found = std::collections::HashMap::new();
    for_each_task(ledger, |row| {
        if keys.contains(&row.key) {
            found.insert(row.key.clone(), row);
        }
        Ok(())
    })?;
    Ok(found)
}

/// Reads the status of `<out>` without writing anything (works while a run is going).
pub fn status_of(out: &Path, ledger: Option<&Path>) -> Result<LedgerStatus, EngineError> {
    let path = ledger
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out.join(LEDGER_FILE));
    Ledger::open_read_only(&path)?.status()
}
