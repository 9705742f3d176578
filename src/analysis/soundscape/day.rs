//! One UTC day of soundscape products: the per-minute reductions (HMD density, decidecade band
//! levels, broadband SPL, effort), the daily statistics over them, and the NetCDF layout with
//! pbp's names (`psd`, `effort`, `time`, `frequency`) where they mean the same thing.
//!
//! Must not know: decoding, STFT, flag parsing.

use std::path::Path;

use jiff::Timestamp;

use super::{Context, DayReport, SoundscapeError};
use crate::dsp;
use crate::media::{NcFile, NcValues};

/// Minutes per day.
pub(crate) const MINUTES: usize = 1440;
/// Percentiles written for every HMD band (statistical percentiles: L_N here is the level not
/// exceeded N % of the time; the acoustics "exceedance" L_N is the (100 − N)th).
pub const PERCENTILES: [f64; 7] = [1.0, 5.0, 10.0, 50.0, 90.0, 95.0, 99.0];
/// SPD level bins: 1 dB wide, at most this many.
const SPD_MAX_BINS: usize = 300;

/// The accumulating products of one day.
pub(crate) struct DayAcc {
    pub day_index: i64,
    n_hmd: usize,
    n_dd: usize,
    /// Time-major dB: `hmd_db[minute * n_hmd + band]`; NaN where a minute has no spectrum.
    pub hmd_db: Vec<f32>,
    tol_db: Vec<f32>,
    spl_db: Vec<f32>,
    pub effort: Vec<f32>,
    inputs: Vec<(String, String)>,
    scratch: Vec<f64>,
}

/// Daily statistics derived from the minutes.
pub struct DayProduct {
    /// Percentile spectra, percentile-major (one HMD spectrum per percentile).
    pub percentiles: Vec<f32>,
    /// The dB levels of the spectral probability density's bins.
    pub spd_levels: Vec<f64>,
    /// The spectral probability density, band-major over `spd_levels`.
    pub spd: Vec<f32>,
}

fn db(x: f64) -> f32 {
    (10.0 * x.max(1e-30).log10()) as f32
}

impl DayAcc {
    pub fn new(day_index: i64, ctx: &Context) -> DayAcc {
        let (n_hmd, n_dd) = (ctx.hmd.len(), ctx.dd.len());
        DayAcc {
            day_index,
            n_hmd,
            n_dd,
            hmd_db: vec![f32::NAN; MINUTES * n_hmd],
            tol_db: vec![f32::NAN; MINUTES * n_dd],
            spl_db: vec![f32::NAN; MINUTES],
            effort: vec![0.0; MINUTES],
            inputs: Vec::new(),
            scratch: Vec::new(),
        }
    }

    pub fn add_input(&mut self, path: &Path, sha: &str) {
        let name = path.display().to_string();
        if !self.inputs.iter().any(|(p, _)| *p == name) {
            self.inputs.push((name, sha.to_string()));
        }
    }

    /// Records the SHA-256 of an input noted before its hash was known.
    pub fn set_input_sha(&mut self, path: &Path, sha: &str) {
        let name = path.display().to_string();
        if let Some((_, s)) = self.inputs.iter_mut().find(|(p, _)| *p == name) {
            *s = sha.to_string();
        }
    }

    /// Takes the minutes `other` (the same day, computed by another engine from other minutes)
    /// holds data in; its inputs are the caller's to merge ([`DayAcc::take_inputs`],
    /// [`DayAcc::add_inputs`]) in clock order, which makes the day what one engine computing
    /// all of it would have.
    pub fn absorb_minutes(&mut self, other: &DayAcc) {
        for m in (0..MINUTES).filter(|&m| other.effort[m] > 0.0) {
            self.effort[m] += other.effort[m];
            let (h, t) = (
                m * self.n_hmd..(m + 1) * self.n_hmd,
                m * self.n_dd..(m + 1) * self.n_dd,
            );
            self.hmd_db[h.clone()].copy_from_slice(&other.hmd_db[h]);
            self.tol_db[t.clone()].copy_from_slice(&other.tol_db[t]);
            self.spl_db[m] = other.spl_db[m];
        }
    }

    /// The inputs noted so far as (path, SHA-256), taken out.
    pub fn take_inputs(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.inputs)
    }

    /// Notes `inputs` after those already noted; one noted already keeps its place, and gets
    /// a SHA-256 if it had none.
    pub fn add_inputs(&mut self, inputs: impl IntoIterator<Item = (String, String)>) {
        for (name, sha) in inputs {
            match self.inputs.iter_mut().find(|(p, _)| *p == name) {
                Some((_, s)) if s.is_empty() => *s = sha,
                Some(_) => {}
                None => self.inputs.push((name, sha)),
            }
        }
    }

    /// Stores minute `m` of the day: `effort` seconds of data and its calibrated mean PSD
    /// (empty when the minute held less than one window).
    pub fn set_minute(&mut self, m: usize, effort: f64, psd: &[f64], ctx: &Context) {
        self.effort[m] += effort as f32;
        if psd.is_empty() {
            return;
        }
        ctx.hmd_map.density(psd, &mut self.scratch);
        for (dst, &v) in self.hmd_db[m * self.n_hmd..(m + 1) * self.n_hmd]
            .iter_mut()
            .zip(&self.scratch)
        {
            *dst = db(v);
        }
        ctx.dd_map.power(psd, &mut self.scratch);
        for (dst, &v) in self.tol_db[m * self.n_dd..(m + 1) * self.n_dd]
            .iter_mut()
            .zip(&self.scratch)
        {
            *dst = db(v);
        }
        let fbw = f64::from(ctx.fs) / ctx.params.nfft as f64;
        self.spl_db[m] = db(psd.iter().skip(1).sum::<f64>() * fbw);
    }

    /// Percentiles per band and the spectral probability density over the day's minutes.
    pub fn statistics(&self) -> DayProduct {
        let n = self.n_hmd;
        let mut column = vec![0f32; MINUTES];
        let mut scratch = Vec::new();
        let mut percentiles = vec![f32::NAN; PERCENTILES.len() * n];
        for b in 0..n {
            for (m, c) in column.iter_mut().enumerate() {
                *c = self.hmd_db[m * n + b];
            }
            let p = dsp::percentiles(&column, &PERCENTILES, &mut scratch);
            for (k, v) in p.into_iter().enumerate() {
                percentiles[k * n + b] = v;
            }
        }
        let finite = self.hmd_db.iter().filter(|v| v.is_finite());
        let (lo, hi) = finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
        let (lo, hi) = if lo <= hi {
            (f64::from(lo).floor(), f64::from(hi).floor() + 1.0)
        } else {
            (0.0, 1.0)
        };
        let bins = ((hi - lo) as usize).clamp(1, SPD_MAX_BINS);
        let lo = hi - bins as f64;
        let edges: Vec<f64> = (0..=bins).map(|i| lo + i as f64).collect();
        let spd = dsp::spectral_probability_density(&self.hmd_db, n, &edges);
        DayProduct {
            percentiles,
            spd_levels: edges[..bins].iter().map(|e| e + 0.5).collect(),
            spd,
        }
    }

    /// Writes the day's NetCDF (and PNGs) and reports them.
    pub fn write(self, out_dir: &Path, ctx: &Context) -> Result<DayReport, SoundscapeError> {
        let day_start = Timestamp::from_second(self.day_index * 86_400).unwrap_or_default();
        let day = day_start.strftime("%Y%m%d").to_string();
        let stats = self.statistics();
        let [nc_path, ..] = super::output::day_paths(out_dir, &day);
        self.netcdf(day_start, ctx, &stats)?.write_path(&nc_path)?;
        let mut outputs = vec![nc_path];
        if ctx.spec.png {
            outputs.extend(super::output::write_pngs(
                out_dir, &day, &self, &stats, ctx,
            )?);
        }
        let minutes_with_data = self.effort.iter().filter(|&&e| e > 0.0).count();
        let flagged_minutes = self
            .effort
            .iter()
            .filter(|&&e| e > 0.0 && f64::from(e) < ctx.spec.min_effort_s)
            .count();
        Ok(DayReport {
            day,
            outputs,
            minutes_with_data,
            flagged_minutes,
        })
    }

    fn netcdf(
        &self,
        day_start: Timestamp,
        ctx: &Context,
        stats: &DayProduct,
    ) -> Result<NcFile, SoundscapeError> {
        let unit = if ctx.spec.calibration.is_calibrated() {
            "dB re 1 uPa^2"
        } else {
            "dB re 1 FS^2"
        };
        let mut f = NcFile::new();
        f.add_dim("time", MINUTES)?;
        f.add_dim("frequency", self.n_hmd)?;
        f.add_dim("decidecade", self.n_dd.max(1))?;
        f.add_dim("percentile", PERCENTILES.len())?;
        f.add_dim("spd_level", stats.spd_levels.len())?;
        let t0 = day_start.as_second() as f64;
        let times = (0..MINUTES).map(|m| t0 + 60.0 * m as f64).collect();
        f.add_var("time", &["time"], NcValues::F64(times))?;
        attrs(
            &mut f,
            "time",
            &[
                ("standard_name", "time"),
                ("long_name", "start of the minute (UTC)"),
                ("units", "seconds since 1970-01-01 00:00:00"),
                ("calendar", "standard"),
                ("axis", "T"),
            ],
        )?;
        let centres = ctx.hmd.centres.iter().map(|&c| c as f32).collect();
        f.add_var("frequency", &["frequency"], NcValues::F32(centres))?;
        attrs(
            &mut f,
            "frequency",
            &[
                ("standard_name", "sound_frequency"),
                ("long_name", "hybrid millidecade band centre frequency"),
                ("units", "Hz"),
            ],
        )?;
        f.add_var(
            "lower_frequency",
            &["frequency"],
            NcValues::F64(ctx.hmd.lower().to_vec()),
        )?;
        f.add_var(
            "upper_frequency",
            &["frequency"],
            NcValues::F64(ctx.hmd.upper().to_vec()),
        )?;
        attrs(
            &mut f,
            "lower_frequency",
            &[("long_name", "band lower edge"), ("units", "Hz")],
        )?;
        attrs(
            &mut f,
            "upper_frequency",
            &[("long_name", "band upper edge"), ("units", "Hz")],
        )?;
        f.add_var(
            "psd",
            &["time", "frequency"],
            NcValues::F32(self.hmd_db.clone()),
        )?;
        let psd_unit = format!("{unit}/Hz");
        attrs(
            &mut f,
            "psd",
            &[
                (
                    "long_name",
                    "hybrid millidecade spectral density level (per-minute Welch mean)",
                ),
                ("units", &psd_unit),
                (
                    "comment",
                    "NaN where the minute holds less than one Welch window",
                ),
            ],
        )?;
        f.add_var("effort", &["time"], NcValues::F32(self.effort.clone()))?;
        attrs(
            &mut f,
            "effort",
            &[
                ("long_name", "seconds of audio data in the minute"),
                ("units", "seconds"),
            ],
        )?;
        let flags = self
            .effort
            .iter()
            .map(|&e| match e {
                e if e <= 0.0 => 2,
                e if f64::from(e) < ctx.spec.min_effort_s => 1,
                _ => 0,
            })
            .collect();
        f.add_var("minute_flag", &["time"], NcValues::I8(flags))?;
        attrs(
            &mut f,
            "minute_flag",
            &[
                ("long_name", "data sufficiency of the minute"),
                ("flag_meanings", "ok too_little_data no_data"),
            ],
        )?;
        f.set_var_attr("minute_flag", "flag_values", NcValues::I8(vec![0, 1, 2]))?;
        f.set_var_attr("minute_flag", "min_effort_s", ctx.spec.min_effort_s)?;
        let dd_c: Vec<f32> = ctx.dd.centres.iter().map(|&c| c as f32).collect();
        let (dd_c, tol) = if self.n_dd == 0 {
            (vec![f32::NAN], vec![f32::NAN; MINUTES])
        } else {
            (dd_c, self.tol_db.clone())
        };
        f.add_var("decidecade", &["decidecade"], NcValues::F32(dd_c))?;
        attrs(
            &mut f,
            "decidecade",
            &[
                (
                    "long_name",
                    "decidecade (base-10 one-third octave) band centre frequency",
                ),
                ("units", "Hz"),
            ],
        )?;
        f.add_var("band_level", &["time", "decidecade"], NcValues::F32(tol))?;
        attrs(
            &mut f,
            "band_level",
            &[("long_name", "decidecade band level"), ("units", unit)],
        )?;
        f.add_var("spl", &["time"], NcValues::F32(self.spl_db.clone()))?;
        attrs(
            &mut f,
            "spl",
            &[
                (
                    "long_name",
                    "broadband sound pressure level, first bin to fs/2",
                ),
                ("units", unit),
            ],
        )?;
        f.add_var(
            "percentile",
            &["percentile"],
            NcValues::F64(PERCENTILES.to_vec()),
        )?;
        attrs(&mut f, "percentile", &[(
            "long_name",
            "statistical percentile over the day's minutes (level not exceeded this % of the time)",
        )])?;
        f.add_var(
            "psd_percentile",
            &["percentile", "frequency"],
            NcValues::F32(stats.percentiles.clone()),
        )?;
        attrs(
            &mut f,
            "psd_percentile",
            &[
                (
                    "long_name",
                    "daily percentile of the hybrid millidecade levels",
                ),
                ("units", &psd_unit),
            ],
        )?;
        let levels = stats.spd_levels.iter().map(|&v| v as f32).collect();
        f.add_var("spd_level", &["spd_level"], NcValues::F32(levels))?;
        attrs(
            &mut f,
            "spd_level",
            &[
                ("long_name", "centre of the 1 dB level bin"),
                ("units", &psd_unit),
            ],
        )?;
        f.add_var(
            "spd",
            &["frequency", "spd_level"],
            NcValues::F32(stats.spd.clone()),
        )?;
        attrs(
            &mut f,
            "spd",
            &[
                (
                    "long_name",
                    "spectral probability density of the minute levels",
                ),
                ("units", "1/dB"),
            ],
        )?;
        self.global_attrs(&mut f, day_start, ctx)?;
        Ok(f)
    }

    fn global_attrs(
        &self,
        f: &mut NcFile,
        day_start: Timestamp,
        ctx: &Context,
    ) -> Result<(), SoundscapeError> {
        let day = day_start.strftime("%Y-%m-%d").to_string();
        let p = &ctx.params;
        let inputs: Vec<String> = self
            .inputs
            .iter()
            .map(|(path, sha)| format!("{path} sha256:{sha}"))
            .collect();
        let settings = format!(
            "fs={} Hz; Welch hann window {} samples, nfft {}, hop {} (overlap {}); minutes built \
             from the samples inside them across file boundaries; files within {} s of the \
             previous end are joined, later starts are gaps; min_effort_s={}",
            ctx.fs,
            p.win_length,
            p.nfft,
            p.hop,
            ctx.spec.overlap,
            ctx.spec.join_tolerance_s,
            ctx.spec.min_effort_s
        );
        let pairs: Vec<(&str, String)> = vec![
            ("Conventions", "CF-1.8".into()),
            ("title", format!("Soundscape products for {day}")),
            (
                "source",
                format!("onc-hydro {} soundscape", env!("CARGO_PKG_VERSION")),
            ),
            // No wall-clock time: the same inputs and settings give the same bytes, whether
            // the day was computed alone, in a shard of a cluster run, or again later.
            (
                "history",
                format!("onc-hydro {} soundscape", env!("CARGO_PKG_VERSION")),
            ),
            ("time_coverage_start", format!("{day} 00:00:00Z")),
            ("time_coverage_end", format!("{day} 23:59:00Z")),
            ("time_coverage_resolution", "PT1M".into()),
            ("time_coverage_duration", "P1D".into()),
            ("calibration", ctx.spec.calibration.describe()),
            ("processing", settings),
            (
                "hmd_definition",
                "hybrid millidecade bands as PyPAM get_hybrid_millidecade_limits([0, fs/2], \
                 nfft, fs) with spectra_ds_to_bands partial-bin weighting (pbp); band density = \
                 integrated power / bandwidth"
                    .into(),
            ),
            ("input_files", inputs.join("\n")),
        ];
        for (k, v) in pairs {
            f.set_attr(k, v)?;
        }
        Ok(())
    }
}

fn attrs(f: &mut NcFile, var: &str, pairs: &[(&str, &str)]) -> Result<(), SoundscapeError> {
    for (k, v) in pairs {
        f.set_var_attr(var, k, *v)?;
    }
    Ok(())
}

/// SHA-256 of a file, hex.
pub(crate) fn sha256_file(path: &Path) -> Result<String, SoundscapeError> {
    crate::media::sha256_file(path).map_err(|e| SoundscapeError::Input {
        path: path.display().to_string(),
        reason: format!("cannot read: {e}"),
    })
}
