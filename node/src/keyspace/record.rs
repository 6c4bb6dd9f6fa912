//! What one key holds: `Record` (key, value, access clock, flags) and `Value`.

use super::dict::DictItem;
use super::hash::HashValue;
use super::list::ListValue;
use super::set::SetValue;
use super::small_bytes::SmallBytes;
use super::sorted_set::SortedSetValue;

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
