//! The `Reporter` trait: every event the engine emits while it runs (jobs submitted and waiting
//! on the server, files started/progressing/done, retries, failures, the run-time window). The
//! engine never draws anything; the CLI implements this with progress bars.
//!
//! Must not know: terminals, indicatif.

use std::time::Duration;

use jiff::Timestamp;

use super::task::TaskId;

/// One thing that happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The run begins: `total` tasks in the ledger, `already_done` of them finished earlier.
    Started {
        /// Tasks in the ledger.
        total: u64,
        /// Tasks finished by earlier runs.
        already_done: u64,
        /// Files verified by earlier runs.
        files_done: u64,
        /// Bytes of those files.
        bytes_done: u64,
    },
    /// Before anything else: verified files were re-checked against the disk; `invalidated`
    /// of them were missing or changed and will be fetched again.
    Rechecked {
        /// Verified files looked at.
        checked: u64,
        /// Of those, missing or changed.
        invalidated: u64,
        /// Stale `.part` files of crashed runs removed.
        parts_swept: u64,
    },
    /// A data-product job was requested (`dpRequestId` recorded).
    Requested {
        /// The task.
        task: TaskId,
        /// Its one-line description.
        label: String,
    },
    /// The number of jobs currently waiting on the server changed.
    JobsOnServer {
        /// Jobs requested and not complete.
        count: usize,
    },
    /// The server's latest word on a job (queued, running, "Running... 40% complete").
    JobMessage {
        /// The task.
        task: TaskId,
        /// The server's status text.
        message: String,
    },
    /// A file transfer began (`size` when known).
    FileStarted {
        /// The task.
        task: TaskId,
        /// The file name.
        name: String,
        /// Its size, when announced.
        size: Option<u64>,
    },
    /// Bytes arrived (any file).
    Bytes {
        /// Bytes received since the last such event.
        count: u64,
    },
    /// A file was stored and verified.
    FileDone {
        /// The task.
        task: TaskId,
        /// The file name.
        name: String,
        /// Its size in bytes.
        size: u64,
    },
    /// A file was already verified by an earlier run and was not downloaded again.
    FileSkipped {
        /// The task.
        task: TaskId,
        /// The file name.
        name: String,
    },
    /// A task finished.
    TaskDone {
        /// The task.
        task: TaskId,
    },
    /// A task failed; `retry_at` when it will be tried again.
    TaskFailed {
        /// The task.
        task: TaskId,
        /// Why.
        reason: String,
        /// When it is tried again, if it will be.
        retry_at: Option<Timestamp>,
    },
    /// A transient failure; the operation is retried after `delay`.
    Retry {
        /// The task.
        task: TaskId,
        /// The operation, e.g. `run`, `download 3`.
        what: String,
        /// What went wrong (redacted).
        error: String,
        /// The wait before the next attempt.
        delay: Duration,
    },
    /// Outside the run-time window: nothing new is submitted until `until`.
    WindowClosed {
        /// When the window opens again.
        until: Timestamp,
    },
    /// Back inside the run-time window.
    WindowOpen,
}

/// Receives engine events. Called from many tasks at once; must be cheap and never block.
pub trait Reporter: Send + Sync {
    /// Handles one event.
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
