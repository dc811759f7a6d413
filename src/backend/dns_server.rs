//! An RFC 2136 primary as the DNS system: observation by queries, changes by
//! TSIG-signed updates guarded by the record set the plan observed.

use async_trait::async_trait;

use super::{Applied, BackendError, DnsObservation, DnsSystem, DnsUpdate};
use crate::dns::DnsBackend;
use crate::model::{DnsName, RecordType};

#[async_trait]
impl DnsSystem for DnsBackend {
    async fn observe(&self, managed: &[(DnsName, RecordType)]) -> Result<DnsObservation, BackendError> {
        Ok(DnsObservation {
            records: self.observe_records(managed).await?,
            warnings: Vec::new(),
            unreadable: None,
        })
    }

    async fn apply(&self, update: &DnsUpdate<'_>) -> Result<Applied, BackendError> {
        Ok(Applied {
            detail: Some(self.apply_change(update.change()).await?),
            warnings: Vec::new(),
        })
    }
}
