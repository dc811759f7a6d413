//! Test-only helpers for planner tests: a small builder of observed
//! deployments and a desired-state document from the `spec` alone. Names are
//! contoso.com's; addresses are RFC 5737 documentation addresses.

use std::net::IpAddr;

use crate::document::Desired;
use crate::model::{Computer, Deployment, DnsRecord, EdgePool, Fqdn, FrontEndPool, ServiceState, Site};

/// An FQDN from a literal.
pub(crate) fn fqdn(s: &str) -> Fqdn {
    Fqdn::parse(s).expect("a valid FQDN literal")
}

/// Action `id`: start the services of `computer` (its own pool), after
/// `deps` with their kind of edge and no reasons. For executor and
/// progress tests, where only the DAG matters.
pub(crate) fn start_services(id: usize, computer: &str, deps: &[(usize, crate::plan::Wait)]) -> crate::plan::Action {
    let computer = fqdn(computer);
    crate::plan::Action {
        id,
        operation: crate::plan::Operation::StartServices {
            pool: computer.clone(),
            computer,
        },
        phase: crate::plan::Phase::Services,
        depends_on: deps
            .iter()
            .map(|&(on, wait)| crate::plan::Dependency {
                on,
                wait,
                reason: String::new(),
            })
            .collect(),
        reason: String::new(),
    }
}

/// A desired-state document with this `spec:` body (indented by two spaces).
pub(crate) fn desired(spec: &str) -> Desired {
    let text = format!("apiVersion: edgefed/v1\nkind: FederationTopology\nspec:\n{spec}");
    crate::document::parse("test.yaml", text.as_bytes()).unwrap_or_else(|d| panic!("{}", d.render()))
}

/// Builds an observed [`Deployment`] step by step.
#[derive(Default)]
pub(crate) struct DeploymentBuilder {
    d: Deployment,
}

impl DeploymentBuilder {
    /// An empty deployment.
    pub fn new() -> Self {
        Self::default()
    }

    /// A site with its SIP and XMPP federation routes.
    pub fn site(mut self, name: &str, federation: Option<&str>, xmpp: Option<&str>) -> Self {
        self.d.sites.insert(
            name.to_string(),
            Site {
                federation_route: federation.map(fqdn),
                xmpp_federation_route: xmpp.map(fqdn),
            },
        );
        self
    }

    /// An Edge pool with XMPP federation enabled, SIP federation off, one
    /// external address, and reachable servers in the given state.
    pub fn edge_pool(mut self, pool: &str, site: &str, address: &str, servers: &[(&str, ServiceState)]) -> Self {
        let address: IpAddr = address.parse().expect("an address literal");
        self.d.edge_pools.insert(
            fqdn(pool),
            EdgePool {
                site: site.to_string(),
                sip_federation: false,
                xmpp_federation: true,
                next_hop: None,
                external_addresses: vec![address],
                public_addresses_unknown: false,
                product: None,
                access_edge_fqdn: None,
                computers: servers
                    .iter()
                    .map(|(name, services)| {
                        (
                            fqdn(name),
                            Computer {
                                reachable: true,
                                services: *services,
                                setup_pending: false,
                            },
                        )
                    })
                    .collect(),
            },
        );
        self
    }

    /// Turns SIP federation on for an Edge pool (as published).
    pub fn sip_federation(mut self, pool: &str) -> Self {
        self.edge(pool).sip_federation = true;
        self
    }

    /// Sets an Edge pool's next hop.
    pub fn next_hop(mut self, pool: &str, front_end: &str) -> Self {
        self.edge(pool).next_hop = Some(fqdn(front_end));
        self
    }

    /// A Front End pool.
    pub fn front_end(
        mut self,
        pool: &str,
        site: &str,
        media: Option<&str>,
        backup: Option<&str>,
        failed_over: bool,
    ) -> Self {
        self.d.front_end_pools.insert(
            fqdn(pool),
            FrontEndPool {
                site: site.to_string(),
                media_edge_pool: media.map(fqdn),
                backup_pool: backup.map(fqdn),
                failed_over: crate::model::FailoverState::known(failed_over),
                computers: Default::default(),
            },
        );
        self
    }

    /// Marks a server as unreachable.
    pub fn unreachable(mut self, computer: &str) -> Self {
        self.computer(computer).reachable = false;
        self
    }

    /// Marks a server as still needing setup.
    pub fn setup_pending(mut self, computer: &str) -> Self {
        self.computer(computer).setup_pending = true;
        self
    }

    /// Gives an Edge pool its Access Edge external FQDN.
    pub fn access_edge(mut self, pool: &str, fqdn_text: &str) -> Self {
        self.edge(pool).access_edge_fqdn = Some(fqdn(fqdn_text));
        self
    }

    /// Adds an observed DNS record set.
    pub fn dns(mut self, record: DnsRecord) -> Self {
        self.d.dns.push(record);
        self
    }

    /// The deployment.
    pub fn build(self) -> Deployment {
        self.d
    }

    fn edge(&mut self, pool: &str) -> &mut EdgePool {
        self.d
            .edge_pools
            .get_mut(&fqdn(pool))
            .expect("the Edge pool was added first")
    }

    fn computer(&mut self, computer: &str) -> &mut Computer {
        let name = fqdn(computer);
        self.d
            .edge_pools
            .values_mut()
            .find_map(|p| p.computers.get_mut(&name))
            .expect("the server was added first")
    }
}
