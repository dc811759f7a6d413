//! `edgefed show PLAN.json`: a saved plan in any plan format, as `plan`
//! prints it, without contacting any system. The file gets the same checks
//! as `reconcile --plan` before the backend is asked anything.

use super::Outcome;
use crate::app::print;
use crate::cli::{OutputFormat, ShowArgs};
use crate::exit;
use crate::settings::Settings;

/// Runs `show`.
///
/// # Errors
/// The file cannot be read or is not a usable plan (exit 1); yaml (usage).
pub fn run(settings: &Settings, args: &ShowArgs) -> Outcome {
    let format = settings.output.unwrap_or(OutputFormat::Human);
    super::plan::check_format(format, "show")?;
    let (doc, plan) = super::saved_plan::read(&args.plan)?;
    print(&super::plan::render(format, &plan, &doc)?);
    Ok(exit::SUCCESS)
}
