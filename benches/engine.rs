//! Engine benchmark: N data-product jobs (TSSD csv, 13 s of ONC-like server work each) against
//! the in-process simulator at a reduced time scale, comparing
//! * the engine's wall time,
//! * the schedule's lower bound: ceil(N / run slots) × (one job's server time) + one transfer,
//!   with the job's server time measured on an idle simulator, and
//! * a sequential request → wait → download loop polling like ONC's Python client (its
//!   2 %-of-estimate period clamped to 1–10 s, scaled).
//!
//! Run: `cargo bench --bench engine` (env `ENGINE_BENCH_N`, default 40; `ENGINE_BENCH_SCALE`,
//! default 0.05, i.e. a 13 s job takes 0.65 s). Prints one table; no assertions.

// Test and benchmark code may unwrap, panic and print: a failure here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    missing_docs
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use onc_hydro::api::{
    onc_poll_period, Client, DataProductOrder, DataSource, DownloadIndex, DownloadOutcome,
};
use onc_hydro::engine::{Engine, EngineConfig, EngineSettings, NullReporter, OrderSpec, TaskSpec};
use onc_hydro::sim::{SimConfig, SimServer, DEMO_TOKEN};

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn order(i: usize) -> OrderSpec {
    let start: jiff::Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
    let from = start + jiff::SignedDuration::from_hours(24 * i as i64);
    OrderSpec {
        product: "TSSD".into(),
        extension: "csv".into(),
        device: Some("SBECTD19p7128".into()),
        location: None,
        device_category: None,
        property: None,
        date_from: from,
        date_to: from + jiff::SignedDuration::from_mins(10),
        options: Default::default(),
        include_meta: false,
        folder: None,
    }
}

fn api_order(o: &OrderSpec) -> DataProductOrder {
    DataProductOrder::new(
        o.product.as_str(),
        o.extension.as_str(),
        DataSource::Device {
            device: o.device.clone().unwrap().into(),
            property: None,
        },
        o.date_from,
        o.date_to,
    )
}

async fn sim(scale: f64) -> SimServer {
    SimServer::start(SimConfig {
        time_scale: scale,
        now: "2026-01-01T00:00:00Z".parse().unwrap(),
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// One job alone, polled every millisecond: (server time from `run` to complete, transfer).
async fn one_job(client: &Client, o: &OrderSpec) -> (Duration, Duration) {
    let req = client.request(&api_order(o)).await.unwrap();
    let t = Instant::now();
    let mut resp = client.run(req.dp_request_id).await.unwrap();
    while !resp.is_complete() {
        tokio::time::sleep(Duration::from_millis(1)).await;
        resp = client.run(req.dp_request_id).await.unwrap();
    }
    let server = t.elapsed();
    let t = Instant::now();
    match client
        .download(resp.runs[0].dp_run_id, DownloadIndex::File(1))
        .await
        .unwrap()
    {
        DownloadOutcome::Ready(b) => {
            b.bytes().await.unwrap();
        }
        other => panic!("unexpected {other:?}"),
    }
    (server, t.elapsed())
}

/// ONC's Python client, one order after another (request, run, poll download, download).
async fn sequential(client: &Client, orders: &[OrderSpec], scale: f64) -> Duration {
    let t = Instant::now();
    for o in orders {
        let req = client.request(&api_order(o)).await.unwrap();
        let period = onc_poll_period(req.processing_time()).mul_f64(scale);
        let run = client.run(req.dp_request_id).await.unwrap().runs[0].dp_run_id;
        let mut index = 1;
        loop {
            match client
                .download(run, DownloadIndex::File(index))
                .await
                .unwrap()
            {
                DownloadOutcome::Ready(b) => {
                    b.bytes().await.unwrap();
                    index += 1;
                }
                DownloadOutcome::NotReady { .. } => tokio::time::sleep(period).await,
                _ => break,
            }
        }
    }
    t.elapsed()
}

fn main() {
    let n: usize = env_or("ENGINE_BENCH_N", 40);
    let scale: f64 = env_or("ENGINE_BENCH_SCALE", 0.05);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let orders: Vec<OrderSpec> = (0..n).map(order).collect();
        let s = sim(scale).await;
        let client = Client::new(s.base_url(), DEMO_TOKEN).unwrap();
        let (server, transfer) = one_job(&client, &order(n + 1)).await;
        drop(s);

        let s = sim(scale).await;
        let client = Client::new(s.base_url(), DEMO_TOKEN).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut settings = EngineSettings::scaled(scale);
        settings.max_requests_per_second = 0.0;
        let slots = settings.run_slots;
        let engine = Engine::open(
            dir.path(),
            EngineConfig {
                settings: Some(settings),
                ..EngineConfig::default()
            },
        )
        .unwrap();
        let tasks: Vec<TaskSpec> = orders.iter().cloned().map(TaskSpec::Order).collect();
        engine.plan(&tasks).unwrap();
        let summary = engine.run(&client, Arc::new(NullReporter)).await.unwrap();
        assert_eq!(summary.tasks_done, n as u64, "{summary}");
        let engine_wall = Duration::from_secs_f64(summary.wall_seconds);
        drop(s);

        let s = sim(scale).await;
        let client = Client::new(s.base_url(), DEMO_TOKEN).unwrap();
        let seq = sequential(&client, &orders, scale).await;

        let waves = n.div_ceil(slots) as u32;
        let bound = server * waves + transfer;
        let pct = |d: Duration| 100.0 * (d.as_secs_f64() / bound.as_secs_f64() - 1.0);
        println!("engine benchmark: {n} TSSD jobs, time scale {scale}, {slots} run slots");
        println!(
            "  one job on an idle server: {:.3} s (+ {:.3} s transfer)",
            server.as_secs_f64(),
            transfer.as_secs_f64()
        );
        println!("  lower bound   {:>8.3} s", bound.as_secs_f64());
        println!(
            "  engine        {:>8.3} s  ({:+.1} % vs bound; {} requests, {:.1} s jobs on server)",
            engine_wall.as_secs_f64(),
            pct(engine_wall),
            summary.total_requests(),
            summary.server_wait_seconds
        );
        println!(
            "  sequential    {:>8.3} s  ({:+.1} % vs bound; engine is {:.2}x faster)",
            seq.as_secs_f64(),
            pct(seq),
            seq.as_secs_f64() / engine_wall.as_secs_f64()
        );
    });
}
