//! The admin HTTP API (docs/api.md) against real nodes: a three-node
//! cluster seen from any node, a drain run through the API and watched on
//! the event stream, authentication, bad requests, and event streams that
//! are never read.

mod cluster_harness;
mod common;
mod http;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use cluster_harness::*;
use common::TestServer;
use http::{admin_base, call, get, get_text, EventReader};
use serde_json::Value;

const TOKEN: &str = "test-admin-token";
const KEYS: usize = 600;

fn ids(nodes: &Value) -> BTreeSet<String> {
    nodes
        .as_array()
        .expect("a node list")
        .iter()
        .map(|node| node["id"].as_str().unwrap().to_string())
        .collect()
}

fn slots_of(nodes: &Value, id: &str) -> u64 {
    nodes
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["id"] == id)
        .map_or(0, |node| node["slots"].as_u64().unwrap())
}

fn write_keys(seed: &TestServer) {
    let client = redis::cluster::ClusterClient::new(vec![seed.url()]).unwrap();
    let mut connection = client.get_connection().unwrap();
    for index in 0..KEYS {
        let _: () = redis::cmd("SET")
            .arg(format!("dash:{index}"))
            .arg(index)
            .query(&mut connection)
            .unwrap();
    }
}

#[test]
fn any_node_shows_the_whole_cluster_and_a_drain_runs_through_the_api() {
    let (_dirs, nodes) = start_nodes("dash-api", 3, &[("admin-token", TOKEN)]);
    form_cluster(&nodes.iter().collect::<Vec<_>>());
    write_keys(&nodes[0]);
    let base = admin_base(&nodes[0]);

    // Gossip brings every node's figures: the overview adds them up.
    wait_until(Duration::from_secs(20), "every node's figures", || {
        let cluster = get(&format!("{base}/api/v1/cluster"));
        cluster["nodes"] == 3 && cluster["keys"] == KEYS && cluster["state"] == "ok"
    });
    let cluster = get(&format!("{base}/api/v1/cluster"));
    assert_eq!(cluster["version"], 1);
    assert_eq!(cluster["mode"], "cluster");
    assert_eq!(cluster["slots_assigned"], 16384);
    assert_eq!(cluster["slots_ok"], 16384);
    assert_eq!(cluster["nodes_failed"], 0);
    assert_eq!(cluster["myself"].as_str().unwrap(), my_id(&nodes[0]));
    assert!(cluster["memory_bytes"].as_u64().unwrap() > 1 << 20);

    let listed = get(&format!("{base}/api/v1/nodes"));
    let all_ids: BTreeSet<String> = nodes.iter().map(my_id).collect();
    assert_eq!(ids(&listed), all_ids);
    let mut slots_total = 0;
    let mut keys_total = 0;
    for node in listed.as_array().unwrap() {
        assert_eq!(node["health"], "alive");
        assert_eq!(node["role"], "master");
        assert_eq!(node["myself"], node["id"] == my_id(&nodes[0]));
        slots_total += node["slots"].as_u64().unwrap();
        keys_total += node["stats"]["keys"].as_u64().unwrap();
        let port = node["address"].as_str().unwrap().rsplit_once(':').unwrap().1;
        assert!(nodes.iter().any(|server| server.port().to_string() == port));
    }
    assert_eq!(slots_total, 16384);
    assert_eq!(keys_total, KEYS as u64);

    let slots = get(&format!("{base}/api/v1/slots"));
    assert_eq!(slots["owners"].as_array().unwrap().len(), 3);
    assert_eq!(slots["unassigned"], Value::Array(Vec::new()));
    assert_eq!(slots["migrating"], Value::Array(Vec::new()));
    assert_eq!(slots["owners"][0]["slot_ranges"][0][0], 0);

    // Another node tells the same story.
    let other = get(&format!("{}/api/v1/nodes", admin_base(&nodes[2])));
    assert_eq!(ids(&other), all_ids);

    let metrics = get_text(&format!("{base}/metrics"));
    for line in [
        "redis_up 1",
        "redis_cluster_enabled 1",
        "redis_cluster_state 1",
        "redis_cluster_slots_ok 16384",
        "redis_cluster_known_nodes 3",
        "starling_migrations_active 0",
        "# TYPE redis_commands_processed_total counter",
    ] {
        assert!(
            metrics.lines().any(|text| text == line),
            "{line} missing from\n{metrics}"
        );
    }
    assert_eq!(
        metrics
            .lines()
            .filter(|line| line.starts_with("starling_node_slots{"))
            .count(),
        3
    );
    let keys_here: u64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("redis_db_keys{db=\"db0\"} "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        keys_here > 0 && keys_here < KEYS as u64,
        "node 0 holds a share: {keys_here}"
    );

    // Actions need the token; bad requests are refused with a reason.
    let rebalance = format!("{base}/api/v1/rebalance");
    let (status, body) = call("POST", &rebalance, None, "");
    assert_eq!(status, 401, "{body}");
    assert!(body["error"].as_str().unwrap().contains("token"));
    assert_eq!(call("POST", &rebalance, Some("wrong"), "").0, 401);
    assert_eq!(call("POST", &rebalance, Some(TOKEN), "{not json").0, 400);
    assert_eq!(call("POST", &rebalance, Some(TOKEN), r#"{"by": "moon"}"#).0, 400);
    assert_eq!(call("POST", &rebalance, Some(TOKEN), r#"{"parallel": 0}"#).0, 400);
    let unknown = "0123456789012345678901234567890123456789";
    let (status, _) = call(
        "POST",
        &rebalance,
        Some(TOKEN),
        &format!(r#"{{"weights": {{"{unknown}": 1}}}}"#),
    );
    assert_eq!(status, 404);
    assert_eq!(
        call("POST", &format!("{base}/api/v1/nodes/nope/drain"), Some(TOKEN), "").0,
        400
    );
    assert_eq!(
        call("POST", &format!("{base}/api/v1/nodes/{unknown}/drain"), Some(TOKEN), "").0,
        404
    );
    assert_eq!(call("GET", &format!("{base}/api/v1/nope"), None, "").0, 404);
    // Even slot ranges are balanced already.
    let (status, body) = call("POST", &rebalance, Some(TOKEN), "{}");
    assert_eq!((status, body["moves"].clone()), (200, Value::Array(Vec::new())));

    // Drain the third node through the API while watching the stream.
    let events = EventReader::open(&format!("{base}/api/v1/events"));
    let drained = my_id(&nodes[2]);
    let drained_slots = slots_of(&listed, &drained);
    let (status, body) = call("POST", &format!("{base}/api/v1/nodes/{drained}/drain"), Some(TOKEN), "");
    assert_eq!(status, 202, "{body}");
    let moves = body["moves"].as_array().unwrap();
    assert!(!moves.is_empty());
    assert!(moves.iter().all(|planned| planned["source"] == drained.as_str()));
    let moved: u64 = moves.iter().map(|planned| planned["slots"].as_u64().unwrap()).sum();
    assert_eq!(moved, drained_slots);
    // Only one rebalance at a time.
    let (status, _) = call("POST", &rebalance, Some(TOKEN), "{}");
    assert!(status == 409 || status == 200, "{status}");

    wait_until(Duration::from_secs(60), "the drained node to own no slot", || {
        let listed = get(&format!("{base}/api/v1/nodes"));
        let migrations = get(&format!("{base}/api/v1/migrations"));
        // Each migration's report comes by gossip from its source.
        let finished = migrations["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["source"] == drained.as_str())
            .count();
        slots_of(&listed, &drained) == 0
            && migrations["active"] == Value::Array(Vec::new())
            && finished == moves.len()
            && get(&format!("{base}/api/v1/cluster"))["rebalance_running"] == false
    });
    let migrations = get(&format!("{base}/api/v1/migrations"));
    let history = migrations["history"].as_array().unwrap();
    let finished: Vec<&Value> = history
        .iter()
        .filter(|entry| entry["source"] == drained.as_str())
        .collect();
    assert!(finished.iter().all(|entry| entry["state"] == "success"));
    let keys_moved: u64 = finished.iter().map(|entry| entry["keys_moved"].as_u64().unwrap()).sum();
    assert!(keys_moved > 0);

    // The stream saw the drain planned, the migrations and the new slot map.
    wait_until(Duration::from_secs(10), "the stream to catch up", || {
        let kinds = events.log_kinds();
        kinds.iter().any(|kind| kind == "drain_planned")
            && kinds.iter().filter(|kind| *kind == "migration_finished").count() == moves.len()
            && events
                .snapshot()
                .iter()
                .any(|event| event.event == "state" && slots_of(&event.data["nodes"], &drained) == 0)
    });
    assert!(events.log_kinds().iter().any(|kind| kind == "migration_started"));
    assert!(events.snapshot().iter().any(|event| event.event == "sample"));
    let log = get(&format!("{base}/api/v1/log"));
    assert!(log["events"].as_array().unwrap().len() > 2 * moves.len());
    let history = get(&format!("{base}/api/v1/history"));
    assert_eq!(history["series"].as_array().unwrap().len(), 3);

    // Every key survived and the data path agrees with the dashboard.
    let client = redis::cluster::ClusterClient::new(vec![nodes[0].url()]).unwrap();
    let mut connection = client.get_connection().unwrap();
    for index in 0..KEYS {
        let value: String = redis::cmd("GET")
            .arg(format!("dash:{index}"))
            .query(&mut connection)
            .unwrap();
        assert_eq!(value, index.to_string());
    }
    wait_until(Duration::from_secs(20), "the drained node to report no key", || {
        let listed = get(&format!("{base}/api/v1/nodes"));
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|node| node["id"] == drained.as_str() && node["stats"]["keys"] == 0)
    });

    let (status, body) = call("POST", &format!("{base}/api/v1/migrations/cancel"), Some(TOKEN), "");
    assert_eq!((status, body["cancelled"].clone()), (200, Value::from(0)));
}

/// Opens an event stream on a raw socket and never reads from it.
fn unread_stream(address: &str, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    stream
}

/// The status of an event-stream request (the stream is closed at once).
fn stream_status(url: &str) -> u16 {
    match ureq::get(url).timeout(Duration::from_secs(5)).call() {
        Ok(response) => response.status(),
        Err(ureq::Error::Status(status, _)) => status,
        Err(error) => panic!("GET {url}: {error}"),
    }
}

/// Sends raw bytes and returns the status line of the reply.
fn raw_status(address: &str, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(request).unwrap();
    let mut reply = vec![0; 256];
    let read = stream.read(&mut reply).unwrap_or(0);
    String::from_utf8_lossy(&reply[..read])
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn reads_can_require_the_token_and_bad_or_slow_clients_cost_nothing() {
    let server = TestServer::start_with(2, &[("admin-token", TOKEN), ("admin-auth-reads", "yes")]);
    let base = admin_base(&server);
    let address = base.trim_start_matches("http://").to_string();

    // Reads need the token now; the page itself stays open.
    assert_eq!(call("GET", &format!("{base}/api/v1/cluster"), None, "").0, 401);
    assert_eq!(call("GET", &format!("{base}/metrics"), Some("wrong"), "").0, 401);
    let (status, cluster) = call("GET", &format!("{base}/api/v1/cluster"), Some(TOKEN), "");
    assert_eq!(status, 200);
    assert_eq!(cluster["mode"], "standalone");
    assert_eq!(cluster["slots_assigned"], 16384);
    assert!(get_text(&format!("{base}/")).contains("<html"));
    let stream = EventReader::open(&format!("{base}/api/v1/events?token={TOKEN}"));
    wait_until(Duration::from_secs(10), "the first state", || {
        stream.snapshot().first().is_some_and(|event| event.event == "state")
    });
    // Actions on a standalone node are refused with a reason.
    let (status, body) = call("POST", &format!("{base}/api/v1/rebalance"), Some(TOKEN), "");
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("cluster mode"));

    // Malformed HTTP and absurd bodies get an error, not a stall.
    assert!(raw_status(&address, b"GARBAGE\r\n\r\n").contains("400"));
    let huge = format!(
        "POST /api/v1/rebalance HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{{"
    );
    assert!(raw_status(&address, huge.as_bytes()).contains("413"));

    // Streams nobody reads: the cap refuses more, the data path and the
    // API do not notice, and closing them frees their places.
    let path = format!("/api/v1/events?token={TOKEN}");
    let mut silent: Vec<TcpStream> = (0..63).map(|_| unread_stream(&address, &path)).collect();
    wait_until(Duration::from_secs(10), "the stream cap to be reached", || {
        stream_status(&format!("{base}{path}")) == 503
    });
    let mut connection = server.connection();
    let started = Instant::now();
    for index in 0..2_000 {
        let _: () = redis::cmd("SET").arg(index).arg(index).query(&mut connection).unwrap();
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    wait_until(Duration::from_secs(10), "the keys and client in the overview", || {
        let (status, cluster) = call("GET", &format!("{base}/api/v1/cluster"), Some(TOKEN), "");
        status == 200 && cluster["keys"] == 2_000 && cluster["connected_clients"] == 1
    });
    drop(stream);
    silent.clear();
    wait_until(Duration::from_secs(20), "closed streams to free their places", || {
        stream_status(&format!("{base}{path}")) == 200
    });
}

#[test]
fn reads_behind_a_token_need_a_token() {
    let flags = starling_node::config::Flags {
        port: Some(0),
        ..Default::default()
    };
    let mut config = starling_node::config::StartupConfig::from_flags(flags).unwrap();
    config.apply("admin-auth-reads", "yes").unwrap();
    let error = starling_node::server::start_background(config).err().expect("refused");
    assert!(format!("{error:#}").contains("--admin-token"), "{error:#}");
}
