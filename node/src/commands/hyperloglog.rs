//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE and PFDEBUG.
//!
//! A HyperLogLog is a string value in Redis's byte layout (see
//! `keyspace::hyperloglog`), so these commands read and write strings:
//! - a string that is not a sketch gives `WRONGTYPE Key is not a valid
//!   HyperLogLog string value.`, another type the usual WRONGTYPE;
//! - a sketch whose registers do not decode gives `INVALIDOBJ Corrupted HLL
//!   object detected`;
//! - every command that touches a sketch in place marks the string raw, as
//!   Redis's `dbUnshareStringValue` does, and keeps its TTL;
//! - PFCOUNT of one key stores the estimate in the sketch's header, so the
//!   next PFCOUNT answers at once; PFADD and PFMERGE mark it stale when a
//!   register changes;
//! - PFCOUNT of several keys counts their union without changing them, and
//!   PFMERGE merges the destination's own registers with the sources'. Their
//!   keys may live on several shards: they then run staged (see `staged.rs`).

use bytes::Bytes;
use starling_protocol::Frame;

use super::args::is_keyword;
use super::error::{CommandError, CommandResult};
use super::table::{CommandSpec, Flags, Handler};
use crate::keyspace::hyperloglog::{self, CorruptedSketch, Encoding, UnionRegisters};
use crate::keyspace::{Record, SmallBytes, Value, FLAG_RAW_STRING};
use crate::shard::ShardCore;

pub fn commands() -> Vec<CommandSpec> {
    vec![
        CommandSpec::new("pfadd", -2, Handler::Shard(pfadd))
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::FAST)
            .keys(1, 1, 1)
            .acl(&["@write", "@hyperloglog", "@fast"])
            .doc(
                "hyperloglog",
                "2.8.9",
                "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.",
            ),
        CommandSpec::new("pfcount", -2, Handler::Shard(pfcount))
            .flags(Flags::READONLY | Flags::MAY_REPLICATE)
            .keys(1, -1, 1)
            .acl(&["@read", "@hyperloglog", "@slow"])
            .doc(
                "hyperloglog",
                "2.8.9",
                "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).",
            ),
        CommandSpec::new("pfmerge", -2, Handler::Shard(pfmerge))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, -1, 1)
            .acl(&["@write", "@hyperloglog", "@slow"])
            .doc(
                "hyperloglog",
                "2.8.9",
                "Merges one or more HyperLogLog values into a single key.",
            ),
        CommandSpec::new("pfdebug", 3, Handler::Shard(pfdebug))
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::ADMIN)
            .keys(2, 2, 1)
            .acl(&["@write", "@hyperloglog", "@admin", "@slow", "@dangerous"])
            .doc(
                "hyperloglog",
                "2.8.9",
                "Internal commands for debugging HyperLogLog values.",
            ),
    ]
}

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

fn not_a_sketch() -> CommandError {
    CommandError::other("WRONGTYPE Key is not a valid HyperLogLog string value.")
}

impl From<CorruptedSketch> for CommandError {
    fn from(_: CorruptedSketch) -> CommandError {
        CommandError::other("INVALIDOBJ Corrupted HLL object detected")
    }
}

/// Redis's `isHLLObjectOrReply`: the record's string if it holds a sketch,
/// with its encoding.
fn sketch_of(record: &Record) -> Result<(&SmallBytes, Encoding), CommandError> {
    let Value::String(bytes) = &record.value else {
        return Err(CommandError::WrongType);
    };
    let encoding = hyperloglog::validate(bytes).ok_or_else(not_a_sketch)?;
    Ok((bytes, encoding))
}

/// Runs `edit` on the sketch stored at `key` (validated first), as an owned
/// buffer that may change size, then stores it back marked raw. With
/// `create`, a missing key gets a new empty sketch first and `edit` learns
/// it was created; without, a missing key gives None.
fn edit_sketch<R>(
    core: &mut ShardCore,
    key: &[u8],
    create: bool,
    edit: impl FnOnce(&mut Vec<u8>, bool) -> Result<R, CommandError>,
) -> Result<Option<R>, CommandError> {
    let now_ms = core.now_ms;
    let Some(record) = core.keyspace.lookup_mut(key, now_ms) else {
        if !create {
            return Ok(None);
        }
        let mut sketch = hyperloglog::new_sketch();
        let result = edit(&mut sketch, true);
        let mut record = Record::new(
            SmallBytes::from_slice(key),
            Value::String(SmallBytes::from_vec(sketch)),
            (now_ms / 1000) as u32,
        );
        record.flags |= FLAG_RAW_STRING;
        core.keyspace.insert_record(record, None);
        return result.map(Some);
    };
    sketch_of(record)?;
    record.flags |= FLAG_RAW_STRING;
    let Value::String(bytes) = &mut record.value else {
        unreachable!("sketch_of checked the type");
    };
    // Converting a heap string to a Vec and back moves the buffer, so a
    // dense sketch is edited without a copy.
    let mut sketch = std::mem::take(bytes).into_vec();
    let result = edit(&mut sketch, false);
    *bytes = SmallBytes::from_vec(sketch);
    result.map(Some)
}

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

/// `PFADD key [element [element ...]]`
///
/// Replies 1 if the key was created or a register changed, else 0. If the
/// sketch turns out corrupt midway, the elements added before stay added,
/// as in Redis.
fn pfadd(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let elements = &args[2..];
    let updated = edit_sketch(core, &args[1], true, |sketch, created| {
        let mut updated = created;
        let mut outcome = Ok(());
        for element in elements {
            match hyperloglog::add(sketch, element) {
                Ok(changed) => updated |= changed,
                Err(corrupted) => {
                    outcome = Err(corrupted);
                    break;
                }
            }
        }
        if updated {
            hyperloglog::invalidate_cached_cardinality(sketch);
        }
        outcome.map(|()| updated).map_err(CommandError::from)
    })?
    .expect("pfadd creates the key");
    Ok(Frame::integer(updated as i64))
}

/// `PFCOUNT key [key ...]`
fn pfcount(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    if args.len() > 2 {
        return union_cardinality(core, &args[1..]);
    }
    let key = &args[1];
    // Count the hit or miss as the read it is, then edit: the estimate is
    // cached in the sketch itself.
    if core.keyspace.lookup_read(key, core.now_ms).is_none() {
        return Ok(Frame::integer(0));
    }
    let cardinality = edit_sketch(core, key, false, |sketch, _| {
        if let Some(cached) = hyperloglog::cached_cardinality(sketch) {
            return Ok(cached);
        }
        let cardinality = hyperloglog::cardinality(sketch)?;
        hyperloglog::store_cached_cardinality(sketch, cardinality);
        Ok(cardinality)
    })?
    .unwrap_or(0);
    Ok(Frame::integer(cardinality as i64))
}

/// The estimate for the union of the sketches at `keys` (missing keys count
/// as empty), leaving them unchanged.
fn union_cardinality(core: &mut ShardCore, keys: &[Bytes]) -> CommandResult {
    let mut union = UnionRegisters::default();
    for key in keys {
        let Some(record) = core.keyspace.lookup_read(key, core.now_ms) else {
            continue;
        };
        let (sketch, _) = sketch_of(record)?;
        union.merge(sketch)?;
    }
    Ok(Frame::integer(union.cardinality() as i64))
}

/// `PFMERGE destkey [sourcekey [sourcekey ...]]`
///
/// The destination is one of the merged sketches. It turns dense if any
/// source is dense, and otherwise stays sparse while it fits.
fn pfmerge(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let mut union = UnionRegisters::default();
    let mut any_dense = false;
    for key in &args[1..] {
        let Some(record) = core.keyspace.lookup_read(key, core.now_ms) else {
            continue;
        };
        let (sketch, encoding) = sketch_of(record)?;
        any_dense |= encoding == Encoding::Dense;
        union.merge(sketch)?;
    }
    edit_sketch(core, &args[1], true, |sketch, _| {
        if any_dense {
            *sketch = hyperloglog::to_dense(sketch)?;
        }
        union.store_into(sketch)?;
        Ok(())
    })?;
    Ok(Frame::ok())
}

/// What PFDEBUG does with the sketch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DebugAction {
    /// Every register, as integers (makes the sketch dense first).
    GetRegisters,
    /// The sparse opcodes as text.
    Decode,
    /// `dense` or `sparse`.
    Encoding,
    /// Makes the sketch dense; 1 if it was sparse.
    ToDense,
}

/// `PFDEBUG <GETREG | DECODE | ENCODING | TODENSE> key`
///
/// The key is checked before the subcommand, as Redis does.
fn pfdebug(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let subcommand = &args[1];
    let action = [
        ("GETREG", DebugAction::GetRegisters),
        ("DECODE", DebugAction::Decode),
        ("ENCODING", DebugAction::Encoding),
        ("TODENSE", DebugAction::ToDense),
    ]
    .into_iter()
    .find(|(name, _)| is_keyword(subcommand, name))
    .map(|(_, action)| action);
    let reply = edit_sketch(core, &args[2], false, |sketch, _| {
        let encoding = hyperloglog::validate(sketch).ok_or_else(not_a_sketch)?;
        let Some(action) = action else {
            return Err(CommandError::other(format!(
                "ERR Unknown PFDEBUG subcommand '{}'",
                String::from_utf8_lossy(subcommand)
            )));
        };
        match action {
            DebugAction::GetRegisters => {
                *sketch = hyperloglog::to_dense(sketch)?;
                let registers = hyperloglog::dense_registers(sketch)
                    .map(|value| Frame::integer(value as i64))
                    .collect();
                Ok(Frame::Array(registers))
            }
            DebugAction::Decode if encoding != Encoding::Sparse => {
                Err(CommandError::other("ERR HLL encoding is not sparse"))
            }
            DebugAction::Decode => Ok(Frame::bulk(hyperloglog::describe_sparse(sketch))),
            DebugAction::Encoding => Ok(Frame::simple(encoding.name())),
            DebugAction::ToDense => {
                *sketch = hyperloglog::to_dense(sketch)?;
                Ok(Frame::integer((encoding == Encoding::Sparse) as i64))
            }
        }
    })?;
    reply.ok_or_else(|| CommandError::other("ERR The specified key does not exist"))
}
