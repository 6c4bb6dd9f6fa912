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
//! Bounds: the keys of the MIGRATEs in progress on this shard, and one
//! parked batch per waiting connection (each at most one pipeline batch).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use starling_protocol::Frame;
use tokio::sync::{oneshot, Notify};

use super::ShardCommand;

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
    parked: VecDeque<ParkedBatch>,
    released: Arc<Notify>,
}

impl KeysInFlight {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether `command` names a key in flight.
    pub fn touches(&self, command: &ShardCommand) -> bool {
        command
            .spec
            .key_positions_iter(&command.args)
            .any(|position| self.keys.contains(&command.args[position][..]))
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
