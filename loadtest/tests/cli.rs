//! The `starling-bench` binary end to end against real Starling servers.

mod common;

use std::process::Command;

use common::Server;

fn bench(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_starling-bench"))
        .args(args)
        .output()
        .expect("starling-bench runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn temp_file(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("starling-bench-{}-{name}", std::process::id()))
}

#[test]
fn run_prints_a_table_and_writes_json() {
    let server = Server::start(2);
    let json_path = temp_file("run.json");
    let (status, stdout, stderr) = bench(&[
        "run",
        "--target",
        &server.address(),
        "--mix",
        "set=1,get=1,incr=1",
        "-n",
        "1500",
        "-P",
        "3",
        "-c",
        "5",
        "--quiet",
        "--json",
        json_path.to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.contains("p99.9 ms") && stdout.contains("incr"), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    std::fs::remove_file(&json_path).unwrap();
    assert_eq!(json["mode"], "standalone");
    assert_eq!(json["total"]["requests"], 1500);
    assert_eq!(json["total"]["errors"], 0);
    assert_eq!(json["config"]["pipeline"], 3);
    assert_eq!(json["commands"].as_array().unwrap().len(), 3);
    let p99 = json["total"]["latency"]["p99_ms"].as_f64().unwrap();
    assert!(p99 > 0.0 && p99 <= json["total"]["latency"]["max_ms"].as_f64().unwrap());
}

#[test]
fn check_passes_on_an_undisturbed_server() {
    let server = Server::start(2);
    let json_path = temp_file("check.json");
    let (status, stdout, stderr) = bench(&[
        "check",
        "--target",
        &server.address(),
        "--writers",
        "3",
        "--operations",
        "200",
        "--quiet",
        "--json",
        json_path.to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{stdout}{stderr}");
    assert!(stdout.contains("OK: no violation"), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    std::fs::remove_file(&json_path).unwrap();
    assert_eq!(json["acknowledged"], 600);
    assert_eq!(json["violations"].as_array().unwrap().len(), 0);
}

#[test]
fn check_exits_non_zero_when_it_cannot_verify() {
    // Port 1 refuses connections: nothing can be written or read back.
    let (status, _, stderr) = bench(&["check", "--target", "127.0.0.1:1", "--operations", "1", "--quiet"]);
    assert_ne!(status, 0);
    assert!(stderr.contains("no seed answered"), "{stderr}");
}

#[test]
fn compare_prints_a_markdown_table_with_ratios() {
    let (first, second) = (Server::start(1), Server::start(2));
    let json_path = temp_file("compare.json");
    let (status, stdout, stderr) = bench(&[
        "compare",
        "--target",
        &format!("one={}", first.address()),
        "--target",
        &format!("two={}", second.address()),
        "--rounds",
        "2",
        "--mix",
        "get=1",
        "-n",
        "400",
        "-c",
        "4",
        "--quiet",
        "--json",
        json_path.to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stdout.starts_with("| command | target | ops/s | ops/s × two |"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| get | one |") && stdout.contains("| ALL | two |"),
        "{stdout}"
    );
    assert!(stdout.contains("| 1.00x |"), "the baseline's own ratio: {stdout}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    std::fs::remove_file(&json_path).unwrap();
    assert_eq!(json["baseline"], "two");
    for target in json["targets"].as_array().unwrap() {
        assert_eq!(target["round_ops_per_second"].as_array().unwrap().len(), 2);
        assert_eq!(target["total"]["requests"], 800);
    }
}

#[test]
fn bad_options_are_rejected_with_a_message() {
    let (status, _, stderr) = bench(&["run", "--mix", "frobnicate=1", "-n", "1"]);
    assert_ne!(status, 0);
    assert!(stderr.contains("unknown command \"frobnicate\""), "{stderr}");
    let (status, _, stderr) = bench(&["run", "--distribution", "zipfian:-2", "-n", "1"]);
    assert_ne!(status, 0);
    assert!(stderr.contains("zipfian exponent"), "{stderr}");
}
