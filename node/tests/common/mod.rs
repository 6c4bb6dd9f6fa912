//! Helpers shared by the integration tests: an in-process server on an
//! ephemeral port, a `redis` crate client, and a raw RESP socket.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;
use redis::{cmd, Connection, RedisResult, Value};
use starling_node::config::{Flags, StartupConfig};
use starling_node::server::{start_background, ServerHandle};
use starling_protocol::{Frame, FrameDecoder};

pub struct TestServer {
    pub handle: ServerHandle,
}

impl TestServer {
    /// Starts a server with `shards` shard threads on a free port.
    pub fn start(shards: usize) -> TestServer {
        TestServer::start_with(shards, &[])
    }

    /// Starts a server, applying extra `name value` settings first.
    pub fn start_with(shards: usize, settings: &[(&str, &str)]) -> TestServer {
        let flags = Flags {
            port: Some(0),
            shards: Some(shards),
            ..Flags::default()
        };
        let mut config = StartupConfig::from_flags(flags).expect("valid test config");
        for (name, value) in settings {
            config.apply(name, value).expect("valid test setting");
        }
        let handle = start_background(config).expect("server starts");
        TestServer { handle }
    }

    pub fn port(&self) -> u16 {
        self.handle.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port())
    }

    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("valid url")
    }

    pub fn connection(&self) -> redis::Connection {
        let connection = self.client().get_connection().expect("connects");
        connection
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        connection
    }

    pub fn raw(&self) -> RawConnection {
        RawConnection::connect(self.port())
    }
}

/// A plain TCP connection for byte-level protocol tests.
pub struct RawConnection {
    pub stream: TcpStream,
    buffer: BytesMut,
    decoder: FrameDecoder,
}

impl RawConnection {
    pub fn connect(port: u16) -> RawConnection {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connects");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        RawConnection {
            stream,
            buffer: BytesMut::new(),
            decoder: FrameDecoder::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends a command as a multibulk request.
    pub fn command(&mut self, args: &[&[u8]]) -> Frame {
        let mut request = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            request.extend_from_slice(arg);
            request.extend_from_slice(b"\r\n");
        }
        self.send(&request);
        self.read_frame()
    }

    /// Reads one reply; panics on timeout or a closed connection.
    pub fn read_frame(&mut self) -> Frame {
        loop {
            if let Some(frame) = self.decoder.decode(&mut self.buffer).expect("valid reply") {
                return frame;
            }
            let mut chunk = [0u8; 16 * 1024];
            let read = self.stream.read(&mut chunk).expect("read reply");
            assert!(read > 0, "connection closed while waiting for a reply");
            self.buffer.extend_from_slice(&chunk[..read]);
        }
    }

    /// Reads exactly `length` raw bytes of reply.
    pub fn read_exact_bytes(&mut self, length: usize) -> Vec<u8> {
        while self.buffer.len() < length {
            let mut chunk = [0u8; 16 * 1024];
            let read = self.stream.read(&mut chunk).expect("read reply");
            assert!(read > 0, "connection closed while waiting for bytes");
            self.buffer.extend_from_slice(&chunk[..read]);
        }
        self.buffer.split_to(length).to_vec()
    }

    /// True once the server has closed the connection (reads EOF), draining
    /// any replies sent before the close.
    pub fn is_closed_by_server(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
    }
}

/// Shorthand for a bulk string frame.
pub fn bulk(text: &str) -> Frame {
    Frame::BulkString(bytes::Bytes::copy_from_slice(text.as_bytes()))
}

/// The exact error text (code and detail) of a reply that must be an error.
pub fn error_text(result: RedisResult<Value>) -> String {
    let error = result.expect_err("expected an error reply");
    match error.detail() {
        Some(detail) => format!("{} {}", error.code().unwrap_or_default(), detail),
        None => error.code().unwrap_or_default().to_string(),
    }
}

/// Sends `args` as one command through the `redis` crate.
pub fn query(connection: &mut Connection, args: &[&str]) -> RedisResult<Value> {
    let mut command = cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command.query(connection)
}

/// The reply, which must not be an error.
pub fn reply(connection: &mut Connection, args: &[&str]) -> Value {
    query(connection, args).unwrap_or_else(|error| panic!("{args:?}: {error}"))
}

/// An integer reply.
pub fn int(connection: &mut Connection, args: &[&str]) -> i64 {
    match reply(connection, args) {
        Value::Int(value) => value,
        other => panic!("{args:?}: expected an integer, got {other:?}"),
    }
}

/// A bulk string reply as text, None for nil.
pub fn text(connection: &mut Connection, args: &[&str]) -> Option<String> {
    match reply(connection, args) {
        Value::Nil => None,
        Value::BulkString(bytes) => Some(String::from_utf8(bytes).expect("utf-8 reply")),
        other => panic!("{args:?}: expected a bulk string or nil, got {other:?}"),
    }
}

/// `CONFIG SET name value`, which must succeed.
pub fn config_set(connection: &mut Connection, name: &str, value: &str) {
    let _: () = cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query(connection)
        .expect("CONFIG SET");
}

/// A key named `{prefix}:n` that lives on `shard` of `shard_count`.
pub fn key_on_shard(prefix: &str, shard: usize, shard_count: usize) -> String {
    (0..)
        .map(|n| format!("{prefix}:{n}"))
        .find(|key| starling_protocol::key_slot(key.as_bytes()) as usize % shard_count == shard)
        .expect("some key lands on every shard")
}
