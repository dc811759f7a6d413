//! Plain (unsigned, read-only) queries for `--check` without an update
//! server: the given resolver, or the system's name servers (see
//! [`super::system`]).

use std::net::SocketAddr;
use std::time::Duration;

use super::client::DnsClient;
use super::error::DnsError;
use super::system::system_resolvers;
use crate::model::{DnsName, DnsRecord, RecordType};

/// How long a plain query waits by default (`--network-timeout`).
pub const PLAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Reads the wanted record sets from `resolver`, or, when `None`, from the
/// system's name servers (see [`resolve_from`]). Each query is bounded by
/// `timeout`.
///
/// # Errors
/// [`DnsError::NoResolver`] when no resolver is configured, else as
/// [`resolve_from`].
pub async fn resolve_plain(
    resolver: Option<SocketAddr>,
    wanted: &[(DnsName, RecordType)],
    timeout: Duration,
) -> Result<Vec<DnsRecord>, DnsError> {
    let servers = match resolver {
        Some(s) => vec![s],
        None => system_resolvers()?,
    };
    resolve_from(&servers, wanted, timeout).await
}

/// Reads the wanted record sets from the first of `servers`, and from the
/// next only when one does not answer (timeout or network error), as a stub
/// resolver goes down its list: an answer, even an error, is final.
///
/// # Errors
/// [`DnsError::NoResolver`] when `servers` is empty, else as
/// [`DnsClient::observe`] (the last server's error).
pub async fn resolve_from(
    servers: &[SocketAddr],
    wanted: &[(DnsName, RecordType)],
    timeout: Duration,
) -> Result<Vec<DnsRecord>, DnsError> {
    let mut last = None;
    for &server in servers {
        match DnsClient::new(server, None, timeout).observe(wanted).await {
            Err(e @ (DnsError::Timeout { .. } | DnsError::Transport { .. })) => {
                tracing::debug!(%server, error = %e, "resolver did not answer; trying the next");
                last = Some(e);
            }
            other => return other,
        }
    }
    Err(last.unwrap_or_else(|| DnsError::NoResolver {
        message: "no name server to ask".into(),
    }))
}
