//! Generic key commands: DEL, UNLINK, EXISTS, TOUCH, TYPE, the EXPIRE and TTL
//! families, PERSIST, RENAME, RENAMENX, COPY, KEYS, SCAN, RANDOMKEY, OBJECT,
//! DUMP and RESTORE.
//!
//! How each kind of command reaches the keyspace:
//! - one key (TYPE, EXPIRE, TTL, OBJECT, DUMP, RESTORE...): a shard handler on
//!   the shard that owns the key;
//! - several keys (DEL, UNLINK, EXISTS, TOUCH) or a source and a destination
//!   (RENAME, RENAMENX, COPY): a shard handler when every key lives on one
//!   shard, and a cross-shard handler otherwise, which holds every involved
//!   shard for the whole operation so that no other command sees it half done;
//! - no key (KEYS, SCAN, RANDOMKEY): an async handler that visits the shards.
//!
//! Lookups follow Redis's flags: reads that must not count as an access
//! (TYPE, EXISTS, TTL, OBJECT) use `lookup_read_no_touch`, TOUCH, COPY and
//! DUMP use `lookup_read`, and writes use `lookup_mut` or `contains`.

use bytes::Bytes;
use futures::future::LocalBoxFuture;
use starling_protocol::{Frame, SLOT_COUNT};

use super::args::{integer, is_keyword, parse_i64, text};
use super::error::{CommandError, CommandResult};
use super::multikey::{group_keys_by_shard, run_held};
use super::table::{CommandSpec, Flags, Handler};
use crate::connection::session::Session;
use crate::glob;
use crate::keyspace::dump::{self, DumpError};
use crate::keyspace::{Record, SmallBytes, Value, FLAG_RAW_STRING};
use crate::shard::{ShardCore, ShardRouter};

pub fn commands() -> Vec<CommandSpec> {
    vec![
        CommandSpec::new("del", -2, Handler::Shard(del))
            .flags(Flags::WRITE)
            .keys(1, -1, 1)
            .acl(&["@keyspace", "@write", "@slow"])
            .doc("generic", "1.0.0", "Deletes one or more keys.")
            .cross_shard(del_cross_shard),
        CommandSpec::new("unlink", -2, Handler::Shard(del))
            .flags(Flags::WRITE | Flags::FAST)
            .keys(1, -1, 1)
            .acl(&["@keyspace", "@write", "@fast"])
            .doc("generic", "4.0.0", "Asynchronously deletes one or more keys.")
            .cross_shard(del_cross_shard),
        CommandSpec::new("exists", -2, Handler::Shard(exists))
            .flags(Flags::READONLY | Flags::FAST)
            .keys(1, -1, 1)
            .acl(&["@keyspace", "@read", "@fast"])
            .doc("generic", "1.0.0", "Determines whether one or more keys exist.")
            .cross_shard(exists_cross_shard),
        CommandSpec::new("touch", -2, Handler::Shard(touch))
            .flags(Flags::READONLY | Flags::FAST)
            .keys(1, -1, 1)
            .acl(&["@keyspace", "@read", "@fast"])
            .doc(
                "generic",
                "3.2.1",
                "Returns the number of existing keys out of those specified after updating the time they were last accessed.",
            )
            .cross_shard(touch_cross_shard),
        CommandSpec::new("type", 2, Handler::Shard(type_command))
            .flags(Flags::READONLY | Flags::FAST)
            .keys(1, 1, 1)
            .acl(&["@keyspace", "@read", "@fast"])
            .doc("generic", "1.0.0", "Determines the type of value stored at a key."),
        expire_spec("expire", expire, "1.0.0", "Sets the expiration time of a key in seconds."),
        expire_spec("pexpire", pexpire, "2.6.0", "Sets the expiration time of a key in milliseconds."),
        expire_spec("expireat", expireat, "1.2.0", "Sets the expiration time of a key to a Unix timestamp."),
        expire_spec(
            "pexpireat",
            pexpireat,
            "2.6.0",
            "Sets the expiration time of a key to a Unix milliseconds timestamp.",
        ),
        ttl_spec("ttl", ttl, "1.0.0", "Returns the expiration time in seconds of a key."),
        ttl_spec("pttl", pttl, "2.6.0", "Returns the expiration time in milliseconds of a key."),
        ttl_spec("expiretime", expiretime, "7.0.0", "Returns the expiration time of a key as a Unix timestamp."),
        ttl_spec(
            "pexpiretime",
            pexpiretime,
            "7.0.0",
            "Returns the expiration time of a key as a Unix milliseconds timestamp.",
        ),
        CommandSpec::new("persist", 2, Handler::Shard(persist))
            .flags(Flags::WRITE | Flags::FAST)
            .keys(1, 1, 1)
            .acl(&["@keyspace", "@write", "@fast"])
            .doc("generic", "2.2.0", "Removes the expiration time of a key."),
        CommandSpec::new("rename", 3, Handler::Shard(rename))
            .flags(Flags::WRITE)
            .keys(1, 2, 1)
            .acl(&["@keyspace", "@write", "@slow"])
            .doc("generic", "1.0.0", "Renames a key and overwrites the destination.")
            .cross_shard(rename_cross_shard),
        CommandSpec::new("renamenx", 3, Handler::Shard(renamenx))
            .flags(Flags::WRITE | Flags::FAST)
            .keys(1, 2, 1)
            .acl(&["@keyspace", "@write", "@fast"])
            .doc("generic", "1.0.0", "Renames a key only when the target key name doesn't exist.")
            .cross_shard(renamenx_cross_shard),
        CommandSpec::new("copy", -3, Handler::Shard(copy))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, 2, 1)
            .acl(&["@keyspace", "@write", "@slow"])
            .doc("generic", "6.2.0", "Copies the value of a key to a new key.")
            .cross_shard(copy_cross_shard),
        CommandSpec::new("keys", 2, Handler::Async(keys))
            .flags(Flags::READONLY)
            .acl(&["@keyspace", "@read", "@slow", "@dangerous"])
            .doc("generic", "1.0.0", "Returns all key names that match a pattern."),
        CommandSpec::new("scan", -2, Handler::Async(scan))
            .flags(Flags::READONLY)
            .acl(&["@keyspace", "@read", "@slow"])
            .doc("generic", "2.8.0", "Iterates over the key names in the database."),
        CommandSpec::new("randomkey", 1, Handler::Async(randomkey))
            .flags(Flags::READONLY)
            .acl(&["@keyspace", "@read", "@slow"])
            .doc("generic", "1.0.0", "Returns a random key name from the database."),
        CommandSpec::new("object", -2, Handler::Container)
            .acl(&["@slow"])
            .doc("generic", "2.2.3", "A container for object introspection commands.")
            .subcommands(vec![
                object_spec("object|encoding", object_encoding, "2.2.3", "Returns the internal encoding of a Redis object."),
                object_spec(
                    "object|freq",
                    object_freq,
                    "4.0.0",
                    "Returns the logarithmic access frequency counter of a Redis object.",
                ),
                object_spec(
                    "object|idletime",
                    object_idletime,
                    "2.2.3",
                    "Returns the time since the last access to a Redis object.",
                ),
                object_spec("object|refcount", object_refcount, "2.2.3", "Returns the reference count of a value of a key."),
                CommandSpec::new("object|help", 2, Handler::Session(object_help))
                    .flags(Flags::LOADING | Flags::STALE)
                    .acl(&["@keyspace", "@slow"])
                    .doc("generic", "6.2.0", "Returns helpful text about the different subcommands."),
            ]),
        CommandSpec::new("dump", 2, Handler::Shard(dump))
            .flags(Flags::READONLY)
            .keys(1, 1, 1)
            .acl(&["@keyspace", "@read", "@slow"])
            .doc("generic", "2.6.0", "Returns a serialized representation of the value stored at a key."),
        CommandSpec::new("restore", -4, Handler::Shard(restore))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, 1, 1)
            .acl(&["@keyspace", "@write", "@slow", "@dangerous"])
            .doc("generic", "2.6.0", "Creates a key from the serialized representation of a value."),
    ]
}

fn expire_spec(
    name: &'static str,
    handler: fn(&mut ShardCore, &[Bytes]) -> CommandResult,
    since: &'static str,
    summary: &'static str,
) -> CommandSpec {
    CommandSpec::new(name, -3, Handler::Shard(handler))
        .flags(Flags::WRITE | Flags::FAST)
        .keys(1, 1, 1)
        .acl(&["@keyspace", "@write", "@fast"])
        .doc("generic", since, summary)
}

fn ttl_spec(
    name: &'static str,
    handler: fn(&mut ShardCore, &[Bytes]) -> CommandResult,
    since: &'static str,
    summary: &'static str,
) -> CommandSpec {
    CommandSpec::new(name, 2, Handler::Shard(handler))
        .flags(Flags::READONLY | Flags::FAST)
        .keys(1, 1, 1)
        .acl(&["@keyspace", "@read", "@fast"])
        .doc("generic", since, summary)
}

fn object_spec(
    name: &'static str,
    handler: fn(&mut ShardCore, &[Bytes]) -> CommandResult,
    since: &'static str,
    summary: &'static str,
) -> CommandSpec {
    CommandSpec::new(name, 3, Handler::Shard(handler))
        .flags(Flags::READONLY)
        .keys(2, 2, 1)
        .acl(&["@keyspace", "@read", "@slow"])
        .doc("generic", since, summary)
}

// ---------------------------------------------------------------------------
// DEL, UNLINK, EXISTS, TOUCH
// ---------------------------------------------------------------------------

/// Counts something over a group of keys that all live on the shard it runs on.
type KeyCounter = fn(&mut ShardCore, &[Bytes]) -> i64;

/// Deletes the live keys among `keys`; returns how many there were.
fn delete_keys(core: &mut ShardCore, keys: &[Bytes]) -> i64 {
    let mut deleted = 0;
    for key in keys {
        // `contains` expires a due key first, so it is not counted as deleted.
        if core.keyspace.contains(key, core.now_ms) && core.keyspace.remove(key).is_some() {
            deleted += 1;
        }
    }
    deleted
}

/// Counts the live keys among `keys`, duplicates included, without counting
/// it as an access.
fn count_existing_keys(core: &mut ShardCore, keys: &[Bytes]) -> i64 {
    keys.iter()
        .filter(|key| core.keyspace.lookup_read_no_touch(key, core.now_ms).is_some())
        .count() as i64
}

/// Counts the live keys among `keys`, marking each as accessed.
fn touch_keys(core: &mut ShardCore, keys: &[Bytes]) -> i64 {
    keys.iter()
        .filter(|key| core.keyspace.lookup_read(key, core.now_ms).is_some())
        .count() as i64
}

/// `DEL key [key ...]` and `UNLINK key [key ...]` (values are freed at once
/// either way: our values are small enough that a background free buys nothing).
fn del(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    Ok(Frame::integer(delete_keys(core, &args[1..])))
}

/// `EXISTS key [key ...]`
fn exists(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    Ok(Frame::integer(count_existing_keys(core, &args[1..])))
}

/// `TOUCH key [key ...]`
fn touch(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    Ok(Frame::integer(touch_keys(core, &args[1..])))
}

fn del_cross_shard(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(count_across_shards(&session.router, args, delete_keys))
}

fn exists_cross_shard(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(count_across_shards(&session.router, args, count_existing_keys))
}

fn touch_cross_shard(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(count_across_shards(&session.router, args, touch_keys))
}

/// Runs `count_on_shard` on every shard that owns some of the keys `args[1..]`,
/// holding all of them at once so that the command is atomic, and sums the
/// counts. Each shard sees its keys in request order, so a key named twice is
/// deleted once and counted twice by EXISTS, as in Redis.
async fn count_across_shards(router: &ShardRouter, args: Vec<Bytes>, count_on_shard: KeyCounter) -> CommandResult {
    let key_positions: Vec<usize> = (1..args.len()).collect();
    let groups = group_keys_by_shard(router, &args, &key_positions);
    let counts = run_held(router, &groups, |group| {
        let keys = group.arguments(&args, 1);
        move |core: &mut ShardCore| count_on_shard(core, &keys)
    })
    .await?;
    Ok(Frame::integer(counts.into_iter().sum()))
}

// ---------------------------------------------------------------------------
// TYPE
// ---------------------------------------------------------------------------

/// `TYPE key`
fn type_command(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    match core.keyspace.lookup_read_no_touch(&args[1], core.now_ms) {
        None => Ok(Frame::simple("none")),
        Some(record) => Ok(Frame::simple(record.value.type_name())),
    }
}

// ---------------------------------------------------------------------------
// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, PERSIST
// ---------------------------------------------------------------------------

/// How an EXPIRE-family command reads its time argument.
#[derive(Clone, Copy)]
struct ExpireCommand {
    /// Lower-case, as the "invalid expire time" error shows it.
    name: &'static str,
    /// Seconds (EXPIRE, EXPIREAT) or milliseconds (PEXPIRE, PEXPIREAT).
    in_seconds: bool,
    /// Relative to now (EXPIRE, PEXPIRE) or a Unix time (EXPIREAT, PEXPIREAT).
    relative: bool,
}

const EXPIRE: ExpireCommand = ExpireCommand {
    name: "expire",
    in_seconds: true,
    relative: true,
};
const PEXPIRE: ExpireCommand = ExpireCommand {
    name: "pexpire",
    in_seconds: false,
    relative: true,
};
const EXPIREAT: ExpireCommand = ExpireCommand {
    name: "expireat",
    in_seconds: true,
    relative: false,
};
const PEXPIREAT: ExpireCommand = ExpireCommand {
    name: "pexpireat",
    in_seconds: false,
    relative: false,
};

/// `EXPIRE key seconds [NX | XX | GT | LT]`
fn expire(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    expire_generic(core, args, EXPIRE)
}

/// `PEXPIRE key milliseconds [NX | XX | GT | LT]`
fn pexpire(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    expire_generic(core, args, PEXPIRE)
}

/// `EXPIREAT key unix-time-seconds [NX | XX | GT | LT]`
fn expireat(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    expire_generic(core, args, EXPIREAT)
}

/// `PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]`
fn pexpireat(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    expire_generic(core, args, PEXPIREAT)
}

/// The NX / XX / GT / LT options of the EXPIRE family.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ExpireConditions {
    only_without_expiry: bool,
    only_with_expiry: bool,
    only_if_later: bool,
    only_if_earlier: bool,
}

impl ExpireConditions {
    /// Parses the options with Redis's checks, in Redis's order: an unknown
    /// option first, then NX with anything else, then GT with LT.
    fn parse(options: &[Bytes]) -> Result<ExpireConditions, CommandError> {
        let mut conditions = ExpireConditions::default();
        for option in options {
            if is_keyword(option, "NX") {
                conditions.only_without_expiry = true;
            } else if is_keyword(option, "XX") {
                conditions.only_with_expiry = true;
            } else if is_keyword(option, "GT") {
                conditions.only_if_later = true;
            } else if is_keyword(option, "LT") {
                conditions.only_if_earlier = true;
            } else {
                return Err(CommandError::other(format!("ERR Unsupported option {}", text(option))));
            }
        }
        if conditions.only_without_expiry
            && (conditions.only_with_expiry || conditions.only_if_later || conditions.only_if_earlier)
        {
            return Err(CommandError::other(
                "ERR NX and XX, GT or LT options at the same time are not compatible",
            ));
        }
        if conditions.only_if_later && conditions.only_if_earlier {
            return Err(CommandError::other(
                "ERR GT and LT options at the same time are not compatible",
            ));
        }
        Ok(conditions)
    }

    /// Whether a key whose deadline is `current_ms` (None: no TTL, which GT
    /// and LT treat as an infinite TTL) may get the deadline `new_ms`.
    fn allow(self, current_ms: Option<i64>, new_ms: i64) -> bool {
        if self.only_without_expiry && current_ms.is_some() {
            return false;
        }
        if self.only_with_expiry && current_ms.is_none() {
            return false;
        }
        if self.only_if_later && current_ms.is_none_or(|current_ms| new_ms <= current_ms) {
            return false;
        }
        if self.only_if_earlier && current_ms.is_some_and(|current_ms| new_ms >= current_ms) {
            return false;
        }
        true
    }
}

/// The absolute deadline in Unix milliseconds an EXPIRE-family time argument
/// names, refusing what would overflow as Redis does. The result may be in
/// the past (even negative): that deletes the key.
fn expire_deadline_ms(command: ExpireCommand, time: i64, now_ms: u64) -> Result<i64, CommandError> {
    let invalid = || CommandError::InvalidExpireTime(command.name);
    let time_ms = if command.in_seconds {
        time.checked_mul(1000).ok_or_else(invalid)?
    } else {
        time
    };
    let base_ms = if command.relative { now_ms as i64 } else { 0 };
    time_ms.checked_add(base_ms).ok_or_else(invalid)
}

fn expire_generic(core: &mut ShardCore, args: &[Bytes], command: ExpireCommand) -> CommandResult {
    let conditions = ExpireConditions::parse(&args[3..])?;
    let deadline_ms = expire_deadline_ms(command, integer(&args[2])?, core.now_ms)?;
    let key = &args[1];
    if core.keyspace.lookup_mut(key, core.now_ms).is_none() {
        return Ok(Frame::integer(0));
    }
    let current_ms = core.keyspace.expire_at(key).map(deadline_as_i64);
    if !conditions.allow(current_ms, deadline_ms) {
        return Ok(Frame::integer(0));
    }
    if deadline_ms <= core.now_ms as i64 {
        core.keyspace.remove(key);
        return Ok(Frame::integer(1));
    }
    let stored = core.keyspace.set_expire(key, deadline_ms as u64);
    debug_assert!(stored, "the key was found above");
    Ok(Frame::integer(1))
}

/// Deadlines are set from i64 arguments; saturate in case one was not.
fn deadline_as_i64(at_ms: u64) -> i64 {
    i64::try_from(at_ms).unwrap_or(i64::MAX)
}

/// `PERSIST key`
fn persist(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    if core.keyspace.lookup_mut(key, core.now_ms).is_none() {
        return Ok(Frame::integer(0));
    }
    Ok(Frame::integer(core.keyspace.persist(key) as i64))
}

// ---------------------------------------------------------------------------
// TTL, PTTL, EXPIRETIME, PEXPIRETIME
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum TtlReply {
    RemainingSeconds,
    RemainingMilliseconds,
    UnixSeconds,
    UnixMilliseconds,
}

/// `TTL key`
fn ttl(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    ttl_generic(core, &args[1], TtlReply::RemainingSeconds)
}

/// `PTTL key`
fn pttl(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    ttl_generic(core, &args[1], TtlReply::RemainingMilliseconds)
}

/// `EXPIRETIME key`
fn expiretime(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    ttl_generic(core, &args[1], TtlReply::UnixSeconds)
}

/// `PEXPIRETIME key`
fn pexpiretime(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    ttl_generic(core, &args[1], TtlReply::UnixMilliseconds)
}

/// -2 for a missing key, -1 for a key without TTL, else the TTL or deadline.
/// Seconds are rounded to the nearest second, as Redis does.
fn ttl_generic(core: &mut ShardCore, key: &[u8], reply: TtlReply) -> CommandResult {
    if core.keyspace.lookup_read_no_touch(key, core.now_ms).is_none() {
        return Ok(Frame::integer(-2));
    }
    let Some(at_ms) = core.keyspace.expire_at(key).map(deadline_as_i64) else {
        return Ok(Frame::integer(-1));
    };
    let remaining_ms = at_ms.saturating_sub(core.now_ms as i64).max(0);
    let rounded_seconds = |ms: i64| ((ms as i128 + 500) / 1000) as i64;
    let value = match reply {
        TtlReply::RemainingSeconds => rounded_seconds(remaining_ms),
        TtlReply::RemainingMilliseconds => remaining_ms,
        TtlReply::UnixSeconds => rounded_seconds(at_ms),
        TtlReply::UnixMilliseconds => at_ms,
    };
    Ok(Frame::integer(value))
}

// ---------------------------------------------------------------------------
// RENAME, RENAMENX
// ---------------------------------------------------------------------------

/// `RENAME key newkey`
fn rename(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    rename_on_shard(core, &args[1], &args[2], false)
}

/// `RENAMENX key newkey`
fn renamenx(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    rename_on_shard(core, &args[1], &args[2], true)
}

/// OK for RENAME, 1 for RENAMENX.
fn renamed_reply(only_if_absent: bool) -> Frame {
    if only_if_absent {
        Frame::integer(1)
    } else {
        Frame::ok()
    }
}

/// Source and destination on this shard. The record moves with its TTL and
/// access clock; a destination that exists is replaced (RENAME) or left alone
/// (RENAMENX replies 0). Renaming a key to itself changes nothing.
fn rename_on_shard(core: &mut ShardCore, source: &[u8], destination: &[u8], only_if_absent: bool) -> CommandResult {
    if core.keyspace.lookup_mut(source, core.now_ms).is_none() {
        return Err(CommandError::NoSuchKey);
    }
    if source == destination {
        return Ok(if only_if_absent { Frame::integer(0) } else { Frame::ok() });
    }
    if only_if_absent && core.keyspace.contains(destination, core.now_ms) {
        return Ok(Frame::integer(0));
    }
    let (mut record, expire_at_ms) = core.keyspace.remove(source).expect("the source was found above");
    record.key = SmallBytes::from_slice(destination);
    core.keyspace.insert_record(record, expire_at_ms);
    Ok(renamed_reply(only_if_absent))
}

fn rename_cross_shard(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(rename_across_shards(&session.router, args, false))
}

fn renamenx_cross_shard(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(rename_across_shards(&session.router, args, true))
}

/// Source and destination on different shards: hold both, check, take the
/// record (and its TTL) out of the source shard, put it into the destination.
/// Nothing else runs on either shard in between, so no client can see the key
/// under both names or under neither.
async fn rename_across_shards(router: &ShardRouter, args: Vec<Bytes>, only_if_absent: bool) -> CommandResult {
    let (source, destination) = (args[1].clone(), args[2].clone());
    let source_shard = router.shard_of_key(&source);
    let destination_shard = router.shard_of_key(&destination);
    let held = router.hold(&[source_shard, destination_shard]).await?;

    let source_key = source.clone();
    let source_exists = held
        .run(source_shard, move |core| {
            core.keyspace.lookup_mut(&source_key, core.now_ms).is_some()
        })
        .await?;
    if !source_exists {
        return Err(CommandError::NoSuchKey);
    }
    if only_if_absent {
        let destination_key = destination.clone();
        let destination_exists = held
            .run(destination_shard, move |core| {
                core.keyspace.contains(&destination_key, core.now_ms)
            })
            .await?;
        if destination_exists {
            return Ok(Frame::integer(0));
        }
    }
    let taken = held
        .run(source_shard, move |core| core.keyspace.remove(&source))
        .await?;
    let (mut record, expire_at_ms) = taken.expect("the source shard is held and had the key");
    record.key = SmallBytes::from_slice(&destination);
    held.run(destination_shard, move |core| {
        let key = record.key.clone();
        core.keyspace.insert_record(record, expire_at_ms);
        // Serve clients blocked on the new name (BLPOP...).
        core.signal_keys_written([&key[..]]);
    })
    .await?;
    Ok(renamed_reply(only_if_absent))
}

// ---------------------------------------------------------------------------
// COPY
// ---------------------------------------------------------------------------

/// Parses `[DB destination-db] [REPLACE]` (from `args[3]`); returns REPLACE.
/// Starling has only database 0.
fn parse_copy_options(args: &[Bytes]) -> Result<bool, CommandError> {
    let mut replace = false;
    let mut index = 3;
    while index < args.len() {
        let option = &args[index];
        if is_keyword(option, "REPLACE") {
            replace = true;
        } else if is_keyword(option, "DB") && index + 1 < args.len() {
            let database = integer(&args[index + 1])?;
            if i32::try_from(database).is_err() {
                return Err(CommandError::NotInteger);
            }
            if database != 0 {
                return Err(CommandError::other("ERR DB index is out of range"));
            }
            index += 1;
        } else {
            return Err(CommandError::Syntax);
        }
        index += 1;
    }
    if args[1] == args[2] {
        return Err(CommandError::other("ERR source and destination objects are the same"));
    }
    Ok(replace)
}

/// What COPY takes from the source: the value, the flags that describe its
/// encoding, and the deadline.
struct CopiedValue {
    value: Value,
    encoding_flags: u32,
    expire_at_ms: Option<u64>,
}

/// Reads the source for COPY (an access, as in Redis).
fn read_copy_source(core: &mut ShardCore, source: &[u8]) -> Option<CopiedValue> {
    let record = core.keyspace.lookup_read(source, core.now_ms)?;
    let (value, encoding_flags) = (record.value.clone(), record.flags & FLAG_RAW_STRING);
    Some(CopiedValue {
        value,
        encoding_flags,
        expire_at_ms: core.keyspace.expire_at(source),
    })
}

/// Writes the copy unless the destination exists and REPLACE was not given.
/// Returns COPY's reply.
fn write_copy_destination(core: &mut ShardCore, destination: &[u8], copied: CopiedValue, replace: bool) -> Frame {
    if !replace && core.keyspace.contains(destination, core.now_ms) {
        return Frame::integer(0);
    }
    let mut record = Record::new(
        SmallBytes::from_slice(destination),
        copied.value,
        access_clock_secs(core.now_ms),
    );
    record.flags |= copied.encoding_flags;
    core.keyspace.insert_record(record, copied.expire_at_ms);
    Frame::integer(1)
}

/// `COPY source destination [DB destination-db] [REPLACE]`
fn copy(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let replace = parse_copy_options(args)?;
    let Some(copied) = read_copy_source(core, &args[1]) else {
        return Ok(Frame::integer(0));
    };
    Ok(write_copy_destination(core, &args[2], copied, replace))
}

fn copy_cross_shard(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(copy_across_shards(&session.router, args))
}

/// COPY with source and destination on different shards, both held.
async fn copy_across_shards(router: &ShardRouter, args: Vec<Bytes>) -> CommandResult {
    let replace = parse_copy_options(&args)?;
    let (source, destination) = (args[1].clone(), args[2].clone());
    let source_shard = router.shard_of_key(&source);
    let destination_shard = router.shard_of_key(&destination);
    let held = router.hold(&[source_shard, destination_shard]).await?;
    let copied = held
        .run(source_shard, move |core| read_copy_source(core, &source))
        .await?;
    let Some(copied) = copied else {
        return Ok(Frame::integer(0));
    };
    held.run(destination_shard, move |core| {
        let reply = write_copy_destination(core, &destination, copied, replace);
        // Serve clients blocked on the destination (BLPOP...).
        core.signal_keys_written([&destination[..]]);
        reply
    })
    .await
}

// ---------------------------------------------------------------------------
// KEYS, RANDOMKEY
// ---------------------------------------------------------------------------

/// `KEYS pattern`
fn keys(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(async move {
        let pattern = args[1].clone();
        let per_shard = session
            .router
            .run_on_all(move |core| matching_keys(core, &pattern))
            .await?;
        let keys = per_shard
            .into_iter()
            .flatten()
            .map(|key| Frame::bulk_from_slice(&key))
            .collect();
        Ok(Frame::array(keys))
    })
}

/// The live keys of one shard that match `pattern`.
fn matching_keys(core: &mut ShardCore, pattern: &[u8]) -> Vec<SmallBytes> {
    let all_keys = pattern == b"*";
    let mut keys = Vec::new();
    core.keyspace.for_each_live_key(core.now_ms, |record| {
        if all_keys || glob::matches(pattern, &record.key, false) {
            keys.push(record.key.clone());
        }
    });
    keys
}

/// `RANDOMKEY`
///
/// Every shard draws one of its keys; the reply is one of those, chosen with
/// probability proportional to the shard's key count, so every key is about
/// equally likely whatever the shard sizes.
fn randomkey(session: &mut Session, _args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(async move {
        let draws = session
            .router
            .run_on_all(|core| {
                let key = core.keyspace.random_key(core.now_ms);
                (core.keyspace.len(), key)
            })
            .await?;
        let candidates: Vec<(usize, SmallBytes)> = draws
            .into_iter()
            .filter_map(|(key_count, key)| key.map(|key| (key_count, key)))
            .collect();
        let total: usize = candidates.iter().map(|(key_count, _)| key_count).sum();
        if total == 0 {
            return Ok(Frame::Null);
        }
        let mut pick = rand::random::<usize>() % total;
        for (key_count, key) in candidates {
            if pick < key_count {
                return Ok(Frame::bulk_from_slice(&key));
            }
            pick -= key_count;
        }
        unreachable!("pick < total, the sum of the key counts")
    })
}

// ---------------------------------------------------------------------------
// SCAN
// ---------------------------------------------------------------------------

// The SCAN cursor.
//
// Every shard scans its own slots in the order `slot, slot + N, slot + 2N...`
// (N shards; shard i owns the slots congruent to i), and each slot's table
// has a Redis reverse-binary bucket cursor. The global cursor packs both:
//
//     cursor = bucket_cursor << 14 | slot
//
// where `slot` is the next slot to scan (which names the shard) and
// `bucket_cursor` the position within that slot's table. The scan visits
// shard 0's slots, then shard 1's starting at slot 1, and so on; cursor 0 is
// slot 0 of shard 0 (the start) and is returned again only when the last
// shard is done. A key present for the whole scan is returned at least once,
// even while other keys are added or removed and tables resize, because each
// table's bucket cursor has that guarantee and slots are visited in order.
// The cursor stays valid as long as the shard count does not change.

const SLOT_BITS: u32 = 14;
const _: () = assert!(1 << SLOT_BITS == SLOT_COUNT as usize);
const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;

fn encode_scan_cursor(slot: u16, bucket_cursor: u64) -> u64 {
    debug_assert!((slot as u64) <= SLOT_MASK);
    debug_assert!(
        bucket_cursor >> (64 - SLOT_BITS) == 0,
        "bucket cursor {bucket_cursor} too wide"
    );
    bucket_cursor << SLOT_BITS | slot as u64
}

fn decode_scan_cursor(cursor: u64) -> (u16, u64) {
    ((cursor & SLOT_MASK) as u16, cursor >> SLOT_BITS)
}

/// Parses a cursor as Redis's `parseScanCursorOrReply` (C `strtoul`) does:
/// no leading space, an optional sign (a minus wraps around, so `-1` is the
/// largest cursor), decimal digits, no overflow, nothing after them. The
/// argument is a C string to Redis, so it ends at the first NUL byte; an empty
/// cursor is 0.
pub(crate) fn parse_scan_cursor(bytes: &[u8]) -> Option<u64> {
    let text = bytes.split(|&byte| byte == 0).next().unwrap_or_default();
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() {
        // strtoul converted nothing: fine for "", not for a lone sign.
        return text.is_empty().then_some(0);
    }
    let mut value: u64 = 0;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add((digit - b'0') as u64)?;
    }
    Some(if negative { value.wrapping_neg() } else { value })
}

/// The MATCH and TYPE filters of one SCAN call, applied on the shards.
#[derive(Clone, Debug, Default)]
struct ScanFilter {
    pattern: Option<Bytes>,
    type_name: Option<Bytes>,
}

#[derive(Debug)]
struct ScanOptions {
    count: usize,
    filter: ScanFilter,
}

/// Parses `[MATCH pattern] [COUNT count] [TYPE type]` (from `args[2]`).
fn parse_scan_options(args: &[Bytes]) -> Result<ScanOptions, CommandError> {
    let mut options = ScanOptions {
        count: 10,
        filter: ScanFilter::default(),
    };
    let mut index = 2;
    while index < args.len() {
        if index + 1 >= args.len() {
            return Err(CommandError::Syntax);
        }
        let (option, argument) = (&args[index], &args[index + 1]);
        if is_keyword(option, "COUNT") {
            let count = integer(argument)?;
            if count < 1 {
                return Err(CommandError::Syntax);
            }
            options.count = usize::try_from(count).unwrap_or(usize::MAX);
        } else if is_keyword(option, "MATCH") {
            // "*" matches everything: the same as no pattern.
            options.filter.pattern = (argument.as_ref() != b"*").then(|| argument.clone());
        } else if is_keyword(option, "TYPE") {
            options.filter.type_name = Some(argument.clone());
        } else {
            return Err(CommandError::Syntax);
        }
        index += 2;
    }
    Ok(options)
}

/// What one shard's part of a SCAN call found.
struct ShardScan {
    /// Keys that passed the filters.
    kept_keys: Vec<SmallBytes>,
    /// Keys looked at, before filtering: COUNT counts these, as in Redis.
    visited_count: usize,
    /// Where this shard resumes, or None when it is done.
    next_position: Option<(u16, u64)>,
}

fn scan_shard(core: &mut ShardCore, slot: u16, bucket_cursor: u64, count: usize, filter: &ScanFilter) -> ShardScan {
    let step = core.keyspace.scan(slot, bucket_cursor, count, core.now_ms);
    let visited_count = step.keys.len();
    let mut kept_keys = step.keys;
    if let Some(pattern) = &filter.pattern {
        kept_keys.retain(|key| glob::matches(pattern, key, false));
    }
    if let Some(type_name) = &filter.type_name {
        kept_keys.retain(|key| {
            core.keyspace
                .lookup_read_no_touch(key, core.now_ms)
                .is_some_and(|record| record.value.type_name().as_bytes().eq_ignore_ascii_case(type_name))
        });
    }
    ShardScan {
        kept_keys,
        visited_count,
        next_position: step.next_slot_cursor,
    }
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`
///
/// Visits the shard the cursor points into; if that shard runs out before
/// COUNT keys were seen, goes on with the next shard's first slot in the same
/// call. So one call messages at most every shard once.
fn scan(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(async move {
        let cursor = parse_scan_cursor(&args[1]).ok_or_else(|| CommandError::other("ERR invalid cursor"))?;
        let options = parse_scan_options(&args)?;
        let router = &session.router;
        let shard_count = router.shard_count();
        let mut position = Some(decode_scan_cursor(cursor));
        let mut keys = Vec::new();
        let mut visited_count = 0;
        while let Some((slot, bucket_cursor)) = position {
            let shard = router.shard_of_slot(slot);
            let wanted = options.count - visited_count;
            let filter = options.filter.clone();
            let found = router
                .run(shard, move |core| {
                    scan_shard(core, slot, bucket_cursor, wanted, &filter)
                })
                .await?;
            visited_count += found.visited_count;
            keys.extend(found.kept_keys.iter().map(|key| Frame::bulk_from_slice(key)));
            position = match found.next_position {
                Some(next) => Some(next),
                None if shard + 1 < shard_count => Some(((shard + 1) as u16, 0)),
                None => None,
            };
            // Stop when COUNT is reached, or when the shard stopped on its
            // own bucket budget (it still has slots to go).
            if visited_count >= options.count || found.next_position.is_some() {
                break;
            }
        }
        let next_cursor = position.map_or(0, |(slot, bucket_cursor)| encode_scan_cursor(slot, bucket_cursor));
        Ok(Frame::array(vec![
            Frame::bulk(next_cursor.to_string()),
            Frame::array(keys),
        ]))
    })
}

// ---------------------------------------------------------------------------
// OBJECT
// ---------------------------------------------------------------------------

/// Redis shares one object for each integer below this (`OBJ_SHARED_INTEGERS`);
/// OBJECT REFCOUNT reports such values as `OBJ_SHARED_REFCOUNT` (INT_MAX).
const SHARED_INTEGERS: i64 = 10_000;
const SHARED_REFCOUNT: i64 = i32::MAX as i64;

/// The integer a string value would be stored as in Redis (`OBJ_ENCODING_INT`):
/// at most 20 bytes that `string2ll` accepts, and not changed in place.
fn string_as_integer(bytes: &[u8], flags: u32) -> Option<i64> {
    if flags & FLAG_RAW_STRING != 0 || bytes.len() > 20 {
        return None;
    }
    parse_i64(bytes)
}

/// What OBJECT ENCODING reports for a string, by Redis's rules: `int`, else
/// `embstr` up to 44 bytes unless changed in place, else `raw`.
fn string_encoding(bytes: &[u8], flags: u32) -> &'static str {
    const EMBSTR_MAX_BYTES: usize = 44;
    if string_as_integer(bytes, flags).is_some() {
        "int"
    } else if bytes.len() <= EMBSTR_MAX_BYTES && flags & FLAG_RAW_STRING == 0 {
        "embstr"
    } else {
        "raw"
    }
}

fn encoding_name(record: &Record) -> &'static str {
    match &record.value {
        Value::String(bytes) => string_encoding(bytes, record.flags),
        Value::List(list) => list.encoding_name(),
        Value::Hash(hash) => hash.encoding_name(),
        Value::Set(set) => set.encoding_name(),
        Value::SortedSet(sorted_set) => sorted_set.encoding_name(),
    }
}

fn reference_count(record: &Record) -> i64 {
    match &record.value {
        Value::String(bytes) => match string_as_integer(bytes, record.flags) {
            Some(integer) if (0..SHARED_INTEGERS).contains(&integer) => SHARED_REFCOUNT,
            _ => 1,
        },
        Value::List(_) | Value::Hash(_) | Value::Set(_) | Value::SortedSet(_) => 1,
    }
}

/// Seconds on the shard's access clock (`Record::access_clock_secs`).
fn access_clock_secs(now_ms: u64) -> u32 {
    (now_ms / 1000) as u32
}

/// `OBJECT ENCODING key`
fn object_encoding(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    match core.keyspace.lookup_read_no_touch(&args[2], core.now_ms) {
        None => Ok(Frame::Null),
        Some(record) => Ok(Frame::bulk(Bytes::from_static(encoding_name(record).as_bytes()))),
    }
}

/// `OBJECT FREQ key`
///
/// Starling has no LFU maxmemory policy, so, like Redis under any other
/// policy, it does not track access frequency.
fn object_freq(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    if core.keyspace.lookup_read_no_touch(&args[2], core.now_ms).is_none() {
        return Ok(Frame::Null);
    }
    Err(CommandError::other(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when \
         switching between policies at runtime LRU and LFU data will take some time to adjust.",
    ))
}

/// `OBJECT IDLETIME key`
fn object_idletime(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let now_secs = access_clock_secs(core.now_ms);
    match core.keyspace.lookup_read_no_touch(&args[2], core.now_ms) {
        None => Ok(Frame::Null),
        Some(record) => Ok(Frame::integer(now_secs.saturating_sub(record.access_clock_secs) as i64)),
    }
}

/// `OBJECT REFCOUNT key`
fn object_refcount(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    match core.keyspace.lookup_read_no_touch(&args[2], core.now_ms) {
        None => Ok(Frame::Null),
        Some(record) => Ok(Frame::integer(reference_count(record))),
    }
}

const OBJECT_HELP_LINES: [&str; 15] = [
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

/// `OBJECT HELP`
fn object_help(_session: &mut Session, _args: &[Bytes]) -> CommandResult {
    Ok(Frame::array(OBJECT_HELP_LINES.into_iter().map(Frame::simple).collect()))
}

// ---------------------------------------------------------------------------
// DUMP, RESTORE
// ---------------------------------------------------------------------------

/// `DUMP key`
fn dump(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    match core.keyspace.lookup_read(&args[1], core.now_ms) {
        None => Ok(Frame::Null),
        Some(record) => Ok(Frame::bulk(dump::serialize(&record.value))),
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct RestoreOptions {
    replace: bool,
    absolute_ttl: bool,
    idle_secs: Option<i64>,
}

/// Parses `[REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]` (from
/// `args[4]`) with Redis's checks. IDLETIME and FREQ exclude each other
/// (the second is a syntax error). FREQ is checked and then ignored: without
/// an LFU policy Redis ignores it too.
fn parse_restore_options(args: &[Bytes]) -> Result<RestoreOptions, CommandError> {
    let mut options = RestoreOptions::default();
    let mut frequency_given = false;
    let mut index = 4;
    while index < args.len() {
        let option = &args[index];
        let has_argument = index + 1 < args.len();
        if is_keyword(option, "REPLACE") {
            options.replace = true;
        } else if is_keyword(option, "ABSTTL") {
            options.absolute_ttl = true;
        } else if is_keyword(option, "IDLETIME") && has_argument && !frequency_given {
            let idle_secs = integer(&args[index + 1])?;
            if idle_secs < 0 {
                return Err(CommandError::other("ERR Invalid IDLETIME value, must be >= 0"));
            }
            options.idle_secs = Some(idle_secs);
            index += 1;
        } else if is_keyword(option, "FREQ") && has_argument && options.idle_secs.is_none() {
            let frequency = integer(&args[index + 1])?;
            if !(0..=255).contains(&frequency) {
                return Err(CommandError::other("ERR Invalid FREQ value, must be >= 0 and <= 255"));
            }
            frequency_given = true;
            index += 1;
        } else {
            return Err(CommandError::Syntax);
        }
        index += 1;
    }
    Ok(options)
}

fn dump_error(error: DumpError) -> CommandError {
    match error {
        DumpError::VersionOrChecksum => CommandError::BadDumpPayload,
        DumpError::BadDataFormat => CommandError::other("ERR Bad data format"),
    }
}

/// `RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]`
///
/// Checks run in Redis's order: options, an existing key (BUSYKEY), the TTL,
/// the payload. A TTL of 0 means no expiry; a deadline already past replies
/// OK without creating the key (deleting the old one under REPLACE).
pub(crate) fn restore(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let options = parse_restore_options(args)?;
    let key = &args[1];
    if !options.replace && core.keyspace.contains(key, core.now_ms) {
        return Err(CommandError::BusyKey);
    }
    let ttl = integer(&args[2])?;
    if ttl < 0 {
        return Err(CommandError::other("ERR Invalid TTL value, must be >= 0"));
    }
    let mut value = dump::deserialize(&args[3]).map_err(dump_error)?;
    value.fit_encoding(&super::collection_limits(core));
    if options.replace {
        core.keyspace.remove(key);
    }
    let now_ms = core.now_ms as i64;
    let expire_at_ms = match ttl {
        0 => None,
        _ if options.absolute_ttl => Some(ttl),
        // Redis's `ttl + now` overflows into the past: the key is born expired.
        _ => Some(ttl.checked_add(now_ms).unwrap_or(i64::MIN)),
    };
    if expire_at_ms.is_some_and(|at_ms| at_ms <= now_ms) {
        return Ok(Frame::ok());
    }
    let idle_secs = options
        .idle_secs
        .map_or(0, |idle_secs| u32::try_from(idle_secs).unwrap_or(u32::MAX));
    let access_clock = access_clock_secs(core.now_ms).saturating_sub(idle_secs);
    let record = Record::new(SmallBytes::from_slice(key), value, access_clock);
    core.keyspace
        .insert_record(record, expire_at_ms.map(|at_ms| at_ms as u64));
    Ok(Frame::ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::args::test_args as args;

    #[test]
    fn expire_options_are_checked_in_redis_order() {
        let parse = |words: &[&str]| ExpireConditions::parse(&args(words)).map_err(|error| error.to_string());
        assert_eq!(parse(&["foo", "nx"]).unwrap_err(), "ERR Unsupported option foo");
        assert_eq!(
            parse(&["nx", "xx"]).unwrap_err(),
            "ERR NX and XX, GT or LT options at the same time are not compatible"
        );
        assert_eq!(
            parse(&["NX", "gt"]).unwrap_err(),
            "ERR NX and XX, GT or LT options at the same time are not compatible"
        );
        assert_eq!(
            parse(&["gt", "lt"]).unwrap_err(),
            "ERR GT and LT options at the same time are not compatible"
        );
        assert!(parse(&["xx", "gt"]).is_ok());
        assert!(parse(&["xx", "lt", "xx"]).is_ok());
    }

    #[test]
    fn expire_conditions_follow_redis() {
        let with = |words: &[&str]| ExpireConditions::parse(&args(words)).expect("valid options");
        let always = ExpireConditions::default();
        assert!(always.allow(None, 5) && always.allow(Some(10), 5));
        assert!(with(&["nx"]).allow(None, 5));
        assert!(!with(&["nx"]).allow(Some(10), 5));
        assert!(!with(&["xx"]).allow(None, 5));
        assert!(with(&["xx"]).allow(Some(10), 5));
        // GT: no TTL counts as infinite, so nothing is greater.
        assert!(!with(&["gt"]).allow(None, 5));
        assert!(with(&["gt"]).allow(Some(10), 11));
        assert!(!with(&["gt"]).allow(Some(10), 10));
        // LT: anything is less than infinite.
        assert!(with(&["lt"]).allow(None, 5));
        assert!(with(&["lt"]).allow(Some(10), 9));
        assert!(!with(&["lt"]).allow(Some(10), 10));
        assert!(!with(&["xx", "lt"]).allow(None, 5));
    }

    #[test]
    fn expire_deadlines_refuse_overflow() {
        let (expire, pexpireat) = (EXPIRE, PEXPIREAT);
        assert_eq!(expire_deadline_ms(expire, 10, 1_000), Ok(11_000));
        assert_eq!(expire_deadline_ms(expire, -10, 1_000), Ok(-9_000));
        assert_eq!(expire_deadline_ms(pexpireat, i64::MAX, 1_000), Ok(i64::MAX));
        assert_eq!(
            expire_deadline_ms(expire, i64::MAX / 1000, 1_000),
            Err(CommandError::InvalidExpireTime("expire"))
        );
        assert_eq!(
            expire_deadline_ms(expire, i64::MAX / 1000 + 1, 0),
            Err(CommandError::InvalidExpireTime("expire"))
        );
        assert_eq!(
            expire_deadline_ms(expire, i64::MIN / 1000 - 1, 0),
            Err(CommandError::InvalidExpireTime("expire"))
        );
    }

    #[test]
    fn scan_cursors_parse_like_strtoul() {
        assert_eq!(parse_scan_cursor(b"0"), Some(0));
        assert_eq!(parse_scan_cursor(b""), Some(0));
        assert_eq!(parse_scan_cursor(b"+17"), Some(17));
        assert_eq!(parse_scan_cursor(b"007"), Some(7));
        assert_eq!(parse_scan_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_scan_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_scan_cursor(b"5\0junk"), Some(5));
        for invalid in [
            &b"18446744073709551616"[..],
            b" 1",
            b"\t1",
            b"1 ",
            b"abc",
            b"-",
            b"+",
            b"0x10",
            b"1.0",
        ] {
            assert_eq!(
                parse_scan_cursor(invalid),
                None,
                "{:?}",
                String::from_utf8_lossy(invalid)
            );
        }
    }

    #[test]
    fn scan_cursors_pack_slot_and_bucket() {
        assert_eq!(encode_scan_cursor(0, 0), 0);
        assert_eq!(encode_scan_cursor(5, 0), 5);
        assert_eq!(encode_scan_cursor(16383, 3), 3 << 14 | 16383);
        for (slot, bucket) in [(0, 0), (1, 1), (16383, 0), (77, 1 << 40)] {
            assert_eq!(decode_scan_cursor(encode_scan_cursor(slot, bucket)), (slot, bucket));
        }
    }

    #[test]
    fn scan_options_follow_redis() {
        let parse = |words: &[&str]| parse_scan_options(&args(words)).map_err(|error| error.to_string());
        let options = parse(&["scan", "0", "count", "5", "match", "a*", "type", "string"]).expect("valid");
        assert_eq!(options.count, 5);
        assert_eq!(options.filter.pattern.as_deref(), Some(&b"a*"[..]));
        assert_eq!(options.filter.type_name.as_deref(), Some(&b"string"[..]));
        assert!(parse(&["scan", "0", "match", "*"])
            .expect("valid")
            .filter
            .pattern
            .is_none());
        assert_eq!(parse(&["scan", "0", "count", "0"]).unwrap_err(), "ERR syntax error");
        assert_eq!(
            parse(&["scan", "0", "count", "x"]).unwrap_err(),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(parse(&["scan", "0", "count"]).unwrap_err(), "ERR syntax error");
        assert_eq!(parse(&["scan", "0", "foo", "bar"]).unwrap_err(), "ERR syntax error");
    }

    #[test]
    fn string_encodings_follow_redis() {
        assert_eq!(string_encoding(b"100", 0), "int");
        assert_eq!(string_encoding(b"-9223372036854775808", 0), "int");
        assert_eq!(string_encoding(b"12345678901234567890", 0), "embstr");
        assert_eq!(string_encoding(b"007", 0), "embstr");
        assert_eq!(string_encoding(b"1.5", 0), "embstr");
        assert_eq!(string_encoding(b"", 0), "embstr");
        assert_eq!(string_encoding(&[b'a'; 44], 0), "embstr");
        assert_eq!(string_encoding(&[b'a'; 45], 0), "raw");
        assert_eq!(string_encoding(b"100", FLAG_RAW_STRING), "raw");
        assert_eq!(string_encoding(b"abc", FLAG_RAW_STRING), "raw");
    }

    #[test]
    fn small_non_negative_integers_are_shared() {
        let record = |value: &str| Record::new(SmallBytes::from_slice(b"k"), Value::String(value.as_bytes().into()), 0);
        assert_eq!(reference_count(&record("0")), SHARED_REFCOUNT);
        assert_eq!(reference_count(&record("9999")), SHARED_REFCOUNT);
        assert_eq!(reference_count(&record("10000")), 1);
        assert_eq!(reference_count(&record("-5")), 1);
        assert_eq!(reference_count(&record("abc")), 1);
    }

    #[test]
    fn restore_options_follow_redis() {
        let parse = |words: &[&str]| parse_restore_options(&args(words)).map_err(|error| error.to_string());
        let base = ["restore", "k", "0", "payload"];
        let with = |extra: &[&'static str]| [&base[..], extra].concat();
        assert_eq!(
            parse(&with(&["replace", "absttl", "idletime", "10"])),
            Ok(RestoreOptions {
                replace: true,
                absolute_ttl: true,
                idle_secs: Some(10)
            })
        );
        assert_eq!(parse(&with(&["freq", "255"])), Ok(RestoreOptions::default()));
        assert_eq!(
            parse(&with(&["idletime", "-1"])).unwrap_err(),
            "ERR Invalid IDLETIME value, must be >= 0"
        );
        assert_eq!(
            parse(&with(&["freq", "256"])).unwrap_err(),
            "ERR Invalid FREQ value, must be >= 0 and <= 255"
        );
        assert_eq!(
            parse(&with(&["idletime", "1", "freq", "1"])).unwrap_err(),
            "ERR syntax error"
        );
        assert_eq!(
            parse(&with(&["freq", "1", "idletime", "1"])).unwrap_err(),
            "ERR syntax error"
        );
        assert_eq!(parse(&with(&["idletime"])).unwrap_err(), "ERR syntax error");
        assert_eq!(parse(&with(&["foo"])).unwrap_err(), "ERR syntax error");
        assert_eq!(
            parse(&with(&["idletime", "x"])).unwrap_err(),
            "ERR value is not an integer or out of range"
        );
    }
}
