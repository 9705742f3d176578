//! Discovery services: `locations`, `locations/tree`, `deployments`, `devices`,
//! `deviceCategories`, `properties`, `dataProducts`, `dataAvailability/dataproducts`.
//!
//! Two sources answer. The real catalog (`snapshot`: 1,899 locations, 2,903 devices, 127
//! categories, 215 properties, 294 product/extension pairs) answers every query a record can
//! decide by itself: no filter, or filters on the record's own code, name, description,
//! category (devices) or extension (products). Queries that need relations the snapshot does
//! not hold (which devices are deployed where, which property a device measures, dates) are
//! answered from the modelled catalog — the devices with simulated content — and a modelled
//! entity that exists in the real catalog is always shown with its real record. A real code
//! without a model is a valid filter value (no 400) that simply matches no modelled content.
//! The tree and `deployments` are modelled only (the snapshot has neither).
//! Field names follow the real records (string booleans on locations, categories, properties and
//! the tree), empty matches answer 404 (deployments: 400/127), unknown codes 400/127.
//!
//! Must not know: job state, axum.

use serde_json::{json, Value};

use super::archive;
use super::catalog::{Catalog, Category, Deployment, Device, Location, Product, Property};
use super::clock::iso;
use super::params::Window;
use super::reply::{ApiError, Reply};
use super::snapshot::{self, SnapshotTable};
use super::state::Ctx;

/// Validated discovery filters.
struct Filters<'a> {
    location: Option<&'a Location>,
    category: Option<&'a Category>,
    device: Option<&'a Device>,
    property: Option<&'a Property>,
    product: Option<&'a Product>,
    extension: Option<&'a str>,
    window: Window,
    /// A filter names a real entity that has no model: no modelled content can match.
    unmodelled: bool,
}

impl Filters<'_> {
    /// Whether any filter narrows the set of deployments.
    fn narrows(&self) -> bool {
        self.category.is_some()
            || self.device.is_some()
            || self.property.is_some()
            || self.product.is_some()
            || self.extension.is_some()
            || self.window.from.is_some()
            || self.window.to.is_some()
    }
}

/// The modelled entity named by `key`, `None` when absent or real-only (then `unmodelled` is
/// set), 400/127 when neither the model nor the real catalog knows the code.
fn pick<'a, T>(
    ctx: &Ctx,
    key: &str,
    table: SnapshotTable,
    modelled: impl Fn(&str) -> Option<&'a T>,
    unmodelled: &mut bool,
) -> Result<Option<&'a T>, ApiError> {
    let Some(v) = ctx.params.get(key) else {
        return Ok(None);
    };
    if let Some(m) = modelled(v) {
        return Ok(Some(m));
    }
    if snapshot::real(table, v).is_empty() {
        return Err(ApiError::invalid(key, format!("Invalid {key}: {v}")));
    }
    *unmodelled = true;
    Ok(None)
}

fn filters<'a>(ctx: &'a Ctx, allowed: &[&str]) -> Result<Filters<'a>, ApiError> {
    let p = &ctx.params;
    p.check_names(allowed)?;
    let cat = &ctx.sim.catalog;
    let mut unmodelled = false;
    let u = &mut unmodelled;
    let location = pick(
        ctx,
        "locationCode",
        SnapshotTable::Locations,
        |v| cat.location(v),
        u,
    )?;
    let category = pick(
        ctx,
        "deviceCategoryCode",
        SnapshotTable::DeviceCategories,
        |v| cat.category(v),
        u,
    )?;
    let device = pick(
        ctx,
        "deviceCode",
        SnapshotTable::Devices,
        |v| cat.device(v),
        u,
    )?;
    let property = pick(
        ctx,
        "propertyCode",
        SnapshotTable::Properties,
        |v| cat.property(v),
        u,
    )?;
    let product = pick(
        ctx,
        "dataProductCode",
        SnapshotTable::DataProducts,
        |v| cat.product(v),
        u,
    )?;
    let window = p.window(ctx.now())?;
    Ok(Filters {
        location,
        category,
        device,
        property,
        product,
        extension: p.get("extension"),
        window,
        unmodelled,
    })
}

/// Whether any of `keys` is given (filters the real snapshot cannot decide).
fn any_of(ctx: &Ctx, keys: &[&str]) -> bool {
    keys.iter().any(|k| ctx.params.has(k))
}

/// Whether parameter `key` is absent or equals `value`.
fn param_is(ctx: &Ctx, key: &str, value: &str) -> bool {
    ctx.params.get(key).is_none_or(|v| v == value)
}

/// A real record passes the filters it can decide itself: `exact` fields equal the parameter,
/// `contains` fields contain it (case-insensitive).
fn real_passes(ctx: &Ctx, r: &Value, exact: &[(&str, &str)], contains: &[(&str, &str)]) -> bool {
    exact.iter().all(|(param, fld)| {
        ctx.params
            .get(param)
            .is_none_or(|v| snapshot::field(r, fld) == v)
    }) && contains
        .iter()
        .all(|(param, fld)| contains_ci(snapshot::field(r, fld), ctx.params.get(param)))
}

/// The real table filtered by `keep`, followed by the modelled-only records (entities the
/// simulator models that the real catalog lacks, e.g. NAXYS_HYD-023).
fn real_then_modelled(
    table: SnapshotTable,
    keep: impl Fn(&Value) -> bool,
    modelled_only: Vec<Value>,
) -> Vec<Value> {
    snapshot::records(table)
        .iter()
        .filter(|r| keep(r))
        .cloned()
        .chain(modelled_only)
        .collect()
}

/// The real record of a modelled entity, or the synthetic one when the snapshot lacks it.
fn real_or(table: SnapshotTable, code: &str, synthetic: impl FnOnce() -> Value) -> Value {
    snapshot::real_one(table, code)
        .cloned()
        .unwrap_or_else(synthetic)
}

fn measures(dev: &Device, prop: &Property) -> bool {
    prop.categories.contains(&dev.category)
        && (dev.properties.is_empty() || dev.properties.contains(&prop.code))
}

fn offers(dev: &Device, product: Option<&Product>, ext: Option<&str>, cat: &Catalog) -> bool {
    match product {
        Some(p) => {
            p.categories.contains(&dev.category) && ext.is_none_or(|e| p.extensions.contains(&e))
        }
        None => ext.is_none_or(|e| {
            cat.products
                .iter()
                .any(|p| p.categories.contains(&dev.category) && p.extensions.contains(&e))
        }),
    }
}

/// Whether a deployment passes the device-level filters (not the location filter).
fn dep_matches(cat: &Catalog, f: &Filters, d: &Deployment) -> bool {
    let Some(dev) = cat.device(d.device) else {
        return false;
    };
    f.category.is_none_or(|c| dev.category == c.code)
        && f.device.is_none_or(|x| x.code == dev.code)
        && f.property.is_none_or(|p| measures(dev, p))
        && offers(dev, f.product, f.extension, cat)
        && Catalog::overlaps(d, f.window.from, f.window.to)
}

fn contains_ci(hay: &str, needle: Option<&str>) -> bool {
    needle.is_none_or(|n| hay.to_lowercase().contains(&n.to_lowercase()))
}

fn s_bool(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

fn has_property_data(cat: &Catalog, code: &str) -> bool {
    cat.deployments.iter().any(|d| {
        d.location == code
            && cat
                .device(d.device)
                .is_some_and(|x| !x.properties.is_empty())
    })
}

fn non_empty(items: Vec<Value>, what: &str) -> Result<Reply, ApiError> {
    if items.is_empty() {
        Err(ApiError::not_found(format!(
            "No {what} found for the given filters."
        )))
    } else {
        Ok(Reply::ok(Value::Array(items)))
    }
}

/// Locations with a matching deployment (or all when nothing narrows), by name filter.
fn matching_locations<'a>(ctx: &'a Ctx, f: &Filters) -> Vec<&'a Location> {
    let cat = &ctx.sim.catalog;
    let name = ctx.params.get("locationName");
    cat.locations
        .iter()
        .filter(|l| contains_ci(l.name, name))
        .filter(|l| {
            !f.narrows()
                || cat
                    .deployments
                    .iter()
                    .any(|d| d.location == l.code && dep_matches(cat, f, d))
        })
        .collect()
}

const LOC_KEYS: &[&str] = &[
    "method",
    "locationCode",
    "locationName",
    "deviceCategoryCode",
    "deviceCode",
    "propertyCode",
    "dataProductCode",
    "dateFrom",
    "dateTo",
    "includeChildren",
];

pub(crate) fn locations(ctx: &Ctx) -> Result<Reply, ApiError> {
    let f = filters(ctx, LOC_KEYS)?;
    let cat = &ctx.sim.catalog;
    let children = ctx.params.flag("includeChildren", false)?;
    let synthetic = |l: &Location| {
        let leaf = !cat.locations.iter().any(|x| x.parent == Some(l.code));
        let n = cat
            .deployments
            .iter()
            .filter(|d| d.location == l.code)
            .count();
        let bbox = if leaf {
            json!({"maxDepth": l.depth.map(|d| d + 2.0), "maxLat": l.lat + 0.0002, "maxLon": l.lon + 0.0002,
                   "minDepth": l.depth.map(|d| d - 2.0), "minLat": l.lat - 0.0002, "minLon": l.lon - 0.0002})
        } else {
            Value::Null
        };
        json!({"locationCode": l.code, "locationName": l.name, "description": format!(" {}", l.description),
               "deployments": n, "hasDeviceData": s_bool(n > 0), "hasPropertyData": s_bool(has_property_data(cat, l.code)),
               "lat": l.lat, "lon": l.lon, "depth": l.depth, "bbox": bbox,
               "dataSearchURL": format!("https://data.oceannetworks.ca/DataSearch?location={}", l.code)})
    };
    let real = |l: &Location| real_or(SnapshotTable::Locations, l.code, || synthetic(l));
    // The parent/child relation is modelled only: a modelled parent with includeChildren
    // answers its modelled subtree.
    let subtree = f.location.filter(|_| children).map(|l| cat.subtree(l.code));
    let relational = &[
        "deviceCategoryCode",
        "deviceCode",
        "propertyCode",
        "dataProductCode",
        "dateFrom",
        "dateTo",
    ];
    if !any_of(ctx, relational) && subtree.is_none() {
        let name = ctx.params.get("locationName");
        let modelled_only = cat
            .locations
            .iter()
            .filter(|l| snapshot::real_one(SnapshotTable::Locations, l.code).is_none())
            .filter(|l| contains_ci(l.name, name) && param_is(ctx, "locationCode", l.code))
            .map(synthetic)
            .collect();
        let keep = |r: &Value| {
            real_passes(
                ctx,
                r,
                &[("locationCode", "locationCode")],
                &[("locationName", "locationName")],
            )
        };
        return non_empty(
            real_then_modelled(SnapshotTable::Locations, keep, modelled_only),
            "locations",
        );
    }
    if f.unmodelled {
        return non_empty(Vec::new(), "locations");
    }
    let scope: Option<Vec<&str>> = match (subtree, f.location) {
        (Some(s), _) => Some(s),
        (None, Some(l)) => Some(vec![l.code]),
        (None, None) => None,
    };
    let items = matching_locations(ctx, &f)
        .into_iter()
        .filter(|l| scope.as_ref().is_none_or(|s| s.contains(&l.code)))
        .map(real)
        .collect();
    non_empty(items, "locations")
}

fn tree_node(cat: &Catalog, l: &Location, keep: &dyn Fn(&Location) -> bool) -> Option<Value> {
    let children: Vec<Value> = cat
        .locations
        .iter()
        .filter(|c| c.parent == Some(l.code))
        .filter_map(|c| tree_node(cat, c, keep))
        .collect();
    if children.is_empty() && !keep(l) {
        return None;
    }
    let has_dev = cat.deployments.iter().any(|d| d.location == l.code);
    Some(
        json!({"locationCode": l.code, "locationName": l.name, "description": format!(" {}", l.description),
        "hasDeviceData": s_bool(has_dev), "hasPropertyData": s_bool(has_property_data(cat, l.code)),
        "children": if children.is_empty() { Value::Null } else { Value::Array(children) }}),
    )
}

pub(crate) fn tree(ctx: &Ctx) -> Result<Reply, ApiError> {
    let keys: Vec<&str> = LOC_KEYS
        .iter()
        .copied()
        .filter(|k| *k != "includeChildren")
        .collect();
    let f = filters(ctx, &keys)?;
    if f.unmodelled {
        return non_empty(Vec::new(), "locations");
    }
    let cat = &ctx.sim.catalog;
    let matched: Vec<&str> = matching_locations(ctx, &f).iter().map(|l| l.code).collect();
    let keep = |l: &Location| matched.contains(&l.code);
    let roots: Vec<&Location> = match f.location {
        Some(l) => vec![l],
        None => cat
            .locations
            .iter()
            .filter(|l| l.parent.is_none())
            .collect(),
    };
    let items = roots
        .into_iter()
        .filter_map(|r| tree_node(cat, r, &keep))
        .collect();
    non_empty(items, "locations")
}

pub(crate) fn deployments(ctx: &Ctx) -> Result<Reply, ApiError> {
    let f = filters(
        ctx,
        &[
            "method",
            "locationCode",
            "deviceCategoryCode",
            "deviceCode",
            "propertyCode",
            "dateFrom",
            "dateTo",
        ],
    )?;
    let cat = &ctx.sim.catalog;
    let items: Vec<Value> = cat
        .deployments
        .iter()
        .filter(|_| !f.unmodelled)
        .filter(|d| f.location.is_none_or(|l| l.code == d.location) && dep_matches(cat, &f, d))
        .map(|d| {
            let l = cat.location(d.location);
            let cc = cat.device(d.device).map_or("", |x| x.category);
            let doi = Catalog::doi(d);
            json!({"begin": iso(d.begin), "end": d.end.map(iso), "deviceCode": d.device, "deviceCategoryCode": cc,
                   "locationCode": d.location, "hasDeviceData": true, "lat": l.map(|l| l.lat), "lon": l.map(|l| l.lon),
                   "depth": d.depth, "heading": d.heading, "pitch": Value::Null, "roll": Value::Null,
                   "citation": {"citation": format!("Ocean Networks Canada Society. {}. {} Deployed {}. https://doi.org/{doi}", &iso(d.begin)[..4], d.device, &iso(d.begin)[..10]),
                                "doi": doi, "landingPageUrl": format!("https://doi.org/{doi}"), "queryPid": Value::Null}})
        })
        .collect();
    if items.is_empty() {
        return Err(ApiError::bad(
            super::reply::ErrorCode::InvalidValue,
            "there is no deployment matching the given filters",
            "locationCode,deviceCategoryCode,deviceCode,propertyCode,dateFrom,dateTo",
        ));
    }
    Ok(Reply::ok(Value::Array(items)))
}

fn device_has_dep(cat: &Catalog, f: &Filters, dev: &Device) -> bool {
    cat.deployments.iter().any(|d| {
        d.device == dev.code
            && f.location.is_none_or(|l| l.code == d.location)
            && dep_matches(cat, f, d)
    })
}

pub(crate) fn devices(ctx: &Ctx) -> Result<Reply, ApiError> {
    let f = filters(
        ctx,
        &[
            "method",
            "deviceCode",
            "deviceName",
            "deviceCategoryCode",
            "locationCode",
            "propertyCode",
            "dataProductCode",
            "dateFrom",
            "dateTo",
        ],
    )?;
    let cat = &ctx.sim.catalog;
    let name = ctx.params.get("deviceName");
    let synthetic = |d: &Device| {
        let period = d
            .sample_rate
            .map_or(d.sample_period_s, |r| 1.0 / f64::from(r));
        let first = cat.deployments_of(d.code).first().map(|x| iso(x.begin));
        json!({"deviceCode": d.code, "deviceId": d.id, "deviceName": d.name, "deviceCategoryCode": d.category,
               "deviceLink": format!("https://data.oceannetworks.ca/DeviceListing?DeviceId={}", d.id), "hasDeviceData": true,
               "cvTerm": {"device": [{"uri": format!("http://vocab.nerc.ac.uk/collection/L22/current/TOOL{}/", 1000 + d.id % 1000), "vocabulary": "SeaVoX Device Catalogue"}]},
               "dataRating": [{"dateFrom": first, "dateTo": Value::Null, "samplePeriod": period, "sampleSize": 1}]})
    };
    let relational = &[
        "locationCode",
        "propertyCode",
        "dataProductCode",
        "dateFrom",
        "dateTo",
    ];
    if !any_of(ctx, relational) {
        let modelled_only = cat
            .devices
            .iter()
            .filter(|d| snapshot::real_device(d.code).is_none() && contains_ci(d.name, name))
            .filter(|d| param_is(ctx, "deviceCode", d.code))
            .filter(|d| param_is(ctx, "deviceCategoryCode", d.category))
            .map(synthetic)
            .collect();
        let keep = |r: &Value| {
            real_passes(
                ctx,
                r,
                &[
                    ("deviceCode", "deviceCode"),
                    ("deviceCategoryCode", "deviceCategoryCode"),
                ],
                &[("deviceName", "deviceName")],
            )
        };
        return non_empty(
            real_then_modelled(SnapshotTable::Devices, keep, modelled_only),
            "devices",
        );
    }
    if f.unmodelled {
        return non_empty(Vec::new(), "devices");
    }
    let items = cat
        .devices
        .iter()
        .filter(|d| contains_ci(d.name, name) && device_has_dep(cat, &f, d))
        .map(|d| real_or(SnapshotTable::Devices, d.code, || synthetic(d)))
        .collect();
    non_empty(items, "devices")
}

pub(crate) fn device_categories(ctx: &Ctx) -> Result<Reply, ApiError> {
    let f = filters(
        ctx,
        &[
            "method",
            "deviceCategoryCode",
            "deviceCategoryName",
            "description",
            "locationCode",
            "propertyCode",
        ],
    )?;
    let cat = &ctx.sim.catalog;
    let (name, descr) = (
        ctx.params.get("deviceCategoryName"),
        ctx.params.get("description"),
    );
    let synthetic = |c: &Category| {
        json!({"deviceCategoryCode": c.code, "deviceCategoryName": c.name, "description": c.description,
               "longDescription": c.long_description, "hasDeviceData": "true",
               "cvTerm": {"deviceCategory": [{"uri": c.vocab_uri, "vocabulary": "SeaDataNet device categories"}]}})
    };
    let mine = |c: &&Category| contains_ci(c.name, name) && contains_ci(c.description, descr);
    if !any_of(ctx, &["locationCode", "propertyCode"]) {
        let modelled_only = cat
            .categories
            .iter()
            .filter(|c| snapshot::real_one(SnapshotTable::DeviceCategories, c.code).is_none())
            .filter(|c| mine(c) && param_is(ctx, "deviceCategoryCode", c.code))
            .map(synthetic)
            .collect();
        let keep = |r: &Value| {
            real_passes(
                ctx,
                r,
                &[("deviceCategoryCode", "deviceCategoryCode")],
                &[
                    ("deviceCategoryName", "deviceCategoryName"),
                    ("description", "description"),
                ],
            )
        };
        return non_empty(
            real_then_modelled(SnapshotTable::DeviceCategories, keep, modelled_only),
            "device categories",
        );
    }
    if f.unmodelled {
        return non_empty(Vec::new(), "device categories");
    }
    let items = cat
        .categories
        .iter()
        .filter(mine)
        .filter(|c| f.category.is_none_or(|x| x.code == c.code))
        .filter(|c| {
            cat.devices
                .iter()
                .any(|d| d.category == c.code && device_has_dep(cat, &f, d))
        })
        .map(|c| real_or(SnapshotTable::DeviceCategories, c.code, || synthetic(c)))
        .collect();
    non_empty(items, "device categories")
}

pub(crate) fn properties(ctx: &Ctx) -> Result<Reply, ApiError> {
    let f = filters(
        ctx,
        &[
            "method",
            "propertyCode",
            "propertyName",
            "description",
            "locationCode",
            "deviceCategoryCode",
            "deviceCode",
        ],
    )?;
    let cat = &ctx.sim.catalog;
    let (name, descr) = (
        ctx.params.get("propertyName"),
        ctx.params.get("description"),
    );
    let synthetic = |p: &Property| {
        json!({"propertyCode": p.code, "propertyName": p.name, "description": p.description, "uom": p.uom,
               "hasDeviceData": "true", "hasPropertyData": "true",
               "cvTerm": {"property": [], "uom": [{"uri": "http://vocab.nerc.ac.uk/collection/P06/current/", "vocabulary": "BODC data storage units"}]}})
    };
    let mine = |p: &&Property| contains_ci(p.name, name) && contains_ci(p.description, descr);
    if !any_of(ctx, &["locationCode", "deviceCategoryCode", "deviceCode"]) {
        let modelled_only = cat
            .properties
            .iter()
            .filter(|p| snapshot::real_one(SnapshotTable::Properties, p.code).is_none())
            .filter(|p| mine(p) && param_is(ctx, "propertyCode", p.code))
            .map(synthetic)
            .collect();
        let keep = |r: &Value| {
            real_passes(
                ctx,
                r,
                &[("propertyCode", "propertyCode")],
                &[
                    ("propertyName", "propertyName"),
                    ("description", "description"),
                ],
            )
        };
        return non_empty(
            real_then_modelled(SnapshotTable::Properties, keep, modelled_only),
            "properties",
        );
    }
    if f.unmodelled {
        return non_empty(Vec::new(), "properties");
    }
    let items = cat
        .properties
        .iter()
        .filter(mine)
        .filter(|p| f.property.is_none_or(|x| x.code == p.code))
        .filter(|p| {
            cat.devices.iter().any(|d| {
                measures(d, p)
                    && f.device.is_none_or(|x| x.code == d.code)
                    && f.category.is_none_or(|c| c.code == d.category)
                    && f.location.is_none_or(|l| {
                        cat.deployments
                            .iter()
                            .any(|x| x.device == d.code && x.location == l.code)
                    })
            })
        })
        .map(|p| real_or(SnapshotTable::Properties, p.code, || synthetic(p)))
        .collect();
    non_empty(items, "properties")
}

pub(crate) fn data_products(ctx: &Ctx) -> Result<Reply, ApiError> {
    let f = filters(
        ctx,
        &[
            "method",
            "dataProductCode",
            "dataProductName",
            "extension",
            "propertyCode",
            "locationCode",
            "deviceCategoryCode",
            "deviceCode",
        ],
    )?;
    let cat = &ctx.sim.catalog;
    let name = ctx.params.get("dataProductName");
    // Every modelled product/extension pair is a real one (`catalog::tests`), so answers are
    // the real records.
    let real = |p: &Product, ext: &str| snapshot::real_product(p.code, ext).cloned();
    if !any_of(
        ctx,
        &[
            "propertyCode",
            "locationCode",
            "deviceCategoryCode",
            "deviceCode",
        ],
    ) {
        let modelled_only = Vec::new();
        let keep = |r: &Value| {
            real_passes(
                ctx,
                r,
                &[
                    ("dataProductCode", "dataProductCode"),
                    ("extension", "extension"),
                ],
                &[("dataProductName", "dataProductName")],
            )
        };
        return non_empty(
            real_then_modelled(SnapshotTable::DataProducts, keep, modelled_only),
            "data products",
        );
    }
    if f.unmodelled {
        return non_empty(Vec::new(), "data products");
    }
    let mut items = Vec::new();
    for p in cat
        .products
        .iter()
        .filter(|p| contains_ci(p.name, name) && f.product.is_none_or(|x| x.code == p.code))
    {
        let offered_by = |d: &Device| {
            p.categories.contains(&d.category)
                && f.device.is_none_or(|x| x.code == d.code)
                && f.category.is_none_or(|c| c.code == d.category)
                && f.property.is_none_or(|pr| measures(d, pr))
                && f.location.is_none_or(|l| {
                    cat.deployments
                        .iter()
                        .any(|x| x.device == d.code && x.location == l.code)
                })
        };
        if !cat.devices.iter().any(offered_by) {
            continue;
        }
        for ext in p
            .extensions
            .iter()
            .filter(|e| f.extension.is_none_or(|x| x == **e))
        {
            items.extend(real(p, ext));
        }
    }
    non_empty(items, "data products")
}

/// `dataAvailability/dataproducts`: archived products per device (audio, log files).
pub(crate) fn data_availability(ctx: &Ctx) -> Result<Reply, ApiError> {
    let f = filters(
        ctx,
        &[
            "method",
            "locationCode",
            "deviceCategoryCode",
            "deviceCode",
            "propertyCode",
            "dateFrom",
            "dateTo",
            "dataProductCode",
            "extension",
            "minimumCoverage",
            "maximumCoverage",
            "getLatest",
            "groupBy",
            "mergeGaps",
            "includeEmptyDays",
            "rowLimit",
        ],
    )?;
    let cat = &ctx.sim.catalog;
    let now = ctx.now();
    let mut rows = Vec::new();
    for dev in cat
        .devices
        .iter()
        .filter(|d| !f.unmodelled && device_has_dep(cat, &f, d))
    {
        let files = archive::device_files(cat, dev, f.window.from, f.window.to, now);
        let code = if dev.category == "HYDROPHONE" {
            "AD"
        } else {
            "LF"
        };
        if f.product.is_some_and(|p| p.code != code) {
            continue;
        }
        let mut exts: Vec<&str> = files.iter().map(|x| x.ext).collect();
        exts.sort_unstable();
        exts.dedup();
        for ext in exts
            .into_iter()
            .filter(|e| f.extension.is_none_or(|x| x == *e))
        {
            let these: Vec<&archive::ArchiveFile> = files.iter().filter(|x| x.ext == ext).collect();
            let (Some(first), Some(last)) = (these.first(), these.last()) else {
                continue;
            };
            let c = &ctx.sim.config;
            let per_file =
                archive::predicted_size(cat, first, c.audio_sample_rate_override, c.seed)
                    .unwrap_or(450_000);
            let n = these.len() as u64;
            rows.push(json!({"averageFileCoverage": 1.0, "dataProductCode": code, "dateFrom": iso(first.start), "dateTo": iso(last.end()),
                "deviceCode": dev.code, "extension": ext, "fileCount": n, "maxFileCoverage": 1.0, "maxFileCoverageDate": iso(first.start),
                "minFileCoverage": 1.0, "minFileCoverageDate": iso(last.start), "totalFileSize": n * per_file * 9 / 10,
                "totalUncompressedFileSize": n * per_file}));
        }
    }
    if let Some(limit) = ctx.params.positive("rowLimit")? {
        rows.truncate(limit);
    }
    Ok(Reply::ok(
        json!({"availableDataProducts": rows, "messages": [], "next": Value::Null, "queryUrl": ctx.query_url()}),
    ))
}
