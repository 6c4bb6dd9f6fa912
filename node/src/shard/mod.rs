//! Shard actors: one per core, each the single owner of its slots' keys.
//!
//! A `Shard` actor runs on its own actix Arbiter (one OS thread). Its keyspace
//! lives in a `ShardCore` that only that thread ever touches:
//! - other threads reach it by message (`ExecuteBatch`, `RunJob`, `Hold`),
//!   through the actor's bounded mailbox;
//! - connections running on the same thread call into it directly (see
//!   `router.rs`), which saves a cross-thread hop; the `Rc<RefCell<..>>` is
//!   never shared across threads and is never borrowed across an `.await`.
//!
//! `Hold` is the cross-shard atomicity mechanism (MSET, RENAME,
//! MULTI/EXEC): while a shard is held it runs only the holder's jobs, and
//! holders acquire shards in ascending index order, so holds never deadlock.
//!
//! `blocking` keeps the clients blocked on this shard's keys (BLPOP...) and
//! serves them after every write (`execute` calls it for WRITE commands).
//!
//! Cluster mode: every command carries the slot its connection routed it by,
//! and the shard checks it against the current cluster snapshot before
//! running it (`ClusterSnapshot::check_at_shard`): one table lookup for an
//! ordinary slot, a lookup of the command's keys for a slot being migrated
//! or imported (ASK, TRYAGAIN, ASKING). `keys_in_flight` parks the commands
//! that name a key a MIGRATE is moving until it is done.

pub mod blocking;
pub mod idle_poll;
pub mod keys_in_flight;
pub mod router;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use bytes::Bytes;
use starling_protocol::Frame;
use tokio::sync::{mpsc, oneshot};

use crate::cluster::routing::ClusterSnapshot;
use crate::cluster::ClusterHandle;
use crate::commands::table::{CommandSpec, Flags, Handler as CommandHandler};
use crate::config::SharedConfig;
use crate::keyspace::migration::{SlotExport, SlotImport};
use crate::keyspace::Keyspace;
use crate::migration::MigrationKey;
use blocking::BlockingRegistry;
use keys_in_flight::{KeysInFlight, ParkedBatch};

pub use router::{HeldShards, ShardRouter};

/// How often the active expiry cycle runs, and the share of that period it
/// may spend (Redis's slow cycle uses 25 % of each 100 ms tick).
const EXPIRE_CYCLE_PERIOD: Duration = Duration::from_millis(100);
const EXPIRE_CYCLE_BUDGET: Duration = Duration::from_millis(25);

/// Messages waiting in a shard's mailbox before senders are made to wait.
pub const MAILBOX_CAPACITY: usize = 1024;

/// The state one shard thread owns: its keyspace and per-batch context.
pub struct ShardCore {
    pub index: usize,
    pub shard_count: usize,
    pub keyspace: Keyspace,
    /// Wall-clock time of the batch being executed, in Unix milliseconds.
    /// Every command of a batch sees the same time, as Redis does per command.
    pub now_ms: u64,
    pub config: SharedConfig,
    /// Clients blocked on this shard's keys (BLPOP...), see `blocking.rs`.
    pub blocking: BlockingRegistry,
    /// Cluster mode: the snapshot every command is checked against.
    pub cluster_opt: Option<Arc<ClusterHandle>>,
    /// Keys a MIGRATE is moving, and the batches waiting for them.
    pub keys_in_flight: KeysInFlight,
    /// Native migrations: slots being exported, by slot.
    pub exports: BTreeMap<u16, SlotExport>,
    /// Native migrations: imports in progress, by migration.
    pub imports: HashMap<MigrationKey, SlotImport>,
    held: bool,
}

/// What a shard answers a batch with.
pub enum BatchReplies {
    Done(Vec<Frame>),
    /// A command named a key a MIGRATE is moving: it and the rest of the
    /// batch run once that MIGRATE is done, and all replies come here.
    Parked(oneshot::Receiver<Vec<Frame>>),
}

pub fn unix_time_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}

impl ShardCore {
    pub fn new(index: usize, shard_count: usize, config: SharedConfig) -> ShardCore {
        ShardCore {
            index,
            shard_count,
            keyspace: Keyspace::new(index, shard_count),
            now_ms: unix_time_ms(),
            config,
            blocking: BlockingRegistry::default(),
            cluster_opt: None,
            keys_in_flight: KeysInFlight::default(),
            exports: BTreeMap::new(),
            imports: HashMap::new(),
            held: false,
        }
    }

    pub fn is_held(&self) -> bool {
        self.held
    }

    /// Runs a batch of commands in order and returns their replies, unless
    /// one names a key in flight (see `keys_in_flight`).
    pub fn execute_batch(&mut self, commands: Vec<ShardCommand>) -> BatchReplies {
        self.now_ms = unix_time_ms();
        if commands.len() > 1 {
            // Each command's first key (and member, if it names one), found
            // once: the prefetch passes below walk the list several times.
            let targets: Vec<(&[u8], Option<&[u8]>)> = commands
                .iter()
                .filter_map(|command| {
                    let position = command.spec.key_positions_iter(&command.args).next()?;
                    let member_opt = command
                        .spec
                        .member_position_opt
                        .and_then(|member| command.args.get(member));
                    Some((&command.args[position][..], member_opt.map(|member| &member[..])))
                })
                .collect();
            self.keyspace.prefetch(targets.iter().map(|&(key, _)| key));
            self.keyspace
                .prefetch_members(targets.iter().filter_map(|&(key, member_opt)| Some((key, member_opt?))));
        }
        let snapshot_opt = self.current_snapshot();
        if self.keys_in_flight.is_empty() {
            let replies = commands
                .iter()
                .map(|command| self.execute_routed(command, snapshot_opt.as_deref()))
                .collect();
            return BatchReplies::Done(replies);
        }
        let mut replies = Vec::with_capacity(commands.len());
        let mut remaining = VecDeque::from(commands);
        if self.run_until_in_flight(&mut replies, &mut remaining, snapshot_opt.as_deref()) {
            return BatchReplies::Done(replies);
        }
        let (reply_tx, reply_rx) = oneshot::channel();
        self.keys_in_flight.park(ParkedBatch {
            replies,
            remaining,
            reply_tx,
        });
        BatchReplies::Parked(reply_rx)
    }

    fn current_snapshot(&self) -> Option<Arc<ClusterSnapshot>> {
        self.cluster_opt.as_ref().map(|cluster| cluster.snapshot())
    }

    /// Runs commands from the front of `remaining` until one names a key in
    /// flight. Returns whether all ran.
    fn run_until_in_flight(
        &mut self,
        replies: &mut Vec<Frame>,
        remaining: &mut VecDeque<ShardCommand>,
        snapshot_opt: Option<&ClusterSnapshot>,
    ) -> bool {
        while let Some(command) = remaining.front() {
            if self.keys_in_flight.touches(command) {
                return false;
            }
            replies.push(self.execute_routed(command, snapshot_opt));
            remaining.pop_front();
        }
        true
    }

    /// Releases keys a MIGRATE was moving and runs the batches that waited
    /// for them, oldest first.
    pub fn release_keys_in_flight(&mut self, keys: &[Bytes]) {
        let parked = self.keys_in_flight.release(keys);
        self.rerun_parked(parked);
    }

    /// Holds back writes to `slots` (a native migration's handoff): batches
    /// that reach one park until `thaw_slots`.
    pub fn freeze_slots(&mut self, slots: &[u16]) {
        self.keys_in_flight.freeze(slots.iter().copied());
    }

    /// Lets writes to `slots` run again: the parked batches run now, routed
    /// by the current snapshot.
    pub fn thaw_slots(&mut self, slots: &[u16]) {
        let parked = self.keys_in_flight.thaw(slots.iter().copied());
        self.rerun_parked(parked);
    }

    fn rerun_parked(&mut self, parked: VecDeque<ParkedBatch>) {
        if parked.is_empty() {
            return;
        }
        self.now_ms = unix_time_ms();
        let snapshot_opt = self.current_snapshot();
        for mut batch in parked {
            if self.run_until_in_flight(&mut batch.replies, &mut batch.remaining, snapshot_opt.as_deref()) {
                let _ = batch.reply_tx.send(batch.replies);
            } else {
                self.keys_in_flight.park(batch);
            }
        }
    }

    /// Runs one command after checking, in cluster mode, that the current
    /// snapshot lets this shard serve it (`ClusterSnapshot::check_at_shard`).
    fn execute_routed(&mut self, command: &ShardCommand, snapshot_opt: Option<&ClusterSnapshot>) -> Frame {
        if let (Some(snapshot), Some(context)) = (snapshot_opt, command.slot_context_opt) {
            let keyspace = &self.keyspace;
            let now_ms = self.now_ms;
            let checked = snapshot.check_at_shard(command.spec, &command.args, context.slot, context.asking, |key| {
                keyspace.get(key, now_ms).is_some()
            });
            if let Err(redirect) = checked {
                return redirect.into();
            }
        }
        self.execute(command.spec, &command.args)
    }

    pub fn execute(&mut self, spec: &CommandSpec, args: &[Bytes]) -> Frame {
        match spec.handler {
            CommandHandler::Shard(handler) => {
                let reply = handler(self, args).unwrap_or_else(Frame::from);
                // Serve clients blocked on the keys just written; a single
                // emptiness check when nobody is blocked on this shard.
                if !self.blocking.is_empty() && spec.flags.contains(Flags::WRITE) {
                    let keys: Vec<Bytes> = spec
                        .key_positions_iter(args)
                        .map(|position| args[position].clone())
                        .collect();
                    self.signal_keys_written(keys.iter().map(|key| &key[..]));
                }
                reply
            }
            _ => unreachable!("{} is not a shard command", spec.name),
        }
    }
}

/// One command routed to a shard. The spec lives in the static command table.
pub struct ShardCommand {
    pub spec: &'static CommandSpec,
    pub args: Vec<Bytes>,
    /// Cluster mode: how the connection routed it (None: standalone mode,
    /// or a command without keys).
    pub slot_context_opt: Option<SlotContext>,
}

/// The slot a command was routed by, and whether it follows ASKING.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotContext {
    pub slot: u16,
    pub asking: bool,
}

/// A closure run on a shard with exclusive access to its core.
pub type ShardJob = Box<dyn FnOnce(&mut ShardCore) + Send>;

pub struct Shard {
    core: Rc<RefCell<ShardCore>>,
}

impl Shard {
    pub fn new(core: Rc<RefCell<ShardCore>>) -> Shard {
        Shard { core }
    }
}

impl Actor for Shard {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        ctx.run_interval(EXPIRE_CYCLE_PERIOD, |shard, _| {
            let mut core = shard.core.borrow_mut();
            if core.held {
                return;
            }
            let now_ms = unix_time_ms();
            core.keyspace
                .active_expire_cycle(now_ms, Instant::now() + EXPIRE_CYCLE_BUDGET);
        });
    }
}

#[derive(Message)]
#[rtype(result = "BatchReplies")]
pub struct ExecuteBatch(pub Vec<ShardCommand>);

impl Handler<ExecuteBatch> for Shard {
    type Result = MessageResult<ExecuteBatch>;

    fn handle(&mut self, batch: ExecuteBatch, _: &mut Self::Context) -> Self::Result {
        idle_poll::note_work();
        MessageResult(self.core.borrow_mut().execute_batch(batch.0))
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct RunJob(pub ShardJob);

impl Handler<RunJob> for Shard {
    type Result = ();

    fn handle(&mut self, job: RunJob, _: &mut Self::Context) {
        let mut core = self.core.borrow_mut();
        core.now_ms = unix_time_ms();
        (job.0)(&mut core);
    }
}

/// Puts the shard at the holder's exclusive disposal: the actor stops taking
/// mailbox messages and runs only the jobs sent on `jobs_rx`, until the holder
/// drops its sender.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Hold {
    pub jobs_rx: mpsc::Receiver<ShardJob>,
    pub acquired_tx: oneshot::Sender<()>,
}

impl Handler<Hold> for Shard {
    type Result = ();

    fn handle(&mut self, hold: Hold, ctx: &mut Self::Context) {
        let core = self.core.clone();
        {
            let mut core = core.borrow_mut();
            assert!(!core.held, "shard {} held twice", core.index);
            core.held = true;
        }
        if hold.acquired_tx.send(()).is_err() {
            // The holder gave up before we got here.
            core.borrow_mut().held = false;
            return;
        }
        let mut jobs_rx = hold.jobs_rx;
        let release = async move {
            while let Some(job) = jobs_rx.recv().await {
                let mut core = core.borrow_mut();
                core.now_ms = unix_time_ms();
                job(&mut core);
            }
            core.borrow_mut().held = false;
        };
        ctx.wait(actix::fut::wrap_future::<_, Self>(release));
    }
}

/// What each shard thread knows about the whole set of shards.
#[derive(Clone)]
pub struct ShardSet {
    pub addresses: Arc<[Addr<Shard>]>,
}

impl ShardSet {
    pub fn len(&self) -> usize {
        self.addresses.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }

    pub fn shard_of_slot(&self, slot: u16) -> usize {
        slot as usize % self.addresses.len()
    }
}
