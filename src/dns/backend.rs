//! [`DnsBackend`]: the plan's `set-dns-srv` / `set-dns-a` changes made
//! through a [`DnsClient`] on the zone's primary. It is the RFC 2136 DNS
//! system of [`crate::backend`].

use super::client::{DnsClient, UpdateOutcome};
use super::error::{DnsError, show};
use crate::model::{DnsName, DnsRecord, RecordType};
use crate::plan::DnsChange;

/// External DNS through an RFC 2136 primary.
#[derive(Debug)]
pub struct DnsBackend {
    client: DnsClient,
}

impl DnsBackend {
    /// A backend sending updates through `client` (the zone's primary).
    #[must_use]
    pub fn new(client: DnsClient) -> Self {
        Self { client }
    }

    /// The client.
    #[must_use]
    pub fn client(&self) -> &DnsClient {
        &self.client
    }

    /// Reads the managed record sets (see [`DnsClient::observe`]).
    ///
    /// # Errors
    /// [`DnsError`] naming the server and the record.
    pub async fn observe_records(&self, wanted: &[(DnsName, RecordType)]) -> Result<Vec<DnsRecord>, DnsError> {
        self.client.observe(wanted).await
    }

    /// Makes `change`, guarded by the record set it expects; succeeds without
    /// a change when the desired set is already held. Returns a one-line
    /// detail (`updated A xmpp.contoso.com = … on 192.0.2.53:53 (zone …)`).
    ///
    /// # Errors
    /// [`DnsError`]: refused, changed behind our back, no answer, …
    pub async fn apply_change(&self, change: &DnsChange) -> Result<String, DnsError> {
        let DnsChange {
            zone,
            desired,
            observed,
        } = change;
        let outcome = self
            .client
            .update_with_outcome(zone, desired, observed.as_ref())
            .await?;
        let verb = match outcome {
            UpdateOutcome::Updated => "updated",
            UpdateOutcome::AlreadyDesired => "already held",
        };
        Ok(format!(
            "{verb} {} {} = {} on {} (zone {zone})",
            desired.record_type(),
            desired.name(),
            show(Some(desired)),
            self.client.server()
        ))
    }
}
