//! The XMPP server-to-server probe (5269): open a stream and read the peer's
//! `<stream:stream …>` header, with a bounded read.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::error::{ProbeError, sanitise};

/// The most bytes read while looking for the header.
const MAX_HEADER: usize = 4096;

/// Sends the opening stream header for `domain` and waits for the peer's.
/// Returns a description such as
/// `XMPP stream header from xmpp.contoso.com (id=…, version=1.0)`.
pub(crate) async fn probe_xmpp(
    mut stream: TcpStream,
    addr: SocketAddr,
    domain: &str,
    deadline: tokio::time::Instant,
    timeout: Duration,
) -> Result<String, ProbeError> {
    let open = format!(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' to='{}' version='1.0'>",
        xml_escape(domain)
    );
    let io = |source| ProbeError::Io { addr, source };
    let timed_out = || ProbeError::Timeout {
        addr,
        stage: "waiting for the XMPP stream header",
        after: timeout,
    };
    tokio::time::timeout_at(deadline, stream.write_all(open.as_bytes()))
        .await
        .map_err(|_| timed_out())?
        .map_err(io)?;

    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
            .await
            .map_err(|_| timed_out())?
            .map_err(io)?;
        if n == 0 {
            if buf.is_empty() {
                return Err(ProbeError::ClosedEarly { addr, received: 0 });
            }
            return Err(not_xmpp(addr, &buf));
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        match scan(&buf) {
            Scan::Header(attrs) => return Ok(describe(&attrs)),
            Scan::NotXmpp => return Err(not_xmpp(addr, &buf)),
            Scan::NeedMore if buf.len() >= MAX_HEADER => return Err(not_xmpp(addr, &buf)),
            Scan::NeedMore => {}
        }
    }
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
    Header(Vec<(String, String)>),
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
    Scan::Header(attributes(rest.get(name_end..tag_end).unwrap_or_default()))
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
            Scan::Header(a) => assert_eq!(
                describe(&a),
                "XMPP stream header from xmpp.test (id=abc-1, version=1.0)"
            ),
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
}
