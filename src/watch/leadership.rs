//! Leadership: only the leader applies. Several watchers of one deployment
//! elect one leader; the others observe and report (monitor), whatever
//! their `--mode`. The controller asks before each reconcile whether it
//! leads, and again right before it applies (a lease can be lost while
//! observing); the fencing token goes with every apply so that a stale
//! leader's late writes can be told apart.

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
