//! `onc-hydro ooi …`: OOI's M2M service. `discover` walks the inventory (sites → nodes →
//! sensors → methods → streams) and deployments; `request` plans one asynchronous NetCDF
//! request (or a batch file of them) into the ledger of `--out` and runs it on the resumable
//! engine: the request UUID is recorded before anything else, `status.txt` is polled with a
//! growing interval, then every NetCDF file of the THREDDS catalog is downloaded and verified.
//! `raw` downloads broadband-hydrophone miniSEED files from the public raw-data archive (one
//! engine task per UTC day, each file decoded before it is kept). `status`, `resume` and
//! `cancel` work on the same ledger.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use jiff::Timestamp;

use super::resume::{open, read_json_items, EngineArgs};
use super::{GlobalArgs, Outcome, Settings};
use crate::engine::{OoiRawSpec, OoiSpec, TaskSpec};
use crate::ooi::{resolve_hydrophone, RefDes};

/// `ooi` subcommands.
#[derive(Debug, Subcommand)]
pub enum OoiCommand {
    /// Walk OOI's inventory: sites, nodes, sensors, methods and streams, deployments.
    Discover(DiscoverArgs),
    /// Request NetCDF data asynchronously and download every file, resumably.
    Request(Box<RequestArgs>),
    /// Download broadband-hydrophone miniSEED files from the raw-data archive, resumably.
    Raw(Box<RawArgs>),
    /// Decode miniSEED files: list their traces, optionally write the samples to NPZ.
    Mseed(MseedArgs),
}

/// `ooi mseed`.
#[derive(Debug, Args)]
#[command(
    long_about = "Decode miniSEED files completely (Steim-1/2, int16/32, float32/64; both byte \
orders) and list each file's traces: channel (NET.STA.LOC.CHA), first-sample time, sample rate \
and sample count. Records join into one trace while each starts within half a sample of where \
the previous one ended (libmseed's rule); a gap or an overlap starts a new trace.\n\n\
With --npz DIR each file's traces go to DIR/<file name>.npz: `trace0`, `trace1`, … (int64 \
samples, or float64), `start_ns` (first-sample times, ns since 1970 UTC) and `rate` (Hz), one \
entry per trace in the listed order (numpy.load reads it).",
    after_help = "Examples:\n  onc-hydro ooi mseed axial/RS03AXBS-LJ03A-09-HYDBBA302/*.mseed\n  \
onc-hydro --json ooi mseed file.mseed --npz dumped/"
)]
pub struct MseedArgs {
    /// miniSEED files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Write each file's traces to DIR/<file name>.npz.
    #[arg(long, value_name = "DIR")]
    pub npz: Option<PathBuf>,
}

/// `ooi raw`.
#[derive(Debug, Args)]
#[command(
    long_about = "Download the miniSEED files of one OOI broadband hydrophone (64 kHz) that overlap \
[--from, --to) from OOI's public raw-data archive (no credentials needed) into \
DIR/<refdes>/, on the resumable engine (ledger.sqlite, summary.json).\n\n\
The archive keeps one folder per day with files of about 5 minutes whose start times (in the \
names, to the microsecond) drift and are not on a grid; a file can hold several traces around \
gaps. The day folders are listed (the day before --from too: its last file can reach past \
midnight), the files overlapping the interval are chosen from their start times, and each is \
downloaded through a temporary .part file, decoded completely (record headers, Steim frames, \
integration constants, sample counts) and only then renamed into place. Local names are the \
archive's with ':' written '-'. A day without data is not an error.\n\n\
Politeness: the archive is one public web server (ooi-hyd-tools spaces its launches 12 s apart \
so as not to overload it). Defaults: 2 files at once (--download-slots), 10 requests per second \
overall (--max-rps).\n\n\
Hydrophones (--device takes the reference designator, the name or the node):\n  \
RS03AXBS-LJ03A-09-HYDBBA302  Axial_Base_Seafloor            LJ03A\n  \
RS03AXPS-PC03A-08-HYDBBA303  Axial_Base_Shallow             PC03A\n  \
RS01SLBS-LJ01A-09-HYDBBA102  Oregon_Slope_Base_Seafloor     LJ01A\n  \
RS01SBPS-PC01A-08-HYDBBA103  Oregon_Slope_Base_Shallow      PC01A\n  \
CE04OSBP-LJ01C-11-HYDBBA105  Oregon_Offshore_Base_Seafloor  LJ01C\n  \
CE02SHBP-LJ01D-11-HYDBBA106  Oregon_Shelf_Base_Seafloor     LJ01D",
    after_help = "Examples:\n  onc-hydro --sim ooi raw --device Axial_Base_Seafloor \\\n    \
--from 2019-07-02T00:00:00Z --to 2019-07-02T00:20:00Z --out axial/\n  \
onc-hydro ooi raw --device LJ01D --from 2018-01-01T00:00:00Z --to 2018-01-02T00:00:00Z --out shelf/\n  \
onc-hydro ooi mseed shelf/CE02SHBP-LJ01D-11-HYDBBA106/*.mseed --npz npz/"
)]
pub struct RawArgs {
    /// The hydrophone: reference designator, name or node (see above).
    #[arg(long)]
    pub device: String,
    /// Start (UTC, e.g. 2019-07-02T00:00:00Z).
    #[arg(long)]
    pub from: Timestamp,
    /// End (UTC, exclusive).
    #[arg(long)]
    pub to: Timestamp,
    /// Output folder (ledger.sqlite, summary.json, one sub-folder per hydrophone).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Only plan into the ledger (run later with `resume DIR`).
    #[arg(long)]
    pub plan_only: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
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
        OoiCommand::Raw(a) => raw(global, *a).await,
        OoiCommand::Mseed(a) => mseed(global, &a),
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
    let what = format!("{} OOI requests", tasks.len());
    plan_and_run(global, &a.out, &a.engine, a.plan_only, &tasks, &what).await
}

/// Plans `tasks` into the ledger in `out`, says how many were new (`what`: what was planned),
/// and runs them unless `plan_only`.
async fn plan_and_run(
    global: &GlobalArgs,
    out: &std::path::Path,
    engine_args: &EngineArgs,
    plan_only: bool,
    tasks: &[TaskSpec],
    what: &str,
) -> anyhow::Result<Outcome> {
    let engine = open(out, global, engine_args)?;
    let report = engine.plan(tasks)?;
    if !global.json {
        eprintln!(
            "planned {what}: {} new, {} already in the ledger, {} revived",
            report.added, report.already_planned, report.revived
        );
    }
    if plan_only {
        return Ok(Outcome::AllDone);
    }
    super::resume::execute(engine, global, engine_args.quiet).await
}

/// `[from, to)` cut at UTC midnights.
fn split_days(from: Timestamp, to: Timestamp) -> anyhow::Result<Vec<(Timestamp, Timestamp)>> {
    let mut out = Vec::new();
    let mut start = from;
    while start < to {
        let day = start.to_zoned(jiff::tz::TimeZone::UTC).date();
        let next = day
            .tomorrow()?
            .to_zoned(jiff::tz::TimeZone::UTC)?
            .timestamp()
            .min(to);
        out.push((start, next));
        start = next;
    }
    Ok(out)
}

/// Files downloaded at once from the raw-data archive unless --download-slots says otherwise.
pub(super) const RAW_DOWNLOAD_SLOTS: usize = 2;

async fn raw(global: &GlobalArgs, mut a: RawArgs) -> anyhow::Result<Outcome> {
    a.engine.download_slots.get_or_insert(RAW_DOWNLOAD_SLOTS);
    let refdes = resolve_hydrophone(&a.device)?;
    if a.from >= a.to {
        anyhow::bail!("--from ({}) must be before --to ({})", a.from, a.to);
    }
    let tasks: Vec<TaskSpec> = split_days(a.from, a.to)?
        .into_iter()
        .enumerate()
        .map(|(i, (from, to))| {
            TaskSpec::OoiRaw(OoiRawSpec {
                refdes: refdes.to_string(),
                from,
                to,
                folder: Some(refdes.to_string()),
                starts_only: i > 0,
            })
        })
        .collect();
    for t in &tasks {
        t.validate()?;
    }
    let what = format!("{} day(s) of {refdes}", tasks.len());
    plan_and_run(global, &a.out, &a.engine, a.plan_only, &tasks, &what).await
}

fn mseed(global: &GlobalArgs, a: &MseedArgs) -> anyhow::Result<Outcome> {
    use crate::media::{ns_to_timestamp, read_mseed_path, write_npz_path, MseedSamples};
    use crate::media::{NpyArray, NpyData};
    if let Some(d) = &a.npz {
        std::fs::create_dir_all(d)?;
    }
    let mut all = Vec::new();
    let mut failed = 0;
    for f in &a.files {
        let traces = match read_mseed_path(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{e}");
                failed += 1;
                continue;
            }
        };
        let rows: Vec<serde_json::Value> = traces
            .iter()
            .map(|t| {
                serde_json::json!({"id": t.id.to_string(), "start": format!("{:.9}", t.start()),
                    "start_ns": t.start_ns, "rate": t.sample_rate, "samples": t.num_samples,
                    "end": format!("{:.9}", ns_to_timestamp(t.next_ns()))})
            })
            .collect();
        if !global.json {
            println!("{} ({} traces)", f.display(), traces.len());
            for r in &rows {
                println!(
                    "  {}  {}  {} Hz  {} samples",
                    r["id"].as_str().unwrap_or(""),
                    r["start"].as_str().unwrap_or(""),
                    r["rate"],
                    r["samples"]
                );
            }
        }
        all.push(serde_json::json!({"file": f.display().to_string(), "traces": rows}));
        if let Some(d) = &a.npz {
            let mut arrays: Vec<(String, NpyArray)> = traces
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let data = match &t.samples {
                        MseedSamples::Int(v) => {
                            NpyData::I64(v.iter().map(|&x| i64::from(x)).collect())
                        }
                        MseedSamples::Float32(v) => {
                            NpyData::F64(v.iter().map(|&x| f64::from(x)).collect())
                        }
                        MseedSamples::Float64(v) => NpyData::F64(v.clone()),
                    };
                    (format!("trace{i}"), NpyArray::vector(data))
                })
                .collect();
            arrays.push((
                "start_ns".into(),
                NpyArray::vector(NpyData::I64(traces.iter().map(|t| t.start_ns).collect())),
            ));
            arrays.push((
                "rate".into(),
                NpyArray::vector(NpyData::F64(traces.iter().map(|t| t.sample_rate).collect())),
            ));
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let named: Vec<(&str, NpyArray)> = arrays
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            write_npz_path(&d.join(format!("{name}.npz")), &named)?;
        }
    }
    if global.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
    }
    Ok(if failed == 0 {
        Outcome::AllDone
    } else {
        Outcome::SomeFailed
    })
}
