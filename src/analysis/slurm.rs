//! Slurm job arrays for sharded runs, as text and records: the commented, reusable sbatch
//! script of the array (one task per shard), the merge script run after it
//! (`--dependency=afterok`), the `--array` specification for the shards still to do, and the
//! record of submissions in `<out>/onc-hydro-run/submissions.json`.
//!
//! Must not know: how `sbatch`/`squeue` are invoked (the CLI runs them), terminals.

// TODO(issue 15 item 6): document the public items below, then delete this allow.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::files::write_bytes_atomic;
use super::manifest::RunDir;
use super::AnalysisError;

/// Resources asked of Slurm for each array task.
#[derive(Debug, Clone, Default)]
pub struct SlurmResources {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time` limit per task.
    pub time: Option<String>,
    /// `--mem` per task.
    pub mem: Option<String>,
    /// `--cpus-per-task`.
    pub cpus_per_task: Option<u32>,
}

/// Quotes `s` for a POSIX shell (single quotes).
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `--array` for the shard indices `todo` (sorted), with an optional `%M` concurrency cap:
/// runs of consecutive indices are written as ranges (`0-3`, `1,4-6`).
pub fn array_spec(todo: &[usize], max_concurrent: Option<u32>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < todo.len() {
        let start = todo[i];
        let mut end = start;
        while i + 1 < todo.len() && todo[i + 1] == end + 1 {
            i += 1;
            end = todo[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    let mut spec = parts.join(",");
    if let Some(m) = max_concurrent {
        spec.push_str(&format!("%{m}"));
    }
    spec
}

fn sbatch_lines(res: &SlurmResources) -> String {
    let mut s = String::new();
    if let Some(p) = &res.partition {
        s.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(t) = &res.time {
        s.push_str(&format!("#SBATCH --time={t}\n"));
    }
    if let Some(m) = &res.mem {
        s.push_str(&format!("#SBATCH --mem={m}\n"));
    }
    if let Some(c) = res.cpus_per_task {
        s.push_str(&format!("#SBATCH --cpus-per-task={c}\n"));
    }
    s
}

/// The job-array script: task `$SLURM_ARRAY_TASK_ID` runs `exe command…
/// --shard $SLURM_ARRAY_TASK_ID/tasks` in `workdir`. `command` is the command line after the
/// program name (e.g. `spectrogram in/ --out out`); `rule` is the manifest's assignment rule.
/// A `spectrogram` task uses `$SLURM_CPUS_PER_TASK` worker threads unless `--jobs` is given.
pub fn array_script(
    exe: &Path,
    command: &[String],
    tasks: usize,
    workdir: &Path,
    out: &Path,
    rule: &str,
    res: &SlurmResources,
) -> String {
    let run = RunDir::of(out);
    let line: Vec<String> = std::iter::once(exe.display().to_string())
        .chain(command.iter().cloned())
        .map(|a| shell_quote(&a))
        .collect();
    let jobs_flag = if command.first().is_none_or(|c| c != "spectrogram")
        || command
            .iter()
            .any(|a| a == "--jobs" || a.starts_with("--jobs="))
    {
        String::new()
    } else {
        " --jobs \"${SLURM_CPUS_PER_TASK:-1}\"".to_string()
    };
    format!(
        "#!/bin/bash\n\
# onc-hydro job array, written by `onc-hydro slurm submit` ({created}).\n\
#\n\
# The input list is frozen in {manifest}; array task I runs shard I/{tasks}.\n\
# Rule: {rule}.\n\
# Each shard records its progress in {shards}/ and skips work whose outputs\n\
# exist, so re-running a task redoes only what is missing. `onc-hydro slurm submit` with the same command submits only unfinished shards;\n\
# by hand: sbatch --array=0-{last} {script}\n\
#\n\
#SBATCH --job-name=onc-hydro-{name}\n\
#SBATCH --chdir={workdir}\n\
#SBATCH --output={logs}/shard-%a.out\n\
{resources}\
set -euo pipefail\n\
echo \"onc-hydro shard ${{SLURM_ARRAY_TASK_ID}}/{tasks} on $(hostname) (job ${{SLURM_JOB_ID:-}})\"\n\
exec {line} --shard \"${{SLURM_ARRAY_TASK_ID}}/{tasks}\"{jobs_flag}\n",
        created = format_args!("{:.0}", jiff::Timestamp::now()),
        manifest = run.manifest().display(),
        rule = rule.replace('\n', " "),
        shards = run.shards().display(),
        last = tasks.saturating_sub(1),
        script = array_script_path(out).display(),
        name = command.first().map_or("run", |c| c.as_str()),
        workdir = shell_quote(&workdir.display().to_string()),
        logs = shell_quote(&run.logs().display().to_string()),
        resources = sbatch_lines(res),
        line = line.join(" "),
    )
}

/// The merge script: after every array task succeeded, writes the run summary.
pub fn merge_script(
    exe: &Path,
    tasks: usize,
    workdir: &Path,
    out: &Path,
    res: &SlurmResources,
) -> String {
    let run = RunDir::of(out);
    let small = SlurmResources {
        partition: res.partition.clone(),
        time: res.time.clone(),
        mem: None,
        cpus_per_task: None,
    };
    format!(
        "#!/bin/bash\n\
# onc-hydro merge step, written by `onc-hydro slurm submit`: runs after the job array\n\
# (--dependency=afterok) and writes {summary} from the shard records.\n\
#SBATCH --job-name=onc-hydro-merge\n\
#SBATCH --chdir={workdir}\n\
#SBATCH --output={logs}/merge.out\n\
{resources}\
set -euo pipefail\n\
exec {exe} slurm merge {out} --tasks {tasks}\n",
        summary = run.summary().display(),
        workdir = shell_quote(&workdir.display().to_string()),
        logs = shell_quote(&run.logs().display().to_string()),
        resources = sbatch_lines(&small),
        exe = shell_quote(&exe.display().to_string()),
        out = shell_quote(&out.display().to_string()),
    )
}

/// Where the array script is written.
pub fn array_script_path(out: &Path) -> PathBuf {
    RunDir::of(out).dir.join("array.sbatch")
}

/// Where the merge script is written.
pub fn merge_script_path(out: &Path) -> PathBuf {
    RunDir::of(out).dir.join("merge.sbatch")
}

/// Writes a script (readable and executable by its owner, as the umask allows).
pub fn write_script(path: &Path, text: &str) -> Result<(), AnalysisError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| AnalysisError::io(dir, e))?;
    }
    write_bytes_atomic(path, text.as_bytes())
}

/// One `slurm submit` that reached the scheduler.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Submission {
    /// When it was submitted.
    pub submitted: String,
    /// The array job id.
    pub job_id: String,
    /// The dependent merge job id.
    pub merge_job_id: Option<String>,
    /// The `--array` specification submitted.
    pub array: String,
    /// Number of shards of the run.
    pub tasks: usize,
    /// The command line that was split.
    pub command: Vec<String>,
}

/// Every submission of a run, oldest first.
pub fn read_submissions(out: &Path) -> Result<Vec<Submission>, AnalysisError> {
    let path = RunDir::of(out).submissions();
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| AnalysisError::Run {
            file: path,
            reason: format!("unreadable submissions record: {e}"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(AnalysisError::io(&path, e)),
    }
}

/// Appends `s` to the submissions record.
pub fn record_submission(out: &Path, s: Submission) -> Result<(), AnalysisError> {
    let path = RunDir::of(out).submissions();
    let mut all = read_submissions(out)?;
    all.push(s);
    let text = serde_json::to_string_pretty(&all).map_err(|e| AnalysisError::Encode {
        file: path.clone(),
        reason: e.to_string(),
    })?;
    write_bytes_atomic(&path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_specs_compress_runs_and_cap_concurrency() {
        assert_eq!(array_spec(&[0, 1, 2, 3], None), "0-3");
        assert_eq!(array_spec(&[1, 4, 5, 6, 9], Some(2)), "1,4-6,9%2");
        assert_eq!(array_spec(&[2], None), "2");
    }

    #[test]
    fn scripts_quote_arguments_and_run_the_shard_of_the_task() {
        let cmd: Vec<String> = ["spectrogram", "my data/", "--out", "o"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let s = array_script(
            Path::new("/bin/onc-hydro"),
            &cmd,
            4,
            Path::new("/w"),
            Path::new("o"),
            "files sorted by path; file number k (from 0) belongs to shard k mod N",
            &SlurmResources {
                partition: Some("debug".into()),
                ..Default::default()
            },
        );
        assert!(s.starts_with("#!/bin/bash\n"));
        assert!(s.contains("#SBATCH --partition=debug\n"));
        assert!(s.contains(
            "exec /bin/onc-hydro spectrogram 'my data/' --out o --shard \"${SLURM_ARRAY_TASK_ID}/4\""
        ));
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
