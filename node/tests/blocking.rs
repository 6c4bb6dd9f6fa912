//! Blocking pops through real clients: BLPOP, BRPOP, BLMPOP, BLMOVE,
//! BRPOPLPUSH, BZPOPMIN, BZPOPMAX, BZMPOP. Waiters are served in FIFO order,
//! a push wakes at most as many waiters as it brings elements and none is
//! lost or duplicated, keys may live on different shards, fractional
//! timeouts expire, a client that disconnects or is killed while blocked
//! leaves no state behind, and CLIENT UNBLOCK ends a wait either way.
//!
//! Waiters run on their own threads with timeout 0 (forever) when they must
//! be served; the connections' 10-second read timeout bounds a failure. The
//! tests wait for conditions (INFO `blocked_clients`, `total_blocking_keys`)
//! with bounded polling loops, never for fixed delays.

mod common;

use common::{error_text, int, key_on_shard, query, reply};

use std::collections::HashSet;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::TestServer;
use redis::{cmd, Connection, RedisResult, Value};
use starling_protocol::Frame;

fn error(connection: &mut Connection, args: &[&str]) -> String {
    error_text(query(connection, args))
}

fn bulk(text: &str) -> Value {
    Value::BulkString(text.as_bytes().to_vec())
}

/// `[key, element]`, as BLPOP replies.
fn pair(key: &str, element: &str) -> Value {
    Value::Array(vec![bulk(key), bulk(element)])
}

fn range(connection: &mut Connection, key: &str) -> Vec<String> {
    cmd("LRANGE").arg(key).arg(0).arg(-1).query(connection).expect("LRANGE")
}

/// A field of INFO clients.
fn info_client_field(connection: &mut Connection, field: &str) -> usize {
    let info: String = cmd("INFO").arg("clients").query(connection).expect("INFO");
    let prefix = format!("{field}:");
    info.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("INFO clients has no {field}"))
        .trim()
        .parse()
        .expect("a number")
}

/// Polls `condition` every 2 ms for at most 5 seconds.
fn wait_until(description: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {description}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn wait_for_blocked(control: &mut Connection, count: usize) {
    wait_until(&format!("{count} blocked clients"), || {
        info_client_field(control, "blocked_clients") == count
    });
}

/// Waits until no client is blocked and no shard holds a waiter.
fn wait_for_no_waiters(control: &mut Connection) {
    wait_until("no blocked clients and no blocking keys", || {
        info_client_field(control, "blocked_clients") == 0 && info_client_field(control, "total_blocking_keys") == 0
    });
}

/// Runs `args` on a new connection on its own thread.
fn spawn_command(server: &TestServer, args: &[&str]) -> JoinHandle<RedisResult<Value>> {
    let mut connection = server.connection();
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    std::thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        query(&mut connection, &args)
    })
}

/// Starts `args` and waits until its client is blocked, the `expected`-th.
fn spawn_blocked(
    server: &TestServer,
    control: &mut Connection,
    args: &[&str],
    expected: usize,
) -> JoinHandle<RedisResult<Value>> {
    let handle = spawn_command(server, args);
    wait_for_blocked(control, expected);
    handle
}

fn joined(handle: JoinHandle<RedisResult<Value>>) -> RedisResult<Value> {
    handle.join().expect("the client thread does not panic")
}

#[test]
fn data_present_is_served_without_blocking() {
    for shards in [1, 4] {
        let server = TestServer::start(shards);
        let mut connection = server.connection();
        let first = key_on_shard("first", 0, shards);
        let second = key_on_shard("second", shards - 1, shards);
        let _: i64 = cmd("RPUSH")
            .arg(&second)
            .arg(&["a", "b", "c"])
            .query(&mut connection)
            .unwrap();
        assert_eq!(
            reply(&mut connection, &["BLPOP", &first, &second, "0"]),
            pair(&second, "a")
        );
        assert_eq!(
            reply(&mut connection, &["BRPOP", &first, &second, "0"]),
            pair(&second, "c")
        );
        let _: i64 = cmd("RPUSH")
            .arg(&first)
            .arg(&["x", "y", "z"])
            .query(&mut connection)
            .unwrap();
        // The first key in argument order with data serves the command.
        assert_eq!(
            reply(&mut connection, &["BLPOP", &second, &first, "0"]),
            pair(&second, "b")
        );
        assert_eq!(
            reply(
                &mut connection,
                &["BLMPOP", "0", "2", &second, &first, "RIGHT", "COUNT", "2"]
            ),
            Value::Array(vec![bulk(&first), Value::Array(vec![bulk("z"), bulk("y")])])
        );
        assert_eq!(reply(&mut connection, &["BRPOPLPUSH", &first, &second, "0"]), bulk("x"));
        assert_eq!(
            reply(&mut connection, &["BLMOVE", &second, &first, "LEFT", "RIGHT", "0"]),
            bulk("x")
        );
        assert_eq!(range(&mut connection, &first), ["x"]);
        assert_eq!(
            int(&mut connection, &["EXISTS", &second]),
            0,
            "the emptied list is deleted"
        );

        // A key of another type, met before any key with data: WRONGTYPE.
        let _: () = cmd("SET").arg(&second).arg("string").query(&mut connection).unwrap();
        let wrong_type = "WRONGTYPE Operation against a key holding the wrong kind of value";
        assert_eq!(error(&mut connection, &["BLPOP", &second, &first, "0"]), wrong_type);
        assert_eq!(
            error(&mut connection, &["BLMOVE", &second, &first, "LEFT", "LEFT", "0"]),
            wrong_type
        );
        assert_eq!(
            error(&mut connection, &["BLMOVE", &first, &second, "LEFT", "LEFT", "0"]),
            wrong_type
        );
        assert_eq!(error(&mut connection, &["BZPOPMIN", &first, "0"]), wrong_type);
        assert_eq!(
            reply(&mut connection, &["BLPOP", &first, &second, "0"]),
            pair(&first, "x")
        );
    }
}

#[test]
fn timeouts_reply_null_arrays() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    for args in [
        &["BLPOP", "missing", "0.05"][..],
        &["BRPOP", "missing", "other", "0.05"][..],
        &["BLMPOP", "0.05", "1", "missing", "LEFT"][..],
        &["BLMOVE", "missing", "destination", "LEFT", "RIGHT", "0.05"][..],
        &["BRPOPLPUSH", "missing", "destination", "0.05"][..],
        &["BZPOPMIN", "missing", "0.05"][..],
        &["BZPOPMAX", "missing", "0.05"][..],
        &["BZMPOP", "0.05", "1", "missing", "MIN", "COUNT", "2"][..],
    ] {
        let started = Instant::now();
        assert_eq!(reply(&mut connection, args), Value::Nil, "{args:?}");
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(50),
            "{args:?} returned after {elapsed:?}"
        );
        assert!(elapsed < Duration::from_secs(1), "{args:?} took {elapsed:?}");
    }
    assert_eq!(int(&mut connection, &["EXISTS", "destination"]), 0);

    // The exact bytes: a null array in RESP2, even for BLMOVE, as Redis 7.2.
    let mut raw = server.raw();
    raw.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nm\r\n$4\r\n0.01\r\n");
    assert_eq!(raw.read_exact_bytes(5), b"*-1\r\n");
    raw.send(b"*6\r\n$6\r\nBLMOVE\r\n$1\r\nm\r\n$1\r\nn\r\n$4\r\nLEFT\r\n$4\r\nLEFT\r\n$4\r\n0.01\r\n");
    assert_eq!(raw.read_exact_bytes(5), b"*-1\r\n");
    assert!(!raw.command(&[b"HELLO", b"3"]).is_error());
    raw.send(b"*3\r\n$8\r\nBZPOPMAX\r\n$1\r\nm\r\n$4\r\n0.01\r\n");
    assert_eq!(raw.read_exact_bytes(3), b"_\r\n");
}

#[test]
fn timeout_arguments_are_checked_like_redis() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    let not_float = "ERR timeout is not a float or out of range";
    let negative = "ERR timeout is negative";
    let out_of_range = "ERR timeout is out of range";
    assert_eq!(error(&mut connection, &["BLPOP", "k", "abc"]), not_float);
    assert_eq!(error(&mut connection, &["BLPOP", "k", "-1"]), negative);
    assert_eq!(error(&mut connection, &["BRPOP", "k", "-0.5"]), negative);
    assert_eq!(error(&mut connection, &["BLPOP", "k", "inf"]), out_of_range);
    assert_eq!(
        error(&mut connection, &["BLMOVE", "a", "b", "LEFT", "LEFT", "x"]),
        not_float
    );
    assert_eq!(
        error(&mut connection, &["BLMOVE", "a", "b", "UP", "LEFT", "x"]),
        "ERR syntax error"
    );
    assert_eq!(error(&mut connection, &["BRPOPLPUSH", "a", "b", "-1"]), negative);
    assert_eq!(error(&mut connection, &["BZPOPMIN", "k", "nan"]), not_float);
    // BLMPOP and BZMPOP check their other arguments before the timeout.
    assert_eq!(error(&mut connection, &["BLMPOP", "x", "1", "k", "LEFT"]), not_float);
    assert_eq!(
        error(&mut connection, &["BLMPOP", "x", "0", "k", "LEFT"]),
        "ERR numkeys should be greater than 0"
    );
    assert_eq!(
        error(&mut connection, &["BLMPOP", "x", "1", "k", "UP"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut connection, &["BZMPOP", "x", "1", "k", "LEFT"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut connection, &["BZMPOP", "x", "1", "k", "MIN", "COUNT", "0"]),
        "ERR count should be greater than 0"
    );
    // A string key does not make the timeout check come second.
    let _: () = cmd("SET").arg("s").arg("v").query(&mut connection).unwrap();
    assert_eq!(error(&mut connection, &["BLPOP", "s", "abc"]), not_float);
}

#[test]
fn waiters_on_one_key_are_served_in_arrival_order() {
    let server = TestServer::start(1);
    let mut control = server.connection();
    let waiters: Vec<_> = (1..=3)
        .map(|expected| spawn_blocked(&server, &mut control, &["BLPOP", "queue", "0"], expected))
        .collect();
    assert_eq!(info_client_field(&mut control, "total_blocking_keys"), 1);
    assert_eq!(int(&mut control, &["RPUSH", "queue", "first", "second", "third"]), 3);
    let replies: Vec<Value> = waiters.into_iter().map(|waiter| joined(waiter).unwrap()).collect();
    assert_eq!(
        replies,
        vec![pair("queue", "first"), pair("queue", "second"), pair("queue", "third")]
    );
    assert_eq!(int(&mut control, &["EXISTS", "queue"]), 0);
    wait_for_no_waiters(&mut control);
}

#[test]
fn one_push_wakes_at_most_as_many_waiters_as_elements() {
    let server = TestServer::start(1);
    let mut control = server.connection();
    let mut waiters: Vec<_> = (1..=6)
        .map(|expected| {
            let command = if expected % 2 == 0 { "BLPOP" } else { "BRPOP" };
            spawn_blocked(&server, &mut control, &[command, "jobs", "0"], expected)
        })
        .collect();
    assert_eq!(int(&mut control, &["LPUSH", "jobs", "j1", "j2", "j3", "j4"]), 4);
    // Exactly the four first waiters are served; two stay blocked.
    let mut received = HashSet::new();
    for waiter in waiters.drain(..4) {
        let Value::Array(items) = joined(waiter).unwrap() else {
            panic!("expected [key, element]");
        };
        let Value::BulkString(element) = &items[1] else {
            panic!("expected an element");
        };
        assert!(
            received.insert(String::from_utf8(element.clone()).unwrap()),
            "an element twice"
        );
    }
    wait_for_blocked(&mut control, 2);
    assert_eq!(int(&mut control, &["EXISTS", "jobs"]), 0, "every element was taken");
    assert_eq!(int(&mut control, &["RPUSH", "jobs", "j5", "j6", "j7"]), 3);
    for waiter in waiters {
        let Value::Array(items) = joined(waiter).unwrap() else {
            panic!("expected [key, element]");
        };
        let Value::BulkString(element) = &items[1] else {
            panic!("expected an element");
        };
        assert!(
            received.insert(String::from_utf8(element.clone()).unwrap()),
            "an element twice"
        );
    }
    // Six waiters, seven elements: one is left, none lost.
    assert_eq!(int(&mut control, &["LLEN", "jobs"]), 1);
    let left: String = cmd("LPOP").arg("jobs").query(&mut control).unwrap();
    received.insert(left);
    let expected: HashSet<String> = (1..=7).map(|n| format!("j{n}")).collect();
    assert_eq!(received, expected);
    wait_for_no_waiters(&mut control);
}

#[test]
fn concurrent_pushes_and_blocking_pops_lose_and_duplicate_nothing() {
    const WAITERS: usize = 6;
    const PER_WAITER: usize = 40;
    const PUSHERS: usize = 3;
    let server = TestServer::start(4);
    let keys: Vec<String> = (0..4).map(|shard| key_on_shard("stress", shard, 4)).collect();
    let (received_tx, received_rx) = mpsc::channel();
    let waiters: Vec<_> = (0..WAITERS)
        .map(|waiter| {
            let mut connection = server.connection();
            let received_tx = received_tx.clone();
            let keys = keys.clone();
            std::thread::spawn(move || {
                for round in 0..PER_WAITER {
                    // Each waiter watches its own rotation of the keys.
                    let mut command = cmd(if round % 2 == 0 { "BLPOP" } else { "BRPOP" });
                    for offset in 0..keys.len() {
                        command.arg(&keys[(waiter + offset) % keys.len()]);
                    }
                    let (_, element): (String, String) = command.arg(0).query(&mut connection).expect("served");
                    received_tx.send(element).expect("collector alive");
                }
            })
        })
        .collect();
    drop(received_tx);
    let total = WAITERS * PER_WAITER;
    let pushers: Vec<_> = (0..PUSHERS)
        .map(|pusher| {
            let mut connection = server.connection();
            let keys = keys.clone();
            std::thread::spawn(move || {
                for n in (pusher..total).step_by(PUSHERS) {
                    let key = &keys[n % keys.len()];
                    let command = if n % 3 == 0 { "LPUSH" } else { "RPUSH" };
                    let _: i64 = cmd(command)
                        .arg(key)
                        .arg(format!("element-{n}"))
                        .query(&mut connection)
                        .unwrap();
                }
            })
        })
        .collect();
    for pusher in pushers {
        pusher.join().expect("pusher");
    }
    for waiter in waiters {
        waiter.join().expect("waiter");
    }
    let received: Vec<String> = received_rx.iter().collect();
    assert_eq!(received.len(), total, "one element per pop");
    let distinct: HashSet<&String> = received.iter().collect();
    assert_eq!(distinct.len(), total, "no element twice");
    let mut control = server.connection();
    for key in &keys {
        assert_eq!(int(&mut control, &["EXISTS", key]), 0, "nothing left over in {key}");
    }
    wait_for_no_waiters(&mut control);
}

#[test]
fn multi_key_waits_span_shards() {
    let server = TestServer::start(4);
    let mut control = server.connection();
    let keys: Vec<String> = (0..4).map(|shard| key_on_shard("spread", shard, 4)).collect();
    let mut args = vec!["BLPOP"];
    args.extend(keys.iter().map(String::as_str));
    args.push("0");
    let waiter = spawn_blocked(&server, &mut control, &args, 1);
    assert_eq!(info_client_field(&mut control, "total_blocking_keys"), 4);
    assert_eq!(int(&mut control, &["RPUSH", &keys[2], "from-shard-2"]), 1);
    assert_eq!(joined(waiter).unwrap(), pair(&keys[2], "from-shard-2"));
    // The registrations on the three other shards are gone too.
    wait_for_no_waiters(&mut control);
    assert_eq!(int(&mut control, &["EXISTS", &keys[2]]), 0);

    // BZMPOP across shards, woken by ZADD.
    let mut args = vec!["BZMPOP", "0", "4"];
    args.extend(keys.iter().map(String::as_str));
    args.extend(["MAX", "COUNT", "2"]);
    let waiter = spawn_blocked(&server, &mut control, &args, 1);
    assert_eq!(int(&mut control, &["ZADD", &keys[3], "1", "a", "2", "b", "3", "c"]), 3);
    assert_eq!(
        joined(waiter).unwrap(),
        Value::Array(vec![
            bulk(&keys[3]),
            Value::Array(vec![
                Value::Array(vec![bulk("c"), bulk("3")]),
                Value::Array(vec![bulk("b"), bulk("2")]),
            ]),
        ])
    );
    wait_for_no_waiters(&mut control);
}

#[test]
fn a_disconnected_waiter_leaves_nothing_behind() {
    for shards in [1, 4] {
        let server = TestServer::start(shards);
        let mut control = server.connection();
        let first = key_on_shard("gone", 0, shards);
        let second = key_on_shard("gone", shards - 1, shards);
        let mut raw = server.raw();
        raw.send(
            format!(
                "*4\r\n$5\r\nBLPOP\r\n${}\r\n{first}\r\n${}\r\n{second}\r\n$1\r\n0\r\n",
                first.len(),
                second.len()
            )
            .as_bytes(),
        );
        wait_for_blocked(&mut control, 1);
        raw.stream.shutdown(std::net::Shutdown::Both).expect("shutdown");
        drop(raw);
        wait_for_no_waiters(&mut control);
        // A later push keeps its element: nobody is left to take it.
        assert_eq!(int(&mut control, &["LPUSH", &first, "kept"]), 1);
        assert_eq!(
            int(&mut control, &["LPUSH", &second, "kept"]),
            if first == second { 2 } else { 1 }
        );
        assert_eq!(range(&mut control, &first)[0], "kept");
    }
}

#[test]
fn commands_sent_while_blocked_run_once_the_wait_ends() {
    let server = TestServer::start(1);
    let mut control = server.connection();
    let mut raw = server.raw();
    raw.send(b"*3\r\n$5\r\nBLPOP\r\n$6\r\nqueued\r\n$3\r\n0.2\r\n");
    wait_for_blocked(&mut control, 1);
    // Read by the connection while BLPOP waits, run after it.
    raw.send(b"*3\r\n$5\r\nRPUSH\r\n$6\r\nqueued\r\n$1\r\nx\r\n*2\r\n$4\r\nLLEN\r\n$6\r\nqueued\r\n");
    assert_eq!(raw.read_frame(), Frame::NullArray);
    assert_eq!(raw.read_frame(), Frame::Integer(1));
    assert_eq!(raw.read_frame(), Frame::Integer(1));
    wait_for_no_waiters(&mut control);
}

#[test]
fn a_killed_waiter_is_closed_and_deregistered() {
    let server = TestServer::start(1);
    let mut control = server.connection();
    let mut raw = server.raw();
    let Frame::Integer(id) = raw.command(&[b"CLIENT", b"ID"]) else {
        panic!("CLIENT ID replies an integer");
    };
    raw.send(b"*3\r\n$5\r\nBLPOP\r\n$6\r\nkilled\r\n$1\r\n0\r\n");
    wait_for_blocked(&mut control, 1);
    assert_eq!(int(&mut control, &["CLIENT", "KILL", "ID", &id.to_string()]), 1);
    assert!(raw.is_closed_by_server());
    wait_for_no_waiters(&mut control);
    assert_eq!(int(&mut control, &["RPUSH", "killed", "kept"]), 1);
}

#[test]
fn client_unblock_ends_the_wait_as_timeout_or_error() {
    let server = TestServer::start(1);
    let mut control = server.connection();
    let mut blocked = server.connection();
    let id = int(&mut blocked, &["CLIENT", "ID"]);
    let id_text = id.to_string();
    assert_eq!(
        int(&mut control, &["CLIENT", "UNBLOCK", &id_text]),
        0,
        "not blocked yet"
    );

    let waiter = std::thread::spawn(move || {
        let first = query(&mut blocked, &["BLPOP", "never", "0"]);
        let second = query(&mut blocked, &["BRPOPLPUSH", "never", "other", "0"]);
        (first, second)
    });
    wait_for_blocked(&mut control, 1);
    let list: String = cmd("CLIENT").arg("LIST").query(&mut control).unwrap();
    let line = list
        .lines()
        .find(|line| line.starts_with(&format!("id={id} ")))
        .expect("listed");
    assert!(line.contains(" flags=b "), "{line}");
    assert_eq!(int(&mut control, &["CLIENT", "UNBLOCK", &id_text]), 1);
    wait_for_blocked(&mut control, 1);
    assert_eq!(int(&mut control, &["CLIENT", "UNBLOCK", &id_text, "error"]), 1);
    let (first, second) = waiter.join().unwrap();
    assert_eq!(first.unwrap(), Value::Nil, "TIMEOUT replies as a timeout");
    assert_eq!(error_text(second), "UNBLOCKED client unblocked via CLIENT UNBLOCK");
    assert_eq!(int(&mut control, &["CLIENT", "UNBLOCK", &id_text, "TIMEOUT"]), 0);
    wait_for_no_waiters(&mut control);

    assert_eq!(
        error(&mut control, &["CLIENT", "UNBLOCK", &id_text, "later"]),
        "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
    );
    assert_eq!(
        error(&mut control, &["CLIENT", "UNBLOCK", "abc"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(int(&mut control, &["CLIENT", "UNBLOCK", "999999"]), 0);
    assert_eq!(int(&mut control, &["CLIENT", "UNBLOCK", "-1"]), 0);
    assert_eq!(
        error(&mut control, &["CLIENT", "UNBLOCK", &id_text, "ERROR", "extra"]),
        "ERR unknown subcommand or wrong number of arguments for 'UNBLOCK'. Try CLIENT HELP."
    );
}

#[test]
fn blmove_waits_then_moves_on_one_shard_or_across() {
    for shards in [1, 4] {
        let server = TestServer::start(shards);
        let mut control = server.connection();
        let source = key_on_shard("src", 0, shards);
        let destination = key_on_shard("dst", shards - 1, shards);
        let waiter = spawn_blocked(
            &server,
            &mut control,
            &["BLMOVE", &source, &destination, "RIGHT", "LEFT", "0"],
            1,
        );
        assert_eq!(int(&mut control, &["RPUSH", &source, "a", "b"]), 2);
        assert_eq!(joined(waiter).unwrap(), bulk("b"));
        assert_eq!(range(&mut control, &source), ["a"]);
        assert_eq!(range(&mut control, &destination), ["b"]);

        // BRPOPLPUSH woken by an LMOVE onto its source.
        let other = key_on_shard("other", shards / 2, shards);
        let waiter = spawn_blocked(&server, &mut control, &["BRPOPLPUSH", &other, &source, "0"], 1);
        assert_eq!(
            reply(&mut control, &["LMOVE", &destination, &other, "LEFT", "LEFT"]),
            bulk("b")
        );
        assert_eq!(joined(waiter).unwrap(), bulk("b"));
        assert_eq!(range(&mut control, &source), ["b", "a"]);
        assert_eq!(int(&mut control, &["EXISTS", &other]), 0);
        wait_for_no_waiters(&mut control);
    }
}

#[test]
fn blmove_feeds_a_waiter_on_its_destination() {
    for shards in [1, 4] {
        let server = TestServer::start(shards);
        let mut control = server.connection();
        let source = key_on_shard("chain-a", 0, shards);
        let destination = key_on_shard("chain-b", shards - 1, shards);
        let mover = spawn_blocked(
            &server,
            &mut control,
            &["BLMOVE", &source, &destination, "LEFT", "RIGHT", "0"],
            1,
        );
        let popper = spawn_blocked(&server, &mut control, &["BLPOP", &destination, "0"], 2);
        assert_eq!(int(&mut control, &["RPUSH", &source, "1", "2", "3"]), 3);
        assert_eq!(joined(mover).unwrap(), bulk("1"));
        assert_eq!(joined(popper).unwrap(), pair(&destination, "1"));
        assert_eq!(range(&mut control, &source), ["2", "3"]);
        assert_eq!(int(&mut control, &["EXISTS", &destination]), 0);
        wait_for_no_waiters(&mut control);
    }
}

/// A BLMOVE whose destination is on another shard is woken by its source's
/// shard and moves with a staged LMOVE: no observer ever sees the element in
/// neither list, and the woken mover gets the element ahead of later waiters.
#[test]
fn cross_shard_blmove_is_atomic_and_keeps_arrival_order() {
    const ELEMENTS: usize = 300;
    let server = TestServer::start(4);
    let mut control = server.connection();
    let source = key_on_shard("atomic-src", 0, 4);
    let destination = key_on_shard("atomic-dst", 3, 4);
    let pushed = key_on_shard("atomic-pushed", 1, 4);

    // Arrival order: the mover was first, so it gets the only element.
    let mover = spawn_blocked(
        &server,
        &mut control,
        &["BLMOVE", &source, &destination, "LEFT", "RIGHT", "0"],
        1,
    );
    let popper = spawn_blocked(&server, &mut control, &["BLPOP", &source, "0"], 2);
    assert_eq!(int(&mut control, &["RPUSH", &source, "first"]), 1);
    assert_eq!(joined(mover).unwrap(), bulk("first"));
    wait_for_blocked(&mut control, 1);
    assert_eq!(int(&mut control, &["RPUSH", &source, "second"]), 1);
    assert_eq!(joined(popper).unwrap(), pair(&source, "second"));
    assert_eq!(int(&mut control, &["DEL", &destination]), 1);

    // Under load: one pusher (RPUSH and a counter in one transaction, each
    // once the mover is blocked), one mover, and an observer reading both
    // lengths and the counter in one transaction. Every observation must
    // account for every element.
    let mut mover_connection = server.connection();
    let (mover_source, mover_destination) = (source.clone(), destination.clone());
    let mover = std::thread::spawn(move || {
        for _ in 0..ELEMENTS {
            let moved: Option<String> = cmd("BLMOVE")
                .arg(&mover_source)
                .arg(&mover_destination)
                .arg("LEFT")
                .arg("RIGHT")
                .arg(5)
                .query(&mut mover_connection)
                .expect("BLMOVE");
            assert!(moved.is_some(), "every BLMOVE gets an element within its timeout");
        }
    });
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let mut observer_connection = server.connection();
    let (observed_source, observed_destination, observed_pushed) =
        (source.clone(), destination.clone(), pushed.clone());
    let observer = std::thread::spawn(move || {
        let mut observations = 0usize;
        while done_rx.try_recv().is_err() {
            let (in_source, in_destination, pushed_count): (usize, usize, Option<usize>) = redis::pipe()
                .atomic()
                .cmd("LLEN")
                .arg(&observed_source)
                .cmd("LLEN")
                .arg(&observed_destination)
                .cmd("GET")
                .arg(&observed_pushed)
                .query(&mut observer_connection)
                .expect("MULTI/EXEC");
            assert_eq!(
                in_source + in_destination,
                pushed_count.unwrap_or(0),
                "an element was in neither list (source {in_source}, destination {in_destination})"
            );
            observations += 1;
        }
        observations
    });
    let mut pusher = server.connection();
    for n in 0..ELEMENTS {
        // Each push wakes the blocked mover: the cross-shard serving path.
        wait_for_blocked(&mut pusher, 1);
        let _: (i64, i64) = redis::pipe()
            .atomic()
            .cmd("RPUSH")
            .arg(&source)
            .arg(n)
            .cmd("INCR")
            .arg(&pushed)
            .query(&mut pusher)
            .expect("MULTI/EXEC");
    }
    mover.join().expect("the mover does not panic");
    done_tx.send(()).expect("the observer is running");
    let observations = observer.join().expect("the observer does not panic");
    assert!(observations > 0);
    let moved = range(&mut control, &destination);
    let expected: Vec<String> = (0..ELEMENTS).map(|n| n.to_string()).collect();
    assert_eq!(moved, expected, "every element moved once, in order");
    assert_eq!(int(&mut control, &["EXISTS", &source]), 0);
    wait_for_no_waiters(&mut control);
}

#[test]
fn blmove_to_a_destination_of_another_type_moves_nothing() {
    for shards in [1, 4] {
        let server = TestServer::start(shards);
        let mut control = server.connection();
        let source = key_on_shard("wt-src", 0, shards);
        let destination = key_on_shard("wt-dst", shards - 1, shards);
        let _: () = cmd("SET").arg(&destination).arg("string").query(&mut control).unwrap();
        // The source is missing, so the command blocks without looking at
        // the destination, as Redis does.
        let waiter = spawn_blocked(
            &server,
            &mut control,
            &["BLMOVE", &source, &destination, "LEFT", "LEFT", "0"],
            1,
        );
        assert_eq!(int(&mut control, &["RPUSH", &source, "x", "y"]), 2);
        assert_eq!(
            error_text(joined(waiter)),
            "WRONGTYPE Operation against a key holding the wrong kind of value"
        );
        assert_eq!(range(&mut control, &source), ["x", "y"], "nothing moved");
        let value: String = cmd("GET").arg(&destination).query(&mut control).unwrap();
        assert_eq!(value, "string");
        wait_for_no_waiters(&mut control);
    }
}

#[test]
fn sorted_set_pops_block_until_zadd() {
    let server = TestServer::start(1);
    let mut control = server.connection();
    let _: i64 = cmd("ZADD")
        .arg("z")
        .arg(&["1", "a", "2", "b", "3.5", "c"])
        .query(&mut control)
        .unwrap();
    assert_eq!(
        reply(&mut control, &["BZPOPMIN", "missing", "z", "0"]),
        Value::Array(vec![bulk("z"), bulk("a"), bulk("1")])
    );
    assert_eq!(
        reply(&mut control, &["BZPOPMAX", "z", "0"]),
        Value::Array(vec![bulk("z"), bulk("c"), bulk("3.5")])
    );
    assert_eq!(
        reply(&mut control, &["BZMPOP", "0", "1", "z", "MIN", "COUNT", "5"]),
        Value::Array(vec![
            bulk("z"),
            Value::Array(vec![Value::Array(vec![bulk("b"), bulk("2")])])
        ])
    );
    assert_eq!(int(&mut control, &["EXISTS", "z"]), 0);

    let minimum = spawn_blocked(&server, &mut control, &["BZPOPMIN", "z", "0"], 1);
    let maximum = spawn_blocked(&server, &mut control, &["BZPOPMAX", "z", "0"], 2);
    assert_eq!(int(&mut control, &["ZADD", "z", "5", "five", "-1", "minus"]), 2);
    assert_eq!(
        joined(minimum).unwrap(),
        Value::Array(vec![bulk("z"), bulk("minus"), bulk("-1")])
    );
    assert_eq!(
        joined(maximum).unwrap(),
        Value::Array(vec![bulk("z"), bulk("five"), bulk("5")])
    );
    wait_for_no_waiters(&mut control);

    // RESP3 scores are doubles.
    let mut raw = server.raw();
    assert!(!raw.command(&[b"HELLO", b"3"]).is_error());
    let _: i64 = cmd("ZADD").arg("z").arg("1.5").arg("m").query(&mut control).unwrap();
    assert_eq!(
        raw.command(&[b"BZPOPMIN", b"z", b"0"]),
        Frame::Array(vec![
            Frame::BulkString("z".into()),
            Frame::BulkString("m".into()),
            Frame::Double(1.5)
        ])
    );
}

#[test]
fn waiters_for_another_type_stay_blocked() {
    let server = TestServer::start(1);
    let mut control = server.connection();
    let list_waiter = spawn_blocked(&server, &mut control, &["BLPOP", "shared", "0"], 1);
    let set_waiter = spawn_blocked(&server, &mut control, &["BZPOPMIN", "shared", "0"], 2);
    // A sorted set serves the sorted-set waiter, queued behind the list one.
    assert_eq!(int(&mut control, &["ZADD", "shared", "1", "member"]), 1);
    assert_eq!(
        joined(set_waiter).unwrap(),
        Value::Array(vec![bulk("shared"), bulk("member"), bulk("1")])
    );
    wait_for_blocked(&mut control, 1);
    // A string serves nobody.
    let _: () = cmd("SET").arg("shared").arg("string").query(&mut control).unwrap();
    let _: i64 = cmd("DEL").arg("shared").query(&mut control).unwrap();
    assert_eq!(info_client_field(&mut control, "blocked_clients"), 1);
    assert_eq!(int(&mut control, &["RPUSH", "shared", "element"]), 1);
    assert_eq!(joined(list_waiter).unwrap(), pair("shared", "element"));
    wait_for_no_waiters(&mut control);
}

#[test]
fn keys_arriving_by_rename_and_restore_serve_waiters() {
    let server = TestServer::start(4);
    let mut control = server.connection();
    let target = key_on_shard("target", 0, 4);
    let elsewhere = key_on_shard("elsewhere", 3, 4);
    let waiter = spawn_blocked(&server, &mut control, &["BLPOP", &target, "0"], 1);
    let _: i64 = cmd("RPUSH")
        .arg(&elsewhere)
        .arg(&["r1", "r2"])
        .query(&mut control)
        .unwrap();
    let _: () = cmd("RENAME").arg(&elsewhere).arg(&target).query(&mut control).unwrap();
    assert_eq!(joined(waiter).unwrap(), pair(&target, "r1"));
    assert_eq!(range(&mut control, &target), ["r2"]);

    let payload: Vec<u8> = cmd("DUMP").arg(&target).query(&mut control).unwrap();
    let _: i64 = cmd("DEL").arg(&target).query(&mut control).unwrap();
    let waiter = spawn_blocked(&server, &mut control, &["BRPOP", &target, "0"], 1);
    let _: () = cmd("RESTORE")
        .arg(&target)
        .arg(0)
        .arg(payload)
        .query(&mut control)
        .unwrap();
    assert_eq!(joined(waiter).unwrap(), pair(&target, "r2"));
    wait_for_no_waiters(&mut control);
}
