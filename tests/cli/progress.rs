//! What `reconcile` shows while it applies, off a terminal: timestamped
//! lines on stderr, the completed/total count on each action's line, and
//! `still running` for a slow action (the threshold lowered with the
//! hidden `--still-running-every`, which exists for these tests).

use super::support::*;
use edgefed::backend::lab::Fault;

/// The lab with its first `run-setup` slowed by `ms`.
fn slow_setup(env: &Env, ms: u64) {
    env.add_fault(Fault::slowing("run-setup", ms));
}

#[test]
fn plain_progress_counts_actions_and_says_what_is_still_running() {
    let env = Env::new("xmpp-failed-over");
    slow_setup(&env, 3000);
    let out = env.run(&[
        "reconcile",
        "--still-running-every",
        "1s",
        "-f",
        &example("failback.yaml"),
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);

    // Each action's line on stdout counts the ended actions and keeps the id.
    let counted: Vec<&str> = stdout.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(counted.len(), 17, "{stdout}");
    for (n, line) in counted.iter().enumerate() {
        assert!(
            line.starts_with(&format!("[{:>2}/17] #", n + 1)),
            "line {n}: {line}\n{stdout}"
        );
    }
    assert!(stdout.contains("] #7 run-setup edgeserver1a.contoso.com"), "{stdout}");

    // On stderr: one timestamped line as each action starts and as it ends.
    let stamped = |l: &&str| l.len() > 21 && l.as_bytes()[4] == b'-' && l[..21].ends_with("Z ");
    let started = stderr
        .lines()
        .filter(stamped)
        .filter(|l| l.ends_with(" started"))
        .count();
    let ended = stderr
        .lines()
        .filter(stamped)
        .filter(|l| l.contains(" done in "))
        .count();
    assert_eq!((started, ended), (17, 17), "{stderr}");
    assert!(
        stderr.contains("[ 0/17] #1 "),
        "the first starts with none ended: {stderr}"
    );
    assert!(stderr.contains("[17/17] #"), "{stderr}");

    // The slow setup was reported while it ran.
    let still: Vec<&str> = stderr.lines().filter(|l| l.contains(" still running (")).collect();
    assert!(!still.is_empty(), "{stderr}");
    assert!(
        still
            .iter()
            .all(|l| stamped(l) && l.contains("): #7 run-setup edgeserver1a.contoso.com")),
        "{still:?}"
    );
}

#[test]
fn json_and_quiet_runs_show_no_progress() {
    for args in [&["--output", "json"][..], &["-q"][..]] {
        let env = Env::new("xmpp-failed-over");
        slow_setup(&env, 1500);
        let mut all = args.to_vec();
        let doc = example("failback.yaml");
        all.extend(["reconcile", "--still-running-every", "1s", "-f", &doc]);
        let out = env.run(&all);
        assert_eq!(code(&out), 0, "{args:?}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains(" started") && !stderr.contains("still running") && !stderr.contains("done in"),
            "{args:?}: {stderr}"
        );
        if args[0] == "--output" {
            let _: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
        }
    }
}

#[test]
fn waiting_for_the_labs_lock_says_who_holds_it() {
    let env = Env::new("xmpp-failed-over");
    let held = edgefed::backend::lab::LabLock::acquire(&env.lab_path(), std::time::Duration::ZERO).expect("free");
    let out = env.run(&["--lock-timeout", "1s", "reconcile", "-f", &example("failback.yaml")]);
    drop(held);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "edgefed: waiting for lab {} (up to 1s, --lock-timeout); it is held by edgefed (pid {}",
            env.lab_path().display(),
            std::process::id()
        )),
        "{stderr}"
    );
    assert!(env.applied().is_empty());
}
