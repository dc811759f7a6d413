//! `edgefed man`: the manual pages in roff, generated from the command line's
//! definition.

use std::path::{Path, PathBuf};

use super::Outcome;
use crate::app::{self, print};
use crate::cli::{Cli, ManArgs};
use crate::error::Error;
use crate::exit;
use crate::settings::Settings;

/// The command line's definition, built so that each subcommand carries its
/// full name (`edgefed-lab-fail`).
fn definition() -> clap::Command {
    let mut command = <Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    command.build();
    command
}

fn render(command: clap::Command) -> Result<(String, Vec<u8>), Error> {
    let man = clap_mangen::Man::new(command);
    let mut bytes = Vec::new();
    man.render(&mut bytes)
        .map_err(|e| Error::Internal(format!("the manual page does not render: {e}")))?;
    Ok((man.get_filename(), bytes))
}

/// The manual page `edgefed(1)`.
///
/// # Errors
/// [`Error::Internal`] if rendering fails (it writes to memory).
pub fn page() -> Result<String, Error> {
    let (_, bytes) = render(definition())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Every page: `edgefed.1` and one per (nested) command, as (file name, roff).
///
/// # Errors
/// [`Error::Internal`] if rendering fails.
pub fn pages() -> Result<Vec<(String, Vec<u8>)>, Error> {
    fn walk(command: clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), Error> {
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
            walk(sub, out)?;
        }
        out.push(render(command)?);
        Ok(())
    }
    let mut out = Vec::new();
    walk(definition(), &mut out)?;
    out.sort();
    Ok(out)
}

/// Writes every page into `dir` (created if missing), each atomically.
fn write_pages(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        action: "create",
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    for (name, bytes) in pages()? {
        let path = dir.join(name);
        app::write_file(&path, &bytes)?;
        written.push(path);
    }
    Ok(written)
}

/// Runs `man`.
///
/// # Errors
/// `--output` given (usage): the page has one form; a page that cannot be written.
pub fn run(settings: &Settings, args: &ManArgs) -> Outcome {
    super::output_format(settings, "man", &[])?;
    match &args.out_dir {
        Some(dir) => {
            let written = write_pages(dir)?;
            app::note(&format!(
                "edgefed: wrote {} manual pages into {}",
                written.len(),
                dir.display()
            ));
        }
        None => print(&page()?),
    }
    Ok(exit::SUCCESS)
}
