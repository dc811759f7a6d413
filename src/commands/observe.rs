//! `edgefed observe`: the current state as a desired-state document.

use super::Outcome;
use crate::app::{self, Access, print};
use crate::cli::OutputFormat;
use crate::error::Error;
use crate::exit;
use crate::settings::Settings;

/// Runs `observe`.
///
/// # Errors
/// Backend failure (exit 1).
pub fn run(settings: &Settings) -> Outcome {
    let json = match settings.output.unwrap_or(OutputFormat::Yaml) {
        OutputFormat::Yaml | OutputFormat::Human => false,
        OutputFormat::Json => true,
        _ => return Err(Error::usage("`observe` prints yaml or json")),
    };
    let rt = app::runtime()?;
    let backend = app::open_backend(settings, Access::Read, Vec::new())?;
    let observation = app::observe(&rt, backend.as_ref())?;
    let (text, notes) = crate::document::observed_document(&observation.deployment, json);
    for n in notes {
        app::note(&format!("note: {n}"));
    }
    print(&text);
    Ok(exit::SUCCESS)
}
