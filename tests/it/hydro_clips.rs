//! `times --pad --audio` cuts a clip across a five-minute file boundary: the FLAC holds exactly
//! the padded interval's samples, the sidecar reports the achieved interval, and the spectrogram
//! NPZ carries the documented keys.

use std::path::Path;
use std::process::Command;

use onc_hydro::media::{read_npz_path, AudioReader};

fn clip_dir(out: &Path) -> std::path::PathBuf {
    out.join("clips")
}

#[test]
fn times_with_pad_cuts_an_audio_clip_across_a_file_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let run = Command::new(env!("CARGO_BIN_EXE_onc-hydro"))
        .args([
            "--sim",
            "--sim-time-scale",
            "0.001",
            "--sim-audio-rate",
            "1000",
            "times",
            "--device",
            "ICLISTENHF6324",
            "2024-04-01T00:04:50Z",
            "--pad",
            "30",
            "--audio",
            "--downsample",
            "0",
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
        "stderr: {}\nstdout: {}",
        String::from_utf8_lossy(&run.stderr),
        String::from_utf8_lossy(&run.stdout)
    );
    let clips = clip_dir(&out);
    let names: Vec<String> = std::fs::read_dir(&clips)
        .unwrap_or_else(|e| panic!("{}: {e}", clips.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let flac = names
        .iter()
        .find(|n| n.ends_with("_audio.flac"))
        .unwrap_or_else(|| panic!("no audio clip in {names:?}"));
    let sidecar = names
        .iter()
        .find(|n| n.ends_with(".json"))
        .unwrap_or_else(|| panic!("no sidecar in {names:?}"));
    let npz = names
        .iter()
        .find(|n| n.ends_with("_spec.npz"))
        .unwrap_or_else(|| panic!("no spectrogram clip in {names:?}"));

    let mut reader = AudioReader::open(&clips.join(flac)).unwrap();
    assert_eq!(reader.info().sample_rate, 1000);
    let samples = reader.read_all().unwrap();
    assert_eq!(samples.len(), 60 * 1000);
    assert!(samples.iter().any(|s| *s != 0.0), "the clip is silent");

    let side: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(clips.join(sidecar)).unwrap()).unwrap();
    assert_eq!(side["device"], "ICLISTENHF6324");
    assert_eq!(side["requested"]["start"], "2024-04-01T00:04:20.000Z");
    assert_eq!(side["requested"]["end"], "2024-04-01T00:05:20.000Z");
    assert_eq!(side["audio"]["achieved"], side["requested"]);
    assert_eq!(side["audio"]["gaps"].as_array().map(Vec::len), Some(0));
    assert_eq!(side["audio"]["sources"].as_array().map(Vec::len), Some(2));
    assert_eq!(side["audio"]["sample_rate"], 1000);
    assert_eq!(side["audio"]["units"], 60_000);

    let arrays = read_npz_path(&clips.join(npz)).unwrap();
    let get = |k: &str| {
        arrays
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, a)| a.clone())
            .unwrap_or_else(|| panic!("no {k} in the NPZ"))
    };
    let spec = get("spectrogram");
    let freq = get("frequency_hz");
    let time = get("time_s");
    assert_eq!(spec.shape, vec![freq.shape[0], time.shape[0]]);
    assert!(time.shape[0] > 0);
    let onc_hydro::media::NpyData::F64(t) = &time.data else {
        panic!("time_s is not f64")
    };
    assert!(t.iter().all(|x| (0.0..60.0).contains(x)), "{t:?}");
    assert!(t.windows(2).all(|w| w[0] < w[1]), "{t:?}");
    let onc_hydro::media::NpyData::F64(s) = &get("start_epoch_s").data else {
        panic!("start_epoch_s is not f64")
    };
    assert_eq!(s[0], 1_711_929_860.0);
    get("end_epoch_s");
}
