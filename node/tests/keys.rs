//! The generic key commands through a real client: DEL, UNLINK, EXISTS,
//! TOUCH, TYPE, the EXPIRE and TTL families, PERSIST, RENAME, RENAMENX, COPY,
//! KEYS, SCAN, RANDOMKEY, OBJECT, DUMP and RESTORE, on one shard and on four
//! (where multi-key commands and renames cross shards).

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{config_set, key_on_shard, TestServer};
use redis::{cmd, Connection, RedisResult};
use starling_node::shard::ShardRouter;

const SHARD_COUNTS: [usize; 2] = [1, 4];

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

fn int(connection: &mut Connection, args: &[&str]) -> i64 {
    let mut command = cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command
        .query(connection)
        .unwrap_or_else(|error| panic!("{args:?}: {error}"))
}

fn text(connection: &mut Connection, args: &[&str]) -> Option<String> {
    let mut command = cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command
        .query(connection)
        .unwrap_or_else(|error| panic!("{args:?}: {error}"))
}

fn set(connection: &mut Connection, key: &str, value: &str) {
    let _: () = cmd("SET").arg(key).arg(value).query(connection).expect("SET");
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

/// Keys stored on every shard, counting expired keys not yet collected: a
/// view no command gives, because every command hides or deletes expired keys.
fn stored_key_count(server: &TestServer) -> usize {
    let router = ShardRouter::for_current_thread(server.handle.context().shards.clone());
    let counts = futures::executor::block_on(router.run_on_all(|core| core.keyspace.len())).expect("shards answer");
    counts.into_iter().sum()
}

#[test]
fn del_unlink_exists_and_touch_count_keys() {
    for shards in SHARD_COUNTS {
        let server = TestServer::start(shards);
        let mut connection = server.connection();
        for key in ["a", "b", "c", "d"] {
            set(&mut connection, key, "v");
        }
        assert_eq!(int(&mut connection, &["EXISTS", "a"]), 1);
        assert_eq!(
            int(&mut connection, &["EXISTS", "a", "a", "b", "missing"]),
            3,
            "duplicates count"
        );
        assert_eq!(int(&mut connection, &["TOUCH", "a", "a", "missing"]), 2);
        assert_eq!(
            int(&mut connection, &["DEL", "a", "missing", "a"]),
            1,
            "a key named twice is deleted once"
        );
        assert_eq!(int(&mut connection, &["EXISTS", "a"]), 0);
        assert_eq!(int(&mut connection, &["UNLINK", "b", "c", "b"]), 2);
        assert_eq!(int(&mut connection, &["DEL", "missing"]), 0);
        assert_eq!(int(&mut connection, &["EXISTS", "b", "c", "d"]), 1);
        for command in ["DEL", "UNLINK", "EXISTS", "TOUCH"] {
            assert_eq!(
                error_text(query(&mut connection, &[command])),
                format!("ERR wrong number of arguments for '{}' command", command.to_lowercase())
            );
        }
    }
}

/// `command`, then every key, then `extra`.
fn with_keys<'a>(command: &'a str, keys: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    [&[command][..], keys, extra].concat()
}

#[test]
fn multi_key_commands_work_across_shards() {
    let server = TestServer::start(4);
    let mut connection = server.connection();
    let keys: Vec<String> = (0..4).map(|shard| key_on_shard("multi", shard, 4)).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    for key in &keys {
        set(&mut connection, key, "v");
    }
    assert_eq!(
        int(&mut connection, &with_keys("EXISTS", &keys, &[keys[0], "missing"])),
        5
    );
    assert_eq!(int(&mut connection, &with_keys("TOUCH", &keys, &["missing"])), 4);
    assert_eq!(int(&mut connection, &["DEL", keys[0], keys[1], keys[0]]), 2);
    assert_eq!(int(&mut connection, &with_keys("EXISTS", &keys, &[])), 2);
    assert_eq!(int(&mut connection, &with_keys("UNLINK", &keys, &[])), 2);
    assert_eq!(int(&mut connection, &with_keys("EXISTS", &keys, &[])), 0);
}

#[test]
fn cross_shard_del_and_exists_are_atomic() {
    // Key i (on shard i) is named 2^i times in the reader's EXISTS, so the
    // count is a bitmask of which keys exist. The writer creates the keys in
    // order and deletes them with one DEL, so an atomic EXISTS can only see
    // "the first n keys": 0, 1, 3, 7 or 15. A DEL (or EXISTS) that is not
    // atomic across shards shows other masks, such as 14 (key 0 gone first).
    let server = TestServer::start(4);
    let keys: Vec<String> = (0..4).map(|shard| key_on_shard("atomic", shard, 4)).collect();
    let weighted: Vec<&String> = keys
        .iter()
        .enumerate()
        .flat_map(|(index, key)| vec![key; 1 << index])
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (stop, mut connection) = (stop.clone(), server.connection());
        let weighted: Vec<String> = weighted.into_iter().cloned().collect();
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(Ordering::Relaxed) {
                let mask: i64 = cmd("EXISTS").arg(&weighted).query(&mut connection).expect("EXISTS");
                assert!([0, 1, 3, 7, 15].contains(&mask), "torn view: mask {mask}");
                reads += 1;
            }
            reads
        })
    };
    let mut connection = server.connection();
    for _ in 0..200 {
        for key in &keys {
            set(&mut connection, key, "v");
        }
        let deleted: i64 = cmd("DEL").arg(&keys).query(&mut connection).expect("DEL");
        assert_eq!(deleted, keys.len() as i64);
    }
    stop.store(true, Ordering::Relaxed);
    assert!(reader.join().expect("reader thread") > 0);
}

#[test]
fn type_names_the_value_type() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    set(&mut connection, "s", "v");
    assert_eq!(text(&mut connection, &["TYPE", "s"]).as_deref(), Some("string"));
    assert_eq!(text(&mut connection, &["TYPE", "missing"]).as_deref(), Some("none"));
    assert_eq!(
        error_text(query(&mut connection, &["TYPE", "a", "b"])),
        "ERR wrong number of arguments for 'type' command"
    );
}

#[test]
fn expire_sets_and_reports_ttls() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    set(&mut connection, "k", "v");
    assert_eq!(int(&mut connection, &["TTL", "k"]), -1);
    assert_eq!(int(&mut connection, &["PTTL", "k"]), -1);
    assert_eq!(int(&mut connection, &["EXPIRETIME", "k"]), -1);
    assert_eq!(int(&mut connection, &["PEXPIRETIME", "k"]), -1);
    assert_eq!(int(&mut connection, &["TTL", "missing"]), -2);
    assert_eq!(int(&mut connection, &["PTTL", "missing"]), -2);
    assert_eq!(int(&mut connection, &["EXPIRETIME", "missing"]), -2);
    assert_eq!(int(&mut connection, &["PEXPIRETIME", "missing"]), -2);

    assert_eq!(int(&mut connection, &["EXPIRE", "k", "100"]), 1);
    assert_eq!(int(&mut connection, &["TTL", "k"]), 100);
    let pttl = int(&mut connection, &["PTTL", "k"]);
    assert!((99_000..=100_000).contains(&pttl), "{pttl}");

    assert_eq!(int(&mut connection, &["PEXPIRE", "k", "50500"]), 1);
    let ttl = int(&mut connection, &["TTL", "k"]);
    assert!((50..=51).contains(&ttl), "TTL rounds to the nearest second: {ttl}");

    assert_eq!(int(&mut connection, &["EXPIREAT", "k", "4000000000"]), 1);
    assert_eq!(int(&mut connection, &["EXPIRETIME", "k"]), 4_000_000_000);
    assert_eq!(int(&mut connection, &["PEXPIRETIME", "k"]), 4_000_000_000_000);
    assert_eq!(int(&mut connection, &["PEXPIREAT", "k", "4000000000499"]), 1);
    assert_eq!(int(&mut connection, &["EXPIRETIME", "k"]), 4_000_000_000);
    assert_eq!(int(&mut connection, &["PEXPIREAT", "k", "4000000000500"]), 1);
    assert_eq!(
        int(&mut connection, &["EXPIRETIME", "k"]),
        4_000_000_001,
        "rounded half up"
    );
    assert_eq!(int(&mut connection, &["PEXPIRETIME", "k"]), 4_000_000_000_500);

    // The largest deadline is accepted and reported exactly.
    assert_eq!(int(&mut connection, &["PEXPIREAT", "k", "9223372036854775807"]), 1);
    assert_eq!(int(&mut connection, &["PEXPIRETIME", "k"]), i64::MAX);
    assert_eq!(int(&mut connection, &["EXPIRETIME", "k"]), 9_223_372_036_854_776);

    assert_eq!(int(&mut connection, &["PERSIST", "k"]), 1);
    assert_eq!(int(&mut connection, &["PERSIST", "k"]), 0);
    assert_eq!(int(&mut connection, &["PERSIST", "missing"]), 0);
    assert_eq!(int(&mut connection, &["TTL", "k"]), -1);
    assert_eq!(int(&mut connection, &["EXPIRE", "missing", "10"]), 0);
    assert_eq!(
        int(&mut connection, &["EXISTS", "missing"]),
        0,
        "EXPIRE does not create keys"
    );
}

#[test]
fn expire_in_the_past_deletes_the_key() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    for args in [
        &["EXPIRE", "k", "-1"][..],
        &["PEXPIRE", "k", "0"],
        &["EXPIREAT", "k", "1"],
        &["PEXPIREAT", "k", "1000"],
        &["EXPIRE", "k", "-9223372036854775"],
        &["EXPIRE", "k", "-5", "NX"],
    ] {
        set(&mut connection, "k", "v");
        assert_eq!(int(&mut connection, args), 1, "{args:?}");
        assert_eq!(int(&mut connection, &["EXISTS", "k"]), 0, "{args:?}");
    }
}

#[test]
fn expire_options_follow_redis() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    set(&mut connection, "k", "v");
    // NX: only without a TTL. XX: only with one.
    assert_eq!(int(&mut connection, &["EXPIRE", "k", "100", "XX"]), 0);
    assert_eq!(int(&mut connection, &["EXPIRE", "k", "100", "nx"]), 1);
    assert_eq!(int(&mut connection, &["EXPIRE", "k", "200", "NX"]), 0);
    assert_eq!(int(&mut connection, &["EXPIRE", "k", "200", "xx"]), 1);
    assert_eq!(int(&mut connection, &["TTL", "k"]), 200);
    // GT / LT compare deadlines; no TTL counts as infinite.
    assert_eq!(int(&mut connection, &["EXPIRE", "k", "150", "GT"]), 0);
    assert_eq!(int(&mut connection, &["EXPIRE", "k", "300", "gt"]), 1);
    assert_eq!(int(&mut connection, &["EXPIRE", "k", "400", "LT"]), 0);
    assert_eq!(int(&mut connection, &["EXPIRE", "k", "50", "lt"]), 1);
    assert_eq!(int(&mut connection, &["TTL", "k"]), 50);
    assert_eq!(int(&mut connection, &["PEXPIRE", "k", "60000", "XX", "GT"]), 1);
    assert_eq!(int(&mut connection, &["TTL", "k"]), 60);
    int(&mut connection, &["PERSIST", "k"]);
    assert_eq!(int(&mut connection, &["EXPIRE", "k", "100", "GT"]), 0);
    assert_eq!(int(&mut connection, &["EXPIRE", "k", "100", "XX", "LT"]), 0);
    assert_eq!(int(&mut connection, &["EXPIRE", "k", "100", "LT"]), 1);
    assert_eq!(int(&mut connection, &["EXPIREAT", "k", "4000000000", "GT"]), 1);
    assert_eq!(int(&mut connection, &["PEXPIREAT", "k", "3000000000000", "LT"]), 1);
    assert_eq!(int(&mut connection, &["EXPIRETIME", "k"]), 3_000_000_000);

    let nx_conflict = "ERR NX and XX, GT or LT options at the same time are not compatible";
    assert_eq!(
        error_text(query(&mut connection, &["EXPIRE", "k", "1", "NX", "XX"])),
        nx_conflict
    );
    assert_eq!(
        error_text(query(&mut connection, &["PEXPIRE", "k", "1", "GT", "NX"])),
        nx_conflict
    );
    assert_eq!(
        error_text(query(&mut connection, &["EXPIREAT", "k", "1", "nx", "lt"])),
        nx_conflict
    );
    assert_eq!(
        error_text(query(&mut connection, &["PEXPIREAT", "k", "1", "GT", "LT"])),
        "ERR GT and LT options at the same time are not compatible"
    );
    assert_eq!(
        error_text(query(&mut connection, &["EXPIRE", "k", "1", "foo"])),
        "ERR Unsupported option foo"
    );
    // Options are checked before the time argument.
    assert_eq!(
        error_text(query(&mut connection, &["EXPIRE", "k", "abc", "foo"])),
        "ERR Unsupported option foo"
    );
    assert_eq!(
        error_text(query(&mut connection, &["EXPIRE", "k", "abc"])),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error_text(query(&mut connection, &["EXPIRE", "k"])),
        "ERR wrong number of arguments for 'expire' command"
    );
    assert_eq!(
        int(&mut connection, &["EXPIRETIME", "k"]),
        3_000_000_000,
        "failed commands change nothing"
    );
}

#[test]
fn expire_times_that_overflow_are_refused() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    set(&mut connection, "k", "v");
    for (command, time) in [
        ("EXPIRE", "9223372036854775807"),
        ("EXPIRE", "9223372036854775"),
        ("EXPIRE", "-9223372036854776"),
        ("PEXPIRE", "9223372036854775807"),
        ("EXPIREAT", "9223372036854776"),
    ] {
        assert_eq!(
            error_text(query(&mut connection, &[command, "k", time])),
            format!("ERR invalid expire time in '{}' command", command.to_lowercase())
        );
    }
    // Redis computes the deadline before looking the key up.
    assert_eq!(
        error_text(query(&mut connection, &["EXPIRE", "missing", "9223372036854775807"])),
        "ERR invalid expire time in 'expire' command"
    );
    assert_eq!(
        int(&mut connection, &["EXPIREAT", "k", "9223372036854775"]),
        1,
        "fits once in milliseconds"
    );
    assert!(
        int(&mut connection, &["TTL", "k"]) > 9 * 10_i64.pow(15),
        "about 292 million years"
    );
}

#[test]
fn keys_expire_lazily_on_access() {
    for shards in SHARD_COUNTS {
        let server = TestServer::start(shards);
        let mut connection = server.connection();
        set(&mut connection, "short", "v");
        assert_eq!(int(&mut connection, &["PEXPIRE", "short", "20"]), 1);
        assert_eq!(int(&mut connection, &["EXISTS", "short"]), 1);
        wait_until("the key expires", || int(&mut connection, &["EXISTS", "short"]) == 0);
        assert_eq!(text(&mut connection, &["GET", "short"]), None);
        assert_eq!(int(&mut connection, &["TTL", "short"]), -2);
        assert_eq!(text(&mut connection, &["TYPE", "short"]).as_deref(), Some("none"));
    }
}

#[test]
fn keys_expire_actively_without_being_accessed() {
    // Every command hides expired keys (and most delete them on access), so
    // the test counts stored keys straight from the shards' keyspaces. The
    // keys are never touched after PEXPIRE: only the shards' periodic active
    // expiry cycle can bring the stored count to zero. Without it the count
    // would stay at 200 forever and the wait would time out.
    let server = TestServer::start(4);
    let mut connection = server.connection();
    let mut pipeline = redis::pipe();
    for n in 0..200 {
        pipeline.cmd("SET").arg(format!("volatile:{n}")).arg("v").ignore();
        pipeline.cmd("PEXPIRE").arg(format!("volatile:{n}")).arg(30).ignore();
    }
    let _: () = pipeline.query(&mut connection).expect("pipeline");
    assert_eq!(stored_key_count(&server), 200);
    wait_until("the active cycle deletes every expired key", || {
        stored_key_count(&server) == 0
    });
}

#[test]
fn rename_moves_the_value_and_its_ttl() {
    for shards in SHARD_COUNTS {
        let server = TestServer::start(shards);
        let mut connection = server.connection();
        // On four shards, pick names on different shards; on one, any names.
        let source = key_on_shard("source", 0, shards);
        let destination = key_on_shard("destination", shards - 1, shards);
        let (source, destination) = (source.as_str(), destination.as_str());
        set(&mut connection, source, "value");
        assert_eq!(int(&mut connection, &["PEXPIRE", source, "100000"]), 1);
        assert_eq!(
            text(&mut connection, &["RENAME", source, destination]).as_deref(),
            Some("OK")
        );
        assert_eq!(int(&mut connection, &["EXISTS", source]), 0);
        assert_eq!(text(&mut connection, &["GET", destination]).as_deref(), Some("value"));
        let pttl = int(&mut connection, &["PTTL", destination]);
        assert!((90_000..=100_000).contains(&pttl), "the TTL moves with the key: {pttl}");

        // RENAME replaces the destination, value and TTL.
        set(&mut connection, source, "second");
        assert_eq!(
            text(&mut connection, &["RENAME", source, destination]).as_deref(),
            Some("OK")
        );
        assert_eq!(text(&mut connection, &["GET", destination]).as_deref(), Some("second"));
        assert_eq!(int(&mut connection, &["TTL", destination]), -1);

        assert_eq!(
            error_text(query(&mut connection, &["RENAME", source, destination])),
            "ERR no such key"
        );
        assert_eq!(
            error_text(query(&mut connection, &["RENAMENX", source, destination])),
            "ERR no such key"
        );
        assert_eq!(
            text(&mut connection, &["RENAME", destination, destination]).as_deref(),
            Some("OK")
        );
        assert_eq!(
            error_text(query(&mut connection, &["RENAME", "missing", "missing"])),
            "ERR no such key"
        );

        // RENAMENX leaves an existing destination alone.
        set(&mut connection, source, "third");
        assert_eq!(int(&mut connection, &["RENAMENX", source, destination]), 0);
        assert_eq!(text(&mut connection, &["GET", source]).as_deref(), Some("third"));
        assert_eq!(text(&mut connection, &["GET", destination]).as_deref(), Some("second"));
        assert_eq!(int(&mut connection, &["RENAMENX", destination, destination]), 0);
        assert_eq!(int(&mut connection, &["DEL", destination]), 1);
        assert_eq!(int(&mut connection, &["RENAMENX", source, destination]), 1);
        assert_eq!(text(&mut connection, &["GET", destination]).as_deref(), Some("third"));
        assert_eq!(int(&mut connection, &["EXISTS", source]), 0);
        assert_eq!(
            error_text(query(&mut connection, &["RENAME", source])),
            "ERR wrong number of arguments for 'rename' command"
        );
    }
}

#[test]
fn rename_across_shards_never_shows_the_key_twice_or_not_at_all() {
    let server = TestServer::start(4);
    let first = key_on_shard("ping", 1, 4);
    let second = key_on_shard("pong", 2, 4);
    let mut connection = server.connection();
    set(&mut connection, &first, "v");
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (stop, mut connection) = (stop.clone(), server.connection());
        let keys = vec![first.clone(), second.clone()];
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(Ordering::Relaxed) {
                let count: i64 = cmd("EXISTS").arg(&keys).query(&mut connection).expect("EXISTS");
                assert_eq!(count, 1, "the key must exist under exactly one name");
                reads += 1;
            }
            reads
        })
    };
    for round in 0..300 {
        let (from, to) = if round % 2 == 0 {
            (&first, &second)
        } else {
            (&second, &first)
        };
        let _: () = cmd("RENAME").arg(from).arg(to).query(&mut connection).expect("RENAME");
    }
    stop.store(true, Ordering::Relaxed);
    assert!(reader.join().expect("reader thread") > 0);
}

#[test]
fn copy_duplicates_the_value_and_its_ttl() {
    for shards in SHARD_COUNTS {
        let server = TestServer::start(shards);
        let mut connection = server.connection();
        let source = key_on_shard("original", 0, shards);
        let destination = key_on_shard("duplicate", shards - 1, shards);
        let (source, destination) = (source.as_str(), destination.as_str());
        set(&mut connection, source, "100");
        assert_eq!(int(&mut connection, &["PEXPIRE", source, "100000"]), 1);
        assert_eq!(int(&mut connection, &["COPY", source, destination]), 1);
        assert_eq!(text(&mut connection, &["GET", destination]).as_deref(), Some("100"));
        assert_eq!(text(&mut connection, &["GET", source]).as_deref(), Some("100"));
        let pttl = int(&mut connection, &["PTTL", destination]);
        assert!((90_000..=100_000).contains(&pttl), "the TTL is copied: {pttl}");
        assert_eq!(
            text(&mut connection, &["OBJECT", "ENCODING", destination]).as_deref(),
            Some("int")
        );

        set(&mut connection, source, "new");
        assert_eq!(
            int(&mut connection, &["COPY", source, destination]),
            0,
            "no overwrite without REPLACE"
        );
        assert_eq!(text(&mut connection, &["GET", destination]).as_deref(), Some("100"));
        assert_eq!(int(&mut connection, &["COPY", source, destination, "REPLACE"]), 1);
        assert_eq!(text(&mut connection, &["GET", destination]).as_deref(), Some("new"));
        assert_eq!(
            int(&mut connection, &["TTL", destination]),
            -1,
            "the source's lack of TTL is copied too"
        );
        assert_eq!(
            int(&mut connection, &["COPY", source, destination, "db", "0", "replace"]),
            1
        );
        assert_eq!(int(&mut connection, &["COPY", "missing", destination, "REPLACE"]), 0);
        assert_eq!(text(&mut connection, &["GET", destination]).as_deref(), Some("new"));
    }
}

#[test]
fn copy_errors_follow_redis() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    set(&mut connection, "a", "v");
    let out_of_range = "ERR DB index is out of range";
    assert_eq!(
        error_text(query(&mut connection, &["COPY", "a", "b", "DB", "1"])),
        out_of_range
    );
    assert_eq!(
        error_text(query(&mut connection, &["COPY", "a", "b", "DB", "-1"])),
        out_of_range
    );
    assert_eq!(
        error_text(query(&mut connection, &["COPY", "a", "b", "DB", "x"])),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error_text(query(&mut connection, &["COPY", "a", "b", "DB", "2147483648"])),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error_text(query(&mut connection, &["COPY", "a", "b", "DB"])),
        "ERR syntax error"
    );
    assert_eq!(
        error_text(query(&mut connection, &["COPY", "a", "b", "foo"])),
        "ERR syntax error"
    );
    assert_eq!(
        error_text(query(&mut connection, &["COPY", "a", "a"])),
        "ERR source and destination objects are the same"
    );
    assert_eq!(
        error_text(query(&mut connection, &["COPY", "missing", "missing"])),
        "ERR source and destination objects are the same"
    );
    assert_eq!(
        error_text(query(&mut connection, &["COPY", "a"])),
        "ERR wrong number of arguments for 'copy' command"
    );
    assert_eq!(int(&mut connection, &["EXISTS", "b"]), 0);
}

#[test]
fn keys_lists_matching_keys_of_every_shard() {
    for shards in SHARD_COUNTS {
        let server = TestServer::start(shards);
        let mut connection = server.connection();
        let empty: Vec<String> = cmd("KEYS").arg("*").query(&mut connection).expect("KEYS");
        assert!(empty.is_empty());
        for n in 0..50 {
            set(&mut connection, &format!("user:{n}"), "v");
        }
        set(&mut connection, "other", "v");
        set(&mut connection, "h?llo", "v");
        let mut all: Vec<String> = cmd("KEYS").arg("*").query(&mut connection).expect("KEYS");
        all.sort();
        assert_eq!(all.len(), 52);
        let users: Vec<String> = cmd("KEYS").arg("user:*").query(&mut connection).expect("KEYS");
        assert_eq!(users.len(), 50);
        let ones: HashSet<String> = cmd("KEYS").arg("user:1?").query(&mut connection).expect("KEYS");
        assert_eq!(ones, (10..20).map(|n| format!("user:{n}")).collect());
        let escaped: Vec<String> = cmd("KEYS").arg("h\\?llo").query(&mut connection).expect("KEYS");
        assert_eq!(escaped, vec!["h?llo".to_string()]);
        let none: Vec<String> = cmd("KEYS").arg("nomatch*").query(&mut connection).expect("KEYS");
        assert!(none.is_empty());

        assert_eq!(int(&mut connection, &["PEXPIRE", "other", "1"]), 1);
        wait_until("the expired key leaves KEYS", || {
            let keys: Vec<String> = cmd("KEYS").arg("oth*").query(&mut connection).expect("KEYS");
            keys.is_empty()
        });
        assert_eq!(
            error_text(query(&mut connection, &["KEYS"])),
            "ERR wrong number of arguments for 'keys' command"
        );
    }
}

#[test]
fn randomkey_returns_existing_keys_from_every_shard() {
    for shards in SHARD_COUNTS {
        let server = TestServer::start(shards);
        let mut connection = server.connection();
        assert_eq!(text(&mut connection, &["RANDOMKEY"]), None);
        let keys: Vec<String> = (0..shards).map(|shard| key_on_shard("random", shard, shards)).collect();
        for key in &keys {
            set(&mut connection, key, "v");
        }
        let mut seen = HashSet::new();
        for _ in 0..400 {
            let key = text(&mut connection, &["RANDOMKEY"]).expect("a key");
            assert!(keys.contains(&key), "{key}");
            seen.insert(key);
            if seen.len() == keys.len() {
                break;
            }
        }
        assert_eq!(seen.len(), keys.len(), "every shard's key turns up");
        assert_eq!(
            error_text(query(&mut connection, &["RANDOMKEY", "x"])),
            "ERR wrong number of arguments for 'randomkey' command"
        );
    }
}

/// Runs a whole SCAN with `options`, checking that every cursor is sane;
/// returns every key returned (with duplicates) and the number of calls.
fn full_scan(connection: &mut Connection, options: &[&str]) -> (Vec<String>, usize) {
    let mut cursor: u64 = 0;
    let mut keys = Vec::new();
    let mut calls = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = cmd("SCAN").arg(cursor).arg(options).query(connection).expect("SCAN");
        keys.extend(batch);
        calls += 1;
        assert!(calls < 100_000, "SCAN does not terminate");
        if next == 0 {
            return (keys, calls);
        }
        cursor = next;
    }
}

#[test]
fn scan_visits_every_key_once_per_pass() {
    for shards in SHARD_COUNTS {
        let server = TestServer::start(shards);
        let mut connection = server.connection();
        let (keys, _) = full_scan(&mut connection, &["COUNT", "1000"]);
        assert!(keys.is_empty());
        let mut pipeline = redis::pipe();
        for n in 0..500 {
            pipeline.cmd("SET").arg(format!("scan:{n}")).arg("v").ignore();
        }
        // Hash-tagged keys crowd one slot, whose table then grows.
        for n in 0..200 {
            pipeline.cmd("SET").arg(format!("{{tag}}:{n}")).arg("v").ignore();
        }
        let _: () = pipeline.query(&mut connection).expect("pipeline");
        let (keys, _) = full_scan(&mut connection, &["COUNT", "100"]);
        let unique: HashSet<&String> = keys.iter().collect();
        assert_eq!(unique.len(), 700);
        assert_eq!(
            keys.len(),
            700,
            "with no writes during the scan no key is returned twice"
        );

        let (matched, _) = full_scan(&mut connection, &["MATCH", "scan:1*", "COUNT", "50"]);
        let expected: HashSet<String> = (0..500)
            .map(|n| format!("scan:{n}"))
            .filter(|key| key.starts_with("scan:1"))
            .collect();
        assert_eq!(matched.into_iter().collect::<HashSet<_>>(), expected);
        let (strings, _) = full_scan(&mut connection, &["TYPE", "STRING", "COUNT", "1000"]);
        assert_eq!(strings.len(), 700);
        let (hashes, _) = full_scan(&mut connection, &["TYPE", "hash"]);
        assert!(hashes.is_empty());
        let (everything, _) = full_scan(&mut connection, &["MATCH", "*"]);
        assert_eq!(everything.len(), 700);
    }
}

#[test]
fn scan_count_bounds_the_batch_and_large_counts_finish_in_one_call() {
    let server = TestServer::start(4);
    let mut connection = server.connection();
    for n in 0..300 {
        set(&mut connection, &format!("count:{n}"), "v");
    }
    let (_, batch): (u64, Vec<String>) = cmd("SCAN")
        .arg(0)
        .arg("COUNT")
        .arg(5)
        .query(&mut connection)
        .expect("SCAN");
    assert!(
        batch.len() <= 5 + 20,
        "a batch stops soon after COUNT keys: {}",
        batch.len()
    );
    let (next, batch): (u64, Vec<String>) = cmd("SCAN")
        .arg(0)
        .arg("COUNT")
        .arg(1_000_000)
        .query(&mut connection)
        .expect("SCAN");
    assert_eq!(
        (next, batch.len()),
        (0, 300),
        "a huge COUNT scans every shard in one call"
    );
}

#[test]
fn scan_returns_stable_keys_while_others_come_and_go() {
    for shards in SHARD_COUNTS {
        let server = TestServer::start(shards);
        let mut connection = server.connection();
        let mut pipeline = redis::pipe();
        for n in 0..1000 {
            pipeline.cmd("SET").arg(format!("stable:{n}")).arg("v").ignore();
        }
        let _: () = pipeline.query(&mut connection).expect("pipeline");
        let stop = Arc::new(AtomicBool::new(false));
        let churn = {
            let (stop, mut connection) = (stop.clone(), server.connection());
            std::thread::spawn(move || {
                // Grow and shrink the tables under the scan: add a burst of
                // keys, then delete them, again and again.
                let mut round = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let mut pipeline = redis::pipe();
                    for n in 0..300 {
                        pipeline.cmd("SET").arg(format!("churn:{round}:{n}")).arg("v").ignore();
                    }
                    for n in 0..300 {
                        if round > 0 {
                            pipeline.cmd("DEL").arg(format!("churn:{}:{n}", round - 1)).ignore();
                        }
                    }
                    let _: () = pipeline.query(&mut connection).expect("churn pipeline");
                    round += 1;
                }
            })
        };
        for _ in 0..3 {
            let (keys, _) = full_scan(&mut connection, &["COUNT", "20"]);
            let seen: HashSet<&str> = keys
                .iter()
                .map(String::as_str)
                .filter(|key| key.starts_with("stable:"))
                .collect();
            assert_eq!(seen.len(), 1000, "every key present for the whole scan is returned");
        }
        stop.store(true, Ordering::Relaxed);
        churn.join().expect("churn thread");
    }
}

#[test]
fn scan_errors_follow_redis() {
    let server = TestServer::start(4);
    let mut connection = server.connection();
    set(&mut connection, "k", "v");
    for cursor in ["abc", " 1", "1 ", "18446744073709551616", "-", "0x10"] {
        assert_eq!(
            error_text(query(&mut connection, &["SCAN", cursor])),
            "ERR invalid cursor",
            "{cursor:?}"
        );
    }
    // strtoul accepts these.
    for cursor in ["", "+0", "-1", "007", "18446744073709551615"] {
        let reply: (u64, Vec<String>) = cmd("SCAN").arg(cursor).query(&mut connection).expect("valid cursor");
        let _ = reply;
    }
    for options in [
        &["COUNT", "0"][..],
        &["COUNT", "-1"],
        &["COUNT"],
        &["MATCH"],
        &["TYPE"],
        &["foo", "bar"],
        &["COUNT", "10", "MATCH"],
    ] {
        let args = [&["SCAN", "0"][..], options].concat();
        assert_eq!(
            error_text(query(&mut connection, &args)),
            "ERR syntax error",
            "{options:?}"
        );
    }
    assert_eq!(
        error_text(query(&mut connection, &["SCAN", "0", "COUNT", "x"])),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error_text(query(&mut connection, &["SCAN"])),
        "ERR wrong number of arguments for 'scan' command"
    );
}

#[test]
fn object_reports_encoding_refcount_and_idle_time() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    let long = "x".repeat(45);
    let cases = [
        ("100", "int", 2_147_483_647),
        ("9999", "int", 2_147_483_647),
        ("10000", "int", 1),
        ("-5", "int", 1),
        ("12345678901234567890", "embstr", 1),
        ("007", "embstr", 1),
        ("hello", "embstr", 1),
        (long.as_str(), "raw", 1),
    ];
    for (value, encoding, refcount) in cases {
        set(&mut connection, "k", value);
        assert_eq!(
            text(&mut connection, &["OBJECT", "ENCODING", "k"]).as_deref(),
            Some(encoding),
            "{value}"
        );
        assert_eq!(int(&mut connection, &["OBJECT", "REFCOUNT", "k"]), refcount, "{value}");
    }
    set(&mut connection, "k", &"y".repeat(44));
    assert_eq!(
        text(&mut connection, &["object", "encoding", "k"]).as_deref(),
        Some("embstr")
    );
    assert!(int(&mut connection, &["OBJECT", "IDLETIME", "k"]) <= 1);

    for subcommand in ["ENCODING", "REFCOUNT", "IDLETIME", "FREQ"] {
        assert_eq!(
            query(&mut connection, &["OBJECT", subcommand, "missing"]),
            Ok(redis::Value::Nil),
            "{subcommand}"
        );
    }
    assert_eq!(
        error_text(query(&mut connection, &["OBJECT", "FREQ", "k"])),
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching \
         between policies at runtime LRU and LFU data will take some time to adjust."
    );
    let help: Vec<String> = cmd("OBJECT").arg("HELP").query(&mut connection).expect("OBJECT HELP");
    assert_eq!(help.len(), 15);
    assert_eq!(
        help[0],
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    assert_eq!(help[14], "    Prints this help.");
    assert_eq!(
        error_text(query(&mut connection, &["OBJECT", "foo", "k"])),
        "ERR unknown subcommand 'foo'. Try OBJECT HELP."
    );
    assert_eq!(
        error_text(query(&mut connection, &["OBJECT"])),
        "ERR wrong number of arguments for 'object' command"
    );
    assert_eq!(
        error_text(query(&mut connection, &["OBJECT", "ENCODING"])),
        "ERR wrong number of arguments for 'object|encoding' command"
    );
    assert_eq!(
        error_text(query(&mut connection, &["OBJECT", "ENCODING", "k", "extra"])),
        "ERR wrong number of arguments for 'object|encoding' command"
    );
    assert_eq!(
        error_text(query(&mut connection, &["OBJECT", "HELP", "extra"])),
        "ERR wrong number of arguments for 'object|help' command"
    );
}

#[test]
fn idle_time_counts_accesses_but_not_inspection() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    set(&mut connection, "source", "v");
    let payload: Vec<u8> = cmd("DUMP").arg("source").query(&mut connection).expect("DUMP");
    let _: () = cmd("RESTORE")
        .arg("k")
        .arg(0)
        .arg(&payload)
        .arg("IDLETIME")
        .arg(1000)
        .query(&mut connection)
        .expect("RESTORE");
    let idle = int(&mut connection, &["OBJECT", "IDLETIME", "k"]);
    assert!((1000..=1001).contains(&idle), "{idle}");
    // Inspection does not count as an access...
    for args in [
        &["TYPE", "k"][..],
        &["EXISTS", "k"],
        &["TTL", "k"],
        &["PTTL", "k"],
        &["EXPIRETIME", "k"],
        &["OBJECT", "ENCODING", "k"],
        &["OBJECT", "REFCOUNT", "k"],
        &["KEYS", "*"],
        &["SCAN", "0"],
    ] {
        let _ = query(&mut connection, args).expect("inspection succeeds");
        assert!(
            int(&mut connection, &["OBJECT", "IDLETIME", "k"]) >= 1000,
            "{args:?} touched the key"
        );
    }
    // ...and a read does.
    let _ = text(&mut connection, &["GET", "k"]);
    assert!(int(&mut connection, &["OBJECT", "IDLETIME", "k"]) <= 1);
    let _: () = cmd("RESTORE")
        .arg("k")
        .arg(0)
        .arg(&payload)
        .arg("REPLACE")
        .arg("IDLETIME")
        .arg(500)
        .query(&mut connection)
        .expect("RESTORE");
    assert_eq!(int(&mut connection, &["TOUCH", "k"]), 1);
    assert!(
        int(&mut connection, &["OBJECT", "IDLETIME", "k"]) <= 1,
        "TOUCH is an access"
    );
}

/// RESTORE picks each collection's encoding from the server's thresholds,
/// as Redis does, whatever encoding the dumped value had.
#[test]
fn restore_encodes_collections_for_the_configured_thresholds() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    let dump =
        |connection: &mut Connection, key: &str| -> Vec<u8> { cmd("DUMP").arg(key).query(connection).expect("DUMP") };
    let restore_encoding = |connection: &mut Connection, key: &str, payload: &[u8]| {
        let _: () = cmd("RESTORE")
            .arg(key)
            .arg(0)
            .arg(payload)
            .query(connection)
            .expect("RESTORE");
        text(connection, &["OBJECT", "ENCODING", key]).expect("an encoding")
    };
    // Ten elements of each type: compact under Redis's defaults.
    for n in 0..10 {
        let element = format!("e{n}");
        int(&mut connection, &["HSET", "hash", &element, "v"]);
        int(&mut connection, &["SADD", "set", &element]);
        int(&mut connection, &["SADD", "integers", &n.to_string()]);
        int(&mut connection, &["ZADD", "zset", &n.to_string(), &element]);
        int(&mut connection, &["RPUSH", "list", &element]);
    }
    let compact: Vec<(&str, Vec<u8>, &str)> = vec![
        ("hash", dump(&mut connection, "hash"), "hashtable"),
        ("set", dump(&mut connection, "set"), "hashtable"),
        ("integers", dump(&mut connection, "integers"), "hashtable"),
        ("zset", dump(&mut connection, "zset"), "skiplist"),
        ("list", dump(&mut connection, "list"), "quicklist"),
    ];
    for (name, value) in [
        ("hash-max-listpack-entries", "4"),
        ("set-max-listpack-entries", "4"),
        ("set-max-intset-entries", "4"),
        ("zset-max-listpack-entries", "4"),
        ("list-max-listpack-size", "4"),
    ] {
        config_set(&mut connection, name, value);
    }
    for (key, payload, expected) in &compact {
        let restored = format!("{key}:small-limits");
        assert_eq!(
            &restore_encoding(&mut connection, &restored, payload),
            expected,
            "{key}"
        );
    }
    // And back: large limits make the same values compact again.
    for (name, value) in [
        ("hash-max-listpack-entries", "1000"),
        ("set-max-listpack-entries", "1000"),
        ("set-max-intset-entries", "1000"),
        ("zset-max-listpack-entries", "1000"),
        ("list-max-listpack-size", "-2"),
    ] {
        config_set(&mut connection, name, value);
    }
    for key in ["hash", "set", "zset", "list"] {
        let payload = dump(&mut connection, &format!("{key}:small-limits"));
        assert_eq!(
            restore_encoding(&mut connection, &format!("{key}:again"), &payload),
            "listpack",
            "{key}"
        );
    }
    let payload = dump(&mut connection, "integers:small-limits");
    assert_eq!(restore_encoding(&mut connection, "integers:again", &payload), "intset");
    // A collection above the defaults, restored under larger limits.
    config_set(&mut connection, "hash-max-listpack-entries", "128");
    for n in 0..300 {
        int(&mut connection, &["HSET", "wide", &format!("f{n}"), "v"]);
    }
    assert_eq!(
        text(&mut connection, &["OBJECT", "ENCODING", "wide"]).as_deref(),
        Some("hashtable")
    );
    let payload = dump(&mut connection, "wide");
    config_set(&mut connection, "hash-max-listpack-entries", "1000");
    assert_eq!(restore_encoding(&mut connection, "wide:again", &payload), "listpack");
    assert_eq!(int(&mut connection, &["HLEN", "wide:again"]), 300);
    assert_eq!(int(&mut connection, &["SCARD", "integers:again"]), 10);
    assert_eq!(int(&mut connection, &["ZCARD", "zset:again"]), 10);
    assert_eq!(int(&mut connection, &["LLEN", "list:again"]), 10);
}

#[test]
fn dump_and_restore_round_trip_values_and_ttls() {
    for shards in SHARD_COUNTS {
        let server = TestServer::start(shards);
        let mut connection = server.connection();
        let binary: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let _: () = cmd("SET")
            .arg("binary")
            .arg(&binary)
            .query(&mut connection)
            .expect("SET");
        set(&mut connection, "short", "v");
        assert_eq!(query(&mut connection, &["DUMP", "missing"]), Ok(redis::Value::Nil));

        for source in ["binary", "short"] {
            let payload: Vec<u8> = cmd("DUMP").arg(source).query(&mut connection).expect("DUMP");
            let copy = format!("{source}:restored");
            let reply: String = cmd("RESTORE")
                .arg(&copy)
                .arg(0)
                .arg(&payload)
                .query(&mut connection)
                .expect("RESTORE");
            assert_eq!(reply, "OK");
            let original: Vec<u8> = cmd("GET").arg(source).query(&mut connection).expect("GET");
            let restored: Vec<u8> = cmd("GET").arg(&copy).query(&mut connection).expect("GET");
            assert_eq!(original, restored);
            assert_eq!(int(&mut connection, &["TTL", &copy]), -1);
        }

        let payload: Vec<u8> = cmd("DUMP").arg("short").query(&mut connection).expect("DUMP");
        let restore =
            |connection: &mut Connection, key: &str, ttl: i64, options: &[&str]| -> RedisResult<redis::Value> {
                cmd("RESTORE")
                    .arg(key)
                    .arg(ttl)
                    .arg(&payload)
                    .arg(options)
                    .query(connection)
            };
        // A relative TTL in milliseconds.
        restore(&mut connection, "ttl", 100_000, &[]).expect("RESTORE");
        let pttl = int(&mut connection, &["PTTL", "ttl"]);
        assert!((90_000..=100_000).contains(&pttl), "{pttl}");
        // ABSTTL: a Unix time in milliseconds.
        let deadline_ms = now_ms() + 200_000;
        restore(&mut connection, "absolute", deadline_ms, &["ABSTTL"]).expect("RESTORE");
        assert_eq!(int(&mut connection, &["PEXPIRETIME", "absolute"]), deadline_ms);
        // BUSYKEY unless REPLACE, which also drops the old TTL.
        assert_eq!(
            error_text(restore(&mut connection, "ttl", 0, &[])),
            "BUSYKEY Target key name already exists."
        );
        restore(&mut connection, "ttl", 0, &["REPLACE"]).expect("RESTORE REPLACE");
        assert_eq!(int(&mut connection, &["TTL", "ttl"]), -1);
        // A deadline in the past: OK, and no key (the old one is deleted).
        restore(&mut connection, "past", 1000, &["ABSTTL"]).expect("RESTORE");
        assert_eq!(int(&mut connection, &["EXISTS", "past"]), 0);
        restore(&mut connection, "ttl", 1000, &["ABSTTL", "REPLACE"]).expect("RESTORE");
        assert_eq!(int(&mut connection, &["EXISTS", "ttl"]), 0);
        // A relative TTL that overflows lands in the past in Redis too.
        restore(&mut connection, "overflow", i64::MAX, &[]).expect("RESTORE");
        assert_eq!(int(&mut connection, &["EXISTS", "overflow"]), 0);
        // FREQ is accepted and ignored without an LFU policy.
        restore(&mut connection, "frequent", 0, &["FREQ", "100"]).expect("RESTORE FREQ");
        assert_eq!(text(&mut connection, &["GET", "frequent"]).as_deref(), Some("v"));
        // The restored value is encoded afresh.
        set(&mut connection, "number", "42");
        let number: Vec<u8> = cmd("DUMP").arg("number").query(&mut connection).expect("DUMP");
        let _: () = cmd("RESTORE")
            .arg("number:restored")
            .arg(0)
            .arg(&number)
            .query(&mut connection)
            .expect("RESTORE");
        assert_eq!(
            text(&mut connection, &["OBJECT", "ENCODING", "number:restored"]).as_deref(),
            Some("int")
        );
    }
}

#[test]
fn restore_refuses_bad_arguments_and_payloads() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    set(&mut connection, "k", "v");
    let payload: Vec<u8> = cmd("DUMP").arg("k").query(&mut connection).expect("DUMP");
    let restore = |connection: &mut Connection, key: &str, ttl: &str, payload: &[u8], options: &[&str]| {
        cmd("RESTORE")
            .arg(key)
            .arg(ttl)
            .arg(payload)
            .arg(options)
            .query::<redis::Value>(connection)
    };
    let wrong = "ERR DUMP payload version or checksum are wrong";
    assert_eq!(error_text(restore(&mut connection, "new", "0", b"x", &[])), wrong);
    assert_eq!(error_text(restore(&mut connection, "new", "0", b"", &[])), wrong);
    assert_eq!(
        error_text(restore(&mut connection, "new", "0", &payload[..payload.len() - 1], &[])),
        wrong
    );
    let mut extended = payload.clone();
    extended.push(b'x');
    assert_eq!(error_text(restore(&mut connection, "new", "0", &extended, &[])), wrong);
    for index in 0..payload.len() {
        let mut corrupt = payload.clone();
        corrupt[index] ^= 0x20;
        assert_eq!(
            error_text(restore(&mut connection, "new", "0", &corrupt, &[])),
            wrong,
            "byte {index}"
        );
    }
    // A well-checksummed payload with a type Starling does not know.
    let mut forged = vec![250u8, 0xc4, 1, b'v'];
    forged.extend_from_slice(&1u16.to_le_bytes());
    let checksum = crc::Crc::<u64>::new(&crc::CRC_64_REDIS).checksum(&forged);
    forged.extend_from_slice(&checksum.to_le_bytes());
    assert_eq!(
        error_text(restore(&mut connection, "new", "0", &forged, &[])),
        "ERR Bad data format"
    );
    assert_eq!(int(&mut connection, &["EXISTS", "new"]), 0);

    // Checks run in Redis's order: options, existing key, TTL, payload.
    assert_eq!(
        error_text(restore(&mut connection, "new", "-1", &payload, &[])),
        "ERR Invalid TTL value, must be >= 0"
    );
    assert_eq!(
        error_text(restore(&mut connection, "new", "abc", &payload, &[])),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error_text(restore(&mut connection, "k", "-1", b"x", &[])),
        "BUSYKEY Target key name already exists."
    );
    assert_eq!(
        error_text(restore(&mut connection, "k", "-1", b"x", &["foo"])),
        "ERR syntax error"
    );
    assert_eq!(
        error_text(restore(&mut connection, "new", "0", &payload, &["IDLETIME", "-1"])),
        "ERR Invalid IDLETIME value, must be >= 0"
    );
    assert_eq!(
        error_text(restore(&mut connection, "new", "0", &payload, &["FREQ", "256"])),
        "ERR Invalid FREQ value, must be >= 0 and <= 255"
    );
    assert_eq!(
        error_text(restore(&mut connection, "new", "0", &payload, &["FREQ", "-1"])),
        "ERR Invalid FREQ value, must be >= 0 and <= 255"
    );
    assert_eq!(
        error_text(restore(
            &mut connection,
            "new",
            "0",
            &payload,
            &["IDLETIME", "1", "FREQ", "1"]
        )),
        "ERR syntax error"
    );
    assert_eq!(
        error_text(restore(&mut connection, "new", "0", &payload, &["IDLETIME"])),
        "ERR syntax error"
    );
    assert_eq!(
        error_text(restore(&mut connection, "new", "0", &payload, &["IDLETIME", "x"])),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        error_text(query(&mut connection, &["RESTORE", "new", "0"])),
        "ERR wrong number of arguments for 'restore' command"
    );
    assert_eq!(
        error_text(query(&mut connection, &["DUMP"])),
        "ERR wrong number of arguments for 'dump' command"
    );
    assert_eq!(int(&mut connection, &["EXISTS", "new"]), 0);
}
