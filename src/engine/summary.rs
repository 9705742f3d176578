//! The run summary: tasks total / done / failed / skipped, files, bytes, wall seconds, requests
//! per endpoint, retries, seconds jobs spent waiting on the server. Counted live by [`Stats`]
//! (lock-free counters shared by every worker), written as `summary.json` (temp file + rename)
//! and rendered as a one-screen text by `Display`.
//!
//! Must not know: terminals (the CLI prints the text), HTTP.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::error::EngineError;
use crate::media::atomic::write_atomic_with;

/// Live counters of one run.
#[derive(Debug, Default)]
pub struct Stats {
    requests: Mutex<BTreeMap<String, u64>>,
    pub(crate) retries: AtomicU64,
    pub(crate) files: AtomicU64,
    pub(crate) files_skipped: AtomicU64,
    pub(crate) bytes: AtomicU64,
    /// Milliseconds jobs spent between `run` and completion, summed over jobs.
    pub(crate) server_wait_ms: AtomicU64,
    pub(crate) tasks_done: AtomicU64,
    pub(crate) tasks_failed: AtomicU64,
}

impl Stats {
    /// Counts one request to `endpoint` (e.g. `dataProductDelivery/run`).
    pub fn count_request(&self, endpoint: &str) {
        let mut m = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *m.entry(endpoint.to_string()).or_insert(0) += 1;
    }

    pub(crate) fn add(&self, counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Requests per endpoint so far.
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// What a run did. Written to `<out>/summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// When the run started.
    pub started: Timestamp,
    /// When it ended.
    pub finished: Timestamp,
    /// Wall-clock seconds between the two.
    pub wall_seconds: f64,
    /// Tasks in the ledger.
    pub tasks_total: u64,
    /// Tasks done at the end (including those done by earlier runs).
    pub tasks_done: u64,
    /// Tasks that finished during this run.
    pub tasks_done_this_run: u64,
    /// Tasks failed at the end.
    pub tasks_failed: u64,
    /// Tasks already done before this run (not touched).
    pub tasks_skipped: u64,
    /// Tasks neither done nor failed at the end (window closed, interrupted, cancelled).
    pub tasks_unfinished: u64,
    /// Files downloaded and verified in this run.
    pub files: u64,
    /// Files found already verified and not downloaded again.
    pub files_skipped: u64,
    /// Bytes downloaded in this run.
    pub bytes: u64,
    /// Requests per endpoint.
    pub requests: BTreeMap<String, u64>,
    /// Transient failures retried.
    pub retries: u64,
    /// Seconds jobs spent on the server (from `run` to complete), summed over jobs.
    pub server_wait_seconds: f64,
    /// Why the run stopped early, if it did (e.g. the token was rejected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

impl Summary {
    /// Total requests sent.
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }

    /// Writes `summary.json` into `dir` atomically.
    pub fn write_json(&self, dir: &Path) -> Result<(), EngineError> {
        let path = dir.join("summary.json");
        write_atomic_with(&path, |f| {
            serde_json::to_writer_pretty(&mut *f, self).map_err(std::io::Error::other)?;
            f.write_all(b"\n")
        })
        .map_err(|e| EngineError::io("cannot write", &path, e))
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "tasks: {} total, {} done ({} now, {} earlier), {} failed, {} unfinished",
            self.tasks_total,
            self.tasks_done,
            self.tasks_done_this_run,
            self.tasks_skipped,
            self.tasks_failed,
            self.tasks_unfinished
        )?;
        writeln!(
            f,
            "files: {} downloaded ({}), {} already verified",
            self.files,
            human_bytes(self.bytes),
            self.files_skipped
        )?;
        let reqs: Vec<String> = self
            .requests
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        writeln!(
            f,
            "requests: {} ({}); retries: {}",
            self.total_requests(),
            if reqs.is_empty() {
                "none".to_string()
            } else {
                reqs.join(", ")
            },
            self.retries
        )?;
        write!(
            f,
            "time: {:.1} s wall, {:.1} s of jobs waiting on the server",
            self.wall_seconds, self.server_wait_seconds
        )?;
        if let Some(s) = &self.stopped {
            write!(f, "\nstopped early: {s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_round_trips_and_renders() {
        let stats = Stats::default();
        stats.count_request("dataProductDelivery/run");
        stats.count_request("dataProductDelivery/run");
        stats.count_request("archivefile/download");
        let s = Summary {
            started: Timestamp::UNIX_EPOCH,
            finished: Timestamp::UNIX_EPOCH,
            wall_seconds: 1.5,
            tasks_total: 3,
            tasks_done: 2,
            tasks_done_this_run: 1,
            tasks_failed: 1,
            tasks_skipped: 1,
            tasks_unfinished: 0,
            files: 4,
            files_skipped: 0,
            bytes: 2_500_000,
            requests: stats.requests(),
            retries: 2,
            server_wait_seconds: 3.0,
            stopped: None,
        };
        assert_eq!(s.total_requests(), 3);
        let dir = tempfile::tempdir().unwrap();
        s.write_json(dir.path()).unwrap();
        let back: Summary =
            serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(back, s);
        let text = s.to_string();
        assert!(text.contains("2.5 MB"), "{text}");
        assert!(text.contains("dataProductDelivery/run 2"), "{text}");
        assert!(text.lines().count() <= 6);
    }
}
