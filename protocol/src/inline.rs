//! Splitting of inline requests (`SET key "some value"\r\n`) into arguments.
//!
//! The rules are those of Redis' `sdssplitargs`, which telnet users and `redis-cli`
//! pipes rely on:
//! - blanks between arguments are skipped (C `isspace`: space, `\t`, `\n`, `\v`, `\f`,
//!   `\r`); an unquoted argument ends at a space, `\t`, `\n` or `\r` only;
//! - a `"` starts a double-quoted part, even in the middle of an argument (`a"b c"` is
//!   `ab c`), with the escapes `\n \r \t \b \a \xHH` and `\<any>` = that byte, so `\\`
//!   and `\"` work; an invalid `\x` escape keeps the `x` (`"\xZZ"` is `xZZ`);
//! - a `'` starts a single-quoted part whose only escape is `\'`;
//! - a closing quote must be followed by a blank or the end of the line, and a quote
//!   must be closed, otherwise "unbalanced quotes in request";
//! - Redis hands the line to `sdssplitargs` as a C string, so a NUL byte ends the line
//!   (inside quotes it leaves the quote unclosed). This is reproduced.

use bytes::Bytes;

use crate::ProtocolError;

/// Splits one inline request line (without its line terminator) into arguments with
/// Redis' `sdssplitargs` rules. A blank line gives no argument.
pub fn split_inline_args(line: &[u8]) -> Result<Vec<Bytes>, ProtocolError> {
    let mut reader = LineReader { line, position: 0 };
    let mut arguments = Vec::new();
    loop {
        while is_c_space(reader.current()) {
            reader.position += 1;
        }
        if reader.current() == 0 {
            return Ok(arguments);
        }
        arguments.push(Bytes::from(read_argument(&mut reader)?));
    }
}

/// The line seen as a C string: every byte at or past the end reads as NUL.
struct LineReader<'line> {
    line: &'line [u8],
    position: usize,
}

impl LineReader<'_> {
    fn current(&self) -> u8 {
        self.peek(0)
    }

    fn peek(&self, offset: usize) -> u8 {
        self.line.get(self.position + offset).copied().unwrap_or(0)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    Unquoted,
    DoubleQuoted,
    SingleQuoted,
}

/// Reads one argument starting at a non-blank byte; leaves the reader after it.
fn read_argument(reader: &mut LineReader<'_>) -> Result<Vec<u8>, ProtocolError> {
    let mut argument = Vec::new();
    let mut quote_state = QuoteState::Unquoted;
    loop {
        let byte = reader.current();
        match quote_state {
            QuoteState::Unquoted => match byte {
                b' ' | b'\n' | b'\r' | b'\t' | 0 => return Ok(argument),
                b'"' => quote_state = QuoteState::DoubleQuoted,
                b'\'' => quote_state = QuoteState::SingleQuoted,
                _ => argument.push(byte),
            },
            QuoteState::DoubleQuoted => match byte {
                0 => return Err(ProtocolError::UnbalancedQuotes),
                b'\\'
                    if reader.peek(1) == b'x'
                        && hex_value(reader.peek(2)).is_some()
                        && hex_value(reader.peek(3)).is_some() =>
                {
                    let high = hex_value(reader.peek(2)).unwrap_or(0);
                    let low = hex_value(reader.peek(3)).unwrap_or(0);
                    argument.push(high * 16 + low);
                    reader.position += 3;
                }
                b'\\' if reader.peek(1) != 0 => {
                    reader.position += 1;
                    argument.push(unescape(reader.current()));
                }
                b'"' => {
                    return close_quote(reader, argument);
                }
                _ => argument.push(byte),
            },
            QuoteState::SingleQuoted => match byte {
                0 => return Err(ProtocolError::UnbalancedQuotes),
                b'\\' if reader.peek(1) == b'\'' => {
                    reader.position += 1;
                    argument.push(b'\'');
                }
                b'\'' => {
                    return close_quote(reader, argument);
                }
                _ => argument.push(byte),
            },
        }
        reader.position += 1;
    }
}

/// The reader is on a closing quote: it must be followed by a blank or the end.
fn close_quote(reader: &mut LineReader<'_>, argument: Vec<u8>) -> Result<Vec<u8>, ProtocolError> {
    let next_byte = reader.peek(1);
    if next_byte != 0 && !is_c_space(next_byte) {
        return Err(ProtocolError::UnbalancedQuotes);
    }
    reader.position += 1;
    Ok(argument)
}

fn unescape(byte: u8) -> u8 {
    match byte {
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'b' => 0x08,
        b'a' => 0x07,
        other => other,
    }
}

/// C `isspace` in the "C" locale.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn assert_split(line: &[u8], expected: &[&[u8]]) {
        let arguments = split_inline_args(line).expect("line splits");
        let arguments: Vec<&[u8]> = arguments.iter().map(|argument| &argument[..]).collect();
        assert_eq!(arguments, expected, "line {:?}", String::from_utf8_lossy(line));
    }

    #[track_caller]
    fn assert_unbalanced(line: &[u8]) {
        assert_eq!(
            split_inline_args(line),
            Err(ProtocolError::UnbalancedQuotes),
            "line {:?}",
            String::from_utf8_lossy(line)
        );
    }

    #[test]
    fn blanks_separate_arguments() {
        assert_split(b"SET key value", &[b"SET", b"key", b"value"]);
        assert_split(b"  PING \t ", &[b"PING"]);
        assert_split(b"a\tb\rc\nd", &[b"a", b"b", b"c", b"d"]);
        assert_split(b"", &[]);
        assert_split(b" \t \x0b\x0c ", &[]);
    }

    #[test]
    fn vertical_tab_and_form_feed_are_skipped_but_do_not_end_an_argument() {
        assert_split(b"\x0bab\x0bc", &[b"ab\x0bc"]);
        assert_split(b"a\x0cb", &[b"a\x0cb"]);
    }

    #[test]
    fn double_quotes_and_escapes() {
        assert_split(b"SET k \"hello world\"", &[b"SET", b"k", b"hello world"]);
        assert_split(br#""\n\r\t\b\a\\\"\q""#, &[b"\n\r\t\x08\x07\\\"q"]);
        assert_split(br#""\x41\x7a\xFF\x00""#, &[b"Az\xff\x00"]);
        // An incomplete hex escape keeps the 'x' as an ordinary escaped byte.
        assert_split(br#""\x4g""#, &[b"x4g"]);
        assert_split(br#""\x4""#, &[b"x4"]);
        assert_split(b"\"\"", &[b""]);
        assert_split(b"\"a\" \"b\"", &[b"a", b"b"]);
    }

    #[test]
    fn quotes_can_start_in_the_middle_of_an_argument() {
        assert_split(b"foo\"bar baz\"", &[b"foobar baz"]);
        assert_split(b"a'b c'", &[b"ab c"]);
    }

    #[test]
    fn single_quotes_only_escape_the_quote() {
        assert_split(br"'it\'s'", &[b"it's"]);
        assert_split(br"'a\nb'", &[br"a\nb"]);
        assert_split(br"'a\b'", &[br"a\b"]);
        // The second backslash escapes the closing quote, so the quote stays open.
        assert_unbalanced(br"'\\'");
        assert_split(b"'\"'", &[b"\""]);
    }

    #[test]
    fn closing_quote_must_be_followed_by_a_blank_or_the_end() {
        assert_split(b"\"a\"\tb", &[b"a", b"b"]);
        assert_split(b"\"a\"\x0bb", &[b"a", b"b"]);
        assert_unbalanced(b"\"a\"b");
        assert_unbalanced(b"'a'b");
        assert_unbalanced(b"\"a\"\"b\"");
    }

    #[test]
    fn unclosed_quotes_are_unbalanced() {
        assert_unbalanced(b"\"abc");
        assert_unbalanced(b"'abc");
        assert_unbalanced(b"SET k \"abc\\\"");
        assert_unbalanced(b"\"abc\\");
        assert_unbalanced(b"'abc\\'");
    }

    #[test]
    fn nul_ends_the_line_like_a_c_string() {
        assert_split(b"GET a\x00b c", &[b"GET", b"a"]);
        assert_split(b"\x00GET", &[]);
        assert_unbalanced(b"\"a\x00\"");
    }
}
