//! Just enough of the W3C WebDriver protocol to drive headless Chromium
//! through `chromedriver` (Debian packages `chromium` and `chromium-driver`):
//! open a page, run JavaScript in it, take a screenshot.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// The flags the brief asks for, plus a fixed window for the screenshots.
const CHROMIUM_ARGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
];

/// A chromedriver process with one browser session; both end on drop.
pub struct Browser {
    driver: Child,
    _driver_stdout: BufReader<ChildStdout>,
    session_url: String,
}

fn post(url: &str, body: &Value) -> Value {
    let response = match ureq::post(url).timeout(Duration::from_secs(60)).send_json(body) {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("POST {url}: {error}"),
    };
    let reply: Value = response.into_json().expect("WebDriver replies JSON");
    if let Some(error) = reply["value"].get("error") {
        panic!("WebDriver {url}: {error} {}", reply["value"]["message"]);
    }
    reply["value"].clone()
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless Chromium.
    pub fn start() -> Browser {
        let mut driver = Command::new("chromedriver")
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (Debian package chromium-driver; .ci/run installs it)");
        let mut stdout = BufReader::new(driver.stdout.take().expect("stdout"));
        let mut port = None;
        let mut line = String::new();
        while port.is_none() {
            line.clear();
            if stdout.read_line(&mut line).expect("reads chromedriver's output") == 0 {
                panic!("chromedriver stopped before listening");
            }
            port = line
                .split("started successfully on port ")
                .nth(1)
                .and_then(|rest| rest.trim().trim_end_matches('.').parse::<u16>().ok());
        }
        let base = format!("http://127.0.0.1:{}", port.unwrap());
        let capabilities = json!({
            "capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": CHROMIUM_ARGS},
            }}
        });
        let session = post(&format!("{base}/session"), &capabilities);
        let id = session["sessionId"].as_str().expect("a session id");
        Browser {
            driver,
            _driver_stdout: stdout,
            session_url: format!("{base}/session/{id}"),
        }
    }

    pub fn goto(&self, url: &str) {
        post(&format!("{}/url", self.session_url), &json!({ "url": url }));
    }

    /// Runs `script` (a function body; `return` gives the result) in the page.
    pub fn eval(&self, script: &str) -> Value {
        post(
            &format!("{}/execute/sync", self.session_url),
            &json!({ "script": script, "args": [] }),
        )
    }

    /// Polls `script` until it returns true; panics with `what` after `limit`.
    pub fn wait_for(&self, limit: Duration, what: &str, script: &str) {
        let started = Instant::now();
        loop {
            if self.eval(script) == Value::Bool(true) {
                return;
            }
            assert!(
                started.elapsed() < limit,
                "timed out after {limit:?} waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Saves a PNG of the window.
    pub fn screenshot(&self, path: &Path) {
        let response = ureq::get(&format!("{}/screenshot", self.session_url))
            .timeout(Duration::from_secs(60))
            .call()
            .expect("a screenshot");
        let reply: Value = response.into_json().expect("JSON");
        let png = base64::engine::general_purpose::STANDARD
            .decode(reply["value"].as_str().expect("base64 PNG"))
            .expect("valid base64");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("artifact folder");
        }
        std::fs::write(path, png).expect("screenshot written");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = ureq::delete(&self.session_url).timeout(Duration::from_secs(10)).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
