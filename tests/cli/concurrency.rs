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
