//! The hash commands through a real client: HSET, HSETNX, HGET, HMGET,
//! HMSET, HDEL, HEXISTS, HLEN, HSTRLEN, HKEYS, HVALS, HGETALL, HINCRBY,
//! HINCRBYFLOAT, HRANDFIELD and HSCAN, with their errors, RESP2 and RESP3
//! reply shapes, WRONGTYPE, key deletion when emptied, the listpack to
//! hashtable conversion (thresholds from CONFIG SET), DUMP/RESTORE, and the
//! bounds on HRANDFIELD counts and HSCAN patterns.

mod common;

use common::{error_text, int, key_on_shard, query, reply, text};

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use common::{bulk, config_set, TestServer};
use redis::{cmd, Connection, Value};
use starling_protocol::Frame;

const SHARD_COUNTS: [usize; 2] = [1, 4];

/// An array reply of bulk strings (nil elements as None).
fn texts(connection: &mut Connection, args: &[&str]) -> Vec<Option<String>> {
    match reply(connection, args) {
        Value::Array(elements) => elements
            .into_iter()
            .map(|element| match element {
                Value::Nil => None,
                Value::BulkString(bytes) => Some(String::from_utf8(bytes).expect("utf-8 reply")),
                other => panic!("{args:?}: expected bulk strings, got {other:?}"),
            })
            .collect(),
        other => panic!("{args:?}: expected an array, got {other:?}"),
    }
}

/// An array reply of bulk strings, none of them nil.
fn strings(connection: &mut Connection, args: &[&str]) -> Vec<String> {
    texts(connection, args)
        .into_iter()
        .map(|element| element.expect("no nil element"))
        .collect()
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

/// HGETALL as a map (its RESP2 reply is a flat array of pairs).
fn hgetall(connection: &mut Connection, key: &str) -> HashMap<String, String> {
    let flat = strings(connection, &["HGETALL", key]);
    assert_eq!(flat.len() % 2, 0);
    let map: HashMap<String, String> = flat.chunks(2).map(|pair| (pair[0].clone(), pair[1].clone())).collect();
    assert_eq!(map.len() * 2, flat.len(), "no field twice");
    map
}

fn encoding(connection: &mut Connection, key: &str) -> String {
    text(connection, &["OBJECT", "ENCODING", key]).expect("the key exists")
}

fn ok(connection: &mut Connection, args: &[&str]) {
    assert_eq!(reply(connection, args), Value::Okay, "{args:?}");
}

/// Fills `key` with `count` fields `f0..` holding `v0..`.
fn fill(connection: &mut Connection, key: &str, count: usize) {
    let mut command = cmd("HSET");
    command.arg(key);
    for n in 0..count {
        command.arg(format!("f{n}")).arg(format!("v{n}"));
    }
    let _: i64 = command.query(connection).expect("HSET");
}

/// A raw connection switched to RESP3.
fn resp3(server: &TestServer) -> common::RawConnection {
    let mut raw = server.raw();
    assert!(!raw.command(&[b"HELLO", b"3"]).is_error());
    raw
}

#[test]
fn hset_hget_hmget_and_hmset() {
    for shards in SHARD_COUNTS {
        let server = TestServer::start(shards);
        let mut connection = server.connection();
        assert_eq!(int(&mut connection, &["HSET", "h", "a", "1", "b", "2"]), 2);
        // Existing fields are updated, not counted; a repeated field keeps the last value.
        assert_eq!(int(&mut connection, &["HSET", "h", "a", "10", "c", "3", "c", "30"]), 1);
        assert_eq!(text(&mut connection, &["HGET", "h", "a"]).as_deref(), Some("10"));
        assert_eq!(text(&mut connection, &["HGET", "h", "c"]).as_deref(), Some("30"));
        assert_eq!(text(&mut connection, &["HGET", "h", "missing"]), None);
        assert_eq!(text(&mut connection, &["HGET", "nokey", "a"]), None);
        assert_eq!(
            texts(&mut connection, &["HMGET", "h", "a", "missing", "b"]),
            vec![Some("10".into()), None, Some("2".into())]
        );
        assert_eq!(texts(&mut connection, &["HMGET", "nokey", "a", "b"]), vec![None, None]);
        ok(&mut connection, &["HMSET", "h", "d", "4", "a", "11"]);
        ok(&mut connection, &["HMSET", "new", "x", ""]);
        assert_eq!(text(&mut connection, &["HGET", "new", "x"]).as_deref(), Some(""));
        assert_eq!(
            hgetall(&mut connection, "h"),
            HashMap::from([
                ("a".into(), "11".into()),
                ("b".into(), "2".into()),
                ("c".into(), "30".into()),
                ("d".into(), "4".into()),
            ])
        );
        // Binary fields and values.
        let binary: Vec<u8> = (0..=255u8).collect();
        let _: i64 = cmd("HSET")
            .arg("bin")
            .arg(&binary)
            .arg(&binary)
            .query(&mut connection)
            .expect("HSET");
        let value: Vec<u8> = cmd("HGET")
            .arg("bin")
            .arg(&binary)
            .query(&mut connection)
            .expect("HGET");
        assert_eq!(value, binary);
    }
}

#[test]
fn arity_errors_follow_redis() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    for (args, name) in [
        (&["HSET", "h"][..], "hset"),
        (&["HSET", "h", "a"], "hset"),
        (&["HSET", "h", "a", "1", "b"], "hset"),
        (&["HMSET", "h", "a", "1", "b"], "hmset"),
        (&["HSETNX", "h", "a"], "hsetnx"),
        (&["HGET", "h"], "hget"),
        (&["HMGET", "h"], "hmget"),
        (&["HDEL", "h"], "hdel"),
        (&["HEXISTS", "h"], "hexists"),
        (&["HLEN"], "hlen"),
        (&["HSTRLEN", "h"], "hstrlen"),
        (&["HKEYS"], "hkeys"),
        (&["HVALS", "h", "x"], "hvals"),
        (&["HGETALL"], "hgetall"),
        (&["HINCRBY", "h", "a"], "hincrby"),
        (&["HINCRBYFLOAT", "h", "a"], "hincrbyfloat"),
        (&["HRANDFIELD"], "hrandfield"),
        (&["HSCAN", "h"], "hscan"),
    ] {
        assert_eq!(
            error_text(query(&mut connection, args)),
            format!("ERR wrong number of arguments for '{name}' command"),
            "{args:?}"
        );
    }
    assert_eq!(int(&mut connection, &["EXISTS", "h"]), 0, "nothing was created");
}

#[test]
fn hsetnx_sets_only_new_fields() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(int(&mut connection, &["HSETNX", "h", "a", "1"]), 1);
    assert_eq!(int(&mut connection, &["HSETNX", "h", "a", "2"]), 0);
    assert_eq!(int(&mut connection, &["HSETNX", "h", "b", "3"]), 1);
    assert_eq!(
        hgetall(&mut connection, "h"),
        HashMap::from([("a".into(), "1".into()), ("b".into(), "3".into())])
    );
}

#[test]
fn hdel_counts_deleted_fields_and_deletes_the_emptied_key() {
    for shards in SHARD_COUNTS {
        let server = TestServer::start(shards);
        let mut connection = server.connection();
        assert_eq!(int(&mut connection, &["HDEL", "nokey", "a"]), 0);
        for (key, size) in [("small", 3), ("large", 300)] {
            fill(&mut connection, key, size);
            assert_eq!(int(&mut connection, &["HDEL", key, "f0", "f0", "missing", "f1"]), 2);
            assert_eq!(int(&mut connection, &["HLEN", key]), size as i64 - 2);
            let mut rest: Vec<String> = (2..size).map(|n| format!("f{n}")).collect();
            rest.push("missing".into());
            let mut command = vec!["HDEL", key];
            command.extend(rest.iter().map(String::as_str));
            assert_eq!(int(&mut connection, &command), size as i64 - 2);
            assert_eq!(int(&mut connection, &["EXISTS", key]), 0, "{key} deleted when emptied");
            assert_eq!(int(&mut connection, &["HLEN", key]), 0);
        }
    }
}

#[test]
fn hexists_hlen_and_hstrlen() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    int(&mut connection, &["HSET", "h", "a", "hello", "n", "-12345", "e", ""]);
    assert_eq!(int(&mut connection, &["HEXISTS", "h", "a"]), 1);
    assert_eq!(int(&mut connection, &["HEXISTS", "h", "z"]), 0);
    assert_eq!(int(&mut connection, &["HEXISTS", "nokey", "a"]), 0);
    assert_eq!(int(&mut connection, &["HLEN", "h"]), 3);
    assert_eq!(int(&mut connection, &["HLEN", "nokey"]), 0);
    assert_eq!(int(&mut connection, &["HSTRLEN", "h", "a"]), 5);
    assert_eq!(int(&mut connection, &["HSTRLEN", "h", "n"]), 6);
    assert_eq!(int(&mut connection, &["HSTRLEN", "h", "e"]), 0);
    assert_eq!(int(&mut connection, &["HSTRLEN", "h", "z"]), 0);
    assert_eq!(int(&mut connection, &["HSTRLEN", "nokey", "a"]), 0);
}

#[test]
fn hkeys_hvals_and_hgetall_in_both_protocols() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    int(&mut connection, &["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    // A listpack keeps insertion order, as in Redis.
    assert_eq!(strings(&mut connection, &["HKEYS", "h"]), vec!["a", "b", "c"]);
    assert_eq!(strings(&mut connection, &["HVALS", "h"]), vec!["1", "2", "3"]);
    assert_eq!(
        strings(&mut connection, &["HGETALL", "h"]),
        vec!["a", "1", "b", "2", "c", "3"]
    );
    fill(&mut connection, "large", 200);
    let keys = strings(&mut connection, &["HKEYS", "large"]);
    let values = strings(&mut connection, &["HVALS", "large"]);
    assert_eq!(keys.len(), 200);
    let paired: Vec<String> = keys.iter().map(|field| field.replace('f', "v")).collect();
    assert_eq!(values, paired, "HVALS follows the order of HKEYS");
    assert_eq!(hgetall(&mut connection, "large").len(), 200);
    for command in ["HKEYS", "HVALS", "HGETALL"] {
        assert_eq!(reply(&mut connection, &[command, "nokey"]), Value::Array(vec![]));
    }

    let mut raw = resp3(&server);
    assert_eq!(
        raw.command(&[b"HGETALL", b"h"]),
        Frame::Map(vec![
            (bulk("a"), bulk("1")),
            (bulk("b"), bulk("2")),
            (bulk("c"), bulk("3"))
        ])
    );
    assert_eq!(raw.command(&[b"HGETALL", b"nokey"]), Frame::Map(vec![]));
    assert_eq!(
        raw.command(&[b"HKEYS", b"h"]),
        Frame::Array(vec![bulk("a"), bulk("b"), bulk("c")])
    );
    assert_eq!(raw.command(&[b"HGET", b"h", b"zz"]), Frame::Null);
}

#[test]
fn hincrby_adds_integers_with_redis_errors() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(int(&mut connection, &["HINCRBY", "h", "n", "5"]), 5);
    assert_eq!(int(&mut connection, &["HINCRBY", "h", "n", "-15"]), -10);
    assert_eq!(text(&mut connection, &["HGET", "h", "n"]).as_deref(), Some("-10"));
    int(
        &mut connection,
        &["HSET", "h", "s", "abc", "spaced", " 1", "big", "9223372036854775807"],
    );
    for (args, expected) in [
        (&["HINCRBY", "h", "s", "1"][..], "ERR hash value is not an integer"),
        (&["HINCRBY", "h", "spaced", "1"], "ERR hash value is not an integer"),
        (
            &["HINCRBY", "h", "n", "x"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["HINCRBY", "h", "n", "1.5"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["HINCRBY", "h", "big", "1"],
            "ERR increment or decrement would overflow",
        ),
        (
            &["HINCRBY", "nokey", "n", "x"],
            "ERR value is not an integer or out of range",
        ),
    ] {
        assert_eq!(error_text(query(&mut connection, args)), expected, "{args:?}");
    }
    assert_eq!(
        text(&mut connection, &["HGET", "h", "big"]).as_deref(),
        Some("9223372036854775807"),
        "unchanged after the overflow"
    );
    assert_eq!(int(&mut connection, &["EXISTS", "nokey"]), 0);
    int(&mut connection, &["HSET", "min", "n", "-9223372036854775808"]);
    assert_eq!(
        error_text(query(&mut connection, &["HINCRBY", "min", "n", "-1"])),
        "ERR increment or decrement would overflow"
    );
}

#[test]
fn hincrbyfloat_formats_like_redis_and_never_stores_nan_or_infinity() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(
        text(&mut connection, &["HINCRBYFLOAT", "h", "f", "10.5"]).as_deref(),
        Some("10.5")
    );
    assert_eq!(
        text(&mut connection, &["HINCRBYFLOAT", "h", "f", "0.1"]).as_deref(),
        Some("10.6")
    );
    assert_eq!(
        text(&mut connection, &["HINCRBYFLOAT", "h", "f", "-10.6"]).as_deref(),
        Some("0")
    );
    assert_eq!(
        text(&mut connection, &["HINCRBYFLOAT", "h", "f", "5.0e3"]).as_deref(),
        Some("5000")
    );
    int(&mut connection, &["HSET", "h", "i", "3"]);
    assert_eq!(
        text(&mut connection, &["HINCRBYFLOAT", "h", "i", "1.25"]).as_deref(),
        Some("4.25")
    );
    int(
        &mut connection,
        &["HSET", "h", "word", "abc", "huge", "1.1e4932", "stored_inf", "inf"],
    );
    for (args, expected) in [
        (&["HINCRBYFLOAT", "h", "f", "abc"][..], "ERR value is not a valid float"),
        (&["HINCRBYFLOAT", "h", "f", "nan"], "ERR value is not a valid float"),
        (&["HINCRBYFLOAT", "h", "f", "inf"], "ERR value is NaN or Infinity"),
        (&["HINCRBYFLOAT", "h", "f", "-Infinity"], "ERR value is NaN or Infinity"),
        (&["HINCRBYFLOAT", "h", "word", "1"], "ERR hash value is not a float"),
        (
            &["HINCRBYFLOAT", "h", "huge", "1.1e4932"],
            "ERR increment would produce NaN or Infinity",
        ),
        (
            &["HINCRBYFLOAT", "h", "stored_inf", "1"],
            "ERR increment would produce NaN or Infinity",
        ),
        (&["HINCRBYFLOAT", "nokey", "f", "inf"], "ERR value is NaN or Infinity"),
    ] {
        assert_eq!(error_text(query(&mut connection, args)), expected, "{args:?}");
    }
    assert_eq!(text(&mut connection, &["HGET", "h", "f"]).as_deref(), Some("5000"));
    assert_eq!(
        text(&mut connection, &["HGET", "h", "huge"]).as_deref(),
        Some("1.1e4932")
    );
    assert_eq!(
        int(&mut connection, &["EXISTS", "nokey"]),
        0,
        "a refused increment creates nothing"
    );
    // 2e308 overflows an f64 but not a long double: stored and replied in
    // full digits, the same bytes as Redis 7.2 on x86-64.
    let large = text(&mut connection, &["HINCRBYFLOAT", "h", "l", "1e308"]).expect("reply");
    let larger = text(&mut connection, &["HINCRBYFLOAT", "h", "l", "1e308"]).expect("reply");
    assert!(
        large.starts_with("9999999999999999999668587965584564566") && large.len() == 308,
        "{large}"
    );
    assert!(
        larger.starts_with("1999999999999999999933717593116912913") && larger.len() == 309,
        "{larger}"
    );
    assert_eq!(text(&mut connection, &["HGET", "h", "l"]), Some(larger));
}

#[test]
fn writes_keep_the_ttl() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    int(&mut connection, &["HSET", "h", "a", "1"]);
    assert_eq!(int(&mut connection, &["EXPIRE", "h", "1000"]), 1);
    int(&mut connection, &["HSET", "h", "b", "2"]);
    int(&mut connection, &["HINCRBY", "h", "n", "1"]);
    text(&mut connection, &["HINCRBYFLOAT", "h", "x", "1.5"]);
    int(&mut connection, &["HDEL", "h", "a"]);
    int(&mut connection, &["HSETNX", "h", "c", "3"]);
    ok(&mut connection, &["HMSET", "h", "d", "4"]);
    let ttl = int(&mut connection, &["TTL", "h"]);
    assert!((990..=1000).contains(&ttl), "{ttl}");
}

#[test]
fn every_command_refuses_other_types() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    ok(&mut connection, &["SET", "s", "x"]);
    let wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value";
    for args in [
        &["HSET", "s", "a", "1"][..],
        &["HSETNX", "s", "a", "1"],
        &["HGET", "s", "a"],
        &["HMGET", "s", "a"],
        &["HMSET", "s", "a", "1"],
        &["HDEL", "s", "a"],
        &["HEXISTS", "s", "a"],
        &["HLEN", "s"],
        &["HSTRLEN", "s", "a"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HGETALL", "s"],
        &["HINCRBY", "s", "a", "1"],
        &["HINCRBYFLOAT", "s", "a", "1"],
        &["HRANDFIELD", "s"],
        &["HRANDFIELD", "s", "2"],
        &["HRANDFIELD", "s", "-2", "WITHVALUES"],
        &["HSCAN", "s", "0"],
    ] {
        assert_eq!(error_text(query(&mut connection, args)), wrongtype, "{args:?}");
    }
    assert_eq!(text(&mut connection, &["GET", "s"]).as_deref(), Some("x"));
    // And a hash is the wrong type for string commands.
    int(&mut connection, &["HSET", "h", "a", "1"]);
    assert_eq!(error_text(query(&mut connection, &["GET", "h"])), wrongtype);
    assert_eq!(
        reply(&mut connection, &["TYPE", "h"]),
        Value::SimpleString("hash".into())
    );
}

#[test]
fn encoding_moves_from_listpack_to_hashtable_at_the_thresholds() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    fill(&mut connection, "entries", 128);
    assert_eq!(encoding(&mut connection, "entries"), "listpack");
    int(&mut connection, &["HSET", "entries", "one-more", "v"]);
    assert_eq!(encoding(&mut connection, "entries"), "hashtable");
    // Never back, even when it shrinks.
    let mut command = vec!["HDEL".to_string(), "entries".to_string()];
    command.extend((0..128).map(|n| format!("f{n}")));
    let command: Vec<&str> = command.iter().map(String::as_str).collect();
    assert_eq!(int(&mut connection, &command), 128);
    assert_eq!(encoding(&mut connection, "entries"), "hashtable");

    let long_value = "x".repeat(65);
    int(&mut connection, &["HSET", "value", "a", &"x".repeat(64)]);
    assert_eq!(encoding(&mut connection, "value"), "listpack");
    int(&mut connection, &["HSET", "value", "b", &long_value]);
    assert_eq!(encoding(&mut connection, "value"), "hashtable");
    int(&mut connection, &["HSET", "field", &long_value, "1"]);
    assert_eq!(encoding(&mut connection, "field"), "hashtable");
    assert_eq!(int(&mut connection, &["HSETNX", "nx", &long_value, "1"]), 1);
    assert_eq!(encoding(&mut connection, "nx"), "hashtable");
    // HINCRBY* check the field length too.
    int(&mut connection, &["HINCRBY", "incr", &long_value, "1"]);
    assert_eq!(encoding(&mut connection, "incr"), "hashtable");

    // A single HSET of more pairs than the limit converts at once, even if
    // they repeat a field (Redis 7.2's hashTypeTryConversion).
    let mut command = vec!["HSET".to_string(), "wide".to_string()];
    for _ in 0..129 {
        command.push("same".into());
        command.push("v".into());
    }
    let command: Vec<&str> = command.iter().map(String::as_str).collect();
    assert_eq!(int(&mut connection, &command), 1);
    assert_eq!(encoding(&mut connection, "wide"), "hashtable");
}

#[test]
fn config_set_thresholds_apply_to_the_next_write() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    int(&mut connection, &["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    ok(&mut connection, &["CONFIG", "SET", "hash-max-listpack-entries", "2"]);
    assert_eq!(encoding(&mut connection, "h"), "listpack", "reads do not convert");
    assert_eq!(int(&mut connection, &["HSET", "h", "a", "5"]), 0);
    assert_eq!(encoding(&mut connection, "h"), "hashtable", "an update converts");

    int(&mut connection, &["HSET", "two", "a", "1", "b", "2"]);
    assert_eq!(encoding(&mut connection, "two"), "listpack");
    int(&mut connection, &["HSET", "two", "c", "3"]);
    assert_eq!(encoding(&mut connection, "two"), "hashtable");

    ok(&mut connection, &["CONFIG", "SET", "hash-max-listpack-entries", "128"]);
    ok(&mut connection, &["CONFIG", "SET", "hash-max-listpack-value", "5"]);
    int(&mut connection, &["HSET", "v", "a", "12345"]);
    assert_eq!(encoding(&mut connection, "v"), "listpack");
    text(&mut connection, &["HINCRBYFLOAT", "v", "a", "0.5"]);
    assert_eq!(text(&mut connection, &["HGET", "v", "a"]).as_deref(), Some("12345.5"));
    assert_eq!(encoding(&mut connection, "v"), "hashtable", "a longer result converts");

    ok(&mut connection, &["CONFIG", "SET", "hash-max-listpack-entries", "0"]);
    int(&mut connection, &["HSET", "zero", "a", "1"]);
    assert_eq!(encoding(&mut connection, "zero"), "hashtable");
    let reply = strings(&mut connection, &["CONFIG", "GET", "hash-max-listpack-entries"]);
    assert_eq!(reply, vec!["hash-max-listpack-entries", "0"]);
}

#[test]
fn hrandfield_returns_fields_of_the_hash() {
    for size in [5usize, 300] {
        let server = TestServer::start(1);
        let mut connection = server.connection();
        fill(&mut connection, "h", size);
        let expected_encoding = if size > 128 { "hashtable" } else { "listpack" };
        assert_eq!(encoding(&mut connection, "h"), expected_encoding);
        let all: HashSet<String> = (0..size).map(|n| format!("f{n}")).collect();

        let single = text(&mut connection, &["HRANDFIELD", "h"]).expect("a field");
        assert!(all.contains(&single));
        for count in [1, 2, size / 3, size / 2, size - 1, size, size + 10] {
            let fields = strings(&mut connection, &["HRANDFIELD", "h", &count.to_string()]);
            assert_eq!(fields.len(), count.min(size), "count {count}");
            let distinct: HashSet<String> = fields.iter().cloned().collect();
            assert_eq!(distinct.len(), fields.len(), "positive counts give distinct fields");
            assert!(distinct.is_subset(&all));
        }
        let repeated = strings(&mut connection, &["HRANDFIELD", "h", "-1000"]);
        assert_eq!(repeated.len(), 1000);
        assert!(repeated.iter().all(|field| all.contains(field)));
        if size == 5 {
            let seen: HashSet<&String> = repeated.iter().collect();
            assert_eq!(seen.len(), 5, "1000 picks out of 5 see them all");
        }
        let with_values = strings(&mut connection, &["HRANDFIELD", "h", "-20", "withvalues"]);
        assert_eq!(with_values.len(), 40);
        for pair in with_values.chunks(2) {
            assert_eq!(pair[1], pair[0].replace('f', "v"), "each field with its value");
        }
        let with_values = strings(&mut connection, &["HRANDFIELD", "h", "3", "WITHVALUES"]);
        assert_eq!(with_values.len(), 6);
        assert_eq!(reply(&mut connection, &["HRANDFIELD", "h", "0"]), Value::Array(vec![]));
        assert_eq!(
            reply(&mut connection, &["HRANDFIELD", "h", "0", "WITHVALUES"]),
            Value::Array(vec![])
        );
    }
}

#[test]
fn hrandfield_missing_keys_errors_and_resp3_pairs() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(text(&mut connection, &["HRANDFIELD", "nokey"]), None);
    assert_eq!(
        reply(&mut connection, &["HRANDFIELD", "nokey", "5"]),
        Value::Array(vec![])
    );
    assert_eq!(
        reply(&mut connection, &["HRANDFIELD", "nokey", "-5", "WITHVALUES"]),
        Value::Array(vec![])
    );
    int(&mut connection, &["HSET", "h", "a", "1"]);
    let out_of_range_long =
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
    for (args, expected) in [
        (
            &["HRANDFIELD", "h", "x"][..],
            "ERR value is not an integer or out of range",
        ),
        (
            &["HRANDFIELD", "h", "9223372036854775808"],
            "ERR value is not an integer or out of range",
        ),
        (&["HRANDFIELD", "h", "-9223372036854775808"], out_of_range_long),
        (&["HRANDFIELD", "nokey", "-9223372036854775808"], out_of_range_long),
        (&["HRANDFIELD", "h", "1", "WITHSCORES"], "ERR syntax error"),
        (&["HRANDFIELD", "nokey", "1", "bogus"], "ERR syntax error"),
        (&["HRANDFIELD", "h", "1", "WITHVALUES", "extra"], "ERR syntax error"),
        (
            &["HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES"],
            "ERR value is out of range",
        ),
        (
            &["HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"],
            "ERR value is out of range",
        ),
    ] {
        assert_eq!(error_text(query(&mut connection, args)), expected, "{args:?}");
    }
    // Within range: the largest positive count is capped by the hash.
    assert_eq!(
        strings(
            &mut connection,
            &["HRANDFIELD", "h", "4611686018427387903", "WITHVALUES"]
        ),
        vec!["a", "1"]
    );
    assert_eq!(
        strings(&mut connection, &["HRANDFIELD", "h", "9223372036854775807"]),
        vec!["a"]
    );

    let mut raw = resp3(&server);
    let pair = Frame::Array(vec![bulk("a"), bulk("1")]);
    assert_eq!(
        raw.command(&[b"HRANDFIELD", b"h", b"-2", b"WITHVALUES"]),
        Frame::Array(vec![pair.clone(), pair.clone()])
    );
    assert_eq!(
        raw.command(&[b"HRANDFIELD", b"h", b"5", b"WITHVALUES"]),
        Frame::Array(vec![pair])
    );
    assert_eq!(
        raw.command(&[b"HRANDFIELD", b"h", b"-2"]),
        Frame::Array(vec![bulk("a"), bulk("a")])
    );
    assert_eq!(raw.command(&[b"HRANDFIELD", b"nokey"]), Frame::Null);
}

/// CVE-2023-25155: a huge negative count must neither allocate for the
/// count nor run for long; Starling refuses counts it cannot build.
#[test]
fn hrandfield_huge_negative_counts_reply_quickly() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    fill(&mut connection, "small", 3);
    fill(&mut connection, "large", 300);
    let started = Instant::now();
    for key in ["small", "large"] {
        // No reply of that many picks fits proto-max-bulk-len (512 MB).
        let too_large = "ERR value is out of range, the reply would exceed proto-max-bulk-len";
        assert_eq!(
            error_text(query(
                &mut connection,
                &["HRANDFIELD", key, "-9223372036854775807", "WITHVALUES"]
            )),
            "ERR value is out of range",
            "Redis's own bound on a count with WITHVALUES"
        );
        for count in [
            "-9223372036854775807",
            "-4611686018427387903",
            "-100000000000",
            "-100000000",
        ] {
            assert_eq!(
                error_text(query(&mut connection, &["HRANDFIELD", key, count])),
                too_large,
                "{key} {count}"
            );
        }
        for count in ["-4611686018427387903", "-100000000000", "-50000000"] {
            assert_eq!(
                error_text(query(&mut connection, &["HRANDFIELD", key, count, "WITHVALUES"])),
                too_large,
                "{key} {count} WITHVALUES"
            );
        }
        assert_eq!(
            reply(&mut connection, &["HRANDFIELD", "nokey", "-9223372036854775807"]),
            Value::Array(vec![])
        );
    }
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    let picks = strings(&mut connection, &["HRANDFIELD", "small", "-50000"]);
    assert_eq!(picks.len(), 50_000);

    // With a client output buffer limit, a reply is built only up to it: a
    // count past it is refused up front (-20000) or while picking (-7000,
    // and -4000 with withvalues); the key is untouched.
    config_set(&mut connection, "client-output-buffer-limit", "normal 65536 0 0");
    assert_eq!(strings(&mut connection, &["HRANDFIELD", "large", "-1000"]).len(), 1000);
    assert_eq!(
        strings(&mut connection, &["HRANDFIELD", "large", "-1000", "WITHVALUES"]).len(),
        2000
    );
    for args in [
        &["HRANDFIELD", "large", "-20000"][..],
        &["HRANDFIELD", "large", "-7000"],
        &["HRANDFIELD", "large", "-4000", "WITHVALUES"],
    ] {
        assert_eq!(
            error_text(query(&mut connection, args)),
            "ERR value is out of range, the reply would exceed client-output-buffer-limit",
            "{args:?}"
        );
    }
}

/// Runs a whole HSCAN, returning every element batch by batch.
fn full_hscan(connection: &mut Connection, key: &str, options: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut elements = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["HSCAN", key, &cursor];
        args.extend_from_slice(options);
        let (next, batch): (String, Vec<String>) = cmd(args[0]).arg(&args[1..]).query(connection).expect("HSCAN");
        elements.extend(batch);
        calls += 1;
        assert!(calls < 100_000, "the scan ends");
        if next == "0" {
            return (elements, calls);
        }
        cursor = next;
    }
}

#[test]
fn hscan_returns_every_pair_with_match_count_and_novalues() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    fill(&mut connection, "small", 10);
    let (elements, calls) = full_hscan(&mut connection, "small", &["COUNT", "2"]);
    assert_eq!(calls, 1, "a listpack returns everything at once");
    assert_eq!(elements.len(), 20);
    let (elements, _) = full_hscan(&mut connection, "small", &["MATCH", "f1*"]);
    assert_eq!(elements, vec!["f1", "v1"]);
    let (fields, _) = full_hscan(&mut connection, "small", &["NOVALUES"]);
    assert_eq!(sorted(fields), sorted((0..10).map(|n| format!("f{n}")).collect()));
    // A listpack ignores the cursor it is given.
    let (next, batch): (String, Vec<String>) = cmd("HSCAN")
        .arg("small")
        .arg("12345")
        .query(&mut connection)
        .expect("HSCAN");
    assert_eq!((next.as_str(), batch.len()), ("0", 20));

    fill(&mut connection, "large", 1000);
    assert_eq!(encoding(&mut connection, "large"), "hashtable");
    let (elements, calls) = full_hscan(&mut connection, "large", &[]);
    assert!(calls > 10, "a hashtable is scanned in steps: {calls}");
    let pairs: HashMap<String, String> = elements
        .chunks(2)
        .map(|pair| (pair[0].clone(), pair[1].clone()))
        .collect();
    assert_eq!(pairs.len(), 1000);
    assert!(pairs.iter().all(|(field, value)| *value == field.replace('f', "v")));
    let (_, few_calls) = full_hscan(&mut connection, "large", &["COUNT", "5000"]);
    assert_eq!(few_calls, 1, "a large COUNT finishes in one call");
    let (fields, _) = full_hscan(&mut connection, "large", &["MATCH", "f99*", "NOVALUES", "COUNT", "50"]);
    assert_eq!(
        sorted(fields),
        sorted(
            ["f99", "f990", "f991", "f992", "f993", "f994", "f995", "f996", "f997", "f998", "f999"]
                .map(String::from)
                .to_vec()
        )
    );
}

#[test]
fn hscan_cursor_is_stable_while_fields_come_and_go() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    fill(&mut connection, "h", 500);
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut step = 0;
    loop {
        let (next, batch): (String, Vec<String>) = cmd("HSCAN")
            .arg("h")
            .arg(&cursor)
            .arg("NOVALUES")
            .query(&mut connection)
            .expect("HSCAN");
        seen.extend(batch);
        step += 1;
        // Grow the table a lot, then shrink it, during the scan.
        if step == 5 {
            let mut command = cmd("HSET");
            command.arg("h");
            for n in 0..5000 {
                command.arg(format!("extra{n}")).arg("x");
            }
            let _: i64 = command.query(&mut connection).expect("HSET");
        }
        if step == 40 {
            let mut command = cmd("HDEL");
            command.arg("h");
            for n in 0..5000 {
                command.arg(format!("extra{n}"));
            }
            let _: i64 = command.query(&mut connection).expect("HDEL");
        }
        if next == "0" {
            break;
        }
        cursor = next;
        assert!(step < 100_000);
    }
    for n in 0..500 {
        assert!(seen.contains(&format!("f{n}")), "f{n} was never returned");
    }
}

#[test]
fn hscan_errors_and_missing_keys() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    fill(&mut connection, "h", 3);
    for (args, expected) in [
        (&["HSCAN", "h", "abc"][..], "ERR invalid cursor"),
        (&["HSCAN", "h", " 0"], "ERR invalid cursor"),
        (&["HSCAN", "h", "18446744073709551616"], "ERR invalid cursor"),
        (&["HSCAN", "nokey", "x"], "ERR invalid cursor"),
        (&["HSCAN", "h", "0", "COUNT", "0"], "ERR syntax error"),
        (&["HSCAN", "h", "0", "COUNT", "-1"], "ERR syntax error"),
        (
            &["HSCAN", "h", "0", "COUNT", "x"],
            "ERR value is not an integer or out of range",
        ),
        (&["HSCAN", "h", "0", "MATCH"], "ERR syntax error"),
        (&["HSCAN", "h", "0", "TYPE", "string"], "ERR syntax error"),
        (&["HSCAN", "h", "0", "NOVALUES", "bogus"], "ERR syntax error"),
    ] {
        assert_eq!(error_text(query(&mut connection, args)), expected, "{args:?}");
    }
    // A missing key replies an empty scan before looking at the options, as Redis.
    for options in [&[][..], &["COUNT", "0", "bogus"]] {
        let mut args = vec!["HSCAN", "nokey", "0"];
        args.extend_from_slice(options);
        let (cursor, batch): (String, Vec<String>) =
            cmd(args[0]).arg(&args[1..]).query(&mut connection).expect("HSCAN");
        assert_eq!((cursor.as_str(), batch.len()), ("0", 0));
    }
    // The cursor follows strtoul: "-1" wraps, "+0" and "" are fine.
    for cursor in ["-1", "+0", ""] {
        let (_, batch): (String, Vec<String>) =
            cmd("HSCAN").arg("h").arg(cursor).query(&mut connection).expect("HSCAN");
        assert_eq!(batch.len(), 6, "{cursor:?}");
    }
}

/// CVE-2022-36021: pathological MATCH patterns run in bounded time.
#[test]
fn hscan_pathological_patterns_finish_quickly() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    let long_field = "a".repeat(60);
    fill(&mut connection, "large", 200);
    int(&mut connection, &["HSET", "small", &long_field, "1"]);
    int(&mut connection, &["HSET", "large", &long_field, "1"]);
    let pattern = format!("{}b", "*a".repeat(50));
    let started = Instant::now();
    for key in ["small", "large"] {
        let (elements, _) = full_hscan(&mut connection, key, &["MATCH", &pattern, "COUNT", "1000"]);
        assert!(elements.is_empty());
    }
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}

#[test]
fn dump_and_restore_round_trip_both_encodings() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    int(&mut connection, &["HSET", "small", "a", "1", "b", "2"]);
    fill(&mut connection, "large", 500);
    for (key, expected_encoding) in [("small", "listpack"), ("large", "hashtable")] {
        let payload: Vec<u8> = cmd("DUMP").arg(key).query(&mut connection).expect("DUMP");
        let copy = format!("{key}:restored");
        let _: () = cmd("RESTORE")
            .arg(&copy)
            .arg(0)
            .arg(&payload)
            .query(&mut connection)
            .expect("RESTORE");
        assert_eq!(hgetall(&mut connection, &copy), hgetall(&mut connection, key));
        assert_eq!(encoding(&mut connection, &copy), expected_encoding);
        assert_eq!(
            reply(&mut connection, &["TYPE", &copy]),
            Value::SimpleString("hash".into())
        );
    }
}

#[test]
fn hashes_on_every_shard_and_across_shards() {
    let shard_count = 4;
    let server = TestServer::start(shard_count);
    let mut connection = server.connection();
    let keys: Vec<String> = (0..shard_count)
        .map(|shard| key_on_shard("hash", shard, shard_count))
        .collect();
    for (n, key) in keys.iter().enumerate() {
        fill(&mut connection, key, 10 + n * 100);
        assert_eq!(int(&mut connection, &["HLEN", key]), (10 + n * 100) as i64);
        assert_eq!(text(&mut connection, &["HGET", key, "f5"]).as_deref(), Some("v5"));
    }
    // Multi-key commands of other families carry hashes between shards.
    let (source, destination) = (&keys[3], &keys[0]);
    let expected = hgetall(&mut connection, source);
    assert_eq!(int(&mut connection, &["COPY", source, destination, "REPLACE"]), 1);
    assert_eq!(hgetall(&mut connection, destination), expected);
    assert_eq!(encoding(&mut connection, destination), "hashtable");
    int(&mut connection, &["HSET", destination, "f0", "changed"]);
    assert_eq!(
        text(&mut connection, &["HGET", source, "f0"]).as_deref(),
        Some("v0"),
        "a copy, not a share"
    );
    ok(&mut connection, &["RENAME", &keys[1], &keys[2]]);
    assert_eq!(int(&mut connection, &["HLEN", &keys[2]]), 110);
    assert_eq!(int(&mut connection, &["EXISTS", &keys[1]]), 0);
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut del = vec!["DEL"];
    del.extend(&key_refs);
    assert_eq!(int(&mut connection, &del), 3);
}
