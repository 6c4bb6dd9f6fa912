//! starling-bench against a 3-node Starling cluster: it routes every key to
//! its owner (no MOVED once the topology is loaded), follows MOVED when its
//! table is stale, and its checker finds every acknowledged write.

mod cluster_harness;
mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use cluster_harness::*;
use common::TestServer;
use starling_loadtest::check::{CheckConfig, Checker};
use starling_loadtest::client::{encode_request, Client, ClientOptions, Mode, Outcome, Request, SlotTable, Topology};
use starling_loadtest::run::{run, RunConfig};
use starling_loadtest::workload::{parse_mix, KeyDistribution, ValueSize, WorkloadConfig};
use starling_protocol::{key_slot, Frame};

fn run_config(seed_node: &TestServer, mix: &str, requests: u64) -> RunConfig {
    RunConfig {
        seeds: vec![address(seed_node)],
        mode_opt: None,
        clients: 6,
        pipeline: 8,
        threads: 2,
        duration_seconds_opt: None,
        requests_opt: Some(requests),
        warmup_seconds: 0.0,
        rate_opt: None,
        timeout_ms: 10_000,
        seed: 3,
        show_progress: false,
        workload: WorkloadConfig {
            commands: WorkloadConfig::from_mix(&parse_mix(mix).unwrap(), None),
            keyspace: 300,
            distribution: KeyDistribution::Uniform,
            value_size: ValueSize {
                min_bytes: 16,
                max_bytes: 16,
            },
            elements: 10,
            ttl_seconds_opt: None,
        },
    }
}

#[test]
fn a_cluster_run_routes_every_key_to_its_owner() {
    let (_dirs, nodes) = formed_cluster("bench-route", 3);
    let result = run(&run_config(&nodes[1], "set=2,get=2,incr=1,lpush=1", 6000)).unwrap();
    assert_eq!(result.mode, Mode::Cluster);
    let all = result.stats.combined();
    assert_eq!(all.total(), 6000);
    assert_eq!(all.error_count(), 0, "{:?}", all.errors);
    assert_eq!(result.stats.redirects.moved, 0, "no MOVED once the topology is loaded");
    assert_eq!(result.stats.redirects.ask, 0);
    assert_eq!(all.redirects, 0);
    // The writes are spread over all three nodes, and every INCR landed.
    let incr_ok = result
        .stats
        .commands
        .iter()
        .find(|stats| stats.name == "incr")
        .unwrap()
        .ok;
    let mut counter_total = 0;
    for node in &nodes {
        let keys: Vec<String> = cluster_harness::query(node, &["KEYS", "counter:*"]);
        assert!(!keys.is_empty(), "every node owns some counters");
        for key in keys {
            counter_total += cluster_harness::query::<u64>(node, &["GET", &key]);
        }
    }
    assert_eq!(counter_total, incr_ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_table_is_corrected_by_following_moved() {
    let (_dirs, nodes) = formed_cluster("bench-moved", 3);
    let seeds = vec![address(&nodes[0])];
    // Believe that node 0 serves everything.
    let stale = SlotTable::single(&seeds[0]);
    let topology = Arc::new(Topology::with_table(
        Mode::Cluster,
        &seeds,
        stale,
        Duration::from_secs(5),
    ));
    let mut client = Client::new(Arc::clone(&topology), ClientOptions::default());
    let requests: Vec<Request> = (0..200)
        .map(|index| {
            let key = format!("moved:{index}");
            let mut encoded = BytesMut::new();
            encode_request(&[b"SET", key.as_bytes(), b"v"], &mut encoded);
            Request {
                slot_opt: Some(key_slot(key.as_bytes())),
                encoded,
            }
        })
        .collect();
    let mut outcomes = Vec::new();
    client.execute(&requests, &mut outcomes).await;
    assert!(
        outcomes.iter().all(|outcome| *outcome == Outcome::Reply(Frame::ok())),
        "{outcomes:?}"
    );
    let moved = client.counts.moved;
    assert!(moved > 50, "two thirds of the keys live elsewhere: {moved}");
    assert_eq!(
        client
            .request_redirects()
            .iter()
            .map(|&count| u64::from(count))
            .sum::<u64>(),
        moved
    );
    wait_until(Duration::from_secs(10), "a full topology refresh", || {
        topology.refresh_count() >= 1
    });
    // With the refreshed table nothing is redirected any more.
    client.execute(&requests, &mut outcomes).await;
    assert_eq!(client.counts.moved, moved);
    assert!(outcomes.iter().all(|outcome| *outcome == Outcome::Reply(Frame::ok())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checker_finds_every_acknowledged_write_on_a_cluster() {
    let (_dirs, nodes) = formed_cluster("bench-check", 3);
    let mut config = CheckConfig::new(nodes.iter().map(address).collect());
    config.writers = 6;
    config.keys_per_writer = 9;
    config.operations_per_writer_opt = Some(200);
    config.verify_every = 10;
    let run = Checker::start(config).await.unwrap().wait().await.unwrap();
    let report = run.verify().await;
    assert!(report.is_clean(), "{}", report.summary());
    assert_eq!(report.acknowledged, 6 * 200);
}
