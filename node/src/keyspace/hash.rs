//! The hash value, in one of two encodings, as Redis 7.2 keeps hashes:
//!
//! - `listpack` (compact): every field and value packed into one byte buffer,
//!   each entry `len field len value` with LEB128 lengths, in insertion
//!   order. A lookup scans the buffer, as Redis's listpack does; that is cheap
//!   because the encoding holds at most `hash-max-listpack-entries` entries of
//!   at most `hash-max-listpack-value` bytes each. A small hash costs its
//!   bytes plus one or two length bytes per string, instead of 24-byte
//!   strings and table nodes.
//! - `hashtable` (indexed): a `Dict` of `HashEntry`, O(1) average lookups and
//!   inserts, and the reverse-binary bucket cursor that keeps HSCAN stable
//!   while the table grows or shrinks.
//!
//! Conversion goes one way, listpack to hashtable, never back (as Redis):
//! - before a write (`prepare_for_write`, Redis's `hashTypeTryConversion`):
//!   when the command carries more pairs than `max_entries`, when one of its
//!   arguments is longer than `max_value_bytes`, or when the buffer would
//!   pass `LISTPACK_SAFE_BYTES_MAX`;
//! - in `set` (Redis's `hashTypeSet`): before writing a field or value longer
//!   than `max_value_bytes` (HINCRBY* results), and after the write when the
//!   hash has more than `max_entries` entries.
//!
//! DUMP/RESTORE see one canonical form, the sequence of `(field, value)`
//! pairs; deserializing rebuilds the encoding the default thresholds give.

use std::collections::HashSet;
use std::fmt;
use std::ops::ControlFlow;

use rand::Rng;
use serde::de::{SeqAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Deserializer, Serialize};

use super::dict::{Dict, DictItem, PrefetchStep};
use super::small_bytes::SmallBytes;

/// Redis's `LISTPACK_MAX_SAFETY_SIZE`: a listpack never grows past 1 GiB.
const LISTPACK_SAFE_BYTES_MAX: usize = 1 << 30;

/// When a listpack becomes a hashtable: Redis's `hash-max-listpack-entries`
/// and `hash-max-listpack-value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListpackLimits {
    pub max_entries: usize,
    pub max_value_bytes: usize,
}

impl ListpackLimits {
    /// Redis's defaults, used when no configuration is at hand (RESTORE).
    pub const DEFAULT: ListpackLimits = ListpackLimits {
        max_entries: 128,
        max_value_bytes: 64,
    };
}

/// One field of a hashtable-encoded hash.
#[derive(Clone, Debug)]
pub struct HashEntry {
    field: SmallBytes,
    value: SmallBytes,
}

impl DictItem for HashEntry {
    fn key(&self) -> &[u8] {
        &self.field
    }
}

impl HashEntry {
    fn new(field: &[u8], value: &[u8]) -> HashEntry {
        HashEntry {
            field: SmallBytes::from_slice(field),
            value: SmallBytes::from_slice(value),
        }
    }
}

enum Encoding {
    Listpack(Listpack),
    Hashtable(Dict<HashEntry>),
}

pub struct HashValue {
    encoding: Encoding,
}

impl Default for HashValue {
    fn default() -> Self {
        HashValue::new()
    }
}

impl HashValue {
    /// An empty hash in the listpack encoding, as Redis creates every hash.
    pub fn new() -> HashValue {
        HashValue {
            encoding: Encoding::Listpack(Listpack::default()),
        }
    }

    /// An empty hash about to take `fields` fields: a listpack if they fit
    /// in one, else a hashtable sized for them.
    pub fn with_capacity(fields: usize, limits: ListpackLimits) -> HashValue {
        if fields <= limits.max_entries {
            return HashValue::new();
        }
        HashValue {
            encoding: Encoding::Hashtable(Dict::with_capacity(fields)),
        }
    }

    /// One step of prefetching `field`'s lookup in a hashtable-encoded hash
    /// (a listpack is one allocation, already loaded with the record).
    pub fn prefetch_field(&self, field: &[u8], step: PrefetchStep) {
        if let Encoding::Hashtable(table) = &self.encoding {
            table.prefetch_step(field, step);
        }
    }

    pub fn len(&self) -> usize {
        match &self.encoding {
            Encoding::Listpack(listpack) => listpack.len,
            Encoding::Hashtable(dict) => dict.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding_name(&self) -> &'static str {
        match &self.encoding {
            Encoding::Listpack(_) => "listpack",
            Encoding::Hashtable(_) => "hashtable",
        }
    }

    pub fn is_listpack(&self) -> bool {
        matches!(self.encoding, Encoding::Listpack(_))
    }

    /// Heap bytes owned beyond the value's box.
    pub fn heap_size_bytes(&self) -> usize {
        match &self.encoding {
            Encoding::Listpack(listpack) => listpack.bytes.capacity(),
            Encoding::Hashtable(dict) => {
                // One chain link and the entry per node, one pointer per bucket.
                let node_bytes = std::mem::size_of::<usize>() + std::mem::size_of::<HashEntry>();
                let strings_bytes: usize = dict
                    .iter()
                    .map(|entry| entry.field.heap_size_bytes() + entry.value.heap_size_bytes())
                    .sum();
                dict.bucket_count() * std::mem::size_of::<usize>() + dict.len() * node_bytes + strings_bytes
            }
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.encoding {
            Encoding::Listpack(listpack) => listpack
                .find(field)
                .map(|located| &listpack.bytes[located.value_start..located.entry_end]),
            Encoding::Hashtable(dict) => dict.get(field).map(|entry| &*entry.value),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Redis's `hashTypeTryConversion`, run before a command writes
    /// `new_pair_count` pairs whose fields and values are `arguments`.
    pub fn prepare_for_write<'a>(
        &mut self,
        new_pair_count: usize,
        arguments: impl Iterator<Item = &'a [u8]>,
        limits: ListpackLimits,
    ) {
        let Encoding::Listpack(listpack) = &self.encoding else {
            return;
        };
        let current_bytes = listpack.bytes.len();
        // Most pairs of a wide HSET are new: convert at once rather than
        // grow a listpack that is bound to be converted.
        if new_pair_count > limits.max_entries {
            self.convert_to_hashtable();
            return;
        }
        let mut added_bytes: usize = 0;
        for argument in arguments {
            if argument.len() > limits.max_value_bytes {
                self.convert_to_hashtable();
                return;
            }
            added_bytes = added_bytes.saturating_add(argument.len());
        }
        if current_bytes.saturating_add(added_bytes) > LISTPACK_SAFE_BYTES_MAX {
            self.convert_to_hashtable();
        }
    }

    /// Sets `field` to `value`; returns true if the field is new. Converts a
    /// listpack that cannot hold the pair, or that holds too many entries
    /// after it (Redis's `hashTypeSet`).
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: ListpackLimits) -> bool {
        if let Encoding::Listpack(_) = &self.encoding {
            if field.len() > limits.max_value_bytes || value.len() > limits.max_value_bytes {
                self.convert_to_hashtable();
            }
        }
        let created = match &mut self.encoding {
            Encoding::Listpack(listpack) => listpack.set(field, value),
            // One hash and one chain walk, whether the field is new or not.
            Encoding::Hashtable(dict) => dict.insert(HashEntry::new(field, value)).is_none(),
        };
        if let Encoding::Listpack(listpack) = &self.encoding {
            if listpack.len > limits.max_entries {
                self.convert_to_hashtable();
            }
        }
        created
    }

    /// Deletes `field`; returns true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.encoding {
            Encoding::Listpack(listpack) => listpack.remove(field),
            Encoding::Hashtable(dict) => dict.remove(field).is_some(),
        }
    }

    /// Every `(field, value)` pair: insertion order for a listpack, bucket
    /// order for a hashtable.
    pub fn iter(&self) -> Iter<'_> {
        match &self.encoding {
            Encoding::Listpack(listpack) => Iter::Listpack(listpack.iter()),
            Encoding::Hashtable(dict) => Iter::Hashtable(Box::new(dict.iter())),
        }
    }

    /// One HSCAN step from `cursor`: a listpack visits every pair and
    /// returns 0, whatever the cursor (as Redis does); a hashtable visits one
    /// bucket and returns the next cursor, 0 when the scan is complete.
    pub fn scan(&self, cursor: u64, mut visit: impl FnMut(&[u8], &[u8])) -> u64 {
        match &self.encoding {
            Encoding::Listpack(listpack) => {
                for (field, value) in listpack.iter() {
                    visit(field, value);
                }
                0
            }
            Encoding::Hashtable(dict) => dict.scan_bucket(cursor, |entry| visit(&entry.field, &entry.value)),
        }
    }

    /// One pair chosen at random, None if the hash is empty.
    pub fn random_entry(&self, rng: &mut impl Rng) -> Option<(&[u8], &[u8])> {
        match &self.encoding {
            Encoding::Listpack(listpack) if listpack.len == 0 => None,
            Encoding::Listpack(listpack) => listpack.iter().nth(rng.gen_range(0..listpack.len)),
            Encoding::Hashtable(dict) => dict
                .random_item(|bound| rng.gen_range(0..bound))
                .map(|entry| (&*entry.field, &*entry.value)),
        }
    }

    /// `count` pairs chosen at random, with repetitions (HRANDFIELD with a
    /// negative count), handed to `visit` until it breaks.
    pub fn random_entries_with_repetition<'a>(
        &'a self,
        count: u64,
        rng: &mut impl Rng,
        mut visit: impl FnMut(&'a [u8], &'a [u8]) -> ControlFlow<()>,
    ) {
        match &self.encoding {
            Encoding::Listpack(listpack) if listpack.len == 0 => {}
            Encoding::Listpack(listpack) => {
                // Index the buffer once instead of scanning it per pick.
                let entries: Vec<(&[u8], &[u8])> = listpack.iter().collect();
                for _ in 0..count {
                    let (field, value) = entries[rng.gen_range(0..entries.len())];
                    if visit(field, value).is_break() {
                        return;
                    }
                }
            }
            Encoding::Hashtable(_) => {
                for _ in 0..count {
                    let (field, value) = self.random_entry(rng).expect("the hash is not empty");
                    if visit(field, value).is_break() {
                        return;
                    }
                }
            }
        }
    }

    /// Up to `count` distinct pairs chosen at random (HRANDFIELD with a
    /// positive count): the whole hash when `count` reaches its length.
    /// Memory stays proportional to the result: the whole hash is indexed
    /// only when the result is at least a third of it, as Redis decides
    /// between its "copy and remove" and "pick and deduplicate" strategies.
    pub fn random_distinct_entries(&self, count: usize, rng: &mut impl Rng) -> Vec<(&[u8], &[u8])> {
        let len = self.len();
        if count == 0 {
            return Vec::new();
        }
        if count >= len {
            return self.iter().collect();
        }
        if let Encoding::Hashtable(_) = &self.encoding {
            if count.saturating_mul(3) <= len {
                if let Some(picked) = self.pick_distinct_by_rejection(count, rng) {
                    return picked;
                }
            }
        }
        let entries: Vec<(&[u8], &[u8])> = self.iter().collect();
        rand::seq::index::sample(rng, len, count)
            .into_iter()
            .map(|index| entries[index])
            .collect()
    }

    /// Random picks, dropping repeats, until `count` distinct pairs are
    /// found. At most a third of the hash is wanted, so a pick is new with
    /// probability at least 2/3; the attempts are bounded anyway, and None
    /// tells the caller to fall back to sampling an index of every pair.
    fn pick_distinct_by_rejection(&self, count: usize, rng: &mut impl Rng) -> Option<Vec<(&[u8], &[u8])>> {
        let mut seen: HashSet<&[u8], foldhash::fast::RandomState> =
            HashSet::with_capacity_and_hasher(count, foldhash::fast::RandomState::default());
        let mut picked = Vec::with_capacity(count);
        let attempts_max = count.saturating_mul(16).max(1024);
        for _ in 0..attempts_max {
            let (field, value) = self.random_entry(rng)?;
            if seen.insert(field) {
                picked.push((field, value));
                if picked.len() == count {
                    return Some(picked);
                }
            }
        }
        None
    }

    fn convert_to_hashtable(&mut self) {
        let Encoding::Listpack(listpack) = &self.encoding else {
            return;
        };
        let mut dict = Dict::new();
        for (field, value) in listpack.iter() {
            let replaced = dict.insert(HashEntry::new(field, value));
            debug_assert!(replaced.is_none(), "a listpack holds each field once");
        }
        debug_assert_eq!(dict.len(), listpack.len);
        self.encoding = Encoding::Hashtable(dict);
    }
}

/// Iterator over a hash's `(field, value)` pairs.
pub enum Iter<'a> {
    Listpack(ListpackIter<'a>),
    Hashtable(Box<dyn Iterator<Item = &'a HashEntry> + 'a>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Listpack(entries) => entries.next(),
            Iter::Hashtable(entries) => entries.next().map(|entry| (&*entry.field, &*entry.value)),
        }
    }
}

impl Clone for HashValue {
    fn clone(&self) -> Self {
        let encoding = match &self.encoding {
            Encoding::Listpack(listpack) => Encoding::Listpack(listpack.clone()),
            Encoding::Hashtable(dict) => {
                let mut copy = Dict::new();
                for entry in dict.iter() {
                    copy.insert(entry.clone());
                }
                Encoding::Hashtable(copy)
            }
        };
        HashValue { encoding }
    }
}

/// Equal when both hold the same pairs, whatever their encodings and order.
impl PartialEq for HashValue {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(field, value)| other.get(field) == Some(value))
    }
}

impl fmt::Debug for HashValue {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = formatter.debug_map();
        for (field, value) in self.iter() {
            map.entry(&String::from_utf8_lossy(field), &String::from_utf8_lossy(value));
        }
        map.finish()
    }
}

/// A byte slice serialized as a byte string (MessagePack `bin`).
struct ByteString<'a>(&'a [u8]);

impl Serialize for ByteString<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

/// The canonical form: a sequence of `(field, value)` pairs.
impl Serialize for HashValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(|(field, value)| (ByteString(field), ByteString(value))))
    }
}

/// Rebuilds a hash from its pairs. A payload with no pair or with a field
/// twice is refused: no hash we serialize looks like that.
impl<'de> Deserialize<'de> for HashValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor;

        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = HashValue;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a sequence of (field, value) pairs")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut pairs: A) -> Result<HashValue, A::Error> {
                let mut hash = HashValue::new();
                while let Some((field, value)) = pairs.next_element::<(SmallBytes, SmallBytes)>()? {
                    hash.prepare_for_write(1, [&*field, &*value].into_iter(), ListpackLimits::DEFAULT);
                    if !hash.set(&field, &value, ListpackLimits::DEFAULT) {
                        return Err(serde::de::Error::custom("duplicate hash field"));
                    }
                }
                if hash.is_empty() {
                    return Err(serde::de::Error::custom("empty hash"));
                }
                Ok(hash)
            }
        }

        deserializer.deserialize_seq(PairsVisitor)
    }
}

// ---------------------------------------------------------------------------
// The listpack encoding
// ---------------------------------------------------------------------------

/// Entries packed as `len field len value`, lengths in LEB128.
#[derive(Clone, Default)]
struct Listpack {
    bytes: Vec<u8>,
    /// Number of entries (pairs).
    len: usize,
}

/// Where one entry lies in the buffer.
struct Located {
    entry_start: usize,
    /// Start of the value's length prefix.
    value_prefix_start: usize,
    value_start: usize,
    entry_end: usize,
}

/// Longest LEB128 encoding of a u64.
const LENGTH_PREFIX_BYTES_MAX: usize = 10;

fn encode_length(length: usize, buffer: &mut [u8; LENGTH_PREFIX_BYTES_MAX]) -> &[u8] {
    let mut remaining = length as u64;
    let mut written = 0;
    loop {
        let low_bits = (remaining & 0x7f) as u8;
        remaining >>= 7;
        if remaining == 0 {
            buffer[written] = low_bits;
            return &buffer[..written + 1];
        }
        buffer[written] = low_bits | 0x80;
        written += 1;
    }
}

/// Reads the length prefix at `position`: (length, position after it).
/// The buffer is only ever written by `Listpack`, so the prefix is well formed.
fn decode_length(bytes: &[u8], mut position: usize) -> (usize, usize) {
    let mut length: u64 = 0;
    let mut shift = 0;
    loop {
        let byte = bytes[position];
        position += 1;
        length |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            return (length as usize, position);
        }
        shift += 7;
        debug_assert!(shift < 64, "malformed listpack length");
    }
}

impl Listpack {
    fn iter(&self) -> ListpackIter<'_> {
        ListpackIter {
            bytes: &self.bytes,
            position: 0,
        }
    }

    fn find(&self, field: &[u8]) -> Option<Located> {
        let mut position = 0;
        while position < self.bytes.len() {
            let entry_start = position;
            let (field_len, field_start) = decode_length(&self.bytes, position);
            let value_prefix_start = field_start + field_len;
            let (value_len, value_start) = decode_length(&self.bytes, value_prefix_start);
            let entry_end = value_start + value_len;
            if &self.bytes[field_start..value_prefix_start] == field {
                return Some(Located {
                    entry_start,
                    value_prefix_start,
                    value_start,
                    entry_end,
                });
            }
            position = entry_end;
        }
        None
    }

    /// Sets `field`; returns true if it is new (appended at the tail).
    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        let mut prefix = [0u8; LENGTH_PREFIX_BYTES_MAX];
        if let Some(located) = self.find(field) {
            if located.entry_end - located.value_start == value.len() {
                self.bytes[located.value_start..located.entry_end].copy_from_slice(value);
            } else {
                let value_prefix = encode_length(value.len(), &mut prefix);
                self.bytes.splice(
                    located.value_prefix_start..located.entry_end,
                    value_prefix.iter().chain(value).copied(),
                );
            }
            return false;
        }
        let mut value_prefix_buffer = [0u8; LENGTH_PREFIX_BYTES_MAX];
        let field_prefix = encode_length(field.len(), &mut prefix);
        let value_prefix = encode_length(value.len(), &mut value_prefix_buffer);
        // Grow by exactly the entry, as Redis reallocates a listpack to size.
        self.bytes
            .reserve_exact(field_prefix.len() + field.len() + value_prefix.len() + value.len());
        self.bytes.extend_from_slice(field_prefix);
        self.bytes.extend_from_slice(field);
        self.bytes.extend_from_slice(value_prefix);
        self.bytes.extend_from_slice(value);
        self.len += 1;
        true
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let Some(located) = self.find(field) else {
            return false;
        };
        self.bytes.drain(located.entry_start..located.entry_end);
        self.len -= 1;
        if self.bytes.capacity() > 2 * self.bytes.len() + 64 {
            self.bytes.shrink_to_fit();
        }
        true
    }
}

/// Iterator over a listpack's pairs.
pub struct ListpackIter<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Iterator for ListpackIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.position >= self.bytes.len() {
            return None;
        }
        let (field_len, field_start) = decode_length(self.bytes, self.position);
        let field_end = field_start + field_len;
        let (value_len, value_start) = decode_length(self.bytes, field_end);
        let value_end = value_start + value_len;
        self.position = value_end;
        Some((&self.bytes[field_start..field_end], &self.bytes[value_start..value_end]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    const SMALL: ListpackLimits = ListpackLimits {
        max_entries: 4,
        max_value_bytes: 8,
    };
    const LARGE: ListpackLimits = ListpackLimits {
        max_entries: 1 << 20,
        max_value_bytes: 1 << 20,
    };

    fn hash_of(pairs: &[(&str, &str)], limits: ListpackLimits) -> HashValue {
        let mut hash = HashValue::new();
        for (field, value) in pairs {
            hash.set(field.as_bytes(), value.as_bytes(), limits);
        }
        hash
    }

    fn pairs(hash: &HashValue) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = hash
            .iter()
            .map(|(field, value)| {
                (
                    String::from_utf8_lossy(field).into_owned(),
                    String::from_utf8_lossy(value).into_owned(),
                )
            })
            .collect();
        pairs.sort();
        pairs
    }

    #[test]
    fn lengths_round_trip_through_leb128() {
        let mut buffer = [0u8; LENGTH_PREFIX_BYTES_MAX];
        for length in [0usize, 1, 127, 128, 300, 16_383, 16_384, 1 << 30, usize::MAX] {
            let encoded = encode_length(length, &mut buffer).to_vec();
            assert_eq!(decode_length(&encoded, 0), (length, encoded.len()), "{length}");
        }
        assert_eq!(encode_length(127, &mut buffer).len(), 1);
        assert_eq!(encode_length(128, &mut buffer).len(), 2);
    }

    #[test]
    fn listpack_sets_replaces_and_removes_in_insertion_order() {
        let mut hash = HashValue::new();
        assert!(hash.set(b"a", b"1", LARGE));
        assert!(hash.set(b"b", b"2", LARGE));
        assert!(hash.set(b"c", b"3", LARGE));
        // Same length: overwritten in place; other lengths: spliced.
        assert!(!hash.set(b"b", b"9", LARGE));
        assert!(!hash.set(b"a", &[b'x'; 200], LARGE));
        assert!(!hash.set(b"c", b"", LARGE));
        assert_eq!(hash.encoding_name(), "listpack");
        let order: Vec<&[u8]> = hash.iter().map(|(field, _)| field).collect();
        assert_eq!(order, vec![&b"a"[..], b"b", b"c"]);
        assert_eq!(hash.get(b"a"), Some(&[b'x'; 200][..]));
        assert_eq!(hash.get(b"b"), Some(&b"9"[..]));
        assert_eq!(hash.get(b"c"), Some(&b""[..]));
        assert_eq!(hash.get(b"d"), None);
        assert!(hash.remove(b"b"));
        assert!(!hash.remove(b"b"));
        assert_eq!(hash.len(), 2);
        assert_eq!(
            pairs(&hash),
            vec![("a".into(), "x".repeat(200)), ("c".into(), String::new())]
        );
        assert!(hash.remove(b"a") && hash.remove(b"c"));
        assert!(hash.is_empty());
        assert_eq!(hash.iter().count(), 0);
    }

    #[test]
    fn too_many_entries_convert_after_the_write() {
        let mut hash = hash_of(&[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")], SMALL);
        assert_eq!(hash.encoding_name(), "listpack");
        assert!(hash.set(b"e", b"5", SMALL));
        assert_eq!(hash.encoding_name(), "hashtable");
        assert_eq!(hash.len(), 5);
        // Never back, even when it shrinks.
        for field in ["a", "b", "c", "d"] {
            assert!(hash.remove(field.as_bytes()));
        }
        assert_eq!(hash.encoding_name(), "hashtable");
        assert_eq!(pairs(&hash), vec![("e".into(), "5".into())]);
    }

    #[test]
    fn lowering_the_entry_limit_converts_on_the_next_update() {
        let mut hash = hash_of(&[("a", "1"), ("b", "2"), ("c", "3")], SMALL);
        let lower = ListpackLimits {
            max_entries: 2,
            ..SMALL
        };
        assert!(!hash.set(b"a", b"7", lower));
        assert_eq!(hash.encoding_name(), "hashtable");
    }

    #[test]
    fn long_fields_or_values_convert_before_the_write() {
        let mut by_value = hash_of(&[("a", "1")], SMALL);
        by_value.set(b"b", b"123456789", SMALL);
        assert_eq!(by_value.encoding_name(), "hashtable");
        let mut by_field = hash_of(&[("a", "1")], SMALL);
        by_field.set(b"field-too-long", b"1", SMALL);
        assert_eq!(by_field.encoding_name(), "hashtable");
        assert_eq!(by_field.get(b"field-too-long"), Some(&b"1"[..]));
    }

    #[test]
    fn prepare_for_write_follows_hash_type_try_conversion() {
        let mut wide = HashValue::new();
        wide.prepare_for_write(5, std::iter::empty(), SMALL);
        assert_eq!(wide.encoding_name(), "hashtable", "more pairs than max entries");
        let mut within = HashValue::new();
        within.prepare_for_write(4, [&b"12345678"[..], b"x"].into_iter(), SMALL);
        assert_eq!(within.encoding_name(), "listpack");
        within.prepare_for_write(1, [&b"f"[..], b"123456789"].into_iter(), SMALL);
        assert_eq!(within.encoding_name(), "hashtable", "an argument longer than max value");
    }

    #[test]
    fn hashtable_gets_sets_and_removes() {
        let mut hash = HashValue::new();
        hash.prepare_for_write(10, std::iter::empty(), SMALL);
        for n in 0..1000 {
            assert!(hash.set(format!("f{n}").as_bytes(), format!("v{n}").as_bytes(), SMALL));
        }
        assert!(!hash.set(b"f7", b"seven", SMALL));
        assert_eq!(hash.len(), 1000);
        assert_eq!(hash.get(b"f7"), Some(&b"seven"[..]));
        assert_eq!(hash.get(b"f999"), Some(&b"v999"[..]));
        for n in 0..999 {
            assert!(hash.remove(format!("f{n}").as_bytes()));
        }
        assert_eq!(pairs(&hash), vec![("f999".into(), "v999".into())]);
        assert!(hash.heap_size_bytes() > 0);
    }

    #[test]
    fn listpack_scan_returns_everything_with_cursor_zero() {
        let hash = hash_of(&[("a", "1"), ("b", "2")], SMALL);
        let mut seen = Vec::new();
        assert_eq!(hash.scan(12345, |field, _| seen.push(field.to_vec())), 0);
        assert_eq!(seen, vec![b"a".to_vec(), b"b".to_vec()]);
    }

    #[test]
    fn hashtable_scan_is_stable_while_the_table_grows_and_shrinks() {
        let mut hash = HashValue::new();
        for n in 0..500 {
            hash.set(format!("keep{n}").as_bytes(), b"v", SMALL);
        }
        let mut seen = HashSet::new();
        let (mut cursor, mut step) = (0u64, 0);
        loop {
            cursor = hash.scan(cursor, |field, _| {
                seen.insert(field.to_vec());
            });
            step += 1;
            if step == 10 {
                for n in 0..5000 {
                    hash.set(format!("extra{n}").as_bytes(), b"v", SMALL);
                }
            }
            if step == 100 {
                for n in 0..5000 {
                    hash.remove(format!("extra{n}").as_bytes());
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for n in 0..500 {
            assert!(seen.contains(format!("keep{n}").as_bytes()), "keep{n} never returned");
        }
    }

    #[test]
    fn random_picks_cover_both_encodings() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let small = hash_of(&[("a", "1"), ("b", "2"), ("c", "3")], SMALL);
        let mut large = HashValue::new();
        for n in 0..300 {
            large.set(format!("f{n}").as_bytes(), format!("v{n}").as_bytes(), SMALL);
        }
        assert_eq!(large.encoding_name(), "hashtable");
        for hash in [&small, &large] {
            let (field, value) = hash.random_entry(&mut rng).expect("not empty");
            assert_eq!(hash.get(field), Some(value));
            let mut repeated = Vec::new();
            hash.random_entries_with_repetition(1000, &mut rng, |field, value| {
                repeated.push((field, value));
                ControlFlow::Continue(())
            });
            assert_eq!(repeated.len(), 1000);
            let mut visited = 0;
            hash.random_entries_with_repetition(1000, &mut rng, |_, _| {
                visited += 1;
                if visited == 3 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
            assert_eq!(visited, 3, "a break stops the picks");
            assert!(repeated.iter().all(|(field, value)| hash.get(field) == Some(*value)));
            for count in [
                0,
                1,
                2,
                hash.len() / 3,
                hash.len() / 2,
                hash.len() - 1,
                hash.len(),
                hash.len() + 5,
            ] {
                let distinct = hash.random_distinct_entries(count, &mut rng);
                assert_eq!(distinct.len(), count.min(hash.len()), "count {count}");
                let fields: HashSet<&[u8]> = distinct.iter().map(|(field, _)| *field).collect();
                assert_eq!(fields.len(), distinct.len(), "no repeats for count {count}");
                assert!(distinct.iter().all(|(field, value)| hash.get(field) == Some(*value)));
            }
        }
        let empty = HashValue::new();
        assert!(empty.random_entry(&mut rng).is_none());
        empty.random_entries_with_repetition(5, &mut rng, |_, _| panic!("an empty hash has nothing to pick"));
    }

    #[test]
    fn clones_and_equality_ignore_the_encoding() {
        let listpack = hash_of(&[("a", "1"), ("b", "2")], LARGE);
        let mut hashtable = HashValue::new();
        hashtable.prepare_for_write(100, std::iter::empty(), SMALL);
        hashtable.set(b"b", b"2", SMALL);
        hashtable.set(b"a", b"1", SMALL);
        assert_eq!(hashtable.encoding_name(), "hashtable");
        assert_eq!(listpack, hashtable);
        assert_eq!(hashtable.clone(), listpack);
        assert_eq!(hashtable.clone().encoding_name(), "hashtable");
        hashtable.set(b"a", b"other", SMALL);
        assert_ne!(listpack, hashtable);
    }

    #[test]
    fn serde_round_trips_and_picks_the_encoding_from_the_default_limits() {
        let small = hash_of(&[("a", "1"), ("b", "2")], LARGE);
        let mut large = HashValue::new();
        for n in 0..200 {
            large.set(format!("f{n}").as_bytes(), b"v", LARGE);
        }
        let long_value = hash_of(&[("a", &"x".repeat(65))], LARGE);
        for (hash, encoding) in [(&small, "listpack"), (&large, "hashtable"), (&long_value, "hashtable")] {
            let encoded = rmp_serde::to_vec(hash).expect("serializes");
            let decoded: HashValue = rmp_serde::from_slice(&encoded).expect("deserializes");
            assert_eq!(&decoded, hash);
            assert_eq!(decoded.encoding_name(), encoding);
        }
    }

    #[test]
    fn serde_refuses_duplicates_and_empty_hashes() {
        let pair = |field: &[u8]| (SmallBytes::from_slice(field), SmallBytes::from_slice(b"v"));
        let duplicate = rmp_serde::to_vec(&vec![pair(b"a"), pair(b"a")]).expect("serializes");
        assert!(rmp_serde::from_slice::<HashValue>(&duplicate).is_err());
        let empty = rmp_serde::to_vec(&Vec::<(SmallBytes, SmallBytes)>::new()).expect("serializes");
        assert!(rmp_serde::from_slice::<HashValue>(&empty).is_err());
    }
}
