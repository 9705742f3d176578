//! `archivefile`: listing archived files by device or by location + device category (following
//! `next` over every page, never trusting row counts), with plain-name or row `returnOptions`
//! and the server-side `fileExtension` filter; and `archivefile/download` as a streaming body.
//! Also parses the start time embedded in ONC file names.
//!
//! Must not know: where files are saved, hydrophone window logic.

use jiff::Timestamp;
use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::client::{next_params, Client, Paged, Params};
use super::download::FileBody;
use super::error::ApiError;
use super::ids::{DeviceCategoryCode, DeviceCode, LocationCode};
use super::lenient::{string_opt, u64_opt, value_to_param, vec_or_null};
use super::time::{format_onc, parse_onc};

/// A device, or a location with a device category: how archive files, scalar data and raw
/// data are addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceOrLocation {
    /// One device (`deviceCode`, the `…/device` route).
    Device(DeviceCode),
    /// A device category at a location (`locationCode` + `deviceCategoryCode`, the `…/location` route).
    Location {
        /// `locationCode`, e.g. `BACAX`.
        location: LocationCode,
        /// `deviceCategoryCode`, e.g. `HYDROPHONE`.
        device_category: DeviceCategoryCode,
    },
}

impl DeviceOrLocation {
    /// `device` or `location` (the path suffix of the services).
    pub fn route(&self) -> &'static str {
        match self {
            DeviceOrLocation::Device(_) => "device",
            DeviceOrLocation::Location { .. } => "location",
        }
    }

    /// Sets `deviceCode`, or `locationCode` + `deviceCategoryCode`.
    pub fn add_to(&self, p: &mut Params) {
        match self {
            DeviceOrLocation::Device(d) => p.set("deviceCode", d.as_str()),
            DeviceOrLocation::Location {
                location,
                device_category,
            } => {
                p.set("locationCode", location.as_str());
                p.set("deviceCategoryCode", device_category.as_str());
            }
        }
    }
}

/// `returnOptions` of an archive listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReturnOptions {
    /// Plain file names (the default; no `returnOptions` sent).
    #[default]
    Names,
    /// Rows with `archiveLocation`.
    ArchiveLocation,
    /// Rows with every field (`filename`, `dateFrom`, `uncompressedFileSize`, …).
    All,
}

/// An archive listing query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveQuery {
    /// Whose files to list.
    pub source: DeviceOrLocation,
    /// `dateFrom`: inclusive UTC start (a file overlapping it is listed); `None` = beginning of time.
    pub date_from: Option<Timestamp>,
    /// `dateTo`: exclusive UTC end; `None` = end of time.
    pub date_to: Option<Timestamp>,
    /// Server-side extension filter (`fileExtension`), without the dot.
    pub file_extension: Option<String>,
    /// `returnOptions`: names only, or rows with more fields.
    pub return_options: ReturnOptions,
    /// `rowLimit`: rows per page; `None` lets the server choose (about 11,000 observed).
    pub row_limit: Option<u64>,
    /// Further ONC parameters (`dateArchivedFrom`, `dataProductCode`, `getLatest`, …).
    pub extra: Params,
}

impl ArchiveQuery {
    /// All files of a device.
    pub fn device(device: impl Into<DeviceCode>) -> ArchiveQuery {
        ArchiveQuery::new(DeviceOrLocation::Device(device.into()))
    }

    /// All files of a device category at a location.
    pub fn location(
        location: impl Into<LocationCode>,
        device_category: impl Into<DeviceCategoryCode>,
    ) -> ArchiveQuery {
        ArchiveQuery::new(DeviceOrLocation::Location {
            location: location.into(),
            device_category: device_category.into(),
        })
    }

    /// A query for `source` with no other filter.
    pub fn new(source: DeviceOrLocation) -> ArchiveQuery {
        ArchiveQuery {
            source,
            date_from: None,
            date_to: None,
            file_extension: None,
            return_options: ReturnOptions::Names,
            row_limit: None,
            extra: Params::new(),
        }
    }

    /// Files whose data overlap `[from, to)`.
    pub fn between(mut self, from: Timestamp, to: Timestamp) -> Self {
        self.date_from = Some(from);
        self.date_to = Some(to);
        self
    }

    /// Server-side extension filter (a leading dot is dropped).
    pub fn extension(mut self, ext: impl Into<String>) -> Self {
        let ext: String = ext.into();
        self.file_extension = Some(ext.trim_start_matches('.').to_string());
        self
    }

    /// Rows instead of names.
    pub fn return_options(mut self, r: ReturnOptions) -> Self {
        self.return_options = r;
        self
    }

    /// `rowLimit` per page.
    pub fn row_limit(mut self, n: u64) -> Self {
        self.row_limit = Some(n);
        self
    }

    /// Service path and parameters.
    pub fn to_request(&self) -> Result<(String, Params), ApiError> {
        if let (Some(f), Some(t)) = (self.date_from, self.date_to) {
            if f >= t {
                return Err(ApiError::invalid(
                    "dateFrom/dateTo",
                    format!("the range [{}, {}) is empty", format_onc(f), format_onc(t)),
                ));
            }
        }
        let mut p = Params::new();
        self.source.add_to(&mut p);
        p.set_opt("dateFrom", self.date_from.map(format_onc));
        p.set_opt("dateTo", self.date_to.map(format_onc));
        if let Some(ext) = self.file_extension.as_deref().filter(|e| !e.is_empty()) {
            p.set("fileExtension", ext);
        }
        match self.return_options {
            ReturnOptions::Names => {}
            ReturnOptions::ArchiveLocation => p.set("returnOptions", "archiveLocation"),
            ReturnOptions::All => p.set("returnOptions", "all"),
        }
        p.set_opt("rowLimit", self.row_limit.map(|n| n.to_string()));
        for (k, v) in self.extra.iter() {
            p.set(k, v);
        }
        Ok((format!("archivefile/{}", self.source.route()), p))
    }
}

/// One archived file: a name, plus row fields when `returnOptions` asked for them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchiveFile {
    /// `filename`: the archive file name, e.g. `ICLISTENHF6016_20250401T022000.000Z.flac`.
    pub filename: String,
    /// `dateFrom` of the row: UTC start of the file's data; `None` for name-only listings.
    pub date_from: Option<Timestamp>,
    /// `dateTo` of the row: UTC end of the file's data, when sent.
    pub date_to: Option<Timestamp>,
    /// `archiveLocation`: ONC's storage location of the file, when asked for.
    pub archive_location: Option<String>,
    /// `uncompressedFileSize`: bytes once decompressed (what a download delivers).
    pub uncompressed_file_size: Option<u64>,
    /// `fileSize`: bytes as stored in the archive (possibly compressed), when sent.
    pub file_size: Option<u64>,
    /// Every other member of the row.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ArchiveFile {
    /// A name-only entry.
    pub fn named(name: impl Into<String>) -> ArchiveFile {
        ArchiveFile {
            filename: name.into(),
            date_from: None,
            date_to: None,
            archive_location: None,
            uncompressed_file_size: None,
            file_size: None,
            extra: Map::new(),
        }
    }

    /// The data start time: `dateFrom` of the row, else the time embedded in the name.
    pub fn start(&self) -> Option<Timestamp> {
        self.date_from.or_else(|| file_name_start(&self.filename))
    }

    /// The size the download will have (uncompressed; archive downloads are decompressed).
    pub fn download_size(&self) -> Option<u64> {
        self.uncompressed_file_size.or(self.file_size)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchiveRow {
    #[serde(default, alias = "fileName", deserialize_with = "string_opt")]
    filename: Option<String>,
    #[serde(default, deserialize_with = "string_opt")]
    date_from: Option<String>,
    #[serde(default, deserialize_with = "string_opt")]
    date_to: Option<String>,
    #[serde(default, deserialize_with = "string_opt")]
    archive_location: Option<String>,
    #[serde(default, deserialize_with = "u64_opt")]
    uncompressed_file_size: Option<u64>,
    #[serde(default, deserialize_with = "u64_opt")]
    file_size: Option<u64>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for ArchiveFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(d)? {
            Value::String(s) => Ok(ArchiveFile::named(s)),
            v @ Value::Object(_) => {
                let row: ArchiveRow = serde_json::from_value(v).map_err(D::Error::custom)?;
                let filename = row
                    .filename
                    .ok_or_else(|| D::Error::custom("archive row without `filename`"))?;
                let time = |s: Option<String>| -> Result<Option<Timestamp>, D::Error> {
                    match s {
                        Some(s) if !s.trim().is_empty() => {
                            parse_onc(&s).map(Some).map_err(D::Error::custom)
                        }
                        _ => Ok(None),
                    }
                };
                Ok(ArchiveFile {
                    filename,
                    date_from: time(row.date_from)?,
                    date_to: time(row.date_to)?,
                    archive_location: row.archive_location,
                    uncompressed_file_size: row.uncompressed_file_size,
                    file_size: row.file_size,
                    extra: row.extra,
                })
            }
            other => Err(D::Error::custom(format!(
                "expected a file name or a row, got {other}"
            ))),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchivePage {
    #[serde(default, deserialize_with = "vec_or_null")]
    files: Vec<ArchiveFile>,
    #[serde(default)]
    next: Option<Value>,
    #[serde(default, alias = "queryURL", deserialize_with = "string_opt")]
    query_url: Option<String>,
    #[serde(default, deserialize_with = "vec_or_null")]
    messages: Vec<Value>,
}

impl Paged for ArchivePage {
    fn next_params(&self) -> Option<Params> {
        next_params(&self.next)
    }
}

/// Every page of a listing, concatenated.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ArchiveListing {
    /// Every file of every page, in the server's order.
    pub files: Vec<ArchiveFile>,
    /// Requests made.
    pub pages: u32,
    /// Redacted `queryUrl` of the first page.
    pub query_url: Option<String>,
    /// Server `messages` of every page, as text.
    pub messages: Vec<String>,
}

impl Client {
    /// Lists every file matching `query`, following `next` until it is null.
    pub async fn archive_list(&self, query: &ArchiveQuery) -> Result<ArchiveListing, ApiError> {
        let mut listing = ArchiveListing::default();
        let pages = self
            .archive_list_pages(query, |files, page_url, messages| {
                if listing.query_url.is_none() {
                    listing.query_url = page_url;
                }
                listing.files.extend(files);
                listing.messages.extend(messages);
                Ok(())
            })
            .await?;
        listing.pages = pages;
        Ok(listing)
    }

    /// Like [`Client::archive_list`] but hands each page to `each` as it arrives (files,
    /// redacted `queryUrl`, messages). Returns the number of pages.
    pub async fn archive_list_pages<F>(
        &self,
        query: &ArchiveQuery,
        mut each: F,
    ) -> Result<u32, ApiError>
    where
        F: FnMut(Vec<ArchiveFile>, Option<String>, Vec<String>) -> Result<(), ApiError>,
    {
        let (service, params) = query.to_request()?;
        self.for_each_page(&service, &params, |page: ArchivePage| {
            let messages = page.messages.iter().filter_map(value_to_param).collect();
            each(page.files, page.query_url, messages)
        })
        .await
    }

    /// `archivefile/download?filename=…`: the file as a stream (ONC sends it uncompressed).
    pub async fn archive_download(&self, filename: &str) -> Result<FileBody, ApiError> {
        if filename.trim().is_empty() {
            return Err(ApiError::invalid("filename", "must not be empty"));
        }
        let params = Params::new().with("filename", filename);
        let (resp, shown) = self
            .send(Method::GET, "archivefile/download", &params, true)
            .await?;
        if resp.status().as_u16() == 200 {
            Ok(FileBody::new(self.clone(), resp, shown))
        } else {
            Err(self.status_error(resp, &shown).await)
        }
    }
}

/// Length of the stamp in ONC file names: `20240401T000136.029Z`.
const STAMP_LEN: usize = 20;

/// The stamp starting at byte `i` of `b`, when the bytes there have its shape and form a real
/// time. Checks the bytes are ASCII digits before slicing, so hostile names cannot panic.
fn stamp_at(b: &[u8], i: usize) -> Option<Timestamp> {
    let w = b.get(i..i + STAMP_LEN)?;
    let digits = |r: std::ops::Range<usize>| w[r].iter().all(u8::is_ascii_digit);
    let shape = digits(0..8)
        && w[8] == b'T'
        && digits(9..15)
        && w[15] == b'.'
        && digits(16..19)
        && w[19] == b'Z';
    if !shape {
        return None;
    }
    let s = std::str::from_utf8(w).ok()?;
    let iso = format!(
        "{}-{}-{}T{}:{}:{}.{}Z",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15],
        &s[16..19]
    );
    parse_onc(&iso).ok()
}

/// The data start time in an ONC file name (`<device>_YYYYMMDDTHHMMSS.sssZ…`), found by its
/// pattern rather than by splitting on `_` (device codes contain `_` and `-`).
pub fn file_name_start(name: &str) -> Option<Timestamp> {
    let b = name.as_bytes();
    (0..b.len()).find_map(|i| {
        if i > 0 && b[i - 1].is_ascii_digit() {
            return None;
        }
        stamp_at(b, i)
    })
}

/// The parts of an ONC archive file name, `<device>_<start>[_<end>]<suffix>.<ext>`, e.g.
/// `ICLISTENHF6324_20240401T000000.000Z-HPF.flac` or the newer
/// `ICLISTENHF1266_20260313T000000.029Z_20260313T000500.029Z.wav`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveFileName {
    /// Everything before `_<stamp>`: the device code.
    pub device: String,
    /// The first (data start) stamp, UTC.
    pub start: Timestamp,
    /// The second stamp of the newer `<start>_<end>` form.
    pub end: Option<Timestamp>,
    /// Text between the stamp(s) and the extension, e.g. `-HPF`, `-spect`, `-OD-spect_plotRes`.
    pub suffix: String,
    /// Lower-case extension without the dot.
    pub extension: String,
}

/// Splits an archive file name into its parts (the one parser of them); the error says what
/// is missing.
pub fn parse_file_name(name: &str) -> Result<ArchiveFileName, &'static str> {
    let b = name.as_bytes();
    let (at, start) = (0..b.len())
        .find_map(|i| stamp_at(b, i).map(|t| (i, t)))
        .ok_or("no YYYYMMDDTHHMMSS.sssZ timestamp")?;
    if at < 2 || b[at - 1] != b'_' {
        return Err("expected <device>_<timestamp>");
    }
    let mut rest = &name[at + STAMP_LEN..];
    let mut end = None;
    if let Some(t) = rest
        .strip_prefix('_')
        .and_then(|r| stamp_at(r.as_bytes(), 0))
    {
        end = Some(t);
        rest = &rest[STAMP_LEN + 1..];
    }
    let dot = rest.rfind('.').ok_or("no file extension")?;
    Ok(ArchiveFileName {
        device: name[..at - 1].to_string(),
        start,
        end,
        suffix: rest[..dot].to_string(),
        extension: rest[dot + 1..].to_ascii_lowercase(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_pages_parse_names_and_rows() {
        let names = r#"{"citations": [], "messages": [],
 "files": ["AXISQ6044PTZACCC8E334C53_20161201T000000.000Z.mp4", "AXISQ6044PTZACCC8E334C53_20161201T000001.000Z.jpg"],
 "next": {"parameters": {"deviceCode": "AXIS", "page": "2", "token": "REDACTED"}, "url": "https://x/api/archivefile/device?page=2"},
 "queryUrl": "https://data.oceannetworks.ca/api/archivefile/location?token=REDACTED"}"#;
        let p: ArchivePage = serde_json::from_str(names).unwrap();
        assert_eq!(p.files.len(), 2);
        assert_eq!(p.next_params().unwrap().get("page"), Some("2"));
        let rows = r#"{"files": [{"filename": "ICLISTENHF6324_20240401T000136.029Z.flac", "dateFrom": "2024-04-01T00:01:36.029Z",
   "archiveLocation": "/archive/x", "uncompressedFileSize": 38400044, "compression": "gzip"}], "next": null}"#;
        let p: ArchivePage = serde_json::from_str(rows).unwrap();
        let f = &p.files[0];
        assert_eq!(f.uncompressed_file_size, Some(38400044));
        assert_eq!(f.download_size(), Some(38400044));
        assert_eq!(f.extra.get("compression"), Some(&Value::from("gzip")));
        assert_eq!(format_onc(f.start().unwrap()), "2024-04-01T00:01:36.029Z");
        assert!(p.next_params().is_none());
        assert!(serde_json::from_str::<ArchivePage>(r#"{"files":[{"dateFrom":"x"}]}"#).is_err());
    }

    #[test]
    fn query_sends_only_onc_keys() {
        let q = ArchiveQuery::location("BACAX", "HYDROPHONE")
            .between(
                "2024-04-01T00:00:00Z".parse().unwrap(),
                "2024-04-01T01:00:00Z".parse().unwrap(),
            )
            .extension(".flac")
            .return_options(ReturnOptions::All);
        let (svc, p) = q.to_request().unwrap();
        assert_eq!(svc, "archivefile/location");
        let keys: Vec<&str> = p.iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "locationCode",
                "deviceCategoryCode",
                "dateFrom",
                "dateTo",
                "fileExtension",
                "returnOptions"
            ]
        );
        assert_eq!(p.get("fileExtension"), Some("flac"));
        let bad = ArchiveQuery::device("D").between(
            "2024-04-01T01:00:00Z".parse().unwrap(),
            "2024-04-01T00:00:00Z".parse().unwrap(),
        );
        assert!(bad.to_request().is_err());
    }

    #[test]
    fn file_name_start_times() {
        let cases = [
            (
                "NAXYS_HYD_007_20091231T235919.476Z-spect.png",
                Some("2009-12-31T23:59:19.476Z"),
            ),
            (
                "BPR-Folger-59_20191123T000000.000Z.txt",
                Some("2019-11-23T00:00:00.000Z"),
            ),
            (
                "ICLISTENHF1266_20260313T000000.029Z_20260313T000500.029Z.wav",
                Some("2026-03-13T00:00:00.029Z"),
            ),
            (
                "ClayoquotSlope_Bullseye_CTD_20170119T000000Z_20170119T003000Z-clean.png",
                None,
            ),
            ("short", None),
        ];
        for (name, want) in cases {
            assert_eq!(
                file_name_start(name).map(format_onc).as_deref(),
                want,
                "{name}"
            );
        }
    }
}
