//! The data of the built-in synthetic catalog: the location tree (NEP → Endeavour → KEMFH →
//! KEMFH.H1…, Barkley Canyon, Strait of Georgia), device categories, properties, devices
//! (four hydrophones incl. ICLISTENHF6324 at 64 kHz, one at 128 kHz and one with jittered file
//! starts; a CTD and an ADCP), deployments with gaps, and data products with their options.
//!
//! Must not know: HTTP, archive files, job state.

use super::catalog::{
    Catalog, Category, Deployment, Device, FileLayout, Location, Product, Property,
};
use super::clock::lit;

const HYDRO: &str = "HYDROPHONE";

fn loc(
    code: &'static str,
    name: &'static str,
    parent: Option<&'static str>,
    lat: f64,
    lon: f64,
    depth: Option<f64>,
    region: &'static str,
) -> Location {
    Location {
        code,
        name,
        description: name,
        parent,
        lat,
        lon,
        depth,
        region,
    }
}

fn dep(
    device: &'static str,
    location: &'static str,
    begin: &str,
    end: Option<&str>,
    depth: f64,
) -> Deployment {
    Deployment {
        device,
        location,
        begin: lit(begin),
        end: end.map(lit),
        depth,
        heading: if device.starts_with("RDI") {
            Some(12.5)
        } else {
            None
        },
    }
}

/// The built-in catalog (always the same).
pub(crate) fn builtin() -> Catalog {
    let locations = vec![
        loc(
            "NEP",
            "Northeast Pacific",
            None,
            48.0,
            -128.0,
            None,
            "NortheastPacific",
        ),
        loc(
            "ENDV",
            "Endeavour",
            Some("NEP"),
            47.95,
            -129.1,
            Some(2200.0),
            "Endeavour",
        ),
        loc(
            "KEMFH",
            "Main Endeavour Field Hydrophones",
            Some("ENDV"),
            47.9493,
            -129.0987,
            Some(2190.0),
            "Endeavour",
        ),
        loc(
            "KEMFH.H1",
            "Hydrophone A",
            Some("KEMFH"),
            47.94935,
            -129.09872,
            Some(2191.0),
            "Endeavour",
        ),
        loc(
            "KEMFH.H2",
            "Hydrophone B",
            Some("KEMFH"),
            47.94921,
            -129.09850,
            Some(2189.0),
            "Endeavour",
        ),
        loc(
            "BACND",
            "Barkley Canyon",
            Some("NEP"),
            48.3167,
            -126.0508,
            None,
            "BarkleyCanyon",
        ),
        loc(
            "BACAX",
            "Axis",
            Some("BACND"),
            48.316583,
            -126.050796,
            Some(982.0),
            "BarkleyCanyon",
        ),
        loc(
            "BACAX.H1",
            "Axis Hydrophone",
            Some("BACAX"),
            48.31662,
            -126.05075,
            Some(985.0),
            "BarkleyCanyon",
        ),
        loc(
            "SALISH",
            "Salish Sea",
            None,
            49.0,
            -123.5,
            None,
            "SalishSea",
        ),
        loc(
            "SOG",
            "Strait of Georgia",
            Some("SALISH"),
            49.04,
            -123.42,
            None,
            "StraitofGeorgia",
        ),
        loc(
            "SCVIP",
            "Central",
            Some("SOG"),
            49.040066,
            -123.425825,
            Some(298.0),
            "StraitofGeorgia",
        ),
        loc(
            "SCVIP.H3",
            "Central Hydrophone 3",
            Some("SCVIP"),
            49.04012,
            -123.42571,
            Some(297.0),
            "StraitofGeorgia",
        ),
    ];
    let categories = vec![
        Category {
            code: HYDRO,
            name: "Hydrophone",
            description: "Hydrophone",
            long_description: " A hydrophone is an underwater microphone that records sound pressure.",
            vocab_uri: "http://vocab.nerc.ac.uk/collection/L05/current/WPS/",
        },
        Category {
            code: "CTD",
            name: "Conductivity Temperature Depth",
            description: "Conductivity Temperature (and Depth Sensor)",
            long_description: " Conductivity Temperature Depth (CTD) is an instrument package that measures seawater properties.",
            vocab_uri: "http://vocab.nerc.ac.uk/collection/L05/current/130/",
        },
        Category {
            code: "ADCP600KHZ",
            name: "Acoustic Doppler Current Profiler 600 kHz",
            description: "Acoustic Doppler Current Profiler 600 kHz",
            long_description: " An ADCP measures water current velocities over a depth range.",
            vocab_uri: "http://vocab.nerc.ac.uk/collection/L05/current/115/",
        },
    ];
    let properties = vec![
        Property {
            code: "seawatertemperature",
            name: "Sea Water Temperature",
            description: "Sea Water Temperature: degrees Celsius",
            uom: "C",
            categories: &["CTD", "ADCP600KHZ"],
        },
        Property {
            code: "conductivity",
            name: "Conductivity",
            description: "Conductivity: siemens per metre",
            uom: "S/m",
            categories: &["CTD"],
        },
        Property {
            code: "pressure",
            name: "Pressure",
            description: "Pressure: decibar",
            uom: "decibar",
            categories: &["CTD"],
        },
        Property {
            code: "salinity",
            name: "Practical Salinity",
            description: "Practical Salinity",
            uom: "psu",
            categories: &["CTD"],
        },
        Property {
            code: "soundpressurelevel",
            name: "Sound Pressure Level",
            description: "Sound pressure (acoustic data)",
            uom: "dB",
            categories: &[HYDRO],
        },
    ];
    let devices = vec![
        Device {
            code: "ICLISTENHF6324",
            id: 74140,
            name: "Ocean Sonics icListen HF Hydrophone 6324",
            category: HYDRO,
            sample_rate: Some(64_000),
            sample_period_s: 0.0,
            layout: FileLayout::Audio { jitter: false },
            seed: 6324,
            properties: &[],
        },
        Device {
            code: "ICLISTENHF1560",
            id: 24346,
            name: "Ocean Sonics icListen HF Hydrophone 1560",
            category: HYDRO,
            sample_rate: Some(128_000),
            sample_period_s: 0.0,
            layout: FileLayout::Audio { jitter: false },
            seed: 1560,
            properties: &[],
        },
        // Not in the real snapshot (an invented device with jittered, unaligned file starts);
        // the others carry their real deviceId and name, and discovery serves their real record.
        Device {
            code: "NAXYS_HYD-023",
            id: 20007,
            name: "Naxys Ethernet Hydrophone 02345 (023)",
            category: HYDRO,
            sample_rate: Some(32_000),
            sample_period_s: 0.0,
            layout: FileLayout::Audio { jitter: true },
            seed: 23,
            properties: &[],
        },
        Device {
            code: "ICLISTENHF1266",
            id: 23235,
            name: "Ocean Sonics icListen HF Hydrophone 1266",
            category: HYDRO,
            sample_rate: Some(64_000),
            sample_period_s: 0.0,
            layout: FileLayout::Audio { jitter: false },
            seed: 1266,
            properties: &[],
        },
        Device {
            code: "SBECTD19p7128",
            id: 23830,
            name: "Sea-Bird SeaCAT SBE19plus V2 7128",
            category: "CTD",
            sample_rate: None,
            sample_period_s: 1.0,
            layout: FileLayout::DailyLog,
            seed: 7128,
            properties: &[
                "seawatertemperature",
                "conductivity",
                "pressure",
                "salinity",
            ],
        },
        Device {
            code: "RDIADCP600WH25471",
            id: 30699,
            name: "RDI Workhorse Monitor ADCP 600 kHz (SN 25471)",
            category: "ADCP600KHZ",
            sample_rate: None,
            sample_period_s: 0.0,
            layout: FileLayout::DailyLog,
            seed: 25471,
            properties: &[],
        },
    ];
    let deployments = vec![
        // ICLISTENHF6324: three deployments at KEMFH.H1 with a gap between the first two;
        // WAV before 2020-08-10, FLAC after; data through April 2024.
        dep(
            "ICLISTENHF6324",
            "KEMFH.H1",
            "2019-06-14T18:00:00Z",
            Some("2020-05-20T00:00:00Z"),
            2191.0,
        ),
        dep(
            "ICLISTENHF6324",
            "KEMFH.H1",
            "2020-07-02T20:00:00Z",
            Some("2022-06-28T00:00:00Z"),
            2191.0,
        ),
        dep(
            "ICLISTENHF6324",
            "KEMFH.H1",
            "2022-06-30T06:00:00Z",
            Some("2024-05-01T00:00:00Z"),
            2191.0,
        ),
        dep(
            "ICLISTENHF1266",
            "KEMFH.H2",
            "2023-09-01T00:00:00Z",
            Some("2024-09-01T00:00:00Z"),
            2189.0,
        ),
        dep(
            "ICLISTENHF1266",
            "KEMFH.H2",
            "2024-09-20T00:00:00Z",
            None,
            2189.0,
        ),
        dep(
            "ICLISTENHF1560",
            "BACAX.H1",
            "2018-09-01T00:00:00Z",
            Some("2021-01-15T00:00:00Z"),
            985.0,
        ),
        dep(
            "ICLISTENHF1560",
            "BACAX.H1",
            "2021-03-01T00:00:00Z",
            None,
            985.0,
        ),
        dep(
            "NAXYS_HYD-023",
            "SCVIP.H3",
            "2019-01-10T00:00:00Z",
            Some("2020-12-01T00:00:00Z"),
            297.0,
        ),
        dep(
            "NAXYS_HYD-023",
            "SCVIP.H3",
            "2021-02-01T00:00:00Z",
            None,
            297.0,
        ),
        dep(
            "SBECTD19p7128",
            "BACAX",
            "2019-05-01T00:00:00Z",
            Some("2023-05-01T00:00:00Z"),
            982.0,
        ),
        dep(
            "SBECTD19p7128",
            "BACAX",
            "2023-06-01T00:00:00Z",
            None,
            982.0,
        ),
        dep(
            "RDIADCP600WH25471",
            "BACAX",
            "2020-01-01T00:00:00Z",
            None,
            980.0,
        ),
    ];
    let products = vec![
        Product {
            code: "HSD",
            name: "Hydrophone Spectral Data",
            // The real service also offers fft and oct; the simulator does not render them.
            extensions: &["mat", "png", "pdf"],
            categories: &[HYDRO],
            archived: false,
        },
        Product {
            code: "AD",
            name: "Audio Data",
            extensions: &["flac", "wav", "mp3"],
            categories: &[HYDRO],
            archived: false,
        },
        Product {
            code: "TSSD",
            name: "Time Series Scalar Data",
            extensions: &["csv", "json"],
            categories: &["CTD"],
            archived: false,
        },
        Product {
            code: "LF",
            name: "Log File",
            extensions: &["txt"],
            categories: &["CTD", "ADCP600KHZ"],
            archived: true,
        },
    ];
    Catalog {
        locations,
        categories,
        properties,
        devices,
        deployments,
        products,
    }
}
