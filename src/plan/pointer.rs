//! Document paths as RFC 6901 JSON Pointers into the document's `spec`
//! (`/sites/Site1/federationRoute`, `/edgePools/edgepool1.contoso.com/nextHop`):
//! FQDN keys contain dots, so a dotted path would be ambiguous; in a pointer
//! each key is one segment, with `~` written `~0` and `/` written `~1`.

use std::fmt::Display;

/// The pointer made of `segments`, each escaped.
#[must_use]
pub fn pointer(segments: &[&dyn Display]) -> String {
    let mut out = String::new();
    for s in segments {
        out.push('/');
        out.push_str(&escape(&s.to_string()));
    }
    out
}

/// One segment escaped: `~` → `~0`, then `/` → `~1`.
#[must_use]
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The segments of `pointer`, unescaped (`~1` → `/`, then `~0` → `~`);
/// `None` when it is not a pointer (does not start with `/`, or has a `~`
/// not followed by `0` or `1`).
#[must_use]
pub fn segments(pointer: &str) -> Option<Vec<String>> {
    let rest = pointer.strip_prefix('/')?;
    rest.split('/')
        .map(|s| {
            let mut out = String::with_capacity(s.len());
            let mut chars = s.chars();
            while let Some(c) = chars.next() {
                if c == '~' {
                    match chars.next() {
                        Some('0') => out.push('~'),
                        Some('1') => out.push('/'),
                        _ => return None,
                    }
                } else {
                    out.push(c);
                }
            }
            Some(out)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_is_one_segment_and_dots_stay() {
        assert_eq!(
            pointer(&[&"edgePools", &"edgepool1.contoso.com", &"nextHop"]),
            "/edgePools/edgepool1.contoso.com/nextHop"
        );
    }

    #[test]
    fn tilde_and_slash_are_escaped_in_that_order_and_read_back() {
        let p = pointer(&[&"sites", &"a/b~1", &"federationRoute"]);
        assert_eq!(p, "/sites/a~1b~01/federationRoute");
        assert_eq!(
            segments(&p).unwrap(),
            vec!["sites".to_string(), "a/b~1".into(), "federationRoute".into()]
        );
        assert_eq!(segments("sites.x"), None);
        assert_eq!(segments("/a~2"), None);
    }

    #[test]
    fn serde_json_resolves_the_pointer() {
        let key = "we/ird~site";
        let value = serde_json::json!({"sites": {key: {"federationRoute": "e.contoso.com"}}});
        let p = pointer(&[&"sites", &key, &"federationRoute"]);
        assert_eq!(value.pointer(&p), Some(&serde_json::json!("e.contoso.com")));
    }
}
