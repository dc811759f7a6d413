//! The XMPP server-to-server probe (5269): open a stream, read the peer's
//! `<stream:stream …>` header and its stream features, and — when the peer
//! offers STARTTLS — negotiate TLS and check the certificate as the TLS
//! probe does (see [`super::certificate`]). Every read is bounded.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::certificate::CertificateCheck;
use super::error::{ProbeError, sanitise};

/// The most bytes read while looking for the header and the features.
const MAX_HEADER: usize = 16 * 1024;

/// The STARTTLS namespace.
const TLS_NS: &str = "urn:ietf:params:xml:ns:xmpp-tls";

/// Sends the opening stream header for `domain`, waits for the peer's and
/// its features, then negotiates STARTTLS when offered (SNI `domain`) and
/// checks the certificate as `check` says. Returns e.g.
/// `XMPP stream header from xmpp.contoso.com (id=…, version=1.0); STARTTLS,
/// TLS 1.3 handshake, certificate subject …`.
///
/// A peer that offers no STARTTLS passes only when nothing about the
/// certificate is to be checked.
pub(crate) async fn probe_xmpp(
    mut stream: TcpStream,
    addr: SocketAddr,
    domain: &str,
    check: &CertificateCheck,
    deadline: tokio::time::Instant,
    timeout: Duration,
) -> Result<String, ProbeError> {
    let open = format!(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' to='{}' version='1.0'>",
        xml_escape(domain)
    );
    let mut reader = Reader {
        addr,
        deadline,
        timeout,
        buf: Vec::with_capacity(1024),
    };
    reader
        .write(&mut stream, open.as_bytes(), "sending the XMPP stream header")
        .await?;

    let (attrs, prefix) = loop {
        match scan(&reader.buf) {
            Scan::Header(attrs, prefix) => break (attrs, prefix),
            Scan::NotXmpp => return Err(not_xmpp(addr, &reader.buf)),
            Scan::NeedMore if reader.buf.len() >= MAX_HEADER => return Err(not_xmpp(addr, &reader.buf)),
            Scan::NeedMore => {
                if !reader.read(&mut stream, "waiting for the XMPP stream header").await? {
                    return Err(if reader.buf.is_empty() {
                        ProbeError::ClosedEarly { addr, received: 0 }
                    } else {
                        not_xmpp(addr, &reader.buf)
                    });
                }
            }
        }
    };
    let header = describe(&attrs);
    let version_1 = attrs.iter().any(|(k, v)| k == "version" && v.starts_with("1."));
    let features = if version_1 {
        loop {
            match features(&reader.buf, &prefix) {
                Some(features) => break features,
                None if reader.buf.len() >= MAX_HEADER => return Err(not_xmpp(addr, &reader.buf)),
                None => {
                    if !reader.read(&mut stream, "waiting for the XMPP stream features").await? {
                        break Features::Closed;
                    }
                }
            }
        }
    } else {
        Features::PreVersion1
    };
    let why_not = match features {
        Features::Offered { starttls: true } => None,
        Features::Offered { starttls: false } => Some("no STARTTLS offered".to_string()),
        Features::StreamError(text) => Some(format!(
            "no STARTTLS offered (a stream error instead of features: {text})"
        )),
        Features::Closed => Some("no STARTTLS offered (the server closed the stream after its header)".to_string()),
        Features::PreVersion1 => Some("no STARTTLS offered (a stream without version 1.0 has no features)".to_string()),
    };
    if let Some(why_not) = why_not {
        if check.checks_something() {
            return Err(ProbeError::NoStartTls {
                addr,
                header: format!("{header}; {why_not}"),
                hosts: check.hosts.clone(),
            });
        }
        return Ok(format!("{header}; {why_not}, the certificate was not checked"));
    }

    reader.buf.clear();
    reader
        .write(
            &mut stream,
            format!("<starttls xmlns='{TLS_NS}'/>").as_bytes(),
            "sending STARTTLS",
        )
        .await?;
    loop {
        match starttls_answer(&reader.buf) {
            Some(true) => break,
            Some(false) => {
                return Err(ProbeError::StartTlsRefused {
                    addr,
                    answer: sanitise(&reader.buf, 128),
                });
            }
            None if reader.buf.len() >= MAX_HEADER => {
                return Err(ProbeError::StartTlsRefused {
                    addr,
                    answer: sanitise(&reader.buf, 128),
                });
            }
            None => {
                if !reader.read(&mut stream, "waiting for the answer to STARTTLS").await? {
                    return Err(ProbeError::StartTlsRefused {
                        addr,
                        answer: format!("{} (then closed the connection)", sanitise(&reader.buf, 128)),
                    });
                }
            }
        }
    }
    let tls = super::tls::handshake(stream, addr, domain, check, deadline, timeout).await?;
    Ok(format!("{header}; STARTTLS, {tls}"))
}

/// Bounded reads and writes on the probe's connection.
struct Reader {
    addr: SocketAddr,
    deadline: tokio::time::Instant,
    timeout: Duration,
    buf: Vec<u8>,
}

impl Reader {
    fn timed_out(&self, stage: &'static str) -> ProbeError {
        ProbeError::Timeout {
            addr: self.addr,
            stage,
            after: self.timeout,
        }
    }

    async fn write(&self, stream: &mut TcpStream, bytes: &[u8], stage: &'static str) -> Result<(), ProbeError> {
        tokio::time::timeout_at(self.deadline, stream.write_all(bytes))
            .await
            .map_err(|_| self.timed_out(stage))?
            .map_err(|source| ProbeError::Io {
                addr: self.addr,
                source,
            })
    }

    /// Reads more into `buf`; `false` when the peer closed the connection.
    async fn read(&mut self, stream: &mut TcpStream, stage: &'static str) -> Result<bool, ProbeError> {
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout_at(self.deadline, stream.read(&mut chunk))
            .await
            .map_err(|_| self.timed_out(stage))?
            .map_err(|source| ProbeError::Io {
                addr: self.addr,
                source,
            })?;
        self.buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        Ok(n > 0)
    }
}

/// What followed the stream header.
#[derive(Debug, PartialEq, Eq)]
enum Features {
    /// `<PREFIX:features>`, offering STARTTLS or not.
    Offered { starttls: bool },
    /// `<PREFIX:error>` instead (its text, sanitised).
    StreamError(String),
    /// The server closed the connection.
    Closed,
    /// The header had no `version='1.…'`, so no features follow.
    PreVersion1,
}

/// The stream features (`<PREFIX:features>…</PREFIX:features>` or
/// `<PREFIX:features/>`) or a stream error, once complete in `buf`.
fn features(buf: &[u8], prefix: &str) -> Option<Features> {
    let text = String::from_utf8_lossy(buf);
    let error = format!("<{prefix}:error");
    if let Some(start) = text.find(&error) {
        let rest = text.get(start..)?;
        let end = rest.find(&format!("</{prefix}:error>"))?;
        let body = rest.get(..end)?;
        // The condition's text if there is one, else the element itself.
        let said = body
            .find("<text")
            .and_then(|t| body.get(t..))
            .and_then(|t| t.find('>').and_then(|gt| t.get(gt + 1..)))
            .and_then(|t| t.find('<').and_then(|lt| t.get(..lt)))
            .unwrap_or(body);
        return Some(Features::StreamError(sanitise(said.as_bytes(), 160)));
    }
    let open = format!("<{prefix}:features");
    let start = text.find(&open)?;
    let rest = text.get(start + open.len()..)?;
    let tag_end = rest.find('>')?;
    if rest.get(..tag_end)?.trim_end().ends_with('/') {
        return Some(Features::Offered { starttls: false });
    }
    let body = rest.get(tag_end + 1..)?;
    let close = body.find(&format!("</{prefix}:features>"))?;
    let body = body.get(..close)?;
    Some(Features::Offered {
        starttls: body.contains("<starttls") && body.contains(TLS_NS),
    })
}

/// `Some(true)` for `<proceed …/>`, `Some(false)` for anything else
/// complete (`<failure/>`, an error), `None` until a whole tag is read.
fn starttls_answer(buf: &[u8]) -> Option<bool> {
    let text = String::from_utf8_lossy(buf);
    let start = text.find('<')?;
    let tag = text.get(start..)?;
    tag.find('>')?;
    Some(tag.starts_with("<proceed") && tag.contains(TLS_NS))
}

fn not_xmpp(addr: SocketAddr, buf: &[u8]) -> ProbeError {
    ProbeError::NotXmpp {
        addr,
        first_bytes: sanitise(buf, 64),
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('\'', "&apos;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

enum Scan {
    /// The header's attributes and its namespace prefix (`stream`).
    Header(Vec<(String, String)>, String),
    NotXmpp,
    NeedMore,
}

/// Looks for `<?xml …?>` (optional) then `<PREFIX:stream …>` at the start.
fn scan(buf: &[u8]) -> Scan {
    let text = String::from_utf8_lossy(buf);
    let mut rest = text.trim_start();
    if rest.is_empty() {
        return Scan::NeedMore;
    }
    if !rest.starts_with('<') {
        return Scan::NotXmpp;
    }
    if rest.starts_with("<?") {
        match rest.find("?>") {
            Some(end) => rest = rest.get(end + 2..).unwrap_or_default().trim_start(),
            None => return Scan::NeedMore,
        }
        if rest.is_empty() {
            return Scan::NeedMore;
        }
    }
    // The element name: up to whitespace, `>` or `/`.
    let name_end = rest
        .char_indices()
        .skip(1)
        .find(|(_, c)| c.is_whitespace() || *c == '>' || *c == '/')
        .map(|(i, _)| i);
    let Some(name_end) = name_end else {
        return if "<stream:stream".starts_with(rest) || rest.len() < 32 {
            Scan::NeedMore
        } else {
            Scan::NotXmpp
        };
    };
    let name = rest.get(1..name_end).unwrap_or_default();
    let local = name.rsplit(':').next().unwrap_or(name);
    if local != "stream" || !name.contains(':') {
        return Scan::NotXmpp;
    }
    let Some(tag_end) = rest.find('>') else {
        return Scan::NeedMore;
    };
    let prefix = name.rsplit_once(':').map_or("", |(p, _)| p).to_string();
    Scan::Header(attributes(rest.get(name_end..tag_end).unwrap_or_default()), prefix)
}

/// Parses `key='v' key2="v2"` pairs (best effort).
fn attributes(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(eq) = rest.find('=') {
        let key = rest.get(..eq).unwrap_or_default().trim().to_string();
        let after = rest.get(eq + 1..).unwrap_or_default().trim_start();
        let Some(quote) = after.chars().next().filter(|c| *c == '\'' || *c == '"') else {
            break;
        };
        let body = after.get(1..).unwrap_or_default();
        let Some(close) = body.find(quote) else { break };
        out.push((key, body.get(..close).unwrap_or_default().to_string()));
        rest = body.get(close + 1..).unwrap_or_default();
    }
    out
}

fn describe(attrs: &[(String, String)]) -> String {
    let get = |k: &str| {
        attrs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| sanitise(v.as_bytes(), 64))
    };
    let from = get("from").unwrap_or_else(|| "(no from)".into());
    let mut parts = Vec::new();
    if let Some(id) = get("id") {
        parts.push(format!("id={id}"));
    }
    if let Some(v) = get("version") {
        parts.push(format!("version={v}"));
    }
    format!("XMPP stream header from {from} ({})", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_a_stream_header_and_its_attributes() {
        let h = b"<?xml version='1.0'?><stream:stream xmlns='jabber:server' from='xmpp.test' id='abc-1' version='1.0' xmlns:stream='http://etherx.jabber.org/streams'><stream:features/>";
        match scan(h) {
            Scan::Header(a, prefix) => {
                assert_eq!(
                    describe(&a),
                    "XMPP stream header from xmpp.test (id=abc-1, version=1.0)"
                );
                assert_eq!(prefix, "stream");
            }
            _ => panic!("header not recognised"),
        }
    }

    #[test]
    fn waits_for_more_and_rejects_others() {
        assert!(matches!(scan(b"<?xml version='1.0'"), Scan::NeedMore));
        assert!(matches!(scan(b"<stream:str"), Scan::NeedMore));
        assert!(matches!(scan(b"<stream:stream from='a'"), Scan::NeedMore));
        assert!(matches!(scan(b"HTTP/1.1 400 Bad Request\r\n"), Scan::NotXmpp));
        assert!(matches!(scan(b"<html><body>"), Scan::NotXmpp));
    }

    #[test]
    fn reads_the_features_and_the_answer_to_starttls() {
        let with_tls = b"<stream:stream from='a' version='1.0'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls><dialback xmlns='urn:xmpp:features:dialback'/></stream:features>";
        let offered = |starttls| Some(Features::Offered { starttls });
        assert_eq!(features(with_tls, "stream"), offered(true));
        assert_eq!(
            features(b"<stream:stream version='1.0'><stream:features/>", "stream"),
            offered(false)
        );
        assert_eq!(
            features(
                b"<s:stream version='1.0'><s:features><dialback xmlns='urn:xmpp:features:dialback'/></s:features>",
                "s"
            ),
            offered(false)
        );
        assert_eq!(
            features(b"<stream:stream version='1.0'><stream:features><starttls", "stream"),
            None
        );
        assert_eq!(features(b"<stream:stream version='1.0'>", "stream"), None);
        assert_eq!(
            features(b"<stream:stream version='1.0'><stream:error><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>No stream features to offer</text></stream:error>", "stream"),
            Some(Features::StreamError("No stream features to offer".into()))
        );
        assert_eq!(
            starttls_answer(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
            Some(true)
        );
        assert_eq!(
            starttls_answer(b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
            Some(false)
        );
        assert_eq!(starttls_answer(b"<proce"), None);
    }
}
