//! The program and its commands: parse the arguments, check the global
//! options ([`Settings`]), run one command, map the result to an exit code.
//! One module per command: each takes the settings and its arguments and
//! returns an exit code or an [`Error`].

mod approval;
pub mod lab;
pub mod observe;
pub mod plan;
pub mod reconcile;
pub mod schema;
pub mod topology;
pub mod validate;
mod verify;

use std::process::ExitCode;

use crate::app;
use crate::cli::{Cli, Command};
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
    let cli = match <Cli as clap::Parser>::try_parse_from(args) {
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
            return ExitCode::from(code);
        }
    };
    let outcome = Settings::from_global(&cli.global).and_then(|settings| {
        app::set_up_output(&settings);
        dispatch(&settings, &cli.command)
    });
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let mut err = anstream::stderr();
            let _ = std::io::Write::write_all(&mut err, e.report().as_bytes());
            ExitCode::from(e.exit_code())
        }
    }
}

fn dispatch(settings: &Settings, command: &Command) -> Outcome {
    match command {
        Command::Validate(a) => validate::run(settings, a),
        Command::Plan(a) => plan::run(settings, a),
        Command::Reconcile(a) => reconcile::run(settings, a),
        Command::Observe => observe::run(settings),
        Command::Schema(a) => schema::run(a),
        Command::Lab(c) => lab::run(settings, c),
        Command::Topology(c) => topology::run(settings, c),
    }
}

/// Loads a desired-state document.
pub(crate) fn load_desired(file: &str) -> Result<Desired, Error> {
    Ok(document::load(file)?)
}
