//! The hydrophone front end on OOI broadband hydrophones, against the raw-data simulator: clips
//! cut from the downloaded miniSEED files hold exactly the decoded source samples at the right
//! offsets (across a file boundary, and across the archive's 0.5 s gap, which the sidecar
//! lists), 24-bit FLAC where every sample fits and 32-bit where one does not, `sample` on an
//! OOI device end to end (window FLAC + sidecar + local NPZ spectrogram) with a rerun that
//! downloads nothing, a mixed ONC + OOI annotation file through `fetch`, and a `provider`
//! column that contradicts its device failing with the row and field named.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use onc_hydro::engine::{
    Engine, EngineConfig, EngineSettings, NullReporter, OoiRawSpec, Providers, TaskSpec,
};
use onc_hydro::hydro::{self, CallerDefaults, TimeRange};
use onc_hydro::media::{
    read_mseed_path, write_mseed_path, MseedEncoding, MseedSamples, MseedTrace, MseedWriteOptions,
    SourceId,
};
use onc_hydro::ooi::RawClient;
use onc_hydro::sim::{SimConfig, SimServer};

const AXBA: &str = "RS03AXBS-LJ03A-09-HYDBBA302";
const RATE: u32 = 2000;

fn range(a: &str, b: &str) -> TimeRange {
    TimeRange::new(a.parse().unwrap(), b.parse().unwrap()).unwrap()
}

/// Downloads the raw files of `[from, to)` into `<dir>/<AXBA>/raw` through the engine.
async fn download(dir: &Path, from: &str, to: &str) {
    let sim = SimServer::start(SimConfig {
        time_scale: 0.0,
        audio_sample_rate_override: Some(RATE),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let engine = Engine::open(
        dir,
        EngineConfig {
            settings: Some(EngineSettings::scaled(0.0)),
            ..EngineConfig::default()
        },
    )
    .unwrap();
    let spec = OoiRawSpec {
        refdes: AXBA.into(),
        from: from.parse().unwrap(),
        to: to.parse().unwrap(),
        folder: Some(format!("{AXBA}/raw")),
        starts_only: false,
    };
    engine.plan(&[TaskSpec::OoiRaw(spec)]).unwrap();
    let providers = Providers {
        ooi_raw: Some(RawClient::new(&format!("{}ooi-raw/files/", sim.base_url())).unwrap()),
        ..Providers::default()
    };
    let s = engine
        .run_with(providers, Arc::new(NullReporter))
        .await
        .unwrap();
    assert_eq!(s.tasks_done, 1);
}

/// Bits per sample and the integer samples of a FLAC file (decoded by the project's reader,
/// exact up to 24 bits).
fn flac_samples(path: &Path) -> (u32, Vec<i32>) {
    let mut r = onc_hydro::media::AudioReader::open(path).unwrap();
    let bits = r.info().bits_per_sample;
    let full = f64::from(1u32 << (bits.min(25) - 1));
    let v = r
        .read_all()
        .unwrap()
        .iter()
        .map(|x| (f64::from(*x) * full).round() as i32)
        .collect();
    (bits, v)
}

/// The integer samples of trace `k` of a raw file.
fn trace(dir: &Path, name: &str, k: usize) -> (i64, Vec<i32>) {
    let t = read_mseed_path(&dir.join(name)).unwrap().remove(k);
    let MseedSamples::Int(v) = t.samples else {
        panic!("integer samples")
    };
    (t.start_ns, v)
}

/// The first sample index at or after `t_ns` of a trace starting at `start_ns` (written out
/// here, independently of the library's planner).
fn first_at(t_ns: i64, start_ns: i64) -> usize {
    let num = i128::from(t_ns - start_ns) * i128::from(RATE);
    (num + 999_999_999).div_euclid(1_000_000_000) as usize
}

fn ns(t: &str) -> i64 {
    t.parse::<jiff::Timestamp>().unwrap().as_nanosecond() as i64
}

#[tokio::test]
async fn clips_hold_the_exact_source_samples_across_a_file_boundary_and_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    download(dir.path(), "2019-07-02T00:04:00Z", "2019-07-02T00:28:00Z").await;
    let raw = dir.path().join(AXBA).join("raw");

    // Across the boundary of files 0 and 1 (starts 00:00:00.000015 and 00:05:00.000018).
    let target = dir.path().join("boundary.flac");
    let rec = hydro::cut_raw_audio(
        &range("2019-07-02T00:04:58Z", "2019-07-02T00:05:02Z"),
        &raw,
        &target,
    )
    .unwrap();
    let (a_start, a) = trace(&raw, "OO-AXBA1--YDH-2019-07-02T00-00-00.000015.mseed", 0);
    let (b_start, b) = trace(&raw, "OO-AXBA1--YDH-2019-07-02T00-05-00.000018.mseed", 0);
    let i0 = first_at(ns("2019-07-02T00:04:58Z"), a_start);
    let j1 = first_at(ns("2019-07-02T00:05:02Z"), b_start);
    let mut want: Vec<i32> = a[i0..].to_vec();
    want.extend_from_slice(&b[..j1]);
    let (bits, got) = flac_samples(&target);
    assert_eq!(bits, 24);
    assert_eq!(got.len(), 8000);
    assert_eq!(got, want, "file 0 from sample {i0}, then file 1 from 0");
    assert_eq!(rec.sources.len(), 2);
    assert!(rec.gaps.is_empty(), "{:?}", rec.gaps);
    assert_eq!(rec.units, 8000);

    // Across the 0.5 s gap inside file 5 (two traces; the second starts 0.5 s after the first ends).
    let target = dir.path().join("gap.flac");
    let rec = hydro::cut_raw_audio(
        &range("2019-07-02T00:26:58Z", "2019-07-02T00:27:02Z"),
        &raw,
        &target,
    )
    .unwrap();
    let five = "OO-AXBA1--YDH-2019-07-02T00-25-00.000030.mseed";
    let (s1, t1) = trace(&raw, five, 0);
    let (s2, t2) = trace(&raw, five, 1);
    assert_eq!(s2 - (s1 + t1.len() as i64 * 500_000), 500_000_000);
    let i0 = first_at(ns("2019-07-02T00:26:58Z"), s1);
    let j1 = first_at(ns("2019-07-02T00:27:02Z"), s2);
    let mut want: Vec<i32> = t1[i0..].to_vec();
    want.extend(std::iter::repeat_n(0, 1000)); // 0.5 s of silence at 2 kHz
    want.extend_from_slice(&t2[..j1]);
    let (_, got) = flac_samples(&target);
    assert_eq!(got, want);
    assert_eq!(rec.sources, [five]);
    let gaps: Vec<(String, String)> = rec
        .gaps
        .iter()
        .map(|g| (g.start.clone(), g.end.clone()))
        .collect();
    assert_eq!(
        gaps,
        [(
            "2019-07-02T00:27:00.000Z".to_string(),
            "2019-07-02T00:27:00.500Z".to_string()
        )]
    );
}

fn write_raw(dir: &Path, name: &str, start: &str, samples: Vec<i32>, encoding: MseedEncoding) {
    let n = samples.len() as u64;
    let t = MseedTrace {
        id: SourceId {
            network: "OO".into(),
            station: "TEST".into(),
            location: String::new(),
            channel: "YDH".into(),
        },
        start_ns: ns(start),
        sample_rate: 100.0,
        samples: MseedSamples::Int(samples),
        num_samples: n,
    };
    let opts = MseedWriteOptions {
        record_len: 512,
        encoding,
    };
    write_mseed_path(&dir.join(name), &[t], &opts).unwrap();
}

#[test]
fn bit_depth_is_24_when_every_sample_fits_else_32() {
    let dir = tempfile::tempdir().unwrap();
    let fits: Vec<i32> = (0..3000)
        .map(|i| (i * 2797) % (1 << 23) - (1 << 22))
        .collect();
    write_raw(
        dir.path(),
        "OO-TEST--YDH-2019-07-02T00-00-00.000000.mseed",
        "2019-07-02T00:00:00Z",
        fits.clone(),
        MseedEncoding::Steim2,
    );
    let clip = range("2019-07-02T00:00:05Z", "2019-07-02T00:00:15Z");
    let t = dir.path().join("a.flac");
    let rec = hydro::cut_raw_audio(&clip, dir.path(), &t).unwrap();
    assert_eq!(rec.bits_per_sample, Some(24));
    assert_eq!(flac_samples(&t), (24, fits[500..1500].to_vec()));

    // One sample beyond 24 bits in the clip makes it 32-bit, exactly.
    let mut big = fits.clone();
    big[700] = 1 << 23;
    big[701] = i32::MIN + 1;
    write_raw(
        dir.path(),
        "OO-TEST--YDH-2019-07-02T00-00-00.000000.mseed",
        "2019-07-02T00:00:00Z",
        big.clone(),
        MseedEncoding::Int32,
    );
    let t = dir.path().join("b.flac");
    let rec = hydro::cut_raw_audio(&clip, dir.path(), &t).unwrap();
    assert_eq!(rec.bits_per_sample, Some(32));
    let bytes = std::fs::read(&t).unwrap();
    assert_eq!((((bytes[20] & 1) << 4) | (bytes[21] >> 4)) + 1, 32);
    if let Ok(mut r) = claxon::FlacReader::open(&t) {
        let got: Result<Vec<i32>, _> = r.samples().collect();
        if let Ok(got) = got {
            assert_eq!(got, big[500..1500]);
        }
    }
}

fn cli(out: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_onc-hydro"))
        .args(["--sim", "--sim-time-scale", "0", "--sim-audio-rate", "2000"])
        .args(args)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .output()
        .unwrap()
}

fn summary(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

fn count(dir: &Path, ext: &str) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(ext)
            })
            .count()
        })
        .unwrap_or(0)
}

#[test]
fn sample_on_an_ooi_hydrophone_serves_windows_and_a_rerun_downloads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("axial");
    let args = [
        "sample",
        "--device",
        AXBA,
        "--from",
        "2019-07-02T01:00:00Z",
        "--to",
        "2019-07-02T05:00:00Z",
        "--count",
        "20",
    ];
    let run = cli(&out, &args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let s = summary(&out);
    let ooi = &s["hydro"]["ooi"];
    assert_eq!(ooi["windows"], 20, "{s}");
    assert_eq!(ooi["served"], 20, "{s}");
    assert_eq!(ooi["spectrograms"], 20, "{s}");
    assert_eq!(s["hydro"]["windows_delivered"], 20);
    let dev = out.join(AXBA);
    assert_eq!(count(&dev.join("audio"), ".flac"), 20);
    assert_eq!(count(&dev.join("hsd"), ".npz"), 20);
    assert!(count(&dev.join("raw"), ".mseed") >= 20);
    // A window's sidecar names its raw sources; its FLAC is 300 s at the source rate.
    let mut names: Vec<String> = std::fs::read_dir(dev.join("audio"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    let side: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dev.join("audio").join(&names[0])).unwrap())
            .unwrap();
    assert!(side["audio"]["sources"][0]
        .as_str()
        .unwrap()
        .starts_with("OO-AXBA1--YDH-2019-07-02T"));
    assert_eq!(side["audio"]["units"], 300 * RATE);
    assert_eq!(
        side["spectrogram"]["units"], 599,
        "1 s windows, 50 % overlap"
    );
    let stem = names[0].trim_end_matches(".json");
    let (_, v) = flac_samples(&dev.join("audio").join(format!("{stem}.flac")));
    assert_eq!(v.len(), 600_000);

    // Again: every window is there, nothing is downloaded or cut.
    let again = cli(&out, &args);
    assert!(again.status.success());
    let s = summary(&out);
    assert_eq!(s["hydro"]["files_new"], 0, "{s}");
    assert_eq!(s["hydro"]["ooi"]["cut"], 0, "{s}");
    assert_eq!(s["hydro"]["ooi"]["served"], 20);
}

#[test]
fn a_window_across_an_archive_gap_is_cut_once_and_again_only_when_its_raw_files_change() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gap");
    // The simulator's 0.5 s gap between two traces lies at 00:27:00.
    let args = [
        "span",
        "--device",
        AXBA,
        "--from",
        "2019-07-02T00:25:00Z",
        "--to",
        "2019-07-02T00:30:00Z",
    ];
    let run = cli(&out, &args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let ooi = |out: &Path| summary(out)["hydro"]["ooi"].clone();
    let first = ooi(&out);
    assert_eq!(
        (first["cut"].as_u64(), first["with_gaps"].as_u64()),
        (Some(1), Some(1)),
        "{first}"
    );
    let flac = out
        .join(AXBA)
        .join("audio")
        .join(format!("{AXBA}_20190702T002500.flac"));
    let written = std::fs::metadata(&flac).unwrap().modified().unwrap();

    // The same raw files: the window is complete as it is.
    assert!(cli(&out, &args).status.success());
    let again = ooi(&out);
    assert_eq!(
        (again["cut"].as_u64(), again["served"].as_u64()),
        (Some(0), Some(1)),
        "{again}"
    );
    assert_eq!(
        std::fs::metadata(&flac).unwrap().modified().unwrap(),
        written
    );

    // A sidecar whose sources no longer match the raw folder (as after new files arrived) is
    // cut again.
    let side = flac.with_extension("json");
    let text = std::fs::read_to_string(&side).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["audio"]["sources"] = serde_json::json!(["an-older-file.mseed"]);
    std::fs::write(&side, doc.to_string()).unwrap();
    assert!(cli(&out, &args).status.success());
    assert_eq!(ooi(&out)["cut"].as_u64(), Some(1));
    let recut: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&side).unwrap()).unwrap();
    assert_eq!(
        recut["audio"],
        serde_json::from_str::<serde_json::Value>(&text).unwrap()["audio"]
    );
}

#[test]
fn a_mixed_onc_and_ooi_annotation_file_goes_through_fetch() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mixed");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("requests/mixed_onc_ooi.csv");
    let run = cli(&out, &["fetch", file.to_str().unwrap()]);
    assert!(
        run.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let s = summary(&out);
    assert_eq!(s["hydro"]["clips"]["planned"], 3, "{s}");
    assert_eq!(s["hydro"]["clips"]["errors"].as_array().unwrap().len(), 0);
    let clips = out.join("clips");
    let side = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(clips.join(name)).unwrap()).unwrap()
    };
    let onc = side("ICLISTENHF6324_20240401T031240.json");
    assert_eq!(onc["audio"]["gaps"].as_array().unwrap().len(), 0, "{onc}");
    assert!(onc["spectrogram"]["file"].is_string(), "{onc}");
    let boundary = side(&format!("{AXBA}_20190702T000500.json"));
    assert_eq!(boundary["audio"]["sources"].as_array().unwrap().len(), 2);
    assert_eq!(boundary["audio"]["gaps"].as_array().unwrap().len(), 0);
    assert_eq!(boundary["audio"]["units"], 6 * RATE);
    assert!(clips
        .join(format!("{AXBA}_20190702T000500_spec.npz"))
        .exists());
    let gap = side(&format!("{AXBA}_20190702T002700.json"));
    assert_eq!(
        gap["audio"]["gaps"][0]["end"], "2019-07-02T00:27:00.500Z",
        "{gap}"
    );
    assert_eq!(gap["spectrogram"]["gaps"], gap["audio"]["gaps"]);
}

#[test]
fn a_provider_that_contradicts_its_device_names_row_and_field() {
    let csv = "provider,device_code,timestamp\n\
               ooi,RS03AXBS-LJ03A-09-HYDBBA302,2019-07-02T00:00:00Z\n\
               onc,Axial_Base_Seafloor,2019-07-02T00:10:00Z\n";
    let e = hydro::parse_csv("mixed.csv", csv, &CallerDefaults::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("mixed.csv"), "{e}");
    assert!(e.contains("row 3") || e.contains("row 2"), "{e}");
    assert!(e.contains("field `provider`"), "{e}");
    assert!(e.contains("is an OOI hydrophone"), "{e}");
    let json = r#"{"requests": [{"provider": "ooi", "deviceCode": "ICLISTENHF6324",
                   "timestamp": "2024-04-01T00:00:00Z"}]}"#;
    let e = hydro::parse_json("r.json", json, &CallerDefaults::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("requests[0], field `provider`"), "{e}");
    let ok = hydro::parse_csv(
        "ok.csv",
        "device_code,timestamp\nLJ03A,2019-07-02T00:00:00Z\n",
        &CallerDefaults::default(),
    )
    .unwrap();
    assert_eq!(ok.annotations[0].device.as_str(), AXBA);
}

#[test]
fn a_clip_shorter_than_one_stft_window_gets_audio_and_says_why_it_has_no_spectrogram() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("short");
    let csv = dir.path().join("short.csv");
    std::fs::write(
        &csv,
        format!("device_code,timestamp,pad_seconds,audio,clip\n{AXBA},2019-07-02T00:10:00Z,0.25,yes,yes\n"),
    )
    .unwrap();
    let run = cli(&out, &["fetch", csv.to_str().unwrap()]);
    let s = summary(&out);
    assert_eq!(
        s["hydro"]["clips"]["errors"].as_array().unwrap().len(),
        0,
        "{s}"
    );
    let side: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            out.join("clips")
                .join(format!("{AXBA}_20190702T001000.json")),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(side["audio"]["units"], RATE / 2, "{side}");
    assert!(side["audio"]["file"].is_string(), "{side}");
    assert!(side["spectrogram"]["file"].is_null(), "{side}");
    assert!(
        side["spectrogram"]["gap_handling"]
            .as_str()
            .unwrap()
            .contains("fewer samples than one STFT window"),
        "{side}"
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}
