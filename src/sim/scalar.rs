//! Near-real-time data: the
//! `scalardata/location|device` and `rawdata/location|device` endpoints (100,000-row pages,
//! `rowLimit`, `next.parameters.dateFrom` = last + 1 ms, `sensorData: null` for a device without
//! data, 400/127 for a location without data, optional bare `NaN` values). The values
//! themselves come from `readings.rs`.
//!
//! Must not know: job state, axum.

use serde_json::{json, Value};

use super::catalog::{Catalog, Device};
use super::clock::{from_ms, iso, ms};
use super::readings::{
    raw_reading, sample_times, sensors_of, value, MAX_ROWS, NAN_PLACEHOLDER, SENSORS,
};
use super::reply::{ApiError, Body, Reply};
use super::rng::unit;
use super::state::Ctx;

const SCALAR_PARAMS: &[&str] = &[
    "method",
    "locationCode",
    "deviceCategoryCode",
    "deviceCode",
    "propertyCode",
    "sensorCategoryCodes",
    "dateFrom",
    "dateTo",
    "metadata",
    "rowLimit",
    "outputFormat",
    "returnOptions",
    "getLatest",
    "qualityControl",
    "resampleType",
    "resamplePeriod",
    "fillGaps",
    "sensorsToInclude",
];
const RAW_PARAMS: &[&str] = &[
    "method",
    "locationCode",
    "deviceCategoryCode",
    "deviceCode",
    "dateFrom",
    "dateTo",
    "rowLimit",
    "sizeLimit",
    "convertHexToDecimal",
    "outputFormat",
    "getLatest",
    "skipErrors",
];

/// The devices and the time span a near-real-time request is about.
struct Source<'a> {
    devices: Vec<&'a Device>,
    at: Option<&'static str>,
    from: i64,
    to: i64,
    by_location: bool,
}

fn source<'a>(ctx: &'a Ctx, by_location: bool, allowed: &[&str]) -> Result<Source<'a>, ApiError> {
    let p = &ctx.params;
    p.check_names(allowed)?;
    let cat = &ctx.sim.catalog;
    let now = ctx.now();
    let w = p.window(now)?;
    let (devices, at) = if by_location {
        let missing: Vec<&str> = ["locationCode", "deviceCategoryCode"]
            .into_iter()
            .filter(|k| !p.has(k))
            .collect();
        if !missing.is_empty() {
            return Err(ApiError::missing(&missing));
        }
        let lc = p.require("locationCode")?;
        let cc = p.require("deviceCategoryCode")?;
        let loc = cat.location(lc).ok_or_else(|| {
            ApiError::invalid("locationCode", format!("Invalid location code: {lc}"))
        })?;
        cat.category(cc).ok_or_else(|| {
            ApiError::invalid(
                "deviceCategoryCode",
                format!("Invalid device category code: {cc}"),
            )
        })?;
        let mut devs: Vec<&Device> = Vec::new();
        for d in cat
            .deployments
            .iter()
            .filter(|d| d.location == loc.code && Catalog::overlaps(d, w.from, w.to))
        {
            if let Some(dev) = cat.device(d.device).filter(|x| x.category == cc) {
                if !devs.iter().any(|x| x.code == dev.code) {
                    devs.push(dev);
                }
            }
        }
        (devs, Some(loc.code))
    } else {
        let dc = p.require("deviceCode")?;
        let dev = cat
            .device(dc)
            .ok_or_else(|| ApiError::invalid("deviceCode", format!("Invalid device code: {dc}")))?;
        (vec![dev], None)
    };
    let to = w.to.map(ms).unwrap_or(ms(now)).min(ms(now));
    let from = w.from.map(ms).unwrap_or(to - 86_400_000);
    Ok(Source {
        devices,
        at,
        from,
        to,
        by_location,
    })
}

fn no_data_at_location(ctx: &Ctx) -> ApiError {
    ApiError::bad(
        super::reply::ErrorCode::InvalidValue,
        format!(
            "A device with category {} was deployed at location {} but not during the provided time range, or no data were found",
            ctx.params.get("deviceCategoryCode").unwrap_or(""),
            ctx.params.get("locationCode").unwrap_or("")
        ),
        "locationCode,deviceCategoryCode,dateFrom,dateTo",
    )
}

fn qaqc_info() -> Value {
    json!({"0": "No Quality Control", "1": "Data Passed All Tests", "2": "Data Probably Good",
           "3": "Data Probably Bad", "4": "Data Bad", "6": "Insufficient Valid Data for Down-sampling",
           "7": "Averaged Value", "8": "Interpolated Value", "9": "Missing Data"})
}

/// `scalardata/location` and `scalardata/device` (and their legacy `method=` forms).
pub(crate) fn scalardata(ctx: &Ctx, by_location: bool) -> Result<Reply, ApiError> {
    let src = source(ctx, by_location, SCALAR_PARAMS)?;
    let p = &ctx.params;
    let limit = p.positive("rowLimit")?.unwrap_or(MAX_ROWS).min(MAX_ROWS);
    let latest = p.flag("getLatest", false)?;
    let object = p
        .one_of("outputFormat", &["array", "object"])?
        .unwrap_or("array")
        == "object";
    let exclude = p.one_of("returnOptions", &["excludeScalarData"])?.is_some();
    let full = p
        .one_of("metadata", &["Minimum", "minimum", "Full", "full"])?
        .is_some_and(|m| m.eq_ignore_ascii_case("full"));
    let props: Option<Vec<&str>> = p
        .get("propertyCode")
        .map(|s| s.split(',').map(str::trim).collect());
    if let Some(ps) = &props {
        if let Some(bad) = ps.iter().find(|c| ctx.sim.catalog.property(c).is_none()) {
            return Err(ApiError::invalid(
                "propertyCode",
                format!("Invalid property code: {bad}"),
            ));
        }
    }
    let cats: Option<Vec<String>> = p
        .get("sensorCategoryCodes")
        .map(|s| s.split(',').map(|x| x.trim().to_lowercase()).collect());
    let nan = ctx.sim.config.scalar_nan;
    let mut sensor_data = Vec::new();
    let mut next_from: Option<i64> = None;
    let mut rows = 0;
    for dev in &src.devices {
        let times = sample_times(
            &ctx.sim.catalog,
            dev,
            src.at,
            src.from,
            src.to,
            if latest {
                limit.min(p.positive("rowLimit")?.unwrap_or(1))
            } else {
                limit
            },
            latest,
        );
        let more = !latest && times.len() > limit;
        let times = &times[..times.len().min(limit)];
        if more {
            if let Some(last) = times.last() {
                next_from = Some(next_from.map_or(last + 1, |n: i64| n.min(last + 1)));
            }
        }
        for (idx, (prop, code, name, uom)) in sensors_of(dev).into_iter().enumerate() {
            let sidx = SENSORS.iter().position(|s| s.1 == code).unwrap_or(idx);
            if props.as_ref().is_some_and(|ps| !ps.contains(&prop)) {
                continue;
            }
            if cats
                .as_ref()
                .is_some_and(|cs| !cs.contains(&code.to_lowercase()))
            {
                continue;
            }
            if times.is_empty() {
                continue;
            }
            rows += times.len();
            let mut item = json!({"actualSamples": times.len(), "outputFormat": if object { "object" } else { "array" },
                "propertyCode": prop, "sensorCategoryCode": code.to_lowercase(), "sensorCode": code,
                "sensorName": name, "unitOfMeasure": uom});
            if !exclude {
                let vals: Vec<Value> = times
                    .iter()
                    .map(|&t| {
                        let v = value(dev, sidx, t, nan);
                        if v.is_nan() {
                            json!(NAN_PLACEHOLDER)
                        } else {
                            json!(v)
                        }
                    })
                    .collect();
                let flags: Vec<u8> = times
                    .iter()
                    .map(|&t| {
                        if unit(dev.seed ^ 7, t as u64) < 0.01 {
                            2
                        } else {
                            1
                        }
                    })
                    .collect();
                let stimes: Vec<String> = times.iter().map(|&t| iso(from_ms(t))).collect();
                item["data"] = if object {
                    Value::Array(
                        stimes
                            .iter()
                            .zip(vals)
                            .zip(flags)
                            .map(|((s, v), f)| json!({"sampleTime": s, "value": v, "qaqcFlag": f}))
                            .collect(),
                    )
                } else {
                    json!({"qaqcFlags": flags, "sampleTimes": stimes, "values": vals})
                };
            }
            sensor_data.push(item);
        }
    }
    if sensor_data.is_empty() && src.by_location {
        return Err(no_data_at_location(ctx));
    }
    let mut body = json!({
        "citations": citations(ctx, &src.devices),
        "messages": [],
        "next": next_from.map_or(Value::Null, |n| ctx.next(&[("dateFrom", iso(from_ms(n)))])),
        "parameters": ctx.params.without(&["token"]).to_json(),
        "qaqcFlagInfo": qaqc_info(),
        "queryUrl": ctx.query_url(),
        "sensorData": if sensor_data.is_empty() { Value::Null } else { Value::Array(sensor_data) },
    });
    if full {
        let loc = src.at.and_then(|c| ctx.sim.catalog.location(c));
        body["metadata"] = json!({"deviceCategoryCode": src.devices.first().map(|d| d.category),
            "locationName": loc.map(|l| l.name), "depth": loc.and_then(|l| l.depth),
            "deviceCode": src.devices.first().map(|d| d.code)});
    }
    let text = serde_json::to_string(&body).unwrap_or_default();
    let text = text.replace(&format!("\"{NAN_PLACEHOLDER}\""), "NaN");
    Ok(Reply {
        status: 200,
        body: Body::RawJson(text),
        rows,
    })
}

fn citations(ctx: &Ctx, devices: &[&Device]) -> Value {
    let cat = &ctx.sim.catalog;
    Value::Array(devices.iter().filter_map(|d| cat.deployments_of(d.code).last().copied()).map(|d| {
        let doi = Catalog::doi(d);
        json!({"citation": format!("Ocean Networks Canada Society. {}. {} Deployed {}. https://doi.org/{doi}", &iso(d.begin)[..4], d.device, &iso(d.begin)[..10]),
               "doi": doi, "landingPageUrl": format!("https://doi.org/{doi}"), "queryPid": Value::Null})
    }).collect())
}

/// `rawdata/location` and `rawdata/device`.
pub(crate) fn rawdata(ctx: &Ctx, by_location: bool) -> Result<Reply, ApiError> {
    let src = source(ctx, by_location, RAW_PARAMS)?;
    let p = &ctx.params;
    let limit = p.positive("rowLimit")?.unwrap_or(MAX_ROWS).min(MAX_ROWS);
    let latest = p.flag("getLatest", false)?;
    let dec = p.flag("convertHexToDecimal", false)?;
    let mut times_all: Vec<(i64, &Device)> = Vec::new();
    for dev in &src.devices {
        for t in sample_times(
            &ctx.sim.catalog,
            dev,
            src.at,
            src.from,
            src.to,
            limit,
            latest,
        ) {
            times_all.push((t, dev));
        }
    }
    times_all.sort_by_key(|x| x.0);
    let more = !latest && times_all.len() > limit;
    times_all.truncate(limit);
    if times_all.is_empty() && src.by_location {
        return Err(no_data_at_location(ctx));
    }
    let readings: Vec<Value> = times_all
        .iter()
        .map(|(t, d)| {
            let hex = raw_reading(d, *t);
            if dec {
                json!(u128::from_str_radix(&hex, 16)
                    .map(|v| v.to_string())
                    .unwrap_or(hex))
            } else {
                json!(hex)
            }
        })
        .collect();
    let next = match (more, times_all.last()) {
        (true, Some((t, _))) => ctx.next(&[("dateFrom", iso(from_ms(t + 1)))]),
        _ => Value::Null,
    };
    let mut body = json!({
        "citations": citations(ctx, &src.devices),
        "data": {"lineTypes": vec![" "; readings.len()], "readings": readings,
                 "times": times_all.iter().map(|(t, _)| iso(from_ms(*t))).collect::<Vec<_>>()},
        "messages": [], "next": next, "outputFormat": "array", "queryUrl": ctx.query_url(),
    });
    if let Some(loc) = src.at.and_then(|c| ctx.sim.catalog.location(c)) {
        body["metadata"] = json!({"locationName": loc.name});
    }
    Ok(Reply::ok(body).with_rows(times_all.len()))
}
