//! The one integration-test binary: drives the library and the CLI against the simulator.
//! Each area has its own module file.

mod api_client;
mod cli_smoke;
mod contract;
mod hydro_plan;
mod spectrogram;
mod whale_calls;
