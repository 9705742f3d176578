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

/// A spectrogram plot a person can read: the expected size, mostly not blank, dark axis
/// lines and labels in the margins, many colours in the plot area.
fn assert_readable_png(bytes: &[u8]) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG file");
    let img = image::load_from_memory(bytes).expect("decodes").to_rgb8();
    let (w, h) = img.dimensions();
    assert!(w >= 1000 && h >= 500, "{w}×{h}");
    let colours: std::collections::HashSet<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    assert!(colours.len() > 50, "{} colours: blank?", colours.len());
    // Axis lines and tick labels: dark pixels in the left margin (first 12 % of the width).
    let dark_left = (0..h)
        .flat_map(|y| (0..w * 12 / 100).map(move |x| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&c| c < 80))
        .count();
    assert!(dark_left > 500, "{dark_left} dark pixels left of the plot");
}

/// `onc-hydro --sim` at a 4 kHz audio rate with `args`, then `--quiet --out out`; asserts exit 0.
fn sim_run(args: &[&str], out: &Path) {
    let run = Command::new(env!("CARGO_BIN_EXE_onc-hydro"))
        .args([
            "--sim",
            "--sim-time-scale",
            "0.001",
            "--sim-audio-rate",
            "4000",
        ])
        .args(args)
        .args(["--quiet", "--out"])
        .arg(out)
        .env_remove("ONC_TOKEN")
        .env_remove("ONC_BASE_URL")
        .output()
        .expect("run onc-hydro");
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{args:?}: {err}");
}

#[test]
fn hsd_ext_mat_png_puts_a_readable_plot_beside_each_mat_and_order_takes_png() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let (from, to) = ("2024-04-01T00:00:00Z", "2024-04-01T00:10:00Z");
    let dev = ["--device", "ICLISTENHF6324", "--from", from, "--to", to];
    sim_run(
        &[&["span"], &dev[..], &["--hsd-ext", "mat,png"]].concat(),
        &out,
    );
    let hsd = out.join("ICLISTENHF6324").join("hsd");
    let mats = mat_files(&hsd);
    assert_eq!(mats.len(), 2, "{mats:?}");
    for m in &mats {
        // ICLISTENHF6324_<start>_<end>-OD-spect_plotRes.mat beside …-OD-spect.png
        let stem = m.split("-spect").next().unwrap();
        let png = hsd.join(format!("{stem}-spect.png"));
        assert_readable_png(&std::fs::read(&png).unwrap_or_else(|e| panic!("{png:?}: {e}")));
    }
    let s = summary(&out);
    assert_eq!(s["hydro"]["hsd_files_by_ext"]["mat"], 2, "{s}");
    assert_eq!(s["hydro"]["hsd_files_by_ext"]["png"], 2, "{s}");
    assert_eq!(s["hydro"]["windows_delivered"], 2);

    // `order --product HSD --ext png` with a real plot option (upper frequency limit).
    let o = dir.path().join("order");
    let plot = ["--product", "HSD", "--ext", "png"];
    let opt = ["--option", "dpo_spectrogramFrequencyUpperLimit=1000"];
    sim_run(
        &[
            &["order"],
            &dev[..2],
            &["--from", from, "--to", "2024-04-01T00:05:00Z"],
            &plot,
            &opt,
        ]
        .concat(),
        &o,
    );
    let pngs: Vec<_> = walk(&o)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    assert_eq!(pngs.len(), 1, "{pngs:?}");
    assert_readable_png(&std::fs::read(&pngs[0]).unwrap());
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
