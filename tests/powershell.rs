//! The PowerShell backend end to end, through `edgefed-shell-double`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use edgefed::backend::{BackendError, LyncSystem};
use edgefed::model::{
    CentralManagement, CentralManagementBackup, Computer, Deployment, DnsName, EdgePool, FailoverState, Fqdn,
    FrontEndPool, Product, ServiceState, Site,
};
use edgefed::plan::{Action, Dependency, Operation, OperationKind, Phase, System, Wait};
use edgefed::powershell::commands::{EXPORT_TOPOLOGY, shell_body};
use edgefed::powershell::quote::{quote_literal, read_literal, site_name};
use edgefed::powershell::{Launcher, PowerShellBackend, PowerShellConfig, runbook, runbook_values};
use proptest::prelude::*;
use serde_json::{Value, json};

const DOUBLE: &str = env!("CARGO_BIN_EXE_edgefed-shell-double");

fn f(s: &str) -> Fqdn {
    Fqdn::parse(s).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn computer(reachable: bool, services: ServiceState) -> Computer {
    Computer {
        reachable,
        services,
        setup_pending: false,
    }
}

/// The seed's starting point (the lab scenario `xmpp-failed-over`).
fn seed_deployment() -> Deployment {
    let site = |r: &str| Site {
        federation_route: Some(f(r)),
        xmpp_federation_route: Some(f(r)),
    };
    let edge = |site: &str, sip: bool, hop: &str, addr: &str, server: &str, svc| EdgePool {
        site: site.into(),
        sip_federation: sip,
        xmpp_federation: true,
        next_hop: Some(f(hop)),
        external_addresses: vec![ip(addr)],
        public_addresses_unknown: false,
        product: None,
        access_edge_fqdn: None,
        computers: BTreeMap::from([(f(server), computer(true, svc))]),
    };
    let fe = |site: &str, media: &str, server: &str| FrontEndPool {
        site: site.into(),
        media_edge_pool: Some(f(media)),
        backup_pool: None,
        failed_over: FailoverState::NotFailedOver,
        computers: BTreeMap::from([(f(server), computer(true, ServiceState::Running))]),
    };
    let mut fepool3 = fe("Site1", "edgepool1.contoso.com", "fe3.contoso.com");
    fepool3.backup_pool = Some(f("fepool2.contoso.com"));
    fepool3.failed_over = FailoverState::FailedOver;
    Deployment {
        signature: "b2af3192-0000-4000-8000-000000000001".into(),
        sites: BTreeMap::from([
            ("Site1".to_string(), site("edgepool2.contoso.com")),
            ("Site2".to_string(), site("edgepool2.contoso.com")),
        ]),
        edge_pools: BTreeMap::from([
            (
                f("edgepool1.contoso.com"),
                edge(
                    "Site1",
                    false,
                    "fepool1.contoso.com",
                    "203.0.113.10",
                    "edgeserver1.contoso.com",
                    ServiceState::Stopped,
                ),
            ),
            (
                f("edgepool2.contoso.com"),
                edge(
                    "Site2",
                    true,
                    "fepool2.contoso.com",
                    "203.0.113.20",
                    "edgeserver2.contoso.com",
                    ServiceState::Running,
                ),
            ),
        ]),
        front_end_pools: BTreeMap::from([
            (
                f("fepool1.contoso.com"),
                fe("Site1", "edgepool2.contoso.com", "fe1.contoso.com"),
            ),
            (
                f("fepool2.contoso.com"),
                fe("Site2", "edgepool2.contoso.com", "fe2.contoso.com"),
            ),
            (f("fepool3.contoso.com"), fepool3),
        ]),
        central_management: Some(CentralManagement {
            pool: f("fepool1.contoso.com"),
            available: true,
            backup: None,
        }),
        dns: Vec::new(),
    }
}

/// Everything on EdgePool1, all running (scenario `healthy`).
fn healthy_deployment() -> Deployment {
    let mut d = seed_deployment();
    for s in d.sites.values_mut() {
        s.federation_route = Some(f("edgepool1.contoso.com"));
        s.xmpp_federation_route = Some(f("edgepool1.contoso.com"));
    }
    let e1 = d.edge_pools.get_mut(&f("edgepool1.contoso.com")).unwrap();
    e1.sip_federation = true;
    for c in e1.computers.values_mut() {
        c.services = ServiceState::Running;
    }
    d.edge_pools
        .get_mut(&f("edgepool2.contoso.com"))
        .unwrap()
        .sip_federation = false;
    let fe1 = d.front_end_pools.get_mut(&f("fepool1.contoso.com")).unwrap();
    fe1.media_edge_pool = Some(f("edgepool1.contoso.com"));
    d.front_end_pools
        .get_mut(&f("fepool3.contoso.com"))
        .unwrap()
        .failed_over = FailoverState::NotFailedOver;
    d
}

/// A test bed: a state file for the double and a backend driving it.
struct Bed {
    dir: tempfile::TempDir,
    state: PathBuf,
}

impl Bed {
    fn new(deployment: &Deployment, extra: Value) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        let mut st = json!({ "deployment": deployment, "version": 7 });
        if let (Some(o), Value::Object(x)) = (st.as_object_mut(), extra) {
            o.extend(x);
        }
        std::fs::write(&state, serde_json::to_vec_pretty(&st).unwrap()).unwrap();
        // Edge servers are in a workgroup: they are reached with a local
        // administrator's credential, as on a real deployment.
        std::fs::write(dir.path().join("edge-credential.txt"), "EDGE\\edgeadmin\nS3cr3t\n").unwrap();
        Self { dir, state }
    }

    fn config(&self) -> PowerShellConfig {
        let mut c = PowerShellConfig::new("placeholder").unwrap();
        c.edge_credential_file = Some(self.dir.path().join("edge-credential.txt").display().to_string());
        c.backup_dir = self.dir.path().join("backups");
        c.timeouts.replication_wait = Duration::from_secs(60);
        c.timeouts.replication_poll = Duration::from_secs(15);
        c
    }

    fn state(&self) -> Value {
        serde_json::from_slice(&std::fs::read(&self.state).unwrap()).unwrap()
    }

    fn edit_state(&self, edit: impl FnOnce(&mut Value)) {
        let mut st = self.state();
        edit(&mut st);
        std::fs::write(&self.state, serde_json::to_vec_pretty(&st).unwrap()).unwrap();
    }

    fn deployment(&self) -> Deployment {
        serde_json::from_value(self.state()["deployment"].clone()).unwrap()
    }

    fn log(&self) -> Vec<String> {
        serde_json::from_value(self.state()["log"].clone()).unwrap_or_default()
    }

    fn round_trips(&self) -> u64 {
        self.state()["roundTrips"].as_u64().unwrap_or(0)
    }
}

/// Each test runs the double with its own state file: the launcher is a
/// wrapper that sets the variable for the child only.
fn with_state(bed: &Bed, mut config: PowerShellConfig) -> PowerShellBackend {
    config.launcher = Launcher {
        program: "env".into(),
        args: vec![
            format!("EDGEFED_SHELL_DOUBLE_STATE={}", bed.state.display()),
            DOUBLE.into(),
        ],
    };
    PowerShellBackend::new(config)
}

fn backend(bed: &Bed) -> PowerShellBackend {
    with_state(bed, bed.config())
}

/// `d`'s Edge pools as observation reports them: with the product the
/// double's `Get-CsService -EdgeServer` version names.
fn observed_with_product(d: &Deployment, product: Product) -> std::collections::BTreeMap<Fqdn, EdgePool> {
    let mut pools = d.edge_pools.clone();
    for p in pools.values_mut() {
        p.product = Some(product);
    }
    with_access_edges(&mut pools);
    pools
}

fn action(id: usize, phase: u8, deps: &[usize], operation: Operation, reason: &str) -> Action {
    Action {
        id,
        operation,
        phase: Phase::try_from(phase).expect("phase 1-10"),
        depends_on: deps
            .iter()
            .map(|&on| Dependency {
                on,
                wait: Wait::Success,
                reason: String::new(),
            })
            .collect(),
        reason: reason.into(),
    }
}

/// The seed failback plan, as the planner produces it.
fn seed_failback_plan() -> Vec<Action> {
    let e1 = || f("edgepool1.contoso.com");
    let e2 = || f("edgepool2.contoso.com");
    let zone = f("contoso.com");
    vec![
        action(
            1,
            1,
            &[],
            Operation::StartServices {
                pool: e1(),
                computer: f("edgeserver1.contoso.com"),
            },
            "edgepool1.contoso.com must run: it becomes the federation route (failback step 1)",
        ),
        action(
            2,
            3,
            &[1],
            Operation::DisableSipFederation { edge_pool: e2() },
            "no site routes SIP federation to edgepool2.contoso.com any more",
        ),
        action(
            3,
            3,
            &[1],
            Operation::EnableSipFederation { edge_pool: e1() },
            "Site1 and Site2 route SIP federation to edgepool1.contoso.com",
        ),
        action(
            4,
            3,
            &[1],
            Operation::SetMediaEdgePool {
                front_end_pool: f("fepool1.contoso.com"),
                edge_pool: e1(),
            },
            "fepool1.contoso.com goes back to the Edge pool of its site (failback step 4)",
        ),
        action(
            5,
            4,
            &[2, 3, 4],
            Operation::PublishTopology {},
            "publish the topology edits in one document",
        ),
        action(
            6,
            5,
            &[5],
            Operation::RunSetup {
                pool: e1(),
                computer: f("edgeserver1.contoso.com"),
            },
            "edgepool1.contoso.com gained the federation role",
        ),
        action(
            7,
            6,
            &[5, 6],
            Operation::SetSiteFederationRoute {
                site: "Site1".into(),
                edge_pool: Some(e1()),
            },
            "/sites/Site1/federationRoute",
        ),
        action(
            8,
            6,
            &[5, 6],
            Operation::SetSiteFederationRoute {
                site: "Site2".into(),
                edge_pool: Some(e1()),
            },
            "/sites/Site2/federationRoute",
        ),
        action(
            9,
            6,
            &[1, 5],
            Operation::SetSiteXmppRoute {
                site: "Site1".into(),
                edge_pool: Some(e1()),
            },
            "/sites/Site1/xmppFederationRoute",
        ),
        action(
            10,
            6,
            &[1, 5],
            Operation::SetSiteXmppRoute {
                site: "Site2".into(),
                edge_pool: Some(e1()),
            },
            "/sites/Site2/xmppFederationRoute",
        ),
        action(
            11,
            7,
            &[9, 10],
            Operation::SetDnsSrv {
                zone: zone.clone(),
                name: DnsName::xmpp_srv(&zone),
                target: f("xmpp.contoso.com"),
                port: 5269,
                priority: 0,
                weight: 100,
                others: Vec::new(),
                ttl: 300,
                observed: None,
            },
            "/dns/_xmpp-server._tcp.contoso.com/SRV",
        ),
        action(
            12,
            7,
            &[9, 10],
            Operation::SetDnsA {
                zone: zone.clone(),
                name: DnsName::host(&f("xmpp.contoso.com")),
                addresses: vec![ip("203.0.113.10")],
                ttl: 300,
                observed: None,
            },
            "/dns/xmpp.contoso.com/A: the restored pool's external address",
        ),
        action(
            13,
            9,
            &[11, 12],
            Operation::VerifyPort {
                pool: e1(),
                address: ip("203.0.113.10"),
                port: 5269,
                hosts: vec![],
            },
            "the XMPP route moved: verify 5269",
        ),
        action(
            14,
            10,
            &[7, 8, 13],
            Operation::InvokePoolFailback {
                front_end_pool: f("fepool3.contoso.com"),
            },
            "fepool3.contoso.com failed with the site (failback step 5)",
        ),
    ]
}

/// The XMPP failover plan (procedure 1.2): EdgePool1 is down, XMPP moves to
/// EdgePool2, whose servers already run: the bracket stops and restarts them.
fn xmpp_failover_plan() -> Vec<Action> {
    let e2 = || f("edgepool2.contoso.com");
    let s2 = || f("edgeserver2.contoso.com");
    let zone = f("contoso.com");
    vec![
        action(
            1,
            1,
            &[],
            Operation::StopServices {
                pool: e2(),
                computer: s2(),
            },
            "XMPP bracket: stop the new XMPP pool's services",
        ),
        action(
            2,
            6,
            &[1],
            Operation::SetSiteXmppRoute {
                site: "Site1".into(),
                edge_pool: Some(e2()),
            },
            "/sites/Site1/xmppFederationRoute",
        ),
        action(
            3,
            6,
            &[1],
            Operation::SetSiteXmppRoute {
                site: "Site2".into(),
                edge_pool: Some(e2()),
            },
            "/sites/Site2/xmppFederationRoute",
        ),
        action(
            4,
            7,
            &[2, 3],
            Operation::SetDnsA {
                zone: zone.clone(),
                name: DnsName::host(&f("xmpp.contoso.com")),
                addresses: vec![ip("203.0.113.20")],
                ttl: 300,
                observed: None,
            },
            "A record",
        ),
        action(
            5,
            7,
            &[2, 3],
            Operation::SetDnsSrv {
                zone: zone.clone(),
                name: DnsName::xmpp_srv(&zone),
                target: f("xmpp.contoso.com"),
                port: 5269,
                priority: 0,
                weight: 100,
                others: Vec::new(),
                ttl: 300,
                observed: None,
            },
            "SRV record",
        ),
        action(
            6,
            8,
            &[4, 5],
            Operation::StartServices {
                pool: e2(),
                computer: s2(),
            },
            "XMPP bracket: start the services again",
        ),
        action(
            7,
            9,
            &[6],
            Operation::VerifyPort {
                pool: e2(),
                address: ip("203.0.113.20"),
                port: 5269,
                hosts: vec![],
            },
            "verify 5269",
        ),
    ]
}

/// The plan's DAG waves (Kahn levels).
fn waves(actions: &[Action]) -> Vec<Vec<&Action>> {
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    while done.len() < actions.len() {
        let wave: Vec<&Action> = actions
            .iter()
            .filter(|a| !done.contains(&a.id) && a.depends_on_ids().all(|d| done.contains(&d)))
            .collect();
        assert!(!wave.is_empty(), "cycle");
        done.extend(wave.iter().map(|a| a.id));
        out.push(wave);
    }
    out
}

/// Applies a plan wave by wave as the executor does, DNS and probes aside
/// (they belong to other backends). Returns each action's result by id.
async fn execute(
    backend: &PowerShellBackend,
    actions: &[Action],
) -> BTreeMap<usize, Result<edgefed::backend::Applied, BackendError>> {
    let mut results = BTreeMap::new();
    for wave in waves(actions) {
        let ours: Vec<&Action> = wave
            .into_iter()
            .filter(|a| matches!(a.operation.system(), System::Lync | System::TopologyEdit))
            .filter(|a| a.depends_on_ids().all(|d| results.get(&d).is_none_or(Result::is_ok)))
            .collect();
        if ours.is_empty() {
            continue;
        }
        let ops: Vec<Operation> = ours.iter().map(|a| a.operation.clone()).collect();
        let rs = backend.apply_batch(&ops).await;
        assert_eq!(rs.len(), ops.len());
        for (a, r) in ours.iter().zip(rs) {
            results.insert(a.id, r);
        }
    }
    results
}

#[tokio::test]
async fn observe_reads_the_deployment_in_one_round_trip() {
    let d = seed_deployment();
    let bed = Bed::new(&d, json!({}));
    let b = backend(&bed);
    let obs = b.observe().await.unwrap();
    let mut expected = d.clone();
    // Get-CsPoolBackupRelationship gives the pairing; the double's topology
    // names every server; the observation must be the deployment itself —
    // except the failover state of the paired pool, which no cmdlet reports.
    expected.dns.clear();
    expected
        .front_end_pools
        .get_mut(&f("fepool3.contoso.com"))
        .unwrap()
        .failed_over = FailoverState::Unknown { recorded: None };
    expected.edge_pools = observed_with_product(&expected, Product::SkypeForBusiness2015);
    assert_eq!(obs.deployment, expected);
    assert_eq!(bed.round_trips(), 1);
    assert_eq!(b.stats().round_trips, 1);
    assert_eq!(obs.warnings.len(), 1, "{:?}", obs.warnings);
    assert!(
        obs.warnings[0].contains("fepool3.contoso.com") && obs.warnings[0].contains("unknown"),
        "{:?}",
        obs.warnings
    );
}

/// A generated estate (the benchmark's shape, 150 sites) is observed whole
/// with the observe answer's own bound; a bound below the answer's size
/// stops the read with an error naming the bound and how to raise it.
#[tokio::test]
async fn observe_of_an_estate_is_bounded_by_its_own_limit_which_names_how_to_raise_it() {
    let bed = Bed::new(&Deployment::default(), json!({ "estateSites": 150 }));
    let obs = backend(&bed).observe().await.unwrap();
    assert_eq!(obs.deployment.sites.len(), 150);
    assert_eq!(obs.deployment.edge_pools.len(), 300);
    assert_eq!(obs.deployment.front_end_pools.len(), 300);
    assert!(
        obs.deployment
            .edge_pools
            .values()
            .all(|p| p.computers.len() == 4 && p.computers.values().all(|c| c.reachable))
    );
    let mut config = bed.config();
    config.max_observe_mib = 1;
    let e = with_state(&bed, config).observe().await.unwrap_err();
    assert!(matches!(e, BackendError::Failed { .. }), "{e:?}");
    let text = e.to_string();
    for part in ["passed 1 MiB", "--ps-max-observe-mib", "EDGEFED_PS_MAX_OBSERVE_MIB"] {
        assert!(text.contains(part), "{part}: {text}");
    }
}

/// The Central Management Server as Microsoft's failover page finds it: its
/// pool, down when `ActiveMasterFqdn` is empty, and the backup database the
/// topology defines (the one its service does not depend on).
#[tokio::test]
async fn observe_finds_the_central_management_server_down_and_its_backup_database() {
    let mut d = seed_deployment();
    let backup = CentralManagementBackup {
        pool: f("fepool2.contoso.com"),
        sql_server: f("sql2.contoso.com"),
        sql_instance: Some("rtc".into()),
    };
    d.central_management = Some(CentralManagement {
        pool: f("fepool3.contoso.com"),
        available: true,
        backup: Some(backup.clone()),
    });
    let fe3 = d.front_end_pools.get_mut(&f("fepool3.contoso.com")).unwrap();
    for c in fe3.computers.values_mut() {
        c.reachable = false;
    }
    let bed = Bed::new(&d, json!({}));
    let obs = backend(&bed).observe().await.unwrap();
    assert_eq!(
        obs.deployment.central_management,
        Some(CentralManagement {
            pool: f("fepool3.contoso.com"),
            available: false,
            backup: Some(backup),
        })
    );
    assert!(
        obs.warnings
            .iter()
            .any(|w| w.contains("Central Management Server on fepool3.contoso.com is not available")),
        "{:?}",
        obs.warnings
    );
}

#[tokio::test]
async fn observe_of_an_edge_behind_nat_records_its_public_addresses_as_unknown() {
    // The double's topology gives the pool's Access Edge interface no public
    // address: observation must not make one up, nor publish the private one.
    let mut d = seed_deployment();
    let e1 = d.edge_pools.get_mut(&f("edgepool1.contoso.com")).unwrap();
    e1.external_addresses.clear();
    e1.public_addresses_unknown = true;
    let bed = Bed::new(&d, json!({}));
    let obs = backend(&bed).observe().await.unwrap();
    let seen = &obs.deployment.edge_pools[&f("edgepool1.contoso.com")];
    assert!(seen.public_addresses_unknown);
    assert!(seen.external_addresses.is_empty());
    let other = &obs.deployment.edge_pools[&f("edgepool2.contoso.com")];
    assert!(!other.public_addresses_unknown);
    assert_eq!(other.external_addresses, [ip("203.0.113.20")]);
}

#[tokio::test]
async fn observe_of_lync_2013_reads_the_renamed_properties() {
    let d = seed_deployment();
    let bed = Bed::new(&d, json!({ "version": 6 }));
    let b = backend(&bed);
    let obs = b.observe().await.unwrap();
    assert_eq!(obs.deployment.edge_pools, observed_with_product(&d, Product::Lync2013));
}

/// The Access Edge external FQDN the double's topology gives each pool
/// (`sip.<pool>`), which observation reads from the published topology.
fn with_access_edges(pools: &mut BTreeMap<Fqdn, EdgePool>) {
    for (pool, p) in pools.iter_mut() {
        p.access_edge_fqdn = Some(Fqdn::parse(&format!("sip.{pool}")).unwrap());
    }
}

/// The seed failback through the double, wave by wave: every Set-CsSite
/// (a topology write) after the one publish.
#[tokio::test]
async fn seed_failback_end_to_end() {
    let bed = Bed::new(&seed_deployment(), json!({ "replicationLagPolls": 2 }));
    let b = backend(&bed);
    b.observe().await.unwrap();
    let observe_stats = b.stats();
    let plan = seed_failback_plan();
    let results = execute(&b, &plan).await;
    for (id, r) in &results {
        assert!(r.is_ok(), "action {id}: {r:?}");
    }
    let d = bed.deployment();
    let e1 = &d.edge_pools[&f("edgepool1.contoso.com")];
    assert!(e1.sip_federation);
    assert!(!d.edge_pools[&f("edgepool2.contoso.com")].sip_federation);
    assert_eq!(
        e1.computers[&f("edgeserver1.contoso.com")],
        computer(true, ServiceState::Running)
    );
    for s in d.sites.values() {
        assert_eq!(s.federation_route, Some(f("edgepool1.contoso.com")));
        assert_eq!(s.xmpp_federation_route, Some(f("edgepool1.contoso.com")));
    }
    assert_eq!(
        d.front_end_pools[&f("fepool1.contoso.com")].media_edge_pool,
        Some(f("edgepool1.contoso.com"))
    );
    assert!(
        !d.front_end_pools[&f("fepool3.contoso.com")]
            .failed_over
            .is_failed_over()
    );
    let log = bed.log();
    assert_eq!(
        log,
        vec![
            "Start-CsWindowsService edgeserver1.contoso.com",
            "Publish-CsTopology",
            "Enable-CsTopology",
            "Set-CsSimpleUrlConfiguration Global",
            "Bootstrapper.exe edgeserver1.contoso.com (Skype for Business Server 2015\\Deployment\\Bootstrapper.exe)",
            "Set-CsSite Site1 -XmppFederationRoute EdgeServer:edgepool1.contoso.com",
            "Set-CsSite Site2 -XmppFederationRoute EdgeServer:edgepool1.contoso.com",
            "Set-CsSite Site1 -FederationRoute EdgeServer:edgepool1.contoso.com",
            "Set-CsSite Site2 -FederationRoute EdgeServer:edgepool1.contoso.com",
            "Invoke-CsPoolFailBack fepool3.contoso.com",
        ]
    );
    // Round trips: observe = 1, apply <= number of DAG waves.
    let applied = b.stats().round_trips - observe_stats.round_trips;
    assert!(applied <= waves(&plan).len() as u64, "{applied} round trips");
    assert_eq!(bed.round_trips(), 1 + applied);
    // The publish reports where the backup went, and it is there.
    let detail = results[&5].as_ref().unwrap().detail.clone().unwrap();
    let backup = detail.rsplit("backup of the previous topology: ").next().unwrap();
    let saved = std::fs::read_to_string(backup).unwrap();
    assert!(saved.contains("b2af3192-0000-4000-8000-000000000001"));
    // A second observation sees the new state (the signature changed).
    let again = b.observe().await.unwrap().deployment;
    assert_ne!(again.signature, "b2af3192-0000-4000-8000-000000000001");
    assert_eq!(again.sites, d.sites);
    let stats = b.stats();
    eprintln!(
        "FIGURES seed failback: observe {} round trip, {} B sent, {} B received; apply {} round trips, {} B sent, {} B received",
        observe_stats.round_trips,
        observe_stats.bytes_sent,
        observe_stats.bytes_received,
        applied,
        stats.bytes_sent - observe_stats.bytes_sent,
        stats.bytes_received - observe_stats.bytes_received
    );
}

#[tokio::test]
async fn xmpp_failover_end_to_end() {
    let mut d = healthy_deployment();
    // EdgePool1 failed.
    for c in d
        .edge_pools
        .get_mut(&f("edgepool1.contoso.com"))
        .unwrap()
        .computers
        .values_mut()
    {
        c.reachable = false;
    }
    let bed = Bed::new(&d, json!({}));
    let b = backend(&bed);
    let obs = b.observe().await.unwrap();
    assert!(!obs.deployment.edge_pools[&f("edgepool1.contoso.com")].computers[&f("edgeserver1.contoso.com")].reachable);
    let plan = xmpp_failover_plan();
    let before = b.stats().round_trips;
    let results = execute(&b, &plan).await;
    assert!(results.values().all(Result::is_ok), "{results:?}");
    assert_eq!(b.stats().round_trips - before, 3);
    let after = bed.deployment();
    for s in after.sites.values() {
        assert_eq!(s.xmpp_federation_route, Some(f("edgepool2.contoso.com")));
        assert_eq!(s.federation_route, Some(f("edgepool1.contoso.com")));
    }
    assert_eq!(
        bed.log(),
        vec![
            "Stop-CsWindowsService edgeserver2.contoso.com",
            "Set-CsSite Site1 -XmppFederationRoute EdgeServer:edgepool2.contoso.com",
            "Set-CsSite Site2 -XmppFederationRoute EdgeServer:edgepool2.contoso.com",
            "Start-CsWindowsService edgeserver2.contoso.com",
        ]
    );
}

#[tokio::test]
async fn a_publish_by_someone_else_after_observe_is_detected_and_nothing_is_published() {
    let bed = Bed::new(&seed_deployment(), json!({}));
    let b = backend(&bed);
    b.observe().await.unwrap();
    bed.edit_state(|st| {
        st["deployment"]["signature"] = json!("c0ffee00-0000-4000-8000-000000000002");
    });
    let results = execute(&b, &seed_failback_plan()).await;
    for id in [2, 3, 4] {
        match &results[&id] {
            Err(e @ BackendError::Stale { .. }) => {
                assert!(e.to_string().contains("someone else published"), "{e}");
            }
            other => panic!("action {id}: {other:?}"),
        }
    }
    assert!(!results.contains_key(&5), "publish must not run");
    assert!(!bed.log().iter().any(|l| l.contains("Publish")));
    assert!(b.staged_edits().is_empty());
}

#[tokio::test]
async fn a_publish_by_someone_else_just_before_publishing_is_refused_in_the_script() {
    let bed = Bed::new(&seed_deployment(), json!({}));
    let b = backend(&bed);
    b.observe().await.unwrap();
    let plan = seed_failback_plan();
    let ops = |ids: &[usize]| -> Vec<Operation> {
        plan.iter()
            .filter(|a| ids.contains(&a.id))
            .map(|a| a.operation.clone())
            .collect()
    };
    assert!(b.apply_batch(&ops(&[1])).await.iter().all(Result::is_ok));
    assert!(b.apply_batch(&ops(&[2, 3, 4])).await.iter().all(Result::is_ok));
    assert_eq!(b.staged_edits().len(), 3);
    bed.edit_state(|st| {
        st["deployment"]["signature"] = json!("c0ffee00-0000-4000-8000-000000000003");
    });
    let r = b.apply(&Operation::PublishTopology {}).await;
    match r {
        Err(BackendError::Refused { message, .. }) => {
            assert!(message.contains("someone else published"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!bed.log().iter().any(|l| l.contains("Publish")));
    assert!(!bed.deployment().edge_pools[&f("edgepool1.contoso.com")].sip_federation);
}

#[tokio::test]
async fn an_unreachable_edge_server_is_observed_and_its_action_refused() {
    let mut d = seed_deployment();
    d.edge_pools
        .get_mut(&f("edgepool1.contoso.com"))
        .unwrap()
        .computers
        .get_mut(&f("edgeserver1.contoso.com"))
        .unwrap()
        .reachable = false;
    let bed = Bed::new(&d, json!({}));
    let b = backend(&bed);
    let obs = b.observe().await.unwrap();
    let c = &obs.deployment.edge_pools[&f("edgepool1.contoso.com")].computers[&f("edgeserver1.contoso.com")];
    assert!(!c.reachable);
    assert!(
        obs.warnings.iter().any(|w| w.starts_with(
            "Edge server edgeserver1.contoso.com is unreachable: the connection timed out (WinRMOperationTimeout,PSSessionStateBroken)"
        )),
        "{:?}",
        obs.warnings
    );
    let r = b.apply(&seed_failback_plan()[0].operation).await;
    match r {
        Err(BackendError::Unreachable { target, message, .. }) => {
            assert_eq!(target, "edgeserver1.contoso.com");
            assert!(
                message.contains("Connecting to remote server edgeserver1.contoso.com failed"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_cmdlet_failure_is_that_actions_refusal_with_lyncs_message() {
    let bed = Bed::new(
        &healthy_deployment(),
        json!({ "faults": [{ "cmdlet": "Set-CsSite", "message": "Set-CsSite : Unable to connect to the Central Management Store.", "times": 1 }] }),
    );
    let b = backend(&bed);
    b.observe().await.unwrap();
    let ops = vec![
        Operation::SetSiteXmppRoute {
            site: "Site1".into(),
            edge_pool: Some(f("edgepool2.contoso.com")),
        },
        Operation::SetSiteXmppRoute {
            site: "Site2".into(),
            edge_pool: Some(f("edgepool2.contoso.com")),
        },
        Operation::SetSiteFederationRoute {
            site: "Site2".into(),
            edge_pool: Some(f("edgepool2.contoso.com")),
        },
    ];
    let rs = b.apply_batch(&ops).await;
    assert_eq!(
        rs[0],
        Err(BackendError::refused(
            "Set-CsSite : Unable to connect to the Central Management Store."
        ))
    );
    assert!(rs[1].is_ok(), "{:?}", rs[1]);
    // Lync refuses a SIP route to a pool without the published flag.
    match &rs[2] {
        Err(BackendError::Refused { message, .. }) => {
            assert!(message.contains("not enabled for federation"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(bed.round_trips(), 2);
}

#[tokio::test]
async fn a_null_route_is_sent_as_null_and_clears_the_route() {
    let bed = Bed::new(&healthy_deployment(), json!({}));
    let b = backend(&bed);
    let op = Operation::SetSiteXmppRoute {
        site: "Site2".into(),
        edge_pool: None,
    };
    let line = edgefed::powershell::commands::cmdlet_line(&op).unwrap().unwrap();
    assert_eq!(line, "Set-CsSite -Identity 'Site2' -XmppFederationRoute $null");
    b.apply(&op).await.unwrap();
    assert_eq!(bed.deployment().sites["Site2"].xmpp_federation_route, None);
    assert_eq!(bed.log(), vec!["Set-CsSite Site2 -XmppFederationRoute $null"]);
}

#[tokio::test]
async fn dns_and_probes_are_not_this_backends() {
    let bed = Bed::new(&seed_deployment(), json!({}));
    let b = backend(&bed);
    let plan = seed_failback_plan();
    for id in [11, 12, 13] {
        match b.apply(&plan[id - 1].operation).await {
            Err(BackendError::Failed { message, .. }) => {
                assert!(
                    message.contains("DNS backend") || message.contains("probe module"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(bed.round_trips(), 0);
}

#[tokio::test]
async fn run_setup_waits_for_replication_and_gives_up_when_bounded() {
    let bed = Bed::new(&seed_deployment(), json!({ "replicationLagPolls": 50 }));
    let b = backend(&bed);
    b.observe().await.unwrap();
    let plan = seed_failback_plan();
    let results = execute(&b, &plan[..6]).await;
    match &results[&6] {
        Err(BackendError::Refused { message, .. }) => {
            assert!(
                message.contains("CMS replication did not reach edgeserver1.contoso.com within 60 s"),
                "{message}"
            );
            // A replica that never catches up: named, with what to do.
            assert!(
                message.contains("older than the topology write at 2026-12-01T"),
                "{message}"
            );
            assert!(
                message.contains("run Invoke-CsManagementStoreReplication -ReplicaFqdn edgeserver1.contoso.com"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!bed.log().iter().any(|l| l.starts_with("Bootstrapper")));
}

#[tokio::test]
async fn edge_credentials_come_from_a_file_and_never_appear_in_the_script() {
    let bed = Bed::new(&seed_deployment(), json!({ "edgeCredentialUser": "EDGE01\\edgeadmin" }));
    let cred = bed.dir.path().join("edge-credential.txt");
    std::fs::write(&cred, "EDGE01\\edgeadmin\nS3cr3t-'$(pwn)'\n").unwrap();
    let mut config = bed.config();
    config.edge_credential_file = Some(cred.display().to_string());
    let b = with_state(&bed, config);
    b.observe().await.unwrap();
    let results = execute(&b, &seed_failback_plan()[..6]).await;
    assert!(results.values().all(Result::is_ok), "{results:?}");
    let script = bed.state()["lastScript"].as_str().unwrap().to_string();
    assert!(script.contains("-Credential (Edgefed-Credential)"));
    assert!(!script.contains("S3cr3t"));
    // Without the credential, the Edge server refuses the remote session.
    let bed2 = Bed::new(&seed_deployment(), json!({ "edgeCredentialUser": "EDGE01\\edgeadmin" }));
    let mut without = bed2.config();
    without.edge_credential_file = None;
    let b2 = with_state(&bed2, without);
    b2.observe().await.unwrap();
    let r = execute(&b2, &seed_failback_plan()[..6]).await;
    assert!(
        matches!(&r[&1], Err(BackendError::Unreachable { message, .. }) if message.contains("access denied") && message.contains("Access is denied")),
        "{r:?}"
    );
    assert!(!r.contains_key(&6), "run-setup waits for the start that failed");
}

#[tokio::test]
async fn a_shell_that_hangs_times_out() {
    let mut config = PowerShellConfig::new("sh -c 'sleep 30'").unwrap();
    config.timeouts.observe = Duration::from_millis(300);
    let b = PowerShellBackend::new(config);
    let started = std::time::Instant::now();
    match b.observe().await {
        Err(BackendError::Timeout { after, message, .. }) => {
            assert_eq!(after, Duration::from_millis(300));
            assert!(message.contains("did not finish"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    let b = PowerShellBackend::new(PowerShellConfig::new("/nonexistent/pwsh -Command -").unwrap());
    assert!(matches!(b.observe().await, Err(BackendError::Failed { message, .. }) if message.contains("cannot start")));
}

#[tokio::test]
async fn a_failing_observation_cmdlet_is_named_with_lyncs_message() {
    let bed = Bed::new(
        &seed_deployment(),
        json!({ "faults": [{ "cmdlet": "Get-CsTopology", "message": "Cannot connect to the Central Management Store.", "times": 1 }] }),
    );
    match backend(&bed).observe().await {
        Err(BackendError::Failed { message, .. }) => assert_eq!(
            message,
            "`Get-CsTopology -AsXml` failed: Cannot connect to the Central Management Store."
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_required_property_names_the_cmdlet_and_the_property() {
    let topology = edgefed_double_topology();
    let reply: serde_json::Map<String, Value> = serde_json::from_value(json!({
        "topology": { "ok": true, "value": [topology], "warnings": [] },
        "sites": { "ok": true, "value": [{ "Identity": "Site:Site1", "FederationRoute": null }], "warnings": [] },
    }))
    .unwrap();
    let e = edgefed::powershell::observe::parse_observation(reply)
        .unwrap_err()
        .to_string();
    assert!(e.contains("Get-CsSite") && e.contains("XmppFederationRoute"), "{e}");
    let reply: serde_json::Map<String, Value> = serde_json::from_value(json!({
        "topology": { "ok": false, "message": "Cannot connect to the Central Management Store" },
    }))
    .unwrap();
    let e = edgefed::powershell::observe::parse_observation(reply)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Get-CsTopology") && e.contains("Central Management Store"),
        "{e}"
    );
}

fn edgefed_double_topology() -> String {
    "<Topology xmlns=\"urn:schema:Microsoft.Rtc.Management.Deploy.Topology.2008\" Signature=\"s1\"><Sites/><Clusters/><Services/></Topology>".into()
}

fn run_double(bed: &Bed, script: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(DOUBLE)
        .env("EDGEFED_SHELL_DOUBLE_STATE", &bed.state)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn the_double_fails_loudly_on_what_lync_does_not_have() {
    let bed = Bed::new(&seed_deployment(), json!({}));
    let prelude = edgefed::powershell::script::PRELUDE.join("\n");
    let end = "Write-Output ('EDGEFED-BEGIN-' + 'n1'); Write-Output (ConvertTo-Json -InputObject $edgefedR -Depth 8 -Compress); Write-Output ('EDGEFED-END-' + 'n1')";
    for (line, expect) in [
        (
            "Edgefed-Step 'a0' { Set-CsSite -Identity 'Site1' -XmppExternalFederationRoute 'EdgeServer:edgepool1.contoso.com' }",
            "parameter name 'XmppExternalFederationRoute'",
        ),
        (
            "Edgefed-Step 'a0' { Enable-CsSiteFederationRoute -Identity 'Site1' }",
            "not a Lync Server cmdlet",
        ),
        (
            "Edgefed-Step 'a0' { Invoke-Expression 'calc' }",
            "'Invoke-Expression' is not recognized",
        ),
    ] {
        let out = run_double(&bed, &format!("{prelude}\n{line}\n{end}\n"));
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expect), "{stderr}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("EDGEFED-BEGIN-n1"));
    }
    // The same statement with the real parameter is accepted.
    let ok = run_double(
        &bed,
        &format!(
            "{prelude}\nEdgefed-Step 'a0' {{ Set-CsSite -Identity 'Site1' -XmppFederationRoute 'EdgeServer:edgepool2.contoso.com' }}\n{end}\n"
        ),
    );
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
}

/// The runbook names the observed product's folder for Bootstrapper.exe,
/// and asks only when the observation does not give one product.
#[test]
fn the_runbook_uses_the_observed_product_folder() {
    let mut observed = seed_deployment();
    for p in observed.edge_pools.values_mut() {
        p.product = Some(edgefed::model::Product::Lync2013);
    }
    let text = runbook(&seed_failback_plan(), Some(&observed));
    assert!(
        text.contains("$EdgefedProduct = 'Microsoft Lync Server 2013'\n"),
        "{text}"
    );
    assert!(!text.contains("Read-Host"), "{text}");
    let unknown = runbook(&seed_failback_plan(), Some(&seed_deployment()));
    assert!(unknown.contains("$EdgefedProduct = Read-Host"), "{unknown}");
    assert!(!unknown.contains("Skype for Business Server 2015'\n$EdgefedBootstrapper"));
}

#[test]
fn runbook_of_the_seed_failback_matches_the_committed_snapshot() {
    let text = runbook(&seed_failback_plan(), None);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/seed_failback_runbook.ps1");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        text, expected,
        "runbook changed: rerun with UPDATE_EXPECT=1 and review the diff"
    );
    assert!(text.contains("-XmppFederationRoute 'EdgeServer:edgepool1.contoso.com'"));
    assert!(!text.contains("XmppExternalFederationRoute '"));
    assert_eq!(text.matches("Publish-CsTopology -FileName").count(), 1);
    assert!(text.contains("Edgefed-AssertSignature $EdgefedSignature; "));
    // The only loop is the replication helper's, which has a deadline.
    for line in text.lines().filter(|l| l.contains("while (")) {
        assert!(line.starts_with("function Edgefed-WaitReplication("), "{line}");
    }
    assert_eq!(text.matches("function Edgefed-WaitReplication(").count(), 1);
}

#[test]
fn a_runbook_never_turns_plan_text_into_code() {
    let mut plan = seed_failback_plan();
    plan[6].reason = "line one\nRemove-Item C:\\ -Recurse".into();
    plan[7].operation = Operation::SetSiteFederationRoute {
        site: "Site2'; Remove-Item C:\\ #".into(),
        edge_pool: None,
    };
    let text = runbook(&plan, None);
    assert!(text.lines().all(|l| !l.starts_with("Remove-Item")));
    assert!(text.contains("#   REFUSED: site name"));
}

/// An operation of `kind` on the seed deployment.
fn sample_operation(kind: OperationKind) -> Operation {
    let e1 = || f("edgepool1.contoso.com");
    let zone = f("contoso.com");
    match kind {
        OperationKind::StartServices => Operation::StartServices {
            pool: e1(),
            computer: f("edgeserver1.contoso.com"),
        },
        OperationKind::StopServices => Operation::StopServices {
            pool: f("edgepool2.contoso.com"),
            computer: f("edgeserver2.contoso.com"),
        },
        OperationKind::SetEdgeNextHop => Operation::SetEdgeNextHop {
            edge_pool: e1(),
            next_hop: f("fepool2.contoso.com"),
        },
        OperationKind::DisableSipFederation => Operation::DisableSipFederation {
            edge_pool: f("edgepool2.contoso.com"),
        },
        OperationKind::EnableSipFederation => Operation::EnableSipFederation { edge_pool: e1() },
        OperationKind::SetMediaEdgePool => Operation::SetMediaEdgePool {
            front_end_pool: f("fepool1.contoso.com"),
            edge_pool: e1(),
        },
        OperationKind::EditEdgeNextHop => Operation::EditEdgeNextHop {
            edge_pool: e1(),
            next_hop: f("fepool2.contoso.com"),
        },
        OperationKind::PublishTopology => Operation::PublishTopology {},
        OperationKind::WaitForReplication => Operation::WaitForReplication {
            pool: e1(),
            computer: f("edgeserver1.contoso.com"),
        },
        OperationKind::RunSetup => Operation::RunSetup {
            pool: e1(),
            computer: f("edgeserver1.contoso.com"),
        },
        OperationKind::SetSiteFederationRoute => Operation::SetSiteFederationRoute {
            site: "Site1".into(),
            edge_pool: Some(e1()),
        },
        OperationKind::SetSiteXmppRoute => Operation::SetSiteXmppRoute {
            site: "Site2".into(),
            edge_pool: None,
        },
        OperationKind::SetDnsSrv => Operation::SetDnsSrv {
            zone: zone.clone(),
            name: DnsName::xmpp_srv(&zone),
            target: f("xmpp.contoso.com"),
            port: 5269,
            priority: 0,
            weight: 100,
            others: Vec::new(),
            ttl: 300,
            observed: None,
        },
        OperationKind::SetDnsA => Operation::SetDnsA {
            zone,
            name: DnsName::host(&f("xmpp.contoso.com")),
            addresses: vec![ip("203.0.113.10")],
            ttl: 300,
            observed: None,
        },
        OperationKind::VerifyPort => Operation::VerifyPort {
            pool: e1(),
            address: ip("203.0.113.10"),
            port: 5269,
            hosts: vec![],
        },
        OperationKind::InvokePoolFailover => Operation::InvokePoolFailover {
            front_end_pool: f("fepool3.contoso.com"),
        },
        OperationKind::InvokePoolFailback => Operation::InvokePoolFailback {
            front_end_pool: f("fepool3.contoso.com"),
        },
        OperationKind::InvokeCmsFailover => Operation::InvokeCmsFailover {
            from_pool: f("fepool1.contoso.com"),
            to_pool: f("fepool2.contoso.com"),
            sql_server: f("sql2.contoso.com"),
            sql_instance: Some("rtc".into()),
        },
    }
}

/// The body of the step `key` in a script the backend sent.
fn sent_step(script: &str, key: &str) -> String {
    let prefix = format!("Edgefed-Step '{key}' {{ ");
    let line = script
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no step {key} in\n{script}"));
    line[prefix.len()..].strip_suffix(" }").unwrap().to_string()
}

/// What the backend sends for `op` through the double (after an observation,
/// and for a publish after staging an edit): the last script and the body of
/// its step for `op`.
async fn what_the_backend_sends(op: &Operation) -> (String, String) {
    let bed = Bed::new(&seed_deployment(), json!({ "edgeCredentialUser": "EDGE01\\edgeadmin" }));
    let cred = bed.dir.path().join("edge-credential.txt");
    std::fs::write(&cred, "EDGE01\\edgeadmin\nS3cr3t\n").unwrap();
    let mut config = bed.config();
    config.edge_credential_file = Some(cred.display().to_string());
    let b = with_state(&bed, config);
    b.observe().await.unwrap();
    if matches!(op, Operation::PublishTopology {}) {
        let edit = sample_operation(OperationKind::EnableSipFederation);
        b.apply(&edit).await.unwrap();
    }
    let rounds = bed.round_trips();
    // Whether Lync accepts it does not matter here: what was sent does.
    let _ = b.apply(op).await;
    assert_eq!(bed.round_trips(), rounds + 1, "{op}: nothing was sent");
    let script = bed.state()["lastScript"].as_str().unwrap().to_string();
    let key = if op.system() == System::TopologyEdit {
        "stage"
    } else {
        "a0"
    };
    let body = sent_step(&script, key);
    (script, body)
}

/// For every kind of action, the runbook shows the very body the backend
/// sends: both come from `commands::shell_body`, the runbook filling its
/// slots with variables its top sets. Kinds the Management Shell does not
/// perform are comments saying who performs them.
#[tokio::test]
async fn the_runbook_shows_for_every_kind_the_body_the_backend_sends() {
    for kind in OperationKind::ALL {
        let op = sample_operation(kind);
        assert_eq!(op.kind(), kind);
        let mut plan = Vec::new();
        if kind == OperationKind::PublishTopology {
            let edit = sample_operation(OperationKind::EnableSipFederation);
            plan.push(action(1, 3, &[], edit, "the edit it publishes"));
        }
        plan.push(action(
            plan.len() + 1,
            kind.row().phase.number(),
            &[],
            op.clone(),
            "sample",
        ));
        let text = runbook(&plan, None);
        let rule = format!("\n# {}\n", "-".repeat(75));
        // Everything before the action's own section, and that section.
        let (before, section) = text.rsplit_once(&rule).unwrap();
        let preamble = text.split_once(&rule).unwrap().0;
        let code: Vec<&str> = section.lines().filter(|l| !l.starts_with('#')).collect();
        let body = shell_body(&op).unwrap();
        assert_eq!(body.is_some(), op.system() == System::Lync, "{kind}");
        match op.system() {
            System::Lync => {
                let body = body.unwrap();
                let (script, sent) = what_the_backend_sends(&op).await;
                let backend_values = body
                    .values_in(&sent)
                    .unwrap_or_else(|| panic!("{kind}: the backend sent something else:\n{sent}"));
                let shown = body.fill(&runbook_values()).unwrap();
                assert_eq!(code, [shown.as_str()], "{kind}");
                if body.slots().next().is_none() {
                    assert_eq!(code, [sent.as_str()], "{kind}");
                }
                for slot in body.slots() {
                    // The backend fills in what it knows; the runbook names
                    // a variable its top sets.
                    let ours = runbook_values().get(slot).unwrap().to_string();
                    assert_ne!(backend_values.get(slot), Some(ours.as_str()), "{kind} {slot:?}");
                    let var = ours.trim().rsplit(['$', ':']).next().unwrap();
                    assert!(before.contains(&format!("\n${var} = ")), "{kind}: ${var} is not set");
                }
                // The helpers the body calls are defined once, as the backend defines them.
                for helper in preamble.lines().filter(|l| l.starts_with("function ")) {
                    assert!(script.lines().any(|l| l == helper), "{kind}: {helper}");
                }
            }
            System::TopologyEdit => {
                let (_, sent) = what_the_backend_sends(&op).await;
                assert_eq!(sent, EXPORT_TOPOLOGY);
                assert!(code.contains(
                    &format!("{EXPORT_TOPOLOGY} | Out-File -FilePath $EdgefedBackupFile -Encoding utf8").as_str()
                ));
                assert!(code.contains(&"$EdgefedSignature = Edgefed-Signature"), "{kind}");
                assert!(section.contains("Edit $EdgefedTopologyFile by hand"), "{kind}");
            }
            System::Dns => {
                assert!(code.is_empty(), "{kind}: {code:?}");
                assert!(
                    section.contains("DNS, not run by this runbook") && section.contains("RFC 2136"),
                    "{kind}"
                );
            }
            System::Probe => {
                assert!(code.is_empty(), "{kind}: {code:?}");
                assert!(section.contains("not run here (edgefed's probe module)"), "{kind}");
            }
        }
    }
}

#[tokio::test]
async fn observe_of_2000_edge_pools_is_one_round_trip() {
    let mut d = Deployment {
        signature: "big".into(),
        ..Deployment::default()
    };
    d.sites.insert("Site1".into(), Site::default());
    d.front_end_pools.insert(
        f("fepool1.contoso.com"),
        FrontEndPool {
            site: "Site1".into(),
            media_edge_pool: Some(f("edge0.contoso.com")),
            backup_pool: None,
            failed_over: FailoverState::NotFailedOver,
            computers: BTreeMap::from([(f("fe1.contoso.com"), computer(true, ServiceState::Running))]),
        },
    );
    for i in 0..2000 {
        d.edge_pools.insert(
            f(&format!("edge{i}.contoso.com")),
            EdgePool {
                site: "Site1".into(),
                sip_federation: i == 0,
                xmpp_federation: i == 0,
                next_hop: Some(f("fepool1.contoso.com")),
                external_addresses: vec![ip(&format!("203.0.113.{}", i % 250 + 1))],
                public_addresses_unknown: false,
                product: None,
                access_edge_fqdn: None,
                computers: BTreeMap::from([
                    (
                        f(&format!("edge{i}a.contoso.com")),
                        computer(true, ServiceState::Running),
                    ),
                    (
                        f(&format!("edge{i}b.contoso.com")),
                        computer(true, ServiceState::Running),
                    ),
                ]),
            },
        );
    }
    let bed = Bed::new(&d, json!({ "quiet": true }));
    let b = backend(&bed);
    let started = std::time::Instant::now();
    let obs = b.observe().await.unwrap();
    let took = started.elapsed();
    assert_eq!(obs.deployment.edge_pools.len(), 2000);
    assert_eq!(
        obs.deployment.edge_pools,
        observed_with_product(&d, Product::SkypeForBusiness2015)
    );
    assert_eq!(bed.round_trips(), 1);
    let s = b.stats();
    eprintln!(
        "FIGURES observe 2000 Edge pools / 4000 servers: {} round trip, {} B sent, {} B received, {:?} (debug build, double included)",
        s.round_trips, s.bytes_sent, s.bytes_received, took
    );
}

fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("'".to_string()),
        Just("\u{2018}".to_string()),
        Just("\u{2019}".to_string()),
        Just("\u{201A}".to_string()),
        Just("\u{201B}".to_string()),
        Just("\"".to_string()),
        Just("$(Remove-Item C:\\)".to_string()),
        Just("`".to_string()),
        Just(";".to_string()),
        Just("\n".to_string()),
        Just("\r".to_string()),
        Just("\0".to_string()),
        Just("''".to_string()),
        Just("#".to_string()),
        "[a-zA-Z0-9 .-]{0,5}",
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn every_quoted_value_reads_back_as_exactly_one_literal(s in hostile(), tail in "[ ;a-z-]{0,6}") {
        let lit = quote_literal(&s);
        // Followed by more script text, the literal still ends where it should.
        let text = format!("{lit}{tail}");
        let read = read_literal(&text).unwrap();
        prop_assert_eq!(&read.value, &s);
        prop_assert_eq!(read.len, lit.len());
    }

    #[test]
    fn site_names_are_either_refused_or_safe_single_line_literals(s in hostile()) {
        if let Ok(lit) = site_name(&s) {
            prop_assert!(!lit.contains('\n') && !lit.contains('\r') && !lit.contains('\0'));
            let read = read_literal(&lit).unwrap();
            prop_assert_eq!(read.value, s);
            prop_assert_eq!(read.len, lit.len());
        }
    }
}

// ---------------------------------------------------------------------------
// The double is as strict as Lync about topology writes.

const END_N1: &str = "Write-Output ('EDGEFED-BEGIN-' + 'n1'); Write-Output (ConvertTo-Json -InputObject $edgefedR -Depth 8 -Compress); Write-Output ('EDGEFED-END-' + 'n1')";

/// Runs `steps` (lines) through the double; the result of each step by key.
fn run_steps(bed: &Bed, lines: &[String]) -> Value {
    let mut script = edgefed::powershell::script::PRELUDE.join("\n");
    for l in lines {
        script.push('\n');
        script.push_str(l);
    }
    script.push('\n');
    script.push_str(END_N1);
    script.push('\n');
    let out = run_double(bed, &script);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = stdout
        .split("EDGEFED-BEGIN-n1\r\n")
        .nth(1)
        .and_then(|s| s.split("\r\nEDGEFED-END-n1").next())
        .unwrap_or_else(|| panic!("no result in {stdout}"));
    serde_json::from_str(json).unwrap()
}

/// `(Get-CsTopology -AsXml).ToString()` of the double.
fn topology_of(bed: &Bed) -> String {
    let r = run_steps(
        bed,
        &["Edgefed-Step 't' { (Get-CsTopology -AsXml).ToString() }".to_string()],
    );
    r["t"]["value"][0].as_str().expect("a document").to_string()
}

/// The document without its `Signature` attribute.
fn unsigned(xml: &str) -> String {
    let start = xml.find("Signature=\"").expect("a signature") + "Signature=\"".len();
    let end = start + xml[start..].find('"').expect("closing quote");
    format!("{}{}", &xml[..start], &xml[end..])
}

fn signature_in(xml: &str) -> String {
    let start = xml.find("Signature=\"").expect("a signature") + "Signature=\"".len();
    xml[start..start + xml[start..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn set_cssite_and_set_csedgeserver_write_the_topology_document_and_its_signature() {
    let bed = Bed::new(&seed_deployment(), json!({}));
    let before = topology_of(&bed);
    assert!(before.contains("<XmppFederationRoute>"), "{before}");
    let b = backend(&bed);
    b.observe().await.unwrap();
    b.apply(&Operation::SetSiteXmppRoute {
        site: "Site1".into(),
        edge_pool: Some(f("edgepool1.contoso.com")),
    })
    .await
    .unwrap();
    let after_site = topology_of(&bed);
    assert_ne!(
        signature_in(&after_site),
        signature_in(&before),
        "Set-CsSite changes the signature"
    );
    // The document now says what a topology with that route from the start says.
    let mut expected = seed_deployment();
    expected.sites.get_mut("Site1").unwrap().xmpp_federation_route = Some(f("edgepool1.contoso.com"));
    let fresh = Bed::new(&expected, json!({}));
    assert_ne!(unsigned(&after_site), unsigned(&before));
    assert_eq!(unsigned(&after_site), unsigned(&topology_of(&fresh)));

    b.apply(&Operation::SetEdgeNextHop {
        edge_pool: f("edgepool2.contoso.com"),
        next_hop: f("fepool1.contoso.com"),
    })
    .await
    .unwrap();
    let after_hop = topology_of(&bed);
    assert_ne!(
        signature_in(&after_hop),
        signature_in(&after_site),
        "Set-CsEdgeServer -Registrar changes the signature"
    );
    expected
        .edge_pools
        .get_mut(&f("edgepool2.contoso.com"))
        .unwrap()
        .next_hop = Some(f("fepool1.contoso.com"));
    let fresh = Bed::new(&expected, json!({}));
    assert_eq!(unsigned(&after_hop), unsigned(&topology_of(&fresh)));
    // What edgefed reads from the document agrees.
    let read = edgefed::topology::TopologyDocument::parse(after_hop.as_bytes(), "after.xml").unwrap();
    assert_eq!(
        read.model().edge_pools[&f("edgepool2.contoso.com")].next_hop,
        Some(f("fepool1.contoso.com"))
    );
    assert_eq!(read.signature(), Some(bed.deployment().signature.as_str()));
}

#[tokio::test]
async fn a_document_exported_before_a_topology_write_is_refused_by_the_assertion_or_puts_the_old_values_back() {
    let bed = Bed::new(&seed_deployment(), json!({}));
    let stale = topology_of(&bed);
    let stale_signature = signature_in(&stale);
    let b = backend(&bed);
    b.observe().await.unwrap();
    for op in [
        Operation::SetSiteXmppRoute {
            site: "Site1".into(),
            edge_pool: Some(f("edgepool1.contoso.com")),
        },
        Operation::SetEdgeNextHop {
            edge_pool: f("edgepool2.contoso.com"),
            next_hop: f("fepool1.contoso.com"),
        },
    ] {
        b.apply(&op).await.unwrap();
    }
    let written = bed.deployment();
    let b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(stale.as_bytes())
    };
    use edgefed::powershell::body::{Slot, Values};
    use edgefed::powershell::commands::{
        NOW_HELPER, SIGNATURE_HELPERS, SIMPLE_URL_HELPERS, WRITE_FILE_HELPER, shell_body, write_file_call,
    };
    let mut helpers: Vec<String> = SIGNATURE_HELPERS
        .iter()
        .chain([&WRITE_FILE_HELPER, &NOW_HELPER])
        .chain(SIMPLE_URL_HELPERS.iter())
        .map(ToString::to_string)
        .collect();

    // edgefed's publish asserts the signature it exported against: refused.
    let publish = shell_body(&Operation::PublishTopology {})
        .expect("publish body")
        .expect("the shell performs the publish")
        .fill(
            &Values::new()
                .with(Slot::Signature, quote_literal(&stale_signature))
                .with(Slot::TopologyDocument, write_file_call("stale.xml", &b64)),
        )
        .expect("every slot filled");
    helpers.push(format!("Edgefed-Step 'p' {{ {publish} }}"));
    let r = run_steps(&bed, &helpers);
    assert_eq!(r["p"]["ok"], false, "{r}");
    assert!(r["p"]["message"].as_str().unwrap().contains("changed since"), "{r}");
    assert_eq!(bed.deployment(), written, "nothing was published");

    // Without the assertion, the stale document replaces the whole topology.
    helpers.pop();
    helpers.push(format!(
        "Edgefed-Step 'p' {{ $edgefedFile = Edgefed-WriteFile 'stale.xml' {}; Publish-CsTopology -FileName $edgefedFile -Force; Edgefed-Signature }}",
        quote_literal(&b64)
    ));
    let r = run_steps(&bed, &helpers);
    assert_eq!(r["p"]["ok"], true, "{r}");
    let reverted = bed.deployment();
    let seed = seed_deployment();
    assert_eq!(reverted.sites, seed.sites, "the route is put back");
    assert_eq!(
        reverted.edge_pools[&f("edgepool2.contoso.com")].next_hop,
        seed.edge_pools[&f("edgepool2.contoso.com")].next_hop,
        "the next hop is put back"
    );
    assert!(reverted.signature != written.signature && reverted.signature != seed.signature);
}

#[tokio::test]
async fn the_double_records_every_script_it_receives_in_order() {
    let bed = Bed::new(&seed_deployment(), json!({}));
    let b = backend(&bed);
    b.observe().await.unwrap();
    b.apply(&Operation::SetSiteXmppRoute {
        site: "Site1".into(),
        edge_pool: Some(f("edgepool1.contoso.com")),
    })
    .await
    .unwrap();
    let scripts: Vec<String> = serde_json::from_value(bed.state()["scripts"].clone()).unwrap();
    assert_eq!(scripts.len(), 2);
    assert!(scripts[0].contains("Get-CsTopology -AsXml") && !scripts[0].contains("Set-CsSite -Identity"));
    assert!(
        scripts[1].contains("Set-CsSite -Identity 'Site1' -XmppFederationRoute"),
        "{}",
        scripts[1]
    );
}

/// The double's simple URL collections, as `Identity=component domain url`.
fn simple_urls_of(bed: &Bed) -> Vec<String> {
    let st = bed.state();
    let mut out = Vec::new();
    for c in st["simpleUrls"].as_array().cloned().unwrap_or_default() {
        for u in c["SimpleUrl"].as_array().cloned().unwrap_or_default() {
            out.push(format!(
                "{}={} {} {}",
                c["Identity"].as_str().unwrap(),
                u["Component"].as_str().unwrap(),
                u["Domain"].as_str().unwrap(),
                u["ActiveUrl"].as_str().unwrap()
            ));
        }
    }
    out
}

const CONTOSO_SIMPLE_URLS: [&str; 3] = [
    "Global=meet contoso.com https://meet.contoso.com",
    "Global=dialin * https://dialin.contoso.com",
    "Global=admin * https://admin.contoso.com",
];

/// `Publish-CsTopology`'s reference: after republishing a topology obtained
/// with `Get-CsTopology`, "you will then need to reconfigure your simple
/// URLs". The double drops them on publish; the publish step snapshots them
/// first, restores them after `Enable-CsTopology` and verifies them.
#[tokio::test]
async fn a_publish_restores_and_verifies_the_simple_urls() {
    let bed = Bed::new(&seed_deployment(), json!({}));
    let b = backend(&bed);
    b.observe().await.unwrap();
    assert_eq!(simple_urls_of(&bed), CONTOSO_SIMPLE_URLS);
    let results = execute(&b, &seed_failback_plan()[..5]).await;
    let detail = results[&5].as_ref().unwrap().detail.clone().unwrap();
    assert_eq!(simple_urls_of(&bed), CONTOSO_SIMPLE_URLS, "{detail} {:?}", bed.log());
    assert!(
        detail.contains("simple URLs restored and verified: Global=meet contoso.com https://meet.contoso.com"),
        "{detail}"
    );
    let log = bed.log();
    let at = |l: &str| {
        log.iter()
            .position(|x| x == l)
            .unwrap_or_else(|| panic!("{l} not in {log:?}"))
    };
    assert!(at("Enable-CsTopology") < at("Set-CsSimpleUrlConfiguration Global"));
}

#[tokio::test]
async fn a_simple_url_restore_that_does_not_stick_fails_the_publish_saying_what_differs() {
    let bed = Bed::new(&seed_deployment(), json!({ "simpleUrlSetIgnored": true }));
    let b = backend(&bed);
    b.observe().await.unwrap();
    let results = execute(&b, &seed_failback_plan()[..6]).await;
    match &results[&5] {
        Err(BackendError::Refused { message, .. }) => {
            assert!(message.contains("simple URLs did not come back"), "{message}");
            assert!(
                message.contains("before the publish Global=meet contoso.com https://meet.contoso.com"),
                "{message}"
            );
            assert!(message.contains("; now Global=. Set them again"), "{message}");
            assert!(message.contains("Set-CsSimpleUrlConfiguration"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // run-setup waits for the publish's success: not attempted.
    assert!(!results.contains_key(&6));
}

#[test]
fn the_double_refuses_what_the_simple_url_cmdlets_refuse() {
    let bed = Bed::new(&seed_deployment(), json!({}));
    let prelude = edgefed::powershell::script::PRELUDE.join("\n");
    let bad = run_double(
        &bed,
        &format!(
            "{prelude}\nEdgefed-Step 'a0' {{ Set-CsSimpleUrlConfiguration -Identity 'Global' -Url 'https://meet.contoso.com' }}\n{END_N1}\n"
        ),
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("parameter name 'Url'"));
    let r = run_steps(
        &bed,
        &[
            "Edgefed-Step 'both' { Get-CsSimpleUrlConfiguration -Identity 'Global' -Filter 'site:*' }".to_string(),
            "Edgefed-Step 'none' { Set-CsSimpleUrlConfiguration -Identity 'site:Site9' -SimpleUrl $null }".to_string(),
            "Edgefed-Step 'get' { Get-CsSimpleUrlConfiguration -Identity 'Global' }".to_string(),
        ],
    );
    assert!(
        r["both"]["message"]
            .as_str()
            .unwrap()
            .contains("Parameter set cannot be resolved")
    );
    assert!(r["none"]["message"].as_str().unwrap().contains("site:Site9"));
    assert_eq!(r["get"]["value"][0]["SimpleUrl"].as_array().unwrap().len(), 3);
}

/// The replication wait before this change: it trusted `UpToDate` alone.
const WAIT_TRUSTING_UPTODATE: &str = "function Edgefed-WaitReplication([string]$c, [int]$t, [int]$p) { $d = (Get-Date).AddSeconds($t); while ($true) { $r = @(Get-CsManagementStoreReplicationStatus -ReplicaFqdn $c); if ($r.Count -gt 0 -and @($r | Where-Object { [string]$_.UpToDate -ne 'True' }).Count -eq 0) { return }; if ((Get-Date) -gt $d) { throw ('CMS replication did not reach ' + $c + ' within ' + $t + ' s (Get-CsManagementStoreReplicationStatus: UpToDate is not True); run Invoke-CsManagementStoreReplication and try again') }; Start-Sleep -Seconds $p } }";

/// Right after a publish the Edge replica still says `UpToDate = True`, with
/// the previous update's `LastUpdateCreation`: a wait that trusts `UpToDate`
/// runs setup against the old topology; the wait compares
/// `LastUpdateCreation` with the time of the publish and does not.
#[tokio::test]
async fn the_replication_wait_is_not_fooled_by_uptodate_right_after_a_publish() {
    // The old helper, against the double's stale window (the Edge server
    // joined to the domain, so the old step's remoting needs no credential).
    let old = Bed::new(
        &seed_deployment(),
        json!({ "replicationLagPolls": 3, "edgeHosts": { "edgeserver1.contoso.com": { "workgroup": false } } }),
    );
    let b = backend(&old);
    b.observe().await.unwrap();
    let results = execute(&b, &seed_failback_plan()[..5]).await;
    assert!(results[&5].is_ok(), "{results:?}");
    run_steps(
        &old,
        &[
            WAIT_TRUSTING_UPTODATE.to_string(),
            "Edgefed-Step 'a0' { Edgefed-WaitReplication 'edgeserver1.contoso.com' 60 15; Invoke-Command -ComputerName 'edgeserver1.contoso.com' -ScriptBlock { & (Join-Path $env:ProgramFiles 'Skype for Business Server 2015\\Deployment\\Bootstrapper.exe'); if ($LASTEXITCODE -ne 0) { throw ('Bootstrapper.exe exited with code ' + $LASTEXITCODE) } } }".to_string(),
        ],
    );
    assert_eq!(old.state()["setupOnStaleReplica"], json!(["edgeserver1.contoso.com"]));

    // edgefed's wait.
    let bed = Bed::new(&seed_deployment(), json!({ "replicationLagPolls": 3 }));
    let b = backend(&bed);
    b.observe().await.unwrap();
    let before = bed.state()["clock"].as_i64().unwrap();
    let results = execute(&b, &seed_failback_plan()[..6]).await;
    assert!(results.values().all(Result::is_ok), "{results:?}");
    assert!(
        bed.log()
            .iter()
            .any(|l| l.starts_with("Bootstrapper.exe edgeserver1.contoso.com"))
    );
    assert_eq!(bed.state()["setupOnStaleReplica"], json!([]));
    // It polled through the stale window (three polls, 15 s apart).
    assert!(bed.state()["clock"].as_i64().unwrap() - before >= 45);
}

/// run-setup runs Bootstrapper.exe from the product folder of the version
/// the Edge pool reports; an unknown version names the folders to check.
#[tokio::test]
async fn run_setup_uses_the_folder_of_each_products_version() {
    for (version, folder) in [
        (6, "Microsoft Lync Server 2013"),
        (7, "Skype for Business Server 2015"),
        (8, "Skype for Business Server 2019"),
    ] {
        let bed = Bed::new(&seed_deployment(), json!({ "version": version }));
        let b = backend(&bed);
        b.observe().await.unwrap();
        let results = execute(&b, &seed_failback_plan()[..6]).await;
        assert!(results.values().all(Result::is_ok), "{version}: {results:?}");
        let expected = format!("Bootstrapper.exe edgeserver1.contoso.com ({folder}\\Deployment\\Bootstrapper.exe)");
        assert!(bed.log().contains(&expected), "{version}: {:?}", bed.log());
    }
    let bed = Bed::new(&seed_deployment(), json!({ "version": 9 }));
    let b = backend(&bed);
    let obs = b.observe().await.unwrap();
    assert!(
        obs.warnings.iter().any(|w| w.contains("reports Version 9")),
        "{:?}",
        obs.warnings
    );
    let results = execute(&b, &seed_failback_plan()[..6]).await;
    match &results[&6] {
        Err(e) => {
            let m = e.to_string();
            assert!(
                m.contains("'Skype for Business Server 2019'") && m.contains("run it by hand"),
                "{m}"
            );
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Workgroup Edge servers: service control through one remoting fan-out, and
// why a server is unreachable.

/// The fan-outs the double received, without how many servers ran at once
/// (see the tests of `--parallelism` for that).
fn fan_outs(bed: &Bed) -> Vec<Value> {
    let mut all: Vec<Value> = serde_json::from_value(bed.state()["fanOuts"].clone()).unwrap_or_default();
    for f in &mut all {
        if let Some(o) = f.as_object_mut() {
            o.remove("maxInFlight");
        }
    }
    all
}

/// The seed with a second server in EdgePool1 (both stopped).
fn two_server_seed() -> Deployment {
    let mut d = seed_deployment();
    d.edge_pools
        .get_mut(&f("edgepool1.contoso.com"))
        .unwrap()
        .computers
        .insert(f("edgeserver1b.contoso.com"), computer(true, ServiceState::Stopped));
    d
}

#[test]
fn a_workgroup_edge_server_refuses_direct_service_control() {
    let bed = Bed::new(&seed_deployment(), json!({}));
    let r = run_steps(
        &bed,
        &[
            "Edgefed-Step 'start' { Start-CsWindowsService -ComputerName 'edgeserver1.contoso.com' }".to_string(),
            "Edgefed-Step 'fe' { Start-CsWindowsService -ComputerName 'fe1.contoso.com' }".to_string(),
        ],
    );
    {
        assert_eq!(r["start"]["ok"], false, "{r}");
        assert!(
            r["start"]["message"]
                .as_str()
                .unwrap()
                .contains("Cannot open Service Control Manager on computer 'edgeserver1.contoso.com'"),
            "{r}"
        );
    }
    assert_eq!(r["fe"]["ok"], true, "a domain-joined Front End answers: {r}");
    assert_eq!(
        bed.deployment().edge_pools[&f("edgepool1.contoso.com")].computers[&f("edgeserver1.contoso.com")].services,
        ServiceState::Stopped
    );
    // An Edge server joined to the domain answers the direct call.
    bed.edit_state(|st| st["edgeHosts"] = json!({ "edgeserver1.contoso.com": { "workgroup": false } }));
    let r = run_steps(
        &bed,
        &["Edgefed-Step 'start' { Start-CsWindowsService -ComputerName 'edgeserver1.contoso.com' }".to_string()],
    );
    assert_eq!(r["start"]["ok"], true, "{r}");
}

#[tokio::test]
async fn observe_reaches_every_edge_server_in_one_fan_out_with_the_edge_credential() {
    let d = two_server_seed();
    let bed = Bed::new(&d, json!({}));
    let b = backend(&bed);
    let obs = b.observe().await.unwrap();
    let edge_warnings: Vec<&String> = obs.warnings.iter().filter(|w| w.contains("Edge server")).collect();
    assert!(edge_warnings.is_empty(), "{edge_warnings:?}");
    assert_eq!(
        obs.deployment.edge_pools,
        observed_with_product(&d, Product::SkypeForBusiness2015)
    );
    assert_eq!(bed.round_trips(), 1);
    let script = bed.state()["lastScript"].as_str().unwrap().to_string();
    assert!(!script.contains("-CsWindowsService -ComputerName"), "{script}");
    assert!(!script.contains("S3cr3t"));
    assert_eq!(
        fan_outs(&bed),
        vec![json!({
            "cmdlet": "Get-CsWindowsService",
            "computers": ["edgeserver1.contoso.com", "edgeserver1b.contoso.com", "edgeserver2.contoso.com"],
            "throttleLimit": 8,
            "credential": true
        })]
    );
    // Without the credential, every workgroup Edge server refuses, each
    // reported for itself.
    let mut without = bed.config();
    without.edge_credential_file = None;
    let obs = with_state(&bed, without).observe().await.unwrap();
    let edge_warnings = obs.warnings.iter().filter(|w| w.contains("Edge server")).count();
    assert_eq!(edge_warnings, 3, "{:?}", obs.warnings);
    for (pool, p) in &obs.deployment.edge_pools {
        for (c, comp) in &p.computers {
            assert!(!comp.reachable, "{pool} {c}");
            assert!(
                obs.warnings.iter().any(|w| w.starts_with(&format!(
                    "Edge server {c} is unreachable: access denied (the credential was refused) (AccessDenied,PSSessionStateBroken): check the user and password in the file EDGEFED_EDGE_CREDENTIAL_FILE names"
                ))),
                "{c}: {:?}",
                obs.warnings
            );
        }
    }
}

#[tokio::test]
async fn observe_says_why_each_edge_server_is_unreachable() {
    for (remoting, reason, id, advice) in [
        (
            "refused",
            "WinRM refused the connection",
            "CannotConnect",
            "winrm quickconfig",
        ),
        (
            "access-denied",
            "access denied (the credential was refused)",
            "AccessDenied",
            "EDGEFED_EDGE_CREDENTIAL_FILE",
        ),
        (
            "name-not-resolved",
            "its name does not resolve",
            "ComputerNotFound",
            "resolves the Edge server's internal FQDN",
        ),
        (
            "timed-out",
            "the connection timed out",
            "WinRMOperationTimeout",
            "does not drop TCP 5985 / 5986",
        ),
        (
            "not-trusted",
            "the server is not trusted for a workgroup logon",
            "ServerNotTrusted",
            "TrustedHosts",
        ),
    ] {
        let bed = Bed::new(
            &two_server_seed(),
            json!({ "edgeHosts": { "edgeserver1b.contoso.com": { "remoting": remoting } } }),
        );
        let obs = backend(&bed).observe().await.unwrap();
        let pool = &obs.deployment.edge_pools[&f("edgepool1.contoso.com")];
        assert!(!pool.computers[&f("edgeserver1b.contoso.com")].reachable, "{remoting}");
        assert!(
            pool.computers[&f("edgeserver1.contoso.com")].reachable,
            "{remoting}: the other server answers"
        );
        let edge_warnings: Vec<&String> = obs.warnings.iter().filter(|w| w.contains("Edge server")).collect();
        assert_eq!(edge_warnings.len(), 1, "{remoting}: {:?}", obs.warnings);
        let w = edge_warnings[0];
        assert!(
            w.starts_with(&format!(
                "Edge server edgeserver1b.contoso.com is unreachable: {reason} ({id},PSSessionStateBroken): "
            )) && w.contains(advice)
                && w.contains("PowerShell said: Connecting to remote server edgeserver1b.contoso.com failed"),
            "{remoting}: {w}"
        );
        assert_eq!(fan_outs(&bed).len(), 1, "{remoting}");
    }
}

#[tokio::test]
async fn a_wave_of_starts_is_one_fan_out_and_each_server_answers_for_itself() {
    let bed = Bed::new(
        &two_server_seed(),
        json!({ "edgeHosts": { "edgeserver1b.contoso.com": { "remoting": "refused" } } }),
    );
    let b = backend(&bed);
    b.observe().await.unwrap();
    let before = bed.round_trips();
    let start = |c: &str| Operation::StartServices {
        pool: f("edgepool1.contoso.com"),
        computer: f(c),
    };
    let ops = vec![
        start("edgeserver1.contoso.com"),
        Operation::StopServices {
            pool: f("edgepool2.contoso.com"),
            computer: f("edgeserver2.contoso.com"),
        },
        start("edgeserver1b.contoso.com"),
    ];
    let rs = b.apply_batch(&ops).await;
    assert_eq!(bed.round_trips(), before + 1);
    assert!(rs[0].is_ok(), "{:?}", rs[0]);
    assert!(rs[1].is_ok(), "{:?}", rs[1]);
    match &rs[2] {
        Err(BackendError::Unreachable { target, message, .. }) => {
            assert_eq!(target, "edgeserver1b.contoso.com");
            assert!(
                message.contains("WinRM refused the connection (CannotConnect,PSSessionStateBroken)"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    let fans = fan_outs(&bed);
    assert_eq!(fans.len(), 3, "observe, then one fan-out per verb: {fans:?}");
    assert_eq!(fans[1]["cmdlet"], "Start-CsWindowsService");
    assert_eq!(
        fans[1]["computers"],
        json!(["edgeserver1.contoso.com", "edgeserver1b.contoso.com"])
    );
    assert_eq!(fans[1]["throttleLimit"], 8, "--parallelism's default");
    assert_eq!(fans[1]["credential"], true);
    assert_eq!(fans[2]["cmdlet"], "Stop-CsWindowsService");
    assert_eq!(
        bed.log(),
        vec![
            "Start-CsWindowsService edgeserver1.contoso.com",
            "Stop-CsWindowsService edgeserver2.contoso.com"
        ]
    );
    let d = bed.deployment();
    assert_eq!(
        d.edge_pools[&f("edgepool1.contoso.com")].computers[&f("edgeserver1b.contoso.com")].services,
        ServiceState::Stopped
    );
}

/// While the Central Management Server is down the double refuses what
/// writes to its store — as the lab does — and
/// `Invoke-CsManagementServerFailover` goes only to the database the topology
/// defines; afterwards the same writes go through.
#[test]
fn the_double_refuses_writes_to_the_store_while_the_central_management_server_is_down() {
    let mut d = seed_deployment();
    d.central_management = Some(CentralManagement {
        pool: f("fepool3.contoso.com"),
        available: true,
        backup: Some(CentralManagementBackup {
            pool: f("fepool2.contoso.com"),
            sql_server: f("sql2.contoso.com"),
            sql_instance: None,
        }),
    });
    d.front_end_pools.insert(
        f("fepool2.contoso.com"),
        FrontEndPool {
            site: "Site2".into(),
            media_edge_pool: Some(f("edgepool2.contoso.com")),
            backup_pool: None,
            failed_over: FailoverState::NotFailedOver,
            computers: BTreeMap::from([(f("fe2.contoso.com"), computer(true, ServiceState::Running))]),
        },
    );
    for c in d
        .front_end_pools
        .get_mut(&f("fepool3.contoso.com"))
        .unwrap()
        .computers
        .values_mut()
    {
        c.reachable = false;
    }
    let bed = Bed::new(&d, json!({}));
    let writes = [
        "Set-CsSite -Identity 'Site1' -XmppFederationRoute 'EdgeServer:edgepool2.contoso.com'",
        "Set-CsEdgeServer -Identity 'EdgeServer:edgepool1.contoso.com' -Registrar 'Registrar:fepool1.contoso.com'",
        "Invoke-CsPoolFailover -PoolFqdn 'fepool1.contoso.com' -DisasterMode -Confirm:$false",
    ];
    let steps: Vec<String> = writes
        .iter()
        .enumerate()
        .map(|(i, w)| format!("Edgefed-Step 'a{i}' {{ {w} }}"))
        .collect();
    let r = run_steps(&bed, &steps);
    for i in 0..writes.len() {
        let step = &r[format!("a{i}")];
        assert_eq!(step["ok"], false, "{step}");
        let m = step["message"].as_str().unwrap_or_default();
        assert!(
            m.contains("Central Management store on pool \"fepool3.contoso.com\"")
                && m.contains("Invoke-CsManagementServerFailover"),
            "{m}"
        );
    }
    assert!(bed.log().is_empty(), "{:?}", bed.log());
    let wrong = run_steps(
        &bed,
        &["Edgefed-Step 'c0' { Invoke-CsManagementServerFailover -BackupSqlServerFqdn 'sql9.contoso.com' -Force -Confirm:$false }".to_string()],
    );
    assert!(
        wrong["c0"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("database defined in the Topology Builder"),
        "{wrong}"
    );
    let ok = run_steps(
        &bed,
        &["Edgefed-Step 'c1' { Invoke-CsManagementServerFailover -BackupSqlServerFqdn 'sql2.contoso.com' -Force -Confirm:$false }".to_string()],
    );
    assert_eq!(ok["c1"]["ok"], true, "{ok}");
    assert_eq!(
        bed.deployment().central_management.unwrap().pool,
        f("fepool2.contoso.com")
    );
    let after = run_steps(&bed, &steps[..1]);
    assert_eq!(after["a0"]["ok"], true, "{after}");
}

// ---------------------------------------------------------------------------
// `--parallelism`: setup and service control fan out to the Edge servers in
// one round trip, at most N at once.

/// The seed with four servers in EdgePool1.
fn four_server_seed() -> Deployment {
    let mut d = seed_deployment();
    let pool = d.edge_pools.get_mut(&f("edgepool1.contoso.com")).unwrap();
    for c in ["edgeserver1b", "edgeserver1c", "edgeserver1d"] {
        pool.computers
            .insert(f(&format!("{c}.contoso.com")), computer(true, ServiceState::Stopped));
    }
    d
}

/// A backend whose double takes Lync's time, scaled so Bootstrapper.exe
/// takes `setup_ms` per server, fanning out to `parallelism` at once.
fn with_latency(bed: &Bed, parallelism: u32, setup_ms: u32) -> PowerShellBackend {
    let mut config = bed.config();
    config.parallelism = parallelism;
    config.launcher = Launcher {
        program: "env".into(),
        args: vec![
            format!("EDGEFED_SHELL_DOUBLE_STATE={}", bed.state.display()),
            "EDGEFED_DOUBLE_LATENCY_SCALE=0.001".into(),
            format!("EDGEFED_DOUBLE_LATENCY=Bootstrapper.exe={setup_ms},Start-CsWindowsService={setup_ms}"),
            DOUBLE.into(),
        ],
    };
    PowerShellBackend::new(config)
}

fn setups(d: &Deployment) -> Vec<Operation> {
    d.edge_pools[&f("edgepool1.contoso.com")]
        .computers
        .keys()
        .map(|c| Operation::RunSetup {
            pool: f("edgepool1.contoso.com"),
            computer: c.clone(),
        })
        .collect()
}

#[tokio::test]
async fn setup_on_four_servers_runs_concurrently_with_parallelism_4_and_serially_with_1() {
    for (parallelism, in_flight) in [(4, 4), (1, 1)] {
        let d = four_server_seed();
        let bed = Bed::new(&d, json!({ "quiet": true }));
        let b = with_latency(&bed, parallelism, 300);
        b.observe().await.unwrap();
        let trips = bed.round_trips();
        let results = b.apply_batch(&setups(&d)).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert_eq!(bed.round_trips(), trips + 1, "one round trip for the four setups");
        let all: Vec<Value> = serde_json::from_value(bed.state()["fanOuts"].clone()).unwrap();
        let setup = all.last().unwrap();
        assert_eq!(setup["cmdlet"], "Bootstrapper.exe");
        assert_eq!(setup["computers"].as_array().unwrap().len(), 4);
        assert_eq!(setup["throttleLimit"], parallelism);
        assert_eq!(setup["maxInFlight"], in_flight, "--parallelism {parallelism}: {setup}");
        let ran = bed.log().iter().filter(|l| l.starts_with("Bootstrapper.exe")).count();
        assert_eq!(ran, 4);
    }
}

#[tokio::test]
async fn a_setup_failure_on_one_server_names_it_and_the_others_succeed() {
    let d = four_server_seed();
    let bed = Bed::new(
        &d,
        json!({ "quiet": true, "edgeHosts": { "edgeserver1c.contoso.com": { "remoting": "access-denied" } } }),
    );
    let b = with_latency(&bed, 4, 0);
    b.observe().await.unwrap();
    let ops = setups(&d);
    let results = b.apply_batch(&ops).await;
    for (op, r) in ops.iter().zip(&results) {
        let Operation::RunSetup { computer, .. } = op else {
            unreachable!()
        };
        if computer.as_str() == "edgeserver1c.contoso.com" {
            let m = r.as_ref().unwrap_err().to_string();
            assert!(
                m.contains("edgeserver1c.contoso.com") && m.contains("access denied"),
                "{m}"
            );
        } else {
            assert!(r.is_ok(), "{computer}: {r:?}");
        }
    }
    let log = bed.log();
    let ran = log.iter().filter(|l| l.starts_with("Bootstrapper.exe")).count();
    assert_eq!(ran, 3, "{log:?}");
}

#[tokio::test]
async fn starts_fan_out_with_the_parallelism_as_throttle_limit() {
    let d = four_server_seed();
    let bed = Bed::new(&d, json!({ "quiet": true }));
    let b = with_latency(&bed, 2, 200);
    b.observe().await.unwrap();
    let ops: Vec<Operation> = d.edge_pools[&f("edgepool1.contoso.com")]
        .computers
        .keys()
        .map(|c| Operation::StartServices {
            pool: f("edgepool1.contoso.com"),
            computer: c.clone(),
        })
        .collect();
    let results = b.apply_batch(&ops).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let all: Vec<Value> = serde_json::from_value(bed.state()["fanOuts"].clone()).unwrap();
    let start = all.last().unwrap();
    assert_eq!(start["cmdlet"], "Start-CsWindowsService");
    assert_eq!(start["throttleLimit"], 2);
    assert_eq!(start["maxInFlight"], 2, "{start}");
}

#[path = "support/instant.rs"]
mod instant;

/// The whole-site failover (Site1 lost with its Central Management Server)
/// as the CLI runs it: planned by the planner, run by the executor through
/// the PowerShell backend against a double that takes Lync's time (scaled)
/// and whose replicas lag behind each CMS update for two polls.
#[tokio::test]
async fn a_site_failover_runs_independent_calls_side_by_side_never_two_topology_writes_and_starts_services_after_replication()
 {
    let deployment = edgefed::backend::lab::Scenario::SiteDown
        .lab()
        .expect("the site-down scenario")
        .deployment();
    let bed = Bed::new(&deployment, json!({ "quiet": true, "replicationLagPolls": 2 }));
    let mut config = bed.config();
    config.launcher = Launcher {
        program: "env".into(),
        args: vec![
            format!("EDGEFED_SHELL_DOUBLE_STATE={}", bed.state.display()),
            "EDGEFED_DOUBLE_LATENCY_SCALE=0.0005".into(),
            DOUBLE.into(),
        ],
    };
    let ps = std::sync::Arc::new(PowerShellBackend::new(config));
    let observed = ps.observe().await.expect("observe");
    let desired =
        edgefed::document::parse("site-down.yaml", include_bytes!("fixtures/site-down.yaml")).expect("document");
    let plan = edgefed::plan::plan(&desired, &observed.deployment).expect("plan");
    let writes = plan
        .actions
        .iter()
        .filter(|a| a.operation.kind().writes_published_topology())
        .count();
    assert!(
        writes >= 4,
        "the failover moves both routes of both sites: {:#?}",
        plan.actions
    );
    let backend = std::sync::Arc::new(edgefed::backend::Combined::new(
        ps.clone(),
        std::sync::Arc::new(instant::InstantDns),
        std::sync::Arc::new(instant::InstantProbes),
        Vec::new(),
    ));
    let report = edgefed::executor::execute(&plan.actions, backend, |_| {}).await;
    assert!(report.complete(), "{:#?}", report.outcomes);
    let st = bed.state();
    // The pool failovers (600 model seconds each) overlap other calls.
    assert!(
        st["maxShellsInFlight"].as_u64().unwrap_or(0) >= 2,
        "{}",
        st["maxShellsInFlight"]
    );
    // Each topology write reads and writes back the whole topology.
    assert_eq!(st["maxTopologyWritesInFlight"], 1);
    assert_eq!(st["shellsInFlight"], 0);
    // The XMPP bracket's replication wait waited for the route change, not
    // only for the publish: no Edge server started on a stale replica.
    assert_eq!(st["servicesStartedOnStaleReplica"], json!([]), "{}", st["log"]);
    assert!(
        bed.log()
            .iter()
            .any(|l| l.starts_with("Set-CsSite Site1 -XmppFederationRoute"))
    );
}

#[test]
fn ready_operations_go_out_as_a_fan_out_per_verb_one_for_setup_one_for_the_edits_and_the_rest_alone() {
    let start = |c: &str| Operation::StartServices {
        pool: f("edgepool1.contoso.com"),
        computer: f(c),
    };
    let stop = |c: &str| Operation::StopServices {
        pool: f("edgepool2.contoso.com"),
        computer: f(c),
    };
    let setup = |c: &str| Operation::RunSetup {
        pool: f("edgepool1.contoso.com"),
        computer: f(c),
    };
    let ops = vec![
        start("edgeserver1a.contoso.com"),                       // 0
        sample_operation(OperationKind::InvokePoolFailover),     // 1
        stop("edgeserver2a.contoso.com"),                        // 2
        start("edgeserver1b.contoso.com"),                       // 3
        sample_operation(OperationKind::DisableSipFederation),   // 4
        setup("edgeserver1a.contoso.com"),                       // 5
        sample_operation(OperationKind::SetSiteFederationRoute), // 6
        sample_operation(OperationKind::EnableSipFederation),    // 7
        setup("edgeserver1b.contoso.com"),                       // 8
        stop("edgeserver2b.contoso.com"),                        // 9
        sample_operation(OperationKind::WaitForReplication),     // 10
    ];
    let bed = Bed::new(&seed_deployment(), json!({}));
    let calls = edgefed::backend::LyncSystem::calls(&backend(&bed), &ops);
    assert_eq!(
        calls,
        [
            vec![0, 3], // one start fan-out
            vec![1],    // the pool failover alone
            vec![2, 9], // one stop fan-out
            vec![4, 7], // the topology edits, staged together
            vec![5, 8], // one setup fan-out
            vec![6],    // Set-CsSite alone
            vec![10],   // the replication wait alone
        ]
    );
    // As many shells at once as --parallelism.
    let mut config = bed.config();
    config.parallelism = 3;
    assert_eq!(
        edgefed::backend::LyncSystem::max_concurrency(&with_state(&bed, config)),
        3
    );
}
