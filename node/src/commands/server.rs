//! Server commands: INFO, DBSIZE, FLUSHDB, FLUSHALL, COMMAND, CONFIG, TIME,
//! LASTSAVE, ROLE, SHUTDOWN, DEBUG, and (standalone only, for now) READONLY
//! and READWRITE.
//!
//! INFO lives in `server/info.rs`, CONFIG in `server/config.rs` and COMMAND
//! (which renders the command table) in `server/introspection.rs`.
//!
//! Commands that see every shard (DBSIZE, FLUSH*, INFO, CONFIG RESETSTAT)
//! are async: the pipeline runs them as barriers, after the commands queued
//! before them.

mod config;
pub(crate) mod info;
mod introspection;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use starling_protocol::Frame;

use super::args::{is_keyword, text};
use super::error::{CommandError, CommandResult};
use super::table::{CommandSpec, Flags, Handler};
use crate::connection::session::Session;
use crate::keyspace::Keyspace;

pub fn commands() -> Vec<CommandSpec> {
    let mut specs = vec![
        CommandSpec::new("info", -1, Handler::Async(info::info))
            .flags(Flags::LOADING | Flags::STALE)
            .acl(&["@slow", "@dangerous"])
            .doc(
                "server",
                "1.0.0",
                "Returns information and statistics about the server.",
            ),
        CommandSpec::new("dbsize", 1, Handler::Async(dbsize))
            .flags(Flags::READONLY | Flags::FAST)
            .acl(&["@keyspace", "@read", "@fast"])
            .doc("server", "1.0.0", "Returns the number of keys in the database."),
        CommandSpec::new("flushdb", -1, Handler::Async(flushdb))
            .flags(Flags::WRITE)
            .acl(&["@keyspace", "@write", "@slow", "@dangerous"])
            .doc("server", "1.0.0", "Remove all keys from the current database."),
        CommandSpec::new("flushall", -1, Handler::Async(flushall))
            .flags(Flags::WRITE)
            .acl(&["@keyspace", "@write", "@slow", "@dangerous"])
            .doc("server", "1.0.0", "Removes all keys from all databases."),
        CommandSpec::new("time", 1, Handler::Session(time))
            .flags(Flags::LOADING | Flags::STALE | Flags::FAST)
            .acl(&["@fast"])
            .doc("server", "2.6.0", "Returns the server time."),
        CommandSpec::new("lastsave", 1, Handler::Session(lastsave))
            .flags(Flags::LOADING | Flags::STALE | Flags::FAST)
            .acl(&["@admin", "@fast", "@dangerous"])
            .doc(
                "server",
                "1.0.0",
                "Returns the Unix timestamp of the last successful save to disk.",
            ),
        CommandSpec::new("role", 1, Handler::Session(role))
            .flags(Flags::NOSCRIPT | Flags::LOADING | Flags::STALE | Flags::FAST)
            .acl(&["@admin", "@fast", "@dangerous"])
            .doc("server", "2.8.12", "Returns the replication role."),
        CommandSpec::new("shutdown", -1, Handler::Async(shutdown))
            .flags(Flags::ADMIN | Flags::NOSCRIPT | Flags::LOADING | Flags::STALE | Flags::NO_MULTI | Flags::ALLOW_BUSY)
            .acl(&["@admin", "@slow", "@dangerous"])
            .doc(
                "server",
                "1.0.0",
                "Synchronously saves the database(s) to disk and shuts down the Redis server.",
            ),
        CommandSpec::new("debug", -2, Handler::Async(debug))
            .flags(Flags::ADMIN | Flags::NOSCRIPT | Flags::LOADING | Flags::STALE)
            .acl(&["@admin", "@slow", "@dangerous"])
            .doc("server", "1.0.0", "A container for debugging commands."),
        CommandSpec::new("readonly", 1, Handler::Session(readonly))
            .flags(Flags::LOADING | Flags::STALE | Flags::FAST)
            .acl(&["@fast", "@connection"])
            .doc(
                "cluster",
                "3.0.0",
                "Enables read-only queries for a connection to a Redis Cluster replica node.",
            ),
        CommandSpec::new("readwrite", 1, Handler::Session(readwrite))
            .flags(Flags::LOADING | Flags::STALE | Flags::FAST)
            .acl(&["@fast", "@connection"])
            .doc(
                "cluster",
                "3.0.0",
                "Enables read-write queries for a connection to a Redis Cluster replica node.",
            ),
    ];
    specs.push(config::command());
    specs.push(introspection::command());
    specs
}

/// The reply of every `<COMMAND> HELP`: Redis's header, the given lines and
/// its footer, each line a simple string.
pub fn help_reply(command: &str, lines: &[&str]) -> Frame {
    let mut replies = Vec::with_capacity(lines.len() + 3);
    replies.push(Frame::SimpleString(Bytes::from(format!(
        "{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ))));
    replies.extend(
        lines
            .iter()
            .map(|line| Frame::SimpleString(Bytes::copy_from_slice(line.as_bytes()))),
    );
    replies.push(Frame::simple("HELP"));
    replies.push(Frame::simple("    Prints this help."));
    Frame::array(replies)
}

/// `DBSIZE`: the keys of every shard, including those whose TTL has passed
/// but that no lookup or expiry cycle has removed yet (as Redis counts).
fn dbsize(session: &mut Session, _args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        let counts = session.router.run_on_all(|core| core.keyspace.len()).await?;
        Ok(Frame::integer(counts.into_iter().sum::<usize>() as i64))
    }
    .boxed_local()
}

/// How FLUSHDB and FLUSHALL free the old keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FlushMode {
    /// On the shard threads, before replying.
    Sync,
    /// On a background thread; the keys are gone from the keyspace before
    /// the reply all the same.
    Async,
}

/// `[ASYNC | SYNC]`, the only argument FLUSHDB and FLUSHALL take.
fn parse_flush_mode(args: &[Bytes]) -> Result<FlushMode, CommandError> {
    match args {
        [_] => Ok(FlushMode::Sync),
        [_, mode] if is_keyword(mode, "SYNC") => Ok(FlushMode::Sync),
        [_, mode] if is_keyword(mode, "ASYNC") => Ok(FlushMode::Async),
        _ => Err(CommandError::Syntax),
    }
}

/// Empties every shard atomically: all shards are held together, so no
/// command (MSET across shards, say) can see some shards flushed and others
/// not.
async fn flush_every_shard(session: &Session, mode: FlushMode) -> Result<(), CommandError> {
    let shards: Vec<usize> = (0..session.router.shard_count()).collect();
    let held = session.router.hold(&shards).await?;
    let jobs = shards.iter().map(|&shard| {
        held.run(shard, move |core| match mode {
            FlushMode::Sync => {
                core.keyspace.flush();
                None
            }
            FlushMode::Async => {
                let empty = Keyspace::new(core.index, core.shard_count);
                let mut old_keyspace = std::mem::replace(&mut core.keyspace, empty);
                core.keyspace.stats = std::mem::take(&mut old_keyspace.stats);
                Some(old_keyspace)
            }
        })
    });
    let old_keyspaces: Vec<Keyspace> = futures::future::join_all(jobs)
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    drop(held);
    if !old_keyspaces.is_empty() {
        // The blocking pool is bounded, so many FLUSHALL ASYNC in a row queue
        // up rather than spawn threads without limit.
        tokio::task::spawn_blocking(move || drop(old_keyspaces));
    }
    Ok(())
}

/// `FLUSHDB [ASYNC | SYNC]`: the node has one database, so this is FLUSHALL.
fn flushdb(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        let mode = parse_flush_mode(&args)?;
        flush_every_shard(session, mode).await?;
        Ok(Frame::ok())
    }
    .boxed_local()
}

/// `FLUSHALL [ASYNC | SYNC]`
fn flushall(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        let mode = parse_flush_mode(&args)?;
        flush_every_shard(session, mode).await?;
        Ok(Frame::ok())
    }
    .boxed_local()
}

/// `TIME`: seconds and microseconds, as two bulk strings.
fn time(_session: &mut Session, _args: &[Bytes]) -> CommandResult {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Ok(Frame::array(vec![
        Frame::bulk(elapsed.as_secs().to_string()),
        Frame::bulk(elapsed.subsec_micros().to_string()),
    ]))
}

/// `LASTSAVE`: without persistence nothing is ever saved; like a Redis that
/// never saved, this is the time the server started.
fn lastsave(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    Ok(Frame::integer(session.server.started_unix_secs as i64))
}

/// `ROLE`: a primary with no replicas and replication offset 0.
fn role(_session: &mut Session, _args: &[Bytes]) -> CommandResult {
    Ok(Frame::array(vec![
        Frame::bulk(Bytes::from_static(b"master")),
        Frame::integer(0),
        Frame::array(Vec::new()),
    ]))
}

/// How long SHUTDOWN waits for the server to stop before it reports failure.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

/// `SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]`
///
/// Stops the server. Like Redis, the client gets no reply: its connection
/// closes as the server goes down. There is no persistence yet, so SAVE has
/// nothing to save and NOW / FORCE change nothing; ABORT finds no shutdown
/// in progress because shutting down is immediate.
fn shutdown(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        let mut abort = false;
        let mut save = false;
        let mut no_save = false;
        let mut other_flags = false;
        for option in &args[1..] {
            if is_keyword(option, "NOSAVE") {
                no_save = true;
            } else if is_keyword(option, "SAVE") {
                save = true;
            } else if is_keyword(option, "NOW") || is_keyword(option, "FORCE") {
                other_flags = true;
            } else if is_keyword(option, "ABORT") {
                abort = true;
            } else {
                return Err(CommandError::Syntax);
            }
        }
        if (abort && (save || no_save || other_flags)) || (save && no_save) {
            return Err(CommandError::Syntax);
        }
        if abort {
            return Err(CommandError::other("ERR No shutdown in progress."));
        }
        tracing::warn!(client_id = session.client.id, "shutdown requested by client");
        session.server.request_shutdown();
        // The shard threads stop and drop this connection before the wait ends.
        tokio::time::sleep(SHUTDOWN_WAIT).await;
        Err(CommandError::other("ERR Errors trying to SHUTDOWN. Check logs."))
    }
    .boxed_local()
}

/// `DEBUG SLEEP seconds | DEBUG HELP`
///
/// Starling always allows DEBUG (Redis 7 refuses it unless
/// `enable-debug-command` is set). DEBUG SLEEP pauses only the calling
/// connection, where Redis freezes the whole server.
fn debug(_session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        let subcommand = &args[1];
        if is_keyword(subcommand, "HELP") && args.len() == 2 {
            return Ok(help_reply(
                "DEBUG",
                &[
                    "SLEEP <seconds>",
                    "    Stop the server for <seconds>. Decimals allowed.",
                ],
            ));
        }
        if is_keyword(subcommand, "SLEEP") && args.len() == 3 {
            let seconds = parse_leading_float(&args[2]).max(0.0);
            let pause = Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX);
            tokio::time::sleep(pause).await;
            return Ok(Frame::ok());
        }
        Err(CommandError::other(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
            text(subcommand).chars().take(128).collect::<String>(),
            text(&args[0]).to_ascii_uppercase()
        )))
    }
    .boxed_local()
}

/// The number at the start of `arg`, as C's `strtod` reads it for DEBUG
/// SLEEP: leading spaces skipped, trailing garbage ignored, 0 when there is
/// no number at all. NaN counts as 0.
fn parse_leading_float(arg: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(arg);
    let trimmed = text.trim_start();
    let parsed = (1..=trimmed.len())
        .rev()
        .filter(|&end| trimmed.is_char_boundary(end))
        .find_map(|end| trimmed[..end].parse::<f64>().ok())
        .unwrap_or(0.0);
    if parsed.is_nan() {
        0.0
    } else {
        parsed
    }
}

/// `READONLY`: in cluster mode, lets a replica serve this connection's reads.
fn readonly(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    if !session.server.cluster_enabled {
        return Err(CommandError::other("ERR This instance has cluster support disabled"));
    }
    session.cluster_readonly = true;
    Ok(Frame::ok())
}

/// `READWRITE`: undoes READONLY.
fn readwrite(session: &mut Session, _args: &[Bytes]) -> CommandResult {
    if !session.server.cluster_enabled {
        return Err(CommandError::other("ERR This instance has cluster support disabled"));
    }
    session.cluster_readonly = false;
    Ok(Frame::ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::args::test_args as args;

    #[test]
    fn flush_modes() {
        assert_eq!(parse_flush_mode(&args(&["flushall"])), Ok(FlushMode::Sync));
        assert_eq!(parse_flush_mode(&args(&["flushall", "sync"])), Ok(FlushMode::Sync));
        assert_eq!(parse_flush_mode(&args(&["flushall", "ASYNC"])), Ok(FlushMode::Async));
        assert_eq!(parse_flush_mode(&args(&["flushall", "now"])), Err(CommandError::Syntax));
        assert_eq!(
            parse_flush_mode(&args(&["flushall", "async", "sync"])),
            Err(CommandError::Syntax)
        );
    }

    #[test]
    fn debug_sleep_reads_numbers_like_strtod() {
        assert_eq!(parse_leading_float(b"0.25"), 0.25);
        assert_eq!(parse_leading_float(b"  2"), 2.0);
        assert_eq!(parse_leading_float(b"1.5seconds"), 1.5);
        assert_eq!(parse_leading_float(b"abc"), 0.0);
        assert_eq!(parse_leading_float(b""), 0.0);
        assert_eq!(parse_leading_float(b"nan"), 0.0);
        assert_eq!(parse_leading_float(b"-3"), -3.0);
    }

    #[test]
    fn help_has_redis_header_and_footer() {
        let Frame::Array(lines) = help_reply("CONFIG", &["GET <pattern>"]) else {
            panic!("help is an array");
        };
        let texts: Vec<&[u8]> = lines
            .iter()
            .map(|line| line.as_bytes().expect("simple string").as_ref())
            .collect();
        assert_eq!(
            texts,
            vec![
                &b"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"[..],
                b"GET <pattern>",
                b"HELP",
                b"    Prints this help."
            ]
        );
    }
}
