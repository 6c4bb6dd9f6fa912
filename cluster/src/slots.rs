//! Slot sets and their compact published form.
//!
//! A node publishes the slots it claims in a gossip value. chitchat stops
//! propagating all of a node's updates if one value grows past about 65 KB,
//! so the encoding is bounded: ranges (`r:0-5460,5462`) while that is short,
//! else a fixed-size bitmap in hex (`b:` + 4096 characters), whichever is
//! smaller. The worst case is the bitmap: 4098 bytes.

use std::fmt;

pub const SLOT_COUNT: u16 = 16384;
const WORDS: usize = SLOT_COUNT as usize / 64;
/// Longest published encoding: the bitmap form.
pub const ENCODED_LEN_MAX: usize = 2 + SLOT_COUNT as usize / 4;

/// An inclusive range of slots, `start..=end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SlotRange {
    pub start: u16,
    pub end: u16,
}

impl SlotRange {
    pub fn new(start: u16, end: u16) -> SlotRange {
        assert!(start <= end && end < SLOT_COUNT, "invalid slot range {start}-{end}");
        SlotRange { start, end }
    }

    pub fn len(&self) -> usize {
        (self.end - self.start) as usize + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

impl fmt::Display for SlotRange {
    /// Redis's form: `5` for one slot, `0-5460` for a range.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(formatter, "{}", self.start)
        } else {
            write!(formatter, "{}-{}", self.start, self.end)
        }
    }
}

/// A set of slots, 2 KiB whatever it holds.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SlotSet {
    words: Box<[u64; WORDS]>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotSetDecodeError {
    #[error("unknown slot set encoding")]
    UnknownEncoding,
    #[error("invalid slot range '{0}'")]
    InvalidRange(String),
    #[error("invalid slot bitmap")]
    InvalidBitmap,
}

impl Default for SlotSet {
    fn default() -> Self {
        SlotSet::new()
    }
}

impl fmt::Debug for SlotSet {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ranges: Vec<String> = self.ranges().iter().map(ToString::to_string).collect();
        write!(formatter, "SlotSet[{}]", ranges.join(","))
    }
}

impl SlotSet {
    pub fn new() -> SlotSet {
        SlotSet {
            words: Box::new([0; WORDS]),
        }
    }

    pub fn full() -> SlotSet {
        SlotSet {
            words: Box::new([u64::MAX; WORDS]),
        }
    }

    pub fn from_ranges(ranges: &[SlotRange]) -> SlotSet {
        let mut set = SlotSet::new();
        for range in ranges {
            for slot in range.start..=range.end {
                set.insert(slot);
            }
        }
        set
    }

    /// Adds `slot`; returns false if it was already present.
    pub fn insert(&mut self, slot: u16) -> bool {
        assert!(slot < SLOT_COUNT);
        let (word, bit) = (slot as usize / 64, slot % 64);
        let was_present = self.words[word] & (1 << bit) != 0;
        self.words[word] |= 1 << bit;
        !was_present
    }

    /// Removes `slot`; returns false if it was absent.
    pub fn remove(&mut self, slot: u16) -> bool {
        assert!(slot < SLOT_COUNT);
        let (word, bit) = (slot as usize / 64, slot % 64);
        let was_present = self.words[word] & (1 << bit) != 0;
        self.words[word] &= !(1 << bit);
        was_present
    }

    pub fn contains(&self, slot: u16) -> bool {
        slot < SLOT_COUNT && self.words[slot as usize / 64] & (1 << (slot % 64)) != 0
    }

    pub fn len(&self) -> usize {
        self.words.iter().map(|word| word.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&word| word == 0)
    }

    /// The slots in ascending order; skips empty words, so a sparse set
    /// costs little to walk.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.words.iter().enumerate().flat_map(|(index, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros() as u16;
                rest &= rest - 1;
                Some(index as u16 * 64 + bit)
            })
        })
    }

    /// The set as maximal ascending ranges.
    pub fn ranges(&self) -> Vec<SlotRange> {
        let mut ranges: Vec<SlotRange> = Vec::new();
        for slot in self.iter() {
            match ranges.last_mut() {
                Some(last) if last.end + 1 == slot => last.end = slot,
                _ => ranges.push(SlotRange::new(slot, slot)),
            }
        }
        ranges
    }

    /// The compact published form (see the module comment); never longer
    /// than `ENCODED_LEN_MAX`.
    pub fn encode(&self) -> String {
        let ranges: Vec<String> = self.ranges().iter().map(ToString::to_string).collect();
        let range_form = format!("r:{}", ranges.join(","));
        if range_form.len() <= ENCODED_LEN_MAX {
            return range_form;
        }
        let mut bitmap_form = String::with_capacity(ENCODED_LEN_MAX);
        bitmap_form.push_str("b:");
        for word in self.words.iter() {
            bitmap_form.push_str(&format!("{word:016x}"));
        }
        debug_assert_eq!(bitmap_form.len(), ENCODED_LEN_MAX);
        bitmap_form
    }

    pub fn decode(text: &str) -> Result<SlotSet, SlotSetDecodeError> {
        if let Some(ranges) = text.strip_prefix("r:") {
            let mut set = SlotSet::new();
            for item in ranges.split(',').filter(|item| !item.is_empty()) {
                let range = parse_range(item).ok_or_else(|| SlotSetDecodeError::InvalidRange(item.to_string()))?;
                for slot in range.start..=range.end {
                    set.insert(slot);
                }
            }
            return Ok(set);
        }
        if let Some(hex) = text.strip_prefix("b:") {
            if hex.len() != WORDS * 16 || !hex.is_ascii() {
                return Err(SlotSetDecodeError::InvalidBitmap);
            }
            let mut set = SlotSet::new();
            for (index, chunk) in hex.as_bytes().chunks(16).enumerate() {
                let chunk = std::str::from_utf8(chunk).map_err(|_| SlotSetDecodeError::InvalidBitmap)?;
                set.words[index] = u64::from_str_radix(chunk, 16).map_err(|_| SlotSetDecodeError::InvalidBitmap)?;
            }
            return Ok(set);
        }
        Err(SlotSetDecodeError::UnknownEncoding)
    }
}

/// Parses `5` or `0-5460` (inclusive, within 0..16384).
pub fn parse_range(text: &str) -> Option<SlotRange> {
    let (start, end) = match text.split_once('-') {
        Some((start, end)) => (start.parse().ok()?, end.parse().ok()?),
        None => {
            let slot = text.parse().ok()?;
            (slot, slot)
        }
    };
    (start <= end && end < SLOT_COUNT).then(|| SlotRange::new(start, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ranges_render_like_redis() {
        let set = SlotSet::from_ranges(&[SlotRange::new(0, 5460), SlotRange::new(7000, 7000)]);
        assert_eq!(set.len(), 5462);
        assert_eq!(set.encode(), "r:0-5460,7000");
        assert_eq!(SlotSet::decode("r:0-5460,7000").unwrap(), set);
        assert_eq!(SlotSet::decode("r:").unwrap(), SlotSet::new());
    }

    #[test]
    fn fragmented_sets_fall_back_to_a_bounded_bitmap() {
        let mut every_other = SlotSet::new();
        for slot in (0..SLOT_COUNT).step_by(2) {
            every_other.insert(slot);
        }
        let encoded = every_other.encode();
        assert!(encoded.starts_with("b:"));
        assert_eq!(encoded.len(), ENCODED_LEN_MAX);
        assert_eq!(SlotSet::decode(&encoded).unwrap(), every_other);
    }

    #[test]
    fn bad_encodings_are_refused() {
        assert!(SlotSet::decode("x:1").is_err());
        assert!(SlotSet::decode("r:5-1").is_err());
        assert!(SlotSet::decode("r:16384").is_err());
        assert!(SlotSet::decode("b:00").is_err());
    }

    proptest! {
        #[test]
        fn any_set_round_trips_within_the_size_bound(slots in proptest::collection::vec(0u16..SLOT_COUNT, 0..3000)) {
            let mut set = SlotSet::new();
            for slot in slots {
                set.insert(slot);
            }
            let encoded = set.encode();
            prop_assert!(encoded.len() <= ENCODED_LEN_MAX);
            prop_assert_eq!(SlotSet::decode(&encoded).unwrap(), set);
        }

        #[test]
        fn iteration_yields_exactly_the_members_in_order(slots in proptest::collection::vec(0u16..SLOT_COUNT, 0..3000)) {
            let mut set = SlotSet::new();
            for &slot in &slots {
                set.insert(slot);
            }
            let walked: Vec<u16> = set.iter().collect();
            let expected: Vec<u16> = (0..SLOT_COUNT).filter(|&slot| set.contains(slot)).collect();
            prop_assert_eq!(walked, expected);
        }
    }
}
