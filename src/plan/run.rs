//! Handing a validated workbook to the download engine: planned tasks → engine task specs,
//! Configuration → engine settings (runThreads → run slots, downloadThreads → download slots,
//! beginRun/endRun → run window), and syncing the ledger with the workbook — tasks whose rows
//! were removed (or edited into different orders) are marked `dropped`; files are never deleted.
//!
//! Must not know: terminals or progress drawing (the CLI passes a reporter to the engine).

use std::collections::HashSet;

use super::model::Config;
use super::tasks::PlannedTask;
use crate::engine::{
    for_each_task, EngineError, EngineSettings, Ledger, OrderSpec, RunWindow, TaskKey, TaskSpec,
    TaskState,
};

/// The engine's description of one planned task (metadata file included, as ONC's client
/// does): the typed order as it is, in the task's folder.
pub fn engine_spec(t: &PlannedTask) -> TaskSpec {
    let folder = t
        .folder
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    TaskSpec::Order(
        OrderSpec::new(t.order.clone())
            .with_meta(true)
            .in_folder(folder),
    )
}

/// The workbook's Configuration applied to `base` (which carries the polling and retry
/// timings). `downloadQueueSize` has no engine counterpart: transfers are bounded by the slots.
pub fn engine_settings(config: &Config, base: EngineSettings) -> EngineSettings {
    EngineSettings {
        run_slots: config.run_threads,
        download_slots: config.download_threads,
        window: config
            .run_window()
            .map(|(begin, end)| RunWindow { begin, end }),
        ..base
    }
}

/// What [`drop_removed`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropReport {
    /// Tasks no longer in the workbook, now `dropped` (their files stay on disk).
    pub dropped: u64,
    /// Of those, tasks that had finished.
    pub dropped_done: u64,
}

/// Marks every ledger task whose key is not among `current` as dropped (already dropped or
/// cancelled tasks are left as they are). Planning the task again revives it.
pub fn drop_removed(ledger: &Ledger, current: &[TaskSpec]) -> Result<DropReport, EngineError> {
    let keep: HashSet<TaskKey> = current.iter().map(TaskSpec::key).collect();
    let mut report = DropReport::default();
    for_each_task(ledger, |row| {
        if keep.contains(&row.key) || matches!(row.state, TaskState::Dropped | TaskState::Cancelled)
        {
            return Ok(());
        }
        if row.state == TaskState::Done {
            report.dropped_done += 1;
        }
        ledger.set_state(row.id, TaskState::Dropped)?;
        report.dropped += 1;
        Ok(())
    })?;
    Ok(report)
}
