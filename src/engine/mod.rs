//! The general resumable download engine: tasks (data-product orders and archive files), the
//! SQLite ledger, the polite parallel scheduler, `.part` → rename storage and the run summary.
//!
//! Must not know: FLAC, MAT, annotations, terminals. Talks to the server only through `api`.
