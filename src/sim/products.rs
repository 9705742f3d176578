//! What a data product request produces: option validation (`dpo_*`, defaults announced in
//! `messages`), the data source (device, or location + category/property), the list of output
//! files with ONC's names, the processing-time and size model (the one place latency of
//! generated products is decided). Rendering lives in `outputs.rs`.
//!
//! Outputs:
//! * `HSD` `mat`: one MAT file per 5-minute source file,
//!   `<dev>_<start>_<end>-<mode>-spect_<res>.mat` with `<res>` = `fullRes` (downsample 0),
//!   `1minAvg` (1, our choice of name; ONC's is unknown) or `plotRes` (2), via `content::hsd_mat`.
//! * `AD` `flac`/`wav`/`mp3`: the source audio files, named like the archive files, at the
//!   source rate or lower ([`audio_rate`]: `dpo_audioDownsample`, MP3's rates). Formats the
//!   archive does not hold, and every downsampled file, are generated "on the fly" at ONC's
//!   documented ~15 s per 5-minute file; archived files take 1 s.
//! * `TSSD` `csv`/`json`: one file per device and UTC day,
//!   `<Region>_<Location>_<Category>_<from>_<to>-clean.<ext>`, further files `_2`, `_3`…
//! * `LF` `txt`: the archived daily log files ("already archived": numeric `fileSize`).
//! * `index=meta`: `<first name stem>_<EXT>_META.xml`.
//!
//! Must not know: job state, axum.

use jiff::Timestamp;

use super::archive::{self, ArchiveFile};
use super::catalog::{Catalog, Device, Product};
use super::clock::{compact_ms, compact_s, from_ms, ms};
use super::content::{HsdSpec, PlotOptions};
use super::params::Params;
use super::reply::ApiError;
use crate::media::{Palette, MP3_SAMPLE_RATES};

const DAY_MS: i64 = 86_400_000;

/// The longest audio/spectral request the simulator accepts: 31 days (8,928 five-minute
/// files per device). Planning a request enumerates and prices every file on the request
/// thread, so a year (105,120 files) would hold it for seconds; ONC likewise refuses requests
/// whose output is unreasonably large rather than queueing them. Refused with 400/127 naming
/// `dateTo`.
const MAX_AUDIO_SPAN_MS: i64 = 31 * DAY_MS;

/// Processing model in ONC-like seconds (multiplied by the time scale when simulated).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cost {
    /// Fixed start-up work before the first file.
    pub base_s: f64,
    /// Work per output file.
    pub per_file_s: f64,
    /// Time a generated file spends "transferring to the FTP server".
    pub transfer_s: f64,
    /// "search complete, waiting on the file system to synchronize" after the last file.
    pub sync_s: f64,
}

impl Cost {
    /// Seconds from start until output `i` (1-based) can be downloaded.
    pub(crate) fn ready_after(&self, i: usize) -> f64 {
        self.base_s + self.per_file_s * i as f64 + self.transfer_s
    }

    /// Seconds from start until the run is complete.
    pub(crate) fn total(&self, n: usize) -> f64 {
        if n == 0 {
            self.base_s
        } else {
            self.ready_after(n) + self.sync_s
        }
    }
}

/// One generated file.
#[derive(Debug, Clone)]
pub(crate) enum Output {
    Hsd {
        name: String,
        spec: HsdSpec,
        /// A plot (`png`, `pdf`) instead of the MAT file, drawn with these options.
        plot: Option<(PlotKind, PlotOptions)>,
    },
    Audio {
        name: String,
        file: ArchiveFile,
        /// The sample rate written: the source's, or lower after `dpo_audioDownsample` (MP3:
        /// always one of [`MP3_SAMPLE_RATES`]).
        rate: u32,
    },
    Tssd {
        name: String,
        device: &'static str,
        from: Timestamp,
        to: Timestamp,
        json: bool,
        avg_s: Option<u32>,
    },
    Log {
        name: String,
        file: ArchiveFile,
    },
}

impl Output {
    pub(crate) fn name(&self) -> &str {
        match self {
            Output::Hsd { name, .. }
            | Output::Audio { name, .. }
            | Output::Tssd { name, .. }
            | Output::Log { name, .. } => name,
        }
    }

    pub(crate) fn content_type(&self) -> &'static str {
        match self {
            Output::Hsd {
                plot: Some((PlotKind::Png, _)),
                ..
            } => "image/png",
            Output::Hsd {
                plot: Some((PlotKind::Pdf, _)),
                ..
            } => "application/pdf",
            Output::Hsd { .. } => "application/octet-stream",
            Output::Audio { file, .. } if file.ext == "wav" => "audio/wav",
            Output::Audio { file, .. } if file.ext == "mp3" => "audio/mpeg",
            Output::Audio { .. } => "audio/flac",
            Output::Tssd { json: true, .. } => "application/json",
            Output::Tssd { .. } | Output::Log { .. } => "text/plain",
        }
    }
}

/// The file type of an HSD plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlotKind {
    Png,
    Pdf,
}

/// The plot options of a request: colour limits (both, or neither: ONC's -1000 is "from the
/// data") and the upper frequency (-1: up to Nyquist).
fn plot_options(chosen: &[(&'static str, String)]) -> PlotOptions {
    let num = |k: &str| {
        opt(chosen, k)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| *v != -1000.0 && *v != -1.0)
    };
    let clim = match (num("dpo_lowerColourLimit"), num("dpo_upperColourLimit")) {
        (Some(lo), Some(hi)) if lo < hi => Some((lo as f32, hi as f32)),
        _ => None,
    };
    PlotOptions {
        clim,
        f_max: num("dpo_spectrogramFrequencyUpperLimit").filter(|f| *f > 0.0),
        palette: palette(opt(chosen, "dpo_spectrogramColourPalette")),
    }
}

/// ONC's `dpo_spectrogramColourPalette` 0–5 as a colour map. ONC's wiki says only that the
/// default "is not colour perceptually balanced … however it is something of an old standard"
/// (jet, here); which maps 1–5 are is not public, so these are our choice of the usual ones.
fn palette(code: Option<&str>) -> Palette {
    match code {
        Some("1") => Palette::Viridis,
        Some("2") => Palette::Cividis,
        Some("3") => Palette::Magma,
        Some("4") => Palette::Turbo,
        Some("5") => Palette::Greys,
        _ => Palette::Jet,
    }
}

/// Everything a request decided.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub product: &'static str,
    pub ext: &'static str,
    pub outputs: Vec<Output>,
    pub meta_name: String,
    pub cost: Cost,
    pub est_size: u64,
    pub archived: bool,
    pub messages: Vec<String>,
    pub devices: Vec<&'static str>,
    /// The request parameters without the token (for the metadata file).
    pub echo: Vec<(String, String)>,
}

/// Option values after defaults: `(option, value)`.
type Chosen = Vec<(&'static str, String)>;

/// Seconds per 5-minute file when an `AD` file is generated rather than taken from the archive:
/// "expect it would take approximately 15 seconds to process one 5 minute file" (ONC wiki,
/// Audio Data).
const AD_GENERATED_S: f64 = 15.0;

/// The constant bit rate of the simulator's MP3 files (ONC's is not documented).
pub(crate) fn mp3_kbps(rate: u32) -> u16 {
    if rate >= 32_000 {
        128
    } else {
        64
    }
}

/// The sample rate of an `AD` file and the status message that goes with it, as ONC's wiki
/// ("Audio Downsampling") describes: `dpo_audioDownsample` below the source rate resamples
/// (the simulator renders its sources at that rate, which is what an anti-aliased resampler
/// yields); a value at or above it changes nothing and says so. MP3 holds only
/// [`MP3_SAMPLE_RATES`]: a source rate outside them becomes the highest MP3 rate below it
/// (the rate ffmpeg's encoder negotiation picks; our assumption, ONC does not document it),
/// and an explicit rate outside them is refused, naming the rates that work (ONC reports
/// those in the search status).
pub(crate) fn audio_rate(
    downsample: i64,
    source: u32,
    ext: &str,
) -> Result<(u32, Option<String>), ApiError> {
    let mut note = None;
    let base = match u32::try_from(downsample) {
        Ok(v) if v > 0 && v < source => v,
        Ok(v) if v > 0 => {
            note = Some(format!(
                "dpo_audioDownsample={v} Hz is not below the source sample rate of {source} Hz; \
                 no resampling was done"
            ));
            source
        }
        _ => source,
    };
    if ext != "mp3" || MP3_SAMPLE_RATES.contains(&base) {
        return Ok((base, note));
    }
    if base != source {
        let rates: Vec<String> = MP3_SAMPLE_RATES.iter().map(u32::to_string).collect();
        return Err(ApiError::invalid(
            "dpo_audioDownsample",
            format!(
                "Invalid parameter value: MP3 cannot be downsampled to {base} Hz; applicable \
                 sample rates: {}",
                rates.join(" ")
            ),
        ));
    }
    let rate = MP3_SAMPLE_RATES
        .iter()
        .rev()
        .find(|r| **r < base)
        .copied()
        .unwrap_or(MP3_SAMPLE_RATES[0]);
    Ok((rate, note))
}

/// Validates the `dpo_*` options: known names (else 129), allowed values (else 127).
/// Checked against the real options of the product as `ext` (`Catalog::options_for`).
fn options(p: &Params, prod: &Product, ext: &str) -> Result<(Chosen, Vec<String>), ApiError> {
    let mut chosen = Vec::new();
    let mut defaulted = Vec::new();
    let all = Catalog::options_for(prod, ext);
    for (k, _) in p.pairs().iter().filter(|(k, _)| k.starts_with("dpo_")) {
        if !all.iter().any(|o| o.option == k) {
            return Err(ApiError::unknown(k));
        }
    }
    for o in &all {
        match p.get(o.option) {
            Some(v) => {
                let in_range = o.range.is_some_and(|(lo, hi, ints, _)| {
                    let (Ok(x), Ok(l), Ok(h)) =
                        (v.parse::<f64>(), lo.parse::<f64>(), hi.parse::<f64>())
                    else {
                        return false;
                    };
                    x >= l && x <= h && (!ints || x.fract() == 0.0)
                });
                let free = o.suboption && o.allowable_values.is_empty();
                if !o.allowable_values.contains(&v) && !in_range && !free {
                    return Err(ApiError::invalid(
                        o.option,
                        format!(
                            "Invalid value '{v}' for {}; allowed: {}",
                            o.option,
                            o.allowable_values.join(", ")
                        ),
                    ));
                }
                chosen.push((o.option, v.to_string()));
            }
            None if o.suboption => {}
            None => {
                defaulted.push(format!("{}={}", o.option, o.default_value));
                chosen.push((o.option, o.default_value.to_string()));
            }
        }
    }
    let messages = if defaulted.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "The following data product options were not specified; default values were used: {}",
            defaulted.join(", ")
        )]
    };
    Ok((chosen, messages))
}

fn opt<'a>(chosen: &'a [(&'static str, String)], key: &str) -> Option<&'a str> {
    chosen
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.as_str())
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

/// Builds the plan of a `request`.
pub(crate) fn plan(
    cat: &Catalog,
    p: &Params,
    now: Timestamp,
    rate_override: Option<u32>,
    seed: u64,
) -> Result<Plan, ApiError> {
    let mut missing: Vec<&str> = ["dataProductCode", "extension", "dateFrom", "dateTo"]
        .into_iter()
        .filter(|k| !p.has(k))
        .collect();
    let by_device = p.has("deviceCode");
    if !by_device
        && !(p.has("locationCode") && (p.has("deviceCategoryCode") || p.has("propertyCode")))
    {
        missing.push(if p.has("locationCode") {
            "deviceCategoryCode"
        } else {
            "deviceCode"
        });
    }
    if !missing.is_empty() {
        return Err(ApiError::missing(&missing));
    }
    let code = p.require("dataProductCode")?;
    let prod = cat.product(code).ok_or_else(|| {
        ApiError::invalid(
            "dataProductCode",
            format!("Invalid data product code: {code}"),
        )
    })?;
    let ext_in = p.require("extension")?;
    let ext = *prod
        .extensions
        .iter()
        .find(|e| **e == ext_in)
        .ok_or_else(|| {
            ApiError::invalid(
                "extension",
                format!("Data product {code} is not available with extension {ext_in}"),
            )
        })?;
    let w = p.window(now)?;
    let (from, to) = (w.from.unwrap_or(now), w.to.unwrap_or(now));
    // The devices and the time spans (deployments) they contribute.
    let mut spans: Vec<(&Device, &super::catalog::Deployment)> = Vec::new();
    if by_device {
        let dc = p.require("deviceCode")?;
        let dev = cat
            .device(dc)
            .ok_or_else(|| ApiError::invalid("deviceCode", format!("Invalid device code: {dc}")))?;
        if !cat.offers(dev.category, code, ext) {
            return Err(not_offered(dev.category));
        }
        spans.extend(
            cat.deployments_of(dev.code)
                .into_iter()
                .filter(|d| Catalog::overlaps(d, Some(from), Some(to)))
                .map(|d| (dev, d)),
        );
    } else {
        let lc = p.require("locationCode")?;
        let loc = cat.location(lc).ok_or_else(|| {
            ApiError::invalid("locationCode", format!("Invalid location code: {lc}"))
        })?;
        let cc = p.get("deviceCategoryCode");
        if let Some(c) = cc {
            cat.category(c).ok_or_else(|| {
                ApiError::invalid(
                    "deviceCategoryCode",
                    format!("Invalid device category code: {c}"),
                )
            })?;
            if !cat.offers(c, code, ext) {
                return Err(not_offered(c));
            }
        }
        let prop = match p.get("propertyCode") {
            Some(pc) => Some(cat.property(pc).ok_or_else(|| {
                ApiError::invalid("propertyCode", format!("Invalid property code: {pc}"))
            })?),
            None => None,
        };
        let here: Vec<_> = cat
            .deployments
            .iter()
            .filter(|d| d.location == loc.code)
            .filter_map(|d| cat.device(d.device).map(|dev| (dev, d)))
            .filter(|(dev, _)| cc.is_none_or(|c| dev.category == c))
            .filter(|(dev, _)| {
                prop.is_none_or(|pr| {
                    dev.properties.contains(&pr.code)
                        || (dev.properties.is_empty() && pr.categories.contains(&dev.category))
                })
            })
            .filter(|(dev, _)| cat.offers(dev.category, code, ext))
            .collect();
        spans = here
            .iter()
            .copied()
            .filter(|(_, d)| Catalog::overlaps(d, Some(from), Some(to)))
            .collect();
        if spans.is_empty() {
            let what = cc.unwrap_or("with the requested property");
            let msg = if here.is_empty() {
                format!("there is no deployment of a device {what} at location {lc} offering {code} {ext}")
            } else {
                format!("A device with category {what} was deployed at location {lc} but not during the provided time range")
            };
            return Err(ApiError::bad(
                super::reply::ErrorCode::InvalidValue,
                msg,
                "locationCode,deviceCategoryCode,dateFrom,dateTo",
            ));
        }
    }
    let (chosen, mut messages) = options(p, prod, ext)?;
    let first_loc = spans.first().and_then(|(_, d)| cat.location(d.location));
    let first_dev = spans.first().map(|(dev, _)| *dev);
    let stem_base = match (first_loc, first_dev) {
        (Some(l), Some(dev)) => format!(
            "{}_{}_{}",
            l.region,
            squash(l.name),
            squash(cat.category(dev.category).map_or(dev.category, |c| c.name))
        ),
        _ => format!(
            "{}_{}",
            p.get("locationCode")
                .or(p.get("deviceCode"))
                .map_or("NoData".into(), squash),
            squash(code)
        ),
    };
    let mut outputs = Vec::new();
    let mut est_size: u64 = 0;
    let cost;
    match code {
        "HSD" | "AD" => {
            if ms(to) - ms(from) > MAX_AUDIO_SPAN_MS {
                return Err(ApiError::invalid(
                    "dateTo",
                    format!(
                        "Invalid parameter value: the {code} request covers more than {} days; \
                         split it into shorter requests",
                        MAX_AUDIO_SPAN_MS / DAY_MS
                    ),
                ));
            }
            let mut files: Vec<ArchiveFile> = Vec::new();
            for (dev, d) in &spans {
                for f in archive::files_in_deployment(dev, d, Some(from), Some(to), now) {
                    if !files
                        .iter()
                        .any(|x| x.device == f.device && x.start == f.start)
                    {
                        files.push(f);
                    }
                }
            }
            let ds: u8 = opt(&chosen, "dpo_spectralDataDownsample")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            let mode = opt(&chosen, "dpo_hydrophoneDataDiversionMode")
                .unwrap_or("OD")
                .to_string();
            let downsample: i64 = opt(&chosen, "dpo_audioDownsample")
                .and_then(|v| v.parse().ok())
                .unwrap_or(-1);
            let mut generated = false;
            for f in files {
                let Some(dev) = cat.device(f.device) else {
                    continue;
                };
                let rate = u64::from(rate_override.or(dev.sample_rate).unwrap_or(64_000));
                if code == "HSD" {
                    let res = match ds {
                        0 => "fullRes",
                        1 => "1minAvg",
                        _ => "plotRes",
                    };
                    let plot = match ext {
                        "png" => Some((PlotKind::Png, plot_options(&chosen))),
                        "pdf" => Some((PlotKind::Pdf, plot_options(&chosen))),
                        _ => None,
                    };
                    // Our name for a plot (the real generated PNG's name is unknown; archived
                    // ones end in `-spect.png`).
                    let name = if plot.is_some() {
                        format!(
                            "{}_{}_{}-{}-spect.{ext}",
                            f.device,
                            compact_ms(f.start),
                            compact_ms(f.end()),
                            mode
                        )
                    } else {
                        format!(
                            "{}_{}_{}-{}-spect_{}.mat",
                            f.device,
                            compact_ms(f.start),
                            compact_ms(f.end()),
                            mode,
                            res
                        )
                    };
                    est_size += match ds {
                        0 => 30_000_000,
                        1 => 60_000,
                        _ => 220_000,
                    };
                    let recording = archive::recording(dev, f.start, rate_override, seed);
                    outputs.push(Output::Hsd {
                        name,
                        spec: HsdSpec {
                            recording,
                            downsample: ds,
                            diversion_mode: mode.clone(),
                        },
                        plot,
                    });
                } else {
                    let (out_rate, note) = audio_rate(downsample, rate as u32, ext)?;
                    if let Some(note) = note {
                        if !messages.contains(&note) {
                            messages.push(note);
                        }
                    }
                    generated |=
                        out_rate != rate as u32 || !archive::archived_as(dev, f.start, ext);
                    let out = u64::from(out_rate);
                    est_size += match ext {
                        "wav" => out * 300 * 3 + 44,
                        "mp3" => u64::from(mp3_kbps(out_rate)) * 125 * 300,
                        _ => out * 300 * 8 / 3,
                    };
                    let file = ArchiveFile { ext, ..f };
                    outputs.push(Output::Audio {
                        name: file.name(),
                        file,
                        rate: out_rate,
                    });
                }
            }
            // Downsample 2 (plotRes): 2.5 s a window, so 12 windows are estimated at the
            // "35 s" the real service quoted for them (seed 004; calibration in jobs.rs).
            let per_file = match (code, ds) {
                ("AD", _) if generated => AD_GENERATED_S,
                ("AD", _) => 1.0,
                (_, 0) => 25.0,
                (_, 1) => 10.0,
                _ => 2.5,
            };
            cost = Cost {
                base_s: 2.0,
                per_file_s: per_file,
                transfer_s: 1.0,
                sync_s: 2.0,
            };
        }
        "TSSD" => {
            let avg_s = match opt(&chosen, "dpo_resample") {
                Some("none") | None => None,
                Some(_) => opt(&chosen, "dpo_minMaxAvg")
                    .and_then(|v| v.parse::<u32>().ok())
                    .filter(|v| *v > 0)
                    .or(Some(60)),
            };
            let mut k = 0;
            for (dev, d) in &spans {
                let lo = ms(from).max(ms(d.begin));
                let hi = ms(to).min(d.end.map(ms).unwrap_or(i64::MAX));
                let mut day = lo;
                while day < hi {
                    let next = ((day.div_euclid(DAY_MS)) + 1) * DAY_MS;
                    let end = next.min(hi);
                    k += 1;
                    let suffix = if k == 1 {
                        String::new()
                    } else {
                        format!("_{k}")
                    };
                    let name = format!(
                        "{stem_base}_{}_{}-clean{suffix}.{ext}",
                        compact_s(from),
                        compact_s(to)
                    );
                    let rows = ((end - day) as f64
                        / 1000.0
                        / avg_s.map_or(dev.sample_period_s.max(1.0), f64::from))
                        as u64;
                    est_size += rows * 70;
                    outputs.push(Output::Tssd {
                        name,
                        device: dev.code,
                        from: from_ms(day),
                        to: from_ms(end),
                        json: ext == "json",
                        avg_s,
                    });
                    day = end;
                }
            }
            cost = Cost {
                base_s: 6.0,
                per_file_s: 4.0,
                transfer_s: 1.0,
                sync_s: 2.0,
            };
        }
        _ => {
            for (dev, d) in &spans {
                for f in archive::files_in_deployment(dev, d, Some(from), Some(to), now) {
                    est_size += 450_000;
                    outputs.push(Output::Log {
                        name: f.name(),
                        file: f,
                    });
                }
            }
            cost = Cost {
                base_s: 1.0,
                per_file_s: 0.5,
                transfer_s: 0.5,
                sync_s: 1.0,
            };
        }
    }
    let stem = match outputs.first() {
        Some(o) => o
            .name()
            .rsplit_once('.')
            .map_or(o.name(), |x| x.0)
            .to_string(),
        None => format!("{stem_base}_{}_{}", compact_s(from), compact_s(to)),
    };
    let mut devices: Vec<&'static str> = spans.iter().map(|(d, _)| d.code).collect();
    devices.dedup();
    Ok(Plan {
        product: prod.code,
        ext,
        meta_name: format!("{stem}_{}_META.xml", ext.to_uppercase()),
        outputs,
        cost,
        est_size,
        archived: prod.archived,
        messages,
        devices,
        echo: p.without(&["token"]).pairs().to_vec(),
    })
}

fn not_offered(category: &str) -> ApiError {
    ApiError::bad(
        super::reply::ErrorCode::InvalidValue,
        format!("deviceCategoryCode {category} does not have corresponding dataProductCode and extension"),
        "dataProductCode,extension",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_rates_follow_onc_downsampling_and_mp3_rates() {
        // No downsampling: the source rate, unless MP3 cannot hold it.
        assert_eq!(audio_rate(-1, 64_000, "flac").unwrap(), (64_000, None));
        assert_eq!(audio_rate(-1, 64_000, "mp3").unwrap(), (48_000, None));
        assert_eq!(audio_rate(-1, 44_100, "mp3").unwrap(), (44_100, None));
        assert_eq!(audio_rate(-1, 4_000, "mp3").unwrap(), (8_000, None));
        // Below the source: resampled, for MP3 only to an MP3 rate.
        assert_eq!(audio_rate(16_000, 64_000, "wav").unwrap(), (16_000, None));
        assert_eq!(audio_rate(2_000, 64_000, "flac").unwrap(), (2_000, None));
        assert_eq!(audio_rate(16_000, 64_000, "mp3").unwrap(), (16_000, None));
        let e = audio_rate(4_000, 64_000, "mp3").unwrap_err();
        let body = format!("{e:?}");
        assert!(body.contains("dpo_audioDownsample"), "{body}");
        assert!(body.contains("8000 11025 12000 16000 22050 24000 32000 44100 48000"));
        // At or above the source: nothing changes, and the status says so.
        let (r, note) = audio_rate(48_000, 8_000, "flac").unwrap();
        assert_eq!(r, 8_000);
        assert!(note.unwrap().contains("no resampling"));
    }
}
