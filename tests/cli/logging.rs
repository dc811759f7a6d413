//! `-q` and `-v`: what reaches stderr at each level, and the spans' timings.

use std::process::Output;

use edgefed::backend::lab::Scenario;

use super::backends::Double;
use super::support::*;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs edgefed on `env`'s lab with `RUST_LOG` set.
fn with_rust_log(env: &Env, rust_log: &str, args: &[&str]) -> Output {
    env.command(args)
        .env("RUST_LOG", rust_log)
        .output()
        .expect("run edgefed")
}

#[test]
fn vv_plan_prints_the_timing_of_observe_each_system_and_plan() {
    let env = Env::new("xmpp-failed-over");
    let out = env.run(&["-vv", "plan", "-f", &example("failback.yaml")]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let err = stderr(&out);
    for span in [
        "observe{backend=\"lab\"}: close time.busy=",
        "observe{backend=\"lab\"}:observe_system{system=\"lab\"}: close time.busy=",
        "observe{backend=\"lab\"}:observe_system{system=\"dns\" records=4}: close time.busy=",
        "plan: close time.busy=",
    ] {
        assert!(err.contains(span), "no `{span}` in:\n{err}");
    }
    // Without -v, no timings.
    let out = env.run(&["plan", "-f", &example("failback.yaml")]);
    assert!(!stderr(&out).contains("time.busy"), "{}", text(&out));
}

#[test]
fn v_reconcile_times_each_action() {
    let env = Env::new("xmpp-failed-over");
    let out = env.run(&["-v", "reconcile", "-f", &example("failback.yaml")]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let err = stderr(&out);
    let actions = err
        .lines()
        .filter(|l| l.contains("action{action=") && l.contains("close time.busy="))
        .count();
    assert_eq!(actions, 17, "one timed span per action:\n{err}");
    assert!(
        err.contains("action{action=start-services edgeserver1a.contoso.com (pool edgepool1.contoso.com)}: close"),
        "{err}"
    );
}

#[test]
fn q_plan_prints_nothing_on_stderr_and_still_reports_errors() {
    let env = Env::new("xmpp-failed-over");
    let doc = example("failback.yaml");
    let out = env.run(&["-q", "plan", "-f", &doc]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(stderr(&out), "", "-q plan");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Plan: 17 actions"));

    // Notes are quiet too: `--out` and `lab fail` say what they wrote without -q only.
    let loud = env.run(&["plan", "-f", &doc, "--out", "plan.json"]);
    assert!(stderr(&loud).contains("plan written to plan.json"), "{}", text(&loud));
    let quiet = env.run(&["-q", "plan", "-f", &doc, "--out", "plan.json"]);
    assert_eq!(stderr(&quiet), "", "-q plan --out");
    let quiet = env.run(&["--quiet", "lab", "fail", "edgepool2.contoso.com"]);
    assert_eq!(code(&quiet), 0, "{}", text(&quiet));
    assert_eq!(stderr(&quiet), "", "-q lab fail");

    // Errors are still printed.
    let bad = env.file(
        "bad.yaml",
        "apiVersion: edgefed/v1\nkind: FederationTopology\nspec:\n  sitez: {}\n",
    );
    let out = env.run(&["-q", "validate", "-f", &bad]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("`sitez`"), "{}", text(&out));

    // -q and -v contradict each other.
    assert_eq!(code(&env.run(&["-q", "-v", "plan", "-f", &doc])), 64);
}

#[test]
fn rust_log_overrides_the_level() {
    let env = Env::new("xmpp-failed-over");
    let doc = example("failback.yaml");
    let out = with_rust_log(&env, "edgefed=info", &["plan", "-f", &doc]);
    assert!(stderr(&out).contains("plan: close time.busy="), "{}", text(&out));
    let out = with_rust_log(&env, "edgefed=error", &["-vv", "plan", "-f", &doc]);
    assert!(!stderr(&out).contains("time.busy"), "{}", text(&out));
}

#[test]
fn vvv_times_each_powershell_round_trip_without_the_secret() {
    let double = Double::of(Scenario::XmppFailedOver);
    let out = double.run(&["-vvv", "observe"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let err = stderr(&out);
    let trip = err
        .lines()
        .find(|l| l.contains("powershell{launcher=") && l.contains("close time.busy="))
        .unwrap_or_else(|| panic!("no round trip span in:\n{err}"));
    assert!(trip.contains("script_bytes="), "{trip}");
    assert!(trip.contains("exit=exit status: 0"), "{trip}");
    assert!(trip.contains("bytes_received="), "{trip}");
    // The script is logged at trace level; the credential file's secret never is.
    assert!(err.contains("PowerShell script"), "{err}");
    assert!(
        err.contains("Edgefed-Credential"),
        "the script reads the credential file itself"
    );
    assert!(!err.contains("S3cr3t"), "the secret leaked:\n{err}");
    // At -vv the round trip is timed but the script is not printed.
    let out = double.run(&["-vv", "observe"]);
    let err = stderr(&out);
    assert!(err.contains("powershell{launcher="), "{err}");
    assert!(!err.contains("PowerShell script"), "{err}");
}
