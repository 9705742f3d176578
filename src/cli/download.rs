//! `onc-hydro download plan.xlsx`: ONC's `download` — read the workbook as the researcher left
//! it, validate every row (reporting every problem with sheet, row and column before anything
//! is sent), split rows by `splitDateRange`, and run the orders. `--dry-run` prints the tasks
//! instead, validating against what the plan step recorded (no server needed) unless `--live`.
//! A real run plans the tasks in the ledger of `downloadFolder` (idempotent: running again after
//! editing adds new work and keeps what is done), marks tasks of removed rows `dropped` (files
//! are never deleted) and runs the engine with the Configuration's slots and run window.

use std::io::Write;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use serde_json::json;

use super::discover::client_for;
use super::progress::Progress;
use super::{GlobalArgs, Outcome, Settings};
use crate::api::format_onc;
use crate::engine::{Engine, EngineConfig, EngineSettings, TaskSpec, TaskState};
use crate::plan::{self, Offerings, PlannedTask, ReadBook, ValidPlan};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  onc-hydro --sim download whale/download.xlsx --dry-run\n  \
onc-hydro --sim download whale/download.xlsx"
)]
pub struct DownloadArgs {
    /// The workbook written by `onc-hydro plan` (and edited by you).
    pub file: PathBuf,
    /// Validate and print the tasks that would run; send no data-product request.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: check products against the server (dataProducts per device/category)
    /// instead of the workbook's Offerings sheet.
    #[arg(long)]
    pub live: bool,
    /// No progress line.
    #[arg(long)]
    pub quiet: bool,
    /// Scale every wait as for a server running at this time scale (simulator testing;
    /// implied by --sim with --sim-time-scale).
    #[arg(long, hide = true, value_name = "SCALE")]
    pub server_time_scale: Option<f64>,
}

/// Reads and validates; prints every problem and fails when there is one.
async fn load(
    global: &GlobalArgs,
    args: &DownloadArgs,
) -> anyhow::Result<(ReadBook, ValidPlan, Option<Settings>)> {
    let book = plan::read_workbook(&args.file)?;
    let live = !args.dry_run || args.live;
    let (offerings, settings) = if live {
        let settings = Settings::resolve(global).await?;
        let client = client_for(&settings)?;
        let keys = plan::row_source_keys(&book);
        let mut o: Offerings = plan::fetch_offerings(&client, &keys).await?;
        // Keep the workbook's option lists for products the server did not describe.
        let recorded = plan::recorded_offerings(&book);
        for (pe, spec) in recorded.products {
            o.products.entry(pe).or_insert(spec);
        }
        (o, Some(settings))
    } else {
        (plan::recorded_offerings(&book), None)
    };
    match plan::validate(&book, &offerings) {
        Ok(valid) => {
            for w in &valid.warnings {
                eprintln!("warning: {w}");
            }
            Ok((book, valid, settings))
        }
        Err(report) => {
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            for p in &report.problems {
                eprintln!("problem: {p}");
            }
            anyhow::bail!(
                "{} problem(s) in {}; nothing was requested. Fix them and run again.",
                report.problems.len(),
                args.file.display()
            )
        }
    }
}

/// `downloadFolder`, relative to the workbook's folder unless absolute.
pub fn download_folder(workbook: &Path, folder: &str) -> PathBuf {
    let p = PathBuf::from(folder);
    if p.is_absolute() {
        return p;
    }
    let base = workbook
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if folder.trim() == "." {
        base.to_path_buf()
    } else {
        base.join(p)
    }
}

pub async fn run(global: &GlobalArgs, args: DownloadArgs) -> anyhow::Result<Outcome> {
    let (book, valid, settings) = load(global, &args).await?;
    let tasks = plan::plan_tasks(&valid);
    let out = download_folder(&book.path, &valid.config.download_folder);
    if args.dry_run {
        print_dry_run(global.json, &out, &valid, &tasks);
        return Ok(Outcome::AllDone);
    }
    let settings = settings.context("settings were resolved for a live run")?;
    run_engine(global, &args, &settings, &out, &valid, &tasks).await
}

/// Plans the tasks in the ledger of `downloadFolder`, drops tasks of removed rows, runs.
async fn run_engine(
    global: &GlobalArgs,
    args: &DownloadArgs,
    settings: &Settings,
    out: &Path,
    valid: &ValidPlan,
    tasks: &[PlannedTask],
) -> anyhow::Result<Outcome> {
    let specs: Vec<TaskSpec> = tasks.iter().map(plan::engine_spec).collect();
    let engine = Engine::open(out, EngineConfig::default())
        .with_context(|| format!("opening the ledger in {}", out.display()))?;
    let scale = args
        .server_time_scale
        .or(global.sim.then_some(global.sim_time_scale));
    let base = match scale {
        Some(x) => EngineSettings::scaled(x),
        None => EngineSettings::default(),
    };
    let engine = engine.with_settings(plan::engine_settings(&valid.config, base))?;
    let planned = engine.plan(&specs)?;
    let dropped = plan::drop_removed(engine.ledger(), &specs)?;
    if !settings.json {
        eprintln!(
            "{} task(s) from {} row(s): {} new, {} already in the ledger, {} revived; {} dropped (rows removed{})",
            specs.len(),
            valid.rows.iter().filter(|r| r.download).count(),
            planned.added,
            planned.already_planned,
            planned.revived,
            dropped.dropped,
            if dropped.dropped_done > 0 {
                format!(", {} of them done: their files are kept", dropped.dropped_done)
            } else {
                String::new()
            }
        );
    }
    let client = client_for(settings)?;
    let progress = Arc::new(Progress::new(args.quiet || settings.json));
    let result = engine.run(&client, progress.clone()).await;
    progress.finish();
    let summary = result?;
    let status = engine.status()?;
    let mut stdout = std::io::stdout().lock();
    if settings.json {
        let _ = writeln!(stdout, "{}", serde_json::to_string_pretty(&summary)?);
    } else {
        let _ = writeln!(stdout, "{summary}");
        let _ = writeln!(stdout, "ledger: {}", status.ledger.display());
    }
    Ok(
        if status.unfinished() == 0 && status.count(TaskState::Failed) == 0 {
            Outcome::AllDone
        } else {
            Outcome::SomeFailed
        },
    )
}

fn print_dry_run(json: bool, out: &Path, valid: &ValidPlan, tasks: &[PlannedTask]) {
    // Write errors (a closed pipe, e.g. `| head`) end the listing quietly instead of panicking.
    let mut stdout = std::io::stdout().lock();
    let c = &valid.config;
    if json {
        let list: Vec<serde_json::Value> = tasks
            .iter()
            .map(|t| {
                json!({
                    "key": t.key.to_string(),
                    "sheet": t.sheet.sheet_name(),
                    "row": t.excel_row,
                    "source": plan::source_label(&t.order.source),
                    "dataProductCode": t.order.product.as_str(),
                    "extension": t.order.extension,
                    "dateFrom": format_onc(t.order.date_from),
                    "dateTo": format_onc(t.order.date_to),
                    "options": t.order.options.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
                    "folder": out.join(&t.folder).display().to_string(),
                })
            })
            .collect();
        let _ = writeln!(
            stdout,
            "{}",
            json!({
                "downloadFolder": out.display().to_string(),
                "splitDateRange": c.split.as_str(),
                "runThreads": c.run_threads,
                "downloadThreads": c.download_threads,
                "rows": valid.rows.len(),
                "rowsToDownload": valid.rows.iter().filter(|r| r.download).count(),
                "tasks": list,
            })
        );
        return;
    }
    let _ = writeln!(
        stdout,
        "{} row(s) valid, {} marked for download → {} task(s); splitDateRange={}, runThreads={}, downloadThreads={}, into {}",
        valid.rows.len(),
        valid.rows.iter().filter(|r| r.download).count(),
        tasks.len(),
        c.split.as_str(),
        c.run_threads,
        c.download_threads,
        out.display()
    );
    for t in tasks {
        if writeln!(stdout, "{}", t.describe()).is_err() {
            return;
        }
    }
}
