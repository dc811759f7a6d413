//! A reconcile's journal: the run's start, each action's start and end, and
//! the run's end, appended as they happen; and, before a run, the warning
//! that the last one died with actions in flight.

use crate::app::note;
use crate::document::Desired;
use crate::error::Error;
use crate::executor::{ApplyReport, Event as Progress, Outcome};
use crate::journal::{self, Event, Journal, PlanSummary, RunResult, RunState};
use crate::plan::Plan;
use crate::render::PlanDocument;
use crate::settings::Settings;

/// Says on stderr, before a run observes, when the last run recorded in the
/// journal died with actions in flight (and notes lines it had to skip).
pub(crate) fn warn_if_last_run_died(settings: &Settings) {
    let path = journal::path(settings);
    let tail = match journal::tail::read(&path) {
        Ok(t) => t,
        Err(e) => {
            note(&format!("warning: cannot read the run journal {}: {e}", path.display()));
            return;
        }
    };
    for n in &tail.notes {
        note(&format!("note: {n}"));
    }
    let Some(last) = tail.last else { return };
    if last.state() != RunState::Died {
        return;
    }
    if last.in_flight.is_empty() {
        note(&format!(
            "warning: the last run (pid {}, started {}) did not record its end; nothing was in flight; observing before deciding",
            last.pid, last.started
        ));
    } else {
        let flying: Vec<String> = last.in_flight.iter().map(ToString::to_string).collect();
        note(&format!(
            "warning: the last run (pid {}, started {}) died while these were in flight: {}; observing before deciding",
            last.pid,
            last.started,
            flying.join(", ")
        ));
    }
}

/// The journal of the run being applied. Once the run has started, a
/// journal that cannot be written is said once on stderr; the run goes on.
pub(crate) struct RunJournal {
    journal: Journal,
    failed: bool,
}

impl RunJournal {
    /// Opens the journal and records the run's start.
    ///
    /// # Errors
    /// [`Error::Journal`] when it cannot be written: nothing is applied then.
    pub(crate) fn start(settings: &Settings, doc: &PlanDocument, plan: &Plan, backend: &str) -> Result<Self, Error> {
        Self::open(settings, &doc.desired.file, &doc.desired.sha256, plan, backend, None)
    }

    /// [`Self::start`] for an elected leader's apply: `fencing_token`, the
    /// term it applies under, is recorded on every line of the run, so the
    /// journal shows which leader applied each action.
    ///
    /// # Errors
    /// [`Error::Journal`] when it cannot be written: nothing is applied then.
    pub(crate) fn start_fenced(
        settings: &Settings,
        desired: &Desired,
        plan: &Plan,
        backend: &str,
        fencing_token: Option<u64>,
    ) -> Result<Self, Error> {
        Self::open(
            settings,
            &desired.source.file,
            &desired.source.sha256,
            plan,
            backend,
            fencing_token,
        )
    }

    fn open(
        settings: &Settings,
        document: &str,
        sha256: &str,
        plan: &Plan,
        backend: &str,
        fencing_token: Option<u64>,
    ) -> Result<Self, Error> {
        let mut journal = Journal::start(&journal::path(settings), journal::ROTATE_BYTES)?
            .fenced(fencing_token)
            .sync_each_record(journal::sync_each_record(settings));
        journal.record(Event::RunStarted {
            user: journal::record::user(),
            document: document.to_string(),
            document_sha256: sha256.to_string(),
            backend: backend.to_string(),
            plan: PlanSummary::of(&plan.actions),
        })?;
        Ok(Self { journal, failed: false })
    }

    /// Records an action's start or end.
    pub(crate) fn progress(&mut self, event: &Progress<'_>) {
        let record = match event {
            Progress::Started(a) => Event::ActionStarted {
                action: a.id,
                kind: a.operation.kind().name().to_string(),
                target: a.operation.target(),
            },
            Progress::Finished(a, o) => {
                let (outcome, error) = match o {
                    Outcome::Applied { .. } => ("applied", None),
                    Outcome::Failed { error, .. } => ("failed", Some(error.to_string())),
                    Outcome::NotAttempted { .. } => return,
                };
                Event::ActionEnded {
                    action: a.id,
                    kind: a.operation.kind().name().to_string(),
                    target: a.operation.target(),
                    outcome: outcome.into(),
                    error,
                }
            }
            Progress::Stopping { .. } => return,
        };
        self.record(record);
    }

    /// Records the run's end.
    pub(crate) fn end(mut self, report: &ApplyReport) {
        let result = if report.stopped.is_some() {
            RunResult::Interrupted
        } else if report.complete() {
            RunResult::Complete
        } else {
            RunResult::Failed
        };
        self.record(Event::RunEnded {
            result,
            signal: report.stopped.as_ref().map(|s| s.reason.name().to_string()),
            applied: report.applied().len(),
            failed: report.failed().len(),
            not_attempted: report.not_attempted().len(),
            abandoned: report.stopped.as_ref().map(|s| s.abandoned.clone()).unwrap_or_default(),
        });
        if let Err(e) = self.journal.sync()
            && !self.failed
        {
            note(&format!("warning: {e}"));
        }
    }

    fn record(&mut self, event: Event) {
        if let Err(e) = self.journal.record(event)
            && !self.failed
        {
            self.failed = true;
            note(&format!("warning: {e}; the run goes on without its journal"));
        }
    }
}
