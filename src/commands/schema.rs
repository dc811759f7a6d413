//! `edgefed schema`: the JSON Schema (draft-07) of the desired-state document,
//! generated from the Rust types that parse it.

use super::Outcome;
use crate::app::{self, print};
use crate::cli::SchemaArgs;
use crate::exit;

/// The schema as pretty JSON with a final newline.
#[must_use]
pub fn schema_json() -> String {
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<crate::document::file::DocumentFile>();
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

/// Runs `schema`.
///
/// # Errors
/// When `--out` cannot be written.
pub fn run(args: &SchemaArgs) -> Outcome {
    let text = schema_json();
    match &args.out {
        Some(path) => app::write_file(path, text.as_bytes())?,
        None => print(&text),
    }
    Ok(exit::SUCCESS)
}
