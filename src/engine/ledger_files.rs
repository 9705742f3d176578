//! The ledger's result files: one row per file of a task (`run_id` 0 for archive files; index
//! `1`, `2`, … or `meta`) with its name, relative path, size, SHA-256, modification time (for
//! the cheap re-check on resume) and state.
//!
//! Must not know: HTTP, where files are written.

use jiff::Timestamp;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{ts_text, EngineError, Ledger, TaskId};

/// State of one result file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// Known, not stored yet.
    Pending,
    /// Stored and verified.
    Done,
    /// The last attempt failed.
    Failed,
}

impl FileState {
    fn as_str(self) -> &'static str {
        match self {
            FileState::Pending => "pending",
            FileState::Done => "done",
            FileState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> FileState {
        match s {
            "done" => FileState::Done,
            "failed" => FileState::Failed,
            _ => FileState::Pending,
        }
    }
}

/// One result file as stored (`run_id` 0 for archive files; `index` `1`, `2`, … or `meta`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRow {
    /// The task the file belongs to.
    pub task: TaskId,
    /// The server's `dpRunId` (0 for archive files).
    pub run_id: u64,
    /// The file's `index` in the run (`1`, `2`, … or `meta`).
    pub index: String,
    /// The file name the server gave.
    pub name: Option<String>,
    /// Relative to the output folder.
    pub path: Option<String>,
    /// Size in bytes, once known.
    pub size: Option<u64>,
    /// SHA-256 (hex) of the stored file.
    pub sha256: Option<String>,
    /// Modification time of the stored file (ns since the epoch) when it was verified.
    pub mtime_ns: Option<i64>,
    /// Where the file is.
    pub state: FileState,
}

impl Ledger {
    /// One result file.
    pub fn file(
        &self,
        task: TaskId,
        run_id: u64,
        index: &str,
    ) -> Result<Option<FileRow>, EngineError> {
        let conn = self.lock();
        conn.prepare_cached(
            "SELECT name, path, size, sha256, state, mtime_ns FROM files WHERE task_id = ?1 AND run_id = ?2 AND idx = ?3",
        )
        .and_then(|mut s| {
            s.query_row(params![task.0, run_id as i64, index], |r| {
                Ok(FileRow {
                    task,
                    run_id,
                    index: index.to_string(),
                    name: r.get(0)?,
                    path: r.get(1)?,
                    size: r.get::<_, Option<i64>>(2)?.map(|v| v as u64),
                    sha256: r.get(3)?,
                    state: FileState::parse(&r.get::<_, String>(4)?),
                    mtime_ns: r.get(5)?,
                })
            })
            .optional()
        })
        .map_err(|e| self.err(e))
    }

    /// Records a file as expected (pending) unless it is known already.
    pub fn file_pending(&self, task: TaskId, run_id: u64, index: &str) -> Result<(), EngineError> {
        self.exec(
            "INSERT OR IGNORE INTO files(task_id, run_id, idx, state, updated) VALUES(?1, ?2, ?3, 'pending', ?4)",
            &[&task.0, &(run_id as i64), &index, &ts_text(Timestamp::now())],
        )
        .map(drop)
    }

    /// Records a stored and verified file.
    pub fn file_done(&self, f: &FileRow) -> Result<(), EngineError> {
        self.file_upsert(f, FileState::Done, None)
    }

    /// Records a file that could not be obtained.
    pub fn file_failed(
        &self,
        task: TaskId,
        run_id: u64,
        index: &str,
        reason: &str,
    ) -> Result<(), EngineError> {
        let f = FileRow {
            task,
            run_id,
            index: index.to_string(),
            name: None,
            path: None,
            size: None,
            sha256: None,
            mtime_ns: None,
            state: FileState::Failed,
        };
        self.file_upsert(&f, FileState::Failed, Some(reason))
    }

    fn file_upsert(
        &self,
        f: &FileRow,
        state: FileState,
        reason: Option<&str>,
    ) -> Result<(), EngineError> {
        self.exec(
            "INSERT INTO files(task_id, run_id, idx, name, path, size, sha256, state, reason, updated, mtime_ns)
             VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT(task_id, run_id, idx) DO UPDATE SET
               name = COALESCE(excluded.name, name), path = COALESCE(excluded.path, path),
               size = COALESCE(excluded.size, size), sha256 = COALESCE(excluded.sha256, sha256),
               mtime_ns = COALESCE(excluded.mtime_ns, mtime_ns),
               state = excluded.state, reason = excluded.reason, updated = excluded.updated",
            &[
                &f.task.0,
                &(f.run_id as i64),
                &f.index,
                &f.name,
                &f.path,
                &f.size.map(|v| v as i64),
                &f.sha256,
                &state.as_str(),
                &reason,
                &ts_text(Timestamp::now()),
                &f.mtime_ns,
            ],
        )
        .map(drop)
    }

    /// Every file of a task.
    pub fn files_of(&self, task: TaskId) -> Result<Vec<FileRow>, EngineError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT run_id, idx, name, path, size, sha256, state, mtime_ns FROM files WHERE task_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([task.0], |r| {
                Ok(FileRow {
                    task,
                    run_id: r.get::<_, i64>(0)? as u64,
                    index: r.get(1)?,
                    name: r.get(2)?,
                    path: r.get(3)?,
                    size: r.get::<_, Option<i64>>(4)?.map(|v| v as u64),
                    sha256: r.get(5)?,
                    state: FileState::parse(&r.get::<_, String>(6)?),
                    mtime_ns: r.get(7)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// Up to `limit` verified files with a row id above `after`, in id order (row id first),
    /// for the re-check at the start of a run (memory stays flat however many there are).
    pub fn done_files_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, FileRow)>, EngineError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, task_id, run_id, idx, name, path, size, sha256, mtime_ns FROM files
                 WHERE state = 'done' AND id > ?1 ORDER BY id LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![after, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    FileRow {
                        task: TaskId(r.get(1)?),
                        run_id: r.get::<_, i64>(2)? as u64,
                        index: r.get(3)?,
                        name: r.get(4)?,
                        path: r.get(5)?,
                        size: r.get::<_, Option<i64>>(6)?.map(|v| v as u64),
                        sha256: r.get(7)?,
                        mtime_ns: r.get(8)?,
                        state: FileState::Done,
                    },
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// A verified file that is no longer intact on disk: back to pending (its recorded
    /// SHA-256 stays, so an identical file found later can be adopted), and its task back to
    /// `planned` without its server job, so the next run fetches it again.
    pub fn file_invalidated(&self, f: &FileRow, why: &str) -> Result<(), EngineError> {
        let now = ts_text(Timestamp::now());
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        tx.execute(
            "UPDATE files SET state = 'pending', reason = ?4, updated = ?5
             WHERE task_id = ?1 AND run_id = ?2 AND idx = ?3",
            params![f.task.0, f.run_id as i64, f.index, why, now],
        )
        .map_err(|e| self.err(e))?;
        tx.execute(
            "UPDATE tasks SET state = 'planned', request_id = NULL, run_ids = NULL,
             estimate_s = NULL, requested_at = NULL, finished_at = NULL, next_retry = NULL,
             attempts = 0, reason = ?2, updated = ?3 WHERE id = ?1 AND state = 'done'",
            params![f.task.0, why, now],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// Records a new modification time for a file found identical by re-hashing.
    pub fn file_touched(&self, f: &FileRow, mtime_ns: Option<i64>) -> Result<(), EngineError> {
        self.exec(
            "UPDATE files SET mtime_ns = ?4 WHERE task_id = ?1 AND run_id = ?2 AND idx = ?3",
            &[&f.task.0, &(f.run_id as i64), &f.index, &mtime_ns],
        )
        .map(drop)
    }
}
