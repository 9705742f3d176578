//! Running one shard of a frozen run and reading the progress of all of them from the output
//! folder: each shard keeps `<out>/onc-hydro-run/shards/shard-IIII-of-NNNN.json` up to date
//! (rewritten atomically after every file), so progress and what is left are visible from any
//! machine that sees the folder. A shard's finished outputs are its checkpoints: running it
//! again skips items (files, or the manifest's units such as days) whose outputs all exist and
//! redoes the rest. [`ShardProgress`] keeps the record for any command's shards.
//!
//! Must not know: Slurm, terminals, what a job computes beyond "items with outputs".

// TODO(issue 15 item 6): document the public items below, then delete this allow.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::batch::{run_spectrograms, BatchOptions, BatchReporter, BatchResult, ItemResult};
use super::files::write_bytes_atomic;
use super::manifest::{Manifest, RunDir, Shard};
use super::spectrogram::SpectrogramSpec;
use super::AnalysisError;

/// Where a shard stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShardState {
    /// No record yet.
    NotStarted,
    /// Started and not finished (or killed: the scheduler knows which).
    Running,
    /// Every file done.
    Finished,
    /// Ended with failed files (re-running redoes only those).
    Failed,
}

/// One failed file of a shard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    /// The input file.
    pub input: PathBuf,
    /// The error message.
    pub error: String,
}

/// The progress record of one shard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardRecord {
    /// Which shard.
    pub shard: Shard,
    /// Where it stands.
    pub state: ShardState,
    /// Number of items (files, or units such as days).
    #[serde(alias = "files")]
    pub items: usize,
    /// Items computed.
    pub done: usize,
    /// Items whose outputs existed already.
    pub skipped: usize,
    /// Items that failed.
    pub failed: usize,
    /// Host that ran it.
    pub host: String,
    /// Process id that ran it.
    pub pid: u32,
    /// The scheduler's job id, if any (e.g. `1234_3`).
    pub job: Option<String>,
    /// When it started.
    pub started: String,
    /// When the record was last written.
    pub updated: String,
    /// Each failed file with its error.
    pub failures: Vec<Failure>,
}

fn now() -> String {
    format!("{:.3}", jiff::Timestamp::now())
}

fn write_record(path: &Path, record: &ShardRecord) -> Result<(), AnalysisError> {
    let text = serde_json::to_string_pretty(record).map_err(|e| AnalysisError::Encode {
        file: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    write_bytes_atomic(path, text.as_bytes())
}

/// The progress record of one running shard, rewritten atomically on every change.
pub struct ShardProgress {
    path: PathBuf,
    record: Mutex<ShardRecord>,
}

/// What became of one item of a shard.
#[derive(Debug, Clone, Copy)]
pub enum ItemOutcome<'a> {
    /// Computed.
    Done,
    /// Its outputs existed already.
    Skipped,
    /// Failed with this error.
    Failed(&'a str),
}

impl ShardProgress {
    /// Starts the record of `shard` of the run in `out`, holding `items` items.
    pub fn start(
        out: &Path,
        shard: Shard,
        items: usize,
        job: Option<String>,
    ) -> Result<ShardProgress, AnalysisError> {
        let run = RunDir::of(out);
        std::fs::create_dir_all(run.shards()).map_err(|e| AnalysisError::io(run.shards(), e))?;
        let path = run.shard_record(shard);
        let record = ShardRecord {
            shard,
            state: ShardState::Running,
            items,
            done: 0,
            skipped: 0,
            failed: 0,
            host: hostname(),
            pid: std::process::id(),
            job,
            started: now(),
            updated: now(),
            failures: Vec::new(),
        };
        write_record(&path, &record)?;
        Ok(ShardProgress {
            path,
            record: Mutex::new(record),
        })
    }

    /// Counts one item (`input` names it in failures).
    pub fn item(&self, input: &Path, outcome: ItemOutcome<'_>) {
        if let Ok(mut r) = self.record.lock() {
            match outcome {
                ItemOutcome::Done => r.done += 1,
                ItemOutcome::Skipped => r.skipped += 1,
                ItemOutcome::Failed(e) => {
                    r.failed += 1;
                    r.failures.push(Failure {
                        input: input.to_path_buf(),
                        error: e.to_string(),
                    });
                }
            }
            r.updated = now();
            // Progress is advisory; a failed record update must not fail the item.
            let _ = write_record(&self.path, &r);
        }
    }

    /// Writes the final state: finished when nothing failed.
    pub fn finish(self) -> Result<ShardRecord, AnalysisError> {
        let mut record = self.record.into_inner().unwrap_or_else(|p| p.into_inner());
        record.state = if record.failed == 0 && record.done + record.skipped >= record.items {
            ShardState::Finished
        } else {
            ShardState::Failed
        };
        record.updated = now();
        write_record(&self.path, &record)?;
        Ok(record)
    }
}

/// Keeps the shard record current and passes events on.
struct Progress<'a> {
    record: ShardProgress,
    inner: &'a dyn BatchReporter,
}

impl BatchReporter for Progress<'_> {
    fn item(&self, index: usize, input: &Path, result: &ItemResult) {
        let error;
        let outcome = match result {
            ItemResult::Done(_) => ItemOutcome::Done,
            ItemResult::Skipped(_) => ItemOutcome::Skipped,
            ItemResult::Failed(e) => {
                error = e.to_string();
                ItemOutcome::Failed(&error)
            }
        };
        self.record.item(input, outcome);
        self.inner.item(index, input, result);
    }
}

/// The scheduler's id of the running task, from Slurm's environment (`1234_3` in an array).
pub fn slurm_job_id() -> Option<String> {
    std::env::var("SLURM_ARRAY_JOB_ID")
        .ok()
        .map(|j| {
            format!(
                "{j}_{}",
                std::env::var("SLURM_ARRAY_TASK_ID").unwrap_or_default()
            )
        })
        .or_else(|| std::env::var("SLURM_JOB_ID").ok())
}

/// Runs shard `shard` of the run frozen in `out`: the shard's files from the manifest, outputs
/// that exist skipped, progress recorded. `job` is the scheduler's id for the record.
pub fn run_spectrogram_shard(
    manifest: &Manifest,
    shard: Shard,
    out: &Path,
    spec: &SpectrogramSpec,
    jobs: usize,
    job: Option<String>,
    reporter: &dyn BatchReporter,
) -> Result<BatchResult, AnalysisError> {
    let files: Vec<PathBuf> = manifest.files_of(shard).into_iter().map(|x| x.1).collect();
    let progress = Progress {
        record: ShardProgress::start(out, shard, files.len(), job)?,
        inner: reporter,
    };
    let opts = BatchOptions {
        jobs,
        skip_finished: true,
    };
    let result = run_spectrograms(&files, out, spec, opts, &progress)?;
    progress.record.finish()?;
    Ok(result)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default()
}

/// The state of every shard of a run of `count` shards, from the output folder.
#[derive(Debug, Clone, Serialize)]
pub struct RunStatus {
    /// The output folder.
    pub out: PathBuf,
    /// What the shards own (`file`, `day`).
    pub unit: String,
    /// Number of items (files or units).
    pub items: usize,
    /// Number of shards.
    pub count: usize,
    /// Every shard, by index.
    pub shards: Vec<ShardStatus>,
}

/// One shard in a [`RunStatus`].
#[derive(Debug, Clone, Serialize)]
pub struct ShardStatus {
    /// Shard number, from 0.
    pub index: usize,
    /// Number of items it owns.
    pub items: usize,
    /// Where it stands.
    pub state: ShardState,
    /// Its progress record, if it has started.
    pub record: Option<ShardRecord>,
}

impl RunStatus {
    /// Reads the manifest and the shard records of a run split into `count` shards.
    pub fn read(out: &Path, count: usize) -> Result<RunStatus, AnalysisError> {
        let run = RunDir::of(out);
        let manifest = Manifest::read(out)?.ok_or_else(|| AnalysisError::Run {
            file: run.manifest(),
            reason: "no manifest: this folder has no sharded run".into(),
        })?;
        let mut shards = Vec::with_capacity(count);
        for index in 0..count {
            let shard = Shard { index, count };
            let path = run.shard_record(shard);
            let record: Option<ShardRecord> = match std::fs::read_to_string(&path) {
                Ok(text) => Some(serde_json::from_str(&text).map_err(|e| AnalysisError::Run {
                    file: path.clone(),
                    reason: format!("unreadable shard record: {e}"),
                })?),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(AnalysisError::io(&path, e)),
            };
            shards.push(ShardStatus {
                index,
                items: manifest.items_of(shard),
                state: record.as_ref().map_or(ShardState::NotStarted, |r| r.state),
                record,
            });
        }
        Ok(RunStatus {
            out: out.to_path_buf(),
            unit: manifest.unit.clone(),
            items: manifest.items(),
            count,
            shards,
        })
    }

    /// Shards that are not finished (to submit again).
    pub fn unfinished(&self) -> Vec<usize> {
        self.shards
            .iter()
            .filter(|s| s.state != ShardState::Finished)
            .map(|s| s.index)
            .collect()
    }

    /// Writes `<out>/onc-hydro-run/summary.json` (the merge step) and returns its text.
    pub fn write_summary(&self) -> Result<PathBuf, AnalysisError> {
        let path = RunDir::of(&self.out).summary();
        let sum = |f: fn(&ShardRecord) -> usize| -> usize {
            self.shards
                .iter()
                .filter_map(|s| s.record.as_ref())
                .map(f)
                .sum()
        };
        let failures: Vec<&Failure> = self
            .shards
            .iter()
            .filter_map(|s| s.record.as_ref())
            .flat_map(|r| r.failures.iter())
            .collect();
        let doc = serde_json::json!({
            "out": self.out.display().to_string(),
            "created": now(),
            "unit": self.unit,
            "items": self.items,
            "shards": self.count,
            "finished_shards": self.count - self.unfinished().len(),
            "unfinished_shards": self.unfinished(),
            "done": sum(|r| r.done),
            "skipped_as_already_done": sum(|r| r.skipped),
            "failed": sum(|r| r.failed),
            "failures": failures,
            "per_shard": self.shards,
        });
        let text = serde_json::to_string_pretty(&doc).map_err(|e| AnalysisError::Encode {
            file: path.clone(),
            reason: e.to_string(),
        })?;
        write_bytes_atomic(&path, text.as_bytes())?;
        Ok(path)
    }
}
