//! Hash commands: HSET, HSETNX, HGET, HMGET, HMSET, HDEL, HEXISTS, HLEN,
//! HSTRLEN, HKEYS, HVALS, HGETALL, HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN.
//!
//! Rules shared by the family, as Redis 7.2 has them:
//! - a key of another type gives WRONGTYPE (`hash_of` decides);
//! - a missing key reads as an empty hash, and a hash emptied by HDEL is
//!   deleted;
//! - writes keep the key's TTL;
//! - the encoding (listpack or hashtable) follows `hash-max-listpack-entries`
//!   and `hash-max-listpack-value`, read from the config on every write (see
//!   `keyspace::hash` for when a hash converts).
//!
//! Every command has one key, so each runs whole on the shard owning it.

use std::ops::ControlFlow;

use bytes::Bytes;
use starling_protocol::Frame;

use super::args::{integer, is_keyword, parse_i64};
use super::error::{CommandError, CommandResult};
use super::keys::parse_scan_cursor;
use super::random_reply::{bulk_reply_bytes, ReplyBudget, SMALLEST_BULK_REPLY_BYTES};
use super::string::long_double::{parse_redis_float, LongDouble, ParsedFloat};
use super::table::{CommandSpec, Flags, Handler};
use crate::glob;
use crate::keyspace::hash::{HashValue, ListpackLimits};
use crate::keyspace::{Record, Value};
use crate::shard::ShardCore;

pub fn commands() -> Vec<CommandSpec> {
    const READ_FAST: &[&str] = &["@read", "@hash", "@fast"];
    const READ_SLOW: &[&str] = &["@read", "@hash", "@slow"];
    const WRITE_FAST: &[&str] = &["@write", "@hash", "@fast"];
    vec![
        CommandSpec::new("hset", -4, Handler::Shard(hset))
            .member_at(2)
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc("hash", "2.0.0", "Creates or modifies the value of a field in a hash."),
        CommandSpec::new("hsetnx", 4, Handler::Shard(hsetnx))
            .member_at(2)
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc("hash", "2.0.0", "Sets the value of a field in a hash only when the field doesn't exist."),
        CommandSpec::new("hget", 3, Handler::Shard(hget))
            .member_at(2)
            .flags(Flags::READONLY | Flags::FAST)
            .keys(1, 1, 1)
            .acl(READ_FAST)
            .doc("hash", "2.0.0", "Returns the value of a field in a hash."),
        CommandSpec::new("hmget", -3, Handler::Shard(hmget))
            .member_at(2)
            .flags(Flags::READONLY | Flags::FAST)
            .keys(1, 1, 1)
            .acl(READ_FAST)
            .doc("hash", "2.0.0", "Returns the values of all fields in a hash."),
        CommandSpec::new("hmset", -4, Handler::Shard(hmset))
            .member_at(2)
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc("hash", "2.0.0", "Sets the values of multiple fields."),
        CommandSpec::new("hdel", -3, Handler::Shard(hdel))
            .member_at(2)
            .flags(Flags::WRITE | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc(
                "hash",
                "2.0.0",
                "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.",
            ),
        CommandSpec::new("hexists", 3, Handler::Shard(hexists))
            .member_at(2)
            .flags(Flags::READONLY | Flags::FAST)
            .keys(1, 1, 1)
            .acl(READ_FAST)
            .doc("hash", "2.0.0", "Determines whether a field exists in a hash."),
        CommandSpec::new("hlen", 2, Handler::Shard(hlen))
            .flags(Flags::READONLY | Flags::FAST)
            .keys(1, 1, 1)
            .acl(READ_FAST)
            .doc("hash", "2.0.0", "Returns the number of fields in a hash."),
        CommandSpec::new("hstrlen", 3, Handler::Shard(hstrlen))
            .member_at(2)
            .flags(Flags::READONLY | Flags::FAST)
            .keys(1, 1, 1)
            .acl(READ_FAST)
            .doc("hash", "3.2.0", "Returns the length of the value of a field."),
        CommandSpec::new("hkeys", 2, Handler::Shard(hkeys))
            .flags(Flags::READONLY)
            .keys(1, 1, 1)
            .acl(READ_SLOW)
            .doc("hash", "2.0.0", "Returns all fields in a hash."),
        CommandSpec::new("hvals", 2, Handler::Shard(hvals))
            .flags(Flags::READONLY)
            .keys(1, 1, 1)
            .acl(READ_SLOW)
            .doc("hash", "2.0.0", "Returns all values in a hash."),
        CommandSpec::new("hgetall", 2, Handler::Shard(hgetall))
            .flags(Flags::READONLY)
            .keys(1, 1, 1)
            .acl(READ_SLOW)
            .doc("hash", "2.0.0", "Returns all fields and values in a hash."),
        CommandSpec::new("hincrby", 4, Handler::Shard(hincrby))
            .member_at(2)
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc(
                "hash",
                "2.0.0",
                "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.",
            ),
        CommandSpec::new("hincrbyfloat", 4, Handler::Shard(hincrbyfloat))
            .member_at(2)
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc(
                "hash",
                "2.6.0",
                "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.",
            ),
        CommandSpec::new("hrandfield", -2, Handler::Shard(hrandfield))
            .flags(Flags::READONLY)
            .keys(1, 1, 1)
            .acl(READ_SLOW)
            .doc("hash", "6.2.0", "Returns one or more random fields from a hash."),
        CommandSpec::new("hscan", -3, Handler::Shard(hscan))
            .flags(Flags::READONLY)
            .keys(1, 1, 1)
            .acl(READ_SLOW)
            .doc("hash", "2.8.0", "Iterates over fields and values of a hash."),
    ]
}

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// The hash a record holds, or WRONGTYPE for any other type.
fn hash_of(record: &Record) -> Result<&HashValue, CommandError> {
    match &record.value {
        Value::Hash(hash) => Ok(hash),
        _ => Err(CommandError::WrongType),
    }
}

/// The hash a record holds, for changing in place, or WRONGTYPE.
fn hash_of_mut(record: &mut Record) -> Result<&mut HashValue, CommandError> {
    match &mut record.value {
        Value::Hash(hash) => Ok(hash),
        _ => Err(CommandError::WrongType),
    }
}

/// Redis's `lookupKeyRead` + `checkType`: the key's hash, None if the key
/// does not exist, WRONGTYPE for another type.
fn read_hash<'core>(core: &'core mut ShardCore, key: &[u8]) -> Result<Option<&'core HashValue>, CommandError> {
    match core.keyspace.lookup_read(key, core.now_ms) {
        None => Ok(None),
        Some(record) => hash_of(record).map(Some),
    }
}

/// The listpack thresholds in force now (CONFIG SET may change them).
pub(crate) fn listpack_limits(core: &ShardCore) -> ListpackLimits {
    let encoding = core.config.load().encoding;
    ListpackLimits {
        max_entries: encoding.hash_max_listpack_entries,
        max_value_bytes: encoding.hash_max_listpack_value,
    }
}

/// Runs `write` on the key's hash, creating an empty one for a missing key
/// (Redis's `hashTypeLookupWriteOrCreate`). A new hash is stored only if
/// the write succeeds and leaves it non-empty: a refused HINCRBYFLOAT on a
/// missing key creates nothing.
fn write_hash<T>(
    core: &mut ShardCore,
    key: &[u8],
    write: impl FnOnce(&mut HashValue) -> Result<T, CommandError>,
) -> Result<T, CommandError> {
    if let Some(record) = core.keyspace.lookup_mut(key, core.now_ms) {
        return write(hash_of_mut(record)?);
    }
    let mut hash = HashValue::new();
    let outcome = write(&mut hash)?;
    if !hash.is_empty() {
        core.keyspace.set(key, Value::Hash(Box::new(hash)), false, core.now_ms);
    }
    Ok(outcome)
}

fn bulk(bytes: &[u8]) -> Frame {
    Frame::bulk_from_slice(bytes)
}

/// An i64 as decimal text, on the stack.
fn integer_text(value: i64, buffer: &mut [u8; 20]) -> &[u8] {
    use std::io::Write as _;
    let mut cursor = std::io::Cursor::new(&mut buffer[..]);
    write!(cursor, "{value}").expect("20 bytes hold any i64");
    let len = cursor.position() as usize;
    &buffer[..len]
}

// ---------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------

/// `HSET key field value [field value ...]`
fn hset(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let created = set_pairs(core, args, "hset")?;
    Ok(Frame::integer(created as i64))
}

/// `HMSET key field value [field value ...]`
fn hmset(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    set_pairs(core, args, "hmset")?;
    Ok(Frame::ok())
}

/// HSET and HMSET: sets every pair in order (a field given twice keeps
/// the last value) and returns the number of new fields.
fn set_pairs(core: &mut ShardCore, args: &[Bytes], command_name: &str) -> Result<usize, CommandError> {
    if args.len() % 2 == 1 {
        return Err(CommandError::WrongArity(command_name.to_string()));
    }
    let pairs = &args[2..];
    let limits = listpack_limits(core);
    write_hash(core, &args[1], |hash| {
        hash.prepare_for_write(pairs.len() / 2, pairs.iter().map(|argument| &argument[..]), limits);
        let created = pairs
            .chunks_exact(2)
            .filter(|pair| hash.set(&pair[0], &pair[1], limits))
            .count();
        Ok(created)
    })
}

/// `HSETNX key field value`
fn hsetnx(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let (field, value) = (&args[2], &args[3]);
    let limits = listpack_limits(core);
    write_hash(core, &args[1], |hash| {
        if hash.contains(field) {
            return Ok(Frame::integer(0));
        }
        hash.prepare_for_write(1, [&field[..], &value[..]].into_iter(), limits);
        hash.set(field, value, limits);
        Ok(Frame::integer(1))
    })
}

/// `HDEL key field [field ...]`
fn hdel(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let Some(record) = core.keyspace.lookup_mut(key, core.now_ms) else {
        return Ok(Frame::integer(0));
    };
    let hash = hash_of_mut(record)?;
    let mut deleted = 0;
    for field in &args[2..] {
        if hash.remove(field) {
            deleted += 1;
            if hash.is_empty() {
                break;
            }
        }
    }
    if hash.is_empty() {
        core.keyspace.remove(key);
    }
    Ok(Frame::integer(deleted))
}

/// `HINCRBY key field increment`
fn hincrby(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let field = &args[2];
    let increment = integer(&args[3])?;
    let limits = listpack_limits(core);
    write_hash(core, &args[1], |hash| {
        let current = match hash.get(field) {
            Some(value) => parse_i64(value).ok_or_else(|| CommandError::other("ERR hash value is not an integer"))?,
            None => 0,
        };
        let sum = current.checked_add(increment).ok_or(CommandError::Overflow)?;
        let mut buffer = [0u8; 20];
        hash.set(field, integer_text(sum, &mut buffer), limits);
        Ok(Frame::integer(sum))
    })
}

/// `HINCRBYFLOAT key field increment`
///
/// Computes in `long double`, as Redis does on x86-64, and stores and replies
/// the human-friendly text (`10.5 + 0.1` gives `10.6`). NaN and infinity are
/// never stored: an infinite increment, or a sum that overflows, is refused.
fn hincrbyfloat(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let field = &args[2];
    let ParsedFloat::Finite(increment) = parse_redis_float(&args[3]).ok_or(CommandError::NotFloat)? else {
        return Err(CommandError::other("ERR value is NaN or Infinity"));
    };
    let limits = listpack_limits(core);
    write_hash(core, &args[1], |hash| {
        let current = match hash.get(field) {
            None => ParsedFloat::Finite(LongDouble::ZERO),
            Some(value) => {
                parse_redis_float(value).ok_or_else(|| CommandError::other("ERR hash value is not a float"))?
            }
        };
        let not_finite = || CommandError::other("ERR increment would produce NaN or Infinity");
        let ParsedFloat::Finite(current) = current else {
            return Err(not_finite());
        };
        let text = current
            .checked_add(increment)
            .ok_or_else(not_finite)?
            .redis_human_text();
        hash.set(field, text.as_bytes(), limits);
        Ok(Frame::bulk(text))
    })
}

// ---------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------

/// `HGET key field`
fn hget(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let value = read_hash(core, &args[1])?.and_then(|hash| hash.get(&args[2]));
    Ok(value.map_or(Frame::Null, bulk))
}

/// `HMGET key field [field ...]`
fn hmget(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let hash = read_hash(core, &args[1])?;
    let values = args[2..]
        .iter()
        .map(|field| hash.and_then(|hash| hash.get(field)).map_or(Frame::Null, bulk))
        .collect();
    Ok(Frame::Array(values))
}

/// `HEXISTS key field`
fn hexists(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let exists = read_hash(core, &args[1])?.is_some_and(|hash| hash.contains(&args[2]));
    Ok(Frame::integer(exists as i64))
}

/// `HLEN key`
fn hlen(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let len = read_hash(core, &args[1])?.map_or(0, HashValue::len);
    Ok(Frame::integer(len as i64))
}

/// `HSTRLEN key field`
fn hstrlen(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let len = read_hash(core, &args[1])?
        .and_then(|hash| hash.get(&args[2]))
        .map_or(0, <[u8]>::len);
    Ok(Frame::integer(len as i64))
}

/// `HKEYS key`
fn hkeys(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let Some(hash) = read_hash(core, &args[1])? else {
        return Ok(Frame::Array(Vec::new()));
    };
    Ok(Frame::Array(hash.iter().map(|(field, _)| bulk(field)).collect()))
}

/// `HVALS key`
fn hvals(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let Some(hash) = read_hash(core, &args[1])? else {
        return Ok(Frame::Array(Vec::new()));
    };
    Ok(Frame::Array(hash.iter().map(|(_, value)| bulk(value)).collect()))
}

/// `HGETALL key`: a map in RESP3, a flat array in RESP2.
fn hgetall(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let Some(hash) = read_hash(core, &args[1])? else {
        return Ok(Frame::Map(Vec::new()));
    };
    Ok(Frame::Map(
        hash.iter().map(|(field, value)| (bulk(field), bulk(value))).collect(),
    ))
}

// ---------------------------------------------------------------------------
// HRANDFIELD
// ---------------------------------------------------------------------------

/// `HRANDFIELD key [count [WITHVALUES]]`
///
/// Checks run in Redis's order: the count (out of range at i64::MIN, as
/// `getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX)` says), the options,
/// then the key. A positive count gives distinct fields (at most the whole
/// hash), a negative one `-count` fields that may repeat, within the
/// `ReplyBudget` (`random_reply.rs`). WITHVALUES pairs
/// each field with its value: nested pairs in RESP3, flat in RESP2.
fn hrandfield(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    if args.len() == 2 {
        let Some(hash) = read_hash(core, &args[1])? else {
            return Ok(Frame::Null);
        };
        let (field, _) = hash
            .random_entry(&mut rand::thread_rng())
            .expect("stored hashes are not empty");
        return Ok(bulk(field));
    }
    let count = integer(&args[2])?;
    if count == i64::MIN {
        return Err(CommandError::other(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let with_values = match &args[3..] {
        [] => false,
        [option] if is_keyword(option, "WITHVALUES") => true,
        _ => return Err(CommandError::Syntax),
    };
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CommandError::other("ERR value is out of range"));
    }
    let mut budget = ReplyBudget::from_config(&core.config.load());
    let Some(hash) = read_hash(core, &args[1])? else {
        return Ok(Frame::Array(Vec::new()));
    };
    let rng = &mut rand::thread_rng();
    let entries = if count >= 0 {
        hash.random_distinct_entries(count as usize, rng)
    } else {
        let picks = count.unsigned_abs();
        let smallest_pick = SMALLEST_BULK_REPLY_BYTES * if with_values { 2 } else { 1 };
        budget.admit(picks, smallest_pick)?;
        let mut entries = Vec::with_capacity((picks as usize).min(hash.len()));
        let mut within_budget = true;
        hash.random_entries_with_repetition(picks, rng, |field, value| {
            let value_bytes = if with_values { bulk_reply_bytes(value.len()) } else { 0 };
            within_budget = budget.charge(bulk_reply_bytes(field.len()) + value_bytes);
            if !within_budget {
                return ControlFlow::Break(());
            }
            entries.push((field, value));
            ControlFlow::Continue(())
        });
        if !within_budget {
            return Err(budget.exceeded());
        }
        entries
    };
    if with_values {
        return Ok(Frame::Pairs(
            entries
                .into_iter()
                .map(|(field, value)| (bulk(field), bulk(value)))
                .collect(),
        ));
    }
    Ok(Frame::Array(
        entries.into_iter().map(|(field, _)| bulk(field)).collect(),
    ))
}

// ---------------------------------------------------------------------------
// HSCAN
// ---------------------------------------------------------------------------

#[derive(Debug, PartialEq)]
struct HashScanOptions {
    count: usize,
    /// None for no pattern, or `*`, which matches everything.
    pattern: Option<Bytes>,
    no_values: bool,
}

/// Parses `[MATCH pattern] [COUNT count] [NOVALUES]` (from `args[3]`), as
/// Redis's `scanGenericCommand`: COUNT must be a positive integer.
fn parse_hscan_options(args: &[Bytes]) -> Result<HashScanOptions, CommandError> {
    let mut options = HashScanOptions {
        count: 10,
        pattern: None,
        no_values: false,
    };
    let mut index = 3;
    while index < args.len() {
        let option = &args[index];
        let argument = args.get(index + 1);
        match argument {
            Some(count) if is_keyword(option, "COUNT") => {
                let count = integer(count)?;
                if count < 1 {
                    return Err(CommandError::Syntax);
                }
                options.count = usize::try_from(count).unwrap_or(usize::MAX);
                index += 2;
            }
            Some(pattern) if is_keyword(option, "MATCH") => {
                options.pattern = (pattern.as_ref() != b"*").then(|| pattern.clone());
                index += 2;
            }
            _ if is_keyword(option, "NOVALUES") => {
                options.no_values = true;
                index += 1;
            }
            _ => return Err(CommandError::Syntax),
        }
    }
    Ok(options)
}

/// `HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]`
///
/// A listpack hash returns every pair at once with cursor 0. A hashtable
/// visits buckets until `count` elements (fields and values) were seen or
/// `10 * count` buckets were visited; MATCH filters after, so it does not
/// change how far a call goes (Redis 7.2). The cursor is the table's
/// reverse-binary bucket cursor: every field present for the whole scan is
/// returned at least once, even if the table is resized between calls.
fn hscan(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let cursor = parse_scan_cursor(&args[2]).ok_or_else(|| CommandError::other("ERR invalid cursor"))?;
    let Some(hash) = read_hash(core, &args[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let options = parse_hscan_options(args)?;
    let elements_per_field = if options.no_values { 1 } else { 2 };
    let mut elements = Vec::new();
    let mut visited_elements = 0usize;
    let mut buckets_left = options.count.saturating_mul(10);
    let mut next_cursor = cursor;
    loop {
        next_cursor = hash.scan(next_cursor, |field, value| {
            visited_elements += elements_per_field;
            let wanted = options
                .pattern
                .as_ref()
                .is_none_or(|pattern| glob::matches(pattern, field, false));
            if !wanted {
                return;
            }
            elements.push(bulk(field));
            if !options.no_values {
                elements.push(bulk(value));
            }
        });
        if next_cursor == 0 || buckets_left == 0 || visited_elements >= options.count {
            break;
        }
        buckets_left -= 1;
    }
    Ok(scan_reply(next_cursor, elements))
}

fn scan_reply(cursor: u64, elements: Vec<Frame>) -> Frame {
    Frame::Array(vec![Frame::bulk(cursor.to_string()), Frame::Array(elements)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::args::test_args as args;

    #[test]
    fn hscan_options_follow_scan_generic_command() {
        let parse = |words: &[&str]| parse_hscan_options(&args(words)).map_err(|error| error.to_string());
        let base = ["hscan", "h", "0"];
        let with = |extra: &[&'static str]| [&base[..], extra].concat();
        assert_eq!(
            parse(&base),
            Ok(HashScanOptions {
                count: 10,
                pattern: None,
                no_values: false
            })
        );
        assert_eq!(
            parse(&with(&["match", "f*", "COUNT", "5", "novalues"])),
            Ok(HashScanOptions {
                count: 5,
                pattern: Some(Bytes::from_static(b"f*")),
                no_values: true
            })
        );
        assert_eq!(parse(&with(&["MATCH", "*"])).map(|options| options.pattern), Ok(None));
        let syntax = Err("ERR syntax error".to_string());
        assert_eq!(parse(&with(&["COUNT", "0"])), syntax);
        assert_eq!(parse(&with(&["COUNT", "-1"])), syntax);
        assert_eq!(parse(&with(&["COUNT"])), syntax);
        assert_eq!(parse(&with(&["MATCH"])), syntax);
        assert_eq!(parse(&with(&["TYPE", "string"])), syntax);
        assert_eq!(parse(&with(&["bogus"])), syntax);
        assert_eq!(
            parse(&with(&["COUNT", "x"])),
            Err("ERR value is not an integer or out of range".to_string())
        );
    }

    #[test]
    fn integer_text_covers_the_extremes() {
        let mut buffer = [0u8; 20];
        assert_eq!(integer_text(i64::MIN, &mut buffer), b"-9223372036854775808");
        assert_eq!(integer_text(i64::MAX, &mut buffer), b"9223372036854775807");
        assert_eq!(integer_text(0, &mut buffer), b"0");
    }
}
