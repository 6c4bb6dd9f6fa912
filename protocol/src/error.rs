//! Protocol errors.
//!
//! The `Display` text of every variant a server can hit is the exact wire text of the
//! error reply Redis 7.2 sends (without the leading `-` and the trailing CRLF), so the
//! connection handler can write `Frame::error(error.to_string())` and close the socket.

/// An error found while decoding bytes received from a peer.
///
/// After any of these errors the stream is out of sync: the connection must be closed
/// (Redis does the same after a protocol error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A `$<len>` line that is not an integer, is negative or exceeds `max_bulk_len`.
    #[error("ERR Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// A `*<count>` line that is not an integer or exceeds `max_multibulk_len`.
    #[error("ERR Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// An element of a multibulk request that does not start with `$`.
    ///
    /// The byte is shown as the character with the same code point (Latin-1), which
    /// matches Redis' `%c` for every ASCII byte.
    #[error("ERR Protocol error: expected '$', got '{0}'")]
    ExpectedBulk(char),
    /// An inline request whose quotes are not closed, or whose closing quote is not
    /// followed by a space.
    #[error("ERR Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    /// More than `max_inline_len` bytes of an inline request without a newline.
    #[error("ERR Protocol error: too big inline request")]
    TooBigInlineRequest,
    /// More than `max_inline_len` bytes after `*` without a CR.
    #[error("ERR Protocol error: too big mbulk count string")]
    TooBigMultibulkCountString,
    /// More than `max_inline_len` bytes after `$` without a CR.
    #[error("ERR Protocol error: too big bulk count string")]
    TooBigBulkCountString,
    /// Client side only ([`crate::FrameDecoder`]): the reply is not valid RESP2/RESP3.
    /// The text names the rule that was broken.
    #[error("ERR Protocol error: invalid frame: {0}")]
    InvalidFrame(String),
    /// Client side only: aggregates are nested deeper than the configured bound.
    #[error("ERR Protocol error: frame nesting deeper than {0} levels")]
    NestingTooDeep(usize),
}

#[cfg(test)]
mod tests {
    use super::ProtocolError;

    #[test]
    fn display_is_the_exact_redis_wire_text() {
        let expected_texts = [
            (
                ProtocolError::InvalidBulkLength,
                "ERR Protocol error: invalid bulk length",
            ),
            (
                ProtocolError::InvalidMultibulkLength,
                "ERR Protocol error: invalid multibulk length",
            ),
            (
                ProtocolError::ExpectedBulk('f'),
                "ERR Protocol error: expected '$', got 'f'",
            ),
            (
                ProtocolError::UnbalancedQuotes,
                "ERR Protocol error: unbalanced quotes in request",
            ),
            (
                ProtocolError::TooBigInlineRequest,
                "ERR Protocol error: too big inline request",
            ),
            (
                ProtocolError::TooBigMultibulkCountString,
                "ERR Protocol error: too big mbulk count string",
            ),
            (
                ProtocolError::TooBigBulkCountString,
                "ERR Protocol error: too big bulk count string",
            ),
        ];
        for (error, expected_text) in expected_texts {
            assert_eq!(error.to_string(), expected_text);
        }
    }
}
