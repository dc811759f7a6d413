//! The TLS handshake of a probe: on 5061 directly, on 5269 after STARTTLS.
//! It reports the protocol version and the certificate's subject and SANs,
//! and checks the certificate as [`CertificateCheck`] says (see
//! [`super::certificate`]).
//!
//! Lync's Access Edge speaks mutual TLS on 5061 and may abort a TLS 1.2
//! handshake when the client has no certificate. When the server presented
//! its certificate before such an abort (alert `handshake_failure`,
//! `certificate_required`, `bad_certificate`, …) and the certificate passed
//! the checks, the port did answer TLS, and the probe passes with an answer
//! saying the server asked for a client certificate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::AlertDescription;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::certificate::{CertificateCheck, Chain, Inspector, Verdict};
use super::error::ProbeError;

fn connector(check: &CertificateCheck) -> Result<(TlsConnector, Arc<Inspector>), rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(Inspector::new(
        provider.signature_verification_algorithms,
        check.clone(),
    ));
    let config = rustls::ClientConfig::builder_with_provider(Arc::<CryptoProvider>::clone(&provider))
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::<Inspector>::clone(&verifier))
        .with_no_client_auth();
    Ok((TlsConnector::from(Arc::new(config)), verifier))
}

/// Completes a handshake on `stream` with SNI `server_name`, checking the
/// certificate as `check` says. Returns e.g. `TLS 1.3 handshake, certificate
/// subject CN=sip.contoso.com, SANs DNS:sip.contoso.com; covers
/// sip.contoso.com; chain not validated (no --probe-ca-file)`.
pub(crate) async fn handshake(
    stream: TcpStream,
    addr: SocketAddr,
    server_name: &str,
    check: &CertificateCheck,
    deadline: tokio::time::Instant,
    timeout: Duration,
) -> Result<String, ProbeError> {
    let name = ServerName::try_from(server_name.to_string()).map_err(|_| ProbeError::InvalidServerName {
        name: server_name.to_string(),
    })?;
    let (connector, verifier) = connector(check).map_err(|e| ProbeError::TlsHandshake {
        addr,
        source: std::io::Error::other(e),
    })?;
    let handshake = tokio::time::timeout_at(deadline, connector.connect(name, stream))
        .await
        .map_err(|_| ProbeError::Timeout {
            addr,
            stage: "the TLS handshake",
            after: timeout,
        })?;
    let tls = match handshake {
        Ok(tls) => tls,
        Err(source) => {
            return match (verifier.verdict(), client_cert_alert(&source)) {
                (Some(verdict), _) if !verdict.passed() => Err(refusal(addr, verdict)),
                (Some(verdict), Some(alert)) => Ok(format!(
                    "TLS handshake up to the server's certificate, then the server required a client certificate (mutual TLS, alert {alert:?}); {}",
                    verdict.describe()
                )),
                _ => Err(ProbeError::TlsHandshake { addr, source }),
            };
        }
    };
    let (_, conn) = tls.get_ref();
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_string(),
        Some(v) => format!("{v:?}"),
        None => "TLS".to_string(),
    };
    let found = verifier
        .verdict()
        .map_or_else(|| "no certificate".to_string(), |v| v.describe());
    Ok(format!("{version} handshake, {found}"))
}

/// The probe's error for a certificate that failed a check: the names
/// first, then the chain.
fn refusal(addr: SocketAddr, verdict: Verdict) -> ProbeError {
    if !verdict.uncovered.is_empty() {
        return ProbeError::CertificateNameMismatch {
            addr,
            uncovered: verdict.uncovered,
            identity: Box::new(verdict.identity),
        };
    }
    match verdict.chain {
        Chain::Invalid(ca, reason) => ProbeError::CertificateNotTrusted {
            addr,
            ca,
            reason,
            identity: Box::new(verdict.identity),
        },
        Chain::NotValidated | Chain::Valid(_) => ProbeError::TlsHandshake {
            addr,
            source: std::io::Error::other("the certificate check failed"),
        },
    }
}

/// The alert, when the handshake failed because the server wants a client
/// certificate.
fn client_cert_alert(e: &std::io::Error) -> Option<AlertDescription> {
    match e.get_ref()?.downcast_ref::<rustls::Error>()? {
        rustls::Error::AlertReceived(
            alert @ (AlertDescription::HandshakeFailure
            | AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnknownCA
            | AlertDescription::AccessDenied),
        ) => Some(*alert),
        _ => None,
    }
}
