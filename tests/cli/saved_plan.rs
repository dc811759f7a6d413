//! `plan --out` and `reconcile --plan`.

use super::support::*;

#[test]
fn a_stale_plan_is_refused_naming_what_changed_and_nothing_is_applied() {
    let env = Env::new("xmpp-failed-over");
    env.ok(&["plan", "-f", &example("failback.yaml"), "--out", "plan.json"]);
    env.ok(&["lab", "fail", "edgepool2.contoso.com"]);
    let before = std::fs::read(env.lab_path()).unwrap();
    let out = env.run(&["reconcile", "--plan", "plan.json"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is stale"), "{err}");
    assert!(
        err.contains("/edgeserver2a.contoso.com/reachable: true → false"),
        "{err}"
    );
    assert_eq!(std::fs::read(env.lab_path()).unwrap(), before);
}

#[test]
fn a_fresh_plan_applies_exactly_its_actions() {
    let env = Env::new("xmpp-failed-over");
    env.ok(&["plan", "-f", &example("failback.yaml"), "--out", "plan.json"]);
    let saved = PlanDocument::from_json(&std::fs::read_to_string(env.path().join("plan.json")).unwrap()).unwrap();
    env.ok(&["reconcile", "--plan", "plan.json"]);
    let logged = env.applied();
    let planned: Vec<Operation> = saved.actions.iter().map(|a| a.operation.clone()).collect();
    assert_eq!(logged, planned);
}

#[test]
fn a_version_1_plan_is_refused_saying_to_make_the_plan_again() {
    let env = Env::new("xmpp-failed-over");
    env.ok(&["plan", "-f", &example("failback.yaml"), "--out", "plan.json"]);
    let path = env.path().join("plan.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    // What edgefed 1 wrote: formatVersion 1, no waitsFor.
    v["formatVersion"] = serde_json::json!(1);
    for a in v["actions"].as_array_mut().unwrap() {
        a.as_object_mut().unwrap().remove("waitsFor");
    }
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let before = std::fs::read(env.lab_path()).unwrap();
    let out = env.run(&["reconcile", "--plan", "plan.json"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("plan formatVersion 1 is not one this edgefed reads (2 to 3"),
        "{err}"
    );
    assert!(err.contains("make the plan again"), "{err}");
    assert!(err.contains("edgefed plan -f DESIRED.yaml --out"), "{err}");
    assert_eq!(std::fs::read(env.lab_path()).unwrap(), before);
}

#[test]
fn a_version_2_plan_with_dotted_paths_is_still_applied() {
    let env = Env::new("xmpp-failed-over");
    env.ok(&["plan", "-f", &example("failback.yaml"), "--out", "plan.json"]);
    let path = env.path().join("plan.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    // What edgefed wrote before JSON Pointers: formatVersion 2, dotted paths.
    v["formatVersion"] = serde_json::json!(2);
    for c in v["changes"].as_array_mut().unwrap() {
        let dotted = c["path"].as_str().unwrap().trim_start_matches('/').replace('/', ".");
        c["path"] = serde_json::json!(dotted);
    }
    // … and `pool` where format 3 says `edgePool` on the per-server actions.
    let mut renamed = 0;
    for a in v["actions"].as_array_mut().unwrap() {
        let a = a.as_object_mut().unwrap();
        if matches!(a["kind"].as_str(), Some("start-services" | "run-setup" | "verify-port"))
            && let Some(pool) = a.remove("edgePool")
        {
            a.insert("pool".into(), pool);
            renamed += 1;
        }
    }
    assert!(renamed > 0);
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    env.ok(&["reconcile", "--plan", "plan.json"]);
    assert!(!env.applied().is_empty(), "nothing was applied");
}

#[test]
fn a_plan_whose_depends_on_and_waits_for_disagree_is_refused() {
    let env = Env::new("xmpp-failed-over");
    env.ok(&["plan", "-f", &example("failback.yaml"), "--out", "plan.json"]);
    let path = env.path().join("plan.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let last = v["actions"].as_array_mut().unwrap().last_mut().unwrap();
    last["waitsFor"].as_array_mut().unwrap().pop();
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let out = env.run(&["reconcile", "--plan", "plan.json"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("action 17: dependsOn"), "{err}");
    assert!(err.contains("does not match"), "{err}");
}

#[test]
fn a_saved_plan_reads_back_every_edge_with_its_wait_and_reason() {
    let env = Env::new("xmpp-failed-over");
    env.ok(&["plan", "-f", &example("xmpp-failover.yaml"), "--out", "plan.json"]);
    let saved = PlanDocument::from_json(&std::fs::read_to_string(env.path().join("plan.json")).unwrap()).unwrap();
    let plan = saved.plan().unwrap();
    assert_eq!(saved.format_version, 3);
    assert!(
        saved.changes.iter().all(|c| c.path.starts_with('/')),
        "{:?}",
        saved.changes
    );
    for (wire, action) in saved.actions.iter().zip(&plan.actions) {
        assert_eq!(wire.depends_on, action.depends_on_ids().collect::<Vec<_>>());
        assert_eq!(wire.waits_for.len(), action.depends_on.len());
        assert!(action.depends_on.iter().all(|d| !d.reason.is_empty()));
    }
}

/// Makes a plan of `failback.yaml` (copied into the lab's folder), edits its
/// JSON with `edit`, and returns the refusal's stderr after checking that the
/// lab did not change.
fn refused_after(edit: impl FnOnce(&mut Vec<serde_json::Value>)) -> String {
    let env = Env::new("xmpp-failed-over");
    let doc = env.file(
        "failback.yaml",
        &std::fs::read_to_string(example("failback.yaml")).expect("example"),
    );
    env.ok(&["plan", "-f", &doc, "--out", "plan.json"]);
    let path = env.path().join("plan.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("plan")).expect("json");
    edit(v["actions"].as_array_mut().expect("actions"));
    std::fs::write(&path, serde_json::to_string_pretty(&v).expect("json")).expect("write");
    let before = std::fs::read(env.lab_path()).expect("lab");
    let out = env.run(&["reconcile", "--plan", "plan.json"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert_eq!(std::fs::read(env.lab_path()).expect("lab"), before, "the lab changed");
    assert!(env.applied().is_empty(), "something was applied");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.contains("nothing was applied"), "{err}");
    assert!(err.contains("make the plan again"), "{err}");
    err
}

/// Removes action `id`, renumbering the ones after it and their edges, as a
/// careful hand edit would.
fn remove_action(actions: &mut Vec<serde_json::Value>, id: u64) {
    actions.retain(|a| a["id"] != id);
    let renumber = |n: u64| if n > id { n - 1 } else { n };
    for a in actions.iter_mut() {
        a["id"] = serde_json::json!(renumber(a["id"].as_u64().expect("id")));
        let deps: Vec<u64> = a["dependsOn"]
            .as_array()
            .expect("dependsOn")
            .iter()
            .filter_map(serde_json::Value::as_u64)
            .filter(|d| *d != id)
            .map(renumber)
            .collect();
        a["dependsOn"] = serde_json::json!(deps);
        let waits: Vec<serde_json::Value> = a["waitsFor"]
            .as_array()
            .expect("waitsFor")
            .iter()
            .filter(|w| w["action"] != id)
            .map(|w| {
                let mut w = w.clone();
                w["action"] = serde_json::json!(renumber(w["action"].as_u64().expect("action")));
                w
            })
            .collect();
        a["waitsFor"] = serde_json::json!(waits);
    }
}

#[test]
fn a_plan_with_an_action_removed_by_hand_is_refused_naming_it() {
    let err = refused_after(|actions| {
        assert_eq!(actions[2]["kind"], "disable-sip-federation");
        remove_action(actions, 3);
    });
    assert!(
        err.contains("action 3 (disable-sip-federation edgepool2.contoso.com) is missing from the saved plan"),
        "{err}"
    );
}

#[test]
fn a_plan_with_an_action_added_by_hand_is_refused_naming_it() {
    let err = refused_after(|actions| {
        let mut extra = actions[8].clone();
        extra["id"] = serde_json::json!(actions.len() + 1);
        extra["site"] = serde_json::json!("Site3");
        actions.push(extra);
    });
    assert!(err.contains("action 18 (set-site-federation-route Site3"), "{err}");
    assert!(err.contains("its document does not call for it"), "{err}");
}

#[test]
fn a_plan_with_a_route_target_edited_by_hand_is_refused_naming_the_action() {
    let err = refused_after(|actions| {
        assert_eq!(actions[8]["kind"], "set-site-federation-route");
        assert_eq!(actions[8]["edgePool"], "edgepool1.contoso.com");
        actions[8]["edgePool"] = serde_json::json!("edgepool2.contoso.com");
    });
    assert!(
        err.contains("action 9 (set-site-federation-route) was changed"),
        "{err}"
    );
    assert!(err.contains("edgepool2.contoso.com"), "{err}");
}

#[test]
fn a_plan_with_an_edge_removed_by_hand_is_refused_naming_the_action() {
    let err = refused_after(|actions| {
        let last = actions.last_mut().expect("an action");
        last["dependsOn"] = serde_json::json!([]);
        last["waitsFor"] = serde_json::json!([]);
    });
    assert!(
        err.contains("action 17 (invoke-pool-failback) was changed: it waits for nothing"),
        "{err}"
    );
}

#[test]
fn a_plan_whose_document_is_gone_is_refused() {
    let env = Env::new("xmpp-failed-over");
    let doc = env.file(
        "failback.yaml",
        &std::fs::read_to_string(example("failback.yaml")).expect("example"),
    );
    env.ok(&["plan", "-f", &doc, "--out", "plan.json"]);
    std::fs::remove_file(&doc).expect("remove");
    let out = env.run(&["reconcile", "--plan", "plan.json"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the plan cannot be checked"), "{err}");
    assert!(err.contains("failback.yaml"), "{err}");
    assert!(env.applied().is_empty());
}

#[test]
fn a_plan_made_from_standard_input_cannot_be_checked() {
    let env = Env::new("xmpp-failed-over");
    let doc = std::fs::read_to_string(example("failback.yaml")).expect("example");
    let out = env.run_stdin(&["plan", "-f", "-", "--out", "plan.json"], Some(&doc));
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = env.run(&["reconcile", "--plan", "plan.json"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("read from standard input"), "{err}");
    assert!(env.applied().is_empty());
}
