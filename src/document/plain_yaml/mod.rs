//! A quick reader for plain block YAML, the subset lab files are written
//! in: block mappings and sequences, one-line flow collections, plain
//! scalars, single-quoted and escape-free double-quoted scalars, comments.
//! It reads such text several times faster than the full parser, and gives
//! the same value for it. Whatever lies outside the subset (anchors and
//! aliases, tags, block or multi-line scalars, escapes, tabs, a key written
//! twice, nesting past the cap, a scalar whose type the full parser might
//! read differently) or does not fit the target type makes it give up, and
//! the caller reads the text with the full parser, which also gives every
//! error its position: what the quick reader accepts, the full parser
//! accepts too, with the same value.

mod de;
mod events;

/// Why the quick reader gave up (for tests and tracing only: the full
/// parser then reads the text and reports any error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(String);

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unsupported {}

/// Reads `text` as a `T`, or says why it is left to the full parser.
///
/// # Errors
/// [`Unsupported`] when the text is outside the subset or is not a `T`.
pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Unsupported> {
    let outside = if text.is_ascii() {
        text.bytes()
            .find(|b| (*b < 0x20 && *b != b'\n') || *b == 0x7f)
            .map(char::from)
    } else {
        text.chars().find(|c| !plain_character(*c))
    };
    if let Some(c) = outside {
        return Err(Unsupported(format!("the character {c:?}")));
    }
    let events = events::events(text, super::budget::MAX_DEPTH)?;
    let mut reader = de::Reader::new(events);
    let value = T::deserialize(&mut reader)?;
    if !reader.done() {
        return Err(Unsupported("events left unread".into()));
    }
    Ok(value)
}

/// Whether `c` may appear in the subset: YAML's printable characters,
/// without the tab and carriage return, the byte order mark, and the
/// characters some readers take for line breaks.
fn plain_character(c: char) -> bool {
    match c {
        '\n' => true,
        '\u{20}'..='\u{7e}' => true,
        '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}' => {
            !matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(text: &str) -> serde_json::Value {
        serde_saphyr::from_str_with_options(text, crate::document::budget::options(text.len()))
            .unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    #[test]
    fn plain_scalars_are_typed_as_the_full_parser_types_them_or_left_to_it() {
        let read = [
            "edge1.contoso.com",
            "Site 1",
            "_xmpp-server._tcp.contoso.com",
            "192.0.2.1",
            "42",
            "-3",
            "0",
            "true",
            "false",
            "null",
            "'07'",
            "\"yes\"",
            "running",
        ];
        for scalar in read {
            let text = format!("a: {scalar}\nb: [{scalar}]\nc: {{ d: {scalar} }}\n");
            let quick: serde_json::Value = from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
            assert_eq!(quick, full(&text), "{text}");
        }
        let left = [
            "yes",
            "No",
            "on",
            "~",
            "Null",
            "TRUE",
            "07",
            "1.5",
            "1e3",
            "0x1f",
            ".inf",
            "nan",
            "+1",
            "1_000",
            "2001:db8::1",
        ];
        for scalar in left {
            let text = format!("a: {scalar}\n");
            assert!(from_str::<serde_json::Value>(&text).is_err(), "{text}");
        }
    }

    #[test]
    fn text_with_a_character_outside_the_subset_is_left_to_the_full_parser() {
        for text in [
            "a: b\u{1}\n",
            "a: b\r\n",
            "\u{feff}a: b\n",
            "a: b\u{85}c\n",
            "a: b\u{2028}c\n",
        ] {
            assert!(from_str::<serde_json::Value>(text).is_err(), "{text:?}");
        }
        let quick: serde_json::Value = from_str("a: héllo\n").expect("printable text");
        assert_eq!(quick, full("a: héllo\n"));
    }
}
