//! The `Reporter` trait: every event the engine emits while it runs (jobs submitted and waiting
//! on the server, files started/progressing/done, retries, failures, the run-time window). The
//! engine never draws anything; the CLI implements this with progress bars.
//!
//! Must not know: terminals, indicatif.

// TODO(issue 15 item 6): document the public items below, then delete this allow.
#![allow(missing_docs)]

use std::time::Duration;

use jiff::Timestamp;

use super::task::TaskId;

/// One thing that happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The run begins: `total` tasks in the ledger, `already_done` of them finished earlier.
    Started {
        total: u64,
        already_done: u64,
        files_done: u64,
        bytes_done: u64,
    },
    /// A data-product job was requested (`dpRequestId` recorded).
    Requested { task: TaskId, label: String },
    /// The number of jobs currently waiting on the server changed.
    JobsOnServer { count: usize },
    /// The server's latest word on a job (queued, running, "Running... 40% complete").
    JobMessage { task: TaskId, message: String },
    /// A file transfer began (`size` when known).
    FileStarted {
        task: TaskId,
        name: String,
        size: Option<u64>,
    },
    /// Bytes arrived (any file).
    Bytes { count: u64 },
    /// A file was stored and verified.
    FileDone {
        task: TaskId,
        name: String,
        size: u64,
    },
    /// A file was already verified by an earlier run and was not downloaded again.
    FileSkipped { task: TaskId, name: String },
    /// A task finished.
    TaskDone { task: TaskId },
    /// A task failed; `retry_at` when it will be tried again.
    TaskFailed {
        task: TaskId,
        reason: String,
        retry_at: Option<Timestamp>,
    },
    /// A transient failure; the operation is retried after `delay`.
    Retry {
        task: TaskId,
        what: String,
        error: String,
        delay: Duration,
    },
    /// Outside the run-time window: nothing new is submitted until `until`.
    WindowClosed { until: Timestamp },
    /// Back inside the run-time window.
    WindowOpen,
}

/// Receives engine events. Called from many tasks at once; must be cheap and never block.
pub trait Reporter: Send + Sync {
    fn event(&self, event: &Event);
}

/// Ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullReporter;

impl Reporter for NullReporter {
    fn event(&self, _event: &Event) {}
}

/// Keeps every event (tests, debugging).
#[derive(Debug, Default)]
pub struct CollectingReporter {
    events: std::sync::Mutex<Vec<Event>>,
}

impl CollectingReporter {
    /// A copy of the events so far.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Reporter for CollectingReporter {
    fn event(&self, event: &Event) {
        if !matches!(event, Event::Bytes { .. }) {
            self.events
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(event.clone());
        }
    }
}
