//! The command line: clap flags, settings (flags, `ONC_TOKEN`, `.env`, `--base-url`, `--sim`),
//! one file per subcommand, human / `--json` output and exit codes.
//!
//! The only module allowed `println!`, `anyhow` and terminal drawing. Exit codes: 0 all done,
//! 1 some items failed, 2 fatal error or bad usage, 3 reprocessed data found (`sync`), 4 the
//! output folder is in use by another run.
// The terminal layer: the one place that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod archive;
mod cancel;
mod discover;
mod download;
mod engine_cmd;
mod hydro_cmds;
mod ooi;
mod order;
mod plan_cmd;
mod progress;
mod readings;
mod resume;
mod settings;
mod sim_serve;
mod slurm;
mod soundscape;
mod spectrogram;
mod status;
mod sync;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use settings::{GlobalArgs, Settings};

/// What a finished command reports; mapped to the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asked for was done.
    AllDone,
    /// The run finished but some items failed (they are recorded and reported).
    SomeFailed,
    /// `sync` found files ONC reprocessed (new versions fetched, old ones kept): exit 3.
    Reprocessed,
    /// The output folder is in use by another run; nothing was done: exit 4.
    Busy,
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::AllDone => ExitCode::from(0),
            Outcome::SomeFailed => ExitCode::from(1),
            Outcome::Reprocessed => ExitCode::from(3),
            Outcome::Busy => ExitCode::from(4),
        }
    }
}

/// The command line (its `--help` text is set explicitly below).
#[derive(Debug, Parser)]
#[command(
    name = "onc-hydro",
    version,
    about = "Download Ocean Networks Canada (Oceans 3.0) data politely and resumably; cut hydrophone clips; compute spectrograms.",
    long_about = "Download Ocean Networks Canada (Oceans 3.0) data politely and resumably; cut hydrophone \
clips; compute spectrograms.\n\nThe token comes from --token, the ONC_TOKEN environment variable or a \
.env file, and is never printed. Add --sim to run any command against an in-process simulator of the \
Oceans 3.0 API (no network, no token needed).",
    after_help = "Examples:\n  onc-hydro --sim discover devices --filter deviceCategoryCode=HYDROPHONE\n  \
onc-hydro --sim archive list --device ICLISTENHF6324 --from 2024-04-01T00:00:00Z --to 2024-04-01T01:00:00Z\n  \
onc-hydro sim serve --addr 127.0.0.1:8080 --time-scale 0.05"
)]
pub struct Cli {
    /// Flags every command takes (`--token`, `--base-url`, `--sim`, `--json`).
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands, one file each.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the Oceans 3.0 simulator (`sim serve`).
    #[command(subcommand)]
    Sim(sim_serve::SimCommand),
    /// Query the discovery services (locations, devices, deployments, data products, …).
    Discover(discover::DiscoverArgs),
    /// List or download archived files.
    #[command(subcommand)]
    Archive(archive::ArchiveCommand),
    /// Order one data product (request, run, poll, download every file), resumable.
    Order(order::OrderArgs),
    /// Discovery → an Excel download plan (ONC's createXLS): By Location / By Device sheets,
    /// Configuration, Product options.
    Plan(plan_cmd::PlanArgs),
    /// Validate an (edited) plan workbook and download it; --dry-run prints the tasks.
    Download(download::DownloadArgs),
    /// Compute spectrograms (or Welch mean PSDs) of local FLAC/WAV files: NPZ, MAT, PNG.
    Spectrogram(Box<spectrogram::SpectrogramArgs>),
    /// Soundscape products per UTC day (hybrid millidecade spectra, band levels, percentiles,
    /// SPD) as NetCDF + LTSA PNG from local FLAC/WAV files.
    Soundscape(Box<soundscape::SoundscapeArgs>),
    /// Exactly N five-minute windows per device, in bursts of K spread evenly over a range.
    Sample(hydro_cmds::SampleArgs),
    /// Every five-minute window of a range.
    Span(hydro_cmds::SpanArgs),
    /// The five-minute windows around explicit instants (with optional padding and clips).
    Times(hydro_cmds::TimesArgs),
    /// Windows, requests and clips for an annotation file (JSON or CSV; see requests/).
    Fetch(hydro_cmds::FetchArgs),
    /// Plan a batch of download tasks (JSON) and run them with the resumable engine.
    RunTasks(resume::RunTasksArgs),
    /// OOI (Ocean Observatories Initiative): inventory, and asynchronous NetCDF requests
    /// downloaded on the resumable engine.
    #[command(subcommand)]
    Ooi(ooi::OoiCommand),
    /// Continue the run recorded in <out>/ledger.sqlite (re-attaches to server jobs).
    Resume(resume::ResumeArgs),
    /// Keep a local archive current from a sync spec: only new files, reprocessed files
    /// detected (old versions kept), high-water marks; cron-friendly (--quiet, exit codes, lock).
    // The variant's doc comment would replace the command's long help: restore it.
    #[command(long_about = sync::LONG_ABOUT)]
    Sync(sync::SyncArgs),
    /// Near-real-time scalar sensor data appended to per-sensor CSV files (--since-last, --plot).
    #[command(long_about = readings::SCALAR_ABOUT)]
    Scalar(readings::ScalarArgs),
    /// Near-real-time raw instrument lines appended to one CSV file per device (--since-last).
    #[command(long_about = readings::RAW_ABOUT)]
    Raw(readings::RawArgs),
    /// Show the progress recorded in <out>/ledger.sqlite (safe while a run is going).
    Status(status::StatusArgs),
    /// Cancel the server jobs of every unfinished task recorded in <out>/ledger.sqlite.
    Cancel(cancel::CancelArgs),
    /// Split `spectrogram` over a Slurm job array (`submit`), follow it (`status`), merge step.
    #[command(subcommand)]
    Slurm(slurm::SlurmCommand),
}

/// Entry point used by `main.rs`.
pub fn main() -> ExitCode {
    // `.env` before the flags: clap reads `ONC_TOKEN` from the environment while parsing.
    settings::load_dotenv();
    exit_quietly_on_closed_stdout();
    let cli = Cli::parse();
    settings::init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(outcome) => outcome.into(),
        Err(e) => {
            eprintln!("error: {}", settings::redact_chain(&e));
            ExitCode::from(2)
        }
    }
}

/// A closed stdout pipe (`onc-hydro archive list | head -1`) is success, as in ripgrep.
/// `println!` panics with "failed printing to stdout: Broken pipe" when the reader has gone; this
/// hook turns exactly that panic into a quiet exit 0 and leaves every other panic to the default
/// hook.
fn exit_quietly_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info)
    }));
}

async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Sim(cmd) => sim_serve::run(&cli.global, cmd).await,
        Command::Discover(args) => discover::run(&cli.global, args).await,
        Command::Archive(cmd) => archive::run(&cli.global, cmd).await,
        Command::Order(args) => order::run(&cli.global, args).await,
        Command::Plan(args) => plan_cmd::run(&cli.global, args).await,
        Command::Download(args) => download::run(&cli.global, args).await,
        Command::Spectrogram(args) => spectrogram::run(&cli.global, *args).await,
        Command::Soundscape(args) => soundscape::run(&cli.global, *args),
        Command::Sample(args) => hydro_cmds::sample(&cli.global, args).await,
        Command::Span(args) => hydro_cmds::span(&cli.global, args).await,
        Command::Times(args) => hydro_cmds::times(&cli.global, args).await,
        Command::Fetch(args) => hydro_cmds::fetch(&cli.global, args).await,
        Command::RunTasks(args) => resume::run_tasks(&cli.global, args).await,
        Command::Resume(args) => resume::resume(&cli.global, args).await,
        Command::Ooi(cmd) => ooi::run(&cli.global, cmd).await,
        Command::Sync(args) => sync::run(&cli.global, args).await,
        Command::Scalar(args) => readings::scalar(&cli.global, args).await,
        Command::Raw(args) => readings::raw(&cli.global, args).await,
        Command::Status(args) => status::run(&cli.global, args),
        Command::Cancel(args) => cancel::run(&cli.global, args).await,
        Command::Slurm(cmd) => slurm::run(&cli.global, cmd),
    }
}
