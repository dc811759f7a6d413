//! The cmdlet line of each action (contract §4), with every value quoted.
//!
//! The same text is used by the backend's scripts and by the runbook, so
//! what an administrator reviews is what edgefed runs.

use super::quote::{QuoteError, quote_literal, site_name};
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

/// The helper that waits for CMS replication to reach an Edge server.
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

/// The helpers publish uses.
pub const PUBLISH_HELPERS: &[&str] = &[
    "function Edgefed-Signature { ([xml](Get-CsTopology -AsXml).ToString()).Topology.Signature }",
    "function Edgefed-AssertSignature([string]$e) { $n = Edgefed-Signature; if ($n -ne $e) { throw ('the published topology changed since edgefed observed it (signature ' + $e + ', now ' + $n + '): someone else published; nothing was published. Observe again and re-plan.') } }",
    "function Edgefed-WriteFile([string]$n, [string]$b) { $f = Join-Path ([System.IO.Path]::GetTempPath()) $n; [System.IO.File]::WriteAllBytes($f, [Convert]::FromBase64String($b)); $f }",
];

/// The body of the run-setup step on `computer`: wait for replication, then
/// Bootstrapper.exe ("Run Again") through a remote session.
#[must_use]
pub fn run_setup_body(
    computer: &Fqdn,
    bootstrapper: &str,
    with_credential: bool,
    wait_secs: u64,
    poll_secs: u64,
) -> String {
    let c = q(computer);
    let cred = if with_credential {
        " -Credential (Edgefed-Credential)"
    } else {
        ""
    };
    format!(
        "Edgefed-WaitReplication {c} {wait_secs} {poll_secs}; Invoke-Command -ComputerName {c}{cred} -ScriptBlock {{ & (Join-Path $env:ProgramFiles {}); if ($LASTEXITCODE -ne 0) {{ throw ('Bootstrapper.exe exited with code ' + $LASTEXITCODE) }} }}",
        quote_literal(bootstrapper)
    )
}

/// The body of the publish step.
#[must_use]
pub fn publish_body(expected_signature: &str, file_name: &str, base64: &str) -> String {
    format!(
        "Edgefed-AssertSignature {}; $edgefedFile = Edgefed-WriteFile {} {}; Publish-CsTopology -FileName $edgefedFile -Force; Enable-CsTopology; Remove-Item -LiteralPath $edgefedFile; Edgefed-Signature",
        quote_literal(expected_signature),
        quote_literal(file_name),
        quote_literal(base64)
    )
}
