//! Helpers shared by the cluster tests: in-process cluster nodes with their
//! own data directories, cluster formation, bounded waiting, and nodes run
//! as separate `starling-server` processes.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::common::TestServer;

/// A fresh directory under the system's temporary directory, removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "starling-{label}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// `count` cluster nodes (2 shards each, `extra` settings) with their own
/// data directories; not yet a cluster.
pub fn start_nodes(label: &str, count: usize, extra: &[(&str, &str)]) -> (Vec<TempDir>, Vec<TestServer>) {
    let dirs: Vec<TempDir> = (0..count)
        .map(|index| TempDir::new(&format!("{label}-{index}")))
        .collect();
    let nodes: Vec<TestServer> = dirs.iter().map(|dir| start_node(&dir.path, 2, extra)).collect();
    (dirs, nodes)
}

/// `count` nodes formed into one cluster with even slot ranges.
pub fn formed_cluster(label: &str, count: usize) -> (Vec<TempDir>, Vec<TestServer>) {
    let (dirs, nodes) = start_nodes(label, count, &[]);
    form_cluster(&nodes.iter().collect::<Vec<_>>());
    (dirs, nodes)
}

/// `127.0.0.1:<client port>` of a node.
pub fn address(node: &TestServer) -> String {
    format!("127.0.0.1:{}", node.port())
}

/// Polls `condition` every 20 ms until it holds; panics with `what` after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Gossip settings that make tests converge quickly: a 2 s node timeout
/// gossips every 80 ms.
pub const FAST_NODE_TIMEOUT_MS: &str = "2000";

/// An in-process cluster node on ephemeral ports with its own data directory.
pub fn start_node(dir: &Path, shards: usize, extra: &[(&str, &str)]) -> TestServer {
    let dir = dir.display().to_string();
    let mut settings = vec![
        ("cluster-enabled", "yes"),
        ("dir", dir.as_str()),
        ("cluster-node-timeout", FAST_NODE_TIMEOUT_MS),
    ];
    settings.extend_from_slice(extra);
    TestServer::start_with(shards, &settings)
}

pub fn query<T: redis::FromRedisValue>(server: &TestServer, args: &[&str]) -> T {
    let mut connection = server.connection();
    command(args)
        .query(&mut connection)
        .unwrap_or_else(|error| panic!("{args:?}: {error}"))
}

pub fn query_error(server: &TestServer, args: &[&str]) -> String {
    let mut connection = server.connection();
    match command(args).query::<redis::Value>(&mut connection) {
        Ok(value) => panic!("{args:?} replied {value:?}, expected an error"),
        Err(error) => error_text(&error),
    }
}

/// The error as the server sent it: `CODE detail`.
pub fn error_text(error: &redis::RedisError) -> String {
    match (error.code(), error.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => error.to_string(),
    }
}

pub fn command(args: &[&str]) -> redis::Cmd {
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command
}

/// `CLUSTER INFO` as field → value.
pub fn cluster_info(server: &TestServer) -> Vec<(String, String)> {
    let text: String = query(server, &["CLUSTER", "INFO"]);
    text.split("\r\n")
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (name, value) = line.split_once(':').expect("field:value");
            (name.to_string(), value.to_string())
        })
        .collect()
}

pub fn info_field(server: &TestServer, name: &str) -> String {
    cluster_info(server)
        .into_iter()
        .find(|(field, _)| field == name)
        .map(|(_, value)| value)
        .unwrap_or_else(|| panic!("CLUSTER INFO has no {name}"))
}

pub fn my_id(server: &TestServer) -> String {
    query(server, &["CLUSTER", "MYID"])
}

/// This node's gossip port, from its CLUSTER NODES line.
pub fn cluster_port(server: &TestServer) -> u16 {
    let nodes: String = query(server, &["CLUSTER", "NODES"]);
    let line = nodes
        .lines()
        .find(|line| line.contains("myself"))
        .expect("a myself line");
    let address = line.split(' ').nth(1).expect("an address");
    let bus = address.split('@').nth(1).expect("a bus port");
    bus.split(',').next().unwrap().parse().expect("a port")
}

/// Even slot ranges for `count` nodes, as redis-cli assigns them.
pub fn slot_ranges(count: usize) -> Vec<(u16, u16)> {
    let share = 16384 / count;
    (0..count)
        .map(|index| {
            let start = index * share;
            let end = if index + 1 == count { 16383 } else { start + share - 1 };
            (start as u16, end as u16)
        })
        .collect()
}

/// Gives each node its share of the slots, meets them all, and waits until
/// every node sees every other and reports cluster_state:ok.
pub fn form_cluster(nodes: &[&TestServer]) {
    for (node, (start, end)) in nodes.iter().zip(slot_ranges(nodes.len())) {
        let reply: String = query(
            node,
            &["CLUSTER", "ADDSLOTSRANGE", &start.to_string(), &end.to_string()],
        );
        assert_eq!(reply, "OK");
    }
    let first = nodes[0];
    for node in &nodes[1..] {
        let reply: String = query(
            first,
            &[
                "CLUSTER",
                "MEET",
                "127.0.0.1",
                &node.port().to_string(),
                &cluster_port(node).to_string(),
            ],
        );
        assert_eq!(reply, "OK");
    }
    wait_for_agreement(nodes, Duration::from_secs(20));
}

pub fn wait_for_agreement(nodes: &[&TestServer], limit: Duration) {
    let expected_nodes = nodes.len().to_string();
    for node in nodes {
        wait_until(limit, "every node to see a healthy cluster", || {
            let info = cluster_info(node);
            let field = |name: &str| {
                info.iter()
                    .find(|(field, _)| field == name)
                    .map(|(_, value)| value.clone())
            };
            field("cluster_state").as_deref() == Some("ok")
                && field("cluster_known_nodes") == Some(expected_nodes.clone())
        });
    }
}

/// A `starling-server` process, killed on drop.
pub struct ProcessNode {
    pub child: Child,
    pub port: u16,
    /// Kept open so that the server never writes into a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl ProcessNode {
    /// Starts the binary with `args` (plus `--print-port`) and waits until it listens.
    pub fn start(args: &[String]) -> ProcessNode {
        let mut child = Command::new(env!("CARGO_BIN_EXE_starling-server"))
            .args(args)
            .arg("--print-port")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starling-server starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("reads the port line");
        let port = line
            .trim()
            .strip_prefix("port=")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("a port number");
        ProcessNode {
            child,
            port,
            _stdout: stdout,
        }
    }

    pub fn client(&self) -> redis::Connection {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).expect("url");
        let connection = client.get_connection().expect("connects");
        connection
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        connection
    }

    pub fn query<T: redis::FromRedisValue>(&self, args: &[&str]) -> T {
        command(args)
            .query(&mut self.client())
            .unwrap_or_else(|error| panic!("{args:?}: {error}"))
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ProcessNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts starling-bench's lost-write checker against `seeds` (for the
/// length of a test: stop it with `Checker::stop`) and waits until it has
/// 200 acknowledged writes, so that a test disturbs a cluster under load.
pub async fn start_checker(
    seeds: Vec<String>,
    writers: usize,
    keys_per_writer: usize,
) -> starling_loadtest::check::Checker {
    let mut config = starling_loadtest::check::CheckConfig::new(seeds);
    config.writers = writers;
    config.keys_per_writer = keys_per_writer;
    config.duration_opt = Some(Duration::from_secs(300));
    config.verify_every = 20;
    config.max_attempts = 50;
    let checker = starling_loadtest::check::Checker::start(config)
        .await
        .expect("the checker starts");
    while checker
        .progress()
        .acknowledged
        .load(std::sync::atomic::Ordering::Relaxed)
        < 200
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    checker
}
