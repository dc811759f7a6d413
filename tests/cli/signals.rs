//! SIGINT / SIGTERM during a reconcile, `kill -9` of edgefed, and the
//! Management Shell not outliving edgefed. Each test drives the binary as a
//! child process and signals it by its pid.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use edgefed::backend::lab::{Fault, LabLock};
use edgefed::journal::{self, RunResult, RunState};

use super::backends::Double;
use super::support::*;

const EDGEFED: &str = env!("CARGO_BIN_EXE_edgefed");
const DOUBLE: &str = env!("CARGO_BIN_EXE_edgefed-shell-double");

/// A generous bound for the binary to reach a state it polls for (a loaded
/// CI machine); never a speed assertion.
const PATIENCE: Duration = Duration::from_secs(60);

/// The lab with the first `start-services` slowed down by `delay_ms`.
fn slow_lab(delay_ms: u64) -> Env {
    let env = Env::new("xmpp-failed-over");
    env.add_fault(Fault::slowing("start-services", delay_ms));
    env
}

fn journal_path(env: &Env) -> std::path::PathBuf {
    journal::beside(&env.lab_path(), ".journal.ndjson")
}

/// Starts `edgefed --lab LAB reconcile -f failback.yaml`.
fn spawn_reconcile(env: &Env) -> Child {
    env.command(&["reconcile", "-f", &example("failback.yaml")])
        .spawn()
        .expect("spawn edgefed")
}

/// Waits until `ready` holds, failing the test past [`PATIENCE`].
fn wait_until(what: &str, child: &mut Child, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("edgefed ended ({status}) before {what}");
        }
        assert!(start.elapsed() < PATIENCE, "{what} did not happen within {PATIENCE:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the journal records an action start.
fn wait_for_an_action(env: &Env, child: &mut Child) {
    let path = journal_path(env);
    wait_until("an action started", child, || {
        std::fs::read_to_string(&path).is_ok_and(|t| t.contains("\"action-started\""))
    });
}

fn signal(child: &Child, sig: i32) {
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: kill has no memory effects.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill {pid}");
}

/// Waits for `child` to end, failing the test (and killing it) past [`PATIENCE`].
fn finish(mut child: Child) -> Output {
    let start = Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if start.elapsed() > PATIENCE {
            let _ = child.kill();
            panic!("edgefed did not end within {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// Whether process `pid` still runs (a zombie no longer runs).
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Waits (bounded) for `pid` to stop running.
fn gone_within(pid: u32, bound: Duration) -> bool {
    let start = Instant::now();
    while running(pid) {
        if start.elapsed() > bound {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// A signal mid-apply: the action in flight ends, nothing new starts, the
/// report and the exit code say which signal, the lock is free and the
/// journal records the run as interrupted.
fn interrupted_mid_apply(sig: i32, name: &str, exit: i32) {
    let env = slow_lab(1500);
    let mut child = spawn_reconcile(&env);
    wait_for_an_action(&env, &mut child);
    signal(&child, sig);
    let out = finish(child);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), exit, "{}", text(&out));
    assert!(
        stdout.contains(&format!("The run was interrupted by {name}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("applied:\n    #1 start-services edgeserver1a.contoso.com"),
        "{stdout}"
    );
    assert!(
        stdout.contains("not attempted:\n    #2 start-services edgeserver1b.contoso.com (pool edgepool1.contoso.com) (not started: the run was stopped)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Applied 1 of 17 actions; 0 failed; 16 not attempted."),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!(
            "{name} received: no new action is started; waiting up to 30s for #1 start-services"
        )),
        "{stderr}"
    );
    // Only the action in flight was applied.
    assert_eq!(env.applied().len(), 1);
    // The lock is free.
    drop(LabLock::acquire(&env.lab_path(), Duration::ZERO).expect("the lock is free after the run"));
    // The journal says so.
    let last = journal::tail::read(&journal_path(&env)).unwrap().last.unwrap();
    assert_eq!(last.state(), RunState::Ended(RunResult::Interrupted));
    let ended = last.ended.unwrap();
    assert_eq!(ended.signal.as_deref(), Some(name));
    assert_eq!(ended.not_attempted, 16);
    assert_eq!(last.applied, vec![1]);
    assert!(last.in_flight.is_empty());
}

#[test]
fn sigint_mid_apply_lets_the_action_end_and_exits_130() {
    interrupted_mid_apply(libc::SIGINT, "SIGINT", 130);
}

#[test]
fn sigterm_mid_apply_lets_the_action_end_and_exits_143() {
    interrupted_mid_apply(libc::SIGTERM, "SIGTERM", 143);
}

#[test]
fn a_second_signal_abandons_the_action_in_flight_at_once() {
    // The slow action would take ten minutes.
    let env = slow_lab(600_000);
    let mut child = spawn_reconcile(&env);
    wait_for_an_action(&env, &mut child);
    signal(&child, libc::SIGINT);
    // The second signal must come after the first was taken as a stop.
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, libc::SIGINT);
    let out = finish(child);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(code(&out), 130, "{}", text(&out));
    assert!(
        stdout.contains("Abandoned in flight (a second signal): #1; their effect is unknown."),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "#1 start-services edgeserver1a.contoso.com (pool edgepool1.contoso.com): abandoned on a second SIGINT"
        ),
        "{stdout}"
    );
    assert!(env.applied().is_empty());
    drop(LabLock::acquire(&env.lab_path(), Duration::ZERO).expect("the lock is free after the run"));
    let last = journal::tail::read(&journal_path(&env)).unwrap().last.unwrap();
    assert_eq!(last.ended.unwrap().abandoned, vec![1]);
    assert_eq!(last.failed, vec![1]);
}

#[test]
fn after_kill_9_mid_apply_the_next_run_names_what_was_in_flight_and_converges() {
    let env = slow_lab(600_000);
    let mut child = spawn_reconcile(&env);
    wait_for_an_action(&env, &mut child);
    let pid = child.id();
    child.kill().expect("kill -9");
    let _ = child.wait();

    let last = journal::tail::read(&journal_path(&env)).unwrap().last.unwrap();
    assert_eq!(last.pid, pid);
    assert_eq!(last.state(), RunState::Died);
    assert_eq!(last.in_flight.len(), 1);

    let status = env.ok(&["status"]);
    assert!(status.contains("result:   died (no end recorded"), "{status}");
    assert!(
        status.contains("in flight when it died (effect unknown: the next reconcile observes first):\n    #1 start-services edgeserver1a.contoso.com"),
        "{status}"
    );

    // The next run: without the slow fault, it warns, observes and converges.
    let mut lab = env.lab();
    lab.faults.clear();
    env.set_lab(&lab);
    let out = env.run(&["reconcile", "-f", &example("failback.yaml")]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "warning: the last run (pid {pid}, started {}) died while these were in flight: #1 start-services edgeserver1a.contoso.com; observing before deciding",
            last.started
        )),
        "{stderr}"
    );
    let last = journal::tail::read(&journal_path(&env)).unwrap().last.unwrap();
    assert_eq!(last.state(), RunState::Ended(RunResult::Complete));
}

/// Starts `edgefed --backend powershell … observe` with a double that
/// writes its pids to `pids` and takes `delay_ms` to answer.
fn spawn_slow_observe(double: &Double, pids: &Path, delay_ms: u64, extra: &[&str]) -> Child {
    Command::new(EDGEFED)
        .current_dir(double.dir.path())
        .args(["--backend", "powershell", "--ps-command", DOUBLE])
        .args(extra)
        .arg("observe")
        .env("NO_COLOR", "1")
        .env("EDGEFED_SHELL_DOUBLE_STATE", &double.state)
        .env("EDGEFED_SHELL_DOUBLE_PID_FILE", pids)
        .env("EDGEFED_SHELL_DOUBLE_HELPER", "1")
        .env("EDGEFED_SHELL_DOUBLE_DELAY_MS", delay_ms.to_string())
        .env_remove("EDGEFED_PS_COMMAND")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn edgefed")
}

/// The double's pid and its helper's, once it has written them.
fn double_pids(child: &mut Child, pids: &Path) -> (u32, u32) {
    wait_until("the shell double started", child, || {
        std::fs::read_to_string(pids).is_ok_and(|t| t.lines().count() == 2)
    });
    let text = std::fs::read_to_string(pids).unwrap();
    let mut it = text.lines().map(|l| l.parse::<u32>().expect("pid"));
    (it.next().unwrap(), it.next().unwrap())
}

/// Ends a leftover helper (started by the double for this test) by its pid.
fn end_helper(pid: u32) {
    if running(pid) {
        // SAFETY: kill has no memory effects.
        unsafe {
            libc::kill(pid as i32, libc::SIGKILL);
        }
    }
}

#[test]
fn after_kill_9_of_edgefed_the_management_shell_does_not_run_on() {
    let double = Double::of(edgefed::backend::lab::Scenario::XmppFailedOver);
    let pids = double.dir.path().join("pids");
    let mut child = spawn_slow_observe(&double, &pids, 600_000, &[]);
    let (shell, helper) = double_pids(&mut child, &pids);
    assert!(running(shell));
    child.kill().expect("kill -9");
    let _ = child.wait();
    let shell_gone = gone_within(shell, Duration::from_secs(10));
    end_helper(helper);
    assert!(
        shell_gone,
        "the shell double (pid {shell}) still runs after edgefed was killed"
    );
}

#[test]
fn a_shell_that_times_out_is_killed_with_its_whole_process_group() {
    let double = Double::of(edgefed::backend::lab::Scenario::XmppFailedOver);
    let pids = double.dir.path().join("pids");
    let mut child = spawn_slow_observe(&double, &pids, 600_000, &["--ps-timeout", "observe=1"]);
    let (shell, helper) = double_pids(&mut child, &pids);
    let out = finish(child);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did not finish within 1s"),
        "{}",
        text(&out)
    );
    let shell_gone = gone_within(shell, Duration::from_secs(10));
    let helper_gone = gone_within(helper, Duration::from_secs(10));
    end_helper(helper);
    assert!(shell_gone, "the shell double (pid {shell}) outlived its timeout");
    assert!(helper_gone, "the shell's helper (pid {helper}) outlived its group");
}

#[test]
fn sigterm_while_observing_exits_143_and_ends_the_shell() {
    let double = Double::of(edgefed::backend::lab::Scenario::XmppFailedOver);
    let pids = double.dir.path().join("pids");
    let mut child = spawn_slow_observe(&double, &pids, 600_000, &[]);
    let (shell, helper) = double_pids(&mut child, &pids);
    signal(&child, libc::SIGTERM);
    let out = finish(child);
    let shell_gone = gone_within(shell, Duration::from_secs(10));
    let helper_gone = gone_within(helper, Duration::from_secs(10));
    end_helper(helper);
    assert_eq!(code(&out), 143, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SIGTERM received while observing: stopped; nothing was changed"),
        "{}",
        text(&out)
    );
    assert!(shell_gone && helper_gone, "the shell or its helper outlived the stop");
}
