//! Which commands and parameters exist: the Lync / Skype for Business
//! cmdlets edgefed may call (with the parameters their reference pages document)
//! and the few Windows PowerShell commands its scripts use. Anything else
//! makes the double fail loudly, as a real shell would.

use super::lexer::Tok;

const COMMON: &[&str] = &[
    "ErrorAction",
    "ErrorVariable",
    "WarningAction",
    "WarningVariable",
    "Verbose",
    "Debug",
    "OutVariable",
    "OutBuffer",
    "InformationAction",
    "InformationVariable",
    "PipelineVariable",
];

/// The Lync cmdlets and their parameters.
const LYNC: &[(&str, &[&str])] = &[
    ("Get-CsTopology", &["AsXml", "LocalStore"]),
    (
        "Publish-CsTopology",
        &[
            "FileName",
            "BackupFileName",
            "Document",
            "GlobalCatalog",
            "GlobalSettingsDomainController",
            "Force",
            "Report",
            "WhatIf",
            "Confirm",
            "FinalizeUninstall",
        ],
    ),
    (
        "Enable-CsTopology",
        &[
            "GlobalCatalog",
            "GlobalSettingsDomainController",
            "SkipPrepareCheck",
            "Report",
            "Force",
            "WhatIf",
            "Confirm",
        ],
    ),
    ("Get-CsSite", &["Identity", "Filter"]),
    (
        "Set-CsSite",
        &[
            "Identity",
            "Description",
            "DisplayName",
            "FederationRoute",
            "WhatIf",
            "Confirm",
            "Force",
            "DefaultPersistentChatPool",
            "XmppFederationRoute",
        ],
    ),
    (
        "Get-CsService",
        &[
            "Identity",
            "Filter",
            "PoolFqdn",
            "EdgeServer",
            "Registrar",
            "Director",
            "ConferencingServer",
            "MediationServer",
            "CentralManagement",
            "CentralManagementDatabase",
            "WebServer",
            "UserServer",
            "FileStore",
        ],
    ),
    (
        "Set-CsEdgeServer",
        &[
            "Identity",
            "AccessEdgeClientSipPort",
            "AccessEdgeExternalSipPort",
            "AccessEdgeInternalSipPort",
            "DataPsomClientPort",
            "DataPsomServerPort",
            "MediaCommunicationPortCount",
            "MediaCommunicationPortStart",
            "MediaRelayAuthEdgePort",
            "MediaRelayExternalTurnTcpPort",
            "MediaRelayExternalTurnUdpPort",
            "MediaRelayInternalTurnTcpPort",
            "MediaRelayInternalTurnUdpPort",
            "Registrar",
            "Force",
            "WhatIf",
            "Confirm",
            "XmppInternalPort",
            "XmppListeningPort",
            "SkypeSearchProxyPort",
        ],
    ),
    ("Get-CsPool", &["Identity", "Filter", "Site"]),
    (
        "Start-CsWindowsService",
        &[
            "Name",
            "ComputerName",
            "InputObject",
            "NoWait",
            "Force",
            "Report",
            "WhatIf",
            "Confirm",
        ],
    ),
    (
        "Stop-CsWindowsService",
        &[
            "Name",
            "ComputerName",
            "InputObject",
            "Graceful",
            "NoWait",
            "Force",
            "Report",
            "WhatIf",
            "Confirm",
            "LeaveClsAgentRunning",
            "LeaveWebServerRunning",
        ],
    ),
    (
        "Get-CsWindowsService",
        &["Name", "ComputerName", "ExcludeActivityLevel", "Report"],
    ),
    (
        "Get-CsManagementStoreReplicationStatus",
        &["ReplicaFqdn", "CentralManagementStoreStatus"],
    ),
    ("Invoke-CsManagementStoreReplication", &["ReplicaFqdn", "Force"]),
    (
        "Invoke-CsPoolFailover",
        &[
            "PoolFqdn",
            "Confirm",
            "DisasterMode",
            "FlushStorageService",
            "Force",
            "WaitTime",
            "WhatIf",
            "DatabaseCommandTimeoutInSeconds",
            "ServicesStopDelayMins",
            "SkipDataVerification",
        ],
    ),
    (
        "Invoke-CsPoolFailBack",
        &[
            "PoolFqdn",
            "Confirm",
            "DisasterMode",
            "Force",
            "WaitTime",
            "WhatIf",
            "DatabaseCommandTimeoutInSeconds",
            "SkipDataVerification",
        ],
    ),
    ("Get-CsPoolBackupRelationship", &["PoolFqdn", "Force", "LocalStore"]),
    (
        "Get-CsSimpleUrlConfiguration",
        &["Identity", "Filter", "Tenant", "LocalStore"],
    ),
    (
        "Set-CsSimpleUrlConfiguration",
        &[
            "Identity",
            "Instance",
            "SimpleUrl",
            "Force",
            "Tenant",
            "WhatIf",
            "Confirm",
        ],
    ),
    (
        "Invoke-CsManagementServerFailover",
        &[
            "BackupSqlServerFqdn",
            "BackupSqlInstanceName",
            "BackupMirrorSqlServerFqdn",
            "BackupMirrorSqlInstanceName",
            "Force",
            "Restore",
            "Report",
            "WhatIf",
            "Confirm",
        ],
    ),
];

/// Windows PowerShell commands edgefed's scripts use (parameters not checked).
const STANDARD: &[&str] = &[
    "ForEach-Object",
    "Where-Object",
    "Get-Date",
    "Start-Sleep",
    "Join-Path",
    "Get-Content",
    "New-Object",
    "ConvertTo-SecureString",
    "ConvertTo-Json",
    "Write-Output",
    "Invoke-Command",
    "Remove-Item",
    "Get-Command",
    "Import-Module",
];

/// Whether a word is in command form (`Verb-Noun`).
fn is_command_word(w: &str) -> bool {
    let mut parts = w.splitn(2, '-');
    let (Some(verb), Some(noun)) = (parts.next(), parts.next()) else {
        return false;
    };
    verb.chars().next().is_some_and(char::is_alphabetic)
        && verb.chars().all(char::is_alphanumeric)
        && !noun.is_empty()
        && noun.chars().all(char::is_alphanumeric)
}

/// Checks every command of a line against the tables. `helpers` are the
/// functions the script defined.
///
/// # Errors
/// The loud message: unknown command or parameter.
pub fn validate(toks: &[Tok], helpers: &[String]) -> Result<(), String> {
    for (i, t) in toks.iter().enumerate() {
        let Tok::Word(w) = t else { continue };
        if !is_command_word(w) {
            continue;
        }
        if let Some((name, params)) = LYNC.iter().find(|(n, _)| n.eq_ignore_ascii_case(w)) {
            let mut depth = 0i32;
            for t in &toks[i + 1..] {
                match t {
                    Tok::Punct('(' | '{' | '[') => depth += 1,
                    Tok::Punct(')' | '}' | ']') => {
                        if depth == 0 {
                            break;
                        }
                        depth -= 1;
                    }
                    Tok::Punct(';' | '|') if depth == 0 => break,
                    Tok::Param(p, _) if depth == 0 => {
                        let known = params.iter().chain(COMMON).any(|k| k.eq_ignore_ascii_case(p));
                        if !known {
                            return Err(format!(
                                "{name} : A parameter cannot be found that matches parameter name '{p}'."
                            ));
                        }
                    }
                    _ => {}
                }
            }
        } else if w.to_ascii_lowercase().contains("-cs") {
            return Err(format!(
                "The term '{w}' is not recognized as the name of a cmdlet, function, script file, or operable program (not a Lync Server cmdlet)."
            ));
        } else if !STANDARD.iter().any(|s| s.eq_ignore_ascii_case(w))
            && !helpers.iter().any(|h| h.eq_ignore_ascii_case(w))
        {
            return Err(format!(
                "The term '{w}' is not recognized as the name of a cmdlet, function, script file, or operable program."
            ));
        }
    }
    Ok(())
}
