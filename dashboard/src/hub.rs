//! The dashboard's state between requests: the latest sample and its JSON
//! snapshot, the tracker (events, history), and the fan-out of Server-Sent
//! Events to every open page.
//!
//! Each push is rendered once into a `Bytes` and sent on a bounded
//! broadcast channel. A page that reads too slowly lags and skips messages
//! (every `state` is complete, so the next one repairs the picture); the
//! sender never waits, so a slow browser costs the node nothing.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::Serialize;
use starling_cluster::NodeId;
use tokio::sync::{broadcast, watch};

use crate::model::Snapshot;
use crate::source::Sample;
use crate::tracker::{Event, EventKind, Point, Tracker};

/// Messages a page may fall behind by before it skips some.
const CHANNEL_CAPACITY: usize = 64;
/// Open event streams at most; more get 503.
pub const SUBSCRIBERS_MAX: usize = 64;
/// Log events replayed to a page that connects.
const REPLAYED_EVENTS: usize = 100;

pub struct Hub {
    inner: Mutex<Inner>,
    sender: broadcast::Sender<Bytes>,
}

struct Inner {
    sample: Arc<Sample>,
    snapshot: Arc<Snapshot>,
    tracker: Tracker,
}

#[derive(Serialize)]
struct SamplePush {
    unix_ms: u64,
    nodes: Vec<SamplePoint>,
}

#[derive(Serialize)]
struct SamplePoint {
    node: NodeId,
    ops_per_sec: u64,
    memory_bytes: u64,
}

/// One Server-Sent Event.
fn sse(event: &str, data: &impl Serialize) -> Bytes {
    let json = serde_json::to_string(data).expect("event serializes");
    Bytes::from(format!("event: {event}\ndata: {json}\n\n"))
}

impl Hub {
    pub fn new(first: Arc<Sample>) -> Hub {
        let mut tracker = Tracker::default();
        tracker.observe(&first);
        let snapshot = Arc::new(Snapshot::build(&first, tracker.finished()));
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        Hub {
            inner: Mutex::new(Inner {
                sample: first,
                snapshot,
                tracker,
            }),
            sender,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("dashboard state lock poisoned")
    }

    pub fn sample(&self) -> Arc<Sample> {
        self.lock().sample.clone()
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.lock().snapshot.clone()
    }

    pub fn with_tracker<T>(&self, read: impl FnOnce(&Tracker) -> T) -> T {
        read(&self.lock().tracker)
    }

    /// Takes in a new sample and pushes what changed to every page.
    pub fn update(&self, sample: Arc<Sample>) {
        let (events, points, snapshot) = {
            let mut inner = self.lock();
            let (events, points) = inner.tracker.observe(&sample);
            let snapshot = Arc::new(Snapshot::build(&sample, inner.tracker.finished()));
            inner.sample = sample.clone();
            inner.snapshot = snapshot.clone();
            (events, points, snapshot)
        };
        for event in &events {
            self.push(sse("log", event));
        }
        self.push(sse("state", &*snapshot));
        self.push(sse(
            "sample",
            &SamplePush {
                unix_ms: sample.unix_ms,
                nodes: points
                    .into_iter()
                    .map(|(node, [_, ops_per_sec, memory_bytes]): (NodeId, Point)| SamplePoint {
                        node,
                        ops_per_sec,
                        memory_bytes,
                    })
                    .collect(),
            },
        ));
    }

    /// Records an event of an action taken here and pushes it.
    pub fn record(&self, kind: EventKind, node: Option<NodeId>, message: String) -> Event {
        let now = unix_ms();
        let event = self.lock().tracker.record(now, kind, node, message);
        self.push(sse("log", &event));
        event
    }

    fn push(&self, message: Bytes) {
        // No subscriber is not an error.
        let _ = self.sender.send(message);
    }

    /// A new page's stream: what it needs first, and the live channel; None
    /// when `SUBSCRIBERS_MAX` pages are connected already.
    pub fn subscribe(&self) -> Option<(Vec<Bytes>, broadcast::Receiver<Bytes>)> {
        if self.sender.receiver_count() >= SUBSCRIBERS_MAX {
            return None;
        }
        let receiver = self.sender.subscribe();
        let inner = self.lock();
        let mut first = vec![sse("state", &*inner.snapshot)];
        let events: Vec<&Event> = inner.tracker.log().collect();
        for event in &events[events.len().saturating_sub(REPLAYED_EVENTS)..] {
            first.push(sse("log", event));
        }
        Some((first, receiver))
    }
}

pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// Feeds the hub every sample the node publishes, until the node stops.
pub async fn follow(hub: Arc<Hub>, mut samples: watch::Receiver<Arc<Sample>>) {
    while samples.changed().await.is_ok() {
        let sample = samples.borrow_and_update().clone();
        hub.update(sample);
    }
}
