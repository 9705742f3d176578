//! `onc-hydro ooi …`: OOI's M2M service. `discover` walks the inventory (sites → nodes →
//! sensors → methods → streams) and deployments; `request` plans one asynchronous NetCDF
//! request (or a batch file of them) into the ledger of `--out` and runs it on the resumable
//! engine: the request UUID is recorded before anything else, `status.txt` is polled with a
//! growing interval, then every NetCDF file of the THREDDS catalog is downloaded and verified.
//! `status`, `resume` and `cancel` work on the same ledger.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use jiff::Timestamp;

use super::resume::{open, read_json_items, EngineArgs};
use super::{GlobalArgs, Outcome, Settings};
use crate::engine::{OoiSpec, TaskSpec};
use crate::ooi::RefDes;

/// `ooi` subcommands.
#[derive(Debug, Subcommand)]
pub enum OoiCommand {
    /// Walk OOI's inventory: sites, nodes, sensors, methods and streams, deployments.
    Discover(DiscoverArgs),
    /// Request NetCDF data asynchronously and download every file, resumably.
    Request(Box<RequestArgs>),
}

/// `ooi discover`.
#[derive(Debug, Args)]
#[command(
    long_about = "Walk OOI's M2M inventory. Without flags: the sites; --site: its nodes; --site and \
--node: their sensors; --refdes: the instrument's delivery methods and their streams (and, with \
--deployments, its deployments with start and stop times).\n\nCredentials: --ooi-username and \
--ooi-token, OOI_USERNAME and OOI_TOKEN (environment or .env), or ~/.netrc \
(`machine ooinet.oceanobservatories.org login <username> password <token>`). The token is never printed.",
    after_help = "Examples:\n  onc-hydro --sim ooi discover\n  \
onc-hydro --sim ooi discover --site RS03CCAL --node MJ03F\n  \
onc-hydro --sim ooi discover --refdes RS03CCAL-MJ03F-05-BOTPTA301 --deployments"
)]
pub struct DiscoverArgs {
    /// A site, e.g. RS03CCAL.
    #[arg(long)]
    pub site: Option<String>,
    /// A node of --site, e.g. MJ03F.
    #[arg(long, requires = "site")]
    pub node: Option<String>,
    /// An instrument, e.g. RS03CCAL-MJ03F-05-BOTPTA301.
    #[arg(long, conflicts_with_all = ["site", "node"])]
    pub refdes: Option<String>,
    /// With --refdes: also list the deployments.
    #[arg(long, requires = "refdes")]
    pub deployments: bool,
}

/// `ooi request`.
#[derive(Debug, Args)]
#[command(
    long_about = "Request NetCDF data of one instrument stream from OOI's M2M service and download \
every file into --out, on the resumable engine (ledger.sqlite, summary.json). The request is \
asynchronous: OOI answers at once with a request UUID and a THREDDS catalog, writes the files, and \
writes status.txt when done. The UUID is committed to the ledger before anything else, so a crash \
or Ctrl-C loses nothing: running the same command again (or `onc-hydro resume DIR`) re-attaches to \
the same request and never submits it twice. status.txt is polled with a growing interval (up to \
--poll-max); a request still unfinished after --max-wait (per request in a batch: max_wait_s) \
fails but keeps its UUID, and `resume DIR --retry-failed` waits for it again.\n\n\
Each file goes to DIR/<refdes>-<method>-<stream>/ through a temporary .part file, is checked \
(size, NetCDF magic number) and renamed into place.\n\n\
Politeness: OOI asks users not to flood M2M. Defaults: at most 4 requests on the server at once \
(--run-slots), 2 s between submissions (--stagger), 10 requests per second overall (--max-rps).\n\n\
A batch file holds a JSON array (or one JSON object per line) of requests:\n  \
{\"refdes\":\"RS03CCAL-MJ03F-05-BOTPTA301\",\"method\":\"streamed\",\"stream\":\"botpt_nano_sample\",\n   \
\"from\":\"2024-01-01T00:00:00Z\",\"to\":\"2024-01-02T00:00:00Z\",\"max_wait_s\":7200}",
    after_help = "Examples:\n  onc-hydro --sim ooi request --refdes RS03CCAL-MJ03F-05-BOTPTA301 --method streamed \\\n    \
--stream botpt_nano_sample --from 2024-01-01T00:00:00Z --to 2024-01-01T06:00:00Z --out botpt/\n  \
onc-hydro status botpt/      # from another terminal\n  \
onc-hydro resume botpt/      # after a crash: re-attaches to the same request"
)]
pub struct RequestArgs {
    /// The instrument, e.g. RS03CCAL-MJ03F-05-BOTPTA301.
    #[arg(long, required_unless_present = "batch", requires_all = ["method", "stream"])]
    pub refdes: Option<String>,
    /// Delivery method, e.g. streamed, telemetered, recovered_inst.
    #[arg(long)]
    pub method: Option<String>,
    /// Stream, e.g. botpt_nano_sample.
    #[arg(long)]
    pub stream: Option<String>,
    /// Start (UTC, e.g. 2024-01-01T00:00:00Z); default: the start of the record.
    #[arg(long)]
    pub from: Option<Timestamp>,
    /// End (UTC); default: now.
    #[arg(long)]
    pub to: Option<Timestamp>,
    /// A JSON file of requests instead of --refdes/--method/--stream.
    #[arg(long, value_name = "FILE", conflicts_with = "refdes")]
    pub batch: Option<PathBuf>,
    /// Also download the provenance and annotation files.
    #[arg(long)]
    pub ancillary: bool,
    /// Output folder (ledger.sqlite, summary.json, one sub-folder per request).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Only plan into the ledger (run later with `resume DIR`).
    #[arg(long)]
    pub plan_only: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
}

pub async fn run(global: &GlobalArgs, cmd: OoiCommand) -> anyhow::Result<Outcome> {
    match cmd {
        OoiCommand::Discover(a) => discover(global, a).await,
        OoiCommand::Request(a) => request(global, *a).await,
    }
}

fn show(json: bool, title: &str, items: &[String]) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(items)?);
    } else {
        println!("{title} ({}):", items.len());
        for i in items {
            println!("  {i}");
        }
    }
    Ok(())
}

async fn discover(global: &GlobalArgs, a: DiscoverArgs) -> anyhow::Result<Outcome> {
    let settings = Settings::resolve_lenient(global).await?;
    let client = settings.ooi_client()?;
    if let Some(r) = &a.refdes {
        let refdes = RefDes::parse(r)?;
        let mut out = serde_json::Map::new();
        for m in client.methods(&refdes).await? {
            let streams = client.streams(&refdes, &m).await?;
            out.insert(m, serde_json::json!(streams));
        }
        let mut deployments = Vec::new();
        if a.deployments {
            for n in client.deployment_numbers(&refdes).await? {
                deployments.extend(client.deployment(&refdes, n).await?);
            }
        }
        if settings.json {
            let v = serde_json::json!({"refdes": refdes.to_string(), "methods": out,
                "deployments": deployments});
            println!("{}", serde_json::to_string_pretty(&v)?);
            return Ok(Outcome::AllDone);
        }
        println!("{refdes}");
        for (m, streams) in &out {
            let list: Vec<String> = serde_json::from_value(streams.clone()).unwrap_or_default();
            let text = if list.is_empty() {
                "(no NetCDF streams)".to_string()
            } else {
                list.join(", ")
            };
            println!("  {m}: {text}");
        }
        for d in &deployments {
            let t = |x: Option<Timestamp>| x.map(|t| format!("{t:.0}")).unwrap_or("now".into());
            println!(
                "  deployment {}: {} → {}{}",
                d.number,
                t(d.start),
                t(d.stop),
                d.depth
                    .map(|z| format!(", depth {z} m"))
                    .unwrap_or_default()
            );
        }
        return Ok(Outcome::AllDone);
    }
    match (&a.site, &a.node) {
        (Some(s), Some(n)) => show(settings.json, "sensors", &client.sensors(s, n).await?)?,
        (Some(s), None) => show(settings.json, "nodes", &client.nodes(s).await?)?,
        _ => show(settings.json, "sites", &client.sites().await?)?,
    }
    Ok(Outcome::AllDone)
}

fn read_batch(path: &Path) -> anyhow::Result<Vec<OoiSpec>> {
    read_json_items(path, "OOI requests", "an OOI request")
}

async fn request(global: &GlobalArgs, a: RequestArgs) -> anyhow::Result<Outcome> {
    let mut specs = match &a.batch {
        Some(p) => read_batch(p)?,
        None => vec![OoiSpec {
            refdes: a.refdes.clone().unwrap_or_default(),
            method: a.method.clone().unwrap_or_default(),
            stream: a.stream.clone().unwrap_or_default(),
            from: a.from,
            to: a.to,
            ancillary: a.ancillary,
            max_wait_s: None,
            folder: None,
        }],
    };
    for s in &mut specs {
        s.ancillary |= a.ancillary;
        if s.folder.is_none() {
            s.folder = Some(format!(
                "{}-{}-{}",
                s.refdes.trim(),
                s.method.trim(),
                s.stream.trim()
            ));
        }
    }
    let tasks: Vec<TaskSpec> = specs.into_iter().map(TaskSpec::Ooi).collect();
    let engine = open(&a.out, global, &a.engine)?;
    let report = engine.plan(&tasks)?;
    if !global.json {
        eprintln!(
            "planned {} OOI requests: {} new, {} already in the ledger, {} revived",
            tasks.len(),
            report.added,
            report.already_planned,
            report.revived
        );
    }
    if a.plan_only {
        return Ok(Outcome::AllDone);
    }
    super::resume::execute(engine, global, a.engine.quiet).await
}
