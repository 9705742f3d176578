//! File formats only: FLAC read/write, WAV, MATLAB v5 read/write, NPZ, PNG.
//!
//! Must not know: network, annotations.

pub mod decode;
pub mod png;

pub use decode::{AudioFormat, AudioInfo, AudioReader, DecodeError};
pub use png::{encode_png, render_spectrogram, PngError, PngOptions, SpectrogramImage};
