//! Appending to the journal: each record is one `write` of one line to a
//! file opened with `O_APPEND`, so a killed edgefed loses at most the line
//! being written (which a reader then skips). Against a power cut, each
//! record is also synced to disk before the run goes on — unless the run
//! chose [`Journal::sync_each_record`]`(false)` (the lab, whose actions take
//! microseconds: there the journal is synced once, at the run's end).

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::record::{self, Event, Record};

/// The journal of one run, open for appending.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    run: String,
    pid: u32,
    host: String,
    sync_each: bool,
    fencing_token: Option<u64>,
}

/// The journal cannot be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} the run journal {path}: {source} (choose another place with --journal PATH)")]
pub struct JournalError {
    /// What was being done.
    pub action: &'static str,
    /// The journal.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

impl Journal {
    /// Opens the journal at `path` for a new run, creating it (and its
    /// folder); when it has passed `rotate_at` bytes, it is first moved to
    /// `<path>.1`, replacing the older one.
    ///
    /// # Errors
    /// [`JournalError`] naming the file.
    pub fn start(path: &Path, rotate_at: u64) -> Result<Self, JournalError> {
        let err = |action: &'static str| {
            move |source| JournalError {
                action,
                path: path.to_path_buf(),
                source,
            }
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err("create the folder of"))?;
        }
        match std::fs::metadata(path) {
            Ok(m) if m.len() > rotate_at => {
                std::fs::rename(path, super::rotated(path)).map_err(err("rotate"))?;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err("read")(e)),
        }
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .map_err(err("open"))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            run: record::run_id(),
            pid: std::process::id(),
            host: record::host(),
            sync_each: true,
            fencing_token: None,
        })
    }

    /// Whether each record is synced to disk as it is written (the
    /// default), or only by [`Journal::sync`].
    #[must_use]
    pub fn sync_each_record(mut self, sync: bool) -> Self {
        self.sync_each = sync;
        self
    }

    /// Syncs what was written to disk.
    ///
    /// # Errors
    /// [`JournalError`] naming the file.
    pub fn sync(&self) -> Result<(), JournalError> {
        self.file.sync_data().map_err(|source| JournalError {
            action: "sync",
            path: self.path.clone(),
            source,
        })
    }

    /// Records `token` (the elected leader's term the run applies under) on
    /// every line from now on.
    #[must_use]
    pub fn fenced(mut self, token: Option<u64>) -> Self {
        self.fencing_token = token;
        self
    }

    /// The run's id.
    #[must_use]
    pub fn run(&self) -> &str {
        &self.run
    }

    /// The journal's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `event` as one line (and syncs it to disk, unless
    /// [`Journal::sync_each_record`] turned that off).
    ///
    /// # Errors
    /// [`JournalError`] when the line cannot be written whole or synced.
    pub fn record(&mut self, event: Event) -> Result<(), JournalError> {
        let record = Record {
            ts: record::now(),
            run: self.run.clone(),
            pid: self.pid,
            host: self.host.clone(),
            fencing_token: self.fencing_token,
            event,
        };
        let err = |action: &'static str, source: std::io::Error| JournalError {
            action,
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_string(&record).map_err(|e| err("write", std::io::Error::other(e)))?;
        line.push('\n');
        // One write of the whole line: with O_APPEND it lands after
        // whatever is there, never interleaved within another line.
        let written = self.file.write(line.as_bytes()).map_err(|e| err("write", e))?;
        if written != line.len() {
            return Err(err(
                "write",
                std::io::Error::other(format!("only {written} of {} bytes were written", line.len())),
            ));
        }
        if self.sync_each {
            self.file.sync_data().map_err(|e| err("sync", e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::record::RunResult;

    fn ended() -> Event {
        Event::RunEnded {
            result: RunResult::Complete,
            signal: None,
            applied: 1,
            failed: 0,
            not_attempted: 0,
            abandoned: Vec::new(),
        }
    }

    #[test]
    fn records_are_appended_one_line_each_with_the_run_pid_and_host() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/journal.ndjson");
        let mut j = Journal::start(&path, 1 << 20).unwrap();
        j.record(ended()).unwrap();
        let mut k = Journal::start(&path, 1 << 20).unwrap();
        k.record(ended()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Record> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].run, j.run());
        assert_eq!(lines[1].run, k.run());
        assert_ne!(j.run(), k.run());
        assert_eq!(lines[0].pid, std::process::id());
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn past_the_cap_the_journal_rotates_keeping_one_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.ndjson");
        let old = crate::journal::rotated(&path);
        let mut j = Journal::start(&path, 100).unwrap();
        for _ in 0..3 {
            j.record(ended()).unwrap();
        }
        let first = std::fs::read_to_string(&path).unwrap();
        assert!(first.len() > 100);
        // Under the cap a run keeps appending to the same file …
        let mut same = Journal::start(&path, 1 << 20).unwrap();
        same.record(ended()).unwrap();
        assert!(!old.exists());
        // … past it, the next run starts a new one and the old one moves.
        let mut next = Journal::start(&path, 100).unwrap();
        next.record(ended()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
        assert_eq!(std::fs::read_to_string(&old).unwrap().lines().count(), 4);
        // Only one old file is kept: the next rotation replaces it.
        let mut again = Journal::start(&path, 10).unwrap();
        again.record(ended()).unwrap();
        assert_eq!(std::fs::read_to_string(&old).unwrap().lines().count(), 1);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn a_journal_that_cannot_be_opened_names_the_file_and_the_option() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "x").unwrap();
        let e = Journal::start(&blocker.join("journal.ndjson"), 100).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("journal.ndjson") && text.contains("--journal"), "{text}");
    }
}
