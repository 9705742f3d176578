//! Validated rows → download tasks as plain data: every row marked for download is split by
//! `splitDateRange` into typed data-product orders, each with the engine's key (the same order
//! always gets the same key, so a re-run recognises finished work and rows removed from the
//! workbook; `--dry-run` prints exactly the key the ledger stores and `status` shows) and a
//! folder below `downloadFolder` (`<source>/<PRODUCT>_<ext>[_<options hash>]`).
//!
//! Must not know: how tasks are scheduled, retried or recorded (the engine's business).

use std::collections::HashSet;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::model::SheetKind;
use super::options::format_options;
use super::split::split_range;
use super::validate::ValidPlan;
use crate::api::{format_onc, DataProductOrder, DataSource};
use crate::engine::{order_key, TaskKey};

/// One data-product order to run and download.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedTask {
    /// The engine's task key (printed by `--dry-run`, stored in the ledger, shown by `status`).
    pub key: TaskKey,
    /// Where the row came from (the first row, when two rows ask for the same order).
    pub sheet: SheetKind,
    /// 1-based Excel row of that row.
    pub excel_row: u32,
    /// What to request from `dataProductDelivery`.
    pub order: DataProductOrder,
    /// Folder relative to `downloadFolder`.
    pub folder: PathBuf,
}

impl PlannedTask {
    /// One line for `--dry-run` and logs: key, source, product, range, options.
    pub fn describe(&self) -> String {
        let o = &self.order;
        let opts = format_options(&o.options);
        format!(
            "{}  {} row {}  {} {}.{} [{}, {}){}{}  → {}",
            self.key,
            self.sheet,
            self.excel_row,
            source_label(&o.source),
            o.product,
            o.extension,
            format_onc(o.date_from),
            format_onc(o.date_to),
            if opts.is_empty() { "" } else { "  " },
            opts,
            self.folder.display()
        )
    }
}

/// `deviceCode=X` or `locationCode=L deviceCategoryCode=C` (+ `propertyCode=P`).
pub fn source_label(s: &DataSource) -> String {
    match s {
        DataSource::Device { device, property } => match property {
            Some(p) => format!("deviceCode={device} propertyCode={p}"),
            None => format!("deviceCode={device}"),
        },
        DataSource::Location {
            location,
            device_category,
            property,
        } => {
            let mut t = format!("locationCode={location}");
            if let Some(c) = device_category {
                t.push_str(&format!(" deviceCategoryCode={c}"));
            }
            if let Some(p) = property {
                t.push_str(&format!(" propertyCode={p}"));
            }
            t
        }
    }
}

/// The tasks of a validated plan, in workbook order; rows not marked for download give none,
/// and an order asked for twice is planned once.
pub fn plan_tasks(plan: &ValidPlan) -> Vec<PlannedTask> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for row in plan.rows.iter().filter(|r| r.download) {
        let folder = folder_for(
            &row.source,
            row.product.as_str(),
            &row.extension,
            &row.options,
        );
        for (from, to) in split_range(
            row.begin,
            row.end,
            plan.config.split,
            plan.config.day_of_week,
        ) {
            let mut order = DataProductOrder::new(
                row.product.clone(),
                row.extension.clone(),
                row.source.clone(),
                from,
                to,
            );
            order.options = row.options.clone();
            let key = order_key(&order);
            if !seen.insert(key.clone()) {
                continue;
            }
            out.push(PlannedTask {
                key,
                sheet: row.sheet,
                excel_row: row.excel_row,
                order,
                folder: folder.clone(),
            });
        }
    }
    out
}

fn folder_for(
    source: &DataSource,
    product: &str,
    ext: &str,
    options: &[(String, String)],
) -> PathBuf {
    let src = match source {
        DataSource::Device { device, property } => match property {
            Some(p) => format!("{device}_{p}"),
            None => device.to_string(),
        },
        DataSource::Location {
            location,
            device_category,
            property,
        } => {
            let mut t = location.to_string();
            for part in [
                device_category.as_ref().map(|c| c.as_str()),
                property.as_ref().map(|p| p.as_str()),
            ]
            .into_iter()
            .flatten()
            {
                t.push('_');
                t.push_str(part);
            }
            t
        }
    };
    let mut leaf = format!("{product}_{ext}");
    if !options.is_empty() {
        let mut opts = options.to_vec();
        opts.sort();
        let digest = Sha256::digest(format_options(&opts).as_bytes());
        leaf.push('_');
        leaf.push_str(&hex::encode(&digest[..3]));
    }
    PathBuf::from(safe_component(&src)).join(safe_component(&leaf))
}

/// Keeps `[A-Za-z0-9._-]`; anything else becomes `_` (no separators, no `..`).
fn safe_component(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if t.is_empty() || t.chars().all(|c| c == '.') {
        "_".to_string()
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::{Config, SplitRange};
    use crate::plan::validate::RequestRow;
    use jiff::Timestamp;

    fn row(download: bool, ext: &str, opts: &[(&str, &str)]) -> RequestRow {
        RequestRow {
            sheet: SheetKind::ByDevice,
            excel_row: 2,
            source: DataSource::Device {
                device: "ICLISTENHF6324".into(),
                property: None,
            },
            product: "AD".into(),
            extension: ext.into(),
            options: opts
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            begin: "2024-01-30T12:00:00Z".parse::<Timestamp>().unwrap(),
            end: "2024-03-02T00:00:00Z".parse::<Timestamp>().unwrap(),
            download,
        }
    }

    #[test]
    fn rows_split_into_keyed_tasks_and_skip_unmarked_rows() {
        let plan = ValidPlan {
            config: Config {
                split: SplitRange::Month,
                ..Config::default()
            },
            rows: vec![
                row(true, "flac", &[("dpo_audioDownsample", "-1")]),
                row(false, "wav", &[]),
                row(true, "flac", &[("dpo_audioDownsample", "-1")]),
            ],
            warnings: vec![],
        };
        let tasks = plan_tasks(&plan);
        assert_eq!(tasks.len(), 3, "3 months, the duplicate row planned once");
        assert_eq!(tasks[0].order.date_to, tasks[1].order.date_from);
        assert_eq!(tasks[2].order.date_to, plan.rows[0].end);
        let keys: HashSet<_> = tasks.iter().map(|t| t.key.clone()).collect();
        assert_eq!(keys.len(), 3);
        assert_eq!(tasks[0].key.0.len(), 32, "the ledger's 16-byte key");
        assert!(tasks[0].folder.starts_with("ICLISTENHF6324"));
        assert!(tasks[0].folder.to_string_lossy().contains("AD_flac_"));
        assert!(tasks[0]
            .describe()
            .contains("deviceCode=ICLISTENHF6324 AD.flac"));
    }

    #[test]
    fn keys_ignore_option_order_but_not_values() {
        let a = row(true, "flac", &[("dpo_a", "1"), ("dpo_b", "2")]);
        let b = row(true, "flac", &[("dpo_b", "2"), ("dpo_a", "1")]);
        let c = row(true, "flac", &[("dpo_b", "3"), ("dpo_a", "1")]);
        let k = |r: &RequestRow| {
            let mut o = DataProductOrder::new(
                r.product.clone(),
                r.extension.clone(),
                r.source.clone(),
                r.begin,
                r.end,
            );
            o.options = r.options.clone();
            order_key(&o)
        };
        assert_eq!(k(&a), k(&b));
        assert_ne!(k(&a), k(&c));
        assert_eq!(safe_component("../x y"), ".._x_y");
        assert_eq!(safe_component(".."), "_");
    }
}
