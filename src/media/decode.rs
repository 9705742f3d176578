//! Streaming audio decoding: FLAC and WAV files read block by block into full-scale `f32`
//! samples (±1.0), multi-channel files averaged to mono, with sample rate and bit depth.
//!
//! The format is sniffed from the first bytes, not the extension. FLAC of up to 24 bits and 8
//! channels goes through our own decoder (`flac_read.rs`, both checksums of every frame
//! checked); wider FLAC through symphonia (only its `flac` feature). On a 5-minute 64 kHz 24-bit
//! file (benches/spectrogram.rs `decode`) ours decodes in a fraction of symphonia's time, which
//! beat claxon. WAV (integer 8–32 bit or float 32) goes through hound. Memory is one decoded
//! block plus the FLAC read buffer, never the whole file.
//!
//! [`AudioReader::open_hashed`] also computes SHA-256 of the file for provenance; for FLAC from
//! the very bytes the decoder reads (one pass over the file), otherwise by a second read at
//! [`AudioReader::finish_sha256`].
//!
//! Must not know: spectrograms, network, annotations.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use sha2::{Digest, Sha256};
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use super::flac_read::{FlacError, FlacStream};
use super::{read_mseed_path, MseedSamples, MseedTrace};

/// Samples per WAV block handed out by [`AudioReader::read_block`].
const WAV_BLOCK_FRAMES: usize = 16_384;

/// The container of an audio file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioFormat {
    /// FLAC (`fLaC` magic).
    Flac,
    /// RIFF/WAVE (PCM or IEEE float).
    Wav,
    /// miniSEED 2 (one channel; several traces are segments separated by gaps).
    Mseed,
}

impl AudioFormat {
    /// `"FLAC"` or `"WAV"`, for messages.
    pub fn name(self) -> &'static str {
        match self {
            AudioFormat::Flac => "FLAC",
            AudioFormat::Wav => "WAV",
            AudioFormat::Mseed => "miniSEED",
        }
    }
}

/// What a decoder knows before reading samples.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    /// The container.
    pub format: AudioFormat,
    /// Samples per second per channel, Hz.
    pub sample_rate: u32,
    /// Bits per sample of the stored data (e.g. 24); 32 for float WAV.
    pub bits_per_sample: u32,
    /// Channels in the file (blocks are always mono: channels are averaged).
    pub channels: u32,
    /// Samples per channel when the header states it.
    pub total_frames: Option<u64>,
}

/// Errors while reading audio; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The file cannot be opened or read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file starts with neither `fLaC`, `RIFF…WAVE` nor a miniSEED record header.
    #[error("{path}: not a FLAC, WAV or miniSEED file (it starts with {magic:?})")]
    UnknownFormat {
        /// The file.
        path: String,
        /// Its first (up to 12) bytes, as lossy text.
        magic: String,
    },
    /// The header or a frame is broken or truncated, or uses a layout not read here.
    #[error("{path}: malformed {format}: {reason}")]
    Malformed {
        /// The file.
        path: String,
        /// `"FLAC"` or `"WAV"`.
        format: &'static str,
        /// What is wrong, from the decoder.
        reason: String,
    },
}

struct FlacSource {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    interleaved: Vec<f32>,
    /// Samples per channel decoded so far (checked against STREAMINFO at the end).
    decoded: u64,
}

struct WavSource {
    reader: hound::WavReader<BufReader<File>>,
    float: bool,
    scale: f32,
    interleaved: Vec<f32>,
}

struct FastFlac {
    stream: FlacStream<File>,
    scale: f32,
}

/// A decoded miniSEED file: its traces, read one after the other.
struct MseedSource {
    traces: Vec<MseedTrace>,
    /// Trace being read and the next sample in it.
    trace: usize,
    pos: usize,
    /// The trace the last block came from.
    last: usize,
    scale: f32,
}

/// A contiguous run of samples in a file with the exact time of its first sample. FLAC and WAV
/// files are one segment without a time; a miniSEED file has one per trace (a gap, or a jump in
/// time, separates them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Time of the first sample, ns since 1970 UTC.
    pub start_ns: i64,
    /// Samples in it.
    pub samples: u64,
}

enum Source {
    Fast(Box<FastFlac>),
    Mseed(Box<MseedSource>),
    Flac(Box<FlacSource>),
    Wav(Box<WavSource>),
}

/// A streaming decoder over one FLAC or WAV file.
pub struct AudioReader {
    path: String,
    /// The file as opened (the fallback hash reads it again).
    file_path: std::path::PathBuf,
    hash: bool,
    info: AudioInfo,
    source: Source,
}

impl std::fmt::Debug for AudioReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioReader")
            .field("path", &self.path)
            .field("info", &self.info)
            .finish()
    }
}

impl AudioReader {
    /// Opens `path`, detects FLAC or WAV from its first bytes and reads the header.
    pub fn open(path: &Path) -> Result<AudioReader, DecodeError> {
        Self::open_with(path, false)
    }

    /// As [`AudioReader::open`], and computes SHA-256 of the file's bytes as they are read;
    /// [`AudioReader::finish_sha256`] returns it after decoding.
    pub fn open_hashed(path: &Path) -> Result<AudioReader, DecodeError> {
        Self::open_with(path, true)
    }

    fn open_with(path: &Path, hash: bool) -> Result<AudioReader, DecodeError> {
        let shown = path.display().to_string();
        let io = |source| DecodeError::Io {
            path: shown.clone(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let mut magic = [0u8; 12];
        let n = read_up_to(&mut file, &mut magic).map_err(io)?;
        let magic = &magic[..n];
        let file = File::open(path).map_err(io)?;
        let file_len = file.metadata().map_err(io)?.len();
        let mut reader = if magic.starts_with(b"fLaC") {
            match open_fast_flac(&shown, file, hash)? {
                Some(r) => r,
                None => {
                    let again = File::open(path).map_err(io)?;
                    open_flac(shown, again)?
                }
            }
        } else if magic.len() >= 12 && &magic[0..4] == b"RIFF" && &magic[8..12] == b"WAVE" {
            open_wav(shown, file)?
        } else if looks_like_mseed(magic) {
            open_mseed(shown, path)?
        } else {
            return Err(DecodeError::UnknownFormat {
                path: shown,
                magic: String::from_utf8_lossy(magic).into_owned(),
            });
        };
        reader.check_claimed_length(file_len)?;
        reader.file_path = path.to_path_buf();
        reader.hash = hash;
        Ok(reader)
    }

    /// Reads whatever follows the audio and returns the SHA-256 (hex) of the whole file. For
    /// readers from [`AudioReader::open_hashed`]; others hash the file in a second pass.
    pub fn finish_sha256(self) -> Result<String, DecodeError> {
        let path = self.path.clone();
        if let (true, Source::Fast(src)) = (self.hash, self.source) {
            if let Some(hex) = src
                .stream
                .finish_sha256()
                .map_err(|e| fast_error(&path, e))?
            {
                return Ok(hex);
            }
        }
        sha256_file(&self.file_path).map_err(|source| DecodeError::Io { path, source })
    }

    /// Refuses a header whose sample count the file cannot possibly hold, so that no caller ever
    /// sizes a buffer from a hostile or corrupt header (a FLAC STREAMINFO may claim up to 2^36
    /// samples from a file of a few hundred bytes).
    fn check_claimed_length(&self, file_len: u64) -> Result<(), DecodeError> {
        let Some(claimed) = self.info.total_frames else {
            return Ok(());
        };
        let most = max_frames_in(self.info.format, file_len, &self.info);
        if claimed <= most {
            return Ok(());
        }
        Err(DecodeError::Malformed {
            path: self.path.clone(),
            format: self.info.format.name(),
            reason: format!(
                "the header claims {claimed} samples per channel, but a file of {file_len} bytes \
                 can hold at most {most}"
            ),
        })
    }

    /// The file's stream parameters.
    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// The file's timed segments in order (miniSEED traces); empty for FLAC and WAV, whose
    /// start comes from elsewhere (the file name). Blocks never straddle two segments.
    pub fn segments(&self) -> Vec<Segment> {
        match &self.source {
            Source::Mseed(src) => src
                .traces
                .iter()
                .map(|t| Segment {
                    start_ns: t.start_ns,
                    samples: t.samples.len() as u64,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Index into [`AudioReader::segments`] of the segment the last block came from (0 for
    /// FLAC and WAV).
    pub fn segment_of_last_block(&self) -> usize {
        match &self.source {
            Source::Mseed(src) => src.last,
            _ => 0,
        }
    }

    /// Replaces `out` with the next block of mono samples; `Ok(false)` at the end of the file.
    pub fn read_block(&mut self, out: &mut Vec<f32>) -> Result<bool, DecodeError> {
        out.clear();
        let channels = self.info.channels.max(1) as usize;
        match &mut self.source {
            Source::Fast(src) => {
                let scale = src.scale;
                let got = src
                    .stream
                    .next_frame(&mut |samples, block| {
                        if channels == 1 {
                            out.extend(samples.iter().map(|&s| s as f32 * scale));
                        } else {
                            let inv = 1.0 / channels as f32;
                            out.extend((0..block).map(|i| {
                                (0..channels)
                                    .map(|c| samples[c * block + i] as f32 * scale)
                                    .sum::<f32>()
                                    * inv
                            }));
                        }
                    })
                    .map_err(|e| fast_error(&self.path, e))?;
                Ok(got)
            }
            Source::Mseed(src) => {
                while src.trace < src.traces.len() {
                    let t = &src.traces[src.trace];
                    if src.pos < t.samples.len() {
                        let end = (src.pos + WAV_BLOCK_FRAMES).min(t.samples.len());
                        let scale = src.scale;
                        match &t.samples {
                            MseedSamples::Int(v) => {
                                out.extend(v[src.pos..end].iter().map(|&x| x as f32 * scale))
                            }
                            MseedSamples::Float32(v) => out.extend_from_slice(&v[src.pos..end]),
                            MseedSamples::Float64(v) => {
                                out.extend(v[src.pos..end].iter().map(|&x| x as f32))
                            }
                        }
                        src.pos = end;
                        src.last = src.trace;
                        return Ok(true);
                    }
                    src.trace += 1;
                    src.pos = 0;
                }
                Ok(false)
            }
            Source::Flac(src) => loop {
                let packet = match src.format.next_packet() {
                    Ok(Some(p)) => p,
                    Ok(None) => {
                        return match self.info.total_frames {
                            Some(total) if src.decoded < total => Err(DecodeError::Malformed {
                                path: self.path.clone(),
                                format: "FLAC",
                                reason: format!(
                                    "truncated: {} of the {total} samples STREAMINFO announces",
                                    src.decoded
                                ),
                            }),
                            _ => Ok(false),
                        }
                    }
                    Err(e) => return Err(flac_error(&self.path, e)),
                };
                if packet.track_id != src.track_id {
                    continue;
                }
                let decoded = src
                    .decoder
                    .decode(&packet)
                    .map_err(|e| flac_error(&self.path, e))?;
                if decoded.frames() == 0 {
                    continue;
                }
                src.decoded += decoded.frames() as u64;
                decoded.copy_to_vec_interleaved(&mut src.interleaved);
                if channels == 1 {
                    // Hand the decoded buffer over instead of copying it.
                    std::mem::swap(out, &mut src.interleaved);
                } else {
                    downmix(&src.interleaved, channels, out);
                }
                return Ok(true);
            },
            Source::Wav(src) => {
                let WavSource {
                    reader,
                    float,
                    scale,
                    interleaved,
                } = &mut **src;
                interleaved.clear();
                let want = WAV_BLOCK_FRAMES * channels;
                let path = &self.path;
                let bad = |e: hound::Error| DecodeError::Malformed {
                    path: path.clone(),
                    format: "WAV",
                    reason: e.to_string(),
                };
                if *float {
                    for s in reader.samples::<f32>().take(want) {
                        interleaved.push(s.map_err(bad)?);
                    }
                } else {
                    let scale = *scale;
                    for s in reader.samples::<i32>().take(want) {
                        interleaved.push(s.map_err(bad)? as f32 * scale);
                    }
                }
                if interleaved.is_empty() {
                    return Ok(false);
                }
                downmix(interleaved, channels, out);
                Ok(true)
            }
        }
    }

    /// Decodes the whole file into memory (for short clips and tests; the spectrogram path
    /// streams with [`AudioReader::read_block`] instead).
    pub fn read_all(&mut self) -> Result<Vec<f32>, DecodeError> {
        let mut all = Vec::with_capacity(self.info.total_frames.unwrap_or(0).min(1 << 28) as usize);
        let mut block = Vec::new();
        while self.read_block(&mut block)? {
            all.extend_from_slice(&block);
        }
        Ok(all)
    }
}

/// SHA-256 (hex) of a whole file, read in 1 MiB pieces.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The most samples per channel a file of `file_len` bytes can hold. FLAC: every frame takes at
/// least 8 bytes (header, one constant subframe, CRC-16) and holds at most 65,535 samples. WAV:
/// the whole file as PCM data.
fn max_frames_in(format: AudioFormat, file_len: u64, info: &AudioInfo) -> u64 {
    match format {
        AudioFormat::Flac => (file_len / 8 + 1).saturating_mul(65_535),
        // Steim-2 packs at most 7 samples in 4 bytes.
        AudioFormat::Mseed => file_len.saturating_mul(2),
        AudioFormat::Wav => {
            let bytes_per_frame =
                u64::from(info.bits_per_sample.div_ceil(8).max(1)) * u64::from(info.channels);
            file_len / bytes_per_frame.max(1)
        }
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Copies mono data as is, averages interleaved channels otherwise.
fn downmix(interleaved: &[f32], channels: usize, out: &mut Vec<f32>) {
    if channels == 1 {
        out.extend_from_slice(interleaved);
    } else {
        let inv = 1.0 / channels as f32;
        out.extend(
            interleaved
                .chunks_exact(channels)
                .map(|frame| frame.iter().sum::<f32>() * inv),
        );
    }
}

fn flac_error(path: &str, e: SymError) -> DecodeError {
    match e {
        SymError::IoError(source) if source.kind() != std::io::ErrorKind::UnexpectedEof => {
            DecodeError::Io {
                path: path.to_string(),
                source,
            }
        }
        SymError::IoError(_) => DecodeError::Malformed {
            path: path.to_string(),
            format: "FLAC",
            reason: "the file ends in the middle of a frame (truncated?)".into(),
        },
        other => DecodeError::Malformed {
            path: path.to_string(),
            format: "FLAC",
            reason: other.to_string(),
        },
    }
}

fn fast_error(path: &str, e: FlacError) -> DecodeError {
    let malformed = |reason: String| DecodeError::Malformed {
        path: path.to_string(),
        format: "FLAC",
        reason,
    };
    match e {
        FlacError::Io(source) => DecodeError::Io {
            path: path.to_string(),
            source,
        },
        FlacError::Truncated(m) => malformed(if m.contains("truncated") {
            m
        } else {
            format!("truncated: {m}")
        }),
        FlacError::Malformed(m) | FlacError::Unsupported(m) => malformed(m),
    }
}

/// Our decoder, or `None` for a stream it leaves to symphonia (more than 24 bits, 8 channels).
fn open_fast_flac(path: &str, file: File, hash: bool) -> Result<Option<AudioReader>, DecodeError> {
    let stream = match FlacStream::new(file, hash) {
        Ok(s) => s,
        Err(FlacError::Unsupported(_)) => return Ok(None),
        Err(e) => return Err(fast_error(path, e)),
    };
    let i = stream.info();
    let info = AudioInfo {
        format: AudioFormat::Flac,
        sample_rate: i.sample_rate,
        bits_per_sample: i.bits_per_sample,
        channels: i.channels,
        total_frames: i.total_samples,
    };
    let scale = 1.0 / (1u64 << (i.bits_per_sample - 1)) as f32;
    Ok(Some(AudioReader {
        path: path.to_string(),
        file_path: Default::default(),
        hash,
        info,
        source: Source::Fast(Box::new(FastFlac { stream, scale })),
    }))
}

fn open_flac(path: String, file: File) -> Result<AudioReader, DecodeError> {
    let malformed = |reason: String| DecodeError::Malformed {
        path: path.clone(),
        format: "FLAC",
        reason,
    };
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    hint.with_extension("flac");
    let format = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| flac_error(&path, e))?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| malformed("no audio stream".into()))?;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| malformed("no audio codec parameters".into()))?;
    let sample_rate = params
        .sample_rate
        .filter(|&r| r > 0)
        .ok_or_else(|| malformed("no sample rate in STREAMINFO".into()))?;
    let bits_per_sample = params
        .bits_per_sample
        .ok_or_else(|| malformed("no bit depth in STREAMINFO".into()))?;
    let channels = params.channels.as_ref().map_or(1, |c| c.count()) as u32;
    let decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|e| flac_error(&path, e))?;
    let info = AudioInfo {
        format: AudioFormat::Flac,
        sample_rate,
        bits_per_sample,
        channels,
        total_frames: track.num_frames.filter(|&n| n > 0),
    };
    let track_id = track.id;
    Ok(AudioReader {
        path,
        file_path: Default::default(),
        hash: false,
        info,
        source: Source::Flac(Box::new(FlacSource {
            format,
            decoder,
            track_id,
            interleaved: Vec::new(),
            decoded: 0,
        })),
    })
}

/// A miniSEED 2 record starts with a 6-character sequence number (digits, spaces or NULs),
/// a quality indicator (D, R, Q or M) and a space or NUL.
fn looks_like_mseed(magic: &[u8]) -> bool {
    magic.len() >= 8
        && magic[..6]
            .iter()
            .all(|&b| b.is_ascii_digit() || b == b' ' || b == 0)
        && b"DRQM".contains(&magic[6])
        && (magic[7] == b' ' || magic[7] == 0)
}

/// miniSEED: every record decoded up front (integer samples take no more memory than about 8×
/// the file), one channel, one integral sample rate. Integer samples are counts of a 24-bit
/// converter (OOI's broadband hydrophones), scaled by 2^-23 as a 24-bit FLAC of the same counts
/// would be; float samples are taken as they are.
fn open_mseed(path: String, file_path: &Path) -> Result<AudioReader, DecodeError> {
    let malformed = |reason: String| DecodeError::Malformed {
        path: path.clone(),
        format: "miniSEED",
        reason,
    };
    let traces = read_mseed_path(file_path).map_err(|e| malformed(e.to_string()))?;
    let Some(first) = traces.first() else {
        return Err(malformed("no data records".into()));
    };
    if let Some(other) = traces.iter().find(|t| t.id != first.id) {
        return Err(malformed(format!(
            "holds more than one channel ({} and {}); give one channel per file",
            first.id, other.id
        )));
    }
    let rate = first.sample_rate;
    if traces.iter().any(|t| t.sample_rate != rate) || rate.fract() != 0.0 || rate > 1e7 {
        return Err(malformed(format!(
            "sample rate {rate} Hz: an integral rate, the same in every trace, is needed"
        )));
    }
    let float = !matches!(first.samples, MseedSamples::Int(_));
    let info = AudioInfo {
        format: AudioFormat::Mseed,
        sample_rate: rate as u32,
        bits_per_sample: if float { 32 } else { 24 },
        channels: 1,
        total_frames: Some(traces.iter().map(|t| t.samples.len() as u64).sum()),
    };
    Ok(AudioReader {
        path,
        file_path: Default::default(),
        hash: false,
        info,
        source: Source::Mseed(Box::new(MseedSource {
            traces,
            trace: 0,
            pos: 0,
            last: 0,
            scale: if float { 1.0 } else { 1.0 / 8_388_608.0 },
        })),
    })
}

fn open_wav(path: String, file: File) -> Result<AudioReader, DecodeError> {
    let reader = hound::WavReader::new(BufReader::with_capacity(1 << 16, file)).map_err(|e| {
        DecodeError::Malformed {
            path: path.clone(),
            format: "WAV",
            reason: e.to_string(),
        }
    })?;
    let spec = reader.spec();
    let float = spec.sample_format == hound::SampleFormat::Float;
    if spec.sample_rate == 0 || spec.channels == 0 {
        return Err(DecodeError::Malformed {
            path,
            format: "WAV",
            reason: format!(
                "sample rate {} Hz with {} channels",
                spec.sample_rate, spec.channels
            ),
        });
    }
    let bits = u32::from(spec.bits_per_sample);
    let info = AudioInfo {
        format: AudioFormat::Wav,
        sample_rate: spec.sample_rate,
        bits_per_sample: bits,
        channels: u32::from(spec.channels),
        total_frames: Some(u64::from(reader.duration())),
    };
    // 8-bit WAV is unsigned on disk; hound already re-centres it to i8 range.
    let scale = 1.0 / (1u64 << (bits.clamp(1, 32) - 1)) as f32;
    Ok(AudioReader {
        path,
        file_path: Default::default(),
        hash: false,
        info,
        source: Source::Wav(Box::new(WavSource {
            reader,
            float,
            scale,
            interleaved: Vec::new(),
        })),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(n: usize, channels: usize) -> Vec<i32> {
        (0..n * channels)
            .map(|i| ((i as i64 * 7919) % 16_000_000 - 8_000_000) as i32)
            .collect()
    }

    fn flac(path: &Path, data: &[i32], channels: u8) {
        let mut w = flac_codec::encode::FlacSampleWriter::create(
            path,
            flac_codec::encode::Options::default(),
            48_000,
            24,
            channels,
            Some(data.len() as u64),
        )
        .unwrap();
        w.write(data).unwrap();
        w.finalize().unwrap();
    }

    #[test]
    fn flac_decodes_bit_exact_in_blocks_with_stream_info() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.flac");
        let data = ramp(10_000, 1);
        flac(&path, &data, 1);
        let mut r = AudioReader::open(&path).unwrap();
        assert_eq!(r.info().format, AudioFormat::Flac);
        assert_eq!(
            (r.info().sample_rate, r.info().bits_per_sample),
            (48_000, 24)
        );
        assert_eq!(
            (r.info().channels, r.info().total_frames),
            (1, Some(10_000))
        );
        let got = r.read_all().unwrap();
        let want: Vec<f32> = data.iter().map(|&s| s as f32 / 8_388_608.0).collect();
        assert_eq!(got, want);
        let mut block = vec![1.0];
        assert!(!r.read_block(&mut block).unwrap());
        assert!(block.is_empty());
    }

    #[test]
    fn stereo_is_averaged_and_wav_matches_flac() {
        let dir = tempfile::tempdir().unwrap();
        let data = ramp(5000, 2);
        let fpath = dir.path().join("s.flac");
        flac(&fpath, &data, 2);
        let wpath = dir.path().join("s.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48_000,
            bits_per_sample: 24,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&wpath, spec).unwrap();
        for &s in &data {
            w.write_sample(s).unwrap();
        }
        w.finalize().unwrap();
        let a = AudioReader::open(&fpath).unwrap().read_all().unwrap();
        let mut wr = AudioReader::open(&wpath).unwrap();
        assert_eq!(wr.info().format, AudioFormat::Wav);
        assert_eq!(wr.info().channels, 2);
        let b = wr.read_all().unwrap();
        assert_eq!(a.len(), 5000);
        assert_eq!(a, b);
        let first = (data[0] as f32 / 8_388_608.0 + data[1] as f32 / 8_388_608.0) * 0.5;
        assert!((a[0] - first).abs() < 1e-7);
    }

    #[test]
    fn unknown_and_truncated_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.flac");
        std::fs::write(&junk, b"hello world, not audio").unwrap();
        let err = AudioReader::open(&junk).unwrap_err().to_string();
        assert!(
            err.contains("junk.flac") && err.contains("not a FLAC, WAV or miniSEED"),
            "{err}"
        );

        let path = dir.path().join("t.flac");
        flac(&path, &ramp(50_000, 1), 1);
        let bytes = std::fs::read(&path).unwrap();
        let cut = dir.path().join("cut.flac");
        std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
        let err = AudioReader::open(&cut)
            .and_then(|mut r| r.read_all())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cut.flac") && err.contains("truncated"),
            "{err}"
        );
        let err = AudioReader::open(&dir.path().join("none.wav"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("none.wav"), "{err}");
    }

    /// Issue 16 item 6: a header claiming 2^36 samples must be refused at open (one failed
    /// item), never turned into a 275 GB allocation.
    #[test]
    fn headers_claiming_more_samples_than_the_file_holds_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("liar.flac");
        flac(&path, &ramp(4096, 1), 1);
        let mut bytes = std::fs::read(&path).unwrap();
        // STREAMINFO starts at byte 8; its total-samples field is the low 36 bits of bytes 18..26.
        let mut word = u64::from_be_bytes(bytes[18..26].try_into().unwrap());
        word |= (1u64 << 36) - 1;
        bytes[18..26].copy_from_slice(&word.to_be_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let err = AudioReader::open(&path).unwrap_err().to_string();
        assert!(
            err.contains("liar.flac") && err.contains("68719476735") && err.contains("at most"),
            "{err}"
        );

        let wpath = dir.path().join("liar.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&wpath, spec).unwrap();
        for i in 0..100 {
            w.write_sample(i as i16).unwrap();
        }
        w.finalize().unwrap();
        let mut bytes = std::fs::read(&wpath).unwrap();
        let data = bytes.windows(4).position(|w| w == b"data").unwrap();
        bytes[data + 4..data + 8].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        std::fs::write(&wpath, &bytes).unwrap();
        let err = AudioReader::open(&wpath).unwrap_err().to_string();
        assert!(err.contains("liar.wav"), "{err}");

        // An honest file right at the bound still opens.
        let ok = dir.path().join("ok.flac");
        flac(&ok, &ramp(4096, 1), 1);
        assert_eq!(
            AudioReader::open(&ok).unwrap().read_all().unwrap().len(),
            4096
        );
    }
}
