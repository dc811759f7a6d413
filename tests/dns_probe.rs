//! DNS updates and federation port probes against real servers on loopback:
//! BIND 9 (`named`, checked with `dig` and changed behind our back with
//! `nsupdate`), Prosody for XMPP, and in-test TCP / TLS listeners.

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use edgefed::backend::{DnsSystem, ErrorKind, Routed, route};
use edgefed::dns::{DnsBackend, DnsClient, DnsError, TsigAlgo, TsigKey, resolve_from, resolve_plain};
use edgefed::model::{DnsName, DnsRecord, Fqdn, RecordType, SrvTarget};
use edgefed::plan::Operation;
use edgefed::probe::{
    CertificateCheck, ProbeError, ProbeKind, ProbeTarget, TrustAnchors, probe, probe_kind_for_port, probe_many,
};
use support::{Bind, INITIAL_XMPP_A, Prosody, TestCa, need};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

const TIMEOUT: Duration = Duration::from_secs(3);
const DNS_TOOLS: &[&str] = &["named", "tsig-keygen", "dig", "nsupdate"];

/// A certificate check of `names`, without chain validation.
fn hosts(names: &[&str]) -> CertificateCheck {
    CertificateCheck {
        hosts: names.iter().map(|n| (*n).to_string()).collect(),
        trust: None,
    }
}

fn fqdn(s: &str) -> Fqdn {
    Fqdn::parse(s).expect("test fqdn")
}

fn name(s: &str) -> DnsName {
    DnsName::parse(s).expect("test name")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn a(host: &str, ttl: u32, addrs: &[&str]) -> DnsRecord {
    let mut addresses: Vec<IpAddr> = addrs.iter().map(|s| ip(s)).collect();
    addresses.sort();
    DnsRecord::A {
        name: name(host),
        ttl,
        addresses,
    }
}

fn srv(zone: &str, target: &str) -> DnsRecord {
    DnsRecord::srv(
        DnsName::xmpp_srv(&fqdn(zone)),
        300,
        vec![SrvTarget {
            priority: 10,
            weight: 5,
            port: 5269,
            target: fqdn(target),
        }],
    )
}

fn client(bind: &Bind) -> DnsClient {
    let key = TsigKey::from_file(&bind.key_file).expect("key file written by tsig-keygen");
    DnsClient::new(bind.addr(), Some(key), TIMEOUT)
}

fn wanted(zone: &str) -> Vec<(DnsName, RecordType)> {
    vec![
        (name(&format!("xmpp.{zone}")), RecordType::A),
        (DnsName::xmpp_srv(&fqdn(zone)), RecordType::Srv),
    ]
}

/// BIND serving the zone `edge.test`, or `None` (skipped, or failing
/// under `CI=true`) when its tools are not installed.
fn bind_with_edge_test() -> Option<Bind> {
    need(DNS_TOOLS).then(|| Bind::start(&["edge.test".to_string()]))
}

#[tokio::test]
async fn bind_moves_the_xmpp_a_record_and_creates_the_srv_record() {
    let Some(bind) = bind_with_edge_test() else { return };
    let zone = "edge.test";
    let client = client(&bind);

    let observed = client.observe(&wanted(zone)).await.expect("observe");
    let old_a = a("xmpp.edge.test", 300, &[INITIAL_XMPP_A]);
    assert_eq!(observed, vec![old_a.clone()], "SRV must be absent at first");

    // Move the A record to the restored pool (adding an IPv6 address too:
    // A and AAAA are replaced per family) and create the SRV record.
    let new_a = a("xmpp.edge.test", 600, &["198.51.100.20", "2001:db8::20"]);
    client
        .update(&fqdn(zone), &new_a, Some(&old_a))
        .await
        .expect("update A");
    let new_srv = srv(zone, "xmpp.edge.test");
    client.update(&fqdn(zone), &new_srv, None).await.expect("create SRV");

    // An independent resolver sees the change.
    assert_eq!(bind.dig("xmpp.edge.test", "A"), vec!["198.51.100.20"]);
    assert_eq!(bind.dig("xmpp.edge.test", "AAAA"), vec!["2001:db8::20"]);
    assert_eq!(
        bind.dig("_xmpp-server._tcp.edge.test", "SRV"),
        vec!["10 5 5269 xmpp.edge.test."]
    );
    // And so do we, and a plain query through the given resolver.
    let after = client.observe(&wanted(zone)).await.expect("observe");
    assert_eq!(after, vec![new_a.clone(), new_srv.clone()]);
    let plain = resolve_plain(Some(bind.addr()), &wanted(zone), edgefed::dns::PLAIN_TIMEOUT)
        .await
        .expect("plain query");
    assert_eq!(plain, after);
}

/// `_xmpp-server._tcp.<zone>` with one record per `(priority, weight, target)`.
fn xmpp_set(zone: &str, records: &[(u16, u16, &str)]) -> DnsRecord {
    DnsRecord::srv(
        DnsName::xmpp_srv(&fqdn(zone)),
        300,
        records
            .iter()
            .map(|&(priority, weight, target)| SrvTarget {
                priority,
                weight,
                port: 5269,
                target: fqdn(target),
            })
            .collect(),
    )
}

/// The plan's action making `desired` (first record, then `others`) out of `observed`.
fn set_srv(zone: &str, desired: &DnsRecord, observed: Option<DnsRecord>) -> Operation {
    let DnsRecord::Srv { name, ttl, targets } = desired else {
        panic!("an SRV set");
    };
    let (first, others) = targets.split_first().expect("a record");
    Operation::SetDnsSrv {
        zone: fqdn(zone),
        name: name.clone(),
        target: first.target.clone(),
        port: first.port,
        priority: first.priority,
        weight: first.weight,
        others: others.to_vec(),
        ttl: *ttl,
        observed,
    }
}

#[tokio::test]
async fn bind_two_record_xmpp_set_is_observed_whole_and_replaced_exactly() {
    let Some(bind) = bind_with_edge_test() else { return };
    let zone = "edge.test";
    // The administrator's design: a record per Edge pool, EdgePool1 first.
    bind.nsupdate(
        "zone edge.test\n\
         update add _xmpp-server._tcp.edge.test 300 SRV 10 50 5269 sip1.edge.test.\n\
         update add _xmpp-server._tcp.edge.test 300 SRV 20 60 5269 sip2.edge.test.",
    );
    let client = client(&bind);
    let backend = DnsBackend::new(client);
    let wanted = vec![(DnsName::xmpp_srv(&fqdn(zone)), RecordType::Srv)];

    // Observed whole, by the updater and by a plain query alike.
    let before = xmpp_set(zone, &[(10, 50, "sip1.edge.test"), (20, 60, "sip2.edge.test")]);
    let observed = backend.observe_records(&wanted).await.expect("observe");
    assert_eq!(observed, vec![before.clone()]);
    let plain = resolve_plain(Some(bind.addr()), &wanted, TIMEOUT).await.expect("plain");
    assert_eq!(plain, observed);

    // A version that read only the first record would expect a one-record
    // set: its update is refused and the set is not collapsed.
    let collapsed = xmpp_set(zone, &[(10, 50, "sip1.edge.test")]);
    let reordered = xmpp_set(zone, &[(10, 60, "sip2.edge.test"), (20, 50, "sip1.edge.test")]);
    let err = apply_dns(&backend, &set_srv(zone, &reordered, Some(collapsed)))
        .await
        .expect_err("a partial prerequisite must fail");
    assert_eq!(err.kind(), ErrorKind::Stale, "{err}");
    assert_eq!(
        bind.dig("_xmpp-server._tcp.edge.test", "SRV"),
        ["10 50 5269 sip1.edge.test.", "20 60 5269 sip2.edge.test."]
    );

    // The failover's reorder, guarded by the whole set, replaces it exactly.
    apply_dns(&backend, &set_srv(zone, &reordered, Some(before.clone())))
        .await
        .expect("reorder");
    assert_eq!(
        bind.dig("_xmpp-server._tcp.edge.test", "SRV"),
        ["10 60 5269 sip2.edge.test.", "20 50 5269 sip1.edge.test."]
    );
    assert_eq!(
        backend.observe_records(&wanted).await.expect("observe"),
        vec![reordered.clone()]
    );

    // Someone adds a third record behind our back: the next update is refused
    // and the third record stays.
    bind.nsupdate("zone edge.test\nupdate add _xmpp-server._tcp.edge.test 300 SRV 30 10 5269 sip3.edge.test.");
    let err = apply_dns(&backend, &set_srv(zone, &before, Some(reordered)))
        .await
        .expect_err("stale");
    assert_eq!(err.kind(), ErrorKind::Stale, "{err}");
    assert_eq!(bind.dig("_xmpp-server._tcp.edge.test", "SRV").len(), 3);
}

#[tokio::test]
async fn bind_refuses_a_wrong_key_with_a_clear_message() {
    let Some(bind) = bind_with_edge_test() else { return };
    let zone = "edge.test";
    let secret = "c2VjcmV0LXRoYXQtdGhlLXNlcnZlci1kb2VzLW5vdC1rbm93";
    let desired = a("xmpp.edge.test", 300, &["198.51.100.99"]);
    let observed = a("xmpp.edge.test", 300, &[INITIAL_XMPP_A]);

    for key_name in [support::KEY_NAME, "unknown-key"] {
        let key = TsigKey::from_spec(&format!("hmac-sha256:{key_name}:{secret}")).expect("key");
        let wrong = DnsClient::new(bind.addr(), Some(key), TIMEOUT);
        let err = wrong
            .update(&fqdn(zone), &desired, Some(&observed))
            .await
            .expect_err("a wrong key must be refused");
        assert!(matches!(err, DnsError::TsigRejected { .. }), "{key_name}: {err:?}");
        let msg = err.to_string();
        eprintln!("message: {msg}");
        for part in [
            &bind.addr().to_string(),
            "edge.test",
            "A xmpp.edge.test",
            key_name,
            "secret",
        ] {
            assert!(msg.contains(part), "`{part}` missing from: {msg}");
        }
        assert!(!msg.contains(secret) && !format!("{err:?}").contains(secret));
        assert!(!msg.contains("truncated"), "raw library message: {msg}");
    }
    // Without a key the update is refused by the zone's policy.
    let unsigned = DnsClient::new(bind.addr(), None, TIMEOUT);
    let err = unsigned
        .update(&fqdn(zone), &desired, Some(&observed))
        .await
        .expect_err("unsigned update must be refused");
    assert!(matches!(err, DnsError::UpdateRefused { .. }), "{err:?}");
    eprintln!("message: {err}");
    assert!(err.to_string().contains("EDGEFED_TSIG_KEY_FILE"), "{err}");

    assert_eq!(bind.dig("xmpp.edge.test", "A"), vec![INITIAL_XMPP_A]);
    let log = bind.log();
    assert!(
        log.contains("BADSIG") || log.contains("BADKEY") || log.contains("tsig"),
        "named did not log the TSIG failure:\n{log}"
    );
}

#[tokio::test]
async fn bind_change_behind_our_back_is_detected_and_not_overwritten() {
    let Some(bind) = bind_with_edge_test() else { return };
    let zone = "edge.test";
    let client = client(&bind);
    let observed = client.observe(&wanted(zone)).await.expect("observe");
    let observed_a = observed.first().cloned();
    assert_eq!(observed_a, Some(a("xmpp.edge.test", 300, &[INITIAL_XMPP_A])));

    // Someone else moves the A record and creates the SRV record.
    bind.nsupdate(
        "zone edge.test\n\
         update delete xmpp.edge.test A\n\
         update add xmpp.edge.test 300 A 203.0.113.7\n\
         update add _xmpp-server._tcp.edge.test 300 SRV 0 0 5269 other.edge.test.",
    );

    let err = client
        .update(
            &fqdn(zone),
            &a("xmpp.edge.test", 300, &["198.51.100.20"]),
            observed_a.as_ref(),
        )
        .await
        .expect_err("stale prerequisite must fail");
    match &err {
        DnsError::ChangedBehindOurBack {
            name: n,
            expected,
            found,
            ..
        } => {
            assert_eq!(n, &name("xmpp.edge.test"));
            assert_eq!(expected, &observed_a);
            assert_eq!(found, &Some(a("xmpp.edge.test", 300, &["203.0.113.7"])));
        }
        other => panic!("expected ChangedBehindOurBack, got {other:?}"),
    }
    let msg = err.to_string();
    eprintln!("message: {msg}");
    assert!(
        msg.contains("203.0.113.7") && msg.contains("192.0.2.10") && msg.contains("127.0.0.1"),
        "{msg}"
    );

    // The SRV we thought absent now exists: also detected.
    let err = client
        .update(&fqdn(zone), &srv(zone, "xmpp.edge.test"), None)
        .await
        .expect_err("absent prerequisite must fail");
    assert!(
        matches!(
            &err,
            DnsError::ChangedBehindOurBack {
                expected: None,
                found: Some(_),
                ..
            }
        ),
        "{err:?}"
    );

    // Nothing was overwritten.
    assert_eq!(bind.dig("xmpp.edge.test", "A"), vec!["203.0.113.7"]);
    assert_eq!(
        bind.dig("_xmpp-server._tcp.edge.test", "SRV"),
        vec!["0 0 5269 other.edge.test."]
    );
}

#[tokio::test]
async fn bind_unknown_zone_is_reported_with_server_zone_and_record() {
    if !need(DNS_TOOLS) {
        return;
    }
    let bind = Bind::start(&["edge.test".to_string()]);
    let client = client(&bind);
    let err = client
        .update(
            &fqdn("other.test"),
            &a("xmpp.other.test", 300, &["198.51.100.20"]),
            None,
        )
        .await
        .expect_err("zone not served");
    assert!(matches!(err, DnsError::UnknownZone { .. }), "{err:?}");
    let msg = err.to_string();
    eprintln!("message: {msg}");
    assert!(
        msg.contains("other.test") && msg.contains("A xmpp.other.test") && msg.contains(&bind.addr().to_string()),
        "{msg}"
    );
}

/// The DNS system's change of one operation.
async fn apply_dns(
    backend: &DnsBackend,
    op: &Operation,
) -> Result<edgefed::backend::Applied, edgefed::backend::BackendError> {
    match route(op) {
        Routed::Dns(update) => DnsSystem::apply(backend, &update).await,
        other => panic!("{op} is not routed to DNS: {other:?}"),
    }
}

#[tokio::test]
async fn dns_backend_applies_dns_actions_idempotently_and_reports_a_stale_prerequisite() {
    let Some(bind) = bind_with_edge_test() else { return };
    let zone = "edge.test";
    let backend = DnsBackend::new(client(&bind));

    let set_a = Operation::SetDnsA {
        zone: fqdn(zone),
        name: name("xmpp.edge.test"),
        addresses: vec![ip("198.51.100.21")],
        ttl: 300,
        observed: Some(a("xmpp.edge.test", 300, &[INITIAL_XMPP_A])),
    };
    let set_srv = Operation::SetDnsSrv {
        zone: fqdn(zone),
        name: DnsName::xmpp_srv(&fqdn(zone)),
        target: fqdn("xmpp.edge.test"),
        port: 5269,
        priority: 10,
        weight: 5,
        others: Vec::new(),
        ttl: 300,
        observed: None,
    };
    let applied = apply_dns(&backend, &set_a).await.expect("apply A");
    assert!(
        applied.detail.as_deref().is_some_and(|d| d.starts_with("updated")),
        "{applied:?}"
    );
    apply_dns(&backend, &set_srv).await.expect("apply SRV");
    // Applying again (stale prerequisite, effect already holds) succeeds.
    let again = apply_dns(&backend, &set_a).await.expect("re-apply A");
    assert!(
        again.detail.as_deref().is_some_and(|d| d.starts_with("already held")),
        "{again:?}"
    );
    assert_eq!(bind.dig("xmpp.edge.test", "A"), vec!["198.51.100.21"]);

    // A change whose expected record set is gone, and whose effect does not
    // hold: stale, with the DNS error kept as its source.
    let behind = Operation::SetDnsA {
        zone: fqdn(zone),
        name: name("xmpp.edge.test"),
        addresses: vec![ip("198.51.100.22")],
        ttl: 300,
        observed: Some(a("xmpp.edge.test", 300, &[INITIAL_XMPP_A])),
    };
    let err = apply_dns(&backend, &behind).await.expect_err("stale");
    assert_eq!(err.kind(), ErrorKind::Stale, "{err}");
    assert!(
        matches!(err.dns_error(), Some(DnsError::ChangedBehindOurBack { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("changed behind our back"), "{err}");
    assert_eq!(bind.dig("xmpp.edge.test", "A"), vec!["198.51.100.21"]);

    let observed = DnsSystem::observe(&backend, &wanted(zone)).await.expect("observe");
    assert_eq!(observed.records.len(), 2);
    assert!(observed.warnings.is_empty());
}

#[tokio::test]
async fn dns_timeout_names_the_server() {
    // A UDP socket that never answers: no server needed.
    let silent = tokio::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind");
    let addr = silent.local_addr().expect("addr");
    let key = TsigKey::new(
        "edgefed-key",
        TsigAlgo::HmacSha256,
        b"0123456789abcdef0123456789abcdef".to_vec(),
    )
    .expect("key");
    let client = DnsClient::new(addr, Some(key), Duration::from_millis(300));
    let err = client
        .update(&fqdn("edge.test"), &a("xmpp.edge.test", 300, &["198.51.100.1"]), None)
        .await
        .expect_err("no answer");
    assert!(matches!(err, DnsError::Timeout { .. }), "{err:?}");
    let msg = err.to_string();
    eprintln!("message: {msg}");
    assert!(
        msg.contains(&addr.to_string()) && msg.contains("A xmpp.edge.test"),
        "{msg}"
    );
    let err = client.observe(&wanted("edge.test")).await.expect_err("no answer");
    assert!(matches!(err, DnsError::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn prosody_answers_the_xmpp_server_probe() {
    if !need(&["prosody"]) {
        return;
    }
    let prosody = Prosody::start("xmpp.edge.test");
    let kind = probe_kind_for_port(5269, "xmpp.edge.test", CertificateCheck::default());
    assert_eq!(
        kind,
        ProbeKind::XmppServer {
            domain: "xmpp.edge.test".into(),
            certificate: CertificateCheck::default(),
        }
    );
    let answer = probe(prosody.addr(), &kind, TIMEOUT).await.expect("prosody answers");
    assert!(
        answer
            .answered
            .starts_with("XMPP stream header from xmpp.edge.test (id="),
        "{}",
        answer.answered
    );
    assert!(answer.elapsed < TIMEOUT);
}

#[tokio::test]
async fn closed_port_and_non_xmpp_listener_fail_with_distinct_messages() {
    // A closed port: bind, take the port, close.
    let closed = {
        let l = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        l.local_addr().expect("addr")
    };
    let kind = ProbeKind::XmppServer {
        domain: "xmpp.edge.test".into(),
        certificate: CertificateCheck::default(),
    };
    let refused = probe(closed, &kind, TIMEOUT).await.expect_err("closed");
    assert!(matches!(refused, ProbeError::ConnectionRefused { .. }), "{refused:?}");
    eprintln!("message: {refused}");
    assert!(refused.to_string().contains("connection refused"));

    // An HTTP server.
    let http = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
    let http_addr = http.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = http.accept().await {
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    let not_xmpp = probe(http_addr, &kind, TIMEOUT).await.expect_err("http");
    match &not_xmpp {
        ProbeError::NotXmpp { first_bytes, .. } => {
            assert_eq!(
                first_bytes,
                "HTTP/1.1 400 Bad Request\\r\\nContent-Length: 0\\r\\n\\r\\n"
            );
        }
        other => panic!("expected NotXmpp, got {other:?}"),
    }
    eprintln!("message: {not_xmpp}");
    assert!(not_xmpp.to_string().contains("answered but not XMPP"));
    assert_ne!(refused.to_string(), not_xmpp.to_string());

    // A listener that accepts but never speaks: a timeout.
    let silent = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
    let silent_addr = silent.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let timeout = probe(silent_addr, &kind, Duration::from_millis(300))
        .await
        .expect_err("silent");
    eprintln!("message: {timeout}");
    assert!(matches!(timeout, ProbeError::Timeout { .. }), "{timeout:?}");
    // A bare TCP probe passes against the same listener.
    let tcp = probe(silent_addr, &ProbeKind::Tcp, TIMEOUT).await.expect("tcp");
    assert_eq!(tcp.answered, "TCP connection accepted");
}

/// A TLS 1.2 server that requires a client certificate (like Lync's Access
/// Edge on 5061).
async fn mutual_tls12_listener() -> SocketAddr {
    let (ca_der, _) = support::self_signed("client-ca.edge.test");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca_der).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client_verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .build()
            .expect("client verifier");
    let (cert, key) = support::self_signed("sip.edge.test");
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .expect("versions")
        .with_client_cert_verifier(client_verifier)
        .with_single_cert(vec![cert], key)
        .expect("server config");
    serve_tls(config).await
}

async fn serve_tls(config: rustls::ServerConfig) -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    support::serve_tls(listener, config);
    addr
}

async fn tls_listener() -> SocketAddr {
    serve_tls(support::tls_server_config("sip.edge.test")).await
}

#[tokio::test]
async fn tls_listener_passes_the_tls_probe_and_plain_tcp_fails_it() {
    let addr = tls_listener().await;
    let kind = probe_kind_for_port(5061, "edge.test", hosts(&["sip.edge.test"]));
    assert!(matches!(&kind, ProbeKind::Tls { server_name, .. } if server_name == "sip.edge.test"));
    let answer = probe(addr, &kind, TIMEOUT).await.expect("tls answers");
    assert_eq!(
        answer.answered,
        "TLS 1.3 handshake, certificate subject CN=sip.edge.test, SANs DNS:sip.edge.test; covers sip.edge.test; chain not validated (no --probe-ca-file)"
    );
    // Without a host to check, the answer says so.
    let unnamed = probe(
        addr,
        &probe_kind_for_port(5061, "edge.test", CertificateCheck::default()),
        TIMEOUT,
    )
    .await
    .expect("tls answers");
    assert!(
        unnamed
            .answered
            .contains("; no federation host to check (the document manages no DNS host for this port);"),
        "{}",
        unnamed.answered
    );

    // A plain-text listener is not TLS.
    let plain = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
    let plain_addr = plain.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = plain.accept().await {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        }
    });
    let err = probe(plain_addr, &kind, TIMEOUT).await.expect_err("not tls");
    assert!(matches!(err, ProbeError::TlsHandshake { .. }), "{err:?}");
    eprintln!("message: {err}");
    assert!(err.to_string().contains("TLS handshake failed"), "{err}");

    // A mutual-TLS 1.2 server that aborts for want of a client certificate
    // still answered TLS.
    let mtls = probe(mutual_tls12_listener().await, &kind, TIMEOUT)
        .await
        .expect("mutual TLS server answers");
    eprintln!("answered: {}", mtls.answered);
    assert!(
        mtls.answered.starts_with(
            "TLS handshake up to the server's certificate, then the server required a client certificate (mutual TLS, alert "
        ) && mtls.answered.ends_with("certificate subject CN=sip.edge.test, SANs DNS:sip.edge.test; covers sip.edge.test; chain not validated (no --probe-ca-file)"),
        "{}",
        mtls.answered
    );
}

/// A fake XMPP server answering after `delay`, recording the most
/// connections it held at once.
async fn slow_xmpp_listener(delay: Duration) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let current = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let max_out = Arc::clone(&max);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let current = Arc::clone(&current);
            let max = Arc::clone(&max);
            tokio::spawn(async move {
                let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(now, Ordering::SeqCst);
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf).await;
                tokio::time::sleep(delay).await;
                current.fetch_sub(1, Ordering::SeqCst);
                let _ = s
                    .write_all(b"<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' from='fake.edge.test' id='f1' version='1.0'><stream:features/>")
                    .await;
            });
        }
    });
    (addr, max_out)
}

#[tokio::test]
async fn probe_many_keeps_order_and_bounds_concurrency() {
    let (xmpp, max_in_flight) = slow_xmpp_listener(Duration::from_millis(100)).await;
    let closed = {
        let l = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        l.local_addr().expect("addr")
    };
    let kind = probe_kind_for_port(5269, "fake.edge.test", CertificateCheck::default());
    let targets: Vec<ProbeTarget> = (0..20)
        .map(|i| ProbeTarget {
            addr: if i % 2 == 0 { xmpp } else { closed },
            kind: kind.clone(),
        })
        .collect();
    let results = probe_many(&targets, 4, TIMEOUT).await;
    assert_eq!(results.len(), 20);
    for (i, r) in results.iter().enumerate() {
        if i % 2 == 0 {
            let answer = r.as_ref().expect("fake XMPP answers");
            assert_eq!(
                answer.answered,
                "XMPP stream header from fake.edge.test (id=f1, version=1.0); no STARTTLS offered, the certificate was not checked"
            );
        } else {
            assert!(matches!(r, Err(ProbeError::ConnectionRefused { .. })), "{i}: {r:?}");
        }
    }
    let max = max_in_flight.load(std::sync::atomic::Ordering::SeqCst);
    assert!((2..=4).contains(&max), "{max} probes in flight at once, bound is 4");
    assert_eq!(
        probe_kind_for_port(443, "x", CertificateCheck::default()),
        ProbeKind::Tcp
    );
}

/// Collects everything tracing writes.
#[derive(Clone, Default)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = Self;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn tsig_secret_never_appears_in_trace_logs() {
    let Some(bind) = bind_with_edge_test() else { return };
    let zone = "edge.test";
    let key_text = std::fs::read_to_string(&bind.key_file).expect("key file");
    let secret = key_text
        .split('"')
        .nth(3)
        .expect("secret in the tsig-keygen output")
        .to_string();
    assert!(secret.len() >= 40, "{secret}");

    let logs = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let client = client(&bind);
    let shown = format!("{client:?}");
    assert!(!shown.contains(&secret), "{shown}");
    client
        .update(
            &fqdn(zone),
            &a("xmpp.edge.test", 300, &["198.51.100.30"]),
            Some(&a("xmpp.edge.test", 300, &[INITIAL_XMPP_A])),
        )
        .await
        .expect("update");
    let wrong = DnsClient::new(
        bind.addr(),
        Some(
            TsigKey::from_spec(&format!(
                "{}:{}",
                support::KEY_NAME,
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
            ))
            .expect("key"),
        ),
        TIMEOUT,
    );
    let _ = wrong
        .update(&fqdn(zone), &a("xmpp.edge.test", 300, &["198.51.100.31"]), None)
        .await;
    drop(_guard);

    let text = String::from_utf8_lossy(&logs.0.lock().expect("logs")).into_owned();
    assert!(text.contains("sending DNS UPDATE"), "no trace output captured");
    assert!(!text.contains(&secret), "secret in logs");
    let raw = base64_decode(&secret);
    assert!(!text.contains(&format!("{raw:?}")), "raw key bytes in logs");
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).expect("base64")
}

/// A TLS listener presenting `leaf`.
async fn tls_listener_with(leaf: &support::Leaf) -> SocketAddr {
    serve_tls(support::tls_server_config_for(leaf)).await
}

fn trust(path: &std::path::Path) -> TrustAnchors {
    TrustAnchors::from_pem_file(path).expect("CA file")
}

#[tokio::test]
async fn tls_probe_passes_a_certificate_covering_the_host_and_fails_one_that_does_not() {
    let ca = TestCa::new("Edge Test CA");
    let leaf = ca.issue("sip.edge.test", &["sip.edge.test", "access.edge.test"]);
    let addr = tls_listener_with(&leaf).await;

    let covered = probe(
        addr,
        &probe_kind_for_port(5061, "edge.test", hosts(&["access.edge.test"])),
        TIMEOUT,
    )
    .await
    .expect("the certificate covers access.edge.test");
    assert_eq!(
        covered.answered,
        "TLS 1.3 handshake, certificate subject CN=sip.edge.test, SANs DNS:sip.edge.test DNS:access.edge.test; covers access.edge.test; chain not validated (no --probe-ca-file)"
    );

    // DNS points federation at a name the certificate does not carry: the
    // probe fails, naming the name, the subject and the SANs.
    let kind = probe_kind_for_port(5061, "edge.test", hosts(&["sip.edge.test", "sip.other.test"]));
    let err = probe(addr, &kind, TIMEOUT)
        .await
        .expect_err("sip.other.test is not covered");
    eprintln!("message: {err}");
    match &err {
        ProbeError::CertificateNameMismatch {
            uncovered, identity, ..
        } => {
            assert_eq!(uncovered, &["sip.other.test"]);
            assert_eq!(identity.subject, "CN=sip.edge.test");
            assert_eq!(identity.sans, ["DNS:sip.edge.test", "DNS:access.edge.test"]);
        }
        other => panic!("expected CertificateNameMismatch, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("{addr}: the certificate does not cover sip.other.test: it has subject CN=sip.edge.test, SANs DNS:sip.edge.test DNS:access.edge.test; re-issue the certificate with sip.other.test among its SANs, or fix DNS")),
        "{msg}"
    );
    let backend = edgefed::backend::BackendError::from(err);
    assert_eq!(backend.kind(), ErrorKind::Refused);

    // The subject CN alone does not cover a name: only the SANs count, as
    // for a federating peer.
    let cn_only = ca.issue("sip.edge.test", &["access.edge.test"]);
    let err = probe(
        tls_listener_with(&cn_only).await,
        &probe_kind_for_port(5061, "edge.test", hosts(&["sip.edge.test"])),
        TIMEOUT,
    )
    .await
    .expect_err("a CN without a SAN does not cover the name");
    assert!(matches!(err, ProbeError::CertificateNameMismatch { .. }), "{err:?}");
}

#[tokio::test]
async fn a_mutual_tls_server_whose_certificate_misses_the_host_fails() {
    let kind = probe_kind_for_port(5061, "edge.test", hosts(&["sip.other.test"]));
    let err = probe(mutual_tls12_listener().await, &kind, TIMEOUT)
        .await
        .expect_err("the certificate does not cover sip.other.test");
    assert!(
        matches!(&err, ProbeError::CertificateNameMismatch { uncovered, .. } if uncovered == &["sip.other.test"]),
        "{err:?}"
    );
}

#[tokio::test]
async fn tls_probe_validates_the_chain_to_the_ca_file_when_given_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new("Edge Test CA");
    let other = TestCa::new("Someone Else's CA");
    let right = ca.write_pem(dir.path(), "edge-ca.pem");
    let wrong = other.write_pem(dir.path(), "other-ca.pem");
    let addr = tls_listener_with(&ca.issue("sip.edge.test", &["sip.edge.test"])).await;
    let check = |ca_file: &std::path::Path| CertificateCheck {
        hosts: vec!["sip.edge.test".into()],
        trust: Some(trust(ca_file)),
    };

    let ok = probe(addr, &probe_kind_for_port(5061, "edge.test", check(&right)), TIMEOUT)
        .await
        .expect("the chain validates to the right CA");
    assert_eq!(
        ok.answered,
        format!(
            "TLS 1.3 handshake, certificate subject CN=sip.edge.test, SANs DNS:sip.edge.test; covers sip.edge.test; chain validates to the CA in {}",
            right.display()
        )
    );

    let err = probe(addr, &probe_kind_for_port(5061, "edge.test", check(&wrong)), TIMEOUT)
        .await
        .expect_err("not issued by the other CA");
    eprintln!("message: {err}");
    assert!(
        matches!(&err, ProbeError::CertificateNotTrusted { ca, .. } if ca == &wrong),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("does not validate to the CA in {}", wrong.display()))
            && msg.contains("unknown issuer")
            && msg.contains("subject CN=sip.edge.test, SANs DNS:sip.edge.test"),
        "{msg}"
    );

    // A self-signed certificate validates to no CA file.
    let (self_signed, _) = support::self_signed("sip.edge.test");
    let self_ca = dir.path().join("self.pem");
    std::fs::write(&self_ca, ca.pem()).expect("write");
    drop(self_signed);
    let err = probe(
        tls_listener().await,
        &probe_kind_for_port(5061, "edge.test", check(&self_ca)),
        TIMEOUT,
    )
    .await
    .expect_err("self-signed");
    assert!(matches!(err, ProbeError::CertificateNotTrusted { .. }), "{err:?}");
}

#[tokio::test]
async fn prosody_without_a_certificate_cannot_show_one() {
    if !need(&["prosody"]) {
        return;
    }
    let prosody = Prosody::start("xmpp.edge.test");
    let kind = probe_kind_for_port(5269, "xmpp.edge.test", hosts(&["xmpp.edge.test"]));
    let err = probe(prosody.addr(), &kind, TIMEOUT).await.expect_err("no STARTTLS");
    eprintln!("message: {err}");
    assert!(
        matches!(&err, ProbeError::NoStartTls { hosts, .. } if hosts == &["xmpp.edge.test"]),
        "{err:?}"
    );
    assert!(err.to_string().contains("did not offer STARTTLS"), "{err}");
}

#[tokio::test]
async fn prosody_starttls_shows_a_certificate_checked_like_5061() {
    if !need(&["prosody"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new("Edge Test CA");
    let right = ca.write_pem(dir.path(), "edge-ca.pem");
    let wrong = TestCa::new("Someone Else's CA").write_pem(dir.path(), "other-ca.pem");
    let leaf = ca.issue("xmpp.edge.test", &["xmpp.edge.test"]);
    let prosody = Prosody::start_with_certificate("xmpp.edge.test", &leaf);
    let check = |names: &[&str], ca_file: Option<&std::path::Path>| CertificateCheck {
        hosts: names.iter().map(|n| (*n).to_string()).collect(),
        trust: ca_file.map(trust),
    };

    let ok = probe(
        prosody.addr(),
        &probe_kind_for_port(5269, "xmpp.edge.test", check(&["xmpp.edge.test"], Some(&right))),
        TIMEOUT,
    )
    .await
    .expect("STARTTLS with a covering, trusted certificate");
    eprintln!("answered: {}", ok.answered);
    assert!(
        ok.answered.starts_with("XMPP stream header from xmpp.edge.test (id=")
            && ok.answered.contains("; STARTTLS, TLS 1.")
            && ok.answered.ends_with(&format!(
                " handshake, certificate subject CN=xmpp.edge.test, SANs DNS:xmpp.edge.test; covers xmpp.edge.test; chain validates to the CA in {}",
                right.display()
            )),
        "{}",
        ok.answered
    );

    let err = probe(
        prosody.addr(),
        &probe_kind_for_port(5269, "xmpp.edge.test", check(&["xmpp.other.test"], None)),
        TIMEOUT,
    )
    .await
    .expect_err("xmpp.other.test is not covered");
    eprintln!("message: {err}");
    assert!(
        matches!(&err, ProbeError::CertificateNameMismatch { uncovered, .. } if uncovered == &["xmpp.other.test"]),
        "{err:?}"
    );

    let err = probe(
        prosody.addr(),
        &probe_kind_for_port(5269, "xmpp.edge.test", check(&["xmpp.edge.test"], Some(&wrong))),
        TIMEOUT,
    )
    .await
    .expect_err("not issued by the other CA");
    assert!(matches!(err, ProbeError::CertificateNotTrusted { .. }), "{err:?}");
}

#[tokio::test]
async fn bind_an_update_ignored_for_a_cname_fails_naming_the_cname() {
    let Some(bind) = bind_with_edge_test() else { return };
    let zone = "edge.test";
    // Someone made the federation names aliases of another host.
    bind.nsupdate(
        "zone edge.test\n\
         update add sip.edge.test 300 CNAME xmpp.edge.test.\n\
         update add _xmpp-server._tcp.edge.test 300 CNAME srv.elsewhere.test.",
    );
    let backend = DnsBackend::new(client(&bind));

    // The A record is not there to be seen (the answer's A is the alias
    // target's), so the plan creates it; the server answers NOERROR and
    // ignores the add (RFC 2136 §3.4.2.2).
    let wanted_a = vec![(name("sip.edge.test"), RecordType::A)];
    assert_eq!(backend.observe_records(&wanted_a).await.expect("observe"), vec![]);
    let set_a = Operation::SetDnsA {
        zone: fqdn(zone),
        name: name("sip.edge.test"),
        addresses: vec![ip("198.51.100.40")],
        ttl: 300,
        observed: None,
    };
    let err = apply_dns(&backend, &set_a).await.expect_err("the A add was ignored");
    eprintln!("message: {err}");
    assert_eq!(err.kind(), ErrorKind::Refused, "{err}");
    assert!(
        matches!(err.dns_error(), Some(DnsError::IgnoredForCname { cname, .. }) if cname == "xmpp.edge.test."),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with("sip.edge.test holds a CNAME to xmpp.edge.test.; DNS server 127.0.0.1:")
            && msg.contains("ignored the A update in zone edge.test — remove the CNAME"),
        "{msg}"
    );
    assert_eq!(bind.dig("sip.edge.test", "CNAME"), ["xmpp.edge.test."]);

    // The same for an SRV set at an alias.
    let err = apply_dns(&backend, &set_srv(zone, &srv(zone, "sip.edge.test"), None))
        .await
        .expect_err("the SRV add was ignored");
    eprintln!("message: {err}");
    assert!(
        err.to_string()
            .starts_with("_xmpp-server._tcp.edge.test holds a CNAME to srv.elsewhere.test.; DNS server")
            && err.to_string().contains("ignored the SRV update"),
        "{err}"
    );
}

/// A UDP "DNS server" on loopback that answers every message NOERROR with
/// no records: it accepts updates and keeps nothing.
async fn server_that_keeps_nothing() -> SocketAddr {
    server_answering(hickory_proto::op::ResponseCode::NoError).await
}

/// A UDP "DNS server" on loopback that answers every message with `rcode`
/// and no records.
async fn server_answering(rcode: hickory_proto::op::ResponseCode) -> SocketAddr {
    use hickory_proto::op::{Message, MessageType};
    let socket = tokio::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind");
    let addr = socket.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok((len, peer)) = socket.recv_from(&mut buf).await {
            let Some(bytes) = buf.get(..len) else { continue };
            let Ok(mut message) = Message::from_vec(bytes) else {
                continue;
            };
            message.metadata.message_type = MessageType::Response;
            message.metadata.response_code = rcode;
            message.answers.clear();
            message.authorities.clear();
            message.additionals.clear();
            if let Ok(answer) = message.to_vec() {
                let _ = socket.send_to(&answer, peer).await;
            }
        }
    });
    addr
}

#[tokio::test]
async fn an_update_answered_noerror_that_did_not_stick_is_a_failure() {
    let addr = server_that_keeps_nothing().await;
    let client = DnsClient::new(addr, None, TIMEOUT);
    let desired = a("xmpp.edge.test", 300, &["198.51.100.50"]);
    let err = client
        .update(&fqdn("edge.test"), &desired, None)
        .await
        .expect_err("the server kept nothing");
    eprintln!("message: {err}");
    match &err {
        DnsError::NotApplied { expected, found, .. } => {
            assert_eq!(expected, &desired);
            assert_eq!(found, &None);
        }
        other => panic!("expected NotApplied, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "DNS server {addr} accepted the update of A xmpp.edge.test in zone edge.test, but reading it back gives absent instead of A/AAAA 198.51.100.50 (ttl 300): the change did not stick — check the server's log and the zone's update-policy, then run again"
        )
    );
    assert_eq!(edgefed::backend::BackendError::from(err).kind(), ErrorKind::Refused);
}

#[tokio::test]
async fn bind_eighty_a_records_at_one_name_are_read_whole_over_tcp() {
    let Some(bind) = bind_with_edge_test() else { return };
    let zone = "edge.test";
    let addresses: Vec<String> = (1..=80).map(|i| format!("198.51.100.{i}")).collect();
    let script: String = addresses
        .iter()
        .map(|a| format!("update add many.edge.test 300 A {a}\n"))
        .collect();
    bind.nsupdate(&format!("zone edge.test\n{script}"));
    assert_eq!(bind.dig("many.edge.test", "A").len(), 80);

    let refs: Vec<&str> = addresses.iter().map(String::as_str).collect();
    let expected = a("many.edge.test", 300, &refs);
    let wanted = vec![(name("many.edge.test"), RecordType::A)];
    // Too large for one UDP answer: the server sets TC and edgefed asks again
    // over TCP, through the updater and the plain resolver alike.
    let observed = client(&bind).observe(&wanted).await.expect("observe");
    assert_eq!(observed, vec![expected.clone()]);
    let plain = resolve_plain(Some(bind.addr()), &wanted, TIMEOUT).await.expect("plain");
    assert_eq!(plain, vec![expected.clone()]);

    // Replacing the set reads it back over TCP too.
    let fewer = a("many.edge.test", 300, &refs[..79]);
    client(&bind)
        .update(&fqdn(zone), &fewer, Some(&expected))
        .await
        .expect("update read back whole");
    assert_eq!(bind.dig("many.edge.test", "A").len(), 79);
}

#[tokio::test]
async fn bind_srv_target_that_is_not_a_host_name_is_an_error_naming_the_record() {
    let Some(bind) = bind_with_edge_test() else { return };
    let zone = "edge.test";
    let client = client(&bind);
    let wanted = vec![(DnsName::xmpp_srv(&fqdn(zone)), RecordType::Srv)];

    // `.`: "service decidedly not available" (RFC 2782).
    bind.nsupdate("zone edge.test\nupdate add _xmpp-server._tcp.edge.test 300 SRV 0 0 0 .");
    let err = client.observe(&wanted).await.expect_err("a `.` target");
    eprintln!("message: {err}");
    assert!(matches!(err, DnsError::UnusableRecord { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "DNS server {} holds SRV _xmpp-server._tcp.edge.test with data `0 0 0 .`: a target of `.` means \"service decidedly not available\" (RFC 2782), which edgefed does not manage — delete that record (nsupdate: `update delete _xmpp-server._tcp.edge.test SRV`) and run again",
            bind.addr()
        )
    );
    let plain = resolve_plain(Some(bind.addr()), &wanted, TIMEOUT)
        .await
        .expect_err("the plain resolver too");
    assert!(matches!(plain, DnsError::UnusableRecord { .. }), "{plain:?}");

    // A target with a label that is no host name, beside a good record.
    bind.nsupdate(
        "check-names no\n\
         zone edge.test\n\
         update delete _xmpp-server._tcp.edge.test SRV\n\
         update add _xmpp-server._tcp.edge.test 300 SRV 10 5 5269 xmpp.edge.test.\n\
         update add _xmpp-server._tcp.edge.test 300 SRV 20 5 5269 bad_label.edge.test.",
    );
    let err = client.observe(&wanted).await.expect_err("an invalid target");
    eprintln!("message: {err}");
    let msg = err.to_string();
    assert!(
        msg.contains("holds SRV _xmpp-server._tcp.edge.test with data `20 5 5269 bad_label.edge.test.`: the target is not a valid host name (")
            && msg.contains("bad_label")
            && msg.ends_with("fix or delete that record on the server, then run again"),
        "{msg}"
    );
    // Through the backend it is a failure to read, not an absent set.
    let backend = DnsBackend::new(client);
    let err = DnsSystem::observe(&backend, &wanted).await.expect_err("unreadable");
    assert_eq!(err.kind(), ErrorKind::Failed, "{err}");
}

#[tokio::test]
async fn plain_queries_go_down_the_resolver_list_past_a_silent_server_only() {
    if !need(DNS_TOOLS) {
        return;
    }
    let bind = Bind::start(&["edge.test".to_string()]);
    let silent = tokio::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind");
    let silent_addr = silent.local_addr().expect("addr");
    let short = Duration::from_millis(300);
    let wanted = wanted("edge.test");
    let expected = vec![a("xmpp.edge.test", 300, &[INITIAL_XMPP_A])];

    // A silent first server: the second answers.
    let found = resolve_from(&[silent_addr, bind.addr()], &wanted, short)
        .await
        .expect("the second server answers");
    assert_eq!(found, expected);
    // An answer is final, even an error: the next server is not asked.
    let refusing = server_answering(hickory_proto::op::ResponseCode::Refused).await;
    let err = resolve_from(&[refusing, bind.addr()], &wanted, short)
        .await
        .expect_err("REFUSED is an answer");
    assert!(
        matches!(&err, DnsError::QueryFailed { server, rcode, .. } if *server == refusing && rcode == "REFUSED"),
        "{err:?}"
    );
    // All silent: the last server's timeout; none: no resolver.
    let err = resolve_from(&[silent_addr], &wanted, short).await.expect_err("silent");
    assert!(
        matches!(err, DnsError::Timeout { server, .. } if server == silent_addr),
        "{err:?}"
    );
    let err = resolve_from(&[], &wanted, short).await.expect_err("none");
    assert!(matches!(err, DnsError::NoResolver { .. }), "{err:?}");
}
