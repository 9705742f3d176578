//! `dataProductDelivery/download`: what a poll of one file index sees at a given moment —
//! 202 with evolving progress messages (sometimes none), "Transferring (…) to the FTP server",
//! files ready one by one, 200 with the file, 404 past the end, 204 for no data, `meta`, 410 for
//! the `gone` fault, and 400 without `errors` after cancel.
//!
//! Must not know: axum.

use serde_json::{json, Value};

use super::delivery::{bad_id, id_param, jobs_now};
use super::jobs::{Job, Run, RunState};
use super::outputs;
use super::reply::{ApiError, Body, Reply};
use super::state::Ctx;
use super::sync::lock;

/// What a download poll sees.
enum Poll {
    NotReady(Value),
    Transferring(String),
    Ready(usize),
    Meta,
    NoData,
    PastEnd,
    Cancelled,
    Failed,
}

fn poll(job: &Job, run: &Run, index: Option<usize>, now: f64, scale: f64) -> Poll {
    let n = job.plan.outputs.len();
    let cost = job.plan.cost;
    match run.state {
        RunState::Cancelled { .. } => Poll::Cancelled,
        RunState::Failed { .. } => Poll::Failed,
        RunState::Queued { .. } => Poll::NotReady(
            json!({"status": "queued", "message": "Queued: waiting for processing resources"}),
        ),
        RunState::Complete { .. } => match index {
            None => Poll::Meta,
            Some(_) if n == 0 => Poll::NoData,
            Some(i) if i > n => Poll::PastEnd,
            Some(i) => Poll::Ready(i),
        },
        RunState::Running { start } => {
            let t = (now - start) / scale.max(1e-12);
            if let Some(i) = index.filter(|i| *i <= n) {
                let ready = cost.ready_after(i);
                if t >= ready {
                    return Poll::Ready(i);
                }
                if t >= ready - cost.transfer_s {
                    return Poll::Transferring(job.plan.outputs[i - 1].name().to_string());
                }
            }
            let gen_end = cost.base_s + cost.per_file_s * n as f64;
            if t >= gen_end {
                return Poll::NotReady(
                    json!({"status": "running", "message": "search complete, waiting on the file system to synchronize"}),
                );
            }
            if t < cost.base_s * 0.15 {
                return Poll::NotReady(json!({"status": "running"}));
            }
            let frac = (t / gen_end).clamp(0.0, 1.0);
            let msg = if job.plan.product == "HSD" && t >= cost.base_s {
                format!("Running... processing hydrophone spectral data, {:.1}% complete for deployment 1 of 1. (0.0% was pre-generated.)", 100.0 * (t - cost.base_s) / (gen_end - cost.base_s).max(1e-9))
            } else if frac < 0.3 {
                "Running... getting data for time segment 1 of 1.".to_string()
            } else if frac < 0.7 {
                "Running... working on time segment 1 of 1, for device deployment 1 of 1."
                    .to_string()
            } else {
                "Running... writing data products, time range 1 of 1.".to_string()
            };
            Poll::NotReady(json!({"status": "running", "message": msg}))
        }
    }
}

/// `dataProductDelivery/download?dpRunId=&index=` (GET and HEAD). `gone` = a 410 fault.
pub(crate) async fn download(ctx: &Ctx, gone: bool) -> Result<Reply, ApiError> {
    ctx.params.check_names(&["method", "dpRunId", "index"])?;
    let run_id = id_param(ctx, "dpRunId")?;
    let index = match ctx.params.get("index").unwrap_or("1") {
        "meta" => None,
        v => Some(
            v.parse::<usize>()
                .ok()
                .filter(|i| *i > 0)
                .ok_or_else(|| ApiError::invalid("index", format!("Invalid index: {v}")))?,
        ),
    };
    let scale = ctx.sim.config.time_scale;
    let (what, job) = {
        let (jobs, now) = jobs_now(ctx);
        let job = jobs.by_run(run_id).ok_or_else(|| bad_id("dpRunId"))?;
        let run = job.run.as_ref().ok_or_else(|| bad_id("dpRunId"))?;
        (poll(job, run, index, now, scale), job.clone())
    };
    match what {
        Poll::Cancelled => Err(ApiError::plain(
            400,
            json!({"status": "cancelled", "message": "The data product request was cancelled."}),
        )),
        Poll::Failed => Err(ApiError::plain(
            400,
            json!({"status": "error", "message": "The data product run failed; restart the request."}),
        )),
        Poll::NotReady(body) => Ok(Reply::json(202, body)),
        Poll::Transferring(name) if gone => Err(ApiError::plain(
            410,
            json!({"message": format!("File {name} is not available on the FTP server yet.")}),
        )),
        Poll::Transferring(name) => Ok(Reply::json(
            202,
            json!({"status": "running", "message": format!("Transferring ({name}) to the FTP server")}),
        )),
        Poll::NoData => Ok(Reply::empty(204)),
        Poll::PastEnd => Err(ApiError::plain(
            404,
            json!({"message": format!("Index {} is past the last file of run {run_id}.", index.unwrap_or(0))}),
        )),
        Poll::Meta => {
            let xml = outputs::meta_xml(&job.plan, run_id, job.request_id);
            Ok(Reply::file(
                bytes::Bytes::from(xml),
                "application/xml",
                Some(job.plan.meta_name.clone()),
            ))
        }
        Poll::Ready(i) => {
            let out = job.plan.outputs[i - 1].clone();
            let key = format!("dp/{}/{}", job.request_id, out.name());
            if let Some(b) = lock(&ctx.sim.cache).get(&key) {
                return Ok(Reply::file(
                    b,
                    out.content_type(),
                    Some(out.name().to_string()),
                ));
            }
            let sim = std::sync::Arc::clone(&ctx.sim);
            let o = out.clone();
            let rendered = tokio::task::spawn_blocking(move || {
                let c = &sim.config;
                outputs::render(
                    &sim.catalog,
                    &o,
                    c.audio_sample_rate_override,
                    c.seed,
                    c.scalar_nan,
                )
            })
            .await;
            let bytes = match rendered {
                Ok(Ok(b)) => bytes::Bytes::from(b),
                Ok(Err(e)) => {
                    return Err(ApiError::plain(
                        500,
                        json!({"status": "error", "message": e.to_string()}),
                    ))
                }
                Err(e) => {
                    return Err(ApiError::plain(
                        500,
                        json!({"status": "error", "message": e.to_string()}),
                    ))
                }
            };
            lock(&ctx.sim.cache).put(&key, bytes.clone());
            Ok(Reply {
                status: 200,
                body: Body::File {
                    data: bytes,
                    content_type: out.content_type(),
                    filename: Some(out.name().to_string()),
                },
                rows: 0,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::jobs::tests::job;

    #[test]
    fn poll_messages_evolve_and_files_come_one_by_one() {
        let mut jb = job(1, 0.0, 0.0);
        let cost = jb.plan.cost;
        let run = Run {
            id: 9,
            state: RunState::Running { start: 0.0 },
            duration: cost.total(1),
            started: Some(0.0),
        };
        jb.run = Some(run.clone());
        let msg = |t: f64| match poll(&jb, &run, Some(1), t, 1.0) {
            Poll::NotReady(v) => v
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("")
                .to_string(),
            Poll::Transferring(name) => format!("T {name}"),
            Poll::Ready(i) => format!("ready {i}"),
            _ => "other".into(),
        };
        assert_eq!(msg(0.1), "", "the first polls carry no message");
        assert!(msg(cost.base_s * 0.3).starts_with("Running... getting data"));
        assert!(msg(cost.base_s + cost.per_file_s - 0.01).starts_with("Running..."));
        assert!(msg(cost.ready_after(1) - 0.5).starts_with("T BarkleyCanyon_Axis_"));
        assert_eq!(msg(cost.ready_after(1)), "ready 1");
        assert!(matches!(
            poll(&jb, &run, Some(2), cost.ready_after(1) + 0.5, 1.0),
            Poll::NotReady(_)
        ));
    }
}
