//! High availability of `edgefed watch --leader-election etcd://…` against
//! a real etcd: two watchers in correct mode on one lab, the leader killed
//! with SIGKILL in the middle of an apply, the other taking over within the
//! lease's TTL and bringing the deployment in sync; no action applied by
//! two leaders, as the action events, the run journal and their fencing
//! tokens show.
//! Waits are bounded polls.

#[path = "support/estate.rs"]
mod estate;
mod support;

use support::watcher::{WatchProcess, wait_for};

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use edgefed::backend::lab::OperationLog;
use serde_json::Value;
use support::etcd::Etcd;

/// Sites in the generated estate: enough actions (about a hundred, each a
/// lab write) for the leader to be killed in the middle of its apply.
const SITES: usize = 25;

/// A running `edgefed watch --mode correct --leader-election …`.
struct Watcher {
    name: &'static str,
    process: WatchProcess,
}

impl Deref for Watcher {
    type Target = WatchProcess;

    fn deref(&self) -> &WatchProcess {
        &self.process
    }
}

impl DerefMut for Watcher {
    fn deref_mut(&mut self) -> &mut WatchProcess {
        &mut self.process
    }
}

impl Watcher {
    fn start(name: &'static str, dir: &Path, lab: &Path, doc: &Path, election: &str) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_edgefed"));
        command
            .current_dir(dir)
            .arg("--lab")
            .arg(lab)
            .args(["--output", "json", "watch", "-f"])
            .arg(doc)
            .args([
                "--mode",
                "correct",
                "--yes",
                "--interval",
                "1s",
                "--jitter",
                "0",
                "--retry-min",
                "200ms",
                "--retry-max",
                "1s",
                "--metrics-addr",
                "127.0.0.1:0",
                "--leader-election",
                election,
            ]);
        Self {
            name,
            process: WatchProcess::spawn(command),
        }
    }

    /// The action events with this status.
    fn actions(&self, status: &str) -> Vec<Value> {
        self.of("action")
            .into_iter()
            .filter(|e| e["status"] == status)
            .collect()
    }

    /// The fencing token of its last leadership event, if it led then.
    fn leads(&self) -> Option<u64> {
        let last = self.of("leadership").pop()?;
        (last["leader"] == true)
            .then(|| last["fencingToken"].as_u64())
            .flatten()
    }
}

/// `kind target` of an action line `#id kind target`.
fn operation(action: &Value) -> String {
    let line = action["action"].as_str().expect("action line");
    line.split_once(' ').map_or(line, |(_, rest)| rest).to_string()
}

fn tokens(actions: &[Value]) -> Vec<Option<u64>> {
    let mut t: Vec<Option<u64>> = actions.iter().map(|a| a["fencingToken"].as_u64()).collect();
    t.dedup();
    t
}

/// `edgefed --lab LAB ARGS DOC`, run to its end.
fn edgefed(dir: &Path, lab: &Path, args: &[&str], doc: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_edgefed"))
        .current_dir(dir)
        .arg("--lab")
        .arg(lab)
        .args(args)
        .arg(doc)
        .env_remove("EDGEFED_LAB")
        .env("NO_COLOR", "1")
        .output()
        .expect("run edgefed")
}

#[test]
fn a_killed_leader_is_replaced_within_the_ttl_and_no_action_is_applied_by_two_leaders() {
    if !support::need(&["etcd"]) {
        return;
    }
    let etcd = Etcd::start();
    let election = etcd.lock_url("edgefed/prod/leader", "ttl=3s");
    let dir = tempfile::tempdir().expect("temp dir");
    let lab: PathBuf = dir.path().join("lab.yaml");
    let doc: PathBuf = dir.path().join("desired.yaml");
    std::fs::write(&lab, estate::lab_yaml(SITES)).expect("write lab");
    std::fs::write(&doc, estate::desired_yaml(SITES)).expect("write document");

    let plan = edgefed(dir.path(), &lab, &["--output", "json", "plan", "-f"], &doc);
    assert_eq!(plan.status.code(), Some(0), "{}", String::from_utf8_lossy(&plan.stderr));
    let plan: Value = serde_json::from_slice(&plan.stdout).expect("plan JSON");
    let planned = plan["actions"].as_array().map_or(0, Vec::len);
    assert!(planned > 50, "the estate needs many actions: {planned}");

    let a = Watcher::start("A", dir.path(), &lab, &doc, &election);
    let b = Watcher::start("B", dir.path(), &lab, &doc, &election);
    let a_leads = wait_for("one leader", || match (a.leads(), b.leads()) {
        (Some(_), None) => Some(true),
        (None, Some(_)) => Some(false),
        _ => None,
    });
    let (mut leader, mut follower) = if a_leads { (a, b) } else { (b, a) };
    let first = leader.leads().expect("a token");

    // Kill the leader once it has applied some of its actions.
    wait_for("the leader to be in the middle of its apply", || {
        (leader.actions("applied").len() >= 3).then_some(())
    });
    assert!(
        follower.of("action").is_empty(),
        "{} applied as a follower: {:?}",
        follower.name,
        follower.of("action")
    );
    leader.kill();
    let killed = Instant::now();
    let applied_by_leader = leader.actions("applied");
    let started_by_leader = leader.actions("started");
    assert!(
        planned > applied_by_leader.len() + 1,
        "the leader was killed in the middle of its apply: {} of {planned} applied",
        applied_by_leader.len()
    );

    let second = wait_for("the follower to take over", || follower.leads());
    let took = killed.elapsed();
    eprintln!(
        "{} took over {took:?} after {} was killed (lease TTL 3 s), fencing token {first} -> {second}",
        follower.name, leader.name
    );
    assert!(
        took <= Duration::from_secs(3) + Duration::from_secs(4),
        "took over {took:?} after the kill; TTL 3 s (+ etcd's expiry sweep and the follower's poll)"
    );
    assert!(second > first, "tokens strictly increase: {first} then {second}");
    let done = wait_for("the new leader to apply and verify", || {
        follower
            .of("reconcile")
            .into_iter()
            .find(|e| e["result"] == "applied" && e["inSync"] == true)
    });
    assert_eq!(done["leader"], true);
    assert_eq!(done["fencingToken"].as_u64(), Some(second));
    assert_eq!(follower.metric("edgefed_leader"), Some(1.0));
    assert_eq!(follower.metric("edgefed_leader_fencing_token"), Some(second as f64));

    // Every applied action carries one token: the first leader's, then the second's.
    let applied_by_follower = follower.actions("applied");
    assert_eq!(tokens(&applied_by_leader), vec![Some(first)], "{applied_by_leader:?}");
    assert_eq!(
        tokens(&applied_by_follower),
        vec![Some(second)],
        "{applied_by_follower:?}"
    );
    // No action applied by two leaders: the lab's log is the first leader's
    // applied actions, then at most the one it had started when it was
    // killed (written to the lab, its event never printed), then the second
    // leader's — each entry under exactly one term, the terms never
    // interleaved. (An action can appear in both terms: topology edits the
    // killed leader staged but never published are made again.)
    let log: Vec<String> = OperationLog::of(&lab)
        .applied()
        .expect("operation log")
        .iter()
        .map(ToString::to_string)
        .collect();
    let first_term: Vec<String> = applied_by_leader.iter().map(operation).collect();
    let second_term: Vec<String> = applied_by_follower.iter().map(operation).collect();
    let unrecorded = log.len().checked_sub(first_term.len() + second_term.len());
    assert!(
        matches!(unrecorded, Some(0 | 1))
            && log.starts_with(&first_term)
            && log.ends_with(&second_term)
            && (unrecorded == Some(0)
                || started_by_leader.last().map(operation).as_deref() == Some(log[first_term.len()].as_str())),
        "lab log:\n{log:#?}\nfirst term ({first}):\n{first_term:#?}\nsecond term ({second}):\n{second_term:#?}"
    );
    // The run journal shows the same: every applied action's record carries
    // exactly one token, each run one token throughout, and the terms never
    // interleave — the first leader's, then the second's.
    let journal = std::fs::read_to_string(dir.path().join("lab.yaml.journal.ndjson")).expect("run journal");
    let records: Vec<Value> = journal.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let applied: Vec<&Value> = records
        .iter()
        .filter(|r| r["event"] == "action-ended" && r["outcome"] == "applied")
        .collect();
    assert!(
        applied.iter().all(|r| r["fencingToken"].is_u64()),
        "an applied action without its token:\n{journal}"
    );
    let mut terms: Vec<u64> = applied.iter().filter_map(|r| r["fencingToken"].as_u64()).collect();
    let first_in_journal = terms.iter().filter(|&&t| t == first).count();
    terms.dedup();
    assert_eq!(
        terms,
        vec![first, second],
        "terms interleave in the journal:\n{journal}"
    );
    assert!(
        first_in_journal >= applied_by_leader.len(),
        "{first_in_journal} applied under {first} in the journal, {} in the events",
        applied_by_leader.len()
    );
    for run in records.iter().filter(|r| r["event"] == "run-started") {
        let lines: Vec<&Value> = records.iter().filter(|r| r["run"] == run["run"]).collect();
        assert!(
            lines
                .iter()
                .all(|r| r["fencingToken"] == run["fencingToken"] && r["fencingToken"].is_u64()),
            "a run's lines carry one token: {lines:?}"
        );
    }
    let status = Command::new(env!("CARGO_BIN_EXE_edgefed"))
        .current_dir(dir.path())
        .arg("--lab")
        .arg(&lab)
        .arg("status")
        .env_remove("EDGEFED_LAB")
        .env("NO_COLOR", "1")
        .output()
        .expect("run edgefed status");
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(
        shown.contains(&format!("applied under fencing token {second}")),
        "{shown}{}",
        String::from_utf8_lossy(&status.stderr)
    );

    // While it followed, it observed only.
    assert!(
        follower
            .of("reconcile")
            .iter()
            .any(|e| e["leader"] == false && e["result"] == "drift"),
        "{}",
        follower.stderr()
    );

    // The deployment converged.
    let check = edgefed(dir.path(), &lab, &["reconcile", "--check", "-f"], &doc);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    // SIGTERM: the leader resigns at once; the key is gone.
    assert_eq!(follower.stop(), 0, "{}", follower.stderr());
    let last = follower.of("leadership").pop().expect("a leadership event");
    assert_eq!(last["leader"], false);
    assert_eq!(last["why"], "resigned");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = edgefed::etcd::Client::new(
        edgefed::etcd::Endpoint {
            host: "127.0.0.1".into(),
            port: etcd.port,
        },
        Duration::from_secs(5),
    )
    .expect("client");
    assert_eq!(
        rt.block_on(client.get(b"edgefed/prod/leader")).expect("get"),
        None,
        "the key outlived a resignation"
    );
}

#[test]
fn a_stopped_leader_resigns_and_the_follower_takes_over_before_the_lease_would_expire() {
    if !support::need(&["etcd"]) {
        return;
    }
    let etcd = Etcd::start();
    // A TTL far longer than the wait: only a resignation hands over this soon.
    let election = etcd.lock_url("edgefed/prod/leader", "ttl=60s");
    let dir = tempfile::tempdir().expect("temp dir");
    let lab: PathBuf = dir.path().join("lab.yaml");
    let doc: PathBuf = dir.path().join("desired.yaml");
    std::fs::write(&lab, estate::lab_yaml(2)).expect("write lab");
    std::fs::write(&doc, estate::desired_yaml(2)).expect("write document");
    let mut a = Watcher::start("A", dir.path(), &lab, &doc, &election);
    let first = wait_for("A leads", || a.leads());
    let b = Watcher::start("B", dir.path(), &lab, &doc, &election);
    wait_for("B follows", || {
        b.of("leadership")
            .iter()
            .any(|e| {
                e["leader"] == false
                    && e["leaseLive"] == true
                    && e["why"].as_str().is_some_and(|w| w.ends_with(" leads"))
            })
            .then_some(())
    });
    assert_eq!(b.metric("edgefed_leader"), Some(0.0));
    assert_eq!(b.metric("edgefed_leader_lease_live"), Some(1.0));
    let stopped = Instant::now();
    assert_eq!(a.stop(), 0, "{}", a.stderr());
    let second = wait_for("B takes over", || b.leads());
    let took = stopped.elapsed();
    eprintln!("B took over {took:?} after A was stopped (lease TTL 60 s)");
    assert!(
        took < Duration::from_secs(60),
        "B waited for the lease to expire: {took:?}"
    );
    assert!(second > first);
    // Elected, B reconciles at once and applies what A left.
    wait_for("B in sync", || {
        b.of("reconcile")
            .into_iter()
            .find(|e| e["leader"] == true && e["inSync"] == true)
    });
}

#[test]
fn leader_election_needs_an_etcd_url() {
    let dir = tempfile::tempdir().expect("temp dir");
    let doc = format!("{}/examples/failback.yaml", env!("CARGO_MANIFEST_DIR"));
    for (spec, problem) in [
        ("leader.lock", "an election needs etcd, not a file"),
        ("etcd://127.0.0.1:2379", "no key after the address"),
        ("etcd://127.0.0.1:2379/k?ttl=1s", "ttl 1s: between 2s and 1h"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_edgefed"))
            .current_dir(dir.path())
            .args([
                "watch",
                "-f",
                &doc,
                "--metrics-addr",
                "127.0.0.1:0",
                "--leader-election",
                spec,
            ])
            .env_remove("EDGEFED_LAB")
            .env("NO_COLOR", "1")
            .output()
            .expect("run edgefed");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{spec}: {err}");
        assert!(
            err.contains(&format!("--leader-election {spec}: {problem}")) && err.contains("etcd://HOST:PORT/KEY"),
            "{spec}: {err}"
        );
    }
}
