//! The engine's door to the servers (Oceans 3.0, and OOI when an OOI client is given): every
//! remote call goes through the global request-rate cap and is counted per endpoint for the
//! summary.
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
use crate::ooi;

/// The clients a run talks through (at least one).
#[derive(Debug, Clone, Default)]
pub struct Providers {
    /// Oceans 3.0.
    pub onc: Option<Client>,
    /// OOI M2M + THREDDS.
    pub ooi: Option<ooi::Client>,
    /// OOI's public raw-data archive.
    pub ooi_raw: Option<ooi::RawClient>,
}

/// A rate-limited, counting wrapper around [`Client`].
pub(crate) struct Remote {
    client: Option<Client>,
    ooi: Option<ooi::Client>,
    ooi_raw: Option<ooi::RawClient>,
    limiter: Option<DefaultDirectRateLimiter>,
    stats: Arc<Stats>,
}

impl Remote {
    /// `max_per_second` ≤ 0 means no cap.
    pub(crate) fn new(providers: Providers, max_per_second: f64, stats: Arc<Stats>) -> Remote {
        let limiter = (max_per_second > 0.0 && max_per_second.is_finite())
            .then(|| Quota::with_period(Duration::from_secs_f64(1.0 / max_per_second)))
            .flatten()
            .map(|q| RateLimiter::direct(q.allow_burst(NonZeroU32::MIN)));
        Remote {
            client: providers.onc,
            ooi: providers.ooi,
            ooi_raw: providers.ooi_raw,
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

    fn onc(&self) -> Result<&Client, ApiError> {
        self.client
            .as_ref()
            .ok_or_else(|| ApiError::InvalidArgument {
                what: "client".into(),
                message: "this run has no Oceans 3.0 client (an ONC task in an OOI-only run)"
                    .into(),
            })
    }

    fn ooi(&self) -> Result<&ooi::Client, ooi::OoiError> {
        self.ooi.as_ref().ok_or_else(|| {
            ooi::OoiError::Credentials(
                "this run has no OOI client: run OOI tasks with `onc-hydro ooi …` (credentials needed)"
                    .into(),
            )
        })
    }

    fn ooi_raw(&self) -> Result<&ooi::RawClient, ooi::OoiError> {
        self.ooi_raw.as_ref().ok_or_else(|| {
            ooi::OoiError::invalid(
                "providers",
                "this run has no OOI raw-data client: run these tasks with `onc-hydro ooi raw` or `resume`",
            )
        })
    }

    pub(crate) async fn ooi_raw_day(
        &self,
        refdes: &ooi::RefDes,
        day: jiff::civil::Date,
    ) -> Result<Vec<ooi::RawFile>, ooi::OoiError> {
        let c = self.ooi_raw()?;
        self.gate("ooi-raw/listing").await;
        c.day(refdes, day).await
    }

    pub(crate) async fn ooi_raw_download(&self, url: &str) -> Result<ooi::FileBody, ooi::OoiError> {
        let c = self.ooi_raw()?;
        self.gate("ooi-raw/file").await;
        c.download(url).await
    }

    pub(crate) async fn ooi_request(
        &self,
        spec: &super::ooi_spec::OoiSpec,
        refdes: &ooi::RefDes,
    ) -> Result<ooi::AsyncRequest, ooi::OoiError> {
        let c = self.ooi()?;
        self.gate("ooi/request").await;
        c.request(refdes, &spec.method, &spec.stream, spec.from, spec.to)
            .await
    }

    pub(crate) async fn ooi_complete(&self, results: &str) -> Result<bool, ooi::OoiError> {
        let c = self.ooi()?;
        self.gate("ooi/status.txt").await;
        c.is_complete(results).await
    }

    pub(crate) async fn ooi_catalog(
        &self,
        catalog: &str,
    ) -> Result<Vec<ooi::RemoteFile>, ooi::OoiError> {
        let c = self.ooi()?;
        self.gate("ooi/thredds/catalog").await;
        c.catalog(catalog).await
    }

    pub(crate) async fn ooi_download(&self, url: &str) -> Result<ooi::FileBody, ooi::OoiError> {
        let c = self.ooi()?;
        self.gate("ooi/thredds/fileServer").await;
        c.download(url).await
    }

    pub(crate) async fn request(
        &self,
        order: &DataProductOrder,
    ) -> Result<DataProductRequest, ApiError> {
        self.gate("dataProductDelivery/request").await;
        self.onc()?.request(order).await
    }

    pub(crate) async fn run(&self, request: RequestId) -> Result<RunResponse, ApiError> {
        self.gate("dataProductDelivery/run").await;
        self.onc()?.run(request).await
    }

    pub(crate) async fn download(
        &self,
        run: RunId,
        index: DownloadIndex,
    ) -> Result<DownloadOutcome, ApiError> {
        self.gate("dataProductDelivery/download").await;
        self.onc()?.download(run, index).await
    }

    pub(crate) async fn archive_download(&self, name: &str) -> Result<FileBody, ApiError> {
        self.gate("archivefile/download").await;
        self.onc()?.archive_download(name).await
    }

    pub(crate) async fn cancel(&self, request: RequestId) -> Result<Vec<RunInfo>, ApiError> {
        self.gate("dataProductDelivery/cancel").await;
        self.onc()?.cancel(request).await
    }
}
