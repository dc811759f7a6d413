# edgefed runbook: review it, then run it step by step in the Lync Server Management Shell.
# 14 actions, in the plan's order; each step names its action id. DNS changes and port checks
# are comments: edgefed makes them through its DNS backend and probe module. Each Management Shell
# line is the body edgefed's PowerShell backend sends for that action, with the variables set here.
$ErrorActionPreference = 'Stop'
# Edge servers are reached through PowerShell remoting (WinRM) with this credential: a local administrator.
$EdgefedEdgeCredential = Get-Credential -Message 'Administrator of the Edge servers'
# How many Edge servers one Invoke-Command works on at once (edgefed's --parallelism default).
$EdgefedThrottleLimit = 8
# Service control and setup run on the Edge servers through Invoke-Command; these write one entry per server.
function Edgefed-ErrorComputer($r) { if ($null -ne $r.OriginInfo -and $r.OriginInfo.PSComputerName) { [string]$r.OriginInfo.PSComputerName } elseif ($r.TargetObject -is [string]) { $r.TargetObject } else { [string]$r.CategoryInfo.TargetName } }
function Edgefed-PerComputer([string[]]$c, [object[]]$o, [object[]]$e) { foreach ($x in $c) { $f = @($e | Where-Object { (Edgefed-ErrorComputer $_) -eq $x }); if ($f.Count -gt 0) { [ordered]@{ ComputerName = $x; Reachable = $false; Services = @(); Error = [ordered]@{ Message = [string]$f[0].Exception.Message; ErrorId = [string]$f[0].FullyQualifiedErrorId; Category = [string]$f[0].CategoryInfo.Category; Exception = $f[0].Exception.GetType().FullName; OnServer = ($null -ne $f[0].OriginInfo) } } } else { [ordered]@{ ComputerName = $x; Reachable = $true; Services = @($o | Where-Object { [string]$_.PSComputerName -eq $x } | ForEach-Object { [ordered]@{ Name = [string]$_.Name; Status = [string]$_.Status } }); Error = $null } } } }
# The product folder of your Edge servers under Program Files, the one holding Deployment\Bootstrapper.exe:
# 'Microsoft Lync Server 2013', 'Skype for Business Server 2015' or 'Skype for Business Server 2019'. The plan's
# observation does not name one product for the pools setup runs on (the lab does not observe it), so this
# runbook asks rather than assume one.
$EdgefedProduct = Read-Host 'Product folder of the Edge servers under Program Files'
$EdgefedBootstrapper = Join-Path $EdgefedProduct 'Deployment\Bootstrapper.exe'
# run-setup and wait-for-replication wait at most this many seconds for CMS replication to reach the
# Edge server, polling at this interval (edgefed's defaults; its backend takes them from --ps-timeout replication-wait / replication-poll).
$EdgefedReplicationWait = 900
$EdgefedReplicationPoll = 15
# The wait also needs each replica's LastUpdateCreation to be no older than the last topology write:
# publish-topology and each Set-CsSite / Set-CsEdgeServer set this to the time they started; without a
# topology write in this runbook only UpToDate counts.
$EdgefedWrittenAt = '0001-01-01T00:00:00.0000000Z'
function Edgefed-WaitReplication([string]$c, [datetime]$s, [int]$t, [int]$p) { $d = (Get-Date).AddSeconds($t); while ($true) { $r = @(Get-CsManagementStoreReplicationStatus -ReplicaFqdn $c); $b = @($r | Where-Object { [string]$_.UpToDate -ne 'True' -or [datetime]$_.LastUpdateCreation -lt $s }); if ($r.Count -gt 0 -and $b.Count -eq 0) { return }; if ((Get-Date) -gt $d) { $x = @($b + $r)[0]; throw ('CMS replication did not reach ' + $c + ' within ' + $t + ' s: its replica reports UpToDate ' + [string]$x.UpToDate + ' and LastUpdateCreation ' + [string]$x.LastUpdateCreation + ', older than the topology write at ' + $s.ToString('o') + '. Check the Master Replicator Agent (REPLICA) service on ' + $c + ', run Invoke-CsManagementStoreReplication -ReplicaFqdn ' + $c + ', then reconcile again.') }; Start-Sleep -Seconds $p } }
$EdgefedTopologyFile = Join-Path $env:TEMP 'edgefed-topology.xml'
function Edgefed-Signature { ([xml](Get-CsTopology -AsXml).ToString()).Topology.Signature }
function Edgefed-AssertSignature([string]$e) { $n = Edgefed-Signature; if ($n -ne $e) { throw ('the published topology changed since edgefed observed it (signature ' + $e + ', now ' + $n + '): someone else published; nothing was published. Observe again and re-plan.') } }
# Each topology write (the publish, Set-CsSite, Set-CsEdgeServer) notes the server's time first.
function Edgefed-Now { (Get-Date).ToUniversalTime().ToString('o') }
# publish-topology keeps the simple URLs: a republished topology loses them, so it saves them first and
# sets them back and compares them afterwards.
function Edgefed-SimpleUrlText($all) { @($all | ForEach-Object { [string]$_.Identity + '=' + (@($_.SimpleUrl | ForEach-Object { [string]$_.Component + ' ' + [string]$_.Domain + ' ' + [string]$_.ActiveUrl + ' [' + (@($_.SimpleUrlEntry | ForEach-Object { [string]$_.Url }) -join ' ') + ']' }) -join ', ') }) -join '; ' }
function Edgefed-SaveSimpleUrls { , @(Get-CsSimpleUrlConfiguration) }
function Edgefed-RestoreSimpleUrls($saved) { foreach ($c in $saved) { Set-CsSimpleUrlConfiguration -Identity $c.Identity -SimpleUrl @{Replace=@($c.SimpleUrl)} }; $b = Edgefed-SimpleUrlText $saved; $a = Edgefed-SimpleUrlText @(Get-CsSimpleUrlConfiguration); if ($a -ne $b) { throw ('the topology was published and enabled, but the simple URLs did not come back: before the publish ' + $b + '; now ' + $a + '. Set them again (Set-CsSimpleUrlConfiguration, or Topology Builder > Simple URLs), then run Enable-CsComputer on each Front End server.') }; 'simple URLs restored and verified: ' + $b }

# ---------------------------------------------------------------------------
# Action 1: start-services edgeserver1.contoso.com (pool edgepool1.contoso.com)
#   Why: edgepool1.contoso.com must run: it becomes the federation route (failback step 1)
#   Procedure: Failback step 1: on the Edge pool that is available again, start the Edge services
$edgefedOut = @(Invoke-Command -ComputerName @('edgeserver1.contoso.com') -Credential $EdgefedEdgeCredential -ThrottleLimit $EdgefedThrottleLimit -ErrorAction SilentlyContinue -ErrorVariable edgefedErr -ScriptBlock { if (-not (Get-Command Get-CsWindowsService -ErrorAction SilentlyContinue)) { foreach ($m in @('SkypeForBusiness', 'Lync')) { try { Import-Module $m -ErrorAction Stop; break } catch { } } }; Start-CsWindowsService -ErrorAction Stop }); Edgefed-PerComputer @('edgeserver1.contoso.com') $edgefedOut $edgefedErr

# ---------------------------------------------------------------------------
# Action 2: disable-sip-federation edgepool2.contoso.com
#   Why: no site routes SIP federation to edgepool2.contoso.com any more
#   Procedure: SIP failover steps 1-2 / failback step 2: clear 'Enable federation for this Edge pool (Port 5061)' on the pool currently configured for federation
#   After action(s): 1
# Export the published topology once: its signature first (publish-topology asserts it is unchanged,
# so a publish by someone else after this line stops the runbook), a backup, and the copy every edit goes into.
$EdgefedSignature = Edgefed-Signature
$EdgefedBackupFile = Join-Path $env:TEMP ('edgefed-topology-backup-' + (Get-Date -Format 'yyyyMMdd-HHmmss') + '.xml')
(Get-CsTopology -AsXml).ToString() | Out-File -FilePath $EdgefedBackupFile -Encoding utf8
Copy-Item -LiteralPath $EdgefedBackupFile -Destination $EdgefedTopologyFile
#   Edit $EdgefedTopologyFile by hand (published by action 5): in the <Service> whose <ServiceId RoleName="EdgeServer"> is installed on <Cluster Fqdn="edgepool2.contoso.com">, remove
#     <Port Owner="urn:component:AccessEdge" Usage="SipServer" InterfaceSide="External" Port="5061" Protocol="Mtls" .../>
#   (keep the Internal SipServer port and the External SipClient port)

# ---------------------------------------------------------------------------
# Action 3: enable-sip-federation edgepool1.contoso.com
#   Why: Site1 and Site2 route SIP federation to edgepool1.contoso.com
#   Procedure: SIP failover steps 3-4 / failback step 2: select 'Enable federation for this Edge pool (Port 5061)' on the pool that is to carry federation
#   After action(s): 1
#   Edit $EdgefedTopologyFile by hand (published by action 5): in the <Service> whose <ServiceId RoleName="EdgeServer"> is installed on <Cluster Fqdn="edgepool1.contoso.com">, add
#     <Port Owner="urn:component:AccessEdge" Usage="SipServer" InterfaceSide="External" InterfaceNumber="1" Port="5061" Protocol="Mtls" UrlPath="/" AuthorizesRequests="false" ConfiguredFqdn="<the pool's Access Edge external FQDN>" />
#   (in the ServiceRoles.2008 namespace of its <Ports>)

# ---------------------------------------------------------------------------
# Action 4: set-media-edge-pool fepool1.contoso.com → edgepool1.contoso.com
#   Why: fepool1.contoso.com goes back to the Edge pool of its site (failback step 4)
#   Procedure: SIP failover, closing note / failback step 4: 'Associate Edge pool (for media components)' of the Front End pool names the Edge pool it is to use; published, which 'Changing the Edge pool associated with a Front End pool' forgets
#   After action(s): 1
#   Edit $EdgefedTopologyFile by hand (published by action 5): in the Registrar, ConfServices and MediationServer services installed on <Cluster Fqdn="fepool1.contoso.com">, change the <Dependency> on <ServiceId RoleName="EdgeServer" .../> to the SiteId and Instance of the EdgeServer service installed on <Cluster Fqdn="edgepool1.contoso.com">

# ---------------------------------------------------------------------------
# Action 5: publish-topology
#   Why: publish the topology edits in one document
#   Procedure: SIP failover step 5 / failback step 2: publish the topology (one document with every edit, disable before enable)
#   After action(s): 2, 3, 4
# Publish the edited copy if the published topology is still the exported one (else it stops: observe
# again and re-plan), enable it, remove the working copy (the backup stays); prints the new signature.
Edgefed-AssertSignature $EdgefedSignature; $edgefedFile = $EdgefedTopologyFile; $EdgefedSimpleUrls = Edgefed-SaveSimpleUrls; $EdgefedWrittenAt = Edgefed-Now; Publish-CsTopology -FileName $edgefedFile -Force; Enable-CsTopology; Remove-Item -LiteralPath $edgefedFile; Edgefed-RestoreSimpleUrls $EdgefedSimpleUrls; $EdgefedWrittenAt; Edgefed-Signature

# ---------------------------------------------------------------------------
# Action 6: run-setup edgeserver1.contoso.com (pool edgepool1.contoso.com)
#   Why: edgepool1.contoso.com gained the federation role
#   Procedure: SIP failover steps 6-7 / failback step 2: on the Edge server, Deployment Wizard 'Setup or Remove Lync Server Components' > Run Again
#   After action(s): 5
# Wait (at most $EdgefedReplicationWait seconds) until CMS replication reached the server, then Run Again:
Edgefed-WaitReplication 'edgeserver1.contoso.com' $EdgefedWrittenAt $EdgefedReplicationWait $EdgefedReplicationPoll; $edgefedOut = @(Invoke-Command -ComputerName @('edgeserver1.contoso.com') -Credential $EdgefedEdgeCredential -ThrottleLimit $EdgefedThrottleLimit -ErrorAction SilentlyContinue -ErrorVariable edgefedErr -ScriptBlock { & (Join-Path $env:ProgramFiles $using:EdgefedBootstrapper); if ($LASTEXITCODE -ne 0) { throw ('Bootstrapper.exe exited with code ' + $LASTEXITCODE) } }); Edgefed-PerComputer @('edgeserver1.contoso.com') $edgefedOut $edgefedErr

# ---------------------------------------------------------------------------
# Action 7: set-site-federation-route Site1 → edgepool1.contoso.com
#   Why: /sites/Site1/federationRoute
#   Procedure: Site federation route (the procedures assume one site): the site's SIP federation route names the pool that carries federation (an Edge pool FQDN, not a server)
#   After action(s): 5, 6
$EdgefedWrittenAt = Edgefed-Now; Set-CsSite -Identity 'Site1' -FederationRoute 'EdgeServer:edgepool1.contoso.com'; $EdgefedWrittenAt

# ---------------------------------------------------------------------------
# Action 8: set-site-federation-route Site2 → edgepool1.contoso.com
#   Why: /sites/Site2/federationRoute
#   Procedure: Site federation route (the procedures assume one site): the site's SIP federation route names the pool that carries federation (an Edge pool FQDN, not a server)
#   After action(s): 5, 6
$EdgefedWrittenAt = Edgefed-Now; Set-CsSite -Identity 'Site2' -FederationRoute 'EdgeServer:edgepool1.contoso.com'; $EdgefedWrittenAt

# ---------------------------------------------------------------------------
# Action 9: set-site-xmpp-route Site1 → edgepool1.contoso.com
#   Why: /sites/Site1/xmppFederationRoute
#   Procedure: XMPP failover step 3 / failback step 3: Set-CsSite -XmppFederationRoute (the procedures' -XmppExternalFederationRoute does not exist; the value is the pool, not a server)
#   After action(s): 1, 5
$EdgefedWrittenAt = Edgefed-Now; Set-CsSite -Identity 'Site1' -XmppFederationRoute 'EdgeServer:edgepool1.contoso.com'; $EdgefedWrittenAt

# ---------------------------------------------------------------------------
# Action 10: set-site-xmpp-route Site2 → edgepool1.contoso.com
#   Why: /sites/Site2/xmppFederationRoute
#   Procedure: XMPP failover step 3 / failback step 3: Set-CsSite -XmppFederationRoute (the procedures' -XmppExternalFederationRoute does not exist; the value is the pool, not a server)
#   After action(s): 1, 5
$EdgefedWrittenAt = Edgefed-Now; Set-CsSite -Identity 'Site2' -XmppFederationRoute 'EdgeServer:edgepool1.contoso.com'; $EdgefedWrittenAt

# ---------------------------------------------------------------------------
# Action 11: set-dns-srv _xmpp-server._tcp.contoso.com → xmpp.contoso.com:5269
#   Why: /dns/_xmpp-server._tcp.contoso.com/SRV
#   Procedure: XMPP failover step 5 / failback step 3: the SRV record resolves to the Edge pool that carries the federation
#   After action(s): 9, 10
#   DNS, not run by this runbook: in zone contoso.com (by hand, or by edgefed as an RFC 2136 update when given --dns-server) the SRV record set of _xmpp-server._tcp.contoso.com becomes
#     _xmpp-server._tcp.contoso.com. 300 IN SRV 0 100 5269 xmpp.contoso.com.

# ---------------------------------------------------------------------------
# Action 12: set-dns-a xmpp.contoso.com → 203.0.113.10
#   Why: /dns/xmpp.contoso.com/A: the restored pool's external address
#   Procedure: XMPP failover step 4 / failback step 3: the A record points at the pool the route names (in the failback, not EdgeServer2: a copy error in the procedure)
#   After action(s): 9, 10
#   DNS, not run by this runbook: in zone contoso.com (by hand, or by edgefed as an RFC 2136 update when given --dns-server) the A record set of xmpp.contoso.com becomes
#     xmpp.contoso.com. 300 IN A 203.0.113.10

# ---------------------------------------------------------------------------
# Action 13: verify-port 203.0.113.10:5269 (pool edgepool1.contoso.com)
#   Why: the XMPP route moved: verify 5269
#   Procedure: XMPP failover step 6 / failback step 3: verify the pool that now hosts the federation has the port open externally
#   After action(s): 11, 12
#   Check, not run here (edgefed's probe module): TCP 203.0.113.10:5269 answers from outside, e.g.
#     Test-NetConnection -ComputerName '203.0.113.10' -Port 5269

# ---------------------------------------------------------------------------
# Action 14: invoke-pool-failback fepool3.contoso.com
#   Why: fepool3.contoso.com failed with the site (failback step 5)
#   Procedure: Failback step 5: the Front End pool that failed too is failed back
#   After action(s): 7, 8, 13
Invoke-CsPoolFailBack -PoolFqdn 'fepool3.contoso.com' -Confirm:$false
