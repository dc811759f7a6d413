//! Leader election for several watchers of one deployment: each candidate
//! holds a lease and campaigns for one key; whoever created the key leads
//! until its lease ends, and the key's create revision is its fencing
//! token (a later leader's is always larger). The others follow (observe
//! only) and campaign again every poll, so one of them takes over within
//! the lease's TTL once the leader is killed, and at once when it resigns.
//!
//! The state machine ([`campaign`]) runs on a runtime of its own and talks
//! to the store through [`Ballot`] (etcd in production, a fake in the unit
//! tests); [`Elected`] is the [`Leadership`] the controller asks.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Notify, watch};

use super::leadership::{Leadership, Status};

/// A lease a candidate holds while it campaigns or leads.
pub struct Lease {
    /// The lease's id in the store.
    pub id: i64,
    /// Turns `Some(why)` when the lease is lost (expired, revoked, or not
    /// renewable for its whole TTL).
    pub lost: watch::Receiver<Option<String>>,
    /// What keeps the lease alive (dropped with the lease).
    pub renewal: Option<Box<dyn Send + Sync>>,
}

/// One leader's term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Term {
    /// The fencing token: the election key's create revision.
    pub token: u64,
    /// The lease the key lives under.
    pub lease: i64,
}

/// What a campaign found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Vote {
    /// This candidate leads.
    Won(Term),
    /// Someone else leads: who, as they described themselves.
    Lost(String),
}

/// What an election needs from its store. Errors are messages for people:
/// the election only reports them and tries again.
#[async_trait]
pub trait Ballot: Send + Sync + 'static {
    /// Takes a new lease and starts keeping it alive.
    async fn lease(&self) -> Result<Lease, String>;
    /// Creates the election key under `lease` if nobody leads.
    async fn campaign(&self, lease: &Lease) -> Result<Vote, String>;
    /// Whether `term` still holds: the key exists, created at its token, under its lease.
    async fn still_leads(&self, term: Term) -> Result<bool, String>;
    /// Gives the lease up (and with it the key, when `term` is this candidate's).
    async fn resign(&self, lease: Lease, term: Option<Term>);
    /// The election, for messages (`etcd://127.0.0.1:2379/edgefed/prod`).
    fn describe(&self) -> String;
}

/// How often a follower campaigns again and a leader checks its key.
#[must_use]
pub fn poll_for(ttl: Duration) -> Duration {
    (ttl / 8).clamp(Duration::from_millis(100), Duration::from_secs(1))
}

/// The shared view of the election: what the campaign publishes and the
/// controller reads.
struct Shared {
    status: watch::Sender<Status>,
    /// The current term, while leading.
    term: std::sync::Mutex<Option<Term>>,
    /// Wakes the campaign to check its term now (a check failed elsewhere).
    recheck: Notify,
}

impl Shared {
    fn publish(&self, status: Status) {
        self.status.send_if_modified(|now| {
            if *now == status {
                false
            } else {
                *now = status;
                true
            }
        });
    }

    fn lead(&self, term: Term) {
        *self.term.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(term);
        self.publish(Status {
            leader: true,
            token: Some(term.token),
            lease_live: true,
            why: "elected".into(),
        });
    }

    fn term(&self) -> Option<Term> {
        *self.term.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn follower(&self, lease_live: bool, why: String) {
        *self.term.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        self.publish(Status {
            leader: false,
            token: None,
            lease_live,
            why,
        });
    }
}

/// The campaign: lease, campaign, lead or follow, until `stop` turns true.
async fn campaign<B: Ballot>(ballot: Arc<B>, shared: Arc<Shared>, mut stop: watch::Receiver<bool>, poll: Duration) {
    'lease: loop {
        if *stop.borrow() {
            return;
        }
        let mut lease = match ballot.lease().await {
            Ok(lease) => lease,
            Err(e) => {
                shared.follower(false, format!("cannot take a lease: {e}"));
                if pause(&mut stop, poll).await {
                    return;
                }
                continue 'lease;
            }
        };
        loop {
            let lost = lease.lost.borrow().clone();
            if let Some(why) = lost {
                shared.follower(false, format!("lease lost: {why}"));
                ballot.resign(lease, None).await;
                continue 'lease;
            }
            if *stop.borrow() {
                shared.follower(false, "resigned".into());
                ballot.resign(lease, None).await;
                return;
            }
            match ballot.campaign(&lease).await {
                Err(e) => shared.follower(true, format!("cannot campaign: {e}")),
                Ok(Vote::Lost(holder)) => shared.follower(true, format!("{holder} leads")),
                Ok(Vote::Won(term)) => {
                    shared.lead(term);
                    let ended = lead(ballot.as_ref(), &shared, &mut lease, term, &mut stop, poll).await;
                    match ended {
                        Ended::Stopped => {
                            shared.follower(false, "resigned".into());
                            ballot.resign(lease, Some(term)).await;
                            return;
                        }
                        Ended::Lost(why) => {
                            shared.follower(false, why);
                            ballot.resign(lease, Some(term)).await;
                            continue 'lease;
                        }
                    }
                }
            }
            if wait(&mut stop, &mut lease, poll).await {
                shared.follower(false, "resigned".into());
                ballot.resign(lease, None).await;
                return;
            }
        }
    }
}

/// How a term ended.
enum Ended {
    /// Stop was asked: resign.
    Stopped,
    /// The lease or the key is gone (or cannot be confirmed): why.
    Lost(String),
}

/// Leads until the lease is lost, the key is no longer this term's, or stop.
async fn lead<B: Ballot>(
    ballot: &B,
    shared: &Shared,
    lease: &mut Lease,
    term: Term,
    stop: &mut watch::Receiver<bool>,
    poll: Duration,
) -> Ended {
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return Ended::Stopped,
            why = lease.lost.wait_for(Option::is_some) => {
                let why = why.ok().and_then(|w| w.clone()).unwrap_or_else(|| "the lease's renewal stopped".into());
                return Ended::Lost(format!("lease lost: {why}"));
            }
            () = tokio::time::sleep(poll) => {}
            () = shared.recheck.notified() => {}
        }
        match ballot.still_leads(term).await {
            // Confirmed (again, if a failed check elsewhere said otherwise).
            Ok(true) => shared.lead(term),
            Ok(false) => return Ended::Lost(format!("deposed: the election key is no longer term {}'s", term.token)),
            // Leading without being able to confirm it is not leading: a
            // store out of reach for long enough also loses the lease.
            Err(e) => return Ended::Lost(format!("cannot confirm the lease: {e}")),
        }
    }
}

/// Sleeps `poll`; `true` when stop was asked meanwhile.
async fn pause(stop: &mut watch::Receiver<bool>, poll: Duration) -> bool {
    tokio::select! {
        _ = stop.wait_for(|s| *s) => true,
        () = tokio::time::sleep(poll) => false,
    }
}

/// A follower's wait before campaigning again: the poll, or sooner when the
/// lease is lost; `true` when stop was asked.
async fn wait(stop: &mut watch::Receiver<bool>, lease: &mut Lease, poll: Duration) -> bool {
    tokio::select! {
        _ = stop.wait_for(|s| *s) => true,
        _ = lease.lost.wait_for(Option::is_some) => false,
        () = tokio::time::sleep(poll) => false,
    }
}

/// An election this watcher takes part in: the [`Leadership`] the
/// controller asks. Dropping it resigns (deletes the key if it leads,
/// revokes the lease) and waits for that, bounded by the call timeout.
pub struct Elected<B: Ballot> {
    ballot: Arc<B>,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    rt: Option<tokio::runtime::Runtime>,
    task: Option<tokio::task::JoinHandle<()>>,
    call_timeout: Duration,
}

impl<B: Ballot> Elected<B> {
    /// Starts campaigning on a runtime of its own and waits (up to
    /// `call_timeout`) for the first outcome, so that a winner leads from
    /// its first reconcile.
    ///
    /// # Errors
    /// When the runtime cannot start.
    pub fn start(ballot: B, poll: Duration, call_timeout: Duration) -> std::io::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("edgefed-election")
            .enable_all()
            .build()?;
        let ballot = Arc::new(ballot);
        let (status, mut first) = watch::channel(Status {
            leader: false,
            token: None,
            lease_live: false,
            why: "campaigning".into(),
        });
        let shared = Arc::new(Shared {
            status,
            term: std::sync::Mutex::new(None),
            recheck: Notify::new(),
        });
        let (stop, stop_rx) = watch::channel(false);
        let task = rt.spawn(campaign(Arc::clone(&ballot), Arc::clone(&shared), stop_rx, poll));
        rt.block_on(async {
            let _ = tokio::time::timeout(call_timeout, first.changed()).await;
        });
        Ok(Self {
            ballot,
            shared,
            stop,
            rt: Some(rt),
            task: Some(task),
            call_timeout,
        })
    }

    fn status(&self) -> Status {
        self.shared.status.borrow().clone()
    }
}

impl<B: Ballot> Leadership for Elected<B> {
    fn is_leader(&self) -> bool {
        self.shared.status.borrow().leader
    }

    /// Asks the store, bounded by the call timeout; callable from any
    /// thread, inside another runtime too (the call runs on the election's).
    fn still_leads(&self) -> bool {
        let status = self.status();
        let (Some(term), Some(rt)) = (self.shared.term(), self.rt.as_ref()) else {
            return false;
        };
        let token = term.token;
        let (tx, rx) = std::sync::mpsc::channel();
        let ballot = Arc::clone(&self.ballot);
        rt.spawn(async move {
            let _ = tx.send(ballot.still_leads(term).await);
        });
        let answer = rx
            .recv_timeout(self.call_timeout + Duration::from_secs(1))
            .unwrap_or_else(|_| Err("no answer in time".into()));
        let leads = matches!(answer, Ok(true)) && self.status().token == Some(token);
        if !leads {
            tracing::warn!(
                "no longer sure to lead {} (term {token}): {}",
                self.ballot.describe(),
                answer.err().unwrap_or_else(|| "the key is gone".into())
            );
            self.shared.follower(
                status.lease_live,
                format!("deposed: term {token} no longer holds (checked before an action)"),
            );
            self.shared.recheck.notify_one();
        }
        leads
    }

    fn fencing_token(&self) -> Option<u64> {
        let status = self.status();
        status.token.filter(|_| status.leader)
    }

    fn describe(&self) -> String {
        format!("elected through {}", self.ballot.describe())
    }

    fn subscribe(&self) -> Option<watch::Receiver<Status>> {
        Some(self.shared.status.subscribe())
    }

    fn resign(&self) {
        let _ = self.stop.send(true);
    }
}

impl<B: Ballot> Drop for Elected<B> {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        let (Some(rt), Some(task)) = (self.rt.take(), self.task.take()) else {
            return;
        };
        let bound = self.call_timeout * 2 + Duration::from_secs(1);
        // On a thread of its own: a runtime cannot be dropped inside another's worker.
        let done = std::thread::spawn(move || {
            let _ = rt.block_on(async { tokio::time::timeout(bound, task).await });
            rt.shutdown_background();
        });
        let _ = done.join();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::Instant;

    use super::*;

    /// The store as the fake keeps it.
    #[derive(Default)]
    struct Store {
        revision: u64,
        /// The election key: (create revision, lease, who).
        key: Option<(u64, i64, String)>,
        leases: HashMap<i64, watch::Sender<Option<String>>>,
        next_lease: i64,
        down: bool,
        /// Candidates cut off from the store (as good as killed).
        cut_off: Vec<&'static str>,
    }

    impl Store {
        /// The lease ends (expiry or revocation): its key goes with it.
        fn end(&mut self, lease: i64, why: &str) {
            if let Some(tx) = self.leases.remove(&lease) {
                let _ = tx.send(Some(why.into()));
            }
            if self.key.as_ref().is_some_and(|k| k.1 == lease) {
                self.key = None;
                self.revision += 1;
            }
        }
    }

    /// An in-memory store with etcd's rules: create-if-absent, keys under
    /// leases, revisions that only grow.
    struct Fake {
        store: Arc<Mutex<Store>>,
        who: &'static str,
    }

    impl Fake {
        fn store(&self) -> std::sync::MutexGuard<'_, Store> {
            self.store.lock().expect("store")
        }
    }

    #[async_trait]
    impl Ballot for Fake {
        async fn lease(&self) -> Result<Lease, String> {
            let mut s = self.store();
            if s.down || s.cut_off.contains(&self.who) {
                return Err("the store is down".into());
            }
            s.next_lease += 1;
            let id = s.next_lease;
            let (tx, lost) = watch::channel(None);
            s.leases.insert(id, tx);
            Ok(Lease {
                id,
                lost,
                renewal: None,
            })
        }

        async fn campaign(&self, lease: &Lease) -> Result<Vote, String> {
            let mut s = self.store();
            if s.down || s.cut_off.contains(&self.who) {
                return Err("the store is down".into());
            }
            if !s.leases.contains_key(&lease.id) {
                return Err("lease not found".into());
            }
            match s.key.clone() {
                None => {
                    s.revision += 1;
                    let token = s.revision;
                    s.key = Some((token, lease.id, self.who.into()));
                    Ok(Vote::Won(Term { token, lease: lease.id }))
                }
                Some((token, l, _)) if l == lease.id => Ok(Vote::Won(Term { token, lease: l })),
                Some((_, _, who)) => Ok(Vote::Lost(who)),
            }
        }

        async fn still_leads(&self, term: Term) -> Result<bool, String> {
            let s = self.store();
            if s.down || s.cut_off.contains(&self.who) {
                return Err("the store is down".into());
            }
            Ok(s.key.as_ref().is_some_and(|k| k.0 == term.token && k.1 == term.lease))
        }

        async fn resign(&self, lease: Lease, _term: Option<Term>) {
            self.store().end(lease.id, "revoked");
        }

        fn describe(&self) -> String {
            "the fake store".into()
        }
    }

    const POLL: Duration = Duration::from_millis(10);

    fn candidate(store: &Arc<Mutex<Store>>, who: &'static str) -> Elected<Fake> {
        let fake = Fake {
            store: Arc::clone(store),
            who,
        };
        Elected::start(fake, POLL, Duration::from_secs(1)).expect("runtime")
    }

    /// Polls `f` until it holds (bounded: a hang fails the test, no timing is asserted).
    fn until(what: &str, f: impl Fn() -> bool) {
        let start = Instant::now();
        while !f() {
            assert!(start.elapsed() < Duration::from_secs(20), "never: {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn status(e: &Elected<Fake>) -> Status {
        e.subscribe().expect("an election has a status").borrow().clone()
    }

    fn key_lease(store: &Arc<Mutex<Store>>) -> Option<i64> {
        store.lock().expect("store").key.as_ref().map(|k| k.1)
    }

    #[test]
    fn one_leads_the_other_follows_and_takes_over_when_the_lease_expires() {
        let store = Arc::new(Mutex::new(Store::default()));
        let a = candidate(&store, "a");
        let b = candidate(&store, "b");
        until("one leader", || a.is_leader() != b.is_leader());
        let (leader, follower, follower_name) = if a.is_leader() { (&a, &b, "b") } else { (&b, &a, "a") };
        let first = leader.fencing_token().expect("a leader has a token");
        assert!(leader.still_leads());
        assert_eq!(follower.fencing_token(), None);
        assert!(!follower.still_leads());
        let seen = status(follower);
        assert!(
            !seen.leader && seen.lease_live && seen.why.ends_with(" leads"),
            "{seen:?}"
        );
        assert!(!seen.why.starts_with(follower_name), "{seen:?}");

        // The leader is cut off from the store (as if killed): its lease expires.
        let lease = key_lease(&store).expect("the key is held");
        let leader_name = if follower_name == "a" { "b" } else { "a" };
        {
            let mut s = store.lock().expect("store");
            s.cut_off.push(leader_name);
            s.end(lease, "expired");
        }
        until("the follower takes over", || follower.is_leader());
        let second = follower.fencing_token().expect("token");
        assert!(second > first, "tokens grow: {first} then {second}");
        until("the old leader follows", || !leader.is_leader());
        assert!(!leader.still_leads());
        store.lock().expect("store").cut_off.clear();
        until("the old leader campaigns again with a new lease", || {
            let s = status(leader);
            s.lease_live && s.why.ends_with(" leads")
        });
        assert_eq!(leader.fencing_token(), None);
    }

    #[test]
    fn a_deposed_leader_fails_its_check_before_applying_and_follows() {
        let store = Arc::new(Mutex::new(Store::default()));
        let a = candidate(&store, "a");
        until("a leads", || a.is_leader());
        {
            // Someone else's key replaced a's (say, an operator deleted it and
            // another candidate was elected at once).
            let mut s = store.lock().expect("store");
            s.revision += 2;
            let token = s.revision;
            s.leases.insert(999, watch::channel(None).0);
            s.key = Some((token, 999, "intruder".into()));
        }
        assert!(!a.still_leads(), "the check asks the store");
        assert!(!a.is_leader(), "a failed check makes a follower at once");
        assert_eq!(a.fencing_token(), None);
        until("a follows the intruder", || status(&a).why == "intruder leads");
    }

    #[test]
    fn resigning_hands_over_at_once() {
        let store = Arc::new(Mutex::new(Store::default()));
        let a = candidate(&store, "a");
        until("a leads", || a.is_leader());
        let b = candidate(&store, "b");
        until("b follows", || status(&b).why == "a leads");
        let token = a.fencing_token().expect("token");
        a.resign();
        until("b takes over", || b.is_leader());
        assert!(!a.is_leader());
        assert_eq!(status(&a).why, "resigned");
        assert!(b.fencing_token().is_some_and(|t| t > token));
        drop(b);
        assert_eq!(key_lease(&store), None, "dropping the leader deletes its key");
        assert!(
            store.lock().expect("store").leases.is_empty(),
            "and revokes every lease"
        );
    }

    #[test]
    fn without_the_store_nobody_leads_until_it_is_back() {
        let store = Arc::new(Mutex::new(Store {
            down: true,
            ..Store::default()
        }));
        let a = candidate(&store, "a");
        until("a says why it does not lead", || {
            let s = status(&a);
            s.why.starts_with("cannot take a lease: the store is down") && !s.lease_live
        });
        assert!(!a.is_leader());
        assert!(!a.still_leads());
        store.lock().expect("store").down = false;
        until("a leads", || a.is_leader());
        // The store goes away again: a leader that cannot confirm its lease steps down.
        store.lock().expect("store").down = true;
        until("a steps down", || !a.is_leader());
        let why = status(&a).why;
        assert!(
            why.starts_with("cannot confirm the lease") || why.starts_with("cannot take a lease"),
            "{why}"
        );
    }
}
