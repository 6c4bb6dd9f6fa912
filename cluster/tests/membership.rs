//! Membership over chitchat's in-memory transport with tokio's paused clock:
//! nodes converge on one view, and a node that stops is declared failed
//! within the node timeout. Time is virtual, so these tests are fast.

use std::net::SocketAddr;
use std::time::Duration;

use chitchat::transport::ChannelTransport;
use starling_cluster::{
    ClusterView, Endpoint, Health, Membership, MembershipConfig, NodeId, Role, SlotRange, SlotSet,
};
use tokio::time::Instant;

const NODE_TIMEOUT: Duration = Duration::from_secs(5);

fn gossip_address(index: u16) -> SocketAddr {
    ([127, 0, 0, 1], 20_000 + index).into()
}

fn config(index: u16, node_id: NodeId, config_epoch: u64, slots: (u16, u16)) -> MembershipConfig {
    MembershipConfig {
        node_id,
        generation: 1,
        cluster_id: "test".into(),
        gossip_listen_addr: gossip_address(index),
        gossip_advertise_addr: gossip_address(index),
        seeds: vec![gossip_address(0).to_string()],
        node_timeout: NODE_TIMEOUT,
        endpoint: Endpoint {
            ip: "127.0.0.1".into(),
            port: 7000 + index,
            cluster_port: 20_000 + index,
            hostname: None,
        },
        role: Role::Primary,
        primary: None,
        config_epoch,
        current_epoch: config_epoch,
        claimed_slots: SlotSet::from_ranges(&[SlotRange::new(slots.0, slots.1)]),
    }
}

/// Waits (in virtual time) until `condition` holds for the view, for at most `limit`.
async fn wait_for_view(membership: &Membership, limit: Duration, condition: impl Fn(&ClusterView) -> bool) -> Duration {
    let started = Instant::now();
    let mut views = membership.subscribe();
    loop {
        if condition(&views.borrow_and_update()) {
            return started.elapsed();
        }
        let remaining = limit.checked_sub(started.elapsed()).expect("condition not reached in time");
        tokio::time::timeout(remaining, views.changed())
            .await
            .expect("condition not reached in time")
            .expect("membership stopped");
    }
}

#[tokio::test(start_paused = true)]
async fn three_nodes_converge_and_a_stopped_node_is_declared_failed() {
    let transport = ChannelTransport::with_mtu(65_507);
    let ids = [NodeId::random(), NodeId::random(), NodeId::random()];
    let ranges = [(0, 5460), (5461, 10922), (10923, 16383)];
    let mut members = Vec::new();
    for (index, (id, range)) in ids.iter().zip(ranges).enumerate() {
        let membership = Membership::start(config(index as u16, *id, index as u64 + 1, range), &transport)
            .await
            .expect("starts");
        members.push(membership);
    }
    for membership in &members {
        wait_for_view(membership, Duration::from_secs(10), |view| view.nodes.len() == 3 && view.is_ok()).await;
    }
    let views: Vec<_> = members.iter().map(|membership| membership.view()).collect();
    assert!(views.iter().all(|view| view.slot_map == views[0].slot_map), "views disagree");
    assert_eq!(views[0].slot_map.owner(6000).unwrap().node, ids[1]);
    assert_eq!(views[0].current_epoch(), 3);

    let stopped = members.pop().expect("three members");
    stopped.shutdown().await;
    for membership in &members {
        let detected_after = wait_for_view(membership, NODE_TIMEOUT, |view| {
            view.node(&ids[2]).is_some_and(|node| node.health == Health::Failed) && !view.is_ok()
        })
        .await;
        assert!(detected_after < NODE_TIMEOUT, "failure detected after {detected_after:?}");
        let view = membership.view();
        assert_eq!(view.slots_ok(), 10923);
    }
}
