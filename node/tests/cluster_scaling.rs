//! Scale-out 3 → 4 and scale-in 4 → 3 with `starling-admin`'s operations
//! (add-node + rebalance, drain + remove), native migration underneath,
//! while starling-bench's checker writes and verifies the whole time.

mod cluster_harness;
mod common;

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use cluster_harness::*;
use starling_cluster::NodeId;
use starling_node::admin::{self, Cluster, RebalanceOptions};

fn slot_counts(seed: &str) -> Vec<(NodeId, usize)> {
    let cluster = Cluster::load(seed).unwrap();
    cluster.primaries().map(|node| (node.id, node.slots.len())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_out_then_in_under_load_keeps_every_acknowledged_write() {
    let (_dirs, nodes) = start_nodes("scale", 4, &[]);
    form_cluster(&nodes[..3].iter().collect::<Vec<_>>());
    let seed = address(&nodes[0]);
    {
        let mut connection = nodes[0].connection();
        for index in 0..3_000 {
            let _: redis::Value = redis::cmd("SET")
                .arg(format!("preload:{index}"))
                .arg(index)
                .query(&mut connection)
                .unwrap_or(redis::Value::Nil);
        }
    }
    let checker = start_checker(nodes[..3].iter().map(address).collect(), 8, 24).await;

    // Scale out: join the fourth node and fill it.
    let new_id = tokio::task::block_in_place(|| {
        let new_id = admin::add_node(&seed, &address(&nodes[3])).unwrap();
        let cluster = Cluster::load(&seed).unwrap();
        let moves = admin::plan_rebalance(&cluster, &RebalanceOptions::default()).unwrap();
        assert_eq!(moves.len(), 3, "each old node gives to the new one: {moves:?}");
        admin::execute_moves(&cluster, &moves, 2, &AtomicBool::new(false), |_| {}).unwrap();
        new_id
    });
    // The seed learns the last claims by gossip.
    tokio::task::block_in_place(|| {
        wait_until(Duration::from_secs(20), "the seed to see four even shares", || {
            let counts = slot_counts(&seed);
            counts.len() == 4 && counts.iter().all(|(_, slots)| (4095..=4097).contains(slots))
        })
    });
    let acknowledged = checker
        .progress()
        .acknowledged
        .load(std::sync::atomic::Ordering::Relaxed);
    while checker
        .progress()
        .acknowledged
        .load(std::sync::atomic::Ordering::Relaxed)
        < acknowledged + 200
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Scale in: drain the fourth node, then remove it.
    tokio::task::block_in_place(|| {
        let cluster = Cluster::load(&seed).unwrap();
        let mut options = RebalanceOptions::default();
        options.weights.insert(new_id, 0.0);
        let moves = admin::plan_rebalance(&cluster, &options).unwrap();
        assert!(moves.iter().all(|planned| planned.source == new_id));
        admin::execute_moves(&cluster, &moves, 2, &AtomicBool::new(false), |_| {}).unwrap();
        wait_until(
            Duration::from_secs(20),
            "the drained node to hold no slot anywhere",
            || {
                slot_counts(&seed)
                    .iter()
                    .all(|(id, slots)| *id != new_id || *slots == 0)
            },
        );
        admin::remove_node(&seed, &new_id).unwrap();
        wait_until(Duration::from_secs(20), "the others to forget the removed node", || {
            nodes[..3].iter().all(|node| {
                Cluster::load(&address(node))
                    .unwrap()
                    .nodes
                    .iter()
                    .all(|entry| entry.id != new_id)
            })
        });
    });
    let counts = tokio::task::block_in_place(|| slot_counts(&seed));
    assert_eq!(counts.len(), 3);
    assert_eq!(counts.iter().map(|(_, slots)| slots).sum::<usize>(), 16384);
    let report = checker.stop().await.unwrap().verify().await;
    assert!(report.is_clean(), "{}", report.summary());
    assert_eq!(report.failed, 0, "{}", report.summary());
    assert!(report.acknowledged > 400);
}

#[test]
fn cluster_auto_rebalance_fills_a_newly_joined_node() {
    let (_dirs, nodes) = start_nodes("auto", 4, &[("cluster-auto-rebalance", "yes")]);
    form_cluster(&nodes[..3].iter().collect::<Vec<_>>());
    let reply: String = query(
        &nodes[0],
        &[
            "CLUSTER",
            "MEET",
            "127.0.0.1",
            &nodes[3].port().to_string(),
            &cluster_port(&nodes[3]).to_string(),
        ],
    );
    assert_eq!(reply, "OK");
    let newcomer = my_id(&nodes[3]);
    let seed = address(&nodes[0]);
    wait_until(Duration::from_secs(60), "the new node to get its share", || {
        slot_counts(&seed)
            .iter()
            .any(|(id, slots)| id.as_str() == newcomer && (4095..=4097).contains(slots))
    });
    let counts = slot_counts(&seed);
    assert_eq!(counts.iter().map(|(_, slots)| slots).sum::<usize>(), 16384);
}

#[test]
fn starling_admin_migrate_moves_the_named_slots() {
    let (_dirs, nodes) = formed_cluster("admin-migrate", 3);
    let seed = address(&nodes[0]);
    let target = my_id(&nodes[2]);
    let mut connection = nodes[0].connection();
    for index in 0..200 {
        let _: () = command(&["SET", &format!("{{b}}{index}"), "v"])
            .query(&mut connection)
            .unwrap();
    }
    let tagged_slot = starling_protocol::key_slot(b"b");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_starling-admin"))
            .arg("--seed")
            .arg(&seed)
            .args(args)
            .output()
            .expect("starling-admin runs")
    };
    let slots = format!("0-99,{tagged_slot}");
    let output = run(&["migrate", &slots, &target]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    wait_until(Duration::from_secs(20), "the slots at the target", || {
        let cluster = Cluster::load(&seed).unwrap();
        let owner = cluster.node(&NodeId::parse(target.as_bytes()).unwrap()).unwrap();
        (0..100).all(|slot| owner.slots.contains(slot)) && owner.slots.contains(tagged_slot)
    });
    let moved: usize = query(&nodes[2], &["CLUSTER", "COUNTKEYSINSLOT", &tagged_slot.to_string()]);
    assert_eq!(moved, 200);
    // Refusals: an unknown node, a bad range.
    let unknown = run(&["migrate", "0-5", "0123456789012345678901234567890123456789"]);
    assert!(!unknown.status.success());
    let bad = run(&["migrate", "5-1", &target]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("bad slot range"));
}
