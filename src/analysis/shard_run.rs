//! Running one shard of a frozen run and reading the progress of all of them from the output
//! folder: each shard keeps `<out>/onc-hydro-run/shards/shard-IIII-of-NNNN.json` up to date
//! (rewritten atomically after every file), so progress and what is left are visible from any
//! machine that sees the folder. A shard's finished outputs are its checkpoints: running it
//! again skips files whose outputs all exist and redoes the rest.
//!
//! Must not know: Slurm, terminals, what a job computes beyond "one item per file".

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
    pub input: PathBuf,
    pub error: String,
}

/// The progress record of one shard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardRecord {
    pub shard: Shard,
    pub state: ShardState,
    pub files: usize,
    pub done: usize,
    pub skipped: usize,
    pub failed: usize,
    pub host: String,
    pub pid: u32,
    /// The scheduler's job id, if any (e.g. `1234_3`).
    pub job: Option<String>,
    pub started: String,
    pub updated: String,
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

/// Keeps the shard record current and passes events on.
struct Progress<'a> {
    path: PathBuf,
    record: Mutex<ShardRecord>,
    inner: &'a dyn BatchReporter,
}

impl BatchReporter for Progress<'_> {
    fn item(&self, index: usize, input: &Path, result: &ItemResult) {
        if let Ok(mut r) = self.record.lock() {
            match result {
                ItemResult::Done(_) => r.done += 1,
                ItemResult::Skipped(_) => r.skipped += 1,
                ItemResult::Failed(e) => {
                    r.failed += 1;
                    r.failures.push(Failure {
                        input: input.to_path_buf(),
                        error: e.to_string(),
                    });
                }
            }
            r.updated = now();
            // Progress is advisory; a failed record update must not fail the file.
            let _ = write_record(&self.path, &r);
        }
        self.inner.item(index, input, result);
    }
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
    let run = RunDir::of(out);
    std::fs::create_dir_all(run.shards()).map_err(|e| AnalysisError::io(run.shards(), e))?;
    let files: Vec<PathBuf> = manifest.files_of(shard).into_iter().map(|x| x.1).collect();
    let path = run.shard_record(shard);
    let record = ShardRecord {
        shard,
        state: ShardState::Running,
        files: files.len(),
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
    let progress = Progress {
        path: path.clone(),
        record: Mutex::new(record),
        inner: reporter,
    };
    let opts = BatchOptions {
        jobs,
        skip_finished: true,
    };
    let result = run_spectrograms(&files, out, spec, opts, &progress)?;
    let mut record = progress
        .record
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    record.state = if record.failed == 0 {
        ShardState::Finished
    } else {
        ShardState::Failed
    };
    record.updated = now();
    write_record(&path, &record)?;
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
    pub out: PathBuf,
    pub files: usize,
    pub count: usize,
    pub shards: Vec<ShardStatus>,
}

/// One shard in a [`RunStatus`].
#[derive(Debug, Clone, Serialize)]
pub struct ShardStatus {
    pub index: usize,
    pub files: usize,
    pub state: ShardState,
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
                files: manifest.files_of(shard).len(),
                state: record.as_ref().map_or(ShardState::NotStarted, |r| r.state),
                record,
            });
        }
        Ok(RunStatus {
            out: out.to_path_buf(),
            files: manifest.files.len(),
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
            "files": self.files,
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
