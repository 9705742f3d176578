//! Reprocessing events: ONC sometimes re-archives a file (a recalibration, a fixed header) under
//! the same name. An event `NAME@TIME` says "at simulated time TIME the file NAME is archived
//! again"; from then on the file has a new version (1, 2, … per event passed): new content (the
//! recording is rendered with another seed), a new size (FLAC files get 4 KiB more padding per
//! version, log files a trailing note; WAV files keep their size, so only the content and the
//! `modifyDate` tell), and `modifyDate` = TIME in `returnOptions=all` listings. Events come from
//! `SimConfig::reprocess`, `sim serve --reprocess NAME@TIME` and `SimServer::reprocess`.
//!
//! Data products made from a reprocessed file change with it ([`rerun`]): an order placed
//! after the event renders its HSD spectra and AD audio from the new version of the recording
//! (the same content the re-archived file has), so ordering the same period again yields
//! different bytes for the outputs of that file and the same bytes for every other one. An
//! order placed before the event keeps the old version, as a finished ONC run would.
//!
//! Must not know: HTTP, how a client detects the change.

use std::fmt;

use jiff::Timestamp;

use super::archive::version_seed;
use super::clock::{compact_ms, parse_date_value, DateValue};
use super::products::Output;

/// One reprocessing event: `filename` is archived again at simulated time `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reprocessing {
    /// The archive file name, e.g. `ICLISTENHF1560_20240401T000000.000Z.flac`.
    pub filename: String,
    /// When (simulated time) the new version appears.
    pub at: Timestamp,
}

/// A `--reprocess` value that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad reprocessing event {given:?}: {why} (expected NAME@yyyy-MM-ddTHH:mm:ss.SSSZ)")]
pub struct ReprocessParseError {
    given: String,
    why: &'static str,
}

impl Reprocessing {
    /// Parses `NAME@TIMESTAMP` (the time in ONC's formats).
    pub fn parse(s: &str) -> Result<Reprocessing, ReprocessParseError> {
        let err = |why| ReprocessParseError {
            given: s.to_string(),
            why,
        };
        let (name, at) = s.rsplit_once('@').ok_or_else(|| err("no '@'"))?;
        if name.trim().is_empty() {
            return Err(err("no file name"));
        }
        match parse_date_value(at) {
            Some(DateValue::At(at)) => Ok(Reprocessing {
                filename: name.trim().to_string(),
                at,
            }),
            _ => Err(err("unreadable time")),
        }
    }
}

impl fmt::Display for Reprocessing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{:.3}", self.filename, self.at)
    }
}

/// How many reprocessing events of the recording `<device>_<start>` (any extension) have
/// passed at `now`.
fn recording_version(events: &[Reprocessing], stem: &str, now: Timestamp) -> u32 {
    let n = events
        .iter()
        .filter(|e| e.at <= now && e.filename.rsplit_once('.').map(|(s, _)| s) == Some(stem))
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Makes a data product order's outputs follow the reprocessing events passed at `now`: the
/// spectra and audio of a re-archived recording come from its new version.
pub(crate) fn rerun(outputs: &mut [Output], events: &[Reprocessing], now: Timestamp) {
    for o in outputs {
        match o {
            Output::Hsd { spec, .. } => {
                let r = &mut spec.recording;
                let stem = format!("{}_{}", r.device_code, compact_ms(r.start));
                r.seed = version_seed(r.seed, recording_version(events, &stem, now));
            }
            Output::Audio { file, .. } => {
                let stem = format!("{}_{}", file.device, compact_ms(file.start));
                file.version = recording_version(events, &stem, now);
            }
            Output::Log { file, .. } => file.version = version_at(events, &file.name(), now).0,
            Output::Tssd { .. } => {}
        }
    }
}

/// The version of `name` at `now` (how many of its events have passed) and when the newest of
/// them happened.
pub(crate) fn version_at(
    events: &[Reprocessing],
    name: &str,
    now: Timestamp,
) -> (u32, Option<Timestamp>) {
    let passed = events.iter().filter(|e| e.filename == name && e.at <= now);
    passed.fold((0, None), |(n, last), e| {
        (n + 1, Some(last.map_or(e.at, |l: Timestamp| l.max(e.at))))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::clock::lit;

    #[test]
    fn events_parse_and_count() {
        let e =
            Reprocessing::parse("A_20240401T000000.000Z.flac@2024-04-02T00:00:00.000Z").unwrap();
        assert_eq!(e.filename, "A_20240401T000000.000Z.flac");
        assert_eq!(
            e.to_string(),
            "A_20240401T000000.000Z.flac@2024-04-02T00:00:00.000Z"
        );
        assert!(Reprocessing::parse("nodate").is_err());
        assert!(Reprocessing::parse("@2024-04-02T00:00:00Z").is_err());
        assert!(Reprocessing::parse("x@tomorrow").is_err());
        let second = Reprocessing {
            at: lit("2024-04-03T00:00:00Z"),
            ..e.clone()
        };
        let events = [e.clone(), second];
        let name = e.filename.as_str();
        assert_eq!(
            version_at(&events, name, lit("2024-04-01T00:00:00Z")),
            (0, None)
        );
        assert_eq!(
            version_at(&events, name, lit("2024-04-02T12:00:00Z")),
            (1, Some(lit("2024-04-02T00:00:00Z")))
        );
        assert_eq!(
            version_at(&events, name, lit("2024-04-09T00:00:00Z")),
            (2, Some(lit("2024-04-03T00:00:00Z")))
        );
        assert_eq!(
            version_at(&events, "other", lit("2024-04-09T00:00:00Z")).0,
            0
        );
    }
}
