//! Quoting of values placed into PowerShell scripts.
//!
//! Every value edgefed writes into a script is a single-quoted PowerShell
//! literal. Inside single quotes PowerShell expands nothing (`$(…)`, backticks
//! and `;` are plain characters); the only special characters are the single
//! quotes themselves, and PowerShell treats four typographic quotes (U+2018,
//! U+2019, U+201A, U+201B) exactly like `'`. Each of them is doubled.
//!
//! Scripts travel to `powershell.exe -Command -` line by line, so a value
//! must also stay on one line: [`ps_value`] refuses control characters.
//! Site names are checked against rule V2 by [`site_name`].

use std::fmt;

/// The characters PowerShell accepts as a single quote.
pub const SINGLE_QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

/// Whether `c` closes (or, doubled, escapes) a single-quoted string.
#[must_use]
pub fn is_single_quote(c: char) -> bool {
    SINGLE_QUOTES.contains(&c)
}

/// Why a value cannot be placed into a script.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    /// The value has a control character (newline, NUL, …).
    #[error("{what} `{shown}` contains a control character; it cannot be placed into a script")]
    ControlCharacter {
        /// What the value is (e.g. "site name").
        what: &'static str,
        /// The value with control characters escaped.
        shown: String,
    },
    /// A site name breaks rule V2.
    #[error(
        "site name `{shown}` is not valid: 1–64 printable characters without quotes, backticks, `$`, `;` or control characters"
    )]
    BadSiteName {
        /// The name with control characters escaped.
        shown: String,
    },
}

/// The single-quoted PowerShell literal of any string: every single-quote
/// character (ASCII or typographic) is doubled. Infallible; use [`ps_value`]
/// for values that go into a script sent line by line.
#[must_use]
pub fn quote_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if is_single_quote(c) {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// The single-quoted literal of `value`, refused when it has a control
/// character (a newline would split the statement in `-Command -` mode).
///
/// # Errors
/// [`QuoteError::ControlCharacter`] naming `what`.
pub fn ps_value(what: &'static str, value: &str) -> Result<String, QuoteError> {
    if value.chars().any(char::is_control) {
        return Err(QuoteError::ControlCharacter {
            what,
            shown: value.escape_debug().to_string(),
        });
    }
    Ok(quote_literal(value))
}

/// Checks a site name against rule V2 and returns its literal.
///
/// # Errors
/// [`QuoteError::BadSiteName`] when the name is empty, longer than 64
/// characters, or has a quote, backtick, `$`, `;` or control character.
pub fn site_name(name: &str) -> Result<String, QuoteError> {
    let len = name.chars().count();
    let bad = |c: char| c.is_control() || c == '"' || c == '`' || c == '$' || c == ';' || is_single_quote(c);
    if len == 0 || len > 64 || name.chars().any(bad) || name.trim().is_empty() {
        return Err(QuoteError::BadSiteName {
            shown: name.escape_debug().to_string(),
        });
    }
    Ok(quote_literal(name))
}

/// A single-quoted literal read back from script text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal {
    /// The string PowerShell would see.
    pub value: String,
    /// Bytes of the text the literal spans, quotes included.
    pub len: usize,
}

/// Why text does not start with a single-quoted literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiteralError(pub &'static str);

impl fmt::Display for LiteralError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Reads one single-quoted literal at the start of `text` the way
/// PowerShell's tokenizer does: any single-quote character ends it unless the
/// next character is also a single quote, in which case the pair stands for
/// the second one.
///
/// # Errors
/// [`LiteralError`] when `text` does not start with a quote or the literal
/// is not closed.
pub fn read_literal(text: &str) -> Result<Literal, LiteralError> {
    let mut chars = text.char_indices().peekable();
    match chars.next() {
        Some((_, c)) if is_single_quote(c) => {}
        _ => return Err(LiteralError("not a single-quoted literal")),
    }
    let mut value = String::new();
    while let Some((i, c)) = chars.next() {
        if is_single_quote(c) {
            match chars.peek() {
                Some(&(_, next)) if is_single_quote(next) => {
                    value.push(next);
                    chars.next();
                }
                _ => {
                    return Ok(Literal {
                        value,
                        len: i + c.len_utf8(),
                    });
                }
            }
        } else {
            value.push(c);
        }
    }
    Err(LiteralError("unterminated single-quoted literal"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_of_every_kind_are_doubled() {
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\u{2019}b"), "'a\u{2019}\u{2019}b'");
        assert_eq!(quote_literal("$(x)`;"), "'$(x)`;'");
    }

    #[test]
    fn literals_read_back() {
        let lit = read_literal("'a''b' rest").unwrap();
        assert_eq!(lit.value, "a'b");
        assert_eq!(lit.len, 6);
        assert!(read_literal("'open").is_err());
    }

    #[test]
    fn site_names_follow_v2() {
        assert_eq!(site_name("Site1").unwrap(), "'Site1'");
        assert!(site_name("").is_err());
        assert!(site_name("a$b").is_err());
        assert!(site_name("a;b").is_err());
        assert!(site_name("a\u{2018}b").is_err());
        assert!(site_name(&"x".repeat(65)).is_err());
        assert!(ps_value("x", "a\nb").is_err());
    }
}
