//! `Topology/@Signature` without building a DOM: a streaming read that
//! stops at the root element's start tag.
//!
//! Lync compares this attribute to refuse a publish over a topology someone
//! else changed, so edgefed reads it on every observation and before every
//! publish. Parsing a 50 MB document into a tree only for one attribute of
//! its first element doubles the observation's work and memory; this reads
//! the prolog (declaration, comments, processing instructions, doctype) and
//! the root start tag, nothing more. Byte input may be UTF-8 or UTF-16 (what
//! `Get-CsTopology -AsXml | Out-File` writes); only a bounded prefix of it
//! is decoded.

use quick_xml::events::Event;
use quick_xml::reader::Reader;

use super::TopologyError;
use super::encoding::{Decoded, decode};

/// How much of a byte document is decoded to find the root start tag.
pub const PREFIX_BYTES: usize = 64 * 1024;

/// The root element's `Signature` attribute (`None` when it has none).
///
/// # Errors
/// [`TopologyError::Xml`] (with line and column) when the text before the
/// end of the root start tag is not well-formed, or when there is no root
/// element.
pub fn root_signature(text: &str, origin: &str) -> Result<Option<String>, TopologyError> {
    scan(text.trim_start_matches('\u{feff}'), origin, false)
}

/// [`root_signature`] of an encoded document (UTF-8 or UTF-16, with or
/// without a byte order mark), decoding at most [`PREFIX_BYTES`] of it.
///
/// # Errors
/// [`TopologyError::Encoding`] when the prefix is not text;
/// [`TopologyError::Xml`] as for [`root_signature`], including a root start
/// tag that does not end within the prefix.
pub fn root_signature_of_bytes(bytes: &[u8], origin: &str) -> Result<Option<String>, TopologyError> {
    let truncated = bytes.len() > PREFIX_BYTES;
    let mut prefix = &bytes[..bytes.len().min(PREFIX_BYTES)];
    if truncated {
        prefix = cut_at_boundary(prefix);
    }
    let (_, decoded) = decode(prefix, origin)?;
    let text = match &decoded {
        Decoded::Borrowed(s) => *s,
        Decoded::Owned(s) => s.as_str(),
    };
    scan(text, origin, truncated)
}

/// `prefix` shortened so no character is cut: an even length (UTF-16) and,
/// for UTF-8, not inside a multi-byte sequence or a surrogate pair.
fn cut_at_boundary(prefix: &[u8]) -> &[u8] {
    let utf16 = matches!(prefix, [0xFF, 0xFE, ..] | [0xFE, 0xFF, ..] | [_, 0, ..] | [0, _, ..]);
    if utf16 {
        let mut end = prefix.len() & !1;
        // Drop a trailing high surrogate (its pair was cut off).
        if end >= 2 {
            let little = !matches!(prefix, [0xFE, 0xFF, ..] | [0, _, ..]);
            let unit = if little {
                u16::from_le_bytes([prefix[end - 2], prefix[end - 1]])
            } else {
                u16::from_be_bytes([prefix[end - 2], prefix[end - 1]])
            };
            if (0xD800..0xDC00).contains(&unit) {
                end -= 2;
            }
        }
        &prefix[..end]
    } else {
        match std::str::from_utf8(prefix) {
            Ok(_) => prefix,
            // A cut multi-byte sequence at the end (at most 3 bytes); an
            // error earlier is reported by `decode`.
            Err(e) if e.error_len().is_none() => &prefix[..e.valid_up_to()],
            Err(_) => prefix,
        }
    }
}

fn scan(text: &str, origin: &str, truncated: bool) -> Result<Option<String>, TopologyError> {
    let xml_error = |pos: usize, detail: String| {
        let (line, column) = super::line_col(text, pos.min(text.len()));
        TopologyError::Xml {
            file: origin.to_string(),
            line,
            column,
            detail,
        }
    };
    let mut reader = Reader::from_str(text);
    loop {
        let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                for attribute in e.attributes() {
                    let attribute = attribute.map_err(|err| xml_error(at, err.to_string()))?;
                    if attribute.key.0 == "Signature" {
                        let value = attribute
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .map_err(|err| xml_error(at, err.to_string()))?;
                        return Ok(Some(value.into_owned()));
                    }
                }
                return Ok(None);
            }
            Ok(Event::Eof) => {
                return Err(xml_error(
                    text.len(),
                    if truncated {
                        format!("the root element's start tag does not end within the first {PREFIX_BYTES} bytes")
                    } else {
                        "the document has no root element".to_string()
                    },
                ));
            }
            Ok(Event::End(_)) => return Err(xml_error(at, "an end tag before any start tag".to_string())),
            Ok(_) => {}
            Err(err) => {
                let detail = if truncated {
                    format!(
                        "{err} (the root element's start tag is malformed or does not end within the first {PREFIX_BYTES} bytes, the part read to find it)"
                    )
                } else {
                    err.to_string()
                };
                return Err(xml_error(at, detail));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Encoding;
    use crate::topology::encoding::encode;

    const DOC: &str = "<?xml version=\"1.0\" encoding=\"utf-16\"?>\r\n<!-- exported -->\r\n<Topology xmlns=\"urn:schema:Microsoft.Rtc.Management.Deploy.Topology.2008\" Signature=\"3d1c&amp;0b\">\r\n  <Sites/>\r\n</Topology>";

    #[test]
    fn reads_the_root_signature_after_the_prolog() {
        assert_eq!(root_signature(DOC, "t.xml").unwrap().as_deref(), Some("3d1c&0b"));
        let bom = format!("\u{feff}{DOC}");
        assert_eq!(root_signature(&bom, "t.xml").unwrap().as_deref(), Some("3d1c&0b"));
    }

    #[test]
    fn reads_it_from_every_encoding() {
        for enc in [
            Encoding::Utf8 { bom: false },
            Encoding::Utf8 { bom: true },
            Encoding::Utf16Le { bom: true },
            Encoding::Utf16Le { bom: false },
            Encoding::Utf16Be { bom: true },
        ] {
            let bytes = encode(DOC.to_string(), enc);
            assert_eq!(
                root_signature_of_bytes(&bytes, "t.xml").unwrap().as_deref(),
                Some("3d1c&0b"),
                "{enc:?}"
            );
        }
    }

    #[test]
    fn only_the_prefix_of_a_large_document_is_read() {
        // Broken XML after the root start tag is not this function's business.
        let big = format!("{DOC}{}", "<x>".repeat(200_000));
        for enc in [Encoding::Utf8 { bom: false }, Encoding::Utf16Le { bom: true }] {
            let bytes = encode(big.clone(), enc);
            assert!(bytes.len() > PREFIX_BYTES);
            assert_eq!(
                root_signature_of_bytes(&bytes, "t.xml").unwrap().as_deref(),
                Some("3d1c&0b")
            );
        }
    }

    #[test]
    fn a_cut_character_at_the_prefix_end_is_not_an_encoding_error() {
        // 'é' (2 bytes in UTF-8) and '𝄞' (a surrogate pair in UTF-16) across the cut.
        let head = "<Topology Signature=\"s\">";
        for filler in ["é", "𝄞"] {
            let big = format!("{head}{}", filler.repeat(PREFIX_BYTES));
            for enc in [
                Encoding::Utf8 { bom: false },
                Encoding::Utf16Le { bom: true },
                Encoding::Utf16Be { bom: false },
            ] {
                let bytes = encode(big.clone(), enc);
                assert_eq!(
                    root_signature_of_bytes(&bytes, "t.xml").unwrap().as_deref(),
                    Some("s"),
                    "{enc:?}"
                );
            }
        }
    }

    #[test]
    fn a_root_without_signature_is_none() {
        assert_eq!(root_signature("<Topology/>", "t.xml").unwrap(), None);
        // An attribute with a prefix is another attribute.
        assert_eq!(
            root_signature("<Topology x:Signature=\"a\" xmlns:x=\"u\"/>", "t.xml").unwrap(),
            None
        );
    }

    #[test]
    fn errors_name_the_file_line_and_column() {
        let e = root_signature("<?xml version=\"1.0\"?>\n<Topology Signature=\"a></Topology>", "t.xml").unwrap_err();
        assert!(matches!(e, TopologyError::Xml { line: 2, .. }), "{e:?}");
        assert!(e.to_string().starts_with("t.xml:2:"), "{e}");
        let e = root_signature("<!-- nothing -->", "t.xml").unwrap_err();
        assert!(e.to_string().contains("no root element"), "{e}");
        let long = format!("<Topology {}", "a=\"b\" ".repeat(PREFIX_BYTES));
        let e = root_signature_of_bytes(long.as_bytes(), "t.xml").unwrap_err();
        assert!(e.to_string().contains("does not end within the first"), "{e}");
    }
}
