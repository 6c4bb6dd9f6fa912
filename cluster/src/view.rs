//! `ClusterView`: what this node knows of the cluster at one moment, derived
//! from the gossip state: the nodes, their endpoints, roles and health, and
//! the slot map. Views are immutable; a new one replaces the old whenever the
//! gossip state changes, and readers hold an `Arc` to the one they use.

use crate::node_id::NodeId;
use crate::slot_map::{SlotClaim, SlotMap, SlotOwner};
use crate::slots::{SlotSet, SLOT_COUNT};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Primary,
    Replica,
}

impl Role {
    /// The word CLUSTER NODES and gossip use.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "master",
            Role::Replica => "slave",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "master" => Some(Role::Primary),
            "slave" => Some(Role::Replica),
            _ => None,
        }
    }
}

/// Health as the failure detector sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Online,
    /// The failure detector no longer sees the node alive, but it has not
    /// been silent long enough to be flagged failed (Redis's `fail?`, PFAIL).
    /// It still serves its slots.
    Suspect,
    /// The failure detector declared the node dead (Redis's `fail` flag).
    Failed,
}

impl Health {
    /// Whether the node counts as serving its slots (not flagged failed).
    pub fn is_serving(self) -> bool {
        self != Health::Failed
    }

    /// The word the admin API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Online => "alive",
            Health::Suspect => "suspect",
            Health::Failed => "failed",
        }
    }
}

/// How clients reach a node, as it publishes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub ip: String,
    pub port: u16,
    pub cluster_port: u16,
    pub hostname: Option<String>,
}

impl Endpoint {
    /// An endpoint without an announced hostname.
    pub fn new(ip: impl Into<String>, port: u16, cluster_port: u16) -> Endpoint {
        Endpoint {
            ip: ip.into(),
            port,
            cluster_port,
            hostname: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeView {
    pub id: NodeId,
    pub endpoint: Endpoint,
    pub role: Role,
    pub primary: Option<NodeId>,
    pub config_epoch: u64,
    /// The highest epoch this node has seen (cluster `currentEpoch`).
    pub current_epoch: u64,
    pub health: Health,
    /// The slots the node claims (it may lose some to higher epochs).
    pub claimed_slots: SlotSet,
    /// Slots the node released in a native migration's handoff and still
    /// answers for (frozen, then MOVED to the new owner) until the new
    /// owner's claim reaches it. Not a claim: it only routes slots that no
    /// node claims.
    pub handoff_slots: SlotSet,
    /// The gossip generation of the process behind this view: it grows with
    /// every restart (a migration's source tells a restarted target by it).
    pub generation: u64,
    /// Other primaries that currently report this node as failing (Redis's
    /// failure reports; CLUSTER COUNT-FAILURE-REPORTS).
    pub failure_reports: usize,
}

impl NodeView {
    /// A primary that has seen no epoch above its own.
    pub fn primary(
        id: NodeId,
        endpoint: Endpoint,
        config_epoch: u64,
        health: Health,
        claimed_slots: SlotSet,
    ) -> NodeView {
        NodeView {
            id,
            endpoint,
            role: Role::Primary,
            primary: None,
            config_epoch,
            current_epoch: config_epoch,
            health,
            claimed_slots,
            handoff_slots: SlotSet::new(),
            generation: 0,
            failure_reports: 0,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterView {
    pub myself: NodeId,
    /// Sorted by node id; contains `myself`.
    pub nodes: Vec<NodeView>,
    pub slot_map: SlotMap,
    /// This node cannot reach a majority of the primaries that serve slots
    /// (Redis's minority partition rule): the cluster state is `fail` here.
    pub in_minority: bool,
}

impl ClusterView {
    pub fn new(myself: NodeId, mut nodes: Vec<NodeView>) -> ClusterView {
        nodes.sort_by_key(|node| node.id);
        nodes.dedup_by_key(|node| node.id);
        let claims: Vec<SlotClaim> = nodes
            .iter()
            .filter(|node| node.role == Role::Primary)
            .map(|node| SlotClaim {
                node: node.id,
                config_epoch: node.config_epoch,
                slots: node.claimed_slots.clone(),
            })
            .collect();
        let mut slot_map = SlotMap::derive(&claims);
        // A slot released in a native handoff stays with the node that
        // released it, which still answers for it, until a claim arrives.
        for node in nodes.iter().filter(|node| node.role == Role::Primary) {
            for slot in node.handoff_slots.iter() {
                if slot_map.owner(slot).is_none() {
                    slot_map.set_owner(
                        slot,
                        Some(SlotOwner {
                            node: node.id,
                            config_epoch: node.config_epoch,
                        }),
                    );
                }
            }
        }
        ClusterView {
            myself,
            nodes,
            slot_map,
            in_minority: false,
        }
    }

    pub fn node(&self, id: &NodeId) -> Option<&NodeView> {
        self.nodes
            .binary_search_by_key(id, |node| node.id)
            .ok()
            .map(|index| &self.nodes[index])
    }

    pub fn myself(&self) -> Option<&NodeView> {
        self.node(&self.myself)
    }

    /// The cluster's current epoch: the highest any node reports.
    pub fn current_epoch(&self) -> u64 {
        self.nodes
            .iter()
            .map(|node| node.current_epoch.max(node.config_epoch))
            .max()
            .unwrap_or(0)
    }

    /// Slots whose owner's health satisfies `condition`.
    fn slots_whose_owner(&self, condition: impl Fn(Health) -> bool) -> usize {
        (0..SLOT_COUNT)
            .filter(|&slot| {
                self.slot_map
                    .owner(slot)
                    .and_then(|owner| self.node(&owner.node))
                    .is_some_and(|node| condition(node.health))
            })
            .count()
    }

    /// Slots whose owner is healthy.
    pub fn slots_ok(&self) -> usize {
        self.slots_whose_owner(Health::is_serving)
    }

    /// Slots whose owner is suspected (Redis's PFAIL); they count as ok.
    pub fn slots_suspect(&self) -> usize {
        self.slots_whose_owner(|health| health == Health::Suspect)
    }

    /// Slots whose owner has failed.
    pub fn slots_failed(&self) -> usize {
        self.slot_map.assigned_count() - self.slots_ok()
    }

    /// `ok` when every slot is served by a healthy node (Redis's default
    /// `cluster-require-full-coverage yes`) and this node is not in a
    /// minority partition.
    pub fn is_ok(&self) -> bool {
        !self.in_minority && self.slots_ok() == SLOT_COUNT as usize
    }

    /// How many primaries must agree, Redis's `size / 2 + 1`: to flag a node
    /// failed, and to be reachable for the cluster state to be ok.
    pub fn quorum(&self) -> usize {
        self.size() / 2 + 1
    }

    /// Primaries serving at least one slot (`cluster_size`).
    pub fn size(&self) -> usize {
        self.nodes
            .iter()
            .filter(|node| node.role == Role::Primary && !self.slot_map.slots_of(&node.id).is_empty())
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slots::SlotRange;

    fn node(id: NodeId, health: Health, epoch: u64, range: (u16, u16)) -> NodeView {
        let slots = SlotSet::from_ranges(&[SlotRange::new(range.0, range.1)]);
        NodeView::primary(id, Endpoint::new("127.0.0.1", 7000, 17000), epoch, health, slots)
    }

    #[test]
    fn the_cluster_is_ok_only_when_every_slot_is_served_by_a_healthy_node() {
        let (a, b) = (NodeId::random(), NodeId::random());
        let healthy = ClusterView::new(
            a,
            vec![
                node(a, Health::Online, 1, (0, 8000)),
                node(b, Health::Online, 2, (8001, 16383)),
            ],
        );
        assert!(healthy.is_ok());
        assert_eq!(healthy.size(), 2);
        assert_eq!(healthy.current_epoch(), 2);
        let failed = ClusterView::new(
            a,
            vec![
                node(a, Health::Online, 1, (0, 8000)),
                node(b, Health::Failed, 2, (8001, 16383)),
            ],
        );
        assert!(!failed.is_ok());
        assert_eq!(failed.slots_ok(), 8001);
        assert_eq!(failed.slots_failed(), 16384 - 8001);
    }
}
