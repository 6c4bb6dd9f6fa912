//! `LongDouble`: the x87 80-bit extended float that Redis's INCRBYFLOAT
//! computes with on x86-64 (C `long double`), emulated in software.
//!
//! Why emulate: INCRBYFLOAT replies with the text of a `long double`
//! (`printf("%.17Lf")` with the trailing zeros removed), so `10.5 + 0.1`
//! answers `10.6` where an f64 sum would print `10.59999999999999964`.
//! Producing the same bytes takes the same precision and the same correctly
//! rounded conversions that glibc's `strtold` and `printf` perform:
//! - a value is `significand * 2^exponent` with a 64-bit significand;
//!   subnormals go down to 2^-16445 and values of 2^16384 and up overflow;
//! - parsing, addition and formatting each compute the exact result with big
//!   integers, then round once, to nearest with ties to even.
//!
//! `parse_redis_float` follows Redis's `string2ld` (which wraps `strtold`),
//! `checked_add` is the `long double` sum, and `redis_human_text` is
//! `ld2string(.., LD_STR_HUMAN)`.

use num_bigint::{BigInt, BigUint, Sign};

/// Bits in the significand, the explicit integer bit included.
const SIGNIFICAND_BITS: i64 = 64;
/// The exponent of the smallest subnormal, 2^-16445.
const EXPONENT_MIN: i64 = -16445;
/// Values at or above 2^16384 overflow to infinity.
const MAGNITUDE_BITS_MAX: i64 = 16384;
/// Redis refuses float arguments this long or longer (`MAX_LONG_DOUBLE_CHARS`).
const TEXT_LEN_MAX: usize = 5 * 1024;
/// Digits after the decimal point in `%.17Lf`.
const FRACTION_DIGITS: u32 = 17;

/// A finite `long double`: `(-1)^negative * significand * 2^exponent`.
///
/// Canonical form: the significand's top bit is set unless the value is
/// subnormal or zero, in which case the exponent is `EXPONENT_MIN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongDouble {
    negative: bool,
    significand: u64,
    exponent: i32,
}

/// What parsing a float argument can give besides a finite value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParsedFloat {
    Finite(LongDouble),
    /// `inf`, `+infinity`, `-INF`...: accepted by `strtold`, but any sum
    /// with it is infinite or NaN, which INCRBYFLOAT refuses.
    Infinite,
}

impl LongDouble {
    pub const ZERO: LongDouble = LongDouble {
        negative: false,
        significand: 0,
        exponent: EXPONENT_MIN as i32,
    };

    /// The value of an exact `(-1)^negative * magnitude * 2^exponent` (plus
    /// something smaller than the lowest bit of `magnitude` when
    /// `inexact_below` is set), rounded to nearest, ties to even. None if it
    /// overflows.
    fn round_from(negative: bool, magnitude: &BigUint, exponent: i64, inexact_below: bool) -> Option<LongDouble> {
        let bit_length = magnitude.bits() as i64;
        if bit_length == 0 {
            debug_assert!(!inexact_below, "an inexact value needs its leading bits");
            return Some(LongDouble {
                negative,
                ..LongDouble::ZERO
            });
        }
        // Keep 64 bits, or fewer when the value is subnormal. A negative shift
        // normalizes a short magnitude to the left.
        let shift = (bit_length - SIGNIFICAND_BITS).max(EXPONENT_MIN - exponent);
        let mut result_exponent = exponent + shift;
        let significand = if shift <= 0 {
            let shifted = magnitude << (-shift) as u64;
            u64::try_from(&shifted).expect("a normalized magnitude fits in 64 bits")
        } else {
            let shift = shift as u64;
            let kept = magnitude >> shift;
            let mut significand = u64::try_from(&kept).expect("at most 64 bits are kept");
            let round_bit = magnitude.bit(shift - 1);
            let sticky = inexact_below || magnitude.trailing_zeros().is_some_and(|zeros| zeros < shift - 1);
            if round_bit && (sticky || significand & 1 == 1) {
                match significand.checked_add(1) {
                    Some(rounded) => significand = rounded,
                    None => {
                        significand = 1 << 63;
                        result_exponent += 1;
                    }
                }
            }
            significand
        };
        if significand == 0 {
            return Some(LongDouble {
                negative,
                ..LongDouble::ZERO
            });
        }
        let magnitude_bits = (64 - significand.leading_zeros()) as i64 + result_exponent;
        if magnitude_bits > MAGNITUDE_BITS_MAX {
            return None;
        }
        debug_assert!(result_exponent >= EXPONENT_MIN);
        debug_assert!(
            significand >> 63 == 1 || result_exponent == EXPONENT_MIN,
            "canonical form"
        );
        Some(LongDouble {
            negative,
            significand,
            exponent: result_exponent as i32,
        })
    }

    pub fn is_zero(&self) -> bool {
        self.significand == 0
    }

    /// The correctly rounded sum, or None if it overflows to infinity.
    pub fn checked_add(self, other: LongDouble) -> Option<LongDouble> {
        let exponent = self.exponent.min(other.exponent) as i64;
        let signed = |value: LongDouble| {
            let magnitude = BigUint::from(value.significand) << (value.exponent as i64 - exponent) as u64;
            BigInt::from_biguint(if value.negative { Sign::Minus } else { Sign::Plus }, magnitude)
        };
        let sum = signed(self) + signed(other);
        if sum.bits() == 0 {
            // IEEE 754: an exact zero sum is +0 unless both operands are -0.
            return Some(LongDouble {
                negative: self.negative && other.negative,
                ..LongDouble::ZERO
            });
        }
        LongDouble::round_from(sum.sign() == Sign::Minus, sum.magnitude(), exponent, false)
    }

    /// Redis's `ld2string(.., LD_STR_HUMAN)`: `%.17Lf`, then the trailing
    /// zeros and a trailing `.` removed, and `-0` written `0`.
    pub fn redis_human_text(&self) -> String {
        let mut text = String::new();
        if self.negative {
            text.push('-');
        }
        let magnitude = BigUint::from(self.significand);
        let fraction_scale = BigUint::from(10u32).pow(FRACTION_DIGITS);
        // The value times 10^17, rounded to an integer as printf rounds its last digit.
        let scaled = if self.exponent >= 0 {
            (magnitude << self.exponent as u64) * &fraction_scale
        } else {
            let exact = magnitude * &fraction_scale;
            let shift = (-self.exponent) as u64;
            let mut rounded = &exact >> shift;
            let round_bit = exact.bit(shift - 1);
            let sticky = exact.trailing_zeros().is_some_and(|zeros| zeros < shift - 1);
            if round_bit && (sticky || rounded.bit(0)) {
                rounded += 1u32;
            }
            rounded
        };
        let integer_part = &scaled / &fraction_scale;
        let fraction_part = u64::try_from(&(&scaled % &fraction_scale)).expect("below 10^17");
        text.push_str(&integer_part.to_string());
        text.push_str(&format!(".{fraction_part:017}"));
        let trimmed_len = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(trimmed_len);
        if text == "-0" {
            text.remove(0);
        }
        text
    }
}

/// Parses a float argument as Redis's `string2ld` does: the whole argument
/// must be what `strtold` reads (decimal or `0x` hexadecimal, optional sign
/// and exponent, `inf`/`infinity`), with no leading space, no NaN, and
/// neither overflow nor underflow to zero (a subnormal result is fine).
pub fn parse_redis_float(argument: &[u8]) -> Option<ParsedFloat> {
    if argument.is_empty() || argument.len() >= TEXT_LEN_MAX {
        return None;
    }
    // Redis hands `strtold` a C string, which ends at the first NUL byte.
    let text = match argument.iter().position(|&byte| byte == 0) {
        Some(end) => &argument[..end],
        None => argument,
    };
    let Some(&first) = text.first() else {
        // `strtold("")` converts nothing and leaves the end pointer on the
        // NUL, which Redis takes as a complete parse of 0.
        return Some(ParsedFloat::Finite(LongDouble::ZERO));
    };
    if is_c_space(first) {
        return None;
    }
    let (negative, body) = match first {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(ParsedFloat::Infinite);
    }
    let exact = if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        parse_hexadecimal(&body[2..])?
    } else {
        parse_decimal(body)?
    };
    exact.round(negative).map(ParsedFloat::Finite)
}

/// C's `isspace` in the "C" locale.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// An exact parsed magnitude, `digits * radix^exponent`.
struct ExactNumber {
    digits: BigUint,
    exponent: i64,
    radix_is_two: bool,
}

impl ExactNumber {
    /// Rounds to a `long double`; None on overflow or underflow to zero,
    /// where `strtold` sets ERANGE and Redis refuses the argument.
    fn round(self, negative: bool) -> Option<LongDouble> {
        if self.digits.bits() == 0 {
            return Some(LongDouble {
                negative,
                ..LongDouble::ZERO
            });
        }
        let value = if self.radix_is_two {
            round_binary(negative, &self.digits, self.exponent)?
        } else {
            round_decimal(negative, &self.digits, self.exponent)?
        };
        (!value.is_zero()).then_some(value)
    }
}

/// `digits * 2^exponent`, with the exponent range checked before any big
/// shift is attempted.
fn round_binary(negative: bool, digits: &BigUint, exponent: i64) -> Option<LongDouble> {
    let top_bit = digits.bits() as i64 + exponent;
    if top_bit > MAGNITUDE_BITS_MAX + 1 {
        return None;
    }
    if top_bit < EXPONENT_MIN - 1 {
        // Below half the smallest subnormal: rounds to zero.
        return Some(LongDouble {
            negative,
            ..LongDouble::ZERO
        });
    }
    LongDouble::round_from(negative, digits, exponent, false)
}

/// `digits * 10^exponent`. Values of 10^4933 and above overflow (the largest
/// `long double` is about 1.19e4932); values below 10^-4952 round to zero (the
/// smallest subnormal is about 3.65e-4951). Those bounds only spare big
/// computations: the exact rounding below decides the values near them.
fn round_decimal(negative: bool, digits: &BigUint, exponent: i64) -> Option<LongDouble> {
    // Within one of the true digit count, which is all the bounds need.
    let digit_count_estimate = (digits.bits() as f64 * std::f64::consts::LOG10_2) as i64 + 1;
    let leading_power_at_least = exponent + digit_count_estimate - 2;
    let power_above_at_most = exponent + digit_count_estimate + 1;
    if leading_power_at_least >= 4933 {
        return None;
    }
    if power_above_at_most <= -4952 {
        return Some(LongDouble {
            negative,
            ..LongDouble::ZERO
        });
    }
    if exponent >= 0 {
        let exact = digits * BigUint::from(10u32).pow(exponent as u32);
        return LongDouble::round_from(negative, &exact, 0, false);
    }
    // Divide by 10^-exponent with enough quotient bits (at least 66) that the
    // remainder only matters as a sticky bit.
    let divisor = BigUint::from(10u32).pow((-exponent) as u32);
    let shift = (divisor.bits() as i64 - digits.bits() as i64 + SIGNIFICAND_BITS + 3).max(0);
    let numerator = digits << shift as u64;
    let quotient = &numerator / &divisor;
    let inexact = (&quotient * &divisor) != numerator;
    LongDouble::round_from(negative, &quotient, -shift, inexact)
}

/// Digits with an optional point, at least one digit in all; then an optional
/// exponent marker followed by an optionally signed decimal exponent.
/// Returns the digits (point removed), the count of digits after the point,
/// and the exponent; None unless the whole text is consumed.
fn split_number(text: &[u8], is_digit: fn(u8) -> bool, exponent_marker: u8) -> Option<(Vec<u8>, i64, i64)> {
    let mut digits = Vec::with_capacity(text.len());
    let mut fraction_digits = 0i64;
    let mut seen_point = false;
    let mut index = 0;
    while index < text.len() {
        let byte = text[index];
        if is_digit(byte) {
            digits.push(byte);
            fraction_digits += seen_point as i64;
        } else if byte == b'.' && !seen_point {
            seen_point = true;
        } else {
            break;
        }
        index += 1;
    }
    if digits.is_empty() {
        return None;
    }
    let mut exponent = 0i64;
    if index < text.len() {
        if text[index] | 0x20 != exponent_marker {
            return None;
        }
        exponent = parse_exponent(&text[index + 1..])?;
    }
    Some((digits, fraction_digits, exponent))
}

/// A signed decimal exponent, saturated far outside any finite range.
fn parse_exponent(text: &[u8]) -> Option<i64> {
    const SATURATION: i64 = 1 << 40;
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits.iter().fold(0i64, |value, digit| {
        (value * 10 + (digit - b'0') as i64).min(SATURATION)
    });
    Some(if negative { -magnitude } else { magnitude })
}

fn parse_decimal(text: &[u8]) -> Option<ExactNumber> {
    let (digits, fraction_digits, exponent) = split_number(text, |byte| byte.is_ascii_digit(), b'e')?;
    let digits = BigUint::parse_bytes(&digits, 10)?;
    Some(ExactNumber {
        digits,
        exponent: exponent - fraction_digits,
        radix_is_two: false,
    })
}

fn parse_hexadecimal(text: &[u8]) -> Option<ExactNumber> {
    let (digits, fraction_digits, exponent) = split_number(text, |byte| byte.is_ascii_hexdigit(), b'p')?;
    let digits = BigUint::parse_bytes(&digits, 16)?;
    Some(ExactNumber {
        digits,
        exponent: exponent - 4 * fraction_digits,
        radix_is_two: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_finite(text: &str) -> LongDouble {
        match parse_redis_float(text.as_bytes()) {
            Some(ParsedFloat::Finite(value)) => value,
            other => panic!("{text:?} parsed as {other:?}"),
        }
    }

    /// INCRBYFLOAT as Redis computes it: None where Redis replies an error.
    fn increment(start: Option<&str>, increment: &str) -> Option<String> {
        let start = start.map_or(LongDouble::ZERO, parse_finite);
        match parse_redis_float(increment.as_bytes())? {
            ParsedFloat::Finite(value) => start.checked_add(value).map(|sum| sum.redis_human_text()),
            ParsedFloat::Infinite => None,
        }
    }

    /// (stored value or none, increment, reply) observed on redis-server 7 (x86-64).
    const REDIS_VECTORS: &[(Option<&str>, &str, Option<&str>)] = &[
        (Some("10.5"), "0.1", Some("10.6")),
        (None, "3.0e3", Some("3000")),
        (None, "0.1", Some("0.1")),
        (Some("0.1"), "0.2", Some("0.3")),
        (None, "1.23456789012345678901", Some("1.23456789012345679")),
        (None, "-0.0", Some("0")),
        (None, "0x10p0", Some("16")),
        (None, "0x1.8p1", Some("3")),
        (None, "0X.8", Some("0.5")),
        (None, "1e-20", Some("0")),
        (None, "5e-18", Some("0")),
        (None, "5.000001e-18", Some("0.00000000000000001")),
        (None, "-5.000001e-18", Some("-0.00000000000000001")),
        (None, "0.000003814697265625", Some("0.00000381469726562")),
        (None, "123456789012345675", Some("123456789012345675")),
        (None, "1.0e18", Some("1000000000000000000")),
        (None, "9223372036854775807", Some("9223372036854775807")),
        (None, "18446744073709551615", Some("18446744073709551615")),
        (None, "18446744073709551617", Some("18446744073709551616")),
        (None, "36893488147419103233", Some("36893488147419103232")),
        (Some("1"), "-1", Some("0")),
        (None, "1.", Some("1")),
        (None, ".5", Some("0.5")),
        (None, "+.5e+1", Some("5")),
        (None, "5E-1", Some("0.5")),
        (None, "2.5e-16445", None),
        (None, "3.6451995318824746e-4951", Some("0")),
        (Some("5"), "3.3333333333333333333", Some("8.33333333333333333")),
        (Some("-3.3"), "1.1", Some("-2.2")),
        (Some("1e10"), "1e-10", Some("10000000000")),
        (None, "0.30000000000000004", Some("0.30000000000000004")),
        (Some("0.5"), "0x1p-70", Some("0.5")),
        (None, "0x1p-16445", Some("0")),
        (None, "0x1p-16446", None),
        (None, "0x3p-16447", Some("0")),
        (None, "1e-4951", None),
        (None, "1e5000", None),
        (None, "00000000000000000000000000000000001.5", Some("1.5")),
        (None, "1.000000000000000000000000000000000000000000000000001", Some("1")),
        (None, "0.99999999999999999999", Some("1")),
        (None, "inf", None),
        (None, "nan", None),
        (None, " 1", None),
        (None, "1 ", None),
        (None, "1e", None),
        (None, "0x", None),
        (None, "-", None),
        (None, ".", None),
        (None, "abc", None),
        (None, "", None),
    ];

    #[test]
    fn matches_redis_replies() {
        for &(start, step, expected) in REDIS_VECTORS {
            assert_eq!(increment(start, step).as_deref(), expected, "{start:?} + {step:?}");
        }
    }

    #[test]
    fn large_values_print_every_integer_digit() {
        let expected_1e308_doubled = "199999999999999999993371759311691291321120199694831134415594095989843469737676123744200253843777078640893494450108026446304269499187921167194841628860392837535918200039206381557326219209014213335878306791577877829121087126122536729803237260434173178506889763247582601711514636284849020905456510092687857156096";
        assert_eq!(
            increment(Some("1e308"), "1e308").as_deref(),
            Some(expected_1e308_doubled)
        );
        let near_max = increment(None, "1.18973149535723176502e+4932").expect("finite");
        assert_eq!(near_max.len(), 4933);
        assert!(near_max.starts_with("1189731495357231765021263853030970205169"));
        assert!(near_max.ends_with("8849149662444156604419552086811989770240"));
        // Within half an ulp of the largest value: rounds down to it.
        assert_eq!(increment(None, "1.18973149535723176503e+4932"), Some(near_max));
        assert_eq!(
            increment(Some("1.18973149535723176502e+4932"), "1.18973149535723176502e+4932"),
            None,
            "overflow"
        );
        assert_eq!(
            increment(None, "1.1897314953572317651e+4932"),
            None,
            "parses to infinity"
        );
    }

    #[test]
    fn nul_ends_the_argument_like_a_c_string() {
        assert_eq!(increment(None, "1.5\0junk").as_deref(), Some("1.5"));
        assert_eq!(increment(Some("\0"), "2").as_deref(), Some("2"));
    }

    #[test]
    fn overlong_arguments_are_refused() {
        let long = format!("1.{}", "0".repeat(TEXT_LEN_MAX));
        assert_eq!(parse_redis_float(long.as_bytes()), None);
        let just_fits = format!("1.{}", "0".repeat(TEXT_LEN_MAX - 3));
        assert!(parse_redis_float(just_fits.as_bytes()).is_some());
    }

    #[test]
    fn infinity_spellings_parse_but_cannot_be_incremented() {
        for text in ["inf", "-INF", "+Infinity", "infinity"] {
            assert_eq!(
                parse_redis_float(text.as_bytes()),
                Some(ParsedFloat::Infinite),
                "{text}"
            );
        }
        for text in ["infin", "nan", "NaN(1)", "-nan"] {
            assert_eq!(parse_redis_float(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn sums_are_exactly_rounded() {
        let one = parse_finite("1");
        let tiny = parse_finite("0x1p-64");
        // 1 + 2^-64 is a tie between 1 and 1 + 2^-63: ties go to the even significand, 1.
        assert_eq!(one.checked_add(tiny), Some(one));
        let just_above_half_ulp = parse_finite("0x1.0000000000000002p-64");
        assert_eq!(
            one.checked_add(just_above_half_ulp),
            Some(parse_finite("0x1.0000000000000002p0"))
        );
        assert_eq!(one.checked_add(parse_finite("-1")), Some(LongDouble::ZERO));
    }
}
