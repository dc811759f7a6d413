//! The seam between edgefed and the systems it drives.
//!
//! Three systems, one trait each: the Lync system ([`LyncSystem`]: observes
//! the deployment, applies [`System::Lync`] and [`System::TopologyEdit`]
//! operations), external DNS ([`DnsSystem`]: observes the managed record
//! sets, applies [`System::Dns`] operations) and port probes
//! ([`ProbeSystem`]). The lab is all three; the PowerShell backend is a Lync
//! system; [`crate::dns::DnsBackend`] (RFC 2136) and [`ManualDns`] (plain
//! queries, every change a manual step) are DNS systems; [`RealProbes`] is
//! a probe system. [`Combined`] puts one of each together as the single
//! [`Backend`] the executor sees, routing each operation with [`route`].
//!
//! [`System::Lync`]: crate::plan::System::Lync
//! [`System::TopologyEdit`]: crate::plan::System::TopologyEdit
//! [`System::Dns`]: crate::plan::System::Dns

pub mod combined;
mod dns_server;
mod error;
pub mod lab;
mod manual_dns;
mod probes;
mod route;

use async_trait::async_trait;

pub use combined::Combined;
pub use error::{BackendError, Cause, ErrorKind};
pub use manual_dns::{ManualDns, manual_record};
pub use probes::RealProbes;
pub use route::{DnsUpdate, PortCheck, Routed, route};

use crate::model::{Deployment, DnsName, DnsRecord, RecordType};
use crate::plan::Operation;

/// What a backend saw.
#[derive(Clone, Debug, Default)]
pub struct Observation {
    /// The deployment.
    pub deployment: Deployment,
    /// Things worth telling the user that are not errors.
    pub warnings: Vec<String>,
    /// Why external DNS could not be read, when it could not: the
    /// deployment's `dns` is then empty, not known to be absent.
    pub dns_unreadable: Option<String>,
}

/// What a DNS system saw of the managed record sets.
#[derive(Clone, Debug, Default)]
pub struct DnsObservation {
    /// The record sets that exist.
    pub records: Vec<DnsRecord>,
    /// Things worth telling the user that are not errors.
    pub warnings: Vec<String>,
    /// Why the record sets could not be read, when they could not.
    pub unreadable: Option<String>,
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

/// Lync itself: the deployment's topology, services, sites and pools.
///
/// `apply` is given only operations [`route`] sends to Lync and must be
/// idempotent: applying an operation whose effect already holds succeeds and
/// changes nothing, so an interrupted reconcile can simply be run again.
#[async_trait]
pub trait LyncSystem: Send + Sync {
    /// The name shown in plans (`lab`, `powershell`).
    fn name(&self) -> &'static str;

    /// Reads the current deployment (its `dns` is the DNS system's).
    ///
    /// # Errors
    /// [`BackendError`] when the state cannot be read.
    async fn observe(&self) -> Result<Observation, BackendError>;

    /// Applies one operation.
    ///
    /// # Errors
    /// [`BackendError::Refused`] with the system's message when it refuses.
    async fn apply(&self, operation: &Operation) -> Result<Applied, BackendError>;

    /// Applies several independent operations (ready at the same time)
    /// together. Systems with a costly round trip override this; the
    /// default applies them one after another.
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

    /// Whether ready operations should go to [`LyncSystem::apply_batch`]
    /// in calls of several instead of one by one.
    fn batches(&self) -> bool {
        false
    }

    /// For a batching system: how operations ready at the same time are
    /// split into calls to [`LyncSystem::apply_batch`] that may run side
    /// by side (at most [`LyncSystem::max_concurrency`] at once), as lists
    /// of indices into `operations`. The default is one call for all.
    fn calls(&self, operations: &[Operation]) -> Vec<Vec<usize>> {
        vec![(0..operations.len()).collect()]
    }
}

/// External DNS: the federation SRV and host A/AAAA record sets.
#[async_trait]
pub trait DnsSystem: Send + Sync {
    /// Reads the record sets in `managed` (those that exist).
    ///
    /// # Errors
    /// [`BackendError`] when they cannot be read.
    async fn observe(&self, managed: &[(DnsName, RecordType)]) -> Result<DnsObservation, BackendError>;

    /// Makes one record change, guarded by the record set it expects.
    ///
    /// # Errors
    /// [`BackendError::Stale`] when the record set changed since it was
    /// observed, [`BackendError::ManualStep`] when changes are made by hand,
    /// else as the system reports.
    async fn apply(&self, update: &DnsUpdate<'_>) -> Result<Applied, BackendError>;
}

/// Federation port probes.
#[async_trait]
pub trait ProbeSystem: Send + Sync {
    /// Probes one port.
    ///
    /// # Errors
    /// [`BackendError::Refused`] when the port does not answer as it should,
    /// [`BackendError::Timeout`] / [`BackendError::Unreachable`] when nothing
    /// answers.
    async fn probe(&self, check: &PortCheck<'_>) -> Result<Applied, BackendError>;
}

/// What the executor drives: every operation of a plan, whichever system
/// performs it (see [`Combined`]).
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

    /// Applies several independent operations (ready at the same time)
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

    /// Whether the executor should hand ready operations to
    /// [`Backend::apply_batch`] in calls of several instead of one by one.
    fn batches(&self) -> bool {
        false
    }

    /// For a batching backend: how operations ready at the same time are
    /// split into calls to [`Backend::apply_batch`] that may run side by
    /// side (at most [`Backend::max_concurrency`] at once), as lists of
    /// indices into `operations`. The default is one call for all.
    fn calls(&self, operations: &[Operation]) -> Vec<Vec<usize>> {
        vec![(0..operations.len()).collect()]
    }
}
