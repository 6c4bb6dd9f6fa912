//! `starling-admin`: the operator's view of a cluster and the one-command
//! scale-out and scale-in. It talks to the nodes over their client port,
//! like redis-cli does, and moves slots with native migration.
//!
//! - `status`: nodes, slot counts, keys, and live migrations with progress;
//! - `rebalance [--weight id=w]... [--by slots|keys|memory]`: plans the fewest moves
//!   toward weighted shares (`starling_cluster::rebalance`) and runs them,
//!   at most `--parallel` at a time;
//! - `add-node <host:port>`: meets the node, waits until every node knows
//!   it, then rebalances slots onto it;
//! - `drain <node-id>`: rebalances with weight 0 for that node;
//! - `remove <node-id>`: forgets an empty node everywhere and resets it;
//! - `migrate <slots> <node-id>`: moves the named slots to a node, one
//!   native migration per current owner.
//!
//! `auto` runs the same operations inside a node started with
//! `--cluster-auto-rebalance yes`.

pub mod auto;
pub mod client;
pub mod dashboard;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
pub use starling_cluster::rebalance::Balance;
use starling_cluster::rebalance::{plan, BalanceBy, NodeShare, PlannedMove};
use starling_cluster::{NodeId, SlotSet};
use starling_protocol::Frame;

use client::AdminClient;

/// How long operations wait for the cluster before giving up.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(60);

/// One primary as CLUSTER NODES describes it.
#[derive(Clone, Debug)]
pub struct NodeEntry {
    pub id: NodeId,
    pub address: String,
    pub flags: String,
    pub slots: SlotSet,
}

impl NodeEntry {
    pub fn is_primary(&self) -> bool {
        self.flags.split(',').any(|flag| flag == "master")
    }

    pub fn is_failed(&self) -> bool {
        self.flags.split(',').any(|flag| flag == "fail" || flag == "fail?")
    }
}

/// Parses CLUSTER NODES text (migration markers are skipped).
pub fn parse_cluster_nodes(text: &str) -> anyhow::Result<Vec<NodeEntry>> {
    let mut nodes = Vec::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let fields: Vec<&str> = line.split(' ').collect();
        if fields.len() < 8 {
            bail!("malformed CLUSTER NODES line: {line}");
        }
        let id = NodeId::parse(fields[0].as_bytes()).map_err(|_| anyhow::anyhow!("bad node id in {line}"))?;
        let address = fields[1].split(['@', ',']).next().unwrap_or_default().to_string();
        let mut slots = SlotSet::new();
        for range in fields[8..].iter().filter(|field| !field.starts_with('[')) {
            let (start, end) = match range.split_once('-') {
                Some((start, end)) => (start.parse::<u16>()?, end.parse::<u16>()?),
                None => (range.parse::<u16>()?, range.parse::<u16>()?),
            };
            for slot in start..=end {
                slots.insert(slot);
            }
        }
        nodes.push(NodeEntry {
            id,
            address,
            flags: fields[2].to_string(),
            slots,
        });
    }
    Ok(nodes)
}

/// The cluster as seen from a seed node.
pub struct Cluster {
    pub seed: String,
    pub nodes: Vec<NodeEntry>,
}

impl Cluster {
    pub fn load(seed: &str) -> anyhow::Result<Cluster> {
        let mut client = AdminClient::connect(seed)?;
        let text = client.text(&["CLUSTER", "NODES"])?;
        Ok(Cluster {
            seed: seed.to_string(),
            nodes: parse_cluster_nodes(&text)?,
        })
    }

    pub fn primaries(&self) -> impl Iterator<Item = &NodeEntry> {
        self.nodes.iter().filter(|node| node.is_primary())
    }

    pub fn node(&self, id: &NodeId) -> anyhow::Result<&NodeEntry> {
        self.nodes
            .iter()
            .find(|node| node.id == *id)
            .with_context(|| format!("no node {} in the cluster", id.as_str()))
    }
}

/// What to balance and how.
#[derive(Clone, Debug)]
pub struct RebalanceOptions {
    pub weights: BTreeMap<NodeId, f64>,
    pub balance: Balance,
    pub parallel: usize,
    pub threshold_percent: f64,
}

impl Default for RebalanceOptions {
    fn default() -> Self {
        RebalanceOptions {
            weights: BTreeMap::new(),
            balance: Balance::Slots,
            parallel: 2,
            threshold_percent: 2.0,
        }
    }
}

/// Plans the moves for the cluster behind `seed`.
pub fn plan_rebalance(cluster: &Cluster, options: &RebalanceOptions) -> anyhow::Result<Vec<PlannedMove>> {
    let shares: Vec<NodeShare> = cluster
        .primaries()
        .filter(|node| !node.is_failed())
        .map(|node| NodeShare {
            node: node.id,
            slots: node.slots.clone(),
            weight: options.weights.get(&node.id).copied().unwrap_or(1.0),
        })
        .collect();
    let balance_by = match options.balance {
        Balance::Slots => BalanceBy::Slots,
        Balance::Keys | Balance::Memory => BalanceBy::SlotCosts(slot_costs(cluster, options.balance)?),
    };
    Ok(plan(&shares, &balance_by, options.threshold_percent)?)
}

/// `migrate <slots> <node-id>`: the moves that bring `slots` (e.g.
/// `0-999,2000`) to `target`, one per current owner; slots the target owns
/// already are left out.
pub fn plan_migration(cluster: &Cluster, slots_text: &str, target: NodeId) -> anyhow::Result<Vec<PlannedMove>> {
    let target_entry = cluster.node(&target)?;
    if !target_entry.is_primary() || target_entry.is_failed() {
        bail!("{} is not a healthy primary", target.as_str());
    }
    let mut wanted = SlotSet::new();
    for part in slots_text.split(',').filter(|part| !part.is_empty()) {
        let range = starling_cluster::parse_range(part.trim()).with_context(|| format!("bad slot range {part:?}"))?;
        for slot in range.start..=range.end {
            wanted.insert(slot);
        }
    }
    if wanted.is_empty() {
        bail!("no slot given");
    }
    let mut moves = Vec::new();
    let mut covered = SlotSet::new();
    for node in cluster.primaries() {
        let mut slots = SlotSet::new();
        for slot in wanted.iter().filter(|&slot| node.slots.contains(slot)) {
            slots.insert(slot);
            covered.insert(slot);
        }
        if node.id != target && !slots.is_empty() {
            moves.push(PlannedMove {
                source: node.id,
                target,
                cost: slots.len() as u64,
                slots,
            });
        }
    }
    if covered.len() != wanted.len() {
        bail!("some of the slots have no owner");
    }
    Ok(moves)
}

/// Keys or bytes per slot, from each primary's CLUSTER SLOT-STATS.
fn slot_costs(cluster: &Cluster, balance: Balance) -> anyhow::Result<Vec<u64>> {
    let metric = match balance {
        Balance::Memory => "memory-bytes",
        _ => "key-count",
    };
    let mut costs = vec![0u64; 16384];
    for node in cluster.primaries().filter(|node| !node.slots.is_empty()) {
        let reply =
            AdminClient::connect(&node.address)?.call(&["CLUSTER", "SLOT-STATS", "SLOTSRANGE", "0", "16383"])?;
        let Frame::Array(entries) = reply else {
            bail!("SLOT-STATS replied {reply:?}");
        };
        for entry in entries {
            let Frame::Array(parts) = entry else {
                bail!("malformed SLOT-STATS entry");
            };
            let [slot, stats] = parts.as_slice() else {
                bail!("malformed SLOT-STATS entry");
            };
            let slot: usize = client::frame_text(slot).parse()?;
            let fields: Vec<String> = match stats {
                Frame::Map(pairs) => pairs
                    .iter()
                    .flat_map(|(name, value)| [client::frame_text(name), client::frame_text(value)])
                    .collect(),
                Frame::Array(items) => items.iter().map(client::frame_text).collect(),
                _ => bail!("malformed SLOT-STATS entry"),
            };
            let value = fields
                .chunks(2)
                .find(|pair| pair[0] == metric)
                .and_then(|pair| pair.get(1))
                .with_context(|| format!("no {metric} for slot {slot}"))?;
            if let Some(cost) = costs.get_mut(slot) {
                *cost = value.parse()?;
            }
        }
    }
    Ok(costs)
}

/// Runs the planned moves with native migration, at most `parallel` at a
/// time, and waits for each. `report` hears about every state change. Once
/// `stop` is set no further move starts (those running finish or are
/// cancelled on their own).
pub fn execute_moves(
    cluster: &Cluster,
    moves: &[PlannedMove],
    parallel: usize,
    stop: &AtomicBool,
    mut report: impl FnMut(&str),
) -> anyhow::Result<()> {
    let mut pending: Vec<&PlannedMove> = moves.iter().collect();
    pending.reverse();
    let mut running: Vec<(&PlannedMove, String)> = Vec::new();
    while !pending.is_empty() || !running.is_empty() {
        if stop.load(Ordering::Acquire) && !pending.is_empty() {
            report(&format!("stopped: {} moves not started", pending.len()));
            pending.clear();
        }
        while running.len() < parallel.max(1) {
            let Some(planned) = pending.pop() else { break };
            let source = cluster.node(&planned.source)?;
            let mut args: Vec<String> = vec!["CLUSTER".into(), "MIGRATESLOTS".into(), "SLOTSRANGE".into()];
            for range in planned.slots.ranges() {
                args.push(range.start.to_string());
                args.push(range.end.to_string());
            }
            args.push("NODE".into());
            args.push(planned.target.as_str().to_string());
            let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
            AdminClient::connect(&source.address)?.ok(&arg_refs)?;
            report(&format!(
                "started: {} slots {} -> {}",
                planned.slots.len(),
                short(&planned.source),
                short(&planned.target)
            ));
            running.push((planned, source.address.clone()));
        }
        std::thread::sleep(Duration::from_millis(100));
        let mut still_running = Vec::new();
        for (planned, address) in running {
            let migration = latest_export(&address, &planned.slots)?;
            match migration.get("state").map(String::as_str) {
                Some("success") => report(&format!(
                    "done: {} slots {} -> {} ({} keys)",
                    planned.slots.len(),
                    short(&planned.source),
                    short(&planned.target),
                    migration.get("keys_moved").map_or("?", String::as_str)
                )),
                Some(state @ ("failed" | "cancelled")) => bail!(
                    "migration {} -> {} {state}: {}",
                    short(&planned.source),
                    short(&planned.target),
                    migration.get("message").map_or("", String::as_str)
                ),
                _ => still_running.push((planned, address)),
            }
        }
        running = still_running;
    }
    Ok(())
}

/// The newest export of `slots` on the node at `address`, as field → value.
fn latest_export(address: &str, slots: &SlotSet) -> anyhow::Result<BTreeMap<String, String>> {
    let ranges: Vec<String> = slots
        .ranges()
        .iter()
        .map(|range| format!("{}-{}", range.start, range.end))
        .collect();
    let ranges = ranges.join(" ");
    let migrations = migrations(address)?;
    migrations
        .into_iter()
        .rev()
        .find(|entry| {
            entry.get("operation").map(String::as_str) == Some("EXPORT") && entry.get("slot_ranges") == Some(&ranges)
        })
        .with_context(|| format!("no migration of {ranges} on {address}"))
}

/// CLUSTER GETSLOTMIGRATIONS of one node, as field → value maps.
pub fn migrations(address: &str) -> anyhow::Result<Vec<BTreeMap<String, String>>> {
    let reply = AdminClient::connect(address)?.call(&["CLUSTER", "GETSLOTMIGRATIONS"])?;
    let Frame::Array(entries) = reply else {
        bail!("GETSLOTMIGRATIONS replied {reply:?}");
    };
    Ok(entries
        .iter()
        .map(|entry| {
            let fields: Vec<String> = match entry {
                Frame::Array(fields) => fields.iter().map(client::frame_text).collect(),
                Frame::Map(pairs) => pairs
                    .iter()
                    .flat_map(|(field, value)| [client::frame_text(field), client::frame_text(value)])
                    .collect(),
                _ => Vec::new(),
            };
            fields
                .chunks(2)
                .map(|pair| (pair[0].clone(), pair.get(1).cloned().unwrap_or_default()))
                .collect()
        })
        .collect())
}

/// `add-node`: meets `address` from the seed and waits until every node
/// lists it; returns its node id.
pub fn add_node(seed: &str, address: &str) -> anyhow::Result<NodeId> {
    let mut new_node = AdminClient::connect(address)?;
    let new_id = NodeId::parse(new_node.text(&["CLUSTER", "MYID"])?.trim().as_bytes())
        .map_err(|_| anyhow::anyhow!("{address} did not answer a node id"))?;
    let (host, port) = address.rsplit_once(':').context("address must be host:port")?;
    // The gossip port may not be port + 10000: ask the node for its own.
    let own_line = new_node.text(&["CLUSTER", "NODES"])?;
    let cluster_port = own_line
        .lines()
        .find(|line| line.contains("myself"))
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|endpoint| endpoint.split('@').nth(1))
        .and_then(|rest| rest.split(',').next())
        .context("the new node's CLUSTER NODES has no myself line")?
        .to_string();
    AdminClient::connect(seed)?.ok(&["CLUSTER", "MEET", host, port, &cluster_port])?;
    wait_for(|| {
        let cluster = Cluster::load(seed)?;
        let mut everyone_knows = true;
        for node in cluster.primaries() {
            let view = Cluster::load(&node.address)?;
            everyone_knows &= view.nodes.iter().any(|entry| entry.id == new_id);
        }
        Ok(everyone_knows && cluster.nodes.iter().any(|entry| entry.id == new_id))
    })?;
    Ok(new_id)
}

/// `remove`: forgets an empty node on every other node, then resets it.
pub fn remove_node(seed: &str, id: &NodeId) -> anyhow::Result<()> {
    let cluster = Cluster::load(seed)?;
    let node = cluster.node(id)?;
    if !node.slots.is_empty() {
        bail!(
            "node {} still owns {} slots: drain it first",
            id.as_str(),
            node.slots.len()
        );
    }
    for other in cluster.nodes.iter().filter(|other| other.id != *id) {
        AdminClient::connect(&other.address)?.ok(&["CLUSTER", "FORGET", id.as_str()])?;
    }
    AdminClient::connect(&node.address)?.ok(&["CLUSTER", "RESET", "SOFT"])?;
    Ok(())
}

/// Polls `condition` until it holds, for at most `CONVERGE_TIMEOUT`.
pub fn wait_for(mut condition: impl FnMut() -> anyhow::Result<bool>) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        if condition()? {
            return Ok(());
        }
        if started.elapsed() > CONVERGE_TIMEOUT {
            bail!("the cluster did not converge within {CONVERGE_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn short(id: &NodeId) -> &str {
    &id.as_str()[..8]
}

/// `status`: one line per node, then the live migrations with a bar each.
pub fn status(seed: &str) -> anyhow::Result<String> {
    let cluster = Cluster::load(seed)?;
    let mut out = String::new();
    out.push_str(&format!(
        "{:<10} {:<22} {:<16} {:>6} {:>10}\n",
        "node", "address", "flags", "slots", "keys"
    ));
    for node in &cluster.nodes {
        let keys = AdminClient::connect(&node.address)
            .and_then(|mut client| client.integer(&["DBSIZE"]))
            .map_or("?".to_string(), |keys| keys.to_string());
        out.push_str(&format!(
            "{:<10} {:<22} {:<16} {:>6} {:>10}\n",
            short(&node.id),
            node.address,
            node.flags.replace("myself,", ""),
            node.slots.len(),
            keys
        ));
    }
    for node in cluster.primaries() {
        for migration in migrations(&node.address).unwrap_or_default() {
            let field = |name: &str| migration.get(name).cloned().unwrap_or_default();
            if field("operation") != "EXPORT" {
                continue;
            }
            let moved: f64 = field("keys_moved").parse().unwrap_or(0.0);
            let total: f64 = field("keys_total").parse().unwrap_or(0.0);
            let fraction = if total > 0.0 { (moved / total).min(1.0) } else { 1.0 };
            let filled = (fraction * 20.0).round() as usize;
            out.push_str(&format!(
                "{} -> {} [{}{}] {:>3.0}% {} keys {} B/s eta {}s slots {} ({})\n",
                &field("source_node")[..8.min(field("source_node").len())],
                &field("target_node")[..8.min(field("target_node").len())],
                "#".repeat(filled),
                ".".repeat(20 - filled),
                fraction * 100.0,
                field("keys_moved"),
                field("bytes_per_second"),
                field("eta_seconds"),
                field("slot_ranges"),
                field("state"),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_nodes_lines_parse() {
        let text = "07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host-a slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected\n\
                    e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 5462 [5461->-07c37dfeb235213a872192d90877d0cd55635b91]\n";
        let nodes = parse_cluster_nodes(text).unwrap();
        assert_eq!(nodes.len(), 2);
        assert!(!nodes[0].is_primary());
        assert_eq!(nodes[0].address, "127.0.0.1:30004");
        assert!(nodes[1].is_primary());
        assert_eq!(nodes[1].slots.len(), 5462);
        assert!(nodes[1].slots.contains(5462) && !nodes[1].slots.contains(5461));
        assert!(parse_cluster_nodes("short line").is_err());
    }
}
