//! Plans: the ordered DAG of actions that takes the observed deployment to the
//! desired one. [`plan`] is a pure function of (desired, observed).

mod action;
mod checks;
mod compare;
mod error;
mod kind;
mod order;
#[allow(clippy::module_inception)]
mod plan;
mod planner;
mod pointer;
mod targets;
#[cfg(test)]
pub(crate) mod testing;

pub use action::{Action, Dependency, DnsChange, Operation, Wait};
pub use compare::{ActionDifference, first_difference};
pub use error::{PlanError, PlannerBug};
pub use kind::{KindRow, OperationKind, Phase, System};
pub use plan::{Change, Plan};
pub use planner::plan;
pub use pointer::{escape as pointer_escape, pointer, segments as pointer_segments};
