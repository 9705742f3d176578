//! `onc-hydro archive list …` and `archive get …`: archived files by device or by location +
//! device category, over `[--from, --to)`, optionally filtered by extension on the server.
//! `get` writes `NAME.part` then renames; files already present with the listed size are
//! skipped; names with path separators or `..` are refused. Also the shared file-saving helper
//! used by `order`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::io::AsyncWriteExt;

use super::discover::{client_for, print_table};
use super::{GlobalArgs, Outcome, Settings};
use crate::api::{self, ApiError, ArchiveFile, ArchiveQuery, Client, FileBody, ReturnOptions};

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
pub struct GetArgs {
    /// File names to download; without names, everything the listing flags find.
    pub names: Vec<String>,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output folder (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Files downloaded at the same time.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub parallel: u16,
    /// Attempts per file on transient failures (5xx, timeouts, cut connections).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub attempts: u32,
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
    let listing = client
        .archive_list(&query)
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

async fn get(global: &GlobalArgs, args: GetArgs) -> anyhow::Result<Outcome> {
    if !args.names.is_empty() && args.source.has_source() {
        bail!("give either file names or --device/--location listing flags, not both");
    }
    if args.names.is_empty() && !args.source.has_source() {
        bail!("nothing to get: give file names, or --device D / --location L --device-category C");
    }
    for n in &args.names {
        check_safe_name(n)?;
    }
    let settings = Settings::resolve(global).await?;
    let client = client_for(&settings)?;
    let wanted: Vec<ArchiveFile> = if args.names.is_empty() {
        let q = args.source.query()?.return_options(ReturnOptions::All);
        client
            .archive_list(&q)
            .await
            .context("listing archive files")?
            .files
    } else {
        args.names.iter().map(ArchiveFile::named).collect()
    };
    tokio::fs::create_dir_all(&args.out)
        .await
        .with_context(|| format!("creating {}", args.out.display()))?;
    let backoff = retry_pause(global);
    let started = Instant::now();
    let results: Vec<FileResult> = futures_util::stream::iter(wanted)
        .map(|f| {
            let client = client.clone();
            let out = args.out.clone();
            async move { fetch_archive_file(&client, &f, &out, args.attempts, backoff).await }
        })
        .buffer_unordered(args.parallel as usize)
        .collect()
        .await;
    report(&settings, &results, started.elapsed())
}

/// Pause between attempts: 1 s against ONC, scaled down with the simulator's time scale.
pub fn retry_pause(global: &GlobalArgs) -> Duration {
    if global.sim {
        Duration::from_secs_f64((global.sim_time_scale).clamp(0.001, 1.0))
    } else {
        Duration::from_secs(1)
    }
}

async fn fetch_archive_file(
    client: &Client,
    file: &ArchiveFile,
    out: &Path,
    attempts: u32,
    pause: Duration,
) -> FileResult {
    let name = file.filename.clone();
    let fail = |e: String| FileResult {
        name: file.filename.clone(),
        status: "failed",
        bytes: 0,
        error: Some(e),
    };
    if let Err(e) = check_safe_name(&name) {
        return fail(format!("{e:#}"));
    }
    if let Some(size) = existing_size(out, &name).await {
        if file.download_size().map_or(size > 0, |want| want == size) {
            eprintln!("skipped {name} (already present, {size} bytes)");
            return FileResult {
                name,
                status: "skipped",
                bytes: size,
                error: None,
            };
        }
    }
    let mut last = String::new();
    for attempt in 1..=attempts {
        let result = match client.archive_download(&name).await {
            Ok(body) => save_body(body, out, &name).await,
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(bytes) => {
                eprintln!("downloaded {name} ({bytes} bytes)");
                return FileResult {
                    name,
                    status: "downloaded",
                    bytes,
                    error: None,
                };
            }
            Err(e) => {
                last = format!("{e:#}");
                let transient = e
                    .downcast_ref::<ApiError>()
                    .is_some_and(ApiError::is_transient);
                if !transient || attempt == attempts {
                    break;
                }
                eprintln!("retrying {name} after: {last}");
                tokio::time::sleep(pause * attempt).await;
            }
        }
    }
    eprintln!("failed {name}: {last}");
    fail(last)
}

fn report(
    settings: &Settings,
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
    if settings.json {
        let summary = serde_json::json!({
            "downloaded": done, "skipped": skipped, "failed": failed,
            "bytes": bytes, "seconds": elapsed.as_secs_f64(), "files": results,
        });
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "downloaded {done}, skipped {skipped}, failed {failed}; {bytes} bytes in {:.1} s",
            elapsed.as_secs_f64()
        );
    }
    Ok(if failed > 0 {
        Outcome::SomeFailed
    } else {
        Outcome::AllDone
    })
}

/// Refuses names that could escape the output folder.
pub fn check_safe_name(name: &str) -> anyhow::Result<()> {
    let bad = name.is_empty()
        || name == "."
        || name.contains("..")
        || name.contains(['/', '\\', '\0', ':'])
        || name.trim() != name;
    if bad {
        bail!("refusing unsafe file name \"{name}\" (path separators, `..` or blanks)");
    }
    Ok(())
}

/// Size of `dir/name` if it exists as a file.
pub async fn existing_size(dir: &Path, name: &str) -> Option<u64> {
    let meta = tokio::fs::metadata(dir.join(name)).await.ok()?;
    meta.is_file().then_some(meta.len())
}

/// Streams `body` into `dir/name.part`, syncs, then renames it to `dir/name`. The `.part` file
/// is removed on failure.
pub async fn save_body(body: FileBody, dir: &Path, name: &str) -> anyhow::Result<u64> {
    check_safe_name(name)?;
    let final_path = dir.join(name);
    let part = dir.join(format!("{name}.part"));
    let result = async {
        let file = tokio::fs::File::create(&part)
            .await
            .with_context(|| format!("creating {}", part.display()))?;
        let mut w = tokio::io::BufWriter::with_capacity(256 * 1024, file);
        let bytes = body.write_to(&mut w).await?;
        w.flush().await?;
        let file = w.into_inner();
        file.sync_all()
            .await
            .with_context(|| format!("syncing {}", part.display()))?;
        drop(file);
        tokio::fs::rename(&part, &final_path)
            .await
            .with_context(|| format!("renaming {} into place", part.display()))?;
        anyhow::Ok(bytes)
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&part).await;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_are_refused() {
        for bad in ["", "..", "../x", "a/b", "a\\b", "x..y", " a", "C:x"] {
            assert!(check_safe_name(bad).is_err(), "{bad:?}");
        }
        for good in [
            "ICLISTENHF6324_20240401T000136.029Z.flac",
            "BPR-Folger-59_20191123T000000.000Z.txt",
            "a_META.xml",
        ] {
            assert!(check_safe_name(good).is_ok(), "{good}");
        }
    }
}
