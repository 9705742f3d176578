//! Reference designators (`RS03CCAL-MJ03F-05-BOTPTA301`: site-node-port-instrument) and the
//! M2M request parameters built from them: the site, the node, and the sensor (`05-BOTPTA301`,
//! port and instrument together, as the M2M paths want it).
//!
//! Must not know: HTTP.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::OoiError;

/// A parsed reference designator.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RefDes {
    site: String,
    node: String,
    sensor: String,
}

fn plain(part: &str) -> bool {
    !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric())
}

impl RefDes {
    /// Parses `SITE-NODE-PORT-INSTRUMENT` (letters and digits in each part).
    pub fn parse(text: &str) -> Result<RefDes, OoiError> {
        let t = text.trim();
        let parts: Vec<&str> = t.split('-').collect();
        if parts.len() != 4 || !parts.iter().all(|p| plain(p)) {
            return Err(OoiError::invalid(
                "reference designator",
                format!(
                    "\"{t}\" is not SITE-NODE-PORT-INSTRUMENT, e.g. RS03CCAL-MJ03F-05-BOTPTA301"
                ),
            ));
        }
        Ok(RefDes {
            site: parts[0].to_string(),
            node: parts[1].to_string(),
            sensor: format!("{}-{}", parts[2], parts[3]),
        })
    }

    /// From the three M2M path parts.
    pub fn from_parts(site: &str, node: &str, sensor: &str) -> Result<RefDes, OoiError> {
        RefDes::parse(&format!("{site}-{node}-{sensor}"))
    }

    /// The site, e.g. `RS03CCAL`.
    pub fn site(&self) -> &str {
        &self.site
    }

    /// The node, e.g. `MJ03F`.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Port and instrument, e.g. `05-BOTPTA301`.
    pub fn sensor(&self) -> &str {
        &self.sensor
    }

    /// `site/node/sensor`, the M2M path of the instrument.
    pub fn path(&self) -> String {
        format!("{}/{}/{}", self.site, self.node, self.sensor)
    }
}

impl fmt::Display for RefDes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.site, self.node, self.sensor)
    }
}

impl TryFrom<String> for RefDes {
    type Error = OoiError;
    fn try_from(s: String) -> Result<RefDes, OoiError> {
        RefDes::parse(&s)
    }
}

impl From<RefDes> for String {
    fn from(r: RefDes) -> String {
        r.to_string()
    }
}

/// Checks a delivery method or stream name (a path segment: letters, digits, `_`).
pub fn check_segment(what: &str, value: &str) -> Result<(), OoiError> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(OoiError::invalid(
            what,
            format!("\"{value}\" must be letters, digits, '_' or '-' (e.g. streamed, botpt_nano_sample)"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let r = RefDes::parse(" RS03CCAL-MJ03F-05-BOTPTA301 ").unwrap();
        assert_eq!(
            (r.site(), r.node(), r.sensor()),
            ("RS03CCAL", "MJ03F", "05-BOTPTA301")
        );
        assert_eq!(r.path(), "RS03CCAL/MJ03F/05-BOTPTA301");
        assert_eq!(r.to_string(), "RS03CCAL-MJ03F-05-BOTPTA301");
        for bad in [
            "",
            "RS03CCAL-MJ03F-05",
            "RS03CCAL-MJ03F-05-BOT/PT",
            "a-b-c-d-e",
            "../x-a-b-c",
        ] {
            assert!(RefDes::parse(bad).is_err(), "{bad}");
        }
        assert!(check_segment("stream", "botpt_nano_sample").is_ok());
        assert!(check_segment("stream", "a/../b").is_err());
    }
}
