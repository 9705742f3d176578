//! Keeping a local archive current: a declarative sync spec (sources resolved through discovery
//! on every run, extensions, a time rule), delta planning against the one ledger, a
//! high-water mark for "since the last successful sync", and reprocessing detection with the
//! old version kept (`.superseded/`). Every download runs on the engine, so the folder's lock,
//! retries, verification, `status` and `resume` work as for any other command.
//!
//! ```text
//! let spec = SyncSpec::read(Path::new("requests/sync_hydrophones.json"))?;
//! let engine = Engine::open(out, EngineConfig::default())?;   // takes the folder's lock
//! let report = sync_once(&engine, &client, &spec, reporter, Timestamp::now()).await?;
//! // report.fetched: new files; report.reprocessed: re-archived files (old copies kept)
//! ```
//!
//! Near-real-time scalar and raw data ([`fetch_readings`]) are appended to per-sensor CSV
//! files ([`series`]) that a crash never tears.
//!
//! Must not know: terminals, DSP, plotting, exit codes.

mod error;
mod product_run;
mod products;
mod readings;
mod rerun;
mod run;
pub mod series;
mod spec;
mod versions;

pub use error::SyncError;
pub use product_run::ProductReport;
pub use products::ProductRequest;
pub use readings::{
    fetch_readings, ReadingsFile, ReadingsKind, ReadingsReport, ReadingsRequest, ReadingsTime,
};
pub use run::{sync_once, Reprocessed, SyncReport};
pub use spec::{parse_duration, Source, SyncSpec, TimeRule};
