//! The systems of one reconcile put together: the Lync backend (lab or
//! PowerShell), external DNS (the lab's simulation, an RFC 2136 server, or
//! manual steps checked by plain queries), and port probes (the lab's
//! simulation or real probes). The executor sees one [`Backend`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{Applied, Backend, BackendError, Observation};
use crate::dns::DnsBackend;
use crate::model::{DnsName, RecordType};
use crate::plan::{Operation, System};

/// How many DNS updates or probes of one wave run at once.
const PARALLEL: usize = 16;

/// Where DNS is observed and changed.
pub enum DnsSystem {
    /// The Lync backend's own (the lab's simulated DNS).
    Lync,
    /// An RFC 2136 primary, with TSIG.
    Server(DnsBackend),
    /// No DNS server configured: observe with plain queries (to `resolver`,
    /// or the system resolver), and show changes as manual steps.
    Manual {
        /// The resolver to query, or `None` for `/etc/resolv.conf`.
        resolver: Option<SocketAddr>,
        /// Bound on each query.
        timeout: Duration,
    },
}

/// Where ports are probed.
pub enum ProbeSystem {
    /// The Lync backend's own (the lab's simulation).
    Lync,
    /// Real TCP / XMPP / TLS probes.
    Real {
        /// Bound on each probe.
        timeout: Duration,
    },
}

/// The combined backend.
pub struct Combined {
    lync: Arc<dyn Backend>,
    dns: DnsSystem,
    probes: ProbeSystem,
    managed: Vec<(DnsName, RecordType)>,
}

impl Combined {
    /// Combines `lync` with a DNS and a probe system. `managed` lists the
    /// record sets the document manages (what DNS observation reads).
    #[must_use]
    pub fn new(
        lync: Arc<dyn Backend>,
        dns: DnsSystem,
        probes: ProbeSystem,
        managed: Vec<(DnsName, RecordType)>,
    ) -> Self {
        Self {
            lync,
            dns,
            probes,
            managed,
        }
    }

    fn handles_here(&self, op: &Operation) -> bool {
        (op.system() == System::Dns && !matches!(self.dns, DnsSystem::Lync))
            || (matches!(op, Operation::VerifyPort { .. }) && matches!(self.probes, ProbeSystem::Real { .. }))
    }

    async fn apply_here(&self, op: &Operation) -> Result<Applied, BackendError> {
        match (op, &self.dns, &self.probes) {
            (Operation::VerifyPort { pool, address, port }, _, ProbeSystem::Real { timeout }) => {
                // The stream's `to` / TLS name: the pool's domain (contoso.com for edgepool1.contoso.com).
                let domain = pool.as_str().split_once('.').map_or(pool.as_str(), |(_, d)| d);
                let kind = crate::probe::probe_kind_for_port(*port, domain);
                let addr = SocketAddr::new(*address, *port);
                match crate::probe::probe(addr, &kind, *timeout).await {
                    Ok(answer) => Ok(Applied {
                        detail: Some(format!("{} in {} ms", answer.answered, answer.elapsed.as_millis())),
                        warnings: vec![],
                    }),
                    Err(e) => Err(BackendError::Refused { message: e.to_string() }),
                }
            }
            (_, DnsSystem::Server(dns), _) => dns.apply(op).await,
            (_, DnsSystem::Manual { .. }, _) => Err(BackendError::Refused {
                message: format!(
                    "manual step: no DNS server is configured (--dns-server), so edgefed cannot make this change; {} — set it by hand (or give --dns-server and --tsig-key-file), then run reconcile again",
                    manual_record(op)
                ),
            }),
            _ => self.lync.apply(op).await,
        }
    }
}

/// The exact record a DNS action sets, for a manual step.
#[must_use]
pub fn manual_record(op: &Operation) -> String {
    match op.dns_change() {
        Some(change) => format!(
            "in zone {}: {} (and no other {} records for {})",
            change.zone,
            change.desired.zone_file_lines().join("; "),
            change.desired.record_type(),
            change.desired.name()
        ),
        None => op.to_string(),
    }
}

#[async_trait]
impl Backend for Combined {
    fn name(&self) -> &'static str {
        self.lync.name()
    }

    async fn observe(&self) -> Result<Observation, BackendError> {
        let mut obs = self.lync.observe().await?;
        match &self.dns {
            DnsSystem::Lync => {}
            DnsSystem::Server(dns) => {
                obs.deployment.dns = dns.observe_records(&self.managed).await?;
            }
            DnsSystem::Manual { resolver, timeout } => {
                match crate::dns::resolve_plain(*resolver, &self.managed, *timeout).await {
                    Ok(records) => obs.deployment.dns = records,
                    Err(e) => {
                        obs.deployment.dns.clear();
                        obs.warnings.push(format!(
                            "external DNS could not be read ({e}); the managed records are treated as absent"
                        ));
                    }
                }
            }
        }
        Ok(obs)
    }

    async fn apply(&self, op: &Operation) -> Result<Applied, BackendError> {
        if self.handles_here(op) {
            self.apply_here(op).await
        } else {
            self.lync.apply(op).await
        }
    }

    async fn apply_batch(&self, ops: &[Operation]) -> Vec<Result<Applied, BackendError>> {
        let (here, there): (Vec<usize>, Vec<usize>) = (0..ops.len()).partition(|i| self.handles_here(&ops[*i]));
        let lync_ops: Vec<Operation> = there.iter().map(|i| ops[*i].clone()).collect();
        let mut results: Vec<Option<Result<Applied, BackendError>>> = (0..ops.len()).map(|_| None).collect();
        let lync_results = if lync_ops.is_empty() {
            Vec::new()
        } else {
            self.lync.apply_batch(&lync_ops).await
        };
        for (i, r) in there.into_iter().zip(lync_results) {
            results[i] = Some(r);
        }
        // DNS updates and probes of one wave are independent: run them
        // concurrently, a bounded number at a time.
        for chunk in here.chunks(PARALLEL) {
            let mut futures = Vec::with_capacity(chunk.len());
            for i in chunk {
                futures.push(self.apply_here(&ops[*i]));
            }
            for (i, r) in chunk.iter().zip(futures_util::future::join_all(futures).await) {
                results[*i] = Some(r);
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(BackendError::Failed {
                        message: "the backend returned no result for this action".into(),
                    })
                })
            })
            .collect()
    }

    fn max_concurrency(&self) -> usize {
        self.lync.max_concurrency()
    }

    fn batches(&self) -> bool {
        self.lync.batches()
    }
}
