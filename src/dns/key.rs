//! TSIG keys: read from the `key "name" { algorithm …; secret "…"; };` file
//! that `tsig-keygen` writes, or from the environment; the secret is never
//! shown.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_proto::rr::{Name, TSigner};

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

/// Why a TSIG key could not be read. Messages never contain the secret.
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
    #[error("{}:{line}: key \"{name}\" has no `secret \"…\";`", path.display())]
    MissingSecret {
        /// The key file.
        path: PathBuf,
        /// Line of the `key` statement.
        line: usize,
        /// The key's name.
        name: String,
    },
    /// The key statement has no `algorithm`.
    #[error("{}:{line}: key \"{name}\" has no `algorithm …;` (e.g. hmac-sha256)", path.display())]
    MissingAlgorithm {
        /// The key file.
        path: PathBuf,
        /// Line of the `key` statement.
        line: usize,
        /// The key's name.
        name: String,
    },
    /// The secret is not valid base64.
    #[error("{}:{line}: the secret of key \"{name}\" is not valid base64", path.display())]
    BadBase64 {
        /// The key file (or the environment variable).
        path: PathBuf,
        /// Line of the `secret`.
        line: usize,
        /// The key's name.
        name: String,
    },
    /// The algorithm is not one edgefed signs with.
    #[error("{}:{line}: algorithm `{algorithm}` is not supported; use hmac-sha256, hmac-sha384 or hmac-sha512 (tsig-keygen -a hmac-sha256)", path.display())]
    UnknownAlgorithm {
        /// The key file (or the environment variable).
        path: PathBuf,
        /// Line of the `algorithm`.
        line: usize,
        /// The algorithm as written.
        algorithm: String,
    },
    /// The key name is not a valid DNS name.
    #[error("{}:{line}: key name `{name}` is not a valid DNS name", path.display())]
    BadName {
        /// The key file (or the environment variable).
        path: PathBuf,
        /// Line of the `key` statement.
        line: usize,
        /// The name as written.
        name: String,
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
                name: name.to_string(),
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
        let text = std::fs::read_to_string(path).map_err(|source| TsigKeyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses key-file text; `path` is used in error messages only.
    ///
    /// # Errors
    /// [`TsigKeyError`] naming `path` and the line.
    pub fn parse(text: &str, path: &Path) -> Result<Self, TsigKeyError> {
        crate::dns::keyfile::parse_key_file(text, path)
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
                    algorithm: (*alg).to_string(),
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
            name: name.to_string(),
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

    pub(crate) fn from_parts_checked(
        name: &str,
        algorithm: TsigAlgo,
        secret: Vec<u8>,
        path: &Path,
        line: usize,
    ) -> Result<Self, TsigKeyError> {
        Self::build(name, algorithm, secret, path, line)
    }
}

/// Decodes a base64 secret (standard alphabet, padding optional, spaces ignored).
pub(crate) fn decode_secret(s: &str) -> Option<Vec<u8>> {
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
