//! The Oceans 3.0 wire types and async HTTP client (discovery, dataProductDelivery, archivefile,
//! scalar/raw data), paging, typed `ApiError`, token redaction and ONC's time format.
//!
//! Everything is path-style (`<base>api/<service>`) with the token as the last query parameter;
//! every URL, message and error this module hands out is token-redacted.
//!
//! Must not know: hydrophones, windows, files on disk beyond "write these bytes".

pub mod archive;
mod client;
mod data;
mod delivery;
mod discovery;
mod download;
mod error;
mod ids;
pub mod lenient;
mod redact;
mod runs;
pub mod time;

pub use archive::{
    file_name_start, parse_file_name, ArchiveFile, ArchiveFileName, ArchiveListing, ArchiveQuery,
    DeviceOrLocation, ReturnOptions,
};
pub use client::{Client, ClientOptions, Params};
pub use data::{RawData, ScalarData, SensorData};
pub use delivery::{
    onc_poll_period, DataProductOrder, DataProductRequest, DataSource, DownloadIndex,
    DownloadOutcome, DownloadProbe, RequestEstimate,
};
pub use discovery::{
    AllowableRange, AvailableDataProduct, BoundingBox, Citation, DataAvailability, DataProduct,
    DataProductOption, DataRating, Deployment, Device, DeviceCategory, DiscoveryService, Location,
    LocationNode, Property,
};
pub use download::FileBody;
pub use error::{ApiError, OncErrorItem, TransportKind};
pub use ids::{
    DataProductCode, DeviceCategoryCode, DeviceCode, InvalidDeviceCode, LocationCode, PropertyCode,
    RequestId, RunId,
};
pub use redact::{redact, REDACTED};
pub use runs::{RequestStatus, RunInfo, RunResponse, RunStatus, SearchHdrStatus};
pub use time::{format_onc, parse_onc};
