//! The real Oceans 3.0 discovery catalog, shipped in the crate: the unfiltered `locations`
//! (1,899), `devices` (2,903), `deviceCategories` (127), `properties` (215) and `dataProducts`
//! (294 product/extension pairs with their options) responses, gzipped as they were saved
//! (`snapshot/index.json` gives each one's provenance). 230 kB in the binary; each table is
//! inflated on demand (the largest, `devices`, in a few milliseconds).
//!
//! Must not know: HTTP, the simulated content.

use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

use flate2::read::GzDecoder;

/// One table of the real discovery snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotTable {
    /// `GET /api/locations` (no filter).
    Locations,
    /// `GET /api/devices` (no filter).
    Devices,
    /// `GET /api/deviceCategories` (no filter).
    DeviceCategories,
    /// `GET /api/properties` (no filter).
    Properties,
    /// `GET /api/dataProducts` (no filter).
    DataProducts,
}

impl SnapshotTable {
    /// Every table.
    pub const ALL: [SnapshotTable; 5] = [
        SnapshotTable::Locations,
        SnapshotTable::Devices,
        SnapshotTable::DeviceCategories,
        SnapshotTable::Properties,
        SnapshotTable::DataProducts,
    ];

    fn gz(self) -> &'static [u8] {
        match self {
            SnapshotTable::Locations => include_bytes!("snapshot/locations_all.json.gz"),
            SnapshotTable::Devices => include_bytes!("snapshot/devices_all.json.gz"),
            SnapshotTable::DeviceCategories => {
                include_bytes!("snapshot/deviceCategories_all.json.gz")
            }
            SnapshotTable::Properties => include_bytes!("snapshot/properties_all.json.gz"),
            SnapshotTable::DataProducts => include_bytes!("snapshot/dataProducts_all.json.gz"),
        }
    }

    /// The discovery endpoint this table answers, e.g. `deviceCategories`.
    pub fn endpoint(self) -> &'static str {
        match self {
            SnapshotTable::Locations => "locations",
            SnapshotTable::Devices => "devices",
            SnapshotTable::DeviceCategories => "deviceCategories",
            SnapshotTable::Properties => "properties",
            SnapshotTable::DataProducts => "dataProducts",
        }
    }

    /// The real response body (a JSON array), inflated.
    pub fn json(self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        GzDecoder::new(self.gz()).read_to_end(&mut out)?;
        Ok(out)
    }
}

impl SnapshotTable {
    /// The field that names a record of this table (`dataProducts`: the product code; a product
    /// has one record per extension).
    pub fn key_field(self) -> &'static str {
        match self {
            SnapshotTable::Locations => "locationCode",
            SnapshotTable::Devices => "deviceCode",
            SnapshotTable::DeviceCategories => "deviceCategoryCode",
            SnapshotTable::Properties => "propertyCode",
            SnapshotTable::DataProducts => "dataProductCode",
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// Every record of one real table, parsed once per process (an empty list if the shipped bytes
/// were unreadable, which the unit test below rules out).
pub(crate) fn records(t: SnapshotTable) -> &'static [serde_json::Value] {
    static TABLES: [OnceLock<Vec<serde_json::Value>>; 5] = [const { OnceLock::new() }; 5];
    TABLES[t.slot()].get_or_init(|| {
        t.json()
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    })
}

/// The string field `key` of a real record (`""` when absent or not a string).
pub(crate) fn field<'a>(record: &'a serde_json::Value, key: &str) -> &'a str {
    record.get(key).and_then(|v| v.as_str()).unwrap_or("")
}

/// The real records of `t` named `code` (a `dataProducts` code has one per extension).
pub(crate) fn real(t: SnapshotTable, code: &str) -> Vec<&'static serde_json::Value> {
    static INDEX: [OnceLock<HashMap<&'static str, Vec<usize>>>; 5] = [const { OnceLock::new() }; 5];
    let all = records(t);
    INDEX[t.slot()]
        .get_or_init(|| {
            let mut map: HashMap<&'static str, Vec<usize>> = HashMap::new();
            for (i, r) in all.iter().enumerate() {
                map.entry(field(r, t.key_field())).or_default().push(i);
            }
            map
        })
        .get(code)
        .map(|ix| ix.iter().filter_map(|&i| all.get(i)).collect())
        .unwrap_or_default()
}

/// The one real record of `t` named `code`, if the snapshot has it.
pub(crate) fn real_one(t: SnapshotTable, code: &str) -> Option<&'static serde_json::Value> {
    real(t, code).into_iter().next()
}

/// The real `devices` record of `code` (as the unfiltered real response holds it), if the
/// snapshot has one.
pub(crate) fn real_device(code: &str) -> Option<&'static serde_json::Value> {
    real_one(SnapshotTable::Devices, code)
}

/// The real `dataProducts` record of `code` with `extension`, if the real service offers it.
pub(crate) fn real_product(code: &str, extension: &str) -> Option<&'static serde_json::Value> {
    real(SnapshotTable::DataProducts, code)
        .into_iter()
        .find(|r| field(r, "extension") == extension)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_inflates_to_a_json_array() {
        for t in SnapshotTable::ALL {
            let bytes = t.json().expect("inflate");
            let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
            assert!(v.as_array().is_some_and(|a| !a.is_empty()), "{t:?}");
        }
    }

    #[test]
    fn the_seed_hydrophone_has_its_real_identity() {
        let d = real_device("ICLISTENHF6324").expect("in the snapshot");
        assert_eq!(d["deviceId"], 74140);
        assert!(real_device("NO_SUCH_DEVICE").is_none());
    }

    #[test]
    fn records_are_indexed_by_code_and_products_by_extension() {
        assert_eq!(records(SnapshotTable::Devices).len(), 2903);
        assert_eq!(records(SnapshotTable::DataProducts).len(), 294);
        let hsd: Vec<&str> = real(SnapshotTable::DataProducts, "HSD")
            .into_iter()
            .map(|r| field(r, "extension"))
            .collect();
        for ext in ["fft", "mat", "oct", "pdf", "png"] {
            assert!(hsd.contains(&ext), "HSD {ext} in {hsd:?}");
        }
        assert!(real_product("AD", "flac").is_some());
        assert!(real_product("AD", "xyz").is_none());
        assert_eq!(
            field(
                real_one(SnapshotTable::Locations, "KEMFH.H1").expect("real"),
                "locationName"
            ),
            "Hydrophone A"
        );
    }
}
