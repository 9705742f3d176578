//! Progress display for engine runs: implements `engine::Reporter` with indicatif — tasks done
//! of total with ETA, files and bytes, jobs waiting on the server, the latest server message.
//! Hidden automatically when stderr is not a terminal (then only final failures are logged).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::{Event, Reporter};

/// Draws one status line per run.
pub struct Progress {
    bar: ProgressBar,
    files: AtomicU64,
    bytes: AtomicU64,
    jobs: AtomicUsize,
    tty: bool,
}

impl Progress {
    /// A progress line on stderr (hidden when stderr is not a terminal or `quiet`).
    pub fn new(quiet: bool) -> Progress {
        let tty = std::io::stderr().is_terminal() && !quiet;
        let target = if tty {
            ProgressDrawTarget::stderr_with_hz(8)
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(0), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:24} {pos}/{len} tasks, ETA {eta} · {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        if tty {
            bar.enable_steady_tick(Duration::from_millis(250));
        }
        Progress {
            bar,
            files: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            jobs: AtomicUsize::new(0),
            tty,
        }
    }

    fn refresh(&self) {
        if !self.tty {
            return;
        }
        self.bar.set_message(format!(
            "{} files, {} · {} jobs on the server",
            self.files.load(Ordering::Relaxed),
            HumanBytes(self.bytes.load(Ordering::Relaxed)),
            self.jobs.load(Ordering::Relaxed)
        ));
    }

    /// Removes the line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Reporter for Progress {
    fn event(&self, event: &Event) {
        match event {
            Event::Started {
                total,
                already_done,
                files_done,
                bytes_done,
            } => {
                self.bar.set_length(*total);
                self.bar.set_position(*already_done);
                self.bar.reset_eta();
                self.files.store(*files_done, Ordering::Relaxed);
                self.bytes.store(*bytes_done, Ordering::Relaxed);
            }
            Event::JobsOnServer { count } => self.jobs.store(*count, Ordering::Relaxed),
            Event::Bytes { count } => {
                self.bytes.fetch_add(*count, Ordering::Relaxed);
            }
            Event::FileDone { .. } => {
                self.files.fetch_add(1, Ordering::Relaxed);
            }
            Event::TaskDone { .. } => self.bar.inc(1),
            Event::TaskFailed {
                task,
                reason,
                retry_at,
            } => {
                let line = match retry_at {
                    Some(at) => format!("task {task} failed, retry at {at:.0}: {reason}"),
                    None => format!("task {task} failed: {reason}"),
                };
                if self.tty {
                    self.bar.println(line);
                } else if retry_at.is_none() {
                    tracing::warn!("{line}");
                }
            }
            Event::WindowClosed { until } => {
                let line = format!("outside the run-time window: nothing new until {until:.0}");
                if self.tty {
                    self.bar.println(line);
                } else {
                    tracing::info!("{line}");
                }
            }
            Event::Retry {
                task, what, error, ..
            } => tracing::debug!("task {task}: retrying {what}: {error}"),
            _ => {}
        }
        self.refresh();
    }
}
