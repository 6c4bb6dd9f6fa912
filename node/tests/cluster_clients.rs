//! Real cluster clients and tools against three in-process nodes: the redis
//! crate's async cluster client, redis-cli (`-c` redirects, `--cluster
//! create` and `--cluster check`) and redis-py's RedisCluster.
//!
//! `.ci/run` installs redis-cli (redis-tools) and redis-py (in the virtual
//! environment `target/ci-python`, also named by `STARLING_PYTHON`); these
//! tests fail, rather than pass silently, when either is missing.

mod cluster_harness;
mod common;

use std::process::Command;
use std::time::Duration;

use cluster_harness::*;
use common::TestServer;
use futures::future::join_all;
use redis::AsyncCommands;

fn redis_cli(args: &[&str]) -> (bool, String) {
    let output = Command::new("redis-cli")
        .args(args)
        .output()
        .expect("redis-cli is installed (apt-get install redis-tools)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_cluster_client_writes_and_reads_ten_thousand_keys() {
    let (_dirs, nodes) = formed_cluster("client", 3);
    let urls: Vec<String> = nodes.iter().map(TestServer::url).collect();
    let client = redis::cluster::ClusterClient::new(urls).expect("cluster client");
    let connection = client
        .get_async_connection()
        .await
        .expect("connects (READONLY included)");

    const KEYS: usize = 10_000;
    for batch in (0..KEYS).collect::<Vec<_>>().chunks(500) {
        let writes = batch.iter().map(|&index| {
            let mut connection = connection.clone();
            async move {
                connection
                    .set::<_, _, ()>(format!("key:{index}"), format!("value:{index}"))
                    .await
            }
        });
        for result in join_all(writes).await {
            result.expect("SET through the cluster client");
        }
    }
    for batch in (0..KEYS).collect::<Vec<_>>().chunks(500) {
        let reads = batch.iter().map(|&index| {
            let mut connection = connection.clone();
            async move { (index, connection.get::<_, Option<String>>(format!("key:{index}")).await) }
        });
        for (index, result) in join_all(reads).await {
            assert_eq!(result.expect("GET"), Some(format!("value:{index}")));
        }
    }
    // The keys are spread over the three nodes, each holding only its slots.
    let mut total = 0;
    for node in &nodes {
        let keys: usize = query(node, &["DBSIZE"]);
        assert!(keys > KEYS / 5, "a node holds {keys} keys");
        total += keys;
    }
    assert_eq!(total, KEYS);

    // Hash-tagged multi-key commands run on the one node of their slot.
    let mut connection = connection.clone();
    redis::cmd("MSET")
        .arg("{order:7}:id")
        .arg("7")
        .arg("{order:7}:state")
        .arg("paid")
        .query_async::<()>(&mut connection)
        .await
        .expect("MSET in one slot");
    let values: Vec<String> = redis::cmd("MGET")
        .arg("{order:7}:id")
        .arg("{order:7}:state")
        .query_async(&mut connection)
        .await
        .expect("MGET in one slot");
    assert_eq!(values, vec!["7", "paid"]);
    redis::cmd("RENAME")
        .arg("{order:7}:state")
        .arg("{order:7}:status")
        .query_async::<()>(&mut connection)
        .await
        .expect("RENAME in one slot");
    // Keys in different slots: CROSSSLOT.
    let error = redis::cmd("RENAME")
        .arg("key:1")
        .arg("key:2")
        .query_async::<()>(&mut connection)
        .await
        .expect_err("keys in two slots are refused");
    assert_eq!(error.code(), Some("CROSSSLOT"), "{error}");
    assert_eq!(error.detail(), Some("Keys in request don't hash to the same slot"));
}

#[test]
fn a_plain_client_gets_moved_and_redis_cli_follows_it() {
    let (_dirs, nodes) = formed_cluster("moved", 3);
    // foo is slot 12182, served by the third node (10924-16383).
    let owner = &nodes[2];
    let mut raw = nodes[0].raw();
    raw.send(b"*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n");
    let expected = format!("-MOVED 12182 127.0.0.1:{}\r\n", owner.port());
    assert_eq!(
        String::from_utf8(raw.read_exact_bytes(expected.len())).unwrap(),
        expected
    );

    let port = nodes[0].port().to_string();
    let (success, output) = redis_cli(&["-c", "-p", &port, "SET", "foo", "bar"]);
    assert!(success && output == "OK\n", "{output}");
    let (success, output) = redis_cli(&["-c", "-p", &port, "GET", "foo"]);
    assert!(success && output == "bar\n", "{output}");
    let stored: Option<String> = query(owner, &["GET", "foo"]);
    assert_eq!(stored.as_deref(), Some("bar"), "the value lives on the slot owner");
    // Without -c, redis-cli shows the redirect (and, for any error in raw
    // mode, an empty line after it).
    let (_, output) = redis_cli(&["-p", &port, "GET", "foo"]);
    assert_eq!(output, format!("MOVED 12182 127.0.0.1:{}\n\n", owner.port()));
}

#[test]
fn redis_cli_creates_and_checks_a_cluster_of_fresh_nodes() {
    let (_dirs, nodes) = start_nodes("create", 3, &[]);
    let addresses: Vec<String> = nodes.iter().map(|node| format!("127.0.0.1:{}", node.port())).collect();
    let mut args = vec!["--cluster", "create"];
    args.extend(addresses.iter().map(String::as_str));
    args.push("--cluster-yes");
    let (success, output) = redis_cli(&args);
    assert!(success, "redis-cli --cluster create failed:\n{output}");
    assert!(output.contains("[OK] All 16384 slots covered."), "{output}");
    wait_for_agreement(&nodes.iter().collect::<Vec<_>>(), Duration::from_secs(20));

    let (success, output) = redis_cli(&["--cluster", "check", &addresses[0]]);
    assert!(success, "redis-cli --cluster check failed:\n{output}");
    assert!(
        output.contains("[OK] All nodes agree about slots configuration."),
        "{output}"
    );
    assert!(output.contains("[OK] All 16384 slots covered."), "{output}");
    // redis-cli gave each node its own config epoch with SET-CONFIG-EPOCH.
    let mut epochs: Vec<String> = nodes.iter().map(|node| info_field(node, "cluster_my_epoch")).collect();
    epochs.sort();
    assert_eq!(epochs, vec!["1", "2", "3"]);
}

/// The Python interpreter with redis-py: `STARLING_PYTHON`, else the
/// virtual environment `.ci/run` creates (`target/ci-python`), else `python3`.
fn python() -> String {
    if let Ok(python) = std::env::var("STARLING_PYTHON") {
        return python;
    }
    let ci_python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/ci-python/bin/python");
    if ci_python.exists() {
        return ci_python.display().to_string();
    }
    "python3".to_string()
}

const REDIS_PY_SCRIPT: &str = r#"
import sys
from redis.cluster import ClusterNode, RedisCluster

ports = [int(port) for port in sys.argv[1:]]
cluster = RedisCluster(
    startup_nodes=[ClusterNode("127.0.0.1", port) for port in ports],
    decode_responses=True,
)
assert len(cluster.get_primaries()) == 3, cluster.get_primaries()
for index in range(1000):
    cluster.set(f"py:{index}", index)
for index in range(1000):
    assert cluster.get(f"py:{index}") == str(index), index

pipeline = cluster.pipeline()
for index in range(300):
    pipeline.set(f"pipe:{index}", index * 2)
assert all(pipeline.execute())
pipeline = cluster.pipeline()
for index in range(300):
    pipeline.get(f"pipe:{index}")
    pipeline.incr(f"counter:{index % 7}")
replies = pipeline.execute()
assert replies[0::2] == [str(index * 2) for index in range(300)], replies[:10]

cluster.mset({"{user:1}:name": "ada", "{user:1}:lang": "rust"})
assert cluster.mget("{user:1}:name", "{user:1}:lang") == ["ada", "rust"]
slots = {cluster.keyslot(f"py:{index}") for index in range(1000)}
assert len(slots) > 500, len(slots)
print("redis-py ok")
"#;

#[test]
fn redis_py_cluster_writes_reads_and_pipelines_across_slots() {
    let (_dirs, nodes) = formed_cluster("redis-py", 3);
    let mut command = Command::new(python());
    command.arg("-c").arg(REDIS_PY_SCRIPT);
    for node in &nodes {
        command.arg(node.port().to_string());
    }
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("running {}: {error} (set STARLING_PYTHON)", python()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("redis-py ok"),
        "redis-py script failed (install it with pip install redis, or set STARLING_PYTHON):\n{stdout}\n{stderr}"
    );
}
