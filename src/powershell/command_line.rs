//! Splitting a `--ps-command` / `EDGEFED_PS_COMMAND` value into a program
//! and its arguments, which are then run without a shell. Every platform
//! rule lives here:
//!
//! - A JSON array of strings, e.g.
//!   `["C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","-NoProfile","-Command","-"]`,
//!   is taken word for word, on every platform.
//! - Any other value is a command line: split with POSIX shell-word rules
//!   everywhere but Windows, and with the rules of Windows'
//!   `CommandLineToArgvW` on Windows, where `C:\Windows\…\powershell.exe`
//!   keeps its backslashes.
//!
//! [`split_windows`] is compiled and unit-tested on every platform; only
//! Windows uses it for the command-line form.

/// Splits `value` (see the module documentation).
///
/// # Errors
/// What is wrong with the value: not a JSON array of strings, or an
/// unclosed quote.
pub fn split(value: &str) -> Result<Vec<String>, String> {
    if value.trim_start().starts_with('[') {
        return serde_json::from_str::<Vec<String>>(value).map_err(|e| {
            format!("a value starting with `[` is read as a JSON array of strings (program, then each argument), and this one is not: {e}")
        });
    }
    if cfg!(windows) {
        split_windows(value)
    } else {
        split_posix(value)
    }
}

/// POSIX shell-word rules (quotes, backslash escapes), without running a shell.
///
/// # Errors
/// An unclosed quote or a trailing backslash.
pub fn split_posix(line: &str) -> Result<Vec<String>, String> {
    shell_words::split(line).map_err(|e| e.to_string())
}

/// The rules of Windows' `CommandLineToArgvW`:
///
/// - The program (first word) ends at the first space or tab, or, when it
///   starts with `"`, at the next `"`; backslashes in it are literal.
/// - In the arguments, spaces and tabs outside quotes separate words; `"`
///   starts and ends a quoted part; `""` inside a quoted part is one `"`.
/// - `2n` backslashes before a `"` give `n` backslashes and the quote
///   delimits; `2n + 1` backslashes before a `"` give `n` backslashes and a
///   literal `"`; backslashes before anything else are literal.
///
/// Windows accepts an unclosed quote (the rest of the line is quoted);
/// edgefed refuses it instead, as it is surely a typo in a launcher line.
///
/// # Errors
/// An unclosed quote.
pub fn split_windows(line: &str) -> Result<Vec<String>, String> {
    let unclosed = || format!("the quote opened in `{line}` is not closed");
    let chars: Vec<char> = line.chars().collect();
    let is_blank = |c: char| c == ' ' || c == '\t';
    let mut i = 0;
    while i < chars.len() && is_blank(chars[i]) {
        i += 1;
    }
    if i == chars.len() {
        return Ok(Vec::new());
    }
    let mut words = Vec::new();
    let mut program = String::new();
    if chars[i] == '"' {
        i += 1;
        let end = chars[i..].iter().position(|&c| c == '"').ok_or_else(unclosed)?;
        program.extend(&chars[i..i + end]);
        i += end + 1;
    } else {
        while i < chars.len() && !is_blank(chars[i]) {
            program.push(chars[i]);
            i += 1;
        }
    }
    words.push(program);
    loop {
        while i < chars.len() && is_blank(chars[i]) {
            i += 1;
        }
        if i == chars.len() {
            return Ok(words);
        }
        let mut word = String::new();
        let mut quoted = false;
        while i < chars.len() && (quoted || !is_blank(chars[i])) {
            match chars[i] {
                '\\' => {
                    let run = chars[i..].iter().take_while(|&&c| c == '\\').count();
                    i += run;
                    if chars.get(i) == Some(&'"') {
                        word.extend(std::iter::repeat_n('\\', run / 2));
                        if run % 2 == 1 {
                            word.push('"');
                            i += 1;
                        }
                    } else {
                        word.extend(std::iter::repeat_n('\\', run));
                    }
                }
                '"' if quoted && chars.get(i + 1) == Some(&'"') => {
                    word.push('"');
                    i += 2;
                }
                '"' => {
                    quoted = !quoted;
                    i += 1;
                }
                c => {
                    word.push(c);
                    i += 1;
                }
            }
        }
        if quoted {
            return Err(unclosed());
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn windows_paths_keep_their_backslashes() {
        assert_eq!(
            split_windows(r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe -NoProfile -Command -").unwrap(),
            w(&[
                r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
                "-NoProfile",
                "-Command",
                "-"
            ])
        );
        assert_eq!(
            split_windows(r#""C:\Program Files\PowerShell\7\pwsh.exe" -NoProfile -File "C:\scripts\x y.ps1""#).unwrap(),
            w(&[
                r"C:\Program Files\PowerShell\7\pwsh.exe",
                "-NoProfile",
                "-File",
                r"C:\scripts\x y.ps1"
            ])
        );
    }

    #[test]
    fn windows_backslash_and_quote_rules() {
        // The examples of Microsoft's "Parsing C++ command-line arguments".
        assert_eq!(split_windows(r#"p "abc" d e"#).unwrap(), w(&["p", "abc", "d", "e"]));
        assert_eq!(
            split_windows(r"p a\\b d'e f\\\\g").unwrap(),
            w(&["p", r"a\\b", "d'e", r"f\\\\g"])
        );
        assert_eq!(
            split_windows(r#"p a\\\"b c d"#).unwrap(),
            w(&["p", r#"a\"b"#, "c", "d"])
        );
        assert_eq!(
            split_windows(r#"p a\\\\"b c" d e"#).unwrap(),
            w(&["p", r"a\\b c", "d", "e"])
        );
        assert_eq!(
            split_windows(r#"p a"b"" c d"#).unwrap_err(),
            r#"the quote opened in `p a"b"" c d` is not closed"#
        );
        assert_eq!(split_windows(r#"p "a""b" c"#).unwrap(), w(&["p", r#"a"b"#, "c"]));
        // The program's backslashes are literal even before a quote.
        assert_eq!(split_windows(r#"C:\x\ "a b""#).unwrap(), w(&[r"C:\x\", "a b"]));
        assert_eq!(split_windows("  \t ").unwrap(), Vec::<String>::new());
        assert!(split_windows(r#""C:\no end"#).is_err());
    }

    #[test]
    fn posix_rules_elsewhere_and_json_everywhere() {
        assert_eq!(
            split_posix("ssh admin@fe01.contoso.com 'powershell.exe' -Command -").unwrap(),
            w(&["ssh", "admin@fe01.contoso.com", "powershell.exe", "-Command", "-"])
        );
        assert_eq!(
            split(
                r#"["C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "-NoProfile", "-Command", "-"]"#
            )
            .unwrap(),
            w(&[
                r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
                "-NoProfile",
                "-Command",
                "-"
            ])
        );
        let e = split(r#"["pwsh", 5]"#).unwrap_err();
        assert!(e.contains("JSON array of strings"), "{e}");
        let native = split(r"C:\ps\powershell.exe -Command -").unwrap();
        if cfg!(windows) {
            assert_eq!(native[0], r"C:\ps\powershell.exe");
        } else {
            assert_eq!(
                native[0], r"C:pspowershell.exe",
                "POSIX rules read a backslash as an escape"
            );
        }
    }
}
