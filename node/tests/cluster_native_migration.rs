//! Native slot migration (CLUSTER MIGRATESLOTS) between in-process cluster
//! nodes, under load from starling-bench's lost-write checker.

mod cluster_harness;
mod common;

use std::time::Duration;

use cluster_harness::*;
use common::TestServer;
use redis::Value;
use starling_loadtest::check::{CheckConfig, Checker};

fn formed_cluster(label: &str, count: usize) -> (Vec<TempDir>, Vec<TestServer>) {
    let dirs: Vec<TempDir> = (0..count)
        .map(|index| TempDir::new(&format!("{label}-{index}")))
        .collect();
    let nodes: Vec<TestServer> = dirs.iter().map(|dir| start_node(&dir.path, 2, &[])).collect();
    form_cluster(&nodes.iter().collect::<Vec<_>>());
    (dirs, nodes)
}

fn address(node: &TestServer) -> String {
    format!("127.0.0.1:{}", node.port())
}

/// The GETSLOTMIGRATIONS entries of a node, as field → text maps.
fn migrations(node: &TestServer) -> Vec<Vec<(String, String)>> {
    let reply: Value = query(node, &["CLUSTER", "GETSLOTMIGRATIONS"]);
    let Value::Array(entries) = reply else {
        panic!("{reply:?}")
    };
    entries
        .into_iter()
        .map(|entry| {
            let Value::Array(fields) = entry else {
                panic!("{entry:?}")
            };
            fields
                .chunks(2)
                .map(|pair| {
                    let text = |value: &Value| match value {
                        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                        Value::Int(number) => number.to_string(),
                        other => format!("{other:?}"),
                    };
                    (text(&pair[0]), text(&pair[1]))
                })
                .collect()
        })
        .collect()
}

fn field<'a>(entry: &'a [(String, String)], name: &str) -> &'a str {
    &entry
        .iter()
        .find(|(field, _)| field == name)
        .unwrap_or_else(|| panic!("no {name}"))
        .1
}

/// Waits until the node's newest migration with `operation` is terminal; returns it.
fn wait_for_migration(node: &TestServer, operation: &str, limit: Duration) -> Vec<(String, String)> {
    let mut last = Vec::new();
    wait_until(limit, "the migration to finish", || {
        let Some(entry) = migrations(node)
            .into_iter()
            .rev()
            .find(|entry| field(entry, "operation") == operation)
        else {
            return false;
        };
        last = entry;
        matches!(field(&last, "state"), "success" | "failed" | "cancelled")
    });
    last
}

fn owner_port_of_slot(node: &TestServer, slot: u16) -> Option<i64> {
    let reply: Value = query(node, &["CLUSTER", "SLOTS"]);
    let Value::Array(ranges) = reply else { return None };
    ranges.into_iter().find_map(|range| {
        let Value::Array(fields) = range else { return None };
        let (Value::Int(start), Value::Int(end), Value::Array(primary)) = (&fields[0], &fields[1], &fields[2]) else {
            return None;
        };
        if !(*start..=*end).contains(&i64::from(slot)) {
            return None;
        }
        match primary.get(1) {
            Some(Value::Int(port)) => Some(*port),
            _ => None,
        }
    })
}

/// A key of `slot`'s hash tag family that hashes to `slot`.
fn key_in_slot(slot: u16, index: usize) -> String {
    (0..)
        .map(|tag: u32| format!("{{t{tag}}}"))
        .find(|tag| starling_protocol::key_slot(tag.as_bytes()) == slot)
        .map(|tag| format!("{tag}:{index}"))
        .expect("some tag hashes to every slot")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slots_move_under_load_with_every_acknowledged_write_kept() {
    let (_dirs, nodes) = formed_cluster("native-move", 3);
    let source_id = my_id(&nodes[0]);
    let target_id = my_id(&nodes[1]);
    // Node 0 owns 0-5460. Move 0-999, with plain keys and a large hash in it.
    let big_hash_key = key_in_slot(7, 0);
    {
        let mut connection = nodes[0].connection();
        for index in 0..2_000 {
            let key = key_in_slot((index % 1000) as u16, index);
            let _: () = redis::cmd("SET").arg(&key).arg(index).query(&mut connection).unwrap();
        }
        for batch in 0..20 {
            let mut hset = redis::cmd("HSET");
            hset.arg(&big_hash_key);
            for field in 0..1_000 {
                hset.arg(format!("field-{}", batch * 1_000 + field)).arg("value");
            }
            let _: i64 = hset.query(&mut connection).unwrap();
        }
    }
    let mut config = CheckConfig::new(nodes.iter().map(address).collect());
    config.writers = 8;
    config.keys_per_writer = 30;
    config.duration_opt = Some(Duration::from_secs(120));
    config.verify_every = 20;
    let checker = Checker::start(config).await.unwrap();
    let progress = std::sync::Arc::clone(checker.progress());
    while progress.acknowledged.load(std::sync::atomic::Ordering::Relaxed) < 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let source = &nodes[0];
    let reply: String = query(
        source,
        &["CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", "999", "NODE", &target_id],
    );
    assert_eq!(reply, "OK");
    let entry = tokio::task::block_in_place(|| wait_for_migration(source, "EXPORT", Duration::from_secs(60)));
    assert_eq!(field(&entry, "state"), "success", "{entry:?}");
    assert_eq!(field(&entry, "slot_ranges"), "0-999");
    assert_eq!(field(&entry, "source_node"), source_id);
    assert_eq!(field(&entry, "target_node"), target_id);
    assert!(field(&entry, "keys_moved").parse::<u64>().unwrap() >= 2_001);
    // Keep writing a little after the handoff, then verify everything.
    let acknowledged_at_handoff = progress.acknowledged.load(std::sync::atomic::Ordering::Relaxed);
    while progress.acknowledged.load(std::sync::atomic::Ordering::Relaxed) < acknowledged_at_handoff + 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let run = checker.stop().await.unwrap();
    let report = run.verify().await;
    assert!(report.is_clean(), "{}", report.summary());
    assert_eq!(report.failed, 0, "{}", report.summary());

    tokio::task::block_in_place(|| {
        let target_port = i64::from(nodes[1].port());
        for node in &nodes {
            wait_until(
                Duration::from_secs(20),
                "every node to route the moved slots to the target",
                || {
                    [0u16, 500, 999]
                        .iter()
                        .all(|&slot| owner_port_of_slot(node, slot) == Some(target_port))
                        && owner_port_of_slot(node, 1000) == Some(i64::from(nodes[0].port()))
                },
            );
        }
        wait_until(Duration::from_secs(20), "the source to free the moved slots", || {
            (0..1000)
                .step_by(97)
                .all(|slot| query::<i64>(source, &["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()]) == 0)
        });
        let hash_length: i64 = query(&nodes[1], &["HLEN", &big_hash_key]);
        assert_eq!(hash_length, 20_000);
        let moved: i64 = (0..1000u16)
            .map(|slot| query::<i64>(&nodes[1], &["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()]))
            .sum();
        assert!(moved >= 2_001, "{moved} keys on the target");
        let target_entry = wait_for_migration(&nodes[1], "IMPORT", Duration::from_secs(5));
        assert_eq!(field(&target_entry, "state"), "success");
        // The source answers MOVED for a moved slot.
        let error = query_error(source, &["GET", &key_in_slot(10, 0)]);
        assert_eq!(error, format!("MOVED 10 127.0.0.1:{}", nodes[1].port()));
    });
}

#[test]
fn bad_migrateslots_requests_are_refused() {
    let (_dirs, nodes) = formed_cluster("native-errors", 2);
    let other = my_id(&nodes[1]);
    let myself = my_id(&nodes[0]);
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["SLOTSRANGE", "0", "10"],
            "ERR wrong number of arguments for 'cluster|migrateslots' command".into(),
        ),
        (
            vec!["SLOTSRANGE", "0", "10", "20", "NODE"],
            "ERR Invalid or out of range slot".into(),
        ),
        (
            vec!["SLOTSRANGE", "0", "10", "NODE", &other, "EXTRA"],
            "ERR syntax error".into(),
        ),
        (
            vec!["SLOTSRANGE", "0", "99999", "NODE", &other],
            "ERR Invalid or out of range slot".into(),
        ),
        (
            vec!["SLOTSRANGE", "10", "0", "NODE", &other],
            "ERR start slot number 10 is greater than end slot number 0".into(),
        ),
        (
            vec!["SLOTSRANGE", "0", "10", "NODE", &myself],
            "ERR Can't migrate slots to myself".into(),
        ),
        (
            vec!["SLOTSRANGE", "9000", "9001", "NODE", &other],
            "ERR I'm not the owner of hash slot 9000".into(),
        ),
        (
            vec!["SLOTSRANGE", "0", "1", "NODE", "not-a-node"],
            "ERR Unknown node not-a-node".into(),
        ),
        (vec!["NODE", &other, "SLOTSRANGE", "0"], "ERR syntax error".into()),
    ];
    for (arguments, expected) in cases {
        let mut full = vec!["CLUSTER", "MIGRATESLOTS"];
        full.extend(arguments.iter().copied());
        assert_eq!(query_error(&nodes[0], &full), expected, "{arguments:?}");
    }
    let reply: Value = query(&nodes[0], &["CLUSTER", "GETSLOTMIGRATIONS"]);
    assert_eq!(reply, Value::Array(vec![]), "a refused request starts nothing");
}

/// One client increments a counter in a migrating slot without pause: the
/// write that reaches the source during the handoff waits and is then
/// answered MOVED, and the target holds every acknowledged increment.
#[test]
fn a_counter_incremented_through_the_handoff_keeps_every_increment() {
    let (_dirs, nodes) = formed_cluster("native-incr", 2);
    let target_id = my_id(&nodes[1]);
    let key = key_in_slot(5, 0);
    let mut connection = nodes[0].connection();
    let mut acknowledged = 0;
    for _ in 0..10 {
        acknowledged = redis::cmd("INCR").arg(&key).query::<i64>(&mut connection).unwrap();
    }
    let reply: String = query(
        &nodes[0],
        &["CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", "999", "NODE", &target_id],
    );
    assert_eq!(reply, "OK");
    let moved = loop {
        match redis::cmd("INCR").arg(&key).query::<i64>(&mut connection) {
            Ok(value) => {
                assert_eq!(value, acknowledged + 1);
                acknowledged = value;
            }
            Err(error) => break error_text(&error),
        }
    };
    assert_eq!(moved, format!("MOVED 5 127.0.0.1:{}", nodes[1].port()));
    let on_target: i64 = query(&nodes[1], &["GET", &key]);
    assert_eq!(on_target, acknowledged);
    let entry = wait_for_migration(&nodes[0], "EXPORT", Duration::from_secs(10));
    assert_eq!(field(&entry, "state"), "success");
}
