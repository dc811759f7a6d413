//! Phases 2–5: next hops, topology edits, the single publish, setup.

use super::*;
use crate::plan::Phase;
use crate::plan::testing::fqdn;

#[test]
fn a_sip_move_edits_both_flags_publishes_once_and_runs_setup_after_the_publish() {
    let spec = "  sites:\n    Site1: { federationRoute: edgepool2.contoso.com }\n    Site2: { federationRoute: edgepool2.contoso.com }\n  frontEndPools:\n    fepool1.contoso.com: { mediaEdgePool: edgepool2.contoso.com }\n";
    let plan = plan_of(spec, &healthy().build());
    let disable = one(&plan, OperationKind::DisableSipFederation, |_| true);
    let enable = one(&plan, OperationKind::EnableSipFederation, |_| true);
    let media = one(&plan, OperationKind::SetMediaEdgePool, |_| true);
    assert!(
        matches!(&enable.operation, Operation::EnableSipFederation { edge_pool } if *edge_pool == fqdn("edgepool2.contoso.com"))
    );
    assert_eq!(
        waits_with(
            enable,
            "the flag comes off the pool that loses federation before it goes on this one, in the same document"
        ),
        [disable.id]
    );
    assert!(media.depends_on.is_empty(), "edgepool2 already runs");
    let publishes = of_kind(&plan, OperationKind::PublishTopology);
    assert_eq!(publishes.len(), 1, "exactly one publish");
    let publish = publishes[0];
    assert_eq!(publish.phase, Phase::Publish);
    let mut edits = vec![disable.id, enable.id, media.id];
    edits.sort_unstable();
    assert_eq!(
        waits_with(publish, "the one publish carries every topology edit"),
        edits
    );
    let setups = of_kind(&plan, OperationKind::RunSetup);
    assert_eq!(setups.len(), 2, "each server of the pool that gained federation");
    for setup in &setups {
        assert_eq!(
            waits_with(setup, "run-setup reads the published topology"),
            [publish.id]
        );
    }
    for route in of_kind(&plan, OperationKind::SetSiteFederationRoute) {
        assert_eq!(
            waits_with(
                route,
                "Lync refuses a federation route to a pool whose published federation flag is off"
            ),
            [publish.id]
        );
    }
    assert_only_completion_edges(&plan, &[]);
}

#[test]
fn without_a_topology_edit_there_is_no_publish() {
    let spec = "  edgePools:\n    edgepool2.contoso.com: { nextHop: fepool1.contoso.com }\n";
    let plan = plan_of(spec, &healthy().build());
    assert!(of_kind(&plan, OperationKind::PublishTopology).is_empty());
    let hop = one(&plan, OperationKind::SetEdgeNextHop, |_| true);
    assert_eq!(hop.phase, Phase::NextHop);
    assert!(hop.depends_on.is_empty());
    assert_eq!(plan.actions.len(), 1);
}

#[test]
fn pending_setup_on_the_federation_pool_runs_without_a_publish() {
    let observed = healthy().setup_pending("edge1b.contoso.com").build();
    let plan = plan_of("  sites: {}\n", &observed);
    let setup = one(&plan, OperationKind::RunSetup, |_| true);
    assert!(
        matches!(&setup.operation, Operation::RunSetup { computer, .. } if *computer == fqdn("edge1b.contoso.com"))
    );
    assert!(setup.depends_on.is_empty(), "{:?}", setup.depends_on);
    assert!(of_kind(&plan, OperationKind::PublishTopology).is_empty());
    assert!(
        plan.changes
            .iter()
            .any(|c| c.path == "/edgePools/edgepool1.contoso.com/setupPending/edge1b.contoso.com")
    );
    // What serves 5061 changed: the port is checked after setup.
    let probe = one(&plan, OperationKind::VerifyPort, |_| true);
    assert_eq!(
        waits_with(probe, "port 5061 answers only once setup has run on the pool's servers"),
        [setup.id]
    );
}
