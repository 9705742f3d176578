//! Identifier newtypes of the Oceans 3.0 API: numeric ids for data-product requests and runs,
//! and string codes for locations, devices, device categories, properties and data products.
//!
//! Must not know: what the codes mean (catalogs live in the simulator and the server).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl From<u64> for $name {
            fn from(v: u64) -> Self {
                $name(v)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse::<u64>().map($name)
            }
        }

        /// Accepts a JSON number or a numeric string (ONC is not always consistent).
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                super::lenient::u64_lenient(d).map($name)
            }
        }
    };
}

macro_rules! string_code {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// Wraps a code.
            pub fn new(code: impl Into<String>) -> Self {
                $name(code.into())
            }

            /// The code as sent on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

numeric_id!(
    /// `dpRequestId`: one validated data-product request (`dataProductDelivery/request`).
    RequestId
);
numeric_id!(
    /// `dpRunId`: one processing run of a request (`dataProductDelivery/run`).
    RunId
);

string_code!(
    /// `locationCode`, e.g. `BACAX`, `BACCC.A1` (may contain dots).
    LocationCode
);
string_code!(
    /// `deviceCode`, e.g. `ICLISTENHF6324`, `NAXYS_HYD_007`, `BPR-Folger-59`.
    DeviceCode
);
string_code!(
    /// `deviceCategoryCode`, e.g. `HYDROPHONE`, `CTD`.
    DeviceCategoryCode
);
string_code!(
    /// `propertyCode`, e.g. `conductivity`.
    PropertyCode
);
string_code!(
    /// `dataProductCode`, e.g. `HSD`, `AD`, `TSSD`.
    DataProductCode
);

/// A device code that is not in ONC's alphabet (see [`DeviceCode::parse`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a device code (1–64 letters, digits, '-', '_', '.')")]
pub struct InvalidDeviceCode(pub String);

impl DeviceCode {
    /// The one validated constructor: trims, then accepts ONC's alphabet (letters, digits, `-`,
    /// `_` and `.`, 1–64 characters). OOI reference designators
    /// (`RS03AXBS-LJ03A-09-HYDBBA302`) fit it too. `new` wraps server-sent codes unchecked.
    pub fn parse(code: &str) -> Result<DeviceCode, InvalidDeviceCode> {
        let code = code.trim();
        let ok = !code.is_empty()
            && code.len() <= 64
            && code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if ok {
            Ok(DeviceCode(code.to_string()))
        } else {
            Err(InvalidDeviceCode(code.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_accept_numbers_and_numeric_strings() {
        let a: RequestId = serde_json::from_str("28892274").unwrap();
        let b: RunId = serde_json::from_str("\"56070469\"").unwrap();
        assert_eq!(a, RequestId(28892274));
        assert_eq!(b.to_string(), "56070469");
        assert!(serde_json::from_str::<RunId>("\"abc\"").is_err());
        assert!(serde_json::from_str::<RunId>("-3").is_err());
    }

    #[test]
    fn codes_round_trip_as_plain_strings() {
        let d: DeviceCode = serde_json::from_str("\"BPR-Folger-59\"").unwrap();
        assert_eq!(d.as_str(), "BPR-Folger-59");
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"BPR-Folger-59\"");
    }

    #[test]
    fn parse_validates_the_alphabet() {
        assert_eq!(
            DeviceCode::parse(" ICLISTENHF6324 ").unwrap().as_str(),
            "ICLISTENHF6324"
        );
        assert!(DeviceCode::parse("RS03AXBS-LJ03A-09-HYDBBA302").is_ok());
        for bad in ["", "a b", "x/y", &"A".repeat(65)] {
            let e = DeviceCode::parse(bad).unwrap_err().to_string();
            assert!(e.contains("not a device code"), "{e}");
        }
    }
}
