//! The seed procedure: failback from the default `xmpp-failed-over` lab.

use super::support::*;

#[test]
fn failback_performs_the_five_seed_steps_in_the_procedures_order() {
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
    assert_eq!(a["addresses"], serde_json::json!(["203.0.113.10"]));
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
    let applied = env.applied();
    let logged: Vec<&str> = applied.iter().map(|o| o.kind().name()).collect();
    let planned: Vec<String> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(logged, planned);
    let edits: Vec<String> = applied
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

#[test]
fn plan_explain_says_why_each_action_of_the_seed_failback_waits() {
    let env = Env::new("xmpp-failed-over");
    let plan = env.plan_doc(&example("failback.yaml")).plan().unwrap();
    let out = env.ok(&["plan", "-f", &example("failback.yaml"), "--explain", "--color", "never"]);
    // Split the output into each action's block: its number line and what follows.
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    for line in out.lines() {
        let head = line.trim_start();
        if head.split_once(". ").is_some_and(|(n, _)| n.parse::<usize>().is_ok()) {
            blocks.push(Vec::new());
        } else if let Some(block) = blocks.last_mut() {
            block.push(head);
        }
    }
    assert_eq!(blocks.len(), plan.actions.len(), "{out}");
    let mut edges = 0;
    for (a, block) in plan.actions.iter().zip(&blocks) {
        let explained: Vec<&&str> = block.iter().filter(|l| l.starts_with("waits for #")).collect();
        assert_eq!(explained.len(), a.depends_on.len(), "action {}: {block:?}", a.id);
        for d in &a.depends_on {
            assert!(
                !d.reason.is_empty(),
                "action {} waits for #{} without a reason",
                a.id,
                d.on
            );
            let kind = plan.actions[d.on - 1].operation.kind().name();
            let until = match d.wait {
                edgefed::plan::Wait::Success => "",
                edgefed::plan::Wait::Completion => " to end, whatever the outcome",
            };
            let line = format!("waits for #{} {kind}{until}: {}", d.on, d.reason);
            assert!(
                block.contains(&line.as_str()),
                "action {}: no `{line}` in {block:?}",
                a.id
            );
            edges += 1;
        }
    }
    // The seed failback has 68 edges: the failback alone waits for the 16
    // others, both XMPP route changes wait for the publish, and its four
    // `Set-CsSite` calls are chained (three edges).
    assert_eq!(edges, 68, "{out}");
    assert!(
        out.contains("waits for #6 publish-topology: run-setup reads the published topology"),
        "{out}"
    );
}

#[test]
fn plan_explain_marks_the_xmpp_brackets_completion_edges() {
    let env = Env::new("healthy");
    let out = env.ok(&[
        "plan",
        "-f",
        &example("xmpp-failover.yaml"),
        "--explain",
        "--color",
        "never",
    ]);
    assert!(
        out.contains(
            "waits for #5 set-dns-a to end, whatever the outcome: the XMPP bracket closes after the XMPP DNS changes"
        ),
        "{out}"
    );
}

#[test]
fn plan_explain_with_json_output_is_a_usage_error() {
    let env = Env::new("xmpp-failed-over");
    let out = env.run(&["plan", "-f", &example("failback.yaml"), "--explain", "--output", "json"]);
    assert_eq!(code(&out), 64, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("waitsFor"),
        "{}",
        text(&out)
    );
}
