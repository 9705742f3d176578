//! The OOI raw-data task: the miniSEED files of one broadband hydrophone that overlap `[from,
//! to)`, found in the archive's day listings (the day before `from` too, since a file that
//! starts before midnight can reach into the interval) and downloaded one by one under the
//! download slots: `.part` → the engine's validator (the CLI installs a miniSEED decoder) →
//! rename, each file in the ledger. Local names are the archive's with `:` written `-`
//! (`OO-AXBA1--YDH-2019-07-02T00-00-00.000015.mseed`): colons are not portable file names.
//!
//! An interval the archive has no file for ends the task done, with a message saying so.
//! Must not know: miniSEED, HTTP, the ledger's SQL.

use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use super::ctx::{Ctx, Stop};
use super::error::EngineError;
use super::fetch::ooi_raw_file;
use super::ledger::TaskRow;
use super::order::{join_files, Files};
use super::report::Event;
use super::task::TaskState;
use crate::ooi::{days_for, select_overlapping, RefDes};

/// The raw hydrophone files of one instrument over one interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OoiRawSpec {
    /// Reference designator, e.g. `RS03AXBS-LJ03A-09-HYDBBA302`.
    pub refdes: String,
    /// Start of the interval.
    pub from: Timestamp,
    /// End of the interval (exclusive).
    pub to: Timestamp,
    /// Sub-folder of the output folder for this task's files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// Take only files that start in `[from, to)`. Set on every day of a request but the
    /// first: the file that starts before a midnight and runs past it belongs to the day it
    /// starts in, so two day tasks never download (and rename into place) the same file. The
    /// first day also takes the file running into it from before `from`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub starts_only: bool,
}

/// The longest interval one task may cover (listing one day folder per day).
pub const MAX_RAW_DAYS: i64 = 366;

impl OoiRawSpec {
    /// The parsed reference designator.
    pub fn refdes(&self) -> Result<RefDes, EngineError> {
        RefDes::parse(&self.refdes).map_err(|e| EngineError::invalid("refdes", e.to_string()))
    }

    /// Checks everything that can be checked offline, naming the bad field.
    pub fn check(&self) -> Result<(), EngineError> {
        self.refdes()?;
        if self.from >= self.to {
            return Err(EngineError::invalid(
                "from/to",
                format!("{} is not before {}", self.from, self.to),
            ));
        }
        if self.to.duration_since(self.from).as_secs() > MAX_RAW_DAYS * 86_400 {
            return Err(EngineError::invalid(
                "from/to",
                format!("more than {MAX_RAW_DAYS} days; split the interval"),
            ));
        }
        Ok(())
    }

    /// The normalised parts of the canonical key (the folder is not part of it).
    pub(crate) fn key_parts(&self) -> Vec<String> {
        vec![
            "ooi_raw".into(),
            format!("refdes={}", self.refdes.trim()),
            format!("from={:.6}", self.from),
            format!("to={:.6}", self.to),
        ]
    }

    /// A short label, e.g. `OOI raw RS03AXBS-LJ03A-09-HYDBBA302 2019-07-02T00:00:00Z`.
    pub fn label(&self) -> String {
        format!("OOI raw {} {}", self.refdes.trim(), self.from)
    }
}

/// Lists the days, picks the overlapping files and downloads each.
pub(crate) async fn ooi_raw_task(
    ctx: Arc<Ctx>,
    row: TaskRow,
    spec: OoiRawSpec,
) -> Result<(), Stop> {
    let id = row.id;
    let dir = ctx.dir_for(spec.folder.as_deref())?;
    let refdes = spec.refdes().map_err(|e| Stop::permanent(e.to_string()))?;
    let mut listed = Vec::new();
    for day in days_for(spec.from, spec.to) {
        let files = ctx
            .call(id, "OOI raw-data listing", || {
                ctx.remote.ooi_raw_day(&refdes, day)
            })
            .await?;
        listed.extend(files);
    }
    let mut chosen = select_overlapping(listed, spec.from, spec.to);
    if spec.starts_only {
        chosen.retain(|f| f.start >= spec.from);
    }
    if chosen.is_empty() {
        let message = format!(
            "the raw-data archive has no file of {} between {} and {}",
            spec.refdes, spec.from, spec.to
        );
        ctx.ledger.set_message(id, &message)?;
        ctx.report(Event::JobMessage { task: id, message });
    }
    let mut jobs: Files = JoinSet::new();
    for f in chosen {
        jobs.spawn(ooi_raw_file(Arc::clone(&ctx), id, dir.clone(), f));
    }
    join_files(&mut jobs).await?;
    ctx.ledger.set_state(id, TaskState::Done)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::task::TaskSpec;

    #[test]
    fn key_label_and_checks() {
        let a: TaskSpec = serde_json::from_str(
            r#"{"kind":"ooi_raw","refdes":"RS03AXBS-LJ03A-09-HYDBBA302",
            "from":"2019-07-02T00:00:00Z","to":"2019-07-02T00:10:00Z"}"#,
        )
        .unwrap();
        let b: TaskSpec = serde_json::from_str(
            r#"{"kind":"ooi_raw","refdes":" RS03AXBS-LJ03A-09-HYDBBA302","folder":"x",
            "from":"2019-07-02T01:00:00+01:00","to":"2019-07-02T00:10:00.000Z"}"#,
        )
        .unwrap();
        assert_eq!(a.key(), b.key());
        a.validate().unwrap();
        assert!(a.label().starts_with("OOI raw RS03AXBS"));
        let TaskSpec::OoiRaw(mut bad) = a else {
            unreachable!()
        };
        bad.to = bad.from;
        assert!(TaskSpec::OoiRaw(bad.clone())
            .validate()
            .unwrap_err()
            .to_string()
            .contains("from/to"));
        bad.refdes = "LJ03A".into();
        assert!(TaskSpec::OoiRaw(bad).validate().is_err());
    }
}
