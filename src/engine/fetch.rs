//! File transfers under the download slots: one data-product file (`download?dpRunId&index`,
//! polling 202 answers) or one archive file (`archivefile/download`), each retried on transient
//! failures, stored through [`storage`](super::storage) and recorded in the ledger. A file the
//! ledger already holds as verified is fetched again only when the disk disagrees: at the start
//! of every run [`recheck`] compares each verified file's size and modification time (and with
//! `verify` its SHA-256) with the ledger, and an archive file's size with the latest listing.
//!
//! Must not know: how jobs are requested or polled.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::ctx::{Ctx, Stop};
use super::error::EngineError;
use super::ledger::{FileRow, FileState, Ledger, TaskRow};
use super::report::Event;
use super::retry::{classify, Classify, FailureClass};
use super::storage::{self, check_file_name, Incoming, StorageError, Validator};
use super::task::{ArchiveSpec, TaskId, TaskSpec, TaskState};
use crate::api::{ApiError, DownloadIndex, DownloadOutcome, RunId};

/// What a transfer ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fetched {
    Stored,
    Skipped,
    /// 204: the run has no data.
    NoData,
    /// 404: past the last file.
    End,
}

/// What opening a transfer gave.
enum Opened {
    Body(Box<Incoming>, Option<String>),
    NotReady(Option<String>),
    NoData,
    End,
    Gone(Option<String>),
}

/// Which file of which task.
struct Target<'a> {
    task: TaskId,
    run_id: u64,
    index: String,
    dir: &'a Path,
    expected: Option<u64>,
    /// The check before rename (default: the engine's validator).
    check: Option<Validator>,
}

/// A verified file from an earlier run that is still in place.
fn verified(ctx: &Ctx, t: &Target<'_>) -> Result<Option<String>, Stop> {
    let Some(row) = ctx.ledger.file(t.task, t.run_id, &t.index)? else {
        return Ok(None);
    };
    if row.state != FileState::Done {
        return Ok(None);
    }
    let (Some(path), Some(size)) = (&row.path, row.size) else {
        return Ok(None);
    };
    let Ok(meta) = std::fs::metadata(ctx.out.join(path)) else {
        return Ok(None);
    };
    let same_mtime = row.mtime_ns.is_none() || row.mtime_ns == storage::mtime_ns(&meta);
    Ok((meta.len() == size && same_mtime).then(|| row.name.unwrap_or_default()))
}

/// What the re-check at the start of a run found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Recheck {
    /// Verified files looked at.
    pub checked: u64,
    /// Files missing, changed or disagreeing with the listing: their tasks run again.
    pub invalidated: u64,
    /// Stale temporary files of crashed runs removed.
    pub parts_swept: u64,
}

/// Why the file of `row` can no longer be trusted, if it cannot. Blocking.
fn distrust(
    ledger: &Ledger,
    out: &Path,
    row: &FileRow,
    verify: bool,
) -> Result<Option<String>, EngineError> {
    let (Some(rel), Some(size)) = (&row.path, row.size) else {
        return Ok(Some("no path or size recorded".into()));
    };
    if row.run_id == 0 {
        if let Some(TaskSpec::Archive(a)) = ledger.task(row.task)?.map(|t| t.spec) {
            if a.size.is_some_and(|listed| listed != size) {
                return Ok(Some(format!(
                    "the listing now gives {} bytes, the stored file has {size}",
                    a.size.unwrap_or(0)
                )));
            }
        }
    }
    let path = out.join(rel);
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) => return Ok(Some(format!("{rel}: {e}"))),
    };
    if meta.len() != size {
        return Ok(Some(format!(
            "{rel}: {} bytes on disk, {size} verified",
            meta.len()
        )));
    }
    let mtime = storage::mtime_ns(&meta);
    if !verify && (row.mtime_ns.is_none() || row.mtime_ns == mtime) {
        return Ok(None);
    }
    // Touched, or asked to verify: the content decides.
    match storage::hash_file(&path) {
        Ok((_, sha)) if Some(&sha) == row.sha256.as_ref() => {
            if row.mtime_ns != mtime {
                ledger.file_touched(row, mtime)?;
            }
            Ok(None)
        }
        Ok(_) => Ok(Some(format!(
            "{rel}: content changed since it was verified"
        ))),
        Err(e) => Ok(Some(format!("{rel}: {e}"))),
    }
}

/// Sweeps temporaries of crashed runs and re-checks every verified file against the disk
/// (size + modification time; the SHA-256 too when `verify` or when only the time changed).
/// A file that fails goes back to pending and its task to `planned`. Blocking: run it on a
/// blocking thread. Call only while holding the folder's lock.
pub(crate) fn recheck(ledger: &Ledger, out: &Path, verify: bool) -> Result<Recheck, EngineError> {
    let mut report = Recheck {
        parts_swept: storage::sweep_stale_parts(out),
        ..Recheck::default()
    };
    let mut after = 0;
    loop {
        let page = ledger.done_files_after(after, 500)?;
        let Some((last, _)) = page.last() else {
            return Ok(report);
        };
        after = *last;
        for (_, row) in &page {
            report.checked += 1;
            if let Some(why) = distrust(ledger, out, row, verify)? {
                tracing::info!(target: "onc_hydro::engine", "fetching again: {why}");
                ledger.file_invalidated(row, &format!("fetching again: {why}"))?;
                report.invalidated += 1;
            }
        }
    }
}

async fn transfer<E, F, Fut>(
    ctx: &Ctx,
    t: Target<'_>,
    what: &str,
    mut open: F,
) -> Result<Fetched, Stop>
where
    E: Classify,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Opened, E>>,
{
    if let Some(name) = verified(ctx, &t)? {
        ctx.stats.add(&ctx.stats.files_skipped, 1);
        ctx.report(Event::FileSkipped { task: t.task, name });
        return Ok(Fetched::Skipped);
    }
    ctx.ledger.file_pending(t.task, t.run_id, &t.index)?;
    let mut failures = 0u32;
    let started = Instant::now();
    let (mut polls, _) = ctx.settings.poll.start(None);
    loop {
        if let Some(f) = ctx.fatal() {
            return Err(Stop::Fatal(f));
        }
        let permit = ctx
            .download_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Stop::Fatal("download slots closed".into()))?;
        let error = match open().await {
            Ok(Opened::Body(body, name)) => {
                let name = name
                    .or_else(|| body.file_name().map(String::from))
                    .unwrap_or_else(|| format!("run{}_{}", t.run_id, t.index));
                if let Err(e) = check_file_name(&name) {
                    ctx.ledger
                        .file_failed(t.task, t.run_id, &t.index, &e.to_string())?;
                    return Err(Stop::permanent(e.to_string()));
                }
                ctx.report(Event::FileStarted {
                    task: t.task,
                    name: name.clone(),
                    size: body.content_length().or(t.expected),
                });
                let reporter = Arc::clone(&ctx.reporter);
                let on_bytes = move |n: u64| reporter.event(&Event::Bytes { count: n });
                let stored = storage::receive(
                    *body,
                    t.dir,
                    &name,
                    t.expected,
                    t.check.as_ref().or(ctx.validator.as_ref()),
                    &on_bytes,
                )
                .await;
                match stored {
                    Ok(f) => {
                        ctx.ledger.file_done(&FileRow {
                            task: t.task,
                            run_id: t.run_id,
                            index: t.index.clone(),
                            name: Some(f.name.clone()),
                            path: Some(ctx.relative(&f.path)),
                            size: Some(f.size),
                            sha256: Some(f.sha256),
                            mtime_ns: f.mtime_ns,
                            state: FileState::Done,
                        })?;
                        ctx.stats.add(&ctx.stats.files, 1);
                        ctx.stats.add(&ctx.stats.bytes, f.size);
                        ctx.report(Event::FileDone {
                            task: t.task,
                            name: f.name,
                            size: f.size,
                        });
                        return Ok(Fetched::Stored);
                    }
                    Err(StorageError::Transfer(e)) if classify(&e) == FailureClass::Fatal => {
                        return Err(Stop::Fatal(e.to_string()));
                    }
                    Err(StorageError::OoiTransfer(e)) if e.class() == FailureClass::Fatal => {
                        return Err(Stop::Fatal(e.to_string()));
                    }
                    Err(e) if e.is_transient() => e.to_string(),
                    Err(e) => {
                        ctx.ledger
                            .file_failed(t.task, t.run_id, &t.index, &e.to_string())?;
                        return Err(Stop::permanent(e.to_string()));
                    }
                }
            }
            Ok(Opened::NotReady(message)) => {
                drop(permit);
                if started.elapsed() > ctx.settings.max_wait {
                    return Err(Stop::transient(format!(
                        "{what}: still not ready after {:?} ({})",
                        ctx.settings.max_wait,
                        message.unwrap_or_default()
                    )));
                }
                ctx.sleep(polls.next_interval()).await?;
                continue;
            }
            Ok(Opened::NoData) => return Ok(Fetched::NoData),
            Ok(Opened::End) => return Ok(Fetched::End),
            Ok(Opened::Gone(m)) => format!("{what}: HTTP 410 Gone {}", m.unwrap_or_default()),
            Err(e) => match e.class() {
                FailureClass::Transient => e.to_string(),
                _ => {
                    let stop = ctx.stop_for(what, &e);
                    if let Stop::Fail { reason, .. } = &stop {
                        ctx.ledger.file_failed(t.task, t.run_id, &t.index, reason)?;
                    }
                    return Err(stop);
                }
            },
        };
        drop(permit);
        failures += 1;
        if failures >= ctx.settings.retry.max_attempts {
            let reason = format!("{what}: gave up after {failures} attempts: {error}");
            ctx.ledger
                .file_failed(t.task, t.run_id, &t.index, &reason)?;
            return Err(Stop::transient(reason));
        }
        ctx.retry_pause(t.task, what, &error, failures).await?;
    }
}

/// Downloads file `index` of data-product run `run` into `dir`.
pub(crate) async fn product_file(
    ctx: Arc<Ctx>,
    task: TaskId,
    dir: PathBuf,
    run: RunId,
    index: DownloadIndex,
) -> Result<Fetched, Stop> {
    let target = Target {
        task,
        run_id: run.0,
        index: index.to_string(),
        dir: &dir,
        expected: None,
        check: None,
    };
    let what = format!("download run {run} file {index}");
    let c = Arc::clone(&ctx);
    transfer(&ctx, target, &what, || {
        let c = Arc::clone(&c);
        async move {
            Ok::<_, ApiError>(match c.remote.download(run, index).await? {
                DownloadOutcome::Ready(b) => Opened::Body(Box::new(b.into()), None),
                DownloadOutcome::NotReady { message, .. } => Opened::NotReady(message),
                DownloadOutcome::NoData { .. } => Opened::NoData,
                DownloadOutcome::End => Opened::End,
                DownloadOutcome::Gone { message } => Opened::Gone(message),
            })
        }
    })
    .await
}

/// Drives an archive-file task to done: adopts a complete file left by a crash between the
/// rename and the ledger commit (size matches the listing and it validates), else downloads.
pub(crate) async fn archive_task(
    ctx: Arc<Ctx>,
    row: TaskRow,
    spec: ArchiveSpec,
) -> Result<(), Stop> {
    let dir = ctx.dir_for(spec.folder.as_deref())?;
    check_file_name(&spec.filename).map_err(|e| Stop::permanent(e.to_string()))?;
    let final_path = dir.join(&spec.filename);
    let known = ctx.ledger.file(row.id, 0, "")?;
    if known.as_ref().is_none_or(|f| f.state != FileState::Done) {
        let recorded = known.and_then(|f| f.sha256);
        adopt_existing(&ctx, row.id, &final_path, &spec, recorded).await?;
    }
    let target = Target {
        task: row.id,
        run_id: 0,
        index: String::new(),
        dir: &dir,
        expected: spec.size,
        check: None,
    };
    let what = format!("archive file {}", spec.filename);
    let name = spec.filename.clone();
    let c = Arc::clone(&ctx);
    let got = transfer(&ctx, target, &what, || {
        let (c, name) = (Arc::clone(&c), name.clone());
        async move {
            let body = c.remote.archive_download(&name).await?;
            Ok::<_, ApiError>(Opened::Body(Box::new(body.into()), Some(name)))
        }
    })
    .await?;
    if matches!(got, Fetched::End | Fetched::NoData) {
        return Err(Stop::permanent(format!(
            "{what}: the server has no such file"
        )));
    }
    ctx.ledger.set_state(row.id, TaskState::Done)?;
    Ok(())
}

async fn adopt_existing(
    ctx: &Ctx,
    task: TaskId,
    path: &Path,
    spec: &ArchiveSpec,
    recorded_sha: Option<String>,
) -> Result<(), Stop> {
    let Some(expected) = spec.size else {
        return Ok(());
    };
    if std::fs::metadata(path).map(|m| m.len()).ok() != Some(expected) {
        return Ok(());
    }
    let (p, v, name) = (
        path.to_path_buf(),
        ctx.validator.clone(),
        spec.filename.clone(),
    );
    let checked = tokio::task::spawn_blocking(move || {
        if let Some(v) = v {
            v(&p, &name)?;
        }
        let meta = std::fs::metadata(&p).map_err(|e| e.to_string())?;
        let (size, sha) = storage::hash_file(&p).map_err(|e| e.to_string())?;
        Ok((size, sha, storage::mtime_ns(&meta)))
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    // A file verified before and found changed keeps its old digest: only that content is
    // adopted, anything else is downloaded again.
    let checked = checked.and_then(|c| match &recorded_sha {
        Some(want) if *want != c.1 => Err("content differs from the verified file".to_string()),
        _ => Ok(c),
    });
    if let Ok((size, sha, mtime_ns)) = checked {
        ctx.ledger.file_done(&FileRow {
            task,
            run_id: 0,
            index: String::new(),
            name: Some(spec.filename.clone()),
            path: Some(ctx.relative(path)),
            size: Some(size),
            sha256: Some(sha),
            mtime_ns,
            state: FileState::Done,
        })?;
    }
    Ok(())
}

/// The magic numbers of NetCDF: classic (`CDF\x01`), 64-bit offset (`CDF\x02`), 64-bit data
/// (`CDF\x05`) and NetCDF-4 (HDF5, `\x89HDF\r\n\x1a\n`).
pub(crate) fn check_netcdf_magic(path: &Path) -> Result<(), String> {
    use std::io::Read;
    let mut head = [0u8; 8];
    let mut f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let n = f.read(&mut head).map_err(|e| e.to_string())?;
    let classic = n >= 4 && &head[..3] == b"CDF" && matches!(head[3], 1 | 2 | 5);
    let hdf5 = n == 8 && head == *b"\x89HDF\r\n\x1a\n";
    if classic || hdf5 {
        Ok(())
    } else {
        Err(format!(
            "not a NetCDF file (starts with {:02x?}; NetCDF starts with CDF\\x01/02/05 or \\x89HDF)",
            &head[..n.min(8)]
        ))
    }
}

/// Downloads one file of an OOI request into `dir`: sized by `Content-Length` (and the
/// catalog's byte size when given), NetCDF files checked by their magic number (then by the
/// engine's validator, if any) before the rename.
/// Downloads one raw-archive file under its local name (`:` written `-`), checked by the
/// engine's validator before the rename.
pub(crate) async fn ooi_raw_file(
    ctx: Arc<Ctx>,
    task: TaskId,
    dir: PathBuf,
    file: crate::ooi::RawFile,
) -> Result<Fetched, Stop> {
    let local = file.name.replace(':', "-");
    let target = Target {
        task,
        run_id: 0,
        index: file.name.clone(),
        dir: &dir,
        expected: None,
        check: None,
    };
    let what = format!("OOI raw file {}", file.name);
    let (c, url) = (Arc::clone(&ctx), file.url.clone());
    let got = transfer(&ctx, target, &what, || {
        let (c, url, local) = (Arc::clone(&c), url.clone(), local.clone());
        async move {
            let body = c.remote.ooi_raw_download(&url).await?;
            Ok::<_, crate::ooi::OoiError>(Opened::Body(Box::new(body.into()), Some(local)))
        }
    })
    .await?;
    if matches!(got, Fetched::End | Fetched::NoData) {
        return Err(Stop::permanent(format!(
            "{what}: the archive has no such file"
        )));
    }
    Ok(got)
}

pub(crate) async fn ooi_file(
    ctx: Arc<Ctx>,
    task: TaskId,
    dir: PathBuf,
    file: crate::ooi::RemoteFile,
) -> Result<Fetched, Stop> {
    let user = ctx.validator.clone();
    let check: Validator = Arc::new(move |p: &Path, name: &str| {
        if name.to_ascii_lowercase().ends_with(".nc") {
            check_netcdf_magic(p)?;
        }
        match &user {
            Some(v) => v(p, name),
            None => Ok(()),
        }
    });
    let target = Target {
        task,
        run_id: 0,
        index: file.file.url_path.clone(),
        dir: &dir,
        expected: file.file.size,
        check: Some(check),
    };
    let what = format!("OOI file {}", file.file.name);
    let (c, url, name) = (Arc::clone(&ctx), file.url.clone(), file.file.name.clone());
    transfer(&ctx, target, &what, || {
        let (c, url, name) = (Arc::clone(&c), url.clone(), name.clone());
        async move {
            let body = c.remote.ooi_download(&url).await?;
            Ok::<_, crate::ooi::OoiError>(Opened::Body(Box::new(body.into()), Some(name)))
        }
    })
    .await
}
