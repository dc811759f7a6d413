//! Bringing a lab file up to date from its operation log: the entries past
//! the file's sequence (a run killed before it wrote the file back) are
//! applied again, in order, with the same rules. The rules are a pure
//! function of the lab's state, so each entry does exactly what it did the
//! first time — the faults it consumed included — and never applies twice:
//! the lab's sequence moves past it.

use std::path::Path;

use super::file::{LabFile, LabFileError};
use super::oplog::{LogEntry, OperationLog, Outcome};
use super::rules;

/// Replays onto `lab` (read from `path`) the entries of its operation log
/// numbered after `lab.sequence`; returns how many.
///
/// Only the entries after the log's last checkpoint line can be missing
/// from the file: the file is written (and synced) before that line is
/// appended. A file whose sequence is behind that checkpoint was replaced
/// by hand (a copy, a new scenario): it stands as it is, nothing is
/// replayed, and its numbering continues after the log's.
///
/// # Errors
/// [`LabFileError::InvalidLog`] when the log does not read, skips numbers,
/// or an entry does not replay as it was applied (the lab file was changed
/// while a run had not finished).
pub fn replay(path: &Path, lab: &mut LabFile) -> Result<usize, LabFileError> {
    let log = OperationLog::of(path);
    let tail = log.tail()?;
    if lab.sequence < tail.checkpoint {
        lab.sequence = tail.last;
        return Ok(0);
    }
    let mut replayed = 0;
    let from = lab.sequence;
    for entry in tail.entries.iter().filter(|e| e.sequence > from) {
        replay_one(&log, lab, entry)?;
        replayed += 1;
    }
    Ok(replayed)
}

fn replay_one(log: &OperationLog, lab: &mut LabFile, entry: &LogEntry) -> Result<(), LabFileError> {
    let invalid = |message: String| LabFileError::InvalidLog {
        path: log.path().to_path_buf(),
        line: 0,
        column: 0,
        message,
    };
    if entry.sequence != lab.sequence + 1 {
        return Err(invalid(format!(
            "the next operation is number {}, but the lab file was written after operation {}: operations in between are missing",
            entry.sequence, lab.sequence
        )));
    }
    if let Some(against) = &entry.stage_against {
        rules::start_staging(lab, against);
    }
    let (_, outcome) = rules::apply_traced(lab, &entry.operation);
    let same = matches!(
        (&outcome, &entry.outcome),
        (Outcome::Applied, Outcome::Applied)
            | (Outcome::Silent, Outcome::Silent)
            | (Outcome::Failed(_), Outcome::Failed(_))
    );
    if !same {
        return Err(invalid(format!(
            "operation {} ({}) was {} when applied but is {} when replayed: the lab file was changed while a run had not finished",
            entry.sequence,
            entry.operation.kind(),
            describe(&entry.outcome),
            describe(&outcome)
        )));
    }
    Ok(())
}

fn describe(o: &Outcome) -> &'static str {
    match o {
        Outcome::Applied => "applied",
        Outcome::Failed(_) => "refused",
        Outcome::Silent => "silently ignored (a fault)",
    }
}
