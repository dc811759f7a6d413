//! Why planning failed: the user's document breaks a plan-time rule, or
//! edgefed's planner has a bug. The two are kept apart so a bug is never
//! reported as if the user had to fix their document.

use crate::diagnostic::Diagnostics;

/// A plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The document breaks plan-time rules (P1–P8, and V3 / V5 together with
    /// what the deployment has): the user fixes the document.
    #[error("the document breaks {} plan-time rule(s)", .0.diagnostics.len())]
    Rules(Diagnostics),
    /// The planner produced something it must never produce: a bug in
    /// edgefed, not in the document.
    #[error(transparent)]
    Bug(#[from] PlannerBug),
}

impl PlanError {
    /// The message for stderr: the rendered diagnostics, or the bug report.
    #[must_use]
    pub fn render(&self) -> String {
        match self {
            Self::Rules(d) => d.render(),
            Self::Bug(bug) => format!("error: {bug}\n"),
        }
    }
}

/// A bug in edgefed's planner, naming the actions involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlannerBug {
    /// The actions' dependencies form a cycle, so no order can apply them.
    #[error(
        "bug in edgefed's planner: the plan has a dependency cycle through {}; nothing was changed — please report it with the document and the output of `edgefed observe`",
        .actions.join("; ")
    )]
    Cycle {
        /// The actions left in the cycle (and those waiting on it).
        actions: Vec<String>,
    },
    /// An action waits on a milestone that no action provides, though the
    /// planner's own rules say one must.
    #[error(
        "bug in edgefed's planner: {action} waits for {milestone}, which no action of the plan provides; nothing was changed — please report it with the document and the output of `edgefed observe`"
    )]
    MissingMilestone {
        /// The waiting action.
        action: String,
        /// The milestone it waits for.
        milestone: String,
    },
}
