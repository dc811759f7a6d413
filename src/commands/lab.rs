//! `edgefed lab init | show | fail POOL | restore POOL`.

use std::fmt::Write as _;

use super::Outcome;
use crate::app::{self, print};
use crate::backend::lab::{self, LabFile, LabLock, LogSummary, OperationLog, Scenario, UnknownPool};
use crate::cli::{LabCommand, OutputFormat, ScenarioName};
use crate::error::Error;
use crate::exit;
use crate::model::Fqdn;
use crate::settings::Settings;

/// How many of the newest operations `lab show` lists.
const LAST_SHOWN: usize = 10;

/// The lab's scenario for the command line's name.
fn scenario_of(name: ScenarioName) -> Scenario {
    match name {
        ScenarioName::XmppFailedOver => Scenario::XmppFailedOver,
        ScenarioName::Healthy => Scenario::Healthy,
        ScenarioName::EdgeDown => Scenario::EdgeDown,
        ScenarioName::SiteDown => Scenario::SiteDown,
    }
}

/// Runs a `lab` command.
///
/// # Errors
/// Missing or invalid lab, unknown pool, lock held (exit 1).
pub fn run(settings: &Settings, command: &LabCommand) -> Outcome {
    match command {
        LabCommand::Init {
            scenario,
            force,
            from_topology,
            sites_from,
        } => {
            super::output_format(settings, "lab init", &[])?;
            let path = settings.lab.path.clone();
            if path.exists() && !force {
                return Err(Error::LabExists { path });
            }
            let _lock = LabLock::acquire_noting(&path, settings.lock_timeout, &mut app::lock_note)?;
            // A new lab starts a new operation log: the old one's operations
            // were made on the lab being replaced.
            let log = OperationLog::of(&path);
            log.remove().map_err(|source| Error::Io {
                action: "remove",
                path: log.path().to_path_buf(),
                source,
            })?;
            match from_topology {
                Some(topology) => from_real_topology(&path, topology, sites_from.as_deref())?,
                None => {
                    let scenario = scenario_of(*scenario);
                    app::create_lab(&path, scenario)?;
                    app::note(&format!(
                        "edgefed: created lab {} from scenario `{scenario}`",
                        path.display()
                    ));
                }
            }
            Ok(exit::SUCCESS)
        }
        LabCommand::Show => {
            let format = super::output_format(
                settings,
                "lab show",
                &[OutputFormat::Human, OutputFormat::Yaml, OutputFormat::Json],
            )?;
            let path = app::lab_path(settings, false)?;
            let lab = app::read_lab(&path)?;
            let log = OperationLog::of(&path).summary(LAST_SHOWN)?;
            match format {
                OutputFormat::Yaml => print(&lab.to_show_yaml(&log)),
                OutputFormat::Json => print(&lab.to_show_json(&log)),
                OutputFormat::Human | OutputFormat::Markdown | OutputFormat::Powershell | OutputFormat::Github => {
                    print(&summary(&lab, &log));
                }
            }
            Ok(exit::SUCCESS)
        }
        LabCommand::Fail { pool } => {
            super::output_format(settings, "lab fail", &[])?;
            change(settings, pool, "failed: its servers are unreachable", lab::fail_pool)
        }
        LabCommand::Restore { pool } => {
            super::output_format(settings, "lab restore", &[])?;
            change(
                settings,
                pool,
                "restored: its servers answer, services stopped",
                lab::restore_pool,
            )
        }
    }
}

fn change(
    settings: &Settings,
    pool: &str,
    what: &str,
    f: fn(&mut LabFile, &Fqdn) -> Result<usize, UnknownPool>,
) -> Outcome {
    let fqdn = Fqdn::parse(pool).map_err(|e| Error::usage(format!("`{pool}` is not a pool FQDN: {e}")))?;
    let path = app::lab_path(settings, false)?;
    let _lock = LabLock::acquire_noting(&path, settings.lock_timeout, &mut app::lock_note)?;
    let mut lab = app::read_lab(&path)?;
    let n = f(&mut lab, &fqdn)?;
    lab.write(&path)?;
    app::note(&format!("edgefed: {fqdn} {what} ({n} server(s))"));
    Ok(exit::SUCCESS)
}

fn summary(lab: &LabFile, log: &LogSummary) -> String {
    let t = &lab.topology;
    let mut out = String::new();
    let _ = writeln!(out, "Topology signature {}", t.signature);
    let _ = writeln!(out, "Sites:");
    let show = |r: &Option<Fqdn>| r.as_ref().map_or_else(|| "(none)".to_string(), ToString::to_string);
    for (name, s) in &t.sites {
        let _ = writeln!(
            out,
            "  {name}: federationRoute {}, xmppFederationRoute {}",
            show(&s.federation_route),
            show(&s.xmpp_federation_route)
        );
    }
    let _ = writeln!(out, "Edge pools:");
    for (pool, p) in &t.edge_pools {
        let _ = writeln!(
            out,
            "  {pool} ({}): SIP federation {}, XMPP {}, next hop {}, addresses {}",
            p.site,
            if p.sip_federation { "on" } else { "off" },
            if p.xmpp_federation { "on" } else { "off" },
            show(&p.next_hop),
            if p.public_addresses_unknown {
                "unknown (no public Access Edge address in the topology)".to_string()
            } else {
                format!("{:?}", p.external_addresses)
            }
        );
        for (c, s) in &p.computers {
            let _ = writeln!(
                out,
                "    {c}: {}{}{}",
                if s.reachable { "reachable" } else { "UNREACHABLE" },
                format_args!(", {}", s.services.as_str()),
                if s.setup_pending { ", setup pending" } else { "" }
            );
        }
    }
    let _ = writeln!(out, "Front End pools:");
    for (pool, p) in &t.front_end_pools {
        let _ = writeln!(
            out,
            "  {pool} ({}): media Edge pool {}, backup {}, {}",
            p.site,
            show(&p.media_edge_pool),
            show(&p.backup_pool),
            match p.failed_over.as_known() {
                Some(true) => "FAILED OVER",
                Some(false) => "not failed over",
                None => "failover state unknown",
            }
        );
    }
    let _ = writeln!(out, "DNS:");
    for r in &lab.dns {
        let _ = writeln!(out, "  {}", serde_json::to_string(r).unwrap_or_default());
    }
    if !lab.staged.is_empty() {
        let _ = writeln!(out, "Staged (unpublished) topology edits:");
        for s in &lab.staged {
            let _ = writeln!(out, "  {s}");
        }
    }
    if !lab.faults.is_empty() {
        let _ = writeln!(out, "Faults: {}", lab.faults.len());
    }
    let _ = writeln!(
        out,
        "Operation log: {} operation(s) in {}{}",
        log.operations,
        log.path.display(),
        log.rotated
            .as_ref()
            .map_or_else(String::new, |r| format!(" (older ones in {})", r.display()))
    );
    if !lab.legacy_log.is_empty() {
        let _ = writeln!(
            out,
            "  and {} in the lab file's old `log:`, moved into the operation log by the next reconcile",
            lab.legacy_log.len()
        );
    }
    if !log.last.is_empty() {
        let _ = writeln!(out, "  the last {}:", log.last.len());
        for e in &log.last {
            let outcome = match &e.outcome {
                lab::Outcome::Applied => "applied".to_string(),
                lab::Outcome::Failed(m) => format!("failed: {m}"),
                lab::Outcome::Silent => "ignored (silent fault)".to_string(),
            };
            let _ = writeln!(out, "  #{} {}: {outcome}", e.sequence, e.operation);
        }
    }
    out
}

/// `lab init --from-topology FILE [--sites-from JSON]`: the lab's inventory,
/// flags and addresses come from a real export, which is kept beside the lab
/// and edited on every publish.
fn from_real_topology(
    lab: &std::path::Path,
    topology: &std::path::Path,
    sites_from: Option<&std::path::Path>,
) -> Result<(), Error> {
    let doc = super::topology::read(topology)?;
    let sites = sites_from
        .map(|p| crate::fs_util::read_to_string_capped(p, crate::limits::MAX_DATA_BYTES).map_err(|e| Error::read(p, e)))
        .transpose()?;
    let deployment = crate::topology::to_deployment(doc.model(), sites.as_deref())?;
    let mut name = lab
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_else(|| "lab.yaml".into());
    name.push(".topology.xml");
    let copy = lab.with_file_name(&name);
    let bytes =
        crate::fs_util::read_capped(topology, crate::limits::MAX_DATA_BYTES).map_err(|e| Error::read(topology, e))?;
    app::write_file(&copy, &bytes)?;
    let file = LabFile {
        api_version: "edgefed/v1".into(),
        kind: "Lab".into(),
        topology: deployment,
        staged: Vec::new(),
        staged_against: None,
        dns: Vec::new(),
        faults: Vec::new(),
        sequence: 0,
        legacy_log: Vec::new(),
        topology_document: Some(std::path::PathBuf::from(name)),
    };
    file.write(lab)?;
    app::note(&format!(
        "edgefed: created lab {} from {} ({} site(s), {} Edge pool(s), {} Front End pool(s)); its topology document is {}",
        lab.display(),
        topology.display(),
        file.topology.sites.len(),
        file.topology.edge_pools.len(),
        file.topology.front_end_pools.len(),
        copy.display()
    ));
    Ok(())
}
