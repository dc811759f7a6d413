//! `edgefed validate -f DESIRED.yaml`: static checks only (V1–V7).

use super::Outcome;
use crate::app::print;
use crate::cli::{DocArgs, OutputFormat};
use crate::error::Error;
use crate::exit;
use crate::settings::Settings;

/// Runs `validate`.
///
/// # Errors
/// A rendered report of every problem (exit 1).
pub fn run(settings: &Settings, args: &DocArgs) -> Outcome {
    let format = settings.output.unwrap_or(OutputFormat::Human);
    if !matches!(format, OutputFormat::Human | OutputFormat::Json) {
        return Err(Error::usage(
            format!("`validate` prints human or json, not {format:?}").to_lowercase(),
        ));
    }
    let desired = super::load_desired(&args.file)?;
    match format {
        OutputFormat::Human => print(&format!(
            "{}: valid ({} site(s), {} Edge pool(s), {} Front End pool(s), {} DNS zone(s))\n",
            desired.source.file,
            desired.sites.len(),
            desired.edge_pools.len(),
            desired.front_end_pools.len(),
            desired.dns.len()
        )),
        OutputFormat::Json => print(&format!(
            "{}\n",
            serde_json::json!({ "file": desired.source.file, "valid": true, "sha256": desired.source.sha256 })
        )),
        OutputFormat::Yaml | OutputFormat::Markdown | OutputFormat::Powershell => {}
    }
    Ok(exit::SUCCESS)
}
