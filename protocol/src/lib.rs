//! The RESP wire protocol of Starling: framing, limits and key-to-slot hashing.
//!
//! This crate parses and composes bytes only. It knows nothing of storage, commands or
//! the cluster: the node crate turns decoded requests into commands and commands'
//! results into [`Frame`]s.
//!
//! # Layout
//!
//! - [`frame`]: [`Frame`], the RESP2/RESP3 value model, and [`ProtocolVersion`].
//! - [`encode`](mod@encode): [`encode()`] writes a frame as RESP2 or RESP3 bytes,
//!   downgrading RESP3-only types like Redis 7.2; [`format_double`] is Redis' text of
//!   a double.
//! - [`request`]: [`RequestDecoder`], the server side. It turns bytes from a client into
//!   argument vectors (multibulk and inline, incremental, zero-copy, bounded), with the
//!   exact protocol errors of Redis. [`split_inline_args`] splits inline lines with
//!   `sdssplitargs` rules.
//! - [`response`]: [`FrameDecoder`], the client side. It turns any RESP2/RESP3 reply
//!   back into a [`Frame`] (used by tests, the benchmark tool and cluster links).
//! - [`limits`]: [`DecoderLimits`] and [`FrameDecoderLimits`], the bounds both decoders
//!   enforce before trusting any declared length.
//! - [`error`]: [`ProtocolError`], whose `Display` is the exact error reply text.
//! - [`slot`]: [`key_slot`] and [`hash_tag`], CRC16/XMODEM hash slots with hash tags.
//!
//! Private helpers, one concept each: `inline.rs` (Redis' `sdssplitargs` quoting rules),
//! `number.rs` (Redis' `string2ll` and allocation-free integer text) and `double.rs`
//! (Redis' `d2string`: Grisu2 digits laid out like `fpconv_dtoa`).
//!
//! A server connection loop looks like:
//!
//! ```
//! use bytes::BytesMut;
//! use starling_protocol::{encode, DecoderLimits, Frame, ProtocolVersion, RequestDecoder};
//!
//! let mut decoder = RequestDecoder::new(DecoderLimits::default());
//! let mut read_buffer = BytesMut::from(&b"*1\r\n$4\r\nPING\r\n"[..]);
//! let mut write_buffer = BytesMut::new();
//! while let Some(arguments) = decoder.decode(&mut read_buffer)? {
//!     assert_eq!(&arguments[0][..], b"PING");
//!     encode(&Frame::simple("PONG"), ProtocolVersion::Resp2, &mut write_buffer);
//! }
//! assert_eq!(&write_buffer[..], b"+PONG\r\n");
//! # Ok::<(), starling_protocol::ProtocolError>(())
//! ```

mod double;
pub mod encode;
pub mod error;
pub mod frame;
mod inline;
pub mod limits;
mod number;
pub mod request;
pub mod response;
pub mod slot;

pub use encode::{encode, encode_aggregate_header, encode_bulk, format_double};
pub use error::ProtocolError;
pub use frame::{Frame, ProtocolVersion};
pub use limits::{DecoderLimits, FrameDecoderLimits};
pub use request::{split_inline_args, RequestDecoder};
pub use response::FrameDecoder;
pub use slot::{hash_tag, key_slot, SLOT_COUNT};
