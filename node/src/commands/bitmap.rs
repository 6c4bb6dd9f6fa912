//! Bitmap commands on string values: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
//! BITFIELD and BITFIELD_RO.
//!
//! Rules shared by the family, as Redis 7.2 has them:
//! - bit 0 is the most significant bit of the first byte; bytes past the end
//!   of the string read as zero;
//! - a bit offset must be below `proto-max-bulk-len * 8`, else the reply is
//!   `ERR bit offset is not an integer or out of range`: no write can grow a
//!   string past that limit (plus the at most 8 bytes a BITFIELD integer
//!   starting just below it spans), whatever offset a client sends;
//! - a write (SETBIT, BITFIELD SET/INCRBY) first grows the string with zero
//!   bytes so that the highest bit it touches exists, creates the key if it is
//!   missing, and marks the string raw, as Redis's `dbUnshareStringValue` does;
//! - BITCOUNT and BITPOS look the key up before they parse their range, so a
//!   missing key answers 0 (or -1) even to a malformed range: Redis 8.0
//!   changed that order, 7.2 has it;
//! - BITOP's keys may live on several shards: the command then runs staged
//!   (see `staged.rs`).

use bytes::Bytes;
use starling_protocol::Frame;

use super::args::{is_keyword, parse_i64};
use super::error::{CommandError, CommandResult};
use super::table::{CommandSpec, Flags, Handler};
use crate::keyspace::{Record, SmallBytes, Value, FLAG_RAW_STRING};
use crate::shard::ShardCore;

pub fn commands() -> Vec<CommandSpec> {
    vec![
        CommandSpec::new("setbit", 4, Handler::Shard(setbit))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, 1, 1)
            .acl(&["@write", "@bitmap", "@slow"])
            .doc(
                "bitmap",
                "2.2.0",
                "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.",
            ),
        CommandSpec::new("getbit", 3, Handler::Shard(getbit))
            .flags(Flags::READONLY | Flags::FAST)
            .keys(1, 1, 1)
            .acl(&["@read", "@bitmap", "@fast"])
            .doc("bitmap", "2.2.0", "Returns a bit value by offset."),
        CommandSpec::new("bitcount", -2, Handler::Shard(bitcount))
            .flags(Flags::READONLY)
            .keys(1, 1, 1)
            .acl(&["@read", "@bitmap", "@slow"])
            .doc(
                "bitmap",
                "2.6.0",
                "Counts the number of set bits (population counting) in a string.",
            ),
        CommandSpec::new("bitpos", -3, Handler::Shard(bitpos))
            .flags(Flags::READONLY)
            .keys(1, 1, 1)
            .acl(&["@read", "@bitmap", "@slow"])
            .doc(
                "bitmap",
                "2.8.7",
                "Finds the first set (1) or clear (0) bit in a string.",
            ),
        CommandSpec::new("bitop", -4, Handler::Shard(bitop))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(2, -1, 1)
            .acl(&["@write", "@bitmap", "@slow"])
            .doc(
                "bitmap",
                "2.6.0",
                "Performs bitwise operations on multiple strings, and stores the result.",
            ),
        CommandSpec::new("bitfield", -2, Handler::Shard(bitfield))
            .flags(Flags::WRITE | Flags::DENYOOM)
            .keys(1, 1, 1)
            .acl(&["@write", "@bitmap", "@slow"])
            .doc(
                "bitmap",
                "3.2.0",
                "Performs arbitrary bitfield integer operations on strings.",
            ),
        CommandSpec::new("bitfield_ro", -2, Handler::Shard(bitfield_ro))
            .flags(Flags::READONLY | Flags::FAST)
            .keys(1, 1, 1)
            .acl(&["@read", "@bitmap", "@fast"])
            .doc(
                "bitmap",
                "6.0.0",
                "Performs arbitrary read-only bitfield integer operations on strings.",
            ),
    ]
}

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

const BIT_OFFSET_ERROR: &str = "ERR bit offset is not an integer or out of range";

/// Redis's `getBitOffsetFromArgument`: a non-negative bit offset whose byte
/// lies below `limit_bytes` (proto-max-bulk-len). With `field_bits`
/// (BITFIELD), `#n` means the n-th field of that width, i.e. `n * field_bits`.
fn parse_bit_offset(arg: &[u8], field_bits: Option<u32>, limit_bytes: usize) -> Result<u64, CommandError> {
    let refusal = || CommandError::other(BIT_OFFSET_ERROR);
    let (digits, multiplier) = match (arg.first(), field_bits) {
        (Some(b'#'), Some(bits)) => (&arg[1..], bits as i64),
        _ => (arg, 1),
    };
    let offset = parse_i64(digits)
        .and_then(|offset| offset.checked_mul(multiplier))
        .ok_or_else(refusal)?;
    if offset < 0 || (offset as u64 >> 3) >= limit_bytes as u64 {
        return Err(refusal());
    }
    Ok(offset as u64)
}

/// The string a record holds, or WRONGTYPE for any other type.
fn bitmap_of(record: &Record) -> Result<&SmallBytes, CommandError> {
    match &record.value {
        Value::String(bytes) => Ok(bytes),
        _ => Err(CommandError::WrongType),
    }
}

/// Redis's `lookupKeyRead` + `checkType`: the key's string, None if missing.
fn read_bitmap<'core>(core: &'core mut ShardCore, key: &[u8]) -> Result<Option<&'core SmallBytes>, CommandError> {
    match core.keyspace.lookup_read(key, core.now_ms) {
        None => Ok(None),
        Some(record) => bitmap_of(record).map(Some),
    }
}

/// Redis's `lookupStringForBitCommand`: makes `key` a string long enough to
/// hold bit `highest_bit` (creating it, or growing it with zero bytes), marks
/// it raw, and runs `apply` on its bytes. WRONGTYPE for another type.
fn with_writable_bitmap<R>(
    core: &mut ShardCore,
    key: &[u8],
    highest_bit: u64,
    apply: impl FnOnce(&mut [u8]) -> R,
) -> Result<R, CommandError> {
    let needed_len = (highest_bit / 8 + 1) as usize;
    let now_ms = core.now_ms;
    if let Some(record) = core.keyspace.lookup_mut(key, now_ms) {
        let Value::String(bytes) = &mut record.value else {
            return Err(CommandError::WrongType);
        };
        if bytes.len() < needed_len {
            let mut grown = std::mem::take(bytes).into_vec();
            grown.resize(needed_len, 0);
            *bytes = SmallBytes::from_vec(grown);
        }
        record.flags |= FLAG_RAW_STRING;
        return Ok(apply(bytes.as_mut_slice()));
    }
    let mut bytes = vec![0u8; needed_len];
    let result = apply(&mut bytes);
    let mut record = Record::new(
        SmallBytes::from_slice(key),
        Value::String(SmallBytes::from_vec(bytes)),
        (now_ms / 1000) as u32,
    );
    record.flags |= FLAG_RAW_STRING;
    core.keyspace.insert_record(record, None);
    Ok(result)
}

/// The value of bit `offset` (0 or 1); bits past the end are 0.
fn bit_at(bytes: &[u8], offset: u64) -> u8 {
    let Some(&byte) = bytes.get((offset / 8) as usize) else {
        return 0;
    };
    (byte >> (7 - (offset % 8))) & 1
}

// ---------------------------------------------------------------------------
// SETBIT, GETBIT
// ---------------------------------------------------------------------------

/// `SETBIT key offset value`
fn setbit(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let limit_bytes = core.config.load().proto_max_bulk_len;
    let offset = parse_bit_offset(&args[2], None, limit_bytes)?;
    let bit_error = || CommandError::other("ERR bit is not an integer or out of range");
    let value = match parse_i64(&args[3]).ok_or_else(bit_error)? {
        0 => 0u8,
        1 => 1u8,
        _ => return Err(bit_error()),
    };
    let previous = with_writable_bitmap(core, &args[1], offset, |bytes| {
        let previous = bit_at(bytes, offset);
        let byte = &mut bytes[(offset / 8) as usize];
        let shift = 7 - (offset % 8);
        *byte = (*byte & !(1 << shift)) | (value << shift);
        previous
    })?;
    Ok(Frame::integer(previous as i64))
}

/// `GETBIT key offset`
fn getbit(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let limit_bytes = core.config.load().proto_max_bulk_len;
    let offset = parse_bit_offset(&args[2], None, limit_bytes)?;
    let bit = read_bitmap(core, &args[1])?.map_or(0, |bytes| bit_at(bytes, offset));
    Ok(Frame::integer(bit as i64))
}

// ---------------------------------------------------------------------------
// BITCOUNT, BITPOS
// ---------------------------------------------------------------------------

/// The unit of BITCOUNT's and BITPOS's `start` and `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RangeUnit {
    Byte,
    Bit,
}

fn parse_range_unit(arg: &Bytes) -> Result<RangeUnit, CommandError> {
    if is_keyword(arg, "BYTE") {
        Ok(RangeUnit::Byte)
    } else if is_keyword(arg, "BIT") {
        Ok(RangeUnit::Bit)
    } else {
        Err(CommandError::Syntax)
    }
}

/// The inclusive bit range `start..=end` selects in a string of `len_bytes`:
/// negative indexes count from the end, both ends are clamped into the
/// string. None when the range is empty.
fn resolve_bit_range(len_bytes: usize, start: i64, end: i64, unit: RangeUnit) -> Option<(u64, u64)> {
    let total = match unit {
        RangeUnit::Byte => len_bytes as i64,
        RangeUnit::Bit => len_bytes as i64 * 8,
    };
    let start = if start < 0 { total.saturating_add(start) } else { start }.max(0);
    let end = if end < 0 { total.saturating_add(end) } else { end }
        .max(0)
        .min(total - 1);
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    match unit {
        RangeUnit::Byte => Some((start * 8, end * 8 + 7)),
        RangeUnit::Bit => Some((start, end)),
    }
}

/// The bits of byte `index` that lie inside `first_bit..=last_bit`, as a mask.
fn byte_mask_in_range(index: u64, first_bit: u64, last_bit: u64) -> u8 {
    let byte_first = index * 8;
    let skip_high = first_bit.saturating_sub(byte_first).min(8) as u32;
    let skip_low = (byte_first + 7).saturating_sub(last_bit).min(8) as u32;
    let high_cleared = 0xFFu16 >> skip_high;
    let both_cleared = (high_cleared >> skip_low) << skip_low;
    both_cleared as u8
}

/// Set bits in `bytes`, eight bytes at a time.
fn count_ones(bytes: &[u8]) -> u64 {
    let chunks = bytes.chunks_exact(8);
    let tail = chunks.remainder();
    let mut total: u64 = chunks
        .map(|chunk| u64::from_ne_bytes(chunk.try_into().expect("chunks of 8")).count_ones() as u64)
        .sum();
    total += tail.iter().map(|byte| byte.count_ones() as u64).sum::<u64>();
    total
}

/// Set bits within the inclusive bit range (which lies inside `bytes`).
fn count_bits_in_range(bytes: &[u8], first_bit: u64, last_bit: u64) -> u64 {
    let (first_byte, last_byte) = (first_bit / 8, last_bit / 8);
    let whole = count_ones(&bytes[first_byte as usize..=last_byte as usize]);
    let head_outside = bytes[first_byte as usize] & !byte_mask_in_range(first_byte, first_bit, last_bit);
    let tail_outside = if last_byte != first_byte {
        bytes[last_byte as usize] & !byte_mask_in_range(last_byte, first_bit, last_bit)
    } else {
        0
    };
    whole - head_outside.count_ones() as u64 - tail_outside.count_ones() as u64
}

/// `BITCOUNT key [start end [BYTE | BIT]]`
fn bitcount(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let Some(bytes) = read_bitmap(core, &args[1])? else {
        return Ok(Frame::integer(0));
    };
    let range = match args.len() {
        2 => resolve_bit_range(bytes.len(), 0, -1, RangeUnit::Byte),
        4 | 5 => {
            let start = parse_i64(&args[2]).ok_or(CommandError::NotInteger)?;
            let end = parse_i64(&args[3]).ok_or(CommandError::NotInteger)?;
            // Redis answers this empty range before it reads the unit.
            if start < 0 && end < 0 && start > end {
                return Ok(Frame::integer(0));
            }
            let unit = match args.get(4) {
                Some(arg) => parse_range_unit(arg)?,
                None => RangeUnit::Byte,
            };
            resolve_bit_range(bytes.len(), start, end, unit)
        }
        _ => return Err(CommandError::Syntax),
    };
    let count = range.map_or(0, |(first_bit, last_bit)| {
        count_bits_in_range(bytes, first_bit, last_bit)
    });
    Ok(Frame::integer(count as i64))
}

/// The first bit equal to `bit` within the inclusive bit range (which lies
/// inside `bytes`). Whole words in the middle are skipped eight bytes at a
/// time.
fn first_bit_in_range(bytes: &[u8], bit: u8, first_bit: u64, last_bit: u64) -> Option<u64> {
    let wanted = |byte: u8| if bit == 1 { byte } else { !byte };
    let (first_byte, last_byte) = (first_bit / 8, last_bit / 8);
    let check_edge = |index: u64| {
        let masked = wanted(bytes[index as usize]) & byte_mask_in_range(index, first_bit, last_bit);
        (masked != 0).then(|| index * 8 + masked.leading_zeros() as u64)
    };
    if let Some(position) = check_edge(first_byte) {
        return Some(position);
    }
    if last_byte == first_byte {
        return None;
    }
    let middle_start = first_byte as usize + 1;
    let middle = &bytes[middle_start..last_byte as usize];
    let chunks = middle.chunks_exact(8);
    let tail = chunks.remainder();
    let tail_start = middle_start + middle.len() - tail.len();
    for (chunk_index, chunk) in chunks.enumerate() {
        let word = u64::from_be_bytes(chunk.try_into().expect("chunks of 8"));
        let word = if bit == 1 { word } else { !word };
        if word != 0 {
            let chunk_start = (middle_start + chunk_index * 8) as u64;
            return Some(chunk_start * 8 + word.leading_zeros() as u64);
        }
    }
    for (offset, &byte) in tail.iter().enumerate() {
        let byte = wanted(byte);
        if byte != 0 {
            return Some((tail_start + offset) as u64 * 8 + byte.leading_zeros() as u64);
        }
    }
    check_edge(last_byte)
}

/// `BITPOS key bit [start [end [BYTE | BIT]]]`
///
/// Without an explicit `end`, the string counts as followed by zero bits, so
/// a search for 0 in an all-ones range answers the first bit after it.
fn bitpos(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let bit = match parse_i64(&args[2]).ok_or(CommandError::NotInteger)? {
        0 => 0u8,
        1 => 1u8,
        _ => return Err(CommandError::other("ERR The bit argument must be 1 or 0.")),
    };
    let Some(bytes) = read_bitmap(core, &args[1])? else {
        return Ok(Frame::integer(if bit == 1 { -1 } else { 0 }));
    };
    if args.len() > 6 {
        return Err(CommandError::Syntax);
    }
    let start = args
        .get(3)
        .map(|arg| parse_i64(arg).ok_or(CommandError::NotInteger))
        .transpose()?;
    let unit = match args.get(5) {
        Some(arg) => parse_range_unit(arg)?,
        None => RangeUnit::Byte,
    };
    let end = args
        .get(4)
        .map(|arg| parse_i64(arg).ok_or(CommandError::NotInteger))
        .transpose()?;
    let Some((first_bit, last_bit)) = resolve_bit_range(bytes.len(), start.unwrap_or(0), end.unwrap_or(-1), unit)
    else {
        return Ok(Frame::integer(-1));
    };
    let position = match first_bit_in_range(bytes, bit, first_bit, last_bit) {
        Some(position) => position as i64,
        None if bit == 0 && end.is_none() => last_bit as i64 + 1,
        None => -1,
    };
    Ok(Frame::integer(position))
}

// ---------------------------------------------------------------------------
// BITOP
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BitOperation {
    And,
    Or,
    Xor,
    Not,
}

/// The result of `operation` over `sources`, as long as the longest source;
/// shorter sources count as padded with zero bytes.
fn apply_bit_operation(operation: BitOperation, sources: &[&[u8]]) -> Vec<u8> {
    let longest = sources.iter().map(|source| source.len()).max().unwrap_or(0);
    let mut result = vec![0u8; longest];
    let Some((first, rest)) = sources.split_first() else {
        return result;
    };
    result[..first.len()].copy_from_slice(first);
    match operation {
        BitOperation::Not => result.iter_mut().for_each(|byte| *byte = !*byte),
        BitOperation::And => {
            for source in rest {
                result
                    .iter_mut()
                    .zip(source.iter())
                    .for_each(|(byte, other)| *byte &= other);
                result[source.len()..].fill(0);
            }
        }
        BitOperation::Or => {
            for source in rest {
                result
                    .iter_mut()
                    .zip(source.iter())
                    .for_each(|(byte, other)| *byte |= other);
            }
        }
        BitOperation::Xor => {
            for source in rest {
                result
                    .iter_mut()
                    .zip(source.iter())
                    .for_each(|(byte, other)| *byte ^= other);
            }
        }
    }
    result
}

/// `BITOP <AND | OR | XOR | NOT> destkey key [key ...]`
///
/// Stores the result as a raw string without TTL (replacing a value of any
/// type), or deletes `destkey` when every source is empty or missing.
/// Replies with the result's length.
fn bitop(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    let operation = [
        ("AND", BitOperation::And),
        ("OR", BitOperation::Or),
        ("XOR", BitOperation::Xor),
        ("NOT", BitOperation::Not),
    ]
    .into_iter()
    .find(|(name, _)| is_keyword(&args[1], name))
    .map(|(_, operation)| operation)
    .ok_or(CommandError::Syntax)?;
    let (destination, source_keys) = (&args[2], &args[3..]);
    if operation == BitOperation::Not && source_keys.len() != 1 {
        return Err(CommandError::other(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    // First pass: expiry, hit counting and type checks. Second: borrow every
    // source at once, without copying them.
    for key in source_keys {
        read_bitmap(core, key)?;
    }
    let keyspace = &core.keyspace;
    let sources: Vec<&[u8]> = source_keys
        .iter()
        .map(|key| match keyspace.get(key, core.now_ms).map(|record| &record.value) {
            Some(Value::String(bytes)) => bytes.as_slice(),
            _ => &[],
        })
        .collect();
    let result = apply_bit_operation(operation, &sources);
    let result_len = result.len();
    if result_len == 0 {
        core.keyspace.remove(destination);
        return Ok(Frame::integer(0));
    }
    let mut record = Record::new(
        SmallBytes::from_slice(destination),
        Value::String(SmallBytes::from_vec(result)),
        (core.now_ms / 1000) as u32,
    );
    record.flags |= FLAG_RAW_STRING;
    core.keyspace.insert_record(record, None);
    Ok(Frame::integer(result_len as i64))
}

// ---------------------------------------------------------------------------
// BITFIELD, BITFIELD_RO
// ---------------------------------------------------------------------------

/// A BITFIELD integer type: `i1`..`i64` or `u1`..`u63`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FieldType {
    signed: bool,
    bits: u32,
}

fn parse_field_type(arg: &[u8]) -> Result<FieldType, CommandError> {
    let refusal = || {
        CommandError::other(
            "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
        )
    };
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(refusal()),
    };
    let bits = parse_i64(&arg[1..]).ok_or_else(refusal)?;
    let bits_max = if signed { 64 } else { 63 };
    if !(1..=bits_max).contains(&bits) {
        return Err(refusal());
    }
    Ok(FieldType {
        signed,
        bits: bits as u32,
    })
}

/// What SET and INCRBY do when the result does not fit the type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OverflowPolicy {
    /// Keep the low bits (modular arithmetic, two's complement for signed).
    Wrap,
    /// Clamp to the type's minimum or maximum.
    Saturate,
    /// Write nothing and reply nil.
    Fail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FieldOperation {
    Get,
    Set(i64),
    IncrementBy(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FieldCommand {
    operation: FieldOperation,
    field: FieldType,
    offset: u64,
    overflow: OverflowPolicy,
}

/// Parses BITFIELD's subcommands, all of them before any runs, as Redis does.
fn parse_field_commands(args: &[Bytes], limit_bytes: usize) -> Result<Vec<FieldCommand>, CommandError> {
    let mut commands = Vec::new();
    let mut overflow = OverflowPolicy::Wrap;
    let mut index = 2;
    while index < args.len() {
        let name = &args[index];
        let remaining = args.len() - index - 1;
        let has_value = if is_keyword(name, "GET") && remaining >= 2 {
            false
        } else if (is_keyword(name, "SET") || is_keyword(name, "INCRBY")) && remaining >= 3 {
            true
        } else if is_keyword(name, "OVERFLOW") && remaining >= 1 {
            let policy = &args[index + 1];
            overflow = if is_keyword(policy, "WRAP") {
                OverflowPolicy::Wrap
            } else if is_keyword(policy, "SAT") {
                OverflowPolicy::Saturate
            } else if is_keyword(policy, "FAIL") {
                OverflowPolicy::Fail
            } else {
                return Err(CommandError::other("ERR Invalid OVERFLOW type specified"));
            };
            index += 2;
            continue;
        } else {
            return Err(CommandError::Syntax);
        };
        let field = parse_field_type(&args[index + 1])?;
        let offset = parse_bit_offset(&args[index + 2], Some(field.bits), limit_bytes)?;
        let operation = if !has_value {
            FieldOperation::Get
        } else {
            let value = parse_i64(&args[index + 3]).ok_or(CommandError::NotInteger)?;
            if is_keyword(name, "SET") {
                FieldOperation::Set(value)
            } else {
                FieldOperation::IncrementBy(value)
            }
        };
        commands.push(FieldCommand {
            operation,
            field,
            offset,
            overflow,
        });
        index += if has_value { 4 } else { 3 };
    }
    Ok(commands)
}

/// Reads `bits` bits at bit `offset` as an unsigned integer; bits past the
/// end of `bytes` read as zero.
fn read_unsigned_field(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    (0..bits as u64).fold(0u64, |value, index| (value << 1) | bit_at(bytes, offset + index) as u64)
}

/// Reads a field of either signedness, sign-extending signed ones.
fn read_field(bytes: &[u8], offset: u64, field: FieldType) -> i64 {
    let raw = read_unsigned_field(bytes, offset, field.bits);
    if field.signed {
        sign_extend(raw, field.bits)
    } else {
        raw as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset` (which `bytes` holds).
fn write_field(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for index in 0..bits as u64 {
        let bit = ((value >> (bits as u64 - 1 - index)) & 1) as u8;
        let position = offset + index;
        let byte = &mut bytes[(position / 8) as usize];
        let shift = 7 - (position % 8);
        *byte = (*byte & !(1 << shift)) | (bit << shift);
    }
}

fn sign_extend(raw: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((raw << shift) as i64) >> shift
}

/// The value to store for `value + increment` in `field` under `policy`, or
/// None when the policy is FAIL and the result does not fit. For SET the
/// increment is 0 and `value` is the argument (an unsigned field reads it as
/// its 64-bit two's complement, as Redis does).
fn field_result(field: FieldType, value: i64, increment: i64, policy: OverflowPolicy) -> Option<i64> {
    let (min, max): (i128, i128) = if field.signed {
        let max = (1i128 << (field.bits - 1)) - 1;
        (-max - 1, max)
    } else {
        (0, (1i128 << field.bits) - 1)
    };
    let value_wide = if field.signed {
        value as i128
    } else {
        value as u64 as i128
    };
    let sum = value_wide + increment as i128;
    let above = value_wide > max || sum > max;
    let below = !above && (value_wide < min || sum < min);
    if !above && !below {
        return Some(sum as i64);
    }
    match policy {
        OverflowPolicy::Fail => None,
        OverflowPolicy::Saturate => Some(if above { max as i64 } else { min as i64 }),
        OverflowPolicy::Wrap => {
            let wrapped = (value as u64).wrapping_add(increment as u64);
            if field.signed {
                Some(sign_extend(wrapped, field.bits))
            } else {
                Some((wrapped & ((1u64 << field.bits) - 1)) as i64)
            }
        }
    }
}

/// Runs one SET or INCRBY on a string that holds the field; the reply is the
/// old value (SET), the new value (INCRBY), or nil on a FAIL overflow.
fn run_field_write(bytes: &mut [u8], command: &FieldCommand) -> Frame {
    let old = read_field(bytes, command.offset, command.field);
    let (new, reply_new) = match command.operation {
        FieldOperation::Set(value) => (field_result(command.field, value, 0, command.overflow), false),
        FieldOperation::IncrementBy(increment) => (field_result(command.field, old, increment, command.overflow), true),
        FieldOperation::Get => return Frame::integer(old),
    };
    let Some(new) = new else {
        return Frame::Null;
    };
    write_field(bytes, command.offset, command.field.bits, new as u64);
    Frame::integer(if reply_new { new } else { old })
}

/// BITFIELD and BITFIELD_RO: parse every subcommand, then look the key up
/// for reading (only GETs) or writing, then run them in order.
fn bitfield_generic(core: &mut ShardCore, args: &[Bytes], read_only_command: bool) -> CommandResult {
    let limit_bytes = core.config.load().proto_max_bulk_len;
    let commands = parse_field_commands(args, limit_bytes)?;
    let highest_written_bit = commands
        .iter()
        .filter(|command| command.operation != FieldOperation::Get)
        .map(|command| command.offset + command.field.bits as u64 - 1)
        .max();
    let Some(highest_written_bit) = highest_written_bit else {
        let bytes = read_bitmap(core, &args[1])?.map_or(&[][..], |bytes| bytes.as_slice());
        let replies = commands
            .iter()
            .map(|command| Frame::integer(read_field(bytes, command.offset, command.field)))
            .collect();
        return Ok(Frame::Array(replies));
    };
    if read_only_command {
        return Err(CommandError::other("ERR BITFIELD_RO only supports the GET subcommand"));
    }
    let replies = with_writable_bitmap(core, &args[1], highest_written_bit, |bytes| {
        commands.iter().map(|command| run_field_write(bytes, command)).collect()
    })?;
    Ok(Frame::Array(replies))
}

/// `BITFIELD key [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>] <SET encoding offset value | INCRBY encoding offset increment> [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>] <SET encoding offset value | INCRBY encoding offset increment> ...]]`
fn bitfield(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    bitfield_generic(core, args, false)
}

/// `BITFIELD_RO key [GET encoding offset [GET encoding offset ...]]`
fn bitfield_ro(core: &mut ShardCore, args: &[Bytes]) -> CommandResult {
    bitfield_generic(core, args, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT_BYTES: usize = 512 * 1024 * 1024;

    /// The obvious bit-by-bit answers, to check the word-at-a-time ones.
    fn naive_count(bytes: &[u8], first_bit: u64, last_bit: u64) -> u64 {
        (first_bit..=last_bit).map(|bit| bit_at(bytes, bit) as u64).sum()
    }

    fn naive_first(bytes: &[u8], bit: u8, first_bit: u64, last_bit: u64) -> Option<u64> {
        (first_bit..=last_bit).find(|&position| bit_at(bytes, position) == bit)
    }

    #[test]
    fn bit_offsets_follow_redis_limits() {
        assert_eq!(parse_bit_offset(b"0", None, LIMIT_BYTES), Ok(0));
        assert_eq!(parse_bit_offset(b"#3", Some(8), LIMIT_BYTES), Ok(24));
        assert!(parse_bit_offset(b"#3", None, LIMIT_BYTES).is_err());
        assert!(parse_bit_offset(b"-1", None, LIMIT_BYTES).is_err());
        assert!(parse_bit_offset(b"abc", None, LIMIT_BYTES).is_err());
        assert!(parse_bit_offset(b"", None, LIMIT_BYTES).is_err());
        assert_eq!(parse_bit_offset(b"8388607", None, 1 << 20), Ok(8_388_607));
        assert!(parse_bit_offset(b"8388608", None, 1 << 20).is_err());
        assert!(parse_bit_offset(b"#9223372036854775807", Some(64), LIMIT_BYTES).is_err());
    }

    #[test]
    fn ranges_clamp_like_getrange() {
        assert_eq!(resolve_bit_range(6, 0, -1, RangeUnit::Byte), Some((0, 47)));
        assert_eq!(resolve_bit_range(6, 1, 1, RangeUnit::Byte), Some((8, 15)));
        assert_eq!(resolve_bit_range(6, 5, 30, RangeUnit::Bit), Some((5, 30)));
        assert_eq!(resolve_bit_range(6, -100, 100, RangeUnit::Bit), Some((0, 47)));
        assert_eq!(resolve_bit_range(6, 4, 2, RangeUnit::Byte), None);
        assert_eq!(resolve_bit_range(0, 0, -1, RangeUnit::Byte), None);
        assert_eq!(resolve_bit_range(6, i64::MIN, i64::MAX, RangeUnit::Bit), Some((0, 47)));
    }

    #[test]
    fn masks_select_the_bits_of_a_byte_in_range() {
        assert_eq!(byte_mask_in_range(0, 0, 7), 0xFF);
        assert_eq!(byte_mask_in_range(0, 3, 7), 0b0001_1111);
        assert_eq!(byte_mask_in_range(0, 0, 4), 0b1111_1000);
        assert_eq!(byte_mask_in_range(1, 10, 12), 0b0011_1000);
        assert_eq!(byte_mask_in_range(2, 0, 100), 0xFF);
    }

    #[test]
    fn word_at_a_time_counting_and_search_match_the_naive_answers() {
        let bytes: Vec<u8> = (0..67u32)
            .map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut sparse = vec![0u8; 67];
        sparse[40] = 0b0000_0100;
        let mut dense = vec![0xFFu8; 67];
        dense[50] = 0b1110_1111;
        let bit_len = 67 * 8;
        for (first_bit, last_bit) in [
            (0, bit_len - 1),
            (3, 300),
            (13, 14),
            (8, 15),
            (100, bit_len - 2),
            (7, 7),
        ] {
            assert_eq!(
                count_bits_in_range(&bytes, first_bit, last_bit),
                naive_count(&bytes, first_bit, last_bit)
            );
            for sample in [&bytes, &sparse, &dense] {
                for bit in [0, 1] {
                    assert_eq!(
                        first_bit_in_range(sample, bit, first_bit, last_bit),
                        naive_first(sample, bit, first_bit, last_bit),
                        "bit {bit} in {first_bit}..={last_bit}"
                    );
                }
            }
        }
    }

    #[test]
    fn bit_operations_pad_short_sources_with_zeros() {
        let sources: [&[u8]; 2] = [b"\xff\x0f", b"\xf0"];
        assert_eq!(apply_bit_operation(BitOperation::And, &sources), vec![0xF0, 0x00]);
        assert_eq!(apply_bit_operation(BitOperation::Or, &sources), vec![0xFF, 0x0F]);
        assert_eq!(apply_bit_operation(BitOperation::Xor, &sources), vec![0x0F, 0x0F]);
        assert_eq!(apply_bit_operation(BitOperation::Not, &sources[..1]), vec![0x00, 0xF0]);
        assert!(apply_bit_operation(BitOperation::Or, &[b"", b""]).is_empty());
    }

    #[test]
    fn field_types_refuse_u64_and_zero_widths() {
        assert_eq!(parse_field_type(b"i64"), Ok(FieldType { signed: true, bits: 64 }));
        assert_eq!(
            parse_field_type(b"u63"),
            Ok(FieldType {
                signed: false,
                bits: 63
            })
        );
        for bad in [&b"u64"[..], b"i65", b"i0", b"u", b"", b"x8", b"i08", b"i+8"] {
            assert!(parse_field_type(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn fields_round_trip_across_byte_boundaries() {
        let mut bytes = vec![0u8; 3];
        write_field(&mut bytes, 7, 5, 23);
        assert_eq!(bytes, vec![0b0000_0001, 0b0111_0000, 0]);
        assert_eq!(read_field(&bytes, 7, FieldType { signed: false, bits: 5 }), 23);
        assert_eq!(read_field(&bytes, 7, FieldType { signed: true, bits: 5 }), 23 - 32);
        assert_eq!(read_field(&bytes, 20, FieldType { signed: false, bits: 8 }), 0);
    }

    #[test]
    fn overflow_policies_match_redis() {
        let u8_field = FieldType { signed: false, bits: 8 };
        let i8_field = FieldType { signed: true, bits: 8 };
        let i64_field = FieldType { signed: true, bits: 64 };
        assert_eq!(field_result(u8_field, 250, 10, OverflowPolicy::Wrap), Some(4));
        assert_eq!(field_result(u8_field, 250, 10, OverflowPolicy::Saturate), Some(255));
        assert_eq!(field_result(u8_field, 250, 10, OverflowPolicy::Fail), None);
        assert_eq!(field_result(u8_field, 5, -10, OverflowPolicy::Saturate), Some(0));
        assert_eq!(field_result(u8_field, 5, -10, OverflowPolicy::Wrap), Some(251));
        // SET u8 of -1 reads -1 as 2^64 - 1: too big, so SAT gives the maximum.
        assert_eq!(field_result(u8_field, -1, 0, OverflowPolicy::Saturate), Some(255));
        assert_eq!(field_result(u8_field, -1, 0, OverflowPolicy::Wrap), Some(255));
        assert_eq!(field_result(i8_field, 120, 10, OverflowPolicy::Wrap), Some(-126));
        assert_eq!(field_result(i8_field, 120, 10, OverflowPolicy::Saturate), Some(127));
        assert_eq!(field_result(i8_field, -120, -10, OverflowPolicy::Saturate), Some(-128));
        assert_eq!(field_result(i8_field, 200, 0, OverflowPolicy::Wrap), Some(-56));
        assert_eq!(
            field_result(i64_field, i64::MAX, 1, OverflowPolicy::Wrap),
            Some(i64::MIN)
        );
        assert_eq!(field_result(i64_field, i64::MAX, 1, OverflowPolicy::Fail), None);
        assert_eq!(
            field_result(i64_field, i64::MIN, -1, OverflowPolicy::Saturate),
            Some(i64::MIN)
        );
        assert_eq!(field_result(i64_field, -5, 3, OverflowPolicy::Fail), Some(-2));
    }
}
