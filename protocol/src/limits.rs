//! Bounds on everything the decoders accept from a peer.
//!
//! Every length a peer declares is checked against one of these numbers before any work
//! or memory is spent on it, so a hostile peer costs at most the bytes it really sends.

/// One kibibyte, in bytes.
const KIBIBYTE: usize = 1024;
/// One mebibyte, in bytes.
const MEBIBYTE: usize = 1024 * KIBIBYTE;

/// Limits applied by [`crate::RequestDecoder`] to requests received by the server.
///
/// The defaults are Redis 7.2's: `proto-max-bulk-len` 512 MiB and `PROTO_INLINE_MAX_SIZE`
/// 64 KiB. Redis accepts up to `INT_MAX` elements per request; Starling bounds the count
/// at 1 Mi elements by default, which is far above what real clients send (the largest
/// known, `CLUSTER ADDSLOTS` with every slot, has 16 386 arguments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecoderLimits {
    /// Largest accepted `$<len>` in a request (`proto-max-bulk-len`).
    pub max_bulk_len: usize,
    /// Largest inline request, and largest `*<count>` / `$<len>` line, without a newline.
    pub max_inline_len: usize,
    /// Largest accepted `*<count>` in a request.
    pub max_multibulk_len: usize,
}

impl Default for DecoderLimits {
    fn default() -> Self {
        DecoderLimits {
            max_bulk_len: 512 * MEBIBYTE,
            max_inline_len: 64 * KIBIBYTE,
            max_multibulk_len: MEBIBYTE,
        }
    }
}

/// Limits applied by [`crate::FrameDecoder`] to replies received by a client.
///
/// Replies can legitimately be larger than requests (`KEYS *`, `CLUSTER NODES`), so the
/// element-count bound is looser; nesting is bounded because the decoder keeps one stack
/// entry per open aggregate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameDecoderLimits {
    /// Largest accepted length of a bulk string, bulk error or verbatim string.
    pub max_bulk_len: usize,
    /// Largest simple line (`+`, `-`, `:`, `,`, `(`, headers) including its CRLF.
    pub max_line_len: usize,
    /// Largest accepted element count of one array, set, push, map or attribute.
    pub max_aggregate_len: usize,
    /// Largest number of aggregates open at the same time.
    pub max_nesting_depth: usize,
}

impl Default for FrameDecoderLimits {
    fn default() -> Self {
        FrameDecoderLimits {
            max_bulk_len: 512 * MEBIBYTE,
            max_line_len: MEBIBYTE,
            max_aggregate_len: i32::MAX as usize,
            max_nesting_depth: 128,
        }
    }
}
