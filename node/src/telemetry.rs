//! Once a second: this node's load figures and migration reports, gossiped
//! in cluster mode (`starling_cluster::telemetry`), and the `Sample` of the
//! whole cluster the dashboard shows.
//!
//! The loop runs on the main thread. Counting keys asks every shard through
//! its mailbox (one small job per shard per second); everything else reads
//! counters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use starling_cluster::{
    ClusterView, Endpoint, Health, MigrationProgress, MigrationReport, NodeId, NodeStats, NodeTelemetry, NodeView,
    SlotSet,
};
use starling_dashboard::{LocalCounters, Mode, Sample};
use tokio::sync::watch;

use crate::cluster::manager::ClusterRequest;
use crate::commands::server::info::resident_memory_bytes;
use crate::migration::Operation;
use crate::server::ServerContext;
use crate::shard::ShardRouter;

pub const SAMPLE_PERIOD: Duration = Duration::from_secs(1);

/// This node's own figures.
async fn local_counters(context: &ServerContext, router: &ShardRouter) -> LocalCounters {
    let keys = router
        .run_on_all(|core| core.keyspace.len())
        .await
        .map_or(0, |counts| counts.into_iter().sum::<usize>()) as u64;
    let stats = &context.stats;
    let ops_per_sec = stats
        .instantaneous
        .lock()
        .expect("metrics lock poisoned")
        .commands
        .mean_per_sec();
    LocalCounters {
        stats: NodeStats {
            keys,
            memory_bytes: resident_memory_bytes(),
            ops_per_sec,
            connected_clients: context.clients.connected() as u64,
            commands_processed: stats.total_commands_processed.load(Ordering::Relaxed),
        },
        connections_received: stats.total_connections_received.load(Ordering::Relaxed),
        net_input_bytes: stats.net_input_bytes.load(Ordering::Relaxed),
        net_output_bytes: stats.net_output_bytes.load(Ordering::Relaxed),
    }
}

/// The migrations this node exports, as gossip reports them.
pub fn migration_reports(context: &ServerContext) -> Vec<MigrationReport> {
    context
        .migrations
        .all()
        .iter()
        .filter(|record| record.operation == Operation::Export)
        .map(|record| {
            let progress = record.progress();
            MigrationReport {
                id: record.name.clone(),
                source: record.source,
                target: record.target,
                slots: record.slots.encode(),
                progress: MigrationProgress {
                    state: progress.state.name().to_string(),
                    message: progress.message.clone(),
                    keys_moved: progress.keys,
                    keys_total: progress.keys_total,
                    bytes_moved: progress.bytes,
                    bytes_per_sec: record.rate_bytes_per_sec(&progress),
                    eta_secs: record.eta_secs(&progress),
                    started_unix: record.create_unix_secs,
                    updated_unix: progress.last_update_unix_secs,
                },
            }
        })
        .collect()
}

/// A standalone node is a cluster of one that owns every slot.
fn standalone_view(context: &ServerContext) -> Arc<ClusterView> {
    let myself = NodeId::parse(context.run_id.as_bytes()).unwrap_or_else(|_| NodeId::random());
    let host = context
        .startup
        .bind
        .first()
        .map_or("127.0.0.1", |bind| bind.trim_start_matches('-'));
    let node = NodeView::primary(
        myself,
        Endpoint::new(host, context.tcp_port, 0),
        0,
        Health::Online,
        SlotSet::full(),
    );
    Arc::new(ClusterView::new(myself, vec![node]))
}

async fn sample(context: &ServerContext, router: &ShardRouter, rebalance_running: &AtomicBool) -> Sample {
    let local = local_counters(context, router).await;
    let reports = migration_reports(context);
    let unix_ms = crate::shard::unix_time_ms();
    let rebalance_running = rebalance_running.load(Ordering::Acquire);
    let Some(cluster) = &context.cluster else {
        let view = standalone_view(context);
        let telemetry = HashMap::from([(
            view.myself,
            NodeTelemetry {
                stats: Some(local.stats.clone()),
                migrations: reports,
            },
        )]);
        return Sample {
            mode: Mode::Standalone,
            unix_ms,
            view,
            telemetry,
            live_nodes: 1,
            local,
            rebalance_running,
        };
    };
    let stats = local.stats.clone();
    let (telemetry, live_nodes) = cluster
        .request(|reply_tx| ClusterRequest::Telemetry {
            stats,
            migrations: reports,
            reply_tx,
        })
        .await
        .unwrap_or_default();
    Sample {
        mode: Mode::Cluster,
        unix_ms,
        view: cluster.snapshot().view.clone(),
        telemetry,
        live_nodes,
        local,
        rebalance_running,
    }
}

/// Takes the first sample, then keeps publishing a new one every
/// `SAMPLE_PERIOD` until the server stops. `rebalance_running` is whether
/// a rebalance started through the admin API runs.
pub async fn start(context: Arc<ServerContext>, rebalance_running: Arc<AtomicBool>) -> watch::Receiver<Arc<Sample>> {
    let router = ShardRouter::for_current_thread(context.shards.clone());
    let first = sample(&context, &router, &rebalance_running).await;
    let (sample_tx, sample_rx) = watch::channel(Arc::new(first));
    actix_rt::spawn(async move {
        let mut ticker = tokio::time::interval(SAMPLE_PERIOD);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        while !context.shutting_down() {
            ticker.tick().await;
            let next = sample(&context, &router, &rebalance_running).await;
            // Nobody watching (admin port off) is fine: gossip got the figures.
            let _ = sample_tx.send(Arc::new(next));
        }
    });
    sample_rx
}
