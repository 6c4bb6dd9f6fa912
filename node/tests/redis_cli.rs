//! Drives the real `redis-cli` (Debian's redis-tools) against a server, the
//! way a new user would. `.ci/run` installs redis-tools; these tests fail if
//! `redis-cli` is missing rather than silently passing.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::TestServer;

fn redis_cli(server: &TestServer, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .arg("-p")
        .arg(server.port().to_string())
        .args(args)
        .output()
        .expect("redis-cli is installed (apt-get install redis-tools)");
    assert!(
        output.status.success(),
        "redis-cli {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

#[test]
fn a_first_session_with_redis_cli() {
    let server = TestServer::start(2);
    assert_eq!(redis_cli(&server, &["PING"]), "PONG\n");
    assert_eq!(redis_cli(&server, &["SET", "greeting", "hello world"]), "OK\n");
    assert_eq!(redis_cli(&server, &["GET", "greeting"]), "hello world\n");
    assert_eq!(
        redis_cli(&server, &["--no-raw", "GET", "greeting"]),
        "\"hello world\"\n"
    );
    assert_eq!(redis_cli(&server, &["-r", "5", "INCR", "visits"]), "1\n2\n3\n4\n5\n");
    assert_eq!(redis_cli(&server, &["MSET", "a", "1", "b", "2", "c", "3"]), "OK\n");
    assert_eq!(redis_cli(&server, &["MGET", "a", "b", "c", "missing"]), "1\n2\n3\n\n");
    assert_eq!(
        redis_cli(&server, &["--no-raw", "MGET", "a", "missing"]),
        "1) \"1\"\n2) (nil)\n"
    );
    assert_eq!(redis_cli(&server, &["DEL", "a", "b", "c", "missing"]), "3\n");
    assert_eq!(redis_cli(&server, &["EXPIRE", "greeting", "100"]), "1\n");
    assert_eq!(redis_cli(&server, &["TTL", "greeting"]), "100\n");
    assert_eq!(redis_cli(&server, &["TYPE", "greeting"]), "string\n");
    assert_eq!(redis_cli(&server, &["DBSIZE"]), "2\n");
    assert_eq!(
        redis_cli(&server, &["--no-raw", "NOSUCHCOMMAND", "x"]),
        "(error) ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' \n"
    );
    assert_eq!(
        redis_cli(&server, &["--no-raw", "GET"]),
        "(error) ERR wrong number of arguments for 'get' command\n"
    );
    let info = redis_cli(&server, &["INFO", "server"]);
    assert!(info.contains("redis_version:7.2"), "{info}");
    assert!(info.contains("starling_version:"), "{info}");
}

#[test]
fn redis_cli_resp3_and_scan() {
    let server = TestServer::start(4);
    for n in 0..50 {
        redis_cli(&server, &["SET", &format!("user:{n}"), "x"]);
    }
    redis_cli(&server, &["SET", "other", "x"]);
    let scanned = redis_cli(&server, &["--scan", "--pattern", "user:*"]);
    let mut keys: Vec<&str> = scanned.lines().collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 50, "{scanned}");
    let hello = redis_cli(&server, &["-3", "HELLO", "3"]);
    assert!(hello.contains("server") && hello.contains("redis"), "{hello}");
    assert!(hello.contains("proto") && hello.contains('3'), "{hello}");
}

#[test]
fn redis_cli_pipe_mode_mass_insertion() {
    let server = TestServer::start(2);
    let mut input = Vec::new();
    for n in 0..10_000 {
        let key = format!("mass:{n}");
        let value = n.to_string();
        input.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n",
                key.len(),
                value.len()
            )
            .as_bytes(),
        );
    }
    let mut child = Command::new("redis-cli")
        .arg("-p")
        .arg(server.port().to_string())
        .arg("--pipe")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("redis-cli is installed");
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let output = child.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}");
    assert!(report.contains("errors: 0, replies: 10000"), "{report}");
    assert_eq!(redis_cli(&server, &["GET", "mass:9999"]), "9999\n");
    assert_eq!(redis_cli(&server, &["DBSIZE"]), "10000\n");
}
