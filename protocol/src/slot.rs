//! Key to hash-slot mapping of Redis Cluster.
//!
//! `slot = CRC16/XMODEM(hash_tag(key)) mod 16384`. The CRC variant matters: XMODEM is
//! polynomial 0x1021, initial value 0, no reflection (check value 0x31C3 for
//! `123456789`); KERMIT and CCITT-FALSE give different slots.

/// Number of hash slots in a Redis cluster.
pub const SLOT_COUNT: u16 = 16384;

/// Returns the hash slot (`0..SLOT_COUNT`) that owns `key`.
///
/// `CLUSTER KEYSLOT key`
pub fn key_slot(key: &[u8]) -> u16 {
    let checksum = crc16::State::<crc16::XMODEM>::calculate(hash_tag(key));
    // SLOT_COUNT is a power of two, so the modulo is a mask, as in Redis.
    checksum & (SLOT_COUNT - 1)
}

/// Returns the bytes of `key` that are hashed.
///
/// If the key holds a `{` and a later `}` with at least one byte between them, only the
/// bytes between the first `{` and the first `}` after it are hashed; otherwise the
/// whole key is. So `{}` never forms a tag (`foo{}{bar}` hashes whole) and `{{bar}}`
/// hashes `{bar`.
pub fn hash_tag(key: &[u8]) -> &[u8] {
    let Some(open_index) = key.iter().position(|&byte| byte == b'{') else {
        return key;
    };
    let after_open = &key[open_index + 1..];
    match after_open.iter().position(|&byte| byte == b'}') {
        Some(0) | None => key,
        Some(close_index) => &after_open[..close_index],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_is_xmodem() {
        assert_eq!(crc16::State::<crc16::XMODEM>::calculate(b"123456789"), 0x31C3);
    }

    #[test]
    fn key_slot_matches_every_compat_vector() {
        let vectors: &[(&[u8], u16)] = &[
            (b"foo", 12182),
            (b"bar", 5061),
            (b"hello", 866),
            (b"somekey", 11058),
            (b"foo{hash_tag}", 2515),
            (b"bar{hash_tag}", 2515),
            (b"{user1000}.following", 3443),
            (b"{user1}.following", 8106),
            (b"foo{}{bar}", 8363),
            (b"foo{{bar}}zap", 4015),
            (b"foo{bar}{zap}", 5061),
            (b"", 0),
            (b"123456789", 12739),
        ];
        for (key, expected_slot) in vectors {
            assert_eq!(key_slot(key), *expected_slot, "key {:?}", String::from_utf8_lossy(key));
        }
    }

    #[test]
    fn hash_tag_rules() {
        assert_eq!(hash_tag(b"foo"), b"foo");
        assert_eq!(hash_tag(b"foo{bar}"), b"bar");
        assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}");
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(hash_tag(b"foo{bar}{zap}"), b"bar");
        assert_eq!(hash_tag(b"foo{bar"), b"foo{bar");
        assert_eq!(hash_tag(b"foo}bar{"), b"foo}bar{");
        assert_eq!(hash_tag(b"{"), b"{");
        assert_eq!(hash_tag(b"{}"), b"{}");
        assert_eq!(hash_tag(b"{a}"), b"a");
        assert_eq!(key_slot(b"{a}xyz"), key_slot(b"a"));
    }

    #[test]
    fn every_slot_is_in_range() {
        for index in 0..5000u32 {
            let key = format!("key:{index}");
            assert!(key_slot(key.as_bytes()) < SLOT_COUNT);
        }
    }
}
