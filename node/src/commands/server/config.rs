//! CONFIG GET, SET, RESETSTAT, REWRITE and HELP.
//!
//! `PARAMETERS` lists what CONFIG GET shows: the run-time parameters of
//! `RuntimeConfig`, which CONFIG SET changes, and read-only ones fixed at
//! start-up (some of them, such as `save` or `maxmemory`, describe features
//! Starling does not have yet, with the values that say so).
//!
//! CONFIG SET is all or nothing: every name and value is checked, in order,
//! before the new configuration is swapped in.

use std::io::Write as _;
use std::path::Path;

use bytes::Bytes;
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use starling_protocol::Frame;

use super::help_reply;
use crate::commands::args::{parse_i64, text};
use crate::commands::error::{CommandError, CommandResult};
use crate::commands::table::{CommandSpec, Flags, Handler};
use crate::config::{parse_memory, RuntimeConfig};
use crate::connection::session::Session;
use crate::glob;
use crate::keyspace::KeyspaceStats;
use crate::server::ServerContext;

pub fn command() -> CommandSpec {
    let admin_flags = Flags::ADMIN | Flags::NOSCRIPT | Flags::LOADING | Flags::STALE;
    let admin_acl: &[&str] = &["@admin", "@slow", "@dangerous"];
    CommandSpec::new("config", -2, Handler::Container)
        .acl(&["@slow"])
        .doc("server", "2.0.0", "A container for server configuration commands.")
        .subcommands(vec![
            CommandSpec::new("config|get", -3, Handler::Session(config_get))
                .flags(admin_flags)
                .acl(admin_acl)
                .doc(
                    "server",
                    "2.0.0",
                    "Returns the effective values of configuration parameters.",
                ),
            CommandSpec::new("config|set", -4, Handler::Session(config_set))
                .flags(admin_flags)
                .acl(admin_acl)
                .doc("server", "2.0.0", "Sets configuration parameters in-flight."),
            CommandSpec::new("config|resetstat", 2, Handler::Async(config_resetstat))
                .flags(admin_flags)
                .acl(admin_acl)
                .doc("server", "2.0.0", "Resets the server's statistics."),
            CommandSpec::new("config|rewrite", 2, Handler::Async(config_rewrite))
                .flags(admin_flags)
                .acl(admin_acl)
                .doc("server", "2.8.0", "Persists the effective configuration to file."),
            CommandSpec::new("config|help", 2, Handler::Session(config_help))
                .flags(Flags::LOADING | Flags::STALE)
                .acl(&["@slow"])
                .doc(
                    "server",
                    "5.0.0",
                    "Returns helpful text about the different subcommands.",
                ),
        ])
}

/// What CONFIG SET accepts for a parameter, and how it checks values (with
/// Redis's error texts) before `RuntimeConfig::apply` applies them.
#[derive(Clone, Copy, Debug)]
enum ParameterKind {
    /// Fixed at start-up.
    Immutable,
    /// An integer in `min..=max`.
    Integer { min: i64, max: i64 },
    /// A memory value (`1mb`, `512mb`...) in `min..=max` bytes.
    Memory { min: i64, max: i64 },
    /// `<class> <hard> <soft> <soft-seconds>` groups, or a bare hard limit.
    OutputBufferLimit,
}

struct Parameter {
    name: &'static str,
    kind: ParameterKind,
    value: fn(&ServerContext, &RuntimeConfig) -> String,
}

const ONE_MEGABYTE: i64 = 1024 * 1024;

/// Every parameter CONFIG GET knows, in the order it lists them.
const PARAMETERS: &[Parameter] = &[
    Parameter {
        name: "maxclients",
        kind: ParameterKind::Integer {
            min: 1,
            max: u32::MAX as i64,
        },
        value: |_, config| config.maxclients.to_string(),
    },
    Parameter {
        name: "timeout",
        kind: ParameterKind::Integer {
            min: 0,
            max: i32::MAX as i64,
        },
        value: |_, config| config.timeout_secs.to_string(),
    },
    Parameter {
        name: "migration-max-bytes-per-sec",
        kind: ParameterKind::Memory { min: 0, max: i64::MAX },
        value: |_, config| config.migration_max_bytes_per_sec.to_string(),
    },
    Parameter {
        name: "idle-poll-us",
        kind: ParameterKind::Integer {
            min: 0,
            max: crate::config::MAX_IDLE_POLL_US as i64,
        },
        value: |_, config| config.idle_poll_us.to_string(),
    },
    Parameter {
        name: "hz",
        kind: ParameterKind::Integer {
            min: 0,
            max: i32::MAX as i64,
        },
        value: |_, config| config.hz.to_string(),
    },
    Parameter {
        name: "proto-max-bulk-len",
        kind: ParameterKind::Memory {
            min: ONE_MEGABYTE,
            max: i64::MAX,
        },
        value: |_, config| config.proto_max_bulk_len.to_string(),
    },
    Parameter {
        name: "client-query-buffer-limit",
        kind: ParameterKind::Memory {
            min: ONE_MEGABYTE,
            max: i64::MAX,
        },
        value: |_, config| config.client_query_buffer_limit.to_string(),
    },
    Parameter {
        // Only normal clients have a limit yet; the soft limit is not used.
        name: "client-output-buffer-limit",
        kind: ParameterKind::OutputBufferLimit,
        value: |_, config| format!("normal {} 0 0", config.client_output_buffer_limit),
    },
    Parameter {
        name: "hash-max-listpack-entries",
        kind: ParameterKind::Integer { min: 0, max: i64::MAX },
        value: |_, config| config.encoding.hash_max_listpack_entries.to_string(),
    },
    Parameter {
        name: "hash-max-listpack-value",
        kind: ParameterKind::Integer { min: 0, max: i64::MAX },
        value: |_, config| config.encoding.hash_max_listpack_value.to_string(),
    },
    Parameter {
        name: "list-max-listpack-size",
        kind: ParameterKind::Integer {
            min: -5,
            max: i32::MAX as i64,
        },
        value: |_, config| config.encoding.list_max_listpack_size.to_string(),
    },
    Parameter {
        name: "set-max-intset-entries",
        kind: ParameterKind::Integer { min: 0, max: i64::MAX },
        value: |_, config| config.encoding.set_max_intset_entries.to_string(),
    },
    Parameter {
        name: "set-max-listpack-entries",
        kind: ParameterKind::Integer { min: 0, max: i64::MAX },
        value: |_, config| config.encoding.set_max_listpack_entries.to_string(),
    },
    Parameter {
        name: "set-max-listpack-value",
        kind: ParameterKind::Integer { min: 0, max: i64::MAX },
        value: |_, config| config.encoding.set_max_listpack_value.to_string(),
    },
    Parameter {
        name: "zset-max-listpack-entries",
        kind: ParameterKind::Integer { min: 0, max: i64::MAX },
        value: |_, config| config.encoding.zset_max_listpack_entries.to_string(),
    },
    Parameter {
        name: "zset-max-listpack-value",
        kind: ParameterKind::Integer { min: 0, max: i64::MAX },
        value: |_, config| config.encoding.zset_max_listpack_value.to_string(),
    },
    Parameter {
        name: "port",
        kind: ParameterKind::Immutable,
        value: |server, _| server.tcp_port.to_string(),
    },
    Parameter {
        name: "bind",
        kind: ParameterKind::Immutable,
        value: |server, _| server.startup.bind.join(" "),
    },
    Parameter {
        name: "shards",
        kind: ParameterKind::Immutable,
        value: |server, _| server.startup.shards.to_string(),
    },
    Parameter {
        name: "databases",
        kind: ParameterKind::Immutable,
        value: |_, _| "1".to_string(),
    },
    Parameter {
        name: "cluster-enabled",
        kind: ParameterKind::Immutable,
        value: |server, _| if server.cluster_enabled { "yes" } else { "no" }.to_string(),
    },
    Parameter {
        name: "loglevel",
        kind: ParameterKind::Immutable,
        value: |server, _| server.startup.loglevel.clone(),
    },
    Parameter {
        name: "dir",
        kind: ParameterKind::Immutable,
        // Redis reports the absolute path (it changes into the directory).
        value: |server, _| {
            std::fs::canonicalize(&server.startup.dir)
                .unwrap_or_else(|_| server.startup.dir.clone())
                .display()
                .to_string()
        },
    },
    Parameter {
        name: "cluster-port",
        kind: ParameterKind::Immutable,
        value: |server, _| server.startup.cluster.port_opt.unwrap_or(0).to_string(),
    },
    Parameter {
        name: "cluster-node-timeout",
        kind: ParameterKind::Immutable,
        value: |server, _| server.startup.cluster.node_timeout_ms.to_string(),
    },
    Parameter {
        name: "cluster-announce-ip",
        kind: ParameterKind::Immutable,
        value: |server, _| {
            server
                .startup
                .cluster
                .announce_ip_opt
                .map(|ip| ip.to_string())
                .unwrap_or_default()
        },
    },
    Parameter {
        name: "cluster-announce-hostname",
        kind: ParameterKind::Immutable,
        value: |server, _| server.startup.cluster.announce_hostname_opt.clone().unwrap_or_default(),
    },
    Parameter {
        name: "cluster-preferred-endpoint-type",
        kind: ParameterKind::Immutable,
        value: |server, _| server.startup.cluster.preferred_endpoint_type.as_str().to_string(),
    },
    Parameter {
        name: "cluster-seeds",
        kind: ParameterKind::Immutable,
        value: |server, _| server.startup.cluster.seeds.join(","),
    },
    Parameter {
        // There are no ACL users yet, hence no password.
        name: "requirepass",
        kind: ParameterKind::Immutable,
        value: |_, _| String::new(),
    },
    Parameter {
        name: "save",
        kind: ParameterKind::Immutable,
        value: |_, _| String::new(),
    },
    Parameter {
        name: "appendonly",
        kind: ParameterKind::Immutable,
        value: |_, _| "no".to_string(),
    },
    Parameter {
        name: "maxmemory",
        kind: ParameterKind::Immutable,
        value: |_, _| "0".to_string(),
    },
    Parameter {
        name: "maxmemory-policy",
        kind: ParameterKind::Immutable,
        value: |_, _| "noeviction".to_string(),
    },
];

fn find_parameter(name: &[u8]) -> Option<&'static Parameter> {
    PARAMETERS
        .iter()
        .find(|parameter| parameter.name.as_bytes().eq_ignore_ascii_case(name))
}

/// `CONFIG GET parameter [parameter ...]`: each argument is a glob pattern,
/// matched without regard to case; every parameter appears once.
fn config_get(session: &mut Session, args: &[Bytes]) -> CommandResult {
    let config = session.server.config.load();
    let patterns = &args[2..];
    let pairs = PARAMETERS
        .iter()
        .filter(|parameter| {
            patterns
                .iter()
                .any(|pattern| glob::matches(pattern, parameter.name.as_bytes(), true))
        })
        .map(|parameter| {
            (
                Frame::bulk(Bytes::from_static(parameter.name.as_bytes())),
                Frame::bulk((parameter.value)(&session.server, &config)),
            )
        })
        .collect();
    Ok(Frame::Map(pairs))
}

/// Why a value was refused: Redis's text after `CONFIG SET failed (...) - `.
fn check_value(kind: ParameterKind, value: &[u8]) -> Result<(), String> {
    let (number, min, max) = match kind {
        ParameterKind::Immutable => return Err("can't set immutable config".to_string()),
        ParameterKind::OutputBufferLimit => return check_output_buffer_limit(value),
        ParameterKind::Integer { min, max } => {
            let number = parse_i64(value).ok_or("argument couldn't be parsed into an integer")?;
            (number, min, max)
        }
        ParameterKind::Memory { min, max } => {
            let bytes = std::str::from_utf8(value)
                .ok()
                .and_then(parse_memory)
                .and_then(|bytes| i64::try_from(bytes).ok())
                .ok_or("argument must be a memory value")?;
            (bytes, min, max)
        }
    };
    if number < min || number > max {
        return Err(format!("argument must be between {min} and {max} inclusive"));
    }
    Ok(())
}

/// Redis's checks of `client-output-buffer-limit`. A single memory value
/// (Starling's shorthand for the normal class's hard limit) is accepted too.
fn check_output_buffer_limit(value: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(value);
    let words: Vec<&str> = text.split_whitespace().collect();
    let is_memory = |word: &str| parse_memory(word).is_some();
    if let [hard] = words.as_slice() {
        return if is_memory(hard) {
            Ok(())
        } else {
            Err("argument must be a memory value".to_string())
        };
    }
    if words.is_empty() || !words.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".to_string());
    }
    for group in words.chunks(4) {
        if !["normal", "slave", "replica", "pubsub"].contains(&group[0].to_ascii_lowercase().as_str()) {
            return Err("Invalid client class specified in buffer limit configuration.".to_string());
        }
        if !is_memory(group[1]) || !is_memory(group[2]) || parse_i64(group[3].as_bytes()).is_none_or(|secs| secs < 0) {
            return Err("Error in hard, soft or soft_seconds setting in buffer limit configuration.".to_string());
        }
    }
    Ok(())
}

fn set_failed(argument: &str, reason: &str) -> CommandError {
    CommandError::other(format!(
        "ERR CONFIG SET failed (possibly related to argument '{argument}') - {reason}"
    ))
}

/// Checks every `name value` pair of CONFIG SET and returns the
/// configuration they make, or Redis's error for the first bad one.
fn configuration_after(
    current: &RuntimeConfig,
    pairs: &[(&'static Parameter, &Bytes, &Bytes)],
) -> Result<RuntimeConfig, CommandError> {
    let mut next = current.clone();
    for (parameter, _, value) in pairs {
        check_value(parameter.kind, value).map_err(|reason| set_failed(parameter.name, &reason))?;
        match next.apply(parameter.name, &text(value)) {
            Ok(true) => {}
            Ok(false) => unreachable!("{} is a run-time parameter", parameter.name),
            Err(error) => return Err(set_failed(parameter.name, &error.to_string())),
        }
    }
    Ok(next)
}

/// `CONFIG SET parameter value [parameter value ...]`
fn config_set(session: &mut Session, args: &[Bytes]) -> CommandResult {
    if !args.len().is_multiple_of(2) {
        return Err(CommandError::Syntax);
    }
    let mut pairs: Vec<(&'static Parameter, &Bytes, &Bytes)> = Vec::with_capacity(args.len() / 2 - 1);
    for pair in args[2..].chunks(2) {
        let (name, value) = (&pair[0], &pair[1]);
        let Some(parameter) = find_parameter(name) else {
            return Err(CommandError::other(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                text(name)
            )));
        };
        if matches!(parameter.kind, ParameterKind::Immutable) {
            return Err(set_failed(&text(name), "can't set immutable config"));
        }
        if pairs.iter().any(|(seen, _, _)| std::ptr::eq(*seen, parameter)) {
            return Err(set_failed(&text(name), "duplicate parameter"));
        }
        pairs.push((parameter, name, value));
    }
    configuration_after(&session.server.config.load(), &pairs)?;
    // Checked above on one snapshot; applied here to the latest one, so that
    // concurrent CONFIG SETs of other parameters are not lost.
    session.server.config.rcu(|current| {
        let mut next = (**current).clone();
        for (parameter, _, value) in &pairs {
            let applied = next.apply(parameter.name, &text(value));
            debug_assert!(matches!(applied, Ok(true)), "checked value refused");
        }
        next
    });
    Ok(Frame::ok())
}

/// `CONFIG RESETSTAT`: zeroes INFO's counters, the shards' included.
fn config_resetstat(session: &mut Session, _args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        session.server.stats.reset();
        session
            .router
            .run_on_all(|core| core.keyspace.stats = KeyspaceStats::default())
            .await?;
        Ok(Frame::ok())
    }
    .boxed_local()
}

/// `CONFIG REWRITE`: writes the run-time parameters into the config file.
/// The file is written on the blocking pool, off the shard thread.
fn config_rewrite(session: &mut Session, _args: Vec<Bytes>) -> LocalBoxFuture<'_, CommandResult> {
    async move {
        let Some(path) = session.server.startup.config_file.clone() else {
            return Err(CommandError::other("ERR The server is running without a config file"));
        };
        let server = session.server.clone();
        let config = server.config.load_full();
        let written = tokio::task::spawn_blocking(move || rewrite_config_file(&path, &server, &config))
            .await
            .map_err(|error| std::io::Error::other(error.to_string()))
            .and_then(|result| result);
        written.map_err(|error| CommandError::other(format!("ERR Rewriting config file: {error}")))?;
        Ok(Frame::ok())
    }
    .boxed_local()
}

const REWRITE_MARKER: &str = "# Generated by CONFIG REWRITE";

/// Redis's rewrite, for the run-time parameters: a line that sets one is
/// replaced by its current value (later lines for the same parameter are
/// dropped); a parameter with no line and a non-default value is appended
/// after the `# Generated by CONFIG REWRITE` marker. Every other line is kept.
/// The new file replaces the old one atomically.
fn rewrite_config_file(path: &Path, server: &ServerContext, config: &RuntimeConfig) -> std::io::Result<()> {
    let original = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(error),
    };
    let rewritten = rewritten_config_text(&original, server, config);
    let temporary = path.with_extension(format!("rewrite-{}", std::process::id()));
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(rewritten.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

fn rewritten_config_text(original: &str, server: &ServerContext, config: &RuntimeConfig) -> String {
    let defaults = RuntimeConfig::default();
    let runtime_parameters: Vec<&Parameter> = PARAMETERS
        .iter()
        .filter(|parameter| !matches!(parameter.kind, ParameterKind::Immutable))
        .collect();
    let mut written = vec![false; runtime_parameters.len()];
    let mut lines: Vec<String> = Vec::new();
    for line in original.lines() {
        if line.trim() == REWRITE_MARKER {
            continue;
        }
        let name = line.split_whitespace().next().unwrap_or("");
        let found = runtime_parameters
            .iter()
            .position(|parameter| parameter.name.eq_ignore_ascii_case(name));
        match found {
            None => lines.push(line.to_string()),
            Some(index) if written[index] => {}
            Some(index) => {
                let parameter = runtime_parameters[index];
                lines.push(format!("{} {}", parameter.name, (parameter.value)(server, config)));
                written[index] = true;
            }
        }
    }
    let mut appended = Vec::new();
    for (index, parameter) in runtime_parameters.iter().enumerate() {
        let value = (parameter.value)(server, config);
        if !written[index] && value != (parameter.value)(server, &defaults) {
            appended.push(format!("{} {}", parameter.name, value));
        }
    }
    if !appended.is_empty() {
        lines.push(REWRITE_MARKER.to_string());
        lines.extend(appended);
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// `CONFIG HELP`
fn config_help(_session: &mut Session, _args: &[Bytes]) -> CommandResult {
    Ok(help_reply(
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_with_redis_texts() {
        let maxclients = find_parameter(b"MAXCLIENTS").unwrap().kind;
        assert_eq!(check_value(maxclients, b"10"), Ok(()));
        assert_eq!(
            check_value(maxclients, b"abc"),
            Err("argument couldn't be parsed into an integer".to_string())
        );
        assert_eq!(
            check_value(maxclients, b"0"),
            Err("argument must be between 1 and 4294967295 inclusive".to_string())
        );
        let bulk_len = find_parameter(b"proto-max-bulk-len").unwrap().kind;
        assert_eq!(check_value(bulk_len, b"2mb"), Ok(()));
        assert_eq!(
            check_value(bulk_len, b"abc"),
            Err("argument must be a memory value".to_string())
        );
        assert_eq!(
            check_value(bulk_len, b"1"),
            Err("argument must be between 1048576 and 9223372036854775807 inclusive".to_string())
        );
        let limit = find_parameter(b"client-output-buffer-limit").unwrap().kind;
        assert_eq!(check_value(limit, b"normal 64mb 0 0"), Ok(()));
        assert_eq!(check_value(limit, b"64mb"), Ok(()));
        assert_eq!(
            check_value(limit, b"normal 1"),
            Err("Wrong number of arguments in buffer limit configuration.".to_string())
        );
        assert_eq!(
            check_value(limit, b"foo 1 2 3"),
            Err("Invalid client class specified in buffer limit configuration.".to_string())
        );
        assert_eq!(
            check_value(limit, b"normal 1 2 x"),
            Err("Error in hard, soft or soft_seconds setting in buffer limit configuration.".to_string())
        );
        let port = find_parameter(b"port").unwrap().kind;
        assert_eq!(check_value(port, b"1"), Err("can't set immutable config".to_string()));
    }

    #[test]
    fn every_runtime_parameter_is_known_to_runtime_config() {
        for parameter in PARAMETERS
            .iter()
            .filter(|parameter| !matches!(parameter.kind, ParameterKind::Immutable))
        {
            let mut config = RuntimeConfig::default();
            let default_value = match parameter.name {
                "maxclients" => config.maxclients.to_string(),
                "timeout" => config.timeout_secs.to_string(),
                "hz" => config.hz.to_string(),
                "idle-poll-us" => config.idle_poll_us.to_string(),
                "migration-max-bytes-per-sec" => config.migration_max_bytes_per_sec.to_string(),
                "proto-max-bulk-len" => config.proto_max_bulk_len.to_string(),
                "client-query-buffer-limit" => config.client_query_buffer_limit.to_string(),
                "client-output-buffer-limit" => format!("normal {} 0 0", config.client_output_buffer_limit),
                "hash-max-listpack-entries" => config.encoding.hash_max_listpack_entries.to_string(),
                "hash-max-listpack-value" => config.encoding.hash_max_listpack_value.to_string(),
                "list-max-listpack-size" => config.encoding.list_max_listpack_size.to_string(),
                "set-max-intset-entries" => config.encoding.set_max_intset_entries.to_string(),
                "set-max-listpack-entries" => config.encoding.set_max_listpack_entries.to_string(),
                "set-max-listpack-value" => config.encoding.set_max_listpack_value.to_string(),
                "zset-max-listpack-entries" => config.encoding.zset_max_listpack_entries.to_string(),
                "zset-max-listpack-value" => config.encoding.zset_max_listpack_value.to_string(),
                other => panic!("untested parameter {other}"),
            };
            assert_eq!(
                config.apply(parameter.name, &default_value).ok(),
                Some(true),
                "{}",
                parameter.name
            );
            assert_eq!(config, RuntimeConfig::default(), "{} round trip", parameter.name);
        }
    }
}
