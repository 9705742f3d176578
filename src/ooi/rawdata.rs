//! OOI's raw-data archive of broadband hydrophones (`rawdata.oceanobservatories.org/files/
//! <site>/<node>/<port-instrument>/<YYYY>/<MM>/<DD>/`): the hydrophones by reference designator
//! or friendly node name, day-folder URLs, a tolerant reader of the Apache directory listings,
//! file start times from names (`…YDH-2019-07-02T00:00:00.000015.mseed`), the choice of files
//! overlapping an interval, and a small public (no credentials) HTTP client.
//!
//! Politeness: the archive is one public web server that ooi-hyd-tools calls easily overloaded
//! ("spaces its cloud launches 12 s apart"). Callers go through the engine: one listing per day,
//! each file once, under the engine's download slots (default 2) and request-rate cap.
//!
//! Must not know: the engine, files on disk, miniSEED decoding.

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;

use super::client::FileBody;
use super::error::OoiError;
use super::refdes::RefDes;

/// The public raw-data archive.
pub const DEFAULT_RAW_BASE: &str = "https://rawdata.oceanobservatories.org/files/";

/// The longest a file is taken to last when choosing files (nominal 300 s, with slack): a file
/// is assumed to end at the next file's start or this long after its own, whichever is first.
pub const MAX_FILE_SECONDS: i64 = 360;

/// The largest listing page read (a day has 288 files: about 100 kB).
const MAX_LISTING_BYTES: usize = 8 << 20;

/// One broadband hydrophone of the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hydrophone {
    /// Reference designator, e.g. `RS03AXBS-LJ03A-09-HYDBBA302`.
    pub refdes: &'static str,
    /// Friendly name, e.g. `Axial_Base_Seafloor`.
    pub name: &'static str,
}

/// The 64 kHz broadband hydrophones (as ooipy names them).
pub const HYDROPHONES: [Hydrophone; 6] = [
    Hydrophone {
        refdes: "RS03AXBS-LJ03A-09-HYDBBA302",
        name: "Axial_Base_Seafloor",
    },
    Hydrophone {
        refdes: "RS03AXPS-PC03A-08-HYDBBA303",
        name: "Axial_Base_Shallow",
    },
    Hydrophone {
        refdes: "RS01SLBS-LJ01A-09-HYDBBA102",
        name: "Oregon_Slope_Base_Seafloor",
    },
    Hydrophone {
        refdes: "RS01SBPS-PC01A-08-HYDBBA103",
        name: "Oregon_Slope_Base_Shallow",
    },
    Hydrophone {
        refdes: "CE04OSBP-LJ01C-11-HYDBBA105",
        name: "Oregon_Offshore_Base_Seafloor",
    },
    Hydrophone {
        refdes: "CE02SHBP-LJ01D-11-HYDBBA106",
        name: "Oregon_Shelf_Base_Seafloor",
    },
];

/// The hydrophone named by a reference designator, a friendly name (`Axial_Base_Seafloor`,
/// any case, `-`/space for `_`) or a node code (`LJ03A`, with or without a leading `/`).
pub fn resolve_hydrophone(text: &str) -> Result<RefDes, OoiError> {
    let t = text.trim().trim_start_matches('/');
    let norm = |s: &str| s.to_ascii_lowercase().replace(['-', ' '], "_");
    let found = HYDROPHONES.iter().find(|h| {
        let r = RefDes::parse(h.refdes).ok();
        h.refdes.eq_ignore_ascii_case(t)
            || norm(h.name) == norm(t)
            || r.is_some_and(|r| r.node().eq_ignore_ascii_case(t))
    });
    match found {
        Some(h) => RefDes::parse(h.refdes),
        None if t.contains('-') => RefDes::parse(t),
        None => {
            let known: Vec<String> = HYDROPHONES
                .iter()
                .map(|h| format!("{} ({})", h.name, h.refdes))
                .collect();
            Err(OoiError::invalid(
                "hydrophone",
                format!(
                    "\"{t}\" is not a known hydrophone; use one of {}",
                    known.join(", ")
                ),
            ))
        }
    }
}

/// The day folder of `refdes` on `date` below `base` (which ends in `/`).
pub fn day_url(base: &str, refdes: &RefDes, date: Date) -> String {
    format!("{base}{}/{}", refdes.path(), date.strftime("%Y/%m/%d/"))
}

/// One file a day listing offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFile {
    /// The file name, e.g. `OO-AXBA1--YDH-2019-07-02T00:00:00.000015.mseed`.
    pub name: String,
    /// Its absolute URL.
    pub url: String,
    /// The start time in its name.
    pub start: Timestamp,
}

/// The start time in a file name: what follows the last `YDH-` (or, failing that, the last
/// `--<channel>-`), `YYYY-MM-DDTHH:MM:SS[.ffffff]`, UTC; the local form with `-` for `:` in
/// the time (what `ooi raw` stores) reads too.
pub fn start_from_name(name: &str) -> Option<Timestamp> {
    let stem = name.strip_suffix(".mseed")?;
    let at = stem.rfind("YDH-").map(|i| i + 4).or_else(|| {
        let i = stem.rfind("--")?;
        stem[i + 2..].find('-').map(|j| i + 2 + j + 1)
    })?;
    let text = stem.get(at..)?.trim_end_matches('Z');
    // Local copies write the time's colons as '-' (`T00-05-00.000018`).
    let text = match text.split_once('T') {
        Some((date, time)) => format!("{date}T{}", time.replace('-', ":")),
        None => text.to_string(),
    };
    let dt: jiff::civil::DateTime = text.parse().ok()?;
    dt.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `.mseed` files a day listing links to, in time order, once each. Reads any HTML that
/// has `href` attributes (quoted or not, `./`-prefixed, percent-encoded, absolute or relative);
/// links elsewhere (parent, sorting, thumbnails, sub-folders) and names without a start time
/// are ignored. `page_url` is the listing's URL (ends in `/`).
pub fn parse_listing(html: &str, page_url: &str) -> Vec<RawFile> {
    let mut out: Vec<RawFile> = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut pos = 0;
    while let Some(i) = lower[pos..].find("href") {
        let mut j = pos + i + 4;
        pos = j;
        let rest = &html[j..];
        let trimmed = rest.trim_start();
        let Some(v) = trimmed.strip_prefix('=') else {
            continue;
        };
        j += rest.len() - trimmed.len() + 1;
        let v_trim = v.trim_start();
        j += v.len() - v_trim.len();
        let (value, used) = match v_trim.chars().next() {
            Some(q @ ('"' | '\'')) => match v_trim[1..].find(q) {
                Some(end) => (&v_trim[1..1 + end], end + 2),
                None => continue,
            },
            _ => {
                let end = v_trim
                    .find(|c: char| c.is_whitespace() || c == '>')
                    .unwrap_or(v_trim.len());
                (&v_trim[..end], end)
            }
        };
        pos = j + used;
        let href = percent_decode(&value.replace("&amp;", "&"));
        let href = href.split(['?', '#']).next().unwrap_or("");
        let name = href.rsplit('/').next().unwrap_or("");
        if !name.ends_with(".mseed") || name.contains("..") {
            continue;
        }
        let Some(start) = start_from_name(name) else {
            continue;
        };
        if out.iter().any(|f| f.name == name) {
            continue;
        }
        out.push(RawFile {
            name: name.to_string(),
            url: format!("{page_url}{}", encode_name(name)),
            start,
        });
    }
    out.sort_by(|a, b| a.start.cmp(&b.start).then(a.name.cmp(&b.name)));
    out
}

/// A file name as a URL path segment (colons kept, as the archive's own links do after `./`).
fn encode_name(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '_' | '.' | ':' => c.to_string(),
            c => format!("%{:02X}", c as u32 & 0xff),
        })
        .collect()
}

/// The days whose folders can hold data for `[from, to)` (the day before `from` too when a
/// file starting before midnight can reach into it).
pub fn days_for(from: Timestamp, to: Timestamp) -> Vec<Date> {
    let utc = |t: Timestamp| t.to_zoned(jiff::tz::TimeZone::UTC).date();
    let first = utc(from
        .saturating_sub(SignedDuration::from_secs(MAX_FILE_SECONDS))
        .unwrap_or(from));
    let last = utc(to
        .saturating_sub(SignedDuration::from_nanos(1))
        .unwrap_or(to));
    let mut out = Vec::new();
    let mut d = first;
    while d <= last && out.len() < 36_600 {
        out.push(d);
        match d.tomorrow() {
            Ok(n) => d = n,
            Err(_) => break,
        }
    }
    out
}

/// The files of `files` (any order, any days) that overlap `[from, to)`: a file covers from its
/// start to the next file's start, at most [`MAX_FILE_SECONDS`]. In time order.
pub fn select_overlapping(mut files: Vec<RawFile>, from: Timestamp, to: Timestamp) -> Vec<RawFile> {
    files.sort_by(|a, b| a.start.cmp(&b.start).then(a.name.cmp(&b.name)));
    files.dedup_by(|a, b| a.name == b.name);
    let cap = SignedDuration::from_secs(MAX_FILE_SECONDS);
    let ends: Vec<Timestamp> = (0..files.len())
        .map(|i| {
            let own = files[i].start.checked_add(cap).unwrap_or(Timestamp::MAX);
            match files.get(i + 1) {
                Some(n) if n.start < own => n.start.max(files[i].start),
                _ => own,
            }
        })
        .collect();
    files
        .into_iter()
        .zip(ends)
        .filter(|(f, end)| f.start < to && *end > from)
        .map(|(f, _)| f)
        .collect()
}

/// A client of the public archive (no credentials).
#[derive(Debug, Clone)]
pub struct RawClient {
    http: reqwest::Client,
    base: String,
}

impl RawClient {
    /// A client for the archive at `base` (e.g. [`DEFAULT_RAW_BASE`]).
    pub fn new(base: &str) -> Result<RawClient, OoiError> {
        let (http, base) = super::client::http_for("raw-data base URL", base)?;
        Ok(RawClient { http, base })
    }

    /// The archive's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn get(&self, url: &str) -> Result<reqwest::Response, OoiError> {
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| OoiError::Transport {
                url: url.to_string(),
                message: e.to_string(),
            })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let url = url.to_string();
        Err(match status {
            StatusCode::NOT_FOUND => OoiError::NotFound { url },
            _ => OoiError::Http {
                status: status.as_u16(),
                url,
                body: String::new(),
            },
        })
    }

    /// The files of one day folder; a day with no folder (404) has none.
    pub async fn day(&self, refdes: &RefDes, date: Date) -> Result<Vec<RawFile>, OoiError> {
        let url = day_url(&self.base, refdes, date);
        let mut resp = match self.get(&url).await {
            Ok(r) => r,
            Err(OoiError::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut buf = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(b)) => {
                    if buf.len() + b.len() > MAX_LISTING_BYTES {
                        return Err(OoiError::Decode {
                            url,
                            message: format!("listing larger than {MAX_LISTING_BYTES} bytes"),
                        });
                    }
                    buf.extend_from_slice(&b);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(OoiError::Transport {
                        url,
                        message: e.to_string(),
                    })
                }
            }
        }
        Ok(parse_listing(&String::from_utf8_lossy(&buf), &url))
    }

    /// Starts downloading a file.
    pub async fn download(&self, url: &str) -> Result<FileBody, OoiError> {
        let resp = self.get(url).await?;
        Ok(FileBody::from_response(resp, url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_hydrophones() {
        for t in [
            "RS03AXBS-LJ03A-09-HYDBBA302",
            "Axial_Base_Seafloor",
            "axial base seafloor",
            "LJ03A",
            "/LJ03A",
        ] {
            assert_eq!(
                resolve_hydrophone(t).unwrap().to_string(),
                "RS03AXBS-LJ03A-09-HYDBBA302",
                "{t}"
            );
        }
        assert!(resolve_hydrophone("Nowhere")
            .unwrap_err()
            .to_string()
            .contains("Axial_Base_Shallow"));
        let r = resolve_hydrophone("LJ01D").unwrap();
        assert_eq!(
            day_url(DEFAULT_RAW_BASE, &r, Date::constant(2018, 1, 1)),
            "https://rawdata.oceanobservatories.org/files/CE02SHBP/LJ01D/11-HYDBBA106/2018/01/01/"
        );
    }

    #[test]
    fn reads_listings_tolerantly() {
        let page = r#"<html><body><h1>Index of /files/X/</h1><table>
<tr><td><a href="?C=N;O=D">Name</a></td></tr>
<tr><td><a href="/files/RS03AXBS/LJ03A/09-HYDBBA302/2019/07/">Parent Directory</a></td></tr>
<tr><td><a href="./OO-AXBA1--YDH-2019-07-02T00:05:00.000018.mseed">x</a></td></tr>
<tr><td><A HREF='OO-AXBA1--YDH-2019-07-02T00:00:00.000015.mseed'>y</A></td></tr>
<tr><td><a href=./OO-AXBA1--YDH-2019-07-02T00%3A10%3A00.000021.mseed>z</a></td></tr>
<tr><td><a href="./OO-AXBA1--YDH-2019-07-02T00:05:00.000018.mseed">dup</a></td></tr>
<tr><td><a href="./OO-AXBA1--YDH-2019-07-02T00:05:00.000018.png">png</a></td></tr>
<tr><td><a href="./notes.mseed">no time</a></td></tr>
<tr><td><a href="../../x/OO-AXBA1--YDH-2019-07-02T00:15:00.000000.mseed">escape</a></td></tr>
<tr><td><a href="sub/">sub</a><a href="</table>"#;
        let base = "http://h/files/RS03AXBS/LJ03A/09-HYDBBA302/2019/07/02/";
        let files = parse_listing(page, base);
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "OO-AXBA1--YDH-2019-07-02T00:00:00.000015.mseed",
                "OO-AXBA1--YDH-2019-07-02T00:05:00.000018.mseed",
                "OO-AXBA1--YDH-2019-07-02T00:10:00.000021.mseed",
                "OO-AXBA1--YDH-2019-07-02T00:15:00.000000.mseed",
            ]
        );
        assert_eq!(files[0].url, format!("{base}{}", files[0].name));
        assert_eq!(
            files[1].start,
            "2019-07-02T00:05:00.000018Z".parse::<Timestamp>().unwrap()
        );
        assert!(parse_listing("<a href=", base).is_empty());
        assert!(parse_listing("", base).is_empty());
    }

    #[test]
    fn chooses_overlapping_files() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let f = |start: &str| RawFile {
            name: format!("OO-X--YDH-{start}.mseed"),
            url: String::new(),
            start: t(&format!("{start}Z")),
        };
        let files = vec![
            f("2019-07-01T23:55:00.000010"),
            f("2019-07-02T00:00:00.000015"),
            f("2019-07-02T00:05:00.000018"),
            f("2019-07-02T00:20:00.000027"), // after a gap
        ];
        let pick = |a: &str, b: &str| -> Vec<String> {
            select_overlapping(files.clone(), t(a), t(b))
                .into_iter()
                .map(|f| f.start.to_string())
                .collect()
        };
        assert_eq!(
            pick("2019-07-02T00:00:00Z", "2019-07-02T00:05:00Z"),
            ["2019-07-01T23:55:00.00001Z", "2019-07-02T00:00:00.000015Z"]
        );
        // In the gap after 00:11 (00:05 file ends at most 00:11:00.000018): nothing.
        assert!(pick("2019-07-02T00:12:00Z", "2019-07-02T00:19:00Z").is_empty());
        assert_eq!(
            pick("2019-07-02T00:19:00Z", "2019-07-02T00:21:00Z").len(),
            1
        );
        let days = days_for(t("2019-07-02T00:03:00Z"), t("2019-07-03T00:00:00Z"));
        assert_eq!(
            days,
            [Date::constant(2019, 7, 1), Date::constant(2019, 7, 2)]
        );
        assert_eq!(
            start_from_name("OO-HYVM2--YDH-2021-01-09T00:15:00.000015.mseed"),
            Some(t("2021-01-09T00:15:00.000015Z"))
        );
        assert_eq!(
            start_from_name("OO-HYVM2--YDH-2021-13-09T00:15:00.mseed"),
            None
        );
    }
}
