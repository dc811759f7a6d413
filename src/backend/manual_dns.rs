//! DNS without an update server: the managed record sets are read with plain
//! queries, and every change is a manual step for the user.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;

use super::{Applied, BackendError, DnsObservation, DnsSystem, DnsUpdate};
use crate::model::{DnsName, RecordType};
use crate::plan::DnsChange;

/// The manual DNS system.
#[derive(Clone, Debug)]
pub struct ManualDns {
    resolver: Option<SocketAddr>,
    timeout: Duration,
}

impl ManualDns {
    /// Queries `resolver` (or the system's name servers, see
    /// [`crate::dns::system_resolvers`]),
    /// each query bounded by `timeout`.
    #[must_use]
    pub fn new(resolver: Option<SocketAddr>, timeout: Duration) -> Self {
        Self { resolver, timeout }
    }
}

/// The exact record a DNS change sets, for a manual step.
#[must_use]
pub fn manual_record(change: &DnsChange) -> String {
    format!(
        "in zone {}: {} (and no other {} records for {})",
        change.zone,
        change.desired.zone_file_lines().join("; "),
        change.desired.record_type(),
        change.desired.name()
    )
}

#[async_trait]
impl DnsSystem for ManualDns {
    /// A resolver that cannot be asked is not an error: the records are
    /// treated as absent, with a warning.
    async fn observe(&self, managed: &[(DnsName, RecordType)]) -> Result<DnsObservation, BackendError> {
        Ok(
            match crate::dns::resolve_plain(self.resolver, managed, self.timeout).await {
                Ok(records) => DnsObservation {
                    records,
                    warnings: Vec::new(),
                    unreadable: None,
                },
                Err(e) => DnsObservation {
                    records: Vec::new(),
                    warnings: vec![format!(
                        "external DNS could not be read ({e}); the managed records are treated as absent"
                    )],
                    unreadable: Some(e.to_string()),
                },
            },
        )
    }

    async fn apply(&self, update: &DnsUpdate<'_>) -> Result<Applied, BackendError> {
        Err(BackendError::manual_step(format!(
            "no DNS server is configured (--dns-server), so edgefed cannot make this change; {} — set it by hand (or give --dns-server and --tsig-key-file), then run reconcile again",
            manual_record(update.change())
        )))
    }
}
