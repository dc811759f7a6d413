//! The command line, as clap types. [`crate::settings`] checks the global
//! options; [`crate::commands`] turns the rest into work.

use std::path::PathBuf;

use clap::{Args, CommandFactory as _, Parser, Subcommand, ValueEnum};

/// Default lab file.
pub const DEFAULT_LAB: &str = ".edgefed/lab.yaml";

/// Declarative disaster recovery for Lync Server 2013 / Skype for Business Edge pool federation routing.
#[derive(Debug, Parser)]
#[command(name = "edgefed", version, about, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The options that read an environment variable, by clap id.
pub const ENV_OPTIONS: [(&str, &str); 7] = [
    ("backend", "EDGEFED_BACKEND"),
    ("lock", "EDGEFED_LOCK"),
    ("lab", "EDGEFED_LAB"),
    ("dns_server", "EDGEFED_DNS_SERVER"),
    ("resolver", "EDGEFED_RESOLVER"),
    ("probe_ca_file", "EDGEFED_PROBE_CA_FILE"),
    ("ps_max_observe_mib", "EDGEFED_PS_MAX_OBSERVE_MIB"),
];

impl Cli {
    /// The clap command, where an environment variable set to the empty
    /// string counts as unset (`EDGEFED_LAB= edgefed …` uses the default lab)
    /// instead of as an empty value.
    #[must_use]
    pub fn command_ignoring_empty_env() -> clap::Command {
        Self::command_with_env(|name| std::env::var_os(name))
    }

    /// [`Cli::command_ignoring_empty_env`] with the environment given by `var`.
    pub fn command_with_env(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> clap::Command {
        let mut command = Self::command();
        for (id, name) in ENV_OPTIONS {
            if var(name).is_some_and(|value| value.is_empty()) {
                command = command.mut_arg(id, |arg| arg.env(None));
            }
        }
        command
    }
}

/// Which system edgefed drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// The simulated deployment in the lab file.
    Lab,
    /// A real deployment through the Lync Server Management Shell.
    Powershell,
}

/// Output formats; each command accepts a subset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// For people (default).
    Human,
    /// Machine-readable JSON.
    Json,
    /// YAML (`observe`, `lab show`, `topology show`, `schema`).
    Yaml,
    /// Markdown, for a pull-request comment (`plan`).
    Markdown,
    /// A PowerShell runbook (`plan`).
    Powershell,
    /// GitHub Actions workflow commands (`validate`): each problem as an
    /// `::error file=…,line=…,col=…::…` annotation.
    Github,
}

/// When to colour output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// When stdout is a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Options every command takes, shown under their own heading in every
/// command's help after the command's own options.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// The system to observe and change.
    #[arg(long, global = true, value_enum, default_value = "lab", env = "EDGEFED_BACKEND")]
    pub backend: BackendKind,
    /// The lab file (lab backend).
    #[arg(long, global = true, env = "EDGEFED_LAB", value_name = "PATH")]
    pub lab: Option<PathBuf>,
    /// Output format.
    #[arg(long, global = true, value_enum)]
    pub output: Option<OutputFormat>,
    /// Colour.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub color: ColorWhen,
    /// More log output on stderr: `-v` info (with how long observing,
    /// planning and each action took), `-vv` debug (each PowerShell round
    /// trip, DNS query or update and probe), `-vvv` trace. `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr: no notes, no warnings (a plan's warnings stay
    /// in the plan printed on stdout).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// What a reconcile locks so that two runs never change one deployment at
    /// once: a file (`PATH` or `file:PATH`, e.g. on a share every runner mounts)
    /// or an etcd lease lock (`etcd://HOST:PORT/KEY[?ttl=15s]`). Default: the
    /// lab's `<lab>.lock`; `.edgefed/deployment.lock` for the PowerShell backend.
    /// With the lab, the lab's own lock is taken too.
    #[arg(long, global = true, env = "EDGEFED_LOCK", value_name = "SPEC")]
    pub lock: Option<String>,
    /// How long a reconcile waits for the lock held by another run: `90s`,
    /// `2m`, `1h 30m`, or seconds; at most 7 days.
    #[arg(long, global = true, default_value = "60", value_name = "DURATION")]
    pub lock_timeout: String,
    /// How the PowerShell backend starts the Management Shell (script on stdin), e.g.
    /// `ssh admin@fe01.contoso.com powershell.exe -NoProfile -NonInteractive -Command -`:
    /// split with POSIX shell rules, or Windows rules on Windows (backslashes
    /// kept), or given word for word as a JSON array of strings,
    /// `["C:\...\powershell.exe","-NoProfile","-Command","-"]`.
    /// Env `EDGEFED_PS_COMMAND`; default `pwsh -NoProfile -NonInteractive -Command -`
    /// (`powershell.exe …` on Windows).
    #[arg(long, global = true, value_name = "CMD")]
    pub ps_command: Option<String>,
    /// A per-kind PowerShell timeout, `NAME=DURATION` (repeatable; `services=2m`,
    /// `run-setup=3600`): observe, services, set-edge-next-hop, stage-topology,
    /// publish-topology, run-setup, set-site, pool-failover, replication-wait,
    /// replication-poll. At most 7 days.
    #[arg(long, global = true, value_name = "NAME=DURATION")]
    pub ps_timeout: Vec<String>,
    /// Where the PowerShell backend saves backups of the published topology.
    #[arg(long, global = true, value_name = "DIR", default_value = ".edgefed/backups")]
    pub backup_dir: PathBuf,
    /// The DNS primary that takes RFC 2136 updates for the managed zones.
    /// Without it, DNS changes are shown as manual steps (PowerShell backend)
    /// or simulated (lab).
    #[arg(long, global = true, env = "EDGEFED_DNS_SERVER", value_name = "HOST:PORT")]
    pub dns_server: Option<String>,
    /// TSIG key for the updates, in `tsig-keygen` format. Env `EDGEFED_TSIG_KEY_FILE`,
    /// or `EDGEFED_TSIG_KEY=algorithm:name:secret`. Never put it in the document.
    #[arg(long, global = true, value_name = "FILE")]
    pub tsig_key_file: Option<PathBuf>,
    /// The resolver for plain DNS queries when no --dns-server is given
    /// (PowerShell backend); default: the system's name servers (/etc/resolv.conf;
    /// on Windows, the network adapters' settings), the next tried when one is silent.
    #[arg(long, global = true, env = "EDGEFED_RESOLVER", value_name = "HOST:PORT")]
    pub resolver: Option<String>,
    /// Port probes: `lab` (simulated by the lab) or `real` (TCP / XMPP / TLS).
    /// Default: `lab` with the lab backend, `real` with PowerShell.
    #[arg(long, global = true, value_enum)]
    pub probes: Option<ProbeMode>,
    /// A PEM file with the CA certificate(s) the federation ports' certificate
    /// chains must validate to (real probes). Without it, probes still check
    /// that the certificate covers the federation host, but not its chain.
    #[arg(long, global = true, env = "EDGEFED_PROBE_CA_FILE", value_name = "PEM")]
    pub probe_ca_file: Option<PathBuf>,
    /// With the PowerShell backend: how many Edge servers one fan-out
    /// (setup, service start / stop, service observation) works on at once
    /// (`Invoke-Command -ThrottleLimit`), and how many Management Shell
    /// round trips run side by side during apply; 1 to 256; 1 = one after
    /// another.
    #[arg(long, global = true, default_value = "8", value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// The most MiB edgefed reads of the Management Shell's answer to the
    /// observe script (PowerShell backend), 1 to 16384: that answer holds
    /// the whole published topology, about 200 MiB at 10,000 sites, and
    /// edgefed needs up to about 3 times it in memory. Every other script's
    /// answer is bounded at 64 MiB.
    #[arg(long, global = true, env = "EDGEFED_PS_MAX_OBSERVE_MIB", value_name = "MIB",
          default_value_t = crate::limits::DEFAULT_OBSERVE_ANSWER_MIB,
          value_parser = clap::value_parser!(u16).range(1..=i64::from(crate::limits::MAX_OBSERVE_ANSWER_MIB)))]
    pub ps_max_observe_mib: u16,
    /// Bound on each DNS query / update and each port probe: seconds or a
    /// duration (`5s`, `1m`), at most 7 days.
    #[arg(long, global = true, default_value = "5s", value_name = "DURATION")]
    pub network_timeout: String,
    /// The run journal (`reconcile` appends to it, `status` reads it).
    /// Default: `<lab>.journal.ndjson` beside the lab file, or
    /// `.edgefed/journal.ndjson` with the PowerShell backend.
    #[arg(long, global = true, value_name = "PATH")]
    pub journal: Option<PathBuf>,
}

/// A built-in lab scenario (`lab init --scenario`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScenarioName {
    /// The seed's starting point: federation failed over to EdgePool2, EdgePool1 back but stopped.
    XmppFailedOver,
    /// Everything on EdgePool1, all running.
    Healthy,
    /// Everything on EdgePool1, which has just failed (unreachable).
    EdgeDown,
    /// Site1 lost: EdgePool1 and its Front End pools (with the Central Management Server) down.
    SiteDown,
}

/// Where port probes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProbeMode {
    /// Simulated by the lab.
    Lab,
    /// Real probes.
    Real,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Static checks of a desired-state document (V1–V7); no backend contact.
    Validate(DocArgs),
    /// Observe, compare and print the plan.
    Plan(PlanArgs),
    /// Apply the plan (or, with --check, only compare).
    Reconcile(ReconcileArgs),
    /// Print the current state as a desired-state document.
    Observe,
    /// Reconcile continuously: at start, every interval, when the document or
    /// the lab changes, and on SIGHUP; Prometheus metrics and health on HTTP.
    Watch(WatchArgs),
    /// Show the last reconcile from the journal: when, who, which document,
    /// its result, and what was in flight if it died (`--output human|json`).
    Status,
    /// Print a saved plan (`plan --out`) in any plan format; no backend contact.
    Show(ShowArgs),
    /// A unified diff of the observed document (as `observe` prints it) and the
    /// desired one: exit 0 no difference, 2 differences, 1 error.
    Diff(DocArgs),
    /// Print a JSON Schema (draft-07): of the desired-state document, or with
    /// --of of the plan JSON, the apply report or a JSON failure (`--output json|yaml`).
    Schema(SchemaArgs),
    /// The simulated deployment.
    #[command(subcommand)]
    Lab(LabCommand),
    /// Read and edit Lync published topology documents (`Get-CsTopology -AsXml`).
    #[command(subcommand)]
    Topology(TopologyCommand),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(CompletionsArgs),
    /// Print the manual page (roff), e.g. `edgefed man > edgefed.1`, or write
    /// a page per command with --out-dir.
    Man(ManArgs),
}

/// `man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `edgefed.1` and a page per command (`edgefed-lab-fail.1`, …) into
    /// this folder, creating it, instead of printing `edgefed.1`.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `topology …`.
#[derive(Debug, Subcommand)]
pub enum TopologyCommand {
    /// Print what edgefed reads from a published topology (`--output yaml|json`).
    Show {
        /// The document (`Get-CsTopology -AsXml | Out-File topology.xml`).
        file: PathBuf,
    },
    /// Edit a published topology, changing only the bytes the edits need.
    Edit {
        /// The document.
        file: PathBuf,
        /// Turn on "Enable federation for this Edge pool (Port 5061)".
        #[arg(long, value_name = "EDGE_POOL")]
        enable_sip_federation: Vec<String>,
        /// Turn it off.
        #[arg(long, value_name = "EDGE_POOL")]
        disable_sip_federation: Vec<String>,
        /// Associate a Front End pool with an Edge pool for media.
        #[arg(long, value_name = "FE=EDGE")]
        media_edge_pool: Vec<String>,
        /// Set an Edge pool's next-hop pool.
        #[arg(long, value_name = "EDGE=FE")]
        next_hop: Vec<String>,
        /// Write here (atomically) instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// A desired-state document.
#[derive(Debug, Args)]
pub struct DocArgs {
    /// The desired-state document (`-` for stdin).
    #[arg(short = 'f', long = "file", value_name = "DESIRED.yaml")]
    pub file: String,
}

/// `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The document.
    #[command(flatten)]
    pub doc: DocArgs,
    /// Also write the plan JSON to this file (for `reconcile --plan`).
    #[arg(long, value_name = "PLAN.json")]
    pub out: Option<PathBuf>,
    /// Exit 2 when there is something to do, 0 when in sync.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// After each action, say why it waits for each action it follows
    /// (human output).
    #[arg(long)]
    pub explain: bool,
}

/// `reconcile`.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The desired-state document (`-` for stdin).
    #[arg(
        short = 'f',
        long = "file",
        value_name = "DESIRED.yaml",
        required_unless_present = "plan",
        conflicts_with = "plan"
    )]
    pub file: Option<String>,
    /// Apply exactly this saved plan (refused if the deployment changed since).
    #[arg(long, value_name = "PLAN.json")]
    pub plan: Option<PathBuf>,
    /// Only compare: exit 0 in sync, 2 drifted. Never changes anything.
    #[arg(long, conflicts_with = "plan")]
    pub check: bool,
    /// Apply without asking. A reconcile that changes a real system (the
    /// PowerShell backend, or DNS on a server) otherwise asks on a terminal,
    /// and without one refuses.
    #[arg(long, visible_alias = "auto-approve", conflicts_with = "check")]
    pub yes: bool,
    /// For tests only: how long an action runs before the plain progress
    /// lines say it is still running, and how often after (default 30s).
    #[arg(long, value_name = "DURATION", hide = true, value_parser = humantime::parse_duration)]
    pub still_running_every: Option<std::time::Duration>,
}

/// `watch --mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum WatchMode {
    /// Observe and plan only; report drift.
    Monitor,
    /// Also apply (a real system needs --yes).
    Correct,
}

/// `watch --log-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Lines for people.
    Text,
    /// One JSON object per log line.
    Json,
}

/// `watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The desired-state document (a file: it is watched for changes).
    #[arg(short = 'f', long = "file", value_name = "DESIRED.yaml")]
    pub file: String,
    /// `monitor` reports drift; `correct` also applies it.
    #[arg(long, value_enum, default_value = "monitor")]
    pub mode: WatchMode,
    /// How often to reconcile after a success, e.g. `5m`, `90s`, `1h 30m`.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub interval: std::time::Duration,
    /// Random spread of the interval, in percent (10: ±10%).
    #[arg(long, default_value = "10", value_parser = clap::value_parser!(u8).range(0..=50), value_name = "PERCENT")]
    pub jitter: u8,
    /// The first retry delay after a failure; it doubles per consecutive failure.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub retry_min: std::time::Duration,
    /// The longest retry delay.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub retry_max: std::time::Duration,
    /// Where `/metrics`, `/healthz` and `/readyz` listen (port 0: any free port;
    /// the address is printed on stderr at start).
    #[arg(long, default_value = "127.0.0.1:9184", value_name = "ADDR:PORT")]
    pub metrics_addr: std::net::SocketAddr,
    /// A plan with more actions is not applied but reported as blocked until a
    /// person runs `edgefed reconcile`.
    #[arg(long, value_name = "N")]
    pub max_actions: Option<usize>,
    /// Apply to a real system without asking (needed with `--mode correct`
    /// when it changes the Lync deployment or a DNS server; never for the lab).
    #[arg(long, visible_alias = "auto-approve")]
    pub yes: bool,
    /// Log lines on stderr as text or JSON.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// On SIGTERM / SIGINT, how long the actions in flight may take to end
    /// (nothing new is dispatched; a second signal abandons them at once).
    #[arg(long, default_value = "2m", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub stop_timeout: std::time::Duration,
    /// Run as one of several replicas: elect one leader through etcd
    /// (`etcd://HOST:PORT/KEY[?ttl=15s]`); only the leader applies, the others
    /// observe and take over within the lease's TTL when it dies.
    #[arg(long, value_name = "etcd://HOST:PORT/KEY")]
    pub leader_election: Option<String>,
}

/// `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The saved plan.
    #[arg(value_name = "PLAN.json")]
    pub plan: PathBuf,
}

/// `schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which output's schema: the desired-state document, the plan JSON, the
    /// apply report (`reconcile --output json`), or a failure under `--output json`.
    #[arg(long, value_enum, default_value = "document")]
    pub of: SchemaOf,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// What `schema --of` describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SchemaOf {
    /// The desired-state document (`schemas/edgefed.schema.json`).
    Document,
    /// The plan JSON (`schemas/plan.schema.json`).
    Plan,
    /// The apply report (`schemas/report.schema.json`).
    Report,
    /// A failure under `--output json` (`schemas/error.schema.json`).
    Error,
}

/// `lab …`.
#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Create the lab file from a built-in scenario.
    Init {
        /// The scenario.
        #[arg(long, value_enum, default_value = "xmpp-failed-over")]
        scenario: ScenarioName,
        /// Overwrite an existing lab file.
        #[arg(long)]
        force: bool,
        /// Build the lab from a real published topology instead of a scenario
        /// (inventory, flags and addresses; every server reachable and running).
        #[arg(long, value_name = "TOPOLOGY.xml", conflicts_with = "scenario")]
        from_topology: Option<PathBuf>,
        /// Site routes from a `Get-CsSite | ConvertTo-Json` dump (with --from-topology).
        #[arg(long, value_name = "SITES.json", requires = "from_topology")]
        sites_from: Option<PathBuf>,
    },
    /// Print the lab.
    Show,
    /// Take a pool down: its servers stop answering.
    Fail {
        /// The pool (Edge or Front End) FQDN.
        pool: String,
    },
    /// Bring a pool back: its servers answer, services stopped.
    Restore {
        /// The pool (Edge or Front End) FQDN.
        pool: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_env_option_names_a_real_argument() {
        let command = Cli::command();
        for (id, name) in ENV_OPTIONS {
            let arg = command
                .get_arguments()
                .find(|a| a.get_id() == id)
                .unwrap_or_else(|| panic!("no argument {id}"));
            assert_eq!(arg.get_env(), Some(std::ffi::OsStr::new(name)), "{id}");
        }
        let with_env = command.get_arguments().filter(|a| a.get_env().is_some()).count();
        assert_eq!(
            with_env,
            ENV_OPTIONS.len(),
            "an `env =` option is missing from ENV_OPTIONS"
        );
    }

    #[test]
    fn an_empty_variable_is_not_read_and_the_others_still_are() {
        for (empty_id, empty_name) in ENV_OPTIONS {
            let command = Cli::command_with_env(|name| (name == empty_name).then(std::ffi::OsString::new));
            for arg in command.get_arguments() {
                let expected = ENV_OPTIONS
                    .iter()
                    .find(|(id, _)| *id == arg.get_id() && *id != empty_id)
                    .map(|(_, name)| std::ffi::OsStr::new(name));
                assert_eq!(arg.get_env(), expected, "{empty_name}= : {}", arg.get_id());
            }
        }
        let command = Cli::command_with_env(|_| Some("x".into()));
        assert_eq!(
            command.get_arguments().filter(|a| a.get_env().is_some()).count(),
            ENV_OPTIONS.len()
        );
    }
}
