//! Crash safety of the real binary: `run-tasks` over 200 data-product orders is SIGKILLed at
//! many points (after a delay, right after a `dpRequestId` was committed, after some tasks
//! finished) and restarted each time. In the end every task is done, every file is whole, and
//! the simulator's request log shows that no task was ever requested again once its
//! `dpRequestId` had been recorded.

use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use onc_hydro::engine::{status_of, Engine, EngineConfig, TaskId, TaskState};
use onc_hydro::sim::{SimServer, DEMO_TOKEN};

use super::engine_run::{assert_all_files_whole, ctd_orders, sim_config};

fn cli(base_url: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_onc-hydro"));
    c.args(args)
        .args(["--base-url", base_url])
        .env("ONC_TOKEN", DEMO_TOKEN)
        .env_remove("ONC_BASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// When to kill attempt `i`.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    After(Duration),
    /// As soon as some task shows `requested` (dpRequestId committed, run not yet recorded).
    Requested,
    /// Once `n` more tasks are done than at the start of the attempt.
    Progress(u64),
}

fn query_value<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_many_points_never_repeats_a_recorded_request() {
    let sim = SimServer::start(sim_config()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tasks_file = dir.path().join("tasks.json");
    std::fs::write(
        &tasks_file,
        serde_json::to_string(&ctd_orders(200, Some("ctd"))).unwrap(),
    )
    .unwrap();
    let out = dir.path().join("out");
    let (tasks_arg, out_arg) = (tasks_file.to_str().unwrap(), out.to_str().unwrap());
    let run_args = [
        "run-tasks",
        "--tasks",
        tasks_arg,
        "--out",
        out_arg,
        "--quiet",
        "--server-time-scale",
        "0.001",
        "--stagger",
        "0.001",
    ];
    let plan = [
        KillAt::After(Duration::from_millis(30)),
        KillAt::Requested,
        KillAt::Progress(5),
        KillAt::Requested,
        KillAt::After(Duration::from_millis(120)),
        KillAt::Progress(12),
        KillAt::Requested,
        KillAt::After(Duration::from_millis(75)),
        KillAt::Progress(20),
        KillAt::Requested,
        KillAt::After(Duration::from_millis(200)),
        KillAt::Requested,
    ];
    let mut kills = 0;
    let mut finished_early = false;
    for at in plan {
        let done_before = status_of(&out, None)
            .map(|s| s.count(TaskState::Done))
            .unwrap_or(0);
        let mut child = cli(sim.base_url(), &run_args).spawn().unwrap();
        let started = Instant::now();
        loop {
            if child.try_wait().unwrap().is_some() {
                finished_early = true;
                break;
            }
            let hit = match at {
                KillAt::After(d) => started.elapsed() >= d,
                KillAt::Requested => status_of(&out, None)
                    .map(|s| s.count(TaskState::Requested) > 0)
                    .unwrap_or(false),
                KillAt::Progress(n) => status_of(&out, None)
                    .map(|s| s.count(TaskState::Done) >= done_before + n)
                    .unwrap_or(false),
            };
            if hit || started.elapsed() > Duration::from_secs(20) {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if finished_early {
            break;
        }
    }
    assert!(
        kills >= 8,
        "only {kills} kills landed before the run finished"
    );
    // Finish with `resume`, which needs only the folder.
    let out_final = cli(sim.base_url(), &["resume", out_arg, "--quiet"])
        .output()
        .unwrap();
    assert_eq!(
        out_final.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out_final.stderr)
    );

    let engine = Engine::open(&out, EngineConfig::default()).unwrap();
    let status = engine.status().unwrap();
    assert_eq!(status.count(TaskState::Done), 200, "{status:?}");
    assert_eq!(assert_all_files_whole(&engine), 200);

    // The request log: which requests were made, which were run.
    let log = sim.request_log();
    let mut requests_per_task: HashMap<&str, usize> = HashMap::new();
    for r in log
        .iter()
        .filter(|r| r.endpoint == "dataProductDelivery/request" && r.status == 200)
    {
        *requests_per_task.entry(r.query.as_str()).or_default() += 1;
    }
    assert_eq!(requests_per_task.len(), 200);
    let run_ids: HashSet<u64> = log
        .iter()
        .filter(|r| r.endpoint == "dataProductDelivery/run")
        .filter_map(|r| query_value(&r.query, "dpRequestId")?.parse().ok())
        .collect();
    let recorded: HashSet<u64> = (1..=200)
        .map(|i| {
            engine
                .ledger()
                .task(TaskId(i))
                .unwrap()
                .unwrap()
                .request_id
                .unwrap()
                .0
        })
        .collect();
    assert_eq!(recorded.len(), 200, "one dpRequestId per task");
    // Every request that was ever run is the one its task has recorded: no task moved on to a
    // second request after its first was recorded.
    assert!(
        run_ids.is_subset(&recorded),
        "run called for requests the ledger does not hold: {:?}",
        run_ids.difference(&recorded).collect::<Vec<_>>()
    );
    // Extra requests can only come from a kill between the server's answer and the commit.
    let extra: usize = requests_per_task.values().map(|n| n - 1).sum();
    assert!(extra <= kills, "{extra} extra requests for {kills} kills");
    eprintln!(
        "{kills} kills, {extra} orphaned requests, {} requests in all",
        log.len()
    );
}
