//! The string commands through a real client: GET, SET and its options,
//! SETNX, SETEX, PSETEX, GETSET, GETDEL, GETEX, MGET, MSET, MSETNX, the INCR
//! family, INCRBYFLOAT, APPEND, STRLEN, GETRANGE, SUBSTR, SETRANGE and LCS,
//! with their errors and TTL rules; the multi-key ones also across shards,
//! including their atomicity under concurrent writers and readers.

mod common;

use common::{error_text, int, query, reply, text};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{bulk, TestServer};
use redis::{cmd, Connection, Value};
use starling_protocol::{key_slot, Frame};

const SHARD_COUNTS: [usize; 2] = [1, 4];

fn ok(connection: &mut Connection, args: &[&str]) {
    assert_eq!(reply(connection, args), Value::Okay, "{args:?}");
}

fn error(connection: &mut Connection, args: &[&str]) -> String {
    error_text(query(connection, args))
}

fn exists(connection: &mut Connection, key: &str) -> bool {
    int(connection, &["EXISTS", key]) == 1
}

/// A key named `{prefix}:n` that lives on `shard` of `shard_count`.
fn key_on_shard(prefix: &str, shard: usize, shard_count: usize) -> String {
    (0..)
        .map(|n| format!("{prefix}:{n}"))
        .find(|key| key_slot(key.as_bytes()) as usize % shard_count == shard)
        .expect("some key lands on every shard")
}

/// `count` keys spread round-robin over the shards of a 4-shard server.
fn keys_over_four_shards(prefix: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|index| key_on_shard(&format!("{prefix}{index}"), index % 4, 4))
        .collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

/// Polls `condition` every few milliseconds for up to two seconds.
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn get_and_set_store_binary_safe_values() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(reply(&mut connection, &["GET", "missing"]), Value::Nil);
    ok(&mut connection, &["SET", "k", "v1"]);
    assert_eq!(text(&mut connection, &["GET", "k"]).as_deref(), Some("v1"));
    ok(&mut connection, &["SET", "k", "v2"]);
    assert_eq!(text(&mut connection, &["GET", "k"]).as_deref(), Some("v2"));
    ok(&mut connection, &["SET", "empty", ""]);
    assert_eq!(text(&mut connection, &["GET", "empty"]).as_deref(), Some(""));
    let binary = b"a\0b\r\nc\xff".to_vec();
    let _: () = cmd("SET").arg("binary").arg(&binary).query(&mut connection).unwrap();
    let stored: Vec<u8> = cmd("GET").arg("binary").query(&mut connection).unwrap();
    assert_eq!(stored, binary);
    let long = "x".repeat(100_000);
    ok(&mut connection, &["SET", "long", &long]);
    assert_eq!(text(&mut connection, &["GET", "long"]), Some(long));
    for (command, name) in [
        (&["GET"][..], "get"),
        (&["GET", "a", "b"], "get"),
        (&["SET", "k"], "set"),
    ] {
        assert_eq!(
            error(&mut connection, command),
            format!("ERR wrong number of arguments for '{name}' command")
        );
    }
}

#[test]
fn set_nx_xx_and_get_options() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    ok(&mut connection, &["SET", "k", "1", "NX"]);
    assert_eq!(reply(&mut connection, &["SET", "k", "2", "NX"]), Value::Nil);
    assert_eq!(text(&mut connection, &["GET", "k"]).as_deref(), Some("1"));
    assert_eq!(reply(&mut connection, &["SET", "missing", "2", "XX"]), Value::Nil);
    assert!(!exists(&mut connection, "missing"));
    ok(&mut connection, &["SET", "k", "3", "xx"]);
    assert_eq!(text(&mut connection, &["SET", "k", "4", "GET"]).as_deref(), Some("3"));
    assert_eq!(text(&mut connection, &["SET", "new", "1", "GET"]), None);
    assert_eq!(text(&mut connection, &["GET", "new"]).as_deref(), Some("1"));
    // NX with GET is allowed since 7.0: the old value comes back, nothing is set.
    assert_eq!(
        text(&mut connection, &["SET", "k", "5", "NX", "GET"]).as_deref(),
        Some("4")
    );
    assert_eq!(text(&mut connection, &["GET", "k"]).as_deref(), Some("4"));
    assert_eq!(text(&mut connection, &["SET", "absent", "5", "XX", "GET"]), None);
    assert!(!exists(&mut connection, "absent"));
    assert_eq!(
        text(&mut connection, &["SET", "k", "6", "GET", "GET", "XX"]).as_deref(),
        Some("4")
    );
    assert_eq!(text(&mut connection, &["GET", "k"]).as_deref(), Some("6"));
}

#[test]
fn set_refuses_conflicting_options_and_bad_expire_times() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    for options in [
        &["NX", "XX"][..],
        &["XX", "NX"],
        &["EX", "10", "PX", "10"],
        &["EXAT", "10", "PXAT", "10"],
        &["KEEPTTL", "EX", "10"],
        &["PX", "10", "KEEPTTL"],
        &["EX"],
        &["PERSIST"],
        &["BOGUS"],
        &["EX", "abc", "NX", "XX"],
    ] {
        let command = [&["SET", "k", "v"][..], options].concat();
        assert_eq!(error(&mut connection, &command), "ERR syntax error", "{command:?}");
    }
    for options in [
        &["EX", "0"][..],
        &["EX", "-1"],
        &["PX", "0"],
        &["EXAT", "-5"],
        &["PXAT", "0"],
        &["EX", "9223372036854776"],
        &["EX", "9223372036854775"],
        &["PX", "9223372036854775807"],
    ] {
        let command = [&["SET", "k", "v"][..], options].concat();
        assert_eq!(
            error(&mut connection, &command),
            "ERR invalid expire time in 'set' command",
            "{command:?}"
        );
    }
    assert_eq!(
        error(&mut connection, &["SET", "k", "v", "EX", "1.5"]),
        "ERR value is not an integer or out of range"
    );
    assert!(!exists(&mut connection, "k"), "a refused SET sets nothing");
    // Absolute times far ahead are fine: nothing is added to them.
    ok(&mut connection, &["SET", "k", "v", "EXAT", "9223372036854775"]);
    ok(&mut connection, &["SET", "k", "v", "PXAT", "9223372036854775807"]);
}

#[test]
fn set_expire_options_and_keepttl() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    ok(&mut connection, &["SET", "k", "v", "EX", "100"]);
    let ttl_ms = int(&mut connection, &["PTTL", "k"]);
    assert!((99_000..=100_000).contains(&ttl_ms), "{ttl_ms}");
    ok(&mut connection, &["SET", "k", "v", "PX", "100000"]);
    let ttl_ms = int(&mut connection, &["PTTL", "k"]);
    assert!((99_000..=100_000).contains(&ttl_ms), "{ttl_ms}");
    let at_seconds = now_ms() / 1000 + 1000;
    ok(&mut connection, &["SET", "k", "v", "EXAT", &at_seconds.to_string()]);
    assert_eq!(int(&mut connection, &["PEXPIRETIME", "k"]), at_seconds * 1000);
    let at_ms = now_ms() + 500_000;
    ok(&mut connection, &["SET", "k", "v", "PXAT", &at_ms.to_string()]);
    assert_eq!(int(&mut connection, &["PEXPIRETIME", "k"]), at_ms);
    ok(&mut connection, &["SET", "k", "v2", "KEEPTTL"]);
    assert_eq!(
        int(&mut connection, &["PEXPIRETIME", "k"]),
        at_ms,
        "KEEPTTL keeps the deadline"
    );
    assert_eq!(text(&mut connection, &["GET", "k"]).as_deref(), Some("v2"));
    ok(&mut connection, &["SET", "k", "v3"]);
    assert_eq!(int(&mut connection, &["PTTL", "k"]), -1, "a plain SET drops the TTL");
    ok(&mut connection, &["SET", "past", "v", "PXAT", "1"]);
    assert!(
        !exists(&mut connection, "past"),
        "a deadline in the past expires the key at once"
    );
    ok(&mut connection, &["SET", "short", "v", "PX", "30"]);
    wait_until("the 30 ms key expires", || !exists(&mut connection, "short"));
    assert_eq!(reply(&mut connection, &["GET", "short"]), Value::Nil);
}

#[test]
fn setnx_setex_and_psetex() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(int(&mut connection, &["SETNX", "k", "1"]), 1);
    assert_eq!(int(&mut connection, &["SETNX", "k", "2"]), 0);
    assert_eq!(text(&mut connection, &["GET", "k"]).as_deref(), Some("1"));
    ok(&mut connection, &["SETEX", "k", "100", "v"]);
    let ttl_ms = int(&mut connection, &["PTTL", "k"]);
    assert!((99_000..=100_000).contains(&ttl_ms), "{ttl_ms}");
    assert_eq!(text(&mut connection, &["GET", "k"]).as_deref(), Some("v"));
    ok(&mut connection, &["PSETEX", "k", "100000", "w"]);
    let ttl_ms = int(&mut connection, &["PTTL", "k"]);
    assert!((99_000..=100_000).contains(&ttl_ms), "{ttl_ms}");
    assert_eq!(text(&mut connection, &["GET", "k"]).as_deref(), Some("w"));
    for seconds in ["0", "-1", "9223372036854776"] {
        assert_eq!(
            error(&mut connection, &["SETEX", "k", seconds, "v"]),
            "ERR invalid expire time in 'setex' command"
        );
    }
    for milliseconds in ["0", "-5", "9223372036854775807"] {
        assert_eq!(
            error(&mut connection, &["PSETEX", "k", milliseconds, "v"]),
            "ERR invalid expire time in 'psetex' command"
        );
    }
    assert_eq!(
        error(&mut connection, &["SETEX", "k", "abc", "v"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        text(&mut connection, &["GET", "k"]).as_deref(),
        Some("w"),
        "refused commands change nothing"
    );
    ok(&mut connection, &["PSETEX", "short", "30", "v"]);
    wait_until("the 30 ms key expires", || !exists(&mut connection, "short"));
    assert_eq!(
        int(&mut connection, &["SETNX", "short", "again"]),
        1,
        "an expired key is absent"
    );
}

#[test]
fn getset_and_getdel() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(text(&mut connection, &["GETSET", "k", "1"]), None);
    assert_eq!(text(&mut connection, &["GETSET", "k", "2"]).as_deref(), Some("1"));
    ok(&mut connection, &["SET", "k", "3", "EX", "100"]);
    assert_eq!(text(&mut connection, &["GETSET", "k", "4"]).as_deref(), Some("3"));
    assert_eq!(int(&mut connection, &["PTTL", "k"]), -1, "GETSET drops the TTL");
    assert_eq!(text(&mut connection, &["GETDEL", "k"]).as_deref(), Some("4"));
    assert!(!exists(&mut connection, "k"));
    assert_eq!(text(&mut connection, &["GETDEL", "k"]), None);
}

#[test]
fn getex_changes_or_keeps_the_ttl() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(text(&mut connection, &["GETEX", "missing"]), None);
    ok(&mut connection, &["SET", "k", "v", "PX", "500000"]);
    assert_eq!(text(&mut connection, &["GETEX", "k"]).as_deref(), Some("v"));
    assert!(
        int(&mut connection, &["PTTL", "k"]) > 400_000,
        "no option keeps the TTL"
    );
    assert_eq!(
        text(&mut connection, &["GETEX", "k", "EX", "100"]).as_deref(),
        Some("v")
    );
    let ttl_ms = int(&mut connection, &["PTTL", "k"]);
    assert!((99_000..=100_000).contains(&ttl_ms), "{ttl_ms}");
    assert_eq!(
        text(&mut connection, &["GETEX", "k", "px", "200000"]).as_deref(),
        Some("v")
    );
    assert!(int(&mut connection, &["PTTL", "k"]) > 100_000);
    let at_ms = now_ms() + 300_000;
    assert_eq!(
        text(&mut connection, &["GETEX", "k", "PXAT", &at_ms.to_string()]).as_deref(),
        Some("v")
    );
    assert_eq!(int(&mut connection, &["PEXPIRETIME", "k"]), at_ms);
    let at_seconds = now_ms() / 1000 + 400;
    assert_eq!(
        text(&mut connection, &["GETEX", "k", "EXAT", &at_seconds.to_string()]).as_deref(),
        Some("v")
    );
    assert_eq!(int(&mut connection, &["PEXPIRETIME", "k"]), at_seconds * 1000);
    assert_eq!(text(&mut connection, &["GETEX", "k", "PERSIST"]).as_deref(), Some("v"));
    assert_eq!(int(&mut connection, &["PTTL", "k"]), -1);
    // An absolute time already past answers the value, then deletes the key.
    assert_eq!(
        text(&mut connection, &["GETEX", "k", "EXAT", "1"]).as_deref(),
        Some("v")
    );
    assert!(!exists(&mut connection, "k"));

    ok(&mut connection, &["SET", "k", "v"]);
    for options in [
        &["PERSIST", "EX", "10"][..],
        &["EX", "10", "PERSIST"],
        &["KEEPTTL"],
        &["NX"],
        &["GET"],
        &["EX", "10", "PX", "10"],
        &["PX"],
    ] {
        let command = [&["GETEX", "k"][..], options].concat();
        assert_eq!(error(&mut connection, &command), "ERR syntax error", "{command:?}");
    }
    assert_eq!(
        error(&mut connection, &["GETEX", "k", "EX", "-1"]),
        "ERR invalid expire time in 'getex' command"
    );
    assert_eq!(
        error(&mut connection, &["GETEX", "k", "EX", "abc"]),
        "ERR value is not an integer or out of range"
    );
    // The expire amount is only checked once the key is found.
    assert_eq!(text(&mut connection, &["GETEX", "missing", "EX", "-1"]), None);
    assert_eq!(
        error(&mut connection, &["GETEX", "missing", "BOGUS"]),
        "ERR syntax error"
    );
    assert_eq!(
        int(&mut connection, &["PTTL", "k"]),
        -1,
        "refused GETEX changes nothing"
    );
}

#[test]
fn integer_counters() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(int(&mut connection, &["INCR", "n"]), 1);
    assert_eq!(int(&mut connection, &["INCR", "n"]), 2);
    assert_eq!(int(&mut connection, &["DECR", "n"]), 1);
    assert_eq!(int(&mut connection, &["INCRBY", "n", "41"]), 42);
    assert_eq!(int(&mut connection, &["DECRBY", "n", "50"]), -8);
    assert_eq!(int(&mut connection, &["DECR", "fresh"]), -1);
    assert_eq!(int(&mut connection, &["INCRBY", "fresh2", "-7"]), -7);
    assert_eq!(int(&mut connection, &["DECRBY", "fresh3", "-7"]), 7);
    assert_eq!(text(&mut connection, &["GET", "n"]).as_deref(), Some("-8"));

    ok(&mut connection, &["SET", "max", "9223372036854775807"]);
    assert_eq!(
        error(&mut connection, &["INCR", "max"]),
        "ERR increment or decrement would overflow"
    );
    ok(&mut connection, &["SET", "min", "-9223372036854775808"]);
    assert_eq!(
        error(&mut connection, &["DECR", "min"]),
        "ERR increment or decrement would overflow"
    );
    assert_eq!(
        error(&mut connection, &["INCRBY", "min", "-1"]),
        "ERR increment or decrement would overflow"
    );
    assert_eq!(int(&mut connection, &["INCRBY", "min", "9223372036854775807"]), -1);
    assert_eq!(
        error(&mut connection, &["DECRBY", "n", "-9223372036854775808"]),
        "ERR decrement would overflow"
    );
    for stored in ["abc", " 1", "1 ", "1.5", "01", "+1", "", "99999999999999999999"] {
        ok(&mut connection, &["SET", "bad", stored]);
        assert_eq!(
            error(&mut connection, &["INCR", "bad"]),
            "ERR value is not an integer or out of range",
            "{stored:?}"
        );
    }
    for increment in ["abc", "1.0", "9223372036854775808", ""] {
        assert_eq!(
            error(&mut connection, &["INCRBY", "n", increment]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            error(&mut connection, &["DECRBY", "n", increment]),
            "ERR value is not an integer or out of range"
        );
    }
    assert_eq!(
        text(&mut connection, &["GET", "n"]).as_deref(),
        Some("-8"),
        "refused commands change nothing"
    );

    ok(&mut connection, &["SET", "ttl", "10", "EX", "100"]);
    assert_eq!(int(&mut connection, &["INCR", "ttl"]), 11);
    assert_eq!(int(&mut connection, &["DECRBY", "ttl", "2"]), 9);
    assert!(int(&mut connection, &["PTTL", "ttl"]) > 90_000, "counters keep the TTL");
    ok(&mut connection, &["SET", "raw", "1"]);
    assert_eq!(int(&mut connection, &["APPEND", "raw", "2"]), 2);
    assert_eq!(
        text(&mut connection, &["OBJECT", "ENCODING", "raw"]).as_deref(),
        Some("raw")
    );
    assert_eq!(int(&mut connection, &["INCR", "raw"]), 13);
    assert_eq!(
        text(&mut connection, &["OBJECT", "ENCODING", "raw"]).as_deref(),
        Some("int")
    );
}

#[test]
fn incrbyfloat_uses_long_double_arithmetic_and_formatting() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    ok(&mut connection, &["SET", "f", "10.5"]);
    assert_eq!(
        text(&mut connection, &["INCRBYFLOAT", "f", "0.1"]).as_deref(),
        Some("10.6")
    );
    assert_eq!(text(&mut connection, &["GET", "f"]).as_deref(), Some("10.6"));
    assert_eq!(
        text(&mut connection, &["INCRBYFLOAT", "g", "3.0e3"]).as_deref(),
        Some("3000")
    );
    assert_eq!(
        text(&mut connection, &["INCRBYFLOAT", "g", "-3000"]).as_deref(),
        Some("0")
    );
    assert_eq!(
        text(&mut connection, &["INCRBYFLOAT", "h", "0.1"]).as_deref(),
        Some("0.1")
    );
    assert_eq!(
        text(&mut connection, &["INCRBYFLOAT", "h", "0.2"]).as_deref(),
        Some("0.3")
    );
    assert_eq!(
        text(&mut connection, &["INCRBYFLOAT", "i", "1e-20"]).as_deref(),
        Some("0")
    );
    assert_eq!(
        text(&mut connection, &["INCRBYFLOAT", "j", "1.23456789012345678901"]).as_deref(),
        Some("1.23456789012345679")
    );
    assert_eq!(
        text(&mut connection, &["INCRBYFLOAT", "k", "0x1.8p1"]).as_deref(),
        Some("3")
    );
    assert_eq!(
        text(&mut connection, &["INCRBYFLOAT", "l", "-5.000001e-18"]).as_deref(),
        Some("-0.00000000000000001")
    );
    ok(&mut connection, &["SET", "int", "5"]);
    assert_eq!(
        text(&mut connection, &["INCRBYFLOAT", "int", "3.3333333333333333333"]).as_deref(),
        Some("8.33333333333333333")
    );
    let large = text(&mut connection, &["INCRBYFLOAT", "large", "1e300"]).expect("a value");
    assert_eq!(large.len(), 301, "no exponent notation: every integer digit is written");
    assert!(large.starts_with("1000000000000000000008997324079559193870523944273290747938260082321265646596180935"));

    ok(&mut connection, &["SET", "text", "abc"]);
    assert_eq!(
        error(&mut connection, &["INCRBYFLOAT", "text", "1"]),
        "ERR value is not a valid float"
    );
    for increment in ["abc", " 1", "1 ", "nan", "", "1e5000", "1e-5000"] {
        assert_eq!(
            error(&mut connection, &["INCRBYFLOAT", "f", increment]),
            "ERR value is not a valid float",
            "{increment:?}"
        );
    }
    for increment in ["inf", "-infinity"] {
        assert_eq!(
            error(&mut connection, &["INCRBYFLOAT", "f", increment]),
            "ERR increment would produce NaN or Infinity"
        );
    }
    ok(&mut connection, &["SET", "huge", "1.18973149535723176502e+4932"]);
    assert_eq!(
        error(
            &mut connection,
            &["INCRBYFLOAT", "huge", "1.18973149535723176502e+4932"]
        ),
        "ERR increment would produce NaN or Infinity"
    );
    assert_eq!(
        text(&mut connection, &["GET", "f"]).as_deref(),
        Some("10.6"),
        "refused commands change nothing"
    );

    ok(&mut connection, &["SET", "ttl", "1.5", "EX", "100"]);
    assert_eq!(
        text(&mut connection, &["INCRBYFLOAT", "ttl", "1"]).as_deref(),
        Some("2.5")
    );
    assert!(
        int(&mut connection, &["PTTL", "ttl"]) > 90_000,
        "INCRBYFLOAT keeps the TTL"
    );
    assert_eq!(
        text(&mut connection, &["OBJECT", "ENCODING", "ttl"]).as_deref(),
        Some("embstr")
    );
}

#[test]
fn append_and_strlen() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(int(&mut connection, &["STRLEN", "k"]), 0);
    assert_eq!(int(&mut connection, &["APPEND", "k", "Hello"]), 5);
    assert_eq!(
        text(&mut connection, &["OBJECT", "ENCODING", "k"]).as_deref(),
        Some("embstr")
    );
    assert_eq!(int(&mut connection, &["APPEND", "k", " World"]), 11);
    assert_eq!(text(&mut connection, &["GET", "k"]).as_deref(), Some("Hello World"));
    assert_eq!(int(&mut connection, &["STRLEN", "k"]), 11);
    assert_eq!(
        text(&mut connection, &["OBJECT", "ENCODING", "k"]).as_deref(),
        Some("raw")
    );
    ok(&mut connection, &["SET", "e", "short"]);
    assert_eq!(int(&mut connection, &["APPEND", "e", ""]), 5);
    assert_eq!(
        text(&mut connection, &["OBJECT", "ENCODING", "e"]).as_deref(),
        Some("raw"),
        "even an empty APPEND makes the string raw"
    );
    ok(&mut connection, &["SET", "ttl", "a", "EX", "100"]);
    assert_eq!(int(&mut connection, &["APPEND", "ttl", "b"]), 2);
    assert!(int(&mut connection, &["PTTL", "ttl"]) > 90_000, "APPEND keeps the TTL");
    // Many small appends stay fast and exact.
    for _ in 0..2_000 {
        int(&mut connection, &["APPEND", "grow", "0123456789"]);
    }
    assert_eq!(int(&mut connection, &["STRLEN", "grow"]), 20_000);
}

#[test]
fn growing_past_proto_max_bulk_len_is_refused() {
    let server = TestServer::start_with(1, &[("proto-max-bulk-len", "1mb")]);
    let mut connection = server.connection();
    let limit = 1024 * 1024;
    let too_long = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
    assert_eq!(
        int(&mut connection, &["SETRANGE", "k", &(limit - 1).to_string(), "x"]),
        limit
    );
    assert_eq!(error(&mut connection, &["APPEND", "k", "y"]), too_long);
    assert_eq!(int(&mut connection, &["APPEND", "k", ""]), limit);
    assert_eq!(
        error(&mut connection, &["SETRANGE", "k", &limit.to_string(), "x"]),
        too_long
    );
    assert_eq!(
        error(&mut connection, &["SETRANGE", "new", &limit.to_string(), "x"]),
        too_long
    );
    assert_eq!(
        error(&mut connection, &["SETRANGE", "new", "9223372036854775807", "x"]),
        too_long
    );
    assert_eq!(int(&mut connection, &["SETRANGE", "new", "9223372036854775807", ""]), 0);
    assert!(!exists(&mut connection, "new"));
    assert_eq!(int(&mut connection, &["STRLEN", "k"]), limit);
}

#[test]
fn getrange_and_substr() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    ok(&mut connection, &["SET", "k", "Hello World"]);
    for (start, end, expected) in [
        ("0", "3", "Hell"),
        ("-3", "-1", "rld"),
        ("-1", "-5", ""),
        ("5", "3", ""),
        ("-100", "100", "Hello World"),
        ("100", "200", ""),
        ("0", "-100", "H"),
        ("-5", "-100", ""),
        ("10", "-1", "d"),
        ("11", "-1", ""),
        ("0", "9223372036854775807", "Hello World"),
        ("-9223372036854775808", "2", "Hel"),
    ] {
        assert_eq!(
            text(&mut connection, &["GETRANGE", "k", start, end]).as_deref(),
            Some(expected),
            "GETRANGE {start} {end}"
        );
        assert_eq!(
            text(&mut connection, &["SUBSTR", "k", start, end]).as_deref(),
            Some(expected)
        );
    }
    assert_eq!(
        text(&mut connection, &["GETRANGE", "missing", "0", "-1"]).as_deref(),
        Some("")
    );
    ok(&mut connection, &["SET", "empty", ""]);
    assert_eq!(
        text(&mut connection, &["GETRANGE", "empty", "0", "-1"]).as_deref(),
        Some("")
    );
    assert_eq!(
        error(&mut connection, &["GETRANGE", "k", "a", "1"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error(&mut connection, &["GETRANGE", "missing", "0", "1.5"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error(&mut connection, &["GETRANGE", "k", "0"]),
        "ERR wrong number of arguments for 'getrange' command"
    );
}

#[test]
fn setrange_patches_and_pads_with_zero_bytes() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    ok(&mut connection, &["SET", "k", "Hello World"]);
    assert_eq!(int(&mut connection, &["SETRANGE", "k", "6", "Redis"]), 11);
    assert_eq!(text(&mut connection, &["GET", "k"]).as_deref(), Some("Hello Redis"));
    assert_eq!(
        text(&mut connection, &["OBJECT", "ENCODING", "k"]).as_deref(),
        Some("raw")
    );
    assert_eq!(int(&mut connection, &["SETRANGE", "k", "9", "!!!"]), 12);
    assert_eq!(text(&mut connection, &["GET", "k"]).as_deref(), Some("Hello Red!!!"));
    assert_eq!(
        int(&mut connection, &["SETRANGE", "k", "1", ""]),
        12,
        "an empty patch answers the length"
    );
    assert_eq!(int(&mut connection, &["SETRANGE", "padded", "3", "ab"]), 5);
    let padded: Vec<u8> = cmd("GET").arg("padded").query(&mut connection).unwrap();
    assert_eq!(padded, b"\0\0\0ab");
    assert_eq!(
        text(&mut connection, &["OBJECT", "ENCODING", "padded"]).as_deref(),
        Some("raw")
    );
    assert_eq!(int(&mut connection, &["SETRANGE", "nothing", "5", ""]), 0);
    assert!(!exists(&mut connection, "nothing"), "an empty patch creates no key");
    assert_eq!(
        error(&mut connection, &["SETRANGE", "k", "-1", "x"]),
        "ERR offset is out of range"
    );
    assert_eq!(
        error(&mut connection, &["SETRANGE", "k", "abc", "x"]),
        "ERR value is not an integer or out of range"
    );
    ok(&mut connection, &["SET", "ttl", "abc", "EX", "100"]);
    assert_eq!(int(&mut connection, &["SETRANGE", "ttl", "1", "X"]), 3);
    assert_eq!(text(&mut connection, &["GET", "ttl"]).as_deref(), Some("aXc"));
    assert!(
        int(&mut connection, &["PTTL", "ttl"]) > 90_000,
        "SETRANGE keeps the TTL"
    );
}

/// LCS's IDX reply through the `redis` crate (RESP2: a flat array).
fn lcs_matches(value: Value) -> (Vec<Vec<i64>>, i64) {
    let Value::Array(items) = value else {
        panic!("expected an array, got {value:?}");
    };
    assert_eq!(items.len(), 4);
    assert_eq!(items[0], Value::BulkString(b"matches".to_vec()));
    assert_eq!(items[2], Value::BulkString(b"len".to_vec()));
    let Value::Array(matches) = &items[1] else {
        panic!("matches")
    };
    let flatten = |entry: &Value| -> Vec<i64> {
        let Value::Array(parts) = entry else {
            panic!("a match is an array")
        };
        parts
            .iter()
            .flat_map(|part| match part {
                Value::Array(range) => range
                    .iter()
                    .map(|bound| match bound {
                        Value::Int(number) => *number,
                        other => panic!("{other:?}"),
                    })
                    .collect(),
                Value::Int(length) => vec![*length],
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let Value::Int(length) = items[3] else { panic!("len") };
    (matches.iter().map(flatten).collect(), length)
}

#[test]
fn lcs_on_one_shard_and_across_shards() {
    for shards in SHARD_COUNTS {
        let server = TestServer::start(shards);
        let mut connection = server.connection();
        let first = key_on_shard("lcs-a", 0, shards);
        let second = key_on_shard("lcs-b", shards - 1, shards);
        ok(&mut connection, &["SET", &first, "ohmytext"]);
        ok(&mut connection, &["SET", &second, "mynewtext"]);
        assert_eq!(
            text(&mut connection, &["LCS", &first, &second]).as_deref(),
            Some("mytext")
        );
        assert_eq!(int(&mut connection, &["LCS", &first, &second, "LEN"]), 6);
        assert_eq!(
            lcs_matches(reply(&mut connection, &["LCS", &first, &second, "IDX"])),
            (vec![vec![4, 7, 5, 8], vec![2, 3, 0, 1]], 6)
        );
        assert_eq!(
            lcs_matches(reply(&mut connection, &["LCS", &first, &second, "idx", "withmatchlen"])),
            (vec![vec![4, 7, 5, 8, 4], vec![2, 3, 0, 1, 2]], 6)
        );
        assert_eq!(
            lcs_matches(reply(
                &mut connection,
                &["LCS", &first, &second, "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]
            )),
            (vec![vec![4, 7, 5, 8, 4]], 6)
        );
        assert_eq!(
            text(&mut connection, &["LCS", &first, &second, "WITHMATCHLEN"]).as_deref(),
            Some("mytext")
        );
        assert_eq!(text(&mut connection, &["LCS", &first, "missing"]).as_deref(), Some(""));
        assert_eq!(
            text(&mut connection, &["LCS", "missing", "missing2", "MINMATCHLEN", "-5"]).as_deref(),
            Some("")
        );
        assert_eq!(
            error(&mut connection, &["LCS", &first, &second, "LEN", "IDX"]),
            "ERR If you want both the length and indexes, please just use IDX."
        );
        assert_eq!(
            error(&mut connection, &["LCS", &first, &second, "MINMATCHLEN"]),
            "ERR syntax error"
        );
        assert_eq!(
            error(&mut connection, &["LCS", &first, &second, "BOGUS"]),
            "ERR syntax error"
        );
        assert_eq!(
            error(&mut connection, &["LCS", &first, &second, "MINMATCHLEN", "x"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            error(&mut connection, &["LCS", &first]),
            "ERR wrong number of arguments for 'lcs' command"
        );
    }
}

#[test]
fn lcs_idx_is_a_map_in_resp3() {
    let server = TestServer::start(4);
    let mut raw = server.raw();
    raw.command(&[b"HELLO", b"3"]);
    let first = key_on_shard("resp3-a", 1, 4);
    let second = key_on_shard("resp3-b", 2, 4);
    raw.command(&[b"SET", first.as_bytes(), b"ohmytext"]);
    raw.command(&[b"SET", second.as_bytes(), b"mynewtext"]);
    let range = |start: i64, end: i64| Frame::Array(vec![Frame::Integer(start), Frame::Integer(end)]);
    assert_eq!(
        raw.command(&[
            b"LCS",
            first.as_bytes(),
            second.as_bytes(),
            b"IDX",
            b"MINMATCHLEN",
            b"3"
        ]),
        Frame::Map(vec![
            (
                bulk("matches"),
                Frame::Array(vec![Frame::Array(vec![range(4, 7), range(5, 8)])])
            ),
            (bulk("len"), Frame::Integer(6)),
        ])
    );
    assert_eq!(raw.command(&[b"GET", b"missing"]), Frame::Null);
}

#[test]
fn lcs_refuses_tables_larger_than_proto_max_bulk_len() {
    let server = TestServer::start_with(4, &[("proto-max-bulk-len", "1mb")]);
    let mut connection = server.connection();
    let first = key_on_shard("big-a", 0, 4);
    let second = key_on_shard("big-b", 3, 4);
    let second_same_shard = key_on_shard("big-c", 0, 4);
    // (511 + 1)^2 * 4 bytes is exactly 1mb; one more byte each is too much.
    ok(&mut connection, &["SET", &first, &"a".repeat(511)]);
    ok(&mut connection, &["SET", &second, &"a".repeat(511)]);
    ok(&mut connection, &["SET", &second_same_shard, &"a".repeat(511)]);
    assert_eq!(int(&mut connection, &["LCS", &first, &second, "LEN"]), 511);
    assert_eq!(int(&mut connection, &["LCS", &first, &second_same_shard, "LEN"]), 511);
    int(&mut connection, &["APPEND", &first, "a"]);
    int(&mut connection, &["APPEND", &second, "a"]);
    int(&mut connection, &["APPEND", &second_same_shard, "a"]);
    let refused = "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len";
    assert_eq!(error(&mut connection, &["LCS", &first, &second]), refused);
    assert_eq!(
        error(&mut connection, &["LCS", &first, &second_same_shard, "LEN"]),
        refused
    );
}

#[test]
fn mget_mset_and_msetnx_on_one_shard_and_across_shards() {
    for shards in SHARD_COUNTS {
        let server = TestServer::start(shards);
        let mut connection = server.connection();
        let keys: Vec<String> = (0..shards.max(2) * 2)
            .map(|index| key_on_shard(&format!("m{index}"), index % shards, shards))
            .collect();
        let mut mset = vec!["MSET"];
        for key in &keys {
            mset.extend([key.as_str(), key.as_str()]);
        }
        ok(&mut connection, &mset);
        let mut mget = vec!["MGET"];
        mget.extend(keys.iter().map(String::as_str));
        mget.insert(2, "missing");
        let expected: Vec<Value> = mget[1..]
            .iter()
            .map(|key| match *key {
                "missing" => Value::Nil,
                key => Value::BulkString(key.as_bytes().to_vec()),
            })
            .collect();
        assert_eq!(reply(&mut connection, &mget), Value::Array(expected));

        // MSET replaces values and drops TTLs.
        ok(&mut connection, &["SET", &keys[1], "old", "EX", "100"]);
        ok(&mut connection, &["MSET", &keys[0], "new0", &keys[1], "new1"]);
        assert_eq!(int(&mut connection, &["PTTL", &keys[1]]), -1);
        assert_eq!(
            reply(&mut connection, &["MGET", &keys[1], &keys[0], &keys[1]]),
            Value::Array(vec![
                Value::BulkString(b"new1".to_vec()),
                Value::BulkString(b"new0".to_vec()),
                Value::BulkString(b"new1".to_vec()),
            ])
        );

        // MSETNX sets all or nothing.
        let fresh: Vec<String> = (0..shards.max(2) * 2)
            .map(|index| key_on_shard(&format!("nx{index}"), index % shards, shards))
            .collect();
        let mut msetnx = vec!["MSETNX"];
        for key in &fresh {
            msetnx.extend([key.as_str(), "v"]);
        }
        msetnx.extend([keys.last().unwrap().as_str(), "clash"]);
        assert_eq!(int(&mut connection, &msetnx), 0);
        for key in &fresh {
            assert!(
                !exists(&mut connection, key),
                "MSETNX set {key} although another key existed"
            );
        }
        msetnx.truncate(msetnx.len() - 2);
        assert_eq!(int(&mut connection, &msetnx), 1);
        for key in &fresh {
            assert_eq!(text(&mut connection, &["GET", key]).as_deref(), Some("v"));
        }
        assert_eq!(int(&mut connection, &msetnx), 0, "now they all exist");

        for (command, name) in [
            (&["MSET", "a"][..], "mset"),
            (&["MSET", &keys[0], "1", &keys[1]], "mset"),
            (&["MSETNX", &keys[0], "1", &keys[1]], "msetnx"),
            (&["MGET"], "mget"),
        ] {
            assert_eq!(
                error(&mut connection, command),
                format!("ERR wrong number of arguments for '{name}' command")
            );
        }
        assert_eq!(
            text(&mut connection, &["GET", &keys[0]]).as_deref(),
            Some("new0"),
            "a refused MSET sets nothing"
        );
    }
}

/// 8 writers MSET the same 8 keys (on 4 shards) to their iteration id while 8
/// readers MGET them: every MGET must see the keys all equal, that is, never
/// part of one MSET and part of another.
#[test]
fn cross_shard_mset_is_atomic_for_concurrent_mget() {
    const WRITERS: usize = 8;
    const READERS: usize = 8;
    const ITERATIONS_MAX: usize = 5_000;
    let server = TestServer::start(4);
    let keys = Arc::new(keys_over_four_shards("atomic", 8));
    let deadline = Instant::now() + Duration::from_millis(1200);
    let writes = Arc::new(AtomicUsize::new(0));
    let reads = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();
    for writer in 0..WRITERS {
        let mut connection = server.connection();
        let (keys, writes) = (keys.clone(), writes.clone());
        threads.push(std::thread::spawn(move || {
            for iteration in 0..ITERATIONS_MAX {
                if Instant::now() >= deadline {
                    break;
                }
                let value = format!("{writer}:{iteration}");
                let mut mset = cmd("MSET");
                for key in keys.iter() {
                    mset.arg(key).arg(&value);
                }
                let _: () = mset.query(&mut connection).expect("MSET");
                writes.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for _ in 0..READERS {
        let mut connection = server.connection();
        let (keys, reads) = (keys.clone(), reads.clone());
        threads.push(std::thread::spawn(move || {
            for _ in 0..ITERATIONS_MAX {
                if Instant::now() >= deadline {
                    break;
                }
                let values: Vec<Option<String>> = cmd("MGET").arg(&keys[..]).query(&mut connection).expect("MGET");
                assert_eq!(values.len(), keys.len());
                assert!(
                    values.iter().all(|value| value == &values[0]),
                    "MGET saw a half-applied MSET: {values:?}"
                );
                reads.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for thread in threads {
        thread.join().expect("no thread panicked");
    }
    assert!(writes.load(Ordering::Relaxed) > WRITERS, "writers made progress");
    assert!(reads.load(Ordering::Relaxed) > READERS, "readers made progress");
}

/// 50 clients pipeline INCRs on keys spread over 4 shards; no increment may
/// be lost or applied twice.
#[test]
fn pipelined_incr_from_many_clients_is_exact() {
    const CLIENTS: usize = 50;
    const ROUNDS: usize = 4;
    const PIPELINE_LEN: usize = 200;
    let server = TestServer::start(4);
    let keys = Arc::new(keys_over_four_shards("counter", 8));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let mut connection = server.connection();
            let keys = keys.clone();
            std::thread::spawn(move || {
                for _ in 0..ROUNDS {
                    let mut pipeline = redis::pipe();
                    for index in 0..PIPELINE_LEN {
                        pipeline.cmd("INCR").arg(&keys[(client + index) % keys.len()]);
                    }
                    let replies: Vec<i64> = pipeline.query(&mut connection).expect("pipelined INCR");
                    assert_eq!(replies.len(), PIPELINE_LEN);
                    assert!(replies.iter().all(|&count| count >= 1));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("no client panicked");
    }
    let mut connection = server.connection();
    let per_key = (CLIENTS * ROUNDS * PIPELINE_LEN / keys.len()) as i64;
    for key in keys.iter() {
        let count = text(&mut connection, &["GET", key]).expect("every key was incremented");
        assert_eq!(count.parse::<i64>().expect("an integer"), per_key, "{key}");
    }
}
