//! `onc-hydro download plan.xlsx`: ONC's `download` — read the workbook as the researcher left
//! it, validate every row (reporting every problem with sheet, row and column before anything
//! is sent), split rows by `splitDateRange`, and run the orders. `--dry-run` prints the tasks
//! instead, validating against what the plan step recorded (no server needed) unless `--live`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde_json::json;

use super::discover::client_for;
use super::{GlobalArgs, Outcome, Settings};
use crate::api::format_onc;
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
    let _settings = settings.context("settings were resolved for a live run")?;
    anyhow::bail!(
        "{} task(s) validated, but this build has no download engine yet: use --dry-run",
        tasks.len()
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
