//! Set commands: SADD, SREM, SISMEMBER, SMISMEMBER, SMEMBERS, SCARD, SPOP,
//! SRANDMEMBER, SMOVE, the algebra (SINTER, SINTERCARD, SINTERSTORE, SUNION,
//! SUNIONSTORE, SDIFF, SDIFFSTORE) and SSCAN.
//!
//! Rules shared by the family, as Redis 7.2 has them:
//! - a key of another type gives WRONGTYPE (`set_of` decides); a command
//!   reading several keys checks all of them before doing anything, a
//!   missing key being an empty set;
//! - a set that loses its last member is deleted;
//! - the *STORE commands replace the destination whatever its type and drop
//!   its TTL; an empty result deletes it;
//! - SMEMBERS, SINTER, SUNION, SDIFF and SPOP with a count reply with a RESP3
//!   set; SRANDMEMBER with a count and SSCAN with arrays.
//!
//! Encodings and their conversions live in `keyspace::set`; the thresholds
//! are read from the runtime config on every write that may convert.
//!
//! Multi-key commands (SMOVE, SINTER*, SUNION*, SDIFF*) whose keys live on
//! several shards run through `staged::run_staged`: these functions are
//! written for one shard only.

use std::ops::ControlFlow;

use bytes::Bytes;
use starling_protocol::Frame;

use super::args::{integer, is_keyword, parse_i64};
use super::error::{CommandError, CommandResult};
use super::keys::parse_scan_cursor;
use super::random_reply::{bulk_reply_bytes, ReplyBudget, SMALLEST_BULK_REPLY_BYTES};
use super::table::{CommandSpec, Flags, Handler};
use crate::glob;
use crate::keyspace::set::{Member, SetLimits, SetValue};
use crate::keyspace::{Record, Value};
use crate::shard::ShardCore;

pub fn commands() -> Vec<CommandSpec> {
    const READ_FAST: &[&str] = &["@read", "@set", "@fast"];
    const READ_SLOW: &[&str] = &["@read", "@set", "@slow"];
    const WRITE_FAST: &[&str] = &["@write", "@set", "@fast"];
    const WRITE_SLOW: &[&str] = &["@write", "@set", "@slow"];
    vec![
        CommandSpec::new("sadd", -3, Handler::Shard(sadd))
            .member_at(2)
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc("set", "1.0.0", "Adds one or more members to a set. Creates the key if it doesn't exist."),
        CommandSpec::new("srem", -3, Handler::Shard(srem))
            .member_at(2)
            .flags(Flags::WRITE | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc(
                "set",
                "1.0.0",
                "Removes one or more members from a set. Deletes the set if the last member was removed.",
            ),
        CommandSpec::new("sismember", 3, Handler::Shard(sismember))
            .member_at(2)
            .flags(Flags::READONLY | Flags::FAST)
            .keys(1, 1, 1)
            .acl(READ_FAST)
            .doc("set", "1.0.0", "Determines whether a member belongs to a set."),
        CommandSpec::new("smismember", -3, Handler::Shard(smismember))
            .member_at(2)
            .flags(Flags::READONLY | Flags::FAST)
            .keys(1, 1, 1)
            .acl(READ_FAST)
            .doc("set", "6.2.0", "Determines whether multiple members belong to a set."),
        CommandSpec::new("smembers", 2, Handler::Shard(smembers))
            .flags(Flags::READONLY)
            .keys(1, 1, 1)
            .acl(READ_SLOW)
            .doc("set", "1.0.0", "Returns all members of a set."),
        CommandSpec::new("scard", 2, Handler::Shard(scard))
            .flags(Flags::READONLY | Flags::FAST)
            .keys(1, 1, 1)
            .acl(READ_FAST)
            .doc("set", "1.0.0", "Returns the number of members in a set."),
        CommandSpec::new("spop", -2, Handler::Shard(spop))
            .flags(Flags::WRITE | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc(
                "set",
                "1.0.0",
                "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.",
            ),
        CommandSpec::new("srandmember", -2, Handler::Shard(srandmember))
            .flags(Flags::READONLY)
            .keys(1, 1, 1)
            .acl(READ_SLOW)
            .doc("set", "1.0.0", "Get one or multiple random members from a set"),
        CommandSpec::new("smove", 4, Handler::Shard(smove))
            .flags(Flags::WRITE | Flags::FAST)
            .keys(1, 2, 1)
            .acl(WRITE_FAST)
            .doc("set", "1.0.0", "Moves a member from one set to another."),
        CommandSpec::new("sinter", -2, Handler::Shard(sinter))
            .flags(Flags::READONLY)
            .keys(1, -1, 1)
            .acl(READ_SLOW)
            .doc("set", "1.0.0", "Returns the intersect of multiple sets."),
        CommandSpec::new("sintercard", -3, Handler::Shard(sintercard))
            .flags(Flags::READONLY)
            .key_finder(sintercard_key_positions)
            .acl(READ_SLOW)
            .doc("set", "7.0.0", "Returns the number of members of the intersect of multiple sets."),
        CommandSpec::new("sinterstore", -3, Handler::Shard(sinterstore))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, -1, 1)
            .acl(WRITE_SLOW)
            .doc("set", "1.0.0", "Stores the intersect of multiple sets in a key."),
        CommandSpec::new("sunion", -2, Handler::Shard(sunion))
            .flags(Flags::READONLY)
            .keys(1, -1, 1)
            .acl(READ_SLOW)
            .doc("set", "1.0.0", "Returns the union of multiple sets."),
        CommandSpec::new("sunionstore", -3, Handler::Shard(sunionstore))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, -1, 1)
            .acl(WRITE_SLOW)
            .doc("set", "1.0.0", "Stores the union of multiple sets in a key."),
        CommandSpec::new("sdiff", -2, Handler::Shard(sdiff))
            .flags(Flags::READONLY)
            .keys(1, -1, 1)
            .acl(READ_SLOW)
            .doc("set", "1.0.0", "Returns the difference of multiple sets."),
        CommandSpec::new("sdiffstore", -3, Handler::Shard(sdiffstore))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, -1, 1)
            .acl(WRITE_SLOW)
            .doc("set", "1.0.0", "Stores the difference of multiple sets in a key."),
        CommandSpec::new("sscan", -3, Handler::Shard(sscan))
            .flags(Flags::READONLY)
            .keys(1, 1, 1)
            .acl(READ_SLOW)
            .doc("set", "2.8.0", "Iterates over members of a set."),
    ]
}

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// The set a record holds, or WRONGTYPE for any other type.
fn set_of(record: &Record) -> Result<&SetValue, CommandError> {
    match &record.value {
        Value::Set(set) => Ok(set),
        _ => Err(CommandError::WrongType),
    }
}

/// The set a record holds, for changing in place, or WRONGTYPE.
fn set_of_mut(record: &mut Record) -> Result<&mut SetValue, CommandError> {
    match &mut record.value {
        Value::Set(set) => Ok(set),
        _ => Err(CommandError::WrongType),
    }
}

/// Redis's read lookup plus type check: the key's set, None if the key does
/// not exist, WRONGTYPE for another type.
fn read_set<'core>(core: &'core mut ShardCore, key: &[u8]) -> Result<Option<&'core SetValue>, CommandError> {
    match core.keyspace.lookup_read(key, core.now_ms) {
        None => Ok(None),
        Some(record) => set_of(record).map(Some),
    }
}

/// The sets of several keys at once, in argument order, None for a missing
/// key. Every key is looked up first (expiry, hit counting, access clock),
/// and every type checked, before any is read.
fn read_sets<'core>(core: &'core mut ShardCore, keys: &[Bytes]) -> Result<Vec<Option<&'core SetValue>>, CommandError> {
    let now_ms = core.now_ms;
    for key in keys {
        if let Some(record) = core.keyspace.lookup_read(key, now_ms) {
            set_of(record)?;
        }
    }
    let keyspace = &core.keyspace;
    keys.iter()
        .map(|key| match keyspace.get(key, now_ms) {
            Some(record) => set_of(record).map(Some),
            None => Ok(None),
        })
        .collect()
}

/// The encoding thresholds in force.
pub(crate) fn set_limits(core: &ShardCore) -> SetLimits {
    let encoding = core.config.load().encoding;
    SetLimits {
        max_intset_entries: encoding.set_max_intset_entries,
        max_listpack_entries: encoding.set_max_listpack_entries,
        max_listpack_value_bytes: encoding.set_max_listpack_value,
    }
}

fn member_frame(member: Member<'_>) -> Frame {
    member.with_bytes(Frame::bulk_from_slice)
}

/// Every member of `set` as bulk strings.
fn member_frames(set: &SetValue) -> Vec<Frame> {
    set.iter().map(member_frame).collect()
}

/// Stores a computed set in `destination` as Redis's `setKey` does (any old
/// value and its TTL go), or deletes `destination` when the set is empty.
/// Replies with the set's size.
fn store_result(core: &mut ShardCore, destination: &[u8], result: SetValue) -> Frame {
    let size = result.len();
    if size == 0 {
        core.keyspace.remove(destination);
    } else {
        core.keyspace
            .set(destination, Value::Set(Box::new(result)), false, core.now_ms);
    }
    Frame::Integer(size as i64)
}

// ---------------------------------------------------------------------------
// Single-set commands
// ---------------------------------------------------------------------------

/// `SADD key member [member ...]`
fn sadd(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let members = &args[2..];
    let limits = set_limits(core);
    let now_ms = core.now_ms;
    if let Some(record) = core.keyspace.lookup_mut(key, now_ms) {
        let set = set_of_mut(record)?;
        set.prepare_for_additions(members.len(), limits);
        return Ok(Frame::Integer(insert_all(set, members, limits)));
    }
    let mut set = SetValue::for_first_member(&members[0], members.len(), limits);
    let added = insert_all(&mut set, members, limits);
    core.keyspace.set(key, Value::Set(Box::new(set)), false, now_ms);
    Ok(Frame::Integer(added))
}

/// Adds every member; returns how many were new.
fn insert_all(set: &mut SetValue, members: &[Bytes], limits: SetLimits) -> i64 {
    let mut added = 0;
    for member in members {
        if set.insert(member, limits) {
            added += 1;
        }
    }
    added
}

/// `SREM key member [member ...]`
fn srem(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let Some(record) = core.keyspace.lookup_mut(key, core.now_ms) else {
        return Ok(Frame::Integer(0));
    };
    let set = set_of_mut(record)?;
    let mut removed = 0;
    for member in &args[2..] {
        if set.remove(member) {
            removed += 1;
            if set.is_empty() {
                break;
            }
        }
    }
    if set.is_empty() {
        core.keyspace.remove(key);
    }
    Ok(Frame::Integer(removed))
}

/// `SISMEMBER key member`
fn sismember(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let is_member = read_set(core, &args[1])?.is_some_and(|set| set.contains(&args[2]));
    Ok(Frame::Integer(is_member as i64))
}

/// `SMISMEMBER key member [member ...]`
fn smismember(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let set = read_set(core, &args[1])?;
    let replies = args[2..]
        .iter()
        .map(|member| Frame::Integer(set.is_some_and(|set| set.contains(member)) as i64))
        .collect();
    Ok(Frame::Array(replies))
}

/// `SMEMBERS key`
fn smembers(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let members = read_set(core, &args[1])?.map(member_frames).unwrap_or_default();
    Ok(Frame::Set(members))
}

/// `SCARD key`
fn scard(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let size = read_set(core, &args[1])?.map_or(0, SetValue::len);
    Ok(Frame::Integer(size as i64))
}

/// `SPOP key [count]`
fn spop(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    match args.len() {
        2 => spop_one(core, &args[1]),
        3 => spop_count(core, &args[1], &args[2]),
        _ => Err(CommandError::Syntax),
    }
}

/// SPOP without a count: one member, or nil.
fn spop_one(core: &mut ShardCore, key: &[u8]) -> CommandResult {
    let Some(record) = core.keyspace.lookup_mut(key, core.now_ms) else {
        return Ok(Frame::Null);
    };
    let set = set_of_mut(record)?;
    let popped = set.pop_random();
    if set.is_empty() {
        core.keyspace.remove(key);
    }
    Ok(popped.map_or(Frame::Null, |member| Frame::bulk_from_slice(&member)))
}

/// SPOP with a count: up to `count` members, as a set. Asking for the whole
/// set or more takes the set without choosing and deletes the key.
fn spop_count(core: &mut ShardCore, key: &[u8], count: &[u8]) -> CommandResult {
    let count = match parse_i64(count) {
        Some(count) if count >= 0 => count as u64,
        _ => return Err(CommandError::other("ERR value is out of range, must be positive")),
    };
    let limits = set_limits(core);
    let Some(record) = core.keyspace.lookup_mut(key, core.now_ms) else {
        return Ok(Frame::Set(Vec::new()));
    };
    let set = set_of_mut(record)?;
    if count == 0 {
        return Ok(Frame::Set(Vec::new()));
    }
    if count >= set.len() as u64 {
        let Some((record, _)) = core.keyspace.remove(key) else {
            return Ok(Frame::Set(Vec::new()));
        };
        return Ok(Frame::Set(set_of(&record).map(member_frames)?));
    }
    // count < len, so the reply's size is bounded by the set's.
    let mut popped = Vec::with_capacity(count as usize);
    set.pop_random_many(count as usize, limits, |member| popped.push(member_frame(member)));
    Ok(Frame::Set(popped))
}

/// `SRANDMEMBER key [count]`
fn srandmember(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    match args.len() {
        2 => {
            let member = read_set(core, &args[1])?.and_then(|set| set.with_random_member(member_frame));
            Ok(member.unwrap_or(Frame::Null))
        }
        3 => srandmember_count(core, &args[1], &args[2]),
        _ => Err(CommandError::Syntax),
    }
}

/// SRANDMEMBER with a count: `count` distinct members (the whole set if it
/// has no more), or with a negative count `-count` members with repetition.
fn srandmember_count(core: &mut ShardCore, key: &[u8], count: &[u8]) -> CommandResult {
    let count = integer(count)?;
    // Redis 7.2 refuses i64::MIN, whose magnitude does not fit an i64.
    if count == i64::MIN {
        return Err(CommandError::other(format!(
            "ERR value is out of range, value must between {} and {}",
            -i64::MAX,
            i64::MAX
        )));
    }
    let budget = ReplyBudget::from_config(&core.config.load());
    let Some(set) = read_set(core, key)? else {
        return Ok(Frame::Array(Vec::new()));
    };
    if count == 0 {
        return Ok(Frame::Array(Vec::new()));
    }
    if count < 0 {
        return random_members_with_repetition(set, count.unsigned_abs(), budget);
    }
    let count = count as u64;
    if count >= set.len() as u64 {
        return Ok(Frame::Array(member_frames(set)));
    }
    let mut picked = Vec::with_capacity(count as usize);
    set.random_distinct(count as usize, |member| picked.push(member_frame(member)));
    Ok(Frame::Array(picked))
}

fn random_members_with_repetition(set: &SetValue, count: u64, mut budget: ReplyBudget) -> CommandResult {
    budget.admit(count, SMALLEST_BULK_REPLY_BYTES)?;
    // Preallocate no more than the set holds; past that the reply grows as
    // it is built, within the budget.
    let mut picked = Vec::with_capacity((count as usize).min(set.len()));
    let mut within_budget = true;
    set.random_with_repetition(count, |member| {
        within_budget = budget.charge(bulk_reply_bytes(member.len_bytes()));
        if !within_budget {
            return ControlFlow::Break(());
        }
        picked.push(member_frame(member));
        ControlFlow::Continue(())
    });
    if !within_budget {
        return Err(budget.exceeded());
    }
    debug_assert_eq!(picked.len() as u64, count);
    Ok(Frame::Array(picked))
}

// ---------------------------------------------------------------------------
// SMOVE
// ---------------------------------------------------------------------------

/// `SMOVE source destination member`
fn smove(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let (source, destination, member) = (&args[1], &args[2], &args[3]);
    let now_ms = core.now_ms;
    let Some(source_record) = core.keyspace.lookup_mut(source, now_ms) else {
        return Ok(Frame::Integer(0));
    };
    let source_set = set_of(source_record)?;
    if source == destination {
        return Ok(Frame::Integer(source_set.contains(member) as i64));
    }
    if let Some(destination_record) = core.keyspace.lookup_mut(destination, now_ms) {
        set_of(destination_record)?;
    }
    let Some(source_record) = core.keyspace.lookup_mut(source, now_ms) else {
        return Ok(Frame::Integer(0));
    };
    let source_set = set_of_mut(source_record)?;
    if !source_set.remove(member) {
        return Ok(Frame::Integer(0));
    }
    if source_set.is_empty() {
        core.keyspace.remove(source);
    }
    let limits = set_limits(core);
    match core.keyspace.lookup_mut(destination, now_ms) {
        Some(destination_record) => {
            set_of_mut(destination_record)?.insert(member, limits);
        }
        None => {
            let mut set = SetValue::for_first_member(member, 1, limits);
            set.insert(member, limits);
            core.keyspace.set(destination, Value::Set(Box::new(set)), false, now_ms);
        }
    }
    Ok(Frame::Integer(1))
}

// ---------------------------------------------------------------------------
// Intersection
// ---------------------------------------------------------------------------

/// Calls `visit` with every member of the intersection of `sets` (all
/// present), walking the smallest and probing the others, until `visit`
/// breaks.
fn for_each_common_member<'set>(sets: &[&'set SetValue], mut visit: impl FnMut(Member<'set>) -> ControlFlow<()>) {
    let Some(smallest_index) = (0..sets.len()).min_by_key(|&index| sets[index].len()) else {
        return;
    };
    let smallest = sets[smallest_index];
    let mut others: Vec<&SetValue> = sets
        .iter()
        .enumerate()
        .filter(|&(index, set)| index != smallest_index && !std::ptr::eq(*set, smallest))
        .map(|(_, set)| *set)
        .collect();
    // Probing the smaller sets first rejects a member sooner.
    others.sort_by_key(|set| set.len());
    for member in smallest.iter() {
        if others.iter().all(|set| set.contains_member(member)) && visit(member).is_break() {
            return;
        }
    }
}

/// The sets when every key holds one; None as soon as one is missing (an
/// empty intersection).
fn all_present<'set>(sets: &[Option<&'set SetValue>]) -> Option<Vec<&'set SetValue>> {
    sets.iter().copied().collect()
}

/// `SINTER key [key ...]`
fn sinter(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let sets = read_sets(core, &args[1..])?;
    let Some(sets) = all_present(&sets) else {
        return Ok(Frame::Set(Vec::new()));
    };
    let mut members = Vec::new();
    for_each_common_member(&sets, |member| {
        members.push(member_frame(member));
        ControlFlow::Continue(())
    });
    Ok(Frame::Set(members))
}

/// Positions of SINTERCARD's keys: `numkeys` of them after it. An invalid
/// `numkeys` gives none, and the command itself then replies the error.
fn sintercard_key_positions(args: &[Bytes]) -> Vec<usize> {
    let key_count = match args.get(1).and_then(|numkeys| parse_i64(numkeys)) {
        Some(key_count) if key_count >= 1 => key_count as u64,
        _ => return Vec::new(),
    };
    let available = args.len().saturating_sub(2) as u64;
    if key_count > available {
        return Vec::new();
    }
    (2..2 + key_count as usize).collect()
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`
fn sintercard(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let key_count = match parse_i64(&args[1]) {
        Some(key_count) if key_count >= 1 => key_count as u64,
        _ => return Err(CommandError::other("ERR numkeys should be greater than 0")),
    };
    if key_count > (args.len() - 2) as u64 {
        return Err(CommandError::other(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let keys_end = 2 + key_count as usize;
    // 0 means no limit.
    let mut limit: u64 = 0;
    let mut index = keys_end;
    while index < args.len() {
        if is_keyword(&args[index], "LIMIT") && index + 1 < args.len() {
            limit = match parse_i64(&args[index + 1]) {
                Some(value) if value >= 0 => value as u64,
                _ => return Err(CommandError::other("ERR LIMIT can't be negative")),
            };
            index += 2;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    let sets = read_sets(core, &args[2..keys_end])?;
    let Some(sets) = all_present(&sets) else {
        return Ok(Frame::Integer(0));
    };
    let mut cardinality: u64 = 0;
    for_each_common_member(&sets, |_| {
        cardinality += 1;
        if limit != 0 && cardinality >= limit {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    Ok(Frame::Integer(cardinality as i64))
}

/// `SINTERSTORE destination key [key ...]`
///
/// The result is built as Redis builds it: in an intset when the smallest
/// source is one, else in a listpack, converting as members arrive; a
/// result of integers only then becomes an intset if it is small enough.
fn sinterstore(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let limits = set_limits(core);
    let sets = read_sets(core, &args[2..])?;
    let Some(sets) = all_present(&sets) else {
        core.keyspace.remove(&args[1]);
        return Ok(Frame::Integer(0));
    };
    let smallest_is_intset = sets
        .iter()
        .min_by_key(|set| set.len())
        .is_some_and(|set| set.encoding_name() == "intset");
    let mut result = if smallest_is_intset {
        SetValue::new_intset()
    } else {
        SetValue::new_listpack()
    };
    for_each_common_member(&sets, |member| {
        result.insert_member(member, limits);
        ControlFlow::Continue(())
    });
    result.convert_to_intset_if_possible(limits);
    Ok(store_result(core, &args[1], result))
}

// ---------------------------------------------------------------------------
// Union and difference
// ---------------------------------------------------------------------------

/// The union of the present sets, built from an empty intset as Redis
/// builds it, so that the result takes the encoding its members call for.
fn union_of(sets: &[Option<&SetValue>], limits: SetLimits) -> SetValue {
    let mut result = SetValue::new_intset();
    for set in sets.iter().flatten() {
        for member in set.iter() {
            result.insert_member(member, limits);
        }
    }
    result
}

/// The members of the first set that no other set holds. Like Redis, picks
/// between probing the others for each member of the first set (about
/// first × sets lookups) and copying the first then removing every other
/// set's members (about the total size), whichever costs less.
fn difference_of(sets: &[Option<&SetValue>], keys: &[Bytes], limits: SetLimits) -> SetValue {
    let mut result = SetValue::new_intset();
    let Some(first) = sets[0] else {
        return result;
    };
    // A key repeated after the first subtracts the first from itself.
    if keys[1..].contains(&keys[0]) {
        return result;
    }
    let others: Vec<&SetValue> = sets[1..].iter().flatten().copied().collect();
    let probe_work = (first.len() as u64 * (others.len() as u64 + 1)) / 2;
    let copy_work = first.len() as u64 + others.iter().map(|set| set.len() as u64).sum::<u64>();
    if probe_work <= copy_work {
        let mut others = others;
        // Larger sets first: a common member is likelier found early.
        others.sort_by_key(|set| std::cmp::Reverse(set.len()));
        for member in first.iter() {
            if !others.iter().any(|set| set.contains_member(member)) {
                result.insert_member(member, limits);
            }
        }
        return result;
    }
    for member in first.iter() {
        result.insert_member(member, limits);
    }
    for set in others {
        if result.is_empty() {
            break;
        }
        for member in set.iter() {
            member.with_bytes(|bytes| result.remove(bytes));
        }
    }
    result
}

/// `SUNION key [key ...]`
fn sunion(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let limits = set_limits(core);
    let sets = read_sets(core, &args[1..])?;
    Ok(Frame::Set(member_frames(&union_of(&sets, limits))))
}

/// `SUNIONSTORE destination key [key ...]`
fn sunionstore(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let limits = set_limits(core);
    let sets = read_sets(core, &args[2..])?;
    let result = union_of(&sets, limits);
    Ok(store_result(core, &args[1], result))
}

/// `SDIFF key [key ...]`
fn sdiff(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let limits = set_limits(core);
    let keys = &args[1..];
    let sets = read_sets(core, keys)?;
    Ok(Frame::Set(member_frames(&difference_of(&sets, keys, limits))))
}

/// `SDIFFSTORE destination key [key ...]`
fn sdiffstore(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let limits = set_limits(core);
    let keys = &args[2..];
    let sets = read_sets(core, keys)?;
    let result = difference_of(&sets, keys, limits);
    Ok(store_result(core, &args[1], result))
}

// ---------------------------------------------------------------------------
// SSCAN
// ---------------------------------------------------------------------------

/// `SSCAN key cursor [MATCH pattern] [COUNT count]`
///
/// As Redis: the cursor is checked first, then the key (a missing key is an
/// empty, finished scan, whatever the options), then the options. A compact
/// set returns every member at once with cursor 0; a hashtable visits
/// buckets until COUNT members matched or COUNT × 10 buckets were visited.
fn sscan(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let cursor = parse_scan_cursor(&args[2]).ok_or_else(|| CommandError::other("ERR invalid cursor"))?;
    let Some(set) = read_set(core, &args[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let (count, pattern) = parse_sscan_options(&args[3..])?;
    let mut members = Vec::new();
    let mut next_cursor = cursor;
    let mut buckets_left = count.saturating_mul(10);
    loop {
        next_cursor = set.scan(next_cursor, |member| {
            member.with_bytes(|bytes| {
                if pattern.is_none_or(|pattern| glob::matches(pattern, bytes, false)) {
                    members.push(Frame::bulk_from_slice(bytes));
                }
            })
        });
        if next_cursor == 0 || buckets_left == 0 || members.len() >= count {
            break;
        }
        buckets_left -= 1;
    }
    Ok(scan_reply(next_cursor, members))
}

/// `[COUNT count] [MATCH pattern]` in any order: (count, pattern), the
/// pattern None when it matches everything.
fn parse_sscan_options(options: &[Bytes]) -> Result<(usize, Option<&[u8]>), CommandError> {
    let mut count = 10;
    let mut pattern = None;
    for pair in options.chunks(2) {
        let [option, argument] = pair else {
            return Err(CommandError::Syntax);
        };
        if is_keyword(option, "COUNT") {
            let value = integer(argument)?;
            if value < 1 {
                return Err(CommandError::Syntax);
            }
            count = usize::try_from(value).unwrap_or(usize::MAX);
        } else if is_keyword(option, "MATCH") {
            pattern = (argument.as_ref() != b"*").then_some(argument.as_ref());
        } else {
            return Err(CommandError::Syntax);
        }
    }
    Ok((count, pattern))
}

fn scan_reply(cursor: u64, members: Vec<Frame>) -> Frame {
    Frame::Array(vec![Frame::bulk(cursor.to_string()), Frame::Array(members)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &[&str]) -> Vec<Bytes> {
        text.iter().map(|arg| Bytes::copy_from_slice(arg.as_bytes())).collect()
    }

    #[test]
    fn sintercard_keys_follow_numkeys() {
        assert_eq!(
            sintercard_key_positions(&args(&["sintercard", "2", "a", "b"])),
            vec![2, 3]
        );
        assert_eq!(
            sintercard_key_positions(&args(&["sintercard", "1", "a", "LIMIT", "5"])),
            vec![2]
        );
        for invalid in [
            &["sintercard", "0", "a"][..],
            &["sintercard", "3", "a", "b"],
            &["sintercard", "x", "a"],
        ] {
            assert!(sintercard_key_positions(&args(invalid)).is_empty(), "{invalid:?}");
        }
    }

    #[test]
    fn sscan_options_follow_redis() {
        assert_eq!(parse_sscan_options(&args(&[])), Ok((10, None)));
        assert_eq!(
            parse_sscan_options(&args(&["count", "5", "MATCH", "a*"])),
            Ok((5, Some(&b"a*"[..])))
        );
        assert_eq!(parse_sscan_options(&args(&["MATCH", "*"])), Ok((10, None)));
        assert_eq!(parse_sscan_options(&args(&["COUNT", "0"])), Err(CommandError::Syntax));
        assert_eq!(
            parse_sscan_options(&args(&["COUNT", "x"])),
            Err(CommandError::NotInteger)
        );
        assert_eq!(parse_sscan_options(&args(&["COUNT"])), Err(CommandError::Syntax));
        assert_eq!(parse_sscan_options(&args(&["TYPE", "set"])), Err(CommandError::Syntax));
    }
}
