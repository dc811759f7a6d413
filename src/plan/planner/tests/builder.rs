//! Milestone resolution: the order the phases run in does not matter, and a
//! planner bug is reported as one, not as a problem with the document.

use super::*;
use crate::plan::planner::builder::Builder;
use crate::plan::planner::milestone::Milestone;
use crate::plan::planner::{PHASES, Planner};
use crate::plan::targets::Targets;
use crate::plan::testing::fqdn;
use crate::plan::{Phase, PlanError, PlannerBug};

/// Runs the phases in the given order (indices into [`PHASES`]).
fn plan_in_order(spec: &str, observed: &Deployment, order: &[usize]) -> Plan {
    let desired = desired(spec);
    let targets = Targets::resolve(&desired, observed);
    let mut p = Planner::new(&desired, observed, &targets);
    for &i in order {
        PHASES[i](&mut p);
    }
    p.b.finish().expect("a plan")
}

#[test]
fn the_phases_give_the_same_plan_in_any_order() {
    let dns = "  dns:\n    - zone: contoso.com\n      xmpp: { host: xmpp.contoso.com, ttl: 300 }\n      sip: { host: sip.contoso.com, moveAddress: true, ttl: 300 }\n";
    let failback = (
        format!(
            "{}{dns}  frontEndPools:\n    fepool1.contoso.com: {{ mediaEdgePool: edgepool1.contoso.com }}\n    fepool3.contoso.com: {{ failedOver: false }}\n",
            routes_to("edgepool1.contoso.com")
        ),
        failed_over()
            .front_end("fepool3.contoso.com", "Site2", None, Some("fepool2.contoso.com"), true)
            .build(),
    );
    let bracket = (
        format!(
            "  sites:\n    Site1: {{ xmppFederationRoute: edgepool2.contoso.com }}\n    Site2: {{ xmppFederationRoute: edgepool2.contoso.com }}\n{dns}  edgePools:\n    edgepool1.contoso.com: {{ nextHop: fepool2.contoso.com }}\n  frontEndPools:\n    fepool1.contoso.com: {{ failedOver: true }}\n"
        ),
        healthy().build(),
    );
    let forward: Vec<usize> = (0..PHASES.len()).collect();
    let backward: Vec<usize> = forward.iter().rev().copied().collect();
    let shuffled = [9, 2, 7, 0, 10, 5, 3, 8, 1, 6, 4];
    for (spec, observed) in [failback, bracket] {
        let expected = plan_in_order(&spec, &observed, &forward);
        assert!(expected.actions.len() > 8, "{:#?}", expected.actions);
        assert_eq!(expected, plan_of(&spec, &observed));
        assert_eq!(plan_in_order(&spec, &observed, &backward), expected);
        assert_eq!(plan_in_order(&spec, &observed, &shuffled), expected);
    }
}

#[test]
fn a_dependency_cycle_is_a_planner_bug_naming_its_actions() {
    let mut b = Builder::default();
    let pool = fqdn("edgepool1.contoso.com");
    b.add(Phase::Publish, Operation::PublishTopology {}, "publish")
        .provides(Milestone::TopologyPublished)
        .after(Milestone::TopologyEdited, "edited first");
    b.add(
        Phase::TopologyEdit,
        Operation::EnableSipFederation {
            edge_pool: pool.clone(),
        },
        "enable",
    )
    .provides(Milestone::TopologyEdited)
    .after(Milestone::TopologyPublished, "a cycle on purpose");
    match b.finish() {
        Err(PlannerBug::Cycle { actions }) => {
            assert_eq!(
                actions,
                ["publish-topology", "enable-sip-federation edgepool1.contoso.com"]
            );
        }
        other => panic!("expected a cycle, got {other:?}"),
    }
}

#[test]
fn a_required_milestone_nobody_provides_is_a_planner_bug() {
    let mut b = Builder::default();
    b.add(Phase::Publish, Operation::PublishTopology {}, "publish")
        .after_required(Milestone::TopologyEdited, "the one publish carries every topology edit");
    let bug = b.finish().expect_err("a bug");
    assert_eq!(
        bug,
        PlannerBug::MissingMilestone {
            action: "publish-topology".into(),
            milestone: "every topology edit staged".into(),
        }
    );
    assert!(bug.to_string().contains("bug in edgefed's planner"), "{bug}");
}

#[test]
fn two_milestones_of_one_provider_make_one_edge_that_waits_for_success_with_the_first_reason() {
    let mut b = Builder::default();
    let pool = fqdn("edgepool1.contoso.com");
    b.add(Phase::Dns, Operation::PublishTopology {}, "provider")
        .provides(Milestone::XmppDnsSet)
        .provides(Milestone::SipDnsSet);
    b.add(
        Phase::XmppBracketEnd,
        Operation::StartServices {
            pool: pool.clone(),
            computer: fqdn("edge1a.contoso.com"),
        },
        "waiter",
    )
    .after_end_of(Milestone::XmppDnsSet, "first, completion")
    .after(Milestone::SipDnsSet, "second, success");
    let plan = b.finish().expect("a plan");
    assert_eq!(
        plan.actions[1].depends_on,
        [crate::plan::Dependency {
            on: 1,
            wait: Wait::Success,
            reason: "first, completion".into()
        }]
    );
}

#[test]
fn a_conditional_node_is_dropped_when_nothing_triggers_it() {
    let mut b = Builder::default();
    b.add(Phase::Publish, Operation::PublishTopology {}, "publish")
        .only_if_any(vec![Milestone::TopologyEdited]);
    assert!(b.finish().expect("a plan").actions.is_empty());
}

#[test]
fn a_broken_plan_time_rule_is_the_users_problem_not_a_bug() {
    let spec = "  sites:\n    Site3: { federationRoute: edgepool1.contoso.com }\n";
    match super::super::plan(&desired(spec), &healthy().build()) {
        Err(PlanError::Rules(d)) => {
            assert_eq!(d.diagnostics[0].rule, Some("P1"));
        }
        other => panic!("expected a P1 diagnostic, got {other:?}"),
    }
}
