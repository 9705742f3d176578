//! File formats only: FLAC read/write, WAV, MP3 (write), miniSEED 2 read/write, MATLAB v5
//! read/write, NPZ, PNG, PDF (one image a page), NetCDF (write); and
//! the one atomic-write helper every module writes its outputs through ([`atomic`]).
//!
//! Must not know: network, annotations.

mod error;
mod flac_crc;
mod flac_read;
mod flac_write;
mod mat;
mod mat_read;
mod mp3;
mod mseed;
mod mseed_steim;
#[cfg(test)]
mod mseed_tests;
mod mseed_write;
mod netcdf;
mod npz;
mod pdf;
mod wav;

pub use error::MediaError;
pub use flac_write::{
    encode_flac, write_flac, write_flac_path, write_flac_stream, FlacSpec, FlacStream, FLAC_SETTING,
};
pub use mat::{encode_mat, MatFile, MatMatrix, MatStruct, MatValue, MatWriteOptions};
pub use mat_read::{read_mat, read_mat_path};
pub use mp3::{encode_mp3_mono, MP3_SAMPLE_RATES};
pub use mseed::{
    decode_record, ns_to_timestamp, offset_ns, parse_record_header, read_mseed, read_mseed_path,
    scan_mseed_path, MseedEncoding, MseedRecords, MseedSamples, MseedSummary, MseedTrace,
    RecordHeader, SourceId, TraceJoiner, MAX_RECORD_LEN, MIN_RECORD_LEN,
};
pub use mseed_write::{encode_mseed, write_mseed_path, MseedWriteOptions};
pub use netcdf::{NcFile, NcValues};
pub use npz::{encode_npz, read_npz, read_npz_path, write_npz_path, NpyArray, NpyData};
pub use pdf::encode_pdf;
pub use wav::{encode_wav24, read_wav, WavAudio};

/// Writes `bytes` to `path` atomically ([`atomic::write_atomic`]). Errors name `path`.
pub(crate) fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), MediaError> {
    atomic::write_atomic(path, bytes).map_err(|source| MediaError::Io {
        file: path.to_path_buf(),
        source,
    })
}

pub mod atomic;
pub mod decode;
pub mod png;

pub use decode::{sha256_file, AudioInfo, AudioReader, DecodeError, Segment};
pub use png::{
    draw_curves, encode_png, render_spectrogram, Curve, LinePlot, Palette, PngError, PngOptions,
    SpectrogramImage,
};
