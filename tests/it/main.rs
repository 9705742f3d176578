//! The one integration-test binary: drives the library and the CLI against the simulator.
//! Each area has its own module file.

// Test and benchmark code may unwrap, panic and print: a failure here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    missing_docs
)]

mod api_client;
mod audio_products;
mod cli_hygiene;
mod cli_smoke;
mod contract;
mod contract_snapshot;
mod engine_cli;
mod engine_cmds;
mod engine_hostile;
mod engine_kill;
mod engine_run;
mod fuzz_readers;
mod hydro_clips;
mod hydro_plan;
mod hydro_run;
mod hygiene_layers;
mod mseed_inputs;
mod nrt_cli;
mod ooi;
mod ooi_front;
mod ooi_raw;
mod plan_flow;
mod plan_roundtrip;
mod sim_contract_data;
mod sim_contract_delivery;
mod sim_faults;
mod sim_replay;
mod sim_serve;
mod slurm;
mod soundscape_jobs;
mod spectrogram;
mod sync_cli;
mod whale_calls;
