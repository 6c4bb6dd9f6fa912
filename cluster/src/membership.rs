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
//! | `handoff` | slots it released in a handoff and still routes (`NodeView::handoff_slots`) |
//! | `suspects` | its failure reports: the node ids it doubts, comma-separated |
//! | `forgotten` | the node ids it has forgotten (CLUSTER FORGET), comma-separated |
//!
//! plus the load figures and migration reports of `telemetry`.
//!
//! The chitchat node id is our `NodeId`; the generation is set per process
//! start, and only the newest generation of each node id counts.
//!
//! FORGET: chitchat keeps every node it has heard of (a dead one for
//! `DEAD_NODE_GRACE_PERIOD`) and gossips about it, so a node cannot be
//! deleted from the gossip state. Instead a forgotten node is hidden from
//! this node's views: every generation of it known when it was forgotten.
//! As Redis bans it for `FORGET_BAN` (60 s) and then re-adds it if another
//! node still gossips about it, the node shows again after the ban only if
//! it is alive and some other live node, not forgotten itself, has not
//! forgotten it (each node publishes the nodes it forgot). So a node removed
//! everywhere (`redis-cli --cluster del-node`) stays gone, even while it runs
//! on after its CLUSTER RESET, and one forgotten on a single node comes back.
//! A forgotten node also shows again once it restarts (a later generation)
//! or is met again (CLUSTER MEET on its address).
//!
//! Failure detection is chitchat's phi-accrual detector, with a floor. A
//! node's heartbeat counter rises with every gossip message it handles, so
//! the mean interval between heartbeats shrinks as the cluster grows and the
//! detector's verdict (phi > 8, i.e. silent for 8 mean intervals) comes in
//! about a second on a three-node loopback cluster: too eager for a node
//! that merely paused. So this node doubts a peer only when the detector
//! says it is dead and its heartbeat has not moved for a while: for a
//! quarter of `node_timeout` the peer is `Suspect` (the `fail?` flag, Redis's
//! PFAIL; it keeps serving its slots), and this node publishes it among its
//! failure reports; for half of it (`FAILURE_SILENCE_SHARE`) the peer is
//! unreachable from here. As in Redis, an unreachable peer is flagged
//! `Failed` only once a quorum (`size / 2 + 1` of the primaries serving
//! slots) agrees: this node, plus the other primaries, not doubted
//! themselves, whose reports name it (COUNT-FAILURE-REPORTS). With the
//! default 5 s timeout a stopped node is flagged after 2.5 s plus one gossip
//! round. A node that reaches fewer than a quorum of the slot-serving
//! primaries is in a minority partition, and its cluster state is `fail`
//! (Redis's rule); its own reports cannot reach the others, so it never
//! flags the majority failed. A node just discovered counts as online until
//! it has been silent that long (the detector needs two heartbeats before it
//! can call anyone alive).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chitchat::transport::Transport;
use chitchat::{
    spawn_chitchat, Chitchat, ChitchatConfig, ChitchatHandle, ChitchatId, FailureDetectorConfig, Heartbeat, NodeState,
};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::node_id::NodeId;
use crate::slots::SlotSet;
use crate::telemetry::{self, MigrationReport, NodeStats, NodeTelemetry};
use crate::view::{ClusterView, Endpoint, Health, NodeView, Role};

const KEY_ENDPOINT: &str = "endpoint";
const KEY_CLUSTER_PORT: &str = "cport";
const KEY_HOSTNAME: &str = "hostname";
const KEY_ROLE: &str = "role";
const KEY_PRIMARY: &str = "primary";
const KEY_CONFIG_EPOCH: &str = "config_epoch";
const KEY_CURRENT_EPOCH: &str = "current_epoch";
const KEY_SLOTS: &str = "slots";
const KEY_HANDOFF: &str = "handoff";
const KEY_SUSPECTS: &str = "suspects";
const KEY_FORGOTTEN: &str = "forgotten";
/// At most this many failure reports, and forgotten nodes, are published
/// (41 bytes each, far below chitchat's value limit).
const SUSPECTS_PUBLISHED_MAX: usize = 512;
const FORGOTTEN_PUBLISHED_MAX: usize = 512;

/// Failed nodes are remembered this long (Redis keeps them until FORGET).
const DEAD_NODE_GRACE_PERIOD: Duration = Duration::from_secs(24 * 3600);
/// How long CLUSTER FORGET hides a node that is still alive (Redis's
/// `CLUSTER_BLACKLIST_TTL`).
pub const FORGET_BAN: Duration = Duration::from_secs(60);

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

/// How much of `node_timeout` a node must stay silent, on top of the phi
/// detector's verdict, before it is flagged failed.
const FAILURE_SILENCE_SHARE: u32 = 2;

/// The same for `Suspect` (Redis's PFAIL), which changes nothing but the
/// `fail?` flag and the dashboard's health column.
const SUSPICION_SILENCE_SHARE: u32 = 4;

/// What deriving views remembers from one round to the next.
struct ViewDerivation {
    myself: NodeId,
    /// Nodes this node has forgotten: node id → the newest generation hidden
    /// and when it was forgotten.
    forgotten: HashMap<NodeId, (u64, Instant)>,
    /// When each node's heartbeat last moved, as seen here.
    last_heard: HashMap<ChitchatId, (Heartbeat, Instant)>,
    /// The nodes this node doubts, which it publishes as failure reports.
    suspected: Vec<NodeId>,
    silence_before_failure: Duration,
    silence_before_suspicion: Duration,
}

pub struct Membership {
    myself: NodeId,
    handle: ChitchatHandle,
    view_tx: Arc<watch::Sender<Arc<ClusterView>>>,
    view_rx: watch::Receiver<Arc<ClusterView>>,
    derivation: Arc<Mutex<ViewDerivation>>,
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
        let mut derivation = ViewDerivation {
            myself,
            forgotten: HashMap::new(),
            last_heard: HashMap::new(),
            suspected: Vec::new(),
            silence_before_failure: config.node_timeout / FAILURE_SILENCE_SHARE,
            silence_before_suspicion: config.node_timeout / SUSPICION_SILENCE_SHARE,
        };
        let first_view = Arc::new(derivation.derive(&*chitchat.lock().await));
        let derivation = Arc::new(Mutex::new(derivation));
        let (view_tx, view_rx) = watch::channel(first_view);
        let view_tx = Arc::new(view_tx);
        let refresh_task = tokio::spawn(refresh_views(
            chitchat,
            view_tx.clone(),
            derivation.clone(),
            gossip_interval,
        ));
        Ok(Membership {
            myself,
            handle,
            view_tx,
            view_rx,
            derivation,
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

    /// Publishes this node's slot claims, epochs and handoff slots, and
    /// returns the view that includes them (derived at once, not at the next
    /// gossip round). They change together, so a peer never hears of a
    /// released claim without the handoff slots that keep routing it.
    pub async fn publish_claims(
        &self,
        config_epoch: u64,
        current_epoch: u64,
        claimed_slots: &SlotSet,
        handoff_slots: &SlotSet,
    ) -> Arc<ClusterView> {
        {
            let chitchat = self.handle.chitchat();
            let mut chitchat = chitchat.lock().await;
            let state = chitchat.self_node_state();
            state.set(KEY_CONFIG_EPOCH, config_epoch);
            state.set(KEY_CURRENT_EPOCH, current_epoch);
            state.set(KEY_SLOTS, claimed_slots.encode());
            state.set(KEY_HANDOFF, handoff_slots.encode());
        }
        self.refresh().await
    }

    /// Publishes this node's load figures and migration reports (see
    /// `telemetry`); reports no longer in `migrations` are deleted.
    pub async fn publish_telemetry(&self, stats: &NodeStats, migrations: &[MigrationReport]) {
        let chitchat = self.handle.chitchat();
        let mut chitchat = chitchat.lock().await;
        let state = chitchat.self_node_state();
        state.set(telemetry::KEY_STATS, telemetry::encode_stats(stats));
        let reports = telemetry::encode_reports(migrations);
        let stale: Vec<String> = state
            .iter_prefix(telemetry::KEY_MIGRATION_PREFIX)
            .map(|(key, _)| key.to_string())
            .filter(|key| !reports.iter().any(|(published, _)| published == key))
            .collect();
        for key in stale {
            state.delete(&key);
        }
        for (key, value) in reports {
            state.set(key, value);
        }
    }

    /// What every node in the current view last published about its load
    /// and migrations (its newest generation).
    pub async fn telemetry(&self) -> HashMap<NodeId, NodeTelemetry> {
        let view = self.view();
        let chitchat = self.handle.chitchat();
        let chitchat = chitchat.lock().await;
        let mut newest: HashMap<NodeId, (u64, NodeTelemetry)> = HashMap::new();
        for (chitchat_id, state) in chitchat.node_states() {
            let Ok(id) = chitchat_id.node_id.parse::<NodeId>() else {
                continue;
            };
            if view.node(&id).is_none()
                || newest
                    .get(&id)
                    .is_some_and(|(known, _)| *known >= chitchat_id.generation_id)
            {
                continue;
            }
            newest.insert(id, (chitchat_id.generation_id, telemetry::decode(state.key_values())));
        }
        newest.into_iter().map(|(id, (_, telemetry))| (id, telemetry)).collect()
    }

    /// Nodes the failure detector currently sees alive (this one included).
    pub async fn live_node_count(&self) -> usize {
        let chitchat = self.handle.chitchat();
        let chitchat = chitchat.lock().await;
        chitchat.live_nodes().count()
    }

    /// Derives the view from the gossip state now, publishes it if it
    /// changed, and returns it.
    pub async fn refresh(&self) -> Arc<ClusterView> {
        let chitchat = self.handle.chitchat();
        let mut chitchat = chitchat.lock().await;
        publish_view(&mut chitchat, &self.view_tx, &self.derivation);
        self.view_rx.borrow().clone()
    }

    /// Gossips once with `address` (CLUSTER MEET): if a node listens there,
    /// each side learns of the other and of everyone the other knows. A
    /// forgotten node gossiping from that address is remembered again.
    pub async fn meet(&self, address: SocketAddr) -> Result<(), MembershipError> {
        {
            let chitchat = self.handle.chitchat();
            let chitchat = chitchat.lock().await;
            let met: Vec<NodeId> = chitchat
                .node_states()
                .keys()
                .filter(|chitchat_id| chitchat_id.gossip_advertise_addr == address)
                .filter_map(|chitchat_id| chitchat_id.node_id.parse().ok())
                .collect();
            let mut derivation = self.derivation.lock().expect("view derivation lock poisoned");
            for node in met {
                derivation.forgotten.remove(&node);
            }
        }
        self.handle
            .gossip(address)
            .map_err(|error| MembershipError(error.to_string()))
    }

    /// CLUSTER FORGET: hides `node` (every generation of it known now) from
    /// this node's views. Returns false if gossip knows no such node.
    pub async fn forget(&self, node: NodeId) -> bool {
        assert_ne!(node, self.myself, "a node cannot forget itself");
        let known = {
            let chitchat = self.handle.chitchat();
            let chitchat = chitchat.lock().await;
            let newest_generation = chitchat
                .node_states()
                .keys()
                .filter(|chitchat_id| chitchat_id.node_id.parse::<NodeId>() == Ok(node))
                .map(|chitchat_id| chitchat_id.generation_id)
                .max();
            if let Some(generation) = newest_generation {
                self.derivation
                    .lock()
                    .expect("view derivation lock poisoned")
                    .forgotten
                    .insert(node, (generation, Instant::now()));
            }
            newest_generation.is_some()
        };
        self.refresh().await;
        known
    }

    /// CLUSTER RESET: forgets every node but this one.
    pub async fn forget_all_others(&self) {
        let others: Vec<NodeId> = self
            .view()
            .nodes
            .iter()
            .map(|node| node.id)
            .filter(|id| *id != self.myself)
            .collect();
        for node in others {
            self.forget(node).await;
        }
    }

    /// Whether `node` was forgotten (CLUSTER FORGET of it again succeeds).
    pub fn is_forgotten(&self, node: &NodeId) -> bool {
        self.derivation
            .lock()
            .expect("view derivation lock poisoned")
            .forgotten
            .contains_key(node)
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
    chitchat: Arc<tokio::sync::Mutex<Chitchat>>,
    view_tx: Arc<watch::Sender<Arc<ClusterView>>>,
    derivation: Arc<Mutex<ViewDerivation>>,
    gossip_interval: Duration,
) {
    let mut ticker = tokio::time::interval(gossip_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        publish_view(&mut *chitchat.lock().await, &view_tx, &derivation);
    }
}

/// Derives the view, publishes this node's failure reports and forgotten
/// nodes if they changed, and sends the view to subscribers if it changed.
fn publish_view(
    chitchat: &mut Chitchat,
    view_tx: &watch::Sender<Arc<ClusterView>>,
    derivation: &Mutex<ViewDerivation>,
) {
    let (view, suspects, forgotten) = {
        let mut derivation = derivation.lock().expect("view derivation lock poisoned");
        let view = derivation.derive(chitchat);
        (view, derivation.suspects_text(), derivation.forgotten_text())
    };
    let published = chitchat.self_node_state();
    for (key, value) in [(KEY_SUSPECTS, suspects), (KEY_FORGOTTEN, forgotten)] {
        if published.get(key).unwrap_or_default() != value {
            published.set(key, value);
        }
    }
    view_tx.send_if_modified(|current| {
        if **current == view {
            return false;
        }
        *current = Arc::new(view);
        true
    });
}

/// Parses one node's published keys; None while some are still missing.
fn node_view(id: NodeId, generation: u64, state: &NodeState, health: Health) -> Option<NodeView> {
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
        handoff_slots: state
            .get(KEY_HANDOFF)
            .and_then(|text| SlotSet::decode(text).ok())
            .unwrap_or_default(),
        generation,
        failure_reports: 0,
    })
}

impl ViewDerivation {
    /// The view from the gossip state: the newest generation of every node
    /// id not forgotten, failed if the failure detector says it is dead and
    /// it has been silent for `silence_before_failure` (this node is always
    /// online).
    fn derive(&mut self, chitchat: &Chitchat) -> ClusterView {
        let now = Instant::now();
        self.last_heard
            .retain(|chitchat_id, _| chitchat.node_state(chitchat_id).is_some());
        for (chitchat_id, state) in chitchat.node_states() {
            let heartbeat = state.heartbeat();
            match self.last_heard.get_mut(chitchat_id) {
                Some((last_heartbeat, _)) if *last_heartbeat == heartbeat => {}
                Some(entry) => *entry = (heartbeat, now),
                None => {
                    self.last_heard.insert(chitchat_id.clone(), (heartbeat, now));
                }
            }
        }
        let live: HashSet<&ChitchatId> = chitchat.live_nodes().collect();
        // The newest generation of each node id whose keys have all arrived:
        // a node that just restarted is shown as its previous generation
        // until its new keys are in, rather than not at all.
        let mut newest: HashMap<NodeId, Judged> = HashMap::new();
        for (chitchat_id, state) in chitchat.node_states() {
            let Ok(id) = chitchat_id.node_id.parse::<NodeId>() else {
                continue;
            };
            let generation = chitchat_id.generation_id;
            if self
                .forgotten
                .get(&id)
                .is_some_and(|&(hidden_generation, forgotten_at)| {
                    generation <= hidden_generation
                        && (now.duration_since(forgotten_at) < FORGET_BAN
                            || !live.contains(chitchat_id)
                            || !self.still_known_elsewhere(chitchat, &live, id))
                })
            {
                continue;
            }
            if newest.get(&id).is_some_and(|known| known.node.generation >= generation) {
                continue;
            }
            let silence = self
                .last_heard
                .get(chitchat_id)
                .map_or(Duration::ZERO, |(_, heard_at)| now.duration_since(*heard_at));
            let doubted = id != self.myself && !live.contains(chitchat_id);
            let doubt = if doubted && silence >= self.silence_before_failure {
                Doubt::Unreachable
            } else if doubted && silence >= self.silence_before_suspicion {
                Doubt::Suspected
            } else {
                Doubt::None
            };
            let health = if doubt == Doubt::None {
                Health::Online
            } else {
                Health::Suspect
            };
            if let Some(node) = node_view(id, generation, state, health) {
                let reports = state
                    .get(KEY_SUSPECTS)
                    .unwrap_or_default()
                    .split(',')
                    .filter_map(|text| text.parse().ok())
                    .collect();
                newest.insert(id, Judged { node, doubt, reports });
            }
        }
        // A ban ends once the node shows again or gossip lets go of it.
        let gossiped: HashSet<NodeId> = chitchat
            .node_states()
            .keys()
            .filter_map(|chitchat_id| chitchat_id.node_id.parse().ok())
            .collect();
        self.forgotten
            .retain(|id, _| !newest.contains_key(id) && gossiped.contains(id));
        self.suspected = newest
            .values()
            .filter(|judged| judged.doubt != Doubt::None)
            .map(|judged| judged.node.id)
            .take(SUSPECTS_PUBLISHED_MAX)
            .collect();
        self.suspected.sort_unstable();
        let doubts: HashMap<NodeId, Doubt> = newest.iter().map(|(id, judged)| (*id, judged.doubt)).collect();
        // Reports count from primaries this node does not doubt itself: a
        // doubted node's published opinion may be stale.
        let mut reports: HashMap<NodeId, usize> = HashMap::new();
        for judged in newest.values() {
            if judged.node.id == self.myself || judged.node.role != Role::Primary || judged.doubt != Doubt::None {
                continue;
            }
            for reported in judged.reports.iter().filter(|reported| **reported != judged.node.id) {
                *reports.entry(*reported).or_default() += 1;
            }
        }
        let mut view = ClusterView::new(self.myself, newest.into_values().map(|judged| judged.node).collect());
        // Redis's rules: a node is failed once this node cannot reach it and,
        // counting this node if it is a primary, a quorum of primaries
        // reports it; a node that reaches fewer than a quorum of the
        // primaries serving slots is in a minority partition.
        let quorum = view.quorum();
        let counts_itself = usize::from(view.myself().is_some_and(|node| node.role == Role::Primary));
        let mut reachable_owners = 0;
        for node in &mut view.nodes {
            node.failure_reports = reports.get(&node.id).copied().unwrap_or(0);
            let unreachable = doubts[&node.id] == Doubt::Unreachable;
            if unreachable && counts_itself + node.failure_reports >= quorum {
                node.health = Health::Failed;
            }
            let owns_slots = node.role == Role::Primary && !view.slot_map.slots_of(&node.id).is_empty();
            reachable_owners += usize::from(owns_slots && !unreachable);
        }
        view.in_minority = view.size() > 0 && reachable_owners < quorum;
        view
    }

    /// Whether a live node other than this one and `node`, and not forgotten
    /// here, has not forgotten `node`: it would gossip about it, as a Redis
    /// node re-adds a banned node once the ban ends.
    fn still_known_elsewhere(&self, chitchat: &Chitchat, live: &HashSet<&ChitchatId>, node: NodeId) -> bool {
        let node_text = node.to_string();
        chitchat.node_states().iter().any(|(chitchat_id, state)| {
            let Ok(witness) = chitchat_id.node_id.parse::<NodeId>() else {
                return false;
            };
            witness != self.myself
                && witness != node
                && live.contains(chitchat_id)
                && !self.forgotten.contains_key(&witness)
                && !state
                    .get(KEY_FORGOTTEN)
                    .unwrap_or_default()
                    .split(',')
                    .any(|forgotten| forgotten == node_text)
        })
    }

    /// What this node publishes as its failure reports: the nodes it doubts.
    fn suspects_text(&self) -> String {
        let ids: Vec<String> = self.suspected.iter().map(NodeId::to_string).collect();
        ids.join(",")
    }

    /// What this node publishes as the nodes it has forgotten.
    fn forgotten_text(&self) -> String {
        let mut ids: Vec<String> = self.forgotten.keys().map(NodeId::to_string).collect();
        ids.sort_unstable();
        ids.truncate(FORGOTTEN_PUBLISHED_MAX);
        ids.join(",")
    }
}

/// How this node alone judges a peer, before failure reports count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Doubt {
    None,
    /// Silent for a quarter of the node timeout: `fail?`, and reported.
    Suspected,
    /// Silent for half of it: failed once a quorum of primaries agrees.
    Unreachable,
}

/// One node of the view being derived, with this node's doubt about it and
/// the nodes it reports as failing.
struct Judged {
    node: NodeView,
    doubt: Doubt,
    reports: Vec<NodeId>,
}
