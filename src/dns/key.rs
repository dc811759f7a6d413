//! TSIG keys: read from the `key "name" { algorithm …; secret "…"; };` file
//! that `tsig-keygen` writes, or from the environment; the secret is never
//! shown.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_proto::rr::{Name, TSigner};

use super::keyfile;

/// Environment variable naming a key file (`tsig-keygen` format).
pub const KEY_FILE_ENV: &str = "EDGEFED_TSIG_KEY_FILE";
/// Environment variable holding a key inline as `algorithm:name:base64secret`
/// (or `name:base64secret` for hmac-sha256), like `nsupdate -y`.
pub const KEY_ENV: &str = "EDGEFED_TSIG_KEY";

/// Seconds of clock difference the server accepts (BIND's default fudge).
const FUDGE: u16 = 300;

/// A TSIG HMAC algorithm edgefed can sign with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TsigAlgo {
    /// `hmac-sha256` (what `tsig-keygen` writes by default).
    HmacSha256,
    /// `hmac-sha384`.
    HmacSha384,
    /// `hmac-sha512`.
    HmacSha512,
}

impl TsigAlgo {
    /// Parses the name used in key files (`hmac-sha256`, case-insensitive).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().trim_end_matches('.') {
            "hmac-sha256" => Some(Self::HmacSha256),
            "hmac-sha384" => Some(Self::HmacSha384),
            "hmac-sha512" => Some(Self::HmacSha512),
            _ => None,
        }
    }

    fn hickory(self) -> TsigAlgorithm {
        match self {
            Self::HmacSha256 => TsigAlgorithm::HmacSha256,
            Self::HmacSha384 => TsigAlgorithm::HmacSha384,
            Self::HmacSha512 => TsigAlgorithm::HmacSha512,
        }
    }
}

impl fmt::Display for TsigAlgo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::HmacSha256 => "hmac-sha256",
            Self::HmacSha384 => "hmac-sha384",
            Self::HmacSha512 => "hmac-sha512",
        })
    }
}

/// A TSIG key: name, algorithm and secret. `Debug` and `Display` show the
/// name and algorithm only.
#[derive(Clone, PartialEq, Eq)]
pub struct TsigKey {
    name: String,
    algorithm: TsigAlgo,
    secret: Vec<u8>,
}

/// Why a TSIG key could not be read. Messages never contain the secret, nor
/// any other text of the file or variable (a secret in the wrong place would
/// otherwise be printed): they name the file, the line and what is wrong. An
/// algorithm is named only when it is a known TSIG algorithm name.
#[derive(Debug, thiserror::Error)]
pub enum TsigKeyError {
    /// The file could not be read.
    #[error("cannot read TSIG key file {}: {source}", path.display())]
    Read {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not in `key "name" { algorithm …; secret "…"; };` form.
    #[error("{}:{line}: {message} (expected the `key \"name\" {{ algorithm hmac-sha256; secret \"…\"; }};` form tsig-keygen writes)", path.display())]
    Syntax {
        /// The key file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The key statement has no `secret`.
    #[error("{}:{line}: the key has no `secret \"…\";`", path.display())]
    MissingSecret {
        /// The key file.
        path: PathBuf,
        /// Line of the `key` statement.
        line: usize,
    },
    /// The key statement has no `algorithm`.
    #[error("{}:{line}: the key has no `algorithm …;` (e.g. hmac-sha256)", path.display())]
    MissingAlgorithm {
        /// The key file.
        path: PathBuf,
        /// Line of the `key` statement.
        line: usize,
    },
    /// The secret is not valid base64.
    #[error("{}:{line}: the secret is not valid base64 (it is not shown)", path.display())]
    BadBase64 {
        /// The key file (or the environment variable).
        path: PathBuf,
        /// Line of the `secret`.
        line: usize,
    },
    /// The algorithm is not one edgefed signs with.
    #[error("{}:{line}: {} is not supported; use hmac-sha256, hmac-sha384 or hmac-sha512 (tsig-keygen -a hmac-sha256)", path.display(), algorithm.as_ref().map_or_else(|| "the algorithm (not a TSIG algorithm name, so not shown)".to_string(), |a| format!("algorithm `{a}`")))]
    UnknownAlgorithm {
        /// The key file (or the environment variable).
        path: PathBuf,
        /// Line of the `algorithm`.
        line: usize,
        /// The algorithm, when it is a known TSIG algorithm name (anything
        /// else may be a misplaced secret and is not kept).
        algorithm: Option<&'static str>,
    },
    /// The key name is not a valid DNS name.
    #[error("{}:{line}: the key name is not a valid DNS name (it is not shown)", path.display())]
    BadName {
        /// The key file (or the environment variable).
        path: PathBuf,
        /// Line of the `key` statement.
        line: usize,
    },
    /// The environment variable is malformed.
    #[error("{var} must be `algorithm:name:base64secret` or `name:base64secret` (like nsupdate -y): {message}")]
    Env {
        /// The variable.
        var: &'static str,
        /// What is wrong (never the secret).
        message: String,
    },
}

impl TsigKey {
    /// Builds a key from its parts.
    ///
    /// # Errors
    /// [`TsigKeyError::BadName`] when `name` is not a DNS name.
    pub fn new(name: &str, algorithm: TsigAlgo, secret: Vec<u8>) -> Result<Self, TsigKeyError> {
        Self::build(name, algorithm, secret, Path::new("<key>"), 1)
    }

    fn build(name: &str, algorithm: TsigAlgo, secret: Vec<u8>, path: &Path, line: usize) -> Result<Self, TsigKeyError> {
        let trimmed = name.trim_end_matches('.');
        if trimmed.is_empty() || Name::from_ascii(trimmed).is_err() {
            return Err(TsigKeyError::BadName {
                path: path.to_path_buf(),
                line,
            });
        }
        Ok(Self {
            name: trimmed.to_ascii_lowercase(),
            algorithm,
            secret,
        })
    }

    /// Reads the first `key` statement of a file in the format `tsig-keygen`
    /// writes (comments `//`, `#` and `/* */` allowed).
    ///
    /// # Errors
    /// [`TsigKeyError`] naming the file and line when it cannot be read or parsed.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, TsigKeyError> {
        let path = path.as_ref();
        let text =
            crate::fs_util::read_to_string_capped(path, crate::limits::MAX_SMALL_FILE_BYTES).map_err(|source| {
                TsigKeyError::Read {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
        Self::parse(&text, path)
    }

    /// Parses key-file text; `path` is used in error messages only.
    ///
    /// # Errors
    /// [`TsigKeyError`] naming `path` and the line.
    pub fn parse(text: &str, path: &Path) -> Result<Self, TsigKeyError> {
        let statement = keyfile::parse(text).map_err(|e| TsigKeyError::Syntax {
            path: path.to_path_buf(),
            line: e.line,
            message: e.message,
        })?;
        let (name, name_line) = statement.name;
        let (algorithm_text, algorithm_line) = statement.algorithm.ok_or_else(|| TsigKeyError::MissingAlgorithm {
            path: path.to_path_buf(),
            line: statement.key_line,
        })?;
        let algorithm = TsigAlgo::parse(&algorithm_text).ok_or_else(|| TsigKeyError::UnknownAlgorithm {
            path: path.to_path_buf(),
            line: algorithm_line,
            algorithm: known_algorithm_name(&algorithm_text),
        })?;
        let (secret_text, secret_line) = statement.secret.ok_or_else(|| TsigKeyError::MissingSecret {
            path: path.to_path_buf(),
            line: statement.key_line,
        })?;
        let secret = decode_secret(&secret_text).ok_or_else(|| TsigKeyError::BadBase64 {
            path: path.to_path_buf(),
            line: secret_line,
        })?;
        Self::build(&name, algorithm, secret, path, name_line)
    }

    /// Reads the key from the environment: [`KEY_FILE_ENV`] (a key file) or
    /// [`KEY_ENV`] (`algorithm:name:base64secret`). `Ok(None)` when neither
    /// is set.
    ///
    /// # Errors
    /// [`TsigKeyError`] when the file or the variable is malformed.
    pub fn from_env() -> Result<Option<Self>, TsigKeyError> {
        if let Some(path) = std::env::var_os(KEY_FILE_ENV).filter(|p| !p.is_empty()) {
            return Self::from_file(PathBuf::from(path)).map(Some);
        }
        match std::env::var(KEY_ENV) {
            Ok(v) if !v.is_empty() => Self::from_spec(&v).map(Some),
            Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(TsigKeyError::Env {
                var: KEY_ENV,
                message: "the value is not valid UTF-8".into(),
            }),
        }
    }

    /// Parses `algorithm:name:base64secret` or `name:base64secret`
    /// (hmac-sha256), the `nsupdate -y` form.
    ///
    /// # Errors
    /// [`TsigKeyError`] when a part is missing or invalid; never echoes the secret.
    pub fn from_spec(spec: &str) -> Result<Self, TsigKeyError> {
        let parts: Vec<&str> = spec.trim().split(':').collect();
        let env_path = Path::new(KEY_ENV);
        let (algorithm, name, secret) = match parts.as_slice() {
            [name, secret] => (TsigAlgo::HmacSha256, *name, *secret),
            [alg, name, secret] => {
                let algorithm = TsigAlgo::parse(alg).ok_or_else(|| TsigKeyError::UnknownAlgorithm {
                    path: env_path.to_path_buf(),
                    line: 1,
                    algorithm: known_algorithm_name(alg),
                })?;
                (algorithm, *name, *secret)
            }
            _ => {
                return Err(TsigKeyError::Env {
                    var: KEY_ENV,
                    message: format!("found {} `:`-separated parts", parts.len()),
                });
            }
        };
        let secret = decode_secret(secret).ok_or_else(|| TsigKeyError::BadBase64 {
            path: env_path.to_path_buf(),
            line: 1,
        })?;
        Self::build(name, algorithm, secret, env_path, 1)
    }

    /// The key's name (lower-case, without trailing dot).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The HMAC algorithm.
    #[must_use]
    pub fn algorithm(&self) -> TsigAlgo {
        self.algorithm
    }

    /// The hickory signer for this key.
    pub(crate) fn signer(&self) -> Result<TSigner, String> {
        let name = Name::from_ascii(format!("{}.", self.name)).map_err(|e| e.to_string())?;
        TSigner::new(self.secret.clone(), self.algorithm.hickory(), name, FUDGE).map_err(|e| e.to_string())
    }
}

/// TSIG algorithm names (RFC 8945 and GSS-TSIG), which an error may show:
/// any other text in the algorithm's place may be a misplaced secret.
const TSIG_ALGORITHM_NAMES: [&str; 8] = [
    "hmac-md5.sig-alg.reg.int",
    "hmac-md5",
    "gss-tsig",
    "hmac-sha1",
    "hmac-sha224",
    "hmac-sha256",
    "hmac-sha384",
    "hmac-sha512",
];

/// `text` as a known TSIG algorithm name, or `None`.
fn known_algorithm_name(text: &str) -> Option<&'static str> {
    let lower = text.to_ascii_lowercase();
    let lower = lower.trim_end_matches('.');
    TSIG_ALGORITHM_NAMES.into_iter().find(|n| *n == lower)
}

/// Decodes a base64 secret (standard alphabet, padding optional, spaces ignored).
fn decode_secret(s: &str) -> Option<Vec<u8>> {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    match engine.decode(compact.as_bytes()) {
        Ok(bytes) if !bytes.is_empty() => Some(bytes),
        _ => None,
    }
}

impl fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl fmt::Display for TsigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TSIG key \"{}\" ({})", self.name, self.algorithm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "JJJ+YEfwxtsleKE9G0O95YC3eA9cy1zXNCjBzzUVcF0=";

    fn parse(text: &str) -> Result<TsigKey, TsigKeyError> {
        TsigKey::parse(text, Path::new("/etc/edgefed/key.conf"))
    }

    #[test]
    fn reads_a_key_as_tsig_keygen_writes_it() {
        let text = format!("key \"edgefed-key\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{SECRET}\";\n}};\n");
        let key = parse(&text).expect("valid key");
        assert_eq!(key.name(), "edgefed-key");
        assert_eq!(key.algorithm(), TsigAlgo::HmacSha256);
        assert!(key.signer().is_ok());
    }

    #[test]
    fn accepts_comments_and_other_algorithms() {
        let text = format!(
            "# made by hand\n// another\n/* multi\nline */ key edge.key. {{ algorithm HMAC-SHA512; secret \"{SECRET}\"; }};"
        );
        let key = parse(&text).expect("valid key");
        assert_eq!(key.name(), "edge.key");
        assert_eq!(key.algorithm(), TsigAlgo::HmacSha512);
    }

    #[test]
    fn missing_secret_names_file_and_line() {
        let err = parse("\nkey \"k\" {\n  algorithm hmac-sha256;\n};\n").unwrap_err();
        assert!(matches!(err, TsigKeyError::MissingSecret { line: 2, .. }));
        assert_eq!(
            err.to_string(),
            "/etc/edgefed/key.conf:2: the key has no `secret \"…\";`"
        );
    }

    #[test]
    fn missing_algorithm_names_the_key_line() {
        let err = parse(&format!("\n\nkey \"k\" {{\n secret \"{SECRET}\";\n}};")).unwrap_err();
        assert!(matches!(err, TsigKeyError::MissingAlgorithm { line: 3, .. }), "{err:?}");
        assert!(!err.to_string().contains(SECRET), "{err}");
    }

    #[test]
    fn bad_base64_names_the_secret_line() {
        let err = parse("key \"k\" {\n algorithm hmac-sha256;\n secret \"not*base64!\";\n};").unwrap_err();
        assert!(matches!(err, TsigKeyError::BadBase64 { line: 3, .. }));
        let msg = err.to_string();
        assert!(msg.starts_with("/etc/edgefed/key.conf:3:"), "{msg}");
        assert!(!msg.contains("not*base64"), "secret text leaked: {msg}");
    }

    #[test]
    fn unknown_algorithm_names_it_and_its_line() {
        let err = parse(&format!(
            "key \"k\" {{\n\n algorithm hmac-md5;\n secret \"{SECRET}\";\n}};"
        ))
        .unwrap_err();
        assert!(matches!(err, TsigKeyError::UnknownAlgorithm { line: 3, .. }));
        assert!(err.to_string().contains("`hmac-md5`"));
    }

    #[test]
    fn syntax_errors_have_lines() {
        let err = parse("key \"k\" {\n algorithm hmac-sha256\n secret \"x\";\n};").unwrap_err();
        assert!(matches!(err, TsigKeyError::Syntax { line: 3, .. }), "{err:?}");
        let err = parse("zone \"x\" { };").unwrap_err();
        assert!(matches!(err, TsigKeyError::Syntax { line: 1, .. }));
        let err = parse("key \"k\" {\n algorithm hmac-sha256;\n").unwrap_err();
        assert!(matches!(err, TsigKeyError::Syntax { line: 2, .. }));
    }

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let key = parse(&format!("key k {{ algorithm hmac-sha256; secret \"{SECRET}\"; }};")).expect("valid key");
        let raw = decode_secret(SECRET).expect("base64");
        let shown = format!("{key:?} {key} {key:#?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(!shown.contains("JJJ"), "{shown}");
        assert!(!shown.contains(&format!("{raw:?}")), "{shown}");
        assert!(shown.contains("<redacted>"));
        assert_eq!(key.to_string(), "TSIG key \"k\" (hmac-sha256)");
    }

    #[test]
    fn inline_spec_like_nsupdate_y() {
        let key = TsigKey::from_spec(&format!("hmac-sha384:edge-key:{SECRET}")).expect("spec");
        assert_eq!(key.algorithm(), TsigAlgo::HmacSha384);
        assert_eq!(key.name(), "edge-key");
        let key = TsigKey::from_spec(&format!("edge-key:{SECRET}")).expect("spec");
        assert_eq!(key.algorithm(), TsigAlgo::HmacSha256);
        let err = TsigKey::from_spec("only-a-name").unwrap_err();
        assert!(matches!(err, TsigKeyError::Env { .. }));
        let err = TsigKey::from_spec("edge-key:%%%secret%%%").unwrap_err();
        assert!(!err.to_string().contains("%%%secret"), "{err}");
    }

    /// The pieces malformed key files and variables are spliced from; `S`
    /// stands for the secret.
    const PIECES: [&str; 16] = [
        "key",
        "\"k\"",
        "{",
        "}",
        ";",
        "algorithm",
        "hmac-sha256",
        "secret",
        "S",
        "\"S\"",
        "\n",
        "#",
        "/*",
        "*/",
        "\"",
        "S*!",
    ];

    fn splice(pieces: &[usize], secret: &str) -> String {
        pieces
            .iter()
            .map(|&i| PIECES[i % PIECES.len()].replace('S', secret))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn assert_hidden(err: &TsigKeyError, secret: &str) {
        for shown in [err.to_string(), format!("{err:?}"), format!("{err:#?}")] {
            assert!(!shown.contains(secret), "the secret leaked: {shown}");
            assert!(!shown.contains(&secret[..12]), "part of the secret leaked: {shown}");
        }
    }

    proptest::proptest! {
        /// Random secrets spliced into malformed key files: no error shows them.
        #[test]
        fn no_key_file_error_shows_the_secret(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 16..64),
            pieces in proptest::collection::vec(0usize..64, 0..14),
            template in 0usize..9,
        ) {
            let secret = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let text = match template {
                0 => secret.clone(),
                1 => format!("{secret}\n"),
                2 => format!("key {secret} {{ algorithm hmac-sha256; }};"),
                3 => format!("key \"k\" {{ {secret}; }};"),
                4 => format!("key \"k\" {{ algorithm {secret}; secret \"{secret}\"; }};"),
                5 => format!("key \"k\" {{ algorithm hmac-sha256; secret {secret} }};"),
                6 => format!("key \"k\" {{ algorithm hmac-sha256; secret \"{secret}*!\"; }};"),
                7 => format!("key \"k\" {{ algorithm hmac-sha256; secret \"{secret}"),
                _ => splice(&pieces, &secret),
            };
            if let Err(err) = parse(&text) {
                assert_hidden(&err, &secret);
            }
        }

        /// Random secrets spliced into malformed `EDGEFED_TSIG_KEY` values.
        #[test]
        fn no_key_variable_error_shows_the_secret(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 16..64),
            parts in proptest::collection::vec(0usize..7, 1..5),
        ) {
            let secret = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let spec = parts
                .iter()
                .map(|p| match p {
                    0 => secret.clone(),
                    1 => format!("{secret}%"),
                    2 => "hmac-sha256".to_string(),
                    3 => "k".to_string(),
                    4 => String::new(),
                    5 => format!("x{secret}.y"),
                    _ => "not a name".to_string(),
                })
                .collect::<Vec<_>>()
                .join(":");
            if let Err(err) = TsigKey::from_spec(&spec) {
                assert_hidden(&err, &secret);
            }
        }
    }

    #[test]
    fn a_file_that_holds_only_the_secret_is_refused_without_showing_it() {
        let err = parse(&format!("{SECRET}\n")).unwrap_err();
        assert!(matches!(err, TsigKeyError::Syntax { line: 1, .. }), "{err:?}");
        assert_hidden(&err, SECRET);
        assert!(
            err.to_string().contains("expected the file to start with `key`"),
            "{err}"
        );
        let err = parse(&format!("key k {{ algorithm {SECRET}; secret \"{SECRET}\"; }};")).unwrap_err();
        assert_hidden(&err, SECRET);
        let err = parse(&format!("key k {{ algorithm hmac-md5; secret \"{SECRET}\"; }};")).unwrap_err();
        assert!(
            err.to_string().contains("`hmac-md5`"),
            "a known algorithm name is shown: {err}"
        );
    }
}
