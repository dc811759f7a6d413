//! The DNS backend: applies the plan's `set-dns-srv` / `set-dns-a` actions
//! through a [`DnsClient`]. The lead combines it with the Lync backend.

use async_trait::async_trait;

use super::client::{DnsClient, UpdateOutcome};
use super::error::{DnsError, show};
use crate::backend::{Applied, Backend, BackendError, Observation};
use crate::model::{DnsName, DnsRecord, RecordType};
use crate::plan::{DnsChange, Operation};

/// A [`Backend`] for DNS operations only.
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
    /// [`BackendError::Failed`] with the [`DnsError`] message.
    pub async fn observe_records(&self, wanted: &[(DnsName, RecordType)]) -> Result<Vec<DnsRecord>, BackendError> {
        self.client.observe(wanted).await.map_err(to_backend)
    }
}

/// Maps a DNS error: a refusal that changed nothing is `Refused`; a timeout or
/// network failure leaves the server's state unknown and is `Failed`.
#[must_use]
pub fn to_backend(e: DnsError) -> BackendError {
    let message = e.to_string();
    match e {
        DnsError::TsigRejected { .. }
        | DnsError::UpdateRefused { .. }
        | DnsError::UnknownZone { .. }
        | DnsError::ChangedBehindOurBack { .. }
        | DnsError::UpdateFailed { .. }
        | DnsError::InvalidRequest { .. } => BackendError::Refused { message },
        DnsError::Timeout { .. }
        | DnsError::QueryFailed { .. }
        | DnsError::Transport { .. }
        | DnsError::NoResolver { .. } => BackendError::Failed { message },
    }
}

#[async_trait]
impl Backend for DnsBackend {
    fn name(&self) -> &'static str {
        "dns"
    }

    /// Not meaningful for DNS: use [`DnsBackend::observe_records`].
    async fn observe(&self) -> Result<Observation, BackendError> {
        Err(BackendError::Failed {
            message:
                "the DNS backend does not observe a deployment; use DnsBackend::observe_records for the managed records"
                    .into(),
        })
    }

    async fn apply(&self, operation: &Operation) -> Result<Applied, BackendError> {
        let Some(DnsChange {
            zone,
            desired,
            observed,
        }) = operation.dns_change()
        else {
            return Err(BackendError::Failed {
                message: format!(
                    "`{operation}` is not a DNS action; the DNS backend applies set-dns-srv and set-dns-a only"
                ),
            });
        };
        let zone = &zone;
        let outcome = self
            .client
            .update_with_outcome(zone, &desired, observed.as_ref())
            .await
            .map_err(to_backend)?;
        let verb = match outcome {
            UpdateOutcome::Updated => "updated",
            UpdateOutcome::AlreadyDesired => "already held",
        };
        Ok(Applied {
            detail: Some(format!(
                "{verb} {} {} = {} on {} (zone {zone})",
                desired.record_type(),
                desired.name(),
                show(Some(&desired)),
                self.client.server()
            )),
            warnings: Vec::new(),
        })
    }
}
