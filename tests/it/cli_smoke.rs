//! The binary starts, teaches, and refuses bad input with exit code 2.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_onc-hydro"))
}

#[test]
fn help_lists_the_commands() {
    let out = bin().arg("--help").output().expect("run onc-hydro");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("sim"), "{text}");
    assert!(text.contains("--sim"), "{text}");
}

#[test]
fn unknown_command_is_a_usage_error() {
    let out = bin()
        .arg("no-such-command")
        .output()
        .expect("run onc-hydro");
    assert_eq!(out.status.code(), Some(2));
}
