//! Frozen input lists and deterministic shards for runs split over many processes (Slurm job
//! arrays): the manifest `<out>/onc-hydro-run/manifest.json` is written once (first writer
//! wins, atomically) and every shard reads the same list from it, even if files are added to the
//! input folders meanwhile.
//!
//! The assignment rule: the manifest lists files sorted by path; file number `k` (from 0)
//! belongs to shard `k mod N`. A command whose work comes in larger units than files (the UTC
//! days of `soundscape`) also freezes its units, each with the files it needs (a file may serve
//! several units); then unit number `k` belongs to shard `k mod N`. Shard `I/N` is numbered
//! from 0, like `SLURM_ARRAY_TASK_ID`.
//!
//! Must not know: what is computed per file, Slurm itself, terminals.

// TODO(issue 15 item 6): document the public items below, then delete this allow.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::files::write_bytes_atomic;
use super::AnalysisError;

/// The folder inside an output folder that holds a sharded run's bookkeeping.
pub const RUN_DIR: &str = "onc-hydro-run";

/// The bookkeeping paths of a sharded run in an output folder.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// `<out>/onc-hydro-run`.
    pub dir: PathBuf,
}

impl RunDir {
    /// The run folder of output folder `out`.
    pub fn of(out: &Path) -> Self {
        RunDir {
            dir: out.join(RUN_DIR),
        }
    }
    /// The run's `manifest` path.
    pub fn manifest(&self) -> PathBuf {
        self.dir.join("manifest.json")
    }
    /// The run's `shards` path.
    pub fn shards(&self) -> PathBuf {
        self.dir.join("shards")
    }
    /// The run's `shard_record` path.
    pub fn shard_record(&self, shard: Shard) -> PathBuf {
        self.shards().join(format!(
            "shard-{:04}-of-{:04}.json",
            shard.index, shard.count
        ))
    }
    /// The run's `summary` path.
    pub fn summary(&self) -> PathBuf {
        self.dir.join("summary.json")
    }
    /// The run's `submissions` path.
    pub fn submissions(&self) -> PathBuf {
        self.dir.join("submissions.json")
    }
    /// The run's `logs` path.
    pub fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }
}

/// One shard `index` of `count` (0 ≤ index < count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Shard number, from 0.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// Parses `I/N` (e.g. `3/16`; `I` from 0).
    pub fn parse(text: &str) -> Result<Shard, AnalysisError> {
        let bad = || {
            AnalysisError::Parameter(format!(
                "--shard expects I/N with 0 ≤ I < N (e.g. 0/4), got {text:?}"
            ))
        };
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether file number `k` of the manifest belongs to this shard.
    pub fn owns(self, k: usize) -> bool {
        k % self.count == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The frozen input list of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The command the list is for (`spectrogram`, …).
    pub command: String,
    /// The inputs as given on the command line.
    pub inputs: Vec<PathBuf>,
    /// When the list was frozen.
    pub created: String,
    /// The assignment rule, in words.
    pub rule: String,
    /// Every input file, sorted by path.
    pub files: Vec<PathBuf>,
    /// Samples per file (parallel to `files`), for commands that place files on a clock.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<u64>,
    /// The common sample rate of `files`, for such commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u32>,
    /// What shards own: `file` (one per file) or the name of the unit in `units` (`day`).
    #[serde(default = "file_unit")]
    pub unit: String,
    /// The units shards own instead of files, in order (empty: files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<Unit>,
}

fn file_unit() -> String {
    "file".into()
}

/// A unit of work larger than a file (a UTC day) and the files it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    /// Its name (`2024-04-01`).
    pub name: String,
    /// Numbers of the files it needs in [`Manifest::files`].
    pub files: Vec<usize>,
}

impl Manifest {
    /// A manifest for `files` (sorted here) found from `inputs`.
    pub fn new(command: &str, inputs: &[PathBuf], mut files: Vec<PathBuf>) -> Manifest {
        files.sort();
        files.dedup();
        Manifest {
            command: command.to_string(),
            inputs: inputs.to_vec(),
            created: format!("{:.3}", jiff::Timestamp::now()),
            rule: "files sorted by path; file number k (from 0) belongs to shard k mod N".into(),
            files,
            frames: Vec::new(),
            sample_rate: None,
            unit: file_unit(),
            units: Vec::new(),
        }
    }

    /// Number of things shards own (units if any, else files).
    pub fn items(&self) -> usize {
        if self.units.is_empty() {
            self.files.len()
        } else {
            self.units.len()
        }
    }

    /// How many of them `shard` owns.
    pub fn items_of(&self, shard: Shard) -> usize {
        (0..self.items()).filter(|&k| shard.owns(k)).count()
    }

    /// The units of `shard`, with their numbers.
    pub fn units_of(&self, shard: Shard) -> Vec<(usize, &Unit)> {
        self.units
            .iter()
            .enumerate()
            .filter(|(k, _)| shard.owns(*k))
            .collect()
    }

    /// The files of `shard`, with their numbers in the manifest.
    pub fn files_of(&self, shard: Shard) -> Vec<(usize, PathBuf)> {
        self.files
            .iter()
            .enumerate()
            .filter(|(k, _)| shard.owns(*k))
            .map(|(k, f)| (k, f.clone()))
            .collect()
    }

    /// Reads the manifest of output folder `out`, if there is one.
    pub fn read(out: &Path) -> Result<Option<Manifest>, AnalysisError> {
        let path = RunDir::of(out).manifest();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(AnalysisError::io(&path, e)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| AnalysisError::Run {
                file: path,
                reason: format!("not a manifest written by onc-hydro: {e}"),
            })
    }

    /// Freezes this manifest into `out` unless one exists; returns the manifest in force (the
    /// existing one wins, so shards starting together agree). Fails if the existing manifest
    /// was made for another command or other inputs.
    pub fn freeze(self, out: &Path) -> Result<Manifest, AnalysisError> {
        let run = RunDir::of(out);
        let path = run.manifest();
        if let Some(existing) = Manifest::read(out)? {
            return self.agree(existing, &path);
        }
        std::fs::create_dir_all(&run.dir).map_err(|e| AnalysisError::io(&run.dir, e))?;
        let text = serde_json::to_string_pretty(&self).map_err(|e| AnalysisError::Encode {
            file: path.clone(),
            reason: e.to_string(),
        })?;
        // Write a private copy, then hard-link it to the shared name: linking fails if another
        // process froze its list first, and then that one is read and used.
        let mine = run
            .dir
            .join(format!("manifest.{}.json", std::process::id()));
        write_bytes_atomic(&mine, text.as_bytes())?;
        let linked = std::fs::hard_link(&mine, &path);
        let _ = std::fs::remove_file(&mine);
        match linked {
            Ok(()) => Ok(self),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let existing = Manifest::read(out)?.ok_or_else(|| AnalysisError::Run {
                    file: path.clone(),
                    reason: "vanished while being read".into(),
                })?;
                self.agree(existing, &path)
            }
            Err(e) => Err(AnalysisError::io(&path, e)),
        }
    }

    /// The manifest in force in `out` for `command` over `inputs`: the existing one if it
    /// agrees (without listing the inputs again), else `expand()` frozen now.
    pub fn open_or_freeze(
        out: &Path,
        command: &str,
        inputs: &[PathBuf],
        expand: impl FnOnce() -> Result<Vec<PathBuf>, AnalysisError>,
    ) -> Result<Manifest, AnalysisError> {
        Manifest::open_or_freeze_with(out, command, inputs, || {
            Ok(Manifest::new(command, inputs, expand()?))
        })
    }

    /// Like [`Manifest::open_or_freeze`], for a command that builds a manifest with units:
    /// `build()` runs only when no manifest exists yet.
    pub fn open_or_freeze_with<E: From<AnalysisError>>(
        out: &Path,
        command: &str,
        inputs: &[PathBuf],
        build: impl FnOnce() -> Result<Manifest, E>,
    ) -> Result<Manifest, E> {
        let wanted = Manifest::new(command, inputs, Vec::new());
        if let Some(existing) = Manifest::read(out)? {
            return Ok(wanted.agree(existing, &RunDir::of(out).manifest())?);
        }
        Ok(build()?.freeze(out)?)
    }

    fn agree(self, existing: Manifest, path: &Path) -> Result<Manifest, AnalysisError> {
        if existing.command != self.command || existing.inputs != self.inputs {
            return Err(AnalysisError::Run {
                file: path.to_path_buf(),
                reason: format!(
                    "this output folder belongs to a run of `{}` over {:?}; use another --out \
                     (or delete {}) for `{}` over {:?}",
                    existing.command, existing.inputs, RUN_DIR, self.command, self.inputs
                ),
            });
        }
        Ok(existing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_partition_the_sorted_list() {
        assert_eq!(
            Shard::parse("3/16").unwrap(),
            Shard {
                index: 3,
                count: 16
            }
        );
        for bad in ["4/4", "1", "a/2", "0/0", "-1/3"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        let files: Vec<PathBuf> = ["c", "a", "e", "b", "d"]
            .iter()
            .map(PathBuf::from)
            .collect();
        let m = Manifest::new("spectrogram", &[], files);
        let mut all: Vec<PathBuf> = Vec::new();
        for i in 0..2 {
            all.extend(
                m.files_of(Shard { index: i, count: 2 })
                    .into_iter()
                    .map(|x| x.1),
            );
        }
        all.sort();
        assert_eq!(all, m.files);
        let s0: Vec<_> = m
            .files_of(Shard { index: 0, count: 2 })
            .into_iter()
            .map(|x| x.1)
            .collect();
        assert_eq!(
            s0,
            vec![PathBuf::from("a"), PathBuf::from("c"), PathBuf::from("e")]
        );
    }

    #[test]
    fn the_first_frozen_list_wins_and_other_inputs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = vec![PathBuf::from("in")];
        let first = Manifest::new("spectrogram", &inputs, vec!["in/a.flac".into()]);
        let got = first.clone().freeze(dir.path()).unwrap();
        assert_eq!(got.files, first.files);
        // A later shard sees a file added meanwhile but gets the frozen list.
        let later = Manifest::new(
            "spectrogram",
            &inputs,
            vec!["in/a.flac".into(), "in/b.flac".into()],
        );
        assert_eq!(later.freeze(dir.path()).unwrap().files, first.files);
        let other = Manifest::new("spectrogram", &[PathBuf::from("x")], vec![]);
        assert!(other.freeze(dir.path()).is_err());
    }
}
