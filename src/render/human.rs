//! Output for people: changes (observed → desired) coloured, the numbered
//! plan with reasons, apply progress and the final report. Colour codes are
//! written unconditionally; `anstream` strips them when colour is off.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use crate::executor::{ApplyReport, Outcome};
use crate::plan::{Action, Dependency, Plan, Wait};

const RED: Style = AnsiColor::Red.on_default();
const GREEN: Style = AnsiColor::Green.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

/// The changes and the numbered plan, ending with the summary line.
#[must_use]
pub fn plan(plan: &Plan) -> String {
    render_plan(plan, false)
}

/// As [`plan`], and after each action one line per action it waits for,
/// saying why (`plan --explain`).
#[must_use]
pub fn plan_explained(plan: &Plan) -> String {
    render_plan(plan, true)
}

fn render_plan(plan: &Plan, explain: bool) -> String {
    let mut out = String::new();
    if plan.in_sync() {
        let _ = writeln!(out, "No changes: the deployment matches the document.");
    } else {
        let _ = writeln!(out, "{BOLD}Changes{BOLD:#} (observed → desired):");
        for c in &plan.changes {
            let _ = writeln!(
                out,
                "  {YELLOW}~{YELLOW:#} {}: {RED}{}{RED:#} → {GREEN}{}{GREEN:#}",
                c.path,
                super::show_value(&c.observed),
                super::show_value(&c.desired)
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "{BOLD}Plan{BOLD:#}:");
        let width = plan.actions.len().to_string().len();
        for a in &plan.actions {
            let _ = writeln!(out, "  {:>width$}. {}", a.id, a.operation);
            let after = if a.depends_on.is_empty() {
                String::new()
            } else {
                let ids: Vec<String> = a.depends_on_ids().map(|d| format!("#{d}")).collect();
                format!(" (after {})", ids.join(", "))
            };
            let _ = writeln!(out, "  {:>width$}  {DIM}{}{after}{DIM:#}", "", a.reason);
            if explain {
                for d in &a.depends_on {
                    let _ = writeln!(out, "  {:>width$}    {}", "", waits_for(plan, d));
                }
            }
        }
    }
    for w in &plan.warnings {
        let _ = writeln!(out, "{YELLOW}warning{YELLOW:#}: {w}");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", super::summary_line(plan));
    out
}

/// `waits for #6 publish-topology: run-setup reads the published topology`;
/// a completion edge says the action runs once the other ends, whatever the outcome.
fn waits_for(plan: &Plan, d: &Dependency) -> String {
    let kind = plan
        .actions
        .get(d.on.wrapping_sub(1))
        .filter(|a| a.id == d.on)
        .map_or("", |a| a.operation.kind().name());
    let until = match d.wait {
        Wait::Success => "",
        Wait::Completion => " to end, whatever the outcome",
    };
    format!("waits for #{} {kind}{until}: {}", d.on, d.reason)
}

/// `[done/total] #id`: how many actions have ended of how many, then the
/// action's own id (which is not its place in the run: actions run in
/// dependency order, several at a time).
fn counted(action: &Action, done: usize, total: usize) -> String {
    let width = total.to_string().len();
    format!("[{done:>width$}/{total}] #{} {}", action.id, action.operation)
}

/// One line as an action starts; `done` actions have ended so far.
#[must_use]
pub fn started(action: &Action, done: usize, total: usize) -> String {
    format!("{} …", counted(action, done, total))
}

/// One line as an action finishes; `done` counts it.
#[must_use]
pub fn finished(action: &Action, done: usize, total: usize, outcome: &Outcome) -> String {
    let head = counted(action, done, total);
    match outcome {
        Outcome::Applied { applied, duration } => {
            let mut s = format!("{head} {GREEN}done{GREEN:#} ({} ms)", duration.as_millis());
            if let Some(d) = &applied.detail {
                let _ = write!(s, " — {d}");
            }
            for w in &applied.warnings {
                let _ = write!(s, "\n        {YELLOW}warning{YELLOW:#}: {w}");
            }
            s
        }
        Outcome::Failed { error, duration } => {
            format!("{head} {RED}FAILED{RED:#} ({} ms): {error}", duration.as_millis())
        }
        Outcome::NotAttempted { .. } => format!("{head} not attempted"),
    }
}

/// The end of a reconcile: `Applied N of N actions.`, or what was applied,
/// what failed (with the backend's message) and what was not attempted.
#[must_use]
pub fn report(actions: &[Action], report: &ApplyReport) -> String {
    let total = actions.len();
    let applied = report.applied();
    let mut out = String::new();
    if let Some(stopped) = &report.stopped {
        let _ = writeln!(
            out,
            "{YELLOW}The run was interrupted by {}: no action was started after it.{YELLOW:#}",
            stopped.reason.name()
        );
        if !stopped.abandoned.is_empty() {
            let ids: Vec<String> = stopped.abandoned.iter().map(|d| format!("#{d}")).collect();
            let why = if stopped.grace_expired {
                "they did not end in time"
            } else {
                "a second signal"
            };
            let _ = writeln!(
                out,
                "{YELLOW}Abandoned in flight ({why}): {}; their effect is unknown.{YELLOW:#}",
                ids.join(", ")
            );
        }
    }
    if report.complete() {
        let _ = writeln!(out, "{GREEN}Applied {} of {total} actions.{GREEN:#}", applied.len());
        return out;
    }
    let failed = report.failed();
    let skipped = report.not_attempted();
    let _ = writeln!(
        out,
        "{RED}Applied {} of {total} actions; {} failed; {} not attempted.{RED:#}",
        applied.len(),
        failed.len(),
        skipped.len()
    );
    let name = |id: usize| {
        actions
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.operation.to_string())
            .unwrap_or_default()
    };
    if !applied.is_empty() {
        let _ = writeln!(out, "  applied:");
        for id in &applied {
            let _ = writeln!(out, "    #{id} {}", name(*id));
        }
    }
    if !failed.is_empty() {
        let _ = writeln!(out, "  failed:");
    }
    for (id, o) in &report.outcomes {
        if let Outcome::Failed { error, .. } = o {
            let _ = writeln!(out, "    #{id} {}: {error}", name(*id));
        }
    }
    if !skipped.is_empty() {
        let _ = writeln!(out, "  not attempted:");
        for (id, o) in &report.outcomes {
            if let Outcome::NotAttempted { blocked_by } = o {
                let ids: Vec<String> = blocked_by.iter().map(|d| format!("#{d}")).collect();
                if ids.is_empty() {
                    let _ = writeln!(out, "    #{id} {} (not started: the run was stopped)", name(*id));
                } else {
                    let _ = writeln!(out, "    #{id} {} (blocked by {})", name(*id), ids.join(", "));
                }
            }
        }
    }
    if report.stopped.is_some() {
        let _ = writeln!(
            out,
            "Nothing else was changed. Run `edgefed reconcile` again to finish: it observes first and plans only what is still to do."
        );
    } else {
        let _ = writeln!(
            out,
            "Nothing else was changed. Fix the failure and run `edgefed reconcile` again: it plans only what is still to do."
        );
    }
    out
}
