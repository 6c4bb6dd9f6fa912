//! Failure detection and recovery with real processes: three
//! `starling-server` nodes form a cluster; one is killed (SIGKILL); the
//! survivors flag it `fail` within 5 seconds (the default
//! `cluster-node-timeout`) and report `cluster_state:fail`, since its slots
//! have no replica; restarted from its data directory it comes back with
//! the same id and slots and the state returns to ok.

mod cluster_harness;
mod common;

use std::time::{Duration, Instant};

use cluster_harness::{slot_ranges, wait_until, ProcessNode, TempDir};

fn start(dir: &TempDir, port: u16, cluster_port: u16) -> ProcessNode {
    ProcessNode::start(&[
        "--port".to_string(),
        port.to_string(),
        "--cluster-port".to_string(),
        cluster_port.to_string(),
        "--cluster-enabled".to_string(),
        "yes".to_string(),
        "--dir".to_string(),
        dir.path.display().to_string(),
        "--shards".to_string(),
        "2".to_string(),
    ])
}

fn cluster_nodes(node: &ProcessNode) -> String {
    node.query(&["CLUSTER", "NODES"])
}

fn info_field(node: &ProcessNode, name: &str) -> String {
    let info: String = node.query(&["CLUSTER", "INFO"]);
    info.split("\r\n")
        .find_map(|line| line.strip_prefix(&format!("{name}:")).map(str::to_string))
        .unwrap_or_else(|| panic!("no {name} in {info}"))
}

/// This node's gossip port, from its CLUSTER NODES line.
fn own_cluster_port(node: &ProcessNode) -> u16 {
    let nodes = cluster_nodes(node);
    let line = nodes
        .lines()
        .find(|line| line.contains("myself"))
        .expect("a myself line");
    let address = line.split(' ').nth(1).expect("an address");
    address.split('@').nth(1).expect("a bus port").parse().expect("a port")
}

/// The fields of the CLUSTER NODES line for `id`, if the node is listed.
fn find_line(nodes: &str, id: &str) -> Option<Vec<String>> {
    let line = nodes.lines().find(|line| line.starts_with(id))?;
    Some(line.split(' ').map(str::to_string).collect())
}

fn line_of(nodes: &str, id: &str) -> Vec<String> {
    find_line(nodes, id).unwrap_or_else(|| panic!("no line for {id} in:\n{nodes}"))
}

#[test]
fn a_killed_node_is_flagged_failed_and_rejoins_from_its_data_dir() {
    let dirs: Vec<TempDir> = (0..3).map(|index| TempDir::new(&format!("failure-{index}"))).collect();
    // Ephemeral client and gossip ports; the restart below reuses them.
    let mut nodes: Vec<ProcessNode> = dirs.iter().map(|dir| start(dir, 0, 0)).collect();
    let ranges = slot_ranges(3);
    for (node, (start_slot, end_slot)) in nodes.iter().zip(&ranges) {
        let reply: String = node.query(&[
            "CLUSTER",
            "ADDSLOTSRANGE",
            &start_slot.to_string(),
            &end_slot.to_string(),
        ]);
        assert_eq!(reply, "OK");
    }
    for node in &nodes[1..] {
        let reply: String = nodes[0].query(&[
            "CLUSTER",
            "MEET",
            "127.0.0.1",
            &node.port.to_string(),
            &own_cluster_port(node).to_string(),
        ]);
        assert_eq!(reply, "OK");
    }
    for node in &nodes {
        wait_until(Duration::from_secs(30), "the cluster to form", || {
            info_field(node, "cluster_state") == "ok" && info_field(node, "cluster_known_nodes") == "3"
        });
    }
    let victim = nodes.pop().expect("three nodes");
    let victim_id: String = victim.query(&["CLUSTER", "MYID"]);
    let (victim_port, victim_cluster_port) = (victim.port, own_cluster_port(&victim));
    let victim_line = line_of(&cluster_nodes(&nodes[0]), &victim_id);
    assert_eq!(victim_line[2], "master");

    victim.kill();
    let killed_at = Instant::now();
    // First doubted (PFAIL): flagged `fail?`, its slots counted apart, the
    // cluster still ok.
    let (start_slot, end_slot) = ranges[2];
    wait_until(Duration::from_secs(5), "the killed node to be suspected", || {
        find_line(&cluster_nodes(&nodes[0]), &victim_id).is_some_and(|fields| fields[2] == "master,fail?")
            && info_field(&nodes[0], "cluster_slots_pfail") == (end_slot - start_slot + 1).to_string()
            && info_field(&nodes[0], "cluster_state") == "ok"
    });
    for survivor in &nodes {
        wait_until(Duration::from_secs(15), "the survivors to flag the killed node", || {
            find_line(&cluster_nodes(survivor), &victim_id)
                .is_some_and(|fields| fields[2] == "master,fail" && fields[7] == "disconnected")
                && info_field(survivor, "cluster_state") == "fail"
        });
    }
    let detected_after = killed_at.elapsed();
    assert!(
        detected_after < Duration::from_secs(5),
        "the failure was detected after {detected_after:?}"
    );
    // Each survivor holds one failure report about the victim: the other
    // survivor's (a node's own doubt is not a report, as in Redis).
    for survivor in &nodes {
        let reports: i64 = survivor.query(&["CLUSTER", "COUNT-FAILURE-REPORTS", &victim_id]);
        assert_eq!(reports, 1);
    }
    let survivor = &nodes[0];
    assert_eq!(
        info_field(survivor, "cluster_slots_fail"),
        (end_slot - start_slot + 1).to_string()
    );
    // The failed node keeps its slots in the map: nobody else may serve them.
    assert_eq!(
        line_of(&cluster_nodes(survivor), &victim_id)[8],
        format!("{start_slot}-{end_slot}")
    );
    let error = redis::cmd("GET")
        .arg("foo")
        .query::<Option<String>>(&mut survivor.client())
        .expect_err("a failed cluster refuses keyed commands");
    assert_eq!(error.code(), Some("CLUSTERDOWN"));
    assert_eq!(error.detail(), Some("The cluster is down"));

    let restarted = start(&dirs[2], victim_port, victim_cluster_port);
    let restarted_id: String = restarted.query(&["CLUSTER", "MYID"]);
    assert_eq!(restarted_id, victim_id, "the node keeps its id");
    assert_eq!(
        line_of(&cluster_nodes(&restarted), &victim_id)[8],
        format!("{start_slot}-{end_slot}"),
        "and its slots"
    );
    for node in nodes.iter().chain([&restarted]) {
        wait_until(Duration::from_secs(30), "the cluster to recover", || {
            find_line(&cluster_nodes(node), &victim_id).is_some_and(|fields| !fields[2].contains("fail"))
                && info_field(node, "cluster_state") == "ok"
        });
    }
    assert_eq!(info_field(&restarted, "cluster_known_nodes"), "3");
    let own_key = (0..)
        .map(|index| format!("key:{index}"))
        .find(|key| (start_slot..=end_slot).contains(&starling_protocol::key_slot(key.as_bytes())))
        .expect("some key hashes to the node's slots");
    let reply: String = restarted.query(&["SET", &own_key, "back"]);
    assert_eq!(reply, "OK");
}
