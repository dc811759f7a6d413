//! The grammar of BIND key files (`key "name" { algorithm …; secret "…"; };`,
//! as `tsig-keygen` writes them): the first `key` statement's parts with
//! their lines. What the parts mean (a known algorithm, a base64 secret, a
//! DNS name) is checked by the key itself. Error messages name lines and
//! expected forms, never a token of the file: a file that holds only the
//! secret, or a secret in the wrong place, must not be printed.

/// The first `key` statement of a file, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct KeyStatement {
    /// Line of the `key` keyword.
    pub key_line: usize,
    /// The key's name and its line.
    pub name: (String, usize),
    /// The `algorithm` clause's value and line, when present.
    pub algorithm: Option<(String, usize)>,
    /// The `secret` clause's value and line, when present.
    pub secret: Option<(String, usize)>,
}

/// The text is not a key statement: what is wrong and on which line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SyntaxError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Quoted(String),
    Open,
    Close,
    Semi,
}

struct Token {
    tok: Tok,
    line: usize,
}

fn syntax(line: usize, message: impl Into<String>) -> SyntaxError {
    SyntaxError {
        line,
        message: message.into(),
    }
}

/// Splits the text into tokens, dropping `//`, `#` and `/* */` comments.
fn tokenize(text: &str) -> Result<Vec<Token>, SyntaxError> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '#' => {
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let start = line;
                chars.next();
                let mut prev = ' ';
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                    }
                    if prev == '*' && c == '/' {
                        closed = true;
                        break;
                    }
                    prev = c;
                }
                if !closed {
                    return Err(syntax(start, "unterminated `/*` comment"));
                }
            }
            '{' => out.push(Token { tok: Tok::Open, line }),
            '}' => out.push(Token { tok: Tok::Close, line }),
            ';' => out.push(Token { tok: Tok::Semi, line }),
            '"' => {
                let start = line;
                let mut s = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '"' {
                        closed = true;
                        break;
                    }
                    if c == '\n' {
                        line += 1;
                    }
                    s.push(c);
                }
                if !closed {
                    return Err(syntax(start, "unterminated quoted string"));
                }
                out.push(Token {
                    tok: Tok::Quoted(s),
                    line: start,
                });
            }
            c => {
                let mut s = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || matches!(n, '{' | '}' | ';' | '"') {
                        break;
                    }
                    s.push(n);
                    chars.next();
                }
                out.push(Token {
                    tok: Tok::Word(s),
                    line,
                });
            }
        }
    }
    Ok(out)
}

/// A cursor over the tokens that knows the last line seen.
struct Cursor<'a> {
    toks: &'a [Token],
    pos: usize,
}

impl Cursor<'_> {
    fn next(&mut self, what: &str) -> Result<&Token, SyntaxError> {
        let tok = self.toks.get(self.pos).ok_or_else(|| {
            let line = self.toks.last().map_or(1, |t| t.line);
            syntax(line, format!("unexpected end of file, expected {what}"))
        })?;
        self.pos += 1;
        Ok(tok)
    }

    fn expect(&mut self, want: &Tok, what: &str) -> Result<usize, SyntaxError> {
        let t = self.next(what)?;
        if &t.tok == want {
            Ok(t.line)
        } else {
            Err(syntax(t.line, format!("expected {what}")))
        }
    }

    fn value(&mut self, what: &str) -> Result<(String, usize), SyntaxError> {
        let t = self.next(what)?;
        match &t.tok {
            Tok::Word(s) | Tok::Quoted(s) => Ok((s.clone(), t.line)),
            _ => Err(syntax(t.line, format!("expected {what}"))),
        }
    }
}

/// Parses the first `key` statement of `text`.
pub(super) fn parse(text: &str) -> Result<KeyStatement, SyntaxError> {
    let toks = tokenize(text)?;
    let mut cur = Cursor { toks: &toks, pos: 0 };
    // The file must start with the `key` statement: anything else (a
    // named.conf, say) is reported rather than skipped.
    let (kw, key_line) = cur.value("`key`")?;
    if !kw.eq_ignore_ascii_case("key") {
        return Err(syntax(
            key_line,
            "expected the file to start with `key` (the word found is not shown: it may be the secret)",
        ));
    }
    let name = cur.value("the key name")?;
    cur.expect(&Tok::Open, "`{` after the key name")?;
    let mut algorithm = None;
    let mut secret = None;
    loop {
        let t = cur.next("`algorithm`, `secret` or `}`")?;
        let line = t.line;
        match &t.tok {
            Tok::Close => break,
            Tok::Word(w) if w.eq_ignore_ascii_case("algorithm") => {
                algorithm = Some(cur.value("an algorithm name")?);
                cur.expect(&Tok::Semi, "`;` after the algorithm")?;
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("secret") => {
                secret = Some(cur.value("the quoted base64 secret")?);
                cur.expect(&Tok::Semi, "`;` after the secret")?;
            }
            Tok::Word(_) => {
                return Err(syntax(
                    line,
                    "unknown clause in the key statement (only `algorithm` and `secret` are allowed; the word is not shown: it may be the secret)",
                ));
            }
            _ => {
                return Err(syntax(line, "expected `algorithm`, `secret` or `}`"));
            }
        }
    }
    cur.expect(&Tok::Semi, "`;` after `}`")?;
    Ok(KeyStatement {
        key_line,
        name,
        algorithm,
        secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_of(text: &str) -> usize {
        parse(text).expect_err("a syntax error").line
    }

    #[test]
    fn reads_the_parts_with_their_lines() {
        let st = parse(
            "# made by hand\n/* multi\nline */ key edge.key. {\n algorithm HMAC-SHA512;\n secret \"c2VjcmV0\"; };",
        )
        .expect("valid statement");
        assert_eq!(st.key_line, 3);
        assert_eq!(st.name, ("edge.key.".to_string(), 3));
        assert_eq!(st.algorithm, Some(("HMAC-SHA512".to_string(), 4)));
        assert_eq!(st.secret, Some(("c2VjcmV0".to_string(), 5)));
        let st = parse("key k { };").expect("clauses are optional in the grammar");
        assert_eq!((st.algorithm, st.secret), (None, None));
    }

    #[test]
    fn syntax_errors_have_lines() {
        assert_eq!(line_of("key \"k\" {\n algorithm hmac-sha256\n secret \"x\";\n};"), 3);
        assert_eq!(line_of("zone \"x\" { };"), 1);
        assert_eq!(line_of("key \"k\" {\n algorithm hmac-sha256;\n"), 2);
        assert_eq!(line_of("\n\nkey \"k\" { algorithm hmac-sha256; bogus x; };"), 3);
        assert_eq!(line_of("/* open\n\n"), 1);
        assert_eq!(line_of("key \"k\n\n"), 1);
    }
}
