//! The run journal: an append-only NDJSON file per deployment recording each
//! reconcile — its start (document, plan summary), every action it started
//! and how each ended, and its end (result, or the signal that stopped it).
//! A run that dies (power loss, `kill -9`) leaves a start without an end;
//! the next run reads the tail and says what was in flight
//! ([`tail::read`]), and `edgefed status` shows the last run.
//!
//! It is separate from the lab's own record of operations: it belongs to
//! edgefed's runs, whatever the backend.

pub mod record;
pub mod tail;
pub mod writer;

use std::path::{Path, PathBuf};

pub use record::{Event, PlanSummary, Record, RunResult};
pub use tail::{LastRun, RunState, Tail};
pub use writer::{Journal, JournalError};

use crate::cli::BackendKind;
use crate::settings::Settings;

/// The journal's default name with the PowerShell backend.
pub const DEFAULT_POWERSHELL_JOURNAL: &str = ".edgefed/journal.ndjson";

/// Past this size, the journal is moved to `<journal>.1` (replacing the one
/// before) when the next run starts; a run's own records always stay in one
/// file.
pub const ROTATE_BYTES: u64 = 8 * 1024 * 1024;

/// Where the runs of `settings`' deployment are journaled: `--journal`, or
/// beside the lab's lock (`<lab>.journal.ndjson`), or
/// [`DEFAULT_POWERSHELL_JOURNAL`].
#[must_use]
pub fn path(settings: &Settings) -> PathBuf {
    if let Some(p) = &settings.journal {
        return p.clone();
    }
    match settings.backend {
        BackendKind::Lab => beside(&settings.lab.path, ".journal.ndjson"),
        BackendKind::Powershell => PathBuf::from(DEFAULT_POWERSHELL_JOURNAL),
    }
}

/// Whether each journal record of `settings`' runs is synced to disk as it
/// is written. A real deployment's actions take seconds to minutes, so a
/// sync each (milliseconds) costs nothing and a power cut loses no record;
/// the lab's take microseconds, and its records are written (they survive
/// a killed edgefed) and synced once at the run's end.
#[must_use]
pub fn sync_each_record(settings: &Settings) -> bool {
    settings.backend != BackendKind::Lab
}

/// `file` + `suffix` beside the file `file` leads to (a lab reached through
/// a symbolic link has its journal beside the real file, as its lock is).
#[must_use]
pub fn beside(file: &Path, suffix: &str) -> PathBuf {
    let file = crate::fs_util::write_target(file).unwrap_or_else(|_| file.to_path_buf());
    let mut name = file.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(suffix);
    file.with_file_name(name)
}

/// `<journal>.1`, the one older file kept.
#[must_use]
pub fn rotated(journal: &Path) -> PathBuf {
    let mut name = journal.as_os_str().to_os_string();
    name.push(".1");
    PathBuf::from(name)
}
