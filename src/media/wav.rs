//! WAV files: writing 24-bit integer PCM (what ONC archived before 2020-08-10) and reading
//! integer-PCM WAV of any bit depth, through `hound`.
//!
//! Must not know: network, annotations, where the samples come from.

use std::io::Cursor;
use std::path::Path;

use super::error::{mem, MediaError};

/// Decoded integer PCM audio (samples right-justified, interleaved by channel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WavAudio {
    /// Samples per second per channel.
    pub sample_rate: u32,
    /// Number of interleaved channels.
    pub channels: u16,
    /// Bits per sample as stored (8, 16, 24 or 32).
    pub bits_per_sample: u16,
    /// Interleaved samples, right-justified integers.
    pub samples: Vec<i32>,
}

fn codec(file: &Path, e: hound::Error) -> MediaError {
    match e {
        hound::Error::IoError(source) => MediaError::Io {
            file: file.to_path_buf(),
            source,
        },
        hound::Error::Unsupported => MediaError::Unsupported {
            file: file.to_path_buf(),
            format: "WAV",
            reason: "this WAV variant is not supported by hound".into(),
        },
        other => MediaError::Codec {
            file: file.to_path_buf(),
            format: "WAV",
            reason: other.to_string(),
        },
    }
}

/// Encodes interleaved samples as a 24-bit integer PCM WAV file in memory.
pub fn encode_wav24(
    samples: &[i32],
    sample_rate: u32,
    channels: u16,
) -> Result<Vec<u8>, MediaError> {
    let file = mem();
    if channels == 0 {
        return Err(MediaError::Invalid {
            file,
            field: "channels",
            reason: "0".into(),
        });
    }
    if !samples.len().is_multiple_of(channels as usize) {
        return Err(MediaError::Invalid {
            file,
            field: "samples",
            reason: format!(
                "{} samples are not a multiple of {channels} channels",
                samples.len()
            ),
        });
    }
    if let Some((i, v)) = samples
        .iter()
        .enumerate()
        .find(|(_, v)| !(-(1 << 23)..1 << 23).contains(*v))
    {
        return Err(MediaError::Invalid {
            file,
            field: "samples",
            reason: format!("sample {i} = {v} does not fit in 24 bits"),
        });
    }
    let spec = hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample: 24,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::with_capacity(samples.len() * 3 + 64));
    let mut w = hound::WavWriter::new(&mut out, spec).map_err(|e| codec(&file, e))?;
    for &s in samples {
        w.write_sample(s).map_err(|e| codec(&file, e))?;
    }
    w.finalize().map_err(|e| codec(&file, e))?;
    Ok(out.into_inner())
}

/// Reads an integer-PCM WAV from memory (float WAV is reported as unsupported).
pub fn read_wav(bytes: &[u8]) -> Result<WavAudio, MediaError> {
    read_wav_named(bytes, &mem())
}

fn read_wav_named(bytes: &[u8], file: &Path) -> Result<WavAudio, MediaError> {
    // Reading from memory, an I/O error can only mean the data ended early.
    let codec = |file: &Path, e: hound::Error| match e {
        hound::Error::IoError(io) => MediaError::Malformed {
            file: file.to_path_buf(),
            format: "WAV",
            offset: bytes.len() as u64,
            reason: format!("truncated ({io})"),
        },
        other => codec(file, other),
    };
    let r = hound::WavReader::new(Cursor::new(bytes)).map_err(|e| codec(file, e))?;
    let spec = r.spec();
    if spec.sample_format != hound::SampleFormat::Int {
        return Err(MediaError::Unsupported {
            file: file.to_path_buf(),
            format: "WAV",
            reason: "floating-point samples (only integer PCM is read)".into(),
        });
    }
    let samples = r
        .into_samples::<i32>()
        .collect::<Result<Vec<i32>, _>>()
        .map_err(|e| codec(file, e))?;
    Ok(WavAudio {
        sample_rate: spec.sample_rate,
        channels: spec.channels,
        bits_per_sample: spec.bits_per_sample,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav24_roundtrips_full_scale_in_memory_and_on_disk() {
        let s: Vec<i32> = (0..10_000)
            .map(|i| ((i as f64 * 0.37).sin() * 8_388_607.0) as i32)
            .chain([8_388_607, -8_388_608])
            .collect();
        let bytes = encode_wav24(&s, 32_000, 1).unwrap();
        assert_eq!(&bytes[..4], b"RIFF");
        let a = read_wav(&bytes).unwrap();
        assert_eq!(
            (a.sample_rate, a.channels, a.bits_per_sample),
            (32_000, 1, 24)
        );
        assert_eq!(a.samples, s);
    }

    #[test]
    fn bad_input_names_the_file_and_field() {
        let e = encode_wav24(&[1 << 23], 8_000, 1).unwrap_err();
        assert!(e.to_string().contains("24 bits"), "{e}");
        let e = read_wav(b"RIFF\x04\0\0\0WAVEjunk").unwrap_err();
        assert!(e.to_string().contains("WAV"), "{e}");
    }
}
