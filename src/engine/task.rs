//! Tasks: a data-product order (product code, extension, data source, `[dateFrom, dateTo)`,
//! `dpo_*` options) or an archive file (name, expected size), their lifecycle states, and the
//! canonical key — a SHA-256 of the normalised parameters — that makes planning idempotent.
//!
//! Must not know: the ledger's SQL, HTTP, files on disk.

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
    /// The files of existing data-product runs.
    Run(RunSpec),
    /// An OOI asynchronous NetCDF request (request → wait for `status.txt` → THREDDS files).
    Ooi(super::ooi_spec::OoiSpec),
    /// OOI raw-data archive files of a hydrophone over an interval (listings → miniSEED files).
    OoiRaw(super::ooi_raw::OoiRawSpec),
}

/// A data-product order: the typed API order itself (validated when built or read), plus
/// where its files go. Stored in the ledger (and read from `run-tasks` files) in the flat form
/// of [`OrderWire`] — `product`, `extension`, `device` or `location` (+ `device_category` /
/// `property`), `date_from`, `date_to`, `options`, `include_meta`, `folder` — so ledgers
/// written by earlier versions stay readable and keep their keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "OrderWire", into = "OrderWire")]
pub struct OrderSpec {
    /// What the server is asked for.
    pub order: DataProductOrder,
    /// Also download the run's `*_META.xml` file.
    pub include_meta: bool,
    /// Sub-folder of the output folder for this task's files (relative, no `..`).
    pub folder: Option<String>,
}

/// The stored form of an [`OrderSpec`]. Exactly one data source: `device` (+ `property`), or
/// `location` with `device_category` and/or `property`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderWire {
    product: String,
    extension: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    device_category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    property: Option<String>,
    date_from: Timestamp,
    date_to: Timestamp,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    options: BTreeMap<String, String>,
    #[serde(default)]
    include_meta: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    folder: Option<String>,
}

/// Downloads the files of data-product runs that already exist (`order --run-id`): no request,
/// no `run` call; each file is polled until ready, then stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// The `dpRunId`s.
    pub run_ids: Vec<u64>,
    /// Also download each run's `*_META.xml` file.
    #[serde(default)]
    pub include_meta: bool,
    /// Sub-folder of the output folder (relative, no `..`).
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
    /// In the ledger, nothing asked of the server yet.
    Planned,
    /// The server job was requested (`dpRequestId` known).
    Requested,
    /// The server job is running (`dpRunId`s known).
    Running,
    /// The job is complete; its files are being fetched.
    Downloading,
    /// Every file stored and verified.
    Done,
    /// The last attempt failed (see `reason`; maybe retried).
    Failed,
    /// Cancelled by the user (`onc-hydro cancel`).
    Cancelled,
    /// Dropped from the plan (no longer wanted).
    Dropped,
}

impl TaskState {
    /// Every state, in the order of the life cycle.
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
    /// A server-side job (ONC data product, OOI asynchronous request) and its files.
    Order,
    /// One archive file fetched as it is.
    Archive,
}

impl TaskKind {
    /// The text stored in the ledger.
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

impl TryFrom<OrderWire> for OrderSpec {
    type Error = EngineError;

    fn try_from(w: OrderWire) -> Result<OrderSpec, EngineError> {
        let source =
            match (opt(&w.device), opt(&w.location)) {
                (Some(device), None) => {
                    if opt(&w.device_category).is_some() {
                        return Err(EngineError::invalid(
                            "device_category",
                            "goes with a location, not a device",
                        ));
                    }
                    DataSource::Device {
                        device: device.into(),
                        property: opt(&w.property).map(Into::into),
                    }
                }
                (None, Some(location)) => DataSource::Location {
                    location: location.into(),
                    device_category: opt(&w.device_category).map(Into::into),
                    property: opt(&w.property).map(Into::into),
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
            norm(&w.product),
            norm(&w.extension),
            source,
            w.date_from,
            w.date_to,
        );
        for (k, v) in &w.options {
            order = order.with_option(norm(k), norm(v));
        }
        let spec = OrderSpec {
            order,
            include_meta: w.include_meta,
            folder: w.folder,
        };
        spec.check()?;
        Ok(spec)
    }
}

impl From<OrderSpec> for OrderWire {
    fn from(s: OrderSpec) -> OrderWire {
        let o = s.order;
        let (device, location, device_category, property) = match o.source {
            DataSource::Device { device, property } => (
                Some(device.as_str().to_string()),
                None,
                None,
                property.map(|p| p.as_str().to_string()),
            ),
            DataSource::Location {
                location,
                device_category,
                property,
            } => (
                None,
                Some(location.as_str().to_string()),
                device_category.map(|c| c.as_str().to_string()),
                property.map(|p| p.as_str().to_string()),
            ),
        };
        OrderWire {
            product: o.product.as_str().to_string(),
            extension: o.extension,
            device,
            location,
            device_category,
            property,
            date_from: o.date_from,
            date_to: o.date_to,
            options: o.options.into_iter().collect(),
            include_meta: s.include_meta,
            folder: s.folder,
        }
    }
}

impl OrderSpec {
    /// An order task with its files in the output folder itself and no metadata file.
    pub fn new(order: DataProductOrder) -> OrderSpec {
        OrderSpec {
            order,
            include_meta: false,
            folder: None,
        }
    }

    /// Also download the run's `*_META.xml` file.
    pub fn with_meta(mut self, include_meta: bool) -> OrderSpec {
        self.include_meta = include_meta;
        self
    }

    /// Files go to this sub-folder of the output folder.
    pub fn in_folder(mut self, folder: impl Into<String>) -> OrderSpec {
        self.folder = Some(folder.into());
        self
    }

    /// Checks the order the way ONC would (names the bad field).
    fn check(&self) -> Result<(), EngineError> {
        self.order
            .to_params()
            .map(drop)
            .map_err(|e| EngineError::invalid("order", e.to_string()))
    }

    /// The canonical key of this order (see [`TaskSpec::key`]).
    pub fn key(&self) -> TaskKey {
        order_key(&self.order)
    }
}

/// The canonical key of a data-product order: the one key printed by `download --dry-run`
/// and the hydrophone commands' `--dry-run --json`, stored in the ledger and shown by `status`.
/// Identical orders give identical keys whatever the spelling (surrounding whitespace, option
/// order, time-zone notation).
pub fn order_key(o: &DataProductOrder) -> TaskKey {
    let mut parts: Vec<String> = vec![
        "order".into(),
        format!("dataProductCode={}", norm(o.product.as_str())),
        format!("extension={}", norm(&o.extension)),
    ];
    let (device, location, category, property) = match &o.source {
        DataSource::Device { device, property } => {
            (Some(device.as_str()), None, None, property.as_ref())
        }
        DataSource::Location {
            location,
            device_category,
            property,
        } => (
            None,
            Some(location.as_str()),
            device_category.as_ref().map(|c| c.as_str()),
            property.as_ref(),
        ),
    };
    for (k, v) in [
        ("deviceCode", device),
        ("locationCode", location),
        ("deviceCategoryCode", category),
        ("propertyCode", property.map(|p| p.as_str())),
    ] {
        if let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) {
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
    digest_key(&parts)
}

fn digest_key(parts: &[String]) -> TaskKey {
    let digest = Sha256::digest(parts.join("\u{1f}").as_bytes());
    TaskKey(hex::encode(&digest[..16]))
}

impl TaskSpec {
    /// Which kind of task this is (a run download is driven like an order: it holds a run slot).
    pub fn kind(&self) -> TaskKind {
        match self {
            TaskSpec::Order(_) | TaskSpec::Run(_) | TaskSpec::Ooi(_) => TaskKind::Order,
            TaskSpec::Archive(_) | TaskSpec::OoiRaw(_) => TaskKind::Archive,
        }
    }

    /// Checks everything that can be checked offline.
    pub fn validate(&self) -> Result<(), EngineError> {
        match self {
            TaskSpec::Order(o) => o.check()?,
            TaskSpec::Archive(a) => super::storage::check_file_name(&a.filename)
                .map_err(|e| EngineError::invalid("filename", e.to_string()))?,
            TaskSpec::Run(r) => {
                if r.run_ids.is_empty() {
                    return Err(EngineError::invalid("run_ids", "give at least one dpRunId"));
                }
            }
            TaskSpec::Ooi(o) => o.check()?,
            TaskSpec::OoiRaw(o) => o.check()?,
        }
        match self.folder() {
            Some(f) => check_folder(f),
            None => Ok(()),
        }
    }

    /// The sub-folder for this task's files, if any.
    pub fn folder(&self) -> Option<&str> {
        match self {
            TaskSpec::Order(o) => o.folder.as_deref(),
            TaskSpec::Archive(a) => a.folder.as_deref(),
            TaskSpec::Run(r) => r.folder.as_deref(),
            TaskSpec::Ooi(o) => o.folder.as_deref(),
            TaskSpec::OoiRaw(o) => o.folder.as_deref(),
        }
    }

    /// The canonical key: identical work gives an identical key whatever the spelling
    /// (whitespace, option order, time-zone notation). The destination folder and the meta
    /// flag are not part of it: they do not change what the server is asked for.
    pub fn key(&self) -> TaskKey {
        match self {
            TaskSpec::Order(o) => o.key(),
            TaskSpec::Archive(a) => {
                digest_key(&["archive".into(), format!("filename={}", norm(&a.filename))])
            }
            TaskSpec::Run(r) => {
                let mut parts = vec!["run".to_string()];
                parts.extend(r.run_ids.iter().map(|id| format!("dpRunId={id}")));
                digest_key(&parts)
            }
            TaskSpec::Ooi(o) => digest_key(&o.key_parts()),
            TaskSpec::OoiRaw(o) => digest_key(&o.key_parts()),
        }
    }

    /// A short human label, e.g. `TSSD csv CTD-1 2024-04-01T00:00:00.000Z` or the file name.
    pub fn label(&self) -> String {
        match self {
            TaskSpec::Order(o) => {
                let o = &o.order;
                let src = match &o.source {
                    DataSource::Device { device, .. } => device.as_str(),
                    DataSource::Location { location, .. } => location.as_str(),
                };
                format!(
                    "{} {} {} {}",
                    o.product.as_str().trim(),
                    o.extension.trim(),
                    src.trim(),
                    format_onc(o.date_from)
                )
            }
            TaskSpec::Archive(a) => a.filename.clone(),
            TaskSpec::Run(r) => format!(
                "run {}",
                r.run_ids
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            TaskSpec::Ooi(o) => o.label(),
            TaskSpec::OoiRaw(o) => o.label(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Computed independently (Python's hashlib over the same canonical text) before the order
    /// became typed.
    const KEY_BEFORE_TYPED_ORDERS: &str = "a591edff3bf2aae97bd4c25e1115aa4b";

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
        let TaskSpec::Order(o) = a.clone() else {
            unreachable!()
        };
        let changed = OrderSpec::new(o.order.clone().with_option("dpo_resample", "average"));
        assert_ne!(a.key(), TaskSpec::Order(changed).key());
        // The key of this order as stored by earlier versions (ledgers stay recognised).
        assert_eq!(a.key().0, KEY_BEFORE_TYPED_ORDERS);
        let back: TaskSpec = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
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
        // A typed order cannot hold a bad order: reading one fails, naming the field.
        let bad = serde_json::from_str::<TaskSpec>(
            r#"{"kind":"order","product":"TSSD","extension":"csv",
            "date_from":"2024-04-01T00:00:00Z","date_to":"2024-04-01T01:00:00Z"}"#,
        );
        let e = bad.unwrap_err().to_string();
        assert!(e.contains("device/location"), "{e}");
        let empty = serde_json::from_str::<TaskSpec>(
            r#"{"kind":"order","product":"TSSD","extension":"csv","device":"D",
            "date_from":"2024-04-01T00:00:00Z","date_to":"2024-04-01T00:00:00Z"}"#,
        );
        assert!(empty.unwrap_err().to_string().contains("dateFrom"));
        let run = TaskSpec::Run(RunSpec {
            run_ids: vec![],
            include_meta: false,
            folder: None,
        });
        assert!(run.validate().is_err());
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
