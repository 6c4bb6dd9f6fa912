//! Blocking pops: clients waiting for a key to receive data (BLPOP, BRPOP,
//! BLMPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN, BZPOPMAX, BZMPOP).
//!
//! # The parties
//! - A `Waiter` is one blocked command: its keys, what to do once a key has
//!   data (`BlockedOperation`), a `claimed` flag and the sender of its reply.
//!   It is an `Arc` shared by every shard it is registered on: the keys of a
//!   BLPOP may live on several shards in standalone mode.
//! - Each shard's `BlockingRegistry` keeps, per key, the FIFO queue of the
//!   waiters registered on it. It is part of `ShardCore`, so only the shard's
//!   own thread touches it.
//! - The connection (`commands/list/blocking.rs`) drives a blocked command.
//!
//! # Protocol
//! 1. The connection first tries the command without blocking, key by key
//!    in order, as Redis does.
//! 2. Otherwise it creates the waiter and sends a registration job to every
//!    shard that owns one of its keys (`register_waiter`). The job first
//!    re-checks the keys: one that got data since step 1 is served at once,
//!    if the waiter can still be claimed. This closes the window between the
//!    attempt and the registration, so no push is missed.
//! 3. After a write on a shard (`ShardCore::execute` for WRITE commands, the
//!    staged write-back, cross-shard RENAME/COPY, pushes done by served
//!    waiters), `signal_keys_written` serves the waiters of the written keys
//!    in FIFO order: claim (compare-and-swap), pop, send the reply. The pop
//!    happens on the shard thread between two commands, so it is atomic with
//!    respect to the push that made it possible.
//! 4. The connection waits for the reply, the timeout, a disconnect, CLIENT
//!    UNBLOCK or CLIENT KILL. On anything but the reply it claims the waiter
//!    itself; if that fails a shard is serving it, and the reply is awaited.
//! 5. When the command ends, the connection removes the waiter from every
//!    shard that did not serve it (a serving shard removes it from all of its
//!    own keys), so a finished command leaves no state behind.
//!
//! # Outcomes of a waiter (exactly one)
//! - served by shard S: S claimed it, popped, and sent the reply;
//! - interrupted (timeout, CLIENT UNBLOCK, disconnect, kill): the connection
//!   claimed it; no shard will pop for it.
//!
//! # Invariants
//! - Claiming is a compare-and-swap, so at most one party acts on a waiter:
//!   an element is popped for at most one waiter, and a waiter receives at
//!   most one reply.
//! - A shard pops only after winning the claim, and checks first that the
//!   reply can still be delivered (`is_abandoned`), so an element is lost
//!   only if the client disconnects in the instant between that check and the
//!   send.
//! - A shard drops every waiter it meets that is claimed or abandoned.
//! - Serving consumes waiters, so the serving loops end: each round either
//!   serves a waiter or stops.
//!
//! # Moves across shards
//! BLMOVE/BRPOPLPUSH whose destination another shard owns cannot pop and push
//! on one shard. The source shard claims the waiter and, instead of popping,
//! tells the connection the source has data (`Served::SourceReady`); it then
//! serves no other waiter of that key in the same round, which keeps the
//! element for the mover. The connection runs the move as a plain LMOVE,
//! staged across both shards and so atomic: the element is always in exactly
//! one of the two lists. That LMOVE's write serves the key's next waiters. If
//! a non-blocking client took the element first, the connection blocks again
//! for the rest of its timeout, as Redis re-runs a woken command and blocks it
//! again when the key is empty.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use starling_protocol::{key_slot, Frame};
use tokio::sync::oneshot;

use super::ShardCore;
use crate::commands::error::CommandError;
use crate::commands::list::{move_element, pop_from_list};
use crate::commands::sorted_set::pop_from_sorted_set;
use crate::keyspace::list::ListEnd;
use crate::keyspace::Value;

/// What a blocked command does once one of its keys has data.
#[derive(Clone, Debug, PartialEq)]
pub enum BlockedOperation {
    /// BLPOP / BRPOP (`count_opt` None): replies `[key, element]`;
    /// BLMPOP: replies `[key, [element...]]` with up to `count` elements.
    ListPop { end: ListEnd, count_opt: Option<usize> },
    /// BLMOVE / BRPOPLPUSH: pops from `from`, pushes to `destination` at `to`,
    /// replies the element.
    ListMove {
        from: ListEnd,
        to: ListEnd,
        destination: Bytes,
    },
    /// BZPOPMIN / BZPOPMAX (`count_opt` None): replies `[key, member, score]`;
    /// BZMPOP: replies `[key, [[member, score]...]]`.
    SortedSetPop { pop_max: bool, count_opt: Option<usize> },
}

/// Whether a key can serve a waiter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Readiness {
    /// The key holds the type the waiter waits for (never empty).
    Ready,
    /// The key holds another type: waiters of that type may be served.
    OtherType,
    /// No key: nobody can be served.
    Missing,
}

/// What a shard hands to the connection of a served waiter.
#[derive(Debug)]
pub enum Served {
    /// The blocked command's reply.
    Reply(Frame),
    /// BLMOVE whose destination another shard owns: the source has data,
    /// kept for this waiter; the connection moves it with a staged LMOVE.
    SourceReady,
}

/// A served waiter's result, and the shard that served it.
#[derive(Debug)]
pub struct ServedBy {
    pub served: Served,
    pub shard: usize,
}

impl BlockedOperation {
    fn awaits(&self, value: &Value) -> bool {
        match self {
            BlockedOperation::ListPop { .. } | BlockedOperation::ListMove { .. } => matches!(value, Value::List(_)),
            BlockedOperation::SortedSetPop { .. } => matches!(value, Value::SortedSet(_)),
        }
    }

    fn readiness(&self, core: &mut ShardCore, key: &[u8]) -> Readiness {
        let now_ms = core.now_ms;
        match core.keyspace.lookup_mut(key, now_ms) {
            None => Readiness::Missing,
            Some(record) if self.awaits(&record.value) => Readiness::Ready,
            Some(_) => Readiness::OtherType,
        }
    }

    /// The non-blocking attempt on one key: WRONGTYPE for a key of another
    /// type, None for a missing key, else the operation's result. Keys that
    /// a served move pushed to are served too.
    pub fn attempt(&self, core: &mut ShardCore, key: &Bytes) -> Result<Option<Served>, CommandError> {
        match self.readiness(core, key) {
            Readiness::Missing => Ok(None),
            Readiness::OtherType => Err(CommandError::WrongType),
            Readiness::Ready => {
                let mut written = VecDeque::new();
                let served = self.serve(core, key, &mut written);
                core.serve_keys(written);
                Ok(Some(served))
            }
        }
    }

    /// Runs the operation on `key`, which is `Ready`. Keys that received
    /// elements and have waiters of their own are added to `written`.
    fn serve(&self, core: &mut ShardCore, key: &Bytes, written: &mut VecDeque<Bytes>) -> Served {
        match self {
            BlockedOperation::ListPop { end, count_opt } => {
                let count = count_opt.unwrap_or(1);
                let popped = pop_from_list(core, key, *end, count)
                    .ok()
                    .flatten()
                    .expect("a ready key holds a non-empty list");
                let key_frame = Frame::BulkString(key.clone());
                let reply = match count_opt {
                    None => {
                        let element = popped.into_iter().next().expect("one element popped");
                        Frame::Array(vec![key_frame, Frame::BulkString(element)])
                    }
                    Some(_) => Frame::Array(vec![
                        key_frame,
                        Frame::Array(popped.into_iter().map(Frame::BulkString).collect()),
                    ]),
                };
                Served::Reply(reply)
            }
            BlockedOperation::ListMove { from, to, destination } => {
                if !core.keyspace.owns_slot(key_slot(destination)) {
                    return Served::SourceReady;
                }
                let reply = move_element(core, key, destination, *from, *to).unwrap_or_else(Frame::from);
                if matches!(reply, Frame::BulkString(_)) {
                    written.push_back(destination.clone());
                }
                Served::Reply(reply)
            }
            BlockedOperation::SortedSetPop { pop_max, count_opt } => {
                let count = count_opt.unwrap_or(1);
                let popped = pop_from_sorted_set(core, key, *pop_max, count)
                    .ok()
                    .flatten()
                    .expect("a ready key holds a non-empty sorted set");
                let key_frame = Frame::BulkString(key.clone());
                let reply = match count_opt {
                    None => {
                        let (member, score) = popped.into_iter().next().expect("one member popped");
                        Frame::Array(vec![key_frame, Frame::BulkString(member), Frame::Double(score)])
                    }
                    Some(_) => Frame::Array(vec![
                        key_frame,
                        Frame::Array(
                            popped
                                .into_iter()
                                .map(|(member, score)| {
                                    Frame::Array(vec![Frame::BulkString(member), Frame::Double(score)])
                                })
                                .collect(),
                        ),
                    ]),
                };
                Served::Reply(reply)
            }
        }
    }
}

/// One blocked command, shared by the shards it is registered on.
pub struct Waiter {
    keys: Vec<Bytes>,
    operation: BlockedOperation,
    claimed: AtomicBool,
    reply_tx: Mutex<Option<oneshot::Sender<ServedBy>>>,
}

impl Waiter {
    /// A waiter for `keys` and the receiver of its reply.
    pub fn new(keys: Vec<Bytes>, operation: BlockedOperation) -> (Arc<Waiter>, oneshot::Receiver<ServedBy>) {
        let (reply_tx, reply_rx) = oneshot::channel();
        let waiter = Waiter {
            keys,
            operation,
            claimed: AtomicBool::new(false),
            reply_tx: Mutex::new(Some(reply_tx)),
        };
        (Arc::new(waiter), reply_rx)
    }

    pub fn keys(&self) -> &[Bytes] {
        &self.keys
    }

    pub fn operation(&self) -> &BlockedOperation {
        &self.operation
    }

    /// Takes the right to act on this waiter. True for exactly one caller.
    pub fn try_claim(&self) -> bool {
        self.claimed
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Claimed by someone, or nobody left to receive the reply.
    fn is_abandoned(&self) -> bool {
        if self.claimed.load(Ordering::Acquire) {
            return true;
        }
        let reply_tx = self.reply_tx.lock().expect("waiter reply lock poisoned");
        reply_tx.as_ref().is_none_or(|reply_tx| reply_tx.is_closed())
    }

    fn deliver(&self, served: Served, shard: usize) {
        debug_assert!(
            self.claimed.load(Ordering::Acquire),
            "delivering to an unclaimed waiter"
        );
        let reply_tx = self.reply_tx.lock().expect("waiter reply lock poisoned").take();
        if let Some(reply_tx) = reply_tx {
            // The receiver is gone only if the connection vanished after the
            // `is_abandoned` check: nothing more can be done for it.
            let _ = reply_tx.send(ServedBy { served, shard });
        }
    }
}

/// The waiters of one shard, per key, in arrival order.
#[derive(Default)]
pub struct BlockingRegistry {
    queues: HashMap<Bytes, VecDeque<Arc<Waiter>>, foldhash::fast::RandomState>,
}

impl BlockingRegistry {
    /// True when nobody waits on this shard: the write path checks this
    /// first, so blocking costs nothing when it is not used.
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }

    fn has_waiters(&self, key: &[u8]) -> bool {
        self.queues.contains_key(key)
    }

    /// Keys with at least one waiter (INFO `total_blocking_keys`).
    pub fn key_count(&self) -> usize {
        self.queues.len()
    }

    /// Registrations held: one per (waiter, key) pair.
    #[cfg(test)]
    fn registration_count(&self) -> usize {
        self.queues.values().map(VecDeque::len).sum()
    }

    fn enqueue(&mut self, key: Bytes, waiter: Arc<Waiter>) {
        self.queues.entry(key).or_default().push_back(waiter);
    }

    fn waiter_at(&self, key: &[u8], position: usize) -> Option<Arc<Waiter>> {
        self.queues.get(key)?.get(position).cloned()
    }

    fn remove_at(&mut self, key: &[u8], position: usize) {
        let Some(queue) = self.queues.get_mut(key) else {
            return;
        };
        queue.remove(position);
        if queue.is_empty() {
            self.queues.remove(key);
        }
    }

    /// Removes `waiter` from the queues of `keys`.
    fn remove(&mut self, waiter: &Arc<Waiter>, keys: &[Bytes]) {
        for key in keys {
            let Some(queue) = self.queues.get_mut(&key[..]) else {
                continue;
            };
            queue.retain(|queued| !Arc::ptr_eq(queued, waiter));
            if queue.is_empty() {
                self.queues.remove(&key[..]);
            }
        }
    }
}

impl ShardCore {
    /// The keys of `waiter` this shard owns, each once, in command order.
    fn owned_keys(&self, waiter: &Waiter) -> Vec<Bytes> {
        let mut owned: Vec<Bytes> = Vec::with_capacity(waiter.keys.len());
        for key in &waiter.keys {
            if self.keyspace.owns_slot(key_slot(key)) && !owned.contains(key) {
                owned.push(key.clone());
            }
        }
        owned
    }

    /// Registration job (protocol step 2): serves `waiter` at once from the
    /// first of its keys that has data, if it can be claimed; otherwise
    /// queues it on each of its keys this shard owns. Returns what was served.
    pub fn register_waiter(&mut self, waiter: &Arc<Waiter>) -> Option<Served> {
        let keys = self.owned_keys(waiter);
        for key in &keys {
            if waiter.operation.readiness(self, key) != Readiness::Ready {
                continue;
            }
            if !waiter.try_claim() {
                return None;
            }
            let mut written = VecDeque::new();
            let served = waiter.operation.serve(self, key, &mut written);
            self.serve_keys(written);
            return Some(served);
        }
        if waiter.is_abandoned() {
            return None;
        }
        for key in keys {
            self.blocking.enqueue(key, waiter.clone());
        }
        None
    }

    /// Removes `waiter` from every queue of this shard.
    pub fn deregister_waiter(&mut self, waiter: &Arc<Waiter>) {
        let keys = self.owned_keys(waiter);
        self.blocking.remove(waiter, &keys);
    }

    /// Protocol step 3: serves the waiters of `keys` after they were written.
    /// One emptiness check when nobody waits on this shard.
    pub fn signal_keys_written<'a>(&mut self, keys: impl IntoIterator<Item = &'a [u8]>) {
        if self.blocking.is_empty() {
            return;
        }
        let written: VecDeque<Bytes> = keys
            .into_iter()
            .filter(|key| self.blocking.has_waiters(key))
            .map(Bytes::copy_from_slice)
            .collect();
        self.serve_keys(written);
    }

    /// Serves the waiters of each key of `written`, and of the keys that
    /// serving pushes to. Ends because every round that adds a key consumed a
    /// waiter.
    fn serve_keys(&mut self, mut written: VecDeque<Bytes>) {
        while let Some(key) = written.pop_front() {
            self.serve_key(&key, &mut written);
        }
    }

    /// Serves the waiters of `key` in FIFO order while it has data. Waiters
    /// of another type than the key's stay queued.
    fn serve_key(&mut self, key: &Bytes, written: &mut VecDeque<Bytes>) {
        let mut position = 0;
        while let Some(waiter) = self.blocking.waiter_at(key, position) {
            if waiter.is_abandoned() {
                self.blocking.remove_at(key, position);
                continue;
            }
            match waiter.operation.readiness(self, key) {
                Readiness::Missing => return,
                Readiness::OtherType => {
                    position += 1;
                    continue;
                }
                Readiness::Ready => {}
            }
            if !waiter.try_claim() {
                self.blocking.remove_at(key, position);
                continue;
            }
            let served = waiter.operation.serve(self, key, written);
            self.deregister_waiter(&waiter);
            let keeps_the_key = matches!(served, Served::SourceReady);
            waiter.deliver(served, self.index);
            if keeps_the_key {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Bytes {
        Bytes::copy_from_slice(text.as_bytes())
    }

    fn pop_left() -> BlockedOperation {
        BlockedOperation::ListPop {
            end: ListEnd::Left,
            count_opt: None,
        }
    }

    /// A key named `{prefix}:n` on `shard` of two.
    fn key_on_shard(prefix: &str, shard: usize) -> Bytes {
        (0..)
            .map(|n| key(&format!("{prefix}:{n}")))
            .find(|key| key_slot(key) as usize % 2 == shard)
            .expect("some key lands on every shard")
    }

    fn list_of(core: &mut ShardCore, key: &[u8]) -> Vec<Vec<u8>> {
        let now_ms = core.now_ms;
        match core.keyspace.lookup_mut(key, now_ms).map(|record| &record.value) {
            Some(Value::List(list)) => list.to_vec(),
            _ => Vec::new(),
        }
    }

    /// The source shard of a BLMOVE whose destination is elsewhere wakes the
    /// mover without popping, and keeps the element from the key's next
    /// waiter until the mover's LMOVE has run.
    #[test]
    fn a_move_to_another_shard_wakes_the_mover_and_keeps_its_element() {
        let config = Arc::new(arc_swap::ArcSwap::from_pointee(crate::config::RuntimeConfig::default()));
        let mut core = ShardCore::new(0, 2, config);
        let source = key_on_shard("source", 0);
        let destination = key_on_shard("destination", 1);
        let operation = BlockedOperation::ListMove {
            from: ListEnd::Left,
            to: ListEnd::Right,
            destination,
        };
        let (mover, mut mover_rx) = Waiter::new(vec![source.clone()], operation);
        let (popper, mut popper_rx) = Waiter::new(vec![source.clone()], pop_left());
        assert!(core.register_waiter(&mover).is_none());
        assert!(core.register_waiter(&popper).is_none());

        let value = Value::List(Box::new(crate::keyspace::list::ListValue::from_elements(
            [&b"x"[..]].into_iter(),
            crate::keyspace::list::ListLimits::DEFAULT,
        )));
        let now_ms = core.now_ms;
        core.keyspace.set(&source, value, false, now_ms);
        core.signal_keys_written([&source[..]]);

        let served = mover_rx.try_recv().expect("the mover is woken");
        assert!(matches!(served.served, Served::SourceReady));
        assert_eq!(list_of(&mut core, &source), vec![b"x".to_vec()], "nothing popped");
        assert!(popper_rx.try_recv().is_err(), "the element is kept for the mover");
        // The mover's LMOVE did not take it (say, WRONGTYPE): the next
        // signal serves the next waiter.
        core.signal_keys_written([&source[..]]);
        let served = popper_rx.try_recv().expect("the next waiter is served");
        assert!(matches!(served.served, Served::Reply(_)));
        assert!(list_of(&mut core, &source).is_empty());
        assert!(core.blocking.is_empty());
    }

    #[test]
    fn claims_succeed_once() {
        let (waiter, _reply_rx) = Waiter::new(vec![key("a")], pop_left());
        assert!(!waiter.is_abandoned());
        assert!(waiter.try_claim());
        assert!(!waiter.try_claim());
        assert!(waiter.is_abandoned());
    }

    #[test]
    fn a_dropped_receiver_abandons_the_waiter() {
        let (waiter, reply_rx) = Waiter::new(vec![key("a")], pop_left());
        drop(reply_rx);
        assert!(waiter.is_abandoned());
    }

    #[test]
    fn registry_queues_are_fifo_and_removed_when_empty() {
        let mut registry = BlockingRegistry::default();
        let (first, _first_rx) = Waiter::new(vec![key("a"), key("b")], pop_left());
        let (second, _second_rx) = Waiter::new(vec![key("a")], pop_left());
        registry.enqueue(key("a"), first.clone());
        registry.enqueue(key("b"), first.clone());
        registry.enqueue(key("a"), second.clone());
        assert_eq!(registry.registration_count(), 3);
        assert!(Arc::ptr_eq(&registry.waiter_at(b"a", 0).unwrap(), &first));
        registry.remove(&first, &[key("a"), key("b")]);
        assert!(Arc::ptr_eq(&registry.waiter_at(b"a", 0).unwrap(), &second));
        assert!(!registry.has_waiters(b"b"));
        registry.remove_at(b"a", 0);
        assert!(registry.is_empty());
    }
}
