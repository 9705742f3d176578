//! Validation of a workbook as read: every request row and the Configuration sheet are checked
//! and *every* problem is reported with its sheet, row and column (missing columns, bad codes,
//! unparseable or reversed dates, unknown download flags, bad option syntax, products or
//! extensions the device or category does not offer, option values outside what the product
//! allows). Nothing is sent while a single problem remains.
//!
//! Must not know: where the offerings came from (live query or the plan's record), or tasks.

use std::fmt;

use jiff::civil::Time;
use jiff::Timestamp;

use super::model::{parse_weekday, Column, Config, Offerings, SheetKind, SourceKey, SplitRange};
use super::options::{check_options, parse_options};
use super::read::ReadBook;
use super::workbook::{from_excel_serial, Cell, Table, TableRow};
use crate::api::{
    parse_onc, DataProductCode, DataSource, DeviceCategoryCode, DeviceCode, LocationCode,
    PropertyCode,
};

/// One problem, located as precisely as possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The sheet's name, e.g. `By Location`.
    pub sheet: String,
    /// 1-based Excel row (1 = header row).
    pub row: Option<u32>,
    /// Column letter and header text.
    pub column: Option<(String, String)>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'", self.sheet)?;
        if let Some(r) = self.row {
            write!(f, " row {r}")?;
        }
        if let Some((letter, header)) = &self.column {
            write!(f, ", column {letter} ({header})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found (blocking) and every warning (not blocking).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Problems that stop the plan from running.
    pub problems: Vec<Problem>,
    /// Oddities reported but not blocking.
    pub warnings: Vec<Problem>,
}

impl Report {
    /// True when nothing blocks the plan (warnings allowed).
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A request row that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRow {
    /// The sheet it came from.
    pub sheet: SheetKind,
    /// 1-based Excel row.
    pub excel_row: u32,
    /// Device, or location + category, from the row's code columns.
    pub source: DataSource,
    /// `dataProductCode`.
    pub product: DataProductCode,
    /// `extension`, e.g. `mat`.
    pub extension: String,
    /// `dpo_*` options, from `data product options`.
    pub options: Vec<(String, String)>,
    /// Inclusive start (UTC).
    pub begin: Timestamp,
    /// Exclusive end (UTC).
    pub end: Timestamp,
    /// Whether the row is to be ordered (`download` column).
    pub download: bool,
}

/// A workbook that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidPlan {
    /// The Configuration sheet.
    pub config: Config,
    /// Every valid request row, in sheet order.
    pub rows: Vec<RequestRow>,
    /// Non-blocking remarks found while validating.
    pub warnings: Vec<Problem>,
}

/// The spreadsheet letter of a 0-based column index (`0 → A`, `27 → AB`).
pub fn column_letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// The source a request row names, read leniently (for fetching offerings before validation).
pub fn row_source_keys(book: &ReadBook) -> Vec<SourceKey> {
    let mut keys = Vec::new();
    for (kind, t) in &book.requests {
        for r in &t.rows {
            let text = |c| {
                t.column_index(c)
                    .map(|i| r.get(i).as_text())
                    .unwrap_or_default()
            };
            let key = match kind {
                SheetKind::ByDevice => {
                    let d = text(Column::DeviceCode);
                    (!d.is_empty()).then(|| SourceKey::Device(DeviceCode::new(d)))
                }
                SheetKind::ByLocation => {
                    let (l, c) = (text(Column::LocationCode), text(Column::DeviceCategoryCode));
                    (!l.is_empty() && !c.is_empty()).then(|| {
                        SourceKey::LocationCategory(
                            LocationCode::new(l),
                            DeviceCategoryCode::new(c),
                        )
                    })
                }
            };
            if let Some(k) = key {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
    }
    keys
}

/// Validates the whole workbook against `offerings`; `Err` carries every problem.
pub fn validate(book: &ReadBook, offerings: &Offerings) -> Result<ValidPlan, Report> {
    let mut report = Report::default();
    let config = match &book.config {
        Some(t) => parse_config(t, &mut report),
        None => {
            report.warnings.push(Problem {
                sheet: "Configuration".into(),
                row: None,
                column: None,
                message: "sheet missing: using the default settings".into(),
            });
            Config::default()
        }
    };
    if book.requests.is_empty() {
        report.problems.push(Problem {
            sheet: "By Location / By Device".into(),
            row: None,
            column: None,
            message: "the workbook has neither a 'By Location' nor a 'By Device' sheet".into(),
        });
    }
    let mut rows = Vec::new();
    for (kind, table) in &book.requests {
        validate_sheet(*kind, table, offerings, &mut rows, &mut report);
    }
    if report.is_ok() {
        Ok(ValidPlan {
            config,
            rows,
            warnings: report.warnings,
        })
    } else {
        Err(report)
    }
}

struct Ctx<'a> {
    table: &'a Table,
    row: &'a TableRow,
    report: &'a mut Report,
}

impl Ctx<'_> {
    fn problem(&mut self, col: Option<usize>, message: impl Into<String>) {
        let column = col.map(|i| {
            (
                column_letter(i),
                self.table.headers.get(i).cloned().unwrap_or_default(),
            )
        });
        self.report.problems.push(Problem {
            sheet: self.table.name.clone(),
            row: Some(self.row.excel_row),
            column,
            message: message.into(),
        });
    }

    fn text(&self, col: Option<usize>) -> String {
        col.map(|i| self.row.get(i).as_text()).unwrap_or_default()
    }

    /// A required code: blank is a problem; spaces inside are a problem.
    fn code(&mut self, col: Option<usize>, what: &str) -> Option<String> {
        let t = self.text(col);
        if t.is_empty() {
            self.problem(col, format!("{what} is blank"));
            None
        } else if t.chars().any(char::is_whitespace) {
            self.problem(col, format!("{what} \"{t}\" contains spaces"));
            None
        } else {
            Some(t)
        }
    }

    fn time(&mut self, col: Option<usize>, what: &str) -> Option<Timestamp> {
        let cell = col.map(|i| self.row.get(i).clone()).unwrap_or(Cell::Empty);
        match parse_time_cell(&cell) {
            Ok(t) => Some(t),
            Err(msg) => {
                self.problem(col, format!("{what}: {msg}"));
                None
            }
        }
    }
}

fn validate_sheet(
    kind: SheetKind,
    table: &Table,
    offerings: &Offerings,
    out: &mut Vec<RequestRow>,
    report: &mut Report,
) {
    let missing: Vec<Column> = kind
        .required_columns()
        .iter()
        .copied()
        .filter(|c| table.column_index(*c).is_none())
        .collect();
    for c in &missing {
        report.problems.push(Problem {
            sheet: table.name.clone(),
            row: Some(1),
            column: None,
            message: format!("required column '{}' is missing", c.header()),
        });
    }
    if !missing.is_empty() {
        return;
    }
    let ix = |c: Column| table.column_index(c);
    for row in &table.rows {
        let mut cx = Ctx { table, row, report };
        let property = Some(cx.text(ix(Column::PropertyCode)))
            .filter(|s| !s.is_empty())
            .map(PropertyCode::new);
        let (source, key) = match kind {
            SheetKind::ByDevice => match cx.code(ix(Column::DeviceCode), "deviceCode") {
                Some(d) => (
                    Some(DataSource::Device {
                        device: DeviceCode::new(d.clone()),
                        property: property.clone(),
                    }),
                    Some(SourceKey::Device(DeviceCode::new(d))),
                ),
                None => (None, None),
            },
            SheetKind::ByLocation => {
                let l = cx.code(ix(Column::LocationCode), "locationCode");
                let c = cx.code(ix(Column::DeviceCategoryCode), "deviceCategoryCode");
                match (l, c) {
                    (Some(l), Some(c)) => (
                        Some(DataSource::Location {
                            location: LocationCode::new(l.clone()),
                            device_category: Some(DeviceCategoryCode::new(c.clone())),
                            property: property.clone(),
                        }),
                        Some(SourceKey::LocationCategory(
                            LocationCode::new(l),
                            DeviceCategoryCode::new(c),
                        )),
                    ),
                    _ => (None, None),
                }
            }
        };
        let download = parse_download(&mut cx, ix(Column::Download));
        let begin = cx.time(ix(Column::Begin), "begin");
        let end = cx.time(ix(Column::End), "end");
        if let (Some(b), Some(e)) = (begin, end) {
            if b >= e {
                cx.problem(
                    ix(Column::End),
                    format!(
                        "end {} is not after begin {}",
                        crate::api::format_onc(e),
                        crate::api::format_onc(b)
                    ),
                );
            }
        }
        let product = cx.code(ix(Column::DataProductCode), "dataProductCode");
        let ext = cx.code(ix(Column::Extension), "extension");
        let options = match parse_options(&cx.text(ix(Column::Options))) {
            Ok(o) => Some(o),
            Err(msgs) => {
                for m in msgs {
                    cx.problem(ix(Column::Options), format!("bad option syntax: {m}"));
                }
                None
            }
        };
        // What the source offers is checked whenever the row names a source, product and
        // extension, even if other cells are wrong, so one pass reports everything.
        let (Some(key), Some(product), Some(ext)) = (key, product, ext) else {
            continue;
        };
        let pe = (DataProductCode::new(product.clone()), ext.clone());
        match offerings.offers(&key, &pe) {
            None => {
                cx.problem(
                    None,
                    format!("nothing is known about what {key} offers (no such device or category there?)"),
                );
                continue;
            }
            Some(false) => {
                let offered: Vec<String> = offerings
                    .by_source
                    .get(&key)
                    .map(|s| s.iter().map(|(p, e)| format!("{p}.{e}")).collect())
                    .unwrap_or_default();
                let has_product = offerings
                    .by_source
                    .get(&key)
                    .is_some_and(|s| s.iter().any(|(p, _)| p.as_str() == product));
                let col = if has_product {
                    ix(Column::Extension)
                } else {
                    ix(Column::DataProductCode)
                };
                cx.problem(
                    col,
                    format!(
                        "{key} does not offer {product} as {ext} (offers: {})",
                        if offered.is_empty() {
                            "nothing".to_string()
                        } else {
                            offered.join(", ")
                        }
                    ),
                );
                continue;
            }
            Some(true) => {}
        }
        let Some(options) = options else {
            continue;
        };
        let mut options_ok = true;
        if let Some(spec) = offerings.products.get(&pe) {
            for m in check_options(&options, spec) {
                cx.problem(ix(Column::Options), m);
                options_ok = false;
            }
        }
        let (Some(source), Some(download), Some(begin), Some(end), true) =
            (source, download, begin, end, options_ok)
        else {
            continue;
        };
        if begin >= end {
            continue;
        }
        out.push(RequestRow {
            sheet: kind,
            excel_row: row.excel_row,
            source,
            product: pe.0,
            extension: ext,
            options,
            begin,
            end,
            download,
        });
    }
}

fn parse_download(cx: &mut Ctx<'_>, col: Option<usize>) -> Option<bool> {
    let cell = col.map(|i| cx.row.get(i).clone()).unwrap_or(Cell::Empty);
    let v = match &cell {
        Cell::Bool(b) => Some(*b),
        Cell::Number(x) if *x == 1.0 => Some(true),
        Cell::Number(x) if *x == 0.0 => Some(false),
        c => match c.as_text().to_ascii_lowercase().as_str() {
            "y" | "yes" | "t" | "true" | "x" => Some(true),
            "n" | "no" | "f" | "false" => Some(false),
            _ => None,
        },
    };
    if v.is_none() {
        let shown = cell.as_text();
        cx.problem(
            col,
            if shown.is_empty() {
                "download is blank: write Y or N".to_string()
            } else {
                format!("download flag \"{shown}\" is not Y/N (or T/F, TRUE/FALSE)")
            },
        );
    }
    v
}

/// A date cell, an ONC time string, or `YYYY-MM-DD H:MM:SS[.sss]` (UTC).
pub fn parse_time_cell(cell: &Cell) -> Result<Timestamp, String> {
    match cell {
        Cell::Date(t) => Ok(*t),
        Cell::Number(x) if *x >= 1.0 => {
            from_excel_serial(*x).ok_or_else(|| format!("{x} is not a date"))
        }
        Cell::Empty => Err("is blank".into()),
        c => {
            let s = c.as_text();
            if let Ok(t) = parse_onc(&s) {
                return Ok(t);
            }
            // Excel-style "2011-07-13 0:00:00": pad a one-digit hour.
            if let Some((d, t)) = s.split_once(' ') {
                let t = t.trim();
                let padded = if t.find(':') == Some(1) {
                    format!("0{t}")
                } else {
                    t.to_string()
                };
                if let Ok(ts) = parse_onc(&format!("{d}T{padded}")) {
                    return Ok(ts);
                }
            }
            Err(format!(
                "\"{s}\" is not a date (use YYYY-MM-DD HH:MM:SS, UTC)"
            ))
        }
    }
}

/// What a workbook's `downloadFolder` may be.
#[derive(Debug, PartialEq)]
enum FolderCheck {
    /// Relative and below the workbook's folder: the normal case.
    Inside,
    /// Absolute or climbing out with `..`: allowed (our own `plan --out` writes absolute
    /// folders) but worth a warning, since a workbook can come from someone else.
    Outside(String),
    /// Blank, or a system folder nobody downloads into (`/`, `/etc`, `/usr`, …).
    Refused(String),
}

/// System folders (and everything below them) a shared workbook must never direct downloads
/// into; the root folder itself is refused too.
const SYSTEM_FOLDERS: &[&str] = &[
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/sbin", "/sys", "/usr",
];

fn download_folder_check(value: &str) -> FolderCheck {
    use std::path::{Component, Path};
    if value.trim().is_empty() {
        return FolderCheck::Refused("downloadFolder is blank".into());
    }
    let path = Path::new(value);
    // The folder without `.` parts or trailing slashes, for comparing with system folders.
    let normal: std::path::PathBuf = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    let shown = normal.display().to_string();
    let is_system = |p: &str| {
        p == "/"
            || SYSTEM_FOLDERS
                .iter()
                .any(|s| p == *s || p.starts_with(&format!("{s}/")))
    };
    if path.is_absolute() && is_system(&shown) {
        return FolderCheck::Refused(format!(
            "downloadFolder \"{value}\" is a system folder; choose a data folder"
        ));
    }
    if path.is_absolute() {
        return FolderCheck::Outside(format!(
            "downloadFolder \"{value}\" is absolute: files go there, not beside the workbook"
        ));
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return FolderCheck::Outside(format!(
            "downloadFolder \"{value}\" climbs out of the workbook's folder"
        ));
    }
    FolderCheck::Inside
}

/// Parses the Configuration sheet; unknown settings and bad values are problems.
pub fn parse_config(t: &Table, report: &mut Report) -> Config {
    let mut c = Config::default();
    let key_col = t.index_of("setting").unwrap_or(0);
    let val_col = t.index_of("value").unwrap_or(1);
    for row in &t.rows {
        let key = row.get(key_col).as_text();
        let cell = row.get(val_col).clone();
        let value = cell.as_text();
        let mut warning = None;
        let mut problem = |msg: String| {
            report.problems.push(Problem {
                sheet: t.name.clone(),
                row: Some(row.excel_row),
                column: Some((column_letter(val_col), key.clone())),
                message: msg,
            })
        };
        match super::model::normalize_header(&key).as_str() {
            "downloadfolder" => match download_folder_check(&value) {
                FolderCheck::Refused(msg) => problem(msg),
                FolderCheck::Outside(msg) => {
                    warning = Some(msg);
                    c.download_folder = value;
                }
                FolderCheck::Inside => c.download_folder = value,
            },
            "splitdaterange" => match SplitRange::parse(&value) {
                Some(s) => c.split = s,
                None => problem(format!("\"{value}\" is not one of all, year, month, week, day")),
            },
            "dayofweek" => match parse_weekday(&value) {
                Some(d) => c.day_of_week = d,
                None => problem(format!("\"{value}\" is not one of MO TU WE TH FR SA SU")),
            },
            "runthreads" => match positive(&value) {
                Some(n) => c.run_threads = n,
                None => problem(format!("runThreads \"{value}\" is not a whole number ≥ 1")),
            },
            "downloadthreads" => match positive(&value) {
                Some(n) => c.download_threads = n,
                None => problem(format!("downloadThreads \"{value}\" is not a whole number ≥ 1")),
            },
            "downloadqueuesize" => {
                if value.eq_ignore_ascii_case("unlimited") || value.is_empty() {
                    c.download_queue_size = None;
                } else {
                    match positive(&value) {
                        Some(n) => c.download_queue_size = Some(n),
                        None => problem(format!("downloadQueueSize \"{value}\" is not a number ≥ 1 or unlimited")),
                    }
                }
            }
            "beginrun" | "endrun" => match parse_time_of_day(&cell) {
                Some(tm) if key.to_ascii_lowercase().starts_with("begin") => c.begin_run = tm,
                Some(tm) => c.end_run = tm,
                None => problem(format!("{key} \"{value}\" is not a time of day HH:MM:SS")),
            },
            "token" => report.warnings.push(Problem {
                sheet: t.name.clone(),
                row: Some(row.excel_row),
                column: None,
                message: "the token setting is ignored: the token comes from ONC_TOKEN; delete it from the workbook".into(),
            }),
            "note" | "logfile" | "" => {}
            _ => problem(format!("unknown setting \"{key}\"")),
        }
        if let Some(message) = warning {
            report.warnings.push(Problem {
                sheet: t.name.clone(),
                row: Some(row.excel_row),
                column: Some((column_letter(val_col), key.clone())),
                message,
            });
        }
    }
    c
}

fn positive(s: &str) -> Option<usize> {
    let x: f64 = s.trim().parse().ok()?;
    (x.fract() == 0.0 && (1.0..=10_000.0).contains(&x)).then_some(x as usize)
}

fn parse_time_of_day(cell: &Cell) -> Option<Time> {
    if let Cell::Number(x) = cell {
        if (0.0..1.0).contains(x) {
            let secs = (x * 86_400.0).round() as i64;
            return Time::new(
                (secs / 3600) as i8,
                ((secs / 60) % 60) as i8,
                (secs % 60) as i8,
                0,
            )
            .ok();
        }
    }
    let s = cell.as_text();
    let parts: Vec<&str> = s.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let n = |p: &str| p.trim().parse::<i8>().ok();
    let h = n(parts[0])?;
    let m = n(parts[1])?;
    let sec = if parts.len() == 3 { n(parts[2])? } else { 0 };
    Time::new(h, m, sec, 0).ok()
}

#[cfg(test)]
mod folder_tests {
    use super::*;

    #[test]
    fn download_folder_outside_the_workbook_is_warned_and_system_folders_refused() {
        assert_eq!(download_folder_check("data"), FolderCheck::Inside);
        assert_eq!(download_folder_check("."), FolderCheck::Inside);
        assert!(matches!(
            download_folder_check("/etc"),
            FolderCheck::Refused(_)
        ));
        assert!(matches!(
            download_folder_check("/etc/"),
            FolderCheck::Refused(_)
        ));
        assert!(matches!(
            download_folder_check("/usr/lib/x"),
            FolderCheck::Refused(_)
        ));
        assert!(matches!(
            download_folder_check("/"),
            FolderCheck::Refused(_)
        ));
        assert!(matches!(
            download_folder_check(" "),
            FolderCheck::Refused(_)
        ));
        assert!(matches!(
            download_folder_check("/data/onc"),
            FolderCheck::Outside(_)
        ));
        assert!(matches!(
            download_folder_check("../../x"),
            FolderCheck::Outside(_)
        ));
        assert!(matches!(
            download_folder_check("/etcetera"),
            FolderCheck::Outside(_)
        ));
    }
}
