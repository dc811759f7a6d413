//! How a topology file is encoded, and decoding / re-encoding it.
//!
//! `Get-CsTopology -AsXml | Out-File` (Windows PowerShell 5) writes UTF-16 LE
//! with a BOM and CRLF line ends; other tools write UTF-8 with or without a
//! BOM. The text is decoded to a `String` (without the BOM) for parsing and
//! splicing, then written back in exactly the encoding and BOM it came in.
//! Line ends are never converted: edits splice text that copies the
//! document's own separators.

use super::TopologyError;

/// The encoding a file came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8, with or without a byte order mark.
    Utf8 {
        /// The file starts with `EF BB BF`.
        bom: bool,
    },
    /// UTF-16 little endian, with or without a byte order mark.
    Utf16Le {
        /// The file starts with `FF FE`.
        bom: bool,
    },
    /// UTF-16 big endian, with or without a byte order mark.
    Utf16Be {
        /// The file starts with `FE FF`.
        bom: bool,
    },
}

/// Decoded text: either borrowed from the input (UTF-8) or owned (UTF-16).
pub(crate) enum Decoded<'a> {
    /// The input was UTF-8: the text after the BOM, borrowed.
    Borrowed(&'a str),
    /// The input was UTF-16: the decoded text.
    Owned(String),
}

impl Decoded<'_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Borrowed(s) => s,
            Self::Owned(s) => s,
        }
    }

    pub(crate) fn into_string(self) -> String {
        match self {
            Self::Borrowed(s) => s.to_owned(),
            Self::Owned(s) => s,
        }
    }
}

/// Detects the encoding of `bytes` and decodes them.
pub(crate) fn decode<'a>(bytes: &'a [u8], origin: &str) -> Result<(Encoding, Decoded<'a>), TopologyError> {
    let err = |detail: String| TopologyError::Encoding {
        file: origin.to_string(),
        detail,
    };
    let (encoding, body) = match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => (Encoding::Utf8 { bom: true }, rest),
        [0xFF, 0xFE, rest @ ..] => (Encoding::Utf16Le { bom: true }, rest),
        [0xFE, 0xFF, rest @ ..] => (Encoding::Utf16Be { bom: true }, rest),
        [a, 0, ..] if *a != 0 => (Encoding::Utf16Le { bom: false }, bytes),
        [0, b, ..] if *b != 0 => (Encoding::Utf16Be { bom: false }, bytes),
        _ => (Encoding::Utf8 { bom: false }, bytes),
    };
    let decoded = match encoding {
        Encoding::Utf8 { .. } => Decoded::Borrowed(std::str::from_utf8(body).map_err(|e| {
            err(format!(
                "invalid UTF-8 at byte {}",
                e.valid_up_to() + (bytes.len() - body.len())
            ))
        })?),
        Encoding::Utf16Le { .. } | Encoding::Utf16Be { .. } => {
            if body.len() % 2 != 0 {
                return Err(err("UTF-16 text with an odd number of bytes".to_string()));
            }
            let little = matches!(encoding, Encoding::Utf16Le { .. });
            let units = body.chunks_exact(2).map(|c| {
                if little {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            });
            let mut s = String::with_capacity(body.len() / 2);
            for (i, ch) in char::decode_utf16(units).enumerate() {
                match ch {
                    Ok(c) => s.push(c),
                    Err(e) => {
                        return Err(err(format!(
                            "unpaired UTF-16 surrogate {:#06x} near byte {}",
                            e.unpaired_surrogate(),
                            i * 2 + (bytes.len() - body.len())
                        )));
                    }
                }
            }
            Decoded::Owned(s)
        }
    };
    Ok((encoding, decoded))
}

/// Encodes `text` back into `encoding` (with its BOM when it had one).
/// UTF-8 reuses the string's buffer (give it 3 bytes of spare capacity for
/// the BOM).
pub(crate) fn encode(mut text: String, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Utf8 { bom } => {
            if bom {
                text.insert(0, '\u{FEFF}');
            }
            text.into_bytes()
        }
        Encoding::Utf16Le { bom } | Encoding::Utf16Be { bom } => {
            let little = matches!(encoding, Encoding::Utf16Le { .. });
            let mut out = Vec::with_capacity(text.len() * 2 + 2);
            if bom {
                out.extend_from_slice(if little { &[0xFF, 0xFE] } else { &[0xFE, 0xFF] });
            }
            for unit in text.encode_utf16() {
                out.extend_from_slice(&if little { unit.to_le_bytes() } else { unit.to_be_bytes() });
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_encoding_round_trips_with_its_bom() {
        let text = "<Topology>\r\n  é ☃ 𝄞\r\n</Topology>";
        for enc in [
            Encoding::Utf8 { bom: false },
            Encoding::Utf8 { bom: true },
            Encoding::Utf16Le { bom: true },
            Encoding::Utf16Le { bom: false },
            Encoding::Utf16Be { bom: true },
        ] {
            let bytes = encode(text.to_string(), enc);
            let (found, decoded) = decode(&bytes, "t.xml").unwrap();
            assert_eq!(found, enc);
            assert_eq!(decoded.as_str(), text);
        }
    }

    #[test]
    fn broken_bytes_are_refused() {
        assert!(matches!(
            decode(&[b'<', 0xFF, b'>'], "t.xml"),
            Err(TopologyError::Encoding { .. })
        ));
        assert!(matches!(
            decode(&[0xFF, 0xFE, b'<', 0, b'a'], "t.xml"),
            Err(TopologyError::Encoding { .. })
        ));
        assert!(matches!(
            decode(&[0xFF, 0xFE, 0x00, 0xD8, b'a', 0], "t.xml"),
            Err(TopologyError::Encoding { .. })
        ));
    }
}
