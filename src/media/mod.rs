//! File formats only: FLAC read/write, WAV, MATLAB v5 read/write, NPZ, PNG, NetCDF (write).
//!
//! Must not know: network, annotations.

mod error;
mod flac_write;
mod mat;
mod mat_read;
mod netcdf;
mod npz;
mod wav;

pub use error::MediaError;
pub use flac_write::{encode_flac, write_flac, write_flac_path, FlacSpec, FLAC_SETTING};
pub use mat::{
    encode_mat, write_mat_path, MatFile, MatMatrix, MatStruct, MatValue, MatWriteOptions,
};
pub use mat_read::{read_mat, read_mat_path};
pub use netcdf::{NcFile, NcValues, MAX_DIMS_PER_VAR};
pub use npz::{encode_npz, read_npz, read_npz_path, write_npz_path, NpyArray, NpyData};
pub use wav::{encode_wav24, read_wav, read_wav_path, write_wav24_path, WavAudio};

/// Writes `bytes` to `path` atomically (the public name for pipelines outside `media`).
pub fn write_file_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), MediaError> {
    write_atomic(path, bytes)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, synced, then
/// renamed over `path`. Errors name `path`.
pub(crate) fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), MediaError> {
    use std::io::Write;
    let io = |source| MediaError::Io {
        file: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

pub mod decode;
pub mod png;

pub use decode::{AudioFormat, AudioInfo, AudioReader, DecodeError};
pub use png::{encode_png, render_spectrogram, PngError, PngOptions, SpectrogramImage};
