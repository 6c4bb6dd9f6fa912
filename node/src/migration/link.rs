//! The migration link: what a source node sends a target node, over a plain
//! client connection, as the internal command `STARLING.MIGRATE <payload>`
//! whose one argument is a rmp-serde encoded [`LinkRequest`]; the reply is a
//! bulk string holding an encoded [`LinkReply`].

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use starling_cluster::handoff::HandoffMessage;
use starling_protocol::{encode_aggregate_header, encode_bulk, Frame, FrameDecoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::keyspace::migration::MigrationEntry;

/// The internal command carrying link requests.
pub const LINK_COMMAND: &str = "starling.migrate";
const READ_CHUNK_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LinkRequest {
    /// Opens an import of `slots` (a `SlotSet::encode` text) from `source`.
    Begin {
        name: String,
        source: String,
        slots: String,
    },
    /// Chunk `seq` of the migration's entries.
    Chunk {
        name: String,
        seq: u64,
        entries: Vec<MigrationEntry>,
    },
    /// A handoff control message.
    Handoff { name: String, message: HandoffMessage },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LinkReply {
    Ok,
    Handoff(HandoffMessage),
    Refused(String),
}

pub fn encode<T: Serialize>(value: &T) -> Bytes {
    Bytes::from(rmp_serde::to_vec(value).expect("link messages serialize into memory"))
}

pub fn decode<T: for<'de> Deserialize<'de>>(payload: &[u8]) -> Result<T, String> {
    rmp_serde::from_slice(payload).map_err(|error| format!("bad migration link payload: {error}"))
}

/// The source's end of a link.
pub struct Link {
    stream: TcpStream,
    read_buffer: BytesMut,
    write_buffer: BytesMut,
    decoder: FrameDecoder,
    timeout: Duration,
    /// Requests written whose replies were not read yet.
    pub outstanding: usize,
}

impl Link {
    pub async fn connect(address: &str, timeout: Duration) -> Result<Link, String> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(address))
            .await
            .map_err(|_| format!("timeout connecting to {address}"))?
            .map_err(|error| format!("connecting to {address}: {error}"))?;
        stream.set_nodelay(true).map_err(|error| error.to_string())?;
        Ok(Link {
            stream,
            read_buffer: BytesMut::with_capacity(READ_CHUNK_BYTES),
            write_buffer: BytesMut::new(),
            decoder: FrameDecoder::new(),
            timeout,
            outstanding: 0,
        })
    }

    /// Writes one request without waiting for its reply.
    pub async fn send(&mut self, request: &LinkRequest) -> Result<usize, String> {
        let payload = encode(request);
        self.write_buffer.clear();
        encode_aggregate_header(b'*', 2, &mut self.write_buffer);
        encode_bulk(LINK_COMMAND.as_bytes(), &mut self.write_buffer);
        encode_bulk(&payload, &mut self.write_buffer);
        tokio::time::timeout(self.timeout, self.stream.write_all(&self.write_buffer))
            .await
            .map_err(|_| "timeout writing to the target".to_string())?
            .map_err(|error| format!("writing to the target: {error}"))?;
        self.outstanding += 1;
        Ok(payload.len())
    }

    /// Reads the reply to the oldest outstanding request.
    pub async fn receive(&mut self) -> Result<LinkReply, String> {
        loop {
            if let Some(frame) = self
                .decoder
                .decode(&mut self.read_buffer)
                .map_err(|error| error.to_string())?
            {
                self.outstanding -= 1;
                return match frame {
                    Frame::BulkString(payload) => decode(&payload),
                    Frame::Error(message) => Err(String::from_utf8_lossy(&message).into_owned()),
                    other => Err(format!("unexpected link reply {other:?}")),
                };
            }
            self.read_buffer.reserve(READ_CHUNK_BYTES);
            let read = tokio::time::timeout(self.timeout, self.stream.read_buf(&mut self.read_buffer))
                .await
                .map_err(|_| "timeout reading from the target".to_string())?
                .map_err(|error| format!("reading from the target: {error}"))?;
            if read == 0 {
                return Err("the target closed the link".to_string());
            }
        }
    }

    /// Sends one request and waits for its reply (after any outstanding ones).
    pub async fn call(&mut self, request: &LinkRequest) -> Result<LinkReply, String> {
        self.send(request).await?;
        let mut reply = Err("no reply".to_string());
        while self.outstanding > 0 {
            reply = self.receive().await;
            reply.as_ref().map_err(Clone::clone)?;
        }
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        let request = LinkRequest::Chunk {
            name: "m".into(),
            seq: 3,
            entries: vec![MigrationEntry::Deleted {
                key: Bytes::from_static(b"k"),
            }],
        };
        assert_eq!(decode::<LinkRequest>(&encode(&request)).unwrap(), request);
        assert!(decode::<LinkRequest>(b"\xc1garbage").is_err());
    }
}
