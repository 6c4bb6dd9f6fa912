//! The blocking commands of lists and sorted sets: BLPOP, BRPOP, BLMPOP,
//! BLMOVE, BRPOPLPUSH, BZPOPMIN, BZPOPMAX and BZMPOP. This is the
//! connection's side of the protocol that `shard/blocking.rs` describes.
//!
//! Each command parses its arguments (the timeout last, except where Redis
//! parses it first), then:
//! 1. tries to pop without blocking, key by key in order, as Redis does: the
//!    first key with data serves the command, a key of another type gives
//!    WRONGTYPE; BLMOVE runs a plain LMOVE, atomic even across shards;
//! 2. otherwise registers a waiter on every shard that owns one of its keys
//!    (the registration re-checks the keys, so no push is missed);
//! 3. waits for the first of: the reply from a shard, the timeout, the peer
//!    disconnecting, CLIENT UNBLOCK, CLIENT KILL;
//! 4. removes the waiter from every shard that did not serve it.
//!
//! Replies on timeout (and CLIENT UNBLOCK TIMEOUT): a null array (`*-1` in
//! RESP2), for every blocking command, BLMOVE included, as Redis 7.2 does.
//! CLIENT UNBLOCK ERROR: `-UNBLOCKED client unblocked via CLIENT UNBLOCK`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::{join_all, LocalBoxFuture};
use starling_protocol::Frame;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{numkeys_positions, parse_end, MultiPop};
use crate::commands::args::{is_keyword, parse_f64};
use crate::commands::error::{CommandError, CommandResult};
use crate::commands::staged::run_staged;
use crate::commands::table::{CommandSpec, Flags, Handler, COMMAND_TABLE};
use crate::connection::client::{ClientHandle, UnblockMode};
use crate::connection::session::Session;
use crate::keyspace::list::ListEnd;
use crate::shard::blocking::{BlockedOperation, Served, ServedBy, Waiter};
use crate::shard::{unix_time_ms, ShardCommand, ShardRouter};

pub(super) fn commands() -> Vec<CommandSpec> {
    const LIST_ACL: &[&str] = &["@write", "@list", "@slow", "@blocking"];
    const SORTED_SET_FAST_ACL: &[&str] = &["@write", "@sortedset", "@fast", "@blocking"];
    const SORTED_SET_SLOW_ACL: &[&str] = &["@write", "@sortedset", "@slow", "@blocking"];
    vec![
        CommandSpec::new("blpop", -3, Handler::Async(blpop))
            .flags(Flags::WRITE | Flags::NOSCRIPT | Flags::BLOCKING)
            .keys(1, -2, 1)
            .acl(LIST_ACL)
            .doc(
                "list",
                "2.0.0",
                "Removes and returns the first element in a list. Blocks until an element is available otherwise. \
                 Deletes the list if the last element was popped.",
            ),
        CommandSpec::new("brpop", -3, Handler::Async(brpop))
            .flags(Flags::WRITE | Flags::NOSCRIPT | Flags::BLOCKING)
            .keys(1, -2, 1)
            .acl(LIST_ACL)
            .doc(
                "list",
                "2.0.0",
                "Removes and returns the last element in a list. Blocks until an element is available otherwise. \
                 Deletes the list if the last element was popped.",
            ),
        CommandSpec::new("blmove", 6, Handler::Async(blmove))
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::NOSCRIPT | Flags::BLOCKING)
            .keys(1, 2, 1)
            .acl(LIST_ACL)
            .doc(
                "list",
                "6.2.0",
                "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is \
                 available otherwise. Deletes the list if the last element was moved.",
            ),
        CommandSpec::new("brpoplpush", 4, Handler::Async(brpoplpush))
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::NOSCRIPT | Flags::BLOCKING)
            .keys(1, 2, 1)
            .acl(LIST_ACL)
            .doc(
                "list",
                "2.2.0",
                "Pops an element from a list, pushes it to another list and returns it. Block until an element is \
                 available otherwise. Deletes the list if the last element was popped.",
            ),
        CommandSpec::new("blmpop", -5, Handler::Async(blmpop))
            .flags(Flags::WRITE | Flags::BLOCKING)
            .key_finder(blmpop_keys)
            .acl(LIST_ACL)
            .doc(
                "list",
                "7.0.0",
                "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. \
                 Deletes the list if the last element was popped.",
            ),
        CommandSpec::new("bzpopmin", -3, Handler::Async(bzpopmin))
            .flags(Flags::WRITE | Flags::NOSCRIPT | Flags::BLOCKING | Flags::FAST)
            .keys(1, -2, 1)
            .acl(SORTED_SET_FAST_ACL)
            .doc(
                "sorted-set",
                "5.0.0",
                "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a \
                 member is available otherwise. Deletes the sorted set if the last element was popped.",
            ),
        CommandSpec::new("bzpopmax", -3, Handler::Async(bzpopmax))
            .flags(Flags::WRITE | Flags::NOSCRIPT | Flags::BLOCKING | Flags::FAST)
            .keys(1, -2, 1)
            .acl(SORTED_SET_FAST_ACL)
            .doc(
                "sorted-set",
                "5.0.0",
                "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a \
                 member available otherwise.  Deletes the sorted set if the last element was popped.",
            ),
        CommandSpec::new("bzmpop", -5, Handler::Async(bzmpop))
            .flags(Flags::WRITE | Flags::BLOCKING)
            .key_finder(blmpop_keys)
            .acl(SORTED_SET_SLOW_ACL)
            .doc(
                "sorted-set",
                "7.0.0",
                "Removes and returns a member by score from one or more sorted sets. Blocks until a member is \
                 available otherwise. Deletes the sorted set if the last element was popped.",
            ),
    ]
}

/// Key positions of `BLMPOP timeout numkeys key [key ...] ...` (and BZMPOP).
fn blmpop_keys(args: &[Bytes]) -> Vec<usize> {
    numkeys_positions(args, 2)
}

/// The reply of CLIENT UNBLOCK ... ERROR.
const UNBLOCKED_ERROR: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";

/// Redis's `getTimeoutFromObjectOrReply` in seconds: a float, rounded up to
/// whole milliseconds. None means wait forever (a timeout of 0).
fn parse_timeout(arg: &[u8]) -> Result<Option<Duration>, CommandError> {
    let seconds = parse_f64(arg).ok_or_else(|| CommandError::other("ERR timeout is not a float or out of range"))?;
    let milliseconds = seconds * 1000.0;
    if milliseconds > i64::MAX as f64 {
        return Err(CommandError::other("ERR timeout is out of range"));
    }
    // `as` saturates: -inf becomes i64::MIN, as C's conversion does on x86.
    let milliseconds = milliseconds.ceil() as i64;
    if milliseconds < 0 {
        return Err(CommandError::other("ERR timeout is negative"));
    }
    if milliseconds == 0 {
        return Ok(None);
    }
    if milliseconds > i64::MAX - unix_time_ms() as i64 {
        return Err(CommandError::other("ERR timeout is out of range"));
    }
    Ok(Some(Duration::from_millis(milliseconds as u64)))
}

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

/// `BLPOP key [key ...] timeout`
fn blpop(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(blocking_pop_last_timeout(session, args, pop_one(ListEnd::Left)))
}

/// `BRPOP key [key ...] timeout`
fn brpop(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(blocking_pop_last_timeout(session, args, pop_one(ListEnd::Right)))
}

/// `BZPOPMIN key [key ...] timeout`
fn bzpopmin(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    let operation = BlockedOperation::SortedSetPop {
        pop_max: false,
        count_opt: None,
    };
    Box::pin(blocking_pop_last_timeout(session, args, operation))
}

/// `BZPOPMAX key [key ...] timeout`
fn bzpopmax(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    let operation = BlockedOperation::SortedSetPop {
        pop_max: true,
        count_opt: None,
    };
    Box::pin(blocking_pop_last_timeout(session, args, operation))
}

fn pop_one(end: ListEnd) -> BlockedOperation {
    BlockedOperation::ListPop { end, count_opt: None }
}

/// BLPOP, BRPOP, BZPOPMIN, BZPOPMAX: keys, then the timeout.
async fn blocking_pop_last_timeout(
    session: &mut Session,
    args: Vec<Bytes>,
    operation: BlockedOperation,
) -> CommandResult {
    let timeout_opt = parse_timeout(&args[args.len() - 1])?;
    let keys = args[1..args.len() - 1].to_vec();
    pop_or_block(session, keys, operation, timeout_opt).await
}

/// `BLMPOP timeout numkeys key [key ...] <LEFT | RIGHT> [COUNT count]`
fn blmpop(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(async move {
        let parsed = MultiPop::parse(&args, 2)?;
        let end = parse_end(parsed.end_arg)?;
        let operation = BlockedOperation::ListPop {
            end,
            count_opt: Some(parsed.count),
        };
        let keys = parsed.keys.to_vec();
        let timeout_opt = parse_timeout(&args[1])?;
        pop_or_block(session, keys, operation, timeout_opt).await
    })
}

/// `BZMPOP timeout numkeys key [key ...] <MIN | MAX> [COUNT count]`
fn bzmpop(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(async move {
        let parsed = MultiPop::parse(&args, 2)?;
        let pop_max = if is_keyword(parsed.end_arg, "MIN") {
            false
        } else if is_keyword(parsed.end_arg, "MAX") {
            true
        } else {
            return Err(CommandError::Syntax);
        };
        let operation = BlockedOperation::SortedSetPop {
            pop_max,
            count_opt: Some(parsed.count),
        };
        let keys = parsed.keys.to_vec();
        let timeout_opt = parse_timeout(&args[1])?;
        pop_or_block(session, keys, operation, timeout_opt).await
    })
}

/// `BLMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout`
fn blmove(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(async move {
        let from = parse_end(&args[3])?;
        let to = parse_end(&args[4])?;
        let timeout_opt = parse_timeout(&args[5])?;
        move_or_block(session, args[1].clone(), args[2].clone(), from, to, timeout_opt).await
    })
}

/// `BRPOPLPUSH source destination timeout`
fn brpoplpush(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    Box::pin(async move {
        let timeout_opt = parse_timeout(&args[3])?;
        let (source, destination) = (args[1].clone(), args[2].clone());
        move_or_block(session, source, destination, ListEnd::Right, ListEnd::Left, timeout_opt).await
    })
}

// ---------------------------------------------------------------------------
// Attempt, then block
// ---------------------------------------------------------------------------

/// Pops from the first of `keys` that has data, or blocks until one has.
async fn pop_or_block(
    session: &mut Session,
    keys: Vec<Bytes>,
    operation: BlockedOperation,
    timeout_opt: Option<Duration>,
) -> CommandResult {
    if let Some(reply) = attempt_in_order(&session.router, &keys, &operation).await? {
        return Ok(reply);
    }
    match block_until_served(session, keys, operation, timeout_opt).await? {
        Served::Reply(reply) => Ok(reply),
        Served::SourceReady => unreachable!("only moves across shards are handed back"),
    }
}

/// The non-blocking attempt: keys in order, each run of consecutive keys on
/// one shard in one job.
async fn attempt_in_order(
    router: &ShardRouter,
    keys: &[Bytes],
    operation: &BlockedOperation,
) -> Result<Option<Frame>, CommandError> {
    let mut start = 0;
    while start < keys.len() {
        let shard = router.shard_of_key(&keys[start]);
        let mut end = start + 1;
        while end < keys.len() && router.shard_of_key(&keys[end]) == shard {
            end += 1;
        }
        let run = keys[start..end].to_vec();
        let operation = operation.clone();
        let served_opt = router
            .run(shard, move |core| {
                for key in &run {
                    if let Some(served) = operation.attempt(core, key)? {
                        return Ok(Some(served));
                    }
                }
                Ok::<_, CommandError>(None)
            })
            .await??;
        match served_opt {
            Some(Served::Reply(reply)) => return Ok(Some(reply)),
            Some(Served::SourceReady) => unreachable!("moves are attempted as LMOVE"),
            None => start = end,
        }
    }
    Ok(None)
}

/// BLMOVE and BRPOPLPUSH: a plain LMOVE first (atomic, staged across shards
/// when needed), then blocking on the source. A source shard that cannot
/// move the element itself (the destination is on another shard) wakes the
/// command, which runs the LMOVE again; if another client emptied the source
/// in between, the command blocks again for the rest of its timeout.
async fn move_or_block(
    session: &mut Session,
    source: Bytes,
    destination: Bytes,
    from: ListEnd,
    to: ListEnd,
    timeout_opt: Option<Duration>,
) -> CommandResult {
    let end_keyword = |end: ListEnd| match end {
        ListEnd::Left => Bytes::from_static(b"LEFT"),
        ListEnd::Right => Bytes::from_static(b"RIGHT"),
    };
    let lmove_args = vec![
        Bytes::from_static(b"LMOVE"),
        source.clone(),
        destination.clone(),
        end_keyword(from),
        end_keyword(to),
    ];
    let deadline_opt = timeout_opt.and_then(|timeout| Instant::now().checked_add(timeout));
    let mut woken = false;
    loop {
        let reply = run_lmove(session, lmove_args.clone()).await;
        if woken && !matches!(reply, Ok(Frame::BulkString(_))) {
            // The source shard kept its element for this command, which did
            // not take it: let the key's next waiter have it.
            let key = source.clone();
            let shard = session.router.shard_of_key(&key);
            session
                .router
                .run(shard, move |core| core.signal_keys_written([&key[..]]))
                .await?;
        }
        let reply = reply?;
        if reply != Frame::Null {
            return Ok(reply);
        }
        let remaining_opt = match deadline_opt {
            Some(deadline) if woken && deadline <= Instant::now() => return Ok(Frame::NullArray),
            Some(deadline) => Some(deadline.saturating_duration_since(Instant::now())),
            None => None,
        };
        let operation = BlockedOperation::ListMove {
            from,
            to,
            destination: destination.clone(),
        };
        match block_until_served(session, vec![source.clone()], operation, remaining_opt).await? {
            Served::Reply(reply) => return Ok(reply),
            Served::SourceReady => woken = true,
        }
    }
}

/// Runs LMOVE as the pipeline would: on the shard owning both keys, or
/// staged across the two shards.
async fn run_lmove(session: &mut Session, args: Vec<Bytes>) -> CommandResult {
    let spec = COMMAND_TABLE.get(b"lmove").expect("LMOVE is registered");
    let source_shard = session.router.shard_of_key(&args[1]);
    if source_shard != session.router.shard_of_key(&args[2]) {
        return run_staged(session, spec, args).await;
    }
    let mut replies = session
        .router
        .execute(
            source_shard,
            vec![ShardCommand {
                spec,
                args,
                slot_context_opt: None,
            }],
        )
        .await;
    Ok(replies.pop().expect("one reply per command"))
}

// ---------------------------------------------------------------------------
// Blocking
// ---------------------------------------------------------------------------

/// Why a wait ended without a reply from a shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Interruption {
    Timeout,
    Unblocked(UnblockMode),
    Disconnected,
    Killed,
}

/// Registers a waiter for `keys` and waits (protocol steps 2 to 5). An
/// interrupted wait is served its reply here.
async fn block_until_served(
    session: &mut Session,
    keys: Vec<Bytes>,
    operation: BlockedOperation,
    timeout_opt: Option<Duration>,
) -> Result<Served, CommandError> {
    // Inside EXEC nothing else can push: reply as on timeout, as Redis does.
    if session.router.runs_in_hold() {
        return Ok(Served::Reply(Frame::NullArray));
    }
    let deadline_opt = timeout_opt.and_then(|timeout| Instant::now().checked_add(timeout));
    let (waiter, mut reply_rx) = Waiter::new(keys, operation);
    let registration = Registration::new(session, waiter);
    let served_opt = match registration.register().await? {
        Some(served) => Some(served),
        None => match wait(&session.client, &mut reply_rx, deadline_opt).await {
            Ok(served) => Some(served),
            Err(interruption) if registration.waiter.try_claim() => {
                registration.finish(None).await;
                return interrupted_reply(&session.client, interruption).map(Served::Reply);
            }
            // A shard claimed the waiter first: its reply is on the way.
            Err(_) => Some(reply_rx.await.map_err(|_| shard_gone())?),
        },
    };
    let served = served_opt.expect("served or returned above");
    registration.finish(Some(served.shard)).await;
    Ok(served.served)
}

fn shard_gone() -> CommandError {
    CommandError::other("ERR shard unavailable (server shutting down)")
}

/// Waits for the reply or the first interruption.
async fn wait(
    client: &ClientHandle,
    reply_rx: &mut oneshot::Receiver<ServedBy>,
    deadline_opt: Option<Instant>,
) -> Result<ServedBy, Interruption> {
    let timeout = async {
        match deadline_opt {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        served = reply_rx => served.map_err(|_| Interruption::Disconnected),
        () = timeout => Err(Interruption::Timeout),
        mode = client.unblock_requested() => Err(Interruption::Unblocked(mode)),
        () = client.disconnected() => Err(Interruption::Disconnected),
        () = client.kill.notified() => Err(Interruption::Killed),
    }
}

fn interrupted_reply(client: &ClientHandle, interruption: Interruption) -> CommandResult {
    match interruption {
        Interruption::Timeout | Interruption::Unblocked(UnblockMode::Timeout) | Interruption::Disconnected => {
            Ok(Frame::NullArray)
        }
        Interruption::Unblocked(UnblockMode::Error) => Err(CommandError::other(UNBLOCKED_ERROR)),
        Interruption::Killed => {
            // The wait consumed the kill notification: put it back, so the
            // connection closes at its next read.
            client.request_kill();
            Ok(Frame::NullArray)
        }
    }
}

/// A waiter's registrations, and the client's blocked state, for the length
/// of one blocking command.
struct Registration {
    router: ShardRouter,
    client: Arc<ClientHandle>,
    waiter: Arc<Waiter>,
    /// Every shard that owns one of the waiter's keys, ascending.
    shards: Vec<usize>,
    finished: bool,
}

impl Registration {
    fn new(session: &Session, waiter: Arc<Waiter>) -> Registration {
        let mut shards: Vec<usize> = waiter
            .keys()
            .iter()
            .map(|key| session.router.shard_of_key(key))
            .collect();
        shards.sort_unstable();
        shards.dedup();
        session.client.begin_blocking();
        Registration {
            router: session.router.clone(),
            client: session.client.clone(),
            waiter,
            shards,
            finished: false,
        }
    }

    /// Registers on every shard at once; returns what a shard served if one
    /// of the keys had data by then.
    async fn register(&self) -> Result<Option<ServedBy>, CommandError> {
        let jobs = self.shards.iter().map(|&shard| {
            let waiter = self.waiter.clone();
            async move {
                let served_opt = self
                    .router
                    .run(shard, move |core| core.register_waiter(&waiter))
                    .await?;
                Ok::<_, CommandError>(served_opt.map(|served| ServedBy { served, shard }))
            }
        });
        let mut served_opt = None;
        for result in join_all(jobs).await {
            if let Some(served) = result? {
                assert!(served_opt.is_none(), "a waiter is served once");
                served_opt = Some(served);
            }
        }
        Ok(served_opt)
    }

    /// Removes the waiter from every shard but the one that served it (which
    /// removed it from its own keys), and ends the blocked state.
    async fn finish(mut self, served_shard_opt: Option<usize>) {
        let removals = self
            .shards
            .iter()
            .filter(|&&shard| Some(shard) != served_shard_opt)
            .map(|&shard| {
                let waiter = self.waiter.clone();
                self.router.run(shard, move |core| core.deregister_waiter(&waiter))
            });
        // A shard that is gone (shutdown) has no registry left to clean.
        let _ = join_all(removals).await;
        self.finished = true;
        self.client.end_blocking();
    }
}

impl Drop for Registration {
    /// Only when the command's future is dropped mid-wait (the connection's
    /// task torn down at shutdown): claiming the waiter makes every shard
    /// drop it the next time it looks at its keys, and no shard pops for it.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        self.waiter.try_claim();
        self.client.end_blocking();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_follow_redis() {
        assert_eq!(parse_timeout(b"0").unwrap(), None);
        assert_eq!(parse_timeout(b"0.0").unwrap(), None);
        assert_eq!(parse_timeout(b"1").unwrap(), Some(Duration::from_secs(1)));
        assert_eq!(parse_timeout(b"0.05").unwrap(), Some(Duration::from_millis(50)));
        // Rounded up to the millisecond.
        assert_eq!(parse_timeout(b"0.0001").unwrap(), Some(Duration::from_millis(1)));
        // Rounds up to 0: wait forever, as Redis does.
        assert_eq!(parse_timeout(b"-0.0001").unwrap(), None);
        let error = |arg: &[u8]| parse_timeout(arg).unwrap_err().to_string();
        assert_eq!(error(b"abc"), "ERR timeout is not a float or out of range");
        assert_eq!(error(b" 1"), "ERR timeout is not a float or out of range");
        assert_eq!(error(b"nan"), "ERR timeout is not a float or out of range");
        assert_eq!(error(b"-1"), "ERR timeout is negative");
        assert_eq!(error(b"-inf"), "ERR timeout is negative");
        assert_eq!(error(b"inf"), "ERR timeout is out of range");
        assert_eq!(error(b"1e300"), "ERR timeout is out of range");
        assert_eq!(error(b"9223372036854775"), "ERR timeout is out of range");
    }
}
