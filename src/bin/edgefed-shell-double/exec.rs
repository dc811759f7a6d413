//! Executing one statement of an apply step against the deployment, with
//! Lync's refusals (in its own wording where it has one).

use std::collections::BTreeMap;

use base64::Engine as _;
use edgefed::model::{FailoverState, Fqdn, ServiceState};
use serde_json::{Value, json};

use super::lexer::{Tok, matching};
use super::publish::{new_signature, new_update, publish};
use super::remoting::{Servers, connect, direct_access_refused, refuses_direct_access};
use super::state::State;
use super::{clock, replication, simple_urls};
use edgefed::powershell::Product;

/// Variables and files of one script run.
pub struct Ctx {
    /// `$name = …` values.
    pub vars: BTreeMap<String, String>,
    /// Files written by `Edgefed-WriteFile`.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The path `Edgefed-Credential` reads, if the script defines it.
    pub credential_file: Option<String>,
    /// `$name = …` values that are objects, not text.
    pub objects: BTreeMap<String, Value>,
    /// The definition line of each helper function, by lower-case name.
    pub helpers: BTreeMap<String, Vec<Tok>>,
}

/// An argument value.
#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Str(String),
    Var(String),
    Word(String),
    Group(Vec<Tok>),
    Switch,
}

/// A parsed command: name, named and positional arguments.
struct Command {
    name: String,
    named: Vec<(String, Arg)>,
    positional: Vec<Arg>,
}

impl Command {
    fn get(&self, p: &str) -> Option<&Arg> {
        self.named
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(p))
            .map(|(_, a)| a)
    }

    fn string(&self, p: &str, ctx: &Ctx) -> Result<Option<String>, String> {
        match self.get(p) {
            None => Ok(None),
            Some(Arg::Str(s) | Arg::Word(s)) => Ok(Some(s.clone())),
            Some(Arg::Var(v)) if v.eq_ignore_ascii_case("null") => Ok(None),
            Some(Arg::Var(v)) => ctx
                .vars
                .get(&v.to_ascii_lowercase())
                .cloned()
                .map(Some)
                .ok_or(format!("variable ${v} is not set")),
            Some(a) => Err(format!("{}: -{p} has an unexpected value {a:?}", self.name)),
        }
    }

    fn has(&self, p: &str) -> bool {
        self.get(p).is_some()
    }
}

fn parse_command(toks: &[Tok]) -> Result<Command, String> {
    let Some(Tok::Word(name)) = toks.first() else {
        return Err(format!("not a command: {toks:?}"));
    };
    let mut named = Vec::new();
    let mut positional = Vec::new();
    let mut i = 1;
    let value_at = |i: usize| -> Option<(Arg, usize)> {
        match toks.get(i)? {
            Tok::Str(s) => Some((Arg::Str(s.clone()), i + 1)),
            Tok::Var(v) => Some((Arg::Var(v.clone()), i + 1)),
            Tok::Word(w) => Some((Arg::Word(w.clone()), i + 1)),
            Tok::Punct('(' | '{') => {
                let close = matching(toks, i)?;
                Some((Arg::Group(toks[i + 1..close].to_vec()), close + 1))
            }
            _ => None,
        }
    };
    while i < toks.len() {
        match &toks[i] {
            Tok::Param(p, attached) => {
                if let Some(a) = attached {
                    named.push((p.clone(), Arg::Word(a.clone())));
                    i += 1;
                } else if let Some((arg, next)) = value_at(i + 1) {
                    named.push((p.clone(), arg));
                    i = next;
                } else {
                    named.push((p.clone(), Arg::Switch));
                    i += 1;
                }
            }
            _ => {
                let (arg, next) = value_at(i).ok_or(format!("{name}: unexpected token {:?}", toks[i]))?;
                positional.push(arg);
                i = next;
            }
        }
    }
    Ok(Command {
        name: name.clone(),
        named,
        positional,
    })
}

/// A statement's output and warnings, or what it threw.
pub type Outcome = Result<(Vec<Value>, Vec<String>), String>;

fn take_fault(st: &mut State, cmdlet: &str) -> Result<(), String> {
    if let Some(f) = st
        .faults
        .iter_mut()
        .find(|f| f.cmdlet.eq_ignore_ascii_case(cmdlet) && f.times > 0)
    {
        f.times -= 1;
        return Err(f.message.clone());
    }
    Ok(())
}

fn fqdn(v: &str) -> Result<Fqdn, String> {
    Fqdn::parse(v).map_err(|e| format!("Cannot convert '{v}' to the type 'Fqdn': {e}"))
}

fn identity(v: &str, role: &str) -> Result<Fqdn, String> {
    let rest = v
        .split_once(':')
        .filter(|(r, _)| r.eq_ignore_ascii_case(role))
        .map_or(v, |(_, rest)| rest);
    fqdn(rest)
}

/// Executes one statement.
///
/// # Errors
/// Outer `Err`: the double does not implement the statement (loud). Inner
/// `Err`: the statement threw, with Lync's message.
#[allow(clippy::too_many_lines)]
pub fn exec_statement(st: &mut State, ctx: &mut Ctx, stmt: &[Tok]) -> Result<Outcome, String> {
    // `$var = <command>`
    if let [Tok::Var(v), Tok::Punct('='), rest @ ..] = stmt {
        let out = exec_statement(st, ctx, rest)?;
        return Ok(out.map(|(values, w)| {
            match values.as_slice() {
                [Value::String(s)] => {
                    ctx.vars.insert(v.to_ascii_lowercase(), s.clone());
                }
                [] => {}
                _ => {
                    ctx.objects.insert(v.to_ascii_lowercase(), Value::Array(values));
                }
            }
            (Vec::new(), w)
        }));
    }
    // `$var`: its value is output.
    if let [Tok::Var(v)] = stmt {
        return match ctx.vars.get(&v.to_ascii_lowercase()) {
            Some(s) => Ok(Ok((vec![json!(s)], Vec::new()))),
            None => Err(format!("variable ${v} is not set")),
        };
    }
    let cmd = parse_command(stmt)?;
    let none = || Ok(Ok((Vec::new(), Vec::new())));
    let lower = cmd.name.to_ascii_lowercase();
    if lower.contains("-cs")
        && let Err(m) = take_fault(st, &cmd.name)
    {
        return Ok(Err(m));
    }
    if let Some(m) = refuse_while_central_management_down(st, &lower, &cmd.name) {
        return Ok(Err(m));
    }
    if lower == "edgefed-waitreplication" {
        // `Edgefed-WaitReplication <server> <write time> …`
        let since = match cmd.positional.get(1) {
            Some(Arg::Str(s) | Arg::Word(s)) => clock::parse(s),
            Some(Arg::Var(v)) => ctx.vars.get(&v.to_ascii_lowercase()).and_then(|s| clock::parse(s)),
            _ => None,
        };
        super::latency::until_replicated(st, since)?;
    } else {
        super::latency::sleep(st, &cmd.name)?;
    }
    let d = &mut st.deployment;
    match lower.as_str() {
        "edgefed-assertsignature" => {
            let Some(Arg::Str(expected)) = cmd.positional.first() else {
                return Err("Edgefed-AssertSignature needs a literal".into());
            };
            if *expected != d.signature {
                return Ok(Err(format!(
                    "the published topology changed since edgefed observed it (signature {expected}, now {}): someone else published; nothing was published. Observe again and re-plan.",
                    d.signature
                )));
            }
            none()
        }
        "edgefed-signature" => Ok(Ok((vec![json!(d.signature)], Vec::new()))),
        "edgefed-writefile" => {
            let [Arg::Str(name), Arg::Str(b64)] = cmd.positional.as_slice() else {
                return Err("Edgefed-WriteFile needs two literals".into());
            };
            let bytes = match base64::engine::general_purpose::STANDARD.decode(b64) {
                Ok(b) => b,
                Err(e) => return Ok(Err(format!("Exception calling \"FromBase64String\": {e}"))),
            };
            let path = format!("C:\\Users\\admin\\AppData\\Local\\Temp\\{name}");
            ctx.files.insert(path.clone(), bytes);
            Ok(Ok((vec![json!(path)], Vec::new())))
        }
        "remove-item" => {
            if let Some(p) = cmd.string("LiteralPath", ctx)? {
                ctx.files.remove(&p);
            }
            none()
        }
        "publish-cstopology" => {
            let Some(path) = cmd.string("FileName", ctx)? else {
                return Ok(Err("Publish-CsTopology : Cannot process command because of one or more missing mandatory parameters: FileName.".into()));
            };
            let Some(bytes) = ctx.files.get(&path).cloned() else {
                return Ok(Err(format!("Publish-CsTopology : Could not find file '{path}'.")));
            };
            if !cmd.has("Force") {
                return Err("the double expects Publish-CsTopology -Force".into());
            }
            match publish(st, &bytes) {
                Ok(warnings) => {
                    st.log.push("Publish-CsTopology".into());
                    Ok(Ok((Vec::new(), warnings)))
                }
                Err(m) => Ok(Err(format!("Publish-CsTopology : {m}"))),
            }
        }
        "enable-cstopology" => {
            st.log.push("Enable-CsTopology".into());
            none()
        }
        "start-cswindowsservice" | "stop-cswindowsservice" => {
            let Some(c) = cmd.string("ComputerName", ctx)? else {
                return Err("the double expects -ComputerName".into());
            };
            let c = fqdn(&c)?;
            if refuses_direct_access(st, &c) {
                return Ok(Err(direct_access_refused(&c)));
            }
            let d = &mut st.deployment;
            let start = lower.starts_with("start");
            let comp = d
                .edge_pools
                .values_mut()
                .flat_map(|p| p.computers.iter_mut())
                .chain(d.front_end_pools.values_mut().flat_map(|p| p.computers.iter_mut()))
                .find(|(f, _)| **f == c)
                .map(|(_, comp)| comp);
            let Some(comp) = comp else {
                return Ok(Err(format!("Cannot find computer \"{c}\" in the topology.")));
            };
            if !comp.reachable {
                return Ok(Err(format!(
                    "Cannot open Service Control Manager on computer '{c}'. This operation might require other privileges."
                )));
            }
            comp.services = ServiceState::running_if(start);
            st.log.push(format!("{} {c}", cmd.name));
            none()
        }
        "set-csedgeserver" => {
            let edge = identity(&cmd.string("Identity", ctx)?.unwrap_or_default(), "EdgeServer")?;
            let Some(reg) = cmd.string("Registrar", ctx)? else {
                return Err("the double expects -Registrar".into());
            };
            let fe = identity(&reg, "Registrar")?;
            if !d.front_end_pools.contains_key(&fe) {
                return Ok(Err(format!("Cannot find service \"Registrar:{fe}\" in the topology.")));
            }
            let Some(p) = d.edge_pools.get_mut(&edge) else {
                return Ok(Err(format!(
                    "Cannot find \"EdgeServer:{edge}\" because it does not exist."
                )));
            };
            p.next_hop = Some(fe.clone());
            // The next hop is the Edge service's dependency in the topology
            // document: a topology write, and an update to replicate.
            new_signature(st);
            new_update(st);
            st.log
                .push(format!("Set-CsEdgeServer EdgeServer:{edge} -Registrar Registrar:{fe}"));
            none()
        }
        "set-cssite" => {
            let Some(site) = cmd.string("Identity", ctx)? else {
                return Err("the double expects -Identity".into());
            };
            if site.to_ascii_lowercase().starts_with("site:") {
                return Ok(Err(format!(
                    "Cannot find site \"{site}\": give the site name without \"site:\"."
                )));
            }
            let (param, xmpp) = if cmd.has("XmppFederationRoute") {
                ("XmppFederationRoute", true)
            } else if cmd.has("FederationRoute") {
                ("FederationRoute", false)
            } else {
                return Err("the double expects -FederationRoute or -XmppFederationRoute".into());
            };
            let value = cmd.string(param, ctx)?;
            let target = match &value {
                None => None,
                Some(v) => {
                    if !v.to_ascii_lowercase().starts_with("edgeserver:") {
                        return Ok(Err(format!(
                            "Set-CsSite : \"{v}\" is not a valid service identity (expected EdgeServer:<pool FQDN>)."
                        )));
                    }
                    let pool = identity(v, "EdgeServer")?;
                    let Some(p) = d.edge_pools.get(&pool) else {
                        return Ok(Err(format!(
                            "Set-CsSite : Cannot find service \"{v}\" in the topology (routes name Edge pools, not servers)."
                        )));
                    };
                    if xmpp && !p.xmpp_federation {
                        return Ok(Err(format!(
                            "Set-CsSite : The Edge pool \"{pool}\" is not enabled for XMPP federation."
                        )));
                    }
                    if !xmpp && !p.sip_federation {
                        return Ok(Err(format!(
                            "Set-CsSite : The Edge pool \"{pool}\" is not enabled for federation."
                        )));
                    }
                    Some(pool)
                }
            };
            let ignored = st.site_set_ignored;
            let Some(s) = d.sites.get_mut(&site) else {
                return Ok(Err(format!("Set-CsSite : Cannot find site \"{site}\".")));
            };
            if ignored {
                // The store takes the write (a new update replicates) but
                // the value does not stick.
                new_update(st);
                return none();
            }
            if xmpp {
                s.xmpp_federation_route = target;
            } else {
                s.federation_route = target;
            }
            // Set-CsSite edits the topology's own site object: a topology
            // write, and an update to replicate.
            new_signature(st);
            new_update(st);
            st.log.push(format!(
                "Set-CsSite {site} -{param} {}",
                value.unwrap_or_else(|| "$null".to_string())
            ));
            none()
        }
        "invoke-cspoolfailover" | "invoke-cspoolfailback" => {
            let Some(p) = cmd.string("PoolFqdn", ctx)? else {
                return Err("the double expects -PoolFqdn".into());
            };
            let pool = fqdn(&p)?;
            if cmd.get("Confirm") != Some(&Arg::Word("$false".into())) {
                return Err(format!(
                    "{} would prompt for confirmation: pass -Confirm:$false",
                    cmd.name
                ));
            }
            let failover = lower == "invoke-cspoolfailover";
            if failover && d.edge_pools.values().any(|e| e.next_hop.as_ref() == Some(&pool)) {
                return Ok(Err(format!(
                    "Invoke-CsPoolFailOver : This Front-end pool \"{pool}\" is specified in topology as the next hop for the Edge server. Failing over this pool may cause External access/Federation/Split-domain/XMPP features to stop working. Please use Topology Builder to change the Edge internal next hop setting to point to a different Front-end pool,  before you proceed."
                )));
            }
            let Some(fe) = d.front_end_pools.get_mut(&pool) else {
                return Ok(Err(format!("Cannot find pool \"{pool}\" in the topology.")));
            };
            if failover && fe.backup_pool.is_none() {
                return Ok(Err(format!(
                    "Pool failover can only be invoked if you have assigned a backup pool to the failed pool \"{pool}\"."
                )));
            }
            fe.failed_over = FailoverState::known(failover);
            st.log.push(format!("{} {pool}", cmd.name));
            none()
        }
        "invoke-csmanagementserverfailover" => central_management_failover(st, ctx, &cmd),
        "edgefed-waitreplication" => {
            let Some(def) = ctx.helpers.get("edgefed-waitreplication").cloned() else {
                return Err("Edgefed-WaitReplication is called but not defined".into());
            };
            let mut args = Vec::new();
            for a in &cmd.positional {
                args.push(match a {
                    Arg::Str(s) | Arg::Word(s) => s.clone(),
                    Arg::Var(v) => ctx
                        .vars
                        .get(&v.to_ascii_lowercase())
                        .cloned()
                        .ok_or(format!("variable ${v} is not set"))?,
                    other => return Err(format!("Edgefed-WaitReplication: unexpected argument {other:?}")),
                });
            }
            Ok(replication::wait(st, &def, &args)?.map(|()| (Vec::new(), Vec::new())))
        }
        "edgefed-now" => Ok(Ok((vec![json!(clock::iso(st.clock))], Vec::new()))),
        "edgefed-savesimpleurls" => match simple_urls::get(st, None, None) {
            Ok(v) => Ok(Ok((v, Vec::new()))),
            Err(m) => Ok(Err(m)),
        },
        "edgefed-restoresimpleurls" => {
            let [Arg::Var(v)] = cmd.positional.as_slice() else {
                return Err("Edgefed-RestoreSimpleUrls needs the variable holding the snapshot".into());
            };
            let saved = ctx
                .objects
                .get(&v.to_ascii_lowercase())
                .cloned()
                .unwrap_or(Value::Array(Vec::new()));
            Ok(simple_urls::restore(st, &saved)?.map(|report| (vec![json!(report)], Vec::new())))
        }
        "get-cssimpleurlconfiguration" => {
            let identity = cmd.string("Identity", ctx)?;
            let identity = identity.or(match cmd.positional.first() {
                Some(Arg::Str(s) | Arg::Word(s)) => Some(s.clone()),
                _ => None,
            });
            let filter = cmd.string("Filter", ctx)?;
            Ok(simple_urls::get(st, identity.as_deref(), filter.as_deref()).map(|v| (v, Vec::new())))
        }
        "set-cssimpleurlconfiguration" => {
            if cmd.has("Instance") && cmd.has("Identity") {
                return Ok(Err("Set-CsSimpleUrlConfiguration : Parameter set cannot be resolved using the specified named parameters.".into()));
            }
            let Some(identity) = cmd.string("Identity", ctx)? else {
                return Err("the double implements Set-CsSimpleUrlConfiguration -Identity only".into());
            };
            match cmd.get("SimpleUrl") {
                Some(Arg::Var(v)) if v.eq_ignore_ascii_case("null") => {}
                _ => {
                    return Err(
                        "the double implements Set-CsSimpleUrlConfiguration -SimpleUrl $null only (the backend restores through Edgefed-RestoreSimpleUrls)".into(),
                    );
                }
            }
            Ok(simple_urls::set(st, &identity, Vec::new()).map(|()| (Vec::new(), Vec::new())))
        }
        "invoke-command" => invoke_command(st, ctx, &cmd),
        other => Err(format!("the double does not implement `{other}`")),
    }
}

/// Lync refuses writes to the Central Management store while its server is
/// down: a publish, `Set-CsSite`, `Set-CsEdgeServer`, a pool failover.
fn refuse_while_central_management_down(st: &State, lower: &str, name: &str) -> Option<String> {
    let pool = st.deployment.central_management_down()?;
    matches!(
        lower,
        "publish-cstopology" | "set-cssite" | "set-csedgeserver" | "invoke-cspoolfailover"
    )
    .then(|| {
        format!(
            "{name} : Cannot connect to the Central Management store on pool \"{}\": the Central Management Server is not available (Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus shows no ActiveMasterFqdn). Fail it over to the backup pool with Invoke-CsManagementServerFailover, then try again.",
            pool
        )
    })
}

/// `Invoke-CsManagementServerFailover -BackupSqlServerFqdn … [-BackupSqlInstanceName …] -Force`:
/// only to the backup database the topology defines, run on the backup pool
/// (the double's shell counts as a server of it when one is reachable).
fn central_management_failover(st: &mut State, ctx: &Ctx, cmd: &Command) -> Result<Outcome, String> {
    let Some(server) = cmd.string("BackupSqlServerFqdn", ctx)? else {
        return Err("the double implements only the disaster-recovery form (-BackupSqlServerFqdn … -Force)".into());
    };
    if !cmd.has("Force") {
        return Ok(Err(
            "Invoke-CsManagementServerFailover : Parameter set cannot be resolved using the specified named parameters (-Force is required with -BackupSqlServerFqdn).".into(),
        ));
    }
    if cmd.get("Confirm") != Some(&Arg::Word("$false".into())) {
        return Err("Invoke-CsManagementServerFailover would prompt for confirmation: pass -Confirm:$false".into());
    }
    let server = fqdn(&server)?;
    let instance = cmd.string("BackupSqlInstanceName", ctx)?;
    let d = &mut st.deployment;
    let Some(cms) = d.central_management.as_mut() else {
        return Ok(Err(
            "Invoke-CsManagementServerFailover : Cannot find the Central Management Server in the topology.".into(),
        ));
    };
    let Some(backup) = cms.backup.clone() else {
        return Ok(Err(
            "Invoke-CsManagementServerFailover : The topology defines no backup Central Management database.".into(),
        ));
    };
    if backup.sql_server != server || backup.sql_instance != instance {
        return Ok(Err(format!(
            "Invoke-CsManagementServerFailover : You can only invoke the failover to the database defined in the Topology Builder ({}).",
            backup.sql_server
        )));
    }
    let reachable = d
        .front_end_pools
        .get(&backup.pool)
        .is_some_and(|p| p.computers.values().any(|c| c.reachable));
    if !reachable {
        return Ok(Err(format!(
            "Invoke-CsManagementServerFailover : This cmdlet should be run on a server in the pool to which you want to fail over the Central Management Server ({}), and none of its servers answers.",
            backup.pool
        )));
    }
    cms.pool = backup.pool.clone();
    cms.available = true;
    cms.backup = None;
    st.log.push(format!(
        "Invoke-CsManagementServerFailover -BackupSqlServerFqdn {server}"
    ));
    Ok(Ok((Vec::new(), Vec::new())))
}

fn invoke_command(st: &mut State, ctx: &Ctx, cmd: &Command) -> Result<Outcome, String> {
    let Some(c) = cmd.string("ComputerName", ctx)? else {
        return Err("the double expects Invoke-Command -ComputerName".into());
    };
    let c = fqdn(&c)?;
    let Some(Arg::Group(block)) = cmd.get("ScriptBlock") else {
        return Err("the double expects -ScriptBlock { … }".into());
    };
    let path = block.iter().find_map(|t| match t {
        Tok::Str(s) if s.ends_with("Bootstrapper.exe") => Some(s.clone()),
        _ => None,
    });
    let Some(path) = path else {
        return Err("the double only runs Bootstrapper.exe remotely".into());
    };
    if cmd.has("Credential") && ctx.credential_file.is_none() {
        return Err("-Credential (Edgefed-Credential) without the helper".into());
    }
    if let Err(e) = connect(st, ctx, &Servers::of(&st.deployment), &c, cmd.has("Credential")) {
        return Ok(Err(e.message));
    }
    super::latency::sleep(st, "Bootstrapper.exe")?;
    Ok(run_bootstrapper(st, &c, &path)?.map(|()| (Vec::new(), Vec::new())))
}

/// Bootstrapper.exe at `path` on Edge server `c` (already connected to).
///
/// # Errors
/// Outer: the double's version has no product (loud). Inner: what the
/// remote command throws.
pub fn run_bootstrapper(st: &mut State, c: &Fqdn, path: &str) -> Result<Result<(), String>, String> {
    let product = Product::from_version(st.version).ok_or("the double's version has no product")?;
    let Some((_, pool)) = st
        .deployment
        .edge_pools
        .iter_mut()
        .find(|(_, p)| p.computers.contains_key(c))
    else {
        return Ok(Err(format!(
            "Connecting to remote server {c} failed with the following error message : WinRM cannot complete the operation."
        )));
    };
    let comp = pool.computers.get_mut(c).ok_or("computer vanished")?;
    if !comp.reachable {
        return Ok(Err(format!(
            "Connecting to remote server {c} failed with the following error message : WinRM cannot complete the operation. Verify that the specified computer name is valid, that the computer is accessible over the network."
        )));
    }
    if path != product.bootstrapper() {
        return Ok(Err(format!(
            "The term 'C:\\Program Files\\{path}' is not recognized as the name of a cmdlet, function, script file, or operable program."
        )));
    }
    comp.setup_pending = false;
    if st.replication_lag.get(c).copied().unwrap_or(0) > 0 {
        st.setup_on_stale_replica.push(c.to_string());
    }
    st.log.push(format!("Bootstrapper.exe {c} ({path})"));
    Ok(Ok(()))
}
