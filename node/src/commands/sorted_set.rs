//! Sorted set commands: ZADD and the other writes, reads (ZSCORE, ZRANK,
//! ZRANDMEMBER, ZSCAN...), the ZRANGE family, pops (ZPOPMIN, ZPOPMAX, ZMPOP)
//! and set algebra (ZUNION, ZINTER, ZDIFF and their STORE forms, ZINTERCARD).
//!
//! Rules shared by the family, as Redis 7.2 has them:
//! - a key of another type gives WRONGTYPE (`sorted_set_of` decides); the set
//!   algebra commands also accept plain sets, whose members score 1;
//! - arguments are parsed and checked before the key is looked up, so a
//!   syntax error wins over WRONGTYPE, except where Redis looks keys up first
//!   (the options of ZUNION and friends, ZSCAN);
//! - a set that becomes empty is deleted; a STORE with an empty result
//!   deletes the destination and replies 0;
//! - scores reply as `Frame::Double` (a bulk string in RESP2); WITHSCORES
//!   replies are `Frame::Pairs`: flat in RESP2, `[member, score]` pairs in
//!   RESP3.
//!
//! The representation (listpack / skiplist) lives in `keyspace::sorted_set`.
//! Commands with `numkeys` find their keys with a `key_finder` that returns
//! every key, destination included, so the pipeline can stage them when they
//! span shards.

mod algebra;
mod parse;
mod pop;
mod range;
mod read;
mod write;

use bytes::Bytes;
use starling_protocol::Frame;

use super::args::parse_i64;
use super::error::CommandError;
use super::table::{CommandSpec, Flags, Handler, ShardHandler};
use crate::keyspace::sorted_set::{Entry, ListpackLimits, SortedSetValue};
use crate::keyspace::Value;
use crate::shard::ShardCore;
pub use pop::{mpop_reply, parse_mpop, pop_from_sorted_set, MultiPopRequest};

pub fn commands() -> Vec<CommandSpec> {
    const READ_FAST: &[&str] = &["@read", "@sortedset", "@fast"];
    const READ_SLOW: &[&str] = &["@read", "@sortedset", "@slow"];
    const WRITE_FAST: &[&str] = &["@write", "@sortedset", "@fast"];
    const WRITE_SLOW: &[&str] = &["@write", "@sortedset", "@slow"];
    let read = |name: &'static str,
                arity: i32,
                handler: ShardHandler,
                acl: &'static [&'static str],
                since: &'static str,
                summary: &'static str| {
        CommandSpec::new(name, arity, Handler::Shard(handler))
            .flags(if acl == READ_FAST {
                Flags::READONLY | Flags::FAST
            } else {
                Flags::READONLY
            })
            .keys(1, 1, 1)
            .acl(acl)
            .doc("sorted-set", since, summary)
    };
    vec![
        CommandSpec::new("zadd", -4, Handler::Shard(write::zadd))
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc(
                "sorted-set",
                "1.2.0",
                "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.",
            ),
        CommandSpec::new("zincrby", 4, Handler::Shard(write::zincrby))
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc("sorted-set", "1.2.0", "Increments the score of a member in a sorted set."),
        CommandSpec::new("zrem", -3, Handler::Shard(write::zrem))
            .flags(Flags::WRITE | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc(
                "sorted-set",
                "1.2.0",
                "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.",
            ),
        CommandSpec::new("zremrangebyscore", 4, Handler::Shard(write::zremrangebyscore))
            .flags(Flags::WRITE)
            .keys(1, 1, 1)
            .acl(WRITE_SLOW)
            .doc(
                "sorted-set",
                "1.2.0",
                "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.",
            ),
        CommandSpec::new("zremrangebyrank", 4, Handler::Shard(write::zremrangebyrank))
            .flags(Flags::WRITE)
            .keys(1, 1, 1)
            .acl(WRITE_SLOW)
            .doc(
                "sorted-set",
                "2.0.0",
                "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.",
            ),
        CommandSpec::new("zremrangebylex", 4, Handler::Shard(write::zremrangebylex))
            .flags(Flags::WRITE)
            .keys(1, 1, 1)
            .acl(WRITE_SLOW)
            .doc(
                "sorted-set",
                "2.8.9",
                "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.",
            ),
        read("zscore", 3, read::zscore, READ_FAST, "1.2.0", "Returns the score of a member in a sorted set."),
        read("zmscore", -3, read::zmscore, READ_FAST, "6.2.0", "Returns the score of one or more members in a sorted set."),
        read("zcard", 2, read::zcard, READ_FAST, "1.2.0", "Returns the number of members in a sorted set."),
        read(
            "zcount",
            4,
            read::zcount,
            READ_FAST,
            "2.0.0",
            "Returns the count of members in a sorted set that have scores within a range.",
        ),
        read(
            "zlexcount",
            4,
            read::zlexcount,
            READ_FAST,
            "2.8.9",
            "Returns the number of members in a sorted set within a lexicographical range.",
        ),
        read(
            "zrank",
            -3,
            read::zrank,
            READ_FAST,
            "2.0.0",
            "Returns the index of a member in a sorted set ordered by ascending scores.",
        ),
        read(
            "zrevrank",
            -3,
            read::zrevrank,
            READ_FAST,
            "2.0.0",
            "Returns the index of a member in a sorted set ordered by descending scores.",
        ),
        read(
            "zrandmember",
            -2,
            read::zrandmember,
            READ_SLOW,
            "6.2.0",
            "Returns one or more random members from a sorted set.",
        ),
        read(
            "zscan",
            -3,
            read::zscan,
            READ_SLOW,
            "2.8.0",
            "Iterates over members and scores of a sorted set.",
        ),
        read("zrange", -4, range::zrange, READ_SLOW, "1.2.0", "Returns members in a sorted set within a range of indexes."),
        CommandSpec::new("zrangestore", -5, Handler::Shard(range::zrangestore))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, 2, 1)
            .acl(WRITE_SLOW)
            .doc("sorted-set", "6.2.0", "Stores a range of members from sorted set in a key."),
        read(
            "zrevrange",
            -4,
            range::zrevrange,
            READ_SLOW,
            "1.2.0",
            "Returns members in a sorted set within a range of indexes in reverse order.",
        ),
        read(
            "zrangebyscore",
            -4,
            range::zrangebyscore,
            READ_SLOW,
            "1.0.5",
            "Returns members in a sorted set within a range of scores.",
        ),
        read(
            "zrevrangebyscore",
            -4,
            range::zrevrangebyscore,
            READ_SLOW,
            "2.2.0",
            "Returns members in a sorted set within a range of scores in reverse order.",
        ),
        read(
            "zrangebylex",
            -4,
            range::zrangebylex,
            READ_SLOW,
            "2.8.9",
            "Returns members in a sorted set within a lexicographical range.",
        ),
        read(
            "zrevrangebylex",
            -4,
            range::zrevrangebylex,
            READ_SLOW,
            "2.8.9",
            "Returns members in a sorted set within a lexicographical range in reverse order.",
        ),
        CommandSpec::new("zpopmin", -2, Handler::Shard(pop::zpopmin))
            .flags(Flags::WRITE | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc(
                "sorted-set",
                "5.0.0",
                "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
            ),
        CommandSpec::new("zpopmax", -2, Handler::Shard(pop::zpopmax))
            .flags(Flags::WRITE | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc(
                "sorted-set",
                "5.0.0",
                "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
            ),
        CommandSpec::new("zmpop", -4, Handler::Shard(pop::zmpop))
            .flags(Flags::WRITE)
            .key_finder(keys_after_numkeys_at_1)
            .acl(WRITE_SLOW)
            .doc(
                "sorted-set",
                "7.0.0",
                "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.",
            ),
        CommandSpec::new("zunion", -3, Handler::Shard(algebra::zunion))
            .flags(Flags::READONLY)
            .key_finder(keys_after_numkeys_at_1)
            .acl(READ_SLOW)
            .doc("sorted-set", "6.2.0", "Returns the union of multiple sorted sets."),
        CommandSpec::new("zunionstore", -4, Handler::Shard(algebra::zunionstore))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, 1, 1)
            .key_finder(destination_and_keys_after_numkeys_at_2)
            .acl(WRITE_SLOW)
            .doc("sorted-set", "2.0.0", "Stores the union of multiple sorted sets in a key."),
        CommandSpec::new("zinter", -3, Handler::Shard(algebra::zinter))
            .flags(Flags::READONLY)
            .key_finder(keys_after_numkeys_at_1)
            .acl(READ_SLOW)
            .doc("sorted-set", "6.2.0", "Returns the intersect of multiple sorted sets."),
        CommandSpec::new("zinterstore", -4, Handler::Shard(algebra::zinterstore))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, 1, 1)
            .key_finder(destination_and_keys_after_numkeys_at_2)
            .acl(WRITE_SLOW)
            .doc("sorted-set", "2.0.0", "Stores the intersect of multiple sorted sets in a key."),
        CommandSpec::new("zintercard", -3, Handler::Shard(algebra::zintercard))
            .flags(Flags::READONLY)
            .key_finder(keys_after_numkeys_at_1)
            .acl(READ_SLOW)
            .doc("sorted-set", "7.0.0", "Returns the number of members of the intersect of multiple sorted sets."),
        CommandSpec::new("zdiff", -3, Handler::Shard(algebra::zdiff))
            .flags(Flags::READONLY)
            .key_finder(keys_after_numkeys_at_1)
            .acl(READ_SLOW)
            .doc("sorted-set", "6.2.0", "Returns the difference between multiple sorted sets."),
        CommandSpec::new("zdiffstore", -4, Handler::Shard(algebra::zdiffstore))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, 1, 1)
            .key_finder(destination_and_keys_after_numkeys_at_2)
            .acl(WRITE_SLOW)
            .doc("sorted-set", "6.2.0", "Stores the difference of multiple sorted sets in a key."),
    ]
}

// ---------------------------------------------------------------------------
// Key finders
// ---------------------------------------------------------------------------

/// Positions of the `numkeys` keys after `args[numkeys_index]`. A bad or
/// too-large `numkeys` yields what exists: the command itself reports it.
fn keys_after_numkeys(args: &[Bytes], numkeys_index: usize) -> Vec<usize> {
    let available = args.len().saturating_sub(numkeys_index + 1);
    let count = args
        .get(numkeys_index)
        .and_then(|numkeys| parse_i64(numkeys))
        .filter(|&numkeys| numkeys > 0)
        .map_or(0, |numkeys| (numkeys as u64).min(available as u64) as usize);
    (numkeys_index + 1..numkeys_index + 1 + count).collect()
}

/// `ZUNION numkeys key...`, `ZMPOP numkeys key...`.
fn keys_after_numkeys_at_1(args: &[Bytes]) -> Vec<usize> {
    keys_after_numkeys(args, 1)
}

/// `ZUNIONSTORE destination numkeys key...`: the destination, then the keys.
fn destination_and_keys_after_numkeys_at_2(args: &[Bytes]) -> Vec<usize> {
    let mut positions = Vec::with_capacity(4);
    if args.len() > 1 {
        positions.push(1);
    }
    positions.extend(keys_after_numkeys(args, 2));
    positions
}

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// The listpack thresholds currently configured.
pub(crate) fn listpack_limits(core: &ShardCore) -> ListpackLimits {
    let config = core.config.load();
    ListpackLimits {
        max_entries: config.encoding.zset_max_listpack_entries,
        max_value_bytes: config.encoding.zset_max_listpack_value,
    }
}

/// The sorted set a value holds, or WRONGTYPE for any other type.
fn sorted_set_of(value: &Value) -> Result<&SortedSetValue, CommandError> {
    match value {
        Value::SortedSet(sorted_set) => Ok(sorted_set),
        _ => Err(CommandError::WrongType),
    }
}

fn sorted_set_of_mut(value: &mut Value) -> Result<&mut SortedSetValue, CommandError> {
    match value {
        Value::SortedSet(sorted_set) => Ok(sorted_set),
        _ => Err(CommandError::WrongType),
    }
}

/// Looks `key` up for reading (counting a hit or miss): None when missing.
fn read_sorted_set<'a>(core: &'a mut ShardCore, key: &[u8]) -> Result<Option<&'a SortedSetValue>, CommandError> {
    let now_ms = core.now_ms;
    match core.keyspace.lookup_read(key, now_ms) {
        None => Ok(None),
        Some(record) => sorted_set_of(&record.value).map(Some),
    }
}

/// Looks `key` up for writing: None when missing.
fn write_sorted_set<'a>(core: &'a mut ShardCore, key: &[u8]) -> Result<Option<&'a mut SortedSetValue>, CommandError> {
    let now_ms = core.now_ms;
    match core.keyspace.lookup_mut(key, now_ms) {
        None => Ok(None),
        Some(record) => sorted_set_of_mut(&mut record.value).map(Some),
    }
}

/// Stores `entries` (ascending, distinct members) under `destination`, or
/// deletes it when there are none, as Redis's STORE commands do (the TTL is
/// dropped). Replies with the number of elements stored.
fn store_entries(core: &mut ShardCore, destination: &[u8], entries: Vec<Entry>) -> Frame {
    if entries.is_empty() {
        core.keyspace.remove(destination);
        return Frame::Integer(0);
    }
    let count = entries.len();
    let value = SortedSetValue::from_sorted_entries(listpack_limits(core), entries);
    let now_ms = core.now_ms;
    core.keyspace
        .set(destination, Value::SortedSet(Box::new(value)), false, now_ms);
    Frame::Integer(count as i64)
}

fn member_frame(member: &[u8]) -> Frame {
    Frame::BulkString(Bytes::copy_from_slice(member))
}

/// Members, or member/score pairs with `with_scores`, in iteration order.
fn entries_reply<'a>(entries: impl Iterator<Item = &'a Entry>, with_scores: bool) -> Frame {
    if with_scores {
        Frame::Pairs(
            entries
                .map(|entry| (member_frame(&entry.member), Frame::Double(entry.score)))
                .collect(),
        )
    } else {
        Frame::Array(entries.map(|entry| member_frame(&entry.member)).collect())
    }
}

/// Redis's normalisation of `start stop` rank arguments (negative counts
/// from the end) into ascending ranks `start..end`; None when empty.
fn rank_window(start: i64, stop: i64, length: usize) -> Option<(usize, usize)> {
    let length = length as i64;
    let mut start = if start < 0 { length + start } else { start };
    let mut stop = if stop < 0 { length + stop } else { stop };
    if start < 0 {
        start = 0;
    }
    if start > stop || start >= length {
        return None;
    }
    if stop >= length {
        stop = length - 1;
    }
    Some((start as usize, stop as usize + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(items: &[&str]) -> Vec<Bytes> {
        items
            .iter()
            .map(|item| Bytes::copy_from_slice(item.as_bytes()))
            .collect()
    }

    #[test]
    fn key_finders_return_every_key_and_survive_bad_numkeys() {
        assert_eq!(
            destination_and_keys_after_numkeys_at_2(&args(&["zunionstore", "d", "2", "a", "b", "WEIGHTS", "1", "2"])),
            [1, 3, 4]
        );
        assert_eq!(
            destination_and_keys_after_numkeys_at_2(&args(&["zunionstore", "d", "9", "a"])),
            [1, 3]
        );
        assert_eq!(
            destination_and_keys_after_numkeys_at_2(&args(&["zunionstore", "d", "x", "a"])),
            [1]
        );
        assert_eq!(
            keys_after_numkeys_at_1(&args(&["zunion", "-1", "a"])),
            Vec::<usize>::new()
        );
        assert_eq!(keys_after_numkeys_at_1(&args(&["zmpop", "2", "a", "b", "MIN"])), [2, 3]);
    }

    #[test]
    fn rank_windows_follow_redis() {
        assert_eq!(rank_window(0, -1, 5), Some((0, 5)));
        assert_eq!(rank_window(-2, -1, 5), Some((3, 5)));
        assert_eq!(rank_window(-100, 1, 5), Some((0, 2)));
        assert_eq!(rank_window(3, 100, 5), Some((3, 5)));
        assert_eq!(rank_window(5, 10, 5), None);
        assert_eq!(rank_window(2, 1, 5), None);
        assert_eq!(rank_window(i64::MIN, i64::MAX, 5), Some((0, 5)));
        assert_eq!(rank_window(0, -1, 0), None);
    }
}
