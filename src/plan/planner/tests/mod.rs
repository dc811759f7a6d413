//! Planner unit tests, phase by phase, on typed values: the operations, their
//! phases, and each dependency's id, wait kind and reason.

mod builder;
mod dns_sets;
mod front_end;
mod routes_dns;
mod services;
mod topology;
mod topology_writes;

use crate::model::{Deployment, ServiceState::Running, ServiceState::Stopped};
use crate::plan::testing::{DeploymentBuilder, desired};
use crate::plan::{Action, Operation, OperationKind, Plan, Wait};

/// Everything on EdgePool1 (Site1), all running; EdgePool2 (Site2) idle and
/// running; each Front End pool uses its site's Edge pool and backs up the other.
fn healthy() -> DeploymentBuilder {
    DeploymentBuilder::new()
        .site("Site1", Some("edgepool1.contoso.com"), Some("edgepool1.contoso.com"))
        .site("Site2", Some("edgepool1.contoso.com"), Some("edgepool1.contoso.com"))
        .edge_pool(
            "edgepool1.contoso.com",
            "Site1",
            "192.0.2.10",
            &[("edge1a.contoso.com", Running), ("edge1b.contoso.com", Running)],
        )
        .edge_pool(
            "edgepool2.contoso.com",
            "Site2",
            "192.0.2.20",
            &[("edge2a.contoso.com", Running), ("edge2b.contoso.com", Running)],
        )
        .sip_federation("edgepool1.contoso.com")
        .next_hop("edgepool1.contoso.com", "fepool1.contoso.com")
        .next_hop("edgepool2.contoso.com", "fepool2.contoso.com")
        .front_end(
            "fepool1.contoso.com",
            "Site1",
            Some("edgepool1.contoso.com"),
            Some("fepool2.contoso.com"),
            false,
        )
        .front_end(
            "fepool2.contoso.com",
            "Site2",
            Some("edgepool2.contoso.com"),
            Some("fepool1.contoso.com"),
            false,
        )
}

/// As [`healthy`], but EdgePool1 failed earlier and is back with its services
/// stopped: both routes on EdgePool2, which carries SIP federation.
fn failed_over() -> DeploymentBuilder {
    DeploymentBuilder::new()
        .site("Site1", Some("edgepool2.contoso.com"), Some("edgepool2.contoso.com"))
        .site("Site2", Some("edgepool2.contoso.com"), Some("edgepool2.contoso.com"))
        .edge_pool(
            "edgepool1.contoso.com",
            "Site1",
            "192.0.2.10",
            &[("edge1a.contoso.com", Stopped), ("edge1b.contoso.com", Stopped)],
        )
        .edge_pool(
            "edgepool2.contoso.com",
            "Site2",
            "192.0.2.20",
            &[("edge2a.contoso.com", Running), ("edge2b.contoso.com", Running)],
        )
        .sip_federation("edgepool2.contoso.com")
        .front_end(
            "fepool1.contoso.com",
            "Site1",
            Some("edgepool2.contoso.com"),
            Some("fepool2.contoso.com"),
            false,
        )
}

/// Routes of both sites, SIP and XMPP, to `pool`.
fn routes_to(pool: &str) -> String {
    format!(
        "  sites:\n    Site1: {{ federationRoute: {pool}, xmppFederationRoute: {pool} }}\n    Site2: {{ federationRoute: {pool}, xmppFederationRoute: {pool} }}\n"
    )
}

/// The plan of `spec` against `observed`; panics on a planning error.
fn plan_of(spec: &str, observed: &Deployment) -> Plan {
    super::plan(&desired(spec), observed).unwrap_or_else(|e| panic!("{}", e.render()))
}

/// The actions of one kind.
fn of_kind(plan: &Plan, kind: OperationKind) -> Vec<&Action> {
    plan.actions.iter().filter(|a| a.operation.kind() == kind).collect()
}

/// The one action of `kind` matching `pred`.
fn one(plan: &Plan, kind: OperationKind, pred: impl Fn(&Operation) -> bool) -> &Action {
    let found: Vec<&Action> = of_kind(plan, kind).into_iter().filter(|a| pred(&a.operation)).collect();
    assert_eq!(found.len(), 1, "one {kind:?} expected in {:#?}", plan.actions);
    found[0]
}

/// The ids an action waits on, with a given reason.
fn waits_with(a: &Action, reason: &str) -> Vec<usize> {
    a.depends_on
        .iter()
        .filter(|d| d.reason == reason)
        .map(|d| d.on)
        .collect()
}

/// The ids of the actions of `kind`.
fn ids(plan: &Plan, kind: OperationKind) -> Vec<usize> {
    of_kind(plan, kind).iter().map(|a| a.id).collect()
}

/// Every edge waits for success except those listed as `(action, on)` and
/// the chain of topology writes (each waits for the previous one to end).
fn assert_only_completion_edges(plan: &Plan, completion: &[(usize, usize)]) {
    let writes: Vec<usize> = plan
        .actions
        .iter()
        .filter(|a| a.operation.kind().writes_published_topology())
        .map(|a| a.id)
        .collect();
    for a in &plan.actions {
        for d in &a.depends_on {
            let chained = d.reason == super::builder::ONE_TOPOLOGY_WRITE_AT_A_TIME;
            if chained {
                let at = writes.iter().position(|w| *w == a.id);
                assert!(
                    at.is_some_and(|at| at > 0 && writes[at - 1] == d.on),
                    "#{} waits for #{} as the previous topology write, but the writes are {writes:?}",
                    a.id,
                    d.on
                );
            }
            let expected = if chained || completion.contains(&(a.id, d.on)) {
                Wait::Completion
            } else {
                Wait::Success
            };
            assert_eq!(d.wait, expected, "#{} waits for #{}: {}", a.id, d.on, d.reason);
            assert!(!d.reason.is_empty(), "#{} waits for #{} without a reason", a.id, d.on);
        }
    }
}
