//! Which provider serves a hydrophone: ONC devices (`ICLISTENHF6324`) are served by Oceans 3.0
//! (HSD spectrograms, archive audio); OOI broadband hydrophones (reference designators such as
//! `RS03AXBS-LJ03A-09-HYDBBA302`, or friendly names `Axial_Base_Seafloor` / node codes `LJ03A`)
//! by OOI's raw-data archive (miniSEED, served as audio windows). A device is resolved once,
//! from `--device` or an annotation's device and optional `provider` field, to its canonical
//! code (the reference designator for OOI), and everything downstream keys on that code.
//!
//! Must not know: HTTP, files on disk.

use std::fmt;

use super::error::{HydroError, Result};
use super::grid::DeviceCode;
use crate::ooi::{resolve_hydrophone, RefDes, HYDROPHONES};

/// Who serves a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Provider {
    /// Ocean Networks Canada's Oceans 3.0.
    Onc,
    /// OOI's raw-data archive.
    Ooi,
}

impl Provider {
    /// Parses `onc` or `ooi` (any case).
    pub fn parse(text: &str) -> Result<Provider> {
        match text.trim().to_ascii_lowercase().as_str() {
            "onc" => Ok(Provider::Onc),
            "ooi" => Ok(Provider::Ooi),
            other => Err(HydroError::arg(
                "provider",
                format!("{other:?} is not onc or ooi"),
            )),
        }
    }

    /// `onc` or `ooi`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Onc => "onc",
            Provider::Ooi => "ooi",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A hydrophone with its provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Device {
    /// An ONC device.
    Onc(DeviceCode),
    /// An OOI broadband hydrophone.
    Ooi(RefDes),
}

/// True when `text` names an OOI hydrophone: a known reference designator, friendly name or
/// node code, or a reference designator of a broadband hydrophone (`…-HYDBB…`).
fn looks_ooi(text: &str) -> bool {
    let t = text.trim().trim_start_matches('/');
    let norm = |s: &str| s.to_ascii_lowercase().replace(['-', ' '], "_");
    HYDROPHONES.iter().any(|h| {
        h.refdes.eq_ignore_ascii_case(t)
            || norm(h.name) == norm(t)
            || RefDes::parse(h.refdes).is_ok_and(|r| r.node().eq_ignore_ascii_case(t))
    }) || RefDes::parse(t).is_ok_and(|r| r.to_string().to_ascii_uppercase().contains("-HYDBB"))
}

impl Device {
    /// Resolves a device as the user wrote it; `provider` (when given) must agree with what the
    /// name says. Errors say what was expected.
    pub fn resolve(text: &str, provider: Option<Provider>) -> Result<Device> {
        let inferred = if looks_ooi(text) {
            Provider::Ooi
        } else {
            Provider::Onc
        };
        match (provider.unwrap_or(inferred), inferred) {
            (Provider::Ooi, Provider::Ooi) => {
                let r = resolve_hydrophone(text)
                    .map_err(|e| HydroError::arg("device", e.to_string()))?;
                Ok(Device::Ooi(r))
            }
            (Provider::Onc, Provider::Onc) => Ok(Device::Onc(DeviceCode::parse(text)?)),
            (Provider::Onc, Provider::Ooi) => Err(HydroError::arg(
                "provider",
                format!(
                    "\"{}\" is an OOI hydrophone, but the provider says onc",
                    text.trim()
                ),
            )),
            (Provider::Ooi, Provider::Onc) => Err(HydroError::arg(
                "provider",
                format!(
                    "the provider says ooi, but \"{}\" is not an OOI broadband hydrophone \
                     (a reference designator such as RS03AXBS-LJ03A-09-HYDBBA302, a name such \
                     as Axial_Base_Seafloor, or a node such as LJ03A)",
                    text.trim()
                ),
            )),
        }
    }

    /// The device a canonical code stands for (codes come from [`Device::code`]).
    pub fn of(code: &DeviceCode) -> Device {
        match RefDes::parse(code.as_str()) {
            Ok(r) if looks_ooi(code.as_str()) => Device::Ooi(r),
            _ => Device::Onc(code.clone()),
        }
    }

    /// The canonical code: the ONC device code, or the OOI reference designator.
    pub fn code(&self) -> DeviceCode {
        match self {
            Device::Onc(c) => c.clone(),
            Device::Ooi(r) => DeviceCode::new(r.to_string()),
        }
    }

    /// The provider.
    pub fn provider(&self) -> Provider {
        match self {
            Device::Onc(_) => Provider::Onc,
            Device::Ooi(_) => Provider::Ooi,
        }
    }
}

/// The provider of a canonical code.
pub fn provider_of(code: &DeviceCode) -> Provider {
    Device::of(code).provider()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_to_providers_and_contradictions_are_errors() {
        let d = Device::resolve("Axial_Base_Seafloor", None).unwrap();
        assert_eq!(d.code().as_str(), "RS03AXBS-LJ03A-09-HYDBBA302");
        assert_eq!(d.provider(), Provider::Ooi);
        assert_eq!(
            Device::resolve("LJ01D", None).unwrap().code().as_str(),
            "CE02SHBP-LJ01D-11-HYDBBA106"
        );
        let onc = Device::resolve("ICLISTENHF6324", Some(Provider::Onc)).unwrap();
        assert_eq!(onc, Device::Onc(DeviceCode::new("ICLISTENHF6324")));
        assert_eq!(
            Device::resolve("BPR-Folger-59", None).unwrap().provider(),
            Provider::Onc
        );
        let e = Device::resolve("RS03AXBS-LJ03A-09-HYDBBA302", Some(Provider::Onc))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is an OOI hydrophone"), "{e}");
        let e = Device::resolve("ICLISTENHF6324", Some(Provider::Ooi))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not an OOI broadband hydrophone"), "{e}");
        assert_eq!(
            provider_of(&DeviceCode::new("RS03AXBS-LJ03A-09-HYDBBA302")),
            Provider::Ooi
        );
        assert_eq!(
            provider_of(&DeviceCode::new("ICLISTENHF6324")),
            Provider::Onc
        );
        assert!(Provider::parse("IRIS").is_err());
    }
}
