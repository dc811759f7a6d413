//! Benchmark: a ~50 MB published topology with 10,000 pools (5,000 sites,
//! each with a Front End pool and an Edge pool), timed through parse +
//! model extraction + one edit + write, with the process's peak memory
//! (`VmHWM`). Targets: under 1 s, peak under 3× the file size.
//!
//! Run with `cargo bench --bench topology`.

use std::fmt::Write as _;
use std::time::Instant;

use edgefed::model::Fqdn;
use edgefed::topology::{TopologyDocument, TopologyEdit};

const SITES: usize = 5_000;
const EDGE_MACHINES: usize = 4;
const FE_MACHINES: usize = 15;

fn edge_ports(out: &mut String, n: usize, federation: bool) {
    let ext = format!("sip{n}.contoso.com");
    let av = format!("av{n}.contoso.com");
    let p = |out: &mut String, owner: &str, usage: &str, side: &str, port: u32, proto: &str, extra: &str| {
        let _ = writeln!(
            out,
            r#"        <Port Owner="urn:component:{owner}" Usage="{usage}" InterfaceSide="{side}" InterfaceNumber="1" Port="{port}" Protocol="{proto}" UrlPath="/" AuthorizesRequests="false"{extra} />"#
        );
    };
    p(out, "AccessEdge", "SipServer", "Internal", 5061, "Mtls", "");
    p(
        out,
        "AccessEdge",
        "SipClient",
        "External",
        443,
        "Tls",
        &format!(r#" ConfiguredFqdn="{ext}""#),
    );
    p(out, "DataEdge", "PsomServer", "Internal", 8057, "Mtls", "");
    p(
        out,
        "DataEdge",
        "PsomClient",
        "External",
        443,
        "Tls",
        &format!(r#" ConfiguredFqdn="webconf{n}.contoso.com""#),
    );
    p(
        out,
        "MediaRelayAuthenticationEdge",
        "SipServer",
        "Internal",
        5062,
        "Mtls",
        r#" GruuType="MRAS""#,
    );
    p(out, "MediaRelayEdge", "TURNServer", "Internal", 443, "Tcp", "");
    p(
        out,
        "MediaRelayEdge",
        "TURNServer",
        "External",
        443,
        "Tcp",
        &format!(r#" ConfiguredFqdn="{av}""#),
    );
    p(out, "MediaRelayEdge", "TURNServer", "Internal", 3478, "Udp", "");
    p(
        out,
        "MediaRelayEdge",
        "TURNServer",
        "External",
        3478,
        "Udp",
        &format!(r#" ConfiguredFqdn="{av}""#),
    );
    p(
        out,
        "MediaRelayEdge",
        "MediaCommunication",
        "External",
        50000,
        "TcpOrUdp",
        &format!(r#" Range="10000" ConfiguredFqdn="{av}""#),
    );
    if federation {
        p(
            out,
            "AccessEdge",
            "SipServer",
            "External",
            5061,
            "Mtls",
            &format!(r#" ConfiguredFqdn="{ext}""#),
        );
        p(out, "XmppFederationProxy", "XmppServer", "External", 5269, "Tls", "");
        p(out, "XmppFederationProxy", "XptServer", "Internal", 23456, "Mtls", "");
    }
}

fn service(out: &mut String, site: usize, role: &str, number: u32, deps: &[(&str, usize)], ports: &str) {
    let _ = writeln!(out, r#"    <Service RoleVersion="2" ServiceVersion="6">"#);
    let _ = writeln!(
        out,
        r#"      <ServiceId SiteId="{site}" RoleName="{role}" Instance="1" />"#
    );
    let _ = writeln!(out, "      <DependsOn>");
    for (r, s) in deps {
        let _ = writeln!(
            out,
            "        <Dependency Usage=\"Default\">\n          <ServiceId SiteId=\"{s}\" RoleName=\"{r}\" Instance=\"1\" />\n        </Dependency>"
        );
    }
    let _ = writeln!(out, "      </DependsOn>");
    let _ = writeln!(
        out,
        "      <InstalledOn>\n        <ClusterId SiteId=\"{site}\" Number=\"{number}\" />\n      </InstalledOn>"
    );
    let _ = writeln!(
        out,
        "      <Ports xmlns=\"urn:schema:Microsoft.Rtc.Management.Deploy.ServiceRoles.2008\">"
    );
    out.push_str(ports);
    let _ = writeln!(out, "      </Ports>\n    </Service>");
}

fn generate() -> String {
    let mut out = String::with_capacity(60 << 20);
    out.push_str("<Topology xmlns=\"urn:schema:Microsoft.Rtc.Management.Deploy.Topology.2008\" Signature=\"5d0c1b7e-2a44-4f3e-8e61-0b9a7c3d2f10\">\n  <Sites>\n");
    for s in 1..=SITES {
        let _ = writeln!(
            out,
            "    <CentralSite SiteId=\"{s}\">\n      <Name>Site{s}</Name>\n      <Location />\n    </CentralSite>"
        );
    }
    out.push_str("  </Sites>\n  <Clusters>\n");
    for s in 1..=SITES {
        let _ = writeln!(
            out,
            "    <Cluster RequiresReplication=\"true\" RequiresSetup=\"true\" Fqdn=\"pool{s}.contoso.com\">\n      <ClusterId SiteId=\"{s}\" Number=\"1\" />"
        );
        for m in 1..=FE_MACHINES {
            let _ = writeln!(
                out,
                "      <Machine OrdinalInCluster=\"{m}\" Fqdn=\"fe{s}-{m}.contoso.com\" FaultDomain=\"fe{s}-{m}.contoso.com\" UpgradeDomain=\"fe{s}-{m}.contoso.com\">\n        <NetInterface InterfaceSide=\"Primary\" InterfaceNumber=\"1\" IPAddress=\"0.0.0.0\" />\n      </Machine>"
            );
        }
        out.push_str("    </Cluster>\n");
        let _ = writeln!(
            out,
            "    <Cluster RequiresReplication=\"true\" RequiresSetup=\"true\" Fqdn=\"edgepool{s}.contoso.com\">\n      <ClusterId SiteId=\"{s}\" Number=\"2\" />"
        );
        for m in 1..=EDGE_MACHINES {
            let a = (s * EDGE_MACHINES + m) % 250 + 1;
            let _ = writeln!(
                out,
                "      <Machine OrdinalInCluster=\"{m}\" Fqdn=\"edge{s}-{m}.contoso.com\">\n        <NetInterface InterfaceSide=\"Internal\" InterfaceNumber=\"1\" IPAddress=\"192.0.2.{a}\" />\n        <NetInterface InterfaceSide=\"External\" InterfaceNumber=\"1\" IPAddress=\"198.51.100.{a}\" ConfiguredIPAddress=\"203.0.113.{a}\" />\n      </Machine>"
            );
        }
        out.push_str("    </Cluster>\n");
    }
    out.push_str("  </Clusters>\n  <Services>\n");
    let reg_ports = "        <Port Owner=\"urn:component:Registrar\" Usage=\"SipServer\" InterfaceSide=\"Primary\" InterfaceNumber=\"1\" Port=\"5061\" Protocol=\"Mtls\" UrlPath=\"/\" AuthorizesRequests=\"true\" GruuType=\"HomeServer\" />\n";
    for s in 1..=SITES {
        let mut ports = String::new();
        edge_ports(&mut ports, s, s == 1);
        service(&mut out, s, "EdgeServer", 2, &[("Registrar", s)], &ports);
        service(
            &mut out,
            s,
            "Registrar",
            1,
            &[("UserServices", s), ("EdgeServer", s)],
            reg_ports,
        );
        service(&mut out, s, "UserServices", 1, &[("ConfServices", s)], "");
        service(&mut out, s, "ConfServices", 1, &[("EdgeServer", s)], "");
        service(
            &mut out,
            s,
            "MediationServer",
            1,
            &[("Registrar", s), ("EdgeServer", s)],
            "",
        );
    }
    out.push_str("  </Services>\n</Topology>\n");
    out
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let bytes = generate().into_bytes();
    let size = bytes.len();
    let before = vm_hwm_kib();
    let t0 = Instant::now();
    let doc = match TopologyDocument::parse(&bytes, "bench.xml") {
        Ok(d) => d,
        Err(e) => {
            eprintln!("parse failed: {e}");
            std::process::exit(1);
        }
    };
    let t_parse = t0.elapsed();
    drop(bytes);
    let model = doc.model();
    assert_eq!(model.edge_pools.len() + model.front_end_pools.len(), 2 * SITES);
    let last = Fqdn::parse(&format!("edgepool{SITES}.contoso.com")).unwrap_or_else(|e| panic!("{e}"));
    let t1 = Instant::now();
    let out = doc
        .apply(&[TopologyEdit::EnableSipFederation { edge_pool: last }])
        .unwrap_or_else(|e| panic!("{e}"));
    let t_edit = t1.elapsed();
    let total = t0.elapsed();
    let peak = vm_hwm_kib();
    let mib = |b: f64| b / (1024.0 * 1024.0);
    println!(
        "topology bench: {:.1} MiB, {} pools; parse+extract {:.0} ms, edit+write {:.0} ms, total {:.0} ms; peak VmHWM {:.1} MiB = {:.2}x file size (before parse {:.1} MiB); output {:.1} MiB",
        mib(size as f64),
        2 * SITES,
        t_parse.as_secs_f64() * 1e3,
        t_edit.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3,
        peak as f64 / 1024.0,
        (peak * 1024) as f64 / size as f64,
        before as f64 / 1024.0,
        mib(out.len() as f64),
    );
}
