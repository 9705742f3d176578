//! Archive file names and which archive files serve a set of windows.
//!
//! ONC names archive files `<deviceCode>_<yyyyMMddTHHmmss.SSSZ>[_<end stamp>][<suffix>].<ext>`
//! (`ICLISTENHF6324_20240401T120000.000Z.flac`, `…-HPF.flac`, `…Z-spect.png`). Device codes
//! contain `_` and `-`, so names are parsed by locating the `\d{8}T\d{6}\.\d{3}Z` stamp, never by
//! splitting. Starts drift off the 5-minute grid (`…T000136.029Z`), so selection uses each
//! file's real start (and the listing's `dateTo` when given, else the nominal 300 s): a file that
//! starts before a window but overlaps it is included.
//!
//! Must not know: HTTP (a listing arrives as [`ListedFile`]s), decoding.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use super::error::{HydroError, Result};
use super::grid::{DeviceCode, TimeRange, WINDOW_SECONDS};
use crate::api;

/// The archive audio format to fetch for an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum AudioExtension {
    /// `.flac` (lossless; the default).
    #[default]
    Flac,
    /// `.wav`.
    Wav,
    /// `.mp3` (lossy).
    Mp3,
}

impl AudioExtension {
    /// Parses `flac`, `wav` or `mp3` (any case, leading dot allowed).
    pub fn parse(value: &str) -> Result<AudioExtension> {
        match value
            .trim()
            .trim_start_matches('.')
            .to_ascii_lowercase()
            .as_str()
        {
            "flac" => Ok(AudioExtension::Flac),
            "wav" => Ok(AudioExtension::Wav),
            "mp3" => Ok(AudioExtension::Mp3),
            other => Err(HydroError::arg(
                "audio extension",
                format!("{other:?} is not flac, wav or mp3"),
            )),
        }
    }

    /// The extension without the dot, as ONC's `fileExtension` filter takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            AudioExtension::Flac => "flac",
            AudioExtension::Wav => "wav",
            AudioExtension::Mp3 => "mp3",
        }
    }
}

/// One row of an `archivefile/device` listing (`returnOptions=all` gives the dates and size;
/// plain listings give the name only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    /// `filename`: the archive file name.
    pub filename: String,
    /// `dateFrom`: UTC start of the file's data, when listed with `returnOptions=all`.
    pub date_from: Option<Timestamp>,
    /// `dateTo`: UTC end of the file's data, when listed.
    pub date_to: Option<Timestamp>,
    /// Bytes of the download (uncompressed size), when listed.
    pub size: Option<u64>,
}

impl From<&api::ArchiveFile> for ListedFile {
    /// A `returnOptions=all` row; the size is the uncompressed one, as downloads arrive
    /// uncompressed.
    fn from(row: &api::ArchiveFile) -> Self {
        ListedFile {
            filename: row.filename.clone(),
            date_from: row.date_from,
            date_to: row.date_to,
            size: row.uncompressed_file_size.or(row.file_size),
        }
    }
}

impl ListedFile {
    /// A name-only row (plain listings).
    pub fn named(filename: &str) -> ListedFile {
        ListedFile {
            filename: filename.to_string(),
            date_from: None,
            date_to: None,
            size: None,
        }
    }
}

/// The parts of an archive file name (parsed by `api::parse_file_name`, their one parser).
pub type ArchiveName = api::ArchiveFileName;

/// Parses an archive file name; the error names the file.
pub fn parse_archive_name(name: &str) -> Result<ArchiveName> {
    api::parse_file_name(name).map_err(|reason| HydroError::FileName {
        name: name.to_string(),
        reason: reason.to_string(),
    })
}

/// An archive file chosen for download, with its real time span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The archive file name, as `archivefile/download` takes it.
    pub filename: String,
    /// Real start (from the listing or the name) to the listing's `dateTo`, the name's end
    /// stamp, or the nominal 300 s.
    pub range: TimeRange,
    /// Expected bytes of the download, when the listing gave them.
    pub size: Option<u64>,
}

/// The outcome of [`select_audio`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AudioSelection {
    /// Unique files, in time order.
    pub files: Vec<SourceFile>,
    /// Requested ranges no file overlaps (gaps in the archive).
    pub uncovered: Vec<TimeRange>,
    /// Listing rows that were not usable, with the reason.
    pub skipped: Vec<(String, String)>,
}

fn real_range(row: &ListedFile, name: &ArchiveName) -> Result<TimeRange> {
    let start = row.date_from.unwrap_or(name.start);
    let end = match row.date_to.or(name.end) {
        Some(end) if end > start => end,
        _ => start
            .checked_add(SignedDuration::from_secs(WINDOW_SECONDS))
            .map_err(|e| HydroError::FileName {
                name: row.filename.clone(),
                reason: e.to_string(),
            })?,
    };
    TimeRange::new(start, end)
}

/// The archive files of `device` overlapping any of `ranges`, preferring the extensions in
/// order: for each range, files of the first extension that has any overlapping file (FLAC,
/// then WAV, as ONC archived WAV before 2021). Only undiverted files (no `-HPF`/`-LPF` suffix) are
/// taken.
pub fn select_audio(
    listing: &[ListedFile],
    device: &DeviceCode,
    ranges: &[TimeRange],
    preference: &[AudioExtension],
) -> AudioSelection {
    let mut out = AudioSelection::default();
    let mut candidates: Vec<(AudioExtension, SourceFile)> = Vec::new();
    for row in listing {
        let parsed = match parse_archive_name(&row.filename) {
            Ok(p) => p,
            Err(e) => {
                out.skipped.push((row.filename.clone(), e.to_string()));
                continue;
            }
        };
        if parsed.device != device.as_str() {
            out.skipped.push((
                row.filename.clone(),
                format!("belongs to {}", parsed.device),
            ));
            continue;
        }
        let Some(ext) = preference.iter().find(|e| e.as_str() == parsed.extension) else {
            continue; // another product (png, fft, …): not audio we want
        };
        if !parsed.suffix.is_empty() {
            out.skipped.push((
                row.filename.clone(),
                format!("diverted or derived file ({})", parsed.suffix),
            ));
            continue;
        }
        match real_range(row, &parsed) {
            Ok(range) => candidates.push((
                *ext,
                SourceFile {
                    filename: row.filename.clone(),
                    range,
                    size: row.size,
                },
            )),
            Err(e) => out.skipped.push((row.filename.clone(), e.to_string())),
        }
    }
    let mut chosen: BTreeMap<(Timestamp, String), SourceFile> = BTreeMap::new();
    for range in ranges {
        let hit = preference.iter().find_map(|ext| {
            let files: Vec<&SourceFile> = candidates
                .iter()
                .filter(|(e, f)| e == ext && f.range.overlaps(range))
                .map(|(_, f)| f)
                .collect();
            (!files.is_empty()).then_some(files)
        });
        match hit {
            Some(files) => {
                for f in files {
                    chosen.insert((f.range.start(), f.filename.clone()), f.clone());
                }
            }
            None => out.uncovered.push(*range),
        }
    }
    out.files = chosen.into_values().collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::time::format_onc;
    use crate::hydro::grid::Window;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn names_are_parsed_by_their_stamp() {
        let n = parse_archive_name("ICLISTENHF6324_20240401T120000.000Z.flac").unwrap();
        assert_eq!(n.device, "ICLISTENHF6324");
        assert_eq!(format_onc(n.start), "2024-04-01T12:00:00.000Z");
        assert_eq!((n.suffix.as_str(), n.extension.as_str()), ("", "flac"));
        let n = parse_archive_name("NAXYS_HYD_007_20091231T235919.476Z-spect-small.png").unwrap();
        assert_eq!(n.device, "NAXYS_HYD_007");
        assert_eq!(format_onc(n.start), "2009-12-31T23:59:19.476Z");
        assert_eq!(n.suffix, "-spect-small");
        let n = parse_archive_name("ICLISTENHF1266_20260313T000000.029Z_20260313T000500.029Z.wav")
            .unwrap();
        assert_eq!(format_onc(n.end.unwrap()), "2026-03-13T00:05:00.029Z");
        assert_eq!(n.extension, "wav");
        let n = parse_archive_name("BPR-Folger-59_20191123T000000.000Z.txt").unwrap();
        assert_eq!(n.device, "BPR-Folger-59");
        for bad in [
            "x.flac",
            "_20240401T120000.000Z.flac",
            "D_20240401T120000.000Z",
            "D_20241301T120000.000Z.flac",
        ] {
            assert!(parse_archive_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn drifting_files_that_start_before_a_window_are_included() {
        let dev = DeviceCode::parse("ICLISTENHF1266").unwrap();
        // Starts drift: 23:51:36, 23:56:38 (jitter 302 s), 00:01:37, 00:06:39 …
        let listing: Vec<ListedFile> = [
            "ICLISTENHF1266_20240714T235136.029Z.flac",
            "ICLISTENHF1266_20240714T235638.031Z.flac",
            "ICLISTENHF1266_20240715T000137.030Z.flac",
            "ICLISTENHF1266_20240715T000639.028Z.flac",
            "ICLISTENHF1266_20240715T000639.028Z-HPF.flac",
            "ICLISTENHF1266_20240715T000137.030Z.fft",
            "OTHER_20240715T000137.030Z.flac",
        ]
        .iter()
        .map(|n| ListedFile::named(n))
        .collect();
        // The window [00:00, 00:05) across midnight.
        let w = Window::containing(t("2024-07-15T00:00:00Z")).range();
        let sel = select_audio(&listing, &dev, &[w], &[AudioExtension::Flac]);
        let names: Vec<&str> = sel.files.iter().map(|f| f.filename.as_str()).collect();
        assert_eq!(
            names,
            [
                "ICLISTENHF1266_20240714T235638.031Z.flac",
                "ICLISTENHF1266_20240715T000137.030Z.flac"
            ]
        );
        assert_eq!(
            format_onc(sel.files[0].range.start()),
            "2024-07-14T23:56:38.031Z"
        );
        assert!(sel.uncovered.is_empty());
        assert_eq!(sel.skipped.len(), 2, "{:?}", sel.skipped);
    }

    #[test]
    fn api_rows_convert_with_the_uncompressed_size() {
        let mut row = api::ArchiveFile::named("D_20240401T120000.000Z.flac");
        row.date_to = Some(t("2024-04-01T12:04:58Z"));
        row.file_size = Some(10);
        row.uncompressed_file_size = Some(12);
        let listed = ListedFile::from(&row);
        assert_eq!(listed.size, Some(12));
        assert_eq!(listed.date_to, row.date_to);
        let dev = DeviceCode::parse("D").unwrap();
        let w = Window::containing(t("2024-04-01T12:00:00Z")).range();
        let sel = select_audio(&[listed], &dev, &[w], &[AudioExtension::Flac]);
        assert_eq!(
            format_onc(sel.files[0].range.end()),
            "2024-04-01T12:04:58.000Z"
        );
    }

    #[test]
    fn listing_dates_beat_the_nominal_length_and_wav_is_a_fallback() {
        let dev = DeviceCode::parse("D").unwrap();
        let mut short = ListedFile::named("D_20240401T115500.000Z.flac");
        // This file stops after 100 s: it does not reach 12:00.
        short.date_to = Some(t("2024-04-01T11:56:40Z"));
        let listing = vec![
            short,
            ListedFile::named("D_20240401T120000.000Z.wav"),
            ListedFile::named("D_20240401T121000.000Z.flac"),
        ];
        let ranges = [
            Window::containing(t("2024-04-01T12:00:00Z")).range(),
            Window::containing(t("2024-04-01T12:10:00Z")).range(),
            Window::containing(t("2024-04-01T13:00:00Z")).range(),
        ];
        let sel = select_audio(
            &listing,
            &dev,
            &ranges,
            &[AudioExtension::Flac, AudioExtension::Wav],
        );
        let names: Vec<&str> = sel.files.iter().map(|f| f.filename.as_str()).collect();
        assert_eq!(
            names,
            ["D_20240401T120000.000Z.wav", "D_20240401T121000.000Z.flac"]
        );
        assert_eq!(sel.uncovered, [ranges[2]]);
    }
}
