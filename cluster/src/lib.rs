//! # Starling cluster logic
//!
//! Who owns which hash slot, decided without a coordinator. This crate knows
//! nothing of keys or the network: it turns what nodes claim into one slot
//! map, the way Redis Cluster does with config epochs.
//!
//! # Layout
//! - `node_id`: `NodeId`, the 40-hex identity a node keeps across restarts.
//! - `claims`: `LocalClaims`, what this node itself claims (slots, config and
//!   current epoch), with Redis's rules for changing it and for reacting to peers.
//! - `slots`: `SlotSet` (a 16384-bit set) and `SlotRange`, with the compact
//!   text form nodes publish (ranges, or a bitmap when fragmented).
//! - `slot_map`: `SlotClaim` and `SlotMap::derive`, the highest-epoch-wins rule,
//!   and config-epoch collision handling.
//! - `slot_marks`: `SlotMarks`, the slots this node is migrating or importing
//!   (CLUSTER SETSLOT MIGRATING / IMPORTING), never gossiped.
//! - `membership`: chitchat gossip: what each node publishes, failure
//!   detection, and the refresh loop that derives a new view on change.
//! - `handoff`: the two-phase ownership handoff of a native slot migration,
//!   as sans-IO state machines for the source and the target.
//! - `rebalance`: the planner of the fewest slot moves toward weighted
//!   shares of slots, keys or memory.
//! - `telemetry`: the load figures and migration progress each node gossips
//!   about itself, for the dashboard.
//! - `view`: `ClusterView`, the immutable snapshot of nodes, health and slot map.
//! - `transport`: `UdpGossipTransport`, chitchat's UDP transport bound before
//!   gossip starts (so port 0 works) and counting messages.

pub mod claims;
pub mod handoff;
pub mod membership;
pub mod node_id;
pub mod rebalance;
pub mod slot_map;
pub mod slot_marks;
pub mod slots;
pub mod telemetry;
pub mod transport;
pub mod view;

pub use claims::{ClaimError, LocalClaims, Observed, SlotChange};
pub use membership::{Membership, MembershipConfig, MembershipError, FORGET_BAN};
pub use node_id::NodeId;
pub use slot_map::{resolve_epoch_collision, SlotClaim, SlotMap, SlotOwner};
pub use slot_marks::{SlotMark, SlotMarks};
pub use slots::{parse_range, SlotRange, SlotSet, SLOT_COUNT};
pub use telemetry::{MigrationProgress, MigrationReport, NodeStats, NodeTelemetry};
pub use transport::{GossipCounters, UdpGossipTransport};
pub use view::{ClusterView, Endpoint, Health, NodeView, Role};
