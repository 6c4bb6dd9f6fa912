//! Integer parsing and formatting shared by the decoders and the encoder.

/// Parses a decimal integer with the exact rules of Redis' `string2ll`.
///
/// Redis answers "invalid bulk length" and "invalid multibulk length" whenever this
/// parser refuses the text, so the rules are reproduced byte for byte:
/// - an optional `-` sign (a `+` is refused);
/// - then either the single digit `0` or a non-zero digit followed by digits, so leading
///   zeros (`01`) and `-0` are refused;
/// - nothing else: no spaces, no empty text, no overflow of `i64`.
pub(crate) fn parse_redis_integer(text: &[u8]) -> Option<i64> {
    if text == b"0" {
        return Some(0);
    }
    let (is_negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let (first_digit, other_digits) = digits.split_first()?;
    if !(b'1'..=b'9').contains(first_digit) {
        return None;
    }
    let mut magnitude = u64::from(first_digit - b'0');
    for &byte in other_digits {
        if !byte.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude.checked_mul(10)?.checked_add(u64::from(byte - b'0'))?;
    }
    if is_negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Largest decimal text of an `i64` or `u64`: `-9223372036854775808` is 20 bytes.
pub(crate) const INTEGER_TEXT_LEN_MAX: usize = 20;

/// Decimal text of an integer, formatted into a stack buffer without allocation.
pub(crate) struct IntegerText {
    digits: [u8; INTEGER_TEXT_LEN_MAX],
    start_index: usize,
}

impl IntegerText {
    pub(crate) fn from_u64(mut value: u64) -> IntegerText {
        let mut digits = [0u8; INTEGER_TEXT_LEN_MAX];
        let mut start_index = INTEGER_TEXT_LEN_MAX;
        // Write from the end so that no reversal is needed; the loop runs at least once
        // so that 0 prints as "0".
        loop {
            start_index -= 1;
            digits[start_index] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        IntegerText { digits, start_index }
    }

    pub(crate) fn from_i64(value: i64) -> IntegerText {
        // unsigned_abs handles i64::MIN, whose magnitude does not fit in an i64; its 19
        // digits plus the sign still fit in the 20-byte buffer.
        let mut text = IntegerText::from_u64(value.unsigned_abs());
        if value < 0 {
            text.start_index -= 1;
            text.digits[text.start_index] = b'-';
        }
        text
    }

    pub(crate) fn from_usize(value: usize) -> IntegerText {
        IntegerText::from_u64(value as u64)
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.digits[self.start_index..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_what_string2ll_accepts() {
        assert_eq!(parse_redis_integer(b"0"), Some(0));
        assert_eq!(parse_redis_integer(b"1"), Some(1));
        assert_eq!(parse_redis_integer(b"-1"), Some(-1));
        assert_eq!(parse_redis_integer(b"1234567"), Some(1234567));
        assert_eq!(parse_redis_integer(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_redis_integer(b"-9223372036854775808"), Some(i64::MIN));
    }

    #[test]
    fn parse_refuses_what_string2ll_refuses() {
        for text in [
            &b""[..],
            b"-",
            b"+1",
            b"01",
            b"-0",
            b"00",
            b" 1",
            b"1 ",
            b"abc",
            b"1a",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"99999999999999999999999",
        ] {
            assert_eq!(parse_redis_integer(text), None, "{text:?}");
        }
    }

    #[test]
    fn integer_text_formats_every_edge() {
        for value in [0i64, 1, -1, 9, 10, -10, 123456789, i64::MAX, i64::MIN] {
            assert_eq!(IntegerText::from_i64(value).as_bytes(), value.to_string().as_bytes());
        }
        assert_eq!(
            IntegerText::from_u64(u64::MAX).as_bytes(),
            u64::MAX.to_string().as_bytes()
        );
        assert_eq!(IntegerText::from_usize(42).as_bytes(), b"42");
    }
}
