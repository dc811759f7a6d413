//! Generates the published topology document (`Get-CsTopology -AsXml`) of
//! the double's deployment, in the published format (namespace
//! `urn:schema:Microsoft.Rtc.Management.Deploy.Topology.2008`, ports in
//! `…ServiceRoles.2008`), written from scratch. Site routes are written as
//! [`super::site_routes`] describes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use edgefed::model::{Deployment, EdgePool, Fqdn};

use super::site_routes::{self, FEDERATION, XMPP};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The Access Edge external FQDN the double gives a pool: the one its state
/// names (`accessEdgeFqdn`), else `sip.<pool>`.
pub fn access_edge_fqdn(pool: &Fqdn, edge: &EdgePool) -> String {
    edge.access_edge_fqdn
        .as_ref()
        .map_or_else(|| format!("sip.{pool}"), ToString::to_string)
}

/// The document of `d`, services at `version` (6, 7 or 8).
#[allow(clippy::too_many_lines)]
pub fn generate(d: &Deployment, version: u32) -> String {
    let mut site_ids: BTreeMap<&str, usize> = BTreeMap::new();
    for name in d.sites.keys() {
        let n = site_ids.len() + 1;
        site_ids.insert(name, n);
    }
    for p in d.edge_pools.values() {
        let n = site_ids.len() + 1;
        site_ids.entry(&p.site).or_insert(n);
    }
    for p in d.front_end_pools.values() {
        let n = site_ids.len() + 1;
        site_ids.entry(&p.site).or_insert(n);
    }
    let domain = d
        .edge_pools
        .keys()
        .chain(d.front_end_pools.keys())
        .next()
        .and_then(|f| f.as_str().split_once('.').map(|(_, rest)| rest.to_string()))
        .unwrap_or_else(|| "contoso.com".into());
    let mut x = String::with_capacity(4096 + d.edge_pools.len() * 4096);
    let _ = write!(
        x,
        "<Topology xmlns=\"urn:schema:Microsoft.Rtc.Management.Deploy.Topology.2008\" Signature=\"{}\">\r\n  <InternalDomains AllowAllDomains=\"false\" DefaultDomain=\"{domain}\">\r\n    <InternalDomain Name=\"{domain}\" Authoritative=\"false\" AllowSubDomains=\"false\" />\r\n  </InternalDomains>\r\n  <Sites>\r\n",
        esc(&d.signature)
    );
    // The sites name their routes' Edge services: written once those are numbered.
    let sites_at = x.len();
    x.push_str("  </Sites>\r\n  <Clusters>\r\n");
    // Cluster numbers and service instances per site.
    let mut cluster_no: BTreeMap<usize, usize> = BTreeMap::new();
    let mut instance: BTreeMap<(usize, &str), usize> = BTreeMap::new();
    let next = |map: &mut BTreeMap<usize, usize>, site: usize| {
        let e = map.entry(site).or_insert(0);
        *e += 1;
        *e
    };
    let mut fe_ids = BTreeMap::new();
    for (fqdn, p) in &d.front_end_pools {
        let site = site_ids[p.site.as_str()];
        let n = next(&mut cluster_no, site);
        let _ = write!(
            x,
            "    <Cluster RequiresReplication=\"true\" RequiresSetup=\"true\" Fqdn=\"{fqdn}\">\r\n      <ClusterId SiteId=\"{site}\" Number=\"{n}\" />\r\n"
        );
        for (i, m) in p.computers.keys().enumerate() {
            let _ = write!(
                x,
                "      <Machine OrdinalInCluster=\"{}\" Fqdn=\"{m}\" FaultDomain=\"{m}\" UpgradeDomain=\"{m}\">\r\n        <NetInterface InterfaceSide=\"Primary\" InterfaceNumber=\"1\" IPAddress=\"0.0.0.0\" />\r\n      </Machine>\r\n",
                i + 1
            );
        }
        x.push_str("    </Cluster>\r\n");
        let inst = instance.entry((site, "Registrar")).or_insert(0);
        *inst += 1;
        fe_ids.insert(fqdn.clone(), (site, n, *inst));
    }
    let mut edge_ids = BTreeMap::new();
    for (fqdn, p) in &d.edge_pools {
        let site = site_ids[p.site.as_str()];
        let n = next(&mut cluster_no, site);
        let _ = write!(
            x,
            "    <Cluster RequiresReplication=\"true\" RequiresSetup=\"true\" Fqdn=\"{fqdn}\">\r\n      <ClusterId SiteId=\"{site}\" Number=\"{n}\" />\r\n"
        );
        for (i, m) in p.computers.keys().enumerate() {
            let external = p
                .external_addresses
                .get(i)
                .or(p.external_addresses.first())
                .map(|a| format!(" ConfiguredIPAddress=\"{a}\""))
                .unwrap_or_default();
            let _ = write!(
                x,
                "      <Machine OrdinalInCluster=\"{}\" Fqdn=\"{m}\">\r\n        <NetInterface InterfaceSide=\"Internal\" InterfaceNumber=\"1\" IPAddress=\"10.0.{}.{}\" />\r\n        <NetInterface InterfaceSide=\"External\" InterfaceNumber=\"1\" IPAddress=\"0.0.0.0\"{external} />\r\n      </Machine>\r\n",
                i + 1,
                n % 250,
                i + 10
            );
        }
        x.push_str("    </Cluster>\r\n");
        let inst = instance.entry((site, "EdgeServer")).or_insert(0);
        *inst += 1;
        edge_ids.insert(fqdn.clone(), (site, n, *inst));
    }
    x.push_str("  </Clusters>\r\n  <Services>\r\n");
    let sid = |site: usize, role: &str, inst: usize| {
        format!("<ServiceId SiteId=\"{site}\" RoleName=\"{role}\" Instance=\"{inst}\" />")
    };
    let mut sites = String::new();
    for (name, id) in &site_ids {
        let _ = write!(
            sites,
            "    <CentralSite SiteId=\"{id}\">\r\n      <Name>{}</Name>\r\n",
            esc(name)
        );
        if let Some(s) = d.sites.get(*name) {
            for (element, route) in [(FEDERATION, &s.federation_route), (XMPP, &s.xmpp_federation_route)] {
                if let Some((site, _, inst)) = route.as_ref().and_then(|p| edge_ids.get(p)) {
                    sites.push_str(&site_routes::element(element, &sid(*site, "EdgeServer", *inst)));
                }
            }
        }
        sites.push_str("    </CentralSite>\r\n");
    }
    x.insert_str(sites_at, &sites);
    for (fqdn, p) in &d.front_end_pools {
        let (site, n, inst) = fe_ids[fqdn];
        let edge_dep = p
            .media_edge_pool
            .as_ref()
            .and_then(|e| edge_ids.get(e))
            .map(|(s, _, i)| {
                format!(
                    "        <Dependency Usage=\"Default\">\r\n          {}\r\n        </Dependency>\r\n",
                    sid(*s, "EdgeServer", *i)
                )
            })
            .unwrap_or_default();
        for (role, ty, port) in [
            (
                "Registrar",
                "RegistrarService",
                "<Port Owner=\"urn:component:Registrar\" Usage=\"SipServer\" InterfaceSide=\"Primary\" InterfaceNumber=\"1\" Port=\"5061\" Protocol=\"Mtls\" UrlPath=\"/\" AuthorizesRequests=\"true\" GruuType=\"HomeServer\" />",
            ),
            (
                "ConfServices",
                "ConfService",
                "<Port Owner=\"urn:component:IMConf\" Usage=\"SipServer\" InterfaceSide=\"Primary\" InterfaceNumber=\"1\" Port=\"5062\" Protocol=\"Mtls\" UrlPath=\"/\" AuthorizesRequests=\"true\" GruuType=\"chat\" />",
            ),
            (
                "MediationServer",
                "MediationService",
                "<Port Owner=\"urn:component:MediationServer\" Usage=\"SipServer\" InterfaceSide=\"Primary\" InterfaceNumber=\"1\" Port=\"5070\" Protocol=\"Mtls\" UrlPath=\"/\" AuthorizesRequests=\"true\" GruuType=\"MediationServer\" />",
            ),
        ] {
            let _ = write!(
                x,
                "    <Service RoleVersion=\"1\" ServiceVersion=\"{version}\" Type=\"Microsoft.Rtc.Management.Deploy.Internal.ServiceRoles.{ty}\">\r\n      {}\r\n      <DependsOn>\r\n{edge_dep}      </DependsOn>\r\n      <InstalledOn>\r\n        <ClusterId SiteId=\"{site}\" Number=\"{n}\" />\r\n      </InstalledOn>\r\n      <Ports xmlns=\"urn:schema:Microsoft.Rtc.Management.Deploy.ServiceRoles.2008\">\r\n        {port}\r\n      </Ports>\r\n    </Service>\r\n",
                sid(site, role, inst)
            );
        }
    }
    for (fqdn, p) in &d.edge_pools {
        let (site, n, inst) = edge_ids[fqdn];
        let access = access_edge_fqdn(fqdn, p);
        let next_hop = p
            .next_hop
            .as_ref()
            .and_then(|f| fe_ids.get(f))
            .map(|(s, _, i)| {
                format!(
                    "        <Dependency Usage=\"Default\">\r\n          {}\r\n        </Dependency>\r\n",
                    sid(*s, "Registrar", *i)
                )
            })
            .unwrap_or_default();
        let mut ports = String::new();
        let mut port = |line: String| {
            ports.push_str("        ");
            ports.push_str(&line);
            ports.push_str("\r\n");
        };
        port("<Port Owner=\"urn:component:AccessEdge\" Usage=\"SipServer\" InterfaceSide=\"Internal\" InterfaceNumber=\"1\" Port=\"5061\" Protocol=\"Mtls\" UrlPath=\"/\" AuthorizesRequests=\"false\" />".into());
        port(format!(
            "<Port Owner=\"urn:component:AccessEdge\" Usage=\"SipClient\" InterfaceSide=\"External\" InterfaceNumber=\"1\" Port=\"443\" Protocol=\"Tls\" UrlPath=\"/\" AuthorizesRequests=\"false\" ConfiguredFqdn=\"{access}\" />"
        ));
        port("<Port Owner=\"urn:component:DataEdge\" Usage=\"PsomServer\" InterfaceSide=\"Internal\" InterfaceNumber=\"1\" Port=\"8057\" Protocol=\"Mtls\" UrlPath=\"/\" AuthorizesRequests=\"false\" />".into());
        port(format!(
            "<Port Owner=\"urn:component:MediaRelayEdge\" Usage=\"TURNServer\" InterfaceSide=\"External\" InterfaceNumber=\"1\" Port=\"3478\" Protocol=\"Udp\" UrlPath=\"/\" AuthorizesRequests=\"false\" ConfiguredFqdn=\"{access}\" />"
        ));
        if p.sip_federation {
            port(format!(
                "<Port Owner=\"urn:component:AccessEdge\" Usage=\"SipServer\" InterfaceSide=\"External\" InterfaceNumber=\"1\" Port=\"5061\" Protocol=\"Mtls\" UrlPath=\"/\" AuthorizesRequests=\"false\" ConfiguredFqdn=\"{access}\" />"
            ));
        }
        if p.xmpp_federation {
            port("<Port Owner=\"urn:component:XmppFederationProxy\" Usage=\"XmppServer\" InterfaceSide=\"External\" InterfaceNumber=\"1\" Port=\"5269\" Protocol=\"Tls\" UrlPath=\"/\" AuthorizesRequests=\"true\" />".into());
            port("<Port Owner=\"urn:component:XmppFederationProxy\" Usage=\"XptServer\" InterfaceSide=\"Internal\" InterfaceNumber=\"1\" Port=\"23456\" Protocol=\"Mtls\" UrlPath=\"/XmppFederation/\" AuthorizesRequests=\"false\" />".into());
        }
        let _ = write!(
            x,
            "    <Service RoleVersion=\"2\" ServiceVersion=\"{version}\">\r\n      {}\r\n      <DependsOn>\r\n{next_hop}      </DependsOn>\r\n      <InstalledOn>\r\n        <ClusterId SiteId=\"{site}\" Number=\"{n}\" />\r\n      </InstalledOn>\r\n      <Ports xmlns=\"urn:schema:Microsoft.Rtc.Management.Deploy.ServiceRoles.2008\">\r\n{ports}      </Ports>\r\n    </Service>\r\n",
            sid(site, "EdgeServer", inst)
        );
        let _ = write!(
            x,
            "    <Service RoleVersion=\"1\" ServiceVersion=\"{version}\">\r\n      {}\r\n      <DependsOn />\r\n      <InstalledOn>\r\n        <ClusterId SiteId=\"{site}\" Number=\"{n}\" />\r\n      </InstalledOn>\r\n      <Ports xmlns=\"urn:schema:Microsoft.Rtc.Management.Deploy.ServiceRoles.2008\">\r\n        <Port Owner=\"urn:component:ReplicationService\" Usage=\"Replication\" InterfaceSide=\"Internal\" InterfaceNumber=\"1\" Port=\"4443\" Protocol=\"Https\" UrlPath=\"/\" AuthorizesRequests=\"false\" />\r\n      </Ports>\r\n    </Service>\r\n",
            sid(site, "ManagementServices", inst)
        );
    }
    x.push_str("  </Services>\r\n</Topology>");
    x
}
