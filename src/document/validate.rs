//! The static rules V1–V7 of the document (README, "Rules"): from the document as written to the
//! [`Desired`] state it means. Every problem found is reported, not just the
//! first.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_saphyr::Spanned;

use super::file::{DocumentFile, ServicesSpec, SipDnsSpec, XmppDnsSpec};
use super::{
    Desired, DesiredEdgePool, DesiredFrontEndPool, DesiredRecords, DesiredSite, DesiredZone, Located, Source,
    SrvTargets,
};
use crate::diagnostic::{Diagnostic, Diagnostics, Position};
use crate::model::{Fqdn, ServiceState};

/// TTL used when a DNS host gives none.
pub const DEFAULT_TTL: u32 = 300;

/// The position of a spanned value.
pub(crate) fn position<T>(s: &Spanned<T>) -> Option<Position> {
    let l = s.referenced;
    (l.line() > 0).then(|| Position {
        line: u32::try_from(l.line()).unwrap_or(u32::MAX),
        column: u32::try_from(l.column()).unwrap_or(u32::MAX),
        len: u32::try_from(l.span().len()).unwrap_or(0),
    })
}

struct Checker {
    problems: Vec<Diagnostic>,
}

impl Checker {
    fn fqdn(&mut self, what: &str, raw: &str, at: Option<Position>) -> Option<Fqdn> {
        match Fqdn::parse(raw) {
            Ok(f) => Some(f),
            Err(e) => {
                self.problems.push(
                    Diagnostic::rule("V2", format!("{what} `{raw}` is not a valid FQDN: {e}"))
                        .at(at)
                        .help("write the fully qualified host name, e.g. `edgepool1.contoso.com`"),
                );
                None
            }
        }
    }

    /// A route value: an Edge pool FQDN, or `EdgeServer:<fqdn>` (normalised).
    fn route(&mut self, what: &str, raw: &str, at: Option<Position>) -> Option<Fqdn> {
        let bare = raw
            .get(..11)
            .filter(|p| p.eq_ignore_ascii_case("EdgeServer:"))
            .map_or(raw, |_| &raw[11..]);
        self.fqdn(what, bare, at)
    }

    /// Pool names differ only in case when YAML sees two keys: the second is
    /// a duplicate.
    fn once<V>(&mut self, seen: &BTreeMap<Fqdn, V>, what: &str, pool: &Fqdn, at: Option<Position>) {
        if seen.contains_key(pool) {
            self.problems.push(
                Diagnostic::plain(format!(
                    "{what} {pool} is listed twice (names compare case-insensitively)"
                ))
                .at(at)
                .help("merge the two entries"),
            );
        }
    }

    fn host(&mut self, h: &Spanned<String>) -> Option<Located<Fqdn>> {
        let at = position(h);
        self.fqdn("DNS host", &h.value, at).map(|f| Located::new(f, at))
    }

    fn v7(&mut self, message: String, at: Option<Position>, help: &str) {
        self.problems
            .push(Diagnostic::rule("V7", message).at(at).help(help.to_string()));
    }

    /// `dns[].xmpp`: `host` (its A record follows the route unless
    /// `moveAddress: false`), `hosts` (an SRV set, one record per pool), or
    /// neither (the XMPP pool's Access Edge FQDN).
    fn xmpp_records(&mut self, x: XmppDnsSpec) -> Option<DesiredRecords> {
        let ttl = x.ttl.unwrap_or(DEFAULT_TTL);
        let move_at = x.move_address.as_ref().and_then(position);
        let targets = match (x.host, x.hosts) {
            (Some(host), Some(hosts)) => {
                self.v7(
                    "`xmpp` has both `host` and `hosts`".into(),
                    position(&host),
                    "write `host` for one shared host whose A record follows the route, or `hosts` for an SRV record per Edge pool",
                );
                let _ = hosts;
                return None;
            }
            (Some(host), None) => SrvTargets::Host {
                host: self.host(&host)?,
                move_address: x.move_address.is_none_or(|m| m.value),
            },
            (None, Some(hosts)) => {
                if x.move_address.is_some() {
                    self.v7(
                        "`moveAddress` does not go with `hosts`: each pool's host keeps its own A record".into(),
                        move_at,
                        "remove `moveAddress`",
                    );
                }
                if hosts.is_empty() {
                    self.v7(
                        "`xmpp.hosts` is empty".into(),
                        None,
                        "list the Access Edge external FQDN of every Edge pool that may carry XMPP federation, in priority order",
                    );
                    return None;
                }
                let mut list: Vec<Located<Fqdn>> = Vec::new();
                for h in &hosts {
                    let Some(f) = self.host(h) else { continue };
                    if list.iter().any(|l| l.value == f.value) {
                        self.v7(
                            format!("`xmpp.hosts` lists {} twice", f.value),
                            f.at,
                            "list each Edge pool's host once",
                        );
                        continue;
                    }
                    list.push(f);
                }
                SrvTargets::Hosts(list)
            }
            (None, None) => {
                if x.move_address.is_some() {
                    self.v7(
                        "`moveAddress` needs `host`: without it the SRV record points at the pool's own Access Edge FQDN, whose A record stays".into(),
                        move_at,
                        "add `host: <the shared host>` or remove `moveAddress`",
                    );
                }
                SrvTargets::AccessEdge
            }
        };
        Some(DesiredRecords { targets, ttl })
    }

    /// `dns[].sip`: nothing but `ttl` (the federation pool's Access Edge
    /// FQDN), or `host` with an explicit `moveAddress`.
    fn sip_records(&mut self, s: SipDnsSpec) -> Option<DesiredRecords> {
        let ttl = s.ttl.unwrap_or(DEFAULT_TTL);
        let targets = match (s.host, s.move_address) {
            (None, None) => SrvTargets::AccessEdge,
            (None, Some(m)) => {
                self.v7(
                    "`sip.moveAddress` needs `sip.host`".into(),
                    position(&m),
                    "remove `moveAddress` to point the SRV record at the federation pool's Access Edge FQDN, or add `host`",
                );
                return None;
            }
            (Some(host), None) => {
                self.v7(
                    format!(
                        "`sip.host: {}` without `moveAddress`: moving a shared SIP host's A record to another Edge pool breaks certificate name matching unless every pool's certificate carries that name",
                        host.value
                    ),
                    position(&host),
                    "remove `host` (the SRV record then points at the Access Edge FQDN of the pool that carries federation, and no A record moves), or write `moveAddress: true` to move the A record as before (`false` points the SRV record at the host and leaves its A record alone)",
                );
                return None;
            }
            (Some(host), Some(m)) => SrvTargets::Host {
                host: self.host(&host)?,
                move_address: m.value,
            },
        };
        Some(DesiredRecords { targets, ttl })
    }

    fn site_name(&mut self, name: &str, at: Option<Position>) {
        if let Some(why) = site_name_problem(name) {
            self.problems.push(
                Diagnostic::rule("V2", format!("site name `{}` is not allowed: {why}", name.escape_debug()))
                    .at(at)
                    .help("site names are 1–64 printable characters, not only spaces, without quotes, backticks, `$`, `;`, control characters or invisible formatting characters (zero-width spaces, bidirectional overrides); write the name as `Get-CsSite` shows it"),
            );
        }
    }
}

/// Why a site name cannot be used, if it cannot.
fn site_name_problem(name: &str) -> Option<String> {
    let count = name.chars().count();
    if count == 0 {
        return Some("it is empty".into());
    }
    if count > 64 {
        return Some(format!("it has {count} characters, more than 64"));
    }
    if name.chars().all(char::is_whitespace) {
        return Some("it is only whitespace".into());
    }
    let quote = |c: char| matches!(c, '\'' | '"' | '`' | '$' | ';' | '\u{2018}'..='\u{201F}');
    if let Some(c) = name.chars().find(|c| quote(*c)) {
        return Some(format!("it contains `{c}`, which a shell would read"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_control() || crate::diagnostic::invisible(*c))
    {
        return Some(format!(
            "it contains the invisible character U+{:04X}, which makes it look like another name",
            u32::from(c)
        ));
    }
    None
}

/// Applies V1–V7 and builds the desired state.
pub(super) fn validate(doc: DocumentFile, source: Source) -> Result<Desired, Diagnostics> {
    let mut c = Checker { problems: Vec::new() };

    if doc.api_version.value != "edgefed/v1" {
        c.problems.push(
            Diagnostic::rule(
                "V1",
                format!(
                    "apiVersion is `{}`; this edgefed reads `edgefed/v1`",
                    doc.api_version.value
                ),
            )
            .at(position(&doc.api_version))
            .help("set `apiVersion: edgefed/v1`"),
        );
    }
    if doc.kind.value != "FederationTopology" {
        c.problems.push(
            Diagnostic::rule(
                "V1",
                format!(
                    "kind is `{}`; a desired-state document is `FederationTopology`",
                    doc.kind.value
                ),
            )
            .at(position(&doc.kind))
            .help("set `kind: FederationTopology` (a `Lab` file is given with `--lab`, not `-f`)"),
        );
    }

    let spec = doc.spec;
    let mut sites = BTreeMap::new();
    for (key, site) in spec.sites.0 {
        c.site_name(&key.value, position(&key));
        let mut route = |what: &str, r: Option<Spanned<Option<String>>>| {
            r.map(|r| {
                let at = position(&r);
                let value = r.value.as_deref().and_then(|raw| c.route(what, raw, at));
                (Located::new(value, at), r.value.is_some())
            })
        };
        let fed = route("federationRoute", site.federation_route);
        let xmpp = route("xmppFederationRoute", site.xmpp_federation_route);
        // A route that failed V2 is dropped (its error is already recorded).
        let keep =
            |r: Option<(Located<Option<Fqdn>>, bool)>| r.filter(|(l, had)| l.value.is_some() || !had).map(|(l, _)| l);
        sites.insert(
            key.value.clone(),
            DesiredSite {
                at: position(&key),
                federation_route: keep(fed),
                xmpp_federation_route: keep(xmpp),
            },
        );
    }

    let mut edge_pools = BTreeMap::new();
    for (key, pool) in spec.edge_pools.0 {
        let Some(fqdn) = c.fqdn("Edge pool", &key.value, position(&key)) else {
            continue;
        };
        let services = pool.services.map(|s| {
            let state = match s.value {
                ServicesSpec::Running => ServiceState::Running,
                ServicesSpec::Stopped => ServiceState::Stopped,
            };
            Located::new(state, position(&s))
        });
        let next_hop = pool.next_hop.and_then(|n| {
            c.fqdn("nextHop", &n.value, position(&n))
                .map(|f| Located::new(f, position(&n)))
        });
        let external_addresses = pool.external_addresses.map(|list| {
            list.iter()
                .filter_map(|a| match a.value.parse::<IpAddr>() {
                    Ok(ip) => Some(ip),
                    Err(_) => {
                        c.problems.push(
                            Diagnostic::plain(format!("externalAddresses: `{}` is not an IP address", a.value))
                                .at(position(a))
                                .help("write IPv4 (203.0.113.10) or IPv6 addresses"),
                        );
                        None
                    }
                })
                .collect()
        });
        c.once(&edge_pools, "Edge pool", &fqdn, position(&key));
        edge_pools.insert(
            fqdn,
            DesiredEdgePool {
                at: position(&key),
                services,
                next_hop,
                external_addresses,
            },
        );
    }

    let mut front_end_pools = BTreeMap::new();
    for (key, pool) in spec.front_end_pools.0 {
        let Some(fqdn) = c.fqdn("Front End pool", &key.value, position(&key)) else {
            continue;
        };
        let media_edge_pool = pool.media_edge_pool.and_then(|m| {
            c.route("mediaEdgePool", &m.value, position(&m))
                .map(|f| Located::new(f, position(&m)))
        });
        let failed_over = pool.failed_over.map(|f| Located::new(f.value, position(&f)));
        c.once(&front_end_pools, "Front End pool", &fqdn, position(&key));
        front_end_pools.insert(
            fqdn,
            DesiredFrontEndPool {
                at: position(&key),
                media_edge_pool,
                failed_over,
            },
        );
    }

    let mut dns = Vec::new();
    for zone in spec.dns {
        let Some(name) = c.fqdn("DNS zone", &zone.zone.value, position(&zone.zone)) else {
            continue;
        };
        let xmpp = zone.xmpp.and_then(|x| c.xmpp_records(x));
        let sip = zone.sip.and_then(|s| c.sip_records(s));
        dns.push(DesiredZone {
            zone: Located::new(name, position(&zone.zone)),
            xmpp,
            sip,
        });
    }

    let desired = Desired {
        source,
        sites,
        edge_pools,
        front_end_pools,
        dns,
        verify_ports: spec.verify.and_then(|v| v.ports).unwrap_or(true),
        allow_multiple_federation_routes: spec.allow_multiple_federation_routes,
    };
    cross_checks(&desired, &mut c.problems);

    if c.problems.is_empty() {
        Ok(desired)
    } else {
        c.problems.sort_by_key(|d| d.position);
        Err(Diagnostics {
            file: desired.source.file.clone(),
            text: desired.source.text.clone(),
            diagnostics: c.problems,
        })
    }
}

/// V3–V6: rules across the document.
fn cross_checks(d: &Desired, problems: &mut Vec<Diagnostic>) {
    // V3 / V4: one federation pool and one XMPP pool for the organisation.
    let routes = |pick: fn(&DesiredSite) -> Option<&super::Route>| {
        d.sites
            .iter()
            .filter_map(move |(name, s)| pick(s).and_then(|r| r.value.as_ref().map(|p| (name, p, r.at))))
            .collect::<Vec<_>>()
    };
    let fed = routes(|s| s.federation_route.as_ref());
    if !d.allow_multiple_federation_routes
        && let Some((first_site, first, _)) = fed.first()
    {
        for (site, pool, at) in fed.iter().skip(1).filter(|(_, p, _)| p != first) {
            problems.push(
                    Diagnostic::rule(
                        "V3",
                        format!("site {site} routes SIP federation to {pool}, but site {first_site} routes it to {first}: Lync allows one federation Edge pool per organisation"),
                    )
                    .at(*at)
                    .help(format!("route every site through one pool (e.g. {first}), or set `allowMultipleFederationRoutes: true` during a migration")),
                );
        }
    }
    let xmpp = routes(|s| s.xmpp_federation_route.as_ref());
    if let Some((first_site, first, _)) = xmpp.first() {
        for (site, pool, at) in xmpp.iter().skip(1).filter(|(_, p, _)| p != first) {
            problems.push(
                Diagnostic::rule(
                    "V4",
                    format!("site {site} routes XMPP federation to {pool}, but site {first_site} routes it to {first}: Lync allows one XMPP federation Edge pool per organisation"),
                )
                .at(*at)
                .help(format!("route every site's XMPP federation through one pool (e.g. {first})")),
            );
        }
    }

    // V5: a pool that must carry traffic cannot be declared stopped.
    let mut targets: Vec<(&Fqdn, String)> = Vec::new();
    for (site, pool, _) in &fed {
        targets.push((pool, format!("site {site}'s federationRoute")));
    }
    for (site, pool, _) in &xmpp {
        targets.push((pool, format!("site {site}'s xmppFederationRoute")));
    }
    for (fe, p) in &d.front_end_pools {
        if let Some(m) = &p.media_edge_pool {
            targets.push((&m.value, format!("Front End pool {fe}'s mediaEdgePool")));
        }
    }
    for (pool, why) in targets {
        if let Some(services) = d.edge_pools.get(pool).and_then(|p| p.services.as_ref())
            && services.value == ServiceState::Stopped
        {
            problems.push(
                Diagnostic::rule(
                    "V5",
                    format!("Edge pool {pool} is declared `services: stopped` but it is {why}"),
                )
                .at(services.at)
                .help("a pool that carries a route or media must run: set `services: running`, or route elsewhere"),
            );
        }
    }

    // V6: a host whose A record edgefed moves lies in a declared zone.
    let zones: Vec<&Fqdn> = d.dns.iter().map(|z| &z.zone.value).collect();
    for z in &d.dns {
        for h in [&z.xmpp, &z.sip]
            .into_iter()
            .flatten()
            .filter_map(DesiredRecords::moved_host)
        {
            if !zones.iter().any(|zone| h.value.is_in_zone(zone)) {
                problems.push(
                    Diagnostic::rule(
                        "V6",
                        format!("DNS host {} is not in any declared zone ({})", h.value, join(&zones)),
                    )
                    .at(h.at)
                    .help(format!(
                        "use a host below {}, or declare its zone under `dns:`",
                        z.zone.value
                    )),
                );
            }
        }
    }
}

pub(crate) fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}
