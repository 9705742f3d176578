//! Unit tests of the ledger: idempotent planning, transitions, picking, files, readers.

use super::*;
use crate::engine::task::ArchiveSpec;

fn archive(i: usize) -> TaskSpec {
    TaskSpec::Archive(ArchiveSpec {
        filename: format!("DEV_{i:05}.flac"),
        size: Some(10),
        folder: None,
    })
}

fn open() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(&dir.path().join(LEDGER_FILE)).unwrap();
    (dir, l)
}

#[test]
fn planning_twice_never_duplicates() {
    let (_d, l) = open();
    let specs: Vec<TaskSpec> = (0..50).map(archive).collect();
    let r = l.plan(&specs).unwrap();
    assert_eq!(r.added, 50);
    let r = l.plan(&specs[10..20]).unwrap();
    assert_eq!((r.added, r.already_planned), (0, 10));
    let s = l.status().unwrap();
    assert_eq!(s.total, 50);
    assert_eq!(s.count(TaskState::Planned), 50);
    assert_eq!(l.pending_count().unwrap(), 50);
}

#[test]
fn transitions_are_recorded_and_picked_in_order() {
    let (_d, l) = open();
    l.plan(&(0..5).map(archive).collect::<Vec<_>>()).unwrap();
    let none = HashSet::new();
    let now = Timestamp::now();
    let planned = l
        .pick(Pick::Planned(TaskKind::Archive), &none, 10, now)
        .unwrap();
    assert_eq!(planned.len(), 5);
    let (a, b) = (planned[0].id, planned[1].id);
    l.set_requested(a, RequestId(77), Some(Duration::from_secs(20)))
        .unwrap();
    l.set_running(a, &[RunId(5), RunId(6)], "queued").unwrap();
    let row = l.task(a).unwrap().unwrap();
    assert_eq!(row.state, TaskState::Running);
    assert_eq!(row.request_id, Some(RequestId(77)));
    assert_eq!(row.run_ids, vec![RunId(5), RunId(6)]);
    assert_eq!(row.estimate, Some(Duration::from_secs(20)));
    assert_eq!(row.message.as_deref(), Some("queued"));
    let busy: HashSet<TaskId> = [a].into_iter().collect();
    assert!(l.pick(Pick::InProgress, &busy, 10, now).unwrap().is_empty());
    assert_eq!(l.pick(Pick::InProgress, &none, 10, now).unwrap()[0].id, a);
    // A failure with a retry in the past is due; one without is final.
    let past = now.checked_sub(jiff::SignedDuration::from_secs(1)).unwrap();
    l.set_failed(b, "HTTP 503", Some(past)).unwrap();
    let due = l.pick(Pick::RetryDue, &none, 10, now).unwrap();
    assert_eq!((due.len(), due[0].attempts), (1, 1));
    assert_eq!(ts_text(l.next_retry_at().unwrap().unwrap()), ts_text(past));
    l.set_failed(b, "HTTP 400", None).unwrap();
    assert!(l.pick(Pick::RetryDue, &none, 10, now).unwrap().is_empty());
    let s = l.status().unwrap();
    assert_eq!(s.failures[0].reason, "HTTP 400");
    assert_eq!(s.failures[0].attempts, 2);
    assert_eq!(s.jobs_on_server, 1);
    assert_eq!(l.retry_failed().unwrap(), 1);
    assert_eq!(
        l.pick(Pick::RetryDue, &none, 10, Timestamp::now())
            .unwrap()
            .len(),
        1
    );
    l.set_state(a, TaskState::Done).unwrap();
    assert_eq!(l.status().unwrap().count(TaskState::Done), 1);
}

#[test]
fn files_upsert_and_a_second_reader_sees_commits() {
    let (d, l) = open();
    l.plan(&[archive(1)]).unwrap();
    let id = l
        .pick(
            Pick::Planned(TaskKind::Archive),
            &HashSet::new(),
            1,
            Timestamp::now(),
        )
        .unwrap()[0]
        .id;
    l.file_pending(id, 9, "1").unwrap();
    l.file_pending(id, 9, "1").unwrap();
    assert_eq!(
        l.file(id, 9, "1").unwrap().unwrap().state,
        FileState::Pending
    );
    l.file_done(&FileRow {
        task: id,
        run_id: 9,
        index: "1".into(),
        name: Some("a.csv".into()),
        path: Some("a.csv".into()),
        size: Some(42),
        sha256: Some("ab".into()),
        mtime_ns: Some(7),
        state: FileState::Done,
    })
    .unwrap();
    l.file_failed(id, 9, "meta", "HTTP 410").unwrap();
    let files = l.files_of(id).unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].size, Some(42));
    assert_eq!(files[1].state, FileState::Failed);
    let reader = Ledger::open_read_only(&d.path().join(LEDGER_FILE)).unwrap();
    let s = reader.status().unwrap();
    assert_eq!((s.files_done, s.bytes_done), (1, 42));
    assert!(Ledger::open_read_only(&d.path().join("nope.sqlite")).is_err());
}

#[test]
fn cancelled_tasks_revive_when_planned_again() {
    let (_d, l) = open();
    l.plan(&[archive(1), archive(2)]).unwrap();
    assert_eq!(l.cancel_unfinished().unwrap(), 2);
    let r = l.plan(&[archive(1)]).unwrap();
    assert_eq!(r.revived, 1);
    let s = l.status().unwrap();
    assert_eq!(
        (s.count(TaskState::Planned), s.count(TaskState::Cancelled)),
        (1, 1)
    );
}

#[test]
fn files_that_are_not_ledgers_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.sqlite");
    std::fs::write(&empty, b"").unwrap();
    for e in [Ledger::open(&empty), Ledger::open_read_only(&empty)] {
        let e = e.unwrap_err().to_string();
        assert!(
            e.contains("not an onc-hydro ledger") && e.contains("empty file"),
            "{e}"
        );
    }
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
    let other = dir.path().join("other.sqlite");
    {
        let c = Connection::open(&other).unwrap();
        c.execute_batch("CREATE TABLE birds(name TEXT); INSERT INTO birds VALUES('tern');")
            .unwrap();
    }
    let before = std::fs::read(&other).unwrap();
    for e in [Ledger::open(&other), Ledger::open_read_only(&other)] {
        let e = e.unwrap_err().to_string();
        assert!(e.contains("something else (tables: birds)"), "{e}");
    }
    assert_eq!(std::fs::read(&other).unwrap(), before);
    let text = dir.path().join("notes.sqlite");
    std::fs::write(&text, "just some notes, not a database at all..........").unwrap();
    let e = Ledger::open_read_only(&text).unwrap_err().to_string();
    assert!(e.contains("not an onc-hydro ledger"), "{e}");
}

#[test]
fn unknown_task_states_are_reported_not_hidden() {
    let (_d, l) = open();
    l.plan(&(0..3).map(archive).collect::<Vec<_>>()).unwrap();
    l.lock()
        .execute("UPDATE tasks SET state = 'paused' WHERE id = 2", [])
        .unwrap();
    let e = l.status().unwrap_err().to_string();
    assert!(e.contains("1 with state \"paused\""), "{e}");
    let again = Ledger::open(l.path()).unwrap();
    assert!(again.status().is_err());
}

#[test]
fn replanning_with_a_new_size_updates_the_spec() {
    let (_d, l) = open();
    l.plan(&[archive(1)]).unwrap();
    let TaskSpec::Archive(mut a) = archive(1) else {
        unreachable!()
    };
    a.size = Some(99);
    let r = l.plan(&[TaskSpec::Archive(a.clone())]).unwrap();
    assert_eq!(r.already_planned, 1);
    let row = l.task(TaskId(1)).unwrap().unwrap();
    assert_eq!(row.spec, TaskSpec::Archive(a));
}
