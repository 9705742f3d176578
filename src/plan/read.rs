//! Reading a plan workbook with calamine, as a researcher left it: sheets found by name (case
//! and spacing ignored), columns found by header name (reordered, deleted optional or extra
//! columns are fine), blank rows skipped, every cell kept with its Excel row number so problems
//! can point at it. Also recovers the recorded offerings ('Product options' and 'Offerings').
//!
//! Must not know: what a valid row is (validate.rs decides) or how the workbook was written.

use std::path::{Path, PathBuf};

use calamine::{open_workbook_auto, Data, Reader};

use super::error::PlanError;
use super::model::{normalize_header, Offerings, OptionSpec, ProductSpec, SheetKind, SourceKey};
use super::workbook::{
    from_excel_serial, Cell, Table, TableRow, CONFIG_SHEET, OFFERINGS_SHEET, PRODUCT_OPTIONS_SHEET,
};
use crate::api::{parse_onc, DataProductCode, DeviceCategoryCode, DeviceCode, LocationCode};

/// The sheets of a workbook, as tables.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadBook {
    /// The workbook file (relative `downloadFolder`s are relative to its folder).
    pub path: PathBuf,
    /// 'By Location' and/or 'By Device', in workbook order.
    pub requests: Vec<(SheetKind, Table)>,
    /// The 'Configuration' sheet, if present.
    pub config: Option<Table>,
    /// The 'Product options' sheet, if present.
    pub product_options: Option<Table>,
    /// The 'Offerings' sheet, if present.
    pub offerings: Option<Table>,
}

/// The most an `.xlsx` may inflate to, summed over its parts. A plan workbook of 100,000 rows
/// is about 30 MB of XML; anything far beyond is a zip bomb, not a plan.
pub const MAX_INFLATED_BYTES: u64 = 256 << 20;

/// How much more than its compressed size one part may declare (when over 1 MiB). Spreadsheet
/// XML deflates 5–30×; a zip bomb declares ~1000×.
const MAX_RATIO: u64 = 200;

fn le16(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn le32(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32::from_le_bytes(
        b.get(at..at + 4)?.try_into().ok()?,
    )))
}

/// Refuses an `.xlsx` whose zip directory declares more than [`MAX_INFLATED_BYTES`] in total or
/// a part inflating more than [`MAX_RATIO`]×, before calamine inflates anything (issue 16
/// item 8). Files that are not zips are left to calamine's own error.
fn check_inflation(path: &Path) -> Result<(), String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    // The end-of-central-directory record: 22 bytes plus a comment of up to 64 KiB, at the end.
    let tail_len = len.min(22 + 65_535);
    let mut tail = vec![0u8; tail_len as usize];
    f.seek(SeekFrom::Start(len - tail_len))
        .and_then(|_| f.read_exact(&mut tail))
        .map_err(|e| format!("cannot read: {e}"))?;
    let Some(eocd) = tail.windows(4).rposition(|w| w == b"PK\x05\x06") else {
        return Ok(());
    };
    let bad = || "its zip directory is damaged".to_string();
    let entries = le16(&tail, eocd + 10).ok_or_else(bad)?;
    let dir_size = le32(&tail, eocd + 12).ok_or_else(bad)?;
    let dir_at = le32(&tail, eocd + 16).ok_or_else(bad)?;
    if entries == 0xffff || dir_size == 0xffff_ffff || dir_at == 0xffff_ffff {
        return Err("it is a ZIP64 archive, far larger than any plan workbook".into());
    }
    if dir_at.saturating_add(dir_size) > len {
        return Err(bad());
    }
    let mut dir = vec![0u8; dir_size as usize];
    f.seek(SeekFrom::Start(dir_at))
        .and_then(|_| f.read_exact(&mut dir))
        .map_err(|e| format!("cannot read: {e}"))?;
    let (mut at, mut total) = (0usize, 0u64);
    for _ in 0..entries {
        if dir.get(at..at + 4) != Some(b"PK\x01\x02".as_slice()) {
            return Err(bad());
        }
        let packed = le32(&dir, at + 20).ok_or_else(bad)?;
        let inflated = le32(&dir, at + 24).ok_or_else(bad)?;
        let name_len = le16(&dir, at + 28).ok_or_else(bad)? as usize;
        let extra = le16(&dir, at + 30).ok_or_else(bad)? as usize;
        let comment = le16(&dir, at + 32).ok_or_else(bad)? as usize;
        let name = String::from_utf8_lossy(dir.get(at + 46..at + 46 + name_len).unwrap_or(&[]));
        total = total.saturating_add(inflated);
        if inflated > 1 << 20 && inflated > packed.saturating_mul(MAX_RATIO) {
            return Err(format!(
                "part {name} would inflate {packed} bytes to {inflated} (more than {MAX_RATIO}×): \
                 refusing a likely zip bomb"
            ));
        }
        at += 46 + name_len + extra + comment;
    }
    if total > MAX_INFLATED_BYTES {
        return Err(format!(
            "it would inflate to {total} bytes, more than the {} MiB a plan workbook may hold",
            MAX_INFLATED_BYTES >> 20
        ));
    }
    Ok(())
}

/// Opens a workbook and reads every sheet this tool knows; other sheets are ignored.
pub fn read_workbook(path: &Path) -> Result<ReadBook, PlanError> {
    let rerr = |message: String| PlanError::Read {
        path: path.to_path_buf(),
        message,
    };
    if !path.exists() {
        return Err(rerr("no such file".to_string()));
    }
    check_inflation(path).map_err(rerr)?;
    let mut book = open_workbook_auto(path).map_err(|e| rerr(e.to_string()))?;
    let mut out = ReadBook {
        path: path.to_path_buf(),
        requests: Vec::new(),
        config: None,
        product_options: None,
        offerings: None,
    };
    for name in book.sheet_names().to_vec() {
        let n = normalize_header(&name);
        let kind = [SheetKind::ByLocation, SheetKind::ByDevice]
            .into_iter()
            .find(|k| normalize_header(k.sheet_name()) == n);
        let slot = if kind.is_some() {
            None
        } else if n == normalize_header(CONFIG_SHEET) {
            Some(0)
        } else if n == normalize_header(PRODUCT_OPTIONS_SHEET) {
            Some(1)
        } else if n == normalize_header(OFFERINGS_SHEET) {
            Some(2)
        } else {
            continue;
        };
        let range = book
            .worksheet_range(&name)
            .map_err(|e| rerr(format!("sheet '{name}': {e}")))?;
        let table = to_table(&name, &range);
        match (kind, slot) {
            (Some(k), _) => out.requests.push((k, table)),
            (None, Some(0)) => out.config = Some(table),
            (None, Some(1)) => out.product_options = Some(table),
            (None, _) => out.offerings = Some(table),
        }
    }
    Ok(out)
}

fn to_table(name: &str, range: &calamine::Range<Data>) -> Table {
    let mut table = Table {
        name: name.to_string(),
        ..Table::default()
    };
    let Some((r0, c0)) = range.start() else {
        return table;
    };
    let mut rows = range.rows();
    // Columns left of the used range are blank: pad so indexes match the sheet's columns.
    let pad = c0 as usize;
    let mut header_row = None;
    for (i, row) in rows.by_ref().enumerate() {
        let cells: Vec<Cell> = row.iter().map(to_cell).collect();
        if cells.iter().all(Cell::is_blank) {
            continue;
        }
        header_row = Some((r0 as usize + i, cells));
        break;
    }
    let Some((hr, header)) = header_row else {
        return table;
    };
    table.headers = std::iter::repeat_n(String::new(), pad)
        .chain(header.iter().map(Cell::as_text))
        .collect();
    for (i, row) in rows.enumerate() {
        let excel_row = (hr + 1 + i) as u32 + 1;
        let cells: Vec<Cell> = std::iter::repeat_n(Cell::Empty, pad)
            .chain(row.iter().map(to_cell))
            .collect();
        let row = TableRow { excel_row, cells };
        if !row.is_blank() {
            table.rows.push(row);
        }
    }
    table
}

fn to_cell(d: &Data) -> Cell {
    match d {
        Data::Empty | Data::Error(_) => Cell::Empty,
        Data::String(s) => Cell::text(s.clone()),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) => match from_excel_serial(dt.as_f64()) {
            Some(t) if dt.as_f64() >= 1.0 => Cell::Date(t),
            // A bare time of day (e.g. a beginRun typed as 22:00): keep the day fraction.
            _ => Cell::Number(dt.as_f64()),
        },
        Data::DateTimeIso(s) => parse_onc(s)
            .map(Cell::Date)
            .unwrap_or_else(|_| Cell::text(s.clone())),
        Data::DurationIso(s) => Cell::text(s.clone()),
    }
}

/// The offerings the plan step recorded (lenient: incomplete lines are skipped).
pub fn recorded_offerings(book: &ReadBook) -> Offerings {
    let mut o = Offerings::default();
    if let Some(t) = &book.product_options {
        let col = |n: &str| t.index_of(n);
        let (code, ext, name, opt) = (
            col("dataProductCode"),
            col("extension"),
            col("dataProductName"),
            col("option"),
        );
        let (allowed, lo, hi, ints, def, doc, help) = (
            col("allowableValues"),
            col("lowerBound"),
            col("upperBound"),
            col("onlyIntegers"),
            col("defaultValue"),
            col("documentation"),
            col("helpDocument"),
        );
        let text =
            |r: &TableRow, i: Option<usize>| i.map(|i| r.get(i).as_text()).unwrap_or_default();
        let num = |r: &TableRow, i: Option<usize>| text(r, i).parse::<f64>().ok();
        for r in &t.rows {
            let (c, e) = (text(r, code), text(r, ext));
            if c.is_empty() || e.is_empty() {
                continue;
            }
            let spec = o
                .products
                .entry((DataProductCode::new(c), e))
                .or_insert_with(ProductSpec::default);
            let nm = text(r, name);
            if !nm.is_empty() {
                spec.name = Some(nm);
            }
            let hd = text(r, help);
            if !hd.is_empty() {
                spec.help_document = Some(hd);
            }
            let o_name = text(r, opt);
            if !o_name.starts_with("dpo_") {
                continue;
            }
            let nonempty = |s: String| (!s.is_empty()).then_some(s);
            spec.options.push(OptionSpec {
                name: o_name,
                allowed: text(r, allowed)
                    .split('|')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
                range: num(r, lo).zip(num(r, hi)),
                only_integers: matches!(
                    text(r, ints).to_ascii_lowercase().as_str(),
                    "true" | "1" | "y"
                ),
                default: nonempty(text(r, def)),
                documentation: nonempty(text(r, doc)),
            });
        }
    }
    if let Some(t) = &book.offerings {
        let col = |n: &str| t.index_of(n);
        let (dev, loc, cat, code, ext) = (
            col("deviceCode"),
            col("locationCode"),
            col("deviceCategoryCode"),
            col("dataProductCode"),
            col("extension"),
        );
        let text =
            |r: &TableRow, i: Option<usize>| i.map(|i| r.get(i).as_text()).unwrap_or_default();
        for r in &t.rows {
            let (c, e) = (text(r, code), text(r, ext));
            if c.is_empty() || e.is_empty() {
                continue;
            }
            let (d, l, k) = (text(r, dev), text(r, loc), text(r, cat));
            let source = if !d.is_empty() {
                SourceKey::Device(DeviceCode::new(d))
            } else if !l.is_empty() && !k.is_empty() {
                SourceKey::LocationCategory(LocationCode::new(l), DeviceCategoryCode::new(k))
            } else {
                continue;
            };
            let pe = (DataProductCode::new(c), e);
            o.by_source.entry(source).or_default().insert(pe.clone());
            o.products.entry(pe).or_default();
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::Config;
    use crate::plan::workbook::{empty_request_table, write_workbook, PlanWorkbook};

    fn workbook_bytes(dir: &Path) -> Vec<u8> {
        let path = dir.join("plan.xlsx");
        let kind = SheetKind::ByDevice;
        let wb = PlanWorkbook {
            requests: vec![(kind, empty_request_table(kind))],
            config: Config::default(),
            offerings: Offerings::default(),
        };
        write_workbook(&path, &wb).unwrap();
        std::fs::read(&path).unwrap()
    }

    #[test]
    fn a_zip_bomb_workbook_is_refused_before_inflating() {
        let dir = tempfile::tempdir().unwrap();
        let good = workbook_bytes(dir.path());
        let path = dir.path().join("bomb.xlsx");
        std::fs::write(&path, &good).unwrap();
        assert!(read_workbook(&path).is_ok());
        // Declare 1 GiB for the first part in the central directory, as a bomb's header does.
        let mut bomb = good.clone();
        let cd = bomb.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        bomb[cd + 24..cd + 28].copy_from_slice(&(1u32 << 30).to_le_bytes());
        std::fs::write(&path, &bomb).unwrap();
        let err = read_workbook(&path).unwrap_err().to_string();
        assert!(
            err.contains("zip bomb") && err.contains("bomb.xlsx"),
            "{err}"
        );
        // Many honest-looking parts adding up beyond the limit.
        let mut big = good;
        let mut at = 0;
        while let Some(p) = big[at..].windows(4).position(|w| w == b"PK\x01\x02") {
            let cd = at + p;
            let packed = u32::from_le_bytes(big[cd + 20..cd + 24].try_into().unwrap());
            let declared = (packed.max(1) * 150).max(200 << 20);
            big[cd + 20..cd + 24].copy_from_slice(&(declared / 150 + 1).to_le_bytes());
            big[cd + 24..cd + 28].copy_from_slice(&declared.to_le_bytes());
            at = cd + 4;
        }
        std::fs::write(&path, &big).unwrap();
        let err = read_workbook(&path).unwrap_err().to_string();
        assert!(err.contains("MiB a plan workbook may hold"), "{err}");
    }
}
