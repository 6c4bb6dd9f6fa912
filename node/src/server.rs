//! Start-up and the accept loop.
//!
//! Threads: the actix System's main thread runs the accept loop and, in
//! cluster mode, gossip and the cluster manager, and the telemetry sampler
//! that feeds the admin server (whose HTTP worker has a thread of its own). Each of the `--shards N` Arbiters runs one `Shard` actor;
//! accepted connections are handed to the Arbiters round-robin and live on
//! that thread for their whole life.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use anyhow::Context as _;
use arc_swap::ArcSwap;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cluster::{self, ClusterHandle};
use crate::config::{SharedConfig, StartupConfig};
use crate::connection::{self, client::ClientRegistry};
use crate::migration::Migrations;
use crate::shard::{idle_poll, router::install_local_shard, Shard, ShardCore, ShardRouter, ShardSet};

/// Counters reported by INFO stats.
#[derive(Default)]
pub struct ServerStats {
    pub total_connections_received: AtomicU64,
    pub total_commands_processed: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    /// Rates behind INFO's `instantaneous_*` fields, sampled on the main thread.
    pub instantaneous: Mutex<InstantaneousMetrics>,
}

impl ServerStats {
    /// CONFIG RESETSTAT: zeroes the counters (each shard resets its own).
    pub fn reset(&self) {
        for counter in [
            &self.total_connections_received,
            &self.total_commands_processed,
            &self.rejected_connections,
            &self.net_input_bytes,
            &self.net_output_bytes,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        *self.instantaneous.lock().expect("metrics lock poisoned") = InstantaneousMetrics::default();
    }

    /// Records one sample of every instantaneous metric.
    pub fn sample(&self, now: Instant) {
        let mut metrics = self.instantaneous.lock().expect("metrics lock poisoned");
        let commands = self.total_commands_processed.load(Ordering::Relaxed);
        let input_bytes = self.net_input_bytes.load(Ordering::Relaxed);
        let output_bytes = self.net_output_bytes.load(Ordering::Relaxed);
        metrics.commands.record(now, commands);
        metrics.net_input_bytes.record(now, input_bytes);
        metrics.net_output_bytes.record(now, output_bytes);
    }
}

/// How often the instantaneous metrics are sampled, and how many samples
/// their mean covers: Redis's 100 ms and 16.
pub const METRICS_SAMPLE_PERIOD: Duration = Duration::from_millis(100);
const METRICS_SAMPLES: usize = 16;

/// A counter's rate per second over the last `METRICS_SAMPLES` periods.
#[derive(Default)]
pub struct RateSampler {
    last_sample: Option<(Instant, u64)>,
    rates_per_sec: [u64; METRICS_SAMPLES],
    next_index: usize,
}

impl RateSampler {
    pub fn record(&mut self, now: Instant, total: u64) {
        if let Some((sampled_at, previous_total)) = self.last_sample {
            let elapsed_ms = now.saturating_duration_since(sampled_at).as_millis() as u64;
            let increase = total.saturating_sub(previous_total);
            if let Some(rate_per_sec) = increase.saturating_mul(1000).checked_div(elapsed_ms) {
                self.rates_per_sec[self.next_index] = rate_per_sec;
                self.next_index = (self.next_index + 1) % METRICS_SAMPLES;
            }
        }
        self.last_sample = Some((now, total));
    }

    pub fn mean_per_sec(&self) -> u64 {
        self.rates_per_sec.iter().sum::<u64>() / METRICS_SAMPLES as u64
    }
}

#[derive(Default)]
pub struct InstantaneousMetrics {
    pub commands: RateSampler,
    pub net_input_bytes: RateSampler,
    pub net_output_bytes: RateSampler,
}

/// What every connection shares: configuration, shards, clients, counters.
pub struct ServerContext {
    pub config: SharedConfig,
    pub startup: StartupConfig,
    pub shards: ShardSet,
    pub clients: ClientRegistry,
    pub stats: ServerStats,
    pub started_at: Instant,
    pub started_unix_secs: u64,
    pub run_id: String,
    pub tcp_port: u16,
    /// Whether this node runs Redis Cluster (`cluster` is then set). HELLO,
    /// INFO, CONFIG GET, SELECT and READONLY read it here and nowhere else.
    pub cluster_enabled: bool,
    /// Cluster mode: the routing snapshot and the way to the cluster manager.
    pub cluster: Option<Arc<ClusterHandle>>,
    /// Native slot migrations, both directions (CLUSTER GETSLOTMIGRATIONS).
    pub migrations: Migrations,
    /// The dashboard's port once it listens (None inside: it is off).
    pub admin_port: OnceLock<Option<u16>>,
    shutdown_tx: watch::Sender<bool>,
}

impl ServerContext {
    /// Whether the server was asked to stop.
    pub fn shutting_down(&self) -> bool {
        *self.shutdown_tx.borrow()
    }

    /// Asks the server to stop: the accept loop ends and the process exits.
    pub fn request_shutdown(&self) {
        let _ = self.shutdown_tx.send(true);
    }

    /// The `mode` HELLO reports and INFO's `redis_mode`.
    pub fn mode_name(&self) -> &'static str {
        if self.cluster_enabled {
            "cluster"
        } else {
            "standalone"
        }
    }
}

/// A running server, for tests and embedding.
pub struct ServerHandle {
    pub port: u16,
    context: Arc<ServerContext>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl ServerHandle {
    pub fn context(&self) -> &Arc<ServerContext> {
        &self.context
    }

    /// Stops the server and waits for its threads to finish.
    pub fn shutdown(mut self) {
        self.context.request_shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.context.request_shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs the server on the calling thread until SHUTDOWN or a signal.
pub fn run(config: StartupConfig) -> anyhow::Result<()> {
    run_with(config, |_| {})
}

/// Starts the server on a background thread and returns once it listens.
pub fn start_background(config: StartupConfig) -> anyhow::Result<ServerHandle> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("starling-main".into())
        .spawn(move || run_with(config, move |context| drop(ready_tx.send(context.clone()))))?;
    match ready_rx.recv() {
        Ok(context) => Ok(ServerHandle {
            port: context.tcp_port,
            context,
            thread: Some(thread),
        }),
        Err(_) => Err(thread
            .join()
            .map_err(|_| anyhow::anyhow!("server thread panicked"))?
            .err()
            .unwrap_or_else(|| anyhow::anyhow!("server stopped before listening"))),
    }
}

fn run_with(config: StartupConfig, on_ready: impl FnOnce(&Arc<ServerContext>) + 'static) -> anyhow::Result<()> {
    let system = System::new();
    let result = system.block_on(serve(config, on_ready));
    System::current().stop();
    result
}

async fn bind_listeners(config: &StartupConfig) -> anyhow::Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    let mut port = config.port;
    for address in &config.bind {
        let host = address.trim_start_matches('-');
        let socket_address: SocketAddr = if host.contains(':') {
            format!("[{host}]:{port}").parse()
        } else {
            format!("{host}:{port}").parse()
        }
        .with_context(|| format!("invalid bind address {address}"))?;
        let listener = TcpListener::bind(socket_address)
            .await
            .with_context(|| format!("binding {socket_address}"))?;
        // With --port 0 every address shares the port picked for the first.
        port = listener.local_addr()?.port();
        listeners.push(listener);
    }
    anyhow::ensure!(!listeners.is_empty(), "no bind address");
    Ok(listeners)
}

async fn serve(config: StartupConfig, on_ready: impl FnOnce(&Arc<ServerContext>)) -> anyhow::Result<()> {
    let listeners = bind_listeners(&config).await?;
    let tcp_port = listeners[0].local_addr()?.port();
    let shared_config: SharedConfig = Arc::new(ArcSwap::from_pointee(config.runtime.clone()));
    let (cluster_handle_opt, cluster_task_opt) = if config.cluster.enabled {
        let (handle, task) = cluster::start(&config, tcp_port).await?;
        (Some(handle), Some(task))
    } else {
        (None, None)
    };
    let (arbiters, shards) = start_shards(config.shards, &shared_config, cluster_handle_opt.clone());
    let (shutdown_tx, mut shutdown_rx) = watch::channel(false);
    let context = Arc::new(ServerContext {
        config: shared_config,
        startup: config.clone(),
        shards,
        clients: ClientRegistry::default(),
        stats: ServerStats::default(),
        started_at: Instant::now(),
        started_unix_secs: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or(0),
        run_id: format!("{:032x}{:08x}", rand::random::<u128>(), rand::random::<u32>()),
        tcp_port,
        cluster_enabled: cluster_handle_opt.is_some(),
        cluster: cluster_handle_opt,
        migrations: Migrations::default(),
        admin_port: OnceLock::new(),
        shutdown_tx,
    });
    if let Some(cluster_task) = cluster_task_opt {
        actix_rt::spawn(cluster_task.run());
    }
    let rebalance_running = Arc::new(AtomicBool::new(false));
    let samples = crate::telemetry::start(context.clone(), rebalance_running.clone()).await;
    let dashboard_opt = crate::admin::dashboard::start(&context, samples, rebalance_running)?;
    context
        .admin_port
        .set(dashboard_opt.as_ref().map(|dashboard| dashboard.local_addr.port()))
        .expect("admin port set once");
    tracing::info!(port = tcp_port, shards = config.shards, "ready to accept connections");
    if config.print_port {
        println!("port={tcp_port}");
        if let Some(dashboard) = &dashboard_opt {
            println!("admin_port={}", dashboard.local_addr.port());
        }
    }
    on_ready(&context);

    actix_rt::spawn(sample_metrics(context.clone()));
    if config.cluster.enabled && config.cluster.auto_rebalance {
        crate::admin::auto::spawn(format!("127.0.0.1:{tcp_port}"), context.clone());
    }
    let next_arbiter = Arc::new(AtomicUsize::new(0));
    for listener in listeners {
        actix_rt::spawn(accept_loop(
            listener,
            context.clone(),
            arbiters.clone(),
            next_arbiter.clone(),
        ));
    }
    tokio::select! {
        _ = shutdown_rx.wait_for(|stop| *stop) => tracing::info!("shutdown requested"),
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted, shutting down"),
        _ = terminate_signal() => tracing::info!("terminated, shutting down"),
    }
    if let Some(dashboard) = dashboard_opt {
        dashboard.stop().await;
    }
    for arbiter in arbiters.iter() {
        arbiter.stop();
    }
    Ok(())
}

/// Feeds INFO's instantaneous metrics until the server stops.
async fn sample_metrics(context: Arc<ServerContext>) {
    let mut ticker = tokio::time::interval(METRICS_SAMPLE_PERIOD);
    loop {
        ticker.tick().await;
        context.stats.sample(Instant::now());
    }
}

#[cfg(unix)]
async fn terminate_signal() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut signal) => {
            signal.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn terminate_signal() {
    std::future::pending().await
}

fn start_shards(
    shard_count: usize,
    config: &SharedConfig,
    cluster_opt: Option<Arc<ClusterHandle>>,
) -> (Arc<Vec<ArbiterHandle>>, ShardSet) {
    let mut arbiters = Vec::with_capacity(shard_count);
    let mut addresses = Vec::with_capacity(shard_count);
    for index in 0..shard_count {
        let arbiter = Arbiter::new();
        let config = config.clone();
        let cluster_opt = cluster_opt.clone();
        let address = Shard::start_in_arbiter(&arbiter.handle(), move |_| {
            actix_rt::spawn(idle_poll::run(config.clone()));
            let mut core = ShardCore::new(index, shard_count, config);
            core.cluster_opt = cluster_opt;
            let core = Rc::new(RefCell::new(core));
            install_local_shard(index, core.clone());
            Shard::new(core)
        });
        arbiters.push(arbiter.handle());
        addresses.push(address);
    }
    (
        Arc::new(arbiters),
        ShardSet {
            addresses: addresses.into(),
        },
    )
}

async fn accept_loop(
    listener: TcpListener,
    context: Arc<ServerContext>,
    arbiters: Arc<Vec<ArbiterHandle>>,
    next_arbiter: Arc<AtomicUsize>,
) {
    loop {
        let (stream, peer_address) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        context.stats.total_connections_received.fetch_add(1, Ordering::Relaxed);
        let maxclients = context.config.load().maxclients;
        if !context.clients.try_reserve(maxclients) {
            context.stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
            actix_rt::spawn(connection::reject_max_clients(stream));
            continue;
        }
        let _ = stream.set_nodelay(true);
        let std_stream = match stream.into_std() {
            Ok(std_stream) => std_stream,
            Err(error) => {
                tracing::warn!(%error, "could not hand over connection");
                context.clients.release_reservation();
                continue;
            }
        };
        let arbiter = &arbiters[next_arbiter.fetch_add(1, Ordering::Relaxed) % arbiters.len()];
        let context = context.clone();
        let handed_over = arbiter.spawn_fn(move || match tokio::net::TcpStream::from_std(std_stream) {
            Ok(stream) => {
                let router = ShardRouter::for_current_thread(context.shards.clone());
                actix_rt::spawn(connection::serve(stream, peer_address, context, router));
            }
            Err(error) => {
                tracing::warn!(%error, "could not register connection");
                context.clients.release_reservation();
            }
        });
        if !handed_over {
            tracing::warn!("shard thread is gone; dropping connection");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_averaged_over_the_last_samples() {
        let start = Instant::now();
        let mut sampler = RateSampler::default();
        assert_eq!(sampler.mean_per_sec(), 0);
        sampler.record(start, 0);
        // 1600 more every 100 ms is 16000 per second in every sample.
        for step in 1..=METRICS_SAMPLES as u64 {
            sampler.record(start + METRICS_SAMPLE_PERIOD * step as u32, 1600 * step);
        }
        assert_eq!(sampler.mean_per_sec(), 16_000);
        // A counter reset (CONFIG RESETSTAT) reads as no activity, not as a wrap.
        sampler.record(start + METRICS_SAMPLE_PERIOD * 17, 0);
        assert_eq!(sampler.mean_per_sec(), 15_000);
        // Two samples at the same instant add nothing.
        sampler.record(start + METRICS_SAMPLE_PERIOD * 17, 50);
        assert_eq!(sampler.mean_per_sec(), 15_000);
    }
}
