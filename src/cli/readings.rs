//! `onc-hydro scalar` and `onc-hydro raw`: near-real-time data appended to per-sensor CSV
//! files (the library's `sync::fetch_readings` does the fetching and appending), and `--plot`:
//! one PNG time series per scalar CSV file (the whole file, drawn by `media::LinePlot`).
//!
//! Must not know: paging, the CSV layout beyond the header keys it prints.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;

use super::archive::parse_time_opt;
use super::discover::client_for;
use super::{GlobalArgs, Outcome, Settings};
use crate::engine::{Engine, EngineConfig, EngineError};
use crate::media::{encode_png, LinePlot, PngOptions};
use crate::sync::series::{first_time, for_each_sample, SeriesFile};
use crate::sync::{
    fetch_readings, parse_duration, ReadingsKind, ReadingsReport, ReadingsRequest, ReadingsTime,
    Source,
};

pub(super) const SCALAR_ABOUT: &str =
    "Fetch scalar sensor data (scalardata, every `next` page) for a \
device, or a location + device category, and append it to one CSV file per device and sensor: \
<out>/<deviceCode>/<deviceCode>_<sensorCode>.csv. The file starts with `# key: value` lines \
(deviceCode, sensorName, sensorCode, propertyCode, unitOfMeasure, the QAQC flag meanings, the \
citation) and the columns time_utc,value,qaqc_flag (UTC ISO times; an empty value is a missing \
sample). The folder is locked like any engine command's (<out>/ledger.lock; a second run on \
it exits 4). Only rows newer than the file's last row are appended, so running again at once \
appends nothing; an append is one write + fsync, and a torn last line left by a crash is \
dropped on the next start. pandas: read_csv(path, comment=\"#\", parse_dates=[\"time_utc\"]).\n\n\
Time: --from/--to, or --since-last (the default without --from): continue after the newest \
sample held (per device the oldest of its sensors' last rows); with nothing held yet, the last \
--first (default 1h) by the server's clock. A span without data (sensorData: null) prints \
\"no new samples\" and exits 0.";

const SCALAR_AFTER: &str = "Examples:\n  \
onc-hydro --sim scalar --location BACAX --device-category CTD --since-last --plot --out nrt/\n  \
onc-hydro scalar --device SBECTD19p7128 --property seawatertemperature,salinity --since-last --out nrt/\n  \
onc-hydro scalar --location BACAX --device-category CTD --from 2024-04-01 --to 2024-04-02 --out nrt/\n  \
*/15 * * * *  onc-hydro scalar --location BACAX --device-category CTD --since-last --plot --out ~/nrt   # cron";

pub(super) const RAW_ABOUT: &str =
    "Fetch raw instrument lines (rawdata, every `next` page) for a device, \
or a location + device category, and append them to one CSV file per device: \
<out>/<deviceCode>/<deviceCode>_raw.csv with columns time_utc,line_type,reading (and any \
further per-reading field the server sends). Incremental and crash-safe like `scalar`; \
--since-last is the default without --from.";

const RAW_AFTER: &str = "Examples:\n  \
onc-hydro --sim raw --device SBECTD19p7128 --since-last --out nrt/\n  \
onc-hydro raw --location BACAX --device-category CTD --from 2024-04-01T00:00:00Z --to 2024-04-01T01:00:00Z --out nrt/";

/// What to fetch and where to keep it (shared by `scalar` and `raw`).
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Location code (with --device-category), e.g. BACAX.
    #[arg(long, requires = "device_category")]
    pub location: Option<String>,
    /// Device category code (with --location), e.g. CTD.
    #[arg(long, requires = "location")]
    pub device_category: Option<String>,
    /// One device code instead of a location + category.
    #[arg(long, conflicts_with_all = ["location", "device_category"])]
    pub device: Option<String>,
    /// Start (inclusive): 2024-04-01, 2024-04-01T00:00:00Z, …
    #[arg(long, conflicts_with = "since_last")]
    pub from: Option<String>,
    /// End (exclusive); default: the server's now.
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// Continue after the newest sample held (the default without --from).
    #[arg(long)]
    pub since_last: bool,
    /// With --since-last and nothing held yet: how far back to start (15m, 1h, 7d).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = duration_arg)]
    pub first: Duration,
    /// Folder of the CSV files (<out>/<deviceCode>/…).
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

/// `onc-hydro scalar`.
#[derive(Debug, Args)]
#[command(long_about = SCALAR_ABOUT, after_help = SCALAR_AFTER)]
pub struct ScalarArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Only these properties (propertyCode, comma-separated or repeated), e.g. seawatertemperature.
    #[arg(long, value_delimiter = ',')]
    pub property: Vec<String>,
    /// Also write <file>.png next to each CSV file that changed (or has no PNG yet): the whole
    /// series, UTC time axis, unit on the value axis.
    #[arg(long)]
    pub plot: bool,
}

/// `onc-hydro raw`.
#[derive(Debug, Args)]
#[command(long_about = RAW_ABOUT, after_help = RAW_AFTER)]
pub struct RawArgs {
    #[command(flatten)]
    pub select: SelectArgs,
}

fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s).ok_or_else(|| format!("{s:?} is not a duration like 15m, 1h, 7d"))
}

impl SelectArgs {
    fn request(
        &self,
        kind: ReadingsKind,
        properties: Vec<String>,
        plot: bool,
    ) -> anyhow::Result<ReadingsRequest> {
        let source = match (&self.device, &self.location, &self.device_category) {
            (Some(d), None, None) => Source::Device(d.as_str().into()),
            (None, Some(l), Some(c)) => Source::Location {
                location: l.as_str().into(),
                device_category: c.as_str().into(),
            },
            _ => bail!("give --device D, or --location L with --device-category C"),
        };
        let time = match parse_time_opt("--from", self.from.as_deref())? {
            Some(from) => {
                let to = parse_time_opt("--to", self.to.as_deref())?;
                if to.is_some_and(|t| t <= from) {
                    bail!("--to must be after --from");
                }
                ReadingsTime::Range(from, to)
            }
            None => ReadingsTime::SinceLast(self.first),
        };
        Ok(ReadingsRequest {
            kind,
            source,
            properties,
            time,
            plot,
        })
    }
}

pub async fn scalar(global: &GlobalArgs, args: ScalarArgs) -> anyhow::Result<Outcome> {
    let req = args
        .select
        .request(ReadingsKind::Scalar, args.property, args.plot)?;
    run(global, &args.select.out, &req).await
}

pub async fn raw(global: &GlobalArgs, args: RawArgs) -> anyhow::Result<Outcome> {
    let req = args.select.request(ReadingsKind::Raw, Vec::new(), false)?;
    run(global, &args.select.out, &req).await
}

async fn run(global: &GlobalArgs, out: &Path, req: &ReadingsRequest) -> anyhow::Result<Outcome> {
    let settings = Settings::resolve(global).await?;
    let client = client_for(&settings)?;
    // The folder's lock (the one `sync` and every engine command take): two runs on one
    // folder never append the same rows twice.
    let engine = match Engine::open(out, EngineConfig::default()) {
        Ok(e) => e,
        Err(e @ EngineError::Locked { .. }) => {
            eprintln!("{e}; nothing done (exit 4)");
            return Ok(Outcome::Busy);
        }
        Err(e) => {
            return Err(e).with_context(|| format!("opening the output folder {}", out.display()))
        }
    };
    let policy = engine.settings().retry;
    let report = fetch_readings(&client, out, req, &policy).await?;
    drop(engine);
    let plots = plot_report(&report)?;
    print_report(&report, &plots, settings.json)?;
    Ok(Outcome::AllDone)
}

/// When the request asked for plots: plots every scalar file of `report` that got rows or has no PNG yet; returns the PNGs.
pub fn plot_report(report: &ReadingsReport) -> anyhow::Result<Vec<PathBuf>> {
    let mut pngs = Vec::new();
    if !report.plot || report.kind != ReadingsKind::Scalar {
        return Ok(pngs);
    }
    for f in &report.files {
        let png = f.path.with_extension("png");
        if (f.appended > 0 || !png.exists()) && f.path.exists() {
            plot_csv(&f.path, &png)?;
            pngs.push(png);
        }
    }
    Ok(pngs)
}

/// Draws the whole series of a scalar CSV file into `png` (atomically).
pub fn plot_csv(csv: &Path, png: &Path) -> anyhow::Result<()> {
    let file = SeriesFile::open(csv)?.with_context(|| format!("{} is missing", csv.display()))?;
    let (Some(first), Some(last)) = (first_time(csv)?, file.last) else {
        bail!("{} holds no rows to plot", csv.display());
    };
    let ms = |t: jiff::Timestamp| t.as_millisecond();
    let mut plot = LinePlot::new(
        ms(first),
        ms(last),
        &PngOptions {
            plot_height: 400,
            ..PngOptions::default()
        },
    );
    for_each_sample(csv, |t, v| {
        if let Some(v) = v {
            plot.push(ms(t), v);
        }
    })?;
    let device = file.get("deviceCode").unwrap_or("?");
    let code = file.get("sensorCode").unwrap_or("?");
    let name = file.get("sensorName").unwrap_or(code);
    let unit = file.get("unitOfMeasure").unwrap_or("no unit given");
    let title = format!("{device}  {name} ({code})");
    let image = plot.render(&title, &format!("{name} ({unit})"));
    let bytes = encode_png(&image)?;
    crate::media::atomic::write_atomic(png, &bytes)
        .with_context(|| format!("cannot write {}", png.display()))
}

/// Prints what a run did (also used by `sync` for its scalar/raw sections).
pub fn print_report(r: &ReadingsReport, plots: &[PathBuf], json: bool) -> anyhow::Result<()> {
    for p in &r.repaired {
        eprintln!(
            "repaired {}: dropped a torn last line (an append was interrupted)",
            p.display()
        );
    }
    if json {
        let mut v = serde_json::to_value(r)?;
        v["plots"] = serde_json::to_value(plots)?;
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let kind = match r.kind {
        ReadingsKind::Scalar => "scalar",
        ReadingsKind::Raw => "raw",
    };
    if r.appended() == 0 {
        println!("{kind} {}: no new samples ({})", r.source, r.window);
    } else {
        for f in r.files.iter().filter(|f| f.appended > 0) {
            println!(
                "{}: +{} rows{}, newest {}",
                f.path.display(),
                f.appended,
                if f.created { " (new file)" } else { "" },
                f.last.as_deref().unwrap_or("-")
            );
        }
        println!(
            "{kind} {}: {} new rows in {} files ({} samples received, {} pages; {})",
            r.source,
            r.appended(),
            r.files.iter().filter(|f| f.appended > 0).count(),
            r.received,
            r.pages,
            r.window
        );
    }
    for p in plots {
        println!("plot {}", p.display());
    }
    Ok(())
}
