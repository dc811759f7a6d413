//! Plain YAML text as a flat list of events (mapping and sequence starts
//! and ends, scalars), for the subset [`super`] describes. Anything outside
//! it is [`Unsupported`]: the caller then reads the text with the full
//! parser.

use std::borrow::Cow;

use super::Unsupported;

/// One event of the text, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Event<'a> {
    /// A mapping starts; its keys and values follow, then [`Event::MapEnd`].
    MapStart,
    /// The mapping ends.
    MapEnd,
    /// A sequence starts; its items follow, then [`Event::SeqEnd`].
    SeqStart,
    /// The sequence ends.
    SeqEnd,
    /// A scalar: its text, and whether it was written plain (unquoted, so
    /// its type is read from its text) or quoted (a string).
    Scalar { text: Cow<'a, str>, plain: bool },
}

/// The events of `text`, or why the text is outside the subset.
pub(super) fn events(text: &str, max_depth: usize) -> Result<Vec<Event<'_>>, Unsupported> {
    let mut scanner = Scanner {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        line_start: 0,
        depth: 0,
        max_depth,
        events: Vec::with_capacity(text.len() / 16),
        keys: Vec::new(),
    };
    scanner.document()?;
    Ok(scanner.events)
}

fn unsupported(what: &str) -> Unsupported {
    Unsupported(what.to_string())
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Where the line of `pos` starts: `pos - line_start` is its column.
    line_start: usize,
    depth: usize,
    max_depth: usize,
    events: Vec<Event<'a>>,
    /// The keys of the mappings being read, innermost last, for finding a
    /// key written twice.
    keys: Vec<Cow<'a, str>>,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    fn column(&self) -> usize {
        self.pos - self.line_start
    }

    /// Moves to the first character of the next line holding content
    /// (skipping blank and comment lines) and returns its indentation;
    /// `None` at the end of the text. Called at the start of a line.
    fn next_content_line(&mut self) -> Result<Option<usize>, Unsupported> {
        loop {
            while self.peek() == Some(b' ') {
                self.pos += 1;
            }
            match self.peek() {
                None => return Ok(None),
                Some(b'\n') => self.new_line(),
                Some(b'#') => {
                    self.skip_to_line_end();
                    if self.peek() == Some(b'\n') {
                        self.new_line();
                    }
                }
                Some(b'\t' | b'\r') => return Err(unsupported("tab or carriage return")),
                Some(_) => return Ok(Some(self.column())),
            }
        }
    }

    fn new_line(&mut self) {
        self.pos += 1;
        self.line_start = self.pos;
    }

    fn skip_to_line_end(&mut self) {
        self.pos = self.bytes[self.pos..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(self.bytes.len(), |n| self.pos + n);
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    /// After a value: spaces and a comment may end the line, nothing else.
    fn end_of_line(&mut self) -> Result<(), Unsupported> {
        self.skip_spaces();
        match self.peek() {
            None => Ok(()),
            Some(b'\n') => {
                self.new_line();
                Ok(())
            }
            Some(b'#') if self.pos > self.line_start && self.bytes[self.pos - 1] == b' ' => {
                self.skip_to_line_end();
                if self.peek() == Some(b'\n') {
                    self.new_line();
                }
                Ok(())
            }
            Some(_) => Err(unsupported("more after a value on its line")),
        }
    }

    fn document(&mut self) -> Result<(), Unsupported> {
        let Some(indent) = self.next_content_line()? else {
            return Err(unsupported("an empty document"));
        };
        if self.text[self.pos..].starts_with("---") || self.peek() == Some(b'%') {
            return Err(unsupported("a directive or document marker"));
        }
        self.block_node(indent)?;
        match self.next_content_line()? {
            None => Ok(()),
            Some(_) => Err(unsupported("content after the document")),
        }
    }

    fn enter(&mut self) -> Result<(), Unsupported> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(unsupported("nesting deeper than the cap"));
        }
        Ok(())
    }

    /// A block mapping or sequence whose first line holds content at
    /// column `indent` (the cursor is there).
    fn block_node(&mut self, indent: usize) -> Result<(), Unsupported> {
        if self.at_sequence_entry() {
            self.block_sequence(indent)
        } else {
            self.block_mapping(indent)
        }
    }

    fn at_sequence_entry(&self) -> bool {
        self.peek() == Some(b'-') && matches!(self.peek_at(1), None | Some(b' ' | b'\n'))
    }

    /// The entries of a block mapping at column `indent`; the cursor is at
    /// its first key.
    fn block_mapping(&mut self, indent: usize) -> Result<(), Unsupported> {
        self.enter()?;
        self.events.push(Event::MapStart);
        let first_key = self.keys.len();
        loop {
            let key = self.block_key()?;
            self.key(first_key, key)?;
            self.skip_spaces();
            if matches!(self.peek(), None | Some(b'\n' | b'#')) {
                self.end_of_line()?;
                self.nested_value(indent, true)?;
            } else {
                self.inline_value()?;
                self.end_of_line()?;
            }
            match self.next_content_line()? {
                Some(next) if next == indent && !self.at_sequence_entry() => {}
                Some(next) if next > indent => return Err(unsupported("a value continued on the next line")),
                Some(next) if next == indent => return Err(unsupported("a sequence entry among mapping keys")),
                _ => break,
            }
        }
        self.close_keys(first_key)?;
        self.events.push(Event::MapEnd);
        self.depth -= 1;
        Ok(())
    }

    /// The value of a key (or a sequence entry) whose line ends after its
    /// colon (its `-`): a block node on the lines below, for a key also a
    /// sequence at the key's own column, or nothing.
    fn nested_value(&mut self, indent: usize, of_key: bool) -> Result<(), Unsupported> {
        match self.next_content_line()? {
            Some(next) if next > indent => self.block_node(next),
            Some(next) if of_key && next == indent && self.at_sequence_entry() => self.block_sequence(indent),
            _ => {
                self.events.push(Event::Scalar {
                    text: Cow::Borrowed(""),
                    plain: true,
                });
                Ok(())
            }
        }
    }

    /// The items of a block sequence at column `indent`; the cursor is at
    /// its first `-`.
    fn block_sequence(&mut self, indent: usize) -> Result<(), Unsupported> {
        self.enter()?;
        self.events.push(Event::SeqStart);
        loop {
            self.pos += 1; // the `-`
            self.skip_spaces();
            match self.peek() {
                None | Some(b'\n' | b'#') => {
                    self.end_of_line()?;
                    self.nested_value(indent, false)?;
                    // The value has read up to the next content line.
                    match self.current_indent() {
                        Some(next) if next == indent && self.at_sequence_entry() => continue,
                        Some(next) if next > indent => return Err(unsupported("bad indentation in a sequence")),
                        _ => break,
                    }
                }
                Some(_) if self.at_sequence_entry() => return Err(unsupported("a sequence in a sequence's entry")),
                Some(_) if self.line_holds_key() => {
                    let column = self.column();
                    self.block_mapping(column)?;
                    // The mapping has read up to the next content line.
                    match self.current_indent() {
                        Some(next) if next == indent && self.at_sequence_entry() => continue,
                        Some(next) if next > indent => return Err(unsupported("bad indentation in a sequence")),
                        _ => break,
                    }
                }
                Some(_) => {
                    self.inline_value()?;
                    self.end_of_line()?;
                }
            }
            match self.next_content_line()? {
                Some(next) if next == indent && self.at_sequence_entry() => {}
                Some(next) if next > indent => return Err(unsupported("bad indentation in a sequence")),
                _ => break,
            }
        }
        self.events.push(Event::SeqEnd);
        self.depth -= 1;
        Ok(())
    }

    /// The indentation of the content line the cursor is on, when it is at
    /// its first character; `None` at the end of the text.
    fn current_indent(&self) -> Option<usize> {
        (self.pos < self.bytes.len()).then(|| self.column())
    }

    /// Whether the rest of the line starts with a key (`key:` followed by a
    /// space or the line's end).
    fn line_holds_key(&self) -> bool {
        let rest = &self.bytes[self.pos..];
        let line = &rest[..rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len())];
        match line.first() {
            Some(b'\'' | b'"') => {
                // A quoted key: its closing quote is followed by a colon.
                let quote = line[0];
                line[1..]
                    .iter()
                    .position(|b| *b == quote)
                    .is_some_and(|end| line.get(end + 2) == Some(&b':'))
            }
            Some(b'{' | b'[') => false,
            _ => line.windows(2).any(|w| w[0] == b':' && w[1] == b' ') || line.last() == Some(&b':'),
        }
    }

    /// Records `key` among the current mapping's keys (those from
    /// `first`) and adds its event. A small mapping's keys are compared
    /// with each new one; a large mapping's are sorted when it ends (see
    /// [`Scanner::close_keys`]).
    fn key(&mut self, first: usize, key: Event<'a>) -> Result<(), Unsupported> {
        let Event::Scalar { text, plain } = &key else {
            return Err(unsupported("a key that is not a scalar"));
        };
        if *plain && !plain_key_is_text(text) {
            return Err(unsupported("a key that could be read as a number, boolean or null"));
        }
        let known = &self.keys[first..];
        if known.len() < SCANNED_KEYS && known.iter().any(|k| k == text) {
            return Err(unsupported("a key written twice"));
        }
        self.keys.push(text.clone());
        self.events.push(key);
        Ok(())
    }

    /// The mapping whose keys start at `first` has ended: refuses a key
    /// written twice in it, and forgets its keys.
    fn close_keys(&mut self, first: usize) -> Result<(), Unsupported> {
        let known = &mut self.keys[first..];
        if known.len() > SCANNED_KEYS {
            known.sort_unstable();
            if known.windows(2).any(|w| w[0] == w[1]) {
                return Err(unsupported("a key written twice"));
            }
        }
        self.keys.truncate(first);
        Ok(())
    }

    /// A key in block context: quoted, or plain up to `: ` or a colon that
    /// ends the line. The cursor ends after the colon.
    fn block_key(&mut self) -> Result<Event<'a>, Unsupported> {
        let key = match self.peek() {
            Some(b'\'' | b'"') => self.quoted()?,
            Some(b'?' | b'{' | b'[') => return Err(unsupported("a complex key")),
            _ => {
                let start = self.pos;
                loop {
                    match self.peek() {
                        Some(b':') if matches!(self.peek_at(1), None | Some(b' ' | b'\n')) => break,
                        Some(b'#') if self.bytes[self.pos - 1] == b' ' => {
                            return Err(unsupported("a comment where a key was expected"));
                        }
                        None | Some(b'\n') => return Err(unsupported("a line without a key")),
                        Some(_) => self.pos += 1,
                    }
                }
                let text = self.text[start..self.pos].trim_end_matches(' ');
                plain_start(text)?;
                Event::Scalar {
                    text: Cow::Borrowed(text),
                    plain: true,
                }
            }
        };
        self.skip_spaces();
        if self.peek() != Some(b':') || !matches!(self.peek_at(1), None | Some(b' ' | b'\n')) {
            return Err(unsupported("a key without its colon"));
        }
        if let Event::Scalar { text, .. } = &key
            && text.len() > MAX_KEY_BYTES
        {
            return Err(unsupported("a key longer than an implicit key may be"));
        }
        self.pos += 1;
        Ok(key)
    }

    /// A value on the key's (or the sequence entry's) line: a flow
    /// collection, a quoted scalar or a plain one.
    fn inline_value(&mut self) -> Result<(), Unsupported> {
        match self.peek() {
            Some(b'{' | b'[') => self.flow_node(),
            Some(b'\'' | b'"') => {
                let scalar = self.quoted()?;
                self.events.push(scalar);
                Ok(())
            }
            _ => {
                let start = self.pos;
                loop {
                    match self.peek() {
                        None | Some(b'\n') => break,
                        Some(b'#') if self.bytes[self.pos - 1] == b' ' => break,
                        Some(b':') if matches!(self.peek_at(1), None | Some(b' ' | b'\n')) => {
                            return Err(unsupported("a mapping on a value's line"));
                        }
                        Some(_) => self.pos += 1,
                    }
                }
                let text = self.text[start..self.pos].trim_end_matches(' ');
                plain_start(text)?;
                self.events.push(Event::Scalar {
                    text: Cow::Borrowed(text),
                    plain: true,
                });
                Ok(())
            }
        }
    }

    /// A quoted scalar that ends on its line: single-quoted (`''` for a
    /// quote) or double-quoted without escapes.
    fn quoted(&mut self) -> Result<Event<'a>, Unsupported> {
        let Some(quote) = self.peek() else {
            return Err(unsupported("the end of the text"));
        };
        self.pos += 1;
        let start = self.pos;
        let mut owned: Option<String> = None;
        loop {
            match self.peek() {
                None | Some(b'\n') => return Err(unsupported("a quoted scalar over several lines")),
                Some(b'\\') if quote == b'"' => return Err(unsupported("an escape sequence")),
                Some(b'\'') if quote == b'\'' && self.peek_at(1) == Some(b'\'') => {
                    let text = owned.get_or_insert_with(|| self.text[start..self.pos].to_string());
                    text.push('\'');
                    self.pos += 2;
                    let resume = self.pos;
                    while !matches!(self.peek(), None | Some(b'\n' | b'\'')) {
                        self.pos += 1;
                    }
                    text.push_str(&self.text[resume..self.pos]);
                }
                Some(b) if b == quote => break,
                Some(_) => {
                    if let Some(text) = owned.as_mut() {
                        // Only after a doubled quote: copy up to the next quote.
                        let resume = self.pos;
                        while !matches!(self.peek(), None | Some(b'\n' | b'\'')) {
                            self.pos += 1;
                        }
                        text.push_str(&self.text[resume..self.pos]);
                    } else {
                        self.pos += 1;
                    }
                }
            }
        }
        let text = match owned {
            Some(text) => Cow::Owned(text),
            None => Cow::Borrowed(&self.text[start..self.pos]),
        };
        self.pos += 1; // the closing quote
        Ok(Event::Scalar { text, plain: false })
    }

    /// A flow mapping or sequence that closes on its line, or a scalar in
    /// one.
    fn flow_node(&mut self) -> Result<(), Unsupported> {
        self.skip_spaces();
        match self.peek() {
            Some(b'{') => self.flow_collection(b'}', true),
            Some(b'[') => self.flow_collection(b']', false),
            Some(b'\'' | b'"') => {
                let scalar = self.quoted()?;
                self.events.push(scalar);
                Ok(())
            }
            _ => {
                let scalar = self.flow_plain()?;
                self.events.push(scalar);
                Ok(())
            }
        }
    }

    fn flow_collection(&mut self, close: u8, mapping: bool) -> Result<(), Unsupported> {
        self.enter()?;
        self.pos += 1; // the opening bracket
        self.events
            .push(if mapping { Event::MapStart } else { Event::SeqStart });
        let first_key = self.keys.len();
        loop {
            self.skip_spaces();
            match self.peek() {
                Some(b) if b == close => break,
                None | Some(b'\n' | b'#') => return Err(unsupported("a flow collection over several lines")),
                _ => {}
            }
            if mapping {
                let key = match self.peek() {
                    Some(b'\'' | b'"') => self.quoted()?,
                    _ => self.flow_plain()?,
                };
                self.key(first_key, key)?;
                self.skip_spaces();
                if self.peek() != Some(b':') || !matches!(self.peek_at(1), Some(b' ')) {
                    return Err(unsupported("a flow mapping entry without `: `"));
                }
                self.pos += 1;
                self.flow_node()?;
            } else {
                self.flow_node()?;
                self.skip_spaces();
                if self.peek() == Some(b':') {
                    return Err(unsupported("a mapping in a flow sequence"));
                }
            }
            self.skip_spaces();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b) if b == close => break,
                _ => return Err(unsupported("a flow collection without `,` between its entries")),
            }
        }
        self.pos += 1; // the closing bracket
        self.close_keys(first_key)?;
        self.events.push(if mapping { Event::MapEnd } else { Event::SeqEnd });
        self.depth -= 1;
        Ok(())
    }

    /// A plain scalar in a flow collection: up to `,`, a bracket, `: `
    /// or the line's end.
    fn flow_plain(&mut self) -> Result<Event<'a>, Unsupported> {
        let start = self.pos;
        loop {
            match self.peek() {
                None | Some(b'\n' | b',' | b'[' | b']' | b'{' | b'}') => break,
                Some(b':') if matches!(self.peek_at(1), Some(b' ' | b',' | b']' | b'}')) => break,
                Some(b'#') if self.bytes[self.pos - 1] == b' ' => break,
                Some(_) => self.pos += 1,
            }
        }
        let text = self.text[start..self.pos].trim_end_matches(' ');
        if text.is_empty() {
            return Err(unsupported("an empty entry in a flow collection"));
        }
        plain_start(text)?;
        Ok(Event::Scalar {
            text: Cow::Borrowed(text),
            plain: true,
        })
    }
}

/// YAML's limit on the length of a key written without `?`.
const MAX_KEY_BYTES: usize = 1024;

/// Mappings with up to this many keys are checked for a key written twice
/// as each key is read; larger ones by sorting their keys at their end.
const SCANNED_KEYS: usize = 16;

/// Refuses a plain scalar that starts with an indicator (an anchor, alias,
/// tag, block scalar, directive, reserved character, or a merge key).
fn plain_start(text: &str) -> Result<(), Unsupported> {
    let bytes = text.as_bytes();
    match bytes.first() {
        Some(
            b'&' | b'*' | b'!' | b'|' | b'>' | b'%' | b'@' | b'`' | b'\'' | b'"' | b'#' | b',' | b'[' | b']' | b'{'
            | b'}',
        ) => Err(unsupported("an anchor, alias, tag, block scalar or reserved indicator")),
        Some(b'-' | b'?' | b':') if matches!(bytes.get(1), None | Some(b' ')) => {
            Err(unsupported("an indicator followed by a space"))
        }
        _ if text == "<<" => Err(unsupported("a merge key")),
        _ if text.contains('\t') => Err(unsupported("a tab")),
        _ => Ok(()),
    }
}

/// Whether a plain key is read as text whatever the schema: it starts with
/// a letter or `_` and is not a boolean or null word, so two keys are the
/// same exactly when their text is.
fn plain_key_is_text(text: &str) -> bool {
    text.as_bytes()
        .first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        && !super::de::special_word(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(text: &str) -> Event<'_> {
        Event::Scalar {
            text: Cow::Borrowed(text),
            plain: true,
        }
    }

    #[test]
    fn block_and_flow_collections_give_their_events() {
        let text = "a: 1\nb:\n  - x\n  - { c: 'd''e', f: [g, h] }\ni:\n- j\nk:\n";
        let events = events(text, 32).expect("in the subset");
        let quoted = Event::Scalar {
            text: Cow::Owned("d'e".into()),
            plain: false,
        };
        assert_eq!(
            events,
            vec![
                Event::MapStart,
                scalar("a"),
                scalar("1"),
                scalar("b"),
                Event::SeqStart,
                scalar("x"),
                Event::MapStart,
                scalar("c"),
                quoted,
                scalar("f"),
                Event::SeqStart,
                scalar("g"),
                scalar("h"),
                Event::SeqEnd,
                Event::MapEnd,
                Event::SeqEnd,
                scalar("i"),
                Event::SeqStart,
                scalar("j"),
                Event::SeqEnd,
                scalar("k"),
                scalar(""),
                Event::MapEnd,
            ]
        );
    }

    #[test]
    fn a_mapping_in_a_sequence_entry_continues_on_the_lines_below() {
        let text = "s:\n  - a: 1\n    b: 2\n  - a: 3\nt: 4 # note\n";
        let events = events(text, 32).expect("in the subset");
        assert_eq!(
            events,
            vec![
                Event::MapStart,
                scalar("s"),
                Event::SeqStart,
                Event::MapStart,
                scalar("a"),
                scalar("1"),
                scalar("b"),
                scalar("2"),
                Event::MapEnd,
                Event::MapStart,
                scalar("a"),
                scalar("3"),
                Event::MapEnd,
                Event::SeqEnd,
                scalar("t"),
                scalar("4"),
                Event::MapEnd,
            ]
        );
    }

    #[test]
    fn what_lies_outside_the_subset_is_refused() {
        for text in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: |\n  text\n",
            "a: b\n  c\n",
            "a: [1,\n  2]\n",
            "---\na: 1\n",
            "a: \"x\\ty\"\n",
            "<<: {a: 1}\n",
            "a: 1\na: 2\n",
            "{a: 1, a: 2}\n",
            "a:\n\tb: 1\n",
            "1: x\n",
            "true: x\n",
            "? a\n: b\n",
            "a: b: c\n",
            "",
            "# only a comment\n",
        ] {
            assert!(events(text, 32).is_err(), "{text:?}");
        }
    }

    #[test]
    fn a_key_written_twice_in_a_large_mapping_is_refused() {
        let mut text: String = (0..100).map(|i| format!("k{i}: {i}\n")).collect();
        events(&text, 32).expect("distinct keys");
        text.push_str("k7: again\n");
        assert!(events(&text, 32).is_err());
    }

    #[test]
    fn nesting_past_the_cap_is_refused() {
        assert!(events("a: [[[1]]]\n", 3).is_err());
        events("a: [[1]]\n", 3).expect("within the cap");
    }
}
