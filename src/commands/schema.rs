//! `edgefed schema`: the JSON Schema (draft-07) of the desired-state document,
//! generated from the Rust types that parse it.

use super::Outcome;
use crate::app::{self, print};
use crate::cli::{OutputFormat, SchemaArgs};
use crate::error::Error;
use crate::exit;
use crate::settings::Settings;

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

/// The schema as YAML (the same schema; YAML is a superset of JSON).
///
/// # Errors
/// [`Error::Internal`] if the schema does not serialise.
pub fn schema_yaml() -> Result<String, Error> {
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<crate::document::file::DocumentFile>();
    serde_saphyr::to_string(&schema).map_err(|e| Error::Internal(format!("the schema does not serialise as YAML: {e}")))
}

/// Runs `schema`.
///
/// # Errors
/// `--output` other than json or yaml (usage), or when `--out` cannot be written.
pub fn run(settings: &Settings, args: &SchemaArgs) -> Outcome {
    let text = match super::output_format(settings, "schema", &[OutputFormat::Json, OutputFormat::Yaml])? {
        OutputFormat::Yaml => schema_yaml()?,
        _ => schema_json(),
    };
    match &args.out {
        Some(path) => app::write_file(path, text.as_bytes())?,
        None => print(&text),
    }
    Ok(exit::SUCCESS)
}
