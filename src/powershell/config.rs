//! Configuration of the PowerShell backend: how to start the Management
//! Shell, where Edge credentials come from, timeouts, where backups go.

use std::path::PathBuf;
use std::time::Duration;

use crate::plan::Operation;

/// Environment variable naming the launcher command line.
pub const ENV_PS_COMMAND: &str = "EDGEFED_PS_COMMAND";
/// Environment variable naming the Edge credential file.
pub const ENV_EDGE_CREDENTIAL_FILE: &str = "EDGEFED_EDGE_CREDENTIAL_FILE";

/// The launcher used when none is configured.
#[must_use]
pub fn default_launcher() -> &'static str {
    if cfg!(windows) {
        "powershell.exe -NoProfile -NonInteractive -Command -"
    } else {
        "pwsh -NoProfile -NonInteractive -Command -"
    }
}

/// Why a configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The launcher command line does not split into words.
    #[error("launcher command line `{line}` cannot be split: {reason}")]
    BadLauncher {
        /// The command line.
        line: String,
        /// What the splitter said.
        reason: String,
    },
    /// The launcher command line is empty.
    #[error("launcher command line is empty")]
    EmptyLauncher,
    /// A timeout's name is not one of [`Timeouts::NAMES`].
    #[error("`{name}` is not a timeout; known: {}", Timeouts::NAMES)]
    TimeoutName {
        /// The name given.
        name: String,
    },
}

/// The program and arguments that start a Management Shell reading a script
/// on stdin, e.g. `ssh admin@fe01.contoso.com powershell.exe -NoProfile
/// -NonInteractive -Command -`, or the same as a JSON array of strings.
/// Split as [`super::command_line`] says, run without a shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launcher {
    /// The program.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
}

impl Launcher {
    /// Splits a command line, or reads a JSON array of strings.
    ///
    /// # Errors
    /// [`ConfigError`] when the value is empty, has unbalanced quotes or is
    /// not a JSON array of strings.
    pub fn parse(line: &str) -> Result<Self, ConfigError> {
        let words = super::command_line::split(line).map_err(|reason| ConfigError::BadLauncher {
            line: line.to_string(),
            reason,
        })?;
        let mut it = words.into_iter();
        let program = it.next().ok_or(ConfigError::EmptyLauncher)?;
        Ok(Self {
            program,
            args: it.collect(),
        })
    }
}

/// Per-kind timeouts of one round trip. A batch gets the sum of its
/// actions' timeouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// The observe round trip.
    pub observe: Duration,
    /// `Start-CsWindowsService` / `Stop-CsWindowsService` on one server.
    pub services: Duration,
    /// `Set-CsEdgeServer`.
    pub set_edge_next_hop: Duration,
    /// Fetching the published topology (backup) when edits are staged.
    pub stage_topology: Duration,
    /// `Publish-CsTopology` + `Enable-CsTopology`.
    pub publish_topology: Duration,
    /// Replication wait plus Bootstrapper.exe on one Edge server.
    pub run_setup: Duration,
    /// `Set-CsSite`.
    pub set_site: Duration,
    /// `Invoke-CsPoolFailover` / `Invoke-CsPoolFailBack`.
    pub pool_failover: Duration,
    /// How long `run-setup` waits for `UpToDate` before giving up.
    pub replication_wait: Duration,
    /// How often the replication status is polled while waiting.
    pub replication_poll: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            observe: Duration::from_secs(300),
            services: Duration::from_secs(600),
            set_edge_next_hop: Duration::from_secs(120),
            stage_topology: Duration::from_secs(120),
            publish_topology: Duration::from_secs(900),
            run_setup: Duration::from_secs(3600),
            set_site: Duration::from_secs(120),
            pool_failover: Duration::from_secs(3600),
            replication_wait: Duration::from_secs(900),
            replication_poll: Duration::from_secs(15),
        }
    }
}

impl Timeouts {
    /// The names `set` accepts, for messages.
    pub const NAMES: &'static str = "observe, services, set-edge-next-hop, stage-topology, publish-topology, run-setup, set-site, pool-failover, replication-wait, replication-poll";

    /// Sets the timeout named `name` (`--ps-timeout NAME=DURATION`; the
    /// duration is parsed and bounded by `settings::parse_duration`).
    ///
    /// # Errors
    /// [`ConfigError::TimeoutName`] naming the accepted names when the name is wrong.
    pub fn set(&mut self, name: &str, d: Duration) -> Result<(), ConfigError> {
        let slot = match name.trim() {
            "observe" => &mut self.observe,
            "services" => &mut self.services,
            "set-edge-next-hop" => &mut self.set_edge_next_hop,
            "stage-topology" => &mut self.stage_topology,
            "publish-topology" => &mut self.publish_topology,
            "run-setup" => &mut self.run_setup,
            "set-site" => &mut self.set_site,
            "pool-failover" => &mut self.pool_failover,
            "replication-wait" => &mut self.replication_wait,
            "replication-poll" => &mut self.replication_poll,
            other => {
                return Err(ConfigError::TimeoutName {
                    name: other.to_string(),
                });
            }
        };
        *slot = d;
        Ok(())
    }

    /// The timeout of one operation's share of a round trip.
    #[must_use]
    pub fn for_operation(&self, op: &Operation) -> Duration {
        match op {
            Operation::StartServices { .. } | Operation::StopServices { .. } => self.services,
            Operation::SetEdgeNextHop { .. } => self.set_edge_next_hop,
            Operation::DisableSipFederation { .. }
            | Operation::EnableSipFederation { .. }
            | Operation::SetMediaEdgePool { .. }
            | Operation::EditEdgeNextHop { .. } => self.stage_topology,
            Operation::PublishTopology {} => self.publish_topology,
            Operation::RunSetup { .. } => self.run_setup.saturating_add(self.replication_wait),
            Operation::WaitForReplication { .. } => self.replication_wait,
            Operation::SetSiteFederationRoute { .. } | Operation::SetSiteXmppRoute { .. } => self.set_site,
            Operation::InvokePoolFailover { .. }
            | Operation::InvokePoolFailback { .. }
            | Operation::InvokeCmsFailover { .. } => self.pool_failover,
            Operation::SetDnsSrv { .. } | Operation::SetDnsA { .. } | Operation::VerifyPort { .. } => Duration::ZERO,
        }
    }
}

/// Everything the PowerShell backend needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerShellConfig {
    /// How to start the Management Shell.
    pub launcher: Launcher,
    /// A file, readable by the script where it runs, holding the Edge
    /// servers' credential: the user name on the first line, the secret on
    /// the second. The script reads it; the secret never appears in a
    /// script, a log or an output. `None`: remote sessions use the current
    /// identity (domain-joined Edge servers).
    pub edge_credential_file: Option<String>,
    /// Where backups of the published topology are written (local disk).
    pub backup_dir: PathBuf,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// How many Edge servers one fan-out works on at once
    /// (`Invoke-Command -ThrottleLimit`, `--parallelism`).
    pub parallelism: u32,
    /// The most MiB read of the observe script's answer
    /// (`--ps-max-observe-mib`; see [`super::output_bound`]).
    pub max_observe_mib: u64,
}

/// The default of `--parallelism`.
pub const DEFAULT_PARALLELISM: u32 = 8;

impl PowerShellConfig {
    /// A configuration with the given launcher and defaults for the rest
    /// (backups under `.edgefed/backups`).
    ///
    /// # Errors
    /// [`ConfigError`] when the launcher line does not split.
    pub fn new(launcher_line: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            launcher: Launcher::parse(launcher_line)?,
            edge_credential_file: None,
            backup_dir: PathBuf::from(".edgefed/backups"),
            timeouts: Timeouts::default(),
            parallelism: DEFAULT_PARALLELISM,
            max_observe_mib: u64::from(crate::limits::DEFAULT_OBSERVE_ANSWER_MIB),
        })
    }

    /// The configuration from `--ps-command` (if given), else
    /// `EDGEFED_PS_COMMAND`, else the platform default; the credential file
    /// from `EDGEFED_EDGE_CREDENTIAL_FILE`.
    ///
    /// # Errors
    /// [`ConfigError`] when the launcher line does not split.
    pub fn from_env(ps_command: Option<&str>) -> Result<Self, ConfigError> {
        let env_line = std::env::var(ENV_PS_COMMAND).ok().filter(|s| !s.is_empty());
        let line = ps_command
            .map(str::to_string)
            .or(env_line)
            .unwrap_or_else(|| default_launcher().to_string());
        let mut config = Self::new(&line)?;
        config.edge_credential_file = std::env::var(ENV_EDGE_CREDENTIAL_FILE).ok().filter(|s| !s.is_empty());
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launcher_lines_split_like_a_shell_without_one() {
        let l = Launcher::parse("ssh admin@fe01.contoso.com 'powershell.exe' -NoProfile -NonInteractive -Command -")
            .unwrap();
        assert_eq!(l.program, "ssh");
        assert_eq!(l.args[1], "powershell.exe");
        assert_eq!(l.args.last().unwrap(), "-");
        assert!(Launcher::parse("ssh 'open").is_err());
        assert_eq!(Launcher::parse("  "), Err(ConfigError::EmptyLauncher));
    }

    #[test]
    fn timeouts_are_set_by_name() {
        let mut t = Timeouts::default();
        t.set("run-setup", Duration::from_secs(60)).unwrap();
        assert_eq!(t.run_setup, Duration::from_secs(60));
        let e = t.set("runsetup", Duration::from_secs(60)).unwrap_err();
        assert!(e.to_string().contains("known: observe"), "{e}");
    }
}
