//! # starling-dashboard
//!
//! The admin HTTP server every node runs on its admin port: the live
//! dashboard page, the versioned JSON API, Server-Sent Events and
//! Prometheus metrics (docs/api.md).
//!
//! The node feeds it a `Sample` of the cluster about once a second through
//! a `watch` channel and implements `Actions` for the POST routes; this
//! crate knows nothing of shards or keys. Gossip gives every node the whole
//! cluster, so any node's dashboard shows all of it.
//!
//! # Layout
//! - `source`: what the node provides: `Sample`, `Actions`.
//! - `model`: the JSON documents, built from a sample.
//! - `tracker`: events derived from consecutive samples, chart history,
//!   finished migrations.
//! - `hub`: the latest state and the fan-out of events to open pages.
//! - `routes`: the HTTP routes and their authentication.
//! - `metrics`: the Prometheus exposition.
//! - `assets/`: the page (HTML, CSS, JavaScript), embedded in the binary.
//!
//! # Isolation
//! The server runs one actix-web worker thread, apart from the shard
//! threads. Each push is rendered once and offered to every page on a
//! bounded channel; a page that falls behind skips messages, so a slow
//! browser never holds up anything else.

pub mod hub;
pub mod metrics;
pub mod model;
pub mod routes;
pub mod source;
pub mod tracker;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpServer};
use tokio::sync::watch;

pub use source::{ActionError, Actions, LocalCounters, Mode, RebalanceRequest, Sample};

#[derive(Clone, Debug)]
pub struct DashboardConfig {
    pub listen: SocketAddr,
    /// `--admin-token`: actions need it; without one they are refused.
    pub token: Option<String>,
    /// `--admin-auth-reads yes`: reads need the token too.
    pub auth_reads: bool,
}

/// A running admin server.
pub struct Dashboard {
    pub local_addr: SocketAddr,
    server: actix_web::dev::ServerHandle,
    follower: tokio::task::JoinHandle<()>,
}

impl Dashboard {
    /// Binds the admin port and starts serving. Call it inside the node's
    /// actix System: the server and the task that follows `samples` are
    /// spawned on it (the HTTP worker itself gets a thread of its own).
    pub fn start(
        config: DashboardConfig,
        samples: watch::Receiver<Arc<Sample>>,
        actions: Arc<dyn Actions>,
    ) -> std::io::Result<Dashboard> {
        if config.auth_reads && config.token.is_none() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "--admin-auth-reads yes needs --admin-token",
            ));
        }
        let hub = Arc::new(hub::Hub::new(samples.borrow().clone()));
        let state = web::Data::new(routes::AppState {
            hub: hub.clone(),
            actions,
            token: config.token.clone(),
            auth_reads: config.auth_reads,
        });
        let server = HttpServer::new(move || App::new().app_data(state.clone()).configure(routes::configure))
            .workers(1)
            .disable_signals()
            .shutdown_timeout(1)
            .client_request_timeout(Duration::from_secs(10))
            .bind(config.listen)?;
        let local_addr = server
            .addrs()
            .first()
            .copied()
            .ok_or_else(|| std::io::Error::other("admin server bound no address"))?;
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(async move {
            if let Err(error) = server.await {
                tracing::error!(%error, "admin server stopped");
            }
        });
        let follower = actix_rt::spawn(hub::follow(hub, samples));
        tracing::info!(address = %local_addr, "dashboard and admin API listening");
        Ok(Dashboard {
            local_addr,
            server: handle,
            follower,
        })
    }

    /// Stops serving (open event streams are closed).
    pub async fn stop(self) {
        self.follower.abort();
        self.server.stop(false).await;
    }
}
