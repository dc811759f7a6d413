//! Locks that keep two runs from changing one deployment at once.
//!
//! A reconcile (and `reconcile --plan`) holds its lock from observation to
//! the end of the run; `plan`, `reconcile --check` and `observe` only read
//! and take none, so they never wait behind a running reconcile.
//!
//! - A **file lock** ([`FileLock`]): `--lock PATH` or `--lock file:PATH`, an
//!   exclusive lock on a file the user chooses (a share the runners all
//!   mount works). Without `--lock` the PowerShell backend locks
//!   [`DEFAULT_DEPLOYMENT_LOCK`]; the lab always locks `<lab>.lock`, which
//!   guards the lab file itself.
//! - An **etcd lock** ([`EtcdLock`]): `--lock etcd://HOST:PORT/KEY`, a key
//!   under an etcd lease kept alive while the run lasts, for runners on
//!   several machines.
//!
//! Whoever holds a lock writes a [`Holder`] note (host, pid, user, command,
//! since when) into it; a waiter prints it when it starts waiting and
//! every ten seconds after ([`Progress`]), and names it when it gives up
//! after `--lock-timeout`.

mod etcd;
mod file;
mod holder;
mod spec;
mod wait;

use std::path::PathBuf;
use std::time::Duration;

pub use etcd::EtcdLock;
pub use file::FileLock;
pub use holder::Holder;
pub use spec::{DEFAULT_ETCD_PORT, DEFAULT_ETCD_TTL, EtcdSpec, LockSpec, SpecError};
pub use wait::{NOTE_EVERY, Progress, Waiting};

/// The PowerShell backend's lock without `--lock`, relative to the working
/// folder (beside the default lab and backups).
pub const DEFAULT_DEPLOYMENT_LOCK: &str = ".edgefed/deployment.lock";

/// A held lock, released when dropped.
#[derive(Debug)]
pub enum Lock {
    /// A file lock.
    File(FileLock),
    /// An etcd lease lock.
    Etcd(EtcdLock),
}

impl Lock {
    /// Takes the lock `spec` names, waiting up to `timeout` and giving
    /// `report` the waiting notes; `call_timeout` bounds each call to etcd.
    ///
    /// # Errors
    /// [`LockError::Held`] naming the holder when the wait times out; others
    /// when the lock cannot be reached.
    pub fn acquire(
        spec: &LockSpec,
        timeout: Duration,
        call_timeout: Duration,
        report: &mut dyn FnMut(&Progress),
    ) -> Result<Self, LockError> {
        match spec {
            LockSpec::File(path) => FileLock::acquire(path, &spec.to_string(), timeout, report).map(Self::File),
            LockSpec::Etcd(etcd) => EtcdLock::acquire(etcd, timeout, call_timeout, report).map(Self::Etcd),
        }
    }
}

/// A lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds it.
    #[error(
        "{lock} is locked by {holder}; waited {} (--lock-timeout). Wait for that run to finish, or raise --lock-timeout; a holder that was killed releases it by itself (a file lock at once, an etcd lock when its lease expires)",
        humantime::format_duration(Duration::from_secs(waited.as_secs()))
    )]
    Held {
        /// The lock (`the lock file …`, `the etcd lock …`, `lab …`).
        lock: String,
        /// Who holds it, as the holder wrote it.
        holder: String,
        /// How long we waited.
        waited: Duration,
    },
    /// The lock file cannot be opened or locked.
    #[error("cannot open or lock the lock file {}: {source}; check the path and its permissions (--lock)", path.display())]
    File {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// etcd cannot be reached or refused.
    #[error("cannot take {lock}: {source}; check that etcd runs there (--lock)")]
    Etcd {
        /// The lock.
        lock: String,
        /// etcd's error.
        #[source]
        source: crate::etcd::EtcdError,
    },
    /// Our own lease expired while we waited.
    #[error("lost the lease while waiting for {lock}: {why}")]
    Lost {
        /// The lock.
        lock: String,
        /// Why.
        why: String,
    },
    /// The lock's runtime cannot start.
    #[error("cannot start the etcd lock's runtime: {source}")]
    Runtime {
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
