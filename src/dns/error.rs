//! Why a DNS query or update failed: each message names the server, the zone
//! and the record, and says what to check. The library error is kept as the
//! `source`; the TSIG secret never appears.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_net::NetError;

use crate::model::{DnsName, DnsRecord};

/// Shows an optional record set for messages.
pub(crate) fn show(record: Option<&DnsRecord>) -> String {
    match record {
        None => "absent".to_string(),
        Some(DnsRecord::Srv { ttl, targets, .. }) => {
            let list: Vec<String> = targets.iter().map(ToString::to_string).collect();
            format!("SRV {} (ttl {ttl})", list.join(", "))
        }
        Some(DnsRecord::A { ttl, addresses, .. }) => {
            let list: Vec<String> = addresses.iter().map(ToString::to_string).collect();
            format!("A/AAAA {} (ttl {ttl})", list.join(", "))
        }
    }
}

fn refused_hint(key: Option<&str>) -> String {
    match key {
        Some(k) => format!(
            "check that the zone's update-policy grants key \"{k}\" this name and type (e.g. `update-policy {{ grant {k} zonesub ANY; }};`)"
        ),
        None => "the update was unsigned: give the TSIG key the zone's update-policy names (EDGEFED_TSIG_KEY_FILE or EDGEFED_TSIG_KEY)".into(),
    }
}

/// A DNS failure. Every variant names the server and what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The server did not accept our TSIG signature (BADSIG, BADKEY or
    /// BADTIME; hickory reports these unsigned answers as a "truncated HMAC").
    #[error(
        "DNS server {server} rejected the TSIG signature of key \"{key}\" for the update of {record} in zone {zone}: check that the key name, algorithm and secret match the server's `key` statement (and that both clocks agree within 5 minutes)"
    )]
    TsigRejected {
        /// The update server.
        server: SocketAddr,
        /// The zone.
        zone: String,
        /// The record (`A xmpp.contoso.com`).
        record: String,
        /// The key's name (never the secret).
        key: String,
        /// The library error.
        #[source]
        source: Option<Box<NetError>>,
    },
    /// The server refused the update (REFUSED): no key, or the key is not
    /// granted this name by the zone's `update-policy` / `allow-update`.
    #[error(
        "DNS server {server} refused the update of {record} in zone {zone} ({rcode}): {}",
        refused_hint(key.as_deref())
    )]
    UpdateRefused {
        /// The update server.
        server: SocketAddr,
        /// The zone.
        zone: String,
        /// The record.
        record: String,
        /// The response code.
        rcode: String,
        /// The key's name, `None` for an unsigned update.
        key: Option<String>,
    },
    /// The server is not authoritative for the zone (NOTAUTH, SERVFAIL) or
    /// the record is outside it (NOTZONE).
    #[error(
        "DNS server {server} cannot update zone {zone} for {record} ({rcode}): check that {zone} is a primary zone on that server and that the record's name lies in it"
    )]
    UnknownZone {
        /// The update server.
        server: SocketAddr,
        /// The zone.
        zone: String,
        /// The record.
        record: String,
        /// The response code.
        rcode: String,
    },
    /// The record set is no longer what the plan observed: someone changed it
    /// between observe and update, and nothing was overwritten.
    #[error(
        "{name} in zone {zone} on DNS server {server} changed behind our back: expected {}, found {}; nothing was changed: re-run the plan to see the current state",
        show(expected.as_ref()),
        show(found.as_ref())
    )]
    ChangedBehindOurBack {
        /// The update server.
        server: SocketAddr,
        /// The zone.
        zone: String,
        /// The owner name.
        name: DnsName,
        /// What the plan observed (`None` = absent).
        expected: Option<DnsRecord>,
        /// What the server holds now (`None` = absent).
        found: Option<DnsRecord>,
    },
    /// The server answered the update with NOERROR but ignored it because
    /// the owner name holds a CNAME (RFC 2136 §3.4.2.2: a name with a CNAME
    /// can hold no other data, and such an add is silently dropped).
    #[error(
        "{name} holds a CNAME to {cname}; DNS server {server} ignored the {rtype} update in zone {zone} — remove the CNAME (or leave {name} out of the document and manage it as a CNAME by hand), then run again"
    )]
    IgnoredForCname {
        /// The update server.
        server: SocketAddr,
        /// The zone.
        zone: String,
        /// The owner name.
        name: DnsName,
        /// The record type the update set (`A`, `SRV`).
        rtype: String,
        /// The CNAME's target.
        cname: String,
    },
    /// The server answered the update with NOERROR, but reading the set back
    /// gives something else: the change did not stick.
    #[error(
        "DNS server {server} accepted the update of {record} in zone {zone}, but reading it back gives {} instead of {}: the change did not stick — check the server's log and the zone's update-policy, then run again",
        show(found.as_ref()),
        show(Some(expected))
    )]
    NotApplied {
        /// The update server.
        server: SocketAddr,
        /// The zone.
        zone: String,
        /// The record.
        record: String,
        /// The set the update meant to leave.
        expected: DnsRecord,
        /// The set read back (`None` = absent).
        found: Option<DnsRecord>,
    },
    /// The server accepted the update, but the set could not be read back to
    /// check it: whether it holds is unknown.
    #[error(
        "DNS server {server} accepted the update of {record} in zone {zone}, but reading it back failed ({source}); whether the change holds is unknown — check the record (e.g. with dig) and run again"
    )]
    ReadBackFailed {
        /// The update server.
        server: SocketAddr,
        /// The zone.
        zone: String,
        /// The record.
        record: String,
        /// Why the read-back failed.
        #[source]
        source: Box<DnsError>,
    },
    /// A record the server holds cannot be modelled: an SRV target that is
    /// not a host name. Reported rather than read as "absent", so a plan
    /// never overwrites a set it did not see.
    #[error("DNS server {server} holds {rtype} {name} with data `{data}`: {reason}")]
    UnusableRecord {
        /// The server asked.
        server: SocketAddr,
        /// The owner name.
        name: DnsName,
        /// The record type.
        rtype: String,
        /// The record's data as the server gave it.
        data: String,
        /// What is wrong, and what to do.
        reason: String,
    },
    /// No answer within the timeout.
    #[error(
        "DNS server {server} did not answer within {} ms while {what}: check that it listens on that address and port and that no firewall drops DNS (UDP)",
        after.as_millis()
    )]
    Timeout {
        /// The server.
        server: SocketAddr,
        /// What we were doing (`updating A xmpp.contoso.com in zone contoso.com`).
        what: String,
        /// The timeout.
        after: Duration,
    },
    /// The server answered a query with an error.
    #[error(
        "DNS server {server} answered the {rtype} query for {name} with {rcode}: check that it is authoritative for (or can resolve) that name"
    )]
    QueryFailed {
        /// The server.
        server: SocketAddr,
        /// The name asked.
        name: DnsName,
        /// The type asked.
        rtype: String,
        /// The response code.
        rcode: String,
    },
    /// The server answered an update with another error.
    #[error("DNS server {server} answered the update of {record} in zone {zone} with {rcode}: see the server's log")]
    UpdateFailed {
        /// The server.
        server: SocketAddr,
        /// The zone.
        zone: String,
        /// The record.
        record: String,
        /// The response code.
        rcode: String,
    },
    /// A network or protocol error talking to the server.
    #[error("talking to DNS server {server} while {what} failed: {source}")]
    Transport {
        /// The server.
        server: SocketAddr,
        /// What we were doing.
        what: String,
        /// The library error.
        #[source]
        source: Box<NetError>,
    },
    /// The request itself is invalid (name outside the zone, mismatched
    /// desired and observed names, unusable key).
    #[error("invalid DNS request for {record} in zone {zone}: {message}")]
    InvalidRequest {
        /// The zone.
        zone: String,
        /// The record.
        record: String,
        /// What is wrong.
        message: String,
    },
    /// No resolver is configured for plain queries.
    #[error("no DNS resolver to ask: {message}")]
    NoResolver {
        /// What is wrong (e.g. the system configuration names no server).
        message: String,
    },
}
