//! The PowerShell of each action the Management Shell performs, with every
//! value quoted, and the helper functions those bodies call.
//!
//! [`shell_body`] is the one text of each step: the backend's script sends
//! it (filled with the values it observed and was configured with) and the
//! runbook prints it (filled with the variables set at its top), so what an
//! administrator reviews is what edgefed runs.

use super::body::{Body, Slot};
use super::quote::{QuoteError, ps_value, quote_literal, site_name};
use crate::model::Fqdn;
use crate::plan::Operation;

/// The literal of an FQDN (already validated: letters, digits, `-`, `.`).
fn q(f: &Fqdn) -> String {
    quote_literal(f.as_str())
}

/// A route value: `'EdgeServer:<pool>'` or `$null`.
fn route(pool: Option<&Fqdn>) -> String {
    pool.map_or_else(|| "$null".to_string(), |p| quote_literal(&format!("EdgeServer:{p}")))
}

/// The cmdlet line of an operation that is one cmdlet call, or `None` for
/// the operations that are not (topology edits, publish, run-setup, DNS,
/// probes).
///
/// # Errors
/// [`QuoteError`] when a site name breaks rule V2.
pub fn cmdlet_line(op: &Operation) -> Result<Option<String>, QuoteError> {
    Ok(Some(match op {
        Operation::StartServices { computer, .. } => {
            format!("Start-CsWindowsService -ComputerName {}", q(computer))
        }
        Operation::StopServices { computer, .. } => {
            format!("Stop-CsWindowsService -ComputerName {}", q(computer))
        }
        Operation::SetEdgeNextHop { edge_pool, next_hop } => format!(
            "Set-CsEdgeServer -Identity {} -Registrar {}",
            quote_literal(&format!("EdgeServer:{edge_pool}")),
            quote_literal(&format!("Registrar:{next_hop}"))
        ),
        Operation::SetSiteFederationRoute { site, edge_pool } => format!(
            "Set-CsSite -Identity {} -FederationRoute {}",
            site_name(site)?,
            route(edge_pool.as_ref())
        ),
        Operation::SetSiteXmppRoute { site, edge_pool } => format!(
            "Set-CsSite -Identity {} -XmppFederationRoute {}",
            site_name(site)?,
            route(edge_pool.as_ref())
        ),
        Operation::InvokePoolFailover { front_end_pool } => format!(
            "Invoke-CsPoolFailover -PoolFqdn {} -DisasterMode -Confirm:$false",
            q(front_end_pool)
        ),
        Operation::InvokePoolFailback { front_end_pool } => {
            format!("Invoke-CsPoolFailBack -PoolFqdn {} -Confirm:$false", q(front_end_pool))
        }
        Operation::InvokeCmsFailover {
            sql_server,
            sql_instance,
            ..
        } => {
            let instance = match sql_instance {
                Some(i) => format!(" -BackupSqlInstanceName {}", ps_value("SQL Server instance name", i)?),
                None => String::new(),
            };
            format!(
                "Invoke-CsManagementServerFailover -BackupSqlServerFqdn {}{instance} -Force -Confirm:$false",
                q(sql_server)
            )
        }
        Operation::DisableSipFederation { .. }
        | Operation::EnableSipFederation { .. }
        | Operation::SetMediaEdgePool { .. }
        | Operation::PublishTopology {}
        | Operation::RunSetup { .. }
        | Operation::SetDnsSrv { .. }
        | Operation::SetDnsA { .. }
        | Operation::VerifyPort { .. } => return Ok(None),
    }))
}

/// The expression that exports the published topology document as text.
macro_rules! export_topology {
    () => {
        "(Get-CsTopology -AsXml).ToString()"
    };
}

/// The published topology document as text: the backend's staging step
/// (its backup, whose signature it checks) and the runbook's export.
pub const EXPORT_TOPOLOGY: &str = export_topology!();

/// The helper that waits for CMS replication to reach an Edge server:
/// `Edgefed-WaitReplication <server> <seconds> <poll seconds>` returns when
/// every replica status of the server is `UpToDate`, and throws when that
/// takes longer than the given seconds.
pub const WAIT_REPLICATION_HELPER: &str = "function Edgefed-WaitReplication([string]$c, [int]$t, [int]$p) { $d = (Get-Date).AddSeconds($t); while ($true) { $r = @(Get-CsManagementStoreReplicationStatus -ReplicaFqdn $c); if ($r.Count -gt 0 -and @($r | Where-Object { [string]$_.UpToDate -ne 'True' }).Count -eq 0) { return }; if ((Get-Date) -gt $d) { throw ('CMS replication did not reach ' + $c + ' within ' + $t + ' s (Get-CsManagementStoreReplicationStatus: UpToDate is not True); run Invoke-CsManagementStoreReplication and try again') }; Start-Sleep -Seconds $p } }";

/// The helper that builds the Edge credential from a file the script reads
/// (user name, then secret): the secret never appears in the script.
///
/// # Errors
/// [`QuoteError`] when the path has a control character.
pub fn credential_helper(path: &str) -> Result<String, QuoteError> {
    let path = super::quote::ps_value("credential file path", path)?;
    Ok(format!(
        "function Edgefed-Credential {{ $l = @(Get-Content -LiteralPath {path} -TotalCount 2); if ($l.Count -lt 2) {{ throw 'the Edge credential file must hold the user name and the secret on two lines' }}; New-Object System.Management.Automation.PSCredential ($l[0], (ConvertTo-SecureString -String $l[1] -AsPlainText -Force)) }}"
    ))
}

/// The credential parameter of the backend's remote sessions when it reads
/// an Edge credential file (through [`credential_helper`]).
pub const CREDENTIAL_FROM_FILE: &str = " -Credential (Edgefed-Credential)";

/// The helpers of the signature check: `Edgefed-Signature` prints the
/// published topology's signature; `Edgefed-AssertSignature <signature>`
/// throws unless it is still `<signature>`.
pub const SIGNATURE_HELPERS: [&str; 2] = [
    concat!(
        "function Edgefed-Signature { ([xml]",
        export_topology!(),
        ").Topology.Signature }"
    ),
    "function Edgefed-AssertSignature([string]$e) { $n = Edgefed-Signature; if ($n -ne $e) { throw ('the published topology changed since edgefed observed it (signature ' + $e + ', now ' + $n + '): someone else published; nothing was published. Observe again and re-plan.') } }",
];

/// The helper that writes a document sent in the script (base64) to a
/// temporary file and prints the file's path.
pub const WRITE_FILE_HELPER: &str = "function Edgefed-WriteFile([string]$n, [string]$b) { $f = Join-Path ([System.IO.Path]::GetTempPath()) $n; [System.IO.File]::WriteAllBytes($f, [Convert]::FromBase64String($b)); $f }";

/// The call of [`WRITE_FILE_HELPER`] that writes `base64` to `file_name`:
/// how the backend fills [`Slot::TopologyDocument`].
#[must_use]
pub fn write_file_call(file_name: &str, base64: &str) -> String {
    format!(
        "Edgefed-WriteFile {} {}",
        quote_literal(file_name),
        quote_literal(base64)
    )
}

/// The body of `publish-topology`: assert the signature, publish the
/// document with `-Force`, enable it, remove the published file, print the
/// new signature.
fn publish_body() -> Body {
    Body::text("Edgefed-AssertSignature ")
        .slot(Slot::Signature)
        .then("; $edgefedFile = ")
        .slot(Slot::TopologyDocument)
        .then("; Publish-CsTopology -FileName $edgefedFile -Force; Enable-CsTopology; Remove-Item -LiteralPath $edgefedFile; Edgefed-Signature")
}

/// The body of `run-setup` on `computer`: wait (bounded) for CMS
/// replication to reach it, then Bootstrapper.exe ("Run Again") through a
/// remote session.
fn run_setup_body(computer: &Fqdn) -> Body {
    let c = q(computer);
    Body::text(format!("Edgefed-WaitReplication {c} "))
        .slot(Slot::ReplicationWait)
        .then(" ")
        .slot(Slot::ReplicationPoll)
        .then(format!("; Invoke-Command -ComputerName {c}"))
        .slot(Slot::EdgeCredential)
        .then(" -ScriptBlock { & (Join-Path $env:ProgramFiles ")
        .slot(Slot::Bootstrapper)
        .then("); if ($LASTEXITCODE -ne 0) { throw ('Bootstrapper.exe exited with code ' + $LASTEXITCODE) } }")
}

/// The body the Management Shell runs for `op` — the one text both the
/// backend's script step and the runbook's step are filled from — or `None`
/// for the kinds it does not perform: topology edits (the backend edits the
/// document itself; the runbook has the administrator edit the exported
/// copy), DNS updates and port probes (other systems).
///
/// # Errors
/// [`QuoteError`] when a site name breaks rule V2.
pub fn shell_body(op: &Operation) -> Result<Option<Body>, QuoteError> {
    Ok(match op {
        Operation::StartServices { .. }
        | Operation::StopServices { .. }
        | Operation::SetEdgeNextHop { .. }
        | Operation::SetSiteFederationRoute { .. }
        | Operation::SetSiteXmppRoute { .. }
        | Operation::InvokePoolFailover { .. }
        | Operation::InvokePoolFailback { .. }
        | Operation::InvokeCmsFailover { .. } => cmdlet_line(op)?.map(Body::text),
        Operation::PublishTopology {} => Some(publish_body()),
        Operation::RunSetup { computer, .. } => Some(run_setup_body(computer)),
        Operation::DisableSipFederation { .. }
        | Operation::EnableSipFederation { .. }
        | Operation::SetMediaEdgePool { .. }
        | Operation::SetDnsSrv { .. }
        | Operation::SetDnsA { .. }
        | Operation::VerifyPort { .. } => None,
    })
}
