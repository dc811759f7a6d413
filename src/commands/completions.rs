//! `edgefed completions SHELL`: a completion script for the shell, generated
//! from the command line's definition.

use super::Outcome;
use crate::app::print;
use crate::cli::{Cli, CompletionsArgs};
use crate::exit;
use crate::settings::Settings;

/// The completion script for `shell`.
#[must_use]
pub fn script(shell: clap_complete::Shell) -> String {
    let mut command = <Cli as clap::CommandFactory>::command();
    let mut bytes = Vec::new();
    clap_complete::generate(shell, &mut command, "edgefed", &mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Runs `completions`.
///
/// # Errors
/// `--output` given (usage): the script has one form.
pub fn run(settings: &Settings, args: &CompletionsArgs) -> Outcome {
    super::output_format(settings, "completions", &[])?;
    print(&script(args.shell));
    Ok(exit::SUCCESS)
}
