//! One reconcile through the same path as `edgefed reconcile`: open the
//! backend afresh (the lab file can change between passes), observe, plan;
//! in correct mode, as the leader and within `--max-actions`, take the
//! reconcile lock, observe and plan again under it, apply, and verify.

use std::sync::Arc;

use super::events::{ActionEvent, Result as PassResult, now_rfc3339};
use super::leadership::Leadership;
use super::metrics::Metrics;
use super::schedule::Cause;
use crate::app::Access;
use crate::commands::plan::{Planned, make_plan};
use crate::commands::run_journal::{self, RunJournal};
use crate::document::Desired;
use crate::error::Error;
use crate::executor::{self, ApplyReport, Event, Outcome};
use crate::settings::Settings;
use crate::stop::Stop;

/// Monitor or correct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Observe and plan only.
    Monitor,
    /// Also apply.
    Correct,
}

impl Mode {
    /// The name as `--mode` spells it.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Monitor => "monitor",
            Self::Correct => "correct",
        }
    }
}

/// What a pass is allowed to do.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Monitor or correct.
    pub mode: Mode,
    /// A plan with more actions is not applied.
    pub max_actions: Option<usize>,
    /// `--yes` was given.
    pub yes: bool,
}

/// How a pass ended.
#[derive(Debug)]
pub struct Pass {
    /// The result.
    pub result: PassResult,
    /// The failure's cause, for the backoff.
    pub cause: Option<Cause>,
    /// Whether an observation succeeded (for readiness).
    pub observed: bool,
    /// Whether the deployment matched the document at the end.
    pub in_sync: bool,
    /// The plan's actions, one line each.
    pub actions: Vec<String>,
    /// Applied and failed counts.
    pub applied: usize,
    /// Failed actions.
    pub failed: usize,
    /// Actions not attempted (a failed dependency, a stop, a lost term).
    pub not_attempted: usize,
    /// What went wrong.
    pub message: Option<String>,
    /// Whether this watcher led (at the end: a leader that lost its term
    /// while applying did not).
    pub leader: bool,
    /// The fencing token of the term the actions were applied under.
    pub fencing_token: Option<u64>,
}

/// Where a pass reports each action it dispatches and finishes, as it happens.
pub type OnAction<'a> = &'a (dyn Fn(&ActionEvent) + Sync);

impl Pass {
    fn failed(cause: Cause, observed: bool, e: &Error) -> Self {
        Self {
            result: match cause {
                Cause::Observe => PassResult::FailedObserve,
                Cause::Apply => PassResult::FailedApply,
                Cause::Document => PassResult::InvalidDocument,
            },
            cause: Some(cause),
            observed,
            in_sync: false,
            actions: Vec::new(),
            applied: 0,
            failed: 0,
            not_attempted: 0,
            message: Some(e.report().trim_end().to_string()),
            leader: false,
            fencing_token: None,
        }
    }
}

fn lines(planned: &Planned) -> Vec<String> {
    planned
        .plan
        .actions
        .iter()
        .map(|a| format!("#{} {}", a.id, a.operation))
        .collect()
}

/// Observes and plans with read access (no lock).
fn observe(settings: &Settings, desired: &Desired, access: Access, metrics: &Metrics) -> Result<Planned, Error> {
    let planned = make_plan(settings, desired, access)?;
    metrics.round_trips(1);
    if let Some(why) = &planned.dns_unreadable {
        return Err(Error::DnsUnreadable { why: why.clone() });
    }
    metrics.planned(&planned.plan.actions, planned.plan.in_sync());
    Ok(planned)
}

/// One reconcile of `desired`; `on_action` hears of each action applied.
/// Once `stop` is requested nothing more is dispatched: the actions in
/// flight get its grace period to end, and the pass reports
/// [`PassResult::Stopped`].
pub fn run(
    settings: &Settings,
    desired: &Desired,
    limits: Limits,
    leadership: &dyn Leadership,
    metrics: &Metrics,
    stop: &Stop,
    on_action: OnAction<'_>,
) -> Pass {
    let leader = leadership.is_leader();
    metrics.leader(leader);
    let planned = match observe(settings, desired, Access::Read, metrics) {
        Ok(p) => p,
        // The deployment was observed, but the document cannot be planned
        // against it (a route to a pool that is down, …): a person acts.
        Err(e @ Error::PlanRules(_)) => {
            return Pass {
                result: PassResult::Blocked,
                cause: None,
                observed: true,
                in_sync: false,
                actions: Vec::new(),
                applied: 0,
                failed: 0,
                not_attempted: 0,
                message: Some(e.report().trim_end().to_string()),
                leader,
                fencing_token: None,
            };
        }
        Err(e) => return Pass::failed(Cause::Observe, false, &e),
    };
    let mut pass = Pass {
        result: PassResult::InSync,
        cause: None,
        observed: true,
        in_sync: planned.plan.in_sync(),
        actions: lines(&planned),
        applied: 0,
        failed: 0,
        not_attempted: 0,
        message: None,
        leader,
        fencing_token: None,
    };
    if pass.in_sync {
        return pass;
    }
    pass.result = PassResult::Drift;
    if limits.mode == Mode::Monitor || !leader || planned.plan.actions.is_empty() {
        if !leader {
            pass.message = Some("not the leader: observing only".into());
        }
        return pass;
    }
    if blocked_by_the_limit(limits, planned.plan.actions.len(), &mut pass) {
        return pass;
    }
    drop(planned);
    if stop.is_requested() {
        return stopped_before_applying(stop, pass);
    }
    apply(settings, desired, limits, leadership, metrics, stop, on_action, pass)
}

/// A pass whose stop came before anything was dispatched.
fn stopped_before_applying(stop: &Stop, mut pass: Pass) -> Pass {
    pass.result = PassResult::Stopped;
    pass.not_attempted = pass.actions.len();
    pass.message = Some(format!(
        "{} received before applying: nothing was dispatched; the next run carries on",
        stop.reason().map_or("a stop request", crate::stop::StopReason::name)
    ));
    pass
}

/// `#1, #2, …`
fn ids(ids: &[usize]) -> String {
    ids.iter().map(|id| format!("#{id}")).collect::<Vec<_>>().join(", ")
}

/// What a stopped apply did, for its event.
fn stopped_message(stop: &Stop, token: Option<u64>, report: &ApplyReport) -> String {
    let not_attempted = report.not_attempted();
    let mut message = format!(
        "{} received while applying{}: stopped dispatching; {} applied, {} failed, {} not attempted",
        stop.reason().map_or("a stop request", crate::stop::StopReason::name),
        token.map(|t| format!(" (fencing token {t})")).unwrap_or_default(),
        report.applied().len(),
        report.failed().len(),
        not_attempted.len(),
    );
    if !not_attempted.is_empty() {
        message.push_str(&format!(" ({})", ids(&not_attempted)));
    }
    if let Some(stopped) = report.stopped.as_ref().filter(|s| !s.abandoned.is_empty()) {
        message.push_str(&format!(
            "; abandoned in flight {}, effect unknown: {}",
            if stopped.grace_expired {
                format!("after --stop-timeout {}", humantime::format_duration(stop.grace()))
            } else {
                "on a second signal".to_string()
            },
            ids(&stopped.abandoned)
        ));
    }
    message.push_str("; the next run (`edgefed reconcile`, or the watcher restarted) observes and carries on");
    message
}

/// Records an action as it is dispatched or ends: metrics, the action
/// event with the term's fencing token, and a log line.
fn record(event: Event<'_>, token: Option<u64>, metrics: &Metrics, on_action: OnAction<'_>) {
    let (action, status, error) = match event {
        Event::Started(action) => (action, "started", None),
        Event::Stopping {
            reason,
            in_flight,
            grace,
        } => {
            let flying: Vec<usize> = in_flight.iter().map(|a| a.id).collect();
            tracing::warn!(
                "{} received: no new action is dispatched; {} in flight get up to {} to end",
                reason.name(),
                if flying.is_empty() {
                    "none".to_string()
                } else {
                    ids(&flying)
                },
                humantime::format_duration(grace)
            );
            return;
        }
        Event::Finished(action, outcome) => {
            metrics.round_trips(1);
            match outcome {
                Outcome::Applied { duration, .. } => {
                    metrics.action_took(action.operation.kind(), *duration);
                    (action, "applied", None)
                }
                Outcome::Failed { duration, error } => {
                    metrics.action_took(action.operation.kind(), *duration);
                    (action, "failed", Some(error.to_string()))
                }
                Outcome::NotAttempted { .. } => return,
            }
        }
    };
    let line = format!("#{} {}", action.id, action.operation);
    if status != "started" {
        match token {
            Some(t) => tracing::info!("{status} {line} under fencing token {t}"),
            None => tracing::info!("{status} {line}"),
        }
    }
    on_action(&ActionEvent {
        event: "action",
        time: now_rfc3339(),
        status,
        id: action.id,
        action: line,
        fencing_token: token,
        error,
    });
}

/// Marks `pass` blocked when the plan's `actions` exceed `--max-actions`;
/// says whether it did. Checked on the first plan and again on the plan
/// made under the lock, which may differ.
fn blocked_by_the_limit(limits: Limits, actions: usize, pass: &mut Pass) -> bool {
    match limits.max_actions {
        Some(max) if actions > max => {
            pass.result = PassResult::Blocked;
            pass.message = Some(blocked_message(actions, max));
            true
        }
        _ => false,
    }
}

fn blocked_message(n: usize, max: usize) -> String {
    format!(
        "{n} actions exceed --max-actions {max}; not applied automatically: review the plan (`edgefed plan`) and run `edgefed reconcile`"
    )
}

/// The apply half: under the lock, plan again and apply.
#[allow(clippy::too_many_arguments)]
fn apply(
    settings: &Settings,
    desired: &Desired,
    limits: Limits,
    leadership: &dyn Leadership,
    metrics: &Metrics,
    stop: &Stop,
    on_action: OnAction<'_>,
    pass: Pass,
) -> Pass {
    let planned = match observe(settings, desired, Access::Write, metrics) {
        Ok(p) => p,
        Err(e) => {
            return Pass {
                leader: pass.leader,
                ..Pass::failed(Cause::Apply, true, &e)
            };
        }
    };
    metrics.lock_held(true);
    let pass = apply_locked(
        settings, desired, limits, leadership, metrics, stop, on_action, &planned, pass,
    );
    // The backend (and with it the lab's lock) goes with its runtime.
    drop(planned);
    metrics.lock_held(false);
    pass
}

#[allow(clippy::too_many_arguments)]
fn apply_locked(
    settings: &Settings,
    desired: &Desired,
    limits: Limits,
    leadership: &dyn Leadership,
    metrics: &Metrics,
    stop: &Stop,
    on_action: OnAction<'_>,
    planned: &Planned,
    mut pass: Pass,
) -> Pass {
    pass.actions = lines(planned);
    pass.in_sync = planned.plan.in_sync();
    if pass.in_sync || planned.plan.actions.is_empty() {
        pass.result = if pass.in_sync {
            PassResult::InSync
        } else {
            PassResult::Drift
        };
        return pass;
    }
    if blocked_by_the_limit(limits, planned.plan.actions.len(), &mut pass) {
        return pass;
    }
    if let Err(e) = crate::commands::approval::obtain(settings, &planned.plan, limits.yes) {
        return Pass {
            leader: pass.leader,
            actions: pass.actions,
            ..Pass::failed(Cause::Apply, true, &e)
        };
    }
    if !leadership.still_leads() {
        pass.result = PassResult::Drift;
        pass.message = Some("leadership lost before applying: observing only".into());
        return pass;
    }
    // The term the actions are applied under: recorded with each of them,
    // and checked before each dispatch, so that a leader that lost its
    // lease (or was replaced) stops at once instead of applying unnoticed.
    let token = leadership.fencing_token();
    pass.fencing_token = token;
    if let Some(token) = token {
        tracing::info!("applying under fencing token {token}");
    }
    if stop.is_requested() {
        return stopped_before_applying(stop, pass);
    }
    // The run goes into the same journal as `edgefed reconcile`'s, each
    // line under the term's token: which leader applied what is on record.
    run_journal::warn_if_last_run_died(settings);
    let mut journal = match RunJournal::start_fenced(settings, desired, &planned.plan, planned.backend.name(), token) {
        Ok(j) => j,
        Err(e) => {
            return Pass {
                leader: pass.leader,
                actions: pass.actions,
                ..Pass::failed(Cause::Apply, true, &e)
            };
        }
    };
    let mut deposed = false;
    let backend = Arc::clone(&planned.backend);
    let report = planned.rt.block_on(executor::execute_with(
        &planned.plan.actions,
        backend,
        stop,
        || {
            deposed = !(leadership.still_leads() && leadership.fencing_token() == token);
            !deposed
        },
        |event| {
            journal.progress(&event);
            record(event, token, metrics, on_action);
        },
    ));
    journal.end(&report);
    pass.applied = report.applied().len();
    pass.failed = report.failed().len();
    pass.not_attempted = report.not_attempted().len();
    // A stop resigns the leadership too: it is the stop that ended this run.
    if report.stopped.is_some() || stop.is_requested() {
        pass.result = PassResult::Stopped;
        pass.message = Some(stopped_message(stop, token, &report));
        tracing::warn!("{}", pass.message.as_deref().unwrap_or_default());
        return pass;
    }
    if deposed {
        let not_attempted = report.not_attempted();
        pass.leader = false;
        pass.result = PassResult::Drift;
        pass.message = Some(format!(
            "leadership lost while applying{}: stopped dispatching; {} applied, {} failed, {} not attempted ({}); the leader now in office carries on",
            token.map(|t| format!(" (fencing token {t})")).unwrap_or_default(),
            pass.applied,
            pass.failed,
            not_attempted.len(),
            ids(&not_attempted)
        ));
        tracing::warn!("{}", pass.message.as_deref().unwrap_or_default());
        return pass;
    }
    if !report.complete() {
        let first = report.outcomes.iter().find_map(|(id, o)| match o {
            Outcome::Failed { error, .. } => Some(format!("#{id}: {error}")),
            _ => None,
        });
        pass.result = PassResult::FailedApply;
        pass.cause = Some(Cause::Apply);
        pass.message = Some(format!(
            "{} of {} action(s) applied, {} failed{}",
            pass.applied,
            planned.plan.actions.len(),
            pass.failed,
            first.map(|f| format!(" (first: {f})")).unwrap_or_default()
        ));
        return pass;
    }
    metrics.round_trips(1);
    match crate::commands::verify::after_apply(&planned.rt, planned.backend.as_ref(), desired) {
        Ok(remaining) if remaining.in_sync() => {
            pass.result = PassResult::Applied;
            pass.in_sync = true;
            metrics.planned(&[], true);
        }
        Ok(remaining) => {
            pass.result = PassResult::FailedApply;
            pass.cause = Some(Cause::Apply);
            pass.message = Some(remaining.human().trim_end().to_string());
        }
        Err(e) => {
            pass.result = PassResult::FailedObserve;
            pass.cause = Some(Cause::Observe);
            pass.message = Some(e.report().trim_end().to_string());
        }
    }
    pass
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::lab::{OperationLog, Scenario};
    use crate::watch::leadership::AlwaysLeader;

    /// A scripted election: whether this watcher leads, under which token,
    /// and how many `still_leads` checks it passes before its term is lost.
    struct Scripted {
        leader: bool,
        token: Option<u64>,
        checks_passed: usize,
        checks: std::sync::atomic::AtomicUsize,
    }

    impl Scripted {
        fn new(leader: bool, token: Option<u64>, checks_passed: usize) -> Self {
            Self {
                leader,
                token,
                checks_passed,
                checks: std::sync::atomic::AtomicUsize::new(0),
            }
        }

        /// An election this watcher has lost.
        fn follower() -> Self {
            Self::new(false, None, 0)
        }

        /// Leads when asked first, has lost the lease by the time it would apply.
        fn loses_the_lease() -> Self {
            Self::new(true, Some(7), 0)
        }

        /// Leads under token 41 and passes `checks` checks, then has lost its term.
        fn loses_it_after(checks: usize) -> Self {
            Self::new(true, Some(41), checks)
        }

        /// Leads under token 9 throughout.
        fn leads() -> Self {
            Self::new(true, Some(9), usize::MAX)
        }
    }

    impl Leadership for Scripted {
        fn is_leader(&self) -> bool {
            self.leader
        }
        fn still_leads(&self) -> bool {
            self.leader && self.checks.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < self.checks_passed
        }
        fn fencing_token(&self) -> Option<u64> {
            self.token
        }
        fn describe(&self) -> String {
            "a scripted election".into()
        }
    }

    fn lab() -> (tempfile::TempDir, Settings) {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("lab.yaml");
        std::fs::write(&path, Scenario::DEFAULT.text()).expect("lab");
        let cli = <crate::cli::Cli as clap::Parser>::try_parse_from([
            "edgefed",
            "--lab",
            path.to_str().expect("utf-8"),
            "observe",
        ])
        .expect("clap");
        (dir, Settings::from_global(&cli.global).expect("settings"))
    }

    fn desired() -> Desired {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/failback.yaml");
        crate::commands::load_desired(path).expect("example")
    }

    const CORRECT: Limits = Limits {
        mode: Mode::Correct,
        max_actions: None,
        yes: false,
    };

    /// One pass on the lab in `settings` towards the seed failback.
    fn pass_with(
        settings: &Settings,
        limits: Limits,
        leadership: &dyn Leadership,
        stop: &Stop,
        on_action: OnAction<'_>,
    ) -> Pass {
        run(
            settings,
            &desired(),
            limits,
            leadership,
            &Metrics::new(),
            stop,
            on_action,
        )
    }

    /// What the lab in `dir` applied, from its operation log.
    fn applied_in(dir: &tempfile::TempDir) -> Vec<crate::plan::Operation> {
        OperationLog::of(&dir.path().join("lab.yaml")).applied().expect("log")
    }

    #[test]
    fn a_follower_in_correct_mode_only_observes() {
        let (dir, settings) = lab();
        let pass = pass_with(&settings, CORRECT, &Scripted::follower(), &Stop::default(), &|_| {});
        assert_eq!(pass.result, PassResult::Drift);
        assert!(!pass.leader);
        assert_eq!(pass.actions.len(), 17);
        let applied = applied_in(&dir);
        assert!(applied.is_empty(), "a follower applied: {applied:?}");
    }

    #[test]
    fn a_lease_lost_before_applying_applies_nothing() {
        let (dir, settings) = lab();
        let pass = pass_with(
            &settings,
            CORRECT,
            &Scripted::loses_the_lease(),
            &Stop::default(),
            &|_| {},
        );
        assert_eq!(pass.result, PassResult::Drift);
        assert!(pass.message.as_deref().is_some_and(|m| m.contains("leadership lost")));
        let applied = applied_in(&dir);
        assert!(applied.is_empty(), "applied without the lease: {applied:?}");
    }

    #[test]
    fn more_actions_than_the_limit_are_blocked_not_applied() {
        let (dir, settings) = lab();
        let limits = Limits {
            max_actions: Some(16),
            ..CORRECT
        };
        let pass = pass_with(&settings, limits, &AlwaysLeader, &Stop::default(), &|_| {});
        assert_eq!(pass.result, PassResult::Blocked);
        assert!(
            pass.message
                .as_deref()
                .is_some_and(|m| m.contains("17 actions exceed --max-actions 16") && m.contains("edgefed reconcile")),
            "{:?}",
            pass.message
        );
        let applied = applied_in(&dir);
        assert!(applied.is_empty(), "blocked but applied: {applied:?}");
    }

    #[test]
    fn a_term_lost_while_applying_stops_dispatching_and_every_action_carries_the_token() {
        let (dir, settings) = lab();
        // One check before the apply, then one per action: five actions go out.
        let leadership = Scripted::loses_it_after(6);
        let events = std::sync::Mutex::new(Vec::new());
        let on_action = |e: &ActionEvent| events.lock().expect("events").push(e.clone());
        let pass = pass_with(&settings, CORRECT, &leadership, &Stop::default(), &on_action);
        assert_eq!(pass.result, PassResult::Drift, "{:?}", pass.message);
        assert!(!pass.leader, "a deposed leader reports as a follower");
        assert_eq!(pass.fencing_token, Some(41));
        assert_eq!(pass.applied, 5);
        let message = pass.message.as_deref().unwrap_or_default();
        assert!(
            message.contains("leadership lost while applying (fencing token 41)")
                && message.contains("12 not attempted"),
            "{message}"
        );
        let applied = applied_in(&dir);
        assert_eq!(applied.len(), 5, "nothing applied after the term was lost: {applied:?}");
        let events = events.into_inner().expect("events");
        let applied: Vec<&ActionEvent> = events.iter().filter(|e| e.status == "applied").collect();
        assert_eq!(applied.len(), 5);
        assert_eq!(events.iter().filter(|e| e.status == "started").count(), 5);
        assert!(
            events
                .iter()
                .all(|e| e.fencing_token == Some(41) && e.event == "action")
        );
    }

    #[test]
    fn a_stop_while_applying_stops_dispatching_and_the_journal_records_the_token() {
        let (dir, settings) = lab();
        let stop = Stop::new(std::time::Duration::from_secs(30));
        let applied = std::sync::atomic::AtomicUsize::new(0);
        let on_action = |e: &ActionEvent| {
            if e.status == "applied" && applied.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 2 {
                stop.request(crate::stop::StopReason::Terminate);
            }
        };
        let pass = pass_with(&settings, CORRECT, &Scripted::leads(), &stop, &on_action);
        assert_eq!(pass.result, PassResult::Stopped, "{:?}", pass.message);
        assert_eq!(pass.cause, None, "a stop is not a failure to back off from");
        assert!(pass.applied >= 3 && pass.not_attempted > 0, "{pass:?}");
        assert_eq!(pass.applied + pass.failed + pass.not_attempted, 17);
        let message = pass.message.as_deref().unwrap_or_default();
        assert!(
            message.contains("SIGTERM received while applying (fencing token 9): stopped dispatching")
                && message.contains(&format!("{} not attempted", pass.not_attempted)),
            "{message}"
        );
        let log = applied_in(&dir);
        assert_eq!(log.len(), pass.applied, "nothing dispatched after the stop: {log:?}");
        let journal = std::fs::read_to_string(dir.path().join("lab.yaml.journal.ndjson")).expect("journal");
        let records: Vec<serde_json::Value> = journal
            .lines()
            .map(|l| serde_json::from_str(l).expect("a journal line"))
            .collect();
        assert_eq!(records.first().map(|r| r["event"].clone()), Some("run-started".into()));
        assert!(records.iter().all(|r| r["fencingToken"] == 9), "{journal}");
        let applied = records
            .iter()
            .filter(|r| r["event"] == "action-ended" && r["outcome"] == "applied")
            .count();
        assert_eq!(applied, pass.applied);
        let end = records.last().expect("records");
        assert_eq!(end["event"], "run-ended");
        assert_eq!(end["result"], "interrupted");
        assert_eq!(end["signal"], "SIGTERM");
        assert_eq!(end["notAttempted"], pass.not_attempted);
    }

    #[test]
    fn a_stop_before_applying_dispatches_nothing() {
        let (dir, settings) = lab();
        let stop = Stop::default();
        stop.request(crate::stop::StopReason::Interrupt);
        let pass = pass_with(&settings, CORRECT, &Scripted::leads(), &stop, &|_| {});
        assert_eq!(pass.result, PassResult::Stopped);
        assert_eq!(pass.not_attempted, 17);
        assert!(
            pass.message
                .as_deref()
                .is_some_and(|m| m.contains("SIGINT received before applying")),
            "{:?}",
            pass.message
        );
        let applied = applied_in(&dir);
        assert!(applied.is_empty(), "{applied:?}");
    }
}
