//! DUMP / RESTORE payloads: a `Value` as bytes that survive a trip through a
//! client or another server.
//!
//! The format is Starling's own, but versioned and checksummed the way Redis's
//! RDB-based payload is:
//!
//! ```text
//! +----------+---------------------------+-------------------+--------------------+
//! | type tag | body (MessagePack, serde) | format version    | CRC-64 of all the  |
//! | 1 byte   | the variant's content     | u16 little-endian | bytes before it,   |
//! |          |                           |                   | u64 little-endian  |
//! +----------+---------------------------+-------------------+--------------------+
//! ```
//!
//! - The tag says which `Value` variant the body holds, and the body is that
//!   variant's content serialized with `rmp_serde` (byte strings as `bin`).
//! - The version is `DUMP_FORMAT_VERSION`. A payload from a newer format is
//!   refused, as Redis refuses a payload from a newer RDB version.
//! - The checksum is CRC-64/Jones (`crc::CRC_64_REDIS`), the one Redis uses.
//!
//! Outcomes of `deserialize`:
//! - too short, unknown version or wrong checksum: `DumpError::VersionOrChecksum`
//!   (Redis: "DUMP payload version or checksum are wrong");
//! - checksum fine but an unknown tag, a body that does not decode, or bytes
//!   left over after the body: `DumpError::BadDataFormat` (Redis: "Bad data format");
//! - otherwise the value.
//!
//! Adding a type (hash, list, set, sorted set): give it a new tag constant,
//! one arm in `serialize` and one in `deserialize`. Never renumber or reuse a
//! tag: payloads outlive the process that wrote them.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::record::Value;
use super::small_bytes::SmallBytes;

/// The format `serialize` writes. Bump it when a body's layout changes, and
/// keep decoding the older versions.
pub const DUMP_FORMAT_VERSION: u16 = 1;

/// Tag of `Value::String`: the body is one MessagePack `bin`. Tags follow
/// Redis's RDB object type numbers where a type has one (string = 0).
const TAG_STRING: u8 = 0;
/// Tags of the collection types, after Redis's RDB numbers (list 1, set 2,
/// sorted set 5 for "zset2", hash 4). Each body is the type's own serde form.
const TAG_LIST: u8 = 1;
const TAG_SET: u8 = 2;
const TAG_HASH: u8 = 4;
const TAG_SORTED_SET: u8 = 5;

const VERSION_BYTES: usize = 2;
const CHECKSUM_BYTES: usize = 8;
/// Tag, the shortest body (an empty `bin` takes 2 bytes), version and checksum.
const MIN_PAYLOAD_BYTES: usize = 1 + 2 + VERSION_BYTES + CHECKSUM_BYTES;

const CHECKSUM: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_REDIS);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DumpError {
    #[error("payload version or checksum are wrong")]
    VersionOrChecksum,
    #[error("bad data format")]
    BadDataFormat,
}

/// The payload DUMP replies with for `value`.
pub fn serialize(value: &Value) -> Vec<u8> {
    let mut payload = Vec::with_capacity(MIN_PAYLOAD_BYTES + value.heap_size_bytes() + 24);
    match value {
        Value::String(bytes) => write_body(&mut payload, TAG_STRING, bytes),
        Value::List(list) => write_body(&mut payload, TAG_LIST, &**list),
        Value::Set(set) => write_body(&mut payload, TAG_SET, &**set),
        Value::Hash(hash) => write_body(&mut payload, TAG_HASH, &**hash),
        Value::SortedSet(sorted_set) => write_body(&mut payload, TAG_SORTED_SET, &**sorted_set),
    }
    payload.extend_from_slice(&DUMP_FORMAT_VERSION.to_le_bytes());
    let checksum = CHECKSUM.checksum(&payload);
    payload.extend_from_slice(&checksum.to_le_bytes());
    payload
}

/// The value a RESTORE payload holds, after checking its version and checksum.
pub fn deserialize(payload: &[u8]) -> Result<Value, DumpError> {
    if payload.len() < MIN_PAYLOAD_BYTES {
        return Err(DumpError::VersionOrChecksum);
    }
    let (checked, checksum_bytes) = payload.split_at(payload.len() - CHECKSUM_BYTES);
    let (content, version_bytes) = checked.split_at(checked.len() - VERSION_BYTES);
    let version = u16::from_le_bytes([version_bytes[0], version_bytes[1]]);
    if version == 0 || version > DUMP_FORMAT_VERSION {
        return Err(DumpError::VersionOrChecksum);
    }
    let mut expected_checksum = [0u8; CHECKSUM_BYTES];
    expected_checksum.copy_from_slice(checksum_bytes);
    if CHECKSUM.checksum(checked) != u64::from_le_bytes(expected_checksum) {
        return Err(DumpError::VersionOrChecksum);
    }
    let (&tag, body) = content.split_first().ok_or(DumpError::BadDataFormat)?;
    match tag {
        TAG_STRING => Ok(Value::String(read_body::<SmallBytes>(body)?)),
        TAG_LIST => Ok(Value::List(Box::new(read_body(body)?))),
        TAG_SET => Ok(Value::Set(Box::new(read_body(body)?))),
        TAG_HASH => Ok(Value::Hash(Box::new(read_body(body)?))),
        TAG_SORTED_SET => Ok(Value::SortedSet(Box::new(read_body(body)?))),
        _ => Err(DumpError::BadDataFormat),
    }
}

fn write_body<T: Serialize + ?Sized>(payload: &mut Vec<u8>, tag: u8, body: &T) {
    payload.push(tag);
    // Writing into a Vec cannot fail, and every body type serializes.
    rmp_serde::encode::write(payload, body).expect("DUMP bodies serialize into memory");
}

/// Decodes a whole body: bytes left over mean the payload is not one we wrote.
/// The reader copies only bytes that are present, so a forged length prefix
/// cannot make it allocate more than the payload's size.
fn read_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, DumpError> {
    let mut deserializer = rmp_serde::Deserializer::new(std::io::Cursor::new(body));
    let value = T::deserialize(&mut deserializer).map_err(|_| DumpError::BadDataFormat)?;
    if deserializer.position() != body.len() as u64 {
        return Err(DumpError::BadDataFormat);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(bytes: &[u8]) -> Value {
        Value::String(SmallBytes::from_slice(bytes))
    }

    /// A payload with a chosen tag, body and version and a correct checksum.
    fn forge(tag: u8, body: &[u8], version: u16) -> Vec<u8> {
        let mut payload = vec![tag];
        payload.extend_from_slice(body);
        payload.extend_from_slice(&version.to_le_bytes());
        let checksum = CHECKSUM.checksum(&payload);
        payload.extend_from_slice(&checksum.to_le_bytes());
        payload
    }

    #[test]
    fn the_checksum_is_redis_crc64_jones() {
        assert_eq!(CHECKSUM.checksum(b"123456789"), 0xe9c6d914c4b8d9ca);
    }

    #[test]
    fn strings_round_trip() {
        let long = vec![0xABu8; 100_000];
        for bytes in [&b""[..], b"v", b"12345", b"\x00\xff\r\n binary", &long] {
            let payload = serialize(&string(bytes));
            assert_eq!(payload[0], TAG_STRING);
            assert_eq!(deserialize(&payload), Ok(string(bytes)));
        }
    }

    #[test]
    fn the_footer_holds_the_version_and_the_checksum() {
        let payload = serialize(&string(b"abc"));
        let footer_start = payload.len() - VERSION_BYTES - CHECKSUM_BYTES;
        assert_eq!(
            &payload[footer_start..footer_start + 2],
            &DUMP_FORMAT_VERSION.to_le_bytes()
        );
        let checksum = CHECKSUM.checksum(&payload[..payload.len() - CHECKSUM_BYTES]);
        assert_eq!(&payload[payload.len() - CHECKSUM_BYTES..], &checksum.to_le_bytes());
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let payload = serialize(&string(b"some value"));
        for index in 0..payload.len() {
            for bit in 0..8 {
                let mut corrupt = payload.clone();
                corrupt[index] ^= 1 << bit;
                assert_eq!(
                    deserialize(&corrupt),
                    Err(DumpError::VersionOrChecksum),
                    "byte {index} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn truncated_and_extended_payloads_are_refused() {
        let payload = serialize(&string(b"some value"));
        for length in 0..payload.len() {
            assert_eq!(
                deserialize(&payload[..length]),
                Err(DumpError::VersionOrChecksum),
                "length {length}"
            );
        }
        let mut extended = payload.clone();
        extended.push(0);
        assert_eq!(deserialize(&extended), Err(DumpError::VersionOrChecksum));
    }

    #[test]
    fn other_format_versions_are_refused() {
        let body = rmp_serde::to_vec(&SmallBytes::from_slice(b"v")).expect("serializes");
        assert_eq!(
            deserialize(&forge(TAG_STRING, &body, DUMP_FORMAT_VERSION)),
            Ok(string(b"v"))
        );
        assert_eq!(
            deserialize(&forge(TAG_STRING, &body, DUMP_FORMAT_VERSION + 1)),
            Err(DumpError::VersionOrChecksum)
        );
        assert_eq!(
            deserialize(&forge(TAG_STRING, &body, 0)),
            Err(DumpError::VersionOrChecksum)
        );
    }

    #[test]
    fn well_checksummed_garbage_is_a_bad_data_format() {
        let body = rmp_serde::to_vec(&SmallBytes::from_slice(b"v")).expect("serializes");
        // Unknown type tag.
        assert_eq!(
            deserialize(&forge(200, &body, DUMP_FORMAT_VERSION)),
            Err(DumpError::BadDataFormat)
        );
        // Bytes after the body.
        let mut trailing = body.clone();
        trailing.push(0);
        assert_eq!(
            deserialize(&forge(TAG_STRING, &trailing, DUMP_FORMAT_VERSION)),
            Err(DumpError::BadDataFormat)
        );
        // A body of the wrong MessagePack type (an integer, not a byte string).
        assert_eq!(
            deserialize(&forge(TAG_STRING, &[0x07, 0x00], DUMP_FORMAT_VERSION)),
            Err(DumpError::BadDataFormat)
        );
        // A `bin 32` whose length prefix claims 4 GiB: refused, not allocated.
        let forged_length = [0xc6, 0xff, 0xff, 0xff, 0xff, b'x'];
        assert_eq!(
            deserialize(&forge(TAG_STRING, &forged_length, DUMP_FORMAT_VERSION)),
            Err(DumpError::BadDataFormat)
        );
    }
}
