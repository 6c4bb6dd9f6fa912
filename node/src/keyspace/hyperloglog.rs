//! The HyperLogLog sketch behind PFADD, PFCOUNT and PFMERGE, stored in a
//! plain string value in Redis's own byte layout, so that TYPE says `string`,
//! GET/SET/DUMP/RESTORE carry it, and a sketch made by Redis works here (and
//! back) byte for byte.
//!
//! # Layout
//! A 16-byte header: the magic `HYLL`, the encoding (0 dense, 1 sparse), three
//! zero bytes, and the cached cardinality as a little-endian u64 whose top
//! bit set means "stale, recompute". Then the 2^14 six-bit registers:
//! - dense: 12288 bytes, register `i` at bits `6i..6i+6` counted from the
//!   least significant bit of each byte;
//! - sparse: run-length opcodes, for sketches with few non-zero registers:
//!   `00xxxxxx` is a run of 1..=64 zero registers, `01xxxxxx yyyyyyyy` a run
//!   of 1..=16384 zero registers, `1vvvvvxx` a run of 1..=4 registers of value
//!   1..=32. An empty sketch is one long zero run: 18 bytes.
//!
//! A sparse sketch becomes dense when a register needs a value above 32, or
//! when it would grow past `SPARSE_BYTES_MAX` (Redis's `hll-sparse-max-bytes`
//! default). Sparse edits follow Redis's algorithm exactly (split the run that
//! covers the register, then merge equal neighbours), so the bytes match.
//!
//! # Estimate
//! An element's 64-bit MurmurHash64A picks a register (its low 14 bits) and a
//! rank (1 + the trailing zeros of the other 50 bits); a register keeps the
//! highest rank seen. The cardinality comes from the registers' histogram by
//! Ertl's improved estimator ("New cardinality estimation algorithms for
//! HyperLogLog sketches", 2017), as Redis computes it: standard error
//! 1.04 / sqrt(16384) = 0.81 %.
//!
//! Invariant: every function here checks bounds on the bytes it reads; a
//! corrupt sketch (e.g. restored from a crafted payload) gives
//! `CorruptedSketch`, never a panic or an out-of-bounds write.

/// Bits of the hash that choose the register.
const PRECISION_BITS: u32 = 14;
pub const REGISTER_COUNT: usize = 1 << PRECISION_BITS;
/// Bits of the hash that give the rank: the rank is at most `RANK_BITS + 1`.
const RANK_BITS: usize = 64 - PRECISION_BITS as usize;
const REGISTER_WIDTH_BITS: usize = 6;
const REGISTER_MASK: u8 = (1 << REGISTER_WIDTH_BITS) - 1;
pub const HEADER_BYTES: usize = 16;
pub const DENSE_BYTES: usize = HEADER_BYTES + REGISTER_COUNT * REGISTER_WIDTH_BITS / 8;
/// The size past which a sparse sketch is made dense (Redis's default).
pub const SPARSE_BYTES_MAX: usize = 3000;

const MAGIC: &[u8; 4] = b"HYLL";
const ENCODING_OFFSET: usize = 4;
const CARDINALITY_OFFSET: usize = 8;
const STALE_CARDINALITY_BIT: u8 = 0x80;
const ENCODING_DENSE: u8 = 0;
const ENCODING_SPARSE: u8 = 1;

const SPARSE_VALUE_MAX: u8 = 32;
const SPARSE_VALUE_RUN_MAX: usize = 4;
const SPARSE_ZERO_RUN_MAX: usize = 64;
const SPARSE_LONG_ZERO_RUN_MAX: usize = 16384;

/// Redis's seed for MurmurHash64A in HyperLogLog.
const HASH_SEED: u64 = 0xadc8_3b19;
/// 0.5 / ln(2): the estimator's bias constant for an infinite register count.
const ALPHA_INFINITY: f64 = 0.721_347_520_444_481_7;

/// The registers do not decode to exactly `REGISTER_COUNT` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CorruptedSketch;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Dense,
    Sparse,
}

impl Encoding {
    /// The name PFDEBUG ENCODING reports.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Dense => "dense",
            Encoding::Sparse => "sparse",
        }
    }
}

/// Redis's `isHLLObjectOrReply` test: the header is a sketch's, and a dense
/// sketch has exactly its size. Returns the encoding.
pub fn validate(bytes: &[u8]) -> Option<Encoding> {
    if bytes.len() < HEADER_BYTES || &bytes[..4] != MAGIC {
        return None;
    }
    match bytes[ENCODING_OFFSET] {
        ENCODING_DENSE if bytes.len() == DENSE_BYTES => Some(Encoding::Dense),
        ENCODING_SPARSE => Some(Encoding::Sparse),
        _ => None,
    }
}

/// An empty sparse sketch, as PFADD and PFMERGE create one. Its cached
/// cardinality reads 0 and is valid.
pub fn new_sketch() -> Vec<u8> {
    let mut sketch = Vec::with_capacity(HEADER_BYTES + 2);
    sketch.extend_from_slice(MAGIC);
    sketch.extend_from_slice(&[ENCODING_SPARSE, 0, 0, 0]);
    sketch.extend_from_slice(&[0; 8]);
    push_zero_run(&mut sketch, REGISTER_COUNT);
    sketch
}

/// The cached cardinality, if it is not stale.
pub fn cached_cardinality(sketch: &[u8]) -> Option<u64> {
    let cache: [u8; 8] = sketch[CARDINALITY_OFFSET..HEADER_BYTES]
        .try_into()
        .expect("header checked");
    (cache[7] & STALE_CARDINALITY_BIT == 0).then(|| u64::from_le_bytes(cache))
}

pub fn store_cached_cardinality(sketch: &mut [u8], cardinality: u64) {
    sketch[CARDINALITY_OFFSET..HEADER_BYTES].copy_from_slice(&cardinality.to_le_bytes());
}

pub fn invalidate_cached_cardinality(sketch: &mut [u8]) {
    sketch[HEADER_BYTES - 1] |= STALE_CARDINALITY_BIT;
}

// ---------------------------------------------------------------------------
// Hashing
// ---------------------------------------------------------------------------

/// MurmurHash2, 64-bit version (Austin Appleby's MurmurHash64A), reading
/// words little-endian as Redis's endian-neutral variant does.
pub fn murmur_hash_64a(data: &[u8], seed: u64) -> u64 {
    const MULTIPLIER: u64 = 0xc6a4_a793_5bd1_e995;
    const SHIFT: u32 = 47;
    let mut hash = seed ^ (data.len() as u64).wrapping_mul(MULTIPLIER);
    let chunks = data.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        let mut word = u64::from_le_bytes(chunk.try_into().expect("chunks of 8"));
        word = word.wrapping_mul(MULTIPLIER);
        word ^= word >> SHIFT;
        word = word.wrapping_mul(MULTIPLIER);
        hash ^= word;
        hash = hash.wrapping_mul(MULTIPLIER);
    }
    if !tail.is_empty() {
        for (index, &byte) in tail.iter().enumerate() {
            hash ^= (byte as u64) << (8 * index);
        }
        hash = hash.wrapping_mul(MULTIPLIER);
    }
    hash ^= hash >> SHIFT;
    hash = hash.wrapping_mul(MULTIPLIER);
    hash ^= hash >> SHIFT;
    hash
}

/// The register an element goes to and its rank (1..=51).
pub fn register_and_rank(element: &[u8]) -> (usize, u8) {
    let hash = murmur_hash_64a(element, HASH_SEED);
    let index = (hash & (REGISTER_COUNT as u64 - 1)) as usize;
    // The sentinel bit bounds the rank when the 50 bits are all zero.
    let rank_bits = (hash >> PRECISION_BITS) | (1u64 << RANK_BITS);
    (index, rank_bits.trailing_zeros() as u8 + 1)
}

// ---------------------------------------------------------------------------
// Dense registers
// ---------------------------------------------------------------------------

fn dense_register(registers: &[u8], index: usize) -> u8 {
    let bit = index * REGISTER_WIDTH_BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let low = registers[byte] >> shift;
    let high = registers
        .get(byte + 1)
        .map_or(0, |&next| ((next as u16) << (8 - shift)) as u8);
    (low | high) & REGISTER_MASK
}

fn set_dense_register(registers: &mut [u8], index: usize, value: u8) {
    debug_assert!(value <= REGISTER_MASK);
    let bit = index * REGISTER_WIDTH_BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    registers[byte] &= !(REGISTER_MASK << shift);
    registers[byte] |= value << shift;
    if shift > 8 - REGISTER_WIDTH_BITS {
        let spill = 8 - shift;
        registers[byte + 1] &= !(REGISTER_MASK >> spill);
        registers[byte + 1] |= value >> spill;
    }
}

/// Raises register `index` of a dense sketch to `rank`; true if it changed.
fn raise_dense(sketch: &mut [u8], index: usize, rank: u8) -> bool {
    let registers = &mut sketch[HEADER_BYTES..];
    if dense_register(registers, index) >= rank {
        return false;
    }
    set_dense_register(registers, index, rank);
    true
}

/// Every register of a dense sketch, in order.
pub fn dense_registers(sketch: &[u8]) -> impl Iterator<Item = u8> + '_ {
    debug_assert_eq!(sketch.len(), DENSE_BYTES);
    let registers = &sketch[HEADER_BYTES..];
    (0..REGISTER_COUNT).map(move |index| dense_register(registers, index))
}

// ---------------------------------------------------------------------------
// Sparse opcodes
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Opcode {
    /// `00xxxxxx`: 1..=64 zero registers.
    Zero(usize),
    /// `01xxxxxx yyyyyyyy`: 1..=16384 zero registers.
    LongZero(usize),
    /// `1vvvvvxx`: 1..=4 registers of value 1..=32.
    Value(u8, usize),
}

impl Opcode {
    /// Registers covered.
    fn run(self) -> usize {
        match self {
            Opcode::Zero(run) | Opcode::LongZero(run) | Opcode::Value(_, run) => run,
        }
    }

    /// Bytes taken.
    fn size(self) -> usize {
        match self {
            Opcode::LongZero(_) => 2,
            Opcode::Zero(_) | Opcode::Value(..) => 1,
        }
    }
}

/// The opcode at `position`, or None if it is cut short by the end.
fn decode_opcode(bytes: &[u8], position: usize) -> Option<Opcode> {
    let first = *bytes.get(position)?;
    Some(match first >> 6 {
        0b00 => Opcode::Zero((first & 0x3F) as usize + 1),
        0b01 => {
            let second = *bytes.get(position + 1)?;
            Opcode::LongZero(((((first & 0x3F) as usize) << 8) | second as usize) + 1)
        }
        _ => Opcode::Value(((first >> 2) & 0x1F) + 1, (first & 0x03) as usize + 1),
    })
}

fn value_opcode(value: u8, run: usize) -> u8 {
    debug_assert!((1..=SPARSE_VALUE_MAX).contains(&value) && (1..=SPARSE_VALUE_RUN_MAX).contains(&run));
    0x80 | ((value - 1) << 2) | (run - 1) as u8
}

/// Appends the opcode for `run` zero registers: the short form up to 64.
fn push_zero_run(output: &mut Vec<u8>, run: usize) {
    debug_assert!((1..=SPARSE_LONG_ZERO_RUN_MAX).contains(&run));
    if run > SPARSE_ZERO_RUN_MAX {
        output.push(0x40 | ((run - 1) >> 8) as u8);
        output.push(((run - 1) & 0xFF) as u8);
    } else {
        output.push((run - 1) as u8);
    }
}

/// Walks the sparse opcodes, calling `visit(first_register, opcode)` for each.
/// Fails unless they cover exactly `REGISTER_COUNT` registers (a value run
/// that would pass the end stops the walk, as Redis's does).
fn walk_sparse(sketch: &[u8], mut visit: impl FnMut(usize, Opcode)) -> Result<(), CorruptedSketch> {
    let mut position = HEADER_BYTES;
    let mut register = 0usize;
    while position < sketch.len() {
        let opcode = decode_opcode(sketch, position).ok_or(CorruptedSketch)?;
        if matches!(opcode, Opcode::Value(..)) && register + opcode.run() > REGISTER_COUNT {
            return Err(CorruptedSketch);
        }
        visit(register, opcode);
        register += opcode.run();
        position += opcode.size();
    }
    if register != REGISTER_COUNT {
        return Err(CorruptedSketch);
    }
    Ok(())
}

/// The dense form of a sketch (a copy of a dense one). The header is kept,
/// cached cardinality included.
pub fn to_dense(sketch: &[u8]) -> Result<Vec<u8>, CorruptedSketch> {
    if validate(sketch) == Some(Encoding::Dense) {
        return Ok(sketch.to_vec());
    }
    let mut dense = vec![0u8; DENSE_BYTES];
    dense[..HEADER_BYTES].copy_from_slice(&sketch[..HEADER_BYTES]);
    dense[ENCODING_OFFSET] = ENCODING_DENSE;
    let registers = &mut dense[HEADER_BYTES..];
    walk_sparse(sketch, |first, opcode| {
        if let Opcode::Value(value, run) = opcode {
            for index in first..first + run {
                set_dense_register(registers, index, value);
            }
        }
    })?;
    Ok(dense)
}

/// Redis's `hllSparseSet`: raises register `index` of a sparse sketch to
/// `rank` in place, making the sketch dense when the value does not fit the
/// sparse form or the sketch would outgrow `SPARSE_BYTES_MAX`.
fn raise_sparse(sketch: &mut Vec<u8>, index: usize, rank: u8) -> Result<bool, CorruptedSketch> {
    if rank > SPARSE_VALUE_MAX {
        return promote_and_raise(sketch, index, rank);
    }
    // Step 1: find the opcode covering the register, and the one before it.
    let mut position = HEADER_BYTES;
    let mut first = 0usize;
    let mut previous: Option<usize> = None;
    let opcode = loop {
        let opcode = decode_opcode(sketch, position).ok_or(CorruptedSketch)?;
        if index < first + opcode.run() {
            break opcode;
        }
        previous = Some(position);
        position += opcode.size();
        first += opcode.run();
    };

    // Step 2: the cases that need no split.
    match opcode {
        Opcode::Value(value, _) if value >= rank => return Ok(false),
        Opcode::Value(_, 1) | Opcode::Zero(1) => {
            sketch[position] = value_opcode(rank, 1);
            merge_equal_neighbours(sketch, previous.unwrap_or(HEADER_BYTES));
            return Ok(true);
        }
        _ => {}
    }

    // Step 3: split the run into (before, the register, after): at most
    // five bytes, long zero - value - long zero.
    let last = first + opcode.run() - 1;
    let mut replacement: Vec<u8> = Vec::with_capacity(5);
    match opcode {
        Opcode::Zero(_) | Opcode::LongZero(_) => {
            if index != first {
                push_zero_run(&mut replacement, index - first);
            }
            replacement.push(value_opcode(rank, 1));
            if index != last {
                push_zero_run(&mut replacement, last - index);
            }
        }
        Opcode::Value(value, _) => {
            if index != first {
                replacement.push(value_opcode(value, index - first));
            }
            replacement.push(value_opcode(rank, 1));
            if index != last {
                replacement.push(value_opcode(value, last - index));
            }
        }
    }
    let grows_by = replacement.len().saturating_sub(opcode.size());
    if grows_by > 0 && sketch.len() + grows_by > SPARSE_BYTES_MAX {
        return promote_and_raise(sketch, index, rank);
    }
    sketch.splice(position..position + opcode.size(), replacement);

    // Step 4: merge adjacent equal values the split may have created.
    merge_equal_neighbours(sketch, previous.unwrap_or(HEADER_BYTES));
    Ok(true)
}

/// Looks at up to five opcodes from `start` and merges adjacent value runs
/// of the same value while they fit one opcode.
fn merge_equal_neighbours(sketch: &mut Vec<u8>, start: usize) {
    let mut position = start;
    let mut opcodes_left = 5;
    while position < sketch.len() && opcodes_left > 0 {
        opcodes_left -= 1;
        let Some(opcode) = decode_opcode(sketch, position) else {
            return;
        };
        let Opcode::Value(value, run) = opcode else {
            position += opcode.size();
            continue;
        };
        if let Some(Opcode::Value(next_value, next_run)) = decode_opcode(sketch, position + 1) {
            if next_value == value && run + next_run <= SPARSE_VALUE_RUN_MAX {
                sketch[position + 1] = value_opcode(value, run + next_run);
                sketch.remove(position);
                // Stay here: the merged run may merge with the next one too.
                continue;
            }
        }
        position += 1;
    }
}

fn promote_and_raise(sketch: &mut Vec<u8>, index: usize, rank: u8) -> Result<bool, CorruptedSketch> {
    *sketch = to_dense(sketch)?;
    let changed = raise_dense(sketch, index, rank);
    assert!(changed, "a register is only promoted for a higher rank");
    Ok(true)
}

/// Raises register `index` to `rank` if it is lower; true if it changed.
/// The cached cardinality is left alone: the caller invalidates it.
pub fn raise_register(sketch: &mut Vec<u8>, index: usize, rank: u8) -> Result<bool, CorruptedSketch> {
    match validate(sketch) {
        Some(Encoding::Dense) => Ok(raise_dense(sketch, index, rank)),
        Some(Encoding::Sparse) => raise_sparse(sketch, index, rank),
        None => Err(CorruptedSketch),
    }
}

/// Adds an element; true if a register changed.
pub fn add(sketch: &mut Vec<u8>, element: &[u8]) -> Result<bool, CorruptedSketch> {
    let (index, rank) = register_and_rank(element);
    raise_register(sketch, index, rank)
}

/// PFDEBUG DECODE's text for a sparse sketch: `z:<run>`, `Z:<run>` and
/// `v:<value>,<run>` separated by spaces.
pub fn describe_sparse(sketch: &[u8]) -> String {
    let mut words = Vec::new();
    let mut position = HEADER_BYTES;
    while let Some(opcode) = decode_opcode(sketch, position) {
        words.push(match opcode {
            Opcode::Zero(run) => format!("z:{run}"),
            Opcode::LongZero(run) => format!("Z:{run}"),
            Opcode::Value(value, run) => format!("v:{value},{run}"),
        });
        position += opcode.size();
    }
    words.join(" ")
}

// ---------------------------------------------------------------------------
// Counting and merging
// ---------------------------------------------------------------------------

/// How many registers hold each value (values are at most 63).
type Histogram = [u32; 64];

fn histogram_of(sketch: &[u8]) -> Result<Histogram, CorruptedSketch> {
    let mut histogram = [0u32; 64];
    match validate(sketch).ok_or(CorruptedSketch)? {
        Encoding::Dense => dense_registers(sketch).for_each(|value| histogram[value as usize] += 1),
        Encoding::Sparse => walk_sparse(sketch, |_, opcode| match opcode {
            Opcode::Zero(run) | Opcode::LongZero(run) => histogram[0] += run as u32,
            Opcode::Value(value, run) => histogram[value as usize] += run as u32,
        })?,
    }
    Ok(histogram)
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if previous == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if previous == z {
            return z / 3.0;
        }
    }
}

/// Ertl's estimator over the register histogram, in Redis's order of
/// floating-point operations so the estimates agree exactly.
fn estimate(histogram: &Histogram) -> u64 {
    let registers = REGISTER_COUNT as f64;
    let mut z = registers * tau((registers - histogram[RANK_BITS + 1] as f64) / registers);
    for rank in (1..=RANK_BITS).rev() {
        z += histogram[rank] as f64;
        z *= 0.5;
    }
    z += registers * sigma(histogram[0] as f64 / registers);
    (ALPHA_INFINITY * registers * registers / z).round() as u64
}

/// The estimated cardinality of one sketch (ignoring its cache).
pub fn cardinality(sketch: &[u8]) -> Result<u64, CorruptedSketch> {
    Ok(estimate(&histogram_of(sketch)?))
}

/// One byte per register: the union of several sketches (PFCOUNT with many
/// keys, PFMERGE) before it is counted or written back.
pub struct UnionRegisters {
    registers: Box<[u8; REGISTER_COUNT]>,
}

impl Default for UnionRegisters {
    fn default() -> Self {
        UnionRegisters {
            registers: Box::new([0; REGISTER_COUNT]),
        }
    }
}

impl UnionRegisters {
    /// Raises every register to the sketch's where that is higher.
    pub fn merge(&mut self, sketch: &[u8]) -> Result<(), CorruptedSketch> {
        match validate(sketch).ok_or(CorruptedSketch)? {
            Encoding::Dense => {
                for (slot, value) in self.registers.iter_mut().zip(dense_registers(sketch)) {
                    *slot = (*slot).max(value);
                }
                Ok(())
            }
            Encoding::Sparse => {
                let registers = &mut self.registers;
                walk_sparse(sketch, |first, opcode| {
                    if let Opcode::Value(value, run) = opcode {
                        for slot in &mut registers[first..first + run] {
                            *slot = (*slot).max(value);
                        }
                    }
                })
            }
        }
    }

    pub fn cardinality(&self) -> u64 {
        let mut histogram = [0u32; 64];
        for &value in self.registers.iter() {
            histogram[value as usize] += 1;
        }
        estimate(&histogram)
    }

    /// Writes the union into `sketch` (which was merged into it), register by
    /// register as Redis's PFMERGE does, so a sparse result stays sparse
    /// while it can.
    pub fn store_into(&self, sketch: &mut Vec<u8>) -> Result<(), CorruptedSketch> {
        for (index, &value) in self.registers.iter().enumerate() {
            if value != 0 {
                raise_register(sketch, index, value)?;
            }
        }
        invalidate_cached_cardinality(sketch);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sketch_of(elements: impl Iterator<Item = String>) -> Vec<u8> {
        let mut sketch = new_sketch();
        for element in elements {
            add(&mut sketch, element.as_bytes()).expect("valid sketch");
        }
        sketch
    }

    #[test]
    fn registers_and_ranks_match_redis() {
        // Read from Redis 7 with PFADD of one element then PFDEBUG DECODE.
        let expected: [(&[u8], usize, u8); 6] = [
            (b"a", 12711, 2),
            (b"b", 15780, 1),
            (b"hello", 9216, 1),
            (b"", 5938, 2),
            (b"foo123456789", 8399, 1),
            (b"x", 16374, 2),
        ];
        for (element, index, rank) in expected {
            assert_eq!(
                register_and_rank(element),
                (index, rank),
                "{:?}",
                String::from_utf8_lossy(element)
            );
        }
    }

    #[test]
    fn an_empty_sketch_is_one_long_zero_run() {
        let sketch = new_sketch();
        assert_eq!(sketch.len(), 18);
        assert_eq!(&sketch[16..], &[0x7F, 0xFF]);
        assert_eq!(validate(&sketch), Some(Encoding::Sparse));
        assert_eq!(cardinality(&sketch), Ok(0));
        assert_eq!(cached_cardinality(&sketch), Some(0));
    }

    #[test]
    fn dense_registers_round_trip() {
        let mut sketch = to_dense(&new_sketch()).unwrap();
        for index in [0, 1, 2, 3, 4, 5, 1000, REGISTER_COUNT - 2, REGISTER_COUNT - 1] {
            set_dense_register(&mut sketch[HEADER_BYTES..], index, (index % 63 + 1) as u8);
        }
        for index in [0, 1, 2, 3, 4, 5, 1000, REGISTER_COUNT - 2, REGISTER_COUNT - 1] {
            assert_eq!(dense_register(&sketch[HEADER_BYTES..], index), (index % 63 + 1) as u8);
        }
        assert_eq!(dense_register(&sketch[HEADER_BYTES..], 6), 0);
    }

    #[test]
    fn sparse_and_dense_forms_agree() {
        let sparse = sketch_of((0..200).map(|n| format!("element:{n}")));
        assert_eq!(validate(&sparse), Some(Encoding::Sparse));
        let dense = to_dense(&sparse).unwrap();
        assert_eq!(validate(&dense), Some(Encoding::Dense));
        assert_eq!(cardinality(&sparse), cardinality(&dense));
        let mut union = UnionRegisters::default();
        union.merge(&sparse).unwrap();
        assert_eq!(union.cardinality(), cardinality(&dense).unwrap());
        let estimate = cardinality(&sparse).unwrap();
        assert!((195..=205).contains(&estimate), "{estimate}");
    }

    #[test]
    fn sparse_sketches_turn_dense_past_the_size_limit() {
        let sketch = sketch_of((0..5000).map(|n| format!("element:{n}")));
        assert_eq!(validate(&sketch), Some(Encoding::Dense));
        assert_eq!(sketch.len(), DENSE_BYTES);
    }

    #[test]
    fn a_rank_above_32_makes_the_sketch_dense() {
        let mut sketch = new_sketch();
        assert_eq!(raise_register(&mut sketch, 10, 33), Ok(true));
        assert_eq!(validate(&sketch), Some(Encoding::Dense));
        assert_eq!(dense_registers(&sketch).nth(10), Some(33));
    }

    #[test]
    fn sparse_splits_and_merges_keep_runs_canonical() {
        let mut sketch = new_sketch();
        assert_eq!(raise_register(&mut sketch, 100, 3), Ok(true));
        assert_eq!(describe_sparse(&sketch), "Z:100 v:3,1 Z:16283");
        assert_eq!(raise_register(&mut sketch, 101, 3), Ok(true));
        assert_eq!(describe_sparse(&sketch), "Z:100 v:3,2 Z:16282");
        assert_eq!(raise_register(&mut sketch, 101, 2), Ok(false));
        assert_eq!(raise_register(&mut sketch, 0, 1), Ok(true));
        assert_eq!(describe_sparse(&sketch), "v:1,1 Z:99 v:3,2 Z:16282");
        assert_eq!(raise_register(&mut sketch, 101, 5), Ok(true));
        assert_eq!(describe_sparse(&sketch), "v:1,1 Z:99 v:3,1 v:5,1 Z:16282");
    }

    #[test]
    fn corrupt_sketches_are_refused_without_panicking() {
        let mut short = new_sketch();
        short.pop();
        assert_eq!(cardinality(&short), Err(CorruptedSketch));
        assert_eq!(raise_register(&mut short, 5, 3), Err(CorruptedSketch));
        let mut overlong = new_sketch();
        overlong.push(0x80);
        assert_eq!(cardinality(&overlong), Err(CorruptedSketch));
        assert!(UnionRegisters::default().merge(&overlong).is_err());
        assert_eq!(to_dense(&overlong), Err(CorruptedSketch));
        let mut values_past_the_end = new_sketch();
        values_past_the_end.truncate(HEADER_BYTES);
        values_past_the_end.extend(std::iter::repeat_n(0xFF, 5000));
        assert_eq!(cardinality(&values_past_the_end), Err(CorruptedSketch));
        assert!(UnionRegisters::default().merge(&values_past_the_end).is_err());
        assert!(validate(b"HYLL").is_none());
        assert!(validate(b"HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00").is_none());
        assert!(validate(b"HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00").is_none());
    }

    #[test]
    fn estimates_stay_within_three_standard_errors() {
        for count in [1_000usize, 20_000, 100_000] {
            let sketch = sketch_of((0..count).map(|n| format!("item-{n}")));
            let estimate = cardinality(&sketch).unwrap() as f64;
            let error = (estimate - count as f64).abs() / count as f64;
            assert!(error < 0.0243, "{count}: estimate {estimate}, error {error}");
        }
    }
}
