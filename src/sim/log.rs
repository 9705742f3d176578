//! The request log: every request served, kept in memory (bounded, for tests) and optionally
//! appended to a file as one JSON line per request (time, method, path, query with the token
//! removed, status, endpoint, error code, injected fault).
//!
//! Must not know: axum, the catalog, job state.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use jiff::Timestamp;
use serde_json::json;

use super::clock::iso;
use super::sync::lock;

/// Most entries kept in memory (the oldest are dropped first).
const MEMORY_CAP: usize = 200_000;

/// One request the simulator served.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedRequest {
    /// Simulator time when the request arrived.
    pub time: Timestamp,
    /// `GET` or `HEAD`.
    pub method: String,
    /// The URL path, e.g. `/api/archivefile/download`.
    pub path: String,
    /// The query string without the token (still percent-encoded).
    pub query: String,
    /// The HTTP status answered.
    pub status: u16,
    /// The operation regardless of URL style, e.g. `archivefile/download`, `dataProductDelivery/run`.
    pub endpoint: String,
    /// Whether the legacy `?method=` style was used.
    pub legacy: bool,
    /// The Oceans 3.0 `errorCode` of a 4xx answer.
    pub error_code: Option<u64>,
    /// The injected fault, if any (e.g. `503`, `reset`).
    pub fault: Option<String>,
}

impl LoggedRequest {
    /// One line of the `--log` JSON-lines file.
    pub fn to_json_line(&self) -> String {
        json!({
            "time": iso(self.time), "method": self.method, "path": self.path, "query": self.query,
            "status": self.status, "endpoint": self.endpoint, "legacy": self.legacy,
            "errorCode": self.error_code, "fault": self.fault,
        })
        .to_string()
    }
}

/// Errors opening the request log file.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the request log {path}: {source}")]
pub struct LogOpenError {
    /// The log file.
    pub path: String,
    /// The operating system's error.
    #[source]
    pub source: std::io::Error,
}

/// The log of one simulator instance.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    entries: Mutex<VecDeque<LoggedRequest>>,
    file: Option<Mutex<File>>,
}

impl RequestLog {
    /// A log in memory, also appending to `path` when given (created if missing).
    pub(crate) fn open(path: Option<&Path>) -> Result<RequestLog, LogOpenError> {
        let file = match path {
            None => None,
            Some(p) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|source| LogOpenError {
                        path: p.display().to_string(),
                        source,
                    })?,
            )),
        };
        Ok(RequestLog {
            entries: Mutex::new(VecDeque::new()),
            file,
        })
    }

    pub(crate) fn record(&self, entry: LoggedRequest) {
        if let Some(f) = &self.file {
            let mut line = entry.to_json_line();
            line.push('\n');
            if let Err(e) = lock(f).write_all(line.as_bytes()) {
                tracing::warn!("request log write failed: {e}");
            }
        }
        let mut q = lock(&self.entries);
        if q.len() >= MEMORY_CAP {
            q.pop_front();
        }
        q.push_back(entry);
    }

    pub(crate) fn snapshot(&self) -> Vec<LoggedRequest> {
        lock(&self.entries).iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let log = RequestLog::open(Some(&path)).unwrap();
        let e = LoggedRequest {
            time: Timestamp::UNIX_EPOCH,
            method: "GET".into(),
            path: "/api/locations".into(),
            query: "locationCode=NEP".into(),
            status: 200,
            endpoint: "locations".into(),
            legacy: false,
            error_code: None,
            fault: None,
        };
        log.record(e.clone());
        log.record(e);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(v["status"], 200);
        assert_eq!(v["time"], "1970-01-01T00:00:00.000Z");
        assert_eq!(log.snapshot().len(), 2);
    }
}
