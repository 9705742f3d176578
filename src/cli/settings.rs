//! Global settings: where the server is (`--base-url`, `ONC_BASE_URL`, or an in-process
//! simulator with `--sim`), the token (`--token`, `ONC_TOKEN`, `.env`), output style, logging.
//! The token is a secret: it is never printed, and every error passes through [`redact_chain`].

use std::sync::OnceLock;

use anyhow::Context;
use clap::Args;

use crate::api;
use crate::ooi;
use crate::sim::{SimConfig, SimServer, DEMO_TOKEN, OOI_DEMO_TOKEN, OOI_DEMO_USERNAME};

/// The real Oceans 3.0 service.
pub const ONC_BASE_URL: &str = "https://data.oceannetworks.ca/";

/// Flags every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Base URL of the Oceans 3.0 service (the API lives under `api/`).
    #[arg(long, global = true, env = "ONC_BASE_URL", default_value = ONC_BASE_URL)]
    pub base_url: String,

    /// Your Oceans 3.0 API token (Oceans 3.0 → Profile → Web Services API). Prefer the ONC_TOKEN
    /// environment variable or a .env file: a flag can be seen in the process list.
    #[arg(long, global = true, env = "ONC_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Start an in-process Oceans 3.0 simulator and run against it (no network, no token needed).
    #[arg(long, global = true)]
    pub sim: bool,

    /// Time scale of the --sim simulator: 1.0 is ONC-like seconds; the default lets a demo
    /// finish in seconds.
    #[arg(long, global = true, default_value_t = 0.02)]
    pub sim_time_scale: f64,

    /// Render the --sim simulator's audio (and the spectrograms made from it) at this sample
    /// rate instead of each device's (tests: fast five-minute files).
    #[arg(long, global = true, hide = true, value_name = "HZ")]
    pub sim_audio_rate: Option<u32>,

    /// Print machine-readable JSON on stdout instead of tables.
    #[arg(long, global = true)]
    pub json: bool,

    /// Your OOI API username (ooinet.oceanobservatories.org → profile). Also OOI_USERNAME, a
    /// .env file, or `machine ooinet.oceanobservatories.org login …` in ~/.netrc.
    #[arg(long, global = true, env = "OOI_USERNAME", value_name = "NAME")]
    pub ooi_username: Option<String>,

    /// Your OOI API token. Prefer OOI_TOKEN (environment or .env) or ~/.netrc: a flag can be
    /// seen in the process list. Never printed.
    #[arg(
        long,
        global = true,
        env = "OOI_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub ooi_token: Option<String>,

    /// Base URL of OOI's M2M service.
    #[arg(long, global = true, env = "OOI_M2M_URL", default_value = ooi::DEFAULT_M2M_BASE, value_name = "URL")]
    pub ooi_base_url: String,

    /// Base URL of OOI's raw-data archive (the `files/` folder).
    #[arg(long, global = true, env = "OOI_RAW_URL", default_value = ooi::DEFAULT_RAW_BASE, value_name = "URL")]
    pub ooi_raw_url: String,
}

/// Resolved settings. Holds the in-process simulator (if any) alive for the command's duration.
pub struct Settings {
    /// The Oceans 3.0 API base URL (the simulator's when `--sim`).
    pub base_url: String,
    token: String,
    /// Machine-readable output (`--json`) instead of tables.
    pub json: bool,
    /// OOI's M2M base URL (the simulator's `ooi/api/m2m/` when `--sim`).
    pub ooi_base_url: String,
    /// OOI's raw-data archive base URL (the simulator's `ooi-raw/files/` when `--sim`).
    pub ooi_raw_url: String,
    ooi_creds: Option<(String, String)>,
    _sim: Option<SimServer>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("base_url", &self.base_url)
            .field("token", &api::REDACTED)
            .field("json", &self.json)
            .finish()
    }
}

static SECRET: OnceLock<String> = OnceLock::new();

impl Settings {
    /// Resolves the flags; starts the simulator for `--sim`. A missing token is an error only
    /// when talking to a real server.
    pub async fn resolve(global: &GlobalArgs) -> anyhow::Result<Settings> {
        Settings::resolve_with(global, true).await
    }

    /// [`Settings::resolve`] without requiring an Oceans 3.0 token (OOI commands, and ledgers
    /// that hold OOI tasks).
    pub async fn resolve_lenient(global: &GlobalArgs) -> anyhow::Result<Settings> {
        Settings::resolve_with(global, false).await
    }

    async fn resolve_with(global: &GlobalArgs, need_onc: bool) -> anyhow::Result<Settings> {
        let explicit_ooi = global.ooi_username.clone().zip(global.ooi_token.clone());
        if let Some((_, t)) = &explicit_ooi {
            remember_ooi_secret(t);
        }
        if global.sim {
            if !(global.sim_time_scale.is_finite() && global.sim_time_scale >= 0.0) {
                anyhow::bail!(
                    "--sim-time-scale must be a number ≥ 0, got {}",
                    global.sim_time_scale
                );
            }
            let config = SimConfig {
                time_scale: global.sim_time_scale,
                audio_sample_rate_override: global.sim_audio_rate,
                ..SimConfig::default()
            };
            let sim = SimServer::start(config)
                .await
                .context("starting the simulator")?;
            let token = global
                .token
                .clone()
                .unwrap_or_else(|| DEMO_TOKEN.to_string());
            remember_secret(&token);
            let ooi_creds = explicit_ooi.or(Some((
                OOI_DEMO_USERNAME.to_string(),
                OOI_DEMO_TOKEN.to_string(),
            )));
            return Ok(Settings {
                base_url: sim.base_url().to_string(),
                token,
                json: global.json,
                ooi_base_url: format!("{}ooi/api/m2m/", sim.base_url()),
                ooi_raw_url: format!("{}ooi-raw/files/", sim.base_url()),
                ooi_creds,
                _sim: Some(sim),
            });
        }
        let token = global
            .token
            .clone()
            .map(|t| clean_token(&t))
            .unwrap_or_default();
        if token.is_empty() && need_onc {
            anyhow::bail!(
                "no Oceans 3.0 token: set ONC_TOKEN (environment or a .env file) or pass --token; \
                 or add --sim to use the built-in simulator"
            );
        }
        remember_secret(&token);
        Ok(Settings {
            base_url: global.base_url.clone(),
            token,
            json: global.json,
            ooi_base_url: global.ooi_base_url.clone(),
            ooi_raw_url: global.ooi_raw_url.clone(),
            ooi_creds: explicit_ooi,
            _sim: None,
        })
    }

    /// The token, for handing to the API client. Never print it.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Whether an Oceans 3.0 token is set (or the simulator runs).
    pub fn has_onc_token(&self) -> bool {
        !self.token.is_empty()
    }

    /// The client of OOI's public raw-data archive (no credentials).
    pub fn ooi_raw_client(&self) -> anyhow::Result<ooi::RawClient> {
        Ok(ooi::RawClient::new(&self.ooi_raw_url)?)
    }

    /// The OOI client: credentials from the flags / `OOI_USERNAME` + `OOI_TOKEN` (environment or
    /// `.env`), else `~/.netrc`; the simulator's demo pair with `--sim`.
    pub fn ooi_client(&self) -> anyhow::Result<ooi::Client> {
        let (u, t) = self.ooi_creds.clone().unzip();
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let netrc = std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".netrc"));
        let (creds, _) =
            ooi::Credentials::resolve(u.as_deref(), t.as_deref(), &env, netrc.as_deref())?;
        remember_ooi_secret(creds.token());
        Ok(ooi::Client::new(&self.ooi_base_url, creds)?)
    }
}

static OOI_SECRET: OnceLock<String> = OnceLock::new();

fn remember_ooi_secret(token: &str) {
    if !token.is_empty() {
        let _ = OOI_SECRET.set(token.to_string());
    }
}

/// Keeps only `[A-Za-z0-9-]`, as ONC's own client does.
fn clean_token(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

fn remember_secret(token: &str) {
    let _ = SECRET.set(token.to_string());
}

/// Formats an error with its causes, with every trace of the token removed.
pub fn redact_chain(err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    let text = api::redact(&text, SECRET.get().map(String::as_str).unwrap_or(""));
    match OOI_SECRET.get().filter(|s| s.len() >= 4) {
        Some(s) => text.replace(s.as_str(), ooi::REDACTED),
        None => text,
    }
}

/// Loads `.env` from the working folder (or a parent), if present, into the environment.
/// Variables already set win. Must run before the flags are parsed: `--token` falls back to
/// `ONC_TOKEN` from the environment at parse time.
pub fn load_dotenv() {
    let _ = dotenvy::dotenv();
}

/// Sets up logging to stderr (`RUST_LOG`, default warnings).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
