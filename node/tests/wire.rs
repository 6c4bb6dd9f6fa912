//! Byte-level tests over raw sockets: protocol errors with Redis's exact
//! texts, inline commands, pipelining order, and bad input that must cost the
//! server nothing beyond the offending connection.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{bulk, TestServer};
use starling_protocol::Frame;

fn error(text: &str) -> Frame {
    Frame::Error(bytes::Bytes::copy_from_slice(text.as_bytes()))
}

/// Polls `condition` every millisecond for up to five seconds.
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn assert_protocol_error_closes(server: &TestServer, request: &[u8], expected: &str) {
    let mut connection = server.raw();
    connection.send(request);
    assert_eq!(
        connection.read_frame(),
        error(expected),
        "request {:?}",
        String::from_utf8_lossy(request)
    );
    assert!(
        connection.is_closed_by_server(),
        "connection stays open after {expected}"
    );
    // The server keeps serving everyone else.
    assert_eq!(server.raw().command(&[b"PING"]), Frame::SimpleString("PONG".into()));
}

#[test]
fn protocol_errors_use_redis_texts_and_close_the_connection() {
    let server = TestServer::start(2);
    let cases: [(&[u8], &str); 7] = [
        (b"*abc\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*1\r\nfoo\r\n", "ERR Protocol error: expected '$', got 'f'"),
        (b"*1\r\n$abc\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*1\r\n$-5\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*1\r\n$600000000\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*99999999999\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"SET \"a b\r\n", "ERR Protocol error: unbalanced quotes in request"),
    ];
    for (request, expected) in cases {
        assert_protocol_error_closes(&server, request, expected);
    }
    let long_inline = vec![b'a'; 70 * 1024];
    assert_protocol_error_closes(&server, &long_inline, "ERR Protocol error: too big inline request");
}

#[test]
fn replies_before_a_protocol_error_are_delivered() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    connection.send(b"*1\r\n$4\r\nPING\r\n*1\r\nxyz\r\n");
    assert_eq!(connection.read_frame(), Frame::SimpleString("PONG".into()));
    assert_eq!(
        connection.read_frame(),
        error("ERR Protocol error: expected '$', got 'x'")
    );
    assert!(connection.is_closed_by_server());
}

#[test]
fn empty_requests_are_ignored() {
    let server = TestServer::start(1);
    let mut connection = server.raw();
    connection.send(b"*-10\r\n*0\r\n\r\n   \r\nPING\r\n");
    assert_eq!(connection.read_frame(), Frame::SimpleString("PONG".into()));
}

#[test]
fn inline_commands_honour_quotes_and_escapes() {
    let server = TestServer::start(2);
    let mut connection = server.raw();
    connection.send(b"SET greeting \"hello world\\n\"\r\nGET greeting\r\nSET 'it''s' x\r\n");
    assert_eq!(connection.read_frame(), Frame::SimpleString("OK".into()));
    assert_eq!(connection.read_frame(), bulk("hello world\n"));
    assert_eq!(
        connection.read_frame(),
        error("ERR Protocol error: unbalanced quotes in request")
    );
}

#[test]
fn pipelined_replies_come_back_in_request_order_across_shards() {
    let server = TestServer::start(4);
    let mut connection = server.raw();
    let mut request = Vec::new();
    for n in 0..500 {
        request.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\nkey:{n}\r\n${}\r\n{n}\r\n",
                format!("key:{n}").len(),
                n.to_string().len()
            )
            .as_bytes(),
        );
        request
            .extend_from_slice(format!("*2\r\n$3\r\nGET\r\n${}\r\nkey:{n}\r\n", format!("key:{n}").len()).as_bytes());
        request.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    }
    connection.send(&request);
    for n in 0..500 {
        assert_eq!(connection.read_frame(), Frame::SimpleString("OK".into()));
        assert_eq!(connection.read_frame(), bulk(&n.to_string()));
        assert_eq!(connection.read_frame(), Frame::SimpleString("PONG".into()));
    }
}

#[test]
fn a_huge_declared_bulk_costs_only_the_bytes_sent() {
    let server = TestServer::start(2);
    let mut attacker = server.raw();
    attacker.send(b"*2\r\n$3\r\nGET\r\n$500000000\r\nabc");
    // Other clients are served while the frame is incomplete.
    assert_eq!(server.raw().command(&[b"PING"]), Frame::SimpleString("PONG".into()));
    let context = server.handle.context().clone();
    // The attacker connected first: the smallest id (the PING client may
    // still be registered too, and the registry has no order).
    let attacker_id = context
        .clients
        .all()
        .iter()
        .map(|client| client.id)
        .min()
        .expect("attacker registered");
    wait_until("the attacker's bytes to be counted", || {
        context
            .clients
            .get(attacker_id)
            .is_some_and(|client| client.query_buffer_bytes.load(Ordering::Relaxed) > 0)
    });
    let query_buffer = context
        .clients
        .get(attacker_id)
        .unwrap()
        .query_buffer_bytes
        .load(Ordering::Relaxed);
    assert!(
        query_buffer < 64 * 1024,
        "declared length was allocated: {query_buffer} bytes"
    );
}

#[test]
fn query_buffer_limit_disconnects_the_offender_only() {
    let server = TestServer::start_with(2, &[("client-query-buffer-limit", "1mb")]);
    let mut offender = server.raw();
    offender.send(b"*2\r\n$3\r\nGET\r\n$100000000\r\n");
    let chunk = vec![b'x'; 64 * 1024];
    let mut write_failed = false;
    for _ in 0..40 {
        if offender.stream.write_all(&chunk).is_err() {
            write_failed = true;
            break;
        }
    }
    assert!(
        write_failed || offender.is_closed_by_server(),
        "offender was not disconnected"
    );
    assert_eq!(server.raw().command(&[b"PING"]), Frame::SimpleString("PONG".into()));
}

#[test]
fn megabytes_of_garbage_get_an_error_and_cost_nothing_else() {
    let server = TestServer::start(2);
    let mut keeper = server.raw();
    assert_eq!(
        keeper.command(&[b"SET", b"kept", b"1"]),
        Frame::SimpleString("OK".into())
    );
    let mut garbage = Vec::with_capacity(4 * 1024 * 1024);
    let mut state: u32 = 12345;
    while garbage.len() < 4 * 1024 * 1024 {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
        garbage.push((state >> 16) as u8);
    }
    let mut attacker = server.raw();
    // The server may close before all of it is written; that is fine.
    let _ = attacker.stream.write_all(&garbage);
    assert!(attacker.is_closed_by_server());
    assert_eq!(keeper.command(&[b"GET", b"kept"]), bulk("1"));
}

#[test]
fn abrupt_disconnects_mid_frame_leave_nothing_behind() {
    let server = TestServer::start(2);
    let context = server.handle.context().clone();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        stream.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc").unwrap();
        drop(stream);
    }
    wait_until("all aborted clients to be gone", || context.clients.connected() == 0);
    let mut connection = server.raw();
    assert_eq!(connection.command(&[b"GET", b"k"]), Frame::Null);
}

#[test]
fn a_client_that_never_reads_blocks_only_itself() {
    let server = TestServer::start(2);
    let mut setup = server.raw();
    let big_value = vec![b'v'; 256 * 1024];
    assert_eq!(
        setup.command(&[b"SET", b"big", &big_value]),
        Frame::SimpleString("OK".into())
    );
    // 400 GETs of 256 KiB = 100 MiB of replies that this client never reads.
    let mut slow_reader = server.raw();
    let mut request = Vec::new();
    for _ in 0..400 {
        request.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
    }
    slow_reader.send(&request);
    // Everyone else is served promptly meanwhile.
    for n in 0..100 {
        let key = format!("other:{n}");
        assert_eq!(
            setup.command(&[b"SET", key.as_bytes(), b"1"]),
            Frame::SimpleString("OK".into())
        );
    }
    // And the slow reader still gets every reply, intact and in order.
    for _ in 0..400 {
        assert_eq!(slow_reader.read_frame(), Frame::BulkString(big_value.clone().into()));
    }
}

#[test]
fn output_buffer_limit_disconnects_a_client_that_piles_up_replies() {
    let server = TestServer::start_with(1, &[("client-output-buffer-limit", "1mb")]);
    let mut setup = server.raw();
    let big_value = vec![b'v'; 100 * 1024];
    assert_eq!(
        setup.command(&[b"SET", b"big", &big_value]),
        Frame::SimpleString("OK".into())
    );
    let mut greedy = server.raw();
    let mut request = Vec::new();
    for _ in 0..50 {
        request.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
    }
    greedy.send(&request);
    assert!(greedy.is_closed_by_server(), "greedy client was not disconnected");
    assert_eq!(setup.command(&[b"PING"]), Frame::SimpleString("PONG".into()));
}
