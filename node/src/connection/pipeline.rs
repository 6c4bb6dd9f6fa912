//! Running one batch of pipelined requests.
//!
//! Outcomes for each request, in order of precedence:
//! - unknown command or wrong arity: the error reply, nothing runs;
//! - cluster mode only: a command with keys is checked against the slot map
//!   (`ClusterSnapshot::route`, whose comment lists every outcome): keys in
//!   two slots get CROSSSLOT, an unassigned slot or a failed cluster
//!   CLUSTERDOWN, a slot owned elsewhere MOVED; nothing runs. A served
//!   command goes to the local shard of its slot (`slot % shards`), so in
//!   cluster mode no command spans shards. It carries its slot and whether
//!   it follows ASKING: the shard checks both against the current snapshot
//!   and, in a slot being migrated or imported, against the keys it holds
//!   (ASK, TRYAGAIN). An async command with keys in such a slot (a blocking
//!   pop) is checked by its shard first, then runs;
//! - a shard command whose keys all live on one shard: queued for that shard;
//!   queued commands go out as one message per shard when the batch ends or a
//!   barrier is reached;
//! - a shard command whose keys span shards: a barrier; the queued commands
//!   run first, then the command's cross-shard handler, or `staged::run_staged`
//!   for commands without one;
//! - a session command (PING, CLIENT, HELLO...): runs at once; it touches no
//!   keys, so it needs no barrier;
//! - an async command (DBSIZE, FLUSHALL, KEYS, INFO...): a barrier;
//! - after MULTI: queued (`commands/transaction.rs`), unless it is MULTI,
//!   EXEC, DISCARD, QUIT or RESET; EXEC runs the queue through `run` again.
//!
//! Every reply is encoded with the protocol version in force once its request
//! was dispatched: `HELLO 3` gets a RESP3 reply, and so do the requests after it.
//!
//! The cluster snapshot is loaded once per batch, and again after every
//! session or async command (CLUSTER ADDSLOTS, say, changes it), so each
//! command is routed with the state its predecessors left. Standalone mode
//! pays one `Option` check per command.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use starling_protocol::{encode, Frame, ProtocolVersion};

use super::session::Session;
use crate::cluster::routing::ClusterSnapshot;
use crate::commands::table::{CommandSpec, Flags, Handler, COMMAND_TABLE};
use crate::commands::{staged, transaction};
use crate::shard::{ShardCommand, SlotContext};

/// Commands waiting to go to their shards, with their request positions.
struct PendingShards {
    per_shard: Vec<Vec<(usize, ShardCommand)>>,
    count: usize,
}

impl PendingShards {
    fn new(shard_count: usize) -> PendingShards {
        PendingShards {
            per_shard: (0..shard_count).map(|_| Vec::new()).collect(),
            count: 0,
        }
    }

    fn push(&mut self, shard: usize, position: usize, command: ShardCommand) {
        self.per_shard[shard].push((position, command));
        self.count += 1;
    }

    /// Sends every queued command and stores the replies by position.
    async fn flush(&mut self, session: &Session, replies: &mut [Option<Frame>]) {
        if self.count == 0 {
            return;
        }
        self.count = 0;
        let mut jobs = Vec::new();
        for (shard, queued) in self.per_shard.iter_mut().enumerate() {
            if queued.is_empty() {
                continue;
            }
            let (positions, commands): (Vec<usize>, Vec<ShardCommand>) = std::mem::take(queued).into_iter().unzip();
            jobs.push((positions, session.router.execute(shard, commands)));
        }
        if jobs.len() == 1 {
            let (positions, future) = jobs.pop().expect("one job");
            place(positions, future.await, replies);
            return;
        }
        let (positions, futures): (Vec<_>, Vec<_>) = jobs.into_iter().unzip();
        for (positions, frames) in positions.into_iter().zip(futures::future::join_all(futures).await) {
            place(positions, frames, replies);
        }
    }
}

fn place(positions: Vec<usize>, frames: Vec<Frame>, replies: &mut [Option<Frame>]) {
    debug_assert_eq!(positions.len(), frames.len());
    for (position, frame) in positions.into_iter().zip(frames) {
        replies[position] = Some(frame);
    }
}

/// The shard that owns every key of the command, or None if they span shards.
/// Keyless shard commands run on the connection's own shard 0 fallback.
fn owning_shard(session: &Session, spec: &CommandSpec, args: &[Bytes]) -> Option<usize> {
    if session.router.shard_count() == 1 {
        return Some(0);
    }
    let positions = spec.key_positions(args);
    let mut shards = positions
        .iter()
        .map(|&position| session.router.shard_of_key(&args[position]));
    let first = shards.next().unwrap_or(0);
    shards.all(|shard| shard == first).then_some(first)
}

/// Runs a batch and appends the encoded replies to `output`.
pub async fn execute(session: &mut Session, requests: Vec<Vec<Bytes>>, output: &mut BytesMut) {
    let (replies, versions) = run(session, requests).await;
    for (reply, version) in replies.into_iter().zip(versions) {
        if let Some(frame) = reply {
            encode(&frame, version, output);
        }
    }
}

/// Runs a transaction's queued commands (EXEC) and returns their replies.
pub async fn execute_frames(session: &mut Session, requests: Vec<Vec<Bytes>>) -> Vec<Frame> {
    let (replies, _) = run(session, requests).await;
    replies.into_iter().flatten().collect()
}

/// MULTI is open: queues the command, or answers why it cannot be queued
/// (which dooms the transaction).
fn queue(
    session: &mut Session,
    spec: &'static CommandSpec,
    args: Vec<Bytes>,
    cluster_snapshot_opt: &Option<Arc<ClusterSnapshot>>,
) -> Frame {
    let asking = session
        .transaction_opt
        .as_ref()
        .is_some_and(|transaction| transaction.asking);
    let refusal = if spec.flags.contains(Flags::NO_MULTI) {
        Some(Frame::error("ERR Command not allowed inside a transaction"))
    } else {
        cluster_snapshot_opt.as_ref().and_then(|snapshot| {
            match snapshot.route(spec, &args) {
                Err(redirect) => Some(redirect),
                // An imported slot serves a transaction only after ASKING.
                Ok(Some(slot)) if !asking => snapshot.importing_redirect(slot),
                Ok(_) => None,
            }
            .map(Frame::from)
        })
    };
    match refusal {
        Some(error) => {
            session.transaction_opt.as_mut().expect("MULTI is open").doomed = true;
            error
        }
        None => {
            session.queue_in_transaction(args);
            Frame::simple("QUEUED")
        }
    }
}

/// The replies of a batch by request, and the protocol each is encoded in.
async fn run(session: &mut Session, requests: Vec<Vec<Bytes>>) -> (Vec<Option<Frame>>, Vec<ProtocolVersion>) {
    let count = requests.len();
    let mut replies: Vec<Option<Frame>> = (0..count).map(|_| None).collect();
    let mut versions: Vec<ProtocolVersion> = Vec::with_capacity(count);
    let mut pending = PendingShards::new(session.router.shard_count());
    let mut last_command = "NULL";
    let mut executed = 0;
    let mut cluster_snapshot_opt = load_cluster_snapshot(session);
    for (position, args) in requests.into_iter().enumerate() {
        versions.push(session.protocol);
        if session.close_after_reply {
            break;
        }
        executed += 1;
        let spec: &'static CommandSpec = match COMMAND_TABLE.resolve(&args) {
            Ok(spec) => spec,
            Err(error) => {
                if let Some(transaction) = session.transaction_opt.as_mut() {
                    transaction.doomed = true;
                }
                replies[position] = Some(error.into());
                continue;
            }
        };
        last_command = spec.name;
        if session.transaction_opt.is_some() && !transaction::runs_inside_multi(spec) {
            replies[position] = Some(queue(session, spec, args, &cluster_snapshot_opt));
            continue;
        }
        // In cluster mode: the local shard that serves the command's slot.
        let mut slot_context_opt = None;
        let cluster_shard_opt = match &cluster_snapshot_opt {
            None => None,
            Some(snapshot) => {
                session.command_sequence += 1;
                match snapshot.route(spec, &args) {
                    Ok(slot_opt) => {
                        slot_context_opt = slot_opt.map(|slot| SlotContext {
                            slot,
                            asking: session.is_asking(),
                        });
                        Some(slot_opt.map_or(0, |slot| session.router.shard_of_slot(slot)))
                    }
                    Err(redirect) => {
                        replies[position] = Some(redirect.into());
                        continue;
                    }
                }
            }
        };
        match spec.handler {
            Handler::Shard(_) => match cluster_shard_opt.or_else(|| owning_shard(session, spec, &args)) {
                Some(shard) => pending.push(
                    shard,
                    position,
                    ShardCommand {
                        spec,
                        args,
                        slot_context_opt,
                    },
                ),
                None => {
                    pending.flush(session, &mut replies).await;
                    let result = match spec.cross_shard {
                        Some(cross_shard) => cross_shard(session, args).await,
                        None => staged::run_staged(session, spec, args).await,
                    };
                    replies[position] = Some(result.unwrap_or_else(Frame::from));
                }
            },
            Handler::Session(handler) => {
                replies[position] = Some(handler(session, &args).unwrap_or_else(Frame::from));
                // HELLO replies in the protocol it switches to, as Redis does.
                versions[position] = session.protocol;
                if cluster_snapshot_opt.is_some() {
                    cluster_snapshot_opt = load_cluster_snapshot(session);
                }
            }
            Handler::Async(handler) => {
                pending.flush(session, &mut replies).await;
                if let (Some(snapshot), Some(context)) = (&cluster_snapshot_opt, slot_context_opt) {
                    if let Err(redirect) = check_open_slot(session, snapshot, spec, &args, context).await {
                        replies[position] = Some(redirect);
                        continue;
                    }
                }
                replies[position] = Some(handler(session, args).await.unwrap_or_else(Frame::from));
                if cluster_snapshot_opt.is_some() {
                    cluster_snapshot_opt = load_cluster_snapshot(session);
                }
            }
            Handler::Container => unreachable!("resolve returns the subcommand"),
        }
    }
    pending.flush(session, &mut replies).await;
    session.client.touch(last_command);
    session
        .server
        .stats
        .total_commands_processed
        .fetch_add(executed, Ordering::Relaxed);
    (replies, versions)
}

/// Cluster mode, an async command with keys (a blocking pop, MIGRATE) in a
/// slot being migrated or imported: the slot's shard checks the keys as it
/// would for a shard command. MIGRATE always runs here while its slot is
/// open, as in Redis. Ordinary slots skip this.
async fn check_open_slot(
    session: &Session,
    snapshot: &ClusterSnapshot,
    spec: &'static CommandSpec,
    args: &[Bytes],
    context: SlotContext,
) -> Result<(), Frame> {
    if !snapshot.is_slot_open(context.slot) || spec.flags.contains(Flags::RUNS_IN_OPEN_SLOT) {
        return Ok(());
    }
    let shard = session.router.shard_of_slot(context.slot);
    let args = args.to_vec();
    let checked = session
        .router
        .run(shard, move |core| {
            let snapshot = core.cluster_opt.as_ref().map(|cluster| cluster.snapshot())?;
            let keyspace = &core.keyspace;
            let now_ms = core.now_ms;
            snapshot
                .check_at_shard(spec, &args, context.slot, context.asking, |key| {
                    keyspace.get(key, now_ms).is_some()
                })
                .err()
        })
        .await;
    match checked {
        Ok(None) => Ok(()),
        Ok(Some(redirect)) => Err(redirect.into()),
        Err(error) => Err(error.into()),
    }
}

/// The routing snapshot in cluster mode, None in standalone mode.
fn load_cluster_snapshot(session: &Session) -> Option<Arc<ClusterSnapshot>> {
    session.server.cluster.as_ref().map(|cluster| cluster.snapshot())
}

/// Appends an error reply (used for protocol errors, which have no request).
pub fn append_error(output: &mut BytesMut, text: &str) {
    encode(&Frame::error(text.to_string()), ProtocolVersion::Resp2, output);
}
