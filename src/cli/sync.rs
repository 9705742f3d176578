//! `onc-hydro sync SPEC --out DIR`: keep a local archive current (see `sync` for the logic).
//! Prints what each run fetched and which files ONC reprocessed, a one-line summary with
//! `--quiet`, and maps the result to the documented exit codes; `--every 15m` loops in the
//! foreground; `--wait 5m` waits for a folder another run holds instead of exiting with 4.
//!
//! Must not know: how the delta is planned (the library does that).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use super::discover::client_for;
use super::engine_cmd::FileLog;
use super::resume::{open as open_engine, EngineArgs};
use super::{GlobalArgs, Outcome, Settings};
use crate::engine::{EngineError, NullReporter, Reporter};
use crate::sync::{parse_duration, sync_once, SyncReport, SyncSpec};

pub(super) const LONG_ABOUT: &str = "Keep a local archive current. SPEC (JSON) names what to keep: sources \
(a device code, or a location + device category, resolved through discovery on every run so a \
swapped or newly deployed device is picked up), file extensions, and a time rule:\n  \
{\"mode\": \"rolling\", \"window\": \"24h\"}     the last 24 h (also 15m, 7d) by the server's clock\n  \
{\"mode\": \"range\", \"from\": \"2024-04-01\", \"to\": \"2024-04-02\"}\n  \
{\"mode\": \"since_last\", \"first\": \"7d\"}    from the newest file held after the last \
successful sync (the first run: the last 7 d)\n  \
{\"mode\": \"latest\"}                          only each device's newest file\n\
Each run lists the files with returnOptions=all, downloads only what the ledger in --out does \
not hold (running again at once does nothing), under <out>/<deviceCode>/.\n\n\
Reprocessing: a listed file the folder holds with a different size, modifyDate or \
archiveLocation was re-archived by ONC. Only files the run lists are compared: `rolling` and \
`range` list their whole span again each run, but `since_last` and `latest` list only what is \
newer than the high-water mark (or the newest file held), so they cannot see reprocessing of \
files older than that; run a `rolling` or `range` spec now and then to check those. The new version is downloaded; the old one is kept as \
<out>/<deviceCode>/.superseded/<old modifyDate>/<name>; the file is named on stderr and in \
summary.json (\"sync\".\"reprocessed\"), and the exit code is 3.\n\n\
Data products: \"products\" sections (device, or location + device_category; product; \
extension; options {\"dpo_…\": \"…\"}; period, default 1d, a duration that divides a day; \
recheck; meta) order one product per device and complete period into <out>/<deviceCode>/, \
choosing periods by the same time rule (rolling: whole periods that ended in the window; \
since_last: after the section's high-water mark; range: cut to it; not latest). Options are \
checked against dataProducts of each device before anything is ordered. \"recheck\": \"7d\" \
lists the source archive files of the held periods that ended within 7 d of the newest; a \
period whose files changed is ordered again and its files compared by SHA-256: different ones \
are reported as reprocessed (exit 3), the old copy kept in \
<out>/<deviceCode>/.superseded/rerun-<time>/.\n\n\
Near-real-time data: \"scalar\" / \"raw\" sections (same keys as the `scalar` and `raw` \
commands: device, or location + device_category; properties; plot; first) append to \
<out>/<deviceCode>/<deviceCode>_<sensorCode>.csv after the archive part, under the same lock, \
always since the newest sample held. With only such sections, sources and time may be left \
out.\n\n\
Exit codes: 0 up to date; 1 some files failed (recorded, retried next run); 2 fatal error or \
bad usage; 3 reprocessed files found (new versions fetched, old ones kept); 4 the folder is in \
use by another run (nothing done; see --wait).";

const AFTER_HELP: &str = "Example spec (requests/sync_hydrophones.json):\n  \
{\"name\": \"barkley-hydrophones\",\n   \
\"sources\": [{\"location\": \"BACAX.H1\", \"device_category\": \"HYDROPHONE\"}],\n   \
\"extensions\": [\"flac\"], \"time\": {\"mode\": \"rolling\", \"window\": \"24h\"}}\n\
With CTD scalar + raw sections: requests/sync_barkley_nrt.json\n\
With hydrophone spectra (HSD mat, daily, re-checked over 7 d): requests/sync_products.json\n\
Examples:\n  \
onc-hydro --sim sync requests/sync_hydrophones.json --out mirror/\n  \
onc-hydro --sim sync requests/sync_barkley_nrt.json --out mirror/\n  \
onc-hydro --sim sync requests/sync_products.json --out spectra/\n  \
onc-hydro sync requests/sync_hydrophones.json --out mirror/ --quiet     # from cron\n  \
onc-hydro sync requests/sync_hydrophones.json --out mirror/ --every 15m # without cron\n  \
onc-hydro status mirror/";

#[derive(Debug, Args)]
#[command(long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct SyncArgs {
    /// The sync spec (JSON), e.g. requests/sync_hydrophones.json.
    pub spec: PathBuf,
    /// Output folder (holds ledger.sqlite, summary.json and <deviceCode>/ folders).
    #[arg(long)]
    pub out: PathBuf,
    /// One line per run (the summary); reprocessing and failures still go to stderr.
    #[arg(long)]
    pub quiet: bool,
    /// Run again every DURATION (e.g. 15m, 1h) in the foreground until Ctrl-C.
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub every: Option<Duration>,
    /// If another run holds the folder, wait up to DURATION for it (default: exit 4 at once).
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub wait: Option<Duration>,
    /// Files downloaded at the same time.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=16))]
    pub parallel: Option<u16>,
    /// Requests per second over all endpoints (0 = no cap).
    #[arg(long, value_name = "N")]
    pub max_rps: Option<f64>,
    /// Scale every wait as for a server at this time scale (simulator testing).
    #[arg(long, hide = true, value_name = "SCALE")]
    pub server_time_scale: Option<f64>,
}

fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s).ok_or_else(|| format!("{s:?} is not a duration like 90s, 15m, 1h, 7d"))
}

pub async fn run(global: &GlobalArgs, args: SyncArgs) -> anyhow::Result<Outcome> {
    let spec = SyncSpec::read(&args.spec)?;
    let settings = Settings::resolve(global).await?;
    let Some(every) = args.every else {
        return once(global, &settings, &spec, &args).await;
    };
    loop {
        let started = Instant::now();
        let outcome = once(global, &settings, &spec, &args).await;
        if let Err(e) = &outcome {
            eprintln!("sync failed: {}", super::settings::redact_chain(e));
        }
        let next = every.saturating_sub(started.elapsed());
        if !args.quiet {
            eprintln!("next sync in {next:.0?} (Ctrl-C stops)");
        }
        tokio::select! {
            _ = tokio::time::sleep(next) => {}
            _ = tokio::signal::ctrl_c() => return outcome.or(Ok(Outcome::AllDone)),
        }
    }
}

fn is_locked(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<EngineError>(),
        Some(EngineError::Locked { .. })
    )
}

async fn once(
    global: &GlobalArgs,
    settings: &Settings,
    spec: &SyncSpec,
    args: &SyncArgs,
) -> anyhow::Result<Outcome> {
    let engine_args = EngineArgs {
        download_slots: args.parallel.map(usize::from),
        max_rps: args.max_rps,
        server_time_scale: args.server_time_scale,
        quiet: true,
        ..EngineArgs::default()
    };
    let deadline = args.wait.map(|w| Instant::now() + w);
    let engine = loop {
        match open_engine(&args.out, global, &engine_args) {
            Ok(e) => break e,
            Err(e) if is_locked(&e) => {
                if deadline.is_some_and(|d| Instant::now() < d) {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
                eprintln!(
                    "sync {}: {}; nothing done (exit 4)",
                    spec.name,
                    super::settings::redact_chain(&e)
                );
                return Ok(Outcome::Busy);
            }
            Err(e) => return Err(e),
        }
    };
    let client = client_for(settings)?;
    let started = Instant::now();
    let reporter: Arc<dyn Reporter> = if args.quiet {
        Arc::new(NullReporter)
    } else {
        Arc::new(FileLog::default())
    };
    let report = sync_once(&engine, &client, spec, reporter, jiff::Timestamp::now())
        .await
        .with_context(|| format!("sync {}", spec.name))?;
    let mut plot_failed = false;
    let mut plots = Vec::new();
    for r in &report.readings {
        match super::readings::plot_report(r) {
            Ok(p) => plots.push(p),
            Err(e) => {
                eprintln!("plot failed: {}", super::settings::redact_chain(&e));
                plots.push(Vec::new());
                plot_failed = true;
            }
        }
    }
    print_report(&report, settings.json, args.quiet, started.elapsed())?;
    if !settings.json && !args.quiet {
        for (r, p) in report.readings.iter().zip(&plots) {
            super::readings::print_report(r, p, false)?;
        }
    }
    Ok(if !report.failed.is_empty() || plot_failed {
        Outcome::SomeFailed
    } else if !report.reprocessed.is_empty() {
        Outcome::Reprocessed
    } else {
        Outcome::AllDone
    })
}

fn print_report(r: &SyncReport, json: bool, quiet: bool, took: Duration) -> anyhow::Result<()> {
    for p in &r.reprocessed {
        eprintln!(
            "REPROCESSED {}: {}; old version kept at {}",
            p.name,
            p.change,
            p.superseded
                .as_deref()
                .unwrap_or("(it was no longer on disk)")
        );
    }
    for (name, why) in &r.failed {
        eprintln!("failed {name}: {why}");
    }
    if json {
        println!("{}", serde_json::to_string_pretty(r)?);
        return Ok(());
    }
    if !quiet {
        for (source, devices) in &r.resolved {
            let list = if devices.is_empty() {
                "no device deployed".to_string()
            } else {
                devices.join(", ")
            };
            println!("{source}: {list}");
        }
        println!("window: {}", r.window);
    }
    println!(
        "sync {}: {} new, {} reprocessed, {} already held, {} failed ({} listed); {} bytes in {:.1} s",
        r.name,
        r.fetched.len(),
        r.reprocessed.len(),
        r.held,
        r.failed.len(),
        r.listed,
        r.bytes,
        took.as_secs_f64()
    );
    Ok(())
}
