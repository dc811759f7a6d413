//! File helpers shared by every command that writes a file (the lab, saved
//! plans, the schema, edited topologies) or reads one: every read is bounded
//! by a cap (see [`crate::limits`]), so `/dev/zero` or a runaway file fails fast instead of filling
//! memory.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

/// Reads at most `cap` bytes of `path`.
///
/// # Errors
/// The I/O error; one of kind `InvalidData` saying the file is larger than
/// `cap` bytes when it is (callers name the file).
pub fn read_capped(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(too_large(cap));
    }
    Ok(bytes)
}

/// Reads at most `cap` bytes of `path` as UTF-8 text.
///
/// # Errors
/// As [`read_capped`]; `InvalidData` also when the text is not UTF-8.
pub fn read_to_string_capped(path: &Path, cap: u64) -> std::io::Result<String> {
    String::from_utf8(read_capped(path, cap)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "the file is not UTF-8 text"))
}

/// The error for input larger than its cap.
#[must_use]
pub fn too_large(cap: u64) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "it is larger than {} MiB ({cap} bytes), the most edgefed reads of it; is this the right file?",
            cap / (1024 * 1024)
        ),
    )
}

/// Writing a file failed; the file at `path` is unchanged.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source} (the file is unchanged; check that its folder is writable)", path.display())]
pub struct WriteError {
    /// The file that was to be written.
    pub path: PathBuf,
    /// The I/O error of the step that failed.
    #[source]
    pub source: std::io::Error,
}

/// The file a write to `path` lands in: `path` itself, or — when `path` is
/// a symbolic link — the file the link points at (followed through every
/// link, even to a file that does not exist yet), so the link stays a link.
///
/// # Errors
/// When a link cannot be read.
pub fn write_target(path: &Path) -> std::io::Result<PathBuf> {
    let mut target = path.to_path_buf();
    // A bounded walk: a loop of links ends here instead of spinning.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&target) {
            Ok(m) if m.file_type().is_symlink() => {
                let next = std::fs::read_link(&target)?;
                target = match target.parent() {
                    Some(dir) if next.is_relative() => dir.join(next),
                    _ => next,
                };
            }
            _ => return Ok(target),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

/// The temporary file [`write_atomically`] writes `target` (a file, not a
/// link) through: `.<name>.edgefed-tmp` in the same folder.
fn temporary_path(target: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(target.file_name().unwrap_or_default());
    name.push(".edgefed-tmp");
    target.with_file_name(name)
}

/// Removes the temporary file a writer of `path` killed mid-write left, if
/// any. Only call it while holding what keeps other writers out (the lab's
/// lock).
pub fn remove_leftover_temporary(path: &Path) {
    if let Ok(target) = write_target(path) {
        let _ = std::fs::remove_file(temporary_path(&target));
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder
/// (created with its parents when missing), synced, renamed over the file,
/// then the folder synced. A reader sees the old content or the new, never a
/// part. A symbolic link is followed (the file it points at is written and
/// the link stays); an existing file keeps its permissions, and a read-only
/// one is refused rather than replaced. The temporary file has a fixed name
/// (`.<name>.edgefed-tmp`), so a writer killed mid-write leaves at most one,
/// which the next write reuses.
///
/// # Errors
/// [`WriteError`] when any step fails; the file is then unchanged.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let io = |source| WriteError {
        path: path.to_path_buf(),
        source,
    };
    let target = write_target(path).map_err(io)?;
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let existing = std::fs::metadata(&target).ok();
    if existing.as_ref().is_some_and(|m| m.permissions().readonly()) {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "the file is read-only: make it writable, or write the result elsewhere",
        )));
    }
    let tmp = temporary_path(&target);
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        if let Some(m) = &existing {
            std::fs::set_permissions(&tmp, m.permissions())?;
        }
        std::fs::rename(&tmp, &target)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    if let Ok(d) = std::fs::File::open(&dir) {
        // Directory fsync makes the rename durable; not all filesystems allow it.
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_takes_up_to_the_cap_and_refuses_a_byte_more() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").expect("write");
        assert_eq!(read_capped(&path, 5).expect("at the cap"), b"12345");
        let e = read_capped(&path, 4).expect_err("over the cap");
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        assert!(read_to_string_capped(&path, 5).is_ok());
        std::fs::write(&path, [0xff, 0xfe]).expect("write");
        assert!(read_to_string_capped(&path, 5).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_file_is_written_through_the_link_keeping_its_mode() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let real = dir.path().join("real.yaml");
        std::fs::write(&real, b"old").expect("write");
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let link = dir.path().join("link.yaml");
        std::os::unix::fs::symlink("real.yaml", &link).expect("symlink");
        write_atomically(&link, b"new").expect("write through the link");
        assert!(std::fs::symlink_metadata(&link).expect("link").file_type().is_symlink());
        assert_eq!(std::fs::read(&real).expect("read"), b"new");
        let mode = std::fs::metadata(&real).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "the mode is kept");
        assert_eq!(write_target(&link).expect("target"), real);
    }

    #[cfg(unix)]
    #[test]
    fn a_read_only_file_is_refused_and_left_alone() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("lab.yaml");
        std::fs::write(&path, b"keep").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).expect("chmod");
        let e = write_atomically(&path, b"lost").expect_err("read-only");
        assert!(e.to_string().contains("read-only"), "{e}");
        assert_eq!(std::fs::read(&path).expect("read"), b"keep");
    }

    #[test]
    fn a_temporary_file_left_by_a_killed_writer_is_reused_not_multiplied() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("lab.yaml");
        // What a writer killed before its rename leaves behind.
        std::fs::write(dir.path().join(".lab.yaml.edgefed-tmp"), b"half").expect("leftover");
        write_atomically(&path, b"whole").expect("write");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("lab.yaml")]);
        assert_eq!(std::fs::read(&path).expect("read"), b"whole");
    }

    #[test]
    fn writes_creating_the_folder_and_replaces_whole() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("a/b/file.txt");
        write_atomically(&path, b"first, longer content").expect("write");
        write_atomically(&path, b"second").expect("rewrite");
        assert_eq!(std::fs::read(&path).expect("read"), b"second");
        let left: Vec<_> = std::fs::read_dir(path.parent().expect("parent"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(
            left,
            vec![std::ffi::OsString::from("file.txt")],
            "no temporary file left behind"
        );
    }

    #[test]
    fn a_failed_write_names_the_file_and_leaves_it_unchanged() {
        let dir = tempfile::tempdir().expect("temp dir");
        // The "folder" is a file: the temporary file cannot be created there.
        let blocker = dir.path().join("blocker");
        std::fs::write(&blocker, b"keep").expect("write");
        let path = blocker.join("file.txt");
        let err = write_atomically(&path, b"x").unwrap_err();
        assert_eq!(err.path, path);
        assert!(
            err.to_string()
                .starts_with(&format!("cannot write {}: ", path.display())),
            "{err}"
        );
        assert_eq!(std::fs::read(&blocker).expect("read"), b"keep");
    }
}
