//! Writing a planned audio clip as FLAC, streamed: the pieces of a [`ClipAssembly`] in order,
//! each interior gap as a run of zeros (so every sample stays at its true time), fed to the
//! streaming FLAC writer a block at a time. The caller says how one piece's samples are read
//! (ONC: FLAC/WAV archive files; OOI: miniSEED records), so memory is a decoder's block, never
//! the clip. Shared by ONC and OOI clips and by OOI windows.
//!
//! Must not know: file formats of the sources, HTTP, the engine, terminals.

use std::path::Path;

use jiff::Timestamp;

use super::clip::{ClipAssembly, Piece};
use super::clips_cut::{ensure_dir, ClipCutError};
use crate::media::{self, FlacSpec, MediaError};

/// What [`super::ProductRecord::gap_handling`] says for every audio clip.
pub(crate) const AUDIO_GAPS: &str =
    "interior gaps filled with silence; leading/trailing gaps not in the file";

/// A sink of clip samples, in order.
pub(crate) type Emit<'a> = dyn FnMut(&[i32]) -> Result<(), ClipCutError> + 'a;

/// Zeros between two pieces, in samples.
pub(crate) fn fill_samples(prev_end: Timestamp, next: Timestamp, rate: u32) -> u64 {
    let gap = next.duration_since(prev_end).as_secs_f64();
    let fill = (gap * f64::from(rate)).round();
    if fill >= 1.0 {
        fill as u64
    } else {
        0
    }
}

/// The length of the clip file: pieces plus interior gap fills.
pub(crate) fn total_samples(assembly: &ClipAssembly, rate: u32) -> u64 {
    let mut total = assembly.units();
    for w in assembly.pieces.windows(2) {
        total += fill_samples(w[0].range.end(), w[1].range.start(), rate);
    }
    total
}

/// Walks the clip's samples in order through `emit`: `piece` streams one piece's samples
/// (`first..end` of its source), and gap fills come between as zero runs.
pub(crate) fn walk(
    assembly: &ClipAssembly,
    rate: u32,
    piece: &mut dyn FnMut(&Piece, &mut Emit<'_>) -> Result<(), ClipCutError>,
    emit: &mut Emit<'_>,
) -> Result<(), ClipCutError> {
    let zeros = vec![0i32; 1 << 14];
    let mut previous_end = None;
    for p in &assembly.pieces {
        if let Some(prev) = previous_end {
            let mut fill = fill_samples(prev, p.range.start(), rate);
            while fill > 0 {
                let k = fill.min(zeros.len() as u64) as usize;
                emit(&zeros[..k])?;
                fill -= k as u64;
            }
        }
        piece(p, emit)?;
        previous_end = Some(p.range.end());
    }
    Ok(())
}

/// Writes exactly `total` samples from `produce` to `target` as FLAC (temporary file, fsync,
/// rename; `target` untouched on any error, which comes back as `produce` raised it).
pub(crate) fn write_clip_flac(
    target: &Path,
    spec: &FlacSpec,
    total: u64,
    produce: impl FnOnce(&mut Emit<'_>) -> Result<(), ClipCutError>,
) -> Result<(), ClipCutError> {
    ensure_dir(target)?;
    let mut inner: Option<ClipCutError> = None;
    media::write_flac_stream(target, spec, total, |w| {
        produce(&mut |s: &[i32]| w.write(s).map_err(ClipCutError::Media)).map_err(|e| {
            let text = e.to_string();
            inner = Some(e);
            MediaError::Invalid {
                file: target.to_path_buf(),
                field: "samples",
                reason: text,
            }
        })
    })
    .map_err(|e| inner.take().unwrap_or(ClipCutError::Media(e)))
}
