//! One module per command: each takes the validated arguments and returns an
//! exit code or a failure.

pub mod lab;
pub mod observe;
pub mod plan;
pub mod reconcile;
pub mod schema;
pub mod topology;
pub mod validate;

use crate::app::Failure;
use crate::document::{self, Desired};

/// Loads a desired-state document, rendering its diagnostics on failure.
pub(crate) fn load_desired(file: &str) -> Result<Desired, Failure> {
    document::load(file).map_err(|e| match e {
        document::LoadError::Invalid(d) => Failure::rendered(d.render()),
        other @ document::LoadError::Read { .. } => Failure::error(other),
    })
}
