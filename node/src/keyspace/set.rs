//! The set value, in one of three encodings, as Redis 7.2 keeps sets:
//!
//! - `intset`: the members are all integers (Redis's canonical decimal
//!   form, `string2ll`), kept sorted in one array whose element width (16,
//!   32 or 64 bits) is the narrowest that holds every member. Lookups are
//!   binary searches; an insert or removal moves the tail, as Redis's intset
//!   does, which is cheap for the at most `set-max-intset-entries` members.
//! - `listpack`: a few short strings packed into one byte buffer, each entry
//!   a LEB128 length then the bytes, in insertion order. Lookups scan the
//!   buffer, as Redis's listpack does; the encoding holds at most
//!   `set-max-listpack-entries` members of at most `set-max-listpack-value`
//!   bytes, so a scan stays short.
//! - `hashtable`: a `Dict` of members, O(1) average lookups, inserts and
//!   removals, and the reverse-binary bucket cursor that keeps SSCAN stable
//!   while the table grows or shrinks.
//!
//! Conversions follow Redis 7.2 (`setTypeCreate`, `setTypeMaybeConvert`,
//! `setTypeAddAux`):
//! - a new set is an intset if its first member is an integer and the
//!   command adds at most `max_intset_entries` members, else a listpack if it
//!   adds at most `max_listpack_entries`, else a hashtable;
//! - before a command adds members, a compact set that the command's member
//!   count alone would overflow becomes a hashtable;
//! - an intset that receives a non-integer becomes a listpack if every member
//!   (the widest integer included) and the new one fit the listpack limits,
//!   else a hashtable; an intset with more than `max_intset_entries` members
//!   becomes a hashtable;
//! - a listpack that is full, or receives a member that is too long, becomes
//!   a hashtable.
//!
//! Removals never convert back. Two commands rebuild a set from scratch and
//! so may end up compact again, as in Redis: SINTERSTORE's result becomes an
//! intset when it holds only integers (`convert_to_intset_if_possible`), and
//! SPOP of most of a hashtable keeps the survivors in a new set.
//!
//! Random members of a hashtable are chosen by rejection sampling over
//! (bucket, chain position) pairs, which is uniform where `Dict::random_item`
//! (a random non-empty bucket, then a random member of its chain) favours
//! members with fewer chain neighbours: see `Hashtable`.
//!
//! DUMP/RESTORE see one canonical form, the sequence of members (integers in
//! decimal); deserializing rebuilds the encoding the default thresholds give,
//! as Redis's RDB loader picks the encoding of a set it reads.

use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;
use std::ops::{ControlFlow, Range};

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::dict::{key_hash, Dict, DictItem, PrefetchStep};
use super::small_bytes::SmallBytes;
use crate::commands::args::parse_i64;

/// Redis's `LISTPACK_MAX_SAFETY_SIZE`: a listpack never grows past 1 GiB.
const LISTPACK_SAFE_BYTES_MAX: usize = 1 << 30;

/// Redis caps an intset at 2^30 members whatever `set-max-intset-entries` says.
const INTSET_ENTRIES_MAX: usize = 1 << 30;

/// SPOP with a count keeps popping single members while the survivors
/// outnumber the popped ones by this factor; past it, it moves the survivors
/// into a new set instead (Redis's `SPOP_MOVE_STRATEGY_MUL`).
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

/// SRANDMEMBER with a positive count samples the whole hashtable in one pass
/// when it wants more than a third of it, and otherwise picks at random and
/// drops repeats (Redis's `SRANDMEMBER_SUB_STRATEGY_MUL`).
const SRANDMEMBER_SUB_STRATEGY_MUL: usize = 3;

/// When a set leaves its compact encodings: Redis's `set-max-intset-entries`,
/// `set-max-listpack-entries` and `set-max-listpack-value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetLimits {
    pub max_intset_entries: usize,
    pub max_listpack_entries: usize,
    pub max_listpack_value_bytes: usize,
}

impl SetLimits {
    /// Redis's defaults, used when no configuration is at hand (RESTORE).
    pub const DEFAULT: SetLimits = SetLimits {
        max_intset_entries: 512,
        max_listpack_entries: 128,
        max_listpack_value_bytes: 64,
    };

    fn intset_entries_max(&self) -> usize {
        self.max_intset_entries.min(INTSET_ENTRIES_MAX)
    }
}

// ---------------------------------------------------------------------------
// Members
// ---------------------------------------------------------------------------

/// A member as an encoding holds it: an intset holds integers, the others
/// bytes. `Integer(7)` and `Bytes(b"7")` are the same member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member<'a> {
    Integer(i64),
    Bytes(&'a [u8]),
}

impl Member<'_> {
    /// Calls `visit` with the member's bytes (an integer in decimal, written
    /// into a stack buffer).
    pub fn with_bytes<R>(self, visit: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Member::Bytes(bytes) => visit(bytes),
            Member::Integer(value) => visit(IntegerText::new(value).as_bytes()),
        }
    }

    pub fn to_small_bytes(self) -> SmallBytes {
        self.with_bytes(SmallBytes::from_slice)
    }

    /// Length of the member's bytes.
    pub fn len_bytes(self) -> usize {
        match self {
            Member::Bytes(bytes) => bytes.len(),
            Member::Integer(value) => IntegerText::new(value).as_bytes().len(),
        }
    }

    /// The member as an integer, if its bytes are one in canonical form.
    fn as_integer(self) -> Option<i64> {
        match self {
            Member::Integer(value) => Some(value),
            Member::Bytes(bytes) => parse_i64(bytes),
        }
    }
}

/// The decimal text of an integer, without allocating: 20 bytes hold
/// `i64::MIN`, sign included.
struct IntegerText {
    buffer: [u8; 20],
    start: usize,
}

impl IntegerText {
    fn new(value: i64) -> IntegerText {
        let mut buffer = [0u8; 20];
        let mut start = buffer.len();
        let mut magnitude = value.unsigned_abs();
        loop {
            start -= 1;
            buffer[start] = b'0' + (magnitude % 10) as u8;
            magnitude /= 10;
            if magnitude == 0 {
                break;
            }
        }
        if value < 0 {
            start -= 1;
            buffer[start] = b'-';
        }
        IntegerText { buffer, start }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buffer[self.start..]
    }
}

// ---------------------------------------------------------------------------
// Randomness
// ---------------------------------------------------------------------------

thread_local! {
    /// wyrand state, seeded once per thread: random picks are on the SPOP hot
    /// path, where a cryptographic generator would cost more than the pick.
    static RANDOM_STATE: Cell<u64> = Cell::new(rand::random());
}

fn random_u64() -> u64 {
    RANDOM_STATE.with(|state| {
        let next = state.get().wrapping_add(0xa076_1d64_78bd_642f);
        state.set(next);
        let product = (next as u128).wrapping_mul((next ^ 0xe703_7ed1_a0b4_28db) as u128);
        ((product >> 64) ^ product) as u64
    })
}

/// A random number in `0..bound` (`bound > 0`), by multiply-and-shift: the
/// bias is below `bound / 2^64`.
fn random_below(bound: usize) -> usize {
    debug_assert!(bound > 0);
    ((random_u64() as u128 * bound as u128) >> 64) as usize
}

/// Calls `select` for `count` of the positions `0..len`, chosen uniformly
/// without repetition, in ascending order (Knuth's selection sampling,
/// Algorithm S: one pass, no memory).
fn select_positions(len: usize, count: usize, mut select: impl FnMut(usize)) {
    debug_assert!(count <= len);
    let mut wanted = count;
    for position in 0..len {
        if wanted == 0 {
            return;
        }
        if random_below(len - position) < wanted {
            select(position);
            wanted -= 1;
        }
    }
    debug_assert_eq!(wanted, 0);
}

// ---------------------------------------------------------------------------
// intset
// ---------------------------------------------------------------------------

/// Sorted integers, stored at the narrowest width that holds them all.
#[derive(Clone, Debug)]
enum IntSet {
    Narrow(Vec<i16>),
    Medium(Vec<i32>),
    Wide(Vec<i64>),
}

/// Runs `$body` with `$values` bound to the intset's vector, whatever its width.
macro_rules! with_values {
    ($intset:expr, $values:ident => $body:expr) => {
        match $intset {
            IntSet::Narrow($values) => $body,
            IntSet::Medium($values) => $body,
            IntSet::Wide($values) => $body,
        }
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum IntWidth {
    Narrow,
    Medium,
    Wide,
}

impl IntWidth {
    fn of(value: i64) -> IntWidth {
        if i16::try_from(value).is_ok() {
            IntWidth::Narrow
        } else if i32::try_from(value).is_ok() {
            IntWidth::Medium
        } else {
            IntWidth::Wide
        }
    }
}

// `with_values!` instantiates each body for i16, i32 and i64; for i64 the
// conversions to and from i64 are the identity.
#[allow(clippy::useless_conversion)]
impl IntSet {
    fn new() -> IntSet {
        IntSet::Narrow(Vec::new())
    }

    /// An intset of `values`, which must be sorted and distinct.
    fn from_sorted(values: Vec<i64>) -> IntSet {
        debug_assert!(values.windows(2).all(|pair| pair[0] < pair[1]));
        let width = match (values.first(), values.last()) {
            (Some(&min), Some(&max)) => IntWidth::of(min).max(IntWidth::of(max)),
            _ => IntWidth::Narrow,
        };
        // The values fit the chosen width, so the casts are exact.
        match width {
            IntWidth::Narrow => IntSet::Narrow(values.into_iter().map(|value| value as i16).collect()),
            IntWidth::Medium => IntSet::Medium(values.into_iter().map(|value| value as i32).collect()),
            IntWidth::Wide => IntSet::Wide(values),
        }
    }

    fn width(&self) -> IntWidth {
        match self {
            IntSet::Narrow(_) => IntWidth::Narrow,
            IntSet::Medium(_) => IntWidth::Medium,
            IntSet::Wide(_) => IntWidth::Wide,
        }
    }

    fn len(&self) -> usize {
        with_values!(self, values => values.len())
    }

    fn get(&self, index: usize) -> i64 {
        with_values!(self, values => i64::from(values[index]))
    }

    fn iter(&self) -> IntSetIter<'_> {
        match self {
            IntSet::Narrow(values) => IntSetIter::Narrow(values.iter()),
            IntSet::Medium(values) => IntSetIter::Medium(values.iter()),
            IntSet::Wide(values) => IntSetIter::Wide(values.iter()),
        }
    }

    fn contains(&self, value: i64) -> bool {
        with_values!(self, values => match value.try_into() {
            Ok(narrowed) => values.binary_search(&narrowed).is_ok(),
            Err(_) => false,
        })
    }

    /// Adds `value`; false if it was already there. The array grows by
    /// exactly one slot, as Redis's intset does, so it never holds spare room.
    fn insert(&mut self, value: i64) -> bool {
        if IntWidth::of(value) > self.width() {
            // A value wider than every member is below or above all of them.
            let mut values: Vec<i64> = self.iter().collect();
            if values.first().is_some_and(|&min| value < min) {
                values.insert(0, value);
            } else {
                values.push(value);
            }
            *self = IntSet::from_sorted(values);
            return true;
        }
        with_values!(self, values => {
            let narrowed = match value.try_into() {
                Ok(narrowed) => narrowed,
                Err(_) => unreachable!("the intset was widened for {value}"),
            };
            match values.binary_search(&narrowed) {
                Ok(_) => false,
                Err(position) => {
                    values.reserve_exact(1);
                    values.insert(position, narrowed);
                    true
                }
            }
        })
    }

    fn remove(&mut self, value: i64) -> bool {
        with_values!(self, values => {
            let narrowed = match value.try_into() {
                Ok(narrowed) => narrowed,
                Err(_) => return false,
            };
            match values.binary_search(&narrowed) {
                Ok(position) => {
                    values.remove(position);
                    shrink_if_sparse(values);
                    true
                }
                Err(_) => false,
            }
        })
    }

    fn remove_at(&mut self, index: usize) -> i64 {
        with_values!(self, values => {
            let value = i64::from(values.remove(index));
            shrink_if_sparse(values);
            value
        })
    }

    /// Keeps the members whose position `keep` accepts, in one pass.
    fn retain_positions(&mut self, mut keep: impl FnMut(usize) -> bool) {
        with_values!(self, values => {
            let mut position = 0;
            values.retain(|_| {
                let kept = keep(position);
                position += 1;
                kept
            });
            shrink_if_sparse(values);
        })
    }

    fn min_max(&self) -> Option<(i64, i64)> {
        let len = self.len();
        (len > 0).then(|| (self.get(0), self.get(len - 1)))
    }

    fn heap_size_bytes(&self) -> usize {
        with_values!(self, values => capacity_bytes(values))
    }
}

fn capacity_bytes<T>(values: &Vec<T>) -> usize {
    values.capacity() * std::mem::size_of::<T>()
}

/// Gives memory back once a compact array is less than half full.
fn shrink_if_sparse<T>(values: &mut Vec<T>) {
    if values.capacity() > 2 * values.len() + 8 {
        values.shrink_to_fit();
    }
}

enum IntSetIter<'a> {
    Narrow(std::slice::Iter<'a, i16>),
    Medium(std::slice::Iter<'a, i32>),
    Wide(std::slice::Iter<'a, i64>),
}

impl Iterator for IntSetIter<'_> {
    type Item = i64;

    fn next(&mut self) -> Option<i64> {
        match self {
            IntSetIter::Narrow(values) => values.next().map(|&value| i64::from(value)),
            IntSetIter::Medium(values) => values.next().map(|&value| i64::from(value)),
            IntSetIter::Wide(values) => values.next().copied(),
        }
    }
}

// ---------------------------------------------------------------------------
// listpack
// ---------------------------------------------------------------------------

/// Members packed into one buffer: `len bytes len bytes ...`, each length
/// in LEB128, in insertion order.
#[derive(Clone, Debug, Default)]
struct Listpack {
    bytes: Vec<u8>,
    len: usize,
}

fn write_length(out: &mut Vec<u8>, mut length: usize) {
    loop {
        let low_bits = (length & 0x7f) as u8;
        length >>= 7;
        if length == 0 {
            out.push(low_bits);
            return;
        }
        out.push(low_bits | 0x80);
    }
}

/// Decodes a LEB128 length at the start of `bytes`: (length, prefix bytes),
/// or None if the buffer ends inside it.
fn read_length(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut length = 0usize;
    for (index, &byte) in bytes.iter().enumerate().take(10) {
        length |= ((byte & 0x7f) as usize) << (7 * index);
        if byte & 0x80 == 0 {
            return Some((length, index + 1));
        }
    }
    None
}

impl Listpack {
    fn iter(&self) -> ListpackIter<'_> {
        ListpackIter {
            bytes: &self.bytes,
            offset: 0,
        }
    }

    /// The byte range of `member`'s entry, prefix included.
    fn find(&self, member: &[u8]) -> Option<Range<usize>> {
        let mut entries = self.iter();
        loop {
            let start = entries.offset;
            let entry = entries.next()?;
            if entry == member {
                return Some(start..entries.offset);
            }
        }
    }

    /// The entry at `index` and its byte range, prefix included.
    fn nth_entry(&self, index: usize) -> Option<(Range<usize>, &[u8])> {
        let mut entries = self.iter();
        for _ in 0..index {
            entries.next()?;
        }
        let start = entries.offset;
        let member = entries.next()?;
        Some((start..entries.offset, member))
    }

    fn push(&mut self, member: &[u8]) {
        let prefix_bytes = (usize::BITS - member.len().leading_zeros()).div_ceil(7).max(1) as usize;
        self.bytes.reserve_exact(prefix_bytes + member.len());
        write_length(&mut self.bytes, member.len());
        self.bytes.extend_from_slice(member);
        self.len += 1;
    }

    fn remove_range(&mut self, range: Range<usize>) {
        self.bytes.drain(range);
        self.len -= 1;
        shrink_if_sparse(&mut self.bytes);
    }
}

struct ListpackIter<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Iterator for ListpackIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = &self.bytes[self.offset..];
        if rest.is_empty() {
            return None;
        }
        let Some((length, prefix_bytes)) = read_length(rest) else {
            debug_assert!(false, "listpack entry prefix cut short");
            return None;
        };
        let Some(member) = rest.get(prefix_bytes..prefix_bytes + length) else {
            debug_assert!(false, "listpack entry cut short");
            return None;
        };
        self.offset += prefix_bytes + length;
        Some(member)
    }
}

// ---------------------------------------------------------------------------
// hashtable
// ---------------------------------------------------------------------------

/// One member of a hashtable-encoded set.
#[derive(Clone, Debug)]
struct SetMember(SmallBytes);

impl DictItem for SetMember {
    fn key(&self) -> &[u8] {
        &self.0
    }
}

/// A hashtable-encoded set: the members in a `Dict`, plus an upper bound on
/// its longest bucket chain, which random picks need to be uniform.
///
/// Random picks: `Dict::random_item` takes a random non-empty bucket, then a
/// random member of its chain, so a member of a chain of length c is picked
/// with probability 1/(c × non-empty buckets), which favours members alone
/// in their bucket two to one over members of two-member chains. Here a pick
/// draws a bucket and a chain position below `chain_len_bound`, both
/// uniformly, and draws again when no member sits there: every member then
/// has the same chance, 1/(buckets × bound), per draw. A draw succeeds with
/// probability load factor / bound, so a pick reads about bound / load
/// factor buckets; with the `Dict`'s load factor between 1/8 and 1 and
/// chains of a few members, that is about 10 to 40 bucket reads (Redis's
/// `dictGetFairRandomKey`, which is only approximately fair, reads about 15
/// entries).
///
/// The bound is kept by this type's insert and remove: an insert raises it
/// to the new member's chain length, a removal cannot lengthen a chain, and
/// after the `Dict` resizes (which regroups the chains) it is measured anew,
/// which costs about as much as the resize did.
struct Hashtable {
    members: Dict<SetMember>,
    /// No chain is longer; exact right after a measurement.
    chain_len_bound: usize,
    /// The bucket count at the last measurement.
    measured_bucket_count: usize,
}

impl Hashtable {
    fn with_capacity(members: usize) -> Hashtable {
        Hashtable {
            members: Dict::with_capacity(members),
            chain_len_bound: 0,
            measured_bucket_count: 0,
        }
    }

    fn len(&self) -> usize {
        self.members.len()
    }

    fn contains(&self, member: &[u8]) -> bool {
        self.members.get(member).is_some()
    }

    fn insert(&mut self, member: &[u8]) -> bool {
        let added = self.members.insert(SetMember(SmallBytes::from_slice(member))).is_none();
        if self.members.bucket_count() != self.measured_bucket_count {
            self.measure_chains();
        } else if added {
            self.chain_len_bound = self.chain_len_bound.max(self.chain_len_of(member));
        }
        added
    }

    fn remove(&mut self, member: &[u8]) -> bool {
        let removed = self.members.remove(member).is_some();
        if self.members.bucket_count() != self.measured_bucket_count {
            self.measure_chains();
        }
        removed
    }

    fn iter(&self) -> impl Iterator<Item = &SetMember> {
        self.members.iter()
    }

    /// Length of the chain `member` hashes to. Relies on `Dict` placing a key
    /// in bucket `key_hash(key) & (buckets - 1)`, the bucket `scan_bucket`
    /// visits for that cursor; debug builds check that the member is there.
    fn chain_len_of(&self, member: &[u8]) -> usize {
        let mask = self.members.bucket_count() as u64 - 1;
        let bucket = key_hash(member) & mask;
        let mut chain_len = 0;
        let mut found = false;
        self.members.scan_bucket(bucket, |item| {
            chain_len += 1;
            found |= *item.0 == *member;
        });
        debug_assert!(found, "the member's chain is where Dict puts it");
        chain_len
    }

    fn measure_chains(&mut self) {
        let mut longest = 0;
        for bucket in 0..self.members.bucket_count() {
            let mut chain_len = 0;
            self.members.scan_bucket(bucket as u64, |_| chain_len += 1);
            longest = longest.max(chain_len);
        }
        self.chain_len_bound = longest;
        self.measured_bucket_count = self.members.bucket_count();
    }

    /// A (bucket, chain position) holding a member, chosen uniformly (see
    /// the type's comment). None only if the set is empty or the draws ran
    /// out, which a bound of 32 times the expected draws makes happen with
    /// probability below e^-32.
    fn random_position(&self) -> Option<(u64, usize)> {
        if self.members.is_empty() {
            return None;
        }
        let bucket_count = self.members.bucket_count();
        let positions = self.chain_len_bound.max(1);
        let expected_draws = (bucket_count * positions).div_ceil(self.members.len());
        for _ in 0..32 * expected_draws + 32 {
            let bucket = random_below(bucket_count) as u64;
            let position = random_below(positions);
            let mut chain_len = 0;
            self.members.scan_bucket(bucket, |_| chain_len += 1);
            debug_assert!(
                chain_len <= positions,
                "chain of {chain_len} over the bound {positions}"
            );
            if position < chain_len {
                return Some((bucket, position));
            }
        }
        None
    }

    /// Calls `visit` with a member chosen uniformly at random (or, if the
    /// draws ran out, by `Dict::random_item`); None if the set is empty.
    fn with_random_member<R>(&self, visit: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let mut visit = Some(visit);
        let mut result = None;
        if let Some((bucket, position)) = self.random_position() {
            let mut index = 0;
            self.members.scan_bucket(bucket, |member| {
                if index == position {
                    if let Some(visit) = visit.take() {
                        result = Some(visit(&member.0));
                    }
                }
                index += 1;
            });
        }
        if result.is_none() {
            let member = self.members.random_item(random_below)?;
            result = visit.take().map(|visit| visit(&member.0));
        }
        result
    }

    fn pop_random(&mut self) -> Option<SmallBytes> {
        let member = self.with_random_member(SmallBytes::from_slice)?;
        let removed = self.remove(&member);
        debug_assert!(removed);
        Some(member)
    }

    fn heap_size_bytes(&self) -> usize {
        // A chain node is the member plus the next-node pointer.
        let node_bytes = std::mem::size_of::<SetMember>() + std::mem::size_of::<usize>();
        self.members.bucket_count() * std::mem::size_of::<usize>()
            + self.members.len() * node_bytes
            + self.iter().map(|member| member.0.heap_size_bytes()).sum::<usize>()
    }
}

impl Clone for Hashtable {
    fn clone(&self) -> Self {
        let mut copy = Hashtable::with_capacity(self.len());
        for member in self.iter() {
            copy.insert(&member.0);
        }
        copy
    }
}

// ---------------------------------------------------------------------------
// SetValue
// ---------------------------------------------------------------------------

enum Encoding {
    IntSet(IntSet),
    Listpack(Listpack),
    Hashtable(Hashtable),
}

pub struct SetValue {
    encoding: Encoding,
}

impl Default for SetValue {
    fn default() -> Self {
        SetValue::new_intset()
    }
}

impl SetValue {
    /// One step of prefetching `member`'s lookup in a hashtable-encoded set.
    pub fn prefetch_member(&self, member: &[u8], step: PrefetchStep) {
        if let Encoding::Hashtable(table) = &self.encoding {
            table.members.prefetch_step(member, step);
        }
    }

    /// An empty intset: SUNION and SDIFF build their result from one, as
    /// Redis does, so the result takes the encoding its members call for.
    pub fn new_intset() -> SetValue {
        SetValue {
            encoding: Encoding::IntSet(IntSet::new()),
        }
    }

    /// An empty listpack: SINTERSTORE and SPOP build into one.
    pub fn new_listpack() -> SetValue {
        SetValue {
            encoding: Encoding::Listpack(Listpack::default()),
        }
    }

    /// The empty set a command about to add `size_hint` members starting
    /// with `first_member` creates (Redis's `setTypeCreate`).
    pub fn for_first_member(first_member: &[u8], size_hint: usize, limits: SetLimits) -> SetValue {
        if parse_i64(first_member).is_some() && size_hint <= limits.max_intset_entries {
            return SetValue::new_intset();
        }
        if size_hint <= limits.max_listpack_entries {
            return SetValue::new_listpack();
        }
        // Sized for the members to come, as Redis's `setTypeCreate` does.
        SetValue {
            encoding: Encoding::Hashtable(Hashtable::with_capacity(size_hint)),
        }
    }

    /// Before a command adds up to `size_hint` members: a compact set that
    /// they would overflow becomes a hashtable at once (Redis's
    /// `setTypeMaybeConvert`), sparing the conversion halfway.
    pub fn prepare_for_additions(&mut self, size_hint: usize, limits: SetLimits) {
        let overflows = match &self.encoding {
            Encoding::Listpack(_) => size_hint > limits.max_listpack_entries,
            Encoding::IntSet(_) => size_hint > limits.max_intset_entries,
            Encoding::Hashtable(_) => false,
        };
        if overflows {
            self.convert_to_hashtable();
        }
    }

    pub fn len(&self) -> usize {
        match &self.encoding {
            Encoding::IntSet(intset) => intset.len(),
            Encoding::Listpack(listpack) => listpack.len,
            Encoding::Hashtable(table) => table.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding_name(&self) -> &'static str {
        match &self.encoding {
            Encoding::IntSet(_) => "intset",
            Encoding::Listpack(_) => "listpack",
            Encoding::Hashtable(_) => "hashtable",
        }
    }

    /// Heap bytes owned beyond the value's box.
    pub fn heap_size_bytes(&self) -> usize {
        match &self.encoding {
            Encoding::IntSet(intset) => intset.heap_size_bytes(),
            Encoding::Listpack(listpack) => listpack.bytes.capacity(),
            Encoding::Hashtable(table) => table.heap_size_bytes(),
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.encoding {
            Encoding::IntSet(intset) => parse_i64(member).is_some_and(|value| intset.contains(value)),
            Encoding::Listpack(listpack) => listpack.find(member).is_some(),
            Encoding::Hashtable(table) => table.contains(member),
        }
    }

    /// `contains` for a member read from another set: an integer is looked
    /// up in an intset without going through its text.
    pub fn contains_member(&self, member: Member<'_>) -> bool {
        match (&self.encoding, member) {
            (Encoding::IntSet(intset), Member::Integer(value)) => intset.contains(value),
            (_, member) => member.with_bytes(|bytes| self.contains(bytes)),
        }
    }

    /// Adds `member`; false if it was already there. Converts the encoding
    /// as Redis's `setTypeAddAux` does (see the module comment).
    pub fn insert(&mut self, member: &[u8], limits: SetLimits) -> bool {
        match &mut self.encoding {
            Encoding::Hashtable(table) => table.insert(member),
            Encoding::Listpack(listpack) => {
                if listpack.find(member).is_some() {
                    return false;
                }
                let fits = listpack.len < limits.max_listpack_entries
                    && member.len() <= limits.max_listpack_value_bytes
                    && listpack.bytes.len() + member.len() <= LISTPACK_SAFE_BYTES_MAX;
                if fits {
                    listpack.push(member);
                } else {
                    self.convert_to_hashtable();
                    self.insert_into_hashtable(member);
                }
                true
            }
            Encoding::IntSet(intset) => {
                if let Some(value) = parse_i64(member) {
                    return self.insert_integer(value, limits);
                }
                if intset_fits_listpack(intset, member.len(), limits) {
                    self.convert_to_listpack();
                    if let Encoding::Listpack(listpack) = &mut self.encoding {
                        listpack.push(member);
                    }
                } else {
                    self.convert_to_hashtable();
                    self.insert_into_hashtable(member);
                }
                true
            }
        }
    }

    /// `insert` for a member read from another set: an integer goes into an
    /// intset without going through its text.
    pub fn insert_member(&mut self, member: Member<'_>, limits: SetLimits) -> bool {
        match member {
            Member::Integer(value) => self.insert_integer(value, limits),
            Member::Bytes(bytes) => self.insert(bytes, limits),
        }
    }

    fn insert_integer(&mut self, value: i64, limits: SetLimits) -> bool {
        let Encoding::IntSet(intset) = &mut self.encoding else {
            return self.insert(IntegerText::new(value).as_bytes(), limits);
        };
        let added = intset.insert(value);
        if added && intset.len() > limits.intset_entries_max() {
            self.convert_to_hashtable();
        }
        added
    }

    fn insert_into_hashtable(&mut self, member: &[u8]) {
        if let Encoding::Hashtable(table) = &mut self.encoding {
            let added = table.insert(member);
            debug_assert!(added, "the member was not in the set");
        }
    }

    /// Removes `member`; false if it was not there. The encoding stays.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.encoding {
            Encoding::IntSet(intset) => parse_i64(member).is_some_and(|value| intset.remove(value)),
            Encoding::Listpack(listpack) => match listpack.find(member) {
                Some(range) => {
                    listpack.remove_range(range);
                    true
                }
                None => false,
            },
            Encoding::Hashtable(table) => table.remove(member),
        }
    }

    /// Every member: an intset in ascending order, a listpack in insertion
    /// order, a hashtable in bucket order.
    pub fn iter(&self) -> Iter<'_> {
        let members = match &self.encoding {
            Encoding::IntSet(intset) => IterByEncoding::IntSet(intset.iter()),
            Encoding::Listpack(listpack) => IterByEncoding::Listpack(listpack.iter()),
            Encoding::Hashtable(table) => IterByEncoding::Hashtable(Box::new(table.iter())),
        };
        Iter { members }
    }

    /// Redis's `maybeConvertToIntset`: a set whose members are all integers,
    /// and not too many of them, becomes an intset.
    pub fn convert_to_intset_if_possible(&mut self, limits: SetLimits) {
        if matches!(self.encoding, Encoding::IntSet(_)) || self.len() > limits.intset_entries_max() {
            return;
        }
        let mut values = Vec::with_capacity(self.len());
        for member in self.iter() {
            match member.as_integer() {
                Some(value) => values.push(value),
                None => return,
            }
        }
        values.sort_unstable();
        debug_assert!(
            values.windows(2).all(|pair| pair[0] < pair[1]),
            "set members are distinct"
        );
        self.encoding = Encoding::IntSet(IntSet::from_sorted(values));
    }

    /// One SSCAN step. A compact set visits every member and returns cursor
    /// 0, as Redis does; a hashtable visits one bucket (Redis's `dictScan`)
    /// and returns the next cursor, 0 when the scan is complete.
    pub fn scan(&self, cursor: u64, mut visit: impl FnMut(Member<'_>)) -> u64 {
        match &self.encoding {
            Encoding::Hashtable(table) => table
                .members
                .scan_bucket(cursor, |member| visit(Member::Bytes(&member.0))),
            _ => {
                self.iter().for_each(visit);
                0
            }
        }
    }

    /// Calls `visit` with one member chosen uniformly at random; None if the
    /// set is empty.
    pub fn with_random_member<R>(&self, visit: impl FnOnce(Member<'_>) -> R) -> Option<R> {
        match &self.encoding {
            _ if self.is_empty() => None,
            Encoding::IntSet(intset) => Some(visit(Member::Integer(intset.get(random_below(intset.len()))))),
            Encoding::Listpack(listpack) => listpack
                .iter()
                .nth(random_below(listpack.len))
                .map(|member| visit(Member::Bytes(member))),
            Encoding::Hashtable(table) => table.with_random_member(|member| visit(Member::Bytes(member))),
        }
    }

    /// Removes and returns one member chosen at random; None if the set is
    /// empty.
    pub fn pop_random(&mut self) -> Option<SmallBytes> {
        if self.is_empty() {
            return None;
        }
        match &mut self.encoding {
            Encoding::IntSet(intset) => {
                let value = intset.remove_at(random_below(intset.len()));
                Some(SmallBytes::from_slice(IntegerText::new(value).as_bytes()))
            }
            Encoding::Listpack(listpack) => {
                let (range, member) = listpack.nth_entry(random_below(listpack.len))?;
                let member = SmallBytes::from_slice(member);
                listpack.remove_range(range);
                Some(member)
            }
            Encoding::Hashtable(table) => table.pop_random(),
        }
    }

    /// Removes `count` members chosen at random, calling `visit` with each.
    /// `count` must be below the set's length (SPOP takes a whole set
    /// without choosing). O(count) for a hashtable, whatever its size; one
    /// pass over a compact set.
    pub fn pop_random_many(&mut self, count: usize, limits: SetLimits, mut visit: impl FnMut(Member<'_>)) {
        let len = self.len();
        debug_assert!(count < len, "pop {count} of {len}");
        let survivors_count = len - count;
        match &mut self.encoding {
            Encoding::IntSet(intset) => {
                let popped = sorted_random_positions(len, count);
                let mut next_popped = popped.iter().peekable();
                for &position in &popped {
                    visit(Member::Integer(intset.get(position)));
                }
                intset.retain_positions(|position| {
                    let is_popped = next_popped.peek() == Some(&&position);
                    if is_popped {
                        next_popped.next();
                    }
                    !is_popped
                });
            }
            Encoding::Listpack(listpack) => {
                let popped = sorted_random_positions(len, count);
                let mut next_popped = popped.iter().peekable();
                let mut survivors = Listpack::default();
                for (position, member) in listpack.iter().enumerate() {
                    if next_popped.peek() == Some(&&position) {
                        next_popped.next();
                        visit(Member::Bytes(member));
                    } else {
                        survivors.push(member);
                    }
                }
                *listpack = survivors;
            }
            Encoding::Hashtable(table) if survivors_count.saturating_mul(SPOP_MOVE_STRATEGY_MUL) > count => {
                for _ in 0..count {
                    let Some(member) = table.pop_random() else {
                        break;
                    };
                    visit(Member::Bytes(&member));
                }
            }
            Encoding::Hashtable(table) => {
                // Most of the set goes: move the few survivors to a new set
                // and hand out what is left, instead of drawing `count` times
                // from an ever sparser table.
                let mut survivors = SetValue::new_listpack();
                for _ in 0..survivors_count {
                    let Some(member) = table.pop_random() else {
                        break;
                    };
                    survivors.insert(&member, limits);
                }
                for member in table.iter() {
                    visit(Member::Bytes(&member.0));
                }
                *self = survivors;
            }
        }
    }

    /// Calls `visit` with `count` distinct members chosen uniformly at
    /// random; `count` must be below the set's length. Memory stays
    /// proportional to `count`.
    pub fn random_distinct(&self, count: usize, mut visit: impl FnMut(Member<'_>)) {
        let len = self.len();
        debug_assert!(count < len, "{count} distinct of {len}");
        let Encoding::Hashtable(table) = &self.encoding else {
            let mut members = self.iter();
            let mut next_position = 0;
            select_positions(len, count, |position| {
                if let Some(member) = members.nth(position - next_position) {
                    visit(member);
                }
                next_position = position + 1;
            });
            return;
        };
        if count.saturating_mul(SRANDMEMBER_SUB_STRATEGY_MUL) > len {
            let mut members = table.iter();
            let mut next_position = 0;
            select_positions(len, count, |position| {
                if let Some(member) = members.nth(position - next_position) {
                    visit(Member::Bytes(&member.0));
                }
                next_position = position + 1;
            });
            return;
        }
        // At most a third of the set is wanted, so a pick is new with
        // probability at least 2/3; the draws are bounded anyway, and the
        // rest is then chosen by one pass over the members not yet picked.
        let mut picked: HashSet<SmallBytes, foldhash::fast::RandomState> =
            HashSet::with_capacity_and_hasher(count, foldhash::fast::RandomState::default());
        let draws_max = count.saturating_mul(16).max(1024);
        for _ in 0..draws_max {
            if picked.len() == count {
                return;
            }
            table.with_random_member(|member| {
                if !picked.contains(member) {
                    picked.insert(SmallBytes::from_slice(member));
                    visit(Member::Bytes(member));
                }
            });
        }
        let unpicked_count = len - picked.len();
        let wanted = count - picked.len();
        let mut unpicked = table.iter().filter(|member| !picked.contains(&member.0));
        let mut next_position = 0;
        select_positions(unpicked_count, wanted, |position| {
            if let Some(member) = unpicked.nth(position - next_position) {
                visit(Member::Bytes(&member.0));
            }
            next_position = position + 1;
        });
    }

    /// Calls `visit` with members chosen uniformly at random, with
    /// repetition, `count` times or until `visit` breaks. Nothing is
    /// allocated per call beyond an index of the members when the set is
    /// compact or no larger than `count`.
    pub fn random_with_repetition(&self, count: u64, mut visit: impl FnMut(Member<'_>) -> ControlFlow<()>) {
        if self.is_empty() {
            return;
        }
        match &self.encoding {
            Encoding::IntSet(intset) => {
                for _ in 0..count {
                    if visit(Member::Integer(intset.get(random_below(intset.len())))).is_break() {
                        return;
                    }
                }
            }
            Encoding::Listpack(listpack) => {
                let members: Vec<&[u8]> = listpack.iter().collect();
                for _ in 0..count {
                    if visit(Member::Bytes(members[random_below(members.len())])).is_break() {
                        return;
                    }
                }
            }
            Encoding::Hashtable(table) if count >= table.len() as u64 => {
                // Indexing the members once makes every pick O(1).
                let members: Vec<&[u8]> = table.iter().map(|member| &*member.0).collect();
                for _ in 0..count {
                    if visit(Member::Bytes(members[random_below(members.len())])).is_break() {
                        return;
                    }
                }
            }
            Encoding::Hashtable(table) => {
                for _ in 0..count {
                    let flow = table.with_random_member(|member| visit(Member::Bytes(member)));
                    if flow.is_none_or(|flow| flow.is_break()) {
                        return;
                    }
                }
            }
        }
    }

    /// Rebuilds a set from its members with the encoding Redis's RDB loader
    /// would pick: an intset if they are all integers and few enough, else a
    /// listpack if they fit its limits, else a hashtable. None if a member
    /// appears twice.
    pub fn from_members(members: &[SmallBytes], limits: SetLimits) -> Option<SetValue> {
        let mut table = Hashtable::with_capacity(members.len());
        for member in members {
            if !table.insert(member) {
                return None;
            }
        }
        let mut set = SetValue {
            encoding: Encoding::Hashtable(table),
        };
        set.convert_to_intset_if_possible(limits);
        let fits_listpack = members.len() <= limits.max_listpack_entries
            && members
                .iter()
                .all(|member| member.len() <= limits.max_listpack_value_bytes)
            && members.iter().map(|member| member.len() + 1).sum::<usize>() <= LISTPACK_SAFE_BYTES_MAX;
        if matches!(set.encoding, Encoding::Hashtable(_)) && fits_listpack {
            set.convert_to_listpack();
        }
        Some(set)
    }

    fn convert_to_hashtable(&mut self) {
        if matches!(self.encoding, Encoding::Hashtable(_)) {
            return;
        }
        let mut table = Hashtable::with_capacity(self.len());
        for member in self.iter() {
            member.with_bytes(|bytes| table.insert(bytes));
        }
        debug_assert_eq!(table.len(), self.len());
        self.encoding = Encoding::Hashtable(table);
    }

    fn convert_to_listpack(&mut self) {
        if matches!(self.encoding, Encoding::Listpack(_)) {
            return;
        }
        let mut listpack = Listpack::default();
        for member in self.iter() {
            member.with_bytes(|bytes| listpack.push(bytes));
        }
        self.encoding = Encoding::Listpack(listpack);
    }
}

/// Whether an intset about to receive a non-integer of `member_len` bytes
/// may become a listpack: Redis's check in `setTypeAddAux`, where the widest
/// integer stands for every member.
fn intset_fits_listpack(intset: &IntSet, member_len: usize, limits: SetLimits) -> bool {
    let widest_integer_len = intset.min_max().map_or(0, |(min, max)| {
        IntegerText::new(min)
            .as_bytes()
            .len()
            .max(IntegerText::new(max).as_bytes().len())
    });
    let estimated_bytes = intset.len() * (widest_integer_len + 1);
    intset.len() < limits.max_listpack_entries
        && member_len <= limits.max_listpack_value_bytes
        && widest_integer_len <= limits.max_listpack_value_bytes
        && estimated_bytes + member_len <= LISTPACK_SAFE_BYTES_MAX
}

/// `count` distinct positions of `0..len` chosen at random, ascending.
fn sorted_random_positions(len: usize, count: usize) -> Vec<usize> {
    let mut positions = Vec::with_capacity(count);
    select_positions(len, count, |position| positions.push(position));
    positions
}

/// Iterator over a set's members.
pub struct Iter<'a> {
    members: IterByEncoding<'a>,
}

enum IterByEncoding<'a> {
    IntSet(IntSetIter<'a>),
    Listpack(ListpackIter<'a>),
    Hashtable(Box<dyn Iterator<Item = &'a SetMember> + 'a>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        match &mut self.members {
            IterByEncoding::IntSet(values) => values.next().map(Member::Integer),
            IterByEncoding::Listpack(members) => members.next().map(Member::Bytes),
            IterByEncoding::Hashtable(members) => members.next().map(|member| Member::Bytes(&member.0)),
        }
    }
}

impl Clone for SetValue {
    fn clone(&self) -> Self {
        let encoding = match &self.encoding {
            Encoding::IntSet(intset) => Encoding::IntSet(intset.clone()),
            Encoding::Listpack(listpack) => Encoding::Listpack(listpack.clone()),
            Encoding::Hashtable(table) => Encoding::Hashtable(table.clone()),
        };
        SetValue { encoding }
    }
}

/// Equal when both have the same encoding and the same members, in any
/// order. The encoding counts: staged cross-shard execution writes a key
/// back only if it changed, and a conversion is a change OBJECT ENCODING shows.
impl PartialEq for SetValue {
    fn eq(&self, other: &Self) -> bool {
        self.encoding_name() == other.encoding_name()
            && self.len() == other.len()
            && self.iter().all(|member| other.contains_member(member))
    }
}

impl fmt::Debug for SetValue {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut set = formatter.debug_set();
        for member in self.iter() {
            member.with_bytes(|bytes| set.entry(&String::from_utf8_lossy(bytes)));
        }
        set.finish()
    }
}

impl Serialize for Member<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.with_bytes(|bytes| serializer.serialize_bytes(bytes))
    }
}

/// The canonical form: the sequence of members as byte strings.
impl Serialize for SetValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// Rebuilds a set from its members. A payload with no member or with a
/// member twice is refused: no set we serialize looks like that.
impl<'de> Deserialize<'de> for SetValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;

        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = SetValue;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a sequence of set members")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut elements: A) -> Result<SetValue, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = elements.next_element::<SmallBytes>()? {
                    members.push(member);
                }
                if members.is_empty() {
                    return Err(serde::de::Error::custom("empty set"));
                }
                SetValue::from_members(&members, SetLimits::DEFAULT)
                    .ok_or_else(|| serde::de::Error::custom("duplicate set member"))
            }
        }

        deserializer.deserialize_seq(MembersVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: SetLimits = SetLimits::DEFAULT;

    fn members_of(set: &SetValue) -> Vec<Vec<u8>> {
        let mut members: Vec<Vec<u8>> = set.iter().map(|member| member.with_bytes(<[u8]>::to_vec)).collect();
        members.sort();
        members
    }

    fn set_of(members: &[&str], limits: SetLimits) -> SetValue {
        let mut set = SetValue::for_first_member(members[0].as_bytes(), members.len(), limits);
        set.prepare_for_additions(members.len(), limits);
        for member in members {
            set.insert(member.as_bytes(), limits);
        }
        set
    }

    fn numbered(prefix: &str, count: usize) -> Vec<String> {
        (0..count).map(|index| format!("{prefix}{index}")).collect()
    }

    #[test]
    fn integer_text_matches_display() {
        for value in [0, 1, -1, 9, 10, -10, 12345, i64::MAX, i64::MIN, i64::MIN + 1] {
            assert_eq!(IntegerText::new(value).as_bytes(), value.to_string().as_bytes());
        }
    }

    #[test]
    fn intset_widens_and_stays_sorted() {
        let mut intset = IntSet::new();
        for value in [5, -3, 100, 7, 5] {
            intset.insert(value);
        }
        assert_eq!(intset.width(), IntWidth::Narrow);
        assert!(intset.insert(70_000));
        assert_eq!(intset.width(), IntWidth::Medium);
        assert!(intset.insert(i64::MIN));
        assert_eq!(intset.width(), IntWidth::Wide);
        assert!(!intset.insert(70_000));
        assert_eq!(intset.iter().collect::<Vec<_>>(), vec![i64::MIN, -3, 5, 7, 100, 70_000]);
        assert!(intset.contains(-3) && intset.contains(i64::MIN) && !intset.contains(6));
        assert!(intset.remove(i64::MIN));
        assert!(!intset.remove(i64::MIN));
        assert!(!intset.contains(i64::MAX));
        assert_eq!(intset.len(), 5);
    }

    #[test]
    fn a_narrow_intset_costs_two_bytes_per_member() {
        let mut set = SetValue::new_intset();
        for value in 0..300 {
            set.insert(value.to_string().as_bytes(), LIMITS);
        }
        assert_eq!(set.encoding_name(), "intset");
        assert_eq!(set.heap_size_bytes(), 600);
    }

    #[test]
    fn listpack_entries_round_trip_through_leb128() {
        let mut listpack = Listpack::default();
        let long = vec![b'x'; 300];
        listpack.push(b"");
        listpack.push(b"a");
        listpack.push(&long);
        listpack.push(b"b");
        assert_eq!(listpack.iter().collect::<Vec<_>>(), vec![&b""[..], b"a", &long, b"b"]);
        let range = listpack.find(&long).expect("present");
        listpack.remove_range(range);
        assert_eq!(listpack.iter().collect::<Vec<_>>(), vec![&b""[..], b"a", b"b"]);
        assert_eq!(listpack.len, 3);
        assert!(listpack.find(b"c").is_none());
    }

    #[test]
    fn new_sets_pick_their_encoding_from_the_first_member_and_the_count() {
        assert_eq!(SetValue::for_first_member(b"1", 1, LIMITS).encoding_name(), "intset");
        assert_eq!(SetValue::for_first_member(b"01", 1, LIMITS).encoding_name(), "listpack");
        assert_eq!(
            SetValue::for_first_member(b"a", 128, LIMITS).encoding_name(),
            "listpack"
        );
        assert_eq!(
            SetValue::for_first_member(b"a", 129, LIMITS).encoding_name(),
            "hashtable"
        );
        assert_eq!(SetValue::for_first_member(b"1", 512, LIMITS).encoding_name(), "intset");
        assert_eq!(
            SetValue::for_first_member(b"1", 513, LIMITS).encoding_name(),
            "hashtable"
        );
    }

    #[test]
    fn intset_becomes_listpack_on_a_short_string_and_hashtable_when_too_big() {
        let mut set = set_of(&["1", "2", "3"], LIMITS);
        assert_eq!(set.encoding_name(), "intset");
        assert!(set.insert(b"abc", LIMITS));
        assert_eq!(set.encoding_name(), "listpack");
        assert_eq!(
            members_of(&set),
            vec![b"1".to_vec(), b"2".to_vec(), b"3".to_vec(), b"abc".to_vec()]
        );

        let mut long_member = set_of(&["1"], LIMITS);
        long_member.insert(&[b'x'; 65], LIMITS);
        assert_eq!(long_member.encoding_name(), "hashtable");

        let values = numbered("", 200);
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let mut many = set_of(&values, LIMITS);
        assert_eq!(many.encoding_name(), "intset");
        many.insert(b"abc", LIMITS);
        assert_eq!(many.encoding_name(), "hashtable", "200 members do not fit a listpack");
        assert_eq!(many.len(), 201);

        let mut wide = SetLimits::DEFAULT;
        wide.max_listpack_value_bytes = 3;
        let mut wide_integers = set_of(&["1", "12345"], wide);
        wide_integers.insert(b"a", wide);
        assert_eq!(
            wide_integers.encoding_name(),
            "hashtable",
            "12345 is longer than 3 bytes"
        );
    }

    #[test]
    fn intset_overflowing_its_entries_becomes_hashtable() {
        let limits = SetLimits {
            max_intset_entries: 4,
            ..LIMITS
        };
        let mut set = set_of(&["1", "2", "3", "4"], limits);
        assert_eq!(set.encoding_name(), "intset");
        set.insert(b"5", limits);
        assert_eq!(set.encoding_name(), "hashtable");
        assert_eq!(set.len(), 5);
    }

    #[test]
    fn listpack_becomes_hashtable_when_full_or_given_a_long_member() {
        let members = numbered("m", 128);
        let members: Vec<&str> = members.iter().map(String::as_str).collect();
        let mut set = set_of(&members, LIMITS);
        assert_eq!(set.encoding_name(), "listpack");
        assert!(!set.insert(b"m5", LIMITS));
        assert_eq!(set.encoding_name(), "listpack");
        assert!(set.insert(b"m128", LIMITS));
        assert_eq!(set.encoding_name(), "hashtable");
        assert_eq!(set.len(), 129);

        let mut short = set_of(&["a"], LIMITS);
        short.insert(&[b'y'; 64], LIMITS);
        assert_eq!(short.encoding_name(), "listpack");
        short.insert(&[b'y'; 65], LIMITS);
        assert_eq!(short.encoding_name(), "hashtable");
    }

    #[test]
    fn a_large_addition_converts_up_front_and_removals_never_convert_back() {
        let mut set = set_of(&["a", "b"], LIMITS);
        set.prepare_for_additions(129, LIMITS);
        assert_eq!(set.encoding_name(), "hashtable");
        assert!(set.remove(b"a"));
        assert_eq!(set.encoding_name(), "hashtable");
        assert_eq!(members_of(&set), vec![b"b".to_vec()]);
    }

    #[test]
    fn membership_agrees_across_encodings() {
        let mut intset = set_of(&["1", "-5"], LIMITS);
        let listpack = set_of(&["a", "1"], LIMITS);
        let hashtable = SetValue::from_members(
            &(0..300)
                .map(|n| SmallBytes::from_vec(format!("h{n}").into_bytes()))
                .chain([SmallBytes::from_slice(b"1")])
                .collect::<Vec<_>>(),
            LIMITS,
        )
        .expect("distinct");
        assert_eq!(hashtable.encoding_name(), "hashtable");
        for set in [&intset, &listpack, &hashtable] {
            assert!(set.contains(b"1"));
            assert!(set.contains_member(Member::Integer(1)));
            assert!(!set.contains(b"01"), "01 is not the integer 1");
            assert!(!set.contains(b"zzz"));
        }
        assert!(intset.contains(b"-5") && !intset.contains(b"+5"));
        assert!(intset.remove(b"-5") && !intset.remove(b"-5"));
    }

    #[test]
    fn converting_to_intset_needs_only_integers() {
        let mut set = SetValue::new_listpack();
        for member in ["3", "1", "2"] {
            set.insert(member.as_bytes(), LIMITS);
        }
        set.convert_to_intset_if_possible(LIMITS);
        assert_eq!(set.encoding_name(), "intset");
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            vec![Member::Integer(1), Member::Integer(2), Member::Integer(3)]
        );

        let mut mixed = set_of(&["a", "1"], LIMITS);
        mixed.convert_to_intset_if_possible(LIMITS);
        assert_eq!(mixed.encoding_name(), "listpack");
    }

    #[test]
    fn popping_many_removes_exactly_the_visited_members() {
        let big = numbered("big", 1000);
        let big: Vec<&str> = big.iter().map(String::as_str).collect();
        let small_integers = numbered("", 100);
        let small_integers: Vec<&str> = small_integers.iter().map(String::as_str).collect();
        let strings = numbered("s", 100);
        let strings: Vec<&str> = strings.iter().map(String::as_str).collect();
        for members in [&big, &small_integers, &strings] {
            for count in [1, 10, 500.min(members.len() - 1), members.len() - 1] {
                let mut set = set_of(members, LIMITS);
                let before = members_of(&set);
                let mut popped = Vec::new();
                set.pop_random_many(count, LIMITS, |member| popped.push(member.with_bytes(<[u8]>::to_vec)));
                assert_eq!(popped.len(), count);
                assert_eq!(set.len(), members.len() - count);
                let mut together = members_of(&set);
                together.extend(popped);
                together.sort();
                assert_eq!(together, before, "popped and kept members partition the set");
            }
        }
    }

    #[test]
    fn popping_most_of_a_hashtable_leaves_a_compact_set() {
        let members = numbered("m", 1000);
        let members: Vec<&str> = members.iter().map(String::as_str).collect();
        let mut set = set_of(&members, LIMITS);
        assert_eq!(set.encoding_name(), "hashtable");
        set.pop_random_many(990, LIMITS, |_| {});
        assert_eq!(set.len(), 10);
        assert_eq!(set.encoding_name(), "listpack");
    }

    #[test]
    fn popping_a_large_hashtable_one_by_one_is_linear() {
        let members = numbered("member:", 200_000);
        let members: Vec<&str> = members.iter().map(String::as_str).collect();
        let mut set = set_of(&members, LIMITS);
        let started = std::time::Instant::now();
        let mut popped = 0;
        while set.pop_random().is_some() {
            popped += 1;
        }
        assert_eq!(popped, 200_000);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn random_distinct_members_are_distinct_members() {
        let big = numbered("big", 1000);
        let big: Vec<&str> = big.iter().map(String::as_str).collect();
        let integers = numbered("", 50);
        let integers: Vec<&str> = integers.iter().map(String::as_str).collect();
        for members in [&big, &integers] {
            let set = set_of(members, LIMITS);
            for count in [1, 5, members.len() / 2, members.len() - 1] {
                let mut picked = Vec::new();
                set.random_distinct(count, |member| picked.push(member.with_bytes(<[u8]>::to_vec)));
                assert_eq!(picked.len(), count);
                let unique: HashSet<&Vec<u8>> = picked.iter().collect();
                assert_eq!(unique.len(), count);
                assert!(picked.iter().all(|member| set.contains(member)));
            }
        }
    }

    #[test]
    fn random_with_repetition_stops_when_asked() {
        let set = set_of(&["a", "b"], LIMITS);
        let mut seen = 0;
        set.random_with_repetition(u64::MAX, |_| {
            seen += 1;
            if seen == 1000 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert_eq!(seen, 1000);
    }

    /// Chi-squared test of the picks over a hashtable: with 99 degrees of
    /// freedom, a uniform picker stays below 180 with overwhelming
    /// probability, while a chain-length-biased one lands far above.
    #[test]
    fn random_members_of_a_hashtable_are_uniform() {
        let members = numbered("m", 100);
        let members: Vec<&str> = members.iter().map(String::as_str).collect();
        let mut set = set_of(&members, LIMITS);
        set.prepare_for_additions(1000, LIMITS);
        assert_eq!(set.encoding_name(), "hashtable");
        let draws = 200_000;
        let mut counts = std::collections::HashMap::new();
        for _ in 0..draws {
            set.with_random_member(|member| *counts.entry(member.to_small_bytes()).or_insert(0u64) += 1);
        }
        let expected = draws as f64 / 100.0;
        let chi_squared: f64 = counts
            .values()
            .map(|&count| (count as f64 - expected).powi(2) / expected)
            .sum();
        assert_eq!(counts.len(), 100);
        assert!(chi_squared < 180.0, "chi squared {chi_squared}");
    }

    #[test]
    fn the_chain_bound_covers_every_chain_as_the_table_grows_and_shrinks() {
        let mut table = Hashtable::with_capacity(0);
        let longest_chain = |table: &Hashtable| {
            (0..table.members.bucket_count())
                .map(|bucket| {
                    let mut chain_len = 0;
                    table.members.scan_bucket(bucket as u64, |_| chain_len += 1);
                    chain_len
                })
                .max()
                .unwrap_or(0)
        };
        for index in 0..20_000 {
            table.insert(format!("m{index}").as_bytes());
            if index % 1000 == 0 {
                assert!(table.chain_len_bound >= longest_chain(&table));
            }
        }
        for index in 0..19_990 {
            assert!(table.remove(format!("m{index}").as_bytes()));
            if index % 1000 == 0 {
                assert!(table.chain_len_bound >= longest_chain(&table));
            }
        }
        assert!(table.chain_len_bound >= longest_chain(&table));
        assert_eq!(table.len(), 10);
        let mut popped = 0;
        while table.pop_random().is_some() {
            popped += 1;
        }
        assert_eq!(popped, 10);
    }

    #[test]
    fn scan_of_a_hashtable_returns_every_member() {
        let members = numbered("m", 500);
        let members: Vec<&str> = members.iter().map(String::as_str).collect();
        let set = set_of(&members, LIMITS);
        let mut seen = HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = set.scan(cursor, |member| {
                seen.insert(member.to_small_bytes());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 500);
    }

    #[test]
    fn serde_round_trips_every_encoding_and_refuses_bad_payloads() {
        let strings = numbered("m", 300);
        let strings: Vec<&str> = strings.iter().map(String::as_str).collect();
        for set in [
            set_of(&["1", "-2", "3"], LIMITS),
            set_of(&["a", "1"], LIMITS),
            set_of(&strings, LIMITS),
        ] {
            let encoded = rmp_serde::to_vec(&set).expect("serializes");
            let decoded: SetValue = rmp_serde::from_slice(&encoded).expect("deserializes");
            assert_eq!(decoded, set);
            assert_eq!(decoded.encoding_name(), set.encoding_name());
        }
        let empty: Vec<SmallBytes> = Vec::new();
        assert!(rmp_serde::from_slice::<SetValue>(&rmp_serde::to_vec(&empty).expect("serializes")).is_err());
        let twice = vec![SmallBytes::from_slice(b"a"), SmallBytes::from_slice(b"a")];
        assert!(rmp_serde::from_slice::<SetValue>(&rmp_serde::to_vec(&twice).expect("serializes")).is_err());
    }

    #[test]
    fn equality_ignores_order_but_not_encoding() {
        let forwards = set_of(&["a", "b"], LIMITS);
        let backwards = set_of(&["b", "a"], LIMITS);
        assert_eq!(forwards, backwards);
        let mut converted = forwards.clone();
        converted.convert_to_hashtable();
        assert_ne!(forwards, converted);
    }
}
