//! Two reconciles on one lab never interleave.

use super::support::*;

#[test]
fn two_concurrent_reconciles_publish_once_and_converge() {
    let env = Env::new("xmpp-failed-over");
    let doc = example("failback.yaml");
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| env.run(&["reconcile", "-f", &doc]));
        let b = s.spawn(|| env.run(&["reconcile", "-f", &doc]));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(code(&a), 0, "{}", text(&a));
    assert_eq!(code(&b), 0, "{}", text(&b));
    assert_eq!(
        env.applied()
            .iter()
            .filter(|o| o.kind().name() == "publish-topology")
            .count(),
        1
    );
    assert_eq!(env.applied().len(), 17);
    assert_eq!(code(&env.run(&["reconcile", "--check", "-f", &doc])), 0);
}

#[test]
fn a_held_lock_times_out_naming_the_holder() {
    let env = Env::new("xmpp-failed-over");
    let _held = edgefed::backend::lab::LabLock::acquire(&env.lab_path(), std::time::Duration::from_secs(1)).unwrap();
    let out = env.run(&["--lock-timeout", "0", "reconcile", "-f", &example("failback.yaml")]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is locked by edgefed (pid"), "{err}");
    assert!(env.applied().is_empty());
}

#[test]
fn lock_options_are_checked_before_anything_is_touched() {
    let env = Env::new("xmpp-failed-over");
    let doc = example("failback.yaml");
    for (args, says) in [
        (
            vec!["--lock", "etcd://127.0.0.1:2379/", "reconcile", "-f", &doc],
            "--lock etcd://127.0.0.1:2379/: the key is empty",
        ),
        (
            vec!["--lock", "https://127.0.0.1/k", "reconcile", "-f", &doc],
            "unknown lock scheme `https`",
        ),
        (
            vec!["--lock-timeout", "soon", "reconcile", "-f", &doc],
            "--lock-timeout soon: expected a duration",
        ),
        (
            vec!["--lock-timeout", "8days", "observe"],
            "--lock-timeout 8days: at most 604800 seconds (7 days)",
        ),
    ] {
        let out = env.run(&args);
        assert_eq!(code(&out), 64, "{args:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: ") && err.contains(says), "{args:?}: {err}");
    }
    assert!(env.applied().is_empty());
    // Human durations and plain seconds.
    for timeout in ["90s", "2m", "1h 30m", "7days", "45"] {
        assert_eq!(code(&env.run(&["--lock-timeout", timeout, "observe"])), 0, "{timeout}");
    }
}

#[test]
fn a_lock_file_of_the_users_choice_is_taken_besides_the_labs_own() {
    let env = Env::new("xmpp-failed-over");
    let lock = env.path().join("share/prod.lock");
    let lock = lock.to_str().unwrap();
    let held = edgefed::lock::FileLock::acquire(
        std::path::Path::new(lock),
        "the lock file",
        std::time::Duration::ZERO,
        &mut |_| {},
    )
    .unwrap();
    let out = env.run(&[
        "--lock",
        lock,
        "--lock-timeout",
        "0",
        "reconcile",
        "-f",
        &example("failback.yaml"),
    ]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "error: the lock file {lock} is locked by edgefed (pid {} on ",
            std::process::id()
        )),
        "{err}"
    );
    assert!(env.applied().is_empty());
    drop(held);
    // Naming the lab's own lock takes it once, not twice.
    let own = format!("{}.lock", env.lab_path().display());
    let out = env.run(&[
        "--lock",
        &own,
        "--lock-timeout",
        "0",
        "reconcile",
        "-f",
        &example("failback.yaml"),
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = env.run(&["--lock", lock, "reconcile", "-f", &example("failback.yaml")]);
    assert_eq!(code(&out), 0, "{}", text(&out));
}

#[test]
fn the_powershell_backend_locks_the_deployment_by_default() {
    let env = Env::new("healthy");
    let lock = env.path().join(".edgefed/deployment.lock");
    let held =
        edgefed::lock::FileLock::acquire(&lock, "the lock file", std::time::Duration::ZERO, &mut |_| {}).expect("free");
    let doc = example("failback.yaml");
    // The lock comes before the Management Shell is started: `false` is never run.
    let ps = [
        "--backend",
        "powershell",
        "--ps-command",
        "false",
        "--lock-timeout",
        "0",
    ];
    let out = env.run(&[&ps[..], &["reconcile", "-f", &doc]].concat());
    assert_eq!(code(&out), 1, "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "error: the lock file .edgefed/deployment.lock is locked by edgefed (pid {} on ",
            std::process::id()
        )),
        "{err}"
    );
    // A check only reads: it goes on to the shell (which fails), not to the lock.
    let out = env.run(&[&ps[..], &["reconcile", "--check", "-f", &doc]].concat());
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("locked by"),
        "{}",
        text(&out)
    );
    drop(held);
}
