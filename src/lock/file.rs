//! [`FileLock`]: an exclusive lock on a file (`flock` on Unix, `LockFileEx`
//! on Windows, which also holds on an SMB share). The holder writes who it
//! is into the file; the operating system releases the lock when the holder
//! ends, however it ends.
//!
//! On Windows a locked file cannot be read through another handle, so a
//! waiter there names the holder only as "another edgefed process".
//!
//! The holder's note is written in place, not atomically: the file *is* the
//! lock, and replacing it would leave the waiter locking another file. A
//! waiter that reads a half-written note shows it as text.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Holder, LockError, Progress, Waiting};

/// How often a waiter tries the lock again.
const POLL: Duration = Duration::from_millis(100);

/// A held file lock; released (and its note cleared) when dropped.
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// Takes the lock on `path` (created, with its folder, if missing),
    /// waiting up to `timeout`; `name` is how notes and errors call it
    /// (`the lock file …`, `lab …`), `report` gets the waiting notes.
    ///
    /// # Errors
    /// [`LockError::Held`] naming the holder when the wait times out;
    /// [`LockError::File`] when the file cannot be opened or locked.
    pub fn acquire(
        path: &Path,
        name: &str,
        timeout: Duration,
        report: &mut dyn FnMut(&Progress),
    ) -> Result<Self, LockError> {
        let io = |source| LockError::File {
            path: path.to_path_buf(),
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
            .open(path)
            .map_err(io)?;
        let start = Instant::now();
        let mut waiting = Waiting::new(timeout);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let waited = start.elapsed();
                    let holder = || Holder::describe(&read_note(&file));
                    if waiting.timed_out(waited) {
                        return Err(LockError::Held {
                            lock: name.to_owned(),
                            holder: holder(),
                            waited,
                        });
                    }
                    if let Some(note) = waiting.note(name, &holder(), waited) {
                        report(&note);
                    }
                    std::thread::sleep(POLL);
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        // Say who holds it, for the next one who waits.
        let note = Holder::me().to_json();
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = file.write_all(note.as_bytes());
        let _ = file.flush();
        tracing::info!("took {name}");
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }

    /// The lock file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn read_note(mut file: &File) -> Vec<u8> {
    let mut bytes = Vec::new();
    let _ = file.rewind();
    let _ = file.take(crate::limits::MAX_SMALL_FILE_BYTES).read_to_end(&mut bytes);
    bytes
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_taker_sees_the_holder_and_gets_it_once_released() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("locks/prod.lock");
        let mut notes = Vec::new();
        let held = FileLock::acquire(&path, "the lock file prod.lock", Duration::ZERO, &mut |p| {
            notes.push(p.clone())
        })
        .expect("free");
        let note: Holder = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("holder JSON");
        assert_eq!(note.pid, std::process::id());
        let e = FileLock::acquire(&path, "the lock file prod.lock", Duration::ZERO, &mut |p| {
            notes.push(p.clone())
        })
        .expect_err("held");
        let text = e.to_string();
        assert!(
            text.starts_with(&format!(
                "the lock file prod.lock is locked by edgefed (pid {}",
                note.pid
            )),
            "{text}"
        );
        assert!(text.contains("--lock-timeout"), "{text}");
        assert!(notes.is_empty(), "a zero timeout does not wait: {notes:?}");
        drop(held);
        assert_eq!(
            std::fs::read(&path).expect("read").len(),
            0,
            "the note is cleared on release"
        );
        FileLock::acquire(&path, "the lock file prod.lock", Duration::ZERO, &mut |_| {}).expect("released");
    }

    #[test]
    fn a_folder_is_not_a_lock_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let e = FileLock::acquire(dir.path(), "the lock file", Duration::ZERO, &mut |_| {}).expect_err("folder");
        assert!(
            e.to_string()
                .starts_with(&format!("cannot open or lock the lock file {}", dir.path().display())),
            "{e}"
        );
    }
}
