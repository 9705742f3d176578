//! Annotation files in every shape the Python tool accepts (prior art §2.1–2.2), plus CSV:
//!
//! * the legacy device map `{"ICLISTENHF6324": [[2024,4,1,12,34,50], "2024-04-01T13:00:00Z",
//!   {…request…}], …}`;
//! * the rich form `{"defaults": {…}, "requests": [{…}, …]}` (each request is the shallow merge
//!   defaults ∪ request; request keys win, an explicit `null` falls through to the command line);
//! * a top-level JSON list of either, read recursively;
//! * CSV with a header row naming the same fields (and aliases); empty cells count as absent,
//!   `data_product_options` cells hold a JSON object.
//!
//! Errors name the file, the entry (`requests[3]`, `ICLISTENHF6324[0]`, `[1].requests[0]`,
//! `row 4 (line 5)`) and the field. Unknown keys are reported as warnings, not errors, so files
//! written for the Python tool (e.g. with `generator_options`) still load.
//!
//! Must not know: windows, requests, terminals.

use std::path::Path;

use serde_json::{Map, Value};

use super::annotations::{resolve, unknown_keys, Annotation, CallerDefaults};
use super::error::{HydroError, Location, Result};

/// The annotations of one file, in file order, and notes about ignored fields.
#[derive(Debug, Clone, Default)]
pub struct AnnotationSet {
    /// The annotations, in file order.
    pub annotations: Vec<Annotation>,
    /// Notes about fields that were ignored (unknown keys), for the user.
    pub warnings: Vec<String>,
}

/// Reads an annotation file: `.csv` as CSV, anything else as JSON (a file not starting with
/// `{` or `[` is tried as CSV).
pub fn load_annotation_file(path: &Path, caller: &CallerDefaults) -> Result<AnnotationSet> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| HydroError::AnnotationFile {
        file: name.clone(),
        message: format!("cannot read: {e}"),
    })?;
    // A byte-order mark (Windows editors write one) is not content: without this, a JSON file
    // starting with U+FEFF would not start with `{` and be read as CSV.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let is_csv = path
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("csv"))
        || !text.trim_start().starts_with(['{', '[']);
    if is_csv {
        parse_csv(&name, text, caller)
    } else {
        parse_json(&name, text, caller)
    }
}

fn at(file: &str, entry: String) -> Location {
    Location {
        file: file.to_string(),
        entry,
        field: None,
    }
}

fn shape_err(file: &str, entry: String, message: impl Into<String>) -> HydroError {
    HydroError::Annotation {
        at: at(file, entry),
        message: message.into(),
    }
}

/// Parses the JSON forms.
pub fn parse_json(file: &str, text: &str, caller: &CallerDefaults) -> Result<AnnotationSet> {
    let value: Value = serde_json::from_str(text).map_err(|e| HydroError::AnnotationFile {
        file: file.to_string(),
        message: format!("not valid JSON: {e}"),
    })?;
    let mut set = AnnotationSet::default();
    walk(file, &value, "", caller, &mut set)?;
    if set.annotations.is_empty() {
        return Err(HydroError::AnnotationFile {
            file: file.to_string(),
            message: "holds no annotations".into(),
        });
    }
    Ok(set)
}

fn walk(
    file: &str,
    value: &Value,
    prefix: &str,
    caller: &CallerDefaults,
    set: &mut AnnotationSet,
) -> Result<()> {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(file, item, &format!("{prefix}[{i}]."), caller, set)?;
            }
            Ok(())
        }
        Value::Object(obj) if obj.contains_key("requests") => rich(file, obj, prefix, caller, set),
        Value::Object(obj) => legacy(file, obj, prefix, caller, set),
        other => Err(shape_err(
            file,
            prefix.trim_end_matches('.').to_string(),
            format!(
                "expected an object (a device map or {{defaults, requests}}) or a list, got {other}"
            ),
        )),
    }
}

fn warn_unknown(file: &str, entry: &str, map: &Map<String, Value>, set: &mut AnnotationSet) {
    for key in unknown_keys(map) {
        set.warnings.push(format!(
            "{file}: entry {entry}: field `{key}` is not used by onc-hydro (ignored)"
        ));
    }
}

fn rich(
    file: &str,
    obj: &Map<String, Value>,
    prefix: &str,
    caller: &CallerDefaults,
    set: &mut AnnotationSet,
) -> Result<()> {
    let defaults_entry = format!("{prefix}defaults");
    let defaults = match obj.get("defaults") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(d)) => d.clone(),
        Some(other) => {
            return Err(shape_err(
                file,
                defaults_entry,
                format!("`defaults` must be an object, got {other}"),
            ))
        }
    };
    warn_unknown(file, &defaults_entry, &defaults, set);
    for key in obj.keys().filter(|k| *k != "defaults" && *k != "requests") {
        set.warnings.push(format!(
            "{file}: entry {}: top-level key `{key}` is not used by onc-hydro (ignored)",
            prefix.trim_end_matches('.').to_string() + if prefix.is_empty() { "(top)" } else { "" }
        ));
    }
    let Some(Value::Array(requests)) = obj.get("requests") else {
        return Err(shape_err(
            file,
            format!("{prefix}requests"),
            "`requests` must be a list of request objects",
        ));
    };
    for (i, req) in requests.iter().enumerate() {
        let entry = format!("{prefix}requests[{i}]");
        let Value::Object(req) = req else {
            return Err(shape_err(
                file,
                entry,
                format!("each request must be an object, got {req}"),
            ));
        };
        warn_unknown(file, &entry, req, set);
        let mut merged = defaults.clone();
        merged.extend(req.iter().map(|(k, v)| (k.clone(), v.clone())));
        set.annotations
            .push(resolve(&merged, &at(file, entry), caller)?);
    }
    Ok(())
}

fn legacy(
    file: &str,
    obj: &Map<String, Value>,
    prefix: &str,
    caller: &CallerDefaults,
    set: &mut AnnotationSet,
) -> Result<()> {
    if obj.contains_key("defaults") {
        return Err(shape_err(
            file,
            format!("{prefix}defaults"),
            "`defaults` without `requests`: the rich form needs a `requests` list",
        ));
    }
    for (device, entries) in obj {
        let Value::Array(entries) = entries else {
            return Err(shape_err(
                file,
                format!("{prefix}{device}"),
                "a legacy device map must map each device code to a list of timestamps",
            ));
        };
        for (j, item) in entries.iter().enumerate() {
            let entry = format!("{prefix}{device}[{j}]");
            let mut map = match item {
                Value::Object(req) => {
                    warn_unknown(file, &entry, req, set);
                    req.clone()
                }
                Value::Array(_) | Value::String(_) => {
                    let mut m = Map::new();
                    m.insert("timestamp".into(), item.clone());
                    m
                }
                other => {
                    return Err(shape_err(
                        file,
                        entry,
                        format!(
                            "expected [Y, M, D, h, m, s], a time string or a request object, \
                             got {other}"
                        ),
                    ))
                }
            };
            let named = ["deviceCode", "device", "device_code"]
                .iter()
                .find_map(|k| map.get(*k).and_then(Value::as_str).map(str::to_string));
            match named {
                Some(d) if d.trim() != device => {
                    return Err(HydroError::Annotation {
                        at: Location {
                            field: Some("deviceCode".into()),
                            ..at(file, entry)
                        },
                        message: format!("names device {d} inside the list of {device}"),
                    })
                }
                Some(_) => {}
                None => {
                    map.insert("deviceCode".into(), Value::String(device.clone()));
                }
            }
            set.annotations
                .push(resolve(&map, &at(file, entry), caller)?);
        }
    }
    Ok(())
}

/// Parses CSV: a header row, then one annotation per non-blank row.
pub fn parse_csv(file: &str, text: &str, caller: &CallerDefaults) -> Result<AnnotationSet> {
    let records = csv_records(text).map_err(|(line, message)| HydroError::AnnotationFile {
        file: file.to_string(),
        message: format!("line {line}: {message}"),
    })?;
    let mut rows = records.into_iter();
    let Some((_, header)) = rows.next() else {
        return Err(HydroError::AnnotationFile {
            file: file.to_string(),
            message: "empty CSV file (a header row is required)".into(),
        });
    };
    let header: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    for (i, h) in header.iter().enumerate() {
        if h.is_empty() {
            return Err(HydroError::AnnotationFile {
                file: file.to_string(),
                message: format!("header column {} is empty", i + 1),
            });
        }
        if header[..i].contains(h) {
            return Err(HydroError::AnnotationFile {
                file: file.to_string(),
                message: format!("header column `{h}` appears twice"),
            });
        }
    }
    let mut set = AnnotationSet::default();
    let header_map: Map<String, Value> = header.iter().map(|h| (h.clone(), Value::Null)).collect();
    warn_unknown(file, "header", &header_map, &mut set);
    for (n, (line, cells)) in rows.enumerate() {
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let entry = format!("row {} (line {line})", n + 1);
        if cells.len() > header.len() {
            return Err(shape_err(
                file,
                entry,
                format!(
                    "{} cells but the header has {} columns",
                    cells.len(),
                    header.len()
                ),
            ));
        }
        let map: Map<String, Value> = header
            .iter()
            .zip(&cells)
            .filter(|(_, c)| !c.trim().is_empty())
            .map(|(h, c)| (h.clone(), Value::String(c.trim().to_string())))
            .collect();
        set.annotations
            .push(resolve(&map, &at(file, entry), caller)?);
    }
    if set.annotations.is_empty() {
        return Err(HydroError::AnnotationFile {
            file: file.to_string(),
            message: "holds no annotations".into(),
        });
    }
    Ok(set)
}

/// One CSV record: the line it starts on and its cells.
type CsvRecord = (usize, Vec<String>);

/// RFC 4180 records with the 1-based line each starts on. Quoted cells may hold commas, quotes
/// (doubled) and line breaks.
fn csv_records(text: &str) -> std::result::Result<Vec<CsvRecord>, (usize, String)> {
    let mut out = Vec::new();
    let mut line = 1usize;
    let mut record_line = 1usize;
    let mut cells: Vec<String> = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut cell_started_quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    cell.push('\n');
                }
                _ => cell.push(c),
            }
            continue;
        }
        match c {
            '"' if cell.trim().is_empty() && !cell_started_quoted => {
                cell.clear();
                quoted = true;
                cell_started_quoted = true;
            }
            '"' => return Err((line, "a quote inside an unquoted cell".into())),
            ',' => {
                cells.push(std::mem::take(&mut cell));
                cell_started_quoted = false;
            }
            '\r' => {}
            '\n' => {
                cells.push(std::mem::take(&mut cell));
                cell_started_quoted = false;
                out.push((record_line, std::mem::take(&mut cells)));
                line += 1;
                record_line = line;
            }
            _ => cell.push(c),
        }
    }
    if quoted {
        return Err((record_line, "a quoted cell is never closed".into()));
    }
    if !cell.is_empty() || !cells.is_empty() {
        cells.push(cell);
        out.push((record_line, cells));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::time::format_onc;

    fn json(text: &str) -> Result<AnnotationSet> {
        parse_json("f.json", text, &CallerDefaults::default())
    }

    #[test]
    fn json_with_a_byte_order_mark_is_read_as_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls.json");
        let text = "\u{feff}{\"ICLISTENHF6324\": [[2024,4,1,12,34,50]]}";
        std::fs::write(&path, text).unwrap();
        let set = load_annotation_file(&path, &CallerDefaults::default()).unwrap();
        assert_eq!(set.annotations.len(), 1);
        assert_eq!(set.annotations[0].device.as_str(), "ICLISTENHF6324");
    }

    #[test]
    fn legacy_map_with_lists_strings_and_objects() {
        let set = json(
            r#"{"ICLISTENHF6324": [[2024,4,1,12,34,50], "2024-04-01T13:00:00Z",
                 {"timestamp": "2024-04-01T14:00:00Z", "pad_seconds": 10}],
                "ICLISTENHF6020": [[2024,4,2,0,0,0]]}"#,
        )
        .unwrap();
        assert_eq!(set.annotations.len(), 4);
        // Devices come in code order (JSON objects are unordered); entries in list order.
        assert_eq!(set.annotations[0].device.as_str(), "ICLISTENHF6020");
        let a = &set.annotations[3];
        assert_eq!(a.device.as_str(), "ICLISTENHF6324");
        assert_eq!(a.source.entry, "ICLISTENHF6324[2]");
        assert!(a.clip);
    }

    #[test]
    fn rich_form_merges_defaults_and_lists_recurse() {
        let set = json(
            r#"[{"defaults": {"deviceCode": "A1", "pad_seconds": 5, "generator_options": {}},
                 "requests": [{"timestamp": "2024-04-01T00:00:00Z"},
                              {"timestamp": "2024-04-01T01:00:00Z", "deviceCode": "B2",
                               "pad_seconds": null}]},
                {"C3": ["2024-04-01T02:00:00Z"]}]"#,
        )
        .unwrap();
        let a = &set.annotations;
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].source.entry, "[0].requests[0]");
        assert_eq!(a[0].pad_before.as_secs(), 5);
        assert_eq!(a[1].device.as_str(), "B2");
        assert_eq!(a[1].pad_before.as_secs(), 0, "null falls through");
        assert_eq!(a[2].source.entry, "[1].C3[0]");
        assert_eq!(set.warnings.len(), 1, "{:?}", set.warnings);
        assert!(set.warnings[0].contains("generator_options"));
    }

    #[test]
    fn shape_errors_name_the_entry() {
        let cases = [
            (r#"{"D": "2024-04-01"}"#, "entry D:"),
            (r#"{"D": [true]}"#, "entry D[0]:"),
            (r#"{"defaults": {}}"#, "entry defaults:"),
            (r#"{"requests": {}}"#, "entry requests:"),
            (r#"{"requests": [1]}"#, "entry requests[0]:"),
            (
                r#"{"requests": [{"deviceCode": "D"}]}"#,
                "entry requests[0], field `timestamp`",
            ),
            (
                r#"{"D": [{"device": "E", "time": "2024-04-01"}]}"#,
                "field `deviceCode`",
            ),
            (r#"{"requests": []}"#, "holds no annotations"),
            ("{nope", "not valid JSON"),
            ("17", "expected an object"),
        ];
        for (text, want) in cases {
            let e = json(text).unwrap_err().to_string();
            assert!(e.starts_with("f.json: "), "{text}: {e}");
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn csv_rows_resolve_like_requests() {
        let text = "device_code,timestamp,pad_seconds,audio,label,data_product_options\n\
            ICLISTENHF6324,2024-04-01T12:34:50Z,15,yes,\"fin, whale\",\"{\"\"dpo_hydrophoneChannel\"\": \"\"H1\"\"}\"\n\
            \n\
            ICLISTENHF6324,2024-04-01 13:00:00,,,,\n";
        let set = parse_csv("f.csv", text, &CallerDefaults::default()).unwrap();
        assert_eq!(set.annotations.len(), 2);
        let a = &set.annotations[0];
        assert!(a.audio && a.clip);
        assert_eq!(a.label.as_deref(), Some("fin, whale"));
        assert_eq!(a.hsd.options.get("dpo_hydrophoneChannel"), Some("H1"));
        let b = &set.annotations[1];
        assert_eq!(format_onc(b.anchor), "2024-04-01T13:00:00.000Z");
        assert_eq!(b.source.entry, "row 3 (line 4)");
    }

    #[test]
    fn csv_errors_name_row_and_field() {
        let text = "device,timestamp,pad_before_seconds\nD,2024-04-01T00:00:00Z,-1\n";
        let e = parse_csv("f.csv", text, &CallerDefaults::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.csv: entry row 1 (line 2), field `pad_before_seconds`: must be ≥ 0 seconds, got -1"
        );
        let e = parse_csv("f.csv", "device,device\n", &CallerDefaults::default()).unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
        let e = parse_csv("f.csv", "a\n\"open\n", &CallerDefaults::default()).unwrap_err();
        assert!(e.to_string().contains("never closed"), "{e}");
        let e = parse_csv("f.csv", "device\nD,x\n", &CallerDefaults::default()).unwrap_err();
        assert!(e.to_string().contains("row 1 (line 2)"), "{e}");
    }
}
