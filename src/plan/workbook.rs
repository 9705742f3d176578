//! Writing the plan workbook with rust_xlsxwriter: the request sheets ('By Location',
//! 'By Device': request columns in bold, real date cells, links, frozen header row, sensible
//! widths, autofilter), 'Configuration', 'Product options' (each product's `dpo_*` options
//! with allowed values and defaults) and 'Offerings' (what each device or category offers, so a
//! dry run can validate without the network). Written to a temporary file, then renamed.
//!
//! Must not know: discovery or downloads. Sheets are generic tables ([`Table`]) so a workbook
//! read back (edited, reordered, with extra columns) is rewritten as the researcher left it.

use std::path::Path;

use jiff::Timestamp;
use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, Url, Workbook, Worksheet};

use super::error::PlanError;
use super::model::{weekday_code, Column, Config, Offerings, PlanRow, SheetKind, SourceKey};
use super::options::format_options;

/// The Configuration sheet (settings such as `downloadFolder`; never the token).
pub const CONFIG_SHEET: &str = "Configuration";
/// Sheet listing each product's `dpo_*` options, their allowed values and defaults.
pub const PRODUCT_OPTIONS_SHEET: &str = "Product options";
/// Sheet recording which products each source offers (used to validate edits offline).
pub const OFFERINGS_SHEET: &str = "Offerings";

/// A cell value, independent of the xlsx libraries.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A blank cell.
    Empty,
    /// A string cell.
    Text(String),
    /// A numeric cell.
    Number(f64),
    /// A TRUE/FALSE cell.
    Bool(bool),
    /// A real date cell (UTC).
    Date(Timestamp),
}

impl Cell {
    /// Text for non-empty strings, `Empty` otherwise.
    pub fn text(s: impl Into<String>) -> Cell {
        let s = s.into();
        if s.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(s)
        }
    }

    fn opt_text(s: Option<&str>) -> Cell {
        s.map(Cell::text).unwrap_or(Cell::Empty)
    }

    fn opt_num(x: Option<f64>) -> Cell {
        x.filter(|v| v.is_finite())
            .map(Cell::Number)
            .unwrap_or(Cell::Empty)
    }

    /// True for an empty cell or blank text.
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as display text (numbers without a trailing `.0`).
    pub fn as_text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.trim().to_string(),
            Cell::Number(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", *x as i64),
            Cell::Number(x) => x.to_string(),
            Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Cell::Date(t) => crate::api::format_onc(*t),
        }
    }
}

/// One row as read or to be written, with its 1-based Excel row number.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    /// 1-based Excel row (2 = first row under the header).
    pub excel_row: u32,
    /// Cells from column A on.
    pub cells: Vec<Cell>,
}

impl TableRow {
    /// The cell in column `i` (`Empty` past the end).
    pub fn get(&self, i: usize) -> &Cell {
        self.cells.get(i).unwrap_or(&Cell::Empty)
    }

    /// True when every cell is blank.
    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(Cell::is_blank)
    }
}

/// A sheet as a header row plus data rows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// The sheet's name.
    pub name: String,
    /// Row 1, as written.
    pub headers: Vec<String>,
    /// Data rows under the header.
    pub rows: Vec<TableRow>,
}

impl Table {
    /// Index of the column whose header names `c` (tolerant match).
    pub fn column_index(&self, c: Column) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| Column::from_header(h) == Some(c))
    }

    /// Index of a header by loose name (for the non-request sheets).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        let n = super::model::normalize_header(name);
        self.headers
            .iter()
            .position(|h| super::model::normalize_header(h) == n)
    }

    /// Appends a row, numbering it after the last one.
    pub fn push(&mut self, cells: Vec<Cell>) {
        let excel_row = self.rows.last().map(|r| r.excel_row + 1).unwrap_or(2);
        self.rows.push(TableRow { excel_row, cells });
    }
}

/// Everything a workbook holds.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanWorkbook {
    /// 'By Location' and/or 'By Device'.
    pub requests: Vec<(SheetKind, Table)>,
    /// The Configuration sheet.
    pub config: Config,
    /// The Offerings and Product options sheets.
    pub offerings: Offerings,
}

/// A fresh request sheet with the standard columns.
pub fn empty_request_table(kind: SheetKind) -> Table {
    Table {
        name: kind.sheet_name().to_string(),
        headers: kind
            .columns()
            .iter()
            .map(|c| c.header().to_string())
            .collect(),
        rows: Vec::new(),
    }
}

/// Appends discovered rows to a request sheet, following the sheet's own column order
/// (columns the researcher deleted are skipped, extra columns left blank).
pub fn append_rows(table: &mut Table, rows: &[PlanRow]) {
    for row in rows {
        let cells = table
            .headers
            .iter()
            .map(|h| match Column::from_header(h) {
                Some(c) => row_cell(row, c),
                None => Cell::Empty,
            })
            .collect();
        table.push(cells);
    }
}

fn row_cell(r: &PlanRow, c: Column) -> Cell {
    match c {
        Column::LocationCode => Cell::text(r.location_code.as_str()),
        Column::LocationName => Cell::opt_text(r.location_name.as_deref()),
        Column::DeviceCategoryCode => Cell::text(r.device_category_code.as_str()),
        Column::DeviceCategoryName => Cell::opt_text(r.device_category_name.as_deref()),
        Column::DeviceCode => Cell::text(r.device_code.as_str()),
        Column::DeviceName => Cell::opt_text(r.device_name.as_deref()),
        Column::PropertyCode => Cell::opt_text(r.property_code.as_ref().map(|p| p.as_str())),
        Column::Download => Cell::text(if r.download { "Y" } else { "N" }),
        Column::Begin => Cell::Date(r.begin),
        Column::End => Cell::Date(r.end),
        Column::Latitude => Cell::opt_num(r.lat),
        Column::Longitude => Cell::opt_num(r.lon),
        Column::Depth => Cell::opt_num(r.depth),
        Column::DataProductCode => Cell::text(r.product.as_str()),
        Column::DataProductName => Cell::opt_text(r.product_name.as_deref()),
        Column::Extension => Cell::text(r.extension.as_str()),
        Column::Options => Cell::text(format_options(&r.options)),
        Column::HelpDocument => Cell::opt_text(r.help_document.as_deref()),
        Column::DataSearch => Cell::opt_text(r.data_search_url.as_deref()),
        Column::DeviceListing => Cell::opt_text(r.device_listing_url.as_deref()),
        Column::DeploymentKey => Cell::text(r.deployment_key.as_str()),
    }
}

/// The Configuration sheet as a table (setting, value, description).
pub fn config_table(c: &Config) -> Table {
    let mut t = Table {
        name: CONFIG_SHEET.to_string(),
        headers: vec!["setting".into(), "value".into(), "description".into()],
        rows: Vec::new(),
    };
    let queue = match c.download_queue_size {
        None => Cell::text("unlimited"),
        Some(n) => Cell::Number(n as f64),
    };
    let lines: [(&str, Cell, &str); 8] = [
        ("downloadFolder", Cell::text(c.download_folder.as_str()), "Folder the files are saved to (relative paths are relative to this workbook's folder)."),
        ("splitDateRange", Cell::text(c.split.as_str()), "How each row's [begin, end) is split into requests: all, year, month, week, day (UTC calendar)."),
        ("dayOfWeek", Cell::text(weekday_code(c.day_of_week)), "MO, TU, WE, TH, FR, SA, SU: first day of a week when splitDateRange = week."),
        ("runThreads", Cell::Number(c.run_threads as f64), "Data-product requests running at once. ONC: 4 per user does not clog the queue; more hurts other users."),
        ("downloadThreads", Cell::Number(c.download_threads as f64), "Concurrent file downloads."),
        ("downloadQueueSize", queue, "Pending-download queue size: a number or unlimited."),
        ("beginRun", Cell::text(fmt_time(c.begin_run)), "UTC time of day to begin starting requests (HH:MM:SS). Equal to endRun = any time."),
        ("endRun", Cell::text(fmt_time(c.end_run)), "UTC time of day to stop starting requests, e.g. beginRun 22:00:00, endRun 06:00:00."),
    ];
    for (k, v, d) in lines {
        t.push(vec![Cell::text(k), v, Cell::text(d)]);
    }
    t.push(vec![
        Cell::text("note"),
        Cell::Empty,
        Cell::text("All times are UTC. The API token is never stored here: set ONC_TOKEN (environment or .env)."),
    ]);
    t
}

fn fmt_time(t: jiff::civil::Time) -> String {
    format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
}

/// The Product options sheet: one line per product/extension option.
pub fn product_options_table(o: &Offerings) -> Table {
    let mut t = Table {
        name: PRODUCT_OPTIONS_SHEET.to_string(),
        headers: [
            "dataProductCode",
            "extension",
            "dataProductName",
            "option",
            "allowableValues",
            "lowerBound",
            "upperBound",
            "onlyIntegers",
            "defaultValue",
            "documentation",
            "helpDocument",
        ]
        .map(String::from)
        .to_vec(),
        rows: Vec::new(),
    };
    for ((code, ext), spec) in &o.products {
        let head = |t: &mut Table, opt: Vec<Cell>| {
            let mut cells = vec![
                Cell::text(code.as_str()),
                Cell::text(ext.as_str()),
                Cell::opt_text(spec.name.as_deref()),
            ];
            cells.extend(opt);
            cells.push(Cell::opt_text(spec.help_document.as_deref()));
            t.push(cells);
        };
        if spec.options.is_empty() {
            head(
                &mut t,
                vec![
                    Cell::text("(no options)"),
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Empty,
                ],
            );
        }
        for opt in &spec.options {
            let (lo, hi) = match opt.range {
                Some((lo, hi)) => (Cell::Number(lo), Cell::Number(hi)),
                None => (Cell::Empty, Cell::Empty),
            };
            head(
                &mut t,
                vec![
                    Cell::text(opt.name.as_str()),
                    Cell::text(opt.allowed.join("|")),
                    lo,
                    hi,
                    if opt.range.is_some() {
                        Cell::Bool(opt.only_integers)
                    } else {
                        Cell::Empty
                    },
                    Cell::opt_text(opt.default.as_deref()),
                    Cell::opt_text(opt.documentation.as_deref()),
                ],
            );
        }
    }
    t
}

/// The Offerings sheet: which source offers which product/extension.
pub fn offerings_table(o: &Offerings) -> Table {
    let mut t = Table {
        name: OFFERINGS_SHEET.to_string(),
        headers: [
            "deviceCode",
            "locationCode",
            "deviceCategoryCode",
            "dataProductCode",
            "extension",
        ]
        .map(String::from)
        .to_vec(),
        rows: Vec::new(),
    };
    for (source, set) in &o.by_source {
        let (d, l, c) = match source {
            SourceKey::Device(d) => (Cell::text(d.as_str()), Cell::Empty, Cell::Empty),
            SourceKey::LocationCategory(l, c) => {
                (Cell::Empty, Cell::text(l.as_str()), Cell::text(c.as_str()))
            }
        };
        for (code, ext) in set {
            t.push(vec![
                d.clone(),
                l.clone(),
                c.clone(),
                Cell::text(code.as_str()),
                Cell::text(ext.as_str()),
            ]);
        }
    }
    t
}

/// Writes the whole workbook atomically (temporary file in the same folder, then rename).
pub fn write_workbook(path: &Path, wb: &PlanWorkbook) -> Result<(), PlanError> {
    let werr = |e: rust_xlsxwriter::XlsxError| PlanError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut book = Workbook::new();
    for (kind, table) in &wb.requests {
        let ws = book.add_worksheet();
        write_request_sheet(ws, *kind, table).map_err(werr)?;
    }
    write_plain_sheet(
        book.add_worksheet(),
        &config_table(&wb.config),
        &[22.0, 40.0, 100.0],
    )
    .map_err(werr)?;
    write_plain_sheet(
        book.add_worksheet(),
        &product_options_table(&wb.offerings),
        &[
            16.0, 10.0, 30.0, 34.0, 30.0, 11.0, 11.0, 12.0, 14.0, 44.0, 44.0,
        ],
    )
    .map_err(werr)?;
    write_plain_sheet(
        book.add_worksheet(),
        &offerings_table(&wb.offerings),
        &[24.0, 16.0, 20.0, 16.0, 10.0],
    )
    .map_err(werr)?;
    let bytes = book.save_to_buffer().map_err(werr)?;
    save_atomically(path, &bytes)
}

fn save_atomically(path: &Path, bytes: &[u8]) -> Result<(), PlanError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let io = |context: &'static str| {
        let path = path.to_path_buf();
        move |source: std::io::Error| PlanError::Io {
            context,
            path,
            source,
        }
    };
    std::fs::create_dir_all(&dir).map_err(io("cannot create the folder of"))?;
    crate::media::atomic::write_atomic(path, bytes).map_err(io("cannot write"))
}

/// Excel serial date (days since 1899-12-30) of a UTC time.
pub fn excel_serial(t: Timestamp) -> f64 {
    t.as_millisecond() as f64 / 86_400_000.0 + 25_569.0
}

/// The UTC time of an Excel serial date, rounded to the millisecond.
pub fn from_excel_serial(serial: f64) -> Option<Timestamp> {
    if !serial.is_finite() {
        return None;
    }
    let ms = ((serial - 25_569.0) * 86_400_000.0).round();
    if ms.abs() > 1e15 {
        return None;
    }
    Timestamp::from_millisecond(ms as i64).ok()
}

struct Formats {
    bold_header: Format,
    header: Format,
    date: Format,
}

fn formats() -> Formats {
    let base = Format::new()
        .set_background_color(0xDDEBF7)
        .set_align(FormatAlign::Center);
    Formats {
        bold_header: base.clone().set_bold(),
        header: base.set_italic(),
        date: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss.000"),
    }
}

fn write_request_sheet(
    ws: &mut Worksheet,
    kind: SheetKind,
    table: &Table,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    ws.set_name(kind.sheet_name())?;
    let f = formats();
    for (i, h) in table.headers.iter().enumerate() {
        let col = i as u16;
        let c = Column::from_header(h);
        let fmt = match c {
            Some(c) if kind.is_request_column(c) => &f.bold_header,
            _ => &f.header,
        };
        ws.write_string_with_format(0, col, h, fmt)?;
        ws.set_column_width(col, c.map(Column::width).unwrap_or(16.0))?;
    }
    let links: Vec<bool> = table
        .headers
        .iter()
        .map(|h| {
            matches!(
                Column::from_header(h),
                Some(Column::HelpDocument | Column::DataSearch | Column::DeviceListing)
            )
        })
        .collect();
    for (r, row) in table.rows.iter().enumerate() {
        let rn = (r + 1) as u32;
        for (i, cell) in row.cells.iter().enumerate() {
            let link = links.get(i).copied().unwrap_or(false);
            write_cell(ws, rn, i as u16, cell, &f, link)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    if !table.headers.is_empty() {
        ws.autofilter(
            0,
            0,
            table.rows.len() as u32,
            (table.headers.len() - 1) as u16,
        )?;
    }
    Ok(())
}

fn write_plain_sheet(
    ws: &mut Worksheet,
    table: &Table,
    widths: &[f64],
) -> Result<(), rust_xlsxwriter::XlsxError> {
    ws.set_name(table.name.as_str())?;
    let f = formats();
    for (i, h) in table.headers.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, h, &f.bold_header)?;
        ws.set_column_width(i as u16, widths.get(i).copied().unwrap_or(16.0))?;
    }
    for (r, row) in table.rows.iter().enumerate() {
        for (i, cell) in row.cells.iter().enumerate() {
            let link = matches!(cell, Cell::Text(s) if s.starts_with("http"));
            write_cell(ws, (r + 1) as u32, i as u16, cell, &f, link)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn write_cell(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    cell: &Cell,
    f: &Formats,
    link: bool,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    match cell {
        Cell::Empty => {}
        Cell::Text(s) if link && is_url(s) => {
            ws.write_url(row, col, Url::new(s.as_str()))?;
        }
        Cell::Text(s) => {
            ws.write_string(row, col, s)?;
        }
        Cell::Number(x) => {
            ws.write_number(row, col, *x)?;
        }
        Cell::Bool(b) => {
            ws.write_boolean(row, col, *b)?;
        }
        Cell::Date(t) => match ExcelDateTime::from_serial_datetime(excel_serial(*t)) {
            Ok(dt) => {
                ws.write_datetime_with_format(row, col, dt, &f.date)?;
            }
            Err(_) => {
                ws.write_string(row, col, crate::api::format_onc(*t))?;
            }
        },
    }
    Ok(())
}

fn is_url(s: &str) -> bool {
    (s.starts_with("http://") || s.starts_with("https://"))
        && s.len() < 2000
        && !s.chars().any(char::is_whitespace)
}
