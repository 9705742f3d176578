//! Handing a validated workbook to the download engine: planned tasks → engine task specs,
//! Configuration → engine settings (runThreads → run slots, downloadThreads → download slots,
//! beginRun/endRun → run window), and syncing the ledger with the workbook — tasks whose rows
//! were removed (or edited into different orders) are marked `dropped`; files are never deleted.
//!
//! Must not know: terminals or progress drawing (the CLI passes a reporter to the engine).

use std::collections::{BTreeMap, HashSet};

use super::model::Config;
use super::tasks::PlannedTask;
use crate::api::DataSource;
use crate::engine::{
    EngineError, EngineSettings, Ledger, OrderSpec, RunWindow, TaskId, TaskKey, TaskSpec, TaskState,
};

/// The engine's description of one planned task (metadata file included, as ONC's client does).
pub fn engine_spec(t: &PlannedTask) -> TaskSpec {
    let o = &t.order;
    let (device, location, device_category, property) = match &o.source {
        DataSource::Device { device, property } => (
            Some(device.to_string()),
            None,
            None,
            property.as_ref().map(|p| p.to_string()),
        ),
        DataSource::Location {
            location,
            device_category,
            property,
        } => (
            None,
            Some(location.to_string()),
            device_category.as_ref().map(|c| c.to_string()),
            property.as_ref().map(|p| p.to_string()),
        ),
    };
    TaskSpec::Order(OrderSpec {
        product: o.product.to_string(),
        extension: o.extension.clone(),
        device,
        location,
        device_category,
        property,
        date_from: o.date_from,
        date_to: o.date_to,
        options: o.options.iter().cloned().collect::<BTreeMap<_, _>>(),
        include_meta: true,
        folder: Some(
            t.folder
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/"),
        ),
    })
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
    let total = ledger.status()?.total;
    let mut report = DropReport::default();
    let (mut seen, mut misses, mut id) = (0u64, 0u32, 0i64);
    // Task ids are SQLite row ids (1, 2, …, never reused); walk them until all are seen.
    while seen < total && misses < 10_000 {
        id += 1;
        let Some(row) = ledger.task(TaskId(id))? else {
            misses += 1;
            continue;
        };
        seen += 1;
        if keep.contains(&row.key) || matches!(row.state, TaskState::Dropped | TaskState::Cancelled)
        {
            continue;
        }
        if row.state == TaskState::Done {
            report.dropped_done += 1;
        }
        ledger.set_state(row.id, TaskState::Dropped)?;
        report.dropped += 1;
    }
    Ok(report)
}
