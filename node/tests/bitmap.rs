//! The bitmap commands through a real client: SETBIT, GETBIT, BITCOUNT,
//! BITPOS, BITOP, BITFIELD and BITFIELD_RO, with their errors, the
//! proto-max-bulk-len bound on offsets (cf. CVE-2022-35977), WRONGTYPE, and
//! BITOP across the shards of a 4-shard server.

mod common;

use common::{error_text, int, key_on_shard, query, reply};

use common::TestServer;
use redis::{cmd, Connection, Value};

fn error(connection: &mut Connection, args: &[&str]) -> String {
    error_text(query(connection, args))
}

fn bytes_of(connection: &mut Connection, key: &str) -> Option<Vec<u8>> {
    cmd("GET").arg(key).query(connection).expect("GET")
}

fn set_bytes(connection: &mut Connection, key: &str, value: &[u8]) {
    let _: () = cmd("SET").arg(key).arg(value).query(connection).expect("SET");
}

fn exists(connection: &mut Connection, key: &str) -> bool {
    int(connection, &["EXISTS", key]) == 1
}

fn encoding(connection: &mut Connection, key: &str) -> String {
    match reply(connection, &["OBJECT", "ENCODING", key]) {
        Value::BulkString(bytes) => String::from_utf8(bytes).expect("utf-8"),
        Value::SimpleString(text) => text,
        other => panic!("OBJECT ENCODING: {other:?}"),
    }
}

/// BITFIELD's reply as integers, None for nil.
fn fields(connection: &mut Connection, args: &[&str]) -> Vec<Option<i64>> {
    match reply(connection, args) {
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Int(value) => Some(value),
                Value::Nil => None,
                other => panic!("{args:?}: unexpected {other:?}"),
            })
            .collect(),
        other => panic!("{args:?}: expected an array, got {other:?}"),
    }
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const BIT_OFFSET_ERROR: &str = "ERR bit offset is not an integer or out of range";

#[test]
fn setbit_and_getbit_grow_the_string_and_return_the_old_bit() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(int(&mut connection, &["GETBIT", "bits", "0"]), 0);
    assert_eq!(int(&mut connection, &["SETBIT", "bits", "7", "1"]), 0);
    assert_eq!(bytes_of(&mut connection, "bits"), Some(vec![0x01]));
    assert_eq!(int(&mut connection, &["SETBIT", "bits", "7", "1"]), 1);
    assert_eq!(int(&mut connection, &["SETBIT", "bits", "7", "0"]), 1);
    assert_eq!(int(&mut connection, &["SETBIT", "bits", "100", "1"]), 0);
    assert_eq!(int(&mut connection, &["STRLEN", "bits"]), 13);
    assert_eq!(int(&mut connection, &["GETBIT", "bits", "100"]), 1);
    assert_eq!(int(&mut connection, &["GETBIT", "bits", "101"]), 0);
    assert_eq!(int(&mut connection, &["GETBIT", "bits", "1000000"]), 0);
    assert_eq!(encoding(&mut connection, "bits"), "raw");

    // Bit 0 is the most significant bit of the first byte.
    set_bytes(&mut connection, "text", b"`");
    assert_eq!(int(&mut connection, &["GETBIT", "text", "1"]), 1);
    assert_eq!(int(&mut connection, &["GETBIT", "text", "2"]), 1);
    assert_eq!(int(&mut connection, &["GETBIT", "text", "0"]), 0);
    // Editing an integer or embstr string in place makes it raw, as in Redis.
    set_bytes(&mut connection, "number", b"123");
    assert_eq!(encoding(&mut connection, "number"), "int");
    assert_eq!(int(&mut connection, &["SETBIT", "number", "1", "1"]), 0);
    assert_eq!(bytes_of(&mut connection, "number"), Some(b"q23".to_vec()));
    assert_eq!(encoding(&mut connection, "number"), "raw");
    set_bytes(&mut connection, "short", b"abc");
    assert_eq!(int(&mut connection, &["GETBIT", "short", "1"]), 1);
    assert_eq!(encoding(&mut connection, "short"), "embstr");
    assert_eq!(int(&mut connection, &["SETBIT", "short", "1", "1"]), 1);
    assert_eq!(encoding(&mut connection, "short"), "raw");

    // SETBIT keeps the TTL.
    assert_eq!(int(&mut connection, &["EXPIRE", "bits", "100"]), 1);
    int(&mut connection, &["SETBIT", "bits", "3", "1"]);
    assert!(int(&mut connection, &["TTL", "bits"]) > 0);

    for (args, expected) in [
        (&["SETBIT", "bits", "-1", "1"][..], BIT_OFFSET_ERROR),
        (&["SETBIT", "bits", "abc", "1"], BIT_OFFSET_ERROR),
        (&["SETBIT", "bits", "1.5", "1"], BIT_OFFSET_ERROR),
        (
            &["SETBIT", "bits", "1", "2"],
            "ERR bit is not an integer or out of range",
        ),
        (
            &["SETBIT", "bits", "1", "-1"],
            "ERR bit is not an integer or out of range",
        ),
        (
            &["SETBIT", "bits", "1", "abc"],
            "ERR bit is not an integer or out of range",
        ),
        (&["GETBIT", "bits", "-1"], BIT_OFFSET_ERROR),
        (&["GETBIT", "bits", "x"], BIT_OFFSET_ERROR),
        (
            &["SETBIT", "bits", "1"],
            "ERR wrong number of arguments for 'setbit' command",
        ),
        (
            &["GETBIT", "bits"],
            "ERR wrong number of arguments for 'getbit' command",
        ),
    ] {
        assert_eq!(error(&mut connection, args), expected, "{args:?}");
    }
    assert!(!exists(&mut connection, "never"));
    assert_eq!(
        error(&mut connection, &["SETBIT", "never", "-1", "1"]),
        BIT_OFFSET_ERROR
    );
    assert!(!exists(&mut connection, "never"), "a refused SETBIT creates nothing");
}

/// cf. CVE-2022-35977: a write can never grow a string past
/// proto-max-bulk-len, whatever offset the client sends. Redis 7.2 refuses
/// such offsets with its bit-offset error (the string-size error of SETRANGE
/// cannot happen for bits).
#[test]
fn offsets_beyond_proto_max_bulk_len_are_refused() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(
        reply(&mut connection, &["CONFIG", "SET", "proto-max-bulk-len", "1mb"]),
        Value::Okay
    );
    let last_bit = (1u64 << 20) * 8 - 1;
    let first_bit_beyond = (last_bit + 1).to_string();
    for args in [
        &["SETBIT", "big", &first_bit_beyond, "1"][..],
        &["SETBIT", "big", "9223372036854775807", "1"],
        &["GETBIT", "big", &first_bit_beyond],
        &["BITFIELD", "big", "SET", "u8", &first_bit_beyond, "1"],
        &["BITFIELD", "big", "SET", "i64", "#131072", "-1"],
        &["BITFIELD", "big", "SET", "i64", "#9223372036854775807", "-1"],
        &["BITFIELD", "big", "GET", "u8", &first_bit_beyond],
        &["BITFIELD_RO", "big", "GET", "i8", "#1048576"],
    ] {
        assert_eq!(error(&mut connection, args), BIT_OFFSET_ERROR, "{args:?}");
    }
    assert!(!exists(&mut connection, "big"), "no refused write allocated anything");
    assert_eq!(int(&mut connection, &["SETBIT", "big", &last_bit.to_string(), "1"]), 0);
    assert_eq!(int(&mut connection, &["STRLEN", "big"]), 1 << 20);
    assert_eq!(int(&mut connection, &["BITCOUNT", "big"]), 1);
    assert_eq!(int(&mut connection, &["BITPOS", "big", "1"]), last_bit as i64);
    // A field starting on the last allowed byte may spill over it by its width.
    assert_eq!(
        fields(&mut connection, &["BITFIELD", "wide", "SET", "i64", "#131071", "-1"]),
        vec![Some(0)]
    );
    assert_eq!(int(&mut connection, &["STRLEN", "wide"]), 1 << 20);
    assert_eq!(
        fields(
            &mut connection,
            &["BITFIELD", "spill", "SET", "i8", &last_bit.to_string(), "1"]
        ),
        vec![Some(0)]
    );
    assert_eq!(int(&mut connection, &["STRLEN", "spill"]), (1 << 20) + 1);
}

#[test]
fn bitcount_counts_whole_strings_and_byte_or_bit_ranges() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    set_bytes(&mut connection, "k", b"foobar");
    for (args, expected) in [
        (&["BITCOUNT", "k"][..], 26),
        (&["BITCOUNT", "k", "0", "0"], 4),
        (&["BITCOUNT", "k", "1", "1"], 6),
        (&["BITCOUNT", "k", "1", "-1"], 22),
        (&["BITCOUNT", "k", "-2", "-1"], 7),
        (&["BITCOUNT", "k", "0", "-1", "BIT"], 26),
        (&["BITCOUNT", "k", "5", "30", "bit"], 17),
        (&["BITCOUNT", "k", "5", "30", "BYTE"], 4),
        (&["BITCOUNT", "k", "-2", "-1", "BIT"], 1),
        (&["BITCOUNT", "k", "-100", "100"], 26),
        (&["BITCOUNT", "k", "4", "2"], 0),
        (&["BITCOUNT", "k", "-1", "-2", "nonsense"], 0),
        (&["BITCOUNT", "missing"], 0),
        // 7.2 answers a missing key before it parses the range.
        (&["BITCOUNT", "missing", "0"], 0),
        (&["BITCOUNT", "missing", "a", "b"], 0),
    ] {
        assert_eq!(int(&mut connection, args), expected, "{args:?}");
    }
    set_bytes(&mut connection, "empty", b"");
    assert_eq!(int(&mut connection, &["BITCOUNT", "empty"]), 0);
    assert_eq!(int(&mut connection, &["BITCOUNT", "empty", "0", "-1"]), 0);
    let ones = vec![0xFFu8; 1000];
    set_bytes(&mut connection, "ones", &ones);
    assert_eq!(int(&mut connection, &["BITCOUNT", "ones"]), 8000);
    assert_eq!(int(&mut connection, &["BITCOUNT", "ones", "3", "7996", "BIT"]), 7994);
    assert_eq!(int(&mut connection, &["BITCOUNT", "ones", "1", "-2"]), 7984);
    for (args, expected) in [
        (&["BITCOUNT", "k", "0"][..], "ERR syntax error"),
        (&["BITCOUNT", "k", "0", "1", "BIT", "extra"], "ERR syntax error"),
        (&["BITCOUNT", "k", "1", "-2", "nonsense"], "ERR syntax error"),
        (
            &["BITCOUNT", "k", "a", "b"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["BITCOUNT", "k", "0", "b"],
            "ERR value is not an integer or out of range",
        ),
        (&["BITCOUNT"], "ERR wrong number of arguments for 'bitcount' command"),
    ] {
        assert_eq!(error(&mut connection, args), expected, "{args:?}");
    }
}

#[test]
fn bitpos_finds_the_first_set_or_clear_bit() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    set_bytes(&mut connection, "ones", b"\xff\xf0\x00");
    set_bytes(&mut connection, "all", b"\xff\xff\xff");
    let mut zeros = vec![0u8; 20];
    zeros[19] = 1;
    set_bytes(&mut connection, "zeros", &zeros);
    set_bytes(&mut connection, "empty", b"");
    for (args, expected) in [
        (&["BITPOS", "ones", "0"][..], 12),
        (&["BITPOS", "ones", "1"], 0),
        (&["BITPOS", "ones", "1", "2"], -1),
        (&["BITPOS", "ones", "1", "1"], 8),
        (&["BITPOS", "ones", "0", "7", "15", "BIT"], 12),
        (&["BITPOS", "ones", "1", "13", "-1", "bit"], -1),
        (&["BITPOS", "ones", "1", "-1"], -1),
        // Without an end, the string counts as followed by zero bits...
        (&["BITPOS", "all", "0"], 24),
        (&["BITPOS", "all", "0", "1"], 24),
        (&["BITPOS", "all", "0", "3", "-1", "BYTE"], -1),
        // ...but not with one.
        (&["BITPOS", "all", "0", "0", "-1"], -1),
        (&["BITPOS", "all", "0", "3", "-1", "BIT"], -1),
        (&["BITPOS", "zeros", "1"], 159),
        (&["BITPOS", "zeros", "1", "3"], 159),
        (&["BITPOS", "zeros", "1", "3", "-2"], -1),
        (&["BITPOS", "zeros", "1", "20", "159", "BIT"], 159),
        (&["BITPOS", "zeros", "1", "20", "158", "BIT"], -1),
        (&["BITPOS", "zeros", "0", "-1", "-1"], 152),
        (&["BITPOS", "empty", "0"], -1),
        (&["BITPOS", "empty", "1"], -1),
        (&["BITPOS", "missing", "0"], 0),
        (&["BITPOS", "missing", "1"], -1),
        (&["BITPOS", "missing", "1", "0", "-1", "nonsense"], -1),
    ] {
        assert_eq!(int(&mut connection, args), expected, "{args:?}");
    }
    for (args, expected) in [
        (&["BITPOS", "ones", "2"][..], "ERR The bit argument must be 1 or 0."),
        (&["BITPOS", "missing", "2"], "ERR The bit argument must be 1 or 0."),
        (&["BITPOS", "ones", "a"], "ERR value is not an integer or out of range"),
        (
            &["BITPOS", "ones", "1", "a"],
            "ERR value is not an integer or out of range",
        ),
        (&["BITPOS", "ones", "1", "0", "-1", "nonsense"], "ERR syntax error"),
        (&["BITPOS", "ones", "1", "-1", "-2", "nonsense"], "ERR syntax error"),
        (&["BITPOS", "ones", "1", "0", "-1", "BIT", "extra"], "ERR syntax error"),
        (
            &["BITPOS", "ones"],
            "ERR wrong number of arguments for 'bitpos' command",
        ),
    ] {
        assert_eq!(error(&mut connection, args), expected, "{args:?}");
    }
}

#[test]
fn bitop_combines_strings_and_stores_a_raw_result() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    set_bytes(&mut connection, "a", b"\xff\xf0\x00");
    set_bytes(&mut connection, "b", b"\x0f");
    for (operation, sources, expected) in [
        ("AND", &["a", "b"][..], &b"\x0f\x00\x00"[..]),
        ("or", &["a", "b"], b"\xff\xf0\x00"),
        ("XOR", &["a", "b"], b"\xf0\xf0\x00"),
        ("NOT", &["a"], b"\x00\x0f\xff"),
        ("AND", &["a"], b"\xff\xf0\x00"),
        ("AND", &["a", "missing"], b"\x00\x00\x00"),
        ("OR", &["b", "missing", "a"], b"\xff\xf0\x00"),
    ] {
        let command = [&["BITOP", operation, "dest"][..], sources].concat();
        assert_eq!(int(&mut connection, &command), expected.len() as i64, "{command:?}");
        assert_eq!(
            bytes_of(&mut connection, "dest").as_deref(),
            Some(expected),
            "{command:?}"
        );
    }
    assert_eq!(encoding(&mut connection, "dest"), "raw");
    // The result replaces any value and drops its TTL.
    set_bytes(&mut connection, "dest", b"old");
    assert_eq!(int(&mut connection, &["EXPIRE", "dest", "100"]), 1);
    assert_eq!(int(&mut connection, &["BITOP", "OR", "dest", "b"]), 1);
    assert_eq!(int(&mut connection, &["TTL", "dest"]), -1);
    // An empty result deletes the destination.
    set_bytes(&mut connection, "empty", b"");
    assert_eq!(int(&mut connection, &["BITOP", "OR", "dest", "missing", "empty"]), 0);
    assert!(!exists(&mut connection, "dest"));
    for (args, expected) in [
        (
            &["BITOP", "NOT", "dest", "a", "b"][..],
            "ERR BITOP NOT must be called with a single source key.",
        ),
        (&["BITOP", "NAND", "dest", "a"], "ERR syntax error"),
        (
            &["BITOP", "AND", "dest"],
            "ERR wrong number of arguments for 'bitop' command",
        ),
    ] {
        assert_eq!(error(&mut connection, args), expected, "{args:?}");
    }
    let ones = vec![0xFFu8; 5000];
    let pattern: Vec<u8> = (0..4999u32).map(|n| n as u8).collect();
    set_bytes(&mut connection, "long_ones", &ones);
    set_bytes(&mut connection, "long_pattern", &pattern);
    assert_eq!(
        int(&mut connection, &["BITOP", "XOR", "long", "long_ones", "long_pattern"]),
        5000
    );
    let mut expected: Vec<u8> = pattern.iter().map(|byte| !byte).collect();
    expected.push(0xFF);
    assert_eq!(bytes_of(&mut connection, "long"), Some(expected));
}

#[test]
fn bitop_across_four_shards() {
    let server = TestServer::start(4);
    let mut connection = server.connection();
    let destination = key_on_shard("dest", 0, 4);
    let first = key_on_shard("first", 1, 4);
    let second = key_on_shard("second", 2, 4);
    let third = key_on_shard("third", 3, 4);
    set_bytes(&mut connection, &first, b"\x01\x02");
    set_bytes(&mut connection, &second, b"\x10");
    set_bytes(&mut connection, &third, b"\x00\x00\x80");
    assert_eq!(
        int(&mut connection, &["BITOP", "OR", &destination, &first, &second, &third]),
        3
    );
    assert_eq!(bytes_of(&mut connection, &destination), Some(b"\x11\x02\x80".to_vec()));
    assert_eq!(encoding(&mut connection, &destination), "raw");
    // The destination may also be a source, on another shard than the rest.
    assert_eq!(
        int(&mut connection, &["BITOP", "AND", &destination, &destination, &first]),
        3
    );
    assert_eq!(bytes_of(&mut connection, &destination), Some(b"\x01\x02\x00".to_vec()));
    let missing = key_on_shard("missing", 3, 4);
    assert_eq!(int(&mut connection, &["BITOP", "OR", &destination, &missing]), 0);
    assert!(!exists(&mut connection, &destination));
    assert_eq!(int(&mut connection, &["DEL", &third]), 1);
    make_non_string(&mut connection, &third);
    assert_eq!(
        error(&mut connection, &["BITOP", "OR", &destination, &first, &third]),
        WRONGTYPE
    );
    assert!(!exists(&mut connection, &destination));
}

#[test]
fn bitfield_gets_sets_and_increments_integers() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(
        fields(
            &mut connection,
            &["BITFIELD", "k", "GET", "u8", "0", "GET", "i16", "#3"]
        ),
        vec![Some(0), Some(0)]
    );
    assert!(!exists(&mut connection, "k"), "GET alone creates nothing");
    assert_eq!(fields(&mut connection, &["BITFIELD", "k"]), vec![]);
    assert_eq!(
        fields(
            &mut connection,
            &["BITFIELD", "k", "SET", "u5", "7", "23", "GET", "u5", "7"]
        ),
        vec![Some(0), Some(23)]
    );
    assert_eq!(bytes_of(&mut connection, "k"), Some(vec![0b0000_0001, 0b0111_0000]));
    assert_eq!(encoding(&mut connection, "k"), "raw");
    assert_eq!(
        fields(
            &mut connection,
            &["BITFIELD", "k", "SET", "u8", "#10", "300", "GET", "u8", "#10"]
        ),
        vec![Some(0), Some(44)]
    );
    assert_eq!(int(&mut connection, &["STRLEN", "k"]), 11);
    assert_eq!(
        fields(
            &mut connection,
            &[
                "BITFIELD", "k", "SET", "i8", "0", "-100", "INCRBY", "i8", "0", "-100", "OVERFLOW", "SAT", "INCRBY",
                "i8", "0", "-100", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "-100", "OVERFLOW", "WRAP", "INCRBY", "i8",
                "0", "-100"
            ]
        ),
        vec![Some(1), Some(56), Some(-44), None, Some(112)]
    );
    assert_eq!(
        fields(
            &mut connection,
            &[
                "BITFIELD", "k", "OVERFLOW", "SAT", "SET", "u8", "0", "-1", "OVERFLOW", "FAIL", "SET", "u8", "0", "-1",
                "OVERFLOW", "WRAP", "SET", "u8", "0", "-1", "GET", "u8", "0"
            ]
        ),
        vec![Some(112), None, Some(255), Some(255)]
    );
    assert_eq!(
        fields(
            &mut connection,
            &["BITFIELD", "k", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2", "102", "5"]
        ),
        vec![Some(1), Some(3)]
    );
    assert_eq!(
        fields(
            &mut connection,
            &[
                "BITFIELD",
                "wide",
                "SET",
                "i64",
                "0",
                "9223372036854775807",
                "INCRBY",
                "i64",
                "0",
                "1",
                "overflow",
                "sat",
                "INCRBY",
                "i64",
                "0",
                "-5",
                "overflow",
                "fail",
                "INCRBY",
                "i64",
                "0",
                "-9223372036854775808"
            ]
        ),
        vec![Some(0), Some(i64::MIN), Some(i64::MIN), None]
    );
    assert_eq!(
        fields(
            &mut connection,
            &[
                "BITFIELD",
                "u63",
                "SET",
                "u63",
                "0",
                "9223372036854775807",
                "GET",
                "u63",
                "0",
                "GET",
                "i1",
                "0"
            ]
        ),
        vec![Some(0), Some(0x7fff_ffff_ffff_ffff), Some(-1)]
    );
    // A FAIL overflow writes nothing, but the key is still created.
    assert_eq!(
        fields(
            &mut connection,
            &["BITFIELD", "new", "OVERFLOW", "FAIL", "SET", "u2", "0", "9"]
        ),
        vec![None]
    );
    assert_eq!(bytes_of(&mut connection, "new"), Some(vec![0]));
    // BITFIELD keeps the TTL.
    assert_eq!(int(&mut connection, &["EXPIRE", "new", "100"]), 1);
    fields(&mut connection, &["BITFIELD", "new", "SET", "u8", "0", "1"]);
    assert!(int(&mut connection, &["TTL", "new"]) > 0);
}

#[test]
fn bitfield_ro_reads_only_and_bitfield_errors() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    set_bytes(&mut connection, "k", b"\x80\x01");
    assert_eq!(
        fields(
            &mut connection,
            &[
                "BITFIELD_RO",
                "k",
                "GET",
                "u8",
                "0",
                "GET",
                "i8",
                "#0",
                "GET",
                "u16",
                "4"
            ]
        ),
        vec![Some(128), Some(-128), Some(0x0010)]
    );
    assert_eq!(fields(&mut connection, &["BITFIELD_RO", "k"]), vec![]);
    assert_eq!(
        fields(&mut connection, &["BITFIELD_RO", "missing", "GET", "i8", "100"]),
        vec![Some(0)]
    );
    let type_error = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
    for (args, expected) in [
        (
            &["BITFIELD_RO", "k", "SET", "u8", "0", "1"][..],
            "ERR BITFIELD_RO only supports the GET subcommand",
        ),
        (
            &["BITFIELD_RO", "k", "GET", "u8", "0", "INCRBY", "u8", "0", "1"],
            "ERR BITFIELD_RO only supports the GET subcommand",
        ),
        (
            &["BITFIELD", "k", "OVERFLOW", "nope", "GET", "u8", "0"],
            "ERR Invalid OVERFLOW type specified",
        ),
        (&["BITFIELD", "k", "GET", "u8"], "ERR syntax error"),
        (&["BITFIELD", "k", "SET", "u8", "0"], "ERR syntax error"),
        (&["BITFIELD", "k", "NOPE"], "ERR syntax error"),
        (&["BITFIELD", "k", "GET", "u8", "0", "OVERFLOW"], "ERR syntax error"),
        (&["BITFIELD", "k", "GET", "u64", "0"], type_error),
        (&["BITFIELD", "k", "GET", "i65", "0"], type_error),
        (&["BITFIELD", "k", "GET", "i0", "0"], type_error),
        (&["BITFIELD", "k", "GET", "x8", "0"], type_error),
        (&["BITFIELD", "k", "GET", "u8", "-1"], BIT_OFFSET_ERROR),
        (&["BITFIELD", "k", "GET", "u8", "#-1"], BIT_OFFSET_ERROR),
        (
            &["BITFIELD", "k", "SET", "u8", "0", "abc"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["BITFIELD", "k", "INCRBY", "u8", "0", "1.5"],
            "ERR value is not an integer or out of range",
        ),
        (&["BITFIELD"], "ERR wrong number of arguments for 'bitfield' command"),
    ] {
        assert_eq!(error(&mut connection, args), expected, "{args:?}");
    }
    // Every subcommand is parsed before any runs: nothing was written.
    assert_eq!(
        error(
            &mut connection,
            &["BITFIELD", "k", "SET", "u8", "0", "7", "GET", "u64", "0"]
        ),
        type_error
    );
    assert_eq!(bytes_of(&mut connection, "k"), Some(b"\x80\x01".to_vec()));
}

/// Stores a value of a type other than string under `key`.
fn make_non_string(connection: &mut Connection, key: &str) {
    let _: i64 = cmd("SADD").arg(key).arg("member").query(connection).expect("SADD");
}

#[test]
fn every_bitmap_command_refuses_other_types() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    make_non_string(&mut connection, "other");
    set_bytes(&mut connection, "text", b"abc");
    for args in [
        &["SETBIT", "other", "1", "1"][..],
        &["GETBIT", "other", "1"],
        &["BITCOUNT", "other"],
        &["BITCOUNT", "other", "0", "-1"],
        &["BITCOUNT", "other", "a", "b"],
        &["BITPOS", "other", "1"],
        &["BITPOS", "other", "0", "0", "-1", "BIT"],
        &["BITOP", "AND", "dest", "other"],
        &["BITOP", "OR", "dest", "text", "other"],
        &["BITOP", "NOT", "dest", "other"],
        &["BITFIELD", "other"],
        &["BITFIELD", "other", "GET", "u8", "0"],
        &["BITFIELD", "other", "SET", "u8", "0", "1"],
        &["BITFIELD_RO", "other", "GET", "u8", "0"],
    ] {
        assert_eq!(error(&mut connection, args), WRONGTYPE, "{args:?}");
    }
    assert!(!exists(&mut connection, "dest"));
    // Argument errors come first where Redis parses first.
    assert_eq!(
        error(&mut connection, &["SETBIT", "other", "-1", "1"]),
        BIT_OFFSET_ERROR
    );
    assert_eq!(
        error(&mut connection, &["BITPOS", "other", "2"]),
        "ERR The bit argument must be 1 or 0."
    );
    // BITOP overwrites a destination of any type.
    assert_eq!(int(&mut connection, &["BITOP", "OR", "other", "text"]), 3);
    assert_eq!(bytes_of(&mut connection, "other"), Some(b"abc".to_vec()));
}
