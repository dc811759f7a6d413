//! Approval: a reconcile that changes a real system — the Lync deployment
//! through the Management Shell, or DNS on a server — asks on a terminal
//! before applying, and without a terminal refuses unless `--yes` was given.
//! The lab alone never asks.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use crate::backend::{Routed, route};
use crate::cli::BackendKind;
use crate::error::Error;
use crate::plan::Plan;
use crate::settings::{DnsSettings, Settings};

/// What a reconcile of `plan` would change outside the lab, or `None` when
/// it changes only the lab.
#[must_use]
pub(crate) fn real_target(settings: &Settings, plan: &Plan) -> Option<String> {
    let mut parts = Vec::new();
    if settings.backend == BackendKind::Powershell {
        let launcher = settings
            .powershell
            .as_ref()
            .map_or_else(String::new, |c| format!(" (through `{}`)", c.launcher.program));
        parts.push(format!("the Lync deployment{launcher}"));
    }
    if let DnsSettings::Server { server, .. } = &settings.dns
        && plan
            .actions
            .iter()
            .any(|a| matches!(route(&a.operation), Routed::Dns(_)))
    {
        parts.push(format!("the DNS server {server}"));
    }
    (!parts.is_empty()).then(|| parts.join(" and "))
}

/// What a reconcile could change outside the lab, whatever its plan: the
/// Lync deployment (PowerShell backend) and a DNS server (`--dns-server`).
/// `None` for the lab alone. `watch --mode correct` checks this at start,
/// as nobody is at a terminal to ask later.
#[must_use]
pub(crate) fn real_systems(settings: &Settings) -> Option<String> {
    let mut parts = Vec::new();
    if settings.backend == BackendKind::Powershell {
        parts.push("the Lync deployment".to_string());
    }
    if let DnsSettings::Server { server, .. } = &settings.dns {
        parts.push(format!("the DNS server {server}"));
    }
    (!parts.is_empty()).then(|| parts.join(" and "))
}

/// Asks before `plan` is applied to a real system; returns when approved.
///
/// # Errors
/// [`Error::NotApproved`] without a terminal (and without `--yes`), or when
/// the answer is not exactly `yes`.
pub(crate) fn obtain(settings: &Settings, plan: &Plan, yes: bool) -> Result<(), Error> {
    let Some(target) = real_target(settings, plan) else {
        return Ok(());
    };
    if yes || plan.actions.is_empty() {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Error::NotApproved {
            reason: format!(
                "{} action(s) would change {target}, and there is no terminal to ask on: review the plan \
                 (`edgefed plan`) and pass `--yes` (or `--auto-approve`) to apply without asking",
                plan.actions.len()
            ),
        });
    }
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "\nApply these {} actions to {target}? Only 'yes' is accepted.\n> ",
        plan.actions.len()
    );
    let _ = err.flush();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).map_err(|e| Error::NotApproved {
        reason: format!("the answer could not be read ({e})"),
    })?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Error::NotApproved {
            reason: "the answer was not `yes`".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DnsName, Fqdn};
    use crate::plan::{Action, Operation, Phase};

    fn settings(args: &[&str]) -> Settings {
        let mut all = vec!["edgefed"];
        all.extend_from_slice(args);
        all.push("observe");
        let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(all).expect("clap accepts it");
        Settings::from_global(&cli.global).expect("settings")
    }

    fn plan_of(operation: Operation) -> Plan {
        Plan {
            actions: vec![Action {
                id: 1,
                operation,
                phase: Phase::Services,
                depends_on: Vec::new(),
                reason: String::new(),
            }],
            ..Plan::default()
        }
    }

    fn start() -> Operation {
        let f = |s: &str| Fqdn::parse(s).expect("FQDN");
        Operation::StartServices {
            pool: f("edgepool1.contoso.com"),
            computer: f("edgeserver1a.contoso.com"),
        }
    }

    fn dns_a() -> Operation {
        Operation::SetDnsA {
            zone: Fqdn::parse("contoso.com").expect("FQDN"),
            name: DnsName::parse("sip.contoso.com").expect("name"),
            addresses: vec!["192.0.2.10".parse().expect("address")],
            ttl: 60,
            observed: None,
        }
    }

    #[test]
    fn the_lab_never_asks_a_real_system_always_does() {
        // The lab, with its own DNS: nothing real changes.
        assert_eq!(real_target(&settings(&[]), &plan_of(start())), None);
        assert_eq!(real_target(&settings(&[]), &plan_of(dns_a())), None);
        // The lab with DNS on a server: only a plan that changes DNS asks.
        let dns = settings(&["--dns-server", "192.0.2.53:53"]);
        assert_eq!(real_target(&dns, &plan_of(start())), None);
        assert_eq!(
            real_target(&dns, &plan_of(dns_a())).as_deref(),
            Some("the DNS server 192.0.2.53:53")
        );
        // The Management Shell: always.
        let ps = settings(&["--backend", "powershell", "--ps-command", "pwsh -Command -"]);
        assert_eq!(
            real_target(&ps, &plan_of(start())).as_deref(),
            Some("the Lync deployment (through `pwsh`)")
        );
        assert_eq!(real_systems(&settings(&[])), None);
        assert_eq!(real_systems(&dns).as_deref(), Some("the DNS server 192.0.2.53:53"));
        assert_eq!(real_systems(&ps).as_deref(), Some("the Lync deployment"));
        // With --yes nothing is asked, even without a terminal.
        assert!(obtain(&ps, &plan_of(start()), true).is_ok());
    }
}
