//! Noticing that a watched file changed: the document, and the lab file
//! (which another process can change, e.g. `edgefed lab fail`). Each file's
//! folder is watched rather than the file itself, so a replacement by
//! rename — git's checkout, an editor's write-to-temp-then-rename, edgefed's
//! own atomic writes — is seen like an in-place write. Events only say
//! "look again": the controller compares contents and debounces.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

/// Which watched file changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Changed {
    /// The desired-state document.
    Document,
    /// The lab file.
    Lab,
}

/// A running watch; stops when dropped.
pub struct FileWatch {
    _watcher: notify::RecommendedWatcher,
}

impl std::fmt::Debug for FileWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileWatch")
    }
}

/// The folder and file name of `path`, the folder made absolute.
fn split(path: &Path) -> std::io::Result<(PathBuf, OsString)> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"))?
        .to_os_string();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir.canonicalize()?, name))
}

/// Watches the folders of `files`, sending which one changed on `tx`
/// (dropped when the controller is busy: it looks again anyway).
///
/// # Errors
/// A message naming the folder that cannot be watched.
pub fn watch(files: &[(Changed, &Path)], tx: mpsc::Sender<Changed>) -> Result<FileWatch, String> {
    let mut targets: Vec<(PathBuf, OsString, Changed)> = Vec::new();
    for (which, path) in files {
        let (dir, name) = split(path).map_err(|e| format!("cannot watch {}: {e}", path.display()))?;
        targets.push((dir, name, *which));
    }
    let matching = targets.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if event.kind.is_access() {
            return;
        }
        for (dir, name, which) in &matching {
            let hit = event
                .paths
                .iter()
                .any(|p| p.file_name() == Some(name.as_os_str()) && p.parent().is_none_or(|d| d == dir));
            if hit {
                let _ = tx.try_send(*which);
            }
        }
    })
    .map_err(|e| format!("cannot start watching files: {e}"))?;
    let dirs: BTreeSet<&PathBuf> = targets.iter().map(|(d, _, _)| d).collect();
    for dir in dirs {
        watcher
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(|e| format!("cannot watch the folder {}: {e}", dir.display()))?;
    }
    Ok(FileWatch { _watcher: watcher })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Waits (bounded) for a `Changed` on `rx`.
    fn next(rx: &mut mpsc::Receiver<Changed>) -> Option<Changed> {
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(c) = rx.try_recv() {
                return Some(c);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    #[test]
    fn a_replacement_by_rename_is_seen() {
        let dir = tempfile::tempdir().expect("dir");
        let doc = dir.path().join("desired.yaml");
        std::fs::write(&doc, "a").expect("write");
        let (tx, mut rx) = mpsc::channel(16);
        let _watch = watch(&[(Changed::Document, &doc)], tx).expect("watch");
        // Another file in the folder: nothing.
        std::fs::write(dir.path().join("other.yaml"), "x").expect("write");
        // Write-to-temp-then-rename, as editors and git do.
        let tmp = dir.path().join(".desired.yaml.swp");
        std::fs::write(&tmp, "b").expect("write");
        std::fs::rename(&tmp, &doc).expect("rename");
        assert_eq!(next(&mut rx), Some(Changed::Document));
    }
}
