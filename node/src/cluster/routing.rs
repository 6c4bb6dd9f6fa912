//! `ClusterSnapshot`: the immutable picture of the cluster that connections
//! route with, and `Redirect`, the errors routing answers with.
//!
//! The cluster manager builds a new snapshot whenever the cluster view or
//! this node's claims change and swaps it into `ClusterHandle`; a
//! connection loads it once per batch (and again after any command that may
//! change it), so the request path takes no lock. Everything the hot path
//! needs is precomputed: the route of each of the 16384 slots and the
//! `endpoint:port` text a MOVED reply names.
//!
//! Routing happens twice, cheaply. The connection routes with the snapshot
//! it loaded (`route`) to pick the local shard and to answer MOVED,
//! CROSSSLOT and CLUSTERDOWN without a hop. The shard then checks the
//! command again against the snapshot current when it runs
//! (`check_at_shard`): for a slot that is simply served here that is one
//! table lookup, and a slot that is migrating or importing takes the slow
//! path, which looks the keys up where they live (ASK, TRYAGAIN, ASKING).
//! The second check also closes the window in which a connection's
//! snapshot is older than a SETSLOT: a shard never serves a slot the
//! current snapshot does not route to it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use starling_cluster::{
    ClusterView, GossipCounters, Health, NodeId, NodeView, SlotMap, SlotMarks, SlotOwner, SLOT_COUNT,
};
use starling_protocol::{key_slot, Frame};

use crate::commands::error::CommandError;
use crate::commands::table::{CommandSpec, Flags};
use crate::config::EndpointType;

/// The errors a cluster node answers instead of running a command.
/// `Display` is the exact wire text (without the leading `-`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Redirect {
    /// The slot is served by another node, for good.
    #[error("MOVED {slot} {endpoint}")]
    Moved { slot: u16, endpoint: String },
    /// The slot is migrating to another node and none of the command's keys
    /// is here any more: ask there once (after ASKING).
    #[error("ASK {slot} {endpoint}")]
    Ask { slot: u16, endpoint: String },
    #[error("CROSSSLOT Keys in request don't hash to the same slot")]
    CrossSlot,
    /// A command during a slot migration found some of its keys but not all
    /// (source), or a multi-key command after ASKING found some missing
    /// (target).
    #[error("TRYAGAIN Multiple keys request during rehashing of slot")]
    TryAgain,
    #[error("CLUSTERDOWN The cluster is down")]
    ClusterDown,
    #[error("CLUSTERDOWN Hash slot not served")]
    SlotNotServed,
}

impl From<Redirect> for Frame {
    fn from(redirect: Redirect) -> Frame {
        Frame::error(redirect.to_string())
    }
}

impl From<Redirect> for CommandError {
    fn from(redirect: Redirect) -> CommandError {
        CommandError::Other(redirect.to_string())
    }
}

/// How this node serves one slot. Node numbers index
/// `ClusterSnapshot::redirect_targets`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotRoute {
    Unassigned,
    Local,
    /// Owned by another node.
    Remote(u16),
    /// Served here, but MIGRATING to that node (CLUSTER SETSLOT).
    Migrating(u16),
    /// IMPORTING here (CLUSTER SETSLOT); owned by that node, or by this one
    /// when None.
    Importing(Option<u16>),
}

/// This node's own view of slots besides what gossip derives: the slots it
/// migrates or imports, and the slots CLUSTER SETSLOT NODE gave to another
/// node that gossip has not confirmed yet (Redis's local `slots[]` update).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalSlotState {
    pub marks: SlotMarks,
    pub assigned: BTreeMap<u16, NodeId>,
}

pub struct ClusterSnapshot {
    pub view: Arc<ClusterView>,
    /// `cluster_state:ok`: every slot is served by a healthy node, and this
    /// node is not in a minority partition.
    pub state_ok: bool,
    pub slots_ok: usize,
    pub shard_id: NodeId,
    pub preferred_endpoint_type: EndpointType,
    /// When each failed node was last seen online (Unix ms), for CLUSTER NODES.
    pub last_online_unix_ms: HashMap<NodeId, u64>,
    pub gossip_counters: Arc<GossipCounters>,
    /// Slots this node migrates or imports.
    pub marks: SlotMarks,
    /// The derived slot map with this node's unconfirmed SETSLOT NODE
    /// assignments applied: what CLUSTER NODES, SLOTS and SHARDS show.
    slot_map: SlotMap,
    routes: Box<[SlotRoute]>,
    /// `endpoint:port` of each node of `view.nodes`, as MOVED names it.
    redirect_targets: Vec<String>,
}

impl ClusterSnapshot {
    pub fn new(
        view: Arc<ClusterView>,
        local: &LocalSlotState,
        shard_id: NodeId,
        preferred_endpoint_type: EndpointType,
        last_online_unix_ms: HashMap<NodeId, u64>,
        gossip_counters: Arc<GossipCounters>,
    ) -> ClusterSnapshot {
        let redirect_targets = view
            .nodes
            .iter()
            .map(|node| {
                format!(
                    "{}:{}",
                    preferred_endpoint(node, preferred_endpoint_type),
                    node.endpoint.port
                )
            })
            .collect();
        let node_indexes: HashMap<NodeId, u16> = view
            .nodes
            .iter()
            .enumerate()
            .map(|(index, node)| (node.id, u16::try_from(index).expect("fewer than 65536 nodes")))
            .collect();
        let mut slot_map = view.slot_map.clone();
        for (&slot, &node) in &local.assigned {
            let Some(node_view) = view.node(&node) else { continue };
            slot_map.set_owner(
                slot,
                Some(SlotOwner {
                    node,
                    config_epoch: node_view.config_epoch,
                }),
            );
        }
        // Consecutive slots mostly share an owner: look each owner up once
        // per run rather than once per slot (a snapshot is rebuilt on every
        // SETSLOT, which redis-cli sends several times per slot it moves).
        let mut last_owner: Option<(NodeId, u16, bool)> = None;
        let mut owner_of = |slot: u16| -> Option<(NodeId, u16, bool)> {
            let owner = slot_map.owner(slot)?.node;
            match last_owner {
                Some(cached) if cached.0 == owner => Some(cached),
                _ => {
                    let index = node_indexes[&owner];
                    let serving = view.nodes[usize::from(index)].health.is_serving();
                    last_owner = Some((owner, index, serving));
                    last_owner
                }
            }
        };
        let has_marks = !local.marks.is_empty();
        let mut slots_ok = 0;
        let routes = (0..SLOT_COUNT)
            .map(|slot| {
                let owner_opt = owner_of(slot);
                // Health as this node believes it: a slot it just gave away
                // by SETSLOT NODE counts as served by its new owner.
                slots_ok += usize::from(owner_opt.is_some_and(|(_, _, serving)| serving));
                let (migrating_opt, importing) = if has_marks {
                    (
                        local.marks.migrating_to(slot).and_then(|to| node_indexes.get(&to)),
                        local.marks.importing_from(slot).is_some(),
                    )
                } else {
                    (None, false)
                };
                match owner_opt {
                    None => SlotRoute::Unassigned,
                    Some((owner, _, _)) if owner == view.myself => match migrating_opt {
                        Some(&target) => SlotRoute::Migrating(target),
                        None if importing => SlotRoute::Importing(None),
                        None => SlotRoute::Local,
                    },
                    Some((_, index, _)) if importing => SlotRoute::Importing(Some(index)),
                    Some((_, index, _)) => SlotRoute::Remote(index),
                }
            })
            .collect();
        ClusterSnapshot {
            state_ok: !view.in_minority && slots_ok == SLOT_COUNT as usize,
            slots_ok,
            view,
            shard_id,
            preferred_endpoint_type,
            last_online_unix_ms,
            gossip_counters,
            marks: local.marks.clone(),
            slot_map,
            routes,
            redirect_targets,
        }
    }

    /// Who serves each slot, as this node believes (CLUSTER NODES, SLOTS, SHARDS).
    pub fn slot_map(&self) -> &SlotMap {
        &self.slot_map
    }

    /// Whether a slot is migrating or importing here: commands on it take
    /// the slow path that looks their keys up (`check_at_shard`).
    pub fn is_slot_open(&self, slot: u16) -> bool {
        matches!(
            self.routes[slot as usize],
            SlotRoute::Migrating(_) | SlotRoute::Importing(_)
        )
    }

    /// A slot this node imports but another node owns: where a command
    /// without ASKING is sent (MOVED), as a transaction learns when it queues.
    pub fn importing_redirect(&self, slot: u16) -> Option<Redirect> {
        match self.routes[slot as usize] {
            SlotRoute::Importing(Some(owner)) => Some(self.moved(slot, owner)),
            _ => None,
        }
    }

    pub fn myself(&self) -> &NodeView {
        self.view.myself().expect("a view always contains its own node")
    }

    /// Where this node sends a command, following Redis's `getNodeByQuery`.
    ///
    /// Outcomes, in order of precedence:
    /// 1. the command names no key: served here, whatever the cluster state;
    /// 2. the first key's slot has no owner: `CLUSTERDOWN Hash slot not served`;
    /// 3. a later key hashes to another slot: `CROSSSLOT Keys in request don't
    ///    hash to the same slot` (even if that slot has no owner);
    /// 4. the cluster state is fail: `CLUSTERDOWN The cluster is down`;
    /// 5. the slot is migrating or importing here: handed to the local shard
    ///    of the slot, which decides with the keys at hand (`check_at_shard`:
    ///    ASK, TRYAGAIN, MOVED, or served);
    /// 6. the slot is owned by another node: `MOVED <slot> <endpoint>:<port>`;
    /// 7. otherwise served here, by the local shard `slot % shards`.
    ///
    /// Returns the slot for 5 and 7, None for 1.
    pub fn route(&self, spec: &CommandSpec, args: &[Bytes]) -> Result<Option<u16>, Redirect> {
        let mut positions = spec.key_positions_iter(args);
        let Some(first_position) = positions.next() else {
            return Ok(None);
        };
        let slot = key_slot(&args[first_position]);
        let route = self.routes[slot as usize];
        if route == SlotRoute::Unassigned {
            return Err(Redirect::SlotNotServed);
        }
        if positions.any(|position| key_slot(&args[position]) != slot) {
            return Err(Redirect::CrossSlot);
        }
        if !self.state_ok {
            return Err(Redirect::ClusterDown);
        }
        match route {
            SlotRoute::Local | SlotRoute::Migrating(_) | SlotRoute::Importing(_) => Ok(Some(slot)),
            SlotRoute::Remote(target) => Err(self.moved(slot, target)),
            SlotRoute::Unassigned => unreachable!("refused above"),
        }
    }

    fn moved(&self, slot: u16, target: u16) -> Redirect {
        Redirect::Moved {
            slot,
            endpoint: self.redirect_targets[target as usize].clone(),
        }
    }

    /// The shard's check of a command the connection routed to `slot`,
    /// against the snapshot current when the shard runs it. `asking`: the
    /// command follows ASKING on its connection; `key_exists` looks a key up
    /// in the shard without touching it.
    ///
    /// Outcomes (Redis's `getNodeByQuery`, steps 2, 4, 5 and 6):
    /// - the slot is served here and not open: served (one table lookup;
    ///   every ordinary command stops here);
    /// - the slot has no owner any more: `CLUSTERDOWN Hash slot not served`;
    /// - the cluster state is fail: `CLUSTERDOWN The cluster is down`;
    /// - MIGRATING here: served if every key is here; `TRYAGAIN` if some are
    ///   and some are not; `ASK <slot> <target>` if none is (writes to a
    ///   missing key too: the key is created at the target);
    /// - IMPORTING here: after ASKING (or for a command flagged `asking`,
    ///   RESTORE-ASKING) served, except `TRYAGAIN` for a command naming
    ///   several different keys of which some are missing; without ASKING,
    ///   `MOVED` to the owner (served if this node owns it);
    /// - owned by another node: `MOVED <slot> <owner>`.
    pub fn check_at_shard(
        &self,
        spec: &CommandSpec,
        args: &[Bytes],
        slot: u16,
        asking: bool,
        mut key_exists: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), Redirect> {
        let route = self.routes[slot as usize];
        match route {
            SlotRoute::Local => return Ok(()),
            SlotRoute::Unassigned => return Err(Redirect::SlotNotServed),
            _ => {}
        }
        if !self.state_ok {
            return Err(Redirect::ClusterDown);
        }
        let mut existing_keys = 0;
        let mut missing_keys = 0;
        let mut multiple_keys = false;
        let mut first_key_opt: Option<&[u8]> = None;
        let open = matches!(route, SlotRoute::Migrating(_) | SlotRoute::Importing(_));
        if open {
            for position in spec.key_positions_iter(args) {
                let key = &args[position][..];
                match first_key_opt {
                    None => first_key_opt = Some(key),
                    Some(first) => multiple_keys |= first != key,
                }
                if key_exists(key) {
                    existing_keys += 1;
                } else {
                    missing_keys += 1;
                }
            }
        }
        match route {
            SlotRoute::Migrating(_) if missing_keys > 0 && existing_keys > 0 => Err(Redirect::TryAgain),
            SlotRoute::Migrating(target) if missing_keys > 0 => Err(Redirect::Ask {
                slot,
                endpoint: self.redirect_targets[target as usize].clone(),
            }),
            SlotRoute::Migrating(_) => Ok(()),
            SlotRoute::Importing(_) if asking || spec.flags.contains(Flags::ASKING) => {
                if multiple_keys && missing_keys > 0 {
                    Err(Redirect::TryAgain)
                } else {
                    Ok(())
                }
            }
            SlotRoute::Importing(None) => Ok(()),
            SlotRoute::Importing(Some(owner)) | SlotRoute::Remote(owner) => Err(self.moved(slot, owner)),
            SlotRoute::Local | SlotRoute::Unassigned => unreachable!("answered above"),
        }
    }
}

/// The endpoint a node is named by in MOVED, CLUSTER SLOTS and SHARDS: its
/// IP, or its hostname (`?` when it has none), per
/// `cluster-preferred-endpoint-type`.
pub fn preferred_endpoint(node: &NodeView, endpoint_type: EndpointType) -> &str {
    match endpoint_type {
        EndpointType::Ip => &node.endpoint.ip,
        EndpointType::Hostname => node.endpoint.hostname.as_deref().unwrap_or("?"),
    }
}

/// Whether a node counts as failed (`fail` flag, `health: fail`).
pub fn is_failed(node: &NodeView) -> bool {
    node.health == Health::Failed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::table::COMMAND_TABLE;
    use starling_cluster::{Endpoint, Role, SlotRange, SlotSet};

    fn node(id: NodeId, port: u16, health: Health, slots: &[(u16, u16)]) -> NodeView {
        let ranges: Vec<SlotRange> = slots.iter().map(|&(start, end)| SlotRange::new(start, end)).collect();
        NodeView {
            id,
            endpoint: Endpoint {
                ip: "127.0.0.1".into(),
                port,
                cluster_port: port + 10000,
                hostname: (port == 7002).then(|| "node-2.starling".to_string()),
            },
            role: Role::Primary,
            primary: None,
            config_epoch: port as u64 - 7000,
            current_epoch: 2,
            health,
            claimed_slots: SlotSet::from_ranges(&ranges),
            handoff_slots: SlotSet::new(),
            generation: 1,
            failure_reports: 0,
        }
    }

    fn snapshot_of(view: ClusterView, endpoint_type: EndpointType) -> ClusterSnapshot {
        ClusterSnapshot::new(
            Arc::new(view),
            &LocalSlotState::default(),
            NodeId::random(),
            endpoint_type,
            HashMap::new(),
            Arc::default(),
        )
    }

    fn snapshot(peer_health: Health, endpoint_type: EndpointType) -> ClusterSnapshot {
        let (myself, peer) = (NodeId::random(), NodeId::random());
        let view = ClusterView::new(
            myself,
            vec![
                node(myself, 7001, Health::Online, &[(0, 8000)]),
                node(peer, 7002, peer_health, &[(8001, 16383)]),
            ],
        );
        snapshot_of(view, endpoint_type)
    }

    fn route(snapshot: &ClusterSnapshot, words: &[&str]) -> Result<Option<u16>, Redirect> {
        let args: Vec<Bytes> = words
            .iter()
            .map(|word| Bytes::copy_from_slice(word.as_bytes()))
            .collect();
        let spec = COMMAND_TABLE.resolve(&args).expect("known command");
        snapshot.route(spec, &args)
    }

    /// Between a native handoff's release and the new owner's claim, a third
    /// node keeps routing the slots to the node that released them (which
    /// answers for them), instead of reporting them unserved.
    #[test]
    fn slots_in_a_handoff_stay_with_the_releasing_node_until_claimed() {
        let (myself, source, target) = (NodeId::random(), NodeId::random(), NodeId::random());
        let mut releasing = node(source, 7002, Health::Online, &[]);
        releasing.handoff_slots = SlotSet::from_ranges(&[SlotRange::new(8001, 16383)]);
        let mine = node(myself, 7001, Health::Online, &[(0, 8000)]);
        let view = ClusterView::new(
            myself,
            vec![mine.clone(), releasing.clone(), node(target, 7003, Health::Online, &[])],
        );
        let cluster = snapshot_of(view, EndpointType::Ip);
        assert!(cluster.state_ok);
        assert_eq!(
            route(&cluster, &["GET", "foo"]).unwrap_err().to_string(),
            "MOVED 12182 127.0.0.1:7002"
        );
        let claimed = ClusterView::new(
            myself,
            vec![mine, releasing, node(target, 7003, Health::Online, &[(8001, 16383)])],
        );
        let cluster = snapshot_of(claimed, EndpointType::Ip);
        assert_eq!(
            route(&cluster, &["GET", "foo"]).unwrap_err().to_string(),
            "MOVED 12182 127.0.0.1:7003",
            "a claim beats a handoff"
        );
    }

    #[test]
    fn commands_route_to_their_slot_owner() {
        let cluster = snapshot(Health::Online, EndpointType::Ip);
        assert!(cluster.state_ok);
        // foo 12182, bar 5061, {user1000}.following 3443.
        assert_eq!(route(&cluster, &["GET", "bar"]), Ok(Some(5061)));
        assert_eq!(route(&cluster, &["PING"]), Ok(None));
        assert_eq!(
            route(&cluster, &["MGET", "foo{hash_tag}", "bar{hash_tag}"]),
            Ok(Some(2515))
        );
        let moved = route(&cluster, &["GET", "foo"]).unwrap_err();
        assert_eq!(moved.to_string(), "MOVED 12182 127.0.0.1:7002");
        assert_eq!(
            route(&cluster, &["MSET", "foo", "1", "bar", "2"])
                .unwrap_err()
                .to_string(),
            "CROSSSLOT Keys in request don't hash to the same slot"
        );
        let by_hostname = snapshot(Health::Online, EndpointType::Hostname);
        assert_eq!(
            route(&by_hostname, &["GET", "foo"]).unwrap_err().to_string(),
            "MOVED 12182 node-2.starling:7002"
        );
    }

    #[test]
    fn a_failed_owner_takes_the_cluster_down_for_every_keyed_command() {
        let cluster = snapshot(Health::Failed, EndpointType::Ip);
        assert!(!cluster.state_ok);
        assert_eq!(cluster.slots_ok, 8001);
        assert_eq!(route(&cluster, &["GET", "bar"]), Err(Redirect::ClusterDown));
        assert_eq!(route(&cluster, &["GET", "foo"]), Err(Redirect::ClusterDown));
        assert_eq!(route(&cluster, &["PING"]), Ok(None), "keyless commands are served");
        assert_eq!(
            route(&cluster, &["MGET", "bar", "foo"]),
            Err(Redirect::CrossSlot),
            "CROSSSLOT comes before the cluster state"
        );
    }

    #[test]
    fn unassigned_slots_follow_redis_precedence() {
        let myself = NodeId::random();
        let view = ClusterView::new(myself, vec![node(myself, 7001, Health::Online, &[(5000, 6000)])]);
        let cluster = ClusterSnapshot::new(
            Arc::new(view),
            &LocalSlotState::default(),
            NodeId::random(),
            EndpointType::Ip,
            HashMap::new(),
            Arc::default(),
        );
        assert_eq!(route(&cluster, &["GET", "foo"]), Err(Redirect::SlotNotServed));
        assert_eq!(route(&cluster, &["MGET", "foo", "bar"]), Err(Redirect::SlotNotServed));
        assert_eq!(route(&cluster, &["MGET", "bar", "foo"]), Err(Redirect::CrossSlot));
        assert_eq!(route(&cluster, &["GET", "bar"]), Err(Redirect::ClusterDown));
    }

    #[test]
    fn redirect_texts_are_redis_texts() {
        let ask = Redirect::Ask {
            slot: 3999,
            endpoint: "127.0.0.1:7002".into(),
        };
        assert_eq!(ask.to_string(), "ASK 3999 127.0.0.1:7002");
        assert_eq!(
            Redirect::TryAgain.to_string(),
            "TRYAGAIN Multiple keys request during rehashing of slot"
        );
        assert_eq!(Redirect::ClusterDown.to_string(), "CLUSTERDOWN The cluster is down");
        assert_eq!(Redirect::SlotNotServed.to_string(), "CLUSTERDOWN Hash slot not served");
        assert_eq!(
            Frame::from(Redirect::CrossSlot),
            Frame::error("CROSSSLOT Keys in request don't hash to the same slot")
        );
    }
}
