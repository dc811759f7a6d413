//! What a TLS probe checks of the certificate a federation port presents.
//!
//! On a single-IP Edge the Access Edge client port is also 5061/TLS, so a
//! TLS answer alone proves nothing about federation. The probe therefore
//! checks that the certificate covers every federation host DNS points at
//! the port (its SANs, as a federating peer matches them), and, given a CA
//! file, that its chain validates to that CA. Without a CA file the names
//! are still checked and the answer says that the chain was not.
//!
//! The checks are rustls's own halves of its web-PKI server verifier:
//! [`verify_server_name`] for each host and
//! [`verify_server_cert_signed_by_trust_anchor`] for the chain; they run
//! inside the handshake, which is aborted when one fails.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::error::sanitise;

/// The CA certificates a chain must validate to (`--probe-ca-file`).
#[derive(Clone, Debug)]
pub struct TrustAnchors {
    path: PathBuf,
    roots: Arc<RootCertStore>,
}

impl PartialEq for TrustAnchors {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path && self.roots.roots == other.roots.roots
    }
}

impl Eq for TrustAnchors {}

/// Why a CA file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CaFileError {
    /// The file cannot be read.
    #[error("{}: cannot read the CA file: {source}; give the path of a PEM file with the CA certificate", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid PEM.
    #[error("{}: not a valid PEM file: {detail}; give the CA certificate as PEM (-----BEGIN CERTIFICATE-----)", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What the PEM reader said.
        detail: String,
    },
    /// A certificate in it cannot serve as a trust anchor.
    #[error("{}: certificate {index} cannot be used as a CA: {detail}", path.display())]
    Certificate {
        /// The file.
        path: PathBuf,
        /// Its position in the file, from 1.
        index: usize,
        /// What rustls said.
        detail: String,
    },
    /// No certificate in it.
    #[error("{}: no CERTIFICATE in the file; give the CA certificate as PEM (-----BEGIN CERTIFICATE-----)", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

impl TrustAnchors {
    /// Reads every `CERTIFICATE` of a PEM file (other sections are skipped).
    ///
    /// # Errors
    /// [`CaFileError`] naming the file: unreadable, not PEM, a certificate
    /// that cannot be a trust anchor, or no certificate at all.
    pub fn from_pem_file(path: &Path) -> Result<Self, CaFileError> {
        let bytes = crate::fs_util::read_capped(path, crate::limits::MAX_SMALL_FILE_BYTES).map_err(|source| {
            CaFileError::Read {
                path: path.to_path_buf(),
                source,
            }
        })?;
        let mut roots = RootCertStore::empty();
        for (i, der) in CertificateDer::pem_slice_iter(&bytes).enumerate() {
            let der = der.map_err(|e| CaFileError::Pem {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
            roots.add(der).map_err(|e| CaFileError::Certificate {
                path: path.to_path_buf(),
                index: i + 1,
                detail: e.to_string(),
            })?;
        }
        if roots.is_empty() {
            return Err(CaFileError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            roots: Arc::new(roots),
        })
    }

    /// The file the CA certificates came from.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What the certificate a port presents must satisfy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertificateCheck {
    /// The host names it must cover (the federation hosts DNS points at the
    /// port). Empty: no name is checked, and the answer says so.
    pub hosts: Vec<String>,
    /// The CA its chain must validate to; `None`: the chain is not validated.
    pub trust: Option<TrustAnchors>,
}

impl CertificateCheck {
    /// Whether anything about the certificate is to be checked.
    #[must_use]
    pub fn checks_something(&self) -> bool {
        !self.hosts.is_empty() || self.trust.is_some()
    }
}

/// Who a certificate says it is: its subject and subject alternative names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The subject, e.g. `CN=sip.contoso.com`.
    pub subject: String,
    /// The SANs, e.g. `DNS:sip.contoso.com`, `IP:192.0.2.10`.
    pub sans: Vec<String>,
}

impl Identity {
    /// Reads the identity of a DER certificate (sanitised for output).
    #[must_use]
    pub fn of(der: &[u8]) -> Self {
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
            return Self {
                subject: "(a certificate that could not be parsed)".into(),
                sans: vec![],
            };
        };
        let subject = sanitise(cert.subject().to_string().as_bytes(), 256);
        let sans = match cert.subject_alternative_name() {
            Ok(Some(ext)) => ext.value.general_names.iter().map(general_name).collect(),
            Ok(None) => vec![],
            Err(_) => vec!["(unreadable subjectAltName extension)".into()],
        };
        Self { subject, sans }
    }
}

fn general_name(n: &x509_parser::extensions::GeneralName<'_>) -> String {
    use x509_parser::extensions::GeneralName as G;
    match n {
        G::DNSName(d) => format!("DNS:{}", sanitise(d.as_bytes(), 128)),
        G::IPAddress(b) => match <[u8; 4]>::try_from(*b)
            .map(IpAddr::from)
            .or_else(|_| <[u8; 16]>::try_from(*b).map(IpAddr::from))
        {
            Ok(ip) => format!("IP:{ip}"),
            Err(_) => format!("IP:{}", hex::encode(b)),
        },
        G::RFC822Name(m) => format!("email:{}", sanitise(m.as_bytes(), 128)),
        G::URI(u) => format!("URI:{}", sanitise(u.as_bytes(), 128)),
        other => sanitise(format!("{other:?}").as_bytes(), 128),
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "subject {}, SANs ", self.subject)?;
        if self.sans.is_empty() {
            f.write_str("(none)")
        } else {
            f.write_str(&self.sans.join(" "))
        }
    }
}

/// Whether the chain validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Chain {
    /// No CA file was given.
    NotValidated,
    /// It validates to the CA file.
    Valid(PathBuf),
    /// It does not; why.
    Invalid(PathBuf, String),
}

/// What the probe found of the certificate the server presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// Who the certificate says it is.
    pub identity: Identity,
    /// The hosts that were checked (all covered when `uncovered` is empty).
    pub hosts: Vec<String>,
    /// The hosts it does not cover.
    pub uncovered: Vec<String>,
    /// The chain.
    pub chain: Chain,
}

impl Verdict {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.uncovered.is_empty() && !matches!(self.chain, Chain::Invalid(..))
    }

    /// E.g. `certificate subject CN=sip.contoso.com, SANs DNS:sip.contoso.com;
    /// covers sip.contoso.com; chain not validated (no --probe-ca-file)`.
    pub fn describe(&self) -> String {
        let names = if self.hosts.is_empty() {
            "no federation host to check (the document manages no DNS host for this port)".to_string()
        } else {
            format!("covers {}", self.hosts.join(", "))
        };
        let chain = match &self.chain {
            Chain::NotValidated => "chain not validated (no --probe-ca-file)".to_string(),
            Chain::Valid(path) => format!("chain validates to the CA in {}", path.display()),
            Chain::Invalid(path, why) => format!("chain does not validate to the CA in {}: {why}", path.display()),
        };
        format!("certificate {}; {names}; {chain}", self.identity)
    }
}

/// The verifier of a probe: checks the certificate as [`CertificateCheck`]
/// says and records what it found; the handshake signatures are checked as
/// usual, so a peer that cannot complete a real handshake fails.
#[derive(Debug)]
pub(crate) struct Inspector {
    algorithms: WebPkiSupportedAlgorithms,
    check: CertificateCheck,
    verdict: Mutex<Option<Verdict>>,
}

impl Inspector {
    pub fn new(algorithms: WebPkiSupportedAlgorithms, check: CertificateCheck) -> Self {
        Self {
            algorithms,
            check,
            verdict: Mutex::new(None),
        }
    }

    /// What was found, once the server presented its certificate.
    pub fn verdict(&self) -> Option<Verdict> {
        self.verdict.lock().ok().and_then(|g| g.clone())
    }

    fn judge(&self, end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>], now: UnixTime) -> Verdict {
        let identity = Identity::of(end_entity.as_ref());
        let parsed = ParsedCertificate::try_from(end_entity);
        let uncovered = self
            .check
            .hosts
            .iter()
            .filter(|host| {
                let Ok(name) = ServerName::try_from(host.as_str()) else {
                    return true;
                };
                parsed
                    .as_ref()
                    .map_or(true, |cert| verify_server_name(cert, &name).is_err())
            })
            .cloned()
            .collect();
        let chain = match (&self.check.trust, &parsed) {
            (None, _) => Chain::NotValidated,
            (Some(trust), Ok(cert)) => {
                match verify_server_cert_signed_by_trust_anchor(
                    cert,
                    &trust.roots,
                    intermediates,
                    now,
                    self.algorithms.all,
                ) {
                    Ok(()) => Chain::Valid(trust.path.clone()),
                    Err(e) => Chain::Invalid(trust.path.clone(), chain_error(&e)),
                }
            }
            (Some(trust), Err(e)) => Chain::Invalid(trust.path.clone(), e.to_string()),
        };
        Verdict {
            identity,
            hosts: self.check.hosts.clone(),
            uncovered,
            chain,
        }
    }
}

/// A chain error in words.
fn chain_error(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "it is not issued by that CA (unknown issuer)".into()
        }
        rustls::Error::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. }) => {
            "the certificate has expired".into()
        }
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. },
        ) => "the certificate is not valid yet".into(),
        other => other.to_string(),
    }
}

impl ServerCertVerifier for Inspector {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.judge(end_entity, intermediates, now);
        let passed = verdict.passed();
        if let Ok(mut slot) = self.verdict.lock() {
            *slot = Some(verdict);
        }
        if passed {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
