//! The engine against hostile or broken servers (a small axum server on loopback written here,
//! one behaviour per test) and against a hostile disk: a file named `ledger.sqlite`, a body
//! longer than listed or endless, a body trickling a byte at a time, a 429 with `Retry-After`,
//! a 10 GB `Content-Length` on a listing, another writer changing a file mid-download, files
//! deleted or altered after they were verified, and a second run on the same `--out`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use onc_hydro::api::{ApiError, ArchiveQuery, Client, ClientOptions};
use onc_hydro::engine::{
    ArchiveSpec, Engine, EngineConfig, EngineSettings, NullReporter, OrderSpec, RetryPolicy,
    Summary, TaskSpec,
};

const TOKEN: &str = "0f0e0d0c-1111-4222-8333-444455556666";

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub path: String,
    pub query: HashMap<String, String>,
}

type Behave = dyn Fn(&Seen, usize) -> Response + Send + Sync;

#[derive(Clone)]
struct Shared {
    behave: Arc<Behave>,
    log: Arc<Mutex<Vec<Seen>>>,
    count: Arc<AtomicUsize>,
}

/// A loopback server answering every request with `behave(request, n)` (`n` counts requests
/// to the same path, from 0).
pub struct Hostile {
    pub base: String,
    log: Arc<Mutex<Vec<Seen>>>,
}

impl Hostile {
    pub async fn start(behave: impl Fn(&Seen, usize) -> Response + Send + Sync + 'static) -> Self {
        let shared = Shared {
            behave: Arc::new(behave),
            log: Arc::default(),
            count: Arc::default(),
        };
        let log = Arc::clone(&shared.log);
        async fn handle(
            State(s): State<Shared>,
            uri: Uri,
            Query(query): Query<HashMap<String, String>>,
        ) -> Response {
            let seen = Seen {
                at: Instant::now(),
                path: uri.path().to_string(),
                query,
            };
            let n = {
                let mut log = s.log.lock().unwrap();
                let n = log.iter().filter(|x| x.path == seen.path).count();
                log.push(seen.clone());
                n
            };
            s.count.fetch_add(1, Ordering::Relaxed);
            (s.behave)(&seen, n)
        }
        let app = axum::Router::new().fallback(handle).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Hostile {
            base: format!("http://{addr}/"),
            log,
        }
    }

    pub fn seen(&self, path: &str) -> Vec<Seen> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|s| s.path.ends_with(path))
            .cloned()
            .collect()
    }
}

pub fn json(status: u16, body: &str) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

pub fn file(name: &str, body: Body, len: Option<u64>) -> Response {
    let mut b = Response::builder().status(200).header(
        "content-disposition",
        format!("attachment; filename={name}"),
    );
    if let Some(n) = len {
        b = b.header("content-length", n.to_string());
    }
    b.body(body).unwrap()
}

/// `n` chunks of `chunk` bytes, one every `every` (forever when `n` is None).
pub fn dribble(chunk: usize, every: Duration, n: Option<usize>) -> Body {
    let stream = futures_util::stream::unfold(0usize, move |i| async move {
        if n.is_some_and(|n| i >= n) {
            return None;
        }
        if !every.is_zero() {
            tokio::time::sleep(every).await;
        }
        Some((Ok::<_, Infallible>(Bytes::from(vec![b'x'; chunk])), i + 1))
    });
    Body::from_stream(stream)
}

/// The content served for an archive file of that name (deterministic, `len` bytes).
pub fn content(name: &str, len: usize) -> Vec<u8> {
    name.bytes().cycle().take(len).collect()
}

pub fn client(base: &str, options: ClientOptions) -> Client {
    Client::with_options(base, TOKEN, options).unwrap()
}

pub fn quick() -> EngineSettings {
    let mut s = EngineSettings::scaled(0.001);
    s.stagger = Duration::from_millis(1);
    s.retry = RetryPolicy {
        max_attempts: 3,
        base: Duration::from_millis(5),
        max: Duration::from_millis(20),
        task_rounds: 1,
    };
    s
}

pub fn archive(name: &str, size: Option<u64>) -> TaskSpec {
    TaskSpec::Archive(ArchiveSpec {
        filename: name.into(),
        size,
        folder: None,
    })
}

pub async fn run(out: &Path, client: &Client, tasks: &[TaskSpec], verify: bool) -> Summary {
    let engine = Engine::open(
        out,
        EngineConfig {
            settings: Some(quick()),
            verify,
            ..EngineConfig::default()
        },
    )
    .unwrap();
    engine.plan(tasks).unwrap();
    let run = engine.run(client, Arc::new(NullReporter));
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the run hung")
        .unwrap()
}

fn parts_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect()
}

fn one_order() -> TaskSpec {
    TaskSpec::Order(OrderSpec::new(onc_hydro::api::DataProductOrder::new(
        "TSSD",
        "csv",
        onc_hydro::api::DataSource::Device {
            device: "CTD1".into(),
            property: None,
        },
        "2024-01-01T00:00:00Z".parse().unwrap(),
        "2024-01-01T00:10:00Z".parse().unwrap(),
    )))
}

/// `request` and `run` of a one-file job that is complete at once.
fn job(seen: &Seen) -> Option<Response> {
    if seen.path.ends_with("dataProductDelivery/request") {
        return Some(json(
            200,
            r#"{"dpRequestId": 11, "estimatedProcessingTime": "1 s"}"#,
        ));
    }
    if seen.path.ends_with("dataProductDelivery/run") {
        return Some(json(
            200,
            r#"[{"dpRunId": 22, "status": "complete", "fileCount": 1}]"#,
        ));
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_named_ledger_file_never_replaces_the_ledger() {
    for hostile in [
        "ledger.sqlite",
        "ledger.sqlite-wal",
        "summary.json",
        "x.flac.part",
    ] {
        let server = Hostile::start(move |seen, _| {
            job(seen)
                .unwrap_or_else(|| file(hostile, Body::from("not a database at all"), Some(21)))
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let c = client(&server.base, ClientOptions::default());
        let summary = run(dir.path(), &c, &[one_order()], false).await;
        assert_eq!(summary.tasks_failed, 1, "{hostile}");
        let status = onc_hydro::engine::status_of(dir.path(), None).unwrap();
        let reason = &status.failures[0].reason;
        assert!(
            reason.contains("engine's") && reason.contains(hostile),
            "{reason}"
        );
        assert!(!dir.path().join("x.flac.part").exists());
        let summary_json = std::fs::read_to_string(dir.path().join("summary.json")).unwrap();
        assert!(summary_json.contains("tasks_failed"), "{summary_json}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_longer_than_listed_stops_there_and_fails_the_file() {
    let server =
        Hostile::start(|_, _| file("A.flac", dribble(8192, Duration::ZERO, None), None)).await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(&server.base, ClientOptions::default());
    let summary = run(dir.path(), &c, &[archive("A.flac", Some(1000))], false).await;
    assert_eq!(summary.tasks_failed, 1);
    let status = onc_hydro::engine::status_of(dir.path(), None).unwrap();
    let reason = &status.failures[0].reason;
    assert!(
        reason.contains("more than the expected 1000 bytes"),
        "{reason}"
    );
    assert!(!dir.path().join("A.flac").exists());
    assert!(
        parts_in(dir.path()).is_empty(),
        "{:?}",
        parts_in(dir.path())
    );
    // Not retried: the same listing would get the same answer.
    assert_eq!(server.seen("archivefile/download").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_body_is_abandoned_and_fetched_again() {
    let body = content("T.flac", 4000);
    let served = body.clone();
    let server = Hostile::start(move |_, n| {
        if n == 0 {
            // One byte every 40 ms: 25 B/s, forever.
            file("T.flac", dribble(1, Duration::from_millis(40), None), None)
        } else {
            file("T.flac", Body::from(served.clone()), Some(4000))
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(
        &server.base,
        ClientOptions {
            min_rate: 1000,
            rate_window: Duration::from_millis(300),
            ..ClientOptions::default()
        },
    );
    let t = Instant::now();
    let summary = run(dir.path(), &c, &[archive("T.flac", Some(4000))], false).await;
    assert_eq!(summary.tasks_done, 1, "{summary:?}");
    assert!(summary.retries >= 1);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(std::fs::read(dir.path().join("T.flac")).unwrap(), body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_pauses_every_task_not_just_the_one_told() {
    // The first request of all answers 429 with Retry-After: 1.
    let told = Arc::new(AtomicUsize::new(0));
    let t2 = Arc::clone(&told);
    let server2 = Hostile::start(move |seen, _| {
        if t2.fetch_add(1, Ordering::SeqCst) == 0 {
            return Response::builder()
                .status(StatusCode::TOO_MANY_REQUESTS)
                .header("retry-after", "1")
                .body(Body::from("slow down"))
                .unwrap();
        }
        let name = seen.query.get("filename").cloned().unwrap_or_default();
        file(&name, Body::from(content(&name, 100)), Some(100))
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(&server2.base, ClientOptions::default());
    let tasks: Vec<TaskSpec> = (0..3)
        .map(|i| archive(&format!("R{i}.flac"), Some(100)))
        .collect();
    let engine = Engine::open(
        dir.path(),
        EngineConfig {
            settings: Some(EngineSettings {
                download_slots: 1,
                ..quick()
            }),
            ..EngineConfig::default()
        },
    )
    .unwrap();
    engine.plan(&tasks).unwrap();
    let summary = tokio::time::timeout(
        Duration::from_secs(20),
        engine.run(&c, Arc::new(NullReporter)),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(summary.tasks_done, 3, "{summary:?}");
    let seen = server2.seen("archivefile/download");
    assert_eq!(seen.len(), 4, "{seen:?}");
    let told_at = seen[0].at;
    for s in &seen[1..] {
        let after = s.at.duration_since(told_at);
        assert!(
            after >= Duration::from_millis(950),
            "{:?} came {after:?} after the 429",
            s.query
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_or_endless_json_answers_are_refused_without_reading_them() {
    let server = Hostile::start(|seen, _| {
        let endless = seen.query.get("deviceCode").is_some_and(|d| d == "ENDLESS");
        // 32 MiB then silence; the first declares 10 GB.
        let body = dribble(64 << 10, Duration::ZERO, Some(512));
        let body = Body::from_stream(futures_util::StreamExt::chain(
            body.into_data_stream(),
            futures_util::stream::pending(),
        ));
        let mut b = Response::builder()
            .status(200)
            .header("content-type", "application/json");
        if !endless {
            b = b.header("content-length", (10u64 << 30).to_string());
        }
        b.body(body).unwrap()
    })
    .await;
    let c = client(&server.base, ClientOptions::default());
    let q = ArchiveQuery::device("HUGE");
    let t = Instant::now();
    let e = tokio::time::timeout(Duration::from_secs(5), c.archive_list(&q))
        .await
        .expect("the client kept reading")
        .unwrap_err();
    assert!(
        matches!(e, ApiError::TooLarge { declared: Some(n), .. } if n == 10 << 30),
        "{e}"
    );
    assert!(e.to_string().contains("64 MiB"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(2));
    let small = client(
        &server.base,
        ClientOptions {
            max_json_bytes: 1 << 20,
            ..ClientOptions::default()
        },
    );
    let e = tokio::time::timeout(
        Duration::from_secs(5),
        small.archive_list(&ArchiveQuery::device("ENDLESS")),
    )
    .await
    .expect("the client kept reading")
    .unwrap_err();
    assert!(
        matches!(e, ApiError::TooLarge { declared: None, .. }),
        "{e}"
    );
    assert!(!e.to_string().contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_changed_on_disk_during_the_download_is_not_recorded_as_verified() {
    let body = content("W.flac", 200_000);
    let served = body.clone();
    let release = Arc::new(tokio::sync::Notify::new());
    let gate = Arc::clone(&release);
    let server = Hostile::start(move |_, n| {
        let (head, tail) = (served[..100_000].to_vec(), served[100_000..].to_vec());
        if n > 0 {
            return file("W.flac", Body::from(served.clone()), Some(200_000));
        }
        let gate = Arc::clone(&gate);
        let stream = futures_util::stream::unfold(0, move |i| {
            let (head, tail, gate) = (head.clone(), tail.clone(), Arc::clone(&gate));
            async move {
                match i {
                    0 => Some((Ok::<_, Infallible>(Bytes::from(head)), 1)),
                    1 => {
                        gate.notified().await;
                        Some((Ok(Bytes::from(tail)), 2))
                    }
                    _ => None,
                }
            }
        });
        file("W.flac", Body::from_stream(stream), Some(200_000))
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_path_buf();
    // Another writer scribbles over the temporary file once half of it has arrived.
    let scribbler = tokio::spawn(async move {
        loop {
            let parts = parts_in(&out);
            if let Some(p) = parts.first() {
                let path = out.join(p);
                if std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) >= 100_000 {
                    use std::io::Write;
                    let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
                    f.write_all(&[0u8; 4096]).unwrap();
                    f.sync_all().unwrap();
                    release.notify_one();
                    return p.clone();
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let c = client(&server.base, ClientOptions::default());
    let summary = run(dir.path(), &c, &[archive("W.flac", Some(200_000))], false).await;
    let part = scribbler.await.unwrap();
    assert!(part.contains(&std::process::id().to_string()), "{part}");
    assert_eq!(summary.tasks_done, 1, "{summary:?}");
    assert!(summary.retries >= 1, "{summary:?}");
    assert_eq!(std::fs::read(dir.path().join("W.flac")).unwrap(), body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_trusts_the_disk_not_only_the_ledger() {
    let sizes: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let s2 = Arc::clone(&sizes);
    let server = Hostile::start(move |seen, _| {
        let name = seen.query.get("filename").cloned().unwrap_or_default();
        let len = s2.lock().unwrap().get(&name).copied().unwrap_or(1000);
        file(&name, Body::from(content(&name, len)), Some(len as u64))
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(&server.base, ClientOptions::default());
    let names = ["D0.flac", "D1.flac", "D2.flac", "D3.flac", "D4.flac"];
    let tasks: Vec<TaskSpec> = names.iter().map(|n| archive(n, Some(1000))).collect();
    let first = run(dir.path(), &c, &tasks, false).await;
    assert_eq!(first.files, 5);
    let p = |n: &str| dir.path().join(n);
    // D0 deleted; D1 altered (same size, new mtime); D2 altered with its mtime put back;
    // D3 republished larger (the listing says so); D4 untouched.
    std::fs::remove_file(p("D0.flac")).unwrap();
    std::fs::write(p("D1.flac"), vec![0u8; 1000]).unwrap();
    let mtime = std::fs::metadata(p("D2.flac")).unwrap().modified().unwrap();
    std::fs::write(p("D2.flac"), vec![1u8; 1000]).unwrap();
    std::fs::File::options()
        .write(true)
        .open(p("D2.flac"))
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    sizes.lock().unwrap().insert("D3.flac".into(), 1500);
    let mut again = tasks.clone();
    again[3] = archive("D3.flac", Some(1500));
    let downloads = || server.seen("archivefile/download").len();
    let before = downloads();
    let second = run(dir.path(), &c, &again, false).await;
    assert_eq!(second.tasks_done, 5, "{second:?}");
    assert_eq!(downloads() - before, 3, "D0, D1 and D3 fetched again");
    for n in ["D0.flac", "D1.flac", "D4.flac"] {
        assert_eq!(std::fs::read(p(n)).unwrap(), content(n, 1000), "{n}");
    }
    assert_eq!(
        std::fs::read(p("D3.flac")).unwrap(),
        content("D3.flac", 1500)
    );
    // Same size and time: only --verify (a rehash) sees D2's new content.
    assert_eq!(std::fs::read(p("D2.flac")).unwrap(), vec![1u8; 1000]);
    let before = downloads();
    let third = run(dir.path(), &c, &again, true).await;
    assert_eq!(third.tasks_done, 5);
    assert_eq!(downloads() - before, 1, "only D2 fetched again");
    assert_eq!(
        std::fs::read(p("D2.flac")).unwrap(),
        content("D2.flac", 1000)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_the_same_folder_is_refused_naming_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let held = Engine::open(dir.path(), EngineConfig::default()).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_onc-hydro"))
        .args([
            "resume",
            dir.path().to_str().unwrap(),
            "--base-url",
            "http://127.0.0.1:9/",
        ])
        .env("ONC_TOKEN", TOKEN)
        .env_remove("ONC_BASE_URL")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("in use by another onc-hydro run"), "{err}");
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    assert!(err.contains(&dir.path().display().to_string()), "{err}");
    // The reader still works while the folder is held, and the lock goes with its holder.
    onc_hydro::engine::status_of(dir.path(), None).unwrap();
    drop(held);
    Engine::open(dir.path(), EngineConfig::default()).unwrap();
}

#[test]
fn status_of_a_file_that_is_not_a_ledger_says_so_and_leaves_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ledger.sqlite"), b"").unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_onc-hydro"))
        .args(["status", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("not an onc-hydro ledger") && err.contains("empty file"),
        "{err}"
    );
    assert_eq!(
        std::fs::metadata(dir.path().join("ledger.sqlite"))
            .unwrap()
            .len(),
        0
    );
    let e = Engine::open(dir.path(), EngineConfig::default()).unwrap_err();
    assert!(e.to_string().contains("not an onc-hydro ledger"), "{e}");
}
