//! One reconcile through the same path as `edgefed reconcile`: open the
//! backend afresh (the lab file can change between passes), observe, plan;
//! in correct mode, as the leader and within `--max-actions`, take the
//! reconcile lock, observe and plan again under it, apply, and verify.

use std::sync::Arc;

use super::events::Result as PassResult;
use super::leadership::Leadership;
use super::metrics::Metrics;
use super::schedule::Cause;
use crate::app::Access;
use crate::commands::plan::{Planned, make_plan};
use crate::document::Desired;
use crate::error::Error;
use crate::executor::{self, Event, Outcome};
use crate::settings::Settings;

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
    /// What went wrong.
    pub message: Option<String>,
    /// Whether this watcher led.
    pub leader: bool,
}

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
            message: Some(e.report().trim_end().to_string()),
            leader: false,
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

/// One reconcile of `desired`.
pub fn run(
    settings: &Settings,
    desired: &Desired,
    limits: Limits,
    leadership: &dyn Leadership,
    metrics: &Metrics,
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
                message: Some(e.report().trim_end().to_string()),
                leader,
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
        message: None,
        leader,
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
    if let Some(max) = limits.max_actions
        && planned.plan.actions.len() > max
    {
        pass.result = PassResult::Blocked;
        pass.message = Some(blocked_message(planned.plan.actions.len(), max));
        return pass;
    }
    drop(planned);
    apply(settings, desired, limits, leadership, metrics, pass)
}

fn blocked_message(n: usize, max: usize) -> String {
    format!(
        "{n} actions exceed --max-actions {max}; not applied automatically: review the plan (`edgefed plan`) and run `edgefed reconcile`"
    )
}

/// The apply half: under the lock, plan again and apply.
fn apply(
    settings: &Settings,
    desired: &Desired,
    limits: Limits,
    leadership: &dyn Leadership,
    metrics: &Metrics,
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
    let pass = apply_locked(settings, desired, limits, leadership, metrics, &planned, pass);
    // The backend (and with it the lab's lock) goes with its runtime.
    drop(planned);
    metrics.lock_held(false);
    pass
}

fn apply_locked(
    settings: &Settings,
    desired: &Desired,
    limits: Limits,
    leadership: &dyn Leadership,
    metrics: &Metrics,
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
    if let Some(max) = limits.max_actions
        && planned.plan.actions.len() > max
    {
        pass.result = PassResult::Blocked;
        pass.message = Some(blocked_message(planned.plan.actions.len(), max));
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
    if let Some(token) = leadership.fencing_token() {
        tracing::info!("applying under fencing token {token}");
    }
    let backend = Arc::clone(&planned.backend);
    let report = planned
        .rt
        .block_on(executor::execute(&planned.plan.actions, backend, |event| {
            if let Event::Finished(action, outcome) = event {
                metrics.round_trips(1);
                match outcome {
                    Outcome::Applied { duration, .. } | Outcome::Failed { duration, .. } => {
                        metrics.action_took(action.operation.kind(), *duration);
                    }
                    Outcome::NotAttempted { .. } => {}
                }
            }
        }));
    pass.applied = report.applied().len();
    pass.failed = report.failed().len();
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

    /// An election this watcher has lost.
    struct Follower;

    impl Leadership for Follower {
        fn is_leader(&self) -> bool {
            false
        }
        fn still_leads(&self) -> bool {
            false
        }
        fn fencing_token(&self) -> Option<u64> {
            None
        }
        fn describe(&self) -> String {
            "a follower".into()
        }
    }

    /// Leads when asked first, has lost the lease by the time it would apply.
    struct LosesTheLease;

    impl Leadership for LosesTheLease {
        fn is_leader(&self) -> bool {
            true
        }
        fn still_leads(&self) -> bool {
            false
        }
        fn fencing_token(&self) -> Option<u64> {
            Some(7)
        }
        fn describe(&self) -> String {
            "loses its lease".into()
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

    #[test]
    fn a_follower_in_correct_mode_only_observes() {
        let (dir, settings) = lab();
        let metrics = Metrics::new();
        let pass = run(&settings, &desired(), CORRECT, &Follower, &metrics);
        assert_eq!(pass.result, PassResult::Drift);
        assert!(!pass.leader);
        assert_eq!(pass.actions.len(), 17);
        let applied = OperationLog::of(&dir.path().join("lab.yaml")).applied().expect("log");
        assert!(applied.is_empty(), "a follower applied: {applied:?}");
    }

    #[test]
    fn a_lease_lost_before_applying_applies_nothing() {
        let (dir, settings) = lab();
        let metrics = Metrics::new();
        let pass = run(&settings, &desired(), CORRECT, &LosesTheLease, &metrics);
        assert_eq!(pass.result, PassResult::Drift);
        assert!(pass.message.as_deref().is_some_and(|m| m.contains("leadership lost")));
        let applied = OperationLog::of(&dir.path().join("lab.yaml")).applied().expect("log");
        assert!(applied.is_empty(), "applied without the lease: {applied:?}");
    }

    #[test]
    fn more_actions_than_the_limit_are_blocked_not_applied() {
        let (dir, settings) = lab();
        let metrics = Metrics::new();
        let limits = Limits {
            max_actions: Some(16),
            ..CORRECT
        };
        let pass = run(&settings, &desired(), limits, &AlwaysLeader, &metrics);
        assert_eq!(pass.result, PassResult::Blocked);
        assert!(
            pass.message
                .as_deref()
                .is_some_and(|m| m.contains("17 actions exceed --max-actions 16") && m.contains("edgefed reconcile")),
            "{:?}",
            pass.message
        );
        let applied = OperationLog::of(&dir.path().join("lab.yaml")).applied().expect("log");
        assert!(applied.is_empty(), "blocked but applied: {applied:?}");
    }
}
