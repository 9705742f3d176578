//! HSD (Hydrophone Spectral Data) order parameters: what one ONC `dataProductDelivery/request`
//! for a burst of grid windows must say, and the `dpo_*` options a user may add.
//!
//! One order covers `[first window start, last window end)` exactly (ONC's `dateFrom` inclusive,
//! `dateTo` exclusive; a source file belongs to the order when it overlaps it), so k windows
//! yield k files — never the Python tool's `start + (k − 1)·300 s`.
//!
//! Must not know: HTTP (the engine turns [`HsdOrder::parameters`] into a request), files.

use std::collections::BTreeMap;
use std::fmt;

use super::error::{HydroError, Result};
use super::grid::{DeviceCode, TimeRange};
use crate::api::time::format_onc;

/// ONC's product code for hydrophone spectral data.
pub const HSD_PRODUCT_CODE: &str = "HSD";

/// `dpo_spectralDataDownsample`: the time/frequency resolution of HSD files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Downsample {
    /// `0`: full resolution (≤ 0.5 s, ~1 Hz bins), generated on demand, ~10× plot size.
    Full,
    /// `1`: pre-generated one-minute averages (ONC's default for MAT).
    OneMinute,
    /// `2`: plot resolution, generated on demand (~25 s per 5-minute file). Our default, as in
    /// the Python tool.
    #[default]
    PlotRes,
}

impl Downsample {
    /// From the option value `0`, `1` or `2`.
    pub fn parse(value: &str) -> Result<Downsample> {
        match value.trim() {
            "0" => Ok(Downsample::Full),
            "1" => Ok(Downsample::OneMinute),
            "2" => Ok(Downsample::PlotRes),
            other => Err(HydroError::InvalidOption {
                option: "dpo_spectralDataDownsample".into(),
                message: format!(
                    "{other:?} is not one of ONC's values 0 (full resolution), \
                     1 (one-minute averages), 2 (plot resolution)"
                ),
            }),
        }
    }

    /// The option value ONC expects.
    pub fn code(self) -> &'static str {
        match self {
            Downsample::Full => "0",
            Downsample::OneMinute => "1",
            Downsample::PlotRes => "2",
        }
    }
}

impl fmt::Display for Downsample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The file type asked of the HSD product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum SpectrogramFormat {
    /// MATLAB v5 `SpectData` (the only form clips can be cut from).
    #[default]
    Mat,
    /// ONC's rendered image.
    Png,
}

impl SpectrogramFormat {
    /// Parses `mat` or `png` (any case).
    pub fn parse(value: &str) -> Result<SpectrogramFormat> {
        match value.trim().to_ascii_lowercase().as_str() {
            "mat" => Ok(SpectrogramFormat::Mat),
            "png" => Ok(SpectrogramFormat::Png),
            other => Err(HydroError::arg(
                "spectrogram format",
                format!("{other:?} is not mat or png"),
            )),
        }
    }

    /// Whether ONC's HSD in this format has option `key` (options only one format has are
    /// left out of the other's orders, so one `--option` list serves `--hsd-ext mat,png`).
    pub fn takes_option(self, key: &str) -> bool {
        match self {
            SpectrogramFormat::Mat => !PLOT_ONLY.contains(&key),
            SpectrogramFormat::Png => key != "dpo_spectralDataDownsample",
        }
    }

    /// ONC's `extension` parameter.
    pub fn extension(self) -> &'static str {
        match self {
            SpectrogramFormat::Mat => "mat",
            SpectrogramFormat::Png => "png",
        }
    }
}

/// Extra `dpo_*` options, validated where ONC's allowed values are known (onc-api.md §3.1).
/// Keys are kept sorted so equal option sets compare equal (orders are grouped by them).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct DpoOptions(BTreeMap<String, String>);

/// Known HSD options and their allowed values (`None`: checked by a custom rule).
const KNOWN: &[(&str, Option<&[&str]>)] = &[
    ("dpo_spectralDataDownsample", Some(&["0", "1", "2"])),
    (
        "dpo_hydrophoneDataDiversionMode",
        Some(&["OD", "LPF", "HPF", "All"]),
    ),
    // One file per source file is what windows and clips are built on; concatenation would
    // merge them, so only `None` is accepted.
    ("dpo_spectrogramConcatenation", Some(&["None"])),
    ("dpo_hydrophoneChannel", Some(&["H1", "H2", "H3", "All"])),
    ("dpo_hydrophoneAcquisitionMode", Some(&["LF", "HF", "All"])),
    ("dpo_spectrogramSource", Some(&["MIX", "WAVFLAC", "FFT"])),
    (
        "dpo_spectrogramColourPalette",
        Some(&["0", "1", "2", "3", "4", "5"]),
    ),
    ("dpo_lowerColourLimit", None),
    ("dpo_upperColourLimit", None),
    ("dpo_spectrogramFrequencyUpperLimit", None),
];

/// Options the real HSD has for its plots (png, pdf) but not for mat (dataProducts snapshot).
const PLOT_ONLY: &[&str] = &[
    "dpo_spectrogramColourPalette",
    "dpo_lowerColourLimit",
    "dpo_upperColourLimit",
    "dpo_spectrogramFrequencyUpperLimit",
    "dpo_spectrogramSource",
];

/// Options ONC answers with "not a valid data product option … will be ignored" for HSD.
const IGNORED_BY_ONC: &[&str] = &["dpo_spectrogramWindowLengthSec", "dpo_spectrogramOverlap"];

impl DpoOptions {
    /// No options.
    pub fn new() -> DpoOptions {
        DpoOptions::default()
    }

    /// Adds `key = value` after checking it.
    pub fn insert(&mut self, key: &str, value: &str) -> Result<()> {
        let key = key.trim();
        let value = value.trim();
        let bad = |message: String| HydroError::InvalidOption {
            option: key.to_string(),
            message,
        };
        if !key.starts_with("dpo_") || key.len() <= 4 {
            return Err(bad("data product options are named dpo_<name>".into()));
        }
        if !key[4..].chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad("option names hold letters and digits only".into()));
        }
        if value.is_empty() {
            return Err(bad("empty value".into()));
        }
        if IGNORED_BY_ONC.contains(&key) {
            return Err(bad(
                "ONC ignores this option for HSD (it answers \"not a valid data product option\"); \
                 compute a local spectrogram instead"
                    .into(),
            ));
        }
        if let Some((_, allowed)) = KNOWN.iter().find(|(k, _)| *k == key) {
            check_value(key, value, *allowed).map_err(bad)?;
        }
        self.0.insert(key.to_string(), value.to_string());
        Ok(())
    }

    /// Parses a `--option dpo_x=y` argument.
    pub fn insert_arg(&mut self, arg: &str) -> Result<()> {
        let Some((k, v)) = arg.split_once('=') else {
            return Err(HydroError::InvalidOption {
                option: arg.to_string(),
                message: "write options as dpo_name=value".into(),
            });
        };
        self.insert(k, v)
    }

    /// The value of option `key`, e.g. `dpo_hydrophoneChannel`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Every option as `(name, value)`, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// True when no option is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `self` with every option of `over` added on top (over wins).
    pub fn overlaid(&self, over: &DpoOptions) -> DpoOptions {
        let mut out = self.clone();
        out.0
            .extend(over.0.iter().map(|(k, v)| (k.clone(), v.clone())));
        out
    }
}

fn check_value(
    key: &str,
    value: &str,
    allowed: Option<&[&str]>,
) -> std::result::Result<(), String> {
    if let Some(allowed) = allowed {
        return if allowed.contains(&value) {
            Ok(())
        } else {
            Err(format!("{value:?} is not one of {}", allowed.join(", ")))
        };
    }
    let n: i64 = value
        .parse()
        .map_err(|_| format!("{value:?} is not an integer"))?;
    let ok = match key {
        "dpo_lowerColourLimit" | "dpo_upperColourLimit" => n == -1000 || (-160..=140).contains(&n),
        "dpo_spectrogramFrequencyUpperLimit" => {
            matches!(n, -1 | 1000 | 10000) || (100..=500_000).contains(&n)
        }
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{n} is outside ONC's allowed range"))
    }
}

/// Everything about an HSD order except device and time: orders are merged only when these match.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HsdSettings {
    /// MAT data or PNG image (the `extension`).
    pub format: SpectrogramFormat,
    /// `dpo_spectralDataDownsample`: full resolution, one-minute averages or plot resolution.
    pub downsample: Downsample,
    /// User options; they override the defaults above (as in the Python tool).
    pub options: DpoOptions,
}

impl HsdSettings {
    /// The downsample ONC will actually use (an explicit `dpo_spectralDataDownsample` wins).
    pub fn effective_downsample(&self) -> Downsample {
        self.options
            .get("dpo_spectralDataDownsample")
            .and_then(|v| Downsample::parse(v).ok())
            .unwrap_or(self.downsample)
    }
}

/// One HSD data-product order: a device, an exact half-open range of whole grid windows, and
/// the product settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HsdOrder {
    /// The hydrophone.
    pub device: DeviceCode,
    /// Whole grid windows, half-open `[start, end)`, UTC.
    pub range: TimeRange,
    /// Format, downsample and options.
    pub settings: HsdSettings,
}

impl HsdOrder {
    /// Every `dpo_*` option of the order: our defaults (downsample, diversion mode `OD`, no
    /// concatenation) overlaid with the user's options, keeping only those the order's
    /// extension has in the real service (a PNG has no downsample; a MAT no colour limits,
    /// palette, upper frequency or source).
    pub fn dpo_options(&self) -> BTreeMap<String, String> {
        let format = self.settings.format;
        let mut dpo = BTreeMap::new();
        if format == SpectrogramFormat::Mat {
            dpo.insert(
                "dpo_spectralDataDownsample".to_string(),
                self.settings.downsample.code().to_string(),
            );
        }
        dpo.insert(
            "dpo_hydrophoneDataDiversionMode".to_string(),
            "OD".to_string(),
        );
        dpo.insert(
            "dpo_spectrogramConcatenation".to_string(),
            "None".to_string(),
        );
        for (k, v) in self.settings.options.iter() {
            if format.takes_option(k) {
                dpo.insert(k.to_string(), v.to_string());
            }
        }
        dpo
    }

    /// The typed API order (what the engine's order task carries).
    pub fn to_order(&self) -> crate::api::DataProductOrder {
        let source = crate::api::DataSource::Device {
            device: self.device.as_str().into(),
            property: None,
        };
        let mut order = crate::api::DataProductOrder::new(
            HSD_PRODUCT_CODE,
            self.settings.format.extension(),
            source,
            self.range.start(),
            self.range.end(),
        );
        order.options = self.dpo_options().into_iter().collect();
        order
    }

    /// The query parameters of `dataProductDelivery/request` (without the token), in a stable
    /// order: data source, product, extension, dates, then every `dpo_*` option.
    ///
    /// For the engine this is an order task with `product = HSD`, `extension =
    /// settings.format.extension()`, `device`, `date_from = range.start()`, `date_to =
    /// range.end()`, `options = dpo_options()` and the folder from
    /// `OutputLayout::hsd_folder`.
    pub fn parameters(&self) -> Vec<(String, String)> {
        let mut out = vec![
            ("deviceCode".to_string(), self.device.to_string()),
            ("dataProductCode".to_string(), HSD_PRODUCT_CODE.to_string()),
            (
                "extension".to_string(),
                self.settings.format.extension().to_string(),
            ),
            ("dateFrom".to_string(), format_onc(self.range.start())),
            ("dateTo".to_string(), format_onc(self.range.end())),
        ];
        out.extend(self.dpo_options());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hydro::grid::Window;

    fn param<'a>(p: &'a [(String, String)], k: &str) -> Option<&'a str> {
        p.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn an_order_covers_its_windows_exactly() {
        let first = Window::containing("2024-04-01T12:30:00Z".parse().unwrap());
        let last = first.next();
        let order = HsdOrder {
            device: DeviceCode::parse("ICLISTENHF6324").unwrap(),
            range: TimeRange::new(first.start(), last.end()).unwrap(),
            settings: HsdSettings::default(),
        };
        let p = order.parameters();
        assert_eq!(param(&p, "deviceCode"), Some("ICLISTENHF6324"));
        assert_eq!(param(&p, "dataProductCode"), Some("HSD"));
        assert_eq!(param(&p, "extension"), Some("mat"));
        assert_eq!(param(&p, "dateFrom"), Some("2024-04-01T12:30:00.000Z"));
        // Two windows → dateTo is the second window's end, not `start + (k − 1)·300 s`.
        assert_eq!(param(&p, "dateTo"), Some("2024-04-01T12:40:00.000Z"));
        assert_eq!(param(&p, "dpo_spectralDataDownsample"), Some("2"));
        assert_eq!(param(&p, "dpo_hydrophoneDataDiversionMode"), Some("OD"));
        assert_eq!(param(&p, "dpo_spectrogramConcatenation"), Some("None"));
    }

    #[test]
    fn user_options_override_defaults() {
        let mut options = DpoOptions::new();
        options
            .insert_arg("dpo_hydrophoneDataDiversionMode=All")
            .unwrap();
        options.insert_arg("dpo_spectrogramSource=FFT").unwrap();
        let order = HsdOrder {
            device: DeviceCode::parse("ICLISTENHF6324").unwrap(),
            range: Window::from_index(0).range(),
            settings: HsdSettings {
                format: SpectrogramFormat::Mat,
                downsample: Downsample::Full,
                options,
            },
        };
        let p = order.parameters();
        assert_eq!(param(&p, "dpo_hydrophoneDataDiversionMode"), Some("All"));
        assert_eq!(param(&p, "dpo_spectralDataDownsample"), Some("0"));
        // The real HSD mat has no spectrogram source (a plot option): left out of its order.
        assert_eq!(param(&p, "dpo_spectrogramSource"), None);
        assert_eq!(p.iter().filter(|(k, _)| k.starts_with("dpo_")).count(), 3);
        // The PNG order of the same settings carries it, and no downsample (png has none).
        let mut png = order.clone();
        png.settings.format = SpectrogramFormat::Png;
        let p = png.parameters();
        assert_eq!(param(&p, "extension"), Some("png"));
        assert_eq!(param(&p, "dpo_spectrogramSource"), Some("FFT"));
        assert_eq!(param(&p, "dpo_spectralDataDownsample"), None);
        assert_eq!(param(&p, "dpo_hydrophoneDataDiversionMode"), Some("All"));
    }

    #[test]
    fn bad_options_are_refused_by_name() {
        let mut o = DpoOptions::new();
        for bad in [
            "dpo_spectralDataDownsample=4",
            "dpo_spectrogramWindowLengthSec=2",
            "dpo_hydrophoneDataDiversionMode=od",
            "dpo_spectrogramConcatenation=Daily",
            "dpo_lowerColourLimit=-200",
            "dpo_spectrogramFrequencyUpperLimit=50",
            "spectralDataDownsample=1",
            "dpo_x",
            "dpo_=1",
            "dpo_a=",
        ] {
            let e = o.insert_arg(bad).unwrap_err();
            assert!(matches!(e, HydroError::InvalidOption { .. }), "{bad}: {e}");
        }
        assert!(o.is_empty());
        o.insert_arg("dpo_lowerColourLimit=-1000").unwrap();
        o.insert_arg("dpo_upperColourLimit=140").unwrap();
        o.insert_arg("dpo_spectrogramFrequencyUpperLimit=250000")
            .unwrap();
        o.insert_arg("dpo_somethingNew=7").unwrap();
        assert_eq!(o.iter().count(), 4);
    }

    #[test]
    fn downsample_values() {
        assert_eq!(Downsample::parse("0").unwrap(), Downsample::Full);
        assert_eq!(Downsample::parse("2").unwrap().code(), "2");
        assert!(Downsample::parse("4").is_err());
        let mut options = DpoOptions::new();
        options.insert("dpo_spectralDataDownsample", "1").unwrap();
        let s = HsdSettings {
            options,
            ..HsdSettings::default()
        };
        assert_eq!(s.effective_downsample(), Downsample::OneMinute);
    }
}
