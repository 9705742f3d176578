//! The Oceans 3.0 client end to end: against the in-process simulator (discovery, an HSD
//! order, archive listing and download, paging, ONC error codes, 401) and, in `wire`, against a
//! tiny hand-made HTTP server for exact edge cases. The token never appears in an error.

mod cli;
mod sim;
mod wire;
