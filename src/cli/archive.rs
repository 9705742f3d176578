//! `onc-hydro archive list …` and `archive get …`: archived files by device or by location +
//! device category, over `[--from, --to)`, optionally filtered by extension on the server.
//! `get` is an engine command: every file becomes an archive task in `<out>/ledger.sqlite`, run
//! by the engine's scheduler (request-rate cap, download slots, retries, `.part` → verify →
//! rename, `summary.json`), so `status`, `resume` and `cancel` work on its folder; files the
//! ledger holds as verified are skipped. `list` is a plain listing (no ledger).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::discover::{client_for, print_table};
use super::engine_cmd::run_batch;
use super::resume::EngineArgs;
use super::{GlobalArgs, Outcome, Settings};
use crate::api::{self, ArchiveFile, ArchiveQuery, ReturnOptions};
use crate::engine::{with_retries, ArchiveSpec, EngineSettings, RetryPolicy, TaskSpec, TaskState};

#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// List archived files (every page).
    List(ListArgs),
    /// Download archived files by name, or everything a listing finds.
    Get(GetArgs),
}

/// Which files: a device, or a location + device category, a time range and an extension.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Device code, e.g. ICLISTENHF6324.
    #[arg(long, conflicts_with_all = ["location", "device_category"])]
    pub device: Option<String>,
    /// Location code (with --device-category).
    #[arg(long, requires = "device_category")]
    pub location: Option<String>,
    /// Device category code (with --location), e.g. HYDROPHONE.
    #[arg(long = "device-category", requires = "location")]
    pub device_category: Option<String>,
    /// Start (inclusive), `YYYY-MM-DDTHH:MM:SS[.sss]Z` or `YYYY-MM-DD`, UTC.
    #[arg(long)]
    pub from: Option<String>,
    /// End (exclusive), same formats.
    #[arg(long)]
    pub to: Option<String>,
    /// Only files with this extension (filtered by the server), e.g. flac, mat, png.
    #[arg(long)]
    pub ext: Option<String>,
}

impl SourceArgs {
    fn has_source(&self) -> bool {
        self.device.is_some() || self.location.is_some()
    }

    fn query(&self) -> anyhow::Result<ArchiveQuery> {
        let mut q = match (&self.device, &self.location, &self.device_category) {
            (Some(d), None, None) => ArchiveQuery::device(d.as_str()),
            (None, Some(l), Some(c)) => ArchiveQuery::location(l.as_str(), c.as_str()),
            _ => bail!("give --device D, or --location L with --device-category C"),
        };
        q.date_from = parse_time_opt("--from", self.from.as_deref())?;
        q.date_to = parse_time_opt("--to", self.to.as_deref())?;
        if let Some(ext) = &self.ext {
            q = q.extension(ext.as_str());
        }
        Ok(q)
    }
}

/// Parses an optional time flag, naming the flag in the error.
pub fn parse_time_opt(flag: &str, v: Option<&str>) -> anyhow::Result<Option<jiff::Timestamp>> {
    v.map(|s| api::parse_onc(s).with_context(|| format!("bad {flag}")))
        .transpose()
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Only file names (no sizes or times from `returnOptions=all`).
    #[arg(long)]
    pub names_only: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  onc-hydro --sim archive get --device ICLISTENHF6324 --ext flac \\\n    \
--from 2024-04-01T00:00:00Z --to 2024-04-01T00:15:00Z --out audio/\n  \
onc-hydro status audio/     # the ledger in audio/ holds every file's state\n  \
onc-hydro resume audio/     # after a crash or Ctrl-C"
)]
pub struct GetArgs {
    /// File names to download; without names, everything the listing flags find.
    pub names: Vec<String>,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output folder (created if missing; holds ledger.sqlite and summary.json).
    #[arg(long)]
    pub out: PathBuf,
    /// Files downloaded at the same time (the engine's download slots).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub parallel: u16,
    /// Attempts per file on transient failures (5xx, timeouts, cut connections).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub attempts: u32,
    /// Requests per second over all endpoints (0 = no cap; default 10, or what the ledger
    /// in --out holds).
    #[arg(long, value_name = "N")]
    pub max_rps: Option<f64>,
    /// Scale every wait as for a server running at this time scale (simulator testing;
    /// implied by --sim with --sim-time-scale).
    #[arg(long, hide = true, value_name = "SCALE")]
    pub server_time_scale: Option<f64>,
}

pub async fn run(global: &GlobalArgs, cmd: ArchiveCommand) -> anyhow::Result<Outcome> {
    match cmd {
        ArchiveCommand::List(a) => list(global, a).await,
        ArchiveCommand::Get(a) => get(global, a).await,
    }
}

async fn list(global: &GlobalArgs, args: ListArgs) -> anyhow::Result<Outcome> {
    let query = args.source.query()?.return_options(if args.names_only {
        ReturnOptions::Names
    } else {
        ReturnOptions::All
    });
    let settings = Settings::resolve(global).await?;
    let client = client_for(&settings)?;
    let listing = with_retries(&RetryPolicy::default(), report_listing_retry, || {
        client.archive_list(&query)
    })
    .await
    .context("listing archive files")?;
    if settings.json {
        println!("{}", serde_json::to_string_pretty(&listing.files)?);
    } else {
        let rows: Vec<Vec<String>> = listing
            .files
            .iter()
            .map(|f| {
                vec![
                    f.filename.clone(),
                    f.start().map(api::format_onc).unwrap_or_default(),
                    f.download_size().map(|s| s.to_string()).unwrap_or_default(),
                ]
            })
            .collect();
        print_table(&["filename", "start", "bytes"], &rows);
    }
    let total: u64 = listing
        .files
        .iter()
        .filter_map(ArchiveFile::download_size)
        .sum();
    eprintln!(
        "{} files, {} bytes listed, {} page(s)",
        listing.files.len(),
        total,
        listing.pages
    );
    Ok(Outcome::AllDone)
}

/// How one file ended.
#[derive(Debug, Clone, Serialize)]
pub struct FileResult {
    pub name: String,
    /// `downloaded`, `skipped` or `failed`.
    pub status: &'static str,
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl FileResult {
    fn failed(name: &str, error: String) -> FileResult {
        FileResult {
            name: name.to_string(),
            status: "failed",
            bytes: 0,
            error: Some(error),
        }
    }
}

async fn get(global: &GlobalArgs, args: GetArgs) -> anyhow::Result<Outcome> {
    if !args.names.is_empty() && args.source.has_source() {
        bail!("give either file names or --device/--location listing flags, not both");
    }
    if args.names.is_empty() && !args.source.has_source() {
        bail!("nothing to get: give file names, or --device D / --location L --device-category C");
    }
    let spec = |name: &str, size: Option<u64>| {
        TaskSpec::Archive(ArchiveSpec {
            filename: name.to_string(),
            size,
            folder: None,
        })
    };
    // Names given on the command line are checked before anything is sent.
    for n in &args.names {
        spec(n, None)
            .validate()
            .with_context(|| format!("refusing file name \"{n}\""))?;
    }
    let settings = Settings::resolve(global).await?;
    let wanted: Vec<ArchiveFile> = if args.names.is_empty() {
        let q = args.source.query()?.return_options(ReturnOptions::All);
        let client = client_for(&settings)?;
        // The listing is retried like every engine call (5xx, 429, timeouts, resets).
        let policy = args
            .server_time_scale
            .map(|s| EngineSettings::scaled(s).retry)
            .unwrap_or_default();
        with_retries(&policy, report_listing_retry, || client.archive_list(&q))
            .await
            .context("listing archive files")?
            .files
    } else {
        args.names.iter().map(ArchiveFile::named).collect()
    };
    let started = Instant::now();
    // A listed name that could escape --out fails on its own; the others are planned.
    let mut results = Vec::new();
    let mut specs = Vec::new();
    for f in &wanted {
        let s = spec(&f.filename, f.download_size());
        match s.validate() {
            Ok(()) => specs.push((f.filename.clone(), s)),
            Err(e) => {
                eprintln!("failed {}: {e}", f.filename);
                results.push(FileResult::failed(&f.filename, e.to_string()));
            }
        }
    }
    let engine_args = EngineArgs {
        download_slots: Some(usize::from(args.parallel)),
        max_attempts: Some(args.attempts),
        max_rps: args.max_rps,
        server_time_scale: args.server_time_scale,
        ..EngineArgs::default()
    };
    let all: Vec<TaskSpec> = specs.iter().map(|(_, s)| s.clone()).collect();
    let batch = run_batch(global, &settings, &args.out, &engine_args, &all).await?;
    let stored = batch.log.stored();
    for (name, s) in &specs {
        let Some(row) = batch.rows.get(&s.key()) else {
            results.push(FileResult::failed(name, "not in the ledger".into()));
            continue;
        };
        results.push(match row.state {
            TaskState::Done => match stored.get(name) {
                Some(&bytes) => FileResult {
                    name: name.clone(),
                    status: "downloaded",
                    bytes,
                    error: None,
                },
                None => FileResult {
                    name: name.clone(),
                    status: "skipped",
                    bytes: batch
                        .engine
                        .ledger()
                        .files_of(row.id)?
                        .first()
                        .and_then(|f| f.size)
                        .unwrap_or(0),
                    error: None,
                },
            },
            state => FileResult::failed(
                name,
                row.reason
                    .clone()
                    .unwrap_or_else(|| format!("the task is {state}")),
            ),
        });
    }
    report(&settings, &args.out, &results, started.elapsed())
}

fn report(
    settings: &Settings,
    out: &std::path::Path,
    results: &[FileResult],
    elapsed: Duration,
) -> anyhow::Result<Outcome> {
    let count = |s: &str| results.iter().filter(|r| r.status == s).count();
    let (done, skipped, failed) = (count("downloaded"), count("skipped"), count("failed"));
    let bytes: u64 = results
        .iter()
        .filter(|r| r.status == "downloaded")
        .map(|r| r.bytes)
        .sum();
    let ledger = out.join(crate::engine::LEDGER_FILE);
    if settings.json {
        let summary = serde_json::json!({
            "downloaded": done, "skipped": skipped, "failed": failed,
            "bytes": bytes, "seconds": elapsed.as_secs_f64(), "files": results,
            "ledger": ledger.display().to_string(),
        });
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "downloaded {done}, skipped {skipped}, failed {failed}; {bytes} bytes in {:.1} s",
            elapsed.as_secs_f64()
        );
        println!("ledger: {}", ledger.display());
    }
    Ok(if failed > 0 {
        Outcome::SomeFailed
    } else {
        Outcome::AllDone
    })
}

/// Tells the user that a listing call is retried, and why.
fn report_listing_retry(error: &api::ApiError, failures: u32, delay: Duration) {
    eprintln!("listing failed ({failures}), retrying in {delay:.1?}: {error}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_are_refused_by_the_engine_check() {
        for bad in ["", "..", "../x", "a/b", "a\\b", " a"] {
            let spec = TaskSpec::Archive(ArchiveSpec {
                filename: bad.into(),
                size: None,
                folder: None,
            });
            assert!(spec.validate().is_err(), "{bad:?}");
        }
    }
}
