//! The OOI simulator's inventory: a handful of real reference designators (the seed's BOTPT
//! bottom-pressure tiltmeter at Axial's caldera, a CTD on Axial's shallow profiler mooring
//! platform, and the Axial Base broadband hydrophone), their delivery methods, streams and
//! variables, and their deployments. Deployment dates and positions are close to OOI's but not
//! authoritative; values in the files are synthetic.
//!
//! The rates are thinned for the simulator: BOTPT `botpt_nano_sample` is 20 Hz at OOI and 1 Hz
//! here. The broadband hydrophone has no M2M NetCDF stream here: its data are miniSEED files
//! on OOI's raw-data server (issue 12), so its stream list is empty.
//!
//! Must not know: HTTP, the request life cycle.

use jiff::Timestamp;

/// One variable of a stream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Var {
    pub name: &'static str,
    pub units: &'static str,
    pub long_name: &'static str,
    /// Mean value, amplitude of a slow (tidal) sine, and noise amplitude.
    pub mean: f64,
    pub tide: f64,
    pub noise: f64,
}

/// One stream of an instrument.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stream {
    pub method: &'static str,
    pub name: &'static str,
    /// Seconds between rows (at the simulator's thinned rate).
    pub interval_s: f64,
    pub vars: &'static [Var],
}

/// One deployment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deploy {
    pub number: u32,
    pub start: &'static str,
    pub stop: Option<&'static str>,
    pub uid: &'static str,
}

/// One instrument.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Instrument {
    pub refdes: &'static str,
    pub methods: &'static [&'static str],
    pub streams: &'static [Stream],
    pub deployments: &'static [Deploy],
    pub lat: f64,
    pub lon: f64,
    pub depth: f64,
}

const BOTPT_VARS: &[Var] = &[
    Var {
        name: "bottom_pressure",
        units: "psia",
        long_name: "Seafloor Pressure",
        mean: 2217.4,
        tide: 1.1,
        noise: 0.002,
    },
    Var {
        name: "temperature",
        units: "ºC",
        long_name: "Instrument Temperature",
        mean: 2.31,
        tide: 0.01,
        noise: 0.001,
    },
];

const CTD_VARS: &[Var] = &[
    Var {
        name: "seawater_temperature",
        units: "ºC",
        long_name: "Seawater Temperature",
        mean: 4.1,
        tide: 0.05,
        noise: 0.002,
    },
    Var {
        name: "seawater_pressure",
        units: "dbar",
        long_name: "Seawater Pressure",
        mean: 196.0,
        tide: 0.8,
        noise: 0.01,
    },
    Var {
        name: "seawater_conductivity",
        units: "S m-1",
        long_name: "Seawater Conductivity",
        mean: 3.31,
        tide: 0.003,
        noise: 0.0002,
    },
    Var {
        name: "practical_salinity",
        units: "1",
        long_name: "Practical Salinity",
        mean: 34.05,
        tide: 0.01,
        noise: 0.001,
    },
];

/// Every instrument the simulator knows.
pub(crate) const INSTRUMENTS: &[Instrument] = &[
    Instrument {
        refdes: "RS03CCAL-MJ03F-05-BOTPTA301",
        methods: &["streamed"],
        streams: &[
            Stream {
                method: "streamed",
                name: "botpt_nano_sample",
                interval_s: 1.0,
                vars: BOTPT_VARS,
            },
            Stream {
                method: "streamed",
                name: "botpt_nano_sample_15s",
                interval_s: 15.0,
                vars: BOTPT_VARS,
            },
        ],
        deployments: &[
            Deploy {
                number: 1,
                start: "2014-07-25T21:05:00Z",
                stop: Some("2017-01-30T23:26:15Z"),
                uid: "ATAPL-58316-00001",
            },
            Deploy {
                number: 2,
                start: "2017-08-12T18:00:00Z",
                stop: Some("2019-06-20T17:00:00Z"),
                uid: "ATAPL-58316-00001",
            },
            Deploy {
                number: 3,
                start: "2019-06-21T02:00:00Z",
                stop: None,
                uid: "ATAPL-58316-00002",
            },
        ],
        lat: 45.954_68,
        lon: -130.008_91,
        depth: 1528.0,
    },
    Instrument {
        refdes: "RS03AXPS-PC03A-4A-CTDPFA303",
        methods: &["streamed"],
        streams: &[Stream {
            method: "streamed",
            name: "ctdpf_optode_sample",
            interval_s: 1.0,
            vars: CTD_VARS,
        }],
        deployments: &[
            Deploy {
                number: 1,
                start: "2014-09-29T00:00:00Z",
                stop: Some("2015-07-12T00:00:00Z"),
                uid: "CGINS-CTDPFA-00001",
            },
            Deploy {
                number: 2,
                start: "2015-07-13T00:00:00Z",
                stop: None,
                uid: "CGINS-CTDPFA-00002",
            },
        ],
        lat: 45.830_49,
        lon: -129.753_26,
        depth: 200.0,
    },
    Instrument {
        refdes: "RS03AXBS-LJ03A-09-HYDBBA302",
        methods: &["streamed"],
        streams: &[],
        deployments: &[Deploy {
            number: 1,
            start: "2017-08-07T00:00:00Z",
            stop: None,
            uid: "OL000-00001",
        }],
        lat: 45.820_18,
        lon: -129.736_71,
        depth: 2607.0,
    },
];

/// `(site, node, sensor)` of an instrument.
pub(crate) fn parts(i: &Instrument) -> (&'static str, &'static str, &'static str) {
    let mut it = i.refdes.splitn(3, '-');
    let site = it.next().unwrap_or("");
    let node = it.next().unwrap_or("");
    let sensor = it.next().unwrap_or("");
    (site, node, sensor)
}

/// The instrument at `site/node/sensor`.
pub(crate) fn find(site: &str, node: &str, sensor: &str) -> Option<&'static Instrument> {
    INSTRUMENTS
        .iter()
        .find(|i| parts(i) == (site, node, sensor))
}

/// A deployment's interval (open deployments end at `now`).
pub(crate) fn span(d: &Deploy, now: Timestamp) -> Option<(Timestamp, Timestamp)> {
    let start: Timestamp = d.start.parse().ok()?;
    let stop = match d.stop {
        Some(s) => s.parse().ok()?,
        None => now,
    };
    (start < stop).then_some((start, stop))
}

/// Sorted, de-duplicated values of `f` over the instruments.
pub(crate) fn distinct(f: impl Fn(&Instrument) -> Option<&'static str>) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = INSTRUMENTS.iter().filter_map(f).collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_is_consistent() {
        for i in INSTRUMENTS {
            let (s, n, x) = parts(i);
            assert!(find(s, n, x).is_some());
            for st in i.streams {
                assert!(i.methods.contains(&st.method));
            }
            for d in i.deployments {
                assert!(span(d, Timestamp::now()).is_some(), "{}", i.refdes);
            }
        }
        assert_eq!(distinct(|i| Some(parts(i).0)).len(), 3);
    }
}
