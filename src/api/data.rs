//! Near-real-time data: `scalardata/{location,device}` and `rawdata/{location,device}`,
//! following `next` and concatenating pages (scalar: per `sensorCode`, every key under `data`;
//! raw: every key under `data`). Bare `NaN` values are tolerated (they decode as `null`).
//!
//! Must not know: what the sensors measure.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::archive::DeviceOrLocation;
use super::client::{next_params, Client, Paged, Params};
use super::error::ApiError;
use super::lenient::{string_opt, u64_opt, vec_or_null};
use super::time::{format_onc, parse_onc};

/// One sensor's series (all pages concatenated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SensorData {
    /// `sensorCode`: the sensor's code, e.g. `dart_pressure_residual`; pages are merged by it.
    pub sensor_code: String,
    /// `sensorName`: human-readable name, e.g. "DART Pressure Residual".
    #[serde(default, deserialize_with = "string_opt")]
    pub sensor_name: Option<String>,
    /// `sensorCategoryCode`: the sensor category (the `sensorCategoryCodes` filter value).
    #[serde(default, deserialize_with = "string_opt")]
    pub sensor_category_code: Option<String>,
    /// `unitOfMeasure`: unit of the values, e.g. `decibar`; may be absent.
    #[serde(default, deserialize_with = "string_opt")]
    pub unit_of_measure: Option<String>,
    /// `propertyCode`: the measured property; often absent in full responses.
    #[serde(default, deserialize_with = "string_opt")]
    pub property_code: Option<String>,
    /// `outputFormat`: `array` or `object`, the shape of `data`.
    #[serde(default, deserialize_with = "string_opt")]
    pub output_format: Option<String>,
    /// `actualSamples`: samples the server reported for this sensor, summed over the pages.
    #[serde(default, deserialize_with = "u64_opt")]
    pub actual_samples: Option<u64>,
    /// `{"sampleTimes": [...], "values": [...], "qaqcFlags": [...]}` (array format) or a list of
    /// `{sampleTime, value, qaqcFlag}` objects (object format).
    #[serde(default)]
    pub data: Value,
}

impl SensorData {
    fn column(&self, array_key: &str, object_key: &str) -> Vec<Value> {
        match &self.data {
            Value::Object(m) => m
                .get(array_key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            Value::Array(rows) => rows
                .iter()
                .map(|r| r.get(object_key).cloned().unwrap_or(Value::Null))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Sample times (unparsable entries are `None`).
    pub fn sample_times(&self) -> Vec<Option<Timestamp>> {
        self.column("sampleTimes", "sampleTime")
            .iter()
            .map(|v| v.as_str().and_then(|s| parse_onc(s).ok()))
            .collect()
    }

    /// Values (`NaN`/null/non-numbers are `None`).
    pub fn values(&self) -> Vec<Option<f64>> {
        self.column("values", "value")
            .iter()
            .map(Value::as_f64)
            .collect()
    }

    /// QAQC flags.
    pub fn qaqc_flags(&self) -> Vec<Option<i64>> {
        self.column("qaqcFlags", "qaqcFlag")
            .iter()
            .map(Value::as_i64)
            .collect()
    }

    /// Number of samples held.
    pub fn len(&self) -> usize {
        match &self.data {
            Value::Object(m) => m
                .get("sampleTimes")
                .and_then(Value::as_array)
                .map_or(0, Vec::len),
            Value::Array(a) => a.len(),
            _ => 0,
        }
    }

    /// True when no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Scalar data of one query, all pages.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScalarData {
    /// `sensorData`: one entry per sensor; empty when the device route sent `null` (no data).
    pub sensors: Vec<SensorData>,
    /// `qaqcFlagInfo`: QAQC flag number → meaning (e.g. `"1"` → "Data Passed All Tests").
    pub qaqc_flag_info: Map<String, Value>,
    /// `citations` of every page, as sent.
    pub citations: Vec<Value>,
    /// `messages` of every page, as sent.
    pub messages: Vec<Value>,
    /// `metadata` (with `metadata=Full`: `deviceCategoryCode`, `locationName`, `depth`, …); `None` when not sent.
    pub metadata: Option<Value>,
    /// Redacted `queryUrl` of the first page.
    pub query_url: Option<String>,
    /// Requests made.
    pub pages: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScalarPage {
    #[serde(default, deserialize_with = "vec_or_null")]
    sensor_data: Vec<SensorData>,
    #[serde(default)]
    qaqc_flag_info: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "vec_or_null")]
    citations: Vec<Value>,
    #[serde(default, deserialize_with = "vec_or_null")]
    messages: Vec<Value>,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    next: Option<Value>,
    #[serde(default, alias = "queryURL", deserialize_with = "string_opt")]
    query_url: Option<String>,
}

impl Paged for ScalarPage {
    fn next_params(&self) -> Option<Params> {
        next_params(&self.next)
    }
}

/// Raw data of one query, all pages (`lineTypes`, `readings`, `times`, … concatenated).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RawData {
    /// `data`: `lineTypes`, `readings`, `times` (and any other key) as arrays, pages concatenated.
    pub data: Map<String, Value>,
    /// `metadata`, e.g. `{"locationName": …}` (location route only); `None` when not sent.
    pub metadata: Option<Value>,
    /// `outputFormat` of the response, e.g. `array`.
    pub output_format: Option<String>,
    /// `citations` of every page, as sent.
    pub citations: Vec<Value>,
    /// `messages` of every page, as sent.
    pub messages: Vec<Value>,
    /// Redacted `queryUrl` of the first page.
    pub query_url: Option<String>,
    /// Requests made.
    pub pages: u32,
}

impl RawData {
    fn column(&self, key: &str) -> Vec<Value> {
        self.data
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// Reading times.
    pub fn times(&self) -> Vec<Option<Timestamp>> {
        self.column("times")
            .iter()
            .map(|v| v.as_str().and_then(|s| parse_onc(s).ok()))
            .collect()
    }

    /// Readings as text (hex strings, or numbers rendered).
    pub fn readings(&self) -> Vec<String> {
        self.column("readings")
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPage {
    #[serde(default)]
    data: Option<Map<String, Value>>,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default, deserialize_with = "string_opt")]
    output_format: Option<String>,
    #[serde(default, deserialize_with = "vec_or_null")]
    citations: Vec<Value>,
    #[serde(default, deserialize_with = "vec_or_null")]
    messages: Vec<Value>,
    #[serde(default)]
    next: Option<Value>,
    #[serde(default, alias = "queryURL", deserialize_with = "string_opt")]
    query_url: Option<String>,
}

impl Paged for RawPage {
    fn next_params(&self) -> Option<Params> {
        next_params(&self.next)
    }
}

/// Appends `more` to `into`: arrays are extended key by key, anything else replaced.
fn merge_data(into: &mut Value, more: Value) {
    match (into, more) {
        (Value::Object(a), Value::Object(b)) => merge_maps(a, b),
        (Value::Array(a), Value::Array(b)) => a.extend(b),
        (slot, more) => {
            if !more.is_null() {
                *slot = more;
            }
        }
    }
}

fn merge_maps(into: &mut Map<String, Value>, more: Map<String, Value>) {
    for (k, v) in more {
        match into.get_mut(&k) {
            Some(existing) => merge_data(existing, v),
            None => {
                into.insert(k, v);
            }
        }
    }
}

fn range_params(
    target: &DeviceOrLocation,
    date_from: Option<Timestamp>,
    date_to: Option<Timestamp>,
    options: &Params,
) -> Params {
    let mut p = Params::new();
    target.add_to(&mut p);
    p.set_opt("dateFrom", date_from.map(format_onc));
    p.set_opt("dateTo", date_to.map(format_onc));
    for (k, v) in options.iter() {
        p.set(k, v);
    }
    p
}

impl ScalarData {
    /// Adds one page: sensors merged by `sensorCode`, arrays concatenated.
    fn absorb(&mut self, page: ScalarPage) {
        if self.query_url.is_none() {
            self.query_url = page.query_url;
        }
        if let Some(info) = page.qaqc_flag_info {
            self.qaqc_flag_info.extend(info);
        }
        if self.citations.is_empty() {
            self.citations = page.citations;
        }
        self.messages.extend(page.messages);
        if page.metadata.is_some() {
            self.metadata = page.metadata;
        }
        for sensor in page.sensor_data {
            match self
                .sensors
                .iter_mut()
                .find(|s| s.sensor_code == sensor.sensor_code)
            {
                Some(existing) => {
                    existing.actual_samples = match (existing.actual_samples, sensor.actual_samples)
                    {
                        (Some(a), Some(b)) => Some(a + b),
                        (a, b) => a.or(b),
                    };
                    merge_data(&mut existing.data, sensor.data);
                }
                None => self.sensors.push(sensor),
            }
        }
    }
}

impl RawData {
    /// Adds one page: `data` arrays concatenated.
    fn absorb(&mut self, page: RawPage) {
        if self.query_url.is_none() {
            self.query_url = page.query_url;
        }
        if self.output_format.is_none() {
            self.output_format = page.output_format;
        }
        if page.metadata.is_some() {
            self.metadata = page.metadata;
        }
        if self.citations.is_empty() {
            self.citations = page.citations;
        }
        self.messages.extend(page.messages);
        if let Some(d) = page.data {
            merge_maps(&mut self.data, d);
        }
    }
}

impl Client {
    /// `scalardata/{device,location}` over `[date_from, date_to)` with further ONC options
    /// (`rowLimit`, `propertyCode`, `outputFormat`, …), every page merged per sensor.
    pub async fn scalar_data(
        &self,
        target: &DeviceOrLocation,
        date_from: Option<Timestamp>,
        date_to: Option<Timestamp>,
        options: &Params,
    ) -> Result<ScalarData, ApiError> {
        let service = format!("scalardata/{}", target.route());
        let params = range_params(target, date_from, date_to, options);
        let mut out = ScalarData::default();
        out.pages = self
            .for_each_page(&service, &params, |page: ScalarPage| {
                out.absorb(page);
                Ok(())
            })
            .await?;
        Ok(out)
    }

    /// [`Client::scalar_data`] one page at a time: `each` gets every page as its own
    /// [`ScalarData`] (`pages` = 1) before the next is fetched, so memory holds one page
    /// (at most `rowLimit` rows) however long the span. An error from `each` stops the walk.
    pub async fn scalar_data_pages(
        &self,
        target: &DeviceOrLocation,
        date_from: Option<Timestamp>,
        date_to: Option<Timestamp>,
        options: &Params,
        mut each: impl FnMut(ScalarData) -> Result<(), ApiError>,
    ) -> Result<u32, ApiError> {
        let service = format!("scalardata/{}", target.route());
        let params = range_params(target, date_from, date_to, options);
        self.for_each_page(&service, &params, |page: ScalarPage| {
            let mut one = ScalarData {
                pages: 1,
                ..ScalarData::default()
            };
            one.absorb(page);
            each(one)
        })
        .await
    }

    /// `rawdata/{device,location}` over `[date_from, date_to)`, every page merged.
    pub async fn raw_data(
        &self,
        target: &DeviceOrLocation,
        date_from: Option<Timestamp>,
        date_to: Option<Timestamp>,
        options: &Params,
    ) -> Result<RawData, ApiError> {
        let service = format!("rawdata/{}", target.route());
        let params = range_params(target, date_from, date_to, options);
        let mut out = RawData::default();
        out.pages = self
            .for_each_page(&service, &params, |page: RawPage| {
                out.absorb(page);
                Ok(())
            })
            .await?;
        Ok(out)
    }

    /// [`Client::raw_data`] one page at a time (see [`Client::scalar_data_pages`]).
    pub async fn raw_data_pages(
        &self,
        target: &DeviceOrLocation,
        date_from: Option<Timestamp>,
        date_to: Option<Timestamp>,
        options: &Params,
        mut each: impl FnMut(RawData) -> Result<(), ApiError>,
    ) -> Result<u32, ApiError> {
        let service = format!("rawdata/{}", target.route());
        let params = range_params(target, date_from, date_to, options);
        self.for_each_page(&service, &params, |page: RawPage| {
            let mut one = RawData {
                pages: 1,
                ..RawData::default()
            };
            one.absorb(page);
            each(one)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::lenient::nan_to_null;

    const PAGE1: &str = r#"{"messages": [], "next": {"parameters": {"deviceCode": "D", "dateFrom": "2021-01-28T00:00:02.231Z", "rowLimit": "3", "token": "REDACTED"}, "url": "u"},
 "parameters": {"deviceCode": "D"}, "queryUrl": "https://x/api/scalardata/device?token=REDACTED",
 "qaqcFlagInfo": {"0": "No Quality Control", "1": "Data Passed All Tests"},
 "citations": [{"citation": "c", "doi": "d", "landingPageUrl": "l", "queryPid": 123}],
 "sensorData": [{"actualSamples": 3, "outputFormat": "array",
   "sensorCategoryCode": "dart_pressure_residual", "sensorCode": "dart_pressure_residual",
   "sensorName": "DART Pressure Residual", "unitOfMeasure": "decibar",
   "data": {"qaqcFlags": [1, 1, 1],
            "sampleTimes": ["2021-01-28T00:00:00.227Z", "2021-01-28T00:00:01.229Z", "2021-01-28T00:00:02.230Z"],
            "values": [-0.00551, NaN, -0.00363]}}]}"#;
    const PAGE2: &str = r#"{"next": null, "sensorData": [{"actualSamples": 1, "sensorCode": "dart_pressure_residual",
   "data": {"qaqcFlags": [9], "sampleTimes": ["2021-01-28T00:00:03.231Z"], "values": [0.5]}}]}"#;

    #[test]
    fn scalar_pages_merge_per_sensor_with_nan() {
        let p1: ScalarPage = serde_json::from_str(&nan_to_null(PAGE1)).unwrap();
        assert_eq!(
            p1.next_params().unwrap().get("dateFrom"),
            Some("2021-01-28T00:00:02.231Z")
        );
        let p2: ScalarPage = serde_json::from_str(&nan_to_null(PAGE2)).unwrap();
        let mut first = p1.sensor_data.into_iter().next().unwrap();
        let second = p2.sensor_data.into_iter().next().unwrap();
        merge_data(&mut first.data, second.data);
        assert_eq!(first.len(), 4);
        assert_eq!(
            first.values(),
            vec![Some(-0.00551), None, Some(-0.00363), Some(0.5)]
        );
        assert_eq!(first.qaqc_flags().last(), Some(&Some(9)));
        assert_eq!(
            format_onc(first.sample_times()[3].unwrap()),
            "2021-01-28T00:00:03.231Z"
        );
    }

    #[test]
    fn null_sensor_data_and_object_format() {
        let p: ScalarPage = serde_json::from_str(r#"{"sensorData": null, "next": null}"#).unwrap();
        assert!(p.sensor_data.is_empty());
        let s: SensorData = serde_json::from_str(
            r#"{"sensorCode": "t", "data": [{"sampleTime": "2021-01-28T00:00:00.000Z", "value": 1.5, "qaqcFlag": 1}]}"#,
        )
        .unwrap();
        assert_eq!(s.values(), vec![Some(1.5)]);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn raw_pages_merge() {
        let j = r#"{"data": {"lineTypes": [" ", " "], "readings": ["3C5496E288C0BA7A759558AE00", "3C5496E388C0BAA275955B4700"],
          "times": ["2020-01-28T00:00:00.493Z", "2020-01-28T00:00:01.495Z"]},
 "metadata": {"locationName": "Bullseye"}, "next": null, "outputFormat": "array",
 "queryUrl": "https://data.oceannetworks.ca/api/rawdata/location?token=REDACTED", "citations": [], "messages": []}"#;
        let p: RawPage = serde_json::from_str(j).unwrap();
        let mut raw = RawData::default();
        merge_maps(&mut raw.data, p.data.clone().unwrap());
        merge_maps(&mut raw.data, p.data.unwrap());
        assert_eq!(raw.readings().len(), 4);
        assert_eq!(raw.times().len(), 4);
        assert!(raw.times().iter().all(Option::is_some));
    }
}
