//! The list commands through a real client: LPUSH, RPUSH, LPUSHX, RPUSHX,
//! LPOP, RPOP (count), LLEN, LRANGE, LINDEX, LSET, LINSERT, LREM, LTRIM,
//! LPOS (RANK/COUNT/MAXLEN), LMOVE, RPOPLPUSH and LMPOP, with their errors,
//! WRONGTYPE, deletion of emptied keys, OBJECT ENCODING transitions
//! (listpack/quicklist, CONFIG SET list-max-listpack-size), DUMP/RESTORE and
//! the multi-key commands across the shards of a 4-shard server.

mod common;

use common::{error_text, int, query, reply, text};

use common::TestServer;
use redis::{cmd, Connection, Value};
use starling_protocol::{key_slot, Frame};

const SHARD_COUNTS: [usize; 2] = [1, 4];

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

fn ints(connection: &mut Connection, args: &[&str]) -> Vec<i64> {
    match reply(connection, args) {
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Int(value) => value,
                other => panic!("{args:?}: expected integers, got {other:?}"),
            })
            .collect(),
        other => panic!("{args:?}: expected an array, got {other:?}"),
    }
}

fn ok(connection: &mut Connection, args: &[&str]) {
    assert_eq!(reply(connection, args), Value::Okay, "{args:?}");
}

fn error(connection: &mut Connection, args: &[&str]) -> String {
    error_text(query(connection, args))
}

fn exists(connection: &mut Connection, key: &str) -> bool {
    int(connection, &["EXISTS", key]) == 1
}

fn range(connection: &mut Connection, key: &str) -> Vec<String> {
    strings(connection, &["LRANGE", key, "0", "-1"])
}

fn encoding(connection: &mut Connection, key: &str) -> String {
    text(connection, &["OBJECT", "ENCODING", key]).expect("the key exists")
}

/// A key named `{prefix}:n` that lives on `shard` of `shard_count`.
fn key_on_shard(prefix: &str, shard: usize, shard_count: usize) -> String {
    (0..)
        .map(|n| format!("{prefix}:{n}"))
        .find(|key| key_slot(key.as_bytes()) as usize % shard_count == shard)
        .expect("some key lands on every shard")
}

/// RPUSHes `count` elements `prefix0..` to `key`.
fn fill(connection: &mut Connection, key: &str, prefix: &str, count: usize) {
    let mut command = cmd("RPUSH");
    command.arg(key);
    for n in 0..count {
        command.arg(format!("{prefix}{n}"));
    }
    let _: i64 = command.query(connection).expect("RPUSH");
}

fn raw_command(raw: &mut common::RawConnection, args: &[&str]) -> Frame {
    let args: Vec<&[u8]> = args.iter().map(|arg| arg.as_bytes()).collect();
    raw.command(&args)
}

#[test]
fn pushes_build_the_list_in_order() {
    for shards in SHARD_COUNTS {
        let server = TestServer::start(shards);
        let mut connection = server.connection();
        assert_eq!(int(&mut connection, &["RPUSH", "l", "a", "b"]), 2);
        assert_eq!(int(&mut connection, &["LPUSH", "l", "x", "y"]), 4);
        assert_eq!(range(&mut connection, "l"), ["y", "x", "a", "b"]);
        assert_eq!(int(&mut connection, &["LPUSHX", "l", "z"]), 5);
        assert_eq!(int(&mut connection, &["RPUSHX", "l", "1", "2"]), 7);
        assert_eq!(range(&mut connection, "l"), ["z", "y", "x", "a", "b", "1", "2"]);
        assert_eq!(int(&mut connection, &["LPUSHX", "missing", "a"]), 0);
        assert_eq!(int(&mut connection, &["RPUSHX", "missing", "a"]), 0);
        assert!(!exists(&mut connection, "missing"));
        assert_eq!(int(&mut connection, &["LLEN", "l"]), 7);
        assert_eq!(int(&mut connection, &["LLEN", "missing"]), 0);
        // Empty and binary elements survive.
        let binary: Vec<u8> = (0..=255u8).collect();
        let _: i64 = cmd("RPUSH")
            .arg("b")
            .arg("")
            .arg(&binary)
            .query(&mut connection)
            .unwrap();
        let stored: Vec<Vec<u8>> = cmd("LRANGE").arg("b").arg(0).arg(-1).query(&mut connection).unwrap();
        assert_eq!(stored, vec![Vec::new(), binary]);
    }
}

#[test]
fn pops_with_and_without_count() {
    for shards in SHARD_COUNTS {
        let server = TestServer::start(shards);
        let mut connection = server.connection();
        fill(&mut connection, "l", "e", 6);
        assert_eq!(text(&mut connection, &["LPOP", "l"]).as_deref(), Some("e0"));
        assert_eq!(text(&mut connection, &["RPOP", "l"]).as_deref(), Some("e5"));
        assert_eq!(strings(&mut connection, &["LPOP", "l", "2"]), ["e1", "e2"]);
        assert_eq!(strings(&mut connection, &["RPOP", "l", "1"]), ["e4"]);
        assert_eq!(reply(&mut connection, &["LPOP", "l", "0"]), Value::Array(Vec::new()));
        assert_eq!(strings(&mut connection, &["RPOP", "l", "100"]), ["e3"]);
        assert!(!exists(&mut connection, "l"), "the emptied list is deleted");
        assert_eq!(reply(&mut connection, &["LPOP", "l"]), Value::Nil);
        assert_eq!(reply(&mut connection, &["RPOP", "l", "3"]), Value::Nil);
        fill(&mut connection, "l", "e", 3);
        assert_eq!(
            strings(&mut connection, &["LPOP", "l", "9223372036854775807"]),
            ["e0", "e1", "e2"]
        );

        let positive = "ERR value is out of range, must be positive";
        assert_eq!(error(&mut connection, &["LPOP", "l", "-1"]), positive);
        assert_eq!(error(&mut connection, &["RPOP", "l", "abc"]), positive);
        assert_eq!(
            error(&mut connection, &["LPOP", "l", "1", "2"]),
            "ERR wrong number of arguments for 'lpop' command"
        );
        assert_eq!(
            error(&mut connection, &["RPOP", "l", "1", "2"]),
            "ERR wrong number of arguments for 'rpop' command"
        );
    }
}

#[test]
fn null_replies_follow_redis_in_both_protocols() {
    let server = TestServer::start(1);
    let mut raw = server.raw();
    raw.send(b"*2\r\n$4\r\nLPOP\r\n$1\r\nm\r\n");
    assert_eq!(raw.read_exact_bytes(5), b"$-1\r\n");
    raw.send(b"*3\r\n$4\r\nLPOP\r\n$1\r\nm\r\n$1\r\n2\r\n");
    assert_eq!(raw.read_exact_bytes(5), b"*-1\r\n");
    raw.send(b"*3\r\n$4\r\nLPOP\r\n$1\r\nm\r\n$1\r\n0\r\n");
    assert_eq!(raw.read_exact_bytes(5), b"*-1\r\n");
    raw.send(b"*4\r\n$5\r\nLMPOP\r\n$1\r\n1\r\n$1\r\nm\r\n$4\r\nLEFT\r\n");
    assert_eq!(raw.read_exact_bytes(5), b"*-1\r\n");
    assert!(!raw_command(&mut raw, &["HELLO", "3"]).is_error());
    assert_eq!(raw_command(&mut raw, &["LPOP", "m"]), Frame::Null);
    assert_eq!(raw_command(&mut raw, &["LPOP", "m", "2"]), Frame::Null);
    assert_eq!(raw_command(&mut raw, &["LINDEX", "m", "0"]), Frame::Null);
    assert_eq!(raw_command(&mut raw, &["LPOS", "m", "a"]), Frame::Null);
}

#[test]
fn lrange_and_lindex_count_from_either_end() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    fill(&mut connection, "l", "e", 5);
    assert_eq!(strings(&mut connection, &["LRANGE", "l", "1", "2"]), ["e1", "e2"]);
    assert_eq!(strings(&mut connection, &["LRANGE", "l", "-2", "-1"]), ["e3", "e4"]);
    assert_eq!(strings(&mut connection, &["LRANGE", "l", "-100", "100"]).len(), 5);
    assert!(strings(&mut connection, &["LRANGE", "l", "3", "1"]).is_empty());
    assert!(strings(&mut connection, &["LRANGE", "l", "5", "10"]).is_empty());
    assert!(strings(&mut connection, &["LRANGE", "missing", "0", "-1"]).is_empty());
    assert_eq!(
        error(&mut connection, &["LRANGE", "missing", "a", "0"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(text(&mut connection, &["LINDEX", "l", "0"]).as_deref(), Some("e0"));
    assert_eq!(text(&mut connection, &["LINDEX", "l", "-1"]).as_deref(), Some("e4"));
    assert_eq!(text(&mut connection, &["LINDEX", "l", "5"]), None);
    assert_eq!(text(&mut connection, &["LINDEX", "l", "-6"]), None);
    // LINDEX looks the key up before parsing the index, as Redis does.
    assert_eq!(text(&mut connection, &["LINDEX", "missing", "abc"]), None);
    assert_eq!(
        error(&mut connection, &["LINDEX", "l", "abc"]),
        "ERR value is not an integer or out of range"
    );
}

#[test]
fn large_lists_index_and_range_across_nodes() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    fill(&mut connection, "big", "element-", 5000);
    assert_eq!(encoding(&mut connection, "big"), "quicklist");
    assert_eq!(
        text(&mut connection, &["LINDEX", "big", "0"]).as_deref(),
        Some("element-0")
    );
    assert_eq!(
        text(&mut connection, &["LINDEX", "big", "-1"]).as_deref(),
        Some("element-4999")
    );
    assert_eq!(
        text(&mut connection, &["LINDEX", "big", "2500"]).as_deref(),
        Some("element-2500")
    );
    let middle = strings(&mut connection, &["LRANGE", "big", "1998", "2002"]);
    assert_eq!(
        middle,
        [
            "element-1998",
            "element-1999",
            "element-2000",
            "element-2001",
            "element-2002"
        ]
    );
    assert_eq!(strings(&mut connection, &["LRANGE", "big", "0", "-1"]).len(), 5000);
    ok(&mut connection, &["LSET", "big", "2500", "changed"]);
    assert_eq!(
        text(&mut connection, &["LINDEX", "big", "2500"]).as_deref(),
        Some("changed")
    );
    assert_eq!(
        int(&mut connection, &["LINSERT", "big", "AFTER", "changed", "new"]),
        5001
    );
    assert_eq!(
        text(&mut connection, &["LINDEX", "big", "2501"]).as_deref(),
        Some("new")
    );
    assert_eq!(int(&mut connection, &["LREM", "big", "0", "new"]), 1);
    assert_eq!(int(&mut connection, &["LPOS", "big", "element-4000"]), 4000);
    ok(&mut connection, &["LTRIM", "big", "1000", "1999"]);
    assert_eq!(int(&mut connection, &["LLEN", "big"]), 1000);
    assert_eq!(
        text(&mut connection, &["LINDEX", "big", "0"]).as_deref(),
        Some("element-1000")
    );
}

#[test]
fn lset_replaces_by_index() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    fill(&mut connection, "l", "e", 3);
    ok(&mut connection, &["LSET", "l", "0", "first"]);
    ok(&mut connection, &["LSET", "l", "-1", "last"]);
    assert_eq!(range(&mut connection, "l"), ["first", "e1", "last"]);
    assert_eq!(
        error(&mut connection, &["LSET", "l", "3", "x"]),
        "ERR index out of range"
    );
    assert_eq!(
        error(&mut connection, &["LSET", "l", "-4", "x"]),
        "ERR index out of range"
    );
    assert_eq!(
        error(&mut connection, &["LSET", "missing", "0", "x"]),
        "ERR no such key"
    );
    assert_eq!(
        error(&mut connection, &["LSET", "l", "abc", "x"]),
        "ERR value is not an integer or out of range"
    );
}

#[test]
fn linsert_before_and_after_the_first_pivot() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    fill(&mut connection, "l", "e", 3);
    assert_eq!(int(&mut connection, &["RPUSH", "l", "e1"]), 4);
    assert_eq!(int(&mut connection, &["LINSERT", "l", "BEFORE", "e1", "b"]), 5);
    assert_eq!(int(&mut connection, &["LINSERT", "l", "after", "e1", "a"]), 6);
    assert_eq!(range(&mut connection, "l"), ["e0", "b", "e1", "a", "e2", "e1"]);
    assert_eq!(int(&mut connection, &["LINSERT", "l", "AFTER", "nope", "x"]), -1);
    assert_eq!(int(&mut connection, &["LINSERT", "missing", "AFTER", "e1", "x"]), 0);
    assert!(!exists(&mut connection, "missing"));
    assert_eq!(
        error(&mut connection, &["LINSERT", "l", "MIDDLE", "e1", "x"]),
        "ERR syntax error"
    );
}

#[test]
fn lrem_removes_from_either_end() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    let _: i64 = cmd("RPUSH")
        .arg("l")
        .arg(&["a", "b", "a", "c", "a", "b", "a"])
        .query(&mut connection)
        .unwrap();
    assert_eq!(int(&mut connection, &["LREM", "l", "2", "a"]), 2);
    assert_eq!(range(&mut connection, "l"), ["b", "c", "a", "b", "a"]);
    assert_eq!(int(&mut connection, &["LREM", "l", "-1", "b"]), 1);
    assert_eq!(range(&mut connection, "l"), ["b", "c", "a", "a"]);
    assert_eq!(int(&mut connection, &["LREM", "l", "0", "a"]), 2);
    assert_eq!(int(&mut connection, &["LREM", "l", "0", "zz"]), 0);
    assert_eq!(int(&mut connection, &["LREM", "missing", "0", "a"]), 0);
    assert_eq!(int(&mut connection, &["LREM", "l", "-9223372036854775808", "b"]), 1);
    assert_eq!(int(&mut connection, &["LREM", "l", "0", "c"]), 1);
    assert!(!exists(&mut connection, "l"), "the emptied list is deleted");
    assert_eq!(
        error(&mut connection, &["LREM", "l", "x", "a"]),
        "ERR value is not an integer or out of range"
    );
}

#[test]
fn ltrim_keeps_the_range() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    fill(&mut connection, "l", "e", 6);
    ok(&mut connection, &["LTRIM", "l", "1", "-2"]);
    assert_eq!(range(&mut connection, "l"), ["e1", "e2", "e3", "e4"]);
    ok(&mut connection, &["LTRIM", "l", "-100", "100"]);
    assert_eq!(int(&mut connection, &["LLEN", "l"]), 4);
    ok(&mut connection, &["LTRIM", "l", "2", "2"]);
    assert_eq!(range(&mut connection, "l"), ["e3"]);
    ok(&mut connection, &["LTRIM", "l", "5", "1"]);
    assert!(!exists(&mut connection, "l"), "trimming everything deletes the key");
    ok(&mut connection, &["LTRIM", "missing", "0", "1"]);
    assert_eq!(
        error(&mut connection, &["LTRIM", "missing", "0", "x"]),
        "ERR value is not an integer or out of range"
    );
}

#[test]
fn lpos_with_rank_count_and_maxlen() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    let _: i64 = cmd("RPUSH")
        .arg("l")
        .arg(&["a", "b", "c", "1", "2", "3", "c", "c"])
        .query(&mut connection)
        .unwrap();
    assert_eq!(int(&mut connection, &["LPOS", "l", "c"]), 2);
    assert_eq!(int(&mut connection, &["LPOS", "l", "c", "RANK", "2"]), 6);
    assert_eq!(int(&mut connection, &["LPOS", "l", "c", "RANK", "-1"]), 7);
    assert_eq!(int(&mut connection, &["LPOS", "l", "c", "RANK", "-3"]), 2);
    assert_eq!(reply(&mut connection, &["LPOS", "l", "c", "RANK", "4"]), Value::Nil);
    assert_eq!(ints(&mut connection, &["LPOS", "l", "c", "COUNT", "2"]), [2, 6]);
    assert_eq!(ints(&mut connection, &["LPOS", "l", "c", "COUNT", "0"]), [2, 6, 7]);
    assert_eq!(
        ints(&mut connection, &["LPOS", "l", "c", "RANK", "-1", "COUNT", "2"]),
        [7, 6]
    );
    assert_eq!(
        ints(&mut connection, &["LPOS", "l", "c", "RANK", "2", "COUNT", "0"]),
        [6, 7]
    );
    assert_eq!(
        ints(&mut connection, &["LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7"]),
        [2, 6]
    );
    assert_eq!(reply(&mut connection, &["LPOS", "l", "c", "MAXLEN", "2"]), Value::Nil);
    assert_eq!(
        ints(
            &mut connection,
            &["LPOS", "l", "c", "RANK", "-1", "COUNT", "0", "MAXLEN", "2"]
        ),
        [7, 6]
    );
    assert_eq!(reply(&mut connection, &["LPOS", "l", "zz"]), Value::Nil);
    assert!(ints(&mut connection, &["LPOS", "l", "zz", "COUNT", "0"]).is_empty());
    assert_eq!(reply(&mut connection, &["LPOS", "missing", "a"]), Value::Nil);
    assert!(ints(&mut connection, &["LPOS", "missing", "a", "COUNT", "1"]).is_empty());

    assert_eq!(
        error(&mut connection, &["LPOS", "l", "c", "RANK", "0"]),
        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to \
         start from the end of the list"
    );
    assert_eq!(
        error(&mut connection, &["LPOS", "l", "c", "RANK", "-9223372036854775808"]),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
    assert_eq!(
        error(&mut connection, &["LPOS", "l", "c", "RANK", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error(&mut connection, &["LPOS", "l", "c", "COUNT", "-1"]),
        "ERR COUNT can't be negative"
    );
    assert_eq!(
        error(&mut connection, &["LPOS", "l", "c", "COUNT", "x"]),
        "ERR COUNT can't be negative"
    );
    assert_eq!(
        error(&mut connection, &["LPOS", "l", "c", "MAXLEN", "-1"]),
        "ERR MAXLEN can't be negative"
    );
    assert_eq!(
        error(&mut connection, &["LPOS", "l", "c", "FOO", "1"]),
        "ERR syntax error"
    );
    assert_eq!(error(&mut connection, &["LPOS", "l", "c", "RANK"]), "ERR syntax error");
}

#[test]
fn lmove_and_rpoplpush_move_between_ends() {
    for shards in SHARD_COUNTS {
        let server = TestServer::start(shards);
        let mut connection = server.connection();
        let source = key_on_shard("source", 0, shards);
        let destination = key_on_shard("destination", shards - 1, shards);
        fill(&mut connection, &source, "e", 4);
        let moved = |connection: &mut Connection, from: &str, to: &str| {
            text(connection, &["LMOVE", &source, &destination, from, to])
        };
        assert_eq!(moved(&mut connection, "LEFT", "RIGHT").as_deref(), Some("e0"));
        assert_eq!(moved(&mut connection, "right", "left").as_deref(), Some("e3"));
        assert_eq!(moved(&mut connection, "LEFT", "LEFT").as_deref(), Some("e1"));
        assert_eq!(range(&mut connection, &destination), ["e1", "e3", "e0"]);
        assert_eq!(
            text(&mut connection, &["RPOPLPUSH", &source, &destination]).as_deref(),
            Some("e2")
        );
        assert!(!exists(&mut connection, &source), "the emptied source is deleted");
        assert_eq!(range(&mut connection, &destination), ["e2", "e1", "e3", "e0"]);
        assert_eq!(
            text(&mut connection, &["LMOVE", &source, &destination, "LEFT", "LEFT"]),
            None
        );
        assert_eq!(text(&mut connection, &["RPOPLPUSH", &source, &destination]), None);
        assert_eq!(
            error(&mut connection, &["LMOVE", &source, &destination, "UP", "LEFT"]),
            "ERR syntax error"
        );

        // A destination of another type: nothing moves.
        ok(&mut connection, &["SET", &source, "string"]);
        assert!(error(&mut connection, &["LMOVE", &destination, &source, "LEFT", "LEFT"]).starts_with("WRONGTYPE"));
        assert!(error(&mut connection, &["RPOPLPUSH", &destination, &source]).starts_with("WRONGTYPE"));
        assert_eq!(int(&mut connection, &["LLEN", &destination]), 4);
    }
}

#[test]
fn lmove_onto_the_same_list_rotates_and_keeps_the_ttl() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    fill(&mut connection, "l", "e", 3);
    assert_eq!(int(&mut connection, &["EXPIRE", "l", "100"]), 1);
    assert_eq!(text(&mut connection, &["RPOPLPUSH", "l", "l"]).as_deref(), Some("e2"));
    assert_eq!(range(&mut connection, "l"), ["e2", "e0", "e1"]);
    assert_eq!(
        text(&mut connection, &["LMOVE", "l", "l", "LEFT", "RIGHT"]).as_deref(),
        Some("e2")
    );
    assert_eq!(range(&mut connection, "l"), ["e0", "e1", "e2"]);
    assert!(int(&mut connection, &["TTL", "l"]) > 0);
}

#[test]
fn lmpop_pops_from_the_first_non_empty_list() {
    for shards in SHARD_COUNTS {
        let server = TestServer::start(shards);
        let mut connection = server.connection();
        let first = key_on_shard("first", 0, shards);
        let second = key_on_shard("second", shards - 1, shards);
        fill(&mut connection, &second, "e", 4);
        let popped = reply(&mut connection, &["LMPOP", "2", &first, &second, "LEFT"]);
        assert_eq!(
            popped,
            Value::Array(vec![
                Value::BulkString(second.clone().into_bytes()),
                Value::Array(vec![Value::BulkString(b"e0".to_vec())]),
            ])
        );
        let popped = reply(&mut connection, &["LMPOP", "2", &first, &second, "RIGHT", "COUNT", "2"]);
        assert_eq!(
            popped,
            Value::Array(vec![
                Value::BulkString(second.clone().into_bytes()),
                Value::Array(vec![
                    Value::BulkString(b"e3".to_vec()),
                    Value::BulkString(b"e2".to_vec())
                ]),
            ])
        );
        let popped = reply(&mut connection, &["LMPOP", "1", &second, "LEFT", "COUNT", "10"]);
        assert_eq!(
            popped,
            Value::Array(vec![
                Value::BulkString(second.clone().into_bytes()),
                Value::Array(vec![Value::BulkString(b"e1".to_vec())]),
            ])
        );
        assert!(!exists(&mut connection, &second));
        assert_eq!(
            reply(&mut connection, &["LMPOP", "2", &first, &second, "LEFT"]),
            Value::Nil
        );

        ok(&mut connection, &["SET", &first, "string"]);
        fill(&mut connection, &second, "e", 1);
        assert!(error(&mut connection, &["LMPOP", "2", &first, &second, "LEFT"]).starts_with("WRONGTYPE"));
        // The string after a served key is never looked at.
        assert_eq!(
            reply(&mut connection, &["LMPOP", "2", &second, &first, "LEFT"]),
            Value::Array(vec![
                Value::BulkString(second.clone().into_bytes()),
                Value::Array(vec![Value::BulkString(b"e0".to_vec())]),
            ])
        );
    }
}

#[test]
fn lmpop_argument_errors() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    let numkeys = "ERR numkeys should be greater than 0";
    assert_eq!(error(&mut connection, &["LMPOP", "0", "a", "LEFT"]), numkeys);
    assert_eq!(error(&mut connection, &["LMPOP", "-1", "a", "LEFT"]), numkeys);
    assert_eq!(error(&mut connection, &["LMPOP", "x", "a", "LEFT"]), numkeys);
    assert_eq!(error(&mut connection, &["LMPOP", "2", "a", "LEFT"]), "ERR syntax error");
    assert_eq!(
        error(&mut connection, &["LMPOP", "1", "a", "MIDDLE"]),
        "ERR syntax error"
    );
    let count = "ERR count should be greater than 0";
    assert_eq!(
        error(&mut connection, &["LMPOP", "1", "a", "LEFT", "COUNT", "0"]),
        count
    );
    assert_eq!(
        error(&mut connection, &["LMPOP", "1", "a", "LEFT", "COUNT", "x"]),
        count
    );
    assert_eq!(
        error(
            &mut connection,
            &["LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "2"]
        ),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut connection, &["LMPOP", "1", "a", "LEFT", "extra"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut connection, &["LMPOP", "1", "a"]),
        "ERR wrong number of arguments for 'lmpop' command"
    );
}

#[test]
fn every_command_refuses_other_types() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    ok(&mut connection, &["SET", "s", "v"]);
    fill(&mut connection, "l", "e", 2);
    let commands: [&[&str]; 20] = [
        &["LPUSH", "s", "a"],
        &["RPUSH", "s", "a"],
        &["LPUSHX", "s", "a"],
        &["RPUSHX", "s", "a"],
        &["LPOP", "s"],
        &["RPOP", "s", "2"],
        &["LLEN", "s"],
        &["LRANGE", "s", "0", "-1"],
        &["LINDEX", "s", "0"],
        &["LSET", "s", "0", "a"],
        &["LINSERT", "s", "BEFORE", "a", "b"],
        &["LREM", "s", "0", "a"],
        &["LTRIM", "s", "0", "1"],
        &["LPOS", "s", "a"],
        &["LMOVE", "s", "l", "LEFT", "LEFT"],
        &["LMOVE", "l", "s", "LEFT", "LEFT"],
        &["RPOPLPUSH", "s", "l"],
        &["RPOPLPUSH", "l", "s"],
        &["LMPOP", "1", "s", "LEFT"],
        &["LPOP", "s", "0"],
    ];
    for command in commands {
        assert_eq!(
            error(&mut connection, command),
            "WRONGTYPE Operation against a key holding the wrong kind of value",
            "{command:?}"
        );
    }
    assert_eq!(range(&mut connection, "l"), ["e0", "e1"], "nothing moved");
    assert_eq!(text(&mut connection, &["GET", "s"]).as_deref(), Some("v"));
}

#[test]
fn encodings_follow_redis_thresholds() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(int(&mut connection, &["RPUSH", "small", "a", "b", "c"]), 3);
    assert_eq!(encoding(&mut connection, "small"), "listpack");

    // 8 KiB per listpack by default: 1637 three-byte elements fit
    // (7 + 5 * 1637 = 8192 listpack bytes), one more does not.
    let mut command = cmd("RPUSH");
    command.arg("grow");
    for _ in 0..1637 {
        command.arg("xxx");
    }
    let _: i64 = command.query(&mut connection).unwrap();
    assert_eq!(encoding(&mut connection, "grow"), "listpack");
    assert_eq!(int(&mut connection, &["RPUSH", "grow", "xxx"]), 1638);
    assert_eq!(encoding(&mut connection, "grow"), "quicklist");
    // Back to a listpack once a single node of at most half the limit is left.
    let _: Vec<String> = cmd("RPOP").arg("grow").arg(820).query(&mut connection).unwrap();
    assert_eq!(encoding(&mut connection, "grow"), "quicklist");
    let _: Vec<String> = cmd("RPOP").arg("grow").arg(1).query(&mut connection).unwrap();
    assert_eq!(int(&mut connection, &["LLEN", "grow"]), 817);
    assert_eq!(encoding(&mut connection, "grow"), "listpack");

    // One element larger than the limit.
    let big = "x".repeat(9000);
    assert_eq!(int(&mut connection, &["RPUSH", "big", &big]), 1);
    assert_eq!(encoding(&mut connection, "big"), "quicklist");

    // A count limit, set at run time.
    ok(&mut connection, &["CONFIG", "SET", "list-max-listpack-size", "4"]);
    assert_eq!(int(&mut connection, &["RPUSH", "counted", "1", "2", "3", "4"]), 4);
    assert_eq!(encoding(&mut connection, "counted"), "listpack");
    assert_eq!(int(&mut connection, &["LPUSH", "counted", "0"]), 5);
    assert_eq!(encoding(&mut connection, "counted"), "quicklist");
    assert_eq!(text(&mut connection, &["LPOP", "counted"]).as_deref(), Some("0"));
    assert_eq!(encoding(&mut connection, "counted"), "quicklist");
    ok(&mut connection, &["LTRIM", "counted", "0", "1"]);
    assert_eq!(encoding(&mut connection, "counted"), "listpack");
    // LINSERT converts before searching, even when the pivot is missing.
    assert_eq!(int(&mut connection, &["RPUSH", "counted", "x", "y"]), 4);
    assert_eq!(int(&mut connection, &["LINSERT", "counted", "BEFORE", "nope", "z"]), -1);
    assert_eq!(encoding(&mut connection, "counted"), "quicklist");
    ok(&mut connection, &["CONFIG", "SET", "list-max-listpack-size", "-2"]);
}

#[test]
fn dump_and_restore_keep_the_elements() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    for (key, count) in [("small", 3), ("large", 3000)] {
        fill(&mut connection, key, "e", count);
        let before_encoding = encoding(&mut connection, key);
        let payload: Vec<u8> = cmd("DUMP").arg(key).query(&mut connection).unwrap();
        let copy = format!("{key}-copy");
        let _: () = cmd("RESTORE")
            .arg(&copy)
            .arg(0)
            .arg(payload)
            .query(&mut connection)
            .unwrap();
        assert_eq!(range(&mut connection, &copy), range(&mut connection, key));
        assert_eq!(encoding(&mut connection, &copy), before_encoding);
    }
}

#[test]
fn multi_key_commands_work_across_shards() {
    let server = TestServer::start(4);
    let mut connection = server.connection();
    let keys: Vec<String> = (0..4).map(|shard| key_on_shard("k", shard, 4)).collect();
    fill(&mut connection, &keys[1], "a", 3);
    fill(&mut connection, &keys[3], "b", 3);
    // LMPOP skips the missing key on shard 0 and serves from shard 1.
    let popped = reply(
        &mut connection,
        &["LMPOP", "3", &keys[0], &keys[1], &keys[3], "RIGHT", "COUNT", "5"],
    );
    assert_eq!(
        popped,
        Value::Array(vec![
            Value::BulkString(keys[1].clone().into_bytes()),
            Value::Array(vec![
                Value::BulkString(b"a2".to_vec()),
                Value::BulkString(b"a1".to_vec()),
                Value::BulkString(b"a0".to_vec()),
            ]),
        ])
    );
    assert!(!exists(&mut connection, &keys[1]));
    for (source, destination) in [(3, 2), (2, 0), (0, 1)] {
        assert_eq!(
            text(
                &mut connection,
                &["LMOVE", &keys[source], &keys[destination], "LEFT", "RIGHT"]
            )
            .as_deref(),
            Some("b0")
        );
        assert!(!exists(&mut connection, &keys[source]) || source == 3);
    }
    assert_eq!(range(&mut connection, &keys[1]), ["b0"]);
    assert_eq!(
        text(&mut connection, &["RPOPLPUSH", &keys[3], &keys[1]]).as_deref(),
        Some("b2")
    );
    assert_eq!(range(&mut connection, &keys[1]), ["b2", "b0"]);
    assert_eq!(range(&mut connection, &keys[3]), ["b1"]);
}

#[test]
fn arity_errors_name_the_command() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    for (args, name) in [
        (&["LPUSH", "l"][..], "lpush"),
        (&["LLEN"][..], "llen"),
        (&["LRANGE", "l", "0"][..], "lrange"),
        (&["LINSERT", "l", "BEFORE", "a"][..], "linsert"),
        (&["LMOVE", "a", "b", "LEFT"][..], "lmove"),
        (&["LPOS", "l"][..], "lpos"),
    ] {
        assert_eq!(
            error(&mut connection, args),
            format!("ERR wrong number of arguments for '{name}' command")
        );
    }
}
