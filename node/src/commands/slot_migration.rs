//! Native slot migration commands (Valkey 9's names), and the internal
//! command that carries the migration link (see `crate::migration`).

use bytes::Bytes;
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use starling_cluster::{NodeId, Role, SlotSet, SLOT_COUNT};
use starling_protocol::Frame;

use super::args::{is_keyword, parse_i64, text};
use super::error::{CommandError, CommandResult};
use super::table::{CommandSpec, Flags, Handler};
use crate::cluster::ClusterHandle;
use crate::connection::session::Session;
use crate::migration::link::{self, LinkRequest, LINK_COMMAND};
use crate::migration::{incoming, outgoing, Operation};
use crate::shard::ShardRouter;

pub fn commands() -> Vec<CommandSpec> {
    vec![CommandSpec::new(LINK_COMMAND, 2, Handler::Async(starling_migrate))
        .flags(Flags::ADMIN | Flags::STALE | Flags::NO_MULTI)
        .acl(&["@admin", "@slow", "@dangerous"])
        .doc(
            "cluster",
            "7.2.0",
            "Internal: carries a native slot migration from its source node to its target node.",
        )]
}

fn cluster_of(session: &Session) -> Result<std::sync::Arc<ClusterHandle>, CommandError> {
    session
        .server
        .cluster
        .clone()
        .ok_or_else(|| CommandError::other("ERR This instance has cluster support disabled"))
}

/// One job of a MIGRATESLOTS command: the slots and where they go.
struct Job {
    slots: SlotSet,
    target: NodeId,
}

/// `CLUSTER MIGRATESLOTS SLOTSRANGE start-slot end-slot [start-slot end-slot ...] NODE node-id
/// [SLOTSRANGE ... NODE node-id ...]`
///
/// Starts one migration per `SLOTSRANGE ... NODE` block and replies OK, or
/// starts none and replies the first error.
pub fn cluster_migrateslots(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        let cluster = cluster_of(session)?;
        let jobs = parse_jobs(&args[2..])?;
        check_jobs(session, &cluster, &jobs)?;
        for job in jobs {
            let snapshot = cluster.snapshot();
            let myself = snapshot.view.myself;
            let address = outgoing::client_address(&cluster, job.target)
                .ok_or_else(|| CommandError::other(format!("ERR Unknown node {}", job.target.as_str())))?;
            let name = NodeId::random().as_str().to_string();
            let record = session
                .server
                .migrations
                .register(name, Operation::Export, job.slots, myself, job.target);
            let router = ShardRouter::for_current_thread(session.server.shards.clone());
            let config = session.server.config.clone();
            tokio::task::spawn_local(outgoing::run(
                std::sync::Arc::clone(&cluster),
                config,
                router,
                record,
                address,
            ));
        }
        Ok(Frame::ok())
    }
    .boxed_local()
}

fn parse_jobs(args: &[Bytes]) -> Result<Vec<Job>, CommandError> {
    let syntax = || CommandError::other("ERR syntax error");
    let mut jobs = Vec::new();
    let mut index = 0;
    while index < args.len() {
        if !is_keyword(&args[index], "slotsrange") {
            return Err(syntax());
        }
        index += 1;
        let mut slots = SlotSet::new();
        while index + 1 < args.len() && !is_keyword(&args[index], "node") {
            let start = parse_slot(&args[index])?;
            let end = parse_slot(&args[index + 1])?;
            if start > end {
                return Err(CommandError::other(format!(
                    "ERR start slot number {start} is greater than end slot number {end}"
                )));
            }
            for slot in start..=end {
                if !slots.insert(slot) {
                    return Err(CommandError::other(format!("ERR Slot {slot} specified multiple times")));
                }
            }
            index += 2;
        }
        if slots.is_empty() || index + 1 >= args.len() || !is_keyword(&args[index], "node") {
            return Err(syntax());
        }
        let target = NodeId::parse(&args[index + 1])
            .map_err(|_| CommandError::other(format!("ERR Unknown node {}", text(&args[index + 1]))))?;
        jobs.push(Job { slots, target });
        index += 2;
    }
    if jobs.is_empty() {
        return Err(syntax());
    }
    Ok(jobs)
}

fn parse_slot(arg: &[u8]) -> Result<u16, CommandError> {
    parse_i64(arg)
        .and_then(|slot| u16::try_from(slot).ok())
        .filter(|&slot| slot < SLOT_COUNT)
        .ok_or_else(|| CommandError::other("ERR Invalid or out of range slot"))
}

/// Every slot must be this node's and not already moving; every target a
/// known, healthy primary other than this node.
fn check_jobs(session: &Session, cluster: &ClusterHandle, jobs: &[Job]) -> Result<(), CommandError> {
    let snapshot = cluster.snapshot();
    let myself = snapshot.view.myself;
    let moving = session.server.migrations.exporting_slots();
    let mut seen = SlotSet::new();
    for job in jobs {
        if job.target == myself {
            return Err(CommandError::other("ERR Can't migrate slots to myself"));
        }
        let Some(target) = snapshot.view.nodes.iter().find(|node| node.id == job.target) else {
            return Err(CommandError::other(format!("ERR Unknown node {}", job.target.as_str())));
        };
        if target.role != Role::Primary || crate::cluster::routing::is_failed(target) {
            return Err(CommandError::other(format!(
                "ERR Target node {} is not a healthy primary",
                job.target.as_str()
            )));
        }
        for slot in job.slots.iter() {
            if snapshot.slot_map().owner(slot).map(|owner| owner.node) != Some(myself) {
                return Err(CommandError::other(format!(
                    "ERR I'm not the owner of hash slot {slot}"
                )));
            }
            if moving.contains(slot) || !seen.insert(slot) || snapshot.marks.migrating_to(slot).is_some() {
                return Err(CommandError::other(format!(
                    "ERR Slot {slot} is already being migrated"
                )));
            }
        }
    }
    Ok(())
}

/// `CLUSTER GETSLOTMIGRATIONS`
pub fn cluster_getslotmigrations(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    cluster_of(session)?;
    let entries = session
        .server
        .migrations
        .all()
        .iter()
        .map(|record| record.to_frame())
        .collect();
    Ok(Frame::Array(entries))
}

/// `CLUSTER CANCELSLOTMIGRATIONS`: stops every export this node runs; each
/// ends as `cancelled` unless its handoff had already passed the point of
/// no return (then it completes).
pub fn cluster_cancelslotmigrations(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    cluster_of(session)?;
    session.server.migrations.cancel_all();
    Ok(Frame::ok())
}

/// `STARLING.MIGRATE payload`: one link request from a migration's source.
fn starling_migrate(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        let request: LinkRequest =
            link::decode(&args[1]).map_err(|error| CommandError::other(format!("ERR {error}")))?;
        let reply = incoming::handle(session, request).await;
        Ok(Frame::bulk(link::encode(&reply)))
    }
    .boxed_local()
}
