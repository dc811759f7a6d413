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
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.path().join("plan.json")).unwrap()).unwrap();
    env.ok(&["reconcile", "--plan", "plan.json"]);
    let logged: Vec<serde_json::Value> = env.lab().log.iter().map(|o| serde_json::to_value(o).unwrap()).collect();
    let planned: Vec<serde_json::Value> = saved["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let mut a = a.clone();
            for k in ["id", "phase", "dependsOn", "reason"] {
                a.as_object_mut().unwrap().remove(k);
            }
            a
        })
        .collect();
    assert_eq!(logged, planned);
}
