//! The lab is a hand-edited drill file: the comment block it starts with
//! (a description of the drill, who owns it) survives edgefed's writes.
//! Comments further down are not kept: the file is written from the lab's
//! state, which has no place for them.

use std::io::Read as _;
use std::path::Path;

/// How much of the file's start is searched for its comment block.
const MAX_BLOCK_BYTES: u64 = 64 * 1024;

/// The comment lines (and blank lines between them) the file at `path`
/// starts with, each ending in a newline; empty when the file is missing,
/// unreadable or starts with YAML.
#[must_use]
pub fn leading_block(path: &Path) -> String {
    let mut head = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(MAX_BLOCK_BYTES).read_to_end(&mut head));
    if read.is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&head);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    block_of(text)
}

/// The leading comment block of `text`: whole lines only, without the
/// blank lines that separate it from the YAML.
fn block_of(text: &str) -> String {
    let mut block = String::new();
    let mut kept = 0;
    for line in text.split_inclusive('\n') {
        if !line.ends_with('\n') {
            break;
        }
        let trimmed = line.trim();
        if trimmed.starts_with('#') {
            block.push_str(line);
            kept = block.len();
        } else if trimmed.is_empty() {
            block.push_str(line);
        } else {
            break;
        }
    }
    block.truncate(kept);
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leading_comments_are_the_block_and_nothing_after_them() {
        let text = "# Drill: Site1 down\n#   owner: ops\n\n# second paragraph\n\napiVersion: edgefed/v1\n# not kept\n";
        assert_eq!(
            block_of(text),
            "# Drill: Site1 down\n#   owner: ops\n\n# second paragraph\n"
        );
        assert_eq!(block_of("apiVersion: edgefed/v1\n# later\n"), "");
        assert_eq!(block_of("\n\napiVersion: x\n"), "");
        assert_eq!(block_of("# no newline at the end"), "");
    }

    #[test]
    fn a_missing_file_has_no_block() {
        assert_eq!(leading_block(Path::new("/nonexistent/lab.yaml")), "");
    }
}
