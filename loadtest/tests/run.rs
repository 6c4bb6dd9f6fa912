//! `run` against a real Starling server: every request is counted, and the
//! server's data shows that each counted write really happened.

mod common;

use common::Server;
use starling_loadtest::client::Mode;
use starling_loadtest::run::{run, RunConfig};
use starling_loadtest::workload::{parse_mix, KeyDistribution, ValueSize, WorkloadConfig};

fn config(server: &Server, mix: &str, requests: u64, keyspace: u64) -> RunConfig {
    RunConfig {
        seeds: vec![server.address()],
        mode_opt: None,
        clients: 4,
        pipeline: 4,
        threads: 2,
        duration_seconds_opt: None,
        requests_opt: Some(requests),
        warmup_seconds: 0.0,
        rate_opt: None,
        timeout_ms: 10_000,
        seed: 7,
        show_progress: false,
        workload: WorkloadConfig {
            commands: WorkloadConfig::from_mix(&parse_mix(mix).unwrap(), None),
            keyspace,
            distribution: KeyDistribution::Uniform,
            value_size: ValueSize {
                min_bytes: 8,
                max_bytes: 32,
            },
            elements: 10,
            ttl_seconds_opt: None,
        },
    }
}

fn count_of(result: &starling_loadtest::run::RunResult, command: &str) -> u64 {
    let stats = result
        .stats
        .commands
        .iter()
        .find(|stats| stats.name == command)
        .unwrap();
    assert_eq!(stats.error_count(), 0, "{command}: {:?}", stats.errors);
    stats.ok
}

#[test]
fn a_mixed_workload_counts_every_request_and_its_writes_land() {
    let server = Server::start(3);
    let config = config(
        &server,
        "get=2,set=2,incr=2,lpush=2,hset=1,zadd=1,sadd=1,lrange=1",
        4000,
        50,
    );
    let result = run(&config).unwrap();
    assert_eq!(result.mode, Mode::Standalone);
    let all = result.stats.combined();
    assert_eq!(all.total(), 4000);
    assert_eq!(all.error_count(), 0, "{:?}", all.errors);
    assert_eq!(all.latency_micros.len(), 4000);
    for command in ["get", "set", "incr", "lpush", "hset", "zadd", "sadd", "lrange"] {
        assert!(count_of(&result, command) > 0, "{command} never ran");
    }
    // Every acknowledged INCR and LPUSH is in the data.
    let counters: i64 = server
        .keys("counter:*")
        .iter()
        .map(|key| server.integer(&["GET", key]))
        .sum();
    assert_eq!(counters as u64, count_of(&result, "incr"));
    let list_lengths: i64 = server
        .keys("list:*")
        .iter()
        .map(|key| server.integer(&["LLEN", key]))
        .sum();
    assert_eq!(list_lengths as u64, count_of(&result, "lpush"));
    assert!(server.keys("key:*").iter().all(|key| key.len() == "key:".len() + 12));
    assert_eq!(result.stats.redirects.moved + result.stats.redirects.ask, 0);
}

#[test]
fn sequential_keys_visit_every_key_once_and_ttls_are_set() {
    let server = Server::start(2);
    let mut config = config(&server, "set=1", 600, 600);
    config.workload.distribution = KeyDistribution::Sequential;
    config.workload.commands = WorkloadConfig::from_mix(&parse_mix("set=1").unwrap(), Some(300));
    let result = run(&config).unwrap();
    assert_eq!(count_of(&result, "set"), 600);
    assert_eq!(server.integer(&["DBSIZE"]), 600);
    let ttl = server.integer(&["TTL", "key:000000000599"]);
    assert!((1..=300).contains(&ttl), "ttl {ttl}");
}

#[test]
fn an_open_loop_run_sends_its_requests_on_schedule() {
    let server = Server::start(1);
    let mut config = config(&server, "get=1", 400, 10);
    config.rate_opt = Some(4000.0);
    config.pipeline = 2;
    let result = run(&config).unwrap();
    let all = result.stats.combined();
    assert_eq!(all.total(), 400);
    assert_eq!(all.error_count(), 0);
}

#[test]
fn custom_templates_route_and_report_under_their_own_name() {
    let server = Server::start(2);
    let mut config = config(&server, "get=1", 200, 20);
    config.workload.commands = vec![("HINCRBY".into(), "HINCRBY user:__key__ visits 1".into(), 1)];
    let result = run(&config).unwrap();
    assert_eq!(count_of(&result, "HINCRBY"), 200);
    let visits: i64 = server
        .keys("user:*")
        .iter()
        .map(|key| server.integer(&["HGET", key, "visits"]))
        .sum();
    assert_eq!(visits, 200);
}

#[test]
fn error_replies_are_counted_by_kind() {
    let server = Server::start(1);
    let mut config = config(&server, "get=1", 100, 5);
    config.workload.commands = vec![("LPUSH".into(), "LPUSH key:__key__ x".into(), 1)];
    for key in 0..5 {
        server.query(&["SET", &format!("key:{key:012}"), "string"]);
    }
    let result = run(&config).unwrap();
    let stats = &result.stats.commands[0];
    assert_eq!(stats.ok, 0);
    assert_eq!(stats.errors.get("WRONGTYPE"), Some(&100));
}
