//! Membership through chitchat gossip.
//!
//! Each node publishes a few small keys about itself; every node derives the
//! same `ClusterView` from what it has heard. Keys (all values are short
//! text; the largest, `slots`, is bounded by `slots::ENCODED_LEN_MAX`, far
//! below chitchat's ~65 KB value limit):
//!
//! | key | value |
//! |---|---|
//! | `endpoint` | client endpoint `ip:port` |
//! | `cport` | gossip (cluster bus) port |
//! | `hostname` | announced hostname, may be empty |
//! | `role` | `master` or `slave` |
//! | `primary` | the primary's node id, or `-` |
//! | `config_epoch` | the node's config epoch |
//! | `current_epoch` | the highest epoch the node has seen |
//! | `slots` | the slots it claims (`SlotSet::encode`) |
//!
//! The chitchat node id is our `NodeId`; the generation is set per process
//! start, and only the newest generation of each node id counts.
//!
//! Failure detection is chitchat's phi-accrual detector. Heartbeats travel
//! with gossip every `gossip_interval` (= `node_timeout / 25`), and with the
//! default phi threshold of 8 a silent node is declared dead after about
//! 8 · ln 10 ≈ 18 intervals, i.e. about three quarters of `node_timeout`.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chitchat::transport::Transport;
use chitchat::{
    spawn_chitchat, Chitchat, ChitchatConfig, ChitchatHandle, ChitchatId, FailureDetectorConfig, NodeState,
};
use tokio::sync::watch;

use crate::node_id::NodeId;
use crate::slots::SlotSet;
use crate::view::{ClusterView, Endpoint, Health, NodeView, Role};

const KEY_ENDPOINT: &str = "endpoint";
const KEY_CLUSTER_PORT: &str = "cport";
const KEY_HOSTNAME: &str = "hostname";
const KEY_ROLE: &str = "role";
const KEY_PRIMARY: &str = "primary";
const KEY_CONFIG_EPOCH: &str = "config_epoch";
const KEY_CURRENT_EPOCH: &str = "current_epoch";
const KEY_SLOTS: &str = "slots";

/// Failed nodes are remembered this long (Redis keeps them until FORGET).
const DEAD_NODE_GRACE_PERIOD: Duration = Duration::from_secs(24 * 3600);

#[derive(Clone, Debug)]
pub struct MembershipConfig {
    pub node_id: NodeId,
    /// Changes on every process start, so peers tell a restart apart.
    pub generation: u64,
    /// Nodes with another cluster id ignore each other.
    pub cluster_id: String,
    pub gossip_listen_addr: SocketAddr,
    pub gossip_advertise_addr: SocketAddr,
    pub seeds: Vec<String>,
    /// `cluster-node-timeout`.
    pub node_timeout: Duration,
    pub endpoint: Endpoint,
    pub role: Role,
    pub primary: Option<NodeId>,
    pub config_epoch: u64,
    pub current_epoch: u64,
    pub claimed_slots: SlotSet,
}

impl MembershipConfig {
    pub fn gossip_interval(&self) -> Duration {
        (self.node_timeout / 25).clamp(Duration::from_millis(20), Duration::from_secs(1))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("gossip: {0}")]
pub struct MembershipError(String);

pub struct Membership {
    handle: ChitchatHandle,
    view_rx: watch::Receiver<Arc<ClusterView>>,
    refresh_task: tokio::task::JoinHandle<()>,
}

impl Membership {
    pub async fn start(config: MembershipConfig, transport: &dyn Transport) -> Result<Membership, MembershipError> {
        let myself = config.node_id;
        let gossip_interval = config.gossip_interval();
        let chitchat_config = ChitchatConfig {
            chitchat_id: ChitchatId::new(myself.to_string(), config.generation, config.gossip_advertise_addr),
            cluster_id: config.cluster_id.clone(),
            gossip_interval,
            listen_addr: config.gossip_listen_addr,
            seed_nodes: config.seeds.clone(),
            failure_detector_config: FailureDetectorConfig {
                phi_threshold: 8.0,
                sampling_window_size: 1000,
                max_interval: config.node_timeout,
                initial_interval: gossip_interval,
                dead_node_grace_period: DEAD_NODE_GRACE_PERIOD,
            },
            marked_for_deletion_grace_period: Duration::from_secs(3600),
            catchup_callback: None,
            extra_liveness_predicate: None,
        };
        let initial_key_values = initial_keys(&config);
        let handle = spawn_chitchat(chitchat_config, initial_key_values, transport)
            .await
            .map_err(|error| MembershipError(error.to_string()))?;
        let chitchat = handle.chitchat();
        let first_view = Arc::new(derive_view(myself, &*chitchat.lock().await));
        let (view_tx, view_rx) = watch::channel(first_view);
        let refresh_task = tokio::spawn(refresh_views(myself, chitchat, view_tx, gossip_interval));
        Ok(Membership {
            handle,
            view_rx,
            refresh_task,
        })
    }

    /// The current view.
    pub fn view(&self) -> Arc<ClusterView> {
        self.view_rx.borrow().clone()
    }

    /// A receiver that sees every new view.
    pub fn subscribe(&self) -> watch::Receiver<Arc<ClusterView>> {
        self.view_rx.clone()
    }

    /// Publishes this node's slot claims and epochs.
    pub async fn publish_claims(&self, config_epoch: u64, current_epoch: u64, claimed_slots: &SlotSet) {
        let chitchat = self.handle.chitchat();
        let mut chitchat = chitchat.lock().await;
        let state = chitchat.self_node_state();
        state.set(KEY_CONFIG_EPOCH, config_epoch);
        state.set(KEY_CURRENT_EPOCH, current_epoch);
        state.set(KEY_SLOTS, claimed_slots.encode());
    }

    /// Gossips once with `address` (CLUSTER MEET): if a node listens there,
    /// each side learns of the other and of everyone the other knows.
    pub fn meet(&self, address: SocketAddr) -> Result<(), MembershipError> {
        self.handle
            .gossip(address)
            .map_err(|error| MembershipError(error.to_string()))
    }

    pub async fn shutdown(self) {
        self.refresh_task.abort();
        let _ = self.handle.shutdown().await;
    }
}

fn initial_keys(config: &MembershipConfig) -> Vec<(String, String)> {
    let endpoint = &config.endpoint;
    vec![
        (KEY_ENDPOINT.into(), format!("{}:{}", endpoint.ip, endpoint.port)),
        (KEY_CLUSTER_PORT.into(), endpoint.cluster_port.to_string()),
        (KEY_HOSTNAME.into(), endpoint.hostname.clone().unwrap_or_default()),
        (KEY_ROLE.into(), config.role.as_str().into()),
        (
            KEY_PRIMARY.into(),
            config.primary.map(|id| id.to_string()).unwrap_or_else(|| "-".into()),
        ),
        (KEY_CONFIG_EPOCH.into(), config.config_epoch.to_string()),
        (KEY_CURRENT_EPOCH.into(), config.current_epoch.to_string()),
        (KEY_SLOTS.into(), config.claimed_slots.encode()),
    ]
}

/// Recomputes the view on every gossip round and publishes it when it changed.
async fn refresh_views(
    myself: NodeId,
    chitchat: Arc<tokio::sync::Mutex<Chitchat>>,
    view_tx: watch::Sender<Arc<ClusterView>>,
    gossip_interval: Duration,
) {
    let mut ticker = tokio::time::interval(gossip_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let view = derive_view(myself, &*chitchat.lock().await);
        view_tx.send_if_modified(|current| {
            if **current == view {
                return false;
            }
            *current = Arc::new(view);
            true
        });
    }
}

/// Parses one node's published keys; None while some are still missing.
fn node_view(id: NodeId, state: &NodeState, health: Health) -> Option<NodeView> {
    let (ip, port) = state.get(KEY_ENDPOINT)?.rsplit_once(':')?;
    let hostname = state
        .get(KEY_HOSTNAME)
        .filter(|name| !name.is_empty())
        .map(str::to_string);
    Some(NodeView {
        id,
        endpoint: Endpoint {
            ip: ip.to_string(),
            port: port.parse().ok()?,
            cluster_port: state.get(KEY_CLUSTER_PORT)?.parse().ok()?,
            hostname,
        },
        role: Role::parse(state.get(KEY_ROLE)?)?,
        primary: state.get(KEY_PRIMARY).and_then(|text| text.parse().ok()),
        config_epoch: state.get(KEY_CONFIG_EPOCH)?.parse().ok()?,
        current_epoch: state.get(KEY_CURRENT_EPOCH)?.parse().ok()?,
        health,
        claimed_slots: SlotSet::decode(state.get(KEY_SLOTS)?).ok()?,
    })
}

/// The view from the gossip state: the newest generation of every node id,
/// online if the failure detector says it is alive (this node always is).
pub fn derive_view(myself: NodeId, chitchat: &Chitchat) -> ClusterView {
    let live: HashSet<&ChitchatId> = chitchat.live_nodes().collect();
    let mut newest: HashMap<NodeId, (&ChitchatId, &NodeState)> = HashMap::new();
    for (chitchat_id, state) in chitchat.node_states() {
        let Ok(id) = chitchat_id.node_id.parse::<NodeId>() else {
            continue;
        };
        match newest.get(&id) {
            Some((known, _)) if known.generation_id >= chitchat_id.generation_id => {}
            _ => {
                newest.insert(id, (chitchat_id, state));
            }
        }
    }
    let nodes = newest
        .into_iter()
        .filter_map(|(id, (chitchat_id, state))| {
            let health = if id == myself || live.contains(chitchat_id) {
                Health::Online
            } else {
                Health::Failed
            };
            node_view(id, state, health)
        })
        .collect();
    ClusterView::new(myself, nodes)
}
