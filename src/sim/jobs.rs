//! Data product jobs and the server-wide worker pool that runs them.
//!
//! ## Latency model (calibrated on a recorded run)
//! The seed notebook 004, scenario 2, records the real service running 14 HSD requests of 12
//! five-minute windows each (`dpo_spectralDataDownsample=2`), submitted 3 s apart and polled every
//! 30 s by one user: every request was estimated at "35 s", many reported "processing … %
//! complete" at the same time, and all 166 files were on disk after **102.6 s**. That is only
//! possible if all 14 ran at once: with 4 at a time the same schedule needs ≥ 4 × 35 s.
//! So the simulator runs jobs on a **server-wide pool of [`DEFAULT_JOB_WORKERS`] workers**
//! (ONC's "4 concurrent requests per user" is guidance for clients, not a limit the server
//! enforces); only past that capacity does a run wait `queued`, first come first served across
//! all tokens. 16 is the smallest power of two that holds the 14 seen running together; the real
//! cluster is shared with other users and its size is unknown, so the number is a floor, not a
//! measurement. A job takes exactly the `estimatedProcessingTime` the request returned (the cost
//! model in `products.rs`: 35 s for 12 HSD windows at downsample 2), times the time scale.
//! Replayed with the notebook's schedule this gives 2 polls per request and ≈ 100 s in all
//! (`tests/it/sim_replay.rs`, `scripts/replay_seed004.py`).
//!
//! Time is real seconds since start-up; queueing is an exact event simulation: whenever a job
//! finishes, the oldest queued job starts at that instant.
//!
//! Must not know: HTTP, request parameters.

use std::collections::HashMap;

use super::products::Plan;

pub(crate) const FIRST_REQUEST_ID: u64 = 28_892_274;
pub(crate) const FIRST_RUN_ID: u64 = 56_070_469;

/// Data product jobs the simulated server runs at once (see the module doc for why 16).
pub const DEFAULT_JOB_WORKERS: usize = 16;

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RunState {
    Queued {
        since: f64,
    },
    Running {
        start: f64,
    },
    Complete {
        at: f64,
    },
    Cancelled {
        at: f64,
    },
    /// Failed (an injected `error` fault); `restart` re-queues it.
    Failed {
        at: f64,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub id: u64,
    pub state: RunState,
    /// Seconds (already scaled) the job takes once started.
    pub duration: f64,
    /// Start time of the current attempt (for file readiness).
    pub started: Option<f64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub request_id: u64,
    pub plan: Plan,
    pub run: Option<Run>,
    /// When the request was made (seconds since start-up).
    pub requested_at: f64,
}

/// All requests of one simulator.
#[derive(Debug, Default)]
pub(crate) struct Jobs {
    next: u64,
    pub(crate) map: HashMap<u64, Job>,
    run_index: HashMap<u64, u64>,
}

impl Jobs {
    /// The job a run id belongs to.
    pub(crate) fn by_run(&self, run_id: u64) -> Option<&Job> {
        self.run_index.get(&run_id).and_then(|id| self.map.get(id))
    }

    /// A fresh `dpRequestId`.
    pub(crate) fn new_request_id(&mut self) -> u64 {
        let id = FIRST_REQUEST_ID + self.next;
        self.next += 1;
        id
    }

    /// The `dpRunId` the next run gets.
    pub(crate) fn next_run_id(&self) -> u64 {
        FIRST_RUN_ID + self.run_index.len() as u64
    }

    /// Records that run `run_id` belongs to request `request_id`.
    pub(crate) fn index_run(&mut self, run_id: u64, request_id: u64) {
        self.run_index.insert(run_id, request_id);
    }

    /// The request a run belongs to.
    pub(crate) fn request_of_run(&self, run_id: u64) -> Option<u64> {
        self.run_index.get(&run_id).copied()
    }

    /// Jobs running now, server-wide.
    fn running(&self) -> usize {
        self.map
            .values()
            .filter(|j| {
                matches!(
                    j.run.as_ref().map(|r| r.state),
                    Some(RunState::Running { .. })
                )
            })
            .count()
    }

    /// Starts queued jobs (oldest first, any token) while workers are free, at time `t`.
    pub(crate) fn promote(&mut self, t: f64, workers: usize) {
        while self.running() < workers {
            let next = self
                .map
                .values()
                .filter_map(|j| match j.run.as_ref().map(|r| r.state) {
                    Some(RunState::Queued { since }) => Some((since, j.request_id)),
                    _ => None,
                })
                .min_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            let Some((since, id)) = next else { break };
            if let Some(run) = self.map.get_mut(&id).and_then(|j| j.run.as_mut()) {
                let start = since.max(t);
                run.state = RunState::Running { start };
                run.started = Some(start);
            }
        }
    }

    /// Processes every completion up to `now`, in time order.
    pub(crate) fn advance(&mut self, now: f64, workers: usize) {
        loop {
            let due = self
                .map
                .values()
                .filter_map(|j| match j.run.as_ref().map(|r| (r.state, r.duration)) {
                    Some((RunState::Running { start }, d)) if start + d <= now => {
                        Some((start + d, j.request_id))
                    }
                    _ => None,
                })
                .min_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            let Some((at, id)) = due else { break };
            let Some(job) = self.map.get_mut(&id) else {
                break;
            };
            if let Some(run) = job.run.as_mut() {
                run.state = RunState::Complete { at };
            }
            self.promote(at, workers);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sim::catalog::Catalog;
    use crate::sim::clock::lit;
    use crate::sim::params::Params;
    use crate::sim::products;

    pub(crate) fn job(id: u64, duration: f64, since: f64) -> Job {
        let q = "dataProductCode=TSSD&extension=csv&deviceCode=SBECTD19p7128&dateFrom=2024-04-01&dateTo=2024-04-02";
        let plan = products::plan(
            &Catalog::builtin(),
            &Params::parse(Some(q)),
            lit("2026-01-01T00:00:00Z"),
            None,
            0,
        )
        .expect("plan");
        Job {
            request_id: id,
            plan,
            requested_at: since,
            run: Some(Run {
                id: id + 100,
                state: RunState::Queued { since },
                duration,
                started: None,
            }),
        }
    }

    fn state(j: &Jobs, id: u64) -> RunState {
        j.map[&id].run.as_ref().map(|r| r.state).expect("run")
    }

    #[test]
    fn queued_jobs_start_exactly_when_a_worker_frees() {
        let mut j = Jobs::default();
        for (id, since) in [(1, 0.0), (2, 0.5), (3, 1.0)] {
            j.map.insert(id, job(id, 10.0, since));
        }
        j.promote(1.0, 2);
        assert_eq!(state(&j, 1), RunState::Running { start: 1.0 });
        assert_eq!(
            state(&j, 2),
            RunState::Running { start: 1.0 },
            "first come, first served: the second request takes the second worker"
        );
        assert_eq!(state(&j, 3), RunState::Queued { since: 1.0 });
        j.advance(10.9, 2);
        assert_eq!(state(&j, 3), RunState::Queued { since: 1.0 });
        j.advance(30.0, 2);
        assert_eq!(state(&j, 1), RunState::Complete { at: 11.0 });
        // Job 3 started when job 1 finished (11.0) and so completed at 21.0.
        assert_eq!(state(&j, 3), RunState::Complete { at: 21.0 });
    }

    #[test]
    fn fourteen_jobs_of_one_user_run_together_under_the_default_pool() {
        let mut j = Jobs::default();
        for id in 0..14u64 {
            j.map.insert(id, job(id, 35.0, 3.0 * id as f64));
            j.promote(3.0 * id as f64, DEFAULT_JOB_WORKERS);
        }
        for id in 0..14u64 {
            assert!(
                matches!(state(&j, id), RunState::Running { .. }),
                "job {id}"
            );
        }
        j.advance(100.0, DEFAULT_JOB_WORKERS);
        assert_eq!(state(&j, 13), RunState::Complete { at: 39.0 + 35.0 });
    }
}
