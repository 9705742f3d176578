//! The simulated archive: which files exist (derived from deployments), their ONC names, and
//! their bytes (rendered on demand, deterministic, cached per instance with a byte bound; sizes
//! are memoised so listings can report `uncompressedFileSize` equal to the bytes served).
//!
//! Layout: hydrophones have 5-minute audio files — WAV before 2020-08-10, FLAC and WAV until
//! 2021-04-09, FLAC after; starts on the 5-minute grid except for jittered devices (unaligned
//! starts, ±2 s jitter, non-zero milliseconds). The newest hour is withheld. Non-acoustic
//! instruments have daily `.txt` log files.
//!
//! Sizes without rendering: a WAV file is its header plus 3 bytes per sample, and a FLAC file
//! is the real FLAC stream plus PADDING metadata up to 3 bytes per sample + 64 KiB (decoders
//! skip padding). So `returnOptions=all` listings report exact `uncompressedFileSize`s without
//! encoding audio (which takes seconds per file at real sample rates).
//!
//! Must not know: HTTP, query parameters, job state.

use std::collections::{HashMap, VecDeque};
use std::sync::OnceLock;

use bytes::Bytes;
use jiff::Timestamp;

use super::catalog::{flac_since, wav_until, Catalog, Deployment, Device, FileLayout};
use super::clock::{compact_ms, from_ms, ms};
use super::content::{self, ContentError, Recording};
use super::readings;
use super::rng::unit;

/// Length of a hydrophone source file.
pub(crate) const AUDIO_FILE_MS: i64 = 300_000;
const DAY_MS: i64 = 86_400_000;
/// Constant start offset of jittered devices (e.g. files at 00:01:36, 00:06:36, ...).
const JITTER_OFFSET_MS: i64 = 96_000;
/// How long the newest data is withheld.
pub(crate) const WITHHELD_MS: i64 = 3_600_000;

/// One archive file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ArchiveFile {
    pub device: &'static str,
    /// The true start of the data (the time in the name).
    pub start: Timestamp,
    pub duration_ms: i64,
    pub ext: &'static str,
    /// 0 as first archived; each reprocessing event passed adds one (see `sim/reprocess.rs`).
    pub version: u32,
}

impl ArchiveFile {
    /// `<deviceCode>_<yyyyMMddTHHmmss.SSSZ>.<ext>`.
    pub(crate) fn name(&self) -> String {
        format!("{}_{}.{}", self.device, compact_ms(self.start), self.ext)
    }

    pub(crate) fn end(&self) -> Timestamp {
        from_ms(ms(self.start) + self.duration_ms)
    }

    /// The content cache's key: the name, plus the version once reprocessed.
    pub(crate) fn cache_key(&self) -> String {
        match self.version {
            0 => self.name(),
            v => format!("{}#v{v}", self.name()),
        }
    }
}

/// Extra FLAC padding per reprocessed version (so the listed size changes).
const REPROCESS_PAD: u64 = 4096;

/// The content seed of a version (version 0 keeps the plain seed).
pub(crate) fn version_seed(seed: u64, version: u32) -> u64 {
    seed ^ u64::from(version).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn slot_len(layout: FileLayout) -> i64 {
    match layout {
        FileLayout::Audio { .. } => AUDIO_FILE_MS,
        FileLayout::DailyLog => DAY_MS,
    }
}

fn slot_offset(layout: FileLayout) -> i64 {
    match layout {
        FileLayout::Audio { jitter: true } => JITTER_OFFSET_MS,
        _ => 0,
    }
}

/// The start of slot `k` of a device (grid start plus jitter for jittered devices).
fn slot_start(dev: &Device, k: i64) -> i64 {
    let nominal = k * slot_len(dev.layout) + slot_offset(dev.layout);
    match dev.layout {
        FileLayout::Audio { jitter: true } => {
            // −1.5 s … +2.0 s, whole milliseconds, never exactly zero milliseconds.
            let j = (unit(dev.seed, k as u64) * 3500.0) as i64 - 1500;
            let j = if j.rem_euclid(1000) == 0 { j + 29 } else { j };
            nominal + j
        }
        _ => nominal,
    }
}

fn extensions(dev: &Device, start: Timestamp) -> &'static [&'static str] {
    match dev.layout {
        FileLayout::Audio { .. } if start < flac_since() => &["wav"],
        FileLayout::Audio { .. } if start < wav_until() => &["flac", "wav"],
        FileLayout::Audio { .. } => &["flac"],
        FileLayout::DailyLog => &["txt"],
    }
}

/// Whether the archive holds `dev`'s file starting at `start` as `ext` (else a product in that
/// format is generated on the fly).
pub(crate) fn archived_as(dev: &Device, start: Timestamp, ext: &str) -> bool {
    extensions(dev, start).contains(&ext)
}

/// The end of what is published at `now` (the newest hour is withheld; daily logs appear
/// once their day is over).
fn published_until(dev: &Device, now: Timestamp) -> i64 {
    match dev.layout {
        FileLayout::Audio { .. } => ms(now) - WITHHELD_MS,
        FileLayout::DailyLog => ms(now) - WITHHELD_MS,
    }
}

/// Files of `dev` during deployment `d` overlapping `[from, to)` and published at `now`.
pub(crate) fn files_in_deployment(
    dev: &Device,
    d: &Deployment,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    now: Timestamp,
) -> Vec<ArchiveFile> {
    let len = slot_len(dev.layout);
    let off = slot_offset(dev.layout);
    let dep_begin = ms(d.begin);
    let dep_end = d.end.map(ms).unwrap_or(i64::MAX);
    let publ = published_until(dev, now);
    let lo = from.map(ms).unwrap_or(i64::MIN).max(dep_begin - len);
    let hi = to.map(ms).unwrap_or(i64::MAX).min(dep_end).min(publ);
    if hi <= lo {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut k = (lo - off - len - 2_000).div_euclid(len);
    loop {
        let s = slot_start(dev, k);
        if s >= hi {
            break;
        }
        k += 1;
        let e = s + len;
        let in_dep = s >= dep_begin && s < dep_end;
        let overlaps = to.is_none_or(|t| s < ms(t)) && from.is_none_or(|f| e > ms(f));
        if in_dep && overlaps && e <= publ {
            let start = from_ms(s);
            for ext in extensions(dev, start) {
                out.push(ArchiveFile {
                    device: dev.code,
                    start,
                    duration_ms: len,
                    ext,
                    version: 0,
                });
            }
        }
    }
    out
}

/// All files of a device overlapping `[from, to)`, in time order.
pub(crate) fn device_files(
    cat: &Catalog,
    dev: &Device,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    now: Timestamp,
) -> Vec<ArchiveFile> {
    cat.deployments_of(dev.code)
        .into_iter()
        .flat_map(|d| files_in_deployment(dev, d, from, to, now))
        .collect()
}

/// Splits an ONC archive file name into device code, start and extension.
pub(crate) fn parse_name(name: &str) -> Option<(&str, Timestamp, &str)> {
    for (i, _) in name.match_indices('_') {
        let rest = &name[i + 1..];
        if rest.len() < 22 || !rest.is_char_boundary(20) {
            continue;
        }
        // The one archive-name parser (`api::archive`); it checks the bytes are ASCII digits
        // before it slices, so a hostile non-ASCII name cannot panic here.
        if let Some(ts) = crate::api::archive::file_name_start(&rest[..20]) {
            let ext = rest[20..].strip_prefix('.')?;
            return Some((&name[..i], ts, ext));
        }
    }
    None
}

/// The archive file called `name`, if it exists and is published at `now`.
pub(crate) fn lookup(cat: &Catalog, name: &str, now: Timestamp) -> Option<ArchiveFile> {
    let (code, start, ext) = parse_name(name)?;
    let dev = cat.device(code)?;
    let probe_to = from_ms(ms(start) + 1);
    device_files(cat, dev, Some(start), Some(probe_to), now)
        .into_iter()
        .find(|f| f.start == start && f.ext == ext)
}

/// Room above 3 bytes per sample that padded FLAC files occupy.
const FLAC_SLACK: u64 = 65_536;
/// Largest FLAC metadata block body.
const MAX_BLOCK: u64 = 0xFF_FFFF;

fn sample_count(rec: &Recording) -> u64 {
    (rec.duration_s * f64::from(rec.sample_rate)).round() as u64
}

/// The size a padded FLAC file of `n` samples has.
fn flac_target(n: u64) -> u64 {
    3 * n + FLAC_SLACK
}

/// The WAV header length of the content renderer (measured once on a 1-second recording).
fn wav_header_len() -> Option<u64> {
    static HEADER: OnceLock<Option<u64>> = OnceLock::new();
    *HEADER.get_or_init(|| {
        let rec = Recording {
            device_code: "PROBE".into(),
            start: Timestamp::UNIX_EPOCH,
            duration_s: 1.0,
            sample_rate: 1_000,
            seed: 0,
        };
        let len = content::wav(&rec).ok()?.len() as u64;
        len.checked_sub(3 * sample_count(&rec))
    })
}

/// The exact size of an audio archive file without rendering it (`None` for other files or
/// when the renderer is unavailable).
pub(crate) fn predicted_size(
    cat: &Catalog,
    file: &ArchiveFile,
    rate_override: Option<u32>,
    seed: u64,
) -> Option<u64> {
    let dev = cat.device(file.device)?;
    let n = sample_count(&recording(dev, file.start, rate_override, seed));
    match file.ext {
        "flac" => Some(flac_target(n) + REPROCESS_PAD * u64::from(file.version)),
        "wav" => wav_header_len().map(|h| h + 3 * n),
        _ => None,
    }
}

/// Adds PADDING metadata blocks so a FLAC stream is exactly `target` bytes long. Streams that
/// are already longer (or malformed) are returned unchanged.
pub(crate) fn pad_flac(flac: Vec<u8>, target: u64) -> Vec<u8> {
    let len = flac.len() as u64;
    if len + 4 > target || flac.get(..4) != Some(b"fLaC".as_slice()) {
        return flac;
    }
    // Find the last metadata block.
    let mut pos = 4usize;
    let last_header = loop {
        let Some(h) = flac.get(pos..pos + 4) else {
            return flac;
        };
        let body = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
        let last = h[0] & 0x80 != 0;
        if last {
            break pos;
        }
        pos += 4 + body;
    };
    let h = &flac[last_header..last_header + 4];
    let frames_at = last_header
        + 4
        + ((usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]));
    if frames_at > flac.len() {
        return flac;
    }
    let mut out = Vec::with_capacity(target as usize);
    out.extend_from_slice(&flac[..frames_at]);
    out[last_header] &= 0x7F;
    let mut remaining = target - len;
    while remaining > 0 {
        let mut body = (remaining - 4).min(MAX_BLOCK);
        let rest = remaining - 4 - body;
        if rest > 0 && rest < 4 {
            body -= 4;
        }
        remaining -= 4 + body;
        let flag = if remaining == 0 { 0x80 } else { 0x00 };
        out.push(flag | 1);
        out.extend_from_slice(&[(body >> 16) as u8, (body >> 8) as u8, body as u8]);
        out.resize(out.len() + body as usize, 0);
    }
    out.extend_from_slice(&flac[frames_at..]);
    out
}

/// Renders the bytes of an archive file (or of the same recording in another audio format).
pub(crate) fn render(
    cat: &Catalog,
    file: &ArchiveFile,
    rate_override: Option<u32>,
    seed: u64,
) -> Result<Vec<u8>, ContentError> {
    let dev = cat
        .device(file.device)
        .ok_or_else(|| ContentError::Render {
            what: file.name(),
            reason: "unknown device".into(),
        })?;
    match file.ext {
        "flac" | "wav" => {
            let seed = version_seed(seed, file.version);
            let rec = recording(dev, file.start, rate_override, seed);
            if file.ext == "flac" {
                let target =
                    flac_target(sample_count(&rec)) + REPROCESS_PAD * u64::from(file.version);
                let flac = content::flac(&rec)?;
                if flac.len() as u64 > target {
                    tracing::warn!(
                        "{}: FLAC larger than its padded size; listing size will differ",
                        file.name()
                    );
                }
                Ok(pad_flac(flac, target))
            } else {
                content::wav(&rec)
            }
        }
        "mp3" => {
            let rec = recording(
                dev,
                file.start,
                rate_override,
                version_seed(seed, file.version),
            );
            content::mp3(&rec, super::products::mp3_kbps(rec.sample_rate))
        }
        "txt" => {
            let mut text = readings::log_text(dev, file.start, file.end());
            if file.version > 0 {
                text.push_str(&format!("# reprocessed, version {}\n", file.version));
            }
            Ok(text.into_bytes())
        }
        other => Err(ContentError::Render {
            what: file.name(),
            reason: format!("no renderer for .{other}"),
        }),
    }
}

/// The 5-minute recording of `dev` starting at `start`.
pub(crate) fn recording(
    dev: &Device,
    start: Timestamp,
    rate_override: Option<u32>,
    seed: u64,
) -> Recording {
    Recording {
        device_code: dev.code.to_string(),
        start,
        duration_s: AUDIO_FILE_MS as f64 / 1000.0,
        sample_rate: rate_override.or(dev.sample_rate).unwrap_or(64_000),
        seed: dev.seed ^ seed,
    }
}

/// Rendered bytes by file name, bounded by total bytes (oldest evicted first); sizes are kept
/// for every file ever rendered.
#[derive(Debug)]
pub(crate) struct ContentCache {
    bytes: HashMap<String, Bytes>,
    order: VecDeque<String>,
    total: usize,
    cap: usize,
    sizes: HashMap<String, u64>,
}

impl ContentCache {
    pub(crate) fn new(cap: usize) -> Self {
        ContentCache {
            bytes: HashMap::new(),
            order: VecDeque::new(),
            total: 0,
            cap,
            sizes: HashMap::new(),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<Bytes> {
        self.bytes.get(key).cloned()
    }

    pub(crate) fn size(&self, key: &str) -> Option<u64> {
        self.sizes.get(key).copied()
    }

    pub(crate) fn put(&mut self, key: &str, data: Bytes) {
        self.sizes.insert(key.to_string(), data.len() as u64);
        if self.bytes.contains_key(key) || data.len() > self.cap {
            return;
        }
        self.total += data.len();
        self.bytes.insert(key.to_string(), data);
        self.order.push_back(key.to_string());
        while self.total > self.cap {
            match self.order.pop_front() {
                Some(old) => {
                    if let Some(b) = self.bytes.remove(&old) {
                        self.total -= b.len();
                    }
                }
                None => break,
            }
        }
    }
}

/// Non-constant default page sizes, like ONC's (~11k rows).
pub(crate) fn default_page_size(page: usize) -> usize {
    10_700 + ((page as u64 * 7919) % 450) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::clock::lit;

    fn now() -> Timestamp {
        lit("2026-01-01T00:00:00Z")
    }

    #[test]
    fn grid_files_for_the_example_device() {
        let cat = Catalog::builtin();
        let dev = cat.device("ICLISTENHF6324").unwrap();
        let f = device_files(
            &cat,
            dev,
            Some(lit("2024-04-01T12:00:00Z")),
            Some(lit("2024-04-01T12:10:00Z")),
            now(),
        );
        let names: Vec<String> = f.iter().map(ArchiveFile::name).collect();
        assert_eq!(
            names,
            [
                "ICLISTENHF6324_20240401T120000.000Z.flac",
                "ICLISTENHF6324_20240401T120500.000Z.flac"
            ]
        );
        // Overlap: a window starting mid-file includes that file.
        let f = device_files(
            &cat,
            dev,
            Some(lit("2024-04-01T12:02:00Z")),
            Some(lit("2024-04-01T12:05:00Z")),
            now(),
        );
        assert_eq!(f.len(), 1);
        // WAV era and the both-formats era.
        let f = device_files(
            &cat,
            dev,
            Some(lit("2020-01-01T00:00:00Z")),
            Some(lit("2020-01-01T00:05:00Z")),
            now(),
        );
        assert_eq!(f[0].ext, "wav");
        let f = device_files(
            &cat,
            dev,
            Some(lit("2021-01-01T00:00:00Z")),
            Some(lit("2021-01-01T00:05:00Z")),
            now(),
        );
        assert_eq!(f.iter().map(|f| f.ext).collect::<Vec<_>>(), ["flac", "wav"]);
        // The deployment gap has no files; data ends with April 2024.
        assert!(device_files(
            &cat,
            dev,
            Some(lit("2020-06-01T00:00:00Z")),
            Some(lit("2020-06-02T00:00:00Z")),
            now()
        )
        .is_empty());
        assert!(device_files(
            &cat,
            dev,
            Some(lit("2024-05-01T00:00:00Z")),
            Some(lit("2024-05-02T00:00:00Z")),
            now()
        )
        .is_empty());
    }

    #[test]
    fn jittered_device_and_name_parsing() {
        let cat = Catalog::builtin();
        let dev = cat.device("NAXYS_HYD-023").unwrap();
        let f = device_files(
            &cat,
            dev,
            Some(lit("2024-04-01T00:00:00Z")),
            Some(lit("2024-04-01T01:00:00Z")),
            now(),
        );
        assert!(f.len() >= 11 && f.len() <= 13, "{}", f.len());
        assert!(f.iter().all(|x| ms(x.start) % 1000 != 0));
        assert!(f.iter().all(|x| ms(x.start) % AUDIO_FILE_MS != 0));
        let name = f[3].name();
        assert_eq!(parse_name(&name).map(|p| p.0), Some("NAXYS_HYD-023"));
        assert_eq!(lookup(&cat, &name, now()), Some(f[3].clone()));
        assert_eq!(
            lookup(&cat, "NAXYS_HYD-023_20240401T000000.000Z.flac", now()),
            None
        );
        assert_eq!(parse_name("nonsense.flac"), None);
        // A multi-byte character inside the timestamp window (bytes 3..5) used to panic the
        // handler when the window was sliced (issue 16 item 13).
        assert_eq!(
            parse_name("ICLISTENHF6324_202\u{e9}401T120000.029Z.flac"),
            None
        );
        assert_eq!(parse_name("\u{e9}\u{e9}_20240401T120000.029Z\u{e9}"), None);
    }

    #[test]
    fn newest_hour_is_withheld_and_cache_is_bounded() {
        let cat = Catalog::builtin();
        let dev = cat.device("ICLISTENHF1560").unwrap();
        let n = now();
        let f = device_files(&cat, dev, Some(from_ms(ms(n) - 3 * 3_600_000)), None, n);
        assert_eq!(f.len(), 24);
        let mut c = ContentCache::new(10);
        c.put("a", Bytes::from_static(b"123456"));
        c.put("b", Bytes::from_static(b"123456"));
        assert!(c.get("a").is_none() && c.get("b").is_some());
        assert_eq!(c.size("a"), Some(6));
        assert_ne!(default_page_size(1), default_page_size(2));
    }
}

#[cfg(test)]
mod padding_tests {
    use super::*;

    #[test]
    fn padded_flac_has_the_exact_size_and_decodes_the_same() {
        let cat = Catalog::builtin();
        let dev = cat.device("ICLISTENHF6324").unwrap();
        let f = ArchiveFile {
            device: dev.code,
            start: crate::sim::clock::lit("2024-04-01T12:00:00Z"),
            duration_ms: AUDIO_FILE_MS,
            ext: "flac",
            version: 0,
        };
        let rec = recording(dev, f.start, Some(1_000), 0);
        let plain = content::flac(&rec).unwrap();
        let padded = render(&cat, &f, Some(1_000), 0).unwrap();
        assert_eq!(
            Some(padded.len() as u64),
            predicted_size(&cat, &f, Some(1_000), 0)
        );
        assert!(padded.len() > plain.len());
        let decode = |b: &[u8]| -> Vec<i32> {
            let mut r = claxon::FlacReader::new(std::io::Cursor::new(b.to_vec())).unwrap();
            r.samples().map(|s| s.unwrap()).collect()
        };
        assert_eq!(decode(&padded), decode(&plain));
        let wav = ArchiveFile { ext: "wav", ..f };
        assert_eq!(
            Some(render(&cat, &wav, Some(1_000), 0).unwrap().len() as u64),
            predicted_size(&cat, &wav, Some(1_000), 0)
        );
        // A reprocessed version: other samples, 4 KiB more, and the prediction still exact.
        let v1 = ArchiveFile {
            version: 1,
            ..f.clone()
        };
        let re = render(&cat, &v1, Some(1_000), 0).unwrap();
        assert_eq!(re.len(), padded.len() + 4096);
        assert_eq!(
            Some(re.len() as u64),
            predicted_size(&cat, &v1, Some(1_000), 0)
        );
        assert_ne!(decode(&re), decode(&padded));
        assert_ne!(v1.cache_key(), f.cache_key());
        // Odd remainders never leave a 1–3 byte hole.
        for extra in 4..12u64 {
            let p = pad_flac(plain.clone(), plain.len() as u64 + MAX_BLOCK + extra);
            assert_eq!(p.len() as u64, plain.len() as u64 + MAX_BLOCK + extra);
        }
    }
}
