//! The plan: windows per device → HSD orders of at most K contiguous windows, the audio spans to
//! fetch, and the clips to cut; plus the `--dry-run --json` shape
//! `{"windows":[{device,start,end}], "requests":[{key,device,dateFrom,dateTo,windows}],
//!   "clips":[{label,device,start,end}]}` (each request also carries the engine's task `key`).
//!
//! Windows are de-duplicated per device and product settings, so overlapping annotations share
//! windows; contiguous windows merge into one order (never more than K windows); orders with
//! different settings (format, downsample, `dpo_*`) are never merged. Sampled bursts are kept as
//! they are: one order per burst.
//!
//! Must not know: HTTP, terminals, file layout.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::annotations::Annotation;
use super::archive::AudioExtension;
use super::error::{HydroError, Location, Result};
use super::grid::{DeviceCode, TimeRange, Window, MAX_WINDOWS};
use super::hsd::{HsdOrder, HsdSettings, SpectrogramFormat};
use super::sampling::Burst;
use crate::api::time::{format_compact_plain, format_onc};

/// One HSD order and how many grid windows it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRequest {
    /// The order: device, range and settings.
    pub order: HsdOrder,
    /// 5-minute grid windows it covers.
    pub windows: usize,
}

/// Contiguous windows of archive audio to list and fetch for one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioSpan {
    /// The hydrophone.
    pub device: DeviceCode,
    /// Which audio files to fetch.
    pub extension: AudioExtension,
    /// Whole grid windows, half-open, UTC.
    pub range: TimeRange,
    /// 5-minute grid windows it covers.
    pub windows: usize,
}

/// A clip to cut from downloaded files.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipPlan {
    /// The annotation's label, else the output name; copied into the sidecar.
    pub label: String,
    /// The hydrophone.
    pub device: DeviceCode,
    /// The requested half-open interval.
    pub range: TimeRange,
    /// Output basename (unique per device within a plan).
    pub output_name: String,
    /// Subfolder of `clips/`, if any.
    pub output_tag: Option<String>,
    /// Cut a spectrogram clip.
    pub spectrogram: bool,
    /// Cut an audio clip.
    pub audio: bool,
    /// The annotation the clip comes from (for messages).
    pub source: Location,
}

/// Everything a command will fetch and cut.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Every (device, window) needed by any product, sorted and unique.
    pub windows: Vec<(DeviceCode, Window)>,
    /// HSD orders, by device then time.
    pub requests: Vec<PlannedRequest>,
    /// Archive audio to fetch.
    pub audio: Vec<AudioSpan>,
    /// Clips to cut once the files are in.
    pub clips: Vec<ClipPlan>,
    /// Things the user should know (e.g. fewer windows than asked for).
    pub notes: Vec<String>,
}

/// Collects windows, bursts and clips, then builds a [`Plan`].
#[derive(Debug)]
pub struct PlanBuilder {
    per_request: usize,
    hsd: BTreeMap<(DeviceCode, HsdSettings), BTreeSet<Window>>,
    bursts: Vec<(DeviceCode, HsdSettings, Burst)>,
    audio: BTreeMap<(DeviceCode, AudioExtension), BTreeSet<Window>>,
    clips: Vec<ClipPlan>,
    /// Index into `clips` by (device, output name): the duplicate check stays linear over
    /// 100,000 annotations (a scan per annotation was quadratic, issue 16 item 16).
    clip_names: std::collections::HashMap<(DeviceCode, String), usize>,
    notes: Vec<String>,
    total: u64,
    /// Formats every HSD order is also placed in (`--hsd-ext mat,png`).
    also: Vec<SpectrogramFormat>,
}

impl PlanBuilder {
    /// `per_request` = K, the most windows one HSD order may hold.
    pub fn new(per_request: usize) -> Result<PlanBuilder> {
        if per_request == 0 {
            return Err(HydroError::arg("--per-request", "must be at least 1"));
        }
        Ok(PlanBuilder {
            per_request,
            hsd: BTreeMap::new(),
            bursts: Vec::new(),
            audio: BTreeMap::new(),
            clips: Vec::new(),
            clip_names: Default::default(),
            notes: Vec::new(),
            total: 0,
            also: Vec::new(),
        })
    }

    /// Every HSD order is also placed in each of `formats` (e.g. PNG plots beside the MAT
    /// files): one more request per format over the same windows, into the same folder.
    pub fn also_formats(&mut self, formats: &[SpectrogramFormat]) {
        for f in formats {
            if !self.also.contains(f) {
                self.also.push(*f);
            }
        }
    }

    /// The requests of one burst: one per format.
    fn push_requests(
        &self,
        requests: &mut Vec<PlannedRequest>,
        device: &DeviceCode,
        settings: &HsdSettings,
        burst: Burst,
    ) {
        for settings in self.formats_of(settings) {
            requests.push(PlannedRequest {
                order: HsdOrder {
                    device: device.clone(),
                    range: burst.range(),
                    settings,
                },
                windows: burst.len,
            });
        }
    }

    /// `settings` and a copy in every extra format.
    fn formats_of(&self, settings: &HsdSettings) -> Vec<HsdSettings> {
        let mut out = vec![settings.clone()];
        for f in &self.also {
            if !out.iter().any(|s| s.format == *f) {
                out.push(HsdSettings {
                    format: *f,
                    ..settings.clone()
                });
            }
        }
        out
    }

    fn count(&mut self, n: usize) -> Result<()> {
        self.total += n as u64;
        if self.total > MAX_WINDOWS {
            return Err(HydroError::TooManyWindows {
                count: u128::from(self.total),
                limit: MAX_WINDOWS,
            });
        }
        Ok(())
    }

    /// Adds windows whose spectrograms (if `hsd` is given) and audio (if `audio` is given) are
    /// wanted; they merge with everything else of the same device and settings.
    pub fn add_windows(
        &mut self,
        device: &DeviceCode,
        windows: &[Window],
        hsd: Option<&HsdSettings>,
        audio: Option<AudioExtension>,
    ) -> Result<()> {
        self.count(windows.len())?;
        if let Some(settings) = hsd {
            self.hsd
                .entry((device.clone(), settings.clone()))
                .or_default()
                .extend(windows.iter().copied());
        }
        if let Some(ext) = audio {
            self.audio
                .entry((device.clone(), ext))
                .or_default()
                .extend(windows.iter().copied());
        }
        Ok(())
    }

    /// Adds a sampled burst: exactly one HSD order, never merged with neighbours.
    pub fn add_burst(
        &mut self,
        device: &DeviceCode,
        burst: Burst,
        hsd: &HsdSettings,
        audio: Option<AudioExtension>,
    ) -> Result<()> {
        self.count(burst.len)?;
        self.bursts.push((device.clone(), hsd.clone(), burst));
        if let Some(ext) = audio {
            self.audio
                .entry((device.clone(), ext))
                .or_default()
                .extend(burst.windows());
        }
        Ok(())
    }

    /// Adds an annotation's windows and, if it asks for one, its clip.
    pub fn add_annotation(&mut self, a: &Annotation) -> Result<()> {
        let windows = a.windows()?;
        let hsd = a.spectrogram.then_some(&a.hsd);
        let audio = a.audio.then_some(a.audio_extension);
        self.add_windows(&a.device, &windows, hsd, audio)?;
        if a.clip {
            let key = (a.device.clone(), a.output_name.clone());
            if let Some(other) = self.clip_names.get(&key).map(|&i| &self.clips[i]) {
                return Err(HydroError::Annotation {
                    at: Location {
                        field: Some("output_name".into()),
                        ..a.source.clone()
                    },
                    message: format!(
                        "its clip would be written as {} like the clip of entry {}; \
                         give one of them an output_name",
                        a.output_name, other.source.entry
                    ),
                });
            }
            self.clip_names.insert(key, self.clips.len());
            self.clips.push(ClipPlan {
                label: a.clip_label(),
                device: a.device.clone(),
                range: a.interval(),
                output_name: a.output_name.clone(),
                output_tag: a.output_tag.clone(),
                spectrogram: a.spectrogram,
                audio: a.audio,
                source: a.source.clone(),
            });
        }
        Ok(())
    }

    /// Adds one audio clip of a whole span (`span --clip`), named
    /// `<DEVICE>_<start>_<end>`; the span's windows must have been added with audio.
    pub fn add_span_clip(&mut self, device: &DeviceCode, range: TimeRange) {
        let name = format!(
            "{device}_{}_{}",
            format_compact_plain(range.start()),
            format_compact_plain(range.end())
        );
        self.clips.push(ClipPlan {
            label: name.clone(),
            device: device.clone(),
            range,
            output_name: name,
            output_tag: None,
            spectrogram: false,
            audio: true,
            source: Location {
                file: "command line".into(),
                entry: "span --clip".into(),
                field: None,
            },
        });
    }

    /// Adds a note shown to the user with the plan.
    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    /// Merges contiguous windows into requests (at most the per-request limit each) and returns the plan.
    pub fn build(self) -> Plan {
        let k = self.per_request;
        let mut requests = Vec::new();
        let mut all: BTreeSet<(DeviceCode, Window)> = BTreeSet::new();
        for ((device, settings), windows) in &self.hsd {
            all.extend(windows.iter().map(|w| (device.clone(), *w)));
            for (first, len) in runs(windows, k) {
                self.push_requests(&mut requests, device, settings, Burst { first, len });
            }
        }
        for (device, settings, burst) in &self.bursts {
            all.extend(burst.windows().map(|w| (device.clone(), w)));
            self.push_requests(&mut requests, device, settings, *burst);
        }
        requests.sort_by(|a, b| {
            (&a.order.device, a.order.range, &a.order.settings).cmp(&(
                &b.order.device,
                b.order.range,
                &b.order.settings,
            ))
        });
        let mut audio = Vec::new();
        for ((device, extension), windows) in &self.audio {
            all.extend(windows.iter().map(|w| (device.clone(), *w)));
            // Audio is listed per contiguous run; K does not limit archive listings.
            for (first, len) in runs(windows, usize::MAX) {
                audio.push(AudioSpan {
                    device: device.clone(),
                    extension: *extension,
                    range: Burst { first, len }.range(),
                    windows: len,
                });
            }
        }
        let mut clips = self.clips;
        clips.sort_by(|a, b| (&a.device, a.range).cmp(&(&b.device, b.range)));
        Plan {
            windows: all.into_iter().collect(),
            requests,
            audio,
            clips,
            notes: self.notes,
        }
    }
}

/// Contiguous runs of the sorted windows, each cut into pieces of at most `k`.
fn runs(windows: &BTreeSet<Window>, k: usize) -> Vec<(Window, usize)> {
    let mut out: Vec<(Window, usize)> = Vec::new();
    for w in windows {
        match out.last_mut() {
            Some((first, len)) if first.index() + *len as i64 == w.index() && *len < k => *len += 1,
            _ => out.push((*w, 1)),
        }
    }
    out
}

#[derive(Debug, Serialize)]
struct JsonWindow {
    device: String,
    start: String,
    end: String,
}

#[derive(Debug, Serialize)]
struct JsonRequest {
    /// The engine's task key: the one stored in the ledger and shown by `status`.
    key: String,
    device: String,
    #[serde(rename = "dateFrom")]
    date_from: String,
    #[serde(rename = "dateTo")]
    date_to: String,
    windows: usize,
}

#[derive(Debug, Serialize)]
struct JsonClip {
    label: String,
    device: String,
    start: String,
    end: String,
}

/// The `--dry-run --json` document; serialises with its fields in the documented order.
#[derive(Debug, Serialize)]
pub struct PlanDocument {
    windows: Vec<JsonWindow>,
    requests: Vec<JsonRequest>,
    clips: Vec<JsonClip>,
}

impl Plan {
    /// The `--dry-run --json` document as a value.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.document()).unwrap_or(serde_json::Value::Null)
    }

    /// The `--dry-run --json` document.
    pub fn document(&self) -> PlanDocument {
        PlanDocument {
            windows: self
                .windows
                .iter()
                .map(|(d, w)| JsonWindow {
                    device: d.to_string(),
                    start: format_onc(w.start()),
                    end: format_onc(w.end()),
                })
                .collect(),
            requests: self
                .requests
                .iter()
                .map(|r| JsonRequest {
                    key: crate::engine::order_key(&r.order.to_order()).to_string(),
                    device: r.order.device.to_string(),
                    date_from: format_onc(r.order.range.start()),
                    date_to: format_onc(r.order.range.end()),
                    windows: r.windows,
                })
                .collect(),
            clips: self
                .clips
                .iter()
                .map(|c| JsonClip {
                    label: c.label.clone(),
                    device: c.device.to_string(),
                    start: format_onc(c.range.start()),
                    end: format_onc(c.range.end()),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hydro::annotation_files::parse_json;
    use crate::hydro::annotations::CallerDefaults;
    use crate::hydro::sampling::sample;

    fn plan_of(json: &str, k: usize) -> Plan {
        let set = parse_json("t.json", json, &CallerDefaults::default()).unwrap();
        let mut b = PlanBuilder::new(k).unwrap();
        for a in &set.annotations {
            b.add_annotation(a).unwrap();
        }
        b.build()
    }

    fn req_ranges(p: &Plan) -> Vec<String> {
        p.requests
            .iter()
            .map(|r| r.order.range.to_string())
            .collect()
    }

    #[test]
    fn example_a_asks_for_both_files() {
        let p = plan_of(
            r#"{"defaults": {"deviceCode": "ICLISTENHF6324", "pad_seconds": 15,
                "download_audio": true, "clip": true},
                "requests": [{"timestamp": "2024-04-01T12:34:50Z"}]}"#,
            12,
        );
        // Python asked 12:30 → 12:35 and got one file; ours covers both windows.
        assert_eq!(
            req_ranges(&p),
            ["[2024-04-01T12:30:00.000Z, 2024-04-01T12:40:00.000Z)"]
        );
        assert_eq!(p.requests[0].windows, 2);
        assert_eq!(p.audio.len(), 1);
        assert_eq!(p.audio[0].range, p.requests[0].order.range);
        assert_eq!(p.clips.len(), 1);
        assert_eq!(p.clips[0].range.duration().as_secs(), 30);
    }

    #[test]
    fn example_f_single_window_is_not_zero_length() {
        let p = plan_of(
            r#"{"requests": [{"deviceCode": "D", "timestamp": "2024-04-01T12:00:00Z"}]}"#,
            12,
        );
        // Python: dateFrom = dateTo = 12:00:00.000Z.
        assert_eq!(
            req_ranges(&p),
            ["[2024-04-01T12:00:00.000Z, 2024-04-01T12:05:00.000Z)"]
        );
        assert!(p.clips.is_empty());
    }

    #[test]
    fn overlapping_annotations_share_windows_and_runs_merge_up_to_k() {
        let p = plan_of(
            r#"{"defaults": {"deviceCode": "D", "pad_seconds": 100},
                "requests": [{"timestamp": "2024-04-01T12:01:00Z"},
                             {"timestamp": "2024-04-01T12:03:00Z", "output_name": "second"},
                             {"timestamp": "2024-04-01T12:09:00Z", "output_name": "third"},
                             {"timestamp": "2024-04-01T12:16:00Z", "output_name": "fourth"},
                             {"timestamp": "2024-04-01T14:00:00Z", "output_name": "far"}]}"#,
            3,
        );
        // Windows: 11:55, 12:00, 12:05, 12:10, 12:15 (contiguous) and 13:55, 14:00.
        assert_eq!(p.windows.len(), 7);
        assert_eq!(
            req_ranges(&p),
            [
                "[2024-04-01T11:55:00.000Z, 2024-04-01T12:10:00.000Z)",
                "[2024-04-01T12:10:00.000Z, 2024-04-01T12:20:00.000Z)",
                "[2024-04-01T13:55:00.000Z, 2024-04-01T14:05:00.000Z)",
            ]
        );
        assert_eq!(p.requests.iter().map(|r| r.windows).sum::<usize>(), 7);
        assert_eq!(p.clips.len(), 5);
    }

    #[test]
    fn different_settings_and_devices_never_merge() {
        let p = plan_of(
            r#"{"requests": [
                {"deviceCode": "D", "timestamp": "2024-04-01T12:00:00Z"},
                {"deviceCode": "D", "timestamp": "2024-04-01T12:05:00Z", "spectral_downsample": 0},
                {"deviceCode": "E", "timestamp": "2024-04-01T12:10:00Z"}]}"#,
            12,
        );
        assert_eq!(p.requests.len(), 3);
        assert_eq!(p.windows.len(), 3);
    }

    #[test]
    fn clip_names_must_be_unique() {
        let set = parse_json(
            "t.json",
            r#"{"requests": [
                {"deviceCode": "D", "timestamp": "2024-04-01T12:00:00Z", "pad_seconds": 5},
                {"deviceCode": "D", "timestamp": "2024-04-01T12:00:00.5Z", "pad_seconds": 9}]}"#,
            &CallerDefaults::default(),
        )
        .unwrap();
        let mut b = PlanBuilder::new(12).unwrap();
        b.add_annotation(&set.annotations[0]).unwrap();
        let e = b
            .add_annotation(&set.annotations[1])
            .unwrap_err()
            .to_string();
        assert!(e.contains("requests[1], field `output_name`"), "{e}");
        assert!(e.contains("requests[0]"), "{e}");
    }

    #[test]
    fn sampled_bursts_stay_one_request_each_and_json_has_the_shape() {
        let range = TimeRange::new(
            "2024-04-01T00:00:00Z".parse().unwrap(),
            "2024-04-03T00:00:00Z".parse().unwrap(),
        )
        .unwrap();
        let s = sample(&range, 160, 12).unwrap();
        let dev = DeviceCode::parse("ICLISTENHF6324").unwrap();
        let mut b = PlanBuilder::new(12).unwrap();
        for burst in &s.bursts {
            b.add_burst(&dev, *burst, &HsdSettings::default(), None)
                .unwrap();
        }
        let p = b.build();
        let j = p.to_json();
        assert_eq!(j["windows"].as_array().unwrap().len(), 160);
        assert_eq!(j["requests"].as_array().unwrap().len(), 14);
        assert_eq!(j["clips"].as_array().unwrap().len(), 0);
        let r0 = &j["requests"][0];
        assert_eq!(r0["device"], "ICLISTENHF6324");
        assert_eq!(r0["dateFrom"], "2024-04-01T00:00:00.000Z");
        assert_eq!(r0["dateTo"], "2024-04-01T01:00:00.000Z");
        assert_eq!(r0["windows"], 12);
        assert_eq!(j["windows"][0]["end"], "2024-04-01T00:05:00.000Z");

        // `--hsd-ext mat,png`: every request once more as PNG over the same windows, with
        // distinct engine keys; the windows themselves are not doubled.
        let mut b = PlanBuilder::new(12).unwrap();
        b.also_formats(&[SpectrogramFormat::Png, SpectrogramFormat::Png]);
        for burst in &s.bursts {
            b.add_burst(&dev, *burst, &HsdSettings::default(), None)
                .unwrap();
        }
        let both = b.build();
        assert_eq!(both.windows.len(), 160);
        assert_eq!(both.requests.len(), 28);
        for pair in both.requests.chunks(2) {
            assert_eq!(pair[0].order.range, pair[1].order.range);
            assert_eq!(pair[0].order.settings.format, SpectrogramFormat::Mat);
            assert_eq!(pair[1].order.settings.format, SpectrogramFormat::Png);
        }
        let j = both.to_json();
        assert_ne!(j["requests"][0]["key"], j["requests"][1]["key"]);
    }
}
