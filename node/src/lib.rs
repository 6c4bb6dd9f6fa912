//! # Starling node
//!
//! The `starling-server` binary: a Redis-compatible server in which every
//! core runs a shard actor that owns a set of hash slots outright.
//!
//! # Layout
//! - `admin`: `starling-admin`, the operator CLI (status, rebalance,
//!   add-node, drain, remove), as a library the tests drive too.
//! - `allocator`: the global allocator (mimalloc) and its tuning.
//! - `config`: flags, the redis.conf-style config file, CONFIG GET/SET parameters.
//! - `cluster`: cluster mode: the manager that owns this node's gossip
//!   membership and slot claims, the routing snapshot, the state file.
//! - `server`: start-up, shard arbiters, the accept loop, `ServerContext`.
//! - `connection`: one task per client: decode, run the pipeline, reply;
//!   `client` is the registry CLIENT LIST reads; `session` is per-connection state.
//! - `shard`: the `Shard` actor and `ShardCore` (one per thread), `router`
//!   (how connections reach shards, including cross-shard holds).
//! - `keyspace`: per-slot tables (`dict`), records and values, expiry.
//! - `migration`: native slot migration (CLUSTER MIGRATESLOTS): the source's
//!   runner, the target's side, the link between them.
//! - `telemetry`: the once-a-second sample of this node's load and
//!   migrations, gossiped and shown by the dashboard (`admin::dashboard`
//!   starts the admin HTTP server of the `starling-dashboard` crate).
//! - `commands`: the command table (`table`) and one file per command family.

pub mod admin;
pub mod allocator;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod connection;
pub mod glob;
pub mod keyspace;
pub mod logging;
pub mod migration;
pub mod server;
pub mod shard;
pub mod telemetry;

/// The Redis version whose behaviour Starling serves.
pub const REDIS_COMPATIBLE_VERSION: &str = "7.2.5";
/// Starling's own version.
pub const STARLING_VERSION: &str = env!("CARGO_PKG_VERSION");
