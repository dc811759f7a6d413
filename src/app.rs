//! What the commands share: output, logging, the runtime, the lab file, and
//! opening the configured systems as one backend.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::backend::lab::{LabBackend, LabFile, Scenario};
use crate::backend::{Backend, Combined, DnsSystem, LyncSystem, ManualDns, Observation, ProbeSystem, RealProbes};
use crate::cli::{BackendKind, ColorWhen, ProbeMode};
use crate::dns::{DnsBackend, DnsClient, TsigKey};
use crate::error::Error;
use crate::model::{DnsName, RecordType};
use crate::powershell::PowerShellBackend;
use crate::settings::{DnsSettings, Settings, TsigKeySource};

/// Sets up colour and logging on stderr.
pub fn set_up_output(settings: &Settings) {
    let choice = match settings.color {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("edgefed={}", settings.log_level)));
    use std::io::IsTerminal as _;
    let ansi = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && settings.color != ColorWhen::Never;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}

/// Writes to stdout (colour stripped unless wanted).
pub fn print(text: &str) {
    let mut out = anstream::stdout();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Writes a note to stderr.
pub fn note(text: &str) {
    let mut err = anstream::stderr();
    let _ = writeln!(err, "{text}");
}

/// A tokio runtime for one command.
///
/// # Errors
/// When the runtime cannot start (no threads left).
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

/// Writes `bytes` to `path` atomically.
///
/// # Errors
/// [`Error::Io`] naming the file.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    crate::fs_util::write_atomically(path, bytes).map_err(|e| Error::Io {
        action: "write",
        path: e.path,
        source: e.source,
    })
}

/// The lab path, creating the default lab when it is implied and missing.
///
/// # Errors
/// When an explicitly named lab does not exist, or the default cannot be created.
pub fn lab_path(settings: &Settings, create_default: bool) -> Result<PathBuf, Error> {
    let path = settings.lab.path.clone();
    if settings.lab.explicit {
        if !path.exists() {
            return Err(Error::LabMissing { path });
        }
        return Ok(path);
    }
    if !path.exists() && create_default {
        create_lab(&path, Scenario::DEFAULT)?;
        note(&format!(
            "edgefed: created the lab {} from scenario `{}` (see `edgefed lab init --help`)",
            path.display(),
            Scenario::DEFAULT
        ));
    }
    Ok(path)
}

/// Writes a new lab from `scenario`.
///
/// # Errors
/// When the file cannot be written.
pub fn create_lab(path: &Path, scenario: Scenario) -> Result<(), Error> {
    write_file(path, scenario.text().as_bytes())
}

/// Which backend to use, opened for reading or for a reconcile.
pub enum Access {
    /// Observe only.
    Read,
    /// Observe and apply: take the lab's lock.
    Write,
}

/// Opens the configured systems as one backend: the Lync system (lab or
/// PowerShell), DNS (the lab's, an RFC 2136 server, or manual) and probes
/// (the lab's or real). `managed` lists the DNS record sets the document
/// manages.
///
/// # Errors
/// When the lab is missing, invalid or locked, a server name does not
/// resolve, or the TSIG key cannot be read.
pub fn open_backend(
    settings: &Settings,
    access: Access,
    managed: Vec<(DnsName, RecordType)>,
) -> Result<Arc<dyn Backend>, Error> {
    let timeout = settings.network_timeout;
    let lab: Option<Arc<LabBackend>> = match settings.backend {
        BackendKind::Lab => {
            let path = lab_path(settings, true)?;
            Some(Arc::new(match access {
                Access::Read => LabBackend::open(&path)?,
                Access::Write => LabBackend::open_locked(&path, settings.lock_timeout)?,
            }))
        }
        BackendKind::Powershell => None,
    };
    let lync: Arc<dyn LyncSystem> = match (&lab, &settings.powershell) {
        (Some(lab), _) => lab.clone(),
        (None, Some(config)) => Arc::new(PowerShellBackend::new(config.clone())),
        (None, None) => {
            return Err(Error::Internal(
                "the PowerShell backend was chosen but its settings were not made".into(),
            ));
        }
    };
    let dns: Arc<dyn DnsSystem> = match (&settings.dns, &lab) {
        (DnsSettings::Server { server, key }, _) => {
            let addr = server.resolve("--dns-server")?;
            let key = match key {
                TsigKeySource::File(path) => Some(TsigKey::from_file(path)?),
                TsigKeySource::Inline(key) => Some(key.clone()),
                TsigKeySource::None => None,
            };
            if key.is_none() {
                tracing::warn!("no TSIG key (--tsig-key-file or EDGEFED_TSIG_KEY_FILE): DNS updates go unsigned");
            }
            Arc::new(DnsBackend::new(DnsClient::new(addr, key, timeout)))
        }
        (DnsSettings::Lab, Some(lab)) => lab.clone(),
        (DnsSettings::Manual { resolver }, _) => Arc::new(ManualDns::new(
            resolver.as_ref().map(|r| r.resolve("--resolver")).transpose()?,
            timeout,
        )),
        (DnsSettings::Lab, None) => {
            return Err(Error::Internal("lab DNS was chosen without the lab backend".into()));
        }
    };
    let probes: Arc<dyn ProbeSystem> = match (settings.probes, &lab) {
        (ProbeMode::Real, _) => Arc::new(RealProbes::new(timeout, settings.probe_ca.clone())),
        (ProbeMode::Lab, Some(lab)) => lab.clone(),
        (ProbeMode::Lab, None) => {
            return Err(Error::Internal("lab probes were chosen without the lab backend".into()));
        }
    };
    Ok(Arc::new(Combined::new(lync, dns, probes, managed)))
}

/// Observes through `backend`, printing its warnings on stderr.
///
/// # Errors
/// When the backend cannot observe.
/// A signal (see [`crate::signals`]) stops the observation: the backend's
/// work is dropped (a shell it started is killed) and the error says so.
pub fn observe(rt: &tokio::runtime::Runtime, backend: &dyn Backend) -> Result<Observation, Error> {
    let stop = crate::signals::current();
    let _handled = crate::signals::handled();
    let observed = rt.block_on(async {
        tokio::select! {
            biased;
            () = stop.requested() => None,
            observed = backend.observe() => Some(observed),
        }
    });
    let Some(observed) = observed else {
        return Err(Error::Interrupted {
            reason: stop.reason().unwrap_or(crate::stop::StopReason::Requested),
            during: "observing",
        });
    };
    let obs = observed.map_err(|source| Error::Observe {
        backend: backend.name(),
        source,
    })?;
    for w in &obs.warnings {
        note(&format!("warning: {w}"));
    }
    Ok(obs)
}

/// Reads a lab file for the `lab` commands.
///
/// # Errors
/// When it is missing or invalid.
pub fn read_lab(path: &Path) -> Result<LabFile, Error> {
    Ok(LabFile::read(path)?)
}
