//! The lab's operation log: kill -9 at random points of a reconcile loses
//! nothing applied and applies nothing twice; old labs migrate; the log is
//! summarised, not dumped; the file's leading comments survive; repeated
//! drills leave the lab readable.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use edgefed::backend::lab::{Fault, LabFile, OperationLog, Outcome, rules};
use edgefed::plan::Operation;

use super::support::*;

use crate::estate;

/// A small deterministic generator (splitmix64): the seed is printed, and
/// `EDGEFED_CRASH_SEED` runs a failing sequence again.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

fn seed() -> u64 {
    std::env::var("EDGEFED_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

/// One crash case: a lab scenario, what is changed in it, and a document.
struct Case {
    scenario: &'static str,
    example: &'static str,
    /// A fault to inject, so that the first run fails part-way.
    fault: Option<(&'static str, u32)>,
}

const CASES: [Case; 6] = [
    Case {
        scenario: "xmpp-failed-over",
        example: "failback.yaml",
        fault: None,
    },
    Case {
        scenario: "healthy",
        example: "xmpp-failover.yaml",
        fault: None,
    },
    Case {
        scenario: "healthy",
        example: "sip-failover.yaml",
        fault: None,
    },
    Case {
        scenario: "healthy",
        example: "multi-site.yaml",
        fault: None,
    },
    Case {
        scenario: "healthy",
        example: "frontend-failover.yaml",
        fault: None,
    },
    // A fault consumed in a killed run must stay consumed.
    Case {
        scenario: "xmpp-failed-over",
        example: "failback.yaml",
        fault: Some(("set-site-xmpp-route", 1)),
    },
];

fn prepare(case: &Case) -> (Env, String) {
    let env = Env::new(case.scenario);
    if let Some((kind, times)) = case.fault {
        env.add_fault(Fault::failing(kind, "simulated failure").times(times));
    }
    let initial = std::fs::read_to_string(env.lab_path()).expect("lab text");
    (env, initial)
}

fn reconcile_command(env: &Env, doc: &str) -> Command {
    let mut cmd = env.command(&["reconcile", "-f", doc]);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    cmd
}

/// Runs reconcile until it succeeds (a case with a fault fails once).
fn reconcile_to_completion(env: &Env, doc: &str) {
    for _ in 0..3 {
        let out = env.run(&["reconcile", "-f", doc]);
        if code(&out) == 0 {
            return;
        }
    }
    let out = env.run(&["reconcile", "-f", doc]);
    panic!("reconcile does not converge:\n{}", text(&out));
}

/// Replays the whole operation log over the lab as it was before any run,
/// checking that every entry does what it did (nothing applied twice,
/// every fault consumed once), that at every publish at most one Edge pool
/// carries SIP federation, and that the result is the lab as it stands.
fn check_log(env: &Env, initial: &str, context: &str) {
    let entries = OperationLog::of(&env.lab_path()).entries().expect("the log reads");
    let mut lab = LabFile::parse(Path::new("initial.yaml"), initial).expect("initial lab");
    for (n, e) in entries.iter().enumerate() {
        assert_eq!(
            e.sequence,
            n as u64 + 1,
            "{context}: the log's numbers follow each other"
        );
        if let Some(against) = &e.stage_against {
            rules::start_staging(&mut lab, against);
        }
        let result = rules::apply(&mut lab, &e.operation);
        assert_eq!(
            result.is_ok(),
            !matches!(e.outcome, Outcome::Failed(_)),
            "{context}: entry {} ({}) replays differently: {result:?}",
            e.sequence,
            e.operation
        );
        if matches!(e.operation, Operation::PublishTopology {}) && e.outcome == Outcome::Applied {
            let federated = lab.topology.edge_pools.values().filter(|p| p.sip_federation).count();
            assert!(
                federated <= 1,
                "{context}: {federated} Edge pools federate after publish #{}",
                e.sequence
            );
        }
    }
    assert_eq!(lab, env.lab(), "{context}: the log replayed is the lab");
}

fn leftover_temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".edgefed-tmp"))
        .collect()
}

#[test]
fn kill_9_at_random_points_of_a_reconcile_loses_nothing_and_applies_nothing_twice() {
    const KILLS: usize = 48;
    let seed = seed();
    println!("kill -9 loop: seed {seed} (EDGEFED_CRASH_SEED={seed} repeats it)");
    let mut rng = Rng(seed);
    let started = Instant::now();
    let (mut mid_run, mut replayed) = (0, 0);
    for (c, case) in CASES.iter().enumerate() {
        let doc = example(case.example);
        // How long a whole run takes here, to spread the kills over it.
        let (clean, _) = prepare(case);
        let t0 = Instant::now();
        let status = reconcile_command(&clean, &doc).status().expect("spawn");
        let run = t0.elapsed();
        assert!(status.code().is_some(), "a clean run ends by itself");
        for k in 0..KILLS / CASES.len() {
            let context = format!("case {c} ({} + {}), kill {k}", case.scenario, case.example);
            let (env, initial) = prepare(case);
            let delay = Duration::from_micros(rng.below(run.as_micros() as u64 + 1));
            let mut child = reconcile_command(&env, &doc).spawn().expect("spawn");
            std::thread::sleep(delay);
            if child.try_wait().expect("wait").is_none() {
                mid_run += 1;
            }
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();

            // Right after the kill: the lab and its log read, and reading
            // replays what the file does not include yet.
            let file = LabFile::read_file(&env.lab_path()).unwrap_or_else(|e| panic!("{context}: {e}"));
            let lab = LabFile::read(&env.lab_path()).unwrap_or_else(|e| panic!("{context}: {e}"));
            if lab.sequence > file.sequence {
                replayed += 1;
            }

            reconcile_to_completion(&env, &doc);
            let check = env.run(&["reconcile", "--check", "-f", &doc]);
            assert_eq!(code(&check), 0, "{context}: not converged:\n{}", text(&check));
            check_log(&env, &initial, &context);
            assert_eq!(leftover_temporaries(env.dir.path()), Vec::<String>::new(), "{context}");
        }
    }
    println!(
        "kill -9 loop: {KILLS} kills over {} cases in {:.1} s; {mid_run} while running, {replayed} left operations for the next read to replay",
        CASES.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        replayed > 0,
        "no kill landed while operations were being applied: the test proves nothing"
    );
}

#[test]
fn an_old_lab_with_a_log_migrates_it_out_once() {
    let env = Env::new("xmpp-failed-over");
    // A lab file as edgefed wrote it before the operation log had its own file.
    let mut old = std::fs::read_to_string(env.lab_path()).expect("lab");
    assert!(!old.contains("\nlog:"), "{old}");
    old.push_str("log:\n- { kind: publish-topology }\n- { kind: set-site-xmpp-route, site: Site1, edgePool: null }\n");
    std::fs::write(env.lab_path(), &old).expect("old lab");
    let shown = env.ok(&["lab", "show"]);
    assert!(shown.contains("and 2 in the lab file's old `log:`"), "{shown}");

    let out = env.run(&["reconcile", "-f", &example("failback.yaml")]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("moved 2 operation(s) from the `log:`").count(), 1, "{err}");
    let after = std::fs::read_to_string(env.lab_path()).expect("lab");
    assert!(!after.contains("\nlog:"), "{after}");
    let entries = OperationLog::of(&env.lab_path()).entries().expect("log");
    assert_eq!(entries[0].sequence, 1);
    assert_eq!(entries[0].operation, Operation::PublishTopology {});
    assert_eq!(entries.len(), 2 + SEED_STEPS.len(), "the old two, then the run's");

    let again = env.run(&["reconcile", "-f", &example("failback.yaml")]);
    assert_eq!(code(&again), 0, "{}", text(&again));
    assert!(!String::from_utf8_lossy(&again.stderr).contains("moved"), "said once");
}

#[test]
fn the_leading_comment_block_survives_a_reconcile_and_lab_show_summarises_the_log() {
    let env = Env::new("xmpp-failed-over");
    let original = std::fs::read_to_string(env.lab_path()).expect("lab");
    std::fs::write(
        env.lab_path(),
        format!("# Drill 7: Site1 lost\n# owner: ops\n\n{original}"),
    )
    .expect("comment");
    env.ok(&["reconcile", "-f", &example("failback.yaml")]);
    let after = std::fs::read_to_string(env.lab_path()).expect("lab");
    assert!(after.starts_with("# Drill 7: Site1 lost\n# owner: ops\n"), "{after}");
    assert!(after.contains("\nsequence: 17\n"), "{after}");

    let shown = env.ok(&["lab", "show"]);
    assert!(shown.contains("Operation log: 17 operation(s) in "), "{shown}");
    assert!(shown.contains("lab.yaml.log.ndjson"), "{shown}");
    assert!(shown.contains("the last 10:"), "{shown}");
    assert!(shown.contains("#17 invoke-pool-failback"), "{shown}");
    assert!(!shown.contains("#7 "), "only the last ten: {shown}");
    let json: serde_json::Value = serde_json::from_str(&env.ok(&["lab", "show", "--output", "json"])).expect("json");
    assert_eq!(json["operationLog"]["operations"], 17, "{json:#}");
    assert_eq!(json["operationLog"]["last"].as_array().map(Vec::len), Some(10));
    assert_eq!(json["sequence"], 17);
    let yaml = env.ok(&["lab", "show", "--output", "yaml"]);
    assert!(yaml.contains("operationLog:"), "{yaml}");
}

#[test]
fn lab_init_force_starts_a_new_log() {
    let env = Env::new("xmpp-failed-over");
    env.ok(&["reconcile", "-f", &example("failback.yaml")]);
    assert_eq!(env.applied().len(), SEED_STEPS.len());
    env.ok(&["lab", "init", "--force", "--scenario", "xmpp-failed-over"]);
    assert!(env.applied().is_empty());
    // The new lab converges from scratch, nothing of the old log replayed.
    env.ok(&["reconcile", "-f", &example("failback.yaml")]);
    assert_eq!(env.applied().len(), SEED_STEPS.len());
}

#[test]
fn a_lab_replaced_by_hand_is_taken_as_it_is() {
    let env = Env::new("xmpp-failed-over");
    let fresh = env.lab();
    env.ok(&["reconcile", "-f", &example("failback.yaml")]);
    // A copy from before the run put back: the log's operations are not
    // replayed over it, and the next run continues the log's numbering.
    env.set_lab(&fresh);
    let doc = example("failback.yaml");
    let check = env.run(&["reconcile", "--check", "-f", &doc]);
    assert_eq!(code(&check), 2, "the drift is back:\n{}", text(&check));
    env.ok(&["reconcile", "-f", &doc]);
    let entries = OperationLog::of(&env.lab_path()).entries().expect("log");
    let numbers: Vec<u64> = entries.iter().map(|e| e.sequence).collect();
    assert_eq!(numbers, (1..=2 * SEED_STEPS.len() as u64).collect::<Vec<_>>());
}

/// Ten alternating failover/failback drills on a generated estate: each
/// converges, and the lab stays readable. The 1,000-site version runs as
/// a benchmark (`cargo bench --bench lab`); a debug test runs 20 sites.
#[test]
fn ten_alternating_drills_each_converge_and_the_lab_stays_readable() {
    const SITES: usize = 20;
    let env = Env::with_lab(&estate::lab_yaml(SITES));
    let (dir, lab) = (env.path(), env.lab_path());
    let over = dir.join("over.yaml");
    let back = dir.join("back.yaml");
    std::fs::write(&over, estate::desired_yaml_on(SITES, 1)).expect("doc");
    std::fs::write(&back, estate::desired_yaml_on(SITES, 0)).expect("doc");
    let run = |args: &[&str]| env.run(args);
    let mut sizes = Vec::new();
    for drill in 0..10 {
        let doc = if drill % 2 == 0 { &over } else { &back };
        let doc = doc.to_str().expect("path");
        let out = run(&["reconcile", "-f", doc]);
        assert_eq!(code(&out), 0, "drill {drill}:\n{}", text(&out));
        let check = run(&["reconcile", "--check", "-f", doc]);
        assert_eq!(code(&check), 0, "drill {drill} not converged:\n{}", text(&check));
        sizes.push(std::fs::metadata(&lab).expect("lab").len());
    }
    // The lab file does not grow with use: the log is elsewhere.
    assert!(sizes.iter().all(|s| *s <= sizes[0] + 64), "{sizes:?}");
    LabFile::read(&lab).expect("readable");
    assert!(OperationLog::of(&lab).summary(10).expect("log").operations > 0);
}

/// No fixed node budget refuses a large valid input: a 10,000-site lab
/// (about 19 MiB, past the parser's default of 250,000 nodes eight times
/// over) is read, and the tool's own `observe` output of it validates.
#[test]
fn the_observe_output_of_a_ten_thousand_site_lab_validates() {
    const SITES: usize = 10_000;
    let env = Env::with_lab(&estate::lab_yaml(SITES));
    let dir = env.path();
    let run = |args: &[&str]| env.run(args);
    let observed = run(&["observe"]);
    assert_eq!(code(&observed), 0, "{}", text(&observed));
    let doc = dir.join("observed.yaml");
    std::fs::write(&doc, &observed.stdout).expect("doc");
    let valid = run(&["validate", "-f", doc.to_str().expect("path")]);
    assert_eq!(code(&valid), 0, "{}", text(&valid));
}
