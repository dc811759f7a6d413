//! Phase 10: Front End pool failover and failback.

use super::*;
use crate::plan::Phase;
use crate::plan::testing::fqdn;

#[test]
fn a_failover_waits_for_the_next_hop_to_move_off_the_pool() {
    let spec = "  edgePools:\n    edgepool1.contoso.com: { nextHop: fepool2.contoso.com }\n  frontEndPools:\n    fepool1.contoso.com: { failedOver: true }\n";
    let plan = plan_of(spec, &healthy().build());
    let hop = one(&plan, OperationKind::SetEdgeNextHop, |_| true);
    let failover = one(&plan, OperationKind::InvokePoolFailover, |_| true);
    assert!(
        matches!(&failover.operation, Operation::InvokePoolFailover { front_end_pool } if *front_end_pool == fqdn("fepool1.contoso.com"))
    );
    assert_eq!(failover.phase, Phase::FrontEndPools);
    assert_eq!(
        failover.depends_on,
        [crate::plan::Dependency {
            on: hop.id,
            wait: Wait::Success,
            reason: "Lync refuses to fail over a pool that is still an Edge pool's next hop".into(),
        }]
    );
}

#[test]
fn a_failback_waits_for_every_other_action() {
    let observed = failed_over()
        .front_end(
            "fepool3.contoso.com",
            "Site2",
            Some("edgepool2.contoso.com"),
            Some("fepool2.contoso.com"),
            true,
        )
        .build();
    let spec = format!(
        "{}  frontEndPools:\n    fepool3.contoso.com: {{ failedOver: false }}\n",
        routes_to("edgepool1.contoso.com")
    );
    let plan = plan_of(&spec, &observed);
    let last = plan.actions.last().expect("actions");
    assert!(matches!(last.operation, Operation::InvokePoolFailback { .. }));
    let others: Vec<usize> = (1..last.id).collect();
    assert_eq!(
        waits_with(last, "the Front End pool fails back last, after every other step"),
        others
    );
    assert_eq!(last.depends_on.len(), others.len());
}
