//! `onc-hydro status <out> [--tasks] [--json]`: reads the ledger read-only (also while another
//! process runs) and shows tasks per state, jobs on the server, files and bytes, recent
//! failures (with their task keys) and, with `--tasks`, every task: its key — the same key
//! `download --dry-run` and the hydrophone commands' `--dry-run --json` print — state and label.

use std::collections::HashMap;
use std::path::PathBuf;

use clap::Args;
use indicatif::HumanBytes;
use serde::Serialize;

use super::{GlobalArgs, Outcome};
use crate::engine::{for_each_task, Ledger, LedgerStatus, TaskId, TaskKey, TaskState, LEDGER_FILE};

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  onc-hydro status data/ --json\n  \
onc-hydro status data/ --tasks | grep failed")]
pub struct StatusArgs {
    /// Output folder of a run.
    pub out: PathBuf,
    /// Also list every task: key, state, label (and the reason of a failure).
    #[arg(long)]
    pub tasks: bool,
}

/// One task in the `--tasks` listing.
#[derive(Debug, Serialize)]
struct TaskLine {
    id: TaskId,
    key: TaskKey,
    state: TaskState,
    label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

fn render(s: &LedgerStatus, keys: &HashMap<TaskId, TaskKey>) -> String {
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
        let key = keys.get(&f.task).map(|k| k.0.as_str()).unwrap_or("?");
        lines.push(format!(
            "  failed {} {key} {} (attempts {}{retry}): {}",
            f.task, f.label, f.attempts, f.reason
        ));
    }
    lines.join("\n")
}

pub fn run(global: &GlobalArgs, args: StatusArgs) -> anyhow::Result<Outcome> {
    let path = args.out.join(LEDGER_FILE);
    let ledger = Ledger::open_read_only(&path)?;
    let s = ledger.status()?;
    let mut keys = HashMap::new();
    for f in &s.failures {
        if let Some(row) = ledger.task(f.task)? {
            keys.insert(f.task, row.key);
        }
    }
    let mut tasks = Vec::new();
    if args.tasks {
        for_each_task(&ledger, |row| {
            tasks.push(TaskLine {
                id: row.id,
                key: row.key,
                state: row.state,
                label: row.label,
                reason: row.reason,
            });
            Ok(())
        })?;
    }
    if global.json {
        let mut doc = serde_json::to_value(&s)?;
        if let serde_json::Value::Object(map) = &mut doc {
            if args.tasks {
                map.insert("tasks".into(), serde_json::to_value(&tasks)?);
            }
        }
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!("{}", render(&s, &keys));
        for t in &tasks {
            let reason = t
                .reason
                .as_deref()
                .map(|r| format!("  ({r})"))
                .unwrap_or_default();
            println!("{}  {:<11} {}{reason}", t.key, t.state.as_str(), t.label);
        }
    }
    Ok(if s.count(TaskState::Failed) > s.retrying {
        Outcome::SomeFailed
    } else {
        Outcome::AllDone
    })
}
