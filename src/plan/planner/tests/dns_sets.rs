//! Phase 7 record sets: the SIP SRV record retargeted at the federation
//! pool's Access Edge FQDN, the explicit A-record move, and the XMPP SRV set
//! of one record per pool.

use super::*;
use crate::model::{DnsName, DnsRecord, SrvTarget};
use crate::plan::testing::fqdn;

fn srv(name: DnsName, records: &[(u16, u16, u16, &str)]) -> DnsRecord {
    DnsRecord::srv(
        name,
        300,
        records
            .iter()
            .map(|&(priority, weight, port, target)| SrvTarget {
                priority,
                weight,
                port,
                target: fqdn(target),
            })
            .collect(),
    )
}

fn zone() -> crate::model::Fqdn {
    fqdn("contoso.com")
}

/// Healthy, each pool with its own Access Edge FQDN (and certificate).
fn with_access_edges(b: DeploymentBuilder) -> DeploymentBuilder {
    b.access_edge("edgepool1.contoso.com", "sip1.contoso.com")
        .access_edge("edgepool2.contoso.com", "sip2.contoso.com")
}

fn sip_routes_to(pool: &str) -> String {
    format!("  sites:\n    Site1: {{ federationRoute: {pool} }}\n    Site2: {{ federationRoute: {pool} }}\n")
}

#[test]
fn sip_federation_srv_follows_the_pool_and_no_a_record_moves() {
    let observed = with_access_edges(healthy())
        .dns(srv(DnsName::sip_srv(&zone()), &[(0, 100, 5061, "sip1.contoso.com")]))
        .dns(DnsRecord::A {
            name: DnsName::host(&fqdn("sip1.contoso.com")),
            ttl: 300,
            addresses: vec!["192.0.2.10".parse().unwrap()],
        })
        .build();
    let spec = format!(
        "{}  dns:\n    - zone: contoso.com\n      sip: {{ ttl: 300 }}\n",
        sip_routes_to("edgepool2.contoso.com")
    );
    let plan = plan_of(&spec, &observed);
    assert!(of_kind(&plan, OperationKind::SetDnsA).is_empty(), "{:#?}", plan.actions);
    let set = one(&plan, OperationKind::SetDnsSrv, |_| true);
    let change = set.operation.dns_change().expect("a DNS change");
    assert_eq!(
        change.desired,
        srv(DnsName::sip_srv(&zone()), &[(0, 100, 5061, "sip2.contoso.com")])
    );
    assert_eq!(
        change.observed.as_ref(),
        observed.dns_record(&DnsName::sip_srv(&zone()), crate::model::RecordType::Srv)
    );
    // Already pointing at the federation pool: nothing to do.
    let spec = format!(
        "{}  dns:\n    - zone: contoso.com\n      sip: {{ ttl: 300 }}\n",
        sip_routes_to("edgepool1.contoso.com")
    );
    assert!(plan_of(&spec, &observed).actions.is_empty());
}

#[test]
fn sip_a_record_moves_only_when_the_document_says_so() {
    let observed = with_access_edges(healthy())
        .dns(srv(DnsName::sip_srv(&zone()), &[(0, 100, 5061, "sip.contoso.com")]))
        .dns(DnsRecord::A {
            name: DnsName::host(&fqdn("sip.contoso.com")),
            ttl: 300,
            addresses: vec!["192.0.2.10".parse().unwrap()],
        })
        .build();
    let moved = format!(
        "{}  dns:\n    - zone: contoso.com\n      sip: {{ host: sip.contoso.com, moveAddress: true, ttl: 300 }}\n",
        sip_routes_to("edgepool2.contoso.com")
    );
    let plan = plan_of(&moved, &observed);
    assert!(
        of_kind(&plan, OperationKind::SetDnsSrv).is_empty(),
        "{:#?}",
        plan.actions
    );
    let a = one(&plan, OperationKind::SetDnsA, |_| true);
    assert!(
        matches!(&a.operation, Operation::SetDnsA { addresses, .. } if *addresses == ["192.0.2.20".parse::<std::net::IpAddr>().unwrap()])
    );

    let pinned = moved.replace("moveAddress: true", "moveAddress: false");
    assert!(
        plan_of(&pinned, &observed)
            .actions
            .iter()
            .all(|a| a.operation.dns_change().is_none())
    );
}

#[test]
fn a_sip_host_without_move_address_is_refused() {
    let spec = format!(
        "apiVersion: edgefed/v1\nkind: FederationTopology\nspec:\n{}  dns:\n    - zone: contoso.com\n      sip: {{ host: sip.contoso.com }}\n",
        sip_routes_to("edgepool2.contoso.com")
    );
    let err = crate::document::parse("d.yaml", spec.as_bytes()).expect_err("V7");
    let text = err.render();
    assert!(text.contains("V7") && text.contains("moveAddress"), "{text}");
}

const XMPP_HOSTS: &str =
    "  dns:\n    - zone: contoso.com\n      xmpp: { hosts: [sip1.contoso.com, sip2.contoso.com], ttl: 300 }\n";

fn xmpp_set(records: &[(u16, u16, u16, &str)]) -> DnsRecord {
    srv(DnsName::xmpp_srv(&zone()), records)
}

#[test]
fn a_two_record_xmpp_set_is_reordered_by_a_failover_on_its_own_priorities() {
    let observed = with_access_edges(healthy())
        .dns(xmpp_set(&[
            (5, 50, 5269, "sip1.contoso.com"),
            (15, 60, 5269, "sip2.contoso.com"),
        ]))
        .build();
    let plan = plan_of(
        &format!("{}{XMPP_HOSTS}", routes_to("edgepool2.contoso.com")),
        &observed,
    );
    let set = one(&plan, OperationKind::SetDnsSrv, |_| true);
    let change = set.operation.dns_change().expect("a DNS change");
    // Never collapsed: both records, EdgePool2's first, weights kept.
    assert_eq!(
        change.desired,
        xmpp_set(&[(5, 60, 5269, "sip2.contoso.com"), (15, 50, 5269, "sip1.contoso.com")])
    );
    assert_eq!(
        change.observed,
        Some(xmpp_set(&[
            (5, 50, 5269, "sip1.contoso.com"),
            (15, 60, 5269, "sip2.contoso.com")
        ]))
    );
    assert!(of_kind(&plan, OperationKind::SetDnsA).is_empty());
}

#[test]
fn a_two_record_xmpp_set_that_already_routes_right_is_left_alone() {
    let observed = with_access_edges(healthy())
        .dns(xmpp_set(&[
            (0, 100, 5269, "sip1.contoso.com"),
            (10, 100, 5269, "sip2.contoso.com"),
        ]))
        .build();
    // Document order differs from the set's lower records: still right.
    let spec = format!(
        "{}  dns:\n    - zone: contoso.com\n      xmpp: {{ hosts: [sip2.contoso.com, sip1.contoso.com], ttl: 300 }}\n",
        routes_to("edgepool1.contoso.com")
    );
    assert!(plan_of(&spec, &observed).actions.is_empty());
}

#[test]
fn a_missing_or_partial_xmpp_set_gets_every_pool_in_document_order() {
    let observed = with_access_edges(healthy())
        .dns(xmpp_set(&[(0, 100, 5269, "sip1.contoso.com")]))
        .build();
    let plan = plan_of(
        &format!("{}{XMPP_HOSTS}", routes_to("edgepool1.contoso.com")),
        &observed,
    );
    let set = one(&plan, OperationKind::SetDnsSrv, |_| true);
    assert_eq!(
        set.operation.dns_change().expect("change").desired,
        xmpp_set(&[(10, 100, 5269, "sip1.contoso.com"), (20, 100, 5269, "sip2.contoso.com")])
    );
}

#[test]
fn the_xmpp_pools_host_must_be_in_the_set() {
    let observed = healthy()
        .access_edge("edgepool1.contoso.com", "sip9.contoso.com")
        .build();
    let err = crate::plan::plan(
        &desired(&format!("{}{XMPP_HOSTS}", routes_to("edgepool1.contoso.com"))),
        &observed,
    )
    .expect_err("P8");
    let text = err.render();
    assert!(text.contains("P8") && text.contains("sip9.contoso.com"), "{text}");
}
