//! Failure handling: a fault on publish.

use super::support::*;
use edgefed::backend::lab::Fault;

#[test]
fn a_failed_publish_skips_its_dependents_and_the_next_reconcile_converges() {
    let env = Env::new("xmpp-failed-over");
    env.add_fault(Fault::failing("publish-topology", "CMS unavailable"));

    let out = env.run(&["reconcile", "-f", &example("failback.yaml")]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("failed:\n    #6 publish-topology: CMS unavailable"),
        "{stdout}"
    );
    assert!(stdout.contains("not attempted:"), "{stdout}");
    assert!(
        stdout.contains("#7 run-setup edgeserver1a.contoso.com (pool edgepool1.contoso.com) (blocked by #6)"),
        "{stdout}"
    );
    assert!(stdout.contains("applied:"), "{stdout}");

    // No dependent of the publish ran: no run-setup, no site route (both
    // routes are topology writes that wait for the publish), no failback.
    let log: Vec<String> = env.applied().iter().map(|o| o.kind().to_string()).collect();
    for k in [
        "publish-topology",
        "run-setup",
        "set-site-federation-route",
        "set-site-xmpp-route",
        "invoke-pool-failback",
    ] {
        assert!(!log.iter().any(|l| l == k), "{k} ran: {log:?}");
    }
    // Independent branches went on: the restored pool's services started.
    assert!(log.iter().any(|l| l == "start-services"), "{log:?}");

    let again = env.run(&["reconcile", "-f", &example("failback.yaml")]);
    assert_eq!(code(&again), 0, "{}", text(&again));
    assert_eq!(
        code(&env.run(&["reconcile", "--check", "-f", &example("failback.yaml")])),
        0
    );
    assert_eq!(
        env.applied()
            .iter()
            .filter(|o| o.kind().name() == "publish-topology")
            .count(),
        1
    );
}

/// A write that reports success but does not stick: the run verifies, lists
/// what still differs and exits 1, and `--check` agrees there is drift.
#[test]
fn a_write_that_does_not_stick_fails_the_run_after_verification() {
    let env = Env::new("xmpp-failed-over");
    silently_ignore_xmpp_route_of(&env, "Site1");

    let out = env.run(&["reconcile", "-f", &example("failback.yaml")]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Applied 17 of 17 actions."), "{stdout}");
    assert!(
        stdout.contains("Verification failed: the deployment still differs from the document"),
        "{stdout}"
    );
    assert!(
        stdout.contains("/sites/Site1/xmppFederationRoute: \"edgepool2.contoso.com\" → \"edgepool1.contoso.com\""),
        "{stdout}"
    );
    assert!(lab_faults_empty(&env), "the silent fault is consumed");
    assert_eq!(
        code(&env.run(&["reconcile", "--check", "-f", &example("failback.yaml")])),
        2
    );

    // The json output carries the verification too.
    silently_ignore_xmpp_route_of(&env, "Site1");
    let out = env.run(&["--output", "json", "reconcile", "-f", &example("failback.yaml")]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["apply"]["complete"], true);
    assert_eq!(v["verify"]["inSync"], false);
    assert_eq!(v["verify"]["changes"][0]["path"], "/sites/Site1/xmppFederationRoute");

    // Without the fault the next run converges and verifies clean.
    let again = env.run(&["--output", "json", "reconcile", "-f", &example("failback.yaml")]);
    assert_eq!(code(&again), 0, "{}", text(&again));
    let v: serde_json::Value = serde_json::from_slice(&again.stdout).expect("json");
    assert_eq!(v["verify"]["inSync"], true);
}

/// Makes the lab's next `set-site-xmpp-route` of `site` report success and
/// change nothing (a write that does not stick).
fn silently_ignore_xmpp_route_of(env: &Env, site: &str) {
    env.add_fault(Fault::silently_ignoring("set-site-xmpp-route").on(site));
}

fn lab_faults_empty(env: &Env) -> bool {
    env.lab().faults.is_empty()
}

/// `reconcile --plan` verifies against the document the plan was made from,
/// and says so when it cannot.
#[test]
fn a_saved_plan_run_verifies_against_its_document() {
    let env = Env::new("xmpp-failed-over");
    let doc = env.file(
        "failback.yaml",
        &std::fs::read_to_string(example("failback.yaml")).expect("example"),
    );
    env.ok(&["plan", "-f", &doc, "--out", "plan.json"]);
    silently_ignore_xmpp_route_of(&env, "Site2");
    let out = env.run(&["reconcile", "--plan", "plan.json"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Applied 17 of 17 actions."), "{stdout}");
    assert!(
        stdout.contains("/sites/Site2/xmppFederationRoute: \"edgepool2.contoso.com\" → \"edgepool1.contoso.com\""),
        "{stdout}"
    );

    // The document changed since the plan: the plan cannot be checked, and
    // nothing is applied.
    let again = env.run(&["plan", "-f", &doc, "--out", "plan.json"]);
    assert_eq!(code(&again), 0, "{}", text(&again));
    std::fs::write(
        &doc,
        format!("{}\n# edited\n", std::fs::read_to_string(&doc).expect("doc")),
    )
    .expect("edit");
    let before = std::fs::read(env.lab_path()).expect("lab");
    let out = env.run(&["reconcile", "--plan", "plan.json"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the plan cannot be checked"), "{err}");
    assert!(err.contains("changed since the plan was made"), "{err}");
    assert!(err.contains("nothing was applied"), "{err}");
    assert_eq!(std::fs::read(env.lab_path()).expect("lab"), before);
}

/// The lab is a hand-edited drill file: reached through a symbolic link it
/// is written through the link (which stays a link), its mode is kept, and
/// a read-only lab is refused rather than replaced.
#[cfg(unix)]
#[test]
fn a_symlinked_lab_is_written_through_the_link_and_a_read_only_one_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = Env::new("xmpp-failed-over");
    let real = env.lab_path();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let link = env.path().join("drill.yaml");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let link_arg = link.to_string_lossy().into_owned();
    let doc = example("failback.yaml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_edgefed"))
        .current_dir(env.path())
        .args(["--lab", &link_arg, "reconcile", "-f", &doc])
        .env("NO_COLOR", "1")
        .env_remove("EDGEFED_LAB")
        .env_remove("EDGEFED_BACKEND")
        .output()
        .expect("run edgefed");
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(std::fs::symlink_metadata(&link).expect("link").file_type().is_symlink());
    assert_eq!(
        std::fs::metadata(&real).expect("lab").permissions().mode() & 0o777,
        0o640
    );
    assert_eq!(
        code(&env.run(&["reconcile", "--check", "-f", &doc])),
        0,
        "the real lab was written"
    );

    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let before = std::fs::read(&real).expect("lab");
    let out = env.run(&["lab", "fail", "edgepool1.contoso.com"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("read-only"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read(&real).expect("lab"), before);
}
