//! The RESP2/RESP3 value model shared by requests, replies and both decoders.

use bytes::Bytes;

/// One RESP value.
///
/// The variants are the RESP3 types; [`crate::encode()`] downgrades the RESP3-only ones to
/// RESP2 exactly as Redis 7.2 does when the connection speaks RESP2 (see each variant).
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    /// `+OK\r\n`. The text must not contain CR or LF (the encoder replaces them by spaces).
    SimpleString(Bytes),
    /// `-ERR text\r\n`, stored without the leading `-` and the CRLF.
    Error(Bytes),
    /// `:1\r\n`.
    Integer(i64),
    /// `$3\r\nfoo\r\n`.
    BulkString(Bytes),
    /// RESP3 `_\r\n`; RESP2 null bulk string `$-1\r\n`.
    Null,
    /// RESP3 `_\r\n`; RESP2 null array `*-1\r\n`.
    NullArray,
    /// `*<count>\r\n` followed by the elements.
    Array(Vec<Frame>),
    /// RESP3 `%<pairs>\r\n`; RESP2 a flat array of `2 * pairs` elements.
    Map(Vec<(Frame, Frame)>),
    /// RESP3 an array of two-element arrays (`*<pairs>` then `*2` per pair); RESP2 a flat
    /// array of `2 * pairs` elements. Redis replies so to HRANDFIELD WITHVALUES, ZRANGE
    /// WITHSCORES and friends (`addReplyArrayLen(c, 2)` only when `resp > 2`).
    Pairs(Vec<(Frame, Frame)>),
    /// RESP3 `~<count>\r\n`; RESP2 an array.
    Set(Vec<Frame>),
    /// RESP3 `,<text>\r\n`; RESP2 a bulk string. The text is [`crate::format_double`].
    Double(f64),
    /// RESP3 `#t\r\n` / `#f\r\n`; RESP2 the integer 1 / 0.
    Boolean(bool),
    /// RESP3 `(<digits>\r\n`; RESP2 a bulk string of the digits.
    BigNumber(Bytes),
    /// RESP3 `=<len>\r\n<format>:<text>\r\n`; RESP2 a bulk string of `text` only.
    Verbatim {
        /// Three-byte format such as `txt` or `mkd`.
        format: [u8; 3],
        /// The text without the `format:` prefix.
        text: Bytes,
    },
    /// RESP3 `><count>\r\n` (out-of-band data such as pub/sub messages); RESP2 an array.
    Push(Vec<Frame>),
}

impl Frame {
    /// `+OK`.
    pub fn ok() -> Frame {
        Frame::SimpleString(Bytes::from_static(b"OK"))
    }

    /// A simple string from static text, e.g. `Frame::simple("PONG")`.
    pub fn simple(text: &'static str) -> Frame {
        Frame::SimpleString(Bytes::from_static(text.as_bytes()))
    }

    /// An error reply; the text starts with the error code, e.g.
    /// `Frame::error("ERR syntax error")`.
    pub fn error(text: impl Into<String>) -> Frame {
        Frame::Error(Bytes::from(text.into()))
    }

    /// A bulk string that takes ownership of `data` without copying.
    pub fn bulk(data: impl Into<Bytes>) -> Frame {
        Frame::BulkString(data.into())
    }

    /// A bulk string that copies `data`.
    pub fn bulk_from_slice(data: &[u8]) -> Frame {
        Frame::BulkString(Bytes::copy_from_slice(data))
    }

    /// An integer reply.
    pub fn integer(value: i64) -> Frame {
        Frame::Integer(value)
    }

    /// An array reply.
    pub fn array(elements: Vec<Frame>) -> Frame {
        Frame::Array(elements)
    }

    /// True for [`Frame::Error`].
    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_))
    }

    /// True for [`Frame::Null`] and [`Frame::NullArray`].
    pub fn is_null(&self) -> bool {
        matches!(self, Frame::Null | Frame::NullArray)
    }

    /// The payload of a simple string, error, bulk string, big number or verbatim
    /// string; `None` for the other variants.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Frame::SimpleString(data)
            | Frame::Error(data)
            | Frame::BulkString(data)
            | Frame::BigNumber(data)
            | Frame::Verbatim { text: data, .. } => Some(data),
            _ => None,
        }
    }
}

impl From<crate::ProtocolError> for Frame {
    /// The error reply a server sends before closing a connection that broke the protocol.
    fn from(error: crate::ProtocolError) -> Frame {
        Frame::error(error.to_string())
    }
}

/// The protocol a connection speaks, chosen with `HELLO 2|3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ProtocolVersion {
    /// RESP2, what every connection starts with.
    #[default]
    Resp2,
    /// RESP3, after `HELLO 3`.
    Resp3,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_build_the_expected_variants() {
        assert_eq!(Frame::ok(), Frame::SimpleString(Bytes::from_static(b"OK")));
        assert_eq!(Frame::simple("PONG"), Frame::SimpleString(Bytes::from_static(b"PONG")));
        assert_eq!(
            Frame::error("ERR syntax error"),
            Frame::Error(Bytes::from_static(b"ERR syntax error"))
        );
        assert_eq!(
            Frame::bulk(vec![1u8, 2]),
            Frame::BulkString(Bytes::from_static(&[1, 2]))
        );
        assert_eq!(
            Frame::bulk_from_slice(b"ab"),
            Frame::BulkString(Bytes::from_static(b"ab"))
        );
        assert_eq!(Frame::integer(-3), Frame::Integer(-3));
        assert!(Frame::error("ERR x").is_error());
        assert!(!Frame::ok().is_error());
        assert!(Frame::Null.is_null() && Frame::NullArray.is_null());
        assert_eq!(ProtocolVersion::default(), ProtocolVersion::Resp2);
    }

    #[test]
    fn protocol_error_converts_to_its_wire_reply() {
        let frame = Frame::from(crate::ProtocolError::InvalidBulkLength);
        assert_eq!(frame, Frame::error("ERR Protocol error: invalid bulk length"));
    }
}
