//! The round trip the issue asks for: `plan` → edit the workbook programmatically (delete rows,
//! change an extension, add an option, switch a row off, reorder columns, add a notes column,
//! change the Configuration) → `download` against the simulator → the ledger and the files
//! match the edited plan exactly. Then a second edit (one more row removed) → `download` again:
//! nothing is requested again, the removed row's tasks are `dropped`, its files stay.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use onc_hydro::engine::{Ledger, TaskId, TaskRow, TaskSpec, TaskState, LEDGER_FILE};
use onc_hydro::plan::{self, Cell, Column, SheetKind};
use onc_hydro::sim::{SimConfig, SimServer, DEMO_TOKEN};

use super::plan_flow::rewrite;

async fn cli(sim: &SimServer, args: &[&str]) -> std::process::Output {
    let base = sim.base_url().to_string();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_onc-hydro"))
            .args(&args)
            .env("ONC_BASE_URL", base)
            .env("ONC_TOKEN", DEMO_TOKEN)
            .output()
            .expect("run onc-hydro")
    })
    .await
    .unwrap()
}

fn show(o: &std::process::Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ledger_tasks(out: &Path) -> Vec<TaskRow> {
    let ledger = Ledger::open_read_only(&out.join(LEDGER_FILE)).unwrap();
    let total = ledger.status().unwrap().total;
    let mut rows = Vec::new();
    let mut id = 0;
    while (rows.len() as u64) < total && id < 10_000 {
        id += 1;
        if let Some(r) = ledger.task(TaskId(id)).unwrap() {
            rows.push(r);
        }
    }
    rows
}

/// `product.ext source [from, to) options` of an order spec.
fn describe(spec: &TaskSpec) -> String {
    let TaskSpec::Order(o) = spec else {
        panic!("only orders expected, got {spec:?}")
    };
    let o = &o.order;
    let src = match &o.source {
        onc_hydro::api::DataSource::Device { device, .. } => device.as_str().to_string(),
        _ => String::new(),
    };
    let mut opts: Vec<String> = o.options.iter().map(|(k, v)| format!("{k}={v}")).collect();
    opts.sort();
    format!(
        "{}.{} {} {}..{} {}",
        o.product,
        o.extension,
        src,
        onc_hydro::api::format_onc(o.date_from),
        onc_hydro::api::format_onc(o.date_to),
        opts.join(",")
    )
}

/// Every file below `dir` (relative paths), ledger and summary excluded.
fn files_below(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_path_buf();
                let name = rel.to_string_lossy().to_string();
                if !name.starts_with("ledger.sqlite")
                    && name != "summary.json"
                    && name != onc_hydro::engine::LOCK_FILE
                    && !name.ends_with(".xlsx")
                {
                    out.insert(rel);
                }
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_edit_download_matches_the_edited_plan_exactly() {
    let sim = SimServer::start(SimConfig {
        time_scale: 0.001,
        audio_sample_rate_override: Some(2000),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = data.join("download.xlsx");
    let f = file.to_str().unwrap();
    let o = cli(
        &sim,
        &[
            "plan",
            "--out",
            data.to_str().unwrap(),
            "--location",
            "BACAX",
            "--method",
            "by-device",
            "--from",
            "2024-03-31T23:50:00Z",
            "--to",
            "2024-04-01T00:10:00Z",
        ],
    )
    .await;
    assert!(o.status.success(), "{}", show(&o));

    // --- The researcher's edits. ---
    let mut book = plan::read_workbook(&file).unwrap();
    let (kind, t) = &mut book.requests[0];
    assert_eq!(*kind, SheetKind::ByDevice);
    let col = |t: &plan::Table, c: Column| t.column_index(c).unwrap();
    let row_of = |t: &plan::Table, dev: &str, prod: &str, ext: &str| {
        t.rows
            .iter()
            .position(|r| {
                r.get(col(t, Column::DeviceCode)).as_text() == dev
                    && r.get(col(t, Column::DataProductCode)).as_text() == prod
                    && r.get(col(t, Column::Extension)).as_text() == ext
            })
            .unwrap_or_else(|| panic!("no row {dev} {prod}.{ext}"))
    };
    let listed: BTreeSet<String> = t
        .rows
        .iter()
        .map(|r| {
            format!(
                "{} {}.{}",
                r.get(col(t, Column::DeviceCode)).as_text(),
                r.get(col(t, Column::DataProductCode)).as_text(),
                r.get(col(t, Column::Extension)).as_text()
            )
        })
        .collect();
    assert_eq!(
        listed.iter().map(String::as_str).collect::<Vec<_>>(),
        [
            "ICLISTENHF1560 AD.flac",
            "ICLISTENHF1560 AD.mp3",
            "ICLISTENHF1560 AD.wav",
            "ICLISTENHF1560 HSD.mat",
            "ICLISTENHF1560 HSD.pdf",
            "ICLISTENHF1560 HSD.png",
            "RDIADCP600WH25471 LF.txt",
            "SBECTD19p7128 LF.txt",
            "SBECTD19p7128 TSSD.csv",
            "SBECTD19p7128 TSSD.json",
        ]
    );
    // Delete HSD (heavy; the MAT, the PDF and the PNG plots), AD mp3 and AD flac; turn AD wav into flac with one more option; add an option
    // to TSSD csv; switch the ADCP log off.
    let hsd = row_of(t, "ICLISTENHF1560", "HSD", "mat");
    t.rows.remove(hsd);
    let hsd_png = row_of(t, "ICLISTENHF1560", "HSD", "png");
    t.rows.remove(hsd_png);
    let hsd_pdf = row_of(t, "ICLISTENHF1560", "HSD", "pdf");
    t.rows.remove(hsd_pdf);
    let mp3 = row_of(t, "ICLISTENHF1560", "AD", "mp3");
    t.rows.remove(mp3);
    let flac = row_of(t, "ICLISTENHF1560", "AD", "flac");
    t.rows.remove(flac);
    let wav = row_of(t, "ICLISTENHF1560", "AD", "wav");
    let (ext, opts, dl) = (
        col(t, Column::Extension),
        col(t, Column::Options),
        col(t, Column::Download),
    );
    t.rows[wav].cells[ext] = Cell::text("flac");
    t.rows[wav].cells[opts] =
        Cell::text("dpo_audioDownsample=-1; dpo_hydrophoneDataDiversionMode=All");
    let csv = row_of(t, "SBECTD19p7128", "TSSD", "csv");
    let before = t.rows[csv].get(opts).as_text();
    // The real TSSD csv options and defaults (dataProducts snapshot).
    assert_eq!(
        before,
        "dpo_dataGaps=0, dpo_filePlotBreaks=2, dpo_hydrophoneAcquisitionMode=All, dpo_qualityControl=1, dpo_resample=none, dpo_sensorstoinclude=1"
    );
    t.rows[csv].cells[opts] = Cell::text(before.replace("dpo_dataGaps=0", "dpo_dataGaps=1"));
    let adcp = row_of(t, "RDIADCP600WH25471", "LF", "txt");
    t.rows[adcp].cells[dl] = Cell::text("N");
    // Reorder the columns (reverse) and add a notes column.
    let width = t.headers.len();
    t.headers.reverse();
    t.headers.push("notes".into());
    for r in &mut t.rows {
        r.cells.resize(width, Cell::Empty);
        r.cells.reverse();
        r.cells.push(Cell::text("edited"));
    }
    // Configuration: split by day (the period crosses midnight), fewer slots.
    let cfg = book.config.as_mut().unwrap();
    for r in &mut cfg.rows {
        match r.get(0).as_text().as_str() {
            "splitDateRange" => r.cells[1] = Cell::text("day"),
            "runThreads" => r.cells[1] = Cell::Number(2.0),
            "downloadThreads" => r.cells[1] = Cell::Number(3.0),
            _ => {}
        }
    }
    rewrite(&file, &book);

    // --- Download. ---
    let o = cli(
        &sim,
        &["download", f, "--quiet", "--server-time-scale", "0.001"],
    )
    .await;
    assert!(o.status.success(), "{}", show(&o));

    // The ledger holds exactly the edited plan: 4 rows marked Y × 2 days.
    let tasks = ledger_tasks(&data);
    let got: BTreeSet<String> = tasks.iter().map(|t| describe(&t.spec)).collect();
    let days = [
        ("2024-03-31T23:50:00.000Z", "2024-04-01T00:00:00.000Z"),
        ("2024-04-01T00:00:00.000Z", "2024-04-01T00:10:00.000Z"),
    ];
    let mut want = BTreeSet::new();
    for (a, b) in days {
        want.insert(format!("AD.flac ICLISTENHF1560 {a}..{b} dpo_audioDownsample=-1,dpo_hydrophoneDataDiversionMode=All"));
        want.insert(format!(
            "LF.txt SBECTD19p7128 {a}..{b} dpo_dataGaps=1,dpo_qualityControl=1,dpo_resample=none"
        ));
        want.insert(format!("TSSD.csv SBECTD19p7128 {a}..{b} dpo_dataGaps=1,dpo_filePlotBreaks=2,dpo_hydrophoneAcquisitionMode=All,dpo_qualityControl=1,dpo_resample=none,dpo_sensorstoinclude=1"));
        want.insert(format!("TSSD.json SBECTD19p7128 {a}..{b} dpo_dataGaps=0,dpo_jsonOutputEncoding=OM,dpo_qualityControl=1,dpo_resample=none,dpo_sensorstoinclude=1,dpo_tsunamiKBfilter1=0,dpo_tsunamiKBfilter2=0"));
    }
    assert_eq!(got, want);
    assert!(
        tasks.iter().all(|t| t.state == TaskState::Done),
        "{:?}",
        tasks
            .iter()
            .map(|t| (t.label.clone(), t.state))
            .collect::<Vec<_>>()
    );

    // The files on disk are exactly the ledger's files, each in its task's folder, sizes equal.
    let ledger = Ledger::open_read_only(&data.join(LEDGER_FILE)).unwrap();
    let mut recorded = BTreeSet::new();
    let mut per_task: BTreeMap<String, usize> = BTreeMap::new();
    for t in &tasks {
        let TaskSpec::Order(o) = &t.spec else {
            unreachable!()
        };
        let folder = o.folder.clone().unwrap();
        let files = ledger.files_of(t.id).unwrap();
        assert!(files.len() >= 2, "data + meta for {}: {files:?}", t.label);
        for f in files {
            let rel = PathBuf::from(f.path.clone().expect("a done file has a path"));
            assert!(rel.starts_with(&folder), "{rel:?} outside {folder}");
            let len = std::fs::metadata(data.join(&rel)).unwrap().len();
            assert_eq!(Some(len), f.size, "{rel:?}");
            recorded.insert(rel);
        }
        *per_task
            .entry(format!(
                "{}.{}",
                o.order.product.as_str(),
                o.order.extension
            ))
            .or_default() += 1;
    }
    assert_eq!(files_below(&data), recorded, "no stray or missing files");
    assert!(
        !recorded.iter().any(|p| p.to_string_lossy().contains("HSD")),
        "deleted row not fetched"
    );
    assert!(
        !recorded
            .iter()
            .any(|p| p.to_string_lossy().contains("RDIADCP")),
        "row marked N not fetched"
    );
    let requests_before = sim
        .request_log()
        .iter()
        .filter(|r| r.path.ends_with("dataProductDelivery/request"))
        .count();
    assert_eq!(requests_before, 8);

    // --- Second edit: remove the TSSD json row; run again. ---
    let mut book = plan::read_workbook(&file).unwrap();
    let t = &mut book.requests[0].1;
    let json = row_of(t, "SBECTD19p7128", "TSSD", "json");
    t.rows.remove(json);
    rewrite(&file, &book);
    let o = cli(
        &sim,
        &["download", f, "--quiet", "--server-time-scale", "0.001"],
    )
    .await;
    assert!(o.status.success(), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("2 dropped"),
        "{}",
        show(&o)
    );
    let requests_after = sim
        .request_log()
        .iter()
        .filter(|r| r.path.ends_with("dataProductDelivery/request"))
        .count();
    assert_eq!(
        requests_after, requests_before,
        "finished work is not requested again"
    );
    let tasks = ledger_tasks(&data);
    let dropped: Vec<String> = tasks
        .iter()
        .filter(|t| t.state == TaskState::Dropped)
        .map(|t| describe(&t.spec))
        .collect();
    assert_eq!(dropped.len(), 2);
    assert!(
        dropped.iter().all(|d| d.starts_with("TSSD.json")),
        "{dropped:?}"
    );
    assert_eq!(
        tasks.iter().filter(|t| t.state == TaskState::Done).count(),
        6
    );
    assert_eq!(files_below(&data), recorded, "files are never deleted");
}
