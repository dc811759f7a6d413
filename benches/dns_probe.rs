//! Benchmarks against local servers: observe and update the managed records
//! of 100 BIND zones, and probe latency for 100 concurrent probes.
//! Prints why and exits 0 when the servers are not installed.

#[path = "../tests/support/mod.rs"]
mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use edgefed::dns::{DnsClient, TsigKey};
use edgefed::model::{DnsName, DnsRecord, Fqdn, RecordType, SrvTarget};
use edgefed::probe::{CertificateCheck, ProbeKind, ProbeTarget, probe_many};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

const ZONES: usize = 100;
const PROBES: usize = 100;
const TIMEOUT: Duration = Duration::from_secs(5);

fn main() {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            println!("dns_probe bench: cannot start a tokio runtime: {e}");
            return;
        }
    };
    runtime.block_on(async {
        dns_bench().await;
        probe_bench().await;
    });
}

fn available(tools: &[&str]) -> Result<(), String> {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| support::tool(t).is_none()).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} not installed (run .ci/install-test-servers)",
            missing.join(", ")
        ))
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn dns_bench() {
    if let Err(why) = available(&["named", "tsig-keygen", "dig"]) {
        println!("dns bench skipped: {why}");
        return;
    }
    let zones: Vec<String> = (0..ZONES).map(|i| format!("z{i:03}.bench.test")).collect();
    let start = Instant::now();
    let bind = support::Bind::start(&zones);
    println!("BIND with {ZONES} zones started in {}", ms(start.elapsed()));
    let key = TsigKey::from_file(&bind.key_file).expect("key");
    let client = Arc::new(DnsClient::new(bind.addr(), Some(key), TIMEOUT));
    let wanted: Vec<(DnsName, RecordType)> = zones
        .iter()
        .flat_map(|z| {
            let zone = Fqdn::parse(z).expect("zone");
            [
                (DnsName::parse(&format!("xmpp.{z}")).expect("name"), RecordType::A),
                (DnsName::xmpp_srv(&zone), RecordType::Srv),
            ]
        })
        .collect();

    // Warm up (socket, runtime), then observe all records of all zones.
    client.observe(&wanted[..2]).await.expect("warm-up");
    let start = Instant::now();
    let observed = client.observe(&wanted).await.expect("observe");
    let took = start.elapsed();
    println!(
        "observe: {} record sets ({} names, {} queries: A+AAAA+SRV) of {ZONES} zones in {}",
        observed.len(),
        wanted.len(),
        ZONES * 3,
        ms(took)
    );

    // Update: one XMPP A (moved) + one SRV (created) per zone, zones in
    // parallel (8 at a time), the two records of a zone one after another.
    let start = Instant::now();
    let mut set = JoinSet::new();
    let permits = Arc::new(tokio::sync::Semaphore::new(8));
    for z in zones.clone() {
        let client = Arc::clone(&client);
        let permits = Arc::clone(&permits);
        set.spawn(async move {
            let _p = permits.acquire_owned().await.ok();
            let zone = Fqdn::parse(&z).expect("zone");
            let name = DnsName::parse(&format!("xmpp.{z}")).expect("name");
            let old = DnsRecord::A {
                name: name.clone(),
                ttl: 300,
                addresses: vec![IpAddr::from([192, 0, 2, 10])],
            };
            let new = DnsRecord::A {
                name,
                ttl: 300,
                addresses: vec![IpAddr::from([198, 51, 100, 20])],
            };
            client.update(&zone, &new, Some(&old)).await?;
            let srv = DnsRecord::srv(
                DnsName::xmpp_srv(&zone),
                300,
                vec![SrvTarget {
                    priority: 10,
                    weight: 5,
                    port: 5269,
                    target: Fqdn::parse(&format!("xmpp.{z}")).expect("target"),
                }],
            );
            client.update(&zone, &srv, None).await
        });
    }
    let mut failures = 0;
    while let Some(r) = set.join_next().await {
        if !matches!(r, Ok(Ok(()))) {
            failures += 1;
        }
    }
    let took = start.elapsed();
    println!(
        "update: {} UPDATEs (A + SRV in {ZONES} zones, 8 zones at a time) in {} ({:.2} ms per update), {failures} failed",
        ZONES * 2,
        ms(took),
        took.as_secs_f64() * 1000.0 / (ZONES * 2) as f64
    );
    let after = client.observe(&wanted).await.expect("observe after");
    println!(
        "after update: {} record sets observed (expected {})",
        after.len(),
        ZONES * 2
    );
}

/// A fake XMPP server answering the stream header at once.
async fn xmpp_listener() -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' from='bench.test' id='b' version='1.0'><stream:features/>")
                    .await;
            });
        }
    });
    Ok(addr)
}

async fn tls_listener() -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    support::serve_tls(listener, support::tls_server_config("sip.bench.test"));
    addr
}

async fn run_probes(label: &str, addr: SocketAddr, kind: ProbeKind) {
    let targets: Vec<ProbeTarget> = (0..PROBES)
        .map(|_| ProbeTarget {
            addr,
            kind: kind.clone(),
        })
        .collect();
    let start = Instant::now();
    let results = probe_many(&targets, PROBES, TIMEOUT).await;
    let total = start.elapsed();
    let mut times: Vec<Duration> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|a| a.elapsed))
        .collect();
    let failed = PROBES - times.len();
    times.sort();
    let pct = |p: usize| {
        times
            .get((times.len() * p / 100).min(times.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "probe {label}: {PROBES} concurrent: p50 {}, p95 {}, total {}, {failed} failed",
        ms(pct(50)),
        ms(pct(95)),
        ms(total)
    );
}

async fn probe_bench() {
    match xmpp_listener().await {
        Ok(addr) => {
            run_probes("TCP (in-process listener)", addr, ProbeKind::Tcp).await;
            run_probes(
                "XMPP (in-process fake)",
                addr,
                ProbeKind::XmppServer {
                    domain: "bench.test".into(),
                    certificate: CertificateCheck::default(),
                },
            )
            .await;
        }
        Err(e) => println!("probe bench: cannot listen on loopback: {e}"),
    }
    run_probes(
        "TLS (in-process rustls listener)",
        tls_listener().await,
        ProbeKind::Tls {
            server_name: "sip.bench.test".into(),
            certificate: CertificateCheck {
                hosts: vec!["sip.bench.test".into()],
                trust: None,
            },
        },
    )
    .await;
    match available(&["prosody"]) {
        Ok(()) => {
            let prosody = support::Prosody::start("bench.test");
            run_probes(
                "XMPP (prosody)",
                prosody.addr(),
                ProbeKind::XmppServer {
                    domain: "bench.test".into(),
                    certificate: CertificateCheck::default(),
                },
            )
            .await;
        }
        Err(why) => println!("prosody probe bench skipped: {why}"),
    }
}
