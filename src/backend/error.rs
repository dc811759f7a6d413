//! Why a system could not observe or apply: the kind of failure (so the
//! executor, reports and tests can tell a refusal from a manual step, a
//! stale prerequisite or an unreachable server), the message shown to the
//! user, and the typed cause when there is one.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::lab::LabFileError;
use crate::dns::DnsError;
use crate::probe::ProbeError;
use crate::topology::TopologyError;

/// What caused a [`BackendError`], kept typed (and shared, so that errors
/// can be cloned into reports).
#[derive(Debug, Clone)]
pub enum Cause {
    /// A DNS query or update.
    Dns(Arc<DnsError>),
    /// A port probe.
    Probe(Arc<ProbeError>),
    /// A local file or process.
    Io(Arc<std::io::Error>),
    /// The lab file.
    LabFile(Arc<LabFileError>),
    /// A topology document.
    Topology(Arc<TopologyError>),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns(e) => e.fmt(f),
            Self::Probe(e) => e.fmt(f),
            Self::Io(e) => e.fmt(f),
            Self::LabFile(e) => e.fmt(f),
            Self::Topology(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Dns(e) => e.source(),
            Self::Probe(e) => e.source(),
            Self::Io(e) => e.source(),
            Self::LabFile(e) => e.source(),
            Self::Topology(e) => e.source(),
        }
    }
}

/// The kinds of [`BackendError`], for matching without the context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The system said no, and changed nothing.
    Refused,
    /// The backend itself failed (file, process, protocol).
    Failed,
    /// The operation may or may not have taken effect.
    StateUnknown,
    /// edgefed cannot make the change: the user must, by hand.
    ManualStep,
    /// The deployment changed since it was observed; nothing was changed.
    Stale,
    /// The system, or the server the operation needs, cannot be reached.
    Unreachable,
    /// No answer within the bound.
    Timeout,
}

/// Why a system could not observe or apply.
///
/// Every message names the object and says what to do; the `source`, when
/// present, is the typed error it came from (see [`BackendError::cause`]).
#[derive(Debug, Clone, thiserror::Error)]
pub enum BackendError {
    /// The system refused the operation and changed nothing; `message` is
    /// its own wording.
    #[error("{message}")]
    Refused {
        /// The system's message.
        message: String,
        /// What refused, when it is typed (a DNS server, a probed port).
        #[source]
        source: Option<Cause>,
    },
    /// The backend itself failed (file, process, malformed answer).
    #[error("{message}")]
    Failed {
        /// What went wrong and what to check.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Cause>,
    },
    /// The operation may or may not have taken effect (the shell stopped
    /// mid-script, the task running it was lost): observe again.
    #[error("{message}")]
    StateUnknown {
        /// What happened and what to do.
        message: String,
    },
    /// edgefed cannot make this change itself; the user must.
    #[error("manual step: {instruction}")]
    ManualStep {
        /// Exactly what to do by hand, and then.
        instruction: String,
    },
    /// The deployment changed behind our back since it was observed (a
    /// topology signature, a DNS prerequisite); nothing was changed.
    #[error("{message}")]
    Stale {
        /// What changed, and to plan again.
        message: String,
        /// The typed report of the change, when there is one.
        #[source]
        source: Option<Cause>,
    },
    /// The system, or the server the operation needs, cannot be reached.
    #[error("{message}")]
    Unreachable {
        /// The server or address.
        target: String,
        /// Why it cannot be reached.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Cause>,
    },
    /// No answer within the bound.
    #[error("{message}")]
    Timeout {
        /// The bound that ran out.
        after: Duration,
        /// What did not answer, and what to check.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Cause>,
    },
}

impl BackendError {
    /// The system refused, in its own words.
    pub fn refused(message: impl Into<String>) -> Self {
        Self::Refused {
            message: message.into(),
            source: None,
        }
    }

    /// The backend itself failed.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed {
            message: message.into(),
            source: None,
        }
    }

    /// The backend failed because of `source` (`message` already says why).
    pub fn failed_by(message: impl Into<String>, source: Cause) -> Self {
        Self::Failed {
            message: message.into(),
            source: Some(source),
        }
    }

    /// The operation's result was lost (e.g. the task applying it panicked):
    /// its effect is unknown.
    pub fn lost(message: impl Into<String>) -> Self {
        Self::StateUnknown {
            message: message.into(),
        }
    }

    /// The operation may or may not have taken effect.
    pub fn state_unknown(message: impl Into<String>) -> Self {
        Self::StateUnknown {
            message: message.into(),
        }
    }

    /// A step the user must take by hand.
    pub fn manual_step(instruction: impl Into<String>) -> Self {
        Self::ManualStep {
            instruction: instruction.into(),
        }
    }

    /// The deployment changed since it was observed.
    pub fn stale(message: impl Into<String>) -> Self {
        Self::Stale {
            message: message.into(),
            source: None,
        }
    }

    /// `target` cannot be reached; `message` says why.
    pub fn unreachable(target: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Unreachable {
            target: target.into(),
            message: message.into(),
            source: None,
        }
    }

    /// Nothing answered within `after`.
    pub fn timeout(after: Duration, message: impl Into<String>) -> Self {
        Self::Timeout {
            after,
            message: message.into(),
            source: None,
        }
    }

    /// The kind of failure.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Refused { .. } => ErrorKind::Refused,
            Self::Failed { .. } => ErrorKind::Failed,
            Self::StateUnknown { .. } => ErrorKind::StateUnknown,
            Self::ManualStep { .. } => ErrorKind::ManualStep,
            Self::Stale { .. } => ErrorKind::Stale,
            Self::Unreachable { .. } => ErrorKind::Unreachable,
            Self::Timeout { .. } => ErrorKind::Timeout,
        }
    }

    /// The typed cause, when there is one.
    #[must_use]
    pub fn cause(&self) -> Option<&Cause> {
        match self {
            Self::Refused { source, .. }
            | Self::Failed { source, .. }
            | Self::Stale { source, .. }
            | Self::Unreachable { source, .. }
            | Self::Timeout { source, .. } => source.as_ref(),
            Self::StateUnknown { .. } | Self::ManualStep { .. } => None,
        }
    }

    /// The DNS error this came from, if any.
    #[must_use]
    pub fn dns_error(&self) -> Option<&DnsError> {
        match self.cause() {
            Some(Cause::Dns(e)) => Some(e),
            _ => None,
        }
    }

    /// The probe error this came from, if any.
    #[must_use]
    pub fn probe_error(&self) -> Option<&ProbeError> {
        match self.cause() {
            Some(Cause::Probe(e)) => Some(e),
            _ => None,
        }
    }
}

/// Two errors are equal when they are of the same kind and say the same
/// thing (causes are compared through their text, which the message holds).
impl PartialEq for BackendError {
    fn eq(&self, other: &Self) -> bool {
        self.kind() == other.kind() && self.to_string() == other.to_string()
    }
}

impl Eq for BackendError {}

/// A DNS failure by what it means for the change: the server said no
/// (Refused), the record set changed behind our back (Stale), no answer
/// (Timeout), the server cannot be talked to (Unreachable), or edgefed's own
/// request or configuration is wrong (Failed).
impl From<DnsError> for BackendError {
    fn from(e: DnsError) -> Self {
        let message = e.to_string();
        match &e {
            DnsError::TsigRejected { .. }
            | DnsError::UpdateRefused { .. }
            | DnsError::UnknownZone { .. }
            | DnsError::UpdateFailed { .. } => Self::Refused {
                message,
                source: Some(Cause::Dns(Arc::new(e))),
            },
            DnsError::IgnoredForCname { .. } | DnsError::NotApplied { .. } => Self::Refused {
                message,
                source: Some(Cause::Dns(Arc::new(e))),
            },
            DnsError::ReadBackFailed { .. } => Self::StateUnknown { message },
            DnsError::ChangedBehindOurBack { .. } => Self::Stale {
                message,
                source: Some(Cause::Dns(Arc::new(e))),
            },
            DnsError::Timeout { after, .. } => Self::Timeout {
                after: *after,
                message,
                source: Some(Cause::Dns(Arc::new(e))),
            },
            DnsError::Transport { server, .. } => Self::Unreachable {
                target: server.to_string(),
                message,
                source: Some(Cause::Dns(Arc::new(e))),
            },
            DnsError::QueryFailed { .. }
            | DnsError::UnusableRecord { .. }
            | DnsError::InvalidRequest { .. }
            | DnsError::NoResolver { .. } => Self::Failed {
                message,
                source: Some(Cause::Dns(Arc::new(e))),
            },
        }
    }
}

/// A failed probe: the port answered wrongly or not at all (Refused), the
/// address cannot be reached (Unreachable), silence (Timeout), or the probe
/// itself could not be made (Failed).
impl From<ProbeError> for BackendError {
    fn from(e: ProbeError) -> Self {
        let message = e.to_string();
        match &e {
            ProbeError::ConnectionRefused { .. }
            | ProbeError::NotXmpp { .. }
            | ProbeError::ClosedEarly { .. }
            | ProbeError::TlsHandshake { .. }
            | ProbeError::CertificateNameMismatch { .. }
            | ProbeError::CertificateNotTrusted { .. }
            | ProbeError::NoStartTls { .. }
            | ProbeError::StartTlsRefused { .. }
            | ProbeError::Io { .. } => Self::Refused {
                message,
                source: Some(Cause::Probe(Arc::new(e))),
            },
            ProbeError::Connect { addr, .. } => Self::Unreachable {
                target: addr.to_string(),
                message,
                source: Some(Cause::Probe(Arc::new(e))),
            },
            ProbeError::Timeout { after, .. } => Self::Timeout {
                after: *after,
                message,
                source: Some(Cause::Probe(Arc::new(e))),
            },
            ProbeError::InvalidServerName { .. } => Self::Failed {
                message,
                source: Some(Cause::Probe(Arc::new(e))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;
    use std::net::SocketAddr;

    use super::*;

    #[test]
    fn dns_errors_keep_their_text_and_their_type() {
        let server: SocketAddr = "127.0.0.1:53".parse().expect("addr");
        let e = BackendError::from(DnsError::Timeout {
            server,
            what: "updating A xmpp.contoso.com in zone contoso.com".into(),
            after: Duration::from_millis(300),
        });
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(matches!(e, BackendError::Timeout { after, .. } if after == Duration::from_millis(300)));
        assert!(
            e.to_string()
                .starts_with("DNS server 127.0.0.1:53 did not answer within 300 ms")
        );
        assert!(matches!(e.dns_error(), Some(DnsError::Timeout { .. })));
        assert!(e.source().is_some());
        let stale = BackendError::from(DnsError::ChangedBehindOurBack {
            server,
            zone: "contoso.com".into(),
            name: crate::model::DnsName::parse("xmpp.contoso.com").expect("name"),
            expected: None,
            found: None,
        });
        assert_eq!(stale.kind(), ErrorKind::Stale);
    }

    #[test]
    fn probe_errors_are_classified() {
        let addr: SocketAddr = "127.0.0.1:5269".parse().expect("addr");
        let refused = BackendError::from(ProbeError::ConnectionRefused {
            addr,
            source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        });
        assert_eq!(refused.kind(), ErrorKind::Refused);
        assert!(refused.probe_error().is_some());
        let unreachable = BackendError::from(ProbeError::Connect {
            addr,
            source: std::io::Error::from(std::io::ErrorKind::NetworkUnreachable),
        });
        assert!(matches!(&unreachable, BackendError::Unreachable { target, .. } if target == "127.0.0.1:5269"));
        let silent = BackendError::from(ProbeError::Timeout {
            addr,
            stage: "connecting",
            after: Duration::from_secs(2),
        });
        assert_eq!(silent.kind(), ErrorKind::Timeout);
    }

    #[test]
    fn equality_is_kind_and_text() {
        assert_eq!(BackendError::refused("no"), BackendError::refused("no"));
        assert_ne!(BackendError::refused("no"), BackendError::failed("no"));
        assert_eq!(BackendError::lost("gone").kind(), ErrorKind::StateUnknown);
        assert_eq!(
            BackendError::manual_step("set it by hand").to_string(),
            "manual step: set it by hand"
        );
    }
}
