//! Discovery services: `locations`, `locations/tree`, `deployments`, `devices`,
//! `deviceCategories`, `properties`, `dataProducts` and `dataAvailability/dataproducts` — their
//! tolerant wire types and the client methods. Filters are passed through as [`Params`].
//!
//! A valid query that matches nothing is HTTP 404 ([`ApiError::NotFound`]); `deployments` answers
//! 400/127 instead. Must not know: hydrophone specifics or how results are presented.

// TODO(issue 15 item 6): document the public items below, then delete this allow.
#![allow(missing_docs)]

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::client::{next_params, Client, Paged, Params};
use super::error::ApiError;
use super::ids::{DataProductCode, DeviceCategoryCode, DeviceCode, LocationCode, PropertyCode};
use super::lenient::{bool_opt, f64_opt, string_opt, u64_opt, vec_or_null};
use super::time::de_timestamp_opt;

/// The discovery services, with their path under `api/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoveryService {
    Locations,
    LocationTree,
    Deployments,
    Devices,
    DeviceCategories,
    Properties,
    DataProducts,
    DataAvailability,
}

impl DiscoveryService {
    /// Path below `api/`.
    pub fn path(self) -> &'static str {
        match self {
            DiscoveryService::Locations => "locations",
            DiscoveryService::LocationTree => "locations/tree",
            DiscoveryService::Deployments => "deployments",
            DiscoveryService::Devices => "devices",
            DiscoveryService::DeviceCategories => "deviceCategories",
            DiscoveryService::Properties => "properties",
            DiscoveryService::DataProducts => "dataProducts",
            DiscoveryService::DataAvailability => "dataAvailability/dataproducts",
        }
    }
}

/// A `{uri, vocabulary}` controlled-vocabulary term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvTermEntry {
    #[serde(default, deserialize_with = "string_opt")]
    pub uri: Option<String>,
    #[serde(default, deserialize_with = "string_opt")]
    pub vocabulary: Option<String>,
}

/// Bounding box of a location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BoundingBox {
    #[serde(default, deserialize_with = "f64_opt")]
    pub max_depth: Option<f64>,
    #[serde(default, deserialize_with = "f64_opt")]
    pub max_lat: Option<f64>,
    #[serde(default, deserialize_with = "f64_opt")]
    pub max_lon: Option<f64>,
    #[serde(default, deserialize_with = "f64_opt")]
    pub min_depth: Option<f64>,
    #[serde(default, deserialize_with = "f64_opt")]
    pub min_lat: Option<f64>,
    #[serde(default, deserialize_with = "f64_opt")]
    pub min_lon: Option<f64>,
}

/// One `locations` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub location_code: LocationCode,
    #[serde(default, deserialize_with = "string_opt")]
    pub location_name: Option<String>,
    #[serde(default, deserialize_with = "string_opt")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "u64_opt")]
    pub deployments: Option<u64>,
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_device_data: Option<bool>,
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_property_data: Option<bool>,
    #[serde(default, deserialize_with = "f64_opt")]
    pub lat: Option<f64>,
    #[serde(default, deserialize_with = "f64_opt")]
    pub lon: Option<f64>,
    #[serde(default, deserialize_with = "f64_opt")]
    pub depth: Option<f64>,
    #[serde(default)]
    pub bbox: Option<BoundingBox>,
    #[serde(
        default,
        rename = "dataSearchURL",
        alias = "dataSearchUrl",
        deserialize_with = "string_opt"
    )]
    pub data_search_url: Option<String>,
}

/// One `locations/tree` node (children recurse; `null` for leaves).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationNode {
    pub location_code: LocationCode,
    #[serde(default, deserialize_with = "string_opt")]
    pub location_name: Option<String>,
    #[serde(default, deserialize_with = "string_opt")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_device_data: Option<bool>,
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_property_data: Option<bool>,
    #[serde(default, deserialize_with = "vec_or_null")]
    pub children: Vec<LocationNode>,
}

impl LocationNode {
    /// This node and every descendant, depth first, with their depth in the tree.
    pub fn walk(&self) -> Vec<(usize, &LocationNode)> {
        let mut out = Vec::new();
        let mut stack = vec![(0usize, self)];
        while let Some((d, n)) = stack.pop() {
            out.push((d, n));
            for c in n.children.iter().rev() {
                stack.push((d + 1, c));
            }
        }
        out
    }
}

/// A dataset citation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Citation {
    #[serde(default, deserialize_with = "string_opt")]
    pub citation: Option<String>,
    #[serde(default, deserialize_with = "string_opt")]
    pub doi: Option<String>,
    #[serde(default, deserialize_with = "string_opt")]
    pub landing_page_url: Option<String>,
    #[serde(default, deserialize_with = "u64_opt")]
    pub query_pid: Option<u64>,
}

/// One `deployments` item. `end == None` means still deployed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    #[serde(default, deserialize_with = "de_timestamp_opt")]
    pub begin: Option<Timestamp>,
    #[serde(default, deserialize_with = "de_timestamp_opt")]
    pub end: Option<Timestamp>,
    pub device_code: DeviceCode,
    #[serde(default)]
    pub device_category_code: Option<DeviceCategoryCode>,
    #[serde(default)]
    pub location_code: Option<LocationCode>,
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_device_data: Option<bool>,
    #[serde(default, deserialize_with = "f64_opt")]
    pub lat: Option<f64>,
    #[serde(default, deserialize_with = "f64_opt")]
    pub lon: Option<f64>,
    #[serde(default, deserialize_with = "f64_opt")]
    pub depth: Option<f64>,
    #[serde(default, deserialize_with = "f64_opt")]
    pub heading: Option<f64>,
    #[serde(default, deserialize_with = "f64_opt")]
    pub pitch: Option<f64>,
    #[serde(default, deserialize_with = "f64_opt")]
    pub roll: Option<f64>,
    #[serde(default)]
    pub citation: Option<Citation>,
}

/// A device's data rating period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataRating {
    #[serde(default, deserialize_with = "de_timestamp_opt")]
    pub date_from: Option<Timestamp>,
    #[serde(default, deserialize_with = "de_timestamp_opt")]
    pub date_to: Option<Timestamp>,
    #[serde(default, deserialize_with = "f64_opt")]
    pub sample_period: Option<f64>,
    #[serde(default, deserialize_with = "u64_opt")]
    pub sample_size: Option<u64>,
}

/// One `devices` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub device_code: DeviceCode,
    #[serde(default, deserialize_with = "u64_opt")]
    pub device_id: Option<u64>,
    #[serde(default, deserialize_with = "string_opt")]
    pub device_name: Option<String>,
    #[serde(default)]
    pub device_category_code: Option<DeviceCategoryCode>,
    #[serde(default, deserialize_with = "string_opt")]
    pub device_link: Option<String>,
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_device_data: Option<bool>,
    #[serde(default, deserialize_with = "vec_or_null")]
    pub data_rating: Vec<DataRating>,
    #[serde(default)]
    pub cv_term: Option<Value>,
}

/// One `deviceCategories` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceCategory {
    pub device_category_code: DeviceCategoryCode,
    #[serde(default, deserialize_with = "string_opt")]
    pub device_category_name: Option<String>,
    #[serde(default, deserialize_with = "string_opt")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "string_opt")]
    pub long_description: Option<String>,
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_device_data: Option<bool>,
    #[serde(default)]
    pub cv_term: Option<Value>,
}

/// One `properties` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Property {
    pub property_code: PropertyCode,
    #[serde(default, deserialize_with = "string_opt")]
    pub property_name: Option<String>,
    #[serde(default, deserialize_with = "string_opt")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "string_opt")]
    pub uom: Option<String>,
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_device_data: Option<bool>,
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_property_data: Option<bool>,
    #[serde(default)]
    pub cv_term: Option<Value>,
}

/// Allowed numeric range of a data-product option.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowableRange {
    #[serde(default, deserialize_with = "string_opt")]
    pub lower_bound: Option<String>,
    #[serde(default, deserialize_with = "string_opt")]
    pub upper_bound: Option<String>,
    #[serde(default, deserialize_with = "bool_opt")]
    pub only_integers: Option<bool>,
    #[serde(default, deserialize_with = "string_opt")]
    pub unit_of_measure: Option<String>,
}

/// One `dpo_*` option of a data product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataProductOption {
    pub option: String,
    #[serde(default)]
    pub allowable_range: Option<AllowableRange>,
    #[serde(default, deserialize_with = "vec_or_null")]
    pub allowable_values: Vec<Value>,
    #[serde(default, alias = "defaultValues", deserialize_with = "string_opt")]
    pub default_value: Option<String>,
    #[serde(default, deserialize_with = "vec_or_null")]
    pub documentation: Vec<String>,
    #[serde(default)]
    pub suboptions: Option<Value>,
}

/// One `dataProducts` item (one per product/extension pair).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataProduct {
    pub data_product_code: DataProductCode,
    #[serde(default, deserialize_with = "string_opt")]
    pub data_product_name: Option<String>,
    #[serde(default, deserialize_with = "string_opt")]
    pub extension: Option<String>,
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_device_data: Option<bool>,
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_property_data: Option<bool>,
    #[serde(default, deserialize_with = "string_opt")]
    pub help_document: Option<String>,
    #[serde(default, deserialize_with = "vec_or_null")]
    pub data_product_options: Vec<DataProductOption>,
}

/// One `dataAvailability/dataproducts` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AvailableDataProduct {
    #[serde(default)]
    pub data_product_code: Option<DataProductCode>,
    #[serde(default)]
    pub device_code: Option<DeviceCode>,
    #[serde(default)]
    pub location_code: Option<LocationCode>,
    #[serde(default, deserialize_with = "string_opt")]
    pub extension: Option<String>,
    #[serde(default, deserialize_with = "de_timestamp_opt")]
    pub date_from: Option<Timestamp>,
    #[serde(default, deserialize_with = "de_timestamp_opt")]
    pub date_to: Option<Timestamp>,
    #[serde(default, deserialize_with = "u64_opt")]
    pub file_count: Option<u64>,
    #[serde(default, deserialize_with = "f64_opt")]
    pub average_file_coverage: Option<f64>,
    #[serde(default, deserialize_with = "f64_opt")]
    pub max_file_coverage: Option<f64>,
    #[serde(default, deserialize_with = "f64_opt")]
    pub min_file_coverage: Option<f64>,
    #[serde(default, deserialize_with = "u64_opt")]
    pub total_file_size: Option<u64>,
    #[serde(default, deserialize_with = "u64_opt")]
    pub total_uncompressed_file_size: Option<u64>,
    /// Every other member, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `dataAvailability/dataproducts` object (all pages concatenated).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataAvailability {
    #[serde(default, deserialize_with = "vec_or_null")]
    pub available_data_products: Vec<AvailableDataProduct>,
    #[serde(default, deserialize_with = "vec_or_null")]
    pub messages: Vec<Value>,
    #[serde(default)]
    pub next: Option<Value>,
    /// Redacted.
    #[serde(default, alias = "queryURL", deserialize_with = "string_opt")]
    pub query_url: Option<String>,
}

impl Paged for DataAvailability {
    fn next_params(&self) -> Option<Params> {
        next_params(&self.next)
    }
}

impl Client {
    /// Any discovery service as raw JSON (an array, or an object for `dataAvailability`).
    pub async fn discover_raw(
        &self,
        service: DiscoveryService,
        filters: &Params,
    ) -> Result<Value, ApiError> {
        self.get_json(service.path(), filters).await
    }

    /// `locations` (404 when nothing matches).
    pub async fn locations(&self, filters: &Params) -> Result<Vec<Location>, ApiError> {
        self.get_json(DiscoveryService::Locations.path(), filters)
            .await
    }

    /// `locations/tree`.
    pub async fn location_tree(&self, filters: &Params) -> Result<Vec<LocationNode>, ApiError> {
        self.get_json(DiscoveryService::LocationTree.path(), filters)
            .await
    }

    /// `deployments` (400/127 when nothing matches).
    pub async fn deployments(&self, filters: &Params) -> Result<Vec<Deployment>, ApiError> {
        self.get_json(DiscoveryService::Deployments.path(), filters)
            .await
    }

    /// `devices`.
    pub async fn devices(&self, filters: &Params) -> Result<Vec<Device>, ApiError> {
        self.get_json(DiscoveryService::Devices.path(), filters)
            .await
    }

    /// `deviceCategories`.
    pub async fn device_categories(
        &self,
        filters: &Params,
    ) -> Result<Vec<DeviceCategory>, ApiError> {
        self.get_json(DiscoveryService::DeviceCategories.path(), filters)
            .await
    }

    /// `properties`.
    pub async fn properties(&self, filters: &Params) -> Result<Vec<Property>, ApiError> {
        self.get_json(DiscoveryService::Properties.path(), filters)
            .await
    }

    /// `dataProducts`.
    pub async fn data_products(&self, filters: &Params) -> Result<Vec<DataProduct>, ApiError> {
        self.get_json(DiscoveryService::DataProducts.path(), filters)
            .await
    }

    /// `dataAvailability/dataproducts`, following `next` and concatenating entries.
    pub async fn data_availability(&self, filters: &Params) -> Result<DataAvailability, ApiError> {
        let mut all = DataAvailability::default();
        let mut first = true;
        self.for_each_page(
            DiscoveryService::DataAvailability.path(),
            filters,
            |page: DataAvailability| {
                if first {
                    all.query_url = page.query_url;
                    first = false;
                }
                all.available_data_products
                    .extend(page.available_data_products);
                all.messages.extend(page.messages);
                Ok(())
            },
        )
        .await?;
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_with_string_booleans_parses() {
        let j = r#"[{"deployments": 46, "locationName": "Folger Deep", "depth": 96.569761,
 "bbox": {"maxDepth": 105.0, "maxLat": 48.814029, "maxLon": -125.274604,
          "minDepth": 94.0, "minLat": 48.813667, "minLon": -125.28195},
 "description": " Folger Deep is a deep location in Folger Passage ...",
 "hasDeviceData": "true", "lon": -125.280572, "locationCode": "FGPD",
 "hasPropertyData": "false", "lat": 48.813795, "newField": [1,2],
 "dataSearchURL": "https://data.oceannetworks.ca/DataSearch?location=FGPD"}]"#;
        let v: Vec<Location> = serde_json::from_str(j).unwrap();
        assert_eq!(v[0].location_code.as_str(), "FGPD");
        assert_eq!(v[0].has_device_data, Some(true));
        assert_eq!(v[0].has_property_data, Some(false));
        assert_eq!(v[0].deployments, Some(46));
        assert_eq!(v[0].bbox.as_ref().unwrap().max_depth, Some(105.0));
    }

    #[test]
    fn tree_recurses_with_null_children() {
        let j = r#"[{"locationName": "Coral Cliff", "locationCode": "BACCC", "description": " The Coral Cliffs ...",
 "hasDeviceData": "false", "hasPropertyData": "true",
 "children": [{"locationName": "ADCP 2 MHz East", "locationCode": "BACCC.A1", "description": "",
               "hasDeviceData": "true", "hasPropertyData": "false", "children": null}]}]"#;
        let v: Vec<LocationNode> = serde_json::from_str(j).unwrap();
        let walk = v[0].walk();
        assert_eq!(walk.len(), 2);
        assert_eq!(walk[1].0, 1);
        assert_eq!(walk[1].1.location_code.as_str(), "BACCC.A1");
        assert_eq!(walk[1].1.has_device_data, Some(true));
    }

    #[test]
    fn deployment_device_product_examples_parse() {
        let d = r#"{"begin": "2014-05-09T15:50:42.000Z", "end": null,
 "citation": {"citation": "x", "doi": "10.80242/14d", "landingPageUrl": "https://doi.org/x", "queryPid": null},
 "depth": 982.0, "deviceCategoryCode": "CTD", "deviceCode": "SBECTD16p6002",
 "hasDeviceData": true, "heading": null, "lat": 48.316583, "locationCode": "BACAX",
 "lon": -126.050796, "pitch": null, "roll": null}"#;
        let d: Deployment = serde_json::from_str(d).unwrap();
        assert!(d.end.is_none());
        assert_eq!(
            crate::api::time::format_onc(d.begin.unwrap()),
            "2014-05-09T15:50:42.000Z"
        );
        let dev = r#"{"cvTerm": {"device": [{"uri": "http://vocab", "vocabulary": "SeaVoX"}]},
 "dataRating": [{"dateFrom": "2007-01-01T00:00:00.000Z", "dateTo": null, "samplePeriod": 1.0, "sampleSize": 1}],
 "deviceCategoryCode": "BPR", "deviceCode": "BPR-Folger-59", "deviceId": 21503,
 "deviceLink": "https://data.oceannetworks.ca/DeviceListing?DeviceId=21503",
 "deviceName": "NRCan Bottom Pressure Recorder 59", "hasDeviceData": true}"#;
        let dev: Device = serde_json::from_str(dev).unwrap();
        assert_eq!(dev.device_id, Some(21503));
        assert_eq!(dev.data_rating[0].sample_period, Some(1.0));
        let p = r#"{"dataProductCode": "SHV", "dataProductName": "Spectrogram For Hydrophone Viewer",
 "extension": "png", "hasDeviceData": true, "hasPropertyData": false,
 "helpDocument": "https://wiki.oceannetworks.ca/display/DP/146",
 "dataProductOptions": [
   {"option": "dpo_lowerColourLimit", "allowableValues": ["-1000"], "defaultValue": "-1000",
    "allowableRange": {"lowerBound": "-160.0", "upperBound": "140.0", "onlyIntegers": false, "unitOfMeasure": null},
    "documentation": ["https://wiki"], "suboptions": null}]}"#;
        let p: DataProduct = serde_json::from_str(p).unwrap();
        assert_eq!(
            p.data_product_options[0].default_value.as_deref(),
            Some("-1000")
        );
        assert_eq!(
            p.data_product_options[0]
                .allowable_range
                .as_ref()
                .unwrap()
                .only_integers,
            Some(false)
        );
    }

    #[test]
    fn availability_object_parses_with_query_url() {
        let j = r#"{"availableDataProducts": [
   {"averageFileCoverage": 0.875, "dataProductCode": "LF", "dateFrom": "2019-11-23T00:00:00.000Z",
    "dateTo": "2019-12-01T00:00:00.000Z", "deviceCode": "BPR-Folger-59", "extension": "txt",
    "fileCount": 7, "maxFileCoverage": 1.0, "maxFileCoverageDate": "2019-11-23T00:00:00.000Z",
    "minFileCoverage": 0.0, "minFileCoverageDate": "2019-11-30T00:00:00.000Z",
    "totalFileSize": 8707618, "totalUncompressedFileSize": 33868912}],
 "messages": [], "next": null,
 "queryUrl": "https://data.oceannetworks.ca/api/dataAvailability/dataproducts?locationCode=NCBC&token=REDACTED"}"#;
        let a: DataAvailability = serde_json::from_str(j).unwrap();
        assert_eq!(a.available_data_products[0].file_count, Some(7));
        assert!(a.available_data_products[0]
            .extra
            .contains_key("maxFileCoverageDate"));
        assert!(a.next_params().is_none());
    }
}
