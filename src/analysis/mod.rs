//! File-level analysis pipelines over local audio: soundscape days (this branch); the
//! spectrogram job, manifests and `--shard` assignment join here from the "analysis" work.
//!
//! Must not know: the network, terminals, flag parsing. Depends on `media` and `dsp` only.

pub mod soundscape;
