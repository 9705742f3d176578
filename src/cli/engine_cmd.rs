//! What `archive get` and `order` share now that both run on the download engine: a reporter
//! that prints one line per file (`downloaded NAME (N bytes)`, `skipped NAME (already
//! verified)`, retries and failures) on stderr, and running a batch of specs in `--out` —
//! planned into `<out>/ledger.sqlite`, run by the scheduler (rate cap, slots, retries, verify,
//! `summary.json`), the ledger rows of the batch read back for the command's own report.
//!
//! Must not know: which command it serves (each builds its specs and prints its own summary).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context;

use super::discover::client_for;
use super::resume::{open as open_engine, EngineArgs};
use super::{GlobalArgs, Settings};
use crate::engine::{tasks_by_key, Event, Reporter, Summary, TaskKey, TaskRow, TaskSpec};

/// Prints file-level progress lines on stderr (only failures when `quiet`) and remembers
/// which files this run stored.
#[derive(Debug, Default)]
pub struct FileLog {
    stored: Mutex<HashMap<String, u64>>,
    quiet: bool,
}

impl FileLog {
    /// A log that prints every file line, or with `quiet` only failed tasks.
    pub fn new(quiet: bool) -> FileLog {
        FileLog {
            stored: Mutex::default(),
            quiet,
        }
    }

    /// Name → size of every file stored (downloaded and verified) by this run.
    pub fn stored(&self) -> HashMap<String, u64> {
        self.stored
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Reporter for FileLog {
    fn event(&self, event: &Event) {
        if let Event::FileDone { name, size, .. } = event {
            self.stored
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(name.clone(), *size);
        }
        if self.quiet && !matches!(event, Event::TaskFailed { .. }) {
            return;
        }
        match event {
            Event::Requested { label, .. } => eprintln!("requested {label}"),
            Event::JobMessage { message, .. } => eprintln!("{message}"),
            Event::FileDone { name, size, .. } => eprintln!("downloaded {name} ({size} bytes)"),
            Event::FileSkipped { name, .. } => {
                eprintln!("skipped {name} (already present and verified)")
            }
            Event::Retry {
                what, error, delay, ..
            } => eprintln!("retrying {what} in {delay:.1?} after: {error}"),
            Event::TaskFailed {
                task,
                reason,
                retry_at,
            } => match retry_at {
                Some(at) => eprintln!("task {task} failed, retry at {at:.0}: {reason}"),
                None => eprintln!("task {task} failed: {reason}"),
            },
            Event::WindowClosed { until } => {
                eprintln!("outside the run-time window: nothing new until {until:.0}")
            }
            _ => {}
        }
    }
}

/// What running a batch gave.
pub struct BatchRun {
    pub summary: Summary,
    /// The ledger rows of the batch's specs, by key.
    pub rows: HashMap<TaskKey, TaskRow>,
    pub log: Arc<FileLog>,
    pub engine: crate::engine::Engine,
}

/// Plans `specs` into the ledger of `out` (with the flags applied to the stored settings) and
/// runs everything unfinished there. Validates every spec first (nothing is sent for a bad
/// batch).
pub async fn run_batch(
    global: &GlobalArgs,
    settings: &Settings,
    out: &Path,
    args: &EngineArgs,
    specs: &[TaskSpec],
) -> anyhow::Result<BatchRun> {
    let engine = open_engine(out, global, args)?;
    engine
        .plan(specs)
        .with_context(|| format!("planning into the ledger in {}", out.display()))?;
    let client = client_for(settings)?;
    let log = Arc::new(FileLog::new(args.quiet));
    let summary = engine.run(&client, log.clone()).await?;
    let keys: HashSet<TaskKey> = specs.iter().map(TaskSpec::key).collect();
    let rows = tasks_by_key(engine.ledger(), &keys)?;
    Ok(BatchRun {
        summary,
        rows,
        log,
        engine,
    })
}
