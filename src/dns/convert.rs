//! Conversions between edgefed's record sets and hickory's wire records.

use std::net::IpAddr;

use hickory_proto::rr::rdata::{A, AAAA, SRV};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType as WireType};

use crate::model::{DnsName, DnsRecord, Fqdn, RecordType, SrvTarget};

/// An absolute wire name for an owner name.
pub(crate) fn wire_name(name: &str) -> Result<Name, String> {
    Name::from_ascii(format!("{}.", name.trim_end_matches('.'))).map_err(|e| e.to_string())
}

/// The wire types of a record type: SRV, or A and AAAA.
pub(crate) fn wire_types(rtype: RecordType) -> &'static [WireType] {
    match rtype {
        RecordType::Srv => &[WireType::SRV],
        RecordType::A => &[WireType::A, WireType::AAAA],
    }
}

/// `A xmpp.contoso.com`, for messages.
pub(crate) fn describe(name: &DnsName, rtype: RecordType) -> String {
    format!("{rtype} {name}")
}

/// The RDATA of a record set, per wire type (types without data are left out).
pub(crate) fn rdatas(record: &DnsRecord) -> Result<Vec<(WireType, RData)>, String> {
    match record {
        DnsRecord::Srv { targets, .. } => targets
            .iter()
            .map(|t| {
                Ok((
                    WireType::SRV,
                    RData::SRV(SRV::new(t.priority, t.weight, t.port, wire_name(t.target.as_str())?)),
                ))
            })
            .collect(),
        DnsRecord::A { addresses, .. } => Ok(addresses
            .iter()
            .map(|a| match a {
                IpAddr::V4(v4) => (WireType::A, RData::A(A(*v4))),
                IpAddr::V6(v6) => (WireType::AAAA, RData::AAAA(AAAA(*v6))),
            })
            .collect()),
    }
}

/// The TTL of a record set.
pub(crate) fn ttl(record: &DnsRecord) -> u32 {
    match record {
        DnsRecord::Srv { ttl, .. } | DnsRecord::A { ttl, .. } => *ttl,
    }
}

/// A record of class `class` (IN to add or as a value prerequisite, NONE to
/// delete one RR).
pub(crate) fn record(name: &Name, ttl: u32, class: DNSClass, data: RData) -> Record {
    let mut r = Record::from_rdata(name.clone(), ttl, data);
    r.dns_class = class;
    r
}

/// An empty-RDATA record: class ANY deletes / requires the RRset, class NONE
/// requires its absence.
pub(crate) fn empty(name: &Name, class: DNSClass, rtype: WireType) -> Record {
    let mut r = Record::update0(name.clone(), 0, rtype);
    r.dns_class = class;
    r
}

/// A record in an answer that edgefed cannot model: its data as the server
/// gave it, and what is wrong with it.
#[derive(Debug)]
pub(crate) struct Unusable {
    pub data: String,
    pub reason: String,
}

/// The target of one SRV record as a host name.
///
/// A target of `.` is RFC 2782's "service decidedly not available at this
/// domain". edgefed's SRV sets are lists of hosts, so such a set cannot be
/// shown to the planner as what it is; reading it as "absent" would let a
/// plan's prerequisite ("no SRV set here") fail or, worse, hide it. It is
/// reported as an [`Unusable`] record instead, telling the user to delete it:
/// the planner never sees a "no service" set. A target that is not a valid
/// host name is reported the same way.
fn srv_target(name: &DnsName, srv: &SRV) -> Result<Fqdn, Unusable> {
    let target = srv.target.to_ascii();
    let data = format!("{} {} {} {target}", srv.priority, srv.weight, srv.port);
    if srv.target.is_root() {
        return Err(Unusable {
            data,
            reason: format!(
                "a target of `.` means \"service decidedly not available\" (RFC 2782), which edgefed does not manage — delete that record (nsupdate: `update delete {name} SRV`) and run again"
            ),
        });
    }
    Fqdn::parse(&target).map_err(|e| Unusable {
        data,
        reason: format!(
            "the target is not a valid host name ({e}) — fix or delete that record on the server, then run again"
        ),
    })
}

/// Builds the record set of `name` from the answers of its queries
/// (SRV, or A and AAAA). `Ok(None)` when no matching record was returned.
///
/// An SRV set keeps every record (an administrator may publish one per Edge
/// pool, each with its own priority), in canonical order; its TTL is the
/// lowest of its records'.
///
/// # Errors
/// An SRV record whose target is not a host name (see [`srv_target`]).
pub(crate) fn from_answers(
    name: &DnsName,
    rtype: RecordType,
    answers: &[Record],
) -> Result<Option<DnsRecord>, Unusable> {
    let wanted = |r: &&Record| {
        r.name
            .to_ascii()
            .trim_end_matches('.')
            .eq_ignore_ascii_case(name.as_str())
    };
    match rtype {
        RecordType::Srv => {
            let srvs: Vec<(u32, &SRV)> = answers
                .iter()
                .filter(wanted)
                .filter_map(|r| match &r.data {
                    RData::SRV(s) => Some((r.ttl, s)),
                    _ => None,
                })
                .collect();
            let Some(ttl) = srvs.iter().map(|(ttl, _)| *ttl).min() else {
                return Ok(None);
            };
            let targets = srvs
                .iter()
                .map(|(_, srv)| {
                    Ok(SrvTarget {
                        priority: srv.priority,
                        weight: srv.weight,
                        port: srv.port,
                        target: srv_target(name, srv)?,
                    })
                })
                .collect::<Result<Vec<_>, Unusable>>()?;
            Ok(Some(DnsRecord::srv(name.clone(), ttl, targets)))
        }
        RecordType::A => {
            let mut ttl: Option<u32> = None;
            let mut addresses: Vec<IpAddr> = answers
                .iter()
                .filter(wanted)
                .filter_map(|r| {
                    let addr = match &r.data {
                        RData::A(a) => IpAddr::V4(a.0),
                        RData::AAAA(a) => IpAddr::V6(a.0),
                        _ => return None,
                    };
                    ttl = Some(ttl.map_or(r.ttl, |t| t.min(r.ttl)));
                    Some(addr)
                })
                .collect();
            addresses.sort();
            addresses.dedup();
            Ok(ttl.map(|ttl| DnsRecord::A {
                name: name.clone(),
                ttl,
                addresses,
            }))
        }
    }
}

/// Whether two record sets hold the same data (TTL included).
pub(crate) fn same(a: Option<&DnsRecord>, b: Option<&DnsRecord>) -> bool {
    match (a, b) {
        (None, None) => true,
        (
            Some(DnsRecord::A {
                ttl: t1,
                addresses: a1,
                name: n1,
            }),
            Some(DnsRecord::A {
                ttl: t2,
                addresses: a2,
                name: n2,
            }),
        ) => {
            let mut a1 = a1.clone();
            let mut a2 = a2.clone();
            a1.sort();
            a2.sort();
            n1 == n2 && t1 == t2 && a1 == a2
        }
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}
