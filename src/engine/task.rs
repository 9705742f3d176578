//! Tasks: a data-product order (product code, extension, data source, `[dateFrom, dateTo)`,
//! `dpo_*` options) or an archive file (name, expected size), their lifecycle states, and the
//! canonical key — a SHA-256 of the normalised parameters — that makes planning idempotent.
//!
//! Must not know: the ledger's SQL, HTTP, files on disk.

// TODO(issue 15 item 6): document the public items below, then delete this allow.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::EngineError;
use crate::api::{format_onc, DataProductOrder, DataSource};

/// One unit of work. Serialised (JSON) into the ledger so `resume` can rebuild it from `<out>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskSpec {
    /// A data product to order and download (request → run → download every file).
    Order(OrderSpec),
    /// One archived file to download by name.
    Archive(ArchiveSpec),
}

/// A data-product order. Exactly one data source: `device` (+ `property`), or `location` with
/// `device_category` and/or `property`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderSpec {
    /// `dataProductCode`, e.g. `TSSD`, `HSD`.
    pub product: String,
    /// `extension`, exact and case-sensitive, e.g. `csv`, `mat`.
    pub extension: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// Inclusive start.
    pub date_from: Timestamp,
    /// Exclusive end.
    pub date_to: Timestamp,
    /// `dpo_*` options (sorted by name: order does not change the key).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// Also download the run's `*_META.xml` file.
    #[serde(default)]
    pub include_meta: bool,
    /// Sub-folder of the output folder for this task's files (relative, no `..`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
}

/// An archived file (`archivefile/download?filename=`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveSpec {
    /// The archive file name, e.g. `ICLISTENHF6324_20240401T000000.000Z.flac`.
    pub filename: String,
    /// Expected size in bytes (from the listing), checked after download when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Sub-folder of the output folder (relative, no `..`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
}

/// The canonical key of a task: hex SHA-256 (first 16 bytes) of its normalised parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskKey(pub String);

impl fmt::Display for TaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The ledger's row id of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub i64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Where a task is. `planned → requested → running → downloading → done`, or `failed` (with a
/// reason, attempts and maybe a next retry), `cancelled`, `dropped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    Planned,
    Requested,
    Running,
    Downloading,
    Done,
    Failed,
    Cancelled,
    Dropped,
}

impl TaskState {
    pub const ALL: [TaskState; 8] = [
        TaskState::Planned,
        TaskState::Requested,
        TaskState::Running,
        TaskState::Downloading,
        TaskState::Done,
        TaskState::Failed,
        TaskState::Cancelled,
        TaskState::Dropped,
    ];

    /// The text stored in the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Planned => "planned",
            TaskState::Requested => "requested",
            TaskState::Running => "running",
            TaskState::Downloading => "downloading",
            TaskState::Done => "done",
            TaskState::Failed => "failed",
            TaskState::Cancelled => "cancelled",
            TaskState::Dropped => "dropped",
        }
    }

    /// Parses the ledger text.
    pub fn parse(s: &str) -> Option<TaskState> {
        TaskState::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Done, cancelled or dropped: nothing more will happen.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskState::Done | TaskState::Cancelled | TaskState::Dropped
        )
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The two kinds of task (a ledger column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    Order,
    Archive,
}

impl TaskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Order => "order",
            TaskKind::Archive => "archive",
        }
    }
}

fn norm(s: &str) -> String {
    s.trim().to_string()
}

fn opt(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// Checks that a sub-folder is relative and stays inside the output folder.
pub fn check_folder(folder: &str) -> Result<(), EngineError> {
    let p = Path::new(folder);
    let ok = !folder.trim().is_empty()
        && p.components().all(|c| matches!(c, Component::Normal(_)))
        && !folder.contains('\0');
    if ok {
        Ok(())
    } else {
        Err(EngineError::invalid(
            "folder",
            format!("\"{folder}\" must be a relative path without '..' that stays inside the output folder"),
        ))
    }
}

impl OrderSpec {
    /// The API order (validated the way ONC would validate it).
    pub fn to_order(&self) -> Result<DataProductOrder, EngineError> {
        let source =
            match (opt(&self.device), opt(&self.location)) {
                (Some(device), None) => DataSource::Device {
                    device: device.into(),
                    property: opt(&self.property).map(Into::into),
                },
                (None, Some(location)) => DataSource::Location {
                    location: location.into(),
                    device_category: opt(&self.device_category).map(Into::into),
                    property: opt(&self.property).map(Into::into),
                },
                (Some(_), Some(_)) => {
                    return Err(EngineError::invalid(
                        "device/location",
                        "give either a device or a location, not both",
                    ))
                }
                (None, None) => return Err(EngineError::invalid(
                    "device/location",
                    "a data source is needed: device, or location with device_category/property",
                )),
            };
        let mut order = DataProductOrder::new(
            norm(&self.product),
            norm(&self.extension),
            source,
            self.date_from,
            self.date_to,
        );
        for (k, v) in &self.options {
            order = order.with_option(norm(k), norm(v));
        }
        order
            .to_params()
            .map_err(|e| EngineError::invalid("order", e.to_string()))?;
        Ok(order)
    }
}

impl TaskSpec {
    /// Which kind of task this is.
    pub fn kind(&self) -> TaskKind {
        match self {
            TaskSpec::Order(_) => TaskKind::Order,
            TaskSpec::Archive(_) => TaskKind::Archive,
        }
    }

    /// Checks everything that can be checked offline.
    pub fn validate(&self) -> Result<(), EngineError> {
        let folder = match self {
            TaskSpec::Order(o) => {
                o.to_order()?;
                &o.folder
            }
            TaskSpec::Archive(a) => {
                super::storage::check_file_name(&a.filename)
                    .map_err(|e| EngineError::invalid("filename", e.to_string()))?;
                &a.folder
            }
        };
        match folder {
            Some(f) => check_folder(f),
            None => Ok(()),
        }
    }

    /// The sub-folder for this task's files, if any.
    pub fn folder(&self) -> Option<&str> {
        match self {
            TaskSpec::Order(o) => o.folder.as_deref(),
            TaskSpec::Archive(a) => a.folder.as_deref(),
        }
    }

    /// The canonical key: identical work gives an identical key whatever the spelling
    /// (whitespace, option order, time-zone notation). The destination folder and the meta
    /// flag are not part of it: they do not change what the server is asked for.
    pub fn key(&self) -> TaskKey {
        let mut parts: Vec<String> = Vec::new();
        match self {
            TaskSpec::Order(o) => {
                parts.push("order".into());
                parts.push(format!("dataProductCode={}", norm(&o.product)));
                parts.push(format!("extension={}", norm(&o.extension)));
                for (k, v) in [
                    ("deviceCode", &o.device),
                    ("locationCode", &o.location),
                    ("deviceCategoryCode", &o.device_category),
                    ("propertyCode", &o.property),
                ] {
                    if let Some(v) = opt(v) {
                        parts.push(format!("{k}={v}"));
                    }
                }
                parts.push(format!("dateFrom={}", format_onc(o.date_from)));
                parts.push(format!("dateTo={}", format_onc(o.date_to)));
                let opts: BTreeMap<String, String> =
                    o.options.iter().map(|(k, v)| (norm(k), norm(v))).collect();
                for (k, v) in opts {
                    parts.push(format!("{k}={v}"));
                }
            }
            TaskSpec::Archive(a) => {
                parts.push("archive".into());
                parts.push(format!("filename={}", norm(&a.filename)));
            }
        }
        let digest = Sha256::digest(parts.join("\u{1f}").as_bytes());
        TaskKey(hex::encode(&digest[..16]))
    }

    /// A short human label, e.g. `TSSD csv CTD-1 2024-04-01T00:00:00.000Z` or the file name.
    pub fn label(&self) -> String {
        match self {
            TaskSpec::Order(o) => {
                let src = opt(&o.device)
                    .or_else(|| opt(&o.location))
                    .unwrap_or_default();
                format!(
                    "{} {} {} {}",
                    o.product.trim(),
                    o.extension.trim(),
                    src,
                    format_onc(o.date_from)
                )
            }
            TaskSpec::Archive(a) => a.filename.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(json: &str) -> TaskSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn key_ignores_spelling_but_not_substance() {
        let a = order(
            r#"{"kind":"order","product":"TSSD","extension":"csv","device":"CTD1",
            "date_from":"2024-04-01T00:00:00Z","date_to":"2024-04-01T01:00:00Z",
            "options":{"dpo_qualityControl":"1","dpo_resample":"none"}}"#,
        );
        let b = order(
            r#"{"kind":"order","product":" TSSD","extension":"csv","device":"CTD1 ",
            "date_from":"2024-04-01T00:00:00.000Z","date_to":"2024-04-01T02:00:00+01:00",
            "options":{"dpo_resample":"none","dpo_qualityControl":"1"},"folder":"x"}"#,
        );
        assert_eq!(a.key(), b.key());
        let TaskSpec::Order(mut o) = a.clone() else {
            unreachable!()
        };
        o.options.insert("dpo_resample".into(), "average".into());
        assert_ne!(a.key(), TaskSpec::Order(o).key());
        let arch = TaskSpec::Archive(ArchiveSpec {
            filename: "X_20240401T000000.000Z.flac".into(),
            size: Some(3),
            folder: None,
        });
        assert_ne!(arch.key(), a.key());
        assert_eq!(arch.key().0.len(), 32);
    }

    #[test]
    fn validation_names_the_bad_field() {
        let bad = order(
            r#"{"kind":"order","product":"TSSD","extension":"csv",
            "date_from":"2024-04-01T00:00:00Z","date_to":"2024-04-01T01:00:00Z"}"#,
        );
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.contains("device/location"), "{e}");
        let empty = order(
            r#"{"kind":"order","product":"TSSD","extension":"csv","device":"D",
            "date_from":"2024-04-01T00:00:00Z","date_to":"2024-04-01T00:00:00Z"}"#,
        );
        assert!(empty.validate().is_err());
        let escape = TaskSpec::Archive(ArchiveSpec {
            filename: "a.flac".into(),
            size: None,
            folder: Some("../up".into()),
        });
        assert!(escape
            .validate()
            .unwrap_err()
            .to_string()
            .contains("folder"));
        let slash = TaskSpec::Archive(ArchiveSpec {
            filename: "../a.flac".into(),
            size: None,
            folder: None,
        });
        assert!(slash.validate().is_err());
        assert!(
            serde_json::from_str::<TaskSpec>(r#"{"kind":"archive","filename":"a","sise":3}"#)
                .is_err()
        );
    }

    #[test]
    fn states_round_trip() {
        for s in TaskState::ALL {
            assert_eq!(TaskState::parse(s.as_str()), Some(s));
        }
        assert!(TaskState::Done.is_final() && !TaskState::Failed.is_final());
    }
}
