//! The target side of a native migration: `STARLING.MIGRATE` requests from
//! the source, on the link connection's thread.
//!
//! - `Begin` registers the import (the slots must not be this node's) and
//!   starts a ticker that applies `TargetHandoff::on_tick`: with the link
//!   silent and the source still owning the slots, the partial data is
//!   dropped; with the source's claim gone, the slots are claimed.
//! - `Chunk` entries are applied on the shards that own their slots here.
//!   Until the commit this node does not claim the slots, so clients are
//!   still sent to the source (MOVED) and never see partial data.
//! - `Handoff` messages go to the state machine; `ClaimSlots` asks the
//!   manager for the slots with a bumped config epoch before `Committed`
//!   is answered.
//!
//! Imported data is memory only: a restarted target knows nothing of an
//! import and claims nothing, so it never resurrects half-imported slots.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use starling_cluster::handoff::{
    HandoffMessage, HandoffTimeouts, PeerObservation, TargetAction, TargetHandoff, TargetPhase,
};
use starling_cluster::{NodeId, SlotSet};

use super::link::{LinkReply, LinkRequest};
use super::{MigrationRecord, MigrationState, Operation};
use crate::cluster::manager::{ClusterRequest, Handover};
use crate::cluster::ClusterHandle;
use crate::commands::collection_limits;
use crate::connection::session::Session;
use crate::keyspace::migration::MigrationEntry;
use crate::shard::{unix_time_ms, ShardCore, ShardRouter};

/// A link silent this long means the source no longer runs the migration.
const SOURCE_SILENCE_LIMIT: Duration = Duration::from_secs(3);
const TICK: Duration = Duration::from_millis(100);
/// Keys dropped per shard step when an import is abandoned.
const DROP_STEP_KEYS: usize = 2_000;

pub struct Incoming {
    pub record: Arc<MigrationRecord>,
    state: Mutex<IncomingState>,
}

struct IncomingState {
    handoff: TargetHandoff,
    last_message: Instant,
}

/// Answers one link request.
pub async fn handle(session: &Session, request: LinkRequest) -> LinkReply {
    let Some(cluster) = session.server.cluster.clone() else {
        return LinkReply::Refused("this node is not in cluster mode".to_string());
    };
    match request {
        LinkRequest::Begin { name, source, slots } => begin(session, cluster, name, &source, &slots),
        LinkRequest::Chunk { name, seq, entries } => {
            let Some(incoming) = session.server.migrations.incoming(&name) else {
                return LinkReply::Refused(format!("no import named {name}"));
            };
            chunk(session, &incoming, seq, entries).await
        }
        LinkRequest::Handoff { name, message } => {
            let Some(incoming) = session.server.migrations.incoming(&name) else {
                return LinkReply::Refused(format!("no import named {name}"));
            };
            control(&cluster, &session.router, &incoming, message).await
        }
    }
}

fn begin(session: &Session, cluster: Arc<ClusterHandle>, name: String, source: &str, slots: &str) -> LinkReply {
    let (Ok(source), Ok(slots)) = (NodeId::parse(source.as_bytes()), SlotSet::decode(slots)) else {
        return LinkReply::Refused("malformed Begin".to_string());
    };
    let snapshot = cluster.snapshot();
    let myself = snapshot.view.myself;
    if slots.iter().any(|slot| {
        snapshot
            .slot_map()
            .owner(slot)
            .is_some_and(|owner| owner.node == myself)
    }) {
        return LinkReply::Refused("this node already owns some of the slots".to_string());
    }
    let migrations = &session.server.migrations;
    if migrations.incoming(&name).is_some() {
        return LinkReply::Refused(format!("import {name} exists"));
    }
    let record = migrations.register(name, Operation::Import, slots, source, myself);
    record.set_state(MigrationState::Streaming, "");
    let incoming = Arc::new(Incoming {
        record,
        state: Mutex::new(IncomingState {
            handoff: TargetHandoff::new(0, HandoffTimeouts::default(), unix_time_ms()),
            last_message: Instant::now(),
        }),
    });
    migrations.add_incoming(Arc::clone(&incoming));
    let ticker = Ticker {
        cluster,
        router: ShardRouter::for_current_thread(session.server.shards.clone()),
        server: Arc::clone(&session.server),
        incoming,
    };
    tokio::task::spawn_local(ticker.run());
    LinkReply::Ok
}

async fn chunk(session: &Session, incoming: &Incoming, seq: u64, entries: Vec<MigrationEntry>) -> LinkReply {
    let actions = {
        let mut state = incoming.state.lock().expect("import lock");
        state.last_message = Instant::now();
        state.handoff.on_message(&HandoffMessage::Chunk { seq }, unix_time_ms())
    };
    if !actions.contains(&TargetAction::ApplyChunk(seq)) {
        // Out of order or after the handoff: ignored, as the protocol says.
        return LinkReply::Ok;
    }
    // One writer: an import never writes into a slot this node serves.
    if let Some(cluster) = &session.server.cluster {
        let snapshot = cluster.snapshot();
        let myself = snapshot.view.myself;
        let served_here = incoming.record.slots.iter().any(|slot| {
            snapshot
                .slot_map()
                .owner(slot)
                .is_some_and(|owner| owner.node == myself)
        });
        if served_here {
            return LinkReply::Refused("this node already serves some of the imported slots".to_string());
        }
    }
    let mut by_shard: BTreeMap<usize, Vec<MigrationEntry>> = BTreeMap::new();
    for entry in entries {
        let shard = session.router.shard_of_key(entry.key());
        by_shard.entry(shard).or_default().push(entry);
    }
    let record = &incoming.record;
    for (shard, entries) in by_shard {
        for step in apply_steps(entries) {
            let name = record.name.clone();
            let slots = record.slots.clone();
            let applied = session
                .router
                .run(shard, move |core| apply_on_shard(core, &name, &slots, step))
                .await;
            match applied {
                Ok(Ok((keys, bytes))) => record.update(|progress| {
                    progress.keys += keys;
                    progress.bytes += bytes;
                    progress.last_ack_unix_secs = super::unix_secs();
                }),
                Ok(Err(error)) => return LinkReply::Refused(error),
                Err(error) => return LinkReply::Refused(error.to_string()),
            }
            // The local shard applied inline: let the thread's clients run.
            tokio::task::yield_now().await;
        }
    }
    LinkReply::Ok
}

/// Bytes of entries one shard job applies: about one part of a large
/// collection, so that a chunk never holds a shard for long.
const APPLY_STEP_BYTES: usize = 64 * 1024;

/// `entries` in order, cut into steps of about `APPLY_STEP_BYTES`.
fn apply_steps(entries: Vec<MigrationEntry>) -> Vec<Vec<MigrationEntry>> {
    let mut steps = Vec::new();
    let mut step = Vec::new();
    let mut step_bytes = 0;
    for entry in entries {
        step_bytes += entry.size_bytes();
        step.push(entry);
        if step_bytes >= APPLY_STEP_BYTES {
            steps.push(std::mem::take(&mut step));
            step_bytes = 0;
        }
    }
    if !step.is_empty() {
        steps.push(step);
    }
    steps
}

fn apply_on_shard(
    core: &mut ShardCore,
    name: &str,
    slots: &SlotSet,
    entries: Vec<MigrationEntry>,
) -> Result<(u64, u64), String> {
    let limits = collection_limits(core);
    let now_ms = unix_time_ms();
    let ShardCore { keyspace, imports, .. } = core;
    let import = imports.entry(name.to_string()).or_default();
    let (keys_before, bytes_before) = (import.keys_imported, import.bytes_imported);
    for entry in entries {
        import
            .apply(keyspace, entry, &limits, |slot| slots.contains(slot), now_ms)
            .map_err(|error| error.to_string())?;
    }
    Ok((import.keys_imported - keys_before, import.bytes_imported - bytes_before))
}

async fn control(
    cluster: &ClusterHandle,
    router: &ShardRouter,
    incoming: &Incoming,
    message: HandoffMessage,
) -> LinkReply {
    let actions = {
        let mut state = incoming.state.lock().expect("import lock");
        state.last_message = Instant::now();
        state.handoff.on_message(&message, unix_time_ms())
    };
    let mut reply = LinkReply::Ok;
    for action in actions {
        if let Some(message) = carry_out(cluster, router, incoming, action).await {
            reply = LinkReply::Handoff(message);
        }
    }
    reply
}

/// Does what the state machine asked; returns a message to send, if any.
async fn carry_out(
    cluster: &ClusterHandle,
    router: &ShardRouter,
    incoming: &Incoming,
    action: TargetAction,
) -> Option<HandoffMessage> {
    let record = &incoming.record;
    match action {
        TargetAction::Send(message) => {
            if message == HandoffMessage::Prepared {
                record.set_state(MigrationState::HandingOff, "");
            }
            return Some(message);
        }
        TargetAction::ApplyChunk(_) => {}
        TargetAction::ClaimSlots => {
            let slots = record.slots.clone();
            let claimed = cluster
                .request(|reply_tx| ClusterRequest::HandOver {
                    slots,
                    handover: Handover::Claim,
                    reply_tx,
                })
                .await;
            forget_import(router, record).await;
            match claimed {
                Ok(()) => record.set_state(MigrationState::Success, ""),
                Err(error) => record.set_state(MigrationState::Failed, &error.to_string()),
            }
        }
        TargetAction::DropData => {
            drop_imported(router, record).await;
            record.set_state(MigrationState::Cancelled, "the source kept the slots");
        }
    }
    None
}

/// Forgets the shards' import state (the data stays: it is this node's now).
async fn forget_import(router: &ShardRouter, record: &MigrationRecord) {
    let name = record.name.clone();
    let _ = router
        .run_on_all(move |core| {
            core.imports.remove(&name);
        })
        .await;
}

/// Drops everything imported for `record`, a step at a time.
async fn drop_imported(router: &ShardRouter, record: &MigrationRecord) {
    forget_import(router, record).await;
    for slot in record.slots.iter() {
        let shard = router.shard_of_slot(slot);
        while let Ok(left) = router
            .run(shard, move |core| core.keyspace.drop_slot_keys(slot, DROP_STEP_KEYS))
            .await
        {
            if left == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
    }
}

/// Applies `TargetHandoff::on_tick` until the import ends.
struct Ticker {
    cluster: Arc<ClusterHandle>,
    router: ShardRouter,
    server: Arc<crate::server::ServerContext>,
    incoming: Arc<Incoming>,
}

impl Ticker {
    async fn run(self) {
        let record = Arc::clone(&self.incoming.record);
        loop {
            tokio::time::sleep(TICK).await;
            let actions = {
                let observation = self.observe_source();
                let mut state = self.incoming.state.lock().expect("import lock");
                let mut observation = observation;
                observation.migration_listed = state.last_message.elapsed() < SOURCE_SILENCE_LIMIT;
                state.handoff.on_tick(unix_time_ms(), observation)
            };
            for action in actions {
                carry_out(&self.cluster, &self.router, &self.incoming, action).await;
            }
            let phase = self.incoming.state.lock().expect("import lock").handoff.phase();
            if matches!(phase, TargetPhase::Owner | TargetPhase::Discarded) {
                break;
            }
        }
        self.server.migrations.remove_incoming(&record.name);
    }

    fn observe_source(&self) -> PeerObservation {
        let snapshot = self.cluster.snapshot();
        let source = self.incoming.record.source;
        let claims_slots = snapshot
            .view
            .nodes
            .iter()
            .find(|node| node.id == source)
            .is_some_and(|node| {
                self.incoming
                    .record
                    .slots
                    .iter()
                    .any(|slot| node.claimed_slots.contains(slot))
            });
        PeerObservation {
            claims_slots,
            restarted: false,
            migration_listed: true,
        }
    }
}
