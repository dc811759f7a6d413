//! `edgefed validate -f DESIRED.yaml`: static checks only (V1–V7).

use super::Outcome;
use crate::app::print;
use crate::cli::{DocArgs, OutputFormat};
use crate::document::LoadError;
use crate::error::Error;
use crate::exit;
use crate::settings::Settings;

/// Runs `validate`.
///
/// # Errors
/// A rendered report of every problem (exit 1).
pub fn run(settings: &Settings, args: &DocArgs) -> Outcome {
    let format = super::output_format(
        settings,
        "validate",
        &[OutputFormat::Human, OutputFormat::Json, OutputFormat::Github],
    )?;
    let desired = match super::load_desired(&args.file) {
        Ok(d) => d,
        Err(e) => {
            // Annotations on stdout for the runner; the report on stderr as always.
            if format == OutputFormat::Github {
                print(&match &e {
                    Error::Document(LoadError::Invalid(d)) => crate::render::github::diagnostics(d),
                    other => crate::render::github::error(Some(&args.file), &other.to_string()),
                });
            }
            return Err(e);
        }
    };
    match format {
        OutputFormat::Human | OutputFormat::Github => print(&format!(
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
