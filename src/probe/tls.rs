//! The TLS probe (5061): complete a TLS handshake and report the protocol
//! version and the certificate's subject CN.
//!
//! The certificate is **not** validated: the probe checks that the port
//! answers TLS, not who holds it (Edge certificates are often issued by a
//! private CA, and the probe may run before DNS points at the pool). The
//! handshake signature is still checked against the presented certificate,
//! so a peer that cannot complete a real handshake fails.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::error::ProbeError;

/// Accepts any certificate (see the module documentation), checking only
/// the handshake signatures.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
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

fn connector() -> Result<TlsConnector, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AcceptAnyCertificate {
        algorithms: provider.signature_verification_algorithms,
    });
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::<CryptoProvider>::clone(&provider))
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
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
    let name = ServerName::try_from(server_name.to_string()).map_err(|_| {
        ProbeError::InvalidServerName {
            name: server_name.to_string(),
        }
    })?;
    let connector = connector().map_err(|e| ProbeError::TlsHandshake {
        addr,
        source: std::io::Error::other(e),
    })?;
    let tls = tokio::time::timeout_at(deadline, connector.connect(name, stream))
        .await
        .map_err(|_| ProbeError::Timeout {
            addr,
            stage: "the TLS handshake",
            after: timeout,
        })?
        .map_err(|source| ProbeError::TlsHandshake { addr, source })?;
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
        .map_or_else(
            || "no certificate".to_string(),
            |c| describe_cert(c.as_ref()),
        );
    Ok(format!("{version} handshake, {cert}"))
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
                Some(cn) => format!(
                    "certificate CN={}",
                    super::error::sanitise(cn.as_bytes(), 128)
                ),
                None => format!("certificate subject {}", cert.subject()),
            }
        }
        Err(_) => "a certificate that could not be parsed".to_string(),
    }
}
