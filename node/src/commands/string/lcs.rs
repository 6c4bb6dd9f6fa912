//! The longest common subsequence of two strings, as Redis's LCS command
//! computes it: the classic dynamic-programming table of `u32` lengths, then
//! one walk back from the end that rebuilds the subsequence and the matching
//! ranges. The walk's tie-breaking decides which of several equally long
//! subsequences is returned, so it follows Redis's exactly.

/// One run of consecutive matching bytes: `first[first_range]` equals
/// `second[second_range]` (inclusive ranges).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatchRange {
    pub first_range: (usize, usize),
    pub second_range: (usize, usize),
}

impl MatchRange {
    pub fn len(&self) -> usize {
        self.first_range.1 - self.first_range.0 + 1
    }
}

/// What the walk back produces.
#[derive(Debug, PartialEq, Eq)]
pub struct LcsOutcome {
    pub length: usize,
    pub subsequence: Vec<u8>,
    /// From the end of the strings towards their start, as Redis lists them;
    /// only runs at least `min_match_len` long.
    pub matches: Vec<MatchRange>,
}

/// Why the table could not be built.
#[derive(Debug, PartialEq, Eq)]
pub enum LcsRefusal {
    /// A string is 2^32 - 2 bytes or longer: lengths would not fit the table.
    StringTooLong,
    /// The table would take more than the allowed transient memory.
    TableTooLarge,
    /// The allocator refused the table.
    AllocationFailed,
}

/// Bytes the table for strings of these lengths takes, as Redis counts them.
pub fn table_size_bytes(first_len: usize, second_len: usize) -> Option<u64> {
    (first_len as u64 + 1)
        .checked_mul(second_len as u64 + 1)?
        .checked_mul(4)
}

/// Computes the LCS of `first` and `second`. The table must fit in
/// `table_bytes_max`. When `walk_back` is false only the length is computed
/// (LCS ... LEN), and `subsequence` and `matches` are empty.
pub fn longest_common_subsequence(
    first: &[u8],
    second: &[u8],
    walk_back: bool,
    min_match_len: usize,
    table_bytes_max: u64,
) -> Result<LcsOutcome, LcsRefusal> {
    if first.len() as u64 >= u32::MAX as u64 - 1 || second.len() as u64 >= u32::MAX as u64 - 1 {
        return Err(LcsRefusal::StringTooLong);
    }
    // Redis cannot even size an allocation that overflows, and reports it as failed.
    let table_bytes = table_size_bytes(first.len(), second.len()).ok_or(LcsRefusal::AllocationFailed)?;
    if table_bytes > table_bytes_max {
        return Err(LcsRefusal::TableTooLarge);
    }
    let table = LengthTable::build(first, second)?;
    let length = table.at(first.len(), second.len()) as usize;
    if !walk_back {
        return Ok(LcsOutcome {
            length,
            subsequence: Vec::new(),
            matches: Vec::new(),
        });
    }
    let (subsequence, matches) = table.walk_back(first, second, min_match_len);
    debug_assert_eq!(subsequence.len(), length);
    Ok(LcsOutcome {
        length,
        subsequence,
        matches,
    })
}

/// `at(i, j)` is the LCS length of `first[..i]` and `second[..j]`.
struct LengthTable {
    lengths: Vec<u32>,
    row_len: usize,
}

impl LengthTable {
    fn build(first: &[u8], second: &[u8]) -> Result<LengthTable, LcsRefusal> {
        let row_len = second.len() + 1;
        let cell_count = (first.len() + 1) * row_len;
        let mut lengths = Vec::new();
        lengths
            .try_reserve_exact(cell_count)
            .map_err(|_| LcsRefusal::AllocationFailed)?;
        lengths.resize(cell_count, 0u32);
        for i in 1..=first.len() {
            let (previous_rows, current_rows) = lengths.split_at_mut(i * row_len);
            let previous = &previous_rows[(i - 1) * row_len..];
            let current = &mut current_rows[..row_len];
            for j in 1..=second.len() {
                current[j] = if first[i - 1] == second[j - 1] {
                    previous[j - 1] + 1
                } else {
                    previous[j].max(current[j - 1])
                };
            }
        }
        Ok(LengthTable { lengths, row_len })
    }

    fn at(&self, i: usize, j: usize) -> u32 {
        self.lengths[i * self.row_len + j]
    }

    /// Redis's walk from (len, len) back to an edge: on equal bytes take the
    /// byte and extend the current run backwards; otherwise move towards the
    /// larger neighbour (the second string's side on a tie) and close the run.
    fn walk_back(&self, first: &[u8], second: &[u8], min_match_len: usize) -> (Vec<u8>, Vec<MatchRange>) {
        let mut subsequence = vec![0u8; self.at(first.len(), second.len()) as usize];
        let mut remaining = subsequence.len();
        let mut matches = Vec::new();
        let mut run: Option<MatchRange> = None;
        let (mut i, mut j) = (first.len(), second.len());
        while i > 0 && j > 0 {
            let mut close_run = false;
            if first[i - 1] == second[j - 1] {
                subsequence[remaining - 1] = first[i - 1];
                remaining -= 1;
                match &mut run {
                    None => {
                        run = Some(MatchRange {
                            first_range: (i - 1, i - 1),
                            second_range: (j - 1, j - 1),
                        })
                    }
                    Some(current) if current.first_range.0 == i && current.second_range.0 == j => {
                        current.first_range.0 -= 1;
                        current.second_range.0 -= 1;
                    }
                    Some(_) => close_run = true,
                }
                let current = run.as_ref().expect("a run is open after a match");
                if current.first_range.0 == 0 || current.second_range.0 == 0 {
                    close_run = true;
                }
                i -= 1;
                j -= 1;
            } else {
                if self.at(i - 1, j) > self.at(i, j - 1) {
                    i -= 1;
                } else {
                    j -= 1;
                }
                close_run = run.is_some();
            }
            if close_run {
                if let Some(closed) = run.take() {
                    if min_match_len == 0 || closed.len() >= min_match_len {
                        matches.push(closed);
                    }
                }
            }
        }
        (subsequence, matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNLIMITED: u64 = u64::MAX;

    #[test]
    fn redis_documentation_example() {
        let outcome = longest_common_subsequence(b"ohmytext", b"mynewtext", true, 0, UNLIMITED).unwrap();
        assert_eq!(outcome.length, 6);
        assert_eq!(outcome.subsequence, b"mytext");
        assert_eq!(
            outcome.matches,
            vec![
                MatchRange {
                    first_range: (4, 7),
                    second_range: (5, 8)
                },
                MatchRange {
                    first_range: (2, 3),
                    second_range: (0, 1)
                },
            ]
        );
        let long_only = longest_common_subsequence(b"ohmytext", b"mynewtext", true, 4, UNLIMITED).unwrap();
        assert_eq!(long_only.matches.len(), 1);
        assert_eq!(long_only.matches[0].len(), 4);
    }

    #[test]
    fn empty_and_disjoint_strings() {
        let outcome = longest_common_subsequence(b"", b"abc", true, 0, UNLIMITED).unwrap();
        assert_eq!(
            (outcome.length, outcome.subsequence.len(), outcome.matches.len()),
            (0, 0, 0)
        );
        let outcome = longest_common_subsequence(b"abc", b"xyz", true, 0, UNLIMITED).unwrap();
        assert_eq!(outcome.length, 0);
    }

    #[test]
    fn length_only_skips_the_walk() {
        let outcome = longest_common_subsequence(b"abcbdab", b"bdcaba", false, 0, UNLIMITED).unwrap();
        assert_eq!(outcome.length, 4);
        assert!(outcome.subsequence.is_empty());
    }

    #[test]
    fn the_table_is_bounded() {
        assert_eq!(table_size_bytes(1, 1), Some(16));
        assert_eq!(
            longest_common_subsequence(b"ab", b"ab", true, 0, 35),
            Err(LcsRefusal::TableTooLarge)
        );
        assert!(longest_common_subsequence(b"ab", b"ab", true, 0, 36).is_ok());
    }

    #[test]
    fn the_subsequence_is_common_and_as_long_as_the_table_says() {
        let first = b"ACCGGTCGAGTGCGCGGAAGCCGGCCGAA";
        let second = b"GTCGTTCGGAATGCCGTTGCTCTGTAAA";
        let outcome = longest_common_subsequence(first, second, true, 0, UNLIMITED).unwrap();
        assert_eq!(outcome.length, 20);
        let is_subsequence = |needle: &[u8], haystack: &[u8]| {
            let mut rest = haystack.iter();
            needle.iter().all(|byte| rest.any(|candidate| candidate == byte))
        };
        assert!(is_subsequence(&outcome.subsequence, first));
        assert!(is_subsequence(&outcome.subsequence, second));
        let matched: usize = outcome.matches.iter().map(MatchRange::len).sum();
        assert_eq!(matched, outcome.length);
    }
}
