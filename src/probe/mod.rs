//! Federation port probes: does 5269 answer an XMPP stream (and, after
//! STARTTLS, present a certificate for the XMPP host), does 5061 complete a
//! TLS handshake with a certificate for the SIP federation host, does any
//! other port accept TCP.

mod certificate;
mod error;
mod many;
mod tls;
mod xmpp;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

pub use certificate::{CaFileError, CertificateCheck, Identity, TrustAnchors};
pub use error::ProbeError;
pub use many::{ProbeTarget, probe_many};

/// What a probe expects from the port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    /// A TCP connection is accepted.
    Tcp,
    /// An XMPP server-to-server stream header answers ours (5269); when the
    /// server offers STARTTLS, the certificate it presents passes
    /// `certificate`.
    XmppServer {
        /// The domain put in our header's `to` (the federated domain), and
        /// the SNI name after STARTTLS.
        domain: String,
        /// What the certificate must satisfy. When it checks something, a
        /// server that offers no STARTTLS fails.
        certificate: CertificateCheck,
    },
    /// A TLS handshake completes (5061) with a certificate that passes
    /// `certificate`.
    Tls {
        /// The SNI name sent.
        server_name: String,
        /// What the certificate must satisfy.
        certificate: CertificateCheck,
    },
}

/// What answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeAnswer {
    /// E.g. `XMPP stream header from contoso.com (id=…, version=1.0); STARTTLS,
    /// TLS 1.3 handshake, certificate subject CN=…, SANs DNS:…; covers …;
    /// chain not validated (no --probe-ca-file)`.
    pub answered: String,
    /// From the start of the connect to the answer.
    pub elapsed: Duration,
}

/// The probe for a federation port: 5269 → XMPP (stream `to` `domain`),
/// 5061 → TLS (SNI the first host to check, else `domain`), others → TCP.
#[must_use]
pub fn probe_kind_for_port(port: u16, domain: &str, certificate: CertificateCheck) -> ProbeKind {
    match port {
        5269 => ProbeKind::XmppServer {
            domain: domain.to_string(),
            certificate,
        },
        5061 => ProbeKind::Tls {
            server_name: certificate.hosts.first().map_or(domain, String::as_str).to_string(),
            certificate,
        },
        _ => ProbeKind::Tcp,
    }
}

/// Probes `addr`, the whole probe bounded by `timeout`.
///
/// # Errors
/// [`ProbeError::ConnectionRefused`], [`ProbeError::Timeout`],
/// [`ProbeError::NotXmpp`] / [`ProbeError::ClosedEarly`] (answered, but not
/// XMPP), [`ProbeError::TlsHandshake`], [`ProbeError::CertificateNameMismatch`]
/// / [`ProbeError::CertificateNotTrusted`] (the certificate fails a check),
/// [`ProbeError::NoStartTls`] / [`ProbeError::StartTlsRefused`] (5269 cannot
/// show its certificate), or another connect / I/O error.
#[tracing::instrument(level = "debug", name = "probe", skip_all, fields(%addr))]
pub async fn probe(addr: SocketAddr, kind: &ProbeKind, timeout: Duration) -> Result<ProbeAnswer, ProbeError> {
    let start = Instant::now();
    let now = tokio::time::Instant::now();
    // A ceiling far beyond any validated timeout keeps the addition from overflowing.
    let deadline = now
        .checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(crate::limits::MAX_TIMEOUT_SECS));
    let stream = tokio::time::timeout_at(deadline, TcpStream::connect(addr))
        .await
        .map_err(|_| ProbeError::Timeout {
            addr,
            stage: "connecting",
            after: timeout,
        })?
        .map_err(|source| {
            if source.kind() == std::io::ErrorKind::ConnectionRefused {
                ProbeError::ConnectionRefused { addr, source }
            } else {
                ProbeError::Connect { addr, source }
            }
        })?;
    let answered = match kind {
        ProbeKind::Tcp => "TCP connection accepted".to_string(),
        ProbeKind::XmppServer { domain, certificate } => {
            xmpp::probe_xmpp(stream, addr, domain, certificate, deadline, timeout).await?
        }
        ProbeKind::Tls {
            server_name,
            certificate,
        } => tls::handshake(stream, addr, server_name, certificate, deadline, timeout).await?,
    };
    let elapsed = start.elapsed();
    tracing::debug!(%addr, %answered, ?elapsed, "probe answered");
    Ok(ProbeAnswer { answered, elapsed })
}
