//! File-level analysis pipelines on local audio: spectrogram jobs (one file → NPZ + JSON
//! provenance sidecar, MAT, PNG), batches of them with a worker pool and progress reporting,
//! input expansion, and the output-file discipline (recognisable temporaries, fsync, rename,
//! umask permissions, stale temporaries cleaned), and runs split into shards: a frozen
//! manifest, the `--shard I/N` rule, per-shard progress records, the run summary, and the text
//! of Slurm job-array scripts; and soundscape days (`soundscape`: per-minute HMD spectra, band
//! levels, percentiles, NetCDF + PNG).
//!
//! Must not know: the network, terminals, flags (the CLI maps its flags onto
//! [`SpectrogramSpec`] and draws [`BatchReporter`] events). Uses only `media` and `dsp`.

mod batch;
mod error;
mod files;
mod inputs;
mod manifest;
mod outputs;
mod shard_run;
mod slurm;
pub mod soundscape;
mod spectrogram;

pub use batch::{run_spectrograms, BatchOptions, BatchReporter, BatchResult, ItemResult, Quiet};
pub use error::AnalysisError;
pub use files::{remove_stale_temporaries, temporary_target};
pub use inputs::{check_stems, expand_inputs, is_audio, wildcard_match};
pub use manifest::{Manifest, RunDir, Shard, Unit, RUN_DIR};
pub use shard_run::{
    run_spectrogram_shard, slurm_job_id, Failure, ItemOutcome, RunStatus, ShardProgress,
    ShardRecord, ShardState, ShardStatus,
};
pub use slurm::{
    array_script, array_script_path, array_spec, merge_script, merge_script_path, read_submissions,
    record_submission, shell_quote, write_script, SlurmResources, Submission,
};
pub use spectrogram::{
    spectrogram_file, stem_of, FileReport, OutputFormat, Precision, SpectrogramSpec,
    DEFAULT_OVERLAP, DEFAULT_WIN_DUR_S, MAX_OUTPUT_BYTES, MAX_VALUES_PER_SAMPLE,
};
