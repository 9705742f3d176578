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

/// The real `devices` record of `code` (as the unfiltered real response holds it), if the
/// snapshot has one. The table is inflated and indexed once per process.
pub(crate) fn real_device(code: &str) -> Option<&'static serde_json::Value> {
    static INDEX: OnceLock<HashMap<String, serde_json::Value>> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            let records: Vec<serde_json::Value> = SnapshotTable::Devices
                .json()
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            records
                .into_iter()
                .filter_map(|r| {
                    let code = r.get("deviceCode")?.as_str()?.to_owned();
                    Some((code, r))
                })
                .collect()
        })
        .get(code)
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
}
