//! `edgefed observe`: the current state as a desired-state document.

use crate::app::{self, Access, Failure, Outcome, print};
use crate::cli::{Global, OutputFormat};
use crate::exit;

/// Runs `observe`.
///
/// # Errors
/// Backend failure (exit 1).
pub fn run(global: &Global) -> Outcome {
    let json = match global.output.unwrap_or(OutputFormat::Yaml) {
        OutputFormat::Yaml | OutputFormat::Human => false,
        OutputFormat::Json => true,
        _ => return Err(Failure::usage("`observe` prints yaml or json")),
    };
    let rt = app::runtime()?;
    let backend = app::open_backend(global, Access::Read, Vec::new())?;
    let observation = app::observe(&rt, backend.as_ref())?;
    let (text, notes) = crate::document::observed_document(&observation.deployment, json);
    for n in notes {
        app::note(&format!("note: {n}"));
    }
    print(&text);
    Ok(exit::SUCCESS)
}
