//! The discovery walk behind `plan`: the location tree below `--location`, the deployments in
//! the period (clipped to it), device and category names, and the products, extensions and
//! options each device (By Device) or category at a location (By Location) offers — cached so
//! each source is asked once. Also `--append` (new deployments only, edited rows untouched) and
//! the live offerings query `download` validates against.
//!
//! Must not know: how the workbook is laid out (it produces [`PlanRow`]s and [`Offerings`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;
use serde_json::Value;

use super::error::PlanError;
use super::model::{
    deployment_key, Column, Config, Method, Offerings, OptionSpec, PlanRow, ProductExt,
    ProductSpec, SheetKind, SourceKey,
};
use super::read::{recorded_offerings, ReadBook};
use super::validate::{parse_config, Report};
use super::workbook::{append_rows, empty_request_table, PlanWorkbook};
use crate::api::{
    format_onc, ApiError, Client, DataProduct, DataProductCode, Deployment, DeviceCategoryCode,
    DeviceCode, LocationCode, Params, PropertyCode,
};

/// The `plan` filters (the seed's createXLS options).
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveryFilters {
    /// Root of the location tree to search below; `None` = everywhere.
    pub location: Option<LocationCode>,
    /// `deviceCategoryCode` filter, e.g. `HYDROPHONE`; `None` = any.
    pub device_category: Option<DeviceCategoryCode>,
    /// `deviceCode` filter; `None` = any device.
    pub device: Option<DeviceCode>,
    /// `propertyCode` filter; `None` = any property.
    pub property: Option<PropertyCode>,
    /// Products to keep (empty = all).
    pub products: Vec<DataProductCode>,
    /// Extensions to keep (empty = all).
    pub extensions: Vec<String>,
    /// The period `[from, to)`.
    pub from: Timestamp,
    /// Exclusive end of the period (UTC).
    pub to: Timestamp,
    /// Which request sheets to write.
    pub method: Method,
}

/// What the walk found: rows for the chosen sheets and everything the sources offer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Discovered {
    /// One row per deployment × product × extension, for the chosen sheets.
    pub rows: Vec<PlanRow>,
    /// What each source offers, for validating edits later.
    pub offerings: Offerings,
    /// Deployments in the period (after the location filter).
    pub deployments: usize,
}

/// What `--append` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlanSummary {
    /// Rows appended (deployments not already in the workbook).
    pub rows_added: usize,
    /// Rows that were already in the workbook and stay as they were.
    pub rows_kept: usize,
}

/// Walks discovery and returns the plan rows.
pub async fn discover(client: &Client, f: &DiscoveryFilters) -> Result<Discovered, PlanError> {
    if f.from >= f.to {
        return Err(PlanError::filter(
            "--from/--to",
            format!(
                "the period [{}, {}) is empty",
                format_onc(f.from),
                format_onc(f.to)
            ),
        ));
    }
    // 1. The location tree: which locations count, and their names.
    let mut tree_params = Params::new();
    tree_params.set_opt("locationCode", f.location.as_ref().map(|l| l.as_str()));
    let tree = match client.location_tree(&tree_params).await {
        Ok(t) => t,
        Err(e) if f.location.is_some() && nothing_found(&e) => {
            return Err(PlanError::filter(
                "--location",
                format!(
                    "no location {} in the tree ({e})",
                    f.location.as_ref().map(|l| l.as_str()).unwrap_or("")
                ),
            ))
        }
        Err(e) if nothing_found(&e) => Vec::new(),
        Err(e) => return Err(PlanError::discovery("reading the location tree", e)),
    };
    let mut names: HashMap<LocationCode, Option<String>> = HashMap::new();
    for root in &tree {
        for (_, n) in root.walk() {
            names.insert(n.location_code.clone(), n.location_name.clone());
        }
    }
    if let Some(l) = &f.location {
        names.entry(l.clone()).or_insert(None);
    }
    // 2. Deployments in the period.
    let mut p = Params::new();
    p.set_opt(
        "deviceCategoryCode",
        f.device_category.as_ref().map(|c| c.as_str()),
    );
    p.set_opt("deviceCode", f.device.as_ref().map(|d| d.as_str()));
    p.set_opt("propertyCode", f.property.as_ref().map(|x| x.as_str()));
    p.set("dateFrom", format_onc(f.from));
    p.set("dateTo", format_onc(f.to));
    let deployments = match client.deployments(&p).await {
        Ok(d) => d,
        Err(e) if nothing_found(&e) => Vec::new(),
        Err(e) => return Err(PlanError::discovery("listing deployments", e)),
    };
    let mut kept: Vec<(
        Deployment,
        LocationCode,
        DeviceCategoryCode,
        Timestamp,
        Timestamp,
    )> = Vec::new();
    for d in deployments {
        let (Some(loc), Some(cat)) = (d.location_code.clone(), d.device_category_code.clone())
        else {
            continue;
        };
        if f.location.is_some() && !names.contains_key(&loc) {
            continue;
        }
        let Some((b, e)) = clip(d.begin, d.end, f.from, f.to) else {
            continue;
        };
        kept.push((d, loc, cat, b, e));
    }
    kept.sort_by(|a, b| {
        (&a.1, &a.2, &a.0.device_code, a.3).cmp(&(&b.1, &b.2, &b.0.device_code, b.3))
    });
    // 3. Names of categories and devices.
    let categories: HashMap<DeviceCategoryCode, Option<String>> =
        match client.device_categories(&Params::new()).await {
            Ok(v) => v
                .into_iter()
                .map(|c| (c.device_category_code, c.device_category_name))
                .collect(),
            Err(e) if nothing_found(&e) => HashMap::new(),
            Err(e) => return Err(PlanError::discovery("listing device categories", e)),
        };
    let mut devices: HashMap<DeviceCode, (Option<String>, Option<String>)> = HashMap::new();
    for (d, ..) in &kept {
        if devices.contains_key(&d.device_code) {
            continue;
        }
        let info = match client
            .devices(&Params::new().with("deviceCode", d.device_code.as_str()))
            .await
        {
            Ok(v) => v
                .into_iter()
                .next()
                .map(|x| (x.device_name, x.device_link))
                .unwrap_or_default(),
            Err(e) if nothing_found(&e) => (None, None),
            Err(e) => {
                return Err(PlanError::discovery(
                    format!("reading device {}", d.device_code),
                    e,
                ))
            }
        };
        devices.insert(d.device_code.clone(), info);
    }
    // 4. What each source offers (all of it is recorded; the filters pick the rows).
    let mut sources: Vec<SourceKey> = Vec::new();
    for (d, loc, cat, ..) in &kept {
        for kind in f.method.sheets() {
            let k = source_of(*kind, d, loc, cat);
            if !sources.contains(&k) {
                sources.push(k);
            }
        }
    }
    let offerings = fetch_offerings(client, &sources).await?;
    // 5. Rows.
    let base = client.base_url().trim_end_matches('/').to_string();
    let mut rows = Vec::new();
    for kind in f.method.sheets() {
        for (d, loc, cat, b, e) in &kept {
            let source = source_of(*kind, d, loc, cat);
            let Some(offered) = offerings.by_source.get(&source) else {
                continue;
            };
            for pe in offered.iter().filter(|pe| wanted(f, pe)) {
                let spec = offerings.products.get(pe).cloned().unwrap_or_default();
                let (device_name, device_link) =
                    devices.get(&d.device_code).cloned().unwrap_or_default();
                rows.push(PlanRow {
                    sheet: *kind,
                    location_code: loc.clone(),
                    location_name: names.get(loc).cloned().flatten(),
                    device_category_code: cat.clone(),
                    device_category_name: categories.get(cat).cloned().flatten(),
                    device_code: d.device_code.clone(),
                    device_name,
                    property_code: f.property.clone(),
                    download: true,
                    begin: *b,
                    end: *e,
                    lat: d.lat,
                    lon: d.lon,
                    depth: d.depth,
                    product: pe.0.clone(),
                    product_name: spec.name.clone(),
                    extension: pe.1.clone(),
                    options: spec.default_options(),
                    help_document: spec.help_document.clone(),
                    data_search_url: Some(format!(
                        "{base}/DataSearch?location={loc}&deviceCategory={cat}"
                    )),
                    device_listing_url: device_link,
                    deployment_key: deployment_key(loc, &d.device_code, d.begin),
                });
            }
        }
    }
    Ok(Discovered {
        rows,
        offerings,
        deployments: kept.len(),
    })
}

fn source_of(
    kind: SheetKind,
    d: &Deployment,
    loc: &LocationCode,
    cat: &DeviceCategoryCode,
) -> SourceKey {
    match kind {
        SheetKind::ByDevice => SourceKey::Device(d.device_code.clone()),
        SheetKind::ByLocation => SourceKey::LocationCategory(loc.clone(), cat.clone()),
    }
}

fn wanted(f: &DiscoveryFilters, (code, ext): &ProductExt) -> bool {
    (f.products.is_empty()
        || f.products
            .iter()
            .any(|p| p.as_str().eq_ignore_ascii_case(code.as_str())))
        && (f.extensions.is_empty() || f.extensions.iter().any(|x| x == ext))
}

/// The deployment `[begin, end)` (open end = ongoing) clipped to `[from, to)`.
fn clip(
    begin: Option<Timestamp>,
    end: Option<Timestamp>,
    from: Timestamp,
    to: Timestamp,
) -> Option<(Timestamp, Timestamp)> {
    let b = begin.map_or(from, |b| b.max(from));
    let e = end.map_or(to, |e| e.min(to));
    (b < e).then_some((b, e))
}

/// 404 (discovery's "nothing matched") or 400/127 (deployments' and dataProducts' version).
fn nothing_found(e: &ApiError) -> bool {
    matches!(e, ApiError::NotFound { .. }) || e.has_onc_code(127)
}

/// Asks `dataProducts` what each source offers. A source that offers nothing (404, or 127 for
/// an unknown code) is recorded with an empty set.
pub async fn fetch_offerings(
    client: &Client,
    sources: &[SourceKey],
) -> Result<Offerings, PlanError> {
    let mut o = Offerings::default();
    for s in sources {
        let params = match s {
            SourceKey::Device(d) => Params::new().with("deviceCode", d.as_str()),
            SourceKey::LocationCategory(l, c) => Params::new()
                .with("locationCode", l.as_str())
                .with("deviceCategoryCode", c.as_str()),
        };
        let products = match client.data_products(&params).await {
            Ok(v) => v,
            Err(e) if nothing_found(&e) => Vec::new(),
            Err(e) => return Err(PlanError::discovery(format!("asking what {s} offers"), e)),
        };
        o.by_source.entry(s.clone()).or_default();
        for p in products {
            let Some(ext) = p.extension.clone().filter(|x| !x.is_empty()) else {
                continue;
            };
            o.add(
                s.clone(),
                (p.data_product_code.clone(), ext),
                product_spec(&p),
            );
        }
    }
    Ok(o)
}

/// The options of a `dataProducts` item, as the workbook records them.
pub fn product_spec(p: &DataProduct) -> ProductSpec {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    ProductSpec {
        name: p.data_product_name.clone(),
        help_document: p.help_document.clone(),
        options: p
            .data_product_options
            .iter()
            .map(|o| {
                let range = o.allowable_range.as_ref().and_then(|r| {
                    let lo = r.lower_bound.as_deref()?.trim().parse::<f64>().ok()?;
                    let hi = r.upper_bound.as_deref()?.trim().parse::<f64>().ok()?;
                    Some((lo, hi))
                });
                OptionSpec {
                    name: o.option.clone(),
                    allowed: o.allowable_values.iter().map(text).collect(),
                    range,
                    only_integers: o
                        .allowable_range
                        .as_ref()
                        .and_then(|r| r.only_integers)
                        .unwrap_or(false),
                    default: o.default_value.clone(),
                    documentation: o.documentation.first().cloned(),
                }
            })
            .collect(),
    }
}

/// A new workbook from a discovery.
pub fn new_plan(discovered: &Discovered, method: Method, config: Config) -> PlanWorkbook {
    let requests = method
        .sheets()
        .iter()
        .map(|k| {
            let mut t = empty_request_table(*k);
            let rows: Vec<PlanRow> = discovered
                .rows
                .iter()
                .filter(|r| r.sheet == *k)
                .cloned()
                .collect();
            append_rows(&mut t, &rows);
            (*k, t)
        })
        .collect();
    PlanWorkbook {
        requests,
        config,
        offerings: discovered.offerings.clone(),
    }
}

/// `--append`: keeps every existing row as it is and adds rows only for deployments the sheet
/// does not mention yet (by `deploymentKey`); sheets the method asks for but the workbook lacks
/// are created. The researcher's Configuration is kept.
pub fn append_plan(
    existing: &ReadBook,
    discovered: &Discovered,
    method: Method,
) -> Result<(PlanWorkbook, PlanSummary), PlanError> {
    let mut report = Report::default();
    let config = match &existing.config {
        Some(t) => parse_config(t, &mut report),
        None => Config::default(),
    };
    if !report.problems.is_empty() {
        let list: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
        return Err(PlanError::Read {
            path: existing.path.clone(),
            message: format!(
                "fix the Configuration sheet before appending: {}",
                list.join("; ")
            ),
        });
    }
    let mut summary = PlanSummary::default();
    let mut requests = existing.requests.clone();
    for kind in method.sheets() {
        let new_rows: Vec<PlanRow> = discovered
            .rows
            .iter()
            .filter(|r| r.sheet == *kind)
            .cloned()
            .collect();
        match requests.iter_mut().find(|(k, _)| k == kind) {
            Some((_, table)) => {
                let known: BTreeSet<String> = match table.column_index(Column::DeploymentKey) {
                    Some(i) => table.rows.iter().map(|r| r.get(i).as_text()).collect(),
                    None => BTreeSet::new(),
                };
                summary.rows_kept += table.rows.len();
                let fresh: Vec<PlanRow> = new_rows
                    .into_iter()
                    .filter(|r| !known.contains(&r.deployment_key))
                    .collect();
                summary.rows_added += fresh.len();
                append_rows(table, &fresh);
            }
            None => {
                let mut t = empty_request_table(*kind);
                summary.rows_added += new_rows.len();
                append_rows(&mut t, &new_rows);
                requests.push((*kind, t));
            }
        }
    }
    let mut offerings = recorded_offerings(existing);
    offerings.merge(discovered.offerings.clone());
    Ok((
        PlanWorkbook {
            requests,
            config,
            offerings,
        },
        summary,
    ))
}

/// Counts rows per sheet (for summaries).
pub fn rows_per_sheet(rows: &[PlanRow]) -> BTreeMap<SheetKind, usize> {
    let mut m = BTreeMap::new();
    for r in rows {
        *m.entry(r.sheet).or_insert(0) += 1;
    }
    m
}
