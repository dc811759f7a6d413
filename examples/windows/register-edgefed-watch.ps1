# Registers `edgefed watch` as a scheduled task that starts at boot and
# restarts on failure. Run in an elevated PowerShell. See README.md beside it.
param(
    [Parameter(Mandatory)] [string] $Edgefed,
    [Parameter(Mandatory)] [string] $Document,
    [Parameter(Mandatory)] [string] $WorkingDirectory,
    [Parameter(Mandatory)] [string] $User,
    [ValidateSet('monitor', 'correct')] [string] $Mode = 'monitor',
    [string] $Interval = '5m',
    [string] $MetricsAddr = '127.0.0.1:9184',
    [string] $TaskName = 'edgefed watch'
)
$ErrorActionPreference = 'Stop'
foreach ($path in @($Edgefed, $Document, $WorkingDirectory)) {
    if (-not (Test-Path -LiteralPath $path)) { throw "not found: $path" }
}
# correct mode changes the deployment with nobody at a terminal: edgefed
# requires --yes for it, so say so here too.
$approve = if ($Mode -eq 'correct') { ' --yes' } else { '' }
$log = Join-Path $WorkingDirectory 'edgefed-watch.ndjson'
$arguments = "--backend powershell --output json watch -f `"$Document`" --mode $Mode$approve " +
    "--interval $Interval --metrics-addr $MetricsAddr --log-format json"
# cmd.exe only redirects the output (events to the log file, logs beside it).
$action = New-ScheduledTaskAction -Execute 'cmd.exe' `
    -Argument "/d /c `"`"$Edgefed`" $arguments >> `"$log`" 2>> `"$log.stderr`"`"" `
    -WorkingDirectory $WorkingDirectory
$trigger = New-ScheduledTaskTrigger -AtStartup
$settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit ([TimeSpan]::Zero) `
    -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) -StartWhenAvailable
$credential = Get-Credential -UserName $User -Message "Password of $User (runs the watcher)"
Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Settings $settings `
    -User $User -Password $credential.GetNetworkCredential().Password -RunLevel Limited | Out-Null
Write-Host "registered '$TaskName'; start it with Start-ScheduledTask -TaskName '$TaskName'"
