//! The set commands through a real client: SADD, SREM, SISMEMBER,
//! SMISMEMBER, SMEMBERS, SCARD, SPOP, SRANDMEMBER, SMOVE, SINTER,
//! SINTERCARD, SINTERSTORE, SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE and SSCAN:
//! replies and errors as Redis 7.2 gives them, OBJECT ENCODING transitions,
//! RESP3 reply types, bounds on client-given counts, DUMP/RESTORE, and the
//! multi-key commands across four shards.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use common::{bulk, config_set, TestServer};
use redis::{cmd, Connection, RedisResult};
use starling_protocol::{key_slot, Frame};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// The exact error text of a reply that must be an error.
fn error_text(result: RedisResult<redis::Value>) -> String {
    let error = result.expect_err("expected an error reply");
    match error.detail() {
        Some(detail) => format!("{} {}", error.code().unwrap_or_default(), detail),
        None => error.code().unwrap_or_default().to_string(),
    }
}

fn query(connection: &mut Connection, args: &[&str]) -> RedisResult<redis::Value> {
    let mut command = cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command.query(connection)
}

fn run<T: redis::FromRedisValue>(connection: &mut Connection, args: &[&str]) -> T {
    let mut command = cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command
        .query(connection)
        .unwrap_or_else(|error| panic!("{args:?}: {error}"))
}

fn int(connection: &mut Connection, args: &[&str]) -> i64 {
    run(connection, args)
}

/// The members a set-valued reply holds, sorted.
fn members(connection: &mut Connection, args: &[&str]) -> Vec<String> {
    let mut members: Vec<String> = run(connection, args);
    members.sort();
    members
}

fn encoding(connection: &mut Connection, key: &str) -> String {
    run(connection, &["OBJECT", "ENCODING", key])
}

fn sorted(items: &[&str]) -> Vec<String> {
    let mut items: Vec<String> = items.iter().map(|item| item.to_string()).collect();
    items.sort();
    items
}

/// SADD of `members` in one command.
fn sadd(connection: &mut Connection, key: &str, members: &[String]) -> i64 {
    cmd("SADD").arg(key).arg(members).query(connection).expect("SADD")
}

fn numbered(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|index| format!("{prefix}{index}")).collect()
}

/// A key named `{prefix}:n` that lives on `shard` of `shard_count`.
fn key_on_shard(prefix: &str, shard: usize, shard_count: usize) -> String {
    (0..)
        .map(|n| format!("{prefix}:{n}"))
        .find(|key| key_slot(key.as_bytes()) as usize % shard_count == shard)
        .expect("some key lands on every shard")
}

#[test]
fn sadd_srem_scard_and_membership() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(int(&mut connection, &["SADD", "s", "a", "b", "a", "c"]), 3);
    assert_eq!(int(&mut connection, &["SADD", "s", "a", "d"]), 1);
    assert_eq!(int(&mut connection, &["SCARD", "s"]), 4);
    assert_eq!(int(&mut connection, &["SCARD", "missing"]), 0);
    assert_eq!(int(&mut connection, &["SISMEMBER", "s", "a"]), 1);
    assert_eq!(int(&mut connection, &["SISMEMBER", "s", "z"]), 0);
    assert_eq!(int(&mut connection, &["SISMEMBER", "missing", "a"]), 0);
    let flags: Vec<i64> = run(&mut connection, &["SMISMEMBER", "s", "a", "z", "d", "a"]);
    assert_eq!(flags, vec![1, 0, 1, 1]);
    let flags: Vec<i64> = run(&mut connection, &["SMISMEMBER", "missing", "a", "b"]);
    assert_eq!(flags, vec![0, 0]);
    assert_eq!(
        members(&mut connection, &["SMEMBERS", "s"]),
        sorted(&["a", "b", "c", "d"])
    );
    assert!(members(&mut connection, &["SMEMBERS", "missing"]).is_empty());

    assert_eq!(int(&mut connection, &["SREM", "s", "a", "z", "a"]), 1);
    assert_eq!(int(&mut connection, &["SREM", "missing", "a"]), 0);
    assert_eq!(int(&mut connection, &["SREM", "s", "b", "c", "d", "e"]), 3);
    assert_eq!(int(&mut connection, &["EXISTS", "s"]), 0, "an emptied set is deleted");

    // Binary-safe members, the empty one included.
    let binary: Vec<u8> = vec![0, 255, b'\r', b'\n'];
    let added: i64 = cmd("SADD")
        .arg("b")
        .arg(&binary)
        .arg("")
        .query(&mut connection)
        .expect("SADD");
    assert_eq!(added, 2);
    let is_member: i64 = cmd("SISMEMBER")
        .arg("b")
        .arg(&binary)
        .query(&mut connection)
        .expect("SISMEMBER");
    assert_eq!(is_member, 1);
    assert_eq!(int(&mut connection, &["SISMEMBER", "b", ""]), 1);

    for (command, name) in [
        (&["SADD", "s"][..], "sadd"),
        (&["SREM", "s"], "srem"),
        (&["SISMEMBER", "s"], "sismember"),
        (&["SMISMEMBER", "s"], "smismember"),
        (&["SMEMBERS"], "smembers"),
        (&["SCARD", "s", "t"], "scard"),
        (&["SPOP"], "spop"),
        (&["SRANDMEMBER"], "srandmember"),
        (&["SMOVE", "a", "b"], "smove"),
        (&["SINTER"], "sinter"),
        (&["SINTERCARD", "1"], "sintercard"),
        (&["SINTERSTORE", "d"], "sinterstore"),
        (&["SUNION"], "sunion"),
        (&["SUNIONSTORE", "d"], "sunionstore"),
        (&["SDIFF"], "sdiff"),
        (&["SDIFFSTORE", "d"], "sdiffstore"),
        (&["SSCAN", "s"], "sscan"),
    ] {
        assert_eq!(
            error_text(query(&mut connection, command)),
            format!("ERR wrong number of arguments for '{name}' command")
        );
    }
}

#[test]
fn every_command_refuses_other_types() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    let _: () = cmd("SET").arg("str").arg("v").query(&mut connection).expect("SET");
    assert_eq!(int(&mut connection, &["SADD", "set", "a"]), 1);
    for command in [
        &["SADD", "str", "a"][..],
        &["SREM", "str", "a"],
        &["SISMEMBER", "str", "a"],
        &["SMISMEMBER", "str", "a"],
        &["SMEMBERS", "str"],
        &["SCARD", "str"],
        &["SPOP", "str"],
        &["SPOP", "str", "2"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "-2"],
        &["SMOVE", "str", "set", "a"],
        &["SMOVE", "set", "str", "a"],
        &["SINTER", "set", "str"],
        &["SINTER", "missing", "str"],
        &["SINTERCARD", "2", "missing", "str"],
        &["SINTERSTORE", "dst", "missing", "str"],
        &["SUNION", "set", "str"],
        &["SUNIONSTORE", "dst", "str"],
        &["SDIFF", "missing", "str"],
        &["SDIFFSTORE", "dst", "set", "str"],
        &["SSCAN", "str", "0"],
    ] {
        assert_eq!(error_text(query(&mut connection, command)), WRONGTYPE, "{command:?}");
    }
    // SMOVE from a missing source answers 0 before looking at the destination.
    assert_eq!(int(&mut connection, &["SMOVE", "missing", "str", "a"]), 0);
    // The destination of a STORE is replaced whatever its type.
    assert_eq!(int(&mut connection, &["SUNIONSTORE", "str", "set"]), 1);
    assert_eq!(members(&mut connection, &["SMEMBERS", "str"]), sorted(&["a"]));
    assert_eq!(
        int(&mut connection, &["EXISTS", "dst"]),
        0,
        "failed commands stored nothing"
    );
}

#[test]
fn encodings_follow_redis_thresholds() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    sadd(&mut connection, "ints", &numbered("", 10));
    assert_eq!(encoding(&mut connection, "ints"), "intset");
    assert_eq!(
        int(
            &mut connection,
            &["SADD", "ints", "-9223372036854775808", "9223372036854775807"]
        ),
        2
    );
    assert_eq!(encoding(&mut connection, "ints"), "intset");
    assert_eq!(int(&mut connection, &["SADD", "ints", "abc"]), 1);
    assert_eq!(encoding(&mut connection, "ints"), "listpack");
    assert_eq!(int(&mut connection, &["SCARD", "ints"]), 13);

    // An integer-looking string that is not canonical is a string.
    assert_eq!(int(&mut connection, &["SADD", "padded", "007"]), 1);
    assert_eq!(encoding(&mut connection, "padded"), "listpack");

    sadd(&mut connection, "big-ints", &numbered("", 512));
    assert_eq!(encoding(&mut connection, "big-ints"), "intset");
    sadd(&mut connection, "big-ints", &["512".to_string()]);
    assert_eq!(encoding(&mut connection, "big-ints"), "hashtable");

    sadd(&mut connection, "strings", &numbered("m", 128));
    assert_eq!(encoding(&mut connection, "strings"), "listpack");
    sadd(&mut connection, "strings", &["m128".to_string()]);
    assert_eq!(encoding(&mut connection, "strings"), "hashtable");
    sadd(&mut connection, "one-call", &numbered("m", 129));
    assert_eq!(encoding(&mut connection, "one-call"), "hashtable");

    assert_eq!(int(&mut connection, &["SADD", "long", "a"]), 1);
    sadd(&mut connection, "long", &["x".repeat(65)]);
    assert_eq!(encoding(&mut connection, "long"), "hashtable");

    // Removing members never converts back.
    let _: i64 = cmd("SREM")
        .arg("strings")
        .arg(numbered("m", 128))
        .query(&mut connection)
        .expect("SREM");
    assert_eq!(int(&mut connection, &["SCARD", "strings"]), 1);
    assert_eq!(encoding(&mut connection, "strings"), "hashtable");

    // The thresholds are runtime configuration.
    for (name, value) in [
        ("set-max-intset-entries", "4"),
        ("set-max-listpack-entries", "3"),
        ("set-max-listpack-value", "5"),
    ] {
        config_set(&mut connection, name, value);
    }
    sadd(&mut connection, "c1", &numbered("", 4));
    assert_eq!(encoding(&mut connection, "c1"), "intset");
    sadd(&mut connection, "c1", &["4".to_string()]);
    assert_eq!(encoding(&mut connection, "c1"), "hashtable");
    sadd(&mut connection, "c2", &numbered("", 2));
    sadd(&mut connection, "c2", &["abcde".to_string()]);
    assert_eq!(encoding(&mut connection, "c2"), "listpack");
    sadd(&mut connection, "c2", &["f".to_string()]);
    assert_eq!(
        encoding(&mut connection, "c2"),
        "hashtable",
        "a fourth member exceeds 3 entries"
    );
    sadd(&mut connection, "c3", &["abcdef".to_string()]);
    assert_eq!(encoding(&mut connection, "c3"), "hashtable", "6 bytes exceed 5");
    sadd(&mut connection, "c4", &["123456".to_string()]);
    sadd(&mut connection, "c4", &["a".to_string()]);
    assert_eq!(
        encoding(&mut connection, "c4"),
        "hashtable",
        "the intset's widest integer does not fit a listpack"
    );
}

#[test]
fn spop_removes_random_members() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    for (key, contents) in [
        ("ints", numbered("", 50)),
        ("strings", numbered("s", 50)),
        ("table", numbered("t", 500)),
    ] {
        sadd(&mut connection, key, &contents);
        let everything: BTreeSet<String> = contents.iter().cloned().collect();
        let one: String = run(&mut connection, &["SPOP", key]);
        assert!(everything.contains(&one));
        assert_eq!(int(&mut connection, &["SISMEMBER", key, &one]), 0);
        let popped: Vec<String> = run(&mut connection, &["SPOP", key, "10"]);
        assert_eq!(popped.len(), 10);
        let distinct: BTreeSet<&String> = popped.iter().collect();
        assert_eq!(distinct.len(), 10, "{key}: popped members are distinct");
        let left = members(&mut connection, &["SMEMBERS", key]);
        assert_eq!(left.len(), contents.len() - 11);
        let mut together: BTreeSet<String> = left.into_iter().collect();
        together.insert(one);
        together.extend(popped);
        assert_eq!(together, everything, "{key}: popped and left members partition the set");
        // Most of the set at once, then the rest and more: the key goes.
        let most: Vec<String> = run(&mut connection, &["SPOP", key, &(contents.len() - 15).to_string()]);
        assert_eq!(most.len(), contents.len() - 15);
        assert_eq!(int(&mut connection, &["SCARD", key]), 4);
        let rest: Vec<String> = run(&mut connection, &["SPOP", key, "9223372036854775807"]);
        assert_eq!(rest.len(), 4);
        assert_eq!(int(&mut connection, &["EXISTS", key]), 0);
    }
    assert_eq!(int(&mut connection, &["SADD", "single", "x"]), 1);
    let popped: Option<String> = run(&mut connection, &["SPOP", "single"]);
    assert_eq!(popped.as_deref(), Some("x"));
    assert_eq!(int(&mut connection, &["EXISTS", "single"]), 0);
    let nothing: Option<String> = run(&mut connection, &["SPOP", "missing"]);
    assert_eq!(nothing, None);
    let none: Vec<String> = run(&mut connection, &["SPOP", "missing", "3"]);
    assert!(none.is_empty());
    assert_eq!(int(&mut connection, &["SADD", "s", "a", "b"]), 2);
    let none: Vec<String> = run(&mut connection, &["SPOP", "s", "0"]);
    assert!(none.is_empty());
    assert_eq!(int(&mut connection, &["SCARD", "s"]), 2);
    for count in ["-1", "abc", "1.5"] {
        assert_eq!(
            error_text(query(&mut connection, &["SPOP", "s", count])),
            "ERR value is out of range, must be positive"
        );
    }
    assert_eq!(
        error_text(query(&mut connection, &["SPOP", "missing", "-1"])),
        "ERR value is out of range, must be positive",
        "the count is checked before the key"
    );
    assert_eq!(
        error_text(query(&mut connection, &["SPOP", "s", "1", "2"])),
        "ERR syntax error"
    );
}

#[test]
fn spop_with_a_large_count_is_not_quadratic() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    for batch in 0..10 {
        sadd(&mut connection, "big", &numbered(&format!("member:{batch}:"), 10_000));
    }
    let started = Instant::now();
    let popped: Vec<String> = run(&mut connection, &["SPOP", "big", "50000"]);
    assert_eq!(popped.len(), 50_000);
    let most: Vec<String> = run(&mut connection, &["SPOP", "big", "49990"]);
    assert_eq!(most.len(), 49_990);
    assert_eq!(int(&mut connection, &["SCARD", "big"]), 10);
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}

#[test]
fn srandmember_returns_members_without_removing_them() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    for (key, contents) in [
        ("ints", numbered("", 50)),
        ("strings", numbered("s", 50)),
        ("table", numbered("t", 500)),
    ] {
        sadd(&mut connection, key, &contents);
        let everything: BTreeSet<String> = contents.iter().cloned().collect();
        let one: String = run(&mut connection, &["SRANDMEMBER", key]);
        assert!(everything.contains(&one));
        for count in [1, 5, 20, 49, 300] {
            let picked: Vec<String> = run(&mut connection, &["SRANDMEMBER", key, &count.to_string()]);
            assert_eq!(picked.len(), count.min(contents.len()), "{key} {count}");
            let distinct: BTreeSet<String> = picked.iter().cloned().collect();
            assert_eq!(distinct.len(), picked.len(), "{key} {count}: distinct");
            assert!(distinct.is_subset(&everything));
        }
        let whole: Vec<String> = run(&mut connection, &["SRANDMEMBER", key, "9223372036854775807"]);
        assert_eq!(whole.into_iter().collect::<BTreeSet<_>>(), everything);
        let repeated: Vec<String> = run(&mut connection, &["SRANDMEMBER", key, "-1000"]);
        assert_eq!(repeated.len(), 1000);
        assert!(repeated.iter().all(|member| everything.contains(member)));
        let distinct: BTreeSet<&String> = repeated.iter().collect();
        assert!(distinct.len() < 1000, "a negative count repeats members");
        assert_eq!(int(&mut connection, &["SCARD", key]), contents.len() as i64);
    }
    let nothing: Option<String> = run(&mut connection, &["SRANDMEMBER", "missing"]);
    assert_eq!(nothing, None);
    for count in ["5", "-5", "0"] {
        let none: Vec<String> = run(&mut connection, &["SRANDMEMBER", "missing", count]);
        assert!(none.is_empty());
    }
    let none: Vec<String> = run(&mut connection, &["SRANDMEMBER", "ints", "0"]);
    assert!(none.is_empty());
    assert_eq!(
        error_text(query(&mut connection, &["SRANDMEMBER", "ints", "abc"])),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error_text(query(&mut connection, &["SRANDMEMBER", "ints", "1", "2"])),
        "ERR syntax error"
    );
}

#[test]
fn srandmember_is_uniform_over_a_hashtable() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    sadd(&mut connection, "table", &numbered("t", 200));
    assert_eq!(encoding(&mut connection, "table"), "hashtable");
    let draws = 100_000;
    let picked: Vec<String> = run(&mut connection, &["SRANDMEMBER", "table", &format!("-{draws}")]);
    let mut counts: HashMap<String, u64> = HashMap::new();
    for member in picked {
        *counts.entry(member).or_default() += 1;
    }
    assert_eq!(counts.len(), 200);
    // Chi-squared with 199 degrees of freedom: a fair picker stays far below
    // 300; one biased by chain length lands in the thousands.
    let expected = draws as f64 / 200.0;
    let chi_squared: f64 = counts
        .values()
        .map(|&count| (count as f64 - expected).powi(2) / expected)
        .sum();
    assert!(chi_squared < 300.0, "chi squared {chi_squared}");
}

#[test]
fn srandmember_never_builds_more_than_a_reply_can_hold() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    sadd(&mut connection, "s", &numbered("member:", 3));
    sadd(&mut connection, "table", &numbered("member:", 300));
    assert_eq!(
        error_text(query(&mut connection, &["SRANDMEMBER", "s", "-9223372036854775808"])),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
    assert_eq!(
        error_text(query(
            &mut connection,
            &["SRANDMEMBER", "missing", "-9223372036854775808"]
        )),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        "the count is checked before the key"
    );
    let started = Instant::now();
    for key in ["s", "table"] {
        assert_eq!(
            error_text(query(&mut connection, &["SRANDMEMBER", key, "-9223372036854775807"])),
            "ERR value is out of range, the reply would exceed proto-max-bulk-len"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(1), "refused without building");
    let pong: String = run(&mut connection, &["PING"]);
    assert_eq!(pong, "PONG");

    // With a client output buffer limit, the reply stops at that limit.
    config_set(&mut connection, "client-output-buffer-limit", "normal 65536 0 0");
    let fits: Vec<String> = run(&mut connection, &["SRANDMEMBER", "table", "-1000"]);
    assert_eq!(fits.len(), 1000);
    for count in ["-5000", "-20000"] {
        assert_eq!(
            error_text(query(&mut connection, &["SRANDMEMBER", "table", count])),
            "ERR value is out of range, the reply would exceed client-output-buffer-limit",
            "{count}"
        );
    }
    assert_eq!(int(&mut connection, &["SCARD", "table"]), 300);
}

#[test]
fn smove_moves_one_member() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(int(&mut connection, &["SADD", "src", "a", "b", "1"]), 3);
    assert_eq!(int(&mut connection, &["SMOVE", "src", "dst", "a"]), 1);
    assert_eq!(members(&mut connection, &["SMEMBERS", "dst"]), sorted(&["a"]));
    assert_eq!(encoding(&mut connection, "dst"), "listpack");
    assert_eq!(int(&mut connection, &["SMOVE", "src", "ints", "1"]), 1);
    assert_eq!(encoding(&mut connection, "ints"), "intset");
    assert_eq!(int(&mut connection, &["SMOVE", "src", "dst", "missing-member"]), 0);
    assert_eq!(int(&mut connection, &["SMOVE", "missing", "dst", "a"]), 0);
    assert_eq!(int(&mut connection, &["SADD", "dst", "b"]), 1);
    assert_eq!(
        int(&mut connection, &["SMOVE", "src", "dst", "b"]),
        1,
        "already in the destination"
    );
    assert_eq!(
        int(&mut connection, &["EXISTS", "src"]),
        0,
        "an emptied source is deleted"
    );
    assert_eq!(members(&mut connection, &["SMEMBERS", "dst"]), sorted(&["a", "b"]));
    assert_eq!(
        int(&mut connection, &["SMOVE", "dst", "dst", "a"]),
        1,
        "same key, member present"
    );
    assert_eq!(
        int(&mut connection, &["SMOVE", "dst", "dst", "z"]),
        0,
        "same key, member absent"
    );
    assert_eq!(int(&mut connection, &["SCARD", "dst"]), 2);
}

#[test]
fn intersections() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(int(&mut connection, &["SADD", "a", "1", "2", "3", "4", "x"]), 5);
    assert_eq!(int(&mut connection, &["SADD", "b", "2", "3", "4", "5", "x"]), 5);
    assert_eq!(int(&mut connection, &["SADD", "c", "3", "4", "x", "y"]), 4);
    assert_eq!(
        members(&mut connection, &["SINTER", "a", "b", "c"]),
        sorted(&["3", "4", "x"])
    );
    assert_eq!(
        members(&mut connection, &["SINTER", "a", "a"]),
        sorted(&["1", "2", "3", "4", "x"])
    );
    assert_eq!(
        members(&mut connection, &["SINTER", "c"]),
        sorted(&["3", "4", "x", "y"])
    );
    assert!(members(&mut connection, &["SINTER", "a", "missing"]).is_empty());
    assert_eq!(int(&mut connection, &["SINTERCARD", "3", "a", "b", "c"]), 3);
    assert_eq!(
        int(&mut connection, &["SINTERCARD", "3", "a", "b", "c", "LIMIT", "2"]),
        2
    );
    assert_eq!(
        int(&mut connection, &["SINTERCARD", "3", "a", "b", "c", "limit", "0"]),
        3
    );
    assert_eq!(int(&mut connection, &["SINTERCARD", "2", "a", "missing"]), 0);
    assert_eq!(
        int(&mut connection, &["SINTERCARD", "1", "a", "LIMIT", "10", "LIMIT", "1"]),
        1
    );
    for (command, error) in [
        (&["SINTERCARD", "0", "a"][..], "ERR numkeys should be greater than 0"),
        (&["SINTERCARD", "-1", "a"], "ERR numkeys should be greater than 0"),
        (&["SINTERCARD", "abc", "a"], "ERR numkeys should be greater than 0"),
        (
            &["SINTERCARD", "3", "a", "b"],
            "ERR Number of keys can't be greater than number of args",
        ),
        (&["SINTERCARD", "1", "a", "LIMIT", "-1"], "ERR LIMIT can't be negative"),
        (&["SINTERCARD", "1", "a", "LIMIT", "abc"], "ERR LIMIT can't be negative"),
        (&["SINTERCARD", "1", "a", "LIMIT"], "ERR syntax error"),
        (&["SINTERCARD", "1", "a", "b"], "ERR syntax error"),
    ] {
        assert_eq!(error_text(query(&mut connection, command)), error, "{command:?}");
    }

    assert_eq!(int(&mut connection, &["SINTERSTORE", "dst", "a", "b", "c"]), 3);
    assert_eq!(members(&mut connection, &["SMEMBERS", "dst"]), sorted(&["3", "4", "x"]));
    assert_eq!(encoding(&mut connection, "dst"), "listpack");
    assert_eq!(int(&mut connection, &["SINTERSTORE", "ints", "a", "b"]), 4);
    assert_eq!(int(&mut connection, &["SREM", "ints", "x"]), 1);
    assert_eq!(int(&mut connection, &["SINTERSTORE", "ints", "ints", "a"]), 3);
    assert_eq!(
        encoding(&mut connection, "ints"),
        "intset",
        "an all-integer result is an intset"
    );
    // The destination loses its TTL, and an empty result deletes it.
    assert_eq!(int(&mut connection, &["EXPIRE", "dst", "100"]), 1);
    assert_eq!(int(&mut connection, &["SINTERSTORE", "dst", "a", "b"]), 4);
    assert_eq!(int(&mut connection, &["TTL", "dst"]), -1);
    assert_eq!(int(&mut connection, &["SINTERSTORE", "dst", "a", "missing"]), 0);
    assert_eq!(int(&mut connection, &["EXISTS", "dst"]), 0);
    assert_eq!(int(&mut connection, &["SADD", "y-only", "y"]), 1);
    assert_eq!(int(&mut connection, &["SINTERSTORE", "a", "a", "y-only"]), 0);
    assert_eq!(
        int(&mut connection, &["EXISTS", "a"]),
        0,
        "the destination may be a source"
    );
}

#[test]
fn large_intersections_convert_their_result() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    sadd(&mut connection, "a", &numbered("m", 300));
    sadd(&mut connection, "b", &numbered("m", 200));
    assert_eq!(int(&mut connection, &["SINTERSTORE", "dst", "a", "b"]), 200);
    assert_eq!(encoding(&mut connection, "dst"), "hashtable");
    sadd(&mut connection, "ints-a", &numbered("", 700));
    let from_300: Vec<String> = (300..1000).map(|value| value.to_string()).collect();
    sadd(&mut connection, "ints-b", &from_300);
    assert_eq!(encoding(&mut connection, "ints-b"), "hashtable");
    assert_eq!(int(&mut connection, &["SINTERSTORE", "ints", "ints-a", "ints-b"]), 400);
    assert_eq!(
        encoding(&mut connection, "ints"),
        "intset",
        "integers common to two hashtables end in an intset"
    );
    assert_eq!(
        int(
            &mut connection,
            &["SINTERCARD", "2", "ints-a", "ints-b", "LIMIT", "150"]
        ),
        150
    );
    sadd(&mut connection, "small-ints", &numbered("", 10));
    assert_eq!(
        int(&mut connection, &["SINTERSTORE", "ints", "small-ints", "ints-a"]),
        10
    );
    assert_eq!(encoding(&mut connection, "ints"), "intset");
}

#[test]
fn unions_and_differences() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(int(&mut connection, &["SADD", "a", "1", "2", "3", "x"]), 4);
    assert_eq!(int(&mut connection, &["SADD", "b", "3", "4"]), 2);
    assert_eq!(int(&mut connection, &["SADD", "c", "x", "5"]), 2);
    assert_eq!(
        members(&mut connection, &["SUNION", "a", "b", "missing", "c"]),
        sorted(&["1", "2", "3", "4", "5", "x"])
    );
    assert!(members(&mut connection, &["SUNION", "missing"]).is_empty());
    assert_eq!(members(&mut connection, &["SDIFF", "a", "b", "c"]), sorted(&["1", "2"]));
    assert_eq!(
        members(&mut connection, &["SDIFF", "a", "missing"]),
        sorted(&["1", "2", "3", "x"])
    );
    assert!(members(&mut connection, &["SDIFF", "missing", "a"]).is_empty());
    assert!(
        members(&mut connection, &["SDIFF", "a", "b", "a"]).is_empty(),
        "a set minus itself"
    );

    assert_eq!(int(&mut connection, &["SUNIONSTORE", "u", "b", "c"]), 4);
    assert_eq!(
        members(&mut connection, &["SMEMBERS", "u"]),
        sorted(&["3", "4", "5", "x"])
    );
    assert_eq!(encoding(&mut connection, "u"), "listpack");
    assert_eq!(int(&mut connection, &["SUNIONSTORE", "n", "b"]), 2);
    assert_eq!(encoding(&mut connection, "n"), "intset");
    assert_eq!(int(&mut connection, &["SDIFFSTORE", "d", "a", "b"]), 3);
    assert_eq!(members(&mut connection, &["SMEMBERS", "d"]), sorted(&["1", "2", "x"]));
    assert_eq!(int(&mut connection, &["SDIFFSTORE", "d", "a", "a"]), 0);
    assert_eq!(
        int(&mut connection, &["EXISTS", "d"]),
        0,
        "an empty difference deletes the destination"
    );
    assert_eq!(int(&mut connection, &["SUNIONSTORE", "u", "missing"]), 0);
    assert_eq!(int(&mut connection, &["EXISTS", "u"]), 0);
    // The destination may be one of the sources.
    assert_eq!(int(&mut connection, &["SUNIONSTORE", "a", "a", "b"]), 5);
    assert_eq!(
        members(&mut connection, &["SMEMBERS", "a"]),
        sorted(&["1", "2", "3", "4", "x"])
    );
    assert_eq!(int(&mut connection, &["SDIFFSTORE", "a", "a", "c"]), 4);
    assert_eq!(
        members(&mut connection, &["SMEMBERS", "a"]),
        sorted(&["1", "2", "3", "4"])
    );
    // Large inputs: both difference strategies, and a hashtable result.
    sadd(&mut connection, "big", &numbered("m", 1000));
    sadd(&mut connection, "small", &numbered("m", 10));
    assert_eq!(int(&mut connection, &["SDIFFSTORE", "d", "big", "small"]), 990);
    assert_eq!(encoding(&mut connection, "d"), "hashtable");
    assert_eq!(int(&mut connection, &["SDIFFSTORE", "d", "small", "big"]), 0);
    sadd(&mut connection, "small2", &numbered("m", 20));
    sadd(&mut connection, "small3", &numbered("m", 30));
    assert_eq!(
        int(
            &mut connection,
            &["SDIFFSTORE", "d", "big", "small", "small2", "small3"]
        ),
        970
    );
    assert_eq!(int(&mut connection, &["SISMEMBER", "d", "m30"]), 1);
    assert_eq!(int(&mut connection, &["SISMEMBER", "d", "m29"]), 0);
    assert_eq!(int(&mut connection, &["SUNIONSTORE", "d", "small", "big"]), 1000);
}

#[test]
fn sscan_iterates_every_member() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    assert_eq!(int(&mut connection, &["SADD", "small", "a", "b", "ab"]), 3);
    let (cursor, found): (String, Vec<String>) = run(&mut connection, &["SSCAN", "small", "0"]);
    assert_eq!(cursor, "0");
    assert_eq!(
        sorted(&found.iter().map(String::as_str).collect::<Vec<_>>()),
        sorted(&["a", "b", "ab"])
    );
    let (cursor, found): (String, Vec<String>) =
        run(&mut connection, &["SSCAN", "small", "0", "MATCH", "a*", "COUNT", "1"]);
    assert_eq!(cursor, "0", "a compact set is scanned in one call");
    assert_eq!(
        sorted(&found.iter().map(String::as_str).collect::<Vec<_>>()),
        sorted(&["a", "ab"])
    );
    sadd(&mut connection, "ints", &numbered("", 20));
    let (_, found): (String, Vec<String>) = run(&mut connection, &["SSCAN", "ints", "0", "MATCH", "1?"]);
    assert_eq!(found.len(), 10);
    let (cursor, found): (String, Vec<String>) = run(&mut connection, &["SSCAN", "missing", "0", "COUNT", "0"]);
    assert_eq!(
        (cursor.as_str(), found.len()),
        ("0", 0),
        "options are not read for a missing key"
    );

    // A hashtable is scanned in steps, and every member present for the whole
    // scan is returned even while members are added.
    let original = numbered("m", 1000);
    sadd(&mut connection, "big", &original);
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let (next, found): (String, Vec<String>) = run(&mut connection, &["SSCAN", "big", &cursor, "COUNT", "50"]);
        assert!(found.len() < 500, "COUNT bounds each call");
        seen.extend(found);
        calls += 1;
        if calls == 3 {
            sadd(&mut connection, "big", &numbered("added", 5000));
        }
        cursor = next;
        if cursor == "0" {
            break;
        }
        assert!(calls < 10_000);
    }
    assert!(calls > 3);
    assert!(original.iter().all(|member| seen.contains(member)));
    let mut matched = BTreeSet::new();
    let mut cursor = "0".to_string();
    loop {
        let (next, found): (String, Vec<String>) = run(
            &mut connection,
            &["SSCAN", "big", &cursor, "MATCH", "m99*", "COUNT", "100"],
        );
        matched.extend(found);
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(matched.len(), 11, "m99 and m990..m999");

    for (command, error) in [
        (&["SSCAN", "big", "abc"][..], "ERR invalid cursor"),
        (&["SSCAN", "missing", "abc"], "ERR invalid cursor"),
        (&["SSCAN", "big", "0", "COUNT", "0"], "ERR syntax error"),
        (
            &["SSCAN", "big", "0", "COUNT", "abc"],
            "ERR value is not an integer or out of range",
        ),
        (&["SSCAN", "big", "0", "COUNT"], "ERR syntax error"),
        (&["SSCAN", "big", "0", "TYPE", "set"], "ERR syntax error"),
        (&["SSCAN", "big", "0", "NOVALUES"], "ERR syntax error"),
    ] {
        assert_eq!(error_text(query(&mut connection, command)), error, "{command:?}");
    }
}

#[test]
fn resp3_replies_use_sets_where_redis_does() {
    let server = TestServer::start(1);
    let mut raw = server.raw();
    let _ = raw.command(&[b"SADD", b"s", b"a", b"b"]);
    let _ = raw.command(&[b"HELLO", b"3"]);
    for command in [
        &[&b"SMEMBERS"[..], b"s"][..],
        &[b"SINTER", b"s", b"s"],
        &[b"SUNION", b"s"],
        &[b"SDIFF", b"s"],
        &[b"SMEMBERS", b"missing"],
        &[b"SPOP", b"missing", b"2"],
        &[b"SPOP", b"s", b"0"],
    ] {
        let reply = raw.command(command);
        assert!(matches!(reply, Frame::Set(_)), "{command:?}: {reply:?}");
    }
    assert_eq!(raw.command(&[b"SPOP", b"missing"]), Frame::Null);
    assert_eq!(raw.command(&[b"SRANDMEMBER", b"missing"]), Frame::Null);
    let reply = raw.command(&[b"SRANDMEMBER", b"s", b"5"]);
    assert!(
        matches!(&reply, Frame::Array(members) if members.len() == 2),
        "{reply:?}"
    );
    assert_eq!(
        raw.command(&[b"SRANDMEMBER", b"missing", b"5"]),
        Frame::Array(Vec::new())
    );
    let popped = raw.command(&[b"SPOP", b"s", b"1"]);
    assert!(
        matches!(&popped, Frame::Set(members) if members.len() == 1),
        "{popped:?}"
    );
    assert_eq!(
        raw.command(&[b"SSCAN", b"missing", b"0"]),
        Frame::Array(vec![bulk("0"), Frame::Array(Vec::new())])
    );
}

#[test]
fn dump_restore_and_copy_keep_the_set() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    sadd(&mut connection, "ints", &numbered("", 20));
    sadd(&mut connection, "strings", &numbered("s", 20));
    sadd(&mut connection, "table", &numbered("t", 300));
    for key in ["ints", "strings", "table"] {
        let payload: Vec<u8> = cmd("DUMP").arg(key).query(&mut connection).expect("DUMP");
        let restored = format!("{key}-restored");
        let _: () = cmd("RESTORE")
            .arg(&restored)
            .arg(0)
            .arg(&payload)
            .query(&mut connection)
            .expect("RESTORE");
        assert_eq!(
            members(&mut connection, &["SMEMBERS", &restored]),
            members(&mut connection, &["SMEMBERS", key])
        );
        assert_eq!(encoding(&mut connection, &restored), encoding(&mut connection, key));
        assert_eq!(run::<String>(&mut connection, &["TYPE", &restored]), "set");
        let copy = format!("{key}-copy");
        assert_eq!(int(&mut connection, &["COPY", key, &copy]), 1);
        assert_eq!(int(&mut connection, &["SREM", &copy, "0", "s0", "t0"]), 1);
        assert_eq!(
            int(&mut connection, &["SCARD", key]),
            int(&mut connection, &["SCARD", &copy]) + 1
        );
    }
}

#[test]
fn multi_key_commands_work_across_four_shards() {
    let server = TestServer::start(4);
    let mut connection = server.connection();
    let keys: Vec<String> = (0..4).map(|shard| key_on_shard("set", shard, 4)).collect();
    let [a, b, c, d] = [&keys[0], &keys[1], &keys[2], &keys[3]].map(String::as_str);
    assert_eq!(int(&mut connection, &["SADD", a, "1", "2", "3", "x"]), 4);
    assert_eq!(int(&mut connection, &["SADD", b, "2", "3", "4", "x"]), 4);
    assert_eq!(int(&mut connection, &["SADD", c, "3", "x", "y"]), 3);

    assert_eq!(members(&mut connection, &["SINTER", a, b, c]), sorted(&["3", "x"]));
    assert_eq!(int(&mut connection, &["SINTERCARD", "3", a, b, c]), 2);
    assert_eq!(int(&mut connection, &["SINTERCARD", "3", a, b, c, "LIMIT", "1"]), 1);
    assert_eq!(
        members(&mut connection, &["SUNION", a, b, c, d]),
        sorted(&["1", "2", "3", "4", "x", "y"])
    );
    assert_eq!(members(&mut connection, &["SDIFF", a, b, c]), sorted(&["1"]));
    assert_eq!(
        error_text(query(&mut connection, &["SINTERCARD", "5", a, b])),
        "ERR Number of keys can't be greater than number of args"
    );

    assert_eq!(int(&mut connection, &["SINTERSTORE", d, a, b]), 3);
    assert_eq!(members(&mut connection, &["SMEMBERS", d]), sorted(&["2", "3", "x"]));
    // Destination among the sources, on another shard than the others.
    assert_eq!(int(&mut connection, &["SINTERSTORE", d, d, c]), 2);
    assert_eq!(members(&mut connection, &["SMEMBERS", d]), sorted(&["3", "x"]));
    assert_eq!(int(&mut connection, &["SUNIONSTORE", a, a, c]), 5);
    assert_eq!(
        members(&mut connection, &["SMEMBERS", a]),
        sorted(&["1", "2", "3", "x", "y"])
    );
    assert_eq!(int(&mut connection, &["SDIFFSTORE", b, b, a]), 1);
    assert_eq!(members(&mut connection, &["SMEMBERS", b]), sorted(&["4"]));
    assert_eq!(int(&mut connection, &["SDIFFSTORE", b, b, b]), 0);
    assert_eq!(int(&mut connection, &["EXISTS", b]), 0);
    assert_eq!(
        int(&mut connection, &["SINTERSTORE", c, c, b]),
        0,
        "a missing source empties the result"
    );
    assert_eq!(int(&mut connection, &["EXISTS", c]), 0);

    assert_eq!(int(&mut connection, &["SMOVE", a, b, "y"]), 1);
    assert_eq!(members(&mut connection, &["SMEMBERS", b]), sorted(&["y"]));
    assert_eq!(int(&mut connection, &["SISMEMBER", a, "y"]), 0);
    assert_eq!(int(&mut connection, &["SMOVE", d, c, "3"]), 1);
    assert_eq!(encoding(&mut connection, c), "intset", "created for an integer");
    assert_eq!(int(&mut connection, &["SMOVE", d, c, "x"]), 1);
    assert_eq!(encoding(&mut connection, c), "listpack");
    assert_eq!(
        int(&mut connection, &["EXISTS", d]),
        0,
        "an emptied source is deleted across shards"
    );
    assert_eq!(members(&mut connection, &["SMEMBERS", c]), sorted(&["3", "x"]));
    let _: () = cmd("SET").arg(d).arg("string").query(&mut connection).expect("SET");
    assert_eq!(error_text(query(&mut connection, &["SMOVE", a, d, "1"])), WRONGTYPE);
    assert_eq!(error_text(query(&mut connection, &["SUNION", a, d])), WRONGTYPE);
    assert_eq!(
        int(&mut connection, &["SISMEMBER", a, "1"]),
        1,
        "a failed move changes nothing"
    );
}
