//! What one key holds: `Record` (key, value, access clock, flags) and `Value`.

use super::dict::{DictItem, PrefetchStep};
use super::hash::{HashValue, ListpackLimits as HashLimits};
use super::list::{ListLimits, ListValue};
use super::set::{SetLimits, SetValue};
use super::small_bytes::SmallBytes;
use super::sorted_set::{ListpackLimits as SortedSetLimits, SortedSetValue};

/// A key's value. Each data-type family adds its variant here; keep the enum
/// at 24 bytes so that a record stays at 56 bytes (64 with its chain link).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    String(SmallBytes),
    List(Box<ListValue>),
    Hash(Box<HashValue>),
    Set(Box<SetValue>),
    SortedSet(Box<SortedSetValue>),
}

const _: () = assert!(std::mem::size_of::<Value>() == 24);

/// The name `TYPE` reports.
impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::SortedSet(_) => "zset",
        }
    }

    /// Heap bytes owned by the value beyond its inline 24 bytes.
    pub fn heap_size_bytes(&self) -> usize {
        match self {
            Value::String(bytes) => bytes.heap_size_bytes(),
            Value::List(list) => std::mem::size_of::<ListValue>() + list.heap_size_bytes(),
            Value::Hash(hash) => std::mem::size_of::<HashValue>() + hash.heap_size_bytes(),
            Value::Set(set) => std::mem::size_of::<SetValue>() + set.heap_size_bytes(),
            Value::SortedSet(sorted_set) => std::mem::size_of::<SortedSetValue>() + sorted_set.heap_size_bytes(),
        }
    }
}

/// The encoding thresholds of every collection type (`hash-max-listpack-*`
/// and friends), as the server is configured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CollectionLimits {
    pub hash: HashLimits,
    pub set: SetLimits,
    pub sorted_set: SortedSetLimits,
    pub list: ListLimits,
}

impl CollectionLimits {
    /// Redis's defaults, which a decoded DUMP payload is built with.
    pub const DEFAULT: CollectionLimits = CollectionLimits {
        hash: HashLimits::DEFAULT,
        set: SetLimits::DEFAULT,
        sorted_set: SortedSetLimits::DEFAULT,
        list: ListLimits::DEFAULT,
    };
}

impl Value {
    /// One step of prefetching `member`'s lookup in a hash's or set's table;
    /// nothing for other types and compact encodings.
    pub fn prefetch_member(&self, member: &[u8], step: PrefetchStep) {
        match self {
            Value::Hash(hash) => hash.prefetch_field(member, step),
            Value::Set(set) => set.prefetch_member(member, step),
            _ => {}
        }
    }

    /// Re-encodes a collection for `limits`, as Redis's RESTORE picks a
    /// loaded value's encoding from the server's configuration: a decoded
    /// DUMP payload comes back in the encoding the default thresholds call
    /// for. Only a collection small enough for a compact encoding under
    /// either thresholds is rebuilt; a larger one keeps its indexed encoding
    /// (and a large list its nodes, as Redis keeps a quicklist's), so this is
    /// O(1) for large values.
    pub fn fit_encoding(&mut self, limits: &CollectionLimits) {
        let default = CollectionLimits::DEFAULT;
        match self {
            Value::String(_) => {}
            Value::List(list) => {
                list.prepare_for_growth(limits.list, 0, 0);
                list.shrink_if_small(limits.list);
            }
            Value::Hash(hash) if hash.len() <= limits.hash.max_entries.max(default.hash.max_entries) => {
                let mut fitted = HashValue::with_capacity(hash.len(), limits.hash);
                for (field, value) in hash.iter() {
                    fitted.set(field, value, limits.hash);
                }
                **hash = fitted;
            }
            Value::Set(set) if set.len() <= set_compact_entries(&limits.set).max(set_compact_entries(&default.set)) => {
                let members: Vec<SmallBytes> = set.iter().map(|member| member.to_small_bytes()).collect();
                if let Some(fitted) = SetValue::from_members(&members, limits.set) {
                    **set = fitted;
                }
            }
            Value::SortedSet(sorted_set)
                if sorted_set.len() <= limits.sorted_set.max_entries.max(default.sorted_set.max_entries) =>
            {
                let entries = sorted_set.iter().cloned().collect();
                **sorted_set = SortedSetValue::from_sorted_entries(limits.sorted_set, entries);
            }
            Value::Hash(_) | Value::Set(_) | Value::SortedSet(_) => {}
        }
    }
}

/// The most members a set can hold in a compact encoding (intset or
/// listpack) under `limits`.
fn set_compact_entries(limits: &SetLimits) -> usize {
    limits.max_intset_entries.max(limits.max_listpack_entries)
}

/// The record has an entry in its slot's expiry table.
pub const FLAG_HAS_EXPIRE: u32 = 1;
/// The string was changed in place (APPEND, SETRANGE): Redis reports `raw`.
pub const FLAG_RAW_STRING: u32 = 1 << 1;

#[derive(Clone, Debug)]
pub struct Record {
    pub key: SmallBytes,
    pub value: Value,
    /// Seconds on the shard's LRU clock at the last access (OBJECT IDLETIME).
    pub access_clock_secs: u32,
    pub flags: u32,
}

const _: () = assert!(std::mem::size_of::<Record>() == 56);

impl Record {
    pub fn new(key: SmallBytes, value: Value, access_clock_secs: u32) -> Record {
        Record {
            key,
            value,
            access_clock_secs,
            flags: 0,
        }
    }

    pub fn has_expire(&self) -> bool {
        self.flags & FLAG_HAS_EXPIRE != 0
    }
}

impl DictItem for Record {
    fn key(&self) -> &[u8] {
        &self.key
    }
}

/// A key's expiry time, kept only for keys that have one (as Redis's
/// `db->expires`), so persistent keys pay nothing for TTL support.
#[derive(Clone, Debug)]
pub struct ExpireEntry {
    pub key: SmallBytes,
    pub at_ms: u64,
}

impl DictItem for ExpireEntry {
    fn key(&self) -> &[u8] {
        &self.key
    }
}
