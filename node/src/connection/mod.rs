//! Connections: read, decode, route, execute, reply.
//!
//! A connection lives on one shard thread. Each time data arrives it decodes
//! every complete request in its buffer (up to `MAX_BATCH_REQUESTS`) and runs
//! them as a pipeline (`pipeline.rs`): commands are grouped per shard and sent
//! as one message per shard; replies are written back in request order.
//!
//! Bounds: the read buffer (plus partially decoded arguments) is limited by
//! `client-query-buffer-limit`; the pending reply bytes by
//! `client-output-buffer-limit`; a connection exceeding either is closed, as
//! Redis does. A client that never reads its replies blocks only itself: the
//! connection stops reading until its replies drain.

pub mod client;
pub mod pipeline;
pub mod session;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use starling_protocol::{DecoderLimits, RequestDecoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::commands::error::CommandError;
use crate::config::RuntimeConfig;
use crate::server::ServerContext;
use crate::shard::{idle_poll, ShardRouter};
use session::Session;

/// Requests executed per pipeline step; the rest wait in the buffer.
const MAX_BATCH_REQUESTS: usize = 1024;
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// Tells a client over `maxclients` why it is turned away, then closes.
pub async fn reject_max_clients(mut stream: TcpStream) {
    let reply = format!("-{}\r\n", CommandError::MaxClients);
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(reply.as_bytes())).await;
}

fn decoder_limits(config: &RuntimeConfig) -> DecoderLimits {
    DecoderLimits {
        max_bulk_len: config.proto_max_bulk_len,
        ..DecoderLimits::default()
    }
}

pub async fn serve(mut stream: TcpStream, peer_address: SocketAddr, server: Arc<ServerContext>, router: ShardRouter) {
    let local_address = stream.local_addr().unwrap_or(peer_address);
    let client = server.clients.register(peer_address, local_address);
    let client_id = client.id;
    let mut session = Session::new(server.clone(), router, client.clone());
    if let Err(error) = run_connection(&mut stream, &mut session).await {
        tracing::debug!(client_id, %error, "connection closed");
    }
    server.clients.unregister(client_id);
}

async fn run_connection(stream: &mut TcpStream, session: &mut Session) -> std::io::Result<()> {
    let server = session.server.clone();
    let mut decoder = RequestDecoder::new(decoder_limits(&server.config.load()));
    let mut read_buffer = BytesMut::with_capacity(READ_CHUNK_BYTES);
    let mut output = BytesMut::with_capacity(READ_CHUNK_BYTES);
    loop {
        let config = server.config.load();
        decoder.set_limits(decoder_limits(&config));
        if read_buffer.capacity() - read_buffer.len() < READ_CHUNK_BYTES / 4 {
            read_buffer.reserve(READ_CHUNK_BYTES);
        }
        let read = tokio::select! {
            read = read_with_timeout(stream, &mut read_buffer, config.timeout_secs) => read?,
            _ = session.client.kill.notified() => return Ok(()),
        };
        if read == 0 {
            return Ok(());
        }
        idle_poll::note_work();
        server.stats.net_input_bytes.fetch_add(read as u64, Ordering::Relaxed);
        let buffered = read_buffer.len() + decoder.pending_argument_bytes();
        session.client.query_buffer_bytes.store(buffered, Ordering::Relaxed);
        if buffered > config.client_query_buffer_limit {
            tracing::warn!(
                client_id = session.client.id,
                buffered,
                "closing client that exceeded client-query-buffer-limit"
            );
            return Ok(());
        }
        loop {
            let mut requests = Vec::new();
            let mut protocol_error = None;
            while requests.len() < MAX_BATCH_REQUESTS {
                match decoder.decode(&mut read_buffer) {
                    Ok(Some(request)) => requests.push(request),
                    Ok(None) => break,
                    Err(error) => {
                        protocol_error = Some(error);
                        break;
                    }
                }
            }
            if requests.is_empty() && protocol_error.is_none() {
                break;
            }
            let client = session.client.clone();
            let execution = pipeline::execute(session, requests, &mut output);
            let read_limit = config.client_query_buffer_limit;
            if execute_while_reading(execution, stream, &mut read_buffer, &client, read_limit).await {
                return Ok(());
            }
            if let Some(error) = &protocol_error {
                tracing::debug!(client_id = session.client.id, %error, "protocol error");
                pipeline::append_error(&mut output, &error.to_string());
                session.close_after_reply = true;
            }
            let limit = config.client_output_buffer_limit;
            if limit > 0 && output.len() > limit {
                tracing::warn!(
                    client_id = session.client.id,
                    bytes = output.len(),
                    "closing client that exceeded client-output-buffer-limit"
                );
                return Ok(());
            }
            session
                .client
                .output_buffer_bytes
                .store(output.len(), Ordering::Relaxed);
            stream.write_all(&output).await?;
            server
                .stats
                .net_output_bytes
                .fetch_add(output.len() as u64, Ordering::Relaxed);
            output.clear();
            session.client.output_buffer_bytes.store(0, Ordering::Relaxed);
            if session.close_after_reply {
                return Ok(());
            }
            // Decode again: the batch may have been full, and requests that
            // arrived while it ran (`execute_while_reading`) are already in
            // the buffer, where waiting for the socket would not see them.
            // The loop ends when no complete request is left.
        }
    }
}

/// Runs one batch to completion while still watching the socket, so that a
/// client that disconnects during a long command (a blocking pop, DEBUG
/// SLEEP) is noticed: its handle is marked disconnected, which such commands
/// watch. Requests that arrive meanwhile stay in `read_buffer` for the next
/// batch. Returns true if the peer has closed the connection.
///
/// The batch is polled first, so a batch that completes without waiting, the
/// common case, costs no extra read.
async fn execute_while_reading(
    execution: impl std::future::Future<Output = ()>,
    stream: &mut TcpStream,
    read_buffer: &mut BytesMut,
    client: &client::ClientHandle,
    read_limit_bytes: usize,
) -> bool {
    let mut execution = std::pin::pin!(execution);
    let mut peer_closed = false;
    loop {
        tokio::select! {
            biased;
            () = &mut execution => return peer_closed,
            read = stream.read_buf(read_buffer), if !peer_closed && read_buffer.len() < read_limit_bytes => {
                if matches!(read, Ok(0) | Err(_)) {
                    peer_closed = true;
                    client.mark_disconnected();
                }
            }
        }
    }
}

async fn read_with_timeout(stream: &mut TcpStream, buffer: &mut BytesMut, timeout_secs: u64) -> std::io::Result<usize> {
    if timeout_secs == 0 {
        return stream.read_buf(buffer).await;
    }
    match tokio::time::timeout(Duration::from_secs(timeout_secs), stream.read_buf(buffer)).await {
        Ok(read) => read,
        Err(_) => Ok(0),
    }
}
