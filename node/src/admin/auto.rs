//! `--cluster-auto-rebalance yes`: a node fills newly joined empty
//! primaries by itself.
//!
//! Every node with the option watches the cluster from a thread of its own
//! (the admin client blocks). A primary is *fresh* when it owns no slot and
//! has never been seen owning one; a drained node, which did own slots, is
//! left empty (it is given weight 0 in the plan). Only one node acts: the
//! slot-owning primary with the smallest node id, and only while no
//! migration runs anywhere. It then plans and runs a rebalance like
//! `starling-admin rebalance`.
//!
//! The memory of which nodes owned slots lives in the process: after a
//! restart, an empty node drained earlier counts as fresh again.

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use starling_cluster::NodeId;

use super::{execute_moves, migrations, plan_rebalance, Cluster, RebalanceOptions};
use crate::server::ServerContext;

const CHECK_INTERVAL: Duration = Duration::from_secs(1);

pub fn spawn(own_address: String, context: Arc<ServerContext>) {
    let spawned = std::thread::Builder::new()
        .name("auto-rebalance".into())
        .spawn(move || {
            let mut owned_slots_once: HashSet<NodeId> = HashSet::new();
            while !context.shutting_down() {
                std::thread::sleep(CHECK_INTERVAL);
                if let Err(error) = check(&own_address, &mut owned_slots_once) {
                    tracing::debug!(%error, "auto-rebalance check");
                }
            }
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "could not start the auto-rebalance thread");
    }
}

fn check(own_address: &str, owned_slots_once: &mut HashSet<NodeId>) -> anyhow::Result<()> {
    let cluster = Cluster::load(own_address)?;
    for node in cluster.primaries().filter(|node| !node.slots.is_empty()) {
        owned_slots_once.insert(node.id);
    }
    let fresh: Vec<NodeId> = cluster
        .primaries()
        .filter(|node| node.slots.is_empty() && !node.is_failed() && !owned_slots_once.contains(&node.id))
        .map(|node| node.id)
        .collect();
    if fresh.is_empty() {
        return Ok(());
    }
    let leader_opt = cluster
        .primaries()
        .filter(|node| !node.slots.is_empty() && !node.is_failed())
        .map(|node| node.id)
        .min();
    let myself_opt = cluster
        .nodes
        .iter()
        .find(|node| node.flags.contains("myself"))
        .map(|node| node.id);
    if leader_opt.is_none() || leader_opt != myself_opt {
        return Ok(());
    }
    for node in cluster.primaries() {
        let busy = migrations(&node.address)?.iter().any(|entry| {
            !matches!(
                entry.get("state").map(String::as_str),
                Some("success" | "failed" | "cancelled")
            )
        });
        if busy {
            return Ok(());
        }
    }
    let mut options = RebalanceOptions::default();
    for node in cluster
        .primaries()
        .filter(|node| node.slots.is_empty() && !fresh.contains(&node.id))
    {
        options.weights.insert(node.id, 0.0);
    }
    let moves = plan_rebalance(&cluster, &options)?;
    tracing::info!(fresh_nodes = fresh.len(), moves = moves.len(), "auto-rebalance");
    execute_moves(
        &cluster,
        &moves,
        options.parallel,
        &AtomicBool::new(false),
        |line| tracing::info!(%line, "auto-rebalance"),
    )
}
