//! The sorted set value, in one of two encodings (Redis's names):
//!
//! - `listpack`: a `Vec` of entries kept sorted by (score, member). Small and
//!   cache-friendly; lookups by member are linear, which is cheap below
//!   `zset-max-listpack-entries` (128) elements.
//! - `skiplist`: Redis's name for its indexed encoding, which here is an
//!   order-statistic B+ tree (`tree::ScoreTree`) for ranks and ranges in
//!   O(log n), plus a `Dict` from member to score for O(1) score lookups and
//!   stable ZSCAN cursors.
//!
//! A set starts as a listpack and converts to a skiplist once it holds more
//! than `zset-max-listpack-entries` elements or a member longer than
//! `zset-max-listpack-value` bytes. As in Redis, it never converts back, except
//! that a set built whole by a STORE command picks the encoding its final size
//! calls for (`from_sorted_entries`).
//!
//! Order: by score, then by member bytes. Scores are never NaN.

mod tree;

use std::cmp::Ordering;
use std::fmt;

use serde::de::{SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::dict::{Dict, DictItem};
use super::small_bytes::SmallBytes;
pub use tree::precedes;
use tree::{ScoreTree, TreeRange};

/// One element: a member and its score.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub member: SmallBytes,
    pub score: f64,
}

impl DictItem for Entry {
    fn key(&self) -> &[u8] {
        &self.member
    }
}

/// The thresholds of the compact encoding, from `zset-max-listpack-*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListpackLimits {
    pub max_entries: usize,
    pub max_value_bytes: usize,
}

impl ListpackLimits {
    /// Redis's defaults, used where no configuration is at hand (RESTORE).
    pub const DEFAULT: ListpackLimits = ListpackLimits {
        max_entries: 128,
        max_value_bytes: 64,
    };

    fn allow(&self, entry_count: usize, longest_member_bytes: usize) -> bool {
        entry_count <= self.max_entries && longest_member_bytes <= self.max_value_bytes
    }
}

/// What `SortedSetValue::insert` did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Inserted {
    Added,
    /// The member was present with this score; it now has the new one.
    Updated(f64),
}

pub struct SortedSetValue {
    encoding: Encoding,
}

enum Encoding {
    Listpack(Vec<Entry>),
    Skiplist(Box<Indexed>),
}

struct Indexed {
    list: ScoreTree,
    scores: Dict<Entry>,
}

impl Indexed {
    fn new() -> Indexed {
        Indexed {
            list: ScoreTree::new(),
            scores: Dict::new(),
        }
    }

    /// An index of `entries`, which must be in ascending order with
    /// distinct members.
    fn from_sorted(entries: Vec<Entry>) -> Indexed {
        let mut scores = Dict::new();
        for entry in &entries {
            scores.insert(entry.clone());
        }
        Indexed {
            list: ScoreTree::from_sorted(entries.into_iter()),
            scores,
        }
    }
}

impl Default for SortedSetValue {
    fn default() -> Self {
        SortedSetValue {
            encoding: Encoding::Listpack(Vec::new()),
        }
    }
}

impl SortedSetValue {
    /// An empty set in the encoding a set of `size_hint` members, the longest
    /// `longest_member_hint` bytes, calls for (Redis's `zsetTypeCreate`).
    pub fn with_hint(limits: ListpackLimits, size_hint: usize, longest_member_hint: usize) -> SortedSetValue {
        if limits.max_entries == 0 || !limits.allow(size_hint, longest_member_hint) {
            return SortedSetValue {
                encoding: Encoding::Skiplist(Box::new(Indexed::new())),
            };
        }
        SortedSetValue {
            encoding: Encoding::Listpack(Vec::with_capacity(size_hint.min(limits.max_entries))),
        }
    }

    /// A set from entries already sorted by (score, member) with distinct
    /// members, in the encoding its size calls for.
    pub fn from_sorted_entries(limits: ListpackLimits, entries: Vec<Entry>) -> SortedSetValue {
        debug_assert!(entries.windows(2).all(|pair| precedes(
            pair[0].score,
            &pair[0].member,
            pair[1].score,
            &pair[1].member
        )));
        let longest = entries.iter().map(|entry| entry.member.len()).max().unwrap_or(0);
        if limits.max_entries > 0 && limits.allow(entries.len(), longest) {
            let mut entries = entries;
            for entry in entries.iter_mut().filter(|entry| entry.score == 0.0) {
                entry.score = 0.0;
            }
            return SortedSetValue {
                encoding: Encoding::Listpack(entries),
            };
        }
        SortedSetValue {
            encoding: Encoding::Skiplist(Box::new(Indexed::from_sorted(entries))),
        }
    }

    pub fn len(&self) -> usize {
        match &self.encoding {
            Encoding::Listpack(entries) => entries.len(),
            Encoding::Skiplist(indexed) => indexed.list.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding_name(&self) -> &'static str {
        match &self.encoding {
            Encoding::Listpack(_) => "listpack",
            Encoding::Skiplist(_) => "skiplist",
        }
    }

    /// Heap bytes owned beyond the value's box.
    pub fn heap_size_bytes(&self) -> usize {
        match &self.encoding {
            Encoding::Listpack(entries) => {
                entries.capacity() * std::mem::size_of::<Entry>()
                    + entries
                        .iter()
                        .map(|entry| entry.member.heap_size_bytes())
                        .sum::<usize>()
            }
            Encoding::Skiplist(indexed) => {
                // Each dict item is a boxed chain node: a link plus the entry.
                let dict_node_bytes = std::mem::size_of::<Entry>() + std::mem::size_of::<usize>();
                std::mem::size_of::<Indexed>()
                    + indexed.list.heap_size_bytes()
                    + indexed.scores.bucket_count() * std::mem::size_of::<usize>()
                    + indexed
                        .scores
                        .iter()
                        .map(|entry| dict_node_bytes + entry.member.heap_size_bytes())
                        .sum::<usize>()
            }
        }
    }

    /// The score of `member`: O(1) in a skiplist, O(n) in a (small) listpack.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.encoding {
            Encoding::Listpack(entries) => entries
                .iter()
                .find(|entry| &*entry.member == member)
                .map(|entry| entry.score),
            Encoding::Skiplist(indexed) => indexed.scores.get(member).map(|entry| entry.score),
        }
    }

    /// Adds `member` or changes its score, converting to a skiplist first if
    /// the listpack would exceed `limits`.
    pub fn insert(&mut self, member: &[u8], score: f64, limits: ListpackLimits) -> Inserted {
        match self.score(member) {
            Some(old_score) => {
                self.change_score(member, old_score, score);
                Inserted::Updated(old_score)
            }
            None => {
                self.insert_new(member, score, limits);
                Inserted::Added
            }
        }
    }

    /// Adds a member that is not in the set (the caller looked it up),
    /// converting to a skiplist first if the listpack would exceed `limits`.
    pub fn insert_new(&mut self, member: &[u8], score: f64, limits: ListpackLimits) {
        assert!(!score.is_nan(), "sorted set scores are never NaN");
        debug_assert!(self.score(member).is_none(), "insert_new of a present member");
        if let Encoding::Listpack(entries) = &mut self.encoding {
            if entries.len() < limits.max_entries && member.len() <= limits.max_value_bytes {
                let member = SmallBytes::from_slice(member);
                listpack_insert(entries, Entry { member, score });
                return;
            }
            self.convert_to_skiplist();
        }
        let Encoding::Skiplist(indexed) = &mut self.encoding else {
            unreachable!("converted above");
        };
        let member = SmallBytes::from_slice(member);
        indexed.scores.insert(Entry {
            member: member.clone(),
            score,
        });
        indexed.list.insert(member, score);
    }

    /// Moves `member`, present with `old_score`, to `new_score`.
    pub fn change_score(&mut self, member: &[u8], old_score: f64, new_score: f64) {
        assert!(!new_score.is_nan(), "sorted set scores are never NaN");
        if old_score == new_score {
            return;
        }
        match &mut self.encoding {
            Encoding::Listpack(entries) => {
                let index = entries
                    .iter()
                    .position(|entry| &*entry.member == member)
                    .expect("changed member is present");
                let entry = entries.remove(index);
                listpack_insert(
                    entries,
                    Entry {
                        score: new_score,
                        ..entry
                    },
                );
            }
            Encoding::Skiplist(indexed) => {
                let existing = indexed.scores.get_mut(member).expect("changed member is present");
                debug_assert_eq!(existing.score, old_score);
                existing.score = new_score;
                indexed.list.update_score(member, old_score, new_score);
            }
        }
    }

    fn convert_to_skiplist(&mut self) {
        let Encoding::Listpack(entries) = &mut self.encoding else {
            return;
        };
        let indexed = Indexed::from_sorted(std::mem::take(entries));
        self.encoding = Encoding::Skiplist(Box::new(indexed));
    }

    /// Removes `member`, returning its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.encoding {
            Encoding::Listpack(entries) => {
                let index = entries.iter().position(|entry| &*entry.member == member)?;
                Some(entries.remove(index).score)
            }
            Encoding::Skiplist(indexed) => {
                let removed = indexed.scores.remove(member)?;
                let unlinked = indexed.list.remove(member, removed.score);
                assert!(unlinked, "dict and skiplist agree");
                Some(removed.score)
            }
        }
    }

    /// The 0-based ascending rank of `member` and its score.
    pub fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        let score = self.score(member)?;
        let rank = self.count_prefix(|candidate_score, candidate| precedes(candidate_score, candidate, score, member));
        Some((rank, score))
    }

    /// Number of elements, from the lowest, for which `is_before` holds; it
    /// must hold for a prefix of the order. O(log n).
    pub fn count_prefix(&self, mut is_before: impl FnMut(f64, &[u8]) -> bool) -> usize {
        match &self.encoding {
            Encoding::Listpack(entries) => entries.partition_point(|entry| is_before(entry.score, &entry.member)),
            Encoding::Skiplist(indexed) => indexed.list.count_prefix(is_before),
        }
    }

    /// The element at 0-based ascending `rank`; `rank` must be below `len`.
    pub fn entry_at(&self, rank: usize) -> &Entry {
        match &self.encoding {
            Encoding::Listpack(entries) => &entries[rank],
            Encoding::Skiplist(indexed) => indexed.list.entry_at(rank),
        }
    }

    /// The elements of ascending ranks `start..end` (`end <= len`), lowest
    /// first, or highest first when `reverse`.
    pub fn range(&self, start: usize, end: usize, reverse: bool) -> RangeIter<'_> {
        assert!(
            start <= end && end <= self.len(),
            "range {start}..{end} of {}",
            self.len()
        );
        match &self.encoding {
            Encoding::Listpack(entries) => {
                let slice = entries[start..end].iter();
                if reverse {
                    RangeIter::ListpackReverse(slice.rev())
                } else {
                    RangeIter::Listpack(slice)
                }
            }
            Encoding::Skiplist(indexed) => RangeIter::Skiplist(indexed.list.range(start, end, reverse)),
        }
    }

    /// Every element in ascending order.
    pub fn iter(&self) -> RangeIter<'_> {
        self.range(0, self.len(), false)
    }

    /// Removes ascending ranks `start..end`, handing each removed entry to
    /// `removed` lowest first.
    pub fn remove_range(&mut self, start: usize, end: usize, mut removed: impl FnMut(Entry)) {
        assert!(
            start <= end && end <= self.len(),
            "range {start}..{end} of {}",
            self.len()
        );
        match &mut self.encoding {
            Encoding::Listpack(entries) => entries.drain(start..end).for_each(removed),
            Encoding::Skiplist(indexed) => {
                let scores = &mut indexed.scores;
                indexed.list.remove_range(start, end, |entry| {
                    let unindexed = scores.remove(&entry.member);
                    debug_assert!(unindexed.is_some(), "dict and skiplist agree");
                    removed(entry);
                });
            }
        }
    }

    /// One ZSCAN step. A listpack is returned whole with cursor 0; a skiplist
    /// visits its member dict's buckets from `cursor`, at most
    /// `max_buckets`, until `count` elements were visited. Returns the next
    /// cursor (0: done).
    pub fn scan(&self, cursor: u64, count: usize, max_buckets: usize, mut visit: impl FnMut(&Entry)) -> u64 {
        match &self.encoding {
            Encoding::Listpack(entries) => {
                entries.iter().for_each(visit);
                0
            }
            Encoding::Skiplist(indexed) => {
                let mut cursor = cursor;
                let mut visited = 0usize;
                for _ in 0..max_buckets.max(1) {
                    cursor = indexed.scores.scan_bucket(cursor, |entry| {
                        visited += 1;
                        visit(entry);
                    });
                    if cursor == 0 || visited >= count {
                        break;
                    }
                }
                cursor
            }
        }
    }

    /// Checks the encoding's invariants; for tests.
    #[cfg(test)]
    fn assert_invariants(&self) {
        let in_order = self
            .iter()
            .zip(self.iter().skip(1))
            .all(|(a, b)| precedes(a.score, &a.member, b.score, &b.member));
        assert!(in_order);
        if let Encoding::Skiplist(indexed) = &self.encoding {
            indexed.list.assert_invariants();
            assert_eq!(indexed.scores.len(), indexed.list.len());
            for entry in self.iter() {
                assert_eq!(
                    indexed.scores.get(&entry.member).map(|found| found.score),
                    Some(entry.score)
                );
            }
        }
    }
}

/// Inserts in order. A listpack keeps `-0` as the integer 0, as Redis's
/// does (it stores integral scores as integers), so the sign is dropped.
fn listpack_insert(entries: &mut Vec<Entry>, mut entry: Entry) {
    if entry.score == 0.0 {
        entry.score = 0.0;
    }
    let index =
        entries.partition_point(|existing| precedes(existing.score, &existing.member, entry.score, &entry.member));
    entries.insert(index, entry);
}

/// Elements of a rank range, in either encoding.
pub enum RangeIter<'a> {
    Listpack(std::slice::Iter<'a, Entry>),
    ListpackReverse(std::iter::Rev<std::slice::Iter<'a, Entry>>),
    Skiplist(TreeRange<'a>),
}

impl<'a> Iterator for RangeIter<'a> {
    type Item = &'a Entry;

    fn next(&mut self) -> Option<&'a Entry> {
        match self {
            RangeIter::Listpack(iter) => iter.next(),
            RangeIter::ListpackReverse(iter) => iter.next(),
            RangeIter::Skiplist(iter) => iter.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            RangeIter::Listpack(iter) => iter.size_hint(),
            RangeIter::ListpackReverse(iter) => iter.size_hint(),
            RangeIter::Skiplist(iter) => iter.size_hint(),
        }
    }
}

impl ExactSizeIterator for RangeIter<'_> {}

/// Total order of two entries: score, then member bytes.
pub fn compare_entries(a: &Entry, b: &Entry) -> Ordering {
    a.score
        .partial_cmp(&b.score)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a.member.as_slice().cmp(b.member.as_slice()))
}

impl Clone for SortedSetValue {
    fn clone(&self) -> Self {
        match &self.encoding {
            Encoding::Listpack(entries) => SortedSetValue {
                encoding: Encoding::Listpack(entries.clone()),
            },
            Encoding::Skiplist(indexed) => {
                let mut scores = Dict::new();
                for entry in indexed.list.range(0, indexed.list.len(), false) {
                    scores.insert(entry.clone());
                }
                SortedSetValue {
                    encoding: Encoding::Skiplist(Box::new(Indexed {
                        list: indexed.list.clone(),
                        scores,
                    })),
                }
            }
        }
    }
}

/// Equal when both hold the same elements in the same encoding.
impl PartialEq for SortedSetValue {
    fn eq(&self, other: &Self) -> bool {
        self.encoding_name() == other.encoding_name() && self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl fmt::Debug for SortedSetValue {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SortedSetValue")
            .field("encoding", &self.encoding_name())
            .field(
                "entries",
                &self
                    .iter()
                    .map(|entry| (&entry.member, entry.score))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Serialized canonically, whatever the encoding: a sequence of
/// `(member, score)` pairs in ascending order.
impl Serialize for SortedSetValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut sequence = serializer.serialize_seq(Some(self.len()))?;
        for entry in self.iter() {
            sequence.serialize_element(&(&entry.member, entry.score))?;
        }
        sequence.end()
    }
}

/// Rebuilt in the encoding Redis's default thresholds call for (RESTORE has
/// no configuration at hand). An empty set, a NaN score or a repeated member
/// is refused.
impl<'de> Deserialize<'de> for SortedSetValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;

        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = SortedSetValue;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a sequence of (member, score) pairs")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<SortedSetValue, A::Error> {
                // The length prefix is client data: never preallocate from it.
                let mut entries = Vec::new();
                while let Some((member, score)) = sequence.next_element::<(SmallBytes, f64)>()? {
                    if score.is_nan() {
                        return Err(serde::de::Error::custom("NaN score"));
                    }
                    entries.push(Entry { member, score });
                }
                if entries.is_empty() {
                    // A key never holds an empty collection.
                    return Err(serde::de::Error::custom("empty sorted set"));
                }
                entries.sort_by(compare_entries);
                let mut members: Vec<&[u8]> = entries.iter().map(|entry| entry.member.as_slice()).collect();
                members.sort_unstable();
                if members.windows(2).any(|pair| pair[0] == pair[1]) {
                    return Err(serde::de::Error::custom("repeated member"));
                }
                Ok(SortedSetValue::from_sorted_entries(ListpackLimits::DEFAULT, entries))
            }
        }

        deserializer.deserialize_seq(EntriesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: ListpackLimits = ListpackLimits {
        max_entries: 4,
        max_value_bytes: 8,
    };

    fn members(set: &SortedSetValue) -> Vec<String> {
        set.iter()
            .map(|entry| String::from_utf8_lossy(&entry.member).into_owned())
            .collect()
    }

    #[test]
    fn a_listpack_converts_when_it_grows_past_the_entry_limit() {
        let mut set = SortedSetValue::with_hint(SMALL, 1, 1);
        for (score, member) in [(3.0, "c"), (1.0, "a"), (2.0, "b"), (1.0, "a2")] {
            assert_eq!(set.insert(member.as_bytes(), score, SMALL), Inserted::Added);
        }
        assert_eq!(set.encoding_name(), "listpack");
        assert_eq!(members(&set), ["a", "a2", "b", "c"]);
        assert_eq!(set.insert(b"e", 0.5, SMALL), Inserted::Added);
        assert_eq!(set.encoding_name(), "skiplist");
        assert_eq!(members(&set), ["e", "a", "a2", "b", "c"]);
        set.assert_invariants();
        // Never back, even when it shrinks.
        set.remove_range(0, 4, |_| {});
        assert_eq!(set.encoding_name(), "skiplist");
        assert_eq!(members(&set), ["c"]);
    }

    #[test]
    fn a_long_member_converts_and_a_zero_entry_limit_starts_as_skiplist() {
        let mut set = SortedSetValue::with_hint(SMALL, 1, 1);
        set.insert(b"short", 1.0, SMALL);
        set.insert(b"much-longer-than-eight", 2.0, SMALL);
        assert_eq!(set.encoding_name(), "skiplist");
        set.assert_invariants();
        let zero = ListpackLimits {
            max_entries: 0,
            max_value_bytes: 64,
        };
        assert_eq!(SortedSetValue::with_hint(zero, 1, 1).encoding_name(), "skiplist");
    }

    #[test]
    fn updates_move_members_and_report_the_old_score() {
        for limits in [
            SMALL,
            ListpackLimits {
                max_entries: 0,
                max_value_bytes: 0,
            },
        ] {
            let mut set = SortedSetValue::with_hint(limits, 3, 1);
            set.insert(b"a", 1.0, limits);
            set.insert(b"b", 2.0, limits);
            set.insert(b"c", 3.0, limits);
            assert_eq!(set.insert(b"a", 10.0, limits), Inserted::Updated(1.0));
            assert_eq!(members(&set), ["b", "c", "a"]);
            assert_eq!(set.rank(b"a"), Some((2, 10.0)));
            assert_eq!(set.remove(b"b"), Some(2.0));
            assert_eq!(set.remove(b"b"), None);
            assert_eq!(set.score(b"c"), Some(3.0));
            set.assert_invariants();
        }
    }

    #[test]
    fn rank_and_range_are_right_on_a_large_set() {
        let limits = ListpackLimits::DEFAULT;
        let mut set = SortedSetValue::with_hint(limits, 0, 0);
        let mut model = Vec::new();
        for n in 0..20_000u32 {
            let member = format!("member:{n}");
            let score = (n % 1000) as f64;
            set.insert(member.as_bytes(), score, limits);
            model.push(Entry {
                member: SmallBytes::from_slice(member.as_bytes()),
                score,
            });
        }
        model.sort_by(compare_entries);
        assert_eq!(set.encoding_name(), "skiplist");
        set.assert_invariants();
        for rank in (0..20_000).step_by(997) {
            let expected = &model[rank];
            assert_eq!(set.rank(&expected.member), Some((rank, expected.score)));
            assert_eq!(set.entry_at(rank), expected);
        }
        let middle: Vec<_> = set.range(100, 103, false).cloned().collect();
        assert_eq!(middle, model[100..103]);
        let below_500 = set.count_prefix(|score, _| score < 500.0);
        assert_eq!(below_500, 10_000);
    }

    #[test]
    fn serde_round_trips_both_encodings() {
        for count in [3usize, 300] {
            let mut set = SortedSetValue::with_hint(ListpackLimits::DEFAULT, count, 8);
            for n in 0..count {
                set.insert(format!("m{n}").as_bytes(), -(n as f64), ListpackLimits::DEFAULT);
            }
            let bytes = rmp_serde::to_vec(&set).expect("serializes");
            let back: SortedSetValue = rmp_serde::from_slice(&bytes).expect("deserializes");
            assert_eq!(back, set);
            let cloned = set.clone();
            assert_eq!(cloned, set);
        }
        let repeated = rmp_serde::to_vec(&vec![
            (SmallBytes::from_slice(b"a"), 1.0),
            (SmallBytes::from_slice(b"a"), 2.0),
        ])
        .expect("serializes");
        assert!(rmp_serde::from_slice::<SortedSetValue>(&repeated).is_err());
        let empty = rmp_serde::to_vec(&Vec::<(SmallBytes, f64)>::new()).expect("serializes");
        assert!(rmp_serde::from_slice::<SortedSetValue>(&empty).is_err());
        let not_a_number = rmp_serde::to_vec(&vec![(SmallBytes::from_slice(b"a"), f64::NAN)]).expect("serializes");
        assert!(rmp_serde::from_slice::<SortedSetValue>(&not_a_number).is_err());
    }

    #[test]
    fn scan_of_a_skiplist_returns_every_member() {
        let limits = ListpackLimits {
            max_entries: 0,
            max_value_bytes: 0,
        };
        let mut set = SortedSetValue::with_hint(limits, 0, 0);
        for n in 0..1000 {
            set.insert(format!("m{n}").as_bytes(), n as f64, limits);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = set.scan(cursor, 10, 100, |entry| {
                seen.insert(entry.member.clone());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
    }
}
