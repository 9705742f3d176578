//! The ledger: one SQLite database (`<out>/ledger.sqlite`, WAL) holding every task (its spec as
//! JSON, state, `dpRequestId`, `dpRunId`s, last server message, failure reason, attempts, next
//! retry, timestamps) and every result file (name, size, SHA-256, state). Each transition is its
//! own committed transaction, made before the next remote call, so a crash at any instant
//! leaves a state the engine can resume from without repeating a request. Readers in other
//! processes (`status`) see a consistent snapshot while a run writes.
//!
//! Must not know: HTTP, the scheduler's slots, terminals.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use serde::Serialize;

use super::error::EngineError;
use super::task::{TaskId, TaskKey, TaskKind, TaskSpec, TaskState};
use crate::api::{RequestId, RunId};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks(
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  label TEXT NOT NULL,
  spec TEXT NOT NULL,
  state TEXT NOT NULL,
  request_id INTEGER,
  run_ids TEXT,
  estimate_s REAL,
  message TEXT,
  reason TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_retry TEXT,
  created TEXT NOT NULL,
  updated TEXT NOT NULL,
  requested_at TEXT,
  finished_at TEXT);
CREATE INDEX IF NOT EXISTS tasks_by_state ON tasks(state, kind, id);
CREATE TABLE IF NOT EXISTS files(
  id INTEGER PRIMARY KEY,
  task_id INTEGER NOT NULL REFERENCES tasks(id),
  run_id INTEGER NOT NULL,
  idx TEXT NOT NULL,
  name TEXT,
  path TEXT,
  size INTEGER,
  sha256 TEXT,
  state TEXT NOT NULL,
  reason TEXT,
  updated TEXT NOT NULL,
  UNIQUE(task_id, run_id, idx));
";

/// The default ledger file name inside the output folder.
pub const LEDGER_FILE: &str = "ledger.sqlite";

/// `PRAGMA application_id` of an onc-hydro ledger ("ONCH"): tells our databases from others.
const APPLICATION_ID: i64 = 0x4F4E_4348;

/// Columns added after the first release, with their type (added to older ledgers on open).
const ADDED_COLUMNS: [(&str, &str, &str); 2] = [
    ("files", "mtime_ns", "INTEGER"),
    ("tasks", "remote", "TEXT"),
];

/// Refuses a file that is not an onc-hydro ledger: empty, not SQLite, or another program's
/// database. A database with our id, or (older ledgers) with our tables, is accepted.
fn check_is_ledger(path: &Path, conn: &Connection) -> Result<(), EngineError> {
    let not = |message: String| EngineError::NotALedger {
        path: path.to_path_buf(),
        message,
    };
    let id: i64 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(|e| not(format!("cannot be read as SQLite ({e})")))?;
    if id == APPLICATION_ID {
        return Ok(());
    }
    if id != 0 {
        return Err(not(format!(
            "an SQLite database of another program (application_id {id:#x})"
        )));
    }
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .map_err(|e| not(format!("cannot be read as SQLite ({e})")))?;
    let tables: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| not(format!("cannot be read as SQLite ({e})")))?;
    let ours = ["files", "meta", "tasks"]
        .iter()
        .all(|t| tables.iter().any(|n| n == t));
    if ours {
        Ok(())
    } else if tables.is_empty() {
        Err(not(
            "an empty SQLite database without the ledger's tables".into()
        ))
    } else {
        Err(not(format!(
            "an SQLite database of something else (tables: {})",
            tables.join(", ")
        )))
    }
}

/// Refuses an existing file of zero bytes (SQLite would silently turn it into a database).
fn check_not_empty(path: &Path) -> Result<bool, EngineError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() == 0 => Err(EngineError::NotALedger {
            path: path.to_path_buf(),
            message: "an empty file (0 bytes)".into(),
        }),
        Ok(_) => Ok(true),
        Err(_) => Ok(false),
    }
}

/// Creates a new ledger whole: the schema is written to a temporary file in the same folder,
/// which is then renamed into place, so a process killed while creating it never leaves the
/// empty file that [`check_not_empty`] refuses.
fn create_whole(path: &Path) -> rusqlite::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(
        ".{}.new-{}",
        name.unwrap_or_else(|| "ledger".into()),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    let conn = Connection::open(&tmp)?;
    conn.execute_batch(SCHEMA)?;
    conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    drop(conn);
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        rusqlite::Error::ToSqlConversionFailure(Box::new(e))
    })
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ` (sorts like the instants it names).
pub(crate) fn ts_text(ts: Timestamp) -> String {
    format!("{ts:.3}")
}

fn parse_ts(s: Option<String>) -> Option<Timestamp> {
    s.and_then(|s| s.parse().ok())
}

/// One task as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    /// The ledger's row id.
    pub id: TaskId,
    /// The 32-hex key that identifies the task across plans and runs.
    pub key: TaskKey,
    /// A human-readable one-line description.
    pub label: String,
    /// What to do.
    pub spec: TaskSpec,
    /// Where it is.
    pub state: TaskState,
    /// The server's `dpRequestId`, once requested.
    pub request_id: Option<RequestId>,
    /// The server's `dpRunId`s, once run.
    pub run_ids: Vec<RunId>,
    /// The server's `estimatedProcessingTime`.
    pub estimate: Option<Duration>,
    /// The server's latest status message.
    pub message: Option<String>,
    /// Why the task failed or was cancelled.
    pub reason: Option<String>,
    /// Attempts so far.
    pub attempts: u32,
    /// When a failed task is tried again.
    pub next_retry: Option<Timestamp>,
    /// When the server job was requested.
    pub requested_at: Option<Timestamp>,
    /// A provider's request reference as JSON (OOI: request UUID, catalog, results folder).
    pub remote: Option<String>,
}

/// Which tasks the scheduler wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// Orders with a server job (`requested`, `running`, `downloading`): re-attach.
    InProgress,
    /// Tasks of `kind` not started yet.
    Planned(TaskKind),
    /// Failed tasks whose next retry is due.
    RetryDue,
}

/// What `plan` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PlanReport {
    /// Tasks new to the ledger.
    pub added: u64,
    /// Tasks the ledger already held (not changed).
    pub already_planned: u64,
    /// Cancelled or dropped tasks planned again.
    pub revived: u64,
}

/// A failed task, for status output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureRow {
    /// The task.
    pub task: TaskId,
    /// Its one-line description.
    pub label: String,
    /// Why it failed.
    pub reason: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When it is tried again, if it will be.
    pub next_retry: Option<Timestamp>,
}

/// The ledger's view of progress (what `onc-hydro status` shows).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerStatus {
    /// The ledger file.
    pub ledger: PathBuf,
    /// Tasks in the ledger.
    pub total: u64,
    /// Tasks per state.
    pub by_state: BTreeMap<TaskState, u64>,
    /// Tasks with a job running on the server (run called, not complete).
    pub jobs_on_server: u64,
    /// Failed tasks that will be retried.
    pub retrying: u64,
    /// Files stored and verified.
    pub files_done: u64,
    /// Bytes of those files.
    pub bytes_done: u64,
    /// Files known but not stored yet.
    pub files_pending: u64,
    /// The newest change to any task.
    pub last_update: Option<Timestamp>,
    /// Up to 20 failures, newest first.
    pub failures: Vec<FailureRow>,
}

impl LedgerStatus {
    /// Count of tasks in `state`.
    pub fn count(&self, state: TaskState) -> u64 {
        self.by_state.get(&state).copied().unwrap_or(0)
    }

    /// Tasks not yet done, cancelled, dropped or finally failed.
    pub fn unfinished(&self) -> u64 {
        self.total
            - self.count(TaskState::Done)
            - self.count(TaskState::Cancelled)
            - self.count(TaskState::Dropped)
            - (self.count(TaskState::Failed) - self.retrying)
    }
}

/// A handle on the ledger; cheap to clone, safe to share between tasks.
#[derive(Clone)]
pub struct Ledger {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("path", &self.path).finish()
    }
}

#[path = "ledger_files.rs"]
mod files;
pub use files::{FileRow, FileState};

const TASK_COLS: &str = "id, key, label, spec, state, request_id, run_ids, estimate_s, message, \
                         reason, attempts, next_retry, requested_at, remote";

impl Ledger {
    /// Opens (creating if needed) the ledger at `path` for reading and writing.
    pub fn open(path: &Path) -> Result<Ledger, EngineError> {
        let err = |source| EngineError::Ledger {
            path: path.to_path_buf(),
            source,
        };
        let mut existed = check_not_empty(path)?;
        if !existed {
            create_whole(path).map_err(err)?;
            existed = true;
        }
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
        if existed {
            check_is_ledger(path, &conn)?;
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        // NORMAL in WAL mode: every commit survives a process crash (SIGKILL); only an OS
        // crash or power cut can lose the last few commits.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        for (table, column, kind) in ADDED_COLUMNS {
            let has: bool = conn
                .query_row(
                    &format!("SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = ?1"),
                    [column],
                    |r| r.get::<_, i64>(0),
                )
                .map_err(err)?
                > 0;
            if !has {
                conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))
                    .map_err(err)?;
            }
        }
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(err)?;
        Ok(Ledger {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_path_buf(),
        })
    }

    /// Opens an existing ledger read-only (safe while another process runs).
    pub fn open_read_only(path: &Path) -> Result<Ledger, EngineError> {
        if !path.is_file() {
            return Err(EngineError::NoLedger(path.to_path_buf()));
        }
        let err = |source| EngineError::Ledger {
            path: path.to_path_buf(),
            source,
        };
        check_not_empty(path)?;
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
        check_is_ledger(path, &conn)?;
        Ok(Ledger {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn err(&self, source: rusqlite::Error) -> EngineError {
        EngineError::Ledger {
            path: self.path.clone(),
            source,
        }
    }

    /// Reads a `meta` value.
    pub fn meta(&self, key: &str) -> Result<Option<String>, EngineError> {
        self.lock()
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Writes a `meta` value.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), EngineError> {
        self.lock()
            .execute(
                "INSERT INTO meta(key, value) VALUES(?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Adds tasks (idempotent by canonical key) in one transaction. Cancelled or dropped tasks
    /// planned again start over.
    pub fn plan(&self, specs: &[TaskSpec]) -> Result<PlanReport, EngineError> {
        let mut conn = self.lock();
        let now = ts_text(Timestamp::now());
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let mut report = PlanReport::default();
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO tasks(key, kind, label, spec, state, created, updated)
                     VALUES(?1, ?2, ?3, ?4, 'planned', ?5, ?5)",
                )
                .map_err(|e| self.err(e))?;
            let mut revive = tx
                .prepare_cached(
                    "UPDATE tasks SET state = 'planned', request_id = NULL, run_ids = NULL, remote = NULL,
                     reason = NULL, message = NULL, attempts = 0, next_retry = NULL, updated = ?2
                     WHERE key = ?1 AND state IN ('cancelled', 'dropped')",
                )
                .map_err(|e| self.err(e))?;
            // The same work planned with new details (a listing's new size, another folder):
            // the latest plan wins, so a resume checks files against it.
            let mut refresh = tx
                .prepare_cached(
                    "UPDATE tasks SET spec = ?2, label = ?3 WHERE key = ?1 AND spec <> ?2",
                )
                .map_err(|e| self.err(e))?;
            for spec in specs {
                let key = spec.key();
                let json = serde_json::to_string(spec)
                    .map_err(|e| EngineError::invalid("spec", e.to_string()))?;
                let n = insert
                    .execute(params![
                        key.0,
                        spec.kind().as_str(),
                        spec.label(),
                        json,
                        now
                    ])
                    .map_err(|e| self.err(e))?;
                if n == 1 {
                    report.added += 1;
                } else {
                    refresh
                        .execute(params![key.0, json, spec.label()])
                        .map_err(|e| self.err(e))?;
                    if revive
                        .execute(params![key.0, now])
                        .map_err(|e| self.err(e))?
                        == 1
                    {
                        report.revived += 1;
                    } else {
                        report.already_planned += 1;
                    }
                }
            }
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(report)
    }

    fn row(&self, r: &Row<'_>) -> rusqlite::Result<Result<TaskRow, EngineError>> {
        let spec_text: String = r.get(3)?;
        let state_text: String = r.get(4)?;
        let run_ids: Option<String> = r.get(6)?;
        let id = TaskId(r.get(0)?);
        let content = |message: String| EngineError::LedgerContent {
            path: self.path.clone(),
            message: format!("task {id}: {message}"),
        };
        let spec = match serde_json::from_str::<TaskSpec>(&spec_text) {
            Ok(s) => s,
            Err(e) => return Ok(Err(content(format!("unreadable spec: {e}")))),
        };
        let Some(state) = TaskState::parse(&state_text) else {
            return Ok(Err(content(format!("unknown state {state_text:?}"))));
        };
        let run_ids: Vec<RunId> = run_ids
            .as_deref()
            .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
            .unwrap_or_default();
        Ok(Ok(TaskRow {
            id,
            key: TaskKey(r.get(1)?),
            label: r.get(2)?,
            spec,
            state,
            request_id: r.get::<_, Option<i64>>(5)?.map(|v| RequestId(v as u64)),
            run_ids,
            estimate: r
                .get::<_, Option<f64>>(7)?
                .and_then(|s| Duration::try_from_secs_f64(s).ok()),
            message: r.get(8)?,
            reason: r.get(9)?,
            attempts: r.get::<_, i64>(10)?.max(0) as u32,
            next_retry: parse_ts(r.get(11)?),
            requested_at: parse_ts(r.get(12)?),
            remote: r.get(13)?,
        }))
    }

    fn query_rows(
        &self,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<TaskRow>, EngineError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(args, |r| self.row(r))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r.map_err(|e| self.err(e))??);
        }
        Ok(out)
    }

    /// One task by id.
    pub fn task(&self, id: TaskId) -> Result<Option<TaskRow>, EngineError> {
        let sql = format!("SELECT {TASK_COLS} FROM tasks WHERE id = ?1");
        Ok(self.query_rows(&sql, &[&id.0])?.into_iter().next())
    }

    /// Up to `limit` tasks of `pick`, oldest first, skipping `busy` ones. Reads only what it
    /// returns, so memory stays flat however many tasks the ledger holds.
    pub fn pick(
        &self,
        pick: Pick,
        busy: &HashSet<TaskId>,
        limit: usize,
        now: Timestamp,
    ) -> Result<Vec<TaskRow>, EngineError> {
        let mut busy_ids: Vec<i64> = busy.iter().map(|t| t.0).collect();
        busy_ids.sort_unstable();
        let not_busy = if busy_ids.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = busy_ids.iter().map(i64::to_string).collect();
            format!(" AND id NOT IN ({})", list.join(","))
        };
        let now = ts_text(now);
        let limit = limit as i64;
        match pick {
            Pick::InProgress => self.query_rows(
                &format!(
                    "SELECT {TASK_COLS} FROM tasks WHERE state IN ('requested','running','downloading')
                     {not_busy} ORDER BY id LIMIT ?1"
                ),
                &[&limit],
            ),
            Pick::Planned(kind) => self.query_rows(
                &format!(
                    "SELECT {TASK_COLS} FROM tasks WHERE state = 'planned' AND kind = ?2
                     {not_busy} ORDER BY id LIMIT ?1"
                ),
                &[&limit, &kind.as_str()],
            ),
            Pick::RetryDue => self.query_rows(
                &format!(
                    "SELECT {TASK_COLS} FROM tasks WHERE state = 'failed' AND next_retry IS NOT NULL
                     AND next_retry <= ?2 {not_busy} ORDER BY next_retry, id LIMIT ?1"
                ),
                &[&limit, &now],
            ),
        }
    }

    /// The earliest pending retry.
    pub fn next_retry_at(&self) -> Result<Option<Timestamp>, EngineError> {
        let v: Option<String> = self
            .lock()
            .query_row(
                "SELECT MIN(next_retry) FROM tasks WHERE state = 'failed' AND next_retry IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(parse_ts(v))
    }

    /// Tasks still to work on (including failed ones with a retry ahead).
    pub fn pending_count(&self) -> Result<u64, EngineError> {
        self.lock()
            .query_row(
                "SELECT COUNT(*) FROM tasks WHERE state IN ('planned','requested','running','downloading')
                 OR (state = 'failed' AND next_retry IS NOT NULL)",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    fn exec(&self, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Result<usize, EngineError> {
        self.lock()
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(args))
            .map_err(|e| self.err(e))
    }

    /// Records the `dpRequestId` (committed before `run` is called).
    pub fn set_requested(
        &self,
        id: TaskId,
        request: RequestId,
        estimate: Option<Duration>,
    ) -> Result<(), EngineError> {
        let now = ts_text(Timestamp::now());
        self.exec(
            "UPDATE tasks SET state = 'requested', request_id = ?2, estimate_s = ?3,
             requested_at = ?4, updated = ?4, reason = NULL, next_retry = NULL WHERE id = ?1",
            &[
                &id.0,
                &(request.0 as i64),
                &estimate.map(|d| d.as_secs_f64()),
                &now,
            ],
        )
        .map(drop)
    }

    /// Records a provider's request reference (OOI: UUID and URLs as JSON), committed before
    /// anything else is asked of the server so a crash re-attaches to it.
    pub fn set_remote(
        &self,
        id: TaskId,
        remote: &str,
        estimate: Option<Duration>,
    ) -> Result<(), EngineError> {
        let now = ts_text(Timestamp::now());
        self.exec(
            "UPDATE tasks SET state = 'requested', remote = ?2, estimate_s = ?3,
             requested_at = ?4, updated = ?4, reason = NULL, next_retry = NULL WHERE id = ?1",
            &[&id.0, &remote, &estimate.map(|d| d.as_secs_f64()), &now],
        )
        .map(drop)
    }

    /// Records the `dpRunId`s and the server's status text.
    pub fn set_running(
        &self,
        id: TaskId,
        runs: &[RunId],
        message: &str,
    ) -> Result<(), EngineError> {
        let ids: Vec<String> = runs.iter().map(|r| r.0.to_string()).collect();
        self.exec(
            "UPDATE tasks SET state = 'running', run_ids = ?2, message = ?3, updated = ?4,
             reason = NULL, next_retry = NULL WHERE id = ?1",
            &[&id.0, &ids.join(","), &message, &ts_text(Timestamp::now())],
        )
        .map(drop)
    }

    /// Updates the last server message.
    pub fn set_message(&self, id: TaskId, message: &str) -> Result<(), EngineError> {
        self.exec(
            "UPDATE tasks SET message = ?2, updated = ?3 WHERE id = ?1",
            &[&id.0, &message, &ts_text(Timestamp::now())],
        )
        .map(drop)
    }

    /// Moves a task to `state` (downloading, done, cancelled, dropped, planned).
    pub fn set_state(&self, id: TaskId, state: TaskState) -> Result<(), EngineError> {
        let now = ts_text(Timestamp::now());
        let finished = state.is_final().then(|| now.clone());
        self.exec(
            "UPDATE tasks SET state = ?2, updated = ?3, finished_at = ?4, next_retry = NULL,
             reason = CASE WHEN ?2 = 'done' THEN NULL ELSE reason END WHERE id = ?1",
            &[&id.0, &state.as_str(), &now, &finished],
        )
        .map(drop)
    }

    /// Marks a task failed: `attempts + 1`, the reason, and when to retry (None: never).
    pub fn set_failed(
        &self,
        id: TaskId,
        reason: &str,
        next_retry: Option<Timestamp>,
    ) -> Result<(), EngineError> {
        self.exec(
            "UPDATE tasks SET state = 'failed', reason = ?2, attempts = attempts + 1,
             next_retry = ?3, updated = ?4 WHERE id = ?1",
            &[
                &id.0,
                &reason,
                &next_retry.map(ts_text),
                &ts_text(Timestamp::now()),
            ],
        )
        .map(drop)
    }

    /// Forgets a job the server lost or that failed so the task is requested anew next time.
    pub fn clear_job(&self, id: TaskId) -> Result<(), EngineError> {
        self.exec(
            "UPDATE tasks SET request_id = NULL, run_ids = NULL, estimate_s = NULL,
             requested_at = NULL, updated = ?2 WHERE id = ?1",
            &[&id.0, &ts_text(Timestamp::now())],
        )
        .map(drop)
    }

    /// Makes every finally-failed task retryable now (attempts reset).
    pub fn retry_failed(&self) -> Result<u64, EngineError> {
        self.exec(
            "UPDATE tasks SET next_retry = ?1, attempts = 0 WHERE state = 'failed'",
            &[&ts_text(Timestamp::now())],
        )
        .map(|n| n as u64)
    }

    /// Tasks not finished that have a server job (for `cancel`).
    pub fn unfinished_jobs(&self) -> Result<Vec<TaskRow>, EngineError> {
        self.query_rows(
            &format!(
                "SELECT {TASK_COLS} FROM tasks WHERE request_id IS NOT NULL
                 AND state IN ('requested','running','downloading','failed') ORDER BY id"
            ),
            &[],
        )
    }

    /// Marks every unfinished task cancelled; returns how many.
    pub fn cancel_unfinished(&self) -> Result<u64, EngineError> {
        let now = ts_text(Timestamp::now());
        self.exec(
            "UPDATE tasks SET state = 'cancelled', next_retry = NULL, updated = ?1, finished_at = ?1
             WHERE state IN ('planned','requested','running','downloading','failed')",
            &[&now],
        )
        .map(|n| n as u64)
    }

    /// Counts and recent failures, in one read transaction.
    pub fn status(&self) -> Result<LedgerStatus, EngineError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let mut unknown: Vec<String> = Vec::new();
        let mut q = || -> rusqlite::Result<LedgerStatus> {
            let mut by_state = BTreeMap::new();
            let mut total = 0;
            {
                let mut s = tx.prepare("SELECT state, COUNT(*) FROM tasks GROUP BY state")?;
                let rows =
                    s.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
                for row in rows {
                    let (st, n) = row?;
                    match TaskState::parse(&st) {
                        Some(s) => {
                            by_state.insert(s, n as u64);
                            total += n as u64;
                        }
                        None => unknown.push(format!("{n} with state {st:?}")),
                    }
                }
            }
            let one = |sql: &str| {
                tx.query_row(sql, [], |r| r.get::<_, i64>(0))
                    .map(|v| v.max(0) as u64)
            };
            let retrying = one(
                "SELECT COUNT(*) FROM tasks WHERE state = 'failed' AND next_retry IS NOT NULL",
            )?;
            let files_done = one("SELECT COUNT(*) FROM files WHERE state = 'done'")?;
            let bytes_done = one("SELECT COALESCE(SUM(size), 0) FROM files WHERE state = 'done'")?;
            let files_pending = one("SELECT COUNT(*) FROM files WHERE state = 'pending'")?;
            let last: Option<String> =
                tx.query_row("SELECT MAX(updated) FROM tasks", [], |r| r.get(0))?;
            let mut failures = Vec::new();
            {
                let mut s = tx.prepare(
                    "SELECT id, label, COALESCE(reason, ''), attempts, next_retry FROM tasks
                     WHERE state = 'failed' ORDER BY updated DESC LIMIT 20",
                )?;
                let rows = s.query_map([], |r| {
                    Ok(FailureRow {
                        task: TaskId(r.get(0)?),
                        label: r.get(1)?,
                        reason: r.get(2)?,
                        attempts: r.get::<_, i64>(3)?.max(0) as u32,
                        next_retry: parse_ts(r.get(4)?),
                    })
                })?;
                for row in rows {
                    failures.push(row?);
                }
            }
            Ok(LedgerStatus {
                ledger: self.path.clone(),
                total,
                jobs_on_server: by_state.get(&TaskState::Running).copied().unwrap_or(0),
                by_state,
                retrying,
                files_done,
                bytes_done,
                files_pending,
                last_update: parse_ts(last),
                failures,
            })
        };
        let status = q().map_err(|e| self.err(e))?;
        tx.finish().map_err(|e| self.err(e))?;
        if !unknown.is_empty() {
            return Err(EngineError::LedgerContent {
                path: self.path.clone(),
                message: format!(
                    "tasks this version does not know: {} (written by a newer onc-hydro, or edited by hand)",
                    unknown.join(", ")
                ),
            });
        }
        Ok(status)
    }
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
