//! The system's DNS resolvers, for plain queries when no `--resolver` is
//! given: read with hickory-resolver's system configuration reader, which
//! knows each platform's source — `/etc/resolv.conf` on Linux and the other
//! Unixes, the network adapters' settings on Windows, the system
//! configuration framework on macOS. Every platform difference lives here.
//!
//! Tested on Linux (the `resolv.conf` reading, through the same parser the
//! system reader uses); the Windows and macOS readers are compiled by `cfg`
//! and not tested here.

use std::net::SocketAddr;

use super::error::DnsError;

/// The system's name servers, in the order the system lists them, each at
/// its configured port (53 unless the platform says otherwise).
///
/// # Errors
/// [`DnsError::NoResolver`] when the configuration cannot be read or names
/// no server.
#[expect(
    clippy::result_large_err,
    reason = "DnsError carries both record sets of a conflict; errors are rare and cold"
)]
pub fn system_resolvers() -> Result<Vec<SocketAddr>, DnsError> {
    read().and_then(|servers| {
        if servers.is_empty() {
            Err(no_resolver("it names no name server"))
        } else {
            Ok(servers)
        }
    })
}

/// Where the system configuration comes from, for messages.
#[cfg(windows)]
const SOURCE: &str = "the network adapters' DNS settings";
#[cfg(target_vendor = "apple")]
const SOURCE: &str = "the system's DNS configuration";
#[cfg(all(unix, not(target_vendor = "apple")))]
const SOURCE: &str = "/etc/resolv.conf";
#[cfg(not(any(unix, windows)))]
const SOURCE: &str = "the system's DNS configuration";

fn no_resolver(why: &str) -> DnsError {
    DnsError::NoResolver {
        message: format!(
            "cannot use {SOURCE}: {why}; pass a resolver address (--resolver HOST:PORT or EDGEFED_RESOLVER)"
        ),
    }
}

#[cfg(any(unix, windows))]
#[expect(
    clippy::result_large_err,
    reason = "DnsError carries both record sets of a conflict; errors are rare and cold"
)]
fn read() -> Result<Vec<SocketAddr>, DnsError> {
    let (config, _options) =
        hickory_resolver::system_conf::read_system_conf().map_err(|e| no_resolver(&e.to_string()))?;
    Ok(addresses(&config))
}

/// Platforms hickory-resolver has no system reader for.
#[cfg(not(any(unix, windows)))]
#[expect(
    clippy::result_large_err,
    reason = "DnsError carries both record sets of a conflict; errors are rare and cold"
)]
fn read() -> Result<Vec<SocketAddr>, DnsError> {
    Err(no_resolver(
        "this platform has no system resolver configuration edgefed can read",
    ))
}

/// Each name server's address at the port of its UDP connection (or its
/// first connection), without duplicates.
#[cfg(any(unix, windows))]
fn addresses(config: &hickory_resolver::config::ResolverConfig) -> Vec<SocketAddr> {
    use hickory_resolver::config::ProtocolConfig;
    let mut out: Vec<SocketAddr> = Vec::new();
    for server in config.name_servers() {
        let port = server
            .connections
            .iter()
            .find(|c| matches!(c.protocol, ProtocolConfig::Udp))
            .or_else(|| server.connections.first())
            .map_or(53, |c| c.port);
        let addr = SocketAddr::new(server.ip, port);
        if !out.contains(&addr) {
            out.push(addr);
        }
    }
    out
}

#[cfg(all(test, unix, not(any(target_os = "android", target_vendor = "apple"))))]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Vec<SocketAddr> {
        let (config, _) = hickory_resolver::system_conf::parse_resolv_conf(text).expect("parses");
        addresses(&config)
    }

    #[test]
    fn resolv_conf_name_servers_in_order_at_port_53() {
        let text = "# comment\nsearch example\nnameserver 10.0.0.53\nnameserver 10.0.0.54\noptions ndots:1\n";
        assert_eq!(
            parsed(text),
            ["10.0.0.53:53", "10.0.0.54:53"]
                .map(|a| a.parse::<SocketAddr>().expect("addr"))
                .to_vec()
        );
        // An IPv6 zone index is dropped: a socket address cannot name it.
        assert_eq!(
            parsed("nameserver fe80::1%eth0\nnameserver ::1\n"),
            ["[fe80::1]:53", "[::1]:53"]
                .map(|a| a.parse::<SocketAddr>().expect("addr"))
                .to_vec()
        );
    }

    #[test]
    fn resolv_conf_without_a_name_server_is_refused() {
        assert!(hickory_resolver::system_conf::parse_resolv_conf("options ndots:1\n").is_err());
    }

    #[test]
    fn system_resolvers_reads_this_machine_or_says_what_to_pass() {
        // Reads the real /etc/resolv.conf: what the binary does when no
        // --resolver is given.
        match system_resolvers() {
            Ok(servers) => assert!(!servers.is_empty()),
            Err(e) => {
                let text = e.to_string();
                assert!(
                    text.contains("/etc/resolv.conf") && text.contains("--resolver"),
                    "{text}"
                );
            }
        }
    }
}
