//! [`EtcdBallot`]: the election's [`Ballot`] on etcd
//! (`--leader-election etcd://HOST:PORT/KEY[?ttl=…]`): a lease kept alive
//! every TTL/3, the key created only if absent under it with the
//! candidate's note (host, pid, user) as its value, the key's create
//! revision as the fencing token.

use std::time::Duration;

use async_trait::async_trait;

use super::election::{Ballot, Lease, Term, Vote};
use crate::etcd::{Campaign, Client, EtcdError, KeepAlive, Leadership, LeaseId};
use crate::lock::{EtcdSpec, Holder};

/// One candidate in an etcd election.
pub struct EtcdBallot {
    client: Client,
    spec: EtcdSpec,
    note: String,
}

impl EtcdBallot {
    /// A candidate for `spec`'s key; each call to etcd is bounded by `call_timeout`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(spec: EtcdSpec, call_timeout: Duration) -> Result<Self, EtcdError> {
        Ok(Self {
            client: Client::new(spec.endpoint.clone(), call_timeout)?,
            note: Holder::me().to_json(),
            spec,
        })
    }

    /// The TTL of each lease.
    #[must_use]
    pub fn ttl(&self) -> Duration {
        self.spec.ttl
    }

    fn leadership(&self, term: Term) -> Leadership {
        Leadership {
            key: self.spec.key.as_bytes().to_vec(),
            lease: LeaseId(term.lease),
            revision: i64::try_from(term.token).unwrap_or(i64::MAX),
        }
    }
}

#[async_trait]
impl Ballot for EtcdBallot {
    async fn lease(&self) -> Result<Lease, String> {
        let lease = self.client.grant(self.spec.ttl).await.map_err(|e| e.to_string())?;
        let keep_alive = KeepAlive::start(self.client.clone(), lease);
        Ok(Lease {
            id: lease.id.0,
            lost: keep_alive.subscribe(),
            renewal: Some(Box::new(keep_alive)),
        })
    }

    async fn campaign(&self, lease: &Lease) -> Result<Vote, String> {
        let key = self.spec.key.as_bytes();
        match self.client.campaign(key, self.note.as_bytes(), LeaseId(lease.id)).await {
            Ok(Campaign::Won(me)) => Ok(Vote::Won(Term {
                token: u64::try_from(me.revision).map_err(|_| format!("a negative revision {}", me.revision))?,
                lease: lease.id,
            })),
            Ok(Campaign::Lost(leader)) => Ok(Vote::Lost(Holder::describe(&leader.value))),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn still_leads(&self, term: Term) -> Result<bool, String> {
        self.client
            .still_leads(&self.leadership(term))
            .await
            .map_err(|e| e.to_string())
    }

    async fn resign(&self, lease: Lease, term: Option<Term>) {
        if let Some(term) = term
            && let Err(e) = self.client.resign(&self.leadership(term)).await
        {
            tracing::warn!("cannot delete the election key {}: {e}", self.spec);
        }
        drop(lease.renewal);
        if let Err(e) = self.client.revoke(LeaseId(lease.id)).await {
            tracing::warn!(
                "cannot revoke the lease {:x} of {} ({e}); it expires within {}s",
                lease.id,
                self.spec,
                self.spec.ttl.as_secs()
            );
        }
    }

    fn describe(&self) -> String {
        format!("{} (lease TTL {}s)", self.spec, self.spec.ttl.as_secs())
    }
}
