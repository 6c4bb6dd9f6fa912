//! Cluster mode: the glue between gossip (`starling-cluster`) and the node.
//!
//! ```text
//!  main thread                                   shard threads
//!  ClusterManager ── owns ──> Membership (chitchat, UDP cluster port)
//!       │                     LocalClaims, StateFile (--dir)
//!       │ install(snapshot)
//!       ▼
//!  ClusterHandle.snapshot : ArcSwap<ClusterSnapshot> ──load──> pipeline::execute (routing)
//!  ClusterHandle.requests_tx ◀──────── CLUSTER ADDSLOTS, MEET, ... (commands/cluster.rs)
//! ```
//!
//! - `manager`: the task that owns this node's cluster state and applies
//!   CLUSTER commands (its module comment states the contract).
//! - `routing`: `ClusterSnapshot`, what connections route with, and
//!   `Redirect` (MOVED, ASK, CROSSSLOT, TRYAGAIN, CLUSTERDOWN).
//! - `persistence`: the node state file in the data directory.

pub mod manager;
pub mod persistence;
pub mod routing;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use arc_swap::ArcSwap;
use starling_cluster::{
    ClaimError, Endpoint, LocalClaims, Membership, MembershipConfig, NodeId, Role, UdpGossipTransport,
};
use tokio::sync::{mpsc, oneshot};

use crate::commands::error::CommandError;
use crate::config::StartupConfig;
use manager::{ClusterManager, ClusterRequest, ManagerParts, REQUEST_QUEUE_CAPACITY};
use persistence::{SavedState, StateFile};
use routing::{ClusterSnapshot, LocalSlotState};

/// Every Starling cluster gossips under this chitchat cluster id.
const GOSSIP_CLUSTER_ID: &str = "starling";
/// The gossip port is the client port plus this, unless set (Redis's rule).
const CLUSTER_PORT_OFFSET: u16 = 10_000;

/// Errors of the CLUSTER commands that change state. `Display` is the exact
/// wire text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterCommandError {
    #[error("ERR {0}")]
    Claim(ClaimError),
    #[error("ERR Unknown node {0}")]
    UnknownNode(String),
    #[error("ERR I don't know about node {0}")]
    DontKnowNode(String),
    #[error("ERR Target node is not a master")]
    TargetNotPrimary,
    #[error("ERR I tried hard but I can't forget myself...")]
    ForgetMyself,
    /// An argument's error, already the full wire text.
    #[error("{0}")]
    Argument(String),
    #[error("ERR error saving the cluster node config: {0}")]
    Save(String),
    #[error("ERR cluster state unavailable (server shutting down)")]
    ManagerStopped,
}

impl From<ClaimError> for ClusterCommandError {
    fn from(error: ClaimError) -> ClusterCommandError {
        ClusterCommandError::Claim(error)
    }
}

impl From<ClusterCommandError> for CommandError {
    fn from(error: ClusterCommandError) -> CommandError {
        CommandError::Other(error.to_string())
    }
}

/// What connections share with the cluster manager.
pub struct ClusterHandle {
    snapshot: ArcSwap<ClusterSnapshot>,
    requests_tx: mpsc::Sender<ClusterRequest>,
}

impl ClusterHandle {
    /// The current snapshot. Cheap (one atomic increment); takes no lock.
    pub fn snapshot(&self) -> Arc<ClusterSnapshot> {
        self.snapshot.load_full()
    }

    fn install(&self, snapshot: ClusterSnapshot) {
        self.snapshot.store(Arc::new(snapshot));
    }

    /// Sends a request to the manager and waits for its reply.
    pub async fn request<T>(
        &self,
        make_request: impl FnOnce(oneshot::Sender<T>) -> ClusterRequest,
    ) -> Result<T, ClusterCommandError> {
        let (reply_tx, reply_rx) = oneshot::channel();
        self.requests_tx
            .send(make_request(reply_tx))
            .await
            .map_err(|_| ClusterCommandError::ManagerStopped)?;
        reply_rx.await.map_err(|_| ClusterCommandError::ManagerStopped)
    }
}

/// The cluster manager with the channel it serves, ready to run on the main thread.
pub struct ClusterTask {
    manager: ClusterManager,
    requests_rx: mpsc::Receiver<ClusterRequest>,
}

impl ClusterTask {
    /// Runs until every `ClusterHandle` is dropped or the runtime stops.
    pub async fn run(self) {
        self.manager.run(self.requests_rx).await
    }
}

/// Loads (or creates) this node's identity and claims from the data
/// directory, starts gossip, and returns the handle connections use and the
/// task that manages the cluster state.
///
/// `client_port` is the port clients reach this node on (already bound).
pub async fn start(config: &StartupConfig, client_port: u16) -> anyhow::Result<(Arc<ClusterHandle>, ClusterTask)> {
    let state_file = StateFile::open(&config.dir)?;
    let saved_opt = state_file.load()?;
    let generation = manager::next_generation(saved_opt.as_ref().map_or(0, |saved| saved.generation));
    let claims = match &saved_opt {
        Some(saved) => LocalClaims::restore(
            saved.node_id,
            saved.config_epoch,
            saved.current_epoch,
            saved.slots.clone(),
        ),
        None => LocalClaims::fresh(NodeId::random()),
    };
    let saved = SavedState {
        node_id: claims.node_id(),
        shard_id: saved_opt.as_ref().map_or_else(NodeId::random, |saved| saved.shard_id),
        generation,
        config_epoch: claims.config_epoch(),
        current_epoch: claims.current_epoch(),
        slots: claims.slots().clone(),
        slot_marks: saved_opt
            .as_ref()
            .map(|saved| saved.slot_marks.clone())
            .unwrap_or_default(),
        peers: saved_opt.as_ref().map(|saved| saved.peers.clone()).unwrap_or_default(),
    };
    state_file
        .save(&saved)
        .with_context(|| format!("writing {}", state_file.path().display()))?;

    let listen_ip = listen_ip(&config.bind);
    let announce_ip = config
        .cluster
        .announce_ip_opt
        .unwrap_or_else(|| announce_ip_for(listen_ip));
    let cluster_port = cluster_port(config)?;
    let transport = UdpGossipTransport::bind(SocketAddr::new(listen_ip, cluster_port))
        .with_context(|| format!("binding the cluster port {listen_ip}:{cluster_port}/udp"))?;
    let cluster_port = transport.local_addr().port();
    let mut seeds = config.cluster.seeds.clone();
    seeds.extend(saved.peers.iter().cloned());
    let membership_config = MembershipConfig {
        node_id: claims.node_id(),
        generation,
        cluster_id: GOSSIP_CLUSTER_ID.to_string(),
        gossip_listen_addr: transport.local_addr(),
        gossip_advertise_addr: SocketAddr::new(announce_ip, cluster_port),
        seeds,
        node_timeout: Duration::from_millis(config.cluster.node_timeout_ms),
        endpoint: Endpoint {
            ip: announce_ip.to_string(),
            port: client_port,
            cluster_port,
            hostname: config.cluster.announce_hostname_opt.clone(),
        },
        role: Role::Primary,
        primary: None,
        config_epoch: claims.config_epoch(),
        current_epoch: claims.current_epoch(),
        claimed_slots: claims.slots().clone(),
    };
    let membership = Membership::start(membership_config.clone(), &transport)
        .await
        .context("starting gossip")?;
    tracing::info!(
        node_id = %claims.node_id(),
        cluster_port,
        slots = claims.slots().len(),
        config_epoch = claims.config_epoch(),
        "cluster node started"
    );
    let (requests_tx, requests_rx) = mpsc::channel(REQUEST_QUEUE_CAPACITY);
    let first_snapshot = ClusterSnapshot::new(
        membership.view(),
        &LocalSlotState {
            marks: saved.slot_marks.clone(),
            assigned: Default::default(),
        },
        saved.shard_id,
        config.cluster.preferred_endpoint_type,
        Default::default(),
        transport.counters(),
    );
    let handle = Arc::new(ClusterHandle {
        snapshot: ArcSwap::from_pointee(first_snapshot),
        requests_tx,
    });
    let manager = ClusterManager::new(ManagerParts {
        handle: handle.clone(),
        state_file,
        saved,
        claims,
        membership,
        membership_config,
        gossip_counters: transport.counters(),
        preferred_endpoint_type: config.cluster.preferred_endpoint_type,
    });
    Ok((handle, ClusterTask { manager, requests_rx }))
}

/// The address gossip listens on: the first bind address (unspecified if
/// that is `*`, `0.0.0.0` or `::`).
fn listen_ip(bind: &[String]) -> IpAddr {
    bind.first()
        .map(|address| address.trim_start_matches('-'))
        .and_then(|address| match address {
            "*" => Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            other => other.parse().ok(),
        })
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// The IP other nodes and clients are told to use when no
/// `cluster-announce-ip` is set: the listen address, or, when listening on
/// every interface, the address of the interface with the default route
/// (found by connecting a UDP socket, which sends nothing).
fn announce_ip_for(listen_ip: IpAddr) -> IpAddr {
    if !listen_ip.is_unspecified() {
        return listen_ip;
    }
    UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|socket| {
            socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9))?;
            socket.local_addr()
        })
        .map(|address| address.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// `--cluster-port`, else the requested client port + 10000; 0 (any free
/// port) when the client port itself was left to the system.
fn cluster_port(config: &StartupConfig) -> anyhow::Result<u16> {
    if let Some(port) = config.cluster.port_opt {
        return Ok(port);
    }
    if config.port == 0 {
        return Ok(0);
    }
    config
        .port
        .checked_add(CLUSTER_PORT_OFFSET)
        .with_context(|| format!("port {} + 10000 is not a port; set --cluster-port", config.port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gossip_listens_where_clients_connect() {
        assert_eq!(listen_ip(&["127.0.0.1".into()]), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(listen_ip(&["-::1".into()]), "::1".parse::<IpAddr>().unwrap());
        assert!(listen_ip(&["0.0.0.0".into()]).is_unspecified());
        assert!(listen_ip(&["*".into()]).is_unspecified());
        assert_eq!(
            announce_ip_for(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert!(!announce_ip_for(IpAddr::V4(Ipv4Addr::UNSPECIFIED)).is_unspecified());
    }

    #[test]
    fn the_cluster_port_defaults_to_the_client_port_plus_ten_thousand() {
        let mut config = StartupConfig::from_flags(Default::default()).unwrap();
        config.port = 7000;
        assert_eq!(cluster_port(&config).unwrap(), 17000);
        config.port = 0;
        assert_eq!(cluster_port(&config).unwrap(), 0);
        config.port = 60000;
        assert!(cluster_port(&config).is_err());
        config.cluster.port_opt = Some(7946);
        assert_eq!(cluster_port(&config).unwrap(), 7946);
    }
}
