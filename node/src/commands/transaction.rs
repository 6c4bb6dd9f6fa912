//! Transactions: MULTI, EXEC, DISCARD (no WATCH yet).
//!
//! After MULTI the pipeline queues every command instead of running it
//! (`+QUEUED`), except MULTI, EXEC, DISCARD, QUIT and RESET. A command that
//! cannot be queued (unknown, wrong arity, not allowed in a transaction, or
//! in cluster mode redirected) is answered with its error and dooms the
//! transaction: EXEC then replies `EXECABORT` and runs nothing, as in Redis.
//!
//! EXEC holds every shard (`ShardRouter::hold`, ascending order like any
//! cross-shard command) and runs the queued commands through the ordinary
//! pipeline while the router sends all shard work through that hold, so no
//! other client's command runs between them: the isolation Redis gets from
//! its single thread. Blocking commands do not block inside EXEC (they reply
//! as on timeout), as in Redis. In cluster mode every queued key must hash
//! to one slot served here, checked again at EXEC: `CROSSSLOT`, or the
//! redirect, discards the transaction. ASKING before MULTI lasts for the
//! whole transaction, as in Redis.

use std::rc::Rc;

use bytes::Bytes;
use futures::future::LocalBoxFuture;
use starling_protocol::Frame;

use super::error::{CommandError, CommandResult};
use super::table::{CommandSpec, Flags, Handler, COMMAND_TABLE};
use crate::cluster::routing::Redirect;
use crate::connection::pipeline;
use crate::connection::session::Session;

pub(super) fn commands() -> Vec<CommandSpec> {
    let flags = Flags::NOSCRIPT | Flags::LOADING | Flags::STALE | Flags::FAST | Flags::ALLOW_BUSY;
    vec![
        CommandSpec::new("multi", 1, Handler::Session(multi))
            .flags(flags | Flags::NO_MULTI)
            .acl(&["@fast", "@transaction"])
            .doc("transactions", "1.2.0", "Starts a transaction."),
        CommandSpec::new("exec", 1, Handler::Async(exec))
            .flags(Flags::NOSCRIPT | Flags::LOADING | Flags::STALE | Flags::SKIP_SLOWLOG)
            .acl(&["@slow", "@transaction"])
            .doc("transactions", "1.2.0", "Executes all commands in a transaction."),
        CommandSpec::new("discard", 1, Handler::Session(discard))
            .flags(flags | Flags::NO_MULTI)
            .acl(&["@fast", "@transaction"])
            .doc("transactions", "2.0.0", "Discards a transaction."),
    ]
}

/// Whether the pipeline runs `spec` at once even inside MULTI.
pub fn runs_inside_multi(spec: &CommandSpec) -> bool {
    matches!(spec.name, "multi" | "exec" | "discard" | "quit" | "reset")
}

/// `MULTI`
fn multi(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    if session.transaction_opt.is_some() {
        return Err(CommandError::other("ERR MULTI calls can not be nested"));
    }
    session.begin_transaction();
    Ok(Frame::ok())
}

/// `DISCARD`
fn discard(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    match session.end_transaction() {
        Some(_) => Ok(Frame::ok()),
        None => Err(CommandError::other("ERR DISCARD without MULTI")),
    }
}

/// Cluster mode: the one slot every queued key hashes to must be served
/// here, now.
fn check_cluster_route(session: &Session, queued: &[Vec<Bytes>]) -> Result<(), Redirect> {
    let Some(cluster) = &session.server.cluster else {
        return Ok(());
    };
    let snapshot = cluster.snapshot();
    let mut slot_opt = None;
    for args in queued {
        let Ok(spec) = COMMAND_TABLE.resolve(args) else {
            continue;
        };
        if let Some(slot) = snapshot.route(spec, args)? {
            if slot_opt.is_some_and(|first| first != slot) {
                return Err(Redirect::CrossSlot);
            }
            slot_opt = Some(slot);
        }
    }
    Ok(())
}

/// `EXEC`
fn exec(session: &mut Session, _args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(async move {
        let Some(transaction) = session.end_transaction() else {
            return Err(CommandError::other("ERR EXEC without MULTI"));
        };
        if transaction.doomed {
            return Err(CommandError::other(
                "EXECABORT Transaction discarded because of previous errors.",
            ));
        }
        if let Err(redirect) = check_cluster_route(session, &transaction.queued) {
            return Ok(redirect.into());
        }
        let every_shard: Vec<usize> = (0..session.router.shard_count()).collect();
        let held = session.router.hold(&every_shard).await?;
        session.router.route_through(Some(Rc::new(held)));
        session.set_asking_for_transaction(transaction.asking);
        let replies = pipeline::execute_frames(session, transaction.queued).await;
        session.set_asking_for_transaction(false);
        session.router.route_through(None);
        Ok(Frame::Array(replies))
    })
}
