//! The node's side of the dashboard (the `starling-dashboard` crate): the
//! admin actions its POST routes run, done with the same code as
//! `starling-admin`, and the start of the admin HTTP server.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use starling_cluster::rebalance::PlannedMove;
use starling_dashboard::{ActionError, Actions, Dashboard, DashboardConfig, RebalanceRequest, Sample};
use tokio::sync::watch;

use super::client::AdminClient;
use super::{execute_moves, migrations, plan_rebalance, Cluster, RebalanceOptions};
use crate::config::{AdminPort, StartupConfig, ADMIN_PORT_OFFSET};
use crate::server::ServerContext;

/// Runs rebalances for the admin API, one at a time.
pub struct NodeActions {
    /// This node's client address, which the admin client talks to.
    own_address: String,
    cluster_enabled: bool,
    running: Arc<AtomicBool>,
    /// The running rebalance's stop flag.
    stop: Mutex<Arc<AtomicBool>>,
}

impl NodeActions {
    pub fn new(own_address: String, cluster_enabled: bool, running: Arc<AtomicBool>) -> NodeActions {
        NodeActions {
            own_address,
            cluster_enabled,
            running,
            stop: Mutex::new(Arc::new(AtomicBool::new(false))),
        }
    }

    fn require_cluster(&self) -> Result<(), ActionError> {
        if self.cluster_enabled {
            Ok(())
        } else {
            Err(ActionError::BadRequest("this node does not run in cluster mode".into()))
        }
    }
}

fn failed(error: anyhow::Error) -> ActionError {
    ActionError::Failed(format!("{error:#}"))
}

impl Actions for NodeActions {
    fn rebalance(&self, request: RebalanceRequest) -> Result<Vec<PlannedMove>, ActionError> {
        self.require_cluster()?;
        if self
            .running
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(ActionError::Conflict(
                "a rebalance started here is still running".into(),
            ));
        }
        let planned = Cluster::load(&self.own_address).map_err(failed).and_then(|cluster| {
            let options = RebalanceOptions {
                weights: request.weights,
                balance: request.balance,
                parallel: request.parallel,
                threshold_percent: request.threshold_percent,
            };
            let moves =
                plan_rebalance(&cluster, &options).map_err(|error| ActionError::BadRequest(format!("{error:#}")))?;
            Ok((cluster, moves, options.parallel))
        });
        let (cluster, moves, parallel) = match planned {
            Ok(planned) if !planned.1.is_empty() => planned,
            other => {
                self.running.store(false, Ordering::Release);
                return other.map(|(_, moves, _)| moves);
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        *self.stop.lock().expect("stop flag lock poisoned") = stop.clone();
        let running = self.running.clone();
        let to_run = moves.clone();
        let spawned = std::thread::Builder::new()
            .name("admin-rebalance".into())
            .spawn(move || {
                let outcome = execute_moves(
                    &cluster,
                    &to_run,
                    parallel,
                    &stop,
                    |line| tracing::info!(%line, "admin API rebalance"),
                );
                if let Err(error) = outcome {
                    tracing::warn!(error = %format!("{error:#}"), "admin API rebalance stopped");
                }
                running.store(false, Ordering::Release);
            });
        if let Err(error) = spawned {
            self.running.store(false, Ordering::Release);
            return Err(ActionError::Failed(format!("could not start the rebalance: {error}")));
        }
        Ok(moves)
    }

    fn cancel_migrations(&self) -> Result<u64, ActionError> {
        self.require_cluster()?;
        self.stop
            .lock()
            .expect("stop flag lock poisoned")
            .store(true, Ordering::Release);
        let cluster = Cluster::load(&self.own_address).map_err(failed)?;
        let mut cancelled = 0;
        for node in cluster.primaries().filter(|node| !node.is_failed()) {
            let live = migrations(&node.address)
                .map_err(failed)?
                .iter()
                .filter(|entry| {
                    entry.get("operation").map(String::as_str) == Some("EXPORT")
                        && !matches!(
                            entry.get("state").map(String::as_str),
                            Some("success" | "failed" | "cancelled")
                        )
                })
                .count();
            AdminClient::connect(&node.address)
                .and_then(|mut client| client.ok(&["CLUSTER", "CANCELSLOTMIGRATIONS"]))
                .map_err(failed)?;
            cancelled += live as u64;
        }
        Ok(cancelled)
    }
}

/// Where the admin server listens, or None when it is off.
fn listen_address(config: &StartupConfig, client_port: u16) -> anyhow::Result<Option<SocketAddr>> {
    let port = match config.admin.port {
        AdminPort::Off => return Ok(None),
        AdminPort::Given(port) => port,
        AdminPort::Default if config.port == 0 => 0,
        AdminPort::Default => client_port.checked_add(ADMIN_PORT_OFFSET).unwrap_or(0),
    };
    let host = match &config.admin.bind_opt {
        Some(bind) => bind.as_str(),
        None => config
            .bind
            .first()
            .map_or("127.0.0.1", |bind| bind.trim_start_matches('-')),
    };
    let host = match host {
        "*" => "0.0.0.0",
        "::*" => "::",
        other => other,
    };
    let ip: IpAddr = host
        .parse()
        .with_context(|| format!("invalid admin bind address {host}"))?;
    Ok(Some(SocketAddr::new(ip, port)))
}

/// Starts the dashboard and admin API if configured. With the default port
/// taken, it falls back to any free port (and says so); a port given
/// explicitly must be free.
/// `rebalance_running` is the flag the samples report.
pub fn start(
    context: &Arc<ServerContext>,
    samples: watch::Receiver<Arc<Sample>>,
    rebalance_running: Arc<AtomicBool>,
) -> anyhow::Result<Option<Dashboard>> {
    let config = &context.startup;
    let Some(listen) = listen_address(config, context.tcp_port)? else {
        return Ok(None);
    };
    let own_host = match config.bind.first().map(|bind| bind.trim_start_matches('-')) {
        Some(host) if !matches!(host, "*" | "::*" | "0.0.0.0" | "::") => host.to_string(),
        _ => "127.0.0.1".to_string(),
    };
    let own_address = if own_host.contains(':') {
        format!("[{own_host}]:{}", context.tcp_port)
    } else {
        format!("{own_host}:{}", context.tcp_port)
    };
    let actions = Arc::new(NodeActions::new(
        own_address,
        context.cluster_enabled,
        rebalance_running,
    ));
    let dashboard_config = |listen| DashboardConfig {
        listen,
        token: config.admin.token_opt.clone(),
        auth_reads: config.admin.auth_reads,
    };
    match Dashboard::start(dashboard_config(listen), samples.clone(), actions.clone()) {
        Ok(dashboard) => Ok(Some(dashboard)),
        Err(error) if config.admin.port == AdminPort::Default && error.kind() == std::io::ErrorKind::AddrInUse => {
            tracing::warn!(%listen, "default admin port taken; the admin server takes any free port");
            let dashboard = Dashboard::start(dashboard_config(SocketAddr::new(listen.ip(), 0)), samples, actions)?;
            Ok(Some(dashboard))
        }
        Err(error) => Err(error).with_context(|| format!("admin server on {listen}")),
    }
}
