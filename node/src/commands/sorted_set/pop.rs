//! ZPOPMIN, ZPOPMAX and ZMPOP. The blocking BZPOPMIN, BZPOPMAX and BZMPOP
//! (written with the other blocking commands) share `pop_from_sorted_set`,
//! and BZMPOP also `parse_mpop` and `mpop_reply`.

use bytes::Bytes;
use starling_protocol::Frame;

use super::write_sorted_set;
use crate::commands::args::{integer, is_keyword};
use crate::commands::error::{CommandError, CommandResult};
use crate::keyspace::sorted_set::SortedSetValue;
use crate::shard::ShardCore;

/// Pops up to `count` elements with the lowest scores (or the highest when
/// `pop_max`), lowest first (highest first), deleting the key when it
/// empties. For ZPOPMIN/ZPOPMAX/ZMPOP and the blocking BZPOPMIN, BZPOPMAX and
/// BZMPOP.
///
/// Outcomes: `Ok(None)` when the key is missing; `Err(WrongType)` when it holds
/// another type; otherwise `Ok(Some(popped))`, empty only when `count` is 0.
/// O(log n + count).
pub fn pop_from_sorted_set(
    core: &mut ShardCore,
    key: &[u8],
    pop_max: bool,
    count: usize,
) -> Result<Option<Vec<(Bytes, f64)>>, CommandError> {
    let Some(sorted_set) = write_sorted_set(core, key)? else {
        return Ok(None);
    };
    let popped = pop_entries(sorted_set, pop_max, count);
    if sorted_set.is_empty() {
        core.keyspace.remove(key);
    }
    Ok(Some(popped))
}

/// Removes and returns up to `count` elements from one end, the end's
/// element first.
fn pop_entries(sorted_set: &mut SortedSetValue, pop_max: bool, count: usize) -> Vec<(Bytes, f64)> {
    let length = sorted_set.len();
    let count = count.min(length);
    let (start, end) = if pop_max { (length - count, length) } else { (0, count) };
    let mut popped = Vec::with_capacity(count);
    sorted_set.remove_range(start, end, |entry| {
        popped.push((Bytes::copy_from_slice(&entry.member), entry.score));
    });
    if pop_max {
        popped.reverse();
    }
    popped
}

/// `ZPOPMIN key [count]`
pub(super) fn zpopmin(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    pop_min_max(core, args, false)
}

/// `ZPOPMAX key [count]`
pub(super) fn zpopmax(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    pop_min_max(core, args, true)
}

/// Without a count the reply is one flat `[member, score]`; with one it is
/// pairs (nested in RESP3), as Redis's `zpopMinMaxCommand` replies.
fn pop_min_max(core: &mut ShardCore, args: &[Bytes], pop_max: bool) -> CommandResult {
    if args.len() > 3 {
        return Err(CommandError::Syntax);
    }
    let count_opt = match args.get(2) {
        None => None,
        Some(argument) => {
            let count = integer(argument)?;
            if count < 0 {
                return Err(CommandError::other("ERR value is out of range, must be positive"));
            }
            Some(count)
        }
    };
    let count = count_opt.map_or(1, |count| usize::try_from(count).unwrap_or(usize::MAX));
    let Some(popped) = pop_from_sorted_set(core, &args[1], pop_max, count)? else {
        return Ok(Frame::Array(Vec::new()));
    };
    if count_opt.is_none() {
        let elements = popped
            .into_iter()
            .flat_map(|(member, score)| [Frame::BulkString(member), Frame::Double(score)])
            .collect();
        return Ok(Frame::Array(elements));
    }
    Ok(Frame::Pairs(
        popped
            .into_iter()
            .map(|(member, score)| (Frame::BulkString(member), Frame::Double(score)))
            .collect(),
    ))
}

/// `ZMPOP numkeys key [key ...] MIN | MAX [COUNT count]`
///
/// Pops from the first key that holds a sorted set; a key of another type
/// before it is WRONGTYPE. Reply `[key, [[member, score], ...]]`, or a nil
/// array when every key is missing.
pub(super) fn zmpop(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let request = parse_mpop(args, 1)?;
    for key in request.keys {
        let Some(popped) = pop_from_sorted_set(core, key, request.pop_max, request.count)? else {
            continue;
        };
        return Ok(mpop_reply(key, popped));
    }
    Ok(Frame::NullArray)
}

/// A parsed `numkeys key... MIN|MAX [COUNT count]`, shared with BZMPOP.
pub struct MultiPopRequest<'a> {
    pub keys: &'a [Bytes],
    pub pop_max: bool,
    pub count: usize,
}

/// Parses `numkeys key [key ...] MIN | MAX [COUNT count]` starting at
/// `args[numkeys_index]`, with Redis's `zmpopGenericCommand` errors.
pub fn parse_mpop(args: &[Bytes], numkeys_index: usize) -> Result<MultiPopRequest<'_>, CommandError> {
    let numkeys = integer(&args[numkeys_index])?;
    if numkeys < 1 {
        return Err(CommandError::other("ERR numkeys should be greater than 0"));
    }
    let where_index = (numkeys as u64)
        .checked_add(numkeys_index as u64 + 1)
        .filter(|&index| index < args.len() as u64)
        .ok_or(CommandError::Syntax)? as usize;
    let pop_max = if is_keyword(&args[where_index], "MIN") {
        false
    } else if is_keyword(&args[where_index], "MAX") {
        true
    } else {
        return Err(CommandError::Syntax);
    };
    let mut count_opt = None;
    let mut index = where_index + 1;
    while index < args.len() {
        let has_argument = index + 1 < args.len();
        if count_opt.is_none() && has_argument && is_keyword(&args[index], "COUNT") {
            let count = integer(&args[index + 1])?;
            if count < 1 {
                return Err(CommandError::other("ERR count should be greater than 0"));
            }
            count_opt = Some(usize::try_from(count).unwrap_or(usize::MAX));
            index += 2;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    Ok(MultiPopRequest {
        keys: &args[numkeys_index + 1..where_index],
        pop_max,
        count: count_opt.unwrap_or(1),
    })
}

/// `[key, [[member, score], ...]]`: nested in RESP2 too.
pub fn mpop_reply(key: &Bytes, popped: Vec<(Bytes, f64)>) -> Frame {
    let elements = popped
        .into_iter()
        .map(|(member, score)| Frame::Array(vec![Frame::BulkString(member), Frame::Double(score)]))
        .collect();
    Frame::Array(vec![Frame::BulkString(key.clone()), Frame::Array(elements)])
}
