//! The program and its commands: parse the arguments, check the global
//! options ([`Settings`]), run one command, map the result to an exit code.
//! One module per command: each takes the settings and its arguments and
//! returns an exit code or an [`Error`].

pub(crate) mod approval;
pub mod completions;
pub mod diff;
pub mod lab;
pub mod man;
pub mod observe;
pub mod plan;
mod progress;
pub mod reconcile;
pub(crate) mod run_journal;
mod saved_plan;
pub mod schema;
pub mod show;
pub mod status;
pub mod topology;
pub mod validate;
pub(crate) mod verify;
pub mod watch;

use std::process::ExitCode;

use crate::app;
use crate::cli::{Cli, Command, OutputFormat};
use crate::document::{self, Desired};
use crate::error::Error;
use crate::exit;
use crate::settings::Settings;

/// The outcome of a command: an exit code, or the error to report.
pub type Outcome = Result<u8, Error>;

/// Runs edgefed with `args` (the first is the program name).
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let parsed = Cli::command_ignoring_empty_env()
        .try_get_matches_from(&args)
        .and_then(|matches| <Cli as clap::FromArgMatches>::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            // clap exits 2 on a usage error, but 2 means drift here: help and
            // version are successes, every other parse error is EX_USAGE (64),
            // including a bare `edgefed` (help shown for a missing command).
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => exit::SUCCESS,
                _ => exit::USAGE,
            };
            let _ = e.print();
            if code != exit::SUCCESS && asks_for_json(&args) {
                app::print(&crate::render::error_json::usage(&e.render().to_string(), code));
            }
            return ExitCode::from(code);
        }
    };
    let outcome = Settings::from_global(&cli.global).and_then(|settings| {
        let json_logs = matches!(&cli.command, Command::Watch(a) if a.log_format == crate::cli::LogFormat::Json);
        app::set_up_output(&settings, json_logs);
        // SIGINT / SIGTERM: the stages that can stop cleanly stop; elsewhere
        // edgefed exits at once (130 / 143). `watch` handles its own signals.
        if !matches!(&cli.command, Command::Watch(_)) {
            crate::signals::install();
        }
        dispatch(&settings, &cli.command)
    });
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let mut err = anstream::stderr();
            let _ = std::io::Write::write_all(&mut err, e.report().as_bytes());
            // Under --output json, stdout carries the error as JSON too.
            if cli.global.output == Some(OutputFormat::Json) {
                app::print(&crate::render::error_json::render(&e));
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// Whether a command line that clap refused asked for `--output json`
/// (`--output json` or `--output=json`), so its usage error is JSON too.
fn asks_for_json(args: &[std::ffi::OsString]) -> bool {
    args.iter()
        .zip(args.iter().skip(1))
        .any(|(a, b)| a == "--output" && b == "json")
        || args.iter().any(|a| a == "--output=json")
}

fn dispatch(settings: &Settings, command: &Command) -> Outcome {
    match command {
        Command::Validate(a) => validate::run(settings, a),
        Command::Plan(a) => plan::run(settings, a),
        Command::Reconcile(a) => reconcile::run(settings, a),
        Command::Observe => observe::run(settings),
        Command::Watch(a) => watch::run(settings, a),
        Command::Status => status::run(settings),
        Command::Show(a) => show::run(settings, a),
        Command::Diff(a) => diff::run(settings, a),
        Command::Schema(a) => schema::run(settings, a),
        Command::Lab(c) => lab::run(settings, c),
        Command::Topology(c) => topology::run(settings, c),
        Command::Completions(a) => completions::run(settings, a),
        Command::Man(a) => man::run(settings, a),
    }
}

/// Loads a desired-state document.
pub(crate) fn load_desired(file: &str) -> Result<Desired, Error> {
    Ok(document::load(file)?)
}

/// The output format for `command`: `--output` if it is one of `accepted`,
/// else the first of `accepted`. A command that prints nothing to format
/// passes no formats and refuses every `--output`.
///
/// # Errors
/// [`Error::Usage`] naming the command and the formats it prints.
pub(crate) fn output_format(
    settings: &Settings,
    command: &str,
    accepted: &[OutputFormat],
) -> Result<OutputFormat, Error> {
    let names = |formats: &[OutputFormat]| formats.iter().map(|f| format_name(*f)).collect::<Vec<_>>();
    match (settings.output, accepted.first()) {
        (None, Some(default)) => Ok(*default),
        (Some(f), _) if accepted.contains(&f) => Ok(f),
        (Some(f), None) => Err(Error::usage(format!(
            "`{command}` has no output to format; leave out --output {}",
            format_name(f)
        ))),
        (Some(f), Some(_)) => {
            let list = names(accepted);
            let list = match list.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
                _ => list.join(""),
            };
            Err(Error::usage(format!(
                "`{command}` prints {list}, not {}",
                format_name(f)
            )))
        }
        (None, None) => Ok(OutputFormat::Human),
    }
}

/// The name of a format as `--output` spells it.
pub(crate) fn format_name(format: OutputFormat) -> String {
    clap::ValueEnum::to_possible_value(&format)
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}
