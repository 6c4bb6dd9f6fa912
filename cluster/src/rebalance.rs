//! The rebalance planner: the fewest slot moves that bring every primary to
//! its share of the cluster.
//!
//! Each node gets a target share of the total cost in proportion to its
//! weight (weight 0 drains a node). Cost is one per slot by default, or each
//! slot's key count or memory when balancing by those. Nodes above their
//! target give slots, nodes below receive them, and no slot moves twice, so
//! nothing moves that does not have to:
//! - donors are served largest surplus first, receivers largest deficit
//!   first;
//! - a donor gives its highest-numbered slots first, so what stays keeps
//!   its ranges compact;
//! - a slot moves only if the move shrinks the pair's combined imbalance.
//!
//! Like `redis-cli --cluster rebalance`, nothing is planned when every node
//! is within `threshold_percent` of its target (weight-0 nodes always drain).

use std::collections::BTreeMap;

use crate::{NodeId, SlotSet, SLOT_COUNT};

/// One primary as the planner sees it.
#[derive(Clone, Debug)]
pub struct NodeShare {
    pub node: NodeId,
    pub slots: SlotSet,
    /// Relative share of the cluster; 0 empties the node.
    pub weight: f64,
}

/// What a rebalance evens out (an operator's choice; `BalanceBy` carries
/// the figures).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Balance {
    #[default]
    Slots,
    Keys,
    /// The bytes each slot's keys take (CLUSTER SLOT-STATS `memory-bytes`).
    Memory,
}

impl Balance {
    pub fn parse(text: &str) -> Option<Balance> {
        match text {
            "slots" => Some(Balance::Slots),
            "keys" => Some(Balance::Keys),
            "memory" => Some(Balance::Memory),
            _ => None,
        }
    }
}

/// What a slot costs when balancing.
#[derive(Clone, Debug)]
pub enum BalanceBy {
    Slots,
    /// Per-slot key counts, or per-slot memory, indexed by slot.
    SlotCosts(Vec<u64>),
}

impl BalanceBy {
    fn cost(&self, slot: u16) -> u64 {
        match self {
            BalanceBy::Slots => 1,
            BalanceBy::SlotCosts(costs) => costs.get(usize::from(slot)).copied().unwrap_or(0),
        }
    }
}

/// Slots to move from one node to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedMove {
    pub source: NodeId,
    pub target: NodeId,
    pub slots: SlotSet,
    /// The moved slots' total cost.
    pub cost: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("no node can receive slots (every weight is 0)")]
    NoReceiver,
    #[error("weights must be finite and not negative")]
    BadWeight,
}

/// Plans the moves. `threshold_percent` skips the plan when every node with
/// a positive weight is already that close to its target.
pub fn plan(
    nodes: &[NodeShare],
    balance_by: &BalanceBy,
    threshold_percent: f64,
) -> Result<Vec<PlannedMove>, PlanError> {
    if nodes.iter().any(|node| !node.weight.is_finite() || node.weight < 0.0) {
        return Err(PlanError::BadWeight);
    }
    let total_weight: f64 = nodes.iter().map(|node| node.weight).sum();
    if total_weight <= 0.0 {
        return Err(PlanError::NoReceiver);
    }
    let loads: Vec<u64> = nodes
        .iter()
        .map(|node| node.slots.iter().map(|slot| balance_by.cost(slot)).sum())
        .collect();
    let targets = targets(&loads, nodes, total_weight);
    if within_threshold(nodes, &loads, &targets, threshold_percent) {
        return Ok(Vec::new());
    }
    // Signed imbalance: positive gives, negative receives.
    let mut imbalance: Vec<i128> = loads
        .iter()
        .zip(&targets)
        .map(|(&load, &target)| i128::from(load) - i128::from(target))
        .collect();
    let mut donors: Vec<usize> = (0..nodes.len()).filter(|&index| imbalance[index] > 0).collect();
    donors.sort_by_key(|&index| std::cmp::Reverse(imbalance[index]));
    let mut moves: BTreeMap<(usize, usize), (SlotSet, u64)> = BTreeMap::new();
    for donor in donors {
        let mut slots: Vec<u16> = nodes[donor].slots.iter().collect();
        slots.reverse();
        for slot in slots {
            if imbalance[donor] <= 0 {
                break;
            }
            let Some(receiver) = neediest_receiver(&imbalance) else {
                break;
            };
            let cost = i128::from(balance_by.cost(slot));
            let drained = nodes[donor].weight == 0.0;
            let before = imbalance[donor].abs() + imbalance[receiver].abs();
            let after = (imbalance[donor] - cost).abs() + (imbalance[receiver] + cost).abs();
            if after >= before && !drained {
                continue;
            }
            imbalance[donor] -= cost;
            imbalance[receiver] += cost;
            let entry = moves.entry((donor, receiver)).or_default();
            entry.0.insert(slot);
            entry.1 += cost as u64;
        }
    }
    Ok(moves
        .into_iter()
        .map(|((donor, receiver), (slots, cost))| PlannedMove {
            source: nodes[donor].node,
            target: nodes[receiver].node,
            slots,
            cost,
        })
        .collect())
}

/// Each node's target load: its weighted share, rounded so that the
/// targets add up to the total exactly (largest remainders get the extra,
/// and among equal remainders the nodes that already hold more).
fn targets(loads: &[u64], nodes: &[NodeShare], total_weight: f64) -> Vec<u64> {
    let total: u64 = loads.iter().sum();
    let exact: Vec<f64> = nodes
        .iter()
        .map(|node| total as f64 * node.weight / total_weight)
        .collect();
    let mut targets: Vec<u64> = exact.iter().map(|share| share.floor() as u64).collect();
    let mut remainder = total - targets.iter().sum::<u64>();
    let mut by_fraction: Vec<usize> = (0..nodes.len()).filter(|&index| nodes[index].weight > 0.0).collect();
    by_fraction.sort_by(|&a, &b| {
        let fraction = |index: usize| exact[index] - exact[index].floor();
        // On ties the extra unit goes where it already is, so it does not move.
        fraction(b)
            .total_cmp(&fraction(a))
            .then(loads[b].cmp(&loads[a]))
            .then(a.cmp(&b))
    });
    for index in by_fraction.iter().cycle() {
        if remainder == 0 {
            break;
        }
        targets[*index] += 1;
        remainder -= 1;
    }
    targets
}

fn within_threshold(nodes: &[NodeShare], loads: &[u64], targets: &[u64], threshold_percent: f64) -> bool {
    nodes.iter().zip(loads).zip(targets).all(|((node, &load), &target)| {
        if node.weight == 0.0 {
            return load == 0;
        }
        let allowed = target as f64 * threshold_percent / 100.0;
        (load as f64 - target as f64).abs() <= allowed
    })
}

fn neediest_receiver(imbalance: &[i128]) -> Option<usize> {
    (0..imbalance.len())
        .filter(|&index| imbalance[index] < 0)
        .min_by_key(|&index| (imbalance[index], index))
}

/// The slots of `count` nodes splitting all 16384 evenly, as consecutive
/// ranges (how `redis-cli --cluster create` assigns them).
pub fn even_split(count: usize) -> Vec<SlotSet> {
    let count = count.max(1);
    let slot_total = usize::from(SLOT_COUNT);
    (0..count)
        .map(|index| {
            let start = index * slot_total / count;
            let end = (index + 1) * slot_total / count;
            let mut slots = SlotSet::new();
            for slot in start..end {
                slots.insert(slot as u16);
            }
            slots
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(byte: u8, slots: SlotSet, weight: f64) -> NodeShare {
        NodeShare {
            node: NodeId::parse(format!("{byte:02x}").repeat(20).as_bytes()).unwrap(),
            slots,
            weight,
        }
    }

    /// Applies the moves and returns each node's slot count.
    fn after(nodes: &[NodeShare], moves: &[PlannedMove]) -> Vec<usize> {
        let mut slots: Vec<SlotSet> = nodes.iter().map(|node| node.slots.clone()).collect();
        for planned in moves {
            let source = nodes.iter().position(|node| node.node == planned.source).unwrap();
            let target = nodes.iter().position(|node| node.node == planned.target).unwrap();
            for slot in planned.slots.iter() {
                assert!(
                    slots[source].remove(slot),
                    "slot {slot} moved from a node that did not own it"
                );
                assert!(slots[target].insert(slot));
            }
        }
        slots.iter().map(SlotSet::len).collect()
    }

    #[test]
    fn a_new_empty_node_receives_a_quarter_from_three() {
        let mut nodes: Vec<NodeShare> = even_split(3)
            .into_iter()
            .enumerate()
            .map(|(i, s)| node(i as u8, s, 1.0))
            .collect();
        nodes.push(node(9, SlotSet::new(), 1.0));
        let moves = plan(&nodes, &BalanceBy::Slots, 2.0).unwrap();
        assert_eq!(after(&nodes, &moves), vec![4096, 4096, 4096, 4096]);
        assert_eq!(moves.len(), 3, "each old node gives to the new one only");
        assert!(moves.iter().all(|planned| planned.target == nodes[3].node));
        let moved: usize = moves.iter().map(|planned| planned.slots.len()).sum();
        assert_eq!(moved, 4096, "only the new node's share moves");
    }

    #[test]
    fn weight_zero_drains_a_node_into_the_others() {
        let mut nodes: Vec<NodeShare> = even_split(4)
            .into_iter()
            .enumerate()
            .map(|(i, s)| node(i as u8, s, 1.0))
            .collect();
        nodes[1].weight = 0.0;
        let moves = plan(&nodes, &BalanceBy::Slots, 2.0).unwrap();
        let counts = after(&nodes, &moves);
        assert_eq!(counts[1], 0);
        assert_eq!(counts.iter().sum::<usize>(), 16384);
        assert!(
            counts
                .iter()
                .enumerate()
                .all(|(i, &c)| i == 1 || (5461..=5462).contains(&c)),
            "{counts:?}"
        );
        assert!(moves.iter().all(|planned| planned.source == nodes[1].node));
    }

    #[test]
    fn weights_set_proportional_shares() {
        let mut nodes: Vec<NodeShare> = even_split(2)
            .into_iter()
            .enumerate()
            .map(|(i, s)| node(i as u8, s, 1.0))
            .collect();
        nodes[0].weight = 3.0;
        let moves = plan(&nodes, &BalanceBy::Slots, 0.0).unwrap();
        assert_eq!(after(&nodes, &moves), vec![12288, 4096]);
    }

    #[test]
    fn a_balanced_cluster_plans_nothing() {
        let nodes: Vec<NodeShare> = even_split(3)
            .into_iter()
            .enumerate()
            .map(|(i, s)| node(i as u8, s, 1.0))
            .collect();
        assert!(plan(&nodes, &BalanceBy::Slots, 2.0).unwrap().is_empty());
        assert!(plan(&nodes, &BalanceBy::Slots, 0.0).unwrap().is_empty());
    }

    #[test]
    fn key_costs_balance_keys_not_slots() {
        let nodes: Vec<NodeShare> = even_split(2)
            .into_iter()
            .enumerate()
            .map(|(i, s)| node(i as u8, s, 1.0))
            .collect();
        // Node 0's slots hold 3 keys each, node 1's hold 1.
        let costs: Vec<u64> = (0..16384).map(|slot| if slot < 8192 { 3 } else { 1 }).collect();
        let moves = plan(&nodes, &BalanceBy::SlotCosts(costs.clone()), 1.0).unwrap();
        let keys_after = |index: usize| -> u64 {
            let mut slots = nodes[index].slots.clone();
            for planned in &moves {
                for slot in planned.slots.iter() {
                    if planned.source == nodes[index].node {
                        slots.remove(slot);
                    } else if planned.target == nodes[index].node {
                        slots.insert(slot);
                    }
                }
            }
            slots.iter().map(|slot| costs[usize::from(slot)]).sum()
        };
        assert_eq!(keys_after(0) + keys_after(1), 8192 * 4);
        assert!(
            keys_after(0).abs_diff(keys_after(1)) <= 3,
            "{} vs {}",
            keys_after(0),
            keys_after(1)
        );
    }

    #[test]
    fn bad_weights_are_rejected() {
        let nodes = vec![node(1, SlotSet::full(), 0.0)];
        assert_eq!(plan(&nodes, &BalanceBy::Slots, 2.0), Err(PlanError::NoReceiver));
        let nodes = vec![node(1, SlotSet::full(), f64::NAN)];
        assert_eq!(plan(&nodes, &BalanceBy::Slots, 2.0), Err(PlanError::BadWeight));
    }

    #[test]
    fn targets_add_up_to_the_total() {
        let nodes: Vec<NodeShare> = (0..7).map(|i| node(i, SlotSet::new(), 1.0)).collect();
        let loads = vec![16384, 0, 0, 0, 0, 0, 0];
        let shares = targets(&loads, &nodes, 7.0);
        assert_eq!(shares.iter().sum::<u64>(), 16384);
        assert!(shares.iter().all(|&share| share == 2340 || share == 2341), "{shares:?}");
    }
}
