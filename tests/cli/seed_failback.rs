//! The seed procedure: failback from the default `xmpp-failed-over` lab.

use super::support::*;

#[test]
fn failback_performs_the_five_seed_steps_in_the_contracts_order() {
    let env = Env::new("xmpp-failed-over");
    let plan = env.plan_json(&example("failback.yaml"));
    assert_order_respects_dependencies(&plan);
    assert_eq!(steps(&plan), SEED_STEPS);
    assert_eq!(plan["summary"]["topologyPublishes"], 1);
    // The XMPP A record gets the restored pool's address, not EdgePool2's.
    let a = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "xmpp.contoso.com")
        .unwrap();
    assert_eq!(a["addresses"], serde_json::json!(["131.107.155.10"]));
    // Failback is last and follows everything.
    let last = plan["actions"].as_array().unwrap().last().unwrap();
    assert_eq!(last["dependsOn"].as_array().unwrap().len(), 16);
    // Routes name pools, with -XmppFederationRoute semantics: edgePool fields are pools.
    for a in plan["actions"].as_array().unwrap() {
        if a["kind"] == "set-site-xmpp-route" {
            assert_eq!(a["edgePool"], "edgepool1.contoso.com");
        }
    }

    let out = env.run(&["reconcile", "-f", &example("failback.yaml")]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Plan: 17 actions (1 topology publish)."), "{stdout}");
    assert!(stdout.contains("Applied 17 of 17 actions."), "{stdout}");

    // Converged: --check is clean and a second plan is empty.
    let check = env.run(&["reconcile", "--check", "-f", &example("failback.yaml")]);
    assert_eq!(code(&check), 0, "{}", text(&check));
    let again = env.plan_json(&example("failback.yaml"));
    assert_eq!(again["actions"].as_array().unwrap().len(), 0);
    assert_eq!(again["inSync"], true);

    // The lab log lists the operations in the plan's order.
    let lab = env.lab();
    let logged: Vec<&str> = lab.log.iter().map(|o| o.kind().name()).collect();
    let planned: Vec<String> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(logged, planned);
    let edits: Vec<String> = lab
        .log
        .iter()
        .filter(|o| o.system() == edgefed::plan::System::TopologyEdit)
        .map(|o| o.kind().to_string())
        .collect();
    assert_eq!(
        edits,
        ["disable-sip-federation", "enable-sip-federation", "set-media-edge-pool"]
    );
}

#[test]
fn run_setup_and_services_skip_an_unreachable_server_with_a_warning() {
    let env = Env::new("xmpp-failed-over");
    let mut lab = env.lab();
    let ep1: edgefed::model::Fqdn = edgefed::model::Fqdn::parse("edgepool1.contoso.com").unwrap();
    let b = edgefed::model::Fqdn::parse("edgeserver1b.contoso.com").unwrap();
    lab.topology
        .edge_pools
        .get_mut(&ep1)
        .unwrap()
        .computers
        .get_mut(&b)
        .unwrap()
        .reachable = false;
    env.set_lab(&lab);
    let plan = env.plan_json(&example("failback.yaml"));
    let s = steps(&plan);
    assert!(s.contains(&"run-setup edgeserver1a.contoso.com".to_string()));
    assert!(!s.iter().any(|x| x.contains("edgeserver1b")), "{s:?}");
    let warnings = plan["warnings"].to_string();
    assert!(warnings.contains("edgeserver1b.contoso.com"), "{warnings}");
    env.ok(&["reconcile", "-f", &example("failback.yaml")]);
}

#[test]
fn observe_prints_a_document_that_reconciles_to_nothing() {
    let env = Env::new("xmpp-failed-over");
    env.ok(&["reconcile", "-f", &example("failback.yaml")]);
    let observed = env.ok(&["observe"]);
    assert!(observed.starts_with("# yaml-language-server: $schema="), "{observed}");
    let doc = env.file("observed.yaml", &observed);
    let out = env.run(&["reconcile", "--check", "-f", &doc]);
    assert_eq!(code(&out), 0, "{}", text(&out));
}
