//! Property tests: encoding and decoding agree, splits do not matter, and no input makes
//! a decoder panic or exceed its limits.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use starling_protocol::request::BULK_READ_RESERVE_MAX_BYTES;
use starling_protocol::{
    encode, format_double, split_inline_args, DecoderLimits, Frame, FrameDecoder, FrameDecoderLimits, ProtocolError,
    ProtocolVersion, RequestDecoder,
};

/// Text allowed in simple strings and errors: anything but CR and LF.
fn line_text() -> impl Strategy<Value = Bytes> {
    prop::collection::vec(
        any::<u8>().prop_filter("no CR or LF", |b| *b != b'\r' && *b != b'\n'),
        0..24,
    )
    .prop_map(Bytes::from)
}

fn binary_data() -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..48).prop_map(Bytes::from)
}

fn leaf_frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        line_text().prop_map(Frame::SimpleString),
        line_text().prop_map(Frame::Error),
        any::<i64>().prop_map(Frame::Integer),
        binary_data().prop_map(Frame::BulkString),
        Just(Frame::Null),
        Just(Frame::NullArray),
        // NaN is left out only because NaN != NaN would fail the equality check.
        any::<f64>()
            .prop_filter("not NaN", |v| !v.is_nan())
            .prop_map(Frame::Double),
        prop_oneof![Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(-0.0), Just(1e20)].prop_map(Frame::Double),
        any::<bool>().prop_map(Frame::Boolean),
        "-?[1-9][0-9]{0,40}".prop_map(|digits| Frame::BigNumber(Bytes::from(digits))),
        ("[a-z]{3}", binary_data()).prop_map(|(format, text)| Frame::Verbatim {
            format: format.as_bytes().try_into().unwrap_or(*b"txt"),
            text,
        }),
    ]
}

fn any_frame() -> impl Strategy<Value = Frame> {
    leaf_frame().prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Frame::Array),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Frame::Set),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Frame::Push),
            prop::collection::vec((inner.clone(), inner), 0..4).prop_map(Frame::Map),
        ]
    })
}

/// What a frame decodes to after being encoded for `version`: the downgrade table of
/// `encode`, applied independently of it.
fn expected_after_round_trip(frame: &Frame, version: ProtocolVersion) -> Frame {
    let convert_all = |elements: &[Frame]| {
        elements
            .iter()
            .map(|element| expected_after_round_trip(element, version))
            .collect::<Vec<_>>()
    };
    match (frame, version) {
        (Frame::NullArray, ProtocolVersion::Resp3) => Frame::Null,
        (Frame::Array(elements), _) => Frame::Array(convert_all(elements)),
        (Frame::Set(elements), ProtocolVersion::Resp3) => Frame::Set(convert_all(elements)),
        (Frame::Push(elements), ProtocolVersion::Resp3) => Frame::Push(convert_all(elements)),
        (Frame::Set(elements) | Frame::Push(elements), ProtocolVersion::Resp2) => Frame::Array(convert_all(elements)),
        (Frame::Map(pairs), ProtocolVersion::Resp3) => Frame::Map(
            pairs
                .iter()
                .map(|(key, value)| {
                    (
                        expected_after_round_trip(key, version),
                        expected_after_round_trip(value, version),
                    )
                })
                .collect(),
        ),
        (Frame::Map(pairs), ProtocolVersion::Resp2) => Frame::Array(
            pairs
                .iter()
                .flat_map(|(key, value)| [key, value])
                .map(|element| expected_after_round_trip(element, version))
                .collect(),
        ),
        (Frame::Double(value), ProtocolVersion::Resp2) => Frame::bulk(format_double(*value)),
        (Frame::Boolean(value), ProtocolVersion::Resp2) => Frame::Integer(i64::from(*value)),
        (Frame::BigNumber(digits), ProtocolVersion::Resp2) => Frame::BulkString(digits.clone()),
        (Frame::Verbatim { text, .. }, ProtocolVersion::Resp2) => Frame::BulkString(text.clone()),
        (other, _) => other.clone(),
    }
}

/// Cuts `bytes` at the given points (taken modulo the length) into ordered chunks.
fn chunks_at(bytes: &[u8], split_points: &[usize]) -> Vec<Vec<u8>> {
    let mut cuts: Vec<usize> = split_points.iter().map(|point| point % (bytes.len() + 1)).collect();
    cuts.push(0);
    cuts.push(bytes.len());
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2)
        .map(|window| bytes[window[0]..window[1]].to_vec())
        .collect()
}

/// Feeds chunks to a frame decoder, collecting every frame.
fn decode_frames(chunks: &[Vec<u8>]) -> Result<Vec<Frame>, ProtocolError> {
    let mut decoder = FrameDecoder::new();
    let mut buffer = BytesMut::new();
    let mut frames = Vec::new();
    for chunk in chunks {
        buffer.extend_from_slice(chunk);
        while let Some(frame) = decoder.decode(&mut buffer)? {
            frames.push(frame);
        }
    }
    assert!(buffer.is_empty() && decoder.is_idle());
    Ok(frames)
}

/// Feeds chunks to a request decoder, collecting every request.
fn decode_requests(limits: DecoderLimits, chunks: &[Vec<u8>]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
    let mut decoder = RequestDecoder::new(limits);
    let mut buffer = BytesMut::new();
    let mut requests = Vec::new();
    for chunk in chunks {
        buffer.extend_from_slice(chunk);
        while let Some(arguments) = decoder.decode(&mut buffer)? {
            assert!(!arguments.is_empty());
            // A request never holds more than the bytes that carried it.
            let argument_bytes: usize = arguments.iter().map(Bytes::len).sum();
            assert!(arguments.len() + argument_bytes <= chunks.iter().map(Vec::len).sum::<usize>());
            requests.push(arguments);
        }
    }
    Ok(requests)
}

fn encode_request(arguments: &[Vec<u8>], out: &mut BytesMut) {
    let frame = Frame::Array(arguments.iter().map(|argument| Frame::bulk(argument.clone())).collect());
    encode(&frame, ProtocolVersion::Resp2, out);
}

/// Quotes an argument for an inline request so that `sdssplitargs` gives it back.
fn quote_inline(argument: &[u8]) -> Vec<u8> {
    let mut quoted = vec![b'"'];
    for &byte in argument {
        match byte {
            b'"' => quoted.extend_from_slice(b"\\\""),
            b'\\' => quoted.extend_from_slice(b"\\\\"),
            b' '..=b'~' => quoted.push(byte),
            _ => quoted.extend_from_slice(format!("\\x{byte:02x}").as_bytes()),
        }
    }
    quoted.push(b'"');
    quoted
}

fn resp_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let resp_byte = prop_oneof![
        3 => prop::sample::select(b"*$+-:_,#(!=%~>|\r\n0123456789-\"' \\xt".to_vec()),
        1 => any::<u8>(),
    ];
    prop::collection::vec(resp_byte, 0..256)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn frames_round_trip_through_resp3_and_resp2(
        frames in prop::collection::vec(any_frame(), 1..4),
        split_points in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        for version in [ProtocolVersion::Resp3, ProtocolVersion::Resp2] {
            let mut encoded = BytesMut::new();
            for frame in &frames {
                encode(frame, version, &mut encoded);
            }
            let decoded = decode_frames(&chunks_at(&encoded, &split_points));
            let expected: Vec<Frame> = frames
                .iter()
                .map(|frame| expected_after_round_trip(frame, version))
                .collect();
            prop_assert_eq!(decoded, Ok(expected), "version {:?}", version);
        }
    }

    #[test]
    fn multibulk_requests_round_trip_with_any_split(
        requests in prop::collection::vec(
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..6),
            1..5,
        ),
        split_points in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut encoded = BytesMut::new();
        for arguments in &requests {
            encode_request(arguments, &mut encoded);
        }
        let decoded = decode_requests(DecoderLimits::default(), &chunks_at(&encoded, &split_points))
            .expect("valid requests decode");
        let decoded: Vec<Vec<Vec<u8>>> = decoded
            .iter()
            .map(|arguments| arguments.iter().map(|argument| argument.to_vec()).collect())
            .collect();
        prop_assert_eq!(decoded, requests);
    }

    #[test]
    fn byte_by_byte_equals_all_at_once(input in resp_like_bytes()) {
        let all_at_once = decode_requests(DecoderLimits::default(), std::slice::from_ref(&input));
        let single_bytes: Vec<Vec<u8>> = input.iter().map(|byte| vec![*byte]).collect();
        let byte_by_byte = decode_requests(DecoderLimits::default(), &single_bytes);
        prop_assert_eq!(all_at_once, byte_by_byte);
    }

    #[test]
    fn quoted_inline_arguments_round_trip(
        arguments in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..24), 1..6),
        line_ending in prop_oneof![Just(&b"\r\n"[..]), Just(&b"\n"[..])],
    ) {
        let mut line = Vec::new();
        for argument in &arguments {
            line.extend_from_slice(&quote_inline(argument));
            line.push(b' ');
        }
        let split = split_inline_args(&line).expect("quoted line splits");
        let split: Vec<Vec<u8>> = split.iter().map(|argument| argument.to_vec()).collect();
        prop_assert_eq!(&split, &arguments);

        line.extend_from_slice(line_ending);
        let decoded = decode_requests(DecoderLimits::default(), &[line]).expect("valid line");
        let decoded: Vec<Vec<u8>> = decoded[0].iter().map(|argument| argument.to_vec()).collect();
        prop_assert_eq!(decoded, arguments);
    }

    #[test]
    fn request_decoder_never_panics_and_respects_limits(
        input in prop_oneof![resp_like_bytes(), prop::collection::vec(any::<u8>(), 0..256)],
        split_points in prop::collection::vec(any::<usize>(), 0..4),
    ) {
        let limits = DecoderLimits { max_bulk_len: 16, max_inline_len: 32, max_multibulk_len: 8 };
        let mut decoder = RequestDecoder::new(limits);
        let mut buffer = BytesMut::new();
        'feed: for chunk in chunks_at(&input, &split_points) {
            buffer.extend_from_slice(&chunk);
            loop {
                match decoder.decode(&mut buffer) {
                    Ok(Some(arguments)) => {
                        prop_assert!(!arguments.is_empty());
                        let argument_bytes: usize = arguments.iter().map(Bytes::len).sum();
                        prop_assert!(arguments.len() + argument_bytes <= input.len());
                        // A multibulk request obeys the declared-length limits.
                        if input.first() == Some(&b'*') && !input.contains(&b'\n') {
                            prop_assert!(arguments.len() <= limits.max_multibulk_len);
                            for argument in &arguments {
                                prop_assert!(argument.len() <= limits.max_bulk_len);
                            }
                        }
                    }
                    Ok(None) => break,
                    Err(_) => break 'feed,
                }
            }
            // Memory held is bounded by what was sent plus the bounded read reserve.
            prop_assert!(
                buffer.capacity() <= 2 * input.len() + BULK_READ_RESERVE_MAX_BYTES + 64
            );
        }
    }

    #[test]
    fn frame_decoder_never_panics(
        input in prop_oneof![resp_like_bytes(), prop::collection::vec(any::<u8>(), 0..256)],
        split_points in prop::collection::vec(any::<usize>(), 0..4),
    ) {
        let limits = FrameDecoderLimits {
            max_bulk_len: 16,
            max_line_len: 32,
            max_aggregate_len: 8,
            max_nesting_depth: 4,
        };
        for mut decoder in [FrameDecoder::with_limits(limits), FrameDecoder::new()] {
            let mut buffer = BytesMut::new();
            'feed: for chunk in chunks_at(&input, &split_points) {
                buffer.extend_from_slice(&chunk);
                loop {
                    match decoder.decode(&mut buffer) {
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(_) => break 'feed,
                    }
                }
            }
        }
    }

    #[test]
    fn format_double_parses_back(value in any::<f64>().prop_filter("finite", |v| v.is_finite())) {
        let text = format_double(value);
        let parsed: f64 = text.parse().expect("parses");
        prop_assert_eq!(parsed.to_bits(), value.to_bits(), "{}", text);
    }
}
