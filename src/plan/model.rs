//! The plan's vocabulary: the request sheets and their columns (with the seed's header names),
//! one discovered row, the Configuration settings, and what each device or category offers
//! (products, extensions, `dpo_*` options with allowed values and defaults).
//!
//! Must not know: how a workbook is laid out on disk, or how rows become downloads.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::civil::{Time, Weekday};
use jiff::Timestamp;

use crate::api::{DataProductCode, DeviceCategoryCode, DeviceCode, LocationCode, PropertyCode};

/// Which request sheets a plan holds (`--method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// Only 'By Location' (the seed's default).
    #[default]
    ByLocation,
    /// Only 'By Device'.
    ByDevice,
    /// Both sheets.
    All,
}

impl Method {
    /// Parses `by-location`, `byLocation`, `by-device`, `byDevice` or `all`.
    pub fn parse(text: &str) -> Option<Method> {
        match normalize_header(text).as_str() {
            "bylocation" => Some(Method::ByLocation),
            "bydevice" => Some(Method::ByDevice),
            "all" => Some(Method::All),
            _ => None,
        }
    }

    /// The sheets this method writes, in order.
    pub fn sheets(self) -> &'static [SheetKind] {
        match self {
            Method::ByLocation => &[SheetKind::ByLocation],
            Method::ByDevice => &[SheetKind::ByDevice],
            Method::All => &[SheetKind::ByLocation, SheetKind::ByDevice],
        }
    }
}

/// A request sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SheetKind {
    /// Requests by `locationCode` + `deviceCategoryCode` (+ `propertyCode`).
    ByLocation,
    /// Requests by `deviceCode` (+ `propertyCode`).
    ByDevice,
}

impl SheetKind {
    /// The sheet's name in the workbook.
    pub fn sheet_name(self) -> &'static str {
        match self {
            SheetKind::ByLocation => "By Location",
            SheetKind::ByDevice => "By Device",
        }
    }

    /// The columns written, in order.
    pub fn columns(self) -> &'static [Column] {
        use Column::*;
        match self {
            SheetKind::ByLocation => &[
                LocationCode,
                LocationName,
                DeviceCategoryCode,
                DeviceCategoryName,
                PropertyCode,
                Download,
                Begin,
                End,
                DeviceCode,
                Latitude,
                Longitude,
                Depth,
                DataProductCode,
                DataProductName,
                Extension,
                Options,
                HelpDocument,
                DataSearch,
                DeviceListing,
                DeploymentKey,
            ],
            SheetKind::ByDevice => &[
                DeviceCode,
                DeviceName,
                PropertyCode,
                Download,
                Begin,
                End,
                LocationCode,
                Latitude,
                Longitude,
                Depth,
                DataProductCode,
                DataProductName,
                Extension,
                Options,
                HelpDocument,
                DeviceListing,
                DeploymentKey,
            ],
        }
    }

    /// Request columns (bold in the workbook): the `dataProductDelivery` filters and `download`.
    pub fn is_request_column(self, c: Column) -> bool {
        use Column::*;
        match self {
            SheetKind::ByLocation => matches!(
                c,
                LocationCode
                    | DeviceCategoryCode
                    | PropertyCode
                    | Download
                    | Begin
                    | End
                    | DataProductCode
                    | Extension
                    | Options
            ),
            SheetKind::ByDevice => matches!(
                c,
                DeviceCode
                    | PropertyCode
                    | Download
                    | Begin
                    | End
                    | DataProductCode
                    | Extension
                    | Options
            ),
        }
    }

    /// Columns that must be present for the sheet to be read (optional ones may be deleted).
    pub fn required_columns(self) -> &'static [Column] {
        use Column::*;
        match self {
            SheetKind::ByLocation => &[
                LocationCode,
                DeviceCategoryCode,
                Download,
                Begin,
                End,
                DataProductCode,
                Extension,
            ],
            SheetKind::ByDevice => &[DeviceCode, Download, Begin, End, DataProductCode, Extension],
        }
    }
}

impl fmt::Display for SheetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sheet_name())
    }
}

/// A column of a request sheet, with the seed's header text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Column {
    /// `locationCode`.
    LocationCode,
    /// `locationName`.
    LocationName,
    /// `deviceCategoryCode`.
    DeviceCategoryCode,
    /// `deviceCategoryName`.
    DeviceCategoryName,
    /// `deviceCode`.
    DeviceCode,
    /// `deviceName`.
    DeviceName,
    /// `propertyCode` (empty = every property).
    PropertyCode,
    /// `download`: whether the row is ordered (TRUE/FALSE).
    Download,
    /// `begin`: inclusive UTC start of the row's period.
    Begin,
    /// `end`: exclusive UTC end of the row's period.
    End,
    /// `latitude`, decimal degrees.
    Latitude,
    /// `longitude`, decimal degrees.
    Longitude,
    /// `depth`, metres.
    Depth,
    /// `dataProductCode`, e.g. `HSD`.
    DataProductCode,
    /// `dataProductName`.
    DataProductName,
    /// `extension`, e.g. `mat`.
    Extension,
    /// `data product options`: `dpo_name=value` pairs.
    Options,
    /// `helpDocument`: the product's wiki page.
    HelpDocument,
    /// `Data Search`: link to the location in ONC's Data Search page.
    DataSearch,
    /// `Device Listing`: link to the device's ONC page.
    DeviceListing,
    /// `deploymentKey`: see [`deployment_key`].
    DeploymentKey,
}

impl Column {
    /// Every column.
    pub const ALL: [Column; 21] = [
        Column::LocationCode,
        Column::LocationName,
        Column::DeviceCategoryCode,
        Column::DeviceCategoryName,
        Column::DeviceCode,
        Column::DeviceName,
        Column::PropertyCode,
        Column::Download,
        Column::Begin,
        Column::End,
        Column::Latitude,
        Column::Longitude,
        Column::Depth,
        Column::DataProductCode,
        Column::DataProductName,
        Column::Extension,
        Column::Options,
        Column::HelpDocument,
        Column::DataSearch,
        Column::DeviceListing,
        Column::DeploymentKey,
    ];

    /// The header text written in row 1.
    pub fn header(self) -> &'static str {
        match self {
            Column::LocationCode => "locationCode",
            Column::LocationName => "locationName",
            Column::DeviceCategoryCode => "deviceCategoryCode",
            Column::DeviceCategoryName => "deviceCategoryName",
            Column::DeviceCode => "deviceCode",
            Column::DeviceName => "deviceName",
            Column::PropertyCode => "propertyCode",
            Column::Download => "download",
            Column::Begin => "begin",
            Column::End => "end",
            Column::Latitude => "latitude",
            Column::Longitude => "longitude",
            Column::Depth => "depth",
            Column::DataProductCode => "dataProductCode",
            Column::DataProductName => "dataProductName",
            Column::Extension => "extension",
            Column::Options => "data product options",
            Column::HelpDocument => "helpDocument",
            Column::DataSearch => "Data Search",
            Column::DeviceListing => "Device Listing",
            Column::DeploymentKey => "deploymentKey",
        }
    }

    /// Finds the column a header names (case, spaces and `_` ignored), or `None` for a
    /// researcher's own extra column.
    pub fn from_header(text: &str) -> Option<Column> {
        let n = normalize_header(text);
        if n.is_empty() {
            return None;
        }
        if n == "dataproductoptions" || n == "options" {
            return Some(Column::Options);
        }
        Column::ALL
            .into_iter()
            .find(|c| normalize_header(c.header()) == n)
    }

    /// Suggested width in characters.
    pub fn width(self) -> f64 {
        match self {
            Column::LocationName | Column::DeviceName | Column::DataProductName => 30.0,
            Column::DeviceCategoryName | Column::Options => 36.0,
            Column::Begin | Column::End => 24.0,
            Column::HelpDocument | Column::DataSearch | Column::DeviceListing => 44.0,
            Column::DeploymentKey => 50.0,
            Column::Download => 10.0,
            Column::Latitude | Column::Longitude | Column::Depth | Column::Extension => 12.0,
            _ => 20.0,
        }
    }
}

/// Lower-cases and drops spaces, `_` and `-`, so `Data Product Options` matches
/// `dataProductOptions`.
pub(crate) fn normalize_header(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// One discovered request row (a deployment × product × extension), as written by `plan`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRow {
    /// Which sheet the row belongs to.
    pub sheet: SheetKind,
    /// `locationCode` of the deployment.
    pub location_code: LocationCode,
    /// `locationName`, when discovery gave one.
    pub location_name: Option<String>,
    /// `deviceCategoryCode` of the device.
    pub device_category_code: DeviceCategoryCode,
    /// `deviceCategoryName`, when discovery gave one.
    pub device_category_name: Option<String>,
    /// `deviceCode` of the deployed device.
    pub device_code: DeviceCode,
    /// `deviceName`, when discovery gave one.
    pub device_name: Option<String>,
    /// `propertyCode`; `None` = every property.
    pub property_code: Option<PropertyCode>,
    /// Whether the row is ordered (the `download` column).
    pub download: bool,
    /// The deployment clipped to the period: `[begin, end)`.
    pub begin: Timestamp,
    /// Exclusive end of the row's period (UTC).
    pub end: Timestamp,
    /// Deployment latitude, decimal degrees; `None` when ONC sent `null`.
    pub lat: Option<f64>,
    /// Deployment longitude, decimal degrees; `None` when ONC sent `null`.
    pub lon: Option<f64>,
    /// Deployment depth, metres; `None` when ONC sent `null`.
    pub depth: Option<f64>,
    /// `dataProductCode` to order.
    pub product: DataProductCode,
    /// `dataProductName`, when known.
    pub product_name: Option<String>,
    /// File extension to order, e.g. `mat`.
    pub extension: String,
    /// `dpo_*` options, prefilled with the product's defaults.
    pub options: Vec<(String, String)>,
    /// The product's `helpDocument` wiki URL.
    pub help_document: Option<String>,
    /// The location's `dataSearchURL`.
    pub data_search_url: Option<String>,
    /// The device's `deviceLink`.
    pub device_listing_url: Option<String>,
    /// Identifies the deployment this row came from (`--append` skips known deployments).
    pub deployment_key: String,
}

/// `location|device|deployment begin` — stable across periods and edits of request columns.
pub fn deployment_key(
    location: &LocationCode,
    device: &DeviceCode,
    deployment_begin: Option<Timestamp>,
) -> String {
    let begin = deployment_begin
        .map(crate::api::format_onc)
        .unwrap_or_else(|| "-".to_string());
    format!("{location}|{device}|{begin}")
}

/// `splitDateRange`: how a row's `[begin, end)` is cut into requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SplitRange {
    /// One request for the whole period.
    #[default]
    All,
    /// Cut at 1 January (UTC).
    Year,
    /// Cut at the first of each month (UTC).
    Month,
    /// Cut at the start of each week ([`Config::day_of_week`]).
    Week,
    /// Cut at each UTC midnight.
    Day,
}

impl SplitRange {
    /// Parses `all|year|month|week|day` (any case).
    pub fn parse(text: &str) -> Option<SplitRange> {
        match text.trim().to_ascii_lowercase().as_str() {
            "all" => Some(SplitRange::All),
            "year" => Some(SplitRange::Year),
            "month" => Some(SplitRange::Month),
            "week" => Some(SplitRange::Week),
            "day" => Some(SplitRange::Day),
            _ => None,
        }
    }

    /// The word written in the workbook (`all`, `year`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SplitRange::All => "all",
            SplitRange::Year => "year",
            SplitRange::Month => "month",
            SplitRange::Week => "week",
            SplitRange::Day => "day",
        }
    }
}

/// Parses `MO TU WE TH FR SA SU` (or full English names).
pub(crate) fn parse_weekday(text: &str) -> Option<Weekday> {
    let t = text.trim().to_ascii_lowercase();
    let two: String = t.chars().take(2).collect();
    if t.len() > 2 && !weekday_names().iter().any(|(n, _)| *n == t) {
        return None;
    }
    match two.as_str() {
        "mo" => Some(Weekday::Monday),
        "tu" => Some(Weekday::Tuesday),
        "we" => Some(Weekday::Wednesday),
        "th" => Some(Weekday::Thursday),
        "fr" => Some(Weekday::Friday),
        "sa" => Some(Weekday::Saturday),
        "su" => Some(Weekday::Sunday),
        _ => None,
    }
}

fn weekday_names() -> [(&'static str, Weekday); 7] {
    [
        ("monday", Weekday::Monday),
        ("tuesday", Weekday::Tuesday),
        ("wednesday", Weekday::Wednesday),
        ("thursday", Weekday::Thursday),
        ("friday", Weekday::Friday),
        ("saturday", Weekday::Saturday),
        ("sunday", Weekday::Sunday),
    ]
}

/// The two-letter code written in the workbook.
pub(crate) fn weekday_code(d: Weekday) -> &'static str {
    match d {
        Weekday::Monday => "MO",
        Weekday::Tuesday => "TU",
        Weekday::Wednesday => "WE",
        Weekday::Thursday => "TH",
        Weekday::Friday => "FR",
        Weekday::Saturday => "SA",
        Weekday::Sunday => "SU",
    }
}

/// The Configuration sheet (never the token: that comes from the environment).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where files go; relative paths are relative to the workbook's folder.
    pub download_folder: String,
    /// `splitDateRange`: how each row's period is cut into requests.
    pub split: SplitRange,
    /// First day of a week for `split = week`.
    pub day_of_week: Weekday,
    /// Data-product runs in flight at once (ONC: 4 per user is polite).
    pub run_threads: usize,
    /// Concurrent file downloads.
    pub download_threads: usize,
    /// Pending-download queue bound; `None` = unlimited.
    pub download_queue_size: Option<usize>,
    /// `beginRun`: UTC time of day from which work may start; equal to `end_run` = any time.
    pub begin_run: Time,
    /// `endRun`: UTC time of day to stop starting work (before `beginRun` = the window wraps midnight).
    pub end_run: Time,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            download_folder: ".".to_string(),
            split: SplitRange::All,
            day_of_week: Weekday::Sunday,
            run_threads: 4,
            download_threads: 10,
            download_queue_size: None,
            begin_run: Time::midnight(),
            end_run: Time::midnight(),
        }
    }
}

impl Config {
    /// The run window, `None` when `beginRun == endRun` (run at any time).
    pub fn run_window(&self) -> Option<(Time, Time)> {
        (self.begin_run != self.end_run).then_some((self.begin_run, self.end_run))
    }
}

/// One `dpo_*` option of a product, as `dataProducts` describes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OptionSpec {
    /// `option`: the option's name, e.g. `dpo_lowerColourLimit`.
    pub name: String,
    /// Allowed literal values (may be empty when only a range is given).
    pub allowed: Vec<String>,
    /// Inclusive numeric range, if any.
    pub range: Option<(f64, f64)>,
    /// `onlyIntegers`: whether only whole numbers are valid.
    pub only_integers: bool,
    /// `defaultValue`, when ONC gives one.
    pub default: Option<String>,
    /// The first `documentation` URL.
    pub documentation: Option<String>,
}

/// A product/extension pair and its options.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProductSpec {
    /// `dataProductName`.
    pub name: Option<String>,
    /// `helpDocument` wiki URL.
    pub help_document: Option<String>,
    /// The `dpo_*` options the product accepts.
    pub options: Vec<OptionSpec>,
}

impl ProductSpec {
    /// `dpo_name=default` for every option that has a default.
    pub fn default_options(&self) -> Vec<(String, String)> {
        self.options
            .iter()
            .filter_map(|o| o.default.clone().map(|d| (o.name.clone(), d)))
            .collect()
    }
}

/// What a request source offers: a device, or a device category at a location.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceKey {
    /// A device (the 'By Device' sheet).
    Device(DeviceCode),
    /// A device category at a location (the 'By Location' sheet).
    LocationCategory(LocationCode, DeviceCategoryCode),
}

impl fmt::Display for SourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceKey::Device(d) => write!(f, "device {d}"),
            SourceKey::LocationCategory(l, c) => write!(f, "{c} at {l}"),
        }
    }
}

/// Product/extension pair.
pub type ProductExt = (DataProductCode, String);

/// What each source offers, and each product's options: the basis of validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Offerings {
    /// Product/extension pairs each source offers.
    pub by_source: BTreeMap<SourceKey, BTreeSet<ProductExt>>,
    /// Options of each product/extension pair.
    pub products: BTreeMap<ProductExt, ProductSpec>,
}

impl Offerings {
    /// Records that `source` offers `product.ext` with `spec`.
    pub fn add(&mut self, source: SourceKey, product: ProductExt, spec: ProductSpec) {
        self.by_source
            .entry(source)
            .or_default()
            .insert(product.clone());
        self.products.entry(product).or_insert(spec);
    }

    /// `Some(true/false)` when the source is known, `None` when nothing is recorded for it.
    pub fn offers(&self, source: &SourceKey, product: &ProductExt) -> Option<bool> {
        self.by_source.get(source).map(|set| set.contains(product))
    }

    /// Adds everything from `other`; its product specs (fresher) replace recorded ones.
    pub fn merge(&mut self, other: Offerings) {
        for (s, set) in other.by_source {
            self.by_source.entry(s).or_default().extend(set);
        }
        for (p, spec) in other.products {
            self.products.insert(p, spec);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_loosely() {
        assert_eq!(
            Column::from_header("Data Product Options"),
            Some(Column::Options)
        );
        assert_eq!(
            Column::from_header("dataProductOptions"),
            Some(Column::Options)
        );
        assert_eq!(
            Column::from_header(" LOCATIONCODE "),
            Some(Column::LocationCode)
        );
        assert_eq!(Column::from_header("data_search"), Some(Column::DataSearch));
        assert_eq!(Column::from_header("my notes"), None);
        for c in Column::ALL {
            assert_eq!(Column::from_header(c.header()), Some(c));
        }
    }

    #[test]
    fn config_words_parse() {
        assert_eq!(SplitRange::parse(" Week "), Some(SplitRange::Week));
        assert_eq!(SplitRange::parse("fortnight"), None);
        assert_eq!(parse_weekday("SU"), Some(Weekday::Sunday));
        assert_eq!(parse_weekday("monday"), Some(Weekday::Monday));
        assert_eq!(parse_weekday("mox"), None);
        assert_eq!(parse_weekday(""), None);
        assert_eq!(Method::parse("byDevice"), Some(Method::ByDevice));
        assert_eq!(Method::parse("by-location"), Some(Method::ByLocation));
        assert_eq!(Method::parse("both"), None);
        assert!(Config::default().run_window().is_none());
    }
}
