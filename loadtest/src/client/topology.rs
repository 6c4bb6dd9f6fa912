//! Which node serves which slot, as CLUSTER SLOTS tells it, shared by every
//! client of a run.
//!
//! Each client keeps its own `Arc<SlotTable>` and patches it on MOVED like
//! redis-py does, so one redirect costs one retry. A patch also asks the
//! shared `Topology` for a full refresh; one task per runtime thread fetches
//! CLUSTER SLOTS and bumps the generation, and clients pick the new table up
//! at their next batch.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use starling_protocol::{Frame, SLOT_COUNT};

use super::connection::{Connection, ConnectionError};

/// Marks a slot no node serves.
pub const UNASSIGNED: u16 = u16::MAX;

/// How the target serves keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// One server holds every key.
    Standalone,
    /// Keys are routed by hash slot with CLUSTER SLOTS.
    Cluster,
}

/// Slot → node, plus the `host:port` of every node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotTable {
    pub nodes: Vec<String>,
    /// Index into `nodes` for each slot, or [`UNASSIGNED`].
    pub slot_nodes: Vec<u16>,
}

impl SlotTable {
    /// The table of a standalone server: every slot on `address`.
    pub fn single(address: &str) -> SlotTable {
        SlotTable {
            nodes: vec![address.to_string()],
            slot_nodes: vec![0; usize::from(SLOT_COUNT)],
        }
    }

    /// Builds the table from a CLUSTER SLOTS reply. `seed_host` replaces an
    /// empty or `?` endpoint, which Redis sends when it does not know its own.
    pub fn from_cluster_slots(reply: &Frame, seed_host: &str) -> Result<SlotTable, String> {
        let Frame::Array(ranges) = reply else {
            return Err(format!("CLUSTER SLOTS replied {reply:?}"));
        };
        let mut table = SlotTable {
            nodes: Vec::new(),
            slot_nodes: vec![UNASSIGNED; usize::from(SLOT_COUNT)],
        };
        for range in ranges {
            let (start, end, address) = parse_slot_range(range, seed_host)?;
            let node_index = table.node_index(&address);
            for slot in start..=end {
                table.slot_nodes[usize::from(slot)] = node_index;
            }
        }
        Ok(table)
    }

    /// The index of `address`, added if new.
    pub fn node_index(&mut self, address: &str) -> u16 {
        if let Some(index) = self.nodes.iter().position(|node| node == address) {
            return index as u16;
        }
        self.nodes.push(address.to_string());
        (self.nodes.len() - 1) as u16
    }

    pub fn assigned_slots(&self) -> usize {
        self.slot_nodes.iter().filter(|&&node| node != UNASSIGNED).count()
    }
}

fn parse_slot_range(range: &Frame, seed_host: &str) -> Result<(u16, u16, String), String> {
    let malformed = || format!("malformed CLUSTER SLOTS entry {range:?}");
    let Frame::Array(fields) = range else {
        return Err(malformed());
    };
    let (Some(Frame::Integer(start)), Some(Frame::Integer(end)), Some(Frame::Array(primary))) =
        (fields.first(), fields.get(1), fields.get(2))
    else {
        return Err(malformed());
    };
    let (Some(host), Some(Frame::Integer(port))) = (primary.first().and_then(text), primary.get(1)) else {
        return Err(malformed());
    };
    let valid_slot = |slot: i64| (0..i64::from(SLOT_COUNT)).contains(&slot);
    if !valid_slot(*start) || !valid_slot(*end) || start > end {
        return Err(malformed());
    }
    let host = if host.is_empty() || host == "?" {
        seed_host
    } else {
        host
    };
    Ok((*start as u16, *end as u16, format!("{host}:{port}")))
}

fn text(frame: &Frame) -> Option<&str> {
    match frame {
        Frame::BulkString(bytes) | Frame::SimpleString(bytes) => std::str::from_utf8(bytes).ok(),
        _ => None,
    }
}

/// The host part of `host:port`.
pub fn host_of(address: &str) -> &str {
    address.rsplit_once(':').map_or(address, |(host, _)| host)
}

/// Asks `address` for CLUSTER SLOTS. `Ok(None)` means the server runs without cluster mode.
pub async fn fetch_cluster_slots(address: &str, timeout: Duration) -> Result<Option<SlotTable>, String> {
    let mut connection = Connection::connect(address, timeout)
        .await
        .map_err(|error| format!("{address}: {error}"))?;
    let reply = connection
        .request(&[b"CLUSTER", b"SLOTS"])
        .await
        .map_err(|error: ConnectionError| format!("{address}: {error}"))?;
    if let Frame::Error(message) = &reply {
        if is_cluster_disabled(message) {
            return Ok(None);
        }
        return Err(format!("{address}: {}", String::from_utf8_lossy(message)));
    }
    SlotTable::from_cluster_slots(&reply, host_of(address)).map(Some)
}

fn is_cluster_disabled(message: &Bytes) -> bool {
    // Redis: "ERR This instance has cluster support disabled"; other servers
    // (and Redis before 7 for some commands) answer "unknown command".
    let message = String::from_utf8_lossy(message).to_ascii_lowercase();
    message.contains("cluster support disabled") || message.contains("unknown command")
}

/// The topology every client of a run shares.
pub struct Topology {
    pub mode: Mode,
    seeds: Vec<String>,
    table: RwLock<Arc<SlotTable>>,
    generation: AtomicU64,
    refreshing: AtomicBool,
    timeout: Duration,
    refreshes: AtomicU64,
}

impl Topology {
    /// Discovers the target through `seeds`: in `Mode::Cluster` or when
    /// `mode_opt` is `None` and the first reachable seed answers CLUSTER SLOTS.
    pub async fn discover(seeds: &[String], mode_opt: Option<Mode>, timeout: Duration) -> anyhow::Result<Topology> {
        anyhow::ensure!(!seeds.is_empty(), "no target address");
        let (mode, table) = match mode_opt {
            Some(Mode::Standalone) => (Mode::Standalone, SlotTable::single(&seeds[0])),
            _ => match fetch_from_any(seeds, timeout).await? {
                Some(table) => (Mode::Cluster, table),
                None if mode_opt == Some(Mode::Cluster) => {
                    anyhow::bail!("{} does not run in cluster mode", seeds[0])
                }
                None => (Mode::Standalone, SlotTable::single(&seeds[0])),
            },
        };
        Ok(Topology::with_table(mode, seeds, table, timeout))
    }

    /// A topology that starts from a given table (refreshes still ask `seeds`).
    pub fn with_table(mode: Mode, seeds: &[String], table: SlotTable, timeout: Duration) -> Topology {
        Topology {
            mode,
            seeds: seeds.to_vec(),
            table: RwLock::new(Arc::new(table)),
            generation: AtomicU64::new(1),
            refreshing: AtomicBool::new(false),
            timeout,
            refreshes: AtomicU64::new(0),
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn table(&self) -> Arc<SlotTable> {
        self.table.read().expect("topology lock").clone()
    }

    /// How many full refreshes completed.
    pub fn refresh_count(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// Starts a background refresh unless one is running. Needs a tokio runtime.
    pub fn request_refresh(self: &Arc<Self>) {
        if self.mode == Mode::Standalone || self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let topology = Arc::clone(self);
        tokio::spawn(async move {
            topology.refresh().await;
            topology.refreshing.store(false, Ordering::Release);
        });
    }

    /// Fetches CLUSTER SLOTS from a known node (or a seed) and installs it.
    pub async fn refresh(&self) {
        let mut candidates = self.table().nodes.clone();
        candidates.extend(self.seeds.iter().cloned());
        if let Ok(Some(table)) = fetch_from_any(&candidates, self.timeout).await {
            *self.table.write().expect("topology lock") = Arc::new(table);
            self.generation.fetch_add(1, Ordering::AcqRel);
            self.refreshes.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// CLUSTER SLOTS from the first address that answers.
async fn fetch_from_any(addresses: &[String], timeout: Duration) -> anyhow::Result<Option<SlotTable>> {
    let mut last_error = String::new();
    for address in addresses {
        match fetch_cluster_slots(address, timeout).await {
            Ok(table_opt) => return Ok(table_opt),
            Err(error) => last_error = error,
        }
    }
    anyhow::bail!("no seed answered CLUSTER SLOTS: {last_error}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Frame {
        Frame::BulkString(Bytes::copy_from_slice(text.as_bytes()))
    }

    fn range(start: i64, end: i64, host: &str, port: i64) -> Frame {
        Frame::Array(vec![
            Frame::Integer(start),
            Frame::Integer(end),
            Frame::Array(vec![bulk(host), Frame::Integer(port), bulk("id")]),
        ])
    }

    #[test]
    fn cluster_slots_become_a_slot_table() {
        let reply = Frame::Array(vec![
            range(0, 5460, "127.0.0.1", 7001),
            range(5461, 10922, "", 7002),
            range(10923, 16383, "127.0.0.1", 7001),
        ]);
        let table = SlotTable::from_cluster_slots(&reply, "10.0.0.9").unwrap();
        assert_eq!(table.nodes, vec!["127.0.0.1:7001", "10.0.0.9:7002"]);
        assert_eq!(table.slot_nodes[0], 0);
        assert_eq!(table.slot_nodes[5461], 1);
        assert_eq!(table.slot_nodes[16383], 0);
        assert_eq!(table.assigned_slots(), usize::from(SLOT_COUNT));
    }

    #[test]
    fn holes_stay_unassigned_and_bad_ranges_are_rejected() {
        let table = SlotTable::from_cluster_slots(&Frame::Array(vec![range(10, 20, "h", 1)]), "s").unwrap();
        assert_eq!(table.assigned_slots(), 11);
        assert_eq!(table.slot_nodes[9], UNASSIGNED);
        for bad in [range(20, 10, "h", 1), range(0, 16384, "h", 1), Frame::Integer(3)] {
            assert!(SlotTable::from_cluster_slots(&Frame::Array(vec![bad]), "s").is_err());
        }
    }

    #[test]
    fn host_of_strips_the_port() {
        assert_eq!(host_of("127.0.0.1:6379"), "127.0.0.1");
        assert_eq!(host_of("node-1.example:7000"), "node-1.example");
    }
}
