//! The input of [`Deployment::fingerprint`]: an explicit, versioned record of
//! what a saved plan was made against. It is its own type so that a change
//! to the domain types (a new field, a renamed one) cannot silently change
//! the fingerprint and make every saved plan stale.
//!
//! Version 1, hashed as compact JSON (SHA-256, first 16 bytes, hex), with
//! the keys in this order; maps sorted by key; `null` for an absent value:
//!
//! - `signature`: the published topology's signature
//! - `sites`: by name → `federationRoute`, `xmppFederationRoute` (FQDN or `null`)
//! - `edgePools`: by FQDN → `site`, `sipFederation`, `xmppFederation`,
//!   `nextHop` (FQDN or `null`), `externalAddresses` (in observed order),
//!   `computers`
//! - `frontEndPools`: by FQDN → `site`, `mediaEdgePool` (FQDN or `null`),
//!   `backupPool` (left out when absent), `failedOver` (`true`, `false`, or
//!   when unknown `{"unknown":{"recorded":…}}`), `computers`
//! - `computers`: by FQDN → `reachable`, `services` (`running` | `stopped`),
//!   `setupPending` (left out when false)
//! - `centralManagement` (left out when not observed): `pool`, `available`,
//!   `backup` (left out when unknown: `pool`, `sqlServer`, `sqlInstance`
//!   left out when absent)
//! - `dns` (left out when empty): in observed order, `{"type":"SRV","name",
//!   "ttl","priority","weight","port","target"}` or `{"type":"A","name",
//!   "ttl","addresses"}`; an SRV set of several records gives one SRV entry
//!   per record, in the set's canonical order (priority, target, port,
//!   weight). A one-record set gives the entry it always gave; a saved plan
//!   made by a version that reduced a larger set to one record is stale, as it
//!   should be: it would have replaced the whole set.
//!
//! The Edge pools' Access Edge external FQDN is not an input: it is part of
//! the published topology, whose `signature` changes with every publish.
//!
//! FQDNs and DNS names are lower-case, addresses in their usual text form.
//! `centralManagement` and the unknown form of `failedOver` were added
//! without a new version: they are left out (or written as before) for every
//! deployment that predates them, whose fingerprints therefore stay the same.
//! A change to any of this is a new version: add a `FingerprintInputV2` and
//! hash its version with it, so that fingerprints of the two never collide.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{CentralManagement, Computer, Deployment, DnsRecord, EdgePool, FailoverState, FrontEndPool, Site};

/// The fingerprint of `deployment`: 32 hex digits.
pub(super) fn fingerprint(deployment: &Deployment) -> String {
    use sha2::{Digest, Sha256};
    let input = FingerprintInputV1::from(deployment);
    // Hashed as it is written, without holding the JSON text (tens of
    // megabytes for a large estate). Strings, numbers, booleans and
    // string-keyed maps: serialising cannot fail.
    let mut hasher = Hashing(Sha256::new());
    let _ = serde_json::to_writer(std::io::BufWriter::with_capacity(64 * 1024, &mut hasher), &input);
    hex::encode(&hasher.0.finalize()[..16])
}

/// A writer that feeds what is written to a hash.
struct Hashing<D>(D);

impl<D: sha2::Digest> std::io::Write for Hashing<D> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Version 1 of the fingerprint input (see the module documentation).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FingerprintInputV1<'a> {
    signature: &'a str,
    sites: BTreeMap<&'a str, SiteV1<'a>>,
    edge_pools: BTreeMap<&'a str, EdgePoolV1<'a>>,
    front_end_pools: BTreeMap<&'a str, FrontEndPoolV1<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    central_management: Option<&'a CentralManagement>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dns: Vec<RecordV1<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SiteV1<'a> {
    federation_route: Option<&'a str>,
    xmpp_federation_route: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EdgePoolV1<'a> {
    site: &'a str,
    sip_federation: bool,
    xmpp_federation: bool,
    next_hop: Option<&'a str>,
    external_addresses: Vec<String>,
    computers: BTreeMap<&'a str, ComputerV1>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FrontEndPoolV1<'a> {
    site: &'a str,
    media_edge_pool: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup_pool: Option<&'a str>,
    failed_over: FailoverState,
    computers: BTreeMap<&'a str, ComputerV1>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ComputerV1 {
    reachable: bool,
    services: &'static str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    setup_pending: bool,
}

#[derive(Serialize)]
#[serde(tag = "type")]
enum RecordV1<'a> {
    #[serde(rename = "SRV")]
    Srv {
        name: &'a str,
        ttl: u32,
        priority: u16,
        weight: u16,
        port: u16,
        target: &'a str,
    },
    A {
        name: &'a str,
        ttl: u32,
        addresses: Vec<String>,
    },
}

impl<'a> From<&'a Deployment> for FingerprintInputV1<'a> {
    fn from(d: &'a Deployment) -> Self {
        Self {
            signature: &d.signature,
            sites: d
                .sites
                .iter()
                .map(|(name, s)| (name.as_str(), SiteV1::from(s)))
                .collect(),
            edge_pools: d
                .edge_pools
                .iter()
                .map(|(f, p)| (f.as_str(), EdgePoolV1::from(p)))
                .collect(),
            front_end_pools: d
                .front_end_pools
                .iter()
                .map(|(f, p)| (f.as_str(), FrontEndPoolV1::from(p)))
                .collect(),
            central_management: d.central_management.as_ref(),
            dns: d.dns.iter().flat_map(records_v1).collect(),
        }
    }
}

impl<'a> From<&'a Site> for SiteV1<'a> {
    fn from(s: &'a Site) -> Self {
        Self {
            federation_route: s.federation_route.as_ref().map(super::Fqdn::as_str),
            xmpp_federation_route: s.xmpp_federation_route.as_ref().map(super::Fqdn::as_str),
        }
    }
}

impl<'a> From<&'a EdgePool> for EdgePoolV1<'a> {
    fn from(p: &'a EdgePool) -> Self {
        Self {
            site: &p.site,
            sip_federation: p.sip_federation,
            xmpp_federation: p.xmpp_federation,
            next_hop: p.next_hop.as_ref().map(super::Fqdn::as_str),
            external_addresses: p.external_addresses.iter().map(ToString::to_string).collect(),
            computers: computers(&p.computers),
        }
    }
}

impl<'a> From<&'a FrontEndPool> for FrontEndPoolV1<'a> {
    fn from(p: &'a FrontEndPool) -> Self {
        Self {
            site: &p.site,
            media_edge_pool: p.media_edge_pool.as_ref().map(super::Fqdn::as_str),
            backup_pool: p.backup_pool.as_ref().map(super::Fqdn::as_str),
            failed_over: p.failed_over,
            computers: computers(&p.computers),
        }
    }
}

fn computers(c: &BTreeMap<super::Fqdn, Computer>) -> BTreeMap<&str, ComputerV1> {
    c.iter()
        .map(|(f, c)| {
            (
                f.as_str(),
                ComputerV1 {
                    reachable: c.reachable,
                    services: c.services.as_str(),
                    setup_pending: c.setup_pending,
                },
            )
        })
        .collect()
}

/// A record set's entries: an SRV set gives one entry per record, in its
/// canonical order (a one-record set gives exactly the entry it always
/// gave); an A set gives one entry.
fn records_v1(r: &DnsRecord) -> Vec<RecordV1<'_>> {
    match r {
        DnsRecord::Srv { name, ttl, targets } => targets
            .iter()
            .map(|t| RecordV1::Srv {
                name: name.as_str(),
                ttl: *ttl,
                priority: t.priority,
                weight: t.weight,
                port: t.port,
                target: t.target.as_str(),
            })
            .collect(),
        DnsRecord::A { name, ttl, addresses } => vec![RecordV1::A {
            name: name.as_str(),
            ttl: *ttl,
            addresses: addresses.iter().map(ToString::to_string).collect(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DnsName, Fqdn, ServiceState, SrvTarget};

    fn fqdn(s: &str) -> Fqdn {
        Fqdn::parse(s).expect("FQDN")
    }

    fn computer(reachable: bool, services: ServiceState, setup_pending: bool) -> Computer {
        Computer {
            reachable,
            services,
            setup_pending,
        }
    }

    /// A deployment with every optional field both set and unset.
    fn known() -> Deployment {
        let mut d = Deployment {
            signature: "6f0c2a61".into(),
            ..Deployment::default()
        };
        d.sites.insert(
            "Site1".into(),
            Site {
                federation_route: Some(fqdn("edgepool1.contoso.com")),
                xmpp_federation_route: None,
            },
        );
        d.sites.insert("Site 2".into(), Site::default());
        d.edge_pools.insert(
            fqdn("edgepool1.contoso.com"),
            EdgePool {
                site: "Site1".into(),
                sip_federation: true,
                xmpp_federation: false,
                next_hop: Some(fqdn("fepool1.contoso.com")),
                external_addresses: vec!["192.0.2.10".parse().expect("IP"), "2001:db8::10".parse().expect("IP")],
                public_addresses_unknown: false,
                product: None,
                access_edge_fqdn: None,
                computers: [
                    (fqdn("edge1a.contoso.com"), computer(true, ServiceState::Running, true)),
                    (
                        fqdn("edge1b.contoso.com"),
                        computer(false, ServiceState::Stopped, false),
                    ),
                ]
                .into(),
            },
        );
        d.edge_pools.insert(
            fqdn("edgepool2.contoso.com"),
            EdgePool {
                site: "Site 2".into(),
                sip_federation: false,
                xmpp_federation: true,
                next_hop: None,
                external_addresses: Vec::new(),
                public_addresses_unknown: false,
                product: None,
                access_edge_fqdn: None,
                computers: BTreeMap::new(),
            },
        );
        d.front_end_pools.insert(
            fqdn("fepool1.contoso.com"),
            FrontEndPool {
                site: "Site1".into(),
                media_edge_pool: Some(fqdn("edgepool1.contoso.com")),
                backup_pool: Some(fqdn("fepool2.contoso.com")),
                failed_over: FailoverState::FailedOver,
                computers: [(fqdn("fe1.contoso.com"), computer(true, ServiceState::Running, false))].into(),
            },
        );
        d.front_end_pools.insert(
            fqdn("fepool2.contoso.com"),
            FrontEndPool {
                site: "Site 2".into(),
                media_edge_pool: None,
                backup_pool: None,
                failed_over: FailoverState::NotFailedOver,
                computers: BTreeMap::new(),
            },
        );
        d.dns = vec![
            DnsRecord::srv(
                DnsName::parse("_xmpp-server._tcp.contoso.com").expect("name"),
                300,
                vec![SrvTarget {
                    priority: 0,
                    weight: 100,
                    port: 5269,
                    target: fqdn("xmpp.contoso.com"),
                }],
            ),
            DnsRecord::A {
                name: DnsName::parse("xmpp.contoso.com").expect("name"),
                ttl: 60,
                addresses: vec!["192.0.2.10".parse().expect("IP")],
            },
        ];
        d
    }

    /// The fingerprint is part of every saved plan: a change to it makes
    /// `reconcile --plan` refuse plans saved before. These values are fixed
    /// on purpose; change them only with a new fingerprint input version.
    #[test]
    fn a_known_deployment_keeps_its_fingerprint() {
        let d = known();
        assert_eq!(d.fingerprint(), "106a092a0eec49d96a203660a5a5bfca");
        let mut without_dns = d;
        without_dns.dns.clear();
        assert_eq!(without_dns.fingerprint(), "ec9f7d35c75a00afcbc458a454d9a7db");
        assert_eq!(Deployment::default().fingerprint(), "e82bf1fe515335aba263c4066c96534b");
    }

    #[test]
    fn every_field_counts() {
        let base = known().fingerprint();
        type Change = (&'static str, fn(&mut Deployment));
        let changes: Vec<Change> = vec![
            ("signature", |d| d.signature.push('x')),
            ("xmpp route", |d| {
                d.sites.get_mut("Site1").expect("site").xmpp_federation_route = Some(fqdn("edgepool2.contoso.com"));
            }),
            ("next hop", |d| {
                d.edge_pools.values_mut().for_each(|p| p.next_hop = None);
            }),
            ("address order", |d| {
                d.edge_pools.values_mut().for_each(|p| p.external_addresses.reverse());
            }),
            ("setup pending", |d| {
                d.edge_pools
                    .values_mut()
                    .flat_map(|p| p.computers.values_mut())
                    .for_each(|c| c.setup_pending = !c.setup_pending);
            }),
            ("backup pool", |d| {
                d.front_end_pools.values_mut().for_each(|p| p.backup_pool = None);
            }),
            ("DNS TTL", |d| {
                if let Some(DnsRecord::A { ttl, .. }) = d.dns.last_mut() {
                    *ttl += 1;
                }
            }),
        ];
        for (what, change) in changes {
            let mut d = known();
            change(&mut d);
            assert_ne!(d.fingerprint(), base, "{what} does not change the fingerprint");
        }
    }
}
