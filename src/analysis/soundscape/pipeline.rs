//! How a soundscape run uses its threads ([`SoundscapeSpec::jobs`]). One job: the calling
//! thread reads and computes every day in clock order. Several jobs: the days are cut into
//! parts — whole days when there are at least as many days as jobs, else each day into about
//! `jobs / days` stretches of whole minutes, cut where a file starts so that no file is decoded
//! twice (files start on minute boundaries in ONC's archives; elsewhere the file across a cut
//! is decoded by both sides, each keeping its own minutes) — and the parts are handed out one
//! at a time to up to `jobs` workers. As a part ends, its minutes join its day's one
//! accumulator; the worker that ends the day's last part adds the parts' inputs in clock order
//! and writes the day (memory: one accumulator per day in progress and one per worker, however
//! many parts a day has). When there
//! are more jobs than parts (one day held in one file), a reader thread decodes (and hashes)
//! into a bounded channel of recycled buffers while its worker computes, so memory stays a few
//! chunks whatever the number of files. The compute side ([`Engine`]) computes each minute
//! from that minute's samples alone, whichever thread reads them, so the products are
//! bit-identical for any `jobs`.
//!
//! The first error in any thread stops the others (between files or chunks) and is the run's
//! error; a day whose computation did not finish is never written (days are written whole,
//! atomically, by [`day::DayAcc::write`]).
//!
//! Must not know: decoding internals, bands, NetCDF, flags.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::sync::Mutex;

use super::day::{self, DayAcc};
use super::engine::{Context, Engine, Minutes};
use super::source::PlacedReader;
use super::{DayReport, Event, Placed, Plan, PlanDay, SoundscapeError, SoundscapeSpec};

/// What a run reports as it goes; called from worker threads when there are several.
pub type Progress<'a> = dyn Fn(Event<'_>) + Sync + 'a;

/// Decoded chunks in the channel between a reader and its computing thread.
const CHUNKS_IN_FLIGHT: usize = 4;
/// A chunk holds decoded blocks until it has this many samples (about 1 s at 64 kHz)…
const CHUNK_SAMPLES: usize = 65_536;
/// …or this many blocks.
const CHUNK_BLOCKS: usize = 32;

/// Processes the files of `plan` into day products under `out_dir` (created if missing): every
/// day, or only the days in `days` (days since the epoch; files without samples in them are not
/// read, samples outside them are skipped), with `spec.jobs` threads. The products of a day are
/// the same whichever other days are computed with it and however many threads run: each
/// minute comes from its own samples, placed by the plan. Reports are in day order.
pub fn run_plan(
    plan: &Plan,
    days: Option<&BTreeSet<i64>>,
    out_dir: &Path,
    spec: &SoundscapeSpec,
    progress: &Progress<'_>,
) -> Result<Vec<DayReport>, SoundscapeError> {
    std::fs::create_dir_all(out_dir).map_err(|e| crate::analysis::AnalysisError::io(out_dir, e))?;
    let jobs = spec.jobs.max(1);
    let selected: Vec<PlanDay> = plan
        .days()
        .into_iter()
        .filter(|d| days.is_none_or(|w| w.contains(&d.index)))
        .collect();
    if selected.is_empty() {
        return Ok(Vec::new());
    }
    let ctx = Context::new(plan.fs, spec)?;
    let run = Run {
        plan,
        out_dir,
        ctx: &ctx,
        progress,
        stop: AtomicBool::new(false),
        waiting: Mutex::new(BTreeMap::new()),
    };
    let parts = if jobs > 1 {
        parts(plan, &selected, jobs)
    } else {
        Vec::new()
    };
    if parts.len() <= 1 {
        // One thread computes the days in clock order, writing each as the clock leaves it.
        let files: Vec<&Placed> = plan
            .files
            .iter()
            .filter(|f| days.is_none_or(|w| f.days(plan.fs).any(|d| w.contains(&d))))
            .collect();
        let wanted = days.map(Minutes::of_days);
        return match run.compute(&files, wanted, None, jobs > 1, true) {
            Ok(out) => Ok(out.reports),
            Err(Halt::Failed(e)) => Err(e),
            Err(Halt::Stopped) => Ok(Vec::new()), // nobody else can stop a lone worker
        };
    }
    run.parallel(&parts, jobs)
}

/// A stretch of whole minutes of one day, computed by one worker.
#[derive(Debug, Clone, PartialEq)]
struct Part {
    day: i64,
    /// Its place among the day's `of` parts, in clock order.
    index: usize,
    of: usize,
    /// Minutes since the epoch.
    minutes: Range<i64>,
    /// Indices into the plan's files with kept samples in these minutes, in clock order.
    files: Vec<usize>,
}

/// The days cut into parts for `jobs` workers: whole days when there are at least as many
/// days as jobs, else each day cut into up to `jobs / days` (rounded up) parts of about the
/// same number of samples.
fn parts(plan: &Plan, days: &[PlanDay], jobs: usize) -> Vec<Part> {
    let cuts = if days.len() >= jobs {
        1
    } else {
        jobs.div_ceil(days.len())
    };
    days.iter().flat_map(|d| cut_day(plan, d, cuts)).collect()
}

/// `day` cut into at most `cuts` parts at minute boundaries, each cut at the first minute
/// boundary at or after the start of the file nearest to an equal share of the day's samples.
fn cut_day(plan: &Plan, day: &PlanDay, cuts: usize) -> Vec<Part> {
    let per_minute = 60 * i64::from(plan.fs);
    let first = day.index * day::MINUTES as i64;
    let end = first + day::MINUTES as i64;
    // Each file's kept samples within the day: (first tick, ticks after the last).
    let spans: Vec<(usize, Range<i64>)> = day
        .files
        .iter()
        .map(|&i| {
            let f = &plan.files[i];
            let ticks = f.tick..f.tick + f.kept() as i64;
            let within = ticks.start.max(first * per_minute)..ticks.end.min(end * per_minute);
            (i, within)
        })
        .collect();
    let mut before = Vec::with_capacity(spans.len()); // samples of the day before each file
    let mut total = 0i64;
    for (_, r) in &spans {
        before.push(total);
        total += r.end - r.start;
    }
    let mut bounds = vec![first];
    for k in 1..cuts as i64 {
        let share = total * k / cuts as i64;
        let nearest = (1..spans.len()).min_by_key(|&j| (before[j] - share).abs());
        if let Some(j) = nearest {
            let m = spans[j].1.start.div_euclid(per_minute)
                + i64::from(spans[j].1.start.rem_euclid(per_minute) != 0);
            if m > bounds[bounds.len() - 1] && m < end {
                bounds.push(m);
            }
        }
    }
    bounds.push(end);
    let of = bounds.len() - 1;
    bounds
        .windows(2)
        .enumerate()
        .map(|(index, w)| {
            let ticks = w[0] * per_minute..w[1] * per_minute;
            let files = spans
                .iter()
                .filter(|(_, r)| r.start < ticks.end && r.end > ticks.start)
                .map(|&(i, _)| i)
                .collect();
            Part {
                day: day.index,
                index,
                of,
                minutes: w[0]..w[1],
                files,
            }
        })
        .collect()
}

/// Why a worker stopped early.
enum Halt {
    /// Another worker failed.
    Stopped,
    Failed(SoundscapeError),
}

impl From<SoundscapeError> for Halt {
    fn from(e: SoundscapeError) -> Self {
        Halt::Failed(e)
    }
}

impl From<crate::media::DecodeError> for Halt {
    fn from(e: crate::media::DecodeError) -> Self {
        Halt::Failed(e.into())
    }
}

/// A day whose parts are being computed: the minutes of the parts ended so far, and each
/// part's inputs by its place (`None` until it ends). The day is written once all are in.
struct DayParts {
    acc: Option<DayAcc>,
    inputs: Vec<Option<Vec<(String, String)>>>,
}

type Waiting = BTreeMap<i64, DayParts>;

/// What every thread of a run shares.
struct Run<'a> {
    plan: &'a Plan,
    out_dir: &'a Path,
    ctx: &'a Context,
    progress: &'a Progress<'a>,
    /// Set by the first worker that fails.
    stop: AtomicBool,
    waiting: Mutex<Waiting>,
}

/// What one thread's computation left: days it wrote, or, for a part, the day accumulators.
struct Computed {
    reports: Vec<DayReport>,
    kept: Vec<DayAcc>,
}

impl Run<'_> {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// `parts` handed out to up to `jobs` workers, each with a reader thread when there are
    /// more jobs than parts.
    fn parallel(&self, parts: &[Part], jobs: usize) -> Result<Vec<DayReport>, SoundscapeError> {
        let workers = jobs.min(parts.len());
        let pipelined = jobs > workers;
        let next = AtomicUsize::new(0);
        let failure: Mutex<Option<SoundscapeError>> = Mutex::new(None);
        let reports: Mutex<Vec<DayReport>> = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    while !self.stopped() {
                        let Some(part) = parts.get(next.fetch_add(1, Ordering::Relaxed)) else {
                            break;
                        };
                        match self.part(part, pipelined) {
                            Ok(r) => lock(&reports).extend(r),
                            Err(Halt::Stopped) => break,
                            Err(Halt::Failed(e)) => {
                                self.stop.store(true, Ordering::Relaxed);
                                lock(&failure).get_or_insert(e);
                                break;
                            }
                        }
                    }
                });
            }
        });
        if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        let mut reports = reports.into_inner().unwrap_or_else(|p| p.into_inner());
        reports.sort_by(|a, b| a.day.cmp(&b.day));
        Ok(reports)
    }

    /// Computes `part`; when it was its day's last part to come in, merges the day's parts
    /// and writes the day.
    fn part(&self, part: &Part, pipelined: bool) -> Result<Option<DayReport>, Halt> {
        let files: Vec<&Placed> = part.files.iter().map(|&i| &self.plan.files[i]).collect();
        let per_minute = self.ctx.per_minute();
        let span = part.minutes.start * per_minute..part.minutes.end * per_minute;
        let wanted = Some(Minutes::span(part.minutes.clone()));
        let kept = self
            .compute(&files, wanted, Some(&span), pipelined, false)?
            .kept;
        let done = {
            let mut waiting = lock(&self.waiting);
            let day = waiting.entry(part.day).or_insert_with(|| DayParts {
                acc: None,
                inputs: (0..part.of).map(|_| None).collect(),
            });
            let mut inputs = Vec::new();
            for mut acc in kept {
                inputs.extend(acc.take_inputs());
                match day.acc.as_mut() {
                    Some(whole) => whole.absorb_minutes(&acc),
                    None => day.acc = Some(acc),
                }
            }
            day.inputs[part.index] = Some(inputs);
            if day.inputs.iter().any(Option::is_none) {
                return Ok(None);
            }
            waiting.remove(&part.day)
        };
        let Some(DayParts {
            acc: Some(mut whole),
            inputs,
        }) = done
        else {
            return Ok(None); // no part decoded a sample of the day
        };
        whole.add_inputs(inputs.into_iter().flatten().flatten());
        let report = whole.write(self.out_dir, self.ctx)?;
        (self.progress)(Event::Day(&report));
        Ok(Some(report))
    }

    /// Computes the `wanted` minutes (all when `None`) of `files`, reading only the samples
    /// inside `span` (clock ticks) when given, on another thread when `pipelined`. Days are
    /// written as they are done when `write`, else kept.
    fn compute(
        &self,
        files: &[&Placed],
        wanted: Option<Minutes>,
        span: Option<&Range<i64>>,
        pipelined: bool,
        write: bool,
    ) -> Result<Computed, Halt> {
        let mut sink = Sink {
            run: self,
            engine: Engine::new(self.ctx, wanted)?,
            write,
            out: Computed {
                reports: Vec::new(),
                kept: Vec::new(),
            },
        };
        if pipelined {
            self.pipelined(files, span, &mut sink)?;
        } else {
            let mut buf = Vec::new();
            for f in files {
                if self.stopped() {
                    return Err(Halt::Stopped);
                }
                let mut reader = PlacedReader::open(f, self.plan.fs, span)?;
                sink.begin(f, reader.early_sha());
                while let Some(kept) = reader.next_block(&mut buf)? {
                    sink.feed(&buf[kept])?;
                }
                sink.engine.end_file(reader.finish()?.as_deref());
            }
        }
        sink.engine.finish();
        sink.take_days()?;
        Ok(sink.out)
    }

    /// Feeds `files` to `sink` from a reader thread.
    fn pipelined(
        &self,
        files: &[&Placed],
        span: Option<&Range<i64>>,
        sink: &mut Sink<'_, '_>,
    ) -> Result<(), Halt> {
        std::thread::scope(|s| {
            let (tx, rx) = sync_channel::<Msg>(CHUNKS_IN_FLIGHT);
            let (back_tx, back_rx) = channel::<Chunk>();
            for _ in 0..CHUNKS_IN_FLIGHT + 2 {
                let _ = back_tx.send(Chunk::default());
            }
            s.spawn(move || self.read(files, span, &tx, &back_rx));
            // `rx` and `back_tx` are dropped on return, which stops the reader if it is waiting.
            while let Ok(msg) = rx.recv() {
                if self.stopped() {
                    return Err(Halt::Stopped);
                }
                match msg {
                    Msg::Begin(k, early) => sink.begin(files[k], early.as_deref()),
                    Msg::Data(chunk) => {
                        for (buf, kept) in chunk.bufs.iter().zip(&chunk.kept) {
                            sink.feed(&buf[kept.clone()])?;
                        }
                        let _ = back_tx.send(chunk);
                    }
                    Msg::End(sha) => sink.engine.end_file(sha.as_deref()),
                    Msg::Failed(e) => return Err(Halt::Failed(e)),
                    Msg::Done => return Ok(()),
                }
            }
            // The reader ended without saying so (it panicked; the scope re-raises that).
            Err(Halt::Stopped)
        })
    }

    /// The reader thread: decodes `files` (within `span`) into recycled chunks sent to `tx`.
    fn read(
        &self,
        files: &[&Placed],
        span: Option<&Range<i64>>,
        tx: &SyncSender<Msg>,
        back: &Receiver<Chunk>,
    ) {
        let fail = |e: SoundscapeError| {
            let _ = tx.send(Msg::Failed(e));
        };
        for (k, f) in files.iter().enumerate() {
            let mut reader = match PlacedReader::open(f, self.plan.fs, span) {
                Ok(r) => r,
                Err(e) => return fail(e),
            };
            if tx
                .send(Msg::Begin(k, reader.early_sha().map(str::to_string)))
                .is_err()
            {
                return;
            }
            loop {
                if self.stopped() {
                    return;
                }
                let Ok(mut chunk) = back.recv() else { return };
                match chunk.fill(&mut reader) {
                    Err(e) => return fail(e),
                    Ok(more) => {
                        if tx.send(Msg::Data(chunk)).is_err() {
                            return;
                        }
                        if !more {
                            break;
                        }
                    }
                }
            }
            match reader.finish() {
                Ok(sha) => {
                    if tx.send(Msg::End(sha)).is_err() {
                        return;
                    }
                }
                Err(e) => return fail(e),
            }
        }
        let _ = tx.send(Msg::Done);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// From a reader thread to its computing thread, in file order.
enum Msg {
    /// File `k` of the list starts, with its SHA-256 when known before decoding.
    Begin(usize, Option<String>),
    Data(Chunk),
    /// The file ended; its SHA-256 when learnt by reading it.
    End(Option<String>),
    Failed(SoundscapeError),
    /// Every file was read.
    Done,
}

/// Decoded blocks of one file and the kept range of each; sent back empty to be refilled.
#[derive(Default)]
struct Chunk {
    bufs: Vec<Vec<f32>>,
    kept: Vec<Range<usize>>,
}

impl Chunk {
    /// Refills with the next blocks of `reader`; false once the file's kept samples are all in.
    fn fill(&mut self, reader: &mut PlacedReader) -> Result<bool, SoundscapeError> {
        self.kept.clear();
        let mut samples = 0;
        while samples < CHUNK_SAMPLES && self.kept.len() < CHUNK_BLOCKS {
            let i = self.kept.len();
            if self.bufs.len() == i {
                self.bufs.push(Vec::new());
            }
            match reader.next_block(&mut self.bufs[i])? {
                Some(kept) => {
                    samples += kept.len();
                    self.kept.push(kept);
                }
                None => return Ok(false),
            }
        }
        Ok(true)
    }
}

/// The compute side of one thread: its engine, and what becomes of the days it is done with.
struct Sink<'r, 'c> {
    run: &'r Run<'c>,
    engine: Engine<'c>,
    /// Write each day as it is done (else keep it for the merge).
    write: bool,
    out: Computed,
}

impl Sink<'_, '_> {
    fn begin(&mut self, file: &Placed, early_sha: Option<&str>) {
        (self.run.progress)(Event::File(&file.path));
        self.engine.begin_file(file, early_sha.unwrap_or(""));
    }

    fn feed(&mut self, samples: &[f32]) -> Result<(), SoundscapeError> {
        self.engine.feed(samples);
        self.take_days()
    }

    /// Writes (or keeps) the days the engine is done with.
    fn take_days(&mut self) -> Result<(), SoundscapeError> {
        for acc in self.engine.take_days() {
            if !self.write {
                self.out.kept.push(acc);
                continue;
            }
            let report = acc.write(self.run.out_dir, self.run.ctx)?;
            (self.run.progress)(Event::Day(&report));
            self.out.reports.push(report);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn plan(starts_s: &[(i64, u64)]) -> Plan {
        let list = starts_s
            .iter()
            .enumerate()
            .map(|(k, &(s, n))| {
                (
                    format!("f{k}").into(),
                    Timestamp::from_second(s).unwrap(),
                    n,
                )
            })
            .collect();
        Plan::place(10, list, 0.01)
    }

    fn cut(plan: &Plan, cuts: usize) -> Vec<(Range<i64>, Vec<usize>)> {
        let day = &plan.days()[0];
        cut_day(plan, day, cuts)
            .into_iter()
            .map(|p| {
                (
                    p.minutes.start - day.index * 1440..p.minutes.end - day.index * 1440,
                    p.files,
                )
            })
            .collect()
    }

    #[test]
    fn days_are_cut_where_files_start_into_parts_of_about_equal_samples() {
        let day = 19_814 * 86_400;
        // Six 5-minute files from 01:00 at 10 Hz, each starting on a minute.
        let aligned: Vec<(i64, u64)> = (0..6).map(|k| (day + 3600 + k * 300, 3000)).collect();
        let p = plan(&aligned);
        assert_eq!(
            cut(&p, 2),
            vec![(0..75, vec![0, 1, 2]), (75..1440, vec![3, 4, 5])]
        );
        assert_eq!(
            cut(&p, 3),
            vec![
                (0..70, vec![0, 1]),
                (70..80, vec![2, 3]),
                (80..1440, vec![4, 5])
            ]
        );
        // More parts than files: one part per file at most.
        assert_eq!(cut(&p, 9).len(), 6);
        // A file starting off the minute: the cut is the next minute, and both sides read it.
        let off: Vec<(i64, u64)> = vec![(day + 3600, 3000), (day + 3900 + 7, 3000)];
        assert_eq!(
            cut(&plan(&off), 2),
            vec![(0..66, vec![0, 1]), (66..1440, vec![1])]
        );
        // One file: nothing to cut.
        assert_eq!(cut(&plan(&off[..1]), 2), vec![(0..1440, vec![0])]);
        // Whole days when there are as many days as jobs.
        let two_days = plan(&[(day, 100), (day + 86_400, 100)]);
        let parts = parts(&two_days, &two_days.days(), 2);
        assert_eq!(parts.iter().map(|p| p.of).collect::<Vec<_>>(), [1, 1]);
    }
}
