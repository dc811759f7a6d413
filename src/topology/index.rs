//! The parsed index of a published topology: sites, clusters and the
//! services edgefed reads or edits, with the byte ranges edits splice.
//!
//! Built from roxmltree DOMs — one per second-level element (see
//! [`super::chunks`]), or of the whole document when it cannot be cut — which
//! are dropped at once: the index owns only small strings and ranges into
//! the decoded text. Everything is matched by namespace and local name,
//! never by element order; references are checked once everything is read.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::ops::Range;

use roxmltree::Node;

pub(crate) use super::keys::{ClusterKey, EDGE_ROLE, Interner, MEDIA_ROLES, REGISTRAR_ROLE, ServiceKey, Sym};
use super::{TopologyError, chunks, line_col};

/// The published topology namespace.
pub const NS_TOPOLOGY: &str = "urn:schema:Microsoft.Rtc.Management.Deploy.Topology.2008";
/// The namespace of `Ports` / `Port` and the service-specific elements.
pub const NS_SERVICE_ROLES: &str = "urn:schema:Microsoft.Rtc.Management.Deploy.ServiceRoles.2008";
const NS_TOPOLOGY_BUILDER: &str = "urn:schema:Microsoft.Rtc.Management.Deploy.TopologyBuilder.2008";
const NS_WRITABLE: &str = "urn:schema:Microsoft.Rtc.Management.Deploy.WritableTopology.2008";

/// A `CentralSite`.
#[derive(Clone, Debug)]
pub(crate) struct SiteEntry {
    pub id: String,
    pub name: String,
}

/// An attribute value, as a range of the document (no copy).
#[derive(Clone, Debug)]
pub(crate) struct Located {
    /// The value's range, quotes excluded.
    pub range: Range<usize>,
}

impl Located {
    /// The value as written, trimmed.
    pub fn value<'t>(&self, text: &'t str) -> &'t str {
        text.get(self.range.clone()).unwrap_or("").trim()
    }

    /// Where it starts.
    pub fn pos(&self) -> usize {
        self.range.start
    }
}

/// A `NetInterface InterfaceSide="External"` of a machine.
#[derive(Clone, Debug)]
pub(crate) struct ExternalInterface {
    /// `InterfaceNumber` as written, trimmed (`1` when absent).
    pub number: String,
    /// `IPAddress`.
    pub ip: Located,
    /// `ConfiguredIPAddress`: the public address when the Edge is behind NAT.
    pub configured: Option<Located>,
}

/// A `Machine` of a cluster.
#[derive(Clone, Debug)]
pub(crate) struct MachineEntry {
    pub fqdn: Located,
    /// Its external interfaces, in document order.
    pub external: Vec<ExternalInterface>,
}

/// `InterfaceNumber` of a `NetInterface` or `Port`, trimmed; `1` when absent
/// (every sample writes it; an Edge with one external interface numbers it 1).
pub(crate) fn interface_number(node: Node<'_, '_>) -> String {
    node.attribute("InterfaceNumber").map_or("1", str::trim).to_string()
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
    pub qname: Range<usize>,
    /// The tag name of its `Dependency` children as written, if any.
    pub dependency_qname: Option<Range<usize>>,
    /// The tag name of `ServiceId` inside those, as written.
    pub service_id_qname: Option<Range<usize>>,
}

/// What a `Port` is, as far as edgefed cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PortKind {
    /// `AccessEdge` `SipServer` `External` `Mtls`: the SIP federation port.
    Federation,
    /// Another `AccessEdge` port on the `External` side (e.g. `SipClient`/`Tls`).
    AccessEdgeExternal,
    /// A `MediaRelayEdge` port.
    MediaRelay,
    /// An `XmppFederationProxy` port.
    XmppProxy,
    /// Anything else.
    Other,
}

impl PortKind {
    fn of(owner: &str, usage: &str, side: &str, protocol: &str) -> Self {
        match owner {
            "urn:component:AccessEdge" if side == "External" => {
                if usage == "SipServer" && protocol == "Mtls" {
                    Self::Federation
                } else {
                    Self::AccessEdgeExternal
                }
            }
            "urn:component:MediaRelayEdge" => Self::MediaRelay,
            "urn:component:XmppFederationProxy" => Self::XmppProxy,
            _ => Self::Other,
        }
    }
}

/// A `Port` of a service.
#[derive(Clone, Debug)]
pub(crate) struct PortEntry {
    pub kind: PortKind,
    pub configured_fqdn: Option<String>,
    /// `InterfaceNumber`, for Access Edge external ports (`1` when absent).
    pub interface_number: Option<String>,
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
    pub names: Interner,
}

impl Index {
    /// `service EdgeServer (site 1, instance 1)`.
    pub fn describe(&self, k: &ServiceKey) -> String {
        format!(
            "service {} (site {}, instance {})",
            self.names.name(k.role),
            self.names.name(k.site),
            self.names.name(k.instance)
        )
    }

    /// `cluster 2 of site 1`.
    pub fn describe_cluster(&self, k: &ClusterKey) -> String {
        format!(
            "cluster {} of site {}",
            self.names.name(k.number),
            self.names.name(k.site)
        )
    }
}

/// Builds errors and document positions for one parsed piece.
pub(crate) struct Ctx<'a> {
    pub origin: &'a str,
    /// The whole decoded document.
    pub text: &'a str,
    /// Document offset = piece offset + `shift`.
    pub shift: isize,
}

impl Ctx<'_> {
    fn at(&self, pos: usize) -> usize {
        pos.wrapping_add_signed(self.shift)
    }

    fn range(&self, r: Range<usize>) -> Range<usize> {
        self.at(r.start)..self.at(r.end)
    }

    fn start(&self, node: Node<'_, '_>) -> usize {
        self.at(node.range().start)
    }

    fn invalid(&self, pos: usize, detail: impl Into<String>) -> TopologyError {
        let (line, column) = line_col(self.text, pos);
        TopologyError::Invalid {
            file: self.origin.to_string(),
            line,
            column,
            detail: detail.into(),
        }
    }
}

fn duplicate(origin: &str, text: &str, pos: usize, first: usize, what: String) -> TopologyError {
    let (line, column) = line_col(text, pos);
    TopologyError::Duplicate {
        file: origin.to_string(),
        line,
        column,
        what,
        first_line: line_col(text, first).0,
    }
}

fn missing(origin: &str, text: &str, pos: usize, what: String, reference: String) -> TopologyError {
    let (line, column) = line_col(text, pos);
    TopologyError::MissingReference {
        file: origin.to_string(),
        line,
        column,
        what,
        reference,
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

fn child<'a, 'input: 'a>(node: Node<'a, 'input>, ns: &'a str, name: &'a str) -> Option<Node<'a, 'input>> {
    children(node, ns, name).next()
}

fn attr<'a>(ctx: &Ctx<'_>, node: Node<'a, '_>, name: &str) -> Result<&'a str, TopologyError> {
    node.attribute(name).ok_or_else(|| {
        ctx.invalid(
            ctx.start(node),
            format!("`{}` has no `{name}` attribute", node.tag_name().name()),
        )
    })
}

fn value_range(ctx: &Ctx<'_>, node: Node<'_, '_>, name: &str) -> Option<Range<usize>> {
    node.attributes()
        .find(|a| a.name() == name && a.namespace().is_none())
        .map(|a| ctx.range(a.range_value()))
}

/// The range of an element's tag name exactly as written (with any prefix).
fn qname(ctx: &Ctx<'_>, node: Node<'_, '_>) -> Range<usize> {
    let start = ctx.start(node) + 1;
    let rest = ctx.text.get(start..).unwrap_or("");
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .unwrap_or(rest.len());
    start..start + end
}

fn service_key(ctx: &Ctx<'_>, names: &mut Interner, node: Node<'_, '_>) -> Result<ServiceKey, TopologyError> {
    Ok(ServiceKey {
        site: names.intern(attr(ctx, node, "SiteId")?.trim()),
        role: names.intern(attr(ctx, node, "RoleName")?.trim()),
        instance: names.intern(attr(ctx, node, "Instance")?.trim()),
    })
}

fn cluster_key(ctx: &Ctx<'_>, names: &mut Interner, node: Node<'_, '_>) -> Result<ClusterKey, TopologyError> {
    Ok(ClusterKey {
        site: names.intern(attr(ctx, node, "SiteId")?.trim()),
        number: names.intern(attr(ctx, node, "Number")?.trim()),
    })
}

fn located(ctx: &Ctx<'_>, node: Node<'_, '_>, name: &str) -> Option<Located> {
    let a = node
        .attributes()
        .find(|a| a.name() == name && a.namespace().is_none())?;
    Some(Located {
        range: ctx.range(a.range_value()),
    })
}

/// Accumulates the index from the pieces of a document, in any order.
#[derive(Default)]
struct Builder {
    index: Index,
    site_pos: HashMap<Sym, usize>,
    cluster_pos: HashMap<ClusterKey, usize>,
    fqdn_pos: HashMap<String, usize>,
    service_pos: HashMap<ServiceKey, usize>,
    /// (what, its cluster, where) for every reference to a cluster.
    cluster_refs: Vec<(ServiceKey, ClusterKey, usize)>,
    /// (site, pool, where) of every `ClusterId` of a cluster.
    site_refs: Vec<(Sym, String, usize)>,
}

/// Checks the root element: a published topology, not a Topology Builder
/// document or anything else.
fn check_root(ctx: &Ctx<'_>, root: Node<'_, '_>) -> Result<(), TopologyError> {
    let ns = root.tag_name().namespace().unwrap_or("");
    if ns == NS_TOPOLOGY_BUILDER || ns == NS_WRITABLE || root.tag_name().name() == "TopologyBuilder" {
        return Err(TopologyError::TopologyBuilderDocument {
            file: ctx.origin.to_string(),
        });
    }
    if !is(root, NS_TOPOLOGY, "Topology") {
        let (line, column) = line_col(ctx.text, ctx.start(root));
        return Err(TopologyError::UnknownFormat {
            file: ctx.origin.to_string(),
            line,
            column,
            element: root.tag_name().name().to_string(),
            namespace: ns.to_string(),
        });
    }
    Ok(())
}

impl Builder {
    /// Reads one second-level element (`section` is its parent).
    fn element(&mut self, ctx: &Ctx<'_>, section: Node<'_, '_>, node: Node<'_, '_>) -> Result<(), TopologyError> {
        if is(section, NS_TOPOLOGY, "Sites") && is(node, NS_TOPOLOGY, "CentralSite") {
            self.site(ctx, node)
        } else if is(section, NS_TOPOLOGY, "Clusters") && is(node, NS_TOPOLOGY, "Cluster") {
            self.cluster(ctx, node)
        } else if is(section, NS_TOPOLOGY, "Services") && is(node, NS_TOPOLOGY, "Service") {
            self.service(ctx, node)
        } else {
            Ok(())
        }
    }

    fn site(&mut self, ctx: &Ctx<'_>, site: Node<'_, '_>) -> Result<(), TopologyError> {
        let id = attr(ctx, site, "SiteId")?.trim().to_string();
        let sym = self.index.names.intern(&id);
        let pos = ctx.start(site);
        if let Some(first) = self.site_pos.insert(sym, pos) {
            return Err(duplicate(ctx.origin, ctx.text, pos, first, format!("site {id}")));
        }
        let name = child(site, NS_TOPOLOGY, "Name")
            .and_then(|n| n.text())
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ctx.invalid(pos, format!("central site {id} has no `Name`")))?;
        self.index.sites.push(SiteEntry { id, name });
        Ok(())
    }

    fn cluster(&mut self, ctx: &Ctx<'_>, cluster: Node<'_, '_>) -> Result<(), TopologyError> {
        let pos = ctx.start(cluster);
        let fqdn =
            located(ctx, cluster, "Fqdn").ok_or_else(|| ctx.invalid(pos, "`Cluster` has no `Fqdn` attribute"))?;
        let name = fqdn.value(ctx.text);
        let id = child(cluster, NS_TOPOLOGY, "ClusterId")
            .ok_or_else(|| ctx.invalid(pos, format!("cluster `{name}` has no `ClusterId`")))?;
        let key = cluster_key(ctx, &mut self.index.names, id)?;
        // References are checked at the end, unless already satisfied.
        if !self.site_pos.contains_key(&key.site) {
            self.site_refs.push((key.site, name.to_string(), ctx.start(id)));
        }
        if let Some(first) = self.cluster_pos.insert(key, pos) {
            return Err(duplicate(
                ctx.origin,
                ctx.text,
                pos,
                first,
                self.index.describe_cluster(&key),
            ));
        }
        if let Some(first) = self.fqdn_pos.insert(name.to_ascii_lowercase(), pos) {
            return Err(duplicate(ctx.origin, ctx.text, pos, first, format!("pool `{name}`")));
        }
        let mut machines = Vec::new();
        for machine in children(cluster, NS_TOPOLOGY, "Machine") {
            let mpos = ctx.start(machine);
            let mfqdn =
                located(ctx, machine, "Fqdn").ok_or_else(|| ctx.invalid(mpos, "`Machine` has no `Fqdn` attribute"))?;
            let external = children(machine, NS_TOPOLOGY, "NetInterface")
                .filter(|n| n.attribute("InterfaceSide") == Some("External"))
                .filter_map(|n| {
                    Some(ExternalInterface {
                        number: interface_number(n),
                        ip: located(ctx, n, "IPAddress")?,
                        configured: located(ctx, n, "ConfiguredIPAddress"),
                    })
                })
                .collect();
            machines.push(MachineEntry { fqdn: mfqdn, external });
        }
        self.index.clusters.insert(key, ClusterEntry { fqdn, machines });
        Ok(())
    }

    fn service(&mut self, ctx: &Ctx<'_>, service: Node<'_, '_>) -> Result<(), TopologyError> {
        let pos = ctx.start(service);
        let id =
            child(service, NS_TOPOLOGY, "ServiceId").ok_or_else(|| ctx.invalid(pos, "`Service` has no `ServiceId`"))?;
        let key = service_key(ctx, &mut self.index.names, id)?;
        if let Some(first) = self.service_pos.insert(key, pos) {
            return Err(duplicate(ctx.origin, ctx.text, pos, first, self.index.describe(&key)));
        }
        // Where it is installed: a cluster directly, or a SQL instance on one.
        let installed = child(service, NS_TOPOLOGY, "InstalledOn").and_then(|i| {
            child(i, NS_TOPOLOGY, "ClusterId")
                .or_else(|| child(i, NS_TOPOLOGY, "SqlInstanceId").and_then(|s| child(s, NS_TOPOLOGY, "ClusterId")))
        });
        let Some(installed) = installed else {
            return Err(ctx.invalid(
                pos,
                format!("{} has no `InstalledOn/ClusterId`", self.index.describe(&key)),
            ));
        };
        let installed_on = cluster_key(ctx, &mut self.index.names, installed)?;
        if !self.cluster_pos.contains_key(&installed_on) {
            self.cluster_refs.push((key, installed_on, ctx.start(installed)));
        }
        if key.role != EDGE_ROLE && !MEDIA_ROLES.contains(&key.role) {
            return Ok(());
        }
        let entry = service_entry(ctx, &mut self.index.names, service, key, installed_on)?;
        self.index.services.insert(key, entry);
        Ok(())
    }

    /// Checks every reference once all pieces are read.
    fn finish(self, origin: &str, text: &str) -> Result<Index, TopologyError> {
        let mut first: Option<(usize, TopologyError)> = None;
        let mut note = |pos: usize, e: TopologyError| {
            if first.as_ref().is_none_or(|(p, _)| pos < *p) {
                first = Some((pos, e));
            }
        };
        for (site, pool, pos) in &self.site_refs {
            if !self.site_pos.contains_key(site) {
                note(
                    *pos,
                    missing(
                        origin,
                        text,
                        *pos,
                        format!("cluster `{pool}`"),
                        format!("site {}", self.index.names.name(*site)),
                    ),
                );
            }
        }
        for (key, cluster, pos) in &self.cluster_refs {
            if !self.cluster_pos.contains_key(cluster) {
                note(
                    *pos,
                    missing(
                        origin,
                        text,
                        *pos,
                        self.index.describe(key),
                        self.index.describe_cluster(cluster),
                    ),
                );
            }
        }
        for s in self.index.services.values() {
            for d in &s.deps {
                if !self.service_pos.contains_key(&d.key) {
                    note(
                        d.pos,
                        missing(
                            origin,
                            text,
                            d.pos,
                            self.index.describe(&s.key),
                            self.index.describe(&d.key),
                        ),
                    );
                }
            }
        }
        if let Some((_, e)) = first {
            return Err(e);
        }
        Ok(self.index)
    }
}

fn xml_error(origin: &str, e: &roxmltree::Error) -> TopologyError {
    let p = e.pos();
    TopologyError::Xml {
        file: origin.to_string(),
        line: p.row,
        column: p.col,
        detail: e.to_string(),
    }
}

fn options<'a>() -> roxmltree::ParsingOptions<'a> {
    roxmltree::ParsingOptions {
        allow_dtd: false,
        ..roxmltree::ParsingOptions::default()
    }
}

/// Reads the index of `text` (the decoded document).
pub(crate) fn build(text: &str, origin: &str) -> Result<Index, TopologyError> {
    if let Some(result) = build_in_pieces(text, origin) {
        return result;
    }
    // The whole document at once: the authoritative XML errors.
    let doc = roxmltree::Document::parse_with_options(text, options()).map_err(|e| xml_error(origin, &e))?;
    let ctx = Ctx { origin, text, shift: 0 };
    let root = doc.root_element();
    check_root(&ctx, root)?;
    let mut b = Builder::default();
    b.index.signature = root.attribute("Signature").map(str::to_string);
    for section in root.children().filter(Node::is_element) {
        for node in section.children().filter(Node::is_element) {
            b.element(&ctx, section, node)?;
        }
    }
    b.finish(origin, text)
}

/// The fast path: the skeleton and each second-level element parsed on its
/// own. `None` when the document must be parsed whole instead.
fn build_in_pieces(text: &str, origin: &str) -> Option<Result<Index, TopologyError>> {
    let split = chunks::split(text)?;
    let skeleton = roxmltree::Document::parse_with_options(&split.skeleton, options()).ok()?;
    let root = skeleton.root_element();
    let root_ctx = Ctx {
        origin,
        text,
        shift: split.doc_pos(root.range().start) as isize - root.range().start as isize,
    };
    if let Err(e) = check_root(&root_ctx, root) {
        return Some(Err(e));
    }
    let sections: Vec<Node<'_, '_>> = root.children().filter(Node::is_element).collect();
    // The in-scope namespaces of each section, as a wrapper start tag.
    let wrappers: Vec<String> = sections
        .iter()
        .map(|s| {
            let mut w = String::from("<c");
            for ns in s.namespaces() {
                let uri = ns
                    .uri()
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('"', "&quot;");
                match ns.name() {
                    Some("xml") => {}
                    Some(p) => {
                        let _ = write!(w, " xmlns:{p}=\"{uri}\"");
                    }
                    None => {
                        let _ = write!(w, " xmlns=\"{uri}\"");
                    }
                }
            }
            w.push('>');
            w
        })
        .collect();
    let mut b = Builder::default();
    b.index.signature = root.attribute("Signature").map(str::to_string);
    let mut buf = String::new();
    for (range, section) in &split.chunks {
        let (Some(wrapper), Some(section_node)) = (wrappers.get(*section), sections.get(*section)) else {
            return None;
        };
        buf.clear();
        buf.push_str(wrapper);
        buf.push_str(&text[range.clone()]);
        buf.push_str("</c>");
        let doc = roxmltree::Document::parse_with_options(&buf, options()).ok()?;
        let node = doc.root_element().first_element_child()?;
        let ctx = Ctx {
            origin,
            text,
            shift: range.start as isize - wrapper.len() as isize,
        };
        if let Err(e) = b.element(&ctx, *section_node, node) {
            return Some(Err(e));
        }
    }
    Some(b.finish(origin, text))
}

fn service_entry(
    ctx: &Ctx<'_>,
    names: &mut Interner,
    service: Node<'_, '_>,
    key: ServiceKey,
    installed_on: ClusterKey,
) -> Result<ServiceEntry, TopologyError> {
    let text = ctx.text;
    let mut deps = Vec::new();
    let mut depends_on = None;
    if let Some(d) = child(service, NS_TOPOLOGY, "DependsOn") {
        let range = ctx.range(d.range());
        let self_closing = text.get(..range.end).is_some_and(|t| t.ends_with("/>"));
        let mut entry = DependsOnEntry {
            range,
            self_closing,
            qname: qname(ctx, d),
            dependency_qname: None,
            service_id_qname: None,
        };
        for dep in children(d, NS_TOPOLOGY, "Dependency") {
            entry.dependency_qname.get_or_insert_with(|| qname(ctx, dep));
            let Some(id) = child(dep, NS_TOPOLOGY, "ServiceId") else {
                return Err(ctx.invalid(ctx.start(dep), "`Dependency` has no `ServiceId`"));
            };
            entry.service_id_qname.get_or_insert_with(|| qname(ctx, id));
            let dkey = service_key(ctx, names, id)?;
            let (Some(site_value), Some(role_value), Some(instance_value)) = (
                value_range(ctx, id, "SiteId"),
                value_range(ctx, id, "RoleName"),
                value_range(ctx, id, "Instance"),
            ) else {
                return Err(ctx.invalid(ctx.start(id), "`ServiceId` lacks `SiteId` or `Instance`"));
            };
            deps.push(DepEntry {
                key: dkey,
                pos: ctx.start(dep),
                site_value,
                role_value,
                instance_value,
                range: ctx.range(dep.range()),
            });
        }
        depends_on = Some(entry);
    }
    let mut ports = Vec::new();
    let mut ports_range = None;
    // Only an Edge service's ports matter.
    let edge_ports = (key.role == EDGE_ROLE)
        .then(|| child(service, NS_SERVICE_ROLES, "Ports"))
        .flatten();
    if let Some(p) = edge_ports {
        ports_range = Some(ctx.range(p.range()));
        for port in children(p, NS_SERVICE_ROLES, "Port") {
            let get = |n: &str| port.attribute(n).unwrap_or("");
            let kind = PortKind::of(get("Owner"), get("Usage"), get("InterfaceSide"), get("Protocol"));
            let access_edge = matches!(kind, PortKind::Federation | PortKind::AccessEdgeExternal);
            ports.push(PortEntry {
                kind,
                configured_fqdn: port
                    .attribute("ConfiguredFqdn")
                    .filter(|_| access_edge)
                    .map(str::to_string),
                interface_number: access_edge.then(|| interface_number(port)),
                range: ctx.range(port.range()),
            });
        }
    }
    let is_director = child(service, NS_SERVICE_ROLES, "RegistrarService")
        .and_then(|r| r.attribute("IsDirector"))
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    Ok(ServiceEntry {
        key,
        pos: ctx.start(service),
        installed_on,
        is_director,
        deps,
        depends_on,
        ports,
        ports_range,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_SITES: &str = include_str!("../../tests/fixtures/topology/two-sites.xml");

    #[test]
    fn pieces_and_whole_document_give_the_same_index() {
        let pieces = build_in_pieces(TWO_SITES, "t.xml")
            .expect("the fixture can be cut")
            .unwrap();
        let doc = roxmltree::Document::parse(TWO_SITES).unwrap();
        let ctx = Ctx {
            origin: "t.xml",
            text: TWO_SITES,
            shift: 0,
        };
        let mut b = Builder::default();
        b.index.signature = doc.root_element().attribute("Signature").map(str::to_string);
        for section in doc.root_element().children().filter(Node::is_element) {
            for node in section.children().filter(Node::is_element) {
                b.element(&ctx, section, node).unwrap();
            }
        }
        let whole = b.finish("t.xml", TWO_SITES).unwrap();
        let view = |i: &Index| format!("{:?}", (&i.signature, &i.sites, &i.clusters, &i.services));
        assert_eq!(view(&pieces), view(&whole));
        assert_eq!(pieces.services.len(), 8);
    }
}
