//! One reconcile at a time per lab: an exclusive lock on `<lab>.lock`, held
//! from observation to the end of apply (see [`crate::lock::FileLock`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::lock::FileLock;
pub use crate::lock::LockError;

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct LabLock {
    _file: FileLock,
}

impl LabLock {
    /// Takes the lock of `lab`, waiting up to `timeout` (saying so on the
    /// log at once and every ten seconds).
    ///
    /// # Errors
    /// [`LockError::Held`] naming the holder when the wait times out.
    pub fn acquire(lab: &Path, timeout: Duration) -> Result<Self, LockError> {
        let name = format!("lab {}", lab.display());
        FileLock::acquire(&lock_path(lab), &name, timeout, &mut |note| tracing::warn!("{note}"))
            .map(|file| Self { _file: file })
    }
}

/// `<lab>.lock` beside the file the lab path leads to: a lab reached
/// through a symbolic link locks the same file as the lab itself.
#[must_use]
pub fn lock_path(lab: &Path) -> PathBuf {
    let lab = crate::fs_util::write_target(lab).unwrap_or_else(|_| lab.to_path_buf());
    let mut name = lab.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(".lock");
    lab.with_file_name(name)
}
