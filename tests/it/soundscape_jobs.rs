//! `soundscape` with several threads (issue 10, throughput): days spread over workers, days cut
//! into parts computed by different workers and merged, and a reader thread overlapping the
//! computation all give byte-identical products to one thread, on
//! input with a midnight crossing, a seamless join, an overlap, gaps, files shorter than a
//! window and than the minimum effort, a WAV among FLACs; an error in any worker stops the run,
//! names the file and leaves no output of the failed day behind.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use onc_hydro::analysis::soundscape::{self, Plan, SoundscapeSpec};
use onc_hydro::media::{encode_wav24, write_flac_path, FlacSpec};

const FS: u32 = 2000;

fn samples(seconds: f64, seed: u64) -> Vec<i32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let n = (seconds * f64::from(FS)).round() as usize;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let noise = (s >> 40) as f64 / (1u64 << 24) as f64 - 0.5;
            let tone = (2.0 * std::f64::consts::PI * 125.0 * i as f64 / f64::from(FS)).sin();
            ((0.3 * tone + 0.05 * noise * (1.0 + seed as f64)) * 8_000_000.0) as i32
        })
        .collect()
}

/// Inputs over three UTC days, named like ONC's archive.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    [
        ("20240401T235800.000Z", 150.0, "flac"), // crosses midnight
        ("20240402T000030.004Z", 100.0, "flac"), // joins it (within 10 ms)
        ("20240402T000200.000Z", 90.0, "flac"),  // overlaps the previous by 10 s
        ("20240402T000500.300Z", 0.4, "flac"),   // after a gap, shorter than one window
        ("20240402T000510.000Z", 20.0, "flac"),  // too little data for its minute
        ("20240403T100000.000Z", 70.0, "flac"),
        ("20240403T100110.000Z", 30.0, "wav"), // joins it
    ]
    .iter()
    .enumerate()
    .map(|(k, (start, seconds, ext))| {
        let path = dir.join(format!("ICLISTENHF6324_{start}.{ext}"));
        let x = samples(*seconds, k as u64);
        if *ext == "wav" {
            std::fs::write(&path, encode_wav24(&x, FS, 1).unwrap()).unwrap();
        } else {
            write_flac_path(&path, &x, &FlacSpec::mono24(FS)).unwrap();
        }
        path
    })
    .collect()
}

fn spec(jobs: usize) -> SoundscapeSpec {
    SoundscapeSpec {
        jobs,
        ..SoundscapeSpec::default()
    }
}

/// The product files in `dir`, sorted, with their bytes.
fn products(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect();
    v.sort();
    v
}

fn assert_same(a: &[(String, Vec<u8>)], b: &[(String, Vec<u8>)], what: &str) {
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|p| p.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(a), names(b), "{what}");
    for ((name, x), (_, y)) in a.iter().zip(b) {
        assert!(x == y, "{what}: {name} differs from the one-thread run");
    }
}

#[test]
fn several_threads_write_the_same_bytes_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let files = inputs(&dir.path().join("in"));
    let one = dir.path().join("jobs1");
    let reports = soundscape::run(&files, &one, &spec(1), |_| {}).unwrap();
    let days: Vec<&str> = reports.iter().map(|r| r.day.as_str()).collect();
    assert_eq!(days, ["20240401", "20240402", "20240403"]);
    // 23:58–23:59 | 00:00–00:03 (join, overlap), 00:05 (0.4 s + 20 s: flagged) | 10:00–10:01.
    let counts: Vec<(usize, usize)> = reports
        .iter()
        .map(|r| (r.minutes_with_data, r.flagged_minutes))
        .collect();
    assert_eq!(counts, [(2, 0), (5, 1), (2, 0)]);
    let reference = products(&one);
    assert_eq!(reference.len(), 9, "NetCDF + 2 PNGs per day");
    // 2 jobs: whole days over two workers; the midnight file is read by both of its days'
    // workers, every other file once. 4 jobs: each day cut in two (fewer days than jobs); day
    // 2's cut falls in the file that overlaps its predecessor (its first kept sample is at
    // 00:02:10, so the cut is at 00:03), which both sides read.
    for (jobs, twice) in [(2, vec![0]), (4, vec![0, 2])] {
        let out = dir.path().join(format!("jobs{jobs}"));
        let seen = Mutex::new(Vec::new());
        let r = soundscape::run(&files, &out, &spec(jobs), |p| {
            seen.lock().unwrap().push(p.to_path_buf())
        })
        .unwrap();
        let got: Vec<&str> = r.iter().map(|r| r.day.as_str()).collect();
        assert_eq!(got, days, "reports in day order with {jobs} jobs");
        assert_same(&reference, &products(&out), &format!("{jobs} jobs"));
        let mut seen = seen.into_inner().unwrap();
        seen.sort();
        let mut want = files.clone();
        want.extend(twice.iter().map(|&k| files[k].clone()));
        want.sort();
        assert_eq!(seen, want, "{jobs} jobs");
    }
    // One day, two jobs: day 2 in two parts merged by the worker that finishes last; day 1
    // (one file, nowhere to cut) computed by one worker fed by a reader thread.
    let plan = Plan::of(&files, &spec(1)).unwrap();
    for (k, what) in [(1, "one day in two parts"), (0, "one day, reader thread")] {
        let day = plan.days()[k].index;
        let out = dir.path().join(format!("day{k}"));
        let r = soundscape::run_plan(&plan, Some(&BTreeSet::from([day])), &out, &spec(2), &|_| {})
            .unwrap();
        assert_eq!(r.len(), 1);
        let want: Vec<(String, Vec<u8>)> = reference
            .iter()
            .filter(|(n, _)| n.contains(days[k]))
            .cloned()
            .collect();
        assert_same(&want, &products(&out), what);
    }
}

#[test]
fn an_error_in_any_worker_names_the_file_and_writes_no_part_of_its_day() {
    let dir = tempfile::tempdir().unwrap();
    let files = inputs(&dir.path().join("in"));
    // Corrupt the middle of the first file of day 3: its frames fail their CRC while decoding.
    let bad = &files[5];
    let mut bytes = std::fs::read(bad).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(bad, bytes).unwrap();
    for jobs in [1, 2, 4] {
        let out = dir.path().join(format!("jobs{jobs}"));
        let err = soundscape::run(&files, &out, &spec(jobs), |_| {})
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&bad.display().to_string()),
            "{jobs} jobs: {err}"
        );
        let names: Vec<String> = products(&out).into_iter().map(|p| p.0).collect();
        assert!(
            names.iter().all(|n| !n.contains("20240403")),
            "{jobs} jobs left {names:?}"
        );
        assert!(
            names.iter().all(|n| n.starts_with("soundscape_2024040")),
            "{jobs} jobs left a temporary: {names:?}"
        );
    }
}
