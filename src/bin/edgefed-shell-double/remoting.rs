//! PowerShell remoting to the Edge servers, as strict as the perimeter
//! network: a workgroup Edge server refuses direct service control from the
//! domain (`-ComputerName`) and a remote session without an explicit
//! credential; each server can be made to fail the way WinRM fails
//! (refused, access denied, not trusted, name not resolved, timed out),
//! with PowerShell's `FullyQualifiedErrorId` for it; and the service
//! cmdlets run on the Edge servers through one `Invoke-Command` fan-out,
//! recorded with its servers and `-ThrottleLimit`.

use std::collections::HashMap;

use edgefed::model::{Computer, Deployment, Fqdn, ServiceState};
use serde_json::{Map, Value, json};

use super::exec::Ctx;
use super::lexer::{Tok, matching};
use super::state::{EdgeHost, FanOut, Remoting, State};

/// A connection failure: PowerShell's message and error id.
pub struct ConnectError {
    /// `Exception.Message`.
    pub message: String,
    /// `FullyQualifiedErrorId`.
    pub error_id: &'static str,
}

fn connect_error(c: &Fqdn, detail: &str, id: &'static str) -> ConnectError {
    ConnectError {
        message: format!(
            "Connecting to remote server {c} failed with the following error message : {detail} For more information, see the about_Remote_Troubleshooting Help topic."
        ),
        error_id: id,
    }
}

/// The message Windows gives when a workgroup server's services are
/// controlled directly from the domain (`-ComputerName`, no credential).
pub fn direct_access_refused(c: &Fqdn) -> String {
    format!(
        "Cannot open Service Control Manager on computer '{c}'. This operation might require other privileges. Access is denied."
    )
}

/// Whether a direct `-ComputerName` service call to `c` is refused.
pub fn refuses_direct_access(st: &State, c: &Fqdn) -> bool {
    st.is_edge(c) && st.edge_host(c).workgroup
}

/// Which pool each server is in, Edge pools first (as a search of the Edge
/// pools, then the Front End pools, finds it): built once per fan-out, so a
/// fan-out to every Edge server of a 10,000-site estate looks each one up
/// instead of searching every pool for it.
pub struct Servers {
    edge: HashMap<Fqdn, Fqdn>,
    front_end: HashMap<Fqdn, Fqdn>,
}

impl Servers {
    /// The servers of `d`.
    #[must_use]
    pub fn of(d: &Deployment) -> Self {
        let index = |pools: &mut dyn Iterator<Item = (&Fqdn, Vec<&Fqdn>)>| {
            let mut by_server = HashMap::new();
            for (pool, computers) in pools {
                for c in computers {
                    by_server.entry(c.clone()).or_insert_with(|| pool.clone());
                }
            }
            by_server
        };
        Self {
            edge: index(&mut d.edge_pools.iter().map(|(f, p)| (f, p.computers.keys().collect()))),
            front_end: index(&mut d.front_end_pools.iter().map(|(f, p)| (f, p.computers.keys().collect()))),
        }
    }

    /// Whether `c` is a server of an Edge pool.
    #[must_use]
    pub fn is_edge(&self, c: &Fqdn) -> bool {
        self.edge.contains_key(c)
    }

    /// Server `c` of `d`, Edge or Front End.
    #[must_use]
    pub fn computer<'a>(&self, d: &'a Deployment, c: &Fqdn) -> Option<&'a Computer> {
        let edge = self.edge.get(c).and_then(|p| d.edge_pools.get(p)?.computers.get(c));
        edge.or_else(|| {
            self.front_end
                .get(c)
                .and_then(|p| d.front_end_pools.get(p)?.computers.get(c))
        })
    }

    /// Edge server `c` of `d`, to change.
    pub fn edge_computer_mut<'a>(&self, d: &'a mut Deployment, c: &Fqdn) -> Option<&'a mut Computer> {
        self.edge
            .get(c)
            .and_then(|p| d.edge_pools.get_mut(p)?.computers.get_mut(c))
    }
}

/// Opens a remote session to `c` (one of `servers`): `credential` tells
/// whether `-Credential (Edgefed-Credential)` was given.
///
/// # Errors
/// How WinRM refused, as PowerShell reports it.
pub fn connect(st: &State, ctx: &Ctx, servers: &Servers, c: &Fqdn, credential: bool) -> Result<(), ConnectError> {
    let comp = servers.computer(&st.deployment, c);
    let host = if servers.is_edge(c) {
        st.edge_host(c)
    } else {
        EdgeHost {
            workgroup: false,
            ..EdgeHost::default()
        }
    };
    let Some(comp) = comp else {
        return Err(connect_error(
            c,
            "The WinRM client cannot process the request because the server name cannot be resolved.",
            "ComputerNotFound,PSSessionStateBroken",
        ));
    };
    match host.remoting {
        Remoting::NameNotResolved => {
            return Err(connect_error(
                c,
                "The WinRM client cannot process the request because the server name cannot be resolved.",
                "ComputerNotFound,PSSessionStateBroken",
            ));
        }
        Remoting::TimedOut => return Err(timed_out(c)),
        _ if !comp.reachable => return Err(timed_out(c)),
        Remoting::Refused => {
            return Err(connect_error(
                c,
                "The client cannot connect to the destination specified in the request. Verify that the service on the destination is running and is accepting requests. Consult the logs and documentation for the WS-Management service running on the destination, most commonly IIS or WinRM. If the destination is the WinRM service, run the following command on the destination to analyze and configure the WinRM service: \"winrm quickconfig\".",
                "CannotConnect,PSSessionStateBroken",
            ));
        }
        Remoting::NotTrusted => {
            return Err(connect_error(
                c,
                "The WinRM client cannot process the request. If the authentication scheme is different from Kerberos, or if the client computer is not joined to a domain, then HTTPS transport must be used or the destination machine must be added to the TrustedHosts configuration setting. Use winrm.cmd to configure TrustedHosts. Note that computers in the TrustedHosts list might not be authenticated. You can get more information about that by running the following command: winrm help config.",
                "ServerNotTrusted,PSSessionStateBroken",
            ));
        }
        Remoting::AccessDenied | Remoting::Answers => {}
    }
    let denied = || connect_error(c, "Access is denied.", "AccessDenied,PSSessionStateBroken");
    if host.remoting == Remoting::AccessDenied {
        return Err(denied());
    }
    if credential {
        let text = ctx
            .credential_file
            .as_deref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .unwrap_or_default();
        let mut lines = text.lines();
        let (user, secret) = (lines.next(), lines.next());
        if secret.is_none_or(str::is_empty) || st.edge_credential_user.as_deref().is_some_and(|u| Some(u) != user) {
            return Err(denied());
        }
    } else if host.workgroup || st.edge_credential_user.is_some() {
        // The domain identity means nothing to a workgroup server.
        return Err(denied());
    }
    Ok(())
}

fn timed_out(c: &Fqdn) -> ConnectError {
    connect_error(
        c,
        "WinRM cannot complete the operation. Verify that the specified computer name is valid, that the computer is accessible over the network, and that a firewall exception for the WinRM service is enabled and allows access from this computer. By default, the WinRM firewall exception for public profiles limits access to remote computers within the same local subnet.",
        "WinRMOperationTimeout,PSSessionStateBroken",
    )
}

/// The Edge servers `Edgefed-EdgeComputers` lists: those of every pool of
/// the `edgeServices` step.
fn edge_computers(st: &State, results: &Map<String, Value>) -> Vec<String> {
    let pools = results
        .get("edgeServices")
        .and_then(|s| s.get("value"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    pools
        .iter()
        .filter_map(|p| p.get("PoolFqdn").and_then(Value::as_str))
        .filter_map(|p| Fqdn::parse(p).ok())
        .filter_map(|p| st.deployment.edge_pools.get(&p))
        .flat_map(|p| p.computers.keys().map(ToString::to_string))
        .collect()
}

/// Runs a step that is a service fan-out:
/// `$edgefedOut = @(Invoke-Command -ComputerName … [-Credential (Edgefed-Credential)]
/// -ThrottleLimit n -ErrorAction SilentlyContinue -ErrorVariable edgefedErr
/// -ScriptBlock { … X-CsWindowsService … }); Edgefed-PerComputer …` — the
/// entries `Edgefed-PerComputer` would write, one per server.
///
/// # Errors
/// The loud message: a shape the double does not model.
#[allow(clippy::too_many_lines)]
pub fn service_fan_out(st: &mut State, ctx: &Ctx, results: &Map<String, Value>, body: &[Tok]) -> Result<Value, String> {
    let start = body
        .iter()
        .position(|t| matches!(t, Tok::Word(w) if w.eq_ignore_ascii_case("Invoke-Command")))
        .ok_or("no Invoke-Command")?;
    if !body[start..]
        .iter()
        .any(|t| matches!(t, Tok::Word(w) if w == "Edgefed-PerComputer"))
    {
        return Err("a service fan-out must hand its output and errors to Edgefed-PerComputer".into());
    }
    let mut computers: Option<Vec<String>> = None;
    let mut credential = false;
    let mut throttle = None;
    let mut error_action = false;
    let mut error_variable = false;
    let mut cmdlet = None;
    let mut bootstrapper: Option<String> = None;
    let mut i = start + 1;
    while i < body.len() {
        match &body[i] {
            Tok::Punct(')' | ';') => break,
            Tok::Param(p, None) => {
                let p = p.to_ascii_lowercase();
                match p.as_str() {
                    "computername" => match (body.get(i + 1), body.get(i + 2)) {
                        (Some(Tok::Var(v)), _) if v == "edgefedEdges" => {
                            computers = Some(edge_computers(st, results));
                            i += 2;
                        }
                        (Some(Tok::Punct('@')), Some(Tok::Punct('('))) => {
                            let close = matching(body, i + 2).ok_or("unbalanced -ComputerName list")?;
                            let mut list = Vec::new();
                            for t in &body[i + 3..close] {
                                match t {
                                    Tok::Str(s) => list.push(s.clone()),
                                    Tok::Punct(',') => {}
                                    other => return Err(format!("-ComputerName list: unexpected {other:?}")),
                                }
                            }
                            computers = Some(list);
                            i = close + 1;
                        }
                        other => return Err(format!("-ComputerName: unexpected {other:?}")),
                    },
                    "credential" => {
                        let ok = matches!(
                            (body.get(i + 1), body.get(i + 2), body.get(i + 3)),
                            (Some(Tok::Punct('(')), Some(Tok::Word(w)), Some(Tok::Punct(')'))) if w == "Edgefed-Credential"
                        );
                        if !ok || ctx.credential_file.is_none() {
                            return Err("-Credential must be (Edgefed-Credential), with the helper defined".into());
                        }
                        credential = true;
                        i += 4;
                    }
                    "throttlelimit" => {
                        let Some(Tok::Word(n)) = body.get(i + 1) else {
                            return Err("-ThrottleLimit needs a number".into());
                        };
                        throttle = Some(n.parse::<u32>().map_err(|e| format!("-ThrottleLimit {n}: {e}"))?);
                        i += 2;
                    }
                    "erroraction" => {
                        error_action =
                            matches!(body.get(i + 1), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("SilentlyContinue"));
                        i += 2;
                    }
                    "errorvariable" => {
                        error_variable = matches!(body.get(i + 1), Some(Tok::Word(w)) if w == "edgefedErr");
                        i += 2;
                    }
                    "scriptblock" => {
                        if !matches!(body.get(i + 1), Some(Tok::Punct('{'))) {
                            return Err("-ScriptBlock needs { … }".into());
                        }
                        let close = matching(body, i + 1).ok_or("unbalanced -ScriptBlock")?;
                        let words: Vec<&str> = body[i + 2..close]
                            .iter()
                            .filter_map(|t| match t {
                                Tok::Word(w) => Some(w.as_str()),
                                _ => None,
                            })
                            .collect();
                        cmdlet = [
                            "Start-CsWindowsService",
                            "Stop-CsWindowsService",
                            "Get-CsWindowsService",
                        ]
                        .into_iter()
                        .find(|c| words.iter().any(|w| w.eq_ignore_ascii_case(c)));
                        bootstrapper = body[i + 2..close].iter().find_map(|t| match t {
                            Tok::Str(s) if s.ends_with("Bootstrapper.exe") => Some(s.clone()),
                            _ => None,
                        });
                        if bootstrapper.is_some() {
                            cmdlet = cmdlet.or(Some("Bootstrapper.exe"));
                        }
                        i = close + 1;
                    }
                    other => return Err(format!("the double does not model Invoke-Command -{other}")),
                }
            }
            other => return Err(format!("Invoke-Command: unexpected {other:?}")),
        }
    }
    let computers = computers.ok_or("Invoke-Command without -ComputerName")?;
    let cmdlet = cmdlet.ok_or("the fan-out's script block runs no service cmdlet and no Bootstrapper.exe")?;
    let throttle = throttle.ok_or("a fan-out must bound its concurrency with -ThrottleLimit")?;
    if !error_action || !error_variable {
        return Err(
            "a fan-out must collect each server's errors: -ErrorAction SilentlyContinue -ErrorVariable edgefedErr"
                .into(),
        );
    }
    // The remote part runs concurrently, up to the throttle limit, taking
    // the latency model's time per server; its effects follow in order.
    let max_in_flight = super::latency::fan_out(st, cmdlet, computers.len(), throttle as usize)?;
    st.fan_outs.push(FanOut {
        cmdlet: cmdlet.to_string(),
        computers: computers.clone(),
        max_in_flight,
        throttle_limit: throttle,
        credential,
    });
    let mut entries = Vec::new();
    let servers = Servers::of(&st.deployment);
    for name in computers {
        let Ok(c) = Fqdn::parse(&name) else {
            return Err(format!("-ComputerName '{name}' is not an FQDN"));
        };
        if let Err(e) = connect(st, ctx, &servers, &c, credential) {
            entries.push(json!({
                "ComputerName": name,
                "Reachable": false,
                "Services": [],
                "Error": {
                    "Message": e.message,
                    "ErrorId": e.error_id,
                    "Category": "OpenError",
                    "Exception": "System.Management.Automation.Remoting.PSRemotingTransportException",
                    "OnServer": false
                }
            }));
            continue;
        }
        let comp = servers
            .edge_computer_mut(&mut st.deployment, &c)
            .ok_or("a connected server vanished")?;
        let services = match cmdlet {
            "Bootstrapper.exe" => {
                let path = bootstrapper.as_deref().ok_or("no Bootstrapper.exe path")?;
                if let Err(message) = super::exec::run_bootstrapper(st, &c, path)? {
                    entries.push(json!({
                        "ComputerName": name,
                        "Reachable": false,
                        "Services": [],
                        "Error": {
                            "Message": message,
                            "ErrorId": "NativeCommandFailed",
                            "Category": "NotSpecified",
                            "Exception": "System.Management.Automation.RuntimeException",
                            "OnServer": true
                        }
                    }));
                    continue;
                }
                Vec::new()
            }
            "Get-CsWindowsService" => {
                let status = match comp.services {
                    ServiceState::Running => "Running",
                    ServiceState::Stopped => "Stopped",
                };
                ["RTCSRV", "RTCMRAUTH", "RTCMEDIARELAY", "RTCDATAPROXY", "REPLICA"]
                    .iter()
                    .map(|n| json!({ "Name": n, "Status": status }))
                    .collect()
            }
            verb => {
                let start = verb.starts_with("Start");
                comp.services = ServiceState::running_if(start);
                // Services started before the latest CMS update reached the
                // server's replica run with the old configuration (an XMPP
                // route changed inside the bracket, say).
                if start && st.replication_lag.get(&c).copied().unwrap_or(0) > 0 {
                    st.services_started_on_stale_replica.push(c.to_string());
                }
                st.log.push(format!("{verb} {c}"));
                Vec::new()
            }
        };
        entries.push(json!({ "ComputerName": name, "Reachable": true, "Services": services, "Error": null }));
    }
    Ok(json!({ "ok": true, "value": entries, "warnings": [] }))
}
