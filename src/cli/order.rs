//! `onc-hydro order`: one data product, the way ONC's `orderDataProduct` does it — request,
//! run, then download every file and the `meta` file — as an engine command: the order is one
//! task in `<out>/ledger.sqlite`, run by the engine's scheduler (request-rate cap, run and
//! download slots, retries, polling that starts at the server's estimate and backs off up to
//! `--poll-max`, a per-job maximum wait after which the job is cancelled and requested again,
//! `.part` → verify → rename, `summary.json`). `status`, `resume` and `cancel` work on the
//! folder; running the same command again re-attaches to the recorded job instead of ordering
//! twice, and verified files are never fetched again. `--run-id R` downloads the files of runs
//! that exist already. Prints a summary; exit code 1 when some files failed.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;

use super::archive::parse_time_opt;
use super::discover::parse_key_value;
use super::engine_cmd::run_batch;
use super::resume::EngineArgs;
use super::{GlobalArgs, Outcome, Settings};
use crate::api::{DataProductOrder, DataSource};
use crate::engine::{FileState, OrderSpec, RunSpec, TaskSpec, TaskState};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  onc-hydro --sim order --device ICLISTENHF6324 --product HSD --ext mat \\\n    \
--from 2024-04-01T00:00:00Z --to 2024-04-01T00:15:00Z --option dpo_spectralDataDownsample=0 --out hsd/\n  \
onc-hydro order --run-id 12345 --out hsd/ --max-wait 3600   # files of an existing run\n  \
onc-hydro status hsd/   # from another terminal"
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
    /// Output folder (created if missing; holds ledger.sqlite and summary.json).
    #[arg(long)]
    pub out: PathBuf,
    /// Download the files of an existing run instead of ordering again (repeatable).
    #[arg(long = "run-id")]
    pub run_id: Vec<u64>,
    /// Skip the `*_META.xml` file.
    #[arg(long)]
    pub no_meta: bool,
    /// Replaced by --max-wait (seconds a job may take on the server).
    #[arg(long, hide = true)]
    pub max_polls: Option<u32>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// One file of the order, as the ledger holds it.
#[derive(Debug, Clone, Serialize)]
struct OrderFile {
    run_id: u64,
    index: String,
    name: Option<String>,
    /// `downloaded`, `skipped`, `failed` or `pending`.
    status: &'static str,
    bytes: u64,
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

impl OrderArgs {
    fn spec(&self) -> anyhow::Result<TaskSpec> {
        if self.run_id.is_empty() {
            Ok(TaskSpec::Order(
                OrderSpec::new(self.order()?).with_meta(!self.no_meta),
            ))
        } else {
            Ok(TaskSpec::Run(RunSpec {
                run_ids: self.run_id.clone(),
                include_meta: !self.no_meta,
                folder: None,
            }))
        }
    }
}

pub async fn run(global: &GlobalArgs, args: OrderArgs) -> anyhow::Result<Outcome> {
    if args.max_polls.is_some() {
        bail!("--max-polls was replaced by --max-wait SECONDS (how long a job may take on the server) and --poll-max SECONDS");
    }
    let spec = args.spec()?;
    spec.validate()?;
    let settings = Settings::resolve(global).await?;
    let started = Instant::now();
    let batch = run_batch(
        global,
        &settings,
        &args.out,
        &args.engine,
        std::slice::from_ref(&spec),
    )
    .await?;
    let row = batch
        .rows
        .get(&spec.key())
        .context("the order is missing from the ledger")?;
    let stored = batch.log.stored();
    let files: Vec<OrderFile> = batch
        .engine
        .ledger()
        .files_of(row.id)?
        .into_iter()
        .map(|f| {
            let fresh = f.name.as_ref().and_then(|n| stored.get(n)).is_some();
            OrderFile {
                run_id: f.run_id,
                index: f.index,
                status: match f.state {
                    FileState::Done if fresh => "downloaded",
                    FileState::Done => "skipped",
                    FileState::Failed => "failed",
                    FileState::Pending => "pending",
                },
                bytes: f.size.unwrap_or(0),
                name: f.name,
            }
        })
        .collect();
    let count = |s: &str| files.iter().filter(|f| f.status == s).count();
    let (done, skipped) = (count("downloaded"), count("skipped"));
    let failed = files.len() - done - skipped;
    let bytes: u64 = files
        .iter()
        .filter(|f| f.status == "downloaded")
        .map(|f| f.bytes)
        .sum();
    let finished = row.state == TaskState::Done;
    let request_id = row.request_id.map(|r| r.0);
    let run_ids: Vec<u64> = match &spec {
        TaskSpec::Run(r) => r.run_ids.clone(),
        _ => row.run_ids.iter().map(|r| r.0).collect(),
    };
    let elapsed = started.elapsed().as_secs_f64();
    if settings.json {
        let v = serde_json::json!({
            "key": row.key.to_string(),
            "state": row.state,
            "reason": row.reason,
            "requestId": request_id,
            "runIds": run_ids,
            "downloaded": done, "skipped": skipped, "failed": failed, "bytes": bytes,
            "requests": batch.summary.requests, "retries": batch.summary.retries,
            "seconds": elapsed, "files": files,
            "ledger": batch.engine.ledger().path().display().to_string(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        if let Some(reason) = row.reason.as_deref().filter(|_| !finished) {
            println!("  {}: {reason}", row.state);
        }
        println!(
            "order{} {}: downloaded {done}, skipped {skipped}, failed {failed}; {bytes} bytes, \
             {} requests, {elapsed:.1} s",
            request_id.map(|r| format!(" {r}")).unwrap_or_default(),
            row.key,
            batch.summary.total_requests(),
        );
        println!("ledger: {}", batch.engine.ledger().path().display());
    }
    Ok(if finished && failed == 0 {
        Outcome::AllDone
    } else {
        Outcome::SomeFailed
    })
}
