//! The ledger's result files: one row per file of a task (`run_id` 0 for archive files; index
//! `1`, `2`, … or `meta`) with its name, relative path, size, SHA-256 and state.
//!
//! Must not know: HTTP, where files are written.

// TODO(issue 15 item 6): document the public items below, then delete this allow.
#![allow(missing_docs)]

use jiff::Timestamp;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{ts_text, EngineError, Ledger, TaskId};

/// State of one result file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    Pending,
    Done,
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
    pub task: TaskId,
    pub run_id: u64,
    pub index: String,
    pub name: Option<String>,
    /// Relative to the output folder.
    pub path: Option<String>,
    pub size: Option<u64>,
    pub sha256: Option<String>,
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
            "SELECT name, path, size, sha256, state FROM files WHERE task_id = ?1 AND run_id = ?2 AND idx = ?3",
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
            "INSERT INTO files(task_id, run_id, idx, name, path, size, sha256, state, reason, updated)
             VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT(task_id, run_id, idx) DO UPDATE SET
               name = COALESCE(excluded.name, name), path = COALESCE(excluded.path, path),
               size = COALESCE(excluded.size, size), sha256 = COALESCE(excluded.sha256, sha256),
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
            ],
        )
        .map(drop)
    }

    /// Every file of a task.
    pub fn files_of(&self, task: TaskId) -> Result<Vec<FileRow>, EngineError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT run_id, idx, name, path, size, sha256, state FROM files WHERE task_id = ?1 ORDER BY id",
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
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }
}
