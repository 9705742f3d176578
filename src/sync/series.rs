//! The per-sensor CSV files of near-real-time data, and how they grow without ever being torn.
//!
//! A file is a few `# key: value` header lines (device, sensor name and code, property, unit of
//! measure, QAQC flag meanings), one column line, then one row per sample, oldest first:
//!
//! ```text
//! # onc-hydro scalar data
//! # deviceCode: SBECTD19p7128
//! # sensorCode: Temperature
//! # unitOfMeasure: C
//! time_utc,value,qaqc_flag
//! 2026-01-01T00:00:00.123Z,3.51234,1
//! ```
//! (`pandas.read_csv(path, comment="#", parse_dates=["time_utc"])` reads it; a missing value or
//! flag is an empty field.)
//!
//! Durability: a new file is written whole through the atomic helper (temporary, fsync,
//! rename). Later rows are appended with one `write` and an fsync. A crash in the middle of an
//! append can leave a torn last line (no final newline); [`SeriesFile::open`] detects it and
//! truncates the file back to its last complete line before anything else is done, so rows
//! already held are never lost or altered. The last held time comes from reading the file's
//! tail backwards (bounded: a line longer than 1 MiB is refused), never the whole file.
//!
//! Must not know: HTTP, where the samples came from, plotting.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::error::SyncError;
use crate::api::{format_onc, parse_onc};

/// Longest line the tail reader looks back over.
const MAX_LINE: u64 = 1 << 20;

/// An open, repaired per-sensor (or per-device raw) CSV file.
#[derive(Debug)]
pub struct SeriesFile {
    path: PathBuf,
    /// Header `key: value` pairs, in file order.
    pub header: Vec<(String, String)>,
    /// The column names.
    pub columns: Vec<String>,
    /// Time of the last complete row; `None` when the file holds no rows.
    pub last: Option<Timestamp>,
    /// Bytes of a torn last line dropped on open (0 = the file was whole).
    pub dropped: u64,
}

/// Reads the last complete line of `f` (without its newline) and the file length, looking back
/// at most [`MAX_LINE`] bytes. `Ok(None)` for an empty file or one without any newline.
pub fn last_complete_line(f: &mut File) -> std::io::Result<(u64, Option<(u64, String)>)> {
    let len = f.seek(SeekFrom::End(0))?;
    // The end of the last complete line is the last newline.
    let mut chunk = 4096u64;
    loop {
        let start = len.saturating_sub(chunk);
        let mut buf = vec![0u8; (len - start) as usize];
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut buf)?;
        let Some(nl) = buf.iter().rposition(|&b| b == b'\n') else {
            if start == 0 {
                return Ok((len, None));
            }
            if chunk >= MAX_LINE {
                return Err(long_line());
            }
            chunk *= 2;
            continue;
        };
        let end = start + nl as u64; // offset of the newline
        match buf[..nl].iter().rposition(|&b| b == b'\n') {
            Some(prev) => {
                let line = String::from_utf8_lossy(&buf[prev + 1..nl]).into_owned();
                return Ok((len, Some((end + 1, line))));
            }
            None if start == 0 => {
                let line = String::from_utf8_lossy(&buf[..nl]).into_owned();
                return Ok((len, Some((end + 1, line))));
            }
            None if chunk >= MAX_LINE => return Err(long_line()),
            None => chunk *= 2,
        }
    }
}

fn long_line() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "a line is longer than 1 MiB: not a file onc-hydro wrote",
    )
}

/// Quotes a CSV field when it holds a comma, quote or line break (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The time in the first field of a data row.
fn row_time(line: &str) -> Option<Timestamp> {
    let first = line.split(',').next()?;
    parse_onc(first.trim()).ok()
}

impl SeriesFile {
    /// Opens `path` if it exists: drops a torn last line (fsynced), reads the header and the
    /// time of the last row. `Ok(None)` when there is no file yet, or when it held only a torn
    /// first line (it is then removed and written anew).
    pub fn open(path: &Path) -> Result<Option<SeriesFile>, SyncError> {
        let io = |e| SyncError::io("cannot read", path, e);
        let mut f = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let (len, last) = last_complete_line(&mut f).map_err(io)?;
        let Some((end, last_line)) = last else {
            // Not even the first header line is whole: nothing was ever held.
            drop(f);
            std::fs::remove_file(path).map_err(|e| SyncError::io("cannot remove", path, e))?;
            return Ok(None);
        };
        let mut dropped = 0;
        if end < len {
            f.set_len(end)
                .and_then(|()| f.sync_all())
                .map_err(|e| SyncError::io("cannot drop the torn last line of", path, e))?;
            dropped = len - end;
        }
        f.seek(SeekFrom::Start(0)).map_err(io)?;
        let (header, columns) = read_header(BufReader::new(&mut f)).map_err(io)?;
        if columns.is_empty() {
            // Header lines only: new files are written whole, so this file is not ours.
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "no column line (time_utc,…): not a file onc-hydro wrote",
            )));
        }
        let last = if last_line.starts_with('#') || last_line == columns_line(&columns) {
            None
        } else {
            Some(row_time(&last_line).ok_or_else(|| {
                io(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("the last row does not start with a UTC time: {last_line:?}"),
                ))
            })?)
        };
        Ok(Some(SeriesFile {
            path: path.to_path_buf(),
            header,
            columns,
            last,
            dropped,
        }))
    }

    /// The header value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.header
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Appends `rows` (each a full line without newline) with one write, then fsyncs.
    pub fn append(&mut self, rows: &[String], last: Timestamp) -> Result<(), SyncError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut text = String::with_capacity(rows.iter().map(|r| r.len() + 1).sum());
        for r in rows {
            text.push_str(r);
            text.push('\n');
        }
        let mut f = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|e| SyncError::io("cannot append to", &self.path, e))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_data())
            .map_err(|e| SyncError::io("cannot append to", &self.path, e))?;
        self.last = Some(last);
        Ok(())
    }
}

fn columns_line(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| csv_field(c))
        .collect::<Vec<_>>()
        .join(",")
}

/// The `# key: value` lines and the column line at the start of a file.
/// `# key: value` pairs, and the column names.
type Header = (Vec<(String, String)>, Vec<String>);

fn read_header(mut r: impl BufRead) -> std::io::Result<Header> {
    let mut header = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Ok((header, Vec::new()));
        }
        let l = line.trim_end_matches(['\n', '\r']);
        match l.strip_prefix('#') {
            Some(h) => {
                if let Some((k, v)) = h.split_once(':') {
                    header.push((k.trim().to_string(), v.trim().to_string()));
                }
            }
            None => return Ok((header, l.split(',').map(str::to_string).collect())),
        }
    }
}

/// Writes a new file (header, columns, first rows) atomically.
pub fn create(
    path: &Path,
    title: &str,
    header: &[(String, String)],
    columns: &[String],
    rows: &[String],
) -> Result<(), SyncError> {
    let mut text = format!("# {title}\n");
    for (k, v) in header {
        text.push_str(&format!("# {k}: {}\n", v.replace(['\n', '\r'], " ")));
    }
    text.push_str(&columns_line(columns));
    text.push('\n');
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| SyncError::io("cannot create", dir, e))?;
    }
    crate::media::atomic::write_atomic(path, text.as_bytes())
        .map_err(|e| SyncError::io("cannot write", path, e))
}

/// Streams the rows of a scalar file: `(time, value)` per row (`None` for an empty value),
/// skipping rows whose time does not parse. Returns the rows read.
pub fn for_each_sample(
    path: &Path,
    mut f: impl FnMut(Timestamp, Option<f64>),
) -> Result<u64, SyncError> {
    let file = File::open(path).map_err(|e| SyncError::io("cannot read", path, e))?;
    let mut r = BufReader::new(file);
    let (_, columns) = read_header(&mut r).map_err(|e| SyncError::io("cannot read", path, e))?;
    let vi = columns
        .iter()
        .position(|c| c == "value")
        .unwrap_or(1)
        .max(1);
    let mut n = 0;
    let mut line = String::new();
    loop {
        line.clear();
        match r.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Err(SyncError::io("cannot read", path, e)),
        }
        if !line.ends_with('\n') {
            break; // a torn last line (an append in progress elsewhere): not a row yet
        }
        let mut fields = line.trim_end().split(',');
        let Some(t) = fields.next().and_then(|t| parse_onc(t).ok()) else {
            continue;
        };
        let v = fields.nth(vi - 1).and_then(|v| v.parse::<f64>().ok());
        f(t, v.filter(|v| v.is_finite()));
        n += 1;
    }
    Ok(n)
}

/// The time of the first row of a file (for the plot's time axis).
pub fn first_time(path: &Path) -> Result<Option<Timestamp>, SyncError> {
    let mut first = None;
    let file = File::open(path).map_err(|e| SyncError::io("cannot read", path, e))?;
    let mut r = BufReader::new(file);
    read_header(&mut r).map_err(|e| SyncError::io("cannot read", path, e))?;
    let mut line = String::new();
    while first.is_none() {
        line.clear();
        match r.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => first = row_time(&line),
            Err(e) => return Err(SyncError::io("cannot read", path, e)),
        }
    }
    Ok(first)
}

/// A time as written in the files (`format_onc`: millisecond UTC with `Z`).
pub fn time_field(t: Timestamp) -> String {
    format_onc(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail_of(bytes: &[u8]) -> (u64, Option<(u64, String)>) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, bytes).unwrap();
        last_complete_line(&mut File::open(&p).unwrap()).unwrap()
    }

    #[test]
    fn the_tail_reader_finds_the_last_complete_line() {
        assert_eq!(tail_of(b""), (0, None));
        assert_eq!(tail_of(b"no newline yet"), (14, None));
        assert_eq!(tail_of(b"a\n"), (2, Some((2, "a".into()))));
        assert_eq!(tail_of(b"a\nbc\n"), (5, Some((5, "bc".into()))));
        // A torn last line: the complete one before it, and where it ends.
        assert_eq!(tail_of(b"a\nbc\nde"), (7, Some((5, "bc".into()))));
        // Lines longer than the first 4 KiB look-back.
        let long = "x".repeat(10_000);
        let text = format!("h\n{long}\n{long}");
        let (len, last) = tail_of(text.as_bytes());
        assert_eq!(len, text.len() as u64);
        let (end, line) = last.unwrap();
        assert!(
            end == 10_003 && line == long,
            "ends at {end}, {} bytes",
            line.len()
        );
        let text = format!("{long}\n");
        let (end, line) = tail_of(text.as_bytes()).1.unwrap();
        assert!(
            end == 10_001 && line == long,
            "ends at {end}, {} bytes",
            line.len()
        );
        // A line beyond the bound is refused rather than read whole.
        let huge = "y".repeat(3 << 20);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.csv");
        std::fs::write(&p, format!("a\n{huge}\n")).unwrap();
        assert!(last_complete_line(&mut File::open(&p).unwrap()).is_err());
    }

    fn header() -> Vec<(String, String)> {
        vec![
            ("deviceCode".into(), "DEV".into()),
            ("unitOfMeasure".into(), "C".into()),
        ]
    }

    fn cols() -> Vec<String> {
        ["time_utc", "value", "qaqc_flag"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn open_drops_a_torn_line_and_appends_continue() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("DEV").join("DEV_T.csv");
        let rows = [
            "2026-01-01T00:00:00.000Z,1.5,1".to_string(),
            "2026-01-01T00:00:01.000Z,,9".to_string(),
        ];
        create(&p, "test", &header(), &cols(), &rows).unwrap();
        let f = SeriesFile::open(&p).unwrap().unwrap();
        assert_eq!(f.get("unitOfMeasure"), Some("C"));
        assert_eq!(f.columns, cols());
        assert_eq!(f.dropped, 0);
        assert_eq!(
            f.last.map(time_field).as_deref(),
            Some("2026-01-01T00:00:01.000Z")
        );
        let whole = std::fs::read(&p).unwrap();

        // A crash mid-append leaves half a row.
        let mut torn = whole.clone();
        torn.extend_from_slice(b"2026-01-01T00:00:02.0");
        std::fs::write(&p, &torn).unwrap();
        let mut f = SeriesFile::open(&p).unwrap().unwrap();
        assert_eq!(f.dropped, 21);
        assert_eq!(
            std::fs::read(&p).unwrap(),
            whole,
            "back to the last whole row"
        );
        let t: Timestamp = "2026-01-01T00:00:02Z".parse().unwrap();
        f.append(&["2026-01-01T00:00:02.000Z,2.5,1".to_string()], t)
            .unwrap();
        let mut seen = Vec::new();
        let n = for_each_sample(&p, |t, v| seen.push((time_field(t), v))).unwrap();
        assert_eq!(n, 3);
        assert_eq!(seen[1].1, None, "an empty value is a missing sample");
        assert_eq!(seen[2], ("2026-01-01T00:00:02.000Z".into(), Some(2.5)));
        assert_eq!(
            first_time(&p).unwrap().map(time_field).as_deref(),
            Some("2026-01-01T00:00:00.000Z")
        );
        assert_eq!(SeriesFile::open(&p).unwrap().unwrap().last, Some(t));
    }

    #[test]
    fn header_only_files_torn_files_and_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        assert!(SeriesFile::open(&p).unwrap().is_none(), "no file yet");
        create(&p, "test", &header(), &cols(), &[]).unwrap();
        let f = SeriesFile::open(&p).unwrap().unwrap();
        assert_eq!((f.last, f.dropped), (None, 0));
        // Not even one whole line: nothing was held, the file is removed to be written anew.
        std::fs::write(&p, "# test").unwrap();
        assert!(SeriesFile::open(&p).unwrap().is_none());
        assert!(!p.exists());
        // Comment lines only, or a last row without a time: refused, file untouched.
        std::fs::write(&p, "# a: b\n").unwrap();
        assert!(SeriesFile::open(&p).is_err());
        std::fs::write(&p, "time_utc,value\nnot a time,1\n").unwrap();
        let e = SeriesFile::open(&p).unwrap_err().to_string();
        assert!(e.contains("a.csv") && e.contains("UTC time"), "{e}");
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "time_utc,value\nnot a time,1\n"
        );
    }

    #[test]
    fn fields_are_quoted_when_needed() {
        assert_eq!(csv_field("abc"), "abc");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
