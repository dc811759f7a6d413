//! [`EtcdLock`]: a key under an etcd lease, for runners on several
//! machines. The key is created only if absent (see
//! [`crate::etcd::Client::create_if_absent`]) with the holder's note as its
//! value; a keep-alive renews the lease every TTL/3; releasing revokes the
//! lease, which deletes the key. A holder that is killed stops renewing, so
//! its key disappears within the TTL and the next waiter takes it.
//!
//! The lock has its own small tokio runtime, so the keep-alive runs whatever
//! the command does meanwhile, and the lock can be taken and dropped from
//! synchronous code.

use std::time::{Duration, Instant};

use super::{EtcdSpec, Holder, LockError, Progress, Waiting};
use crate::etcd::{Campaign, Client, EtcdError, KeepAlive, Lease};

/// How often a waiter tries the key again.
const POLL: Duration = Duration::from_millis(250);

/// A held etcd lock; the lease is revoked when dropped.
#[derive(Debug)]
pub struct EtcdLock {
    held: Option<Held>,
}

#[derive(Debug)]
struct Held {
    rt: tokio::runtime::Runtime,
    client: Client,
    lease: Lease,
    revision: i64,
    keep_alive: KeepAlive,
    name: String,
}

impl EtcdLock {
    /// Takes the lock `spec` names, waiting up to `timeout`; each call to
    /// etcd is bounded by `call_timeout`.
    ///
    /// # Errors
    /// [`LockError::Held`] naming the holder when the wait times out;
    /// [`LockError::Etcd`] when etcd cannot be reached or refuses.
    pub fn acquire(
        spec: &EtcdSpec,
        timeout: Duration,
        call_timeout: Duration,
        report: &mut dyn FnMut(&Progress),
    ) -> Result<Self, LockError> {
        let name = format!("the etcd lock {spec}");
        let etcd = |source: EtcdError| LockError::Etcd {
            lock: name.clone(),
            source,
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("edgefed-lock")
            .enable_all()
            .build()
            .map_err(|source| LockError::Runtime { source })?;
        let client = Client::new(spec.endpoint.clone(), call_timeout).map_err(etcd)?;
        let key = spec.key.as_bytes();
        let note = Holder::me().to_json();
        let lease = rt.block_on(client.grant(spec.ttl)).map_err(etcd)?;
        let keep_alive = rt.block_on(async { KeepAlive::start(client.clone(), lease) });
        let start = Instant::now();
        let mut waiting = Waiting::new(timeout);
        let outcome = rt.block_on(async {
            loop {
                if let Some(why) = keep_alive.lost() {
                    return Err(LockError::Lost {
                        lock: name.clone(),
                        why,
                    });
                }
                match client.campaign(key, note.as_bytes(), lease.id).await.map_err(etcd)? {
                    Campaign::Won(me) => return Ok(me.revision),
                    Campaign::Lost(holder) => {
                        let waited = start.elapsed();
                        let holder = Holder::describe(&holder.value);
                        if waiting.timed_out(waited) {
                            return Err(LockError::Held {
                                lock: name.clone(),
                                holder,
                                waited,
                            });
                        }
                        if let Some(note) = waiting.note(&name, &holder, waited) {
                            report(&note);
                        }
                    }
                }
                tokio::time::sleep(POLL).await;
            }
        });
        let held = Held {
            rt,
            client,
            lease,
            revision: 0,
            keep_alive,
            name,
        };
        match outcome {
            Ok(revision) => {
                tracing::info!("took {} (lease {}, revision {revision})", held.name, lease.id);
                // Losing the lease mid-run means another run may take the
                // lock: say so loudly the moment it happens.
                let mut lost = held.keep_alive.subscribe();
                let name = held.name.clone();
                held.rt.spawn(async move {
                    while lost.changed().await.is_ok() {
                        if let Some(why) = lost.borrow_and_update().clone() {
                            tracing::error!("{name} was lost while this run held it ({why}); another run may now take it: no further action is started; check the deployment before running again");
                            // A reconcile in progress stops dispatching (its
                            // actions in flight end; the rest are reported
                            // not attempted) and exits 1.
                            crate::signals::current().request(crate::stop::StopReason::LockLost);
                            return;
                        }
                    }
                });
                Ok(Self {
                    held: Some(Held { revision, ..held }),
                })
            }
            Err(e) => {
                release(held);
                Err(e)
            }
        }
    }

    /// The key's create revision: a fencing token, larger for every later
    /// holder.
    #[must_use]
    pub fn revision(&self) -> i64 {
        self.held.as_ref().map_or(0, |h| h.revision)
    }

    /// Why the lock was lost while held (its lease expired: etcd was out of
    /// reach for a whole TTL), if it was.
    #[must_use]
    pub fn lost(&self) -> Option<String> {
        self.held.as_ref().and_then(|h| h.keep_alive.lost())
    }
}

impl Drop for EtcdLock {
    fn drop(&mut self) {
        if let Some(held) = self.held.take() {
            release(held);
        }
    }
}

/// Stops the keep-alive and revokes the lease, on a thread of its own so
/// that it works from any context (a runtime cannot be dropped inside
/// another's worker).
fn release(held: Held) {
    let Held {
        rt,
        client,
        lease,
        keep_alive,
        name,
        ..
    } = held;
    let done = std::thread::spawn(move || {
        drop(keep_alive);
        if let Err(e) = rt.block_on(client.revoke(lease.id)) {
            tracing::warn!(
                "cannot release {name} ({e}); its lease {} expires within {}s",
                lease.id,
                lease.ttl.as_secs()
            );
        }
        rt.shutdown_background();
    });
    let _ = done.join();
}
