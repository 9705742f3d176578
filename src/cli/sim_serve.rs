//! `onc-hydro sim serve`: run the Oceans 3.0 simulator as a standalone server.

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::{GlobalArgs, Outcome};
use crate::sim::{SimConfig, SimServer, DEMO_TOKEN};

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve the simulated Oceans 3.0 API until interrupted. Prints the base URL on stdout's
    /// first line; the demo token is accepted.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,

    /// Latency scale: 1.0 = ONC-like seconds; 0.01 makes a 20 s job take 0.2 s.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
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
    let config = SimConfig {
        time_scale: args.time_scale,
        ..SimConfig::default()
    };
    let server = SimServer::bind(config, args.addr)
        .await
        .context("starting the simulator")?;
    println!("{}", server.base_url());
    eprintln!("simulator listening; demo token: {DEMO_TOKEN}; Ctrl-C stops it");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    drop(server);
    Ok(Outcome::AllDone)
}
