//! Milestones: the named points of a plan that actions provide and wait on.
//!
//! A node declares, when it is added, the milestones it provides and those
//! it waits on (each with a [`Wait`] kind and a one-line reason). The
//! builder resolves milestones to edges between nodes only once every phase
//! has added its nodes, so no phase rewrites another's nodes and the order
//! in which the phases run does not matter.

use std::fmt;

use crate::model::Fqdn;
use crate::plan::Wait;

/// A named point of the plan.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Milestone {
    /// The Edge pool's services run: its `start-services` actions (at the
    /// start, or at the end of the XMPP bracket) are done.
    ServicesRunning(Fqdn),
    /// The Edge pool's services are stopped for the XMPP bracket.
    BracketOpened(Fqdn),
    /// The XMPP route change has replicated to the Edge servers of the
    /// bracketed pool.
    RouteReplicated(Fqdn),
    /// The Edge pool's services run again: the XMPP bracket is closed.
    BracketClosed(Fqdn),
    /// The SIP federation flag is cleared on every pool that loses it.
    FederationDisabled,
    /// Every topology document edit is staged.
    TopologyEdited,
    /// The topology is published.
    TopologyPublished,
    /// Setup has run on the servers of the Edge pool.
    SetupDone(Fqdn),
    /// Setup has run wherever the plan runs it.
    SetupDoneEverywhere,
    /// Every site's SIP federation route is set.
    FederationRoutesSet,
    /// The XMPP federation route of the sites moving to this target (a pool,
    /// or none) is set.
    XmppRouteSet(Option<Fqdn>),
    /// Every site's XMPP federation route is set.
    XmppRoutesSet,
    /// The XMPP federation DNS records are set.
    XmppDnsSet,
    /// The SIP federation DNS records are set.
    SipDnsSet,
    /// No Edge pool has this Front End pool as its next hop any more.
    NextHopMovedOff(Fqdn),
    /// The Central Management Server is failed over to its backup pool.
    CentralManagementFailedOver,
    /// An action writes to the Central Management store (provided by every
    /// node whose kind writes it; triggers the Central Management Server
    /// failover).
    CentralManagementWrite,
    /// Every other action of the plan: resolved to every node that does not
    /// itself wait on this milestone.
    EveryOtherAction,
}

impl fmt::Display for Milestone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ServicesRunning(pool) => write!(f, "the services of {pool} running"),
            Self::BracketOpened(pool) => write!(f, "the services of {pool} stopped for the XMPP bracket"),
            Self::RouteReplicated(pool) => write!(f, "the XMPP route change replicated to the servers of {pool}"),
            Self::BracketClosed(pool) => write!(f, "the services of {pool} started again after the XMPP bracket"),
            Self::FederationDisabled => write!(f, "SIP federation disabled on the pools that lose it"),
            Self::TopologyEdited => write!(f, "every topology edit staged"),
            Self::TopologyPublished => write!(f, "the topology published"),
            Self::SetupDone(pool) => write!(f, "setup run on {pool}"),
            Self::SetupDoneEverywhere => write!(f, "setup run on every pool that needs it"),
            Self::FederationRoutesSet => write!(f, "the sites' federation routes set"),
            Self::XmppRouteSet(Some(pool)) => write!(f, "the XMPP route set to {pool}"),
            Self::XmppRouteSet(None) => write!(f, "the XMPP route removed"),
            Self::XmppRoutesSet => write!(f, "the sites' XMPP routes set"),
            Self::XmppDnsSet => write!(f, "the XMPP DNS records set"),
            Self::SipDnsSet => write!(f, "the SIP DNS records set"),
            Self::NextHopMovedOff(pool) => write!(f, "every Edge next hop moved off {pool}"),
            Self::CentralManagementFailedOver => write!(f, "the Central Management Server failed over"),
            Self::CentralManagementWrite => write!(f, "a write to the Central Management store"),
            Self::EveryOtherAction => write!(f, "every other action"),
        }
    }
}

/// Whether a milestone waited on must be provided by some node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Need {
    /// Wait for it if the plan has it; otherwise nothing to wait for.
    IfPlanned,
    /// The planner's rules guarantee a provider: none is a planner bug.
    Required,
}

/// One milestone a node waits on, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Await {
    /// What it waits for.
    pub milestone: Milestone,
    /// Success of every provider, or only their end.
    pub wait: Wait,
    /// Whether a provider must exist.
    pub need: Need,
    /// Why the node waits, in one line.
    pub reason: String,
}
