//! `onc-hydro slurm submit|status|merge`: split a file-level command over a Slurm job array.
//!
//! The library (`analysis`) freezes the manifest, writes the scripts and reads the shard
//! records; this file parses flags, runs `sbatch`/`squeue` and prints.
//!
//! Must not know: how shards are assigned or what a shard computes.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};

use super::{Cli, Command, GlobalArgs, Outcome};
use crate::analysis::{
    self, array_spec, Manifest, RunDir, RunStatus, ShardState, SlurmResources, Submission,
};

/// Slurm job arrays: `submit` a command split into shards, `status` of a run, `merge` step.
#[derive(Debug, Subcommand)]
pub enum SlurmCommand {
    /// Freeze the input list, write a commented sbatch job-array script into the output
    /// folder and submit it (only the shards not finished yet), plus a merge step that runs
    /// after every shard succeeded.
    #[command(after_help = "Examples:\n  \
onc-hydro slurm submit --tasks 16 --time 02:00:00 --mem 4G --cpus-per-task 4 -- \\\n      \
spectrogram archive/ICLISTENHF6324/ --nfft 4096 --format npz --out spec\n  \
onc-hydro slurm status spec\n  \
onc-hydro slurm submit --tasks 16 -- spectrogram archive/ICLISTENHF6324/ --nfft 4096 --format npz --out spec   \
# again: only unfinished shards\n  \
onc-hydro slurm submit --tasks 8 --time 04:00:00 --mem 2G -- soundscape archive/ICLISTENHF6324/ --out ss\n\n\
Array task I runs `onc-hydro <command> … --shard I/N` over the manifest frozen first in \
<out>/onc-hydro-run/manifest.json: for spectrogram, file number k of the sorted list belongs to \
shard k mod N; for soundscape, UTC day number k (in date order) belongs to shard k mod N and reads \
every file with samples in that day. Scripts, logs, shard records and the \
summary are in <out>/onc-hydro-run/. Use --dry-run to write the scripts without submitting.")]
    Submit(SubmitArgs),
    /// Per-shard progress of a run from its output folder (and squeue, when available).
    Status(StatusArgs),
    /// The merge step (run by the dependent job): write <out>/onc-hydro-run/summary.json.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Number of shards (array tasks).
    #[arg(long)]
    pub tasks: usize,
    /// Slurm partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Time limit per task (Slurm format, e.g. 01:30:00).
    #[arg(long)]
    pub time: Option<String>,
    /// Memory per task (e.g. 4G).
    #[arg(long)]
    pub mem: Option<String>,
    /// CPUs per task (the shard then uses that many worker threads).
    #[arg(long)]
    pub cpus_per_task: Option<u32>,
    /// At most this many tasks running at once (`--array=…%M`).
    #[arg(long)]
    pub max_concurrent: Option<u32>,
    /// Write the manifest and scripts, print the sbatch commands, submit nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The command to split, after `--` (e.g. `-- spectrogram in/ --out spec`).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The output folder of the run.
    pub out: PathBuf,
    /// Number of shards, if the run was not submitted with `slurm submit`.
    #[arg(long)]
    pub tasks: Option<usize>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The output folder of the run.
    pub out: PathBuf,
    /// Number of shards.
    #[arg(long)]
    pub tasks: usize,
}

pub fn run(global: &GlobalArgs, cmd: SlurmCommand) -> anyhow::Result<Outcome> {
    match cmd {
        SlurmCommand::Submit(args) => submit(global, args),
        SlurmCommand::Status(args) => status(global, args),
        SlurmCommand::Merge(args) => merge(global, args),
    }
}

fn submit(global: &GlobalArgs, args: SubmitArgs) -> anyhow::Result<Outcome> {
    if args.tasks == 0 {
        bail!("--tasks must be at least 1");
    }
    let parsed = Cli::try_parse_from(
        std::iter::once("onc-hydro".to_string()).chain(args.command.iter().cloned()),
    )
    .map_err(|e| anyhow::anyhow!("the command to submit: {e}"))?;
    let shard_given = || bail!("leave --shard out of the command: each array task adds its own");
    let (out, manifest) = match parsed.command {
        Command::Spectrogram(a) => {
            if a.shard.is_some() {
                return shard_given();
            }
            let m = Manifest::open_or_freeze(&a.out, "spectrogram", &a.inputs, || {
                let files = analysis::expand_inputs(&a.inputs)?;
                analysis::check_stems(&files)?;
                Ok(files)
            })?;
            (a.out, m)
        }
        Command::Soundscape(a) => {
            if a.shard.is_some() {
                return shard_given();
            }
            let spec = super::soundscape::spec_of(&a)?;
            let m = analysis::soundscape::freeze_manifest(&a.out, &a.inputs, &spec)?;
            (a.out, m)
        }
        _ => bail!(
            "slurm submit can split `spectrogram` and `soundscape` (commands that accept --shard)"
        ),
    };
    if manifest.files.is_empty() {
        bail!("no FLAC or WAV files found in the given inputs");
    }
    let previous = analysis::read_submissions(&out)?;
    if let Some(last) = previous.last() {
        if last.tasks != args.tasks {
            bail!(
                "{} was split into {} shards; submit it again with --tasks {} (or use a new --out)",
                out.display(),
                last.tasks,
                last.tasks
            );
        }
        let active = squeue(&last.job_id);
        if !active.is_empty() {
            bail!(
                "job {} of this run is still queued or running ({} task(s)); wait for it or \
                 `scancel {}` first",
                last.job_id,
                active.len(),
                last.job_id
            );
        }
    }
    let status = RunStatus::read(&out, args.tasks)?;
    let todo = status.unfinished();
    if todo.is_empty() {
        if global.json {
            println!(
                "{}",
                serde_json::json!({"submitted": false, "reason": "all shards finished"})
            );
        } else {
            println!(
                "all {} shards of {} are finished; nothing to submit (summary: {})",
                args.tasks,
                out.display(),
                RunDir::of(&out).summary().display()
            );
        }
        return Ok(Outcome::AllDone);
    }
    let exe = std::env::current_exe().context("finding the onc-hydro executable")?;
    let workdir = std::env::current_dir().context("the current folder")?;
    let res = SlurmResources {
        partition: args.partition.clone(),
        time: args.time.clone(),
        mem: args.mem.clone(),
        cpus_per_task: args.cpus_per_task,
    };
    let array_path = analysis::array_script_path(&out);
    let merge_path = analysis::merge_script_path(&out);
    analysis::write_script(
        &array_path,
        &analysis::array_script(
            &exe,
            &args.command,
            args.tasks,
            &workdir,
            &out,
            &manifest.rule,
            &res,
        ),
    )?;
    analysis::write_script(
        &merge_path,
        &analysis::merge_script(&exe, args.tasks, &workdir, &out, &res),
    )?;
    std::fs::create_dir_all(RunDir::of(&out).logs())
        .with_context(|| format!("creating {}", RunDir::of(&out).logs().display()))?;
    let array = array_spec(&todo, args.max_concurrent);
    if args.dry_run {
        println!(
            "manifest: {} ({} files, {} {}s)",
            RunDir::of(&out).manifest().display(),
            manifest.files.len(),
            manifest.items(),
            manifest.unit
        );
        println!(
            "would run: sbatch --parsable --array={array} {}",
            array_path.display()
        );
        println!(
            "then:      sbatch --parsable --dependency=afterok:<job> --kill-on-invalid-dep=yes {}",
            merge_path.display()
        );
        return Ok(Outcome::AllDone);
    }
    let job_id = sbatch(&[format!("--array={array}"), array_path.display().to_string()])?;
    let merge_job_id = sbatch(&[
        format!("--dependency=afterok:{job_id}"),
        "--kill-on-invalid-dep=yes".into(),
        merge_path.display().to_string(),
    ])?;
    analysis::record_submission(
        &out,
        Submission {
            submitted: format!("{:.3}", jiff::Timestamp::now()),
            job_id: job_id.clone(),
            merge_job_id: Some(merge_job_id.clone()),
            array: array.clone(),
            tasks: args.tasks,
            command: args.command.clone(),
        },
    )?;
    if global.json {
        println!(
            "{}",
            serde_json::json!({"submitted": true, "job_id": job_id, "merge_job_id": merge_job_id,
                "array": array, "shards": todo, "files": manifest.files.len(),
                "unit": manifest.unit, "items": manifest.items()})
        );
    } else {
        println!(
            "submitted job {job_id} (array {array}: {} of {} shards, {} files, {} {}s); merge job \
             {merge_job_id}\nprogress: onc-hydro slurm status {}",
            todo.len(),
            args.tasks,
            manifest.files.len(),
            manifest.items(),
            manifest.unit,
            out.display()
        );
    }
    Ok(Outcome::AllDone)
}

/// Runs `sbatch --parsable ARGS`; the job id.
fn sbatch(args: &[String]) -> anyhow::Result<String> {
    let out = Process::new("sbatch")
        .arg("--parsable")
        .args(args)
        .output()
        .context("running sbatch (is Slurm installed and on PATH?)")?;
    if !out.status.success() {
        bail!(
            "sbatch {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        bail!("sbatch printed no job id: {text:?}");
    }
    Ok(id)
}

/// `(task id, state)` of the job's tasks still known to squeue (empty when squeue is missing).
fn squeue(job_id: &str) -> Vec<(String, String)> {
    let Ok(out) = Process::new("squeue")
        .args(["-h", "-r", "-j", job_id, "-o", "%i %T"])
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(a, b)| (a.to_string(), b.trim().to_string()))
        .collect()
}

fn tasks_of(out: &Path, given: Option<usize>) -> anyhow::Result<(usize, Option<Submission>)> {
    let last = analysis::read_submissions(out)?.pop();
    match (given, &last) {
        (Some(n), _) => Ok((n, last)),
        (None, Some(s)) => Ok((s.tasks, last.clone())),
        (None, None) => bail!(
            "{} has no submissions record; give --tasks N",
            out.display()
        ),
    }
}

fn status(global: &GlobalArgs, args: StatusArgs) -> anyhow::Result<Outcome> {
    let (tasks, last) = tasks_of(&args.out, args.tasks)?;
    let st = RunStatus::read(&args.out, tasks)?;
    let queue = last.as_ref().map(|s| squeue(&s.job_id)).unwrap_or_default();
    let queued = |i: usize| -> Option<String> {
        let job = &last.as_ref()?.job_id;
        queue
            .iter()
            .find(|(id, _)| id == &format!("{job}_{i}"))
            .map(|(_, s)| s.clone())
    };
    if global.json {
        let doc = serde_json::json!({
            "status": st,
            "last_submission": last,
            "squeue": queue,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        let unit = format!("{}s", st.unit);
        println!("shard  {unit:>5}   done  skipped  failed  state         squeue      updated");
        for s in &st.shards {
            let (done, skipped, failed, updated) =
                s.record.as_ref().map_or((0, 0, 0, String::new()), |r| {
                    (r.done, r.skipped, r.failed, r.updated.clone())
                });
            let state = match s.state {
                ShardState::NotStarted => "not started",
                ShardState::Running => "running",
                ShardState::Finished => "finished",
                ShardState::Failed => "failed",
            };
            println!(
                "{:>5}  {:>5}  {:>5}  {:>7}  {:>6}  {:12}  {:10}  {}",
                s.index,
                s.items,
                done,
                skipped,
                failed,
                state,
                queued(s.index).unwrap_or_else(|| "-".into()),
                updated
            );
        }
        let left = st.unfinished();
        println!(
            "{} {unit} in {} shards: {} finished, {} not{}",
            st.items,
            tasks,
            tasks - left.len(),
            left.len(),
            if left.is_empty() {
                String::new()
            } else {
                " (a shard shown running with no squeue entry was stopped: submit again to redo it)"
                    .into()
            }
        );
    }
    Ok(if st.unfinished().is_empty() {
        Outcome::AllDone
    } else {
        Outcome::SomeFailed
    })
}

fn merge(_global: &GlobalArgs, args: MergeArgs) -> anyhow::Result<Outcome> {
    let st = RunStatus::read(&args.out, args.tasks)?;
    let path = st.write_summary()?;
    println!("run summary written to {}", path.display());
    Ok(if st.unfinished().is_empty() {
        Outcome::AllDone
    } else {
        Outcome::SomeFailed
    })
}
