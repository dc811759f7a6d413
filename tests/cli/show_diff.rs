//! `show PLAN.json` (a saved plan in every plan format, no backend contact)
//! and `diff -f DESIRED.yaml` (observed against desired, exit 2 on a
//! difference).

use super::support::*;

#[test]
fn show_prints_a_saved_plan_as_plan_did_without_the_lab() {
    let env = Env::new("xmpp-failed-over");
    let doc = example("failback.yaml");
    env.ok(&["plan", "-f", &doc, "--out", "plan.json"]);
    // No backend contact: the lab is gone and `show` still works.
    std::fs::remove_file(env.lab_path()).unwrap();
    let lab_env = Env::new("healthy");
    std::fs::copy(env.path().join("plan.json"), lab_env.path().join("plan.json")).unwrap();
    std::fs::remove_file(lab_env.lab_path()).unwrap();
    for format in ["human", "json", "markdown", "powershell"] {
        let shown = lab_env.ok(&["show", "plan.json", "--output", format]);
        let planned = Env::new("xmpp-failed-over").ok(&["plan", "-f", &doc, "--output", format]);
        assert_eq!(shown, planned, "--output {format}");
        assert!(!lab_env.lab_path().exists(), "show created a lab");
    }
    let out = lab_env.run(&["show", "plan.json", "--output", "yaml"]);
    assert_eq!(code(&out), 64, "{}", text(&out));
}

#[test]
fn show_refuses_a_corrupt_or_tampered_plan_as_reconcile_does() {
    let env = Env::new("xmpp-failed-over");
    env.ok(&["plan", "-f", &example("failback.yaml"), "--out", "plan.json"]);
    let path = env.path().join("plan.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["actions"][2]["id"] = serde_json::json!(9);
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let shown = env.run(&["show", "plan.json"]);
    let applied = env.run(&["reconcile", "--plan", "plan.json"]);
    assert_eq!(code(&shown), 1);
    assert_eq!(code(&applied), 1);
    let err = String::from_utf8_lossy(&shown.stderr);
    assert!(
        err.contains("action ids must be 1..17 in order; found 9 at position 3"),
        "{err}"
    );
    assert_eq!(shown.stderr, applied.stderr);

    std::fs::write(&path, "{\"formatVersion\": 3,\n \"desired\": 7}").unwrap();
    let shown = env.run(&["show", "plan.json"]);
    let applied = env.run(&["reconcile", "--plan", "plan.json"]);
    assert_eq!(code(&shown), 1);
    assert!(
        String::from_utf8_lossy(&shown.stderr).contains("plan.json:2:"),
        "{}",
        text(&shown)
    );
    assert_eq!(shown.stderr, applied.stderr);
}

#[test]
fn diff_shows_only_what_the_document_changes_and_exits_2() {
    let env = Env::new("healthy");
    let out = env.run(&["diff", "-f", &example("xmpp-failover.yaml")]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains('\u{1b}'), "NO_COLOR: {stdout}");
    assert!(stdout.starts_with("--- observed (lab)\n+++ "), "{stdout}");
    let changed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with(['-', '+']) && !l.starts_with("---") && !l.starts_with("+++"))
        .collect();
    assert!(!changed.is_empty(), "{stdout}");
    // Everything the diff changes is something the plan changes.
    let plan = env.plan_json(&example("xmpp-failover.yaml"));
    for line in changed.iter().filter(|l| l.starts_with('+')) {
        let key = line.trim_start_matches('+').trim().split(':').next().unwrap();
        assert!(
            plan["changes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["path"].as_str().unwrap().contains(key)),
            "{line} is not among the plan's changes"
        );
    }
    let coloured = env.run(&["--color", "always", "diff", "-f", &example("xmpp-failover.yaml")]);
    assert!(String::from_utf8_lossy(&coloured.stdout).contains("\u{1b}[32m+"));
}

#[test]
fn diff_of_the_observed_document_is_empty_and_exits_0() {
    let env = Env::new("xmpp-failed-over");
    let observed = env.ok(&["observe"]);
    let doc = env.file("observed.yaml", &observed);
    let out = env.run(&["diff", "-f", &doc]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(out.stdout.is_empty(), "{}", text(&out));
    let out = env.run(&["diff", "-f", "missing.yaml"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
}
