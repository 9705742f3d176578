//! A batch of spectrogram jobs over many files: a pool of worker threads, one result per file
//! (one bad file is one failed item, never a dead batch — even a panic in a worker is caught),
//! progress through [`BatchReporter`], stale temporaries of the batch's outputs removed first,
//! and optionally files whose outputs all exist skipped (the checkpoints of a resumed shard).
//!
//! Workers stage their outputs (written to temporaries) and go on to the next file; the calling
//! thread commits them (fsync, rename) in the order they finish and only then reports the file
//! done. So the disk flushes one file while the next is computed, instead of every worker
//! waiting in `fsync`; a bounded queue keeps the staged files to a few per worker.
//!
//! Must not know: terminals, flags, Slurm.

// TODO(issue 15 item 6): document the public items below, then delete this allow.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use super::files::{self, remove_stale_temporaries, Staged};
use super::spectrogram::{spectrogram_file_staged, stem_of, FileReport, SpectrogramSpec};
use super::AnalysisError;

/// What happened to one input.
#[derive(Debug)]
pub enum ItemResult {
    /// Outputs written.
    Done(FileReport),
    /// Every output already existed (`skip_finished`); nothing was recomputed.
    Skipped(Vec<PathBuf>),
    /// This file failed; the others went on.
    Failed(AnalysisError),
}

/// Receives progress as files finish (from worker threads, in completion order).
pub trait BatchReporter: Sync {
    /// Called once per input when it is finished, skipped or failed.
    fn item(&self, index: usize, input: &Path, result: &ItemResult);
}

/// A reporter that reports nothing.
pub struct Quiet;

impl BatchReporter for Quiet {
    fn item(&self, _: usize, _: &Path, _: &ItemResult) {}
}

/// How a batch runs.
#[derive(Debug, Clone, Copy)]
pub struct BatchOptions {
    /// Worker threads (clamped to 1..=files).
    pub jobs: usize,
    /// Skip a file whose outputs all exist already.
    pub skip_finished: bool,
}

/// The result of a batch, items in input order.
#[derive(Debug)]
pub struct BatchResult {
    /// One result per input, in input order.
    pub items: Vec<(PathBuf, ItemResult)>,
    /// Worker threads used.
    pub jobs: usize,
    /// Wall time of the batch, seconds.
    pub elapsed_s: f64,
    /// Temporaries of a killed earlier run that were removed before starting.
    pub removed_temporaries: Vec<PathBuf>,
}

impl BatchResult {
    /// Number of failed items.
    pub fn failed(&self) -> usize {
        self.items
            .iter()
            .filter(|(_, r)| matches!(r, ItemResult::Failed(_)))
            .count()
    }

    /// Number of skipped items.
    pub fn skipped(&self) -> usize {
        self.items
            .iter()
            .filter(|(_, r)| matches!(r, ItemResult::Skipped(_)))
            .count()
    }
}

/// Runs `spec` over `files` into `out_dir` (created if missing). Errors only when the batch
/// cannot start (output folder); per-file problems are [`ItemResult::Failed`].
pub fn run_spectrograms(
    files: &[PathBuf],
    out_dir: &Path,
    spec: &SpectrogramSpec,
    opts: BatchOptions,
    reporter: &dyn BatchReporter,
) -> Result<BatchResult, AnalysisError> {
    std::fs::create_dir_all(out_dir).map_err(|e| AnalysisError::io(out_dir, e))?;
    let owned: std::collections::HashSet<String> = files.iter().map(|f| stem_of(f)).collect();
    let removed_temporaries = remove_stale_temporaries(out_dir, |target| {
        target
            .rsplit_once('.')
            .is_some_and(|(stem, _)| owned.contains(stem))
    })?;
    let jobs = opts.jobs.clamp(1, files.len().max(1));
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, ItemResult)> = Vec::with_capacity(files.len());
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<(usize, Staging)>(jobs);
        for _ in 0..jobs {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(file) = files.get(i) else { break };
                if tx
                    .send((i, one(file, out_dir, spec, opts.skip_finished)))
                    .is_err()
                {
                    break;
                }
            });
        }
        drop(tx);
        for (i, staging) in rx {
            let result = match staging {
                Staging::Staged(report, staged) => match files::commit(staged) {
                    Ok(()) => ItemResult::Done(report),
                    Err(e) => ItemResult::Failed(e),
                },
                Staging::Final(result) => result,
            };
            reporter.item(i, &files[i], &result);
            results.push((i, result));
        }
    });
    results.sort_by_key(|(i, _)| *i);
    Ok(BatchResult {
        items: results
            .into_iter()
            .map(|(i, r)| (files[i].clone(), r))
            .collect(),
        jobs,
        elapsed_s: started.elapsed().as_secs_f64(),
        removed_temporaries,
    })
}

/// A worker's outcome for one file: outputs staged for the commit, or already final.
enum Staging {
    Staged(FileReport, Vec<Staged>),
    Final(ItemResult),
}

fn one(file: &Path, out_dir: &Path, spec: &SpectrogramSpec, skip_finished: bool) -> Staging {
    if skip_finished {
        let outputs = spec.outputs_for(file, out_dir);
        if outputs.iter().all(|p| p.is_file()) {
            return Staging::Final(ItemResult::Skipped(outputs));
        }
    }
    match catch_unwind(AssertUnwindSafe(|| {
        spectrogram_file_staged(file, out_dir, spec)
    })) {
        Ok(Ok((report, staged))) => Staging::Staged(report, staged),
        Ok(Err(e)) => Staging::Final(ItemResult::Failed(e)),
        Err(panic) => Staging::Final(ItemResult::Failed(AnalysisError::Panic {
            file: file.to_path_buf(),
            reason: panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into()),
        })),
    }
}
