//! String commands: GET, SET and their variants, counters (INCR...),
//! in-place edits (APPEND, SETRANGE), ranges, LCS, and the multi-key MGET,
//! MSET and MSETNX.
//!
//! Rules shared by the family, as Redis 7.2 has them:
//! - a key of another type gives WRONGTYPE (`string_of` decides), except in
//!   MGET, which answers nil for it, and LCS, which has its own error;
//! - SET, GETSET and MSET replace the value and drop the TTL (SET keeps it
//!   with KEEPTTL); INCR and friends, INCRBYFLOAT, APPEND and SETRANGE keep it;
//! - APPEND to an existing key and SETRANGE change the string in place, and
//!   mark the record `FLAG_RAW_STRING` so that OBJECT ENCODING says `raw`.
//!
//! MGET, MSET, MSETNX and LCS have a cross-shard handler, used when their keys
//! live on several shards (see `multikey`).

mod lcs;
pub(crate) mod long_double;

use bytes::Bytes;
use futures::future::LocalBoxFuture;
use starling_protocol::Frame;

use super::args::{integer, is_keyword, parse_i64};
use super::error::{CommandError, CommandResult};
use super::multikey::{group_keys_by_shard, hold_groups, in_request_order, run_held, run_on_groups};
use super::table::{CommandSpec, Flags, Handler};
use crate::connection::session::Session;
use crate::keyspace::{Record, SmallBytes, Value, FLAG_RAW_STRING};
use crate::shard::ShardCore;
use lcs::{longest_common_subsequence, LcsRefusal};
use long_double::{parse_redis_float, LongDouble, ParsedFloat};

pub fn commands() -> Vec<CommandSpec> {
    const READ_FAST: &[&str] = &["@read", "@string", "@fast"];
    const READ_SLOW: &[&str] = &["@read", "@string", "@slow"];
    const WRITE_FAST: &[&str] = &["@write", "@string", "@fast"];
    const WRITE_SLOW: &[&str] = &["@write", "@string", "@slow"];
    vec![
        CommandSpec::new("get", 2, Handler::Shard(get))
            .flags(Flags::READONLY | Flags::FAST)
            .keys(1, 1, 1)
            .acl(READ_FAST)
            .doc("string", "1.0.0", "Returns the string value of a key."),
        CommandSpec::new("set", -3, Handler::Shard(set))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, 1, 1)
            .acl(WRITE_SLOW)
            .doc("string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist."),
        CommandSpec::new("setnx", 3, Handler::Shard(setnx))
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc("string", "1.0.0", "Set the string value of a key only when the key doesn't exist."),
        CommandSpec::new("setex", 4, Handler::Shard(setex))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, 1, 1)
            .acl(WRITE_SLOW)
            .doc("string", "2.0.0", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist."),
        CommandSpec::new("psetex", 4, Handler::Shard(psetex))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, 1, 1)
            .acl(WRITE_SLOW)
            .doc(
                "string",
                "2.6.0",
                "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
            ),
        CommandSpec::new("getset", 3, Handler::Shard(getset))
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc("string", "1.0.0", "Returns the previous string value of a key after setting it to a new value."),
        CommandSpec::new("getdel", 2, Handler::Shard(getdel))
            .flags(Flags::WRITE | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc("string", "6.2.0", "Returns the string value of a key after deleting the key."),
        CommandSpec::new("getex", -2, Handler::Shard(getex))
            .flags(Flags::WRITE | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc("string", "6.2.0", "Returns the string value of a key after setting its expiration time."),
        CommandSpec::new("mget", -2, Handler::Shard(mget))
            .flags(Flags::READONLY | Flags::FAST)
            .keys(1, -1, 1)
            .acl(READ_FAST)
            .doc("string", "1.0.0", "Atomically returns the string values of one or more keys.")
            .cross_shard(mget_cross_shard),
        CommandSpec::new("mset", -3, Handler::Shard(mset))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, -1, 2)
            .acl(WRITE_SLOW)
            .doc("string", "1.0.1", "Atomically creates or modifies the string values of one or more keys.")
            .cross_shard(mset_cross_shard),
        CommandSpec::new("msetnx", -3, Handler::Shard(msetnx))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, -1, 2)
            .acl(WRITE_SLOW)
            .doc(
                "string",
                "1.0.1",
                "Atomically modifies the string values of one or more keys only when all keys don't exist.",
            )
            .cross_shard(msetnx_cross_shard),
        CommandSpec::new("incr", 2, Handler::Shard(incr))
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc(
                "string",
                "1.0.0",
                "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
            ),
        CommandSpec::new("decr", 2, Handler::Shard(decr))
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc(
                "string",
                "1.0.0",
                "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
            ),
        CommandSpec::new("incrby", 3, Handler::Shard(incrby))
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc(
                "string",
                "1.0.0",
                "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
            ),
        CommandSpec::new("decrby", 3, Handler::Shard(decrby))
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc(
                "string",
                "1.0.0",
                "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
            ),
        CommandSpec::new("incrbyfloat", 3, Handler::Shard(incrbyfloat))
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc(
                "string",
                "2.6.0",
                "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
            ),
        CommandSpec::new("append", 3, Handler::Shard(append))
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(WRITE_FAST)
            .doc("string", "2.0.0", "Appends a string to the value of a key. Creates the key if it doesn't exist."),
        CommandSpec::new("strlen", 2, Handler::Shard(strlen))
            .flags(Flags::READONLY | Flags::FAST)
            .keys(1, 1, 1)
            .acl(READ_FAST)
            .doc("string", "2.2.0", "Returns the length of a string value."),
        CommandSpec::new("getrange", 4, Handler::Shard(getrange))
            .flags(Flags::READONLY)
            .keys(1, 1, 1)
            .acl(READ_SLOW)
            .doc("string", "2.4.0", "Returns a substring of the string stored at a key."),
        CommandSpec::new("substr", 4, Handler::Shard(getrange))
            .flags(Flags::READONLY)
            .keys(1, 1, 1)
            .acl(READ_SLOW)
            .doc("string", "1.0.0", "Returns a substring from a string value."),
        CommandSpec::new("setrange", 4, Handler::Shard(setrange))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, 1, 1)
            .acl(WRITE_SLOW)
            .doc(
                "string",
                "2.2.0",
                "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
            ),
        CommandSpec::new("lcs", -3, Handler::Shard(lcs))
            .flags(Flags::READONLY)
            .keys(1, 2, 1)
            .acl(READ_SLOW)
            .doc("string", "7.0.0", "Finds the longest common substring.")
            .cross_shard(lcs_cross_shard),
    ]
}

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// The string a record holds, or WRONGTYPE for any other type.
fn string_of(record: &Record) -> Result<&SmallBytes, CommandError> {
    match &record.value {
        Value::String(bytes) => Ok(bytes),
        #[allow(unreachable_patterns)]
        _ => Err(CommandError::WrongType),
    }
}

/// The string a record holds, for changing in place, or WRONGTYPE.
fn string_of_mut(record: &mut Record) -> Result<&mut SmallBytes, CommandError> {
    match &mut record.value {
        Value::String(bytes) => Ok(bytes),
        #[allow(unreachable_patterns)]
        _ => Err(CommandError::WrongType),
    }
}

/// Redis's read lookup plus type check (`lookupKeyRead` + `checkType`): the
/// key's string, None if the key does not exist, WRONGTYPE for another type.
fn read_string<'core>(core: &'core mut ShardCore, key: &[u8]) -> Result<Option<&'core SmallBytes>, CommandError> {
    match core.keyspace.lookup_read(key, core.now_ms) {
        None => Ok(None),
        Some(record) => string_of(record).map(Some),
    }
}

/// The reply GET gives for a lookup: the bulk string, or nil.
fn string_reply(value: Option<&SmallBytes>) -> Frame {
    match value {
        Some(bytes) => Frame::bulk_from_slice(bytes),
        None => Frame::Null,
    }
}

/// Stores `value` under `key` as SET does (`setKey`): any old value and,
/// unless `keep_ttl`, its TTL are replaced; then the deadline, if any, is set.
fn store_string(core: &mut ShardCore, key: &[u8], value: &[u8], keep_ttl: bool, deadline_ms: Option<u64>) {
    // Expire a due key first, as Redis's `lookupKeyWrite` does, so that
    // KEEPTTL never keeps a deadline that has already passed.
    core.keyspace.contains(key, core.now_ms);
    core.keyspace
        .set(key, Value::String(SmallBytes::from_slice(value)), keep_ttl, core.now_ms);
    if let Some(at_ms) = deadline_ms {
        core.keyspace.set_expire(key, at_ms);
    }
}

/// An i64 as decimal text, without a heap allocation.
fn integer_text(value: i64) -> SmallBytes {
    use std::io::Write as _;
    let mut buffer = [0u8; 20];
    let mut cursor = std::io::Cursor::new(&mut buffer[..]);
    write!(cursor, "{value}").expect("20 bytes hold any i64");
    let len = cursor.position() as usize;
    SmallBytes::from_slice(&buffer[..len])
}

/// Redis's `checkStringLength`: a string grown to `current + added` bytes
/// must stay within proto-max-bulk-len (`limit_bytes`).
fn check_string_length(current_len: usize, added_len: usize, limit_bytes: usize) -> Result<(), CommandError> {
    match current_len.checked_add(added_len) {
        Some(total) if total <= limit_bytes => Ok(()),
        _ => Err(CommandError::StringTooLong),
    }
}

// ---------------------------------------------------------------------------
// SET and its options
// ---------------------------------------------------------------------------

/// How an expire argument counts time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExpireKind {
    /// EX: seconds from now.
    Seconds,
    /// PX: milliseconds from now.
    Milliseconds,
    /// EXAT: a Unix time in seconds.
    UnixSeconds,
    /// PXAT: a Unix time in milliseconds.
    UnixMilliseconds,
}

impl ExpireKind {
    fn is_relative(self) -> bool {
        matches!(self, ExpireKind::Seconds | ExpireKind::Milliseconds)
    }

    fn is_in_seconds(self) -> bool {
        matches!(self, ExpireKind::Seconds | ExpireKind::UnixSeconds)
    }
}

/// Redis's `getExpireMillisecondsOrReply`: the absolute deadline in Unix
/// milliseconds for an expire argument, with `command` named in the error.
fn expire_deadline_ms(
    kind: ExpireKind,
    amount: &[u8],
    now_ms: u64,
    command: &'static str,
) -> Result<u64, CommandError> {
    let amount = integer(amount)?;
    let invalid = CommandError::InvalidExpireTime(command);
    if amount <= 0 || (kind.is_in_seconds() && amount > i64::MAX / 1000) {
        return Err(invalid);
    }
    let mut deadline_ms = if kind.is_in_seconds() { amount * 1000 } else { amount };
    if kind.is_relative() {
        deadline_ms = deadline_ms.checked_add(now_ms as i64).ok_or(invalid)?;
    }
    debug_assert!(deadline_ms > 0);
    Ok(deadline_ms as u64)
}

/// Which command's options `parse_extended_options` reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OptionsOf {
    /// SET: NX, XX, GET, KEEPTTL and the expire options.
    Set,
    /// GETEX: PERSIST and the expire options.
    GetEx,
}

/// SET's and GETEX's options after parsing.
#[derive(Default)]
struct ExtendedOptions<'args> {
    only_if_absent: bool,
    only_if_present: bool,
    get: bool,
    keep_ttl: bool,
    persist: bool,
    expire: Option<(ExpireKind, &'args Bytes)>,
}

/// Redis's `parseExtendedStringArgumentsOrReply`. An option is refused with a
/// syntax error when it conflicts with one already seen (NX with XX, two
/// different expire kinds, KEEPTTL or PERSIST with an expire), belongs to
/// the other command, or lacks its argument. The same option may repeat.
/// Expire amounts are only checked later, as Redis does.
fn parse_extended_options(
    args: &[Bytes],
    first: usize,
    command: OptionsOf,
) -> Result<ExtendedOptions<'_>, CommandError> {
    let mut options = ExtendedOptions::default();
    let mut index = first;
    while index < args.len() {
        let option = &args[index];
        let next = args.get(index + 1);
        let expire_kind = [
            ("EX", ExpireKind::Seconds),
            ("PX", ExpireKind::Milliseconds),
            ("EXAT", ExpireKind::UnixSeconds),
            ("PXAT", ExpireKind::UnixMilliseconds),
        ]
        .into_iter()
        .find(|(name, _)| is_keyword(option, name))
        .map(|(_, kind)| kind);
        if is_keyword(option, "NX") && command == OptionsOf::Set && !options.only_if_present {
            options.only_if_absent = true;
        } else if is_keyword(option, "XX") && command == OptionsOf::Set && !options.only_if_absent {
            options.only_if_present = true;
        } else if is_keyword(option, "GET") && command == OptionsOf::Set {
            options.get = true;
        } else if is_keyword(option, "KEEPTTL")
            && command == OptionsOf::Set
            && !options.persist
            && options.expire.is_none()
        {
            options.keep_ttl = true;
        } else if is_keyword(option, "PERSIST")
            && command == OptionsOf::GetEx
            && !options.keep_ttl
            && options.expire.is_none()
        {
            options.persist = true;
        } else if let (Some(kind), Some(amount)) = (expire_kind, next) {
            // The same expire option may repeat (the last wins); another may not.
            let conflicts = options.keep_ttl || options.persist || options.expire.is_some_and(|(seen, _)| seen != kind);
            if conflicts {
                return Err(CommandError::Syntax);
            }
            options.expire = Some((kind, amount));
            index += 1;
        } else {
            return Err(CommandError::Syntax);
        }
        index += 1;
    }
    Ok(options)
}

/// `SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]`
fn set(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let options = parse_extended_options(args, 3, OptionsOf::Set)?;
    let deadline_ms = options
        .expire
        .map(|(kind, amount)| expire_deadline_ms(kind, amount, core.now_ms, "set"))
        .transpose()?;
    let key = &args[1];
    let previous_reply = if options.get {
        Some(string_reply(read_string(core, key)?))
    } else {
        None
    };
    if options.only_if_absent || options.only_if_present {
        let found = core.keyspace.contains(key, core.now_ms);
        let blocked = if options.only_if_absent { found } else { !found };
        if blocked {
            return Ok(previous_reply.unwrap_or(Frame::Null));
        }
    }
    store_string(core, key, &args[2], options.keep_ttl, deadline_ms);
    Ok(previous_reply.unwrap_or_else(Frame::ok))
}

/// `SETNX key value`
fn setnx(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    if core.keyspace.contains(&args[1], core.now_ms) {
        return Ok(Frame::integer(0));
    }
    store_string(core, &args[1], &args[2], false, None);
    Ok(Frame::integer(1))
}

/// `SETEX key seconds value`
fn setex(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let deadline_ms = expire_deadline_ms(ExpireKind::Seconds, &args[2], core.now_ms, "setex")?;
    store_string(core, &args[1], &args[3], false, Some(deadline_ms));
    Ok(Frame::ok())
}

/// `PSETEX key milliseconds value`
fn psetex(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let deadline_ms = expire_deadline_ms(ExpireKind::Milliseconds, &args[2], core.now_ms, "psetex")?;
    store_string(core, &args[1], &args[3], false, Some(deadline_ms));
    Ok(Frame::ok())
}

// ---------------------------------------------------------------------------
// GET and its variants
// ---------------------------------------------------------------------------

/// `GET key`
fn get(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    Ok(string_reply(read_string(core, &args[1])?))
}

/// `GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]`
///
/// The options are parsed first, but the expire amount is only checked once
/// the key is known to hold a string: a missing key answers nil whatever it is.
fn getex(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let options = parse_extended_options(args, 2, OptionsOf::GetEx)?;
    let key = &args[1];
    let Some(value) = read_string(core, key)? else {
        return Ok(Frame::Null);
    };
    let reply = Frame::bulk_from_slice(value);
    match options.expire {
        Some((kind, amount)) => {
            let deadline_ms = expire_deadline_ms(kind, amount, core.now_ms, "getex")?;
            // An absolute time already past deletes the key (`checkAlreadyExpired`).
            if !kind.is_relative() && deadline_ms <= core.now_ms {
                core.keyspace.remove(key);
            } else {
                core.keyspace.set_expire(key, deadline_ms);
            }
        }
        None if options.persist => {
            core.keyspace.persist(key);
        }
        None => {}
    }
    Ok(reply)
}

/// `GETDEL key`
fn getdel(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let reply = string_reply(read_string(core, key)?);
    if !reply.is_null() {
        core.keyspace.remove(key);
    }
    Ok(reply)
}

/// `GETSET key value`
fn getset(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let reply = string_reply(read_string(core, &args[1])?);
    store_string(core, &args[1], &args[2], false, None);
    Ok(reply)
}

// ---------------------------------------------------------------------------
// MGET, MSET, MSETNX
// ---------------------------------------------------------------------------

/// One key of MGET: its string, or nil when it is missing or of another type.
fn mget_one(core: &mut ShardCore, key: &[u8]) -> Frame {
    match core.keyspace.lookup_read(key, core.now_ms) {
        Some(record) => string_of(record).map_or(Frame::Null, |bytes| Frame::bulk_from_slice(bytes)),
        None => Frame::Null,
    }
}

/// `MGET key [key ...]` (all keys on this shard)
fn mget(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    Ok(Frame::array(args[1..].iter().map(|key| mget_one(core, key)).collect()))
}

/// `MGET key [key ...]` (keys on several shards): reads all shards under one
/// hold, so the reply never shows part of a concurrent MSET.
fn mget_cross_shard(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(async move {
        let key_positions: Vec<usize> = (1..args.len()).collect();
        let groups = group_keys_by_shard(&session.router, &args, &key_positions);
        let per_group = run_held(&session.router, &groups, |group| {
            let keys = group.arguments(&args, 1);
            move |core: &mut ShardCore| keys.iter().map(|key| mget_one(core, key)).collect::<Vec<Frame>>()
        })
        .await?;
        Ok(Frame::array(in_request_order(&groups, per_group)))
    })
}

/// MSET and MSETNX take keys and values in pairs.
fn check_pairs(args: &[Bytes], command: &str) -> Result<(), CommandError> {
    match args.len() % 2 {
        1 => Ok(()),
        _ => Err(CommandError::WrongArity(command.to_string())),
    }
}

/// Positions of the keys of `MSET key value [key value ...]`.
fn pair_key_positions(args: &[Bytes]) -> Vec<usize> {
    (1..args.len()).step_by(2).collect()
}

/// Sets every pair of `pairs` (`[key, value, key, value...]`).
fn store_pairs(core: &mut ShardCore, pairs: &[Bytes]) {
    for pair in pairs.chunks_exact(2) {
        store_string(core, &pair[0], &pair[1], false, None);
    }
}

/// True if any of `keys` exists.
fn any_exists(core: &mut ShardCore, keys: &[Bytes]) -> bool {
    keys.iter().any(|key| core.keyspace.contains(key, core.now_ms))
}

/// `MSET key value [key value ...]` (all keys on this shard)
fn mset(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    check_pairs(args, "mset")?;
    store_pairs(core, &args[1..]);
    Ok(Frame::ok())
}

/// `MSET key value [key value ...]` (keys on several shards): writes all
/// shards under one hold, so no reader sees it half done.
fn mset_cross_shard(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(async move {
        check_pairs(&args, "mset")?;
        let groups = group_keys_by_shard(&session.router, &args, &pair_key_positions(&args));
        run_held(&session.router, &groups, |group| {
            let pairs = group.arguments(&args, 2);
            move |core: &mut ShardCore| store_pairs(core, &pairs)
        })
        .await?;
        Ok(Frame::ok())
    })
}

/// `MSETNX key value [key value ...]` (all keys on this shard)
fn msetnx(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    check_pairs(args, "msetnx")?;
    let keys: Vec<Bytes> = args[1..].iter().step_by(2).cloned().collect();
    if any_exists(core, &keys) {
        return Ok(Frame::integer(0));
    }
    store_pairs(core, &args[1..]);
    Ok(Frame::integer(1))
}

/// `MSETNX key value [key value ...]` (keys on several shards): checks every
/// shard, then sets on every shard, under one hold, so no key can appear in
/// between.
fn msetnx_cross_shard(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(async move {
        check_pairs(&args, "msetnx")?;
        let groups = group_keys_by_shard(&session.router, &args, &pair_key_positions(&args));
        let held = hold_groups(&session.router, &groups).await?;
        let existing = run_on_groups(&held, &groups, |group| {
            let keys = group.arguments(&args, 1);
            move |core: &mut ShardCore| any_exists(core, &keys)
        })
        .await?;
        if existing.into_iter().any(|exists| exists) {
            return Ok(Frame::integer(0));
        }
        run_on_groups(&held, &groups, |group| {
            let pairs = group.arguments(&args, 2);
            move |core: &mut ShardCore| store_pairs(core, &pairs)
        })
        .await?;
        drop(held);
        Ok(Frame::integer(1))
    })
}

// ---------------------------------------------------------------------------
// Counters
// ---------------------------------------------------------------------------

/// Redis's `incrDecrCommand`: adds `increment` to the integer in `key` (0 if
/// missing), keeping the TTL.
fn increment_by(core: &mut ShardCore, key: &[u8], increment: i64) -> CommandResult {
    let Some(record) = core.keyspace.lookup_mut(key, core.now_ms) else {
        core.keyspace
            .set(key, Value::String(integer_text(increment)), false, core.now_ms);
        return Ok(Frame::integer(increment));
    };
    let current = parse_i64(string_of(record)?).ok_or(CommandError::NotInteger)?;
    let updated = current.checked_add(increment).ok_or(CommandError::Overflow)?;
    record.value = Value::String(integer_text(updated));
    // A new integer value: OBJECT ENCODING says `int` again.
    record.flags &= !FLAG_RAW_STRING;
    Ok(Frame::integer(updated))
}

/// `INCR key`
fn incr(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    increment_by(core, &args[1], 1)
}

/// `DECR key`
fn decr(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    increment_by(core, &args[1], -1)
}

/// `INCRBY key increment`
fn incrby(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let increment = integer(&args[2])?;
    increment_by(core, &args[1], increment)
}

/// `DECRBY key decrement`
fn decrby(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let decrement = integer(&args[2])?;
    if decrement == i64::MIN {
        return Err(CommandError::other("ERR decrement would overflow"));
    }
    increment_by(core, &args[1], -decrement)
}

/// `INCRBYFLOAT key increment`
///
/// Computed in x87 extended precision and printed as Redis prints it (see
/// `long_double`); the TTL is kept.
fn incrbyfloat(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let current = match core.keyspace.lookup_mut(key, core.now_ms) {
        Some(record) => parse_redis_float(string_of(record)?).ok_or(CommandError::NotFloat)?,
        None => ParsedFloat::Finite(LongDouble::ZERO),
    };
    let increment = parse_redis_float(&args[2]).ok_or(CommandError::NotFloat)?;
    let not_finite = || CommandError::other("ERR increment would produce NaN or Infinity");
    let (ParsedFloat::Finite(current), ParsedFloat::Finite(increment)) = (current, increment) else {
        return Err(not_finite());
    };
    let sum = current.checked_add(increment).ok_or_else(not_finite)?;
    let text = sum.redis_human_text();
    core.keyspace.set(
        key,
        Value::String(SmallBytes::from_slice(text.as_bytes())),
        true,
        core.now_ms,
    );
    Ok(Frame::bulk(text))
}

// ---------------------------------------------------------------------------
// In-place edits and reads
// ---------------------------------------------------------------------------

/// `APPEND key value`
fn append(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let (key, suffix) = (&args[1], &args[2]);
    let limit_bytes = core.config.load().proto_max_bulk_len;
    let Some(record) = core.keyspace.lookup_mut(key, core.now_ms) else {
        core.keyspace
            .set(key, Value::String(SmallBytes::from_slice(suffix)), false, core.now_ms);
        return Ok(Frame::integer(suffix.len() as i64));
    };
    let value = string_of_mut(record)?;
    check_string_length(value.len(), suffix.len(), limit_bytes)?;
    let mut bytes = std::mem::take(value).into_vec();
    // Grow by exactly what is appended: the allocator can often extend the
    // block in place, where a doubling growth would copy and then shrink.
    bytes.reserve_exact(suffix.len());
    bytes.extend_from_slice(suffix);
    let total_len = bytes.len();
    *value = SmallBytes::from_vec(bytes);
    record.flags |= FLAG_RAW_STRING;
    Ok(Frame::integer(total_len as i64))
}

/// `SETRANGE key offset value`
fn setrange(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let offset = integer(&args[2])?;
    if offset < 0 {
        return Err(CommandError::other("ERR offset is out of range"));
    }
    let offset = offset as usize;
    let (key, patch) = (&args[1], &args[3]);
    let limit_bytes = core.config.load().proto_max_bulk_len;
    let patched = |mut bytes: Vec<u8>| {
        let end = offset + patch.len();
        if bytes.len() < end {
            bytes.resize(end, 0);
        }
        bytes[offset..end].copy_from_slice(patch);
        SmallBytes::from_vec(bytes)
    };
    // Writing nothing changes nothing, and skips the length check.
    match core.keyspace.lookup_mut(key, core.now_ms) {
        Some(record) => {
            let value = string_of_mut(record)?;
            if patch.is_empty() {
                return Ok(Frame::integer(value.len() as i64));
            }
            check_string_length(offset, patch.len(), limit_bytes)?;
            *value = patched(std::mem::take(value).into_vec());
            let new_len = value.len();
            record.flags |= FLAG_RAW_STRING;
            Ok(Frame::integer(new_len as i64))
        }
        None => {
            if patch.is_empty() {
                return Ok(Frame::integer(0));
            }
            check_string_length(offset, patch.len(), limit_bytes)?;
            let value = patched(Vec::new());
            let new_len = value.len();
            // Redis creates this string raw, unlike one made by SET.
            let mut record = Record::new(
                SmallBytes::from_slice(key),
                Value::String(value),
                (core.now_ms / 1000) as u32,
            );
            record.flags |= FLAG_RAW_STRING;
            core.keyspace.insert_record(record, None);
            Ok(Frame::integer(new_len as i64))
        }
    }
}

/// `STRLEN key`
fn strlen(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let len = read_string(core, &args[1])?.map_or(0, |value| value.len());
    Ok(Frame::integer(len as i64))
}

/// GETRANGE's index rules: negative indexes count from the end, both ends
/// are clamped into the string, and the range is inclusive. None when empty.
fn substring_range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let len = len as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end }.max(0).min(len - 1);
    if start > end || len == 0 {
        return None;
    }
    Some((start as usize, end as usize))
}

/// `GETRANGE key start end` (and its old name `SUBSTR key start end`)
fn getrange(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let start = integer(&args[2])?;
    let end = integer(&args[3])?;
    let empty = || Frame::bulk(Bytes::new());
    let Some(value) = read_string(core, &args[1])? else {
        return Ok(empty());
    };
    Ok(match substring_range(value.len(), start, end) {
        Some((first, last)) => Frame::bulk_from_slice(&value[first..=last]),
        None => empty(),
    })
}

// ---------------------------------------------------------------------------
// LCS
// ---------------------------------------------------------------------------

/// One LCS operand: the key's string (empty when the key is missing), or
/// LCS's own error for another type.
fn lcs_operand(core: &mut ShardCore, key: &[u8]) -> Result<SmallBytes, CommandError> {
    match core.keyspace.lookup_read(key, core.now_ms) {
        None => Ok(SmallBytes::new()),
        Some(record) => string_of(record)
            .cloned()
            .map_err(|_| CommandError::other("ERR The specified keys must contain string values")),
    }
}

/// LCS's options.
struct LcsOptions {
    length_only: bool,
    with_indexes: bool,
    with_match_len: bool,
    min_match_len: usize,
}

fn parse_lcs_options(args: &[Bytes]) -> Result<LcsOptions, CommandError> {
    let mut options = LcsOptions {
        length_only: false,
        with_indexes: false,
        with_match_len: false,
        min_match_len: 0,
    };
    let mut index = 3;
    while index < args.len() {
        let option = &args[index];
        if is_keyword(option, "IDX") {
            options.with_indexes = true;
        } else if is_keyword(option, "LEN") {
            options.length_only = true;
        } else if is_keyword(option, "WITHMATCHLEN") {
            options.with_match_len = true;
        } else if is_keyword(option, "MINMATCHLEN") && index + 1 < args.len() {
            options.min_match_len = integer(&args[index + 1])?.max(0) as usize;
            index += 1;
        } else {
            return Err(CommandError::Syntax);
        }
        index += 1;
    }
    if options.length_only && options.with_indexes {
        return Err(CommandError::other(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    Ok(options)
}

/// LCS once both keys were read: options, then the computation, then the
/// reply. `table_bytes_max` is proto-max-bulk-len, Redis's bound on the table.
fn lcs_reply(
    args: &[Bytes],
    first: Result<SmallBytes, CommandError>,
    second: Result<SmallBytes, CommandError>,
    table_bytes_max: usize,
) -> CommandResult {
    let (first, second) = (first?, second?);
    let options = parse_lcs_options(args)?;
    let walk_back = options.with_indexes || !options.length_only;
    let outcome = longest_common_subsequence(
        &first,
        &second,
        walk_back,
        options.min_match_len,
        table_bytes_max as u64,
    )
    .map_err(|refusal| {
        CommandError::other(match refusal {
            LcsRefusal::StringTooLong => "ERR String too long for LCS",
            LcsRefusal::TableTooLarge => "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
            LcsRefusal::AllocationFailed => "ERR Insufficient memory, failed allocating transient memory for LCS",
        })
    })?;
    if options.length_only {
        return Ok(Frame::integer(outcome.length as i64));
    }
    if !options.with_indexes {
        return Ok(Frame::bulk(outcome.subsequence));
    }
    let range =
        |(start, end): (usize, usize)| Frame::array(vec![Frame::integer(start as i64), Frame::integer(end as i64)]);
    let matches = outcome
        .matches
        .iter()
        .map(|found| {
            let mut entry = vec![range(found.first_range), range(found.second_range)];
            if options.with_match_len {
                entry.push(Frame::integer(found.len() as i64));
            }
            Frame::array(entry)
        })
        .collect();
    Ok(Frame::Map(vec![
        (Frame::bulk(Bytes::from_static(b"matches")), Frame::array(matches)),
        (
            Frame::bulk(Bytes::from_static(b"len")),
            Frame::integer(outcome.length as i64),
        ),
    ]))
}

/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]` (both keys on this shard)
fn lcs(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let first = lcs_operand(core, &args[1]);
    let second = lcs_operand(core, &args[2]);
    let table_bytes_max = core.config.load().proto_max_bulk_len;
    lcs_reply(args, first, second, table_bytes_max)
}

/// `LCS key1 key2 ...` (keys on two shards): reads both under one hold, then
/// computes on the connection's thread, with no shard held.
fn lcs_cross_shard(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(async move {
        let groups = group_keys_by_shard(&session.router, &args, &[1, 2]);
        let per_group = run_held(&session.router, &groups, |group| {
            let keys = group.arguments(&args, 1);
            move |core: &mut ShardCore| keys.iter().map(|key| lcs_operand(core, key)).collect::<Vec<_>>()
        })
        .await?;
        let mut operands = in_request_order(&groups, per_group).into_iter();
        let (Some(first), Some(second)) = (operands.next(), operands.next()) else {
            unreachable!("LCS reads exactly two keys");
        };
        let table_bytes_max = session.server.config.load().proto_max_bulk_len;
        lcs_reply(&args, first, second, table_bytes_max)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &[&str]) -> Vec<Bytes> {
        text.iter().map(|arg| Bytes::copy_from_slice(arg.as_bytes())).collect()
    }

    fn set_options(text: &[&str]) -> Result<(bool, bool, bool, bool, Option<ExpireKind>), CommandError> {
        let args = args(text);
        let options = parse_extended_options(&args, 3, OptionsOf::Set)?;
        Ok((
            options.only_if_absent,
            options.only_if_present,
            options.get,
            options.keep_ttl,
            options.expire.map(|(kind, _)| kind),
        ))
    }

    #[test]
    fn set_options_follow_redis_conflict_rules() {
        assert_eq!(
            set_options(&["set", "k", "v", "nx", "get", "px", "5"]).unwrap(),
            (true, false, true, false, Some(ExpireKind::Milliseconds))
        );
        assert_eq!(
            set_options(&["set", "k", "v", "EX", "1", "ex", "2"]).unwrap().4,
            Some(ExpireKind::Seconds)
        );
        assert_eq!(
            set_options(&["set", "k", "v", "keepttl", "xx"]).unwrap(),
            (false, true, false, true, None)
        );
        for refused in [
            &["set", "k", "v", "nx", "xx"][..],
            &["set", "k", "v", "ex", "1", "px", "1"],
            &["set", "k", "v", "exat", "1", "pxat", "1"],
            &["set", "k", "v", "keepttl", "ex", "1"],
            &["set", "k", "v", "ex", "1", "keepttl"],
            &["set", "k", "v", "ex"],
            &["set", "k", "v", "persist"],
            &["set", "k", "v", "nxx"],
        ] {
            assert_eq!(set_options(refused).err(), Some(CommandError::Syntax), "{refused:?}");
        }
    }

    #[test]
    fn getex_options_refuse_set_only_flags() {
        let parse =
            |text: &[&str]| parse_extended_options(&args(text), 2, OptionsOf::GetEx).map(|options| options.persist);
        assert_eq!(parse(&["getex", "k", "persist"]), Ok(true));
        for refused in [
            &["getex", "k", "nx"][..],
            &["getex", "k", "get"],
            &["getex", "k", "keepttl"],
            &["getex", "k", "persist", "ex", "1"],
            &["getex", "k", "px", "1", "persist"],
        ] {
            assert_eq!(parse(refused).err(), Some(CommandError::Syntax), "{refused:?}");
        }
    }

    #[test]
    fn expire_deadlines_refuse_non_positive_and_overflowing_times() {
        let now_ms = 1_700_000_000_000;
        assert_eq!(
            expire_deadline_ms(ExpireKind::Seconds, b"10", now_ms, "set"),
            Ok(now_ms + 10_000)
        );
        assert_eq!(
            expire_deadline_ms(ExpireKind::Milliseconds, b"10", now_ms, "set"),
            Ok(now_ms + 10)
        );
        assert_eq!(
            expire_deadline_ms(ExpireKind::UnixSeconds, b"10", now_ms, "set"),
            Ok(10_000)
        );
        assert_eq!(
            expire_deadline_ms(ExpireKind::UnixMilliseconds, b"10", now_ms, "set"),
            Ok(10)
        );
        let invalid = Err(CommandError::InvalidExpireTime("setex"));
        assert_eq!(expire_deadline_ms(ExpireKind::Seconds, b"0", now_ms, "setex"), invalid);
        assert_eq!(expire_deadline_ms(ExpireKind::Seconds, b"-1", now_ms, "setex"), invalid);
        assert_eq!(
            expire_deadline_ms(ExpireKind::Seconds, b"9223372036854776", now_ms, "setex"),
            invalid
        );
        assert_eq!(
            expire_deadline_ms(ExpireKind::Seconds, b"9223372036854775", now_ms, "setex"),
            invalid
        );
        assert_eq!(
            expire_deadline_ms(ExpireKind::Milliseconds, b"9223372036854775807", now_ms, "setex"),
            invalid
        );
        assert_eq!(
            expire_deadline_ms(ExpireKind::UnixMilliseconds, b"9223372036854775807", now_ms, "set"),
            Ok(i64::MAX as u64)
        );
        assert_eq!(
            expire_deadline_ms(ExpireKind::Seconds, b"1.5", now_ms, "set"),
            Err(CommandError::NotInteger)
        );
    }

    #[test]
    fn substring_ranges_match_getrange() {
        let hello_world = "Hello World".len();
        assert_eq!(substring_range(hello_world, 0, 3), Some((0, 3)));
        assert_eq!(substring_range(hello_world, -3, -1), Some((8, 10)));
        assert_eq!(substring_range(hello_world, -1, -5), None);
        assert_eq!(substring_range(hello_world, 5, 3), None);
        assert_eq!(substring_range(hello_world, -100, 100), Some((0, 10)));
        assert_eq!(substring_range(hello_world, 100, 200), None);
        assert_eq!(substring_range(hello_world, 0, -100), Some((0, 0)));
        assert_eq!(substring_range(hello_world, -5, -100), None);
        assert_eq!(substring_range(hello_world, 10, -1), Some((10, 10)));
        assert_eq!(substring_range(hello_world, 11, -1), None);
        assert_eq!(substring_range(hello_world, i64::MIN, 2), Some((0, 2)));
        assert_eq!(substring_range(hello_world, 0, i64::MAX), Some((0, 10)));
        assert_eq!(substring_range(0, 0, -1), None);
    }

    #[test]
    fn integer_text_covers_the_extremes() {
        assert_eq!(&*integer_text(0), b"0");
        assert_eq!(&*integer_text(i64::MIN), b"-9223372036854775808");
        assert_eq!(&*integer_text(i64::MAX), b"9223372036854775807");
    }

    #[test]
    fn lcs_options_are_checked_after_the_types() {
        let wrong_type = Err(CommandError::other("ERR The specified keys must contain string values"));
        let reply = lcs_reply(
            &args(&["lcs", "a", "b", "bogus"]),
            wrong_type,
            Ok(SmallBytes::new()),
            1 << 20,
        );
        assert_eq!(
            reply,
            Err(CommandError::other("ERR The specified keys must contain string values"))
        );
        let both = lcs_reply(
            &args(&["lcs", "a", "b", "len", "idx"]),
            Ok(SmallBytes::new()),
            Ok(SmallBytes::new()),
            1 << 20,
        );
        assert_eq!(
            both,
            Err(CommandError::other(
                "ERR If you want both the length and indexes, please just use IDX."
            ))
        );
    }
}
