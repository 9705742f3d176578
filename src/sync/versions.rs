//! Which version of each archive file the folder holds, and what happens when ONC reprocesses
//! one. A version is what a `returnOptions=all` listing says about a file: its size
//! (`uncompressedFileSize`, else `fileSize`), `modifyDate` and `archiveLocation`. The version
//! held is kept in the ledger (`meta` key `sync.file.<name>`, JSON), written once the file is
//! verified. A listed file whose known fields differ from the held ones was reprocessed: the
//! held copy moves to `<folder>/.superseded/<old modifyDate or held-<now>>/<name>` (same name,
//! so it still opens as before), its ledger entry goes back to pending, and the engine
//! downloads the new version. Moving first and invalidating second means a crash in between
//! loses nothing: the next run finds the file missing and fetches it.
//!
//! Must not know: HTTP, terminals.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::error::SyncError;
use crate::api::{format_onc, ArchiveFile};
use crate::engine::{FileState, Ledger, TaskRow};

/// The folder (inside a file's own folder) that keeps superseded versions.
pub const SUPERSEDED_DIR: &str = ".superseded";

/// What a listing says about one version of a file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileVersion {
    /// Bytes the download has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// `modifyDate` as listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// `archiveLocation` as listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl FileVersion {
    /// The version a listing row describes.
    pub fn of(file: &ArchiveFile) -> FileVersion {
        FileVersion {
            size: file.download_size(),
            modified: file
                .extra
                .get("modifyDate")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            location: file.archive_location.clone(),
        }
    }

    /// How `listed` differs from this held version, in words (fields unknown on either side
    /// are not compared); `None` when it is the same version.
    pub fn differs(&self, listed: &FileVersion) -> Option<String> {
        fn cmp<T: PartialEq + std::fmt::Debug>(
            what: &str,
            held: &Option<T>,
            listed: &Option<T>,
            out: &mut Vec<String>,
        ) {
            if let (Some(h), Some(l)) = (held, listed) {
                if h != l {
                    out.push(format!("{what} {h:?} → {l:?}"));
                }
            }
        }
        let mut changes = Vec::new();
        cmp("size", &self.size, &listed.size, &mut changes);
        cmp("modifyDate", &self.modified, &listed.modified, &mut changes);
        cmp(
            "archiveLocation",
            &self.location,
            &listed.location,
            &mut changes,
        );
        (!changes.is_empty()).then(|| changes.join(", "))
    }
}

fn key(name: &str) -> String {
    format!("sync.file.{name}")
}

/// The version the ledger says is held, if recorded.
pub fn held(ledger: &Ledger, name: &str) -> Result<Option<FileVersion>, SyncError> {
    Ok(ledger
        .meta(&key(name))?
        .and_then(|t| serde_json::from_str(&t).ok()))
}

/// Records `v` as the version held of `name` (no write when unchanged).
pub fn record(ledger: &Ledger, name: &str, v: &FileVersion) -> Result<(), SyncError> {
    if held(ledger, name)?.as_ref() == Some(v) {
        return Ok(());
    }
    let text = serde_json::to_string(v).unwrap_or_else(|_| "{}".into());
    ledger.set_meta(&key(name), &text)?;
    Ok(())
}

/// Moves the held copy of `row`'s file aside and sends its ledger entry back to pending.
/// Returns where the old copy went (`None` if it was no longer on disk). Blocking.
pub fn supersede(
    ledger: &Ledger,
    out: &Path,
    row: &TaskRow,
    old: &FileVersion,
    why: &str,
    now: Timestamp,
) -> Result<Option<PathBuf>, SyncError> {
    let files = ledger.files_of(row.id)?;
    let mut kept = None;
    for f in files.iter().filter(|f| f.state == FileState::Done) {
        let Some(rel) = &f.path else { continue };
        let path = out.join(rel);
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            continue;
        };
        if path.exists() {
            let stamp = old
                .modified
                .as_deref()
                .and_then(|m| crate::api::parse_onc(m).ok())
                .map(|t| stamp(t, ""))
                .unwrap_or_else(|| stamp(now, "held-"));
            let to_dir = dir.join(SUPERSEDED_DIR).join(stamp);
            std::fs::create_dir_all(&to_dir)
                .map_err(|e| SyncError::io("cannot create", &to_dir, e))?;
            let mut to = to_dir.join(name);
            let mut n = 1;
            while to.exists() {
                n += 1;
                to = to_dir.join(format!("{n}-{}", name.to_string_lossy()));
            }
            std::fs::rename(&path, &to)
                .map_err(|e| SyncError::io("cannot move the superseded file", &path, e))?;
            kept = Some(to);
        }
        ledger.file_invalidated(f, &format!("reprocessed by ONC: {why}"))?;
    }
    Ok(kept)
}

/// A folder-safe form of a time: `2024-04-01T12-00-00.000Z`.
fn stamp(t: Timestamp, prefix: &str) -> String {
    format!("{prefix}{}", format_onc(t).replace(':', "-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_only_known_fields() {
        let held = FileVersion {
            size: Some(10),
            modified: Some("2024-04-01T00:00:00.000Z".into()),
            location: None,
        };
        assert_eq!(held.differs(&held), None);
        let unknown = FileVersion::default();
        assert_eq!(held.differs(&unknown), None);
        let bigger = FileVersion {
            size: Some(11),
            location: Some("/archive/x".into()),
            ..held.clone()
        };
        assert_eq!(held.differs(&bigger).unwrap(), "size 10 → 11");
        let touched = FileVersion {
            modified: Some("2024-04-02T00:00:00.000Z".into()),
            ..held.clone()
        };
        assert!(held.differs(&touched).unwrap().starts_with("modifyDate"));
        assert_eq!(
            stamp("2024-04-01T12:00:00Z".parse().unwrap(), "held-"),
            "held-2024-04-01T12-00-00.000Z"
        );
    }
}
