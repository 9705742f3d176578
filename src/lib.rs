//! onc-hydro: a resumable, polite download engine for Ocean Networks Canada's Oceans 3.0 API,
//! a hydrophone front end (5-minute windows, clips), and fast local spectrograms.
//!
//! Module map and the allowed dependency directions are in `ARCHITECTURE.md` (checked in CI by
//! `scripts/check_layers.sh`):
//! `api` → none · `dsp` → none · `media` → none · `sim` → api, media, dsp ·
//! `engine` → api · `plan` → engine, api · `hydro` → engine, api, media, dsp · `analysis` → media, dsp · `cli` → all.

pub mod analysis;
pub mod api;
pub mod cli;
pub mod dsp;
pub mod engine;
pub mod hydro;
pub mod media;
pub mod plan;
pub mod sim;
