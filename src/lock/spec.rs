//! [`LockSpec`]: what `--lock SPEC` names, parsed without touching anything.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::etcd::Endpoint;

/// The lease TTL of an etcd lock when the spec gives none.
pub const DEFAULT_ETCD_TTL: Duration = Duration::from_secs(15);

/// etcd's client port, when the spec gives none.
pub const DEFAULT_ETCD_PORT: u16 = 2379;

/// A lock edgefed takes for a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockSpec {
    /// An exclusive lock on a file (`PATH` or `file:PATH`), created if missing.
    File(PathBuf),
    /// A key under an etcd lease (`etcd://HOST:PORT/KEY[?ttl=DURATION]`).
    Etcd(EtcdSpec),
}

/// An etcd lock: the endpoint, the key and the lease's TTL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdSpec {
    /// Where etcd listens.
    pub endpoint: Endpoint,
    /// The lock's key.
    pub key: String,
    /// The lease's TTL: how long a killed holder keeps the lock at most.
    pub ttl: Duration,
}

/// `--lock SPEC` is malformed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "--lock {spec}: {problem}; give a path, file:PATH or etcd://HOST:PORT/KEY (e.g. etcd://127.0.0.1:2379/edgefed/prod)"
)]
pub struct SpecError {
    /// The spec as given.
    pub spec: String,
    /// What is wrong with it.
    pub problem: String,
}

impl LockSpec {
    /// Parses `--lock SPEC`.
    ///
    /// # Errors
    /// [`SpecError`] saying what is wrong and what forms are accepted.
    pub fn parse(spec: &str) -> Result<Self, SpecError> {
        let bad = |problem: &str| SpecError {
            spec: spec.to_owned(),
            problem: problem.to_owned(),
        };
        if spec.trim().is_empty() {
            return Err(bad("the spec is empty"));
        }
        if let Some(rest) = spec.strip_prefix("etcd://") {
            return parse_etcd(rest).map(Self::Etcd).map_err(|p| bad(&p));
        }
        if let Some((scheme, _)) = spec.split_once("://")
            && scheme.len() > 1
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || c == '+')
        {
            return Err(bad(&format!("unknown lock scheme `{scheme}`")));
        }
        let path = spec.strip_prefix("file:").unwrap_or(spec);
        if path.is_empty() {
            return Err(bad("the file path is empty"));
        }
        if path.ends_with('/') || path.ends_with('\\') {
            return Err(bad("the path names a folder; name the lock file in it"));
        }
        Ok(Self::File(PathBuf::from(path)))
    }
}

fn parse_etcd(rest: &str) -> Result<EtcdSpec, String> {
    let (authority, path) = rest
        .split_once('/')
        .ok_or_else(|| "no key after the address".to_owned())?;
    if authority.contains('@') {
        return Err("credentials in the address are not supported".into());
    }
    let (key, query) = match path.split_once('?') {
        Some((key, query)) => (key, Some(query)),
        None => (path, None),
    };
    if key.is_empty() {
        return Err("the key is empty".into());
    }
    if key.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("the key has a space or a control character".into());
    }
    let endpoint = parse_authority(authority)?;
    let mut ttl = DEFAULT_ETCD_TTL;
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        match pair.split_once('=') {
            Some(("ttl", value)) => ttl = parse_ttl(value)?,
            _ => return Err(format!("unknown parameter `{pair}` (known: ttl=DURATION)")),
        }
    }
    Ok(EtcdSpec {
        endpoint,
        key: key.to_owned(),
        ttl,
    })
}

fn parse_authority(authority: &str) -> Result<Endpoint, String> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or("an IPv6 address without its closing `]`")?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("`{host}` is not an IPv6 address"));
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("expected `:PORT` after `]`")?),
        };
        (host, port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    if !host.contains(':') && !crate::settings::is_host_name(host) {
        return Err(format!("`{host}` is not a host name or IP address"));
    }
    let port = match port {
        None => DEFAULT_ETCD_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => return Err(format!("`{p}` is not a port (1–65535)")),
            Ok(port) => port,
        },
    };
    Ok(Endpoint {
        host: host.to_ascii_lowercase(),
        port,
    })
}

/// A lease TTL: a human duration (`15s`, `1m`) or seconds, 2 s to 1 hour
/// (etcd refuses shorter leases; a longer one keeps a dead holder's lock too long).
fn parse_ttl(text: &str) -> Result<Duration, String> {
    let ttl = crate::settings::duration(text).map_err(|e| format!("ttl {text}: {e}"))?;
    if ttl < Duration::from_secs(2) || ttl > Duration::from_secs(3600) {
        return Err(format!("ttl {text}: between 2s and 1h"));
    }
    Ok(Duration::from_secs(ttl.as_secs()))
}

impl fmt::Display for LockSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "the lock file {}", path.display()),
            Self::Etcd(spec) => write!(f, "the etcd lock {spec}"),
        }
    }
}

impl fmt::Display for EtcdSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.endpoint.to_string();
        write!(f, "etcd{}/{}", url.trim_start_matches("http"), self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn etcd(host: &str, port: u16, key: &str, ttl: u64) -> LockSpec {
        LockSpec::Etcd(EtcdSpec {
            endpoint: Endpoint {
                host: host.into(),
                port,
            },
            key: key.into(),
            ttl: Duration::from_secs(ttl),
        })
    }

    #[test]
    fn paths_and_etcd_urls_are_read() {
        assert_eq!(
            LockSpec::parse("/srv/share/prod.lock"),
            Ok(LockSpec::File("/srv/share/prod.lock".into()))
        );
        assert_eq!(
            LockSpec::parse("file:prod.lock"),
            Ok(LockSpec::File("prod.lock".into()))
        );
        assert_eq!(
            LockSpec::parse(r"\\fs01\dr\prod.lock"),
            Ok(LockSpec::File(r"\\fs01\dr\prod.lock".into()))
        );
        assert_eq!(
            LockSpec::parse(r"C:\dr\prod.lock"),
            Ok(LockSpec::File(r"C:\dr\prod.lock".into()))
        );
        assert_eq!(
            LockSpec::parse("etcd://127.0.0.1:2379/edgefed/prod"),
            Ok(etcd("127.0.0.1", 2379, "edgefed/prod", 15))
        );
        assert_eq!(
            LockSpec::parse("etcd://ETCD.contoso.com/edgefed/prod?ttl=30s"),
            Ok(etcd("etcd.contoso.com", 2379, "edgefed/prod", 30))
        );
        assert_eq!(
            LockSpec::parse("etcd://[::1]:23790/k?ttl=2"),
            Ok(etcd("::1", 23790, "k", 2))
        );
        let shown = LockSpec::parse("etcd://[::1]:23790/k").expect("v6").to_string();
        assert_eq!(shown, "the etcd lock etcd://[::1]:23790/k");
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        for (spec, problem) in [
            ("", "the spec is empty"),
            ("file:", "the file path is empty"),
            ("locks/", "names a folder"),
            ("etcd://127.0.0.1:2379", "no key after the address"),
            ("etcd://127.0.0.1:2379/", "the key is empty"),
            ("etcd://127.0.0.1:99999/k", "`99999` is not a port"),
            ("etcd://127.0.0.1:0/k", "`0` is not a port"),
            (
                "etcd://user:pw@127.0.0.1:2379/k",
                "credentials in the address are not supported",
            ),
            ("etcd://ho st:2379/k", "`ho st` is not a host name"),
            ("etcd://[::1:2379/k", "without its closing `]`"),
            ("etcd://127.0.0.1:2379/a key", "a space or a control character"),
            ("etcd://127.0.0.1:2379/k?ttl=1s", "between 2s and 1h"),
            ("etcd://127.0.0.1:2379/k?ttl=soon", "ttl"),
            ("etcd://127.0.0.1:2379/k?lease=5", "unknown parameter `lease=5`"),
            ("https://127.0.0.1:2379/k", "unknown lock scheme `https`"),
        ] {
            let e = LockSpec::parse(spec).expect_err(spec);
            let text = e.to_string();
            assert!(text.starts_with(&format!("--lock {spec}: ")), "{text}");
            assert!(text.contains(problem), "{spec}: {text}");
            assert!(text.contains("etcd://HOST:PORT/KEY"), "{text}");
        }
    }
}
