//! Deterministic synthetic archive content for the simulator: hydrophone audio (ocean noise,
//! fin-whale 20 Hz pulses, humpback-like sweeps, ship passages) rendered as real FLAC / WAV, and
//! HSD spectral data rendered as MATLAB v5 files holding a `SpectData` struct.
//!
//! The same `Recording` always yields the same bytes. The catalog (which files exist, their
//! names and start times) is not decided here; see the simulator's catalog.
//!
//! INTERFACE CONTRACT (shared by the simulator server and this module; change only by agreement):
//! `flac`, `wav`, `hsd_mat`, `calls` and the types below.

use jiff::Timestamp;

/// One archive recording: a device's audio from `start` for `duration_s` seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub device_code: String,
    /// The true start of the data (the time in the file name).
    pub start: Timestamp,
    pub duration_s: f64,
    pub sample_rate: u32,
    /// Per-device seed so devices sound different; the same seed and times give the same audio.
    pub seed: u64,
}

/// What an HSD data product is computed from and how.
#[derive(Debug, Clone, PartialEq)]
pub struct HsdSpec {
    pub recording: Recording,
    /// `dpo_spectralDataDownsample`: 0 full resolution, 1 one-minute averages, 2 plot resolution.
    pub downsample: u8,
    /// `dpo_hydrophoneDataDiversionMode`, e.g. `OD`.
    pub diversion_mode: String,
}

/// The kind of a synthetic acoustic event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    FinWhale,
    Humpback,
    Ship,
}

/// A synthetic event placed in a device's audio at a known time.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticCall {
    pub kind: CallKind,
    pub start: Timestamp,
    pub duration_s: f64,
    pub freq_low_hz: f64,
    pub freq_high_hz: f64,
}

/// Errors while rendering content.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("cannot render {what}: {reason}")]
    Render { what: String, reason: String },
}

/// The recording as a real 24-bit mono FLAC file.
pub fn flac(rec: &Recording) -> Result<Vec<u8>, ContentError> {
    Err(ContentError::Render {
        what: format!("{} FLAC", rec.device_code),
        reason: "not implemented yet".into(),
    })
}

/// The recording as a 24-bit mono WAV file (ONC archived WAV before 2020-08-10).
pub fn wav(rec: &Recording) -> Result<Vec<u8>, ContentError> {
    Err(ContentError::Render {
        what: format!("{} WAV", rec.device_code),
        reason: "not implemented yet".into(),
    })
}

/// The HSD product for one source recording as a MATLAB v5 file with a `SpectData` struct.
pub fn hsd_mat(spec: &HsdSpec) -> Result<Vec<u8>, ContentError> {
    Err(ContentError::Render {
        what: format!("{} HSD", spec.recording.device_code),
        reason: "not implemented yet".into(),
    })
}

/// The synthetic events of a device (by seed) overlapping `[from, to)`, in time order.
pub fn calls(_seed: u64, _from: Timestamp, _to: Timestamp) -> Vec<SyntheticCall> {
    Vec::new()
}
