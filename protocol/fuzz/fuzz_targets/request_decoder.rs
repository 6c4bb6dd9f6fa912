//! Fuzzes the server-side request decoder.
//!
//! Invariants checked on every input:
//! - no panic, whatever the bytes;
//! - every request is non-empty, and a request never holds more argument bytes than the
//!   input had;
//! - limits hold: a multibulk argument is at most `max_bulk_len` bytes and a request
//!   at most `max_multibulk_len` arguments, unless it came from an inline line, whose
//!   size is bounded by `max_inline_len` plus one read chunk;
//! - the read buffer never grows beyond what was fed plus the bounded read reserve;
//! - feeding in chunks gives a prefix of what feeding at once gives, and the same
//!   requests when neither fails (splits never change the meaning of a stream).

#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use starling_protocol::request::BULK_READ_RESERVE_MAX_BYTES;
use starling_protocol::{DecoderLimits, ProtocolError, RequestDecoder};

const LIMITS: DecoderLimits = DecoderLimits {
    max_bulk_len: 1024,
    max_inline_len: 256,
    max_multibulk_len: 64,
};

struct Outcome {
    requests: Vec<Vec<Bytes>>,
    error_opt: Option<ProtocolError>,
}

fn decode_in_chunks(input: &[u8], chunk_size: usize) -> Outcome {
    let mut decoder = RequestDecoder::new(LIMITS);
    let mut buffer = BytesMut::new();
    let mut requests = Vec::new();
    for chunk in input.chunks(chunk_size) {
        buffer.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buffer) {
                Ok(Some(arguments)) => {
                    check_request_limits(&arguments, input.len(), chunk_size);
                    requests.push(arguments);
                }
                Ok(None) => break,
                Err(error) => {
                    return Outcome {
                        requests,
                        error_opt: Some(error),
                    }
                }
            }
        }
        assert!(
            buffer.capacity() <= 2 * input.len() + BULK_READ_RESERVE_MAX_BYTES + 64,
            "buffer capacity {} for {} input bytes",
            buffer.capacity(),
            input.len()
        );
    }
    Outcome {
        requests,
        error_opt: None,
    }
}

fn check_request_limits(arguments: &[Bytes], input_len: usize, chunk_size: usize) {
    assert!(!arguments.is_empty(), "empty request returned");
    let argument_bytes: usize = arguments.iter().map(Bytes::len).sum();
    assert!(arguments.len() + argument_bytes <= input_len);
    let inline_line_len_max = LIMITS.max_inline_len + chunk_size;
    assert!(arguments.len() <= LIMITS.max_multibulk_len.max(inline_line_len_max));
    for argument in arguments {
        assert!(argument.len() <= LIMITS.max_bulk_len.max(inline_line_len_max));
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the chunk size, so that split handling is fuzzed too.
    let Some((&chunk_selector, input)) = data.split_first() else {
        return;
    };
    let chunk_size = usize::from(chunk_selector % 32) + 1;
    let chunked = decode_in_chunks(input, chunk_size);
    let at_once = decode_in_chunks(input, input.len().max(1));

    assert!(chunked.requests.len() <= at_once.requests.len());
    assert_eq!(chunked.requests[..], at_once.requests[..chunked.requests.len()]);
    if at_once.error_opt.is_some() {
        assert!(chunked.error_opt.is_some(), "only the whole input failed");
    }
    if chunked.error_opt.is_none() {
        assert_eq!(chunked.requests, at_once.requests);
    }
});
