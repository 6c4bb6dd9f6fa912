//! # starling-bench
//!
//! A cluster-aware load generator and lost-write checker for any
//! Redis-protocol server: Starling, redis-server, Valkey.
//!
//! # Layout
//! - `client`: the cluster-aware pipelining client (`Client`), its RESP
//!   `connection` and the shared slot `topology` (CLUSTER SLOTS, MOVED
//!   patches, background refreshes).
//! - `workload`: command templates, the `--mix` built-ins, key
//!   distributions and value sizes; `Generator` writes requests.
//! - `run`: `starling-bench run`, closed and open loop over threads of
//!   single-threaded runtimes, with a live progress line.
//! - `stats`: per-command HdrHistogram latencies, errors by kind.
//! - `report`: the summary table and the `--json` document.
//! - `check`: `starling-bench check`, the lost-write checker, also a
//!   library API for tests (`Checker::start`, `CheckRun::verify`).
//! - `compare`: `starling-bench compare`, several targets side by side.

pub mod check;
pub mod client;
pub mod compare;
pub mod report;
pub mod run;
pub mod stats;
pub mod workload;
