//! The lab backend: a simulated Lync deployment kept in one YAML file. It is
//! the default backend, the test bed and a place to rehearse
//! disaster-recovery drills, and refuses what Lync refuses.

mod comments;
mod document;
mod file;
mod lock;
mod oplog;
mod replay;
pub mod rules;
mod scenario;
mod wire;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

pub use file::{Fault, LabFile, LabFileError};
pub use lock::{LabLock, LockError, lock_path};
pub use oplog::{LogEntry, LogSummary, OperationLog, Outcome};
pub use scenario::Scenario;

use super::{
    Applied, BackendError, Cause, DnsObservation, DnsSystem, DnsUpdate, LyncSystem, Observation, PortCheck, ProbeSystem,
};
use crate::model::{DnsName, Fqdn, RecordType, ServiceState};
use crate::plan::{Operation, System};

/// The lab: a Lync system, a DNS system and a probe system in one file.
/// The lab's state is kept in memory; each operation is made durable by
/// appending it to the operation log (synced) before it is answered, and
/// the file is written back once, when the backend is finished (or dropped)
/// and when the log is full, so a run costs the operations plus one write
/// of the lab, and a crash loses nothing applied (the next read replays the
/// log).
#[derive(Debug)]
pub struct LabBackend {
    path: PathBuf,
    state: Mutex<Store>,
    session: Mutex<Session>,
    _lock: Option<LabLock>,
}

/// The lab's state and where it stands on disk.
#[derive(Debug)]
struct Store {
    lab: LabFile,
    /// The operation log, opened at the first operation.
    appender: Option<oplog::Appender>,
    /// The sequence the lab file on disk includes.
    written: u64,
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
    /// [`LabFileError`] when the file or its operation log is missing or invalid.
    pub fn open(path: &Path) -> Result<Self, LabFileError> {
        Ok(Self {
            path: path.to_path_buf(),
            state: Mutex::new(Self::load(path)?),
            session: Mutex::default(),
            _lock: None,
        })
    }

    /// Opens the lab for a reconcile: takes its lock first (waiting up to
    /// `lock_timeout`), then reads it, so two reconciles never interleave.
    /// A temporary file a killed writer left is removed, and an old file's
    /// `log:` is moved into the operation log. While it waits for the lock,
    /// `report` gets the waiting notes.
    ///
    /// # Errors
    /// [`LabError`] when the lock is held past the timeout or the file is bad.
    pub fn open_locked(
        path: &Path,
        lock_timeout: Duration,
        report: &mut dyn FnMut(&crate::lock::Progress),
    ) -> Result<Self, LabError> {
        let lock = LabLock::acquire_noting(path, lock_timeout, report)?;
        crate::fs_util::remove_leftover_temporary(path);
        let mut store = Self::load(path)?;
        if let Some(doc) = &store.lab.topology_document {
            crate::fs_util::remove_leftover_temporary(&path.parent().unwrap_or(Path::new(".")).join(doc));
        }
        // Opened now: a last line a killed run left cut short is cut off.
        store.appender = Some(oplog::Appender::open(&OperationLog::of(path))?);
        if !store.lab.legacy_log.is_empty() {
            store.lab.write_file(path)?;
            store.lab.legacy_log.clear();
            store.written = store.lab.sequence;
            let sequence = store.written;
            if let Some(appender) = store.appender.as_mut() {
                appender.checkpoint(sequence).map_err(|source| LabFileError::Io {
                    action: "write",
                    path: appender.path().to_path_buf(),
                    source,
                })?;
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            state: Mutex::new(store),
            session: Mutex::default(),
            _lock: Some(lock),
        })
    }

    fn load(path: &Path) -> Result<Store, LabFileError> {
        let mut lab = LabFile::read_file(path)?;
        let written = lab.sequence;
        replay::replay(path, &mut lab)?;
        Ok(Store {
            written: written.min(lab.sequence),
            lab,
            appender: None,
        })
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A copy of the lab's current state.
    #[must_use]
    pub fn snapshot(&self) -> LabFile {
        self.store().lab.clone()
    }

    /// Writes the lab file back when operations were applied since it was
    /// last written, so it includes them all; rotates the operation log
    /// when it is full. Called when the backend is dropped; call it to see
    /// the error.
    ///
    /// # Errors
    /// [`LabFileError`] when the file or the log cannot be written; nothing
    /// is lost (the log holds every operation and the next read replays it).
    pub fn finish(&self) -> Result<(), LabFileError> {
        let mut store = self.store();
        checkpoint(&self.path, &mut store)
    }
}

/// Writes the lab file at its current sequence (when behind), records the
/// checkpoint in the log, and rotates a full log. Only a backend that
/// writes (it holds the lock, or applied operations) writes the file: a
/// read that replayed a killed run's operations leaves that to the next
/// reconcile.
fn checkpoint(path: &Path, store: &mut Store) -> Result<(), LabFileError> {
    let Some(appender) = store.appender.as_ref() else {
        return Ok(());
    };
    // The operations reach the disk before the lab file that includes them.
    appender.sync().map_err(|source| LabFileError::Io {
        action: "sync",
        path: appender.path().to_path_buf(),
        source,
    })?;
    if store.lab.sequence > store.written {
        store.lab.write_file(path)?;
        store.written = store.lab.sequence;
        if let Some(appender) = store.appender.as_mut() {
            appender.checkpoint(store.written).map_err(|source| LabFileError::Io {
                action: "write",
                path: appender.path().to_path_buf(),
                source,
            })?;
        }
    }
    if store.appender.as_ref().is_some_and(oplog::Appender::full) {
        store.appender = None;
        store.appender = Some(OperationLog::of(path).rotate_at(store.written)?);
    }
    Ok(())
}

impl Drop for LabBackend {
    fn drop(&mut self) {
        if let Err(e) = self.finish() {
            tracing::warn!("{e}; the lab's operation log holds every operation applied, and the next run replays it");
        }
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
        let delay = rules::delay_of(&self.store().lab, operation);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        self.apply_operation(operation)
    }

    /// Applies any operation of the lab's three systems: its rules, then
    /// (for a lab made from one) the topology document, then the operation
    /// log, which makes it count.
    ///
    /// The document is written before the log line: a crash between them
    /// leaves the document ahead of the lab, and the next run, which plans
    /// the operation again, makes the same edit again (each sets a value,
    /// so making it twice changes nothing more).
    fn apply_operation(&self, operation: &Operation) -> Result<Applied, BackendError> {
        let mut store = self.store();
        // The first topology edit of a run is made against the topology the
        // run observed (as the PowerShell backend edits the observed document).
        let stage_against = if operation.system() == System::TopologyEdit {
            let mut session = self.session.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if session.staging {
                None
            } else {
                session.staging = true;
                Some(
                    session
                        .observed_signature
                        .clone()
                        .unwrap_or_else(|| store.lab.topology.signature.clone()),
                )
            }
        } else {
            None
        };
        let document = store
            .lab
            .topology_document
            .as_ref()
            .filter(|_| document::touches(operation))
            .map(|doc| self.path.parent().unwrap_or(Path::new(".")).join(doc));
        let (mut result, outcome) = if let Some(doc) = document {
            // Worked on a copy: a document that cannot follow leaves the lab as it was.
            let mut next = store.lab.clone();
            let discarded = stage_against
                .as_deref()
                .and_then(|a| rules::start_staging(&mut next, a));
            let (result, outcome) = rules::apply_traced(&mut next, operation);
            if result.is_ok() {
                document::follow(&doc, &store.lab, &next, operation)?;
            }
            store.lab = next;
            (with_warning(result, discarded), outcome)
        } else {
            let discarded = stage_against
                .as_deref()
                .and_then(|a| rules::start_staging(&mut store.lab, a));
            let (result, outcome) = rules::apply_traced(&mut store.lab, operation);
            (with_warning(result, discarded), outcome)
        };
        let entry = LogEntry {
            sequence: store.lab.sequence,
            operation: operation.clone(),
            stage_against,
            outcome,
        };
        if let Err(e) = self.log(&mut store, &entry) {
            // Not durable: go back to what is.
            match Self::load(&self.path) {
                Ok(fresh) => *store = fresh,
                Err(reload) => tracing::warn!("{reload}"),
            }
            return Err(BackendError::failed_by(
                e.to_string(),
                Cause::LabFile(std::sync::Arc::new(e)),
            ));
        }
        if store.appender.as_ref().is_some_and(oplog::Appender::full)
            && let Err(e) = checkpoint(&self.path, &mut store)
            && let Ok(applied) = result.as_mut()
        {
            applied.warnings.push(format!(
                "{e}; the lab's operation log holds every operation applied, and the next run replays it"
            ));
        }
        result
    }

    fn log(&self, store: &mut Store, entry: &LogEntry) -> Result<(), LabFileError> {
        if store.appender.is_none() {
            store.appender = Some(oplog::Appender::open(&OperationLog::of(&self.path))?);
        }
        let appender = store.appender.as_mut().ok_or_else(|| LabFileError::Io {
            action: "write",
            path: self.path.clone(),
            source: std::io::Error::other("the operation log is not open"),
        })?;
        appender.append(entry).map_err(|source| LabFileError::Io {
            action: "write",
            path: appender.path().to_path_buf(),
            source,
        })
    }
}

fn with_warning(mut result: Result<Applied, BackendError>, warning: Option<String>) -> Result<Applied, BackendError> {
    if let (Ok(applied), Some(w)) = (&mut result, warning) {
        applied.warnings.push(w);
    }
    result
}

#[async_trait]
impl LyncSystem for LabBackend {
    fn name(&self) -> &'static str {
        "lab"
    }

    async fn observe(&self) -> Result<Observation, BackendError> {
        // Read in place: the observation is the one copy made of the lab.
        let store = self.store();
        let lab = &store.lab;
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
            records: self.store().lab.dns.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Fqdn {
        Fqdn::parse(s).expect("fqdn")
    }

    fn start(computer: &str) -> Operation {
        Operation::StartServices {
            pool: f("edgepool1.contoso.com"),
            computer: f(computer),
        }
    }

    fn lab_in(dir: &tempfile::TempDir) -> PathBuf {
        let path = dir.path().join("lab.yaml");
        std::fs::write(&path, Scenario::XmppFailedOver.text()).expect("write lab");
        path
    }

    #[tokio::test]
    async fn operations_are_logged_at_once_and_the_file_is_written_once_at_the_end() {
        let dir = tempfile::tempdir().expect("dir");
        let path = lab_in(&dir);
        let lab = LabBackend::open_locked(&path, Duration::ZERO, &mut |_| {}).expect("open");
        LyncSystem::apply(&lab, &start("edgeserver1a.contoso.com"))
            .await
            .expect("start");
        LyncSystem::apply(&lab, &start("edgeserver1b.contoso.com"))
            .await
            .expect("start");
        // Durable in the log, not yet in the file.
        assert_eq!(LabFile::read_file(&path).expect("file").sequence, 0);
        assert_eq!(OperationLog::of(&path).applied().expect("log").len(), 2);
        let read = LabFile::read(&path).expect("read replays");
        assert_eq!(read, lab.snapshot());
        lab.finish().expect("finish");
        assert_eq!(LabFile::read_file(&path).expect("file").sequence, 2);
        assert_eq!(LabFile::read_file(&path).expect("file"), lab.snapshot());
    }

    #[tokio::test]
    async fn a_backend_that_never_finishes_loses_nothing_and_the_next_one_does_not_apply_twice() {
        let dir = tempfile::tempdir().expect("dir");
        let path = lab_in(&dir);
        let mut with_fault = LabFile::read(&path).expect("lab");
        with_fault
            .faults
            .push(Fault::failing("start-services", "simulated").on("edgeserver1b.contoso.com"));
        with_fault.write(&path).expect("write");
        let lab = LabBackend::open_locked(&path, Duration::ZERO, &mut |_| {}).expect("open");
        LyncSystem::apply(&lab, &start("edgeserver1a.contoso.com"))
            .await
            .expect("start");
        let refused = LyncSystem::apply(&lab, &start("edgeserver1b.contoso.com")).await;
        assert!(refused.is_err(), "the fault");
        let expected = lab.snapshot();
        // A crash: no finish, no drop (the lock is released with the process).
        std::mem::forget(lab);
        let again = LabBackend::open(&path).expect("reopen");
        assert_eq!(
            again.snapshot(),
            expected,
            "replayed: applied once, the fault consumed once"
        );
        assert!(again.snapshot().faults.is_empty());
        drop(again);
        assert_eq!(
            LabFile::read_file(&path).expect("file").sequence,
            0,
            "a read-only backend leaves the file to the next reconcile"
        );
    }

    #[tokio::test]
    async fn a_full_log_is_rotated_once_the_file_includes_it() {
        let dir = tempfile::tempdir().expect("dir");
        let path = lab_in(&dir);
        let lab = LabBackend::open_locked(&path, Duration::ZERO, &mut |_| {}).expect("open");
        if let Some(a) = lab.store().appender.as_mut() {
            a.set_limit(1);
        }
        LyncSystem::apply(&lab, &start("edgeserver1a.contoso.com"))
            .await
            .expect("start");
        // Full after one line: the file was written, the log rotated.
        assert_eq!(LabFile::read_file(&path).expect("file").sequence, 1);
        let log = OperationLog::of(&path);
        assert!(log.rotated_path().exists());
        let tail = log.tail().expect("tail");
        assert_eq!(
            (tail.checkpoint, tail.entries.len()),
            (1, 0),
            "the new log starts at a checkpoint"
        );
        LyncSystem::apply(&lab, &start("edgeserver1b.contoso.com"))
            .await
            .expect("start");
        lab.finish().expect("finish");
        let summary = log.summary(10).expect("summary");
        assert_eq!(summary.operations, 2, "{summary:?}");
        assert_eq!(LabFile::read(&path).expect("read"), lab.snapshot());
    }
}
