//! What PowerShell remoting says about each Edge server of a fan-out, and
//! why a server it could not reach is unreachable.
//!
//! Edge servers normally sit in a workgroup in the perimeter network, and
//! `Get-`, `Start-` and `Stop-CsWindowsService -ComputerName` take no
//! credential, so edgefed reaches them through one `Invoke-Command
//! -ComputerName <all of them> -Credential …` per observation or wave (see
//! `commands::service_fan_out`). The script's `Edgefed-PerComputer` helper
//! turns its output and its error records into one entry per server:
//! `ComputerName`, `Reachable`, `Services` (`Name`, `Status`) and `Error`
//! (`Message`, `ErrorId` = the error record's `FullyQualifiedErrorId`,
//! `Category`, `Exception` = the exception's type name, `OnServer` = the
//! error came from the command on the server rather than from the
//! connection).
//!
//! A connection failure is a `PSRemotingTransportException` whose
//! `FullyQualifiedErrorId` is `<transport error>,PSSessionStateBroken`.
//! PowerShell derives the first part from the WinRM error code with a fixed
//! table (`WSManTransportManagerUtils` in PowerShell's remoting client):
//! `AccessDenied`, `LogonFailure`, `AuthenticationFailed`, `ComputerNotFound`,
//! `NetworkPathNotFound`, `WinRMOperationTimeout`, `CannotConnect`,
//! `ServerNotTrusted`, … — [`UnreachableReason::classify`] reads that part.
//! An id it does not know is reported as it is, with the message: edgefed
//! does not guess.

use serde_json::Value;

use super::records::fqdn_of;
use crate::backend::BackendError;
use crate::model::Fqdn;

/// Why PowerShell remoting could not reach a server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnreachableReason {
    /// The server answered and refused the connection: WinRM is not
    /// listening (stopped, no listener) or a firewall rejects 5985 / 5986
    /// (`CannotConnect`, `CannotConnectWinRMService`, `URLNotAvailable`).
    WinRmRefused,
    /// The credential was refused (`AccessDenied`, `LogonFailure`,
    /// `AuthenticationFailed`, `InvalidAuthentication`).
    AccessDenied,
    /// The client will not authenticate to a workgroup server it does not
    /// trust (`ServerNotTrusted`, `WorkgroupCannotUseKerberos`,
    /// `ExplicitCredentialsRequired`, `CannotUseIPAddress`).
    NotTrusted,
    /// The server's name does not resolve (`ComputerNotFound`,
    /// `NetworkPathNotFound`, `TargetUnknown`).
    NameNotResolved,
    /// Nothing answered in time (`WinRMOperationTimeout`): packets dropped
    /// by a firewall, or the server is down.
    TimedOut,
    /// Connected, but the command failed on the server.
    FailedOnServer,
    /// A remoting failure edgefed has no class for: the id as PowerShell
    /// gave it.
    Other(String),
}

impl UnreachableReason {
    /// The reason for an error record of a fan-out.
    #[must_use]
    pub fn classify(error_id: &str, on_server: bool) -> Self {
        if on_server {
            return Self::FailedOnServer;
        }
        let transport = error_id.split(',').next().unwrap_or_default().trim();
        match transport {
            "CannotConnect" | "CannotConnectWinRMService" | "URLNotAvailable" => Self::WinRmRefused,
            "AccessDenied" | "LogonFailure" | "AuthenticationFailed" | "InvalidAuthentication" => Self::AccessDenied,
            "ServerNotTrusted"
            | "WorkgroupCannotUseKerberos"
            | "ExplicitCredentialsRequired"
            | "CannotUseIPAddress" => Self::NotTrusted,
            "ComputerNotFound" | "NetworkPathNotFound" | "TargetUnknown" => Self::NameNotResolved,
            "WinRMOperationTimeout" => Self::TimedOut,
            _ => Self::Other(error_id.to_string()),
        }
    }

    /// What the reason means, in a few words.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::WinRmRefused => "WinRM refused the connection".into(),
            Self::AccessDenied => "access denied (the credential was refused)".into(),
            Self::NotTrusted => "the server is not trusted for a workgroup logon".into(),
            Self::NameNotResolved => "its name does not resolve".into(),
            Self::TimedOut => "the connection timed out".into(),
            Self::FailedOnServer => "the command failed on the server".into(),
            Self::Other(id) => format!("PowerShell remoting failed ({id})"),
        }
    }

    /// What to do about it.
    #[must_use]
    pub fn advice(&self) -> &'static str {
        match self {
            Self::WinRmRefused => {
                "check that WinRM runs on the Edge server (`winrm quickconfig`) and that the internal firewall lets TCP 5985 (HTTP) or 5986 (HTTPS) through from the Front End"
            }
            Self::AccessDenied => {
                "check the user and password in the file EDGEFED_EDGE_CREDENTIAL_FILE names: a local administrator of the Edge server"
            }
            Self::NotTrusted => {
                "add the Edge server to WSMan:\\localhost\\Client\\TrustedHosts on the computer running the Management Shell, or give the Edge server an HTTPS listener, and set EDGEFED_EDGE_CREDENTIAL_FILE"
            }
            Self::NameNotResolved => {
                "check that the Front End resolves the Edge server's internal FQDN (DNS or its hosts file)"
            }
            Self::TimedOut => {
                "check that the Edge server is up and that the internal firewall does not drop TCP 5985 / 5986 from the Front End"
            }
            Self::FailedOnServer => "read the message; run the command on the Edge server to see more",
            Self::Other(_) => "read the message and see about_Remote_Troubleshooting",
        }
    }
}

/// How one server's part of a fan-out failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteFailure {
    /// Why.
    pub reason: UnreachableReason,
    /// PowerShell's message.
    pub message: String,
    /// The error record's `FullyQualifiedErrorId`.
    pub error_id: String,
}

impl RemoteFailure {
    /// `Edge server <c> is unreachable: <reason> (<id>): <what to do>. PowerShell said: <message>`.
    #[must_use]
    pub fn explain(&self, computer: &Fqdn) -> String {
        let what = if self.reason == UnreachableReason::FailedOnServer {
            format!("Edge server {computer}: {}", self.reason.describe())
        } else {
            format!("Edge server {computer} is unreachable: {}", self.reason.describe())
        };
        let id = if self.error_id.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.error_id)
        };
        format!(
            "{what}{id}: {}. PowerShell said: {}",
            self.reason.advice(),
            self.message
        )
    }

    /// The backend error of an action on `computer` that failed so.
    #[must_use]
    pub fn to_error(&self, computer: &Fqdn) -> BackendError {
        match self.reason {
            UnreachableReason::FailedOnServer => BackendError::refused(self.explain(computer)),
            _ => BackendError::unreachable(computer.to_string(), self.explain(computer)),
        }
    }
}

/// One Edge server's answer in a fan-out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComputerAnswer {
    /// The server.
    pub computer: Fqdn,
    /// Its services (`Name`, `Status`) when it answered, or how it failed.
    pub outcome: Result<Vec<(String, String)>, RemoteFailure>,
}

fn text(v: Option<&Value>) -> String {
    v.and_then(Value::as_str).unwrap_or_default().to_string()
}

/// Reads the entries `Edgefed-PerComputer` wrote.
///
/// # Errors
/// [`BackendError::Failed`] naming `cmdlet` when an entry has no
/// `ComputerName` or it is not an FQDN.
pub fn parse_answers(cmdlet: &str, values: &[Value]) -> Result<Vec<ComputerAnswer>, BackendError> {
    values
        .iter()
        .map(|v| {
            let name = v.get("ComputerName").and_then(Value::as_str).ok_or_else(|| {
                BackendError::failed(format!(
                    "`{cmdlet}` fan-out returned an entry without ComputerName: {v}"
                ))
            })?;
            let computer = fqdn_of(cmdlet, "ComputerName", name)?;
            let reachable = v.get("Reachable").and_then(Value::as_bool) == Some(true);
            let outcome = if reachable {
                Ok(v.get("Services")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(|s| (text(s.get("Name")), text(s.get("Status")))).collect())
                    .unwrap_or_default())
            } else {
                let e = v.get("Error");
                let error_id = text(e.and_then(|e| e.get("ErrorId")));
                let on_server = e.and_then(|e| e.get("OnServer")).and_then(Value::as_bool) == Some(true);
                let message = match text(e.and_then(|e| e.get("Message"))) {
                    m if m.is_empty() => "no answer".to_string(),
                    m => m,
                };
                Err(RemoteFailure {
                    reason: UnreachableReason::classify(&error_id, on_server),
                    message,
                    error_id,
                })
            };
            Ok(ComputerAnswer { computer, outcome })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn transport_error_ids_are_classified_and_unknown_ones_kept() {
        let c = |id| UnreachableReason::classify(id, false);
        assert_eq!(c("CannotConnect,PSSessionStateBroken"), UnreachableReason::WinRmRefused);
        assert_eq!(c("AccessDenied,PSSessionStateBroken"), UnreachableReason::AccessDenied);
        assert_eq!(c("LogonFailure,PSSessionStateBroken"), UnreachableReason::AccessDenied);
        assert_eq!(
            c("ServerNotTrusted,PSSessionStateBroken"),
            UnreachableReason::NotTrusted
        );
        assert_eq!(
            c("ComputerNotFound,PSSessionStateBroken"),
            UnreachableReason::NameNotResolved
        );
        assert_eq!(
            c("WinRMOperationTimeout,PSSessionStateBroken"),
            UnreachableReason::TimedOut
        );
        assert_eq!(
            c("-2146893039,PSSessionStateBroken"),
            UnreachableReason::Other("-2146893039,PSSessionStateBroken".into())
        );
        assert_eq!(
            UnreachableReason::classify("AccessDenied,PSSessionStateBroken", true),
            UnreachableReason::FailedOnServer
        );
    }

    #[test]
    fn answers_are_read_per_server() {
        let a = parse_answers(
            "Get-CsWindowsService",
            &[
                json!({ "ComputerName": "edge1.contoso.com", "Reachable": true, "Services": [{ "Name": "RTCSRV", "Status": "Running" }], "Error": null }),
                json!({ "ComputerName": "edge2.contoso.com", "Reachable": false, "Services": [], "Error": { "Message": "Access is denied.", "ErrorId": "AccessDenied,PSSessionStateBroken", "Category": "OpenError", "Exception": "System.Management.Automation.Remoting.PSRemotingTransportException", "OnServer": false } }),
            ],
        )
        .unwrap();
        assert_eq!(a[0].outcome, Ok(vec![("RTCSRV".into(), "Running".into())]));
        let e = a[1].outcome.clone().unwrap_err();
        assert_eq!(e.reason, UnreachableReason::AccessDenied);
        let text = e.explain(&a[1].computer);
        assert!(
            text.starts_with("Edge server edge2.contoso.com is unreachable: access denied")
                && text.contains("EDGEFED_EDGE_CREDENTIAL_FILE")
                && text.ends_with("PowerShell said: Access is denied."),
            "{text}"
        );
        assert!(matches!(e.to_error(&a[1].computer), BackendError::Unreachable { .. }));
        assert!(parse_answers("x", &[json!({ "Reachable": true })]).is_err());
    }
}
