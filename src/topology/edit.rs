//! [`TopologyEdit`]s and how they become byte-range splices over the
//! original text.
//!
//! A list of edits is first folded into the wanted end state (per Edge pool:
//! SIP federation on/off and next hop; per Front End pool: media Edge pool),
//! in order, so a later edit of the same thing wins. Only what differs from
//! the document becomes a splice; everything else — comments, attribute
//! order and quoting, whitespace, unknown elements — is left byte for byte.
//!
//! - Enabling SIP federation inserts the AccessEdge `SipServer` External
//!   `Mtls` 5061 `Port` after the pool's last `MediaRelayEdge` port (where
//!   Topology Builder writes it), copying that port's leading whitespace,
//!   tag prefix, quote character and `/>` style.
//! - Disabling removes exactly that element and the whitespace before it
//!   (its line), so enable and disable are inverses.
//! - Next hop / media association rewrite the `SiteId` and `Instance`
//!   values of the existing `Dependency/ServiceId`; when there is none, a
//!   `Dependency` is added to `DependsOn`.

use std::collections::BTreeMap;
use std::ops::Range;

use super::extract::{Links, is_federation_port};
use super::index::{DepEntry, EDGE_ROLE, Index, PortKind, REGISTRAR_ROLE, ServiceEntry, ServiceKey, Sym};
use super::{TopologyError, line_col};
use crate::model::Fqdn;

/// One change to a published topology.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopologyEdit {
    /// Add the SIP federation port (5061) to an Edge pool.
    EnableSipFederation {
        /// The Edge pool.
        edge_pool: Fqdn,
    },
    /// Remove the SIP federation port from an Edge pool.
    DisableSipFederation {
        /// The Edge pool.
        edge_pool: Fqdn,
    },
    /// Point a Front End pool's Registrar / ConfServices / MediationServer at
    /// an Edge pool ("Associate Edge pool (for media components)").
    SetMediaEdgePool {
        /// The Front End pool.
        front_end_pool: Fqdn,
        /// The Edge pool.
        edge_pool: Fqdn,
    },
    /// Set an Edge pool's next hop (its dependency on a Registrar).
    SetNextHop {
        /// The Edge pool.
        edge_pool: Fqdn,
        /// The pool (Front End or Director) whose Registrar becomes the next hop.
        next_hop: Fqdn,
    },
}

/// A replacement of `range` of the original text by `with`.
#[derive(Debug)]
struct Splice {
    range: Range<usize>,
    with: String,
}

pub(crate) struct Editor<'a> {
    pub origin: &'a str,
    pub text: &'a str,
    pub index: &'a Index,
    pub links: &'a Links,
}

fn known(map: &BTreeMap<Fqdn, ServiceKey>) -> String {
    if map.is_empty() {
        return "none".to_string();
    }
    map.keys().map(Fqdn::as_str).collect::<Vec<_>>().join(", ")
}

fn escape_attr(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The `xmlns` / `xmlns:p` attributes of an element's start tag, each with
/// a leading space, as written.
fn namespace_declarations(element: &str) -> String {
    let tag_end = {
        let mut quote = None;
        element
            .char_indices()
            .find(|&(_, c)| match quote {
                Some(q) if c == q => {
                    quote = None;
                    false
                }
                Some(_) => false,
                None if c == '"' || c == '\'' => {
                    quote = Some(c);
                    false
                }
                None => c == '>',
            })
            .map_or(element.len(), |(i, _)| i)
    };
    let tag = &element[..tag_end];
    let mut out = String::new();
    let mut rest = tag;
    while let Some(i) = rest.find("xmlns") {
        let preceded_by_space = rest[..i].ends_with(|c: char| c.is_whitespace());
        let after = &rest[i..];
        let eq = after.find('=');
        let (Some(eq), true) = (eq, preceded_by_space) else {
            rest = &rest[i + 5..];
            continue;
        };
        let name = after[..eq].trim_end();
        let value_part = after[eq + 1..].trim_start();
        let Some(q) = value_part.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            break;
        };
        let Some(close) = value_part[1..].find(q) else {
            break;
        };
        if name == "xmlns" || name.starts_with("xmlns:") {
            out.push(' ');
            out.push_str(name);
            out.push('=');
            out.push_str(&value_part[..close + 2]);
        }
        let consumed = after.len() - value_part.len() + close + 2;
        rest = &after[consumed..];
    }
    out
}

impl Editor<'_> {
    fn cannot(&self, pos: usize, detail: String) -> TopologyError {
        let (line, column) = line_col(self.text, pos);
        TopologyError::CannotEdit {
            file: self.origin.to_string(),
            line,
            column,
            detail,
        }
    }

    fn unknown(&self, kind: &'static str, pool: &Fqdn, map: &BTreeMap<Fqdn, ServiceKey>) -> TopologyError {
        TopologyError::UnknownPool {
            file: self.origin.to_string(),
            kind,
            pool: pool.to_string(),
            known: known(map),
        }
    }

    fn edge<'s>(&'s self, pool: &Fqdn) -> Result<&'s ServiceEntry, TopologyError> {
        self.links
            .edge_service
            .get(pool)
            .and_then(|k| self.index.services.get(k))
            .ok_or_else(|| self.unknown("Edge pool", pool, &self.links.edge_service))
    }

    /// The start of the whitespace run that ends at `pos`.
    fn ws_start(&self, pos: usize) -> usize {
        let bytes = self.text.as_bytes();
        let mut i = pos;
        while i > 0 && matches!(bytes[i - 1], b' ' | b'\t' | b'\r' | b'\n') {
            i -= 1;
        }
        i
    }

    fn line_ending(&self) -> &'static str {
        if self.text.contains("\r\n") { "\r\n" } else { "\n" }
    }

    /// The whitespace that starts the line of `pos` (its indentation).
    fn indent_of(&self, pos: usize) -> &str {
        let line_start = self.text[..pos].rfind('\n').map_or(0, |i| i + 1);
        let lead = &self.text[line_start..pos];
        let end = lead.find(|c| c != ' ' && c != '\t').unwrap_or(lead.len());
        &lead[..end]
    }

    /// Computes the new text.
    pub fn apply(&self, edits: &[TopologyEdit]) -> Result<String, TopologyError> {
        let mut sip: BTreeMap<Fqdn, bool> = BTreeMap::new();
        let mut next_hop: BTreeMap<Fqdn, Fqdn> = BTreeMap::new();
        let mut media: BTreeMap<Fqdn, Fqdn> = BTreeMap::new();
        for edit in edits {
            match edit {
                TopologyEdit::EnableSipFederation { edge_pool } => {
                    self.edge(edge_pool)?;
                    sip.insert(edge_pool.clone(), true);
                }
                TopologyEdit::DisableSipFederation { edge_pool } => {
                    self.edge(edge_pool)?;
                    sip.insert(edge_pool.clone(), false);
                }
                TopologyEdit::SetNextHop {
                    edge_pool,
                    next_hop: hop,
                } => {
                    self.edge(edge_pool)?;
                    if !self.links.registrar.contains_key(hop) {
                        return Err(self.unknown("next-hop pool", hop, &self.links.registrar));
                    }
                    next_hop.insert(edge_pool.clone(), hop.clone());
                }
                TopologyEdit::SetMediaEdgePool {
                    front_end_pool,
                    edge_pool,
                } => {
                    self.edge(edge_pool)?;
                    if !self.links.media_services.contains_key(front_end_pool) {
                        let fe: BTreeMap<Fqdn, ServiceKey> = self
                            .links
                            .media_services
                            .iter()
                            .filter_map(|(f, v)| Some((f.clone(), *v.first()?)))
                            .collect();
                        return Err(self.unknown("Front End pool", front_end_pool, &fe));
                    }
                    media.insert(front_end_pool.clone(), edge_pool.clone());
                }
            }
        }

        let mut splices = Vec::new();
        for (pool, want) in &sip {
            let s = self.edge(pool)?;
            let has = s.ports.iter().any(is_federation_port);
            if *want && !has {
                splices.push(self.insert_federation_port(s)?);
            } else if !*want && has {
                for p in s.ports.iter().filter(|p| is_federation_port(p)) {
                    splices.push(Splice {
                        range: self.ws_start(p.range.start)..p.range.end,
                        with: String::new(),
                    });
                }
            }
        }
        for (pool, hop) in &next_hop {
            let s = self.edge(pool)?;
            let target = &self.links.registrar[hop];
            self.point_dependency(s, REGISTRAR_ROLE, target, &mut splices)?;
        }
        for (fe, edge_pool) in &media {
            let target = &self.links.edge_service[edge_pool];
            for key in &self.links.media_services[fe] {
                let s = &self.index.services[key];
                self.point_dependency(s, EDGE_ROLE, target, &mut splices)?;
            }
        }
        self.splice(splices)
    }

    fn splice(&self, mut splices: Vec<Splice>) -> Result<String, TopologyError> {
        splices.sort_by_key(|s| (s.range.start, s.range.end));
        let added: usize = splices.iter().map(|s| s.with.len()).sum();
        // Room for a UTF-8 BOM, so encoding does not copy.
        let mut out = String::with_capacity(self.text.len() + added + 3);
        let mut at = 0;
        for s in &splices {
            if s.range.start < at {
                return Err(self.cannot(
                    s.range.start,
                    "two edits change the same part of the document; apply them one at a time".to_string(),
                ));
            }
            out.push_str(&self.text[at..s.range.start]);
            out.push_str(&s.with);
            at = s.range.end;
        }
        out.push_str(&self.text[at..]);
        Ok(out)
    }

    fn insert_federation_port(&self, s: &ServiceEntry) -> Result<Splice, TopologyError> {
        let anchor = s
            .ports
            .iter()
            .rev()
            .find(|p| p.kind == PortKind::MediaRelay)
            .or_else(|| s.ports.last())
            .ok_or_else(|| {
                self.cannot(
                    s.ports_range.as_ref().map_or(s.pos, |r| r.start),
                    format!(
                        "{} has no `Port` elements to place the federation port next to; enable federation in Topology Builder instead",
                        self.index.describe(&s.key)
                    ),
                )
            })?;
        let access = s
            .ports
            .iter()
            .filter(|p| matches!(p.kind, PortKind::Federation | PortKind::AccessEdgeExternal))
            .find(|p| p.configured_fqdn.is_some());
        // The Access Edge's external interface (1 on a single-address Edge).
        let interface = access.and_then(|p| p.interface_number.as_deref()).unwrap_or("1");
        let fqdn = access
            .and_then(|p| p.configured_fqdn.as_deref())
            .ok_or_else(|| {
                self.cannot(
                    s.pos,
                    format!(
                        "{} has no Access Edge external FQDN (`ConfiguredFqdn` of an external AccessEdge port) to give the federation port; set it in Topology Builder",
                        self.index.describe(&s.key)
                    ),
                )
            })?;
        let src = &self.text[anchor.range.clone()];
        let name_end = src[1..]
            .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
            .map_or(src.len(), |i| i + 1);
        let qname = &src[1..name_end];
        // The quote of the port's last attribute.
        let quote = match src.trim_end_matches("/>").trim_end().chars().last() {
            Some('\'') => '\'',
            _ => '"',
        };
        let close = if src.ends_with(" />") { " />" } else { "/>" };
        let sep = &self.text[self.ws_start(anchor.range.start)..anchor.range.start];
        let q = quote;
        let attrs = [
            ("Owner", "urn:component:AccessEdge"),
            ("Usage", "SipServer"),
            ("InterfaceSide", "External"),
            ("InterfaceNumber", interface),
            ("Port", "5061"),
            ("Protocol", "Mtls"),
            ("UrlPath", "/"),
            ("AuthorizesRequests", "false"),
            ("ConfiguredFqdn", fqdn),
        ];
        let mut with = format!("{sep}<{qname}");
        // Namespace declarations on the copied port itself must come along.
        with.push_str(&namespace_declarations(src));
        for (k, v) in attrs {
            with.push_str(&format!(" {k}={q}{}{q}", escape_attr(v)));
        }
        with.push_str(close);
        Ok(Splice {
            range: anchor.range.end..anchor.range.end,
            with,
        })
    }

    /// Makes `s` depend on `target` instead of its current `role` service.
    fn point_dependency(
        &self,
        s: &ServiceEntry,
        role: Sym,
        target: &ServiceKey,
        splices: &mut Vec<Splice>,
    ) -> Result<(), TopologyError> {
        let current: Option<&DepEntry> = s.deps.iter().find(|d| d.key.role == role);
        match current {
            Some(d) if d.key == *target => {}
            Some(d) => {
                if d.key.site != target.site {
                    splices.push(Splice {
                        range: d.site_value.clone(),
                        with: escape_attr(self.index.names.name(target.site)),
                    });
                }
                if d.key.instance != target.instance {
                    splices.push(Splice {
                        range: d.instance_value.clone(),
                        with: escape_attr(self.index.names.name(target.instance)),
                    });
                }
            }
            None => splices.push(self.add_dependency(s, target)?),
        }
        Ok(())
    }

    fn add_dependency(&self, s: &ServiceEntry, target: &ServiceKey) -> Result<Splice, TopologyError> {
        let d = s.depends_on.as_ref().ok_or_else(|| {
            self.cannot(
                s.pos,
                format!(
                    "{} has no `DependsOn` element to add the dependency to",
                    self.index.describe(&s.key)
                ),
            )
        })?;
        if let Some(last) = s.deps.last() {
            // Copy the last Dependency, with the new ServiceId values.
            let mut snippet = String::new();
            let base = last.range.start;
            let mut at = base;
            let mut parts = [
                (last.site_value.clone(), self.index.names.name(target.site)),
                (last.role_value.clone(), self.index.names.name(target.role)),
                (last.instance_value.clone(), self.index.names.name(target.instance)),
            ];
            parts.sort_by_key(|(r, _)| r.start);
            for (r, v) in parts {
                snippet.push_str(&self.text[at..r.start]);
                snippet.push_str(&escape_attr(v));
                at = r.end;
            }
            snippet.push_str(&self.text[at..last.range.end]);
            let sep = &self.text[self.ws_start(last.range.start)..last.range.start];
            return Ok(Splice {
                range: last.range.end..last.range.end,
                with: format!("{sep}{snippet}"),
            });
        }
        // Write one from scratch, in the document's indentation style.
        let le = self.line_ending();
        let indent = self.indent_of(d.range.start);
        let unit = if indent.contains('\t') { "\t" } else { "  " };
        let slice = |r: &Range<usize>| self.text.get(r.clone()).unwrap_or("");
        let own_qname = slice(&d.qname);
        let prefix = own_qname.rsplit_once(':').map_or("", |(p, _)| p);
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}:")
        };
        let dep_q = d
            .dependency_qname
            .as_ref()
            .map_or_else(|| format!("{prefix}Dependency"), |r| slice(r).to_string());
        let id_q = d
            .service_id_qname
            .as_ref()
            .map_or_else(|| format!("{prefix}ServiceId"), |r| slice(r).to_string());
        let body = format!(
            "{le}{indent}{unit}<{dep_q} Usage=\"Default\">{le}{indent}{unit}{unit}<{id_q} SiteId=\"{}\" RoleName=\"{}\" Instance=\"{}\" />{le}{indent}{unit}</{dep_q}>{le}{indent}</{}>",
            escape_attr(self.index.names.name(target.site)),
            escape_attr(self.index.names.name(target.role)),
            escape_attr(self.index.names.name(target.instance)),
            own_qname
        );
        let src = &self.text[d.range.clone()];
        if d.self_closing {
            let head = src.strip_suffix("/>").unwrap_or(src).trim_end();
            Ok(Splice {
                range: d.range.clone(),
                with: format!("{head}>{body}"),
            })
        } else {
            let start_tag_end = src.find('>').map_or(d.range.start, |i| d.range.start + i + 1);
            Ok(Splice {
                range: start_tag_end..d.range.end,
                with: body,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::namespace_declarations;

    #[test]
    fn namespace_declarations_are_found_in_the_start_tag_only() {
        assert_eq!(
            namespace_declarations(r#"<r:Port xmlns:r="urn:a" Owner="x" xmlns='urn:b'><c xmlns="urn:c"/></r:Port>"#),
            r#" xmlns:r="urn:a" xmlns='urn:b'"#
        );
        assert_eq!(namespace_declarations(r#"<Port Owner="a>xmlns=b" />"#), "");
    }
}
