//! The sorted set commands through a real client: ZADD and its options,
//! ZINCRBY, ZREM, the ZREMRANGEBY* commands, ZSCORE, ZMSCORE, ZCARD, ZCOUNT,
//! ZLEXCOUNT, ZRANK and ZREVRANK, ZRANDMEMBER, ZSCAN, the ZRANGE family and
//! ZRANGESTORE, the pops, and the set algebra, with their errors, RESP2 and
//! RESP3 reply shapes, encodings, a large set, and keys on several shards.

mod common;

use common::{error_text, int, query, reply, text};

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use common::{bulk, config_set, RawConnection, TestServer};
use redis::{cmd, Connection, Value};
use starling_protocol::{key_slot, Frame};

fn error(connection: &mut Connection, args: &[&str]) -> String {
    error_text(query(connection, args))
}

/// A flat array of bulk strings as text.
fn strings(connection: &mut Connection, args: &[&str]) -> Vec<String> {
    match reply(connection, args) {
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::BulkString(bytes) => String::from_utf8(bytes).expect("utf-8"),
                other => panic!("{args:?}: expected bulk strings, got {other:?}"),
            })
            .collect(),
        other => panic!("{args:?}: expected an array, got {other:?}"),
    }
}

fn ok(connection: &mut Connection, args: &[&str]) {
    assert_eq!(reply(connection, args), Value::Okay, "{args:?}");
}

fn exists(connection: &mut Connection, key: &str) -> bool {
    int(connection, &["EXISTS", key]) == 1
}

fn encoding(connection: &mut Connection, key: &str) -> String {
    text(connection, &["OBJECT", "ENCODING", key]).expect("key exists")
}

/// A key named `{prefix}:n` that lives on `shard` of `shard_count`.
fn key_on_shard(prefix: &str, shard: usize, shard_count: usize) -> String {
    (0..)
        .map(|n| format!("{prefix}:{n}"))
        .find(|key| key_slot(key.as_bytes()) as usize % shard_count == shard)
        .expect("some key lands on every shard")
}

/// A RESP3 raw connection.
fn resp3(server: &TestServer) -> RawConnection {
    let mut raw = server.raw();
    let hello = raw.command(&[b"HELLO", b"3"]);
    assert!(matches!(hello, Frame::Map(_)), "{hello:?}");
    raw
}

fn pair(member: &str, score: f64) -> Frame {
    Frame::Array(vec![bulk(member), Frame::Double(score)])
}

/// Adds `count` members `m0..` with scores `0..` to `key`, in one command.
fn fill(connection: &mut Connection, key: &str, count: usize) {
    let mut command = cmd("ZADD");
    command.arg(key);
    for n in 0..count {
        command.arg(n).arg(format!("m{n}"));
    }
    let added: i64 = command.query(connection).expect("ZADD");
    assert_eq!(added, count as i64);
}

// ---------------------------------------------------------------------------
// ZADD, ZINCRBY
// ---------------------------------------------------------------------------

#[test]
fn zadd_adds_updates_and_honours_nx_xx_gt_lt_ch() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(int(&mut connection, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]), 3);
    assert_eq!(int(&mut connection, &["ZADD", "z", "10", "a", "4", "d"]), 1);
    assert_eq!(
        int(&mut connection, &["ZADD", "z", "CH", "11", "a", "5", "e", "11", "a"]),
        2
    );
    assert_eq!(text(&mut connection, &["ZSCORE", "z", "a"]).as_deref(), Some("11"));
    // NX: only new members.
    assert_eq!(int(&mut connection, &["ZADD", "z", "NX", "CH", "0", "a", "6", "f"]), 1);
    assert_eq!(text(&mut connection, &["ZSCORE", "z", "a"]).as_deref(), Some("11"));
    // XX: only existing members, never creates the key.
    assert_eq!(int(&mut connection, &["ZADD", "z", "XX", "CH", "1", "a", "7", "g"]), 1);
    assert_eq!(reply(&mut connection, &["ZSCORE", "z", "g"]), Value::Nil);
    assert_eq!(int(&mut connection, &["ZADD", "nokey", "XX", "1", "a"]), 0);
    assert!(!exists(&mut connection, "nokey"));
    // GT / LT update only upwards / downwards, but still add new members.
    assert_eq!(
        int(
            &mut connection,
            &["ZADD", "z", "GT", "CH", "0", "a", "100", "b", "8", "h"]
        ),
        2
    );
    assert_eq!(text(&mut connection, &["ZSCORE", "z", "a"]).as_deref(), Some("1"));
    assert_eq!(text(&mut connection, &["ZSCORE", "z", "b"]).as_deref(), Some("100"));
    assert_eq!(
        int(&mut connection, &["ZADD", "z", "LT", "CH", "50", "b", "200", "c"]),
        1
    );
    assert_eq!(text(&mut connection, &["ZSCORE", "z", "b"]).as_deref(), Some("50"));
    assert_eq!(text(&mut connection, &["ZSCORE", "z", "c"]).as_deref(), Some("3"));
    assert_eq!(int(&mut connection, &["ZADD", "z", "xx", "gt", "ch", "60", "b"]), 1);
    // Same score: not an update.
    assert_eq!(int(&mut connection, &["ZADD", "z", "CH", "60", "b"]), 0);
    assert_eq!(int(&mut connection, &["ZCARD", "z"]), 7);
}

#[test]
fn zadd_parses_scores_like_strtod() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(
        int(
            &mut connection,
            &[
                "ZADD",
                "z",
                "0x10",
                "hex",
                "+inf",
                "top",
                "-Infinity",
                "bottom",
                "1e3",
                "e",
                ".5",
                "half"
            ]
        ),
        5
    );
    assert_eq!(text(&mut connection, &["ZSCORE", "z", "hex"]).as_deref(), Some("16"));
    assert_eq!(text(&mut connection, &["ZSCORE", "z", "top"]).as_deref(), Some("inf"));
    assert_eq!(
        text(&mut connection, &["ZSCORE", "z", "bottom"]).as_deref(),
        Some("-inf")
    );
    assert_eq!(text(&mut connection, &["ZSCORE", "z", "half"]).as_deref(), Some("0.5"));
    for bad in ["nan", "1e500", "1e-400", " 1", "1 ", "", "abc", "1.2.3"] {
        assert_eq!(
            error(&mut connection, &["ZADD", "z", "1", "ok", bad, "bad"]),
            "ERR value is not a valid float",
            "{bad:?}"
        );
    }
    // Scores are all checked before anything is added.
    assert_eq!(reply(&mut connection, &["ZSCORE", "z", "ok"]), Value::Nil);
    // A listpack stores -0 as the integer 0, as Redis does.
    int(&mut connection, &["ZADD", "z", "-0", "negzero"]);
    assert_eq!(text(&mut connection, &["ZSCORE", "z", "negzero"]).as_deref(), Some("0"));
}

#[test]
fn zadd_option_errors_follow_redis_order() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    for (args, expected) in [
        (
            &["ZADD", "z", "1"][..],
            "ERR wrong number of arguments for 'zadd' command",
        ),
        (&["ZADD", "z", "NX", "1"], "ERR syntax error"),
        (&["ZADD", "z", "1", "a", "2"], "ERR syntax error"),
        (
            &["ZADD", "z", "NX", "XX", "1", "a"],
            "ERR XX and NX options at the same time are not compatible",
        ),
        (
            &["ZADD", "z", "XX", "NX", "GT", "1", "a"],
            "ERR XX and NX options at the same time are not compatible",
        ),
        (
            &["ZADD", "z", "GT", "LT", "1", "a"],
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ),
        (
            &["ZADD", "z", "NX", "GT", "1", "a"],
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ),
        (
            &["ZADD", "z", "LT", "NX", "1", "a"],
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ),
        (
            &["ZADD", "z", "INCR", "1", "a", "2", "b"],
            "ERR INCR option supports a single increment-element pair",
        ),
        (&["ZADD", "z", "INCR", "x", "a"], "ERR value is not a valid float"),
    ] {
        assert_eq!(error(&mut connection, args), expected, "{args:?}");
    }
    assert!(!exists(&mut connection, "z"));
}

#[test]
fn zadd_incr_and_zincrby_reply_the_new_score_and_refuse_nan() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(
        text(&mut connection, &["ZADD", "z", "INCR", "1.5", "a"]).as_deref(),
        Some("1.5")
    );
    assert_eq!(
        text(&mut connection, &["ZADD", "z", "INCR", "2", "a"]).as_deref(),
        Some("3.5")
    );
    assert_eq!(
        text(&mut connection, &["ZINCRBY", "z", "-0.5", "a"]).as_deref(),
        Some("3")
    );
    assert_eq!(
        text(&mut connection, &["ZINCRBY", "z", "5", "new"]).as_deref(),
        Some("5")
    );
    // Skipped by NX, XX or GT: nil.
    assert_eq!(
        reply(&mut connection, &["ZADD", "z", "NX", "INCR", "1", "a"]),
        Value::Nil
    );
    assert_eq!(
        reply(&mut connection, &["ZADD", "z", "XX", "INCR", "1", "missing"]),
        Value::Nil
    );
    assert_eq!(
        reply(&mut connection, &["ZADD", "z", "GT", "INCR", "-1", "a"]),
        Value::Nil
    );
    assert_eq!(
        text(&mut connection, &["ZADD", "z", "LT", "INCR", "-1", "a"]).as_deref(),
        Some("2")
    );
    assert_eq!(
        reply(&mut connection, &["ZADD", "nokey", "XX", "INCR", "1", "a"]),
        Value::Nil
    );
    assert!(!exists(&mut connection, "nokey"));
    // inf + -inf is NaN: refused, and the score is unchanged.
    int(&mut connection, &["ZADD", "z", "inf", "big"]);
    assert_eq!(
        error(&mut connection, &["ZINCRBY", "z", "-inf", "big"]),
        "ERR resulting score is not a number (NaN)"
    );
    assert_eq!(
        error(&mut connection, &["ZADD", "z", "INCR", "-inf", "big"]),
        "ERR resulting score is not a number (NaN)"
    );
    assert_eq!(text(&mut connection, &["ZSCORE", "z", "big"]).as_deref(), Some("inf"));
    assert_eq!(
        error(&mut connection, &["ZINCRBY", "z", "nan", "a"]),
        "ERR value is not a valid float"
    );
    assert_eq!(
        error(&mut connection, &["ZINCRBY", "z", "x", "a"]),
        "ERR value is not a valid float"
    );
    assert_eq!(
        error(&mut connection, &["ZINCRBY", "z", "1"]),
        "ERR wrong number of arguments for 'zincrby' command"
    );
}

// ---------------------------------------------------------------------------
// ZREM, ZREMRANGEBY*
// ---------------------------------------------------------------------------

#[test]
fn zrem_counts_removed_members_and_deletes_the_emptied_key() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    int(&mut connection, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(int(&mut connection, &["ZREM", "z", "a", "x", "a"]), 1);
    assert_eq!(int(&mut connection, &["ZREM", "nokey", "a"]), 0);
    assert_eq!(int(&mut connection, &["ZREM", "z", "b", "c", "d"]), 2);
    assert!(!exists(&mut connection, "z"));
}

#[test]
fn zremrangebyscore_rank_and_lex() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    for limit in ["128", "0"] {
        config_set(&mut connection, "zset-max-listpack-entries", limit);
        int(&mut connection, &["DEL", "z", "lex"]);
        fill(&mut connection, "z", 10);
        assert_eq!(int(&mut connection, &["ZREMRANGEBYSCORE", "z", "(1", "3"]), 2);
        assert_eq!(strings(&mut connection, &["ZRANGE", "z", "0", "2"]), ["m0", "m1", "m4"]);
        assert_eq!(int(&mut connection, &["ZREMRANGEBYSCORE", "z", "5", "4"]), 0);
        assert_eq!(int(&mut connection, &["ZREMRANGEBYSCORE", "z", "-inf", "(1"]), 1);
        assert_eq!(int(&mut connection, &["ZREMRANGEBYRANK", "z", "-2", "-1"]), 2);
        assert_eq!(
            strings(&mut connection, &["ZRANGE", "z", "0", "-1"]),
            ["m1", "m4", "m5", "m6", "m7"]
        );
        assert_eq!(int(&mut connection, &["ZREMRANGEBYRANK", "z", "10", "20"]), 0);
        assert_eq!(int(&mut connection, &["ZREMRANGEBYRANK", "z", "1", "0"]), 0);
        assert_eq!(int(&mut connection, &["ZREMRANGEBYRANK", "z", "0", "100"]), 5);
        assert!(!exists(&mut connection, "z"));
        int(
            &mut connection,
            &["ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e"],
        );
        assert_eq!(int(&mut connection, &["ZREMRANGEBYLEX", "lex", "(a", "[c"]), 2);
        assert_eq!(int(&mut connection, &["ZREMRANGEBYLEX", "lex", "[z", "+"]), 0);
        assert_eq!(int(&mut connection, &["ZREMRANGEBYLEX", "lex", "-", "+"]), 3);
        assert!(!exists(&mut connection, "lex"));
    }
    assert_eq!(int(&mut connection, &["ZREMRANGEBYSCORE", "nokey", "0", "1"]), 0);
    assert_eq!(
        error(&mut connection, &["ZREMRANGEBYSCORE", "z", "x", "1"]),
        "ERR min or max is not a float"
    );
    assert_eq!(
        error(&mut connection, &["ZREMRANGEBYRANK", "z", "x", "1"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error(&mut connection, &["ZREMRANGEBYLEX", "z", "a", "+"]),
        "ERR min or max not valid string range item"
    );
}

// ---------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------

#[test]
fn zscore_zmscore_zcard_zcount_and_zlexcount() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    int(
        &mut connection,
        &["ZADD", "z", "1", "a", "2.5", "b", "3", "c", "-inf", "low"],
    );
    assert_eq!(text(&mut connection, &["ZSCORE", "z", "b"]).as_deref(), Some("2.5"));
    assert_eq!(reply(&mut connection, &["ZSCORE", "z", "x"]), Value::Nil);
    assert_eq!(reply(&mut connection, &["ZSCORE", "nokey", "x"]), Value::Nil);
    assert_eq!(
        reply(&mut connection, &["ZMSCORE", "z", "a", "x", "low"]),
        Value::Array(vec![
            Value::BulkString(b"1".to_vec()),
            Value::Nil,
            Value::BulkString(b"-inf".to_vec())
        ])
    );
    assert_eq!(
        reply(&mut connection, &["ZMSCORE", "nokey", "a", "b"]),
        Value::Array(vec![Value::Nil, Value::Nil])
    );
    assert_eq!(int(&mut connection, &["ZCARD", "z"]), 4);
    assert_eq!(int(&mut connection, &["ZCARD", "nokey"]), 0);
    assert_eq!(int(&mut connection, &["ZCOUNT", "z", "-inf", "+inf"]), 4);
    assert_eq!(int(&mut connection, &["ZCOUNT", "z", "(1", "3"]), 2);
    assert_eq!(int(&mut connection, &["ZCOUNT", "z", "(1", "(3"]), 1);
    assert_eq!(int(&mut connection, &["ZCOUNT", "z", "3", "1"]), 0);
    assert_eq!(int(&mut connection, &["ZCOUNT", "nokey", "0", "1"]), 0);
    assert_eq!(
        error(&mut connection, &["ZCOUNT", "z", "(x", "1"]),
        "ERR min or max is not a float"
    );
    assert_eq!(
        error(&mut connection, &["ZCOUNT", "z", "1", "nan"]),
        "ERR min or max is not a float"
    );
    int(
        &mut connection,
        &["ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d"],
    );
    assert_eq!(int(&mut connection, &["ZLEXCOUNT", "lex", "-", "+"]), 4);
    assert_eq!(int(&mut connection, &["ZLEXCOUNT", "lex", "[b", "(d"]), 2);
    assert_eq!(int(&mut connection, &["ZLEXCOUNT", "lex", "(d", "[b"]), 0);
    assert_eq!(int(&mut connection, &["ZLEXCOUNT", "lex", "+", "-"]), 0);
    assert_eq!(int(&mut connection, &["ZLEXCOUNT", "nokey", "-", "+"]), 0);
    assert_eq!(
        error(&mut connection, &["ZLEXCOUNT", "lex", "b", "+"]),
        "ERR min or max not valid string range item"
    );
    assert_eq!(
        error(&mut connection, &["ZMSCORE", "z"]),
        "ERR wrong number of arguments for 'zmscore' command"
    );
}

#[test]
fn zrank_and_zrevrank_with_and_without_score() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    int(&mut connection, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(int(&mut connection, &["ZRANK", "z", "a"]), 0);
    assert_eq!(int(&mut connection, &["ZRANK", "z", "c"]), 2);
    assert_eq!(int(&mut connection, &["ZREVRANK", "z", "a"]), 2);
    assert_eq!(reply(&mut connection, &["ZRANK", "z", "x"]), Value::Nil);
    assert_eq!(reply(&mut connection, &["ZRANK", "nokey", "x"]), Value::Nil);
    assert_eq!(
        reply(&mut connection, &["ZRANK", "z", "b", "WITHSCORE"]),
        Value::Array(vec![Value::Int(1), Value::BulkString(b"2".to_vec())])
    );
    assert_eq!(
        reply(&mut connection, &["ZREVRANK", "z", "c", "withscore"]),
        Value::Array(vec![Value::Int(0), Value::BulkString(b"3".to_vec())])
    );
    assert_eq!(reply(&mut connection, &["ZRANK", "z", "x", "WITHSCORE"]), Value::Nil);
    assert_eq!(
        error(&mut connection, &["ZRANK", "z", "a", "WITHSCORES"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut connection, &["ZRANK", "z", "a", "WITHSCORE", "x"]),
        "ERR wrong number of arguments for 'zrank' command"
    );
    assert_eq!(
        error(&mut connection, &["ZREVRANK", "z"]),
        "ERR wrong number of arguments for 'zrevrank' command"
    );
    // The nil of WITHSCORE is a nil array: `*-1` in RESP2.
    let mut raw = server.raw();
    assert_eq!(raw.command(&[b"ZRANK", b"z", b"x", b"WITHSCORE"]), Frame::NullArray);
    assert_eq!(raw.command(&[b"ZRANK", b"z", b"x"]), Frame::Null);
}

// ---------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------

#[test]
fn zrange_by_rank_score_and_lex_in_both_directions() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    for limit in ["128", "0"] {
        config_set(&mut connection, "zset-max-listpack-entries", limit);
        int(&mut connection, &["DEL", "z", "lex"]);
        fill(&mut connection, "z", 6);
        assert_eq!(
            strings(&mut connection, &["ZRANGE", "z", "0", "-1"]),
            ["m0", "m1", "m2", "m3", "m4", "m5"]
        );
        assert_eq!(strings(&mut connection, &["ZRANGE", "z", "-2", "100"]), ["m4", "m5"]);
        assert_eq!(
            strings(&mut connection, &["ZRANGE", "z", "0", "1", "REV"]),
            ["m5", "m4"]
        );
        assert_eq!(strings(&mut connection, &["ZREVRANGE", "z", "1", "2"]), ["m4", "m3"]);
        assert_eq!(
            strings(&mut connection, &["ZRANGE", "z", "4", "2"]),
            Vec::<String>::new()
        );
        assert_eq!(
            strings(&mut connection, &["ZRANGE", "z", "0", "1", "WITHSCORES"]),
            ["m0", "0", "m1", "1"]
        );
        assert_eq!(
            strings(&mut connection, &["ZRANGE", "z", "(1", "3", "BYSCORE"]),
            ["m2", "m3"]
        );
        assert_eq!(
            strings(
                &mut connection,
                &["ZRANGE", "z", "3", "(1", "BYSCORE", "REV", "WITHSCORES"]
            ),
            ["m3", "3", "m2", "2"]
        );
        assert_eq!(
            strings(
                &mut connection,
                &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "1", "2"]
            ),
            ["m1", "m2"]
        );
        assert_eq!(
            strings(
                &mut connection,
                &["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "1", "2"]
            ),
            ["m4", "m3"]
        );
        assert_eq!(
            strings(
                &mut connection,
                &["ZRANGEBYSCORE", "z", "1", "4", "WITHSCORES", "LIMIT", "2", "-1"]
            ),
            ["m3", "3", "m4", "4"]
        );
        // LIMIT: a negative offset or an offset past the range gives nothing,
        // a count of 0 nothing, a negative count everything.
        for (offset, count, expected) in [
            ("-1", "2", 0),
            ("6", "2", 0),
            ("0", "0", 0),
            ("0", "-5", 6),
            ("5", "10", 1),
        ] {
            let picked = strings(
                &mut connection,
                &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", offset, count],
            );
            assert_eq!(picked.len(), expected, "LIMIT {offset} {count}");
        }
        int(
            &mut connection,
            &["ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e"],
        );
        assert_eq!(
            strings(&mut connection, &["ZRANGE", "lex", "[b", "(d", "BYLEX"]),
            ["b", "c"]
        );
        assert_eq!(
            strings(&mut connection, &["ZRANGEBYLEX", "lex", "-", "+", "LIMIT", "1", "3"]),
            ["b", "c", "d"]
        );
        assert_eq!(
            strings(&mut connection, &["ZREVRANGEBYLEX", "lex", "+", "(c"]),
            ["e", "d"]
        );
        assert_eq!(
            strings(
                &mut connection,
                &["ZRANGE", "lex", "+", "[c", "BYLEX", "REV", "LIMIT", "0", "1"]
            ),
            ["e"]
        );
        assert_eq!(strings(&mut connection, &["ZRANGEBYLEX", "lex", "[", "[a"]), ["a"]);
    }
    assert_eq!(
        strings(&mut connection, &["ZRANGE", "nokey", "0", "-1"]),
        Vec::<String>::new()
    );
}

#[test]
fn zrange_option_errors_follow_redis() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    int(&mut connection, &["ZADD", "z", "1", "a"]);
    for (args, expected) in [
        (
            &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"][..],
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ),
        (
            &["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"],
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ),
        (
            &["ZRANGEBYLEX", "z", "-", "+", "WITHSCORES"],
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ),
        (
            &["ZREVRANGE", "z", "0", "-1", "LIMIT", "0", "1"],
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ),
        (&["ZRANGE", "z", "0", "-1", "BYSCORE", "BYLEX"], "ERR syntax error"),
        (&["ZREVRANGE", "z", "0", "-1", "REV"], "ERR syntax error"),
        (&["ZRANGEBYSCORE", "z", "0", "1", "BYSCORE"], "ERR syntax error"),
        (&["ZRANGE", "z", "0", "-1", "LIMIT", "0"], "ERR syntax error"),
        (&["ZRANGE", "z", "0", "-1", "FOO"], "ERR syntax error"),
        (
            &["ZRANGE", "z", "x", "-1"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["ZRANGE", "z", "0", "1", "BYSCORE", "LIMIT", "x", "1"],
            "ERR value is not an integer or out of range",
        ),
        (&["ZRANGE", "z", "x", "1", "BYSCORE"], "ERR min or max is not a float"),
        (
            &["ZRANGE", "z", "a", "+", "BYLEX"],
            "ERR min or max not valid string range item",
        ),
        (&["ZRANGESTORE", "d", "z", "0", "-1", "WITHSCORES"], "ERR syntax error"),
        (
            &["ZRANGE", "z", "0"],
            "ERR wrong number of arguments for 'zrange' command",
        ),
    ] {
        assert_eq!(error(&mut connection, args), expected, "{args:?}");
    }
}

#[test]
fn zrangestore_stores_the_range_and_deletes_the_destination_when_empty() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    fill(&mut connection, "src", 10);
    assert_eq!(int(&mut connection, &["ZRANGESTORE", "dst", "src", "2", "4"]), 3);
    assert_eq!(
        strings(&mut connection, &["ZRANGE", "dst", "0", "-1", "WITHSCORES"]),
        ["m2", "2", "m3", "3", "m4", "4"]
    );
    assert_eq!(
        int(
            &mut connection,
            &[
                "ZRANGESTORE",
                "dst",
                "src",
                "8",
                "(5",
                "BYSCORE",
                "REV",
                "LIMIT",
                "0",
                "2"
            ]
        ),
        2
    );
    assert_eq!(strings(&mut connection, &["ZRANGE", "dst", "0", "-1"]), ["m7", "m8"]);
    int(&mut connection, &["PEXPIRE", "dst", "100000"]);
    assert_eq!(int(&mut connection, &["ZRANGESTORE", "dst", "src", "0", "0"]), 1);
    assert_eq!(
        int(&mut connection, &["PTTL", "dst"]),
        -1,
        "the destination is replaced, TTL included"
    );
    assert_eq!(int(&mut connection, &["ZRANGESTORE", "dst", "src", "100", "200"]), 0);
    assert!(!exists(&mut connection, "dst"));
    ok(&mut connection, &["SET", "dst", "string"]);
    assert_eq!(int(&mut connection, &["ZRANGESTORE", "dst", "nokey", "0", "-1"]), 0);
    assert!(!exists(&mut connection, "dst"));
    // The source may be the destination.
    assert_eq!(int(&mut connection, &["ZRANGESTORE", "src", "src", "0", "1"]), 2);
    assert_eq!(strings(&mut connection, &["ZRANGE", "src", "0", "-1"]), ["m0", "m1"]);
}

// ---------------------------------------------------------------------------
// Pops
// ---------------------------------------------------------------------------

#[test]
fn zpopmin_and_zpopmax() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    fill(&mut connection, "z", 5);
    assert_eq!(strings(&mut connection, &["ZPOPMIN", "z"]), ["m0", "0"]);
    assert_eq!(strings(&mut connection, &["ZPOPMAX", "z", "2"]), ["m4", "4", "m3", "3"]);
    assert_eq!(strings(&mut connection, &["ZPOPMIN", "z", "0"]), Vec::<String>::new());
    assert_eq!(
        strings(&mut connection, &["ZPOPMIN", "z", "10"]),
        ["m1", "1", "m2", "2"]
    );
    assert!(!exists(&mut connection, "z"));
    assert_eq!(strings(&mut connection, &["ZPOPMIN", "z"]), Vec::<String>::new());
    assert_eq!(strings(&mut connection, &["ZPOPMAX", "z", "3"]), Vec::<String>::new());
    assert_eq!(
        error(&mut connection, &["ZPOPMIN", "z", "-1"]),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(
        error(&mut connection, &["ZPOPMIN", "z", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(error(&mut connection, &["ZPOPMAX", "z", "1", "2"]), "ERR syntax error");
}

#[test]
fn zmpop_pops_from_the_first_non_empty_key() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    fill(&mut connection, "b", 3);
    assert_eq!(
        reply(&mut connection, &["ZMPOP", "2", "a", "b", "MIN"]),
        Value::Array(vec![
            Value::BulkString(b"b".to_vec()),
            Value::Array(vec![Value::Array(vec![
                Value::BulkString(b"m0".to_vec()),
                Value::BulkString(b"0".to_vec())
            ])])
        ])
    );
    assert_eq!(
        reply(&mut connection, &["ZMPOP", "1", "b", "max", "COUNT", "10"]),
        Value::Array(vec![
            Value::BulkString(b"b".to_vec()),
            Value::Array(vec![
                Value::Array(vec![
                    Value::BulkString(b"m2".to_vec()),
                    Value::BulkString(b"2".to_vec())
                ]),
                Value::Array(vec![
                    Value::BulkString(b"m1".to_vec()),
                    Value::BulkString(b"1".to_vec())
                ]),
            ])
        ])
    );
    assert!(!exists(&mut connection, "b"));
    assert_eq!(reply(&mut connection, &["ZMPOP", "2", "a", "b", "MIN"]), Value::Nil);
    let mut raw = server.raw();
    assert_eq!(raw.command(&[b"ZMPOP", b"1", b"a", b"MIN"]), Frame::NullArray);
    ok(&mut connection, &["SET", "s", "x"]);
    int(&mut connection, &["ZADD", "c", "1", "x"]);
    assert_eq!(
        error(&mut connection, &["ZMPOP", "2", "s", "c", "MIN"]),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    for (args, expected) in [
        (&["ZMPOP", "0", "a", "MIN"][..], "ERR numkeys should be greater than 0"),
        (&["ZMPOP", "-1", "a", "MIN"], "ERR numkeys should be greater than 0"),
        (
            &["ZMPOP", "x", "a", "MIN"],
            "ERR value is not an integer or out of range",
        ),
        (&["ZMPOP", "2", "a", "MIN"], "ERR syntax error"),
        (&["ZMPOP", "9223372036854775807", "a", "MIN"], "ERR syntax error"),
        (&["ZMPOP", "1", "a", "FOO"], "ERR syntax error"),
        (
            &["ZMPOP", "1", "a", "MIN", "COUNT", "0"],
            "ERR count should be greater than 0",
        ),
        (
            &["ZMPOP", "1", "a", "MIN", "COUNT", "1", "COUNT", "1"],
            "ERR syntax error",
        ),
        (&["ZMPOP", "1", "a", "MIN", "COUNT"], "ERR syntax error"),
    ] {
        assert_eq!(error(&mut connection, args), expected, "{args:?}");
    }
}

// ---------------------------------------------------------------------------
// ZRANDMEMBER
// ---------------------------------------------------------------------------

#[test]
fn zrandmember_picks_members_of_the_set() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    for (key, size) in [("small", 5usize), ("large", 300)] {
        fill(&mut connection, key, size);
        let all: HashSet<String> = (0..size).map(|n| format!("m{n}")).collect();
        let one = text(&mut connection, &["ZRANDMEMBER", key]).expect("a member");
        assert!(all.contains(&one));
        for count in [1usize, 3, size / 2, size - 1] {
            let picked = strings(&mut connection, &["ZRANDMEMBER", key, &count.to_string()]);
            assert_eq!(picked.len(), count);
            let distinct: HashSet<_> = picked.iter().cloned().collect();
            assert_eq!(distinct.len(), count, "distinct for a positive count");
            assert!(distinct.is_subset(&all));
        }
        // A count covering the set returns it whole, highest score first.
        let whole = strings(&mut connection, &["ZRANDMEMBER", key, "100000"]);
        let expected: Vec<String> = (0..size).rev().map(|n| format!("m{n}")).collect();
        assert_eq!(whole, expected);
        let repeated = strings(&mut connection, &["ZRANDMEMBER", key, "-1000"]);
        assert_eq!(repeated.len(), 1000);
        assert!(repeated.iter().all(|member| all.contains(member)));
        let with_scores = strings(&mut connection, &["ZRANDMEMBER", key, "-4", "WITHSCORES"]);
        assert_eq!(with_scores.len(), 8);
        for chunk in with_scores.chunks(2) {
            assert_eq!(chunk[0], format!("m{}", chunk[1]));
        }
    }
    assert_eq!(reply(&mut connection, &["ZRANDMEMBER", "nokey"]), Value::Nil);
    assert_eq!(
        reply(&mut connection, &["ZRANDMEMBER", "nokey", "5"]),
        Value::Array(vec![])
    );
    assert_eq!(
        reply(&mut connection, &["ZRANDMEMBER", "small", "0"]),
        Value::Array(vec![])
    );
    assert_eq!(
        error(&mut connection, &["ZRANDMEMBER", "small", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error(&mut connection, &["ZRANDMEMBER", "small", "1", "FOO"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut connection, &["ZRANDMEMBER", "small", "1", "WITHSCORES", "x"]),
        "ERR syntax error"
    );
}

/// CVE-2023-25155: a huge negative count must neither allocate for the count
/// nor run for long; Starling refuses counts it cannot build.
#[test]
fn zrandmember_huge_negative_counts_reply_quickly() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    fill(&mut connection, "small", 3);
    fill(&mut connection, "large", 300);
    let started = Instant::now();
    for key in ["small", "large"] {
        // No reply of that many picks fits proto-max-bulk-len (512 MB).
        let too_large = "ERR value is out of range, the reply would exceed proto-max-bulk-len";
        assert_eq!(
            error(
                &mut connection,
                &["ZRANDMEMBER", key, "-9223372036854775807", "WITHSCORES"]
            ),
            "ERR value is out of range",
            "Redis's own bound on a count with WITHSCORES"
        );
        for count in [
            "-9223372036854775807",
            "-4611686018427387903",
            "-100000000000",
            "-100000000",
        ] {
            assert_eq!(
                error(&mut connection, &["ZRANDMEMBER", key, count]),
                too_large,
                "{key} {count}"
            );
        }
        for count in ["-4611686018427387903", "-100000000000", "-50000000"] {
            assert_eq!(
                error(&mut connection, &["ZRANDMEMBER", key, count, "WITHSCORES"]),
                too_large,
                "{key} {count} WITHSCORES"
            );
        }
        assert_eq!(
            error(&mut connection, &["ZRANDMEMBER", key, "-9223372036854775808"]),
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
        );
        assert_eq!(
            error(
                &mut connection,
                &["ZRANDMEMBER", key, "4611686018427387904", "WITHSCORES"]
            ),
            "ERR value is out of range"
        );
    }
    assert_eq!(
        reply(&mut connection, &["ZRANDMEMBER", "nokey", "-9223372036854775807"]),
        Value::Array(vec![])
    );
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!(
        strings(&mut connection, &["ZRANDMEMBER", "small", "-50000"]).len(),
        50_000
    );

    // With a client output buffer limit, a reply is built only up to it: a
    // count past it is refused up front (-20000) or while picking (-7000,
    // and -4000 with withscores); the key is untouched.
    config_set(&mut connection, "client-output-buffer-limit", "normal 65536 0 0");
    assert_eq!(strings(&mut connection, &["ZRANDMEMBER", "large", "-1000"]).len(), 1000);
    assert_eq!(
        strings(&mut connection, &["ZRANDMEMBER", "large", "-1000", "WITHSCORES"]).len(),
        2000
    );
    for args in [
        &["ZRANDMEMBER", "large", "-20000"][..],
        &["ZRANDMEMBER", "large", "-7000"],
        &["ZRANDMEMBER", "large", "-4000", "WITHSCORES"],
    ] {
        assert_eq!(
            error(&mut connection, args),
            "ERR value is out of range, the reply would exceed client-output-buffer-limit",
            "{args:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// ZSCAN
// ---------------------------------------------------------------------------

/// Runs a whole ZSCAN; returns member → score text and the number of calls.
fn full_zscan(connection: &mut Connection, key: &str, options: &[&str]) -> (BTreeMap<String, String>, usize) {
    let mut cursor = "0".to_string();
    let mut found = BTreeMap::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["ZSCAN", key, &cursor];
        args.extend_from_slice(options);
        let (next, batch): (String, Vec<String>) = cmd(args[0]).arg(&args[1..]).query(connection).expect("ZSCAN");
        for chunk in batch.chunks(2) {
            found.insert(chunk[0].clone(), chunk[1].clone());
        }
        calls += 1;
        if next == "0" {
            return (found, calls);
        }
        cursor = next;
        assert!(calls < 10_000, "ZSCAN does not finish");
    }
}

#[test]
fn zscan_returns_every_member_with_its_score_text() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    int(
        &mut connection,
        &["ZADD", "small", "0.1", "a", "1e17", "b", "1.5", "c", "-0", "d"],
    );
    let (found, calls) = full_zscan(&mut connection, "small", &[]);
    assert_eq!(calls, 1, "a listpack comes back whole");
    // A listpack keeps Redis's shortest text (and -0 as 0).
    assert_eq!(found["a"], "0.1");
    assert_eq!(found["b"], "100000000000000000");
    assert_eq!(found["d"], "0");
    let _: () = cmd("CONFIG")
        .arg("SET")
        .arg("zset-max-listpack-entries")
        .arg("0")
        .query(&mut connection)
        .unwrap();
    int(
        &mut connection,
        &["ZADD", "large", "0.1", "a", "1e17", "b", "1.5", "c", "-0", "d"],
    );
    assert_eq!(encoding(&mut connection, "large"), "skiplist");
    let (found, _) = full_zscan(&mut connection, "large", &[]);
    // A skiplist shows `%.17g`, as Redis's `ld2string` does.
    assert_eq!(found["a"], "0.10000000000000001");
    assert_eq!(found["b"], "1e+17");
    assert_eq!(found["c"], "1.5");
    assert_eq!(found["d"], "-0");
    fill(&mut connection, "big", 1000);
    let (found, calls) = full_zscan(&mut connection, "big", &["COUNT", "20"]);
    assert_eq!(found.len(), 1000);
    assert!(calls > 10, "{calls} calls");
    assert_eq!(found["m123"], "123");
    let (matched, _) = full_zscan(&mut connection, "big", &["MATCH", "m99*"]);
    assert_eq!(
        matched.keys().cloned().collect::<Vec<_>>(),
        ["m99", "m990", "m991", "m992", "m993", "m994", "m995", "m996", "m997", "m998", "m999"]
    );
    assert_eq!(
        reply(&mut connection, &["ZSCAN", "nokey", "0"]),
        Value::Array(vec![Value::BulkString(b"0".to_vec()), Value::Array(vec![])])
    );
    for (args, expected) in [
        (&["ZSCAN", "big", "x"][..], "ERR invalid cursor"),
        (&["ZSCAN", "big", "0", "COUNT", "0"], "ERR syntax error"),
        (
            &["ZSCAN", "big", "0", "COUNT", "x"],
            "ERR value is not an integer or out of range",
        ),
        (&["ZSCAN", "big", "0", "MATCH"], "ERR syntax error"),
        (&["ZSCAN", "big", "0", "TYPE", "zset"], "ERR syntax error"),
    ] {
        assert_eq!(error(&mut connection, args), expected, "{args:?}");
    }
}

#[test]
fn zscan_cursor_is_stable_while_members_come_and_go() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    fill(&mut connection, "z", 500);
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    let mut calls = 0;
    loop {
        let (next, batch): (String, Vec<String>) = cmd("ZSCAN")
            .arg("z")
            .arg(&cursor)
            .arg("COUNT")
            .arg(5)
            .query(&mut connection)
            .unwrap();
        seen.extend(batch.chunks(2).map(|chunk| chunk[0].clone()));
        calls += 1;
        // Grow the set a lot, then shrink it, while the scan runs.
        if calls == 5 {
            let mut command = cmd("ZADD");
            command.arg("z");
            for n in 500..5000 {
                command.arg(n).arg(format!("m{n}"));
            }
            let _: i64 = command.query(&mut connection).unwrap();
        }
        if calls == 40 {
            let _: i64 = cmd("ZREMRANGEBYSCORE")
                .arg("z")
                .arg(500)
                .arg(5000)
                .query(&mut connection)
                .unwrap();
        }
        if next == "0" {
            break;
        }
        cursor = next;
        assert!(calls < 10_000);
    }
    for n in 0..500 {
        assert!(seen.contains(&format!("m{n}")), "m{n} was never returned");
    }
}

// ---------------------------------------------------------------------------
// Set algebra
// ---------------------------------------------------------------------------

#[test]
fn zunion_zinter_zdiff_with_weights_and_aggregates() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    int(&mut connection, &["ZADD", "a", "1", "x", "2", "y", "3", "z"]);
    int(&mut connection, &["ZADD", "b", "10", "y", "20", "z", "30", "w"]);
    assert_eq!(
        strings(&mut connection, &["ZUNION", "2", "a", "b", "WITHSCORES"]),
        ["x", "1", "y", "12", "z", "23", "w", "30"]
    );
    assert_eq!(
        strings(
            &mut connection,
            &[
                "ZUNION",
                "2",
                "a",
                "b",
                "WEIGHTS",
                "2",
                "0.5",
                "AGGREGATE",
                "MAX",
                "WITHSCORES"
            ]
        ),
        ["x", "2", "y", "5", "z", "10", "w", "15"]
    );
    assert_eq!(
        strings(
            &mut connection,
            &["ZINTER", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"]
        ),
        ["y", "2", "z", "3"]
    );
    assert_eq!(strings(&mut connection, &["ZINTER", "2", "a", "b"]), ["y", "z"]);
    assert_eq!(
        strings(&mut connection, &["ZINTER", "2", "a", "nokey"]),
        Vec::<String>::new()
    );
    assert_eq!(
        strings(&mut connection, &["ZDIFF", "2", "a", "b", "WITHSCORES"]),
        ["x", "1"]
    );
    assert_eq!(strings(&mut connection, &["ZDIFF", "2", "a", "nokey"]), ["x", "y", "z"]);
    assert_eq!(int(&mut connection, &["ZINTERCARD", "2", "a", "b"]), 2);
    assert_eq!(int(&mut connection, &["ZINTERCARD", "2", "a", "b", "LIMIT", "1"]), 1);
    assert_eq!(int(&mut connection, &["ZINTERCARD", "2", "a", "b", "LIMIT", "0"]), 2);
    // inf * 0 and inf + -inf are 0.
    int(&mut connection, &["ZADD", "inf", "inf", "x"]);
    int(&mut connection, &["ZADD", "neginf", "-inf", "x"]);
    assert_eq!(
        strings(&mut connection, &["ZUNION", "1", "inf", "WEIGHTS", "0", "WITHSCORES"]),
        ["x", "0"]
    );
    assert_eq!(
        strings(&mut connection, &["ZINTER", "2", "inf", "neginf", "WITHSCORES"]),
        ["x", "0"]
    );
    // STORE forms.
    assert_eq!(int(&mut connection, &["ZUNIONSTORE", "dst", "2", "a", "b"]), 4);
    assert_eq!(
        strings(&mut connection, &["ZRANGE", "dst", "0", "-1"]),
        ["x", "y", "z", "w"]
    );
    assert_eq!(
        int(
            &mut connection,
            &["ZINTERSTORE", "dst", "2", "a", "b", "WEIGHTS", "1", "-1"]
        ),
        2
    );
    assert_eq!(
        strings(&mut connection, &["ZRANGE", "dst", "0", "-1", "WITHSCORES"]),
        ["z", "-17", "y", "-8"]
    );
    assert_eq!(int(&mut connection, &["ZDIFFSTORE", "dst", "2", "b", "a"]), 1);
    assert_eq!(strings(&mut connection, &["ZRANGE", "dst", "0", "-1"]), ["w"]);
    assert_eq!(int(&mut connection, &["ZINTERSTORE", "dst", "2", "a", "nokey"]), 0);
    assert!(!exists(&mut connection, "dst"));
    // The destination may be a source.
    assert_eq!(int(&mut connection, &["ZUNIONSTORE", "a", "2", "a", "a"]), 3);
    assert_eq!(
        strings(&mut connection, &["ZRANGE", "a", "0", "-1", "WITHSCORES"]),
        ["x", "2", "y", "4", "z", "6"]
    );
}

#[test]
fn set_algebra_takes_plain_sets_as_members_scoring_one() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    int(&mut connection, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    // An intset and a listpack set, then a hashtable one.
    int(&mut connection, &["SADD", "ints", "5", "7"]);
    int(&mut connection, &["SADD", "mixed", "a", "c", "5", "7"]);
    assert_eq!(
        strings(&mut connection, &["ZUNION", "2", "z", "mixed", "WITHSCORES"]),
        ["5", "1", "7", "1", "a", "2", "b", "2", "c", "4"]
    );
    assert_eq!(
        strings(&mut connection, &["ZINTER", "2", "z", "mixed", "WITHSCORES"]),
        ["a", "2", "c", "4"]
    );
    assert_eq!(
        strings(&mut connection, &["ZDIFF", "2", "mixed", "z", "WITHSCORES"]),
        ["5", "1", "7", "1"]
    );
    assert_eq!(
        strings(&mut connection, &["ZINTER", "2", "ints", "mixed", "WEIGHTS", "2", "3"]),
        ["5", "7"]
    );
    assert_eq!(int(&mut connection, &["ZINTERCARD", "2", "ints", "mixed"]), 2);
    assert_eq!(int(&mut connection, &["ZINTERSTORE", "dst", "2", "mixed", "mixed"]), 4);
    assert_eq!(
        strings(&mut connection, &["ZRANGE", "dst", "0", "-1", "WITHSCORES"]),
        ["5", "2", "7", "2", "a", "2", "c", "2"]
    );
    let mut command = cmd("SADD");
    command.arg("large");
    for n in 0..300 {
        command.arg(format!("member{n}"));
    }
    let _: i64 = command.query(&mut connection).expect("SADD");
    assert_eq!(int(&mut connection, &["ZUNIONSTORE", "dst", "2", "large", "z"]), 303);
    assert_eq!(
        text(&mut connection, &["ZSCORE", "dst", "member42"]).as_deref(),
        Some("1")
    );
    // Sets are inputs only: the other sorted set commands still refuse them.
    assert_eq!(
        error(&mut connection, &["ZRANGE", "ints", "0", "-1"]),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
}

#[test]
fn set_algebra_errors_follow_redis() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    int(&mut connection, &["ZADD", "a", "1", "x"]);
    ok(&mut connection, &["SET", "s", "string"]);
    for (args, expected) in [
        (
            &["ZUNION", "0", "a"][..],
            "ERR at least 1 input key is needed for 'zunion' command",
        ),
        (
            &["ZUNIONSTORE", "d", "0", "a"],
            "ERR at least 1 input key is needed for 'zunionstore' command",
        ),
        (
            &["ZINTERCARD", "0", "a"],
            "ERR at least 1 input key is needed for 'zintercard' command",
        ),
        (
            &["ZDIFFSTORE", "d", "-1", "a"],
            "ERR at least 1 input key is needed for 'zdiffstore' command",
        ),
        (&["ZUNION", "x", "a"], "ERR value is not an integer or out of range"),
        (&["ZUNION", "2", "a"], "ERR syntax error"),
        (&["ZUNION", "1", "a", "WEIGHTS"], "ERR syntax error"),
        (&["ZUNION", "1", "a", "WEIGHTS", "x"], "ERR weight value is not a float"),
        (&["ZUNION", "1", "a", "AGGREGATE", "AVG"], "ERR syntax error"),
        (&["ZUNIONSTORE", "d", "1", "a", "WITHSCORES"], "ERR syntax error"),
        (&["ZDIFF", "1", "a", "WEIGHTS", "1"], "ERR syntax error"),
        (&["ZDIFF", "1", "a", "AGGREGATE", "MIN"], "ERR syntax error"),
        (&["ZINTERCARD", "1", "a", "WITHSCORES"], "ERR syntax error"),
        (&["ZINTERCARD", "1", "a", "LIMIT", "-1"], "ERR LIMIT can't be negative"),
        (
            &["ZINTERCARD", "1", "a", "LIMIT", "x"],
            "ERR value is not an integer or out of range",
        ),
        (&["ZINTER", "1", "a", "LIMIT", "1"], "ERR syntax error"),
        // Keys are looked up before the options are read.
        (
            &["ZUNION", "2", "a", "s", "FOO"],
            "WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
    ] {
        assert_eq!(error(&mut connection, args), expected, "{args:?}");
    }
}

// ---------------------------------------------------------------------------
// Reply shapes in both protocols
// ---------------------------------------------------------------------------

#[test]
fn replies_have_redis_shapes_in_resp2_and_resp3() {
    let server = TestServer::start(1);
    let mut raw2 = server.raw();
    let mut raw3 = resp3(&server);
    raw2.command(&[b"ZADD", b"z", b"1", b"a", b"2.5", b"b", b"3", b"c"]);
    assert_eq!(raw3.command(&[b"ZSCORE", b"z", b"b"]), Frame::Double(2.5));
    assert_eq!(raw2.command(&[b"ZSCORE", b"z", b"b"]), bulk("2.5"));
    assert_eq!(raw3.command(&[b"ZSCORE", b"z", b"x"]), Frame::Null);
    assert_eq!(
        raw3.command(&[b"ZRANGE", b"z", b"0", b"1", b"WITHSCORES"]),
        Frame::Array(vec![pair("a", 1.0), pair("b", 2.5)])
    );
    assert_eq!(
        raw2.command(&[b"ZRANGE", b"z", b"0", b"1", b"WITHSCORES"]),
        Frame::Array(vec![bulk("a"), bulk("1"), bulk("b"), bulk("2.5")])
    );
    assert_eq!(
        raw3.command(&[b"ZRANK", b"z", b"b", b"WITHSCORE"]),
        Frame::Array(vec![Frame::Integer(1), Frame::Double(2.5)])
    );
    assert_eq!(
        raw3.command(&[b"ZUNION", b"1", b"z", b"WITHSCORES"]),
        Frame::Array(vec![pair("a", 1.0), pair("b", 2.5), pair("c", 3.0)])
    );
    assert_eq!(raw3.command(&[b"ZINCRBY", b"z", b"1", b"a"]), Frame::Double(2.0));
    assert_eq!(raw3.command(&[b"ZADD", b"z", b"NX", b"INCR", b"1", b"a"]), Frame::Null);
    assert_eq!(
        raw3.command(&[b"ZMSCORE", b"z", b"a", b"x"]),
        Frame::Array(vec![Frame::Double(2.0), Frame::Null])
    );
    let random = raw3.command(&[b"ZRANDMEMBER", b"z", b"-2", b"WITHSCORES"]);
    let Frame::Array(pairs) = random else {
        panic!("{random:?}")
    };
    assert!(pairs
        .iter()
        .all(|pair| matches!(pair, Frame::Array(items) if items.len() == 2)));
    // ZPOPMIN without a count is flat in both protocols; with one, nested in RESP3.
    assert_eq!(
        raw3.command(&[b"ZPOPMIN", b"z"]),
        Frame::Array(vec![bulk("a"), Frame::Double(2.0)])
    );
    assert_eq!(
        raw3.command(&[b"ZPOPMAX", b"z", b"1"]),
        Frame::Array(vec![pair("c", 3.0)])
    );
    assert_eq!(
        raw2.command(&[b"ZPOPMAX", b"z", b"1"]),
        Frame::Array(vec![bulk("b"), bulk("2.5")])
    );
    raw2.command(&[b"ZADD", b"z", b"1", b"a"]);
    assert_eq!(
        raw3.command(&[b"ZMPOP", b"1", b"z", b"MIN"]),
        Frame::Array(vec![bulk("z"), Frame::Array(vec![pair("a", 1.0)])])
    );
    assert_eq!(raw3.command(&[b"ZMPOP", b"1", b"z", b"MIN"]), Frame::Null);
}

// ---------------------------------------------------------------------------
// Types, encodings, large sets, persistence
// ---------------------------------------------------------------------------

#[test]
fn every_command_refuses_other_types() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    ok(&mut connection, &["SET", "s", "string"]);
    int(&mut connection, &["ZADD", "z", "1", "a"]);
    let wrong_type = "WRONGTYPE Operation against a key holding the wrong kind of value";
    for args in [
        &["ZADD", "s", "1", "a"][..],
        &["ZADD", "s", "XX", "1", "a"],
        &["ZINCRBY", "s", "1", "a"],
        &["ZREM", "s", "a"],
        &["ZREMRANGEBYSCORE", "s", "0", "1"],
        &["ZREMRANGEBYRANK", "s", "0", "1"],
        &["ZREMRANGEBYLEX", "s", "-", "+"],
        &["ZSCORE", "s", "a"],
        &["ZMSCORE", "s", "a"],
        &["ZCARD", "s"],
        &["ZCOUNT", "s", "0", "1"],
        &["ZLEXCOUNT", "s", "-", "+"],
        &["ZRANK", "s", "a"],
        &["ZREVRANK", "s", "a", "WITHSCORE"],
        &["ZRANDMEMBER", "s"],
        &["ZRANDMEMBER", "s", "-3", "WITHSCORES"],
        &["ZSCAN", "s", "0"],
        &["ZRANGE", "s", "0", "-1"],
        &["ZRANGESTORE", "d", "s", "0", "-1"],
        &["ZREVRANGE", "s", "0", "-1"],
        &["ZRANGEBYSCORE", "s", "0", "1"],
        &["ZREVRANGEBYSCORE", "s", "1", "0"],
        &["ZRANGEBYLEX", "s", "-", "+"],
        &["ZREVRANGEBYLEX", "s", "+", "-"],
        &["ZPOPMIN", "s"],
        &["ZPOPMAX", "s", "0"],
        &["ZMPOP", "1", "s", "MIN"],
        &["ZUNION", "2", "z", "s"],
        &["ZUNIONSTORE", "d", "2", "z", "s"],
        &["ZINTER", "2", "z", "s"],
        &["ZINTERSTORE", "d", "2", "z", "s"],
        &["ZINTERCARD", "2", "z", "s"],
        &["ZDIFF", "2", "z", "s"],
        &["ZDIFFSTORE", "d", "2", "z", "s"],
    ] {
        assert_eq!(error(&mut connection, args), wrong_type, "{args:?}");
    }
    assert_eq!(text(&mut connection, &["GET", "s"]).as_deref(), Some("string"));
    // A STORE replaces a destination of another type.
    assert_eq!(int(&mut connection, &["ZUNIONSTORE", "s", "1", "z"]), 1);
    assert_eq!(
        reply(&mut connection, &["TYPE", "s"]),
        Value::SimpleString("zset".to_string())
    );
}

#[test]
fn encoding_moves_from_listpack_to_skiplist_at_the_thresholds() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    fill(&mut connection, "z", 128);
    assert_eq!(encoding(&mut connection, "z"), "listpack");
    int(&mut connection, &["ZADD", "z", "1000", "one-more"]);
    assert_eq!(encoding(&mut connection, "z"), "skiplist");
    // Never back, even when it shrinks.
    int(&mut connection, &["ZREMRANGEBYRANK", "z", "0", "-3"]);
    assert_eq!(encoding(&mut connection, "z"), "skiplist");
    let long_member = "x".repeat(65);
    int(&mut connection, &["ZADD", "long", "1", "a"]);
    assert_eq!(encoding(&mut connection, "long"), "listpack");
    int(&mut connection, &["ZADD", "long", "1", &long_member]);
    assert_eq!(encoding(&mut connection, "long"), "skiplist");
    int(&mut connection, &["ZADD", "born-long", "1", &long_member]);
    assert_eq!(encoding(&mut connection, "born-long"), "skiplist");
    // STORE results pick the encoding their size calls for.
    assert_eq!(int(&mut connection, &["ZUNIONSTORE", "small", "1", "z"]), 2);
    assert_eq!(encoding(&mut connection, "small"), "listpack");
    assert_eq!(int(&mut connection, &["ZRANGESTORE", "small2", "z", "0", "-1"]), 2);
    assert_eq!(encoding(&mut connection, "small2"), "listpack");
    fill(&mut connection, "big", 200);
    int(&mut connection, &["ZRANGESTORE", "bigcopy", "big", "0", "-1"]);
    assert_eq!(encoding(&mut connection, "bigcopy"), "skiplist");
    assert_eq!(
        strings(&mut connection, &["ZRANGE", "bigcopy", "0", "-1"]),
        strings(&mut connection, &["ZRANGE", "big", "0", "-1"])
    );
}

#[test]
fn config_set_thresholds_apply_to_the_next_write() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    config_set(&mut connection, "zset-max-listpack-entries", "4");
    fill(&mut connection, "z", 4);
    assert_eq!(encoding(&mut connection, "z"), "listpack");
    int(&mut connection, &["ZADD", "z", "9", "fifth"]);
    assert_eq!(encoding(&mut connection, "z"), "skiplist");
    config_set(&mut connection, "zset-max-listpack-value", "3");
    int(&mut connection, &["ZADD", "v", "1", "abc"]);
    assert_eq!(encoding(&mut connection, "v"), "listpack");
    int(&mut connection, &["ZADD", "v", "1", "abcd"]);
    assert_eq!(encoding(&mut connection, "v"), "skiplist");
    config_set(&mut connection, "zset-max-listpack-entries", "0");
    int(&mut connection, &["ZADD", "zero", "1", "a"]);
    assert_eq!(encoding(&mut connection, "zero"), "skiplist");
}

#[test]
fn a_large_set_ranks_and_ranges_correctly() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    const SIZE: usize = 100_000;
    let mut pipeline = redis::pipe();
    for batch in 0..SIZE / 1000 {
        let mut command = cmd("ZADD");
        command.arg("big");
        for n in batch * 1000..(batch + 1) * 1000 {
            // Scores out of insertion order, some shared, so ties order by member.
            command.arg((n * 7919) % SIZE / 2).arg(format!("member:{n:06}"));
        }
        pipeline.add_command(command).ignore();
    }
    let _: () = pipeline.query(&mut connection).expect("ZADD batches");
    assert_eq!(int(&mut connection, &["ZCARD", "big"]), SIZE as i64);
    assert_eq!(encoding(&mut connection, "big"), "skiplist");
    // The model: members sorted by (score, member).
    let mut model: Vec<(usize, String)> = (0..SIZE)
        .map(|n| ((n * 7919) % SIZE / 2, format!("member:{n:06}")))
        .collect();
    model.sort();
    for rank in [0usize, 1, 777, 49_999, 50_000, 99_998, 99_999] {
        let (score, member) = &model[rank];
        assert_eq!(int(&mut connection, &["ZRANK", "big", member]), rank as i64);
        assert_eq!(
            int(&mut connection, &["ZREVRANK", "big", member]),
            (SIZE - 1 - rank) as i64
        );
        let at_rank = strings(
            &mut connection,
            &["ZRANGE", "big", &rank.to_string(), &rank.to_string(), "WITHSCORES"],
        );
        assert_eq!(at_rank, [member.clone(), score.to_string()]);
    }
    let window = strings(&mut connection, &["ZRANGE", "big", "60000", "60004"]);
    let expected: Vec<String> = model[60_000..60_005].iter().map(|(_, member)| member.clone()).collect();
    assert_eq!(window, expected);
    let from_top = strings(&mut connection, &["ZRANGE", "big", "0", "2", "REV"]);
    let expected: Vec<String> = model[SIZE - 3..]
        .iter()
        .rev()
        .map(|(_, member)| member.clone())
        .collect();
    assert_eq!(from_top, expected);
    let below = model.iter().filter(|(score, _)| *score < 1234).count();
    assert_eq!(int(&mut connection, &["ZCOUNT", "big", "-inf", "(1234"]), below as i64);
    // Pops from both ends and a range removal in the middle keep the ranks right.
    assert_eq!(strings(&mut connection, &["ZPOPMIN", "big"])[0], model[0].1);
    assert_eq!(strings(&mut connection, &["ZPOPMAX", "big"])[0], model[SIZE - 1].1);
    assert_eq!(int(&mut connection, &["ZREMRANGEBYRANK", "big", "0", "9"]), 10);
    assert_eq!(int(&mut connection, &["ZRANK", "big", &model[11].1]), 0);
}

#[test]
fn dump_and_restore_round_trip_both_encodings() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    fill(&mut connection, "small", 5);
    fill(&mut connection, "large", 300);
    int(&mut connection, &["ZADD", "large", "0.1", "fraction", "-inf", "bottom"]);
    for (key, expected_encoding) in [("small", "listpack"), ("large", "skiplist")] {
        let payload: Vec<u8> = cmd("DUMP").arg(key).query(&mut connection).expect("DUMP");
        let restored = format!("{key}:restored");
        let _: () = cmd("RESTORE")
            .arg(&restored)
            .arg(0)
            .arg(&payload)
            .query(&mut connection)
            .expect("RESTORE");
        assert_eq!(encoding(&mut connection, &restored), expected_encoding);
        assert_eq!(
            strings(&mut connection, &["ZRANGE", &restored, "0", "-1", "WITHSCORES"]),
            strings(&mut connection, &["ZRANGE", key, "0", "-1", "WITHSCORES"])
        );
    }
}

#[test]
fn expired_sets_are_gone_and_writes_keep_the_ttl() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    int(&mut connection, &["ZADD", "z", "1", "a", "2", "b"]);
    int(&mut connection, &["PEXPIRE", "z", "100000"]);
    int(&mut connection, &["ZADD", "z", "3", "c"]);
    int(&mut connection, &["ZREM", "z", "a"]);
    assert!(int(&mut connection, &["PTTL", "z"]) > 0, "writes keep the TTL");
    int(&mut connection, &["PEXPIRE", "z", "1"]);
    let deadline = Instant::now() + Duration::from_secs(2);
    while exists(&mut connection, "z") {
        assert!(Instant::now() < deadline, "the key never expired");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(int(&mut connection, &["ZCARD", "z"]), 0);
    assert_eq!(int(&mut connection, &["ZADD", "z", "1", "a"]), 1);
    assert_eq!(int(&mut connection, &["PTTL", "z"]), -1);
}

// ---------------------------------------------------------------------------
// Several shards
// ---------------------------------------------------------------------------

#[test]
fn multi_key_commands_work_across_four_shards() {
    let server = TestServer::start(4);
    let mut connection = server.connection();
    let first = key_on_shard("first", 0, 4);
    let second = key_on_shard("second", 1, 4);
    let third = key_on_shard("third", 2, 4);
    let destination = key_on_shard("destination", 3, 4);
    int(&mut connection, &["ZADD", &first, "1", "a", "2", "b", "3", "c"]);
    int(&mut connection, &["ZADD", &second, "10", "b", "20", "c", "30", "d"]);
    int(&mut connection, &["ZADD", &third, "100", "c"]);
    assert_eq!(
        int(
            &mut connection,
            &["ZUNIONSTORE", &destination, "3", &first, &second, &third]
        ),
        4
    );
    assert_eq!(
        strings(&mut connection, &["ZRANGE", &destination, "0", "-1", "WITHSCORES"]),
        ["a", "1", "b", "12", "d", "30", "c", "123"]
    );
    assert_eq!(
        int(
            &mut connection,
            &[
                "ZINTERSTORE",
                &destination,
                "3",
                &first,
                &second,
                &third,
                "AGGREGATE",
                "MAX"
            ]
        ),
        1
    );
    assert_eq!(
        strings(&mut connection, &["ZRANGE", &destination, "0", "-1", "WITHSCORES"]),
        ["c", "100"]
    );
    assert_eq!(
        int(&mut connection, &["ZDIFFSTORE", &destination, "2", &first, &second]),
        1
    );
    assert_eq!(strings(&mut connection, &["ZRANGE", &destination, "0", "-1"]), ["a"]);
    assert_eq!(
        strings(&mut connection, &["ZUNION", "2", &first, &third]),
        ["a", "b", "c"]
    );
    assert_eq!(strings(&mut connection, &["ZINTER", "2", &first, &second]), ["b", "c"]);
    assert_eq!(strings(&mut connection, &["ZDIFF", "2", &second, &first]), ["d"]);
    assert_eq!(int(&mut connection, &["ZINTERCARD", "3", &first, &second, &third]), 1);
    assert_eq!(
        int(&mut connection, &["ZRANGESTORE", &destination, &second, "0", "1"]),
        2
    );
    assert_eq!(
        strings(&mut connection, &["ZRANGE", &destination, "0", "-1"]),
        ["b", "c"]
    );
    // An empty result deletes the destination on its own shard.
    assert_eq!(
        int(&mut connection, &["ZINTERSTORE", &destination, "2", &first, "nokey"]),
        0
    );
    assert!(!exists(&mut connection, &destination));
    // ZMPOP takes from the first non-empty key, on whatever shard it lives.
    let empty = key_on_shard("empty", 3, 4);
    assert_eq!(
        reply(&mut connection, &["ZMPOP", "2", &empty, &third, "MAX"]),
        Value::Array(vec![
            Value::BulkString(third.clone().into_bytes()),
            Value::Array(vec![Value::Array(vec![
                Value::BulkString(b"c".to_vec()),
                Value::BulkString(b"100".to_vec())
            ])])
        ])
    );
    assert!(!exists(&mut connection, &third));
    // Every shard serves its own sorted sets.
    for shard in 0..4 {
        let key = key_on_shard("own", shard, 4);
        fill(&mut connection, &key, 3);
        assert_eq!(
            strings(&mut connection, &["ZRANGE", &key, "0", "-1"]),
            ["m0", "m1", "m2"]
        );
    }
}
