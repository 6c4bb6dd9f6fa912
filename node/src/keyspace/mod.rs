//! The keyspace of one shard: one table per owned slot, plus expiry.
//!
//! Invariants:
//! - a shard only ever holds keys of the slots it owns (`slot % shard_count ==
//!   shard_index`); `table` asserts it on every access;
//! - a record has `FLAG_HAS_EXPIRE` exactly when its slot's expiry table has an
//!   entry for its key;
//! - `key_count` is the sum of the slot tables' lengths;
//! - while a slot migrates out, every key written through this API is in
//!   its table's dirty set (`mark_dirty`), so `migration.rs` can resend it.
//!
//! Keys expire lazily (every lookup checks the deadline) and actively
//! (`active_expire_cycle`, called by the shard on a timer with a time budget).

pub mod dict;
pub mod dump;
pub mod hash;
pub mod hyperloglog;
pub mod lazy_free;
pub mod list;
pub mod migration;
pub mod record;
pub mod set;
pub mod small_bytes;
pub mod sorted_set;

use std::collections::HashSet;
use std::time::Instant;

use starling_protocol::{key_slot, SLOT_COUNT};

use dict::{Dict, Lookup, PrefetchStep};
pub use record::{CollectionLimits, ExpireEntry, Record, Value, FLAG_HAS_EXPIRE, FLAG_RAW_STRING};
pub use small_bytes::SmallBytes;

#[derive(Default)]
pub struct SlotTable {
    records: Dict<Record>,
    expires: Dict<ExpireEntry>,
    /// While the slot migrates out: the keys written since they were last
    /// sent (see `migration.rs`). `None` the rest of the time.
    dirty_opt: Option<HashSet<SmallBytes>>,
}

impl SlotTable {
    /// Scans one bucket of the records from `cursor`, adding the keys that
    /// have not expired to `keys`; returns the next cursor (0: done).
    fn scan_live_keys(&self, cursor: u64, now_ms: u64, keys: &mut impl Extend<SmallBytes>) -> u64 {
        self.records.scan_bucket(cursor, |record| {
            let expired =
                record.has_expire() && self.expires.get(&record.key).is_some_and(|entry| entry.at_ms <= now_ms);
            if !expired {
                keys.extend(std::iter::once(record.key.clone()));
            }
        })
    }

    fn mark_dirty(&mut self, key: &[u8]) {
        if let Some(dirty) = &mut self.dirty_opt {
            if !dirty.contains(key) {
                dirty.insert(SmallBytes::from_slice(key));
            }
        }
    }
}

/// Counters reported by INFO stats and keyspace.
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyspaceStats {
    pub hits: u64,
    pub misses: u64,
    pub expired_keys: u64,
}

pub struct Keyspace {
    shard_index: usize,
    shard_count: usize,
    /// Indexed by `slot / shard_count`.
    slots: Vec<SlotTable>,
    key_count: usize,
    volatile_key_count: usize,
    /// Where the active expiry cycle resumes: a local slot index and a bucket
    /// cursor within that slot's expiry table.
    expire_resume: (usize, u64),
    pub stats: KeyspaceStats,
}

/// Result of one SCAN step over this shard.
pub struct ScanStep {
    pub keys: Vec<SmallBytes>,
    /// The global cursor to continue from; 0 when this shard is exhausted.
    pub next_slot_cursor: Option<(u16, u64)>,
}

impl Keyspace {
    pub fn new(shard_index: usize, shard_count: usize) -> Keyspace {
        assert!(shard_index < shard_count);
        let owned_slot_count = (SLOT_COUNT as usize - shard_index).div_ceil(shard_count);
        let mut slots = Vec::with_capacity(owned_slot_count);
        slots.resize_with(owned_slot_count, SlotTable::default);
        Keyspace {
            shard_index,
            shard_count,
            slots,
            key_count: 0,
            volatile_key_count: 0,
            expire_resume: (0, 0),
            stats: KeyspaceStats::default(),
        }
    }

    pub fn owns_slot(&self, slot: u16) -> bool {
        slot as usize % self.shard_count == self.shard_index
    }

    fn local_index(&self, slot: u16) -> usize {
        assert!(self.owns_slot(slot), "shard {} asked for slot {slot}", self.shard_index);
        slot as usize / self.shard_count
    }

    fn table(&self, slot: u16) -> &SlotTable {
        &self.slots[self.local_index(slot)]
    }

    fn table_mut(&mut self, slot: u16) -> &mut SlotTable {
        let index = self.local_index(slot);
        &mut self.slots[index]
    }

    pub fn len(&self) -> usize {
        self.key_count
    }

    pub fn is_empty(&self) -> bool {
        self.key_count == 0
    }

    pub fn volatile_len(&self) -> usize {
        self.volatile_key_count
    }

    pub fn slot_len(&self, slot: u16) -> usize {
        self.table(slot).records.len()
    }

    /// Bytes the slot's records take: each record, its key's and value's
    /// heap, and a chain link. Walks every element of every collection, so
    /// it costs as much as the slot is big (CLUSTER SLOT-STATS).
    pub fn slot_memory_bytes(&self, slot: u16) -> u64 {
        let per_record = std::mem::size_of::<Record>() + std::mem::size_of::<usize>();
        self.table(slot)
            .records
            .iter()
            .map(|record| (per_record + record.key.heap_size_bytes() + record.value.heap_size_bytes()) as u64)
            .sum()
    }

    /// Removes `key` if its deadline has passed. Returns true if it was removed.
    fn expire_if_due(&mut self, key: &[u8], now_ms: u64) -> bool {
        let table = self.table(key_slot(key));
        let Some(entry) = table.expires.get(key) else {
            return false;
        };
        if entry.at_ms > now_ms {
            return false;
        }
        self.remove(key);
        self.stats.expired_keys += 1;
        true
    }

    /// Looks `key` up for reading or writing, expiring it first if it is due.
    /// Does not touch the hit/miss counters (see `lookup_read`).
    pub fn lookup_mut(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Record> {
        self.lookup(key, now_ms, false)
    }

    /// A read lookup that counts a keyspace hit or miss.
    pub fn lookup_read(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Record> {
        self.lookup(key, now_ms, true)
    }

    /// The one-walk lookup behind `lookup_mut` and `lookup_read`: finds the
    /// record, deletes it instead if its deadline has passed, refreshes its
    /// access clock, and optionally counts the hit or miss.
    fn lookup(&mut self, key: &[u8], now_ms: u64, count_hit: bool) -> Option<&mut Record> {
        let index = self.local_index(key_slot(key));
        let table = &mut self.slots[index];
        if !count_hit {
            // A lookup for writing: the caller may change the value.
            table.mark_dirty(key);
        }
        let expires = &table.expires;
        let is_due =
            |record: &Record| record.has_expire() && expires.get(key).is_some_and(|entry| entry.at_ms <= now_ms);
        let found = match table.records.get_mut_or_remove(key, is_due) {
            Lookup::Found(record) => {
                record.access_clock_secs = (now_ms / 1000) as u32;
                Some(record)
            }
            Lookup::Removed(_) => {
                table.expires.remove(key);
                self.key_count -= 1;
                self.volatile_key_count -= 1;
                self.stats.expired_keys += 1;
                None
            }
            Lookup::Missing => None,
        };
        if count_hit {
            match found {
                Some(_) => self.stats.hits += 1,
                None => self.stats.misses += 1,
            }
        }
        found
    }

    /// A live record by shared reference: no expiry (a due key is just not
    /// returned), no hit counting, no clock touch. For commands that read
    /// several values at once (ZUNIONSTORE, SINTER...) after a `lookup_read`
    /// pass has done the bookkeeping, since `&mut` lookups cannot coexist.
    pub fn get(&self, key: &[u8], now_ms: u64) -> Option<&Record> {
        let table = self.table(key_slot(key));
        let record = table.records.get(key)?;
        let is_due = record.has_expire() && table.expires.get(key).is_some_and(|entry| entry.at_ms <= now_ms);
        (!is_due).then_some(record)
    }

    /// A read lookup that counts a keyspace hit or miss but leaves the access
    /// clock alone (Redis's `LOOKUP_NOTOUCH`: TYPE, EXISTS, TTL, OBJECT).
    pub fn lookup_read_no_touch(&mut self, key: &[u8], now_ms: u64) -> Option<&Record> {
        if !self.contains(key, now_ms) {
            self.stats.misses += 1;
            return None;
        }
        self.stats.hits += 1;
        self.table(key_slot(key)).records.get(key)
    }

    /// Starts loading, for every key in `keys`, the memory a lookup will
    /// touch: the slot table, then the bucket, then the first node. Each
    /// stage runs over the whole batch before the next, so the cache misses
    /// of a pipelined batch overlap instead of following one another.
    pub fn prefetch<'a>(&self, keys: impl Iterator<Item = &'a [u8]> + Clone) {
        let tables = || keys.clone().map(|key| (key, self.table(key_slot(key))));
        for (_, table) in tables() {
            dict::prefetch(table);
        }
        for step in [PrefetchStep::Bucket, PrefetchStep::ChainHead] {
            for (key, table) in tables() {
                table.records.prefetch_step(key, step);
            }
        }
    }

    /// The same for members of collections: for each `(key, member)`, the
    /// member's bucket, then its chain head, in the table of the hash or set
    /// stored at `key` (call `prefetch` for the keys first). Looks records up
    /// without touching them: no expiry, no LRU clock, no statistics.
    pub fn prefetch_members<'a>(&self, pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>) {
        let values: Vec<(&Value, &[u8])> = pairs
            .filter_map(|(key, member)| {
                let record = self.table(key_slot(key)).records.get(key)?;
                Some((&record.value, member))
            })
            .collect();
        for step in [PrefetchStep::Bucket, PrefetchStep::ChainHead] {
            for (value, member) in &values {
                value.prefetch_member(member, step);
            }
        }
    }

    /// True if `key` exists (after lazy expiry), without touching its clock.
    pub fn contains(&mut self, key: &[u8], now_ms: u64) -> bool {
        let slot = key_slot(key);
        let Some(record) = self.table(slot).records.get(key) else {
            return false;
        };
        !(record.has_expire() && self.expire_if_due(key, now_ms))
    }

    /// Stores `value` under `key`, replacing whatever was there. The old TTL is
    /// kept only if `keep_ttl` is set, as SET KEEPTTL does.
    pub fn set(&mut self, key: &[u8], value: Value, keep_ttl: bool, now_ms: u64) -> Option<Record> {
        let slot = key_slot(key);
        let record = Record::new(SmallBytes::from_slice(key), value, (now_ms / 1000) as u32);
        let table = self.table_mut(slot);
        table.mark_dirty(key);
        let replaced = table.records.insert(record);
        match &replaced {
            None => self.key_count += 1,
            Some(old) if old.has_expire() && keep_ttl => {
                let record = table.records.get_mut(key).expect("just inserted");
                record.flags |= FLAG_HAS_EXPIRE;
            }
            Some(old) if old.has_expire() => {
                table.expires.remove(key);
                self.volatile_key_count -= 1;
            }
            Some(_) => {}
        }
        replaced
    }

    /// Puts back a whole record, e.g. one moved by RENAME or restored by RESTORE.
    /// Any existing key of that name is replaced.
    pub fn insert_record(&mut self, mut record: Record, expire_at_ms: Option<u64>) {
        let key = record.key.clone();
        self.remove(&key);
        record.flags &= !FLAG_HAS_EXPIRE;
        let slot = key_slot(&key);
        let table = self.table_mut(slot);
        table.mark_dirty(&key);
        table.records.insert(record);
        self.key_count += 1;
        if let Some(at_ms) = expire_at_ms {
            self.set_expire(&key, at_ms);
        }
    }

    /// Deletes `key`, returning its record and expiry time.
    pub fn remove(&mut self, key: &[u8]) -> Option<(Record, Option<u64>)> {
        let slot = key_slot(key);
        let table = self.table_mut(slot);
        table.mark_dirty(key);
        let record = table.records.remove(key)?;
        let expire_at_ms = if record.has_expire() {
            let entry = table.expires.remove(key);
            debug_assert!(entry.is_some(), "expiry flag without expiry entry");
            self.volatile_key_count -= 1;
            entry.map(|entry| entry.at_ms)
        } else {
            None
        };
        self.key_count -= 1;
        Some((record, expire_at_ms))
    }

    /// The deadline of an existing key, if it has one.
    pub fn expire_at(&self, key: &[u8]) -> Option<u64> {
        self.table(key_slot(key)).expires.get(key).map(|entry| entry.at_ms)
    }

    /// Sets the deadline of an existing key. Returns false if the key is absent.
    pub fn set_expire(&mut self, key: &[u8], at_ms: u64) -> bool {
        let slot = key_slot(key);
        let table = self.table_mut(slot);
        table.mark_dirty(key);
        let Some(record) = table.records.get_mut(key) else {
            return false;
        };
        let was_volatile = record.has_expire();
        record.flags |= FLAG_HAS_EXPIRE;
        let key_copy = record.key.clone();
        table.expires.insert(ExpireEntry { key: key_copy, at_ms });
        if !was_volatile {
            self.volatile_key_count += 1;
        }
        true
    }

    /// Removes the deadline of an existing key. Returns true if it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        let slot = key_slot(key);
        let table = self.table_mut(slot);
        table.mark_dirty(key);
        let Some(record) = table.records.get_mut(key) else {
            return false;
        };
        if !record.has_expire() {
            return false;
        }
        record.flags &= !FLAG_HAS_EXPIRE;
        table.expires.remove(key);
        self.volatile_key_count -= 1;
        true
    }

    /// Drops every key of this shard.
    pub fn flush(&mut self) {
        for table in &mut self.slots {
            if let Some(dirty) = &mut table.dirty_opt {
                dirty.extend(table.records.iter().map(|record| record.key.clone()));
            }
            table.records.clear();
            table.expires.clear();
        }
        self.key_count = 0;
        self.volatile_key_count = 0;
        self.expire_resume = (0, 0);
    }

    /// The global slots this shard owns, in ascending order.
    pub fn owned_slots(&self) -> impl Iterator<Item = u16> + '_ {
        (0..self.slots.len()).map(move |local| (local * self.shard_count + self.shard_index) as u16)
    }

    /// Keys of one slot, at most `limit` of them (CLUSTER GETKEYSINSLOT).
    pub fn keys_in_slot(&self, slot: u16, limit: usize) -> Vec<SmallBytes> {
        self.table(slot)
            .records
            .iter()
            .take(limit)
            .map(|record| record.key.clone())
            .collect()
    }

    /// Calls `visit` for every live key of the shard (KEYS). Expired keys that
    /// have not been collected yet are skipped.
    pub fn for_each_live_key(&self, now_ms: u64, mut visit: impl FnMut(&Record)) {
        for table in &self.slots {
            for record in table.records.iter() {
                if record.has_expire()
                    && table
                        .expires
                        .get(&record.key)
                        .is_some_and(|entry| entry.at_ms <= now_ms)
                {
                    continue;
                }
                visit(record);
            }
        }
    }

    /// One SCAN step starting at `slot` (owned by this shard) and bucket
    /// `bucket_cursor`. Visits buckets until `count` keys are collected or
    /// `count * 10` buckets were looked at, moving on to this shard's next
    /// slots. Returns `None` as the next position when the shard is done.
    pub fn scan(&self, slot: u16, bucket_cursor: u64, count: usize, now_ms: u64) -> ScanStep {
        let mut keys = Vec::new();
        let mut slot = slot as usize;
        let mut cursor = bucket_cursor;
        let mut buckets_left = count.saturating_mul(10).max(1);
        while slot < SLOT_COUNT as usize {
            let table = self.table(slot as u16);
            if table.records.is_empty() {
                slot += self.shard_count;
                cursor = 0;
                buckets_left -= 1;
            } else {
                cursor = table.scan_live_keys(cursor, now_ms, &mut keys);
                buckets_left -= 1;
                if cursor == 0 {
                    slot += self.shard_count;
                }
            }
            if keys.len() >= count || buckets_left == 0 {
                break;
            }
        }
        let next_slot_cursor = (slot < SLOT_COUNT as usize).then_some((slot as u16, cursor));
        ScanStep { keys, next_slot_cursor }
    }

    /// A random live key, or None if the shard is empty.
    pub fn random_key(&mut self, now_ms: u64) -> Option<SmallBytes> {
        // Expired keys found on the way are deleted, so the loop shrinks the
        // problem; bound it anyway.
        for _ in 0..100 {
            if self.key_count == 0 {
                return None;
            }
            let start = rand::random::<usize>() % self.slots.len();
            let local = (0..self.slots.len())
                .map(|offset| (start + offset) % self.slots.len())
                .find(|&local| !self.slots[local].records.is_empty())?;
            let key = self.slots[local]
                .records
                .random_item(|bound| rand::random::<usize>() % bound)?
                .key
                .clone();
            if !self.expire_if_due(&key, now_ms) {
                return Some(key);
            }
        }
        None
    }

    /// Deletes keys whose deadline has passed, visiting expiry buckets until
    /// `deadline` or until every owned slot was visited once. Returns the
    /// number of keys deleted.
    pub fn active_expire_cycle(&mut self, now_ms: u64, deadline: Instant) -> usize {
        if self.volatile_key_count == 0 {
            return 0;
        }
        let mut expired_total = 0;
        let (mut local, mut cursor) = self.expire_resume;
        let mut slots_visited = 0;
        let mut buckets_visited = 0u32;
        while slots_visited <= self.slots.len() {
            if local >= self.slots.len() {
                local = 0;
                cursor = 0;
            }
            let table = &mut self.slots[local];
            let mut expired_keys = Vec::new();
            if !table.expires.is_empty() {
                cursor = table.expires.scan_bucket_remove(
                    cursor,
                    |entry| entry.at_ms <= now_ms,
                    |entry| expired_keys.push(entry.key),
                );
                buckets_visited += 1;
            } else {
                cursor = 0;
            }
            for key in &expired_keys {
                let record = table.records.remove(key);
                debug_assert!(record.is_some(), "expiry entry without record");
            }
            expired_total += expired_keys.len();
            self.key_count -= expired_keys.len();
            self.volatile_key_count -= expired_keys.len();
            if cursor == 0 {
                local += 1;
                slots_visited += 1;
            }
            if buckets_visited.is_multiple_of(16) && Instant::now() >= deadline {
                break;
            }
        }
        self.expire_resume = (local, cursor);
        self.stats.expired_keys += expired_total as u64;
        expired_total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn string(value: &[u8]) -> Value {
        Value::String(SmallBytes::from_slice(value))
    }

    #[test]
    fn lazy_expiry_removes_due_keys_on_access() {
        let mut keyspace = Keyspace::new(0, 1);
        keyspace.set(b"a", string(b"1"), false, 1_000);
        assert!(keyspace.set_expire(b"a", 2_000));
        assert!(keyspace.lookup_mut(b"a", 1_999).is_some());
        assert!(keyspace.lookup_mut(b"a", 2_000).is_none());
        assert_eq!(keyspace.len(), 0);
        assert_eq!(keyspace.volatile_len(), 0);
        assert_eq!(keyspace.stats.expired_keys, 1);
    }

    #[test]
    fn set_drops_the_ttl_unless_asked_to_keep_it() {
        let mut keyspace = Keyspace::new(0, 1);
        keyspace.set(b"a", string(b"1"), false, 0);
        keyspace.set_expire(b"a", 50_000);
        keyspace.set(b"a", string(b"2"), true, 0);
        assert_eq!(keyspace.expire_at(b"a"), Some(50_000));
        keyspace.set(b"a", string(b"3"), false, 0);
        assert_eq!(keyspace.expire_at(b"a"), None);
        assert_eq!(keyspace.volatile_len(), 0);
    }

    #[test]
    fn active_cycle_deletes_only_due_keys() {
        let mut keyspace = Keyspace::new(1, 2);
        let mut owned = Vec::new();
        for n in 0..2000 {
            let key = format!("key:{n}");
            if !keyspace.owns_slot(key_slot(key.as_bytes())) {
                continue;
            }
            keyspace.set(key.as_bytes(), string(b"v"), false, 0);
            let deadline = if n % 2 == 0 { 100 } else { 10_000 };
            keyspace.set_expire(key.as_bytes(), deadline);
            owned.push(key);
        }
        let far_deadline = Instant::now() + Duration::from_secs(5);
        let expired = keyspace.active_expire_cycle(500, far_deadline);
        assert_eq!(expired + keyspace.len(), owned.len());
        assert_eq!(keyspace.volatile_len(), keyspace.len());
        for key in &owned {
            let expect_alive = key.trim_start_matches("key:").parse::<u32>().unwrap() % 2 == 1;
            assert_eq!(keyspace.contains(key.as_bytes(), 500), expect_alive, "{key}");
        }
    }

    #[test]
    fn scan_walks_every_owned_slot() {
        let mut keyspace = Keyspace::new(0, 2);
        let mut expected = 0;
        for n in 0..3000 {
            let key = format!("k{n}");
            if keyspace.owns_slot(key_slot(key.as_bytes())) {
                keyspace.set(key.as_bytes(), string(b"v"), false, 0);
                expected += 1;
            }
        }
        let mut position = Some((0u16, 0u64));
        let mut seen = std::collections::HashSet::new();
        while let Some((slot, cursor)) = position {
            let step = keyspace.scan(slot, cursor, 10, 0);
            seen.extend(step.keys);
            position = step.next_slot_cursor;
        }
        assert_eq!(seen.len(), expected);
    }

    #[test]
    fn prefetching_members_reads_nothing_a_client_could_see() {
        use super::set::{SetLimits, SetValue};
        let mut keyspace = Keyspace::new(0, 1);
        let mut big_set = SetValue::for_first_member(b"m0", 0, SetLimits::DEFAULT);
        for n in 0..1000 {
            big_set.insert(format!("m{n}").as_bytes(), SetLimits::DEFAULT);
        }
        keyspace.set(b"set", Value::Set(Box::new(big_set)), false, 0);
        keyspace.set(b"string", string(b"v"), false, 0);
        keyspace.set(b"due", string(b"v"), false, 0);
        keyspace.set_expire(b"due", 1);
        let before = keyspace.stats;
        let pairs: [(&[u8], &[u8]); 5] = [
            (b"set", b"m7"),
            (b"set", b"absent"),
            (b"string", b"m7"),
            (b"due", b"m7"),
            (b"missing", b"m7"),
        ];
        keyspace.prefetch_members(pairs.into_iter());
        // No lazy expiry, no hit or miss counted: a prefetch is invisible.
        assert_eq!(keyspace.len(), 3);
        assert_eq!(keyspace.expire_at(b"due"), Some(1));
        assert_eq!(
            (keyspace.stats.hits, keyspace.stats.misses),
            (before.hits, before.misses)
        );
    }
}
