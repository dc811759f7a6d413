//! Real port probes: TCP, an XMPP stream header and STARTTLS on 5269, a TLS
//! handshake on 5061, the certificate checked against the federation hosts
//! of the `verify-port` action and, with a CA file, its chain (see
//! [`crate::probe`]).

use std::time::Duration;

use async_trait::async_trait;

use super::{Applied, BackendError, PortCheck, ProbeSystem};
use crate::probe::{CertificateCheck, TrustAnchors};

/// The real probe system.
#[derive(Clone, Debug)]
pub struct RealProbes {
    timeout: Duration,
    trust: Option<TrustAnchors>,
}

impl RealProbes {
    /// Probes bounded by `timeout` each; certificate chains validated to
    /// `trust` when given (`--probe-ca-file`).
    #[must_use]
    pub fn new(timeout: Duration, trust: Option<TrustAnchors>) -> Self {
        Self { timeout, trust }
    }
}

#[async_trait]
impl ProbeSystem for RealProbes {
    async fn probe(&self, check: &PortCheck<'_>) -> Result<Applied, BackendError> {
        let addr = check.addr();
        let certificate = CertificateCheck {
            hosts: check.hosts().iter().map(ToString::to_string).collect(),
            trust: self.trust.clone(),
        };
        let kind = crate::probe::probe_kind_for_port(addr.port(), check.domain(), certificate);
        let answer = crate::probe::probe(addr, &kind, self.timeout).await?;
        Ok(Applied {
            detail: Some(format!("{} in {} ms", answer.answered, answer.elapsed.as_millis())),
            warnings: vec![],
        })
    }
}
