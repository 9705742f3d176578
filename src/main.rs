//! The `onc-hydro` binary: everything lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    onc_hydro::cli::main()
}
