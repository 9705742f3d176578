//! onc-hydro: a resumable, polite download engine for Ocean Networks Canada's Oceans 3.0 API,
//! a hydrophone front end (5-minute windows, clips), and fast local spectrograms.
//!
//! Module map and the allowed dependency directions are in `ARCHITECTURE.md` (checked in CI by
//! `scripts/check_layers.sh`, which also checks which external crates each module uses):
//! `api`, `ooi`, `dsp` → none · `media` → dsp · `sim` → media, dsp, api::time, api::archive ·
//! `engine` → api, ooi, media::atomic · `plan` → engine, api, media::atomic ·
//! `sync` → engine, api, ooi, media::atomic ·
//! `hydro` → engine, api, ooi, media, dsp, analysis · `analysis` → media, dsp · `cli` → all.
//!
//! Lints (Cargo.toml `[lints]`): no `unwrap`/`expect`/`panic!` outside tests, no printing outside
//! `cli`, and every public item documented.

pub mod analysis;
pub mod api;
pub mod cli;
pub mod dsp;
pub mod engine;
pub mod hydro;
pub mod media;
pub mod ooi;
pub mod plan;
pub mod sim;
pub mod sync;
