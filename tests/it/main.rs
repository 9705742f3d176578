//! The one integration-test binary: drives the library and the CLI against the simulator.
//! Each area has its own module file.

mod cli_smoke;
mod hydro_plan;
