//! Verify after apply: once every action of a reconcile succeeded, observe
//! again through the same backend (the same managed DNS records) and plan
//! again. Whatever still differs makes the run a failure, so "Applied N of
//! N" is never followed by a `reconcile --check` that finds drift.

use std::fmt::Write as _;

use crate::backend::Backend;
use crate::document::Desired;
use crate::error::Error;
use crate::plan::{Change, Plan, PlanError};

/// What a second observation found still different from the document.
#[derive(Debug, Default)]
pub(crate) struct Remaining {
    /// The differences, as the plan names them.
    pub changes: Vec<Change>,
    /// The actions a new plan would still take (for drift the changes do not show).
    pub actions: Vec<String>,
}

impl Remaining {
    /// Nothing remains: the deployment matches the document.
    pub fn in_sync(&self) -> bool {
        self.changes.is_empty() && self.actions.is_empty()
    }

    /// The failure, for the human output.
    pub fn human(&self) -> String {
        let mut out =
            String::from("Verification failed: the deployment still differs from the document after the run:\n");
        for c in &self.changes {
            let _ = writeln!(out, "  {}: {} → {}", c.path, c.observed, c.desired);
        }
        if !self.actions.is_empty() {
            let _ = writeln!(out, "  a new plan would still:");
            for a in &self.actions {
                let _ = writeln!(out, "    {a}");
            }
        }
        out.push_str(
            "A write reported success but did not take effect. Observe the deployment (`edgefed observe`) \
             and run `edgefed reconcile` again.\n",
        );
        out
    }

    /// The verification, for the json output.
    pub fn wire(&self) -> crate::render::report::VerifyWire {
        crate::render::report::VerifyWire {
            in_sync: self.in_sync(),
            changes: self.changes.clone(),
            actions: self.actions.clone(),
        }
    }
}

/// Observes again through `backend` and compares with `desired`.
///
/// # Errors
/// When the backend cannot observe, or the document cannot be planned.
pub(crate) fn after_apply(
    rt: &tokio::runtime::Runtime,
    backend: &dyn Backend,
    desired: &Desired,
) -> Result<Remaining, Error> {
    let observation = rt.block_on(backend.observe()).map_err(|source| Error::Observe {
        backend: backend.name(),
        source,
    })?;
    let planning = tracing::info_span!("plan").entered();
    let plan: Plan = crate::plan::plan(desired, &observation.deployment).map_err(|e| match e {
        PlanError::Rules(d) => Error::PlanRules(d),
        PlanError::Bug(bug) => Error::PlannerBug(bug),
    })?;
    drop(planning);
    Ok(Remaining {
        changes: plan.changes,
        actions: plan.actions.iter().map(|a| a.operation.to_string()).collect(),
    })
}
