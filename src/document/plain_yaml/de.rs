//! Serde's view of the events: a plain scalar is read as its target type
//! asks, as the full parser reads it, and whenever the two could differ (a
//! YAML 1.1 boolean, a float, a number in another base, a null for text)
//! the reader gives up with [`Unsupported`] and the full parser decides.

use std::borrow::Cow;

use serde::de::{self, DeserializeSeed, IntoDeserializer as _, Visitor};

use super::Unsupported;
use super::events::Event;

impl de::Error for Unsupported {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

/// Reads a value from the events, front to back.
pub(super) struct Reader<'a> {
    events: Vec<Event<'a>>,
    next: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(events: Vec<Event<'a>>) -> Self {
        Self { events, next: 0 }
    }

    /// Whether every event was read.
    pub(super) fn done(&self) -> bool {
        self.next == self.events.len()
    }

    fn peek(&self) -> Result<&Event<'a>, Unsupported> {
        self.events
            .get(self.next)
            .ok_or_else(|| Unsupported("the end of the events".into()))
    }

    /// Takes the next event (a scalar's text is moved out).
    fn take(&mut self) -> Result<Event<'a>, Unsupported> {
        let event = self
            .events
            .get_mut(self.next)
            .ok_or_else(|| Unsupported("the end of the events".into()))?;
        self.next += 1;
        Ok(match event {
            Event::Scalar { text, plain } => Event::Scalar {
                text: std::mem::take(text),
                plain: *plain,
            },
            other => other.clone(),
        })
    }

    /// The next event, which must be a scalar: its text and whether it is plain.
    fn scalar(&mut self) -> Result<(Cow<'a, str>, bool), Unsupported> {
        match self.take()? {
            Event::Scalar { text, plain } => Ok((text, plain)),
            _ => Err(Unsupported("a collection where a scalar was expected".into())),
        }
    }

    /// Skips one node and everything in it.
    fn skip(&mut self) -> Result<(), Unsupported> {
        let mut depth = 0usize;
        loop {
            match self.take()? {
                Event::MapStart | Event::SeqStart => depth += 1,
                Event::MapEnd | Event::SeqEnd => depth = depth.saturating_sub(1),
                Event::Scalar { .. } => {}
            }
            if depth == 0 {
                return Ok(());
            }
        }
    }
}

/// Whether a plain scalar is one of the words YAML reads as a boolean or
/// null under some schema (in any case).
pub(super) fn special_word(text: &str) -> bool {
    const WORDS: [&str; 11] = ["y", "yes", "n", "no", "on", "off", "true", "false", "null", "~", ""];
    text.len() <= 5 && WORDS.iter().any(|w| w.eq_ignore_ascii_case(text))
}

/// Whether a plain scalar is a word some YAML readers take for a float.
fn float_word(text: &str) -> bool {
    ["nan", "inf", "infinity"].iter().any(|w| w.eq_ignore_ascii_case(text))
}

/// A plain scalar of decimal digits without a redundant leading zero,
/// optionally negative: the only numbers read here.
fn decimal(text: &str) -> Option<&str> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits.len() == 1 || !digits.starts_with('0'));
    ok.then_some(text)
}

/// Whether a plain scalar is a dotted run of digits with at least two dots
/// (an IPv4 address): no number, so text under every schema.
fn dotted_digits(text: &str) -> bool {
    text.bytes().filter(|b| *b == b'.').count() >= 2
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && !text.starts_with('.')
        && !text.ends_with('.')
        && !text.contains("..")
}

fn unsupported<T>(what: &str) -> Result<T, Unsupported> {
    Err(Unsupported(what.to_string()))
}

fn visit_text<'de, V: Visitor<'de>>(visitor: V, text: Cow<'de, str>) -> Result<V::Value, Unsupported> {
    match text {
        Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
        Cow::Owned(s) => visitor.visit_string(s),
    }
}

macro_rules! integer {
    ($name:ident, $visit:ident, $ty:ty) => {
        fn $name<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
            match self.scalar()? {
                (text, true) => match decimal(&text).and_then(|t| t.parse::<$ty>().ok()) {
                    Some(n) => visitor.$visit(n),
                    None => unsupported("a number outside the plain decimals"),
                },
                _ => unsupported("a quoted number"),
            }
        }
    };
}

impl<'de> de::Deserializer<'de> for &mut Reader<'de> {
    type Error = Unsupported;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.peek()? {
            Event::MapStart => self.deserialize_map(visitor),
            Event::SeqStart => self.deserialize_seq(visitor),
            Event::MapEnd | Event::SeqEnd => unsupported("the end of a collection where a value was expected"),
            Event::Scalar { .. } => match self.scalar()? {
                (text, false) => visit_text(visitor, text),
                (text, true) => {
                    if text == "true" || text == "false" {
                        visitor.visit_bool(text == "true")
                    } else if text == "null" || text.is_empty() {
                        visitor.visit_unit()
                    } else if special_word(&text) || float_word(&text) {
                        unsupported("a YAML 1.1 boolean or another spelling of null")
                    } else if let Some(d) = decimal(&text) {
                        match d.parse::<i64>() {
                            Ok(n) if n >= 0 => visitor.visit_u64(n.unsigned_abs()),
                            Ok(n) => visitor.visit_i64(n),
                            Err(_) => unsupported("a number out of range"),
                        }
                    } else if text.as_bytes()[0].is_ascii_alphabetic() || text.starts_with('_') || dotted_digits(&text)
                    {
                        visit_text(visitor, text)
                    } else {
                        unsupported("a plain scalar that may be a number")
                    }
                }
            },
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.scalar()? {
            (text, true) if text == "true" => visitor.visit_bool(true),
            (text, true) if text == "false" => visitor.visit_bool(false),
            _ => unsupported("a boolean other than `true` or `false`"),
        }
    }

    integer!(deserialize_i8, visit_i8, i8);
    integer!(deserialize_i16, visit_i16, i16);
    integer!(deserialize_i32, visit_i32, i32);
    integer!(deserialize_i64, visit_i64, i64);
    integer!(deserialize_u8, visit_u8, u8);
    integer!(deserialize_u16, visit_u16, u16);
    integer!(deserialize_u32, visit_u32, u32);
    integer!(deserialize_u64, visit_u64, u64);

    fn deserialize_f32<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Unsupported> {
        unsupported("a float")
    }

    fn deserialize_f64<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Unsupported> {
        unsupported("a float")
    }

    fn deserialize_char<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Unsupported> {
        unsupported("a character")
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.scalar()? {
            // A null, or `yes`, `on`, `True`… as text: left to the full parser.
            (text, true) if special_word(&text) || is_null(&text) => unsupported("a null or boolean word for text"),
            (text, _) => visit_text(visitor, text),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Unsupported> {
        unsupported("bytes")
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Unsupported> {
        unsupported("bytes")
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.peek()? {
            Event::Scalar { text, plain: true } if is_null(text) => {
                self.next += 1;
                visitor.visit_none()
            }
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.scalar()? {
            (text, true) if is_null(&text) => visitor.visit_unit(),
            _ => unsupported("a value for a unit"),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Unsupported> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Unsupported> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.take()? {
            Event::SeqStart => {
                let value = visitor.visit_seq(Items { reader: self })?;
                match self.take()? {
                    Event::SeqEnd => Ok(value),
                    _ => unsupported("a sequence with items left unread"),
                }
            }
            _ => unsupported("no sequence where one was expected"),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Unsupported> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Unsupported> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.take()? {
            Event::MapStart => {
                let value = visitor.visit_map(Entries { reader: self })?;
                match self.take()? {
                    Event::MapEnd => Ok(value),
                    _ => unsupported("a mapping with entries left unread"),
                }
            }
            _ => unsupported("no mapping where one was expected"),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unsupported> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unsupported> {
        match self.peek()? {
            Event::Scalar { .. } => match self.scalar()? {
                (text, true) if is_null(&text) || special_word(&text) => {
                    unsupported("a null or boolean word as a variant")
                }
                (text, _) => visitor.visit_enum(text.into_owned().into_deserializer()),
            },
            _ => unsupported("a variant with fields"),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        self.skip()?;
        visitor.visit_unit()
    }
}

/// The plain spellings of null this reader knows (others are left to the
/// full parser).
fn is_null(text: &str) -> bool {
    matches!(text, "" | "null" | "~" | "Null" | "NULL")
}

struct Items<'r, 'de> {
    reader: &'r mut Reader<'de>,
}

impl<'de> de::SeqAccess<'de> for Items<'_, 'de> {
    type Error = Unsupported;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Unsupported> {
        if matches!(self.reader.peek()?, Event::SeqEnd) {
            return Ok(None);
        }
        seed.deserialize(&mut *self.reader).map(Some)
    }
}

struct Entries<'r, 'de> {
    reader: &'r mut Reader<'de>,
}

impl<'de> de::MapAccess<'de> for Entries<'_, 'de> {
    type Error = Unsupported;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Unsupported> {
        if matches!(self.reader.peek()?, Event::MapEnd) {
            return Ok(None);
        }
        seed.deserialize(&mut *self.reader).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Unsupported> {
        seed.deserialize(&mut *self.reader)
    }
}
