//! `Session`: one connection's state, as commands see it.

use std::sync::Arc;

use bytes::Bytes;
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
    /// Between MULTI and EXEC or DISCARD (`commands/transaction.rs`).
    pub transaction_opt: Option<Transaction>,
    /// While EXEC runs a transaction opened after ASKING.
    asking_for_transaction: bool,
}

/// A transaction being queued.
#[derive(Default)]
pub struct Transaction {
    pub queued: Vec<Vec<Bytes>>,
    /// MULTI followed ASKING: every queued command runs as if after ASKING.
    pub asking: bool,
    /// A command could not be queued: EXEC will refuse with EXECABORT.
    pub doomed: bool,
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
            transaction_opt: None,
            asking_for_transaction: false,
        }
    }

    /// ASKING: the next command may be served from a slot being imported.
    pub fn set_asking(&mut self) {
        self.asking_command_opt = Some(self.command_sequence + 1);
    }

    /// Whether the command being run follows an ASKING. The flag lasts one
    /// command, or, set before MULTI, the whole transaction, as in Redis.
    pub fn is_asking(&self) -> bool {
        self.asking_for_transaction || self.asking_command_opt == Some(self.command_sequence)
    }

    /// EXEC: whether its commands run as after ASKING.
    pub fn set_asking_for_transaction(&mut self, asking: bool) {
        self.asking_for_transaction = asking;
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

    /// MULTI.
    pub fn begin_transaction(&mut self) {
        self.transaction_opt = Some(Transaction {
            asking: self.is_asking(),
            ..Transaction::default()
        });
        self.client.multi_queued.store(0, std::sync::atomic::Ordering::Relaxed);
    }

    /// Queues a command of the open transaction.
    pub fn queue_in_transaction(&mut self, args: Vec<Bytes>) {
        let transaction = self.transaction_opt.as_mut().expect("MULTI is open");
        transaction.queued.push(args);
        self.client
            .multi_queued
            .store(transaction.queued.len() as i64, std::sync::atomic::Ordering::Relaxed);
    }

    /// EXEC, DISCARD, RESET: closes the transaction and returns it.
    pub fn end_transaction(&mut self) -> Option<Transaction> {
        self.client.multi_queued.store(-1, std::sync::atomic::Ordering::Relaxed);
        self.transaction_opt.take()
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
        self.end_transaction();
        self.client.no_evict.store(false, std::sync::atomic::Ordering::Relaxed);
        self.client.no_touch.store(false, std::sync::atomic::Ordering::Relaxed);
    }
}
