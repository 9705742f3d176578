//! The 'data product options' cell: `dpo_name=value` pairs separated by `,`, `;`, `&` or new
//! lines (written as `dpo_a=1, dpo_b=2`), and checking the pairs against a product's options.
//!
//! Must not know: sheets, rows or where the option specs came from.

use super::model::{OptionSpec, ProductSpec};

/// Formats options the way the workbook shows them.
pub fn format_options(options: &[(String, String)]) -> String {
    options
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses an options cell. Every malformed piece is reported (not just the first).
pub fn parse_options(text: &str) -> Result<Vec<(String, String)>, Vec<String>> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut problems = Vec::new();
    for piece in text.split([',', ';', '&', '\n', '\r']) {
        let piece = piece.trim();
        if piece.is_empty() {
            continue;
        }
        let Some((k, v)) = piece.split_once('=') else {
            problems.push(format!("\"{piece}\" is not name=value"));
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if let Some(problem) = pair_problem(k, v) {
            problems.push(problem);
            continue;
        }
        if out.iter().any(|(ok, _)| ok == k) {
            problems.push(format!("{k} is given twice"));
            continue;
        }
        out.push((k.to_string(), v.to_string()));
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// What is wrong with one `name=value` pair, if anything: the name must be `dpo_` + letters,
/// digits or `_`, the value not empty. (The syntax check of every way options are written: the
/// workbook cell, `order --option`, a sync spec's `options`.)
pub fn pair_problem(k: &str, v: &str) -> Option<String> {
    if !k.starts_with("dpo_") || k.len() <= 4 {
        return Some(format!("\"{k}\" is not a dpo_* option name"));
    }
    if !k[4..]
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Some(format!("\"{k}\" contains characters an option name cannot"));
    }
    if v.trim().is_empty() {
        return Some(format!("{k} has no value"));
    }
    None
}

/// Checks parsed options against the product's option list: unknown names and values outside
/// the allowed values or range are reported, one message each.
pub fn check_options(options: &[(String, String)], spec: &ProductSpec) -> Vec<String> {
    let mut problems = Vec::new();
    for (k, v) in options {
        match spec.options.iter().find(|o| o.name == *k) {
            None => {
                let known: Vec<&str> = spec.options.iter().map(|o| o.name.as_str()).collect();
                problems.push(if known.is_empty() {
                    format!("{k} is not an option of this product (it has none)")
                } else {
                    format!(
                        "{k} is not an option of this product (known: {})",
                        known.join(", ")
                    )
                });
            }
            Some(o) => {
                if let Some(p) = check_value(o, v) {
                    problems.push(p);
                }
            }
        }
    }
    problems
}

fn check_value(o: &OptionSpec, v: &str) -> Option<String> {
    if o.allowed.iter().any(|a| a == v) {
        return None;
    }
    if let Some((lo, hi)) = o.range {
        let ok = v
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= lo && *x <= hi)
            .filter(|x| !o.only_integers || x.fract() == 0.0);
        if ok.is_some() {
            return None;
        }
        let kind = if o.only_integers {
            "an integer"
        } else {
            "a number"
        };
        let also = if o.allowed.is_empty() {
            String::new()
        } else {
            format!(" or one of {}", o.allowed.join("|"))
        };
        return Some(format!(
            "{}={v}: expected {kind} in [{lo}, {hi}]{also}",
            o.name
        ));
    }
    if o.allowed.is_empty() {
        return None;
    }
    Some(format!(
        "{}={v}: allowed values are {}",
        o.name,
        o.allowed.join("|")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ProductSpec {
        ProductSpec {
            name: Some("Hydrophone Spectral Data".into()),
            help_document: None,
            options: vec![
                OptionSpec {
                    name: "dpo_hydrophoneDataDiversionMode".into(),
                    allowed: vec!["OD".into(), "LPF".into(), "HPF".into(), "All".into()],
                    default: Some("OD".into()),
                    ..Default::default()
                },
                OptionSpec {
                    name: "dpo_lowerColourLimit".into(),
                    allowed: vec!["-1000".into()],
                    range: Some((-160.0, 140.0)),
                    default: Some("-1000".into()),
                    ..Default::default()
                },
                OptionSpec {
                    name: "dpo_spectrogramColourPalette".into(),
                    range: Some((0.0, 5.0)),
                    only_integers: true,
                    ..Default::default()
                },
            ],
        }
    }

    #[test]
    fn parses_any_separator_and_round_trips() {
        let o = parse_options("dpo_a=1; dpo_b=x,dpo_c=2\n dpo_d = y &dpo_e=3").unwrap();
        assert_eq!(o.len(), 5);
        assert_eq!(o[3], ("dpo_d".to_string(), "y".to_string()));
        assert_eq!(parse_options(&format_options(&o)).unwrap(), o);
        assert!(parse_options("  ").unwrap().is_empty());
    }

    #[test]
    fn reports_every_bad_piece() {
        let e =
            parse_options("dpo_a, resample=none, dpo_b=, dpo_c=1, dpo_c=2, dpo_x y=1").unwrap_err();
        assert_eq!(e.len(), 5, "{e:?}");
        assert!(e[0].contains("dpo_a"));
        assert!(e[1].contains("resample"));
        assert!(e[2].contains("dpo_b has no value"));
        assert!(e[3].contains("twice"));
    }

    #[test]
    fn checks_names_values_and_ranges() {
        let s = spec();
        let ok = parse_options(
            "dpo_hydrophoneDataDiversionMode=All, dpo_lowerColourLimit=-1000, dpo_spectrogramColourPalette=3",
        )
        .unwrap();
        assert!(check_options(&ok, &s).is_empty());
        let ok2 = parse_options("dpo_lowerColourLimit=-120.5").unwrap();
        assert!(check_options(&ok2, &s).is_empty());
        let bad = parse_options(
            "dpo_hydrophoneDataDiversionMode=XX, dpo_lowerColourLimit=200, dpo_spectrogramColourPalette=2.5, dpo_nope=1",
        )
        .unwrap();
        let p = check_options(&bad, &s);
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(p[0].contains("OD|LPF|HPF|All"));
        assert!(p[1].contains("[-160, 140]") && p[1].contains("-1000"));
        assert!(p[2].contains("integer"));
        assert!(p[3].contains("dpo_nope"));
    }
}
