//! Every record of the real Oceans 3.0 discovery snapshot shipped in the crate goes through the
//! client's discovery types: a field the client does not use, or a boolean spelled as a string,
//! must never fail a decode. Also pins the real shapes the simulator must copy (issue 9).

use onc_hydro::api::{DataProduct, Device, DeviceCategory, Location, Property};
use onc_hydro::sim::snapshot::SnapshotTable;
use serde_json::Value;

fn parse<T: serde::de::DeserializeOwned>(t: SnapshotTable) -> Vec<T> {
    let bytes = t.json().expect("inflate");
    let raw: Vec<Value> = serde_json::from_slice(&bytes).expect("array");
    raw.into_iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::from_value(v.clone())
                .unwrap_or_else(|e| panic!("{} record {i} does not parse: {e}\n{v}", t.endpoint()))
        })
        .collect()
}

#[test]
fn every_snapshot_record_parses_through_the_client_types() {
    let locations: Vec<Location> = parse(SnapshotTable::Locations);
    let devices: Vec<Device> = parse(SnapshotTable::Devices);
    let categories: Vec<DeviceCategory> = parse(SnapshotTable::DeviceCategories);
    let properties: Vec<Property> = parse(SnapshotTable::Properties);
    let products: Vec<DataProduct> = parse(SnapshotTable::DataProducts);
    assert_eq!(locations.len(), 1899);
    assert_eq!(devices.len(), 2903);
    assert_eq!(categories.len(), 127);
    assert_eq!(properties.len(), 215);
    assert_eq!(products.len(), 294);
    // String booleans ("true"/"false") decode like JSON booleans.
    assert!(locations.iter().all(|l| l.has_device_data.is_some()));
    assert!(categories.iter().all(|c| c.has_device_data.is_some()));
    let hf = devices
        .iter()
        .find(|d| d.device_code.as_str() == "ICLISTENHF6324")
        .expect("the seed's hydrophone is in the real catalog");
    assert_eq!(hf.device_id, Some(74140));
    assert_eq!(
        hf.device_category_code.as_ref().map(|c| c.as_str()),
        Some("HYDROPHONE")
    );
    assert_eq!(
        hf.data_rating[0].date_from.map(|t| t.to_string()),
        Some("2023-08-18T00:00:00Z".to_string())
    );
}

#[test]
fn the_snapshot_pins_real_booleans_and_hydrophone_products() {
    let raw = |t: SnapshotTable| -> Vec<Value> {
        serde_json::from_slice(&t.json().expect("inflate")).expect("array")
    };
    // Strings in locations, deviceCategories and properties; JSON booleans in devices and
    // dataProducts.
    assert!(raw(SnapshotTable::Locations)[0]["hasDeviceData"].is_string());
    assert!(raw(SnapshotTable::DeviceCategories)[0]["hasDeviceData"].is_string());
    assert!(raw(SnapshotTable::Properties)[0]["hasPropertyData"].is_string());
    assert!(raw(SnapshotTable::Devices)[0]["hasDeviceData"].is_boolean());
    assert!(raw(SnapshotTable::DataProducts)[0]["hasDeviceData"].is_boolean());
    let products: Vec<DataProduct> = parse(SnapshotTable::DataProducts);
    let exts = |code: &str| -> Vec<String> {
        let mut v: Vec<String> = products
            .iter()
            .filter(|p| p.data_product_code.as_str() == code)
            .filter_map(|p| p.extension.clone())
            .collect();
        v.sort();
        v
    };
    assert_eq!(exts("HSD"), ["fft", "mat", "oct", "pdf", "png"]);
    assert_eq!(exts("AD"), ["flac", "mp3", "wav"]);
    let mat = products
        .iter()
        .find(|p| p.data_product_code.as_str() == "HSD" && p.extension.as_deref() == Some("mat"))
        .expect("HSD mat");
    let default = |opt: &str| {
        mat.data_product_options
            .iter()
            .find(|o| o.option == opt)
            .and_then(|o| o.default_value.clone())
    };
    assert_eq!(
        default("dpo_hydrophoneAcquisitionMode").as_deref(),
        Some("All")
    );
    assert_eq!(default("dpo_hydrophoneChannel").as_deref(), Some("H1"));
    assert_eq!(
        default("dpo_hydrophoneDataDiversionMode").as_deref(),
        Some("OD")
    );
    assert_eq!(default("dpo_spectralDataDownsample").as_deref(), Some("1"));
    assert_eq!(
        default("dpo_spectrogramConcatenation").as_deref(),
        Some("Concatenate")
    );
}
