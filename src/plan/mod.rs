//! Plans: the ordered DAG of actions that takes the observed deployment to the
//! desired one.

mod action;

pub use action::{Action, Operation};
