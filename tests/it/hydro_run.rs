//! `sample` without `--dry-run` runs through the download engine against the in-process
//! simulator: exactly one HSD file per sampled window, and a rerun downloads nothing.

use std::path::Path;
use std::process::Command;

fn sample(out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_onc-hydro"))
        .args([
            "--sim",
            "--sim-time-scale",
            "0.001",
            "--sim-audio-rate",
            "1000",
            "sample",
            "--device",
            "ICLISTENHF6324",
            "--from",
            "2024-04-01T00:00:00Z",
            "--to",
            "2024-04-03T00:00:00Z",
            "--count",
            "160",
            "--per-request",
            "12",
            "--downsample",
            "1",
            "--quiet",
            "--out",
        ])
        .arg(out)
        .env_remove("ONC_TOKEN")
        .env_remove("ONC_BASE_URL")
        .output()
        .expect("run onc-hydro")
}

fn mat_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("hsd folder")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".mat"))
        .collect();
    names.sort();
    names
}

fn summary(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn sample_delivers_exactly_the_sampled_windows_and_a_rerun_downloads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let first = sample(&out);
    assert_eq!(
        first.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    let hsd = out.join("ICLISTENHF6324").join("hsd");
    let names = mat_files(&hsd);
    assert_eq!(names.len(), 160, "{names:?}");
    assert!(out.join("ledger.sqlite").is_file());
    let s = summary(&out);
    assert_eq!(s["files"], 160);
    assert_eq!(s["hydro"]["windows_asked"], 160);
    assert_eq!(s["hydro"]["windows_delivered"], 160);
    assert_eq!(s["hydro"]["files_new"], 160);
    // Every file is a real MATLAB v5 file.
    let bytes = std::fs::read(hsd.join(&names[0])).unwrap();
    assert!(bytes.starts_with(b"MATLAB 5.0 MAT-file"));

    let second = sample(&out);
    assert_eq!(second.status.code(), Some(0));
    assert_eq!(mat_files(&hsd), names);
    let s = summary(&out);
    assert_eq!(s["files"], 0, "the rerun downloaded again: {s}");
    assert_eq!(s["hydro"]["files_new"], 0);
    assert_eq!(s["hydro"]["windows_delivered"], 160);
    assert_eq!(s["requests"].as_object().map(|m| m.len()), Some(0));
}

#[test]
fn span_with_audio_downloads_the_archive_flac_of_every_window() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let run = Command::new(env!("CARGO_BIN_EXE_onc-hydro"))
        .args([
            "--sim",
            "--sim-time-scale",
            "0.001",
            "--sim-audio-rate",
            "1000",
            "span",
            "--device",
            "ICLISTENHF6324",
            "--from",
            "2024-04-01T00:00:00Z",
            "--to",
            "2024-04-01T00:30:00Z",
            "--audio",
            "--downsample",
            "1",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .env_remove("ONC_TOKEN")
        .env_remove("ONC_BASE_URL")
        .output()
        .expect("run onc-hydro");
    assert_eq!(
        run.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let audio = out.join("ICLISTENHF6324").join("audio");
    let mut flac: Vec<_> = std::fs::read_dir(&audio)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "flac"))
        .collect();
    flac.sort();
    assert_eq!(flac.len(), 6, "{flac:?}");
    assert!(flac[0].ends_with("ICLISTENHF6324_20240401T000000.000Z.flac"));
    for f in &flac {
        assert!(std::fs::read(f).unwrap().starts_with(b"fLaC"), "{f:?}");
    }
    assert_eq!(mat_files(&out.join("ICLISTENHF6324").join("hsd")).len(), 6);
    let s = summary(&out);
    assert_eq!(s["hydro"]["audio_files_planned"], 6);
    assert_eq!(s["hydro"]["audio_gaps"].as_array().map(Vec::len), Some(0));
}
