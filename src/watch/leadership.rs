//! Leadership: only the leader applies. Several watchers of one deployment
//! elect one leader; the others observe and report (monitor), whatever
//! their `--mode`. The controller asks before each reconcile whether it
//! leads, and again right before it applies (a lease can be lost while
//! observing); the fencing token goes with every apply so that a stale
//! leader's late writes can be told apart.

/// Where an election stands for this watcher, as the controller shows it
/// (events, metrics).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// Whether this watcher leads.
    pub leader: bool,
    /// The fencing token of its term, while it leads.
    pub token: Option<u64>,
    /// Whether it holds a live lease (it campaigns or leads); `false` when
    /// the lease was lost or cannot be taken.
    pub lease_live: bool,
    /// Why it stands there: `elected`, `… leads`, `lease lost: …`, `resigned`.
    pub why: String,
}

/// What the controller needs from an election.
pub trait Leadership: Send + Sync {
    /// Whether this watcher leads now (it may plan to apply).
    fn is_leader(&self) -> bool;
    /// Checked right before an apply: whether the lease is still held.
    fn still_leads(&self) -> bool;
    /// The fencing token of the current term, when the election has one.
    fn fencing_token(&self) -> Option<u64>;
    /// A short description for the start message, e.g. `always (no election)`.
    fn describe(&self) -> String;
    /// Changes of the election's status as they happen (`None`: it never changes).
    fn subscribe(&self) -> Option<tokio::sync::watch::Receiver<Status>> {
        None
    }
    /// Steps down at once and stops campaigning (the watcher is stopping).
    fn resign(&self) {}
}

/// No election: one watcher, always the leader.
#[derive(Debug, Default, Clone, Copy)]
pub struct AlwaysLeader;

impl Leadership for AlwaysLeader {
    fn is_leader(&self) -> bool {
        true
    }

    fn still_leads(&self) -> bool {
        true
    }

    fn fencing_token(&self) -> Option<u64> {
        None
    }

    fn describe(&self) -> String {
        "always the leader (no election)".into()
    }
}
