//! The apply report (`reconcile --output json`): the plan document, with the
//! same fields in the same order, followed by `apply` (per action: status,
//! duration, detail or message) and, after a complete run, `verify` (what a
//! second observation still finds different).

use schemars::JsonSchema;
use serde::Serialize;

use super::json::PlanDocument;
use crate::executor::{ApplyReport, Outcome};
use crate::plan::Change;

/// The whole report.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReportDocument {
    /// The plan that was applied, as `plan --output json` prints it.
    #[serde(flatten)]
    pub plan: PlanDocument,
    /// How the run went.
    pub apply: ApplyWire,
    /// After a run whose actions all succeeded: what still differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyWire>,
}

/// How the run went.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplyWire {
    /// Every action succeeded.
    pub complete: bool,
    /// How many succeeded.
    pub applied: usize,
    /// How many failed.
    pub failed: usize,
    /// How many were not attempted (a dependency did not succeed).
    pub not_attempted: usize,
    /// Each action's outcome, in plan order.
    pub results: Vec<ResultWire>,
    /// Set when a signal stopped the run early.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<InterruptedWire>,
}

/// How a run stopped by a signal ended.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InterruptedWire {
    /// The signal (`SIGINT`, `SIGTERM`; `Ctrl-C`, `Ctrl-Break` on Windows).
    pub signal: String,
    /// Actions abandoned while in flight: their effect is unknown.
    pub abandoned: Vec<usize>,
    /// Whether they were abandoned because the grace period ran out.
    pub grace_expired: bool,
}

/// One action's outcome.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResultWire {
    /// The action's id.
    pub id: usize,
    /// `applied`, `failed` or `not-attempted`.
    pub status: Status,
    /// How long it took (applied, failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// What the system said (applied), or null.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Option<String>>,
    /// Warnings the system gave (applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
    /// Why it failed (failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The actions that did not succeed before it (not attempted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<Vec<usize>>,
}

/// An action's status.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// It was applied.
    Applied,
    /// The system refused it or failed.
    Failed,
    /// Not attempted.
    NotAttempted,
}

/// What still differs after a complete run.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyWire {
    /// Nothing differs.
    pub in_sync: bool,
    /// The differences, as the plan names them.
    pub changes: Vec<Change>,
    /// The actions a new plan would still take, in one line each.
    pub actions: Vec<String>,
}

impl ResultWire {
    fn new(id: usize, outcome: &Outcome) -> Self {
        let ms = |d: &std::time::Duration| Some(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut r = Self {
            id,
            status: Status::Applied,
            duration_ms: None,
            detail: None,
            warnings: None,
            message: None,
            blocked_by: None,
        };
        match outcome {
            Outcome::Applied { applied, duration } => {
                r.duration_ms = ms(duration);
                r.detail = Some(applied.detail.clone());
                r.warnings = Some(applied.warnings.clone());
            }
            Outcome::Failed { error, duration } => {
                r.status = Status::Failed;
                r.duration_ms = ms(duration);
                r.message = Some(error.to_string());
            }
            Outcome::NotAttempted { blocked_by } => {
                r.status = Status::NotAttempted;
                r.blocked_by = Some(blocked_by.clone());
            }
        }
        r
    }
}

impl ReportDocument {
    /// The report of `report` for the plan `plan`.
    #[must_use]
    pub fn new(plan: PlanDocument, report: &ApplyReport, verify: Option<VerifyWire>) -> Self {
        Self {
            plan,
            apply: ApplyWire {
                complete: report.complete() && report.stopped.is_none(),
                applied: report.applied().len(),
                failed: report.failed().len(),
                not_attempted: report.not_attempted().len(),
                results: report.outcomes.iter().map(|(id, o)| ResultWire::new(*id, o)).collect(),
                interrupted: report.stopped.as_ref().map(|s| InterruptedWire {
                    signal: s.reason.name().to_string(),
                    abandoned: s.abandoned.clone(),
                    grace_expired: s.grace_expired,
                }),
            },
            verify,
        }
    }

    /// Pretty JSON with a final newline.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}
