//! File formats only: FLAC read/write, WAV, MATLAB v5 read/write, NPZ, PNG.
//!
//! Must not know: network, annotations.
