//! `UdpGossipTransport`: chitchat's UDP transport, bound before gossip starts.
//!
//! chitchat binds its socket itself, inside `spawn_chitchat`, so with port 0
//! nobody learns which port it got; yet a node must announce its real gossip
//! port (`@cport` in CLUSTER NODES) before gossip starts. This transport binds
//! first, reports the port, and hands the bound socket to chitchat when it
//! opens the transport. It also counts the gossip messages each way, which
//! CLUSTER INFO reports as `cluster_stats_messages_sent` / `_received`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use async_trait::async_trait;
use chitchat::transport::{Socket, Transport};
use chitchat::{ChitchatMessage, Deserializable, Serializable};

/// chitchat's own bound on one datagram's payload.
const DATAGRAM_BYTES_MAX: usize = 65_507;

/// Gossip messages sent and received through one transport.
#[derive(Debug, Default)]
pub struct GossipCounters {
    sent: AtomicU64,
    received: AtomicU64,
}

impl GossipCounters {
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

pub struct UdpGossipTransport {
    /// Taken by the one `open` chitchat makes.
    socket_opt: Mutex<Option<std::net::UdpSocket>>,
    local_addr: SocketAddr,
    counters: Arc<GossipCounters>,
}

impl UdpGossipTransport {
    /// Binds `address` now (port 0 picks a free port).
    pub fn bind(address: SocketAddr) -> std::io::Result<UdpGossipTransport> {
        let socket = std::net::UdpSocket::bind(address)?;
        socket.set_nonblocking(true)?;
        let local_addr = socket.local_addr()?;
        Ok(UdpGossipTransport {
            socket_opt: Mutex::new(Some(socket)),
            local_addr,
            counters: Arc::new(GossipCounters::default()),
        })
    }

    /// The bound address, with the real port.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn counters(&self) -> Arc<GossipCounters> {
        self.counters.clone()
    }
}

#[async_trait]
impl Transport for UdpGossipTransport {
    async fn open(&self, listen_addr: SocketAddr) -> anyhow::Result<Box<dyn Socket>> {
        anyhow::ensure!(
            listen_addr.ip() == self.local_addr.ip()
                && (listen_addr.port() == 0 || listen_addr.port() == self.local_addr.port()),
            "gossip transport is bound to {}, not {listen_addr}",
            self.local_addr
        );
        let socket = self
            .socket_opt
            .lock()
            .expect("transport lock poisoned")
            .take()
            .context("the gossip transport was already opened")?;
        Ok(Box::new(CountingUdpSocket {
            socket: tokio::net::UdpSocket::from_std(socket)?,
            send_buffer: Vec::with_capacity(DATAGRAM_BYTES_MAX),
            receive_buffer: vec![0; DATAGRAM_BYTES_MAX].into_boxed_slice(),
            counters: self.counters.clone(),
        }))
    }
}

struct CountingUdpSocket {
    socket: tokio::net::UdpSocket,
    send_buffer: Vec<u8>,
    receive_buffer: Box<[u8]>,
    counters: Arc<GossipCounters>,
}

#[async_trait]
impl Socket for CountingUdpSocket {
    async fn send(&mut self, to: SocketAddr, message: ChitchatMessage) -> anyhow::Result<()> {
        self.send_buffer.clear();
        message.serialize(&mut self.send_buffer);
        // A peer that is down makes sends fail (ICMP unreachable surfaces as
        // ECONNREFUSED on the next call): that is gossip's normal weather,
        // not a broken transport.
        match self.socket.send_to(&self.send_buffer, to).await {
            Ok(_) => {
                self.counters.sent.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(error) if is_transient(&error) => Ok(()),
            Err(error) => Err(error).context("sending a gossip message"),
        }
    }

    async fn recv(&mut self) -> anyhow::Result<(SocketAddr, ChitchatMessage)> {
        loop {
            let (length, from) = match self.socket.recv_from(&mut self.receive_buffer).await {
                Ok(received) => received,
                Err(error) if is_transient(&error) => continue,
                Err(error) => return Err(error).context("receiving a gossip message"),
            };
            let mut payload = &self.receive_buffer[..length];
            match ChitchatMessage::deserialize(&mut payload) {
                Ok(message) => {
                    self.counters.received.fetch_add(1, Ordering::Relaxed);
                    return Ok((from, message));
                }
                Err(error) => tracing::warn!(%from, length, %error, "ignoring an invalid gossip datagram"),
            }
        }
    }
}

fn is_transient(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::OutOfMemory
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn binds_before_opening_and_counts_messages() {
        let first = UdpGossipTransport::bind(([127, 0, 0, 1], 0).into()).unwrap();
        let second = UdpGossipTransport::bind(([127, 0, 0, 1], 0).into()).unwrap();
        assert_ne!(first.local_addr().port(), 0);
        let mut first_socket = first.open(first.local_addr()).await.unwrap();
        let mut second_socket = second.open(([127, 0, 0, 1], 0).into()).await.unwrap();
        assert!(first.open(first.local_addr()).await.is_err(), "opens once");
        first_socket
            .send(second.local_addr(), ChitchatMessage::BadCluster)
            .await
            .unwrap();
        let (from, message) = second_socket.recv().await.unwrap();
        assert_eq!(from, first.local_addr());
        assert!(matches!(message, ChitchatMessage::BadCluster));
        assert_eq!((first.counters().sent(), first.counters().received()), (1, 0));
        assert_eq!((second.counters().sent(), second.counters().received()), (0, 1));
    }

    #[tokio::test]
    async fn refuses_another_address() {
        let transport = UdpGossipTransport::bind(([127, 0, 0, 1], 0).into()).unwrap();
        assert!(transport.open(([127, 0, 0, 2], 7000).into()).await.is_err());
    }
}
