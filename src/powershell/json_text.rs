//! A JSON string token decoded where it lies: the topology document of an
//! observation is most of the shell's answer, and decoding it in place
//! (a decoded string is never longer than its token) spares a second copy
//! of it.

/// Decodes the JSON string token at the start of `buf` (`"…"`, quotes
/// included; what follows it is left alone) into `buf` itself, from its
/// first byte, and returns the token's length and the decoded length. The
/// token is checked whole before anything is written, so on `None` (no
/// string token there, a bad escape, a lone surrogate, a control byte, no
/// closing quote) `buf` is unchanged. Its end is found by the same pass
/// that checks it: a document located in a reply whose syntax was already
/// checked is scanned once before it is decoded.
pub fn decode_leading_token(buf: &mut [u8]) -> Option<(usize, usize)> {
    let end = closing_quote(buf)?;
    Some((end + 1, decode_checked(buf, end)?))
}

/// Decodes the token of `buf` whose closing quote is at `end`, already
/// checked by [`closing_quote`].
fn decode_checked(buf: &mut [u8], end: usize) -> Option<usize> {
    let (mut read, mut write) = (1, 0);
    while read < end {
        let b = buf[read];
        if b == b'\\' {
            let (ch, used) = escape(&buf[read..end])?;
            let mut tmp = [0u8; 4];
            let bytes = ch.encode_utf8(&mut tmp).as_bytes();
            buf[write..write + bytes.len()].copy_from_slice(bytes);
            write += bytes.len();
            read += used;
        } else {
            buf[write] = b;
            write += 1;
            read += 1;
        }
    }
    Some(write)
}

/// The index of the closing quote of the string token at the start of
/// `buf`, every escape checked.
fn closing_quote(buf: &[u8]) -> Option<usize> {
    if buf.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    loop {
        match *buf.get(i)? {
            b'"' => return Some(i),
            b'\\' => i += escape(&buf[i..])?.1,
            b if b < 0x20 => return None,
            _ => i += 1,
        }
    }
}

/// The character of the escape at the start of `s` (`\n`, `\u00e9`, a
/// surrogate pair) and how many bytes it takes.
fn escape(s: &[u8]) -> Option<(char, usize)> {
    let simple = match *s.get(1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let first = hex4(s.get(2..6)?)?;
            return match first {
                0xD800..=0xDBFF => {
                    if s.get(6..8)? != b"\\u" {
                        return None;
                    }
                    let second = hex4(s.get(8..12)?)?;
                    if !(0xDC00..=0xDFFF).contains(&second) {
                        return None;
                    }
                    let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                    Some((char::from_u32(code)?, 12))
                }
                _ => Some((char::from_u32(first)?, 6)),
            };
        }
        _ => return None,
    };
    Some((simple, 2))
}

/// The value of four hex digits (a Windows PowerShell answer has one
/// `\u003c`-style escape for every `<`, `>`, `&` and `'` of the topology
/// document: millions at 10,000 sites, each read twice).
fn hex4(digits: &[u8]) -> Option<u32> {
    digits
        .iter()
        .try_fold(0, |value, &digit| Some(value * 16 + char::from(digit).to_digit(16)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(token: &str) -> Option<String> {
        let mut buf = token.as_bytes().to_vec();
        let (token_len, len) = decode_leading_token(&mut buf)?;
        assert_eq!(token_len, token.len(), "{token}");
        buf.truncate(len);
        Some(String::from_utf8(buf).unwrap())
    }

    #[test]
    fn tokens_decode_as_serde_json_decodes_them() {
        for text in [
            "",
            "plain",
            "<Topology Signature=\"a\">\r\n\t</Topology>",
            "é ü ☃ 😀 \u{1} \u{1f} back\\slash /",
            "&<>'",
        ] {
            let token = serde_json::to_string(text).unwrap();
            assert_eq!(decoded(&token).as_deref(), Some(text), "{token}");
        }
        // Escapes serde_json never writes but other writers do (PowerShell's
        // ConvertTo-Json writes \u003c for `<`).
        assert_eq!(
            decoded(r#""\u003cA\u0026B\u003e \/ \b\f \ud83d\ude00""#).unwrap(),
            "<A&B> / \u{8}\u{c} 😀"
        );
    }

    #[test]
    fn a_leading_token_is_decoded_and_what_follows_it_left_alone() {
        let mut buf = br#""a\u003cb\"c" ],"warnings":["x"]}"#.to_vec();
        let (token, len) = decode_leading_token(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"a<b\"c");
        assert_eq!(&buf[token..], br#" ],"warnings":["x"]}"#);
        for bad in [
            r#""bad \x escape" ]"#,
            r#""lone \ud800" ]"#,
            r#""unterminated"#,
            r#" "late""#,
        ] {
            let mut buf = bad.as_bytes().to_vec();
            assert_eq!(decode_leading_token(&mut buf), None, "{bad}");
            assert_eq!(buf, bad.as_bytes(), "{bad}");
        }
    }

    #[test]
    fn what_is_not_one_string_token_is_refused_and_left_alone() {
        for bad in [
            r#"1"#,
            r#""unterminated"#,
            r#""bad \x escape""#,
            r#""lone \ud800 surrogate""#,
            r#""lone \udc00 low""#,
            r#""short \u12""#,
            "\"control \u{1} byte\"",
            r#""#,
        ] {
            let mut buf = bad.as_bytes().to_vec();
            assert_eq!(decode_leading_token(&mut buf), None, "{bad}");
            assert_eq!(buf, bad.as_bytes(), "{bad}");
            if !bad.is_empty() && !bad.starts_with('"') {
                continue;
            }
            assert!(serde_json::from_str::<String>(bad).is_err(), "serde_json accepts {bad}");
        }
    }
}
