//! Plans: the ordered DAG of actions that takes the observed deployment to the
//! desired one. [`plan`] is a pure function of (desired, observed).

mod action;
mod checks;
mod order;
#[allow(clippy::module_inception)]
mod plan;
mod planner;

pub use action::{Action, DnsChange, Operation};
pub use plan::{Change, Plan};
pub use planner::plan;
