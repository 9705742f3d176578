//! Product re-runs: noticing that a held data-product period may have changed, ordering it
//! again, and comparing the bytes.
//!
//! A product is made from archived data, so when ONC reprocesses the data a period was made
//! from, ordering the period again gives other bytes. Each run lists the archive files of every
//! device over the section's `recheck` span (`returnOptions=all`, one listing per device) and
//! keeps a fingerprint per held period: the SHA-256 of the name, size, `modifyDate` and
//! `archiveLocation` of the files that start in it (ledger `meta` key `sync.fp.<task key>`).
//! When the fingerprint of a held period changes, the period is ordered again:
//!
//! 1. the files held are recorded as a pending re-run (`sync.rerun.<task key>`: name, SHA-256
//!    and where the copy goes; the task key is added to `sync.reruns`), then moved to
//!    `<device>/.superseded/rerun-<time>/`, then the task goes back to `planned` (so a crash at
//!    any point loses nothing: the next run finds the record and finishes it);
//! 2. the engine orders the period again (a fresh server job) and downloads its files;
//! 3. each new file is compared (SHA-256) with the held one of the same name: identical copies
//!    are deleted, different (or vanished) ones stay in `.superseded/` and are reported as
//!    reprocessed — in `summary.json`, on stderr and with exit code 3, like re-archived files.
//!
//! Meta files (`*_META.xml`) carry the request's ids and are never compared.
//!
//! Must not know: terminals, HTTP beyond the listing, how periods are chosen.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::SyncError;
use super::run::Reprocessed;
use super::versions::{FileVersion, SUPERSEDED_DIR};
use crate::api::{format_onc, ArchiveFile};
use crate::engine::{FileState, Ledger, TaskKey, TaskRow};

const PENDING_INDEX: &str = "sync.reruns";

fn fp_key(task: &TaskKey) -> String {
    format!("sync.fp.{task}")
}

fn pending_key(task: &TaskKey) -> String {
    format!("sync.rerun.{task}")
}

/// The fingerprint of the archive files that start in `[from, to)`.
pub(super) fn fingerprint(files: &[ArchiveFile], from: Timestamp, to: Timestamp) -> String {
    let mut lines: Vec<String> = files
        .iter()
        .filter(|f| {
            f.date_from
                .or_else(|| f.start())
                .is_some_and(|t| t >= from && t < to)
        })
        .map(|f| {
            let v = FileVersion::of(f);
            format!(
                "{}\t{:?}\t{:?}\t{:?}",
                f.filename, v.size, v.modified, v.location
            )
        })
        .collect();
    lines.sort();
    lines.dedup();
    let mut h = Sha256::new();
    for l in &lines {
        h.update(l.as_bytes());
        h.update(b"\n");
    }
    format!("{:x}", h.finalize())
}

/// The fingerprint recorded for a held period.
pub(super) fn recorded(ledger: &Ledger, task: &TaskKey) -> Result<Option<String>, SyncError> {
    Ok(ledger.meta(&fp_key(task))?)
}

/// Records the fingerprint of a held period (no write when unchanged).
pub(super) fn record(ledger: &Ledger, task: &TaskKey, fp: &str) -> Result<(), SyncError> {
    if recorded(ledger, task)?.as_deref() != Some(fp) {
        ledger.set_meta(&fp_key(task), fp)?;
    }
    Ok(())
}

/// One held file of a period being ordered again.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct HeldFile {
    name: String,
    sha256: Option<String>,
    /// Where the held copy went, relative to the output folder.
    kept: String,
}

/// A period being ordered again.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    /// In words, e.g. `HSD mat of device X [from, to)`.
    what: String,
    files: Vec<HeldFile>,
}

fn pending_index(ledger: &Ledger) -> Result<Vec<TaskKey>, SyncError> {
    Ok(ledger
        .meta(PENDING_INDEX)?
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default())
}

fn set_index(ledger: &Ledger, keys: &[TaskKey]) -> Result<(), SyncError> {
    let text = serde_json::to_string(keys).unwrap_or_else(|_| "[]".into());
    ledger.set_meta(PENDING_INDEX, &text)?;
    Ok(())
}

/// Moves the held files of `row` aside, records them as a pending re-run, and sends the task
/// back to `planned` so the engine orders the period again. Blocking.
pub(super) fn start(
    ledger: &Ledger,
    out: &Path,
    row: &TaskRow,
    what: &str,
    now: Timestamp,
) -> Result<(), SyncError> {
    let key = pending_key(&row.key);
    let done: Vec<_> = ledger
        .files_of(row.id)?
        .into_iter()
        .filter(|f| f.state == FileState::Done)
        .collect();
    let stamp = format!("rerun-{}", format_onc(now).replace(':', "-"));
    let mut pending: Pending = match ledger
        .meta(&key)?
        .and_then(|t| serde_json::from_str(&t).ok())
    {
        Some(p) => p,
        None => Pending {
            what: what.to_string(),
            files: Vec::new(),
        },
    };
    let mut moves = Vec::new();
    for f in &done {
        let (Some(rel), Some(name)) = (&f.path, &f.name) else {
            continue;
        };
        if f.index == "meta" || pending.files.iter().any(|h| h.name == *name) {
            continue;
        }
        let from = Path::new(rel);
        let dir = from.parent().unwrap_or(Path::new(""));
        let kept = dir.join(SUPERSEDED_DIR).join(&stamp).join(name);
        pending.files.push(HeldFile {
            name: name.clone(),
            sha256: f.sha256.clone(),
            kept: kept.display().to_string(),
        });
        moves.push((out.join(from), out.join(&kept)));
    }
    // Recorded first: a crash after this point finishes the comparison next run.
    let text = serde_json::to_string(&pending).unwrap_or_else(|_| "{}".into());
    ledger.set_meta(&key, &text)?;
    let mut index = pending_index(ledger)?;
    if !index.contains(&row.key) {
        index.push(row.key.clone());
        set_index(ledger, &index)?;
    }
    for (from, to) in moves {
        if !from.exists() {
            continue;
        }
        if let Some(d) = to.parent() {
            std::fs::create_dir_all(d).map_err(|e| SyncError::io("cannot create", d, e))?;
        }
        std::fs::rename(&from, &to)
            .map_err(|e| SyncError::io("cannot move the held product file", &from, e))?;
    }
    for f in &done {
        ledger.file_invalidated(f, &format!("ordered again: {what}"))?;
    }
    Ok(())
}

/// What finishing the pending re-runs found.
#[derive(Debug, Default)]
pub(super) struct Finished {
    /// Files whose re-run bytes differ (old copies kept).
    pub changed: Vec<Reprocessed>,
    /// Task keys of periods whose re-run was byte-identical.
    pub identical: Vec<TaskKey>,
    /// Task keys of periods that differed.
    pub differed: Vec<TaskKey>,
}

/// Compares every pending re-run whose task is done again (`rows`: the tasks by key) with
/// the copies kept; identical copies are deleted. Unfinished ones stay pending. Blocking.
pub(super) fn finish(
    ledger: &Ledger,
    out: &Path,
    rows: &HashMap<TaskKey, TaskRow>,
) -> Result<Finished, SyncError> {
    let mut found = Finished::default();
    let mut index = pending_index(ledger)?;
    let before = index.len();
    let mut left = Vec::new();
    for task in index.drain(..) {
        let pending: Option<Pending> = ledger
            .meta(&pending_key(&task))?
            .and_then(|t| serde_json::from_str(&t).ok());
        let (Some(pending), Some(row)) = (pending, rows.get(&task)) else {
            left.push(task);
            continue;
        };
        if row.state != crate::engine::TaskState::Done {
            left.push(task);
            continue;
        }
        let now: BTreeMap<String, Option<String>> = ledger
            .files_of(row.id)?
            .into_iter()
            .filter(|f| f.state == FileState::Done && f.index != "meta")
            .filter_map(|f| f.name.map(|n| (n, f.sha256)))
            .collect();
        let mut differs = false;
        for held in &pending.files {
            let kept = out.join(&held.kept);
            let change = match now.get(&held.name) {
                Some(new) if *new == held.sha256 => None,
                Some(new) => Some(format!(
                    "{} ordered again: the bytes differ (sha256 {} → {})",
                    pending.what,
                    short(&held.sha256),
                    short(new)
                )),
                None => Some(format!(
                    "{} ordered again: the re-run no longer has this file",
                    pending.what
                )),
            };
            match change {
                None => {
                    if let Err(e) = std::fs::remove_file(&kept) {
                        if e.kind() != std::io::ErrorKind::NotFound {
                            return Err(SyncError::io("cannot remove", &kept, e));
                        }
                    }
                    if let Some(d) = kept.parent() {
                        let _ = std::fs::remove_dir(d); // only when empty
                    }
                }
                Some(change) => {
                    differs = true;
                    found.changed.push(Reprocessed {
                        name: held.name.clone(),
                        change,
                        superseded: kept.exists().then(|| held.kept.clone()),
                    });
                }
            }
        }
        if differs {
            found.differed.push(task.clone());
        } else {
            found.identical.push(task.clone());
        }
        ledger.set_meta(&pending_key(&task), "null")?;
    }
    if left.len() != before {
        set_index(ledger, &left)?;
    }
    Ok(found)
}

/// Whether a re-run of `task` is under way (its held files are set aside).
pub(super) fn is_pending(ledger: &Ledger, task: &TaskKey) -> Result<bool, SyncError> {
    Ok(pending_index(ledger)?.contains(task))
}

fn short(sha: &Option<String>) -> String {
    sha.as_deref()
        .map(|s| s.chars().take(12).collect())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, from: &str, size: u64, modified: &str) -> ArchiveFile {
        let mut f = ArchiveFile::named(name);
        f.date_from = Some(from.parse().unwrap());
        f.file_size = Some(size);
        f.extra
            .insert("modifyDate".into(), serde_json::Value::from(modified));
        f
    }

    #[test]
    fn fingerprints_see_only_the_period_and_every_version_field() {
        let a = file(
            "A_1.flac",
            "2024-04-01T00:05:00Z",
            10,
            "2024-04-01T01:00:00.000Z",
        );
        let b = file(
            "A_2.flac",
            "2024-04-01T01:05:00Z",
            10,
            "2024-04-01T02:00:00.000Z",
        );
        let (f, t) = (
            "2024-04-01T00:00:00Z".parse().unwrap(),
            "2024-04-01T01:00:00Z".parse().unwrap(),
        );
        let base = fingerprint(&[a.clone(), b.clone()], f, t);
        assert_eq!(base, fingerprint(&[b.clone(), a.clone()], f, t));
        let other = file(
            "A_2.flac",
            "2024-04-01T01:05:00Z",
            11,
            "2024-04-09T00:00:00.000Z",
        );
        assert_eq!(
            base,
            fingerprint(&[a.clone(), other], f, t),
            "outside the period"
        );
        let re = file(
            "A_1.flac",
            "2024-04-01T00:05:00Z",
            10,
            "2024-04-09T00:00:00.000Z",
        );
        assert_ne!(base, fingerprint(&[re, b], f, t), "modifyDate changed");
    }
}
