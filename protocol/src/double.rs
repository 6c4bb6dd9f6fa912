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
//!      Grisu2 emits at most 17 digits.
//!
//! The digits are Grisu2's, not the shortest ones: this module implements Grisu2 with
//! fpconv's parameters (the same cached powers of ten, 64-bit products rounded half up,
//! the interval narrowed by one unit on each side, the same digit generation and
//! last-digit rounding). About 0.5% of random doubles get a different text from a
//! shortest-digits algorithm such as Rust's `{}` (one digit more, or a neighbouring last
//! digit: Redis writes `1003957384971564.7` where Rust writes `1003957384971564.8`),
//! and Redis clients see exactly those bytes. Every text still parses back to the same
//! double. The implementation was checked against fpconv compiled from Redis' sources
//! on three million doubles (random bit patterns, decimal-looking values, powers of
//! ten, values around 2^62) with no difference.

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
    let digits = grisu2_digits(value.abs());
    emit_fpconv_layout(&mut text, &digits);
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

/// Decimal digits of a positive finite double as Grisu2 produces them:
/// `value ≈ digits * 10^exponent_of_last_digit`, parsing back to the same double.
struct Grisu2Digits {
    digits: [u8; GRISU2_DIGIT_COUNT_MAX],
    digit_count: usize,
    exponent_of_last_digit: i32,
}

/// A double has at most 17 significant decimal digits; the buffer has slack so that a
/// logic error drops digits instead of panicking.
const GRISU2_DIGIT_COUNT_MAX: usize = 24;

impl Grisu2Digits {
    fn push(&mut self, digit: u8) {
        if let Some(slot) = self.digits.get_mut(self.digit_count) {
            *slot = digit;
            self.digit_count += 1;
        }
    }

    fn digits(&self) -> &[u8] {
        &self.digits[..self.digit_count]
    }
}

/// A number `significand * 2^binary_exponent` with a full 64-bit significand (the
/// "do-it-yourself floating point" of Grisu).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DiyFloat {
    significand: u64,
    binary_exponent: i32,
}

const DOUBLE_FRACTION_MASK: u64 = (1 << 52) - 1;
const DOUBLE_HIDDEN_BIT: u64 = 1 << 52;
/// Exponent bias of a double plus the 52 fraction bits, so that the significand is an
/// integer.
const DOUBLE_EXPONENT_BIAS: i32 = 1023 + 52;

impl DiyFloat {
    /// The exact value of a finite double's magnitude.
    fn from_double(value: f64) -> DiyFloat {
        let bits = value.to_bits();
        let fraction = bits & DOUBLE_FRACTION_MASK;
        let biased_exponent = ((bits >> 52) & 0x7FF) as i32;
        if biased_exponent == 0 {
            // Subnormal: no hidden bit, and the exponent of the smallest normal.
            return DiyFloat {
                significand: fraction,
                binary_exponent: 1 - DOUBLE_EXPONENT_BIAS,
            };
        }
        DiyFloat {
            significand: fraction + DOUBLE_HIDDEN_BIT,
            binary_exponent: biased_exponent - DOUBLE_EXPONENT_BIAS,
        }
    }

    /// Shifts the significand left until its top bit is set. Zero stays zero.
    fn normalized(self) -> DiyFloat {
        let shift = self.significand.leading_zeros() % 64;
        DiyFloat {
            significand: self.significand << shift,
            binary_exponent: self.binary_exponent - shift as i32,
        }
    }

    /// The product, keeping the upper 64 bits of the 128-bit significand product and
    /// rounding half up on the bits dropped.
    fn times(self, other: DiyFloat) -> DiyFloat {
        let product = u128::from(self.significand) * u128::from(other.significand);
        let rounded = (product + (1u128 << 63)) >> 64;
        DiyFloat {
            significand: rounded as u64,
            binary_exponent: self.binary_exponent + other.binary_exponent + 64,
        }
    }
}

/// The bounds of the interval of reals that round to the double `exact`: halfway to
/// the neighbouring doubles, both on the exponent of the normalized upper bound. The
/// lower neighbour is closer when the significand is a power of two.
fn rounding_boundaries(exact: DiyFloat) -> (DiyFloat, DiyFloat) {
    let upper = DiyFloat {
        significand: (exact.significand << 1) + 1,
        binary_exponent: exact.binary_exponent - 1,
    }
    .normalized();
    let (lower_significand, lower_exponent) = if exact.significand == DOUBLE_HIDDEN_BIT {
        ((exact.significand << 2) - 1, exact.binary_exponent - 2)
    } else {
        ((exact.significand << 1) - 1, exact.binary_exponent - 1)
    };
    let lower_shift = (lower_exponent - upper.binary_exponent).clamp(0, 63) as u32;
    let lower = DiyFloat {
        significand: lower_significand << lower_shift,
        binary_exponent: upper.binary_exponent,
    };
    (lower, upper)
}

/// `10^decimal_exponent` rounded to a normalized [`DiyFloat`].
#[derive(Clone, Copy)]
struct CachedPower {
    significand: u64,
    binary_exponent: i32,
}

/// Decimal exponent of the first cached power; the others follow in steps of 8.
const CACHED_POWER_FIRST_DECIMAL_EXPONENT: i32 = -348;
const CACHED_POWER_DECIMAL_EXPONENT_STEP: i32 = 8;
/// Grisu2 wants the scaled upper bound's exponent in this window, so that the integral
/// part of the scaled value fits in 32 bits and the fractional part keeps enough bits.
const SCALED_BINARY_EXPONENT_MIN: i32 = -60;
const SCALED_BINARY_EXPONENT_MAX: i32 = -32;

/// `10^k` for `k = -348, -340, ..., 340`, each the 64-bit significand (top bit set) and
/// binary exponent nearest to the exact power. Generated with exact rational arithmetic
/// (Python `fractions`: find `e` with `2^63 <= 10^k / 2^e < 2^64`, round half up); the
/// values are the ones every Grisu implementation uses, including Redis' fpconv.
const CACHED_POWERS: [CachedPower; 87] = [
    CachedPower {
        significand: 18054884314459144840,
        binary_exponent: -1220,
    }, // 10^-348
    CachedPower {
        significand: 13451937075301367670,
        binary_exponent: -1193,
    }, // 10^-340
    CachedPower {
        significand: 10022474136428063862,
        binary_exponent: -1166,
    }, // 10^-332
    CachedPower {
        significand: 14934650266808366570,
        binary_exponent: -1140,
    }, // 10^-324
    CachedPower {
        significand: 11127181549972568877,
        binary_exponent: -1113,
    }, // 10^-316
    CachedPower {
        significand: 16580792590934885855,
        binary_exponent: -1087,
    }, // 10^-308
    CachedPower {
        significand: 12353653155963782858,
        binary_exponent: -1060,
    }, // 10^-300
    CachedPower {
        significand: 18408377700990114895,
        binary_exponent: -1034,
    }, // 10^-292
    CachedPower {
        significand: 13715310171984221708,
        binary_exponent: -1007,
    }, // 10^-284
    CachedPower {
        significand: 10218702384817765436,
        binary_exponent: -980,
    }, // 10^-276
    CachedPower {
        significand: 15227053142812498563,
        binary_exponent: -954,
    }, // 10^-268
    CachedPower {
        significand: 11345038669416679861,
        binary_exponent: -927,
    }, // 10^-260
    CachedPower {
        significand: 16905424996341287883,
        binary_exponent: -901,
    }, // 10^-252
    CachedPower {
        significand: 12595523146049147757,
        binary_exponent: -874,
    }, // 10^-244
    CachedPower {
        significand: 9384396036005875287,
        binary_exponent: -847,
    }, // 10^-236
    CachedPower {
        significand: 13983839803942852151,
        binary_exponent: -821,
    }, // 10^-228
    CachedPower {
        significand: 10418772551374772303,
        binary_exponent: -794,
    }, // 10^-220
    CachedPower {
        significand: 15525180923007089351,
        binary_exponent: -768,
    }, // 10^-212
    CachedPower {
        significand: 11567161174868858868,
        binary_exponent: -741,
    }, // 10^-204
    CachedPower {
        significand: 17236413322193710309,
        binary_exponent: -715,
    }, // 10^-196
    CachedPower {
        significand: 12842128665889583758,
        binary_exponent: -688,
    }, // 10^-188
    CachedPower {
        significand: 9568131466127621947,
        binary_exponent: -661,
    }, // 10^-180
    CachedPower {
        significand: 14257626930069360058,
        binary_exponent: -635,
    }, // 10^-172
    CachedPower {
        significand: 10622759856335341974,
        binary_exponent: -608,
    }, // 10^-164
    CachedPower {
        significand: 15829145694278690180,
        binary_exponent: -582,
    }, // 10^-156
    CachedPower {
        significand: 11793632577567316726,
        binary_exponent: -555,
    }, // 10^-148
    CachedPower {
        significand: 17573882009934360870,
        binary_exponent: -529,
    }, // 10^-140
    CachedPower {
        significand: 13093562431584567480,
        binary_exponent: -502,
    }, // 10^-132
    CachedPower {
        significand: 9755464219737475723,
        binary_exponent: -475,
    }, // 10^-124
    CachedPower {
        significand: 14536774485912137811,
        binary_exponent: -449,
    }, // 10^-116
    CachedPower {
        significand: 10830740992659433045,
        binary_exponent: -422,
    }, // 10^-108
    CachedPower {
        significand: 16139061738043178685,
        binary_exponent: -396,
    }, // 10^-100
    CachedPower {
        significand: 12024538023802026127,
        binary_exponent: -369,
    }, // 10^-92
    CachedPower {
        significand: 17917957937422433684,
        binary_exponent: -343,
    }, // 10^-84
    CachedPower {
        significand: 13349918974505688015,
        binary_exponent: -316,
    }, // 10^-76
    CachedPower {
        significand: 9946464728195732843,
        binary_exponent: -289,
    }, // 10^-68
    CachedPower {
        significand: 14821387422376473014,
        binary_exponent: -263,
    }, // 10^-60
    CachedPower {
        significand: 11042794154864902060,
        binary_exponent: -236,
    }, // 10^-52
    CachedPower {
        significand: 16455045573212060422,
        binary_exponent: -210,
    }, // 10^-44
    CachedPower {
        significand: 12259964326927110867,
        binary_exponent: -183,
    }, // 10^-36
    CachedPower {
        significand: 18268770466636286478,
        binary_exponent: -157,
    }, // 10^-28
    CachedPower {
        significand: 13611294676837538539,
        binary_exponent: -130,
    }, // 10^-20
    CachedPower {
        significand: 10141204801825835212,
        binary_exponent: -103,
    }, // 10^-12
    CachedPower {
        significand: 15111572745182864684,
        binary_exponent: -77,
    }, // 10^-4
    CachedPower {
        significand: 11258999068426240000,
        binary_exponent: -50,
    }, // 10^4
    CachedPower {
        significand: 16777216000000000000,
        binary_exponent: -24,
    }, // 10^12
    CachedPower {
        significand: 12500000000000000000,
        binary_exponent: 3,
    }, // 10^20
    CachedPower {
        significand: 9313225746154785156,
        binary_exponent: 30,
    }, // 10^28
    CachedPower {
        significand: 13877787807814456755,
        binary_exponent: 56,
    }, // 10^36
    CachedPower {
        significand: 10339757656912845936,
        binary_exponent: 83,
    }, // 10^44
    CachedPower {
        significand: 15407439555097886824,
        binary_exponent: 109,
    }, // 10^52
    CachedPower {
        significand: 11479437019748901445,
        binary_exponent: 136,
    }, // 10^60
    CachedPower {
        significand: 17105694144590052135,
        binary_exponent: 162,
    }, // 10^68
    CachedPower {
        significand: 12744735289059618216,
        binary_exponent: 189,
    }, // 10^76
    CachedPower {
        significand: 9495567745759798747,
        binary_exponent: 216,
    }, // 10^84
    CachedPower {
        significand: 14149498560666738074,
        binary_exponent: 242,
    }, // 10^92
    CachedPower {
        significand: 10542197943230523224,
        binary_exponent: 269,
    }, // 10^100
    CachedPower {
        significand: 15709099088952724970,
        binary_exponent: 295,
    }, // 10^108
    CachedPower {
        significand: 11704190886730495818,
        binary_exponent: 322,
    }, // 10^116
    CachedPower {
        significand: 17440603504673385349,
        binary_exponent: 348,
    }, // 10^124
    CachedPower {
        significand: 12994262207056124023,
        binary_exponent: 375,
    }, // 10^132
    CachedPower {
        significand: 9681479787123295682,
        binary_exponent: 402,
    }, // 10^140
    CachedPower {
        significand: 14426529090290212157,
        binary_exponent: 428,
    }, // 10^148
    CachedPower {
        significand: 10748601772107342003,
        binary_exponent: 455,
    }, // 10^156
    CachedPower {
        significand: 16016664761464807395,
        binary_exponent: 481,
    }, // 10^164
    CachedPower {
        significand: 11933345169920330789,
        binary_exponent: 508,
    }, // 10^172
    CachedPower {
        significand: 17782069995880619868,
        binary_exponent: 534,
    }, // 10^180
    CachedPower {
        significand: 13248674568444952270,
        binary_exponent: 561,
    }, // 10^188
    CachedPower {
        significand: 9871031767461413346,
        binary_exponent: 588,
    }, // 10^196
    CachedPower {
        significand: 14708983551653345445,
        binary_exponent: 614,
    }, // 10^204
    CachedPower {
        significand: 10959046745042015199,
        binary_exponent: 641,
    }, // 10^212
    CachedPower {
        significand: 16330252207878254650,
        binary_exponent: 667,
    }, // 10^220
    CachedPower {
        significand: 12166986024289022870,
        binary_exponent: 694,
    }, // 10^228
    CachedPower {
        significand: 18130221999122236476,
        binary_exponent: 720,
    }, // 10^236
    CachedPower {
        significand: 13508068024458167312,
        binary_exponent: 747,
    }, // 10^244
    CachedPower {
        significand: 10064294952495520794,
        binary_exponent: 774,
    }, // 10^252
    CachedPower {
        significand: 14996968138956309548,
        binary_exponent: 800,
    }, // 10^260
    CachedPower {
        significand: 11173611982879273257,
        binary_exponent: 827,
    }, // 10^268
    CachedPower {
        significand: 16649979327439178909,
        binary_exponent: 853,
    }, // 10^276
    CachedPower {
        significand: 12405201291620119593,
        binary_exponent: 880,
    }, // 10^284
    CachedPower {
        significand: 9242595204427927429,
        binary_exponent: 907,
    }, // 10^292
    CachedPower {
        significand: 13772540099066387757,
        binary_exponent: 933,
    }, // 10^300
    CachedPower {
        significand: 10261342003245940623,
        binary_exponent: 960,
    }, // 10^308
    CachedPower {
        significand: 15290591125556738113,
        binary_exponent: 986,
    }, // 10^316
    CachedPower {
        significand: 11392378155556871081,
        binary_exponent: 1013,
    }, // 10^324
    CachedPower {
        significand: 16975966327722178521,
        binary_exponent: 1039,
    }, // 10^332
    CachedPower {
        significand: 12648080533535911531,
        binary_exponent: 1066,
    }, // 10^340
];

/// The cached power that brings `upper_binary_exponent` into the scaled window, found
/// the way fpconv does: start from an estimate of the index and step until the window
/// is met. Where two powers fit, the one reached first is used, so the start matters:
/// it reproduces the C estimate (`int` truncation of a double, `int` division).
fn cached_power_for(upper_binary_exponent: i32) -> (DiyFloat, i32) {
    const LOG10_OF_2: f64 = 0.30102999566398114;
    let estimated_decimal_exponent =
        (f64::from(-(upper_binary_exponent + CACHED_POWERS.len() as i32)) * LOG10_OF_2) as i32;
    let mut index =
        (estimated_decimal_exponent - CACHED_POWER_FIRST_DECIMAL_EXPONENT) / CACHED_POWER_DECIMAL_EXPONENT_STEP;
    let index_max = CACHED_POWERS.len() as i32 - 1;
    // Each step moves the scaled exponent by about 27 in a 29-wide window, so a few
    // steps always suffice for finite doubles; the bound keeps a bug from looping.
    for _ in 0..CACHED_POWERS.len() {
        index = index.clamp(0, index_max);
        let power = CACHED_POWERS[index as usize];
        let scaled_exponent = upper_binary_exponent + power.binary_exponent + 64;
        if scaled_exponent < SCALED_BINARY_EXPONENT_MIN {
            index += 1;
        } else if scaled_exponent > SCALED_BINARY_EXPONENT_MAX {
            index -= 1;
        } else {
            break;
        }
    }
    let index = index.clamp(0, index_max);
    let power = CACHED_POWERS[index as usize];
    let decimal_exponent = CACHED_POWER_FIRST_DECIMAL_EXPONENT + index * CACHED_POWER_DECIMAL_EXPONENT_STEP;
    (
        DiyFloat {
            significand: power.significand,
            binary_exponent: power.binary_exponent,
        },
        decimal_exponent,
    )
}

/// Grisu2 (Loitsch, "Printing Floating-Point Numbers Quickly and Accurately with
/// Integers", PLDI 2010) with the choices of Redis' fpconv: scale the value and its
/// rounding interval by a cached power of ten, shrink the interval by one unit on each
/// side to absorb the scaling error, emit digits of the upper bound until the rest fits
/// in the interval, then move the last digit down towards the exact value while that
/// stays inside the interval.
fn grisu2_digits(positive_value: f64) -> Grisu2Digits {
    let exact = DiyFloat::from_double(positive_value);
    let (lower, upper) = rounding_boundaries(exact);
    let (cached_power, cached_decimal_exponent) = cached_power_for(upper.binary_exponent);
    let scaled_value = exact.normalized().times(cached_power);
    let mut scaled_upper = upper.times(cached_power);
    let mut scaled_lower = lower.times(cached_power);
    scaled_lower.significand = scaled_lower.significand.wrapping_add(1);
    scaled_upper.significand = scaled_upper.significand.wrapping_sub(1);
    let mut digits = Grisu2Digits {
        digits: [0; GRISU2_DIGIT_COUNT_MAX],
        digit_count: 0,
        exponent_of_last_digit: -cached_decimal_exponent,
    };
    generate_digits(scaled_value, scaled_upper, scaled_lower, &mut digits);
    digits
}

/// Powers of ten that divide the 32-bit integral part, largest first.
const INTEGRAL_DIVISORS: [u64; 10] = [
    1_000_000_000,
    100_000_000,
    10_000_000,
    1_000_000,
    100_000,
    10_000,
    1_000,
    100,
    10,
    1,
];

/// Most fractional digits tried; 17 significant digits always end the loop earlier.
const FRACTIONAL_DIGIT_STEPS_MAX: usize = 20;

fn generate_digits(scaled_value: DiyFloat, scaled_upper: DiyFloat, scaled_lower: DiyFloat, digits: &mut Grisu2Digits) {
    // Unsigned arithmetic wraps as in the C original: the Grisu bounds keep every
    // quantity in range for finite doubles, and wrapping keeps a surprise from panicking.
    let distance_to_upper = scaled_upper.significand.wrapping_sub(scaled_value.significand);
    let mut interval_width = scaled_upper.significand.wrapping_sub(scaled_lower.significand);
    let one_shift = scaled_upper.binary_exponent.unsigned_abs() % 64;
    let one = 1u64 << one_shift;
    let mut integral_part = scaled_upper.significand >> one_shift;
    let mut fractional_part = scaled_upper.significand & (one - 1);
    // Decimal exponent of the next digit, relative to the scaled value.
    let mut kappa = INTEGRAL_DIVISORS.len() as i32;

    for divisor in INTEGRAL_DIVISORS {
        let digit = integral_part / divisor;
        if digit != 0 || digits.digit_count != 0 {
            digits.push(b'0' + digit as u8);
        }
        integral_part -= digit * divisor;
        kappa -= 1;
        let rest = (integral_part << one_shift).wrapping_add(fractional_part);
        if rest <= interval_width {
            digits.exponent_of_last_digit += kappa;
            let digit_unit = divisor << one_shift;
            round_last_digit_towards(digits, interval_width, rest, digit_unit, distance_to_upper);
            return;
        }
    }

    let mut unit = 10u64;
    for _ in 0..FRACTIONAL_DIGIT_STEPS_MAX {
        fractional_part = fractional_part.wrapping_mul(10);
        interval_width = interval_width.wrapping_mul(10);
        kappa -= 1;
        let digit = fractional_part >> one_shift;
        if digit != 0 || digits.digit_count != 0 {
            digits.push(b'0' + digit as u8);
        }
        fractional_part &= one - 1;
        if fractional_part < interval_width {
            digits.exponent_of_last_digit += kappa;
            let scaled_distance = distance_to_upper.wrapping_mul(unit);
            round_last_digit_towards(digits, interval_width, fractional_part, one, scaled_distance);
            return;
        }
        unit = unit.wrapping_mul(10);
    }
}

/// Lowers the last digit while the result stays inside the interval and gets closer to
/// the exact value (`distance_to_upper` below the upper bound).
fn round_last_digit_towards(
    digits: &mut Grisu2Digits,
    interval_width: u64,
    mut rest: u64,
    digit_unit: u64,
    distance_to_upper: u64,
) {
    let Some(last_index) = digits.digit_count.checked_sub(1) else {
        return;
    };
    while rest < distance_to_upper
        && interval_width.wrapping_sub(rest) >= digit_unit
        && (rest.wrapping_add(digit_unit) < distance_to_upper
            || distance_to_upper.wrapping_sub(rest) > rest.wrapping_add(digit_unit).wrapping_sub(distance_to_upper))
    {
        digits.digits[last_index] = digits.digits[last_index].wrapping_sub(1);
        rest = rest.wrapping_add(digit_unit);
    }
}

/// The three layouts of fpconv's `emit_digits`; see the module documentation.
fn emit_fpconv_layout(text: &mut DoubleText, grisu2: &Grisu2Digits) {
    let digits = grisu2.digits();
    let digit_count = digits.len() as i32;
    let last_digit_exponent = grisu2.exponent_of_last_digit;
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
    let Some((first_digit, other_digits)) = digits.split_first() else {
        return;
    };
    text.push(*first_digit);
    if !other_digits.is_empty() {
        text.push(b'.');
        text.push_slice(other_digits);
    }
    text.push(b'e');
    text.push(if first_digit_exponent < 0 { b'-' } else { b'+' });
    text.push_slice(crate::number::IntegerText::from_i64(i64::from(exponent_magnitude)).as_bytes());
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
        assert_text(2.25, "2.25");
        assert_text(123.456, "123.456");
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
    fn grisu2_digits_are_redis_digits_not_the_shortest() {
        // Each of these was compared with fpconv_dtoa built from Redis' sources: Grisu2
        // emits one digit more than the shortest form, or a neighbouring last digit.
        assert_text(2.159602538102293e176, "2.1596025381022929e+176");
        assert_text(-1.74046508384004e-7, "-1.7404650838400401e-7");
        assert_text(-1.2261908233168588e14, "-122619082331685.87");
        assert_text(1.0039573849715648e15, "1003957384971564.7");
        assert_text(4.8924774816344115e-306, "4.8924774816344114e-306");
        assert_text(8.780275138921169e-24, "8.780275138921168e-24");
    }

    #[test]
    fn cached_powers_match_exact_powers_of_ten() {
        // 10^k for k up to 38 fits in a u128, so the entries for 4, 12, ..., 36 can be recomputed exactly.
        for decimal_exponent in (4..=36).step_by(8) {
            let exact = 10u128.pow(decimal_exponent as u32);
            let bit_count = 128 - exact.leading_zeros() as i32;
            let (significand, binary_exponent) = if bit_count <= 64 {
                (exact << (64 - bit_count), bit_count - 64)
            } else {
                let shift = (bit_count - 64) as u32;
                ((exact + (1u128 << (shift - 1))) >> shift, bit_count - 64)
            };
            let index = ((decimal_exponent - CACHED_POWER_FIRST_DECIMAL_EXPONENT) / CACHED_POWER_DECIMAL_EXPONENT_STEP)
                as usize;
            assert_eq!(
                CACHED_POWERS[index].significand as u128, significand,
                "10^{decimal_exponent}"
            );
            assert_eq!(
                CACHED_POWERS[index].binary_exponent, binary_exponent,
                "10^{decimal_exponent}"
            );
        }
        assert!(CACHED_POWERS.iter().all(|power| power.significand.leading_zeros() == 0));
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
