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
        err.contains("edgeserver2a.contoso.com.reachable: true → false"),
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
    let logged = env.lab().log;
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
    assert!(err.contains("plan formatVersion 1 is not 2"), "{err}");
    assert!(err.contains("make the plan again"), "{err}");
    assert!(err.contains("edgefed plan -f DESIRED.yaml --out"), "{err}");
    assert_eq!(std::fs::read(env.lab_path()).unwrap(), before);
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
    assert_eq!(saved.format_version, 2);
    for (wire, action) in saved.actions.iter().zip(&plan.actions) {
        assert_eq!(wire.depends_on, action.depends_on_ids().collect::<Vec<_>>());
        assert_eq!(wire.waits_for.len(), action.depends_on.len());
        assert!(action.depends_on.iter().all(|d| !d.reason.is_empty()));
    }
}
