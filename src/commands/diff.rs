//! `edgefed diff -f DESIRED.yaml`: a unified diff of the observed document
//! (as `observe` prints it) and the desired one (see [`crate::render::diff`]).
//! Exit 0 when they are the same, 2 when they differ (as `reconcile --check`
//! exits 2 on drift; `kubectl diff` uses 1), 1 on an error.

use super::Outcome;
use crate::app::{self, Access, print};
use crate::cli::DocArgs;
use crate::error::Error;
use crate::exit;
use crate::render::ordered::Node;
use crate::settings::Settings;

/// Runs `diff`.
///
/// # Errors
/// Invalid document or backend failure (exit 1); `--output` (usage).
pub fn run(settings: &Settings, args: &DocArgs) -> Outcome {
    super::output_format(settings, "diff", &[crate::cli::OutputFormat::Human])?;
    let desired = super::load_desired(&args.file)?;
    // The document is valid, so it reads as a tree too.
    let desired_tree: Node = serde_saphyr::from_str(&desired.source.text)
        .map_err(|e| Error::Internal(format!("a valid document does not read as a tree: {e}")))?;
    let rt = app::runtime()?;
    let backend = app::open_backend(settings, Access::Read, desired.managed_records())?;
    let observation = app::observe(&rt, backend.as_ref())?;
    let (json, notes) = crate::document::observed_document(&observation.deployment, true);
    for n in notes {
        app::note(&format!("note: {n}"));
    }
    let observed_tree: Node = serde_json::from_str(&json)
        .map_err(|e| Error::Internal(format!("the observed document does not read back: {e}")))?;
    let observed_name = format!("observed ({})", backend.name());
    match crate::render::diff::unified(&observed_tree, &desired_tree, &observed_name, &desired.source.file)
        .map_err(Error::Internal)?
    {
        None => Ok(exit::SUCCESS),
        Some(text) => {
            print(&text);
            Ok(exit::DRIFT)
        }
    }
}
