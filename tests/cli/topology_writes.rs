//! Site routes and the Edge next hop are topology writes: in the lab they
//! change the topology's signature, and a publish of edits staged against
//! an older signature is refused (the document they were made in would put
//! back what was written since). Acceptance tests of plans that publish.

use std::collections::BTreeSet;

use edgefed::backend::BackendError;
use edgefed::backend::lab::{Scenario, rules};
use edgefed::model::{Fqdn, ServiceState};
use edgefed::plan::{Action, Operation, plan};

use super::support::*;

fn f(s: &str) -> Fqdn {
    Fqdn::parse(s).unwrap()
}

fn is_topology_write(op: &Operation) -> bool {
    matches!(
        op,
        Operation::SetSiteFederationRoute { .. }
            | Operation::SetSiteXmppRoute { .. }
            | Operation::SetEdgeNextHop { .. }
    )
}

/// The kinds of the lab's log written before its first publish that are
/// topology writes (site routes, next hop), given that the run published.
fn writes_before_publish(log: &[Operation]) -> Vec<String> {
    let publish = log
        .iter()
        .position(|o| matches!(o, Operation::PublishTopology {}))
        .unwrap_or_else(|| panic!("no publish in the log: {log:?}"));
    log[..publish]
        .iter()
        .filter(|o| is_topology_write(o))
        .map(ToString::to_string)
        .collect()
}

#[test]
fn site_route_and_next_hop_writes_change_the_signature_and_a_stale_publish_is_refused_whole() {
    let mut lab = Scenario::Healthy.lab().unwrap();
    let s0 = lab.topology.signature.clone();
    rules::apply(
        &mut lab,
        &Operation::EnableSipFederation {
            edge_pool: f("edgepool2.contoso.com"),
        },
    )
    .unwrap();
    assert_eq!(lab.topology.signature, s0, "a staged edit is not a write");
    assert_eq!(lab.staged_against.as_deref(), Some(s0.as_str()));

    let route = rules::apply(
        &mut lab,
        &Operation::SetSiteXmppRoute {
            site: "Site2".into(),
            edge_pool: Some(f("edgepool2.contoso.com")),
        },
    )
    .unwrap();
    let s1 = lab.topology.signature.clone();
    assert_ne!(s1, s0, "Set-CsSite writes the topology");
    assert!(route.detail.unwrap().contains(&s1));
    rules::apply(
        &mut lab,
        &Operation::SetEdgeNextHop {
            edge_pool: f("edgepool2.contoso.com"),
            next_hop: f("fepool1.contoso.com"),
        },
    )
    .unwrap();
    let s2 = lab.topology.signature.clone();
    assert!(s2 != s1 && s2 != s0, "Set-CsEdgeServer -Registrar writes the topology");

    let before = lab.clone();
    let refused = rules::apply(&mut lab, &Operation::PublishTopology {});
    let Err(BackendError::Refused { message, .. }) = refused else {
        panic!("a stale publish must be refused: {refused:?}");
    };
    assert!(
        message.contains(&format!("made against signature {s0}"))
            && message.contains(&format!("now {s2}"))
            && message.contains("Nothing was published"),
        "{message}"
    );
    // Nothing half-applied: the flag is not published, the edit stays
    // staged; only the operation's number is used up (the log records the refusal).
    assert_eq!(lab.sequence, before.sequence + 1);
    lab.sequence = before.sequence;
    assert_eq!(lab, before);
    assert!(!lab.topology.edge_pools[&f("edgepool2.contoso.com")].sip_federation);
}

#[test]
fn a_new_run_discards_edits_an_earlier_run_left_staged_against_an_older_signature() {
    let mut lab = Scenario::Healthy.lab().unwrap();
    let s0 = lab.topology.signature.clone();
    rules::apply(
        &mut lab,
        &Operation::EnableSipFederation {
            edge_pool: f("edgepool2.contoso.com"),
        },
    )
    .unwrap();
    rules::apply(
        &mut lab,
        &Operation::SetSiteXmppRoute {
            site: "Site1".into(),
            edge_pool: Some(f("edgepool2.contoso.com")),
        },
    )
    .unwrap();
    let now = lab.topology.signature.clone();
    let note = rules::start_staging(&mut lab, &now).expect("a note naming what was discarded");
    assert!(
        note.contains("discarded 1 topology edit") && note.contains(&s0) && note.contains(&now),
        "{note}"
    );
    assert!(lab.staged.is_empty());
    rules::apply(
        &mut lab,
        &Operation::DisableSipFederation {
            edge_pool: f("edgepool1.contoso.com"),
        },
    )
    .unwrap();
    rules::apply(&mut lab, &Operation::PublishTopology {}).unwrap();
    let pools = &lab.topology.edge_pools;
    assert!(!pools[&f("edgepool1.contoso.com")].sip_federation);
    assert!(
        !pools[&f("edgepool2.contoso.com")].sip_federation,
        "the discarded edit was not published"
    );
    assert_eq!(lab.staged_against, None);
}

#[test]
fn a_lab_file_without_staged_against_still_reads() {
    let env = Env::new("healthy");
    let text = std::fs::read_to_string(env.lab_path()).unwrap();
    assert!(!text.contains("stagedAgainst"), "{text}");
    let staged = text.replacen(
        "dns:",
        "staged:\n  - { kind: enable-sip-federation, edgePool: edgepool2.contoso.com }\ndns:",
        1,
    );
    std::fs::write(env.lab_path(), staged).unwrap();
    let lab = env.lab();
    assert_eq!(lab.staged.len(), 1);
    assert_eq!(lab.staged_against, None);
}

/// The waves of a plan's DAG (Kahn levels, by id within a level): one of
/// the orders the DAG allows other than the printed one (the PowerShell
/// backend runs whatever is ready side by side).
fn wave_order(actions: &[Action]) -> Vec<&Action> {
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    while done.len() < actions.len() {
        let wave: Vec<&Action> = actions
            .iter()
            .filter(|a| !done.contains(&a.id) && a.depends_on_ids().all(|d| done.contains(&d)))
            .collect();
        assert!(!wave.is_empty(), "cycle");
        done.extend(wave.iter().map(|a| a.id));
        out.extend(wave);
    }
    out
}

#[test]
fn seed_failback_applied_wave_by_wave_converges_with_one_publish_and_no_write_before_it() {
    // The lab's own executor applies one action at a time in printed order,
    // where the phase tie-break happens to put the publish before the XMPP
    // routes; any other order the DAG allows must work as well, level by
    // level here.
    let desired = edgefed::document::parse("failback.yaml", &std::fs::read(example("failback.yaml")).unwrap()).unwrap();
    let mut lab = Scenario::XmppFailedOver.lab().unwrap();
    let observed = lab.topology.signature.clone();
    let p = plan(&desired, &lab.deployment()).unwrap();
    assert_eq!(p.topology_publishes(), 1);
    let mut staging = false;
    let mut applied = Vec::new();
    for a in wave_order(&p.actions) {
        if a.operation.system() == edgefed::plan::System::TopologyEdit && !staging {
            staging = true;
            rules::start_staging(&mut lab, &observed);
        }
        let r = rules::apply(&mut lab, &a.operation);
        assert!(r.is_ok(), "#{} {} refused: {r:?}", a.id, a.operation);
        applied.push(a.operation.clone());
    }
    assert_eq!(writes_before_publish(&applied), Vec::<String>::new());
    assert!(plan(&desired, &lab.deployment()).unwrap().in_sync());
}

/// A document moving SIP and XMPP federation of both sites onto EdgePool2,
/// which is running: the XMPP routes get the stop/start bracket, and the
/// flags a publish.
const BOTH_ROUTES_TO_EDGEPOOL2: &str = "\
apiVersion: edgefed/v1
kind: FederationTopology
spec:
  sites:
    Site1: { federationRoute: edgepool2.contoso.com, xmppFederationRoute: edgepool2.contoso.com }
    Site2: { federationRoute: edgepool2.contoso.com, xmppFederationRoute: edgepool2.contoso.com }
  dns:
    - zone: contoso.com
      xmpp: { host: xmpp.contoso.com, ttl: 300 }
      sip: { host: sip.contoso.com, moveAddress: true, ttl: 300 }
";

#[test]
fn failover_of_both_routes_onto_a_running_pool_converges_in_one_reconcile() {
    let env = Env::new("edge-down");
    let doc = env.file("both.yaml", BOTH_ROUTES_TO_EDGEPOOL2);
    let plan = env.plan_json(&doc);
    assert_eq!(plan["summary"]["topologyPublishes"], 1, "{plan:#}");
    converges_in_one_reconcile_with_no_write_before_the_publish(&env, &doc);
}

#[test]
fn seed_failback_on_the_lab_converges_in_one_reconcile_with_no_write_before_the_publish() {
    // The lab applies one action at a time in printed order; the wave-order
    // test above applies the DAG wave by wave, as the PowerShell backend does.
    let env = Env::new("xmpp-failed-over");
    converges_in_one_reconcile_with_no_write_before_the_publish(&env, &example("failback.yaml"));
}

/// One reconcile of `doc` succeeds, `--check` is then in sync, and no site
/// route or next-hop write came before the publish.
fn converges_in_one_reconcile_with_no_write_before_the_publish(env: &Env, doc: &str) {
    let out = env.run(&["reconcile", "-f", doc]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(code(&env.run(&["reconcile", "--check", "-f", doc])), 0);
    assert_eq!(writes_before_publish(&env.applied()), Vec::<String>::new());
}

#[test]
fn xmpp_failover_without_a_publish_brackets_the_route_change_and_converges() {
    // `healthy`: everything on EdgePool1; the document moves the XMPP routes
    // to EdgePool2, which is running: no topology edit, no publish.
    let env = Env::new("healthy");
    let doc = example("xmpp-failover.yaml");
    let plan = env.plan_json(&doc);
    assert_eq!(plan["summary"]["topologyPublishes"], 0, "{plan:#}");
    let before = env.lab().topology.signature;
    let out = env.run(&["reconcile", "-f", &doc]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let lab = env.lab();
    let applied = env.applied();
    let kinds: Vec<&str> = applied.iter().map(|o| o.kind().name()).collect();
    assert_eq!(
        kinds,
        [
            "stop-services",
            "stop-services",
            "set-site-xmpp-route",
            "set-site-xmpp-route",
            "set-dns-a",
            "wait-for-replication",
            "wait-for-replication",
            "start-services",
            "start-services",
            "verify-port",
        ]
    );
    assert_ne!(lab.topology.signature, before, "the route writes changed the topology");
    assert_eq!(code(&env.run(&["reconcile", "--check", "-f", &doc])), 0);
}

#[test]
fn a_failed_dns_update_inside_the_xmpp_bracket_still_starts_the_pool_again() {
    // The XMPP failover stops EdgePool2 (the only pool left), changes the
    // route, then DNS: a refused DNS update must not leave it stopped.
    let env = Env::new("healthy");
    env.add_fault(edgefed::backend::lab::Fault::failing(
        "set-dns-a",
        "REFUSED: the zone is frozen",
    ));
    let out = env.run(&["reconcile", "-f", &example("xmpp-failover.yaml")]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let lab = env.lab();
    for (name, c) in &lab.topology.edge_pools[&f("edgepool2.contoso.com")].computers {
        assert_eq!(c.services, ServiceState::Running, "{name} left stopped: {}", text(&out));
    }
    let applied = env.applied();
    let kinds: Vec<&str> = applied.iter().map(|o| o.kind().name()).collect();
    assert_eq!(kinds.last(), Some(&"start-services"), "{kinds:?}");
    // The next reconcile finishes the job.
    let again = env.run(&["reconcile", "-f", &example("xmpp-failover.yaml")]);
    assert_eq!(code(&again), 0, "{}", text(&again));
}
