//! Text of a double exactly as Redis 7.2 writes it in replies.
//!
//! Redis 7.2 `addReplyDouble` (RESP3 `,<text>` and RESP2 bulk alike) writes the text of
//! `d2string()` from `util.c`, which decides in this order:
//! 1. NaN, whatever its sign bit: `nan`.
//! 2. Infinities: `inf` and `-inf`.
//! 3. Zero: `0`, or `-0` for negative zero.
//! 4. An integral value inside `[-(LLONG_MAX / 2), LLONG_MAX / 2]` (that is ±2^62 once
//!    converted to a double): the plain integer (`ll2string`), e.g. `3`,
//!    `100000000000000000`.
//! 5. Anything else: `fpconv_dtoa()` (deps/fpconv, Grisu2). It produces `digits` with no
//!    leading zero and a decimal exponent `K` such that `value = digits * 10^K`, then
//!    `emit_digits` picks the layout with `exponent = |K + digit_count - 1|`:
//!    - `K >= 0` and `exponent < digit_count + 7`: digits followed by `K` zeros
//!      (`9223372036854776000` for 2^63);
//!    - `K < 0` and (`K > -7` or `exponent < 4`): a plain decimal, with `0.` and
//!      leading zeros when the value is below 1 (`0.1`, `1.5`, `0.000001`,
//!      `1234.5678901234567`);
//!    - otherwise scientific: first digit, then `.` and the other digits if any, then
//!      `e`, the exponent's sign (`+` or `-`) and the exponent in decimal without
//!      padding (`1e+20`, `1.5e+20`, `1e-7`, `1.2345678901234567e+4`, `5e-324`).
//!      fpconv cuts the mantissa to `18 - is_negative` digits, which never bites since
//!      a shortest representation has at most 17 digits.
//!
//! The digits come from Rust's shortest round-trip formatting (`{:e}`) instead of a
//! Grisu2 port. Both round-trip to the same double; they can differ only in the rare
//! cases (about 0.1% of doubles per Loitsch's paper) where Grisu2 without a fallback
//! emits one digit more than the shortest form. Replies there still parse back to the
//! same value.

use std::fmt::Write as _;

/// The longest text this module produces: `-` + 17 digits + `.` + `e-308` is 25 bytes;
/// the plain-integer layout is bounded by `digit_count + 7` digits and 2^62 < 10^19.
const DOUBLE_TEXT_LEN_MAX: usize = 32;

/// Text of a double, formatted into a stack buffer without allocation.
pub(crate) struct DoubleText {
    bytes: [u8; DOUBLE_TEXT_LEN_MAX],
    len: usize,
}

impl DoubleText {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn push(&mut self, byte: u8) {
        // The layouts above never exceed the buffer; dropping a byte instead of
        // panicking keeps a logic error from taking a server down.
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        }
    }

    fn push_slice(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.push(byte);
        }
    }

    fn push_zeros(&mut self, count: usize) {
        for _ in 0..count {
            self.push(b'0');
        }
    }
}

/// Redis 7.2's text for a double; see the module documentation for the rules.
///
/// `format_double(3.0) == "3"`, `format_double(0.1) == "0.1"`,
/// `format_double(1e20) == "1e+20"`, `format_double(f64::NAN) == "nan"`.
pub fn format_double(value: f64) -> String {
    String::from_utf8_lossy(double_text(value).as_bytes()).into_owned()
}

/// Same as [`format_double`] without allocating.
pub(crate) fn double_text(value: f64) -> DoubleText {
    let mut text = DoubleText {
        bytes: [0; DOUBLE_TEXT_LEN_MAX],
        len: 0,
    };
    if value.is_nan() {
        text.push_slice(b"nan");
        return text;
    }
    if value.is_infinite() {
        text.push_slice(if value < 0.0 { b"-inf" } else { b"inf" });
        return text;
    }
    if value == 0.0 {
        text.push_slice(if value.is_sign_negative() { b"-0" } else { b"0" });
        return text;
    }
    if let Some(integer) = integral_value_within_half_i64(value) {
        text.push_slice(crate::number::IntegerText::from_i64(integer).as_bytes());
        return text;
    }
    if value.is_sign_negative() {
        text.push(b'-');
    }
    let shortest = ShortestDigits::of(value.abs());
    emit_fpconv_layout(&mut text, &shortest);
    text
}

/// Redis' `double2ll`: the integer equal to `value` when `value` is integral and within
/// `±(LLONG_MAX / 2)`.
fn integral_value_within_half_i64(value: f64) -> Option<i64> {
    let bound = (i64::MAX / 2) as f64;
    if value < -bound || value > bound {
        return None;
    }
    // In range, so the conversion cannot saturate; equality proves it is integral.
    let integer = value as i64;
    (integer as f64 == value).then_some(integer)
}

/// Shortest round-trip decimal digits of a positive finite double:
/// `value = digits * 10^exponent_of_last_digit`.
struct ShortestDigits {
    digits: [u8; 24],
    digit_count: usize,
    exponent_of_last_digit: i32,
}

impl ShortestDigits {
    fn of(positive_value: f64) -> ShortestDigits {
        // `{:e}` prints the shortest digits that round-trip, as `d.ddddde-N` / `de+N`
        // without the plus sign, e.g. `1.5e20`, `1e-7`.
        let mut scientific = FixedText::default();
        let _ = write!(scientific, "{positive_value:e}");
        let text = scientific.as_bytes();
        let exponent_index = text
            .iter()
            .position(|&byte| byte == b'e')
            .unwrap_or(text.len());
        let (mantissa, exponent_text) = text.split_at(exponent_index);
        let first_digit_exponent = std::str::from_utf8(exponent_text.get(1..).unwrap_or(b""))
            .ok()
            .and_then(|exponent| exponent.parse::<i32>().ok())
            .unwrap_or(0);
        let mut shortest = ShortestDigits {
            digits: [0; 24],
            digit_count: 0,
            exponent_of_last_digit: 0,
        };
        for &byte in mantissa.iter().filter(|byte| byte.is_ascii_digit()) {
            if shortest.digit_count < shortest.digits.len() {
                shortest.digits[shortest.digit_count] = byte;
                shortest.digit_count += 1;
            }
        }
        // Shortest digits carry no trailing zero except a lone "0"; strip defensively so
        // the layout rules see the same digit count as fpconv.
        while shortest.digit_count > 1 && shortest.digits[shortest.digit_count - 1] == b'0' {
            shortest.digit_count -= 1;
        }
        shortest.exponent_of_last_digit = first_digit_exponent - (shortest.digit_count as i32 - 1);
        shortest
    }

    fn digits(&self) -> &[u8] {
        &self.digits[..self.digit_count]
    }
}

/// The three layouts of fpconv's `emit_digits`; see the module documentation.
fn emit_fpconv_layout(text: &mut DoubleText, shortest: &ShortestDigits) {
    let digits = shortest.digits();
    let digit_count = digits.len() as i32;
    let last_digit_exponent = shortest.exponent_of_last_digit;
    let first_digit_exponent = last_digit_exponent + digit_count - 1;
    let exponent_magnitude = first_digit_exponent.unsigned_abs() as i32;

    if last_digit_exponent >= 0 && exponent_magnitude < digit_count + 7 {
        text.push_slice(digits);
        text.push_zeros(last_digit_exponent as usize);
        return;
    }
    if last_digit_exponent < 0 && (last_digit_exponent > -7 || exponent_magnitude < 4) {
        let fraction_digit_count = last_digit_exponent.unsigned_abs() as usize;
        if fraction_digit_count >= digits.len() {
            text.push_slice(b"0.");
            text.push_zeros(fraction_digit_count - digits.len());
            text.push_slice(digits);
        } else {
            let (integer_part, fraction_part) = digits.split_at(digits.len() - fraction_digit_count);
            text.push_slice(integer_part);
            text.push(b'.');
            text.push_slice(fraction_part);
        }
        return;
    }
    let (first_digit, other_digits) = digits.split_at(1);
    text.push_slice(first_digit);
    if !other_digits.is_empty() {
        text.push(b'.');
        text.push_slice(other_digits);
    }
    text.push(b'e');
    text.push(if first_digit_exponent < 0 { b'-' } else { b'+' });
    text.push_slice(crate::number::IntegerText::from_i64(i64::from(exponent_magnitude)).as_bytes());
}

/// A `fmt::Write` sink on the stack, large enough for any `{:e}` of an f64.
#[derive(Default)]
struct FixedText {
    bytes: [u8; 32],
    len: usize,
}

impl FixedText {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl std::fmt::Write for FixedText {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        let end = self.len + text.len();
        let destination = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        destination.copy_from_slice(text.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn assert_text(value: f64, expected: &str) {
        assert_eq!(format_double(value), expected, "value {value:e}");
    }

    #[test]
    fn special_values() {
        assert_text(f64::NAN, "nan");
        assert_text(-f64::NAN, "nan");
        assert_text(f64::INFINITY, "inf");
        assert_text(f64::NEG_INFINITY, "-inf");
        assert_text(0.0, "0");
        assert_text(-0.0, "-0");
    }

    #[test]
    fn integral_values_use_plain_integers() {
        assert_text(3.0, "3");
        assert_text(-3.0, "-3");
        assert_text(1e15, "1000000000000000");
        assert_text(1e17, "100000000000000000");
        assert_text(1e18, "1000000000000000000");
        // 2^62 equals (double)(LLONG_MAX / 2), still inside double2ll's range.
        assert_text(4611686018427387904.0, "4611686018427387904");
    }

    #[test]
    fn plain_decimal_layout() {
        assert_text(0.1, "0.1");
        assert_text(1.5, "1.5");
        assert_text(-1.5, "-1.5");
        assert_text(3.14, "3.14");
        assert_text(0.000001, "0.000001");
        assert_text(0.000123, "0.000123");
        assert_text(1234567.125, "1234567.125");
        // K = -13 is below -7 but the exponent 3 is below 4, so still plain.
        assert_text(1234.5678901234567, "1234.5678901234567");
        assert_text(0.30000000000000004, "0.30000000000000004");
    }

    #[test]
    fn large_integral_values_beyond_double2ll() {
        // 2^63: digits 9223372036854776, K = 3, exponent 18 < 16 + 7.
        assert_text(9223372036854775808.0, "9223372036854776000");
        assert_text(5e18, "5e+18");
        assert_text(1e20, "1e+20");
        assert_text(1.5e20, "1.5e+20");
        assert_text(-1e21, "-1e+21");
    }

    #[test]
    fn scientific_layout() {
        assert_text(1e-7, "1e-7");
        assert_text(1.23e-7, "1.23e-7");
        assert_text(1e100, "1e+100");
        assert_text(1e300, "1e+300");
        assert_text(1e-300, "1e-300");
        assert_text(5e-324, "5e-324");
        assert_text(f64::MAX, "1.7976931348623157e+308");
        assert_text(f64::MIN_POSITIVE, "2.2250738585072014e-308");
        // K = -12 and exponent 4: neither plain rule applies, so fpconv switches to
        // scientific notation for a value that "looks" ordinary.
        assert_text(12345.678901234567, "1.2345678901234567e+4");
    }

    #[test]
    fn every_text_parses_back_to_the_same_double() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            // xorshift64: a deterministic spread over every exponent and mantissa.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let value = f64::from_bits(state);
            if !value.is_finite() {
                continue;
            }
            let text = format_double(value);
            let parsed: f64 = text.parse().expect("format_double output parses");
            assert_eq!(parsed.to_bits(), value.to_bits(), "{text}");
            assert!(text.len() <= 25, "{text}");
        }
    }
}
