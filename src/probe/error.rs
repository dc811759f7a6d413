//! Why a port probe failed: refused, silent, answered something else, or a
//! TLS handshake that did not complete.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::certificate::Identity;

/// A failed probe. Each message names the address and what to check.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Nothing listens there (TCP RST).
    #[error(
        "{addr}: connection refused: nothing listens on port {}; check that the Edge service is started and the firewall forwards the port",
        addr.port()
    )]
    ConnectionRefused {
        /// The probed address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Connecting failed otherwise (unreachable network, …).
    #[error("{addr}: cannot connect: {source}")]
    Connect {
        /// The probed address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No answer in time.
    #[error(
        "{addr}: timed out after {} ms while {stage}; check routing and firewalls (a silent drop looks like this)",
        after.as_millis()
    )]
    Timeout {
        /// The probed address.
        addr: SocketAddr,
        /// `connecting`, `waiting for the XMPP stream header`, `the TLS handshake`, ….
        stage: &'static str,
        /// The timeout.
        after: Duration,
    },
    /// The port answered, but not with an XMPP stream header.
    #[error(
        "{addr}: answered but not XMPP: expected a <stream:stream> header, got \"{first_bytes}\"; check that the port forwards to the Edge's XMPP proxy"
    )]
    NotXmpp {
        /// The first bytes received, sanitised (printable ASCII; others as `\xNN`).
        first_bytes: String,
        /// The probed address.
        addr: SocketAddr,
    },
    /// The peer closed the connection before saying anything useful.
    #[error("{addr}: the peer closed the connection after {received} bytes without an XMPP stream header")]
    ClosedEarly {
        /// The probed address.
        addr: SocketAddr,
        /// Bytes received before the close.
        received: usize,
    },
    /// The TLS handshake failed.
    #[error(
        "{addr}: TLS handshake failed: {source}; check that the port serves TLS with a certificate (SIP federation on 5061, XMPP after STARTTLS on 5269)"
    )]
    TlsHandshake {
        /// The probed address.
        addr: SocketAddr,
        /// The TLS or I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The certificate does not cover a federation host DNS points at the port.
    #[error(
        "{addr}: the certificate does not cover {}: it has {identity}; re-issue the certificate with {} among its SANs, or fix DNS so that it points federation at a pool whose certificate covers the name",
        uncovered.join(", "),
        uncovered.join(", ")
    )]
    CertificateNameMismatch {
        /// The probed address.
        addr: SocketAddr,
        /// The hosts the certificate does not cover.
        uncovered: Vec<String>,
        /// The certificate's subject and SANs.
        identity: Box<Identity>,
    },
    /// The certificate chain does not validate to the given CA.
    #[error(
        "{addr}: the certificate chain does not validate to the CA in {}: {reason} (the certificate has {identity}); serve a certificate issued by that CA with its intermediates, or give --probe-ca-file the CA that issued it",
        ca.display()
    )]
    CertificateNotTrusted {
        /// The probed address.
        addr: SocketAddr,
        /// The CA file.
        ca: PathBuf,
        /// Why the chain does not validate.
        reason: String,
        /// The certificate's subject and SANs.
        identity: Box<Identity>,
    },
    /// The XMPP server did not offer STARTTLS, so its certificate cannot be
    /// checked.
    #[error(
        "{addr}: the XMPP server did not offer STARTTLS after its stream header ({header}), so its certificate cannot be checked{}; enable TLS for server-to-server federation on the Edge's XMPP proxy",
        if hosts.is_empty() { String::new() } else { format!(" for {}", hosts.join(", ")) }
    )]
    NoStartTls {
        /// The probed address.
        addr: SocketAddr,
        /// What the stream header said.
        header: String,
        /// The hosts the certificate had to cover.
        hosts: Vec<String>,
    },
    /// The XMPP server answered our STARTTLS with something else than `<proceed/>`.
    #[error(
        "{addr}: the XMPP server refused STARTTLS: it answered \"{answer}\"; check the TLS configuration of the Edge's XMPP proxy"
    )]
    StartTlsRefused {
        /// The probed address.
        addr: SocketAddr,
        /// The answer, sanitised.
        answer: String,
    },
    /// The name given for TLS SNI is not a DNS name or IP address.
    #[error("`{name}` cannot be used as a TLS server name")]
    InvalidServerName {
        /// The name.
        name: String,
    },
    /// An I/O error after connecting.
    #[error("{addr}: {source}")]
    Io {
        /// The probed address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Shows bytes as printable ASCII, others as `\xNN`, at most `max` bytes.
pub(crate) fn sanitise(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    for &b in bytes.iter().take(max) {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::sanitise;

    #[test]
    fn sanitise_keeps_printable_ascii_only() {
        assert_eq!(
            sanitise(b"HTTP/1.1 400\r\n\x1b[31m\xff", 64),
            "HTTP/1.1 400\\r\\n\\x1b[31m\\xff"
        );
        assert_eq!(sanitise(b"abcdef", 3), "abc…");
    }
}
