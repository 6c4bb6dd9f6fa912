//! `starling-admin`: status, rebalance, add-node, drain, remove and migrate
//! for a Starling cluster (see `starling_node::admin`).

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use clap::{Parser, Subcommand};
use starling_cluster::NodeId;
use starling_node::admin::{self, Balance, Cluster, RebalanceOptions};

#[derive(Parser)]
#[command(
    name = "starling-admin",
    version,
    about = "Operate a Starling cluster: status, rebalance, scale out and in"
)]
struct Cli {
    /// Any node of the cluster (host:port of its client port).
    #[arg(long, default_value = "127.0.0.1:7000")]
    seed: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Nodes, slots, keys and live migrations.
    Status,
    /// Move the fewest slots toward weighted shares.
    Rebalance {
        #[command(flatten)]
        balance: BalanceArgs,
    },
    /// Join a fresh node and fill it.
    AddNode {
        /// host:port of the new node.
        address: String,
        #[command(flatten)]
        balance: BalanceArgs,
    },
    /// Move every slot off a node (weight 0).
    Drain {
        node_id: String,
        #[command(flatten)]
        balance: BalanceArgs,
    },
    /// Forget an empty node everywhere and reset it.
    Remove { node_id: String },
    /// Move the given slots (e.g. 0-999,2000) to a node.
    Migrate {
        slots: String,
        node_id: String,
        /// Migrations running at once (one per source node).
        #[arg(long, default_value_t = 2)]
        parallel: usize,
    },
}

#[derive(clap::Args)]
struct BalanceArgs {
    /// A node's relative share, `node-id=weight` (repeatable; default 1).
    #[arg(long = "weight")]
    weights: Vec<String>,
    /// What to even out: slots, keys or memory.
    #[arg(long, default_value = "slots")]
    by: String,
    /// Migrations running at once.
    #[arg(long, default_value_t = 2)]
    parallel: usize,
    /// Do nothing when every node is within this percentage of its share.
    #[arg(long, default_value_t = 2.0)]
    threshold: f64,
}

impl BalanceArgs {
    fn options(&self) -> anyhow::Result<RebalanceOptions> {
        let mut weights = BTreeMap::new();
        for entry in &self.weights {
            let (id, weight) = entry.split_once('=').context("--weight wants node-id=weight")?;
            let id = NodeId::parse(id.as_bytes()).map_err(|_| anyhow::anyhow!("bad node id {id}"))?;
            weights.insert(id, weight.parse::<f64>().context("bad weight")?);
        }
        Ok(RebalanceOptions {
            weights,
            balance: Balance::parse(&self.by).context("--by wants slots, keys or memory")?,
            parallel: self.parallel,
            threshold_percent: self.threshold,
        })
    }
}

fn rebalance(seed: &str, options: &RebalanceOptions) -> anyhow::Result<()> {
    let cluster = Cluster::load(seed)?;
    let moves = admin::plan_rebalance(&cluster, options)?;
    if moves.is_empty() {
        println!("balanced: nothing to move");
        return Ok(());
    }
    let slots: usize = moves.iter().map(|planned| planned.slots.len()).sum();
    println!("plan: {} moves, {slots} slots", moves.len());
    admin::execute_moves(&cluster, &moves, options.parallel, &AtomicBool::new(false), |line| {
        println!("{line}")
    })?;
    println!("rebalanced");
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Status => print!("{}", admin::status(&cli.seed)?),
        Command::Rebalance { balance } => rebalance(&cli.seed, &balance.options()?)?,
        Command::AddNode { address, balance } => {
            let id = admin::add_node(&cli.seed, &address)?;
            println!("joined: {}", id.as_str());
            rebalance(&cli.seed, &balance.options()?)?;
        }
        Command::Drain { node_id, balance } => {
            let id = NodeId::parse(node_id.as_bytes()).map_err(|_| anyhow::anyhow!("bad node id {node_id}"))?;
            let mut options = balance.options()?;
            options.weights.insert(id, 0.0);
            rebalance(&cli.seed, &options)?;
        }
        Command::Migrate {
            slots,
            node_id,
            parallel,
        } => {
            let id = NodeId::parse(node_id.as_bytes()).map_err(|_| anyhow::anyhow!("bad node id {node_id}"))?;
            let cluster = Cluster::load(&cli.seed)?;
            let moves = admin::plan_migration(&cluster, &slots, id)?;
            if moves.is_empty() {
                println!("the node owns those slots already");
            } else {
                admin::execute_moves(&cluster, &moves, parallel, &AtomicBool::new(false), |line| {
                    println!("{line}")
                })?;
                println!("migrated");
            }
        }
        Command::Remove { node_id } => {
            let id = NodeId::parse(node_id.as_bytes()).map_err(|_| anyhow::anyhow!("bad node id {node_id}"))?;
            admin::remove_node(&cli.seed, &id)?;
            println!("removed: {node_id}");
        }
    }
    Ok(())
}
