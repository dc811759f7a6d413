//! External DNS records edgefed manages: the federation SRV records and the
//! A records of the hosts they point at.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{Fqdn, FqdnError};

/// A record type edgefed manages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RecordType {
    /// A service locator (`_xmpp-server._tcp`, `_sipfederationtls._tcp`).
    #[serde(rename = "SRV")]
    Srv,
    /// Host addresses (A and AAAA together).
    A,
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Srv => "SRV",
            Self::A => "A",
        })
    }
}

/// One record set as observed or desired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum DnsRecord {
    /// An SRV record set with a single target.
    #[serde(rename = "SRV")]
    Srv {
        /// Owner name, e.g. `_xmpp-server._tcp.contoso.com`.
        name: DnsName,
        /// Time to live in seconds.
        ttl: u32,
        /// SRV priority.
        priority: u16,
        /// SRV weight.
        weight: u16,
        /// SRV port.
        port: u16,
        /// SRV target host.
        target: Fqdn,
    },
    /// The addresses of a host (A for IPv4, AAAA for IPv6).
    A {
        /// Owner name, e.g. `xmpp.contoso.com`.
        name: DnsName,
        /// Time to live in seconds.
        ttl: u32,
        /// The addresses, sorted.
        addresses: Vec<IpAddr>,
    },
}

impl DnsRecord {
    /// The owner name.
    #[must_use]
    pub fn name(&self) -> &DnsName {
        match self {
            Self::Srv { name, .. } | Self::A { name, .. } => name,
        }
    }

    /// The record set as zone-file lines, e.g.
    /// `_xmpp-server._tcp.contoso.com. 300 IN SRV 0 100 5269 xmpp.contoso.com.`
    #[must_use]
    pub fn zone_file_lines(&self) -> Vec<String> {
        match self {
            Self::Srv {
                name,
                ttl,
                priority,
                weight,
                port,
                target,
            } => {
                vec![format!("{name}. {ttl} IN SRV {priority} {weight} {port} {target}.")]
            }
            Self::A { name, ttl, addresses } => addresses
                .iter()
                .map(|a| format!("{name}. {ttl} IN {} {a}", if a.is_ipv4() { "A" } else { "AAAA" }))
                .collect(),
        }
    }

    /// The record type.
    #[must_use]
    pub fn record_type(&self) -> RecordType {
        match self {
            Self::Srv { .. } => RecordType::Srv,
            Self::A { .. } => RecordType::A,
        }
    }
}

/// A DNS owner name: a host name whose labels may also start with `_`
/// (service labels such as `_xmpp-server._tcp`). Stored lower-case.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DnsName(String);

impl DnsName {
    /// Parses an owner name.
    ///
    /// # Errors
    /// [`FqdnError`] when a label is not a host-name label or `_label`.
    pub fn parse(s: &str) -> Result<Self, FqdnError> {
        let trimmed = s.strip_suffix('.').unwrap_or(s);
        // Service labels are host-name labels with a leading underscore:
        // validate them as such by checking the rest of the name as an FQDN.
        let host_part: Vec<&str> = trimmed.split('.').map(|l| l.strip_prefix('_').unwrap_or(l)).collect();
        Fqdn::parse(&host_part.join("."))?;
        Ok(Self(trimmed.to_ascii_lowercase()))
    }

    /// The record name of a host.
    #[must_use]
    pub fn host(fqdn: &Fqdn) -> Self {
        Self(fqdn.as_str().to_string())
    }

    /// The XMPP server-to-server SRV owner name of `zone`.
    #[must_use]
    pub fn xmpp_srv(zone: &Fqdn) -> Self {
        Self(format!("_xmpp-server._tcp.{zone}"))
    }

    /// The SIP federation SRV owner name of `zone`.
    #[must_use]
    pub fn sip_srv(zone: &Fqdn) -> Self {
        Self(format!("_sipfederationtls._tcp.{zone}"))
    }

    /// The lower-case name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DnsName {
    type Error = FqdnError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<DnsName> for String {
    fn from(n: DnsName) -> Self {
        n.0
    }
}

impl fmt::Display for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
