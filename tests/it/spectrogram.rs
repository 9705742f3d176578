//! `onc-hydro spectrogram` end to end on small generated FLAC/WAV files: NPZ layout and axes,
//! the JSON provenance, calibration offsets, cropping, Welch, PNG, folders with several workers,
//! FLAC/WAV parity and clear errors.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndarray::{Array1, Array2};
use ndarray_npy::NpzReader;
use sha2::{Digest, Sha256};

pub(crate) const FS: u32 = 8000;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_onc-hydro"))
}

/// 2 s of a 1 kHz sine (amplitude 0.5) plus weak deterministic noise, as 24-bit integers.
fn samples() -> Vec<i32> {
    let mut s = 12345u64;
    (0..2 * FS as usize)
        .map(|n| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = ((s >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 2e-3;
            let x = 0.5 * (2.0 * std::f64::consts::PI * 1000.0 * n as f64 / f64::from(FS)).sin();
            ((x + noise) * 8_388_607.0).round() as i32
        })
        .collect()
}

/// A 24-bit mono FLAC at `FS` through flac-codec's default (LPC) encoder, independent of the
/// project's writer; `mseed_inputs` uses it too.
pub(crate) fn write_flac(path: &Path, data: &[i32]) {
    let mut w = flac_codec::encode::FlacSampleWriter::create(
        path,
        flac_codec::encode::Options::default(),
        FS,
        24,
        1,
        Some(data.len() as u64),
    )
    .unwrap();
    w.write(data).unwrap();
    w.finalize().unwrap();
}

fn write_wav(path: &Path, data: &[i32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: FS,
        bits_per_sample: 24,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in data {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

fn run(args: &[&str]) -> Output {
    bin()
        .arg("spectrogram")
        .args(args)
        .output()
        .expect("run onc-hydro")
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Npz {
    psd_db: Array2<f32>,
    freq: Array1<f64>,
    time: Array1<f64>,
}

fn read_npz(path: &Path) -> Npz {
    let mut z = NpzReader::new(File::open(path).unwrap()).unwrap();
    Npz {
        psd_db: z.by_name("psd_db").unwrap(),
        freq: z.by_name("frequency_hz").unwrap(),
        time: z.by_name("time_s").unwrap(),
    }
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let flac = dir.path().join("tone.flac");
    write_flac(&flac, &samples());
    (dir, flac)
}

#[test]
fn npz_has_scipy_layout_axes_peak_and_provenance() {
    let (dir, flac) = setup();
    let out = dir.path().join("out");
    let o = run(&[
        flac.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--nfft",
        "256",
        "--overlap",
        "0.5",
    ]);
    ok(&o);
    let z = read_npz(&out.join("tone.npz"));
    // scipy: 129 bins; (16000 − 128) // 128 = 124 frames; centres at (128k + 128)/fs.
    assert_eq!(z.psd_db.dim(), (129, 124));
    assert_eq!(z.freq.len(), 129);
    assert!((z.freq[32] - 1000.0).abs() < 1e-9);
    assert!(
        (z.time[0] - 128.0 / 8000.0).abs() < 1e-12
            && (z.time[123] - (128.0 * 123.0 + 128.0) / 8000.0).abs() < 1e-12
    );
    for t in [0, 60, 123] {
        let col = z.psd_db.column(t);
        let peak = (0..129).max_by(|&a, &b| col[a].total_cmp(&col[b])).unwrap();
        assert_eq!(peak, 32, "frame {t}");
        // A 0.5-amplitude sine with Hann density scaling: peak = A²/4 · Σw²... checked as a
        // level far above the −60 dB noise floor rather than a magic number.
        assert!(col[32] > col[100] + 60.0, "{} vs {}", col[32], col[100]);
    }
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("tone.json")).unwrap()).unwrap();
    let sha = hex::encode(Sha256::digest(std::fs::read(&flac).unwrap()));
    assert_eq!(meta["source"]["sha256"], sha.as_str());
    assert_eq!(meta["unit"], "dB re 1 FS²/Hz");
    assert_eq!(meta["parameters"]["nfft"], 256);
    assert_eq!(meta["parameters"]["hop"], 128);
    assert_eq!(meta["parameters"]["window"], "hann");
    assert_eq!(meta["source"]["bits_per_sample"], 24);
    assert_eq!(meta["tool_version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn calibration_shifts_levels_and_changes_the_unit() {
    let (dir, flac) = setup();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    ok(&run(&[
        flac.to_str().unwrap(),
        "--out",
        a.to_str().unwrap(),
        "--nfft",
        "512",
    ]));
    ok(&run(&[
        flac.to_str().unwrap(),
        "--out",
        b.to_str().unwrap(),
        "--nfft",
        "512",
        "--sensitivity-db",
        "-170",
        "--full-scale-volts",
        "2",
    ]));
    let (za, zb) = (read_npz(&a.join("tone.npz")), read_npz(&b.join("tone.npz")));
    let offset = 170.0 + 20.0 * 2f32.log10();
    for (x, y) in za.psd_db.iter().zip(zb.psd_db.iter()).step_by(97) {
        assert!((y - x - offset).abs() < 1e-3, "{x} → {y}");
    }
    let meta = std::fs::read_to_string(b.join("tone.json")).unwrap();
    assert!(
        meta.contains("dB re 1 µPa²/Hz") && meta.contains("\"flat\""),
        "{meta}"
    );

    // A table: constant −170 dB between its points gives the same numbers.
    let table = dir.path().join("cal.csv");
    std::fs::write(&table, "frequency_hz,sensitivity_db\n0,-170\n4000,-170\n").unwrap();
    let c = dir.path().join("c");
    ok(&run(&[
        flac.to_str().unwrap(),
        "--out",
        c.to_str().unwrap(),
        "--nfft",
        "512",
        "--calibration",
        table.to_str().unwrap(),
        "--full-scale-volts",
        "2",
    ]));
    assert_eq!(read_npz(&c.join("tone.npz")).psd_db, zb.psd_db);
}

#[test]
fn crop_average_png_and_wav_parity() {
    let (dir, flac) = setup();
    let wav = dir.path().join("tonew.wav");
    write_wav(&wav, &samples());
    let out = dir.path().join("out");
    let common = [
        "--out",
        out.to_str().unwrap(),
        "--nfft",
        "256",
        "--freq-min",
        "500",
        "--freq-max",
        "1500",
    ];
    ok(&run(&[
        &[
            flac.to_str().unwrap(),
            "--format",
            "npz,png",
            "--clim=-120,0",
        ][..],
        &common[..],
    ]
    .concat()));
    ok(&run(&[&[wav.to_str().unwrap()][..], &common[..]].concat()));
    let (zf, zw) = (
        read_npz(&out.join("tone.npz")),
        read_npz(&out.join("tonew.npz")),
    );
    assert!(zf.freq.iter().all(|&f| (500.0..=1500.0).contains(&f)));
    assert_eq!(zf.freq.len(), 33); // 500, 531.25, …, 1500
    assert_eq!(
        zf.psd_db, zw.psd_db,
        "FLAC and WAV of the same samples agree exactly"
    );
    let png = std::fs::read(out.join("tone.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    let avg = dir.path().join("avg");
    ok(&run(&[
        flac.to_str().unwrap(),
        "--out",
        avg.to_str().unwrap(),
        "--nfft",
        "256",
        "--average",
    ]));
    let mut z = NpzReader::new(File::open(avg.join("tone.npz")).unwrap()).unwrap();
    let mean: Array1<f32> = z.by_name("psd_db").unwrap();
    assert_eq!(mean.len(), 129);
    let peak = (0..129)
        .max_by(|&a, &b| mean[a].total_cmp(&mean[b]))
        .unwrap();
    assert_eq!(peak, 32);
}

#[test]
fn folders_with_two_workers_and_json_summary() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(input.join("sub")).unwrap();
    let data = samples();
    write_flac(&input.join("a.flac"), &data[..8000]);
    write_flac(&input.join("sub").join("b.flac"), &data);
    write_wav(&input.join("c.wav"), &data[..4000]);
    std::fs::write(input.join("notes.txt"), "not audio").unwrap();
    let out = dir.path().join("out");
    let o = bin()
        .args([
            "--json",
            "spectrogram",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(["--nfft", "128", "--jobs", "2"])
        .output()
        .unwrap();
    ok(&o);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["succeeded"], 3);
    assert_eq!(doc["jobs"], 2);
    for stem in ["a", "b", "c"] {
        assert!(out.join(format!("{stem}.npz")).is_file(), "{stem}");
    }
}

/// Workers stage their outputs and the batch commits them: an output whose final name cannot
/// be taken (a folder of that name is in the way) fails that file alone, names the output, and
/// leaves no temporary behind.
#[test]
fn a_failed_commit_fails_that_file_alone_and_leaves_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let data = samples();
    for stem in ["a", "b", "c"] {
        write_flac(&input.join(format!("{stem}.flac")), &data[..8000]);
    }
    let out = dir.path().join("out");
    let blocker = out.join("b.json");
    std::fs::create_dir_all(&blocker).unwrap();
    std::fs::write(blocker.join("keep"), b"x").unwrap();
    let o = bin()
        .args(["--json", "spectrogram", input.to_str().unwrap()])
        .args([
            "--out",
            out.to_str().unwrap(),
            "--nfft",
            "128",
            "--jobs",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["succeeded"], 2, "{doc}");
    let text = doc.to_string();
    assert!(text.contains("b.json"), "{text}");
    for stem in ["a", "c"] {
        for ext in ["npz", "json"] {
            assert!(out.join(format!("{stem}.{ext}")).is_file(), "{stem}.{ext}");
        }
    }
    let temporaries: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".onc-hydro-tmp-"))
        .collect();
    assert!(temporaries.is_empty(), "{temporaries:?}");
    assert!(
        blocker.join("keep").is_file(),
        "the folder in the way is untouched"
    );
}

#[test]
fn bad_inputs_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.flac");
    std::fs::write(&fake, "this is not audio").unwrap();
    let (_d, good) = setup();
    let out = dir.path().join("out");
    let o = run(&[
        fake.to_str().unwrap(),
        good.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--nfft",
        "256",
    ]);
    assert_eq!(o.status.code(), Some(1), "one of two files failed");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("fake.flac") && err.contains("not a FLAC, WAV or miniSEED"),
        "{err}"
    );
    assert!(out.join("tone.npz").is_file());

    let o = run(&[dir.path().join("missing.flac").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.flac"));

    for bad in [
        vec!["--average", "--format", "png"],
        vec!["--nfft", "128", "--win-length", "256"],
        vec!["--window", "boxcar"],
        vec!["--overlap", "1.5"],
        vec!["--full-scale-volts", "1"],
    ] {
        let o = run(&[&[good.to_str().unwrap()][..], &bad[..]].concat());
        assert_eq!(
            o.status.code(),
            Some(2),
            "{bad:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn mat_output_has_the_npz_arrays_and_a_metadata_struct() {
    let (dir, flac) = setup();
    let out = dir.path().join("out");
    ok(&run(&[
        flac.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--nfft",
        "256",
        "--format",
        "mat,npz",
    ]));
    let mat = onc_hydro::media::read_mat_path(&out.join("tone.mat")).unwrap();
    let psd = mat.get("psd_db").and_then(|v| v.as_matrix()).unwrap();
    assert_eq!((psd.rows(), psd.cols()), (129, 124));
    let z = read_npz(&out.join("tone.npz"));
    for (f, t) in [(0, 0), (32, 10), (128, 123)] {
        assert_eq!(psd.get(f, t).unwrap(), f64::from(z.psd_db[[f, t]]));
    }
    let freq = mat.get("frequency_hz").and_then(|v| v.as_matrix()).unwrap();
    assert_eq!((freq.rows(), freq.cols()), (129, 1));
    let sha = hex::encode(Sha256::digest(std::fs::read(&flac).unwrap()));
    assert_eq!(
        mat.get_path("metadata.source.sha256")
            .and_then(|v| v.as_str()),
        Some(sha.as_str())
    );
    assert_eq!(
        mat.get_path("metadata.parameters.nfft")
            .and_then(|v| v.as_scalar()),
        Some(256.0)
    );
    assert_eq!(
        mat.get_path("metadata.unit").and_then(|v| v.as_str()),
        Some("dB re 1 FS²/Hz")
    );
}

/// Issue 16 items 8, 9 and 16: absurd output sizes, NaN audio and stale temporaries each fail
/// (or are cleaned) per file, and outputs get the umask's permissions.
#[test]
fn hostile_parameters_and_files_fail_per_file_and_leave_a_clean_folder() {
    let (dir, good) = setup();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();

    // A float WAV of NaNs: a clear per-file error, exit 1, the good file still done.
    let nan = dir.path().join("nan.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: FS,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&nan, spec).unwrap();
    for _ in 0..FS {
        w.write_sample(f32::NAN).unwrap();
    }
    w.finalize().unwrap();

    // Temporaries a killed run left: ours for this run's outputs go, anything else stays.
    let stale = out.join(".onc-hydro-tmp-4242-0-tone.npz");
    let foreign = out.join(".tmpAbCdEf");
    let other_run = out.join(".onc-hydro-tmp-4242-1-elsewhere.npz");
    for p in [&stale, &foreign, &other_run] {
        std::fs::write(p, vec![0u8; 1000]).unwrap();
    }
    let o = run(&[
        nan.to_str().unwrap(),
        good.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--nfft",
        "256",
        "--format",
        "npz,mat,png",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("nan.wav") && err.contains("NaN"), "{err}");
    assert!(err.contains("removed 1 temporary file"), "{err}");
    assert!(!out.join("nan.npz").exists());
    assert!(!stale.exists() && foreign.exists() && other_run.exists());

    // Outputs: the permissions a plain file gets under this umask (not tempfile's 0600).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let probe = dir.path().join("probe");
        std::fs::write(&probe, b"").unwrap();
        let want = std::fs::metadata(&probe).unwrap().permissions().mode() & 0o777;
        for ext in ["npz", "json", "mat", "png"] {
            let p = out.join(format!("tone.{ext}"));
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, want, "{}", p.display());
        }
    }
    let hidden: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".onc-hydro-") && !n.ends_with("elsewhere.npz"))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");

    // An overlap that makes the hop 1 sample: refused before allocating, with the size named.
    let o = run(&[
        good.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--win-dur",
        "1",
        "--overlap",
        "0.999999999",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("tone.flac") && err.contains("GB"), "{err}");
}
