//! Running a multi-key command whose keys live on several shards.
//!
//! In standalone mode every shard owns a share of the slots, so the keys of
//! one MGET, MSET, DEL or LCS may live on different shards. When they all
//! hash to one shard, the pipeline runs the command's `Handler::Shard`
//! function there, which is atomic because a shard runs one command at a
//! time. Otherwise the command's cross-shard handler runs, built from the
//! pieces below:
//! 1. `group_keys_by_shard`: which key positions each shard owns;
//! 2. `hold_groups`: take every involved shard at once
//!    (`ShardRouter::hold`, acquired in ascending order, so holders never
//!    deadlock); while held, a shard runs only the holder's jobs;
//! 3. `run_on_groups`: one job per shard, run concurrently on the held shards;
//! 4. drop the `HeldShards` to release them.
//!
//! Invariant: a cross-shard command is atomic. Because writers (MSET) and
//! readers (MGET) of several shards both hold all their shards for the whole
//! operation, no reader sees a multi-shard write half applied.
//!
//! `run_held` does steps 2 to 4 for commands that act in one pass (MGET, MSET,
//! DEL, EXISTS, TOUCH, UNLINK). Commands that check before they act (MSETNX)
//! call `hold_groups`, then `run_on_groups` once per phase under one hold.
//! `in_request_order` puts per-shard results back in the order of the keys.

use bytes::Bytes;

use super::error::CommandError;
use crate::shard::{HeldShards, ShardCore, ShardRouter};

/// The keys of one command that live on one shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardGroup {
    pub shard: usize,
    /// Positions in the command's arguments of this shard's keys, ascending.
    pub positions: Vec<usize>,
}

impl ShardGroup {
    /// The arguments `args[position..position + width]` of every position of
    /// the group, cloned in order: the keys alone with `width` 1, key-value
    /// pairs (MSET) with `width` 2. Cloning `Bytes` only bumps a reference
    /// count, and gives jobs the `'static` data they need to cross threads.
    pub fn arguments(&self, args: &[Bytes], width: usize) -> Vec<Bytes> {
        self.positions
            .iter()
            .flat_map(|&position| args[position..position + width].iter().cloned())
            .collect()
    }
}

/// Groups `key_positions` (positions in `args`) by the shard that owns each
/// key. The groups come in ascending shard order; each group's positions keep
/// the order of `key_positions`.
pub fn group_keys_by_shard(router: &ShardRouter, args: &[Bytes], key_positions: &[usize]) -> Vec<ShardGroup> {
    group_by_shard(router.shard_count(), key_positions, |position| {
        router.shard_of_key(&args[position])
    })
}

fn group_by_shard(shard_count: usize, key_positions: &[usize], shard_of: impl Fn(usize) -> usize) -> Vec<ShardGroup> {
    let mut positions_by_shard: Vec<Vec<usize>> = vec![Vec::new(); shard_count];
    for &position in key_positions {
        let shard = shard_of(position);
        assert!(shard < shard_count, "shard {shard} out of {shard_count}");
        positions_by_shard[shard].push(position);
    }
    positions_by_shard
        .into_iter()
        .enumerate()
        .filter(|(_, positions)| !positions.is_empty())
        .map(|(shard, positions)| ShardGroup { shard, positions })
        .collect()
}

/// Takes exclusive hold of every shard of `groups`. They stay held until the
/// returned value is dropped.
pub async fn hold_groups(router: &ShardRouter, groups: &[ShardGroup]) -> Result<HeldShards, CommandError> {
    let shards: Vec<usize> = groups.iter().map(|group| group.shard).collect();
    router.hold(&shards).await
}

/// Runs `make_job(group)` on each group's held shard, all shards at once, and
/// returns the results in the order of `groups`. Every group's shard must be
/// in `held`.
pub async fn run_on_groups<T, Job>(
    held: &HeldShards,
    groups: &[ShardGroup],
    mut make_job: impl FnMut(&ShardGroup) -> Job,
) -> Result<Vec<T>, CommandError>
where
    T: Send + 'static,
    Job: FnOnce(&mut ShardCore) -> T + Send + 'static,
{
    let jobs: Vec<_> = groups
        .iter()
        .map(|group| held.run(group.shard, make_job(group)))
        .collect();
    futures::future::join_all(jobs).await.into_iter().collect()
}

/// Holds the shards of `groups`, runs one job per group as `run_on_groups`
/// does, then releases the shards.
pub async fn run_held<T, Job>(
    router: &ShardRouter,
    groups: &[ShardGroup],
    make_job: impl FnMut(&ShardGroup) -> Job,
) -> Result<Vec<T>, CommandError>
where
    T: Send + 'static,
    Job: FnOnce(&mut ShardCore) -> T + Send + 'static,
{
    let held = hold_groups(router, groups).await?;
    let results = run_on_groups(&held, groups, make_job).await;
    drop(held);
    results
}

/// Merges per-group results, one per position of the group and in the same
/// order (`results[g][i]` belongs to `groups[g].positions[i]`), into one list
/// ordered by position, which is the order of the keys in the request.
pub fn in_request_order<T>(groups: &[ShardGroup], results: Vec<Vec<T>>) -> Vec<T> {
    assert_eq!(groups.len(), results.len(), "one result list per group");
    let mut placed: Vec<(usize, T)> = Vec::with_capacity(groups.iter().map(|group| group.positions.len()).sum());
    for (group, group_results) in groups.iter().zip(results) {
        assert_eq!(
            group.positions.len(),
            group_results.len(),
            "one result per key of shard {}",
            group.shard
        );
        placed.extend(group.positions.iter().copied().zip(group_results));
    }
    placed.sort_by_key(|(position, _)| *position);
    placed.into_iter().map(|(_, result)| result).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_come_in_shard_order_and_keep_key_order() {
        // Positions 1, 3, 5, 7 owned by shards 2, 0, 2, 1.
        let owners = [(1, 2), (3, 0), (5, 2), (7, 1)];
        let shard_of = |position: usize| owners.iter().find(|(p, _)| *p == position).unwrap().1;
        let groups = group_by_shard(4, &[1, 3, 5, 7], shard_of);
        assert_eq!(
            groups,
            vec![
                ShardGroup {
                    shard: 0,
                    positions: vec![3]
                },
                ShardGroup {
                    shard: 1,
                    positions: vec![7]
                },
                ShardGroup {
                    shard: 2,
                    positions: vec![1, 5]
                },
            ]
        );
    }

    #[test]
    fn arguments_take_keys_or_pairs() {
        let args: Vec<Bytes> = ["mset", "a", "1", "b", "2", "c", "3"]
            .into_iter()
            .map(|text| Bytes::from_static(text.as_bytes()))
            .collect();
        let group = ShardGroup {
            shard: 0,
            positions: vec![1, 5],
        };
        assert_eq!(
            group.arguments(&args, 1),
            vec![Bytes::from_static(b"a"), Bytes::from_static(b"c")]
        );
        let pairs: Vec<Bytes> = ["a", "1", "c", "3"]
            .into_iter()
            .map(|text| Bytes::from_static(text.as_bytes()))
            .collect();
        assert_eq!(group.arguments(&args, 2), pairs);
    }

    #[test]
    fn results_return_to_request_order() {
        let groups = vec![
            ShardGroup {
                shard: 0,
                positions: vec![2, 4],
            },
            ShardGroup {
                shard: 3,
                positions: vec![1, 3],
            },
        ];
        let merged = in_request_order(&groups, vec![vec!["second", "fourth"], vec!["first", "third"]]);
        assert_eq!(merged, vec!["first", "second", "third", "fourth"]);
    }
}
