//! Leader election: whoever creates the key under its lease leads until
//! the lease ends; the key's create revision is the leader's fencing token.
//!
//! ```text
//! let lease = client.grant(Duration::from_secs(15)).await?;
//! let _renew = KeepAlive::start(client.clone(), lease);
//! match client.campaign(b"edgefed/watch/leader", b"runner-7", lease.id).await? {
//!     Campaign::Won(me) => { /* lead; before each write: */ client.still_leads(&me).await?; }
//!     Campaign::Lost(leader) => { /* follow; campaign again later */ }
//! }
//! ```

use super::{Client, Created, EtcdError, KeyValue, LeaseId};

/// This candidate leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leadership {
    /// The election key.
    pub key: Vec<u8>,
    /// The lease the key lives under.
    pub lease: LeaseId,
    /// The key's create revision: the fencing token. A later leader's is
    /// always larger, so a store that remembers the largest token it has
    /// seen can refuse a write from a deposed leader.
    pub revision: i64,
}

/// The outcome of a campaign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Campaign {
    /// Elected.
    Won(Leadership),
    /// Someone else leads: their key, value (who they are) and revision.
    Lost(KeyValue),
}

impl Client {
    /// Runs for leader under `key`: creates it with `value` (who this
    /// candidate is) under `lease` if nobody leads. Does not wait: a loser
    /// campaigns again later (or when the leader's key disappears).
    ///
    /// # Errors
    /// When etcd cannot be reached, or the lease is unknown.
    pub async fn campaign(&self, key: &[u8], value: &[u8], lease: LeaseId) -> Result<Campaign, EtcdError> {
        Ok(match self.create_if_absent(key, value, lease).await? {
            Created::Created { revision } => Campaign::Won(Leadership {
                key: key.to_vec(),
                lease,
                revision,
            }),
            Created::Exists(leader) if leader.lease == Some(lease) => Campaign::Won(Leadership {
                key: key.to_vec(),
                lease,
                revision: leader.create_revision,
            }),
            Created::Exists(leader) => Campaign::Lost(leader),
        })
    }

    /// Whether `leadership` still holds: the key exists with the same create
    /// revision and lease. `false` once the lease expired or the key was
    /// deleted, even if someone else has been elected since.
    ///
    /// # Errors
    /// When etcd cannot be reached (the caller cannot know; it must not act
    /// as leader).
    pub async fn still_leads(&self, leadership: &Leadership) -> Result<bool, EtcdError> {
        Ok(self
            .get(&leadership.key)
            .await?
            .is_some_and(|kv| kv.create_revision == leadership.revision && kv.lease == Some(leadership.lease)))
    }

    /// Steps down: deletes the election key if it is still this leader's.
    ///
    /// # Errors
    /// When etcd cannot be reached.
    pub async fn resign(&self, leadership: &Leadership) -> Result<bool, EtcdError> {
        self.delete_if_created_at(&leadership.key, leadership.revision).await
    }
}
