//! The HyperLogLog commands through a real client: PFADD, PFCOUNT, PFMERGE
//! and PFDEBUG; the sketch's byte layout (Redis's), its accuracy, its cached
//! estimate, the sparse-to-dense switch, corrupt and foreign strings, and the
//! multi-key commands across the shards of a 4-shard server.

mod common;

use common::{error_text, int, key_on_shard, query, reply};

use common::TestServer;
use redis::{cmd, Connection, Value};

fn error(connection: &mut Connection, args: &[&str]) -> String {
    error_text(query(connection, args))
}

fn status(connection: &mut Connection, args: &[&str]) -> String {
    match reply(connection, args) {
        Value::Okay => "OK".to_string(),
        Value::SimpleString(text) => text,
        Value::BulkString(bytes) => String::from_utf8(bytes).expect("utf-8"),
        other => panic!("{args:?}: expected a status, got {other:?}"),
    }
}

fn bytes_of(connection: &mut Connection, key: &str) -> Option<Vec<u8>> {
    cmd("GET").arg(key).query(connection).expect("GET")
}

fn set_bytes(connection: &mut Connection, key: &str, value: &[u8]) {
    let _: () = cmd("SET").arg(key).arg(value).query(connection).expect("SET");
}

/// PFADDs `elements` in batches of a thousand; true if any changed the sketch.
fn add_all(connection: &mut Connection, key: &str, elements: impl Iterator<Item = String>) -> bool {
    let elements: Vec<String> = elements.collect();
    let mut changed = false;
    for batch in elements.chunks(1000) {
        let added: i64 = cmd("PFADD").arg(key).arg(batch).query(connection).expect("PFADD");
        changed |= added == 1;
    }
    changed
}

fn relative_error(estimate: i64, exact: usize) -> f64 {
    (estimate as f64 - exact as f64).abs() / exact as f64
}

/// Three standard errors of a 2^14-register sketch (1.04 / 128 each).
const ERROR_BOUND: f64 = 0.0244;
const NOT_A_SKETCH: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const CORRUPTED: &str = "INVALIDOBJ Corrupted HLL object detected";

#[test]
fn pfadd_creates_a_string_in_redis_layout() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(int(&mut connection, &["PFADD", "empty"]), 1);
    assert_eq!(int(&mut connection, &["PFADD", "empty"]), 0);
    assert_eq!(status(&mut connection, &["TYPE", "empty"]), "string");
    assert_eq!(
        bytes_of(&mut connection, "empty"),
        Some(b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff".to_vec())
    );
    assert_eq!(int(&mut connection, &["PFCOUNT", "empty"]), 0);

    assert_eq!(int(&mut connection, &["PFADD", "h", "a", "b", "c"]), 1);
    assert_eq!(int(&mut connection, &["PFADD", "h", "a", "b"]), 0);
    // The same bytes Redis 7 stores, stale estimate flag included.
    let sparse_registers = b"\x60\xf3\x80\x50\xb1\x84\x4b\xfb\x80\x42\x5a";
    let mut expected = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80".to_vec();
    expected.extend_from_slice(sparse_registers);
    assert_eq!(bytes_of(&mut connection, "h"), Some(expected));
    assert_eq!(status(&mut connection, &["OBJECT", "ENCODING", "h"]), "raw");
    assert_eq!(
        status(&mut connection, &["PFDEBUG", "DECODE", "h"]),
        "Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603"
    );
    // PFCOUNT caches its estimate in the header.
    assert_eq!(int(&mut connection, &["PFCOUNT", "h"]), 3);
    let mut cached = b"HYLL\x01\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00".to_vec();
    cached.extend_from_slice(sparse_registers);
    assert_eq!(bytes_of(&mut connection, "h"), Some(cached.clone()));
    // A cached estimate is answered as stored, even a wrong one.
    cached[8] = 42;
    set_bytes(&mut connection, "forged", &cached);
    assert_eq!(int(&mut connection, &["PFCOUNT", "forged"]), 42);
    assert_eq!(status(&mut connection, &["OBJECT", "ENCODING", "forged"]), "raw");

    // The sketch travels as a string: SET of the bytes, and DUMP/RESTORE.
    let bytes = bytes_of(&mut connection, "h").expect("h exists");
    set_bytes(&mut connection, "copy", &bytes);
    assert_eq!(int(&mut connection, &["PFCOUNT", "copy"]), 3);
    let payload: Vec<u8> = cmd("DUMP").arg("h").query(&mut connection).expect("DUMP");
    let _: () = cmd("RESTORE")
        .arg("restored")
        .arg(0)
        .arg(payload)
        .query(&mut connection)
        .expect("RESTORE");
    assert_eq!(bytes_of(&mut connection, "restored"), Some(bytes));

    // PFADD keeps the TTL.
    assert_eq!(int(&mut connection, &["EXPIRE", "h", "100"]), 1);
    assert_eq!(int(&mut connection, &["PFADD", "h", "new element"]), 1);
    assert!(int(&mut connection, &["TTL", "h"]) > 0);
    assert_eq!(int(&mut connection, &["PFCOUNT", "h"]), 4);
    assert_eq!(int(&mut connection, &["PFCOUNT", "missing"]), 0);
    assert_eq!(int(&mut connection, &["EXISTS", "missing"]), 0);
}

#[test]
fn estimates_stay_within_three_standard_errors() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    let count = 100_000;
    assert!(add_all(
        &mut connection,
        "large",
        (0..count).map(|n| format!("user:{n}"))
    ));
    assert_eq!(status(&mut connection, &["PFDEBUG", "ENCODING", "large"]), "dense");
    let estimate = int(&mut connection, &["PFCOUNT", "large"]);
    assert!(
        relative_error(estimate, count) < ERROR_BOUND,
        "estimate {estimate} for {count}"
    );
    // Adding them again changes nothing.
    assert!(!add_all(
        &mut connection,
        "large",
        (0..2000).map(|n| format!("user:{n}"))
    ));
    assert_eq!(int(&mut connection, &["PFCOUNT", "large"]), estimate);

    // Small cardinalities are nearly exact.
    for small in [1usize, 10, 100, 1000] {
        let key = format!("small{small}");
        add_all(&mut connection, &key, (0..small).map(|n| format!("item-{n}")));
        let estimate = int(&mut connection, &["PFCOUNT", &key]);
        assert!(
            relative_error(estimate, small) < 0.01,
            "estimate {estimate} for {small}"
        );
    }

    // A union of two overlapping sets: 150k distinct elements.
    add_all(&mut connection, "other", (50_000..150_000).map(|n| format!("user:{n}")));
    let union = int(&mut connection, &["PFCOUNT", "large", "other"]);
    assert!(relative_error(union, 150_000) < ERROR_BOUND, "union estimate {union}");
    assert_eq!(status(&mut connection, &["PFMERGE", "merged", "large", "other"]), "OK");
    assert_eq!(int(&mut connection, &["PFCOUNT", "merged"]), union);
}

#[test]
fn sparse_sketches_turn_dense_when_they_grow() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(int(&mut connection, &["PFADD", "h", "a"]), 1);
    assert_eq!(status(&mut connection, &["PFDEBUG", "ENCODING", "h"]), "sparse");
    let mut next = 0;
    while status(&mut connection, &["PFDEBUG", "ENCODING", "h"]) == "sparse" {
        let sparse_len = int(&mut connection, &["STRLEN", "h"]);
        assert!(sparse_len <= 3000, "a sparse sketch stays within hll-sparse-max-bytes");
        add_all(&mut connection, "h", (next..next + 50).map(|n| format!("e{n}")));
        next += 50;
        assert!(next < 10_000, "the sketch never turned dense");
    }
    assert_eq!(int(&mut connection, &["STRLEN", "h"]), 12304);
    let estimate = int(&mut connection, &["PFCOUNT", "h"]);
    assert!(relative_error(estimate, next as usize + 1) < ERROR_BOUND);

    // PFDEBUG TODENSE and GETREG convert explicitly.
    assert_eq!(int(&mut connection, &["PFADD", "s", "x1", "x2", "x3"]), 1);
    assert_eq!(int(&mut connection, &["PFDEBUG", "TODENSE", "s"]), 1);
    assert_eq!(int(&mut connection, &["PFDEBUG", "TODENSE", "s"]), 0);
    assert_eq!(status(&mut connection, &["PFDEBUG", "ENCODING", "s"]), "dense");
    assert_eq!(int(&mut connection, &["PFCOUNT", "s"]), 3);
    assert_eq!(
        error(&mut connection, &["PFDEBUG", "DECODE", "s"]),
        "ERR HLL encoding is not sparse"
    );
    assert_eq!(int(&mut connection, &["PFADD", "t", "a", "b", "c"]), 1);
    let registers: Vec<i64> = cmd("PFDEBUG")
        .arg("GETREG")
        .arg("t")
        .query(&mut connection)
        .expect("GETREG");
    assert_eq!(registers.len(), 16384);
    assert_eq!(registers.iter().filter(|&&value| value != 0).count(), 3);
    assert_eq!(registers[8436], 1);
    assert_eq!(registers[12711], 2);
    assert_eq!(status(&mut connection, &["PFDEBUG", "ENCODING", "t"]), "dense");
    assert_eq!(
        error(&mut connection, &["PFDEBUG", "NOPE", "t"]),
        "ERR Unknown PFDEBUG subcommand 'NOPE'"
    );
    assert_eq!(
        error(&mut connection, &["PFDEBUG", "ENCODING", "missing"]),
        "ERR The specified key does not exist"
    );
    assert_eq!(
        error(&mut connection, &["PFDEBUG", "NOPE", "missing"]),
        "ERR The specified key does not exist"
    );
}

#[test]
fn pfmerge_unions_the_destination_with_the_sources() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    add_all(&mut connection, "first", (0..40).map(|n| format!("a{n}")));
    add_all(&mut connection, "second", (20..60).map(|n| format!("a{n}")));
    assert_eq!(status(&mut connection, &["PFMERGE", "dest", "first", "second"]), "OK");
    let union = int(&mut connection, &["PFCOUNT", "dest"]);
    assert!(relative_error(union, 60) < 0.05, "{union}");
    assert_eq!(int(&mut connection, &["PFCOUNT", "first", "second"]), union);
    assert_eq!(status(&mut connection, &["PFDEBUG", "ENCODING", "dest"]), "sparse");
    assert_eq!(status(&mut connection, &["OBJECT", "ENCODING", "dest"]), "raw");
    // The destination's own registers are part of the union.
    add_all(&mut connection, "third", (100..120).map(|n| format!("a{n}")));
    assert_eq!(int(&mut connection, &["EXPIRE", "dest", "100"]), 1);
    assert_eq!(status(&mut connection, &["PFMERGE", "dest", "third"]), "OK");
    let union = int(&mut connection, &["PFCOUNT", "dest"]);
    assert!(relative_error(union, 80) < 0.05, "{union}");
    assert!(int(&mut connection, &["TTL", "dest"]) > 0, "PFMERGE keeps the TTL");
    // A dense source makes the destination dense.
    add_all(&mut connection, "dense", (0..5000).map(|n| format!("d{n}")));
    assert_eq!(status(&mut connection, &["PFDEBUG", "ENCODING", "dense"]), "dense");
    assert_eq!(status(&mut connection, &["PFMERGE", "dest", "dense"]), "OK");
    assert_eq!(status(&mut connection, &["PFDEBUG", "ENCODING", "dest"]), "dense");
    // No source, or missing ones: an empty sketch.
    assert_eq!(status(&mut connection, &["PFMERGE", "alone"]), "OK");
    assert_eq!(status(&mut connection, &["PFMERGE", "alone2", "missing"]), "OK");
    for key in ["alone", "alone2"] {
        assert_eq!(
            bytes_of(&mut connection, key),
            Some(b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff".to_vec())
        );
    }
    assert_eq!(int(&mut connection, &["PFCOUNT", "missing", "alone"]), 0);
}

#[test]
fn foreign_and_corrupt_strings_are_refused() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(int(&mut connection, &["PFADD", "good", "a", "b"]), 1);
    set_bytes(&mut connection, "text", b"hello world");
    set_bytes(&mut connection, "number", b"12345");
    set_bytes(
        &mut connection,
        "bad_encoding",
        b"HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    );
    set_bytes(
        &mut connection,
        "short_dense",
        b"HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00abc",
    );
    for key in ["text", "number", "bad_encoding", "short_dense"] {
        for args in [
            &["PFADD", key, "x"][..],
            &["PFCOUNT", key],
            &["PFCOUNT", "good", key],
            &["PFMERGE", key, "good"],
            &["PFMERGE", "dest", "good", key],
            &["PFDEBUG", "ENCODING", key],
        ] {
            assert_eq!(error(&mut connection, args), NOT_A_SKETCH, "{args:?}");
        }
    }
    assert_eq!(int(&mut connection, &["EXISTS", "dest"]), 0);
    assert_eq!(bytes_of(&mut connection, "text"), Some(b"hello world".to_vec()));

    // Valid headers, registers that do not add up to 16384.
    let header = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80";
    set_bytes(&mut connection, "too_few", &[&header[..], b"\x00"].concat());
    set_bytes(&mut connection, "too_many", &[&header[..], b"\x7f\xff\x80"].concat());
    let mut runaway = header.to_vec();
    runaway.extend(std::iter::repeat_n(0xFFu8, 5000));
    set_bytes(&mut connection, "runaway", &runaway);
    for key in ["too_few", "too_many", "runaway"] {
        for args in [
            &["PFCOUNT", key][..],
            &["PFCOUNT", key, "good"],
            &["PFMERGE", "dest", key],
            &["PFDEBUG", "TODENSE", key],
            &["PFDEBUG", "GETREG", key],
        ] {
            assert_eq!(error(&mut connection, args), CORRUPTED, "{args:?}");
        }
    }
    assert_eq!(error(&mut connection, &["PFADD", "too_few", "a", "b", "c"]), CORRUPTED);
    assert_eq!(int(&mut connection, &["EXISTS", "dest"]), 0);

    assert_eq!(
        error(&mut connection, &["PFADD"]),
        "ERR wrong number of arguments for 'pfadd' command"
    );
    assert_eq!(
        error(&mut connection, &["PFCOUNT"]),
        "ERR wrong number of arguments for 'pfcount' command"
    );
    assert_eq!(
        error(&mut connection, &["PFMERGE"]),
        "ERR wrong number of arguments for 'pfmerge' command"
    );
    assert_eq!(
        error(&mut connection, &["PFDEBUG", "GETREG"]),
        "ERR wrong number of arguments for 'pfdebug' command"
    );
}

#[test]
fn every_hyperloglog_command_refuses_other_types() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    let _: i64 = cmd("SADD")
        .arg("other")
        .arg("member")
        .query(&mut connection)
        .expect("SADD");
    assert_eq!(int(&mut connection, &["PFADD", "good", "a"]), 1);
    let wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value";
    for args in [
        &["PFADD", "other", "x"][..],
        &["PFADD", "other"],
        &["PFCOUNT", "other"],
        &["PFCOUNT", "good", "other"],
        &["PFMERGE", "other", "good"],
        &["PFMERGE", "good", "other"],
        &["PFDEBUG", "ENCODING", "other"],
    ] {
        assert_eq!(error(&mut connection, args), wrongtype, "{args:?}");
    }
}

#[test]
fn multi_key_commands_across_four_shards() {
    let server = TestServer::start(4);
    let mut connection = server.connection();
    let destination = key_on_shard("dest", 0, 4);
    let first = key_on_shard("first", 1, 4);
    let second = key_on_shard("second", 2, 4);
    let dense = key_on_shard("dense", 3, 4);
    add_all(&mut connection, &first, (0..300).map(|n| format!("x{n}")));
    add_all(&mut connection, &second, (200..500).map(|n| format!("x{n}")));
    let union = int(&mut connection, &["PFCOUNT", &first, &second]);
    assert!(relative_error(union, 500) < 0.05, "{union}");
    let missing = key_on_shard("missing", 3, 4);
    assert_eq!(int(&mut connection, &["PFCOUNT", &first, &second, &missing]), union);
    assert_eq!(int(&mut connection, &["EXISTS", &missing]), 0);
    assert_eq!(
        status(&mut connection, &["PFMERGE", &destination, &first, &second]),
        "OK"
    );
    assert_eq!(int(&mut connection, &["PFCOUNT", &destination]), union);
    add_all(&mut connection, &dense, (0..20_000).map(|n| format!("y{n}")));
    assert_eq!(status(&mut connection, &["PFMERGE", &destination, &dense]), "OK");
    assert_eq!(status(&mut connection, &["PFDEBUG", "ENCODING", &destination]), "dense");
    let merged = int(&mut connection, &["PFCOUNT", &destination]);
    assert!(relative_error(merged, 20_500) < ERROR_BOUND, "{merged}");
    assert_eq!(int(&mut connection, &["PFCOUNT", &first, &second, &dense]), merged);
    set_bytes(&mut connection, &missing, b"not a sketch");
    assert_eq!(
        error(&mut connection, &["PFMERGE", &destination, &missing]),
        NOT_A_SKETCH
    );
    assert_eq!(error(&mut connection, &["PFCOUNT", &first, &missing]), NOT_A_SKETCH);
}
