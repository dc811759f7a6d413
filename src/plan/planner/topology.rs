//! Phases 2–5: next hops, the topology document edits (SIP federation flags
//! and media associations), the one publish, and setup on the servers of a
//! pool that gained federation.
//!
//! An Edge pool's next hop is part of the topology document (its EdgeServer
//! service's dependency on a Registrar). In a run that publishes, a next-hop
//! change is one more edit of the published document; `Set-CsEdgeServer`
//! would change the published topology under the document being edited.
//! Only in a run without a publish is `Set-CsEdgeServer` the way.

use serde_json::json;

use super::milestone::Milestone;
use super::{Planner, route_json};
use crate::model::Fqdn;
use crate::plan::{Operation, Phase};

/// A next hop the document changes: the Edge pool, the next hop it has, and
/// the one it must have.
struct NextHopMove {
    edge_pool: Fqdn,
    from: Option<Fqdn>,
    to: Fqdn,
}

impl Planner<'_> {
    /// The next hops the document changes.
    fn next_hop_moves(&self) -> Vec<NextHopMove> {
        self.desired
            .edge_pools
            .iter()
            .filter_map(|(pool, p)| {
                let hop = p.next_hop.as_ref()?;
                let observed = self.observed.edge_pools.get(pool)?;
                (observed.next_hop.as_ref() != Some(&hop.value)).then(|| NextHopMove {
                    edge_pool: pool.clone(),
                    from: observed.next_hop.clone(),
                    to: hop.value.clone(),
                })
            })
            .collect()
    }

    /// Whether the run publishes the topology: some SIP federation flag or
    /// media association changes (a next hop alone is set with
    /// `Set-CsEdgeServer`, without a publish).
    fn publishes(&self) -> bool {
        let flags = self
            .observed
            .edge_pools
            .iter()
            .any(|(pool, p)| p.sip_federation != self.federation_pools.contains(pool));
        let media = self.desired.front_end_pools.iter().any(|(fe, p)| {
            p.media_edge_pool.as_ref().is_some_and(|m| {
                self.observed
                    .front_end_pools
                    .get(fe)
                    .is_some_and(|o| o.media_edge_pool.as_ref() != Some(&m.value))
            })
        });
        flags || media
    }

    /// Phase 2 (or 3, in a run that publishes): the next hops the document
    /// changes.
    pub(super) fn next_hops(&mut self) {
        let folded = self.publishes();
        for NextHopMove { edge_pool, from, to } in self.next_hop_moves() {
            self.b.change(
                crate::plan::pointer(&[&"edgePools", &edge_pool, &"nextHop"]),
                route_json(from.as_ref()),
                json!(to.as_str()),
            );
            if folded {
                // The publish provides `NextHopMovedOff`: the move takes effect there.
                self.b
                    .add(
                        Phase::TopologyEdit,
                        Operation::EditEdgeNextHop { edge_pool, next_hop: to },
                        "Front End failover: move the Edge pool's next hop off a pool before failing that pool over, in the document this run publishes (Set-CsEdgeServer would change the published topology under it)",
                    )
                    .provides(Milestone::TopologyEdited);
                continue;
            }
            let node = self.b.add(
                Phase::NextHop,
                Operation::SetEdgeNextHop { edge_pool, next_hop: to },
                "Front End failover: move the Edge pool's next hop off a pool before failing that pool over (Set-CsEdgeServer -Registrar)",
            );
            if let Some(from) = from {
                node.provides(Milestone::NextHopMovedOff(from));
            }
        }
    }

    /// Phase 3: the flag edits (disable before enable, in one document) and
    /// the media associations.
    pub(super) fn topology_edits(&mut self) {
        let federation_pools = self.targets.federation_pools();
        for (pool, p) in &self.observed.edge_pools {
            let want = federation_pools.contains(pool);
            if p.sip_federation != want {
                self.b.change(
                    crate::plan::pointer(&[&"edgePools", &pool, &"sipFederation"]),
                    json!(p.sip_federation),
                    json!(want),
                );
            }
            if p.sip_federation && !want {
                self.b
                    .add(
                        Phase::TopologyEdit,
                        Operation::DisableSipFederation { edge_pool: pool.clone() },
                        "SIP failover steps 1-2 / failback step 2: clear \"Enable federation for this Edge pool (Port 5061)\" on the pool that no longer carries federation (same topology document as the enable)",
                    )
                    .provides(Milestone::FederationDisabled)
                    .provides(Milestone::TopologyEdited);
            }
        }
        for pool in self.observed.edge_pools.keys() {
            if !self.gains_federation(pool) {
                continue;
            }
            self.b
                .add(
                    Phase::TopologyEdit,
                    Operation::EnableSipFederation { edge_pool: pool.clone() },
                    "SIP failover steps 3-4 / failback step 2: select \"Enable federation for this Edge pool (Port 5061)\" on the pool that carries federation",
                )
                .provides(Milestone::TopologyEdited)
                .after(
                    Milestone::FederationDisabled,
                    "the flag comes off the pool that loses federation before it goes on this one, in the same document",
                )
                .after(
                    Milestone::ServicesRunning(pool.clone()),
                    "the pool's services must run before federation is enabled on it",
                );
        }
        for (fe, p) in &self.desired.front_end_pools {
            let (Some(media), Some(op)) = (&p.media_edge_pool, self.observed.front_end_pools.get(fe)) else {
                continue;
            };
            if op.media_edge_pool.as_ref() == Some(&media.value) {
                continue;
            }
            self.b.change(
                crate::plan::pointer(&[&"frontEndPools", &fe, &"mediaEdgePool"]),
                route_json(op.media_edge_pool.as_ref()),
                json!(media.value.as_str()),
            );
            self.b
                .add(
                    Phase::TopologyEdit,
                    Operation::SetMediaEdgePool { front_end_pool: fe.clone(), edge_pool: media.value.clone() },
                    "SIP failover, closing note / failback step 4: associate the Front End pool with the Edge pool it is to use for media (a topology edit, published below)",
                )
                .provides(Milestone::TopologyEdited)
                .after(
                    Milestone::ServicesRunning(media.value.clone()),
                    "the Edge pool's services must run before a Front End pool uses it for media",
                );
        }
    }

    /// Phase 4: one publish, planned iff some node edits the topology. It
    /// also moves the next hops folded into the document.
    pub(super) fn publish(&mut self) {
        let folded: Vec<Fqdn> = if self.publishes() {
            self.next_hop_moves().into_iter().filter_map(|m| m.from).collect()
        } else {
            Vec::new()
        };
        let node = self
            .b
            .add(
                Phase::Publish,
                Operation::PublishTopology {},
                "SIP failover step 5 / failback step 2: publish every topology edit in one document (Publish-CsTopology, Enable-CsTopology); Microsoft's media re-association page forgets this",
            )
            .provides(Milestone::TopologyPublished)
            .after_required(Milestone::TopologyEdited, "the one publish carries every topology edit")
            .only_if_any(vec![Milestone::TopologyEdited]);
        for from in folded {
            node.provides(Milestone::NextHopMovedOff(from));
        }
    }

    /// Phase 5: setup on each reachable server of a pool that gained
    /// federation (or still has setup pending from an earlier run).
    pub(super) fn setup(&mut self) {
        let federation_pools = self.targets.federation_pools();
        for (pool, p) in &self.observed.edge_pools {
            if !federation_pools.contains(pool) {
                continue;
            }
            let newly = self.gains_federation(pool);
            for (name, c) in &p.computers {
                if !(newly || c.setup_pending) {
                    continue;
                }
                if !c.reachable {
                    self.b.warn(format!(
                        "{name} (Edge pool {pool}) is unreachable: setup must be run on it when it is back"
                    ));
                    continue;
                }
                if !newly {
                    self.b.change(
                        crate::plan::pointer(&[&"edgePools", &pool, &"setupPending", &name]),
                        json!(true),
                        json!(false),
                    );
                }
                self.b
                    .add(
                        Phase::Setup,
                        Operation::RunSetup { pool: pool.clone(), computer: name.clone() },
                        "SIP failover steps 6-7 / failback step 2: run setup (Deployment Wizard \"Run Again\") on each server of the pool that gained federation",
                    )
                    .provides(Milestone::SetupDone(pool.clone()))
                    .provides(Milestone::SetupDoneEverywhere)
                    .after(Milestone::TopologyPublished, "run-setup reads the published topology")
                    .after(
                        Milestone::ServicesRunning(pool.clone()),
                        "the pool's services must run before setup runs on its servers",
                    );
            }
        }
    }
}
