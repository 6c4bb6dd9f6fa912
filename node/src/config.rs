//! Server configuration: defaults, the config file, command-line flags, and
//! the parameters CONFIG GET/SET expose at run time.
//!
//! The config file uses redis.conf syntax: one `name value` per line, `#`
//! starts a comment, values may be quoted. Names are the flag names without
//! the leading `--` (`port 7000`, `shards 2`). Command-line flags override the
//! file, as with `redis-server FILE --port 7000`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use arc_swap::ArcSwap;
use clap::Parser;

/// `starling-server` command-line flags. Each one can also be set in the
/// config file under the same name.
#[derive(Parser, Debug, Default)]
#[command(
    name = "starling-server",
    version,
    about = "Starling: a Redis-compatible, multi-core, cluster-native data store"
)]
pub struct Flags {
    /// Config file in redis.conf syntax (`name value` lines).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// TCP port for clients (0 picks a free port).
    #[arg(long)]
    pub port: Option<u16>,
    /// Addresses to listen on.
    #[arg(long, num_args = 1..)]
    pub bind: Option<Vec<String>>,
    /// Shard actors (threads); default: the number of cores.
    #[arg(long)]
    pub shards: Option<usize>,
    /// Maximum number of connected clients.
    #[arg(long)]
    pub maxclients: Option<String>,
    /// Largest bulk string a client may send (e.g. 512mb).
    #[arg(long = "proto-max-bulk-len")]
    pub proto_max_bulk_len: Option<String>,
    /// Per-client query buffer limit (e.g. 1gb).
    #[arg(long = "client-query-buffer-limit")]
    pub client_query_buffer_limit: Option<String>,
    /// Hard limit on a client's pending replies (e.g. 256mb; 0 = no limit).
    #[arg(long = "client-output-buffer-limit")]
    pub client_output_buffer_limit: Option<String>,
    /// Log format: text or json.
    #[arg(long = "log-format")]
    pub log_format: Option<String>,
    /// Log level: debug, verbose, notice, warning (Redis names) or a tracing filter.
    #[arg(long)]
    pub loglevel: Option<String>,
    /// Data directory: keeps the cluster node state (node id, epochs, claimed slots).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Run as a Redis Cluster node: yes or no.
    #[arg(long = "cluster-enabled")]
    pub cluster_enabled: Option<String>,
    /// Gossip (UDP) port; default: client port + 10000 (any free port when --port is 0).
    #[arg(long = "cluster-port")]
    pub cluster_port: Option<u16>,
    /// Gossip addresses (host:port, comma separated) to join at start-up.
    #[arg(long = "cluster-seeds")]
    pub cluster_seeds: Option<String>,
    /// IP address other nodes and clients should use to reach this node.
    #[arg(long = "cluster-announce-ip")]
    pub cluster_announce_ip: Option<String>,
    /// Hostname announced to other nodes and clients.
    #[arg(long = "cluster-announce-hostname")]
    pub cluster_announce_hostname: Option<String>,
    /// What MOVED and CLUSTER SLOTS name a node by: ip or hostname.
    #[arg(long = "cluster-preferred-endpoint-type")]
    pub cluster_preferred_endpoint_type: Option<String>,
    /// Milliseconds of silence after which a node is flagged as failed (default 5000).
    #[arg(long = "cluster-node-timeout")]
    pub cluster_node_timeout: Option<String>,
    /// Fill a newly joined empty primary with slots automatically: yes or no.
    #[arg(long = "cluster-auto-rebalance")]
    pub cluster_auto_rebalance: Option<String>,
    /// Bytes per second a native slot migration may send (e.g. 50mb; 0 = unlimited).
    #[arg(long = "migration-max-bytes-per-sec")]
    pub migration_max_bytes_per_sec: Option<String>,
    /// Microseconds a shard thread keeps polling after its last request
    /// before it sleeps (default 50; 0 = never poll).
    #[arg(long = "idle-poll-us")]
    pub idle_poll_us: Option<String>,
    /// Port of the dashboard and admin HTTP API: a port, 0 (any free port) or
    /// off; default: the client port + 1000.
    #[arg(long = "admin-port")]
    pub admin_port: Option<String>,
    /// Address the admin HTTP server binds (default: the first --bind address).
    #[arg(long = "admin-bind")]
    pub admin_bind: Option<String>,
    /// Bearer token the admin API's actions require (without one they are refused).
    #[arg(long = "admin-token")]
    pub admin_token: Option<String>,
    /// Whether the admin API's reads need the token too: yes or no.
    #[arg(long = "admin-auth-reads")]
    pub admin_auth_reads: Option<String>,
    /// Print the listening port on stdout once ready (used by tests with --port 0).
    #[arg(long = "print-port", hide = true)]
    pub print_port: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Everything the server needs at start-up.
#[derive(Clone, Debug)]
pub struct StartupConfig {
    pub port: u16,
    pub bind: Vec<String>,
    pub shards: usize,
    pub log_format: LogFormat,
    pub loglevel: String,
    pub print_port: bool,
    pub config_file: Option<PathBuf>,
    /// Where the cluster node state lives (`--dir`, default: the working directory).
    pub dir: PathBuf,
    pub cluster: ClusterConfig,
    pub admin: AdminConfig,
    pub runtime: RuntimeConfig,
}

/// Where the dashboard and admin HTTP API listen (`admin-port`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminPort {
    Off,
    /// The client port + `ADMIN_PORT_OFFSET` (any free port when the client
    /// port is picked by the system, or when that port is taken).
    Default,
    /// This port exactly (0: any free port).
    Given(u16),
}

/// The default admin port's distance from the client port: 7000 serves its
/// dashboard on 8000, clear of Redis's cluster bus (+10000) and Sentinel.
pub const ADMIN_PORT_OFFSET: u16 = 1000;

/// The admin HTTP server's settings, fixed at start-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminConfig {
    pub port: AdminPort,
    /// None: the first `bind` address.
    pub bind_opt: Option<String>,
    pub token_opt: Option<String>,
    pub auth_reads: bool,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            port: AdminPort::Default,
            bind_opt: None,
            token_opt: None,
            auth_reads: false,
        }
    }
}

/// Cluster-mode settings, all fixed at start-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    pub enabled: bool,
    /// The gossip (UDP) port; None or 0: the client port + 10000, or any
    /// free port when the client port is itself picked by the system.
    pub port_opt: Option<u16>,
    /// Gossip addresses to join at start-up (`host:port`; hostnames resolve).
    pub seeds: Vec<String>,
    pub announce_ip_opt: Option<IpAddr>,
    pub announce_hostname_opt: Option<String>,
    pub preferred_endpoint_type: EndpointType,
    /// `cluster-node-timeout`. Redis's default is 15000 ms; ours is 5000 so
    /// that a node that stops is flagged `fail` within 5 seconds.
    pub node_timeout_ms: u64,
    /// `cluster-auto-rebalance`: fill a newly joined empty primary.
    pub auto_rebalance: bool,
}

/// The smallest `cluster-node-timeout` accepted: below it gossip would
/// flood the network.
pub const CLUSTER_NODE_TIMEOUT_MIN_MS: u64 = 100;

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            enabled: false,
            port_opt: None,
            seeds: Vec::new(),
            announce_ip_opt: None,
            announce_hostname_opt: None,
            preferred_endpoint_type: EndpointType::Ip,
            node_timeout_ms: 5000,
            auto_rebalance: false,
        }
    }
}

/// `cluster-preferred-endpoint-type`: how redirects and CLUSTER SLOTS name nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointType {
    Ip,
    Hostname,
}

impl EndpointType {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointType::Ip => "ip",
            EndpointType::Hostname => "hostname",
        }
    }
}

/// Redis's yes/no booleans.
fn parse_yes_no(name: &str, value: &str) -> anyhow::Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => bail!("'{name}' must be yes or no"),
    }
}

/// Parameters that CONFIG SET may change while the server runs. Readers load
/// the current snapshot; CONFIG SET swaps in a new one.
#[derive(Clone, Debug, PartialEq)]
pub struct RuntimeConfig {
    pub maxclients: usize,
    pub proto_max_bulk_len: usize,
    pub client_query_buffer_limit: usize,
    /// Hard limit on reply bytes pending for a normal client; 0 = unlimited.
    pub client_output_buffer_limit: usize,
    pub timeout_secs: u64,
    pub hz: u32,
    pub encoding: EncodingThresholds,
    /// Bytes per second a native slot migration may send; 0 = unlimited.
    pub migration_max_bytes_per_sec: u64,
    /// Microseconds a shard thread keeps polling after its last work before
    /// it sleeps (`shard/idle_poll.rs`); 0 = sleep at once.
    pub idle_poll_us: u64,
}

/// When a collection switches from its compact encoding (listpack, intset)
/// to its indexed one, as Redis's `*-max-listpack-*` parameters say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodingThresholds {
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    /// Positive: entries per listpack; -1..-5: 4, 8, 16, 32 or 64 KiB per listpack.
    pub list_max_listpack_size: i64,
    pub set_max_intset_entries: usize,
    pub set_max_listpack_entries: usize,
    pub set_max_listpack_value: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
}

impl Default for EncodingThresholds {
    fn default() -> Self {
        EncodingThresholds {
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
            list_max_listpack_size: -2,
            set_max_intset_entries: 512,
            set_max_listpack_entries: 128,
            set_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
        }
    }
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            maxclients: 10_000,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            client_output_buffer_limit: 0,
            timeout_secs: 0,
            hz: 10,
            encoding: EncodingThresholds::default(),
            migration_max_bytes_per_sec: 0,
            idle_poll_us: DEFAULT_IDLE_POLL_US,
        }
    }
}

/// `idle-poll-us`'s default: Seastar's reactor polls 200 us before it
/// sleeps; a quarter of that already keeps a shard awake between the requests
/// of a busy server, and costs an idle one nothing.
pub const DEFAULT_IDLE_POLL_US: u64 = 50;

/// The largest `idle-poll-us`: a second of polling after each request would
/// be a busy loop, not a window.
pub const MAX_IDLE_POLL_US: u64 = 100_000;

pub type SharedConfig = Arc<ArcSwap<RuntimeConfig>>;

/// Parses Redis memory units: `100`, `1k` (1000), `1kb` (1024), `5mb`, `1gb`.
pub fn parse_memory(text: &str) -> Option<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let digits_end = lower.find(|c: char| !c.is_ascii_digit()).unwrap_or(lower.len());
    let (number, unit) = lower.split_at(digits_end);
    let number: u64 = number.parse().ok()?;
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    number.checked_mul(multiplier)
}

fn parse_number<T: std::str::FromStr>(name: &str, value: &str) -> anyhow::Result<T> {
    value
        .trim()
        .parse()
        .ok()
        .with_context(|| format!("invalid value for '{name}': {value}"))
}

fn parse_memory_setting(name: &str, value: &str) -> anyhow::Result<usize> {
    parse_memory(value)
        .map(|bytes| bytes as usize)
        .with_context(|| format!("invalid memory value for '{name}': {value}"))
}

impl RuntimeConfig {
    /// Applies one `name value` setting. Returns Ok(false) if the name is not
    /// a runtime parameter.
    pub fn apply(&mut self, name: &str, value: &str) -> anyhow::Result<bool> {
        match name {
            "maxclients" => {
                let maxclients: usize = parse_number(name, value)?;
                if maxclients == 0 {
                    bail!("maxclients must be at least 1");
                }
                self.maxclients = maxclients;
            }
            "proto-max-bulk-len" => {
                let bytes = parse_memory_setting(name, value)?;
                if bytes < 1024 * 1024 {
                    bail!("argument must be a memory value at least 1mb");
                }
                self.proto_max_bulk_len = bytes;
            }
            "client-query-buffer-limit" => {
                let bytes = parse_memory_setting(name, value)?;
                if bytes < 1024 * 1024 {
                    bail!("argument must be a memory value at least 1mb");
                }
                self.client_query_buffer_limit = bytes;
            }
            "client-output-buffer-limit" => {
                // Accept the bare hard limit, or Redis's "normal <hard> <soft> <secs>" form.
                let words: Vec<&str> = value.split_whitespace().collect();
                let hard = match words.as_slice() {
                    [hard] => *hard,
                    ["normal", hard, ..] => *hard,
                    _ => bail!("invalid client-output-buffer-limit: {value}"),
                };
                self.client_output_buffer_limit = parse_memory_setting(name, hard)?;
            }
            "timeout" => self.timeout_secs = parse_number(name, value)?,
            "migration-max-bytes-per-sec" => {
                self.migration_max_bytes_per_sec =
                    parse_memory(value).with_context(|| format!("invalid memory value for '{name}': {value}"))?;
            }
            "idle-poll-us" => {
                let micros: u64 = parse_number(name, value)?;
                if micros > MAX_IDLE_POLL_US {
                    bail!("idle-poll-us must be at most {MAX_IDLE_POLL_US}");
                }
                self.idle_poll_us = micros;
            }
            "hz" => {
                let hz: u32 = parse_number(name, value)?;
                self.hz = hz.clamp(1, 500);
            }
            "hash-max-listpack-entries" => self.encoding.hash_max_listpack_entries = parse_number(name, value)?,
            "hash-max-listpack-value" => self.encoding.hash_max_listpack_value = parse_number(name, value)?,
            "list-max-listpack-size" => {
                let size: i64 = parse_number(name, value)?;
                if size == 0 || size < -5 {
                    bail!("list-max-listpack-size must be positive or -1..-5");
                }
                self.encoding.list_max_listpack_size = size;
            }
            "set-max-intset-entries" => self.encoding.set_max_intset_entries = parse_number(name, value)?,
            "set-max-listpack-entries" => self.encoding.set_max_listpack_entries = parse_number(name, value)?,
            "set-max-listpack-value" => self.encoding.set_max_listpack_value = parse_number(name, value)?,
            "zset-max-listpack-entries" => self.encoding.zset_max_listpack_entries = parse_number(name, value)?,
            "zset-max-listpack-value" => self.encoding.zset_max_listpack_value = parse_number(name, value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

impl StartupConfig {
    fn defaults() -> StartupConfig {
        StartupConfig {
            port: 6379,
            bind: vec!["127.0.0.1".to_string()],
            shards: std::thread::available_parallelism()
                .map(|cores| cores.get())
                .unwrap_or(1),
            log_format: LogFormat::Text,
            loglevel: "notice".to_string(),
            print_port: false,
            config_file: None,
            dir: PathBuf::from("."),
            cluster: ClusterConfig::default(),
            admin: AdminConfig::default(),
            runtime: RuntimeConfig::default(),
        }
    }

    /// Applies one `name value` setting from the config file or a flag.
    pub fn apply(&mut self, name: &str, value: &str) -> anyhow::Result<()> {
        if self.runtime.apply(name, value)? {
            return Ok(());
        }
        match name {
            "port" => self.port = parse_number(name, value)?,
            "bind" => self.bind = value.split_whitespace().map(str::to_string).collect(),
            "shards" => {
                let shards: usize = parse_number(name, value)?;
                if shards == 0 || shards > 1024 {
                    bail!("shards must be between 1 and 1024");
                }
                self.shards = shards;
            }
            "log-format" => {
                self.log_format = match value {
                    "text" => LogFormat::Text,
                    "json" => LogFormat::Json,
                    _ => bail!("log-format must be text or json"),
                }
            }
            "loglevel" => self.loglevel = value.to_string(),
            "dir" => {
                if value.is_empty() {
                    bail!("dir must not be empty");
                }
                self.dir = PathBuf::from(value);
            }
            "admin-port" => {
                self.admin.port = match value {
                    "off" | "no" => AdminPort::Off,
                    _ => AdminPort::Given(parse_number(name, value)?),
                }
            }
            "admin-bind" => self.admin.bind_opt = Some(value.to_string()).filter(|bind| !bind.is_empty()),
            "admin-token" => self.admin.token_opt = Some(value.to_string()).filter(|token| !token.is_empty()),
            "admin-auth-reads" => self.admin.auth_reads = parse_yes_no(name, value)?,
            "cluster-enabled" => self.cluster.enabled = parse_yes_no(name, value)?,
            "cluster-auto-rebalance" => self.cluster.auto_rebalance = parse_yes_no(name, value)?,
            "cluster-port" => {
                let port: u16 = parse_number(name, value)?;
                self.cluster.port_opt = (port != 0).then_some(port);
            }
            "cluster-seeds" => {
                self.cluster.seeds = value
                    .split([',', ' '])
                    .filter(|seed| !seed.is_empty())
                    .map(str::to_string)
                    .collect();
            }
            "cluster-announce-ip" => {
                self.cluster.announce_ip_opt = if value.is_empty() {
                    None
                } else {
                    Some(
                        value
                            .parse()
                            .ok()
                            .with_context(|| format!("cluster-announce-ip must be an IP address: {value}"))?,
                    )
                };
            }
            "cluster-announce-hostname" => {
                if !value
                    .chars()
                    .all(|char| char.is_ascii_alphanumeric() || char == '-' || char == '.')
                {
                    bail!("cluster-announce-hostname may contain only letters, digits, '-' and '.'");
                }
                self.cluster.announce_hostname_opt = (!value.is_empty()).then(|| value.to_string());
            }
            "cluster-preferred-endpoint-type" => {
                self.cluster.preferred_endpoint_type = match value.to_ascii_lowercase().as_str() {
                    "ip" => EndpointType::Ip,
                    "hostname" => EndpointType::Hostname,
                    _ => bail!("cluster-preferred-endpoint-type must be ip or hostname"),
                }
            }
            "cluster-node-timeout" => {
                let timeout_ms: u64 = parse_number(name, value)?;
                if timeout_ms < CLUSTER_NODE_TIMEOUT_MIN_MS {
                    bail!("cluster-node-timeout must be at least {CLUSTER_NODE_TIMEOUT_MIN_MS} ms");
                }
                self.cluster.node_timeout_ms = timeout_ms;
            }
            _ => bail!("unknown configuration parameter '{name}'"),
        }
        Ok(())
    }

    /// Defaults, then the config file, then the flags.
    pub fn from_flags(flags: Flags) -> anyhow::Result<StartupConfig> {
        let mut config = StartupConfig::defaults();
        if let Some(path) = &flags.config {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            for (line_number, line) in text.lines().enumerate() {
                let Some((name, value)) = parse_config_line(line) else {
                    continue;
                };
                config
                    .apply(&name, &value)
                    .with_context(|| format!("{}:{}", path.display(), line_number + 1))?;
            }
            config.config_file = Some(path.clone());
        }
        let given: [(&str, Option<String>); 23] = [
            ("port", flags.port.map(|port| port.to_string())),
            ("bind", flags.bind.map(|addresses| addresses.join(" "))),
            ("shards", flags.shards.map(|shards| shards.to_string())),
            ("maxclients", flags.maxclients),
            ("proto-max-bulk-len", flags.proto_max_bulk_len),
            ("client-query-buffer-limit", flags.client_query_buffer_limit),
            ("client-output-buffer-limit", flags.client_output_buffer_limit),
            ("log-format", flags.log_format),
            ("dir", flags.dir.map(|dir| dir.display().to_string())),
            ("cluster-enabled", flags.cluster_enabled),
            ("cluster-port", flags.cluster_port.map(|port| port.to_string())),
            ("cluster-seeds", flags.cluster_seeds),
            ("cluster-announce-ip", flags.cluster_announce_ip),
            ("cluster-announce-hostname", flags.cluster_announce_hostname),
            ("cluster-preferred-endpoint-type", flags.cluster_preferred_endpoint_type),
            ("cluster-node-timeout", flags.cluster_node_timeout),
            ("migration-max-bytes-per-sec", flags.migration_max_bytes_per_sec),
            ("idle-poll-us", flags.idle_poll_us),
            ("cluster-auto-rebalance", flags.cluster_auto_rebalance),
            ("admin-port", flags.admin_port),
            ("admin-bind", flags.admin_bind),
            ("admin-token", flags.admin_token),
            ("admin-auth-reads", flags.admin_auth_reads),
        ];
        for (name, value) in given {
            if let Some(value) = value {
                config.apply(name, &value).with_context(|| format!("--{name}"))?;
            }
        }
        if let Some(level) = flags.loglevel {
            config.apply("loglevel", &level)?;
        }
        config.print_port = flags.print_port;
        Ok(config)
    }
}

/// Splits a redis.conf line into name and value; None for blanks and comments.
fn parse_config_line(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (name, value) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let value = value.trim();
    let unquoted = value
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|rest| rest.strip_suffix('\'')))
        .unwrap_or(value);
    Some((name.to_ascii_lowercase(), unquoted.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units_follow_redis() {
        assert_eq!(parse_memory("512mb"), Some(512 * 1024 * 1024));
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("1KB"), Some(1024));
        assert_eq!(parse_memory("12"), Some(12));
        assert_eq!(parse_memory("12xb"), None);
    }

    #[test]
    fn config_file_then_flags() {
        let directory = std::env::temp_dir().join(format!("starling-config-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let path = directory.join("starling.conf");
        std::fs::write(
            &path,
            "# comment\nport 7000\nshards 3\nproto-max-bulk-len \"2mb\"\n\nmaxclients 50\n",
        )
        .unwrap();
        let flags = Flags {
            config: Some(path),
            port: Some(7001),
            ..Flags::default()
        };
        let config = StartupConfig::from_flags(flags).unwrap();
        assert_eq!(config.port, 7001);
        assert_eq!(config.shards, 3);
        assert_eq!(config.runtime.proto_max_bulk_len, 2 * 1024 * 1024);
        assert_eq!(config.runtime.maxclients, 50);
        std::fs::remove_dir_all(directory).unwrap();
    }

    #[test]
    fn cluster_settings() {
        let mut config = StartupConfig::defaults();
        assert!(!config.cluster.enabled);
        assert_eq!(config.cluster.node_timeout_ms, 5000);
        config.apply("cluster-enabled", "yes").unwrap();
        config.apply("cluster-port", "17000").unwrap();
        config
            .apply("cluster-seeds", "10.0.0.1:17000,node-2.starling:17000")
            .unwrap();
        config.apply("cluster-announce-ip", "10.0.0.9").unwrap();
        config.apply("cluster-announce-hostname", "node-9.starling").unwrap();
        config.apply("cluster-preferred-endpoint-type", "hostname").unwrap();
        config.apply("cluster-node-timeout", "2000").unwrap();
        config.apply("cluster-auto-rebalance", "yes").unwrap();
        config.apply("dir", "/var/lib/starling").unwrap();
        assert_eq!(
            config.cluster,
            ClusterConfig {
                enabled: true,
                port_opt: Some(17000),
                seeds: vec!["10.0.0.1:17000".into(), "node-2.starling:17000".into()],
                announce_ip_opt: Some("10.0.0.9".parse().unwrap()),
                announce_hostname_opt: Some("node-9.starling".into()),
                preferred_endpoint_type: EndpointType::Hostname,
                node_timeout_ms: 2000,
                auto_rebalance: true,
            }
        );
        assert_eq!(config.dir, PathBuf::from("/var/lib/starling"));
        config.apply("cluster-port", "0").unwrap();
        assert_eq!(config.cluster.port_opt, None);
        for (name, bad) in [
            ("cluster-enabled", "maybe"),
            ("cluster-announce-ip", "node-9"),
            ("cluster-announce-hostname", "bad host"),
            ("cluster-preferred-endpoint-type", "dns"),
            ("cluster-node-timeout", "10"),
            ("dir", ""),
        ] {
            assert!(config.apply(name, bad).is_err(), "{name} {bad}");
        }
    }

    #[test]
    fn admin_settings_parse() {
        let mut config = StartupConfig::defaults();
        assert_eq!(config.admin, AdminConfig::default());
        config.apply("admin-port", "9000").unwrap();
        config.apply("admin-bind", "0.0.0.0").unwrap();
        config.apply("admin-token", "s3cret").unwrap();
        config.apply("admin-auth-reads", "yes").unwrap();
        assert_eq!(
            config.admin,
            AdminConfig {
                port: AdminPort::Given(9000),
                bind_opt: Some("0.0.0.0".into()),
                token_opt: Some("s3cret".into()),
                auth_reads: true,
            }
        );
        config.apply("admin-port", "off").unwrap();
        assert_eq!(config.admin.port, AdminPort::Off);
        config.apply("admin-token", "").unwrap();
        assert_eq!(config.admin.token_opt, None);
        for (name, bad) in [
            ("admin-port", "70000"),
            ("admin-port", "x"),
            ("admin-auth-reads", "maybe"),
        ] {
            assert!(config.apply(name, bad).is_err(), "{name} {bad}");
        }
    }

    #[test]
    fn unknown_settings_are_refused() {
        let mut config = StartupConfig::defaults();
        assert!(config.apply("no-such-thing", "1").is_err());
        assert!(config.apply("shards", "0").is_err());
    }
}
