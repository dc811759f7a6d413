//! A small tokenizer for the one-line PowerShell statements edgefed sends.

use edgefed::powershell::quote::{is_single_quote, read_literal};

/// One token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// A single-quoted literal, unescaped.
    Str(String),
    /// A double-quoted string (edgefed never sends one; kept to report it).
    DStr(String),
    /// `$name`, `$env:Name`, `$_`.
    Var(String),
    /// `-Name`, or `-Name:value` with the attached value.
    Param(String, Option<String>),
    /// A bare word: a command, a keyword, a number, a member or type name.
    Word(String),
    /// Punctuation.
    Punct(char),
}

/// Tokenizes one line.
///
/// # Errors
/// A message when a literal is not closed or a character is unexpected.
pub fn lex(line: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut i = 0;
    let b = line;
    while i < b.len() {
        let rest = &b[i..];
        let Some(c) = rest.chars().next() else { break };
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        if c == '#' {
            break;
        }
        if is_single_quote(c) {
            let lit = read_literal(rest).map_err(|e| format!("{e} at column {i}"))?;
            toks.push(Tok::Str(lit.value));
            i += lit.len;
            continue;
        }
        if c == '"' {
            let end = rest[1..].find('"').ok_or("unterminated double-quoted string")?;
            toks.push(Tok::DStr(rest[1..=end].to_string()));
            i += end + 2;
            continue;
        }
        if c == '$' {
            let body: String = rest[1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let mut len = 1 + body.len();
            let mut name = body.clone();
            let scoped = ["env", "using", "script", "global"];
            if scoped.contains(&body.to_ascii_lowercase().as_str()) && rest[len..].starts_with(':') {
                let more: String = rest[len + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                len += 1 + more.len();
                name = format!("{body}:{more}");
            }
            if name.is_empty() {
                return Err(format!("bare `$` at column {i}"));
            }
            toks.push(Tok::Var(name));
            i += len;
            continue;
        }
        if c == '-' && rest[1..].starts_with(|c: char| c.is_ascii_alphabetic()) {
            let name: String = rest[1..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            let mut len = 1 + name.len();
            let mut attached = None;
            if rest[len..].starts_with(':') {
                let v: String = rest[len + 1..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != ';' && *c != '}' && *c != ')')
                    .collect();
                len += 1 + v.len();
                attached = Some(v);
            }
            toks.push(Tok::Param(name, attached));
            i += len;
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            let w: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            i += w.len();
            toks.push(Tok::Word(w));
            continue;
        }
        if "(){}[];|,=.@+&:>!".contains(c) {
            toks.push(Tok::Punct(c));
            i += c.len_utf8();
            continue;
        }
        return Err(format!("unexpected character {c:?} at column {i}"));
    }
    Ok(toks)
}

/// Splits tokens into statements at `;` outside brackets.
pub fn statements(toks: &[Tok]) -> Vec<&[Tok]> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::Punct('(' | '{' | '[') => depth += 1,
            Tok::Punct(')' | '}' | ']') => depth -= 1,
            Tok::Punct(';') if depth == 0 => {
                if i > start {
                    out.push(&toks[start..i]);
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < toks.len() {
        out.push(&toks[start..]);
    }
    out
}

/// The index of the bracket closing the one at `open`.
pub fn matching(toks: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Punct('(' | '{' | '[') => depth += 1,
            Tok::Punct(')' | '}' | ']') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}
