//! A plan as a commented runbook an administrator can review and run by
//! hand in the Management Shell: step for step what the backend does. Every
//! Management Shell step is the body the backend sends for that action
//! (`commands::shell_body`), filled with variables the runbook sets at its
//! top ([`runbook_values`]) where the backend fills in what it observed and
//! was configured with; every other value is a quoted literal.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::body::{Slot, Values};
use super::commands::{
    EXPORT_TOPOLOGY, NO_WRITE_TIME, NOW_HELPER, PER_COMPUTER_HELPERS, SIGNATURE_HELPERS, SIMPLE_URL_HELPERS,
    WAIT_REPLICATION_HELPER, shell_body,
};
use super::config::{DEFAULT_PARALLELISM, Timeouts};
use super::quote::quote_literal;
use crate::model::{Deployment, Product};
use crate::plan::{Action, Operation};

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

/// What the runbook fills the step bodies' slots with: the variables its
/// top sets (the backend fills them with literals).
#[must_use]
pub fn runbook_values() -> Values {
    Values::new()
        .with(Slot::Signature, "$EdgefedSignature")
        .with(Slot::TopologyDocument, "$EdgefedTopologyFile")
        .with(Slot::Bootstrapper, "$using:EdgefedBootstrapper")
        .with(Slot::EdgeCredential, " -Credential $EdgefedEdgeCredential")
        .with(Slot::WrittenAt, "$EdgefedWrittenAt")
        .with(Slot::ReplicationWait, "$EdgefedReplicationWait")
        .with(Slot::ReplicationPoll, "$EdgefedReplicationPoll")
        .with(Slot::ThrottleLimit, "$EdgefedThrottleLimit")
}

/// The seed-procedure step an action implements.
fn procedure_step(action: &Action) -> &'static str {
    action.operation.kind().step(action.phase)
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

/// The Management Shell line of `op`: its step body filled with
/// [`runbook_values`].
fn shell_step(out: &mut String, op: &Operation) {
    match shell_body(op) {
        Ok(Some(body)) => match body.fill(&runbook_values()) {
            Ok(line) => {
                out.push_str(&line);
                out.push('\n');
            }
            Err(e) => comment(out, "#   REFUSED: ", &e.to_string()),
        },
        Ok(None) => out.push_str("#   (no Management Shell command)\n"),
        Err(e) => comment(out, "#   REFUSED: ", &e.to_string()),
    }
}

/// The runbook's top: what the administrator sets, and the helpers the
/// step bodies call (the backend's own, defined once).
/// The one product every pool that runs setup in `actions` was observed
/// running, if there is exactly one.
fn setup_product(actions: &[Action], observed: Option<&Deployment>) -> Option<Product> {
    let observed = observed?;
    let products: BTreeSet<Option<Product>> = actions
        .iter()
        .filter_map(|a| {
            let Operation::RunSetup { pool, .. } = &a.operation else {
                return None;
            };
            Some(observed.edge_pools.get(pool).and_then(|p| p.product))
        })
        .collect();
    match products.into_iter().collect::<Vec<_>>().as_slice() {
        [Some(p)] => Some(*p),
        _ => None,
    }
}

fn preamble(out: &mut String, actions: &[Action], observed: Option<&Deployment>) {
    let has = |f: fn(&Operation) -> bool| actions.iter().any(|a| f(&a.operation));
    let has_setup = has(|op| matches!(op, Operation::RunSetup { .. }));
    let has_wait = has_setup || has(|op| matches!(op, Operation::WaitForReplication { .. }));
    let has_services = has(|op| matches!(op, Operation::StartServices { .. } | Operation::StopServices { .. }));
    let has_topology = has(|op| {
        matches!(
            op,
            Operation::DisableSipFederation { .. }
                | Operation::EnableSipFederation { .. }
                | Operation::SetMediaEdgePool { .. }
                | Operation::EditEdgeNextHop { .. }
                | Operation::PublishTopology {}
        )
    });
    out.push_str("# edgefed runbook: review it, then run it step by step in the Lync Server Management Shell.\n");
    let _ = writeln!(
        out,
        "# {} action{}, in the plan's order; each step names its action id. DNS changes and port checks",
        actions.len(),
        if actions.len() == 1 { "" } else { "s" }
    );
    out.push_str(
        "# are comments: edgefed makes them through its DNS backend and probe module. Each Management Shell\n",
    );
    out.push_str(
        "# line is the body edgefed's PowerShell backend sends for that action, with the variables set here.\n",
    );
    out.push_str("$ErrorActionPreference = 'Stop'\n");
    if has_setup || has_services {
        out.push_str("# Edge servers are reached through PowerShell remoting (WinRM) with this credential: a local administrator.\n");
        out.push_str("$EdgefedEdgeCredential = Get-Credential -Message 'Administrator of the Edge servers'\n");
        let _ = writeln!(
            out,
            "# How many Edge servers one Invoke-Command works on at once (edgefed's --parallelism default).\n$EdgefedThrottleLimit = {DEFAULT_PARALLELISM}"
        );
        out.push_str(
            "# Service control and setup run on the Edge servers through Invoke-Command; these write one entry per server.\n",
        );
        for h in PER_COMPUTER_HELPERS {
            out.push_str(h);
            out.push('\n');
        }
    }
    if has_setup {
        match setup_product(actions, observed) {
            Some(product) => {
                let _ = writeln!(
                    out,
                    "# The product folder of the Edge servers setup runs on: {} (observed: Get-CsService -EdgeServer -> Version).",
                    product.name()
                );
                let _ = writeln!(out, "$EdgefedProduct = {}", quote_literal(product.folder()));
            }
            None => {
                out.push_str("# The product folder of your Edge servers under Program Files, the one holding Deployment\\Bootstrapper.exe:\n# 'Microsoft Lync Server 2013', 'Skype for Business Server 2015' or 'Skype for Business Server 2019'. The plan's\n# observation does not name one product for the pools setup runs on (the lab does not observe it), so this\n# runbook asks rather than assume one.\n");
                out.push_str("$EdgefedProduct = Read-Host 'Product folder of the Edge servers under Program Files'\n");
            }
        }
        let _ = writeln!(
            out,
            "$EdgefedBootstrapper = Join-Path $EdgefedProduct {}",
            quote_literal("Deployment\\Bootstrapper.exe")
        );
    }
    if has_wait {
        let t = Timeouts::default();
        out.push_str("# run-setup and wait-for-replication wait at most this many seconds for CMS replication to reach the\n# Edge server, polling at this interval (edgefed's defaults; its backend takes them from --ps-timeout replication-wait / replication-poll).\n");
        let _ = writeln!(out, "$EdgefedReplicationWait = {}", t.replication_wait.as_secs());
        let _ = writeln!(out, "$EdgefedReplicationPoll = {}", t.replication_poll.as_secs().max(1));
        out.push_str(
            "# The wait also needs each replica's LastUpdateCreation to be no older than the last topology write:
# publish-topology and each Set-CsSite / Set-CsEdgeServer set this to the time they started; without a
# topology write in this runbook only UpToDate counts.
",
        );
        let _ = writeln!(out, "$EdgefedWrittenAt = {}", quote_literal(NO_WRITE_TIME));
        out.push_str(WAIT_REPLICATION_HELPER);
        out.push('\n');
    }
    if has_topology {
        out.push_str("$EdgefedTopologyFile = Join-Path $env:TEMP 'edgefed-topology.xml'\n");
        for h in SIGNATURE_HELPERS {
            out.push_str(h);
            out.push('\n');
        }
    }
    if has(|op| matches!(op, Operation::PublishTopology {}) || op.kind().writes_published_topology()) {
        out.push_str(
            "# Each topology write (the publish, Set-CsSite, Set-CsEdgeServer) notes the server's time first.\n",
        );
        out.push_str(NOW_HELPER);
        out.push('\n');
    }
    if has(|op| matches!(op, Operation::PublishTopology {})) {
        out.push_str(
            "# publish-topology keeps the simple URLs: a republished topology loses them, so it saves them first and
# sets them back and compares them afterwards.
",
        );
        for h in SIMPLE_URL_HELPERS {
            out.push_str(h);
            out.push('\n');
        }
    }
}

/// A topology edit: export once (signature, backup, working copy), then
/// the instruction to edit the working copy by hand.
fn topology_edit(out: &mut String, exported: &mut bool, actions: &[Action], change: &str) {
    if !*exported {
        *exported = true;
        out.push_str(
            "# Export the published topology once: its signature first (publish-topology asserts it is unchanged,\n",
        );
        out.push_str("# so a publish by someone else after this line stops the runbook), a backup, and the copy every edit goes into.\n");
        out.push_str("$EdgefedSignature = Edgefed-Signature\n");
        out.push_str("$EdgefedBackupFile = Join-Path $env:TEMP ('edgefed-topology-backup-' + (Get-Date -Format 'yyyyMMdd-HHmmss') + '.xml')\n");
        let _ = writeln!(
            out,
            "{EXPORT_TOPOLOGY} | Out-File -FilePath $EdgefedBackupFile -Encoding utf8"
        );
        out.push_str("Copy-Item -LiteralPath $EdgefedBackupFile -Destination $EdgefedTopologyFile\n");
    }
    let publish = actions
        .iter()
        .find(|a| matches!(a.operation, Operation::PublishTopology {}))
        .map_or_else(|| "publish-topology".to_string(), |a| format!("action {}", a.id));
    comment(
        out,
        "#   ",
        &format!("Edit $EdgefedTopologyFile by hand (published by {publish}): {change}"),
    );
}

/// The plan as a runbook for the Lync Server Management Shell. `observed`
/// is the deployment the plan was made against, when known: it gives the
/// product (and so the Bootstrapper.exe folder) of the pools setup runs on.
#[must_use]
pub fn runbook(actions: &[Action], observed: Option<&Deployment>) -> String {
    let mut out = String::new();
    preamble(&mut out, actions, observed);
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
            Operation::DisableSipFederation { edge_pool } => topology_edit(
                &mut out,
                &mut exported,
                actions,
                &format!(
                    "in the <Service> whose <ServiceId RoleName=\"EdgeServer\"> is installed on <Cluster Fqdn=\"{edge_pool}\">, remove\n  <Port Owner=\"urn:component:AccessEdge\" Usage=\"SipServer\" InterfaceSide=\"External\" Port=\"5061\" Protocol=\"Mtls\" .../>\n(keep the Internal SipServer port and the External SipClient port)"
                ),
            ),
            Operation::EnableSipFederation { edge_pool } => topology_edit(
                &mut out,
                &mut exported,
                actions,
                &format!(
                    "in the <Service> whose <ServiceId RoleName=\"EdgeServer\"> is installed on <Cluster Fqdn=\"{edge_pool}\">, add\n  <Port Owner=\"urn:component:AccessEdge\" Usage=\"SipServer\" InterfaceSide=\"External\" InterfaceNumber=\"1\" Port=\"5061\" Protocol=\"Mtls\" UrlPath=\"/\" AuthorizesRequests=\"false\" ConfiguredFqdn=\"<the pool's Access Edge external FQDN>\" />\n(in the ServiceRoles.2008 namespace of its <Ports>)"
                ),
            ),
            Operation::SetMediaEdgePool {
                front_end_pool,
                edge_pool,
            } => topology_edit(
                &mut out,
                &mut exported,
                actions,
                &format!(
                    "in the Registrar, ConfServices and MediationServer services installed on <Cluster Fqdn=\"{front_end_pool}\">, change the <Dependency> on <ServiceId RoleName=\"EdgeServer\" .../> to the SiteId and Instance of the EdgeServer service installed on <Cluster Fqdn=\"{edge_pool}\">"
                ),
            ),
            Operation::EditEdgeNextHop { edge_pool, next_hop } => topology_edit(
                &mut out,
                &mut exported,
                actions,
                &format!(
                    "in the <Service> whose <ServiceId RoleName=\"EdgeServer\"> is installed on <Cluster Fqdn=\"{edge_pool}\">, change the <Dependency> on <ServiceId RoleName=\"Registrar\" .../> to the SiteId and Instance of the Registrar service installed on <Cluster Fqdn=\"{next_hop}\">"
                ),
            ),
            Operation::WaitForReplication { .. } => {
                out.push_str(
                    "# Wait (at most $EdgefedReplicationWait seconds) until CMS replication reached the server:\n",
                );
                shell_step(&mut out, op);
            }
            Operation::PublishTopology {} => {
                out.push_str("# Publish the edited copy if the published topology is still the exported one (else it stops: observe\n");
                out.push_str("# again and re-plan), enable it, remove the working copy (the backup stays); prints the new signature.\n");
                shell_step(&mut out, op);
            }
            Operation::RunSetup { .. } => {
                out.push_str("# Wait (at most $EdgefedReplicationWait seconds) until CMS replication reached the server, then Run Again:\n");
                shell_step(&mut out, op);
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
            Operation::StartServices { .. }
            | Operation::StopServices { .. }
            | Operation::SetEdgeNextHop { .. }
            | Operation::SetSiteFederationRoute { .. }
            | Operation::SetSiteXmppRoute { .. }
            | Operation::InvokePoolFailover { .. }
            | Operation::InvokePoolFailback { .. } => shell_step(&mut out, op),
            Operation::InvokeCmsFailover { to_pool, .. } => {
                comment(
                    &mut out,
                    "# ",
                    &format!(
                        "Run on a Front End server of {to_pool}: Invoke-CsManagementServerFailover \"should be run on a server in the pool to which you want to failover the CMS\". Afterwards Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus shows ActiveMasterFqdn on {to_pool}."
                    ),
                );
                shell_step(&mut out, op);
            }
        }
    }
    out
}
