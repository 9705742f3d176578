//! Run and request statuses of `dataProductDelivery`: `RunStatus` (queued, running incl.
//! "data product running", complete, cancelled, error, other), the `run`/`cancel`/`restart`
//! items, the `run` answer (202 while in progress, 200 when complete), and `status`'s
//! `searchHdrStatus`.
//!
//! Must not know: HTTP (the client methods live in `delivery`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::ids::RunId;
use super::lenient::{string_opt, u64_opt};

/// Status of a data-product run (also of a 202 download body).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RunStatus {
    /// `queued`: waiting for a worker.
    Queued,
    /// `running`, `data product running`, …
    Running,
    /// `complete`: every file has been generated.
    Complete,
    /// `cancelled`: stopped by `cancel`.
    Cancelled,
    /// `error`: the run failed on ONC's side.
    Error,
    /// Anything else, as sent (treat as in progress).
    Other(String),
    /// No status was sent.
    #[default]
    Unknown,
}

impl RunStatus {
    /// Maps ONC's text.
    pub fn parse(text: &str) -> RunStatus {
        let t = text.trim().to_ascii_lowercase();
        match t.as_str() {
            "" => RunStatus::Unknown,
            "queued" | "pending" => RunStatus::Queued,
            "complete" | "completed" => RunStatus::Complete,
            "cancelled" | "canceled" => RunStatus::Cancelled,
            "error" | "failed" => RunStatus::Error,
            _ if t.contains("running") || t == "transferring" => RunStatus::Running,
            _ => RunStatus::Other(text.trim().to_string()),
        }
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Complete => "complete",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Error => "error",
            RunStatus::Other(s) => s,
            RunStatus::Unknown => "",
        }
    }

    /// Complete, cancelled or error.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            RunStatus::Complete | RunStatus::Cancelled | RunStatus::Error
        )
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RunStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(string_opt(d)?
            .map(|s| RunStatus::parse(&s))
            .unwrap_or_default())
    }
}

impl Serialize for RunStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One run of a request (`run`, `cancel`, `restart` items).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunInfo {
    /// `dpRunId`: the run's id, passed to `download`.
    pub dp_run_id: RunId,
    /// `fileCount`: files generated so far (0 while running; 0 when absent).
    #[serde(default, deserialize_with = "u64_zero")]
    pub file_count: u64,
    /// `status`: where the run is (`queued`, `data product running`, `complete`, …).
    #[serde(default)]
    pub status: RunStatus,
    /// Other members (e.g. a queue position, if ONC ever sends one).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn u64_zero<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(u64_opt(d)?.unwrap_or(0))
}

/// The `run` answer: HTTP 202 while in progress, 200 when complete.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResponse {
    /// The HTTP status: 202 while in progress, 200 when complete.
    pub http_status: u16,
    /// One entry per run of the request.
    pub runs: Vec<RunInfo>,
}

impl RunResponse {
    /// 200 and every run complete (or cancelled).
    pub fn is_complete(&self) -> bool {
        !self.runs.is_empty()
            && self
                .runs
                .iter()
                .all(|r| matches!(r.status, RunStatus::Complete | RunStatus::Cancelled))
    }

    /// The run ids.
    pub fn run_ids(&self) -> Vec<RunId> {
        self.runs.iter().map(|r| r.dp_run_id).collect()
    }
}

/// `searchHdrStatus` of the `status` service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchHdrStatus {
    /// `OPEN`: requested, not run to completion yet.
    Open,
    /// `COMPLETED` (also `COMPLETE`): the run has finished.
    Completed,
    /// `CANCELLED` (also `CANCELED`).
    Cancelled,
    /// `ERROR` or `FAILED`.
    Error,
    /// Any other value, trimmed, as sent.
    Other(String),
}

impl SearchHdrStatus {
    pub(crate) fn parse(text: &str) -> SearchHdrStatus {
        match text.trim().to_ascii_uppercase().as_str() {
            "OPEN" => SearchHdrStatus::Open,
            "COMPLETED" | "COMPLETE" => SearchHdrStatus::Completed,
            "CANCELLED" | "CANCELED" => SearchHdrStatus::Cancelled,
            "ERROR" | "FAILED" => SearchHdrStatus::Error,
            _ => SearchHdrStatus::Other(text.trim().to_string()),
        }
    }
}

/// The `status` answer (shape only partly documented; everything else is in `extra`).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestStatus {
    /// `searchHdrStatus`, when sent.
    pub search_hdr_status: Option<SearchHdrStatus>,
    /// `description`, when sent.
    pub description: Option<String>,
    /// `modifyDate`: last change, as ONC's text, when sent.
    pub modify_date: Option<String>,
    /// `status`, as sent, when present.
    pub status: Option<String>,
    /// Every other member of the answer.
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_items_and_statuses() {
        let runs: Vec<RunInfo> = serde_json::from_str(
            r#"[{"dpRunId": 56070469, "fileCount": 0, "status": "data product running"},
                {"dpRunId": 2, "status": "complete", "fileCount": "3", "queuePosition": 4},
                {"dpRunId": 3}]"#,
        )
        .unwrap();
        assert_eq!(runs[0].status, RunStatus::Running);
        assert_eq!(runs[1].status, RunStatus::Complete);
        assert_eq!(runs[1].file_count, 3);
        assert!(runs[1].extra.contains_key("queuePosition"));
        assert_eq!(runs[2].status, RunStatus::Unknown);
        assert_eq!(RunStatus::parse("Queued"), RunStatus::Queued);
        assert_eq!(RunStatus::parse("cancelled"), RunStatus::Cancelled);
        assert_eq!(RunStatus::parse("error"), RunStatus::Error);
        assert_eq!(RunStatus::parse("weird"), RunStatus::Other("weird".into()));
        assert!(!RunStatus::parse("weird").is_terminal());
    }
}
