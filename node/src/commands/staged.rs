//! Running any shard command whose keys span shards, by staging.
//!
//! In standalone mode the keys of SINTERSTORE, LMOVE, ZUNIONSTORE, BITOP...
//! may live on different shards. Rather than give every such command a
//! hand-written cross-shard version, `run_staged` runs the command's own
//! single-shard function on copies of its keys:
//! 1. hold every shard that owns one of the keys (`multikey::hold_groups`:
//!    ascending order, so holders never deadlock);
//! 2. copy each key's record and deadline into a scratch shard that owns
//!    every slot, on the connection's thread;
//! 3. run the command there;
//! 4. write back every key whose value or deadline changed (or delete it),
//!    each on its own held shard;
//! 5. release the shards.
//!
//! Invariant: the command is atomic, exactly as if one shard had run it,
//! because no other command can touch any of its keys between steps 1 and 5.
//! Costs: the keys' values are copied twice, which is the price of running
//! an unmodified single-shard command across shards. Commands with a cheaper
//! dedicated path (MGET, MSET, DEL, RENAME...) declare a `cross_shard`
//! handler and never come here.

use std::collections::HashMap;

use bytes::Bytes;
use starling_protocol::Frame;

use super::error::CommandResult;
use super::multikey::{group_keys_by_shard, hold_groups, run_on_groups};
use super::table::CommandSpec;
use crate::connection::session::Session;
use crate::keyspace::Record;
use crate::shard::{unix_time_ms, ShardCore};

/// A key's record and deadline, or None for a missing key.
type Snapshot = Option<(Record, Option<u64>)>;

fn snapshot(core: &mut ShardCore, key: &[u8]) -> Snapshot {
    let now_ms = core.now_ms;
    let record = core.keyspace.lookup_mut(key, now_ms)?.clone();
    let expire_at_ms = core.keyspace.expire_at(key);
    Some((record, expire_at_ms))
}

fn same_content(before: &Snapshot, after: &Snapshot) -> bool {
    match (before, after) {
        (None, None) => true,
        (Some((old, old_expire)), Some((new, new_expire))) => old.value == new.value && old_expire == new_expire,
        _ => false,
    }
}

pub async fn run_staged(session: &mut Session, spec: &'static CommandSpec, args: Vec<Bytes>) -> CommandResult {
    let mut positions = spec.key_positions(&args);
    positions.sort_by(|left, right| args[*left].cmp(&args[*right]));
    positions.dedup_by(|left, right| args[*left] == args[*right]);
    let groups = group_keys_by_shard(&session.router, &args, &positions);
    let held = hold_groups(&session.router, &groups).await?;

    let fetched = run_on_groups(&held, &groups, |group| {
        let keys = group.arguments(&args, 1);
        move |core: &mut ShardCore| {
            keys.into_iter()
                .map(|key| {
                    let snapshot = snapshot(core, &key);
                    (key, snapshot)
                })
                .collect::<Vec<_>>()
        }
    })
    .await?;

    let mut scratch = ShardCore::new(0, 1, session.server.config.clone());
    scratch.now_ms = unix_time_ms();
    let mut before: HashMap<Bytes, Snapshot> = HashMap::new();
    for (key, snapshot) in fetched.into_iter().flatten() {
        if let Some((record, expire_at_ms)) = &snapshot {
            scratch.keyspace.insert_record(record.clone(), *expire_at_ms);
        }
        before.insert(key, snapshot);
    }

    let reply: Frame = scratch.execute(spec, &args);

    let mut changes_by_group = Vec::with_capacity(groups.len());
    for group in &groups {
        let mut changes = Vec::new();
        for key in group.arguments(&args, 1) {
            let after = snapshot(&mut scratch, &key);
            if !same_content(&before[&key], &after) {
                changes.push((key, after));
            }
        }
        changes_by_group.push(changes);
    }
    let mut changes_by_group = changes_by_group.into_iter();
    run_on_groups(&held, &groups, |_| {
        let changes = changes_by_group.next().expect("one change list per group");
        move |core: &mut ShardCore| {
            let mut written = Vec::with_capacity(changes.len());
            for (key, after) in changes {
                match after {
                    Some((record, expire_at_ms)) => core.keyspace.insert_record(record, expire_at_ms),
                    None => {
                        core.keyspace.remove(&key);
                    }
                }
                written.push(key);
            }
            // Clients blocked on a written key (BLPOP on LMOVE's destination)
            // are served now, as after a single-shard write.
            core.signal_keys_written(written.iter().map(|key| &key[..]));
        }
    })
    .await?;
    drop(held);
    Ok(reply)
}
