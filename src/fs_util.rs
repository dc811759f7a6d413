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

/// Writes `bytes` to `path` atomically: a temporary file in the same folder
/// (created with its parents when missing), synced, renamed over `path`, then
/// the folder synced. A reader sees the old content or the new, never a part.
///
/// # Errors
/// [`WriteError`] when any step fails; `path` is then unchanged.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let io = |source| WriteError {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
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
