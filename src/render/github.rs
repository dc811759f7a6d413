//! GitHub Actions workflow commands (`validate --output github`): each
//! problem of a document as an `::error file=…,line=…,col=…,title=…::message`
//! line, which GitHub shows as an annotation on the pull request at that
//! place. Values are escaped as the runner reads them: in the message `%`,
//! CR and LF; in a property also `:` and `,`.

use crate::diagnostic::Diagnostics;

/// Escapes a command's message.
#[must_use]
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a property value (`file=`, `title=`).
#[must_use]
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One `::error` line per diagnostic.
#[must_use]
pub fn diagnostics(d: &Diagnostics) -> String {
    let mut out = String::new();
    for x in &d.diagnostics {
        let mut props = vec![format!("file={}", escape_property(&d.file))];
        if let Some(p) = x.position.filter(|p| p.line > 0) {
            props.push(format!("line={}", p.line));
            props.push(format!("col={}", p.column));
        }
        let title = match x.rule {
            Some(rule) => format!("edgefed {rule}"),
            None => "edgefed".to_string(),
        };
        props.push(format!("title={}", escape_property(&title)));
        let message = match &x.help {
            Some(help) => format!("{}\nhelp: {help}", x.message),
            None => x.message.clone(),
        };
        out.push_str(&format!("::error {}::{}\n", props.join(","), escape_data(&message)));
    }
    out
}

/// An `::error` line for a failure that is not at a place in the document.
#[must_use]
pub fn error(file: Option<&str>, message: &str) -> String {
    let props = match file {
        Some(f) => format!(" file={},title=edgefed", escape_property(f)),
        None => " title=edgefed".to_string(),
    };
    format!("::error{props}::{}\n", escape_data(message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Diagnostic, Position};

    #[test]
    fn properties_and_messages_are_escaped_as_the_runner_reads_them() {
        assert_eq!(escape_data("50% a\r\nb: c, d"), "50%25 a%0D%0Ab: c, d");
        assert_eq!(escape_property("C:\\d,e%.yaml"), "C%3A\\d%2Ce%25.yaml");
    }

    #[test]
    fn each_diagnostic_is_one_annotation_at_its_place() {
        let d = Diagnostics {
            file: "deploy/a,b:c.yaml".into(),
            text: String::new(),
            diagnostics: vec![
                Diagnostic::rule("V2", "`x y` is not a valid FQDN: 100%")
                    .at(Some(Position {
                        line: 6,
                        column: 24,
                        len: 3,
                    }))
                    .help("use an FQDN"),
                Diagnostic::plain("unknown key"),
            ],
        };
        assert_eq!(
            diagnostics(&d),
            "::error file=deploy/a%2Cb%3Ac.yaml,line=6,col=24,title=edgefed V2::`x y` is not a valid FQDN: 100%25%0Ahelp: use an FQDN\n\
             ::error file=deploy/a%2Cb%3Ac.yaml,title=edgefed::unknown key\n"
        );
    }
}
