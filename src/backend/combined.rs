//! The systems of one reconcile put together: one Lync system (lab or
//! PowerShell), one DNS system (the lab's simulation, an RFC 2136 server, or
//! manual steps checked by plain queries) and one probe system (the lab's
//! simulation or real probes). The executor sees one [`Backend`].

use std::sync::Arc;

use async_trait::async_trait;
use tracing::Instrument as _;

use super::{Applied, Backend, BackendError, DnsSystem, LyncSystem, Observation, ProbeSystem, Routed, route};
use crate::model::{DnsName, RecordType};
use crate::plan::Operation;

/// How many DNS updates or probes of one call run at once.
const PARALLEL: usize = 16;

/// The combined backend.
pub struct Combined {
    lync: Arc<dyn LyncSystem>,
    dns: Arc<dyn DnsSystem>,
    probes: Arc<dyn ProbeSystem>,
    managed: Vec<(DnsName, RecordType)>,
    /// The run's lock, held as long as the backend lives (see [`crate::lock`]).
    lock: Option<crate::lock::Lock>,
}

impl Combined {
    /// Combines a Lync, a DNS and a probe system. `managed` lists the record
    /// sets the document manages (what DNS observation reads).
    #[must_use]
    pub fn new(
        lync: Arc<dyn LyncSystem>,
        dns: Arc<dyn DnsSystem>,
        probes: Arc<dyn ProbeSystem>,
        managed: Vec<(DnsName, RecordType)>,
    ) -> Self {
        Self {
            lync,
            dns,
            probes,
            managed,
            lock: None,
        }
    }

    /// Holds `lock` until the backend is dropped: from observation to the
    /// end of the run.
    #[must_use]
    pub fn holding(mut self, lock: Option<crate::lock::Lock>) -> Self {
        self.lock = lock;
        self
    }

    /// Applies a routed operation on its system.
    async fn apply_routed(&self, routed: Routed<'_>) -> Result<Applied, BackendError> {
        match routed {
            Routed::Lync(op) => self.lync.apply(op).await,
            Routed::Dns(update) => self.dns.apply(&update).await,
            Routed::Probe(check) => self.probes.probe(&check).await,
        }
    }
}

#[async_trait]
impl Backend for Combined {
    fn name(&self) -> &'static str {
        self.lync.name()
    }

    async fn observe(&self) -> Result<Observation, BackendError> {
        // One span per system observed, so `-v` shows where the time goes.
        let mut obs = self
            .lync
            .observe()
            .instrument(tracing::info_span!("observe_system", system = self.lync.name()))
            .await?;
        let dns = self
            .dns
            .observe(&self.managed)
            .instrument(tracing::info_span!(
                "observe_system",
                system = "dns",
                records = self.managed.len()
            ))
            .await?;
        obs.deployment.dns = dns.records;
        obs.warnings.extend(dns.warnings);
        obs.dns_unreadable = dns.unreadable;
        Ok(obs)
    }

    async fn apply(&self, op: &Operation) -> Result<Applied, BackendError> {
        self.apply_routed(route(op))
            .instrument(tracing::info_span!("action", action = %op))
            .await
    }

    async fn apply_batch(&self, ops: &[Operation]) -> Vec<Result<Applied, BackendError>> {
        self.apply_call(ops)
            .instrument(tracing::info_span!("call", actions = ops.len()))
            .await
    }

    fn max_concurrency(&self) -> usize {
        self.lync.max_concurrency()
    }

    fn batches(&self) -> bool {
        self.lync.batches()
    }

    /// The Lync operations in the calls the Lync system asks for; each DNS
    /// update and each probe in a call of its own, so what waits on one
    /// starts as soon as it ends.
    fn calls(&self, ops: &[Operation]) -> Vec<Vec<usize>> {
        let (lync, others): (Vec<usize>, Vec<usize>) =
            (0..ops.len()).partition(|&i| matches!(route(&ops[i]), Routed::Lync(_)));
        let mut calls = Vec::new();
        if !lync.is_empty() {
            let lync_ops: Vec<Operation> = lync.iter().map(|&i| ops[i].clone()).collect();
            calls.extend(
                self.lync
                    .calls(&lync_ops)
                    .into_iter()
                    .map(|call| {
                        call.into_iter()
                            .filter_map(|k| lync.get(k).copied())
                            .collect::<Vec<usize>>()
                    })
                    .filter(|call| !call.is_empty()),
            );
        }
        calls.extend(others.into_iter().map(|i| vec![i]));
        calls
    }
}

impl Combined {
    /// One call of a batching backend: the Lync operations in one call, the
    /// DNS updates and probes each in its own `action` span.
    async fn apply_call(&self, ops: &[Operation]) -> Vec<Result<Applied, BackendError>> {
        let mut lync = Vec::new();
        let mut others = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            match route(op) {
                Routed::Lync(op) => lync.push((i, op.clone())),
                routed @ (Routed::Dns(_) | Routed::Probe(_)) => others.push((i, routed)),
            }
        }
        let mut results: Vec<Option<Result<Applied, BackendError>>> = (0..ops.len()).map(|_| None).collect();
        if !lync.is_empty() {
            let (ids, lync_ops): (Vec<usize>, Vec<Operation>) = lync.into_iter().unzip();
            for (i, r) in ids.into_iter().zip(self.lync.apply_batch(&lync_ops).await) {
                results[i] = Some(r);
            }
        }
        // DNS updates and probes of one call are independent: run them
        // concurrently, a bounded number at a time.
        let mut others = others.into_iter().peekable();
        while others.peek().is_some() {
            let chunk: Vec<_> = others.by_ref().take(PARALLEL).collect();
            let (ids, futures): (Vec<usize>, Vec<_>) = chunk
                .into_iter()
                .map(|(i, routed)| {
                    let span = tracing::info_span!("action", action = %ops[i]);
                    (i, self.apply_routed(routed).instrument(span))
                })
                .unzip();
            for (i, r) in ids.into_iter().zip(futures_util::future::join_all(futures).await) {
                results[i] = Some(r);
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(BackendError::lost(
                        "the Lync system returned no result for this action: its effect is unknown; observe again",
                    ))
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::time::Duration;

    use super::*;
    use crate::backend::lab::{LabBackend, Scenario};
    use crate::backend::{ErrorKind, ManualDns};
    use crate::model::Fqdn;

    fn f(s: &str) -> Fqdn {
        Fqdn::parse(s).expect("fqdn")
    }

    #[tokio::test]
    async fn each_operation_goes_to_its_own_system() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("lab.yaml");
        std::fs::write(&path, Scenario::XmppFailedOver.text()).expect("write lab");
        let lab = Arc::new(LabBackend::open(&path).expect("lab"));
        // The lab for Lync and probes; DNS by hand (a resolver on a closed
        // loopback port, so observation degrades to a warning).
        let closed = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let resolver = closed.local_addr().expect("addr");
        drop(closed);
        let manual = Arc::new(ManualDns::new(Some(resolver), Duration::from_millis(200)));
        let managed = vec![(DnsName::host(&f("xmpp.contoso.com")), RecordType::A)];
        let backend = Combined::new(lab.clone(), manual, lab.clone(), managed);

        let start = Operation::StartServices {
            pool: f("edgepool1.contoso.com"),
            computer: f("edgeserver1a.contoso.com"),
        };
        let set_a = Operation::SetDnsA {
            zone: f("contoso.com"),
            name: DnsName::host(&f("xmpp.contoso.com")),
            addresses: vec!["203.0.113.10".parse::<IpAddr>().expect("ip")],
            ttl: 300,
            observed: None,
        };
        let probe = Operation::VerifyPort {
            pool: f("edgepool1.contoso.com"),
            address: "203.0.113.10".parse().expect("ip"),
            port: 5269,
            hosts: vec![],
        };
        let results = backend.apply_batch(&[start.clone(), set_a, probe]).await;
        assert!(results[0].is_ok(), "{:?}", results[0]);
        let manual_step = results[1].as_ref().expect_err("manual");
        assert_eq!(manual_step.kind(), ErrorKind::ManualStep);
        assert!(
            manual_step
                .to_string()
                .starts_with("manual step: no DNS server is configured (--dns-server)"),
            "{manual_step}"
        );
        // The lab's simulated probe: EdgePool1 does not carry XMPP yet.
        let refused = results[2].as_ref().expect_err("no XMPP on edgepool1 yet");
        assert_eq!(refused.kind(), ErrorKind::Refused, "{refused}");
        // Only the Lync operation and the probe reached the lab's log.
        let log = crate::backend::lab::OperationLog::of(&path)
            .applied()
            .expect("operation log");
        assert_eq!(log, vec![start]);
        // The lab's DNS is not read: the manual system's warning is.
        let obs = backend.observe().await.expect("observe");
        assert!(obs.deployment.dns.is_empty());
        assert!(
            obs.warnings
                .iter()
                .any(|w| w.contains("external DNS could not be read")),
            "{:?}",
            obs.warnings
        );
    }
}
