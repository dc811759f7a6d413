//! A generated estate for scale tests and benches: `sites` sites, each with
//! two Edge pools of four servers and two Front End pools, in the shape of
//! the lab estate the plan benchmark uses (every route on the first pool,
//! SIP federation on it only, each Front End pool backed up by the next).
//! The state file asks for it with `estateSites` and an empty deployment,
//! so a 10,000-site state is a few bytes until the double first writes it.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use edgefed::model::{
    CentralManagement, Computer, Deployment, EdgePool, FailoverState, Fqdn, FrontEndPool, ServiceState, Site,
};

/// Edge servers per Edge pool.
pub const SERVERS_PER_POOL: usize = 4;

fn fqdn(text: &str) -> Result<Fqdn, String> {
    Fqdn::parse(text).map_err(|e| format!("estate: {text}: {e}"))
}

/// The `n`-th documentation address (RFC 5737), cycling through the three
/// networks.
fn documentation_address(n: usize) -> IpAddr {
    let (a, b, c) = [(192, 0, 2), (198, 51, 100), (203, 0, 113)][n % 3];
    let d = u8::try_from((n / 3) % 254 + 1).unwrap_or(1);
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn running() -> Computer {
    Computer {
        reachable: true,
        services: ServiceState::Running,
        setup_pending: false,
    }
}

/// The deployment of a `sites`-site estate.
///
/// # Errors
/// A message when a generated name is not an FQDN (it always is).
pub fn generate(sites: usize) -> Result<Deployment, String> {
    let first = fqdn("edge0.contoso.com")?;
    let mut d = Deployment {
        signature: "00000000-0000-4000-8000-00000000e57a".into(),
        ..Deployment::default()
    };
    for i in 0..sites {
        d.sites.insert(
            format!("Site{i}"),
            Site {
                federation_route: Some(first.clone()),
                xmpp_federation_route: Some(first.clone()),
            },
        );
    }
    let pools = 2 * sites;
    for p in 0..pools {
        let mut computers = BTreeMap::new();
        for c in 0..SERVERS_PER_POOL {
            computers.insert(fqdn(&format!("edge{p}-{c}.contoso.com"))?, running());
        }
        d.edge_pools.insert(
            fqdn(&format!("edge{p}.contoso.com"))?,
            EdgePool {
                site: format!("Site{}", p % sites),
                sip_federation: p == 0,
                xmpp_federation: true,
                next_hop: Some(fqdn(&format!("fe{p}.contoso.com"))?),
                external_addresses: vec![documentation_address(p)],
                public_addresses_unknown: false,
                product: None,
                access_edge_fqdn: None,
                computers,
            },
        );
        d.front_end_pools.insert(
            fqdn(&format!("fe{p}.contoso.com"))?,
            FrontEndPool {
                site: format!("Site{}", p % sites),
                media_edge_pool: Some(fqdn(&format!("edge{p}.contoso.com"))?),
                backup_pool: Some(fqdn(&format!("fe{}.contoso.com", (p + 1) % pools))?),
                failed_over: FailoverState::NotFailedOver,
                computers: BTreeMap::from([(fqdn(&format!("fe{p}-0.contoso.com"))?, running())]),
            },
        );
    }
    if pools > 0 {
        d.central_management = Some(CentralManagement {
            pool: fqdn("fe0.contoso.com")?,
            available: true,
            backup: None,
        });
    }
    Ok(d)
}
