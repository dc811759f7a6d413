//! The double's state file: the deployment plus counters, a log of what was
//! changed, every script received, injected faults and simulation knobs.
//! JSON, written atomically.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::sync::OnceLock;

use edgefed::model::{Deployment, Fqdn};
use serde::{Deserialize, Serialize};

/// A fault: the next `times` calls of `cmdlet` throw `message`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// The cmdlet, e.g. `Set-CsSite`.
    pub cmdlet: String,
    /// What it throws.
    pub message: String,
    /// How many calls fail.
    pub times: u32,
}

/// How an Edge server answers PowerShell remoting (WinRM), for tests of
/// each way it can fail.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Remoting {
    /// It answers.
    #[default]
    Answers,
    /// WinRM is not listening: the connection is refused.
    Refused,
    /// The credential is refused.
    AccessDenied,
    /// Its name does not resolve.
    NameNotResolved,
    /// Nothing answers in time.
    TimedOut,
    /// The client does not trust it for a workgroup logon (not in
    /// TrustedHosts, no HTTPS listener).
    NotTrusted,
}

/// An Edge server as the network sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EdgeHost {
    /// In a workgroup (the perimeter network's default): Windows refuses
    /// direct service control from the domain (`-ComputerName`), and
    /// remoting needs an explicit credential.
    pub workgroup: bool,
    /// How it answers remoting.
    pub remoting: Remoting,
}

impl Default for EdgeHost {
    fn default() -> Self {
        Self {
            workgroup: true,
            remoting: Remoting::Answers,
        }
    }
}

/// An update of the Central Management store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Update {
    /// Its `LastUpdateCreation`, on the simulated clock.
    pub creation: i64,
    /// When it was made (Unix milliseconds, real time).
    pub at_ms: u64,
}

/// One `Invoke-Command` fan-out of a service cmdlet, as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FanOut {
    /// The cmdlet run on each server.
    pub cmdlet: String,
    /// The servers, in the order given.
    pub computers: Vec<String>,
    /// The most servers that ran at once (the latency model's worker
    /// threads; meaningful with a latency scale above 0).
    #[serde(default)]
    pub max_in_flight: usize,
    /// `-ThrottleLimit`: how many at once.
    pub throttle_limit: u32,
    /// Whether `-Credential` was given.
    pub credential: bool,
}

fn seven() -> u32 {
    7
}

fn start() -> i64 {
    super::clock::START
}

fn before_start() -> i64 {
    super::clock::START - 3600
}

/// One URL of a simple URL (`New-CsSimpleUrlEntry -Url`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimpleUrlEntry {
    /// The URL.
    pub url: String,
}

/// A simple URL (`New-CsSimpleUrl`): its component (`meet`, `dialin`,
/// `admin`), domain (`*` for dial-in and admin), active URL and entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimpleUrl {
    /// `meet`, `dialin` or `admin`.
    pub component: String,
    /// The SIP domain, or `*`.
    pub domain: String,
    /// The URL in use.
    pub active_url: String,
    /// Every URL of the simple URL.
    pub simple_url_entry: Vec<SimpleUrlEntry>,
}

/// A simple URL configuration collection (`Global` or `site:<name>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimpleUrlConfig {
    /// `Global` or `site:<name>`.
    pub identity: String,
    /// Its simple URLs.
    pub simple_url: Vec<SimpleUrl>,
}

fn url(component: &str, domain: &str, url: &str) -> SimpleUrl {
    SimpleUrl {
        component: component.into(),
        domain: domain.into(),
        active_url: url.into(),
        simple_url_entry: vec![SimpleUrlEntry { url: url.into() }],
    }
}

/// The global collection of a contoso.com deployment.
pub fn contoso_simple_urls() -> Vec<SimpleUrlConfig> {
    vec![SimpleUrlConfig {
        identity: "Global".into(),
        simple_url: vec![
            url("meet", "contoso.com", "https://meet.contoso.com"),
            url("dialin", "*", "https://dialin.contoso.com"),
            url("admin", "*", "https://admin.contoso.com"),
        ],
    }]
}

/// Everything the double keeps between round trips.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct State {
    /// The deployment the cmdlets act on.
    pub deployment: Deployment,
    /// `Version` / `ServiceVersion` of every pool (6, 7 or 8).
    #[serde(default = "seven")]
    pub version: u32,
    /// Scripts received.
    pub round_trips: u64,
    /// Bytes of scripts received.
    pub bytes_in: u64,
    /// Bytes written to stdout.
    pub bytes_out: u64,
    /// Every change made, in order.
    pub log: Vec<String>,
    /// Injected faults.
    pub faults: Vec<Fault>,
    /// After a publish, every Edge replica still reports the previous
    /// update for this many polls (with `UpToDate = True`: it has not been
    /// told of the new one yet).
    pub replication_lag_polls: u32,
    /// Remaining stale polls per Edge server.
    pub replication_lag: BTreeMap<Fqdn, u32>,
    /// When set, remote sessions need this user in the credential file.
    pub edge_credential_user: Option<String>,
    /// No noise on stdout / stderr.
    pub quiet: bool,
    /// The last script received (tests look for secrets in it).
    pub last_script: Option<String>,
    /// Every script received, in order (tests assert the order of cmdlets).
    pub scripts: Vec<String>,
    /// Publishes so far.
    pub publishes: u32,
    /// The simple URL configuration collections. A publish of a document
    /// exported with `Get-CsTopology -AsXml` empties them, as the reference
    /// of `Publish-CsTopology` warns ("you will then need to reconfigure your
    /// simple URLs").
    #[serde(default = "contoso_simple_urls")]
    pub simple_urls: Vec<SimpleUrlConfig>,
    /// `Set-CsSimpleUrlConfiguration` reports success but changes nothing
    /// (a restore that does not stick).
    pub simple_url_set_ignored: bool,
    /// `Set-CsSite` reports success but changes nothing (a route write that
    /// does not stick).
    pub site_set_ignored: bool,
    /// The simulated clock (seconds since 1970, UTC): one second per round
    /// trip, and `Start-Sleep` in a replication wait.
    #[serde(default = "start")]
    pub clock: i64,
    /// When the CMS created its latest update (a publish creates one a
    /// second after it starts).
    #[serde(default = "before_start")]
    pub last_update_creation: i64,
    /// The `LastUpdateCreation` each Edge replica reports while it has not
    /// received the latest update (it still says `UpToDate = True`).
    pub replica_update_creation: BTreeMap<Fqdn, i64>,
    /// Edge servers Bootstrapper.exe ran on while their replica had not yet
    /// received the latest publish.
    pub setup_on_stale_replica: Vec<String>,
    /// Edge servers whose services were started (through a fan-out) while
    /// their replica had not yet received the latest CMS update.
    pub services_started_on_stale_replica: Vec<String>,
    /// Edge servers as the network sees them (absent: [`EdgeHost::default`]).
    pub edge_hosts: BTreeMap<Fqdn, EdgeHost>,
    /// Every service fan-out received, in order.
    pub fan_outs: Vec<FanOut>,
    /// Writes to the topology so far: publishes, `Set-CsSite`,
    /// `Set-CsEdgeServer` (each gives the topology a new signature).
    pub topology_writes: u64,
    /// With an empty deployment: generate an estate of this many sites
    /// (see `estate`) when the state is loaded.
    pub estate_sites: usize,
    /// Every update of the Central Management store (a publish,
    /// `Set-CsSite`, `Set-CsEdgeServer`), oldest first: the latency model's
    /// replication of each is due a fixed time after it was made.
    pub updates: Vec<Update>,
    /// Shells (double processes) running now: edgefed runs independent
    /// round trips side by side.
    pub shells_in_flight: usize,
    /// The most shells that ran at once.
    pub max_shells_in_flight: usize,
    /// Topology writes (`Publish-CsTopology`, `Set-CsSite`,
    /// `Set-CsEdgeServer`) taking their time now, under the latency model.
    pub topology_writes_in_flight: usize,
    /// The most topology writes that were in flight at once: each reads and
    /// writes back the whole topology, so edgefed must never overlap them.
    pub max_topology_writes_in_flight: usize,
}

impl State {
    /// How the network sees Edge server `c`.
    #[must_use]
    pub fn edge_host(&self, c: &Fqdn) -> EdgeHost {
        self.edge_hosts.get(c).copied().unwrap_or_default()
    }

    /// Whether `c` is a server of an Edge pool.
    #[must_use]
    pub fn is_edge(&self, c: &Fqdn) -> bool {
        self.deployment.edge_pools.values().any(|p| p.computers.contains_key(c))
    }
}

/// Loads the state.
///
/// # Errors
/// A message when the file cannot be read or parsed.
pub fn load(path: &str) -> Result<State, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read state {path}: {e}"))?;
    let mut st: State = serde_json::from_str(&text).map_err(|e| format!("state {path} is not valid: {e}"))?;
    if st.estate_sites > 0 && st.deployment.sites.is_empty() && st.deployment.edge_pools.is_empty() {
        st.deployment = super::estate::generate(st.estate_sites)?;
    }
    Ok(st)
}

/// The lock every double process holds on its state while it reads,
/// changes and writes it, so shells that run at once (edgefed sends
/// independent round trips side by side) see each other's changes. It is a
/// file beside the state (`<state>.lock`): the state itself is replaced on
/// every save.
static HELD: OnceLock<(String, File)> = OnceLock::new();

/// Takes the state lock of `path` for the life of the process (waiting for
/// other shells), or until [`pause`] lets it go for a while.
///
/// # Errors
/// A message when the lock file cannot be opened or locked.
pub fn lock(path: &str) -> Result<(), String> {
    let lock_path = format!("{path}.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open the state lock {lock_path}: {e}"))?;
    file.lock().map_err(|e| format!("cannot lock {lock_path}: {e}"))?;
    HELD.set((path.to_string(), file))
        .map_err(|_| "the state lock is taken twice".to_string())
}

/// Runs `wait` (a cmdlet taking its time) with the state saved and the lock
/// let go, so other shells can act meanwhile, then takes the lock again and
/// reloads the state into `st`: what they changed is seen, as a real
/// cmdlet's effect lands on a store others write too. Without the lock
/// (a unit test), just runs `wait`.
///
/// # Errors
/// A message when the state cannot be saved, locked again or reloaded.
pub fn pause(st: &mut State, wait: impl FnOnce()) -> Result<(), String> {
    let Some((path, file)) = HELD.get() else {
        wait();
        return Ok(());
    };
    save(path, st)?;
    file.unlock().map_err(|e| format!("cannot unlock {path}.lock: {e}"))?;
    wait();
    file.lock().map_err(|e| format!("cannot lock {path}.lock: {e}"))?;
    *st = load(path)?;
    Ok(())
}

/// Writes the state atomically (temporary file, then rename). Not synced
/// to disk: a test double's state only has to survive its own processes,
/// and a sync per round trip (and per cmdlet that takes its time) would
/// add its cost to every latency measurement.
///
/// # Errors
/// A message when the file cannot be written.
pub fn save(path: &str, st: &State) -> Result<(), String> {
    let p = Path::new(path);
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let text = serde_json::to_vec_pretty(st).map_err(|e| e.to_string())?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| e.to_string())?;
    std::io::Write::write_all(&mut tmp, &text).map_err(|e| e.to_string())?;
    tmp.persist(p).map_err(|e| e.to_string())?;
    Ok(())
}
