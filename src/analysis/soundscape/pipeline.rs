//! How a soundscape run uses its threads ([`SoundscapeSpec::jobs`]). One job: the calling
//! thread reads and computes. Several jobs and one day: a reader thread decodes (and hashes)
//! the inputs into a bounded channel of recycled buffers while the calling thread computes, so
//! memory stays a few chunks whatever the number of files. Several days: the days are handed
//! out one at a time to up to `jobs` workers, each computing its day alone (a file spanning
//! midnight is read by both days' workers), each with its own reader thread when there are
//! more jobs than days. The compute side ([`Engine`]) is the same in every case and sees the
//! same samples in the same order, so the products are bit-identical for any `jobs`.
//!
//! The first error in any thread stops the others (between files or chunks) and is the run's
//! error; a day whose computation did not finish is never written (days are written whole,
//! atomically, by [`Engine`]).
//!
//! Must not know: decoding internals, bands, NetCDF, flags.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::sync::Mutex;

use super::engine::Engine;
use super::source::PlacedReader;
use super::{DayReport, Event, Placed, Plan, SoundscapeError, SoundscapeSpec};

/// What a run reports as it goes; called from worker threads when there are several.
pub type Progress<'a> = dyn Fn(Event<'_>) + Sync + 'a;

/// Decoded chunks in the channel between a reader and its computing thread.
const CHUNKS_IN_FLIGHT: usize = 4;
/// A chunk holds decoded blocks until it has this many samples (about 1 s at 64 kHz)…
const CHUNK_SAMPLES: usize = 65_536;
/// …or this many blocks.
const CHUNK_BLOCKS: usize = 32;

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

/// Runs the days `days` (all when `None`) of `plan` with `spec.jobs` threads.
pub(crate) fn run_days(
    plan: &Plan,
    days: Option<&BTreeSet<i64>>,
    out_dir: &Path,
    spec: &SoundscapeSpec,
    progress: &Progress<'_>,
) -> Result<Vec<DayReport>, SoundscapeError> {
    let jobs = spec.jobs.max(1);
    let selected: Vec<i64> = plan
        .days()
        .into_iter()
        .map(|d| d.index)
        .filter(|d| days.is_none_or(|w| w.contains(d)))
        .collect();
    let workers = jobs.min(selected.len()).max(1);
    let run = Run {
        plan,
        out_dir,
        spec,
        progress,
        stop: AtomicBool::new(false),
    };
    if workers == 1 {
        return match run.days(days, jobs > 1) {
            Ok(reports) => Ok(reports),
            Err(Halt::Failed(e)) => Err(e),
            Err(Halt::Stopped) => Ok(Vec::new()), // nobody else can stop a lone worker
        };
    }
    run.parallel_days(&selected, workers, jobs > workers)
}

/// What every thread of a run shares.
struct Run<'a> {
    plan: &'a Plan,
    out_dir: &'a Path,
    spec: &'a SoundscapeSpec,
    progress: &'a Progress<'a>,
    /// Set by the first worker that fails.
    stop: AtomicBool,
}

impl Run<'_> {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Days spread over `workers` threads, each day computed alone.
    fn parallel_days(
        &self,
        selected: &[i64],
        workers: usize,
        pipelined: bool,
    ) -> Result<Vec<DayReport>, SoundscapeError> {
        let next = AtomicUsize::new(0);
        let failure: Mutex<Option<SoundscapeError>> = Mutex::new(None);
        let reports: Mutex<Vec<DayReport>> = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    while !self.stopped() {
                        let Some(&d) = selected.get(next.fetch_add(1, Ordering::Relaxed)) else {
                            break;
                        };
                        match self.days(Some(&BTreeSet::from([d])), pipelined) {
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

    /// The days `days` (all when `None`) computed by this thread, reading on another one when
    /// `pipelined`.
    fn days(&self, days: Option<&BTreeSet<i64>>, pipelined: bool) -> Result<Vec<DayReport>, Halt> {
        let files: Vec<&Placed> = self
            .plan
            .files
            .iter()
            .filter(|f| days.is_none_or(|w| f.days(self.plan.fs).any(|d| w.contains(&d))))
            .collect();
        let mut sink = Sink {
            run: self,
            wanted: days,
            engine: None,
            reports: Vec::new(),
            told: 0,
        };
        if pipelined {
            self.pipelined(&files, &mut sink)?;
        } else {
            let mut buf = Vec::new();
            for f in &files {
                if self.stopped() {
                    return Err(Halt::Stopped);
                }
                let mut reader = PlacedReader::open(f, self.plan.fs)?;
                sink.begin(f, reader.early_sha())?;
                while let Some(kept) = reader.next_block(&mut buf)? {
                    sink.feed(&buf[kept])?;
                }
                sink.end(reader.finish()?.as_deref());
            }
        }
        Ok(sink.finish()?)
    }

    /// Feeds `files` to `sink` from a reader thread.
    fn pipelined(&self, files: &[&Placed], sink: &mut Sink<'_>) -> Result<(), Halt> {
        std::thread::scope(|s| {
            let (tx, rx) = sync_channel::<Msg>(CHUNKS_IN_FLIGHT);
            let (back_tx, back_rx) = channel::<Chunk>();
            for _ in 0..CHUNKS_IN_FLIGHT + 2 {
                let _ = back_tx.send(Chunk::default());
            }
            s.spawn(move || self.read(files, &tx, &back_rx));
            // `rx` and `back_tx` are dropped on return, which stops the reader if it is waiting.
            while let Ok(msg) = rx.recv() {
                if self.stopped() {
                    return Err(Halt::Stopped);
                }
                match msg {
                    Msg::Begin(k, early) => sink.begin(files[k], early.as_deref())?,
                    Msg::Data(chunk) => {
                        for (buf, kept) in chunk.bufs.iter().zip(&chunk.kept) {
                            sink.feed(&buf[kept.clone()])?;
                        }
                        let _ = back_tx.send(chunk);
                    }
                    Msg::End(sha) => sink.end(sha.as_deref()),
                    Msg::Failed(e) => return Err(Halt::Failed(e)),
                    Msg::Done => return Ok(()),
                }
            }
            // The reader ended without saying so (it panicked; the scope re-raises that).
            Err(Halt::Stopped)
        })
    }

    /// The reader thread: decodes `files` into recycled chunks sent to `tx`.
    fn read(&self, files: &[&Placed], tx: &SyncSender<Msg>, back: &Receiver<Chunk>) {
        let fail = |e: SoundscapeError| {
            let _ = tx.send(Msg::Failed(e));
        };
        for (k, f) in files.iter().enumerate() {
            let mut reader = match PlacedReader::open(f, self.plan.fs) {
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

/// The compute side of one worker: the engine, created at the first file, and the reports of
/// the days it wrote.
struct Sink<'a> {
    run: &'a Run<'a>,
    wanted: Option<&'a BTreeSet<i64>>,
    engine: Option<Engine>,
    reports: Vec<DayReport>,
    /// Reports already passed to the progress callback.
    told: usize,
}

impl Sink<'_> {
    fn begin(&mut self, file: &Placed, early_sha: Option<&str>) -> Result<(), SoundscapeError> {
        (self.run.progress)(Event::File(&file.path));
        let engine = match &mut self.engine {
            Some(e) => e,
            None => self.engine.insert(Engine::new(
                self.run.plan.fs,
                self.run.spec,
                self.wanted.cloned(),
            )?),
        };
        engine.begin_file(file, early_sha.unwrap_or(""));
        Ok(())
    }

    fn feed(&mut self, samples: &[f32]) -> Result<(), SoundscapeError> {
        if let Some(e) = self.engine.as_mut() {
            e.feed(samples, self.run.out_dir, &mut self.reports)?;
            self.tell();
        }
        Ok(())
    }

    fn end(&mut self, late_sha: Option<&str>) {
        if let Some(e) = self.engine.as_mut() {
            e.end_file(late_sha);
        }
    }

    fn finish(mut self) -> Result<Vec<DayReport>, SoundscapeError> {
        if let Some(e) = self.engine.take() {
            e.finish(self.run.out_dir, &mut self.reports)?;
            self.tell();
        }
        Ok(self.reports)
    }

    fn tell(&mut self) {
        for r in &self.reports[self.told..] {
            (self.run.progress)(Event::Day(r));
        }
        self.told = self.reports.len();
    }
}
