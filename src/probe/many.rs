//! Many probes at once, bounded.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{ProbeAnswer, ProbeError, ProbeKind, probe};

/// One probe to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeTarget {
    /// The address to probe.
    pub addr: SocketAddr,
    /// What to expect there.
    pub kind: ProbeKind,
}

/// Runs the probes with at most `concurrency` in flight (at least one) and
/// returns their results in the order of `targets`.
///
/// Each result is independent: one failing probe does not stop the others.
pub async fn probe_many(
    targets: &[ProbeTarget],
    concurrency: usize,
    timeout: Duration,
) -> Vec<Result<ProbeAnswer, ProbeError>> {
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut set = JoinSet::new();
    for (i, target) in targets.iter().cloned().enumerate() {
        let permits = Arc::clone(&permits);
        set.spawn(async move {
            // The semaphore is never closed, so acquiring only waits.
            let _permit = permits.acquire_owned().await.ok();
            (i, probe(target.addr, &target.kind, timeout).await)
        });
    }
    let mut results: Vec<Option<Result<ProbeAnswer, ProbeError>>> = (0..targets.len()).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        if let Ok((i, r)) = joined
            && let Some(slot) = results.get_mut(i)
        {
            *slot = Some(r);
        }
    }
    results
        .into_iter()
        .zip(targets)
        .map(|(r, t)| {
            r.unwrap_or_else(|| {
                Err(ProbeError::Io {
                    addr: t.addr,
                    source: std::io::Error::other("the probe task panicked"),
                })
            })
        })
        .collect()
}
