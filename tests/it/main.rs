//! The one integration-test binary: drives the library and the CLI against the simulator.
//! Each area has its own module file.

mod api_client;
mod cli_smoke;
mod contract;
mod engine_cli;
mod engine_kill;
mod engine_run;
mod hydro_clips;
mod hydro_plan;
mod hydro_run;
mod hygiene_layers;
mod plan_flow;
mod plan_roundtrip;
mod sim_contract_data;
mod sim_contract_delivery;
mod sim_faults;
mod sim_serve;
mod slurm;
mod spectrogram;
mod whale_calls;
