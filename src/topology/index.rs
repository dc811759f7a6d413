//! The parsed index of a published topology: sites, clusters and the
//! services edgefed reads or edits, with the byte ranges edits splice.
//!
//! Built from a roxmltree DOM, then the DOM is dropped: the index owns only
//! small strings and ranges into the decoded text, so a 50 MB export does not
//! keep its DOM alive. Everything is matched by namespace and local name,
//! never by element order.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use roxmltree::{Document, Node};

use super::TopologyError;

/// The published topology namespace.
pub const NS_TOPOLOGY: &str = "urn:schema:Microsoft.Rtc.Management.Deploy.Topology.2008";
/// The namespace of `Ports` / `Port` and the service-specific elements.
pub const NS_SERVICE_ROLES: &str = "urn:schema:Microsoft.Rtc.Management.Deploy.ServiceRoles.2008";
const NS_TOPOLOGY_BUILDER: &str = "urn:schema:Microsoft.Rtc.Management.Deploy.TopologyBuilder.2008";
const NS_WRITABLE: &str = "urn:schema:Microsoft.Rtc.Management.Deploy.WritableTopology.2008";

/// The roles whose services the index keeps in full.
pub(crate) const EDGE_ROLE: &str = "EdgeServer";
pub(crate) const REGISTRAR_ROLE: &str = "Registrar";
/// The Front End services whose dependency on an EdgeServer is the media association.
pub(crate) const MEDIA_ROLES: [&str; 3] = ["Registrar", "ConfServices", "MediationServer"];

/// `ServiceId`: (SiteId, RoleName, Instance), as written.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ServiceKey {
    pub site: String,
    pub role: String,
    pub instance: String,
}

impl std::fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "service {} (site {}, instance {})",
            self.role, self.site, self.instance
        )
    }
}

/// `ClusterId`: (SiteId, Number), as written.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ClusterKey {
    pub site: String,
    pub number: String,
}

impl std::fmt::Display for ClusterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cluster {} of site {}", self.number, self.site)
    }
}

/// A `CentralSite`.
#[derive(Clone, Debug)]
pub(crate) struct SiteEntry {
    pub id: String,
    pub name: String,
}

/// A raw value with its position, parsed later when it matters.
#[derive(Clone, Debug)]
pub(crate) struct Located {
    pub value: String,
    pub pos: usize,
}

/// A `Machine` of a cluster.
#[derive(Clone, Debug)]
pub(crate) struct MachineEntry {
    pub fqdn: Located,
    /// `NetInterface InterfaceSide="External"`: (`IPAddress`, `ConfiguredIPAddress`).
    pub external: Vec<(Located, Option<Located>)>,
}

/// A `Cluster` (a pool).
#[derive(Clone, Debug)]
pub(crate) struct ClusterEntry {
    pub fqdn: Located,
    pub machines: Vec<MachineEntry>,
}

/// A `Dependency` with the value ranges of its `ServiceId` attributes.
#[derive(Clone, Debug)]
pub(crate) struct DepEntry {
    pub key: ServiceKey,
    pub pos: usize,
    pub site_value: Range<usize>,
    pub role_value: Range<usize>,
    pub instance_value: Range<usize>,
    /// The whole `Dependency` element.
    pub range: Range<usize>,
}

/// A `DependsOn` element.
#[derive(Clone, Debug)]
pub(crate) struct DependsOnEntry {
    pub range: Range<usize>,
    /// Written `<DependsOn />`.
    pub self_closing: bool,
    /// The element's tag name as written (with any prefix).
    pub qname: String,
    /// The tag name of its `Dependency` children as written, if any.
    pub dependency_qname: Option<String>,
    /// The tag name of `ServiceId` inside those, as written.
    pub service_id_qname: Option<String>,
}

/// A `Port` of a service.
#[derive(Clone, Debug)]
pub(crate) struct PortEntry {
    pub owner: String,
    pub usage: String,
    pub side: String,
    pub protocol: String,
    pub configured_fqdn: Option<String>,
    pub range: Range<usize>,
}

/// A `Service` of one of the roles edgefed reads.
#[derive(Clone, Debug)]
pub(crate) struct ServiceEntry {
    pub key: ServiceKey,
    pub pos: usize,
    pub installed_on: ClusterKey,
    pub is_director: bool,
    pub deps: Vec<DepEntry>,
    pub depends_on: Option<DependsOnEntry>,
    pub ports: Vec<PortEntry>,
    /// The `Ports` element (range), when present.
    pub ports_range: Option<Range<usize>>,
}

/// Everything edgefed reads from a published topology.
#[derive(Clone, Debug, Default)]
pub(crate) struct Index {
    pub signature: Option<String>,
    pub sites: Vec<SiteEntry>,
    pub clusters: BTreeMap<ClusterKey, ClusterEntry>,
    pub services: BTreeMap<ServiceKey, ServiceEntry>,
}

/// Builds errors for one document.
pub(crate) struct Ctx<'a, 'input> {
    pub origin: &'a str,
    pub doc: &'a Document<'input>,
}

impl Ctx<'_, '_> {
    pub fn pos(&self, pos: usize) -> (u32, u32) {
        let p = self.doc.text_pos_at(pos);
        (p.row, p.col)
    }

    pub fn invalid(&self, pos: usize, detail: impl Into<String>) -> TopologyError {
        let (line, column) = self.pos(pos);
        TopologyError::Invalid {
            file: self.origin.to_string(),
            line,
            column,
            detail: detail.into(),
        }
    }

    fn duplicate(&self, pos: usize, first: usize, what: String) -> TopologyError {
        let (line, column) = self.pos(pos);
        TopologyError::Duplicate {
            file: self.origin.to_string(),
            line,
            column,
            what,
            first_line: self.pos(first).0,
        }
    }

    fn missing(&self, pos: usize, what: String, reference: String) -> TopologyError {
        let (line, column) = self.pos(pos);
        TopologyError::MissingReference {
            file: self.origin.to_string(),
            line,
            column,
            what,
            reference,
        }
    }
}

fn is(node: Node<'_, '_>, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(ns)
}

fn children<'a, 'input: 'a>(
    node: Node<'a, 'input>,
    ns: &'a str,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
    node.children().filter(move |c| is(*c, ns, name))
}

fn child<'a, 'input: 'a>(
    node: Node<'a, 'input>,
    ns: &'a str,
    name: &'a str,
) -> Option<Node<'a, 'input>> {
    children(node, ns, name).next()
}

fn attr<'a>(ctx: &Ctx<'_, '_>, node: Node<'a, '_>, name: &str) -> Result<&'a str, TopologyError> {
    node.attribute(name).ok_or_else(|| {
        ctx.invalid(
            node.range().start,
            format!("`{}` has no `{name}` attribute", node.tag_name().name()),
        )
    })
}

fn value_range(node: Node<'_, '_>, name: &str) -> Option<Range<usize>> {
    node.attributes()
        .find(|a| a.name() == name && a.namespace().is_none())
        .map(|a| a.range_value())
}

/// The tag name of an element exactly as written (with any prefix).
fn qname<'t>(text: &'t str, node: Node<'_, '_>) -> &'t str {
    let start = node.range().start + 1;
    let rest = text.get(start..).unwrap_or("");
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .unwrap_or(rest.len());
    &rest[..end]
}

fn service_key(ctx: &Ctx<'_, '_>, node: Node<'_, '_>) -> Result<ServiceKey, TopologyError> {
    Ok(ServiceKey {
        site: attr(ctx, node, "SiteId")?.trim().to_string(),
        role: attr(ctx, node, "RoleName")?.trim().to_string(),
        instance: attr(ctx, node, "Instance")?.trim().to_string(),
    })
}

fn cluster_key(ctx: &Ctx<'_, '_>, node: Node<'_, '_>) -> Result<ClusterKey, TopologyError> {
    Ok(ClusterKey {
        site: attr(ctx, node, "SiteId")?.trim().to_string(),
        number: attr(ctx, node, "Number")?.trim().to_string(),
    })
}

fn located(node: Node<'_, '_>, name: &str) -> Option<Located> {
    let a = node
        .attributes()
        .find(|a| a.name() == name && a.namespace().is_none())?;
    Some(Located {
        value: a.value().trim().to_string(),
        pos: a.range_value().start,
    })
}

/// Checks the root and reads the index.
pub(crate) fn build(ctx: &Ctx<'_, '_>, text: &str) -> Result<Index, TopologyError> {
    let root = ctx.doc.root_element();
    let ns = root.tag_name().namespace().unwrap_or("");
    if ns == NS_TOPOLOGY_BUILDER || ns == NS_WRITABLE || root.tag_name().name() == "TopologyBuilder"
    {
        return Err(TopologyError::TopologyBuilderDocument {
            file: ctx.origin.to_string(),
        });
    }
    if !is(root, NS_TOPOLOGY, "Topology") {
        let (line, column) = ctx.pos(root.range().start);
        return Err(TopologyError::UnknownFormat {
            file: ctx.origin.to_string(),
            line,
            column,
            element: root.tag_name().name().to_string(),
            namespace: ns.to_string(),
        });
    }
    let mut index = Index {
        signature: root.attribute("Signature").map(str::to_string),
        ..Index::default()
    };

    let mut site_pos: HashMap<String, usize> = HashMap::new();
    for sites in children(root, NS_TOPOLOGY, "Sites") {
        for site in children(sites, NS_TOPOLOGY, "CentralSite") {
            let id = attr(ctx, site, "SiteId")?.trim().to_string();
            let pos = site.range().start;
            if let Some(first) = site_pos.insert(id.clone(), pos) {
                return Err(ctx.duplicate(pos, first, format!("site {id}")));
            }
            let name = child(site, NS_TOPOLOGY, "Name")
                .and_then(|n| n.text())
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .ok_or_else(|| ctx.invalid(pos, format!("central site {id} has no `Name`")))?;
            index.sites.push(SiteEntry { id, name });
        }
    }

    let mut cluster_pos: HashMap<ClusterKey, usize> = HashMap::new();
    let mut fqdn_pos: HashMap<String, usize> = HashMap::new();
    for clusters in children(root, NS_TOPOLOGY, "Clusters") {
        for cluster in children(clusters, NS_TOPOLOGY, "Cluster") {
            let pos = cluster.range().start;
            let fqdn = located(cluster, "Fqdn")
                .ok_or_else(|| ctx.invalid(pos, "`Cluster` has no `Fqdn` attribute"))?;
            let id = child(cluster, NS_TOPOLOGY, "ClusterId").ok_or_else(|| {
                ctx.invalid(pos, format!("cluster `{}` has no `ClusterId`", fqdn.value))
            })?;
            let key = cluster_key(ctx, id)?;
            if !site_pos.contains_key(&key.site) {
                return Err(ctx.missing(
                    id.range().start,
                    format!("cluster `{}`", fqdn.value),
                    format!("site {}", key.site),
                ));
            }
            if let Some(first) = cluster_pos.insert(key.clone(), pos) {
                return Err(ctx.duplicate(pos, first, key.to_string()));
            }
            if let Some(first) = fqdn_pos.insert(fqdn.value.to_ascii_lowercase(), pos) {
                return Err(ctx.duplicate(pos, first, format!("pool `{}`", fqdn.value)));
            }
            let mut machines = Vec::new();
            for machine in children(cluster, NS_TOPOLOGY, "Machine") {
                let mpos = machine.range().start;
                let mfqdn = located(machine, "Fqdn")
                    .ok_or_else(|| ctx.invalid(mpos, "`Machine` has no `Fqdn` attribute"))?;
                let external = children(machine, NS_TOPOLOGY, "NetInterface")
                    .filter(|n| n.attribute("InterfaceSide") == Some("External"))
                    .filter_map(|n| {
                        Some((located(n, "IPAddress")?, located(n, "ConfiguredIPAddress")))
                    })
                    .collect();
                machines.push(MachineEntry {
                    fqdn: mfqdn,
                    external,
                });
            }
            index.clusters.insert(key, ClusterEntry { fqdn, machines });
        }
    }

    let mut service_pos: HashMap<ServiceKey, usize> = HashMap::new();
    for services in children(root, NS_TOPOLOGY, "Services") {
        for service in children(services, NS_TOPOLOGY, "Service") {
            let pos = service.range().start;
            let id = child(service, NS_TOPOLOGY, "ServiceId")
                .ok_or_else(|| ctx.invalid(pos, "`Service` has no `ServiceId`"))?;
            let key = service_key(ctx, id)?;
            if let Some(first) = service_pos.insert(key.clone(), pos) {
                return Err(ctx.duplicate(pos, first, key.to_string()));
            }
            // Where it is installed: a cluster directly, or a SQL instance on one.
            let installed = child(service, NS_TOPOLOGY, "InstalledOn").and_then(|i| {
                child(i, NS_TOPOLOGY, "ClusterId").or_else(|| {
                    child(i, NS_TOPOLOGY, "SqlInstanceId")
                        .and_then(|s| child(s, NS_TOPOLOGY, "ClusterId"))
                })
            });
            let Some(installed) = installed else {
                return Err(ctx.invalid(pos, format!("{key} has no `InstalledOn/ClusterId`")));
            };
            let installed_on = cluster_key(ctx, installed)?;
            if !cluster_pos.contains_key(&installed_on) {
                return Err(ctx.missing(
                    installed.range().start,
                    key.to_string(),
                    installed_on.to_string(),
                ));
            }
            if key.role != EDGE_ROLE && !MEDIA_ROLES.contains(&key.role.as_str()) {
                continue;
            }
            let entry = service_entry(ctx, text, service, key.clone(), installed_on)?;
            index.services.insert(key, entry);
        }
    }

    // Dependencies of the services kept must name services that exist.
    for s in index.services.values() {
        for d in &s.deps {
            if !service_pos.contains_key(&d.key) {
                return Err(ctx.missing(d.pos, s.key.to_string(), d.key.to_string()));
            }
        }
    }
    Ok(index)
}

fn service_entry(
    ctx: &Ctx<'_, '_>,
    text: &str,
    service: Node<'_, '_>,
    key: ServiceKey,
    installed_on: ClusterKey,
) -> Result<ServiceEntry, TopologyError> {
    let mut deps = Vec::new();
    let mut depends_on = None;
    if let Some(d) = child(service, NS_TOPOLOGY, "DependsOn") {
        let range = d.range();
        let self_closing = text.get(..range.end).is_some_and(|t| t.ends_with("/>"));
        let mut entry = DependsOnEntry {
            range,
            self_closing,
            qname: qname(text, d).to_string(),
            dependency_qname: None,
            service_id_qname: None,
        };
        for dep in children(d, NS_TOPOLOGY, "Dependency") {
            entry
                .dependency_qname
                .get_or_insert_with(|| qname(text, dep).to_string());
            let Some(id) = child(dep, NS_TOPOLOGY, "ServiceId") else {
                return Err(ctx.invalid(dep.range().start, "`Dependency` has no `ServiceId`"));
            };
            entry
                .service_id_qname
                .get_or_insert_with(|| qname(text, id).to_string());
            let dkey = service_key(ctx, id)?;
            let (Some(site_value), Some(role_value), Some(instance_value)) = (
                value_range(id, "SiteId"),
                value_range(id, "RoleName"),
                value_range(id, "Instance"),
            ) else {
                return Err(
                    ctx.invalid(id.range().start, "`ServiceId` lacks `SiteId` or `Instance`")
                );
            };
            deps.push(DepEntry {
                key: dkey,
                pos: dep.range().start,
                site_value,
                role_value,
                instance_value,
                range: dep.range(),
            });
        }
        depends_on = Some(entry);
    }
    let mut ports = Vec::new();
    let mut ports_range = None;
    if let Some(p) = child(service, NS_SERVICE_ROLES, "Ports") {
        ports_range = Some(p.range());
        for port in children(p, NS_SERVICE_ROLES, "Port") {
            let get = |n: &str| port.attribute(n).unwrap_or("").to_string();
            ports.push(PortEntry {
                owner: get("Owner"),
                usage: get("Usage"),
                side: get("InterfaceSide"),
                protocol: get("Protocol"),
                configured_fqdn: port.attribute("ConfiguredFqdn").map(str::to_string),
                range: port.range(),
            });
        }
    }
    let is_director = child(service, NS_SERVICE_ROLES, "RegistrarService")
        .and_then(|r| r.attribute("IsDirector"))
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    Ok(ServiceEntry {
        key,
        pos: service.range().start,
        installed_on,
        is_director,
        deps,
        depends_on,
        ports,
        ports_range,
    })
}
