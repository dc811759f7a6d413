//! One reconcile at a time per lab: an exclusive lock on `<lab>.lock`, held
//! from observation to the end of apply.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct LabLock {
    file: File,
}

/// The lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "lab {lab} is locked by {holder}; waited {waited:?} (--lock-timeout) — wait for it to finish, or raise --lock-timeout"
    )]
    Held {
        /// The lab file.
        lab: PathBuf,
        /// Who holds it, as the holder wrote it.
        holder: String,
        /// How long we waited.
        waited: Duration,
    },
    /// The lock file cannot be opened.
    #[error("cannot open lock file {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl LabLock {
    /// Takes the lock of `lab`, waiting up to `timeout`.
    ///
    /// # Errors
    /// [`LockError::Held`] naming the holder when the wait times out.
    pub fn acquire(lab: &Path, timeout: Duration) -> Result<Self, LockError> {
        let path = lock_path(lab);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    if start.elapsed() >= timeout {
                        let mut holder = String::new();
                        let _ = (&file)
                            .take(crate::limits::MAX_SMALL_FILE_BYTES)
                            .read_to_string(&mut holder);
                        let holder = holder.trim();
                        return Err(LockError::Held {
                            lab: lab.to_path_buf(),
                            holder: if holder.is_empty() {
                                "another edgefed process".into()
                            } else {
                                holder.into()
                            },
                            waited: start.elapsed(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        // Say who holds it, for the next one who waits.
        let _ = file.set_len(0);
        let _ = file.rewind();
        let args: Vec<String> = std::env::args().collect();
        let _ = write!(file, "edgefed (pid {}, `{}`)", std::process::id(), args.join(" "));
        let _ = file.flush();
        Ok(Self { file })
    }
}

impl Drop for LabLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// `<lab>.lock` beside the file the lab path leads to: a lab reached
/// through a symbolic link locks the same file as the lab itself.
fn lock_path(lab: &Path) -> PathBuf {
    let lab = crate::fs_util::write_target(lab).unwrap_or_else(|_| lab.to_path_buf());
    let mut name = lab.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(".lock");
    lab.with_file_name(name)
}
