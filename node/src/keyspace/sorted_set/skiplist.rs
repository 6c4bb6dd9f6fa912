//! `SkipList`: the order-statistic index of a large sorted set, as Redis's
//! `zskiplist`, kept in an arena of nodes addressed by `u32` indices so the
//! whole structure is safe Rust.
//!
//! Invariants:
//! - nodes reachable from the header at level 0 are in strictly ascending
//!   (score, member) order, and there are exactly `len` of them;
//! - the span of a node's level-`i` link is the number of level-0 steps its level-`i`
//!   link jumps over (links to `NIL` count up to one past the last node), so a
//!   rank is the sum of the spans on the search path;
//! - `backward` is the previous node at level 0 (`NIL` for the first node) and
//!   `tail` is the last node (`NIL` when empty);
//! - an arena slot is either linked into the list or listed in `free`.
//!
//! Every search, insertion, deletion and rank lookup is O(log n) expected.

use super::Entry;
use crate::keyspace::small_bytes::SmallBytes;

const NIL: u32 = u32::MAX;
const HEADER: u32 = 0;
/// As Redis's `ZSKIPLIST_MAXLEVEL`: enough for 2^64 elements at p = 1/4.
const MAX_LEVEL: usize = 32;
/// Links kept inside the node itself. With p = 1/4, 98% of nodes have at
/// most 3 levels, so a search step reads the next node's score and its links
/// from one place instead of chasing a second pointer (as Redis's node keeps
/// its level array inline).
const INLINE_LEVELS: usize = 3;

#[derive(Clone, Copy, Debug)]
struct Level {
    forward: u32,
    span: u32,
}

/// One arena slot, exactly one cache line: a search step reads the score
/// and the links of a node from the same line.
#[derive(Clone, Debug)]
#[repr(align(64))]
struct Node {
    entry: Entry,
    /// Levels `0..min(height, INLINE_LEVELS)`.
    low_levels: [Level; INLINE_LEVELS],
    backward: u32,
    /// The height (number of levels, 0 for a free slot) in the low
    /// `HEIGHT_BITS` bits; above them, for a node taller than
    /// `INLINE_LEVELS`, the index of its other levels in
    /// `SkipList::high_levels`.
    shape: u32,
}

const _: () = assert!(std::mem::size_of::<Node>() == 64);

const HEIGHT_BITS: u32 = 6;
const HEIGHT_MASK: u32 = (1 << HEIGHT_BITS) - 1;

impl Node {
    fn height(&self) -> usize {
        (self.shape & HEIGHT_MASK) as usize
    }

    fn high_levels_index(&self) -> usize {
        (self.shape >> HEIGHT_BITS) as usize
    }
}

#[derive(Clone, Debug)]
pub struct SkipList {
    nodes: Vec<Node>,
    free: Vec<u32>,
    /// Levels `INLINE_LEVELS..` of the nodes taller than `INLINE_LEVELS`
    /// (about 1 in 64), and the free indices among them.
    high_levels: Vec<Box<[Level]>>,
    free_high_levels: Vec<u32>,
    tail: u32,
    /// Number of levels in use (at least 1).
    level: usize,
    len: usize,
    /// State of the xorshift generator that draws node levels.
    random_state: u64,
}

/// True if (score_a, member_a) sorts strictly before (score_b, member_b).
pub fn precedes(score_a: f64, member_a: &[u8], score_b: f64, member_b: &[u8]) -> bool {
    score_a < score_b || (score_a == score_b && member_a < member_b)
}

impl SkipList {
    pub fn new() -> SkipList {
        let mut list = SkipList {
            nodes: Vec::new(),
            free: Vec::new(),
            high_levels: Vec::new(),
            free_high_levels: Vec::new(),
            tail: NIL,
            level: 1,
            len: 0,
            random_state: rand::random::<u64>() | 1,
        };
        let header = list.allocate(
            Entry {
                member: SmallBytes::new(),
                score: 0.0,
            },
            MAX_LEVEL,
        );
        debug_assert_eq!(header, HEADER);
        list
    }

    /// Link `level` of `node`, which must be below its height.
    #[inline]
    fn level_of(&self, node: usize, level: usize) -> &Level {
        let node = &self.nodes[node];
        debug_assert!(level < node.height());
        match node.low_levels.get(level) {
            Some(link) => link,
            None => &self.high_levels[node.high_levels_index()][level - INLINE_LEVELS],
        }
    }

    #[inline]
    fn level_mut(&mut self, node: usize, level: usize) -> &mut Level {
        let node = &mut self.nodes[node];
        debug_assert!(level < node.height());
        if level < INLINE_LEVELS {
            return &mut node.low_levels[level];
        }
        let index = node.high_levels_index();
        &mut self.high_levels[index][level - INLINE_LEVELS]
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Heap bytes: the arena (live and free slots) and the level arrays
    /// beyond the inline ones.
    pub fn heap_size_bytes(&self) -> usize {
        let arena = self.nodes.capacity() * std::mem::size_of::<Node>() + self.free.capacity() * 4;
        let levels_and_members: usize = self
            .nodes
            .iter()
            .map(|node| node.entry.member.heap_size_bytes())
            .sum::<usize>()
            + self.high_levels.capacity() * std::mem::size_of::<Box<[Level]>>()
            + self.free_high_levels.capacity() * 4
            + self
                .high_levels
                .iter()
                .map(|levels| levels.len() * std::mem::size_of::<Level>())
                .sum::<usize>();
        arena + levels_and_members
    }

    /// Redis's `zslRandomLevel`: each extra level with probability 1/4.
    fn random_level(&mut self) -> usize {
        let mut level = 1;
        while level < MAX_LEVEL {
            self.random_state ^= self.random_state << 13;
            self.random_state ^= self.random_state >> 7;
            self.random_state ^= self.random_state << 17;
            if self.random_state & 3 != 0 {
                break;
            }
            level += 1;
        }
        level
    }

    fn forward(&self, node: u32, level: usize) -> u32 {
        self.level_of(node as usize, level).forward
    }

    fn entry_of(&self, node: u32) -> &Entry {
        &self.nodes[node as usize].entry
    }

    /// Links a new element; the member must not be in the list. Returns its
    /// 0-based rank.
    pub fn insert(&mut self, member: SmallBytes, score: f64) -> usize {
        debug_assert!(!score.is_nan());
        assert!(self.len < (NIL - 1) as usize, "sorted set arena is full");
        let new_level = self.random_level();
        let new_node = self.allocate(Entry { member, score }, new_level);
        self.link(new_node)
    }

    /// Links the unlinked arena slot `new_node` at the position of its entry,
    /// with the levels it has. Returns its 0-based rank.
    fn link(&mut self, new_node: u32) -> usize {
        let new_level = self.nodes[new_node as usize].height();
        let mut update = [HEADER; MAX_LEVEL];
        let mut rank = [0usize; MAX_LEVEL];
        let mut node = HEADER;
        {
            let Entry { member, score } = self.entry_of(new_node);
            let (member, score) = (member.as_slice(), *score);
            for level in (0..self.level).rev() {
                rank[level] = if level == self.level - 1 { 0 } else { rank[level + 1] };
                loop {
                    let link = self.level_of(node as usize, level);
                    if link.forward == NIL {
                        break;
                    }
                    let next_entry = self.entry_of(link.forward);
                    if !precedes(next_entry.score, &next_entry.member, score, member) {
                        break;
                    }
                    rank[level] += link.span as usize;
                    node = link.forward;
                }
                update[level] = node;
            }
        }
        if new_level > self.level {
            for level in self.level..new_level {
                rank[level] = 0;
                update[level] = HEADER;
                self.level_mut(HEADER as usize, level).span = self.len as u32;
            }
            self.level = new_level;
        }
        for level in 0..new_level {
            let previous = update[level] as usize;
            let previous_level = *self.level_of(previous, level);
            let jumped = (rank[0] - rank[level]) as u32;
            *self.level_mut(new_node as usize, level) = Level {
                forward: previous_level.forward,
                span: previous_level.span - jumped,
            };
            *self.level_mut(previous, level) = Level {
                forward: new_node,
                span: jumped + 1,
            };
        }
        for (level, &previous) in update.iter().enumerate().take(self.level).skip(new_level) {
            self.level_mut(previous as usize, level).span += 1;
        }
        self.nodes[new_node as usize].backward = if update[0] == HEADER { NIL } else { update[0] };
        match self.forward(new_node, 0) {
            NIL => self.tail = new_node,
            next => self.nodes[next as usize].backward = new_node,
        }
        self.len += 1;
        rank[0]
    }

    fn allocate(&mut self, entry: Entry, level_count: usize) -> u32 {
        let unlinked = Level { forward: NIL, span: 0 };
        let mut shape = level_count as u32;
        if level_count > INLINE_LEVELS {
            let levels = vec![unlinked; level_count - INLINE_LEVELS].into_boxed_slice();
            let index = match self.free_high_levels.pop() {
                Some(index) => {
                    self.high_levels[index as usize] = levels;
                    index
                }
                None => {
                    self.high_levels.push(levels);
                    (self.high_levels.len() - 1) as u32
                }
            };
            assert!(index < 1 << (32 - HEIGHT_BITS), "sorted set level store is full");
            shape |= index << HEIGHT_BITS;
        }
        let node = Node {
            entry,
            low_levels: [unlinked; INLINE_LEVELS],
            backward: NIL,
            shape,
        };
        match self.free.pop() {
            Some(slot) => {
                self.nodes[slot as usize] = node;
                slot
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// Unlinks `node`, given the last node before it on every level, and
    /// frees its arena slot.
    fn unlink(&mut self, node: u32, update: &[u32; MAX_LEVEL]) -> Entry {
        self.detach(node, update);
        self.free.push(node);
        let removed = &mut self.nodes[node as usize];
        if removed.height() > INLINE_LEVELS {
            let index = removed.high_levels_index();
            self.free_high_levels.push(index as u32);
            self.high_levels[index] = Box::new([]);
        }
        removed.shape = 0;
        std::mem::replace(
            &mut removed.entry,
            Entry {
                member: SmallBytes::new(),
                score: 0.0,
            },
        )
    }

    /// Takes `node` out of the list, given the last node before it on every
    /// level, keeping its arena slot (its links are left stale).
    fn detach(&mut self, node: u32, update: &[u32; MAX_LEVEL]) {
        for (level, &previous) in update.iter().enumerate().take(self.level) {
            let previous = previous as usize;
            if self.level_of(previous, level).forward == node {
                let removed_level = *self.level_of(node as usize, level);
                let previous_level = self.level_mut(previous, level);
                previous_level.span += removed_level.span;
                previous_level.span -= 1;
                previous_level.forward = removed_level.forward;
            } else {
                self.level_mut(previous, level).span -= 1;
            }
        }
        let backward = self.nodes[node as usize].backward;
        match self.forward(node, 0) {
            NIL => self.tail = backward,
            next => self.nodes[next as usize].backward = backward,
        }
        while self.level > 1 && self.forward(HEADER, self.level - 1) == NIL {
            self.level -= 1;
        }
        self.len -= 1;
    }

    /// The last node before (score, member) on every level.
    fn search_path(&self, score: f64, member: &[u8]) -> [u32; MAX_LEVEL] {
        let mut update = [HEADER; MAX_LEVEL];
        let mut node = HEADER;
        for level in (0..self.level).rev() {
            loop {
                let next = self.forward(node, level);
                if next == NIL {
                    break;
                }
                let next_entry = self.entry_of(next);
                if !precedes(next_entry.score, &next_entry.member, score, member) {
                    break;
                }
                node = next;
            }
            update[level] = node;
        }
        update
    }

    /// Removes the element (score, member). Returns false if it is absent.
    pub fn remove(&mut self, member: &[u8], score: f64) -> bool {
        let update = self.search_path(score, member);
        let candidate = self.forward(update[0], 0);
        if candidate == NIL {
            return false;
        }
        let entry = self.entry_of(candidate);
        if entry.score != score || &*entry.member != member {
            return false;
        }
        self.unlink(candidate, &update);
        self.compact_if_sparse();
        true
    }

    /// Moves `member` from `old_score` to `new_score`, in place when its
    /// position does not change (Redis's `zslUpdateScore`).
    pub fn update_score(&mut self, member: &[u8], old_score: f64, new_score: f64) {
        let update = self.search_path(old_score, member);
        let node = self.forward(update[0], 0);
        assert!(node != NIL, "updated member is in the list");
        debug_assert!(&*self.entry_of(node).member == member && self.entry_of(node).score == old_score);
        let backward = self.nodes[node as usize].backward;
        let next = self.forward(node, 0);
        let after_previous = backward == NIL || {
            let previous = self.entry_of(backward);
            precedes(previous.score, &previous.member, new_score, member)
        };
        let before_next = next == NIL || {
            let following = self.entry_of(next);
            precedes(new_score, member, following.score, &following.member)
        };
        if after_previous && before_next {
            self.nodes[node as usize].entry.score = new_score;
            return;
        }
        // Moved: re-linked with the same node and levels (the level draw is
        // independent of the position, so the list stays as balanced).
        self.detach(node, &update);
        self.nodes[node as usize].entry.score = new_score;
        self.link(node);
    }

    /// Number of elements for which `is_before` holds. `is_before` must hold
    /// for a prefix of the list (true, ..., true, false, ..., false).
    pub fn count_prefix(&self, mut is_before: impl FnMut(f64, &[u8]) -> bool) -> usize {
        let mut traversed = 0usize;
        let mut node = HEADER;
        for level in (0..self.level).rev() {
            loop {
                let next = self.forward(node, level);
                if next == NIL {
                    break;
                }
                let next_entry = self.entry_of(next);
                if !is_before(next_entry.score, &next_entry.member) {
                    break;
                }
                traversed += self.level_of(node as usize, level).span as usize;
                node = next;
            }
        }
        traversed
    }

    /// The node at 0-based `rank`, which must be below `len`.
    fn node_at(&self, rank: usize) -> u32 {
        assert!(rank < self.len, "rank {rank} out of {}", self.len);
        let target = rank + 1;
        let mut traversed = 0usize;
        let mut node = HEADER;
        for level in (0..self.level).rev() {
            loop {
                let next = self.forward(node, level);
                let span = self.level_of(node as usize, level).span as usize;
                if next == NIL || traversed + span > target {
                    break;
                }
                traversed += span;
                node = next;
            }
            if traversed == target {
                return node;
            }
        }
        unreachable!("rank {rank} below len {} is always found", self.len)
    }

    pub fn entry_at(&self, rank: usize) -> &Entry {
        self.entry_of(self.node_at(rank))
    }

    /// Iterates ranks `start..end` ascending, or descending when `reverse`.
    pub fn range(&self, start: usize, end: usize, reverse: bool) -> SkipListRange<'_> {
        assert!(start <= end && end <= self.len);
        let node = match (start == end, reverse) {
            (true, _) => NIL,
            (false, false) => self.node_at(start),
            (false, true) => self.node_at(end - 1),
        };
        SkipListRange {
            list: self,
            node,
            remaining: end - start,
            reverse,
        }
    }

    /// Removes ranks `start..end`, handing each removed entry to `removed` in
    /// ascending order. O(log n + removed), as Redis's `zslDeleteRangeByRank`.
    pub fn remove_range(&mut self, start: usize, end: usize, mut removed: impl FnMut(Entry)) {
        assert!(start <= end && end <= self.len);
        if start == end {
            return;
        }
        let mut update = [HEADER; MAX_LEVEL];
        let mut traversed = 0usize;
        let mut node = HEADER;
        for level in (0..self.level).rev() {
            loop {
                let next = self.forward(node, level);
                let span = self.level_of(node as usize, level).span as usize;
                if next == NIL || traversed + span > start {
                    break;
                }
                traversed += span;
                node = next;
            }
            update[level] = node;
        }
        let mut current = self.forward(node, 0);
        for _ in start..end {
            let next = self.forward(current, 0);
            removed(self.unlink(current, &update));
            current = next;
        }
        self.compact_if_sparse();
    }

    /// Rebuilds the arena when three quarters of it are free slots, so a set
    /// that shrank gives its memory back. Amortised O(1) per removal.
    fn compact_if_sparse(&mut self) {
        const MIN_ARENA_SLOTS: usize = 64;
        if self.nodes.len() < MIN_ARENA_SLOTS || self.len * 4 >= self.nodes.len() {
            return;
        }
        let mut entries = Vec::with_capacity(self.len);
        let mut node = self.forward(HEADER, 0);
        while node != NIL {
            let next = self.forward(node, 0);
            let entry = std::mem::replace(
                &mut self.nodes[node as usize].entry,
                Entry {
                    member: SmallBytes::new(),
                    score: 0.0,
                },
            );
            entries.push(entry);
            node = next;
        }
        *self = SkipList::from_sorted(entries.into_iter());
    }

    /// A list of `entries`, which must be in strictly ascending order: each
    /// is appended after the last node of every level it reaches, O(1)
    /// amortised per entry.
    pub fn from_sorted(entries: impl Iterator<Item = Entry>) -> SkipList {
        let mut list = SkipList::new();
        let (lower, _) = entries.size_hint();
        list.nodes.reserve(lower);
        // The last node on each level and its 1-based rank (0: the header).
        let mut last = [(HEADER, 0usize); MAX_LEVEL];
        for entry in entries {
            if list.tail != NIL {
                let previous = list.entry_of(list.tail);
                assert!(precedes(previous.score, &previous.member, entry.score, &entry.member));
            }
            assert!(list.len < (NIL - 1) as usize, "sorted set arena is full");
            let rank = list.len + 1;
            let new_level = list.random_level();
            list.level = list.level.max(new_level);
            let new_node = list.allocate(entry, new_level);
            for (level, (previous, previous_rank)) in last.iter_mut().enumerate().take(new_level) {
                *list.level_mut(*previous as usize, level) = Level {
                    forward: new_node,
                    span: (rank - *previous_rank) as u32,
                };
                *previous = new_node;
                *previous_rank = rank;
            }
            list.nodes[new_node as usize].backward = list.tail;
            list.tail = new_node;
            list.len = rank;
        }
        // Links to the end span up to one past the last node, as `insert`
        // leaves them.
        for (level, &(previous, previous_rank)) in last.iter().enumerate().take(list.level) {
            list.level_mut(previous as usize, level).span = (list.len - previous_rank) as u32;
        }
        list
    }

    /// Checks every invariant; for tests.
    #[cfg(test)]
    pub fn assert_invariants(&self) {
        let mut count = 0;
        let mut node = self.forward(HEADER, 0);
        let mut previous = NIL;
        while node != NIL {
            assert_eq!(self.nodes[node as usize].backward, previous);
            if previous != NIL {
                let (a, b) = (self.entry_of(previous), self.entry_of(node));
                assert!(precedes(a.score, &a.member, b.score, &b.member));
            }
            count += 1;
            previous = node;
            node = self.forward(node, 0);
        }
        assert_eq!(count, self.len);
        assert_eq!(self.tail, previous);
        for level in 0..self.level {
            let mut position = 0usize;
            let mut node = HEADER;
            loop {
                let link = self.level_of(node as usize, level);
                position += link.span as usize;
                if link.forward == NIL {
                    assert_eq!(position, self.len, "links to the end span up to the last node");
                    break;
                }
                assert_eq!(self.node_at(position - 1), link.forward);
                node = link.forward;
            }
        }
        assert_eq!(self.nodes.len() - 1, self.len + self.free.len());
        let tall_nodes = self.nodes.iter().filter(|node| node.height() > INLINE_LEVELS).count();
        assert_eq!(tall_nodes + self.free_high_levels.len(), self.high_levels.len());
    }
}

pub struct SkipListRange<'a> {
    list: &'a SkipList,
    node: u32,
    remaining: usize,
    reverse: bool,
}

impl<'a> Iterator for SkipListRange<'a> {
    type Item = &'a Entry;

    fn next(&mut self) -> Option<&'a Entry> {
        if self.remaining == 0 {
            return None;
        }
        let node = &self.list.nodes[self.node as usize];
        self.remaining -= 1;
        self.node = if self.reverse {
            node.backward
        } else {
            node.low_levels[0].forward
        };
        Some(&node.entry)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(n: usize) -> SmallBytes {
        SmallBytes::from_vec(format!("m{n:06}").into_bytes())
    }

    #[test]
    fn ranks_follow_score_then_member_order() {
        let mut list = SkipList::new();
        for n in (0..500).rev() {
            let rank = list.insert(member(n), (n / 10) as f64);
            assert_eq!(rank, 0, "each insertion precedes everything inserted so far");
        }
        list.assert_invariants();
        for n in 0..500 {
            assert_eq!(&*list.entry_at(n).member, &*member(n));
            let preceding =
                list.count_prefix(|score, candidate| precedes(score, candidate, (n / 10) as f64, &member(n)));
            assert_eq!(preceding, n);
        }
        let reversed: Vec<_> = list.range(10, 20, true).map(|entry| entry.member.clone()).collect();
        assert_eq!(reversed, (10..20).rev().map(member).collect::<Vec<_>>());
    }

    #[test]
    fn removal_updates_and_range_deletion_keep_the_invariants() {
        let mut list = SkipList::new();
        for n in 0..2000 {
            list.insert(member(n), (n * 7 % 13) as f64);
        }
        list.assert_invariants();
        for n in (0..2000).step_by(3) {
            assert!(list.remove(&member(n), (n * 7 % 13) as f64));
            assert!(!list.remove(&member(n), (n * 7 % 13) as f64));
        }
        list.assert_invariants();
        for n in (1..2000).step_by(3) {
            list.update_score(&member(n), (n * 7 % 13) as f64, -(n as f64));
        }
        list.assert_invariants();
        let mut removed = Vec::new();
        list.remove_range(5, 300, |entry| removed.push(entry));
        assert_eq!(removed.len(), 295);
        list.assert_invariants();
        let mut drained = 0;
        let remaining = list.len();
        list.remove_range(0, remaining, |_| drained += 1);
        assert_eq!(drained, remaining);
        assert_eq!(list.len(), 0);
        list.assert_invariants();
    }

    #[test]
    fn a_list_built_from_sorted_entries_behaves_like_an_inserted_one() {
        for count in [0usize, 1, 2, 5, 1000] {
            let entries = (0..count).map(|n| Entry {
                member: member(n),
                score: (n / 3) as f64,
            });
            let mut list = SkipList::from_sorted(entries);
            list.assert_invariants();
            assert_eq!(list.len(), count);
            for n in (0..count).step_by(7) {
                assert_eq!(&*list.entry_at(n).member, &*member(n));
            }
            // And it keeps working under inserts and removals.
            list.insert(SmallBytes::from_slice(b"zz"), -1.0);
            assert_eq!(&*list.entry_at(0).member, b"zz");
            assert!(list.remove(b"zz", -1.0));
            list.assert_invariants();
        }
    }

    #[test]
    fn moved_nodes_keep_their_levels_and_freed_levels_are_reused() {
        let mut list = SkipList::new();
        let mut scores: Vec<f64> = (0..3000).map(|n| (n % 97) as f64).collect();
        for (n, &score) in scores.iter().enumerate() {
            list.insert(member(n), score);
        }
        let arena_slots = list.nodes.len();
        for round in 0..4 {
            for (n, score) in scores.iter_mut().enumerate() {
                let new_score = ((n * 31 + round * 17) % 101) as f64;
                list.update_score(&member(n), *score, new_score);
                *score = new_score;
            }
            list.assert_invariants();
        }
        assert_eq!(list.nodes.len(), arena_slots, "moves reuse their nodes");
        let mut model: Vec<(f64, SmallBytes)> = scores.iter().enumerate().map(|(n, &s)| (s, member(n))).collect();
        model.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.as_slice().cmp(b.1.as_slice())));
        for (rank, (score, expected)) in model.iter().enumerate().step_by(37) {
            assert_eq!(list.entry_at(rank).score, *score);
            assert_eq!(&*list.entry_at(rank).member, &**expected);
        }
        let tall_slots = list.high_levels.len();
        for (n, &score) in scores.iter().enumerate() {
            assert!(list.remove(&member(n), score));
            list.insert(member(n), score);
        }
        list.assert_invariants();
        assert!(
            list.high_levels.len() <= tall_slots + 64,
            "freed level arrays are reused"
        );
    }

    #[test]
    fn a_list_that_shrinks_compacts_its_arena() {
        let mut list = SkipList::new();
        for n in 0..10_000 {
            list.insert(member(n), n as f64);
        }
        list.remove_range(0, 9_990, |_| {});
        assert!(list.nodes.len() < 100, "arena has {} slots", list.nodes.len());
        list.assert_invariants();
        assert_eq!(&*list.entry_at(0).member, &*member(9_990));
    }
}
