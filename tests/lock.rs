//! Locks against real servers: the etcd client (leases, keep-alive,
//! create-if-absent, leader election) against a real `etcd`, and the
//! `edgefed` binary serialising runs with `--lock etcd://…` and
//! `--lock PATH`.
//!
//! In the binary tests the first run is held *inside* its lock: the test
//! holds the lab's own lock (`<lab>.lock`), which a run takes after its
//! `--lock`, so the first run sits holding the `--lock` until the test lets
//! it go. No timing decides who wins.

mod support;

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use edgefed::backend::lab::LabLock;
use edgefed::etcd::{Campaign, Client, Created, Endpoint, EtcdError, KeepAlive};
use support::etcd::Etcd;
use support::need;

fn etcd() -> Option<Etcd> {
    need(&["etcd"]).then(Etcd::start)
}

fn client(etcd: &Etcd) -> Client {
    Client::new(
        Endpoint {
            host: "127.0.0.1".into(),
            port: etcd.port,
        },
        Duration::from_secs(5),
    )
    .expect("client")
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn leases_and_create_if_absent() {
    let Some(etcd) = etcd() else { return };
    let c = client(&etcd);
    rt().block_on(async {
        let a = c.grant(Duration::from_secs(10)).await.expect("grant");
        assert_eq!(a.ttl, Duration::from_secs(10));
        let b = c.grant(Duration::from_secs(10)).await.expect("grant");
        assert_ne!(a.id, b.id);

        let Created::Created { revision } = c.create_if_absent(b"edgefed/k", b"one", a.id).await.expect("txn") else {
            panic!("the key was free")
        };
        let Created::Exists(kv) = c.create_if_absent(b"edgefed/k", b"two", b.id).await.expect("txn") else {
            panic!("the key is taken")
        };
        assert_eq!(kv.value, b"one");
        assert_eq!(kv.key, b"edgefed/k");
        assert_eq!(kv.create_revision, revision);
        assert_eq!(kv.lease, Some(a.id));
        assert_eq!(c.get(b"edgefed/k").await.expect("get"), Some(kv));
        assert_eq!(c.get(b"edgefed/none").await.expect("get"), None);

        assert_eq!(c.keep_alive_once(a.id).await.expect("renew"), Duration::from_secs(10));
        c.revoke(a.id).await.expect("revoke");
        assert_eq!(
            c.get(b"edgefed/k").await.expect("get"),
            None,
            "revoking deletes the key"
        );
        assert!(matches!(
            c.keep_alive_once(a.id).await,
            Err(EtcdError::LeaseLost { .. })
        ));
        c.revoke(a.id).await.expect("a gone lease counts as revoked");

        let Created::Created { revision: later } = c.create_if_absent(b"edgefed/k", b"two", b.id).await.expect("txn")
        else {
            panic!("free again")
        };
        assert!(later > revision);
        assert!(c.delete(b"edgefed/k").await.expect("delete"));
        assert!(!c.delete(b"edgefed/k").await.expect("delete"));
        let e = c
            .create_if_absent(b"edgefed/k", b"x", a.id)
            .await
            .expect_err("a revoked lease");
        assert!(e.to_string().contains("lease not found"), "{e}");
    });
}

#[test]
fn campaign_gives_one_leader_and_a_growing_fencing_token() {
    let Some(etcd) = etcd() else { return };
    let c = client(&etcd);
    let other = client(&etcd);
    rt().block_on(async {
        let a = c.grant(Duration::from_secs(10)).await.expect("grant");
        let b = other.grant(Duration::from_secs(10)).await.expect("grant");
        let Campaign::Won(first) = c
            .campaign(b"edgefed/leader", b"runner-a", a.id)
            .await
            .expect("campaign")
        else {
            panic!("nobody led")
        };
        let Campaign::Lost(leader) = other
            .campaign(b"edgefed/leader", b"runner-b", b.id)
            .await
            .expect("campaign")
        else {
            panic!("a leads")
        };
        assert_eq!(leader.value, b"runner-a");
        assert_eq!(leader.create_revision, first.revision);
        assert_eq!(
            c.campaign(b"edgefed/leader", b"runner-a", a.id).await.expect("again"),
            Campaign::Won(first.clone()),
            "campaigning again as the leader keeps the same token"
        );
        assert!(c.still_leads(&first).await.expect("check"));
        assert!(
            other.resign(&first).await.is_ok_and(|deleted| deleted),
            "resign deletes the leader's key"
        );
        assert!(!c.still_leads(&first).await.expect("check"));

        let Campaign::Won(second) = other
            .campaign(b"edgefed/leader", b"runner-b", b.id)
            .await
            .expect("campaign")
        else {
            panic!("the key is free")
        };
        assert!(second.revision > first.revision, "the fencing token grows");
        assert!(
            !c.still_leads(&first).await.expect("check"),
            "a deposed leader stays deposed"
        );
        assert!(
            !c.resign(&first).await.expect("resign"),
            "a deposed leader cannot delete the new leader's key"
        );
        assert!(other.still_leads(&second).await.expect("check"));
        other.revoke(b.id).await.expect("revoke");
        assert!(!other.still_leads(&second).await.expect("check"));
    });
}

#[test]
fn keep_alive_holds_a_lease_past_its_ttl_and_notices_when_it_is_lost() {
    let Some(etcd) = etcd() else { return };
    let c = client(&etcd);
    rt().block_on(async {
        let kept = c.grant(Duration::from_secs(2)).await.expect("grant");
        let mut keep_alive = KeepAlive::start(c.clone(), kept);
        let unkept = c.grant(Duration::from_secs(2)).await.expect("grant");
        c.create_if_absent(b"edgefed/kept", b"1", kept.id).await.expect("put");
        c.create_if_absent(b"edgefed/unkept", b"1", unkept.id)
            .await
            .expect("put");
        // Past both TTLs (and etcd's expiry sweep): only the renewed lease lives.
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(c.get(b"edgefed/kept").await.expect("get").is_some());
        assert_eq!(c.get(b"edgefed/unkept").await.expect("get"), None);
        assert_eq!(keep_alive.lost(), None);

        c.revoke(kept.id).await.expect("revoke");
        let why = tokio::time::timeout(Duration::from_secs(10), keep_alive.wait_lost())
            .await
            .expect("the loss is noticed at the next renewal");
        assert!(why.contains("has expired or was revoked"), "{why}");
        assert!(keep_alive.lost().is_some());
    });
}

/// A folder with a lab in it and the binary to run against it.
struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Self {
        let lab = Self {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        let out = lab.command(&["lab", "init"]).output().expect("lab init");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        lab
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("lab.yaml")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_edgefed"));
        cmd.current_dir(self.dir.path())
            .arg("--lab")
            .arg(self.path())
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("EDGEFED_LAB")
            .env_remove("EDGEFED_LOCK")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Starts `edgefed ARGS` and collects its stderr as it comes.
    fn spawn(&self, args: &[&str]) -> Running {
        let mut child = self.command(args).spawn().expect("spawn edgefed");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                s.push_str(&line);
                s.push('\n');
            }
        });
        Running { child, stderr }
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("edgefed")
    }

    fn log_len(&self) -> usize {
        edgefed::backend::lab::OperationLog::of(&self.path())
            .applied()
            .expect("operation log")
            .len()
    }
}

struct Running {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Running {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Waits until stderr contains `text`; returns when it did.
    fn wait_for(&mut self, text: &str) -> Instant {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if self.stderr().contains(text) {
                return Instant::now();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                assert!(
                    self.stderr().contains(text),
                    "edgefed ended ({status}) without saying {text:?}:\n{}",
                    self.stderr()
                );
                return Instant::now();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("edgefed did not say {text:?} within 60 s:\n{}", self.stderr());
    }

    fn finish(mut self) -> (i32, String, String) {
        let status = self.child.wait().expect("wait");
        let mut out = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            use std::io::Read as _;
            let _ = stdout.read_to_string(&mut out);
        }
        std::thread::sleep(Duration::from_millis(100));
        (status.code().unwrap_or(-1), out, self.stderr())
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn doc() -> String {
    format!("{}/examples/failback.yaml", env!("CARGO_MANIFEST_DIR"))
}

/// Holds the lab's own lock, so that a run that took its `--lock` waits
/// right after it, holding it.
fn hold_lab(lab: &Lab) -> LabLock {
    LabLock::acquire(&lab.path(), Duration::ZERO).expect("the lab's lock is free")
}

/// The serialisation scenario for any `--lock`: run A takes the lock and is
/// held; B gives up after 1 s naming A; C waits, saying who holds it, and
/// runs once A is done, finding everything A did.
fn two_runs_serialize(lock: &str, lock_name: &str) {
    let lab = Lab::new();
    let doc = doc();
    let gate = hold_lab(&lab);
    let mut a = lab.spawn(&["-v", "--lock", lock, "reconcile", "-f", &doc]);
    a.wait_for(&format!("took {lock_name}"));
    a.wait_for("waiting for lab");
    let holder = format!("is locked by edgefed (pid {} on ", a.pid());

    let b = lab.run(&["--lock", lock, "--lock-timeout", "1s", "reconcile", "-f", &doc]);
    let b_err = String::from_utf8_lossy(&b.stderr);
    assert_eq!(b.status.code(), Some(1), "{b_err}");
    assert!(b_err.contains(&format!("error: {lock_name} {holder}")), "{b_err}");
    assert!(b_err.contains("reconcile -f"), "the holder's command is shown: {b_err}");
    assert!(b_err.contains("raise --lock-timeout"), "{b_err}");
    assert_eq!(lab.log_len(), 0, "nothing was applied");

    let mut c = lab.spawn(&["--lock", lock, "--lock-timeout", "2m", "reconcile", "-f", &doc]);
    c.wait_for(&format!(
        "edgefed: waiting for {lock_name} (up to 2m, --lock-timeout); it is held by edgefed (pid {}",
        a.pid()
    ));
    drop(gate);
    let (code, _, a_err) = a.finish();
    assert_eq!(code, 0, "{a_err}");
    assert_eq!(lab.log_len(), 17, "A applied the failback");
    let (code, out, c_err) = c.finish();
    assert_eq!(code, 0, "{c_err}");
    assert!(out.contains("No changes"), "C found A's work done:\n{out}");
    assert_eq!(lab.log_len(), 17, "C applied nothing more");
}

#[test]
fn two_runs_on_one_etcd_lock_serialize_and_the_waiter_sees_the_holder() {
    let Some(etcd) = etcd() else { return };
    let url = etcd.lock_url("edgefed/prod", "ttl=30s");
    let name = format!("the etcd lock etcd://127.0.0.1:{}/edgefed/prod", etcd.port);
    two_runs_serialize(&url, &name);
    // Released on a normal end: the key is gone.
    let c = client(&etcd);
    assert_eq!(
        rt().block_on(c.get(b"edgefed/prod")).expect("get"),
        None,
        "{}",
        etcd.log()
    );
}

#[test]
fn two_runs_on_one_lock_file_serialize_and_the_waiter_sees_the_holder() {
    let shared = tempfile::tempdir().expect("temp dir");
    let path = shared.path().join("share/prod.lock");
    let spec = path.to_str().expect("utf-8");
    two_runs_serialize(spec, &format!("the lock file {spec}"));
    assert_eq!(
        std::fs::read(&path).expect("read").len(),
        0,
        "the holder's note is cleared on release"
    );
}

/// Run A takes `lock` and is held; C waits; A is killed with SIGKILL; C
/// gets the lock. Returns how long C waited after the kill.
fn killed_holder(lock: &str, lock_name: &str) -> Duration {
    let lab = Lab::new();
    let doc = doc();
    let gate = hold_lab(&lab);
    let mut a = lab.spawn(&["-v", "--lock", lock, "reconcile", "-f", &doc]);
    a.wait_for(&format!("took {lock_name}"));
    let mut c = lab.spawn(&["-v", "--lock", lock, "--lock-timeout", "2m", "reconcile", "-f", &doc]);
    c.wait_for(&format!("it is held by edgefed (pid {}", a.pid()));
    let killed = Instant::now();
    a.kill();
    let took = c.wait_for(&format!("took {lock_name}"));
    drop(gate);
    let (code, _, c_err) = c.finish();
    assert_eq!(code, 0, "{c_err}");
    assert_eq!(lab.log_len(), 17, "C applied the failback");
    took - killed
}

#[test]
fn a_killed_holder_loses_the_etcd_lock_within_its_ttl() {
    let Some(etcd) = etcd() else { return };
    let url = etcd.lock_url("edgefed/prod", "ttl=3s");
    let name = format!("the etcd lock etcd://127.0.0.1:{}/edgefed/prod", etcd.port);
    let waited = killed_holder(&url, &name);
    // The lease had at most its TTL left; etcd sweeps expired leases every
    // half second, and the waiter polls every quarter second.
    assert!(
        waited <= Duration::from_secs(3) + Duration::from_secs(2),
        "waited {waited:?} after the kill"
    );
    eprintln!("the waiter took the etcd lock {waited:?} after the holder was killed (TTL 3 s)");
}

#[test]
fn a_killed_holder_releases_its_lock_file() {
    let shared = tempfile::tempdir().expect("temp dir");
    let path = shared.path().join("prod.lock");
    let spec = format!("file:{}", path.display());
    let waited = killed_holder(&spec, &format!("the lock file {}", path.display()));
    eprintln!("the waiter took the lock file {waited:?} after the holder was killed");
}

#[test]
fn read_only_commands_do_not_wait_for_a_running_reconcile() {
    let lab = Lab::new();
    let shared = tempfile::tempdir().expect("temp dir");
    let path = shared.path().join("prod.lock");
    let spec = path.to_str().expect("utf-8");
    let doc = doc();
    let held = edgefed::lock::FileLock::acquire(&path, "the lock file", Duration::ZERO, &mut |_| {}).expect("free");
    // `plan`, `reconcile --check` and `observe` take no lock: with a zero
    // timeout they would fail at once if they did.
    for args in [
        vec!["--lock", spec, "--lock-timeout", "0", "plan", "-f", &doc],
        vec![
            "--lock",
            spec,
            "--lock-timeout",
            "0",
            "reconcile",
            "--check",
            "-f",
            &doc,
        ],
        vec!["--lock", spec, "--lock-timeout", "0", "observe"],
    ] {
        let out = lab.run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("locked by"), "{args:?}: {err}");
        assert_ne!(out.status.code(), Some(64), "{args:?}: {err}");
    }
    let out = lab.run(&["--lock", spec, "--lock-timeout", "0", "reconcile", "-f", &doc]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "the lock file {spec} is locked by edgefed (pid {} on ",
            std::process::id()
        )),
        "{err}"
    );
    assert_eq!(lab.log_len(), 0);
    drop(held);
}

/// A run whose etcd lease is lost mid-apply (here revoked, as etcd does
/// when the holder could not renew it for a whole TTL) starts nothing more:
/// another run may hold the lock now. The actions in flight end, the rest
/// are not attempted, and the run exits 1 saying why.
#[test]
fn a_run_that_loses_its_lease_starts_nothing_more_and_exits_1() {
    let Some(etcd) = etcd() else { return };
    let lab = Lab::new();
    let mut file = edgefed::backend::lab::LabFile::read(&lab.path()).expect("lab");
    // The plan's first two actions (start-services) take 6 s each.
    file.faults
        .push(edgefed::backend::lab::Fault::slowing("start-services", 6000).times(2));
    file.write(&lab.path()).expect("write lab");
    let url = etcd.lock_url("edgefed/lost", "ttl=3s");
    let mut run = lab.spawn(&["--lock", &url, "reconcile", "-f", &doc()]);
    run.wait_for("start-services edgeserver1a.contoso.com");
    let c = client(&etcd);
    rt().block_on(async {
        let held = c
            .get(b"edgefed/lost")
            .await
            .expect("get")
            .expect("the run holds the key");
        c.revoke(held.lease.expect("under a lease")).await.expect("revoke");
    });
    let (code, out, err) = run.finish();
    let both = format!("{out}\n{err}");
    assert_eq!(code, 1, "{both}");
    assert!(err.contains("was lost while this run held it"), "{err}");
    assert!(both.contains("the loss of the etcd lock's lease"), "{both}");
    assert!(
        lab.log_len() <= 2,
        "only the actions in flight when the lease was lost were applied: {both}"
    );
}
