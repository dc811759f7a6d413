//! `edgefed validate -f DESIRED.yaml`: static checks only (V1–V6).

use crate::app::{Failure, Outcome, print};
use crate::cli::{DocArgs, Global, OutputFormat};
use crate::exit;

/// Runs `validate`.
///
/// # Errors
/// A rendered report of every problem (exit 1).
pub fn run(global: &Global, args: &DocArgs) -> Outcome {
    let desired = super::load_desired(&args.file)?;
    match global.output.unwrap_or(OutputFormat::Human) {
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
        other => {
            return Err(Failure::usage(
                format!("`validate` prints human or json, not {other:?}").to_lowercase(),
            ));
        }
    }
    Ok(exit::SUCCESS)
}
