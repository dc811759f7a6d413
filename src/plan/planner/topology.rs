//! Phases 2–5: next hops, the topology document edits (SIP federation flags
//! and media associations), the one publish, and setup on the servers of a
//! pool that gained federation.

use serde_json::json;

use super::milestone::Milestone;
use super::{Planner, route_json};
use crate::plan::{Operation, Phase};

impl Planner<'_> {
    /// Phase 2: `set-edge-next-hop` where the document's next hop differs.
    pub(super) fn next_hops(&mut self) {
        for (pool, p) in &self.desired.edge_pools {
            let (Some(hop), Some(op)) = (&p.next_hop, self.observed.edge_pools.get(pool)) else {
                continue;
            };
            if op.next_hop.as_ref() == Some(&hop.value) {
                continue;
            }
            self.b.change(
                format!("edgePools.{pool}.nextHop"),
                route_json(op.next_hop.as_ref()),
                json!(hop.value.as_str()),
            );
            let node = self.b.add(
                Phase::NextHop,
                Operation::SetEdgeNextHop { edge_pool: pool.clone(), next_hop: hop.value.clone() },
                "Front End failover: move the Edge pool's next hop off a pool before failing that pool over (Set-CsEdgeServer -Registrar)",
            );
            if let Some(old) = &op.next_hop {
                node.provides(Milestone::NextHopMovedOff(old.clone()));
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
                    format!("edgePools.{pool}.sipFederation"),
                    json!(p.sip_federation),
                    json!(want),
                );
            }
            if p.sip_federation && !want {
                self.b
                    .add(
                        Phase::TopologyEdit,
                        Operation::DisableSipFederation { edge_pool: pool.clone() },
                        "Failback step 2 / SIP failover: clear \"Enable federation for this Edge pool (Port 5061)\" on the pool that no longer carries federation (same topology document as the enable)",
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
                    "Failback step 2 / SIP failover: select \"Enable federation for this Edge pool (Port 5061)\" on the pool that carries federation",
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
                format!("frontEndPools.{fe}.mediaEdgePool"),
                route_json(op.media_edge_pool.as_ref()),
                json!(media.value.as_str()),
            );
            self.b
                .add(
                    Phase::TopologyEdit,
                    Operation::SetMediaEdgePool { front_end_pool: fe.clone(), edge_pool: media.value.clone() },
                    "Failback step 4: associate the Front End pool with its local Edge pool for media (a topology edit, published below)",
                )
                .provides(Milestone::TopologyEdited)
                .after(
                    Milestone::ServicesRunning(media.value.clone()),
                    "the Edge pool's services must run before a Front End pool uses it for media",
                );
        }
    }

    /// Phase 4: one publish, planned iff some node edits the topology.
    pub(super) fn publish(&mut self) {
        self.b
            .add(
                Phase::Publish,
                Operation::PublishTopology {},
                "Failback step 2: publish every topology edit in one document (Publish-CsTopology, Enable-CsTopology); Microsoft's media re-association page forgets this",
            )
            .provides(Milestone::TopologyPublished)
            .after_required(Milestone::TopologyEdited, "the one publish carries every topology edit")
            .only_if_any(vec![Milestone::TopologyEdited]);
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
                        format!("edgePools.{pool}.setupPending.{name}"),
                        json!(true),
                        json!(false),
                    );
                }
                self.b
                    .add(
                        Phase::Setup,
                        Operation::RunSetup { pool: pool.clone(), computer: name.clone() },
                        "Failback step 2 / SIP failover: run setup (Deployment Wizard \"Run Again\") on each server of the pool that gained federation",
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
