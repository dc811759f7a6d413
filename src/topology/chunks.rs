//! Splitting a large document into its second-level elements (each
//! `CentralSite`, `Cluster`, `Service`, …) so each is parsed as a small
//! roxmltree document: a full DOM of a 50 MB export takes ~6× the file in
//! memory, a DOM per element almost nothing.
//!
//! The scanner only finds element boundaries (skipping comments, CDATA,
//! processing instructions and quoted attribute values). It never decides
//! well-formedness: every piece, and the skeleton left when the pieces are
//! cut out, is parsed by roxmltree. When the scanner meets anything it does
//! not handle (a DTD, an unclosed construct) or a piece does not parse, the
//! caller falls back to parsing the whole document, which gives the
//! authoritative error.

use std::ops::Range;

/// A document cut into a skeleton and second-level elements.
pub(crate) struct Split {
    /// The text with every chunk removed.
    pub skeleton: String,
    /// (start in skeleton, start in document) of each piece of the skeleton.
    segments: Vec<(usize, usize)>,
    /// Second-level elements: their range and the index of their
    /// first-level parent among the root's element children.
    pub chunks: Vec<(Range<usize>, usize)>,
}

impl Split {
    /// The document offset of skeleton offset `pos`.
    pub fn doc_pos(&self, pos: usize) -> usize {
        let i = self.segments.partition_point(|(s, _)| *s <= pos).saturating_sub(1);
        self.segments.get(i).map_or(pos, |(s, d)| d + (pos - s))
    }
}

fn find(text: &str, from: usize, pat: &str) -> Option<usize> {
    text.get(from..)?.find(pat).map(|i| from + i)
}

/// Cuts `text` into pieces; `None` when the scanner cannot.
pub(crate) fn split(text: &str) -> Option<Split> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut depth = 0usize;
    let mut sections = 0usize;
    let mut chunk_start: Option<usize> = None;
    let mut chunks = Vec::new();
    while let Some(s) = find(text, i, "<") {
        let rest = &b[s..];
        if rest.starts_with(b"<!--") {
            i = find(text, s + 4, "-->")? + 3;
        } else if rest.starts_with(b"<![CDATA[") {
            i = find(text, s + 9, "]]>")? + 3;
        } else if rest.starts_with(b"<?") {
            i = find(text, s + 2, "?>")? + 2;
        } else if rest.starts_with(b"<!") {
            return None;
        } else if rest.starts_with(b"</") {
            let e = find(text, s, ">")?;
            depth = depth.checked_sub(1)?;
            if depth == 2
                && let Some(start) = chunk_start.take()
            {
                chunks.push((start..e + 1, sections.checked_sub(1)?));
            }
            i = e + 1;
        } else {
            let mut j = s + 1;
            let mut quote = 0u8;
            loop {
                let c = *b.get(j)?;
                if quote != 0 {
                    if c == quote {
                        quote = 0;
                    }
                } else if c == b'"' || c == b'\'' {
                    quote = c;
                } else if c == b'>' {
                    break;
                } else if c == b'<' {
                    return None;
                }
                j += 1;
            }
            let self_closing = b[j - 1] == b'/';
            if depth == 1 {
                sections += 1;
            }
            if depth == 2 && self_closing {
                chunks.push((s..j + 1, sections.checked_sub(1)?));
            } else if depth == 2 {
                chunk_start = Some(s);
            }
            if !self_closing {
                depth += 1;
            }
            i = j + 1;
        }
    }
    if depth != 0 || chunk_start.is_some() {
        return None;
    }
    let mut skeleton = String::with_capacity(4096);
    let mut segments = Vec::with_capacity(chunks.len() + 1);
    let mut at = 0;
    for (r, _) in &chunks {
        segments.push((skeleton.len(), at));
        skeleton.push_str(&text[at..r.start]);
        at = r.end;
    }
    segments.push((skeleton.len(), at));
    skeleton.push_str(&text[at..]);
    Some(Split {
        skeleton,
        segments,
        chunks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_level_elements_are_cut_out() {
        let t = "<?xml version=\"1.0\"?><!-- <x> --><R a='>'><S><A b=\"/>\"/><B><C/></B><!-- <D> --></S><T/></R>";
        let s = split(t).unwrap();
        let pieces: Vec<&str> = s.chunks.iter().map(|(r, _)| &t[r.clone()]).collect();
        assert_eq!(pieces, ["<A b=\"/>\"/>", "<B><C/></B>"]);
        assert_eq!(
            s.skeleton,
            "<?xml version=\"1.0\"?><!-- <x> --><R a='>'><S><!-- <D> --></S><T/></R>"
        );
        let p = s.skeleton.find("<!-- <D>").unwrap();
        assert_eq!(&t[s.doc_pos(p)..s.doc_pos(p) + 8], "<!-- <D>");
    }

    #[test]
    fn what_it_does_not_handle_is_left_to_the_full_parse() {
        assert!(split("<!DOCTYPE r><r/>").is_none());
        assert!(split("<r><s><a></s>").is_none());
        assert!(split("<r><s><a b='x></a></s></r>").is_none());
    }
}
