//! Plain (unsigned, read-only) queries for `--check` without an update
//! server: the given resolver, or the first `nameserver` of `/etc/resolv.conf`.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use super::client::DnsClient;
use super::error::DnsError;
use crate::model::{DnsName, DnsRecord, RecordType};

/// How long a plain query waits by default (`--network-timeout`).
pub const PLAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Reads the wanted record sets from `resolver`, or from the first
/// nameserver of `/etc/resolv.conf` when `None`, each query bounded by
/// `timeout`.
///
/// # Errors
/// [`DnsError::NoResolver`] when no resolver is configured, else as
/// [`DnsClient::observe`].
pub async fn resolve_plain(
    resolver: Option<SocketAddr>,
    wanted: &[(DnsName, RecordType)],
    timeout: Duration,
) -> Result<Vec<DnsRecord>, DnsError> {
    let server = match resolver {
        Some(s) => s,
        None => system_resolver(Path::new("/etc/resolv.conf"))?,
    };
    DnsClient::new(server, None, timeout).observe(wanted).await
}

/// The first `nameserver` of a resolv.conf file, port 53.
///
/// # Errors
/// [`DnsError::NoResolver`] when the file cannot be read or names no server.
#[expect(
    clippy::result_large_err,
    reason = "DnsError carries both record sets of a conflict; errors are rare and cold"
)]
pub fn system_resolver(path: &Path) -> Result<SocketAddr, DnsError> {
    let text = crate::fs_util::read_to_string_capped(path, crate::limits::MAX_SMALL_FILE_BYTES).map_err(|e| {
        DnsError::NoResolver {
            message: format!("cannot read {}: {e}; pass a resolver address", path.display()),
        }
    })?;
    first_nameserver(&text).ok_or_else(|| DnsError::NoResolver {
        message: format!(
            "{} has no usable `nameserver` line; pass a resolver address",
            path.display()
        ),
    })
}

fn first_nameserver(text: &str) -> Option<SocketAddr> {
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        if words.next() != Some("nameserver") {
            return None;
        }
        let addr = words.next()?;
        // Drop an IPv6 zone index (`fe80::1%eth0`): SocketAddr cannot hold it by name.
        let addr = addr.split('%').next()?;
        addr.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_nameserver_line_wins() {
        let text = "# comment\nsearch example\nnameserver 10.0.0.53\nnameserver 10.0.0.54\n";
        assert_eq!(first_nameserver(text), Some("10.0.0.53:53".parse().expect("addr")));
        assert_eq!(
            first_nameserver("nameserver fe80::1%eth0\n"),
            Some("[fe80::1]:53".parse().expect("addr"))
        );
        assert_eq!(first_nameserver("options ndots:1\n"), None);
    }
}
