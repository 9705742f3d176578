//! Data products kept current by a sync spec's `products` sections: which product, extension
//! and `dpo_*` options, from which devices (a device, or a location + category resolved through
//! discovery every run), cut into periods, ordered on the engine.
//!
//! ```json
//! "products": [{"location": "BACAX.H1", "device_category": "HYDROPHONE",
//!               "product": "HSD", "extension": "mat",
//!               "options": {"dpo_spectralDataDownsample": "1"},
//!               "period": "1d", "recheck": "7d"}]
//! ```
//! Periods: `period` (default `1d`; a duration that divides a day, e.g. `1h`, `6h`) cuts time
//! at multiples of the period since UTC midnight; one order per device and period, into
//! `<out>/<deviceCode>/`. Only *complete* periods (ended by the run's clock) are ordered, so a
//! period's order never changes and the ledger's canonical key makes every run plan only the
//! delta. The spec's `time` rule picks the periods: `rolling` the whole periods that ended in
//! the last `window`, `since_last` those that ended after the section's high-water mark (the
//! first run: in the last `first`), `range` those overlapping `[from, to)`, cut to it.
//! `latest` does not apply to products.
//!
//! Options are checked as the plan workbook checks them: the syntax when the spec is read
//! (`plan::pair_problem`), and against what `dataProducts` says each device offers on every run
//! (`plan::fetch_offerings` + `plan::check_options`), so a bad option fails the section,
//! naming the option, before anything is ordered.
//!
//! Must not know: terminals, the ledger's SQL, how re-runs are compared (`rerun.rs`).

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::error::SyncError;
use super::spec::{parse_duration, source, Source, TimeRule};
use crate::api::{format_onc, DataProductOrder, DataSource, DeviceCode};
use crate::engine::OrderSpec;

/// At most this many periods per section and run (a 15-minute period over a year is 35,040).
const MAX_PERIODS: usize = 50_000;

/// One `products` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductRequest {
    /// A device, or a location + device category.
    pub source: Source,
    /// `dataProductCode`, e.g. `HSD`.
    pub product: String,
    /// Exact extension, e.g. `mat`.
    pub extension: String,
    /// `dpo_*` options, by name.
    pub options: Vec<(String, String)>,
    /// Length of one order (divides a day).
    pub period: Duration,
    /// Re-check held periods that ended within this span before the newest period; `None`:
    /// never.
    pub recheck: Option<Duration>,
    /// Also download each run's `*_META.xml`.
    pub meta: bool,
}

impl ProductRequest {
    /// `HSD mat of HYDROPHONE at BACAX.H1`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} of {}",
            self.product,
            self.extension,
            super::readings::describe(&self.source)
        )
    }

    /// The order of one device and period (the same inputs give the same canonical key).
    pub fn order(&self, device: &DeviceCode, from: Timestamp, to: Timestamp) -> OrderSpec {
        let source = DataSource::Device {
            device: device.clone(),
            property: None,
        };
        let mut o = DataProductOrder::new(
            self.product.as_str(),
            self.extension.as_str(),
            source,
            from,
            to,
        );
        for (k, v) in &self.options {
            o = o.with_option(k.as_str(), v.as_str());
        }
        OrderSpec::new(o)
            .with_meta(self.meta)
            .in_folder(device.to_string())
    }
}

/// A `products` entry as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProductFile {
    #[serde(default)]
    device: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    device_category: Option<String>,
    product: String,
    extension: String,
    #[serde(default)]
    options: BTreeMap<String, String>,
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    recheck: Option<String>,
    #[serde(default)]
    meta: bool,
}

/// Validates one `products[i]` entry (`at` names it in errors).
pub(super) fn parse(origin: &str, at: &str, f: &ProductFile) -> Result<ProductRequest, SyncError> {
    let bad = |m: &str, msg: String| SyncError::spec(origin, &format!("{at}.{m}"), msg);
    let src = source(origin, at, &f.device, &f.location, &f.device_category)?;
    let code = |m: &str, v: &str| -> Result<String, SyncError> {
        let v = v.trim().trim_start_matches('.');
        let ok = !v.is_empty() && v.len() <= 40 && v.chars().all(|c| c.is_ascii_alphanumeric());
        if ok {
            Ok(v.to_string())
        } else {
            Err(bad(m, format!("{v:?} is not a code (letters and digits)")))
        }
    };
    let product = code("product", &f.product)?;
    let extension = code("extension", &f.extension)?;
    let mut options = Vec::new();
    for (k, v) in &f.options {
        if let Some(problem) = crate::plan::pair_problem(k.trim(), v) {
            return Err(bad(&format!("options.{k}"), problem));
        }
        options.push((k.trim().to_string(), v.trim().to_string()));
    }
    let period_text = f.period.as_deref().unwrap_or("1d");
    let period = parse_duration(period_text)
        .filter(|p| 86_400 % p.as_secs() == 0)
        .ok_or_else(|| {
            bad(
                "period",
                format!("{period_text:?} is not a duration that divides a day (15m, 1h, 6h, 1d)"),
            )
        })?;
    let recheck = match f.recheck.as_deref() {
        None => None,
        Some(t) => Some(
            parse_duration(t)
                .ok_or_else(|| bad("recheck", format!("{t:?} is not a duration like 2d, 7d")))?,
        ),
    };
    Ok(ProductRequest {
        source: src,
        product,
        extension,
        options,
        period,
        recheck,
        meta: f.meta,
    })
}

/// Which periods a run orders, and how to describe them.
pub(super) struct Periods {
    /// `[from, to)` of each period, oldest first.
    pub pieces: Vec<(Timestamp, Timestamp)>,
    /// The span in words.
    pub describe: String,
}

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn at_ms(v: i64) -> Timestamp {
    Timestamp::from_millisecond(v).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Whole periods ending in `(after, until]`, or (`clip`) the periods overlapping
/// `[after, until)` cut to it; only periods ended by `now`.
fn cut(
    after: Timestamp,
    until: Timestamp,
    period: Duration,
    clip: bool,
    now: Timestamp,
) -> Result<Vec<(Timestamp, Timestamp)>, String> {
    let p = i64::try_from(period.as_millis()).unwrap_or(i64::MAX).max(1);
    let (a, b, now) = (ms(after), ms(until), ms(now));
    let mut out = Vec::new();
    let mut k = a.div_euclid(p);
    loop {
        let (start, end) = (k.saturating_mul(p), k.saturating_add(1).saturating_mul(p));
        let (s, e) = if clip {
            (start.max(a), end.min(b))
        } else {
            (start, end)
        };
        if s >= b || (!clip && end > b) || e > now {
            break;
        }
        if e > a && s < e {
            out.push((at_ms(s), at_ms(e)));
        }
        if out.len() > MAX_PERIODS {
            return Err(format!(
                "more than {MAX_PERIODS} periods in one run: use a longer period"
            ));
        }
        k += 1;
    }
    Ok(out)
}

/// The periods of `req` under `rule` at `now`, after the section's high-water mark `hwm`.
pub(super) fn periods(
    req: &ProductRequest,
    rule: &TimeRule,
    hwm: Option<Timestamp>,
    now: Timestamp,
) -> Result<Periods, String> {
    let back = |d: Duration| now - SignedDuration::try_from(d).unwrap_or(SignedDuration::ZERO);
    let (after, until, clip, describe) = match rule {
        TimeRule::Rolling(w) => (
            back(*w),
            now,
            false,
            format!(
                "whole periods that ended in the last {}",
                super::run::human(*w)
            ),
        ),
        TimeRule::Range(f, t) => (
            *f,
            *t,
            true,
            format!("[{}, {})", format_onc(*f), format_onc(*t)),
        ),
        TimeRule::SinceLast(first) => match hwm {
            Some(h) => (
                h,
                now,
                false,
                format!(
                    "periods that ended after {} (high-water mark)",
                    format_onc(h)
                ),
            ),
            None => (
                back(*first),
                now,
                false,
                format!(
                    "whole periods that ended in the last {} (first sync)",
                    super::run::human(*first)
                ),
            ),
        },
        TimeRule::Latest => return Err("time mode \"latest\" does not apply to products".into()),
    };
    let pieces = cut(after, until, req.period, clip, now)?;
    Ok(Periods { pieces, describe })
}

/// The held periods a `recheck` of `r` watches: those that ended within `r` before `newest`
/// (the end of the newest period). Whole periods, so they are the orders made earlier; for a
/// `range`, the range's own (cut) periods.
pub(super) fn watched(
    req: &ProductRequest,
    rule: &TimeRule,
    pieces: &[(Timestamp, Timestamp)],
    newest: Timestamp,
    r: Duration,
    now: Timestamp,
) -> Result<Vec<(Timestamp, Timestamp)>, String> {
    let back = newest - SignedDuration::try_from(r).unwrap_or(SignedDuration::ZERO);
    match rule {
        TimeRule::Range(..) => Ok(pieces
            .iter()
            .filter(|p| p.1 > back && p.1 <= newest)
            .copied()
            .collect()),
        _ => cut(back, newest, req.period, false, now),
    }
}

/// The ledger key of a section's high-water mark.
pub(super) fn hwm_key(spec_name: &str, req: &ProductRequest) -> String {
    format!("sync.hwm.{spec_name}.product.{}", req.describe())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn req(period: &str) -> ProductRequest {
        let f: ProductFile = serde_json::from_str(&format!(
            r#"{{"device": "X", "product": "HSD", "extension": "mat", "period": "{period}",
                "options": {{"dpo_spectralDataDownsample": "1"}}}}"#
        ))
        .unwrap();
        parse("t.json", "products[0]", &f).unwrap()
    }

    fn days(p: &Periods) -> Vec<String> {
        p.pieces
            .iter()
            .map(|(a, b)| format!("{}/{}", format_onc(*a), format_onc(*b)))
            .collect()
    }

    #[test]
    fn rolling_windows_take_whole_ended_periods_only() {
        let now = ts("2024-04-03T10:30:00Z");
        let r = req("1d");
        let p = periods(
            &r,
            &TimeRule::Rolling(Duration::from_secs(2 * 86_400)),
            None,
            now,
        );
        assert_eq!(
            days(&p.unwrap()),
            [
                "2024-04-01T00:00:00.000Z/2024-04-02T00:00:00.000Z",
                "2024-04-02T00:00:00.000Z/2024-04-03T00:00:00.000Z"
            ]
        );
        // Run again a minute later: the same periods (the same orders, nothing new).
        let later = now + SignedDuration::from_mins(1);
        let q = periods(
            &r,
            &TimeRule::Rolling(Duration::from_secs(2 * 86_400)),
            None,
            later,
        );
        assert_eq!(q.unwrap().pieces.len(), 2);
        // Hours: 10 whole hours ended in the last 10.5 h.
        let h = periods(
            &req("1h"),
            &TimeRule::Rolling(Duration::from_secs(37_800)),
            None,
            now,
        );
        let h = h.unwrap().pieces;
        assert_eq!(h.len(), 10);
        assert_eq!(h[9].1, ts("2024-04-03T10:00:00Z"));
    }

    #[test]
    fn ranges_are_cut_to_the_range_and_since_last_follows_the_mark() {
        let now = ts("2024-04-03T10:30:00Z");
        let rule = TimeRule::Range(ts("2024-04-01T06:00:00Z"), ts("2024-04-04T00:00:00Z"));
        let p = periods(&req("1d"), &rule, None, now).unwrap();
        assert_eq!(
            days(&p),
            [
                "2024-04-01T06:00:00.000Z/2024-04-02T00:00:00.000Z",
                "2024-04-02T00:00:00.000Z/2024-04-03T00:00:00.000Z"
            ],
            "the day still running is not ordered"
        );
        let rule = TimeRule::SinceLast(Duration::from_secs(86_400));
        let p = periods(&req("6h"), &rule, Some(ts("2024-04-02T12:00:00Z")), now).unwrap();
        assert_eq!(p.pieces.len(), 3);
        assert_eq!(p.pieces[0].0, ts("2024-04-02T12:00:00Z"));
        assert!(periods(&req("1d"), &TimeRule::Latest, None, now).is_err());
        // A 2-day re-check of hourly orders: the 48 whole hours before the newest end.
        let end = ts("2024-04-03T10:00:00Z");
        let rule = TimeRule::Rolling(Duration::from_secs(3600));
        let w = watched(
            &req("1h"),
            &rule,
            &[],
            end,
            Duration::from_secs(2 * 86_400),
            now,
        )
        .unwrap();
        assert_eq!(
            (w.len(), w[0].0, w[47].1),
            (48, ts("2024-04-01T10:00:00Z"), end)
        );
    }

    #[test]
    fn sections_validate_like_the_workbook() {
        let bad = |text: &str| {
            let f: ProductFile = serde_json::from_str(text).unwrap();
            parse("t.json", "products[0]", &f).unwrap_err().to_string()
        };
        let e = bad(r#"{"device": "X", "product": "HSD", "extension": "mat", "period": "7h"}"#);
        assert!(e.contains("products[0].period"), "{e}");
        let e = bad(
            r#"{"device": "X", "product": "HSD", "extension": "mat", "options": {"spectral": "1"}}"#,
        );
        assert!(
            e.contains("products[0].options.spectral") && e.contains("dpo_"),
            "{e}"
        );
        let e = bad(r#"{"device": "X", "product": "H/D", "extension": "mat"}"#);
        assert!(e.contains("products[0].product"), "{e}");
        let e = bad(r#"{"location": "X", "product": "HSD", "extension": "mat"}"#);
        assert!(e.contains("products[0]"), "{e}");
        let r = req("1h");
        assert_eq!(r.recheck, None);
        let o = r.order(
            &"DEV".into(),
            ts("2024-04-01T00:00:00Z"),
            ts("2024-04-01T01:00:00Z"),
        );
        assert_eq!(o.folder.as_deref(), Some("DEV"));
        assert_eq!(
            o.order.options,
            [("dpo_spectralDataDownsample".to_string(), "1".to_string())]
        );
    }
}
