//! The archive file endpoints: `archivefile/location`, `archivefile/device` (listings with
//! `fileExtension`, `returnOptions`, `rowLimit`, `page` paging with non-constant default page
//! sizes, overlap semantics, device → empty list vs location → 400/127 when nothing is
//! deployed) and `archivefile/download` (bytes; 400/96 unknown name, 400/128 without name).
//!
//! Fields of `returnOptions=all` rows beyond `filename`, `dateFrom`, `archiveLocation` and
//! `uncompressedFileSize` (`dateTo`, `dateArchived`, `fileSize`, `compression`, `modifyDate`,
//! `dataProductCode`, `deviceCode`) are guesses [?]. A reprocessed file (`sim/reprocess.rs`) is
//! listed with its new size and `modifyDate` = the time of its latest reprocessing, and
//! downloads with its new content.
//!
//! Must not know: job state, axum.

use jiff::Timestamp;
use serde_json::{json, Value};

use super::archive::{self, default_page_size, ArchiveFile};
use super::catalog::Catalog;
use super::clock::{from_ms, iso, ms, parse_date_value, DateValue};
use super::reply::{ApiError, ErrorCode, Reply};
use super::state::Ctx;

const LIST_KEYS: &[&str] = &[
    "method",
    "locationCode",
    "deviceCategoryCode",
    "deviceCode",
    "dateFrom",
    "dateTo",
    "dateArchivedFrom",
    "dateArchivedTo",
    "fileExtension",
    "dataProductCode",
    "returnOptions",
    "rowLimit",
    "page",
    "getLatest",
];

/// When a file was archived (deterministic: 15 minutes after its end).
fn archived_at(f: &ArchiveFile) -> Timestamp {
    from_ms(ms(f.end()) + 900_000)
}

fn product_code(f: &ArchiveFile) -> &'static str {
    if f.ext == "txt" {
        "LF"
    } else {
        "AD"
    }
}

fn archive_date(ctx: &Ctx, key: &str) -> Result<Option<Timestamp>, ApiError> {
    match ctx.params.get(key) {
        None => Ok(None),
        Some(v) => match parse_date_value(v) {
            Some(DateValue::At(t)) => Ok(Some(t)),
            _ => Err(ApiError::invalid(
                key,
                format!("Invalid date format for {key}: '{v}'"),
            )),
        },
    }
}

/// The files a listing request selects, before paging.
fn select(ctx: &Ctx, by_location: bool) -> Result<Vec<ArchiveFile>, ApiError> {
    let p = &ctx.params;
    p.check_names(LIST_KEYS)?;
    let cat = &ctx.sim.catalog;
    let now = ctx.now();
    if by_location {
        let missing: Vec<&str> = ["locationCode", "deviceCategoryCode"]
            .into_iter()
            .filter(|k| !p.has(k))
            .collect();
        if !missing.is_empty() {
            return Err(ApiError::missing(&missing));
        }
    } else {
        p.require("deviceCode")?;
    }
    let w = p.window(now)?;
    let mut files = Vec::new();
    if by_location {
        let lc = p.require("locationCode")?;
        let cc = p.require("deviceCategoryCode")?;
        cat.location(lc).ok_or_else(|| {
            ApiError::invalid("locationCode", format!("Invalid location code: {lc}"))
        })?;
        cat.category(cc).ok_or_else(|| {
            ApiError::invalid(
                "deviceCategoryCode",
                format!("Invalid device category code: {cc}"),
            )
        })?;
        let here: Vec<_> = cat
            .deployments
            .iter()
            .filter(|d| d.location == lc && cat.device(d.device).is_some_and(|x| x.category == cc))
            .collect();
        let during: Vec<_> = here
            .iter()
            .filter(|d| Catalog::overlaps(d, w.from, w.to))
            .collect();
        if during.is_empty() {
            let msg = if here.is_empty() {
                format!("there is no deployment of a device with category {cc} at location {lc}")
            } else {
                format!("A device with category {cc} was deployed at location {lc} but not during the provided time range")
            };
            return Err(ApiError::bad(
                ErrorCode::InvalidValue,
                msg,
                "locationCode,deviceCategoryCode,dateFrom,dateTo",
            ));
        }
        for d in during {
            if let Some(dev) = cat.device(d.device) {
                files.extend(archive::files_in_deployment(dev, d, w.from, w.to, now));
            }
        }
        files.sort_by(|a, b| (a.start, a.ext).cmp(&(b.start, b.ext)));
    } else {
        let dc = p.require("deviceCode")?;
        let dev = cat
            .device(dc)
            .ok_or_else(|| ApiError::invalid("deviceCode", format!("Invalid device code: {dc}")))?;
        files = archive::device_files(cat, dev, w.from, w.to, now);
    }
    if let Some(ext) = p.get("fileExtension") {
        files.retain(|f| f.ext.eq_ignore_ascii_case(ext.trim_start_matches('.')));
    }
    if let Some(dp) = p.get("dataProductCode") {
        cat.product(dp).ok_or_else(|| {
            ApiError::invalid(
                "dataProductCode",
                format!("Invalid data product code: {dp}"),
            )
        })?;
        files.retain(|f| product_code(f) == dp);
    }
    let (af, at) = (
        archive_date(ctx, "dateArchivedFrom")?,
        archive_date(ctx, "dateArchivedTo")?,
    );
    files.retain(|f| {
        af.is_none_or(|a| archived_at(f) >= a) && at.is_none_or(|a| archived_at(f) < a)
    });
    if p.flag("getLatest", false)? {
        let last = files.pop();
        files = last.into_iter().collect();
    }
    Ok(files)
}

/// `archivefile/location` / `archivefile/device` (and legacy `getListByLocation|Device`).
pub(crate) async fn list(ctx: &Ctx, by_location: bool) -> Result<Reply, ApiError> {
    let files = select(ctx, by_location)?;
    let p = &ctx.params;
    let mode = p.one_of("returnOptions", &["archiveLocation", "all"])?;
    let limit = p.positive("rowLimit")?;
    let page = p.positive("page")?.unwrap_or(1);
    let page_len = |n: usize| limit.unwrap_or_else(|| default_page_size(n));
    let offset: usize = (1..page).map(page_len).sum();
    let end = (offset + page_len(page)).min(files.len());
    let slice = if offset < files.len() {
        &files[offset..end]
    } else {
        &[][..]
    };
    let more = end < files.len();
    let mut rows = Vec::with_capacity(slice.len());
    for f in slice {
        let (f, reprocessed) = ctx.sim.current(f.clone());
        let f = &f;
        let name = f.name();
        let location = format!(
            "/archive/{}/{}/{}",
            product_code(f),
            f.device,
            &iso(f.start)[..7]
        );
        rows.push(match mode {
            None => json!(name),
            Some("archiveLocation") => json!({"archiveLocation": location, "filename": name}),
            Some(_) => {
                let size = ctx.sim.file_size(f).await.map_err(|e| {
                    ApiError::plain(500, json!({"errors": [{"errorCode": 500, "errorMessage": e.to_string(), "parameter": Value::Null}]}))
                })?;
                let stored = if f.ext == "txt" { size * 2 / 5 } else { size };
                json!({"archiveLocation": location, "compression": if f.ext == "txt" { json!("gzip") } else { Value::Null },
                       "dataProductCode": product_code(f), "dateArchived": iso(archived_at(f)), "dateFrom": iso(f.start),
                       "dateTo": iso(f.end()), "deviceCode": f.device, "fileSize": stored, "filename": name,
                       "modifyDate": iso(reprocessed.unwrap_or_else(|| archived_at(f))), "uncompressedFileSize": size})
            }
        });
    }
    let n = rows.len();
    let next = if more {
        ctx.next(&[("page", (page + 1).to_string())])
    } else {
        Value::Null
    };
    // The real listing echoes the mode as `returnOption` ("default" when none was asked for).
    let return_option = p.get("returnOptions").unwrap_or("default").to_string();
    Ok(Reply::ok(
        json!({"citations": [], "files": rows, "messages": [], "next": next,
        "queryUrl": ctx.query_url(), "returnOption": return_option}),
    )
    .with_rows(n))
}

fn content_type(ext: &str) -> &'static str {
    match ext {
        "flac" => "audio/flac",
        "wav" => "audio/wav",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

/// `archivefile/download?filename=` (and legacy `archivefiles?method=getFile`).
pub(crate) async fn download(ctx: &Ctx) -> Result<Reply, ApiError> {
    let p = &ctx.params;
    p.check_names(&["method", "filename"])?;
    let name = p.require("filename")?;
    let file = archive::lookup(&ctx.sim.catalog, name, ctx.now()).ok_or_else(|| {
        ApiError::bad(
            ErrorCode::ArchiveFileNotFound,
            format!("File not found or not available: {name}"),
            "filename",
        )
    })?;
    let (file, _) = ctx.sim.current(file);
    let bytes = ctx.sim.file_bytes(&file).await.map_err(|e| {
        ApiError::plain(500, json!({"errors": [{"errorCode": 500, "errorMessage": e.to_string(), "parameter": "filename"}]}))
    })?;
    Ok(Reply::file(
        bytes,
        content_type(file.ext),
        Some(file.name()),
    ))
}
