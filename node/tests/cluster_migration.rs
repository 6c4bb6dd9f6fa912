//! The Redis-compatible slot migration path against in-process nodes:
//! CLUSTER SETSLOT (errors, markers, restart), the ASK / TRYAGAIN / ASKING
//! routing rules byte for byte, MIGRATE (options, errors, TTLs, BUSYKEY),
//! and `redis-cli --cluster` reshard, rebalance, add-node, del-node and
//! check, with a background writer whose acknowledged writes must all be
//! readable at the end.
//!
//! Every reply text here was first taken from a real Redis 7 cluster.

mod cluster_harness;
mod common;

use std::collections::HashMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cluster_harness::*;
use common::{bulk, RawConnection, TestServer};
use redis::Commands;
use starling_protocol::{key_slot, Frame};

fn error(text: &str) -> Frame {
    Frame::Error(Bytes::copy_from_slice(text.as_bytes()))
}

fn ok() -> Frame {
    Frame::SimpleString(Bytes::from_static(b"OK"))
}

fn send(raw: &mut RawConnection, words: &[&str]) -> Frame {
    let args: Vec<&[u8]> = words.iter().map(|word| word.as_bytes()).collect();
    raw.command(&args)
}

/// A hash tag whose slot lies in `start..=end`, so that `{tag}name` keys
/// land there.
fn tag_in(start: u16, end: u16, skip: usize) -> String {
    (0..)
        .map(|index| format!("t{index}"))
        .filter(|tag| (start..=end).contains(&key_slot(tag.as_bytes())))
        .nth(skip)
        .expect("a tag in the range")
}

fn myself_line(node: &TestServer) -> String {
    let nodes: String = query(node, &["CLUSTER", "NODES"]);
    nodes
        .lines()
        .find(|line| line.contains("myself"))
        .expect("a myself line")
        .to_string()
}

/// Opens slot `slot` for migration from `source` to `target`, as redis-cli does.
fn open_slot(source: &TestServer, target: &TestServer, slot: u16) {
    let slot = slot.to_string();
    let reply: String = query(target, &["CLUSTER", "SETSLOT", &slot, "IMPORTING", &my_id(source)]);
    assert_eq!(reply, "OK");
    let reply: String = query(source, &["CLUSTER", "SETSLOT", &slot, "MIGRATING", &my_id(target)]);
    assert_eq!(reply, "OK");
}

#[test]
fn setslot_follows_redis_rules_and_its_markers_survive_a_restart() {
    let (dirs, mut nodes) = formed_cluster("setslot", 2);
    let (a_id, b_id) = (my_id(&nodes[0]), my_id(&nodes[1]));
    let tag = tag_in(0, 8191, 0);
    let slot = key_slot(tag.as_bytes()).to_string();
    let key = format!("{{{tag}}}a");
    let mut a = nodes[0].raw();
    assert_eq!(send(&mut a, &["SET", &key, "1"]), ok());
    let expectations: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["CLUSTER", "SETSLOT", "9000", "MIGRATING", &b_id],
            "ERR I'm not the owner of hash slot 9000".into(),
        ),
        (
            vec!["CLUSTER", "SETSLOT", "100", "MIGRATING", "abcd"],
            "ERR I don't know about node abcd".into(),
        ),
        (
            vec!["CLUSTER", "SETSLOT", "100", "IMPORTING", &b_id],
            "ERR I'm already the owner of hash slot 100".into(),
        ),
        (
            vec!["CLUSTER", "SETSLOT", "16384", "STABLE"],
            "ERR Invalid or out of range slot".into(),
        ),
        (
            vec!["CLUSTER", "SETSLOT", "x", "STABLE"],
            "ERR Invalid or out of range slot".into(),
        ),
        (
            vec!["CLUSTER", "SETSLOT", "100", "bogus"],
            "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP".into(),
        ),
        (
            vec!["CLUSTER", "SETSLOT", "100", "STABLE", "extra"],
            "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP".into(),
        ),
        (
            vec!["CLUSTER", "SETSLOT", "100", "NODE", "zzz"],
            "ERR Unknown node zzz".into(),
        ),
        (
            vec!["CLUSTER", "SETSLOT", "100"],
            "ERR wrong number of arguments for 'cluster|setslot' command".into(),
        ),
    ];
    for (command, expected) in &expectations {
        assert_eq!(send(&mut a, command), error(expected), "{command:?}");
    }
    assert_eq!(send(&mut a, &["CLUSTER", "SETSLOT", "100", "MIGRATING", &b_id]), ok());
    assert_eq!(send(&mut a, &["CLUSTER", "SETSLOT", &slot, "MIGRATING", &b_id]), ok());
    assert_eq!(
        send(&mut a, &["CLUSTER", "SETSLOT", &slot, "NODE", &b_id]),
        error(&format!(
            "ERR Can't assign hashslot {slot} to a different node while I still hold keys for this hash slot."
        ))
    );
    let mut b = nodes[1].raw();
    assert_eq!(send(&mut b, &["CLUSTER", "SETSLOT", "100", "IMPORTING", &a_id]), ok());
    assert_eq!(
        send(&mut b, &["CLUSTER", "SETSLOT", "8000", "IMPORTING", "zzz"]),
        error("ERR I don't know about node zzz")
    );

    let mut marks = vec![
        (slot.parse::<u16>().unwrap(), format!("[{slot}->-{b_id}]")),
        (100, format!("[100->-{b_id}]")),
    ];
    marks.sort();
    let marks: Vec<String> = marks.into_iter().map(|(_, mark)| mark).collect();
    let expected_a = format!(" connected 0-8191 {}", marks.join(" "));
    assert!(
        myself_line(&nodes[0]).ends_with(&expected_a),
        "{}",
        myself_line(&nodes[0])
    );
    let expected_b = format!(" connected 8192-16383 [100-<-{a_id}]");
    assert!(
        myself_line(&nodes[1]).ends_with(&expected_b),
        "{}",
        myself_line(&nodes[1])
    );
    // Not on the other nodes' lines.
    let seen_by_b: String = query(&nodes[1], &["CLUSTER", "NODES"]);
    let a_seen_by_b = seen_by_b.lines().find(|line| line.starts_with(&a_id)).unwrap();
    assert!(a_seen_by_b.ends_with(" connected 0-8191"), "{a_seen_by_b}");

    // A restart keeps the markers, as nodes.conf does for Redis.
    drop(a);
    let restarted = {
        let old = nodes.remove(0);
        drop(old);
        start_node(&dirs[0].path, 2, &[])
    };
    nodes.insert(0, restarted);
    wait_for_agreement(&nodes.iter().collect::<Vec<_>>(), Duration::from_secs(20));
    assert!(
        myself_line(&nodes[0]).ends_with(&expected_a),
        "{}",
        myself_line(&nodes[0])
    );

    // STABLE clears both kinds.
    let mut a = nodes[0].raw();
    assert_eq!(send(&mut a, &["CLUSTER", "SETSLOT", "100", "STABLE"]), ok());
    assert_eq!(send(&mut a, &["CLUSTER", "SETSLOT", &slot, "STABLE"]), ok());
    assert!(
        myself_line(&nodes[0]).ends_with(" connected 0-8191"),
        "{}",
        myself_line(&nodes[0])
    );
    assert_eq!(send(&mut b, &["CLUSTER", "SETSLOT", "100", "STABLE"]), ok());
    assert!(myself_line(&nodes[1]).ends_with(" connected 8192-16383"));
}

#[test]
fn ask_tryagain_and_asking_follow_redis_byte_for_byte() {
    let (_dirs, nodes) = formed_cluster("routing", 2);
    let (a_node, b_node) = (&nodes[0], &nodes[1]);
    let tag = tag_in(0, 8191, 1);
    let slot = key_slot(tag.as_bytes());
    let here = format!("{{{tag}}}here");
    let gone = format!("{{{tag}}}gone");
    let other = format!("{{{tag}}}other");
    let mut a = a_node.raw();
    assert_eq!(send(&mut a, &["SET", &here, "v"]), ok());
    open_slot(a_node, b_node, slot);
    let ask = format!("-ASK {slot} 127.0.0.1:{}\r\n", b_node.port());
    let moved = format!("-MOVED {slot} 127.0.0.1:{}\r\n", a_node.port());
    let tryagain = "-TRYAGAIN Multiple keys request during rehashing of slot\r\n";

    // The source serves what it has, asks for what it does not, and refuses a mix.
    assert_eq!(send(&mut a, &["GET", &here]), bulk("v"));
    let exchanges: Vec<(Vec<&str>, &str)> = vec![
        (vec!["GET", &gone], ask.as_str()),
        (vec!["SET", &gone, "1"], ask.as_str()),
        (vec!["DEL", &gone, &other], ask.as_str()),
        (vec!["MGET", &here, &gone], tryagain),
    ];
    for (command, expected) in &exchanges {
        raw_send(&mut a, command);
        assert_eq!(read_text(&mut a, expected.len()), *expected, "{command:?}");
    }
    assert_eq!(
        send(&mut a, &["MGET", &here, &here]),
        Frame::Array(vec![bulk("v"), bulk("v")])
    );

    // The target redirects to the owner unless the command follows ASKING,
    // and ASKING lasts one command.
    let mut b = b_node.raw();
    raw_send(&mut b, &["GET", &gone]);
    assert_eq!(read_text(&mut b, moved.len()), moved);
    assert_eq!(send(&mut b, &["ASKING"]), ok());
    assert_eq!(send(&mut b, &["GET", &gone]), Frame::Null);
    raw_send(&mut b, &["GET", &gone]);
    assert_eq!(read_text(&mut b, moved.len()), moved);
    assert_eq!(send(&mut b, &["ASKING"]), ok());
    raw_send(&mut b, &["MGET", &gone, &other]);
    assert_eq!(read_text(&mut b, tryagain.len()), tryagain);
    assert_eq!(send(&mut b, &["ASKING"]), ok());
    assert_eq!(
        send(&mut b, &["MGET", &gone, &gone]),
        Frame::Array(vec![Frame::Null, Frame::Null])
    );
    assert_eq!(send(&mut b, &["ASKING"]), ok());
    assert_eq!(send(&mut b, &["SET", &gone, "new"]), ok());
    assert_eq!(send(&mut b, &["ASKING"]), ok());
    assert_eq!(
        send(&mut b, &["PING"]),
        Frame::SimpleString(Bytes::from_static(b"PONG"))
    );
    raw_send(&mut b, &["GET", &gone]);
    assert_eq!(read_text(&mut b, moved.len()), moved, "PING used the ASKING up");
    // ASKING in a pipeline applies to the command right after it.
    b.send(format!("*1\r\n$6\r\nASKING\r\n*2\r\n$3\r\nGET\r\n${}\r\n{gone}\r\n", gone.len()).as_bytes());
    assert_eq!(b.read_frame(), ok());
    assert_eq!(b.read_frame(), bulk("new"));
    // RESTORE-ASKING needs no ASKING in an importing slot.
    let payload = match send(&mut a, &["DUMP", &here]) {
        Frame::BulkString(payload) => payload,
        other => panic!("DUMP replied {other:?}"),
    };
    let restored = b.command(&[b"RESTORE-ASKING", here.as_bytes(), b"0", &payload]);
    assert_eq!(restored, ok());
    // A node neither owning nor importing the slot answers MOVED to RESTORE-ASKING.
    let foreign_tag = tag_in(8192, 16383, 0);
    let foreign_key = format!("{{{foreign_tag}}}x");
    let reply = a.command(&[b"RESTORE-ASKING", foreign_key.as_bytes(), b"0", &payload]);
    assert_eq!(
        reply,
        error(&format!(
            "MOVED {} 127.0.0.1:{}",
            key_slot(foreign_tag.as_bytes()),
            b_node.port()
        ))
    );
}

fn raw_send(raw: &mut RawConnection, words: &[&str]) {
    let mut request = format!("*{}\r\n", words.len()).into_bytes();
    for word in words {
        request.extend_from_slice(format!("${}\r\n{word}\r\n", word.len()).as_bytes());
    }
    raw.send(&request);
}

fn read_text(raw: &mut RawConnection, length: usize) -> String {
    String::from_utf8(raw.read_exact_bytes(length)).unwrap()
}

#[test]
fn migrate_moves_keys_with_their_ttls_and_redis_errors() {
    let (_dirs, nodes) = formed_cluster("migrate", 2);
    let (a_node, b_node) = (&nodes[0], &nodes[1]);
    let tag = tag_in(0, 8191, 2);
    let slot = key_slot(tag.as_bytes());
    let key = |name: &str| format!("{{{tag}}}{name}");
    let mut a = a_node.raw();
    assert_eq!(send(&mut a, &["SET", &key("ttl"), "1", "PX", "50000"]), ok());
    assert_eq!(send(&mut a, &["RPUSH", &key("list"), "x", "y"]), Frame::Integer(2));
    for name in ["busy", "copy", "k1", "k2", "db"] {
        assert_eq!(send(&mut a, &["SET", &key(name), name]), ok());
    }
    let port = b_node.port().to_string();
    let migrate = |a: &mut RawConnection, rest: &[&str]| {
        let mut words = vec!["MIGRATE", "127.0.0.1", port.as_str()];
        words.extend_from_slice(rest);
        send(a, &words)
    };
    // Errors found while parsing, before anything moves.
    assert_eq!(migrate(&mut a, &["", "0", "1000", "bogus"]), error("ERR syntax error"));
    assert_eq!(
        migrate(&mut a, &["", "x", "1000"]),
        error("ERR value is not an integer or out of range")
    );
    assert_eq!(migrate(&mut a, &["", "0", "1000", "AUTH"]), error("ERR syntax error"));
    assert_eq!(
        migrate(&mut a, &[&key("k1"), "0", "1000", "KEYS", &key("k2")]),
        error("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string")
    );
    assert_eq!(
        send(&mut a, &["MIGRATE", "127.0.0.1"]),
        error("ERR wrong number of arguments for 'migrate' command")
    );
    assert_eq!(
        migrate(&mut a, &[&key("missing"), "0", "1000"]),
        Frame::SimpleString(Bytes::from_static(b"NOKEY"))
    );

    open_slot(a_node, b_node, slot);
    let mut b = b_node.raw();
    let asking = |b: &mut RawConnection, words: &[&str]| {
        assert_eq!(send(b, &["ASKING"]), ok());
        send(b, words)
    };
    // The key and its TTL move; the source no longer has it.
    assert_eq!(migrate(&mut a, &[&key("ttl"), "0", "5000"]), ok());
    let pttl = match asking(&mut b, &["PTTL", &key("ttl")]) {
        Frame::Integer(pttl) => pttl,
        other => panic!("PTTL replied {other:?}"),
    };
    assert!((40_000..=50_000).contains(&pttl), "{pttl}");
    assert!(
        matches!(send(&mut a, &["GET", &key("ttl")]), Frame::Error(_)),
        "ASK now"
    );
    assert_eq!(
        migrate(
            &mut a,
            &[
                "",
                "0",
                "5000",
                "REPLACE",
                "KEYS",
                &key("list"),
                &key("k1"),
                &key("nope")
            ]
        ),
        ok()
    );
    assert_eq!(
        asking(&mut b, &["LRANGE", &key("list"), "0", "-1"]),
        Frame::Array(vec![bulk("x"), bulk("y")])
    );
    assert_eq!(asking(&mut b, &["GET", &key("k1")]), bulk("k1"));

    // COPY leaves the source key; a second copy finds it at the target.
    assert_eq!(migrate(&mut a, &[&key("copy"), "0", "5000", "COPY"]), ok());
    assert_eq!(send(&mut a, &["GET", &key("copy")]), bulk("copy"));
    let busy = error("ERR Target instance replied with error: BUSYKEY Target key name already exists.");
    assert_eq!(migrate(&mut a, &[&key("copy"), "0", "5000", "COPY"]), busy);
    // BUSYKEY keeps the source key; REPLACE overwrites.
    assert_eq!(asking(&mut b, &["SET", &key("busy"), "old"]), ok());
    assert_eq!(migrate(&mut a, &[&key("busy"), "0", "5000"]), busy);
    assert_eq!(send(&mut a, &["GET", &key("busy")]), bulk("busy"));
    assert_eq!(migrate(&mut a, &[&key("busy"), "0", "5000", "REPLACE"]), ok());
    assert_eq!(asking(&mut b, &["GET", &key("busy")]), bulk("busy"));

    // Errors of the target, and of the network.
    assert_eq!(
        migrate(&mut a, &[&key("db"), "1", "5000"]),
        error("ERR Target instance replied with error: ERR SELECT is not allowed in cluster mode")
    );
    assert_eq!(
        migrate(&mut a, &[&key("db"), "0", "5000", "AUTH", "secret"]),
        error(
            "ERR Target instance replied with error: ERR AUTH <password> called without any password \
             configured for the default user. Are you sure your configuration is correct?"
        )
    );
    assert_eq!(
        send(&mut a, &["GET", &key("db")]),
        bulk("db"),
        "an AUTH error keeps the key"
    );
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port().to_string()
    };
    assert_eq!(
        send(&mut a, &["MIGRATE", "127.0.0.1", &closed_port, &key("db"), "0", "1000"]),
        error("IOERR error or timeout writing to target instance")
    );
    assert_eq!(send(&mut a, &["GET", &key("db")]), bulk("db"));
}

/// Runs `redis-cli` and returns its output; the command must succeed.
fn redis_cli(args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(args)
        .output()
        .expect("redis-cli is installed (apt-get install redis-tools)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "redis-cli {args:?} failed:\n{text}");
    text
}

/// `redis-cli --cluster check` reports no error or warning (waiting, a
/// bounded time, for gossip to bring every node to the same view).
fn assert_check_clean(node: &TestServer) {
    let address = node_address(node);
    let mut last = String::new();
    wait_until(Duration::from_secs(20), "a clean redis-cli --cluster check", || {
        let output = Command::new("redis-cli")
            .args(["--cluster", "check", &address])
            .output()
            .expect("redis-cli is installed (apt-get install redis-tools)");
        last = String::from_utf8_lossy(&output.stdout).into_owned();
        output.status.success() && !last.contains("[ERR]") && !last.contains("[WARNING]")
    });
    assert!(last.contains("[OK] All 16384 slots covered."), "{last}");
}

fn cluster_client(nodes: &[&TestServer]) -> redis::cluster::ClusterConnection {
    let urls: Vec<String> = nodes.iter().map(|node| node.url()).collect();
    redis::cluster::ClusterClientBuilder::new(urls)
        .retries(16)
        .build()
        .expect("cluster client")
        .get_connection()
        .expect("connects")
}

fn write_keys(nodes: &[&TestServer], prefix: &str, count: usize) {
    let mut connection = cluster_client(nodes);
    let mut pipeline_keys = Vec::new();
    for index in 0..count {
        pipeline_keys.push(format!("{prefix}:{index}"));
    }
    for key in &pipeline_keys {
        let _: () = connection.set(key, format!("value-of-{key}")).expect("SET");
    }
}

fn assert_keys_readable(nodes: &[&TestServer], prefix: &str, count: usize) {
    let mut connection = cluster_client(nodes);
    for index in 0..count {
        let key = format!("{prefix}:{index}");
        let value: Option<String> = connection.get(&key).expect("GET");
        assert_eq!(value, Some(format!("value-of-{key}")), "{key}");
    }
}

/// A thread writing unique keys through the cluster client until stopped,
/// reading each back at once, about one write per millisecond; returns the
/// acknowledged writes and the errors seen.
fn background_writer(
    nodes: &[&TestServer],
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(HashMap<String, String>, Vec<String>)> {
    let urls: Vec<String> = nodes.iter().map(|node| node.url()).collect();
    std::thread::spawn(move || {
        let mut connection = redis::cluster::ClusterClientBuilder::new(urls)
            .retries(16)
            .build()
            .expect("cluster client")
            .get_connection()
            .expect("connects");
        let mut acknowledged = HashMap::new();
        let mut errors = Vec::new();
        let mut index = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let key = format!("writer:{index}");
            let value = format!("v{index}");
            match connection.set::<_, _, ()>(&key, &value) {
                Ok(()) => {
                    acknowledged.insert(key.clone(), value.clone());
                    match connection.get::<_, Option<String>>(&key) {
                        Ok(read) if read.as_deref() == Some(value.as_str()) => {}
                        Ok(read) => errors.push(format!("{key}: read {read:?} right after writing {value}")),
                        Err(error) => errors.push(format!("GET {key}: {error}")),
                    }
                }
                Err(error) => errors.push(format!("SET {key}: {error}")),
            }
            index += 1;
            // Pacing, not waiting: keeps the check at the end short.
            std::thread::sleep(Duration::from_millis(1));
        }
        (acknowledged, errors)
    })
}

fn node_address(node: &TestServer) -> String {
    format!("127.0.0.1:{}", node.port())
}

fn owned_slot_count(node: &TestServer) -> usize {
    let line = myself_line(node);
    line.split(' ')
        .skip(8)
        .filter(|item| !item.starts_with('['))
        .map(|item| match item.split_once('-') {
            Some((start, end)) => end.parse::<usize>().unwrap() - start.parse::<usize>().unwrap() + 1,
            None => 1,
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cli_reshard_moves_1000_slots_under_load_and_loses_no_acknowledged_write() {
    let (_dirs, nodes) = formed_cluster("reshard", 3);
    let all: Vec<&TestServer> = nodes.iter().collect();
    const KEYS: usize = 3000;
    const MOVED_SLOTS: usize = 1000;
    write_keys(&all, "seed", KEYS);
    // starling-bench's checker writes (SET, INCR, RPUSH) and verifies for
    // the whole reshard; the writer thread also reads each write back.
    let checker = start_checker(nodes.iter().map(address).collect(), 4, 32).await;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = background_writer(&all, stop.clone());

    let (from, to) = (my_id(&nodes[0]), my_id(&nodes[2]));
    let output = tokio::task::block_in_place(|| {
        redis_cli(&[
            "--cluster",
            "reshard",
            &node_address(&nodes[0]),
            "--cluster-from",
            &from,
            "--cluster-to",
            &to,
            "--cluster-slots",
            &MOVED_SLOTS.to_string(),
            "--cluster-yes",
        ])
    });
    assert!(!output.contains("[ERR]"), "{output}");
    let report = checker.stop().await.unwrap().verify().await;
    assert!(report.is_clean(), "{}", report.summary());
    assert_eq!(report.failed, 0, "{}", report.summary());
    assert!(report.acknowledged > 100, "{}", report.summary());
    stop.store(true, Ordering::Relaxed);
    let (acknowledged, errors) = writer.join().expect("writer thread");
    assert!(errors.is_empty(), "the writer saw errors: {errors:?}");
    assert!(acknowledged.len() > 10, "the writer ran during the reshard");

    tokio::task::block_in_place(|| {
        assert_eq!(owned_slot_count(&nodes[0]), 5461 - MOVED_SLOTS);
        assert_eq!(owned_slot_count(&nodes[2]), 5462 + MOVED_SLOTS);
        // redis-cli moves the source's lowest slots; none keeps a key there.
        for slot in 0..MOVED_SLOTS {
            let left: usize = query(&nodes[0], &["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()]);
            assert_eq!(left, 0, "slot {slot} still has keys at the source");
        }
        assert_check_clean(&nodes[1]);
        assert_keys_readable(&all, "seed", KEYS);
        let mut connection = cluster_client(&all);
        for (key, value) in &acknowledged {
            let read: Option<String> = connection.get(key).expect("GET");
            assert_eq!(read.as_ref(), Some(value), "acknowledged write of {key} lost");
        }
    });
}

#[test]
fn add_node_rebalance_and_del_node_through_redis_cli() {
    let (_dirs, mut nodes) = formed_cluster("scale", 2);
    const KEYS: usize = 1000;
    write_keys(&nodes.iter().collect::<Vec<_>>(), "seed", KEYS);
    let new_dir = TempDir::new("scale-new");
    let new_node = start_node(&new_dir.path, 2, &[]);
    let new_id = my_id(&new_node);
    redis_cli(&[
        "--cluster",
        "add-node",
        &node_address(&new_node),
        &node_address(&nodes[0]),
    ]);
    nodes.push(new_node);
    wait_for_agreement(&nodes.iter().collect::<Vec<_>>(), Duration::from_secs(20));
    // A small weight for the new node keeps the move short: it should get
    // about 16384 * 0.05 / 2.05 = 400 slots.
    let new_weight = format!("{new_id}=0.05");
    let output = redis_cli(&[
        "--cluster",
        "rebalance",
        &node_address(&nodes[0]),
        "--cluster-use-empty-masters",
        "--cluster-weight",
        &new_weight,
    ]);
    assert!(!output.contains("[ERR]"), "{output}");
    let new_slots = owned_slot_count(&nodes[2]);
    assert!(
        (350..=450).contains(&new_slots),
        "the new node took its share: {new_slots}"
    );
    assert_check_clean(&nodes[0]);
    assert_keys_readable(&nodes.iter().collect::<Vec<_>>(), "seed", KEYS);

    // Scale in: empty the new node, then remove it.
    let output = redis_cli(&[
        "--cluster",
        "reshard",
        &node_address(&nodes[0]),
        "--cluster-from",
        &new_id,
        "--cluster-to",
        &my_id(&nodes[0]),
        "--cluster-slots",
        &new_slots.to_string(),
        "--cluster-yes",
    ]);
    assert!(!output.contains("[ERR]"), "{output}");
    assert_eq!(owned_slot_count(&nodes[2]), 0);
    let keys_left: usize = query(&nodes[2], &["DBSIZE"]);
    assert_eq!(keys_left, 0);
    redis_cli(&["--cluster", "del-node", &node_address(&nodes[0]), &new_id]);
    let removed = nodes.pop().expect("the new node");
    for node in &nodes {
        let listing: String = query(node, &["CLUSTER", "NODES"]);
        assert!(!listing.contains(&new_id), "{listing}");
    }
    let removed_nodes: String = query(&removed, &["CLUSTER", "NODES"]);
    assert_eq!(removed_nodes.lines().count(), 1, "reset soft forgot the others");
    assert_check_clean(&nodes[0]);
    assert_keys_readable(&nodes.iter().collect::<Vec<_>>(), "seed", KEYS);
}

/// Runs `redis-cli --cluster fix`, answering yes to its questions (it asks
/// before covering slots even with --cluster-yes); returns its output.
fn redis_cli_fix(address: &str) -> String {
    use std::io::Write as _;
    let mut fix = Command::new("redis-cli")
        .args(["--cluster", "fix", address, "--cluster-yes"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("redis-cli runs");
    fix.stdin
        .take()
        .expect("stdin")
        .write_all(b"yes\nyes\n")
        .expect("answers");
    let fixed = fix.wait_with_output().expect("redis-cli finishes");
    let output = String::from_utf8_lossy(&fixed.stdout).into_owned();
    assert!(fixed.status.success(), "{output}");
    output
}

/// `redis-cli --cluster check` on `address` fails, saying `complaint`.
fn assert_check_complains(address: &str, complaint: &str) {
    let broken = Command::new("redis-cli")
        .args(["--cluster", "check", address])
        .output()
        .expect("redis-cli runs");
    let report = String::from_utf8_lossy(&broken.stdout).into_owned();
    assert!(!broken.status.success(), "check should fail:\n{report}");
    assert!(report.contains(complaint), "{report}");
}

#[test]
fn redis_cli_fix_closes_an_open_slot_and_covers_unassigned_ones() {
    let (_dirs, nodes) = formed_cluster("fix", 2);
    let all: Vec<&TestServer> = nodes.iter().collect();
    let address = node_address(&nodes[0]);
    // Slot ranges: node 0 holds 0-8191, node 1 holds 8192-16383.
    let tag = tag_in(100, 8000, 0);
    let slot = key_slot(tag.as_bytes());
    let keys: Vec<String> = (0..10).map(|index| format!("{{{tag}}}:{index}")).collect();
    for key in &keys {
        let _: () = command(&["SET", key, &format!("value-of-{key}")])
            .query(&mut nodes[0].connection())
            .unwrap();
    }
    // A migration left half done: the slot is open on both sides and three
    // of its keys already moved.
    open_slot(&nodes[0], &nodes[1], slot);
    let port = nodes[1].port().to_string();
    let mut migrate = vec!["MIGRATE", "127.0.0.1", &port, "", "0", "5000", "KEYS"];
    migrate.extend(keys[..3].iter().map(String::as_str));
    let reply: String = query(&nodes[0], &migrate);
    assert_eq!(reply, "OK");
    assert_check_complains(&address, "The following slots are open");
    let output = redis_cli_fix(&address);
    // redis-cli gives the slot to the node with most of its keys (MULTI,
    // DELSLOTS, ADDSLOTS, BUMPEPOCH, EXEC) and moves the rest there.
    assert!(output.contains("Fixing open slot"), "{output}");
    assert_check_clean(&nodes[0]);
    let held: Vec<usize> = all
        .iter()
        .map(|node| query::<usize>(node, &["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()]))
        .collect();
    assert_eq!(held.iter().sum::<usize>(), keys.len());
    assert!(held.contains(&keys.len()), "every key with one owner: {held:?}");
    let mut connection = cluster_client(&all);
    for key in &keys {
        let value: Option<String> = connection.get(key).expect("GET");
        assert_eq!(value, Some(format!("value-of-{key}")));
    }

    // Two slots nobody serves: fix covers them.
    for lost in ["16000", "16001"] {
        let reply: String = query(&nodes[1], &["CLUSTER", "DELSLOTS", lost]);
        assert_eq!(reply, "OK");
    }
    wait_until(Duration::from_secs(20), "both nodes to miss the slots", || {
        all.iter().all(|node| {
            let info: String = query(node, &["CLUSTER", "INFO"]);
            info.contains("cluster_slots_assigned:16382")
        })
    });
    assert_check_complains(&address, "Not all 16384 slots are covered");
    let output = redis_cli_fix(&address);
    assert!(output.contains("Covering slot 16000"), "{output}");
    assert_check_clean(&nodes[0]);
    let covered = tag_in(16000, 16001, 0);
    let _: () = connection
        .set(format!("{{{covered}}}:k"), "v")
        .expect("SET in a covered slot");
}
