//! The OOI raw-data archive (`rawdata.oceanobservatories.org/files/…`) as the simulator serves
//! it under `ooi-raw/files/<site>/<node>/<port-instrument>/<YYYY>/<MM>/<DD>/`: Apache
//! `mod_autoindex` day listings (a table, `./`-prefixed hrefs because the names hold colons, a
//! parent link, PNG thumbnails beside the data) and real miniSEED files
//! `OO-<station>--YDH-<start with µs>.mseed` (Steim-2, 4096-byte records) rendered from the same
//! synthetic sources as the ONC audio at 64 kHz.
//!
//! The archive's quirks, at fixed places so tests can find them (see [`day_files`]):
//! - starts are not on a grid and drift: file `k` of a day starts at `k·300 s + 15 µs + 3k µs`;
//! - file 5 holds two traces with a 0.5 s gap between them (at 120 s);
//! - file 8 is missing (a 5-minute gap in the archive);
//! - file 10 is short (200 s, then nothing until file 11);
//! - the 13th of every month has no data (the day folder does not exist: 404).
//!
//! Files per day are 288 (the whole day); the simulator's `time_scale` shortens latency only.
//! Must not know: the client, the engine.

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use crate::media::{encode_mseed, MseedSamples, MseedTrace, MseedWriteOptions, SourceId};
use crate::sim::content::{self, Recording};
use crate::sim::rng::str_hash;

/// Samples per second of the broadband hydrophones.
pub(crate) const RATE: u32 = 64_000;
/// Nominal file length, seconds.
pub(crate) const FILE_S: i64 = 300;
const FILES_PER_DAY: i64 = 86_400 / FILE_S;

/// The broadband hydrophones: reference designator and the station code in file names (the
/// Oregon ones as seen in real file names; the Axial ones modelled).
const HYDROPHONES: [(&str, &str); 6] = [
    ("RS03AXBS-LJ03A-09-HYDBBA302", "AXBA1"),
    ("RS03AXPS-PC03A-08-HYDBBA303", "AXVM1"),
    ("RS01SLBS-LJ01A-09-HYDBBA102", "HYVM1"),
    ("RS01SBPS-PC01A-08-HYDBBA103", "HYVM2"),
    ("CE04OSBP-LJ01C-11-HYDBBA105", "HYEA1"),
    ("CE02SHBP-LJ01D-11-HYDBBA106", "HYEA2"),
];

/// A hydrophone's folder and station code.
fn hydrophone(site: &str, node: &str, sensor: &str) -> Option<&'static str> {
    let refdes = format!("{site}-{node}-{sensor}");
    HYDROPHONES
        .iter()
        .find(|(r, _)| *r == refdes)
        .map(|(_, s)| *s)
}

/// What an `ooi-raw/files/…` path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawRoute {
    /// A day folder's listing.
    Day {
        folder: String,
        date: Date,
        station: &'static str,
    },
    /// One file of a day.
    File {
        date: Date,
        station: &'static str,
        name: String,
    },
    /// Anything else (no such folder or file).
    Missing,
}

/// Resolves the path after `files/`.
pub(crate) fn route(rest: &str) -> RawRoute {
    let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    if !(6..=7).contains(&parts.len()) {
        return RawRoute::Missing;
    }
    let Some(station) = hydrophone(parts[0], parts[1], parts[2]) else {
        return RawRoute::Missing;
    };
    let num = |s: &str, len: usize| (s.len() == len).then(|| s.parse::<i16>().ok()).flatten();
    let (Some(y), Some(m), Some(d)) = (num(parts[3], 4), num(parts[4], 2), num(parts[5], 2)) else {
        return RawRoute::Missing;
    };
    let Ok(date) = Date::new(y, m as i8, d as i8) else {
        return RawRoute::Missing;
    };
    match parts.get(6) {
        None => RawRoute::Day {
            folder: format!("/files/{}/", parts.join("/")),
            date,
            station,
        },
        Some(name) => RawRoute::File {
            date,
            station,
            name: name.to_string(),
        },
    }
}

/// One file of the archive: its name, the traces it holds (start, seconds).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawFile {
    pub name: String,
    pub start: Timestamp,
    pub traces: Vec<(Timestamp, f64)>,
}

fn at(day: Timestamp, us: i64) -> Timestamp {
    day.checked_add(SignedDuration::from_micros(us))
        .unwrap_or(day)
}

/// The file name for a start time: `OO-<station>--YDH-YYYY-MM-DDTHH:MM:SS.ffffff.mseed`.
pub(crate) fn file_name(station: &str, start: Timestamp) -> String {
    format!(
        "OO-{station}--YDH-{}.mseed",
        start.strftime("%Y-%m-%dT%H:%M:%S.%6f")
    )
}

/// The files of one day (empty on a day with no data), in time order.
pub(crate) fn day_files(station: &str, date: Date) -> Vec<RawFile> {
    if date.day() == 13 {
        return Vec::new();
    }
    let Ok(day) = date
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp())
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for k in 0..FILES_PER_DAY {
        if k == 8 {
            continue;
        }
        let start_us = k * FILE_S * 1_000_000 + 15 + 3 * k;
        let next_us = (k + 1) * FILE_S * 1_000_000 + 15 + 3 * (k + 1);
        let start = at(day, start_us);
        let full = (next_us - start_us) as f64 / 1e6;
        let traces = match k {
            5 => vec![
                (start, 120.0),
                (at(day, start_us + 120_500_000), full - 120.5),
            ],
            10 => vec![(start, 200.0)],
            _ => vec![(start, full)],
        };
        out.push(RawFile {
            name: file_name(station, start),
            start,
            traces,
        });
    }
    out
}

/// The Apache `mod_autoindex` page of a day folder.
pub(crate) fn listing(folder: &str, station: &str, date: Date) -> Option<String> {
    let files = day_files(station, date);
    if files.is_empty() {
        return None;
    }
    let title = folder.trim_end_matches('/');
    let parent = &title[..title.rfind('/').unwrap_or(0) + 1];
    let mut rows = String::new();
    let row = |rows: &mut String,
               icon: &str,
               alt: &str,
               href: &str,
               text: &str,
               when: &str,
               size: &str| {
        rows.push_str(&format!(
            "<tr><td valign=\"top\"><img src=\"/icons/{icon}\" alt=\"{alt}\"></td><td><a href=\"{href}\">{text}</a></td><td align=\"right\">{when}  </td><td align=\"right\">{size}</td><td>&nbsp;</td></tr>\n"
        ));
    };
    row(
        &mut rows,
        "back.gif",
        "[PARENTDIR]",
        parent,
        "Parent Directory",
        "",
        "  - ",
    );
    for f in &files {
        let end = f
            .traces
            .last()
            .map_or(f.start, |(s, d)| at(*s, (*d * 1e6) as i64));
        let when = end.strftime("%Y-%m-%d %H:%M").to_string();
        let secs: f64 = f.traces.iter().map(|t| t.1).sum();
        let size = format!("{:>3.0}M", secs * f64::from(RATE) * 2.6 / 1_048_576.0);
        row(
            &mut rows,
            "unknown.gif",
            "[   ]",
            &format!("./{}", f.name),
            &f.name,
            &when,
            &size,
        );
        let png = f.name.replace(".mseed", ".png");
        row(
            &mut rows,
            "image2.gif",
            "[IMG]",
            &format!("./{png}"),
            &png,
            &when,
            " 88K",
        );
    }
    Some(format!(
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<html>\n <head>\n  <title>Index of {title}</title>\n </head>\n <body>\n<h1>Index of {title}</h1>\n  <table>\n   <tr><th valign=\"top\"><img src=\"/icons/blank.gif\" alt=\"[ICO]\"></th><th><a href=\"?C=N;O=D\">Name</a></th><th><a href=\"?C=M;O=A\">Last modified</a></th><th><a href=\"?C=S;O=A\">Size</a></th><th><a href=\"?C=D;O=A\">Description</a></th></tr>\n   <tr><th colspan=\"5\"><hr></th></tr>\n{rows}   <tr><th colspan=\"5\"><hr></th></tr>\n</table>\n</body></html>\n"
    ))
}

/// Renders a file of a day as miniSEED bytes, or `None` if the day has no such file. `rate`
/// overrides 64 kHz (the simulator's `audio_sample_rate_override`, which keeps tests small).
pub(crate) fn render(
    station: &str,
    date: Date,
    name: &str,
    rate: Option<u32>,
) -> Option<Result<Vec<u8>, String>> {
    let file = day_files(station, date)
        .into_iter()
        .find(|f| f.name == name)?;
    Some(render_file(station, &file, rate.unwrap_or(RATE)))
}

fn render_file(station: &str, file: &RawFile, rate: u32) -> Result<Vec<u8>, String> {
    let seed = str_hash(station) ^ 0x6f6f_695f_7261_7721;
    let mut traces = Vec::new();
    for &(start, secs) in &file.traces {
        let rec = Recording {
            device_code: station.to_string(),
            start,
            duration_s: secs,
            sample_rate: rate,
            seed,
        };
        let samples = content::samples(&rec).map_err(|e| e.to_string())?;
        traces.push(MseedTrace {
            id: SourceId {
                network: "OO".into(),
                station: station.into(),
                location: String::new(),
                channel: "YDH".into(),
            },
            start_ns: i64::try_from(start.as_nanosecond()).map_err(|e| e.to_string())?,
            sample_rate: f64::from(rate),
            num_samples: samples.len() as u64,
            samples: MseedSamples::Int(samples),
        });
    }
    encode_mseed(&traces, &MseedWriteOptions::default()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_days_and_quirks() {
        let r = route("RS03AXBS/LJ03A/09-HYDBBA302/2019/07/02/");
        let RawRoute::Day {
            folder,
            date,
            station,
        } = r
        else {
            panic!("{r:?}")
        };
        assert_eq!(folder, "/files/RS03AXBS/LJ03A/09-HYDBBA302/2019/07/02/");
        assert_eq!(station, "AXBA1");
        let files = day_files(station, date);
        assert_eq!(files.len(), 287);
        assert_eq!(
            files[0].name,
            "OO-AXBA1--YDH-2019-07-02T00:00:00.000015.mseed"
        );
        assert_eq!(files[5].traces.len(), 2);
        let page = listing(&folder, station, date).unwrap();
        assert!(page.contains("href=\"./OO-AXBA1--YDH-2019-07-02T00:05:00.000018.mseed\""));
        assert!(listing(&folder, station, Date::constant(2019, 7, 13)).is_none());
        assert_eq!(
            route("RS03AXBS/LJ03A/09-HYDBBA302/2019/7/02/"),
            RawRoute::Missing
        );
        assert_eq!(
            route("XX/LJ03A/09-HYDBBA302/2019/07/02/"),
            RawRoute::Missing
        );
        assert_eq!(
            route("RS03AXBS/LJ03A/09-HYDBBA302/2019/02/30/"),
            RawRoute::Missing
        );
    }
}
