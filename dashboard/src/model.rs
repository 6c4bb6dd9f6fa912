//! The JSON documents of the v1 API (see docs/api.md), built from a
//! `Sample`.

use serde::Serialize;
use std::collections::VecDeque;

use starling_cluster::{MigrationProgress, MigrationReport, NodeId, NodeStats, SlotRange, SlotSet, SLOT_COUNT};

use crate::source::Sample;

/// `[start, end]`, inclusive.
pub type RangeJson = [u16; 2];

pub fn ranges_json(slots: &SlotSet) -> Vec<RangeJson> {
    slots.ranges().iter().map(|range| [range.start, range.end]).collect()
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ClusterJson {
    pub version: u32,
    pub mode: &'static str,
    pub myself: NodeId,
    pub state: &'static str,
    pub current_epoch: u64,
    pub nodes: usize,
    pub nodes_failed: usize,
    pub slots_assigned: usize,
    pub slots_ok: usize,
    pub slots_fail: usize,
    pub keys: u64,
    pub memory_bytes: u64,
    pub ops_per_sec: u64,
    pub connected_clients: u64,
    pub migrations_active: usize,
    pub rebalance_running: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NodeJson {
    pub id: NodeId,
    pub address: String,
    pub cluster_port: u16,
    pub hostname: Option<String>,
    pub role: &'static str,
    pub primary: Option<NodeId>,
    pub health: &'static str,
    pub myself: bool,
    pub config_epoch: u64,
    pub slots: usize,
    pub slot_ranges: Vec<RangeJson>,
    pub stats: Option<NodeStats>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct OwnerJson {
    pub node: NodeId,
    pub slots: usize,
    pub slot_ranges: Vec<RangeJson>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MigratingJson {
    pub migration: String,
    pub source: NodeId,
    pub target: NodeId,
    pub slot_ranges: Vec<RangeJson>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SlotsJson {
    pub owners: Vec<OwnerJson>,
    pub unassigned: Vec<RangeJson>,
    pub migrating: Vec<MigratingJson>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MigrationJson {
    pub id: String,
    pub source: NodeId,
    pub target: NodeId,
    pub slot_ranges: Vec<RangeJson>,
    pub slots: usize,
    #[serde(flatten)]
    pub progress: MigrationProgress,
}

impl From<&MigrationReport> for MigrationJson {
    fn from(report: &MigrationReport) -> MigrationJson {
        let slots = report.slot_set();
        MigrationJson {
            id: report.id.clone(),
            source: report.source,
            target: report.target,
            slot_ranges: ranges_json(&slots),
            slots: slots.len(),
            progress: report.progress.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MigrationsJson {
    pub active: Vec<MigrationJson>,
    pub history: Vec<MigrationJson>,
}

/// The four read documents together: the `state` event.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Snapshot {
    pub cluster: ClusterJson,
    pub nodes: Vec<NodeJson>,
    pub slots: SlotsJson,
    pub migrations: MigrationsJson,
}

/// Live migrations reported by any node, oldest first.
pub fn active_migrations(sample: &Sample) -> Vec<&MigrationReport> {
    let mut active: Vec<&MigrationReport> = sample
        .telemetry
        .values()
        .flat_map(|telemetry| &telemetry.migrations)
        .filter(|report| !report.is_finished())
        .collect();
    active.sort_by(|a, b| (a.progress.started_unix, &a.id).cmp(&(b.progress.started_unix, &b.id)));
    active
}

impl Snapshot {
    /// `history` is the finished migrations the dashboard remembers.
    pub fn build(sample: &Sample, history: &VecDeque<MigrationReport>) -> Snapshot {
        let view = &sample.view;
        let stats_of = |id: &NodeId| sample.telemetry.get(id).and_then(|telemetry| telemetry.stats.clone());
        let mut owned: Vec<(NodeId, SlotSet)> = view.nodes.iter().map(|node| (node.id, SlotSet::new())).collect();
        let mut unassigned = SlotSet::new();
        for slot in 0..SLOT_COUNT {
            match view.slot_map.owner(slot) {
                Some(owner) => match owned.iter_mut().find(|(id, _)| *id == owner.node) {
                    Some((_, slots)) => {
                        slots.insert(slot);
                    }
                    None => owned.push((owner.node, SlotSet::from_ranges(&[SlotRange::new(slot, slot)]))),
                },
                None => {
                    unassigned.insert(slot);
                }
            }
        }
        let slots_of = |id: &NodeId| {
            owned
                .iter()
                .find(|(owner, _)| owner == id)
                .map(|(_, slots)| slots.clone())
                .unwrap_or_default()
        };
        let nodes: Vec<NodeJson> = view
            .nodes
            .iter()
            .map(|node| {
                let slots = slots_of(&node.id);
                NodeJson {
                    id: node.id,
                    address: format!("{}:{}", node.endpoint.ip, node.endpoint.port),
                    cluster_port: node.endpoint.cluster_port,
                    hostname: node.endpoint.hostname.clone(),
                    role: node.role.as_str(),
                    primary: node.primary,
                    health: node.health.as_str(),
                    myself: node.id == view.myself,
                    config_epoch: node.config_epoch,
                    slots: slots.len(),
                    slot_ranges: ranges_json(&slots),
                    stats: stats_of(&node.id),
                }
            })
            .collect();
        let active = active_migrations(sample);
        let primaries_stats: Vec<NodeStats> = view
            .nodes
            .iter()
            .filter(|node| node.role == starling_cluster::Role::Primary)
            .filter_map(|node| stats_of(&node.id))
            .collect();
        let sum = |field: fn(&NodeStats) -> u64| primaries_stats.iter().map(field).sum::<u64>();
        let slots_assigned = view.slot_map.assigned_count();
        let slots_ok = view.slots_ok();
        let cluster = ClusterJson {
            version: 1,
            mode: sample.mode.as_str(),
            myself: view.myself,
            state: if view.is_ok() { "ok" } else { "fail" },
            current_epoch: view.current_epoch(),
            nodes: view.nodes.len(),
            nodes_failed: view.nodes.iter().filter(|node| !node.health.is_serving()).count(),
            slots_assigned,
            slots_ok,
            slots_fail: slots_assigned - slots_ok,
            keys: sum(|stats| stats.keys),
            memory_bytes: sum(|stats| stats.memory_bytes),
            ops_per_sec: sum(|stats| stats.ops_per_sec),
            connected_clients: sum(|stats| stats.connected_clients),
            migrations_active: active.len(),
            rebalance_running: sample.rebalance_running,
        };
        let mut owners: Vec<OwnerJson> = owned
            .iter()
            .filter(|(_, slots)| !slots.is_empty())
            .map(|(node, slots)| OwnerJson {
                node: *node,
                slots: slots.len(),
                slot_ranges: ranges_json(slots),
            })
            .collect();
        owners.sort_by_key(|owner| owner.slot_ranges[0][0]);
        let slots = SlotsJson {
            owners,
            unassigned: ranges_json(&unassigned),
            migrating: active
                .iter()
                .map(|report| MigratingJson {
                    migration: report.id.clone(),
                    source: report.source,
                    target: report.target,
                    slot_ranges: ranges_json(&report.slot_set()),
                })
                .collect(),
        };
        let migrations = MigrationsJson {
            active: active.into_iter().map(MigrationJson::from).collect(),
            history: history.iter().map(MigrationJson::from).collect(),
        };
        Snapshot {
            cluster,
            nodes,
            slots,
            migrations,
        }
    }
}
