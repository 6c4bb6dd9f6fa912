//! The connection family through real clients: PING, ECHO, HELLO, AUTH,
//! SELECT, QUIT, RESET and every CLIENT subcommand, with byte-level checks of
//! the RESP3 handshake and of connections being closed.

mod common;

use bytes::Bytes;
use common::{bulk, RawConnection, TestServer};
use redis::{cmd, Connection};
use starling_protocol::Frame;

/// Sends `args` on a raw connection and returns the decoded reply.
fn raw(connection: &mut RawConnection, args: &[&str]) -> Frame {
    let args: Vec<&[u8]> = args.iter().map(|arg| arg.as_bytes()).collect();
    connection.command(&args)
}

fn error(text: &str) -> Frame {
    Frame::error(text.to_string())
}

fn simple(text: &'static str) -> Frame {
    Frame::simple(text)
}

fn client_id(connection: &mut RawConnection) -> i64 {
    match raw(connection, &["CLIENT", "ID"]) {
        Frame::Integer(id) => id,
        other => panic!("CLIENT ID replied {other:?}"),
    }
}

/// The text of a CLIENT LIST / CLIENT INFO reply (bulk or verbatim).
fn reply_text(frame: Frame) -> String {
    match frame {
        Frame::BulkString(text) | Frame::Verbatim { text, .. } => String::from_utf8(text.to_vec()).expect("utf-8"),
        other => panic!("expected text, got {other:?}"),
    }
}

/// `field=value` pairs of one CLIENT LIST line, in order.
fn line_fields(line: &str) -> Vec<(String, String)> {
    line.split(' ')
        .map(|field| {
            let (name, value) = field
                .split_once('=')
                .unwrap_or_else(|| panic!("bad field {field:?} in {line:?}"));
            (name.to_string(), value.to_string())
        })
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    &fields
        .iter()
        .find(|(field, _)| field == name)
        .unwrap_or_else(|| panic!("no {name} field"))
        .1
}

fn client_list_ids(connection: &mut RawConnection) -> Vec<u64> {
    reply_text(raw(connection, &["CLIENT", "LIST"]))
        .lines()
        .map(|line| field(&line_fields(line), "id").parse().expect("numeric id"))
        .collect()
}

#[test]
fn ping_and_echo() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    assert_eq!(raw(&mut connection, &["PING"]), simple("PONG"));
    assert_eq!(raw(&mut connection, &["ping", "hello world"]), bulk("hello world"));
    assert_eq!(
        raw(&mut connection, &["PING", "a", "b"]),
        error("ERR wrong number of arguments for 'ping' command")
    );
    assert_eq!(raw(&mut connection, &["ECHO", "hi"]), bulk("hi"));
    assert_eq!(raw(&mut connection, &["ECHO", ""]), bulk(""));
    assert_eq!(
        raw(&mut connection, &["ECHO"]),
        error("ERR wrong number of arguments for 'echo' command")
    );
    assert_eq!(
        raw(&mut connection, &["ECHO", "a", "b"]),
        error("ERR wrong number of arguments for 'echo' command")
    );
}

fn hello_bytes(protocol: u8, id: i64) -> Vec<u8> {
    let header = if protocol == 3 { "%7" } else { "*14" };
    format!(
        "{header}\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.5\r\n$5\r\nproto\r\n:{protocol}\r\n\
         $2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    )
    .into_bytes()
}

#[test]
fn hello_switches_protocols_with_exact_bytes() {
    let server = TestServer::start(2);
    let mut connection = server.raw();
    let id = client_id(&mut connection);

    connection.send(b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
    let expected = hello_bytes(3, id);
    assert_eq!(connection.read_exact_bytes(expected.len()), expected);
    connection.send(b"*2\r\n$6\r\nCLIENT\r\n$7\r\nGETNAME\r\n");
    assert_eq!(connection.read_exact_bytes(3), b"_\r\n");

    // Back to RESP2: the reply is already flat, and nulls are RESP2 nulls.
    connection.send(b"*2\r\n$5\r\nHELLO\r\n$1\r\n2\r\n");
    let expected = hello_bytes(2, id);
    assert_eq!(connection.read_exact_bytes(expected.len()), expected);
    connection.send(b"*2\r\n$6\r\nCLIENT\r\n$7\r\nGETNAME\r\n");
    assert_eq!(connection.read_exact_bytes(5), b"$-1\r\n");

    // HELLO without a version describes the connection in its protocol.
    connection.send(b"*1\r\n$5\r\nHELLO\r\n");
    let expected = hello_bytes(2, id);
    assert_eq!(connection.read_exact_bytes(expected.len()), expected);
}

#[test]
fn hello_in_a_pipeline_switches_its_own_reply_and_later_ones() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    let id = client_id(&mut connection);
    connection.send(b"*2\r\n$6\r\nCLIENT\r\n$7\r\nGETNAME\r\n*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*2\r\n$6\r\nCLIENT\r\n$7\r\nGETNAME\r\n");
    let mut expected = b"$-1\r\n".to_vec();
    expected.extend(hello_bytes(3, id));
    expected.extend(b"_\r\n");
    assert_eq!(connection.read_exact_bytes(expected.len()), expected);
}

#[test]
fn hello_options_and_errors() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    assert_eq!(
        raw(&mut connection, &["HELLO", "4"]),
        error("NOPROTO unsupported protocol version")
    );
    assert_eq!(
        raw(&mut connection, &["HELLO", "1"]),
        error("NOPROTO unsupported protocol version")
    );
    assert_eq!(
        raw(&mut connection, &["HELLO", "three"]),
        error("ERR Protocol version is not an integer or out of range")
    );
    assert_eq!(
        raw(&mut connection, &["HELLO", "3", "FOO"]),
        error("ERR Syntax error in HELLO option 'FOO'")
    );
    assert_eq!(
        raw(&mut connection, &["HELLO", "3", "AUTH", "default"]),
        error("ERR Syntax error in HELLO option 'AUTH'")
    );
    assert_eq!(
        raw(&mut connection, &["HELLO", "3", "SETNAME"]),
        error("ERR Syntax error in HELLO option 'SETNAME'")
    );
    assert_eq!(
        raw(&mut connection, &["HELLO", "3", "SETNAME", "two words"]),
        error("ERR Client names cannot contain spaces, newlines or special characters.")
    );
    assert_eq!(
        raw(&mut connection, &["HELLO", "3", "AUTH", "admin", "secret"]),
        error("WRONGPASS invalid username-password pair or user is disabled.")
    );
    // None of the failed calls changed the protocol or the name.
    assert_eq!(raw(&mut connection, &["CLIENT", "GETNAME"]), Frame::Null);
    connection.send(b"*2\r\n$6\r\nCLIENT\r\n$7\r\nGETNAME\r\n");
    assert_eq!(connection.read_exact_bytes(5), b"$-1\r\n");

    let Frame::Map(pairs) = raw(
        &mut connection,
        &["HELLO", "3", "AUTH", "default", "any", "SETNAME", "worker-1"],
    ) else {
        panic!("HELLO 3 replies with a map");
    };
    assert_eq!(pairs[2], (bulk("proto"), Frame::Integer(3)));
    assert_eq!(raw(&mut connection, &["CLIENT", "GETNAME"]), bulk("worker-1"));
}

#[test]
fn redis_crate_connects_with_resp3() {
    let server = TestServer::start(2);
    let client = redis::Client::open(format!("{}?protocol=resp3", server.url())).expect("valid url");
    let mut connection = client.get_connection().expect("RESP3 handshake");
    let _: () = cmd("SET").arg("key").arg("value").query(&mut connection).expect("SET");
    let value: String = cmd("GET").arg("key").query(&mut connection).expect("GET");
    assert_eq!(value, "value");
    let name: redis::Value = cmd("CLIENT").arg("GETNAME").query(&mut connection).expect("GETNAME");
    assert_eq!(name, redis::Value::Nil);
    let info: String = cmd("CLIENT").arg("INFO").query(&mut connection).expect("CLIENT INFO");
    assert!(info.contains(" resp=3 lib-name=redis-rs lib-ver="), "{info}");
}

#[test]
fn auth_without_users() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    assert_eq!(
        raw(&mut connection, &["AUTH", "secret"]),
        error(
            "ERR AUTH <password> called without any password configured for the default user. \
             Are you sure your configuration is correct?"
        )
    );
    assert_eq!(raw(&mut connection, &["AUTH", "default", "anything"]), Frame::ok());
    assert_eq!(
        raw(&mut connection, &["AUTH", "admin", "secret"]),
        error("WRONGPASS invalid username-password pair or user is disabled.")
    );
    assert_eq!(
        raw(&mut connection, &["AUTH", "a", "b", "c"]),
        error("ERR syntax error")
    );
    assert_eq!(
        raw(&mut connection, &["AUTH"]),
        error("ERR wrong number of arguments for 'auth' command")
    );
}

#[test]
fn select_only_database_zero() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    assert_eq!(raw(&mut connection, &["SELECT", "0"]), Frame::ok());
    assert_eq!(
        raw(&mut connection, &["SELECT", "1"]),
        error("ERR DB index is out of range")
    );
    assert_eq!(
        raw(&mut connection, &["SELECT", "-1"]),
        error("ERR DB index is out of range")
    );
    assert_eq!(
        raw(&mut connection, &["SELECT", "db"]),
        error("ERR value is not an integer or out of range")
    );
    assert_eq!(
        raw(&mut connection, &["SELECT", "-0"]),
        error("ERR value is not an integer or out of range")
    );
    assert_eq!(
        raw(&mut connection, &["SELECT", "99999999999"]),
        error("ERR value is out of range, value must between -2147483648 and 2147483647")
    );
    assert_eq!(
        raw(&mut connection, &["SELECT"]),
        error("ERR wrong number of arguments for 'select' command")
    );
}

#[test]
fn quit_replies_then_closes() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    // The PING after QUIT in the same pipeline is never answered.
    connection.send(b"*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n");
    assert_eq!(connection.read_exact_bytes(5), b"+OK\r\n");
    assert!(connection.is_closed_by_server());

    let mut connection = server.raw();
    assert_eq!(raw(&mut connection, &["QUIT", "ignored"]), Frame::ok());
    assert!(connection.is_closed_by_server());
}

#[test]
fn reset_restores_a_fresh_connection() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    assert!(matches!(raw(&mut connection, &["HELLO", "3"]), Frame::Map(_)));
    assert_eq!(raw(&mut connection, &["CLIENT", "SETNAME", "busy"]), Frame::ok());
    assert_eq!(
        raw(&mut connection, &["CLIENT", "SETINFO", "LIB-NAME", "mylib"]),
        Frame::ok()
    );
    assert_eq!(raw(&mut connection, &["CLIENT", "NO-EVICT", "on"]), Frame::ok());
    assert_eq!(raw(&mut connection, &["CLIENT", "NO-TOUCH", "on"]), Frame::ok());
    connection.send(b"*1\r\n$5\r\nRESET\r\n");
    assert_eq!(connection.read_exact_bytes(8), b"+RESET\r\n");
    connection.send(b"*2\r\n$6\r\nCLIENT\r\n$7\r\nGETNAME\r\n");
    assert_eq!(connection.read_exact_bytes(5), b"$-1\r\n");
    let info = reply_text(raw(&mut connection, &["CLIENT", "INFO"]));
    let fields = line_fields(info.trim_end());
    assert_eq!(field(&fields, "flags"), "N");
    assert_eq!(field(&fields, "resp"), "2");
    assert_eq!(field(&fields, "name"), "");
    assert_eq!(
        field(&fields, "lib-name"),
        "mylib",
        "RESET keeps the library name, as Redis does"
    );
    assert_eq!(
        raw(&mut connection, &["RESET", "x"]),
        error("ERR wrong number of arguments for 'reset' command")
    );
}

#[test]
fn client_id_setname_getname_setinfo() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    let mut other = server.raw();
    let id = client_id(&mut connection);
    assert!(id > 0);
    assert_ne!(client_id(&mut other), id);

    assert_eq!(raw(&mut connection, &["CLIENT", "GETNAME"]), Frame::Null);
    assert_eq!(
        raw(&mut connection, &["CLIENT", "SETNAME", "app:worker-1"]),
        Frame::ok()
    );
    assert_eq!(raw(&mut connection, &["client", "getname"]), bulk("app:worker-1"));
    for bad in ["two words", "new\nline", "caf\u{e9}", "tab\there"] {
        assert_eq!(
            raw(&mut connection, &["CLIENT", "SETNAME", bad]),
            error("ERR Client names cannot contain spaces, newlines or special characters.")
        );
    }
    assert_eq!(raw(&mut connection, &["CLIENT", "GETNAME"]), bulk("app:worker-1"));
    assert_eq!(raw(&mut connection, &["CLIENT", "SETNAME", ""]), Frame::ok());
    assert_eq!(raw(&mut connection, &["CLIENT", "GETNAME"]), Frame::Null);

    assert_eq!(
        raw(&mut connection, &["CLIENT", "SETINFO", "lib-name", "redis-py"]),
        Frame::ok()
    );
    assert_eq!(
        raw(&mut connection, &["CLIENT", "SETINFO", "LIB-VER", "5.0.1"]),
        Frame::ok()
    );
    assert_eq!(
        raw(&mut connection, &["CLIENT", "SETINFO", "Lib-Name", "redis py"]),
        error("ERR Lib-Name cannot contain spaces, newlines or special characters.")
    );
    assert_eq!(
        raw(&mut connection, &["CLIENT", "SETINFO", "lib-ver", "1\n2"]),
        error("ERR lib-ver cannot contain spaces, newlines or special characters.")
    );
    assert_eq!(
        raw(&mut connection, &["CLIENT", "SETINFO", "badger", "x"]),
        error("ERR Unrecognized option 'badger'")
    );
    let info = reply_text(raw(&mut connection, &["CLIENT", "INFO"]));
    assert!(info.ends_with(" lib-name=redis-py lib-ver=5.0.1\n"), "{info}");

    assert_eq!(
        raw(&mut connection, &["CLIENT", "SETINFO", "lib-name"]),
        error("ERR wrong number of arguments for 'client|setinfo' command")
    );
    assert_eq!(
        raw(&mut connection, &["CLIENT", "ID", "x"]),
        error("ERR wrong number of arguments for 'client|id' command")
    );
    assert_eq!(
        raw(&mut connection, &["CLIENT", "SETNAME"]),
        error("ERR wrong number of arguments for 'client|setname' command")
    );
    assert_eq!(
        raw(&mut connection, &["CLIENT"]),
        error("ERR wrong number of arguments for 'client' command")
    );
    assert_eq!(
        raw(&mut connection, &["CLIENT", "FOO"]),
        error("ERR unknown subcommand 'FOO'. Try CLIENT HELP.")
    );
}

/// The fields of a Redis 7.2 CLIENT LIST line, in order.
const CLIENT_LIST_FIELDS: [&str; 30] = [
    "id",
    "addr",
    "laddr",
    "fd",
    "name",
    "age",
    "idle",
    "flags",
    "db",
    "sub",
    "psub",
    "ssub",
    "multi",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "multi-mem",
    "rbs",
    "rbp",
    "obl",
    "oll",
    "omem",
    "tot-mem",
    "events",
    "cmd",
    "user",
    "redir",
    "resp",
    "lib-name",
    "lib-ver",
];

#[test]
fn client_list_and_info_lines() {
    let server = TestServer::start(2);
    let mut connection = server.raw();
    let mut other = server.raw();
    let my_id = client_id(&mut connection);
    let other_id = client_id(&mut other);

    let list = reply_text(raw(&mut connection, &["CLIENT", "LIST"]));
    assert!(list.ends_with('\n'));
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    for line in &lines {
        let names: Vec<String> = line_fields(line).into_iter().map(|(name, _)| name).collect();
        assert_eq!(names, CLIENT_LIST_FIELDS);
    }
    let mine = line_fields(
        lines
            .iter()
            .find(|line| line.starts_with(&format!("id={my_id} ")))
            .expect("own line"),
    );
    assert_eq!(field(&mine, "cmd"), "client|list");
    assert_eq!(field(&mine, "laddr"), format!("127.0.0.1:{}", server.port()));
    assert_eq!(
        field(&mine, "addr"),
        connection.stream.local_addr().unwrap().to_string()
    );
    assert_eq!(field(&mine, "user"), "default");
    assert_eq!(field(&mine, "db"), "0");

    let info = reply_text(raw(&mut connection, &["CLIENT", "INFO"]));
    let fields = line_fields(info.strip_suffix('\n').expect("newline at the end"));
    assert_eq!(field(&fields, "id"), my_id.to_string());
    assert_eq!(field(&fields, "cmd"), "client|info");

    let by_id = reply_text(raw(
        &mut connection,
        &[
            "CLIENT",
            "LIST",
            "ID",
            &other_id.to_string(),
            "99999",
            &my_id.to_string(),
        ],
    ));
    let ids: Vec<String> = by_id
        .lines()
        .map(|line| field(&line_fields(line), "id").to_string())
        .collect();
    assert_eq!(ids, vec![other_id.to_string(), my_id.to_string()]);
    assert_eq!(
        reply_text(raw(&mut connection, &["CLIENT", "LIST", "TYPE", "normal"]))
            .lines()
            .count(),
        2
    );
    for empty_type in ["pubsub", "master", "replica", "SLAVE"] {
        assert_eq!(
            reply_text(raw(&mut connection, &["CLIENT", "LIST", "TYPE", empty_type])),
            ""
        );
    }
    assert_eq!(
        raw(&mut connection, &["CLIENT", "LIST", "TYPE", "robot"]),
        error("ERR Unknown client type 'robot'")
    );
    assert_eq!(
        raw(&mut connection, &["CLIENT", "LIST", "ID", "x"]),
        error("ERR Invalid client ID")
    );
    assert_eq!(
        raw(&mut connection, &["CLIENT", "LIST", "ID"]),
        error("ERR syntax error")
    );
    assert_eq!(
        raw(&mut connection, &["CLIENT", "LIST", "foo"]),
        error("ERR syntax error")
    );
    assert_eq!(
        raw(&mut connection, &["CLIENT", "LIST", "TYPE", "normal", "x"]),
        error("ERR syntax error")
    );

    // In RESP3 both are verbatim text.
    assert!(matches!(raw(&mut connection, &["HELLO", "3"]), Frame::Map(_)));
    let Frame::Verbatim { format, text } = raw(&mut connection, &["CLIENT", "INFO"]) else {
        panic!("CLIENT INFO is verbatim text in RESP3");
    };
    assert_eq!(&format, b"txt");
    assert!(text.starts_with(format!("id={my_id} ").as_bytes()));
    assert_eq!(
        raw(&mut connection, &["CLIENT", "LIST", "ID", "99999"]),
        Frame::Verbatim {
            format: *b"txt",
            text: Bytes::new()
        }
    );
}

#[test]
fn client_flags_no_evict_and_no_touch() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    let flags = |connection: &mut RawConnection| {
        let info = reply_text(raw(connection, &["CLIENT", "INFO"]));
        field(&line_fields(info.trim_end()), "flags").to_string()
    };
    assert_eq!(flags(&mut connection), "N");
    assert_eq!(raw(&mut connection, &["CLIENT", "NO-EVICT", "ON"]), Frame::ok());
    assert_eq!(flags(&mut connection), "e");
    assert_eq!(raw(&mut connection, &["CLIENT", "NO-TOUCH", "on"]), Frame::ok());
    assert_eq!(flags(&mut connection), "eT");
    assert_eq!(raw(&mut connection, &["CLIENT", "NO-EVICT", "off"]), Frame::ok());
    assert_eq!(raw(&mut connection, &["CLIENT", "NO-TOUCH", "OFF"]), Frame::ok());
    assert_eq!(flags(&mut connection), "N");
    assert_eq!(
        raw(&mut connection, &["CLIENT", "NO-EVICT", "maybe"]),
        error("ERR syntax error")
    );
    assert_eq!(
        raw(&mut connection, &["CLIENT", "NO-TOUCH", "yes"]),
        error("ERR syntax error")
    );
    assert_eq!(
        raw(&mut connection, &["CLIENT", "NO-TOUCH"]),
        error("ERR wrong number of arguments for 'client|no-touch' command")
    );
}

#[test]
fn client_kill_old_form_closes_by_address() {
    let server = TestServer::start(2);
    let mut killer = server.raw();
    let mut victim = server.raw();
    assert_eq!(raw(&mut victim, &["PING"]), simple("PONG"));
    let victim_address = victim.stream.local_addr().unwrap().to_string();
    assert_eq!(raw(&mut killer, &["CLIENT", "KILL", &victim_address]), Frame::ok());
    assert!(victim.is_closed_by_server());
    assert_eq!(
        raw(&mut killer, &["CLIENT", "KILL", &victim_address]),
        error("ERR No such client")
    );
    assert_eq!(
        raw(&mut killer, &["CLIENT", "KILL", "1.2.3.4:5"]),
        error("ERR No such client")
    );

    // The old form may kill the caller: it gets its reply, then the close.
    let own_address = killer.stream.local_addr().unwrap().to_string();
    assert_eq!(raw(&mut killer, &["CLIENT", "KILL", &own_address]), Frame::ok());
    assert!(killer.is_closed_by_server());
}

#[test]
fn client_kill_filters_count_and_close() {
    let server = TestServer::start(4);
    let mut killer = server.raw();
    let killer_id = client_id(&mut killer);
    let mut victims: Vec<RawConnection> = (0..3).map(|_| server.raw()).collect();
    let victim_ids: Vec<i64> = victims.iter_mut().map(client_id).collect();

    let first = victim_ids[0].to_string();
    assert_eq!(raw(&mut killer, &["CLIENT", "KILL", "ID", &first]), Frame::Integer(1));
    assert!(victims[0].is_closed_by_server());
    assert!(!client_list_ids(&mut killer).contains(&(victim_ids[0] as u64)));
    assert_eq!(raw(&mut killer, &["CLIENT", "KILL", "ID", &first]), Frame::Integer(0));

    // Filters combine: a matching address with another id kills nobody.
    let second_address = victims[1].stream.local_addr().unwrap().to_string();
    let third = victim_ids[2].to_string();
    assert_eq!(
        raw(&mut killer, &["CLIENT", "KILL", "ADDR", &second_address, "ID", &third]),
        Frame::Integer(0)
    );
    assert_eq!(
        raw(
            &mut killer,
            &["CLIENT", "KILL", "ADDR", &second_address, "USER", "default"]
        ),
        Frame::Integer(1)
    );
    assert!(victims[1].is_closed_by_server());

    // SKIPME yes (the default) spares the caller; LADDR, TYPE and MAXAGE filter.
    let local_address = format!("127.0.0.1:{}", server.port());
    assert_eq!(
        raw(&mut killer, &["CLIENT", "KILL", "ID", &killer_id.to_string()]),
        Frame::Integer(0)
    );
    assert_eq!(
        raw(
            &mut killer,
            &["CLIENT", "KILL", "LADDR", "127.0.0.1:1", "TYPE", "normal"]
        ),
        Frame::Integer(0)
    );
    assert_eq!(
        raw(&mut killer, &["CLIENT", "KILL", "TYPE", "pubsub"]),
        Frame::Integer(0)
    );
    assert_eq!(
        raw(&mut killer, &["CLIENT", "KILL", "MAXAGE", "100000"]),
        Frame::Integer(0)
    );
    assert_eq!(
        raw(
            &mut killer,
            &["CLIENT", "KILL", "LADDR", &local_address, "TYPE", "normal"]
        ),
        Frame::Integer(1)
    );
    assert!(victims[2].is_closed_by_server());
    assert_eq!(client_list_ids(&mut killer), vec![killer_id as u64]);

    // SKIPME no: the caller counts itself, gets the reply, and is closed.
    assert_eq!(
        raw(
            &mut killer,
            &["CLIENT", "KILL", "ID", &killer_id.to_string(), "SKIPME", "no"]
        ),
        Frame::Integer(1)
    );
    assert!(killer.is_closed_by_server());
}

#[test]
fn client_kill_errors() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    let cases: [(&[&str], &str); 9] = [
        (&["ID", "0"], "ERR client-id should be greater than 0"),
        (&["ID", "abc"], "ERR client-id should be greater than 0"),
        (&["TYPE", "robot"], "ERR Unknown client type 'robot'"),
        (&["USER", "bob"], "ERR No such user 'bob'"),
        (&["SKIPME", "maybe"], "ERR syntax error"),
        (&["ID", "1", "extra"], "ERR syntax error"),
        (&["foo", "bar"], "ERR syntax error"),
        (&["MAXAGE", "old"], "ERR maxage is not an integer or out of range"),
        (&["ID", "1", "TYPE", "robot"], "ERR Unknown client type 'robot'"),
    ];
    for (options, expected) in cases {
        let mut args = vec!["CLIENT", "KILL"];
        args.extend_from_slice(options);
        assert_eq!(raw(&mut connection, &args), error(expected), "{options:?}");
    }
    assert_eq!(
        raw(&mut connection, &["CLIENT", "KILL"]),
        error("ERR wrong number of arguments for 'client|kill' command")
    );
    assert_eq!(raw(&mut connection, &["PING"]), simple("PONG"));
}

#[test]
fn client_help_lists_the_subcommands() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    let Frame::Array(lines) = raw(&mut connection, &["CLIENT", "HELP"]) else {
        panic!("CLIENT HELP is an array");
    };
    let lines: Vec<String> = lines
        .into_iter()
        .map(|line| match line {
            Frame::SimpleString(text) => String::from_utf8(text.to_vec()).unwrap(),
            other => panic!("help lines are simple strings, got {other:?}"),
        })
        .collect();
    assert_eq!(
        lines[0],
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    for subcommand in [
        "GETNAME",
        "ID",
        "INFO",
        "SETNAME <name>",
        "NO-EVICT (ON|OFF)",
        "NO-TOUCH (ON|OFF)",
    ] {
        assert!(lines.iter().any(|line| line == subcommand), "{subcommand} missing");
    }
    assert_eq!(&lines[lines.len() - 2..], ["HELP", "    Prints this help."]);
}

#[test]
fn redis_crate_connections_report_their_library() {
    let server = TestServer::start(1);
    let mut connection: Connection = server.connection();
    let list: String = cmd("CLIENT").arg("LIST").query(&mut connection).expect("CLIENT LIST");
    assert!(list.contains(" lib-name=redis-rs lib-ver="), "{list}");
    let _: () = cmd("CLIENT")
        .arg("SETNAME")
        .arg("crate")
        .query(&mut connection)
        .expect("SETNAME");
    let name: String = cmd("CLIENT").arg("GETNAME").query(&mut connection).expect("GETNAME");
    assert_eq!(name, "crate");
}

#[test]
fn maxclients_turns_the_extra_connection_away() {
    let server = TestServer::start_with(2, &[("maxclients", "2")]);
    let mut first = server.raw();
    let mut second = server.raw();
    assert_eq!(raw(&mut first, &["PING"]), simple("PONG"));
    assert_eq!(raw(&mut second, &["PING"]), simple("PONG"));

    let mut third = server.raw();
    let expected = b"-ERR max number of clients reached\r\n";
    assert_eq!(third.read_exact_bytes(expected.len()), expected);
    assert!(third.is_closed_by_server());

    // A slot freed by QUIT can be taken again (the server frees it when the
    // connection ends, which a bounded poll waits for).
    assert_eq!(raw(&mut second, &["QUIT"]), Frame::ok());
    assert!(second.is_closed_by_server());
    let mut accepted = false;
    for _ in 0..200 {
        let mut retry = server.raw();
        retry.send(b"*1\r\n$4\r\nPING\r\n");
        if retry.read_frame() == simple("PONG") {
            accepted = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(accepted, "the freed slot was never reused");
}
