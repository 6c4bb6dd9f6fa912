//! What the node gives the dashboard: a `Sample` of the cluster about once
//! a second, and the admin `Actions` the POST routes run.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use starling_cluster::rebalance::{Balance, PlannedMove};
use starling_cluster::{ClusterView, NodeId, NodeStats, NodeTelemetry};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Cluster,
    /// One node holding every slot; its view is made up by the node.
    Standalone,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Cluster => "cluster",
            Mode::Standalone => "standalone",
        }
    }
}

/// This node's own counters, for `/metrics`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalCounters {
    pub stats: NodeStats,
    pub connections_received: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
}

/// The cluster as this node sees it at one moment.
#[derive(Clone, Debug)]
pub struct Sample {
    pub mode: Mode,
    pub unix_ms: u64,
    pub view: Arc<ClusterView>,
    /// What each node last gossiped about its load and migrations.
    pub telemetry: HashMap<NodeId, NodeTelemetry>,
    /// Nodes the failure detector sees alive.
    pub live_nodes: usize,
    pub local: LocalCounters,
    /// Whether a rebalance started through this node's API still runs.
    pub rebalance_running: bool,
}

/// What a rebalance should aim for (the body of `POST /api/v1/rebalance`).
#[derive(Clone, Debug, PartialEq)]
pub struct RebalanceRequest {
    /// Weight per node; missing nodes weigh 1, weight 0 empties a node.
    pub weights: BTreeMap<NodeId, f64>,
    /// Slots, keys or memory.
    pub balance: Balance,
    /// Migrations running at once.
    pub parallel: usize,
    /// Nodes within this share of their target are left alone.
    pub threshold_percent: f64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ActionError {
    /// 400.
    BadRequest(String),
    /// 404.
    NotFound(String),
    /// 409: a rebalance already runs.
    Conflict(String),
    /// 500: the operation itself failed.
    Failed(String),
}

/// The admin operations behind the POST routes; the node implements them
/// with the same code as `starling-admin`. They may block (they talk to the
/// cluster over its client port); the routes run them off the event loop.
pub trait Actions: Send + Sync + 'static {
    /// Plans a rebalance and starts it in the background; returns the moves.
    fn rebalance(&self, request: RebalanceRequest) -> Result<Vec<PlannedMove>, ActionError>;

    /// Stops the running rebalance (no further moves start) and cancels
    /// every live migration in the cluster; returns how many were cancelled.
    fn cancel_migrations(&self) -> Result<u64, ActionError>;
}
