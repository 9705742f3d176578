//! `onc-hydro cancel <out>`: cancels on the server every job of an unfinished task recorded in
//! the ledger and marks those tasks cancelled (running `run-tasks` with them again revives them).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::discover::client_for;
use super::{GlobalArgs, Outcome, Settings};
use crate::engine::{Engine, EngineConfig, LEDGER_FILE};

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  onc-hydro cancel data/")]
pub struct CancelArgs {
    /// Output folder of a run.
    pub out: PathBuf,
}

pub async fn run(global: &GlobalArgs, args: CancelArgs) -> anyhow::Result<Outcome> {
    if !args.out.join(LEDGER_FILE).is_file() {
        anyhow::bail!("no ledger in {}", args.out.display());
    }
    let engine = Engine::open(&args.out, EngineConfig::default())
        .with_context(|| format!("opening the ledger in {}", args.out.display()))?;
    // An OOI-only ledger needs no Oceans 3.0 token: OOI requests have no cancel call, their
    // tasks are only marked cancelled.
    let settings = Settings::resolve_lenient(global).await?;
    let client = client_for(&settings)?;
    let report = engine.cancel_unfinished(&client).await?;
    if global.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "cancelled {} server jobs; {} tasks marked cancelled",
            report.jobs_cancelled, report.tasks_cancelled
        );
        for e in &report.cancel_errors {
            println!("  could not cancel {e}");
        }
    }
    Ok(if report.cancel_errors.is_empty() {
        Outcome::AllDone
    } else {
        Outcome::SomeFailed
    })
}
