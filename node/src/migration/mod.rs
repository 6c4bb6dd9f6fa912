//! Native slot migration: `CLUSTER MIGRATESLOTS` (Valkey 9's names).
//!
//! ```text
//!  source node                                       target node
//!  outgoing::run (a task on the thread of the        incoming::handle (the link
//!  connection that asked)                            connection's thread)
//!   │ shards: track writes, export chunks ──Chunk──▶  shards: SlotImport::apply
//!   │ rounds of dirty keys until few are left
//!   │ shards: freeze the slots' writes
//!   │ last dirty keys ──────────────────────Chunk──▶
//!   │ SourceHandoff ◀────Prepare/Prepared/Commit───▶ TargetHandoff
//!   │ manager: Release (MOVED to the target)          manager: Claim (epoch bump)
//!   │ shards: thaw (parked writes get MOVED), free the slots' data
//! ```
//!
//! The two-phase handoff and its invariant (never two writers, never a
//! lost acknowledged write) live in `starling_cluster::handoff`, whose
//! simulation drives the same state machines; this module does the I/O.
//! `keyspace::migration` turns slots into bounded chunks and back.
//!
//! [`Migrations`] is the node's registry of migrations (both directions),
//! what CLUSTER GETSLOTMIGRATIONS lists and CANCELSLOTMIGRATIONS cancels.

pub mod incoming;
pub mod link;
pub mod outgoing;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use starling_cluster::{NodeId, SlotSet};
use starling_protocol::Frame;

/// A migration's name: 40 hex characters, unique in the cluster.
pub type MigrationKey = String;

/// Finished migrations kept for GETSLOTMIGRATIONS (active ones always show).
const HISTORY_MAX: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Export,
    Import,
}

/// The states a migration goes through, in order; the last three are terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MigrationState {
    Connecting,
    /// Copying the slots' keys.
    Streaming,
    /// Resending the keys written during the copy.
    CatchingUp,
    /// Writes frozen; the last changes flush and ownership moves.
    HandingOff,
    Success,
    Failed,
    Cancelled,
}

impl MigrationState {
    pub fn name(self) -> &'static str {
        match self {
            MigrationState::Connecting => "connecting",
            MigrationState::Streaming => "streaming",
            MigrationState::CatchingUp => "catching-up",
            MigrationState::HandingOff => "handing-off",
            MigrationState::Success => "success",
            MigrationState::Failed => "failed",
            MigrationState::Cancelled => "cancelled",
        }
    }

    pub fn is_terminal(self) -> bool {
        self >= MigrationState::Success
    }
}

/// What changes while a migration runs.
#[derive(Clone, Debug)]
pub struct Progress {
    pub state: MigrationState,
    pub message: String,
    pub keys: u64,
    pub bytes: u64,
    /// Keys the slots held when the migration began (for the ETA).
    pub keys_total: u64,
    pub last_update_unix_secs: u64,
    pub last_ack_unix_secs: u64,
}

/// One migration as this node sees it.
pub struct MigrationRecord {
    pub name: MigrationKey,
    pub operation: Operation,
    pub slots: SlotSet,
    pub source: NodeId,
    pub target: NodeId,
    pub create_unix_secs: u64,
    started: Instant,
    progress: Mutex<Progress>,
    cancel_requested: AtomicBool,
}

impl MigrationRecord {
    pub fn progress(&self) -> Progress {
        self.progress.lock().expect("progress lock").clone()
    }

    pub fn update(&self, change: impl FnOnce(&mut Progress)) {
        let mut progress = self.progress.lock().expect("progress lock");
        change(&mut progress);
        progress.last_update_unix_secs = unix_secs();
    }

    pub fn set_state(&self, state: MigrationState, message: &str) {
        self.update(|progress| {
            progress.state = state;
            progress.message = message.to_string();
        });
    }

    pub fn cancel_requested(&self) -> bool {
        self.cancel_requested.load(Ordering::Acquire)
    }

    /// Bytes per second since the start.
    pub fn rate_bytes_per_sec(&self, progress: &Progress) -> u64 {
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        (progress.bytes as f64 / seconds) as u64
    }

    /// Seconds left at the current key rate, if it can be told.
    pub fn eta_secs(&self, progress: &Progress) -> Option<u64> {
        if progress.state.is_terminal() || progress.keys == 0 {
            return None;
        }
        let seconds = self.started.elapsed().as_secs_f64();
        let left = progress.keys_total.saturating_sub(progress.keys) as f64;
        Some((left * seconds / progress.keys as f64).ceil() as u64)
    }

    /// The GETSLOTMIGRATIONS entry: Valkey's fields, then Starling's progress.
    pub fn to_frame(&self) -> Frame {
        let progress = self.progress();
        let text = |value: &str| Frame::bulk(Bytes::copy_from_slice(value.as_bytes()));
        let field = |name: &'static str, value: Frame| (Frame::bulk(Bytes::from_static(name.as_bytes())), value);
        let ranges: Vec<String> = self
            .slots
            .ranges()
            .iter()
            .map(|range| format!("{}-{}", range.start, range.end))
            .collect();
        let operation = match self.operation {
            Operation::Export => "EXPORT",
            Operation::Import => "IMPORT",
        };
        let eta = self.eta_secs(&progress).map_or(-1, |secs| secs as i64);
        Frame::Map(vec![
            field("name", text(&self.name)),
            field("operation", text(operation)),
            field("slot_ranges", text(&ranges.join(" "))),
            field("target_node", text(self.target.as_str())),
            field("source_node", text(self.source.as_str())),
            field("create_time", Frame::integer(self.create_unix_secs as i64)),
            field(
                "last_update_time",
                Frame::integer(progress.last_update_unix_secs as i64),
            ),
            field("last_ack_time", Frame::integer(progress.last_ack_unix_secs as i64)),
            field("state", text(progress.state.name())),
            field("message", text(&progress.message)),
            field("cow_size", Frame::integer(0)),
            field("keys_moved", Frame::integer(progress.keys as i64)),
            field("keys_total", Frame::integer(progress.keys_total as i64)),
            field("bytes_moved", Frame::integer(progress.bytes as i64)),
            field(
                "bytes_per_second",
                Frame::integer(self.rate_bytes_per_sec(&progress) as i64),
            ),
            field("eta_seconds", Frame::integer(eta)),
        ])
    }
}

/// The node's migrations, newest last.
#[derive(Default)]
pub struct Migrations {
    records: Mutex<Vec<Arc<MigrationRecord>>>,
    /// Imports by name, for the link requests that follow `Begin`.
    incoming: Mutex<HashMap<MigrationKey, Arc<incoming::Incoming>>>,
}

impl Migrations {
    pub fn register(
        &self,
        name: MigrationKey,
        operation: Operation,
        slots: SlotSet,
        source: NodeId,
        target: NodeId,
    ) -> Arc<MigrationRecord> {
        let now = unix_secs();
        let record = Arc::new(MigrationRecord {
            name,
            operation,
            slots,
            source,
            target,
            create_unix_secs: now,
            started: Instant::now(),
            progress: Mutex::new(Progress {
                state: MigrationState::Connecting,
                message: String::new(),
                keys: 0,
                bytes: 0,
                keys_total: 0,
                last_update_unix_secs: now,
                last_ack_unix_secs: now,
            }),
            cancel_requested: AtomicBool::new(false),
        });
        let mut records = self.records.lock().expect("migrations lock");
        records.push(Arc::clone(&record));
        // Keep every active migration and the newest finished ones.
        while records.len() > HISTORY_MAX {
            let Some(oldest_finished) = records.iter().position(|record| record.progress().state.is_terminal()) else {
                break;
            };
            records.remove(oldest_finished);
        }
        record
    }

    pub fn all(&self) -> Vec<Arc<MigrationRecord>> {
        self.records.lock().expect("migrations lock").clone()
    }

    /// Active exports: the slots they move.
    pub fn exporting_slots(&self) -> SlotSet {
        let mut slots = SlotSet::new();
        for record in self.all() {
            if record.operation == Operation::Export && !record.progress().state.is_terminal() {
                for slot in record.slots.iter() {
                    slots.insert(slot);
                }
            }
        }
        slots
    }

    /// Asks every active export to stop; returns how many were asked.
    pub fn cancel_all(&self) -> usize {
        let mut cancelled = 0;
        for record in self.all() {
            if record.operation == Operation::Export && !record.progress().state.is_terminal() {
                record.cancel_requested.store(true, Ordering::Release);
                cancelled += 1;
            }
        }
        cancelled
    }

    fn incoming(&self, name: &str) -> Option<Arc<incoming::Incoming>> {
        self.incoming.lock().expect("incoming lock").get(name).cloned()
    }

    fn add_incoming(&self, incoming: Arc<incoming::Incoming>) {
        self.incoming
            .lock()
            .expect("incoming lock")
            .insert(incoming.record.name.clone(), incoming);
    }

    fn remove_incoming(&self, name: &str) {
        self.incoming.lock().expect("incoming lock").remove(name);
    }
}

pub fn unix_secs() -> u64 {
    crate::shard::unix_time_ms() / 1000
}
