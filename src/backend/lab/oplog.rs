//! The lab's operation log: `<lab>.log.ndjson` beside the lab file, one
//! JSON line per operation the lab was asked to perform, numbered, with
//! what came of it. It is the lab's write-ahead log: an operation counts
//! once its line is appended and synced; the lab file itself is written
//! back only now and then and says up to which number it includes (see
//! `replay`).
//!
//! The log is bounded: once it passes [`MAX_LOG_BYTES`] at a point where
//! the lab file includes every line, it becomes `<lab>.log.ndjson.1`
//! (replacing the one before) and a new log starts.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::file::LabFileError;
use super::wire::OperationV1;
use crate::limits::MAX_LOG_BYTES;
use crate::plan::Operation;

/// What came of one operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It was performed.
    Applied,
    /// It failed (a rule or an injected fault), with this message.
    Failed(String),
    /// A silent fault was consumed: it reported success and changed nothing.
    Silent,
}

/// One line of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Its number: one more than the line before.
    pub sequence: u64,
    /// The operation.
    pub operation: Operation,
    /// When this operation was a run's first topology edit: the signature
    /// its edits were staged against (earlier leftovers were discarded).
    pub stage_against: Option<String>,
    /// What came of it.
    pub outcome: Outcome,
}

/// The wire form of a line: the sequence first, so a reader looking for
/// the newest lines can stop early.
#[derive(Serialize, Deserialize)]
#[serde(rename = "LogEntry", rename_all = "camelCase", deny_unknown_fields)]
struct EntryV1 {
    seq: u64,
    outcome: OutcomeV1,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stage_against: Option<String>,
    operation: OperationV1,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename = "Outcome", rename_all = "lowercase")]
enum OutcomeV1 {
    Applied,
    Failed,
    Silent,
}

/// Just the sequence of a line, and whether it is a checkpoint line.
#[derive(Deserialize)]
struct SeqOnly {
    seq: u64,
    #[serde(default)]
    checkpoint: bool,
}

/// A checkpoint line: the lab file was written including every operation
/// up to `seq`.
#[derive(Serialize)]
struct CheckpointV1 {
    seq: u64,
    checkpoint: bool,
}

/// Whether a complete line is a checkpoint line (an entry ends with its
/// operation's object, so it never ends like this).
fn is_checkpoint(line: &str) -> bool {
    line.ends_with("\"checkpoint\":true}")
}

/// The newest part of a log: the entries after its last checkpoint line.
#[derive(Debug, Default)]
pub struct Tail {
    /// The sequence of the last checkpoint line, 0 when there is none.
    pub checkpoint: u64,
    /// The entries after it, oldest first.
    pub entries: Vec<LogEntry>,
    /// The newest sequence in the log (entry or checkpoint), 0 when empty.
    pub last: u64,
}

impl From<&LogEntry> for EntryV1 {
    fn from(e: &LogEntry) -> Self {
        let (outcome, message) = match &e.outcome {
            Outcome::Applied => (OutcomeV1::Applied, None),
            Outcome::Failed(m) => (OutcomeV1::Failed, Some(m.clone())),
            Outcome::Silent => (OutcomeV1::Silent, None),
        };
        Self {
            seq: e.sequence,
            outcome,
            message,
            stage_against: e.stage_against.clone(),
            operation: OperationV1::from(&e.operation),
        }
    }
}

impl From<EntryV1> for LogEntry {
    fn from(w: EntryV1) -> Self {
        Self {
            sequence: w.seq,
            operation: w.operation.into(),
            stage_against: w.stage_against,
            outcome: match w.outcome {
                OutcomeV1::Applied => Outcome::Applied,
                OutcomeV1::Failed => Outcome::Failed(w.message.unwrap_or_default()),
                OutcomeV1::Silent => Outcome::Silent,
            },
        }
    }
}

impl LogEntry {
    /// Reads one line of the log (without its newline).
    ///
    /// # Errors
    /// The JSON error, with its column.
    pub fn from_line(line: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str::<EntryV1>(line.trim_end()).map(Self::from)
    }

    /// The entry as one line of the log, newline included.
    #[must_use]
    pub fn to_line(&self) -> String {
        // Strings, numbers and plain enums only: this cannot fail.
        let mut line = serde_json::to_string(&EntryV1::from(self)).unwrap_or_default();
        line.push('\n');
        line
    }
}

/// The operation log of one lab.
#[derive(Clone, Debug)]
pub struct OperationLog {
    path: PathBuf,
}

/// A summary of the log for `lab show`.
#[derive(Clone, Debug)]
pub struct LogSummary {
    /// The log file.
    pub path: PathBuf,
    /// The rotated file, when there is one.
    pub rotated: Option<PathBuf>,
    /// Lines in both files.
    pub operations: u64,
    /// The newest entries, oldest first.
    pub last: Vec<LogEntry>,
}

/// The machine form of a [`LogSummary`] (`lab show --output yaml|json`).
#[derive(Serialize)]
#[serde(rename = "OperationLog", rename_all = "camelCase")]
pub(super) struct LogSummaryV1 {
    file: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotated_file: Option<PathBuf>,
    operations: u64,
    last: Vec<EntryV1>,
}

impl From<&LogSummary> for LogSummaryV1 {
    fn from(s: &LogSummary) -> Self {
        Self {
            file: s.path.clone(),
            rotated_file: s.rotated.clone(),
            operations: s.operations,
            last: s.last.iter().map(EntryV1::from).collect(),
        }
    }
}

impl OperationLog {
    /// The log of the lab at `lab`: beside the file the path leads to, so a
    /// lab reached through a symbolic link has the same log.
    #[must_use]
    pub fn of(lab: &Path) -> Self {
        let lab = crate::fs_util::write_target(lab).unwrap_or_else(|_| lab.to_path_buf());
        let mut name = lab.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
        name.push(".log.ndjson");
        Self {
            path: lab.with_file_name(name),
        }
    }

    /// The log file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The rotated file: the log before the current one.
    #[must_use]
    pub fn rotated_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_os_string();
        name.push(".1");
        PathBuf::from(name)
    }

    fn invalid(&self, line: u64, column: u64, message: String) -> LabFileError {
        LabFileError::InvalidLog {
            path: self.path.clone(),
            line,
            column,
            message,
        }
    }

    fn read_text(path: &Path) -> Result<String, LabFileError> {
        match crate::fs_util::read_to_string_capped(path, crate::limits::MAX_DATA_BYTES) {
            Ok(t) => Ok(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(source) => Err(LabFileError::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The entries after the log's last checkpoint line, oldest first. A
    /// last line without its newline (a write cut short) is not an entry.
    ///
    /// # Errors
    /// [`LabFileError::InvalidLog`] naming the line that does not read, or
    /// where the numbers stop following each other.
    pub fn tail(&self) -> Result<Tail, LabFileError> {
        let text = Self::read_text(&self.path)?;
        self.parse_tail(&text)
    }

    fn parse_tail(&self, text: &str) -> Result<Tail, LabFileError> {
        let lines: Vec<&str> = complete_lines(text).collect();
        let mut tail = Tail::default();
        let mut newer = Vec::new();
        for (idx, line) in lines.iter().enumerate().rev() {
            let n = idx as u64 + 1;
            let seq: SeqOnly = serde_json::from_str(line).map_err(|e| self.json_error(n, &e))?;
            tail.last = tail.last.max(seq.seq);
            if seq.checkpoint {
                tail.checkpoint = seq.seq;
                break;
            }
            let entry: EntryV1 = serde_json::from_str(line).map_err(|e| self.json_error(n, &e))?;
            newer.push((n, LogEntry::from(entry)));
        }
        newer.reverse();
        // Lines are numbered one after another.
        for pair in newer.windows(2) {
            if pair[1].1.sequence != pair[0].1.sequence + 1 {
                return Err(self.invalid(
                    pair[1].0,
                    1,
                    format!(
                        "operation {} follows operation {}: the numbers must follow each other",
                        pair[1].1.sequence, pair[0].1.sequence
                    ),
                ));
            }
        }
        tail.entries = newer.into_iter().map(|(_, e)| e).collect();
        Ok(tail)
    }

    fn json_error(&self, line: u64, e: &serde_json::Error) -> LabFileError {
        self.invalid(line, e.column() as u64, format!("not an operation log entry: {e}"))
    }

    /// How many operations the log holds (with its rotated file), and the
    /// newest `last` of them.
    ///
    /// # Errors
    /// [`LabFileError`] when a file cannot be read or a shown line does not read.
    pub fn summary(&self, last: usize) -> Result<LogSummary, LabFileError> {
        let rotated_path = self.rotated_path();
        let rotated = Self::read_text(&rotated_path)?;
        let current = Self::read_text(&self.path)?;
        let mut lines: Vec<&str> = complete_lines(&rotated)
            .chain(complete_lines(&current))
            .filter(|l| !is_checkpoint(l))
            .collect();
        let operations = lines.len() as u64;
        let shown = lines.split_off(lines.len().saturating_sub(last));
        let mut entries = Vec::with_capacity(shown.len());
        for line in shown {
            let entry: EntryV1 = serde_json::from_str(line).map_err(|e| LabFileError::InvalidLog {
                path: self.path.clone(),
                line: 0,
                column: e.column() as u64,
                message: format!("not an operation log entry: {e}"),
            })?;
            entries.push(LogEntry::from(entry));
        }
        Ok(LogSummary {
            path: self.path.clone(),
            rotated: (!rotated.is_empty()).then_some(rotated_path),
            operations,
            last: entries,
        })
    }

    /// Every entry of the rotated file and the log, oldest first.
    ///
    /// # Errors
    /// [`LabFileError`] when a file cannot be read or a line does not read.
    pub fn entries(&self) -> Result<Vec<LogEntry>, LabFileError> {
        let mut all = Vec::new();
        for path in [self.rotated_path(), self.path.clone()] {
            let text = Self::read_text(&path)?;
            for (idx, line) in complete_lines(&text).enumerate() {
                if is_checkpoint(line) {
                    continue;
                }
                let entry: EntryV1 = serde_json::from_str(line).map_err(|e| LabFileError::InvalidLog {
                    path: path.clone(),
                    line: idx as u64 + 1,
                    column: e.column() as u64,
                    message: format!("not an operation log entry: {e}"),
                })?;
                all.push(LogEntry::from(entry));
            }
        }
        Ok(all)
    }

    /// The operations the log says were performed, oldest first.
    ///
    /// # Errors
    /// As [`OperationLog::entries`].
    pub fn applied(&self) -> Result<Vec<Operation>, LabFileError> {
        Ok(self
            .entries()?
            .into_iter()
            .filter(|e| e.outcome == Outcome::Applied)
            .map(|e| e.operation)
            .collect())
    }

    /// Removes the log and its rotated file (a new lab starts a new log).
    ///
    /// # Errors
    /// The I/O error when a file exists and cannot be removed.
    pub fn remove(&self) -> std::io::Result<()> {
        for p in [self.path.clone(), self.rotated_path()] {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Makes the current log the rotated one (replacing the one before) so
    /// the next line starts a new file. Only call it once the lab file
    /// includes every line of the log.
    ///
    /// # Errors
    /// The I/O error of the rename.
    pub fn rotate(&self) -> std::io::Result<()> {
        std::fs::rename(&self.path, self.rotated_path())?;
        sync_parent(&self.path);
        Ok(())
    }

    /// Rotates the log (see [`OperationLog::rotate`]) and starts the new
    /// one with a checkpoint line at `sequence`, which the lab file must
    /// already include.
    ///
    /// # Errors
    /// [`LabFileError::Io`] when a step fails.
    pub fn rotate_at(&self, sequence: u64) -> Result<Appender, LabFileError> {
        self.rotate().map_err(|source| LabFileError::Io {
            action: "rotate",
            path: self.path.clone(),
            source,
        })?;
        let mut appender = Appender::open(self)?;
        appender.checkpoint(sequence).map_err(|source| LabFileError::Io {
            action: "write",
            path: self.path.clone(),
            source,
        })?;
        Ok(appender)
    }

    /// The number of the newest line (entry or checkpoint), 0 when empty.
    ///
    /// # Errors
    /// [`LabFileError`] when the log cannot be read or a line of its tail does not read.
    pub fn last_sequence(&self) -> Result<u64, LabFileError> {
        Ok(self.tail()?.last)
    }
}

/// The lines of `text` that end in a newline, without it.
fn complete_lines(text: &str) -> impl Iterator<Item = &str> {
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete.split('\n').filter(|l| !l.is_empty())
}

fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
}

/// The open log of a run that applies operations: each line appended in
/// one write with `O_APPEND`, then synced.
#[derive(Debug)]
pub struct Appender {
    file: File,
    size: u64,
    path: PathBuf,
    /// The size past which the log is full ([`MAX_LOG_BYTES`]).
    limit: u64,
}

impl Appender {
    /// Opens (or creates) the log for appending, first cutting off a last
    /// line a killed writer left without its newline.
    ///
    /// # Errors
    /// [`LabFileError::Io`] when the log cannot be opened or repaired.
    pub fn open(log: &OperationLog) -> Result<Self, LabFileError> {
        let io = |source| LabFileError::Io {
            action: "write",
            path: log.path.clone(),
            source,
        };
        let created = !log.path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&log.path)
            .map_err(io)?;
        if created {
            sync_parent(&log.path);
        }
        let mut size = file.metadata().map_err(io)?.len();
        if size > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(size - 1)).map_err(io)?;
            file.read_exact(&mut last).map_err(io)?;
            if last[0] != b'\n' {
                let mut text = Vec::new();
                file.seek(SeekFrom::Start(0)).map_err(io)?;
                (&file)
                    .take(crate::limits::MAX_DATA_BYTES)
                    .read_to_end(&mut text)
                    .map_err(io)?;
                let keep = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i as u64 + 1);
                file.set_len(keep).map_err(io)?;
                file.sync_all().map_err(io)?;
                size = keep;
            }
        }
        Ok(Self {
            file,
            size,
            path: log.path.clone(),
            limit: MAX_LOG_BYTES,
        })
    }

    /// Appends `entry`: once this returns, the operation survives a killed
    /// edgefed (`kill -9`: the kernel holds what was written). It reaches
    /// the disk at the next [`Appender::sync`] or checkpoint — at the end
    /// of the run at the latest — so a lab run costs no sync per operation
    /// (a sync takes milliseconds; a lab operation microseconds). A power
    /// cut mid-drill can lose the run's last operations, which the next run
    /// then plans again.
    ///
    /// # Errors
    /// The I/O error; the line may then be missing or cut short, which the
    /// next reader ignores and the next [`Appender::open`] cuts off.
    pub fn append(&mut self, entry: &LogEntry) -> std::io::Result<()> {
        let line = entry.to_line();
        self.file.write_all(line.as_bytes())?;
        self.size += line.len() as u64;
        Ok(())
    }

    /// Syncs every appended line to disk.
    ///
    /// # Errors
    /// The I/O error.
    pub fn sync(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }

    /// Appends a checkpoint line: the lab file now includes every
    /// operation up to `sequence`.
    ///
    /// # Errors
    /// The I/O error.
    pub fn checkpoint(&mut self, sequence: u64) -> std::io::Result<()> {
        let mut line = serde_json::to_string(&CheckpointV1 {
            seq: sequence,
            checkpoint: true,
        })
        .unwrap_or_default();
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.sync_data()?;
        self.size += line.len() as u64;
        Ok(())
    }

    /// Whether the log has grown past [`MAX_LOG_BYTES`] and should rotate at
    /// the next point where the lab file includes all of it.
    #[must_use]
    pub fn full(&self) -> bool {
        self.size >= self.limit
    }

    /// A smaller limit, to test rotation without writing megabytes.
    #[cfg(test)]
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    /// The log file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Moves the operations an old lab file lists under `log:` into the
/// operation log, skipping any already there (a migration cut short).
/// Says so once, on standard error.
///
/// # Errors
/// [`LabFileError`] when the log cannot be read or written.
pub fn migrate(lab: &Path, entries: &[LogEntry]) -> Result<(), LabFileError> {
    let log = OperationLog::of(lab);
    let have = log.last_sequence()?;
    let mut appender = Appender::open(&log)?;
    let mut moved = 0;
    for entry in entries.iter().filter(|e| e.sequence > have) {
        appender.append(entry).map_err(|source| LabFileError::Io {
            action: "write",
            path: log.path.clone(),
            source,
        })?;
        moved += 1;
    }
    if moved > 0 {
        tracing::warn!(
            "moved {moved} operation(s) from the `log:` of lab file {} into its operation log {}; the lab file no longer lists them",
            lab.display(),
            log.path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Fqdn;

    fn entry(sequence: u64) -> LogEntry {
        LogEntry {
            sequence,
            operation: Operation::StartServices {
                pool: Fqdn::parse("edgepool1.contoso.com").expect("fqdn"),
                computer: Fqdn::parse("edge1a.contoso.com").expect("fqdn"),
            },
            stage_against: (sequence == 2).then(|| "abcd".into()),
            outcome: if sequence == 3 {
                Outcome::Failed("no".into())
            } else {
                Outcome::Applied
            },
        }
    }

    fn entries(log: &OperationLog) -> Vec<LogEntry> {
        log.tail().expect("read").entries
    }

    #[test]
    fn entries_round_trip_and_only_those_after_the_last_checkpoint_are_the_tail() {
        let dir = tempfile::tempdir().expect("dir");
        let log = OperationLog::of(&dir.path().join("lab.yaml"));
        assert_eq!(log.path(), dir.path().join("lab.yaml.log.ndjson"));
        let mut a = Appender::open(&log).expect("open");
        for s in 1..=4 {
            a.append(&entry(s)).expect("append");
        }
        assert_eq!(entries(&log), (1..=4).map(entry).collect::<Vec<_>>());
        a.checkpoint(2).expect("checkpoint");
        let tail = log.tail().expect("tail");
        assert_eq!((tail.checkpoint, tail.last, tail.entries.len()), (2, 2, 0));
        a.append(&entry(5)).expect("append");
        let tail = log.tail().expect("tail");
        assert_eq!((tail.checkpoint, tail.last), (2, 5));
        assert_eq!(tail.entries, vec![entry(5)]);
        assert_eq!(
            log.summary(10).expect("summary").operations,
            5,
            "checkpoints are not operations"
        );
    }

    #[test]
    fn a_line_cut_short_is_ignored_then_cut_off() {
        let dir = tempfile::tempdir().expect("dir");
        let log = OperationLog::of(&dir.path().join("lab.yaml"));
        let mut text = entry(1).to_line();
        text.push_str(&entry(2).to_line()[..20]);
        std::fs::write(log.path(), &text).expect("write");
        assert_eq!(entries(&log), vec![entry(1)]);
        let mut a = Appender::open(&log).expect("open");
        a.append(&entry(2)).expect("append");
        assert_eq!(entries(&log), vec![entry(1), entry(2)]);
    }

    #[test]
    fn a_corrupt_line_is_named_with_its_line() {
        let dir = tempfile::tempdir().expect("dir");
        let log = OperationLog::of(&dir.path().join("lab.yaml"));
        std::fs::write(
            log.path(),
            format!("{}{{garbage\n{}", entry(1).to_line(), entry(2).to_line()),
        )
        .expect("w");
        let e = log.tail().expect_err("corrupt").to_string();
        assert!(e.contains("lab.yaml.log.ndjson:2:"), "{e}");
        assert!(e.contains("invalid lab operation log"), "{e}");
    }

    #[test]
    fn a_gap_in_the_numbers_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let log = OperationLog::of(&dir.path().join("lab.yaml"));
        std::fs::write(log.path(), format!("{}{}", entry(1).to_line(), entry(3).to_line())).expect("w");
        let e = log.tail().expect_err("gap").to_string();
        assert!(
            e.contains(":2:1:") && e.contains("operation 3 follows operation 1"),
            "{e}"
        );
    }

    #[test]
    fn rotation_keeps_one_previous_file_and_the_summary_counts_both() {
        let dir = tempfile::tempdir().expect("dir");
        let log = OperationLog::of(&dir.path().join("lab.yaml"));
        let mut a = Appender::open(&log).expect("open");
        a.append(&entry(1)).expect("append");
        a.append(&entry(2)).expect("append");
        drop(a);
        log.rotate().expect("rotate");
        let mut a = Appender::open(&log).expect("open");
        a.append(&entry(3)).expect("append");
        a.append(&entry(4)).expect("append");
        let s = log.summary(3).expect("summary");
        assert_eq!(s.operations, 4);
        assert_eq!(s.last, vec![entry(2), entry(3), entry(4)]);
        assert_eq!(s.rotated, Some(log.rotated_path()));
        drop(a);
        log.rotate().expect("rotate again");
        let s = log.summary(10).expect("summary");
        assert_eq!(s.operations, 2, "the oldest file is gone");
        log.remove().expect("remove");
        assert_eq!(log.summary(10).expect("summary").operations, 0);
    }
}
