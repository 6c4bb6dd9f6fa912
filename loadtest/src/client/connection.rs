//! One RESP connection to one server: queue encoded requests, flush them in
//! one write, read the replies back in order.

use std::io;
use std::time::Duration;

use bytes::BytesMut;
use starling_protocol::{encode_aggregate_header, encode_bulk, Frame, FrameDecoder, ProtocolError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Read buffer growth step: big enough for a pipeline of small replies.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Why a connection stopped being usable. Every variant leaves the requests
/// that had no reply yet indeterminate: the server may or may not have run them.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("io: {0}")]
    Io(#[from] io::Error),
    #[error("timeout")]
    Timeout,
    #[error("closed")]
    Closed,
    #[error("protocol: {0}")]
    Protocol(#[from] ProtocolError),
}

impl ConnectionError {
    /// The short label reports count this failure under.
    pub fn kind(&self) -> &'static str {
        match self {
            ConnectionError::Io(_) => "io",
            ConnectionError::Timeout => "timeout",
            ConnectionError::Closed => "closed",
            ConnectionError::Protocol(_) => "protocol",
        }
    }
}

/// Appends `args` as a RESP multibulk request.
pub fn encode_request(args: &[&[u8]], out: &mut BytesMut) {
    encode_aggregate_header(b'*', args.len(), out);
    for argument in args {
        encode_bulk(argument, out);
    }
}

pub struct Connection {
    stream: TcpStream,
    read_buffer: BytesMut,
    write_buffer: BytesMut,
    decoder: FrameDecoder,
    timeout: Duration,
}

impl Connection {
    /// Connects to `address` (`host:port`); every later read and connect waits at most `timeout`.
    pub async fn connect(address: &str, timeout: Duration) -> Result<Connection, ConnectionError> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(address))
            .await
            .map_err(|_| ConnectionError::Timeout)??;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            read_buffer: BytesMut::with_capacity(READ_CHUNK_BYTES),
            write_buffer: BytesMut::with_capacity(READ_CHUNK_BYTES),
            decoder: FrameDecoder::new(),
            timeout,
        })
    }

    /// Adds an already encoded request to the next flush.
    pub fn queue(&mut self, encoded_request: &[u8]) {
        self.write_buffer.extend_from_slice(encoded_request);
    }

    /// Adds a request given as arguments to the next flush.
    pub fn queue_args(&mut self, args: &[&[u8]]) {
        encode_request(args, &mut self.write_buffer);
    }

    /// Writes every queued request.
    pub async fn flush(&mut self) -> Result<(), ConnectionError> {
        if self.write_buffer.is_empty() {
            return Ok(());
        }
        tokio::time::timeout(self.timeout, self.stream.write_all(&self.write_buffer))
            .await
            .map_err(|_| ConnectionError::Timeout)??;
        self.write_buffer.clear();
        Ok(())
    }

    /// Reads the next reply.
    pub async fn read_reply(&mut self) -> Result<Frame, ConnectionError> {
        loop {
            if let Some(frame) = self.decoder.decode(&mut self.read_buffer)? {
                return Ok(frame);
            }
            self.read_buffer.reserve(READ_CHUNK_BYTES);
            let read = tokio::time::timeout(self.timeout, self.stream.read_buf(&mut self.read_buffer))
                .await
                .map_err(|_| ConnectionError::Timeout)??;
            if read == 0 {
                return Err(ConnectionError::Closed);
            }
        }
    }

    /// Sends one request and waits for its reply.
    pub async fn request(&mut self, args: &[&[u8]]) -> Result<Frame, ConnectionError> {
        self.queue_args(args);
        self.flush().await?;
        self.read_reply().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_encoded_as_multibulk() {
        let mut out = BytesMut::new();
        encode_request(&[b"SET", b"key", b""], &mut out);
        assert_eq!(&out[..], b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$0\r\n\r\n");
    }
}
