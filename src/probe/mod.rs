//! Federation port probes: does 5269 answer an XMPP stream, does 5061
//! complete a TLS handshake, does any other port accept TCP.

mod error;
mod many;
mod tls;
mod xmpp;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

pub use error::ProbeError;
pub use many::{ProbeTarget, probe_many};

/// What a probe expects from the port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    /// A TCP connection is accepted.
    Tcp,
    /// An XMPP server-to-server stream header answers ours (5269).
    XmppServer {
        /// The domain put in our header's `to` (the federated domain).
        domain: String,
    },
    /// A TLS handshake completes (5061); the certificate is not validated.
    Tls {
        /// The SNI name sent.
        server_name: String,
    },
}

/// What answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeAnswer {
    /// E.g. `XMPP stream header from contoso.com (id=…, version=1.0)` or
    /// `TLS 1.3 handshake, certificate CN=sip.contoso.com`.
    pub answered: String,
    /// From the start of the connect to the answer.
    pub elapsed: Duration,
}

/// The probe for a federation port: 5269 → XMPP, 5061 → TLS, others → TCP.
#[must_use]
pub fn probe_kind_for_port(port: u16, domain: &str) -> ProbeKind {
    match port {
        5269 => ProbeKind::XmppServer {
            domain: domain.to_string(),
        },
        5061 => ProbeKind::Tls {
            server_name: domain.to_string(),
        },
        _ => ProbeKind::Tcp,
    }
}

/// Probes `addr`, the whole probe bounded by `timeout`.
///
/// # Errors
/// [`ProbeError::ConnectionRefused`], [`ProbeError::Timeout`],
/// [`ProbeError::NotXmpp`] / [`ProbeError::ClosedEarly`] (answered, but not
/// XMPP), [`ProbeError::TlsHandshake`], or another connect / I/O error.
pub async fn probe(addr: SocketAddr, kind: &ProbeKind, timeout: Duration) -> Result<ProbeAnswer, ProbeError> {
    let start = Instant::now();
    let deadline = tokio::time::Instant::now() + timeout;
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
        ProbeKind::XmppServer { domain } => xmpp::probe_xmpp(stream, addr, domain, deadline, timeout).await?,
        ProbeKind::Tls { server_name } => tls::probe_tls(stream, addr, server_name, deadline, timeout).await?,
    };
    let elapsed = start.elapsed();
    tracing::debug!(%addr, %answered, ?elapsed, "probe answered");
    Ok(ProbeAnswer { answered, elapsed })
}
