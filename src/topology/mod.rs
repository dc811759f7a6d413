//! The Lync / Skype for Business published topology document: reading it
//! into a [`TopologyModel`] and editing it byte for byte.
//!
//! The input is what `Get-CsTopology -AsXml | Out-File topology.xml` writes
//! (UTF-16 LE, BOM, CRLF) or the same as UTF-8. [`TopologyDocument::parse`]
//! decodes it, parses it with roxmltree (namespace-aware, order-independent),
//! keeps a small index of byte ranges and drops the DOM (one small DOM per
//! second-level element, see `chunks`, so a 50 MB export fits in memory).
//! [`TopologyDocument::apply`] turns [`TopologyEdit`]s into splices of the
//! original text and re-encodes it as it came. Topology Builder `.tbxml`
//! documents and anything else are refused with a [`TopologyError`].
//!
//! Files: `encoding` (bytes ↔ text), `chunks` (cutting a document into
//! pieces), `keys` (interned keys), `index` (DOMs → ranges), `extract`
//! (ranges → model), `addresses` (which addresses go into public DNS),
//! `edit` (edits → splices), `model` (public model and [`show`]),
//! `deployment` ([`to_deployment`]), `signature` (the root's `Signature`
//! read without a DOM), `error`.

mod addresses;
mod chunks;
mod deployment;
mod edit;
mod encoding;
mod error;
mod extract;
mod index;
mod keys;
mod model;
mod signature;

pub use deployment::to_deployment;
pub use edit::TopologyEdit;
pub use encoding::Encoding;
pub use error::TopologyError;
pub(crate) use error::line_col;
pub use index::{NS_SERVICE_ROLES, NS_TOPOLOGY};
pub use model::{ShowFormat, TopologyEdgePool, TopologyFrontEndPool, TopologyModel, TopologySite, show};
pub use signature::{PREFIX_BYTES as SIGNATURE_PREFIX_BYTES, root_signature, root_signature_of_bytes};

/// A published topology: its original text and encoding, the parsed index
/// and the model.
#[derive(Clone, Debug)]
pub struct TopologyDocument {
    origin: String,
    encoding: Encoding,
    /// The decoded text, without the BOM.
    text: String,
    index: index::Index,
    links: extract::Links,
    model: TopologyModel,
}

impl TopologyDocument {
    /// Reads a published topology. `origin` (the file name) is used in messages.
    ///
    /// # Errors
    /// [`TopologyError::Encoding`] for bytes that are not UTF-8 / UTF-16,
    /// [`TopologyError::Xml`] for malformed XML,
    /// [`TopologyError::TopologyBuilderDocument`] for a `.tbxml`,
    /// [`TopologyError::UnknownFormat`] for another root element or namespace,
    /// [`TopologyError::Invalid`], [`TopologyError::MissingReference`] and
    /// [`TopologyError::Duplicate`] for documents that are inconsistent.
    pub fn parse(bytes: &[u8], origin: &str) -> Result<Self, TopologyError> {
        let (encoding, decoded) = encoding::decode(bytes, origin)?;
        // Every DOM is dropped inside `build`, before the text is copied.
        let index = index::build(decoded.as_str(), origin)?;
        let text = decoded.into_string();
        let (model, links) = extract::extract(&index, origin, &text)?;
        Ok(Self {
            origin: origin.to_string(),
            encoding,
            text,
            index,
            links,
            model,
        })
    }

    /// Only the model of a published topology: [`Self::parse`] without
    /// keeping a copy of the text (or the index) for edits — what
    /// observation needs, for a document it already holds.
    ///
    /// # Errors
    /// As [`Self::parse`].
    pub fn read_model(bytes: &[u8], origin: &str) -> Result<TopologyModel, TopologyError> {
        let (_, decoded) = encoding::decode(bytes, origin)?;
        let index = index::build(decoded.as_str(), origin)?;
        let (model, _) = extract::extract(&index, origin, decoded.as_str())?;
        Ok(model)
    }

    /// What the planner needs from the document.
    #[must_use]
    pub fn model(&self) -> &TopologyModel {
        &self.model
    }

    /// `Topology/@Signature`, if present.
    #[must_use]
    pub fn signature(&self) -> Option<&str> {
        self.index.signature.as_deref()
    }

    /// The encoding the document came in (and [`Self::apply`] writes).
    #[must_use]
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Applies `edits` in order (a later edit of the same setting wins) and
    /// returns the whole document in its original encoding, BOM and line
    /// ends. Bytes the edits do not need to change are kept as they were;
    /// edits that change nothing give back the original bytes.
    ///
    /// # Errors
    /// [`TopologyError::UnknownPool`] when an edit names a pool the document
    /// does not have (or of the wrong kind); [`TopologyError::CannotEdit`]
    /// when the document lacks what the edit needs (e.g. no Access Edge
    /// external FQDN to give the federation port).
    pub fn apply(&self, edits: &[TopologyEdit]) -> Result<Vec<u8>, TopologyError> {
        let editor = edit::Editor {
            origin: &self.origin,
            text: &self.text,
            index: &self.index,
            links: &self.links,
        };
        let text = editor.apply(edits)?;
        Ok(encoding::encode(text, self.encoding))
    }
}
