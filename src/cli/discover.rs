//! `onc-hydro discover KIND [--filter key=value …]`: the Oceans 3.0 discovery services as a
//! readable table (a few key columns) or, with `--json`, the raw JSON the service returned
//! (token-redacted). A query that matches nothing prints an empty result, not an error.

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde_json::Value;

use super::{GlobalArgs, Outcome, Settings};
use crate::api::{self, ApiError, Client, DiscoveryService, Params};

/// What to discover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiscoverKind {
    /// `locations`
    Locations,
    /// `locations/tree` (indented)
    Tree,
    /// `deployments`
    Deployments,
    /// `devices`
    Devices,
    /// `deviceCategories`
    DeviceCategories,
    /// `properties`
    Properties,
    /// `dataProducts`
    DataProducts,
    /// `dataAvailability/dataproducts`
    Availability,
}

impl DiscoverKind {
    fn service(self) -> DiscoveryService {
        match self {
            DiscoverKind::Locations => DiscoveryService::Locations,
            DiscoverKind::Tree => DiscoveryService::LocationTree,
            DiscoverKind::Deployments => DiscoveryService::Deployments,
            DiscoverKind::Devices => DiscoveryService::Devices,
            DiscoverKind::DeviceCategories => DiscoveryService::DeviceCategories,
            DiscoverKind::Properties => DiscoveryService::Properties,
            DiscoverKind::DataProducts => DiscoveryService::DataProducts,
            DiscoverKind::Availability => DiscoveryService::DataAvailability,
        }
    }
}

/// `discover` flags.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  onc-hydro --sim discover devices --filter deviceCategoryCode=HYDROPHONE\n  \
onc-hydro --sim discover deployments --filter deviceCode=ICLISTENHF6324 --json"
)]
pub struct DiscoverArgs {
    /// Which service to query.
    #[arg(value_enum)]
    pub kind: DiscoverKind,

    /// An ONC filter `key=value` (repeatable), e.g. `locationCode=BACAX`,
    /// `deviceCategoryCode=HYDROPHONE`, `dateFrom=2024-01-01`.
    #[arg(long = "filter", short = 'f', value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub filters: Vec<(String, String)>,
}

/// Parses `key=value` (the key must be a plain identifier; `token` is refused).
pub fn parse_key_value(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected key=value, got \"{s}\""))?;
    let k = k.trim();
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("\"{k}\" is not a parameter name"));
    }
    if k.eq_ignore_ascii_case("token") {
        return Err("pass the token with --token or ONC_TOKEN, not as a filter".into());
    }
    Ok((k.to_string(), v.trim().to_string()))
}

/// Makes a client from resolved settings.
pub fn client_for(settings: &Settings) -> anyhow::Result<Client> {
    Client::new(&settings.base_url, settings.token()).context("creating the Oceans 3.0 client")
}

pub async fn run(global: &GlobalArgs, args: DiscoverArgs) -> anyhow::Result<Outcome> {
    let settings = Settings::resolve(global).await?;
    let client = client_for(&settings)?;
    let filters: Params = args.filters.iter().cloned().collect();
    let what = args.kind.service().path();
    let raw = match client.discover_raw(args.kind.service(), &filters).await {
        Ok(v) => v,
        Err(e) if e.is_not_found() || is_deployments_no_match(args.kind, &e) => {
            eprintln!("no {what} match these filters");
            if settings.json {
                println!("{}", empty_json(args.kind));
            }
            return Ok(Outcome::AllDone);
        }
        Err(e) => return Err(e).with_context(|| format!("querying {what}")),
    };
    if settings.json {
        println!("{}", serde_json::to_string_pretty(&raw)?);
        return Ok(Outcome::AllDone);
    }
    let (headers, rows) = table(args.kind, raw).with_context(|| format!("reading {what}"))?;
    print_table(&headers, &rows);
    eprintln!("{} {what}", rows.len());
    Ok(Outcome::AllDone)
}

fn is_deployments_no_match(kind: DiscoverKind, e: &ApiError) -> bool {
    kind == DiscoverKind::Deployments && e.has_onc_code(127)
}

fn empty_json(kind: DiscoverKind) -> &'static str {
    if kind == DiscoverKind::Availability {
        "{\"availableDataProducts\": []}"
    } else {
        "[]"
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn time_cell(t: Option<jiff::Timestamp>) -> String {
    t.map(api::format_onc).unwrap_or_default()
}

type Table = (Vec<&'static str>, Vec<Vec<String>>);

fn table(kind: DiscoverKind, raw: Value) -> anyhow::Result<Table> {
    Ok(match kind {
        DiscoverKind::Locations => {
            let v: Vec<api::Location> = serde_json::from_value(raw)?;
            let rows = v
                .into_iter()
                .map(|l| {
                    vec![
                        l.location_code.0,
                        opt(l.location_name),
                        opt(l.lat),
                        opt(l.lon),
                        opt(l.depth),
                        opt(l.has_device_data),
                    ]
                })
                .collect();
            (
                vec!["locationCode", "name", "lat", "lon", "depth", "deviceData"],
                rows,
            )
        }
        DiscoverKind::Tree => {
            let v: Vec<api::LocationNode> = serde_json::from_value(raw)?;
            let mut rows = Vec::new();
            for root in &v {
                for (depth, n) in root.walk() {
                    rows.push(vec![
                        format!("{}{}", "  ".repeat(depth), n.location_code),
                        opt(n.location_name.clone()),
                        opt(n.has_device_data),
                    ]);
                }
            }
            (vec!["locationCode", "name", "deviceData"], rows)
        }
        DiscoverKind::Deployments => {
            let v: Vec<api::Deployment> = serde_json::from_value(raw)?;
            let rows = v
                .into_iter()
                .map(|d| {
                    vec![
                        d.device_code.0,
                        opt(d.device_category_code),
                        opt(d.location_code),
                        time_cell(d.begin),
                        d.end
                            .map(api::format_onc)
                            .unwrap_or_else(|| "(ongoing)".into()),
                        opt(d.depth),
                    ]
                })
                .collect();
            (
                vec![
                    "deviceCode",
                    "category",
                    "locationCode",
                    "begin",
                    "end",
                    "depth",
                ],
                rows,
            )
        }
        DiscoverKind::Devices => {
            let v: Vec<api::Device> = serde_json::from_value(raw)?;
            let rows = v
                .into_iter()
                .map(|d| {
                    vec![
                        d.device_code.0,
                        opt(d.device_id),
                        opt(d.device_category_code),
                        opt(d.device_name),
                    ]
                })
                .collect();
            (vec!["deviceCode", "deviceId", "category", "name"], rows)
        }
        DiscoverKind::DeviceCategories => {
            let v: Vec<api::DeviceCategory> = serde_json::from_value(raw)?;
            let rows = v
                .into_iter()
                .map(|c| {
                    vec![
                        c.device_category_code.0,
                        opt(c.device_category_name),
                        opt(c.description),
                    ]
                })
                .collect();
            (vec!["deviceCategoryCode", "name", "description"], rows)
        }
        DiscoverKind::Properties => {
            let v: Vec<api::Property> = serde_json::from_value(raw)?;
            let rows = v
                .into_iter()
                .map(|p| {
                    vec![
                        p.property_code.0,
                        opt(p.property_name),
                        opt(p.uom),
                        opt(p.description),
                    ]
                })
                .collect();
            (vec!["propertyCode", "name", "uom", "description"], rows)
        }
        DiscoverKind::DataProducts => {
            let v: Vec<api::DataProduct> = serde_json::from_value(raw)?;
            let rows = v
                .into_iter()
                .map(|p| {
                    vec![
                        p.data_product_code.0,
                        opt(p.extension),
                        opt(p.data_product_name),
                        p.data_product_options.len().to_string(),
                    ]
                })
                .collect();
            (
                vec!["dataProductCode", "extension", "name", "options"],
                rows,
            )
        }
        DiscoverKind::Availability => {
            let v: api::DataAvailability = serde_json::from_value(raw)?;
            let rows = v
                .available_data_products
                .into_iter()
                .map(|a| {
                    vec![
                        opt(a.data_product_code),
                        opt(a.extension),
                        opt(a.device_code),
                        time_cell(a.date_from),
                        time_cell(a.date_to),
                        opt(a.file_count),
                        opt(a.total_file_size),
                    ]
                })
                .collect();
            (
                vec![
                    "product",
                    "ext",
                    "deviceCode",
                    "from",
                    "to",
                    "files",
                    "bytes",
                ],
                rows,
            )
        }
    })
}

/// Server text made safe for a terminal: ANSI/VT escape sequences (CSI `ESC [ … final`, OSC
/// `ESC ] … BEL|ESC \\`, and two-byte `ESC x`) are removed, as are every other control character
/// (C0, DEL, C1) and the Unicode bidi overrides that reorder what a reader sees. Line breaks and
/// tabs become spaces. Used for every server string shown in a table (`discover`, `archive list`).
pub fn terminal_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                Some('[') => {
                    // Parameters and intermediates, then one final byte in @..~.
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']') | Some('P') | Some('_') | Some('^') => {
                    // A string until BEL or ST (ESC \\).
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' {
                            if chars.peek() == Some(&'\\') {
                                chars.next();
                            }
                            break;
                        }
                    }
                }
                Some(' '..='/') => {
                    // nF sequences such as `ESC ( B`: intermediates, then one final byte.
                    for c in chars.by_ref() {
                        if !(' '..='/').contains(&c) {
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\n' | '\r' | '\t' => out.push(' '),
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Prints an aligned text table; long cells are shortened and server text is made
/// [`terminal_safe`].
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    const MAX: usize = 60;
    let cell = |s: &str| -> String {
        let one_line = terminal_safe(s.trim());
        if one_line.chars().count() > MAX {
            let cut: String = one_line.chars().take(MAX - 1).collect();
            format!("{cut}…")
        } else {
            one_line
        }
    };
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| cell(c)).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  "));
            }
        }
        println!("{}", out.trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_escape_sequences_never_reach_the_terminal() {
        let hostile =
            "\u{1b}]0;owned\u{7}ICLISTEN\u{1b}[31mHF\u{1b}[0m\u{9b}6324\u{202e}x\u{1b}(B\ny";
        assert_eq!(terminal_safe(hostile), "ICLISTENHF6324x y");
        assert_eq!(terminal_safe("plain text ü"), "plain text ü");
        assert!(!terminal_safe("a\u{1b}]8;;http://x\u{1b}\\link").contains('\u{1b}'));
    }

    #[test]
    fn key_value_filters() {
        assert_eq!(
            parse_key_value("deviceCategoryCode=HYDROPHONE").unwrap(),
            ("deviceCategoryCode".into(), "HYDROPHONE".into())
        );
        assert_eq!(parse_key_value("a=b=c").unwrap().1, "b=c");
        assert!(parse_key_value("novalue").is_err());
        assert!(parse_key_value("token=abc").is_err());
        assert!(parse_key_value("bad key=1").is_err());
    }

    #[test]
    fn tables_have_one_row_per_item() {
        let raw = serde_json::json!([{"locationCode": "BACCC", "hasDeviceData": "false",
            "children": [{"locationCode": "BACCC.A1", "hasDeviceData": "true", "children": null}]}]);
        let (h, rows) = table(DiscoverKind::Tree, raw).unwrap();
        assert_eq!(h.len(), 3);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1][0], "  BACCC.A1");
        assert_eq!(rows[1][2], "true");
    }
}
