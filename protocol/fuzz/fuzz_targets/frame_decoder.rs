//! Fuzzes the client-side reply decoder.
//!
//! Invariants checked on every input:
//! - no panic, whatever the bytes;
//! - limits hold on every decoded frame: bulk payloads at most `max_bulk_len`, aggregates
//!   at most `max_aggregate_len` entries, nesting at most `max_nesting_depth`;
//! - encode is the inverse of decode: a decoded frame encoded as RESP3 decodes to the
//!   same frame (up to what RESP3 cannot tell apart: `NullArray` is `_` like `Null`,
//!   and a bulk error's CR/LF become spaces in a simple error).

#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use starling_protocol::{encode, Frame, FrameDecoder, FrameDecoderLimits, ProtocolVersion};

const LIMITS: FrameDecoderLimits = FrameDecoderLimits {
    max_bulk_len: 1024,
    max_line_len: 256,
    max_aggregate_len: 64,
    max_nesting_depth: 16,
};

fn check_limits(frame: &Frame, depth: usize) {
    assert!(depth <= LIMITS.max_nesting_depth);
    match frame {
        Frame::BulkString(data) | Frame::BigNumber(data) | Frame::Error(data) => {
            assert!(data.len() <= LIMITS.max_bulk_len.max(LIMITS.max_line_len))
        }
        Frame::Verbatim { text, .. } => assert!(text.len() + 4 <= LIMITS.max_bulk_len),
        Frame::Array(elements) | Frame::Set(elements) | Frame::Push(elements) => {
            assert!(elements.len() <= LIMITS.max_aggregate_len);
            for element in elements {
                check_limits(element, depth + 1);
            }
        }
        Frame::Map(pairs) => {
            assert!(pairs.len() <= LIMITS.max_aggregate_len);
            for (key, value) in pairs {
                check_limits(key, depth + 1);
                check_limits(value, depth + 1);
            }
        }
        _ => {}
    }
}

/// The frame RESP3 gives back after encoding `frame`.
fn resp3_image(frame: &Frame) -> Frame {
    let image_all = |elements: &[Frame]| elements.iter().map(resp3_image).collect();
    match frame {
        Frame::NullArray => Frame::Null,
        Frame::Error(text) => Frame::Error(Bytes::from(
            text.iter()
                .map(|&byte| if byte == b'\r' || byte == b'\n' { b' ' } else { byte })
                .collect::<Vec<u8>>(),
        )),
        Frame::Array(elements) => Frame::Array(image_all(elements)),
        Frame::Set(elements) => Frame::Set(image_all(elements)),
        Frame::Push(elements) => Frame::Push(image_all(elements)),
        Frame::Map(pairs) => Frame::Map(
            pairs
                .iter()
                .map(|(key, value)| (resp3_image(key), resp3_image(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Equality where NaN equals NaN.
fn same_frame(left: &Frame, right: &Frame) -> bool {
    match (left, right) {
        (Frame::Double(left), Frame::Double(right)) => left == right || (left.is_nan() && right.is_nan()),
        (Frame::Array(left), Frame::Array(right))
        | (Frame::Set(left), Frame::Set(right))
        | (Frame::Push(left), Frame::Push(right)) => {
            left.len() == right.len() && left.iter().zip(right).all(|(l, r)| same_frame(l, r))
        }
        (Frame::Map(left), Frame::Map(right)) => {
            left.len() == right.len()
                && left
                    .iter()
                    .zip(right)
                    .all(|((lk, lv), (rk, rv))| same_frame(lk, rk) && same_frame(lv, rv))
        }
        (left, right) => left == right,
    }
}

fn check_round_trip(frame: &Frame) {
    let mut encoded = BytesMut::new();
    encode(frame, ProtocolVersion::Resp3, &mut encoded);
    // Re-encoding may lengthen numbers (`:+1` becomes `:1`, never longer than 20 bytes),
    // so the round trip uses the default, looser limits.
    let mut decoder = FrameDecoder::new();
    let decoded = decoder
        .decode(&mut encoded)
        .expect("encoded frames decode")
        .expect("encoded frames are complete");
    assert!(encoded.is_empty());
    let expected = resp3_image(frame);
    assert!(same_frame(&decoded, &expected), "{decoded:?} != {expected:?}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&chunk_selector, input)) = data.split_first() else {
        return;
    };
    let chunk_size = usize::from(chunk_selector % 32) + 1;
    let mut decoder = FrameDecoder::with_limits(LIMITS);
    let mut buffer = BytesMut::new();
    for chunk in input.chunks(chunk_size) {
        buffer.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buffer) {
                Ok(Some(frame)) => {
                    check_limits(&frame, 0);
                    check_round_trip(&frame);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
