//! The program: parse arguments, set up output and logging, run a command,
//! and map the result to an exit code.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use std::net::SocketAddr;

use crate::backend::lab::{LabBackend, LabFile, Scenario};
use crate::backend::{Backend, Combined, DnsSystem, LyncSystem, ManualDns, Observation, ProbeSystem, RealProbes};
use crate::cli::{BackendKind, Cli, ColorWhen, Command, DEFAULT_LAB, Global, ProbeMode};
use crate::commands;
use crate::dns::{DnsBackend, DnsClient, TsigKey};
use crate::exit;
use crate::model::{DnsName, RecordType};
use crate::powershell::{PowerShellBackend, PowerShellConfig};

/// A command's failure: what to print and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// Already-rendered message for stderr.
    pub message: String,
    /// The exit code.
    pub code: u8,
}

impl Failure {
    /// An error (exit 1).
    pub fn error(message: impl std::fmt::Display) -> Self {
        Self {
            message: format!("error: {message}"),
            code: exit::FAILURE,
        }
    }

    /// A usage error (exit 64).
    pub fn usage(message: impl std::fmt::Display) -> Self {
        Self {
            message: format!("error: {message}"),
            code: exit::USAGE,
        }
    }

    /// A pre-rendered report (diagnostics), exit 1.
    pub fn rendered(message: String) -> Self {
        Self {
            message,
            code: exit::FAILURE,
        }
    }
}

/// The outcome of a command: an exit code, or a failure to report.
pub type Outcome = Result<u8, Failure>;

/// Runs edgefed with `args` (the first is the program name).
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match <Cli as clap::Parser>::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // clap exits 2 on a usage error, but 2 means drift here: help and
            // version are successes, every other parse error is EX_USAGE (64),
            // including a bare `edgefed` (help shown for a missing command).
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => exit::SUCCESS,
                _ => exit::USAGE,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    set_up_output(&cli.global);
    let outcome = match cli.command {
        Command::Validate(ref a) => commands::validate::run(&cli.global, a),
        Command::Plan(ref a) => commands::plan::run(&cli.global, a),
        Command::Reconcile(ref a) => commands::reconcile::run(&cli.global, a),
        Command::Observe => commands::observe::run(&cli.global),
        Command::Schema(ref a) => commands::schema::run(a),
        Command::Lab(ref c) => commands::lab::run(&cli.global, c),
        Command::Topology(ref c) => commands::topology::run(&cli.global, c),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            let mut err = anstream::stderr();
            let _ = write!(err, "{}", f.message);
            if !f.message.ends_with('\n') {
                let _ = writeln!(err);
            }
            ExitCode::from(f.code)
        }
    }
}

fn set_up_output(global: &Global) {
    let choice = match global.color {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
    let level = if global.quiet {
        "error"
    } else {
        match global.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("edgefed={level}")));
    use std::io::IsTerminal as _;
    let ansi =
        std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() && global.color != ColorWhen::Never;
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
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::error(format!("cannot start the async runtime: {e}")))
}

/// The lab path, creating the default lab when it is implied and missing.
///
/// # Errors
/// When an explicitly named lab does not exist, or the default cannot be created.
pub fn lab_path(global: &Global, create_default: bool) -> Result<PathBuf, Failure> {
    if let Some(path) = &global.lab {
        if !path.exists() {
            return Err(Failure::error(format!(
                "lab file {} does not exist — create it with `edgefed --lab {} lab init`",
                path.display(),
                path.display()
            )));
        }
        return Ok(path.clone());
    }
    let path = PathBuf::from(DEFAULT_LAB);
    if !path.exists() && create_default {
        create_lab(&path, Scenario::DEFAULT)?;
        note(&format!(
            "edgefed: created the lab {DEFAULT_LAB} from scenario `{}` (see `edgefed lab init --help`)",
            Scenario::DEFAULT
        ));
    }
    Ok(path)
}

/// Writes a new lab from `scenario`.
///
/// # Errors
/// When the file cannot be written.
pub fn create_lab(path: &Path, scenario: Scenario) -> Result<(), Failure> {
    crate::backend::lab::write_atomically(path, scenario.text().as_bytes()).map_err(Failure::error)
}

/// Which backend to use, opened for reading or for a reconcile.
pub enum Access {
    /// Observe only.
    Read,
    /// Observe and apply: take the lab's lock.
    Write,
}

/// Opens the configured backend: the Lync system (lab or PowerShell)
/// combined with external DNS and port probes. `managed` lists the DNS
/// record sets the document manages.
///
/// # Errors
/// When the backend cannot be set up, or its lab is missing, invalid or locked.
pub fn open_backend(
    global: &Global,
    access: Access,
    managed: Vec<(DnsName, RecordType)>,
) -> Result<Arc<dyn Backend>, Failure> {
    let timeout = Duration::from_secs(global.network_timeout);
    let lab: Option<Arc<LabBackend>> = match global.backend {
        BackendKind::Lab => {
            let path = lab_path(global, true)?;
            Some(Arc::new(match access {
                Access::Read => LabBackend::open(&path).map_err(Failure::error)?,
                Access::Write => {
                    LabBackend::open_locked(&path, Duration::from_secs(global.lock_timeout)).map_err(Failure::error)?
                }
            }))
        }
        BackendKind::Powershell => None,
    };
    let lync: Arc<dyn LyncSystem> = match &lab {
        Some(lab) => lab.clone(),
        None => {
            let mut config = PowerShellConfig::from_env(global.ps_command.as_deref()).map_err(Failure::usage)?;
            for spec in &global.ps_timeout {
                config
                    .timeouts
                    .set(spec)
                    .map_err(|e| Failure::usage(format!("--ps-timeout {e}")))?;
            }
            config.backup_dir.clone_from(&global.backup_dir);
            Arc::new(PowerShellBackend::new(config))
        }
    };
    let dns: Arc<dyn DnsSystem> = match (&global.dns_server, &lab) {
        (Some(server), _) => {
            let addr = socket_addr(server, "--dns-server")?;
            let key = match &global.tsig_key_file {
                Some(path) => Some(TsigKey::from_file(path).map_err(Failure::error)?),
                None => TsigKey::from_env().map_err(Failure::error)?,
            };
            if key.is_none() {
                tracing::warn!("no TSIG key (--tsig-key-file or EDGEFED_TSIG_KEY_FILE): DNS updates go unsigned");
            }
            Arc::new(DnsBackend::new(DnsClient::new(addr, key, timeout)))
        }
        (None, Some(lab)) => lab.clone(),
        (None, None) => Arc::new(ManualDns::new(
            global
                .resolver
                .as_deref()
                .map(|r| socket_addr(r, "--resolver"))
                .transpose()?,
            timeout,
        )),
    };
    let probes: Arc<dyn ProbeSystem> = match (global.probes, &lab) {
        (Some(ProbeMode::Real), _) | (None, None) => Arc::new(RealProbes::new(timeout)),
        (Some(ProbeMode::Lab) | None, Some(lab)) => lab.clone(),
        (Some(ProbeMode::Lab), None) => {
            return Err(Failure::usage(
                "`--probes lab` needs the lab backend; the PowerShell backend probes for real",
            ));
        }
    };
    Ok(Arc::new(Combined::new(lync, dns, probes, managed)))
}

/// Whether DNS changes are manual steps (no update server, not the lab).
#[must_use]
pub fn dns_is_manual(global: &Global) -> bool {
    global.dns_server.is_none() && global.backend != BackendKind::Lab
}

/// Resolves `HOST:PORT`.
fn socket_addr(text: &str, flag: &str) -> Result<SocketAddr, Failure> {
    use std::net::ToSocketAddrs as _;
    text.to_socket_addrs().ok().and_then(|mut a| a.next()).ok_or_else(|| {
        Failure::usage(format!(
            "{flag} {text}: expected HOST:PORT, e.g. 192.0.2.53:53 or ns1.contoso.com:53"
        ))
    })
}

/// Observes through `backend`, printing its warnings on stderr.
///
/// # Errors
/// When the backend cannot observe.
pub fn observe(rt: &tokio::runtime::Runtime, backend: &dyn Backend) -> Result<Observation, Failure> {
    let obs = rt
        .block_on(backend.observe())
        .map_err(|e| Failure::error(format!("cannot observe the deployment ({}): {e}", backend.name())))?;
    for w in &obs.warnings {
        note(&format!("warning: {w}"));
    }
    Ok(obs)
}

/// Reads a lab file for the `lab` commands.
///
/// # Errors
/// When it is missing or invalid.
pub fn read_lab(path: &Path) -> Result<LabFile, Failure> {
    LabFile::read(path).map_err(Failure::error)
}
