//! `SlotMarks`: the slots this node is migrating away or importing, Redis's
//! `migrating_slots_to` and `importing_slots_from`.
//!
//! They are set and cleared by CLUSTER SETSLOT (MIGRATING, IMPORTING, STABLE,
//! NODE) and are this node's alone: they are never gossiped, only shown on
//! the `myself` line of CLUSTER NODES (`[slot->-<dst-id>]`,
//! `[slot-<-<src-id>]`), used by routing (ASK, TRYAGAIN, ASKING), and kept
//! in the state file so that a restart keeps them, as Redis's nodes.conf does.
//!
//! Bounds: at most one mark of each kind per slot (16384 each).

use std::collections::BTreeMap;

use crate::node_id::NodeId;
use crate::slots::SLOT_COUNT;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlotMarks {
    migrating_to: BTreeMap<u16, NodeId>,
    importing_from: BTreeMap<u16, NodeId>,
}

/// One mark, in the order CLUSTER NODES lists them (by slot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotMark {
    Migrating { slot: u16, to: NodeId },
    Importing { slot: u16, from: NodeId },
}

impl std::fmt::Display for SlotMark {
    /// Redis's CLUSTER NODES form: `[5->-<id>]` or `[5-<-<id>]`.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SlotMark::Migrating { slot, to } => write!(formatter, "[{slot}->-{to}]"),
            SlotMark::Importing { slot, from } => write!(formatter, "[{slot}-<-{from}]"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid slot mark '{0}'")]
pub struct InvalidSlotMark(String);

impl SlotMarks {
    pub fn is_empty(&self) -> bool {
        self.migrating_to.is_empty() && self.importing_from.is_empty()
    }

    pub fn migrating_to(&self, slot: u16) -> Option<NodeId> {
        self.migrating_to.get(&slot).copied()
    }

    pub fn importing_from(&self, slot: u16) -> Option<NodeId> {
        self.importing_from.get(&slot).copied()
    }

    /// SETSLOT MIGRATING (replaces an earlier target, as Redis does).
    pub fn set_migrating(&mut self, slot: u16, to: NodeId) {
        assert!(slot < SLOT_COUNT, "slot {slot} out of range");
        self.migrating_to.insert(slot, to);
    }

    /// SETSLOT IMPORTING (replaces an earlier source, as Redis does).
    pub fn set_importing(&mut self, slot: u16, from: NodeId) {
        assert!(slot < SLOT_COUNT, "slot {slot} out of range");
        self.importing_from.insert(slot, from);
    }

    /// Returns whether the slot was migrating.
    pub fn clear_migrating(&mut self, slot: u16) -> bool {
        self.migrating_to.remove(&slot).is_some()
    }

    /// Returns whether the slot was importing.
    pub fn clear_importing(&mut self, slot: u16) -> bool {
        self.importing_from.remove(&slot).is_some()
    }

    /// SETSLOT STABLE.
    pub fn clear(&mut self, slot: u16) {
        self.clear_migrating(slot);
        self.clear_importing(slot);
    }

    /// CLUSTER RESET: no slot is open any more.
    pub fn clear_all(&mut self) {
        self.migrating_to.clear();
        self.importing_from.clear();
    }

    /// Drops every mark naming `node` (Redis does so when it deletes a node,
    /// e.g. on CLUSTER FORGET). Returns whether anything changed.
    pub fn forget_node(&mut self, node: NodeId) -> bool {
        let before = self.migrating_to.len() + self.importing_from.len();
        self.migrating_to.retain(|_, to| *to != node);
        self.importing_from.retain(|_, from| *from != node);
        before != self.migrating_to.len() + self.importing_from.len()
    }

    /// Every mark by slot; a slot both migrating and importing (Redis allows
    /// it) shows only its migrating mark, as Redis's CLUSTER NODES does.
    pub fn iter(&self) -> impl Iterator<Item = SlotMark> + '_ {
        let mut marks: Vec<SlotMark> = self
            .migrating_to
            .iter()
            .map(|(&slot, &to)| SlotMark::Migrating { slot, to })
            .collect();
        marks.extend(
            self.importing_from
                .iter()
                .filter(|(slot, _)| !self.migrating_to.contains_key(slot))
                .map(|(&slot, &from)| SlotMark::Importing { slot, from }),
        );
        marks.sort_by_key(|mark| match mark {
            SlotMark::Migrating { slot, .. } | SlotMark::Importing { slot, .. } => *slot,
        });
        marks.into_iter()
    }

    /// The state-file form: the CLUSTER NODES marks separated by spaces.
    /// Both kinds are kept even for a slot that has both.
    pub fn encode(&self) -> String {
        let migrating = self
            .migrating_to
            .iter()
            .map(|(&slot, &to)| SlotMark::Migrating { slot, to });
        let importing = self
            .importing_from
            .iter()
            .map(|(&slot, &from)| SlotMark::Importing { slot, from });
        migrating
            .chain(importing)
            .map(|mark| mark.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn decode(text: &str) -> Result<SlotMarks, InvalidSlotMark> {
        let mut marks = SlotMarks::default();
        for item in text.split_whitespace() {
            let invalid = || InvalidSlotMark(item.to_string());
            let inner = item
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .ok_or_else(invalid)?;
            let (slot, node, migrating) = match (inner.split_once("->-"), inner.split_once("-<-")) {
                (Some((slot, node)), None) => (slot, node, true),
                (None, Some((slot, node))) => (slot, node, false),
                _ => return Err(invalid()),
            };
            let slot: u16 = slot
                .parse()
                .ok()
                .filter(|&slot| slot < SLOT_COUNT)
                .ok_or_else(invalid)?;
            let node: NodeId = node.parse().map_err(|_| invalid())?;
            if migrating {
                marks.set_migrating(slot, node);
            } else {
                marks.set_importing(slot, node);
            }
        }
        Ok(marks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(fill: char) -> NodeId {
        fill.to_string().repeat(40).parse().unwrap()
    }

    #[test]
    fn marks_render_like_redis_and_round_trip() {
        let mut marks = SlotMarks::default();
        marks.set_importing(101, node('b'));
        marks.set_migrating(50, node('a'));
        marks.set_migrating(100, node('c'));
        marks.set_importing(100, node('d'));
        let shown: Vec<String> = marks.iter().map(|mark| mark.to_string()).collect();
        assert_eq!(
            shown,
            vec![
                format!("[50->-{}]", node('a')),
                format!("[100->-{}]", node('c')),
                format!("[101-<-{}]", node('b')),
            ]
        );
        assert_eq!(SlotMarks::decode(&marks.encode()).unwrap(), marks);
        assert_eq!(SlotMarks::decode("").unwrap(), SlotMarks::default());
        assert!(SlotMarks::decode("[16384->-aaaa]").is_err());
        assert!(SlotMarks::decode("50->-x").is_err());
    }

    #[test]
    fn forgetting_a_node_drops_its_marks() {
        let mut marks = SlotMarks::default();
        marks.set_migrating(1, node('a'));
        marks.set_importing(2, node('a'));
        marks.set_importing(3, node('b'));
        assert!(marks.forget_node(node('a')));
        assert!(!marks.forget_node(node('a')));
        assert_eq!(marks.importing_from(3), Some(node('b')));
        assert_eq!(marks.migrating_to(1), None);
        marks.clear(3);
        assert!(marks.is_empty());
    }
}
