//! CLUSTER subcommands, ASKING and the cluster-mode behaviour of SELECT,
//! READONLY, HELLO, INFO and CONFIG, against in-process nodes: every
//! subcommand, every error text, the exact reply shapes of CLUSTER INFO,
//! NODES, SLOTS and SHARDS (RESP2 and RESP3), and the node state that
//! survives a restart.

mod cluster_harness;
mod common;

use std::time::Duration;

use bytes::Bytes;
use cluster_harness::*;
use common::{bulk, RawConnection, TestServer};
use starling_protocol::{key_slot, Frame};

const DISABLED: &str = "ERR This instance has cluster support disabled";

fn error(text: &str) -> Frame {
    Frame::Error(Bytes::copy_from_slice(text.as_bytes()))
}

fn simple(text: &str) -> Frame {
    Frame::SimpleString(Bytes::copy_from_slice(text.as_bytes()))
}

fn ok() -> Frame {
    simple("OK")
}

fn words(command: &str) -> Vec<&[u8]> {
    command.split(' ').map(str::as_bytes).collect()
}

/// Sends a command given as space-separated words.
fn send(raw: &mut RawConnection, command: &str) -> Frame {
    raw.command(&words(command))
}

fn text_of(frame: &Frame) -> String {
    match frame {
        Frame::BulkString(text) | Frame::Verbatim { text, .. } => String::from_utf8(text.to_vec()).unwrap(),
        other => panic!("expected text, got {other:?}"),
    }
}

fn integer(value: i64) -> Frame {
    Frame::Integer(value)
}

#[test]
fn standalone_nodes_refuse_cluster_commands() {
    let server = TestServer::start(1);
    let mut raw = server.raw();
    for command in [
        "CLUSTER INFO",
        "CLUSTER HELP",
        "CLUSTER KEYSLOT foo",
        "CLUSTER NODES",
        "CLUSTER SLOTS",
        "CLUSTER ADDSLOTS 1",
        "CLUSTER MEET 127.0.0.1 7000",
        "CLUSTER COUNTKEYSINSLOT 1",
        "CLUSTER RESET",
        "ASKING",
        "READONLY",
        "READWRITE",
    ] {
        assert_eq!(send(&mut raw, command), error(DISABLED), "{command}");
    }
    assert_eq!(
        send(&mut raw, "CLUSTER NOSUCH"),
        error("ERR unknown subcommand 'NOSUCH'. Try CLUSTER HELP.")
    );
    assert_eq!(
        send(&mut raw, "CLUSTER INFO extra"),
        error("ERR wrong number of arguments for 'cluster|info' command")
    );
    assert_eq!(
        raw.command(&[b"CLUSTER"]),
        error("ERR wrong number of arguments for 'cluster' command")
    );
    assert_eq!(send(&mut raw, "SELECT 1"), error("ERR DB index is out of range"));
    assert_eq!(send(&mut raw, "SET foo bar"), ok());
    let info = text_of(&send(&mut raw, "INFO cluster"));
    assert!(info.contains("cluster_enabled:0\r\n"), "{info}");
}

#[test]
fn a_fresh_node_is_alone_and_serves_no_slot() {
    let dir = TempDir::new("fresh");
    let node = start_node(&dir.path, 2, &[]);
    let mut raw = node.raw();
    assert_eq!(
        text_of(&send(&mut raw, "CLUSTER INFO")),
        "cluster_state:fail\r\ncluster_slots_assigned:0\r\ncluster_slots_ok:0\r\ncluster_slots_pfail:0\r\n\
         cluster_slots_fail:0\r\ncluster_known_nodes:1\r\ncluster_size:0\r\ncluster_current_epoch:0\r\n\
         cluster_my_epoch:0\r\ncluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n\
         total_cluster_links_buffer_limit_exceeded:0\r\n"
    );
    let id = text_of(&send(&mut raw, "CLUSTER MYID"));
    assert_eq!(id.len(), 40);
    assert!(id
        .bytes()
        .all(|byte| byte.is_ascii_hexdigit() && !byte.is_ascii_uppercase()));
    let shard_id = text_of(&send(&mut raw, "CLUSTER MYSHARDID"));
    assert_eq!(shard_id.len(), 40);
    assert_ne!(shard_id, id);
    let nodes = text_of(&send(&mut raw, "CLUSTER NODES"));
    let fields: Vec<&str> = nodes.trim_end_matches('\n').split(' ').collect();
    assert!(nodes.ends_with('\n') && nodes.lines().count() == 1, "{nodes:?}");
    assert_eq!(fields[0], id);
    assert_eq!(fields[1], format!("127.0.0.1:{}@{}", node.port(), cluster_port(&node)));
    assert_eq!(&fields[2..5], &["myself,master", "-", "0"]);
    assert!(fields[5].parse::<u64>().is_ok());
    assert_eq!(&fields[6..], &["0", "connected"]);

    // Keyed commands need a served slot; keyless ones always run.
    assert_eq!(send(&mut raw, "GET foo"), error("CLUSTERDOWN Hash slot not served"));
    assert_eq!(send(&mut raw, "PING"), simple("PONG"));
    assert_eq!(send(&mut raw, "DBSIZE"), integer(0));
    assert_eq!(send(&mut raw, "CLUSTER SLOTS"), Frame::Array(vec![]));
    assert_eq!(send(&mut raw, "CLUSTER LINKS"), Frame::Array(vec![]));
}

#[test]
fn cluster_mode_changes_select_readonly_hello_info_and_config() {
    let dir = TempDir::new("modes");
    let node = start_node(&dir.path, 1, &[]);
    let mut raw = node.raw();
    assert_eq!(send(&mut raw, "SELECT 0"), ok());
    assert_eq!(
        send(&mut raw, "SELECT 1"),
        error("ERR SELECT is not allowed in cluster mode")
    );
    assert_eq!(send(&mut raw, "READONLY"), ok());
    assert_eq!(send(&mut raw, "READWRITE"), ok());
    assert_eq!(send(&mut raw, "ASKING"), ok());
    assert_eq!(
        send(&mut raw, "ASKING extra"),
        error("ERR wrong number of arguments for 'asking' command")
    );
    let info = text_of(&send(&mut raw, "INFO"));
    assert!(info.contains("redis_mode:cluster\r\n"), "{info}");
    assert!(info.contains("# Cluster\r\ncluster_enabled:1\r\n"), "{info}");
    assert!(!info.contains("db0:"), "an empty node has no db0 line: {info}");
    assert_eq!(
        send(&mut raw, "CONFIG GET cluster-enabled"),
        Frame::Array(vec![bulk("cluster-enabled"), bulk("yes")])
    );
    let Frame::Map(hello) = send(&mut raw, "HELLO 3") else {
        panic!("HELLO 3 replies a map");
    };
    assert!(hello.contains(&(bulk("mode"), bulk("cluster"))), "{hello:?}");
}

#[test]
fn keyslot_follows_the_redis_vectors() {
    let dir = TempDir::new("keyslot");
    let node = start_node(&dir.path, 1, &[]);
    let mut raw = node.raw();
    for (key, slot) in [
        ("foo", 12182),
        ("bar", 5061),
        ("hello", 866),
        ("somekey", 11058),
        ("foo{hash_tag}", 2515),
        ("{user1000}.following", 3443),
        ("foo{}{bar}", 8363),
        ("foo{{bar}}zap", 4015),
        ("foo{bar}{zap}", 5061),
        ("123456789", 12739),
    ] {
        assert_eq!(
            raw.command(&[b"CLUSTER", b"KEYSLOT", key.as_bytes()]),
            integer(slot),
            "{key}"
        );
    }
    assert_eq!(raw.command(&[b"CLUSTER", b"KEYSLOT", b""]), integer(0));
    assert_eq!(
        send(&mut raw, "CLUSTER KEYSLOT"),
        error("ERR wrong number of arguments for 'cluster|keyslot' command")
    );
}

#[test]
fn slots_are_assigned_and_released_with_redis_errors() {
    let dir = TempDir::new("slots");
    let node = start_node(&dir.path, 2, &[]);
    let mut raw = node.raw();
    assert_eq!(send(&mut raw, "CLUSTER ADDSLOTS 0 1 2 5"), ok());
    assert_eq!(send(&mut raw, "CLUSTER ADDSLOTSRANGE 10 20"), ok());
    let invalid_slot = error("ERR Invalid or out of range slot");
    for (command, reply) in [
        ("CLUSTER ADDSLOTS 5", error("ERR Slot 5 is already busy")),
        ("CLUSTER ADDSLOTS 16384", invalid_slot.clone()),
        ("CLUSTER ADDSLOTS -1", invalid_slot.clone()),
        ("CLUSTER ADDSLOTS 30 x", invalid_slot.clone()),
        ("CLUSTER ADDSLOTS 7 7", error("ERR Slot 7 specified multiple times")),
        ("CLUSTER DELSLOTS 3000", error("ERR Slot 3000 is already unassigned")),
        (
            "CLUSTER ADDSLOTSRANGE 30 20",
            error("ERR start slot number 30 is greater than end slot number 20"),
        ),
        (
            "CLUSTER ADDSLOTSRANGE 30",
            error("ERR wrong number of arguments for 'cluster|addslotsrange' command"),
        ),
        (
            "CLUSTER ADDSLOTSRANGE 30 31 32",
            error("ERR wrong number of arguments for 'cluster|addslotsrange' command"),
        ),
        (
            "CLUSTER DELSLOTSRANGE 30 31 32",
            error("ERR wrong number of arguments for 'cluster|delslotsrange' command"),
        ),
        // Each pair is checked before the next is parsed.
        ("CLUSTER ADDSLOTSRANGE 0 1 x 5", error("ERR Slot 0 is already busy")),
        ("CLUSTER ADDSLOTSRANGE 40 41 x 5", invalid_slot.clone()),
        (
            "CLUSTER ADDSLOTSRANGE 40 45 44 50",
            error("ERR Slot 44 specified multiple times"),
        ),
        (
            "CLUSTER DELSLOTSRANGE 0 2 3 4",
            error("ERR Slot 3 is already unassigned"),
        ),
        (
            "CLUSTER ADDSLOTS",
            error("ERR wrong number of arguments for 'cluster|addslots' command"),
        ),
        (
            "CLUSTER FLUSHSLOTS x",
            error("ERR wrong number of arguments for 'cluster|flushslots' command"),
        ),
    ] {
        assert_eq!(send(&mut raw, command), reply, "{command}");
    }
    let my_line = || {
        let mut raw = node.raw();
        text_of(&send(&mut raw, "CLUSTER NODES"))
    };
    assert!(my_line().ends_with(" connected 0-2 5 10-20\n"), "{}", my_line());
    assert_eq!(info_field(&node, "cluster_slots_assigned"), "15");
    assert_eq!(send(&mut raw, "CLUSTER DELSLOTSRANGE 10 15"), ok());
    assert_eq!(send(&mut raw, "CLUSTER DELSLOTS 5 0"), ok());
    assert!(my_line().ends_with(" connected 1-2 16-20\n"), "{}", my_line());
    assert_eq!(send(&mut raw, "CLUSTER FLUSHSLOTS"), ok());
    assert!(my_line().ends_with(" connected\n"), "{}", my_line());
    assert_eq!(info_field(&node, "cluster_slots_assigned"), "0");
}

#[test]
fn a_node_with_every_slot_serves_keys_and_counts_them_per_slot() {
    let dir = TempDir::new("serve");
    let node = start_node(&dir.path, 4, &[]);
    let mut raw = node.raw();
    assert_eq!(send(&mut raw, "CLUSTER ADDSLOTSRANGE 0 16383"), ok());
    assert_eq!(info_field(&node, "cluster_state"), "ok");
    assert_eq!(send(&mut raw, "SET foo bar"), ok());
    assert_eq!(send(&mut raw, "GET foo"), bulk("bar"));
    assert_eq!(send(&mut raw, "MSET {user1}.a 1 {user1}.b 2"), ok());
    assert_eq!(
        send(&mut raw, "MGET {user1}.a {user1}.b"),
        Frame::Array(vec![bulk("1"), bulk("2")])
    );
    let crossslot = error("CROSSSLOT Keys in request don't hash to the same slot");
    assert_eq!(send(&mut raw, "MSET foo 1 bar 2"), crossslot);
    assert_eq!(send(&mut raw, "DEL foo bar"), crossslot);
    assert_eq!(send(&mut raw, "RENAME foo bar"), crossslot);
    assert_eq!(
        send(&mut raw, "GET foo"),
        bulk("bar"),
        "a refused command changes nothing"
    );

    let user_slot = key_slot(b"{user1}.a").to_string();
    assert_eq!(
        send(&mut raw, &format!("CLUSTER COUNTKEYSINSLOT {user_slot}")),
        integer(2)
    );
    assert_eq!(send(&mut raw, "CLUSTER COUNTKEYSINSLOT 0"), integer(0));
    let Frame::Array(keys) = send(&mut raw, &format!("CLUSTER GETKEYSINSLOT {user_slot} 10")) else {
        panic!("GETKEYSINSLOT replies an array");
    };
    let mut keys: Vec<String> = keys.iter().map(text_of).collect();
    keys.sort();
    assert_eq!(keys, vec!["{user1}.a", "{user1}.b"]);
    let Frame::Array(limited) = send(&mut raw, &format!("CLUSTER GETKEYSINSLOT {user_slot} 1")) else {
        panic!("GETKEYSINSLOT replies an array");
    };
    assert_eq!(limited.len(), 1);
    assert!(keys.contains(&text_of(&limited[0])));
    for (command, reply) in [
        ("CLUSTER COUNTKEYSINSLOT 16384", error("ERR Invalid slot")),
        ("CLUSTER COUNTKEYSINSLOT -1", error("ERR Invalid slot")),
        (
            "CLUSTER COUNTKEYSINSLOT x",
            error("ERR value is not an integer or out of range"),
        ),
        (
            "CLUSTER GETKEYSINSLOT 1 -1",
            error("ERR Invalid slot or number of keys"),
        ),
        (
            "CLUSTER GETKEYSINSLOT 16384 1",
            error("ERR Invalid slot or number of keys"),
        ),
        (
            "CLUSTER GETKEYSINSLOT 1 x",
            error("ERR value is not an integer or out of range"),
        ),
        (
            "CLUSTER GETKEYSINSLOT x 1",
            error("ERR value is not an integer or out of range"),
        ),
        (
            "CLUSTER FLUSHSLOTS",
            error("ERR DB must be empty to perform CLUSTER FLUSHSLOTS."),
        ),
        (
            "CLUSTER RESET",
            error("ERR CLUSTER RESET can't be called with master nodes containing keys"),
        ),
    ] {
        assert_eq!(send(&mut raw, command), reply, "{command}");
    }
}

#[test]
fn config_epochs_follow_redis_rules() {
    let dir = TempDir::new("epochs");
    let node = start_node(&dir.path, 1, &[]);
    let mut raw = node.raw();
    assert_eq!(
        send(&mut raw, "CLUSTER SET-CONFIG-EPOCH -1"),
        error("ERR Invalid config epoch specified: -1")
    );
    assert_eq!(
        send(&mut raw, "CLUSTER SET-CONFIG-EPOCH x"),
        error("ERR value is not an integer or out of range")
    );
    assert_eq!(send(&mut raw, "CLUSTER SET-CONFIG-EPOCH 5"), ok());
    assert_eq!(
        send(&mut raw, "CLUSTER SET-CONFIG-EPOCH 6"),
        error("ERR Node config epoch is already non-zero")
    );
    assert_eq!(send(&mut raw, "CLUSTER BUMPEPOCH"), simple("STILL 5"));
    assert_eq!(info_field(&node, "cluster_my_epoch"), "5");
    assert_eq!(info_field(&node, "cluster_current_epoch"), "5");

    let other_dir = TempDir::new("epochs-other");
    let other = start_node(&other_dir.path, 1, &[]);
    let mut other_raw = other.raw();
    assert_eq!(send(&mut other_raw, "CLUSTER BUMPEPOCH"), simple("BUMPED 1"));
    assert_eq!(send(&mut other_raw, "CLUSTER BUMPEPOCH"), simple("STILL 1"));
}

#[test]
fn forget_replicas_links_help_saveconfig_and_reset() {
    let dir = TempDir::new("admin");
    let node = start_node(&dir.path, 1, &[]);
    let mut raw = node.raw();
    let id = my_id(&node);
    assert_eq!(
        send(&mut raw, &format!("CLUSTER FORGET {id}")),
        error("ERR I tried hard but I can't forget myself...")
    );
    assert_eq!(send(&mut raw, "CLUSTER FORGET abc"), error("ERR Unknown node abc"));
    let stranger = "0".repeat(40);
    assert_eq!(
        send(&mut raw, &format!("CLUSTER FORGET {stranger}")),
        error(&format!("ERR Unknown node {stranger}"))
    );
    assert_eq!(
        send(&mut raw, &format!("CLUSTER COUNT-FAILURE-REPORTS {id}")),
        integer(0)
    );
    assert_eq!(
        send(&mut raw, "CLUSTER COUNT-FAILURE-REPORTS x"),
        error("ERR Unknown node x")
    );
    assert_eq!(send(&mut raw, &format!("CLUSTER REPLICAS {id}")), Frame::Array(vec![]));
    assert_eq!(send(&mut raw, &format!("CLUSTER SLAVES {id}")), Frame::Array(vec![]));
    assert_eq!(send(&mut raw, "CLUSTER REPLICAS x"), error("ERR Unknown node x"));

    let Frame::Array(help) = send(&mut raw, "CLUSTER HELP") else {
        panic!("HELP replies an array");
    };
    assert_eq!(
        help[0],
        simple("CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
    );
    assert!(help.contains(&simple("MEET <ip> <port> [<bus-port>]")));
    assert_eq!(help.last(), Some(&simple("    Prints this help.")));

    assert_eq!(send(&mut raw, "CLUSTER ADDSLOTSRANGE 0 99"), ok());
    assert_eq!(send(&mut raw, "CLUSTER SAVECONFIG"), ok());
    let state = std::fs::read_to_string(dir.join("starling-cluster.state")).unwrap();
    assert!(state.contains(&format!("node-id {id}\n")), "{state}");
    assert!(state.contains("slots r:0-99\n"), "{state}");

    assert_eq!(send(&mut raw, "CLUSTER RESET NOW"), error("ERR syntax error"));
    assert_eq!(send(&mut raw, "CLUSTER RESET SOFT"), ok());
    assert_eq!(my_id(&node), id, "a soft reset keeps the id");
    assert_eq!(info_field(&node, "cluster_slots_assigned"), "0");

    assert_eq!(send(&mut raw, "CLUSTER ADDSLOTSRANGE 0 99"), ok());
    assert_eq!(send(&mut raw, "CLUSTER BUMPEPOCH"), simple("BUMPED 1"));
    let shard_id = text_of(&send(&mut raw, "CLUSTER MYSHARDID"));
    assert_eq!(send(&mut raw, "CLUSTER RESET HARD"), ok());
    let new_id = my_id(&node);
    assert_ne!(new_id, id, "a hard reset takes a new id");
    assert_ne!(text_of(&send(&mut raw, "CLUSTER MYSHARDID")), shard_id);
    assert_eq!(info_field(&node, "cluster_slots_assigned"), "0");
    assert_eq!(info_field(&node, "cluster_my_epoch"), "0");
    assert_eq!(info_field(&node, "cluster_current_epoch"), "0");
    assert_eq!(info_field(&node, "cluster_known_nodes"), "1");
    // Gossip restarted on the same port under the new identity.
    assert_eq!(send(&mut raw, "CLUSTER ADDSLOTSRANGE 0 16383"), ok());
    assert_eq!(send(&mut raw, "SET after-reset 1"), ok());
    let state = std::fs::read_to_string(dir.join("starling-cluster.state")).unwrap();
    assert!(state.contains(&format!("node-id {new_id}\n")), "{state}");
}

#[test]
fn a_restarted_node_keeps_its_identity_epoch_and_slots() {
    let dir = TempDir::new("restart");
    let (id, shard_id) = {
        let node = start_node(&dir.path, 2, &[]);
        let mut raw = node.raw();
        assert_eq!(send(&mut raw, "CLUSTER ADDSLOTSRANGE 0 100"), ok());
        assert_eq!(send(&mut raw, "CLUSTER SET-CONFIG-EPOCH 7"), ok());
        let shard_id = text_of(&send(&mut raw, "CLUSTER MYSHARDID"));
        (my_id(&node), shard_id)
    };
    let node = start_node(&dir.path, 2, &[]);
    let mut raw = node.raw();
    assert_eq!(my_id(&node), id);
    assert_eq!(text_of(&send(&mut raw, "CLUSTER MYSHARDID")), shard_id);
    assert_eq!(info_field(&node, "cluster_my_epoch"), "7");
    assert_eq!(info_field(&node, "cluster_slots_assigned"), "101");
    let nodes = text_of(&send(&mut raw, "CLUSTER NODES"));
    assert!(nodes.ends_with(" 7 connected 0-100\n"), "{nodes}");

    // Another process may not share the directory.
    let mut config = starling_node::config::StartupConfig::from_flags(Default::default()).unwrap();
    config.port = 0;
    config.apply("cluster-enabled", "yes").unwrap();
    config.apply("dir", &dir.path.display().to_string()).unwrap();
    let error = starling_node::server::start_background(config)
        .err()
        .expect("a second node on one directory is refused");
    assert!(error.to_string().contains("already used"), "{error:#}");
}

#[test]
fn moved_names_the_owner_by_ip_or_hostname() {
    let dirs = [TempDir::new("moved-a"), TempDir::new("moved-b")];
    let first = start_node(&dirs[0].path, 2, &[("cluster-preferred-endpoint-type", "hostname")]);
    let second = start_node(&dirs[1].path, 2, &[("cluster-announce-hostname", "node-b.starling")]);
    form_cluster(&[&first, &second]);
    // foo is slot 12182, bar 5061: the first node serves 0-8191.
    let mut raw = first.raw();
    assert_eq!(
        send(&mut raw, "GET foo"),
        error(&format!("MOVED 12182 node-b.starling:{}", second.port()))
    );
    let mut raw = second.raw();
    assert_eq!(
        send(&mut raw, "GET bar"),
        error(&format!("MOVED 5061 127.0.0.1:{}", first.port()))
    );
    assert_eq!(send(&mut raw, "SET foo 1"), ok());
    assert_eq!(
        send(&mut raw, "MGET foo bar"),
        error("CROSSSLOT Keys in request don't hash to the same slot")
    );
    // With hostnames preferred, a node without one is named `?`, its IP in the metadata.
    let mut raw = first.raw();
    let Frame::Array(ranges) = send(&mut raw, "CLUSTER SLOTS") else {
        panic!("CLUSTER SLOTS replies an array");
    };
    assert_eq!(
        ranges[0],
        Frame::Array(vec![
            integer(0),
            integer(8191),
            Frame::Array(vec![
                bulk("?"),
                integer(first.port() as i64),
                bulk(&my_id(&first)),
                Frame::Array(vec![bulk("ip"), bulk("127.0.0.1")]),
            ]),
        ])
    );
    assert_eq!(
        ranges[1],
        Frame::Array(vec![
            integer(8192),
            integer(16383),
            Frame::Array(vec![
                bulk("node-b.starling"),
                integer(second.port() as i64),
                bulk(&my_id(&second)),
                Frame::Array(vec![bulk("ip"), bulk("127.0.0.1")]),
            ]),
        ])
    );
    // A node that knows others may not choose its config epoch.
    assert_eq!(
        send(&mut raw, "CLUSTER SET-CONFIG-EPOCH 9"),
        error("ERR The user can assign a config epoch only when the node does not know any other node.")
    );
}

/// One node's line of CLUSTER NODES, split into its fields.
fn node_fields(nodes: &str, id: &str) -> Vec<String> {
    nodes
        .lines()
        .find(|line| line.starts_with(id))
        .unwrap_or_else(|| panic!("no line for {id} in {nodes}"))
        .split(' ')
        .map(str::to_string)
        .collect()
}

#[test]
fn cluster_replies_have_the_redis_shapes_field_by_field() {
    let dirs = [
        TempDir::new("shape-a"),
        TempDir::new("shape-b"),
        TempDir::new("shape-c"),
    ];
    let first = start_node(&dirs[0].path, 2, &[]);
    let second = start_node(&dirs[1].path, 2, &[]);
    let third = start_node(&dirs[2].path, 2, &[("cluster-announce-hostname", "node-c.starling")]);
    let nodes = [&first, &second, &third];
    form_cluster(&nodes);
    let ids: Vec<String> = nodes.iter().map(|node| my_id(node)).collect();
    // Config epochs start equal (0) and become distinct through collision handling.
    wait_until(Duration::from_secs(20), "distinct config epochs", || {
        let listing: String = query(&first, &["CLUSTER", "NODES"]);
        let mut epochs: Vec<String> = ids.iter().map(|id| node_fields(&listing, id)[6].clone()).collect();
        epochs.sort();
        epochs.dedup();
        epochs.len() == 3
    });
    let ranges = slot_ranges(3);

    // CLUSTER NODES: every line ends in \n; the asking node carries `myself`.
    let mut raw = first.raw();
    let listing = text_of(&send(&mut raw, "CLUSTER NODES"));
    assert!(listing.ends_with('\n'));
    assert_eq!(listing.lines().count(), 3);
    let mut epochs = Vec::new();
    for (index, node) in nodes.iter().enumerate() {
        let fields = node_fields(&listing, &ids[index]);
        let hostname = if index == 2 { ",node-c.starling" } else { "" };
        assert_eq!(
            fields[1],
            format!("127.0.0.1:{}@{}{hostname}", node.port(), cluster_port(node))
        );
        assert_eq!(fields[2], if index == 0 { "myself,master" } else { "master" });
        assert_eq!(fields[3], "-");
        assert_eq!(fields[4], "0");
        assert!(fields[5].parse::<u64>().unwrap() > 1_700_000_000_000, "pong time in ms");
        epochs.push(fields[6].parse::<u64>().unwrap());
        assert_eq!(fields[7], "connected");
        let (start, end) = ranges[index];
        assert_eq!(fields[8..], [format!("{start}-{end}")]);
    }

    // CLUSTER INFO: every field, in order.
    let info = cluster_info(&first);
    let names: Vec<&str> = info.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "cluster_state",
            "cluster_slots_assigned",
            "cluster_slots_ok",
            "cluster_slots_pfail",
            "cluster_slots_fail",
            "cluster_known_nodes",
            "cluster_size",
            "cluster_current_epoch",
            "cluster_my_epoch",
            "cluster_stats_messages_sent",
            "cluster_stats_messages_received",
            "total_cluster_links_buffer_limit_exceeded",
        ]
    );
    let value = |name: &str| info.iter().find(|(field, _)| field == name).unwrap().1.clone();
    assert_eq!(value("cluster_state"), "ok");
    assert_eq!(value("cluster_slots_assigned"), "16384");
    assert_eq!(value("cluster_slots_ok"), "16384");
    assert_eq!(value("cluster_slots_pfail"), "0");
    assert_eq!(value("cluster_slots_fail"), "0");
    assert_eq!(value("cluster_known_nodes"), "3");
    assert_eq!(value("cluster_size"), "3");
    assert_eq!(value("cluster_my_epoch"), epochs[0].to_string());
    assert!(value("cluster_current_epoch").parse::<u64>().unwrap() >= *epochs.iter().max().unwrap());
    assert!(value("cluster_stats_messages_sent").parse::<u64>().unwrap() > 0);
    assert!(value("cluster_stats_messages_received").parse::<u64>().unwrap() > 0);
    assert_eq!(value("total_cluster_links_buffer_limit_exceeded"), "0");

    // CLUSTER SLOTS, RESP2: [start, end, [ip, port, id, {metadata}]] with integers.
    let expected_slots = |map: fn(Vec<(Frame, Frame)>) -> Frame| {
        Frame::Array(
            nodes
                .iter()
                .enumerate()
                .map(|(index, node)| {
                    let (start, end) = ranges[index];
                    let metadata = if index == 2 {
                        vec![(bulk("hostname"), bulk("node-c.starling"))]
                    } else {
                        vec![]
                    };
                    Frame::Array(vec![
                        integer(start as i64),
                        integer(end as i64),
                        Frame::Array(vec![
                            bulk("127.0.0.1"),
                            integer(node.port() as i64),
                            bulk(&ids[index]),
                            map(metadata),
                        ]),
                    ])
                })
                .collect(),
        )
    };
    let flattened =
        |pairs: Vec<(Frame, Frame)>| Frame::Array(pairs.into_iter().flat_map(|(name, value)| [name, value]).collect());
    assert_eq!(send(&mut raw, "CLUSTER SLOTS"), expected_slots(flattened));

    // CLUSTER SHARDS, RESP3: maps of slots and nodes.
    let mut raw3 = first.raw();
    assert!(matches!(send(&mut raw3, "HELLO 3"), Frame::Map(_)));
    assert_eq!(send(&mut raw3, "CLUSTER SLOTS"), expected_slots(Frame::Map));
    let Frame::Array(shards) = send(&mut raw3, "CLUSTER SHARDS") else {
        panic!("CLUSTER SHARDS replies an array");
    };
    assert_eq!(shards.len(), 3);
    for (index, node) in nodes.iter().enumerate() {
        let (start, end) = ranges[index];
        let mut node_fields = vec![
            (bulk("id"), bulk(&ids[index])),
            (bulk("port"), integer(node.port() as i64)),
            (bulk("ip"), bulk("127.0.0.1")),
            (bulk("endpoint"), bulk("127.0.0.1")),
        ];
        if index == 2 {
            node_fields.push((bulk("hostname"), bulk("node-c.starling")));
        }
        node_fields.extend([
            (bulk("role"), bulk("master")),
            (bulk("replication-offset"), integer(0)),
            (bulk("health"), bulk("online")),
        ]);
        let expected = Frame::Map(vec![
            (
                bulk("slots"),
                Frame::Array(vec![integer(start as i64), integer(end as i64)]),
            ),
            (bulk("nodes"), Frame::Array(vec![Frame::Map(node_fields)])),
        ]);
        assert!(shards.contains(&expected), "missing shard {expected:?} in {shards:?}");
    }
    // CLUSTER INFO and NODES are verbatim strings in RESP3.
    assert!(matches!(
        send(&mut raw3, "CLUSTER INFO"),
        Frame::Verbatim { format, .. } if &format == b"txt"
    ));
    assert!(matches!(
        send(&mut raw3, "CLUSTER NODES"),
        Frame::Verbatim { format, .. } if &format == b"txt"
    ));
}

#[test]
fn slot_stats_report_keys_and_memory_and_feed_a_balance_by_memory() {
    let (_dirs, nodes) = formed_cluster("slot-stats", 2);
    // Slots 0-8191 live on node 0. {b} is slot 3300, {c} slot 7365.
    let mut connection = nodes[0].connection();
    for index in 0..3 {
        let _: () = command(&["SET", &format!("{{b}}{index}"), "v"])
            .query(&mut connection)
            .unwrap();
    }
    let big = "x".repeat(200_000);
    let _: () = command(&["SET", "{c}big", &big]).query(&mut connection).unwrap();

    let mut raw = nodes[0].raw();
    let stats = |raw: &mut RawConnection, args: &[&str]| {
        let args: Vec<&[u8]> = args.iter().map(|arg| arg.as_bytes()).collect();
        raw.command(&args)
    };
    let entry = |slot: i64, keys: i64, bytes: i64| {
        Frame::Array(vec![
            Frame::integer(slot),
            Frame::Array(vec![
                bulk("key-count"),
                Frame::integer(keys),
                bulk("memory-bytes"),
                Frame::integer(bytes),
            ]),
        ])
    };
    // Only slots this node owns are listed.
    let Frame::Array(listed) = stats(&mut raw, &["CLUSTER", "SLOT-STATS", "SLOTSRANGE", "3299", "3301"]) else {
        panic!("an array");
    };
    assert_eq!(listed.len(), 3);
    let Frame::Array(parts) = &listed[1] else {
        panic!("an entry")
    };
    let Frame::Array(fields) = &parts[1] else {
        panic!("fields")
    };
    assert_eq!(parts[0], Frame::integer(3300));
    assert_eq!(fields[1], Frame::integer(3));
    let Frame::Integer(small_bytes) = fields[3] else {
        panic!("bytes")
    };
    assert!(small_bytes > 0 && small_bytes < 1024, "{small_bytes}");
    assert_eq!(listed[0], entry(3299, 0, 0));
    let Frame::Array(remote) = stats(&mut raw, &["CLUSTER", "SLOT-STATS", "SLOTSRANGE", "9000", "9001"]) else {
        panic!("an array");
    };
    assert!(remote.is_empty(), "slots of another node are left out");

    let Frame::Array(top) = stats(
        &mut raw,
        &["CLUSTER", "SLOT-STATS", "ORDERBY", "memory-bytes", "LIMIT", "2"],
    ) else {
        panic!("an array");
    };
    let Frame::Array(first) = &top[0] else {
        panic!("an entry")
    };
    assert_eq!(top.len(), 2);
    assert_eq!(first[0], Frame::integer(7365), "the big value's slot comes first");
    let Frame::Array(first_fields) = &first[1] else {
        panic!("fields")
    };
    let Frame::Integer(big_bytes) = first_fields[3] else {
        panic!("bytes")
    };
    assert!(big_bytes >= 200_000, "{big_bytes}");
    for (args, error) in [
        (
            &["CLUSTER", "SLOT-STATS", "SLOTSRANGE", "5", "1"][..],
            "ERR Invalid slot range",
        ),
        (
            &["CLUSTER", "SLOT-STATS", "SLOTSRANGE", "0", "16384"],
            "ERR Invalid or out of range slot",
        ),
        (
            &["CLUSTER", "SLOT-STATS", "ORDERBY", "cpu"],
            "ERR Unrecognized sort metric for ORDERBY.",
        ),
        (
            &["CLUSTER", "SLOT-STATS", "ORDERBY", "key-count", "LIMIT", "0"],
            "ERR Limit has to lie in between 1 and 16384 (maximum number of slots).",
        ),
        (&["CLUSTER", "SLOT-STATS", "NOPE", "1"], "ERR syntax error"),
    ] {
        assert_eq!(stats(&mut raw, args), Frame::error(error), "{args:?}");
    }

    // Balanced by slots already; by memory, node 0 must give.
    let seed = address(&nodes[0]);
    let cluster = starling_node::admin::Cluster::load(&seed).unwrap();
    let mut options = starling_node::admin::RebalanceOptions::default();
    assert!(starling_node::admin::plan_rebalance(&cluster, &options)
        .unwrap()
        .is_empty());
    options.balance = starling_node::admin::Balance::Memory;
    let moves = starling_node::admin::plan_rebalance(&cluster, &options).unwrap();
    let giver = my_id(&nodes[0]);
    assert!(!moves.is_empty());
    assert!(
        moves.iter().all(|planned| planned.source.as_str() == giver),
        "{moves:?}"
    );
}
