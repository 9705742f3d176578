//! Discovery services: `locations`, `locations/tree`, `deployments`, `devices`,
//! `deviceCategories`, `properties`, `dataProducts` and `dataAvailability/dataproducts` — their
//! tolerant wire types and the client methods. Filters are passed through as [`Params`].
//!
//! A valid query that matches nothing is HTTP 404 ([`ApiError::NotFound`]); `deployments` answers
//! 400/127 instead. Must not know: hydrophone specifics or how results are presented.

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
    /// `locations`: flat list of sites (404 when nothing matches).
    Locations,
    /// `locations/tree`: sites as a nested search tree.
    LocationTree,
    /// `deployments`: which device was where, when (400/127 when nothing matches).
    Deployments,
    /// `devices`: instruments and their data ratings.
    Devices,
    /// `deviceCategories`: instrument kinds such as `HYDROPHONE` or `CTD`.
    DeviceCategories,
    /// `properties`: measured quantities and their units.
    Properties,
    /// `dataProducts`: products ONC can generate, one per product/extension pair.
    DataProducts,
    /// `dataAvailability/dataproducts`: which products exist for a source and period (an object, not an array).
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

/// Bounding box of a location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BoundingBox {
    /// `maxDepth`: deepest point, metres below sea surface.
    #[serde(default, deserialize_with = "f64_opt")]
    pub max_depth: Option<f64>,
    /// `maxLat`: northern edge, decimal degrees.
    #[serde(default, deserialize_with = "f64_opt")]
    pub max_lat: Option<f64>,
    /// `maxLon`: eastern edge, decimal degrees.
    #[serde(default, deserialize_with = "f64_opt")]
    pub max_lon: Option<f64>,
    /// `minDepth`: shallowest point, metres below sea surface.
    #[serde(default, deserialize_with = "f64_opt")]
    pub min_depth: Option<f64>,
    /// `minLat`: southern edge, decimal degrees.
    #[serde(default, deserialize_with = "f64_opt")]
    pub min_lat: Option<f64>,
    /// `minLon`: western edge, decimal degrees.
    #[serde(default, deserialize_with = "f64_opt")]
    pub min_lon: Option<f64>,
}

/// One `locations` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    /// `locationCode`: the site's code, e.g. `FGPD` or `BACCC.A1` (may contain dots).
    pub location_code: LocationCode,
    /// `locationName`: human-readable site name; may be absent.
    #[serde(default, deserialize_with = "string_opt")]
    pub location_name: Option<String>,
    /// `description`: free-text description of the site (often with leading spaces); may be absent.
    #[serde(default, deserialize_with = "string_opt")]
    pub description: Option<String>,
    /// `deployments`: number of deployments at the site.
    #[serde(default, deserialize_with = "u64_opt")]
    pub deployments: Option<u64>,
    /// `hasDeviceData`: whether device data is archived here (the server sends the string `"true"`/`"false"`; both forms are accepted).
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_device_data: Option<bool>,
    /// `hasPropertyData`: whether property (scalar) data is archived here; string or boolean on the wire.
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_property_data: Option<bool>,
    /// `lat`: latitude, decimal degrees; `None` when the server sends `null`.
    #[serde(default, deserialize_with = "f64_opt")]
    pub lat: Option<f64>,
    /// `lon`: longitude, decimal degrees; `None` when the server sends `null`.
    #[serde(default, deserialize_with = "f64_opt")]
    pub lon: Option<f64>,
    /// `depth`: nominal depth, metres; `None` when the server sends `null`.
    #[serde(default, deserialize_with = "f64_opt")]
    pub depth: Option<f64>,
    /// `bbox`: extent of the site's deployments; `None` when absent or `null`.
    #[serde(default)]
    pub bbox: Option<BoundingBox>,
    /// `dataSearchURL` (also accepted as `dataSearchUrl`): link to the site in ONC's Data Search web page.
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
    /// `locationCode`: the node's site code.
    pub location_code: LocationCode,
    /// `locationName`: human-readable name; may be absent.
    #[serde(default, deserialize_with = "string_opt")]
    pub location_name: Option<String>,
    /// `description`: free-text description; may be absent.
    #[serde(default, deserialize_with = "string_opt")]
    pub description: Option<String>,
    /// `hasDeviceData`: whether device data is archived here (string or boolean on the wire).
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_device_data: Option<bool>,
    /// `hasPropertyData`: whether property data is archived here (string or boolean on the wire).
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_property_data: Option<bool>,
    /// `children`: sub-locations; empty for leaves (the server sends `null`).
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
    /// `citation`: full citation text, ready to paste into a paper.
    #[serde(default, deserialize_with = "string_opt")]
    pub citation: Option<String>,
    /// `doi`: the dataset's DOI, e.g. `10.80242/14d156f2-…`; may be absent.
    #[serde(default, deserialize_with = "string_opt")]
    pub doi: Option<String>,
    /// `landingPageUrl`: DOI landing page URL; may be absent.
    #[serde(default, deserialize_with = "string_opt")]
    pub landing_page_url: Option<String>,
    /// `queryPid`: persistent id of the subset query; `null` for whole-deployment citations.
    #[serde(default, deserialize_with = "u64_opt")]
    pub query_pid: Option<u64>,
}

/// One `deployments` item. `end == None` means still deployed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// `begin`: when the deployment started (UTC).
    #[serde(default, deserialize_with = "de_timestamp_opt")]
    pub begin: Option<Timestamp>,
    /// `end`: when it ended (UTC); `None` (`null`) while the device is still deployed.
    #[serde(default, deserialize_with = "de_timestamp_opt")]
    pub end: Option<Timestamp>,
    /// `deviceCode`: the deployed device, e.g. `ICLISTENHF6324`.
    pub device_code: DeviceCode,
    /// `deviceCategoryCode`: the device's category, e.g. `HYDROPHONE`; may be absent.
    #[serde(default)]
    pub device_category_code: Option<DeviceCategoryCode>,
    /// `locationCode`: where the device was deployed; may be absent.
    #[serde(default)]
    pub location_code: Option<LocationCode>,
    /// `hasDeviceData`: whether the deployment produced archived data (a real boolean here).
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_device_data: Option<bool>,
    /// `lat`: latitude of the deployment, decimal degrees; may be `null`.
    #[serde(default, deserialize_with = "f64_opt")]
    pub lat: Option<f64>,
    /// `lon`: longitude of the deployment, decimal degrees; may be `null`.
    #[serde(default, deserialize_with = "f64_opt")]
    pub lon: Option<f64>,
    /// `depth`: depth of the deployment, metres; may be `null`.
    #[serde(default, deserialize_with = "f64_opt")]
    pub depth: Option<f64>,
    /// `heading`: instrument heading; usually `null`.
    #[serde(default, deserialize_with = "f64_opt")]
    pub heading: Option<f64>,
    /// `pitch`: instrument pitch; usually `null`.
    #[serde(default, deserialize_with = "f64_opt")]
    pub pitch: Option<f64>,
    /// `roll`: instrument roll; usually `null`.
    #[serde(default, deserialize_with = "f64_opt")]
    pub roll: Option<f64>,
    /// `citation`: how to cite the deployment's data; may be absent.
    #[serde(default)]
    pub citation: Option<Citation>,
}

/// A device's data rating period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataRating {
    /// `dateFrom`: start of the rating period (UTC).
    #[serde(default, deserialize_with = "de_timestamp_opt")]
    pub date_from: Option<Timestamp>,
    /// `dateTo`: end of the rating period (UTC); `None` (`null`) while it still applies.
    #[serde(default, deserialize_with = "de_timestamp_opt")]
    pub date_to: Option<Timestamp>,
    /// `samplePeriod`: seconds between samples.
    #[serde(default, deserialize_with = "f64_opt")]
    pub sample_period: Option<f64>,
    /// `sampleSize`: ONC's sample-size figure for the period (1 in most real responses, 0–4 seen).
    #[serde(default, deserialize_with = "u64_opt")]
    pub sample_size: Option<u64>,
}

/// One `devices` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// `deviceCode`: the device's code, e.g. `BPR-Folger-59` (may contain `-` and `_`).
    pub device_code: DeviceCode,
    /// `deviceId`: ONC's numeric device id.
    #[serde(default, deserialize_with = "u64_opt")]
    pub device_id: Option<u64>,
    /// `deviceName`: human-readable device name; may be absent.
    #[serde(default, deserialize_with = "string_opt")]
    pub device_name: Option<String>,
    /// `deviceCategoryCode`: the device's category; may be absent.
    #[serde(default)]
    pub device_category_code: Option<DeviceCategoryCode>,
    /// `deviceLink`: URL of the device's page in ONC's device listing.
    #[serde(default, deserialize_with = "string_opt")]
    pub device_link: Option<String>,
    /// `hasDeviceData`: whether the device has archived data.
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_device_data: Option<bool>,
    /// `dataRating`: sampling rate history; empty when absent or `null`.
    #[serde(default, deserialize_with = "vec_or_null")]
    pub data_rating: Vec<DataRating>,
    /// `cvTerm`: controlled-vocabulary terms as sent (`{"device": [{uri, vocabulary}]}`).
    #[serde(default)]
    pub cv_term: Option<Value>,
}

/// One `deviceCategories` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceCategory {
    /// `deviceCategoryCode`: the category's code, e.g. `HYDROPHONE`.
    pub device_category_code: DeviceCategoryCode,
    /// `deviceCategoryName`: human-readable name, e.g. "Conductivity Temperature Depth".
    #[serde(default, deserialize_with = "string_opt")]
    pub device_category_name: Option<String>,
    /// `description`: one-line description; may be absent.
    #[serde(default, deserialize_with = "string_opt")]
    pub description: Option<String>,
    /// `longDescription`: paragraph-long description; may be absent.
    #[serde(default, deserialize_with = "string_opt")]
    pub long_description: Option<String>,
    /// `hasDeviceData`: whether any device of the category has archived data.
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_device_data: Option<bool>,
    /// `cvTerm`: controlled-vocabulary terms as sent (`{"deviceCategory": [{uri, vocabulary}]}`).
    #[serde(default)]
    pub cv_term: Option<Value>,
}

/// One `properties` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Property {
    /// `propertyCode`: the property's code, e.g. `conductivity`.
    pub property_code: PropertyCode,
    /// `propertyName`: human-readable name, e.g. "Conductivity".
    #[serde(default, deserialize_with = "string_opt")]
    pub property_name: Option<String>,
    /// `description`: description, often including the unit; may be absent.
    #[serde(default, deserialize_with = "string_opt")]
    pub description: Option<String>,
    /// `uom`: unit of measure, e.g. `S/m`; may be absent.
    #[serde(default, deserialize_with = "string_opt")]
    pub uom: Option<String>,
    /// `hasDeviceData`: whether device data exists for this property.
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_device_data: Option<bool>,
    /// `hasPropertyData`: whether property data exists.
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_property_data: Option<bool>,
    /// `cvTerm`: controlled-vocabulary terms as sent (`{"property": [...], "uom": [...]}`).
    #[serde(default)]
    pub cv_term: Option<Value>,
}

/// Allowed numeric range of a data-product option.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowableRange {
    /// `lowerBound`: smallest allowed value, as the server's string (e.g. `"-160.0"`).
    #[serde(default, deserialize_with = "string_opt")]
    pub lower_bound: Option<String>,
    /// `upperBound`: largest allowed value, as the server's string.
    #[serde(default, deserialize_with = "string_opt")]
    pub upper_bound: Option<String>,
    /// `onlyIntegers`: whether only whole numbers are allowed.
    #[serde(default, deserialize_with = "bool_opt")]
    pub only_integers: Option<bool>,
    /// `unitOfMeasure`: unit of the bounds; often `null`.
    #[serde(default, deserialize_with = "string_opt")]
    pub unit_of_measure: Option<String>,
}

/// One `dpo_*` option of a data product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataProductOption {
    /// `option`: the option's query-parameter name, e.g. `dpo_lowerColourLimit`.
    pub option: String,
    /// `allowableRange`: numeric range the option accepts; `None` for enumerated options.
    #[serde(default)]
    pub allowable_range: Option<AllowableRange>,
    /// `allowableValues`: accepted values (strings on the wire, e.g. `"0"`…`"5"`); empty when absent.
    #[serde(default, deserialize_with = "vec_or_null")]
    pub allowable_values: Vec<Value>,
    /// `defaultValue` (the Python client's docs say `defaultValues`; both accepted): value used when the option is not given.
    #[serde(default, alias = "defaultValues", deserialize_with = "string_opt")]
    pub default_value: Option<String>,
    /// `documentation`: wiki URLs that explain the option.
    #[serde(default, deserialize_with = "vec_or_null")]
    pub documentation: Vec<String>,
    /// `suboptions`: nested options as sent; usually `null`.
    #[serde(default)]
    pub suboptions: Option<Value>,
}

/// One `dataProducts` item (one per product/extension pair).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataProduct {
    /// `dataProductCode`: the product's code, e.g. `HSD`, `AD`, `TSSD`.
    pub data_product_code: DataProductCode,
    /// `dataProductName`: human-readable name, e.g. "Spectrogram For Hydrophone Viewer".
    #[serde(default, deserialize_with = "string_opt")]
    pub data_product_name: Option<String>,
    /// `extension`: file extension of this variant, e.g. `mat`, `png`, `flac`.
    #[serde(default, deserialize_with = "string_opt")]
    pub extension: Option<String>,
    /// `hasDeviceData`: whether the product can be made from device data.
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_device_data: Option<bool>,
    /// `hasPropertyData`: whether the product can be made from property data.
    #[serde(default, deserialize_with = "bool_opt")]
    pub has_property_data: Option<bool>,
    /// `helpDocument`: URL of the product's ONC wiki page.
    #[serde(default, deserialize_with = "string_opt")]
    pub help_document: Option<String>,
    /// `dataProductOptions`: the `dpo_*` options the product accepts.
    #[serde(default, deserialize_with = "vec_or_null")]
    pub data_product_options: Vec<DataProductOption>,
}

/// One `dataAvailability/dataproducts` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AvailableDataProduct {
    /// `dataProductCode`: the product, e.g. `LF`.
    #[serde(default)]
    pub data_product_code: Option<DataProductCode>,
    /// `deviceCode`: the device the files come from.
    #[serde(default)]
    pub device_code: Option<DeviceCode>,
    /// `locationCode`: the location, when the server names one.
    #[serde(default)]
    pub location_code: Option<LocationCode>,
    /// `extension`: file extension, e.g. `txt`.
    #[serde(default, deserialize_with = "string_opt")]
    pub extension: Option<String>,
    /// `dateFrom`: start of the covered period (UTC).
    #[serde(default, deserialize_with = "de_timestamp_opt")]
    pub date_from: Option<Timestamp>,
    /// `dateTo`: end of the covered period (UTC).
    #[serde(default, deserialize_with = "de_timestamp_opt")]
    pub date_to: Option<Timestamp>,
    /// `fileCount`: number of archived files in the period.
    #[serde(default, deserialize_with = "u64_opt")]
    pub file_count: Option<u64>,
    /// `averageFileCoverage`: mean coverage of the files, 0–1 (e.g. 0.875).
    #[serde(default, deserialize_with = "f64_opt")]
    pub average_file_coverage: Option<f64>,
    /// `maxFileCoverage`: best single-file coverage, 0–1.
    #[serde(default, deserialize_with = "f64_opt")]
    pub max_file_coverage: Option<f64>,
    /// `minFileCoverage`: worst single-file coverage, 0–1.
    #[serde(default, deserialize_with = "f64_opt")]
    pub min_file_coverage: Option<f64>,
    /// `totalFileSize`: bytes of all files as stored (compressed).
    #[serde(default, deserialize_with = "u64_opt")]
    pub total_file_size: Option<u64>,
    /// `totalUncompressedFileSize`: bytes of all files uncompressed.
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
    /// `availableDataProducts`: the entries of every page.
    #[serde(default, deserialize_with = "vec_or_null")]
    pub available_data_products: Vec<AvailableDataProduct>,
    /// `messages`: server notes, as sent.
    #[serde(default, deserialize_with = "vec_or_null")]
    pub messages: Vec<Value>,
    /// `next`: the next page's `{parameters, url}` (token redacted), `null` on the last page.
    #[serde(default)]
    pub next: Option<Value>,
    /// `queryUrl` (also `queryURL`): the URL the server answered, with the token redacted.
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
