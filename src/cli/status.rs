//! `onc-hydro status <out> [--json]`: reads the ledger read-only (also while another process
//! runs) and shows tasks per state, jobs on the server, files and bytes, recent failures.

use std::path::PathBuf;

use clap::Args;
use indicatif::HumanBytes;

use super::{GlobalArgs, Outcome};
use crate::engine::{status_of, LedgerStatus, TaskState};

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  onc-hydro status data/ --json")]
pub struct StatusArgs {
    /// Output folder of a run.
    pub out: PathBuf,
}

fn render(s: &LedgerStatus) -> String {
    let mut lines = Vec::new();
    let states: Vec<String> = TaskState::ALL
        .iter()
        .filter(|st| s.count(**st) > 0)
        .map(|st| format!("{} {}", s.count(*st), st))
        .collect();
    lines.push(format!(
        "tasks: {} ({})",
        s.total,
        if states.is_empty() {
            "none".into()
        } else {
            states.join(", ")
        }
    ));
    lines.push(format!(
        "jobs on the server: {}; failed tasks waiting for a retry: {}",
        s.jobs_on_server, s.retrying
    ));
    lines.push(format!(
        "files: {} verified ({}), {} pending",
        s.files_done,
        HumanBytes(s.bytes_done),
        s.files_pending
    ));
    if let Some(t) = s.last_update {
        lines.push(format!("last update: {t:.3}"));
    }
    for f in s.failures.iter().take(10) {
        let retry = f
            .next_retry
            .map(|t| format!(", retry at {t:.0}"))
            .unwrap_or_default();
        lines.push(format!(
            "  failed {} {} (attempts {}{retry}): {}",
            f.task, f.label, f.attempts, f.reason
        ));
    }
    lines.join("\n")
}

pub fn run(global: &GlobalArgs, args: StatusArgs) -> anyhow::Result<Outcome> {
    let s = status_of(&args.out, None)?;
    if global.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        println!("{}", render(&s));
    }
    Ok(if s.count(TaskState::Failed) > s.retrying {
        Outcome::SomeFailed
    } else {
        Outcome::AllDone
    })
}
