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
/// the operations that are not (service control through remoting, topology
/// edits, publish, run-setup, DNS, probes).
///
/// # Errors
/// [`QuoteError`] when a site name breaks rule V2.
pub fn cmdlet_line(op: &Operation) -> Result<Option<String>, QuoteError> {
    Ok(Some(match op {
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
        Operation::StartServices { .. }
        | Operation::StopServices { .. }
        | Operation::DisableSipFederation { .. }
        | Operation::EnableSipFederation { .. }
        | Operation::SetMediaEdgePool { .. }
        | Operation::EditEdgeNextHop { .. }
        | Operation::PublishTopology {}
        | Operation::RunSetup { .. }
        | Operation::WaitForReplication { .. }
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
/// `Edgefed-WaitReplication <server> <write time> <seconds> <poll
/// seconds>` returns when every replica status of the server says
/// `UpToDate` AND its `LastUpdateCreation` (when the CMS created the update
/// the replica holds) is not older than the run's last topology write, and
/// throws, naming the replica and what to do, when that takes longer than
/// the given seconds. `UpToDate` alone is not enough: right after a write a
/// replica that has not yet been told of the new update still reports True.
/// Every write makes a new update — the publish, and each later `Set-CsSite`
/// or `Set-CsEdgeServer` — and its time is taken on the server just before
/// it (`Edgefed-Now`, into `$EdgefedWrittenAt`), so the CMS's update time is
/// compared with the same domain clock.
pub const WAIT_REPLICATION_HELPER: &str = "function Edgefed-WaitReplication([string]$c, [datetime]$s, [int]$t, [int]$p) { $d = (Get-Date).AddSeconds($t); while ($true) { $r = @(Get-CsManagementStoreReplicationStatus -ReplicaFqdn $c); $b = @($r | Where-Object { [string]$_.UpToDate -ne 'True' -or [datetime]$_.LastUpdateCreation -lt $s }); if ($r.Count -gt 0 -and $b.Count -eq 0) { return }; if ((Get-Date) -gt $d) { $x = @($b + $r)[0]; throw ('CMS replication did not reach ' + $c + ' within ' + $t + ' s: its replica reports UpToDate ' + [string]$x.UpToDate + ' and LastUpdateCreation ' + [string]$x.LastUpdateCreation + ', older than the topology write at ' + $s.ToString('o') + '. Check the Master Replicator Agent (REPLICA) service on ' + $c + ', run Invoke-CsManagementStoreReplication -ReplicaFqdn ' + $c + ', then reconcile again.') }; Start-Sleep -Seconds $p } }";

/// The helper that gives the server's time in the round-trip format (UTC):
/// the write time the replication wait compares with.
pub const NOW_HELPER: &str = "function Edgefed-Now { (Get-Date).ToUniversalTime().ToString('o') }";

/// The write time to give the replication wait when the run wrote nothing
/// in this session: the earliest time, so only `UpToDate` counts.
pub const NO_WRITE_TIME: &str = "0001-01-01T00:00:00.0000000Z";

/// The helpers that keep the simple URLs across a publish. The reference of
/// `Publish-CsTopology` says that after republishing a topology obtained
/// with `Get-CsTopology`, "you will then need to reconfigure your simple
/// URLs": `Edgefed-SaveSimpleUrls` snapshots every collection
/// (`Get-CsSimpleUrlConfiguration`) before the publish;
/// `Edgefed-RestoreSimpleUrls <snapshot>` sets each one back afterwards
/// (`Set-CsSimpleUrlConfiguration -Identity … -SimpleUrl @{Replace=…}`, the
/// list-modifier form its reference documents), reads them again, and
/// throws saying what differs and what to do unless they equal the
/// snapshot; otherwise it prints what it restored. `Edgefed-SimpleUrlText`
/// is the text both sides of that comparison are made into.
pub const SIMPLE_URL_HELPERS: [&str; 3] = [
    "function Edgefed-SimpleUrlText($all) { @($all | ForEach-Object { [string]$_.Identity + '=' + (@($_.SimpleUrl | ForEach-Object { [string]$_.Component + ' ' + [string]$_.Domain + ' ' + [string]$_.ActiveUrl + ' [' + (@($_.SimpleUrlEntry | ForEach-Object { [string]$_.Url }) -join ' ') + ']' }) -join ', ') }) -join '; ' }",
    "function Edgefed-SaveSimpleUrls { , @(Get-CsSimpleUrlConfiguration) }",
    "function Edgefed-RestoreSimpleUrls($saved) { foreach ($c in $saved) { Set-CsSimpleUrlConfiguration -Identity $c.Identity -SimpleUrl @{Replace=@($c.SimpleUrl)} }; $b = Edgefed-SimpleUrlText $saved; $a = Edgefed-SimpleUrlText @(Get-CsSimpleUrlConfiguration); if ($a -ne $b) { throw ('the topology was published and enabled, but the simple URLs did not come back: before the publish ' + $b + '; now ' + $a + '. Set them again (Set-CsSimpleUrlConfiguration, or Topology Builder > Simple URLs), then run Enable-CsComputer on each Front End server.') }; 'simple URLs restored and verified: ' + $b }",
];

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

/// The body of `publish-topology`: assert the signature, snapshot the
/// simple URLs, take the publish time, publish the document with `-Force`,
/// enable it, remove the published file, restore and verify the simple
/// URLs; its output ends with the simple URL report, the publish time and
/// the new signature.
fn publish_body() -> Body {
    Body::text("Edgefed-AssertSignature ")
        .slot(Slot::Signature)
        .then("; $edgefedFile = ")
        .slot(Slot::TopologyDocument)
        .then("; $EdgefedSimpleUrls = Edgefed-SaveSimpleUrls; $EdgefedWrittenAt = Edgefed-Now; Publish-CsTopology -FileName $edgefedFile -Force; Enable-CsTopology; Remove-Item -LiteralPath $edgefedFile; Edgefed-RestoreSimpleUrls $EdgefedSimpleUrls; $EdgefedWrittenAt; Edgefed-Signature")
}

/// The body of a cmdlet that writes the topology itself (`line`): the
/// time is taken first, as for the publish, and printed last, so the
/// replication waits after it wait for this write.
fn topology_write_body(line: String) -> Body {
    Body::text(format!("$EdgefedWrittenAt = Edgefed-Now; {line}; $EdgefedWrittenAt"))
}

/// The body of `run-setup` on `computer`: [`setup_fan_out`] to that one
/// server.
fn run_setup_body(computer: &Fqdn) -> Body {
    setup_fan_out(std::slice::from_ref(computer))
}

/// The body of one setup fan-out to `computers` (Edge servers of one
/// product): wait (bounded) for CMS replication of the publish to reach
/// each of them, then ONE `Invoke-Command -ComputerName <all> -ThrottleLimit
/// …` runs Bootstrapper.exe ("Run Again") on up to the throttle limit of
/// them at once, collects each server's errors (a non-zero exit code is
/// thrown on the server) and writes one entry per server with
/// `Edgefed-PerComputer` ([`PER_COMPUTER_HELPERS`]): a failure names its
/// server and does not hide the others' success. Windows PowerShell 5.1
/// runs it (no `ForEach-Object -Parallel`).
#[must_use]
pub fn setup_fan_out(computers: &[Fqdn]) -> Body {
    let list = computer_list(computers);
    let mut body = Body::default();
    for c in computers {
        body = body
            .then(format!("Edgefed-WaitReplication {} ", q(c)))
            .slot(Slot::WrittenAt)
            .then(" ")
            .slot(Slot::ReplicationWait)
            .then(" ")
            .slot(Slot::ReplicationPoll)
            .then("; ");
    }
    body.then(format!("$edgefedOut = @(Invoke-Command -ComputerName {list}"))
        .slot(Slot::EdgeCredential)
        .then(" -ThrottleLimit ")
        .slot(Slot::ThrottleLimit)
        .then(" -ErrorAction SilentlyContinue -ErrorVariable edgefedErr -ScriptBlock { & (Join-Path $env:ProgramFiles ")
        .slot(Slot::Bootstrapper)
        .then(format!(
            "); if ($LASTEXITCODE -ne 0) {{ throw ('Bootstrapper.exe exited with code ' + $LASTEXITCODE) }} }}); Edgefed-PerComputer {list} $edgefedOut $edgefedErr"
        ))
}

/// Waits (within the timeout) until CMS replication has reached the server:
/// the same wait as run-setup's, against the time of the run's last
/// topology write if it wrote one (else only `UpToDate` counts).
fn wait_for_replication_body(computer: &Fqdn) -> Body {
    Body::text(format!("Edgefed-WaitReplication {} ", q(computer)))
        .slot(Slot::WrittenAt)
        .then(" ")
        .slot(Slot::ReplicationWait)
        .then(" ")
        .slot(Slot::ReplicationPoll)
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
        Operation::StartServices { computer, .. } => Some(service_fan_out(
            ServiceVerb::Start,
            &computer_list(std::slice::from_ref(computer)),
        )),
        Operation::StopServices { computer, .. } => Some(service_fan_out(
            ServiceVerb::Stop,
            &computer_list(std::slice::from_ref(computer)),
        )),
        Operation::SetEdgeNextHop { .. }
        | Operation::SetSiteFederationRoute { .. }
        | Operation::SetSiteXmppRoute { .. } => cmdlet_line(op)?.map(topology_write_body),
        Operation::InvokePoolFailover { .. }
        | Operation::InvokePoolFailback { .. }
        | Operation::InvokeCmsFailover { .. } => cmdlet_line(op)?.map(Body::text),
        Operation::PublishTopology {} => Some(publish_body()),
        Operation::RunSetup { computer, .. } => Some(run_setup_body(computer)),
        Operation::WaitForReplication { computer, .. } => Some(wait_for_replication_body(computer)),
        Operation::DisableSipFederation { .. }
        | Operation::EnableSipFederation { .. }
        | Operation::SetMediaEdgePool { .. }
        | Operation::EditEdgeNextHop { .. }
        | Operation::SetDnsSrv { .. }
        | Operation::SetDnsA { .. }
        | Operation::VerifyPort { .. } => None,
    })
}

/// What a service fan-out does on each Edge server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceVerb {
    /// `Get-CsWindowsService`: the observation.
    Get,
    /// `Start-CsWindowsService`.
    Start,
    /// `Stop-CsWindowsService`.
    Stop,
}

impl ServiceVerb {
    /// The cmdlet run on each server.
    #[must_use]
    pub fn cmdlet(self) -> &'static str {
        match self {
            Self::Get => "Get-CsWindowsService",
            Self::Start => "Start-CsWindowsService",
            Self::Stop => "Stop-CsWindowsService",
        }
    }

    /// The verb of a service operation, or `None` for the other kinds.
    #[must_use]
    pub fn of(op: &Operation) -> Option<Self> {
        match op {
            Operation::StartServices { .. } => Some(Self::Start),
            Operation::StopServices { .. } => Some(Self::Stop),
            _ => None,
        }
    }
}

/// Loads the Lync / Skype for Business module inside the remote session
/// when the Management Shell's cmdlets are not there already.
const REMOTE_IMPORT: &str = "if (-not (Get-Command Get-CsWindowsService -ErrorAction SilentlyContinue)) { foreach ($m in @('SkypeForBusiness', 'Lync')) { try { Import-Module $m -ErrorAction Stop; break } catch { } } }";

/// The helpers that turn a fan-out's output and error records into one
/// entry per server (see `remoting`): `Edgefed-ErrorComputer` names the
/// server of an error record (the `PSComputerName` of an error raised on
/// it, else the record's target: the computer name a connection failure
/// is about); `Edgefed-PerComputer <servers> <output> <errors>` writes
/// `ComputerName`, `Reachable`, `Services` and `Error` for each server.
pub const PER_COMPUTER_HELPERS: [&str; 2] = [
    "function Edgefed-ErrorComputer($r) { if ($null -ne $r.OriginInfo -and $r.OriginInfo.PSComputerName) { [string]$r.OriginInfo.PSComputerName } elseif ($r.TargetObject -is [string]) { $r.TargetObject } else { [string]$r.CategoryInfo.TargetName } }",
    "function Edgefed-PerComputer([string[]]$c, [object[]]$o, [object[]]$e) { foreach ($x in $c) { $f = @($e | Where-Object { (Edgefed-ErrorComputer $_) -eq $x }); if ($f.Count -gt 0) { [ordered]@{ ComputerName = $x; Reachable = $false; Services = @(); Error = [ordered]@{ Message = [string]$f[0].Exception.Message; ErrorId = [string]$f[0].FullyQualifiedErrorId; Category = [string]$f[0].CategoryInfo.Category; Exception = $f[0].Exception.GetType().FullName; OnServer = ($null -ne $f[0].OriginInfo) } } } else { [ordered]@{ ComputerName = $x; Reachable = $true; Services = @($o | Where-Object { [string]$_.PSComputerName -eq $x } | ForEach-Object { [ordered]@{ Name = [string]$_.Name; Status = [string]$_.Status } }); Error = $null } } } }",
];

/// A list of servers as a PowerShell array expression: `@('a', 'b')`.
#[must_use]
pub fn computer_list(computers: &[Fqdn]) -> String {
    let items: Vec<String> = computers.iter().map(q).collect();
    format!("@({})", items.join(", "))
}

/// The body of one fan-out of `verb` to the Edge servers `computers` (a
/// PowerShell array expression, [`computer_list`] or a variable): ONE
/// `Invoke-Command -ComputerName <all> -Credential … -ThrottleLimit …` that
/// runs the service cmdlet on each server, up to the throttle limit
/// (`--parallelism`) at once, (`Get-`, `Start-` and
/// `Stop-CsWindowsService -ComputerName` take no credential, and Edge
/// servers are usually in a workgroup), collects each server's errors
/// (`-ErrorAction SilentlyContinue -ErrorVariable`) and writes one entry
/// per server with `Edgefed-PerComputer` ([`PER_COMPUTER_HELPERS`]).
///
/// `start-services` and `stop-services` are this body for their one server;
/// the backend sends it once for all the servers of the starts ready
/// together (and once for the stops), and the observation once for every
/// Edge server.
#[must_use]
pub fn service_fan_out(verb: ServiceVerb, computers: &str) -> Body {
    let remote = match verb {
        ServiceVerb::Get => format!(
            "{} -ErrorAction Stop | ForEach-Object {{ [pscustomobject]@{{ Name = [string]$_.Name; Status = [string]$_.Status }} }}",
            verb.cmdlet()
        ),
        ServiceVerb::Start | ServiceVerb::Stop => format!("{} -ErrorAction Stop", verb.cmdlet()),
    };
    Body::text(format!("$edgefedOut = @(Invoke-Command -ComputerName {computers}"))
        .slot(Slot::EdgeCredential)
        .then(" -ThrottleLimit ")
        .slot(Slot::ThrottleLimit)
        .then(format!(
            " -ErrorAction SilentlyContinue -ErrorVariable edgefedErr -ScriptBlock {{ {REMOTE_IMPORT}; {remote} }}); Edgefed-PerComputer {computers} $edgefedOut $edgefedErr"
        ))
}
