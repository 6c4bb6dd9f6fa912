//! Moving one slot's keys to another node in bounded chunks.
//!
//! The source shard exports a slot with [`SlotExport`]: it walks the slot's
//! table with the stable SCAN cursor and turns keys into [`MigrationEntry`]s
//! until a chunk reaches its byte budget, so one call never holds the shard
//! for long. A collection bigger than [`PART_THRESHOLD_BYTES`] travels as
//! several `Part`s (hash, set and sorted-set members by their own stable
//! cursor, list elements by index), so a 1M-field hash needs neither a long
//! pause nor one giant message. (Large means more than 1024 elements, or
//! more than 64 KB: sizing is only done for small collections, as it walks
//! every element.)
//!
//! Writes during the export are caught by dirty tracking (see
//! `Keyspace::track_writes`): every key written in a tracked slot is queued
//! again and re-exported whole (or as `Deleted`), which also repairs a key
//! that changed while its parts were being sent. Once the slot's writes are
//! frozen and the dirty queue is empty, the target holds exactly the
//! source's data.
//!
//! The target applies entries with [`SlotImport`]: a `Whole` entry replaces
//! the key; `Part`s build the value aside and install it with the last part.

use std::collections::VecDeque;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::dump;
use super::hash::HashValue;
use super::list::ListEnd;
use super::record::{CollectionLimits, Record, Value};
use super::set::SetValue;
use super::small_bytes::SmallBytes;
use super::Keyspace;

/// Values bigger than this (estimated heap bytes) are sent in parts.
pub const PART_THRESHOLD_BYTES: usize = 64 * 1024;
/// Collections with more elements than this are sent in parts without
/// sizing them first (sizing a collection walks all of it).
const PART_THRESHOLD_ELEMENTS: usize = 1024;

/// Whether `value` travels in parts. O(1) for large collections: only
/// small ones are sized.
fn is_large(value: &Value) -> bool {
    let Some(elements) = collection_len(value) else {
        return false;
    };
    elements > PART_THRESHOLD_ELEMENTS || value.heap_size_bytes() > PART_THRESHOLD_BYTES
}

/// A collection's element count; None for a string.
fn collection_len(value: &Value) -> Option<usize> {
    Some(match value {
        Value::String(_) => return None,
        Value::List(list) => list.len(),
        Value::Hash(hash) => hash.len(),
        Value::Set(set) => set.len(),
        Value::SortedSet(sorted_set) => sorted_set.len(),
    })
}
/// Keys taken from the slot table per scan step.
const SCAN_STEP_KEYS: usize = 32;

/// One unit of a slot's data on the migration stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum MigrationEntry {
    /// A key and its whole value, as a DUMP payload, with its absolute expiry.
    Whole {
        key: Bytes,
        expire_at_ms: Option<u64>,
        payload: Bytes,
    },
    /// A slice of a large collection. The first part starts a fresh value,
    /// later parts add to it, and the last one installs it under `key`.
    Part {
        key: Bytes,
        expire_at_ms: Option<u64>,
        first: bool,
        last: bool,
        /// The collection's length when its first part was cut: the target
        /// sizes its table once instead of growing it a million times over.
        total: u64,
        elements: PartElements,
    },
    /// The key no longer exists at the source.
    Deleted { key: Bytes },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PartElements {
    /// Elements in list order, appended at the tail.
    List(Vec<Bytes>),
    Hash(Vec<(Bytes, Bytes)>),
    Set(Vec<Bytes>),
    SortedSet(Vec<(Bytes, f64)>),
}

impl MigrationEntry {
    pub fn key(&self) -> &Bytes {
        match self {
            MigrationEntry::Whole { key, .. } | MigrationEntry::Part { key, .. } | MigrationEntry::Deleted { key } => {
                key
            }
        }
    }

    /// Roughly the bytes this entry takes on the wire.
    pub fn size_bytes(&self) -> usize {
        self.key().len()
            + match self {
                MigrationEntry::Whole { payload, .. } => payload.len(),
                MigrationEntry::Part { elements, .. } => elements.size_bytes(),
                MigrationEntry::Deleted { .. } => 0,
            }
    }
}

impl PartElements {
    fn size_bytes(&self) -> usize {
        match self {
            PartElements::List(elements) | PartElements::Set(elements) => elements.iter().map(|e| e.len() + 2).sum(),
            PartElements::Hash(pairs) => pairs.iter().map(|(field, value)| field.len() + value.len() + 4).sum(),
            PartElements::SortedSet(entries) => entries.iter().map(|(member, _)| member.len() + 10).sum(),
        }
    }
}

/// A large collection being exported in parts.
#[derive(Debug)]
struct PartCursor {
    key: SmallBytes,
    /// The collection's scan cursor, or the next list index.
    position: u64,
    sent_first: bool,
}

/// The export of one slot, resumable across calls (and shard turns).
#[derive(Debug)]
pub struct SlotExport {
    pub slot: u16,
    /// Where the table scan resumes; `None` once the whole table was walked.
    table_cursor_opt: Option<u64>,
    /// Keys to export next: scan results first, then dirty keys.
    queue: VecDeque<SmallBytes>,
    part_opt: Option<PartCursor>,
    pub keys_exported: u64,
    pub bytes_exported: u64,
}

impl SlotExport {
    pub fn new(slot: u16) -> SlotExport {
        SlotExport {
            slot,
            table_cursor_opt: Some(0),
            queue: VecDeque::new(),
            part_opt: None,
            keys_exported: 0,
            bytes_exported: 0,
        }
    }

    /// Nothing left to send: the table was walked and no key is queued.
    pub fn is_drained(&self) -> bool {
        self.table_cursor_opt.is_none() && self.queue.is_empty() && self.part_opt.is_none()
    }

    /// Keys waiting to be (re)sent.
    pub fn queued(&self) -> usize {
        self.queue.len() + usize::from(self.part_opt.is_some())
    }
}

impl Keyspace {
    /// Starts recording the keys written in `slot` (see `take_dirty`).
    pub fn track_writes(&mut self, slot: u16) {
        let table = self.table_mut(slot);
        if table.dirty_opt.is_none() {
            table.dirty_opt = Some(Default::default());
        }
    }

    /// Stops recording writes in `slot` and forgets what was recorded.
    pub fn untrack_writes(&mut self, slot: u16) {
        self.table_mut(slot).dirty_opt = None;
    }

    /// The keys written in `slot` since the last call (or since tracking began).
    pub fn take_dirty(&mut self, slot: u16) -> Vec<SmallBytes> {
        match &mut self.table_mut(slot).dirty_opt {
            Some(dirty) => dirty.drain().collect(),
            None => Vec::new(),
        }
    }

    /// Queues the dirty keys of the export's slot for another send.
    pub fn requeue_dirty(&mut self, export: &mut SlotExport) {
        let dirty = self.take_dirty(export.slot);
        export.queue.extend(dirty);
    }

    /// Exports entries of the slot until about `budget_bytes` are produced
    /// (at least one entry when there is one). Returns the entries.
    pub fn export_chunk(&mut self, export: &mut SlotExport, budget_bytes: usize, now_ms: u64) -> Vec<MigrationEntry> {
        let mut entries = Vec::new();
        let mut produced_bytes = 0;
        while produced_bytes < budget_bytes {
            if export.part_opt.is_some() {
                let entry = self.export_next_part(export, budget_bytes - produced_bytes, now_ms);
                produced_bytes += entry.size_bytes();
                entries.push(entry);
                continue;
            }
            if let Some(key) = export.queue.pop_front() {
                if let Some(entry) = self.export_key(export, key, now_ms) {
                    produced_bytes += entry.size_bytes();
                    entries.push(entry);
                }
                continue;
            }
            let Some(cursor) = export.table_cursor_opt else {
                break;
            };
            export.table_cursor_opt = self.scan_slot(export.slot, cursor, &mut export.queue, now_ms);
        }
        export.bytes_exported += produced_bytes as u64;
        entries
    }

    /// One key: whole, the first of its parts, or `Deleted` if it is gone.
    fn export_key(&mut self, export: &mut SlotExport, key: SmallBytes, now_ms: u64) -> Option<MigrationEntry> {
        let expire_at_ms = self.expire_at(&key);
        let Some(record) = self.get(&key, now_ms) else {
            return Some(MigrationEntry::Deleted {
                key: Bytes::copy_from_slice(&key),
            });
        };
        export.keys_exported += 1;
        if is_large(&record.value) {
            export.part_opt = Some(PartCursor {
                key,
                position: 0,
                sent_first: false,
            });
            return None;
        }
        Some(MigrationEntry::Whole {
            key: Bytes::copy_from_slice(&key),
            expire_at_ms,
            payload: Bytes::from(dump::serialize(&record.value)),
        })
    }

    /// The next part of the collection in progress.
    fn export_next_part(&mut self, export: &mut SlotExport, budget_bytes: usize, now_ms: u64) -> MigrationEntry {
        let cursor = export.part_opt.take().expect("a part in progress");
        let expire_at_ms = self.expire_at(&cursor.key);
        let key = Bytes::copy_from_slice(&cursor.key);
        let first = !cursor.sent_first;
        // A key deleted (or retyped) mid-way ends its parts now; the write
        // made it dirty, so it is sent again in its new state.
        let Some(record) = self.get(&cursor.key, now_ms) else {
            return MigrationEntry::Part {
                key,
                expire_at_ms,
                first,
                last: true,
                total: 0,
                elements: PartElements::List(Vec::new()),
            };
        };
        let (elements, next_position) = collect_part(&record.value, cursor.position, budget_bytes.max(1024));
        let last = next_position.is_none();
        let total = collection_len(&record.value).unwrap_or(0) as u64;
        if let Some(position) = next_position {
            export.part_opt = Some(PartCursor {
                position,
                sent_first: true,
                ..cursor
            });
        }
        MigrationEntry::Part {
            key,
            expire_at_ms,
            first,
            last,
            total,
            elements,
        }
    }

    /// Appends live keys of `slot` from bucket `cursor` until about
    /// `SCAN_STEP_KEYS` are found; returns the next cursor (`None`: done).
    fn scan_slot(&self, slot: u16, cursor: u64, out: &mut VecDeque<SmallBytes>, now_ms: u64) -> Option<u64> {
        let table = self.table(slot);
        let mut cursor = cursor;
        let mut buckets_left = SCAN_STEP_KEYS * 10;
        let found_before = out.len();
        loop {
            cursor = table.scan_live_keys(cursor, now_ms, out);
            buckets_left -= 1;
            if cursor == 0 {
                return None;
            }
            if out.len() - found_before >= SCAN_STEP_KEYS || buckets_left == 0 {
                return Some(cursor);
            }
        }
    }

    /// Removes up to `limit` keys of `slot` (freeing a migrated slot a bit
    /// at a time). Returns how many keys the slot still holds. Large values
    /// are freed on the lazy-free thread: dropping a 1M-field hash takes
    /// long enough to stall the shard.
    pub fn drop_slot_keys(&mut self, slot: u16, limit: usize) -> usize {
        let keys = self.keys_in_slot(slot, limit);
        let mut large = Vec::new();
        for key in keys {
            if let Some((record, _)) = self.remove(&key) {
                if is_large(&record.value) {
                    large.push(record);
                }
            }
        }
        super::lazy_free::drop_later(large);
        self.slot_len(slot)
    }
}

/// Reads elements of `value` from `position` until about `budget_bytes`.
/// Returns them and the position to continue from (`None` when done).
fn collect_part(value: &Value, position: u64, budget_bytes: usize) -> (PartElements, Option<u64>) {
    match value {
        Value::Hash(hash) => {
            let (pairs, next) = collect_by_cursor(position, budget_bytes, |cursor, pairs, size| {
                hash.scan(cursor, |field, value| {
                    *size += field.len() + value.len() + 4;
                    pairs.push((Bytes::copy_from_slice(field), Bytes::copy_from_slice(value)));
                })
            });
            (PartElements::Hash(pairs), next)
        }
        Value::Set(set) => {
            let (members, next) = collect_by_cursor(position, budget_bytes, |cursor, members, size| {
                set.scan(cursor, |member| {
                    member.with_bytes(|bytes| {
                        *size += bytes.len() + 2;
                        members.push(Bytes::copy_from_slice(bytes));
                    })
                })
            });
            (PartElements::Set(members), next)
        }
        Value::SortedSet(sorted_set) => {
            let (entries, next) = collect_by_cursor(position, budget_bytes, |cursor, entries, size| {
                sorted_set.scan(cursor, 64, 64, |entry| {
                    *size += entry.member.len() + 10;
                    entries.push((Bytes::copy_from_slice(&entry.member), entry.score));
                })
            });
            (PartElements::SortedSet(entries), next)
        }
        Value::List(list) => {
            let mut size = 0usize;
            let mut elements = Vec::new();
            let mut index = position as usize;
            while index < list.len() && size < budget_bytes {
                let batch = list.range_bytes(index, 256, false);
                index += batch.len();
                size += batch.iter().map(|element| element.len() + 2).sum::<usize>();
                elements.extend(batch);
            }
            let next = (index < list.len()).then_some(index as u64);
            (PartElements::List(elements), next)
        }
        Value::String(_) => (PartElements::List(Vec::new()), None),
    }
}

/// Runs `step` (one stable-cursor scan step that adds items and their
/// size) from `position` until the cursor is done or `budget_bytes` are
/// collected. Returns the items and the cursor to continue from.
fn collect_by_cursor<T>(
    position: u64,
    budget_bytes: usize,
    mut step: impl FnMut(u64, &mut Vec<T>, &mut usize) -> u64,
) -> (Vec<T>, Option<u64>) {
    let mut items = Vec::new();
    let mut size = 0usize;
    let mut cursor = position;
    loop {
        cursor = step(cursor, &mut items, &mut size);
        if cursor == 0 || size >= budget_bytes {
            return (items, (cursor != 0).then_some(cursor));
        }
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("bad DUMP payload for key {0:?}")]
    BadPayload(String),
    #[error("part of key {0:?} without its first part")]
    OrphanPart(String),
    #[error("key {0:?} does not hash to the imported slot")]
    WrongSlot(String),
}

/// The receiving side of one migration on one shard.
#[derive(Default)]
pub struct SlotImport {
    /// A collection being assembled from parts: its key, value and expiry.
    staged_opt: Option<(SmallBytes, Value, Option<u64>)>,
    pub keys_imported: u64,
    pub bytes_imported: u64,
}

impl SlotImport {
    /// Applies one entry. `accepts_slot` says whether the key's slot is one
    /// this import may write (a safety net against a confused source).
    pub fn apply(
        &mut self,
        keyspace: &mut Keyspace,
        entry: MigrationEntry,
        limits: &CollectionLimits,
        accepts_slot: impl Fn(u16) -> bool,
        now_ms: u64,
    ) -> Result<(), ImportError> {
        let key_bytes = entry.key().clone();
        let key_text = || String::from_utf8_lossy(&key_bytes).into_owned();
        if !accepts_slot(starling_protocol::key_slot(entry.key())) {
            return Err(ImportError::WrongSlot(key_text()));
        }
        self.bytes_imported += entry.size_bytes() as u64;
        match entry {
            MigrationEntry::Whole {
                key,
                expire_at_ms,
                payload,
            } => {
                let mut value = dump::deserialize(&payload).map_err(|_| ImportError::BadPayload(key_text()))?;
                value.fit_encoding(limits);
                install(keyspace, &key, value, expire_at_ms, now_ms);
                self.keys_imported += 1;
            }
            MigrationEntry::Deleted { key } => {
                keyspace.remove(&key);
            }
            MigrationEntry::Part {
                key,
                expire_at_ms,
                first,
                last,
                total,
                elements,
            } => {
                if first {
                    let empty = empty_value_for(&elements, total as usize, limits);
                    self.staged_opt = Some((SmallBytes::from_slice(&key), empty, expire_at_ms));
                }
                let Some((staged_key, value, _)) = self.staged_opt.as_mut() else {
                    return Err(ImportError::OrphanPart(key_text()));
                };
                if staged_key[..] != key[..] {
                    return Err(ImportError::OrphanPart(key_text()));
                }
                add_elements(value, elements, limits);
                if last {
                    let (key, value, _) = self.staged_opt.take().expect("staged above");
                    install(keyspace, &key, value, expire_at_ms, now_ms);
                    self.keys_imported += 1;
                }
            }
        }
        Ok(())
    }
}

fn install(keyspace: &mut Keyspace, key: &[u8], value: Value, expire_at_ms: Option<u64>, now_ms: u64) {
    let empty = match &value {
        Value::String(_) => false,
        Value::List(list) => list.is_empty(),
        Value::Hash(hash) => hash.is_empty(),
        Value::Set(set) => set.is_empty(),
        Value::SortedSet(sorted_set) => sorted_set.is_empty(),
    };
    if empty {
        // Redis never stores an empty collection: the key is gone.
        keyspace.remove(key);
        return;
    }
    let record = Record::new(SmallBytes::from_slice(key), value, (now_ms / 1000) as u32);
    keyspace.insert_record(record, expire_at_ms);
}

/// The empty collection the parts of a `total`-element one are added to,
/// hash and set tables sized for all of them (a resize relinks every
/// element: at a million, a pause of tens of milliseconds on the shard).
fn empty_value_for(elements: &PartElements, total: usize, limits: &CollectionLimits) -> Value {
    match elements {
        PartElements::List(_) => Value::List(Box::default()),
        PartElements::Hash(_) => Value::Hash(Box::new(HashValue::with_capacity(total, limits.hash))),
        PartElements::Set(members) => Value::Set(Box::new(match members.first() {
            Some(first) => SetValue::for_first_member(first, total, limits.set),
            None => SetValue::new_listpack(),
        })),
        PartElements::SortedSet(_) => Value::SortedSet(Box::default()),
    }
}

fn add_elements(value: &mut Value, elements: PartElements, limits: &CollectionLimits) {
    match (value, elements) {
        (Value::List(list), PartElements::List(elements)) => {
            for element in elements {
                list.push(limits.list, ListEnd::Right, &element);
            }
        }
        (Value::Hash(hash), PartElements::Hash(pairs)) => {
            for (field, field_value) in pairs {
                hash.set(&field, &field_value, limits.hash);
            }
        }
        (Value::Set(set), PartElements::Set(members)) => {
            for member in members {
                set.insert(&member, limits.set);
            }
        }
        (Value::SortedSet(sorted_set), PartElements::SortedSet(entries)) => {
            for (member, score) in entries {
                sorted_set.insert(&member, score, limits.sorted_set);
            }
        }
        // A part of another type than the first: the source's key changed
        // type mid-way; it is dirty and will be sent again whole.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::hash::HashValue;
    use crate::keyspace::list::ListValue;
    use crate::keyspace::sorted_set::SortedSetValue;

    const LIMITS: CollectionLimits = CollectionLimits::DEFAULT;
    /// Every key below hashes to this slot (hash tag `{m}`).
    fn slot() -> u16 {
        starling_protocol::key_slot(b"{m}")
    }

    fn key(name: &str) -> Vec<u8> {
        format!("{{m}}{name}").into_bytes()
    }

    /// A value as sorted, encoding-independent text, for comparisons.
    fn canonical(value: &Value) -> Vec<String> {
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let mut items: Vec<String> = match value {
            Value::String(bytes) => return vec![format!("string {}", text(bytes))],
            Value::List(list) => return list.iter().map(text).collect(),
            Value::Hash(hash) => hash
                .iter()
                .map(|(field, value)| format!("{}={}", text(field), text(value)))
                .collect(),
            Value::Set(set) => set.iter().map(|member| member.with_bytes(text)).collect(),
            Value::SortedSet(sorted_set) => sorted_set
                .iter()
                .map(|entry| format!("{}:{}", text(&entry.member), entry.score))
                .collect(),
        };
        items.sort();
        items
    }

    fn contents(keyspace: &Keyspace) -> Vec<(String, Option<u64>, Vec<String>)> {
        let mut all = Vec::new();
        keyspace.for_each_live_key(0, |record| {
            all.push((
                String::from_utf8_lossy(&record.key).into_owned(),
                keyspace.expire_at(&record.key),
                canonical(&record.value),
            ))
        });
        all.sort();
        all
    }

    fn populated() -> Keyspace {
        let mut keyspace = Keyspace::new(0, 1);
        for index in 0..300 {
            keyspace.set(
                &key(&format!("s{index}")),
                Value::String(SmallBytes::from_slice(b"v")),
                false,
                0,
            );
        }
        keyspace.set_expire(&key("s7"), 99_000_000);
        let mut hash = HashValue::new();
        let mut big_hash = HashValue::new();
        let mut list = ListValue::new();
        let mut set = SetValue::new_listpack();
        let mut sorted_set = SortedSetValue::default();
        for index in 0..20_000 {
            let element = format!("element-{index}");
            big_hash.set(element.as_bytes(), b"some value bytes", LIMITS.hash);
            list.push(LIMITS.list, ListEnd::Right, element.as_bytes());
            set.insert(element.as_bytes(), LIMITS.set);
            sorted_set.insert(element.as_bytes(), index as f64 / 3.0, LIMITS.sorted_set);
        }
        hash.set(b"f", b"v", LIMITS.hash);
        keyspace.set(&key("hash"), Value::Hash(Box::new(hash)), false, 0);
        keyspace.set(&key("big-hash"), Value::Hash(Box::new(big_hash)), false, 0);
        keyspace.set(&key("big-list"), Value::List(Box::new(list)), false, 0);
        keyspace.set(&key("big-set"), Value::Set(Box::new(set)), false, 0);
        keyspace.set(&key("big-zset"), Value::SortedSet(Box::new(sorted_set)), false, 0);
        keyspace.set_expire(&key("big-hash"), 98_000_000);
        keyspace
    }

    /// Exports every chunk through an rmp-serde round trip into `target`.
    fn copy_chunks(
        source: &mut Keyspace,
        export: &mut SlotExport,
        import: &mut SlotImport,
        target: &mut Keyspace,
        budget: usize,
        max_chunks: usize,
    ) -> usize {
        let mut chunks = 0;
        while chunks < max_chunks {
            let entries = source.export_chunk(export, budget, 0);
            if entries.is_empty() {
                break;
            }
            let size: usize = entries.iter().map(MigrationEntry::size_bytes).sum();
            assert!(
                size <= 2 * budget + 1024,
                "chunk of {size} bytes for a budget of {budget}"
            );
            let wire = rmp_serde::to_vec(&entries).unwrap();
            let entries: Vec<MigrationEntry> = rmp_serde::from_slice(&wire).unwrap();
            for entry in entries {
                if let MigrationEntry::Part { total, .. } = &entry {
                    // Every large collection above holds 20000 elements (or a few more).
                    assert!(*total >= 20_000, "the target learns the size to reserve: {total}");
                }
                import.apply(target, entry, &LIMITS, |s| s == slot(), 0).unwrap();
            }
            chunks += 1;
        }
        chunks
    }

    #[test]
    fn a_slot_with_large_collections_arrives_whole_in_bounded_chunks() {
        let mut source = populated();
        let mut target = Keyspace::new(0, 1);
        let mut export = SlotExport::new(slot());
        let mut import = SlotImport::default();
        let chunks = copy_chunks(
            &mut source,
            &mut export,
            &mut import,
            &mut target,
            16 * 1024,
            usize::MAX,
        );
        assert!(export.is_drained());
        assert!(chunks > 40, "the big collections were split: {chunks} chunks");
        assert_eq!(contents(&target), contents(&source));
        assert_eq!(export.keys_exported, 305);
        assert_eq!(import.keys_imported, 305);
    }

    #[test]
    fn writes_during_the_export_are_caught_by_the_dirty_set() {
        let mut source = populated();
        let mut target = Keyspace::new(0, 1);
        let mut export = SlotExport::new(slot());
        let mut import = SlotImport::default();
        source.track_writes(slot());
        copy_chunks(&mut source, &mut export, &mut import, &mut target, 8 * 1024, usize::MAX);
        assert!(export.is_drained());
        // Writes of every kind to keys the target already holds.
        source.remove(&key("s1"));
        source.set(&key("s2"), Value::String(SmallBytes::from_slice(b"changed")), false, 0);
        source.set(&key("new"), Value::String(SmallBytes::from_slice(b"fresh")), false, 0);
        source.set_expire(&key("s3"), 97_000_000);
        source.persist(&key("s7"));
        source.remove(&key("big-set"));
        push_head(&mut source, b"head");
        source.requeue_dirty(&mut export);
        // Stop while the big list is being resent in parts, write to it, and
        // go on: the new write makes it dirty again and it is resent whole.
        copy_chunks(&mut source, &mut export, &mut import, &mut target, 8 * 1024, 3);
        assert!(!export.is_drained());
        push_head(&mut source, b"second head");
        source.requeue_dirty(&mut export);
        copy_chunks(&mut source, &mut export, &mut import, &mut target, 8 * 1024, usize::MAX);
        assert!(export.is_drained());
        assert!(source.take_dirty(slot()).is_empty());
        assert_eq!(contents(&target), contents(&source));
        source.untrack_writes(slot());
        source.set(&key("after"), Value::String(SmallBytes::from_slice(b"x")), false, 0);
        assert!(source.take_dirty(slot()).is_empty(), "untracked slots record nothing");
    }

    fn push_head(keyspace: &mut Keyspace, element: &[u8]) {
        let Some(Value::List(list)) = keyspace.lookup_mut(&key("big-list"), 0).map(|record| &mut record.value) else {
            panic!("the big list exists");
        };
        list.push(LIMITS.list, ListEnd::Left, element);
    }

    #[test]
    fn bad_entries_are_refused() {
        let mut target = Keyspace::new(0, 1);
        let mut import = SlotImport::default();
        let orphan = MigrationEntry::Part {
            key: Bytes::from(key("x")),
            expire_at_ms: None,
            first: false,
            last: true,
            total: 1,
            elements: PartElements::Set(vec![Bytes::from_static(b"m")]),
        };
        assert!(matches!(
            import.apply(&mut target, orphan, &LIMITS, |_| true, 0),
            Err(ImportError::OrphanPart(_))
        ));
        let garbage = MigrationEntry::Whole {
            key: Bytes::from(key("x")),
            expire_at_ms: None,
            payload: Bytes::from_static(b"not a dump payload"),
        };
        assert!(matches!(
            import.apply(&mut target, garbage, &LIMITS, |_| true, 0),
            Err(ImportError::BadPayload(_))
        ));
        let elsewhere = MigrationEntry::Deleted {
            key: Bytes::from_static(b"other"),
        };
        assert!(matches!(
            import.apply(&mut target, elsewhere, &LIMITS, |s| s == slot(), 0),
            Err(ImportError::WrongSlot(_))
        ));
        assert!(target.is_empty());
    }

    #[test]
    fn a_migrated_slot_is_freed_a_bit_at_a_time() {
        let mut source = populated();
        assert_eq!(source.drop_slot_keys(slot(), 100), 205);
        while source.drop_slot_keys(slot(), 100) > 0 {}
        assert!(source.is_empty());
        assert_eq!(source.volatile_len(), 0);
    }
}
