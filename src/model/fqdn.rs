//! Host names as Lync uses them: case-insensitive, printed lower-case.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A fully qualified domain name, validated (RFC 1123, at most 253
/// characters, at least two labels) and stored lower-case.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fqdn(String);

/// Why a string is not a valid FQDN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FqdnError {
    /// The name is empty.
    #[error("the name is empty")]
    Empty,
    /// The name is longer than 253 characters.
    #[error("the name is {len} characters long; at most 253 are allowed")]
    TooLong { len: usize },
    /// The name has a single label.
    #[error("`{name}` has a single label; an FQDN has at least two (e.g. `{name}.contoso.com`)")]
    SingleLabel { name: String },
    /// A label is empty, too long, or has a character outside `a-z 0-9 -`.
    #[error(
        "label `{label}` is not a valid host name label (letters, digits and `-`, 1–63 characters, not starting or ending with `-`)"
    )]
    BadLabel { label: String },
}

impl Fqdn {
    /// Parses and validates `s`, accepting a trailing dot and any case.
    ///
    /// # Errors
    /// [`FqdnError`] when `s` is not an RFC 1123 host name of two or more labels.
    pub fn parse(s: &str) -> Result<Self, FqdnError> {
        let trimmed = Self::check(s)?;
        Ok(Self(trimmed.to_ascii_lowercase()))
    }

    /// Validates `s` as [`Fqdn::parse`] does, and returns it without its
    /// trailing dot.
    fn check(s: &str) -> Result<&str, FqdnError> {
        let trimmed = s.strip_suffix('.').unwrap_or(s);
        if trimmed.is_empty() {
            return Err(FqdnError::Empty);
        }
        if trimmed.len() > 253 {
            return Err(FqdnError::TooLong { len: trimmed.len() });
        }
        let mut labels = 0;
        for label in trimmed.split('.') {
            let ok = !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !ok {
                return Err(FqdnError::BadLabel {
                    label: label.to_string(),
                });
            }
            labels += 1;
        }
        if labels < 2 {
            return Err(FqdnError::SingleLabel {
                name: trimmed.to_string(),
            });
        }
        Ok(trimmed)
    }

    /// The lower-case name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this name equals `zone` or lies below it.
    #[must_use]
    pub fn is_in_zone(&self, zone: &Fqdn) -> bool {
        self.0 == zone.0 || self.0.ends_with(&format!(".{}", zone.0))
    }
}

impl TryFrom<String> for Fqdn {
    type Error = FqdnError;
    /// As [`Fqdn::parse`], keeping the string's own buffer when it is
    /// already in the stored form (lower-case, no trailing dot), as names
    /// read from files usually are.
    fn try_from(mut s: String) -> Result<Self, Self::Error> {
        let len = Self::check(&s)?.len();
        s.truncate(len);
        s.make_ascii_lowercase();
        Ok(Self(s))
    }
}

impl From<Fqdn> for String {
    fn from(f: Fqdn) -> Self {
        f.0
    }
}

impl fmt::Display for Fqdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_case_insensitively_and_print_lower_case() {
        let a = Fqdn::parse("EdgePool1.Contoso.com").unwrap();
        assert_eq!(a.as_str(), "edgepool1.contoso.com");
        assert_eq!(a, Fqdn::parse("edgepool1.contoso.com.").unwrap());
    }

    #[test]
    fn a_name_read_from_a_file_is_stored_as_a_parsed_one() {
        for name in ["edge1.contoso.com", "Edge1.CONTOSO.com.", "a-b.c"] {
            assert_eq!(Fqdn::try_from(name.to_string()), Fqdn::parse(name), "{name}");
        }
        for bad in ["", ".", "edge1", "edge_1.contoso.com", "a..b"] {
            assert!(Fqdn::try_from(bad.to_string()).is_err(), "{bad}");
            assert_eq!(Fqdn::try_from(bad.to_string()), Fqdn::parse(bad), "{bad}");
        }
    }

    #[test]
    fn invalid_names_are_refused_with_a_reason() {
        assert_eq!(Fqdn::parse(""), Err(FqdnError::Empty));
        assert!(matches!(Fqdn::parse("edgepool1"), Err(FqdnError::SingleLabel { .. })));
        assert!(matches!(
            Fqdn::parse("edge pool.contoso.com"),
            Err(FqdnError::BadLabel { .. })
        ));
        assert!(matches!(Fqdn::parse("-a.contoso.com"), Err(FqdnError::BadLabel { .. })));
        assert!(matches!(Fqdn::parse(&"a.".repeat(130)), Err(FqdnError::TooLong { .. })));
        assert!(matches!(
            Fqdn::parse("a$(x).contoso.com"),
            Err(FqdnError::BadLabel { .. })
        ));
    }

    #[test]
    fn zone_membership() {
        let zone = Fqdn::parse("contoso.com").unwrap();
        assert!(Fqdn::parse("xmpp.contoso.com").unwrap().is_in_zone(&zone));
        assert!(!Fqdn::parse("xmpp.notcontoso.com").unwrap().is_in_zone(&zone));
    }
}
