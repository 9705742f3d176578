//! `onc-hydro plan`: ONC's `createXLS` — walk discovery for the filters and write the download
//! workbook ('By Location' / 'By Device', 'Configuration', 'Product options', 'Offerings'), or
//! with `--append` add rows for new deployments to an existing workbook, leaving edited rows
//! alone. The token is never written to the workbook.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;

use super::discover::client_for;
use super::{GlobalArgs, Outcome, Settings};
use crate::api::{self, DataProductCode};
use crate::plan::{self, Config, DiscoveryFilters, Method};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples (the seed's researchers, against the simulator):\n  \
onc-hydro --sim plan --out whale --location NEP --device-category HYDROPHONE --product AD --ext flac \\\n    \
--from 2023-06-01T00:00:00Z --to 2024-05-31T23:59:59.999Z\n  \
onc-hydro --sim plan --out geo --location BACAX --ext mat --from 2023-10-23 --to 2024-05-31 --method all\n  \
onc-hydro --sim plan --out tssd --location BACND --product TSSD --from 2023-06-01 --to 2024-06-01\n  \
onc-hydro --sim plan --out day --device-category HYDROPHONE --from 2024-03-31 --to 2024-04-01 --method by-device"
)]
pub struct PlanArgs {
    /// The folder the data files will be saved to (written as the workbook's downloadFolder).
    #[arg(long)]
    pub out: PathBuf,
    /// Start of the period (inclusive, UTC).
    #[arg(long)]
    pub from: String,
    /// End of the period (exclusive, UTC).
    #[arg(long)]
    pub to: String,
    /// Search below this location in the tree (e.g. NEP); default everywhere.
    #[arg(long)]
    pub location: Option<String>,
    /// Device category code, e.g. HYDROPHONE, CTD.
    #[arg(long = "device-category")]
    pub device_category: Option<String>,
    /// One device code.
    #[arg(long)]
    pub device: Option<String>,
    /// Property code, e.g. seawatertemperature.
    #[arg(long)]
    pub property: Option<String>,
    /// Data product codes to keep, comma-separated (default all), e.g. AD,HSD.
    #[arg(long, value_delimiter = ',')]
    pub product: Vec<String>,
    /// Extensions to keep, comma-separated (default all), e.g. flac,mat.
    #[arg(long, value_delimiter = ',')]
    pub ext: Vec<String>,
    /// Which request sheets: by-location (default), by-device or all.
    #[arg(long, default_value = "by-location", value_parser = parse_method)]
    pub method: Method,
    /// The workbook to write (default OUT/download.xlsx).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Add rows for new deployments to an existing workbook (edited rows are left alone).
    #[arg(long)]
    pub append: bool,
}

fn parse_method(s: &str) -> Result<Method, String> {
    Method::parse(s).ok_or_else(|| format!("\"{s}\" is not by-location, by-device or all"))
}

pub async fn run(global: &GlobalArgs, args: PlanArgs) -> anyhow::Result<Outcome> {
    let from = api::parse_onc(&args.from).context("bad --from")?;
    let to = api::parse_onc(&args.to).context("bad --to")?;
    if from >= to {
        bail!("--from must be before --to (the period is [from, to))");
    }
    let file = args
        .file
        .clone()
        .unwrap_or_else(|| args.out.join("download.xlsx"));
    if args.append && !file.exists() {
        eprintln!("{} does not exist yet: creating it", file.display());
    }
    let filters = DiscoveryFilters {
        location: args.location.as_deref().map(Into::into),
        device_category: args.device_category.as_deref().map(Into::into),
        device: args.device.as_deref().map(Into::into),
        property: args.property.as_deref().map(Into::into),
        products: args
            .product
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(DataProductCode::new)
            .collect(),
        extensions: args
            .ext
            .iter()
            .map(|e| e.trim().trim_start_matches('.').to_string())
            .filter(|e| !e.is_empty())
            .collect(),
        from,
        to,
        method: args.method,
    };
    let settings = Settings::resolve(global).await?;
    let client = client_for(&settings)?;
    let found = plan::discover(&client, &filters).await?;
    let (book, added, kept) = if args.append && file.exists() {
        let existing = plan::read_workbook(&file)?;
        let (book, summary) = plan::append_plan(&existing, &found, args.method)?;
        (book, summary.rows_added, summary.rows_kept)
    } else {
        let config = Config {
            download_folder: download_folder_text(&args.out, &file)?,
            ..Config::default()
        };
        (
            plan::new_plan(&found, args.method, config),
            found.rows.len(),
            0,
        )
    };
    plan::write_workbook(&file, &book)?;
    if settings.json {
        let per_sheet: serde_json::Map<String, serde_json::Value> =
            plan::rows_per_sheet(&found.rows)
                .into_iter()
                .map(|(k, n)| (k.sheet_name().to_string(), n.into()))
                .collect();
        println!(
            "{}",
            serde_json::json!({
                "file": file.display().to_string(),
                "deployments": found.deployments,
                "rowsDiscovered": per_sheet,
                "rowsAdded": added,
                "rowsKept": kept,
            })
        );
    } else {
        println!(
            "{} deployment(s) in [{}, {}); {} row(s) added{} → {}",
            found.deployments,
            api::format_onc(from),
            api::format_onc(to),
            added,
            if args.append {
                format!(", {kept} existing row(s) kept")
            } else {
                String::new()
            },
            file.display()
        );
        if found.rows.is_empty() {
            println!("nothing matched: check the filters (`onc-hydro discover …` helps)");
        } else {
            println!(
                "edit the workbook (download Y/N, begin/end, extension, options, Configuration), then: onc-hydro download {}",
                file.display()
            );
        }
    }
    Ok(Outcome::AllDone)
}

/// `--out` as the workbook will read it: relative to the workbook's folder when it lies below
/// it, absolute otherwise.
fn download_folder_text(out: &Path, file: &Path) -> anyhow::Result<String> {
    let out_abs =
        std::path::absolute(out).with_context(|| format!("resolving {}", out.display()))?;
    let file_abs =
        std::path::absolute(file).with_context(|| format!("resolving {}", file.display()))?;
    let base = file_abs.parent().unwrap_or(Path::new("/"));
    Ok(match out_abs.strip_prefix(base) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".to_string(),
        Ok(rel) => rel.display().to_string(),
        Err(_) => out_abs.display().to_string(),
    })
}
