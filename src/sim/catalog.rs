//! The simulator's deterministic synthetic catalog, in code: the location tree, device
//! categories, properties, devices (hydrophones and a few non-acoustic instruments),
//! deployments (with a gap), and the data products each device category offers.
//!
//! Everything here is fixed data; the archive (which files exist) is derived from deployments in
//! `archive.rs`, and product options are validated in `delivery.rs`.
//!
//! Must not know: HTTP, query parameters, job state.

use jiff::Timestamp;

use super::clock::lit;

/// A node of the location search tree.
#[derive(Debug, Clone)]
pub(crate) struct Location {
    pub code: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub parent: Option<&'static str>,
    pub lat: f64,
    pub lon: f64,
    pub depth: Option<f64>,
    /// The region name used in generated product file names, e.g. `BarkleyCanyon`.
    pub region: &'static str,
}

#[derive(Debug, Clone)]
pub(crate) struct Category {
    pub code: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub long_description: &'static str,
    pub vocab_uri: &'static str,
}

#[derive(Debug, Clone)]
pub(crate) struct Property {
    pub code: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub uom: &'static str,
    /// Device categories that measure it.
    pub categories: &'static [&'static str],
}

/// How a device's archive files are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileLayout {
    /// Hydrophone audio: 5-minute files; `jitter` = unaligned starts with non-zero milliseconds.
    Audio { jitter: bool },
    /// Daily `.txt` log files (non-acoustic instruments).
    DailyLog,
}

#[derive(Debug, Clone)]
pub(crate) struct Device {
    pub code: &'static str,
    pub id: u32,
    pub name: &'static str,
    pub category: &'static str,
    /// Audio sample rate (hydrophones) in Hz.
    pub sample_rate: Option<u32>,
    /// Scalar sample period in seconds (instruments with scalar data).
    pub sample_period_s: f64,
    pub layout: FileLayout,
    /// Per-device seed for the synthetic content.
    pub seed: u64,
    /// Properties with scalar data (empty for hydrophones).
    pub properties: &'static [&'static str],
}

#[derive(Debug, Clone)]
pub(crate) struct Deployment {
    pub device: &'static str,
    pub location: &'static str,
    pub begin: Timestamp,
    /// `None` = ongoing.
    pub end: Option<Timestamp>,
    pub depth: f64,
    pub heading: Option<f64>,
}

/// One data product option as listed by `dataProducts`.
#[derive(Debug, Clone)]
pub(crate) struct ProductOption {
    pub option: &'static str,
    pub allowable_values: Vec<&'static str>,
    pub default_value: &'static str,
    /// `(lower, upper, only_integers, unit)`.
    pub range: Option<(&'static str, &'static str, bool, Option<&'static str>)>,
    /// A real `suboptions` entry (e.g. `dpo_minMaxAvg` under `dpo_resample`): accepted when
    /// given, never defaulted (the real defaults of suboptions are internal ids such as "46").
    pub suboption: bool,
}

impl ProductOption {
    /// The options of a real `dataProducts` record (its `dataProductOptions`, suboptions
    /// flattened after their parent).
    fn from_real(record: &'static serde_json::Value) -> Vec<ProductOption> {
        fn one(o: &'static serde_json::Value, suboption: bool, out: &mut Vec<ProductOption>) {
            let s = |v: &'static serde_json::Value| v.as_str();
            let Some(option) = o.get("option").and_then(s) else {
                return;
            };
            let range = o.get("allowableRange").and_then(|r| {
                Some((
                    r.get("lowerBound").and_then(s)?,
                    r.get("upperBound").and_then(s)?,
                    r.get("onlyIntegers")
                        .and_then(|b| b.as_bool())
                        .unwrap_or(false),
                    r.get("unitOfMeasure").and_then(s),
                ))
            });
            out.push(ProductOption {
                option,
                allowable_values: o
                    .get("allowableValues")
                    .and_then(|v| v.as_array())
                    .map(|a| a.iter().filter_map(s).collect())
                    .unwrap_or_default(),
                default_value: o.get("defaultValue").and_then(s).unwrap_or(""),
                range,
                suboption,
            });
            for sub in o
                .get("suboptions")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                if !out
                    .iter()
                    .any(|x| Some(x.option) == sub.get("option").and_then(s))
                {
                    one(sub, true, out);
                }
            }
        }
        let mut out = Vec::new();
        for o in record
            .get("dataProductOptions")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            one(o, false, &mut out);
        }
        out
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Product {
    pub code: &'static str,
    pub name: &'static str,
    pub extensions: &'static [&'static str],
    pub categories: &'static [&'static str],
    /// Already in the archive: `request` answers with `fileSize` instead of estimates.
    pub archived: bool,
}

/// The whole catalog.
#[derive(Debug, Clone)]
pub(crate) struct Catalog {
    pub locations: Vec<Location>,
    pub categories: Vec<Category>,
    pub properties: Vec<Property>,
    pub devices: Vec<Device>,
    pub deployments: Vec<Deployment>,
    pub products: Vec<Product>,
}

/// Before this instant ONC archived hydrophone audio as WAV only.
pub(crate) fn flac_since() -> Timestamp {
    lit("2020-08-10T00:00:00Z")
}

/// Until this instant WAV copies were still archived alongside FLAC.
pub(crate) fn wav_until() -> Timestamp {
    lit("2021-04-09T00:00:00Z")
}

impl Catalog {
    /// The built-in catalog (always the same).
    pub(crate) fn builtin() -> Catalog {
        super::catalog_data::builtin()
    }

    pub(crate) fn device(&self, code: &str) -> Option<&Device> {
        self.devices.iter().find(|d| d.code == code)
    }

    pub(crate) fn location(&self, code: &str) -> Option<&Location> {
        self.locations.iter().find(|l| l.code == code)
    }

    pub(crate) fn category(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }

    pub(crate) fn property(&self, code: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.code == code)
    }

    pub(crate) fn product(&self, code: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.code == code)
    }

    /// Deployments of `device`, in time order.
    /// The options a request for `product` as `extension` is checked against: the real
    /// record's (options differ per extension, e.g. HSD png adds colour limits and defaults
    /// `dpo_spectrogramConcatenation` to None). Every modelled pair has a real record (a test
    /// below holds it), so there is no modelled list to fall back on.
    pub(crate) fn options_for(product: &Product, extension: &str) -> Vec<ProductOption> {
        super::snapshot::real_product(product.code, extension)
            .map(ProductOption::from_real)
            .unwrap_or_default()
    }

    pub(crate) fn deployments_of(&self, device: &str) -> Vec<&Deployment> {
        self.deployments
            .iter()
            .filter(|d| d.device == device)
            .collect()
    }

    /// `code` and every location below it in the tree.
    pub(crate) fn subtree(&self, code: &str) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut stack = vec![code];
        while let Some(c) = stack.pop() {
            if let Some(l) = self.location(c) {
                out.push(l.code);
                for child in self.locations.iter().filter(|x| x.parent == Some(c)) {
                    stack.push(child.code);
                }
            }
        }
        out
    }

    /// Whether a deployment overlaps `[from, to)` (open ends allowed).
    pub(crate) fn overlaps(d: &Deployment, from: Option<Timestamp>, to: Option<Timestamp>) -> bool {
        let starts_before_to = to.is_none_or(|t| d.begin < t);
        let ends_after_from = match (d.end, from) {
            (Some(e), Some(f)) => e > f,
            _ => true,
        };
        starts_before_to && ends_after_from
    }

    /// Products (with one extension) offered by a device category.
    pub(crate) fn offers(&self, category: &str, product: &str, extension: &str) -> bool {
        self.product(product)
            .is_some_and(|p| p.categories.contains(&category) && p.extensions.contains(&extension))
    }

    /// The DOI-like identifier of a deployment (deterministic).
    pub(crate) fn doi(d: &Deployment) -> String {
        let h = super::rng::mix(
            d.begin.as_second() as u64 ^ d.device.len() as u64 ^ super::rng::str_hash(d.device),
        );
        format!(
            "10.80242/{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            h >> 32,
            (h >> 16) & 0xffff,
            h & 0xffff,
            (h >> 48) & 0xffff,
            super::rng::mix(h) & 0xffff_ffff_ffff
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_modelled_product_is_a_real_one_with_its_real_options() {
        let c = Catalog::builtin();
        for p in &c.products {
            for ext in p.extensions {
                assert!(
                    crate::sim::snapshot::real_product(p.code, ext).is_some(),
                    "{} {ext} is not in the real catalog",
                    p.code
                );
            }
        }
        let names = |code: &str, ext: &str| -> Vec<&str> {
            let p = c.product(code).expect("modelled");
            Catalog::options_for(p, ext)
                .iter()
                .map(|o| o.option)
                .collect()
        };
        assert!(names("AD", "mp3").contains(&"dpo_audioDownsample"));
        assert!(names("HSD", "png").contains(&"dpo_spectrogramColourPalette"));
        assert!(!names("HSD", "png").contains(&"dpo_spectralDataDownsample"));
        assert!(names("TSSD", "csv").contains(&"dpo_resample"));
    }

    #[test]
    fn catalog_is_consistent() {
        let c = Catalog::builtin();
        for d in &c.deployments {
            assert!(c.device(d.device).is_some(), "{}", d.device);
            assert!(c.location(d.location).is_some(), "{}", d.location);
            assert!(d.begin > lit("2000-01-01T00:00:00Z"), "literal parsed");
            if let Some(e) = d.end {
                assert!(e > d.begin);
            }
        }
        for dev in &c.devices {
            assert!(c.category(dev.category).is_some());
            assert!(!c.deployments_of(dev.code).is_empty());
        }
        for l in &c.locations {
            if let Some(p) = l.parent {
                assert!(c.location(p).is_some());
            }
        }
        let hyd = c
            .devices
            .iter()
            .filter(|d| d.category == "HYDROPHONE")
            .count();
        assert!(hyd >= 3);
        assert_eq!(
            c.device("ICLISTENHF6324").and_then(|d| d.sample_rate),
            Some(64_000)
        );
        assert!(c.devices.iter().any(|d| d.sample_rate == Some(128_000)));
        assert_eq!(c.subtree("KEMFH"), vec!["KEMFH", "KEMFH.H2", "KEMFH.H1"]);
    }
}
