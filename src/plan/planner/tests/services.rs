//! Phases 1 and 8: starting what must run, and the XMPP bracket.

use super::*;
use crate::plan::Phase;
use crate::plan::testing::fqdn;

#[test]
fn a_stopped_route_target_is_started_first_and_everything_routing_to_it_waits() {
    let plan = plan_of(&routes_to("edgepool1.contoso.com"), &failed_over().build());
    let starts = of_kind(&plan, OperationKind::StartServices);
    assert_eq!(starts.len(), 2);
    assert!(
        starts
            .iter()
            .all(|a| a.phase == Phase::Services && a.depends_on.is_empty())
    );
    assert_eq!(ids(&plan, OperationKind::StartServices), [1, 2]);
    assert!(
        of_kind(&plan, OperationKind::StopServices).is_empty(),
        "no bracket on a stopped pool"
    );
    let route = one(
        &plan,
        OperationKind::SetSiteXmppRoute,
        |o| matches!(o, Operation::SetSiteXmppRoute { site, .. } if site == "Site1"),
    );
    assert_eq!(
        waits_with(route, "the pool's services must run before anything routes to it"),
        [1, 2]
    );
    assert_only_completion_edges(&plan, &[]);
}

#[test]
fn the_xmpp_bracket_stops_the_running_pool_and_starts_it_once_route_and_dns_have_ended() {
    let spec = "  sites:\n    Site1: { xmppFederationRoute: edgepool2.contoso.com }\n    Site2: { xmppFederationRoute: edgepool2.contoso.com }\n  dns:\n    - zone: contoso.com\n      xmpp: { host: xmpp.contoso.com, ttl: 300 }\n";
    let plan = plan_of(spec, &healthy().build());
    let stops = ids(&plan, OperationKind::StopServices);
    assert_eq!(stops, [1, 2]);
    let routes = ids(&plan, OperationKind::SetSiteXmppRoute);
    for id in &routes {
        let route = &plan.actions[id - 1];
        assert_eq!(
            waits_with(
                route,
                "the pool's services are stopped before its XMPP route changes (the XMPP bracket)"
            ),
            stops
        );
    }
    let dns: Vec<usize> = plan
        .actions
        .iter()
        .filter(|a| a.phase == Phase::Dns)
        .map(|a| a.id)
        .collect();
    assert_eq!(dns.len(), 2, "the SRV record and the A record");
    for id in &dns {
        // Inside the bracket, DNS follows the routes, not the (later) start.
        assert_eq!(plan.actions[id - 1].depends_on_ids().collect::<Vec<_>>(), routes);
    }
    // Before the restart, the route change must have replicated to each server.
    let waits = ids(&plan, OperationKind::WaitForReplication);
    assert_eq!(waits.len(), 2);
    for id in &waits {
        let wait = &plan.actions[id - 1];
        assert_eq!(wait.phase, Phase::XmppBracketEnd);
        assert_eq!(
            waits_with(wait, "the XMPP route change must be made before it can replicate"),
            routes
        );
    }
    let ends: Vec<&Action> = of_kind(&plan, OperationKind::StartServices);
    assert_eq!(ends.len(), 2);
    let mut completion = Vec::new();
    for end in &ends {
        assert_eq!(end.phase, Phase::XmppBracketEnd);
        let mut expected: Vec<usize> = routes.iter().chain(&dns).chain(&waits).copied().collect();
        expected.sort_unstable();
        assert_eq!(end.depends_on_ids().collect::<Vec<_>>(), expected);
        assert!(end.depends_on.iter().all(|d| d.wait == Wait::Completion));
        completion.extend(expected.iter().map(|on| (end.id, *on)));
    }
    // The port check follows the bracket's end (and so do no other edges wait for completion).
    let probe = one(&plan, OperationKind::VerifyPort, |_| true);
    assert_eq!(
        waits_with(
            probe,
            "the probe needs the pool's services started again after the XMPP bracket"
        ),
        ends.iter().map(|a| a.id).collect::<Vec<_>>()
    );
    assert_only_completion_edges(&plan, &completion);
}

#[test]
fn a_pool_the_document_stops_is_stopped_with_no_dependencies() {
    let spec = "  edgePools:\n    edgepool2.contoso.com: { services: stopped }\n";
    let plan = plan_of(spec, &healthy().build());
    let stops = of_kind(&plan, OperationKind::StopServices);
    assert_eq!(stops.len(), 2);
    for stop in stops {
        assert!(stop.depends_on.is_empty());
        assert_eq!(stop.reason, "the document sets `services: stopped`");
        assert!(
            matches!(&stop.operation, Operation::StopServices { pool, .. } if *pool == fqdn("edgepool2.contoso.com"))
        );
    }
    assert_eq!(plan.actions.len(), 2);
}

#[test]
fn an_unreachable_server_gets_no_action_and_a_warning() {
    let observed = failed_over().unreachable("edge1b.contoso.com").build();
    let plan = plan_of(&routes_to("edgepool1.contoso.com"), &observed);
    let starts = of_kind(&plan, OperationKind::StartServices);
    assert_eq!(starts.len(), 1);
    assert!(
        matches!(&starts[0].operation, Operation::StartServices { computer, .. } if *computer == fqdn("edge1a.contoso.com"))
    );
    assert!(
        plan.warnings.iter().any(|w| w.contains("edge1b.contoso.com")),
        "{:?}",
        plan.warnings
    );
}
