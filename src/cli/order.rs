//! `onc-hydro order`: one data product, the way ONC's `orderDataProduct` does it — request,
//! run, then download every file (index 1, 2, … until 404) and the `meta` file, polling 202
//! answers at ONC's poll period (§3.7: 2 % of the estimate, clamped to 1–10 s; 2 s without
//! one). Files already in `--out` are skipped, so re-running (or `--run-id R` to reuse a run)
//! resumes at file level. Prints a summary; exit code 1 when some files failed.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;

use super::archive::{check_safe_name, existing_size, parse_time_opt, save_body};
use super::discover::{client_for, parse_key_value};
use super::{GlobalArgs, Outcome, Settings};
use crate::api::{
    self, Client, DataProductOrder, DataSource, DownloadIndex, DownloadOutcome, RequestEstimate,
    RunId, RunStatus,
};

/// Transient errors (5xx, timeouts, cut bodies) tolerated per file before giving up.
const MAX_TRANSIENT: u32 = 5;
/// 410 answers tolerated per file (ONC sends 410 briefly while a file is being transferred).
const MAX_GONE: u32 = 5;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  onc-hydro --sim order --device ICLISTENHF6324 --product HSD --ext mat \\\n    \
--from 2024-04-01T00:00:00Z --to 2024-04-01T00:15:00Z --option dpo_spectralDataDownsample=0 --out hsd/"
)]
pub struct OrderArgs {
    /// Device code (or use --location with --device-category / --property).
    #[arg(long, conflicts_with = "location")]
    pub device: Option<String>,
    /// Location code.
    #[arg(long)]
    pub location: Option<String>,
    /// Device category code (with --location).
    #[arg(long = "device-category")]
    pub device_category: Option<String>,
    /// Property code (with --device or --location).
    #[arg(long)]
    pub property: Option<String>,
    /// Data product code, e.g. HSD, AD, TSSD.
    #[arg(long, required_unless_present = "run_id")]
    pub product: Option<String>,
    /// File extension of the product, e.g. mat, png, flac (exact, case-sensitive).
    #[arg(long, required_unless_present = "run_id")]
    pub ext: Option<String>,
    /// Start (inclusive), UTC.
    #[arg(long, required_unless_present = "run_id")]
    pub from: Option<String>,
    /// End (exclusive), UTC.
    #[arg(long, required_unless_present = "run_id")]
    pub to: Option<String>,
    /// A data product option `dpo_name=value` (repeatable).
    #[arg(long = "option", value_name = "DPO=VALUE", value_parser = parse_key_value)]
    pub options: Vec<(String, String)>,
    /// Output folder (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Download the files of an existing run instead of ordering again (repeatable).
    #[arg(long = "run-id")]
    pub run_id: Vec<u64>,
    /// Skip the `*_META.xml` file.
    #[arg(long)]
    pub no_meta: bool,
    /// Give up on a file after this many download requests (0 = never).
    #[arg(long, default_value_t = 0)]
    pub max_polls: u32,
    /// Override the poll period (milliseconds).
    #[arg(long, hide = true)]
    pub poll_ms: Option<u64>,
}

/// One file of the order.
#[derive(Debug, Clone, Serialize)]
struct OrderFile {
    run_id: u64,
    index: String,
    name: Option<String>,
    /// `downloaded`, `skipped`, `failed`, `no data`, `gone`.
    status: &'static str,
    bytes: u64,
    requests: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// How polling one index ended.
enum Step {
    File(OrderFile),
    End,
}

impl OrderArgs {
    fn order(&self) -> anyhow::Result<DataProductOrder> {
        let source = match (&self.device, &self.location) {
            (Some(d), None) => {
                if self.device_category.is_some() {
                    bail!("--device-category goes with --location, not --device");
                }
                DataSource::Device {
                    device: d.as_str().into(),
                    property: self.property.as_deref().map(Into::into),
                }
            }
            (None, Some(l)) => DataSource::Location {
                location: l.as_str().into(),
                device_category: self.device_category.as_deref().map(Into::into),
                property: self.property.as_deref().map(Into::into),
            },
            _ => bail!("give --device D, or --location L with --device-category C"),
        };
        let (Some(product), Some(ext)) = (&self.product, &self.ext) else {
            bail!("--product and --ext are required to order");
        };
        let from = parse_time_opt("--from", self.from.as_deref())?.context("--from is required")?;
        let to = parse_time_opt("--to", self.to.as_deref())?.context("--to is required")?;
        let mut order = DataProductOrder::new(product.as_str(), ext.as_str(), source, from, to);
        for (k, v) in &self.options {
            if !k.starts_with("dpo_") {
                bail!("--option {k}={v}: data product options start with dpo_");
            }
            order = order.with_option(k.as_str(), v.as_str());
        }
        order.to_params().context("checking the order")?;
        Ok(order)
    }
}

pub async fn run(global: &GlobalArgs, args: OrderArgs) -> anyhow::Result<Outcome> {
    let order = if args.run_id.is_empty() {
        Some(args.order()?)
    } else {
        None
    };
    let settings = Settings::resolve(global).await?;
    let client = client_for(&settings)?;
    tokio::fs::create_dir_all(&args.out)
        .await
        .with_context(|| format!("creating {}", args.out.display()))?;
    let started = Instant::now();
    let scale = if global.sim {
        global.sim_time_scale.clamp(0.0, 1.0)
    } else {
        1.0
    };
    let (request_id, runs, mut poll) = match order {
        None => (
            None,
            args.run_id.iter().map(|&r| RunId(r)).collect::<Vec<_>>(),
            api::onc_poll_period(None),
        ),
        Some(order) => {
            let req = client
                .request(&order)
                .await
                .context("requesting the data product")?;
            let estimate = req.processing_time();
            match req.estimate() {
                RequestEstimate::Estimated { file_size, .. } => eprintln!(
                    "request {}: estimated {} to process, {}",
                    req.dp_request_id,
                    req.estimated_processing_time.as_deref().unwrap_or("?"),
                    file_size.as_deref().unwrap_or("unknown size")
                ),
                RequestEstimate::AlreadyArchived { file_size, .. } => eprintln!(
                    "request {}: already archived ({} bytes)",
                    req.dp_request_id,
                    file_size.map_or("?".into(), |s| s.to_string())
                ),
            }
            for m in req.message_texts() {
                eprintln!("  ONC: {m}");
            }
            let run = client
                .run(req.dp_request_id)
                .await
                .context("starting the run")?;
            if run.runs.is_empty() {
                bail!("ONC started no run for request {}", req.dp_request_id);
            }
            eprintln!(
                "run(s) {}",
                run.run_ids()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            (
                Some(req.dp_request_id),
                run.run_ids(),
                api::onc_poll_period(estimate),
            )
        }
    };
    poll = poll.mul_f64(scale).max(Duration::from_millis(5));
    if let Some(ms) = args.poll_ms {
        poll = Duration::from_millis(ms);
    }
    let mut files = Vec::new();
    let mut meta_problems = Vec::new();
    for &run in &runs {
        let mut index = 1u32;
        loop {
            match fetch(&client, run, DownloadIndex::File(index), &args, poll).await {
                Step::End => break,
                Step::File(f) => {
                    let stop = !matches!(f.status, "downloaded" | "skipped");
                    files.push(f);
                    if stop {
                        break;
                    }
                    index += 1;
                }
            }
        }
        if !args.no_meta {
            match fetch(&client, run, DownloadIndex::Meta, &args, poll).await {
                Step::File(f) if matches!(f.status, "downloaded" | "skipped") => files.push(f),
                Step::File(f) => {
                    eprintln!("warning: metadata file of run {run}: {}", f.status);
                    meta_problems.push(f);
                }
                Step::End => eprintln!("warning: run {run} has no metadata file"),
            }
        }
    }
    summarize(
        &settings,
        request_id,
        &runs,
        &files,
        &meta_problems,
        started.elapsed(),
    )
}

/// Polls one index until it is saved, skipped, absent or failed.
async fn fetch(
    client: &Client,
    run: RunId,
    index: DownloadIndex,
    args: &OrderArgs,
    poll: Duration,
) -> Step {
    let mut requests = 0u32;
    let mut transient = 0u32;
    let mut gone = 0u32;
    let mut last_message: Option<String> = None;
    let file = |status, name: Option<String>, bytes, requests, error: Option<String>| {
        Step::File(OrderFile {
            run_id: run.0,
            index: index.to_string(),
            name,
            status,
            bytes,
            requests,
            error,
        })
    };
    loop {
        if args.max_polls > 0 && requests >= args.max_polls {
            return file(
                "failed",
                None,
                0,
                requests,
                Some(format!("not ready after {requests} requests (--max-polls)")),
            );
        }
        requests += 1;
        let error = match client.download(run, index).await {
            Ok(DownloadOutcome::Ready(body)) => {
                let name = body
                    .file_name()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("run{run}_{index}"));
                if let Err(e) = check_safe_name(&name) {
                    return file("failed", Some(name), 0, requests, Some(format!("{e:#}")));
                }
                if let Some(size) = existing_size(&args.out, &name).await {
                    if body.content_length().map_or(size > 0, |len| len == size) {
                        drop(body);
                        eprintln!("skipped {name} (already present)");
                        return file("skipped", Some(name), size, requests, None);
                    }
                }
                match save_body(body, &args.out, &name).await {
                    Ok(bytes) => {
                        eprintln!("downloaded {name} ({bytes} bytes)");
                        return file("downloaded", Some(name), bytes, requests, None);
                    }
                    Err(e) => e,
                }
            }
            Ok(DownloadOutcome::NotReady { status, message }) => {
                if status == RunStatus::Error {
                    let m = message.unwrap_or_else(|| "run reported an error".into());
                    return file("failed", None, 0, requests, Some(m));
                }
                let text = message.unwrap_or_else(|| "Generating".into());
                if last_message.as_deref() != Some(text.as_str()) {
                    eprintln!("run {run} file {index}: {text}");
                    last_message = Some(text);
                }
                tokio::time::sleep(poll).await;
                continue;
            }
            Ok(DownloadOutcome::NoData { message }) => {
                eprintln!(
                    "run {run}: no data{}",
                    message.map(|m| format!(" ({m})")).unwrap_or_default()
                );
                return file("no data", None, 0, requests, None);
            }
            Ok(DownloadOutcome::End) => return Step::End,
            Ok(DownloadOutcome::Gone { message }) => {
                gone += 1;
                if gone > MAX_GONE {
                    return file("gone", None, 0, requests, message);
                }
                tokio::time::sleep(poll).await;
                continue;
            }
            Err(e) => anyhow::Error::from(e),
        };
        let is_transient = error
            .downcast_ref::<api::ApiError>()
            .is_some_and(api::ApiError::is_transient);
        transient += 1;
        if !is_transient || transient > MAX_TRANSIENT {
            return file("failed", None, 0, requests, Some(format!("{error:#}")));
        }
        eprintln!("run {run} file {index}: retrying after {error:#}");
        tokio::time::sleep(poll * transient).await;
    }
}

fn summarize(
    settings: &Settings,
    request_id: Option<api::RequestId>,
    runs: &[RunId],
    files: &[OrderFile],
    meta_problems: &[OrderFile],
    elapsed: Duration,
) -> anyhow::Result<Outcome> {
    let count = |s: &str| files.iter().filter(|f| f.status == s).count();
    let (done, skipped) = (count("downloaded"), count("skipped"));
    let failed = files
        .iter()
        .filter(|f| matches!(f.status, "failed" | "gone"))
        .count();
    let bytes: u64 = files
        .iter()
        .filter(|f| f.status == "downloaded")
        .map(|f| f.bytes)
        .sum();
    let requests: u32 = files.iter().chain(meta_problems).map(|f| f.requests).sum();
    if settings.json {
        let v = serde_json::json!({
            "requestId": request_id.map(|r| r.0),
            "runIds": runs.iter().map(|r| r.0).collect::<Vec<_>>(),
            "downloaded": done, "skipped": skipped, "failed": failed, "bytes": bytes,
            "downloadRequests": requests, "seconds": elapsed.as_secs_f64(),
            "files": files, "metaProblems": meta_problems,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for f in files.iter().filter(|f| f.error.is_some()) {
            println!(
                "  {} file {}: {}",
                f.status,
                f.index,
                f.error.as_deref().unwrap_or("")
            );
        }
        println!(
            "order{}: downloaded {done}, skipped {skipped}, failed {failed}; {bytes} bytes, \
             {requests} download requests, {:.1} s",
            request_id.map(|r| format!(" {r}")).unwrap_or_default(),
            elapsed.as_secs_f64()
        );
    }
    Ok(if failed > 0 {
        Outcome::SomeFailed
    } else {
        Outcome::AllDone
    })
}
