//! Unit tests across the workbook's write → read → validate → tasks path, on real .xlsx files
//! in a temporary folder (no network): round trip, researcher edits, and the all-problems report.

use jiff::Timestamp;

use super::model::deployment_key;
use super::validate::{column_letter, parse_time_cell};
use super::workbook::{append_rows, config_table, excel_serial};
use super::*;
use crate::api::{DataSource, LocationCode};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn offerings() -> Offerings {
    let mut o = Offerings::default();
    let hsd = ProductSpec {
        name: Some("Hydrophone Spectral Data".into()),
        help_document: Some("https://wiki.oceannetworks.ca/display/DP/45".into()),
        options: vec![
            OptionSpec {
                name: "dpo_hydrophoneDataDiversionMode".into(),
                allowed: vec!["OD".into(), "LPF".into(), "HPF".into(), "All".into()],
                default: Some("OD".into()),
                ..Default::default()
            },
            OptionSpec {
                name: "dpo_lowerColourLimit".into(),
                allowed: vec!["-1000".into()],
                range: Some((-160.0, 140.0)),
                only_integers: false,
                default: Some("-1000".into()),
                documentation: Some("https://wiki.oceannetworks.ca/display/DP/Spectrogram".into()),
            },
        ],
    };
    let ad = ProductSpec {
        name: Some("Audio Data".into()),
        help_document: Some("https://wiki.oceannetworks.ca/display/DP/7".into()),
        options: vec![OptionSpec {
            name: "dpo_audioDownsample".into(),
            allowed: vec!["-1".into(), "16000".into()],
            default: Some("-1".into()),
            ..Default::default()
        }],
    };
    for src in [
        SourceKey::Device("ICLISTENHF6324".into()),
        SourceKey::LocationCategory("BACAX".into(), "HYDROPHONE".into()),
    ] {
        o.add(src.clone(), ("HSD".into(), "mat".into()), hsd.clone());
        o.add(src.clone(), ("HSD".into(), "png".into()), hsd.clone());
        o.add(src.clone(), ("AD".into(), "flac".into()), ad.clone());
        o.add(src, ("AD".into(), "wav".into()), ad.clone());
    }
    o
}

fn row(sheet: SheetKind, product: &str, ext: &str, begin: &str, end: &str) -> PlanRow {
    let o = offerings();
    let spec = o.products[&(product.into(), ext.to_string())].clone();
    PlanRow {
        sheet,
        location_code: "BACAX".into(),
        location_name: Some("Axis".into()),
        device_category_code: "HYDROPHONE".into(),
        device_category_name: Some("Hydrophone".into()),
        device_code: "ICLISTENHF6324".into(),
        device_name: Some("icListen HF 6324".into()),
        property_code: None,
        download: true,
        begin: ts(begin),
        end: ts(end),
        lat: Some(48.316758),
        lon: Some(-126.050183),
        depth: Some(981.0),
        product: product.into(),
        product_name: spec.name.clone(),
        extension: ext.into(),
        options: spec.default_options(),
        help_document: spec.help_document.clone(),
        data_search_url: Some(
            "https://data.oceannetworks.ca/DataSearch?location=BACAX&deviceCategory=HYDROPHONE"
                .into(),
        ),
        device_listing_url: Some("https://data.oceannetworks.ca/DeviceListing?DeviceId=23".into()),
        deployment_key: deployment_key(
            &LocationCode::new("BACAX"),
            &"ICLISTENHF6324".into(),
            Some(ts(begin)),
        ),
    }
}

fn sample_workbook() -> PlanWorkbook {
    let mut loc = empty_request_table(SheetKind::ByLocation);
    let mut dev = empty_request_table(SheetKind::ByDevice);
    append_rows(
        &mut loc,
        &[
            row(
                SheetKind::ByLocation,
                "HSD",
                "mat",
                "2024-01-01T00:00:00.250Z",
                "2024-01-03T00:00:00Z",
            ),
            row(
                SheetKind::ByLocation,
                "AD",
                "flac",
                "2024-01-01T00:00:00.250Z",
                "2024-01-03T00:00:00Z",
            ),
        ],
    );
    append_rows(
        &mut dev,
        &[
            row(
                SheetKind::ByDevice,
                "HSD",
                "mat",
                "2024-01-01T00:00:00.250Z",
                "2024-01-03T00:00:00Z",
            ),
            row(
                SheetKind::ByDevice,
                "AD",
                "wav",
                "2024-01-01T00:00:00.250Z",
                "2024-01-03T00:00:00Z",
            ),
            row(
                SheetKind::ByDevice,
                "HSD",
                "png",
                "2024-01-02T00:00:00Z",
                "2024-01-02T06:00:00Z",
            ),
        ],
    );
    PlanWorkbook {
        requests: vec![(SheetKind::ByLocation, loc), (SheetKind::ByDevice, dev)],
        config: Config {
            download_folder: "data".into(),
            split: SplitRange::Day,
            ..Config::default()
        },
        offerings: offerings(),
    }
}

fn write_and_read(dir: &std::path::Path, wb: &PlanWorkbook) -> ReadBook {
    let path = dir.join("plan.xlsx");
    write_workbook(&path, wb).unwrap();
    read_workbook(&path).unwrap()
}

#[test]
fn workbook_round_trips_rows_dates_config_and_offerings() {
    let dir = tempfile::tempdir().unwrap();
    let wb = sample_workbook();
    let book = write_and_read(dir.path(), &wb);
    assert_eq!(book.requests.len(), 2);
    let (kind, loc) = &book.requests[0];
    assert_eq!(*kind, SheetKind::ByLocation);
    assert_eq!(loc.headers, wb.requests[0].1.headers);
    assert_eq!(loc.rows.len(), 2);
    assert_eq!(loc.rows[0].excel_row, 2);
    let begin_col = loc.column_index(Column::Begin).unwrap();
    // Dates come back as real date cells, to the millisecond.
    assert_eq!(
        loc.rows[0].get(begin_col),
        &Cell::Date(ts("2024-01-01T00:00:00.250Z"))
    );
    assert_eq!(recorded_offerings(&book), wb.offerings);
    let plan = validate(&book, &recorded_offerings(&book)).unwrap();
    assert_eq!(plan.config, wb.config);
    assert_eq!(plan.rows.len(), 5);
    assert_eq!(
        plan.rows[0].options,
        vec![
            (
                "dpo_hydrophoneDataDiversionMode".to_string(),
                "OD".to_string()
            ),
            ("dpo_lowerColourLimit".to_string(), "-1000".to_string())
        ]
    );
    assert!(matches!(plan.rows[0].source, DataSource::Location { .. }));
    assert!(matches!(plan.rows[2].source, DataSource::Device { .. }));
    // Two days split by day → 2 tasks per full row, the 6-hour row → 1.
    let tasks = plan_tasks(&plan);
    assert_eq!(tasks.len(), 2 + 2 + 2 + 2 + 1);
    assert_eq!(tasks[0].order.date_from, ts("2024-01-01T00:00:00.250Z"));
    assert_eq!(tasks[0].order.date_to, ts("2024-01-02T00:00:00Z"));
}

#[test]
fn researcher_edits_are_read_by_header_name() {
    let dir = tempfile::tempdir().unwrap();
    let book = write_and_read(dir.path(), &sample_workbook());
    let mut requests = book.requests.clone();
    let (_, dev) = &mut requests[1];
    // Delete the AD wav row, turn the HSD png row into AD flac with a non-default option,
    // change an option value, reverse the column order and add a notes column.
    dev.rows.remove(1);
    let ext = dev.column_index(Column::Extension).unwrap();
    let prod = dev.column_index(Column::DataProductCode).unwrap();
    let opts = dev.column_index(Column::Options).unwrap();
    dev.rows[1].cells[prod] = Cell::text("AD");
    dev.rows[1].cells[ext] = Cell::text("flac");
    dev.rows[1].cells[opts] = Cell::text("dpo_audioDownsample=16000");
    dev.rows[0].cells[opts] =
        Cell::text("dpo_hydrophoneDataDiversionMode=All; dpo_lowerColourLimit=-120");
    dev.headers.reverse();
    for r in &mut dev.rows {
        r.cells.resize(dev.headers.len(), Cell::Empty);
        r.cells.reverse();
    }
    dev.headers.push("my notes".into());
    dev.rows[0].cells.push(Cell::text("check calibration"));
    let edited = PlanWorkbook {
        requests,
        config: validate(&book, &recorded_offerings(&book)).unwrap().config,
        offerings: recorded_offerings(&book),
    };
    let dir2 = tempfile::tempdir().unwrap();
    let again = write_and_read(dir2.path(), &edited);
    assert_eq!(again.requests[1].1.headers.last().unwrap(), "my notes");
    let plan = validate(&again, &recorded_offerings(&again)).unwrap();
    let dev_rows: Vec<&RequestRow> = plan
        .rows
        .iter()
        .filter(|r| r.sheet == SheetKind::ByDevice)
        .collect();
    assert_eq!(dev_rows.len(), 2);
    assert_eq!(dev_rows[0].options.len(), 2);
    assert_eq!(dev_rows[0].options[1].1, "-120");
    assert_eq!(
        (dev_rows[1].product.as_str(), dev_rows[1].extension.as_str()),
        ("AD", "flac")
    );
    assert_eq!(dev_rows[1].begin, ts("2024-01-02T00:00:00Z"));
    assert_eq!(dev_rows[1].excel_row, 3);
}

#[test]
fn every_bad_row_is_reported_with_sheet_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let book = write_and_read(dir.path(), &sample_workbook());
    let mut requests = book.requests.clone();
    {
        let (_, loc) = &mut requests[0];
        let c = |c: Column| loc.column_index(c).unwrap();
        let (ext, end, dl, opts, prod) = (
            c(Column::Extension),
            c(Column::End),
            c(Column::Download),
            c(Column::Options),
            c(Column::DataProductCode),
        );
        loc.rows[0].cells[ext] = Cell::text("mp3"); // not offered
        loc.rows[0].cells[end] = Cell::Date(ts("2023-12-31T00:00:00Z")); // before begin
        loc.rows[1].cells[dl] = Cell::text("maybe"); // unknown flag
        loc.rows[1].cells[opts] = Cell::text("dpo_audioDownsample 5, resample=none"); // syntax ×2
        loc.push(loc.rows[0].cells.clone());
        loc.rows[2].cells[ext] = Cell::text("mat");
        loc.rows[2].cells[prod] = Cell::text("XYZ"); // unknown product
        loc.rows[2].cells[end] = Cell::text("soon"); // bad date
    }
    {
        let (_, dev) = &mut requests[1];
        let opts = dev.column_index(Column::Options).unwrap();
        dev.rows[0].cells[opts] = Cell::text("dpo_hydrophoneDataDiversionMode=XX");
        // bad value
    }
    let mut config = config_table(&Config::default());
    config.rows[1].cells[1] = Cell::text("fortnight");
    config.push(vec![Cell::text("token"), Cell::text("abc")]);
    let edited = PlanWorkbook {
        requests,
        config: Config::default(),
        offerings: offerings(),
    };
    let dir2 = tempfile::tempdir().unwrap();
    let mut again = write_and_read(dir2.path(), &edited);
    again.config = Some(config);
    let report = validate(&again, &recorded_offerings(&again)).unwrap_err();
    let lines: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
    let text = lines.join("\n");
    assert_eq!(report.problems.len(), 9, "{text}");
    let find = |needle: &str| {
        report
            .problems
            .iter()
            .find(|p| p.message.contains(needle))
            .unwrap_or_else(|| panic!("no problem mentioning {needle}:\n{text}"))
    };
    let p = find("not after begin");
    assert_eq!((p.sheet.as_str(), p.row), ("By Location", Some(2)));
    assert_eq!(p.column.as_ref().unwrap().1, "end");
    assert_eq!(find("maybe").row, Some(3));
    assert_eq!(find("maybe").column.as_ref().unwrap().1, "download");
    assert_eq!(
        find("dpo_audioDownsample 5").column.as_ref().unwrap().1,
        "data product options"
    );
    find("resample");
    assert_eq!(find("soon").row, Some(4));
    assert_eq!(find("fortnight").sheet, "Configuration");
    let xx = find("=XX");
    assert_eq!((xx.sheet.as_str(), xx.row), ("By Device", Some(2)));
    assert_eq!(
        report.warnings.len(),
        1,
        "the token row is ignored with a warning"
    );
    // Offerings are checked even on rows with other problems, naming the column at fault.
    let p = report
        .problems
        .iter()
        .find(|p| p.message.contains("mp3"))
        .expect("mp3 reported");
    assert_eq!(p.column.as_ref().unwrap().1, "extension");
    assert!(p.message.contains("AD.flac"), "{p}");
    let p = report
        .problems
        .iter()
        .find(|p| p.message.contains("XYZ"))
        .expect("XYZ reported");
    assert_eq!(p.column.as_ref().unwrap().1, "dataProductCode");
}

#[test]
fn missing_required_columns_and_times_of_day() {
    let dir = tempfile::tempdir().unwrap();
    let mut wb = sample_workbook();
    let (_, dev) = &mut wb.requests[1];
    let i = dev.column_index(Column::Extension).unwrap();
    dev.headers.remove(i);
    for r in &mut dev.rows {
        r.cells.remove(i);
    }
    wb.config.begin_run = jiff::civil::time(22, 0, 0, 0);
    wb.config.end_run = jiff::civil::time(6, 0, 0, 0);
    let book = write_and_read(dir.path(), &wb);
    let report = validate(&book, &recorded_offerings(&book)).unwrap_err();
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].row, Some(1));
    assert!(report.problems[0].message.contains("'extension'"));
    let mut r = Report::default();
    let cfg = validate::parse_config(book.config.as_ref().unwrap(), &mut r);
    assert_eq!(
        cfg.run_window(),
        Some((
            jiff::civil::time(22, 0, 0, 0),
            jiff::civil::time(6, 0, 0, 0)
        ))
    );
    // A time typed into Excel arrives as a day fraction.
    let mut t = config_table(&Config::default());
    t.rows[6].cells[1] = Cell::Number(0.75);
    let cfg = validate::parse_config(&t, &mut r);
    assert_eq!(cfg.begin_run, jiff::civil::time(18, 0, 0, 0));
    assert!(r.problems.is_empty(), "{:?}", r.problems);
}

#[test]
fn time_cells_accept_excel_and_onc_shapes() {
    let want = ts("2011-07-13T00:00:00Z");
    for c in [
        Cell::text("2011-07-13 0:00:00"),
        Cell::text("2011-07-13T00:00:00.000Z"),
        Cell::text("2011-07-13"),
        Cell::Number(excel_serial(want)),
        Cell::Date(want),
    ] {
        assert_eq!(parse_time_cell(&c), Ok(want), "{c:?}");
    }
    assert!(parse_time_cell(&Cell::Empty).is_err());
    assert!(parse_time_cell(&Cell::text("13/07/2011")).is_err());
    assert_eq!(column_letter(0), "A");
    assert_eq!(column_letter(25), "Z");
    assert_eq!(column_letter(27), "AB");
}
