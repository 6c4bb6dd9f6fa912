//! The source side of a native migration: one task per migration, on the
//! thread of the connection that started it. The shards do the data work
//! in bounded steps (export a chunk, requeue dirty keys, freeze, thaw,
//! free); this task only moves chunks to the target and drives the
//! `SourceHandoff` state machine.
//!
//! Steps:
//! 1. `Begin` on the link; the shards start tracking writes to the slots.
//! 2. Copy every slot (`Streaming`), then resend the keys written meanwhile
//!    (`CatchingUp`), round after round, until few are left.
//! 3. `HandingOff`: the shards freeze the slots' writes (reads go on), the
//!    last dirty keys go out, then Prepare → Prepared → the manager drops
//!    the claim (the slots stay routed here, frozen) → Commit → Committed →
//!    the manager routes the slots to the target (MOVED) and the shards
//!    thaw: the writes that waited are answered MOVED, and the target
//!    already serves them.
//! 4. The slots' data is freed a bit at a time.
//!
//! Before the release, a cancel, a link failure or a refusal aborts: the
//! shards thaw and stop tracking, the target is told to drop what it has,
//! and this node keeps serving the slots with nothing lost.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use starling_cluster::handoff::{HandoffMessage, HandoffTimeouts, SourceAction, SourceHandoff, SourcePhase};

use super::link::{Link, LinkReply, LinkRequest};
use super::{MigrationRecord, MigrationState};
use crate::cluster::manager::{ClusterRequest, Handover};
use crate::cluster::ClusterHandle;
use crate::config::SharedConfig;
use crate::keyspace::migration::{MigrationEntry, SlotExport};
use crate::shard::{unix_time_ms, ShardCore, ShardRouter};

/// Bytes of entries per chunk, unless a throttle asks for smaller chunks.
const CHUNK_BUDGET_BYTES: usize = 256 * 1024;
/// Bytes one shard step exports: a chunk takes several steps, with the
/// shard's clients served in between. Copying 256 KB of a large hash's
/// fields held the shard for 5-8 ms.
const STEP_BUDGET_BYTES: usize = 64 * 1024;
/// Chunks written before waiting for the oldest reply.
const CHUNK_WINDOW: usize = 4;
/// Catch-up rounds before the slots are frozen anyway.
const CATCH_UP_ROUNDS_MAX: usize = 8;
/// Freeze once a catch-up round has at most this many keys to resend.
const FREEZE_BELOW_DIRTY_KEYS: usize = 2_000;
const LINK_TIMEOUT: Duration = Duration::from_secs(5);
/// Keys freed per shard step once the slots are gone.
const FREE_STEP_KEYS: usize = 2_000;

/// What a migration that did not succeed ended as.
struct Stop {
    state: MigrationState,
    message: String,
}

fn failed(message: impl Into<String>) -> Stop {
    Stop {
        state: MigrationState::Failed,
        message: message.into(),
    }
}

/// Runs the migration to its end and records the outcome.
pub async fn run(
    cluster: Arc<ClusterHandle>,
    config: SharedConfig,
    router: ShardRouter,
    record: Arc<MigrationRecord>,
    target_address: String,
) {
    let slots_by_shard = group_by_shard(&router, &record);
    let target_generation = node_generation(&cluster, record.target);
    let mut source = Source {
        target_generation,
        cluster,
        router,
        record: Arc::clone(&record),
        slots_by_shard,
        handoff: SourceHandoff::new(0, HandoffTimeouts::default(), unix_time_ms()),
        link_opt: None,
        config,
        started: std::time::Instant::now(),
        bytes_sent: 0,
        frozen_at: None,
    };
    let outcome = source.migrate(&target_address).await;
    match outcome {
        Ok(()) => {
            record.set_state(MigrationState::Success, "");
            source.free_data().await;
        }
        Err(stop) => {
            source.abort().await;
            tracing::warn!(migration = %record.name, message = %stop.message, "slot migration stopped");
            record.set_state(stop.state, &stop.message);
        }
    }
}

fn group_by_shard(router: &ShardRouter, record: &MigrationRecord) -> BTreeMap<usize, Vec<u16>> {
    let mut slots_by_shard: BTreeMap<usize, Vec<u16>> = BTreeMap::new();
    for slot in record.slots.iter() {
        slots_by_shard.entry(router.shard_of_slot(slot)).or_default().push(slot);
    }
    slots_by_shard
}

/// The gossip generation of `node` in the current view (0 if unknown).
fn node_generation(cluster: &ClusterHandle, node: starling_cluster::NodeId) -> u64 {
    cluster.snapshot().view.node(&node).map_or(0, |view| view.generation)
}

struct Source {
    /// The target's gossip generation when the migration began.
    target_generation: u64,
    cluster: Arc<ClusterHandle>,
    router: ShardRouter,
    record: Arc<MigrationRecord>,
    slots_by_shard: BTreeMap<usize, Vec<u16>>,
    handoff: SourceHandoff,
    link_opt: Option<Link>,
    config: SharedConfig,
    started: std::time::Instant,
    bytes_sent: u64,
    /// When the slots' writes were frozen for the handoff.
    frozen_at: Option<std::time::Instant>,
}

impl Source {
    async fn migrate(&mut self, target_address: &str) -> Result<(), Stop> {
        let mut link = Link::connect(target_address, LINK_TIMEOUT).await.map_err(failed)?;
        let begin = LinkRequest::Begin {
            name: self.record.name.clone(),
            source: self.record.source.as_str().to_string(),
            slots: self.record.slots.encode(),
        };
        match link.call(&begin).await.map_err(failed)? {
            LinkReply::Ok => {}
            LinkReply::Refused(reason) => return Err(failed(format!("the target refused: {reason}"))),
            other => return Err(failed(format!("unexpected reply to Begin: {other:?}"))),
        }
        self.link_opt = Some(link);
        self.start_exports().await?;
        self.record.set_state(MigrationState::Streaming, "");
        self.copy_round().await?;
        self.record.set_state(MigrationState::CatchingUp, "");
        for _ in 0..CATCH_UP_ROUNDS_MAX {
            if self.requeue_dirty().await? <= FREEZE_BELOW_DIRTY_KEYS {
                break;
            }
            self.copy_round().await?;
        }
        self.record.set_state(MigrationState::HandingOff, "");
        self.on_shards(|core, slots| core.freeze_slots(slots)).await?;
        self.frozen_at = Some(std::time::Instant::now());
        self.requeue_dirty().await?;
        self.copy_round().await?;
        self.drain_replies().await?;
        let actions = self.handoff.freeze(unix_time_ms());
        self.hand_off(actions).await
    }

    /// Step 1: every shard tracks writes to its slots and opens an export.
    async fn start_exports(&mut self) -> Result<(), Stop> {
        let counts = self
            .on_shards(|core, slots| {
                let mut keys = 0;
                for &slot in slots {
                    core.keyspace.track_writes(slot);
                    core.exports.insert(slot, SlotExport::new(slot));
                    keys += core.keyspace.slot_len(slot) as u64;
                }
                keys
            })
            .await?;
        let keys_total = counts.into_iter().sum();
        self.record.update(|progress| progress.keys_total = keys_total);
        Ok(())
    }

    /// Sends chunks until every export is drained.
    async fn copy_round(&mut self) -> Result<(), Stop> {
        let shards: Vec<(usize, Vec<u16>)> = self.slots_by_shard.clone().into_iter().collect();
        for (shard, slots) in shards {
            loop {
                if self.record.cancel_requested() {
                    return Err(Stop {
                        state: MigrationState::Cancelled,
                        message: "cancelled".to_string(),
                    });
                }
                let (entries, keys) = self.export_chunk(shard, &slots).await?;
                if entries.is_empty() {
                    break;
                }
                self.send_chunk(entries, keys).await?;
            }
        }
        Ok(())
    }

    /// Gathers a chunk from `shard` in steps of `STEP_BUDGET_BYTES`. A
    /// local shard's step runs inline: between steps, and after the chunk
    /// (the socket write rarely waits), the thread's clients get their turn.
    async fn export_chunk(&self, shard: usize, slots: &[u16]) -> Result<(Vec<MigrationEntry>, u64), Stop> {
        let budget_bytes = self.chunk_budget_bytes();
        let (mut entries, mut keys, mut bytes) = (Vec::new(), 0, 0);
        while bytes < budget_bytes {
            let slots = slots.to_vec();
            let step_bytes = (budget_bytes - bytes).min(STEP_BUDGET_BYTES);
            let (step_entries, step_keys) = self
                .router
                .run(shard, move |core| export_step(core, &slots, step_bytes))
                .await
                .map_err(|error| failed(error.to_string()))?;
            tokio::task::yield_now().await;
            if step_entries.is_empty() {
                break;
            }
            bytes += step_entries.iter().map(MigrationEntry::size_bytes).sum::<usize>();
            keys += step_keys;
            entries.extend(step_entries);
        }
        Ok((entries, keys))
    }

    async fn send_chunk(&mut self, entries: Vec<MigrationEntry>, keys: u64) -> Result<(), Stop> {
        let HandoffMessage::Chunk { seq } = self.handoff.next_chunk() else {
            unreachable!("next_chunk numbers a chunk");
        };
        let link = self.link_opt.as_mut().expect("linked");
        let bytes = link
            .send(&LinkRequest::Chunk {
                name: self.record.name.clone(),
                seq,
                entries,
            })
            .await
            .map_err(failed)?;
        let window_full = link.outstanding >= CHUNK_WINDOW;
        self.record.update(|progress| {
            progress.keys += keys;
            progress.bytes += bytes as u64;
        });
        if window_full {
            let link = self.link_opt.as_mut().expect("linked");
            expect_ok(link.receive().await)?;
            self.record
                .update(|progress| progress.last_ack_unix_secs = super::unix_secs());
        }
        self.throttle(bytes as u64).await;
        Ok(())
    }

    /// Chunks of a throttled migration carry about a tenth of a second of
    /// its budget, so that the pace is smooth and a cancel is seen quickly.
    fn chunk_budget_bytes(&self) -> usize {
        match self.config.load().migration_max_bytes_per_sec {
            0 => CHUNK_BUDGET_BYTES,
            limit => (limit as usize / 10).clamp(4 * 1024, CHUNK_BUDGET_BYTES),
        }
    }

    /// Keeps the stream under `migration-max-bytes-per-sec`: after each
    /// chunk, waits until the bytes sent so far fit the budget.
    async fn throttle(&mut self, bytes: u64) {
        self.bytes_sent += bytes;
        let limit = self.config.load().migration_max_bytes_per_sec;
        if limit == 0 {
            return;
        }
        let due = Duration::from_secs_f64(self.bytes_sent as f64 / limit as f64);
        let elapsed = self.started.elapsed();
        if due > elapsed {
            tokio::time::sleep(due - elapsed).await;
        }
    }

    async fn drain_replies(&mut self) -> Result<(), Stop> {
        let link = self.link_opt.as_mut().expect("linked");
        while link.outstanding > 0 {
            expect_ok(link.receive().await)?;
        }
        Ok(())
    }

    /// Queues every shard's dirty keys again; returns how many are queued.
    async fn requeue_dirty(&mut self) -> Result<usize, Stop> {
        let queued = self
            .on_shards(|core, slots| {
                let mut queued = 0;
                for slot in slots {
                    let ShardCore { keyspace, exports, .. } = &mut *core;
                    if let Some(export) = exports.get_mut(slot) {
                        keyspace.requeue_dirty(export);
                        queued += export.queued();
                    }
                }
                queued
            })
            .await?;
        Ok(queued.into_iter().sum())
    }

    /// Step 3: drives the handoff from `Prepare` to its end.
    async fn hand_off(&mut self, mut actions: Vec<SourceAction>) -> Result<(), Stop> {
        loop {
            // Carry out every action, including those the replies produce,
            // before looking at the phase: the last one (FreeData) comes
            // with the phase that ends the loop.
            while !actions.is_empty() {
                for action in std::mem::take(&mut actions) {
                    actions.extend(self.act(action).await?);
                }
            }
            match self.handoff.phase() {
                SourcePhase::Done => return Ok(()),
                SourcePhase::Aborted => return Err(failed("the handoff was aborted")),
                _ => {}
            }
            if actions.is_empty() {
                tokio::time::sleep(Duration::from_millis(50)).await;
                // A newer gossip generation means the target restarted and
                // lost what it imported (it lived in memory only).
                let observation = starling_cluster::handoff::PeerObservation {
                    claims_slots: self.target_claims_slots(),
                    restarted: node_generation(&self.cluster, self.record.target) > self.target_generation,
                    migration_listed: true,
                };
                actions = self.handoff.on_tick(unix_time_ms(), observation);
            }
        }
    }

    async fn act(&mut self, action: SourceAction) -> Result<Vec<SourceAction>, Stop> {
        match action {
            SourceAction::Send(message) => self.send_control(message).await,
            SourceAction::ResendChunksAfter(seq) => Err(failed(format!("the target lost chunks after {seq}"))),
            // The claim goes, but the slots stay routed here, frozen, until
            // the target has taken them: a client sent to the target now
            // would only be sent back.
            SourceAction::DropClaim => {
                self.hand_over(Handover::Relinquish).await?;
                Ok(Vec::new())
            }
            SourceAction::Unfreeze => {
                self.on_shards(|core, slots| core.thaw_slots(slots)).await?;
                Ok(Vec::new())
            }
            SourceAction::Reclaim => {
                self.hand_over(Handover::Claim).await?;
                self.on_shards(|core, slots| core.thaw_slots(slots)).await?;
                Ok(Vec::new())
            }
            // The target owns the slots: the writes that waited get MOVED.
            SourceAction::FreeData => {
                self.hand_over(Handover::Redirect {
                    target: self.record.target,
                })
                .await?;
                self.on_shards(|core, slots| core.thaw_slots(slots)).await?;
                tracing::info!(
                    migration = %self.record.name,
                    target = %self.record.target,
                    moved_after_ms = self.started.elapsed().as_millis() as u64,
                    writes_frozen_ms = self.frozen_at.map_or(0, |at| at.elapsed().as_millis() as u64),
                    "slot migration handed over"
                );
                Ok(Vec::new())
            }
        }
    }

    /// Sends a control message; the reply (if any) goes to the state machine.
    /// Once the slots are released, a broken link is retried, never given up.
    async fn send_control(&mut self, message: HandoffMessage) -> Result<Vec<SourceAction>, Stop> {
        let request = LinkRequest::Handoff {
            name: self.record.name.clone(),
            message,
        };
        let reply = match self.link_opt.as_mut() {
            Some(link) => link.call(&request).await,
            None => Err("no link".to_string()),
        };
        match reply {
            Ok(LinkReply::Handoff(reply)) => {
                self.record
                    .update(|progress| progress.last_ack_unix_secs = super::unix_secs());
                Ok(self.handoff.on_message(&reply, unix_time_ms()))
            }
            Ok(LinkReply::Ok) => Ok(Vec::new()),
            Ok(LinkReply::Refused(reason)) if self.handoff.claims_slots() => {
                Err(failed(format!("the target refused: {reason}")))
            }
            Err(error) if self.handoff.claims_slots() => Err(failed(error)),
            Ok(LinkReply::Refused(_)) | Err(_) => {
                // Released: keep trying until the target answers or gossip
                // shows it owns the slots (see `SourceHandoff::on_tick`).
                self.link_opt = None;
                self.reconnect().await;
                Ok(Vec::new())
            }
        }
    }

    async fn reconnect(&mut self) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let Some(address) = client_address(&self.cluster, self.record.target) else {
            return;
        };
        self.link_opt = Link::connect(&address, LINK_TIMEOUT).await.ok();
    }

    fn target_claims_slots(&self) -> bool {
        let snapshot = self.cluster.snapshot();
        let target = self.record.target;
        snapshot
            .view
            .nodes
            .iter()
            .find(|node| node.id == target)
            .is_some_and(|node| self.record.slots.iter().all(|slot| node.claimed_slots.contains(slot)))
    }

    async fn hand_over(&self, handover: Handover) -> Result<(), Stop> {
        let slots = self.record.slots.clone();
        self.cluster
            .request(|reply_tx| ClusterRequest::HandOver {
                slots,
                handover,
                reply_tx,
            })
            .await
            .map_err(|error| failed(error.to_string()))
    }

    /// Runs `job` on every shard with that shard's slots of the migration.
    async fn on_shards<T: Send + 'static>(
        &self,
        job: impl Fn(&mut ShardCore, &[u16]) -> T + Send + Clone + 'static,
    ) -> Result<Vec<T>, Stop> {
        let mut results = Vec::with_capacity(self.slots_by_shard.len());
        for (shard, slots) in &self.slots_by_shard {
            let slots = slots.clone();
            let job = job.clone();
            let result = self
                .router
                .run(*shard, move |core| job(core, &slots))
                .await
                .map_err(|error| failed(error.to_string()))?;
            results.push(result);
        }
        Ok(results)
    }

    /// Cleans up after a migration that did not hand over: the shards stop
    /// tracking and thaw, the target is told to drop its partial data.
    async fn abort(&mut self) {
        let actions = self.handoff.cancel(unix_time_ms());
        for action in actions {
            if let SourceAction::Send(message) = action {
                if let Some(link) = self.link_opt.as_mut() {
                    let request = LinkRequest::Handoff {
                        name: self.record.name.clone(),
                        message,
                    };
                    let _ = link.call(&request).await;
                }
            }
        }
        let _ = self.on_shards(close_exports).await;
    }

    /// Step 4: frees the slots' data in steps, so no shard stalls.
    async fn free_data(&mut self) {
        let _ = self.on_shards(close_exports).await;
        for (shard, slots) in self.slots_by_shard.clone() {
            loop {
                let slots = slots.clone();
                let left = self.router.run(shard, move |core| free_step(core, &slots)).await;
                if !matches!(left, Ok(left) if left > 0) {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
    }
}

/// `ip:port` of a node's client port, as gossip tells it.
pub fn client_address(cluster: &ClusterHandle, node: starling_cluster::NodeId) -> Option<String> {
    let snapshot = cluster.snapshot();
    let view = snapshot.view.nodes.iter().find(|view| view.id == node)?;
    Some(format!("{}:{}", view.endpoint.ip, view.endpoint.port))
}

/// Frees up to `FREE_STEP_KEYS` keys of `slots`; returns how many are left.
fn free_step(core: &mut ShardCore, slots: &[u16]) -> usize {
    let mut budget = FREE_STEP_KEYS;
    let mut left = 0;
    for &slot in slots {
        let held = core.keyspace.slot_len(slot);
        if held == 0 {
            continue;
        }
        if budget == 0 {
            left += held;
            continue;
        }
        let freed = held.min(budget);
        left += core.keyspace.drop_slot_keys(slot, freed);
        budget -= freed;
    }
    left
}

/// Stops tracking and exporting `slots` and lets their writes run.
fn close_exports(core: &mut ShardCore, slots: &[u16]) {
    for &slot in slots {
        core.keyspace.untrack_writes(slot);
        core.exports.remove(&slot);
    }
    core.thaw_slots(slots);
}

/// One shard step: a chunk from the first export of `slots` with data left.
/// Returns the entries and how many of them carry a whole key or a first part.
fn export_step(core: &mut ShardCore, slots: &[u16], budget_bytes: usize) -> (Vec<MigrationEntry>, u64) {
    let now_ms = core.now_ms.max(unix_time_ms());
    let ShardCore { keyspace, exports, .. } = core;
    for slot in slots {
        let Some(export) = exports.get_mut(slot) else {
            continue;
        };
        if export.is_drained() {
            continue;
        }
        let keys_before = export.keys_exported;
        let entries = keyspace.export_chunk(export, budget_bytes, now_ms);
        let keys = export.keys_exported - keys_before;
        if !entries.is_empty() {
            return (entries, keys);
        }
    }
    (Vec::new(), 0)
}

fn expect_ok(reply: Result<LinkReply, String>) -> Result<(), Stop> {
    match reply.map_err(failed)? {
        LinkReply::Ok => Ok(()),
        LinkReply::Refused(reason) => Err(failed(format!("the target refused a chunk: {reason}"))),
        other => Err(failed(format!("unexpected reply to a chunk: {other:?}"))),
    }
}
