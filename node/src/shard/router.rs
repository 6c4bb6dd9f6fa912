//! `ShardRouter`: how a connection reaches shards.
//!
//! The shard that lives on the caller's own thread is called directly, with no
//! message and no thread hop, unless it is held by a cross-shard operation, in
//! which case the call queues in its mailbox like everyone else's. Every other
//! shard is reached through its bounded mailbox.

use std::cell::RefCell;
use std::rc::Rc;

use starling_protocol::{key_slot, Frame};
use tokio::sync::{mpsc, oneshot};

use super::{BatchReplies, ExecuteBatch, Hold, RunJob, ShardCommand, ShardCore, ShardJob, ShardSet};
use crate::commands::error::CommandError;

thread_local! {
    static LOCAL_SHARD: RefCell<Option<(usize, Rc<RefCell<ShardCore>>)>> = const { RefCell::new(None) };
}

/// Registers the shard that runs on the calling thread. Called once per
/// arbiter thread, when its shard starts.
pub fn install_local_shard(index: usize, core: Rc<RefCell<ShardCore>>) {
    LOCAL_SHARD.with(|local| *local.borrow_mut() = Some((index, core)));
}

fn shard_unavailable() -> CommandError {
    CommandError::other("ERR shard unavailable (server shutting down)")
}

pub struct ShardRouter {
    shards: ShardSet,
    local: Option<(usize, Rc<RefCell<ShardCore>>)>,
    /// During EXEC: every shard is held, and all shard work goes through
    /// the hold (`route_through`).
    through_opt: Option<Rc<HeldShards>>,
}

/// A clone never inherits a hold: a task that outlived EXEC must not keep
/// the shards held.
impl Clone for ShardRouter {
    fn clone(&self) -> ShardRouter {
        ShardRouter {
            shards: self.shards.clone(),
            local: self.local.clone(),
            through_opt: None,
        }
    }
}

impl ShardRouter {
    /// A router for a connection running on the current thread.
    pub fn for_current_thread(shards: ShardSet) -> ShardRouter {
        let local = LOCAL_SHARD.with(|local| local.borrow().clone());
        ShardRouter {
            shards,
            local,
            through_opt: None,
        }
    }

    /// Sends all shard work through `held` (Some) or back to the shards'
    /// mailboxes and the local core (None). EXEC uses it.
    pub fn route_through(&mut self, held_opt: Option<Rc<HeldShards>>) {
        self.through_opt = held_opt;
    }

    /// Whether shard work goes through a hold (inside EXEC).
    pub fn runs_in_hold(&self) -> bool {
        self.through_opt.is_some()
    }

    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    pub fn shard_of_slot(&self, slot: u16) -> usize {
        self.shards.shard_of_slot(slot)
    }

    pub fn shard_of_key(&self, key: &[u8]) -> usize {
        self.shard_of_slot(key_slot(key))
    }

    /// The local core, if `shard` is this thread's shard and is not held.
    fn direct_core(&self, shard: usize) -> Option<&Rc<RefCell<ShardCore>>> {
        match &self.local {
            Some((index, core)) if *index == shard && !core.borrow().is_held() => Some(core),
            _ => None,
        }
    }

    /// Runs `commands` in order on `shard` and returns their replies
    /// (waiting, if the shard parked the batch behind a MIGRATE).
    pub async fn execute(&self, shard: usize, commands: Vec<ShardCommand>) -> Vec<Frame> {
        let count = commands.len();
        if let Some(held) = &self.through_opt {
            return match held.run(shard, move |core| core.execute_batch(commands)).await {
                Ok(BatchReplies::Done(replies)) => replies,
                Ok(BatchReplies::Parked(replies_rx)) => replies_rx
                    .await
                    .unwrap_or_else(|_| vec![Frame::from(shard_unavailable()); count]),
                Err(error) => vec![Frame::from(error); count],
            };
        }
        let outcome = match self.direct_core(shard) {
            Some(core) => core.borrow_mut().execute_batch(commands),
            None => match self.shards.addresses[shard].send(ExecuteBatch(commands)).await {
                Ok(outcome) => outcome,
                Err(_) => return vec![Frame::from(shard_unavailable()); count],
            },
        };
        match outcome {
            BatchReplies::Done(replies) => replies,
            BatchReplies::Parked(replies_rx) => replies_rx
                .await
                .unwrap_or_else(|_| vec![Frame::from(shard_unavailable()); count]),
        }
    }

    /// Runs `job` on `shard` with exclusive access to its core.
    pub async fn run<T, F>(&self, shard: usize, job: F) -> Result<T, CommandError>
    where
        T: Send + 'static,
        F: FnOnce(&mut ShardCore) -> T + Send + 'static,
    {
        if let Some(held) = &self.through_opt {
            return held.run(shard, job).await;
        }
        if let Some(core) = self.direct_core(shard) {
            let mut core = core.borrow_mut();
            core.now_ms = super::unix_time_ms();
            return Ok(job(&mut core));
        }
        let (result_tx, result_rx) = oneshot::channel();
        let boxed: ShardJob = Box::new(move |core| {
            let _ = result_tx.send(job(core));
        });
        self.shards.addresses[shard]
            .send(RunJob(boxed))
            .await
            .map_err(|_| shard_unavailable())?;
        result_rx.await.map_err(|_| shard_unavailable())
    }

    /// Runs `job` on every shard and returns the results in shard order.
    pub async fn run_on_all<T, F>(&self, job: F) -> Result<Vec<T>, CommandError>
    where
        T: Send + 'static,
        F: Fn(&mut ShardCore) -> T + Send + Clone + 'static,
    {
        let futures = (0..self.shard_count()).map(|shard| self.run(shard, job.clone()));
        futures::future::join_all(futures).await.into_iter().collect()
    }

    /// Takes exclusive hold of `shards` (deduplicated, any order), acquiring
    /// them in ascending index order so that concurrent holders cannot
    /// deadlock. The shards are released when the returned value is dropped.
    pub async fn hold(&self, shards: &[usize]) -> Result<HeldShards, CommandError> {
        let mut ordered = shards.to_vec();
        ordered.sort_unstable();
        ordered.dedup();
        if let Some(held) = &self.through_opt {
            // Inside EXEC every shard is held already: share that hold.
            return Ok(HeldShards {
                jobs: held
                    .jobs
                    .iter()
                    .filter(|(index, _)| ordered.contains(index))
                    .cloned()
                    .collect(),
            });
        }
        let mut held = HeldShards {
            jobs: Vec::with_capacity(ordered.len()),
        };
        for shard in ordered {
            let (jobs_tx, jobs_rx) = mpsc::channel(1);
            let (acquired_tx, acquired_rx) = oneshot::channel();
            self.shards.addresses[shard]
                .send(Hold { jobs_rx, acquired_tx })
                .await
                .map_err(|_| shard_unavailable())?;
            acquired_rx.await.map_err(|_| shard_unavailable())?;
            held.jobs.push((shard, jobs_tx));
        }
        Ok(held)
    }
}

/// Shards held exclusively by one operation. Dropping it releases them.
pub struct HeldShards {
    jobs: Vec<(usize, mpsc::Sender<ShardJob>)>,
}

impl HeldShards {
    /// Runs `job` on a held shard. Panics if `shard` is not held: running a
    /// job on a shard you do not hold would break atomicity.
    pub async fn run<T, F>(&self, shard: usize, job: F) -> Result<T, CommandError>
    where
        T: Send + 'static,
        F: FnOnce(&mut ShardCore) -> T + Send + 'static,
    {
        let (_, jobs_tx) = self
            .jobs
            .iter()
            .find(|(index, _)| *index == shard)
            .unwrap_or_else(|| panic!("shard {shard} is not held"));
        let (result_tx, result_rx) = oneshot::channel();
        let boxed: ShardJob = Box::new(move |core| {
            let _ = result_tx.send(job(core));
        });
        jobs_tx.send(boxed).await.map_err(|_| shard_unavailable())?;
        result_rx.await.map_err(|_| shard_unavailable())
    }

    pub fn shards(&self) -> impl Iterator<Item = usize> + '_ {
        self.jobs.iter().map(|(index, _)| *index)
    }
}
