//! DNS and probe systems that take no time and always succeed: for runs
//! that measure or test the Lync system alone (the PowerShell backend
//! through the shell double) with the real executor.

use async_trait::async_trait;
use edgefed::backend::{Applied, BackendError, DnsObservation, DnsSystem, DnsUpdate, PortCheck, ProbeSystem};
use edgefed::model::{DnsName, RecordType};

/// DNS that takes no time.
pub struct InstantDns;

#[async_trait]
impl DnsSystem for InstantDns {
    async fn observe(&self, _managed: &[(DnsName, RecordType)]) -> Result<DnsObservation, BackendError> {
        Ok(DnsObservation {
            records: Vec::new(),
            warnings: Vec::new(),
            unreadable: None,
        })
    }

    async fn apply(&self, _update: &DnsUpdate<'_>) -> Result<Applied, BackendError> {
        Ok(Applied {
            detail: None,
            warnings: Vec::new(),
        })
    }
}

/// Probes that take no time.
pub struct InstantProbes;

#[async_trait]
impl ProbeSystem for InstantProbes {
    async fn probe(&self, _check: &PortCheck<'_>) -> Result<Applied, BackendError> {
        Ok(Applied {
            detail: None,
            warnings: Vec::new(),
        })
    }
}
