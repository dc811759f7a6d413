//! Reading a saved plan (`plan --out`) for `reconcile --plan` and `show`:
//! the same checks, so a corrupt or hand-edited file gets the same errors.

use std::path::Path;

use crate::error::{Error, SavedPlanProblem};
use crate::plan::{Action, Plan};
use crate::render::json::PlanReadError;
use crate::render::{PLAN_FORMAT_VERSION, PlanDocument};

/// The plan file at `path` and the plan it carries, checked for what can be
/// checked without a backend: its format version, that its actions'
/// `dependsOn` and `waitsFor` agree, ids 1..n in order, and dependencies that
/// point backwards.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read, [`Error::SavedPlan`] naming
/// what is wrong (with line and column for a JSON error).
pub(crate) fn read(path: &Path) -> Result<(PlanDocument, Plan), Error> {
    let saved_plan = |problem| Error::SavedPlan {
        path: path.to_path_buf(),
        problem,
    };
    let text =
        crate::fs_util::read_to_string_capped(path, crate::limits::MAX_DATA_BYTES).map_err(|e| Error::read(path, e))?;
    let doc = PlanDocument::from_json(&text).map_err(|e| {
        saved_plan(match e {
            PlanReadError::NotAPlan(source) => SavedPlanProblem::NotAPlan {
                line: source.line(),
                column: source.column(),
                source,
            },
            PlanReadError::Version(found) => SavedPlanProblem::FormatVersion {
                found,
                expected: PLAN_FORMAT_VERSION,
            },
        })
    })?;
    let plan = doc
        .plan()
        .map_err(|message| saved_plan(SavedPlanProblem::Inconsistent { message }))?;
    check_ids(&plan.actions).map_err(saved_plan)?;
    Ok((doc, plan))
}

/// A saved plan's ids must be 1..n in order, and dependencies point backwards.
fn check_ids(actions: &[Action]) -> Result<(), SavedPlanProblem> {
    for (i, a) in actions.iter().enumerate() {
        if a.id != i + 1 {
            return Err(SavedPlanProblem::Ids {
                count: actions.len(),
                found: a.id,
                position: i + 1,
            });
        }
        if let Some(on) = a.depends_on_ids().find(|d| *d >= a.id || *d == 0) {
            return Err(SavedPlanProblem::Dependency { action: a.id, on });
        }
    }
    Ok(())
}
