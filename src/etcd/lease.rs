//! Leases: grant, renew, revoke, and [`KeepAlive`], the task that keeps one
//! alive and says when it is lost.

use std::fmt;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::watch;

use super::client::int;
use super::{Client, EtcdError};

/// A lease's id, as etcd numbers it (printed in hex, as `etcdctl` does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LeaseId(pub i64);

impl fmt::Display for LeaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}", self.0)
    }
}

/// A granted lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    /// Its id.
    pub id: LeaseId,
    /// The TTL etcd granted (it may raise a very short one to its minimum).
    pub ttl: Duration,
}

impl Client {
    /// Grants a lease of `ttl` (whole seconds, at least 1).
    ///
    /// # Errors
    /// When etcd cannot be reached or refuses.
    pub async fn grant(&self, ttl: Duration) -> Result<Lease, EtcdError> {
        const CALL: &str = "/v3/lease/grant";
        let secs = ttl.as_secs().max(1);
        let answer = self.call(CALL, &json!({ "TTL": secs.to_string(), "ID": "0" })).await?;
        let id = int(answer.get("ID")).map_err(|e| self.malformed(CALL, e))?;
        let granted = int(answer.get("TTL")).map_err(|e| self.malformed(CALL, e))?;
        if id == 0 || granted <= 0 {
            return Err(self.malformed(CALL, format!("no lease in {answer}")));
        }
        Ok(Lease {
            id: LeaseId(id),
            ttl: Duration::from_secs(granted.unsigned_abs()),
        })
    }

    /// Renews `lease` once; returns the TTL it has again.
    ///
    /// # Errors
    /// [`EtcdError::LeaseLost`] when the lease has expired or was revoked;
    /// others when etcd cannot be reached.
    pub async fn keep_alive_once(&self, lease: LeaseId) -> Result<Duration, EtcdError> {
        const CALL: &str = "/v3/lease/keepalive";
        let answer = self.call(CALL, &json!({ "ID": lease.0.to_string() })).await?;
        let ttl = int(answer.get("TTL")).map_err(|e| self.malformed(CALL, e))?;
        if ttl <= 0 {
            return Err(EtcdError::LeaseLost {
                endpoint: self.base().to_owned(),
                lease: lease.0,
            });
        }
        Ok(Duration::from_secs(ttl.unsigned_abs()))
    }

    /// Revokes `lease`: every key written under it is deleted at once. A
    /// lease that is already gone counts as revoked.
    ///
    /// # Errors
    /// When etcd cannot be reached (the lease then expires on its own within
    /// its TTL).
    pub async fn revoke(&self, lease: LeaseId) -> Result<(), EtcdError> {
        match self
            .call("/v3/lease/revoke", &json!({ "ID": lease.0.to_string() }))
            .await
        {
            Ok(_) => Ok(()),
            Err(EtcdError::Refused { message, .. }) if message.contains("lease not found") => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// How soon a failed renewal is tried again.
const RETRY: Duration = Duration::from_millis(500);

/// A tokio task renewing a lease every TTL/3. When the lease cannot be
/// renewed (etcd says it is gone, or etcd has not answered for a whole
/// TTL, after which it has surely expired) the task stops and
/// [`KeepAlive::lost`] says why. Dropping it stops the renewals (the lease
/// then expires within its TTL unless revoked).
#[derive(Debug)]
pub struct KeepAlive {
    lost: watch::Receiver<Option<String>>,
    task: tokio::task::JoinHandle<()>,
}

impl KeepAlive {
    /// Starts renewing `lease` on the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime (as `tokio::spawn`).
    #[must_use]
    pub fn start(client: Client, lease: Lease) -> Self {
        let (tx, lost) = watch::channel(None);
        let period = (lease.ttl / 3).max(Duration::from_millis(200));
        let task = tokio::spawn(async move {
            let mut last_renewed = Instant::now();
            let mut ttl = lease.ttl;
            let mut wait = period;
            loop {
                tokio::time::sleep(wait).await;
                wait = period;
                // A renewal that hangs must not outlive the lease: bound it
                // by the period, and retry a failed one soon.
                let renewed = tokio::time::timeout(period, client.keep_alive_once(lease.id))
                    .await
                    .unwrap_or_else(|_| {
                        Err(EtcdError::NoAnswer {
                            endpoint: client.endpoint().to_string(),
                            call: "/v3/lease/keepalive",
                            after: period,
                        })
                    });
                match renewed {
                    Ok(granted) => {
                        last_renewed = Instant::now();
                        ttl = granted;
                    }
                    Err(e @ EtcdError::LeaseLost { .. }) => {
                        let _ = tx.send(Some(e.to_string()));
                        return;
                    }
                    Err(e) if last_renewed.elapsed() >= ttl => {
                        let _ = tx.send(Some(format!(
                            "the etcd lease {} could not be renewed for its whole TTL ({}s): {e}",
                            lease.id,
                            ttl.as_secs()
                        )));
                        return;
                    }
                    Err(e) => {
                        tracing::warn!("renewing the etcd lease {} failed, retrying: {e}", lease.id);
                        wait = RETRY.min(period);
                    }
                }
            }
        });
        Self { lost, task }
    }

    /// Why the lease was lost, once it is.
    #[must_use]
    pub fn lost(&self) -> Option<String> {
        self.lost.borrow().clone()
    }

    /// A receiver that changes to `Some(why)` when the lease is lost (for a
    /// task that must react, such as a leader stepping down).
    #[must_use]
    pub fn subscribe(&self) -> watch::Receiver<Option<String>> {
        self.lost.clone()
    }

    /// Waits until the lease is lost and says why.
    pub async fn wait_lost(&mut self) -> String {
        loop {
            if let Some(why) = self.lost.borrow_and_update().clone() {
                return why;
            }
            if self.lost.changed().await.is_err() {
                return self
                    .lost
                    .borrow()
                    .clone()
                    .unwrap_or_else(|| "the keep-alive task stopped".into());
            }
        }
    }
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.task.abort();
    }
}
