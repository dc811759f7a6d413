//! One reconcile at a time per lab: an exclusive lock on `<lab>.lock`, held
//! from observation to the end of apply (see [`crate::lock::FileLock`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::lock::LockError;
use crate::lock::{FileLock, Progress};

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct LabLock {
    _file: FileLock,
}

impl LabLock {
    /// Takes the lock of `lab`, waiting up to `timeout` without a word: for
    /// callers that hold it briefly or expect it free.
    ///
    /// # Errors
    /// [`LockError::Held`] naming the holder when the wait times out.
    pub fn acquire(lab: &Path, timeout: Duration) -> Result<Self, LockError> {
        Self::acquire_noting(lab, timeout, &mut |_| {})
    }

    /// Takes the lock of `lab`, waiting up to `timeout` and giving `report`
    /// the waiting notes (who holds it, for how long): at once and every
    /// [`crate::lock::NOTE_EVERY`].
    ///
    /// # Errors
    /// [`LockError::Held`] naming the holder when the wait times out.
    pub fn acquire_noting(lab: &Path, timeout: Duration, report: &mut dyn FnMut(&Progress)) -> Result<Self, LockError> {
        let name = format!("lab {}", lab.display());
        FileLock::acquire(&lock_path(lab), &name, timeout, report).map(|file| Self { _file: file })
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
