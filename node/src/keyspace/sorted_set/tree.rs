//! `ScoreTree`: the order-statistic index of a large sorted set, a B+ tree
//! whose inner nodes count the entries under each child.
//!
//! Redis keeps this index in a skip list. A skip list step is a cache miss,
//! and a search of a 100,000-element list makes about 30 of them; the tree
//! keeps up to 64 entries side by side in a leaf and up to 32 children in an
//! inner node, so a search touches a few cache lines of each of three or four
//! nodes, the upper ones of which stay cached. ZADD on a hot set is mostly
//! this search.
//!
//! Invariants:
//! - the leaves, read left to right, hold the entries in strictly ascending
//!   (score, member) order, and there are `len` of them;
//! - `counts[i]` of an inner node is the number of entries under `children[i]`;
//! - `bounds[i]` (for `i >= 1`) separates the children: every entry under
//!   `children[i - 1]` precedes it and none under `children[i]` does. A bound
//!   may be an entry that was since removed; it still separates.
//!   `bounds[0]` is the node's own bound in its parent (meaningless for the
//!   leftmost node of a level), so that it moves with the node's first child;
//! - every node but the root has at least a quarter of its capacity (leaves
//!   `LEAF_MINIMUM` entries, inner nodes `INNER_MINIMUM` children); an inner
//!   root has at least two children.
//!
//! Search, insertion, removal and rank lookups are O(log n); removing a run
//! of k ranks is O(k + log n) per leaf it spans.

use super::Entry;
use crate::keyspace::small_bytes::SmallBytes;

const LEAF_CAPACITY: usize = 64;
const INNER_CAPACITY: usize = 32;
const LEAF_MINIMUM: usize = LEAF_CAPACITY / 4;
const INNER_MINIMUM: usize = INNER_CAPACITY / 4;
/// How full `from_sorted` packs nodes, leaving room to insert.
const LEAF_FILL: usize = LEAF_CAPACITY * 3 / 4;
const INNER_FILL: usize = INNER_CAPACITY * 3 / 4;

/// True if (score_a, member_a) sorts strictly before (score_b, member_b).
pub fn precedes(score_a: f64, member_a: &[u8], score_b: f64, member_b: &[u8]) -> bool {
    score_a < score_b || (score_a == score_b && member_a < member_b)
}

fn entry_precedes(a: &Entry, b: &Entry) -> bool {
    precedes(a.score, &a.member, b.score, &b.member)
}

#[derive(Clone)]
enum Node {
    Leaf(Vec<Entry>),
    Inner(Box<Inner>),
}

#[derive(Clone)]
struct Inner {
    bounds: Vec<Entry>,
    counts: Vec<usize>,
    children: Vec<Node>,
}

impl Node {
    fn new_leaf() -> Node {
        Node::Leaf(Vec::with_capacity(LEAF_CAPACITY))
    }

    /// Entries under this node.
    fn entry_count(&self) -> usize {
        match self {
            Node::Leaf(entries) => entries.len(),
            Node::Inner(inner) => inner.counts.iter().sum(),
        }
    }

    /// Entries of a leaf, children of an inner node.
    fn width(&self) -> usize {
        match self {
            Node::Leaf(entries) => entries.len(),
            Node::Inner(inner) => inner.children.len(),
        }
    }

    fn minimum_width(&self) -> usize {
        match self {
            Node::Leaf(_) => LEAF_MINIMUM,
            Node::Inner(_) => INNER_MINIMUM,
        }
    }

    fn capacity(&self) -> usize {
        match self {
            Node::Leaf(_) => LEAF_CAPACITY,
            Node::Inner(_) => INNER_CAPACITY,
        }
    }

    /// The bound this node's parent must keep for it.
    fn lower_bound(&self) -> Entry {
        match self {
            Node::Leaf(entries) => entries[0].clone(),
            Node::Inner(inner) => inner.bounds[0].clone(),
        }
    }

    fn heap_size_bytes(&self) -> usize {
        let entry_size = std::mem::size_of::<Entry>();
        match self {
            Node::Leaf(entries) => {
                entries.capacity() * entry_size + entries.iter().map(|e| e.member.heap_size_bytes()).sum::<usize>()
            }
            Node::Inner(inner) => {
                std::mem::size_of::<Inner>()
                    + inner.bounds.capacity() * entry_size
                    + inner.bounds.iter().map(|e| e.member.heap_size_bytes()).sum::<usize>()
                    + inner.counts.capacity() * std::mem::size_of::<usize>()
                    + inner.children.capacity() * std::mem::size_of::<Node>()
                    + inner.children.iter().map(Node::heap_size_bytes).sum::<usize>()
            }
        }
    }
}

impl Inner {
    fn with_children(children: Vec<Node>) -> Box<Inner> {
        let mut inner = Box::new(Inner {
            bounds: Vec::with_capacity(INNER_CAPACITY + 1),
            counts: Vec::with_capacity(INNER_CAPACITY + 1),
            children: Vec::with_capacity(INNER_CAPACITY + 1),
        });
        for child in children {
            inner.bounds.push(child.lower_bound());
            inner.counts.push(child.entry_count());
            inner.children.push(child);
        }
        inner
    }

    /// The child whose range holds (score, member).
    fn child_for(&self, score: f64, member: &[u8]) -> usize {
        self.bounds[1..].partition_point(|bound| !precedes(score, member, bound.score, &bound.member))
    }

    /// The child holding 0-based `rank` (below this node's count), and the
    /// rank within it.
    fn child_at(&self, mut rank: usize) -> (usize, usize) {
        for (index, &count) in self.counts.iter().enumerate() {
            if rank < count {
                return (index, rank);
            }
            rank -= count;
        }
        unreachable!("rank below the node's count")
    }

    /// Inserts `node` (which follows child `index - 1`) at `index`.
    fn insert_child(&mut self, index: usize, node: Node, bound: Entry) {
        self.counts.insert(index, node.entry_count());
        self.bounds.insert(index, bound);
        self.children.insert(index, node);
    }

    /// Splits a node over capacity in two halves, returning the right one.
    fn split(&mut self) -> Box<Inner> {
        let half = self.children.len() / 2;
        let mut right = Inner::with_children(Vec::new());
        right.bounds.extend(self.bounds.drain(half..));
        right.counts.extend(self.counts.drain(half..));
        right.children.extend(self.children.drain(half..));
        right
    }

    /// Restores the minimum width of child `index` after a removal, by
    /// merging it with a sibling or taking some of the sibling's share.
    fn rebalance_child(&mut self, index: usize) {
        let child = &self.children[index];
        if child.width() >= child.minimum_width() || self.children.len() < 2 {
            return;
        }
        let left = if index > 0 { index - 1 } else { index };
        let right = left + 1;
        let (head, tail) = self.children.split_at_mut(right);
        let (left_node, right_node) = (&mut head[left], &mut tail[0]);
        let total = left_node.width() + right_node.width();
        if total <= left_node.capacity() {
            match (left_node, right_node) {
                (Node::Leaf(to), Node::Leaf(from)) => to.append(from),
                (Node::Inner(to), Node::Inner(from)) => {
                    to.bounds.append(&mut from.bounds);
                    to.counts.append(&mut from.counts);
                    to.children.append(&mut from.children);
                }
                _ => unreachable!("siblings are on the same level"),
            }
            self.counts[left] += self.counts[right];
            self.counts.remove(right);
            self.bounds.remove(right);
            self.children.remove(right);
            return;
        }
        let left_width = left_node.width();
        let moved = match (left_node, right_node) {
            (Node::Leaf(to), Node::Leaf(from)) if left_width < total / 2 => {
                let moved = total / 2 - left_width;
                to.extend(from.drain(..moved));
                moved as isize
            }
            (Node::Leaf(from), Node::Leaf(to)) => {
                let moved = left_width - total / 2;
                let tail: Vec<Entry> = from.drain(left_width - moved..).collect();
                to.splice(0..0, tail);
                -(moved as isize)
            }
            (Node::Inner(to), Node::Inner(from)) if left_width < total / 2 => {
                let moved_children = total / 2 - left_width;
                to.bounds.extend(from.bounds.drain(..moved_children));
                let counts: Vec<usize> = from.counts.drain(..moved_children).collect();
                to.counts.extend_from_slice(&counts);
                to.children.extend(from.children.drain(..moved_children));
                counts.iter().sum::<usize>() as isize
            }
            (Node::Inner(from), Node::Inner(to)) => {
                let keep = total / 2;
                let bounds: Vec<Entry> = from.bounds.drain(keep..).collect();
                let counts: Vec<usize> = from.counts.drain(keep..).collect();
                let children: Vec<Node> = from.children.drain(keep..).collect();
                to.bounds.splice(0..0, bounds);
                to.counts.splice(0..0, counts.iter().copied());
                to.children.splice(0..0, children);
                -(counts.iter().sum::<usize>() as isize)
            }
            _ => unreachable!("siblings are on the same level"),
        };
        self.counts[left] = self.counts[left].wrapping_add_signed(moved);
        self.counts[right] = self.counts[right].wrapping_add_signed(-moved);
        self.bounds[right] = self.children[right].lower_bound();
    }
}

#[derive(Clone)]
pub struct ScoreTree {
    root: Node,
    len: usize,
}

impl ScoreTree {
    pub fn new() -> ScoreTree {
        ScoreTree {
            root: Node::new_leaf(),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Heap bytes of every node and of the members they own.
    pub fn heap_size_bytes(&self) -> usize {
        self.root.heap_size_bytes()
    }

    /// Adds an element; the member must not be in the tree. Returns its
    /// 0-based rank.
    pub fn insert(&mut self, member: SmallBytes, score: f64) -> usize {
        debug_assert!(!score.is_nan());
        let (rank, split) = insert_into(&mut self.root, Entry { member, score });
        if let Some((bound, right)) = split {
            let left = std::mem::replace(&mut self.root, Node::new_leaf());
            let left_bound = left.lower_bound();
            let mut root = Inner::with_children(Vec::new());
            root.insert_child(0, left, left_bound);
            root.insert_child(1, right, bound);
            self.root = Node::Inner(root);
        }
        self.len += 1;
        rank
    }

    /// Removes the element (score, member). Returns false if it is absent.
    pub fn remove(&mut self, member: &[u8], score: f64) -> bool {
        self.take(member, score).is_some()
    }

    fn take(&mut self, member: &[u8], score: f64) -> Option<Entry> {
        let removed = remove_from(&mut self.root, score, member)?;
        self.len -= 1;
        self.collapse_root();
        Some(removed)
    }

    /// Moves `member` from `old_score` to `new_score`.
    pub fn update_score(&mut self, member: &[u8], old_score: f64, new_score: f64) {
        let entry = self.take(member, old_score).expect("updated member is in the tree");
        self.insert(entry.member, new_score);
    }

    /// An inner root left with one child gives way to it.
    fn collapse_root(&mut self) {
        while let Node::Inner(inner) = &mut self.root {
            if inner.children.len() > 1 {
                return;
            }
            let only = inner.children.pop().expect("an inner node has a child");
            self.root = only;
        }
    }

    /// Number of elements for which `is_before` holds. `is_before` must hold
    /// for a prefix of the order (true, ..., true, false, ..., false).
    pub fn count_prefix(&self, mut is_before: impl FnMut(f64, &[u8]) -> bool) -> usize {
        let mut counted = 0;
        let mut node = &self.root;
        loop {
            match node {
                Node::Leaf(entries) => {
                    return counted + entries.partition_point(|entry| is_before(entry.score, &entry.member));
                }
                Node::Inner(inner) => {
                    let index = inner.bounds[1..].partition_point(|bound| is_before(bound.score, &bound.member));
                    counted += inner.counts[..index].iter().sum::<usize>();
                    node = &inner.children[index];
                }
            }
        }
    }

    pub fn entry_at(&self, rank: usize) -> &Entry {
        assert!(rank < self.len, "rank {rank} out of {}", self.len);
        let mut node = &self.root;
        let mut rank = rank;
        loop {
            match node {
                Node::Leaf(entries) => return &entries[rank],
                Node::Inner(inner) => {
                    let (index, within) = inner.child_at(rank);
                    node = &inner.children[index];
                    rank = within;
                }
            }
        }
    }

    /// Iterates ranks `start..end` ascending, or descending when `reverse`.
    pub fn range(&self, start: usize, end: usize, reverse: bool) -> TreeRange<'_> {
        assert!(start <= end && end <= self.len);
        let mut range = TreeRange {
            path: Vec::new(),
            leaf: &[],
            index: 0,
            remaining: end - start,
            reverse,
        };
        if start == end {
            return range;
        }
        let mut rank = if reverse { end - 1 } else { start };
        let mut node = &self.root;
        loop {
            match node {
                Node::Leaf(entries) => {
                    range.leaf = entries;
                    range.index = rank;
                    return range;
                }
                Node::Inner(inner) => {
                    let (index, within) = inner.child_at(rank);
                    range.path.push((&**inner, index));
                    node = &inner.children[index];
                    rank = within;
                }
            }
        }
    }

    /// Removes ranks `start..end`, handing each removed entry to `removed` in
    /// ascending order.
    pub fn remove_range(&mut self, start: usize, end: usize, mut removed: impl FnMut(Entry)) {
        assert!(start <= end && end <= self.len);
        let mut remaining = end - start;
        while remaining > 0 {
            let drained = drain_from(&mut self.root, start, remaining, &mut removed);
            debug_assert!(drained > 0);
            remaining -= drained;
            self.len -= drained;
            self.collapse_root();
        }
    }

    /// A tree of `entries`, which must be in strictly ascending order, built
    /// level by level with nodes three quarters full.
    pub fn from_sorted(entries: impl Iterator<Item = Entry>) -> ScoreTree {
        let mut leaves = Vec::new();
        let mut leaf = Vec::with_capacity(LEAF_CAPACITY);
        let mut len = 0;
        for entry in entries {
            if let Some(last) = leaf.last() {
                assert!(entry_precedes(last, &entry), "from_sorted needs ascending entries");
            }
            leaf.push(entry);
            len += 1;
            if leaf.len() == LEAF_FILL {
                leaves.push(Node::Leaf(std::mem::replace(
                    &mut leaf,
                    Vec::with_capacity(LEAF_CAPACITY),
                )));
            }
        }
        if !leaf.is_empty() || leaves.is_empty() {
            leaves.push(Node::Leaf(leaf));
        }
        let mut level = leaves;
        while level.len() > 1 {
            let mut parents = Vec::with_capacity(level.len().div_ceil(INNER_FILL));
            let mut children = level.into_iter().peekable();
            while children.peek().is_some() {
                parents.push(Node::Inner(Inner::with_children(
                    children.by_ref().take(INNER_FILL).collect(),
                )));
            }
            level = parents;
        }
        let mut tree = ScoreTree {
            root: level.pop().expect("one root"),
            len,
        };
        if let Node::Inner(inner) = &mut tree.root {
            fix_last_children(inner);
        }
        tree.collapse_root();
        tree
    }

    /// Checks every invariant; for tests.
    #[cfg(test)]
    pub fn assert_invariants(&self) {
        fn check(node: &Node, is_root: bool, entries: &mut Vec<Entry>) -> usize {
            if !is_root {
                assert!(node.width() >= node.minimum_width(), "underfull node");
            }
            assert!(node.width() <= node.capacity(), "overfull node");
            match node {
                Node::Leaf(leaf) => {
                    entries.extend(leaf.iter().cloned());
                    leaf.len()
                }
                Node::Inner(inner) => {
                    assert!(inner.children.len() >= 2 || !is_root, "an inner root has two children");
                    assert_eq!(inner.bounds.len(), inner.children.len());
                    assert_eq!(inner.counts.len(), inner.children.len());
                    let mut total = 0;
                    for (index, child) in inner.children.iter().enumerate() {
                        let first = entries.len();
                        let count = check(child, false, entries);
                        assert_eq!(inner.counts[index], count, "counts match");
                        let under = &entries[first..];
                        if index > 0 {
                            let bound = &inner.bounds[index];
                            assert!(under.iter().all(|entry| !entry_precedes(entry, bound)));
                            assert!(entries[..first].iter().all(|entry| entry_precedes(entry, bound)));
                        }
                        if let Node::Inner(child_inner) = child {
                            if index > 0 {
                                assert_eq!(child_inner.bounds[0], inner.bounds[index], "bounds[0] is the parent's");
                            }
                        }
                        total += count;
                    }
                    total
                }
            }
        }
        let mut entries = Vec::new();
        assert_eq!(check(&self.root, true, &mut entries), self.len);
        assert!(entries.windows(2).all(|pair| entry_precedes(&pair[0], &pair[1])));
    }
}

/// Inserts `entry` under `node`. Returns its rank there and, if `node` had
/// to split, the new right sibling with its bound.
fn insert_into(node: &mut Node, entry: Entry) -> (usize, Option<(Entry, Node)>) {
    match node {
        Node::Leaf(entries) => {
            let position = entries.partition_point(|existing| entry_precedes(existing, &entry));
            if entries.len() < LEAF_CAPACITY {
                entries.insert(position, entry);
                return (position, None);
            }
            let half = LEAF_CAPACITY / 2;
            let mut right = Vec::with_capacity(LEAF_CAPACITY);
            right.extend(entries.drain(half..));
            if position <= half {
                entries.insert(position, entry);
            } else {
                right.insert(position - half, entry);
            }
            let bound = right[0].clone();
            (position, Some((bound, Node::Leaf(right))))
        }
        Node::Inner(inner) => {
            let index = inner.child_for(entry.score, &entry.member);
            let before: usize = inner.counts[..index].iter().sum();
            let (rank, split) = insert_into(&mut inner.children[index], entry);
            inner.counts[index] += 1;
            if let Some((bound, right)) = split {
                let right_count = right.entry_count();
                inner.counts[index] -= right_count;
                inner.insert_child(index + 1, right, bound);
            }
            let split = (inner.children.len() > INNER_CAPACITY).then(|| {
                let right = inner.split();
                (right.bounds[0].clone(), Node::Inner(right))
            });
            (before + rank, split)
        }
    }
}

/// Removes (score, member) from under `node`, if present.
fn remove_from(node: &mut Node, score: f64, member: &[u8]) -> Option<Entry> {
    match node {
        Node::Leaf(entries) => {
            let position = entries.partition_point(|entry| precedes(entry.score, &entry.member, score, member));
            let found = entries.get(position)?;
            (found.score == score && &*found.member == member).then(|| entries.remove(position))
        }
        Node::Inner(inner) => {
            let index = inner.child_for(score, member);
            let removed = remove_from(&mut inner.children[index], score, member)?;
            inner.counts[index] -= 1;
            inner.rebalance_child(index);
            Some(removed)
        }
    }
}

/// Removes up to `count` entries from rank `rank` on, within one leaf.
/// Returns how many it removed (at least one if `rank` is in range).
fn drain_from(node: &mut Node, rank: usize, count: usize, removed: &mut impl FnMut(Entry)) -> usize {
    match node {
        Node::Leaf(entries) => {
            let end = entries.len().min(rank + count);
            let drained = end - rank;
            entries.drain(rank..end).for_each(removed);
            drained
        }
        Node::Inner(inner) => {
            let (index, within) = inner.child_at(rank);
            let drained = drain_from(&mut inner.children[index], within, count, removed);
            inner.counts[index] -= drained;
            inner.rebalance_child(index);
            drained
        }
    }
}

/// `from_sorted` fills nodes from the left, so the last node of each level
/// may be underfull: even it out with its left sibling, all the way down.
fn fix_last_children(inner: &mut Inner) {
    let last = inner.children.len() - 1;
    inner.rebalance_child(last);
    if let Some(Node::Inner(child)) = inner.children.last_mut() {
        fix_last_children(child);
    }
}

pub struct TreeRange<'a> {
    /// The inner nodes above `leaf` and the child taken in each.
    path: Vec<(&'a Inner, usize)>,
    leaf: &'a [Entry],
    index: usize,
    remaining: usize,
    reverse: bool,
}

impl<'a> TreeRange<'a> {
    /// Moves to the first (or, in reverse, last) entry of the next leaf.
    fn next_leaf(&mut self) {
        while let Some((inner, index)) = self.path.pop() {
            let next = if self.reverse {
                index.checked_sub(1)
            } else {
                Some(index + 1)
            };
            let Some(next) = next.filter(|&next| next < inner.children.len()) else {
                continue;
            };
            self.path.push((inner, next));
            let mut node = &inner.children[next];
            loop {
                match node {
                    Node::Leaf(entries) => {
                        self.leaf = entries;
                        self.index = if self.reverse { entries.len() - 1 } else { 0 };
                        return;
                    }
                    Node::Inner(child) => {
                        let index = if self.reverse { child.children.len() - 1 } else { 0 };
                        self.path.push((child, index));
                        node = &child.children[index];
                    }
                }
            }
        }
        unreachable!("the range ends inside the tree");
    }
}

impl<'a> Iterator for TreeRange<'a> {
    type Item = &'a Entry;

    fn next(&mut self) -> Option<&'a Entry> {
        if self.remaining == 0 {
            return None;
        }
        let entry = &self.leaf[self.index];
        self.remaining -= 1;
        if self.remaining > 0 {
            if self.reverse && self.index > 0 {
                self.index -= 1;
            } else if !self.reverse && self.index + 1 < self.leaf.len() {
                self.index += 1;
            } else {
                self.next_leaf();
            }
        }
        Some(entry)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn member(n: usize) -> SmallBytes {
        SmallBytes::from_vec(format!("m{n:06}").into_bytes())
    }

    fn sorted_model(model: &[(f64, SmallBytes)]) -> Vec<(f64, SmallBytes)> {
        let mut sorted = model.to_vec();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.as_slice().cmp(b.1.as_slice())));
        sorted
    }

    #[test]
    fn ranks_follow_score_then_member_order() {
        let mut tree = ScoreTree::new();
        for n in (0..5000).rev() {
            let rank = tree.insert(member(n), (n / 10) as f64);
            assert_eq!(rank, 0, "each insertion precedes everything inserted so far");
        }
        tree.assert_invariants();
        for n in (0..5000).step_by(7) {
            assert_eq!(&*tree.entry_at(n).member, &*member(n));
            let preceding =
                tree.count_prefix(|score, candidate| precedes(score, candidate, (n / 10) as f64, &member(n)));
            assert_eq!(preceding, n);
        }
        let reversed: Vec<_> = tree.range(10, 200, true).map(|entry| entry.member.clone()).collect();
        assert_eq!(reversed, (10..200).rev().map(member).collect::<Vec<_>>());
        let forward: Vec<_> = tree.range(60, 4000, false).map(|entry| entry.member.clone()).collect();
        assert_eq!(forward, (60..4000).map(member).collect::<Vec<_>>());
    }

    #[test]
    fn removal_updates_and_range_deletion_keep_the_invariants() {
        let mut tree = ScoreTree::new();
        for n in 0..20_000 {
            tree.insert(member(n), (n * 7 % 13) as f64);
        }
        tree.assert_invariants();
        for n in (0..20_000).step_by(3) {
            assert!(tree.remove(&member(n), (n * 7 % 13) as f64));
            assert!(!tree.remove(&member(n), (n * 7 % 13) as f64));
        }
        tree.assert_invariants();
        for n in (1..20_000).step_by(3) {
            tree.update_score(&member(n), (n * 7 % 13) as f64, -(n as f64));
        }
        tree.assert_invariants();
        let mut removed = Vec::new();
        tree.remove_range(5, 3000, |entry| removed.push(entry));
        assert_eq!(removed.len(), 2995);
        assert!(removed.windows(2).all(|pair| entry_precedes(&pair[0], &pair[1])));
        tree.assert_invariants();
        let mut drained = 0;
        let remaining = tree.len();
        tree.remove_range(0, remaining, |_| drained += 1);
        assert_eq!(drained, remaining);
        assert_eq!(tree.len(), 0);
        tree.assert_invariants();
    }

    #[test]
    fn a_tree_built_from_sorted_entries_behaves_like_an_inserted_one() {
        for count in [0usize, 1, 2, 5, 47, 48, 49, 60, 1000, 1153, 40_000] {
            let entries = (0..count).map(|n| Entry {
                member: member(n),
                score: (n / 3) as f64,
            });
            let mut tree = ScoreTree::from_sorted(entries);
            tree.assert_invariants();
            assert_eq!(tree.len(), count);
            for n in (0..count).step_by(7) {
                assert_eq!(&*tree.entry_at(n).member, &*member(n));
            }
            assert_eq!(tree.range(0, count, false).count(), count);
            // And it keeps working under inserts and removals.
            tree.insert(SmallBytes::from_slice(b"zz"), -1.0);
            assert_eq!(&*tree.entry_at(0).member, b"zz");
            assert!(tree.remove(b"zz", -1.0));
            tree.assert_invariants();
        }
    }

    #[test]
    fn a_tree_that_shrinks_gives_its_nodes_back() {
        let mut tree = ScoreTree::new();
        for n in 0..100_000 {
            tree.insert(member(n), n as f64);
        }
        let full = tree.heap_size_bytes();
        tree.remove_range(0, 99_990, |_| {});
        tree.assert_invariants();
        assert!(
            tree.heap_size_bytes() < full / 1000,
            "{} of {full} bytes left",
            tree.heap_size_bytes()
        );
        assert_eq!(&*tree.entry_at(0).member, &*member(99_990));
    }

    #[derive(Clone, Debug)]
    enum Operation {
        Insert(usize, i8),
        Remove(usize),
        Update(usize, i8),
        RemoveRange(usize, usize),
    }

    fn operation() -> impl Strategy<Value = Operation> {
        prop_oneof![
            4 => (0..3000usize, any::<i8>()).prop_map(|(m, s)| Operation::Insert(m, s)),
            2 => (0..3000usize).prop_map(Operation::Remove),
            2 => (0..3000usize, any::<i8>()).prop_map(|(m, s)| Operation::Update(m, s)),
            1 => (0..3000usize, 0..200usize).prop_map(|(start, n)| Operation::RemoveRange(start, n)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Any sequence of operations leaves the tree equal to a sorted model,
        /// with every invariant intact.
        #[test]
        fn the_tree_matches_a_sorted_model(operations in prop::collection::vec(operation(), 1..1500)) {
            let mut tree = ScoreTree::new();
            let mut model: Vec<(f64, SmallBytes)> = Vec::new();
            for op in operations {
                match op {
                    Operation::Insert(m, score) => {
                        if !model.iter().any(|(_, existing)| *existing == member(m)) {
                            let rank = tree.insert(member(m), score as f64);
                            model.push((score as f64, member(m)));
                            let sorted = sorted_model(&model);
                            prop_assert_eq!(&sorted[rank].1, &member(m));
                        }
                    }
                    Operation::Remove(m) => {
                        let position = model.iter().position(|(_, existing)| *existing == member(m));
                        let score = position.map_or(0.0, |p| model[p].0);
                        prop_assert_eq!(tree.remove(&member(m), score), position.is_some());
                        if let Some(p) = position {
                            model.remove(p);
                        }
                    }
                    Operation::Update(m, score) => {
                        if let Some(p) = model.iter().position(|(_, existing)| *existing == member(m)) {
                            tree.update_score(&member(m), model[p].0, score as f64);
                            model[p].0 = score as f64;
                        }
                    }
                    Operation::RemoveRange(start, n) => {
                        let start = start.min(model.len());
                        let end = (start + n).min(model.len());
                        let sorted = sorted_model(&model);
                        let mut removed = Vec::new();
                        tree.remove_range(start, end, |entry| removed.push(entry.member));
                        let expected: Vec<SmallBytes> = sorted[start..end].iter().map(|(_, m)| m.clone()).collect();
                        prop_assert_eq!(&removed, &expected);
                        model.retain(|(_, existing)| !expected.contains(existing));
                    }
                }
            }
            tree.assert_invariants();
            let sorted = sorted_model(&model);
            let listed: Vec<(f64, SmallBytes)> =
                tree.range(0, tree.len(), false).map(|entry| (entry.score, entry.member.clone())).collect();
            prop_assert_eq!(&listed, &sorted);
            let reversed: Vec<(f64, SmallBytes)> =
                tree.range(0, tree.len(), true).map(|entry| (entry.score, entry.member.clone())).collect();
            prop_assert_eq!(reversed.into_iter().rev().collect::<Vec<_>>(), sorted.clone());
            for (rank, (score, m)) in sorted.iter().enumerate().step_by(11) {
                prop_assert_eq!(tree.entry_at(rank).score, *score);
                prop_assert_eq!(tree.count_prefix(|s, c| precedes(s, c, *score, m)), rank);
            }
        }
    }
}
