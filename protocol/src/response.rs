//! Client-side decoder of RESP2 and RESP3 replies.
//!
//! # Contract
//! [`FrameDecoder::decode`] has exactly these outcomes:
//! - `Ok(Some(frame))`: one complete top-level reply was removed from the buffer.
//! - `Ok(None)`: the buffer holds no complete reply. What was already understood (the
//!   open aggregates and their finished elements, the header of a pending bulk) was
//!   removed from the buffer and is kept, so the next call resumes where this one
//!   stopped and never scans a byte twice.
//! - `Err(error)`: the bytes are not valid RESP or exceed [`FrameDecoderLimits`]; the
//!   stream is out of sync and the connection must be closed.
//!
//! Every type of RESP2 and RESP3 is understood: `+ - : $ *` (with `$-1` as
//! [`Frame::Null`] and `*-1` as [`Frame::NullArray`]), `_ , # ( ! = % ~ >`, and
//! attributes (`|`), which are read and dropped: the value they annotate is returned in
//! their place. A bulk error (`!`) becomes a [`Frame::Error`].
//!
//! # Bounds
//! Open aggregates are kept on an explicit stack (no recursion) bounded by
//! `max_nesting_depth`; every declared length is checked before use, element vectors
//! start with at most [`ELEMENT_CAPACITY_INITIAL_MAX`] slots, and lines are bounded by
//! `max_line_len`. Unlike the server-side decoder this one is strict: every line must
//! end with CRLF, and so must every bulk payload.

use bytes::{Buf, Bytes, BytesMut};

use crate::number::parse_redis_integer;
use crate::{Frame, FrameDecoderLimits, ProtocolError};

/// Most slots an aggregate's element vector gets before its elements arrive.
pub const ELEMENT_CAPACITY_INITIAL_MAX: usize = 1024;

/// Incremental decoder of replies; one per connection.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    limits: FrameDecoderLimits,
    /// Aggregates whose header was read and whose elements are still arriving,
    /// outermost first.
    open_aggregates: Vec<OpenAggregate>,
    /// The header of a bulk-like value was read; its payload is awaited.
    pending_bulk_opt: Option<PendingBulk>,
    /// Bytes at the front of the buffer already searched for `\n` without success.
    line_scan_offset: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AggregateKind {
    Array,
    Set,
    Push,
    Map,
    /// Read fully, then dropped: attributes annotate the value that follows them.
    Attribute,
}

#[derive(Debug)]
struct OpenAggregate {
    kind: AggregateKind,
    /// Elements to read; twice the pair count for maps and attributes.
    element_count: usize,
    elements: Vec<Frame>,
}

#[derive(Debug, Clone, Copy)]
enum BulkKind {
    BulkString,
    BulkError,
    Verbatim,
}

#[derive(Debug, Clone, Copy)]
struct PendingBulk {
    kind: BulkKind,
    len: usize,
}

/// What reading one element from the buffer achieved.
enum ElementStep {
    NeedMoreBytes,
    /// An aggregate header was read and opened; its elements come next.
    Opened,
    Complete(Frame),
}

impl FrameDecoder {
    /// A decoder with the default [`FrameDecoderLimits`].
    pub fn new() -> Self {
        FrameDecoder::default()
    }

    /// A decoder with explicit limits.
    pub fn with_limits(limits: FrameDecoderLimits) -> Self {
        FrameDecoder {
            limits,
            ..FrameDecoder::default()
        }
    }

    /// True when no part of a reply is held.
    pub fn is_idle(&self) -> bool {
        self.open_aggregates.is_empty() && self.pending_bulk_opt.is_none()
    }

    /// Decodes the next complete reply from the front of `buffer`, removing its bytes.
    pub fn decode(&mut self, buffer: &mut BytesMut) -> Result<Option<Frame>, ProtocolError> {
        loop {
            if self.line_scan_offset > buffer.len() {
                self.line_scan_offset = 0;
            }
            let element = match self.read_element(buffer)? {
                ElementStep::NeedMoreBytes => return Ok(None),
                ElementStep::Opened => continue,
                ElementStep::Complete(element) => element,
            };
            if let Some(reply) = self.complete_element(element) {
                return Ok(Some(reply));
            }
        }
    }

    /// Hands a finished element to the innermost open aggregate, closing every aggregate
    /// it completes; returns the top-level reply once there is one.
    fn complete_element(&mut self, element: Frame) -> Option<Frame> {
        let mut finished = element;
        loop {
            let Some(innermost) = self.open_aggregates.last_mut() else {
                return Some(finished);
            };
            innermost.elements.push(finished);
            if innermost.elements.len() < innermost.element_count {
                return None;
            }
            let closed = self.open_aggregates.pop()?;
            finished = closed.into_frame()?;
        }
    }

    fn read_element(&mut self, buffer: &mut BytesMut) -> Result<ElementStep, ProtocolError> {
        if let Some(pending_bulk) = self.pending_bulk_opt {
            return self.read_bulk_payload(buffer, pending_bulk);
        }
        let Some(line_len) = self.find_line(buffer)? else {
            return Ok(ElementStep::NeedMoreBytes);
        };
        let line = buffer.split_to(line_len + 2).freeze();
        self.line_scan_offset = 0;
        let type_byte = line[0];
        let text = line.slice(1..line_len);
        // RESP lines cannot hold a CR: it would make the text ambiguous to re-encode.
        if text.contains(&b'\r') {
            return Err(invalid("carriage return inside a line"));
        }
        match type_byte {
            b'+' => Ok(ElementStep::Complete(Frame::SimpleString(text))),
            b'-' => Ok(ElementStep::Complete(Frame::Error(text))),
            b':' => Ok(ElementStep::Complete(Frame::Integer(parse_integer(&text)?))),
            b'_' if text.is_empty() => Ok(ElementStep::Complete(Frame::Null)),
            b'_' => Err(invalid("null with a payload")),
            b'#' => match &text[..] {
                b"t" => Ok(ElementStep::Complete(Frame::Boolean(true))),
                b"f" => Ok(ElementStep::Complete(Frame::Boolean(false))),
                _ => Err(invalid("boolean other than t or f")),
            },
            b',' => Ok(ElementStep::Complete(Frame::Double(parse_double(&text)?))),
            b'(' => {
                validate_big_number(&text)?;
                Ok(ElementStep::Complete(Frame::BigNumber(text)))
            }
            b'$' => self.open_bulk(BulkKind::BulkString, &text),
            b'!' => self.open_bulk(BulkKind::BulkError, &text),
            b'=' => self.open_bulk(BulkKind::Verbatim, &text),
            b'*' => self.open_aggregate(AggregateKind::Array, &text),
            b'~' => self.open_aggregate(AggregateKind::Set, &text),
            b'>' => self.open_aggregate(AggregateKind::Push, &text),
            b'%' => self.open_aggregate(AggregateKind::Map, &text),
            b'|' => self.open_aggregate(AggregateKind::Attribute, &text),
            other => Err(ProtocolError::InvalidFrame(format!("unknown type byte {other:#04x}"))),
        }
    }

    /// Finds the next line; returns its length without the CRLF.
    fn find_line(&mut self, buffer: &BytesMut) -> Result<Option<usize>, ProtocolError> {
        let search_start = self.line_scan_offset.min(buffer.len());
        let Some(relative_index) = buffer[search_start..].iter().position(|&byte| byte == b'\n') else {
            self.line_scan_offset = buffer.len();
            if buffer.len() > self.limits.max_line_len {
                return Err(invalid("line longer than the limit"));
            }
            return Ok(None);
        };
        let newline_index = search_start + relative_index;
        if newline_index + 1 > self.limits.max_line_len {
            return Err(invalid("line longer than the limit"));
        }
        // A line holds at least its type byte and the CR before the LF.
        if newline_index < 2 || buffer[newline_index - 1] != b'\r' {
            return Err(invalid("line not terminated by CRLF"));
        }
        Ok(Some(newline_index - 1))
    }

    fn open_bulk(&mut self, kind: BulkKind, length_text: &[u8]) -> Result<ElementStep, ProtocolError> {
        let declared_len = parse_length(length_text)?;
        if declared_len == -1 && matches!(kind, BulkKind::BulkString) {
            return Ok(ElementStep::Complete(Frame::Null));
        }
        let len = usize::try_from(declared_len)
            .ok()
            .filter(|&len| len <= self.limits.max_bulk_len)
            .ok_or(ProtocolError::InvalidBulkLength)?;
        let pending_bulk = PendingBulk { kind, len };
        self.pending_bulk_opt = Some(pending_bulk);
        Ok(ElementStep::Opened)
    }

    fn read_bulk_payload(
        &mut self,
        buffer: &mut BytesMut,
        pending_bulk: PendingBulk,
    ) -> Result<ElementStep, ProtocolError> {
        let needed_bytes = pending_bulk.len.saturating_add(2);
        if buffer.len() < needed_bytes {
            return Ok(ElementStep::NeedMoreBytes);
        }
        if &buffer[pending_bulk.len..needed_bytes] != b"\r\n" {
            return Err(invalid("bulk payload not terminated by CRLF"));
        }
        let payload = buffer.split_to(pending_bulk.len).freeze();
        buffer.advance(2);
        self.pending_bulk_opt = None;
        self.line_scan_offset = 0;
        let frame = match pending_bulk.kind {
            BulkKind::BulkString => Frame::BulkString(payload),
            BulkKind::BulkError => Frame::Error(payload),
            BulkKind::Verbatim => verbatim_frame(payload)?,
        };
        Ok(ElementStep::Complete(frame))
    }

    fn open_aggregate(&mut self, kind: AggregateKind, count_text: &[u8]) -> Result<ElementStep, ProtocolError> {
        let declared_count = parse_length(count_text)?;
        if declared_count == -1 && kind == AggregateKind::Array {
            return Ok(ElementStep::Complete(Frame::NullArray));
        }
        let count = usize::try_from(declared_count)
            .ok()
            .filter(|&count| count <= self.limits.max_aggregate_len)
            .ok_or(ProtocolError::InvalidMultibulkLength)?;
        let elements_per_entry = match kind {
            AggregateKind::Map | AggregateKind::Attribute => 2,
            AggregateKind::Array | AggregateKind::Set | AggregateKind::Push => 1,
        };
        let element_count = count
            .checked_mul(elements_per_entry)
            .ok_or(ProtocolError::InvalidMultibulkLength)?;
        let aggregate = OpenAggregate {
            kind,
            element_count,
            elements: Vec::with_capacity(element_count.min(ELEMENT_CAPACITY_INITIAL_MAX)),
        };
        if element_count == 0 {
            return match aggregate.into_frame() {
                Some(frame) => Ok(ElementStep::Complete(frame)),
                // An empty attribute annotates the next value; read that value instead.
                None => Ok(ElementStep::Opened),
            };
        }
        if self.open_aggregates.len() >= self.limits.max_nesting_depth {
            return Err(ProtocolError::NestingTooDeep(self.limits.max_nesting_depth));
        }
        self.open_aggregates.push(aggregate);
        Ok(ElementStep::Opened)
    }
}

impl OpenAggregate {
    /// The finished frame; `None` for an attribute, which is dropped.
    fn into_frame(self) -> Option<Frame> {
        match self.kind {
            AggregateKind::Array => Some(Frame::Array(self.elements)),
            AggregateKind::Set => Some(Frame::Set(self.elements)),
            AggregateKind::Push => Some(Frame::Push(self.elements)),
            AggregateKind::Map => {
                let mut pairs = Vec::with_capacity(self.elements.len() / 2);
                let mut elements = self.elements.into_iter();
                while let (Some(key), Some(value)) = (elements.next(), elements.next()) {
                    pairs.push((key, value));
                }
                Some(Frame::Map(pairs))
            }
            AggregateKind::Attribute => None,
        }
    }
}

fn invalid(rule: &str) -> ProtocolError {
    ProtocolError::InvalidFrame(rule.to_owned())
}

/// A declared length or count: `string2ll` rules, `-1` allowed for the null forms.
fn parse_length(text: &[u8]) -> Result<i64, ProtocolError> {
    match parse_redis_integer(text) {
        Some(value) if value >= -1 => Ok(value),
        _ => Err(invalid("invalid length")),
    }
}

fn parse_integer(text: &[u8]) -> Result<i64, ProtocolError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|text| text.parse::<i64>().ok())
        .ok_or_else(|| invalid("invalid integer"))
}

fn parse_double(text: &[u8]) -> Result<f64, ProtocolError> {
    // Rust's parser accepts everything Redis writes: digits with an optional fraction and
    // exponent, `inf`, `-inf` and `nan`.
    std::str::from_utf8(text)
        .ok()
        .and_then(|text| text.parse::<f64>().ok())
        .ok_or_else(|| invalid("invalid double"))
}

fn validate_big_number(text: &[u8]) -> Result<(), ProtocolError> {
    let digits = match text.split_first() {
        Some((b'-' | b'+', rest)) => rest,
        _ => text,
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid("invalid big number"));
    }
    Ok(())
}

fn verbatim_frame(payload: Bytes) -> Result<Frame, ProtocolError> {
    // The payload is `fmt:text` with a three-byte format.
    if payload.len() < 4 || payload[3] != b':' {
        return Err(invalid("verbatim string without a three-byte format"));
    }
    let format = [payload[0], payload[1], payload[2]];
    Ok(Frame::Verbatim {
        format,
        text: payload.slice(4..),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_one(input: &[u8]) -> Result<Option<Frame>, ProtocolError> {
        let mut decoder = FrameDecoder::new();
        let mut buffer = BytesMut::from(input);
        let result = decoder.decode(&mut buffer);
        if let Ok(Some(_)) = result {
            assert!(buffer.is_empty(), "left over {:?}", buffer);
            assert!(decoder.is_idle());
        }
        result
    }

    #[track_caller]
    fn assert_decodes(input: &[u8], expected: Frame) {
        assert_eq!(decode_one(input), Ok(Some(expected.clone())), "{input:?}");
        // The same frame comes out when the bytes arrive one at a time.
        let mut decoder = FrameDecoder::new();
        let mut buffer = BytesMut::new();
        for (index, &byte) in input.iter().enumerate() {
            buffer.extend_from_slice(&[byte]);
            let result = decoder.decode(&mut buffer);
            if index + 1 < input.len() {
                assert_eq!(result, Ok(None), "early frame at byte {index} of {input:?}");
            } else {
                assert_eq!(result, Ok(Some(expected.clone())), "byte by byte {input:?}");
            }
        }
    }

    #[track_caller]
    fn assert_invalid(input: &[u8]) {
        assert!(
            decode_one(input).is_err(),
            "{:?} gave {:?}",
            String::from_utf8_lossy(input),
            decode_one(input)
        );
    }

    fn bulk(text: &'static str) -> Frame {
        Frame::bulk(text)
    }

    #[test]
    fn resp2_types() {
        assert_decodes(b"+OK\r\n", Frame::ok());
        assert_decodes(b"-ERR x\r\n", Frame::error("ERR x"));
        assert_decodes(b":-12\r\n", Frame::integer(-12));
        assert_decodes(b"$3\r\nfoo\r\n", bulk("foo"));
        assert_decodes(b"$0\r\n\r\n", bulk(""));
        assert_decodes(b"$4\r\na\r\nb\r\n", bulk("a\r\nb"));
        assert_decodes(b"$-1\r\n", Frame::Null);
        assert_decodes(b"*-1\r\n", Frame::NullArray);
        assert_decodes(b"*0\r\n", Frame::Array(vec![]));
        assert_decodes(
            b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
            Frame::Array(vec![bulk("a"), Frame::Array(vec![Frame::integer(1)])]),
        );
    }

    #[test]
    fn resp3_types() {
        assert_decodes(b"_\r\n", Frame::Null);
        assert_decodes(b",1.5\r\n", Frame::Double(1.5));
        assert_decodes(b",inf\r\n", Frame::Double(f64::INFINITY));
        assert_decodes(b",-inf\r\n", Frame::Double(f64::NEG_INFINITY));
        assert_decodes(b",1e+20\r\n", Frame::Double(1e20));
        assert_decodes(b"#t\r\n", Frame::Boolean(true));
        assert_decodes(b"#f\r\n", Frame::Boolean(false));
        assert_decodes(
            b"(3492890328409238509324850943850943825024385\r\n",
            Frame::BigNumber(Bytes::from_static(b"3492890328409238509324850943850943825024385")),
        );
        assert_decodes(b"!9\r\nERR oops!\r\n", Frame::error("ERR oops!"));
        assert_decodes(
            b"=15\r\ntxt:Some string\r\n",
            Frame::Verbatim {
                format: *b"txt",
                text: Bytes::from_static(b"Some string"),
            },
        );
        assert_decodes(
            b"%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n",
            Frame::Map(vec![
                (Frame::simple("a"), Frame::integer(1)),
                (Frame::simple("b"), Frame::integer(2)),
            ]),
        );
        assert_decodes(b"~1\r\n+x\r\n", Frame::Set(vec![Frame::simple("x")]));
        assert_decodes(
            b">2\r\n+message\r\n$2\r\nhi\r\n",
            Frame::Push(vec![Frame::simple("message"), bulk("hi")]),
        );
        assert_decodes(b"%0\r\n", Frame::Map(vec![]));
    }

    #[test]
    fn nan_double_decodes() {
        match decode_one(b",nan\r\n") {
            Ok(Some(Frame::Double(value))) => assert!(value.is_nan()),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn attributes_are_skipped() {
        assert_decodes(
            b"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.1923\r\n*2\r\n:2039123\r\n:9543892\r\n",
            Frame::Array(vec![Frame::integer(2039123), Frame::integer(9543892)]),
        );
        assert_decodes(b"|0\r\n+OK\r\n", Frame::ok());
        assert_decodes(
            b"*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n",
            Frame::Array(vec![Frame::integer(1), Frame::integer(2)]),
        );
    }

    #[test]
    fn pipelined_replies_come_out_one_by_one() {
        let mut decoder = FrameDecoder::new();
        let mut buffer = BytesMut::from(&b"+OK\r\n:1\r\n$1\r\n"[..]);
        assert_eq!(decoder.decode(&mut buffer), Ok(Some(Frame::ok())));
        assert_eq!(decoder.decode(&mut buffer), Ok(Some(Frame::integer(1))));
        assert_eq!(decoder.decode(&mut buffer), Ok(None));
        assert!(!decoder.is_idle());
        buffer.extend_from_slice(b"x\r\n");
        assert_eq!(decoder.decode(&mut buffer), Ok(Some(bulk("x"))));
    }

    #[test]
    fn invalid_replies() {
        for input in [
            &b"?\r\n"[..],
            b"+OK\n",
            b"+O\rK\r\n",
            b"\r\n",
            b":abc\r\n",
            b":\r\n",
            b"$-2\r\n",
            b"$abc\r\n",
            b"$3\r\nfooXY",
            b"*-2\r\n",
            b"~-1\r\n",
            b"%-1\r\n",
            b"!-1\r\n",
            b"_x\r\n",
            b"#x\r\n",
            b",abc\r\n",
            b"(12a\r\n",
            b"(\r\n",
            b"=3\r\ntxt\r\n",
            b"=5\r\ntxtxx\r\n",
        ] {
            assert_invalid(input);
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let limits = FrameDecoderLimits {
            max_nesting_depth: 3,
            ..FrameDecoderLimits::default()
        };
        let mut decoder = FrameDecoder::with_limits(limits);
        let mut buffer = BytesMut::from(&b"*1\r\n*1\r\n*1\r\n:1\r\n"[..]);
        assert!(decoder.decode(&mut buffer).expect("depth 3 is allowed").is_some());
        let mut decoder = FrameDecoder::with_limits(limits);
        let mut buffer = BytesMut::from(&b"*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"[..]);
        assert_eq!(decoder.decode(&mut buffer), Err(ProtocolError::NestingTooDeep(3)));
        // The default bound stops deep nesting long before the stack could overflow.
        let mut deep = b"*1\r\n".repeat(100_000);
        deep.extend_from_slice(b":1\r\n");
        assert_eq!(decode_one(&deep), Err(ProtocolError::NestingTooDeep(128)));
    }

    #[test]
    fn lengths_are_bounded() {
        let limits = FrameDecoderLimits {
            max_bulk_len: 10,
            max_line_len: 16,
            max_aggregate_len: 5,
            max_nesting_depth: 8,
        };
        let decode_limited = |input: &[u8]| FrameDecoder::with_limits(limits).decode(&mut BytesMut::from(input));
        assert_eq!(decode_limited(b"$11\r\n"), Err(ProtocolError::InvalidBulkLength));
        assert_eq!(decode_limited(b"$10\r\n"), Ok(None));
        assert_eq!(decode_limited(b"*6\r\n"), Err(ProtocolError::InvalidMultibulkLength));
        assert_eq!(decode_limited(b"%6\r\n"), Err(ProtocolError::InvalidMultibulkLength));
        assert_eq!(decode_limited(b"*5\r\n"), Ok(None));
        assert!(decode_limited(b"+0123456789abcdefg").is_err());
        assert!(decode_limited(b"+0123456789abcdef\r\n").is_err());
        assert_eq!(
            decode_limited(b"+0123456789ab\r\n"),
            Ok(Some(Frame::simple("0123456789ab")))
        );
    }

    #[test]
    fn huge_declared_sizes_cost_nothing_up_front() {
        let mut decoder = FrameDecoder::new();
        let mut buffer = BytesMut::from(&b"*2000000000\r\n$500000000\r\nabc"[..]);
        assert_eq!(decoder.decode(&mut buffer), Ok(None));
        assert!(buffer.capacity() < 1024);
        assert!(decoder.open_aggregates[0].elements.capacity() <= ELEMENT_CAPACITY_INITIAL_MAX);
    }
}
