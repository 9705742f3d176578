//! The shared state of one engine run (ledger, remote, slots, reporter, counters, the fatal
//! flag) and the helpers every worker uses: retried remote calls and fatal-aware sleeping.
//!
//! Must not know: which kind of task a worker drives.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};

use super::config::EngineSettings;
use super::error::EngineError;
use super::ledger::Ledger;
use super::remote::Remote;
use super::report::{Event, Reporter};
use super::retry::{Classify, FailureClass};
use super::storage::Validator;
use super::summary::Stats;
use super::task::TaskId;

/// Why a worker stopped before finishing its task.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The task failed; `transient` failures may be retried later.
    Fail { reason: String, transient: bool },
    /// The token was rejected: the whole run stops.
    Fatal(String),
    /// The ledger or the file system failed: the whole run stops.
    Engine(EngineError),
}

impl From<EngineError> for Stop {
    fn from(e: EngineError) -> Stop {
        Stop::Engine(e)
    }
}

impl Stop {
    pub(crate) fn permanent(reason: impl Into<String>) -> Stop {
        Stop::Fail {
            reason: reason.into(),
            transient: false,
        }
    }

    pub(crate) fn transient(reason: impl Into<String>) -> Stop {
        Stop::Fail {
            reason: reason.into(),
            transient: true,
        }
    }
}

/// Everything workers share.
pub(crate) struct Ctx {
    pub ledger: Ledger,
    pub remote: Remote,
    pub out: PathBuf,
    pub settings: EngineSettings,
    pub validator: Option<Validator>,
    pub reporter: Arc<dyn Reporter>,
    pub stats: Arc<Stats>,
    /// Jobs on the server at once.
    pub run_slots: Arc<Semaphore>,
    /// File transfers at once.
    pub download_slots: Arc<Semaphore>,
    /// Wakes the scheduler (a run slot was released).
    pub wake: Notify,
    /// Jobs currently on the server (for reporting).
    pub jobs_on_server: AtomicUsize,
    /// Workers that request ahead while every run slot is taken (at most `run_slots`).
    pub requesting_ahead: AtomicUsize,
    fatal: Mutex<Option<String>>,
    fatal_notify: Notify,
}

impl Ctx {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        ledger: Ledger,
        remote: Remote,
        out: PathBuf,
        settings: EngineSettings,
        validator: Option<Validator>,
        reporter: Arc<dyn Reporter>,
        stats: Arc<Stats>,
    ) -> Ctx {
        Ctx {
            run_slots: Arc::new(Semaphore::new(settings.run_slots.max(1))),
            download_slots: Arc::new(Semaphore::new(settings.download_slots.max(1))),
            ledger,
            remote,
            out,
            settings,
            validator,
            reporter,
            stats,
            wake: Notify::new(),
            jobs_on_server: AtomicUsize::new(0),
            requesting_ahead: AtomicUsize::new(0),
            fatal: Mutex::new(None),
            fatal_notify: Notify::new(),
        }
    }

    pub(crate) fn report(&self, e: Event) {
        self.reporter.event(&e);
    }

    /// Why the run must stop, if it must.
    pub(crate) fn fatal(&self) -> Option<String> {
        self.fatal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set_fatal(&self, why: String) {
        let mut f = self
            .fatal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if f.is_none() {
            *f = Some(why);
        }
        drop(f);
        self.fatal_notify.notify_waiters();
        self.wake.notify_one();
    }

    /// Sleeps `d`, returning early with `Stop::Fatal` when the run is stopping.
    pub(crate) async fn sleep(&self, d: Duration) -> Result<(), Stop> {
        if let Some(f) = self.fatal() {
            return Err(Stop::Fatal(f));
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => Ok(()),
            _ = self.fatal_notify.notified() => Err(Stop::Fatal(self.fatal().unwrap_or_default())),
        }
    }

    /// The folder for a task's files.
    pub(crate) fn dir_for(&self, folder: Option<&str>) -> Result<PathBuf, Stop> {
        match folder {
            None => Ok(self.out.clone()),
            Some(f) => {
                super::task::check_folder(f).map_err(|e| Stop::permanent(e.to_string()))?;
                Ok(self.out.join(f))
            }
        }
    }

    /// `path` relative to the output folder, as stored in the ledger.
    pub(crate) fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.out)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned()
    }

    pub(crate) fn jobs_changed(&self, delta: isize) {
        let n = if delta >= 0 {
            self.jobs_on_server
                .fetch_add(delta as usize, Ordering::Relaxed)
                + delta as usize
        } else {
            self.jobs_on_server
                .fetch_sub(delta.unsigned_abs(), Ordering::Relaxed)
                .saturating_sub(delta.unsigned_abs())
        };
        self.report(Event::JobsOnServer { count: n });
    }

    /// Turns an API error into a `Stop` (after retries were exhausted or for non-transient ones).
    pub(crate) fn stop_for(&self, what: &str, e: &impl Classify) -> Stop {
        match e.class() {
            FailureClass::Fatal => Stop::Fatal(e.to_string()),
            FailureClass::Permanent => Stop::permanent(format!("{what}: {e}")),
            FailureClass::Transient => Stop::transient(format!("{what}: {e}")),
        }
    }

    /// Calls `op` until it succeeds, retrying transient failures with backoff up to
    /// `max_attempts`; permanent failures and 401 return at once.
    pub(crate) async fn call<T, E, F, Fut>(
        &self,
        task: TaskId,
        what: &str,
        mut op: F,
    ) -> Result<T, Stop>
    where
        E: Classify,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let policy = self.settings.retry;
        let mut failures = 0u32;
        loop {
            if let Some(f) = self.fatal() {
                return Err(Stop::Fatal(f));
            }
            let e = match op().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if e.class() != FailureClass::Transient {
                return Err(self.stop_for(what, &e));
            }
            failures += 1;
            if failures >= policy.max_attempts.max(1) {
                return Err(Stop::transient(format!(
                    "{what}: gave up after {failures} attempts: {e}"
                )));
            }
            self.retry_pause(task, what, &e.to_string(), failures)
                .await?;
        }
    }

    /// Counts and reports a retry, then waits the backoff for `failures`.
    pub(crate) async fn retry_pause(
        &self,
        task: TaskId,
        what: &str,
        error: &str,
        failures: u32,
    ) -> Result<(), Stop> {
        let delay = self.settings.retry.delay(failures);
        self.stats.add(&self.stats.retries, 1);
        self.report(Event::Retry {
            task,
            what: what.to_string(),
            error: error.to_string(),
            delay,
        });
        self.sleep(delay).await
    }
}
