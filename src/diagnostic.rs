//! Errors about user input, rendered the way compilers do: the rule, what is
//! wrong, `file:line:col`, the offending line with a marker, and what to do.

use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

/// A place in a source file (1-based line and column, length in characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// Length of the marked text in characters (at least 1 when rendered).
    pub len: u32,
}

impl Position {
    /// A position of unknown length.
    #[must_use]
    pub fn at(line: u32, column: u32) -> Self {
        Self { line, column, len: 0 }
    }
}

/// One problem with the user's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The document rule it breaks (`V1`…`V6`, `P1`…`P6`), if any.
    pub rule: Option<&'static str>,
    /// What is wrong.
    pub message: String,
    /// Where, when known.
    pub position: Option<Position>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic for `rule`.
    #[must_use]
    pub fn rule(rule: &'static str, message: impl Into<String>) -> Self {
        Self {
            rule: Some(rule),
            message: message.into(),
            position: None,
            help: None,
        }
    }

    /// A diagnostic outside the numbered rules (syntax, types, unknown keys).
    #[must_use]
    pub fn plain(message: impl Into<String>) -> Self {
        Self {
            rule: None,
            message: message.into(),
            position: None,
            help: None,
        }
    }

    /// Points the diagnostic at `position`.
    #[must_use]
    pub fn at(mut self, position: Option<Position>) -> Self {
        self.position = position;
        self
    }

    /// Adds what to do.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Renders the diagnostic against the file it is about.
    ///
    /// ```text
    /// error[V2]: `edge pool.contoso.com` is not a valid FQDN: …
    ///   --> desired.yaml:6:24
    ///    |
    ///  6 |       federationRoute: edge pool.contoso.com
    ///    |                        ^^^^^^^^^^^^^^^^^^^^^
    ///    = help: …
    /// ```
    #[must_use]
    pub fn render(&self, file: &str, source: &str) -> String {
        let mut out = String::new();
        match self.rule {
            Some(rule) => {
                let _ = writeln!(out, "error[{rule}]: {}", self.message);
            }
            None => {
                let _ = writeln!(out, "error: {}", self.message);
            }
        }
        match self.position {
            Some(pos) if pos.line > 0 => {
                let _ = writeln!(out, "  --> {file}:{}:{}", pos.line, pos.column);
                if let Some(text) = source.lines().nth(pos.line as usize - 1) {
                    let number = pos.line.to_string();
                    let pad = " ".repeat(number.len());
                    // Control characters become spaces and invisible formatting
                    // characters a visible mark, so the excerpt prints as it is.
                    let shown: String = text
                        .chars()
                        .map(|c| match c {
                            c if c.is_control() => ' ',
                            c if invisible(c) => '\u{FFFD}',
                            c => c,
                        })
                        .collect();
                    let before = " ".repeat(pos.column.saturating_sub(1) as usize);
                    let marks = "^".repeat(pos.len.max(1) as usize);
                    let _ = writeln!(out, " {pad} |");
                    let _ = writeln!(out, " {number} | {shown}");
                    let _ = writeln!(out, " {pad} | {before}{marks}");
                }
            }
            _ => {
                let _ = writeln!(out, "  --> {file}");
            }
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "   = help: {help}");
        }
        out
    }
}

/// Zero-width characters, bidirectional embeddings, overrides and isolates,
/// and the byte-order mark: invisible when printed, they make two different
/// names look the same and can reorder the text around them on a terminal.
#[must_use]
pub fn invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(rule) = self.rule {
            write!(f, "[{rule}] ")?;
        }
        f.write_str(&self.message)?;
        if let Some(pos) = self.position {
            write!(f, " (line {}, column {})", pos.line, pos.column)?;
        }
        Ok(())
    }
}

/// Several diagnostics about one file, reported together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} problem(s) in {file}", diagnostics.len())]
pub struct Diagnostics {
    /// The file's name as the user gave it (`-` for stdin).
    pub file: String,
    /// Its text, for snippets.
    pub text: String,
    /// The problems, in document order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Renders every diagnostic.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.diagnostics {
            out.push_str(&d.render(&self.file, &self.text));
            out.push('\n');
        }
        let n = self.diagnostics.len();
        let _ = writeln!(
            out,
            "{} in {}",
            if n == 1 {
                "1 error".to_string()
            } else {
                format!("{n} errors")
            },
            self.file
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendering_names_file_line_column_and_marks_the_value() {
        let src = "a: 1\nfederationRoute: edge pool\n";
        let d = Diagnostic::rule("V2", "bad name")
            .at(Some(Position {
                line: 2,
                column: 18,
                len: 9,
            }))
            .help("use an FQDN");
        let text = d.render("x.yaml", src);
        assert!(text.starts_with("error[V2]: bad name\n  --> x.yaml:2:18\n"), "{text}");
        assert!(text.contains(" 2 | federationRoute: edge pool\n"), "{text}");
        assert!(text.contains("   |                  ^^^^^^^^^\n"), "{text}");
        assert!(text.ends_with("   = help: use an FQDN\n"), "{text}");
    }
}
