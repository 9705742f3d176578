//! The hydrophone front end: annotation files, the 5-minute UTC time grid, sampling strategies,
//! HSD/FLAC task building, clip assembly across file boundaries with gap accounting.
//!
//! Must not know: HTTP details, terminals.

mod error;
mod grid;
mod timeparse;

pub use error::{HydroError, Location, Result};
pub use grid::{
    compact_time, format_time, seconds, windows_overlapping, DeviceCode, TimeRange, Window,
    MAX_WINDOWS, WINDOW_NANOS, WINDOW_SECONDS,
};
pub use timeparse::{parse_time, parse_time_list, parse_time_value, parse_timezone};
