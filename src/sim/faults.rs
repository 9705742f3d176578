//! Fault injection, configured per simulator instance: transient 5xx (and optional 429), 410
//! on product downloads, connection resets mid-body, truncated bodies (Content-Length larger
//! than what is sent) and slow responses. Either by probability per endpoint scope or as an
//! exact script ("the 3rd product download answers 503").
//!
//! Faults are decided before a handler runs (status faults never reach the state machine) or
//! applied to the finished body (reset/truncate), so they never corrupt the simulator's state.
//!
//! Spec grammar (the `--faults SPEC` flag; items separated by `,`):
//! ```text
//! ITEM  := SCOPE '#' N '=' KIND        the N-th request (1-based) of SCOPE gets KIND
//!        | SCOPE '~' P '=' KIND        each request of SCOPE gets KIND with probability P (0..1)
//! SCOPE := any | discovery | request | run | status | download | cancel | restart
//!        | list | archive | scalar | raw | m2m | thredds | fileserver | async
//!          (download = dataProductDelivery/download, archive = archivefile/download,
//!           list = archive file listings; the OOI simulator: m2m = inventory, deployments and
//!           data requests, thredds = catalog pages, fileserver = file downloads,
//!           async = status.txt)
//! KIND  := 500 | 502 | 503 | 504 | 429 | gone | error | reset | truncate | slow[:SECONDS]
//!          (slow waits SECONDS × time scale, default 30; gone = 410 on a product download;
//!           error = the data product run fails, on run/status/download scopes; on m2m, an
//!           OOI data request that never completes)
//! ```
//! Example: `download#3=503,archive#5=reset,any~0.05=502,status~0.1=slow:50`.
//!
//! Must not know: axum, the catalog, job state.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use super::rng::{str_hash, unit};
use super::sync::lock;

/// Endpoint groups faults are aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultScope {
    /// Every endpoint.
    Any,
    /// `locations`, `devices`, `deviceCategories`, `properties`, `dataProducts`, `deployments`.
    Discovery,
    /// `dataProductDelivery/request`.
    Request,
    /// `dataProductDelivery/run`.
    Run,
    /// `dataProductDelivery/status`.
    Status,
    /// `dataProductDelivery/download`.
    Download,
    /// `dataProductDelivery/cancel`.
    Cancel,
    /// `dataProductDelivery/restart`.
    Restart,
    /// `archivefile/location|device` listings.
    List,
    /// `archivefile/download`.
    Archive,
    /// `scalardata/location|device`.
    Scalar,
    /// `rawdata/location|device`.
    Raw,
    /// OOI M2M calls (inventory, deployments, data requests).
    M2m,
    /// OOI THREDDS catalog pages.
    Thredds,
    /// OOI THREDDS file-server downloads.
    FileServer,
    /// OOI `status.txt` checks.
    Async,
    /// OOI raw-data archive listings and miniSEED files.
    OoiRaw,
}

impl FaultScope {
    const ALL: [(&'static str, FaultScope); 17] = [
        ("any", FaultScope::Any),
        ("discovery", FaultScope::Discovery),
        ("request", FaultScope::Request),
        ("run", FaultScope::Run),
        ("status", FaultScope::Status),
        ("download", FaultScope::Download),
        ("cancel", FaultScope::Cancel),
        ("restart", FaultScope::Restart),
        ("list", FaultScope::List),
        ("archive", FaultScope::Archive),
        ("scalar", FaultScope::Scalar),
        ("raw", FaultScope::Raw),
        ("m2m", FaultScope::M2m),
        ("thredds", FaultScope::Thredds),
        ("fileserver", FaultScope::FileServer),
        ("async", FaultScope::Async),
        ("ooi-raw", FaultScope::OoiRaw),
    ];

    /// The scope's name in a `--faults` spec, e.g. `download`.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|x| x.1 == self)
            .map_or("any", |x| x.0)
    }

    fn parse(s: &str) -> Option<FaultScope> {
        Self::ALL.iter().find(|x| x.0 == s).map(|x| x.1)
    }
}

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaultKind {
    /// An HTTP status (500, 502, 503, 504 or 429) with a short JSON body.
    Status(u16),
    /// 410 on a data product download (the file is "being transferred").
    Gone,
    /// The data product run fails (`status: error`); only on run, status and download.
    RunError,
    /// Half the body is sent, then the connection is aborted.
    Reset,
    /// `Content-Length` announces the whole body but only half is sent.
    Truncate,
    /// The response is delayed by this many seconds (× time scale).
    Slow(f64),
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::Status(c) => write!(f, "{c}"),
            FaultKind::Gone => write!(f, "gone"),
            FaultKind::RunError => write!(f, "error"),
            FaultKind::Reset => write!(f, "reset"),
            FaultKind::Truncate => write!(f, "truncate"),
            FaultKind::Slow(s) => write!(f, "slow:{s}"),
        }
    }
}

/// A bad `--faults` spec item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad fault spec item '{item}': {reason} (expected SCOPE#N=KIND or SCOPE~P=KIND, e.g. download#3=503 or any~0.05=reset)")]
pub struct FaultParseError {
    /// The item as given.
    pub item: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The faults of one simulator instance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultPlan {
    /// Exact: `(scope, n, kind)` — the n-th request of the scope.
    pub script: Vec<(FaultScope, u64, FaultKind)>,
    /// Random: `(scope, probability, kind)`.
    pub chances: Vec<(FaultScope, f64, FaultKind)>,
}

fn parse_kind(s: &str) -> Option<FaultKind> {
    match s {
        "500" | "502" | "503" | "504" | "429" => s.parse().ok().map(FaultKind::Status),
        "gone" | "410" => Some(FaultKind::Gone),
        "error" => Some(FaultKind::RunError),
        "reset" => Some(FaultKind::Reset),
        "truncate" => Some(FaultKind::Truncate),
        "slow" => Some(FaultKind::Slow(30.0)),
        _ => {
            let secs: f64 = s.strip_prefix("slow:")?.parse().ok()?;
            (secs.is_finite() && secs >= 0.0).then_some(FaultKind::Slow(secs))
        }
    }
}

impl FaultPlan {
    /// No faults.
    pub fn none() -> FaultPlan {
        FaultPlan::default()
    }

    /// Parses a spec (see the module docs). An empty spec means no faults.
    pub fn parse(spec: &str) -> Result<FaultPlan, FaultParseError> {
        let mut plan = FaultPlan::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let err = |reason: &str| FaultParseError {
                item: item.to_string(),
                reason: reason.to_string(),
            };
            let (lhs, kind) = item.split_once('=').ok_or_else(|| err("missing '='"))?;
            let kind = parse_kind(kind.trim()).ok_or_else(|| {
                err("unknown kind (use 500, 502, 503, 504, 429, gone, error, reset, truncate, slow[:SECONDS])")
            })?;
            if let Some((scope, n)) = lhs.split_once('#') {
                let scope = FaultScope::parse(scope.trim()).ok_or_else(|| err("unknown scope"))?;
                let n: u64 = n
                    .trim()
                    .parse()
                    .map_err(|_| err("N must be a positive integer"))?;
                if n == 0 {
                    return Err(err("N must be a positive integer"));
                }
                plan.script.push((scope, n, kind));
            } else if let Some((scope, p)) = lhs.split_once('~') {
                let scope = FaultScope::parse(scope.trim()).ok_or_else(|| err("unknown scope"))?;
                let p: f64 = p
                    .trim()
                    .parse()
                    .map_err(|_| err("P must be a number in 0..1"))?;
                if !(0.0..=1.0).contains(&p) {
                    return Err(err("P must be a number in 0..1"));
                }
                plan.chances.push((scope, p, kind));
            } else {
                return Err(err("expected '#N' or '~P' after the scope"));
            }
        }
        Ok(plan)
    }

    /// Whether the plan injects nothing.
    pub fn is_empty(&self) -> bool {
        self.script.is_empty() && self.chances.is_empty()
    }
}

/// Per-instance counters that decide which request gets which fault.
#[derive(Debug)]
pub(crate) struct FaultState {
    plan: FaultPlan,
    seed: u64,
    counts: Mutex<HashMap<FaultScope, u64>>,
}

impl FaultState {
    pub(crate) fn new(plan: FaultPlan, seed: u64) -> FaultState {
        FaultState {
            plan,
            seed,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request of `scope` and returns the fault it gets, if any.
    pub(crate) fn decide(&self, scope: FaultScope) -> Option<FaultKind> {
        let (n_scope, n_any) = {
            let mut c = lock(&self.counts);
            let a = {
                let e = c.entry(FaultScope::Any).or_insert(0);
                *e += 1;
                *e
            };
            let s = {
                let e = c.entry(scope).or_insert(0);
                *e += 1;
                *e
            };
            (s, a)
        };
        for &(s, n, kind) in &self.plan.script {
            if (s == scope && n == n_scope) || (s == FaultScope::Any && n == n_any) {
                return Some(kind);
            }
        }
        for &(s, p, kind) in &self.plan.chances {
            let n = if s == FaultScope::Any { n_any } else { n_scope };
            if (s == scope || s == FaultScope::Any) && unit(self.seed ^ str_hash(s.name()), n) < p {
                return Some(kind);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_grammar() {
        let p = FaultPlan::parse("download#3=503, archive#5=reset,any~0.5=slow:2,list~1=truncate")
            .unwrap();
        assert_eq!(
            p.script,
            vec![
                (FaultScope::Download, 3, FaultKind::Status(503)),
                (FaultScope::Archive, 5, FaultKind::Reset)
            ]
        );
        assert_eq!(p.chances.len(), 2);
        assert_eq!(p.chances[0].2, FaultKind::Slow(2.0));
        assert!(FaultPlan::parse("").unwrap().is_empty());
        for bad in [
            "download#0=503",
            "nowhere#1=503",
            "download#1=418",
            "download=503",
            "any~2=500",
            "x",
        ] {
            let e = FaultPlan::parse(bad).unwrap_err();
            assert_eq!(e.item, bad, "{e}");
        }
    }

    #[test]
    fn script_hits_exactly_the_nth_request() {
        let s = FaultState::new(FaultPlan::parse("download#2=504,any#1=500").unwrap(), 1);
        assert_eq!(s.decide(FaultScope::Status), Some(FaultKind::Status(500)));
        assert_eq!(s.decide(FaultScope::Download), None);
        assert_eq!(s.decide(FaultScope::Download), Some(FaultKind::Status(504)));
        assert_eq!(s.decide(FaultScope::Download), None);
        let s = FaultState::new(FaultPlan::parse("run~1=reset,run~0=500").unwrap(), 1);
        assert_eq!(s.decide(FaultScope::Run), Some(FaultKind::Reset));
        assert_eq!(s.decide(FaultScope::Status), None);
    }
}
