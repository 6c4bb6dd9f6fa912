//! CLUSTER (the container of Redis Cluster subcommands) and ASKING.
//!
//! Read-only subcommands (INFO, NODES, SLOTS, SHARDS, MYID...) render the
//! connection's current `ClusterSnapshot`; they take no lock and send no
//! message. Subcommands that change this node's cluster state (ADDSLOTS,
//! MEET, FORGET, RESET...) are requests to the cluster manager, which owns
//! that state (`cluster::manager`); COUNTKEYSINSLOT and GETKEYSINSLOT ask the
//! shard that holds the slot.
//!
//! On a node started without `--cluster-enabled yes` every subcommand
//! (HELP included) replies `ERR This instance has cluster support disabled`,
//! after the usual unknown-subcommand and arity checks, as in Redis.
//!
//! SETSLOT opens and closes slot migrations (the manager applies it; see
//! `cluster::manager`); the keys move with MIGRATE (`commands/migrate.rs`).
//!
//! Not here yet: REPLICATE and FAILOVER (replication). Gossip runs over UDP
//! without links, so CLUSTER LINKS is empty. COUNT-FAILURE-REPORTS counts the
//! other primaries whose gossiped failure reports name the node
//! (`starling_cluster::membership`).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use starling_cluster::{Health, NodeId, NodeView, Role, SlotChange, SlotRange, SLOT_COUNT};
use starling_protocol::{key_slot, Frame};

use super::args::{is_keyword, parse_i64, text};
use super::error::{CommandError, CommandResult};
use super::server::help_reply;
use super::slot_migration;
use super::table::{CommandSpec, Flags, Handler};
use crate::cluster::manager::{ClusterRequest, SetSlotAction};
use crate::cluster::routing::{is_failed, preferred_endpoint, ClusterSnapshot};
use crate::cluster::{ClusterCommandError, ClusterHandle};
use crate::config::EndpointType;
use crate::connection::session::Session;

pub fn commands() -> Vec<CommandSpec> {
    let admin = Flags::ADMIN | Flags::STALE;
    let admin_acl: &[&str] = &["@admin", "@slow", "@dangerous"];
    let slow_acl: &[&str] = &["@slow"];
    let sub = |name, arity, handler, flags, acl, since, summary| {
        CommandSpec::new(name, arity, handler)
            .flags(flags)
            .acl(acl)
            .doc("cluster", since, summary)
    };
    vec![
        CommandSpec::new("cluster", -2, Handler::Container)
            .acl(slow_acl)
            .doc("cluster", "3.0.0", "A container for Redis Cluster commands.")
            .subcommands(vec![
                sub(
                    "cluster|addslots",
                    -3,
                    Handler::Async(cluster_addslots),
                    admin,
                    admin_acl,
                    "3.0.0",
                    "Assigns new hash slots to a node.",
                ),
                sub(
                    "cluster|addslotsrange",
                    -4,
                    Handler::Async(cluster_addslotsrange),
                    admin,
                    admin_acl,
                    "7.0.0",
                    "Assigns new hash slot ranges to a node.",
                ),
                sub(
                    "cluster|bumpepoch",
                    2,
                    Handler::Async(cluster_bumpepoch),
                    admin,
                    admin_acl,
                    "3.0.0",
                    "Advances the cluster config epoch.",
                ),
                sub(
                    "cluster|count-failure-reports",
                    3,
                    Handler::Session(cluster_count_failure_reports),
                    admin,
                    admin_acl,
                    "3.0.0",
                    "Returns the number of active failure reports active for a node.",
                ),
                sub(
                    "cluster|slot-stats",
                    -4,
                    Handler::Async(cluster_slot_stats),
                    Flags::STALE,
                    slow_acl,
                    "8.0.0",
                    "Returns per-slot statistics.",
                ),
                sub(
                    "cluster|countkeysinslot",
                    3,
                    Handler::Async(cluster_countkeysinslot),
                    Flags::STALE,
                    slow_acl,
                    "3.0.0",
                    "Returns the number of keys in a hash slot.",
                ),
                sub(
                    "cluster|delslots",
                    -3,
                    Handler::Async(cluster_delslots),
                    admin,
                    admin_acl,
                    "3.0.0",
                    "Sets hash slots as unbound for a node.",
                ),
                sub(
                    "cluster|delslotsrange",
                    -4,
                    Handler::Async(cluster_delslotsrange),
                    admin,
                    admin_acl,
                    "7.0.0",
                    "Sets hash slot ranges as unbound for a node.",
                ),
                sub(
                    "cluster|flushslots",
                    2,
                    Handler::Async(cluster_flushslots),
                    admin,
                    admin_acl,
                    "3.0.0",
                    "Deletes all slots information from a node.",
                ),
                sub(
                    "cluster|forget",
                    3,
                    Handler::Async(cluster_forget),
                    admin,
                    admin_acl,
                    "3.0.0",
                    "Removes a node from the nodes table.",
                ),
                sub(
                    "cluster|getkeysinslot",
                    4,
                    Handler::Async(cluster_getkeysinslot),
                    Flags::STALE,
                    slow_acl,
                    "3.0.0",
                    "Returns the key names in a hash slot.",
                ),
                sub(
                    "cluster|help",
                    2,
                    Handler::Session(cluster_help),
                    Flags::LOADING | Flags::STALE,
                    slow_acl,
                    "5.0.0",
                    "Returns helpful text about the different subcommands.",
                ),
                sub(
                    "cluster|info",
                    2,
                    Handler::Session(cluster_info),
                    Flags::STALE,
                    slow_acl,
                    "3.0.0",
                    "Returns information about the state of a node.",
                ),
                sub(
                    "cluster|keyslot",
                    3,
                    Handler::Session(cluster_keyslot),
                    Flags::STALE,
                    slow_acl,
                    "3.0.0",
                    "Returns the hash slot for a key.",
                ),
                sub(
                    "cluster|links",
                    2,
                    Handler::Session(cluster_links),
                    Flags::STALE,
                    slow_acl,
                    "7.0.0",
                    "Returns a list of all TCP links to and from peer nodes.",
                ),
                sub(
                    "cluster|migrateslots",
                    -6,
                    Handler::Async(slot_migration::cluster_migrateslots),
                    admin,
                    admin_acl,
                    "9.0.0",
                    "Migrates slot ranges to another node with atomic slot migration.",
                ),
                sub(
                    "cluster|getslotmigrations",
                    2,
                    Handler::Session(slot_migration::cluster_getslotmigrations),
                    admin,
                    admin_acl,
                    "9.0.0",
                    "Returns the in-progress and recent atomic slot migrations.",
                ),
                sub(
                    "cluster|cancelslotmigrations",
                    2,
                    Handler::Session(slot_migration::cluster_cancelslotmigrations),
                    admin,
                    admin_acl,
                    "9.0.0",
                    "Cancels the atomic slot migrations this node runs.",
                ),
                sub(
                    "cluster|meet",
                    -4,
                    Handler::Async(cluster_meet),
                    admin,
                    admin_acl,
                    "3.0.0",
                    "Forces a node to handshake with another node.",
                ),
                sub(
                    "cluster|myid",
                    2,
                    Handler::Session(cluster_myid),
                    Flags::STALE,
                    slow_acl,
                    "3.0.0",
                    "Returns the ID of a node.",
                ),
                sub(
                    "cluster|myshardid",
                    2,
                    Handler::Session(cluster_myshardid),
                    Flags::STALE,
                    slow_acl,
                    "7.2.0",
                    "Returns the shard ID of a node.",
                ),
                sub(
                    "cluster|nodes",
                    2,
                    Handler::Session(cluster_nodes),
                    Flags::STALE,
                    slow_acl,
                    "3.0.0",
                    "Returns the cluster configuration for a node.",
                ),
                sub(
                    "cluster|replicas",
                    3,
                    Handler::Session(cluster_replicas),
                    admin,
                    admin_acl,
                    "5.0.0",
                    "Lists the replica nodes of a master node.",
                ),
                sub(
                    "cluster|reset",
                    -2,
                    Handler::Async(cluster_reset),
                    admin | Flags::NOSCRIPT,
                    admin_acl,
                    "3.0.0",
                    "Resets a node.",
                ),
                sub(
                    "cluster|saveconfig",
                    2,
                    Handler::Async(cluster_saveconfig),
                    admin,
                    admin_acl,
                    "3.0.0",
                    "Forces a node to save the cluster configuration to disk.",
                ),
                sub(
                    "cluster|set-config-epoch",
                    3,
                    Handler::Async(cluster_set_config_epoch),
                    admin,
                    admin_acl,
                    "3.0.0",
                    "Sets the configuration epoch for a new node.",
                ),
                sub(
                    "cluster|setslot",
                    -4,
                    Handler::Async(cluster_setslot),
                    admin,
                    admin_acl,
                    "3.0.0",
                    "Binds a hash slot to a node.",
                ),
                sub(
                    "cluster|shards",
                    2,
                    Handler::Session(cluster_shards),
                    Flags::STALE,
                    slow_acl,
                    "7.0.0",
                    "Returns the mapping of cluster slots to shards.",
                ),
                sub(
                    "cluster|slaves",
                    3,
                    Handler::Session(cluster_replicas),
                    admin,
                    admin_acl,
                    "3.0.0",
                    "Lists the replica nodes of a master node.",
                ),
                sub(
                    "cluster|slots",
                    2,
                    Handler::Session(cluster_slots),
                    Flags::STALE,
                    slow_acl,
                    "3.0.0",
                    "Returns the mapping of cluster slots to nodes.",
                ),
            ]),
        CommandSpec::new("asking", 1, Handler::Session(asking))
            .flags(Flags::FAST)
            .acl(&["@fast", "@connection"])
            .doc(
                "cluster",
                "3.0.0",
                "Signals that a cluster client is following an -ASK redirect.",
            ),
    ]
}

fn cluster_disabled() -> CommandError {
    CommandError::other("ERR This instance has cluster support disabled")
}

fn cluster_handle(session: &Session) -> Result<Arc<ClusterHandle>, CommandError> {
    session.server.cluster.clone().ok_or_else(cluster_disabled)
}

fn cluster_snapshot(session: &Session) -> Result<Arc<ClusterSnapshot>, CommandError> {
    Ok(cluster_handle(session)?.snapshot())
}

/// Redis's `getSlotOrReply`.
fn parse_slot(arg: &[u8]) -> Result<u16, CommandError> {
    parse_i64(arg)
        .filter(|slot| (0..SLOT_COUNT as i64).contains(slot))
        .map(|slot| slot as u16)
        .ok_or_else(|| CommandError::other("ERR Invalid or out of range slot"))
}

/// The node an argument names, in the current view.
fn known_node<'a>(snapshot: &'a ClusterSnapshot, arg: &[u8]) -> Result<&'a NodeView, CommandError> {
    NodeId::parse(arg)
        .ok()
        .and_then(|id| snapshot.view.node(&id))
        .ok_or_else(|| CommandError::other(format!("ERR Unknown node {}", text(arg))))
}

/// Keys in every shard (FLUSHSLOTS and RESET need an empty node).
async fn key_count(session: &Session) -> Result<usize, CommandError> {
    let counts = session.router.run_on_all(|core| core.keyspace.len()).await?;
    Ok(counts.into_iter().sum())
}

/// `ASKING`
fn asking(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    cluster_handle(session)?;
    session.set_asking();
    Ok(Frame::ok())
}

/// `CLUSTER HELP`
fn cluster_help(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    cluster_handle(session)?;
    Ok(help_reply(
        "CLUSTER",
        &[
            "ADDSLOTS <slot> [<slot> ...]",
            "    Assign slots to current node.",
            "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
            "    Assign slots which are between <start-slot> and <end-slot> to current node.",
            "BUMPEPOCH",
            "    Advance the cluster config epoch.",
            "COUNT-FAILURE-REPORTS <node-id>",
            "    Return number of failure reports for <node-id>.",
            "COUNTKEYSINSLOT <slot>",
            "    Return the number of keys in <slot>.",
            "DELSLOTS <slot> [<slot> ...]",
            "    Delete slots information from current node.",
            "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
            "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
            "FORGET <node-id>",
            "    Remove a node from the cluster.",
            "GETKEYSINSLOT <slot> <count>",
            "    Return key names stored by current node in a slot.",
            "FLUSHSLOTS",
            "    Delete current node own slots information.",
            "INFO",
            "    Return information about the cluster.",
            "KEYSLOT <key>",
            "    Return the hash slot for <key>.",
            "MEET <ip> <port> [<bus-port>]",
            "    Connect nodes into a working cluster.",
            "MYID",
            "    Return the node id.",
            "MYSHARDID",
            "    Return the node's shard id.",
            "NODES",
            "    Return cluster configuration seen by node. Output format:",
            "    <id> <ip:port@bus-port[,hostname]> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
            "RESET [HARD|SOFT]",
            "    Reset current node (default: soft).",
            "SET-CONFIG-EPOCH <epoch>",
            "    Set config epoch of current node.",
            "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
            "    Set slot state.",
            "REPLICAS <node-id>",
            "    Return <node-id> replicas.",
            "SAVECONFIG",
            "    Force saving cluster configuration on disk.",
            "SLOTS",
            "    Return information about slots range mappings. Each range is made of:",
            "    start, end, master and replicas IP addresses, ports and ids",
            "SHARDS",
            "    Return information about slot range mappings and the nodes associated with them.",
            "LINKS",
            "    Return information about all network links between this node and its peers.",
            "    Output format is an array where each array element is a map containing attributes of a link",
        ],
    ))
}

/// `CLUSTER INFO`: `field:value` lines, a verbatim string.
fn cluster_info(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    let snapshot = cluster_snapshot(session)?;
    Ok(Frame::Verbatim {
        format: *b"txt",
        text: Bytes::from(render_info(&snapshot)),
    })
}

pub fn render_info(snapshot: &ClusterSnapshot) -> String {
    let view = &snapshot.view;
    let myself = snapshot.myself();
    let slots_assigned = snapshot.slot_map().assigned_count();
    let slots_pfail = view.slots_suspect();
    let fields: [(&str, String); 12] = [
        (
            "cluster_state",
            if snapshot.state_ok { "ok" } else { "fail" }.to_string(),
        ),
        ("cluster_slots_assigned", slots_assigned.to_string()),
        // Redis counts PFAIL slots apart from the ok ones (neither fails the state).
        (
            "cluster_slots_ok",
            snapshot.slots_ok.saturating_sub(slots_pfail).to_string(),
        ),
        ("cluster_slots_pfail", slots_pfail.to_string()),
        ("cluster_slots_fail", (slots_assigned - snapshot.slots_ok).to_string()),
        ("cluster_known_nodes", view.nodes.len().to_string()),
        ("cluster_size", view.size().to_string()),
        // Redis's currentEpoch is never below an epoch this node has seen.
        (
            "cluster_current_epoch",
            myself.current_epoch.max(view.current_epoch()).to_string(),
        ),
        ("cluster_my_epoch", myself.config_epoch.to_string()),
        (
            "cluster_stats_messages_sent",
            snapshot.gossip_counters.sent().to_string(),
        ),
        (
            "cluster_stats_messages_received",
            snapshot.gossip_counters.received().to_string(),
        ),
        ("total_cluster_links_buffer_limit_exceeded", "0".to_string()),
    ];
    fields
        .iter()
        .map(|(name, value)| format!("{name}:{value}\r\n"))
        .collect()
}

/// `CLUSTER MYID`
fn cluster_myid(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    let snapshot = cluster_snapshot(session)?;
    Ok(Frame::bulk(snapshot.view.myself.to_string()))
}

/// `CLUSTER MYSHARDID`
fn cluster_myshardid(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    let snapshot = cluster_snapshot(session)?;
    Ok(Frame::bulk(snapshot.shard_id.to_string()))
}

/// `CLUSTER KEYSLOT key`
fn cluster_keyslot(session: &mut Session, args: &[Bytes]) -> CommandResult {
    cluster_handle(session)?;
    Ok(Frame::integer(key_slot(&args[2]) as i64))
}

/// The slot ranges each node owns in the derived slot map.
fn ranges_by_node(snapshot: &ClusterSnapshot) -> HashMap<NodeId, Vec<SlotRange>> {
    let mut ranges: HashMap<NodeId, Vec<SlotRange>> = HashMap::new();
    for (range, node) in snapshot.slot_map().owned_ranges() {
        ranges.entry(node).or_default().push(range);
    }
    ranges
}

/// `CLUSTER NODES`: one line per node, each ending in `\n`.
fn cluster_nodes(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    let snapshot = cluster_snapshot(session)?;
    Ok(Frame::Verbatim {
        format: *b"txt",
        text: Bytes::from(render_nodes(&snapshot, crate::shard::unix_time_ms())),
    })
}

/// `<id> <ip>:<port>@<cport>[,<hostname>] <flags> <primary|-> <ping-sent>
/// <pong-received> <config-epoch> <link-state> <slot>...`, as Redis's
/// `clusterGenNodeDescription`. The pong time of a live node is now (it
/// gossips every `cluster-node-timeout / 25`); of a failed node, when it was
/// last seen alive.
pub fn render_nodes(snapshot: &ClusterSnapshot, now_ms: u64) -> String {
    let ranges = ranges_by_node(snapshot);
    let mut text = String::new();
    for node in &snapshot.view.nodes {
        let myself = node.id == snapshot.view.myself;
        let failed = is_failed(node);
        text.push_str(&format!(
            "{} {}:{}@{}",
            node.id, node.endpoint.ip, node.endpoint.port, node.endpoint.cluster_port
        ));
        if let Some(hostname) = &node.endpoint.hostname {
            text.push(',');
            text.push_str(hostname);
        }
        let mut flags = Vec::with_capacity(3);
        if myself {
            flags.push("myself");
        }
        flags.push(node.role.as_str());
        if failed {
            flags.push("fail");
        } else if node.health == Health::Suspect {
            flags.push("fail?");
        }
        let pong_received_ms = if failed {
            snapshot.last_online_unix_ms.get(&node.id).copied().unwrap_or(0)
        } else {
            now_ms
        };
        let primary = node
            .primary
            .map_or_else(|| "-".to_string(), |primary| primary.to_string());
        let link = if failed { "disconnected" } else { "connected" };
        text.push_str(&format!(
            " {} {primary} 0 {pong_received_ms} {} {link}",
            flags.join(","),
            node.config_epoch
        ));
        for range in ranges.get(&node.id).into_iter().flatten() {
            text.push(' ');
            text.push_str(&range.to_string());
        }
        if myself {
            for mark in snapshot.marks.iter() {
                text.push(' ');
                text.push_str(&mark.to_string());
            }
        }
        text.push('\n');
    }
    text
}

/// One node in CLUSTER SLOTS: `[endpoint, port, id, {extra networking}]`.
fn slots_node_entry(node: &NodeView, endpoint_type: EndpointType) -> Frame {
    let mut metadata = Vec::new();
    if endpoint_type != EndpointType::Ip {
        metadata.push((Frame::bulk("ip"), Frame::bulk(node.endpoint.ip.clone())));
    }
    if let (false, Some(hostname)) = (endpoint_type == EndpointType::Hostname, &node.endpoint.hostname) {
        metadata.push((Frame::bulk("hostname"), Frame::bulk(hostname.clone())));
    }
    Frame::array(vec![
        Frame::bulk(preferred_endpoint(node, endpoint_type).to_string()),
        Frame::integer(node.endpoint.port as i64),
        Frame::bulk(node.id.to_string()),
        Frame::Map(metadata),
    ])
}

/// `CLUSTER SLOTS`: `[start, end, primary, replica...]` per run of slots
/// with one owner, ascending.
fn cluster_slots(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    let snapshot = cluster_snapshot(session)?;
    let entries = snapshot
        .slot_map()
        .owned_ranges()
        .into_iter()
        .filter_map(|(range, owner)| {
            let node = snapshot.view.node(&owner)?;
            Some(Frame::array(vec![
                Frame::integer(range.start as i64),
                Frame::integer(range.end as i64),
                slots_node_entry(node, snapshot.preferred_endpoint_type),
            ]))
        })
        .collect();
    Ok(Frame::array(entries))
}

/// One node in CLUSTER SHARDS.
fn shards_node_entry(node: &NodeView, endpoint_type: EndpointType) -> Frame {
    let field = |name: &'static str| Frame::bulk(name);
    let mut entries = vec![
        (field("id"), Frame::bulk(node.id.to_string())),
        (field("port"), Frame::integer(node.endpoint.port as i64)),
        (field("ip"), Frame::bulk(node.endpoint.ip.clone())),
        (
            field("endpoint"),
            Frame::bulk(preferred_endpoint(node, endpoint_type).to_string()),
        ),
    ];
    if let Some(hostname) = &node.endpoint.hostname {
        entries.push((field("hostname"), Frame::bulk(hostname.clone())));
    }
    let role = match node.role {
        Role::Primary => "master",
        Role::Replica => "replica",
    };
    let health = if is_failed(node) { "fail" } else { "online" };
    entries.extend([
        (field("role"), field(role)),
        (field("replication-offset"), Frame::integer(0)),
        (field("health"), field(health)),
    ]);
    Frame::Map(entries)
}

/// `CLUSTER SHARDS`: one map per shard (a primary and, later, its
/// replicas): `{slots: [start, end, ...], nodes: [...]}`.
fn cluster_shards(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    let snapshot = cluster_snapshot(session)?;
    let ranges = ranges_by_node(&snapshot);
    let shards = snapshot
        .view
        .nodes
        .iter()
        .filter(|node| node.role == Role::Primary)
        .map(|primary| {
            let slots = ranges
                .get(&primary.id)
                .into_iter()
                .flatten()
                .flat_map(|range| [Frame::integer(range.start as i64), Frame::integer(range.end as i64)])
                .collect();
            Frame::Map(vec![
                (Frame::bulk("slots"), Frame::array(slots)),
                (
                    Frame::bulk("nodes"),
                    Frame::array(vec![shards_node_entry(primary, snapshot.preferred_endpoint_type)]),
                ),
            ])
        })
        .collect();
    Ok(Frame::array(shards))
}

/// `CLUSTER COUNT-FAILURE-REPORTS node-id`
fn cluster_count_failure_reports(session: &mut Session, args: &[Bytes]) -> CommandResult {
    let snapshot = cluster_snapshot(session)?;
    let node = known_node(&snapshot, &args[2])?;
    Ok(Frame::integer(node.failure_reports as i64))
}

/// `CLUSTER REPLICAS node-id` and `CLUSTER SLAVES node-id`: no node has
/// replicas until replication exists.
fn cluster_replicas(session: &mut Session, args: &[Bytes]) -> CommandResult {
    let snapshot = cluster_snapshot(session)?;
    let node = known_node(&snapshot, &args[2])?;
    if node.role == Role::Replica {
        return Err(CommandError::other("ERR The specified node is not a master"));
    }
    Ok(Frame::array(Vec::new()))
}

/// `CLUSTER LINKS`: gossip is UDP, connectionless, so there are no links.
fn cluster_links(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    cluster_handle(session)?;
    Ok(Frame::array(Vec::new()))
}

/// `CLUSTER COUNTKEYSINSLOT slot`
fn cluster_countkeysinslot(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        cluster_handle(session)?;
        let slot = parse_i64(&args[2]).ok_or(CommandError::NotInteger)?;
        let slot = u16::try_from(slot)
            .ok()
            .filter(|&slot| slot < SLOT_COUNT)
            .ok_or_else(|| CommandError::other("ERR Invalid slot"))?;
        let shard = session.router.shard_of_slot(slot);
        let count = session
            .router
            .run(shard, move |core| core.keyspace.slot_len(slot))
            .await?;
        Ok(Frame::integer(count as i64))
    }
    .boxed_local()
}

/// What `CLUSTER SLOT-STATS` reports of each slot.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SlotMetric {
    KeyCount,
    MemoryBytes,
}

fn parse_slot_metric(name: &Bytes) -> Option<SlotMetric> {
    if is_keyword(name, "key-count") {
        Some(SlotMetric::KeyCount)
    } else if is_keyword(name, "memory-bytes") {
        Some(SlotMetric::MemoryBytes)
    } else {
        None
    }
}

fn parse_stats_slot(arg: &[u8]) -> Result<u16, CommandError> {
    parse_i64(arg)
        .and_then(|slot| u16::try_from(slot).ok())
        .filter(|&slot| slot < SLOT_COUNT)
        .ok_or_else(|| CommandError::other("ERR Invalid or out of range slot"))
}

/// `CLUSTER SLOT-STATS SLOTSRANGE start end | ORDERBY metric [LIMIT n] [ASC|DESC]`
/// (Valkey 8): for each slot this node owns, `key-count` and Starling's
/// `memory-bytes` (what `starling-admin rebalance --by memory` balances).
/// Valkey's `cpu-usec` and `network-bytes-*` are not tracked.
fn cluster_slot_stats(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        let cluster = cluster_handle(session)?;
        let syntax = || CommandError::Syntax;
        let mut order_opt = None;
        let (start, end) = if is_keyword(&args[2], "slotsrange") {
            if args.len() != 5 {
                return Err(syntax());
            }
            let (start, end) = (parse_stats_slot(&args[3])?, parse_stats_slot(&args[4])?);
            if start > end {
                return Err(CommandError::other("ERR Invalid slot range"));
            }
            (start, end)
        } else if is_keyword(&args[2], "orderby") {
            let metric = parse_slot_metric(&args[3])
                .ok_or_else(|| CommandError::other("ERR Unrecognized sort metric for ORDERBY."))?;
            let (mut limit, mut descending) = (16usize, true);
            let mut rest = args[4..].iter();
            while let Some(option) = rest.next() {
                if is_keyword(option, "limit") {
                    limit = rest
                        .next()
                        .and_then(|value| parse_i64(value))
                        .and_then(|value| usize::try_from(value).ok())
                        .filter(|value| (1..=SLOT_COUNT as usize).contains(value))
                        .ok_or_else(|| {
                            CommandError::other(
                                "ERR Limit has to lie in between 1 and 16384 (maximum number of slots).",
                            )
                        })?;
                } else if is_keyword(option, "asc") {
                    descending = false;
                } else if is_keyword(option, "desc") {
                    descending = true;
                } else {
                    return Err(syntax());
                }
            }
            order_opt = Some((metric, limit, descending));
            (0, SLOT_COUNT - 1)
        } else {
            return Err(syntax());
        };
        let snapshot = cluster.snapshot();
        let myself = snapshot.view.myself;
        let mut stats: Vec<(u16, u64, u64)> = Vec::new();
        for slot in start..=end {
            if snapshot.slot_map().owner(slot).is_none_or(|owner| owner.node != myself) {
                continue;
            }
            let shard = session.router.shard_of_slot(slot);
            let (keys, bytes) = session
                .router
                .run(shard, move |core| {
                    (
                        core.keyspace.slot_len(slot) as u64,
                        core.keyspace.slot_memory_bytes(slot),
                    )
                })
                .await?;
            stats.push((slot, keys, bytes));
        }
        if let Some((metric, limit, descending)) = order_opt {
            let value = |entry: &(u16, u64, u64)| match metric {
                SlotMetric::KeyCount => entry.1,
                SlotMetric::MemoryBytes => entry.2,
            };
            // Ties keep slot order, as Valkey sorts stably by slot first.
            if descending {
                stats.sort_by_key(|entry| std::cmp::Reverse(value(entry)));
            } else {
                stats.sort_by_key(value);
            }
            stats.truncate(limit);
        }
        let name = |text: &'static str| Frame::bulk(Bytes::from_static(text.as_bytes()));
        Ok(Frame::Array(
            stats
                .into_iter()
                .map(|(slot, keys, bytes)| {
                    Frame::Array(vec![
                        Frame::integer(i64::from(slot)),
                        Frame::Map(vec![
                            (name("key-count"), Frame::integer(keys as i64)),
                            (name("memory-bytes"), Frame::integer(bytes as i64)),
                        ]),
                    ])
                })
                .collect(),
        ))
    }
    .boxed_local()
}

/// `CLUSTER GETKEYSINSLOT slot count`
fn cluster_getkeysinslot(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        cluster_handle(session)?;
        let slot = parse_i64(&args[2]).ok_or(CommandError::NotInteger)?;
        let count = parse_i64(&args[3]).ok_or(CommandError::NotInteger)?;
        if !(0..SLOT_COUNT as i64).contains(&slot) || count < 0 {
            return Err(CommandError::other("ERR Invalid slot or number of keys"));
        }
        let slot = slot as u16;
        let limit = usize::try_from(count).unwrap_or(usize::MAX);
        let shard = session.router.shard_of_slot(slot);
        let keys = session
            .router
            .run(shard, move |core| core.keyspace.keys_in_slot(slot, limit))
            .await?;
        Ok(Frame::array(
            keys.iter()
                .map(|key| Frame::bulk(Bytes::copy_from_slice(key.as_ref())))
                .collect(),
        ))
    }
    .boxed_local()
}

/// Sends a slot change to the manager.
async fn change_slots(
    session: &Session,
    change: SlotChange,
    ranges: Vec<SlotRange>,
    then_error_opt: Option<CommandError>,
) -> CommandResult {
    let cluster = cluster_handle(session)?;
    cluster
        .request(|reply_tx| ClusterRequest::ChangeSlots {
            change,
            ranges,
            then_error_opt: then_error_opt.map(|error| error.to_string()),
            reply_tx,
        })
        .await??;
    Ok(Frame::ok())
}

/// `CLUSTER ADDSLOTS slot [slot ...]` and `CLUSTER DELSLOTS slot [slot ...]`:
/// every argument is parsed before any is checked.
fn slots_command(session: &mut Session, args: Vec<Bytes>, change: SlotChange) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        cluster_handle(session)?;
        let ranges = args[2..]
            .iter()
            .map(|arg| parse_slot(arg).map(|slot| SlotRange::new(slot, slot)))
            .collect::<Result<Vec<_>, _>>()?;
        change_slots(session, change, ranges, None).await
    }
    .boxed_local()
}

/// `CLUSTER ADDSLOTS slot [slot ...]`
fn cluster_addslots(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    slots_command(session, args, SlotChange::Add)
}

/// `CLUSTER DELSLOTS slot [slot ...]`
fn cluster_delslots(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    slots_command(session, args, SlotChange::Delete)
}

/// `CLUSTER ADDSLOTSRANGE start end [start end ...]` and DELSLOTSRANGE.
///
/// Redis checks each pair (parse, order, availability) before parsing the
/// next, so a bad pair only wins if every pair before it is acceptable: the
/// pairs before the first bad one travel with its error, and the manager
/// reports whichever comes first.
fn slot_ranges_command(
    session: &mut Session,
    args: Vec<Bytes>,
    change: SlotChange,
) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        cluster_handle(session)?;
        if args.len() % 2 == 1 {
            let name = match change {
                SlotChange::Add => "cluster|addslotsrange",
                SlotChange::Delete => "cluster|delslotsrange",
            };
            return Err(CommandError::WrongArity(name.to_string()));
        }
        let mut ranges = Vec::with_capacity((args.len() - 2) / 2);
        let mut then_error_opt = None;
        for pair in args[2..].chunks(2) {
            let parsed = parse_slot(&pair[0]).and_then(|start| {
                let end = parse_slot(&pair[1])?;
                if start > end {
                    return Err(CommandError::other(format!(
                        "ERR start slot number {start} is greater than end slot number {end}"
                    )));
                }
                Ok(SlotRange::new(start, end))
            });
            match parsed {
                Ok(range) => ranges.push(range),
                Err(error) => {
                    then_error_opt = Some(error);
                    break;
                }
            }
        }
        change_slots(session, change, ranges, then_error_opt).await
    }
    .boxed_local()
}

/// `CLUSTER ADDSLOTSRANGE start-slot end-slot [start-slot end-slot ...]`
fn cluster_addslotsrange(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    slot_ranges_command(session, args, SlotChange::Add)
}

/// `CLUSTER DELSLOTSRANGE start-slot end-slot [start-slot end-slot ...]`
fn cluster_delslotsrange(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    slot_ranges_command(session, args, SlotChange::Delete)
}

/// `CLUSTER FLUSHSLOTS`
fn cluster_flushslots(session: &mut Session, _args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        let cluster = cluster_handle(session)?;
        if key_count(session).await? != 0 {
            return Err(CommandError::other(
                "ERR DB must be empty to perform CLUSTER FLUSHSLOTS.",
            ));
        }
        cluster
            .request(|reply_tx| ClusterRequest::FlushSlots { reply_tx })
            .await?;
        Ok(Frame::ok())
    }
    .boxed_local()
}

/// Parses `CLUSTER MEET ip port [cport]` into the gossip address to meet,
/// with Redis's checks and texts (an IP address, not a hostname; ports in
/// 1..=65535; the bus port defaults to port + 10000).
fn parse_meet(args: &[Bytes]) -> Result<SocketAddr, CommandError> {
    let port = parse_i64(&args[3])
        .ok_or_else(|| CommandError::other(format!("ERR Invalid base port specified: {}", text(&args[3]))))?;
    let cluster_port = match args.get(4) {
        Some(arg) => parse_i64(arg)
            .ok_or_else(|| CommandError::other(format!("ERR Invalid bus port specified: {}", text(arg))))?,
        None => port.saturating_add(10_000),
    };
    let ip_opt = std::str::from_utf8(&args[2])
        .ok()
        .and_then(|ip| ip.parse::<IpAddr>().ok());
    let valid_port = |port: i64| (1..=u16::MAX as i64).contains(&port);
    match ip_opt {
        Some(ip) if valid_port(port) && valid_port(cluster_port) => Ok(SocketAddr::new(ip, cluster_port as u16)),
        _ => Err(CommandError::other(format!(
            "ERR Invalid node address specified: {}:{}",
            text(&args[2]),
            text(&args[3])
        ))),
    }
}

/// `CLUSTER MEET ip port [cluster-bus-port]`: joins through gossip with the
/// node whose gossip (bus) port that is.
fn cluster_meet(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        let cluster = cluster_handle(session)?;
        let gossip_address = parse_meet(&args)?;
        cluster
            .request(|reply_tx| ClusterRequest::Meet {
                gossip_address,
                reply_tx,
            })
            .await?;
        Ok(Frame::ok())
    }
    .boxed_local()
}

/// `CLUSTER FORGET node-id`
fn cluster_forget(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        let cluster = cluster_handle(session)?;
        let Ok(node) = NodeId::parse(&args[2]) else {
            return Err(ClusterCommandError::UnknownNode(text(&args[2])).into());
        };
        cluster
            .request(|reply_tx| ClusterRequest::Forget { node, reply_tx })
            .await??;
        Ok(Frame::ok())
    }
    .boxed_local()
}

/// `CLUSTER RESET [HARD | SOFT]`
fn cluster_reset(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        let cluster = cluster_handle(session)?;
        let hard = match args.get(2) {
            None => false,
            Some(mode) if is_keyword(mode, "HARD") => true,
            Some(mode) if is_keyword(mode, "SOFT") => false,
            Some(_) => return Err(CommandError::Syntax),
        };
        if args.len() > 3 {
            return Err(CommandError::Syntax);
        }
        if key_count(session).await? != 0 {
            return Err(CommandError::other(
                "ERR CLUSTER RESET can't be called with master nodes containing keys",
            ));
        }
        cluster
            .request(|reply_tx| ClusterRequest::Reset { hard, reply_tx })
            .await?;
        Ok(Frame::ok())
    }
    .boxed_local()
}

/// `CLUSTER SET-CONFIG-EPOCH config-epoch`
fn cluster_set_config_epoch(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        let cluster = cluster_handle(session)?;
        let epoch = parse_i64(&args[2]).ok_or(CommandError::NotInteger)?;
        cluster
            .request(|reply_tx| ClusterRequest::SetConfigEpoch { epoch, reply_tx })
            .await??;
        Ok(Frame::ok())
    }
    .boxed_local()
}

/// `CLUSTER BUMPEPOCH`: `BUMPED <epoch>` or `STILL <epoch>`.
fn cluster_bumpepoch(session: &mut Session, _args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        let cluster = cluster_handle(session)?;
        let (bumped, config_epoch) = cluster
            .request(|reply_tx| ClusterRequest::BumpEpoch { reply_tx })
            .await?;
        let word = if bumped { "BUMPED" } else { "STILL" };
        Ok(Frame::SimpleString(Bytes::from(format!("{word} {config_epoch}"))))
    }
    .boxed_local()
}

/// `CLUSTER SETSLOT slot IMPORTING node-id | MIGRATING node-id | NODE node-id | STABLE`
///
/// Parsed here (slot, then action and argument count, with Redis's texts);
/// NODE first counts the slot's keys on its shard, since a node that still
/// holds keys of a slot must not give it away; the manager then checks and
/// applies the rest (`ClusterManager::set_slot`).
fn cluster_setslot(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        let cluster = cluster_handle(session)?;
        let slot = parse_slot(&args[2])?;
        let action = match (args.len(), &args[3]) {
            (5, word) if is_keyword(word, "MIGRATING") => SetSlotAction::Migrating(args[4].clone()),
            (5, word) if is_keyword(word, "IMPORTING") => SetSlotAction::Importing(args[4].clone()),
            (5, word) if is_keyword(word, "NODE") => SetSlotAction::Node(args[4].clone()),
            (4, word) if is_keyword(word, "STABLE") => SetSlotAction::Stable,
            _ => {
                return Err(CommandError::other(
                    "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP",
                ))
            }
        };
        let keys_in_slot = match action {
            SetSlotAction::Node(_) => {
                let shard = session.router.shard_of_slot(slot);
                session
                    .router
                    .run(shard, move |core| core.keyspace.slot_len(slot))
                    .await?
            }
            _ => 0,
        };
        cluster
            .request(|reply_tx| ClusterRequest::SetSlot {
                slot,
                action,
                keys_in_slot,
                reply_tx,
            })
            .await??;
        Ok(Frame::ok())
    }
    .boxed_local()
}

/// `CLUSTER SAVECONFIG`
fn cluster_saveconfig(session: &mut Session, _args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        let cluster = cluster_handle(session)?;
        cluster
            .request(|reply_tx| ClusterRequest::SaveConfig { reply_tx })
            .await??;
        Ok(Frame::ok())
    }
    .boxed_local()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::args::test_args as args;

    #[test]
    fn slots_are_parsed_like_redis() {
        assert_eq!(parse_slot(b"0"), Ok(0));
        assert_eq!(parse_slot(b"16383"), Ok(16383));
        for bad in [&b"16384"[..], b"-1", b"x", b"01", b""] {
            assert_eq!(
                parse_slot(bad).unwrap_err().to_string(),
                "ERR Invalid or out of range slot"
            );
        }
    }

    #[test]
    fn meet_arguments_follow_redis() {
        assert_eq!(
            parse_meet(&args(&["CLUSTER", "MEET", "127.0.0.1", "7000"])),
            Ok("127.0.0.1:17000".parse().unwrap())
        );
        assert_eq!(
            parse_meet(&args(&["CLUSTER", "MEET", "::1", "7000", "7946"])),
            Ok("[::1]:7946".parse().unwrap())
        );
        let error = |words: &[&str]| parse_meet(&args(words)).unwrap_err().to_string();
        assert_eq!(
            error(&["CLUSTER", "MEET", "127.0.0.1", "x"]),
            "ERR Invalid base port specified: x"
        );
        assert_eq!(
            error(&["CLUSTER", "MEET", "127.0.0.1", "1", "y"]),
            "ERR Invalid bus port specified: y"
        );
        assert_eq!(
            error(&["CLUSTER", "MEET", "nohost", "1"]),
            "ERR Invalid node address specified: nohost:1"
        );
        assert_eq!(
            error(&["CLUSTER", "MEET", "127.0.0.1", "99999"]),
            "ERR Invalid node address specified: 127.0.0.1:99999"
        );
        assert_eq!(
            error(&["CLUSTER", "MEET", "127.0.0.1", "60000"]),
            "ERR Invalid node address specified: 127.0.0.1:60000",
            "the default bus port would be out of range"
        );
    }
}
