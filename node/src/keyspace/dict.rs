//! `Dict`: the chained hash table behind every slot.
//!
//! Why not `hashbrown`: every slot has its own table, so at one million keys a
//! slot holds about 61 of them, exactly where an open-addressing table has just
//! doubled and sits half empty. A chained table with a load factor of one costs
//! one pointer per bucket instead of one whole entry, and its power-of-two
//! bucket array gives us Redis's reverse-binary SCAN cursor for free: a cursor
//! returns every item present for the whole scan at least once, even when the
//! table grows or shrinks between calls.
//!
//! Resizing relinks the nodes in one go. A slot is normally small; a single
//! hash-tagged slot with millions of keys pays a pause of a few milliseconds
//! per doubling, which incremental rehashing can remove later.

use std::hash::BuildHasher;
use std::sync::OnceLock;

/// Anything stored in a `Dict` is found by its key bytes.
pub trait DictItem {
    fn key(&self) -> &[u8];
}

/// The memory a lookup touches, in the order it touches it.
#[derive(Clone, Copy, Debug)]
pub enum PrefetchStep {
    Bucket,
    ChainHead,
}

/// What `get_mut_or_remove` found.
pub enum Lookup<'a, T> {
    Found(&'a mut T),
    Removed(T),
    Missing,
}

struct Node<T> {
    next: Option<Box<Node<T>>>,
    item: T,
}

type Link<T> = Option<Box<Node<T>>>;

pub struct Dict<T> {
    buckets: Vec<Link<T>>,
    len: usize,
}

const MIN_BUCKETS: usize = 4;

/// The process-wide hash of a key. Seeded randomly once per process so that
/// clients cannot choose colliding keys, and stable for the process lifetime
/// so SCAN cursors stay valid.
pub fn key_hash(key: &[u8]) -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    let seed = *SEED.get_or_init(rand::random);
    foldhash::fast::FixedState::with_seed(seed).hash_one(key)
}

impl<T: DictItem> Default for Dict<T> {
    fn default() -> Self {
        Dict::new()
    }
}

impl<T: DictItem> Dict<T> {
    pub const fn new() -> Dict<T> {
        Dict {
            buckets: Vec::new(),
            len: 0,
        }
    }

    /// An empty table with room for `items` before its first resize (the
    /// relink of a resize touches every item: a table about to take a
    /// million items is better sized once).
    pub fn with_capacity(items: usize) -> Dict<T> {
        let mut buckets = Vec::new();
        if items > 0 {
            buckets.resize_with(items.next_power_of_two().max(MIN_BUCKETS), || None);
        }
        Dict { buckets, len: 0 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of buckets, for memory accounting.
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    fn bucket_index(&self, key: &[u8]) -> usize {
        debug_assert!(self.buckets.len().is_power_of_two());
        (key_hash(key) as usize) & (self.buckets.len() - 1)
    }

    pub fn get(&self, key: &[u8]) -> Option<&T> {
        if self.len == 0 {
            return None;
        }
        let mut link = &self.buckets[self.bucket_index(key)];
        while let Some(node) = link {
            if node.item.key() == key {
                return Some(&node.item);
            }
            link = &node.next;
        }
        None
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut T> {
        if self.len == 0 {
            return None;
        }
        let index = self.bucket_index(key);
        find_in_chain(&mut self.buckets[index], key)
    }

    /// Finds `key`; if `should_remove` holds for its item, unlinks and returns
    /// it instead. One hash, one walk: the read path of every command.
    pub fn get_mut_or_remove(&mut self, key: &[u8], should_remove: impl FnOnce(&T) -> bool) -> Lookup<'_, T> {
        if self.len == 0 {
            return Lookup::Missing;
        }
        let index = self.bucket_index(key);
        let mut link = &mut self.buckets[index];
        loop {
            match link {
                None => return Lookup::Missing,
                Some(node) if node.item.key() == key => break,
                Some(node) => link = &mut node.next,
            }
        }
        if should_remove(&link.as_ref().expect("matched above").item) {
            let mut node = link.take().expect("matched above");
            *link = node.next.take();
            self.len -= 1;
            return Lookup::Removed(node.item);
        }
        Lookup::Found(&mut link.as_mut().expect("matched above").item)
    }

    /// One step of prefetching `key`'s lookup: run `Bucket` over a whole
    /// batch of keys before `ChainHead`, so that the misses overlap.
    pub fn prefetch_step(&self, key: &[u8], step: PrefetchStep) {
        match step {
            PrefetchStep::Bucket => self.prefetch_bucket(key),
            PrefetchStep::ChainHead => self.prefetch_chain_head(key),
        }
    }

    /// Asks the CPU to start loading the bucket `key` hashes to.
    fn prefetch_bucket(&self, key: &[u8]) {
        if self.buckets.is_empty() {
            return;
        }
        prefetch(&self.buckets[self.bucket_index(key)]);
    }

    /// Asks the CPU to start loading the first node of `key`'s chain. Reads
    /// the bucket, so call `prefetch_bucket` for a batch of keys first.
    fn prefetch_chain_head(&self, key: &[u8]) {
        if self.buckets.is_empty() {
            return;
        }
        if let Some(node) = &self.buckets[self.bucket_index(key)] {
            prefetch(&**node);
        }
    }

    /// Inserts `item`, returning the item it replaced (same key), if any.
    /// The key is hashed once and its chain walked once.
    pub fn insert(&mut self, item: T) -> Option<T> {
        if self.len >= self.buckets.len() {
            self.resize((self.len + 1).next_power_of_two().max(MIN_BUCKETS));
        }
        let index = self.bucket_index(item.key());
        if let Some(existing) = find_in_chain(&mut self.buckets[index], item.key()) {
            return Some(std::mem::replace(existing, item));
        }
        let next = self.buckets[index].take();
        self.buckets[index] = Some(Box::new(Node { next, item }));
        self.len += 1;
        None
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let index = self.bucket_index(key);
        let removed = remove_from_chain(&mut self.buckets[index], key)?;
        self.len -= 1;
        if self.buckets.len() > MIN_BUCKETS && self.len * 8 < self.buckets.len() {
            self.resize((self.len * 2).next_power_of_two().max(MIN_BUCKETS));
        }
        Some(removed)
    }

    /// Removes every item and releases the bucket array.
    pub fn clear(&mut self) {
        // Unlink chains iteratively: dropping a long chain recursively could
        // overflow the stack.
        for bucket in self.buckets.iter_mut() {
            let mut link = bucket.take();
            while let Some(mut node) = link {
                link = node.next.take();
            }
        }
        self.buckets = Vec::new();
        self.len = 0;
    }

    fn resize(&mut self, bucket_count: usize) {
        debug_assert!(bucket_count.is_power_of_two());
        let old_buckets = std::mem::take(&mut self.buckets);
        self.buckets.resize_with(bucket_count, || None);
        let mask = bucket_count - 1;
        for mut link in old_buckets {
            while let Some(mut node) = link {
                link = node.next.take();
                let index = (key_hash(node.item.key()) as usize) & mask;
                node.next = self.buckets[index].take();
                self.buckets[index] = Some(node);
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.buckets.iter().flat_map(|bucket| ChainIter { link: bucket })
    }

    /// Visits one bucket chosen by `cursor` and returns the next cursor (0 when
    /// the scan is complete). This is Redis's `dictScan`: the cursor's bits are
    /// incremented from the most significant end, so buckets that split or
    /// merge on resize are never skipped.
    pub fn scan_bucket(&self, cursor: u64, mut visit: impl FnMut(&T)) -> u64 {
        if self.buckets.is_empty() {
            return 0;
        }
        let mask = (self.buckets.len() - 1) as u64;
        for item in (ChainIter {
            link: &self.buckets[(cursor & mask) as usize],
        }) {
            visit(item);
        }
        let mut next = cursor | !mask;
        next = next.reverse_bits();
        next = next.wrapping_add(1);
        next.reverse_bits()
    }

    /// Removes the items of one bucket for which `should_remove` holds; same
    /// cursor rules as `scan_bucket`. Used by the active expiry cycle.
    pub fn scan_bucket_remove(
        &mut self,
        cursor: u64,
        mut should_remove: impl FnMut(&T) -> bool,
        mut removed: impl FnMut(T),
    ) -> u64 {
        if self.buckets.is_empty() {
            return 0;
        }
        let mask = (self.buckets.len() - 1) as u64;
        let mut link = &mut self.buckets[(cursor & mask) as usize];
        loop {
            let remove_this = match link {
                None => break,
                Some(node) => should_remove(&node.item),
            };
            if remove_this {
                let mut node = link.take().expect("checked above");
                *link = node.next.take();
                self.len -= 1;
                removed(node.item);
            } else {
                link = &mut link.as_mut().expect("checked above").next;
            }
        }
        let mut next = cursor | !mask;
        next = next.reverse_bits();
        next = next.wrapping_add(1);
        next.reverse_bits()
    }

    /// Returns a uniformly chosen bucket's first item, trying `attempts` times.
    pub fn random_item(&self, mut random_index: impl FnMut(usize) -> usize) -> Option<&T> {
        if self.len == 0 {
            return None;
        }
        // With a load factor between 1/8 and 1, a non-empty bucket turns up
        // quickly; fall back to the first item so the loop is bounded.
        for _ in 0..64 {
            let bucket = &self.buckets[random_index(self.buckets.len())];
            if let Some(node) = bucket {
                let chain_len = ChainIter { link: bucket }.count();
                return ChainIter { link: bucket }
                    .nth(random_index(chain_len))
                    .or(Some(&node.item));
            }
        }
        self.iter().next()
    }
}

impl<T> Drop for Dict<T> {
    fn drop(&mut self) {
        for bucket in self.buckets.iter_mut() {
            let mut link = bucket.take();
            while let Some(mut node) = link {
                link = node.next.take();
            }
        }
    }
}

/// A hint to load `value`'s cache line; never faults, never changes results.
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it reads nothing and cannot fault.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(value as *const T as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

fn find_in_chain<'a, T: DictItem>(link: &'a mut Link<T>, key: &[u8]) -> Option<&'a mut T> {
    let mut cursor = link;
    while let Some(node) = cursor {
        if node.item.key() == key {
            return Some(&mut node.item);
        }
        cursor = &mut node.next;
    }
    None
}

fn remove_from_chain<T: DictItem>(link: &mut Link<T>, key: &[u8]) -> Option<T> {
    let mut cursor = link;
    loop {
        match cursor {
            None => return None,
            Some(node) if node.item.key() == key => {
                let mut node = cursor.take().expect("matched Some");
                *cursor = node.next.take();
                return Some(node.item);
            }
            Some(node) => cursor = &mut node.next,
        }
    }
}

struct ChainIter<'a, T> {
    link: &'a Link<T>,
}

impl<'a, T> Iterator for ChainIter<'a, T> {
    type Item = &'a T;
    fn next(&mut self) -> Option<&'a T> {
        let node = self.link.as_ref()?;
        self.link = &node.next;
        Some(&node.item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    struct Item(Vec<u8>);
    impl DictItem for Item {
        fn key(&self) -> &[u8] {
            &self.0
        }
    }

    fn key(n: usize) -> Vec<u8> {
        format!("key:{n}").into_bytes()
    }

    #[test]
    fn insert_get_replace_remove() {
        let mut dict = Dict::new();
        for n in 0..1000 {
            assert!(dict.insert(Item(key(n))).is_none());
        }
        assert_eq!(dict.len(), 1000);
        assert!(dict.insert(Item(key(7))).is_some());
        assert_eq!(dict.len(), 1000);
        for n in 0..1000 {
            assert!(dict.get(&key(n)).is_some());
        }
        for n in 0..990 {
            assert!(dict.remove(&key(n)).is_some());
        }
        assert!(dict.remove(&key(0)).is_none());
        assert_eq!(dict.len(), 10);
        assert!(dict.bucket_count() <= 64, "table shrinks as it empties");
        assert_eq!(dict.iter().count(), 10);
    }

    #[test]
    fn scan_returns_every_stable_item_while_the_table_grows_and_shrinks() {
        let mut dict = Dict::new();
        for n in 0..500 {
            dict.insert(Item(key(n)));
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            cursor = dict.scan_bucket(cursor, |item| {
                seen.insert(item.0.clone());
            });
            // Grow, then shrink the table while the scan is under way.
            step += 1;
            if step == 20 {
                for n in 500..5000 {
                    dict.insert(Item(key(n)));
                }
            }
            if step == 200 {
                for n in 500..5000 {
                    dict.remove(&key(n));
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for n in 0..500 {
            assert!(seen.contains(&key(n)), "key {n} was never returned");
        }
    }

    #[test]
    fn a_table_sized_up_front_takes_its_items_without_resizing() {
        let mut dict = Dict::with_capacity(1000);
        assert_eq!(dict.bucket_count(), 1024);
        for n in 0..1024 {
            dict.insert(Item(key(n)));
        }
        assert_eq!(dict.bucket_count(), 1024);
        assert!((0..1024).all(|n| dict.get(&key(n)).is_some()));
        dict.insert(Item(key(5000)));
        assert_eq!(dict.bucket_count(), 2048);
        assert_eq!(Dict::<Item>::with_capacity(0).bucket_count(), 0);
    }

    #[test]
    fn scan_remove_drops_selected_items() {
        let mut dict = Dict::new();
        for n in 0..100 {
            dict.insert(Item(key(n)));
        }
        let mut cursor = 0;
        let mut removed = 0;
        loop {
            cursor = dict.scan_bucket_remove(cursor, |item| item.0.ends_with(b"5"), |_| removed += 1);
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(removed, 10);
        assert_eq!(dict.len(), 90);
    }
}
