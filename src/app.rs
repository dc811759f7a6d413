//! What the commands share: output, logging, the runtime, the lab file, and
//! opening the configured systems as one backend.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::Instrument as _;

use crate::backend::lab::{LabBackend, LabFile, Scenario};
use crate::backend::{Backend, Combined, DnsSystem, LyncSystem, ManualDns, Observation, ProbeSystem, RealProbes};
use crate::cli::{BackendKind, ColorWhen, ProbeMode};
use crate::dns::{DnsBackend, DnsClient, TsigKey};
use crate::error::Error;
use crate::lock::{Lock, LockSpec};
use crate::model::{DnsName, RecordType};
use crate::powershell::PowerShellBackend;
use crate::settings::{DnsSettings, Settings, TsigKeySource};

/// `-q`: notes and warnings are not printed, only errors.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Sets up colour and logging on stderr: the level from `-q` / `-v`
/// (`RUST_LOG` overrides it), and each span's timing when it closes, so
/// `-v` shows how long observing, planning and each action took and `-vv`
/// each PowerShell round trip, DNS query or update and probe. `json` logs
/// one JSON object a line.
pub fn set_up_output(settings: &Settings, json: bool) {
    QUIET.store(settings.quiet, Ordering::Relaxed);
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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE);
    let _ = if json {
        builder.json().with_ansi(false).try_init()
    } else {
        builder.with_ansi(ansi).try_init()
    };
}

/// Writes to stdout (colour stripped unless wanted).
pub fn print(text: &str) {
    let mut out = anstream::stdout();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Streams output that holds no terminal escape sequence (JSON, which
/// escapes every control character) to stdout as `write` produces it,
/// without first building it as one string and without the colour
/// stripping [`print`] does, which has nothing to strip there. Errors
/// (a closed pipe) are ignored, as [`print`] ignores them.
pub fn print_streamed(write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) {
    let mut out = std::io::BufWriter::with_capacity(STREAM_BUFFER_BYTES, std::io::stdout().lock());
    let _ = write(&mut out).and_then(|()| out.flush());
}

/// The buffer [`print_streamed`] fills before each write to stdout.
const STREAM_BUFFER_BYTES: usize = 256 * 1024;

/// Writes a note or a warning to stderr, unless `-q` was given. With `-q`
/// a plan's warnings are still part of the plan printed on stdout.
pub fn note(text: &str) {
    if QUIET.load(Ordering::Relaxed) {
        return;
    }
    let mut err = anstream::stderr();
    let _ = writeln!(err, "{text}");
}

/// A tokio runtime for one command (`plan`, `reconcile`, `observe`,
/// `diff`): one thread. Their work waits on other systems (a shell, DNS, a
/// port) and never blocks for long, so a second worker only added
/// cross-thread wake-ups — a lab reconcile of 4,022 actions took 0.34 s on
/// two workers and 0.15 s on one. Signals are caught on threads of their
/// own (`signals`), so a stop still reaches a busy run.
///
/// # Errors
/// When the runtime cannot start (no threads left).
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

/// A tokio runtime for `watch`, which serves HTTP and watches files while a
/// pass waits for its lock or runs: two workers.
///
/// # Errors
/// When the runtime cannot start (no threads left).
pub fn watch_runtime() -> Result<tokio::runtime::Runtime, Error> {
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
    /// Observe and apply: take the run's lock (see [`crate::lock`]).
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
    // The deployment's lock first, then the lab's own (always in this order).
    let lock = match access {
        Access::Write => take_lock(settings)?,
        Access::Read => None,
    };
    let lab: Option<Arc<LabBackend>> = match settings.backend {
        BackendKind::Lab => {
            let path = lab_path(settings, true)?;
            Some(Arc::new(match access {
                Access::Read => LabBackend::open(&path)?,
                Access::Write => LabBackend::open_locked(&path, settings.lock_timeout, &mut lock_note)?,
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
    Ok(Arc::new(Combined::new(lync, dns, probes, managed).holding(lock)))
}

/// Takes the run's lock: `--lock`, else the PowerShell backend's
/// [`crate::lock::DEFAULT_DEPLOYMENT_LOCK`]; the lab's own `<lab>.lock` is
/// taken when the lab opens (and not twice when `--lock` names it).
///
/// # Errors
/// When the lock is held past `--lock-timeout` or cannot be reached.
fn take_lock(settings: &Settings) -> Result<Option<Lock>, Error> {
    let spec = match (&settings.lock, settings.backend) {
        (Some(LockSpec::File(path)), BackendKind::Lab)
            if same_file(path, &crate::backend::lab::lock_path(&settings.lab.path)) =>
        {
            return Ok(None);
        }
        (Some(spec), _) => spec.clone(),
        (None, BackendKind::Lab) => return Ok(None),
        (None, BackendKind::Powershell) => LockSpec::File(crate::lock::DEFAULT_DEPLOYMENT_LOCK.into()),
    };
    let lock =
        Lock::acquire(&spec, settings.lock_timeout, settings.network_timeout, &mut lock_note).map_err(Error::Lock)?;
    Ok(Some(lock))
}

/// Prints a lock waiter's note (`edgefed: waiting for …`) on stderr.
pub fn lock_note(progress: &crate::lock::Progress) {
    note(&format!("edgefed: {progress}"));
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Observes through `backend`, printing its warnings on stderr.
///
/// # Errors
/// When the backend cannot observe.
/// A signal (see [`crate::signals`]) stops the observation: the backend's
/// work is dropped (a shell it started is killed) and the error says so.
pub fn observe(rt: &tokio::runtime::Runtime, backend: &dyn Backend) -> Result<Observation, Error> {
    let span = tracing::info_span!("observe", backend = backend.name());
    let stop = crate::signals::current();
    let _handled = crate::signals::handled();
    let observed = rt.block_on(async {
        tokio::select! {
            biased;
            () = stop.requested() => None,
            observed = backend.observe().instrument(span) => Some(observed),
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
