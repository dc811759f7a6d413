//! A plan as a commented runbook an administrator can review and run by
//! hand in the Management Shell: step for step what the backend does, with
//! the same cmdlet lines (`commands`), every value a quoted literal.

use std::fmt::Write as _;

use super::commands::cmdlet_line;
use super::quote::quote_literal;
use crate::plan::{Action, Operation, System};

/// Writes `text` as comment lines (each line of it prefixed), so no text
/// from a plan can become code.
fn comment(out: &mut String, prefix: &str, text: &str) {
    for line in text.lines() {
        let clean: String = line.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        let _ = writeln!(out, "{prefix}{clean}");
    }
    if text.is_empty() {
        let _ = writeln!(out, "{}", prefix.trim_end());
    }
}

/// The seed-procedure step an action implements.
fn procedure_step(action: &Action) -> &'static str {
    action.operation.kind().step(action.phase)
}

/// The exact change an edit makes to the topology document.
fn edit_description(op: &Operation) -> String {
    match op {
        Operation::DisableSipFederation { edge_pool } => format!(
            "in the <Service> whose <ServiceId RoleName=\"EdgeServer\"> is installed on <Cluster Fqdn=\"{edge_pool}\">, remove\n  <Port Owner=\"urn:component:AccessEdge\" Usage=\"SipServer\" InterfaceSide=\"External\" Port=\"5061\" Protocol=\"Mtls\" .../>\n(keep the Internal SipServer port and the External SipClient port)"
        ),
        Operation::EnableSipFederation { edge_pool } => format!(
            "in the <Service> whose <ServiceId RoleName=\"EdgeServer\"> is installed on <Cluster Fqdn=\"{edge_pool}\">, add\n  <Port Owner=\"urn:component:AccessEdge\" Usage=\"SipServer\" InterfaceSide=\"External\" InterfaceNumber=\"1\" Port=\"5061\" Protocol=\"Mtls\" UrlPath=\"/\" AuthorizesRequests=\"false\" ConfiguredFqdn=\"<the pool's Access Edge external FQDN>\" />\n(in the ServiceRoles.2008 namespace of its <Ports>)"
        ),
        Operation::SetMediaEdgePool {
            front_end_pool,
            edge_pool,
        } => format!(
            "in the Registrar, ConfServices and MediationServer services installed on <Cluster Fqdn=\"{front_end_pool}\">, change the <Dependency> on <ServiceId RoleName=\"EdgeServer\" .../> to the SiteId and Instance of the EdgeServer service installed on <Cluster Fqdn=\"{edge_pool}\">"
        ),
        _ => String::new(),
    }
}

fn dns_comment(out: &mut String, op: &Operation) {
    if let Some(change) = op.dns_change() {
        comment(
            out,
            "#   ",
            &format!(
                "DNS, not run by this runbook: in zone {} (by hand, or by edgefed as an RFC 2136 update when given --dns-server) the {} record set of {} becomes\n  {}",
                change.zone,
                change.desired.record_type(),
                change.desired.name(),
                change.desired.zone_file_lines().join("\n  ")
            ),
        );
    }
}

/// The plan as a runbook for the Lync Server Management Shell.
#[must_use]
#[allow(clippy::too_many_lines)]
pub fn runbook(actions: &[Action]) -> String {
    let mut out = String::new();
    let edits: Vec<&Action> = actions
        .iter()
        .filter(|a| a.operation.system() == System::TopologyEdit)
        .collect();
    let has_setup = actions
        .iter()
        .any(|a| matches!(a.operation, Operation::RunSetup { .. }));
    out.push_str("# edgefed runbook: review it, then run it step by step in the Lync Server Management Shell.\n");
    let _ = writeln!(
        out,
        "# {} action{}, in the plan's order; each step names its action id. DNS changes and port checks",
        actions.len(),
        if actions.len() == 1 { "" } else { "s" }
    );
    out.push_str("# are comments: edgefed makes them through its DNS backend and probe module.\n");
    out.push_str("$ErrorActionPreference = 'Stop'\n");
    if has_setup {
        out.push_str("# The product folder of your Edge servers: 'Microsoft Lync Server 2013', 'Skype for Business Server 2015'\n# or 'Skype for Business Server 2019' (edgefed reads it from Get-CsService -EdgeServer -> Version).\n");
        out.push_str("$EdgefedProduct = 'Skype for Business Server 2015'\n");
        out.push_str("$EdgefedEdgeCredential = Get-Credential -Message 'Administrator of the Edge servers'\n");
    }
    if !edits.is_empty() {
        out.push_str("$EdgefedTopologyFile = Join-Path $env:TEMP 'edgefed-topology.xml'\n");
    }
    let mut exported = false;
    for action in actions {
        out.push_str("\n# ---------------------------------------------------------------------------\n");
        comment(&mut out, "# ", &format!("Action {}: {}", action.id, action.operation));
        comment(&mut out, "#   Why: ", &action.reason);
        comment(&mut out, "#   Procedure: ", procedure_step(action));
        if !action.depends_on.is_empty() {
            let deps: Vec<String> = action.depends_on_ids().map(|d| d.to_string()).collect();
            let _ = writeln!(out, "#   After action(s): {}", deps.join(", "));
        }
        let op = &action.operation;
        match op {
            op if op.system() == System::TopologyEdit => {
                if !exported {
                    exported = true;
                    out.push_str(
                        "# Export the published topology once: a backup, and the copy every edit goes into.\n",
                    );
                    out.push_str("$EdgefedBackupFile = Join-Path $env:TEMP ('edgefed-topology-backup-' + (Get-Date -Format 'yyyyMMdd-HHmmss') + '.xml')\n");
                    out.push_str(
                        "(Get-CsTopology -AsXml).ToString() | Out-File -FilePath $EdgefedBackupFile -Encoding utf8\n",
                    );
                    out.push_str("Copy-Item -LiteralPath $EdgefedBackupFile -Destination $EdgefedTopologyFile\n");
                    out.push_str("$EdgefedSignature = ([xml](Get-Content -LiteralPath $EdgefedTopologyFile -Raw)).Topology.Signature\n");
                }
                let publish = actions
                    .iter()
                    .find(|a| matches!(a.operation, Operation::PublishTopology {}))
                    .map_or_else(|| "publish-topology".to_string(), |a| format!("action {}", a.id));
                comment(
                    &mut out,
                    "#   ",
                    &format!(
                        "Edit $EdgefedTopologyFile (published by {publish}): {}",
                        edit_description(op)
                    ),
                );
            }
            Operation::PublishTopology {} => {
                out.push_str("# Stop if someone else published since the export:\n");
                out.push_str("if ((([xml](Get-CsTopology -AsXml).ToString()).Topology.Signature) -ne $EdgefedSignature) { throw 'The published topology changed since it was exported: stop, observe again and re-plan.' }\n");
                out.push_str("Publish-CsTopology -FileName $EdgefedTopologyFile -Force\n");
                out.push_str("Enable-CsTopology\n");
            }
            Operation::RunSetup { computer, .. } => {
                let c = quote_literal(computer.as_str());
                out.push_str("# Wait until CMS replication reached the server (UpToDate = True):\n");
                let _ = writeln!(
                    out,
                    "while (@(Get-CsManagementStoreReplicationStatus -ReplicaFqdn {c} | Where-Object {{ [string]$_.UpToDate -ne 'True' }}).Count -gt 0) {{ Start-Sleep -Seconds 15 }}"
                );
                let _ = writeln!(
                    out,
                    "Invoke-Command -ComputerName {c} -Credential $EdgefedEdgeCredential -ArgumentList $EdgefedProduct -ScriptBlock {{ param($p) & (Join-Path $env:ProgramFiles (Join-Path $p 'Deployment\\Bootstrapper.exe')); if ($LASTEXITCODE -ne 0) {{ throw ('Bootstrapper.exe exited with code ' + $LASTEXITCODE) }} }}"
                );
            }
            Operation::SetDnsSrv { .. } | Operation::SetDnsA { .. } => dns_comment(&mut out, op),
            Operation::VerifyPort { address, port, .. } => {
                comment(
                    &mut out,
                    "#   ",
                    &format!(
                        "Check, not run here (edgefed's probe module): TCP {address}:{port} answers from outside, e.g.\n  Test-NetConnection -ComputerName '{address}' -Port {port}"
                    ),
                );
            }
            op => match cmdlet_line(op) {
                Ok(Some(line)) => {
                    out.push_str(&line);
                    out.push('\n');
                }
                Ok(None) => out.push_str("#   (no Management Shell command)\n"),
                Err(e) => comment(&mut out, "#   REFUSED: ", &e.to_string()),
            },
        }
    }
    out
}
