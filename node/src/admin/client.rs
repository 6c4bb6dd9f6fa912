//! A blocking RESP client for `starling-admin`: one request, one reply.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::BytesMut;
use starling_protocol::{encode_aggregate_header, encode_bulk, Frame, FrameDecoder};

const TIMEOUT: Duration = Duration::from_secs(10);

pub struct AdminClient {
    address: String,
    stream: TcpStream,
    buffer: BytesMut,
    decoder: FrameDecoder,
}

impl AdminClient {
    pub fn connect(address: &str) -> anyhow::Result<AdminClient> {
        let stream = TcpStream::connect(address).with_context(|| format!("connecting to {address}"))?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        Ok(AdminClient {
            address: address.to_string(),
            stream,
            buffer: BytesMut::new(),
            decoder: FrameDecoder::new(),
        })
    }

    /// Sends a command and returns its reply (an error reply is an `Err`).
    pub fn call(&mut self, args: &[&str]) -> anyhow::Result<Frame> {
        let mut request = BytesMut::new();
        encode_aggregate_header(b'*', args.len(), &mut request);
        for arg in args {
            encode_bulk(arg.as_bytes(), &mut request);
        }
        self.stream.write_all(&request)?;
        loop {
            if let Some(frame) = self.decoder.decode(&mut self.buffer)? {
                if let Frame::Error(message) = &frame {
                    bail!("{} {:?}: {}", self.address, args, String::from_utf8_lossy(message));
                }
                return Ok(frame);
            }
            let mut chunk = [0u8; 16 * 1024];
            let read = self.stream.read(&mut chunk)?;
            if read == 0 {
                bail!("{} closed the connection", self.address);
            }
            self.buffer.extend_from_slice(&chunk[..read]);
        }
    }

    pub fn ok(&mut self, args: &[&str]) -> anyhow::Result<()> {
        self.call(args).map(drop)
    }

    pub fn text(&mut self, args: &[&str]) -> anyhow::Result<String> {
        Ok(frame_text(&self.call(args)?))
    }

    pub fn integer(&mut self, args: &[&str]) -> anyhow::Result<i64> {
        match self.call(args)? {
            Frame::Integer(value) => Ok(value),
            other => bail!("{args:?} replied {other:?}, not an integer"),
        }
    }
}

/// A reply as text (strings, numbers; other shapes debug-printed).
pub fn frame_text(frame: &Frame) -> String {
    match frame {
        Frame::BulkString(bytes) | Frame::SimpleString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Frame::Verbatim { text, .. } => String::from_utf8_lossy(text).into_owned(),
        Frame::Integer(value) => value.to_string(),
        other => format!("{other:?}"),
    }
}
