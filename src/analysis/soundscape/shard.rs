//! Soundscape runs split into shards (`soundscape --shard I/N`, Slurm job arrays): the
//! manifest of a soundscape run freezes the input list, every file's sample count and sample
//! rate, and the UTC days with data, each with the files that feed it; day number `k` (from 0,
//! in date order) belongs to shard `k mod N`. A shard places every file exactly as the whole
//! run would ([`Plan`]), reads only the files of its days and writes their products, which are
//! therefore byte-identical to an unsharded run's. A day whose outputs all exist is skipped:
//! the day files are the checkpoints (each written to a temporary and renamed).
//!
//! Must not know: Slurm, flags, terminals.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::output::day_paths;
use super::plan::{day_label, day_of_label, Plan};
use super::{
    run_plan, start_from_name, DayReport, Event, Progress, SoundscapeError, SoundscapeSpec,
};
use crate::analysis::{
    expand_inputs, AnalysisError, ItemOutcome, Manifest, RunDir, Shard, ShardProgress, Unit,
};
use crate::media::atomic::TEMP_PREFIX;

/// The rule written into soundscape manifests (and `--help`).
pub const DAY_RULE: &str = "UTC days with data in date order; day number k (from 0) belongs to \
shard k mod N; the shard of a day reads every file with samples in that day, placed on the \
run's sample clock as the whole run places it";

/// The files `spec` writes for UTC day `day` (`YYYYMMDD`) in `out_dir`.
pub fn day_outputs(out_dir: &Path, day: &str, spec: &SoundscapeSpec) -> Vec<PathBuf> {
    let [nc, ltsa, pct] = day_paths(out_dir, day);
    if spec.png {
        vec![nc, ltsa, pct]
    } else {
        vec![nc]
    }
}

/// The manifest of a soundscape run in `out` over `inputs`: the one frozen there, or a new one
/// (headers of every input read once) frozen now.
pub fn freeze_manifest(
    out: &Path,
    inputs: &[PathBuf],
    spec: &SoundscapeSpec,
) -> Result<Manifest, SoundscapeError> {
    Manifest::open_or_freeze_with(out, "soundscape", inputs, || {
        let files = expand_inputs(inputs)?;
        if files.is_empty() {
            return Err(AnalysisError::Parameter(
                "no FLAC/WAV/miniSEED files found in the inputs".into(),
            )
            .into());
        }
        let mut m = Manifest::new("soundscape", inputs, files);
        let plan = Plan::of(&m.files, spec)?;
        let number: HashMap<&Path, usize> = m
            .files
            .iter()
            .enumerate()
            .map(|(k, f)| (f.as_path(), k))
            .collect();
        let mut frames = vec![0u64; m.files.len()];
        for f in &plan.files {
            frames[number[f.path.as_path()]] += f.frames;
        }
        m.units = plan
            .days()
            .into_iter()
            .map(|d| Unit {
                name: day_label(d.index),
                files: d
                    .files
                    .iter()
                    .map(|&i| number[plan.files[i].path.as_path()])
                    .collect(),
            })
            .collect();
        m.frames = frames;
        m.sample_rate = Some(plan.fs);
        m.unit = "day".into();
        m.rule = DAY_RULE.into();
        Ok(m)
    })
}

fn is_mseed_name(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("mseed"))
}

fn not_soundscape(m: &Manifest, out: &Path) -> SoundscapeError {
    AnalysisError::Run {
        file: RunDir::of(out).manifest(),
        reason: format!(
            "this manifest is for `{}`, not a soundscape run (no days)",
            m.command
        ),
    }
    .into()
}

/// The run's plan from its manifest (no file is opened).
pub fn plan_of_manifest(
    m: &Manifest,
    out: &Path,
    spec: &SoundscapeSpec,
) -> Result<Plan, SoundscapeError> {
    let fs = m.sample_rate.ok_or_else(|| not_soundscape(m, out))?;
    if m.frames.len() != m.files.len() {
        return Err(not_soundscape(m, out));
    }
    let mut list = Vec::with_capacity(m.files.len());
    for (p, &n) in m.files.iter().zip(&m.frames) {
        if is_mseed_name(p) {
            // Its traces' start times are in the data, not the name: read them again.
            let (_, pieces) = super::plan::pieces_of(p)?;
            list.extend(pieces.into_iter().map(|(s, n, k)| (p.clone(), s, n, k)));
        } else {
            list.push((p.clone(), start_from_name(p)?, n, 0));
        }
    }
    Ok(Plan::place_segments(fs, list, spec.join_tolerance_s))
}

/// What one soundscape shard did.
#[derive(Debug)]
pub struct ShardDays {
    /// Days computed now.
    pub computed: Vec<DayReport>,
    /// Days whose outputs existed (`YYYY-MM-DD`).
    pub skipped: Vec<String>,
}

/// Runs shard `shard` of the soundscape run frozen in `out`: its days whose outputs are
/// missing, progress in the shard record (`job`: the scheduler's id).
pub fn run_soundscape_shard(
    manifest: &Manifest,
    shard: Shard,
    out: &Path,
    spec: &SoundscapeSpec,
    job: Option<String>,
    progress: &Progress<'_>,
) -> Result<ShardDays, SoundscapeError> {
    if manifest.unit != "day" {
        return Err(not_soundscape(manifest, out));
    }
    let plan = plan_of_manifest(manifest, out, spec)?;
    let mine = manifest.units_of(shard);
    std::fs::create_dir_all(out).map_err(|e| AnalysisError::io(out, e))?;
    let record = ShardProgress::start(out, shard, mine.len(), job)?;
    let mut todo = BTreeSet::new();
    let mut skipped = Vec::new();
    let mut outputs = Vec::new();
    for (_, unit) in &mine {
        let index = day_of_label(&unit.name).ok_or_else(|| AnalysisError::Run {
            file: RunDir::of(out).manifest(),
            reason: format!("day {:?} is not YYYY-MM-DD", unit.name),
        })?;
        let paths = day_outputs(out, &super::plan::day_name(index), spec);
        if paths.iter().all(|p| p.is_file()) {
            record.item(Path::new(&unit.name), ItemOutcome::Skipped);
            skipped.push(unit.name.clone());
        } else {
            todo.insert(index);
            outputs.extend(paths);
        }
    }
    remove_stale_temporaries(out, &outputs)?;
    let result = if todo.is_empty() {
        Ok(Vec::new())
    } else {
        run_plan(&plan, Some(&todo), out, spec, &|e| {
            if let Event::Day(r) = &e {
                record.item(Path::new(&r.day), ItemOutcome::Done);
            }
            progress(e)
        })
    };
    match result {
        Ok(computed) => {
            let written: BTreeSet<String> = computed.iter().map(|r| r.day.clone()).collect();
            for &d in &todo {
                if !written.contains(&super::plan::day_name(d)) {
                    record.item(
                        Path::new(&day_label(d)),
                        ItemOutcome::Failed(
                            "no samples of this day were decoded (a file shorter than its header?)",
                        ),
                    );
                }
            }
            record.finish()?;
            Ok(ShardDays { computed, skipped })
        }
        Err(e) => {
            record.item(out, ItemOutcome::Failed(&e.to_string()));
            record.finish()?;
            Err(e)
        }
    }
}

/// Removes temporaries a killed run left for `outputs` (only those: other shards may be
/// writing their own days into the same folder right now).
fn remove_stale_temporaries(out: &Path, outputs: &[PathBuf]) -> Result<(), SoundscapeError> {
    let names: Vec<String> = outputs
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| format!("-{}", n.to_string_lossy()))
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let entries = std::fs::read_dir(out).map_err(|e| AnalysisError::io(out, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(TEMP_PREFIX) && names.iter().any(|n| name.ends_with(n.as_str())) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}
