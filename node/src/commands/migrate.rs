//! MIGRATE and RESTORE-ASKING: moving keys to another node, as Redis does
//! (and as `redis-cli --cluster reshard` drives it, one batch of keys at a
//! time).
//!
//! `MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
//! [AUTH password | AUTH2 username password] [KEYS key [key ...]]`
//!
//! Steps (parse → apply → reply), and where each runs:
//! 1. parse, with Redis's checks in Redis's order (options, then the
//!    timeout and the database);
//! 2. on each shard holding some of the keys: read the keys that exist,
//!    with their remaining TTL, as DUMP payloads, and mark them in flight
//!    (`shard::keys_in_flight`), so that no command touches them until
//!    step 4. None exists: `+NOKEY`;
//! 3. on the connection, asynchronously (no shard waits for the network):
//!    send `[AUTH] [SELECT db] RESTORE-ASKING key ttl payload [REPLACE]...`
//!    (RESTORE outside cluster mode) over a cached connection to the
//!    target, and read one reply per command, each within `timeout` ms;
//! 4. on the shards: without COPY, delete every key the target acknowledged;
//!    release the keys (parked commands run, now routed as after the move);
//! 5. reply `+OK`, or the first error: the target's as `ERR Target instance
//!    replied with error: <error>` (an AUTH or SELECT error fails every
//!    key), or `IOERR error or timeout reading|writing to target instance`.
//!
//! Connections to targets are cached per thread by `host:port` (Redis's
//! migrate cached sockets): at most `CACHED_SOCKETS_MAX`, and one idle for
//! more than `CACHED_SOCKET_IDLE` is not reused. A cached connection that
//! fails before any reply (the target closed it) is replaced once, as
//! Redis retries.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use starling_protocol::{encode, Frame, FrameDecoder, ProtocolVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::args::{is_keyword, parse_i64};
use super::error::{CommandError, CommandResult};
use super::table::{CommandSpec, Flags, Handler};
use crate::connection::session::Session;
use crate::keyspace::dump;

/// Target connections kept per thread.
const CACHED_SOCKETS_MAX: usize = 64;
/// A cached connection idle longer than this is closed instead of reused.
const CACHED_SOCKET_IDLE: Duration = Duration::from_secs(10);
/// Redis's default when the timeout given is not positive.
const DEFAULT_TIMEOUT_MS: u64 = 1000;
/// How often a MIGRATE waiting for keys another MIGRATE moves looks again
/// (it is also woken as soon as keys are released).
const IN_FLIGHT_RECHECK: Duration = Duration::from_millis(10);
const READ_CHUNK_BYTES: usize = 16 * 1024;

pub fn commands() -> Vec<CommandSpec> {
    vec![
        CommandSpec::new("migrate", -6, Handler::Async(migrate))
            .flags(Flags::WRITE | Flags::RUNS_IN_OPEN_SLOT)
            .key_finder(migrate_keys)
            .acl(&["@keyspace", "@write", "@slow", "@dangerous"])
            .doc(
                "generic",
                "2.6.0",
                "Atomically transfers a key from one Redis instance to another.",
            ),
        CommandSpec::new("restore-asking", -4, Handler::Shard(super::keys::restore))
            .flags(Flags::WRITE | Flags::DENYOOM | Flags::ASKING)
            .keys(1, 1, 1)
            .acl(&["@keyspace", "@write", "@slow", "@dangerous"])
            .doc(
                "server",
                "3.0.0",
                "An internal command for migrating keys in a cluster.",
            ),
    ]
}

/// The key positions of MIGRATE (Redis's `migrateGetKeys`): the keys after
/// KEYS when the key argument is empty, else the key argument.
fn migrate_keys(args: &[Bytes]) -> Vec<usize> {
    if args.len() > 6 && args.get(3).is_some_and(|key| key.is_empty()) {
        if let Some(keys_at) = (6..args.len()).find(|&index| is_keyword(&args[index], "KEYS")) {
            return (keys_at + 1..args.len()).collect();
        }
    }
    if args.len() > 3 {
        vec![3]
    } else {
        Vec::new()
    }
}

/// A parsed MIGRATE.
#[derive(Debug, PartialEq, Eq)]
struct MigrateRequest {
    host: String,
    port_opt: Option<u16>,
    database: i64,
    timeout: Duration,
    copy: bool,
    replace: bool,
    /// `(username, password)` for AUTH2, `(None, password)` for AUTH.
    auth_opt: Option<(Option<Bytes>, Bytes)>,
    keys: Vec<Bytes>,
}

fn parse_migrate(args: &[Bytes]) -> Result<MigrateRequest, CommandError> {
    let mut copy = false;
    let mut replace = false;
    let mut auth_opt = None;
    let mut first_key = 3;
    let mut key_count = 1;
    let mut index = 6;
    while index < args.len() {
        let more_args = args.len() - 1 - index;
        let option = &args[index];
        if is_keyword(option, "COPY") {
            copy = true;
        } else if is_keyword(option, "REPLACE") {
            replace = true;
        } else if is_keyword(option, "AUTH") {
            if more_args == 0 {
                return Err(CommandError::Syntax);
            }
            auth_opt = Some((None, args[index + 1].clone()));
            index += 1;
        } else if is_keyword(option, "AUTH2") {
            if more_args < 2 {
                return Err(CommandError::Syntax);
            }
            auth_opt = Some((Some(args[index + 1].clone()), args[index + 2].clone()));
            index += 2;
        } else if is_keyword(option, "KEYS") {
            if !args[3].is_empty() {
                return Err(CommandError::other(
                    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
                ));
            }
            first_key = index + 1;
            key_count = args.len() - index - 1;
            break;
        } else {
            return Err(CommandError::Syntax);
        }
        index += 1;
    }
    let timeout_ms = parse_i64(&args[5]).ok_or(CommandError::NotInteger)?;
    let database = parse_i64(&args[4]).ok_or(CommandError::NotInteger)?;
    let timeout_ms = u64::try_from(timeout_ms)
        .ok()
        .filter(|&timeout_ms| timeout_ms > 0)
        .unwrap_or(DEFAULT_TIMEOUT_MS);
    Ok(MigrateRequest {
        host: String::from_utf8_lossy(&args[1]).into_owned(),
        port_opt: std::str::from_utf8(&args[2]).ok().and_then(|port| port.parse().ok()),
        database,
        timeout: Duration::from_millis(timeout_ms),
        copy,
        replace,
        auth_opt,
        keys: args[first_key..first_key + key_count].to_vec(),
    })
}

/// A key read for migration.
struct DumpedKey {
    key: Bytes,
    /// Remaining TTL in ms, 0 for none (RESTORE's convention).
    ttl_ms: u64,
    payload: Vec<u8>,
}

/// The keys of one shard read for a MIGRATE, marked in flight there.
struct ShardKeys {
    shard: usize,
    dumped: Vec<DumpedKey>,
}

/// What a shard answers the read of step 2.
enum ShardRead {
    Read(Vec<DumpedKey>),
    /// Some key is in flight for another MIGRATE: wait for it.
    Busy(std::sync::Arc<tokio::sync::Notify>),
}

/// `MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password | AUTH2 username password] [KEYS key [key ...]]`
fn migrate(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        let request = parse_migrate(&args)?;
        let deadline = Instant::now() + request.timeout;
        let read = read_keys(session, &request.keys, deadline).await?;
        let dumped_count: usize = read.iter().map(|shard_keys| shard_keys.dumped.len()).sum();
        if dumped_count == 0 {
            release(session, read, &[]).await?;
            return Ok(Frame::simple("NOKEY"));
        }
        let dumped: Vec<&DumpedKey> = read.iter().flat_map(|shard_keys| &shard_keys.dumped).collect();
        let cluster_mode = session.server.cluster.is_some();
        let outcome = exchange(&request, &dumped, cluster_mode).await;
        let acknowledged: Vec<Bytes> = dumped
            .iter()
            .zip(&outcome.acknowledged)
            .filter(|(_, &acknowledged)| acknowledged)
            .map(|(dumped_key, _)| dumped_key.key.clone())
            .collect();
        let deleted = if request.copy { Vec::new() } else { acknowledged };
        release(session, read, &deleted).await?;
        match outcome.error_opt {
            None => Ok(Frame::ok()),
            Some(error) => Err(error),
        }
    }
    .boxed_local()
}

/// Step 2 on every shard holding some of `keys`. If a shard finds one of
/// its keys in flight for another MIGRATE, the shards already read are
/// released and everything is tried again once keys are released, until
/// `deadline`.
async fn read_keys(session: &Session, keys: &[Bytes], deadline: Instant) -> Result<Vec<ShardKeys>, CommandError> {
    let mut by_shard: Vec<(usize, Vec<Bytes>)> = Vec::new();
    for key in keys {
        let shard = session.router.shard_of_key(key);
        match by_shard.iter_mut().find(|(index, _)| *index == shard) {
            Some((_, shard_keys)) => shard_keys.push(key.clone()),
            None => by_shard.push((shard, vec![key.clone()])),
        }
    }
    loop {
        let mut read = Vec::with_capacity(by_shard.len());
        let mut busy_opt = None;
        for (shard, shard_keys) in &by_shard {
            let shard_keys = shard_keys.clone();
            match session
                .router
                .run(*shard, move |core| read_on_shard(core, &shard_keys))
                .await?
            {
                ShardRead::Read(dumped) => read.push(ShardKeys { shard: *shard, dumped }),
                ShardRead::Busy(released) => {
                    busy_opt = Some(released);
                    break;
                }
            }
        }
        let Some(released) = busy_opt else {
            return Ok(read);
        };
        release(session, read, &[]).await?;
        if Instant::now() >= deadline {
            return Err(CommandError::other("IOERR error or timeout reading to target instance"));
        }
        // Woken when keys are released; the timeout covers a release that
        // happened before this wait began.
        let _ = tokio::time::timeout(IN_FLIGHT_RECHECK, released.notified()).await;
    }
}

fn read_on_shard(core: &mut crate::shard::ShardCore, keys: &[Bytes]) -> ShardRead {
    if core.keys_in_flight.contains_any(keys) {
        return ShardRead::Busy(core.keys_in_flight.released());
    }
    let now_ms = core.now_ms;
    let mut dumped = Vec::with_capacity(keys.len());
    for key in keys {
        if dumped.iter().any(|dumped_key: &DumpedKey| dumped_key.key == *key) {
            continue;
        }
        let Some(record) = core.keyspace.lookup_read(key, now_ms) else {
            continue;
        };
        let payload = dump::serialize(&record.value);
        let ttl_ms = match core.keyspace.expire_at(key) {
            None => 0,
            Some(at_ms) => at_ms.saturating_sub(now_ms).max(1),
        };
        dumped.push(DumpedKey {
            key: key.clone(),
            ttl_ms,
            payload,
        });
    }
    let marked: Vec<Bytes> = dumped.iter().map(|dumped_key| dumped_key.key.clone()).collect();
    core.keys_in_flight.mark(&marked);
    ShardRead::Read(dumped)
}

/// Step 4: deletes `deleted` and releases every key read.
async fn release(session: &Session, read: Vec<ShardKeys>, deleted: &[Bytes]) -> Result<(), CommandError> {
    for shard_keys in read {
        let keys: Vec<Bytes> = shard_keys.dumped.into_iter().map(|dumped_key| dumped_key.key).collect();
        let deleted: Vec<Bytes> = keys.iter().filter(|key| deleted.contains(key)).cloned().collect();
        session
            .router
            .run(shard_keys.shard, move |core| {
                for key in &deleted {
                    core.keyspace.remove(key);
                }
                core.release_keys_in_flight(&keys);
            })
            .await?;
    }
    Ok(())
}

/// What the target made of the keys.
struct ExchangeOutcome {
    /// Per key sent: whether the target restored it.
    acknowledged: Vec<bool>,
    /// The reply MIGRATE gives, if not OK.
    error_opt: Option<CommandError>,
}

impl ExchangeOutcome {
    fn failed(key_count: usize, error: CommandError) -> ExchangeOutcome {
        ExchangeOutcome {
            acknowledged: vec![false; key_count],
            error_opt: Some(error),
        }
    }
}

fn io_error(writing: bool) -> CommandError {
    let direction = if writing { "writing" } else { "reading" };
    CommandError::other(format!("IOERR error or timeout {direction} to target instance"))
}

/// A connection to a target, with the database it last selected.
struct CachedSocket {
    stream: TcpStream,
    selected_database_opt: Option<i64>,
    last_used: Instant,
}

thread_local! {
    static CACHED_SOCKETS: RefCell<HashMap<String, CachedSocket>> = RefCell::new(HashMap::new());
}

fn take_cached_socket(name: &str) -> Option<CachedSocket> {
    let socket = CACHED_SOCKETS.with(|sockets| sockets.borrow_mut().remove(name))?;
    (socket.last_used.elapsed() < CACHED_SOCKET_IDLE).then_some(socket)
}

fn put_cached_socket(name: String, mut socket: CachedSocket) {
    socket.last_used = Instant::now();
    CACHED_SOCKETS.with(|sockets| {
        let mut sockets = sockets.borrow_mut();
        if sockets.len() >= CACHED_SOCKETS_MAX && !sockets.contains_key(&name) {
            let oldest_opt = sockets
                .iter()
                .min_by_key(|(_, cached)| cached.last_used)
                .map(|(name, _)| name.clone());
            if let Some(oldest) = oldest_opt {
                sockets.remove(&oldest);
            }
        }
        sockets.insert(name, socket);
    });
}

/// Step 3: sends the keys and reads the replies, retrying once on a fresh
/// connection when a cached one fails before any reply.
async fn exchange(request: &MigrateRequest, dumped: &[&DumpedKey], cluster_mode: bool) -> ExchangeOutcome {
    let Some(port) = request.port_opt else {
        return ExchangeOutcome::failed(dumped.len(), io_error(true));
    };
    let name = format!("{}:{port}", request.host);
    let mut may_retry = true;
    loop {
        let cached_opt = take_cached_socket(&name);
        let was_cached = cached_opt.is_some();
        let mut socket = match cached_opt {
            Some(socket) => socket,
            None => {
                match tokio::time::timeout(request.timeout, TcpStream::connect((request.host.as_str(), port))).await {
                    Ok(Ok(stream)) => {
                        let _ = stream.set_nodelay(true);
                        CachedSocket {
                            stream,
                            selected_database_opt: None,
                            last_used: Instant::now(),
                        }
                    }
                    Ok(Err(_)) => return ExchangeOutcome::failed(dumped.len(), io_error(true)),
                    Err(_) => {
                        return ExchangeOutcome::failed(
                            dumped.len(),
                            CommandError::other("IOERR error or timeout connecting to the client"),
                        )
                    }
                }
            }
        };
        let select = socket.selected_database_opt != Some(request.database);
        match send_and_read(&mut socket, request, dumped, select, cluster_mode).await {
            Ok(outcome) => {
                socket.selected_database_opt = match outcome.error_opt {
                    None => Some(request.database),
                    Some(_) => None,
                };
                put_cached_socket(name, socket);
                return outcome;
            }
            Err(failure) => {
                let nothing_read =
                    failure.outcome.acknowledged.iter().all(|&acknowledged| !acknowledged) && !failure.any_reply_read;
                if was_cached && may_retry && nothing_read && !failure.timed_out {
                    may_retry = false;
                    continue;
                }
                return failure.outcome;
            }
        }
    }
}

/// A broken or silent connection, with what was learnt before.
struct ExchangeFailure {
    outcome: ExchangeOutcome,
    any_reply_read: bool,
    timed_out: bool,
}

async fn send_and_read(
    socket: &mut CachedSocket,
    request: &MigrateRequest,
    dumped: &[&DumpedKey],
    select: bool,
    cluster_mode: bool,
) -> Result<ExchangeOutcome, ExchangeFailure> {
    let mut output = BytesMut::new();
    let mut command = |words: Vec<Bytes>| {
        let frame = Frame::array(words.into_iter().map(Frame::bulk).collect());
        encode(&frame, ProtocolVersion::Resp2, &mut output);
    };
    if let Some((username_opt, password)) = &request.auth_opt {
        let mut words = vec![Bytes::from_static(b"AUTH")];
        words.extend(username_opt.iter().cloned());
        words.push(password.clone());
        command(words);
    }
    if select {
        command(vec![
            Bytes::from_static(b"SELECT"),
            Bytes::from(request.database.to_string()),
        ]);
    }
    let restore_name: &'static [u8] = if cluster_mode { b"RESTORE-ASKING" } else { b"RESTORE" };
    for dumped_key in dumped {
        let mut words = vec![
            Bytes::from_static(restore_name),
            dumped_key.key.clone(),
            Bytes::from(dumped_key.ttl_ms.to_string()),
            Bytes::copy_from_slice(&dumped_key.payload),
        ];
        if request.replace {
            words.push(Bytes::from_static(b"REPLACE"));
        }
        command(words);
    }
    let failure = |writing: bool, timed_out: bool, acknowledged: Vec<bool>, any_reply_read: bool| ExchangeFailure {
        outcome: ExchangeOutcome {
            acknowledged,
            error_opt: Some(io_error(writing)),
        },
        any_reply_read,
        timed_out,
    };
    match tokio::time::timeout(request.timeout, socket.stream.write_all(&output)).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => return Err(failure(true, false, vec![false; dumped.len()], false)),
        Err(_) => return Err(failure(true, true, vec![false; dumped.len()], false)),
    }
    let mut reader = ReplyReader::new(&mut socket.stream, request.timeout);
    let preamble_replies = usize::from(request.auth_opt.is_some()) + usize::from(select);
    let mut error_opt: Option<Bytes> = None;
    for _ in 0..preamble_replies {
        match reader.next().await {
            Ok(Frame::Error(text)) => {
                error_opt.get_or_insert(text);
            }
            Ok(_) => {}
            Err(timed_out) => return Err(failure(false, timed_out, vec![false; dumped.len()], reader.any_read)),
        }
    }
    // An AUTH or SELECT error fails every key, even those the target restored.
    let preamble_failed = error_opt.is_some();
    let mut acknowledged = Vec::with_capacity(dumped.len());
    for _ in dumped {
        match reader.next().await {
            Ok(Frame::Error(text)) => {
                error_opt.get_or_insert(text);
                acknowledged.push(false);
            }
            Ok(_) => acknowledged.push(!preamble_failed),
            Err(timed_out) => {
                acknowledged.resize(dumped.len(), false);
                return Err(failure(false, timed_out, acknowledged, true));
            }
        }
    }
    Ok(ExchangeOutcome {
        acknowledged,
        error_opt: error_opt.map(|text| {
            CommandError::other(format!(
                "ERR Target instance replied with error: {}",
                String::from_utf8_lossy(&text)
            ))
        }),
    })
}

/// Reads replies one by one, each within the timeout.
struct ReplyReader<'a> {
    stream: &'a mut TcpStream,
    timeout: Duration,
    buffer: BytesMut,
    decoder: FrameDecoder,
    any_read: bool,
}

impl<'a> ReplyReader<'a> {
    fn new(stream: &'a mut TcpStream, timeout: Duration) -> ReplyReader<'a> {
        ReplyReader {
            stream,
            timeout,
            buffer: BytesMut::with_capacity(READ_CHUNK_BYTES),
            decoder: FrameDecoder::new(),
            any_read: false,
        }
    }

    /// The next reply; Err(timed out?) when the connection fails.
    async fn next(&mut self) -> Result<Frame, bool> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            match self.decoder.decode(&mut self.buffer) {
                Ok(Some(frame)) => {
                    self.any_read = true;
                    return Ok(frame);
                }
                Ok(None) => {}
                Err(_) => return Err(false),
            }
            self.buffer.reserve(READ_CHUNK_BYTES);
            match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buffer)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return Err(false),
                Ok(Ok(_)) => {}
                Err(_) => return Err(true),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::args::test_args as args;

    #[test]
    fn keys_are_found_like_redis() {
        assert_eq!(migrate_keys(&args(&["MIGRATE", "h", "1", "k", "0", "5"])), vec![3]);
        assert_eq!(
            migrate_keys(&args(&["MIGRATE", "h", "1", "", "0", "5", "COPY", "KEYS", "a", "b"])),
            vec![8, 9]
        );
        assert_eq!(
            migrate_keys(&args(&["MIGRATE", "h", "1", "k", "0", "5", "KEYS", "a"])),
            vec![3],
            "KEYS counts only with an empty key argument"
        );
    }

    #[test]
    fn options_are_parsed_in_redis_order() {
        let error = |words: &[&str]| parse_migrate(&args(words)).unwrap_err().to_string();
        assert_eq!(
            error(&["MIGRATE", "h", "1", "", "x", "1000", "bogus"]),
            "ERR syntax error"
        );
        assert_eq!(
            error(&["MIGRATE", "h", "1", "", "x", "1000"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            error(&["MIGRATE", "h", "1", "", "0", "1000", "AUTH"]),
            "ERR syntax error"
        );
        assert_eq!(
            error(&["MIGRATE", "h", "1", "", "0", "1000", "AUTH2", "u"]),
            "ERR syntax error"
        );
        assert_eq!(
            error(&["MIGRATE", "h", "1", "x", "0", "1000", "KEYS", "a"]),
            "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
        );
        let request = parse_migrate(&args(&[
            "MIGRATE", "h", "7000", "", "0", "-5", "COPY", "AUTH2", "u", "p", "KEYS", "a", "b",
        ]))
        .unwrap();
        assert_eq!(request.timeout, Duration::from_millis(DEFAULT_TIMEOUT_MS));
        assert!(request.copy && !request.replace);
        assert_eq!(
            request.auth_opt,
            Some((Some(Bytes::from_static(b"u")), Bytes::from_static(b"p")))
        );
        assert_eq!(request.keys, args(&["a", "b"]));
        assert_eq!(request.port_opt, Some(7000));
    }
}
