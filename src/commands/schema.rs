//! `edgefed schema`: the JSON Schemas (draft-07) of the desired-state
//! document and of the JSON outputs (plan, apply report, failure), generated
//! from the Rust types that parse or write them, so they cannot drift.

use super::Outcome;
use crate::app::{self, print};
use crate::cli::{OutputFormat, SchemaArgs, SchemaOf};
use crate::error::Error;
use crate::exit;
use crate::settings::Settings;

/// The schema of `of`.
#[must_use]
pub fn schema(of: SchemaOf) -> schemars::Schema {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    match of {
        SchemaOf::Document => generator.into_root_schema_for::<crate::document::file::DocumentFile>(),
        SchemaOf::Plan => generator.into_root_schema_for::<crate::render::PlanDocument>(),
        SchemaOf::Report => generator.into_root_schema_for::<crate::render::report::ReportDocument>(),
        SchemaOf::Error => generator.into_root_schema_for::<crate::render::error_json::ErrorDocument>(),
    }
}

/// The schema as pretty JSON with a final newline.
#[must_use]
pub fn schema_json(of: SchemaOf) -> String {
    let mut s = serde_json::to_string_pretty(&schema(of)).unwrap_or_default();
    s.push('\n');
    s
}

/// The schema as YAML (the same schema; YAML is a superset of JSON).
///
/// # Errors
/// [`Error::Internal`] if the schema does not serialise.
pub fn schema_yaml(of: SchemaOf) -> Result<String, Error> {
    serde_saphyr::to_string(&schema(of))
        .map_err(|e| Error::Internal(format!("the schema does not serialise as YAML: {e}")))
}

/// Runs `schema`.
///
/// # Errors
/// `--output` other than json or yaml (usage), or when `--out` cannot be written.
pub fn run(settings: &Settings, args: &SchemaArgs) -> Outcome {
    let text = match super::output_format(settings, "schema", &[OutputFormat::Json, OutputFormat::Yaml])? {
        OutputFormat::Yaml => schema_yaml(args.of)?,
        _ => schema_json(args.of),
    };
    match &args.out {
        Some(path) => app::write_file(path, text.as_bytes())?,
        None => print(&text),
    }
    Ok(exit::SUCCESS)
}
