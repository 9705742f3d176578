//! One annotation (an event of interest on one device) and how its fields are resolved — every
//! field and alias of the Python tool's request schema (prior art §2.2), with its mistakes fixed:
//!
//! * the covered interval is `[anchor − pad_before, end + pad_after)`, where `end` is `end`
//!   (aliases `end_time`, `stop`, `stop_time`), or `anchor + duration_seconds`, or the anchor
//!   itself for a lone timestamp — after-padding is never swallowed by the event span;
//! * `timestamp` and `start` may not disagree (the Python tool silently ignored `timestamp`);
//! * negative, non-finite or non-numeric pads and durations are errors naming the field;
//! * an explicit `null` means "not given" and falls through to the command-line defaults.
//!
//! File shapes (legacy map, rich form, lists, CSV) live in `annotation_files`.
//!
//! Must not know: file syntax, HTTP, terminals.

use std::collections::BTreeSet;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value};

use super::archive::AudioExtension;
use super::device::{Device, Provider};
use super::error::{Location, Result};
use super::fields::{check_name, Entry};
use super::grid::{windows_overlapping, DeviceCode, TimeRange, Window};
use super::hsd::{Downsample, HsdSettings, SpectrogramFormat};
use super::timeparse::parse_timezone;
use crate::api::time::format_compact_plain;

/// What the command line supplies for fields an annotation leaves out (the Python tool's caller
/// arguments). A field written in the file wins over these.
#[derive(Debug, Clone)]
pub struct CallerDefaults {
    /// Padding before the event when `pad_before_seconds`/`pad_seconds` are absent.
    pub pad_before: Option<SignedDuration>,
    /// Padding after the event when `pad_after_seconds`/`pad_seconds` are absent.
    pub pad_after: Option<SignedDuration>,
    /// Whether to cut clips when `clip` is absent (`None`: clip whenever the annotation spans time).
    pub clip: Option<bool>,
    /// Whether to fetch spectrograms when `download_spectrogram`/`spectrogram` is absent.
    pub spectrogram: Option<bool>,
    /// Whether to fetch audio when `download_audio`/`audio` is absent.
    pub audio: Option<bool>,
    /// Clip subfolder when `output_tag` is absent.
    pub tag: Option<String>,
    /// Format, downsample and `--option dpo_*` values; an annotation's own options win.
    pub hsd: HsdSettings,
    /// Timezone for naive times when the annotation has no `timezone` field.
    pub timezone: TimeZone,
}

impl Default for CallerDefaults {
    fn default() -> Self {
        CallerDefaults {
            pad_before: None,
            pad_after: None,
            clip: None,
            spectrogram: None,
            audio: None,
            tag: None,
            hsd: HsdSettings::default(),
            timezone: TimeZone::UTC,
        }
    }
}

/// One resolved annotation.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// The hydrophone (`device_code`/`device`), e.g. `ICLISTENHF6324`.
    pub device: DeviceCode,
    /// Where it came from (file and entry; `field` is `None`).
    pub source: Location,
    /// The event start (`start`, else `timestamp`).
    pub anchor: Timestamp,
    /// The event end; equal to `anchor` for a lone timestamp.
    pub event_end: Timestamp,
    /// Padding before the anchor (never negative).
    pub pad_before: SignedDuration,
    /// Padding after the event end (never negative).
    pub pad_after: SignedDuration,
    /// Fetch HSD spectrograms (`download_spectrogram`/`spectrogram`).
    pub spectrogram: bool,
    /// Fetch archive audio (`download_audio`/`audio`).
    pub audio: bool,
    /// Cut clips of exactly [`Annotation::interval`] (`clip`; defaults to true when the annotation spans time).
    pub clip: bool,
    /// Free text (`label`/`description`), copied into the clip sidecar.
    pub label: Option<String>,
    /// Basename for clip outputs (`<device>_<YYYYmmddTHHMMSS of anchor>` unless given).
    pub output_name: String,
    /// Subfolder of `clips/` for this annotation's outputs (`output_tag`).
    pub output_tag: Option<String>,
    /// Spectrogram format, downsampling and `dpo_*` options, the annotation's own over the caller's.
    pub hsd: HsdSettings,
    /// Which archive audio to fetch (`audio_extension`; default FLAC).
    pub audio_extension: AudioExtension,
}

impl Annotation {
    /// The covered half-open interval `[anchor − pad_before, event_end + pad_after)`.
    pub fn interval(&self) -> TimeRange {
        // Built and checked in `resolve`, so the arithmetic cannot overflow here.
        let start = self
            .anchor
            .checked_sub(self.pad_before)
            .unwrap_or(self.anchor);
        let end = self
            .event_end
            .checked_add(self.pad_after)
            .unwrap_or(self.event_end);
        TimeRange::new(start, end).unwrap_or(TimeRange::instant(self.anchor))
    }

    /// Every grid window overlapping the interval; for an empty interval (a lone instant without
    /// padding), the window containing the instant.
    pub fn windows(&self) -> Result<Vec<Window>> {
        windows_overlapping(&self.interval())
    }

    /// The name a clip of this annotation is reported under.
    pub fn clip_label(&self) -> String {
        self.label
            .clone()
            .unwrap_or_else(|| self.output_name.clone())
    }
}

/// Every field name the resolver reads (other keys are reported as ignored).
pub(crate) const KNOWN_FIELDS: &[&str] = &[
    "provider",
    "deviceCode",
    "device",
    "device_code",
    "start",
    "start_time",
    "begin",
    "begin_time",
    "end",
    "end_time",
    "stop",
    "stop_time",
    "timestamp",
    "time",
    "datetime",
    "timezone",
    "timezone_str",
    "tz",
    "duration_seconds",
    "pad_seconds",
    "pad_before_seconds",
    "pad_after_seconds",
    "download_spectrogram",
    "spectrogram",
    "download_audio",
    "audio",
    "clip",
    "output_tag",
    "spectrogram_format",
    "audio_extension",
    "spectral_downsample",
    "data_product_options",
    "hsd_options",
    "label",
    "description",
    "output_name",
];

/// Resolves one merged request object (defaults ∪ request) into an [`Annotation`].
pub(crate) fn resolve(
    map: &Map<String, Value>,
    at: &Location,
    caller: &CallerDefaults,
) -> Result<Annotation> {
    let e = Entry { map, at };
    let tz = match e.text(&["timezone", "timezone_str", "tz"])? {
        Some((n, s)) => parse_timezone(&s).map_err(|err| e.err(n, err.to_string()))?,
        None => caller.timezone.clone(),
    };
    let (_, device) = e
        .text(&["deviceCode", "device", "device_code"])?
        .ok_or_else(|| {
            e.err(
                "deviceCode",
                "each request needs a deviceCode (or device) field",
            )
        })?;
    let provider = match e.text(&["provider"])? {
        Some((n, p)) => Some(Provider::parse(&p).map_err(|err| e.err(n, err.to_string()))?),
        None => None,
    };
    let device = Device::resolve(&device, provider)
        .map_err(|err| {
            let field = if provider.is_some() {
                "provider"
            } else {
                "deviceCode"
            };
            e.err(field, err.to_string())
        })?
        .code();

    let start = e.time(&["start", "start_time", "begin", "begin_time"], &tz)?;
    let stamp = e.time(&["timestamp", "time", "datetime"], &tz)?;
    let anchor = match (start, stamp) {
        (Some(s), Some(t)) if s != t => {
            return Err(e.err(
                "timestamp",
                "both `timestamp` and `start` are given and they differ; give one of them",
            ))
        }
        (Some(s), _) | (None, Some(s)) => s,
        (None, None) => {
            return Err(e.err(
                "timestamp",
                format!("missing timestamp or start for device {device}"),
            ))
        }
    };
    let end = e.time(&["end", "end_time", "stop", "stop_time"], &tz)?;
    let duration = e.non_negative(&["duration_seconds"])?;
    let event_end = match (end, duration) {
        (Some(end), _) if end <= anchor => {
            return Err(e.err("end", "the end time must be after the start time"))
        }
        (Some(end), Some(d)) if anchor.checked_add(d).ok() != Some(end) => {
            return Err(e.err(
                "duration_seconds",
                "both `end` and `duration_seconds` are given and they disagree; give one",
            ))
        }
        (Some(end), _) => end,
        (None, Some(d)) => anchor
            .checked_add(d)
            .map_err(|err| e.err("duration_seconds", err.to_string()))?,
        (None, None) => anchor,
    };

    let symmetric = e.non_negative(&["pad_seconds"])?;
    let pad_before = e
        .non_negative(&["pad_before_seconds"])?
        .or(symmetric)
        .or(caller.pad_before)
        .unwrap_or(SignedDuration::ZERO);
    let pad_after = e
        .non_negative(&["pad_after_seconds"])?
        .or(symmetric)
        .or(caller.pad_after)
        .unwrap_or(SignedDuration::ZERO);
    if pad_before.is_negative() || pad_after.is_negative() {
        return Err(e.err("pad_seconds", "pads must be ≥ 0 seconds"));
    }
    anchor
        .checked_sub(pad_before)
        .map_err(|err| e.err("pad_before_seconds", err.to_string()))?;
    event_end
        .checked_add(pad_after)
        .map_err(|err| e.err("pad_after_seconds", err.to_string()))?;

    let spectrogram = e
        .boolean(&["download_spectrogram", "spectrogram"])?
        .or(caller.spectrogram)
        .unwrap_or(true);
    let audio = e
        .boolean(&["download_audio", "audio"])?
        .or(caller.audio)
        .unwrap_or(false);
    if !spectrogram && !audio {
        return Err(e.err(
            "download_spectrogram",
            "the request asks for neither a spectrogram nor audio",
        ));
    }
    let spans_time = anchor != event_end || !pad_before.is_zero() || !pad_after.is_zero();
    let clip = e.boolean(&["clip"])?.or(caller.clip).unwrap_or(spans_time);

    let mut hsd = caller.hsd.clone();
    if let Some((n, f)) = e.text(&["spectrogram_format"])? {
        hsd.format = SpectrogramFormat::parse(&f).map_err(|err| e.err(n, err.to_string()))?;
    }
    if let Some((n, v)) = e.get(&["spectral_downsample"]) {
        let text = match v {
            Value::String(s) => s.trim().to_string(),
            other => other.to_string(),
        };
        hsd.downsample = Downsample::parse(&text).map_err(|err| e.err(n, err.to_string()))?;
    }
    hsd.options = hsd.options.overlaid(&e.options()?);
    if clip && !spans_time {
        return Err(e.err(
            "clip",
            "a clip needs a time span: give pads, an end or duration_seconds",
        ));
    }
    if clip && spectrogram && hsd.format == SpectrogramFormat::Png {
        return Err(e.err(
            "spectrogram_format",
            "clips are cut from MAT spectrograms, not PNG images",
        ));
    }
    let audio_extension = match e.text(&["audio_extension"])? {
        Some((n, x)) => AudioExtension::parse(&x).map_err(|err| e.err(n, err.to_string()))?,
        None => AudioExtension::default(),
    };
    let label = e.text(&["label", "description"])?.map(|(_, s)| s);
    let output_name = match e.text(&["output_name"])? {
        Some((n, s)) => {
            check_name(&e, n, &s)?;
            s
        }
        None => format!("{device}_{}", format_compact_plain(anchor)),
    };
    let output_tag = match e.text(&["output_tag"])? {
        Some((n, s)) => {
            check_name(&e, n, &s)?;
            Some(s)
        }
        None => caller.tag.clone(),
    };
    Ok(Annotation {
        device,
        source: at.clone(),
        anchor,
        event_end,
        pad_before,
        pad_after,
        spectrogram,
        audio,
        clip,
        label,
        output_name,
        output_tag,
        hsd,
        audio_extension,
    })
}

/// The annotation for an instant given on the command line (`times`): entry `times[i]`, with
/// pads, clip and products from the command-line defaults.
pub fn annotation_at(
    device: &DeviceCode,
    instant: Timestamp,
    index: usize,
    caller: &CallerDefaults,
) -> Result<Annotation> {
    let mut map = Map::new();
    map.insert("deviceCode".into(), Value::String(device.to_string()));
    map.insert("timestamp".into(), Value::String(instant.to_string()));
    let at = Location {
        file: "command line".into(),
        entry: format!("times[{index}]"),
        field: None,
    };
    resolve(&map, &at, caller)
}

/// Keys of `map` the resolver does not read, for "ignored field" warnings.
pub(crate) fn unknown_keys(map: &Map<String, Value>) -> BTreeSet<String> {
    map.keys()
        .filter(|k| !KNOWN_FIELDS.contains(&k.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    //! Prior art §2.4's worked examples, with our corrected answers.
    use super::*;
    use crate::api::time::format_onc;
    use serde_json::json;

    fn at() -> Location {
        Location {
            file: "t.json".into(),
            entry: "requests[0]".into(),
            field: None,
        }
    }

    fn run(v: Value, caller: &CallerDefaults) -> Result<Annotation> {
        resolve(v.as_object().unwrap(), &at(), caller)
    }

    fn ok(v: Value) -> Annotation {
        run(v, &CallerDefaults::default()).unwrap()
    }

    fn span(a: &Annotation) -> (String, String) {
        let r = a.interval();
        (format_onc(r.start()), format_onc(r.end()))
    }

    fn window_starts(a: &Annotation) -> Vec<String> {
        a.windows()
            .unwrap()
            .iter()
            .map(|w| format_onc(w.start())[11..16].to_string())
            .collect()
    }

    #[test]
    fn example_a_pads_cross_a_window_boundary() {
        let a = ok(json!({"deviceCode": "ICLISTENHF6324", "pad_seconds": 15,
            "download_audio": true, "clip": true, "timestamp": "2024-04-01T12:34:50Z"}));
        assert_eq!(
            span(&a),
            (
                "2024-04-01T12:34:35.000Z".into(),
                "2024-04-01T12:35:05.000Z".into()
            )
        );
        assert_eq!(window_starts(&a), ["12:30", "12:35"]);
        assert!(a.clip && a.audio && a.spectrogram);
        assert_eq!(a.output_name, "ICLISTENHF6324_20240401T123450");
    }

    #[test]
    fn example_b_keeps_the_after_padding() {
        let a = ok(
            json!({"deviceCode": "ICLISTENHF6324", "start": "2024-04-01T12:30:00Z",
            "end": "2024-04-01T12:33:30Z", "pad_before_seconds": 10, "pad_after_seconds": 20}),
        );
        // Python: [12:29:50, 12:33:30] — the 20 s after the end vanished.
        assert_eq!(
            span(&a),
            (
                "2024-04-01T12:29:50.000Z".into(),
                "2024-04-01T12:33:50.000Z".into()
            )
        );
        assert_eq!(a.interval().duration().as_secs(), 240);
        assert_eq!(window_starts(&a), ["12:25", "12:30"]);
        assert!(a.clip);
    }

    #[test]
    fn example_c_seed_request() {
        let a = ok(
            json!({"device": "ICLISTENHF6324", "start_time": "2024-04-01T14:00:00Z",
            "stop": "2024-04-01T14:03:30Z", "pad_before_seconds": 15, "pad_after_seconds": 20}),
        );
        assert_eq!(
            span(&a),
            (
                "2024-04-01T13:59:45.000Z".into(),
                "2024-04-01T14:03:50.000Z".into()
            )
        );
        assert_eq!(window_starts(&a), ["13:55", "14:00"]);
    }

    #[test]
    fn example_d_timezone_field() {
        for key in ["timezone", "timezone_str", "tz"] {
            let a = ok(
                json!({"deviceCode": "X", "timestamp": "2024-04-01 05:30:00",
                key: "America/Vancouver"}),
            );
            assert_eq!(format_onc(a.anchor), "2024-04-01T12:30:00.000Z", "{key}");
        }
    }

    #[test]
    fn example_e_duration_then_after_pad() {
        let a = ok(json!({"deviceCode": "X", "start": "2024-04-01T12:00:00Z",
            "duration_seconds": 90, "pad_seconds": 15}));
        // Python: 11:59:45–12:01:30 (pad_after = max(15, 90)); ours adds the pad after the event.
        assert_eq!(
            span(&a),
            (
                "2024-04-01T11:59:45.000Z".into(),
                "2024-04-01T12:01:45.000Z".into()
            )
        );
        assert_eq!(window_starts(&a), ["11:55", "12:00"]);
    }

    #[test]
    fn example_f_lone_instant_is_one_window_without_clip() {
        let a = ok(json!({"deviceCode": "X", "timestamp": "2024-04-01T12:00:00Z"}));
        assert!(a.interval().is_empty());
        assert!(!a.clip);
        assert_eq!(window_starts(&a), ["12:00"]);
    }

    #[test]
    fn example_g_caller_pads_turn_clips_on() {
        let v = json!({"deviceCode": "ICLISTENHF6324", "timestamp": [2024, 4, 1, 12, 34, 50]});
        let a = ok(v.clone());
        assert!(!a.clip);
        assert_eq!(window_starts(&a), ["12:30"]);
        let caller = CallerDefaults {
            pad_before: Some(SignedDuration::from_secs(20)),
            pad_after: Some(SignedDuration::from_secs(20)),
            ..CallerDefaults::default()
        };
        let a = run(v, &caller).unwrap();
        assert!(a.clip);
        assert_eq!(window_starts(&a), ["12:30", "12:35"]);
    }

    #[test]
    fn zero_pads_are_fine_negative_pads_are_errors() {
        let a = ok(
            json!({"deviceCode": "X", "timestamp": "2024-04-01T12:00:00Z",
            "pad_before_seconds": 0, "pad_after_seconds": 0}),
        );
        assert!(a.interval().is_empty());
        for key in [
            "pad_seconds",
            "pad_before_seconds",
            "pad_after_seconds",
            "duration_seconds",
        ] {
            let e = run(
                json!({"deviceCode": "X", "timestamp": "2024-04-01T12:00:00Z", key: -5}),
                &CallerDefaults::default(),
            )
            .unwrap_err();
            let text = e.to_string();
            assert!(text.contains(&format!("field `{key}`")), "{text}");
            assert!(text.contains("≥ 0"), "{text}");
        }
    }

    #[test]
    fn bad_fields_are_named() {
        let cases = [
            (json!({"timestamp": "2024-04-01T12:00:00Z"}), "deviceCode"),
            (json!({"deviceCode": "X"}), "timestamp"),
            (json!({"deviceCode": "X", "time": "noon"}), "time"),
            (
                json!({"deviceCode": "X", "start": "2024-04-01T12:00:00Z",
                "end": "2024-04-01T11:00:00Z"}),
                "end",
            ),
            (
                json!({"deviceCode": "X", "start": "2024-04-01T12:00:00Z",
                "timestamp": "2024-04-01T12:00:01Z"}),
                "timestamp",
            ),
            (
                json!({"deviceCode": "X", "timestamp": "2024-04-01T12:00:00Z",
                "tz": "Nowhere/Land"}),
                "tz",
            ),
            (
                json!({"deviceCode": "X", "timestamp": "2024-04-01T12:00:00Z",
                "clip": "maybe"}),
                "clip",
            ),
            (
                json!({"deviceCode": "X", "timestamp": "2024-04-01T12:00:00Z",
                "clip": true}),
                "clip",
            ),
            (
                json!({"deviceCode": "X", "timestamp": "2024-04-01T12:00:00Z",
                "spectral_downsample": 4}),
                "spectral_downsample",
            ),
            (
                json!({"deviceCode": "X", "timestamp": "2024-04-01T12:00:00Z",
                "hsd_options": {"dpo_spectrogramSource": "X"}}),
                "hsd_options",
            ),
            (
                json!({"deviceCode": "X", "timestamp": "2024-04-01T12:00:00Z",
                "output_name": "../escape"}),
                "output_name",
            ),
            (
                json!({"deviceCode": "X", "timestamp": "2024-04-01T12:00:00Z",
                "spectrogram": false, "audio": false}),
                "download_spectrogram",
            ),
        ];
        for (v, field) in cases {
            let e = run(v.clone(), &CallerDefaults::default()).unwrap_err();
            let text = e.to_string();
            assert!(
                text.starts_with("t.json: entry requests[0], field `"),
                "{v}: {text}"
            );
            assert!(text.contains(&format!("`{field}`")), "{v}: {text}");
        }
    }

    #[test]
    fn aliases_and_options_resolve() {
        let a = ok(json!({"device_code": "X", "begin": "2024-04-01T12:00:00Z",
            "end_time": "2024-04-01T12:10:00Z", "spectrogram": "no", "audio": "yes",
            "description": "fin whale", "audio_extension": "WAV", "spectral_downsample": "0",
            "data_product_options": "{\"dpo_hydrophoneChannel\": \"H1\"}",
            "output_tag": "calls"}));
        assert!(!a.spectrogram && a.audio);
        assert_eq!(a.label.as_deref(), Some("fin whale"));
        assert_eq!(a.clip_label(), "fin whale");
        assert_eq!(a.audio_extension, AudioExtension::Wav);
        assert_eq!(a.hsd.downsample, Downsample::Full);
        assert_eq!(a.hsd.options.get("dpo_hydrophoneChannel"), Some("H1"));
        assert_eq!(a.output_tag.as_deref(), Some("calls"));
        assert!(a.clip, "a span turns clipping on by default");
    }

    #[test]
    fn null_falls_through_to_caller_defaults() {
        let caller = CallerDefaults {
            audio: Some(true),
            pad_before: Some(SignedDuration::from_secs(5)),
            ..CallerDefaults::default()
        };
        let a = run(
            json!({"deviceCode": "X", "timestamp": "2024-04-01T12:00:00Z",
                "download_audio": null, "pad_before_seconds": null}),
            &caller,
        )
        .unwrap();
        assert!(a.audio);
        assert_eq!(a.pad_before, SignedDuration::from_secs(5));
        assert_eq!(a.pad_after, SignedDuration::ZERO);
    }

    #[test]
    fn end_and_duration_may_not_disagree() {
        let e = run(
            json!({"deviceCode": "X", "start": "2024-04-01T12:00:00Z",
                "end": "2024-04-01T12:01:00Z", "duration_seconds": 90}),
            &CallerDefaults::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("`duration_seconds`"), "{e}");
        let a = ok(json!({"deviceCode": "X", "start": "2024-04-01T12:00:00Z",
            "end": "2024-04-01T12:01:30Z", "duration_seconds": 90}));
        assert_eq!(a.interval().duration().as_secs(), 90);
    }
}
