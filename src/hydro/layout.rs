//! Where downloaded and derived files go under `--out DIR`:
//!
//! ```text
//! DIR/<DEVICE>/hsd/<ONC file name>                 HSD spectrograms, as ONC names them
//! DIR/<DEVICE>/audio/<archive file name>           archive audio (FLAC/WAV), as archived
//! DIR/<REFDES>/raw/<archive file name>             OOI raw miniSEED (`:` written `-`)
//! DIR/<REFDES>/audio/<REFDES>_<start>.flac (+.json) an OOI window cut from the raw files
//! DIR/<REFDES>/hsd/<REFDES>_<start>.npz (+.json)    its spectrogram, computed locally
//! DIR/clips/[<tag>/]<output_name>_spec.npz        spectrogram clip (tag: the request's output_tag)
//! DIR/clips/[<tag>/]<output_name>_audio.flac
//! DIR/clips/[<tag>/]<output_name>.json             sidecar: requested and achieved interval, gaps
//! ```
//!
//! Source files keep their ONC names in one folder per device and product, so a rerun over the
//! same or an overlapping range finds its earlier downloads (an existing verified file is the
//! checkpoint) instead of splitting them over date-named folders as the Python tool did.
//!
//! Must not know: how files are written (atomic temp-and-rename is the writer's job), HTTP.

use std::path::{Path, PathBuf};

use super::device::{provider_of, Provider};
use super::error::{HydroError, Result};
use super::grid::DeviceCode;
use super::plan::ClipPlan;

/// Folder (under the output root) that holds every clip; an `output_tag` adds a subfolder.
pub const DEFAULT_CLIP_TAG: &str = "clips";

/// The HSD folder of a device relative to the output root (the engine's task `folder`).
pub fn hsd_folder(device: &DeviceCode) -> String {
    format!("{device}/hsd")
}

/// The archive-audio folder of a device relative to the output root (the engine's task `folder`).
pub fn audio_folder(device: &DeviceCode) -> String {
    format!("{device}/audio")
}

/// The OOI raw-miniSEED folder of a device relative to the output root (the engine's folder).
pub fn raw_folder(device: &DeviceCode) -> String {
    format!("{device}/raw")
}

/// The output folder tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLayout {
    root: PathBuf,
}

/// The files one clip produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipPaths {
    /// `clips/[<tag>/]<output_name>_spec.npz`; `None` when no spectrogram was asked for.
    pub spectrogram: Option<PathBuf>,
    /// `clips/[<tag>/]<output_name>_audio.flac`; `None` when no audio was asked for.
    pub audio: Option<PathBuf>,
    /// `clips/[<tag>/]<output_name>.json`.
    pub sidecar: PathBuf,
}

impl OutputLayout {
    /// The layout under `root` (the `--out` folder).
    pub fn new(root: impl Into<PathBuf>) -> OutputLayout {
        OutputLayout { root: root.into() }
    }

    /// The `--out` folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/<DEVICE>/hsd`: HSD spectrograms as ONC names them.
    pub fn hsd_dir(&self, device: &DeviceCode) -> PathBuf {
        self.root.join(hsd_folder(device))
    }

    /// `<root>/<DEVICE>/audio`: archive audio as archived.
    pub fn audio_dir(&self, device: &DeviceCode) -> PathBuf {
        self.root.join(audio_folder(device))
    }

    /// `<root>/<REFDES>/raw`: OOI raw miniSEED files.
    pub fn raw_dir(&self, device: &DeviceCode) -> PathBuf {
        self.root.join(raw_folder(device))
    }

    /// Where a file named by the server goes; refuses names that would leave the folder.
    pub fn source_file(&self, dir: &Path, server_name: &str) -> Result<PathBuf> {
        let ok = !server_name.is_empty()
            && !server_name.starts_with('.')
            && !server_name.contains(['/', '\\', '\0']);
        if !ok {
            return Err(HydroError::FileName {
                name: server_name.to_string(),
                reason: "not a plain file name".into(),
            });
        }
        Ok(dir.join(server_name))
    }

    /// The outputs of one clip.
    pub fn clip_paths(&self, clip: &ClipPlan) -> ClipPaths {
        let mut dir = self.root.join(DEFAULT_CLIP_TAG);
        if let Some(tag) = clip.output_tag.as_deref() {
            dir = dir.join(tag);
        }
        let name = &clip.output_name;
        ClipPaths {
            spectrogram: clip
                .spectrogram
                .then(|| dir.join(format!("{name}_spec.npz"))),
            // OOI spectrograms are computed from the audio clip, so it is always written.
            audio: (clip.audio || provider_of(&clip.device) == Provider::Ooi)
                .then(|| dir.join(format!("{name}_audio.flac"))),
            sidecar: dir.join(format!("{name}.json")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hydro::annotation_files::parse_json;
    use crate::hydro::annotations::CallerDefaults;
    use crate::hydro::plan::PlanBuilder;

    #[test]
    fn files_and_clips_have_fixed_places() {
        let set = parse_json(
            "t.json",
            r#"{"requests": [
                {"deviceCode": "ICLISTENHF6324", "timestamp": "2024-04-01T12:34:50Z",
                 "pad_seconds": 15, "audio": true, "output_tag": "calls"},
                {"deviceCode": "ICLISTENHF6324", "timestamp": "2024-04-01T13:00:00Z",
                 "pad_seconds": 5}]}"#,
            &CallerDefaults::default(),
        )
        .unwrap();
        let mut b = PlanBuilder::new(12).unwrap();
        for a in &set.annotations {
            b.add_annotation(a).unwrap();
        }
        let plan = b.build();
        let layout = OutputLayout::new("/data");
        let p = layout.clip_paths(&plan.clips[0]);
        assert_eq!(
            p.spectrogram.unwrap(),
            PathBuf::from("/data/clips/calls/ICLISTENHF6324_20240401T123450_spec.npz")
        );
        assert_eq!(
            p.audio.unwrap(),
            PathBuf::from("/data/clips/calls/ICLISTENHF6324_20240401T123450_audio.flac")
        );
        let q = layout.clip_paths(&plan.clips[1]);
        assert_eq!(q.audio, None);
        assert_eq!(
            q.sidecar,
            PathBuf::from("/data/clips/ICLISTENHF6324_20240401T130000.json")
        );
        let dev = DeviceCode::parse("ICLISTENHF6324").unwrap();
        let f = layout
            .source_file(
                &layout.audio_dir(&dev),
                "ICLISTENHF6324_20240401T120000.000Z.flac",
            )
            .unwrap();
        assert_eq!(
            f,
            PathBuf::from("/data/ICLISTENHF6324/audio/ICLISTENHF6324_20240401T120000.000Z.flac")
        );
        assert_eq!(hsd_folder(&dev), "ICLISTENHF6324/hsd");
        assert_eq!(
            layout.hsd_dir(&dev),
            PathBuf::from("/data/ICLISTENHF6324/hsd")
        );
        for bad in ["../x.flac", "", ".hidden", "a/b.mat"] {
            assert!(
                layout.source_file(&layout.hsd_dir(&dev), bad).is_err(),
                "{bad}"
            );
        }
    }
}
