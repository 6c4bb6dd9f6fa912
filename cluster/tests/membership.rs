//! Membership over chitchat's in-memory transport with tokio's paused clock:
//! nodes converge on one view, and a node that stops is declared failed
//! within the node timeout. Time is virtual, so these tests are fast.

use std::net::SocketAddr;
use std::time::Duration;

use chitchat::transport::ChannelTransport;
use starling_cluster::{
    ClusterView, Endpoint, Health, Membership, MembershipConfig, MigrationProgress, MigrationReport, NodeId, NodeStats,
    NodeTelemetry, Role, SlotRange, SlotSet, FORGET_BAN,
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
async fn wait_for_view(
    membership: &Membership,
    limit: Duration,
    condition: impl Fn(&ClusterView) -> bool,
) -> Result<Duration, String> {
    let started = Instant::now();
    let mut views = membership.subscribe();
    loop {
        if condition(&views.borrow_and_update()) {
            return Ok(started.elapsed());
        }
        let not_reached = || format!("condition not reached within {limit:?}");
        let remaining = limit.checked_sub(started.elapsed()).ok_or_else(not_reached)?;
        match tokio::time::timeout(remaining, views.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err("membership stopped".into()),
            Err(_) => return Err(not_reached()),
        }
    }
}

/// Three nodes on gossip ports `first_port..first_port + 3`, splitting the
/// slots evenly, seeded with the first; waits until every node sees all
/// three and the state ok.
async fn three_node_cluster(transport: &ChannelTransport, first_port: u16) -> ([NodeId; 3], Vec<Membership>) {
    let ids = [NodeId::random(), NodeId::random(), NodeId::random()];
    let ranges = [(0, 5460), (5461, 10922), (10923, 16383)];
    let mut members = Vec::new();
    for (index, (id, range)) in ids.iter().zip(ranges).enumerate() {
        let mut node_config = config(first_port + index as u16, *id, index as u64 + 1, range);
        node_config.seeds = vec![gossip_address(first_port).to_string()];
        members.push(Membership::start(node_config, transport).await.expect("starts"));
    }
    for membership in &members {
        wait_for_view(membership, Duration::from_secs(10), |view| {
            view.nodes.len() == 3 && view.is_ok()
        })
        .await
        .unwrap();
    }
    (ids, members)
}

#[tokio::test(start_paused = true)]
async fn three_nodes_converge_and_a_stopped_node_is_declared_failed() {
    let transport = ChannelTransport::with_mtu(65_507);
    let (ids, mut members) = three_node_cluster(&transport, 0).await;
    let views: Vec<_> = members.iter().map(|membership| membership.view()).collect();
    assert!(
        views.iter().all(|view| view.slot_map == views[0].slot_map),
        "views disagree"
    );
    assert_eq!(views[0].slot_map.owner(6000).unwrap().node, ids[1]);
    // Each node's gossip generation travels with its view.
    assert!(views[0].nodes.iter().all(|node| node.generation == 1));
    assert_eq!(views[0].current_epoch(), 3);

    let stopped = members.pop().expect("three members");
    stopped.shutdown().await;
    for membership in &members {
        // Doubted first (`fail?`), while its slots still count as served.
        wait_for_view(membership, NODE_TIMEOUT, |view| {
            view.node(&ids[2]).is_some_and(|node| node.health == Health::Suspect) && view.is_ok()
        })
        .await
        .unwrap();
    }
    for membership in &members {
        let detected_after = wait_for_view(membership, NODE_TIMEOUT, |view| {
            view.node(&ids[2]).is_some_and(|node| node.health == Health::Failed) && !view.is_ok()
        })
        .await
        .unwrap();
        assert!(
            detected_after < NODE_TIMEOUT,
            "failure detected after {detected_after:?}"
        );
        let view = membership.view();
        assert_eq!(view.slots_ok(), 10923);
        assert_eq!(
            view.node(&ids[2]).map(|node| node.failure_reports),
            Some(1),
            "the other survivor reports it"
        );
        assert!(!view.in_minority);
    }
}

/// Redis's quorum and minority rules: cut one of three nodes off. The two
/// others agree it failed; the isolated one cannot get their agreement, so it
/// only doubts them (`fail?`), and knows it is in a minority partition.
#[tokio::test(start_paused = true)]
async fn an_isolated_node_is_failed_by_the_majority_and_sees_itself_in_the_minority() {
    let transport = ChannelTransport::with_mtu(65_507);
    let (ids, members) = three_node_cluster(&transport, 40).await;
    for other in [40, 41] {
        transport.remove_link(gossip_address(42), gossip_address(other)).await;
        transport.remove_link(gossip_address(other), gossip_address(42)).await;
    }
    for membership in &members[..2] {
        wait_for_view(membership, NODE_TIMEOUT, |view| {
            view.node(&ids[2])
                .is_some_and(|node| node.health == Health::Failed && node.failure_reports == 1)
        })
        .await
        .unwrap();
        assert!(!membership.view().in_minority);
    }
    wait_for_view(&members[2], NODE_TIMEOUT, |view| view.in_minority && !view.is_ok())
        .await
        .unwrap();
    tokio::time::sleep(NODE_TIMEOUT * 2).await;
    let isolated_view = members[2].view();
    for id in &ids[..2] {
        let node = isolated_view.node(id).expect("still known");
        assert_eq!(node.health, Health::Suspect, "no quorum to fail the majority");
        assert_eq!(node.failure_reports, 0);
    }
    assert_eq!(isolated_view.slots_ok(), 16384, "doubted nodes still count as serving");
    assert!(!isolated_view.is_ok(), "the minority rule alone makes the state fail");

    for other in [40, 41] {
        transport.add_link(gossip_address(42), gossip_address(other)).await;
        transport.add_link(gossip_address(other), gossip_address(42)).await;
    }
    for membership in &members {
        wait_for_view(membership, NODE_TIMEOUT * 2, |view| {
            view.is_ok()
                && view
                    .nodes
                    .iter()
                    .all(|node| node.health == Health::Online && node.failure_reports == 0)
        })
        .await
        .unwrap();
    }
    for membership in members {
        membership.shutdown().await;
    }
}

/// Polls (in virtual time) until `condition` holds for what `membership`
/// has heard of `node`'s telemetry.
async fn wait_for_telemetry(membership: &Membership, node: NodeId, condition: impl Fn(&NodeTelemetry) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let heard = membership.telemetry().await.remove(&node).unwrap_or_default();
        if condition(&heard) {
            return;
        }
        assert!(Instant::now() < deadline, "telemetry never arrived: {heard:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A handoff's release reaches peers together with the slots the releasing
/// node still routes; the new owner's claim then takes them.
#[tokio::test(start_paused = true)]
async fn released_slots_travel_with_their_handoff_marks() {
    let transport = ChannelTransport::with_mtu(65_507);
    let (ids, members) = three_node_cluster(&transport, 50).await;
    let released = SlotSet::from_ranges(&[SlotRange::new(10923, 16383)]);
    members[2].publish_claims(3, 3, &SlotSet::new(), &released).await;
    wait_for_view(&members[0], Duration::from_secs(5), |view| {
        view.node(&ids[2])
            .is_some_and(|node| node.claimed_slots.is_empty() && node.handoff_slots == released)
            && view.slot_map.owner(16383).is_some_and(|owner| owner.node == ids[2])
    })
    .await
    .unwrap();
    members[1]
        .publish_claims(
            4,
            4,
            &SlotSet::from_ranges(&[SlotRange::new(5461, 16383)]),
            &SlotSet::new(),
        )
        .await;
    wait_for_view(&members[0], Duration::from_secs(5), |view| {
        view.slot_map.owner(16383).is_some_and(|owner| owner.node == ids[1])
    })
    .await
    .unwrap();
    for membership in members {
        membership.shutdown().await;
    }
}

#[tokio::test(start_paused = true)]
async fn load_figures_and_migration_reports_reach_every_node() {
    let transport = ChannelTransport::with_mtu(65_507);
    let ids = [NodeId::random(), NodeId::random()];
    let first = Membership::start(config(30, ids[0], 1, (0, 8000)), &transport)
        .await
        .unwrap();
    let mut second_config = config(31, ids[1], 2, (8001, 16383));
    second_config.seeds = vec![gossip_address(30).to_string()];
    let second = Membership::start(second_config, &transport).await.unwrap();
    wait_for_view(&second, Duration::from_secs(10), |view| view.nodes.len() == 2)
        .await
        .unwrap();

    let stats = NodeStats {
        keys: 42,
        memory_bytes: 1 << 20,
        ops_per_sec: 900,
        connected_clients: 3,
        commands_processed: 12_345,
    };
    let report = MigrationReport {
        id: "m1".into(),
        source: ids[0],
        target: ids[1],
        slots: SlotSet::from_ranges(&[SlotRange::new(0, 99)]).encode(),
        progress: MigrationProgress {
            state: "streaming".into(),
            message: String::new(),
            keys_moved: 10,
            keys_total: 40,
            bytes_moved: 1000,
            bytes_per_sec: 500,
            eta_secs: Some(6),
            started_unix: 1,
            updated_unix: 2,
        },
    };
    first.publish_telemetry(&stats, std::slice::from_ref(&report)).await;
    wait_for_telemetry(&second, ids[0], |heard| {
        heard.stats.as_ref() == Some(&stats) && heard.migrations == [report.clone()]
    })
    .await;
    // A node that has not reported yet has no figures.
    assert_eq!(second.telemetry().await[&ids[1]].stats, None);

    // A report dropped from the list disappears everywhere.
    first.publish_telemetry(&stats, &[]).await;
    wait_for_telemetry(&second, ids[0], |heard| {
        heard.migrations.is_empty() && heard.stats.is_some()
    })
    .await;
}

/// A small seeded generator, so the partition schedule replays from its seed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^ (mixed >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

/// Five nodes, links cut and restored on a seeded schedule while nodes make
/// conflicting claims; once every link is back, all nodes converge on the
/// slot map the epoch rule gives for the final claims.
async fn partitions_heal_into_one_slot_map(seed: u64) -> Result<(), String> {
    const NODES: u16 = 5;
    let mut random = SplitMix64(seed);
    let transport = ChannelTransport::with_mtu(65_507);
    // Node ids come from the seed too: equal epochs are broken by id.
    let ids: Vec<NodeId> = (0..NODES)
        .map(|_| {
            let id = format!(
                "{:016x}{:016x}{:08x}",
                random.next(),
                random.next(),
                random.next() as u32
            );
            NodeId::parse(id.as_bytes()).expect("40 hex digits")
        })
        .collect();
    let share = 16384 / NODES;
    let mut claims: Vec<(u64, SlotSet)> = Vec::new();
    let mut members = Vec::new();
    for index in 0..NODES {
        let end = if index == NODES - 1 {
            16383
        } else {
            (index + 1) * share - 1
        };
        let epoch = index as u64 + 1;
        let mut node_config = config(index + 10, ids[index as usize], epoch, (index * share, end));
        node_config.seeds = vec![gossip_address(10).to_string()];
        claims.push((epoch, node_config.claimed_slots.clone()));
        members.push(Membership::start(node_config, &transport).await.expect("starts"));
    }
    let mut current_epoch = NODES as u64;
    for _round in 0..10 {
        // Cut a few random links (both directions), let gossip run, then
        // maybe have one node steal a random range with a fresh epoch.
        let mut cut = Vec::new();
        for _ in 0..3 {
            let (from, to) = (random.below(NODES as u64) as u16, random.below(NODES as u64) as u16);
            if from != to {
                transport
                    .remove_link(gossip_address(from + 10), gossip_address(to + 10))
                    .await;
                transport
                    .remove_link(gossip_address(to + 10), gossip_address(from + 10))
                    .await;
                cut.push((from, to));
            }
        }
        if random.below(2) == 0 {
            let thief = random.below(NODES as u64) as usize;
            let start = random.below(16000) as u16;
            let end = start + random.below(300) as u16;
            current_epoch += 1;
            let (_, slots) = &mut claims[thief];
            for slot in start..=end {
                slots.insert(slot);
            }
            members[thief]
                .publish_claims(current_epoch, current_epoch, slots, &SlotSet::new())
                .await;
            claims[thief].0 = current_epoch;
        }
        tokio::time::sleep(Duration::from_millis(random.below(2000))).await;
        for (from, to) in cut {
            transport
                .add_link(gossip_address(from + 10), gossip_address(to + 10))
                .await;
            transport
                .add_link(gossip_address(to + 10), gossip_address(from + 10))
                .await;
        }
    }
    let expected_claims: Vec<starling_cluster::SlotClaim> = ids
        .iter()
        .zip(&claims)
        .map(|(id, (epoch, slots))| starling_cluster::SlotClaim {
            node: *id,
            config_epoch: *epoch,
            slots: slots.clone(),
        })
        .collect();
    let expected = starling_cluster::SlotMap::derive(&expected_claims);
    for membership in &members {
        wait_for_view(membership, Duration::from_secs(60), |view| {
            view.nodes.len() == NODES as usize && view.slot_map == expected
        })
        .await?;
    }
    for membership in members {
        membership.shutdown().await;
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn partitioned_clusters_converge_on_one_slot_map() {
    // Set STARLING_SIMULATION_SEED to replay one schedule.
    let seeds: Vec<u64> = match std::env::var("STARLING_SIMULATION_SEED") {
        Ok(seed) => vec![seed.parse().expect("a u64 seed")],
        Err(_) => vec![1, 0xdead_beef],
    };
    for seed in seeds {
        if let Err(failure) = partitions_heal_into_one_slot_map(seed).await {
            panic!("simulation seed {seed}: {failure}");
        }
    }
}

/// Waits until `membership` lists `node` again with the state ok.
async fn shows_again(membership: &Membership, node: &NodeId, within: Duration) {
    wait_for_view(membership, within, |view| view.node(node).is_some() && view.is_ok())
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_forgotten_node_is_hidden_until_met_again_or_the_ban_ends_but_a_dead_one_stays_gone() {
    let transport = ChannelTransport::with_mtu(65_507);
    let (ids, mut members) = three_node_cluster(&transport, 30).await;

    assert!(
        !members[0].forget(NodeId::random()).await,
        "unknown nodes are not forgotten"
    );
    assert!(members[0].forget(ids[2]).await);
    assert!(members[0].is_forgotten(&ids[2]));
    let view = members[0].view();
    assert!(view.node(&ids[2]).is_none());
    assert_eq!(
        view.slot_map.assigned_count(),
        10923,
        "the forgotten node's slots are unassigned"
    );
    // Gossip goes on; the others still know the node, yet it stays hidden here.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(members[0].view().node(&ids[2]).is_none());
    assert!(members[1].view().node(&ids[2]).is_some());

    members[0].meet(gossip_address(32)).await.unwrap();
    shows_again(&members[0], &ids[2], Duration::from_secs(5)).await;
    assert!(!members[0].is_forgotten(&ids[2]));

    // As in Redis, the ban lasts 60 s: a node still alive, which another
    // node still knows, then shows again.
    assert!(members[0].forget(ids[2]).await);
    tokio::time::sleep(FORGET_BAN - Duration::from_secs(5)).await;
    assert!(members[0].view().node(&ids[2]).is_none(), "still banned");
    shows_again(&members[0], &ids[2], Duration::from_secs(10)).await;
    assert!(!members[0].is_forgotten(&ids[2]));

    // Forgotten by every other node (redis-cli del-node), it stays gone
    // although it still runs.
    assert!(members[0].forget(ids[2]).await);
    assert!(members[1].forget(ids[2]).await);
    tokio::time::sleep(FORGET_BAN * 2).await;
    for membership in &members[..2] {
        assert!(membership.view().node(&ids[2]).is_none(), "removed everywhere");
    }

    // A node that is gone stays forgotten past the ban, even while another
    // node still shows it (as failed).
    for membership in &members[..2] {
        membership.meet(gossip_address(32)).await.unwrap();
        wait_for_view(membership, Duration::from_secs(5), |view| view.node(&ids[2]).is_some())
            .await
            .unwrap();
    }
    let stopped = members.pop().expect("three members");
    stopped.shutdown().await;
    wait_for_view(&members[0], Duration::from_secs(10), |view| {
        view.node(&ids[2]).is_some_and(|node| node.health == Health::Failed)
    })
    .await
    .unwrap();
    assert!(members[0].forget(ids[2]).await);
    tokio::time::sleep(FORGET_BAN * 2).await;
    assert!(members[0].view().node(&ids[2]).is_none(), "a dead node stays forgotten");
    assert!(
        members[1].view().node(&ids[2]).is_some(),
        "the other node never forgot it"
    );
    for membership in members {
        membership.shutdown().await;
    }
}
