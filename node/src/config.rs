//! Server configuration: defaults, the config file, command-line flags, and
//! the parameters CONFIG GET/SET expose at run time.
//!
//! The config file uses redis.conf syntax: one `name value` per line, `#`
//! starts a comment, values may be quoted. Names are the flag names without
//! the leading `--` (`port 7000`, `shards 2`). Command-line flags override the
//! file, as with `redis-server FILE --port 7000`.

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
    pub runtime: RuntimeConfig,
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
        }
    }
}

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
        let given: [(&str, Option<String>); 8] = [
            ("port", flags.port.map(|port| port.to_string())),
            ("bind", flags.bind.map(|addresses| addresses.join(" "))),
            ("shards", flags.shards.map(|shards| shards.to_string())),
            ("maxclients", flags.maxclients),
            ("proto-max-bulk-len", flags.proto_max_bulk_len),
            ("client-query-buffer-limit", flags.client_query_buffer_limit),
            ("client-output-buffer-limit", flags.client_output_buffer_limit),
            ("log-format", flags.log_format),
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
    fn unknown_settings_are_refused() {
        let mut config = StartupConfig::defaults();
        assert!(config.apply("no-such-thing", "1").is_err());
        assert!(config.apply("shards", "0").is_err());
    }
}
