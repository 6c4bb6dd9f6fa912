//! What each node gossips about its own load and its slot migrations, so
//! that any node can show the whole cluster (the dashboard, the admin API,
//! `/metrics`).
//!
//! Two kinds of keys sit beside the membership keys:
//!
//! | key | value |
//! |---|---|
//! | `stats` | `NodeStats` as JSON (about 120 bytes), refreshed about once a second |
//! | `migration:<id>` | `MigrationReport` as JSON, one per migration the node exports |
//!
//! A report's slots use `SlotSet`'s bounded text form, so no value exceeds
//! about 4.5 KB, far below chitchat's ~65 KB limit. A node keeps at most
//! `MIGRATION_REPORTS_MAX` reports: every live one and the newest finished.

use serde::{Deserialize, Serialize};

use crate::node_id::NodeId;
use crate::slots::SlotSet;

pub(crate) const KEY_STATS: &str = "stats";
pub(crate) const KEY_MIGRATION_PREFIX: &str = "migration:";

/// How many migration reports one node publishes at most.
pub const MIGRATION_REPORTS_MAX: usize = 16;

/// Longest `message` a report carries.
const MESSAGE_LEN_MAX: usize = 200;

/// A node's load, as it reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStats {
    pub keys: u64,
    pub memory_bytes: u64,
    pub ops_per_sec: u64,
    pub connected_clients: u64,
    pub commands_processed: u64,
}

/// One migration as its source node reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationReport {
    pub id: String,
    pub source: NodeId,
    pub target: NodeId,
    /// `SlotSet::encode` of the slots.
    pub slots: String,
    #[serde(flatten)]
    pub progress: MigrationProgress,
}

/// How far a migration got; the admin API shows these fields as they are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationProgress {
    /// `connecting`, `streaming`, `catching-up`, `handing-off`, `success`,
    /// `failed` or `cancelled`.
    pub state: String,
    pub message: String,
    pub keys_moved: u64,
    pub keys_total: u64,
    pub bytes_moved: u64,
    pub bytes_per_sec: u64,
    pub eta_secs: Option<u64>,
    pub started_unix: u64,
    pub updated_unix: u64,
}

impl MigrationReport {
    /// Whether the migration has ended (successfully or not).
    pub fn is_finished(&self) -> bool {
        matches!(self.progress.state.as_str(), "success" | "failed" | "cancelled")
    }

    /// The slots, or an empty set if the text is malformed.
    pub fn slot_set(&self) -> SlotSet {
        SlotSet::decode(&self.slots).unwrap_or_default()
    }

    fn bounded(mut self) -> MigrationReport {
        let message = &mut self.progress.message;
        if message.len() > MESSAGE_LEN_MAX {
            let mut end = MESSAGE_LEN_MAX;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        self
    }
}

/// What gossip says about one node beyond its membership keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeTelemetry {
    /// None until the node's first report arrives.
    pub stats: Option<NodeStats>,
    /// Oldest first.
    pub migrations: Vec<MigrationReport>,
}

pub(crate) fn encode_stats(stats: &NodeStats) -> String {
    serde_json::to_string(stats).expect("stats serialize")
}

/// The reports to publish: every live one, then the newest finished ones,
/// at most `MIGRATION_REPORTS_MAX` in all, each as (key, value).
pub(crate) fn encode_reports(reports: &[MigrationReport]) -> Vec<(String, String)> {
    let mut chosen: Vec<&MigrationReport> = reports.iter().filter(|report| !report.is_finished()).collect();
    chosen.truncate(MIGRATION_REPORTS_MAX);
    let room = MIGRATION_REPORTS_MAX - chosen.len();
    let finished: Vec<&MigrationReport> = reports.iter().filter(|report| report.is_finished()).collect();
    chosen.extend(&finished[finished.len().saturating_sub(room)..]);
    chosen
        .into_iter()
        .map(|report| {
            (
                format!("{KEY_MIGRATION_PREFIX}{}", report.id),
                serde_json::to_string(&report.clone().bounded()).expect("report serialize"),
            )
        })
        .collect()
}

/// Reads a node's telemetry from its key-value pairs.
pub(crate) fn decode<'a>(key_values: impl Iterator<Item = (&'a str, &'a str)>) -> NodeTelemetry {
    let mut telemetry = NodeTelemetry::default();
    for (key, value) in key_values {
        if key == KEY_STATS {
            telemetry.stats = serde_json::from_str(value).ok();
        } else if key.starts_with(KEY_MIGRATION_PREFIX) {
            if let Ok(report) = serde_json::from_str::<MigrationReport>(value) {
                telemetry.migrations.push(report);
            }
        }
    }
    telemetry
        .migrations
        .sort_by(|a, b| (a.progress.started_unix, &a.id).cmp(&(b.progress.started_unix, &b.id)));
    telemetry
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slots::{SlotRange, SlotSet, ENCODED_LEN_MAX};

    fn report(id: &str, state: &str, slots: &SlotSet) -> MigrationReport {
        MigrationReport {
            id: id.to_string(),
            source: NodeId::random(),
            target: NodeId::random(),
            slots: slots.encode(),
            progress: MigrationProgress {
                state: state.to_string(),
                message: "é".repeat(300),
                keys_moved: 1,
                keys_total: 2,
                bytes_moved: 3,
                bytes_per_sec: 4,
                eta_secs: Some(5),
                started_unix: 6,
                updated_unix: 7,
            },
        }
    }

    #[test]
    fn reports_keep_every_live_migration_then_the_newest_finished() {
        let slots = SlotSet::from_ranges(&[SlotRange::new(0, 10)]);
        let mut reports: Vec<MigrationReport> = (0..20)
            .map(|index| report(&format!("done{index:02}"), "success", &slots))
            .collect();
        reports.push(report("live", "streaming", &slots));
        let encoded = encode_reports(&reports);
        assert_eq!(encoded.len(), MIGRATION_REPORTS_MAX);
        let keys: Vec<&str> = encoded.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys[0], "migration:live");
        assert_eq!(keys[1], "migration:done05");
        assert_eq!(keys[MIGRATION_REPORTS_MAX - 1], "migration:done19");
    }

    #[test]
    fn values_stay_small_and_round_trip() {
        // The worst slot set: every other slot.
        let mut fragmented = SlotSet::new();
        for slot in (0..16384).step_by(2) {
            fragmented.insert(slot);
        }
        let original = report("m1", "streaming", &fragmented);
        let encoded = encode_reports(std::slice::from_ref(&original));
        let (_, value) = &encoded[0];
        assert!(value.len() < ENCODED_LEN_MAX + 1024, "{} bytes", value.len());
        let stats = NodeStats {
            keys: 5,
            ..NodeStats::default()
        };
        let stats_value = encode_stats(&stats);
        let pairs = [("stats", stats_value.as_str()), (encoded[0].0.as_str(), value.as_str())];
        let decoded = decode(pairs.into_iter());
        assert_eq!(decoded.stats, Some(stats));
        assert_eq!(decoded.migrations.len(), 1);
        let back = &decoded.migrations[0];
        assert_eq!(back.slot_set(), fragmented);
        let message = &back.progress.message;
        assert!(message.len() <= MESSAGE_LEN_MAX && message.starts_with('é'));
        assert_eq!(back.progress.state, "streaming");
        assert!(!back.is_finished());
    }

    #[test]
    fn malformed_values_are_ignored() {
        let decoded = decode([("stats", "{"), ("migration:x", "not json"), ("endpoint", "1:2")].into_iter());
        assert_eq!(decoded, NodeTelemetry::default());
    }
}
