//! The OOI provider: a typed M2M client (inventory, deployments, asynchronous NetCDF requests,
//! `status.txt` completion), THREDDS catalogs (XML and HTML, nested `catalogRef`s), reference
//! designators, the raw-data archive of broadband hydrophones (day listings of miniSEED
//! files, public), and credentials (flags, `OOI_USERNAME`/`OOI_TOKEN`, `.env`, `~/.netrc`) that
//! are never printed or stored.
//!
//! Politeness: OOI asks users not to flood M2M; callers go through the engine, which submits
//! requests under its run slots and stagger and polls `status.txt` with a growing interval.
//!
//! Must not know: ONC, hydrophone windows, the engine, files on disk.

mod client;
mod creds;
mod error;
mod rawdata;
mod refdes;
mod thredds;

pub use client::{
    format_dt, AsyncRequest, Client, Deployment, FileBody, RemoteFile, DEFAULT_M2M_BASE,
};
pub use creds::{CredentialSource, Credentials, NETRC_MACHINE, REDACTED};
pub use error::OoiError;
pub use rawdata::{
    day_url, days_for, parse_listing, resolve_hydrophone, select_overlapping, start_from_name,
    Hydrophone, RawClient, RawFile, DEFAULT_RAW_BASE, HYDROPHONES, MAX_FILE_SECONDS,
};
pub use refdes::{check_segment, RefDes};
pub use thredds::{join_url, parse_html, parse_xml, CatalogFile, CatalogPage};
