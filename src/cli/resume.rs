//! `onc-hydro run-tasks` (plan a batch of engine tasks from a JSON file and run them) and
//! `onc-hydro resume <out>` (run whatever the ledger in `<out>` still holds, re-attaching to
//! recorded server jobs). Both print a one-screen summary (or `--json`) and write
//! `<out>/summary.json`. Exit codes: 0 all done, 1 some tasks failed or unfinished, 2 fatal
//! (e.g. the token was rejected: HTTP 401).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::discover::client_for;
use super::progress::Progress;
use super::{GlobalArgs, Outcome, Settings};
use crate::engine::{
    Engine, EngineConfig, EngineSettings, Providers, RunWindow, Summary, TaskSpec,
};

/// Engine flags shared by `run-tasks` and `resume`. Flags not given keep the values stored in
/// the ledger by the previous run (or the defaults).
#[derive(Debug, Clone, Default, Args)]
pub struct EngineArgs {
    /// Data-product jobs on the server at once (ONC asks for at most 4 per user).
    #[arg(long, value_name = "N")]
    pub run_slots: Option<usize>,
    /// File transfers at once.
    #[arg(long, value_name = "N")]
    pub download_slots: Option<usize>,
    /// Seconds between two job submissions.
    #[arg(long, value_name = "SECONDS")]
    pub stagger: Option<f64>,
    /// Shortest seconds between polls of a job.
    #[arg(long, value_name = "SECONDS")]
    pub poll_min: Option<f64>,
    /// Longest seconds between polls of a job (the backoff cap).
    #[arg(long, value_name = "SECONDS")]
    pub poll_max: Option<f64>,
    /// Longest seconds a job may stay on the server before it is cancelled and requested again.
    #[arg(long, value_name = "SECONDS")]
    pub max_wait: Option<f64>,
    /// Attempts per request / file before a task fails.
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,
    /// Rounds per task: a task that failed transiently (e.g. a job cancelled after --max-wait)
    /// is requested again later in the same run until it has had this many (1 = never again).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub task_rounds: Option<u32>,
    /// Only submit new work between these times of day (UTC), e.g. 22:00-06:00.
    #[arg(long, value_name = "HH:MM-HH:MM")]
    pub window: Option<RunWindow>,
    /// Remove a stored run-time window.
    #[arg(long, conflicts_with = "window")]
    pub no_window: bool,
    /// Requests per second over all endpoints (0 = no cap).
    #[arg(long, value_name = "N")]
    pub max_rps: Option<f64>,
    /// Scale every wait as for a server running at this time scale (simulator testing;
    /// implied by --sim with --sim-time-scale).
    #[arg(long, hide = true, value_name = "SCALE")]
    pub server_time_scale: Option<f64>,
    /// Retry tasks that failed for good in earlier runs.
    #[arg(long)]
    pub retry_failed: bool,
    /// Re-hash every file recorded as verified before trusting it (by default only its size
    /// and modification time are checked); a changed file is fetched again.
    #[arg(long)]
    pub verify: bool,
    /// No progress line and no per-file lines on stderr (for cron); failed tasks are still
    /// reported, and the exit code says how the run ended.
    #[arg(long)]
    pub quiet: bool,
}

fn secs(field: &str, v: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(v)
        .map_err(|_| anyhow::anyhow!("--{field} must be a number of seconds ≥ 0, got {v}"))
}

impl EngineArgs {
    fn apply(
        &self,
        global: &GlobalArgs,
        stored: &EngineSettings,
        fresh: bool,
    ) -> anyhow::Result<EngineSettings> {
        let scale = self
            .server_time_scale
            .or(global.sim.then_some(global.sim_time_scale));
        let mut s = match scale {
            Some(x) => EngineSettings::scaled(x),
            None if fresh => EngineSettings::default(),
            None => stored.clone(),
        };
        if let Some(v) = self.run_slots {
            s.run_slots = v;
        }
        if let Some(v) = self.download_slots {
            s.download_slots = v;
        }
        if let Some(v) = self.stagger {
            s.stagger = secs("stagger", v)?;
        }
        if let Some(v) = self.poll_min {
            s.poll.min = secs("poll-min", v)?;
        }
        if let Some(v) = self.poll_max {
            s.poll.max = secs("poll-max", v)?;
        }
        if let Some(v) = self.max_wait {
            s.max_wait = secs("max-wait", v)?;
        }
        if let Some(v) = self.max_attempts {
            s.retry.max_attempts = v;
        }
        if let Some(v) = self.task_rounds {
            s.retry.task_rounds = v;
        }
        if let Some(w) = self.window {
            s.window = Some(w);
        }
        if self.no_window {
            s.window = None;
        }
        if let Some(v) = self.max_rps {
            s.max_requests_per_second = v;
        }
        Ok(s)
    }
}

/// `run-tasks`.
#[derive(Debug, Args)]
#[command(
    long_about = "Plan a batch of download tasks from a JSON file and run them with the resumable \
engine. Planning is idempotent (tasks are keyed by their normalised parameters), so running the \
same command again resumes instead of duplicating work.\n\n\
FILE holds a JSON array (or one JSON object per line) of tasks:\n  \
{\"kind\":\"order\",\"product\":\"TSSD\",\"extension\":\"csv\",\"device\":\"SBECTD19p7128\",\n   \
\"date_from\":\"2024-04-01T00:00:00Z\",\"date_to\":\"2024-04-02T00:00:00Z\",\n   \
\"options\":{\"dpo_qualityControl\":\"1\"},\"include_meta\":false,\"folder\":\"ctd\"}\n  \
{\"kind\":\"archive\",\"filename\":\"ICLISTENHF6324_20240401T000000.000Z.flac\",\"size\":123456}\n\
An order uses device (+ property) or location with device_category and/or property.",
    after_help = "Example:\n  onc-hydro run-tasks --tasks tasks.json --out data/ --run-slots 4\n  \
onc-hydro status data/          # from another terminal, while it runs\n  \
onc-hydro resume data/          # after a crash or Ctrl-C"
)]
pub struct RunTasksArgs {
    /// JSON file with the tasks.
    #[arg(long, value_name = "FILE")]
    pub tasks: PathBuf,
    /// Output folder (holds ledger.sqlite, summary.json and the files).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Only plan the tasks into the ledger; run them later with `resume <out>`.
    #[arg(long)]
    pub plan_only: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// `resume`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  onc-hydro resume data/ --retry-failed")]
pub struct ResumeArgs {
    /// Output folder of an earlier run (its ledger.sqlite holds everything needed).
    pub out: PathBuf,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Reads tasks: a JSON array, or one JSON object per line.
pub fn read_tasks(path: &Path) -> anyhow::Result<Vec<TaskSpec>> {
    read_json_items(path, "tasks", "a task")
}

/// Reads a JSON array of `T`, or one JSON object per line (`what`: "tasks"; `one`: "a task").
pub(super) fn read_json_items<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
    one: &str,
) -> anyhow::Result<Vec<T>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} file {}", path.display()))?;
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(&text)
            .with_context(|| format!("{}: not a JSON array of {what}", path.display()));
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .with_context(|| format!("{} line {}: not {one}", path.display(), i + 1))
        })
        .collect()
}

/// The engine's check before a downloaded `.mseed` file is renamed into place: every record
/// decodes (headers, Steim frames, integration constants) and there is at least one sample.
/// Other files pass.
fn check_mseed(path: &Path, name: &str) -> Result<(), String> {
    if !name.to_ascii_lowercase().ends_with(".mseed") {
        return Ok(());
    }
    let s = crate::media::scan_mseed_path(path).map_err(|e| e.to_string())?;
    if s.total_samples() == 0 {
        return Err(format!("{name}: no miniSEED data records"));
    }
    Ok(())
}

/// Opens the engine in `out` with the flags applied (shared with the hydrophone commands).
pub(super) fn open(out: &Path, global: &GlobalArgs, args: &EngineArgs) -> anyhow::Result<Engine> {
    let fresh = !out.join(crate::engine::LEDGER_FILE).exists();
    let config = EngineConfig {
        retry_failed: args.retry_failed,
        verify: args.verify,
        validator: Some(Arc::new(check_mseed)),
        ..EngineConfig::default()
    };
    let engine = Engine::open(out, config)
        .with_context(|| format!("opening the ledger in {}", out.display()))?;
    let settings = args.apply(global, engine.settings(), fresh)?;
    Ok(engine.with_settings(settings)?)
}

/// Which providers the ledger's tasks need: (Oceans 3.0, OOI M2M, OOI raw-data archive).
fn providers_needed(engine: &Engine) -> anyhow::Result<(bool, bool, bool)> {
    let (mut onc, mut ooi, mut raw) = (false, false, false);
    crate::engine::for_each_task(engine.ledger(), |row| {
        match row.spec {
            TaskSpec::Ooi(_) => ooi = true,
            TaskSpec::OoiRaw(_) => raw = true,
            _ => onc = true,
        }
        Ok(())
    })?;
    Ok((onc, ooi, raw))
}

/// Runs the engine with the clients its tasks need (shared with `ooi request`).
pub(super) async fn execute(
    engine: Engine,
    global: &GlobalArgs,
    quiet: bool,
) -> anyhow::Result<Outcome> {
    let (need_onc, need_ooi, need_raw) = providers_needed(&engine)?;
    let settings = if need_onc || !(need_ooi || need_raw) {
        Settings::resolve(global).await?
    } else {
        Settings::resolve_lenient(global).await?
    };
    let providers = Providers {
        onc: if settings.has_onc_token() {
            Some(client_for(&settings)?)
        } else {
            None
        },
        ooi: if need_ooi {
            Some(settings.ooi_client()?)
        } else {
            None
        },
        ooi_raw: if need_raw {
            Some(settings.ooi_raw_client()?)
        } else {
            None
        },
    };
    let progress = Arc::new(Progress::new(quiet));
    let result = engine.run_with(providers, progress.clone()).await;
    progress.finish();
    let summary = result?;
    print_summary(&summary, engine.out_dir(), settings.json);
    Ok(if summary.tasks_done == summary.tasks_total {
        Outcome::AllDone
    } else {
        Outcome::SomeFailed
    })
}

fn print_summary(s: &Summary, out: &Path, json: bool) {
    if json {
        match serde_json::to_string_pretty(s) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("cannot print the summary as JSON: {e}"),
        }
    } else {
        println!("{s}");
        println!("summary: {}", out.join("summary.json").display());
    }
}

pub async fn run_tasks(global: &GlobalArgs, args: RunTasksArgs) -> anyhow::Result<Outcome> {
    let tasks = read_tasks(&args.tasks)?;
    let engine = open(&args.out, global, &args.engine)?;
    let report = engine.plan(&tasks)?;
    if !global.json {
        eprintln!(
            "planned {} tasks: {} new, {} already in the ledger, {} revived",
            tasks.len(),
            report.added,
            report.already_planned,
            report.revived
        );
    }
    drop(tasks);
    if args.plan_only {
        return Ok(Outcome::AllDone);
    }
    execute(engine, global, args.engine.quiet).await
}

pub async fn resume(global: &GlobalArgs, args: ResumeArgs) -> anyhow::Result<Outcome> {
    if !args.out.join(crate::engine::LEDGER_FILE).is_file() {
        anyhow::bail!(
            "no ledger in {} (start with run-tasks, order or archive get)",
            args.out.display()
        );
    }
    let engine = open(&args.out, global, &args.engine)?;
    execute(engine, global, args.engine.quiet).await
}
