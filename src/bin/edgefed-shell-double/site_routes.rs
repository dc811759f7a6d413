//! Site federation routes in the double's topology document.
//!
//! `Set-CsSite` edits the topology's own site objects (`Get-CsSite` returns
//! `Microsoft.Rtc.Management.Deploy.Internal.Site+CentralSite`), so the
//! routes belong to the published document. No public export shows the
//! element Lync writes for them; the double writes each route as a child of
//! its `CentralSite`, naming the Edge service the way the document names
//! services everywhere else —
//! `<FederationRoute><ServiceId SiteId="2" RoleName="EdgeServer" Instance="1" /></FederationRoute>`,
//! likewise `XmppFederationRoute` — and reads them back from a document
//! that is published.

use std::collections::BTreeMap;

use edgefed::model::Fqdn;
use edgefed::topology::NS_TOPOLOGY;
use roxmltree::Node;

/// The element of the SIP federation route.
pub const FEDERATION: &str = "FederationRoute";
/// The element of the XMPP federation route.
pub const XMPP: &str = "XmppFederationRoute";

/// A site's routes as a document gives them (absent element = no route).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Routes {
    /// `FederationRoute`.
    pub federation: Option<Fqdn>,
    /// `XmppFederationRoute`.
    pub xmpp: Option<Fqdn>,
}

/// The route element `name` naming the service `service_id` (a `ServiceId`
/// element), indented as a child of `CentralSite`.
pub fn element(name: &str, service_id: &str) -> String {
    format!("      <{name}>\r\n        {service_id}\r\n      </{name}>\r\n")
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name((NS_TOPOLOGY, name)))
}

fn key(n: Node<'_, '_>, second: &str) -> Option<(String, String)> {
    Some((n.attribute("SiteId")?.to_string(), n.attribute(second)?.to_string()))
}

/// The routes of every site of the document (UTF-8 text), by site name.
///
/// # Errors
/// A message when the document is not XML, or a route names a service that
/// is not an Edge service of the document.
pub fn read(text: &str) -> Result<BTreeMap<String, Routes>, String> {
    let doc = roxmltree::Document::parse(text.trim_start_matches('\u{feff}'))
        .map_err(|e| format!("the document is not XML: {e}"))?;
    let elements = |name: &'static str| doc.descendants().filter(move |n| n.has_tag_name((NS_TOPOLOGY, name)));
    // (SiteId, Number) of a cluster → its FQDN.
    let clusters: BTreeMap<(String, String), &str> = elements("Cluster")
        .filter_map(|c| Some((key(child(c, "ClusterId")?, "Number")?, c.attribute("Fqdn")?)))
        .collect();
    // (SiteId, Instance) of an EdgeServer service → the FQDN of its cluster.
    let edges: BTreeMap<(String, String), &str> = elements("Service")
        .filter_map(|s| {
            let id = child(s, "ServiceId")?;
            if id.attribute("RoleName") != Some("EdgeServer") {
                return None;
            }
            let on = key(child(child(s, "InstalledOn")?, "ClusterId")?, "Number")?;
            Some((key(id, "Instance")?, *clusters.get(&on)?))
        })
        .collect();
    let mut out = BTreeMap::new();
    for site in elements("CentralSite") {
        let Some(name) = child(site, "Name").and_then(|n| n.text()).map(str::trim) else {
            continue;
        };
        let route = |element: &str| -> Result<Option<Fqdn>, String> {
            let Some(r) = child(site, element) else {
                return Ok(None);
            };
            let id = child(r, "ServiceId");
            let fqdn = id
                .filter(|i| i.attribute("RoleName") == Some("EdgeServer"))
                .and_then(|i| key(i, "Instance"))
                .and_then(|k| edges.get(&k));
            let Some(fqdn) = fqdn else {
                return Err(format!(
                    "the {element} of site {name} does not name an Edge service of the document"
                ));
            };
            Fqdn::parse(fqdn)
                .map(Some)
                .map_err(|e| format!("the {element} of site {name}: {e}"))
        };
        out.insert(
            name.to_string(),
            Routes {
                federation: route(FEDERATION)?,
                xmpp: route(XMPP)?,
            },
        );
    }
    Ok(out)
}
