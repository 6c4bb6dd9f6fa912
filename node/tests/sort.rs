//! SORT and SORT_RO through a real client: lists, sets and sorted sets;
//! numeric and ALPHA order, DESC, LIMIT, BY and GET patterns (string keys and
//! hash fields), STORE; their errors and WRONGTYPE; and on a 4-shard server,
//! Redis Cluster's rule for patterns and STORE to another shard.

mod common;

use common::{error_text, int, query, reply};

use common::TestServer;
use redis::{Connection, Value};
use starling_protocol::key_slot;

fn error(connection: &mut Connection, args: &[&str]) -> String {
    error_text(query(connection, args))
}

/// An array reply as text items, None for nil.
fn items(connection: &mut Connection, args: &[&str]) -> Vec<Option<String>> {
    match reply(connection, args) {
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::BulkString(bytes) => Some(String::from_utf8(bytes).expect("utf-8")),
                Value::Nil => None,
                other => panic!("{args:?}: unexpected item {other:?}"),
            })
            .collect(),
        other => panic!("{args:?}: expected an array, got {other:?}"),
    }
}

/// An array reply whose items are all present.
fn texts(connection: &mut Connection, args: &[&str]) -> Vec<String> {
    items(connection, args)
        .into_iter()
        .map(|item| item.expect("no nil item"))
        .collect()
}

fn run(connection: &mut Connection, args: &[&str]) {
    reply(connection, args);
}

fn key_on_shard(prefix: &str, shard: usize, shard_count: usize) -> String {
    (0..)
        .map(|n| format!("{prefix}:{n}"))
        .find(|key| key_slot(key.as_bytes()) as usize % shard_count == shard)
        .expect("some key lands on every shard")
}

const NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";
const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

#[test]
fn sort_orders_numbers_and_strings_with_limit() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    run(
        &mut connection,
        &["RPUSH", "list", "5", "3", "10", "1", "-2", "3.5", "3"],
    );
    run(&mut connection, &["SADD", "set", "5", "3", "10", "1", "-2", "3.5"]);
    run(
        &mut connection,
        &[
            "ZADD", "zset", "1", "5", "2", "3", "3", "10", "4", "1", "5", "-2", "6", "3.5",
        ],
    );
    for key in ["list", "set", "zset"] {
        let duplicate: &[&str] = if key == "list" { &["3"] } else { &[] };
        let mut ascending = vec!["-2", "1", "3"];
        ascending.extend_from_slice(duplicate);
        ascending.extend_from_slice(&["3.5", "5", "10"]);
        let descending: Vec<&str> = ascending.iter().rev().copied().collect();
        assert_eq!(texts(&mut connection, &["SORT", key]), ascending, "{key}");
        assert_eq!(texts(&mut connection, &["SORT", key, "ASC"]), ascending, "{key}");
        assert_eq!(texts(&mut connection, &["SORT", key, "DESC"]), descending, "{key}");
        assert_eq!(texts(&mut connection, &["SORT_RO", key, "desc"]), descending, "{key}");
        assert_eq!(
            texts(&mut connection, &["SORT", key, "LIMIT", "1", "2"]),
            ascending[1..3],
            "{key}"
        );
        assert_eq!(
            texts(&mut connection, &["SORT", key, "LIMIT", "1", "2", "DESC"]),
            descending[1..3]
        );
        assert_eq!(
            texts(&mut connection, &["SORT", key, "LIMIT", "-5", "2"]),
            ascending[..2]
        );
        assert_eq!(
            texts(&mut connection, &["SORT", key, "LIMIT", "4", "100"]),
            ascending[4..]
        );
        assert_eq!(texts(&mut connection, &["SORT", key, "LIMIT", "0", "-1"]), ascending);
        assert_eq!(
            texts(&mut connection, &["SORT", key, "LIMIT", "0", "9223372036854775807"]),
            ascending
        );
        assert!(texts(&mut connection, &["SORT", key, "LIMIT", "100", "1"]).is_empty());
        assert!(texts(&mut connection, &["SORT", key, "LIMIT", "0", "0"]).is_empty());
        let mut alpha = ascending.clone();
        alpha.sort();
        assert_eq!(texts(&mut connection, &["SORT", key, "ALPHA"]), alpha, "{key}");
        alpha.reverse();
        assert_eq!(
            texts(&mut connection, &["SORT", key, "ALPHA", "DESC", "LIMIT", "0", "3"]),
            alpha[..3]
        );
    }
    // Weights read as strtod reads them; equal weights compare the elements.
    run(
        &mut connection,
        &["SADD", "numbers", "1e3", "0x10", " 12", "+5", "-inf", "inf", "1.0", "1"],
    );
    assert_eq!(
        texts(&mut connection, &["SORT", "numbers"]),
        ["-inf", "1", "1.0", "+5", " 12", "0x10", "1e3", "inf"]
    );
    for bad in ["abc", "1 ", "nan", "1e400", "1e-400"] {
        let key = format!("bad:{bad}");
        run(&mut connection, &["SADD", &key, "1", bad]);
        assert_eq!(error(&mut connection, &["SORT", &key]), NOT_DOUBLE, "{bad:?}");
        assert_eq!(texts(&mut connection, &["SORT", &key, "ALPHA"]).len(), 2);
    }
    assert!(texts(&mut connection, &["SORT", "missing"]).is_empty());
    assert!(texts(&mut connection, &["SORT_RO", "missing", "ALPHA"]).is_empty());
}

#[test]
fn by_a_constant_keeps_the_native_order() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    run(&mut connection, &["RPUSH", "list", "c", "a", "d", "b"]);
    run(
        &mut connection,
        &["ZADD", "zset", "3", "c", "1", "a", "4", "d", "2", "b"],
    );
    assert_eq!(
        texts(&mut connection, &["SORT", "list", "BY", "nosort"]),
        ["c", "a", "d", "b"]
    );
    assert_eq!(
        texts(&mut connection, &["SORT", "list", "BY", "nosort", "DESC"]),
        ["b", "d", "a", "c"]
    );
    assert_eq!(
        texts(&mut connection, &["SORT", "list", "BY", "nosort", "LIMIT", "1", "2"]),
        ["a", "d"]
    );
    assert_eq!(
        texts(
            &mut connection,
            &["SORT", "list", "BY", "nosort", "DESC", "LIMIT", "1", "2"]
        ),
        ["d", "a"]
    );
    assert_eq!(
        texts(&mut connection, &["SORT", "zset", "BY", "nosort"]),
        ["a", "b", "c", "d"]
    );
    assert_eq!(
        texts(
            &mut connection,
            &["SORT", "zset", "BY", "nosort", "DESC", "LIMIT", "0", "3"]
        ),
        ["d", "c", "b"]
    );
    assert_eq!(
        texts(&mut connection, &["SORT", "zset", "BY", "nosort", "LIMIT", "3", "10"]),
        ["d"]
    );
    assert!(texts(
        &mut connection,
        &["SORT", "zset", "BY", "nosort", "DESC", "LIMIT", "10", "10"]
    )
    .is_empty());
    // Numeric sorting is skipped, so non-numbers are fine.
    assert_eq!(
        texts(&mut connection, &["SORT", "list", "BY", "nosort", "GET", "#"]),
        ["c", "a", "d", "b"]
    );
    // A set has no order of its own: its members come back in any order,
    // but STORE sorts them (ALPHA) so the stored list is deterministic.
    run(&mut connection, &["SADD", "set", "b", "10", "a", "9"]);
    let mut members = texts(&mut connection, &["SORT", "set", "BY", "nosort"]);
    members.sort();
    assert_eq!(members, ["10", "9", "a", "b"]);
    assert_eq!(
        int(&mut connection, &["SORT", "set", "BY", "nosort", "STORE", "stored"]),
        4
    );
    assert_eq!(
        texts(&mut connection, &["LRANGE", "stored", "0", "-1"]),
        ["10", "9", "a", "b"]
    );
}

#[test]
fn by_and_get_patterns_follow_strings_and_hash_fields() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    run(&mut connection, &["RPUSH", "ids", "a", "b", "c", "d"]);
    run(
        &mut connection,
        &["MSET", "weight_a", "3", "weight_b", "1", "weight_c", "2"],
    );
    run(&mut connection, &["HSET", "data_a", "score", "10", "name", "Ann"]);
    run(&mut connection, &["HSET", "data_b", "score", "5", "name", "Bob"]);
    run(&mut connection, &["HSET", "data_c", "score", "20"]);
    run(&mut connection, &["HSET", "data_d", "score", "15", "name", "Dee"]);
    // A missing weight counts as 0 (then ties compare the elements).
    assert_eq!(
        texts(&mut connection, &["SORT", "ids", "BY", "weight_*"]),
        ["d", "b", "c", "a"]
    );
    assert_eq!(
        texts(&mut connection, &["SORT", "ids", "BY", "weight_*", "DESC"]),
        ["a", "c", "b", "d"]
    );
    // ALPHA by pattern: a missing value sorts first.
    assert_eq!(
        texts(&mut connection, &["SORT", "ids", "BY", "weight_*", "ALPHA"]),
        ["d", "b", "c", "a"]
    );
    assert_eq!(
        texts(&mut connection, &["SORT", "ids", "BY", "data_*->score"]),
        ["b", "a", "d", "c"]
    );
    assert_eq!(
        texts(&mut connection, &["SORT", "ids", "BY", "data_*->score", "ALPHA"]),
        ["a", "d", "c", "b"]
    );
    assert_eq!(
        items(
            &mut connection,
            &[
                "SORT",
                "ids",
                "BY",
                "data_*->score",
                "GET",
                "#",
                "GET",
                "data_*->name",
                "GET",
                "weight_*"
            ]
        ),
        [
            Some("b"),
            Some("Bob"),
            Some("1"),
            Some("a"),
            Some("Ann"),
            Some("3"),
            Some("d"),
            Some("Dee"),
            None,
            Some("c"),
            None,
            Some("2")
        ]
        .map(|item| item.map(str::to_string))
    );
    assert_eq!(
        items(
            &mut connection,
            &[
                "SORT",
                "ids",
                "BY",
                "data_*->score",
                "DESC",
                "LIMIT",
                "0",
                "2",
                "GET",
                "data_*->nope"
            ]
        ),
        [None, None]
    );
    // A pattern key of the wrong type is as good as missing; a pattern
    // without `*` names no key; `->` with no field name is part of the key.
    run(&mut connection, &["SADD", "weight_d", "member"]);
    assert_eq!(
        items(
            &mut connection,
            &["SORT", "ids", "BY", "weight_*", "GET", "weight_*", "GET", "data_*", "GET", "fixed"]
        ),
        [
            None,
            None,
            None,
            Some("1"),
            None,
            None,
            Some("2"),
            None,
            None,
            Some("3"),
            None,
            None
        ]
        .map(|item| item.map(str::to_string))
    );
    run(&mut connection, &["SET", "data_c->", "x"]);
    assert_eq!(
        items(
            &mut connection,
            &["SORT", "ids", "BY", "nosort", "GET", "data_*->", "LIMIT", "1", "2"]
        ),
        [None, Some("x".to_string())]
    );
    // A weight that is not a number fails numeric sorting, not ALPHA.
    run(&mut connection, &["SET", "weight_b", "heavy"]);
    assert_eq!(error(&mut connection, &["SORT", "ids", "BY", "weight_*"]), NOT_DOUBLE);
    assert_eq!(
        texts(
            &mut connection,
            &["SORT", "ids", "BY", "weight_*", "ALPHA", "LIMIT", "3", "1"]
        ),
        ["b"]
    );
}

#[test]
fn store_replaces_the_destination_with_a_list() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    run(&mut connection, &["SADD", "set", "3", "1", "2"]);
    run(&mut connection, &["SET", "destination", "old"]);
    run(&mut connection, &["EXPIRE", "destination", "100"]);
    assert_eq!(int(&mut connection, &["SORT", "set", "STORE", "destination"]), 3);
    assert_eq!(
        texts(&mut connection, &["LRANGE", "destination", "0", "-1"]),
        ["1", "2", "3"]
    );
    assert_eq!(int(&mut connection, &["TTL", "destination"]), -1);
    assert_eq!(
        reply(&mut connection, &["TYPE", "destination"]),
        Value::SimpleString("list".to_string())
    );
    assert_eq!(
        int(
            &mut connection,
            &["SORT", "set", "DESC", "LIMIT", "0", "2", "STORE", "destination"]
        ),
        2
    );
    assert_eq!(
        texts(&mut connection, &["LRANGE", "destination", "0", "-1"]),
        ["3", "2"]
    );
    // With GET, each pattern gives one element; a missing value an empty string.
    run(&mut connection, &["SET", "name_1", "one"]);
    assert_eq!(
        int(
            &mut connection,
            &["SORT", "set", "GET", "#", "GET", "name_*", "STORE", "destination"]
        ),
        6
    );
    assert_eq!(
        texts(&mut connection, &["LRANGE", "destination", "0", "-1"]),
        ["1", "one", "2", "", "3", ""]
    );
    // The sorted key may be its own destination.
    run(&mut connection, &["RPUSH", "list", "b", "c", "a"]);
    assert_eq!(int(&mut connection, &["SORT", "list", "ALPHA", "STORE", "list"]), 3);
    assert_eq!(texts(&mut connection, &["LRANGE", "list", "0", "-1"]), ["a", "b", "c"]);
    // An empty result deletes the destination.
    assert_eq!(int(&mut connection, &["SORT", "missing", "STORE", "destination"]), 0);
    assert_eq!(int(&mut connection, &["EXISTS", "destination"]), 0);
    assert_eq!(
        int(&mut connection, &["SORT", "set", "LIMIT", "5", "5", "STORE", "list"]),
        0
    );
    assert_eq!(int(&mut connection, &["EXISTS", "list"]), 0);
    // A failed sort stores nothing.
    run(&mut connection, &["SADD", "words", "x", "y"]);
    run(&mut connection, &["SET", "kept", "value"]);
    assert_eq!(error(&mut connection, &["SORT", "words", "STORE", "kept"]), NOT_DOUBLE);
    assert_eq!(
        reply(&mut connection, &["GET", "kept"]),
        Value::BulkString(b"value".to_vec())
    );
    // The last STORE wins.
    assert_eq!(
        int(&mut connection, &["SORT", "set", "STORE", "first", "STORE", "second"]),
        3
    );
    assert_eq!(int(&mut connection, &["EXISTS", "first"]), 0);
    assert_eq!(int(&mut connection, &["LLEN", "second"]), 3);
}

#[test]
fn sort_errors_and_wrong_types() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    run(&mut connection, &["SADD", "set", "1", "2"]);
    run(&mut connection, &["SET", "string", "1"]);
    run(&mut connection, &["HSET", "hash", "field", "1"]);
    for (args, expected) in [
        (&["SORT", "set", "NOPE"][..], "ERR syntax error"),
        (&["SORT", "set", "LIMIT", "1"], "ERR syntax error"),
        (&["SORT", "set", "BY"], "ERR syntax error"),
        (&["SORT", "set", "GET"], "ERR syntax error"),
        (&["SORT", "set", "STORE"], "ERR syntax error"),
        (&["SORT_RO", "set", "STORE", "destination"], "ERR syntax error"),
        (
            &["SORT", "set", "LIMIT", "a", "1"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["SORT", "set", "LIMIT", "0", "1.5"],
            "ERR value is not an integer or out of range",
        ),
        (&["SORT"], "ERR wrong number of arguments for 'sort' command"),
        (&["SORT_RO"], "ERR wrong number of arguments for 'sort_ro' command"),
        (&["SORT", "string"], WRONGTYPE),
        (&["SORT", "hash", "ALPHA"], WRONGTYPE),
        (&["SORT_RO", "string"], WRONGTYPE),
        (&["SORT", "string", "STORE", "destination"], WRONGTYPE),
        // Options are checked before the key's type.
        (&["SORT", "string", "NOPE"], "ERR syntax error"),
    ] {
        assert_eq!(error(&mut connection, args), expected, "{args:?}");
    }
    assert_eq!(int(&mut connection, &["EXISTS", "destination"]), 0);
    // Options may repeat; the last one of a kind wins.
    assert_eq!(texts(&mut connection, &["SORT", "set", "DESC", "ASC"]), ["1", "2"]);
    assert_eq!(
        texts(&mut connection, &["SORT", "set", "LIMIT", "0", "1", "LIMIT", "1", "1"]),
        ["2"]
    );
}

#[test]
fn patterns_must_stay_on_the_sorted_keys_shard() {
    let server = TestServer::start(4);
    let mut connection = server.connection();
    let by_denied =
        "ERR BY option of SORT denied in Cluster mode when keys formed by the pattern may be in different slots.";
    let get_denied =
        "ERR GET option of SORT denied in Cluster mode when keys formed by the pattern may be in different slots.";
    run(&mut connection, &["RPUSH", "{users}:ids", "1", "2", "3"]);
    run(
        &mut connection,
        &[
            "MSET",
            "{users}:weight_1",
            "30",
            "{users}:weight_2",
            "10",
            "{users}:weight_3",
            "20",
        ],
    );
    run(&mut connection, &["HSET", "{users}:user_2", "name", "Bo"]);
    assert_eq!(
        items(
            &mut connection,
            &[
                "SORT",
                "{users}:ids",
                "BY",
                "{users}:weight_*",
                "GET",
                "#",
                "GET",
                "{users}:user_*->name"
            ]
        ),
        [Some("2"), Some("Bo"), Some("3"), None, Some("1"), None].map(|item| item.map(str::to_string))
    );
    for args in [
        &["SORT", "{users}:ids", "BY", "weight_*"][..],
        &["SORT", "{users}:ids", "BY", "*{users}"],
        &["SORT", "{users}:ids", "BY", "w?{users}*"],
        &["SORT_RO", "{users}:ids", "BY", "weight_*", "GET", "#"],
    ] {
        assert_eq!(error(&mut connection, args), by_denied, "{args:?}");
    }
    for args in [
        &["SORT", "{users}:ids", "GET", "#", "GET", "user_*->name"][..],
        &["SORT_RO", "{users}:ids", "GET", "user_*"],
    ] {
        assert_eq!(error(&mut connection, args), get_denied, "{args:?}");
    }
    // Patterns that name no key are always fine.
    assert_eq!(
        texts(&mut connection, &["SORT", "{users}:ids", "BY", "nosort", "GET", "#"]),
        ["1", "2", "3"]
    );
    assert_eq!(
        items(&mut connection, &["SORT", "{users}:ids", "GET", "fixed"]),
        [None, None, None]
    );
    // A tag on another slot of the same shard is local too.
    let same_shard_tag = (0..)
        .map(|n| format!("tag{n}"))
        .find(|tag| tag != "users" && key_slot(tag.as_bytes()) % 4 == key_slot(b"users") % 4)
        .expect("another tag on the shard");
    let weight_key = format!("{{{same_shard_tag}}}:w_1");
    run(&mut connection, &["SET", &weight_key, "5"]);
    assert_eq!(
        items(
            &mut connection,
            &["SORT", "{users}:ids", "GET", &format!("{{{same_shard_tag}}}:w_*")]
        ),
        [Some("5".to_string()), None, None]
    );
}

#[test]
fn store_on_another_shard() {
    let server = TestServer::start(4);
    let mut connection = server.connection();
    let source = key_on_shard("source", 0, 4);
    let destination = key_on_shard("destination", 1, 4);
    let weight_prefix = format!("{{{source}}}:w_");
    run(&mut connection, &["SADD", &source, "a", "b", "c"]);
    run(&mut connection, &["SET", &format!("{weight_prefix}a"), "2"]);
    run(&mut connection, &["SET", &format!("{weight_prefix}b"), "3"]);
    run(&mut connection, &["SET", &format!("{weight_prefix}c"), "1"]);
    let by = format!("{weight_prefix}*");
    assert_eq!(
        int(&mut connection, &["SORT", &source, "BY", &by, "STORE", &destination]),
        3
    );
    assert_eq!(
        texts(&mut connection, &["LRANGE", &destination, "0", "-1"]),
        ["c", "a", "b"]
    );
    assert_eq!(
        int(
            &mut connection,
            &["SORT", &source, "ALPHA", "DESC", "GET", "#", "STORE", &destination]
        ),
        3
    );
    assert_eq!(
        texts(&mut connection, &["LRANGE", &destination, "0", "-1"]),
        ["c", "b", "a"]
    );
    // Errors from the source's shard come back, and nothing is stored.
    assert_eq!(
        error(&mut connection, &["SORT", &source, "STORE", &destination]),
        NOT_DOUBLE
    );
    assert_eq!(
        texts(&mut connection, &["LRANGE", &destination, "0", "-1"]),
        ["c", "b", "a"]
    );
    assert_eq!(
        error(&mut connection, &["SORT", &source, "BY", "w_*", "STORE", &destination]),
        "ERR BY option of SORT denied in Cluster mode when keys formed by the pattern may be in different slots."
    );
    let missing = key_on_shard("missing", 2, 4);
    assert_eq!(int(&mut connection, &["SORT", &missing, "STORE", &destination]), 0);
    assert_eq!(int(&mut connection, &["EXISTS", &destination]), 0);
    let string = key_on_shard("string", 3, 4);
    run(&mut connection, &["SET", &string, "x"]);
    assert_eq!(
        error(&mut connection, &["SORT", &string, "STORE", &destination]),
        WRONGTYPE
    );
}
