//! Keys a MIGRATE is moving, and the batches waiting for them.
//!
//! MIGRATE reads its keys on the shard, sends them to the target over the
//! network without holding the shard, and then, on the shard again, deletes
//! the keys the target acknowledged. Redis runs all of it inside one command,
//! so no other command ever sees a key between the read and the delete. To
//! keep that guarantee without blocking the shard on the network, the keys
//! are marked in flight from the read to the delete:
//! - a batch reaching a command that names a key in flight stops there and
//!   is parked, with the replies it has so far; the rest of the batch
//!   (that command first) runs, in order, once the keys are released. Its
//!   connection is simply waiting for the reply, as a Redis client would be
//!   while the server runs MIGRATE. By then the keys are gone (or still
//!   here, on failure or COPY), so the command is routed as Redis would
//!   route it after the MIGRATE (in a migrating slot: ASK to the target);
//! - a second MIGRATE of a key in flight waits for `released` and tries again.
//!
//! Commands that name no key in flight run at once, so other keys, and the
//! rest of the slot, keep being served during the network round trip.
//! When nothing is in flight the cost is one emptiness check per batch.
//!
//! A native slot migration uses the same parking for its handoff: while
//! the target takes over, the migrating slots are frozen, and a batch that
//! reaches a write to one of them waits; once the handoff is decided it
//! runs again, routed by the new snapshot (MOVED to the target, or served
//! here if the migration was aborted).
//!
//! Bounds: the keys of the MIGRATEs in progress on this shard, and one
//! parked batch per waiting connection (each at most one pipeline batch).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use starling_protocol::Frame;
use tokio::sync::{oneshot, Notify};

use super::ShardCommand;
use crate::commands::table::Flags;

/// A batch stopped at a command that names a key in flight.
pub struct ParkedBatch {
    /// Replies of the commands that ran before it.
    pub replies: Vec<Frame>,
    /// That command and the rest of the batch, in order.
    pub remaining: VecDeque<ShardCommand>,
    pub reply_tx: oneshot::Sender<Vec<Frame>>,
}

#[derive(Default)]
pub struct KeysInFlight {
    keys: HashSet<Bytes>,
    /// Slots whose writes wait for a native migration's handoff (reads
    /// still run): the batches that reach such a write park here too.
    frozen_slots: HashSet<u16>,
    parked: VecDeque<ParkedBatch>,
    released: Arc<Notify>,
}

impl KeysInFlight {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.frozen_slots.is_empty()
    }

    /// Whether `command` names a key in flight, or writes to a frozen slot.
    pub fn touches(&self, command: &ShardCommand) -> bool {
        if !self.frozen_slots.is_empty()
            && command.spec.flags.contains(Flags::WRITE)
            && command
                .slot_context_opt
                .is_some_and(|context| self.frozen_slots.contains(&context.slot))
        {
            return true;
        }
        command
            .spec
            .key_positions_iter(&command.args)
            .any(|position| self.keys.contains(&command.args[position][..]))
    }

    /// Holds back writes to `slots` until `thaw`.
    pub fn freeze(&mut self, slots: impl IntoIterator<Item = u16>) {
        self.frozen_slots.extend(slots);
    }

    /// Lets writes to `slots` run again and returns the parked batches, as
    /// `release` does.
    pub fn thaw(&mut self, slots: impl IntoIterator<Item = u16>) -> VecDeque<ParkedBatch> {
        for slot in slots {
            self.frozen_slots.remove(&slot);
        }
        std::mem::take(&mut self.parked)
    }

    /// Whether any of `keys` is in flight.
    pub fn contains_any(&self, keys: &[Bytes]) -> bool {
        keys.iter().any(|key| self.keys.contains(key))
    }

    /// Marks `keys` in flight; none may be already (asserted: a second
    /// MIGRATE waits for the first).
    pub fn mark(&mut self, keys: &[Bytes]) {
        for key in keys {
            let inserted = self.keys.insert(key.clone());
            assert!(inserted, "a key is in flight for two MIGRATEs at once");
        }
    }

    /// Releases `keys` and returns the parked batches, oldest first; the
    /// shard runs them again (parking any that meet another key in flight).
    pub fn release(&mut self, keys: &[Bytes]) -> VecDeque<ParkedBatch> {
        for key in keys {
            self.keys.remove(key);
        }
        self.released.notify_waiters();
        std::mem::take(&mut self.parked)
    }

    pub fn park(&mut self, batch: ParkedBatch) {
        self.parked.push_back(batch);
    }

    /// Notified whenever keys are released (a waiting MIGRATE tries again).
    pub fn released(&self) -> Arc<Notify> {
        self.released.clone()
    }
}
