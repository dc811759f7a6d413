//! Reading a desired-state document: bounded, never panicking, every error
//! located.

use std::io::Read as _;

use sha2::{Digest, Sha256};

use serde_saphyr::Spanned;

use super::file::DocumentFile;
use super::shape::{self, Node};
use super::{Desired, Source, validate};
use crate::diagnostic::{Diagnostic, Diagnostics, Position};

/// Documents larger than this are refused before parsing (16 MiB: a
/// thousand-site document is well under 1 MiB).
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// Why a document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read desired-state document {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The document is invalid.
    #[error(transparent)]
    Invalid(#[from] Diagnostics),
}

/// Reads `file` (`-` for standard input), then [`parse`]s it.
///
/// # Errors
/// [`LoadError::Read`] when the file cannot be read, [`LoadError::Invalid`]
/// with every problem found.
pub fn load(file: &str) -> Result<Desired, LoadError> {
    let mut bytes = Vec::new();
    let read = if file == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_DOCUMENT_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(MAX_DOCUMENT_BYTES as u64 + 1).read_to_end(&mut bytes))
    };
    read.map_err(|source| LoadError::Read {
        file: file.to_string(),
        source,
    })?;
    Ok(parse(file, &bytes)?)
}

/// Parses and validates a document (rules V1–V7).
///
/// # Errors
/// [`Diagnostics`] with every problem found, each located.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Desired, Diagnostics> {
    let fail = |text: String, d: Diagnostic| Diagnostics {
        file: file.to_string(),
        text,
        diagnostics: vec![d],
    };
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(fail(
            String::new(),
            Diagnostic::plain(format!("the document is larger than {MAX_DOCUMENT_BYTES} bytes"))
                .help("a desired-state document of a thousand sites is well under 1 MiB: is this the right file?"),
        ));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.strip_prefix('\u{feff}').unwrap_or(t).to_string(),
        Err(e) => {
            let before = &bytes[..e.valid_up_to()];
            let line = before.iter().filter(|b| **b == b'\n').count() + 1;
            let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            return Err(fail(
                String::from_utf8_lossy(bytes).into_owned(),
                Diagnostic::plain("the document is not valid UTF-8")
                    .at(Some(Position::at(saturate(line), saturate(column))))
                    .help("save the file as UTF-8"),
            ));
        }
    };
    let sha256 = hex::encode(Sha256::digest(bytes));
    let file_doc: DocumentFile = match serde_saphyr::from_str_with_options(&text, super::budget::options(text.len())) {
        Ok(doc) => doc,
        Err(e) => {
            // Read again as a located tree: a syntax error, a duplicate key or
            // a budget stops there too, as nothing after it can be read
            // reliably; otherwise the walk finds every unknown key and wrong
            // type at once, and the deserializer's own error is added when
            // the walk did not see it.
            let Ok(tree) =
                serde_saphyr::from_str_with_options::<Spanned<Node>>(&text, super::budget::options(text.len()))
            else {
                return Err(fail(text.clone(), syntax_diagnostic(&e)));
            };
            let mut diagnostics = shape::check(&tree, &shape::document_schema());
            let first = syntax_diagnostic(&e);
            if first
                .position
                .is_none_or(|p| !diagnostics.iter().any(|d| d.position == Some(p)))
            {
                diagnostics.push(first);
                diagnostics.sort_by_key(|d| d.position);
            }
            return Err(Diagnostics {
                file: file.to_string(),
                text,
                diagnostics,
            });
        }
    };
    let source = Source {
        file: file.to_string(),
        sha256,
        text,
    };
    validate::validate(file_doc, source)
}

/// Turns a parser error into a located diagnostic with a hint.
fn syntax_diagnostic(error: &serde_saphyr::Error) -> Diagnostic {
    let message = yaml_message(error);
    let position = error
        .location()
        .filter(|l| l.line() > 0)
        .map(|l| Position::at(saturate(l.line()), saturate(l.column())));
    let help = match innermost(error) {
        serde_saphyr::Error::SerdeUnknownField { .. } => {
            "remove the key or fix its spelling; `edgefed schema` prints every key the document accepts"
        }
        serde_saphyr::Error::DuplicateMappingKey { .. } => {
            "each key may appear once in a mapping: remove one of them, or merge their settings into one"
        }
        serde_saphyr::Error::Budget { .. }
        | serde_saphyr::Error::AliasReplayLimitExceeded { .. }
        | serde_saphyr::Error::AliasExpansionLimitExceeded { .. }
        | serde_saphyr::Error::AliasReplayStackDepthExceeded { .. }
        | serde_saphyr::Error::AliasReplayCounterOverflow { .. } => {
            "the document nests or aliases more than any desired-state document needs"
        }
        _ => "see the document format in README.md, or `edgefed schema`",
    };
    Diagnostic::plain(message).at(position).help(help)
}

/// A YAML parser error in the document's own words, without its position
/// (shown separately) and without the parser's option names.
pub(crate) fn yaml_message(error: &serde_saphyr::Error) -> String {
    use serde_saphyr::MessageFormatter as _;
    let inner = innermost(error);
    if let serde_saphyr::Error::DuplicateMappingKey { key, .. } = inner {
        return match key {
            Some(key) => format!("key `{}` appears twice in this mapping", key.escape_debug()),
            None => "a key appears twice in this mapping".into(),
        };
    }
    // The library's own formatter gives the message without the location,
    // which the diagnostic shows separately.
    let message = serde_saphyr::DefaultMessageFormatter.format_message(inner);
    message.lines().next().unwrap_or_default().to_string()
}

/// The error itself, without the wrappers that add a snippet or an alias's
/// origin.
fn innermost(error: &serde_saphyr::Error) -> &serde_saphyr::Error {
    let mut inner = error;
    while let serde_saphyr::Error::WithSnippet { error, .. } | serde_saphyr::Error::AliasError { error, .. } = inner {
        inner = error;
    }
    inner
}

fn saturate<T: TryInto<u32>>(n: T) -> u32 {
    n.try_into().unwrap_or(u32::MAX)
}
