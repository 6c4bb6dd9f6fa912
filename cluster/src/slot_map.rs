//! The slot map, derived from what every node claims.
//!
//! Rules (Redis Cluster's, with config epochs):
//! - every node publishes a `SlotClaim`: its config epoch and its slots;
//! - for each slot, the claim with the highest config epoch wins;
//! - on equal epochs the larger node id wins the slot in the derived view,
//!   and the node with the smaller id takes a new, higher epoch
//!   (`resolve_epoch_collision`, Redis's `clusterHandleConfigEpochCollision`),
//!   after which its claims win. Either way every node derives the same map
//!   from the same claims.
//!
//! Invariant: in a derived map a slot has at most one owner. The map is
//! derived, never stored: the same claims always give the same map.

use crate::node_id::NodeId;
use crate::slots::{SlotRange, SlotSet, SLOT_COUNT};

/// What one node claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotClaim {
    pub node: NodeId,
    pub config_epoch: u64,
    pub slots: SlotSet,
}

/// The winner of one slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotOwner {
    pub node: NodeId,
    pub config_epoch: u64,
}

impl SlotOwner {
    /// Whether `self` beats `other` for a slot both claim.
    fn beats(&self, other: &SlotOwner) -> bool {
        (self.config_epoch, self.node) > (other.config_epoch, other.node)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotMap {
    owners: Vec<Option<SlotOwner>>,
}

impl Default for SlotMap {
    fn default() -> Self {
        SlotMap {
            owners: vec![None; SLOT_COUNT as usize],
        }
    }
}

impl SlotMap {
    pub fn derive<'a>(claims: impl IntoIterator<Item = &'a SlotClaim>) -> SlotMap {
        let mut map = SlotMap::default();
        for claim in claims {
            let candidate = SlotOwner {
                node: claim.node,
                config_epoch: claim.config_epoch,
            };
            for slot in claim.slots.iter() {
                let owner = &mut map.owners[slot as usize];
                match owner {
                    Some(current) if !candidate.beats(current) => {}
                    _ => *owner = Some(candidate),
                }
            }
        }
        map
    }

    /// Overrides the owner of one slot: a node's local notion after CLUSTER
    /// SETSLOT NODE, until gossip confirms it.
    pub fn set_owner(&mut self, slot: u16, owner: Option<SlotOwner>) {
        self.owners[slot as usize] = owner;
    }

    pub fn owner(&self, slot: u16) -> Option<&SlotOwner> {
        self.owners.get(slot as usize)?.as_ref()
    }

    /// Slots with an owner.
    pub fn assigned_count(&self) -> usize {
        self.owners.iter().filter(|owner| owner.is_some()).count()
    }

    pub fn slots_of(&self, node: &NodeId) -> SlotSet {
        let mut slots = SlotSet::new();
        for (slot, owner) in self.owners.iter().enumerate() {
            if owner.is_some_and(|owner| owner.node == *node) {
                slots.insert(slot as u16);
            }
        }
        slots
    }

    /// Maximal runs of slots with the same owner, ascending (CLUSTER SLOTS).
    pub fn owned_ranges(&self) -> Vec<(SlotRange, NodeId)> {
        let mut ranges: Vec<(SlotRange, NodeId)> = Vec::new();
        for (slot, owner) in self.owners.iter().enumerate() {
            let Some(owner) = owner else { continue };
            let slot = slot as u16;
            match ranges.last_mut() {
                Some((range, node)) if *node == owner.node && range.end + 1 == slot => range.end = slot,
                _ => ranges.push((SlotRange::new(slot, slot), owner.node)),
            }
        }
        ranges
    }
}

/// Redis's config-epoch collision rule. Returns the new config epoch `me`
/// must take, or None. A node acts only when another node has the same
/// config epoch and a larger id: it then takes `current_epoch + 1`, so that
/// every pair of nodes ends up with distinct epochs.
pub fn resolve_epoch_collision(
    me: NodeId,
    my_config_epoch: u64,
    current_epoch: u64,
    others: impl IntoIterator<Item = (NodeId, u64)>,
) -> Option<u64> {
    others
        .into_iter()
        .any(|(other, other_epoch)| other != me && other_epoch == my_config_epoch && other > me)
        .then_some(current_epoch + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(fill: char) -> NodeId {
        fill.to_string().repeat(40).parse().unwrap()
    }

    fn claim(node: NodeId, config_epoch: u64, ranges: &[(u16, u16)]) -> SlotClaim {
        let ranges: Vec<SlotRange> = ranges.iter().map(|&(start, end)| SlotRange::new(start, end)).collect();
        SlotClaim {
            node,
            config_epoch,
            slots: SlotSet::from_ranges(&ranges),
        }
    }

    #[test]
    fn the_highest_epoch_wins_each_slot() {
        let (a, b) = (node('a'), node('b'));
        let claims = [claim(a, 5, &[(0, 100)]), claim(b, 7, &[(50, 200)])];
        let map = SlotMap::derive(&claims);
        assert_eq!(map.owner(10).unwrap().node, a);
        assert_eq!(map.owner(50).unwrap().node, b);
        assert_eq!(map.owner(100).unwrap().node, b);
        assert!(map.owner(201).is_none());
        assert_eq!(map.assigned_count(), 201);
        assert_eq!(
            map.owned_ranges(),
            vec![(SlotRange::new(0, 49), a), (SlotRange::new(50, 200), b)]
        );
    }

    #[test]
    fn claim_order_does_not_matter() {
        let (a, b, c) = (node('a'), node('b'), node('c'));
        let claims = vec![
            claim(a, 3, &[(0, 9000)]),
            claim(b, 3, &[(5000, 12000)]),
            claim(c, 9, &[(11000, 16383)]),
        ];
        let forward = SlotMap::derive(&claims);
        let backward = SlotMap::derive(claims.iter().rev());
        assert_eq!(forward, backward);
        // Equal epochs: the larger id holds the slot until the smaller one bumps.
        assert_eq!(forward.owner(6000).unwrap().node, b);
    }

    #[test]
    fn the_smaller_id_takes_a_new_epoch_on_collision() {
        let (a, b) = (node('a'), node('b'));
        assert_eq!(resolve_epoch_collision(a, 3, 8, [(b, 3)]), Some(9));
        assert_eq!(resolve_epoch_collision(b, 3, 8, [(a, 3)]), None);
        assert_eq!(resolve_epoch_collision(a, 3, 8, [(b, 4)]), None);
    }
}
