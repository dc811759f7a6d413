//! Failover procedures: XMPP (with the bracket), SIP, Front End.

use super::support::*;

fn position(steps: &[String], step: &str) -> usize {
    steps
        .iter()
        .position(|s| s == step)
        .unwrap_or_else(|| panic!("{step} not in {steps:?}"))
}

#[test]
fn xmpp_failover_brackets_the_route_change_with_stop_and_start() {
    let env = Env::new("healthy");
    env.ok(&["lab", "fail", "edgepool1.contoso.com"]);
    let plan = env.plan_json(&example("xmpp-failover.yaml"));
    assert_order_respects_dependencies(&plan);
    let s = steps(&plan);
    let stop = position(&s, "stop-services edgeserver2a.contoso.com");
    let route = position(&s, "set-site-xmpp-route Site1");
    let dns = position(&s, "set-dns-a xmpp.contoso.com");
    let start = position(&s, "start-services edgeserver2a.contoso.com");
    let verify = position(&s, "verify-port 203.0.113.20:5269");
    assert!(stop < route && route < dns && dns < start && start < verify, "{s:?}");
    // Nothing on the failed pool's servers.
    assert!(!s.iter().any(|x| x.contains("edgeserver1")), "{s:?}");
    assert!(plan["warnings"].to_string().contains("edgeserver1a.contoso.com"));
    env.ok(&["reconcile", "-f", &example("xmpp-failover.yaml")]);
    assert_eq!(
        code(&env.run(&["reconcile", "--check", "-f", &example("xmpp-failover.yaml")])),
        0
    );
}

#[test]
fn sip_failover_moves_the_flag_in_one_publish_and_runs_setup_on_the_new_pool() {
    let env = Env::new("healthy");
    env.ok(&["lab", "fail", "edgepool1.contoso.com"]);
    let plan = env.plan_json(&example("sip-failover.yaml"));
    let s = steps(&plan);
    assert!(
        position(&s, "disable-sip-federation edgepool1.contoso.com")
            < position(&s, "enable-sip-federation edgepool2.contoso.com")
    );
    assert!(position(&s, "publish-topology") < position(&s, "run-setup edgeserver2a.contoso.com"));
    // The SRV record moves to EdgePool2's own Access Edge FQDN (its
    // certificate's name); the shared sip.contoso.com A record stays.
    assert!(
        position(&s, "run-setup edgeserver2b.contoso.com")
            < position(&s, "set-dns-srv _sipfederationtls._tcp.contoso.com")
    );
    assert!(!s.iter().any(|x| x.starts_with("set-dns-a")), "{s:?}");
    let srv = plan["actions"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["kind"] == "set-dns-srv"))
        .expect("a set-dns-srv action");
    assert_eq!(srv["target"], "sip2.contoso.com");
    assert_eq!(plan["summary"]["topologyPublishes"], 1);
    env.ok(&["reconcile", "-f", &example("sip-failover.yaml")]);
    assert_eq!(
        code(&env.run(&["reconcile", "--check", "-f", &example("sip-failover.yaml")])),
        0
    );
}

#[test]
fn front_end_failover_moves_the_next_hop_first() {
    let env = Env::new("healthy");
    env.ok(&["lab", "fail", "fepool1.contoso.com"]);
    let plan = env.plan_json(&example("frontend-failover.yaml"));
    assert_eq!(
        steps(&plan),
        [
            "set-edge-next-hop edgepool1.contoso.com",
            "invoke-pool-failover fepool1.contoso.com"
        ]
    );
    let failover = &env.plan_doc(&example("frontend-failover.yaml")).plan().unwrap().actions[1];
    assert_eq!(
        failover.depends_on,
        [Dependency {
            on: 1,
            wait: Wait::Success,
            reason: "Lync refuses to fail over a pool that is still an Edge pool's next hop".into(),
        }]
    );
    env.ok(&["reconcile", "-f", &example("frontend-failover.yaml")]);
    assert!(
        env.lab()
            .topology
            .front_end_pools
            .values()
            .any(|p| p.failed_over.is_failed_over())
    );
}

#[test]
fn front_end_failover_without_the_next_hop_is_refused_by_p6() {
    let env = Env::new("healthy");
    let original = std::fs::read_to_string(example("frontend-failover.yaml")).unwrap();
    let doc = env.file(
        "no-hop.yaml",
        &original.replace(
            "  edgePools:\n    edgepool1.contoso.com:\n      nextHop: fepool3.contoso.com\n",
            "",
        ),
    );
    let out = env.run(&["plan", "-f", &doc]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error[P6]"), "{err}");
    assert!(
        err.contains("edgepool1.contoso.com") && err.contains("nextHop: fepool3.contoso.com"),
        "{err}"
    );
    assert!(err.contains("no-hop.yaml:"), "{err}");
}
