//! `onc-hydro sim serve`: run the Oceans 3.0 simulator as a standalone server.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::{GlobalArgs, Outcome};
use crate::sim::{
    FaultPlan, Reprocessing, SimConfig, SimServer, DEMO_TOKEN, OOI_DEMO_TOKEN, OOI_DEMO_USERNAME,
};

fn parse_reprocessing(s: &str) -> Result<Reprocessing, String> {
    Reprocessing::parse(s).map_err(|e| e.to_string())
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve the simulated Oceans 3.0 API (and the OOI M2M + THREDDS simulator under `ooi/`)
    /// until interrupted. Prints the base URL on stdout's first line; the demo token (and the
    /// OOI demo username/token pair) are accepted.
    Serve(ServeArgs),
}

const FAULTS_HELP: &str = "Inject faults. Comma-separated items:\n  \
SCOPE#N=KIND  the N-th request (1-based) of SCOPE gets KIND\n  \
SCOPE~P=KIND  each request of SCOPE gets KIND with probability P (0..1)\n\
SCOPE: any, discovery, request, run, status, download (data product download), cancel, restart, \
list (archive listings), archive (archive file download), scalar, raw; OOI: m2m (inventory, \
deployments, requests), thredds (catalog pages), fileserver (file downloads), async (status.txt), ooi-raw (raw-data listings and miniSEED files)\n\
KIND: 500, 502, 503, 504, 429, gone (410 on a product download), error (the data product run fails; \
run/status/download scopes; on m2m an OOI request that never completes), reset (connection reset mid-body), \
truncate (Content-Length larger than the body sent), slow[:SECONDS] (delay × time scale, default 30)\n\
Example: --faults 'download#3=503,archive#5=reset,any~0.02=502'";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,

    /// Latency scale: 1.0 = ONC-like seconds; 0.01 makes a 20 s job take 0.2 s; 0 = no waiting.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,

    /// Append one JSON line per request (time, method, path, query without token, status).
    #[arg(long, value_name = "FILE")]
    pub request_log: Option<PathBuf>,

    #[arg(long, value_name = "SPEC", long_help = FAULTS_HELP, help = "Inject faults, e.g. 'download#3=503,any~0.05=reset' (see --help)")]
    pub faults: Option<String>,

    /// Data product jobs the server runs at once (all tokens together); more wait `queued`.
    /// The default is calibrated on a recorded run of the real service (see sim/jobs.rs).
    #[arg(long, default_value_t = crate::sim::DEFAULT_JOB_WORKERS, value_name = "N")]
    pub max_jobs: usize,

    /// The simulator's "now" at start-up (default: the real time), e.g. 2024-05-01T00:00:00Z.
    #[arg(long, value_name = "TIMESTAMP")]
    pub now: Option<jiff::Timestamp>,

    /// Simulated seconds per wall-clock second: 1 = real time, 3600 = an hour per second (new
    /// files and samples appear as it moves), 0 = frozen at --now.
    #[arg(long, default_value_t = 1.0, value_name = "X")]
    pub clock_speed: f64,

    /// Re-archive a file with new content, size and modifyDate at a simulated time
    /// (repeatable), e.g. ICLISTENHF1560_20260101T000000.000Z.flac@2026-01-02T00:00:00.000Z.
    #[arg(long, value_name = "NAME@TIME", value_parser = parse_reprocessing)]
    pub reprocess: Vec<Reprocessing>,

    /// Render audio at this sample rate instead of each device's real one (faster).
    #[arg(long, value_name = "HZ")]
    pub audio_sample_rate: Option<u32>,

    /// Seed mixed into all synthetic content.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Emit occasional bare NaN values in scalar data, as ONC sometimes does.
    #[arg(long)]
    pub scalar_nan: bool,

    /// Also accept this token (repeatable); the demo token is always accepted.
    #[arg(long = "accept-token", value_name = "TOKEN")]
    pub accept_tokens: Vec<String>,
}

pub async fn run(_global: &GlobalArgs, cmd: SimCommand) -> anyhow::Result<Outcome> {
    match cmd {
        SimCommand::Serve(args) => serve(args).await,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<Outcome> {
    if !(args.time_scale.is_finite() && args.time_scale >= 0.0) {
        anyhow::bail!("--time-scale must be a number ≥ 0, got {}", args.time_scale);
    }
    if !(args.clock_speed.is_finite() && args.clock_speed >= 0.0) {
        anyhow::bail!(
            "--clock-speed must be a number ≥ 0, got {}",
            args.clock_speed
        );
    }
    if args.max_jobs == 0 {
        anyhow::bail!("--max-jobs must be at least 1");
    }
    let faults = match &args.faults {
        Some(spec) => FaultPlan::parse(spec).context("--faults")?,
        None => FaultPlan::none(),
    };
    let mut tokens = vec![DEMO_TOKEN.to_string()];
    tokens.extend(args.accept_tokens.iter().cloned());
    let mut config = SimConfig {
        time_scale: args.time_scale,
        tokens,
        job_workers: args.max_jobs,
        faults,
        request_log_file: args.request_log.clone(),
        audio_sample_rate_override: args.audio_sample_rate,
        seed: args.seed,
        scalar_nan: args.scalar_nan,
        clock_speed: args.clock_speed,
        reprocess: args.reprocess.clone(),
        ..SimConfig::default()
    };
    if let Some(now) = args.now {
        config.now = now;
    }
    let server = SimServer::bind(config, args.addr)
        .await
        .context("starting the simulator")?;
    println!("{}", server.base_url());
    eprintln!(
        "simulator listening; demo token: {DEMO_TOKEN}; OOI M2M at {}ooi/api/m2m/ \
         (username {OOI_DEMO_USERNAME}, token {OOI_DEMO_TOKEN}); Ctrl-C stops it",
        server.base_url()
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    drop(server);
    Ok(Outcome::AllDone)
}
