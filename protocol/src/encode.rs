//! Serialisation of [`Frame`]s to RESP2 or RESP3 bytes.
//!
//! RESP2 connections get the RESP3-only types downgraded exactly as Redis 7.2 does:
//!
//! | frame        | RESP3                     | RESP2                         |
//! |--------------|---------------------------|-------------------------------|
//! | `Null`       | `_\r\n`                   | `$-1\r\n`                     |
//! | `NullArray`  | `_\r\n`                   | `*-1\r\n`                     |
//! | `Map`        | `%<pairs>` + pairs        | `*<2 * pairs>` + flat pairs   |
//! | `Pairs`      | `*<pairs>` + `*2` pairs   | `*<2 * pairs>` + flat pairs   |
//! | `Set`        | `~<count>`                | `*<count>`                    |
//! | `Push`       | `><count>`                | `*<count>`                    |
//! | `Double`     | `,<text>\r\n`             | bulk string of the same text  |
//! | `Boolean`    | `#t\r\n` / `#f\r\n`       | `:1\r\n` / `:0\r\n`           |
//! | `BigNumber`  | `(<digits>\r\n`           | bulk string of the digits     |
//! | `Verbatim`   | `=<len>\r\nfmt:<text>\r\n`| bulk string of the text only  |
//!
//! Encoding never allocates besides growing `out`: integers and doubles are formatted
//! into stack buffers.

use bytes::{BufMut, BytesMut};

use crate::double::double_text;
pub use crate::double::format_double;
use crate::number::{IntegerText, INTEGER_TEXT_LEN_MAX};
use crate::{Frame, ProtocolVersion};

const CRLF: &[u8] = b"\r\n";

/// Appends the encoding of `frame` for a connection speaking `version` to `out`.
pub fn encode(frame: &Frame, version: ProtocolVersion, out: &mut BytesMut) {
    let is_resp3 = version == ProtocolVersion::Resp3;
    match frame {
        Frame::SimpleString(text) => put_simple_line(out, b'+', text),
        Frame::Error(text) => put_simple_line(out, b'-', text),
        Frame::Integer(value) => put_integer_line(out, b':', *value),
        Frame::BulkString(data) => put_bulk(out, b'$', data),
        Frame::Null if is_resp3 => out.put_slice(b"_\r\n"),
        Frame::Null => out.put_slice(b"$-1\r\n"),
        Frame::NullArray if is_resp3 => out.put_slice(b"_\r\n"),
        Frame::NullArray => out.put_slice(b"*-1\r\n"),
        Frame::Array(elements) => put_aggregate(out, b'*', elements, version),
        Frame::Set(elements) => put_aggregate(out, if is_resp3 { b'~' } else { b'*' }, elements, version),
        Frame::Push(elements) => put_aggregate(out, if is_resp3 { b'>' } else { b'*' }, elements, version),
        Frame::Map(pairs) => put_map(out, pairs, version),
        Frame::Pairs(pairs) => put_pairs(out, pairs, version),
        Frame::Double(value) => {
            let text = double_text(*value);
            if is_resp3 {
                put_line(out, b',', text.as_bytes());
            } else {
                put_bulk(out, b'$', text.as_bytes());
            }
        }
        Frame::Boolean(value) if is_resp3 => out.put_slice(if *value { b"#t\r\n" } else { b"#f\r\n" }),
        Frame::Boolean(value) => out.put_slice(if *value { b":1\r\n" } else { b":0\r\n" }),
        Frame::BigNumber(digits) if is_resp3 => put_simple_line(out, b'(', digits),
        Frame::BigNumber(digits) => put_bulk(out, b'$', digits),
        Frame::Verbatim { format, text } if is_resp3 => put_verbatim(out, format, text),
        Frame::Verbatim { text, .. } => put_bulk(out, b'$', text),
    }
}

/// Appends the header of an aggregate (`*3\r\n`, `%2\r\n`, ...) whose elements the
/// caller encodes next. Useful to stream large replies without building a `Vec<Frame>`.
pub fn encode_aggregate_header(type_byte: u8, element_count: usize, out: &mut BytesMut) {
    put_length_line(out, type_byte, element_count);
}

/// Appends a bulk string without building a [`Frame`].
pub fn encode_bulk(data: &[u8], out: &mut BytesMut) {
    put_bulk(out, b'$', data);
}

fn put_aggregate(out: &mut BytesMut, type_byte: u8, elements: &[Frame], version: ProtocolVersion) {
    put_length_line(out, type_byte, elements.len());
    for element in elements {
        encode(element, version, out);
    }
}

fn put_map(out: &mut BytesMut, pairs: &[(Frame, Frame)], version: ProtocolVersion) {
    match version {
        ProtocolVersion::Resp3 => put_length_line(out, b'%', pairs.len()),
        // Redis' addReplyMapLen: a RESP2 map is a flat array of keys and values.
        ProtocolVersion::Resp2 => put_length_line(out, b'*', pairs.len().saturating_mul(2)),
    }
    for (key, value) in pairs {
        encode(key, version, out);
        encode(value, version, out);
    }
}

fn put_pairs(out: &mut BytesMut, pairs: &[(Frame, Frame)], version: ProtocolVersion) {
    match version {
        ProtocolVersion::Resp3 => put_length_line(out, b'*', pairs.len()),
        ProtocolVersion::Resp2 => put_length_line(out, b'*', pairs.len().saturating_mul(2)),
    }
    for (first, second) in pairs {
        if version == ProtocolVersion::Resp3 {
            out.put_slice(b"*2\r\n");
        }
        encode(first, version, out);
        encode(second, version, out);
    }
}

fn put_verbatim(out: &mut BytesMut, format: &[u8; 3], text: &[u8]) {
    // The declared length covers "fmt:" too.
    put_length_line(out, b'=', text.len() + 4);
    out.reserve(text.len() + 6);
    out.put_slice(format);
    out.put_u8(b':');
    out.put_slice(text);
    out.put_slice(CRLF);
}

fn put_bulk(out: &mut BytesMut, type_byte: u8, data: &[u8]) {
    // One capacity check for the whole bulk string; the puts below then only copy.
    out.reserve(LENGTH_LINE_LEN_MAX + data.len() + CRLF.len());
    put_length_line(out, type_byte, data.len());
    out.put_slice(data);
    out.put_slice(CRLF);
}

/// Type byte, the digits of a `usize` and the CRLF.
const LENGTH_LINE_LEN_MAX: usize = 1 + INTEGER_TEXT_LEN_MAX + 2;

/// Appends `<type><len>\r\n`. Lengths below 100 (short elements, small arrays) are
/// packed into one integer and stored with a single fixed-size copy: assembling the
/// line byte by byte on the stack and copying it out stalls on store forwarding,
/// which made up a sixth of LRANGE's time.
fn put_length_line(out: &mut BytesMut, type_byte: u8, len: usize) {
    const CRLF_WORD: u64 = u16::from_le_bytes(*b"\r\n") as u64;
    if len < 10 {
        let digit = u64::from(b'0' + len as u8);
        let line = u64::from(type_byte) | digit << 8 | CRLF_WORD << 16;
        out.put_slice(&line.to_le_bytes()[..4]);
    } else if len < 100 {
        let tens = u64::from(b'0' + (len / 10) as u8);
        let units = u64::from(b'0' + (len % 10) as u8);
        let line = u64::from(type_byte) | tens << 8 | units << 16 | CRLF_WORD << 24;
        out.put_slice(&line.to_le_bytes()[..5]);
    } else {
        put_line(out, type_byte, IntegerText::from_usize(len).as_bytes());
    }
}

fn put_integer_line(out: &mut BytesMut, type_byte: u8, value: i64) {
    put_line(out, type_byte, IntegerText::from_i64(value).as_bytes());
}

fn put_line(out: &mut BytesMut, type_byte: u8, text: &[u8]) {
    out.reserve(text.len() + 3);
    out.put_u8(type_byte);
    out.put_slice(text);
    out.put_slice(CRLF);
}

/// A line whose text comes from the caller: a CR or LF inside it would end the line early
/// and desynchronise the peer, so each is replaced by a space, as Redis'
/// `addReplyErrorFormat` does for error texts.
fn put_simple_line(out: &mut BytesMut, type_byte: u8, text: &[u8]) {
    if !text.iter().any(|&byte| byte == b'\r' || byte == b'\n') {
        put_line(out, type_byte, text);
        return;
    }
    out.reserve(text.len() + 3);
    out.put_u8(type_byte);
    for &byte in text {
        out.put_u8(if byte == b'\r' || byte == b'\n' { b' ' } else { byte });
    }
    out.put_slice(CRLF);
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn encoded(frame: &Frame, version: ProtocolVersion) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode(frame, version, &mut out);
        out.to_vec()
    }

    #[track_caller]
    fn assert_encodes(frame: Frame, resp2: &[u8], resp3: &[u8]) {
        assert_eq!(
            encoded(&frame, ProtocolVersion::Resp2),
            resp2,
            "RESP2 of {frame:?}: {:?}",
            String::from_utf8_lossy(&encoded(&frame, ProtocolVersion::Resp2))
        );
        assert_eq!(
            encoded(&frame, ProtocolVersion::Resp3),
            resp3,
            "RESP3 of {frame:?}: {:?}",
            String::from_utf8_lossy(&encoded(&frame, ProtocolVersion::Resp3))
        );
    }

    #[test]
    fn simple_string() {
        assert_encodes(Frame::ok(), b"+OK\r\n", b"+OK\r\n");
        assert_encodes(Frame::simple(""), b"+\r\n", b"+\r\n");
    }

    #[test]
    fn error() {
        assert_encodes(
            Frame::error("ERR syntax error"),
            b"-ERR syntax error\r\n",
            b"-ERR syntax error\r\n",
        );
    }

    #[test]
    fn line_breaks_inside_lines_become_spaces() {
        assert_encodes(Frame::error("ERR a\r\nb"), b"-ERR a  b\r\n", b"-ERR a  b\r\n");
        assert_encodes(
            Frame::SimpleString(Bytes::from_static(b"x\ny")),
            b"+x y\r\n",
            b"+x y\r\n",
        );
    }

    #[test]
    fn integer() {
        assert_encodes(Frame::integer(0), b":0\r\n", b":0\r\n");
        assert_encodes(Frame::integer(-42), b":-42\r\n", b":-42\r\n");
        assert_encodes(
            Frame::integer(i64::MIN),
            b":-9223372036854775808\r\n",
            b":-9223372036854775808\r\n",
        );
        assert_encodes(
            Frame::integer(i64::MAX),
            b":9223372036854775807\r\n",
            b":9223372036854775807\r\n",
        );
    }

    #[test]
    fn bulk_string() {
        assert_encodes(Frame::bulk("foo"), b"$3\r\nfoo\r\n", b"$3\r\nfoo\r\n");
        assert_encodes(Frame::bulk(""), b"$0\r\n\r\n", b"$0\r\n\r\n");
        assert_encodes(
            Frame::bulk_from_slice(b"a\r\nb"),
            b"$4\r\na\r\nb\r\n",
            b"$4\r\na\r\nb\r\n",
        );
    }

    #[test]
    fn length_lines_around_digit_boundaries() {
        for length in [0usize, 1, 9, 10, 11, 99, 100, 101, 999, 1000] {
            let data = vec![b'x'; length];
            let mut expected = format!("${}\r\n", data.len()).into_bytes();
            expected.extend_from_slice(&data);
            expected.extend_from_slice(b"\r\n");
            assert_encodes(Frame::bulk_from_slice(&data), &expected, &expected);
        }
        let mut out = BytesMut::new();
        encode_aggregate_header(b'*', usize::MAX, &mut out);
        assert_eq!(&out[..], format!("*{}\r\n", usize::MAX).as_bytes());
    }

    #[test]
    fn nulls() {
        assert_encodes(Frame::Null, b"$-1\r\n", b"_\r\n");
        assert_encodes(Frame::NullArray, b"*-1\r\n", b"_\r\n");
    }

    #[test]
    fn array() {
        assert_encodes(Frame::Array(vec![]), b"*0\r\n", b"*0\r\n");
        assert_encodes(
            Frame::Array(vec![Frame::bulk("a"), Frame::integer(1), Frame::Null]),
            b"*3\r\n$1\r\na\r\n:1\r\n$-1\r\n",
            b"*3\r\n$1\r\na\r\n:1\r\n_\r\n",
        );
    }

    #[test]
    fn map() {
        let map = Frame::Map(vec![
            (Frame::bulk("server"), Frame::bulk("redis")),
            (Frame::bulk("proto"), Frame::integer(3)),
        ]);
        assert_encodes(
            map,
            b"*4\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n",
            b"%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n",
        );
        assert_encodes(Frame::Map(vec![]), b"*0\r\n", b"%0\r\n");
    }

    #[test]
    fn set_and_push() {
        assert_encodes(
            Frame::Set(vec![Frame::bulk("a")]),
            b"*1\r\n$1\r\na\r\n",
            b"~1\r\n$1\r\na\r\n",
        );
        assert_encodes(
            Frame::Push(vec![Frame::bulk("message"), Frame::bulk("ch")]),
            b"*2\r\n$7\r\nmessage\r\n$2\r\nch\r\n",
            b">2\r\n$7\r\nmessage\r\n$2\r\nch\r\n",
        );
    }

    #[test]
    fn double() {
        assert_encodes(Frame::Double(1.5), b"$3\r\n1.5\r\n", b",1.5\r\n");
        assert_encodes(Frame::Double(3.0), b"$1\r\n3\r\n", b",3\r\n");
        assert_encodes(Frame::Double(f64::INFINITY), b"$3\r\ninf\r\n", b",inf\r\n");
        assert_encodes(Frame::Double(f64::NEG_INFINITY), b"$4\r\n-inf\r\n", b",-inf\r\n");
        assert_encodes(Frame::Double(f64::NAN), b"$3\r\nnan\r\n", b",nan\r\n");
        assert_encodes(Frame::Double(1e20), b"$5\r\n1e+20\r\n", b",1e+20\r\n");
    }

    #[test]
    fn boolean() {
        assert_encodes(Frame::Boolean(true), b":1\r\n", b"#t\r\n");
        assert_encodes(Frame::Boolean(false), b":0\r\n", b"#f\r\n");
    }

    #[test]
    fn big_number() {
        assert_encodes(
            Frame::BigNumber(Bytes::from_static(b"1234567890123456789012")),
            b"$22\r\n1234567890123456789012\r\n",
            b"(1234567890123456789012\r\n",
        );
    }

    #[test]
    fn verbatim() {
        assert_encodes(
            Frame::Verbatim {
                format: *b"txt",
                text: Bytes::from_static(b"Some string"),
            },
            b"$11\r\nSome string\r\n",
            b"=15\r\ntxt:Some string\r\n",
        );
    }

    #[test]
    fn pairs_nest_in_resp3_and_flatten_in_resp2() {
        let frame = Frame::Pairs(vec![(Frame::bulk("a"), Frame::Double(1.5))]);
        assert_encodes(
            frame,
            b"*2\r\n$1\r\na\r\n$3\r\n1.5\r\n",
            b"*1\r\n*2\r\n$1\r\na\r\n,1.5\r\n",
        );
        assert_encodes(Frame::Pairs(Vec::new()), b"*0\r\n", b"*0\r\n");
    }

    #[test]
    fn nested_downgrade() {
        let frame = Frame::Array(vec![Frame::Set(vec![Frame::Boolean(true)]), Frame::NullArray]);
        assert_encodes(frame, b"*2\r\n*1\r\n:1\r\n*-1\r\n", b"*2\r\n~1\r\n#t\r\n_\r\n");
    }

    #[test]
    fn helpers_for_streamed_replies() {
        let mut out = BytesMut::new();
        encode_aggregate_header(b'*', 2, &mut out);
        encode_bulk(b"a", &mut out);
        encode_bulk(b"", &mut out);
        assert_eq!(&out[..], b"*2\r\n$1\r\na\r\n$0\r\n\r\n");
    }

    #[test]
    fn encode_appends_to_existing_bytes() {
        let mut out = BytesMut::from(&b"+OK\r\n"[..]);
        encode(&Frame::integer(7), ProtocolVersion::Resp2, &mut out);
        assert_eq!(&out[..], b"+OK\r\n:7\r\n");
    }
}
