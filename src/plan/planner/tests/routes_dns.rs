//! Phases 6, 7 and 9: site routes, DNS and port checks.

use super::*;
use crate::model::{DnsName, DnsRecord, SrvTarget};
use crate::plan::Phase;
use crate::plan::testing::fqdn;

const DNS: &str = "  dns:\n    - zone: contoso.com\n      xmpp: { host: xmpp.contoso.com, ttl: 300 }\n      sip: { host: sip.contoso.com, moveAddress: true, ttl: 300 }\n";

#[test]
fn dns_records_follow_the_routes_and_setup_and_hold_the_route_pools_addresses() {
    let spec = format!("{}{DNS}", routes_to("edgepool1.contoso.com"));
    let plan = plan_of(&spec, &failed_over().build());
    let starts = ids(&plan, OperationKind::StartServices);
    let xmpp_routes = ids(&plan, OperationKind::SetSiteXmppRoute);
    let fed_routes = ids(&plan, OperationKind::SetSiteFederationRoute);
    let setups = ids(&plan, OperationKind::RunSetup);
    let xmpp_a = one(
        &plan,
        OperationKind::SetDnsA,
        |o| matches!(o, Operation::SetDnsA { name, .. } if *name == DnsName::host(&fqdn("xmpp.contoso.com"))),
    );
    assert!(
        matches!(&xmpp_a.operation, Operation::SetDnsA { addresses, .. } if *addresses == ["192.0.2.10".parse::<std::net::IpAddr>().unwrap()])
    );
    assert_eq!(xmpp_a.phase, Phase::Dns);
    assert_eq!(
        waits_with(xmpp_a, "the XMPP records follow the sites' XMPP route change"),
        xmpp_routes
    );
    assert_eq!(
        waits_with(
            xmpp_a,
            "the pool's services must run before DNS sends federation traffic to it"
        ),
        starts
    );
    let sip_srv = one(&plan, OperationKind::SetDnsSrv, |o| {
        matches!(o, Operation::SetDnsSrv { port: 5061, .. })
    });
    assert_eq!(
        waits_with(
            sip_srv,
            "the SIP records follow setup on the pool that gained federation"
        ),
        setups
    );
    assert_eq!(
        waits_with(sip_srv, "the SIP records follow the sites' federation routes"),
        fed_routes
    );
    assert_only_completion_edges(&plan, &[]);
}

#[test]
fn a_route_that_stays_with_nothing_changing_under_it_is_not_probed() {
    let plan = plan_of(&routes_to("edgepool1.contoso.com"), &healthy().build());
    assert!(plan.actions.is_empty(), "{:#?}", plan.actions);
}

#[test]
fn a_route_that_stays_is_probed_when_its_dns_record_changes() {
    let observed = healthy()
        .dns(DnsRecord::srv(
            DnsName::xmpp_srv(&fqdn("contoso.com")),
            300,
            vec![SrvTarget {
                priority: 0,
                weight: 100,
                port: 5269,
                target: fqdn("xmpp.contoso.com"),
            }],
        ))
        .dns(DnsRecord::A {
            name: DnsName::host(&fqdn("xmpp.contoso.com")),
            ttl: 300,
            addresses: vec!["192.0.2.99".parse().unwrap()],
        })
        .build();
    let spec = format!(
        "{}  dns:\n    - zone: contoso.com\n      xmpp: {{ host: xmpp.contoso.com, ttl: 300 }}\n",
        routes_to("edgepool1.contoso.com")
    );
    let plan = plan_of(&spec, &observed);
    let a = one(&plan, OperationKind::SetDnsA, |_| true);
    let probe = one(&plan, OperationKind::VerifyPort, |_| true);
    assert!(matches!(probe.operation, Operation::VerifyPort { port: 5269, .. }));
    assert_eq!(
        waits_with(
            probe,
            "port 5269 is checked once the XMPP DNS records point at the pool"
        ),
        [a.id]
    );
    assert_eq!(plan.actions.len(), 2, "{:#?}", plan.actions);
}

#[test]
fn verify_false_plans_no_probe() {
    let spec = format!("{}  verify: {{ ports: false }}\n", routes_to("edgepool1.contoso.com"));
    let plan = plan_of(&spec, &failed_over().build());
    assert!(of_kind(&plan, OperationKind::VerifyPort).is_empty());
    assert!(!plan.actions.is_empty());
}

#[test]
fn moved_routes_are_probed_on_both_ports_after_what_serves_them() {
    let plan = plan_of(&routes_to("edgepool1.contoso.com"), &failed_over().build());
    let p5061 = one(&plan, OperationKind::VerifyPort, |o| {
        matches!(o, Operation::VerifyPort { port: 5061, .. })
    });
    let p5269 = one(&plan, OperationKind::VerifyPort, |o| {
        matches!(o, Operation::VerifyPort { port: 5269, .. })
    });
    let publish = ids(&plan, OperationKind::PublishTopology);
    assert_eq!(
        waits_with(
            p5061,
            "port 5061 answers only once the pool's federation flag is published"
        ),
        publish
    );
    assert_eq!(
        waits_with(p5061, "port 5061 is checked once the sites' federation routes are set"),
        ids(&plan, OperationKind::SetSiteFederationRoute)
    );
    assert_eq!(
        waits_with(p5269, "port 5269 is checked once the XMPP route points at the pool"),
        ids(&plan, OperationKind::SetSiteXmppRoute)
    );
    assert!(p5061.phase == Phase::PortChecks && p5269.phase == Phase::PortChecks);
}

#[test]
fn port_checks_carry_the_hosts_dns_points_each_port_at() {
    let spec = format!(
        "{}  dns:\n    - zone: contoso.com\n      xmpp: {{ host: xmpp.contoso.com, ttl: 300 }}\n      sip: {{ host: sip.contoso.com, ttl: 300, moveAddress: true }}\n    - zone: fabrikam.com\n      sip: {{ host: sip.fabrikam.com, ttl: 300, moveAddress: true }}\n",
        routes_to("edgepool1.contoso.com")
    );
    let plan = plan_of(&spec, &failed_over().build());
    let hosts = |port: u16| match &one(
        &plan,
        OperationKind::VerifyPort,
        |o| matches!(o, Operation::VerifyPort { port: p, .. } if *p == port),
    )
    .operation
    {
        Operation::VerifyPort { hosts, .. } => hosts.iter().map(ToString::to_string).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(hosts(5061), ["sip.contoso.com", "sip.fabrikam.com"]);
    assert_eq!(hosts(5269), ["xmpp.contoso.com"]);

    // Without managed DNS there is no host to check.
    let plan = plan_of(&routes_to("edgepool1.contoso.com"), &failed_over().build());
    assert!(
        of_kind(&plan, OperationKind::VerifyPort)
            .iter()
            .all(|a| matches!(&a.operation, Operation::VerifyPort { hosts, .. } if hosts.is_empty()))
    );
}

#[test]
fn p2_says_that_skype_for_business_server_2019_has_no_xmpp() {
    let mut observed = healthy().build();
    if let Some(p) = observed
        .edge_pools
        .get_mut(&crate::plan::testing::fqdn("edgepool2.contoso.com"))
    {
        p.product = Some(crate::model::Product::SkypeForBusiness2019);
    }
    let spec = "  sites:\n    Site1: { xmppFederationRoute: edgepool2.contoso.com }\n";
    let err = crate::plan::plan(&desired(spec), &observed).expect_err("P2");
    let text = err.render();
    assert!(text.contains("error[P2]"), "{text}");
    assert!(
        text.contains("runs Skype for Business Server 2019: it has no XMPP federation"),
        "{text}"
    );
    assert!(
        text.contains("Lync Server 2013 or Skype for Business Server 2015"),
        "{text}"
    );
}
