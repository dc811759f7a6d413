//! The parser of BIND key files (`key "name" { algorithm …; secret "…"; };`),
//! reporting errors with the file and line.

use std::path::Path;

use super::key::{TsigAlgo, TsigKey, TsigKeyError, decode_secret};

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

fn syntax(path: &Path, line: usize, message: impl Into<String>) -> TsigKeyError {
    TsigKeyError::Syntax {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// Splits the text into tokens, dropping `//`, `#` and `/* */` comments.
fn tokenize(text: &str, path: &Path) -> Result<Vec<Token>, TsigKeyError> {
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
                    return Err(syntax(path, start, "unterminated `/*` comment"));
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
                    return Err(syntax(path, start, "unterminated quoted string"));
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
    path: &'a Path,
}

impl Cursor<'_> {
    fn next(&mut self, what: &str) -> Result<&Token, TsigKeyError> {
        let tok = self.toks.get(self.pos).ok_or_else(|| {
            let line = self.toks.last().map_or(1, |t| t.line);
            syntax(self.path, line, format!("unexpected end of file, expected {what}"))
        })?;
        self.pos += 1;
        Ok(tok)
    }

    fn expect(&mut self, want: &Tok, what: &str) -> Result<usize, TsigKeyError> {
        let path = self.path;
        let t = self.next(what)?;
        if &t.tok == want {
            Ok(t.line)
        } else {
            Err(syntax(path, t.line, format!("expected {what}")))
        }
    }

    fn value(&mut self, what: &str) -> Result<(String, usize), TsigKeyError> {
        let path = self.path;
        let t = self.next(what)?;
        match &t.tok {
            Tok::Word(s) | Tok::Quoted(s) => Ok((s.clone(), t.line)),
            _ => Err(syntax(path, t.line, format!("expected {what}"))),
        }
    }
}

/// Parses the first `key` statement of `text`.
pub(crate) fn parse_key_file(text: &str, path: &Path) -> Result<TsigKey, TsigKeyError> {
    let toks = tokenize(text, path)?;
    let mut cur = Cursor {
        toks: &toks,
        pos: 0,
        path,
    };
    // The file must start with the `key` statement: anything else (a
    // named.conf, say) is reported rather than skipped.
    let (kw, key_line) = cur.value("`key`")?;
    if !kw.eq_ignore_ascii_case("key") {
        return Err(syntax(path, key_line, format!("expected `key`, found `{kw}`")));
    }
    let (name, name_line) = cur.value("the key name")?;
    cur.expect(&Tok::Open, "`{` after the key name")?;
    let mut algorithm: Option<TsigAlgo> = None;
    let mut secret: Option<(String, usize)> = None;
    loop {
        let path = cur.path;
        let t = cur.next("`algorithm`, `secret` or `}`")?;
        let line = t.line;
        match &t.tok {
            Tok::Close => break,
            Tok::Word(w) if w.eq_ignore_ascii_case("algorithm") => {
                let (alg, line) = cur.value("an algorithm name")?;
                algorithm = Some(TsigAlgo::parse(&alg).ok_or_else(|| TsigKeyError::UnknownAlgorithm {
                    path: path.to_path_buf(),
                    line,
                    algorithm: alg.clone(),
                })?);
                cur.expect(&Tok::Semi, "`;` after the algorithm")?;
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("secret") => {
                secret = Some(cur.value("the quoted base64 secret")?);
                cur.expect(&Tok::Semi, "`;` after the secret")?;
            }
            Tok::Word(w) => {
                return Err(syntax(path, line, format!("unknown clause `{w}` in key \"{name}\"")));
            }
            _ => {
                return Err(syntax(path, line, "expected `algorithm`, `secret` or `}`"));
            }
        }
    }
    cur.expect(&Tok::Semi, "`;` after `}`")?;
    let algorithm = algorithm.ok_or_else(|| TsigKeyError::MissingAlgorithm {
        path: path.to_path_buf(),
        line: key_line,
        name: name.clone(),
    })?;
    let (secret_text, secret_line) = secret.ok_or_else(|| TsigKeyError::MissingSecret {
        path: path.to_path_buf(),
        line: key_line,
        name: name.clone(),
    })?;
    let bytes = decode_secret(&secret_text).ok_or_else(|| TsigKeyError::BadBase64 {
        path: path.to_path_buf(),
        line: secret_line,
        name: name.clone(),
    })?;
    TsigKey::from_parts_checked(&name, algorithm, bytes, path, name_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "JJJ+YEfwxtsleKE9G0O95YC3eA9cy1zXNCjBzzUVcF0=";

    fn parse(text: &str) -> Result<TsigKey, TsigKeyError> {
        TsigKey::parse(text, Path::new("/etc/edgefed/key.conf"))
    }

    #[test]
    fn reads_a_key_as_tsig_keygen_writes_it() {
        let text = format!("key \"edgefed-key\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{SECRET}\";\n}};\n");
        let key = parse(&text).expect("valid key");
        assert_eq!(key.name(), "edgefed-key");
        assert_eq!(key.algorithm(), TsigAlgo::HmacSha256);
        assert!(key.signer().is_ok());
    }

    #[test]
    fn accepts_comments_and_other_algorithms() {
        let text = format!(
            "# made by hand\n// another\n/* multi\nline */ key edge.key. {{ algorithm HMAC-SHA512; secret \"{SECRET}\"; }};"
        );
        let key = parse(&text).expect("valid key");
        assert_eq!(key.name(), "edge.key");
        assert_eq!(key.algorithm(), TsigAlgo::HmacSha512);
    }

    #[test]
    fn missing_secret_names_file_and_line() {
        let err = parse("\nkey \"k\" {\n  algorithm hmac-sha256;\n};\n").unwrap_err();
        assert!(matches!(err, TsigKeyError::MissingSecret { line: 2, .. }));
        assert_eq!(
            err.to_string(),
            "/etc/edgefed/key.conf:2: key \"k\" has no `secret \"…\";`"
        );
    }

    #[test]
    fn bad_base64_names_the_secret_line() {
        let err = parse("key \"k\" {\n algorithm hmac-sha256;\n secret \"not*base64!\";\n};").unwrap_err();
        assert!(matches!(err, TsigKeyError::BadBase64 { line: 3, .. }));
        let msg = err.to_string();
        assert!(msg.starts_with("/etc/edgefed/key.conf:3:"), "{msg}");
        assert!(!msg.contains("not*base64"), "secret text leaked: {msg}");
    }

    #[test]
    fn unknown_algorithm_names_it_and_its_line() {
        let err = parse(&format!(
            "key \"k\" {{\n\n algorithm hmac-md5;\n secret \"{SECRET}\";\n}};"
        ))
        .unwrap_err();
        assert!(matches!(err, TsigKeyError::UnknownAlgorithm { line: 3, .. }));
        assert!(err.to_string().contains("`hmac-md5`"));
    }

    #[test]
    fn syntax_errors_have_lines() {
        let err = parse("key \"k\" {\n algorithm hmac-sha256\n secret \"x\";\n};").unwrap_err();
        assert!(matches!(err, TsigKeyError::Syntax { line: 3, .. }), "{err:?}");
        let err = parse("zone \"x\" { };").unwrap_err();
        assert!(matches!(err, TsigKeyError::Syntax { line: 1, .. }));
        let err = parse("key \"k\" {\n algorithm hmac-sha256;\n").unwrap_err();
        assert!(matches!(err, TsigKeyError::Syntax { line: 2, .. }));
    }

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let key = parse(&format!("key k {{ algorithm hmac-sha256; secret \"{SECRET}\"; }};")).expect("valid key");
        let raw = decode_secret(SECRET).expect("base64");
        let shown = format!("{key:?} {key} {key:#?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(!shown.contains("JJJ"), "{shown}");
        assert!(!shown.contains(&format!("{raw:?}")), "{shown}");
        assert!(shown.contains("<redacted>"));
        assert_eq!(key.to_string(), "TSIG key \"k\" (hmac-sha256)");
    }

    #[test]
    fn inline_spec_like_nsupdate_y() {
        let key = TsigKey::from_spec(&format!("hmac-sha384:edge-key:{SECRET}")).expect("spec");
        assert_eq!(key.algorithm(), TsigAlgo::HmacSha384);
        assert_eq!(key.name(), "edge-key");
        let key = TsigKey::from_spec(&format!("edge-key:{SECRET}")).expect("spec");
        assert_eq!(key.algorithm(), TsigAlgo::HmacSha256);
        let err = TsigKey::from_spec("only-a-name").unwrap_err();
        assert!(matches!(err, TsigKeyError::Env { .. }));
        let err = TsigKey::from_spec("edge-key:%%%secret%%%").unwrap_err();
        assert!(!err.to_string().contains("%%%secret"), "{err}");
    }
}
