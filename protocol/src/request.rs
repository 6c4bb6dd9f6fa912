//! Server-side decoder of client requests: multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`)
//! and inline (`GET k\r\n`), incremental and zero-copy.
//!
//! # Contract
//! [`RequestDecoder::decode`] has exactly these outcomes:
//! - `Ok(Some(arguments))`: one complete request was removed from the front of the
//!   buffer. `arguments` is never empty.
//! - `Ok(None)`: the buffer holds no complete request. Everything already understood was
//!   removed from the buffer and is kept in the decoder, so the next call resumes where
//!   this one stopped: no byte of a partially received argument is scanned twice, and
//!   the bytes of a bulk argument are never scanned at all (only its length is compared).
//! - `Err(error)`: the client broke the protocol. `error.to_string()` is the exact error
//!   text Redis 7.2 replies with; the connection must then be closed.
//!
//! Requests that carry no command (`*0`, `*-5`, blank inline lines) are consumed and
//! skipped, as in Redis.
//!
//! # Bounds
//! A client can make the decoder hold at most the bytes it really sent. Declared lengths
//! are checked against [`DecoderLimits`] before anything else, the argument vector starts
//! with at most [`ARGUMENT_CAPACITY_INITIAL_MAX`] slots whatever the declared count, and
//! while waiting for a large bulk the decoder reserves at most
//! [`BULK_READ_RESERVE_MAX_BYTES`] more bytes in the buffer, never the declared length.
//!
//! # Fidelity to Redis
//! The rules are those of Redis 7.2's `processMultibulkBuffer` and `processInlineBuffer`:
//! - The first byte of a request decides its kind: `*` is multibulk, anything else is
//!   inline.
//! - A `*<count>` or `$<len>` line ends at the first CR; the byte after the CR is not
//!   checked, and neither are the two bytes after a bulk's data. Lengths are parsed by
//!   `string2ll` (see `number.rs`), so `*abc`, `*`, `*01` and `*+1` are "invalid
//!   multibulk length" and `$abc`, `$-1` are "invalid bulk length".
//! - Without a CR, more than `max_inline_len` bytes are "too big mbulk count string" for
//!   the count line and "too big bulk count string" for a bulk length line.
//! - A complete element line that does not start with `$` is "expected '$', got 'c'".
//! - An inline line ends at `\n`, with one `\r` before it removed; more than
//!   `max_inline_len` bytes without `\n` are "too big inline request".
//! - Redis finds terminators with C `strchr`, so a NUL byte before the terminator of a
//!   line hides it: the request waits for more bytes until the "too big" limit applies.
//!
//! # Zero-copy
//! Bulk arguments are `split_to(len).freeze()` slices of the read buffer: no copy, but
//! each keeps the buffer's allocation alive. Code that stores a small argument for a long
//! time (a key or value in the keyspace) should copy it with `Bytes::copy_from_slice`
//! so that one small value does not pin a whole read buffer.

use bytes::{Buf, Bytes, BytesMut};

pub use crate::inline::split_inline_args;
use crate::number::parse_redis_integer;
use crate::{DecoderLimits, ProtocolError};

/// Most slots the argument vector gets before its arguments arrive, so that `*1000000`
/// costs nothing up front; the vector grows as arguments really arrive.
pub const ARGUMENT_CAPACITY_INITIAL_MAX: usize = 1024;

/// Most bytes the decoder reserves in the read buffer while a bulk is incomplete. This
/// lets a reader fill large values in big reads without trusting the declared length.
pub const BULK_READ_RESERVE_MAX_BYTES: usize = 64 * 1024;

/// Incremental decoder of client requests; one per connection.
#[derive(Debug)]
pub struct RequestDecoder {
    limits: DecoderLimits,
    state: DecoderState,
    /// Bytes at the front of the buffer already searched for a line terminator without
    /// success, so that the next search starts after them.
    line_scan_offset: usize,
}

#[derive(Debug)]
enum DecoderState {
    /// Between requests: the next byte decides between multibulk and inline.
    AwaitingRequest,
    /// The `*<count>` line was consumed; arguments are being read.
    ReadingMultibulk {
        arguments_remaining: usize,
        arguments: Vec<Bytes>,
        /// The `$<len>` line of the next argument was consumed; its data is awaited.
        bulk_len_opt: Option<usize>,
    },
}

/// What one parsing step achieved.
enum Step {
    NeedMoreBytes,
    /// Bytes were consumed; parsing can go on with the rest of the buffer.
    Progressed,
    Request(Vec<Bytes>),
}

/// A line whose terminator was found: the line is `buffer[..line_end]` and the next line
/// starts at `next_line_start`.
struct LineBounds {
    line_end: usize,
    next_line_start: usize,
}

impl RequestDecoder {
    /// A decoder for a new connection.
    pub fn new(limits: DecoderLimits) -> Self {
        RequestDecoder {
            limits,
            state: DecoderState::AwaitingRequest,
            line_scan_offset: 0,
        }
    }

    /// Applies new limits (after `CONFIG SET proto-max-bulk-len`) from the next line on.
    pub fn set_limits(&mut self, limits: DecoderLimits) {
        self.limits = limits;
    }

    /// The limits in force.
    pub fn limits(&self) -> DecoderLimits {
        self.limits
    }

    /// True when no part of a request is held: the decoder is between requests.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, DecoderState::AwaitingRequest)
    }

    /// Memory held by arguments already split off the read buffer for the
    /// request being decoded: their bytes plus a `Bytes` handle each. The
    /// connection adds this to its buffer size for the query buffer limit.
    pub fn pending_argument_bytes(&self) -> usize {
        match &self.state {
            DecoderState::AwaitingRequest => 0,
            DecoderState::ReadingMultibulk { arguments, .. } => arguments
                .iter()
                .map(|argument| argument.len() + std::mem::size_of::<Bytes>())
                .sum(),
        }
    }

    /// Decodes the next complete request from the front of `buffer`, removing its bytes.
    ///
    /// See the module documentation for the outcomes. `buffer` must be the same read
    /// buffer on every call, with new bytes appended at its end.
    pub fn decode(&mut self, buffer: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        loop {
            // The offset only refers to bytes still in the buffer; a caller that cleared
            // the buffer must not make the decoder skip unread bytes.
            if self.line_scan_offset > buffer.len() {
                self.line_scan_offset = 0;
            }
            let step = match self.state {
                DecoderState::AwaitingRequest => match buffer.first() {
                    None => Step::NeedMoreBytes,
                    Some(b'*') => self.decode_multibulk_count(buffer)?,
                    Some(_) => self.decode_inline(buffer)?,
                },
                DecoderState::ReadingMultibulk { .. } => self.decode_multibulk_arguments(buffer)?,
            };
            match step {
                Step::NeedMoreBytes => return Ok(None),
                Step::Progressed => continue,
                Step::Request(arguments) => return Ok(Some(arguments)),
            }
        }
    }

    fn decode_inline(&mut self, buffer: &mut BytesMut) -> Result<Step, ProtocolError> {
        let Some(newline_index) = self.find_byte(buffer, b'\n') else {
            if buffer.len() > self.limits.max_inline_len {
                return Err(ProtocolError::TooBigInlineRequest);
            }
            return Ok(Step::NeedMoreBytes);
        };
        let line_end = if newline_index > 0 && buffer[newline_index - 1] == b'\r' {
            newline_index - 1
        } else {
            newline_index
        };
        let arguments = split_inline_args(&buffer[..line_end])?;
        self.consume(buffer, newline_index + 1);
        if arguments.is_empty() {
            return Ok(Step::Progressed);
        }
        Ok(Step::Request(arguments))
    }

    fn decode_multibulk_count(&mut self, buffer: &mut BytesMut) -> Result<Step, ProtocolError> {
        let Some(line) = self.find_count_line(buffer) else {
            if buffer.len() > self.limits.max_inline_len {
                return Err(ProtocolError::TooBigMultibulkCountString);
            }
            return Ok(Step::NeedMoreBytes);
        };
        let count = parse_redis_integer(&buffer[1..line.line_end]).ok_or(ProtocolError::InvalidMultibulkLength)?;
        if count > 0 && count as u64 > self.limits.max_multibulk_len as u64 {
            return Err(ProtocolError::InvalidMultibulkLength);
        }
        self.consume(buffer, line.next_line_start);
        // `*0` and negative counts carry no command: Redis consumes and ignores them.
        if count <= 0 {
            return Ok(Step::Progressed);
        }
        let arguments_remaining = count as usize;
        self.state = DecoderState::ReadingMultibulk {
            arguments_remaining,
            arguments: Vec::with_capacity(arguments_remaining.min(ARGUMENT_CAPACITY_INITIAL_MAX)),
            bulk_len_opt: None,
        };
        Ok(Step::Progressed)
    }

    fn decode_multibulk_arguments(&mut self, buffer: &mut BytesMut) -> Result<Step, ProtocolError> {
        loop {
            let bulk_len = match self.pending_bulk_len() {
                Some(bulk_len) => bulk_len,
                None => match self.decode_bulk_len(buffer)? {
                    Some(bulk_len) => bulk_len,
                    None => return Ok(Step::NeedMoreBytes),
                },
            };
            // The data is followed by two terminator bytes that Redis skips unchecked.
            let needed_bytes = bulk_len.saturating_add(2);
            if buffer.len() < needed_bytes {
                let missing_bytes = needed_bytes - buffer.len();
                buffer.reserve(missing_bytes.min(BULK_READ_RESERVE_MAX_BYTES));
                return Ok(Step::NeedMoreBytes);
            }
            let argument = buffer.split_to(bulk_len).freeze();
            buffer.advance(2);
            self.line_scan_offset = 0;
            if let Some(arguments) = self.push_argument(argument) {
                return Ok(Step::Request(arguments));
            }
        }
    }

    fn pending_bulk_len(&self) -> Option<usize> {
        match &self.state {
            DecoderState::ReadingMultibulk { bulk_len_opt, .. } => *bulk_len_opt,
            DecoderState::AwaitingRequest => None,
        }
    }

    /// Reads a `$<len>` line; `Ok(None)` when it is not complete yet.
    fn decode_bulk_len(&mut self, buffer: &mut BytesMut) -> Result<Option<usize>, ProtocolError> {
        let Some(line) = self.find_count_line(buffer) else {
            if buffer.len() > self.limits.max_inline_len {
                return Err(ProtocolError::TooBigBulkCountString);
            }
            return Ok(None);
        };
        let first_byte = buffer[0];
        if first_byte != b'$' {
            return Err(ProtocolError::ExpectedBulk(char::from(first_byte)));
        }
        let bulk_len = parse_redis_integer(&buffer[1..line.line_end])
            .and_then(|declared_len| usize::try_from(declared_len).ok())
            .filter(|&declared_len| declared_len <= self.limits.max_bulk_len)
            .ok_or(ProtocolError::InvalidBulkLength)?;
        self.consume(buffer, line.next_line_start);
        if let DecoderState::ReadingMultibulk { bulk_len_opt, .. } = &mut self.state {
            *bulk_len_opt = Some(bulk_len);
        }
        Ok(Some(bulk_len))
    }

    /// Stores a complete argument; returns the request when it was the last one.
    fn push_argument(&mut self, argument: Bytes) -> Option<Vec<Bytes>> {
        let DecoderState::ReadingMultibulk {
            arguments_remaining,
            arguments,
            bulk_len_opt,
        } = &mut self.state
        else {
            return None;
        };
        arguments.push(argument);
        *bulk_len_opt = None;
        *arguments_remaining -= 1;
        if *arguments_remaining > 0 {
            return None;
        }
        let request = std::mem::take(arguments);
        self.state = DecoderState::AwaitingRequest;
        Some(request)
    }

    /// Finds a count line as Redis does: it ends at the first CR, and the byte after the
    /// CR must have arrived (it is skipped without being checked).
    fn find_count_line(&mut self, buffer: &BytesMut) -> Option<LineBounds> {
        let carriage_return_index = self.find_byte(buffer, b'\r')?;
        if carriage_return_index + 1 >= buffer.len() {
            // Search from the CR again next time: it is the terminator we will use.
            self.line_scan_offset = carriage_return_index;
            return None;
        }
        Some(LineBounds {
            line_end: carriage_return_index,
            next_line_start: carriage_return_index + 2,
        })
    }

    /// Searches `needle` after the bytes already searched; remembers how far it looked.
    ///
    /// Redis 7.2 searches line terminators with C `strchr` on the query buffer, which
    /// stops at a NUL byte: a NUL before the terminator hides it, so the line never
    /// completes and the request waits until the "too big" limit closes the connection.
    /// The search here stops at a NUL too, to give the same answers.
    fn find_byte(&mut self, buffer: &BytesMut, needle: u8) -> Option<usize> {
        let search_start = self.line_scan_offset.min(buffer.len());
        let found_opt = buffer[search_start..]
            .iter()
            .position(|&byte| byte == needle || byte == 0)
            .map(|relative_index| search_start + relative_index);
        match found_opt {
            Some(index) if buffer[index] == needle => Some(index),
            Some(nul_index) => {
                // The NUL stays in the buffer, so every later search stops here at once.
                self.line_scan_offset = nul_index;
                None
            }
            None => {
                self.line_scan_offset = buffer.len();
                None
            }
        }
    }

    fn consume(&mut self, buffer: &mut BytesMut, byte_count: usize) {
        buffer.advance(byte_count);
        self.line_scan_offset = 0;
    }
}

impl Default for RequestDecoder {
    fn default() -> Self {
        RequestDecoder::new(DecoderLimits::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits_small() -> DecoderLimits {
        DecoderLimits {
            max_bulk_len: 100,
            max_inline_len: 64,
            max_multibulk_len: 10,
        }
    }

    /// Decodes every request of `input` fed at once; stops at the first error.
    fn decode_all(limits: DecoderLimits, input: &[u8]) -> (Vec<Vec<Vec<u8>>>, Option<ProtocolError>) {
        let mut decoder = RequestDecoder::new(limits);
        let mut buffer = BytesMut::from(input);
        let mut requests = Vec::new();
        loop {
            match decoder.decode(&mut buffer) {
                Ok(Some(arguments)) => requests.push(arguments.iter().map(|a| a.to_vec()).collect()),
                Ok(None) => return (requests, None),
                Err(error) => return (requests, Some(error)),
            }
        }
    }

    /// Same as `decode_all` but feeding one byte at a time.
    fn decode_byte_by_byte(limits: DecoderLimits, input: &[u8]) -> (Vec<Vec<Vec<u8>>>, Option<ProtocolError>) {
        let mut decoder = RequestDecoder::new(limits);
        let mut buffer = BytesMut::new();
        let mut requests = Vec::new();
        for &byte in input {
            buffer.extend_from_slice(&[byte]);
            loop {
                match decoder.decode(&mut buffer) {
                    Ok(Some(arguments)) => requests.push(arguments.iter().map(|a| a.to_vec()).collect()),
                    Ok(None) => break,
                    Err(error) => return (requests, Some(error)),
                }
            }
        }
        (requests, None)
    }

    fn request(arguments: &[&[u8]]) -> Vec<Vec<u8>> {
        arguments.iter().map(|argument| argument.to_vec()).collect()
    }

    #[track_caller]
    fn assert_error(limits: DecoderLimits, input: &[u8], expected: ProtocolError, wire_text: &str) {
        let (_, error_opt) = decode_all(limits, input);
        assert_eq!(
            error_opt,
            Some(expected.clone()),
            "input {:?}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(expected.to_string(), wire_text);
        let (_, error_opt) = decode_byte_by_byte(limits, input);
        assert_eq!(
            error_opt,
            Some(expected),
            "byte by byte {:?}",
            String::from_utf8_lossy(input)
        );
    }

    #[test]
    fn decodes_a_multibulk_request() {
        let (requests, error_opt) = decode_all(DecoderLimits::default(), b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n");
        assert_eq!(error_opt, None);
        assert_eq!(requests, vec![request(&[b"GET", b"key"])]);
    }

    #[test]
    fn decodes_pipelined_requests_and_binary_data() {
        let input = b"*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\nPING\r\n";
        let expected = vec![
            request(&[b"PING"]),
            request(&[b"SET", b"k", b"a\r\nb"]),
            request(&[b"PING"]),
        ];
        assert_eq!(decode_all(DecoderLimits::default(), input), (expected.clone(), None));
        assert_eq!(decode_byte_by_byte(DecoderLimits::default(), input), (expected, None));
    }

    #[test]
    fn empty_bulk_argument() {
        let (requests, _) = decode_all(DecoderLimits::default(), b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
        assert_eq!(requests, vec![request(&[b"ECHO", b""])]);
    }

    #[test]
    fn zero_and_negative_counts_are_skipped() {
        let input = b"*0\r\n*-10\r\n*-1\r\n*1\r\n$4\r\nPING\r\n";
        let (requests, error_opt) = decode_all(DecoderLimits::default(), input);
        assert_eq!(error_opt, None);
        assert_eq!(requests, vec![request(&[b"PING"])]);
        let mut decoder = RequestDecoder::default();
        let mut buffer = BytesMut::from(&b"*-10\r\n"[..]);
        assert_eq!(decoder.decode(&mut buffer), Ok(None));
        assert!(buffer.is_empty());
        assert!(decoder.is_idle());
    }

    #[test]
    fn inline_requests() {
        let input = b"PING\r\nSET k \"a b\"\nECHO 'x y'\r\n";
        let expected = vec![
            request(&[b"PING"]),
            request(&[b"SET", b"k", b"a b"]),
            request(&[b"ECHO", b"x y"]),
        ];
        assert_eq!(decode_all(DecoderLimits::default(), input), (expected.clone(), None));
        assert_eq!(decode_byte_by_byte(DecoderLimits::default(), input), (expected, None));
    }

    #[test]
    fn blank_inline_lines_are_skipped() {
        let input = b"\r\n\n   \r\n\t\nPING\r\n";
        let (requests, error_opt) = decode_all(DecoderLimits::default(), input);
        assert_eq!(error_opt, None);
        assert_eq!(requests, vec![request(&[b"PING"])]);
    }

    #[test]
    fn inline_line_keeps_a_carriage_return_not_followed_by_newline_as_separator() {
        let (requests, _) = decode_all(DecoderLimits::default(), b"GET a\rb\r\r\n");
        assert_eq!(requests, vec![request(&[b"GET", b"a", b"b"])]);
    }

    #[test]
    fn incomplete_requests_wait_for_more_bytes() {
        for input in [
            &b"*"[..],
            b"*2",
            b"*2\r",
            b"*2\r\n",
            b"*2\r\n$3",
            b"*2\r\n$3\r",
            b"*2\r\n$3\r\nGET",
            b"*2\r\n$3\r\nGET\r",
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r",
            b"PING",
            b"PING\r",
            b"*1\r\nfoo",
        ] {
            assert_eq!(decode_all(DecoderLimits::default(), input), (vec![], None), "{input:?}");
        }
    }

    #[test]
    fn invalid_multibulk_length() {
        let text = "ERR Protocol error: invalid multibulk length";
        for input in [
            &b"*abc\r\n"[..],
            b"*\r\n",
            b"*01\r\n",
            b"*+1\r\n",
            b"*-0\r\n",
            b"*1 \r\n",
            b"*99999999999999999999\r\n",
            b"*11\r\n",
        ] {
            assert_error(limits_small(), input, ProtocolError::InvalidMultibulkLength, text);
        }
        // The bound is inclusive.
        let (_, error_opt) = decode_all(limits_small(), b"*10\r\n");
        assert_eq!(error_opt, None);
    }

    #[test]
    fn invalid_bulk_length() {
        let text = "ERR Protocol error: invalid bulk length";
        for input in [
            &b"*1\r\n$abc\r\n"[..],
            b"*1\r\n$\r\n",
            b"*1\r\n$-1\r\n",
            b"*1\r\n$-5\r\n",
            b"*1\r\n$01\r\n",
            b"*1\r\n$101\r\n",
            b"*1\r\n$99999999999999999999999\r\n",
        ] {
            assert_error(limits_small(), input, ProtocolError::InvalidBulkLength, text);
        }
        let (_, error_opt) = decode_all(limits_small(), b"*1\r\n$100\r\n");
        assert_eq!(error_opt, None);
    }

    #[test]
    fn expected_bulk() {
        assert_error(
            DecoderLimits::default(),
            b"*1\r\nfoo\r\n",
            ProtocolError::ExpectedBulk('f'),
            "ERR Protocol error: expected '$', got 'f'",
        );
        assert_error(
            DecoderLimits::default(),
            b"*2\r\n$3\r\nGET\r\n:1\r\n",
            ProtocolError::ExpectedBulk(':'),
            "ERR Protocol error: expected '$', got ':'",
        );
    }

    #[test]
    fn unbalanced_quotes() {
        assert_error(
            DecoderLimits::default(),
            b"SET k \"abc\r\n",
            ProtocolError::UnbalancedQuotes,
            "ERR Protocol error: unbalanced quotes in request",
        );
    }

    #[test]
    fn too_big_inline_request() {
        let input = vec![b'a'; 65];
        assert_error(
            limits_small(),
            &input,
            ProtocolError::TooBigInlineRequest,
            "ERR Protocol error: too big inline request",
        );
        // Exactly the limit is still accepted while waiting for the newline.
        assert_eq!(decode_all(limits_small(), &input[..64]), (vec![], None));
    }

    #[test]
    fn too_big_mbulk_count_string() {
        let mut input = b"*".to_vec();
        input.extend(std::iter::repeat_n(b'1', 64));
        assert_error(
            limits_small(),
            &input,
            ProtocolError::TooBigMultibulkCountString,
            "ERR Protocol error: too big mbulk count string",
        );
    }

    #[test]
    fn too_big_bulk_count_string() {
        let mut input = b"*1\r\n$".to_vec();
        input.extend(std::iter::repeat_n(b'1', 64));
        assert_error(
            limits_small(),
            &input,
            ProtocolError::TooBigBulkCountString,
            "ERR Protocol error: too big bulk count string",
        );
    }

    #[test]
    fn the_byte_after_a_carriage_return_is_not_checked() {
        // Redis only requires that a byte follows the CR; it is skipped unchecked, and so
        // are the two bytes after bulk data.
        let (requests, error_opt) = decode_all(DecoderLimits::default(), b"*1\rX$4\rYPINGZZ");
        assert_eq!(error_opt, None);
        assert_eq!(requests, vec![request(&[b"PING"])]);
    }

    #[test]
    fn nul_before_a_terminator_hides_it_as_in_redis() {
        for input in [&b"*1\r\n\0\r\n"[..], b"*1\0\r\n", b"PING\0\n", b"*1\r\n$\x001\r\na\r\n"] {
            assert_eq!(decode_all(DecoderLimits::default(), input), (vec![], None), "{input:?}");
            assert_eq!(decode_byte_by_byte(DecoderLimits::default(), input), (vec![], None));
        }
        let mut input = b"PING\0\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 64));
        assert_error(
            limits_small(),
            &input,
            ProtocolError::TooBigInlineRequest,
            "ERR Protocol error: too big inline request",
        );
        let mut input = b"*1\r\n\0\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 64));
        assert_error(
            limits_small(),
            &input,
            ProtocolError::TooBigBulkCountString,
            "ERR Protocol error: too big bulk count string",
        );
        // NUL bytes inside bulk data are ordinary data: only lines are searched.
        let (requests, _) = decode_all(DecoderLimits::default(), b"*1\r\n$3\r\na\0b\r\n");
        assert_eq!(requests, vec![request(&[b"a\0b"])]);
    }

    #[test]
    fn huge_declared_bulk_costs_only_the_bytes_sent() {
        let mut decoder = RequestDecoder::default();
        let mut buffer = BytesMut::with_capacity(64);
        buffer.extend_from_slice(b"*1\r\n$500000000\r\nabc");
        assert_eq!(decoder.decode(&mut buffer), Ok(None));
        assert!(
            buffer.capacity() <= BULK_READ_RESERVE_MAX_BYTES + 64,
            "capacity {}",
            buffer.capacity()
        );
        // Further calls do not grow the buffer either.
        for _ in 0..10 {
            assert_eq!(decoder.decode(&mut buffer), Ok(None));
        }
        assert!(buffer.capacity() <= BULK_READ_RESERVE_MAX_BYTES + 64);
        assert_eq!(&buffer[..], b"abc");
    }

    #[test]
    fn huge_declared_count_costs_nothing_up_front() {
        let mut decoder = RequestDecoder::default();
        let mut buffer = BytesMut::from(&b"*1000000\r\n$1\r\na\r\n"[..]);
        assert_eq!(decoder.decode(&mut buffer), Ok(None));
        match &decoder.state {
            DecoderState::ReadingMultibulk {
                arguments,
                arguments_remaining,
                ..
            } => {
                assert!(arguments.capacity() <= ARGUMENT_CAPACITY_INITIAL_MAX);
                assert_eq!(*arguments_remaining, 999_999);
            }
            DecoderState::AwaitingRequest => panic!("the request is still open"),
        }
    }

    #[test]
    fn large_bulk_fed_in_chunks_is_decoded_once_complete() {
        let value = vec![b'v'; 200_000];
        let mut input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$200000\r\n".to_vec();
        input.extend_from_slice(&value);
        input.extend_from_slice(b"\r\n");
        let mut decoder = RequestDecoder::default();
        let mut buffer = BytesMut::new();
        let mut decoded_opt = None;
        for chunk in input.chunks(7919) {
            buffer.extend_from_slice(chunk);
            if let Some(arguments) = decoder.decode(&mut buffer).expect("valid input") {
                decoded_opt = Some(arguments);
            }
        }
        let arguments = decoded_opt.expect("request decoded");
        assert_eq!(arguments.len(), 3);
        assert_eq!(&arguments[2][..], &value[..]);
        assert!(buffer.is_empty());
    }

    #[test]
    fn arguments_are_zero_copy_slices_of_the_buffer() {
        let mut decoder = RequestDecoder::default();
        let mut buffer = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"[..]);
        let buffer_range = buffer.as_ptr() as usize..buffer.as_ptr() as usize + buffer.len();
        let arguments = decoder.decode(&mut buffer).expect("valid").expect("complete");
        for argument in &arguments {
            assert!(buffer_range.contains(&(argument.as_ptr() as usize)));
        }
    }

    #[test]
    fn pending_argument_bytes_counts_arguments_split_off_the_buffer() {
        let mut decoder = RequestDecoder::default();
        let mut buffer = BytesMut::from(&b"*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$4\r\nwo"[..]);
        assert_eq!(decoder.pending_argument_bytes(), 0);
        assert_eq!(decoder.decode(&mut buffer), Ok(None));
        let handle_bytes = std::mem::size_of::<Bytes>();
        assert_eq!(decoder.pending_argument_bytes(), 3 + 5 + 2 * handle_bytes);
        buffer.extend_from_slice(b"rl\r\n");
        assert!(decoder.decode(&mut buffer).expect("valid").is_some());
        assert_eq!(decoder.pending_argument_bytes(), 0);
    }

    #[test]
    fn set_limits_applies_to_the_next_request() {
        let mut decoder = RequestDecoder::default();
        decoder.set_limits(limits_small());
        assert_eq!(decoder.limits(), limits_small());
        let mut buffer = BytesMut::from(&b"*1\r\n$101\r\n"[..]);
        assert_eq!(decoder.decode(&mut buffer), Err(ProtocolError::InvalidBulkLength));
    }

    #[test]
    fn byte_by_byte_matches_all_at_once_for_mixed_input() {
        let input: &[u8] = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n\r\nGET key\n*0\r\n*1\r\n$4\r\nPING\r\n";
        let at_once = decode_all(DecoderLimits::default(), input);
        assert_eq!(at_once.0.len(), 3);
        assert_eq!(at_once, decode_byte_by_byte(DecoderLimits::default(), input));
    }
}
