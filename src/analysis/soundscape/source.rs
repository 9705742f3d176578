//! The read side of a soundscape run: one placed input decoded into blocks of exactly the
//! samples the plan keeps (its timed segment only, the samples an earlier file covers dropped,
//! nothing beyond the header's count), checked against the run's sample rate, and its SHA-256 —
//! from the bytes the decoder reads (one pass), except for a file read in two parts (its
//! samples fall in two days, or in two parts of a day computed by two workers), hashed before
//! decoding because the first part may be written, or stop reading, before the file's end.
//!
//! Must not know: STFT, minutes, days, threads.

use std::ops::Range;

use super::{day, Placed, SoundscapeError};
use crate::media::AudioReader;

/// One placed input being read.
pub(crate) struct PlacedReader {
    reader: AudioReader,
    segment: usize,
    early_sha: Option<String>,
    skip: u64,
    left: u64,
}

impl PlacedReader {
    /// Opens `file` and checks its rate is `fs`. With `span` (clock ticks), only the kept
    /// samples before its end are read; a file with samples outside `span` or in two days is
    /// hashed first.
    pub fn open(
        file: &Placed,
        fs: u32,
        span: Option<&Range<i64>>,
    ) -> Result<PlacedReader, SoundscapeError> {
        let ticks = file.tick..file.tick.saturating_add(file.kept() as i64);
        let outside = span.is_some_and(|s| ticks.start < s.start || ticks.end > s.end);
        let early_sha = if outside || file.days(fs).count() > 1 {
            Some(day::sha256_file(&file.path)?)
        } else {
            None
        };
        let reader = if early_sha.is_some() {
            AudioReader::open(&file.path)?
        } else {
            AudioReader::open_hashed(&file.path)?
        };
        let rate = reader.info().sample_rate;
        if rate != fs {
            return Err(SoundscapeError::Input {
                path: file.path.display().to_string(),
                reason: format!(
                    "sample rate {rate} Hz, but the run was planned at {fs} Hz (the file changed?)"
                ),
            });
        }
        Ok(PlacedReader {
            reader,
            segment: file.segment,
            early_sha,
            skip: file.skip,
            left: match span {
                Some(s) => (s.end - file.tick).clamp(0, ticks.end - ticks.start) as u64,
                None => file.kept(),
            },
        })
    }

    /// The file's SHA-256 when it was hashed before decoding.
    pub fn early_sha(&self) -> Option<&str> {
        self.early_sha.as_deref()
    }

    /// Decodes the next block into `buf` and returns the range of it the plan keeps (never
    /// empty); `None` once every kept sample was read.
    pub fn next_block(
        &mut self,
        buf: &mut Vec<f32>,
    ) -> Result<Option<Range<usize>>, SoundscapeError> {
        while self.left > 0 && self.reader.read_block(buf)? {
            // A miniSEED trace is placed on its own: read only its blocks.
            match self.reader.segment_of_last_block().cmp(&self.segment) {
                std::cmp::Ordering::Less => continue,
                std::cmp::Ordering::Greater => break,
                std::cmp::Ordering::Equal => {}
            }
            let start = (self.skip as usize).min(buf.len());
            self.skip -= start as u64;
            // The plan placed the header's sample count; samples beyond it are not the run's.
            let n = ((buf.len() - start) as u64).min(self.left) as usize;
            self.left -= n as u64;
            if n > 0 {
                return Ok(Some(start..start + n));
            }
        }
        self.left = 0;
        Ok(None)
    }

    /// The SHA-256 learnt only by reading: `None` when [`PlacedReader::early_sha`] had it.
    pub fn finish(self) -> Result<Option<String>, SoundscapeError> {
        if self.early_sha.is_some() {
            return Ok(None);
        }
        Ok(Some(self.reader.finish_sha256()?))
    }
}
