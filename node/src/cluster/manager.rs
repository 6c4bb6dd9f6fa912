//! `ClusterManager`: the one owner of this node's cluster state.
//!
//! It runs as a task on the main thread and owns the gossip `Membership`,
//! this node's `LocalClaims` and the state file. Connections reach it only
//! through `ClusterHandle::request` (a bounded channel) and read what it
//! publishes: an immutable `ClusterSnapshot` swapped into the handle.
//!
//! Contract, for every event (a CLUSTER command, a new gossip view, a tick):
//! 1. the claims change only here, and only by `LocalClaims`' rules (config
//!    epochs only grow, asserted there);
//! 2. a changed state is written to the state file before anything else
//!    sees it, so that a node restarting after a crash never comes back with
//!    claims older than those its peers have seen;
//! 3. the claims are then published to gossip, and the view derived from
//!    them becomes the new snapshot before the command's reply is sent, so
//!    the next command of the same client sees its effect.
//!
//! On each new view the manager reacts as a Redis node reacts to its peers:
//! it adopts a higher current epoch, resolves a config-epoch collision, and
//! stops claiming slots a node with a higher config epoch took over.
//!
//! CLUSTER SETSLOT (slot migration, Redis's rules and texts):
//! - MIGRATING / IMPORTING / STABLE only change this node's `SlotMarks`
//!   (saved, shown in CLUSTER NODES, used by routing; never gossiped);
//! - NODE moves the claim: the importing target claims the slot with a
//!   bumped config epoch, so its claim wins on every node once gossiped;
//!   the source stops claiming it (refused while it still holds keys of
//!   it); any other node notes the new owner locally (`LocalSlotState::
//!   assigned`) until gossip confirms it or `cluster-node-timeout` passes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use starling_cluster::{
    ClaimError, ClusterView, GossipCounters, Health, LocalClaims, Membership, MembershipConfig, MigrationReport,
    NodeId, NodeStats, NodeTelemetry, NodeView, Role, SlotChange, SlotRange, SlotSet, UdpGossipTransport,
};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::persistence::{Durability, SavedState, StateFile, SAVED_PEERS_MAX};
use super::routing::{ClusterSnapshot, LocalSlotState};
use super::{ClusterCommandError, ClusterHandle};
use crate::config::EndpointType;

/// Requests waiting for the manager before senders are made to wait.
pub const REQUEST_QUEUE_CAPACITY: usize = 64;
/// CLUSTER MEET addresses retried at once; a newer one drops the oldest.
const PENDING_MEETS_MAX: usize = 64;

/// What connections ask the manager to do. Each carries the channel its
/// reply goes back on.
pub enum ClusterRequest {
    /// CLUSTER ADDSLOTS / DELSLOTS and their RANGE forms. `then_error_opt`
    /// is the error of an argument after `ranges` that could not be parsed:
    /// it is the reply unless one of `ranges` is refused first.
    ChangeSlots {
        change: SlotChange,
        ranges: Vec<SlotRange>,
        then_error_opt: Option<String>,
        reply_tx: oneshot::Sender<Result<(), ClusterCommandError>>,
    },
    /// CLUSTER FLUSHSLOTS.
    FlushSlots { reply_tx: oneshot::Sender<()> },
    /// CLUSTER MEET: gossip with this address until a node answers from it.
    Meet {
        gossip_address: SocketAddr,
        reply_tx: oneshot::Sender<()>,
    },
    /// CLUSTER FORGET.
    Forget {
        node: NodeId,
        reply_tx: oneshot::Sender<Result<(), ClusterCommandError>>,
    },
    /// CLUSTER RESET [HARD|SOFT].
    Reset { hard: bool, reply_tx: oneshot::Sender<()> },
    /// CLUSTER SET-CONFIG-EPOCH.
    SetConfigEpoch {
        epoch: i64,
        reply_tx: oneshot::Sender<Result<(), ClusterCommandError>>,
    },
    /// CLUSTER BUMPEPOCH: whether the epoch changed, and the config epoch.
    BumpEpoch { reply_tx: oneshot::Sender<(bool, u64)> },
    /// CLUSTER SAVECONFIG.
    SaveConfig {
        reply_tx: oneshot::Sender<Result<(), ClusterCommandError>>,
    },
    /// CLUSTER SETSLOT. `keys_in_slot` was counted by the shard of the slot
    /// just before (NODE refuses to give away a slot that still has keys).
    SetSlot {
        slot: u16,
        action: SetSlotAction,
        keys_in_slot: usize,
        reply_tx: oneshot::Sender<Result<(), ClusterCommandError>>,
    },
    /// Publishes this node's load figures and migration reports, and
    /// replies with what every node published and how many nodes the
    /// failure detector sees alive (for the dashboard).
    Telemetry {
        stats: NodeStats,
        migrations: Vec<MigrationReport>,
        reply_tx: oneshot::Sender<(HashMap<NodeId, NodeTelemetry>, usize)>,
    },
    /// A native slot migration's ownership change (see `migration/`).
    HandOver {
        slots: SlotSet,
        handover: Handover,
        reply_tx: oneshot::Sender<()>,
    },
}

/// How a native migration changes this node's claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handover {
    /// Source, target prepared: stop claiming the slots (gossip carries it)
    /// but keep routing them here, where their writes are frozen, until
    /// the target has taken them.
    Relinquish,
    /// Source, target committed: send the slots' clients to `target` (MOVED)
    /// until gossip shows its claim.
    Redirect { target: NodeId },
    /// Target (commit) or source (taking back the slots of a target that
    /// restarted): claim the slots with a bumped config epoch, so that the
    /// claim wins everywhere.
    Claim,
}

/// The action of `CLUSTER SETSLOT <slot> <action>`; node ids as the client
/// sent them (an unknown or malformed id gets Redis's error naming it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetSlotAction {
    Migrating(Bytes),
    Importing(Bytes),
    Stable,
    Node(Bytes),
}

/// A CLUSTER MEET not yet answered.
struct PendingMeet {
    gossip_address: SocketAddr,
    give_up_at: Instant,
}

pub struct ClusterManager {
    handle: Arc<ClusterHandle>,
    state_file: StateFile,
    /// What was last written, to write only on change.
    saved: SavedState,
    claims: LocalClaims,
    shard_id: NodeId,
    generation: u64,
    /// Gossip addresses of known peers (the seeds of the next start).
    peers: Vec<String>,
    membership: Membership,
    /// What `membership` was started with; RESET HARD restarts from it.
    membership_config: MembershipConfig,
    gossip_counters: Arc<GossipCounters>,
    preferred_endpoint_type: EndpointType,
    pending_meets: Vec<PendingMeet>,
    last_online_unix_ms: HashMap<NodeId, u64>,
    /// Slot marks and unconfirmed SETSLOT NODE assignments.
    local: LocalSlotState,
    /// When each entry of `local.assigned` was made; it lapses after
    /// `cluster-node-timeout` if gossip never confirms it.
    assigned_at: HashMap<u16, Instant>,
    /// Slots released in a native handoff that this node still answers for
    /// until the new owner's claim reaches it (gossiped as `handoff`): a
    /// third node would otherwise see them unclaimed for a gossip round or
    /// two, and report CLUSTERDOWN.
    handoff_slots: SlotSet,
}

/// Everything `ClusterManager::new` needs, assembled by `cluster::start`.
pub struct ManagerParts {
    pub handle: Arc<ClusterHandle>,
    pub state_file: StateFile,
    pub saved: SavedState,
    pub claims: LocalClaims,
    pub membership: Membership,
    pub membership_config: MembershipConfig,
    pub gossip_counters: Arc<GossipCounters>,
    pub preferred_endpoint_type: EndpointType,
}

impl ClusterManager {
    pub fn new(parts: ManagerParts) -> ClusterManager {
        let marks = parts.saved.slot_marks.clone();
        ClusterManager {
            handle: parts.handle,
            shard_id: parts.saved.shard_id,
            generation: parts.saved.generation,
            peers: parts.saved.peers.clone(),
            state_file: parts.state_file,
            saved: parts.saved,
            claims: parts.claims,
            membership: parts.membership,
            membership_config: parts.membership_config,
            gossip_counters: parts.gossip_counters,
            preferred_endpoint_type: parts.preferred_endpoint_type,
            pending_meets: Vec::new(),
            last_online_unix_ms: HashMap::new(),
            local: LocalSlotState {
                marks,
                assigned: Default::default(),
            },
            assigned_at: HashMap::new(),
            handoff_slots: SlotSet::new(),
        }
    }

    /// Serves requests and follows gossip until every `ClusterHandle` is gone.
    pub async fn run(mut self, mut requests_rx: mpsc::Receiver<ClusterRequest>) {
        let mut views = self.membership.subscribe();
        let mut meet_ticker = tokio::time::interval(self.membership_config.gossip_interval());
        meet_ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let first_view = self.membership.view();
        self.on_view(first_view).await;
        loop {
            tokio::select! {
                request_opt = requests_rx.recv() => {
                    let Some(request) = request_opt else { break };
                    if let Some(reply_tx) = self.handle_request(request).await {
                        self = self.restart_gossip().await;
                        views = self.membership.subscribe();
                        let _ = reply_tx.send(());
                    }
                }
                changed = views.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let view = views.borrow_and_update().clone();
                    self.on_view(view).await;
                }
                _ = meet_ticker.tick() => self.retry_meets().await,
            }
        }
        self.membership.shutdown().await;
    }

    /// Applies one request. A CLUSTER RESET HARD returns its reply channel:
    /// gossip must restart under the new identity before it is answered.
    async fn handle_request(&mut self, request: ClusterRequest) -> Option<oneshot::Sender<()>> {
        match request {
            ClusterRequest::ChangeSlots {
                change,
                ranges,
                then_error_opt,
                reply_tx,
            } => {
                let _ = reply_tx.send(self.change_slots(change, &ranges, then_error_opt).await);
            }
            ClusterRequest::FlushSlots { reply_tx } => {
                self.claims.flush_slots();
                self.publish_claims().await;
                let _ = reply_tx.send(());
            }
            ClusterRequest::Meet {
                gossip_address,
                reply_tx,
            } => {
                self.meet(gossip_address).await;
                let _ = reply_tx.send(());
            }
            ClusterRequest::Forget { node, reply_tx } => {
                let _ = reply_tx.send(self.forget(node).await);
            }
            ClusterRequest::Reset { hard, reply_tx } => {
                self.reset(hard).await;
                if hard {
                    return Some(reply_tx);
                }
                let _ = reply_tx.send(());
            }
            ClusterRequest::SetConfigEpoch { epoch, reply_tx } => {
                let known_nodes = self.membership.view().nodes.len();
                let result = self.claims.set_config_epoch(epoch, known_nodes);
                if result.is_ok() {
                    self.publish_claims().await;
                }
                let _ = reply_tx.send(result.map_err(ClusterCommandError::from));
            }
            ClusterRequest::BumpEpoch { reply_tx } => {
                let view = self.membership.view();
                let max_config_epoch = view.nodes.iter().map(|node| node.config_epoch).max().unwrap_or(0);
                let bumped = self.claims.bump_config_epoch(max_config_epoch);
                if bumped {
                    self.publish_claims().await;
                }
                let _ = reply_tx.send((bumped, self.claims.config_epoch()));
            }
            ClusterRequest::SetSlot {
                slot,
                action,
                keys_in_slot,
                reply_tx,
            } => {
                let claims_before = self.claims.clone();
                let result = self.set_slot(slot, action, keys_in_slot);
                if self.claims != claims_before {
                    self.publish_claims().await;
                } else if result.is_ok() {
                    // Only this node's marks or assignments changed: no
                    // gossip, no new view, just a new snapshot.
                    self.save_if_changed().await;
                    let view = self.membership.view();
                    self.install_snapshot(view);
                }
                let _ = reply_tx.send(result);
            }
            ClusterRequest::HandOver {
                slots,
                handover,
                reply_tx,
            } => {
                self.hand_over(&slots, handover);
                self.publish_claims().await;
                let _ = reply_tx.send(());
            }
            ClusterRequest::Telemetry {
                stats,
                migrations,
                reply_tx,
            } => {
                self.membership.publish_telemetry(&stats, &migrations).await;
                let heard = self.membership.telemetry().await;
                let live = self.membership.live_node_count().await;
                let _ = reply_tx.send((heard, live));
            }
            ClusterRequest::SaveConfig { reply_tx } => {
                let state = self.state_to_save();
                let result = self
                    .state_file
                    .save_in_background(state.clone(), Durability::Synced)
                    .await
                    .map_err(|error| ClusterCommandError::Save(error.to_string()));
                if result.is_ok() {
                    self.saved = state;
                }
                let _ = reply_tx.send(result);
            }
        }
        None
    }

    async fn change_slots(
        &mut self,
        change: SlotChange,
        ranges: &[SlotRange],
        then_error_opt: Option<String>,
    ) -> Result<(), ClusterCommandError> {
        let view = self.membership.view();
        if let Some(then_error) = then_error_opt {
            let mut trial = self.claims.clone();
            trial.change_slots(change, ranges, &view.slot_map)?;
            return Err(ClusterCommandError::Argument(then_error));
        }
        self.claims.change_slots(change, ranges, &view.slot_map)?;
        self.publish_claims().await;
        Ok(())
    }

    /// CLUSTER SETSLOT, with Redis's checks in Redis's order (see the module
    /// comment). Changes only memory; the caller saves, and publishes the
    /// claims if they changed.
    fn set_slot(&mut self, slot: u16, action: SetSlotAction, keys_in_slot: usize) -> Result<(), ClusterCommandError> {
        let view = self.membership.view();
        let myself = self.claims.node_id();
        let serving = self.believed_owner(&view, slot) == Some(myself);
        match action {
            SetSlotAction::Migrating(target) => {
                if !serving {
                    return Err(ClaimError::NotOwner(slot).into());
                }
                let target = primary_named(&view, &target, ClusterCommandError::DontKnowNode)?;
                self.local.marks.set_migrating(slot, target);
            }
            SetSlotAction::Importing(source) => {
                if serving {
                    return Err(ClaimError::AlreadyOwner(slot).into());
                }
                let source = primary_named(&view, &source, ClusterCommandError::DontKnowNode)?;
                self.local.marks.set_importing(slot, source);
            }
            SetSlotAction::Stable => self.local.marks.clear(slot),
            SetSlotAction::Node(owner) => {
                let owner = primary_named(&view, &owner, ClusterCommandError::UnknownNode)?;
                let importing = owner == myself && self.local.marks.importing_from(slot).is_some();
                let max_epoch_seen = view.nodes.iter().map(|node| node.config_epoch).max().unwrap_or(0);
                let bumped = self
                    .claims
                    .assign_slot(slot, owner, serving, keys_in_slot, importing, max_epoch_seen)?;
                if bumped {
                    tracing::info!(
                        slot,
                        config_epoch = self.claims.config_epoch(),
                        "config epoch bumped after importing a slot"
                    );
                }
                if keys_in_slot == 0 {
                    self.local.marks.clear_migrating(slot);
                }
                if owner == myself {
                    self.local.marks.clear_importing(slot);
                    self.local.assigned.remove(&slot);
                    self.assigned_at.remove(&slot);
                } else {
                    self.local.assigned.insert(slot, owner);
                    self.assigned_at.insert(slot, Instant::now());
                }
            }
        }
        Ok(())
    }

    fn hand_over(&mut self, slots: &SlotSet, handover: Handover) {
        let view = self.membership.view();
        let max_epoch_seen = view.nodes.iter().map(|node| node.config_epoch).max().unwrap_or(0);
        let myself = self.claims.node_id();
        for slot in slots.iter() {
            // The migration moved (or keeps) the data itself: no key check.
            let result = match handover {
                // The view keeps routing the slot here (`handoff_slots`)
                // until another node claims it.
                Handover::Relinquish => {
                    self.handoff_slots.insert(slot);
                    self.claims
                        .assign_slot(slot, NodeId::random(), false, 0, false, max_epoch_seen)
                }
                Handover::Redirect { target } => {
                    self.local.assigned.insert(slot, target);
                    self.assigned_at.insert(slot, Instant::now());
                    Ok(false)
                }
                Handover::Claim => {
                    self.handoff_slots.remove(slot);
                    self.local.assigned.remove(&slot);
                    self.assigned_at.remove(&slot);
                    self.claims.assign_slot(slot, myself, false, 0, true, max_epoch_seen)
                }
            };
            debug_assert!(result.is_ok(), "a handover needs no key check");
        }
        tracing::info!(
            ?handover,
            slots = slots.len(),
            config_epoch = self.claims.config_epoch(),
            "slots handed over"
        );
    }

    /// Who this node believes serves `slot`: its own unconfirmed SETSLOT
    /// NODE assignment, else the derived slot map.
    fn believed_owner(&self, view: &ClusterView, slot: u16) -> Option<NodeId> {
        if let Some(&node) = self.local.assigned.get(&slot) {
            return Some(node);
        }
        view.slot_map.owner(slot).map(|owner| owner.node)
    }

    /// Drops the handoff slots that another node now claims; returns
    /// whether there were any.
    fn handoff_confirmed(&mut self, view: &ClusterView) -> bool {
        let myself = self.claims.node_id();
        let confirmed: Vec<u16> = self
            .handoff_slots
            .iter()
            .filter(|&slot| view.slot_map.owner(slot).is_some_and(|owner| owner.node != myself))
            .collect();
        for &slot in &confirmed {
            self.handoff_slots.remove(slot);
        }
        !confirmed.is_empty()
    }

    /// Saves, publishes the claims to gossip and installs the view that
    /// results (contract steps 2 and 3).
    async fn publish_claims(&mut self) {
        self.save_if_changed().await;
        let view = self
            .membership
            .publish_claims(
                self.claims.config_epoch(),
                self.claims.current_epoch(),
                self.claims.slots(),
                &self.handoff_slots,
            )
            .await;
        self.install_snapshot(view);
    }

    /// A new view from gossip.
    async fn on_view(&mut self, view: Arc<ClusterView>) {
        if Arc::ptr_eq(&view, &self.handle.snapshot().view) {
            // Already installed (it came from `publish_claims`).
            return;
        }
        let observed = self.claims.observe(&view);
        if observed.collision_resolved {
            tracing::info!(
                config_epoch = self.claims.config_epoch(),
                "config epoch collision resolved with a new epoch"
            );
        }
        if observed.slots_yielded > 0 {
            tracing::info!(
                slots = observed.slots_yielded,
                "slots taken over by a node with a higher config epoch"
            );
        }
        self.remember_peers(&view);
        if observed.changed() || self.handoff_confirmed(&view) {
            self.publish_claims().await;
            return;
        }
        self.save_if_changed().await;
        self.install_snapshot(view);
    }

    async fn meet(&mut self, gossip_address: SocketAddr) {
        if let Err(error) = self.membership.meet(gossip_address).await {
            tracing::warn!(%gossip_address, %error, "cluster meet failed");
        }
        self.pending_meets
            .retain(|pending| pending.gossip_address != gossip_address);
        if self.pending_meets.len() >= PENDING_MEETS_MAX {
            self.pending_meets.remove(0);
        }
        let node_timeout = self.membership_config.node_timeout;
        self.pending_meets.push(PendingMeet {
            gossip_address,
            give_up_at: Instant::now() + node_timeout,
        });
    }

    /// UDP may lose the first gossip round, and the node met may still be
    /// starting: keep gossiping with a met address until a node answers from
    /// it, for at most `cluster-node-timeout` (as Redis's handshake does).
    async fn retry_meets(&mut self) {
        if self.pending_meets.is_empty() {
            return;
        }
        let view = self.membership.view();
        let now = Instant::now();
        self.pending_meets.retain(|pending| {
            let answered = view.nodes.iter().any(|node| {
                node.id != view.myself
                    && node.health == Health::Online
                    && gossip_address(&node.endpoint.ip, node.endpoint.cluster_port)
                        == pending.gossip_address.to_string()
            });
            !answered && now < pending.give_up_at
        });
        for pending in &self.pending_meets {
            if let Err(error) = self.membership.meet(pending.gossip_address).await {
                tracing::warn!(gossip_address = %pending.gossip_address, %error, "cluster meet retry failed");
            }
        }
    }

    /// CLUSTER FORGET, with Redis's checks in Redis's order.
    async fn forget(&mut self, node: NodeId) -> Result<(), ClusterCommandError> {
        let view = self.membership.view();
        if view.node(&node).is_none() {
            if self.membership.is_forgotten(&node) {
                return Ok(());
            }
            return Err(ClusterCommandError::UnknownNode(node.to_string()));
        }
        if node == self.claims.node_id() {
            return Err(ClusterCommandError::ForgetMyself);
        }
        self.membership.forget(node).await;
        self.local.marks.forget_node(node);
        let view = self.membership.refresh().await;
        self.on_view(view).await;
        Ok(())
    }

    /// CLUSTER RESET: claim nothing and forget every other node. HARD also
    /// takes a new node id and shard id with epochs 0; the caller then
    /// restarts gossip under the new identity (`restart_gossip`).
    async fn reset(&mut self, hard: bool) {
        self.pending_meets.clear();
        self.peers.clear();
        self.claims.flush_slots();
        self.local = LocalSlotState::default();
        self.assigned_at.clear();
        // Published under the old identity too, so that peers still
        // listening learn it gave its slots up.
        self.publish_claims().await;
        if !hard {
            self.membership.forget_all_others().await;
            let view = self.membership.refresh().await;
            self.install_snapshot(view);
            return;
        }
        self.claims = LocalClaims::fresh(NodeId::random());
        self.shard_id = NodeId::random();
        self.generation = next_generation(self.generation);
        self.save_if_changed().await;
    }

    /// Stops gossip and starts it again, on the same cluster port, as the
    /// identity `claims` now hold (after CLUSTER RESET HARD).
    async fn restart_gossip(mut self) -> ClusterManager {
        let old_membership = self.membership;
        // The old socket must be closed before the port can be bound again.
        old_membership.shutdown().await;
        let mut config = self.membership_config.clone();
        config.node_id = self.claims.node_id();
        config.generation = self.generation;
        config.seeds = Vec::new();
        config.config_epoch = self.claims.config_epoch();
        config.current_epoch = self.claims.current_epoch();
        config.claimed_slots = self.claims.slots().clone();
        let transport = UdpGossipTransport::bind(config.gossip_listen_addr).unwrap_or_else(|error| {
            panic!(
                "cannot bind the cluster port {} again after CLUSTER RESET HARD: {error}",
                config.gossip_listen_addr
            )
        });
        self.gossip_counters = transport.counters();
        self.membership = Membership::start(config.clone(), &transport)
            .await
            .unwrap_or_else(|error| panic!("cannot restart gossip after CLUSTER RESET HARD: {error}"));
        self.membership_config = config;
        let view = self.membership.view();
        self.install_snapshot(view);
        self
    }

    fn remember_peers(&mut self, view: &ClusterView) {
        let mut peers: Vec<String> = view
            .nodes
            .iter()
            .filter(|node| node.id != view.myself)
            .map(|node| gossip_address(&node.endpoint.ip, node.endpoint.cluster_port))
            .collect();
        // An isolated view (just restarted, not heard anyone yet) keeps the
        // peers we had: they are how this node finds its cluster again.
        if peers.is_empty() {
            return;
        }
        peers.sort();
        peers.dedup();
        peers.truncate(SAVED_PEERS_MAX);
        self.peers = peers;
    }

    fn state_to_save(&self) -> SavedState {
        SavedState {
            node_id: self.claims.node_id(),
            shard_id: self.shard_id,
            generation: self.generation,
            config_epoch: self.claims.config_epoch(),
            current_epoch: self.claims.current_epoch(),
            slots: self.claims.slots().clone(),
            slot_marks: self.local.marks.clone(),
            peers: self.peers.clone(),
        }
    }

    /// Writes the state file if the state changed (contract step 2). A
    /// failed write is logged and retried with the next change; CLUSTER
    /// SAVECONFIG reports it to the client.
    async fn save_if_changed(&mut self) {
        let state = self.state_to_save();
        if state == self.saved {
            return;
        }
        let marks_only = SavedState {
            slot_marks: self.saved.slot_marks.clone(),
            ..state.clone()
        } == self.saved;
        let durability = if marks_only {
            Durability::Unsynced
        } else {
            Durability::Synced
        };
        match self.state_file.save_in_background(state.clone(), durability).await {
            Ok(()) => self.saved = state,
            Err(error) => tracing::error!(
                path = %self.state_file.path().display(),
                %error,
                "could not save the cluster state"
            ),
        }
    }

    fn install_snapshot(&mut self, view: Arc<ClusterView>) {
        let now_ms = crate::shard::unix_time_ms();
        for node in view.nodes.iter().filter(|node| node.health.is_serving()) {
            self.last_online_unix_ms.insert(node.id, now_ms);
        }
        self.last_online_unix_ms.retain(|node, _| view.node(node).is_some());
        self.prune_assignments(&view);
        let snapshot = ClusterSnapshot::new(
            view,
            &self.local,
            self.shard_id,
            self.preferred_endpoint_type,
            self.last_online_unix_ms.clone(),
            self.gossip_counters.clone(),
        );
        self.handle.install(snapshot);
    }
}

impl ClusterManager {
    /// Drops the SETSLOT NODE assignments gossip has confirmed (the derived
    /// owner is the assigned node), that name a node no longer known, or
    /// that gossip has not confirmed within `cluster-node-timeout`.
    fn prune_assignments(&mut self, view: &ClusterView) {
        let node_timeout = self.membership_config.node_timeout;
        let assigned_at = &mut self.assigned_at;
        self.local.assigned.retain(|slot, node| {
            let confirmed = view.slot_map.owner(*slot).is_some_and(|owner| owner.node == *node);
            let lapsed = assigned_at.get(slot).is_none_or(|at| at.elapsed() > node_timeout);
            let keep = !confirmed && !lapsed && view.node(node).is_some();
            if !keep {
                assigned_at.remove(slot);
            }
            keep
        });
    }
}

/// The primary an argument names in `view`, or `unknown` with the
/// argument's text; a replica is refused with Redis's text.
fn primary_named(
    view: &ClusterView,
    arg: &[u8],
    unknown: fn(String) -> ClusterCommandError,
) -> Result<NodeId, ClusterCommandError> {
    let node: &NodeView = NodeId::parse(arg)
        .ok()
        .and_then(|id| view.node(&id))
        .ok_or_else(|| unknown(String::from_utf8_lossy(arg).into_owned()))?;
    if node.role == Role::Replica {
        return Err(ClusterCommandError::TargetNotPrimary);
    }
    Ok(node.id)
}

/// The gossip address a node publishes, as text.
fn gossip_address(ip: &str, cluster_port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{cluster_port}")
    } else {
        format!("{ip}:{cluster_port}")
    }
}

/// A chitchat generation larger than `previous` and, normally, the current
/// Unix time in ms, so that generations grow across restarts.
pub fn next_generation(previous: u64) -> u64 {
    crate::shard::unix_time_ms().max(previous + 1)
}
