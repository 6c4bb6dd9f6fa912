//! The client registry: what CLIENT LIST/INFO/KILL and INFO clients see of
//! every connection. Each connection owns its `ClientHandle`; the registry
//! only holds shared references to it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use dashmap::DashMap;
use tokio::sync::Notify;

/// Fields that change rarely (names set by CLIENT SETNAME / SETINFO / HELLO).
#[derive(Clone, Debug, Default)]
pub struct ClientNames {
    pub name: String,
    pub lib_name: String,
    pub lib_version: String,
}

pub struct ClientHandle {
    pub id: u64,
    pub peer_address: SocketAddr,
    pub local_address: SocketAddr,
    pub created_at: Instant,
    pub names: Mutex<ClientNames>,
    /// Milliseconds since `created_at` of the last command.
    pub last_interaction_ms: AtomicU64,
    pub last_command: Mutex<&'static str>,
    pub protocol_version: AtomicU8,
    pub query_buffer_bytes: AtomicUsize,
    pub output_buffer_bytes: AtomicUsize,
    /// Woken by CLIENT KILL; the connection then closes.
    pub kill: Notify,
    /// Raised when the peer closes its side while a command is still running
    /// (a blocking pop, DEBUG SLEEP): such commands stop waiting.
    disconnected: AtomicBool,
    disconnected_notify: Notify,
    /// Set while the client waits in a blocking command (`b` in CLIENT
    /// LIST, INFO `blocked_clients`, CLIENT UNBLOCK).
    blocked: AtomicBool,
    /// The CLIENT UNBLOCK request for the current wait (`UNBLOCK_*`).
    unblock_request: AtomicU8,
    unblock_notify: Notify,
    /// CLIENT NO-EVICT: exempt from client eviction (`e` in CLIENT LIST).
    pub no_evict: AtomicBool,
    /// CLIENT NO-TOUCH: reads leave keys' access clocks alone (`T` in CLIENT LIST).
    pub no_touch: AtomicBool,
    /// Commands queued since MULTI; -1 outside a transaction (`multi=`).
    pub multi_queued: AtomicI64,
}

/// No CLIENT UNBLOCK request is pending.
const UNBLOCK_NONE: u8 = 0;
const UNBLOCK_TIMEOUT: u8 = 1;
const UNBLOCK_ERROR: u8 = 2;

/// How CLIENT UNBLOCK ends a blocking command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnblockMode {
    /// The command replies as if its timeout had expired.
    Timeout,
    /// The command replies `-UNBLOCKED client unblocked via CLIENT UNBLOCK`.
    Error,
}

impl ClientHandle {
    pub fn names(&self) -> ClientNames {
        self.names.lock().expect("client names lock poisoned").clone()
    }

    pub fn update_names(&self, update: impl FnOnce(&mut ClientNames)) {
        update(&mut self.names.lock().expect("client names lock poisoned"));
    }

    pub fn idle_secs(&self) -> u64 {
        let now_ms = self.created_at.elapsed().as_millis() as u64;
        now_ms.saturating_sub(self.last_interaction_ms.load(Ordering::Relaxed)) / 1000
    }

    pub fn touch(&self, command: &'static str) {
        self.last_interaction_ms
            .store(self.created_at.elapsed().as_millis() as u64, Ordering::Relaxed);
        *self.last_command.lock().expect("last command lock poisoned") = command;
    }

    /// Asks the connection to close (CLIENT KILL). `notify_one` stores a
    /// permit, so a connection busy running commands closes at its next read.
    /// Records that the peer has gone and wakes whoever waits for it.
    pub fn mark_disconnected(&self) {
        self.disconnected.store(true, Ordering::Release);
        self.disconnected_notify.notify_waiters();
    }

    pub fn is_disconnected(&self) -> bool {
        self.disconnected.load(Ordering::Acquire)
    }

    /// Resolves once the peer has closed the connection.
    pub async fn disconnected(&self) {
        loop {
            let notified = self.disconnected_notify.notified();
            let mut notified = std::pin::pin!(notified);
            // Register before checking the flag, so a wake-up between the
            // check and the await cannot be missed.
            notified.as_mut().enable();
            if self.is_disconnected() {
                return;
            }
            notified.await;
        }
    }

    /// Marks the start of a blocking wait; clears any stale unblock request.
    pub fn begin_blocking(&self) {
        self.unblock_request.store(UNBLOCK_NONE, Ordering::Release);
        self.blocked.store(true, Ordering::Release);
    }

    /// Marks the end of a blocking wait.
    pub fn end_blocking(&self) {
        self.blocked.store(false, Ordering::Release);
        self.unblock_request.store(UNBLOCK_NONE, Ordering::Release);
    }

    pub fn is_blocked(&self) -> bool {
        self.blocked.load(Ordering::Acquire)
    }

    /// CLIENT UNBLOCK: asks a blocked client to stop waiting. Returns false
    /// if the client is not blocked.
    pub fn request_unblock(&self, mode: UnblockMode) -> bool {
        if !self.is_blocked() {
            return false;
        }
        let request = match mode {
            UnblockMode::Timeout => UNBLOCK_TIMEOUT,
            UnblockMode::Error => UNBLOCK_ERROR,
        };
        self.unblock_request.store(request, Ordering::Release);
        self.unblock_notify.notify_waiters();
        true
    }

    /// Resolves once CLIENT UNBLOCK was called for the current wait.
    pub async fn unblock_requested(&self) -> UnblockMode {
        loop {
            let notified = self.unblock_notify.notified();
            let mut notified = std::pin::pin!(notified);
            // Register before checking, so a request between the check and
            // the await cannot be missed.
            notified.as_mut().enable();
            match self.unblock_request.load(Ordering::Acquire) {
                UNBLOCK_TIMEOUT => return UnblockMode::Timeout,
                UNBLOCK_ERROR => return UnblockMode::Error,
                _ => notified.await,
            }
        }
    }

    pub fn request_kill(&self) {
        self.kill.notify_one();
    }

    /// The `flags=` field of CLIENT LIST, in Redis's letter order; `N` when
    /// no flag is set.
    pub fn flags(&self) -> String {
        let mut flags = String::new();
        if self.multi_queued.load(Ordering::Relaxed) >= 0 {
            flags.push('x');
        }
        if self.is_blocked() {
            flags.push('b');
        }
        if self.no_evict.load(Ordering::Relaxed) {
            flags.push('e');
        }
        if self.no_touch.load(Ordering::Relaxed) {
            flags.push('T');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        flags
    }

    /// One `CLIENT LIST` / `CLIENT INFO` line, without the trailing newline.
    /// The fields are Redis 7.2's, in its order.
    pub fn info_line(&self) -> String {
        let names = self.names();
        let command = *self.last_command.lock().expect("last command lock poisoned");
        format!(
            "id={} addr={} laddr={} fd=-1 name={} age={} idle={} flags={} db=0 sub=0 psub=0 ssub=0 multi={} \
             qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem={} tot-mem=0 \
             events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.peer_address,
            self.local_address,
            names.name,
            self.created_at.elapsed().as_secs(),
            self.idle_secs(),
            self.flags(),
            self.multi_queued.load(Ordering::Relaxed),
            self.query_buffer_bytes.load(Ordering::Relaxed),
            self.output_buffer_bytes.load(Ordering::Relaxed),
            command,
            self.protocol_version.load(Ordering::Relaxed),
            names.lib_name,
            names.lib_version,
        )
    }
}

#[derive(Default)]
pub struct ClientRegistry {
    clients: DashMap<u64, Arc<ClientHandle>>,
    next_id: AtomicU64,
    connected: AtomicUsize,
}

impl ClientRegistry {
    /// Reserves a connection slot; returns false if `maxclients` are connected.
    pub fn try_reserve(&self, maxclients: usize) -> bool {
        self.connected
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |connected| {
                (connected < maxclients).then_some(connected + 1)
            })
            .is_ok()
    }

    /// Registers a connection that holds a reserved slot.
    pub fn register(&self, peer_address: SocketAddr, local_address: SocketAddr) -> Arc<ClientHandle> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let handle = Arc::new(ClientHandle {
            id,
            peer_address,
            local_address,
            created_at: Instant::now(),
            names: Mutex::new(ClientNames::default()),
            last_interaction_ms: AtomicU64::new(0),
            last_command: Mutex::new("NULL"),
            protocol_version: AtomicU8::new(2),
            query_buffer_bytes: AtomicUsize::new(0),
            output_buffer_bytes: AtomicUsize::new(0),
            kill: Notify::new(),
            disconnected: AtomicBool::new(false),
            disconnected_notify: Notify::new(),
            blocked: AtomicBool::new(false),
            unblock_request: AtomicU8::new(UNBLOCK_NONE),
            unblock_notify: Notify::new(),
            no_evict: AtomicBool::new(false),
            no_touch: AtomicBool::new(false),
            multi_queued: AtomicI64::new(-1),
        });
        self.clients.insert(id, handle.clone());
        handle
    }

    /// Removes a connection and frees its slot.
    pub fn unregister(&self, id: u64) {
        if self.clients.remove(&id).is_some() {
            self.connected.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Frees a slot reserved for a connection that never registered.
    pub fn release_reservation(&self) {
        self.connected.fetch_sub(1, Ordering::AcqRel);
    }

    pub fn connected(&self) -> usize {
        self.connected.load(Ordering::Acquire)
    }

    /// Clients waiting in a blocking command (INFO `blocked_clients`).
    pub fn blocked_count(&self) -> usize {
        self.clients.iter().filter(|entry| entry.value().is_blocked()).count()
    }

    pub fn get(&self, id: u64) -> Option<Arc<ClientHandle>> {
        self.clients.get(&id).map(|entry| entry.value().clone())
    }

    /// Every client, ordered by id.
    pub fn all(&self) -> Vec<Arc<ClientHandle>> {
        let mut clients: Vec<_> = self.clients.iter().map(|entry| entry.value().clone()).collect();
        clients.sort_by_key(|client| client.id);
        clients
    }
}
