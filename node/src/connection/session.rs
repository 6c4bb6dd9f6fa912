//! `Session`: one connection's state, as commands see it.

use std::sync::Arc;

use starling_protocol::ProtocolVersion;

use super::client::ClientHandle;
use crate::server::ServerContext;
use crate::shard::ShardRouter;

pub struct Session {
    pub server: Arc<ServerContext>,
    pub router: ShardRouter,
    pub client: Arc<ClientHandle>,
    pub protocol: ProtocolVersion,
    /// Set by QUIT (and protocol errors): close once the replies are written.
    pub close_after_reply: bool,
    /// READONLY in cluster mode: a replica may serve this client's reads.
    pub cluster_readonly: bool,
    /// Cluster mode: commands dispatched so far on this connection (ASKING
    /// applies to the next one only).
    pub command_sequence: u64,
    /// The `command_sequence` of the command ASKING applies to.
    asking_command_opt: Option<u64>,
}

impl Session {
    pub fn new(server: Arc<ServerContext>, router: ShardRouter, client: Arc<ClientHandle>) -> Session {
        Session {
            server,
            router,
            client,
            protocol: ProtocolVersion::Resp2,
            close_after_reply: false,
            cluster_readonly: false,
            command_sequence: 0,
            asking_command_opt: None,
        }
    }

    /// ASKING: the next command may be served from a slot being imported.
    pub fn set_asking(&mut self) {
        self.asking_command_opt = Some(self.command_sequence + 1);
    }

    /// Whether the command being run follows an ASKING. The flag lasts one
    /// command, as in Redis.
    pub fn is_asking(&self) -> bool {
        self.asking_command_opt == Some(self.command_sequence)
    }

    pub fn set_protocol(&mut self, protocol: ProtocolVersion) {
        self.protocol = protocol;
        let number = match protocol {
            ProtocolVersion::Resp2 => 2,
            ProtocolVersion::Resp3 => 3,
        };
        self.client
            .protocol_version
            .store(number, std::sync::atomic::Ordering::Relaxed);
    }

    /// RESET: back to the state of a fresh connection (RESP2, no name, no
    /// READONLY, no CLIENT NO-EVICT / NO-TOUCH). Families that keep per-connection state
    /// (transactions, subscriptions...) clear it here too. The library name
    /// and version stay, as in Redis.
    pub fn reset(&mut self) {
        self.set_protocol(ProtocolVersion::Resp2);
        self.client.update_names(|names| names.name.clear());
        self.cluster_readonly = false;
        self.asking_command_opt = None;
        self.client.no_evict.store(false, std::sync::atomic::Ordering::Relaxed);
        self.client.no_touch.store(false, std::sync::atomic::Ordering::Relaxed);
    }
}
