//! Glob-style pattern matching with Redis's `stringmatchlen` rules, used by
//! KEYS, SCAN MATCH, CONFIG GET and COMMAND LIST FILTERBY PATTERN.
//!
//! `*` any run, `?` one byte, `[abc]`, `[^abc]`, `[a-z]` classes, `\x` a
//! literal. Matching is bounded: Redis once had a stack overflow on patterns
//! like `a*a*a*...` (CVE-2022-36021), so `*` recursion is capped and the
//! search gives up (no match) when the cap is hit.

/// Limit on nested `*` expansions; Redis uses 1000.
const MAX_NESTING: usize = 1000;

pub fn matches(pattern: &[u8], text: &[u8], ignore_case: bool) -> bool {
    let mut skip_longer = false;
    match_from(pattern, text, ignore_case, &mut skip_longer, 0)
}

fn fold(byte: u8, ignore_case: bool) -> u8 {
    if ignore_case {
        byte.to_ascii_lowercase()
    } else {
        byte
    }
}

/// `skip_longer` becomes true when a `*` could not match the rest: trying
/// longer prefixes for an outer `*` cannot help, which keeps the worst case
/// polynomial (same trick as Redis).
fn match_from(pattern: &[u8], text: &[u8], ignore_case: bool, skip_longer: &mut bool, nesting: usize) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    let (mut p, mut t) = (0, 0);
    while p < pattern.len() && t < text.len() {
        match pattern[p] {
            b'*' => {
                while p + 1 < pattern.len() && pattern[p + 1] == b'*' {
                    p += 1;
                }
                if p + 1 == pattern.len() {
                    return true;
                }
                for start in t..text.len() {
                    if match_from(&pattern[p + 1..], &text[start..], ignore_case, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                }
                *skip_longer = true;
                return false;
            }
            b'?' => t += 1,
            b'[' => {
                let (matched, next) = match_class(pattern, p + 1, text[t], ignore_case);
                if !matched {
                    return false;
                }
                p = next;
                t += 1;
                continue;
            }
            b'\\' if p + 1 < pattern.len() => {
                p += 1;
                if fold(pattern[p], ignore_case) != fold(text[t], ignore_case) {
                    return false;
                }
                t += 1;
            }
            literal => {
                if fold(literal, ignore_case) != fold(text[t], ignore_case) {
                    return false;
                }
                t += 1;
            }
        }
        p += 1;
    }
    if t < text.len() {
        return false;
    }
    pattern[p..].iter().all(|&byte| byte == b'*')
}

/// Matches `byte` against the class starting after `[` at `start`; returns
/// whether it matched and the pattern index after the closing `]`.
fn match_class(pattern: &[u8], start: usize, byte: u8, ignore_case: bool) -> (bool, usize) {
    let mut index = start;
    let negate = index < pattern.len() && pattern[index] == b'^';
    if negate {
        index += 1;
    }
    let byte = fold(byte, ignore_case);
    let mut matched = false;
    loop {
        if index >= pattern.len() {
            // Unterminated class: Redis treats the end of pattern as the end of the class.
            break;
        }
        match pattern[index] {
            b']' => {
                index += 1;
                break;
            }
            b'\\' if index + 1 < pattern.len() => {
                index += 1;
                if fold(pattern[index], ignore_case) == byte {
                    matched = true;
                }
            }
            low if index + 2 < pattern.len() && pattern[index + 1] == b'-' => {
                let high = pattern[index + 2];
                let (low, high) = (fold(low, ignore_case), fold(high, ignore_case));
                let (low, high) = if low > high { (high, low) } else { (low, high) };
                if byte >= low && byte <= high {
                    matched = true;
                }
                index += 2;
            }
            literal => {
                if fold(literal, ignore_case) == byte {
                    matched = true;
                }
            }
        }
        index += 1;
    }
    (matched != negate, index)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn redis_glob_rules() {
        assert!(matches(b"*", b"anything", false));
        assert!(matches(b"h?llo", b"hello", false));
        assert!(matches(b"h*llo", b"heeeello", false));
        assert!(matches(b"h[ae]llo", b"hallo", false));
        assert!(!matches(b"h[^e]llo", b"hello", false));
        assert!(matches(b"h[a-b]llo", b"hbllo", false));
        assert!(matches(b"key:\\*", b"key:*", false));
        assert!(!matches(b"key:\\*", b"key:1", false));
        assert!(matches(b"MAXCLIENTS", b"maxclients", true));
        assert!(matches(b"max*", b"maxclients", false));
        assert!(!matches(b"foo", b"foobar", false));
        assert!(matches(b"", b"", false));
    }

    #[test]
    fn pathological_patterns_finish_quickly() {
        let pattern = "a*".repeat(2000) + "b";
        let text = "a".repeat(5000);
        assert!(!matches(pattern.as_bytes(), text.as_bytes(), false));
    }
}
