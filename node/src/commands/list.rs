//! List commands: pushes and pops at both ends, LRANGE and the other reads,
//! in-place edits (LSET, LINSERT, LREM, LTRIM), LPOS, the moves (LMOVE,
//! RPOPLPUSH) and LMPOP; `blocking` holds the blocking commands of lists and
//! sorted sets (BLPOP... BZMPOP).
//!
//! Rules shared by the family, as Redis 7.2 has them:
//! - a key of another type gives WRONGTYPE (`list_of` decides);
//! - a list that loses its last element is deleted; one that shrinks may go
//!   back to the listpack encoding (`finish_removal`);
//! - arguments are parsed before the key is looked up, except where Redis
//!   looks the key up first (LINDEX, LSET, LPOP's missing-key reply);
//! - the representation and its encoding rules live in `keyspace::list`.
//!
//! LMOVE, RPOPLPUSH and LMPOP may name keys on several shards: their key
//! specs cover every key, so the pipeline stages them when they span shards.

mod blocking;

use bytes::Bytes;
use starling_protocol::Frame;

use super::args::{integer, is_keyword, parse_i64};
use super::error::{CommandError, CommandResult};
use super::table::{CommandSpec, Flags, Handler};
use crate::keyspace::list::{ListEnd, ListLimits, ListValue};
use crate::keyspace::{Record, Value};
use crate::shard::ShardCore;

pub fn commands() -> Vec<CommandSpec> {
    const READ_FAST: &[&str] = &["@read", "@list", "@fast"];
    const READ_SLOW: &[&str] = &["@read", "@list", "@slow"];
    const WRITE_FAST: &[&str] = &["@write", "@list", "@fast"];
    const WRITE_SLOW: &[&str] = &["@write", "@list", "@slow"];
    let mut specs = vec![
        CommandSpec::new("lpush", -3, Handler::Shard(lpush))
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc("list", "1.0.0", "Prepends one or more elements to a list. Creates the key if it doesn't exist."),
        CommandSpec::new("rpush", -3, Handler::Shard(rpush))
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc("list", "1.0.0", "Appends one or more elements to a list. Creates the key if it doesn't exist."),
        CommandSpec::new("lpushx", -3, Handler::Shard(lpushx))
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc("list", "2.2.0", "Prepends one or more elements to a list only when the list exists."),
        CommandSpec::new("rpushx", -3, Handler::Shard(rpushx))
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc("list", "2.2.0", "Appends an element to a list only when the list exists."),
        CommandSpec::new("lpop", -2, Handler::Shard(lpop))
            .flags(Flags::WRITE | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc(
                "list",
                "1.0.0",
                "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.",
            ),
        CommandSpec::new("rpop", -2, Handler::Shard(rpop))
            .flags(Flags::WRITE | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc(
                "list",
                "1.0.0",
                "Returns and removes the last elements of the list. Deletes the list if the last element was popped.",
            ),
        CommandSpec::new("llen", 2, Handler::Shard(llen))
            .flags(Flags::READONLY | Flags::FAST)
            .keys(1, 1, 1)
            .acl(READ_FAST)
            .doc("list", "1.0.0", "Returns the length of a list."),
        CommandSpec::new("lrange", 4, Handler::Shard(lrange))
            .flags(Flags::READONLY)
            .keys(1, 1, 1)
            .acl(READ_SLOW)
            .doc("list", "1.0.0", "Returns a range of elements from a list."),
        CommandSpec::new("lindex", 3, Handler::Shard(lindex))
            .flags(Flags::READONLY)
            .keys(1, 1, 1)
            .acl(READ_SLOW)
            .doc("list", "1.0.0", "Returns an element from a list by its index."),
        CommandSpec::new("lset", 4, Handler::Shard(lset))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, 1, 1)
            .acl(WRITE_SLOW)
            .doc("list", "1.0.0", "Sets the value of an element in a list by its index."),
        CommandSpec::new("linsert", 5, Handler::Shard(linsert))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, 1, 1)
            .acl(WRITE_SLOW)
            .doc("list", "2.2.0", "Inserts an element before or after another element in a list."),
        CommandSpec::new("lrem", 4, Handler::Shard(lrem))
            .flags(Flags::WRITE)
            .keys(1, 1, 1)
            .acl(WRITE_SLOW)
            .doc(
                "list",
                "1.0.0",
                "Removes elements from a list. Deletes the list if the last element was removed.",
            ),
        CommandSpec::new("ltrim", 4, Handler::Shard(ltrim))
            .flags(Flags::WRITE)
            .keys(1, 1, 1)
            .acl(WRITE_SLOW)
            .doc(
                "list",
                "1.0.0",
                "Removes elements from both ends a list. Deletes the list if all elements were trimmed.",
            ),
        CommandSpec::new("lpos", -3, Handler::Shard(lpos))
            .flags(Flags::READONLY)
            .keys(1, 1, 1)
            .acl(READ_SLOW)
            .doc("list", "6.0.6", "Returns the index of matching elements in a list."),
        CommandSpec::new("lmove", 5, Handler::Shard(lmove))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, 2, 1)
            .acl(WRITE_SLOW)
            .doc(
                "list",
                "6.2.0",
                "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.",
            ),
        CommandSpec::new("rpoplpush", 3, Handler::Shard(rpoplpush))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, 2, 1)
            .acl(WRITE_SLOW)
            .doc(
                "list",
                "1.2.0",
                "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.",
            ),
        CommandSpec::new("lmpop", -4, Handler::Shard(lmpop))
            .flags(Flags::WRITE)
            .key_finder(lmpop_keys)
            .acl(WRITE_SLOW)
            .doc(
                "list",
                "7.0.0",
                "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.",
            ),
    ];
    specs.extend(blocking::commands());
    specs
}

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// The `list-max-listpack-size` in force.
pub(crate) fn list_limits(core: &ShardCore) -> ListLimits {
    ListLimits::new(core.config.load().encoding.list_max_listpack_size)
}

/// The list a record holds, or WRONGTYPE for any other type.
fn list_of(record: &Record) -> Result<&ListValue, CommandError> {
    match &record.value {
        Value::List(list) => Ok(list),
        _ => Err(CommandError::WrongType),
    }
}

fn list_of_mut(record: &mut Record) -> Result<&mut ListValue, CommandError> {
    match &mut record.value {
        Value::List(list) => Ok(list),
        _ => Err(CommandError::WrongType),
    }
}

/// The list at `key` for reading (counts a hit or miss).
fn read_list<'a>(core: &'a mut ShardCore, key: &[u8]) -> Result<Option<&'a ListValue>, CommandError> {
    let now_ms = core.now_ms;
    core.keyspace
        .lookup_read(key, now_ms)
        .map(|record| list_of(record))
        .transpose()
}

/// The list at `key` for writing.
fn write_list<'a>(core: &'a mut ShardCore, key: &[u8]) -> Result<Option<&'a mut ListValue>, CommandError> {
    let now_ms = core.now_ms;
    core.keyspace.lookup_mut(key, now_ms).map(list_of_mut).transpose()
}

/// After elements were removed: true if the list is now empty (the caller
/// deletes the key); otherwise it may go back to the listpack encoding.
fn finish_removal(list: &mut ListValue, limits: ListLimits) -> bool {
    if list.is_empty() {
        return true;
    }
    list.shrink_if_small(limits);
    false
}

/// Redis's index rules: a negative index counts from the end.
fn absolute_index(index: i64, length: usize) -> Option<usize> {
    let index = if index < 0 { index + length as i64 } else { index };
    usize::try_from(index).ok().filter(|&index| index < length)
}

/// Redis's range rules (LRANGE, LTRIM): negative indexes count from the end,
/// the start is clamped at 0 and the end at the last element. None when the
/// range is empty; else the first index and the element count.
fn clamp_range(start: i64, stop: i64, length: usize) -> Option<(usize, usize)> {
    let length = length as i64;
    let start = if start < 0 {
        start.saturating_add(length).max(0)
    } else {
        start
    };
    let stop = if stop < 0 { stop.saturating_add(length) } else { stop };
    if start > stop || start >= length {
        return None;
    }
    let stop = stop.min(length - 1);
    Some((start as usize, (stop - start + 1) as usize))
}

fn bulk_frames(elements: Vec<Bytes>) -> Frame {
    Frame::Array(elements.into_iter().map(Frame::BulkString).collect())
}

/// Pops up to `count` elements (at least one) from the end of the list at
/// `key`, the end's element first. None if the key is missing; the key is
/// deleted when emptied. Used by the pops, LMPOP and the blocking pops.
pub(crate) fn pop_from_list(
    core: &mut ShardCore,
    key: &[u8],
    end: ListEnd,
    count: usize,
) -> Result<Option<Vec<Bytes>>, CommandError> {
    debug_assert!(count >= 1);
    let limits = list_limits(core);
    let Some(list) = write_list(core, key)? else {
        return Ok(None);
    };
    let popped = if count == 1 {
        vec![list.pop(end).expect("stored lists are never empty")]
    } else {
        let count = count.min(list.len());
        let start = match end {
            ListEnd::Left => 0,
            ListEnd::Right => list.len() - count,
        };
        let popped = match end {
            ListEnd::Left => list.range_bytes(0, count, false),
            ListEnd::Right => list.range_bytes(list.len() - 1, count, true),
        };
        list.remove_range(start, count);
        popped
    };
    if finish_removal(list, limits) {
        core.keyspace.remove(key);
    }
    Ok(Some(popped))
}

/// Pushes `elements` one by one at `end` of the list at `key`, creating it
/// unless `only_if_exists`. Returns the new length; None when the key is
/// missing and `only_if_exists`.
fn push_to_list(
    core: &mut ShardCore,
    key: &[u8],
    end: ListEnd,
    elements: &[Bytes],
    only_if_exists: bool,
) -> Result<Option<usize>, CommandError> {
    let limits = list_limits(core);
    let added_bytes = elements.iter().map(Bytes::len).sum();
    let now_ms = core.now_ms;
    if let Some(record) = core.keyspace.lookup_mut(key, now_ms) {
        let list = list_of_mut(record)?;
        list.prepare_for_growth(limits, added_bytes, elements.len());
        for element in elements {
            list.push(limits, end, element);
        }
        return Ok(Some(list.len()));
    }
    if only_if_exists {
        return Ok(None);
    }
    let mut list = ListValue::new();
    list.prepare_for_growth(limits, added_bytes, elements.len());
    for element in elements {
        list.push(limits, end, element);
    }
    let length = list.len();
    core.keyspace.set(key, Value::List(Box::new(list)), false, now_ms);
    Ok(Some(length))
}

// ---------------------------------------------------------------------------
// Pushes and pops
// ---------------------------------------------------------------------------

/// `LPUSH key element [element ...]`
fn lpush(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let length = push_to_list(core, &args[1], ListEnd::Left, &args[2..], false)?;
    Ok(Frame::integer(length.unwrap_or(0) as i64))
}

/// `RPUSH key element [element ...]`
fn rpush(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let length = push_to_list(core, &args[1], ListEnd::Right, &args[2..], false)?;
    Ok(Frame::integer(length.unwrap_or(0) as i64))
}

/// `LPUSHX key element [element ...]`
fn lpushx(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let length = push_to_list(core, &args[1], ListEnd::Left, &args[2..], true)?;
    Ok(Frame::integer(length.unwrap_or(0) as i64))
}

/// `RPUSHX key element [element ...]`
fn rpushx(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let length = push_to_list(core, &args[1], ListEnd::Right, &args[2..], true)?;
    Ok(Frame::integer(length.unwrap_or(0) as i64))
}

/// `LPOP key [count]`
fn lpop(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    pop_command(core, args, ListEnd::Left)
}

/// `RPOP key [count]`
fn rpop(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    pop_command(core, args, ListEnd::Right)
}

/// LPOP and RPOP: one element as a bulk string, or with a count an array
/// of up to `count` elements.
fn pop_command(core: &mut ShardCore, args: &[Bytes], end: ListEnd) -> CommandResult {
    if args.len() > 3 {
        let name = match end {
            ListEnd::Left => "lpop",
            ListEnd::Right => "rpop",
        };
        return Err(CommandError::WrongArity(name.to_string()));
    }
    let count_opt = match args.get(2) {
        None => None,
        Some(arg) => Some(
            parse_i64(arg)
                .filter(|&count| count >= 0)
                .ok_or_else(|| CommandError::other("ERR value is out of range, must be positive"))?,
        ),
    };
    match count_opt {
        None => match pop_from_list(core, &args[1], end, 1)? {
            None => Ok(Frame::Null),
            Some(popped) => Ok(Frame::BulkString(popped.into_iter().next().expect("one element"))),
        },
        Some(0) => match read_list(core, &args[1])? {
            None => Ok(Frame::NullArray),
            Some(_) => Ok(Frame::Array(Vec::new())),
        },
        Some(count) => match pop_from_list(core, &args[1], end, count as usize)? {
            None => Ok(Frame::NullArray),
            Some(popped) => Ok(bulk_frames(popped)),
        },
    }
}

// ---------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------

/// `LLEN key`
fn llen(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let length = read_list(core, &args[1])?.map_or(0, ListValue::len);
    Ok(Frame::integer(length as i64))
}

/// `LRANGE key start stop`
fn lrange(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let start = integer(&args[2])?;
    let stop = integer(&args[3])?;
    let Some(list) = read_list(core, &args[1])? else {
        return Ok(Frame::Array(Vec::new()));
    };
    let Some((first, count)) = clamp_range(start, stop, list.len()) else {
        return Ok(Frame::Array(Vec::new()));
    };
    Ok(Frame::Array(list.range_map(first, count, false, Frame::BulkString)))
}

/// `LINDEX key index`
fn lindex(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let Some(list) = read_list(core, &args[1])? else {
        return Ok(Frame::Null);
    };
    let index = integer(&args[2])?;
    match absolute_index(index, list.len()).and_then(|index| list.get(index)) {
        Some(element) => Ok(Frame::bulk_from_slice(element)),
        None => Ok(Frame::Null),
    }
}

/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`
fn lpos(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let options = LposOptions::parse(&args[3..])?;
    let element = &args[2];
    let Some(list) = read_list(core, &args[1])? else {
        return Ok(match options.count_opt {
            Some(_) => Frame::Array(Vec::new()),
            None => Frame::Null,
        });
    };
    let from_right = options.rank < 0;
    let rank = options.rank.unsigned_abs();
    let length = list.len();
    let elements = if from_right {
        list.iter_back_from(length.saturating_sub(1))
    } else {
        list.iter_from(0)
    };
    let scanned = if options.max_length == 0 {
        length
    } else {
        options.max_length.min(length)
    };
    let wanted = options.count_opt.filter(|&count| count > 0).unwrap_or(usize::MAX);
    let mut matches_seen = 0u64;
    let mut positions = Vec::new();
    for (scanned_index, candidate) in elements.take(scanned).enumerate() {
        if candidate != &element[..] {
            continue;
        }
        matches_seen += 1;
        if matches_seen < rank {
            continue;
        }
        let position = if from_right {
            length - 1 - scanned_index
        } else {
            scanned_index
        };
        positions.push(Frame::integer(position as i64));
        if options.count_opt.is_none() || positions.len() >= wanted {
            break;
        }
    }
    match options.count_opt {
        Some(_) => Ok(Frame::Array(positions)),
        None => Ok(positions.pop().unwrap_or(Frame::Null)),
    }
}

/// The options of LPOS.
struct LposOptions {
    rank: i64,
    /// COUNT; 0 means every match.
    count_opt: Option<usize>,
    /// MAXLEN; 0 means the whole list.
    max_length: usize,
}

impl LposOptions {
    fn parse(options: &[Bytes]) -> Result<LposOptions, CommandError> {
        let mut parsed = LposOptions {
            rank: 1,
            count_opt: None,
            max_length: 0,
        };
        let mut index = 0;
        while index < options.len() {
            let name = &options[index];
            let Some(value) = options.get(index + 1) else {
                return Err(CommandError::Syntax);
            };
            if is_keyword(name, "RANK") {
                let rank = integer(value)?;
                if rank == i64::MIN {
                    return Err(CommandError::other(
                        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                    ));
                }
                if rank == 0 {
                    return Err(CommandError::other(
                        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use \
                         negative to start from the end of the list",
                    ));
                }
                parsed.rank = rank;
            } else if is_keyword(name, "COUNT") {
                parsed.count_opt = Some(non_negative(value, "ERR COUNT can't be negative")?);
            } else if is_keyword(name, "MAXLEN") {
                parsed.max_length = non_negative(value, "ERR MAXLEN can't be negative")?;
            } else {
                return Err(CommandError::Syntax);
            }
            index += 2;
        }
        Ok(parsed)
    }
}

/// Redis's `getPositiveLongFromObjectOrReply` with a custom message: the
/// message for anything but a non-negative integer.
fn non_negative(arg: &[u8], message: &'static str) -> Result<usize, CommandError> {
    parse_i64(arg)
        .and_then(|value| usize::try_from(value).ok())
        .ok_or_else(|| CommandError::other(message))
}

// ---------------------------------------------------------------------------
// In-place edits
// ---------------------------------------------------------------------------

/// `LSET key index element`
fn lset(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let limits = list_limits(core);
    let Some(list) = write_list(core, &args[1])? else {
        return Err(CommandError::NoSuchKey);
    };
    let index = integer(&args[2])?;
    let element = &args[3];
    list.prepare_for_growth(limits, element.len(), 1);
    let Some(index) = absolute_index(index, list.len()) else {
        return Err(CommandError::other("ERR index out of range"));
    };
    list.set(limits, index, element);
    list.shrink_if_small(limits);
    Ok(Frame::ok())
}

/// `LINSERT key <BEFORE | AFTER> pivot element`
fn linsert(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let after = if is_keyword(&args[2], "AFTER") {
        true
    } else if is_keyword(&args[2], "BEFORE") {
        false
    } else {
        return Err(CommandError::Syntax);
    };
    let (pivot, element) = (&args[3], &args[4]);
    let limits = list_limits(core);
    let Some(list) = write_list(core, &args[1])? else {
        return Ok(Frame::integer(0));
    };
    // Like Redis, assume the element will be inserted and convert before
    // searching, so the search runs once.
    list.prepare_for_growth(limits, element.len(), 1);
    let Some(pivot_index) = list.iter().position(|candidate| candidate == &pivot[..]) else {
        return Ok(Frame::integer(-1));
    };
    list.insert(limits, pivot_index, after, element);
    Ok(Frame::integer(list.len() as i64))
}

/// `LREM key count element`
fn lrem(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let count = integer(&args[2])?;
    let limits = list_limits(core);
    let Some(list) = write_list(core, &args[1])? else {
        return Ok(Frame::integer(0));
    };
    let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let removed = list.remove_matching(&args[3], limit, count < 0);
    if removed > 0 && finish_removal(list, limits) {
        core.keyspace.remove(&args[1]);
    }
    Ok(Frame::integer(removed as i64))
}

/// `LTRIM key start stop`
fn ltrim(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let start = integer(&args[2])?;
    let stop = integer(&args[3])?;
    let limits = list_limits(core);
    let Some(list) = write_list(core, &args[1])? else {
        return Ok(Frame::ok());
    };
    let length = list.len();
    match clamp_range(start, stop, length) {
        None => list.remove_range(0, length),
        Some((first, count)) => {
            list.remove_range(0, first);
            list.remove_range(count, length - first - count);
        }
    }
    if finish_removal(list, limits) {
        core.keyspace.remove(&args[1]);
    }
    Ok(Frame::ok())
}

// ---------------------------------------------------------------------------
// Moves
// ---------------------------------------------------------------------------

fn parse_end(arg: &[u8]) -> Result<ListEnd, CommandError> {
    ListEnd::parse(arg).ok_or(CommandError::Syntax)
}

/// `LMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT>`
fn lmove(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let from = parse_end(&args[3])?;
    let to = parse_end(&args[4])?;
    move_element(core, &args[1], &args[2], from, to)
}

/// `RPOPLPUSH source destination`
fn rpoplpush(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    move_element(core, &args[1], &args[2], ListEnd::Right, ListEnd::Left)
}

/// Pops from `source` and pushes to `destination`, both on this shard;
/// replies the element, or nil when the source is missing. The destination's
/// type is checked before anything moves.
pub(crate) fn move_element(
    core: &mut ShardCore,
    source: &[u8],
    destination: &[u8],
    from: ListEnd,
    to: ListEnd,
) -> CommandResult {
    if write_list(core, source)?.is_none() {
        return Ok(Frame::Null);
    }
    let limits = list_limits(core);
    if source == destination {
        // A rotation: the list never becomes empty, so it keeps its TTL.
        let list = write_list(core, source)?.expect("checked above");
        let element = list.pop(from).expect("stored lists are never empty");
        list.prepare_for_growth(limits, element.len(), 1);
        list.push(limits, to, &element);
        list.shrink_if_small(limits);
        return Ok(Frame::BulkString(element));
    }
    write_list(core, destination)?;
    let element = pop_from_list(core, source, from, 1)?
        .and_then(|popped| popped.into_iter().next())
        .expect("the source list exists");
    push_to_list(core, destination, to, std::slice::from_ref(&element), false)?;
    Ok(Frame::BulkString(element))
}

// ---------------------------------------------------------------------------
// LMPOP
// ---------------------------------------------------------------------------

/// Key positions of `LMPOP numkeys key [key ...] ...`.
fn lmpop_keys(args: &[Bytes]) -> Vec<usize> {
    numkeys_positions(args, 1)
}

/// Key positions of a command whose `numkeys` argument is at
/// `numkeys_index`, followed by the keys. Only positions present in `args`.
fn numkeys_positions(args: &[Bytes], numkeys_index: usize) -> Vec<usize> {
    let Some(count) = args
        .get(numkeys_index)
        .and_then(|arg| parse_i64(arg))
        .and_then(|count| usize::try_from(count).ok())
    else {
        return Vec::new();
    };
    let first = numkeys_index + 1;
    let last = first.saturating_add(count).min(args.len());
    (first..last).collect()
}

/// The parsed arguments of LMPOP, BLMPOP, ZMPOP and BZMPOP after `numkeys`.
struct MultiPop<'a> {
    keys: &'a [Bytes],
    /// The LEFT/RIGHT or MIN/MAX argument.
    end_arg: &'a Bytes,
    count: usize,
}

impl<'a> MultiPop<'a> {
    /// Parses `numkeys key [key ...] <end> [COUNT count]` from
    /// `args[numkeys_index..]`, with Redis's errors; the end keyword is
    /// checked by the caller.
    fn parse(args: &'a [Bytes], numkeys_index: usize) -> Result<MultiPop<'a>, CommandError> {
        let numkeys = parse_i64(&args[numkeys_index])
            .filter(|&count| count > 0)
            .ok_or_else(|| CommandError::other("ERR numkeys should be greater than 0"))?;
        let first_key = numkeys_index + 1;
        let end_index = usize::try_from(numkeys)
            .ok()
            .and_then(|count| first_key.checked_add(count))
            .filter(|&index| index < args.len())
            .ok_or(CommandError::Syntax)?;
        let mut count_opt = None;
        let mut index = end_index + 1;
        while index < args.len() {
            let has_value = index + 1 < args.len();
            if count_opt.is_none() && has_value && is_keyword(&args[index], "COUNT") {
                let count = parse_i64(&args[index + 1])
                    .filter(|&count| count > 0)
                    .ok_or_else(|| CommandError::other("ERR count should be greater than 0"))?;
                count_opt = Some(usize::try_from(count).unwrap_or(usize::MAX));
                index += 2;
            } else {
                return Err(CommandError::Syntax);
            }
        }
        Ok(MultiPop {
            keys: &args[first_key..end_index],
            end_arg: &args[end_index],
            count: count_opt.unwrap_or(1),
        })
    }
}

/// `LMPOP numkeys key [key ...] <LEFT | RIGHT> [COUNT count]`
fn lmpop(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let parsed = MultiPop::parse(args, 1)?;
    let end = parse_end(parsed.end_arg)?;
    for key in parsed.keys {
        if let Some(popped) = pop_from_list(core, key, end, parsed.count)? {
            return Ok(Frame::Array(vec![Frame::BulkString(key.clone()), bulk_frames(popped)]));
        }
    }
    Ok(Frame::NullArray)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::args::test_args as args;

    #[test]
    fn ranges_follow_redis_rules() {
        assert_eq!(clamp_range(0, -1, 5), Some((0, 5)));
        assert_eq!(clamp_range(-100, 100, 5), Some((0, 5)));
        assert_eq!(clamp_range(2, 1, 5), None);
        assert_eq!(clamp_range(5, 10, 5), None);
        assert_eq!(clamp_range(-2, -1, 5), Some((3, 2)));
        assert_eq!(clamp_range(0, -6, 5), None);
        assert_eq!(clamp_range(i64::MIN, i64::MAX, 5), Some((0, 5)));
        assert_eq!(clamp_range(0, 0, 0), None);
    }

    #[test]
    fn indexes_count_from_either_end() {
        assert_eq!(absolute_index(0, 3), Some(0));
        assert_eq!(absolute_index(-1, 3), Some(2));
        assert_eq!(absolute_index(-4, 3), None);
        assert_eq!(absolute_index(3, 3), None);
        assert_eq!(absolute_index(i64::MIN, 3), None);
    }

    #[test]
    fn numkeys_positions_stay_in_bounds() {
        assert_eq!(
            numkeys_positions(&args(&["lmpop", "2", "a", "b", "LEFT"]), 1),
            vec![2, 3]
        );
        assert_eq!(numkeys_positions(&args(&["lmpop", "9", "a"]), 1), vec![2]);
        assert!(numkeys_positions(&args(&["lmpop", "x", "a"]), 1).is_empty());
        assert!(numkeys_positions(&args(&["lmpop", "-1", "a"]), 1).is_empty());
        assert_eq!(numkeys_positions(&args(&["blmpop", "0", "1", "a", "LEFT"]), 2), vec![3]);
    }

    #[test]
    fn multi_pop_arguments_parse_like_redis() {
        let all = args(&["lmpop", "2", "a", "b", "LEFT", "COUNT", "3"]);
        let parsed = MultiPop::parse(&all, 1).unwrap();
        assert_eq!(parsed.keys.len(), 2);
        assert_eq!(parsed.end_arg, &Bytes::from_static(b"LEFT"));
        assert_eq!(parsed.count, 3);
        let error = |words: &[&str]| MultiPop::parse(&args(words), 1).err().unwrap().to_string();
        assert_eq!(
            error(&["lmpop", "0", "a", "LEFT"]),
            "ERR numkeys should be greater than 0"
        );
        assert_eq!(
            error(&["lmpop", "x", "a", "LEFT"]),
            "ERR numkeys should be greater than 0"
        );
        assert_eq!(error(&["lmpop", "2", "a", "LEFT"]), "ERR syntax error");
        assert_eq!(
            error(&["lmpop", "1", "a", "LEFT", "COUNT", "0"]),
            "ERR count should be greater than 0"
        );
        assert_eq!(
            error(&["lmpop", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1"]),
            "ERR syntax error"
        );
        assert_eq!(error(&["lmpop", "1", "a", "LEFT", "COUNT"]), "ERR syntax error");
        assert_eq!(
            error(&["lmpop", "9223372036854775807", "a", "LEFT"]),
            "ERR syntax error"
        );
    }
}
