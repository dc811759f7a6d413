//! `edgefed watch`: real watcher processes on the lab, their `/metrics`,
//! `/healthz` and `/readyz` scraped over loopback HTTP, their NDJSON events
//! read from stdout. Waits are bounded polls, never timed assertions.

use std::ops::{Deref, DerefMut};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::servers::watcher::{BOUND, Collected, WatchProcess, wait_for};
use super::support::*;
use edgefed::backend::lab::{Fault, LabLock};

/// A running `edgefed --output json watch` on a test's lab.
struct Watcher(WatchProcess);

impl Deref for Watcher {
    type Target = WatchProcess;

    fn deref(&self) -> &WatchProcess {
        &self.0
    }
}

impl DerefMut for Watcher {
    fn deref_mut(&mut self) -> &mut WatchProcess {
        &mut self.0
    }
}

impl Watcher {
    /// Starts `edgefed --lab LAB --output json watch ARGS --metrics-addr 127.0.0.1:0`.
    fn start(env: &Env, args: &[&str]) -> Self {
        let mut command = env.command(&["--output", "json", "watch", "--metrics-addr", "127.0.0.1:0"]);
        command.args(args);
        Self(WatchProcess::spawn(command))
    }

    /// SIGTERM, then the exit code (bounded wait).
    fn stop(mut self) -> i32 {
        self.0.stop()
    }
}

fn result_is(r: &'static str) -> impl Fn(&Value) -> bool {
    move |e| e["result"] == r
}

#[test]
fn monitor_reports_drift_and_a_restart_in_correct_mode_brings_it_in_sync() {
    let env = Env::new("xmpp-failed-over");
    let doc = example("failback.yaml");
    let w = Watcher::start(&env, &["-f", &doc, "--interval", "1s"]);
    let (_, drift) = w.event_after(0, "a drift event", result_is("drift"));
    assert_eq!(drift["trigger"], "start");
    assert_eq!(drift["mode"], "monitor");
    assert_eq!(drift["inSync"], false);
    assert_eq!(drift["actions"].as_array().map(Vec::len), Some(17), "{drift}");
    assert_eq!(w.metric("edgefed_in_sync"), Some(0.0));
    assert_eq!(w.metric(r#"edgefed_pending_actions{kind="start-services"}"#), Some(2.0));
    assert_eq!(
        w.metric(r#"edgefed_pending_actions{kind="publish-topology"}"#),
        Some(1.0)
    );
    assert!(w.metric(r#"edgefed_reconciles_total{result="drift"}"#) >= Some(1.0));
    assert_eq!(w.metric("edgefed_lock_held"), Some(0.0));
    assert_eq!(w.get("/healthz").0, 200);
    assert_eq!(w.get("/readyz").0, 200);
    assert_eq!(w.get("/nothing").0, 404);
    // A second interval reports the same drift; monitor never applies.
    w.event_after(1, "a second drift event", |e| {
        e["result"] == "drift" && e["trigger"] == "interval"
    });
    assert!(env.applied().is_empty(), "monitor applied something");
    assert_eq!(w.stop(), 0);

    let w = Watcher::start(&env, &["-f", &doc, "--interval", "1s", "--mode", "correct"]);
    let (i, applied) = w.event_after(0, "an applied event", result_is("applied"));
    assert_eq!(applied["applied"], 17, "{applied}");
    assert_eq!(applied["inSync"], true);
    w.event_after(i + 1, "an in-sync event", result_is("in-sync"));
    assert_eq!(w.metric("edgefed_in_sync"), Some(1.0));
    assert_eq!(w.metric(r#"edgefed_reconciles_total{result="applied"}"#), Some(1.0));
    assert_eq!(
        w.metric(r#"edgefed_action_duration_seconds_count{kind="publish-topology"}"#),
        Some(1.0)
    );
    assert_eq!(w.metric(r#"edgefed_pending_actions{kind="start-services"}"#), Some(0.0));
    assert!(w.metric("edgefed_last_success_timestamp_seconds") > Some(1.0e9));
    assert!(w.metric("edgefed_backend_round_trips_total") >= Some(19.0));
    assert_eq!(w.metric("edgefed_lock_held"), Some(0.0));
    assert_eq!(w.stop(), 0);
    assert_eq!(code(&env.run(&["reconcile", "--check", "-f", &doc])), 0);
}

#[test]
fn a_pool_failed_from_another_process_shows_within_an_interval() {
    let env = Env::new("healthy");
    let doc = example("failback.yaml");
    let w = Watcher::start(&env, &["-f", &doc, "--interval", "1s"]);
    w.event_after(0, "in sync at start", result_is("in-sync"));
    let before = w.events().len();
    env.ok(&["lab", "fail", "edgepool1.contoso.com"]);
    // The document routes to the pool that is now down: a person must act.
    let (i, blocked) = w.event_after(before, "a blocked event", result_is("blocked"));
    assert!(
        blocked["message"]
            .as_str()
            .is_some_and(|m| m.contains("none of its servers is reachable")),
        "{blocked}"
    );
    assert_eq!(w.metric("edgefed_in_sync"), Some(0.0));
    env.ok(&["lab", "restore", "edgepool1.contoso.com"]);
    let (_, drift) = w.event_after(i + 1, "a drift event", result_is("drift"));
    assert!(
        drift["actions"].as_array().is_some_and(|a| a.iter().any(|x| x
            .as_str()
            .is_some_and(|s| s.contains("start-services edgeserver1a.contoso.com")))),
        "{drift}"
    );
    assert_eq!(w.stop(), 0);
}

#[test]
fn apply_failures_back_off_and_a_success_resets_the_count() {
    let env = Env::new("xmpp-failed-over");
    env.add_fault(Fault::failing("publish-topology", "CMS unavailable").times(2));
    let doc = example("failback.yaml");
    let w = Watcher::start(
        &env,
        &[
            "-f",
            &doc,
            "--mode",
            "correct",
            "--interval",
            "1h",
            "--retry-min",
            "200ms",
            "--retry-max",
            "300ms",
        ],
    );
    let (i, first) = w.event_after(0, "a failed apply", result_is("failed-apply"));
    assert_eq!(first["failures"], 1);
    assert!(
        first["message"].as_str().is_some_and(|m| m.contains("CMS unavailable")),
        "{first}"
    );
    // Equal jitter: between half and all of 200 ms.
    let next = first["nextInMs"].as_u64().expect("nextInMs");
    assert!((100..=200).contains(&next), "{first}");
    let (j, second) = w.event_after(i + 1, "a second failed apply", result_is("failed-apply"));
    assert_eq!(second["trigger"], "retry");
    assert_eq!(second["failures"], 2);
    // Doubled, then capped at 300 ms.
    let next = second["nextInMs"].as_u64().expect("nextInMs");
    assert!((150..=300).contains(&next), "{second}");
    let (_, applied) = w.event_after(j + 1, "the apply that succeeds", result_is("applied"));
    assert_eq!(applied["trigger"], "retry");
    assert_eq!(applied["failures"], 0);
    // After the success the interval applies again (an hour, ±10%).
    assert!(applied["nextInMs"].as_u64() >= Some(3_240_000), "{applied}");
    assert_eq!(
        w.metric(r#"edgefed_reconciles_total{result="failed-apply"}"#),
        Some(2.0)
    );
    assert_eq!(w.metric(r#"edgefed_reconciles_total{result="applied"}"#), Some(1.0));
    assert_eq!(w.metric("edgefed_in_sync"), Some(1.0));
    assert_eq!(w.stop(), 0);
}

#[test]
fn an_unreadable_lab_backs_off_as_an_observe_failure_and_recovers() {
    let env = Env::new("healthy");
    let doc = example("failback.yaml");
    let w = Watcher::start(
        &env,
        &[
            "-f",
            &doc,
            "--interval",
            "1h",
            "--retry-min",
            "100ms",
            "--retry-max",
            "200ms",
        ],
    );
    w.event_after(0, "in sync at start", result_is("in-sync"));
    assert_eq!(w.get("/readyz").0, 200);
    let good = std::fs::read_to_string(env.lab_path()).expect("lab");
    std::fs::write(env.lab_path(), "apiVersion: edgefed/v1\nkind: [\n").expect("write");
    let (i, failed) = w.event_after(1, "an observe failure", result_is("failed-observe"));
    assert_eq!(failed["trigger"], "lab");
    assert_eq!(failed["failures"], 1);
    assert!(
        failed["message"].as_str().is_some_and(|m| m.contains("lab.yaml")),
        "{failed}"
    );
    let (_, again) = w.event_after(i + 1, "a retried observe failure", |e| {
        e["result"] == "failed-observe" && e["failures"] == 3
    });
    assert_eq!(again["trigger"], "retry");
    assert_eq!(w.metric("edgefed_in_sync"), Some(0.0));
    std::fs::write(env.lab_path(), good).expect("write");
    let (_, back) = w.event_after(i + 1, "in sync again", result_is("in-sync"));
    assert_eq!(back["failures"], 0);
    assert_eq!(w.metric("edgefed_in_sync"), Some(1.0));
    assert_eq!(w.stop(), 0);
}

/// Replaces `path` the way editors and git do: write a temporary file, rename it over.
fn replace(path: &std::path::Path, content: &str) {
    let tmp = path.with_extension("yaml.tmp");
    std::fs::write(&tmp, content).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

#[test]
fn document_edits_are_picked_up_and_an_invalid_one_keeps_the_last_valid() {
    let env = Env::new("healthy");
    let original = std::fs::read_to_string(example("failback.yaml")).expect("example");
    let doc = env.dir.path().join("desired.yaml");
    std::fs::write(&doc, &original).expect("write");
    let w = Watcher::start(&env, &["-f", doc.to_str().expect("utf-8"), "--interval", "1h"]);
    w.event_after(0, "in sync at start", result_is("in-sync"));
    assert_eq!(w.metric("edgefed_document_valid"), Some(1.0));

    // Invalid: one site's XMPP route differs from the other's.
    let at = original.rfind("xmppFederationRoute: edgepool1").expect("route");
    let invalid = format!(
        "{}xmppFederationRoute: edgepool2{}",
        &original[..at],
        &original[at + "xmppFederationRoute: edgepool1".len()..]
    );
    replace(&doc, &invalid);
    let (i, kept) = w.event_after(1, "the invalid edit reported", |e| e["document"]["valid"] == false);
    assert_eq!(kept["trigger"], "document");
    assert_eq!(
        kept["result"], "in-sync",
        "the last valid document is still reconciled: {kept}"
    );
    let error = kept["document"]["error"].as_str().expect("error");
    assert!(error.contains("desired.yaml:21:"), "{error}");
    assert!(w.stderr().contains("desired.yaml:21:"), "{}", w.stderr());
    assert_eq!(w.metric("edgefed_document_valid"), Some(0.0));

    // Valid: every XMPP route to EdgePool2.
    replace(
        &doc,
        &original.replace(
            "xmppFederationRoute: edgepool1.contoso.com",
            "xmppFederationRoute: edgepool2.contoso.com",
        ),
    );
    let (_, drift) = w.event_after(i + 1, "the valid edit planned", result_is("drift"));
    assert_eq!(drift["document"]["valid"], true);
    assert!(
        drift["actions"].as_array().is_some_and(|a| a
            .iter()
            .any(|x| x.as_str().is_some_and(|s| s.contains("set-site-xmpp-route")))),
        "{drift}"
    );
    assert_eq!(w.metric("edgefed_document_valid"), Some(1.0));
    assert_eq!(w.stop(), 0);
}

#[test]
fn an_invalid_document_at_start_backs_off_until_it_is_fixed() {
    let env = Env::new("healthy");
    let doc = env.dir.path().join("desired.yaml");
    std::fs::write(&doc, "apiVersion: edgefed/v1\nkind: [\n").expect("write");
    let w = Watcher::start(
        &env,
        &[
            "-f",
            doc.to_str().expect("utf-8"),
            "--retry-min",
            "100ms",
            "--retry-max",
            "200ms",
        ],
    );
    let (i, first) = w.event_after(0, "invalid-document", result_is("invalid-document"));
    assert_eq!(first["failures"], 1);
    assert_eq!(w.get("/readyz").0, 503);
    w.event_after(i + 1, "a retry", |e| {
        e["result"] == "invalid-document" && e["failures"] == 2
    });
    replace(
        &doc,
        &std::fs::read_to_string(example("failback.yaml")).expect("example"),
    );
    let (_, ok) = w.event_after(i + 1, "in sync once fixed", result_is("in-sync"));
    assert_eq!(ok["failures"], 0);
    assert_eq!(w.get("/readyz").0, 200);
    assert_eq!(w.stop(), 0);
}

#[test]
fn sigterm_while_idle_exits_0_and_leaves_the_lock_free() {
    let env = Env::new("healthy");
    let w = Watcher::start(
        &env,
        &["-f", &example("failback.yaml"), "--mode", "correct", "--interval", "1h"],
    );
    w.event_after(0, "the first reconcile", result_is("in-sync"));
    assert_eq!(w.stop(), 0);
    LabLock::acquire(&env.lab_path(), Duration::ZERO).expect("the lab's lock is free");
}

#[test]
fn options_are_checked_before_starting() {
    let env = Env::new("healthy");
    let doc = example("failback.yaml");
    let refused = |args: &[&str], code_expected: i32, says: &str| {
        let out = env.run(args);
        assert_eq!(code(&out), code_expected, "{args:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
    };
    refused(&["watch", "-f", "-"], 64, "not standard input");
    refused(
        &["watch", "-f", &doc, "--interval", "0s"],
        64,
        "--interval must be longer than zero",
    );
    refused(&["watch", "-f", &doc, "--interval", "soon"], 64, "--interval");
    refused(
        &["watch", "-f", &doc, "--interval", "8days"],
        64,
        "--interval 8days: at most 7 days",
    );
    refused(
        &["watch", "-f", &doc, "--retry-min", "1m", "--retry-max", "5s"],
        64,
        "at most --retry-max",
    );
    refused(
        &["--output", "yaml", "watch", "-f", &doc],
        64,
        "`watch` prints human or json",
    );
    // Correct mode on a real DNS server needs --yes: nobody is at a terminal.
    refused(
        &["--dns-server", "127.0.0.1:53", "watch", "-f", &doc, "--mode", "correct"],
        1,
        "--yes",
    );
}

#[test]
fn sighup_reconciles_at_once() {
    let env = Env::new("healthy");
    let w = Watcher::start(&env, &["-f", &example("failback.yaml"), "--interval", "1h"]);
    w.event_after(0, "the first reconcile", result_is("in-sync"));
    let status = Command::new("kill")
        .args(["-HUP", &w.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let (_, e) = w.event_after(1, "a reconcile on SIGHUP", |e| e["trigger"] == "signal");
    assert_eq!(e["result"], "in-sync");
    assert_eq!(w.stop(), 0);
}

#[test]
fn json_logs_and_human_events() {
    let env = Env::new("xmpp-failed-over");
    let doc = example("failback.yaml");
    let mut child = env
        .command(&[
            "-v",
            "watch",
            "--metrics-addr",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "-f",
            &doc,
        ])
        .spawn()
        .expect("spawn");
    let stdout = Collected::of(child.stdout.take().expect("stdout"));
    let stderr = Collected::of(child.stderr.take().expect("stderr"));
    let log = wait_for("a JSON log line", || {
        stderr
            .text()
            .lines()
            .find(|l| l.starts_with('{') && l.contains("reconciled"))
            .map(str::to_string)
    });
    let v: Value = serde_json::from_str(&log).unwrap_or_else(|e| panic!("{log}: {e}"));
    assert_eq!(v["fields"]["result"], "drift", "{v}");
    assert_eq!(v["level"], "INFO");
    let line = wait_for("a human event", || stdout.text().lines().next().map(str::to_string));
    assert!(
        line.contains("[start] drift: 17 action(s) pending, not applied (monitor)"),
        "{line}"
    );
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let status = wait_for("exit", || child.try_wait().ok().flatten());
    assert_eq!(status.code(), Some(0));
}

/// Starts a correct-mode watcher whose apply waits for the lab's lock,
/// held here, and returns once that reconcile is in flight (observed, no
/// event yet).
fn watcher_waiting_for_the_lock(env: &Env, extra: &[&str]) -> Watcher {
    let doc = example("failback.yaml");
    let mut args = vec!["-f", doc.as_str(), "--mode", "correct", "--interval", "1h"];
    args.extend_from_slice(extra);
    let w = Watcher::start(env, &args);
    wait_for("the first observation", || {
        (w.metric("edgefed_backend_round_trips_total") >= Some(1.0)).then_some(())
    });
    assert!(w.events().is_empty(), "the reconcile ended already: {:?}", w.events());
    w
}

#[test]
fn sigterm_while_a_reconcile_waits_for_the_lock_lets_it_end_then_exits_0() {
    let env = Env::new("xmpp-failed-over");
    let held = LabLock::acquire(&env.lab_path(), Duration::ZERO).expect("lock");
    let w = watcher_waiting_for_the_lock(&env, &["--lock-timeout", "5"]);
    let stdout = Arc::clone(&w.stdout.text);
    let stderr = Arc::clone(&w.stderr.text);
    assert_eq!(w.stop(), 0);
    drop(held);
    let stderr = stderr.lock().expect("lock").clone();
    assert!(
        stderr.contains("stopping: no new action is dispatched; actions in flight get up to 2m to end"),
        "{stderr}"
    );
    // The reconcile in flight ended (the lock stayed held: a failed apply) and was reported.
    let stdout = stdout.lock().expect("lock").clone();
    let last: Value = serde_json::from_str(stdout.lines().last().expect("an event")).expect("json");
    assert_eq!(last["result"], "failed-apply", "{last}");
    assert!(
        last["message"].as_str().is_some_and(|m| m.contains("is locked by")),
        "{last}"
    );
    assert!(env.applied().is_empty());
    LabLock::acquire(&env.lab_path(), Duration::ZERO).expect("the lab's lock is free");
}

#[test]
fn a_reconcile_stuck_waiting_for_the_lock_past_the_stop_timeout_exits_1_saying_so() {
    let env = Env::new("xmpp-failed-over");
    let held = LabLock::acquire(&env.lab_path(), Duration::ZERO).expect("lock");
    let w = watcher_waiting_for_the_lock(&env, &["--lock-timeout", "120", "--stop-timeout", "200ms"]);
    let stderr = Arc::clone(&w.stderr.text);
    assert_eq!(w.stop(), 1);
    let stderr = stderr.lock().expect("lock").clone();
    assert!(
        stderr.contains("did not end within --stop-timeout 200ms (+5s) of the stop: it was not applying"),
        "{stderr}"
    );
    drop(held);
    assert!(env.applied().is_empty());
}

#[test]
#[ignore = "flaky in the full suite under load: now and then the watcher does not exit within 60 s of the second SIGTERM while its reconcile waits for the lab's lock (passes alone, and in most full runs); run with --ignored while the cause is found"]
fn a_second_sigterm_abandons_a_reconcile_waiting_for_the_lock_and_exits_0() {
    let env = Env::new("xmpp-failed-over");
    let held = LabLock::acquire(&env.lab_path(), Duration::ZERO).expect("lock");
    let mut w = watcher_waiting_for_the_lock(&env, &["--lock-timeout", "120"]);
    w.signal("TERM");
    wait_for("the first stop to be seen", || {
        w.stderr().contains("edgefed watch: stopping").then_some(())
    });
    w.signal("TERM");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = w.child.try_wait().ok().flatten() {
            break status;
        }
        assert!(
            start.elapsed() < BOUND,
            "the watcher did not exit after the second SIGTERM:\n{}",
            w.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "{}", w.stderr());
    let stderr = w.stderr();
    assert!(
        stderr.contains("second SIGTERM") && stderr.contains("abandoned while it was not applying"),
        "{stderr}"
    );
    drop(held);
    assert!(env.applied().is_empty());
}

/// Makes the lab's next `kind` operation take `delay_ms` (a slow cmdlet).
fn slow(env: &Env, kind: &str, delay_ms: u64) {
    env.add_fault(Fault::slowing(kind, delay_ms));
}

/// Starts a correct-mode watcher on the failback (17 actions, #6 the
/// topology publish the next 11 wait for) with the publish slowed by
/// `delay_ms`, and returns once the publish is in flight.
fn watcher_in_a_slow_publish(env: &Env, delay_ms: u64, extra: &[&str]) -> Watcher {
    slow(env, "publish-topology", delay_ms);
    let doc = example("failback.yaml");
    let mut args = vec!["-f", doc.as_str(), "--mode", "correct", "--interval", "1h"];
    args.extend_from_slice(extra);
    let w = Watcher::start(env, &args);
    w.event_after(0, "the slow publish to start", |e| {
        e["event"] == "action"
            && e["status"] == "started"
            && e["action"].as_str().is_some_and(|a| a.contains("publish-topology"))
    });
    w
}

fn last_reconcile(stdout: &str) -> Value {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .rfind(|e| e["event"] == "reconcile")
        .unwrap_or_else(|| panic!("no reconcile event: {stdout}"))
}

#[test]
fn sigterm_mid_apply_stops_dispatching_lets_the_action_in_flight_end_and_exits_0() {
    let env = Env::new("xmpp-failed-over");
    let w = watcher_in_a_slow_publish(&env, 5000, &[]);
    let stdout = Arc::clone(&w.stdout.text);
    let stderr = Arc::clone(&w.stderr.text);
    assert_eq!(w.stop(), 0);
    let stdout = stdout.lock().expect("lock").clone();
    let stderr = stderr.lock().expect("lock").clone();
    let last = last_reconcile(&stdout);
    // The publish in flight ended within the grace; what waits on it was
    // never dispatched.
    assert_eq!(last["result"], "stopped", "{last}\n{stderr}");
    assert_eq!(last["applied"], 6, "{last}");
    assert_eq!(last["failed"], 0, "{last}");
    assert_eq!(last["notAttempted"], 11, "{last}");
    let message = last["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(
            "SIGTERM received while applying: stopped dispatching; 6 applied, 0 failed, 11 not attempted (#7, #8,"
        ) && !message.contains("abandoned"),
        "{message}"
    );
    let applied_events = stdout
        .lines()
        .filter(|l| l.contains(r#""event":"action""#) && l.contains(r#""status":"applied""#))
        .count();
    assert_eq!(applied_events, 6);
    assert_eq!(env.applied().len(), 6);
    LabLock::acquire(&env.lab_path(), Duration::ZERO).expect("the lab's lock is free");
    // The journal records the stop; `status` shows it.
    let status = env.ok(&["status"]);
    assert!(
        status.contains("interrupted by SIGTERM") && status.contains("6 applied, 0 failed, 11 not attempted"),
        "{status}"
    );
    assert!(!status.contains("fencing token"), "no election, no token: {status}");
    // Run again, the deployment converges.
    let doc = example("failback.yaml");
    assert_eq!(code(&env.run(&["reconcile", "--check", "-f", &doc])), 2);
    env.ok(&["reconcile", "-f", &doc]);
    env.ok(&["reconcile", "--check", "-f", &doc]);
}

#[test]
fn an_action_outlasting_the_stop_timeout_is_abandoned_and_the_watcher_exits_0_saying_so() {
    let env = Env::new("xmpp-failed-over");
    let w = watcher_in_a_slow_publish(&env, 120_000, &["--stop-timeout", "300ms"]);
    let stdout = Arc::clone(&w.stdout.text);
    assert_eq!(w.stop(), 0);
    let last = last_reconcile(&stdout.lock().expect("lock"));
    assert_eq!(last["result"], "stopped", "{last}");
    assert_eq!(last["applied"], 5, "{last}");
    assert_eq!(last["failed"], 1, "{last}");
    assert_eq!(last["notAttempted"], 11, "{last}");
    assert!(
        last["message"]
            .as_str()
            .is_some_and(|m| m.contains("abandoned in flight after --stop-timeout 300ms, effect unknown: #6")),
        "{last}"
    );
    LabLock::acquire(&env.lab_path(), Duration::ZERO).expect("the lab's lock is free");
}

#[test]
fn a_second_sigterm_mid_apply_abandons_the_action_in_flight_and_exits_0() {
    let env = Env::new("xmpp-failed-over");
    let mut w = watcher_in_a_slow_publish(&env, 120_000, &[]);
    w.signal("TERM");
    wait_for("the first stop to be seen", || {
        w.stderr().contains("edgefed watch: stopping").then_some(())
    });
    w.signal("INT");
    let status = wait_for("the watcher to exit", || w.child.try_wait().ok().flatten());
    assert_eq!(status.code(), Some(0), "{}", w.stderr());
    assert!(w.stderr().contains("second SIGINT"), "{}", w.stderr());
    let last = last_reconcile(&w.stdout.text());
    assert_eq!(last["result"], "stopped", "{last}");
    assert!(
        last["message"]
            .as_str()
            .is_some_and(|m| m.contains("abandoned in flight on a second signal, effect unknown: #6")),
        "{last}"
    );
    LabLock::acquire(&env.lab_path(), Duration::ZERO).expect("the lab's lock is free");
}
