//! `SmallBytes`: an owned byte string that keeps short values inline.
//!
//! Keys and string values are mostly short (`user:1000`, a 16-byte token), so
//! storing them inline avoids one heap allocation per key and keeps a record
//! at 64 bytes. Longer strings live in a boxed slice. The type is 24 bytes.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// Longest byte string stored without a heap allocation.
pub const INLINE_CAPACITY_BYTES: usize = 22;

#[derive(Clone)]
pub enum SmallBytes {
    Inline { len: u8, data: [u8; INLINE_CAPACITY_BYTES] },
    Heap(Box<[u8]>),
}

const _: () = assert!(std::mem::size_of::<SmallBytes>() == 24);

impl SmallBytes {
    pub const fn new() -> SmallBytes {
        SmallBytes::Inline {
            len: 0,
            data: [0; INLINE_CAPACITY_BYTES],
        }
    }

    pub fn from_slice(bytes: &[u8]) -> SmallBytes {
        if bytes.len() <= INLINE_CAPACITY_BYTES {
            let mut data = [0; INLINE_CAPACITY_BYTES];
            data[..bytes.len()].copy_from_slice(bytes);
            SmallBytes::Inline {
                len: bytes.len() as u8,
                data,
            }
        } else {
            SmallBytes::Heap(bytes.into())
        }
    }

    pub fn from_vec(bytes: Vec<u8>) -> SmallBytes {
        if bytes.len() <= INLINE_CAPACITY_BYTES {
            SmallBytes::from_slice(&bytes)
        } else {
            SmallBytes::Heap(bytes.into_boxed_slice())
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        match self {
            SmallBytes::Inline { len, data } => &data[..*len as usize],
            SmallBytes::Heap(boxed) => boxed,
        }
    }

    /// The bytes, for changing in place without changing the length
    /// (SETBIT, BITFIELD and PFADD on a dense HyperLogLog).
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        match self {
            SmallBytes::Inline { len, data } => &mut data[..*len as usize],
            SmallBytes::Heap(boxed) => boxed,
        }
    }

    /// Bytes of heap memory owned beyond the 24 bytes of the value itself.
    pub fn heap_size_bytes(&self) -> usize {
        match self {
            SmallBytes::Inline { .. } => 0,
            SmallBytes::Heap(boxed) => boxed.len(),
        }
    }

    pub fn into_vec(self) -> Vec<u8> {
        match self {
            SmallBytes::Inline { len, data } => data[..len as usize].to_vec(),
            SmallBytes::Heap(boxed) => boxed.into_vec(),
        }
    }
}

impl Default for SmallBytes {
    fn default() -> Self {
        SmallBytes::new()
    }
}

impl Deref for SmallBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for SmallBytes {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for SmallBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for SmallBytes {}

impl Hash for SmallBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl fmt::Debug for SmallBytes {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

impl From<&[u8]> for SmallBytes {
    fn from(bytes: &[u8]) -> Self {
        SmallBytes::from_slice(bytes)
    }
}

impl From<Vec<u8>> for SmallBytes {
    fn from(bytes: Vec<u8>) -> Self {
        SmallBytes::from_vec(bytes)
    }
}

/// Serialized as a byte string (MessagePack `bin`), not as a sequence of
/// integers, so DUMP payloads stay compact.
impl serde::Serialize for SmallBytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.as_slice())
    }
}

impl<'de> serde::Deserialize<'de> for SmallBytes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SmallBytesVisitor;

        impl serde::de::Visitor<'_> for SmallBytesVisitor {
            type Value = SmallBytes;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a byte string")
            }

            fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<SmallBytes, E> {
                Ok(SmallBytes::from_slice(bytes))
            }

            fn visit_byte_buf<E: serde::de::Error>(self, bytes: Vec<u8>) -> Result<SmallBytes, E> {
                Ok(SmallBytes::from_vec(bytes))
            }
        }

        deserializer.deserialize_bytes(SmallBytesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_stay_inline_and_long_ones_move_to_the_heap() {
        let short = SmallBytes::from_slice(b"key:123456");
        assert!(matches!(short, SmallBytes::Inline { .. }));
        assert_eq!(&*short, b"key:123456");
        let exact = SmallBytes::from_slice(&[7u8; INLINE_CAPACITY_BYTES]);
        assert!(matches!(exact, SmallBytes::Inline { .. }));
        let long = SmallBytes::from_vec(vec![9u8; INLINE_CAPACITY_BYTES + 1]);
        assert!(matches!(long, SmallBytes::Heap(_)));
        assert_eq!(long.len(), INLINE_CAPACITY_BYTES + 1);
        assert_eq!(long.heap_size_bytes(), INLINE_CAPACITY_BYTES + 1);
    }

    #[test]
    fn equality_ignores_the_representation() {
        assert_eq!(SmallBytes::from_slice(b""), SmallBytes::new());
        assert_eq!(SmallBytes::from_vec(b"abc".to_vec()), SmallBytes::from_slice(b"abc"));
    }

    #[test]
    fn serializes_as_a_messagepack_byte_string() {
        for value in [SmallBytes::from_slice(b"short"), SmallBytes::from_vec(vec![b'x'; 300])] {
            let encoded = rmp_serde::to_vec(&value).expect("serializes");
            // 0xc4 is `bin 8`, 0xc5 is `bin 16`: a byte string, not an array of integers.
            assert!(matches!(encoded[0], 0xc4 | 0xc5), "{:#x}", encoded[0]);
            let decoded: SmallBytes = rmp_serde::from_slice(&encoded).expect("deserializes");
            assert_eq!(decoded, value);
        }
    }
}
