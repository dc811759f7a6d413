//! The action-kind table: one row per kind of action, holding everything
//! edgefed knows about the kind apart from its fields — its name in plans,
//! its rank among kinds, the phase it normally runs in, the system that
//! performs it, and the procedure step it carries out.
//!
//! Adding a kind: add a variant to [`OperationKind`] and to
//! [`crate::plan::Operation`]; the exhaustive matches in [`OperationKind::row`]
//! and [`crate::plan::Operation::kind`] then point at every place that needs
//! a decision (the planner, each system that performs kinds, the runbook).

use serde::{Deserialize, Serialize};

/// When an action runs, relative to the others: the first tie-break of the
/// printed order. The phases follow the failover and failback procedures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum Phase {
    /// Start (or, for the XMPP bracket, stop) Edge services.
    Services,
    /// Move an Edge pool's next hop.
    NextHop,
    /// Edit the topology document (SIP federation flags, media associations).
    TopologyEdit,
    /// Publish the edited topology, once.
    Publish,
    /// Run setup on the servers of a pool that gained federation.
    Setup,
    /// Change site federation routes.
    SiteRoutes,
    /// Change external DNS.
    Dns,
    /// Start the Edge services again: the end of the XMPP bracket.
    XmppBracketEnd,
    /// Probe the federation ports.
    PortChecks,
    /// Fail Front End pools over or back.
    FrontEndPools,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Self; 10] = [
        Self::Services,
        Self::NextHop,
        Self::TopologyEdit,
        Self::Publish,
        Self::Setup,
        Self::SiteRoutes,
        Self::Dns,
        Self::XmppBracketEnd,
        Self::PortChecks,
        Self::FrontEndPools,
    ];

    /// The phase's number as written in plans (1–10).
    #[must_use]
    pub fn number(self) -> u8 {
        match self {
            Self::Services => 1,
            Self::NextHop => 2,
            Self::TopologyEdit => 3,
            Self::Publish => 4,
            Self::Setup => 5,
            Self::SiteRoutes => 6,
            Self::Dns => 7,
            Self::XmppBracketEnd => 8,
            Self::PortChecks => 9,
            Self::FrontEndPools => 10,
        }
    }
}

impl From<Phase> for u8 {
    fn from(phase: Phase) -> Self {
        phase.number()
    }
}

impl TryFrom<u8> for Phase {
    type Error = String;

    fn try_from(n: u8) -> Result<Self, Self::Error> {
        Self::ALL
            .into_iter()
            .find(|p| p.number() == n)
            .ok_or_else(|| format!("phase {n} does not exist (phases are 1 to 10)"))
    }
}

/// The system that performs a kind of action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum System {
    /// A Lync Management Shell operation (or the lab's model of one).
    Lync,
    /// An edit of the topology document, staged until the publish.
    TopologyEdit,
    /// An external DNS update.
    Dns,
    /// A port probe from outside.
    Probe,
}

/// Every kind of action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OperationKind {
    /// `start-services`.
    StartServices,
    /// `stop-services`.
    StopServices,
    /// `set-edge-next-hop`.
    SetEdgeNextHop,
    /// `disable-sip-federation`.
    DisableSipFederation,
    /// `enable-sip-federation`.
    EnableSipFederation,
    /// `set-media-edge-pool`.
    SetMediaEdgePool,
    /// `edit-edge-next-hop`.
    EditEdgeNextHop,
    /// `publish-topology`.
    PublishTopology,
    /// `run-setup`.
    RunSetup,
    /// `set-site-federation-route`.
    SetSiteFederationRoute,
    /// `set-site-xmpp-route`.
    SetSiteXmppRoute,
    /// `set-dns-srv`.
    SetDnsSrv,
    /// `set-dns-a`.
    SetDnsA,
    /// `wait-for-replication`.
    WaitForReplication,
    /// `verify-port`.
    VerifyPort,
    /// `invoke-pool-failover`.
    InvokePoolFailover,
    /// `invoke-pool-failback`.
    InvokePoolFailback,
    /// `invoke-cms-failover`.
    InvokeCmsFailover,
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub struct KindRow {
    /// The kind as written in plans and in the lab's fault list.
    pub name: &'static str,
    /// The phase the kind runs in (`start-services` also ends the XMPP
    /// bracket, in [`Phase::XmppBracketEnd`]).
    pub phase: Phase,
    /// The system that performs it.
    pub system: System,
    /// The procedure step it carries out, as the runbook cites it.
    pub step: &'static str,
    /// Whether a Management Shell cmdlet of this kind writes the published
    /// topology itself (`Set-CsSite` and `Set-CsEdgeServer` change the
    /// topology's site and Edge objects and its signature). In a run that
    /// publishes, such an action runs after the publish: before it, the
    /// publish of the document staged earlier would undo it, or be refused
    /// because the signature changed.
    pub writes_published_topology: bool,
}

impl OperationKind {
    /// Every kind, in rank order.
    pub const ALL: [Self; 18] = [
        Self::StartServices,
        Self::StopServices,
        Self::SetEdgeNextHop,
        Self::DisableSipFederation,
        Self::EnableSipFederation,
        Self::SetMediaEdgePool,
        Self::EditEdgeNextHop,
        Self::PublishTopology,
        Self::RunSetup,
        Self::SetSiteFederationRoute,
        Self::SetSiteXmppRoute,
        Self::SetDnsSrv,
        Self::SetDnsA,
        Self::WaitForReplication,
        Self::VerifyPort,
        Self::InvokePoolFailover,
        Self::InvokePoolFailback,
        Self::InvokeCmsFailover,
    ];

    /// The kind's row.
    #[must_use]
    pub const fn row(self) -> KindRow {
        const fn row(name: &'static str, phase: Phase, system: System, step: &'static str) -> KindRow {
            KindRow {
                name,
                phase,
                system,
                step,
                writes_published_topology: false,
            }
        }
        /// A row of a cmdlet that writes the published topology itself.
        const fn writes_topology(row: KindRow) -> KindRow {
            KindRow {
                writes_published_topology: true,
                ..row
            }
        }
        use Phase as P;
        use System as S;
        match self {
            Self::StartServices => row(
                "start-services",
                P::Services,
                S::Lync,
                "Failback step 1: on the Edge pool that is available again, start the Edge services",
            ),
            Self::StopServices => row(
                "stop-services",
                P::Services,
                S::Lync,
                "XMPP failover step 2: stop the Edge services on each server of the pool that will carry XMPP federation",
            ),
            Self::SetEdgeNextHop => writes_topology(row(
                "set-edge-next-hop",
                P::NextHop,
                S::Lync,
                "Front End pool failover: move the Edge pool's next hop off the Front End pool before failing it over (Set-CsEdgeServer -Registrar)",
            )),
            Self::DisableSipFederation => row(
                "disable-sip-federation",
                P::TopologyEdit,
                S::TopologyEdit,
                "SIP failover steps 1-2 / failback step 2: clear 'Enable federation for this Edge pool (Port 5061)' on the pool currently configured for federation",
            ),
            Self::EnableSipFederation => row(
                "enable-sip-federation",
                P::TopologyEdit,
                S::TopologyEdit,
                "SIP failover steps 3-4 / failback step 2: select 'Enable federation for this Edge pool (Port 5061)' on the pool that is to carry federation",
            ),
            Self::SetMediaEdgePool => row(
                "set-media-edge-pool",
                P::TopologyEdit,
                S::TopologyEdit,
                "SIP failover, closing note / failback step 4: 'Associate Edge pool (for media components)' of the Front End pool names the Edge pool it is to use; published, which 'Changing the Edge pool associated with a Front End pool' forgets",
            ),
            Self::EditEdgeNextHop => row(
                "edit-edge-next-hop",
                P::TopologyEdit,
                S::TopologyEdit,
                "Front End pool failover: move the Edge pool's next hop off the Front End pool, in the document this run publishes (its Edge service's dependency on a Registrar)",
            ),
            Self::PublishTopology => row(
                "publish-topology",
                P::Publish,
                S::Lync,
                "SIP failover step 5 / failback step 2: publish the topology (one document with every edit, disable before enable)",
            ),
            Self::RunSetup => row(
                "run-setup",
                P::Setup,
                S::Lync,
                "SIP failover steps 6-7 / failback step 2: on the Edge server, Deployment Wizard 'Setup or Remove Lync Server Components' > Run Again",
            ),
            Self::SetSiteFederationRoute => writes_topology(row(
                "set-site-federation-route",
                P::SiteRoutes,
                S::Lync,
                "Site federation route (the procedures assume one site): the site's SIP federation route names the pool that carries federation (an Edge pool FQDN, not a server)",
            )),
            Self::SetSiteXmppRoute => writes_topology(row(
                "set-site-xmpp-route",
                P::SiteRoutes,
                S::Lync,
                "XMPP failover step 3 / failback step 3: Set-CsSite -XmppFederationRoute (the procedures' -XmppExternalFederationRoute does not exist; the value is the pool, not a server)",
            )),
            Self::SetDnsSrv => row(
                "set-dns-srv",
                P::Dns,
                S::Dns,
                "XMPP failover step 5 / failback step 3: the SRV record resolves to the Edge pool that carries the federation",
            ),
            Self::SetDnsA => row(
                "set-dns-a",
                P::Dns,
                S::Dns,
                "XMPP failover step 4 / failback step 3: the A record points at the pool the route names (in the failback, not EdgeServer2: a copy error in the procedure)",
            ),
            Self::WaitForReplication => row(
                "wait-for-replication",
                P::XmppBracketEnd,
                S::Lync,
                "XMPP failover, before step 7: the route change must have replicated to the Edge server before its services start again (Get-CsManagementStoreReplicationStatus)",
            ),
            Self::VerifyPort => row(
                "verify-port",
                P::PortChecks,
                S::Probe,
                "XMPP failover step 6 / failback step 3: verify the pool that now hosts the federation has the port open externally",
            ),
            Self::InvokePoolFailover => row(
                "invoke-pool-failover",
                P::FrontEndPools,
                S::Lync,
                "Front End pool failover: Invoke-CsPoolFailover -DisasterMode, after the Edge next hop moved",
            ),
            Self::InvokePoolFailback => row(
                "invoke-pool-failback",
                P::FrontEndPools,
                S::Lync,
                "Failback step 5: the Front End pool that failed too is failed back",
            ),
            Self::InvokeCmsFailover => row(
                "invoke-cms-failover",
                P::Services,
                S::Lync,
                "Pool failover steps 3-5: the Central Management Server's pool is down, so fail it over to the backup pool (Invoke-CsManagementServerFailover) before any publish, Set-CsSite, next-hop change or pool failover",
            ),
        }
    }

    /// The kind as written in plans (`start-services`, …).
    #[must_use]
    pub const fn name(self) -> &'static str {
        self.row().name
    }

    /// The rank among kinds: the second tie-break of the printed order,
    /// the kind's place in [`OperationKind::ALL`].
    #[must_use]
    pub const fn rank(self) -> u8 {
        self as u8
    }

    /// The system that performs the kind.
    #[must_use]
    pub const fn system(self) -> System {
        self.row().system
    }

    /// Whether the kind's cmdlet writes the published topology itself, so
    /// that in a run that publishes it must come after the publish.
    #[must_use]
    pub const fn writes_published_topology(self) -> bool {
        self.row().writes_published_topology
    }

    /// The procedure step an action of this kind carries out in `phase`.
    #[must_use]
    pub fn step(self, phase: Phase) -> &'static str {
        match (self, phase) {
            (Self::StartServices, Phase::XmppBracketEnd) => {
                "XMPP failover step 7: start the Edge services again (end of the XMPP bracket)"
            }
            _ => self.row().step,
        }
    }

    /// Whether the kind writes to the Central Management store (a publish,
    /// `Set-CsSite`, `Set-CsEdgeServer`, a pool failover or failback, or a
    /// topology edit that the publish carries): such actions fail while the
    /// Central Management Server is down, so they wait for its failover.
    #[must_use]
    pub const fn writes_central_management(self) -> bool {
        match self {
            Self::SetEdgeNextHop
            | Self::DisableSipFederation
            | Self::EnableSipFederation
            | Self::SetMediaEdgePool
            | Self::EditEdgeNextHop
            | Self::PublishTopology
            | Self::SetSiteFederationRoute
            | Self::SetSiteXmppRoute
            | Self::InvokePoolFailover
            | Self::InvokePoolFailback => true,
            Self::StartServices
            | Self::StopServices
            | Self::RunSetup
            | Self::SetDnsSrv
            | Self::SetDnsA
            | Self::VerifyPort
            | Self::WaitForReplication
            | Self::InvokeCmsFailover => false,
        }
    }

    /// The kind named `name`, if any.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl std::fmt::Display for OperationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_follow_the_table_order_and_names_are_unique() {
        for (i, kind) in OperationKind::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(kind.rank()), i, "{kind:?}");
            assert_eq!(OperationKind::from_name(kind.name()), Some(kind));
        }
    }

    #[test]
    fn phases_number_one_to_ten_and_round_trip() {
        for (i, phase) in Phase::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(phase.number()), i + 1);
            assert_eq!(Phase::try_from(phase.number()), Ok(phase));
        }
        assert!(Phase::try_from(0).is_err());
        assert!(Phase::try_from(11).is_err());
    }
}
