//! What the dashboard remembers between samples: the event log (derived by
//! comparing each sample with the one before, plus the actions taken), the
//! per-node ops/s and memory history behind the charts, and the finished
//! migrations.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::Serialize;
use starling_cluster::{Health, MigrationReport, NodeId};

use crate::source::Sample;

/// Events kept for `GET /api/v1/log`.
pub const LOG_MAX: usize = 500;
/// History points kept per node: five minutes at one a second.
pub const HISTORY_POINTS_MAX: usize = 300;
/// Finished migrations kept.
pub const FINISHED_MAX: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    NodeJoined,
    NodeSuspected,
    NodeFailed,
    NodeRecovered,
    NodeLeft,
    MigrationStarted,
    MigrationFinished,
    MigrationFailed,
    MigrationCancelled,
    RebalancePlanned,
    DrainPlanned,
    CancelRequested,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub seq: u64,
    pub unix_ms: u64,
    pub kind: EventKind,
    pub node: Option<NodeId>,
    pub message: String,
}

/// `[unix_ms, ops_per_sec, memory_bytes]`.
pub type Point = [u64; 3];

#[derive(Default)]
pub struct Tracker {
    /// None before the first sample.
    health: Option<HashMap<NodeId, Health>>,
    /// Live migrations last seen, by id.
    live: HashMap<String, MigrationReport>,
    finished: VecDeque<MigrationReport>,
    log: VecDeque<Event>,
    next_seq: u64,
    history: BTreeMap<NodeId, VecDeque<Point>>,
}

fn short(id: &NodeId) -> &str {
    &id.as_str()[..8]
}

fn describe(report: &MigrationReport) -> String {
    format!(
        "{} slots {} -> {}",
        report.slot_set().len(),
        short(&report.source),
        short(&report.target)
    )
}

impl Tracker {
    pub fn log(&self) -> impl Iterator<Item = &Event> {
        self.log.iter()
    }

    pub fn finished(&self) -> &VecDeque<MigrationReport> {
        &self.finished
    }

    pub fn history(&self) -> &BTreeMap<NodeId, VecDeque<Point>> {
        &self.history
    }

    /// Records an event and returns it.
    pub fn record(&mut self, unix_ms: u64, kind: EventKind, node: Option<NodeId>, message: String) -> Event {
        self.next_seq += 1;
        let event = Event {
            seq: self.next_seq,
            unix_ms,
            kind,
            node,
            message,
        };
        if self.log.len() == LOG_MAX {
            self.log.pop_front();
        }
        self.log.push_back(event.clone());
        event
    }

    /// Takes in a new sample: returns the events it implies and the history
    /// point of each node.
    pub fn observe(&mut self, sample: &Sample) -> (Vec<Event>, Vec<(NodeId, Point)>) {
        let mut events = Vec::new();
        let now = sample.unix_ms;
        let health: HashMap<NodeId, Health> = sample.view.nodes.iter().map(|node| (node.id, node.health)).collect();
        if let Some(previous) = self.health.take() {
            for (id, health_now) in &health {
                let change = match (previous.get(id), health_now) {
                    (None, _) => Some((EventKind::NodeJoined, "joined")),
                    (Some(before), now) if before == now => None,
                    (_, Health::Suspect) => Some((EventKind::NodeSuspected, "suspected (fail?)")),
                    (_, Health::Failed) => Some((EventKind::NodeFailed, "failed")),
                    (_, Health::Online) => Some((EventKind::NodeRecovered, "recovered")),
                };
                if let Some((kind, what)) = change {
                    events.push(self.record(now, kind, Some(*id), format!("node {} {what}", short(id))));
                }
            }
            for id in previous.keys().filter(|id| !health.contains_key(id)) {
                events.push(self.record(now, EventKind::NodeLeft, Some(*id), format!("node {} left", short(id))));
            }
            self.observe_migrations(sample, &mut events);
        } else {
            // The first sample is the baseline: what runs already is not news.
            for report in sample.telemetry.values().flat_map(|telemetry| &telemetry.migrations) {
                if report.is_finished() {
                    self.remember_finished(report.clone());
                } else {
                    self.live.insert(report.id.clone(), report.clone());
                }
            }
        }
        self.health = Some(health);

        let mut points = Vec::new();
        self.history.retain(|id, _| sample.view.node(id).is_some());
        for node in &sample.view.nodes {
            let Some(stats) = sample
                .telemetry
                .get(&node.id)
                .and_then(|telemetry| telemetry.stats.as_ref())
            else {
                continue;
            };
            let point = [now, stats.ops_per_sec, stats.memory_bytes];
            let series = self.history.entry(node.id).or_default();
            if series.len() == HISTORY_POINTS_MAX {
                series.pop_front();
            }
            series.push_back(point);
            points.push((node.id, point));
        }
        (events, points)
    }

    fn observe_migrations(&mut self, sample: &Sample, events: &mut Vec<Event>) {
        let now = sample.unix_ms;
        let mut reports: Vec<&MigrationReport> = sample
            .telemetry
            .values()
            .flat_map(|telemetry| &telemetry.migrations)
            .collect();
        reports.sort_by(|a, b| (a.progress.started_unix, &a.id).cmp(&(b.progress.started_unix, &b.id)));
        for report in reports {
            let known_live = self.live.contains_key(&report.id);
            let known_finished = self.finished.iter().any(|done| done.id == report.id);
            if known_finished {
                continue;
            }
            if !known_live {
                events.push(self.record(
                    now,
                    EventKind::MigrationStarted,
                    Some(report.source),
                    format!("migration started: {}", describe(report)),
                ));
            }
            if report.is_finished() {
                self.live.remove(&report.id);
                let (kind, what) = match report.progress.state.as_str() {
                    "success" => (EventKind::MigrationFinished, "finished"),
                    "cancelled" => (EventKind::MigrationCancelled, "cancelled"),
                    _ => (EventKind::MigrationFailed, "failed"),
                };
                let mut message = format!(
                    "migration {what}: {}, {} keys",
                    describe(report),
                    report.progress.keys_moved
                );
                if !report.progress.message.is_empty() {
                    message.push_str(&format!(" ({})", report.progress.message));
                }
                events.push(self.record(now, kind, Some(report.source), message));
                self.remember_finished(report.clone());
            } else {
                self.live.insert(report.id.clone(), report.clone());
            }
        }
    }

    fn remember_finished(&mut self, report: MigrationReport) {
        if self.finished.len() == FINISHED_MAX {
            self.finished.pop_front();
        }
        self.finished.push_back(report);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use starling_cluster::{
        ClusterView, Endpoint, MigrationProgress, NodeStats, NodeTelemetry, NodeView, SlotRange, SlotSet,
    };

    use super::*;
    use crate::source::{LocalCounters, Mode};

    fn node(id: NodeId, health: Health) -> NodeView {
        NodeView::primary(id, Endpoint::new("127.0.0.1", 7000, 17000), 1, health, SlotSet::new())
    }

    fn report(id: &str, source: NodeId, target: NodeId, state: &str) -> MigrationReport {
        MigrationReport {
            id: id.into(),
            source,
            target,
            slots: SlotSet::from_ranges(&[SlotRange::new(0, 9)]).encode(),
            progress: MigrationProgress {
                state: state.into(),
                message: String::new(),
                keys_moved: 7,
                keys_total: 7,
                bytes_moved: 70,
                bytes_per_sec: 10,
                eta_secs: None,
                started_unix: 1,
                updated_unix: 2,
            },
        }
    }

    fn sample(unix_ms: u64, nodes: Vec<NodeView>, reports: Vec<MigrationReport>) -> Sample {
        let myself = nodes[0].id;
        let mut telemetry: HashMap<NodeId, NodeTelemetry> = nodes
            .iter()
            .map(|node| {
                let stats = NodeStats {
                    ops_per_sec: unix_ms,
                    memory_bytes: 5,
                    ..NodeStats::default()
                };
                (
                    node.id,
                    NodeTelemetry {
                        stats: Some(stats),
                        migrations: Vec::new(),
                    },
                )
            })
            .collect();
        telemetry.get_mut(&myself).unwrap().migrations = reports;
        Sample {
            mode: Mode::Cluster,
            unix_ms,
            view: Arc::new(ClusterView::new(myself, nodes)),
            telemetry,
            live_nodes: 0,
            local: LocalCounters::default(),
            rebalance_running: false,
        }
    }

    fn kinds(events: &[Event]) -> Vec<EventKind> {
        events.iter().map(|event| event.kind).collect()
    }

    #[test]
    fn node_and_migration_changes_become_events() {
        let (a, b, c) = (NodeId::random(), NodeId::random(), NodeId::random());
        let mut tracker = Tracker::default();
        let already_done = report("old", a, b, "success");
        let (events, points) = tracker.observe(&sample(
            1,
            vec![node(a, Health::Online), node(b, Health::Online)],
            vec![already_done.clone()],
        ));
        assert!(events.is_empty(), "the first sample is the baseline: {events:?}");
        assert_eq!(points.len(), 2);
        assert_eq!(tracker.finished().len(), 1);

        let (events, _) = tracker.observe(&sample(
            2,
            vec![
                node(a, Health::Online),
                node(b, Health::Suspect),
                node(c, Health::Online),
            ],
            vec![already_done.clone(), report("m1", a, c, "streaming")],
        ));
        let mut seen = kinds(&events);
        seen.sort_by_key(|kind| format!("{kind:?}"));
        assert_eq!(
            seen,
            [
                EventKind::MigrationStarted,
                EventKind::NodeJoined,
                EventKind::NodeSuspected
            ]
        );

        let (events, _) = tracker.observe(&sample(
            3,
            vec![node(a, Health::Online), node(b, Health::Failed)],
            vec![report("m1", a, c, "success"), report("m2", a, b, "cancelled")],
        ));
        let mut seen = kinds(&events);
        seen.sort_by_key(|kind| format!("{kind:?}"));
        assert_eq!(
            seen,
            [
                EventKind::MigrationCancelled,
                EventKind::MigrationFinished,
                EventKind::MigrationStarted,
                EventKind::NodeFailed,
                EventKind::NodeLeft,
            ]
        );
        let finished: Vec<&str> = tracker.finished().iter().map(|done| done.id.as_str()).collect();
        assert_eq!(finished, ["old", "m1", "m2"]);

        let (events, _) = tracker.observe(&sample(
            4,
            vec![node(a, Health::Online), node(b, Health::Online)],
            vec![report("m1", a, c, "success")],
        ));
        assert_eq!(kinds(&events), [EventKind::NodeRecovered]);
        assert!(events[0].message.contains(&b.as_str()[..8]));
        // Sequence numbers rise by one per event.
        let seqs: Vec<u64> = tracker.log().map(|event| event.seq).collect();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
        // Node c left: its history went with it.
        assert_eq!(tracker.history().len(), 2);
        assert_eq!(tracker.history()[&a].len(), 4);
    }

    #[test]
    fn log_history_and_finished_lists_are_bounded() {
        let a = NodeId::random();
        let mut tracker = Tracker::default();
        for step in 0..(HISTORY_POINTS_MAX as u64 + 10) {
            tracker.observe(&sample(step, vec![node(a, Health::Online)], Vec::new()));
        }
        assert_eq!(tracker.history()[&a].len(), HISTORY_POINTS_MAX);
        assert_eq!(tracker.history()[&a].back().unwrap()[1], HISTORY_POINTS_MAX as u64 + 9);
        for index in 0..(LOG_MAX + 5) {
            tracker.record(0, EventKind::RebalancePlanned, None, index.to_string());
        }
        assert_eq!(tracker.log().count(), LOG_MAX);
        assert_eq!(tracker.log().next().unwrap().message, "5");
        for index in 0..(FINISHED_MAX + 3) {
            let done = report(&format!("m{index}"), a, a, "failed");
            tracker.observe(&sample(1000, vec![node(a, Health::Online)], vec![done]));
        }
        assert_eq!(tracker.finished().len(), FINISHED_MAX);
    }
}
