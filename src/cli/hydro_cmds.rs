//! The hydrophone commands: `sample`, `span`, `times` and `fetch`. Each turns its arguments into
//! a `hydro::Plan`; `--dry-run` prints it (a table, or with `--json` the plan document) without
//! contacting the server. Without it the plan runs through the download engine
//! (`hydro::run_plan`): HSD files land in `<out>/<DEVICE>/hsd/`, archive audio in
//! `<out>/<DEVICE>/audio/`, the ledger is `<out>/ledger.sqlite` and `<out>/summary.json` holds the
//! engine summary plus windows asked/delivered. Exit codes: 0 all delivered, 1 some windows or
//! tasks missing (rerun to resume), 2 fatal (e.g. the token was rejected).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use jiff::tz::TimeZone;
use jiff::SignedDuration;

use super::discover::client_for;
use super::progress::Progress;
use super::resume::{open as open_engine, EngineArgs};
use super::{GlobalArgs, Outcome, Settings};
use crate::api::time::format_onc;
use crate::hydro::{
    self, annotation_at, parse_time, parse_timezone, AudioExtension, CallerDefaults, DeviceCode,
    Downsample, DpoOptions, HsdSettings, Plan, PlanBuilder, SpectrogramFormat, TimeRange,
};

/// Flags every hydrophone command takes.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Device: an ONC device code (ICLISTENHF6324) or an OOI broadband hydrophone (reference
    /// designator RS03AXBS-LJ03A-09-HYDBBA302, name Axial_Base_Seafloor or node LJ03A); repeat
    /// the flag or separate with commas. For `fetch` it keeps only annotations of these devices.
    #[arg(long = "device", value_name = "CODE", value_delimiter = ',')]
    pub devices: Vec<String>,

    /// Folder that receives spectrograms, audio and clips.
    #[arg(long, value_name = "DIR", default_value = "onc-data")]
    pub out: PathBuf,

    /// Most five-minute windows in one ONC request (K).
    #[arg(long, value_name = "K", default_value_t = 12)]
    pub per_request: usize,

    /// Print the plan (windows, ONC requests, clips) and stop; nothing is contacted.
    #[arg(long)]
    pub dry_run: bool,

    /// HSD resolution: 0 full, 1 one-minute averages, 2 plot resolution.
    #[arg(long, value_name = "0|1|2", default_value = "2")]
    pub downsample: String,

    /// HSD file types, comma-separated: mat (SpectData for numpy/scipy), png (ONC's plot), or
    /// both (`mat,png`: each window's PNG beside its MAT, one more request per format).
    #[arg(
        long,
        value_name = "mat,png",
        default_value = "mat",
        value_delimiter = ','
    )]
    pub hsd_ext: Vec<String>,

    /// Extra HSD data-product option, e.g. --option dpo_hydrophoneChannel=H1 (repeatable).
    #[arg(long = "option", value_name = "dpo_NAME=VALUE")]
    pub options: Vec<String>,

    /// Also fetch the archived audio (FLAC) of every window.
    #[arg(long)]
    pub audio: bool,

    /// Skip ONC spectrograms (use with --audio for audio only).
    #[arg(long)]
    pub no_spectrogram: bool,

    /// Timezone of times written without Z or an offset: UTC, ±HH:MM or an IANA name.
    #[arg(long, value_name = "TZ", default_value = "UTC")]
    pub timezone: String,

    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Padding and clipping flags of `times` and `fetch`.
#[derive(Debug, Clone, Args)]
pub struct PadArgs {
    /// Seconds of context on both sides of each instant/annotation.
    #[arg(long, value_name = "S")]
    pub pad: Option<f64>,

    /// Seconds before (overrides --pad).
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    pub pad_before: Option<f64>,

    /// Seconds after (overrides --pad).
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    pub pad_after: Option<f64>,

    /// Cut a clip of each padded interval (default: when it has a span).
    #[arg(long, conflicts_with = "no_clip")]
    pub clip: bool,

    /// Never cut clips.
    #[arg(long)]
    pub no_clip: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  onc-hydro sample --device ICLISTENHF6324 \
--from 2024-04-01 --to 2024-04-03 --count 160 --per-request 12 --dry-run\n  \
onc-hydro --sim sample --device RS03AXBS-LJ03A-09-HYDBBA302 --from 2019-07-02 \
--to 2019-07-03 --count 20 --out axial\n\n\
OOI broadband hydrophones (reference designator, name such as Axial_Base_Seafloor, or node \
such as LJ03A) have no HSD product: each window is cut from the raw-data archive's miniSEED \
files (downloaded into <out>/<REFDES>/raw/) as <out>/<REFDES>/audio/<REFDES>_<start>.flac \
(24-bit when every sample fits, else 32-bit) with a JSON sidecar listing sources and gaps, \
and its spectrogram is computed locally as <out>/<REFDES>/hsd/<REFDES>_<start>.npz with \
`spectrogram`'s defaults (1 s Hann window, 50 % overlap, dB re full scale).")]
pub struct SampleArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Start of the range (inclusive).
    #[arg(long, value_name = "TIME")]
    pub from: String,
    /// End of the range (exclusive).
    #[arg(long, value_name = "TIME")]
    pub to: String,
    /// Exactly this many five-minute windows per device.
    #[arg(long, value_name = "N")]
    pub count: usize,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  onc-hydro span --device ICLISTENHF6324 \
--from 2024-04-01T00:00:00Z --to 2024-04-01T06:00:00Z --dry-run\n  \
onc-hydro --sim span --device ICLISTENHF6324 --from 2024-04-01T00:00:00Z \
--to 2024-04-01T01:00:00Z --hsd-ext mat,png --out hsd   # each MAT with its PNG plot\n  \
onc-hydro --sim span --device Axial_Base_Seafloor --from 2019-07-02T00:00:00Z \
--to 2019-07-02T01:00:00Z --clip --out axial   # OOI: window FLAC + NPZ, one streamed clip")]
pub struct SpanArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Also cut one audio clip of the whole span per device (clips/<DEVICE>_<from>_<to>_audio.flac
    /// and its sidecar), across file boundaries and gaps; implies --audio. OOI clips are
    /// streamed from the raw miniSEED files (memory does not grow with the span).
    #[arg(long)]
    pub clip: bool,
    /// Start of the range (inclusive).
    #[arg(long, value_name = "TIME")]
    pub from: String,
    /// End of the range (exclusive).
    #[arg(long, value_name = "TIME")]
    pub to: String,
}

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  onc-hydro times --device ICLISTENHF6324 \
2024-04-01T12:34:50Z \"2024-04-02 03:00:00\" --pad 15 --dry-run")]
pub struct TimesArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub pads: PadArgs,
    /// Instants of interest (ISO-8601, YYYY-MM-DD HH:MM:SS, YYYY-MM-DD).
    #[arg(required = true, value_name = "TIME")]
    pub times: Vec<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Annotation files: the legacy {device: [[Y,M,D,h,m,s], …]} map, the rich \
{defaults, requests} form, or CSV with the same columns. Examples ship in requests/:\n  \
onc-hydro fetch requests/whale_calls.json --dry-run\n  \
onc-hydro fetch requests/legacy_map.json --pad 20 --dry-run --json\n  \
onc-hydro fetch requests/annotations.csv --audio --dry-run\n  \
onc-hydro --sim fetch requests/mixed_onc_ooi.csv --out mixed   # ONC and OOI in one file\n\n\
A `provider` field (JSON) or column (CSV), `onc` or `ooi`, may say who serves each request; \
absent, it follows from the device (OOI reference designators, names and nodes are OOI). A \
provider that contradicts the device is an error naming the entry and field."
)]
pub struct FetchArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub pads: PadArgs,
    /// Annotation file (.json or .csv).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

fn devices(common: &CommonArgs) -> anyhow::Result<Vec<DeviceCode>> {
    let mut out: Vec<DeviceCode> = Vec::new();
    for d in &common.devices {
        let code = hydro::Device::resolve(d, None)
            .with_context(|| format!("--device {d:?}"))?
            .code();
        if !out.contains(&code) {
            out.push(code);
        }
    }
    Ok(out)
}

fn required_devices(common: &CommonArgs) -> anyhow::Result<Vec<DeviceCode>> {
    let out = devices(common)?;
    if out.is_empty() {
        bail!("give at least one --device (e.g. --device ICLISTENHF6324)");
    }
    Ok(out)
}

/// The `--hsd-ext` formats, in the order given (at least one, no repeats).
fn hsd_formats(common: &CommonArgs) -> anyhow::Result<Vec<SpectrogramFormat>> {
    let mut out = Vec::new();
    for e in &common.hsd_ext {
        let f = SpectrogramFormat::parse(e).context("--hsd-ext")?;
        if !out.contains(&f) {
            out.push(f);
        }
    }
    if out.is_empty() {
        bail!("--hsd-ext needs mat, png or mat,png");
    }
    Ok(out)
}

/// A plan builder that places every HSD order in each `--hsd-ext` format.
fn builder(common: &CommonArgs) -> anyhow::Result<PlanBuilder> {
    let mut b = PlanBuilder::new(common.per_request)?;
    b.also_formats(&hsd_formats(common)?[1..]);
    Ok(b)
}

fn hsd_settings(common: &CommonArgs) -> anyhow::Result<HsdSettings> {
    let mut options = DpoOptions::new();
    for o in &common.options {
        options.insert_arg(o)?;
    }
    Ok(HsdSettings {
        format: hsd_formats(common)?[0],
        downsample: Downsample::parse(&common.downsample).context("--downsample")?,
        options,
    })
}

fn timezone(common: &CommonArgs) -> anyhow::Result<TimeZone> {
    parse_timezone(&common.timezone).context("--timezone")
}

fn products(common: &CommonArgs) -> anyhow::Result<(bool, Option<AudioExtension>)> {
    if common.no_spectrogram && !common.audio {
        bail!("--no-spectrogram leaves nothing to fetch; add --audio");
    }
    Ok((
        !common.no_spectrogram,
        common.audio.then_some(AudioExtension::Flac),
    ))
}

fn range(common: &CommonArgs, from: &str, to: &str) -> anyhow::Result<TimeRange> {
    let tz = timezone(common)?;
    let from_t = parse_time(from, &tz).context("--from")?;
    let to_t = parse_time(to, &tz).context("--to")?;
    let r = TimeRange::new(from_t, to_t).context("--from/--to")?;
    hydro::command_range(&r)?;
    Ok(r)
}

fn pad(value: Option<f64>, name: &str) -> anyhow::Result<Option<SignedDuration>> {
    match value {
        None => Ok(None),
        Some(v) if v < 0.0 || !v.is_finite() => {
            bail!("{name} must be a number of seconds ≥ 0, got {v}")
        }
        Some(v) => Ok(Some(hydro::seconds(v, name)?)),
    }
}

fn caller_defaults(common: &CommonArgs, pads: &PadArgs) -> anyhow::Result<CallerDefaults> {
    let symmetric = pad(pads.pad, "--pad")?;
    let (spectrogram, audio) = products(common)?;
    Ok(CallerDefaults {
        pad_before: pad(pads.pad_before, "--pad-before")?.or(symmetric),
        pad_after: pad(pads.pad_after, "--pad-after")?.or(symmetric),
        clip: if pads.clip {
            Some(true)
        } else if pads.no_clip {
            Some(false)
        } else {
            None
        },
        spectrogram: (!spectrogram).then_some(false),
        audio: audio.map(|_| true),
        tag: None,
        hsd: hsd_settings(common)?,
        timezone: timezone(common)?,
    })
}

pub async fn sample(global: &GlobalArgs, args: SampleArgs) -> anyhow::Result<Outcome> {
    let c = &args.common;
    let devices = required_devices(c)?;
    let r = range(c, &args.from, &args.to)?;
    let settings = hsd_settings(c)?;
    let (spectrogram, audio) = products(c)?;
    let sampled = hydro::sample(&r, args.count, c.per_request)?;
    let mut b = builder(c)?;
    for d in &devices {
        for burst in &sampled.bursts {
            if spectrogram {
                b.add_burst(d, *burst, &settings, audio)?;
            } else {
                let windows: Vec<_> = burst.windows().collect();
                b.add_windows(d, &windows, None, audio)?;
            }
        }
    }
    if let Some(note) = sampled.shortfall() {
        b.note(note);
    }
    finish(global, c, b.build()).await
}

pub async fn span(global: &GlobalArgs, args: SpanArgs) -> anyhow::Result<Outcome> {
    let c = &args.common;
    let devices = required_devices(c)?;
    let r = range(c, &args.from, &args.to)?;
    let settings = hsd_settings(c)?;
    let (spectrogram, audio) = products(c)?;
    let audio = if args.clip {
        audio.or(Some(AudioExtension::Flac))
    } else {
        audio
    };
    let bursts = hydro::span(&r, c.per_request)?;
    let mut b = builder(c)?;
    for d in &devices {
        for burst in &bursts {
            let windows: Vec<_> = burst.windows().collect();
            b.add_windows(d, &windows, spectrogram.then_some(&settings), audio)?;
        }
        if args.clip {
            b.add_span_clip(d, r);
        }
    }
    finish(global, c, b.build()).await
}

pub async fn times(global: &GlobalArgs, args: TimesArgs) -> anyhow::Result<Outcome> {
    let c = &args.common;
    let devices = required_devices(c)?;
    let caller = caller_defaults(c, &args.pads)?;
    let mut b = builder(c)?;
    for d in &devices {
        for (i, text) in args.times.iter().enumerate() {
            let t =
                parse_time(text, &caller.timezone).with_context(|| format!("time #{}", i + 1))?;
            b.add_annotation(&annotation_at(d, t, i, &caller)?)?;
        }
    }
    finish(global, c, b.build()).await
}

pub async fn fetch(global: &GlobalArgs, args: FetchArgs) -> anyhow::Result<Outcome> {
    let c = &args.common;
    let keep = devices(c)?;
    let caller = caller_defaults(c, &args.pads)?;
    let set = hydro::load_annotation_file(&args.file, &caller)?;
    for w in &set.warnings {
        eprintln!("warning: {w}");
    }
    let mut b = builder(c)?;
    let mut used = 0usize;
    let mut seen: BTreeSet<&DeviceCode> = BTreeSet::new();
    for a in &set.annotations {
        seen.insert(&a.device);
        if keep.is_empty() || keep.contains(&a.device) {
            b.add_annotation(a)?;
            used += 1;
        }
    }
    if used == 0 {
        let listed: Vec<String> = seen.iter().map(|d| d.to_string()).collect();
        bail!(
            "{}: no annotation is for the --device given (the file has: {})",
            args.file.display(),
            listed.join(", ")
        );
    }
    if used < set.annotations.len() {
        b.note(format!(
            "{} of {} annotations kept by --device",
            used,
            set.annotations.len()
        ));
    }
    finish(global, c, b.build()).await
}

async fn finish(global: &GlobalArgs, common: &CommonArgs, plan: Plan) -> anyhow::Result<Outcome> {
    for note in &plan.notes {
        eprintln!("note: {note}");
    }
    if !common.dry_run {
        return download(global, common, &plan).await;
    }
    if global.json {
        println!("{}", serde_json::to_string_pretty(&plan.document())?);
    } else {
        print_table(common, &plan);
    }
    Ok(Outcome::AllDone)
}

async fn download(
    global: &GlobalArgs,
    common: &CommonArgs,
    plan: &Plan,
) -> anyhow::Result<Outcome> {
    // Token and server first: a missing token must not leave a ledger behind. OOI's raw-data
    // archive is public: a plan of OOI hydrophones only needs no ONC token.
    let onc = hydro::has_onc(plan);
    let ooi = hydro::has_ooi(plan);
    let settings = if onc {
        Settings::resolve(global).await?
    } else {
        Settings::resolve_lenient(global).await?
    };
    let providers = crate::engine::Providers {
        onc: if onc {
            Some(client_for(&settings)?)
        } else {
            None
        },
        ooi: None,
        ooi_raw: if ooi {
            Some(settings.ooi_raw_client()?)
        } else {
            None
        },
    };
    let mut engine_args = common.engine.clone();
    if ooi && !onc {
        // The raw-data archive is one public server: `ooi raw`'s polite default.
        engine_args
            .download_slots
            .get_or_insert(super::ooi::RAW_DOWNLOAD_SLOTS);
    }
    let engine = open_engine(&common.out, global, &engine_args)?;
    let progress = Arc::new(Progress::new(common.engine.quiet));
    let result = hydro::run_plan(&engine, providers, plan, progress.clone()).await;
    progress.finish();
    let (summary, h) = result?;
    if global.json {
        let doc = std::fs::read_to_string(common.out.join("summary.json"))
            .context("reading summary.json")?;
        println!("{doc}");
    } else {
        println!("{summary}");
        println!(
            "windows: {} asked, {} delivered ({} HSD files, {} new this run); \
             {} audio file(s) planned; {:.1} s",
            h.windows_asked,
            h.windows_delivered,
            h.hsd_files,
            h.files_new,
            h.audio_files_planned,
            h.wall_seconds
        );
        for gap in &h.audio_gaps {
            println!("audio gap (no archive file): {gap}");
        }
        for w in &h.missing_windows {
            println!("missing: {w}");
        }
        if h.clips.planned > 0 {
            println!(
                "clips: {} planned, {} complete, {} with gaps or missing parts, {} failed",
                h.clips.planned,
                h.clips.complete,
                h.clips.partial,
                h.clips.errors.len()
            );
        }
        for e in &h.clips.errors {
            println!("clip failed: {e}");
        }
        if let Some(o) = &h.ooi {
            println!(
                "OOI windows: {} planned, {} served from raw audio ({} cut now, {} with gaps), \
                 {} without data; {} of {} spectrograms",
                o.windows,
                o.served,
                o.cut,
                o.with_gaps,
                o.empty,
                o.spectrograms,
                o.spectrograms_asked
            );
            for e in &o.errors {
                println!("window failed: {e}");
            }
        }
        println!("summary: {}", common.out.join("summary.json").display());
    }
    let complete =
        summary.tasks_done == summary.tasks_total && h.windows_delivered == h.windows_asked;
    Ok(if complete {
        Outcome::AllDone
    } else {
        Outcome::SomeFailed
    })
}

fn print_table(common: &CommonArgs, plan: &Plan) {
    let devices: BTreeSet<_> = plan.windows.iter().map(|(d, _)| d).collect();
    println!(
        "Plan: {} five-minute windows on {} device(s); {} ONC HSD request(s); {} audio span(s); \
         {} clip(s); output under {}",
        plan.windows.len(),
        devices.len(),
        plan.requests.len(),
        plan.audio.len(),
        plan.clips.len(),
        common.out.display()
    );
    if !plan.requests.is_empty() {
        println!("\nHSD requests (dateFrom inclusive, dateTo exclusive):");
        println!(
            "  {:>4}  {:<18} {:<25} {:<25} {:>7}  options",
            "#", "device", "dateFrom", "dateTo", "windows"
        );
        for (i, r) in plan.requests.iter().enumerate() {
            let s = &r.order.settings;
            let mut opts = format!(
                "{} downsample={}",
                s.format.extension(),
                s.effective_downsample()
            );
            for (k, v) in s.options.iter() {
                opts.push_str(&format!(" {k}={v}"));
            }
            println!(
                "  {:>4}  {:<18} {:<25} {:<25} {:>7}  {}",
                i + 1,
                r.order.device.as_str(),
                format_onc(r.order.range.start()),
                format_onc(r.order.range.end()),
                r.windows,
                opts
            );
        }
    }
    if !plan.audio.is_empty() {
        println!("\nArchive audio (files overlapping each span):");
        for a in &plan.audio {
            println!(
                "  {:<18} {:<5} {}  ({} windows)",
                a.device.as_str(),
                a.extension.as_str(),
                a.range,
                a.windows
            );
        }
    }
    if !plan.clips.is_empty() {
        println!("\nClips:");
        println!(
            "  {:<18} {:<25} {:<25} {:>9}  label",
            "device", "start", "end", "seconds"
        );
        for c in &plan.clips {
            println!(
                "  {:<18} {:<25} {:<25} {:>9.3}  {}",
                c.device.as_str(),
                format_onc(c.range.start()),
                format_onc(c.range.end()),
                c.range.duration().as_secs_f64(),
                c.label
            );
        }
    }
}
