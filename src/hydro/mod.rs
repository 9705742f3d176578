//! The hydrophone front end: annotation files, the 5-minute UTC time grid, sampling strategies,
//! HSD/FLAC task building, clip assembly across file boundaries with gap accounting.
//!
//! Must not know: HTTP details, terminals.

mod annotation_files;
mod annotations;
mod archive;
mod clip;
mod clip_write;
mod clips_cut;
mod device;
mod error;
mod fields;
mod grid;
mod hsd;
mod layout;
mod ooi_audio;
mod ooi_serve;
mod plan;
mod run;
mod sampling;
mod timeparse;

pub use annotation_files::{load_annotation_file, parse_csv, parse_json, AnnotationSet};
pub use annotations::{annotation_at, Annotation, CallerDefaults};
pub use archive::{
    parse_archive_name, select_audio, ArchiveName, AudioExtension, AudioSelection, ListedFile,
    SourceFile,
};
pub use clip::{
    even_column_times, plan_audio_clip, plan_spectrogram_clip, AudioSource, ClipAssembly, Piece,
    SpectSource,
};
pub use clips_cut::{
    cut_audio, cut_clip, cut_clips, cut_spectrogram, ClipCutError, ClipsSummary, Interval,
    ProductRecord, Sidecar,
};
pub use device::{Device, Provider};
pub use error::{HydroError, Location, Result};
pub use grid::{
    seconds, windows_overlapping, DeviceCode, TimeRange, Window, MAX_WINDOWS, WINDOW_NANOS,
    WINDOW_SECONDS,
};
pub use hsd::{Downsample, DpoOptions, HsdOrder, HsdSettings, SpectrogramFormat, HSD_PRODUCT_CODE};
pub use layout::{audio_folder, hsd_folder, ClipPaths, OutputLayout, DEFAULT_CLIP_TAG};
pub use ooi_audio::{cut_raw_audio, BUFFERED_SAMPLES};
pub use ooi_serve::{has_ooi, OoiSummary};
pub use plan::{AudioSpan, ClipPlan, Plan, PlanBuilder, PlanDocument, PlannedRequest};
pub use run::{
    audio_tasks, count_delivered, has_onc, hsd_task, hsd_tasks, plan_tasks, run_plan,
    write_summary, HydroSummary, RunError,
};
pub use sampling::{command_range, sample, span, Burst, Sampled};
pub use timeparse::{parse_time, parse_time_list, parse_time_value, parse_timezone};
