//! The lab backend: a simulated Lync deployment kept in one YAML file. It is
//! the default backend, the test bed and a place to rehearse
//! disaster-recovery drills, and refuses what Lync refuses.

mod document;
mod file;
mod lock;
pub mod rules;
mod scenario;
mod wire;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

pub use file::{Fault, LabFile, LabFileError};
pub use lock::{LabLock, LockError, lock_path};
pub use scenario::Scenario;

use super::{
    Applied, BackendError, Cause, DnsObservation, DnsSystem, DnsUpdate, LyncSystem, Observation, PortCheck, ProbeSystem,
};
use crate::model::{DnsName, Fqdn, RecordType, ServiceState};
use crate::plan::{Operation, System};

/// The lab: a Lync system, a DNS system and a probe system in one file. The
/// file's state is kept in memory and written back atomically after every
/// operation so that a crash loses nothing applied.
#[derive(Debug)]
pub struct LabBackend {
    path: PathBuf,
    state: Mutex<LabFile>,
    session: Mutex<Session>,
    _lock: Option<LabLock>,
}

/// What one run of the backend remembers: the signature it observed, and
/// whether its topology edits have started.
#[derive(Debug, Default)]
struct Session {
    observed_signature: Option<String>,
    staging: bool,
}

impl LabBackend {
    /// Opens the lab at `path` for reading (plan, observe).
    ///
    /// # Errors
    /// [`LabFileError`] when the file is missing or invalid.
    pub fn open(path: &Path) -> Result<Self, LabFileError> {
        Ok(Self {
            path: path.to_path_buf(),
            state: Mutex::new(LabFile::read(path)?),
            session: Mutex::default(),
            _lock: None,
        })
    }

    /// Opens the lab for a reconcile: takes its lock first (waiting up to
    /// `lock_timeout`), then reads it, so two reconciles never interleave.
    ///
    /// # Errors
    /// [`LabError`] when the lock is held past the timeout or the file is bad.
    pub fn open_locked(path: &Path, lock_timeout: Duration) -> Result<Self, LabError> {
        let lock = LabLock::acquire(path, lock_timeout)?;
        let lab = LabFile::read(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            state: Mutex::new(lab),
            session: Mutex::default(),
            _lock: Some(lock),
        })
    }

    /// A copy of the lab's current state.
    #[must_use]
    pub fn snapshot(&self) -> LabFile {
        self.state
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
}

/// Opening the lab for a reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The lock is held.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The file is missing or invalid.
    #[error(transparent)]
    File(#[from] LabFileError),
}

impl LabBackend {
    /// Waits as long as a fault delays `operation` (a slow cmdlet), then
    /// applies it. The wait is asynchronous: a stopped run can abandon it.
    async fn apply_slowly(&self, operation: &Operation) -> Result<Applied, BackendError> {
        let delay = rules::delay_of(&self.snapshot(), operation);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        self.apply_operation(operation)
    }

    /// Applies any operation of the lab's three systems: its rules, then the
    /// file (and the topology document, for a lab made from one).
    fn apply_operation(&self, operation: &Operation) -> Result<Applied, BackendError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| BackendError::failed("the lab's state was left poisoned by a panic: run again"))?;
        let mut next = state.clone();
        // The first topology edit of a run is made against the topology the
        // run observed (as the PowerShell backend edits the observed document).
        let discarded = if operation.system() == System::TopologyEdit {
            let mut session = self.session.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if session.staging {
                None
            } else {
                session.staging = true;
                let against = session
                    .observed_signature
                    .clone()
                    .unwrap_or_else(|| next.topology.signature.clone());
                rules::start_staging(&mut next, &against)
            }
        } else {
            None
        };
        let mut result = rules::apply(&mut next, operation);
        if let (Ok(applied), Some(w)) = (&mut result, discarded) {
            applied.warnings.push(w);
        }
        if result.is_ok()
            && let Some(doc) = &state.topology_document
        {
            let path = self.path.parent().unwrap_or(Path::new(".")).join(doc);
            document::follow(&path, &state, &next, operation)?;
        }
        // Faults are consumed even when the operation fails: persist either way.
        next.write(&self.path)
            .map_err(|e| BackendError::failed_by(e.to_string(), Cause::LabFile(std::sync::Arc::new(e))))?;
        *state = next;
        result
    }
}

#[async_trait]
impl LyncSystem for LabBackend {
    fn name(&self) -> &'static str {
        "lab"
    }

    async fn observe(&self) -> Result<Observation, BackendError> {
        let lab = self.snapshot();
        self.session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .observed_signature = Some(lab.topology.signature.clone());
        let mut warnings = Vec::new();
        if !lab.staged.is_empty() {
            warnings.push(format!(
                "the lab has {} unpublished topology edit(s) from an earlier run; observation shows the published topology",
                lab.staged.len()
            ));
        }
        Ok(Observation {
            deployment: lab.published(),
            warnings,
            dns_unreadable: None,
        })
    }

    async fn apply(&self, operation: &Operation) -> Result<Applied, BackendError> {
        self.apply_slowly(operation).await
    }
}

/// The lab's simulated external DNS: it holds every record set of its
/// zones, and returns them all.
#[async_trait]
impl DnsSystem for LabBackend {
    async fn observe(&self, _managed: &[(DnsName, RecordType)]) -> Result<DnsObservation, BackendError> {
        Ok(DnsObservation {
            records: self.snapshot().dns,
            warnings: Vec::new(),
            unreadable: None,
        })
    }

    async fn apply(&self, update: &DnsUpdate<'_>) -> Result<Applied, BackendError> {
        self.apply_slowly(update.operation()).await
    }
}

/// The lab's simulated port probes.
#[async_trait]
impl ProbeSystem for LabBackend {
    async fn probe(&self, check: &PortCheck<'_>) -> Result<Applied, BackendError> {
        self.apply_slowly(check.operation()).await
    }
}

/// `lab fail` / `lab restore` named a pool the lab does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pool {pool} is not in the lab; known pools: {}", known.join(", "))]
pub struct UnknownPool {
    /// The pool named.
    pub pool: Fqdn,
    /// The lab's Edge and Front End pools.
    pub known: Vec<String>,
}

/// `lab fail POOL`: every server of the pool stops answering.
///
/// # Errors
/// [`UnknownPool`] listing the known pools when `pool` is not one.
pub fn fail_pool(lab: &mut LabFile, pool: &Fqdn) -> Result<usize, UnknownPool> {
    set_pool(lab, pool, |c| c.reachable = false)
}

/// `lab restore POOL`: every server of the pool answers again, services stopped.
///
/// # Errors
/// [`UnknownPool`] listing the known pools when `pool` is not one.
pub fn restore_pool(lab: &mut LabFile, pool: &Fqdn) -> Result<usize, UnknownPool> {
    set_pool(lab, pool, |c| {
        c.reachable = true;
        c.services = ServiceState::Stopped;
    })
}

fn set_pool(lab: &mut LabFile, pool: &Fqdn, f: impl Fn(&mut crate::model::Computer)) -> Result<usize, UnknownPool> {
    let topo = &mut lab.topology;
    let known: Vec<String> = topo
        .edge_pools
        .keys()
        .chain(topo.front_end_pools.keys())
        .map(ToString::to_string)
        .collect();
    let computers = topo.computers_mut(pool).ok_or_else(|| UnknownPool {
        pool: pool.clone(),
        known,
    })?;
    computers.values_mut().for_each(f);
    Ok(computers.len())
}
