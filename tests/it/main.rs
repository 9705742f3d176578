//! The one integration-test binary: drives the library and the CLI against the simulator.
//! Each area has its own module file.

mod api_client;
mod cli_smoke;
mod contract;
mod engine_cli;
mod engine_kill;
mod engine_run;
mod spectrogram;
