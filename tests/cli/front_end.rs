//! Front End pools and the Central Management Server: the `site-down`
//! scenario through the lab and the Management Shell double, and a failover
//! state that Lync cannot report.

use edgefed::backend::lab::Scenario;
use edgefed::model::Fqdn;
use serde_json::Value;

use crate::backends::Double;
use crate::support::{Env, assert_order_respects_dependencies, code, steps, text};

fn f(s: &str) -> Fqdn {
    Fqdn::parse(s).expect("FQDN")
}

/// Site1 lost: SIP and XMPP federation move to EdgePool2, EdgePool1's next
/// hop leaves the failed fepool1, and the Site1 Front End pools fail over.
const SITE_DOWN: &str = include_str!("../fixtures/site-down.yaml");

/// The kinds that write to the Central Management store.
const WRITES: [&str; 10] = [
    "set-edge-next-hop",
    "edit-edge-next-hop",
    "disable-sip-federation",
    "enable-sip-federation",
    "set-media-edge-pool",
    "publish-topology",
    "set-site-federation-route",
    "set-site-xmpp-route",
    "invoke-pool-failover",
    "invoke-pool-failback",
];

#[test]
fn site_down_plans_the_cms_failover_first_and_every_topology_write_waits_for_it() {
    let env = Env::new("site-down");
    let doc = env.file("site-down.yaml", SITE_DOWN);
    let plan = env.plan_json(&doc);
    assert_order_respects_dependencies(&plan);
    let actions = plan["actions"].as_array().expect("actions");
    let cms: Vec<&Value> = actions.iter().filter(|a| a["kind"] == "invoke-cms-failover").collect();
    assert_eq!(cms.len(), 1, "{:?}", steps(&plan));
    let cms = cms[0];
    assert_eq!(cms["fromPool"], "fepool1.contoso.com");
    assert_eq!(cms["toPool"], "fepool2.contoso.com");
    assert_eq!(cms["sqlServer"], "sql2.contoso.com");
    assert_eq!(cms["sqlInstance"], "rtc");
    assert_eq!(cms["dependsOn"].as_array().map(Vec::len), Some(0));
    let cms_id = cms["id"].clone();
    let writers: Vec<&Value> = actions
        .iter()
        .filter(|a| WRITES.contains(&a["kind"].as_str().unwrap_or_default()))
        .collect();
    // The run publishes, so the next hop moves in the published document.
    for kind in [
        "edit-edge-next-hop",
        "publish-topology",
        "set-site-federation-route",
        "set-site-xmpp-route",
        "invoke-pool-failover",
    ] {
        assert!(
            writers.iter().any(|a| a["kind"] == kind),
            "no {kind} in {:?}",
            steps(&plan)
        );
    }
    for a in &writers {
        assert!(
            a["dependsOn"].as_array().expect("dependsOn").contains(&cms_id),
            "{} does not wait for the CMS failover: {a}",
            a["kind"]
        );
    }
    let explained = env.ok(&["plan", "-f", &doc, "--explain"]);
    assert!(
        explained.contains(&format!(
            "waits for #{cms_id} invoke-cms-failover: Lync refuses writes to the Central Management store"
        )),
        "{explained}"
    );
}

#[test]
fn without_the_cms_failover_the_lab_refuses_every_topology_write_and_the_pool_failover() {
    let env = Env::new("site-down");
    let doc = env.file("site-down.yaml", SITE_DOWN);
    let before = env.lab();
    env.add_fault(edgefed::backend::lab::Fault::failing(
        "invoke-cms-failover",
        "Invoke-CsManagementServerFailover : the backup database does not answer",
    ));
    let out = env.run(&["reconcile", "-f", &doc]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let after = env.lab();
    // Nothing that writes the Central Management store ran.
    assert!(
        env.applied().iter().all(|op| !WRITES.contains(&op.kind().name())),
        "{:?}",
        env.applied()
    );
    assert_eq!(after.topology.signature, before.topology.signature);
    // And the lab itself refuses them, in Lync's words, while the CMS is down.
    let mut lab = env.lab();
    for op in [
        edgefed::plan::Operation::PublishTopology {},
        edgefed::plan::Operation::SetSiteXmppRoute {
            site: "Site1".into(),
            edge_pool: Some(f("edgepool2.contoso.com")),
        },
        edgefed::plan::Operation::SetEdgeNextHop {
            edge_pool: f("edgepool1.contoso.com"),
            next_hop: f("fepool2.contoso.com"),
        },
        edgefed::plan::Operation::InvokePoolFailover {
            front_end_pool: f("fepool3.contoso.com"),
        },
    ] {
        let e = edgefed::backend::lab::rules::apply(&mut lab, &op).expect_err("refused");
        assert!(
            e.to_string()
                .contains("Central Management store on pool \"fepool1.contoso.com\"")
                && e.to_string().contains("Invoke-CsManagementServerFailover"),
            "{op}: {e}"
        );
    }
}

/// Site1 lost, through the lab: the CMS failover, one publish, the routes
/// and the Front End failovers, in one reconcile; `--check` is in sync after.
#[test]
fn a_whole_site_outage_converges_in_one_reconcile() {
    let env = Env::new("site-down");
    let doc = env.file("site-down.yaml", SITE_DOWN);
    let out = env.run(&["reconcile", "-f", &doc]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let lab = env.lab();
    let cms = lab.topology.central_management.as_ref().expect("cms");
    assert_eq!(cms.pool, f("fepool2.contoso.com"));
    for fe in ["fepool1.contoso.com", "fepool3.contoso.com"] {
        assert!(
            lab.topology.front_end_pools[&f(fe)].failed_over.is_failed_over(),
            "{fe}"
        );
    }
    for s in lab.topology.sites.values() {
        assert_eq!(s.federation_route, Some(f("edgepool2.contoso.com")));
        assert_eq!(s.xmpp_federation_route, Some(f("edgepool2.contoso.com")));
    }
    let check = env.run(&["reconcile", "-f", &doc, "--check"]);
    assert_eq!(code(&check), 0, "{}", text(&check));
}

/// Through the double the failover state is unknown: the first reconcile
/// fails fepool1 over (the document says so explicitly) and records it; the
/// second plans nothing and `--check` is in sync; `failedOver: false` then
/// fails back the pool edgefed failed over.
#[test]
fn an_unknown_failover_state_never_fails_over_twice() {
    let d = Double::of(Scenario::Healthy);
    let doc = d.lync_only("frontend-failover.yaml");
    let first = d.run(&["reconcile", "-f", &doc]);
    assert_eq!(code(&first), 0, "{}", text(&first));
    assert!(
        text(&first).contains("Lync cannot say whether it is failed over"),
        "{}",
        text(&first)
    );
    let failovers = |d: &Double| {
        d.log()
            .iter()
            .filter(|l| l.starts_with("Invoke-CsPoolFailover"))
            .count()
    };
    assert_eq!(failovers(&d), 1, "{:?}", d.log());
    let record = d.dir.path().join(".edgefed/backups/pool-failovers.json");
    let recorded: Value = serde_json::from_slice(&std::fs::read(&record).expect("record")).expect("JSON");
    assert_eq!(recorded["pools"]["fepool1.contoso.com"], true, "{recorded}");

    let second = d.run(&["reconcile", "-f", &doc]);
    assert_eq!(code(&second), 0, "{}", text(&second));
    assert_eq!(failovers(&d), 1, "failed over again: {:?}", d.log());
    let check = d.run(&["reconcile", "-f", &doc, "--check"]);
    assert_eq!(code(&check), 0, "{}", text(&check));

    let back = std::fs::read_to_string(&doc)
        .expect("doc")
        .replace("failedOver: true", "failedOver: false");
    std::fs::write(&doc, back).expect("doc");
    let third = d.run(&["reconcile", "-f", &doc]);
    assert_eq!(code(&third), 0, "{}", text(&third));
    assert!(
        d.log()
            .iter()
            .any(|l| l.starts_with("Invoke-CsPoolFailBack fepool1.contoso.com")),
        "{:?}",
        d.log()
    );
    let recorded: Value = serde_json::from_slice(&std::fs::read(&record).expect("record")).expect("JSON");
    assert_eq!(recorded["pools"]["fepool1.contoso.com"], false, "{recorded}");
}

#[test]
fn the_double_refuses_topology_writes_while_the_cms_is_down_and_fails_it_over_to_the_defined_database_only() {
    let d = Double::of(Scenario::SiteDown);
    let doc = d.dir.path().join("site-down.yaml");
    std::fs::write(
        &doc,
        SITE_DOWN.split("  dns:").next().expect("doc").to_string() + "  verify:\n    ports: false\n",
    )
    .expect("doc");
    let doc = doc.to_string_lossy().into_owned();
    let plan = d.run(&["plan", "-f", &doc, "--output", "json"]);
    assert_eq!(code(&plan), 0, "{}", text(&plan));
    let plan: Value = serde_json::from_slice(&plan.stdout).expect("plan");
    let order = steps(&plan);
    let cms = order.iter().position(|s| s == "invoke-cms-failover");
    let first_write = order.iter().position(|s| WRITES.iter().any(|w| s.starts_with(w)));
    assert!(cms.is_some() && cms < first_write, "{order:?}");
    let out = d.run(&["reconcile", "-f", &doc]);
    let log = d.log();
    let failover = log
        .iter()
        .position(|l| l == "Invoke-CsManagementServerFailover -BackupSqlServerFqdn sql2.contoso.com");
    let first_write = log
        .iter()
        .position(|l| ["Publish", "Set-Cs", "Invoke-CsPool"].iter().any(|w| l.starts_with(w)));
    assert!(failover.is_some() && failover < first_write, "{log:?}\n{}", text(&out));
    assert_eq!(
        d.state()["deployment"]["centralManagement"]["pool"],
        "fepool2.contoso.com"
    );
    assert!(
        log.iter().any(|l| l.starts_with("Invoke-CsPoolFailover")),
        "{log:?}\n{}",
        text(&out)
    );
}

/// The same whole-site outage through the Management Shell double (Lync's
/// part: DNS and port checks aside): the CMS failover first, one publish
/// with the next hop folded into it, no Set-CsSite or Set-CsEdgeServer
/// before it, and a `--check` in sync afterwards.
#[test]
fn a_whole_site_outage_converges_in_one_reconcile_through_the_double() {
    let double = Double::of(Scenario::SiteDown);
    let lync_only = SITE_DOWN.split("  dns:").next().expect("document").to_string() + "  verify:\n    ports: false\n";
    let doc = double.dir.path().join("site-down.yaml");
    std::fs::write(&doc, lync_only).expect("document");
    let doc = doc.to_string_lossy().into_owned();
    let out = double.run(&["reconcile", "-f", &doc]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let log = double.log();
    let at = |needle: &str| log.iter().position(|l| l.starts_with(needle));
    let publish = at("Publish-CsTopology").unwrap_or_else(|| panic!("no publish in {log:?}"));
    assert!(
        at("Invoke-CsManagementServerFailover").is_some_and(|c| c < publish),
        "{log:?}"
    );
    for write in ["Set-CsSite", "Set-CsEdgeServer"] {
        assert!(
            log.iter()
                .enumerate()
                .all(|(i, l)| !l.starts_with(write) || i > publish),
            "{write} before the publish: {log:?}"
        );
    }
    assert!(
        !log.iter().any(|l| l.starts_with("Set-CsEdgeServer")),
        "the next hop went into the published document: {log:?}"
    );
    assert_eq!(double.state()["publishes"], 1, "{log:?}");
    let check = double.run(&["reconcile", "--check", "-f", &doc]);
    assert_eq!(code(&check), 0, "{}", text(&check));
}
