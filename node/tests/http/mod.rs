//! A small HTTP client for the admin API tests (ureq), and an event-stream
//! reader that collects Server-Sent Events on a thread of its own.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

/// The admin port of an in-process node.
pub fn admin_base(server: &crate::common::TestServer) -> String {
    let port = server
        .handle
        .context()
        .admin_port
        .get()
        .copied()
        .flatten()
        .expect("the admin server listens");
    format!("http://127.0.0.1:{port}")
}

/// Status and body (JSON when it parses, else a string) of one request.
pub fn call(method: &str, url: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut request = ureq::request(method, url).timeout(Duration::from_secs(30));
    if let Some(token) = token {
        request = request.set("Authorization", &format!("Bearer {token}"));
    }
    let response = match if method == "GET" {
        request.call()
    } else {
        request.set("Content-Type", "application/json").send_string(body)
    } {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("{method} {url}: {error}"),
    };
    let status = response.status();
    let text = response.into_string().expect("a text body");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

pub fn get(url: &str) -> Value {
    let (status, body) = call("GET", url, None, "");
    assert_eq!(status, 200, "GET {url}: {body}");
    body
}

pub fn get_text(url: &str) -> String {
    ureq::get(url)
        .timeout(Duration::from_secs(30))
        .call()
        .unwrap_or_else(|error| panic!("GET {url}: {error}"))
        .into_string()
        .expect("text")
}

/// One Server-Sent Event.
#[derive(Clone, Debug)]
pub struct ServerEvent {
    pub event: String,
    pub data: Value,
}

/// Reads an event stream until it ends or the reader is dropped (the
/// thread then stops at the next event).
pub struct EventReader {
    pub events: Arc<Mutex<Vec<ServerEvent>>>,
}

impl EventReader {
    pub fn open(url: &str) -> EventReader {
        let response = ureq::AgentBuilder::new()
            .timeout_read(Duration::from_secs(30))
            .build()
            .get(url)
            .call()
            .unwrap_or_else(|error| panic!("GET {url}: {error}"));
        assert_eq!(response.header("Content-Type"), Some("text/event-stream"));
        let events = Arc::new(Mutex::new(Vec::new()));
        let collected = Arc::downgrade(&events);
        std::thread::spawn(move || {
            let reader = BufReader::new(response.into_reader());
            let mut event = String::new();
            for line in reader.lines() {
                let Ok(line) = line else { return };
                if let Some(name) = line.strip_prefix("event: ") {
                    event = name.to_string();
                } else if let Some(data) = line.strip_prefix("data: ") {
                    let Some(events) = collected.upgrade() else { return };
                    let data = serde_json::from_str(data).expect("event data is JSON");
                    events.lock().unwrap().push(ServerEvent {
                        event: event.clone(),
                        data,
                    });
                }
            }
        });
        EventReader { events }
    }

    pub fn snapshot(&self) -> Vec<ServerEvent> {
        self.events.lock().unwrap().clone()
    }

    /// Kinds of the `log` events received so far.
    pub fn log_kinds(&self) -> Vec<String> {
        self.snapshot()
            .iter()
            .filter(|event| event.event == "log")
            .map(|event| event.data["kind"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}
