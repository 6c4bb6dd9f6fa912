//! MULTI / EXEC / DISCARD through the redis crate: replies and errors as
//! Redis 7.2 gives them, isolation across shards under concurrent clients,
//! and the cluster-mode slot rules.

mod cluster_harness;
mod common;

use bytes::Bytes;
use common::{key_on_shard, TestServer};
use redis::{cmd, Value};
use starling_protocol::Frame;

fn error_of(result: redis::RedisResult<Value>) -> String {
    let error = result.expect_err("an error reply");
    cluster_harness::error_text(&error)
}

#[test]
fn queued_commands_run_in_order_and_errors_follow_redis() {
    let server = TestServer::start(2);
    let mut connection = server.connection();
    let (a, b) = (key_on_shard("tx", 0, 2), key_on_shard("tx", 1, 2));
    // redis-rs's atomic pipeline is MULTI ... EXEC.
    let (first, second, both): (i64, i64, Vec<i64>) = redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg(&a)
        .cmd("INCRBY")
        .arg(&b)
        .arg(5)
        .cmd("MGET")
        .arg(&a)
        .arg(&b)
        .query(&mut connection)
        .unwrap();
    assert_eq!((first, second, both), (1, 5, vec![1, 5]));

    // A runtime error is one reply in the array; the rest still run.
    let mut raw = server.raw();
    assert_eq!(raw.command(&[b"MULTI"]), Frame::ok());
    for args in [&[&b"SET"[..], b"s", b"x"][..], &[b"INCR", b"s"], &[b"GET", b"s"]] {
        assert_eq!(raw.command(args), Frame::simple("QUEUED"));
    }
    assert_eq!(
        raw.command(&[b"EXEC"]),
        Frame::Array(vec![
            Frame::ok(),
            Frame::error("ERR value is not an integer or out of range"),
            Frame::bulk(Bytes::from_static(b"x")),
        ])
    );

    // A queueing error dooms the transaction: nothing runs.
    let _: () = cmd("MULTI").query(&mut connection).unwrap();
    let _: String = cmd("SET").arg("doomed").arg("1").query(&mut connection).unwrap();
    assert_eq!(
        error_of(cmd("NOSUCH").query(&mut connection)),
        "ERR unknown command 'NOSUCH', with args beginning with: "
    );
    assert_eq!(
        error_of(cmd("MULTI").query(&mut connection)),
        "ERR MULTI calls can not be nested"
    );
    assert_eq!(
        error_of(cmd("EXEC").query(&mut connection)),
        "EXECABORT Transaction discarded because of previous errors."
    );
    let doomed: Option<String> = cmd("GET").arg("doomed").query(&mut connection).unwrap();
    assert_eq!(doomed, None);

    // DISCARD and RESET drop the queue; CLIENT LIST shows it meanwhile.
    let id: i64 = cmd("CLIENT").arg("ID").query(&mut connection).unwrap();
    let _: () = cmd("MULTI").query(&mut connection).unwrap();
    let _: String = cmd("SET").arg("dropped").arg("1").query(&mut connection).unwrap();
    let _: String = cmd("GET").arg("dropped").query(&mut connection).unwrap();
    let client_line = |observer: &mut redis::Connection| -> String {
        let list: String = cmd("CLIENT").arg("LIST").query(observer).unwrap();
        list.lines()
            .find(|line| line.starts_with(&format!("id={id} ")))
            .expect("the client is listed")
            .to_string()
    };
    let mut observer = server.connection();
    let line = client_line(&mut observer);
    assert!(line.contains(" flags=x ") && line.contains(" multi=2 "), "{line}");
    let _: () = cmd("DISCARD").query(&mut connection).unwrap();
    let line = client_line(&mut observer);
    assert!(line.contains(" flags=N ") && line.contains(" multi=-1 "), "{line}");
    let _: () = cmd("MULTI").query(&mut connection).unwrap();
    let _: String = cmd("SET").arg("dropped").arg("1").query(&mut connection).unwrap();
    let reset: String = cmd("RESET").query(&mut connection).unwrap();
    assert_eq!(reset, "RESET");
    let dropped: Option<String> = cmd("GET").arg("dropped").query(&mut connection).unwrap();
    assert_eq!(dropped, None);
    assert_eq!(error_of(cmd("EXEC").query(&mut connection)), "ERR EXEC without MULTI");
    assert_eq!(
        error_of(cmd("DISCARD").query(&mut connection)),
        "ERR DISCARD without MULTI"
    );

    // A blocking pop does not block inside EXEC; one with data pops.
    type Popped = Option<(String, String)>;
    let (popped, missing): (Popped, Popped) = redis::pipe()
        .atomic()
        .cmd("RPUSH")
        .arg("queue")
        .arg("job")
        .ignore()
        .cmd("BLPOP")
        .arg("queue")
        .arg(0)
        .cmd("BLPOP")
        .arg("empty")
        .arg(0)
        .query(&mut connection)
        .unwrap();
    assert_eq!(popped, Some(("queue".into(), "job".into())));
    assert_eq!(missing, None);
}

#[test]
fn transactions_are_isolated_across_shards() {
    let server = TestServer::start(2);
    let (a, b) = (key_on_shard("iso", 0, 2), key_on_shard("iso", 1, 2));
    let writers: Vec<_> = (0..3)
        .map(|_| {
            let mut connection = server.connection();
            let (a, b) = (a.clone(), b.clone());
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let _: () = redis::pipe()
                        .atomic()
                        .cmd("INCR")
                        .arg(&a)
                        .ignore()
                        .cmd("INCR")
                        .arg(&b)
                        .ignore()
                        .query(&mut connection)
                        .unwrap();
                }
            })
        })
        .collect();
    let mut reader = server.connection();
    let mut reads = 0;
    while writers.iter().any(|writer| !writer.is_finished()) || reads == 0 {
        let (first, second): (Option<i64>, Option<i64>) =
            redis::pipe().atomic().get(&a).get(&b).query(&mut reader).unwrap();
        assert_eq!(first, second, "a transaction saw another half done");
        // Outside a transaction the two reads may straddle a write; inside
        // one they never do.
        reads += 1;
    }
    for writer in writers {
        writer.join().unwrap();
    }
    let totals: (i64, i64) = redis::pipe().get(&a).get(&b).query(&mut reader).unwrap();
    assert_eq!(totals, (600, 600));
}

#[test]
fn cluster_transactions_stay_in_one_slot_served_here() {
    let (_dirs, nodes) = cluster_harness::formed_cluster("tx", 2);
    let mut connection = nodes[0].connection();
    // Slots 0-8191 live on node 0: {a} is 15495 (node 1), {b} 3300 (node 0).
    let _: () = cmd("MULTI").query(&mut connection).unwrap();
    let moved = error_of(cmd("SET").arg("{a}x").arg(1).query(&mut connection));
    assert!(moved.starts_with("MOVED 15495 "), "{moved}");
    assert_eq!(
        error_of(cmd("EXEC").query(&mut connection)),
        "EXECABORT Transaction discarded because of previous errors."
    );
    let _: () = cmd("MULTI").query(&mut connection).unwrap();
    let _: String = cmd("SET").arg("{b}x").arg(1).query(&mut connection).unwrap();
    let _: String = cmd("SET").arg("{c}x").arg(1).query(&mut connection).unwrap();
    assert_eq!(
        error_of(cmd("EXEC").query(&mut connection)),
        "CROSSSLOT Keys in request don't hash to the same slot"
    );
    let (set, value): (String, String) = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("{b}x")
        .arg("v")
        .cmd("GET")
        .arg("{b}x")
        .query(&mut connection)
        .unwrap();
    assert_eq!((set.as_str(), value.as_str()), ("OK", "v"));
    // Keyless commands mix in freely, as redis-cli --cluster fix does.
    let (bumped,): (String,) = redis::pipe()
        .atomic()
        .cmd("CLUSTER")
        .arg("BUMPEPOCH")
        .query(&mut connection)
        .unwrap();
    assert!(bumped.starts_with("BUMPED") || bumped.starts_with("STILL"), "{bumped}");
}

#[test]
fn asking_before_multi_lasts_for_the_whole_transaction() {
    let (_dirs, nodes) = cluster_harness::formed_cluster("tx-asking", 2);
    // {b} is slot 3300, owned by node 0; node 1 imports it.
    let source_id = cluster_harness::my_id(&nodes[0]);
    let reply: String = cluster_harness::query(&nodes[1], &["CLUSTER", "SETSLOT", "3300", "IMPORTING", &source_id]);
    assert_eq!(reply, "OK");
    let mut raw = nodes[1].raw();
    // Without ASKING the queued command is sent to the owner at once.
    assert_eq!(raw.command(&[b"MULTI"]), Frame::ok());
    let Frame::Error(moved) = raw.command(&[b"SET", b"{b}k", b"v"]) else {
        panic!("MOVED expected");
    };
    assert!(moved.starts_with(b"MOVED 3300 "), "{moved:?}");
    assert_eq!(
        raw.command(&[b"EXEC"]),
        Frame::error("EXECABORT Transaction discarded because of previous errors.")
    );
    // ASKING then MULTI: every queued command is served here.
    assert_eq!(raw.command(&[b"ASKING"]), Frame::ok());
    assert_eq!(raw.command(&[b"MULTI"]), Frame::ok());
    assert_eq!(raw.command(&[b"SET", b"{b}k", b"v"]), Frame::simple("QUEUED"));
    assert_eq!(raw.command(&[b"GET", b"{b}k"]), Frame::simple("QUEUED"));
    assert_eq!(
        raw.command(&[b"EXEC"]),
        Frame::Array(vec![Frame::ok(), Frame::bulk(Bytes::from_static(b"v"))])
    );
    // And no longer: the next command is sent to the owner.
    let Frame::Error(after) = raw.command(&[b"GET", b"{b}k"]) else {
        panic!("MOVED expected");
    };
    assert!(after.starts_with(b"MOVED 3300 "), "{after:?}");
}
