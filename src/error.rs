//! [`Error`]: why a command failed, and its exit code. Usage errors exit 64;
//! everything else exits 1. Internal errors (a bug in edgefed) are kept
//! apart from the user's problems and say so.

use std::path::PathBuf;

use crate::backend::BackendError;
use crate::backend::lab::{LabError, LabFileError, LockError, UnknownPool};
use crate::diagnostic::Diagnostics;
use crate::dns::TsigKeyError;
use crate::document::LoadError;
use crate::exit;
use crate::topology::TopologyError;

/// A command's failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line is wrong (exit 64).
    #[error("{message}")]
    Usage {
        /// What is wrong and what to give instead.
        message: String,
    },
    /// The desired-state document cannot be read or is invalid (every
    /// problem, with positions).
    #[error(transparent)]
    Document(#[from] LoadError),
    /// The document breaks a plan-time rule (P1–P8) against the deployment.
    #[error(transparent)]
    PlanRules(Diagnostics),
    /// A saved plan cannot be used.
    #[error("{}", saved_plan(path, problem))]
    SavedPlan {
        /// The plan file.
        path: PathBuf,
        /// What is wrong with it.
        problem: SavedPlanProblem,
    },
    /// The deployment changed since a saved plan was made; nothing was applied.
    #[error(
        "the plan {} is stale: the deployment changed since it was made (fingerprint {before} → {after}); nothing was applied.\n{}Make a new plan: `edgefed plan -f DESIRED.yaml --out PLAN.json`.",
        path.display(),
        changed_lines(changes)
    )]
    StalePlan {
        /// The plan file.
        path: PathBuf,
        /// The fingerprint the plan saw.
        before: String,
        /// The fingerprint now.
        after: String,
        /// What changed (paths with both values).
        changes: Vec<String>,
    },
    /// The backend could not observe the deployment.
    #[error("cannot observe the deployment ({backend}): {source}")]
    Observe {
        /// The backend's name.
        backend: &'static str,
        /// Why.
        #[source]
        source: BackendError,
    },
    /// The lab is missing, invalid or locked.
    #[error(transparent)]
    Lab(#[from] LabError),
    /// The run's lock (`--lock`) is held past `--lock-timeout` or cannot be reached.
    #[error(transparent)]
    Lock(crate::lock::LockError),
    /// The lab named with `--lab` does not exist.
    #[error("lab file {} does not exist — create it with `edgefed --lab {} lab init`", path.display(), path.display())]
    LabMissing {
        /// The lab file.
        path: PathBuf,
    },
    /// `lab init` would overwrite a lab.
    #[error("lab file {} already exists; add --force to replace it", path.display())]
    LabExists {
        /// The lab file.
        path: PathBuf,
    },
    /// `lab fail` / `lab restore` of a pool the lab does not have.
    #[error(transparent)]
    UnknownPool(#[from] UnknownPool),
    /// A topology document cannot be read, edited or converted.
    #[error(transparent)]
    Topology(#[from] TopologyError),
    /// The TSIG key cannot be read.
    #[error(transparent)]
    TsigKey(#[from] TsigKeyError),
    /// A server address does not resolve.
    #[error("{flag} {text}: cannot resolve it: {source}")]
    Resolve {
        /// The option (`--dns-server`, `--resolver`).
        flag: &'static str,
        /// The address given.
        text: String,
        /// The resolver's error.
        #[source]
        source: std::io::Error,
    },
    /// A reconcile on a real system was not approved: nothing was applied.
    #[error("{reason}: nothing was applied")]
    NotApproved {
        /// Why (no terminal to ask on, or an answer other than `yes`).
        reason: String,
    },
    /// A file cannot be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// `read`, `write`.
        action: &'static str,
        /// The file (`-` for standard output).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The async runtime cannot start (no threads left).
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The run journal cannot be written (nothing was applied).
    #[error("{0}; nothing was applied")]
    Journal(#[from] crate::journal::JournalError),
    /// A signal stopped the command before it changed anything (exit 130 / 143).
    #[error("{} received while {during}: stopped; nothing was changed", reason.name())]
    Interrupted {
        /// Which signal.
        reason: crate::stop::StopReason,
        /// What was being done.
        during: &'static str,
    },
    /// A bug in edgefed, not a problem of the input or the deployment.
    #[error(
        "external DNS could not be read ({why}): --check cannot tell whether the managed records drifted. Check the resolver (--resolver, or give --dns-server) and run again"
    )]
    DnsUnreadable {
        /// The resolver's error.
        why: String,
    },
    #[error("internal error (a bug in edgefed; please report it): {0}")]
    Internal(String),
    /// The planner broke its own invariants (a bug in edgefed, not in the
    /// document).
    #[error("internal error (a bug in edgefed; please report it with the document and `edgefed observe` output): {0}")]
    PlannerBug(#[from] crate::plan::PlannerBug),
}

/// What is wrong with a saved plan file.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanProblem {
    /// It is not plan JSON.
    #[error("{line}:{column}: not an edgefed plan: {source}")]
    NotAPlan {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// Another format version.
    #[error(
        "plan formatVersion {found} is not one this edgefed reads ({} to {expected}; version 2 added why each action waits); make the plan again with this edgefed",
        crate::render::json::OLDEST_READ_FORMAT_VERSION
    )]
    FormatVersion {
        /// The plan's version.
        found: u32,
        /// This edgefed's.
        expected: u32,
    },
    /// Ids out of order.
    #[error("action ids must be 1..{count} in order; found {found} at position {position}")]
    Ids {
        /// How many actions.
        count: usize,
        /// The id found.
        found: usize,
        /// Its 1-based position.
        position: usize,
    },
    /// A dependency that does not come before.
    #[error("action {action} depends on {on}, which does not come before it")]
    Dependency {
        /// The action.
        action: usize,
        /// What it depends on.
        on: usize,
    },
    /// The actions' dependencies contradict each other (`dependsOn` and
    /// `waitsFor` disagree).
    #[error("{message}")]
    Inconsistent {
        /// What disagrees.
        message: String,
    },
    /// The document the plan was made from cannot be read.
    #[error(
        "the plan cannot be checked: the document `{file}` it was made from cannot be read ({why}); nothing was applied. Make the plan again from the document: `edgefed plan -f DESIRED.yaml --out PLAN.json`"
    )]
    DocumentMissing {
        /// The document, as the plan records it.
        file: String,
        /// Why it cannot be read.
        why: String,
    },
    /// The document changed since the plan was made.
    #[error(
        "the plan cannot be checked: the document `{file}` changed since the plan was made (sha256 {recorded} → {now}); nothing was applied. Make the plan again: `edgefed plan -f {file} --out PLAN.json`"
    )]
    DocumentChanged {
        /// The document.
        file: String,
        /// The SHA-256 the plan recorded.
        recorded: String,
        /// Its SHA-256 now.
        now: String,
    },
    /// The saved actions are not what the document gives: edited by hand.
    #[error(
        "the plan's actions are not what its document `{file}` gives against the deployment now: {difference}; nothing was applied. A saved plan is applied only as made; make the plan again: `edgefed plan -f {file} --out PLAN.json`"
    )]
    Tampered {
        /// The document.
        file: String,
        /// The first difference.
        difference: crate::plan::ActionDifference,
    },
    /// Made against another backend.
    #[error("made against the {made_with} backend, not {now}: use `--backend {made_with}`")]
    OtherBackend {
        /// The plan's backend.
        made_with: String,
        /// The configured one.
        now: &'static str,
    },
}

fn saved_plan(path: &std::path::Path, problem: &SavedPlanProblem) -> String {
    let path = path.display();
    match problem {
        SavedPlanProblem::NotAPlan { .. } => {
            format!("{path}:{problem} — write one with `edgefed plan -f DESIRED.yaml --out {path}`")
        }
        SavedPlanProblem::FormatVersion { .. } => {
            format!("{path}: {problem} (`edgefed plan -f DESIRED.yaml --out {path}`)")
        }
        SavedPlanProblem::Inconsistent { .. }
        | SavedPlanProblem::Ids { .. }
        | SavedPlanProblem::Dependency { .. }
        | SavedPlanProblem::OtherBackend { .. }
        | SavedPlanProblem::DocumentMissing { .. }
        | SavedPlanProblem::DocumentChanged { .. }
        | SavedPlanProblem::Tampered { .. } => format!("{path}: {problem}"),
    }
}

fn changed_lines(changes: &[String]) -> String {
    let mut out = String::new();
    for c in changes.iter().take(20) {
        out.push_str(&format!("  changed: {c}\n"));
    }
    if changes.len() > 20 {
        out.push_str(&format!("  … and {} more\n", changes.len() - 20));
    }
    out
}

impl Error {
    /// A usage error (exit 64).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::Usage {
            message: message.into(),
        }
    }

    /// A file that cannot be read.
    pub fn read(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            action: "read",
            path: path.into(),
            source,
        }
    }

    /// The exit code (see [`crate::exit`]).
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            // A pool the lab does not have is a wrong argument, like a
            // malformed FQDN: both are the usage code.
            Self::Usage { .. } | Self::UnknownPool(_) => exit::USAGE,
            Self::Interrupted { reason, .. } => reason.exit_code(),
            Self::Document(_)
            | Self::PlanRules(_)
            | Self::SavedPlan { .. }
            | Self::StalePlan { .. }
            | Self::NotApproved { .. }
            | Self::Observe { .. }
            | Self::Lab(_)
            | Self::Lock(_)
            | Self::LabMissing { .. }
            | Self::LabExists { .. }
            | Self::Topology(_)
            | Self::TsigKey(_)
            | Self::Resolve { .. }
            | Self::Io { .. }
            | Self::Runtime(_)
            | Self::Journal(_)
            | Self::DnsUnreadable { .. }
            | Self::Internal(_)
            | Self::PlannerBug(_) => exit::FAILURE,
        }
    }

    /// The text for stderr: diagnostics as rendered (with their own
    /// `error[..]` headings), everything else as `error: …`.
    #[must_use]
    pub fn report(&self) -> String {
        let mut text = match self {
            Self::Document(LoadError::Invalid(d)) | Self::PlanRules(d) => d.render(),
            other => format!("error: {other}"),
        };
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text
    }
}

impl From<LabFileError> for Error {
    fn from(e: LabFileError) -> Self {
        Self::Lab(LabError::File(e))
    }
}

impl From<LockError> for Error {
    fn from(e: LockError) -> Self {
        Self::Lab(LabError::Lock(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_64_and_everything_else_is_1() {
        assert_eq!(Error::usage("--resolver x: expected HOST:PORT").exit_code(), 64);
        assert_eq!(Error::Internal("no result".into()).exit_code(), 1);
        assert_eq!(
            Error::LabMissing {
                path: "lab.yaml".into()
            }
            .exit_code(),
            1
        );
        assert!(
            Error::Internal("x".into())
                .report()
                .starts_with("error: internal error (a bug in edgefed")
        );
    }

    #[test]
    fn a_stale_plan_lists_at_most_twenty_changes() {
        let e = Error::StalePlan {
            path: "plan.json".into(),
            before: "aaaa".into(),
            after: "bbbb".into(),
            changes: (0..25).map(|i| format!("/sites/Site{i}/federationRoute")).collect(),
        };
        let text = e.report();
        assert!(text.starts_with("error: the plan plan.json is stale"), "{text}");
        assert_eq!(text.matches("  changed: ").count(), 20);
        assert!(text.contains("  … and 5 more\nMake a new plan"), "{text}");
    }
}
