//! The shared state of one simulator instance (configuration, catalog, clock, content cache,
//! jobs, request log, fault counters) and the per-request context handlers receive.
//!
//! Must not know: axum (handlers see `Ctx` and return `Reply`).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use jiff::Timestamp;
use serde_json::{json, Value};

use super::archive::{self, ArchiveFile, ContentCache};
use super::catalog::Catalog;
use super::clock::SimClock;
use super::content::ContentError;
use super::faults::FaultState;
use super::jobs::Jobs;
use super::log::RequestLog;
use super::params::Params;
use super::reprocess::{version_at, Reprocessing};
use super::sync::lock;
use super::SimConfig;

/// Cache bound for rendered archive content. HSD files now render in milliseconds, so the
/// cache only has to spare re-rendering audio between a HEAD and its GET or a retry; 512 MB
/// held the demo's whole 357 MB of spectra in memory.
const CACHE_BYTES: usize = 96 * 1024 * 1024;

/// One running simulator.
pub(crate) struct Sim {
    pub config: SimConfig,
    pub catalog: Catalog,
    pub clock: SimClock,
    pub base_url: String,
    pub cache: Mutex<ContentCache>,
    pub jobs: Mutex<Jobs>,
    pub log: RequestLog,
    pub faults: FaultState,
    /// The OOI simulator's requests.
    pub ooi: Mutex<super::ooi::Requests>,
    /// Reprocessing events (from the configuration and added at run time).
    pub reprocess: Mutex<Vec<Reprocessing>>,
}

impl Sim {
    pub(crate) fn new(config: SimConfig, base_url: String, log: RequestLog) -> Sim {
        let faults = FaultState::new(config.faults.clone(), config.seed);
        Sim {
            clock: SimClock::new(config.now, config.clock_speed),
            reprocess: Mutex::new(config.reprocess.clone()),
            catalog: Catalog::builtin(),
            base_url,
            cache: Mutex::new(ContentCache::new(CACHE_BYTES)),
            jobs: Mutex::new(Jobs::default()),
            log,
            faults,
            ooi: Mutex::new(super::ooi::Requests::default()),
            config,
        }
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// `file` in its current version, with the time of its last reprocessing (if any).
    pub(crate) fn current(&self, mut file: ArchiveFile) -> (ArchiveFile, Option<Timestamp>) {
        let (version, at) = version_at(&lock(&self.reprocess), &file.name(), self.now());
        file.version = version;
        (file, at)
    }

    /// The bytes of an archive file (rendered off the async threads, cached).
    pub(crate) async fn file_bytes(
        self: &Arc<Self>,
        file: &ArchiveFile,
    ) -> Result<Bytes, ContentError> {
        let key = file.cache_key();
        if let Some(b) = lock(&self.cache).get(&key) {
            return Ok(b);
        }
        let me = Arc::clone(self);
        let f = file.clone();
        let rendered = tokio::task::spawn_blocking(move || {
            archive::render(
                &me.catalog,
                &f,
                me.config.audio_sample_rate_override,
                me.config.seed,
            )
        })
        .await
        .map_err(|e| ContentError::Render {
            what: key.clone(),
            reason: format!("renderer stopped: {e}"),
        })??;
        let b = Bytes::from(rendered);
        lock(&self.cache).put(&key, b.clone());
        Ok(b)
    }

    /// The size of an archive file in bytes (predicted for audio; other files are rendered once).
    pub(crate) async fn file_size(
        self: &Arc<Self>,
        file: &ArchiveFile,
    ) -> Result<u64, ContentError> {
        let c = &self.config;
        if let Some(n) =
            archive::predicted_size(&self.catalog, file, c.audio_sample_rate_override, c.seed)
        {
            return Ok(n);
        }
        if let Some(n) = lock(&self.cache).size(&file.cache_key()) {
            return Ok(n);
        }
        Ok(self.file_bytes(file).await?.len() as u64)
    }
}

/// What a handler knows about the request it serves.
pub(crate) struct Ctx {
    pub sim: Arc<Sim>,
    /// All query parameters (including `token` and, on legacy paths, `method`).
    pub params: Params,
    /// The request path without the leading slash, e.g. `api/archivefile/device`.
    pub path: String,
}

impl Ctx {
    pub(crate) fn now(&self) -> Timestamp {
        self.sim.now()
    }

    pub(crate) fn url_for(&self, params: &Params) -> String {
        format!(
            "{}{}?{}",
            self.sim.base_url,
            self.path,
            params.query_string()
        )
    }

    /// The request's own URL as ONC echoes it in `queryUrl` (token included, as ONC does).
    pub(crate) fn query_url(&self) -> String {
        self.url_for(&self.params)
    }

    /// A `next` object: all parameters (incl. token) with the given changes, and its URL.
    pub(crate) fn next(&self, changes: &[(&str, String)]) -> Value {
        let mut p = self.params.clone();
        for (k, v) in changes {
            p = p.with(k, v);
        }
        json!({"parameters": p.to_json(), "url": self.url_for(&p)})
    }
}
