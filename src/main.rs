//! The `onc-hydro` binary: everything lives in the library's `cli` module.

// The terminal layer: the one place that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

fn main() -> std::process::ExitCode {
    onc_hydro::cli::main()
}
