//! INFO: the server's state as `field:value` lines grouped in sections.
//!
//! The text follows Redis: each section starts with `# Title`, lines end in
//! CRLF, and sections are separated by an empty line. Sections, in order:
//! server, clients, memory, persistence, stats, replication, cpu, modules,
//! cluster, keyspace. Redis's commandstats, errorstats and latencystats are
//! not tracked yet and are left out.
//!
//! Memory figures come from the operating system: `used_memory` is the
//! resident set size (from `/proc/self/statm`), not the allocator's count of
//! live bytes, so it includes allocator slack and thread stacks.

use std::collections::HashSet;
use std::fmt::Display;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use starling_protocol::Frame;

use crate::commands::error::CommandResult;
use crate::connection::session::Session;
use crate::keyspace::KeyspaceStats;
use crate::server::ServerContext;

/// Every section, in output order. INFO without arguments, `default`, `all`
/// and `everything` all select every one of them.
const SECTIONS: [&str; 10] = [
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "cluster",
    "keyspace",
];

/// The sections an INFO call asked for (case-insensitive). Unknown names
/// select nothing, as in Redis.
fn selected_sections(arguments: &[Bytes]) -> HashSet<&'static str> {
    let mut selected = HashSet::new();
    if arguments.is_empty() {
        selected.extend(SECTIONS);
        return selected;
    }
    for argument in arguments {
        let name = String::from_utf8_lossy(argument).to_ascii_lowercase();
        match name.as_str() {
            "default" | "all" | "everything" => selected.extend(SECTIONS),
            // Redis calls the modules section `module_list` in its defaults.
            "module_list" => {
                selected.insert("modules");
            }
            _ => {
                if let Some(section) = SECTIONS.iter().find(|section| **section == name) {
                    selected.insert(*section);
                }
            }
        }
    }
    selected
}

/// The shards' counters, summed.
#[derive(Default)]
struct KeyspaceTotals {
    keys: usize,
    volatile_keys: usize,
    stats: KeyspaceStats,
    /// Keys some client is blocked on (BLPOP...).
    blocking_keys: usize,
}

/// `INFO [section [section ...]]`: a verbatim string in RESP3, a bulk string
/// in RESP2.
pub fn info(session: &mut Session, args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        let sections = selected_sections(&args[1..]);
        let per_shard = session
            .router
            .run_on_all(|core| {
                (
                    core.keyspace.len(),
                    core.keyspace.volatile_len(),
                    core.keyspace.stats,
                    core.blocking.key_count(),
                )
            })
            .await?;
        let mut totals = KeyspaceTotals::default();
        for (keys, volatile_keys, stats, blocking_keys) in per_shard {
            totals.blocking_keys += blocking_keys;
            totals.keys += keys;
            totals.volatile_keys += volatile_keys;
            totals.stats.hits += stats.hits;
            totals.stats.misses += stats.misses;
            totals.stats.expired_keys += stats.expired_keys;
        }
        let text = render(&session.server, &totals, &sections);
        Ok(Frame::Verbatim {
            format: *b"txt",
            text: Bytes::from(text),
        })
    }
    .boxed_local()
}

/// INFO text being built.
#[derive(Default)]
struct InfoText {
    text: String,
    section_count: usize,
}

impl InfoText {
    fn section(&mut self, title: &str) {
        if self.section_count > 0 {
            self.text.push_str("\r\n");
        }
        self.section_count += 1;
        self.text.push_str("# ");
        self.text.push_str(title);
        self.text.push_str("\r\n");
    }

    fn field(&mut self, name: &str, value: impl Display) {
        self.text.push_str(&format!("{name}:{value}\r\n"));
    }
}

fn render(server: &ServerContext, totals: &KeyspaceTotals, sections: &HashSet<&'static str>) -> String {
    let mut info = InfoText::default();
    for section in SECTIONS.iter().filter(|section| sections.contains(*section)) {
        match *section {
            "server" => server_section(&mut info, server),
            "clients" => clients_section(&mut info, server, totals),
            "memory" => memory_section(&mut info),
            "persistence" => persistence_section(&mut info, server),
            "stats" => stats_section(&mut info, server, totals),
            "replication" => replication_section(&mut info, server),
            "cpu" => cpu_section(&mut info),
            "modules" => info.section("Modules"),
            "cluster" => {
                info.section("Cluster");
                info.field("cluster_enabled", u8::from(server.cluster_enabled));
            }
            "keyspace" => keyspace_section(&mut info, totals),
            other => unreachable!("unknown INFO section {other}"),
        }
    }
    info.text
}

fn server_section(info: &mut InfoText, server: &ServerContext) {
    let config = server.config.load();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let uptime_secs = server.started_at.elapsed().as_secs();
    info.section("Server");
    info.field("redis_version", crate::REDIS_COMPATIBLE_VERSION);
    info.field("starling_version", crate::STARLING_VERSION);
    info.field("redis_git_sha1", "00000000");
    info.field("redis_git_dirty", 0);
    info.field("redis_mode", server.mode_name());
    info.field("os", operating_system());
    info.field("arch_bits", usize::BITS);
    info.field("multiplexing_api", multiplexing_api());
    info.field("process_id", std::process::id());
    info.field("process_supervised", "no");
    info.field("run_id", &server.run_id);
    info.field("tcp_port", server.tcp_port);
    info.field("server_time_usec", now.as_micros());
    info.field("uptime_in_seconds", uptime_secs);
    info.field("uptime_in_days", uptime_secs / 86_400);
    info.field("hz", config.hz);
    info.field("configured_hz", config.hz);
    info.field(
        "executable",
        std::env::current_exe()
            .map(|path| path.display().to_string())
            .unwrap_or_default(),
    );
    info.field(
        "config_file",
        server
            .startup
            .config_file
            .as_ref()
            .map(|path| path.display().to_string())
            .unwrap_or_default(),
    );
    info.field("io_threads_active", 0);
    info.field("shards", server.startup.shards);
    let binds: Vec<String> = server
        .startup
        .bind
        .iter()
        .map(|address| format!("bind={address}"))
        .collect();
    info.field(
        "listener0",
        format!("name=tcp,{},port={}", binds.join(","), server.tcp_port),
    );
}

fn clients_section(info: &mut InfoText, server: &ServerContext, totals: &KeyspaceTotals) {
    let clients = server.clients.all();
    let max_input = clients
        .iter()
        .map(|client| client.query_buffer_bytes.load(Ordering::Relaxed))
        .max();
    let max_output = clients
        .iter()
        .map(|client| client.output_buffer_bytes.load(Ordering::Relaxed))
        .max();
    info.section("Clients");
    info.field("connected_clients", server.clients.connected());
    info.field("cluster_connections", 0);
    info.field("maxclients", server.config.load().maxclients);
    info.field("client_recent_max_input_buffer", max_input.unwrap_or(0));
    info.field("client_recent_max_output_buffer", max_output.unwrap_or(0));
    info.field("blocked_clients", server.clients.blocked_count());
    // No client tracks keys yet.
    info.field("tracking_clients", 0);
    info.field("total_blocking_keys", totals.blocking_keys);
    // Only XREADGROUP blocks until a key is deleted, and streams do not exist yet.
    info.field("total_blocking_keys_on_nokey", 0);
}

fn memory_section(info: &mut InfoText) {
    let resident_bytes = resident_memory_bytes();
    let peak_bytes = peak_resident_memory_bytes().max(resident_bytes);
    let system_bytes = total_system_memory_bytes();
    info.section("Memory");
    info.field("used_memory", resident_bytes);
    info.field("used_memory_human", bytes_to_human(resident_bytes));
    info.field("used_memory_rss", resident_bytes);
    info.field("used_memory_rss_human", bytes_to_human(resident_bytes));
    info.field("used_memory_peak", peak_bytes);
    info.field("used_memory_peak_human", bytes_to_human(peak_bytes));
    info.field("total_system_memory", system_bytes);
    info.field("total_system_memory_human", bytes_to_human(system_bytes));
    info.field("maxmemory", 0);
    info.field("maxmemory_human", "0B");
    info.field("maxmemory_policy", "noeviction");
    info.field("mem_allocator", "mimalloc");
}

/// There is no persistence yet: nothing loads, nothing is ever saved.
fn persistence_section(info: &mut InfoText, server: &ServerContext) {
    info.section("Persistence");
    info.field("loading", 0);
    info.field("async_loading", 0);
    info.field("rdb_bgsave_in_progress", 0);
    info.field("rdb_last_save_time", server.started_unix_secs);
    info.field("rdb_last_bgsave_status", "ok");
    info.field("rdb_saves", 0);
    info.field("aof_enabled", 0);
    info.field("aof_rewrite_in_progress", 0);
    info.field("aof_rewrite_scheduled", 0);
    info.field("aof_last_bgrewrite_status", "ok");
    info.field("aof_last_write_status", "ok");
}

fn stats_section(info: &mut InfoText, server: &ServerContext, totals: &KeyspaceTotals) {
    let stats = &server.stats;
    let (ops_per_sec, input_bytes_per_sec, output_bytes_per_sec) = {
        let metrics = stats.instantaneous.lock().expect("metrics lock poisoned");
        (
            metrics.commands.mean_per_sec(),
            metrics.net_input_bytes.mean_per_sec(),
            metrics.net_output_bytes.mean_per_sec(),
        )
    };
    info.section("Stats");
    info.field(
        "total_connections_received",
        stats.total_connections_received.load(Ordering::Relaxed),
    );
    info.field(
        "total_commands_processed",
        stats.total_commands_processed.load(Ordering::Relaxed),
    );
    info.field("instantaneous_ops_per_sec", ops_per_sec);
    info.field("total_net_input_bytes", stats.net_input_bytes.load(Ordering::Relaxed));
    info.field("total_net_output_bytes", stats.net_output_bytes.load(Ordering::Relaxed));
    info.field(
        "instantaneous_input_kbps",
        format!("{:.2}", input_bytes_per_sec as f64 / 1024.0),
    );
    info.field(
        "instantaneous_output_kbps",
        format!("{:.2}", output_bytes_per_sec as f64 / 1024.0),
    );
    info.field(
        "rejected_connections",
        stats.rejected_connections.load(Ordering::Relaxed),
    );
    info.field("expired_keys", totals.stats.expired_keys);
    // maxmemory is 0: nothing is ever evicted.
    info.field("evicted_keys", 0);
    info.field("keyspace_hits", totals.stats.hits);
    info.field("keyspace_misses", totals.stats.misses);
}

/// A primary without replicas. `master_replid` is the run id: there is no
/// replication history to tell them apart.
fn replication_section(info: &mut InfoText, server: &ServerContext) {
    info.section("Replication");
    info.field("role", "master");
    info.field("connected_slaves", 0);
    info.field("master_failover_state", "no-failover");
    info.field("master_replid", &server.run_id);
    info.field("master_replid2", "0".repeat(40));
    info.field("master_repl_offset", 0);
    info.field("second_repl_offset", -1);
    info.field("repl_backlog_active", 0);
    info.field("repl_backlog_size", 1_048_576);
    info.field("repl_backlog_first_byte_offset", 0);
    info.field("repl_backlog_histlen", 0);
}

fn cpu_section(info: &mut InfoText) {
    let (own_system, own_user) = cpu_times(libc::RUSAGE_SELF);
    let (children_system, children_user) = cpu_times(libc::RUSAGE_CHILDREN);
    info.section("CPU");
    info.field("used_cpu_sys", own_system);
    info.field("used_cpu_user", own_user);
    info.field("used_cpu_sys_children", children_system);
    info.field("used_cpu_user_children", children_user);
}

fn keyspace_section(info: &mut InfoText, totals: &KeyspaceTotals) {
    info.section("Keyspace");
    if totals.keys > 0 {
        info.field(
            "db0",
            format!("keys={},expires={},avg_ttl=0", totals.keys, totals.volatile_keys),
        );
    }
}

/// Redis's `bytesToHuman`: `512B`, `1.50K`, `2.00M`...
fn bytes_to_human(bytes: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (1 << 50, "P"),
        (1 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    for (scale, unit) in UNITS {
        if bytes >= scale {
            return format!("{:.2}{unit}", bytes as f64 / scale as f64);
        }
    }
    format!("{bytes}B")
}

/// `used_cpu_*`: system and user CPU seconds, with microseconds.
fn cpu_times(who: libc::c_int) -> (String, String) {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    let result = unsafe { libc::getrusage(who, &mut usage) };
    if result != 0 {
        return ("0.000000".to_string(), "0.000000".to_string());
    }
    let seconds = |time: libc::timeval| format!("{}.{:06}", time.tv_sec, time.tv_usec);
    (seconds(usage.ru_stime), seconds(usage.ru_utime))
}

/// `Linux 6.1.0 x86_64`, as Redis prints `uname`.
fn operating_system() -> String {
    // SAFETY: uname only writes into the zeroed struct we pass.
    let mut name: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is a valid, writable utsname.
    if unsafe { libc::uname(&mut name) } != 0 {
        return std::env::consts::OS.to_string();
    }
    let field = |chars: &[libc::c_char]| {
        let bytes: Vec<u8> = chars
            .iter()
            .take_while(|&&char| char != 0)
            .map(|&char| char as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!(
        "{} {} {}",
        field(&name.sysname),
        field(&name.release),
        field(&name.machine)
    )
}

fn multiplexing_api() -> &'static str {
    if cfg!(any(target_os = "linux", target_os = "android")) {
        "epoll"
    } else if cfg!(any(
        target_os = "macos",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd"
    )) {
        "kqueue"
    } else {
        "poll"
    }
}

fn page_size_bytes() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

/// The process's resident set size, 0 where `/proc` is not available.
pub(crate) fn resident_memory_bytes() -> u64 {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let resident_pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|pages| pages.parse().ok())
        .unwrap_or(0);
    resident_pages * page_size_bytes()
}

/// The highest resident set size so far (`VmHWM`), 0 where unknown.
fn peak_resident_memory_bytes() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kilobytes| kilobytes * 1024)
}

fn total_system_memory_bytes() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
    u64::try_from(pages).unwrap_or(0) * page_size_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::args::test_args as args;

    #[test]
    fn sections_are_selected_like_redis() {
        assert_eq!(selected_sections(&[]).len(), SECTIONS.len());
        assert_eq!(selected_sections(&args(&["everything"])).len(), SECTIONS.len());
        assert_eq!(
            selected_sections(&args(&["SERVER", "cpu"])),
            HashSet::from(["server", "cpu"])
        );
        assert_eq!(selected_sections(&args(&["module_list"])), HashSet::from(["modules"]));
        assert!(selected_sections(&args(&["nosuch"])).is_empty());
    }

    #[test]
    fn sections_are_separated_by_blank_lines() {
        let mut info = InfoText::default();
        info.section("CPU");
        info.field("used_cpu_sys", "0.1");
        info.section("Keyspace");
        assert_eq!(info.text, "# CPU\r\nused_cpu_sys:0.1\r\n\r\n# Keyspace\r\n");
    }

    #[test]
    fn human_sizes_follow_redis() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1536), "1.50K");
        assert_eq!(bytes_to_human(2_054_400), "1.96M");
        assert_eq!(bytes_to_human(25_276_502_016), "23.54G");
    }

    #[test]
    fn process_figures_are_read() {
        assert!(resident_memory_bytes() > 0);
        assert!(peak_resident_memory_bytes() >= resident_memory_bytes() / 2);
        assert!(total_system_memory_bytes() > 0);
        assert!(operating_system().split(' ').count() >= 3);
        let (system, user) = cpu_times(libc::RUSAGE_SELF);
        assert!(system.contains('.') && user.contains('.'));
    }
}
