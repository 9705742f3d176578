//! `slurm submit` on a real single-node Slurm cluster (ignored by default: `.ci/run` starts the
//! cluster with `scripts/slurm_up.sh`, runs this with `--ignored`, and stops it). Simulator
//! FLACs are split into a 4-task job array; the outputs must equal a single-machine run byte
//! for byte, re-submitting must do nothing, and a shard cancelled mid-run must be redone by
//! re-submitting — and only it. Without a cluster, `--shard` itself is checked by
//! `shards_cover_the_frozen_list_once` (not ignored).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use onc_hydro::sim::content::{self, Recording};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_onc-hydro"))
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Simulator hydrophone FLACs: `n` files of `seconds` at `rate` Hz, named like ONC's archive.
fn simulator_flacs(dir: &Path, n: usize, seconds: f64, rate: u32) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    (0..n)
        .map(|i| {
            let start: jiff::Timestamp = "2024-04-01T00:00:00Z".parse().unwrap();
            let start = start + jiff::SignedDuration::from_secs(300 * i as i64);
            let rec = Recording {
                device_code: "ICLISTENHF6324".into(),
                start,
                duration_s: seconds,
                sample_rate: rate,
                seed: 7,
            };
            let name = format!(
                "ICLISTENHF6324_{}.flac",
                start.strftime("%Y%m%dT%H%M%S.000Z")
            );
            let path = dir.join(name);
            std::fs::write(&path, content::flac(&rec).unwrap()).unwrap();
            path
        })
        .collect()
}

fn spectrogram_args(input: &Path, out: &Path) -> Vec<String> {
    spectrogram_args_nfft(input, out, "512")
}

fn spectrogram_args_nfft(input: &Path, out: &Path, nfft: &str) -> Vec<String> {
    [
        "spectrogram",
        input.to_str().unwrap(),
        "--nfft",
        nfft,
        "--format",
        "npz,mat",
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Outputs equal: NPZ and MAT byte for byte; JSON sidecars apart from their creation time.
fn assert_same_outputs(a: &Path, b: &Path, stems: &[String]) {
    for stem in stems {
        for ext in ["npz", "mat"] {
            let (x, y) = (
                a.join(format!("{stem}.{ext}")),
                b.join(format!("{stem}.{ext}")),
            );
            if ext == "mat" {
                // MAT metadata holds the creation time too: compare the arrays.
                let (mx, my) = (
                    onc_hydro::media::read_mat_path(&x).unwrap(),
                    onc_hydro::media::read_mat_path(&y).unwrap(),
                );
                for v in ["psd_db", "frequency_hz", "time_s"] {
                    assert_eq!(mx.get(v), my.get(v), "{stem}.mat {v}");
                }
            } else {
                assert!(
                    std::fs::read(&x).unwrap() == std::fs::read(&y).unwrap(),
                    "{} differs from {}",
                    x.display(),
                    y.display()
                );
            }
        }
        let json = |p: PathBuf| {
            let mut v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            v.as_object_mut().unwrap().remove("created");
            v
        };
        assert_eq!(
            json(a.join(format!("{stem}.json"))),
            json(b.join(format!("{stem}.json")))
        );
    }
}

fn stems(files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|f| f.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn shards_cover_the_frozen_list_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let files = simulator_flacs(&input, 5, 2.0, 8000);
    let single = dir.path().join("single");
    let sharded = dir.path().join("sharded");
    ok(&bin()
        .args(spectrogram_args(&input, &single))
        .output()
        .unwrap());
    ok(&bin()
        .args(spectrogram_args(&input, &sharded))
        .args(["--shard", "0/2"])
        .output()
        .unwrap());
    // A file added after the list was frozen is not part of this run.
    simulator_flacs(&dir.path().join("late"), 1, 2.0, 8000);
    std::fs::rename(
        dir.path()
            .join("late")
            .read_dir()
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path(),
        input.join("ICLISTENHF6324_20250101T000000.000Z.flac"),
    )
    .unwrap();
    let o = bin()
        .args(spectrogram_args(&input, &sharded))
        .args(["--shard", "1/2", "--json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(
        doc["files"].as_array().unwrap().len(),
        2,
        "files 1 and 3 of 5"
    );
    assert_same_outputs(&single, &sharded, &stems(&files));
    assert!(!sharded
        .join("ICLISTENHF6324_20250101T000000.000Z.npz")
        .exists());
    // Shard 0 again: every output exists, nothing is recomputed.
    let o = bin()
        .args(spectrogram_args(&input, &sharded))
        .args(["--shard", "0/2", "--json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(doc["skipped"], 3);
    let o = bin()
        .args(["slurm", "status", sharded.to_str().unwrap(), "--tasks", "2"])
        .output()
        .unwrap();
    let text = ok(&o);
    assert!(text.contains("2 finished, 0 not"), "{text}");
    // Another input list into the same folder is refused.
    let o = bin()
        .args(spectrogram_args(&single, &sharded))
        .args(["--shard", "0/2"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

fn squeue_empty(job: &str) -> bool {
    let o = Command::new("squeue")
        .args(["-h", "-j", job])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().is_empty()
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `(job id, merge job id)` from `slurm submit --json`, or `None` if nothing was submitted.
fn submit(args: &[String]) -> Option<(String, String)> {
    let o = bin().args(args).output().unwrap();
    let doc: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    if doc["submitted"] == false {
        return None;
    }
    Some((
        doc["job_id"].as_str().unwrap().to_string(),
        doc["merge_job_id"].as_str().unwrap().to_string(),
    ))
}

fn mtimes(dir: &Path, stems: &[String]) -> Vec<std::time::SystemTime> {
    stems
        .iter()
        .map(|s| {
            std::fs::metadata(dir.join(format!("{s}.npz")))
                .unwrap()
                .modified()
                .unwrap()
        })
        .collect()
}

#[test]
#[ignore = "needs a running Slurm cluster (scripts/slurm_up.sh); run by .ci/run"]
fn slurm_job_array_matches_a_single_machine_run_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let files = simulator_flacs(&input, 8, 20.0, 32_000);
    let names = stems(&files);
    let single = dir.path().join("single");
    ok(&bin()
        .args(spectrogram_args(&input, &single))
        .output()
        .unwrap());

    // 4 tasks; then re-submitting finds nothing to do.
    let cluster = dir.path().join("cluster");
    let submit_args = |out: &Path, tasks: &str| -> Vec<String> {
        let mut a: Vec<String> = ["slurm", "submit", "--json", "--tasks", tasks, "--"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.extend(spectrogram_args(&input, out));
        a
    };
    let t = Instant::now();
    let (job, merge) = submit(&submit_args(&cluster, "4")).expect("a first submission");
    wait_for("the array and merge jobs", Duration::from_secs(300), || {
        squeue_empty(&job) && squeue_empty(&merge)
    });
    eprintln!("4 tasks: {:.1} s", t.elapsed().as_secs_f64());
    assert_same_outputs(&single, &cluster, &names);
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(cluster.join("onc-hydro-run/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["done"], 8);
    assert_eq!(summary["finished_shards"], 4);
    let before = mtimes(&cluster, &names);
    assert!(submit(&submit_args(&cluster, "4")).is_none());
    assert_eq!(mtimes(&cluster, &names), before);

    // 2 tasks, one of which holds a long file: cancel that task while it runs.
    let long_in = dir.path().join("long");
    let mut long_files = simulator_flacs(&long_in, 3, 20.0, 32_000);
    let big = long_in.join("ICLISTENHF6324_20240401T000500.000Z.flac");
    let rec = Recording {
        device_code: "ICLISTENHF6324".into(),
        start: "2024-04-01T00:05:00Z".parse().unwrap(),
        duration_s: 300.0,
        sample_rate: 64_000,
        seed: 7,
    };
    std::fs::write(&big, content::flac(&rec).unwrap()).unwrap(); // file 1 → shard 1
    long_files.sort();
    let long_names = stems(&long_files);
    let long_single = dir.path().join("long_single");
    let long_cluster = dir.path().join("long_cluster");
    ok(&bin()
        .args(spectrogram_args_nfft(&long_in, &long_single, "256"))
        .output()
        .unwrap());
    let mut sargs: Vec<String> = ["slurm", "submit", "--json", "--tasks", "2", "--"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    sargs.extend(spectrogram_args_nfft(&long_in, &long_cluster, "256"));
    let (job, merge) = submit(&sargs).expect("submission");
    let record = long_cluster.join("onc-hydro-run/shards/shard-0001-of-0002.json");
    wait_for("shard 1 to start", Duration::from_secs(120), || {
        record.exists()
    });
    ok(&Command::new("scancel")
        .arg(format!("{job}_1"))
        .output()
        .unwrap());
    wait_for("the cancelled array", Duration::from_secs(120), || {
        squeue_empty(&job) && squeue_empty(&merge)
    });
    assert!(
        !long_cluster.join(format!("{}.npz", long_names[1])).exists(),
        "the long file was cancelled before it finished"
    );
    let status = bin()
        .args(["slurm", "status", long_cluster.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("1 finished, 1 not"), "{text}");
    let shard0: Vec<String> = vec![long_names[0].clone(), long_names[2].clone()];
    let before = mtimes(&long_cluster, &shard0);
    let (job2, merge2) = submit(&sargs).expect("re-submission of the cancelled shard");
    let subs: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(long_cluster.join("onc-hydro-run/submissions.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        subs[1]["array"], "1",
        "only the cancelled shard is submitted again"
    );
    wait_for("the re-submitted shard", Duration::from_secs(300), || {
        squeue_empty(&job2) && squeue_empty(&merge2)
    });
    assert_eq!(
        mtimes(&long_cluster, &shard0),
        before,
        "shard 0 was not redone"
    );
    assert_same_outputs(&long_single, &long_cluster, &long_names);
    let leftovers: Vec<String> = std::fs::read_dir(&long_cluster)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".onc-hydro-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(submit(&sargs).is_none());
}

/// Simulator FLACs over four UTC days, named like ONC's archive: a file crossing midnight into
/// day 2, a file joined seamlessly to its end, one at noon of day 2, one crossing into day 4.
fn soundscape_days(dir: &Path, rate: u32) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    [
        ("2024-04-01T23:58:00Z", 180.0),
        ("2024-04-02T00:01:00Z", 60.0),
        ("2024-04-02T12:00:00Z", 90.0),
        ("2024-04-03T23:59:30Z", 60.0),
    ]
    .iter()
    .map(|(start, seconds)| {
        let start: jiff::Timestamp = start.parse().unwrap();
        let rec = Recording {
            device_code: "ICLISTENHF6324".into(),
            start,
            duration_s: *seconds,
            sample_rate: rate,
            seed: 7,
        };
        let path = dir.join(format!(
            "ICLISTENHF6324_{}.flac",
            start.strftime("%Y%m%dT%H%M%S.000Z")
        ));
        std::fs::write(&path, content::flac(&rec).unwrap()).unwrap();
        path
    })
    .collect()
}

fn soundscape_args(input: &Path, out: &Path) -> Vec<String> {
    [
        "soundscape",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Every product file in `a` equals the one in `b` byte for byte, and there are `n` of them.
fn assert_same_products(a: &Path, b: &Path, n: usize) {
    let list = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("soundscape_"))
            .collect();
        v.sort();
        v
    };
    let names = list(a);
    assert_eq!(names.len(), n, "{names:?}");
    assert_eq!(names, list(b));
    for name in names {
        assert!(
            std::fs::read(a.join(&name)).unwrap() == std::fs::read(b.join(&name)).unwrap(),
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn soundscape_shards_equal_the_unsharded_run_and_skip_finished_days() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    soundscape_days(&input, 2000);
    let single = dir.path().join("single");
    let sharded = dir.path().join("sharded");
    ok(&bin()
        .args(soundscape_args(&input, &single))
        .output()
        .unwrap());
    for i in 0..2 {
        let o = bin()
            .args(soundscape_args(&input, &sharded))
            .args(["--shard", &format!("{i}/2"), "--json"])
            .output()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
        assert_eq!(doc["days"], 2, "four days, two per shard");
        assert_eq!(doc["computed"].as_array().unwrap().len(), 2);
    }
    // Days 2024-04-01..04: 3 products each; day 2 (shard 1) needs the file from day 1.
    assert_same_products(&single, &sharded, 12);
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sharded.join("onc-hydro-run/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["unit"], "day");
    assert_eq!(manifest["units"][1]["name"], "2024-04-02");
    assert_eq!(manifest["units"][1]["files"], serde_json::json!([0, 1, 2]));
    // A lost day is recomputed on its own; the other day of the shard is skipped.
    let day2 = sharded.join("soundscape_20240402.nc");
    std::fs::remove_file(&day2).unwrap();
    let day4 = sharded.join("soundscape_20240404.nc");
    let before = std::fs::metadata(&day4).unwrap().modified().unwrap();
    let o = bin()
        .args(soundscape_args(&input, &sharded))
        .args(["--shard", "1/2", "--json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(doc["skipped"], serde_json::json!(["2024-04-04"]));
    assert_eq!(
        std::fs::metadata(&day4).unwrap().modified().unwrap(),
        before
    );
    assert_same_products(&single, &sharded, 12);
    let o = bin()
        .args(["slurm", "status", sharded.to_str().unwrap(), "--tasks", "2"])
        .output()
        .unwrap();
    let text = ok(&o);
    assert!(text.contains("shard   days"), "{text}");
    assert!(
        text.contains("4 days in 2 shards: 2 finished, 0 not"),
        "{text}"
    );
}

#[test]
#[ignore = "needs a running Slurm cluster (scripts/slurm_up.sh); run by .ci/run"]
fn slurm_soundscape_array_matches_a_single_machine_run() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    soundscape_days(&input, 8000);
    let single = dir.path().join("single");
    ok(&bin()
        .args(soundscape_args(&input, &single))
        .output()
        .unwrap());
    let cluster = dir.path().join("cluster");
    let mut args: Vec<String> = ["slurm", "submit", "--json", "--tasks", "3", "--"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(soundscape_args(&input, &cluster));
    let (job, merge) = submit(&args).expect("a first submission");
    wait_for(
        "the soundscape array and merge",
        Duration::from_secs(300),
        || squeue_empty(&job) && squeue_empty(&merge),
    );
    assert_same_products(&single, &cluster, 12);
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(cluster.join("onc-hydro-run/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["unit"], "day");
    assert_eq!(summary["done"], 4);
    assert_eq!(summary["finished_shards"], 3);
    let status = bin()
        .args(["slurm", "status", cluster.to_str().unwrap()])
        .output()
        .unwrap();
    let text = ok(&status);
    assert!(
        text.contains("4 days in 3 shards: 3 finished, 0 not"),
        "{text}"
    );
    assert!(submit(&args).is_none(), "every day is finished");
}
