//! The watched document: read and validated at each reconcile; an invalid
//! edit is reported (with its file, line and column) and the last valid
//! document is kept until the file is valid again.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::document::Desired;
use crate::error::Error;

/// What reading the document gave.
#[derive(Debug)]
pub enum Read<'a> {
    /// Valid (new or unchanged).
    Valid(&'a Desired),
    /// Invalid or unreadable; `kept` is the last valid document, if any.
    Invalid {
        /// The located error, as `validate` reports it.
        error: String,
        /// The document still reconciled against.
        kept: Option<&'a Desired>,
        /// Whether this content was already reported as invalid.
        reported_before: bool,
    },
}

/// The document and the last valid version of it.
#[derive(Debug)]
pub struct Document {
    file: String,
    valid: Option<Desired>,
    invalid_reported: Option<[u8; 32]>,
}

impl Document {
    /// A document at `file`, not read yet.
    #[must_use]
    pub fn new(file: &str) -> Self {
        Self {
            file: file.to_string(),
            valid: None,
            invalid_reported: None,
        }
    }

    /// The file as given.
    #[must_use]
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Reads the file again and validates it.
    pub fn read(&mut self) -> Read<'_> {
        match crate::commands::load_desired(&self.file) {
            Ok(desired) => {
                self.invalid_reported = None;
                Read::Valid(self.valid.insert(desired))
            }
            Err(e) => {
                let hash = fingerprint(Path::new(&self.file)).unwrap_or([0; 32]);
                let reported_before = self.invalid_reported == Some(hash);
                self.invalid_reported = Some(hash);
                Read::Invalid {
                    error: located(&e),
                    kept: self.valid.as_ref(),
                    reported_before,
                }
            }
        }
    }
}

fn located(e: &Error) -> String {
    e.report().trim_end().to_string()
}

/// The SHA-256 of a file's content, or `None` when it cannot be read.
#[must_use]
pub fn fingerprint(path: &Path) -> Option<[u8; 32]> {
    let bytes = crate::fs_util::read_capped(path, crate::limits::MAX_DATA_BYTES).ok()?;
    Some(Sha256::digest(&bytes).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = include_str!("../../examples/failback.yaml");

    #[test]
    fn an_invalid_edit_is_reported_once_and_the_last_valid_document_is_kept() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("desired.yaml");
        std::fs::write(&path, VALID).expect("write");
        let mut doc = Document::new(&path.to_string_lossy());
        let first = match doc.read() {
            Read::Valid(d) => d.clone(),
            other => panic!("{other:?}"),
        };
        std::fs::write(&path, "apiVersion: edgefed/v1\nkind: [").expect("write");
        match doc.read() {
            Read::Invalid {
                error,
                kept,
                reported_before,
            } => {
                assert!(error.contains("desired.yaml:2:"), "{error}");
                assert_eq!(kept, Some(&first));
                assert!(!reported_before);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            doc.read(),
            Read::Invalid {
                reported_before: true,
                ..
            }
        ));
        std::fs::write(&path, VALID).expect("write");
        assert!(matches!(doc.read(), Read::Valid(_)));
    }

    #[test]
    fn a_missing_file_without_an_earlier_version_keeps_nothing() {
        let mut doc = Document::new("/nonexistent/edgefed/desired.yaml");
        match doc.read() {
            Read::Invalid { error, kept, .. } => {
                assert!(error.contains("/nonexistent/edgefed/desired.yaml"), "{error}");
                assert!(kept.is_none());
            }
            other => panic!("{other:?}"),
        }
    }
}
