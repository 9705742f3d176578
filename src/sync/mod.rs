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
//! Must not know: terminals, DSP, exit codes.

mod error;
mod run;
mod spec;
mod versions;

pub use error::SyncError;
pub use run::{sync_once, Reprocessed, SyncReport};
pub use spec::{parse_duration, Source, SyncSpec, TimeRule};
pub use versions::{FileVersion, SUPERSEDED_DIR};
