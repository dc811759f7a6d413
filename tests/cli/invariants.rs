//! Property tests: for random labs and random valid documents over their
//! pools, reconcile converges, the plan is minimal and ordered, and no
//! published intermediate state has the wrong number of federation pools.

use std::collections::BTreeMap;

use edgefed::backend::lab::{LabFile, Scenario, rules};
use edgefed::model::{Computer, EdgePool, Fqdn, FrontEndPool, ServiceState, Site};
use edgefed::plan::{Operation, plan};
use proptest::prelude::*;

fn fqdn(s: &str) -> Fqdn {
    Fqdn::parse(s).unwrap()
}

#[derive(Debug, Clone)]
struct World {
    lab: LabFile,
    doc: String,
}

fn computer() -> impl Strategy<Value = Computer> {
    (prop::bool::weighted(0.85), any::<bool>()).prop_map(|(reachable, running)| Computer {
        reachable,
        services: ServiceState::running_if(running),
        setup_pending: false,
    })
}

fn world() -> impl Strategy<Value = World> {
    let edge = (
        any::<bool>(),
        prop::bool::weighted(0.8),
        prop::collection::vec(computer(), 1..3),
    );
    let fe = (any::<bool>(), 0usize..3, any::<bool>());
    (
        1usize..4,
        prop::collection::vec(edge, 1..4),
        prop::collection::vec(fe, 1..4),
        prop::collection::vec((0usize..4, 0usize..4), 3),
        (any::<bool>(), 0usize..4, 0usize..4, any::<bool>(), any::<bool>()),
    )
        .prop_map(|(n_sites, edges, fes, routes, choice)| build(n_sites, &edges, &fes, &routes, choice))
}

#[allow(clippy::type_complexity)]
fn build(
    n_sites: usize,
    edges: &[(bool, bool, Vec<Computer>)],
    fes: &[(bool, usize, bool)],
    routes: &[(usize, usize)],
    (list_all, fed_pick, xmpp_pick, manage_dns, fail_over): (bool, usize, usize, bool, bool),
) -> World {
    let mut lab = Scenario::Healthy.lab().unwrap();
    lab.topology.sites.clear();
    lab.topology.edge_pools.clear();
    lab.topology.front_end_pools.clear();
    let sites: Vec<String> = (1..=n_sites).map(|i| format!("Site{i}")).collect();
    let edge_names: Vec<Fqdn> = (1..=edges.len())
        .map(|i| fqdn(&format!("edgepool{i}.contoso.com")))
        .collect();
    let fe_names: Vec<Fqdn> = (1..=fes.len())
        .map(|i| fqdn(&format!("fepool{i}.contoso.com")))
        .collect();
    for (i, (sip, xmpp, computers)) in edges.iter().enumerate() {
        let computers = computers
            .iter()
            .enumerate()
            .map(|(j, c)| (fqdn(&format!("edge{i}-{j}.contoso.com")), c.clone()))
            .collect();
        lab.topology.edge_pools.insert(
            edge_names[i].clone(),
            EdgePool {
                site: sites[i % n_sites].clone(),
                sip_federation: *sip,
                xmpp_federation: *xmpp,
                next_hop: Some(fe_names[i % fe_names.len()].clone()),
                external_addresses: vec![format!("203.0.113.{}", 10 + i).parse().unwrap()],
                public_addresses_unknown: false,
                product: None,
                access_edge_fqdn: None,
                computers,
            },
        );
    }
    for (i, (backup, media, failed)) in fes.iter().enumerate() {
        lab.topology.front_end_pools.insert(
            fe_names[i].clone(),
            FrontEndPool {
                site: sites[i % n_sites].clone(),
                media_edge_pool: Some(edge_names[media % edge_names.len()].clone()),
                backup_pool: backup.then(|| fe_names[(i + 1) % fe_names.len()].clone()),
                failed_over: edgefed::model::FailoverState::known(*failed && *backup),
                computers: BTreeMap::new(),
            },
        );
    }
    for (i, s) in sites.iter().enumerate() {
        let (f, x) = routes[i % routes.len()];
        let pick = |k: usize| (k < edge_names.len()).then(|| edge_names[k].clone());
        lab.topology.sites.insert(
            s.clone(),
            Site {
                federation_route: pick(f),
                xmpp_federation_route: pick(x),
            },
        );
    }
    // The document: valid targets only (reachable; XMPP-enabled for XMPP).
    let up = |p: &Fqdn| lab.topology.edge_pools[p].computers.values().any(|c| c.reachable);
    let fed_target = edge_names
        .iter()
        .cycle()
        .skip(fed_pick)
        .take(edge_names.len())
        .find(|p| up(p))
        .cloned();
    let xmpp_target = edge_names
        .iter()
        .cycle()
        .skip(xmpp_pick)
        .take(edge_names.len())
        .find(|p| up(p) && lab.topology.edge_pools[*p].xmpp_federation)
        .cloned();
    let show = |p: &Option<Fqdn>| p.as_ref().map_or_else(|| "null".to_string(), ToString::to_string);
    let listed: Vec<&String> = if list_all {
        sites.iter().collect()
    } else {
        sites.iter().take(1).collect()
    };
    let mut doc = String::from("apiVersion: edgefed/v1\nkind: FederationTopology\nspec:\n  sites:\n");
    for s in &listed {
        doc.push_str(&format!(
            "    {s}:\n      federationRoute: {}\n      xmppFederationRoute: {}\n",
            show(&fed_target),
            show(&xmpp_target)
        ));
    }
    doc.push_str("  frontEndPools:\n");
    let mut edge_section = String::new();
    for (i, f) in fe_names.iter().enumerate() {
        let media = edge_names.iter().find(|p| up(p)).unwrap_or(&edge_names[0]);
        let failed = fail_over && lab.topology.front_end_pools[f].backup_pool.is_some() && i == 0;
        doc.push_str(&format!(
            "    {f}:\n      mediaEdgePool: {media}\n      failedOver: {failed}\n"
        ));
        if failed {
            // Move every next hop off the pool being failed over (P6).
            if let Some(other) = fe_names.iter().find(|o| *o != f) {
                edge_section.push_str("  edgePools:\n");
                for e in &edge_names {
                    edge_section.push_str(&format!("    {e}:\n      nextHop: {other}\n"));
                }
            }
        }
    }
    doc.push_str(&edge_section);
    let doc = if manage_dns {
        format!(
            "{doc}  dns:\n    - zone: contoso.com\n      xmpp: {{ host: xmpp.contoso.com }}\n      sip: {{ host: sip.contoso.com, moveAddress: true }}\n"
        )
    } else {
        doc
    };
    World { lab, doc }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    // The stricter lab refuses a publish whose edits were staged before a site
    // route write in the same plan (e.g. a SIP + XMPP failover onto a running pool).
    #[test]
    fn reconcile_converges_and_plans_are_minimal_and_ordered(w in world()) {
        let desired = match edgefed::document::parse("random.yaml", w.doc.as_bytes()) {
            Ok(d) => d,
            Err(e) => return Err(TestCaseError::fail(format!("generated an invalid document:\n{}\n{}", w.doc, e.render()))),
        };
        let mut lab = w.lab.clone();
        let first = match plan(&desired, &lab.deployment()) {
            Ok(p) => p,
            // Plan-time rules (e.g. P6 with a single Front End pool) may refuse: nothing to check.
            Err(_) => return Ok(()),
        };
        prop_assert!(first.topology_publishes() <= 1);
        for a in &first.actions {
            prop_assert!(a.depends_on_ids().all(|d| d < a.id), "{:?}", a);
        }
        let final_fed: std::collections::BTreeSet<Fqdn> = {
            let mut t = lab.topology.sites.clone();
            for (name, s) in &desired.sites {
                if let (Some(site), Some(r)) = (t.get_mut(name), &s.federation_route) { site.federation_route.clone_from(&r.value); }
            }
            t.values().filter_map(|s| s.federation_route.clone()).collect()
        };
        for a in &first.actions {
            let r = rules::apply(&mut lab, &a.operation);
            prop_assert!(r.is_ok(), "action {} {} refused: {:?}\n{}", a.id, a.operation, r, w.doc);
            if matches!(a.operation, Operation::PublishTopology {}) {
                let published = lab.topology.edge_pools.values().filter(|p| p.sip_federation).count();
                prop_assert_eq!(published, final_fed.len(), "published intermediate state");
                prop_assert!(published <= 1);
            }
        }
        let second = plan(&desired, &lab.deployment()).map_err(|e| TestCaseError::fail(e.render()))?;
        prop_assert!(second.in_sync(), "second plan not empty: {:?}\n{}", second, w.doc);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn an_observed_document_reconciles_to_nothing(w in world()) {
        // First bring the random lab to a consistent state, then observe it.
        let mut lab = w.lab.clone();
        if let Ok(desired) = edgefed::document::parse("random.yaml", w.doc.as_bytes())
            && let Ok(p) = plan(&desired, &lab.deployment())
        {
            for a in &p.actions {
                let _ = rules::apply(&mut lab, &a.operation);
            }
        }
        let (text, notes) = edgefed::document::observed_document(&lab.deployment(), false);
        let observed = edgefed::document::parse("observed.yaml", text.as_bytes())
            .map_err(|e| TestCaseError::fail(format!("observe wrote an invalid document:\n{text}\n{}", e.render())))?;
        let again = plan(&observed, &lab.deployment());
        if notes.is_empty() {
            let again = again.map_err(|e| TestCaseError::fail(format!("{text}\n{}", e.render())))?;
            prop_assert!(again.in_sync(), "observed document is not a no-op:\n{}\n{:?}", text, again);
        }
    }
}

/// 200 cases, or `PROPTEST_CASES` for a longer run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}
