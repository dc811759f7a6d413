//! Real port probes: TCP, an XMPP stream header on 5269, a TLS handshake on
//! 5061 (see [`crate::probe`]).

use std::time::Duration;

use async_trait::async_trait;

use super::{Applied, BackendError, PortCheck, ProbeSystem};

/// The real probe system.
#[derive(Clone, Copy, Debug)]
pub struct RealProbes {
    timeout: Duration,
}

impl RealProbes {
    /// Probes bounded by `timeout` each.
    #[must_use]
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }
}

#[async_trait]
impl ProbeSystem for RealProbes {
    async fn probe(&self, check: &PortCheck<'_>) -> Result<Applied, BackendError> {
        let addr = check.addr();
        let kind = crate::probe::probe_kind_for_port(addr.port(), check.domain());
        let answer = crate::probe::probe(addr, &kind, self.timeout).await?;
        Ok(Applied {
            detail: Some(format!("{} in {} ms", answer.answered, answer.elapsed.as_millis())),
            warnings: vec![],
        })
    }
}
