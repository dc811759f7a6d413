//! Cmdlets that write the published topology themselves (`Set-CsSite`,
//! `Set-CsEdgeServer`) come after the run's publish; a run that publishes
//! folds next-hop changes into the published document.

use super::*;
use crate::plan::Phase;
use crate::plan::testing::fqdn;

/// The reason every topology write gives for waiting on the publish.
fn publish_reason(kind: OperationKind) -> String {
    format!(
        "{kind} writes the published topology itself: before the publish, publishing the document staged earlier would undo it or be refused"
    )
}

#[test]
fn in_a_failback_every_site_route_waits_for_the_publish() {
    let plan = plan_of(&routes_to("edgepool1.contoso.com"), &failed_over().build());
    let publish = one(&plan, OperationKind::PublishTopology, |_| true);
    for kind in [OperationKind::SetSiteXmppRoute, OperationKind::SetSiteFederationRoute] {
        let routes = of_kind(&plan, kind);
        assert_eq!(routes.len(), 2, "{kind}");
        for route in routes {
            assert!(
                route.depends_on_ids().any(|d| d == publish.id),
                "{route:?} waits for the publish"
            );
            assert!(route.id > publish.id);
        }
    }
    // The XMPP route names the reason of its kind; the federation route's
    // first reason is Lync's own refusal, which the same edge also carries.
    let xmpp = of_kind(&plan, OperationKind::SetSiteXmppRoute)[0];
    assert_eq!(
        waits_with(xmpp, &publish_reason(OperationKind::SetSiteXmppRoute)),
        [publish.id]
    );
}

#[test]
fn a_failover_onto_a_running_pool_publishes_then_brackets_the_xmpp_route() {
    // EdgePool1 is down; both routes move to the running EdgePool2.
    let observed = healthy()
        .unreachable("edge1a.contoso.com")
        .unreachable("edge1b.contoso.com")
        .build();
    let spec = format!(
        "{}  frontEndPools:\n    fepool1.contoso.com: {{ mediaEdgePool: edgepool2.contoso.com }}\n",
        routes_to("edgepool2.contoso.com")
    );
    let plan = plan_of(&spec, &observed);
    let publish = one(&plan, OperationKind::PublishTopology, |_| true).id;
    let setups = ids(&plan, OperationKind::RunSetup);
    let fed_routes = ids(&plan, OperationKind::SetSiteFederationRoute);
    let stops = ids(&plan, OperationKind::StopServices);
    let xmpp_routes = ids(&plan, OperationKind::SetSiteXmppRoute);
    let waits = ids(&plan, OperationKind::WaitForReplication);
    let starts = ids(&plan, OperationKind::StartServices);
    assert_eq!((stops.len(), waits.len(), starts.len()), (2, 2, 2));
    // publish → setup and federation routes → stop → XMPP route → replication → start.
    for stop in &stops {
        let a = &plan.actions[stop - 1];
        assert!(a.depends_on_ids().any(|d| d == publish));
        for s in setups.iter().chain(&fed_routes) {
            assert!(a.depends_on_ids().any(|d| d == *s), "stop #{stop} waits for #{s}");
        }
    }
    for route in &xmpp_routes {
        let a = &plan.actions[route - 1];
        let on: Vec<usize> = a.depends_on_ids().collect();
        assert!(on.contains(&publish));
        assert!(stops.iter().all(|s| on.contains(s)));
    }
    for start in &starts {
        let a = &plan.actions[start - 1];
        assert_eq!(a.phase, Phase::XmppBracketEnd);
        assert!(a.depends_on.iter().all(|d| d.wait == Wait::Completion));
        assert!(waits.iter().all(|w| a.depends_on_ids().any(|d| d == *w)));
    }
}

#[test]
fn without_a_publish_the_xmpp_bracket_is_unchanged() {
    let spec = "  sites:\n    Site1: { xmppFederationRoute: edgepool2.contoso.com }\n    Site2: { xmppFederationRoute: edgepool2.contoso.com }\n";
    let plan = plan_of(spec, &healthy().build());
    assert!(of_kind(&plan, OperationKind::PublishTopology).is_empty());
    let kinds: Vec<OperationKind> = plan.actions.iter().map(|a| a.operation.kind()).collect();
    assert_eq!(
        kinds,
        [
            OperationKind::StopServices,
            OperationKind::StopServices,
            OperationKind::SetSiteXmppRoute,
            OperationKind::SetSiteXmppRoute,
            OperationKind::WaitForReplication,
            OperationKind::WaitForReplication,
            OperationKind::StartServices,
            OperationKind::StartServices,
            OperationKind::VerifyPort,
        ]
    );
    for stop in of_kind(&plan, OperationKind::StopServices) {
        assert!(stop.depends_on.is_empty(), "nothing to wait for without a publish");
    }
}

#[test]
fn a_run_that_publishes_folds_the_next_hop_into_the_published_document() {
    // A media association change makes the run publish.
    let spec = "  edgePools:\n    edgepool1.contoso.com: { nextHop: fepool2.contoso.com }\n  frontEndPools:\n    fepool1.contoso.com: { failedOver: true, mediaEdgePool: edgepool2.contoso.com }\n";
    let plan = plan_of(spec, &healthy().build());
    assert!(
        of_kind(&plan, OperationKind::SetEdgeNextHop).is_empty(),
        "no Set-CsEdgeServer"
    );
    let edit = one(&plan, OperationKind::EditEdgeNextHop, |_| true);
    assert_eq!(edit.phase, Phase::TopologyEdit);
    assert_eq!(
        edit.operation,
        Operation::EditEdgeNextHop {
            edge_pool: fqdn("edgepool1.contoso.com"),
            next_hop: fqdn("fepool2.contoso.com"),
        }
    );
    let publish = one(&plan, OperationKind::PublishTopology, |_| true);
    assert!(publish.depends_on_ids().any(|d| d == edit.id));
    let failover = one(&plan, OperationKind::InvokePoolFailover, |_| true);
    assert_eq!(
        waits_with(
            failover,
            "Lync refuses to fail over a pool that is still an Edge pool's next hop"
        ),
        [publish.id],
        "the next hop moves off the pool when the document is published"
    );
}

#[test]
fn without_a_publish_the_next_hop_is_set_with_set_cs_edge_server() {
    let spec = "  edgePools:\n    edgepool1.contoso.com: { nextHop: fepool2.contoso.com }\n";
    let plan = plan_of(spec, &healthy().build());
    assert!(of_kind(&plan, OperationKind::EditEdgeNextHop).is_empty());
    assert!(of_kind(&plan, OperationKind::PublishTopology).is_empty());
    let hop = one(&plan, OperationKind::SetEdgeNextHop, |_| true);
    assert!(hop.depends_on.is_empty());
}

/// Whether `a` waits for `on`, directly or through other actions.
fn waits_transitively(plan: &Plan, a: usize, on: usize) -> bool {
    let mut todo = vec![a];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(id) = todo.pop() {
        let action = &plan.actions[id - 1];
        for d in action.depends_on_ids() {
            if d == on {
                return true;
            }
            if seen.insert(d) {
                todo.push(d);
            }
        }
    }
    false
}

#[test]
fn topology_writes_run_one_at_a_time_each_after_the_previous_ends() {
    // A failback moves both routes of both sites: four `Set-CsSite` calls.
    let plan = plan_of(&routes_to("edgepool1.contoso.com"), &failed_over().build());
    let writes: Vec<&Action> = plan
        .actions
        .iter()
        .filter(|a| a.operation.kind().writes_published_topology())
        .collect();
    assert_eq!(writes.len(), 4, "{:#?}", plan.actions);
    for pair in writes.windows(2) {
        let (before, after) = (pair[0], pair[1]);
        let edge = after.depends_on.iter().find(|d| d.on == before.id);
        match edge {
            // The chain's own edge runs whatever the previous write's outcome.
            Some(d) if d.reason == super::super::builder::ONE_TOPOLOGY_WRITE_AT_A_TIME => {
                assert_eq!(d.wait, Wait::Completion);
            }
            // An edge the phases already declared orders them as well.
            Some(_) => {}
            None => panic!(
                "#{} does not wait for the previous topology write #{}",
                after.id, before.id
            ),
        }
    }
    // Hence no two writes may run at once.
    for (i, a) in writes.iter().enumerate() {
        for b in &writes[i + 1..] {
            assert!(
                waits_transitively(&plan, b.id, a.id),
                "#{} and #{} could overlap",
                a.id,
                b.id
            );
        }
    }
}

#[test]
fn a_plan_with_one_topology_write_has_no_chain() {
    let spec = "  sites:\n    Site1: { xmppFederationRoute: edgepool2.contoso.com }\n";
    let plan = plan_of(spec, &healthy().build());
    for a in &plan.actions {
        assert!(
            a.depends_on
                .iter()
                .all(|d| d.reason != super::super::builder::ONE_TOPOLOGY_WRITE_AT_A_TIME),
            "{a:?}"
        );
    }
}
