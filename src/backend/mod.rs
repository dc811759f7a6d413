//! The seam between edgefed and the systems it drives.
//!
//! A [`Backend`] observes a deployment and applies one [`Operation`] at a
//! time. The lab is the first implementation; the PowerShell backend drives a
//! real Lync deployment; DNS is its own system combined with either.

pub mod combined;
pub mod lab;

use async_trait::async_trait;

use crate::model::Deployment;
use crate::plan::Operation;

/// What a backend saw.
#[derive(Clone, Debug, Default)]
pub struct Observation {
    /// The deployment.
    pub deployment: Deployment,
    /// Things worth telling the user that are not errors.
    pub warnings: Vec<String>,
}

/// What applying one operation produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// A one-line detail worth showing (e.g. where a backup was written,
    /// what a port probe answered).
    pub detail: Option<String>,
    /// Warnings the system gave (e.g. Lync's "more than one Federated Edge
    /// Server" on publish).
    pub warnings: Vec<String>,
}

/// Why a backend could not observe or apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The system refused the operation; `message` is its own wording.
    #[error("{message}")]
    Refused {
        /// The system's message.
        message: String,
    },
    /// The backend itself failed (file, process, network), so the system's
    /// state is unknown.
    #[error("{message}")]
    Failed {
        /// What went wrong and what to check.
        message: String,
    },
}

impl BackendError {
    /// The error for an operation whose backend task was lost (it panicked
    /// or was cancelled, or returned no result for it): whether the system
    /// changed is unknown.
    #[must_use]
    pub fn lost(message: impl Into<String>) -> Self {
        Self::Failed {
            message: message.into(),
        }
    }
}

/// A system edgefed can observe and change.
///
/// `apply` must be idempotent: applying an operation whose effect already
/// holds succeeds and changes nothing, so a reconcile that is interrupted can
/// simply be run again.
#[async_trait]
pub trait Backend: Send + Sync {
    /// The name shown in plans (`lab`, `powershell`).
    fn name(&self) -> &'static str;

    /// Reads the current state.
    ///
    /// # Errors
    /// [`BackendError`] when the state cannot be read.
    async fn observe(&self) -> Result<Observation, BackendError>;

    /// Applies one operation.
    ///
    /// # Errors
    /// [`BackendError::Refused`] with the system's message when it refuses.
    async fn apply(&self, operation: &Operation) -> Result<Applied, BackendError>;

    /// Applies several independent operations (one wave of the plan's DAG)
    /// together. Backends with a costly round trip override this; the default
    /// applies them one after another.
    async fn apply_batch(&self, operations: &[Operation]) -> Vec<Result<Applied, BackendError>> {
        let mut results = Vec::with_capacity(operations.len());
        for op in operations {
            results.push(self.apply(op).await);
        }
        results
    }

    /// How many operations may be in flight at once. `1` keeps the system's
    /// log in the plan's printed order.
    fn max_concurrency(&self) -> usize {
        1
    }

    /// Whether the executor should hand each wave of ready operations to
    /// [`Backend::apply_batch`] in one call instead of one by one.
    fn batches(&self) -> bool {
        false
    }
}
