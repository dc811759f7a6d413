//! DNS record sets through the lab: an XMPP SRV set of one record per Edge
//! pool is observed whole, reordered by a failover, left alone when it
//! already routes right, and never collapsed; the SIP federation SRV record
//! follows the federation pool's Access Edge FQDN without moving an A record.

use edgefed::model::{DnsName, DnsRecord, Fqdn, RecordType, SrvTarget};

use super::support::{Env, code, steps, text};

fn fqdn(s: &str) -> Fqdn {
    Fqdn::parse(s).expect("FQDN")
}

fn xmpp_name() -> DnsName {
    DnsName::xmpp_srv(&fqdn("contoso.com"))
}

/// An `_xmpp-server._tcp.contoso.com` set, `(priority, target)` per record.
fn xmpp_set(records: &[(u16, &str)]) -> DnsRecord {
    DnsRecord::srv(
        xmpp_name(),
        300,
        records
            .iter()
            .map(|&(priority, target)| SrvTarget {
                priority,
                weight: 100,
                port: 5269,
                target: fqdn(target),
            })
            .collect(),
    )
}

/// The `healthy` lab whose XMPP SRV record is replaced by a set with a
/// record per Edge pool (each pool's Access Edge FQDN).
fn healthy_with_xmpp_set(records: &[(u16, &str)]) -> Env {
    let env = Env::new("healthy");
    let mut lab = env.lab();
    lab.dns.retain(|r| r.name() != &xmpp_name());
    lab.dns.push(xmpp_set(records));
    env.set_lab(&lab);
    env
}

fn lab_xmpp_set(env: &Env) -> Option<DnsRecord> {
    env.lab()
        .dns
        .into_iter()
        .find(|r| r.name() == &xmpp_name() && r.record_type() == RecordType::Srv)
}

fn xmpp_doc(env: &Env, pool: &str) -> String {
    env.file(
        "xmpp.yaml",
        &format!(
            "apiVersion: edgefed/v1\nkind: FederationTopology\nspec:\n  sites:\n    Site1: {{ xmppFederationRoute: {pool} }}\n    Site2: {{ xmppFederationRoute: {pool} }}\n  dns:\n    - zone: contoso.com\n      xmpp: {{ hosts: [sip.contoso.com, sip2.contoso.com], ttl: 300 }}\n"
        ),
    )
}

#[test]
fn an_xmpp_set_of_two_pools_is_observed_whole_and_reordered_by_a_failover() {
    let env = healthy_with_xmpp_set(&[(10, "sip.contoso.com"), (20, "sip2.contoso.com")]);
    // Observed whole: `observe` writes it back as the ordered list.
    let observed = env.ok(&["observe"]);
    assert!(
        observed.contains("hosts:\n      - sip.contoso.com\n      - sip2.contoso.com"),
        "{observed}"
    );

    env.ok(&["lab", "fail", "edgepool1.contoso.com"]);
    let doc = xmpp_doc(&env, "edgepool2.contoso.com");
    let plan = env.plan_json(&doc);
    let s = steps(&plan);
    assert!(!s.iter().any(|x| x.starts_with("set-dns-a")), "{s:?}");
    let srv: Vec<&serde_json::Value> = plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter(|a| a["kind"] == "set-dns-srv")
        .collect();
    assert_eq!(srv.len(), 1, "{s:?}");
    // The whole set, reordered on the priorities it already used.
    assert_eq!(srv[0]["target"], "sip2.contoso.com");
    assert_eq!(srv[0]["priority"], 10);
    assert_eq!(srv[0]["others"][0]["target"], "sip.contoso.com");
    assert_eq!(srv[0]["others"][0]["priority"], 20);
    assert_eq!(
        srv[0]["observed"]["records"].as_array().map(Vec::len),
        Some(2),
        "{}",
        srv[0]
    );

    let human = env.ok(&["plan", "-f", &doc]);
    assert!(
        human.contains("set-dns-srv _xmpp-server._tcp.contoso.com → sip2.contoso.com:5269, then sip.contoso.com:5269"),
        "{human}"
    );
    let markdown = env.ok(&["--output", "markdown", "plan", "-f", &doc]);
    assert!(markdown.contains("then sip.contoso.com:5269"), "{markdown}");
    let runbook = env.ok(&["--output", "powershell", "plan", "-f", &doc]);
    assert!(
        runbook.contains(
            "_xmpp-server._tcp.contoso.com. 300 IN SRV 10 100 5269 sip2.contoso.com.\n#     _xmpp-server._tcp.contoso.com. 300 IN SRV 20 100 5269 sip.contoso.com."
        ),
        "{runbook}"
    );

    env.ok(&["reconcile", "-f", &doc]);
    assert_eq!(
        lab_xmpp_set(&env),
        Some(xmpp_set(&[(10, "sip2.contoso.com"), (20, "sip.contoso.com")]))
    );
    assert_eq!(code(&env.run(&["reconcile", "--check", "-f", &doc])), 0);
}

#[test]
fn an_xmpp_set_that_already_routes_right_is_left_alone() {
    let env = healthy_with_xmpp_set(&[(0, "sip.contoso.com"), (5, "sip2.contoso.com")]);
    let doc = xmpp_doc(&env, "edgepool1.contoso.com");
    let out = env.run(&["reconcile", "--check", "-f", &doc]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    env.ok(&["reconcile", "-f", &doc]);
    assert_eq!(
        lab_xmpp_set(&env),
        Some(xmpp_set(&[(0, "sip.contoso.com"), (5, "sip2.contoso.com")]))
    );
}

#[test]
fn a_single_host_document_replaces_the_set_exactly_and_says_what_it_replaces() {
    // A document with one `host` manages the set as one record: the plan
    // shows the whole observed set it replaces, never a part of it.
    let env = healthy_with_xmpp_set(&[(10, "sip.contoso.com"), (20, "sip2.contoso.com")]);
    let doc = env.file(
        "one.yaml",
        "apiVersion: edgefed/v1\nkind: FederationTopology\nspec:\n  dns:\n    - zone: contoso.com\n      xmpp: { host: xmpp.contoso.com, ttl: 300 }\n",
    );
    let human = env.ok(&["plan", "-f", &doc]);
    assert!(
        human.contains(
            "/dns/_xmpp-server._tcp.contoso.com/SRV: SRV 10 100 5269 sip.contoso.com, 20 100 5269 sip2.contoso.com ttl 300 → SRV 0 100 5269 xmpp.contoso.com ttl 300"
        ),
        "{human}"
    );
    let json = env.plan_json(&doc);
    let change = &json["changes"][0];
    assert_eq!(
        change["observed"]["records"].as_array().map(Vec::len),
        Some(2),
        "{change}"
    );
    env.ok(&["reconcile", "-f", &doc]);
    assert_eq!(lab_xmpp_set(&env), Some(xmpp_set(&[(0, "xmpp.contoso.com")])));
}

#[test]
fn the_sip_srv_record_follows_the_federation_pool_and_the_a_record_stays() {
    let env = Env::new("healthy");
    env.ok(&["lab", "fail", "edgepool1.contoso.com"]);
    let doc = super::support::example("sip-failover.yaml");
    env.ok(&["reconcile", "-f", &doc]);
    let lab = env.lab();
    let sip_srv = DnsName::sip_srv(&fqdn("contoso.com"));
    let srv = lab.dns.iter().find(|r| r.name() == &sip_srv).expect("SRV");
    assert_eq!(
        srv.first_srv_target().map(|t| t.target.as_str()),
        Some("sip2.contoso.com")
    );
    let a = lab
        .dns
        .iter()
        .find(|r| r.name().as_str() == "sip.contoso.com")
        .expect("A record");
    assert!(
        matches!(a, DnsRecord::A { addresses, .. } if addresses == &["203.0.113.10".parse::<std::net::IpAddr>().unwrap()]),
        "{a:?}"
    );
    // The explicit choice moves it.
    let moved = env.file(
        "moved.yaml",
        "apiVersion: edgefed/v1\nkind: FederationTopology\nspec:\n  dns:\n    - zone: contoso.com\n      sip: { host: sip.contoso.com, moveAddress: true, ttl: 300 }\n",
    );
    env.ok(&["reconcile", "-f", &moved]);
    let lab = env.lab();
    let a = lab
        .dns
        .iter()
        .find(|r| r.name().as_str() == "sip.contoso.com")
        .expect("A record");
    assert!(
        matches!(a, DnsRecord::A { addresses, .. } if addresses == &["203.0.113.20".parse::<std::net::IpAddr>().unwrap()]),
        "{a:?}"
    );
}
