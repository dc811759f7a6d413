//! [`Settings`]: the global options, checked and typed before any document
//! is read or any backend or file is touched. A malformed option is a usage
//! error (exit 64) here; nothing reads a file, resolves a name or starts a
//! shell until a command asks for it.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{BackendKind, ColorWhen, DEFAULT_LAB, Global, OutputFormat, ProbeMode};
use crate::dns::{KEY_ENV, KEY_FILE_ENV, TsigKey};
use crate::error::Error;
use crate::lock::LockSpec;
use crate::powershell::{Launcher, PowerShellConfig, Timeouts};
use crate::probe::TrustAnchors;

/// Everything the global options say.
#[derive(Debug)]
pub struct Settings {
    /// The Lync system to drive.
    pub backend: BackendKind,
    /// The lab file.
    pub lab: LabLocation,
    /// The requested output format (each command has its default).
    pub output: Option<OutputFormat>,
    /// Colour.
    pub color: ColorWhen,
    /// The log filter for stderr (`RUST_LOG` overrides it).
    pub log_level: &'static str,
    /// What a reconcile locks besides the lab's own lock (`--lock`); `None`:
    /// the backend's default (see [`crate::lock`]).
    pub lock: Option<LockSpec>,
    /// `-q`: no notes or warnings on stderr, only errors.
    pub quiet: bool,
    /// How long a reconcile waits for its lock.
    pub lock_timeout: Duration,
    /// Bound on each DNS query / update and each probe.
    pub network_timeout: Duration,
    /// Where DNS is observed and changed.
    pub dns: DnsSettings,
    /// Where ports are probed.
    pub probes: ProbeMode,
    /// The CA the probed certificates' chains must validate to (`--probe-ca-file`).
    pub probe_ca: Option<TrustAnchors>,
    /// The PowerShell backend's configuration (with `--backend powershell`).
    pub powershell: Option<PowerShellConfig>,
    /// `--journal`: the run journal, when not the default beside the lab
    /// (see [`crate::journal::path`]).
    pub journal: Option<PathBuf>,
}

/// The lab file, and whether it was named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabLocation {
    /// The path.
    pub path: PathBuf,
    /// `--lab` / `EDGEFED_LAB` named it (it must then exist), rather than the default.
    pub explicit: bool,
}

/// Where DNS is observed and changed.
#[derive(Debug)]
pub enum DnsSettings {
    /// The lab simulates it.
    Lab,
    /// An RFC 2136 primary (`--dns-server`).
    Server {
        /// Its address.
        server: ServerAddress,
        /// The TSIG key, if any.
        key: TsigKeySource,
    },
    /// No update server: plain queries, every change a manual step.
    Manual {
        /// `--resolver`, or `None` for the system's name servers.
        resolver: Option<ServerAddress>,
    },
}

/// A DNS server's address: an IP address and port, or a host name and port
/// resolved when the backend is opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerAddress {
    /// `192.0.2.53:53`, `[2001:db8::53]:53`.
    Socket(SocketAddr),
    /// `ns1.contoso.com:53`.
    Host {
        /// The host name.
        host: String,
        /// The port.
        port: u16,
    },
}

/// Where the TSIG key comes from.
#[derive(Debug)]
pub enum TsigKeySource {
    /// A `tsig-keygen` file (`--tsig-key-file` or `EDGEFED_TSIG_KEY_FILE`), read when the backend opens.
    File(PathBuf),
    /// `EDGEFED_TSIG_KEY=algorithm:name:secret`, already parsed.
    Inline(TsigKey),
    /// None: updates go unsigned.
    None,
}

impl Settings {
    /// Checks the global options.
    ///
    /// # Errors
    /// [`Error::Usage`] naming the option, the value and the expected form.
    pub fn from_global(g: &Global) -> Result<Self, Error> {
        let timeouts = ps_timeouts(&g.ps_timeout)?;
        let powershell = match g.backend {
            BackendKind::Powershell => {
                let mut config = PowerShellConfig::from_env(g.ps_command.as_deref())
                    .map_err(|e| Error::usage(format!("--ps-command / {}: {e}", crate::powershell::ENV_PS_COMMAND)))?;
                config.timeouts = timeouts;
                config.backup_dir.clone_from(&g.backup_dir);
                config.parallelism = u32::from(g.parallelism);
                config.max_observe_mib = u64::from(g.ps_max_observe_mib);
                Some(config)
            }
            BackendKind::Lab => {
                if let Some(line) = &g.ps_command {
                    Launcher::parse(line).map_err(|e| Error::usage(format!("--ps-command: {e}")))?;
                }
                None
            }
        };
        let dns = match (&g.dns_server, g.backend) {
            (Some(text), _) => DnsSettings::Server {
                server: ServerAddress::parse(text, "--dns-server")?,
                key: tsig_key_source(g.tsig_key_file.as_ref())?,
            },
            (None, BackendKind::Lab) => {
                if let Some(text) = &g.resolver {
                    ServerAddress::parse(text, "--resolver")?;
                }
                DnsSettings::Lab
            }
            (None, BackendKind::Powershell) => DnsSettings::Manual {
                resolver: g
                    .resolver
                    .as_deref()
                    .map(|r| ServerAddress::parse(r, "--resolver"))
                    .transpose()?,
            },
        };
        let probes = match (g.probes, g.backend) {
            (Some(mode), BackendKind::Lab) => mode,
            (None, BackendKind::Lab) => ProbeMode::Lab,
            (Some(ProbeMode::Real) | None, BackendKind::Powershell) => ProbeMode::Real,
            (Some(ProbeMode::Lab), BackendKind::Powershell) => {
                return Err(Error::usage(
                    "`--probes lab` needs the lab backend; the PowerShell backend probes for real",
                ));
            }
        };
        let probe_ca = probe_ca(g.probe_ca_file.as_deref(), probes)?;
        let log_level = if g.quiet {
            "error"
        } else {
            match g.verbose {
                0 => "warn",
                1 => "info",
                2 => "debug",
                _ => "trace",
            }
        };
        Ok(Self {
            backend: g.backend,
            lab: LabLocation {
                path: g.lab.clone().unwrap_or_else(|| DEFAULT_LAB.into()),
                explicit: g.lab.is_some(),
            },
            output: g.output,
            color: g.color,
            log_level,
            quiet: g.quiet,
            lock: g
                .lock
                .as_deref()
                .map(LockSpec::parse)
                .transpose()
                .map_err(|e| Error::usage(e.to_string()))?,
            lock_timeout: parse_duration(&g.lock_timeout, "--lock-timeout")?,
            network_timeout: parse_duration(&g.network_timeout, "--network-timeout")?,
            dns,
            probes,
            probe_ca,
            powershell,
            journal: g.journal.clone(),
        })
    }

    /// Whether DNS changes are manual steps (no update server, not the lab).
    #[must_use]
    pub fn dns_is_manual(&self) -> bool {
        matches!(self.dns, DnsSettings::Manual { .. })
    }
}

/// `--probe-ca-file`: read and parsed now, so a bad path or bad PEM stops
/// the command before anything else is touched; only with real probes (the
/// lab's present no certificate).
fn probe_ca(path: Option<&std::path::Path>, probes: ProbeMode) -> Result<Option<TrustAnchors>, Error> {
    let Some(path) = path else { return Ok(None) };
    if probes != ProbeMode::Real {
        return Err(Error::usage(format!(
            "--probe-ca-file {}: the lab's simulated probes present no certificate; add --probes real to check the federation ports' certificates",
            path.display()
        )));
    }
    TrustAnchors::from_pem_file(path)
        .map(Some)
        .map_err(|e| Error::usage(format!("--probe-ca-file {e}")))
}

/// A duration given to `flag`: plain seconds (`90`) or a human form
/// (`5s`, `2m`, `1h 30m`, `1day`), at most [`crate::limits::MAX_TIMEOUT_SECS`]
/// (7 days). Every duration option goes through here.
///
/// # Errors
/// [`Error::Usage`] naming the flag, the value and the accepted forms.
pub fn parse_duration(text: &str, flag: &str) -> Result<Duration, Error> {
    duration(text).map_err(|why| Error::usage(format!("{flag} {text}: {why}")))
}

/// [`parse_duration`] without the flag: what is wrong, when something is.
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let parsed = if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        trimmed.parse::<u64>().ok().map(Duration::from_secs)
    } else {
        humantime::parse_duration(trimmed).ok()
    };
    let Some(parsed) = parsed else {
        return Err("expected a duration, e.g. 30 (seconds), 5s, 2m, 1h30m or 1day".into());
    };
    if parsed > Duration::from_secs(crate::limits::MAX_TIMEOUT_SECS) {
        return Err(format!("at most {} seconds (7 days)", crate::limits::MAX_TIMEOUT_SECS));
    }
    Ok(parsed)
}

/// `--ps-timeout NAME=DURATION`, each name checked.
fn ps_timeouts(specs: &[String]) -> Result<Timeouts, Error> {
    let mut timeouts = Timeouts::default();
    for spec in specs {
        let Some((name, text)) = spec.split_once('=') else {
            return Err(Error::usage(format!(
                "--ps-timeout {spec}: expected NAME=DURATION, e.g. services=2m; names: {}",
                Timeouts::NAMES
            )));
        };
        let duration = duration(text).map_err(|why| Error::usage(format!("--ps-timeout {spec}: {why}")))?;
        timeouts
            .set(name, duration)
            .map_err(|e| Error::usage(format!("--ps-timeout {e}")))?;
    }
    Ok(timeouts)
}

/// The TSIG key's source: the option, else `EDGEFED_TSIG_KEY_FILE`, else
/// `EDGEFED_TSIG_KEY` (whose form is checked now).
fn tsig_key_source(flag: Option<&PathBuf>) -> Result<TsigKeySource, Error> {
    if let Some(path) = flag {
        return Ok(TsigKeySource::File(path.clone()));
    }
    if let Some(path) = std::env::var_os(KEY_FILE_ENV).filter(|p| !p.is_empty()) {
        return Ok(TsigKeySource::File(PathBuf::from(path)));
    }
    match std::env::var(KEY_ENV) {
        Ok(spec) if !spec.is_empty() => TsigKey::from_spec(&spec)
            .map(TsigKeySource::Inline)
            .map_err(|e| Error::usage(e.to_string())),
        Ok(_) | Err(std::env::VarError::NotPresent) => Ok(TsigKeySource::None),
        Err(std::env::VarError::NotUnicode(_)) => Err(Error::usage(format!("{KEY_ENV}: the value is not valid UTF-8"))),
    }
}

impl ServerAddress {
    /// Parses `HOST:PORT` given to `flag`, without resolving it.
    ///
    /// # Errors
    /// [`Error::Usage`] naming the flag and the expected form.
    pub fn parse(text: &str, flag: &str) -> Result<Self, Error> {
        let bad = || {
            Error::usage(format!(
                "{flag} {text}: expected HOST:PORT, e.g. 192.0.2.53:53 or ns1.contoso.com:53"
            ))
        };
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return Ok(Self::Socket(addr));
        }
        let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        if !is_host_name(host) {
            return Err(bad());
        }
        Ok(Self::Host {
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// The socket address, resolving a host name.
    ///
    /// # Errors
    /// [`Error::Resolve`] when the name does not resolve.
    pub fn resolve(&self, flag: &'static str) -> Result<SocketAddr, Error> {
        use std::net::ToSocketAddrs as _;
        match self {
            Self::Socket(addr) => Ok(*addr),
            Self::Host { host, port } => {
                let resolve_error = |source| Error::Resolve {
                    flag,
                    text: self.to_string(),
                    source,
                };
                (host.as_str(), *port)
                    .to_socket_addrs()
                    .map_err(resolve_error)?
                    .next()
                    .ok_or_else(|| resolve_error(std::io::Error::other("no address")))
            }
        }
    }
}

impl fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Socket(addr) => addr.fmt(f),
            Self::Host { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

/// A host name: dot-separated labels of letters, digits and hyphens, not
/// starting or ending with a hyphen, at most 253 characters.
pub(crate) fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.trim_end_matches('.').split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::Cli;

    fn settings(args: &[&str]) -> Result<Settings, Error> {
        let mut all = vec!["edgefed"];
        all.extend_from_slice(args);
        all.push("observe");
        let cli = Cli::try_parse_from(all).expect("clap accepts it");
        Settings::from_global(&cli.global)
    }

    #[test]
    fn server_addresses_are_checked_not_resolved() {
        assert_eq!(
            ServerAddress::parse("192.0.2.53:53", "--dns-server").expect("ip"),
            ServerAddress::Socket("192.0.2.53:53".parse().expect("addr"))
        );
        assert_eq!(
            ServerAddress::parse("NS1.contoso.com:5353", "--dns-server").expect("host"),
            ServerAddress::Host {
                host: "ns1.contoso.com".into(),
                port: 5353
            }
        );
        for bad in [
            "not-an-address",
            "ns1.contoso.com",
            "ns1.contoso.com:99999",
            "ns 1:53",
            ":53",
            "-a.b:53",
        ] {
            let e = ServerAddress::parse(bad, "--resolver").expect_err(bad);
            assert_eq!(e.exit_code(), 64, "{bad}");
            assert!(
                e.to_string()
                    .starts_with(&format!("--resolver {bad}: expected HOST:PORT")),
                "{e}"
            );
        }
    }

    #[test]
    fn durations_are_seconds_or_human_and_at_most_seven_days() {
        let ok = |text: &str| parse_duration(text, "--x").expect(text);
        assert_eq!(ok("90"), Duration::from_secs(90));
        assert_eq!(ok(" 0 "), Duration::ZERO);
        assert_eq!(ok("5s"), Duration::from_secs(5));
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("2m"), Duration::from_secs(120));
        assert_eq!(ok("1h 30m"), Duration::from_secs(5400));
        assert_eq!(ok("7days"), Duration::from_secs(crate::limits::MAX_TIMEOUT_SECS));
        assert_eq!(ok("604800"), Duration::from_secs(crate::limits::MAX_TIMEOUT_SECS));
        for (bad, says) in [
            ("", "expected a duration"),
            ("soon", "expected a duration"),
            ("-5", "expected a duration"),
            ("5 fortnights", "expected a duration"),
            ("604801", "at most 604800 seconds (7 days)"),
            ("7days 1s", "at most 604800 seconds (7 days)"),
            ("99999999999999999999", "expected a duration"),
        ] {
            let e = parse_duration(bad, "--x").expect_err(bad);
            assert_eq!(e.exit_code(), 64, "{bad}");
            assert!(e.to_string().starts_with(&format!("--x {bad}: ")), "{e}");
            assert!(e.to_string().contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn the_observe_answer_bound_is_set_in_mib_within_its_range() {
        let bound = |args: &[&str]| {
            let mut all = vec!["--backend", "powershell"];
            all.extend_from_slice(args);
            settings(&all)
                .expect("settings")
                .powershell
                .expect("powershell")
                .max_observe_mib
        };
        assert_eq!(bound(&[]), u64::from(crate::limits::DEFAULT_OBSERVE_ANSWER_MIB));
        assert_eq!(bound(&["--ps-max-observe-mib", "2048"]), 2048);
        for bad in ["0", "16385", "lots"] {
            let e = Cli::try_parse_from(["edgefed", "--ps-max-observe-mib", bad, "observe"]).expect_err(bad);
            assert!(e.to_string().contains("--ps-max-observe-mib"), "{bad}: {e}");
        }
    }

    #[test]
    fn bad_options_are_usage_errors() {
        let e = settings(&["--ps-timeout", "runsetup=60"]).expect_err("name");
        assert_eq!(e.exit_code(), 64);
        assert!(e.to_string().contains("known: observe"), "{e}");
        assert!(settings(&["--ps-timeout", "run-setup=soon"]).is_err());
        assert!(settings(&["--dns-server", "nowhere"]).is_err());
        assert!(settings(&["--resolver", "nowhere"]).is_err());
        assert!(settings(&["--ps-command", "pwsh 'open"]).is_err());
        let e = settings(&["--backend", "powershell", "--probes", "lab"]).expect_err("probes");
        assert!(e.to_string().contains("--probes lab"), "{e}");
    }

    #[test]
    fn the_probe_ca_file_is_read_now_and_needs_real_probes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("missing.pem");
        let missing = missing.to_str().expect("utf-8");
        let e = settings(&["--probes", "real", "--probe-ca-file", missing]).expect_err("missing");
        assert_eq!(e.exit_code(), 64);
        assert!(
            e.to_string()
                .starts_with(&format!("--probe-ca-file {missing}: cannot read the CA file")),
            "{e}"
        );

        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        let garbage = garbage.to_str().expect("utf-8");
        let e = settings(&["--probes", "real", "--probe-ca-file", garbage]).expect_err("bad PEM");
        assert_eq!(e.exit_code(), 64);
        assert!(e.to_string().contains("not a valid PEM file"), "{e}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").expect("write");
        let e = settings(&["--probes", "real", "--probe-ca-file", empty.to_str().expect("utf-8")]).expect_err("empty");
        assert!(e.to_string().contains("no CERTIFICATE in the file"), "{e}");

        let e = settings(&["--probe-ca-file", missing]).expect_err("lab probes");
        assert_eq!(e.exit_code(), 64);
        assert!(e.to_string().contains("add --probes real"), "{e}");

        let params = rcgen::CertificateParams::new(vec!["ca.edge.test".to_string()]).expect("params");
        let key = rcgen::KeyPair::generate().expect("key");
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, params.self_signed(&key).expect("cert").pem()).expect("write");
        let ok = settings(&["--probes", "real", "--probe-ca-file", ca.to_str().expect("utf-8")]).expect("a CA file");
        assert_eq!(ok.probe_ca.expect("read").path(), ca.as_path());
        assert!(settings(&["--probes", "real"]).expect("none").probe_ca.is_none());
    }

    #[test]
    fn the_lock_options_are_read_and_checked() {
        let ok = settings(&["--lock-timeout", "2m"]).expect("2m");
        assert_eq!(ok.lock_timeout, Duration::from_secs(120));
        assert_eq!(
            settings(&["--lock-timeout", "7d"])
                .expect("7 days")
                .lock_timeout
                .as_secs(),
            604_800
        );
        let e = settings(&["--lock-timeout", "7d 1s"]).expect_err("over");
        assert_eq!(e.to_string(), "--lock-timeout 7d 1s: at most 604800 seconds (7 days)");
        let e = settings(&["--lock", "etcd://127.0.0.1:2379"]).expect_err("no key");
        assert_eq!(e.exit_code(), 64);
        assert!(e.to_string().starts_with("--lock etcd://127.0.0.1:2379: no key"), "{e}");
        assert_eq!(
            settings(&["--lock", "file:prod.lock"]).expect("file").lock,
            Some(LockSpec::File("prod.lock".into()))
        );
        assert_eq!(settings(&[]).expect("none").lock, None);
    }

    #[test]
    fn defaults_follow_the_backend() {
        let lab = settings(&["--lab", "x.yaml"]).expect("lab");
        assert!(matches!(lab.dns, DnsSettings::Lab));
        assert_eq!(lab.probes, ProbeMode::Lab);
        assert!(lab.lab.explicit);
        assert!(lab.powershell.is_none());
        let ps = settings(&[
            "--backend",
            "powershell",
            "--ps-timeout",
            "run-setup=60",
            "--resolver",
            "127.0.0.1:53",
        ])
        .expect("powershell");
        assert!(ps.dns_is_manual());
        assert_eq!(ps.probes, ProbeMode::Real);
        assert_eq!(
            ps.powershell.expect("config").timeouts.run_setup,
            Duration::from_secs(60)
        );
    }
}
