//! [`TopologyError`]: why a topology document cannot be read, edited or
//! turned into a deployment, with the file, the position and what to do.

/// An error reading, editing or converting a topology document.
///
/// Every variant names the file (`file`, the `origin` given to
/// [`super::TopologyDocument::parse`]) and, where the problem has a place in
/// the document, its 1-based `line` and `column`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopologyError {
    /// The bytes are not UTF-8 or UTF-16 text.
    #[error(
        "{file}: cannot decode the file: {detail}. Export the topology again with `Get-CsTopology -AsXml | Out-File topology.xml` (UTF-16) or save it as UTF-8"
    )]
    Encoding {
        /// The file.
        file: String,
        /// What is wrong with the bytes.
        detail: String,
    },
    /// The text is not well-formed XML.
    #[error(
        "{file}:{line}:{column}: not well-formed XML: {detail}. Export the topology again with `Get-CsTopology -AsXml | Out-File topology.xml`"
    )]
    Xml {
        /// The file.
        file: String,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// The XML parser's message.
        detail: String,
    },
    /// A Topology Builder document (`.tbxml`), which cannot be published.
    #[error(
        "{file}: this is a Topology Builder document (.tbxml), not a published topology; `Publish-CsTopology` cannot take it and edgefed does not read it. Export the published topology with `Get-CsTopology -AsXml | Out-File topology.xml` and use that file"
    )]
    TopologyBuilderDocument {
        /// The file.
        file: String,
    },
    /// The root element is not a published topology.
    #[error(
        "{file}:{line}:{column}: expected the root element `Topology` in namespace `urn:schema:Microsoft.Rtc.Management.Deploy.Topology.2008`, found `{element}` in namespace `{namespace}`. Give a file written by `Get-CsTopology -AsXml | Out-File topology.xml`"
    )]
    UnknownFormat {
        /// The file.
        file: String,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// The root element's local name.
        element: String,
        /// The root element's namespace (empty when none).
        namespace: String,
    },
    /// An element lacks something required, or a value cannot be read.
    #[error("{file}:{line}:{column}: {detail}. Fix the document or export it again with `Get-CsTopology -AsXml`")]
    Invalid {
        /// The file.
        file: String,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// What is wrong.
        detail: String,
    },
    /// A service refers to a cluster or service the document does not define.
    #[error(
        "{file}:{line}:{column}: {what} refers to {reference}, which the document does not define. The export is incomplete or was edited by hand: export it again with `Get-CsTopology -AsXml`"
    )]
    MissingReference {
        /// The file.
        file: String,
        /// 1-based line of the reference.
        line: u32,
        /// 1-based column of the reference.
        column: u32,
        /// The referring element, e.g. `service EdgeServer 1-1`.
        what: String,
        /// What it refers to, e.g. `cluster 1-7`.
        reference: String,
    },
    /// The same pool, cluster or service is defined twice.
    #[error(
        "{file}:{line}:{column}: {what} is defined twice (first at line {first_line}). A published topology defines each once: export it again with `Get-CsTopology -AsXml`"
    )]
    Duplicate {
        /// The file.
        file: String,
        /// 1-based line of the second definition.
        line: u32,
        /// 1-based column of the second definition.
        column: u32,
        /// What is duplicated.
        what: String,
        /// 1-based line of the first definition.
        first_line: u32,
    },
    /// An edit names a pool the document does not have.
    #[error("{file}: {kind} `{pool}` is not in the topology; known {kind}s: {known}")]
    UnknownPool {
        /// The file.
        file: String,
        /// `Edge pool`, `Front End pool` or `next-hop pool`.
        kind: &'static str,
        /// The pool asked for.
        pool: String,
        /// The pools of that kind the document has, comma-separated.
        known: String,
    },
    /// An edit cannot be made on this document.
    #[error("{file}:{line}:{column}: cannot edit: {detail}")]
    CannotEdit {
        /// The file.
        file: String,
        /// 1-based line of the element the edit would change.
        line: u32,
        /// 1-based column.
        column: u32,
        /// Why, and what to do.
        detail: String,
    },
    /// The `Get-CsSite | ConvertTo-Json` dump cannot be used.
    #[error("Get-CsSite JSON: {detail}. Give the output of `Get-CsSite | ConvertTo-Json` (one object or an array)")]
    SitesJson {
        /// What is wrong.
        detail: String,
    },
    /// The site routes cannot be derived from the topology alone.
    #[error("{detail}. Give the sites with `--sites-from` (the output of `Get-CsSite | ConvertTo-Json`)")]
    AmbiguousRoutes {
        /// What is ambiguous.
        detail: String,
    },
    /// The model cannot be written as YAML or JSON.
    #[error("cannot write the topology as {format}: {detail}")]
    Show {
        /// `YAML` or `JSON`.
        format: &'static str,
        /// The serialiser's message.
        detail: String,
    },
}

/// 1-based line and column (in characters) of byte offset `pos` in `text`.
pub(crate) fn line_col(text: &str, pos: usize) -> (u32, u32) {
    let pos = pos.min(text.len());
    let mut pos = pos;
    while !text.is_char_boundary(pos) {
        pos -= 1;
    }
    let before = &text[..pos];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}
