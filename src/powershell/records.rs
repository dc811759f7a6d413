//! Lenient reading of cmdlet objects as the script flattens them
//! (`Edgefed-Record`: every property as a string, a list of strings, or
//! null; `Edgefed-Record 'A','B'`: only the properties named, those the
//! object has — a property it lacks stays absent, not null).
//!
//! Versions name some properties differently (`Get-CsService -EdgeServer`:
//! `AccessEdgeClientPort` / `AccessEdgeClientSipPort`, …), so each lookup
//! takes a list of accepted names, compared case-insensitively. A required
//! property that is missing under every name is an error naming the cmdlet
//! and the property.

use serde_json::{Map, Value};

use crate::backend::BackendError;
use crate::model::Fqdn;

/// One object a cmdlet returned.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// The cmdlet, for error messages (`Get-CsSite`).
    pub cmdlet: &'static str,
    /// Its properties.
    pub props: &'a Map<String, Value>,
}

/// The error for a missing required property.
#[must_use]
pub fn missing(cmdlet: &str, names: &[&str]) -> BackendError {
    BackendError::failed(format!(
        "`{cmdlet}` returned an object without the property `{}`{}: this Lync / Skype for Business version is not supported, or the cmdlet changed",
        names.first().copied().unwrap_or("?"),
        if names.len() > 1 {
            format!(" (also looked for {})", names[1..].join(", "))
        } else {
            String::new()
        }
    ))
}

impl<'a> Record<'a> {
    /// Reads every object of `values` as a record of `cmdlet`.
    ///
    /// # Errors
    /// [`BackendError::Failed`] when a value is not an object.
    pub fn all(cmdlet: &'static str, values: &'a [Value]) -> Result<Vec<Self>, BackendError> {
        values
            .iter()
            .map(|v| match v {
                Value::Object(props) => Ok(Record { cmdlet, props }),
                _ => Err(BackendError::failed(format!(
                    "`{cmdlet}` returned something that is not an object: {v}"
                ))),
            })
            .collect()
    }

    fn lookup(&self, names: &[&str]) -> Option<&'a Value> {
        names.iter().find_map(|n| {
            self.props
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v)
        })
    }

    /// Whether any of `names` is present (even if null).
    #[must_use]
    pub fn has(&self, names: &[&str]) -> bool {
        self.lookup(names).is_some()
    }

    /// The property as text: `None` when absent, null or empty.
    #[must_use]
    pub fn text(&self, names: &[&str]) -> Option<String> {
        match self.lookup(names)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Array(a) if a.len() == 1 => match &a[0] {
                Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                _ => None,
            },
            _ => None,
        }
    }

    /// A required property as text.
    ///
    /// # Errors
    /// [`BackendError::Failed`] naming the cmdlet and property when it is
    /// absent, null or empty.
    pub fn required(&self, names: &[&str]) -> Result<String, BackendError> {
        self.text(names).ok_or_else(|| missing(self.cmdlet, names))
    }

    /// A property that must exist but may be empty (a route that is unset).
    ///
    /// # Errors
    /// [`BackendError::Failed`] naming the cmdlet and property when absent.
    pub fn present(&self, names: &[&str]) -> Result<Option<String>, BackendError> {
        if self.has(names) {
            Ok(self.text(names))
        } else {
            Err(missing(self.cmdlet, names))
        }
    }

    /// The property as a list of strings (a scalar is a one-element list).
    #[must_use]
    pub fn list(&self, names: &[&str]) -> Vec<String> {
        match self.lookup(names) {
            Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str()).flat_map(split_list).collect(),
            Some(Value::String(s)) => split_list(s),
            _ => Vec::new(),
        }
    }

    /// The property as a boolean (`True`, `true`, `1`).
    #[must_use]
    pub fn flag(&self, names: &[&str]) -> Option<bool> {
        let t = self.text(names)?;
        match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        }
    }
}

/// Splits `{a, b}` / `a b` renderings of a collection into items.
fn split_list(s: &str) -> Vec<String> {
    let s = s.trim().trim_start_matches('{').trim_end_matches('}');
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// Strips a `Role:` prefix (`EdgeServer:`, `Registrar:`, `Site:`) and
/// surrounding spaces.
#[must_use]
pub fn strip_role(value: &str) -> &str {
    match value.split_once(':') {
        Some((role, rest)) if !role.is_empty() && role.chars().all(|c| c.is_ascii_alphanumeric()) => rest.trim(),
        _ => value.trim(),
    }
}

/// The role of a `Role:fqdn` service identity, lower-case.
#[must_use]
pub fn role_of(value: &str) -> Option<String> {
    value.split_once(':').map(|(r, _)| r.trim().to_ascii_lowercase())
}

/// A pool FQDN from a service identity or a bare name.
///
/// # Errors
/// [`BackendError::Failed`] naming the cmdlet and property when the value
/// is not an FQDN.
pub fn fqdn_of(cmdlet: &str, property: &str, value: &str) -> Result<Fqdn, BackendError> {
    Fqdn::parse(strip_role(value)).map_err(|e| {
        BackendError::failed(format!(
            "`{cmdlet}` property `{property}` is `{value}`, not a pool FQDN: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_and_lists_are_read_leniently() {
        assert_eq!(strip_role("EdgeServer:edge.contoso.com"), "edge.contoso.com");
        assert_eq!(strip_role("Registrar: fe.contoso.com"), "fe.contoso.com");
        assert_eq!(strip_role("Site:Site1"), "Site1");
        assert_eq!(strip_role("fe.contoso.com"), "fe.contoso.com");
        assert_eq!(
            split_list("{Registrar:a.b, MediationServer:a.b}"),
            vec!["Registrar:a.b", "MediationServer:a.b"]
        );
        let props: Map<String, Value> =
            serde_json::from_str(r#"{"accessedgeclientsipport":"443","Empty":""}"#).unwrap();
        let r = Record {
            cmdlet: "Get-CsService",
            props: &props,
        };
        assert_eq!(
            r.text(&["AccessEdgeClientPort", "AccessEdgeClientSipPort"]),
            Some("443".into())
        );
        assert_eq!(r.present(&["Empty"]).unwrap(), None);
        let e = r.required(&["PoolFqdn"]).unwrap_err().to_string();
        assert!(e.contains("Get-CsService") && e.contains("PoolFqdn"), "{e}");
    }
}
