//! The server family through real clients: INFO, DBSIZE, FLUSHDB, FLUSHALL,
//! COMMAND, CONFIG, TIME, LASTSAVE, ROLE, READONLY/READWRITE, DEBUG and
//! SHUTDOWN, on one shard and on four.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use common::{bulk, RawConnection, TestServer};
use redis::{cmd, Connection};
use starling_node::config::{Flags, StartupConfig};
use starling_node::server::start_background;
use starling_protocol::{key_slot, Frame};

fn raw(connection: &mut RawConnection, args: &[&str]) -> Frame {
    let args: Vec<&[u8]> = args.iter().map(|arg| arg.as_bytes()).collect();
    connection.command(&args)
}

fn error(text: &str) -> Frame {
    Frame::error(text.to_string())
}

fn status(text: &'static str) -> Frame {
    Frame::simple(text)
}

fn text_of(frame: &Frame) -> String {
    String::from_utf8(
        frame
            .as_bytes()
            .unwrap_or_else(|| panic!("not text: {frame:?}"))
            .to_vec(),
    )
    .expect("utf-8")
}

/// `count` keys spread so that every one of `shards` shards owns some.
fn keys_on_every_shard(shards: usize, count: usize) -> Vec<String> {
    let keys: Vec<String> = (0..count).map(|index| format!("key:{index}")).collect();
    let owners: HashSet<usize> = keys
        .iter()
        .map(|key| key_slot(key.as_bytes()) as usize % shards)
        .collect();
    assert_eq!(owners.len(), shards, "test keys must cover every shard");
    keys
}

fn set_keys(connection: &mut Connection, keys: &[String]) {
    for key in keys {
        let _: () = cmd("SET").arg(key).arg("value").query(connection).expect("SET");
    }
}

fn dbsize(connection: &mut Connection) -> i64 {
    cmd("DBSIZE").query(connection).expect("DBSIZE")
}

/// INFO as `section -> field -> value`, checking Redis's layout on the way:
/// `# Title` headers, CRLF line ends, a blank line between sections.
fn parse_info(text: &str) -> HashMap<String, HashMap<String, String>> {
    assert!(text.ends_with("\r\n") || text.is_empty(), "INFO ends with CRLF");
    let mut sections = HashMap::new();
    for block in text.split("\r\n\r\n").filter(|block| !block.is_empty()) {
        let mut lines = block.split("\r\n").filter(|line| !line.is_empty());
        let header = lines.next().expect("a header");
        let title = header
            .strip_prefix("# ")
            .unwrap_or_else(|| panic!("bad header {header:?}"));
        let fields = lines
            .map(|line| {
                let (name, value) = line.split_once(':').unwrap_or_else(|| panic!("bad line {line:?}"));
                (name.to_string(), value.to_string())
            })
            .collect();
        sections.insert(title.to_string(), fields);
    }
    sections
}

fn info(connection: &mut Connection, sections: &[&str]) -> HashMap<String, HashMap<String, String>> {
    let text: String = cmd("INFO").arg(sections).query(connection).expect("INFO");
    parse_info(&text)
}

fn number(fields: &HashMap<String, String>, name: &str) -> f64 {
    fields
        .get(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number"))
}

#[test]
fn info_has_every_section_in_redis_order() {
    let server = TestServer::start(4);
    let mut connection = server.connection();
    let text: String = cmd("INFO").query(&mut connection).expect("INFO");
    let titles: Vec<&str> = text.lines().filter_map(|line| line.strip_prefix("# ")).collect();
    assert_eq!(
        titles,
        [
            "Server",
            "Clients",
            "Memory",
            "Persistence",
            "Stats",
            "Replication",
            "CPU",
            "Modules",
            "Cluster",
            "Keyspace"
        ]
    );
    for selector in ["default", "all", "everything", "ALL"] {
        let other: String = cmd("INFO").arg(selector).query(&mut connection).expect("INFO");
        let other_titles: Vec<&str> = other.lines().filter_map(|line| line.strip_prefix("# ")).collect();
        assert_eq!(other_titles, titles, "INFO {selector}");
    }
    let sections = parse_info(&text);

    let server_section = &sections["Server"];
    assert_eq!(server_section["redis_version"], "7.2.5");
    assert_eq!(server_section["starling_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(server_section["redis_mode"], "standalone");
    assert_eq!(server_section["tcp_port"], server.port().to_string());
    assert_eq!(server_section["shards"], "4");
    assert_eq!(server_section["run_id"].len(), 40);
    assert_eq!(server_section["process_id"], std::process::id().to_string());
    assert_eq!(
        server_section["listener0"],
        format!("name=tcp,bind=127.0.0.1,port={}", server.port())
    );
    assert_eq!(server_section["hz"], "10");
    number(server_section, "uptime_in_seconds");
    number(server_section, "server_time_usec");

    assert_eq!(sections["Clients"]["connected_clients"], "1");
    assert_eq!(sections["Clients"]["maxclients"], "10000");
    assert!(number(&sections["Memory"], "used_memory") > 0.0);
    assert!(number(&sections["Memory"], "used_memory_rss") > 0.0);
    assert!(number(&sections["Memory"], "used_memory_peak") >= number(&sections["Memory"], "used_memory"));
    assert!(sections["Memory"]["used_memory_human"].ends_with(['K', 'M', 'G']));
    assert_eq!(sections["Memory"]["maxmemory"], "0");
    assert_eq!(sections["Memory"]["maxmemory_policy"], "noeviction");
    assert_eq!(sections["Persistence"]["loading"], "0");
    assert_eq!(sections["Replication"]["role"], "master");
    assert_eq!(sections["Replication"]["connected_slaves"], "0");
    assert_eq!(sections["Replication"]["master_repl_offset"], "0");
    assert!(number(&sections["CPU"], "used_cpu_sys") >= 0.0);
    assert!(number(&sections["CPU"], "used_cpu_user") > 0.0);
    assert!(sections["Modules"].is_empty());
    assert_eq!(sections["Cluster"]["cluster_enabled"], "0");
    assert!(sections["Keyspace"].is_empty(), "no db0 line without keys");
    for name in [
        "total_connections_received",
        "total_commands_processed",
        "instantaneous_ops_per_sec",
        "total_net_input_bytes",
        "total_net_output_bytes",
        "instantaneous_input_kbps",
        "instantaneous_output_kbps",
        "rejected_connections",
        "expired_keys",
        "keyspace_hits",
        "keyspace_misses",
    ] {
        number(&sections["Stats"], name);
    }
}

#[test]
fn info_selects_sections() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    let Frame::BulkString(text) = raw(&mut connection, &["INFO", "cpu", "KEYSPACE"]) else {
        panic!("INFO is a bulk string in RESP2");
    };
    let text = String::from_utf8(text.to_vec()).unwrap();
    assert!(text.starts_with("# CPU\r\nused_cpu_sys:"), "{text}");
    assert!(text.ends_with("\r\n\r\n# Keyspace\r\n"), "{text}");
    assert_eq!(raw(&mut connection, &["INFO", "nosuch"]), bulk(""));
    assert_eq!(raw(&mut connection, &["INFO", "modules"]), bulk("# Modules\r\n"));
    assert_eq!(
        raw(&mut connection, &["INFO", "cluster"]),
        bulk("# Cluster\r\ncluster_enabled:0\r\n")
    );

    assert!(matches!(raw(&mut connection, &["HELLO", "3"]), Frame::Map(_)));
    assert_eq!(
        raw(&mut connection, &["INFO", "cluster"]),
        Frame::Verbatim {
            format: *b"txt",
            text: Bytes::from_static(b"# Cluster\r\ncluster_enabled:0\r\n")
        }
    );
}

#[test]
fn info_counts_across_shards() {
    let server = TestServer::start(4);
    let mut connection = server.connection();
    let keys = keys_on_every_shard(4, 40);
    set_keys(&mut connection, &keys);
    let _: () = cmd("SET")
        .arg(&keys[0])
        .arg("v")
        .arg("EX")
        .arg(100)
        .query(&mut connection)
        .expect("SET EX");
    let _: () = cmd("SET")
        .arg(&keys[1])
        .arg("v")
        .arg("EX")
        .arg(100)
        .query(&mut connection)
        .expect("SET EX");
    let before = info(&mut connection, &["stats"]);
    for key in &keys {
        let _: Option<String> = cmd("GET").arg(key).query(&mut connection).expect("GET");
    }
    for index in 0..5 {
        let _: Option<String> = cmd("GET")
            .arg(format!("missing:{index}"))
            .query(&mut connection)
            .expect("GET");
    }
    let after = info(&mut connection, &["stats", "keyspace"]);
    let stats = &after["Stats"];
    assert_eq!(
        number(stats, "keyspace_hits") - number(&before["Stats"], "keyspace_hits"),
        40.0
    );
    assert_eq!(
        number(stats, "keyspace_misses") - number(&before["Stats"], "keyspace_misses"),
        5.0
    );
    assert!(number(stats, "total_commands_processed") - number(&before["Stats"], "total_commands_processed") >= 45.0);
    assert!(number(stats, "total_net_input_bytes") > 0.0);
    assert_eq!(after["Keyspace"]["db0"], "keys=40,expires=2,avg_ttl=0");
}

#[test]
fn info_counts_connections_and_rejections() {
    let server = TestServer::start_with(1, &[("maxclients", "1")]);
    let mut connection = server.raw();
    assert_eq!(raw(&mut connection, &["PING"]), status("PONG"));
    let mut rejected = server.raw();
    let refusal = b"-ERR max number of clients reached\r\n";
    assert_eq!(rejected.read_exact_bytes(refusal.len()), refusal);
    let Frame::BulkString(text) = raw(&mut connection, &["INFO", "stats", "clients"]) else {
        panic!("INFO is a bulk string");
    };
    let sections = parse_info(std::str::from_utf8(&text).unwrap());
    assert_eq!(sections["Stats"]["total_connections_received"], "2");
    assert_eq!(sections["Stats"]["rejected_connections"], "1");
    assert_eq!(sections["Clients"]["connected_clients"], "1");
    assert_eq!(sections["Clients"]["maxclients"], "1");
}

#[test]
fn info_reports_instantaneous_ops() {
    let server = TestServer::start(2);
    let mut connection = server.connection();
    // The rate is sampled every 100 ms; keep the server busy until a sample
    // sees the activity (bounded: about two seconds).
    let mut ops_per_sec = 0.0;
    for _ in 0..100 {
        let mut pipeline = redis::pipe();
        for _ in 0..50 {
            pipeline.cmd("PING").ignore();
        }
        let _: () = pipeline.query(&mut connection).expect("PINGs");
        ops_per_sec = number(&info(&mut connection, &["stats"])["Stats"], "instantaneous_ops_per_sec");
        if ops_per_sec > 0.0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(ops_per_sec > 0.0, "instantaneous_ops_per_sec stayed at 0");
}

#[test]
fn dbsize_sums_every_shard() {
    for shards in [1, 4] {
        let server = TestServer::start(shards);
        let mut connection = server.connection();
        assert_eq!(dbsize(&mut connection), 0);
        let keys = keys_on_every_shard(shards, 25);
        set_keys(&mut connection, &keys);
        assert_eq!(dbsize(&mut connection), 25);
        let mut raw_connection = server.raw();
        assert_eq!(
            raw(&mut raw_connection, &["DBSIZE", "x"]),
            error("ERR wrong number of arguments for 'dbsize' command")
        );
    }
}

#[test]
fn flushall_and_flushdb_empty_every_shard() {
    let server = TestServer::start(4);
    let mut connection = server.connection();
    let keys = keys_on_every_shard(4, 50);
    for flush in [
        &["FLUSHALL"][..],
        &["FLUSHALL", "SYNC"],
        &["flushall", "async"],
        &["FLUSHDB"],
        &["FLUSHDB", "ASYNC"],
    ] {
        set_keys(&mut connection, &keys);
        assert_eq!(dbsize(&mut connection), 50);
        let reply: String = cmd(flush[0]).arg(&flush[1..]).query(&mut connection).expect("flush");
        assert_eq!(reply, "OK");
        // Even ASYNC: the keys are gone by the time the reply arrives.
        assert_eq!(dbsize(&mut connection), 0, "{flush:?}");
        for key in &keys {
            let value: Option<String> = cmd("GET").arg(key).query(&mut connection).expect("GET");
            assert_eq!(value, None, "{key} after {flush:?}");
        }
    }
    let mut raw_connection = server.raw();
    for command in ["FLUSHALL", "FLUSHDB"] {
        assert_eq!(raw(&mut raw_connection, &[command, "LATER"]), error("ERR syntax error"));
        assert_eq!(
            raw(&mut raw_connection, &[command, "ASYNC", "SYNC"]),
            error("ERR syntax error")
        );
    }
}

#[test]
fn flushall_keeps_keyspace_statistics() {
    let server = TestServer::start(2);
    let mut connection = server.connection();
    let _: Option<String> = cmd("GET").arg("missing").query(&mut connection).expect("GET");
    let _: () = cmd("FLUSHALL").arg("ASYNC").query(&mut connection).expect("FLUSHALL");
    assert_eq!(info(&mut connection, &["stats"])["Stats"]["keyspace_misses"], "1");
}

/// COMMAND INFO's entry for GET, as Redis 7.2 sends it in RESP2.
fn expected_get_info() -> Frame {
    let map = |pairs: Vec<(&str, Frame)>| {
        Frame::Array(
            pairs
                .into_iter()
                .flat_map(|(name, value)| [bulk(name), value])
                .collect(),
        )
    };
    Frame::Array(vec![
        bulk("get"),
        Frame::Integer(2),
        Frame::Array(vec![status("readonly"), status("fast")]),
        Frame::Integer(1),
        Frame::Integer(1),
        Frame::Integer(1),
        Frame::Array(vec![status("@read"), status("@string"), status("@fast")]),
        Frame::Array(vec![]),
        Frame::Array(vec![map(vec![
            ("flags", Frame::Array(vec![status("RO"), status("access")])),
            (
                "begin_search",
                map(vec![
                    ("type", bulk("index")),
                    ("spec", map(vec![("index", Frame::Integer(1))])),
                ]),
            ),
            (
                "find_keys",
                map(vec![
                    ("type", bulk("range")),
                    (
                        "spec",
                        map(vec![
                            ("lastkey", Frame::Integer(0)),
                            ("keystep", Frame::Integer(1)),
                            ("limit", Frame::Integer(0)),
                        ]),
                    ),
                ]),
            ),
        ])]),
        Frame::Array(vec![]),
    ])
}

#[test]
fn command_info_describes_the_table() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    assert_eq!(
        raw(&mut connection, &["COMMAND", "INFO", "get", "nosuch", "GET"]),
        Frame::Array(vec![expected_get_info(), Frame::Null, expected_get_info()])
    );

    let Frame::Array(entries) = raw(&mut connection, &["COMMAND", "INFO", "config|get", "config"]) else {
        panic!("COMMAND INFO is an array");
    };
    let Frame::Array(config_get) = &entries[0] else {
        panic!("entry")
    };
    assert_eq!(config_get[0], bulk("config|get"));
    assert_eq!(config_get[1], Frame::Integer(-3));
    assert_eq!(
        config_get[2],
        Frame::Array(vec![
            status("admin"),
            status("noscript"),
            status("loading"),
            status("stale")
        ])
    );
    let Frame::Array(config) = &entries[1] else {
        panic!("entry")
    };
    assert_eq!(config[1], Frame::Integer(-2));
    assert_eq!(config[2], Frame::Array(vec![]));
    assert_eq!(config[6], Frame::Array(vec![status("@slow")]));
    let Frame::Array(subcommands) = &config[9] else {
        panic!("subcommands")
    };
    let names: HashSet<String> = subcommands
        .iter()
        .map(|entry| match entry {
            Frame::Array(fields) => text_of(&fields[0]),
            other => panic!("{other:?}"),
        })
        .collect();
    let expected: HashSet<String> = [
        "config|get",
        "config|set",
        "config|resetstat",
        "config|rewrite",
        "config|help",
    ]
    .map(String::from)
    .into();
    assert_eq!(names, expected);

    // SET: write flags, one key.
    let Frame::Array(entries) = raw(&mut connection, &["COMMAND", "INFO", "set"]) else {
        panic!("array")
    };
    let Frame::Array(set) = &entries[0] else {
        panic!("entry")
    };
    assert_eq!(&set[3..6], &[Frame::Integer(1), Frame::Integer(1), Frame::Integer(1)]);
    assert_eq!(set[2], Frame::Array(vec![status("write"), status("denyoom")]));
}

#[test]
fn command_info_uses_resp3_sets() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    assert!(matches!(raw(&mut connection, &["HELLO", "3"]), Frame::Map(_)));
    let Frame::Array(entries) = raw(&mut connection, &["COMMAND", "INFO", "get", "nosuch"]) else {
        panic!("array");
    };
    assert_eq!(entries[1], Frame::Null);
    let Frame::Array(get) = &entries[0] else {
        panic!("entry")
    };
    assert_eq!(get[2], Frame::Set(vec![status("readonly"), status("fast")]));
    assert_eq!(
        get[6],
        Frame::Set(vec![status("@read"), status("@string"), status("@fast")])
    );
    assert_eq!(get[7], Frame::Set(vec![]));
    let Frame::Set(key_specs) = &get[8] else {
        panic!("key specs are a set")
    };
    let Frame::Map(key_spec) = &key_specs[0] else {
        panic!("key spec is a map")
    };
    assert_eq!(
        key_spec[0],
        (bulk("flags"), Frame::Set(vec![status("RO"), status("access")]))
    );
    assert_eq!(get[9], Frame::Set(vec![]));
}

#[test]
fn command_lists_every_command() {
    let server = TestServer::start(1);
    let mut connection = server.connection();
    let count: i64 = cmd("COMMAND").arg("COUNT").query(&mut connection).expect("COUNT");
    let all: Vec<redis::Value> = cmd("COMMAND").query(&mut connection).expect("COMMAND");
    assert_eq!(all.len() as i64, count);
    let names: HashSet<String> = all
        .iter()
        .map(|entry| match entry {
            redis::Value::Array(fields) => redis::from_redis_value(&fields[0]).expect("name"),
            other => panic!("{other:?}"),
        })
        .collect();
    for name in [
        "get", "set", "ping", "client", "config", "command", "info", "flushall", "hello",
    ] {
        assert!(names.contains(name), "{name} missing from COMMAND");
    }
    let via_info: Vec<redis::Value> = cmd("COMMAND").arg("INFO").query(&mut connection).expect("COMMAND INFO");
    assert_eq!(via_info.len() as i64, count);

    let list: Vec<String> = cmd("COMMAND").arg("LIST").query(&mut connection).expect("LIST");
    assert!(list.len() as i64 > count, "LIST includes subcommands");
    for name in ["get", "config|get", "client|kill", "command|docs"] {
        assert!(
            list.iter().any(|listed| listed == name),
            "{name} missing from COMMAND LIST"
        );
    }
    let pattern: Vec<String> = cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("PATTERN")
        .arg("CONFIG|*")
        .query(&mut connection)
        .unwrap();
    let pattern: HashSet<String> = pattern.into_iter().collect();
    let expected: HashSet<String> = [
        "config|get",
        "config|set",
        "config|resetstat",
        "config|rewrite",
        "config|help",
    ]
    .map(String::from)
    .into();
    assert_eq!(pattern, expected);
    let connection_commands: Vec<String> = cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("ACLCAT")
        .arg("connection")
        .query(&mut connection)
        .unwrap();
    assert!(connection_commands.iter().any(|name| name == "ping"));
    assert!(connection_commands.iter().any(|name| name == "client|id"));
    assert!(!connection_commands.iter().any(|name| name == "get"));
    let modules: Vec<String> = cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("MODULE")
        .arg("json")
        .query(&mut connection)
        .unwrap();
    assert!(modules.is_empty());
    let unknown_category: Vec<String> = cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("ACLCAT")
        .arg("nosuch")
        .query(&mut connection)
        .unwrap();
    assert!(unknown_category.is_empty());

    let mut raw_connection = server.raw();
    assert_eq!(
        raw(&mut raw_connection, &["COMMAND", "LIST", "FILTERBY", "pattern"]),
        error("ERR syntax error")
    );
    assert_eq!(
        raw(&mut raw_connection, &["COMMAND", "LIST", "FILTERBY", "owner", "x"]),
        error("ERR syntax error")
    );
    assert_eq!(
        raw(&mut raw_connection, &["COMMAND", "LIST", "x"]),
        error("ERR syntax error")
    );
    assert_eq!(
        raw(&mut raw_connection, &["COMMAND", "COUNT", "x"]),
        error("ERR wrong number of arguments for 'command|count' command")
    );
    assert_eq!(
        raw(&mut raw_connection, &["COMMAND", "FOO"]),
        error("ERR unknown subcommand 'FOO'. Try COMMAND HELP.")
    );
    let Frame::Array(help) = raw(&mut raw_connection, &["COMMAND", "HELP"]) else {
        panic!("help")
    };
    assert_eq!(
        help[0],
        Frame::SimpleString(Bytes::from_static(
            b"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
        ))
    );
    assert_eq!(help.last(), Some(&status("    Prints this help.")));
}

#[test]
fn command_docs_per_command() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    let get_docs = Frame::Array(vec![
        bulk("summary"),
        bulk("Returns the string value of a key."),
        bulk("since"),
        bulk("1.0.0"),
        bulk("group"),
        bulk("string"),
    ]);
    assert_eq!(
        raw(&mut connection, &["COMMAND", "DOCS", "get", "nosuch"]),
        Frame::Array(vec![bulk("get"), get_docs])
    );
    assert_eq!(
        raw(&mut connection, &["COMMAND", "DOCS", "nosuch"]),
        Frame::Array(vec![])
    );
    let Frame::Array(subcommand) = raw(&mut connection, &["COMMAND", "DOCS", "CONFIG|GET"]) else {
        panic!("array")
    };
    assert_eq!(subcommand[0], bulk("config|get"));

    assert!(matches!(raw(&mut connection, &["HELLO", "3"]), Frame::Map(_)));
    let Frame::Map(docs) = raw(&mut connection, &["COMMAND", "DOCS", "config"]) else {
        panic!("map in RESP3")
    };
    assert_eq!(docs[0].0, bulk("config"));
    let Frame::Map(fields) = &docs[0].1 else {
        panic!("docs are a map")
    };
    let field_names: Vec<String> = fields.iter().map(|(name, _)| text_of(name)).collect();
    assert_eq!(field_names, ["summary", "since", "group", "subcommands"]);
    assert_eq!(fields[2].1, bulk("server"));
    let Frame::Map(subcommands) = &fields[3].1 else {
        panic!("subcommands are a map")
    };
    assert!(subcommands.iter().any(|(name, _)| *name == bulk("config|set")));
    let Frame::Map(all) = raw(&mut connection, &["COMMAND", "DOCS"]) else {
        panic!("map")
    };
    assert!(all.iter().any(|(name, _)| *name == bulk("ping")));
}

#[test]
fn command_getkeys_uses_the_key_positions() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    assert_eq!(
        raw(&mut connection, &["COMMAND", "GETKEYS", "SET", "k", "v", "EX", "10"]),
        Frame::Array(vec![bulk("k")])
    );
    assert_eq!(
        raw(&mut connection, &["COMMAND", "GETKEYS", "del", "a", "b", "c"]),
        Frame::Array(vec![bulk("a"), bulk("b"), bulk("c")])
    );
    assert_eq!(
        raw(&mut connection, &["COMMAND", "GETKEYSANDFLAGS", "GET", "k"]),
        Frame::Array(vec![Frame::Array(vec![
            bulk("k"),
            Frame::Array(vec![status("RO"), status("access")])
        ])])
    );
    let cases: [(&[&str], &str); 6] = [
        (&["nosuch", "a"], "ERR Invalid command specified"),
        (&["config", "nosuch"], "ERR Invalid command specified"),
        (&["ping", "a"], "ERR The command has no key arguments"),
        (&["config", "get", "maxclients"], "ERR The command has no key arguments"),
        (
            &["get", "a", "b"],
            "ERR Invalid number of arguments specified for command",
        ),
        (&["set", "a"], "ERR Invalid number of arguments specified for command"),
    ];
    for (command_line, expected) in cases {
        for subcommand in ["GETKEYS", "GETKEYSANDFLAGS"] {
            let mut args = vec!["COMMAND", subcommand];
            args.extend_from_slice(command_line);
            assert_eq!(raw(&mut connection, &args), error(expected), "{args:?}");
        }
    }
    assert_eq!(
        raw(&mut connection, &["COMMAND", "GETKEYS"]),
        error("ERR wrong number of arguments for 'command|getkeys' command")
    );
}

fn config_get(connection: &mut RawConnection, patterns: &[&str]) -> Vec<(String, String)> {
    let mut args = vec!["CONFIG", "GET"];
    args.extend_from_slice(patterns);
    let Frame::Array(flat) = raw(connection, &args) else {
        panic!("CONFIG GET is a flat array in RESP2")
    };
    flat.chunks(2)
        .map(|pair| (text_of(&pair[0]), text_of(&pair[1])))
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

#[test]
fn config_get_matches_globs() {
    let server = TestServer::start(4);
    let mut connection = server.raw();
    assert_eq!(
        config_get(&mut connection, &["maxclients"]),
        pairs(&[("maxclients", "10000")])
    );
    assert_eq!(
        config_get(&mut connection, &["MAXCLIENTS"]),
        pairs(&[("maxclients", "10000")])
    );
    assert_eq!(config_get(&mut connection, &["save"]), pairs(&[("save", "")]));
    assert_eq!(
        config_get(&mut connection, &["appendonly"]),
        pairs(&[("appendonly", "no")])
    );
    assert_eq!(
        config_get(&mut connection, &["databases", "cluster-enabled"]),
        pairs(&[("databases", "1"), ("cluster-enabled", "no")])
    );
    assert_eq!(
        config_get(&mut connection, &["port"]),
        pairs(&[("port", &server.port().to_string())])
    );
    assert_eq!(config_get(&mut connection, &["shards"]), pairs(&[("shards", "4")]));
    assert_eq!(config_get(&mut connection, &["nosuch"]), pairs(&[]));

    let names = |found: Vec<(String, String)>| found.into_iter().map(|(name, _)| name).collect::<HashSet<_>>();
    let max = names(config_get(&mut connection, &["max*"]));
    assert_eq!(
        max,
        ["maxclients", "maxmemory", "maxmemory-policy"].map(String::from).into()
    );
    // Several patterns; each parameter appears once.
    let combined = config_get(&mut connection, &["max*", "maxclients", "*-enabled"]);
    assert_eq!(combined.len(), 4);
    assert_eq!(
        names(combined),
        ["maxclients", "maxmemory", "maxmemory-policy", "cluster-enabled"]
            .map(String::from)
            .into()
    );
    let everything = config_get(&mut connection, &["*"]);
    for name in [
        "timeout",
        "hz",
        "proto-max-bulk-len",
        "client-query-buffer-limit",
        "bind",
        "dir",
        "loglevel",
    ] {
        assert!(everything.iter().any(|(listed, _)| listed == name), "{name} missing");
    }

    assert_eq!(
        raw(&mut connection, &["CONFIG", "GET"]),
        error("ERR wrong number of arguments for 'config|get' command")
    );
    assert!(matches!(raw(&mut connection, &["HELLO", "3"]), Frame::Map(_)));
    assert_eq!(
        raw(&mut connection, &["CONFIG", "GET", "appendonly"]),
        Frame::Map(vec![(bulk("appendonly"), bulk("no"))])
    );
}

#[test]
fn config_set_round_trips_and_is_all_or_nothing() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    assert_eq!(
        raw(&mut connection, &["CONFIG", "SET", "maxclients", "50", "HZ", "20"]),
        Frame::ok()
    );
    assert_eq!(
        config_get(&mut connection, &["maxclients", "hz"]),
        pairs(&[("maxclients", "50"), ("hz", "20")])
    );
    assert_eq!(
        raw(&mut connection, &["CONFIG", "SET", "proto-max-bulk-len", "2mb"]),
        Frame::ok()
    );
    assert_eq!(
        config_get(&mut connection, &["proto-max-bulk-len"]),
        pairs(&[("proto-max-bulk-len", "2097152")])
    );
    assert_eq!(raw(&mut connection, &["CONFIG", "SET", "timeout", "0"]), Frame::ok());
    assert_eq!(
        raw(
            &mut connection,
            &["CONFIG", "SET", "client-output-buffer-limit", "normal 64mb 0 0"]
        ),
        Frame::ok()
    );
    assert_eq!(
        config_get(&mut connection, &["client-output-buffer-limit"]),
        pairs(&[("client-output-buffer-limit", "normal 67108864 0 0")])
    );
    // Redis clamps hz to 1..500.
    assert_eq!(raw(&mut connection, &["CONFIG", "SET", "hz", "1000"]), Frame::ok());
    assert_eq!(config_get(&mut connection, &["hz"]), pairs(&[("hz", "500")]));

    let cases: [(&[&str], &str); 9] = [
        (&["hz", "5", "maxclients", "abc"], "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer"),
        (&["hz", "5", "maxclients", "0"], "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive"),
        (&["hz", "5", "nosuch", "1"], "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"),
        (&["hz", "5", "Port", "1"], "ERR CONFIG SET failed (possibly related to argument 'Port') - can't set immutable config"),
        (&["hz", "5", "HZ", "6"], "ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter"),
        (&["hz", "5", "timeout", "-1"], "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive"),
        (&["hz", "5", "proto-max-bulk-len", "lots"], "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be a memory value"),
        (&["hz", "5", "client-query-buffer-limit", "1"], "ERR CONFIG SET failed (possibly related to argument 'client-query-buffer-limit') - argument must be between 1048576 and 9223372036854775807 inclusive"),
        (&["hz", "5", "maxclients"], "ERR syntax error"),
    ];
    for (arguments, expected) in cases {
        let mut args = vec!["CONFIG", "SET"];
        args.extend_from_slice(arguments);
        assert_eq!(raw(&mut connection, &args), error(expected), "{arguments:?}");
        // Nothing was applied, not even the valid first pair.
        assert_eq!(config_get(&mut connection, &["hz"]), pairs(&[("hz", "500")]));
    }
    assert_eq!(
        raw(&mut connection, &["CONFIG", "SET", "hz"]),
        error("ERR wrong number of arguments for 'config|set' command")
    );
}

#[test]
fn config_set_maxclients_takes_effect() {
    let server = TestServer::start(2);
    let mut connection = server.raw();
    assert_eq!(raw(&mut connection, &["CONFIG", "SET", "maxclients", "1"]), Frame::ok());
    let mut refused = server.raw();
    let refusal = b"-ERR max number of clients reached\r\n";
    assert_eq!(refused.read_exact_bytes(refusal.len()), refusal);
    assert_eq!(
        raw(&mut connection, &["CONFIG", "SET", "maxclients", "10"]),
        Frame::ok()
    );
    let mut accepted = server.raw();
    assert_eq!(raw(&mut accepted, &["PING"]), status("PONG"));
}

#[test]
fn config_resetstat_zeroes_counters() {
    let server = TestServer::start(4);
    let mut connection = server.connection();
    let keys = keys_on_every_shard(4, 12);
    set_keys(&mut connection, &keys);
    for key in keys.iter().chain([&"missing".to_string()]) {
        let _: Option<String> = cmd("GET").arg(key).query(&mut connection).expect("GET");
    }
    let before = info(&mut connection, &["stats"]);
    assert_eq!(before["Stats"]["keyspace_hits"], "12");
    let _: () = cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut connection)
        .expect("RESETSTAT");
    let after = info(&mut connection, &["stats"]);
    assert_eq!(after["Stats"]["keyspace_hits"], "0");
    assert_eq!(after["Stats"]["keyspace_misses"], "0");
    assert_eq!(after["Stats"]["total_connections_received"], "0");
    assert!(number(&after["Stats"], "total_commands_processed") < number(&before["Stats"], "total_commands_processed"));
    assert_eq!(dbsize(&mut connection), 12, "RESETSTAT keeps the data");
}

#[test]
fn config_rewrite_needs_a_config_file() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    assert_eq!(
        raw(&mut connection, &["CONFIG", "REWRITE"]),
        error("ERR The server is running without a config file")
    );
}

#[test]
fn config_rewrite_updates_the_config_file() {
    let directory = std::env::temp_dir().join(format!("starling-rewrite-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("starling.conf");
    std::fs::write(&path, "# my settings\nport 0\nhz 15\nshards 1\nhz 16\n").unwrap();
    let flags = Flags {
        config: Some(path.clone()),
        ..Flags::default()
    };
    let handle = start_background(StartupConfig::from_flags(flags).unwrap()).expect("server starts");
    let mut connection = RawConnection::connect(handle.port);
    assert_eq!(config_get(&mut connection, &["hz"]), pairs(&[("hz", "16")]));
    assert_eq!(
        raw(&mut connection, &["CONFIG", "SET", "hz", "25", "maxclients", "77"]),
        Frame::ok()
    );
    assert_eq!(raw(&mut connection, &["CONFIG", "REWRITE"]), Frame::ok());
    let rewritten = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        rewritten,
        "# my settings\nport 0\nhz 25\nshards 1\n# Generated by CONFIG REWRITE\nmaxclients 77\n"
    );
    // The rewritten file starts a server with the same settings.
    let restarted = StartupConfig::from_flags(Flags {
        config: Some(path),
        ..Flags::default()
    })
    .unwrap();
    assert_eq!(restarted.runtime.hz, 25);
    assert_eq!(restarted.runtime.maxclients, 77);
    handle.shutdown();
    std::fs::remove_dir_all(directory).unwrap();
}

#[test]
fn config_help_and_errors() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    let Frame::Array(help) = raw(&mut connection, &["CONFIG", "HELP"]) else {
        panic!("help")
    };
    let lines: Vec<String> = help.iter().map(text_of).collect();
    assert_eq!(
        lines[0],
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    assert!(lines.contains(&"RESETSTAT".to_string()));
    assert_eq!(lines.last().unwrap(), "    Prints this help.");
    assert_eq!(
        raw(&mut connection, &["CONFIG", "FOO"]),
        error("ERR unknown subcommand 'FOO'. Try CONFIG HELP.")
    );
    assert_eq!(
        raw(&mut connection, &["CONFIG"]),
        error("ERR wrong number of arguments for 'config' command")
    );
}

#[test]
fn time_lastsave_and_role() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let Frame::Array(time) = raw(&mut connection, &["TIME"]) else {
        panic!("TIME is an array")
    };
    let seconds: i64 = text_of(&time[0]).parse().unwrap();
    let microseconds: i64 = text_of(&time[1]).parse().unwrap();
    assert!((seconds - now).abs() <= 2);
    assert!((0..1_000_000).contains(&microseconds));
    let Frame::Integer(lastsave) = raw(&mut connection, &["LASTSAVE"]) else {
        panic!("LASTSAVE is an integer")
    };
    assert!(lastsave <= now + 1 && lastsave >= now - 60);
    assert_eq!(
        raw(&mut connection, &["ROLE"]),
        Frame::Array(vec![bulk("master"), Frame::Integer(0), Frame::Array(vec![])])
    );
    assert_eq!(
        raw(&mut connection, &["TIME", "x"]),
        error("ERR wrong number of arguments for 'time' command")
    );
}

#[test]
fn readonly_needs_cluster_mode() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    for command in ["READONLY", "READWRITE"] {
        assert_eq!(
            raw(&mut connection, &[command]),
            error("ERR This instance has cluster support disabled")
        );
    }
}

#[test]
fn debug_sleep_and_help() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    assert_eq!(raw(&mut connection, &["DEBUG", "SLEEP", "0"]), Frame::ok());
    let started = Instant::now();
    assert_eq!(raw(&mut connection, &["DEBUG", "sleep", "0.03"]), Frame::ok());
    assert!(started.elapsed() >= Duration::from_millis(30));
    let Frame::Array(help) = raw(&mut connection, &["DEBUG", "HELP"]) else {
        panic!("help")
    };
    assert_eq!(
        text_of(&help[0]),
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    assert_eq!(
        raw(&mut connection, &["DEBUG", "RELOAD"]),
        error("ERR unknown subcommand or wrong number of arguments for 'RELOAD'. Try DEBUG HELP.")
    );
    assert_eq!(
        raw(&mut connection, &["debug", "sleep"]),
        error("ERR unknown subcommand or wrong number of arguments for 'sleep'. Try DEBUG HELP.")
    );
    assert_eq!(
        raw(&mut connection, &["DEBUG"]),
        error("ERR wrong number of arguments for 'debug' command")
    );
}

#[test]
fn shutdown_closes_without_a_reply() {
    let server = TestServer::start(2);
    let mut connection = server.raw();
    assert_eq!(
        raw(&mut connection, &["SHUTDOWN", "ABORT"]),
        error("ERR No shutdown in progress.")
    );
    assert_eq!(raw(&mut connection, &["SHUTDOWN", "LATER"]), error("ERR syntax error"));
    assert_eq!(
        raw(&mut connection, &["SHUTDOWN", "SAVE", "NOSAVE"]),
        error("ERR syntax error")
    );
    assert_eq!(
        raw(&mut connection, &["SHUTDOWN", "NOW", "ABORT"]),
        error("ERR syntax error")
    );

    let mut bystander = server.raw();
    assert_eq!(raw(&mut bystander, &["PING"]), status("PONG"));
    connection.send(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n");
    let mut reply = [0u8; 64];
    let read = std::io::Read::read(&mut connection.stream, &mut reply);
    assert!(
        matches!(read, Ok(0)) || read.is_err_and(|error| error.kind() == std::io::ErrorKind::ConnectionReset),
        "no reply, just the close"
    );
    assert!(bystander.is_closed_by_server());
    // The listener goes away too: new connections are refused (bounded poll).
    let port = server.port();
    let refused = (0..200).any(|_| {
        let refused = std::net::TcpStream::connect(("127.0.0.1", port)).is_err();
        if !refused {
            std::thread::sleep(Duration::from_millis(5));
        }
        refused
    });
    assert!(refused, "the server still accepts connections");
}
