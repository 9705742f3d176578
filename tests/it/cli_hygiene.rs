//! Terminal-layer promises (issue 16 items 4 and 14): `.env` is read before the flags, and a
//! closed stdout pipe is success.

use std::process::{Command, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_onc-hydro"));
    c.env_remove("ONC_TOKEN").env_remove("RUST_LOG");
    c
}

fn example(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("requests")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn onc_token_in_dot_env_is_used() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Port 9 on loopback: nothing listens, so with a token the command fails on connecting.
    let args = [
        "--base-url",
        "http://127.0.0.1:9",
        "discover",
        "devices",
        "--filter",
        "deviceCode=ICLISTENHF6324",
    ];
    let without = bin()
        .current_dir(dir.path())
        .args(args)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&without.stderr);
    assert!(text.contains("no Oceans 3.0 token"), "control: {text}");

    std::fs::write(dir.path().join(".env"), "ONC_TOKEN=0123abcd-ef45\n").expect("write .env");
    let with = bin()
        .current_dir(dir.path())
        .args(args)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&with.stderr);
    assert!(!text.contains("no Oceans 3.0 token"), "{text}");
    assert!(
        !text.contains("0123abcd"),
        "the token never appears: {text}"
    );
}

#[test]
fn closed_stdout_pipe_is_success() {
    let mut child = bin()
        .args(["--sim", "fetch", &example("whale_calls.json"), "--dry-run"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Close the reading end before the plan is printed, as `| head -0` would.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
}
