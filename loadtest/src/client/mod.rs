//! A cluster-aware pipelining client, built for load generation.
//!
//! [`Client::execute`] sends a batch of encoded requests and returns one
//! [`Outcome`] per request, in order. Each request goes to the node that
//! serves its slot; all nodes' parts of a batch are written before any reply
//! is read. Redirects are followed the way cluster clients do:
//! - `MOVED`: patch the slot, ask for a full topology refresh, retry there;
//! - `ASK`: retry once at the named node, preceded by `ASKING`;
//! - `TRYAGAIN`, `CLUSTERDOWN`, an unassigned slot or a refused connection:
//!   back off and retry, up to `max_attempts`.
//!
//! A request that was written but got no reply (timeout, closed connection)
//! is never retried: the server may have run it, and a retried INCR or RPUSH
//! would be counted twice. It is reported as [`Outcome::Indeterminate`].

pub mod connection;
pub mod topology;

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use starling_protocol::Frame;

pub use connection::{encode_request, Connection, ConnectionError};
pub use topology::{Mode, SlotTable, Topology, UNASSIGNED};

#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Bounds connecting, one write and the wait for one reply.
    pub timeout: Duration,
    /// Sends of one request, the first included, before its last redirect is its outcome.
    pub max_attempts: u32,
    /// The pause before retry `n` is `n * retry_backoff`, at most `retry_pause_max`.
    pub retry_backoff: Duration,
    pub retry_pause_max: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(5),
            max_attempts: 10,
            retry_backoff: Duration::from_millis(20),
            retry_pause_max: Duration::from_millis(200),
        }
    }
}

/// One request: its routing slot (`None` for keyless commands) and its RESP bytes.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub slot_opt: Option<u16>,
    pub encoded: BytesMut,
}

/// What became of one request.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The server's reply, error replies included.
    Reply(Frame),
    /// Never written: it did not run. The label says why (`io`, `no node`...).
    Unsent(&'static str),
    /// Written without a reply: it may or may not have run.
    Indeterminate(&'static str),
}

/// Redirects and retries seen by a client: results of a run, not noise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RedirectCounts {
    pub moved: u64,
    pub ask: u64,
    pub tryagain: u64,
    pub clusterdown: u64,
    pub reconnects: u64,
}

impl RedirectCounts {
    pub fn add(&mut self, other: &RedirectCounts) {
        self.moved += other.moved;
        self.ask += other.ask;
        self.tryagain += other.tryagain;
        self.clusterdown += other.clusterdown;
        self.reconnects += other.reconnects;
    }

    pub fn redirects(&self) -> u64 {
        self.moved + self.ask
    }
}

/// Marks a dispatch whose slot no node serves.
const NO_POOL_ENTRY: usize = usize::MAX;

/// One request on its way to one pool entry.
#[derive(Clone, Copy, Debug)]
struct Dispatch {
    request: usize,
    pool_index: usize,
    asking: bool,
}

struct PooledConnection {
    address: String,
    connection_opt: Option<Connection>,
    /// Requests of the current attempt for this node.
    dispatches: Vec<Dispatch>,
}

/// What a reply asks the client to do next.
enum Redirect {
    None,
    Moved { slot: u16, address: String },
    Ask { address: String },
    Retry,
}

pub struct Client {
    topology: Arc<Topology>,
    table: Arc<SlotTable>,
    generation: u64,
    pool: Vec<PooledConnection>,
    /// Pool index of each node of `table`.
    table_to_pool: Vec<usize>,
    options: ClientOptions,
    pub counts: RedirectCounts,
    /// MOVED and ASK replies each request of the last batch followed.
    request_redirects: Vec<u32>,
    pending: Vec<Dispatch>,
    retries: Vec<Dispatch>,
}

impl Client {
    pub fn new(topology: Arc<Topology>, options: ClientOptions) -> Client {
        let mut client = Client {
            table: topology.table(),
            generation: topology.generation(),
            topology,
            pool: Vec::new(),
            table_to_pool: Vec::new(),
            options,
            counts: RedirectCounts::default(),
            request_redirects: Vec::new(),
            pending: Vec::new(),
            retries: Vec::new(),
        };
        client.map_table_to_pool();
        client
    }

    /// How many MOVED and ASK replies each request of the last batch followed.
    pub fn request_redirects(&self) -> &[u32] {
        &self.request_redirects
    }

    pub fn topology(&self) -> &Arc<Topology> {
        &self.topology
    }

    /// Runs `requests` and fills `outcomes` with one outcome per request, in order.
    pub async fn execute(&mut self, requests: &[Request], outcomes: &mut Vec<Outcome>) {
        self.pick_up_new_table();
        outcomes.clear();
        outcomes.resize(requests.len(), Outcome::Unsent("no attempt"));
        self.request_redirects.clear();
        self.request_redirects.resize(requests.len(), 0);
        let mut pending = std::mem::take(&mut self.pending);
        pending.clear();
        for (request_index, request) in requests.iter().enumerate() {
            let pool_index = self.pool_index_for(request.slot_opt);
            pending.push(Dispatch {
                request: request_index,
                pool_index,
                asking: false,
            });
        }
        for attempt in 1..=self.options.max_attempts {
            let mut retries = std::mem::take(&mut self.retries);
            retries.clear();
            let back_off = self.attempt(requests, &pending, outcomes, &mut retries).await;
            std::mem::swap(&mut pending, &mut retries);
            self.retries = retries;
            if pending.is_empty() {
                break;
            }
            if back_off && attempt < self.options.max_attempts {
                tokio::time::sleep((self.options.retry_backoff * attempt).min(self.options.retry_pause_max)).await;
                self.pick_up_new_table();
                for dispatch in pending.iter_mut().filter(|dispatch| !dispatch.asking) {
                    dispatch.pool_index = self.pool_index_for(requests[dispatch.request].slot_opt);
                }
            }
        }
        self.pending = pending;
    }

    /// One round: write every pending request to its node, then read the
    /// replies. Returns whether the retries should wait first.
    async fn attempt(
        &mut self,
        requests: &[Request],
        pending: &[Dispatch],
        outcomes: &mut [Outcome],
        retries: &mut Vec<Dispatch>,
    ) -> bool {
        let mut back_off = false;
        for dispatch in pending {
            if dispatch.pool_index == NO_POOL_ENTRY {
                outcomes[dispatch.request] = Outcome::Unsent("no node");
                retries.push(*dispatch);
                back_off = true;
                self.topology.request_refresh();
                continue;
            }
            self.pool[dispatch.pool_index].dispatches.push(*dispatch);
        }
        for pool_index in 0..self.pool.len() {
            if self.pool[pool_index].dispatches.is_empty() {
                continue;
            }
            if !self.send(pool_index, requests, outcomes, retries).await {
                back_off = true;
            }
        }
        for pool_index in 0..self.pool.len() {
            if self.pool[pool_index].dispatches.is_empty() {
                continue;
            }
            back_off |= self.receive(pool_index, outcomes, retries).await;
        }
        back_off
    }

    /// Connects if needed and writes this node's dispatches. On failure they
    /// are settled (unsent ones queued for retry) and `false` is returned.
    async fn send(
        &mut self,
        pool_index: usize,
        requests: &[Request],
        outcomes: &mut [Outcome],
        retries: &mut Vec<Dispatch>,
    ) -> bool {
        let timeout = self.options.timeout;
        let entry = &mut self.pool[pool_index];
        if entry.connection_opt.is_none() {
            match Connection::connect(&entry.address, timeout).await {
                Ok(connection) => {
                    entry.connection_opt = Some(connection);
                    self.counts.reconnects += 1;
                }
                Err(error) => {
                    for dispatch in entry.dispatches.drain(..) {
                        outcomes[dispatch.request] = Outcome::Unsent(error.kind());
                        retries.push(dispatch);
                    }
                    self.topology.request_refresh();
                    return false;
                }
            }
        }
        let connection = entry.connection_opt.as_mut().expect("connected above");
        for dispatch in &entry.dispatches {
            if dispatch.asking {
                connection.queue_args(&[b"ASKING"]);
            }
            connection.queue(&requests[dispatch.request].encoded);
        }
        if let Err(error) = connection.flush().await {
            for dispatch in entry.dispatches.drain(..) {
                outcomes[dispatch.request] = Outcome::Indeterminate(error.kind());
            }
            entry.connection_opt = None;
            return false;
        }
        true
    }

    /// Reads this node's replies in order. Returns whether a retry should wait.
    async fn receive(&mut self, pool_index: usize, outcomes: &mut [Outcome], retries: &mut Vec<Dispatch>) -> bool {
        let mut dispatches = std::mem::take(&mut self.pool[pool_index].dispatches);
        let mut back_off = false;
        let mut failure_opt = None;
        for dispatch in dispatches.drain(..) {
            if let Some(kind) = failure_opt {
                outcomes[dispatch.request] = Outcome::Indeterminate(kind);
                continue;
            }
            let connection = self.pool[pool_index].connection_opt.as_mut().expect("sent on it");
            let reply = match read_after_asking(connection, dispatch.asking).await {
                Ok(reply) => reply,
                Err(error) => {
                    failure_opt = Some(error.kind());
                    outcomes[dispatch.request] = Outcome::Indeterminate(error.kind());
                    continue;
                }
            };
            back_off |= self.follow(dispatch, pool_index, reply, outcomes, retries);
        }
        if failure_opt.is_some() {
            self.pool[pool_index].connection_opt = None;
            self.topology.request_refresh();
        }
        self.pool[pool_index].dispatches = dispatches;
        back_off
    }

    /// Settles one reply or queues its retry. Returns whether the retry should wait.
    fn follow(
        &mut self,
        dispatch: Dispatch,
        pool_index: usize,
        reply: Frame,
        outcomes: &mut [Outcome],
        retries: &mut Vec<Dispatch>,
    ) -> bool {
        let redirect = classify(&reply, host_of_pool(&self.pool[pool_index].address));
        outcomes[dispatch.request] = Outcome::Reply(reply);
        match redirect {
            Redirect::None => false,
            Redirect::Moved { slot, address } => {
                self.counts.moved += 1;
                self.request_redirects[dispatch.request] += 1;
                let table = Arc::make_mut(&mut self.table);
                let node_index = table.node_index(&address);
                table.slot_nodes[usize::from(slot)] = node_index;
                self.map_table_to_pool();
                self.topology.request_refresh();
                retries.push(Dispatch {
                    pool_index: self.table_to_pool[usize::from(node_index)],
                    asking: false,
                    ..dispatch
                });
                false
            }
            Redirect::Ask { address } => {
                self.counts.ask += 1;
                self.request_redirects[dispatch.request] += 1;
                retries.push(Dispatch {
                    pool_index: self.pool_entry(&address),
                    asking: true,
                    ..dispatch
                });
                false
            }
            Redirect::Retry => {
                let Outcome::Reply(Frame::Error(message)) = &outcomes[dispatch.request] else {
                    unreachable!("only error replies ask for a retry");
                };
                if message.starts_with(b"TRYAGAIN") {
                    self.counts.tryagain += 1;
                } else {
                    self.counts.clusterdown += 1;
                    self.topology.request_refresh();
                }
                retries.push(Dispatch {
                    asking: false,
                    ..dispatch
                });
                true
            }
        }
    }

    fn pick_up_new_table(&mut self) {
        let generation = self.topology.generation();
        if generation != self.generation {
            self.generation = generation;
            self.table = self.topology.table();
            self.map_table_to_pool();
        }
    }

    fn map_table_to_pool(&mut self) {
        let nodes = self.table.nodes.clone();
        self.table_to_pool = nodes.iter().map(|address| self.pool_entry(address)).collect();
    }

    /// The pool index of `address`, added (unconnected) if new.
    fn pool_entry(&mut self, address: &str) -> usize {
        if let Some(index) = self.pool.iter().position(|entry| entry.address == address) {
            return index;
        }
        self.pool.push(PooledConnection {
            address: address.to_string(),
            connection_opt: None,
            dispatches: Vec::new(),
        });
        self.pool.len() - 1
    }

    fn pool_index_for(&self, slot_opt: Option<u16>) -> usize {
        let node = match slot_opt {
            None => 0,
            Some(_) if self.table.nodes.len() == 1 => 0,
            Some(slot) => self.table.slot_nodes[usize::from(slot)],
        };
        if node == UNASSIGNED || self.table_to_pool.is_empty() {
            return NO_POOL_ENTRY;
        }
        self.table_to_pool[usize::from(node)]
    }
}

async fn read_after_asking(connection: &mut Connection, asking: bool) -> Result<Frame, ConnectionError> {
    if asking {
        // ASKING answers +OK; an error there shows up again on the command itself.
        connection.read_reply().await?;
    }
    connection.read_reply().await
}

fn host_of_pool(address: &str) -> &str {
    topology::host_of(address)
}

/// Reads MOVED, ASK, TRYAGAIN and CLUSTERDOWN replies.
fn classify(reply: &Frame, current_host: &str) -> Redirect {
    let Frame::Error(message) = reply else {
        return Redirect::None;
    };
    if message.starts_with(b"TRYAGAIN") || message.starts_with(b"CLUSTERDOWN") {
        return Redirect::Retry;
    }
    let redirect_target = |message: &Bytes| -> Option<(u16, String)> {
        let text = std::str::from_utf8(message).ok()?;
        let mut words = text.split(' ');
        words.next()?;
        let slot = words.next()?.parse().ok()?;
        let endpoint = words.next()?;
        // Redis sends ":port" when the node does not know its own address.
        let address = match endpoint.strip_prefix(':') {
            Some(port) => format!("{current_host}:{port}"),
            None => endpoint.to_string(),
        };
        Some((slot, address))
    };
    if message.starts_with(b"MOVED ") {
        if let Some((slot, address)) = redirect_target(message) {
            return Redirect::Moved { slot, address };
        }
    }
    if message.starts_with(b"ASK ") {
        if let Some((_, address)) = redirect_target(message) {
            return Redirect::Ask { address };
        }
    }
    Redirect::None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> Frame {
        Frame::Error(Bytes::copy_from_slice(text.as_bytes()))
    }

    #[test]
    fn redirects_are_recognised() {
        match classify(&error("MOVED 3999 127.0.0.1:6381"), "h") {
            Redirect::Moved { slot, address } => assert_eq!((slot, address.as_str()), (3999, "127.0.0.1:6381")),
            _ => panic!("not moved"),
        }
        match classify(&error("ASK 1 :7000"), "10.1.1.1") {
            Redirect::Ask { address } => assert_eq!(address, "10.1.1.1:7000"),
            _ => panic!("not ask"),
        }
        assert!(matches!(
            classify(&error("TRYAGAIN Multiple keys request during rehashing of slot"), "h"),
            Redirect::Retry
        ));
        assert!(matches!(
            classify(&error("CLUSTERDOWN The cluster is down"), "h"),
            Redirect::Retry
        ));
        assert!(matches!(classify(&error("ERR wrong"), "h"), Redirect::None));
        assert!(matches!(classify(&error("MOVED nonsense"), "h"), Redirect::None));
        assert!(matches!(classify(&Frame::Integer(1), "h"), Redirect::None));
    }
}
