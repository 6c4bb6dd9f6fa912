//! `LocalClaims`: the only cluster state a node owns outright, and keeps
//! across restarts: its id, the slots it claims, its config epoch and the
//! highest epoch it has seen (Redis's `currentEpoch`).
//!
//! Everything else (who else exists, who owns which slot) is derived from
//! gossip. The operations here are Redis's CLUSTER ADDSLOTS / DELSLOTS /
//! FLUSHSLOTS / SET-CONFIG-EPOCH / BUMPEPOCH rules, checked against the slot
//! map this node currently derives, plus `observe`, which reacts to a new
//! view the way a Redis node reacts to its peers' messages.
//!
//! Invariants (asserted):
//! - the config epoch only grows (RESET HARD makes a new identity instead);
//! - the current epoch is never below the config epoch.

use crate::node_id::NodeId;
use crate::slot_map::{resolve_epoch_collision, SlotClaim, SlotMap};
use crate::slots::{SlotRange, SlotSet, SLOT_COUNT};
use crate::view::{ClusterView, Role};

/// Why a claim change was refused. `Display` is Redis's error text without
/// the `ERR ` prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("Slot {0} is already busy")]
    SlotBusy(u16),
    #[error("Slot {0} is already unassigned")]
    SlotUnassigned(u16),
    #[error("Slot {0} specified multiple times")]
    SlotRepeated(u16),
    #[error("Invalid config epoch specified: {0}")]
    InvalidConfigEpoch(i64),
    #[error("The user can assign a config epoch only when the node does not know any other node.")]
    OtherNodesKnown,
    #[error("Node config epoch is already non-zero")]
    ConfigEpochAlreadySet,
    #[error("I'm not the owner of hash slot {0}")]
    NotOwner(u16),
    #[error("I'm already the owner of hash slot {0}")]
    AlreadyOwner(u16),
    #[error("Can't assign hashslot {0} to a different node while I still hold keys for this hash slot.")]
    KeysStillHeld(u16),
}

/// Whether a slot change adds or deletes slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotChange {
    Add,
    Delete,
}

/// What `observe` changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// The current epoch rose to what a peer reports.
    pub current_epoch_raised: bool,
    /// A peer had the same config epoch and a larger id: this node took a new one.
    pub collision_resolved: bool,
    /// Slots another node now owns with a higher config epoch were dropped.
    pub slots_yielded: usize,
}

impl Observed {
    pub fn changed(&self) -> bool {
        self.current_epoch_raised || self.collision_resolved || self.slots_yielded > 0
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalClaims {
    node_id: NodeId,
    config_epoch: u64,
    current_epoch: u64,
    slots: SlotSet,
}

impl LocalClaims {
    /// A node that has never been part of a cluster.
    pub fn fresh(node_id: NodeId) -> LocalClaims {
        LocalClaims {
            node_id,
            config_epoch: 0,
            current_epoch: 0,
            slots: SlotSet::new(),
        }
    }

    /// Claims as saved before a restart.
    pub fn restore(node_id: NodeId, config_epoch: u64, current_epoch: u64, slots: SlotSet) -> LocalClaims {
        LocalClaims {
            node_id,
            config_epoch,
            current_epoch: current_epoch.max(config_epoch),
            slots,
        }
    }

    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    pub fn config_epoch(&self) -> u64 {
        self.config_epoch
    }

    pub fn current_epoch(&self) -> u64 {
        self.current_epoch
    }

    pub fn slots(&self) -> &SlotSet {
        &self.slots
    }

    pub fn claim(&self) -> SlotClaim {
        SlotClaim {
            node: self.node_id,
            config_epoch: self.config_epoch,
            slots: self.slots.clone(),
        }
    }

    fn raise_config_epoch(&mut self, epoch: u64) {
        assert!(
            epoch >= self.config_epoch,
            "config epochs only grow: {} -> {epoch}",
            self.config_epoch
        );
        self.config_epoch = epoch;
        self.current_epoch = self.current_epoch.max(epoch);
    }

    /// CLUSTER ADDSLOTS / DELSLOTS (and their RANGE forms): every slot of
    /// `ranges`, in order, must be unassigned (add) or assigned (delete) in
    /// `map` and named once; otherwise nothing changes.
    ///
    /// Deleting a slot another node owns changes nothing here: this node can
    /// only withdraw its own claims, and the owner keeps claiming it (a Redis
    /// node would forget the owner until its next heartbeat re-asserted it).
    pub fn change_slots(&mut self, change: SlotChange, ranges: &[SlotRange], map: &SlotMap) -> Result<(), ClaimError> {
        let mut named = SlotSet::new();
        for range in ranges {
            for slot in range.start..=range.end {
                match (change, map.owner(slot)) {
                    (SlotChange::Add, Some(_)) => return Err(ClaimError::SlotBusy(slot)),
                    (SlotChange::Delete, None) => return Err(ClaimError::SlotUnassigned(slot)),
                    _ => {}
                }
                if !named.insert(slot) {
                    return Err(ClaimError::SlotRepeated(slot));
                }
            }
        }
        for slot in named.iter() {
            match change {
                SlotChange::Add => self.slots.insert(slot),
                SlotChange::Delete => self.slots.remove(slot),
            };
        }
        Ok(())
    }

    /// CLUSTER FLUSHSLOTS and CLUSTER RESET: claim nothing.
    pub fn flush_slots(&mut self) {
        self.slots = SlotSet::new();
    }

    /// CLUSTER SET-CONFIG-EPOCH: only for a node that knows no other node
    /// and still has config epoch 0.
    pub fn set_config_epoch(&mut self, epoch: i64, known_nodes: usize) -> Result<(), ClaimError> {
        let epoch = u64::try_from(epoch).map_err(|_| ClaimError::InvalidConfigEpoch(epoch))?;
        if known_nodes > 1 {
            return Err(ClaimError::OtherNodesKnown);
        }
        if self.config_epoch != 0 {
            return Err(ClaimError::ConfigEpochAlreadySet);
        }
        self.raise_config_epoch(epoch);
        Ok(())
    }

    /// CLUSTER BUMPEPOCH (Redis's `clusterBumpConfigEpochWithoutConsensus`):
    /// takes a new, highest epoch unless this node already holds the highest
    /// one. `max_epoch_seen` is the highest config or current epoch in the
    /// view. Returns whether the epoch changed.
    pub fn bump_config_epoch(&mut self, max_epoch_seen: u64) -> bool {
        let max_epoch = max_epoch_seen.max(self.current_epoch);
        if self.config_epoch != 0 && self.config_epoch == max_epoch {
            return false;
        }
        self.current_epoch = max_epoch + 1;
        self.raise_config_epoch(self.current_epoch);
        true
    }

    /// CLUSTER SETSLOT <slot> NODE <node>, Redis's rules in the derived
    /// slot map:
    /// - a node that serves the slot (`serving`) and still holds keys of it
    ///   refuses to give it to another node;
    /// - given to another node, the slot is no longer claimed here, so that
    ///   the new owner's claim wins everywhere and this node can never
    ///   serve it again by accident;
    /// - given to this node, the slot is claimed; when it was being imported
    ///   (`was_importing`), the config epoch is bumped without consensus
    ///   (Redis's `clusterBumpConfigEpochWithoutConsensus`) so that this
    ///   claim beats the previous owner's on every node once gossiped.
    ///
    /// Returns whether the config epoch changed.
    pub fn assign_slot(
        &mut self,
        slot: u16,
        node: NodeId,
        serving: bool,
        keys_in_slot: usize,
        was_importing: bool,
        max_epoch_seen: u64,
    ) -> Result<bool, ClaimError> {
        assert!(slot < SLOT_COUNT, "slot {slot} out of range");
        if serving && node != self.node_id && keys_in_slot != 0 {
            return Err(ClaimError::KeysStillHeld(slot));
        }
        if node != self.node_id {
            self.slots.remove(slot);
            return Ok(false);
        }
        self.slots.insert(slot);
        Ok(was_importing && self.bump_config_epoch(max_epoch_seen))
    }

    /// Reacts to a newly derived view: adopt a higher current epoch, resolve
    /// a config-epoch collision, and stop claiming slots that a node with a
    /// higher config epoch now owns (so that they do not come back to this
    /// node should that owner later release them).
    pub fn observe(&mut self, view: &ClusterView) -> Observed {
        let mut observed = Observed::default();
        let seen_epoch = view.current_epoch();
        if seen_epoch > self.current_epoch {
            self.current_epoch = seen_epoch;
            observed.current_epoch_raised = true;
        }
        let other_primaries = view
            .nodes
            .iter()
            .filter(|node| node.role == Role::Primary && node.id != self.node_id)
            .map(|node| (node.id, node.config_epoch));
        if let Some(new_epoch) =
            resolve_epoch_collision(self.node_id, self.config_epoch, self.current_epoch, other_primaries)
        {
            self.raise_config_epoch(new_epoch);
            observed.collision_resolved = true;
        }
        let lost: Vec<u16> = self
            .slots
            .iter()
            .filter(|&slot| {
                view.slot_map
                    .owner(slot)
                    .is_some_and(|owner| owner.node != self.node_id && owner.config_epoch > self.config_epoch)
            })
            .collect();
        for slot in &lost {
            self.slots.remove(*slot);
        }
        observed.slots_yielded = lost.len();
        debug_assert!(self.slots.iter().all(|slot| slot < SLOT_COUNT));
        observed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::{Endpoint, Health, NodeView};

    fn node_id(fill: char) -> NodeId {
        fill.to_string().repeat(40).parse().unwrap()
    }

    fn range(start: u16, end: u16) -> SlotRange {
        SlotRange::new(start, end)
    }

    fn node_view(claims: &LocalClaims) -> NodeView {
        let endpoint = Endpoint::new("127.0.0.1", 7000, 17000);
        let mut node = NodeView::primary(
            claims.node_id(),
            endpoint,
            claims.config_epoch(),
            Health::Online,
            claims.slots().clone(),
        );
        node.current_epoch = claims.current_epoch();
        node
    }

    fn view_of(myself: &LocalClaims, others: &[&LocalClaims]) -> ClusterView {
        let mut nodes = vec![node_view(myself)];
        nodes.extend(others.iter().map(|other| node_view(other)));
        ClusterView::new(myself.node_id(), nodes)
    }

    #[test]
    fn slots_are_added_and_deleted_with_redis_errors() {
        let mut claims = LocalClaims::fresh(node_id('a'));
        let mut other = LocalClaims::fresh(node_id('b'));
        other
            .change_slots(SlotChange::Add, &[range(100, 200)], &SlotMap::default())
            .unwrap();
        let map = view_of(&claims, &[&other]).slot_map;
        assert_eq!(
            claims.change_slots(SlotChange::Add, &[range(0, 5), range(150, 150)], &map),
            Err(ClaimError::SlotBusy(150))
        );
        assert_eq!(
            claims.change_slots(SlotChange::Add, &[range(0, 5), range(5, 5)], &map),
            Err(ClaimError::SlotRepeated(5))
        );
        assert!(claims.slots().is_empty(), "a refused change changes nothing");
        claims
            .change_slots(SlotChange::Add, &[range(0, 5), range(7, 7)], &map)
            .unwrap();
        assert_eq!(claims.slots().len(), 7);
        let map = view_of(&claims, &[&other]).slot_map;
        assert_eq!(
            claims.change_slots(SlotChange::Delete, &[range(6, 6)], &map),
            Err(ClaimError::SlotUnassigned(6))
        );
        claims
            .change_slots(SlotChange::Delete, &[range(0, 1), range(150, 150)], &map)
            .unwrap();
        assert_eq!(claims.slots().ranges(), vec![range(2, 5), range(7, 7)]);
        claims.flush_slots();
        assert!(claims.slots().is_empty());
        assert_eq!(ClaimError::SlotBusy(5).to_string(), "Slot 5 is already busy");
    }

    #[test]
    fn the_config_epoch_is_set_once_on_a_lonely_node() {
        let mut claims = LocalClaims::fresh(node_id('a'));
        assert_eq!(claims.set_config_epoch(-1, 1), Err(ClaimError::InvalidConfigEpoch(-1)));
        assert_eq!(claims.set_config_epoch(3, 2), Err(ClaimError::OtherNodesKnown));
        claims.set_config_epoch(3, 1).unwrap();
        assert_eq!((claims.config_epoch(), claims.current_epoch()), (3, 3));
        assert_eq!(claims.set_config_epoch(4, 1), Err(ClaimError::ConfigEpochAlreadySet));
    }

    #[test]
    fn bumping_takes_a_new_epoch_unless_already_the_highest() {
        let mut claims = LocalClaims::fresh(node_id('a'));
        assert!(claims.bump_config_epoch(0), "epoch 0 always bumps");
        assert_eq!(claims.config_epoch(), 1);
        assert!(!claims.bump_config_epoch(1));
        assert!(claims.bump_config_epoch(5));
        assert_eq!((claims.config_epoch(), claims.current_epoch()), (6, 6));
    }

    #[test]
    fn observing_peers_raises_epochs_resolves_collisions_and_yields_lost_slots() {
        let mut small = LocalClaims::restore(node_id('a'), 2, 2, SlotSet::from_ranges(&[range(0, 99)]));
        let large = LocalClaims::restore(node_id('b'), 2, 4, SlotSet::from_ranges(&[range(200, 299)]));
        let observed = small.observe(&view_of(&small, &[&large]));
        assert!(observed.current_epoch_raised && observed.collision_resolved);
        assert_eq!((small.config_epoch(), small.current_epoch()), (5, 5));

        let thief = LocalClaims::restore(node_id('c'), 9, 9, SlotSet::from_ranges(&[range(50, 60)]));
        let observed = small.observe(&view_of(&small, &[&large, &thief]));
        assert_eq!(observed.slots_yielded, 11);
        assert_eq!(small.slots().ranges(), vec![range(0, 49), range(61, 99)]);
        assert!(!small.observe(&view_of(&small, &[&large, &thief])).changed());
    }

    #[test]
    fn assigning_a_slot_moves_the_claim_and_bumps_the_importer() {
        let mut source = LocalClaims::restore(node_id('a'), 3, 7, SlotSet::from_ranges(&[range(0, 99)]));
        let target = node_id('b');
        assert_eq!(
            source.assign_slot(5, target, true, 2, false, 7),
            Err(ClaimError::KeysStillHeld(5))
        );
        assert_eq!(
            ClaimError::KeysStillHeld(5).to_string(),
            "Can't assign hashslot 5 to a different node while I still hold keys for this hash slot."
        );
        assert_eq!(source.assign_slot(5, target, true, 0, false, 7), Ok(false));
        assert!(!source.slots().contains(5));
        assert_eq!(source.config_epoch(), 3, "giving a slot away keeps the epoch");

        let mut importer = LocalClaims::restore(target, 2, 7, SlotSet::new());
        assert_eq!(importer.assign_slot(5, target, false, 0, true, 7), Ok(true));
        assert!(importer.slots().contains(5));
        assert_eq!(importer.config_epoch(), 8, "a new, highest epoch");
        assert_eq!(
            importer.assign_slot(6, target, false, 0, false, 8),
            Ok(false),
            "no bump without importing"
        );
    }

    #[test]
    #[should_panic(expected = "config epochs only grow")]
    fn config_epochs_never_shrink() {
        let mut claims = LocalClaims::restore(node_id('a'), 5, 5, SlotSet::new());
        claims.raise_config_epoch(4);
    }
}
