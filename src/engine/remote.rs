//! The engine's door to the server: every remote call goes through the global request-rate cap
//! and is counted per endpoint for the summary.
//!
//! Must not know: the ledger, retry policy (callers classify errors).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::summary::Stats;
use crate::api::{
    ApiError, Client, DataProductOrder, DataProductRequest, DownloadIndex, DownloadOutcome,
    FileBody, RequestId, RunId, RunInfo, RunResponse,
};

/// A rate-limited, counting wrapper around [`Client`].
pub(crate) struct Remote {
    client: Client,
    limiter: Option<DefaultDirectRateLimiter>,
    stats: Arc<Stats>,
}

impl Remote {
    /// `max_per_second` ≤ 0 means no cap.
    pub(crate) fn new(client: Client, max_per_second: f64, stats: Arc<Stats>) -> Remote {
        let limiter = (max_per_second > 0.0 && max_per_second.is_finite())
            .then(|| Quota::with_period(Duration::from_secs_f64(1.0 / max_per_second)))
            .flatten()
            .map(|q| RateLimiter::direct(q.allow_burst(NonZeroU32::MIN)));
        Remote {
            client,
            limiter,
            stats,
        }
    }

    async fn gate(&self, endpoint: &str) {
        if let Some(l) = &self.limiter {
            l.until_ready().await;
        }
        self.stats.count_request(endpoint);
    }

    pub(crate) async fn request(
        &self,
        order: &DataProductOrder,
    ) -> Result<DataProductRequest, ApiError> {
        self.gate("dataProductDelivery/request").await;
        self.client.request(order).await
    }

    pub(crate) async fn run(&self, request: RequestId) -> Result<RunResponse, ApiError> {
        self.gate("dataProductDelivery/run").await;
        self.client.run(request).await
    }

    pub(crate) async fn download(
        &self,
        run: RunId,
        index: DownloadIndex,
    ) -> Result<DownloadOutcome, ApiError> {
        self.gate("dataProductDelivery/download").await;
        self.client.download(run, index).await
    }

    pub(crate) async fn archive_download(&self, name: &str) -> Result<FileBody, ApiError> {
        self.gate("archivefile/download").await;
        self.client.archive_download(name).await
    }

    pub(crate) async fn cancel(&self, request: RequestId) -> Result<Vec<RunInfo>, ApiError> {
        self.gate("dataProductDelivery/cancel").await;
        self.client.cancel(request).await
    }
}
