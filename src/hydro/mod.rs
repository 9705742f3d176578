//! The hydrophone front end: annotation files, the 5-minute UTC time grid, sampling strategies,
//! HSD/FLAC task building, clip assembly across file boundaries with gap accounting.
//!
//! Must not know: HTTP details, terminals.
