//! Reading the end of the journal: the last run, whether it ended, and what
//! it had in flight if it did not. A line that is not a record (a crash can
//! cut the last one short) is skipped with a note, never an error.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;

use serde::Serialize;

use super::record::{Event, PlanSummary, Record, RunResult};

/// How much of the journal's end is read: far more than one run writes.
pub const TAIL_BYTES: u64 = 1024 * 1024;

/// What the end of the journal says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tail {
    /// The last run recorded, if any.
    pub last: Option<LastRun>,
    /// Lines skipped, and why.
    pub notes: Vec<String>,
}

/// The last run recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastRun {
    /// Its id.
    pub run: String,
    /// When it started.
    pub started: String,
    /// Its process.
    pub pid: u32,
    /// Its host.
    pub host: String,
    /// Who ran it.
    pub user: String,
    /// The document.
    pub document: String,
    /// The document's SHA-256.
    pub document_sha256: String,
    /// The backend.
    pub backend: String,
    /// The fencing token of the elected leader's term it applied under
    /// (absent without an election).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fencing_token: Option<u64>,
    /// What its plan did.
    pub plan: PlanSummary,
    /// Actions (ids) applied.
    pub applied: Vec<usize>,
    /// Actions (ids) failed.
    pub failed: Vec<usize>,
    /// Actions started that have no end recorded.
    pub in_flight: Vec<InFlight>,
    /// The run's last line's time.
    pub last_record: String,
    /// Its end, when recorded.
    pub ended: Option<Ended>,
}

/// An action started and not recorded as ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InFlight {
    /// Its id in the plan.
    pub action: usize,
    /// Its kind.
    pub kind: String,
    /// What it acts on.
    pub target: String,
    /// When it started.
    pub started: String,
}

impl std::fmt::Display for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{} {} {}", self.action, self.kind, self.target)
    }
}

/// A run's recorded end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ended {
    /// When.
    pub at: String,
    /// How.
    pub result: RunResult,
    /// The signal that stopped it.
    pub signal: Option<String>,
    /// Actions not attempted.
    pub not_attempted: usize,
    /// Actions abandoned in flight.
    pub abandoned: Vec<usize>,
}

/// Where a run is now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// It recorded its end.
    Ended(RunResult),
    /// No end recorded, and its process still runs on this host.
    Running,
    /// No end recorded and its process is gone (or on another host and
    /// cannot be asked): it died.
    Died,
}

impl RunState {
    /// The word used in output.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Ended(r) => r.name(),
            Self::Running => "running",
            Self::Died => "died",
        }
    }
}

impl LastRun {
    /// Whether it ended, runs on, or died.
    #[must_use]
    pub fn state(&self) -> RunState {
        match &self.ended {
            Some(e) => RunState::Ended(e.result),
            None if self.host == super::record::host() && self.pid != std::process::id() && alive(self.pid) => {
                RunState::Running
            }
            None => RunState::Died,
        }
    }
}

/// Whether process `pid` exists on this host.
fn alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: signal 0 only checks that the process exists.
        if unsafe { libc::kill(pid, 0) } == 0 {
            return true;
        }
        std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        // Not asked on this platform: a run without an end counts as died.
        let _ = pid;
        false
    }
}

/// Reads the end of the journal at `path`; a missing journal has no runs.
///
/// # Errors
/// When the file exists but cannot be read.
pub fn read(path: &Path) -> std::io::Result<Tail> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Tail::default()),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let from = len.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(from))?;
    let mut bytes = Vec::new();
    file.take(TAIL_BYTES).read_to_end(&mut bytes)?;
    let mut start = 0;
    if from > 0 {
        // Reading began inside a line: it starts after the first newline.
        start = bytes.iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| i + 1);
    }
    Ok(parse(path, &bytes[start..], from + start as u64))
}

/// The last run in `bytes` (the journal from byte `offset`).
fn parse(path: &Path, bytes: &[u8], offset: u64) -> Tail {
    let mut tail = Tail::default();
    let mut at = offset;
    let mut records = Vec::new();
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let here = at;
        at += line.len() as u64;
        let text = String::from_utf8_lossy(line);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(text) {
            Ok(r) => records.push(r),
            Err(e) => {
                let cut = if line.ends_with(b"\n") {
                    ""
                } else {
                    " (its last line, cut short: the run writing it was probably killed)"
                };
                tail.notes.push(format!(
                    "{} at byte {here}: not a journal record{cut}: {e}; skipped",
                    path.display()
                ));
            }
        }
    }
    let Some(first) = records
        .iter()
        .rposition(|r| matches!(r.event, Event::RunStarted { .. }))
    else {
        return tail;
    };
    let run_id = records[first].run.clone();
    let mut run: Option<LastRun> = None;
    for r in records[first..].iter().filter(|r| r.run == run_id) {
        match (&r.event, run.as_mut()) {
            (
                Event::RunStarted {
                    user,
                    document,
                    document_sha256,
                    backend,
                    plan,
                },
                None,
            ) => {
                run = Some(LastRun {
                    run: r.run.clone(),
                    started: r.ts.clone(),
                    pid: r.pid,
                    host: r.host.clone(),
                    user: user.clone(),
                    document: document.clone(),
                    document_sha256: document_sha256.clone(),
                    backend: backend.clone(),
                    fencing_token: r.fencing_token,
                    plan: plan.clone(),
                    applied: Vec::new(),
                    failed: Vec::new(),
                    in_flight: Vec::new(),
                    last_record: r.ts.clone(),
                    ended: None,
                });
            }
            (Event::ActionStarted { action, kind, target }, Some(run)) => run.in_flight.push(InFlight {
                action: *action,
                kind: kind.clone(),
                target: target.clone(),
                started: r.ts.clone(),
            }),
            (Event::ActionEnded { action, outcome, .. }, Some(run)) => {
                run.in_flight.retain(|f| f.action != *action);
                if outcome == "applied" {
                    run.applied.push(*action);
                } else {
                    run.failed.push(*action);
                }
            }
            (
                Event::RunEnded {
                    result,
                    signal,
                    not_attempted,
                    abandoned,
                    ..
                },
                Some(run),
            ) => {
                run.ended = Some(Ended {
                    at: r.ts.clone(),
                    result: *result,
                    signal: signal.clone(),
                    not_attempted: *not_attempted,
                    abandoned: abandoned.clone(),
                });
            }
            _ => {}
        }
        if let Some(run) = run.as_mut() {
            run.last_record = r.ts.clone();
        }
    }
    tail.last = run;
    tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Journal, ROTATE_BYTES};

    fn started(action: usize) -> Event {
        Event::ActionStarted {
            action,
            kind: "start-services".into(),
            target: format!("edge{action}.contoso.com"),
        }
    }

    fn ended(action: usize, outcome: &str) -> Event {
        Event::ActionEnded {
            action,
            kind: "start-services".into(),
            target: format!("edge{action}.contoso.com"),
            outcome: outcome.into(),
            error: (outcome == "failed").then(|| "refused".into()),
        }
    }

    fn run_started() -> Event {
        Event::RunStarted {
            user: "ops".into(),
            document: "desired.yaml".into(),
            document_sha256: "ab".repeat(32),
            backend: "lab".into(),
            plan: PlanSummary {
                actions: 3,
                kinds: [("start-services".to_string(), 3)].into(),
            },
        }
    }

    fn run_ended() -> Event {
        Event::RunEnded {
            result: RunResult::Failed,
            signal: None,
            applied: 1,
            failed: 1,
            not_attempted: 1,
            abandoned: Vec::new(),
        }
    }

    #[test]
    fn a_missing_journal_has_no_runs() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(&dir.path().join("none")).unwrap(), Tail::default());
    }

    #[test]
    fn the_last_run_is_read_with_its_outcomes_and_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.ndjson");
        let mut older = Journal::start(&path, ROTATE_BYTES).unwrap();
        older.record(run_started()).unwrap();
        older.record(started(9)).unwrap();
        let mut j = Journal::start(&path, ROTATE_BYTES).unwrap();
        j.record(run_started()).unwrap();
        j.record(started(1)).unwrap();
        j.record(ended(1, "applied")).unwrap();
        j.record(started(2)).unwrap();
        j.record(ended(2, "failed")).unwrap();
        j.record(run_ended()).unwrap();
        let tail = read(&path).unwrap();
        assert!(tail.notes.is_empty(), "{:?}", tail.notes);
        let last = tail.last.unwrap();
        assert_eq!(last.run, j.run());
        assert_eq!(last.applied, vec![1]);
        assert_eq!(last.failed, vec![2]);
        assert!(last.in_flight.is_empty());
        assert_eq!(last.user, "ops");
        assert_eq!(last.plan.actions, 3);
        assert_eq!(last.state(), RunState::Ended(RunResult::Failed));
        assert_eq!(last.ended.unwrap().not_attempted, 1);
        assert_eq!(last.fencing_token, None);
    }

    #[test]
    fn a_fenced_run_keeps_its_leader_s_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.ndjson");
        let mut j = Journal::start(&path, ROTATE_BYTES).unwrap().fenced(Some(12));
        j.record(run_started()).unwrap();
        j.record(started(1)).unwrap();
        j.record(ended(1, "applied")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches("\"fencingToken\":12").count(), 3, "{text}");
        assert_eq!(read(&path).unwrap().last.unwrap().fencing_token, Some(12));
    }

    #[test]
    fn a_run_without_an_end_whose_process_is_gone_died_with_its_actions_in_flight() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.ndjson");
        let mut j = Journal::start(&path, ROTATE_BYTES).unwrap();
        j.record(run_started()).unwrap();
        j.record(started(1)).unwrap();
        j.record(ended(1, "applied")).unwrap();
        j.record(started(2)).unwrap();
        j.record(started(3)).unwrap();
        // Rewrite the pid to one that is not running.
        let text = std::fs::read_to_string(&path).unwrap();
        let dead = text.replace(&format!("\"pid\":{}", std::process::id()), "\"pid\":2147483646");
        std::fs::write(&path, dead).unwrap();
        let last = read(&path).unwrap().last.unwrap();
        assert_eq!(last.state(), RunState::Died);
        let flying: Vec<String> = last.in_flight.iter().map(ToString::to_string).collect();
        assert_eq!(
            flying,
            [
                "#2 start-services edge2.contoso.com",
                "#3 start-services edge3.contoso.com"
            ]
        );
    }

    #[test]
    fn a_truncated_last_line_is_skipped_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.ndjson");
        let mut j = Journal::start(&path, ROTATE_BYTES).unwrap();
        j.record(run_started()).unwrap();
        j.record(started(1)).unwrap();
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"ts\":\"2026-01-0");
        std::fs::write(&path, &text).unwrap();
        let tail = read(&path).unwrap();
        assert_eq!(tail.notes.len(), 1);
        assert!(tail.notes[0].contains("cut short"), "{}", tail.notes[0]);
        assert_eq!(tail.last.unwrap().in_flight.len(), 1);
    }

    #[test]
    fn a_corrupt_line_in_the_middle_is_skipped_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.ndjson");
        let mut j = Journal::start(&path, ROTATE_BYTES).unwrap();
        j.record(run_started()).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"\x00\xffgarbage\n"))
            .unwrap();
        j.record(started(1)).unwrap();
        j.record(ended(1, "applied")).unwrap();
        let tail = read(&path).unwrap();
        assert_eq!(tail.notes.len(), 1);
        assert!(!tail.notes[0].contains("cut short"));
        assert_eq!(tail.last.unwrap().applied, vec![1]);
    }

    #[test]
    fn only_the_end_of_a_long_journal_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.ndjson");
        let filler = format!("{}\n", "x".repeat(1000));
        std::fs::write(&path, filler.repeat((TAIL_BYTES / 1000 + 10) as usize)).unwrap();
        let mut j = Journal::start(&path, u64::MAX).unwrap();
        j.record(run_started()).unwrap();
        let tail = read(&path).unwrap();
        assert_eq!(tail.last.unwrap().run, j.run());
        // The filler lines inside the window are noted, the ones before are not read.
        assert!(tail.notes.len() <= (TAIL_BYTES / 1000) as usize + 1);
    }
}
