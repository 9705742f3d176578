//! The OOI asynchronous-request task: an instrument (reference designator), delivery method,
//! stream and optional `[from, to)` interval, asked of OOI's M2M service as one NetCDF request;
//! its files go to `folder`. What the server answered (request UUID, THREDDS catalog,
//! async-results folder) is the task's [`OoiRemote`], committed to the ledger before anything
//! else so a crash re-attaches to the same request instead of asking again.
//!
//! Must not know: HTTP, the ledger's SQL.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::error::EngineError;
use crate::ooi::{check_segment, RefDes};

/// One OOI data request to make (or re-attach to) and download.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OoiSpec {
    /// Reference designator, e.g. `RS03CCAL-MJ03F-05-BOTPTA301`.
    pub refdes: String,
    /// Delivery method, e.g. `streamed`, `telemetered`, `recovered_inst`.
    pub method: String,
    /// Stream, e.g. `botpt_nano_sample`.
    pub stream: String,
    /// Start of the interval (None: the start of the record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Timestamp>,
    /// End of the interval (None: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Timestamp>,
    /// Also download the provenance and annotation files (default: NetCDF only).
    #[serde(default)]
    pub ancillary: bool,
    /// Longest to wait for the request to complete, in seconds (default: the engine's
    /// `max_wait`). When it passes the task fails but keeps its request: `resume
    /// --retry-failed` re-attaches to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wait_s: Option<f64>,
    /// Sub-folder of the output folder for this task's files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
}

/// What OOI answered to the request (stored in the ledger's `remote` column).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OoiRemote {
    /// The server's `requestUUID`.
    pub uuid: String,
    /// The THREDDS catalog of the request.
    pub catalog: String,
    /// The async-results folder (where `status.txt` appears).
    pub results: String,
}

impl OoiSpec {
    /// The parsed reference designator.
    pub fn refdes(&self) -> Result<RefDes, EngineError> {
        RefDes::parse(&self.refdes).map_err(|e| EngineError::invalid("refdes", e.to_string()))
    }

    /// The per-task maximum wait, if set.
    pub fn max_wait(&self) -> Option<Duration> {
        self.max_wait_s
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
    }

    /// Checks everything that can be checked offline, naming the bad field.
    pub fn check(&self) -> Result<(), EngineError> {
        self.refdes()?;
        check_segment("method", &self.method)
            .map_err(|e| EngineError::invalid("method", e.to_string()))?;
        check_segment("stream", &self.stream)
            .map_err(|e| EngineError::invalid("stream", e.to_string()))?;
        if let (Some(f), Some(t)) = (self.from, self.to) {
            if f >= t {
                return Err(EngineError::invalid(
                    "from/to",
                    format!("{f} is not before {t}"),
                ));
            }
        }
        if let Some(s) = self.max_wait_s {
            if !(s.is_finite() && s > 0.0) {
                return Err(EngineError::invalid(
                    "max_wait_s",
                    "must be a number of seconds > 0",
                ));
            }
        }
        Ok(())
    }

    /// The normalised parts of the canonical key (the folder, the ancillary flag and the
    /// maximum wait do not change what the server is asked for).
    pub(crate) fn key_parts(&self) -> Vec<String> {
        let t = |ts: Option<Timestamp>| ts.map(|t| format!("{t:.3}")).unwrap_or_default();
        vec![
            "ooi".into(),
            format!("refdes={}", self.refdes.trim()),
            format!("method={}", self.method.trim()),
            format!("stream={}", self.stream.trim()),
            format!("beginDT={}", t(self.from)),
            format!("endDT={}", t(self.to)),
        ]
    }

    /// A short label, e.g. `OOI RS03CCAL-MJ03F-05-BOTPTA301 streamed botpt_nano_sample 2024-…`.
    pub fn label(&self) -> String {
        let from = self.from.map(|t| format!(" {t:.3}")).unwrap_or_default();
        format!(
            "OOI {} {} {}{from}",
            self.refdes.trim(),
            self.method.trim(),
            self.stream.trim()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::task::TaskSpec;

    #[test]
    fn key_label_and_checks() {
        let a: TaskSpec = serde_json::from_str(
            r#"{"kind":"ooi","refdes":"RS03CCAL-MJ03F-05-BOTPTA301","method":"streamed",
            "stream":"botpt_nano_sample","from":"2024-01-01T00:00:00Z","to":"2024-01-01T02:00:00Z"}"#,
        )
        .unwrap();
        let b: TaskSpec = serde_json::from_str(
            r#"{"kind":"ooi","refdes":" RS03CCAL-MJ03F-05-BOTPTA301","method":"streamed",
            "stream":"botpt_nano_sample","from":"2024-01-01T00:00:00.000Z","to":"2024-01-01T03:00:00+01:00",
            "folder":"x","ancillary":true}"#,
        )
        .unwrap();
        assert_eq!(a.key(), b.key());
        a.validate().unwrap();
        assert!(a.label().starts_with("OOI RS03CCAL"));
        let TaskSpec::Ooi(mut bad) = a.clone() else {
            unreachable!()
        };
        bad.refdes = "RS03CCAL".into();
        assert!(TaskSpec::Ooi(bad.clone())
            .validate()
            .unwrap_err()
            .to_string()
            .contains("refdes"));
        bad.refdes = "RS03CCAL-MJ03F-05-BOTPTA301".into();
        bad.to = bad.from;
        assert!(TaskSpec::Ooi(bad)
            .validate()
            .unwrap_err()
            .to_string()
            .contains("from/to"));
    }
}
