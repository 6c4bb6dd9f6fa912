//! Helpers shared by the starling-bench tests: a real Starling server
//! started in-process on an ephemeral port, and a blocking way to query it.
#![allow(dead_code)]

use starling_loadtest::client::{Connection, ConnectionError};
use starling_node::config::{Flags, StartupConfig};
use starling_node::server::{start_background, ServerHandle};
use starling_protocol::Frame;

pub struct Server {
    pub handle: ServerHandle,
}

impl Server {
    /// A standalone Starling server with `shards` shard threads.
    pub fn start(shards: usize) -> Server {
        let flags = Flags {
            port: Some(0),
            shards: Some(shards),
            ..Flags::default()
        };
        let config = StartupConfig::from_flags(flags).expect("valid test config");
        Server {
            handle: start_background(config).expect("server starts"),
        }
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.handle.port)
    }

    /// Runs one command and returns its reply. It runs on a thread of its
    /// own, so async tests may call it too.
    pub fn query(&self, args: &[&str]) -> Frame {
        let address = self.address();
        let reply = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    runtime.block_on(async move {
                        let mut connection = Connection::connect(&address, std::time::Duration::from_secs(10)).await?;
                        let args: Vec<&[u8]> = args.iter().map(|arg| arg.as_bytes()).collect();
                        connection.request(&args).await
                    })
                })
                .join()
                .expect("query thread")
        });
        reply.unwrap_or_else(|error: ConnectionError| panic!("query {args:?}: {error}"))
    }

    pub fn integer(&self, args: &[&str]) -> i64 {
        match self.query(args) {
            Frame::Integer(value) => value,
            Frame::BulkString(text) => String::from_utf8_lossy(&text).parse().expect("a number"),
            other => panic!("{args:?} replied {other:?}"),
        }
    }

    /// Every key matching `pattern`.
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        match self.query(&["KEYS", pattern]) {
            Frame::Array(keys) => keys
                .into_iter()
                .map(|key| match key {
                    Frame::BulkString(text) => String::from_utf8_lossy(&text).into_owned(),
                    other => panic!("key {other:?}"),
                })
                .collect(),
            other => panic!("KEYS replied {other:?}"),
        }
    }
}
