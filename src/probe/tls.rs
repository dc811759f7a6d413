//! The TLS probe (5061): complete a TLS handshake and report the protocol
//! version and the certificate's subject CN.
//!
//! The certificate is **not** validated: the probe checks that the port
//! answers TLS, not who holds it (Edge certificates are often issued by a
//! private CA, and the probe may run before DNS points at the pool). The
//! handshake signature is still checked against the presented certificate,
//! so a peer that cannot complete a real handshake fails.
//!
//! Lync's Access Edge speaks mutual TLS on 5061 and may abort a TLS 1.2
//! handshake when the client has no certificate. When the server presented
//! its certificate before such an abort (alert `handshake_failure`,
//! `certificate_required`, `bad_certificate`, …), the port did answer TLS, and
//! the probe passes with an answer saying the server asked for a client
//! certificate.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{AlertDescription, DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::error::ProbeError;

/// Accepts any certificate (see the module documentation), checking only
/// the handshake signatures.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
    /// The end-entity certificate the server presented, once it has.
    seen: Mutex<Option<Vec<u8>>>,
}

impl AcceptAnyCertificate {
    fn seen(&self) -> Option<Vec<u8>> {
        self.seen.lock().ok().and_then(|g| g.clone())
    }
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(end_entity.as_ref().to_vec());
        }
        Ok(ServerCertVerified::assertion())
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

fn connector() -> Result<(TlsConnector, Arc<AcceptAnyCertificate>), rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AcceptAnyCertificate {
        algorithms: provider.signature_verification_algorithms,
        seen: Mutex::new(None),
    });
    let config = rustls::ClientConfig::builder_with_provider(Arc::<CryptoProvider>::clone(&provider))
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::<AcceptAnyCertificate>::clone(&verifier))
        .with_no_client_auth();
    Ok((TlsConnector::from(Arc::new(config)), verifier))
}

/// Completes a handshake on `stream` with SNI `server_name`. Returns e.g.
/// `TLS 1.3 handshake, certificate CN=sip.contoso.com`.
pub(crate) async fn probe_tls(
    stream: TcpStream,
    addr: SocketAddr,
    server_name: &str,
    deadline: tokio::time::Instant,
    timeout: Duration,
) -> Result<String, ProbeError> {
    let name = ServerName::try_from(server_name.to_string()).map_err(|_| ProbeError::InvalidServerName {
        name: server_name.to_string(),
    })?;
    let (connector, verifier) = connector().map_err(|e| ProbeError::TlsHandshake {
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
            return match (verifier.seen(), client_cert_alert(&source)) {
                (Some(cert), Some(alert)) => Ok(format!(
                    "TLS handshake up to the server's {}; the server then required a client certificate (mutual TLS, alert {alert:?})",
                    describe_cert(&cert)
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
    let cert = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map_or_else(|| "no certificate".to_string(), |c| describe_cert(c.as_ref()));
    Ok(format!("{version} handshake, {cert}"))
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

/// `certificate CN=…` from a DER certificate (or what could be read of it).
fn describe_cert(der: &[u8]) -> String {
    match x509_parser::parse_x509_certificate(der) {
        Ok((_, cert)) => {
            let cn = cert
                .subject()
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok().map(str::to_string));
            match cn {
                Some(cn) => format!("certificate CN={}", super::error::sanitise(cn.as_bytes(), 128)),
                None => format!("certificate subject {}", cert.subject()),
            }
        }
        Err(_) => "a certificate that could not be parsed".to_string(),
    }
}
