//! Deterministic synthetic archive content for the simulator: hydrophone audio (ocean noise,
//! fin-whale 20 Hz pulses, humpback-like sweeps, ship passages) rendered as real FLAC / WAV, and
//! HSD spectral data rendered as MATLAB v5 files holding a `SpectData` struct.
//!
//! The same `Recording` always yields the same bytes. The catalog (which files exist, their
//! names and start times) is not decided here; see the simulator's catalog.
//!
//! INTERFACE CONTRACT (shared by the simulator server and this module; change only by agreement):
//! `flac`, `wav`, `hsd_mat`, `hsd_png`, `hsd_pdf`, `calls` and the types below.
//!
//! Layout: `events.rs` (the PRNG and the deterministic event schedule), `synth.rs` (audio from
//! absolute time), `spectra.rs` (the STFT of that audio from the sources' spectral model),
//! `hsd.rs` (spectrogram → MAT, PNG, PDF). Audio levels and PSD units are documented
//! there. Must not know: the catalog, the HTTP server, the client.

mod events;
mod hsd;
mod spectra;
#[cfg(test)]
mod spectra_tests;
mod synth;
#[cfg(test)]
mod tests;

use jiff::Timestamp;

/// One archive recording: a device's audio from `start` for `duration_s` seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// The device, e.g. `ICLISTENHF6324`.
    pub device_code: String,
    /// The true start of the data (the time in the file name).
    pub start: Timestamp,
    /// Length in seconds.
    pub duration_s: f64,
    /// Samples per second.
    pub sample_rate: u32,
    /// Per-device seed so devices sound different; the same seed and times give the same audio.
    pub seed: u64,
}

/// What an HSD data product is computed from and how.
#[derive(Debug, Clone, PartialEq)]
pub struct HsdSpec {
    /// The audio the spectra describe.
    pub recording: Recording,
    /// `dpo_spectralDataDownsample`: 0 full resolution, 1 one-minute averages, 2 plot resolution.
    pub downsample: u8,
    /// `dpo_hydrophoneDataDiversionMode`, e.g. `OD`.
    pub diversion_mode: String,
}

/// The kind of a synthetic acoustic event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// A fin-whale 20 Hz pulse.
    FinWhale,
    /// A humpback-like frequency sweep.
    Humpback,
    /// A ship passage (low-passed broadband noise rising and falling).
    Ship,
}

/// A synthetic event placed in a device's audio at a known time.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticCall {
    /// What it is.
    pub kind: CallKind,
    /// When it begins.
    pub start: Timestamp,
    /// How long it lasts, in seconds.
    pub duration_s: f64,
    /// Lowest frequency of its band.
    pub freq_low_hz: f64,
    /// Highest frequency of its band.
    pub freq_high_hz: f64,
}

/// Errors while rendering content.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// A file could not be rendered (a length or rate out of range, an encoder error).
    #[error("cannot render {what}: {reason}")]
    Render {
        /// What was being rendered.
        what: String,
        /// Why it failed.
        reason: String,
    },
}

/// The recording's samples as 24-bit integer counts (what `flac` and `wav` encode).
pub fn samples(rec: &Recording) -> Result<Vec<i32>, ContentError> {
    let (n0, len) = synth::sample_span(rec)?;
    Ok(synth::quantise(&synth::render_span(
        rec.seed,
        rec.sample_rate,
        n0,
        len,
    )))
}

fn media_err(rec: &Recording, what: &str, e: crate::media::MediaError) -> ContentError {
    ContentError::Render {
        what: format!("{} {what}", rec.device_code),
        reason: e.to_string(),
    }
}

/// The recording as a real 24-bit mono FLAC file.
pub fn flac(rec: &Recording) -> Result<Vec<u8>, ContentError> {
    let s = samples(rec)?;
    crate::media::encode_flac(&s, &crate::media::FlacSpec::mono24(rec.sample_rate))
        .map_err(|e| media_err(rec, "FLAC", e))
}

/// The recording as a 24-bit mono WAV file (ONC archived WAV before 2020-08-10).
pub fn wav(rec: &Recording) -> Result<Vec<u8>, ContentError> {
    let s = samples(rec)?;
    crate::media::encode_wav24(&s, rec.sample_rate, 1).map_err(|e| media_err(rec, "WAV", e))
}

/// The recording as a mono constant-bit-rate MP3 (`rec.sample_rate` must be an MP3 rate).
pub fn mp3(rec: &Recording, kbps: u16) -> Result<Vec<u8>, ContentError> {
    let s = samples(rec)?;
    crate::media::encode_mp3_mono(&s, 24, rec.sample_rate, kbps)
        .map_err(|e| media_err(rec, "MP3", e))
}

/// The HSD product for one source recording as a MATLAB v5 file with a `SpectData` struct
/// (layout, resolutions and units: see `hsd.rs`).
pub fn hsd_mat(spec: &HsdSpec) -> Result<Vec<u8>, ContentError> {
    hsd::hsd_mat(spec)
}

/// How an HSD plot (png, pdf) is drawn: the real plot options that change the picture.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PlotOptions {
    /// `dpo_lowerColourLimit`, `dpo_upperColourLimit` in the PSD's dB; `None` (ONC's -1000):
    /// from the data.
    pub clim: Option<(f32, f32)>,
    /// `dpo_spectrogramFrequencyUpperLimit` in Hz; `None` (ONC's -1): up to Nyquist.
    pub f_max: Option<f64>,
    /// `dpo_spectrogramColourPalette` (`sim::products::palette` maps ONC's 0–5).
    pub palette: crate::media::Palette,
}

/// The HSD product for one source recording as a PNG spectrogram plot (plot resolution).
pub fn hsd_png(spec: &HsdSpec, plot: &PlotOptions) -> Result<Vec<u8>, ContentError> {
    hsd::hsd_png(spec, plot)
}

/// The same plot as a one-page PDF 1.4 (the image as a Flate-compressed RGB XObject).
pub fn hsd_pdf(spec: &HsdSpec, plot: &PlotOptions) -> Result<Vec<u8>, ContentError> {
    hsd::hsd_pdf(spec, plot)
}

/// The synthetic events of a device (by seed) overlapping `[from, to)`, in time order.
pub fn calls(seed: u64, from: Timestamp, to: Timestamp) -> Vec<SyntheticCall> {
    let from_ms = from.as_millisecond();
    let to_ms = to.as_millisecond() + i64::from(to.subsec_nanosecond() % 1_000_000 != 0);
    events::events(seed, from_ms, to_ms)
        .iter()
        .map(events::Event::to_call)
        .collect()
}
