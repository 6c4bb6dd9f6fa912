//! Parsing of scores, score ranges and lex ranges exactly as Redis's C code
//! does, on top of a faithful `strtod`, plus the `%.17g` text ZSCAN shows for
//! the scores of a skiplist.
//!
//! Redis reads numbers in two ways that differ at the edges:
//! - scores, increments and weights (`string2d`): the whole argument must be
//!   a number, no leading space, no NaN, and no overflow to ±inf or underflow
//!   to zero (`1e500` and `1e-400` are refused);
//! - range bounds (`zslParseRange`): plain `strtod` after an optional `(`, so
//!   leading spaces, overflow and even an empty bound (0) are accepted.
//!
//! Both accept what `strtod` accepts: decimal and hexadecimal (`0x1p3`)
//! numbers and `inf`/`infinity` in any case.

/// What `strtod` read from the start of `bytes`.
struct Strtod {
    value: f64,
    /// Bytes consumed, leading white space included; 0 when nothing was
    /// converted (C sets `endptr` back to the start).
    consumed: usize,
    /// C's `errno == ERANGE`: the result overflowed or underflowed.
    out_of_range: bool,
}

fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn starts_with_ignore_case(bytes: &[u8], prefix: &[u8]) -> bool {
    bytes.len() >= prefix.len() && bytes[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn count_while(bytes: &[u8], predicate: impl Fn(u8) -> bool) -> usize {
    bytes.iter().take_while(|&&byte| predicate(byte)).count()
}

/// C's `strtod` on a byte string (which, to C, ends at the first NUL).
fn strtod(bytes: &[u8]) -> Strtod {
    let nothing = Strtod {
        value: 0.0,
        consumed: 0,
        out_of_range: false,
    };
    let bytes = bytes.split(|&byte| byte == 0).next().unwrap_or_default();
    let mut index = count_while(bytes, is_c_space);
    let negative = match bytes.get(index) {
        Some(b'-') => {
            index += 1;
            true
        }
        Some(b'+') => {
            index += 1;
            false
        }
        _ => false,
    };
    let sign = if negative { -1.0 } else { 1.0 };
    let rest = &bytes[index..];
    if starts_with_ignore_case(rest, b"inf") {
        let length = if starts_with_ignore_case(rest, b"infinity") {
            8
        } else {
            3
        };
        return Strtod {
            value: sign * f64::INFINITY,
            consumed: index + length,
            out_of_range: false,
        };
    }
    if starts_with_ignore_case(rest, b"nan") {
        let mut length = 3;
        if rest.get(3) == Some(&b'(') {
            let inner = count_while(&rest[4..], |byte| byte.is_ascii_alphanumeric() || byte == b'_');
            if rest.get(4 + inner) == Some(&b')') {
                length = 5 + inner;
            }
        }
        return Strtod {
            value: f64::NAN,
            consumed: index + length,
            out_of_range: false,
        };
    }
    if starts_with_ignore_case(rest, b"0x") {
        if let Some(hex) = strtod_hex(&rest[2..]) {
            let magnitude = hex.value;
            return Strtod {
                value: sign * magnitude,
                consumed: index + 2 + hex.consumed,
                out_of_range: hex.out_of_range,
            };
        }
        // "0x" with no hex digits after it: only the "0" converts.
        return Strtod {
            value: sign * 0.0,
            consumed: index + 1,
            out_of_range: false,
        };
    }
    let integer_digits = count_while(rest, |byte| byte.is_ascii_digit());
    let mut length = integer_digits;
    let mut fraction_digits = 0;
    if rest.get(length) == Some(&b'.') {
        fraction_digits = count_while(&rest[length + 1..], |byte| byte.is_ascii_digit());
        length += 1 + fraction_digits;
    }
    if integer_digits + fraction_digits == 0 {
        return nothing;
    }
    let mantissa_length = length;
    if matches!(rest.get(length), Some(b'e' | b'E')) {
        let mut exponent_length = 1;
        if matches!(rest.get(length + 1), Some(b'+' | b'-')) {
            exponent_length += 1;
        }
        let exponent_digits = count_while(&rest[length + exponent_length..], |byte| byte.is_ascii_digit());
        if exponent_digits > 0 {
            length += exponent_length + exponent_digits;
        }
    }
    let text = std::str::from_utf8(&rest[..length]).expect("ASCII digits, dot and exponent");
    let magnitude: f64 = text.parse().unwrap_or(0.0);
    let has_nonzero_digit = rest[..mantissa_length]
        .iter()
        .any(|&byte| (b'1'..=b'9').contains(&byte));
    let out_of_range = magnitude.is_infinite() || (magnitude == 0.0 && has_nonzero_digit);
    Strtod {
        value: sign * magnitude,
        consumed: index + length,
        out_of_range,
    }
}

/// The part of a hexadecimal float after `0x`: hex digits, an optional
/// fraction and an optional binary exponent `p[+-]digits`. None when there is
/// no hex digit at all.
fn strtod_hex(bytes: &[u8]) -> Option<Strtod> {
    /// Hex digits kept in the mantissa; the rest only adjust the exponent
    /// (and a sticky bit, so rounding still sees them).
    const MANTISSA_DIGITS_MAX: usize = 30;
    let mut mantissa: u128 = 0;
    let mut kept_digits = 0usize;
    let mut exponent: i64 = 0;
    let mut sticky = false;
    let mut any_digit = false;
    let mut index = 0;
    let mut seen_point = false;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'.' && !seen_point {
            seen_point = true;
            index += 1;
            continue;
        }
        let Some(digit) = (byte as char).to_digit(16) else {
            break;
        };
        any_digit = true;
        if mantissa == 0 && digit == 0 {
            if seen_point {
                exponent -= 4;
            }
        } else if kept_digits < MANTISSA_DIGITS_MAX {
            mantissa = (mantissa << 4) | digit as u128;
            kept_digits += 1;
            if seen_point {
                exponent -= 4;
            }
        } else {
            sticky |= digit != 0;
            if !seen_point {
                exponent += 4;
            }
        }
        index += 1;
    }
    if !any_digit {
        return None;
    }
    if matches!(bytes.get(index), Some(b'p' | b'P')) {
        let mut exponent_index = index + 1;
        let exponent_negative = match bytes.get(exponent_index) {
            Some(b'-') => {
                exponent_index += 1;
                true
            }
            Some(b'+') => {
                exponent_index += 1;
                false
            }
            _ => false,
        };
        let digits = count_while(&bytes[exponent_index..], |byte| byte.is_ascii_digit());
        if digits > 0 {
            let written: i64 = bytes[exponent_index..exponent_index + digits]
                .iter()
                .fold(0i64, |total, &digit| {
                    total.saturating_mul(10).saturating_add((digit - b'0') as i64)
                });
            exponent = exponent.saturating_add(if exponent_negative { -written } else { written });
            index = exponent_index + digits;
        }
    }
    if sticky {
        mantissa |= 1;
    }
    let magnitude = if mantissa == 0 {
        0.0
    } else {
        scale_by_power_of_two(mantissa as f64, exponent)
    };
    Some(Strtod {
        value: magnitude,
        consumed: index,
        out_of_range: magnitude.is_infinite() || (magnitude == 0.0 && mantissa != 0),
    })
}

/// `value * 2^exponent` without intermediate overflow or underflow.
fn scale_by_power_of_two(mut value: f64, exponent: i64) -> f64 {
    let mut remaining = exponent.clamp(-4000, 4000);
    while remaining > 0 {
        let step = remaining.min(1000);
        value *= 2f64.powi(step as i32);
        remaining -= step;
    }
    while remaining < 0 {
        let step = remaining.max(-1000);
        value *= 2f64.powi(step as i32);
        remaining -= step;
    }
    value
}

/// A score, increment or weight, as Redis's `string2d` reads it. None for
/// anything Redis answers "not a valid float" to.
pub fn parse_score(bytes: &[u8]) -> Option<f64> {
    if bytes.is_empty() || is_c_space(bytes[0]) {
        return None;
    }
    // The common case, a plain decimal number, skips the C emulation.
    if bytes.len() <= 24
        && bytes
            .iter()
            .all(|&byte| byte.is_ascii_digit() || byte == b'.' || byte == b'-')
    {
        let text = std::str::from_utf8(bytes).expect("ASCII");
        if let Ok(value) = text.parse::<f64>() {
            if value.is_finite() && (value != 0.0 || !text.bytes().any(|byte| (b'1'..=b'9').contains(&byte))) {
                return Some(value);
            }
        }
    }
    let parsed = strtod(bytes);
    let underflow_or_overflow = parsed.out_of_range && (parsed.value.is_infinite() || parsed.value == 0.0);
    if parsed.consumed != bytes.len() || underflow_or_overflow || parsed.value.is_nan() {
        return None;
    }
    Some(parsed.value)
}

/// One end of a score range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreBound {
    pub value: f64,
    pub exclusive: bool,
}

/// `min max` of ZRANGEBYSCORE, ZCOUNT, ZREMRANGEBYSCORE...
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreRange {
    pub min: ScoreBound,
    pub max: ScoreBound,
}

impl ScoreRange {
    /// Redis's `zslParseRange`; None means "min or max is not a float".
    pub fn parse(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
        Some(ScoreRange {
            min: parse_score_bound(min)?,
            max: parse_score_bound(max)?,
        })
    }

    /// True while `score` is below the range (before its first element).
    pub fn is_below(&self, score: f64) -> bool {
        if self.min.exclusive {
            score <= self.min.value
        } else {
            score < self.min.value
        }
    }

    /// True while `score` is not above the range (up to its last element).
    pub fn is_not_above(&self, score: f64) -> bool {
        if self.max.exclusive {
            score < self.max.value
        } else {
            score <= self.max.value
        }
    }
}

fn parse_score_bound(bytes: &[u8]) -> Option<ScoreBound> {
    let (exclusive, number) = match bytes.first() {
        Some(b'(') => (true, &bytes[1..]),
        _ => (false, bytes),
    };
    // C stops at a NUL byte, so `endptr` must land exactly there.
    let c_string_length = number.iter().position(|&byte| byte == 0).unwrap_or(number.len());
    let parsed = strtod(number);
    if parsed.consumed != c_string_length || parsed.value.is_nan() {
        return None;
    }
    Some(ScoreBound {
        value: parsed.value,
        exclusive,
    })
}

/// One end of a lex range: `-`, `+`, or a member with `[` (inclusive) or `(`.
#[derive(Clone, Debug, PartialEq)]
pub enum LexBound {
    Lowest,
    Highest,
    Inclusive(Vec<u8>),
    Exclusive(Vec<u8>),
}

/// `min max` of ZRANGEBYLEX, ZLEXCOUNT, ZREMRANGEBYLEX.
#[derive(Clone, Debug, PartialEq)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

impl LexRange {
    /// Redis's `zslParseLexRange`; None means "min or max not valid string
    /// range item".
    pub fn parse(min: &[u8], max: &[u8]) -> Option<LexRange> {
        Some(LexRange {
            min: parse_lex_bound(min)?,
            max: parse_lex_bound(max)?,
        })
    }

    /// True while `member` is below the range (before its first element).
    pub fn is_below(&self, member: &[u8]) -> bool {
        match &self.min {
            LexBound::Lowest => false,
            LexBound::Highest => true,
            LexBound::Inclusive(bound) => member < bound.as_slice(),
            LexBound::Exclusive(bound) => member <= bound.as_slice(),
        }
    }

    /// True while `member` is not above the range (up to its last element).
    pub fn is_not_above(&self, member: &[u8]) -> bool {
        match &self.max {
            LexBound::Lowest => false,
            LexBound::Highest => true,
            LexBound::Inclusive(bound) => member <= bound.as_slice(),
            LexBound::Exclusive(bound) => member < bound.as_slice(),
        }
    }
}

fn parse_lex_bound(bytes: &[u8]) -> Option<LexBound> {
    match bytes.split_first() {
        Some((b'+', [])) => Some(LexBound::Highest),
        Some((b'-', [])) => Some(LexBound::Lowest),
        Some((b'[', member)) => Some(LexBound::Inclusive(member.to_vec())),
        Some((b'(', member)) => Some(LexBound::Exclusive(member.to_vec())),
        _ => None,
    }
}

/// A double as C's `printf("%.17g")` writes it: what ZSCAN shows for the
/// scores of a skiplist-encoded set (Redis formats them with `%.17Lg`).
pub fn format_g17(value: f64) -> String {
    const PRECISION: i32 = 17;
    if value.is_nan() {
        return "nan".to_string();
    }
    if value.is_infinite() {
        return if value < 0.0 { "-inf" } else { "inf" }.to_string();
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let scientific = format!("{:.*e}", (PRECISION - 1) as usize, value);
    let (mantissa, exponent) = scientific.split_once('e').expect("exponent present");
    let exponent: i32 = exponent.parse().expect("integer exponent");
    if !(-4..PRECISION).contains(&exponent) {
        let mantissa = trim_fraction_zeros(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.abs());
    }
    let decimals = (PRECISION - 1 - exponent) as usize;
    trim_fraction_zeros(&format!("{value:.decimals$}")).to_string()
}

fn trim_fraction_zeros(text: &str) -> &str {
    if !text.contains('.') {
        return text;
    }
    text.trim_end_matches('0').trim_end_matches('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_string2d() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"-3"), Some(-3.0));
        assert_eq!(parse_score(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"0x1.8p1"), Some(3.0));
        assert_eq!(parse_score(b"1e3"), Some(1000.0));
        assert_eq!(parse_score(b".5"), Some(0.5));
        assert_eq!(parse_score(b"5."), Some(5.0));
        assert_eq!(parse_score(b"0"), Some(0.0));
        assert_eq!(parse_score(b"4e-320"), Some(4e-320));
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"nan",
            b"1e500",
            b"-1e500",
            b"1e-400",
            b"abc",
            b"1.2.3",
            b"0x",
            b"1e",
            b"--1",
        ] {
            assert_eq!(parse_score(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn score_bounds_follow_zsl_parse_range() {
        let range = ScoreRange::parse(b"(1", b"+inf").expect("valid");
        assert!(range.min.exclusive && range.min.value == 1.0);
        assert_eq!(range.max.value, f64::INFINITY);
        // Plain strtod: leading spaces, overflow and an empty bound are fine.
        assert_eq!(
            ScoreRange::parse(b" 1", b"(1e500").map(|range| range.max.value),
            Some(f64::INFINITY)
        );
        assert_eq!(ScoreRange::parse(b"", b"(").map(|range| range.min.value), Some(0.0));
        assert!(ScoreRange::parse(b"  ", b"1").is_none());
        assert!(ScoreRange::parse(b"nan", b"1").is_none());
        assert!(ScoreRange::parse(b"[1", b"2").is_none());
        assert!(ScoreRange::parse(b"1x", b"2").is_none());
    }

    #[test]
    fn lex_bounds_need_a_prefix() {
        let range = LexRange::parse(b"[a", b"(c").expect("valid");
        assert!(!range.is_below(b"a") && range.is_below(b"0"));
        assert!(range.is_not_above(b"bzz") && !range.is_not_above(b"c"));
        assert_eq!(
            LexRange::parse(b"-", b"+").map(|range| range.min),
            Some(LexBound::Lowest)
        );
        assert_eq!(
            LexRange::parse(b"[", b"+").map(|range| range.min),
            Some(LexBound::Inclusive(Vec::new()))
        );
        for bad in [&b"a"[..], b"", b"+a", b"-a", b"5"] {
            assert!(LexRange::parse(bad, b"+").is_none());
        }
    }

    #[test]
    fn g17_matches_printf() {
        assert_eq!(format_g17(0.1), "0.10000000000000001");
        assert_eq!(format_g17(1.5), "1.5");
        assert_eq!(format_g17(1e17), "1e+17");
        assert_eq!(format_g17(123456789.0), "123456789");
        assert_eq!(format_g17(-0.0), "-0");
        assert_eq!(format_g17(1e-5), "1.0000000000000001e-05");
        assert_eq!(format_g17(0.0001), "0.0001");
        assert_eq!(format_g17(f64::INFINITY), "inf");
        assert_eq!(format_g17(1e16), "10000000000000000");
    }
}
