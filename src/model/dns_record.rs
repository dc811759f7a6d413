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

/// One record of an SRV record set: where it sends clients, and in which order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SrvTarget {
    /// SRV priority: clients try the lowest number first (RFC 2782).
    pub priority: u16,
    /// SRV weight among records of the same priority.
    pub weight: u16,
    /// SRV port.
    pub port: u16,
    /// SRV target host.
    pub target: Fqdn,
}

impl fmt::Display for SrvTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {} {}", self.priority, self.weight, self.port, self.target)
    }
}

/// Sorts SRV records into their canonical order: by priority, then target,
/// port and weight, without duplicates. Two sets are the same set exactly
/// when their canonical lists are equal.
#[must_use]
pub fn canonical_srv(mut targets: Vec<SrvTarget>) -> Vec<SrvTarget> {
    targets.sort_by(|a, b| (a.priority, &a.target, a.port, a.weight).cmp(&(b.priority, &b.target, b.port, b.weight)));
    targets.dedup();
    targets
}

/// One record set as observed or desired.
///
/// An SRV set holds every record of its name: an administrator may publish
/// one record per Edge pool with different priorities, and edgefed never
/// reduces such a set to one record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RecordForm", into = "RecordForm")]
pub enum DnsRecord {
    /// An SRV record set (one or more records of one owner name).
    Srv {
        /// Owner name, e.g. `_xmpp-server._tcp.contoso.com`.
        name: DnsName,
        /// Time to live in seconds.
        ttl: u32,
        /// The records, in canonical order ([`canonical_srv`]); never empty.
        targets: Vec<SrvTarget>,
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

/// How a record set is written in JSON and YAML: a one-record SRV set keeps
/// the flat form (`priority`, `weight`, `port`, `target`) plans and lab
/// files always had; a larger set lists its records under `records`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename = "DnsRecord", tag = "type", deny_unknown_fields)]
enum RecordForm {
    #[serde(rename = "SRV")]
    Srv {
        name: DnsName,
        ttl: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        priority: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weight: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<Fqdn>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        records: Vec<SrvTarget>,
    },
    A {
        name: DnsName,
        ttl: u32,
        addresses: Vec<IpAddr>,
    },
}

/// An SRV set written in neither form, or in both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvFormError(String);

impl fmt::Display for SrvFormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SrvFormError {}

impl TryFrom<RecordForm> for DnsRecord {
    type Error = SrvFormError;
    fn try_from(form: RecordForm) -> Result<Self, Self::Error> {
        match form {
            RecordForm::A { name, ttl, addresses } => Ok(Self::A { name, ttl, addresses }),
            RecordForm::Srv {
                name,
                ttl,
                priority,
                weight,
                port,
                target,
                records,
            } => {
                let flat = match (priority, weight, port, target) {
                    (None, None, None, None) => None,
                    (Some(priority), Some(weight), Some(port), Some(target)) => Some(SrvTarget {
                        priority,
                        weight,
                        port,
                        target,
                    }),
                    _ => {
                        return Err(SrvFormError(format!(
                            "SRV record set {name}: give all of `priority`, `weight`, `port` and `target`, or list the records under `records`"
                        )));
                    }
                };
                let targets = match (flat, records.is_empty()) {
                    (Some(one), true) => vec![one],
                    (None, false) => records,
                    (Some(_), false) => {
                        return Err(SrvFormError(format!(
                            "SRV record set {name}: write either one record (`priority`, `weight`, `port`, `target`) or `records`, not both"
                        )));
                    }
                    (None, true) => {
                        return Err(SrvFormError(format!("SRV record set {name} has no record")));
                    }
                };
                Ok(Self::Srv {
                    name,
                    ttl,
                    targets: canonical_srv(targets),
                })
            }
        }
    }
}

impl From<DnsRecord> for RecordForm {
    fn from(r: DnsRecord) -> Self {
        match r {
            DnsRecord::A { name, ttl, addresses } => Self::A { name, ttl, addresses },
            DnsRecord::Srv { name, ttl, targets } => match <[SrvTarget; 1]>::try_from(targets) {
                Ok([one]) => Self::Srv {
                    name,
                    ttl,
                    priority: Some(one.priority),
                    weight: Some(one.weight),
                    port: Some(one.port),
                    target: Some(one.target),
                    records: Vec::new(),
                },
                Err(records) => Self::Srv {
                    name,
                    ttl,
                    priority: None,
                    weight: None,
                    port: None,
                    target: None,
                    records,
                },
            },
        }
    }
}

impl DnsRecord {
    /// An SRV record set of `targets`, put in canonical order.
    #[must_use]
    pub fn srv(name: DnsName, ttl: u32, targets: Vec<SrvTarget>) -> Self {
        Self::Srv {
            name,
            ttl,
            targets: canonical_srv(targets),
        }
    }

    /// The owner name.
    #[must_use]
    pub fn name(&self) -> &DnsName {
        match self {
            Self::Srv { name, .. } | Self::A { name, .. } => name,
        }
    }

    /// For an SRV set, the target clients try first: the one record of the
    /// lowest priority number, or `None` when several records share it (then
    /// no single target is first) or for an A record set.
    #[must_use]
    pub fn first_srv_target(&self) -> Option<&SrvTarget> {
        match self {
            Self::Srv { targets, .. } => match targets.as_slice() {
                [only] => Some(only),
                [first, second, ..] if first.priority < second.priority => Some(first),
                _ => None,
            },
            Self::A { .. } => None,
        }
    }

    /// The record set as zone-file lines, e.g.
    /// `_xmpp-server._tcp.contoso.com. 300 IN SRV 0 100 5269 xmpp.contoso.com.`
    #[must_use]
    pub fn zone_file_lines(&self) -> Vec<String> {
        match self {
            Self::Srv { name, ttl, targets } => targets.iter().map(|t| format!("{name}. {ttl} IN SRV {t}.")).collect(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fqdn(s: &str) -> Fqdn {
        Fqdn::parse(s).expect("FQDN")
    }

    fn record(priority: u16, target: &str) -> SrvTarget {
        SrvTarget {
            priority,
            weight: 100,
            port: 5269,
            target: fqdn(target),
        }
    }

    #[test]
    fn a_one_record_set_keeps_the_flat_form_and_a_larger_one_lists_its_records() {
        let name = DnsName::xmpp_srv(&fqdn("contoso.com"));
        let one = DnsRecord::srv(name.clone(), 300, vec![record(0, "xmpp.contoso.com")]);
        let text = serde_json::to_string(&one).expect("JSON");
        assert_eq!(
            text,
            r#"{"type":"SRV","name":"_xmpp-server._tcp.contoso.com","ttl":300,"priority":0,"weight":100,"port":5269,"target":"xmpp.contoso.com"}"#
        );
        assert_eq!(serde_json::from_str::<DnsRecord>(&text).expect("read back"), one);

        // Written in any order, read in canonical order: never reduced.
        let two = DnsRecord::srv(
            name,
            300,
            vec![record(20, "sip2.contoso.com"), record(10, "sip1.contoso.com")],
        );
        let text = serde_json::to_string(&two).expect("JSON");
        assert!(text.contains(r#""records":[{"priority":10"#), "{text}");
        let back: DnsRecord = serde_json::from_str(&text).expect("read back");
        assert_eq!(back, two);
        assert_eq!(
            back.first_srv_target().map(|t| t.target.as_str()),
            Some("sip1.contoso.com")
        );
        assert_eq!(back.zone_file_lines().len(), 2);
    }

    #[test]
    fn an_srv_set_in_both_forms_or_in_neither_is_refused() {
        let both = r#"{"type":"SRV","name":"_xmpp-server._tcp.contoso.com","ttl":300,"priority":0,"weight":100,"port":5269,"target":"x.contoso.com","records":[{"priority":1,"weight":1,"port":5269,"target":"y.contoso.com"}]}"#;
        let err = serde_json::from_str::<DnsRecord>(both).expect_err("both forms");
        assert!(err.to_string().contains("not both"), "{err}");
        let half = r#"{"type":"SRV","name":"_xmpp-server._tcp.contoso.com","ttl":300,"priority":0}"#;
        assert!(serde_json::from_str::<DnsRecord>(half).is_err());
        let none = r#"{"type":"SRV","name":"_xmpp-server._tcp.contoso.com","ttl":300}"#;
        assert!(serde_json::from_str::<DnsRecord>(none).is_err());
    }

    #[test]
    fn no_single_first_target_when_the_lowest_priority_is_shared() {
        let name = DnsName::xmpp_srv(&fqdn("contoso.com"));
        let tied = DnsRecord::srv(
            name,
            300,
            vec![record(10, "a.contoso.com"), record(10, "b.contoso.com")],
        );
        assert_eq!(tied.first_srv_target(), None);
    }
}
