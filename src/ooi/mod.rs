//! The OOI provider: a typed M2M client (inventory, deployments, asynchronous NetCDF requests,
//! `status.txt` completion), THREDDS catalogs (XML and HTML, nested `catalogRef`s), reference
//! designators, and credentials (flags, `OOI_USERNAME`/`OOI_TOKEN`, `.env`, `~/.netrc`) that
//! are never printed or stored.
//!
//! Politeness: OOI asks users not to flood M2M; callers go through the engine, which submits
//! requests under its run slots and stagger and polls `status.txt` with a growing interval.
//!
//! Must not know: ONC, hydrophone windows, the engine, files on disk.

mod client;
mod creds;
mod error;
mod refdes;
mod thredds;

pub use client::{
    format_dt, AsyncRequest, Client, Deployment, FileBody, RemoteFile, DEFAULT_M2M_BASE,
};
pub use creds::{CredentialSource, Credentials, NETRC_MACHINE, REDACTED};
pub use error::OoiError;
pub use refdes::{check_segment, RefDes};
pub use thredds::{join_url, parse_html, parse_xml, CatalogFile, CatalogPage};
