//! The lost-write checker against a real Starling server: clean when nothing
//! is disturbed, and when keys are changed behind its back it reports
//! exactly those keys, each under the right kind of violation.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::Server;
use starling_loadtest::check::{CheckConfig, CheckRun, Checker, ViolationKind, WriteKind};

fn config(server: &Server, writers: usize, keys_per_writer: usize, operations: u64) -> CheckConfig {
    let mut config = CheckConfig::new(vec![server.address()]);
    config.writers = writers;
    config.keys_per_writer = keys_per_writer;
    config.duration_opt = Some(Duration::from_secs(60));
    config.operations_per_writer_opt = Some(operations);
    config.verify_every = 10;
    config
}

async fn run_to_completion(config: CheckConfig) -> CheckRun {
    Checker::start(config).await.unwrap().wait().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undisturbed_run_is_clean() {
    let server = Server::start(4);
    let mut config = config(&server, 4, 6, 300);
    config.max_list_length = 20;
    let checker = Checker::start(config).await.unwrap();
    let progress = std::sync::Arc::clone(checker.progress());
    let run = checker.wait().await.unwrap();
    let report = run.verify().await;
    assert!(report.is_clean(), "{}", report.summary());
    assert_eq!(report.acknowledged, 4 * 300);
    assert_eq!(report.failed + report.indeterminate, 0);
    assert!(progress.verified_reads.load(Ordering::Relaxed) >= 4 * 300 / 10 - 4);
    // Short lists roll over to fresh keys, and the retired ones are verified too.
    assert!(run.writers.iter().any(|writer| !writer.retired_keys.is_empty()));
    assert_eq!(report.keys as usize, run.keys().count());
    assert!(report.summary().ends_with("OK: no violation\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_removed_or_rewritten_behind_its_back_are_reported_exactly() {
    let server = Server::start(2);
    let run = run_to_completion(config(&server, 1, 9, 450)).await;
    let with_writes = |kind: WriteKind| -> Vec<_> {
        run.keys()
            .filter(|ledger| ledger.kind == kind && ledger.acknowledged_count() >= 3)
            .collect()
    };
    let (sets, counters, lists) = (
        with_writes(WriteKind::Set),
        with_writes(WriteKind::Incr),
        with_writes(WriteKind::List),
    );
    assert!(!sets.is_empty() && !counters.is_empty() && lists.len() >= 3);

    // Lost: a deleted key, a counter set back by two, a list missing one push.
    server.query(&["DEL", &sets[0].key]);
    let counter = counters[0].acknowledged_count() as i64;
    server.query(&["SET", &counters[0].key, &(counter - 2).to_string()]);
    let pushed = lists[0].acknowledged_numbers()[1].to_string();
    server.query(&["LREM", &lists[0].key, "1", &pushed]);
    // Duplicated: a push repeated. Reordered: the first two elements swapped.
    let last = lists[1].acknowledged_numbers().last().unwrap().to_string();
    server.query(&["RPUSH", &lists[1].key, &last]);
    let first_two = &lists[2].acknowledged_numbers()[..2];
    server.query(&["LSET", &lists[2].key, "0", &first_two[1].to_string()]);
    server.query(&["LSET", &lists[2].key, "1", &first_two[0].to_string()]);

    let report = run.verify().await;
    let keys_of = |kind: ViolationKind| -> BTreeSet<String> {
        report
            .violations_of(kind)
            .map(|violation| violation.key.clone())
            .collect()
    };
    let expected_lost: BTreeSet<String> = [&sets[0].key, &counters[0].key, &lists[0].key]
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(keys_of(ViolationKind::Lost), expected_lost, "{}", report.summary());
    assert_eq!(
        keys_of(ViolationKind::Duplicated),
        BTreeSet::from([lists[1].key.clone()])
    );
    assert_eq!(
        keys_of(ViolationKind::Reordered),
        BTreeSet::from([lists[2].key.clone()])
    );
    assert_eq!(keys_of(ViolationKind::Unexpected), BTreeSet::new());
    let lost_writes: Vec<u64> = report
        .violations_of(ViolationKind::Lost)
        .map(|violation| violation.writes)
        .collect();
    assert_eq!(lost_writes.iter().sum::<u64>(), 1 + 2 + 1, "{lost_writes:?}");
    assert!(!report.is_clean());
    assert!(report.summary().contains(&sets[0].key));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_no_write_produced_is_unexpected() {
    let server = Server::start(1);
    let run = run_to_completion(config(&server, 1, 3, 30)).await;
    let set = run.keys().find(|ledger| ledger.kind == WriteKind::Set).unwrap();
    server.query(&["SET", &set.key, "999999"]);
    let report = run.verify().await;
    let unexpected: Vec<_> = report.violations_of(ViolationKind::Unexpected).collect();
    assert_eq!(unexpected.len(), 1, "{}", report.summary());
    assert_eq!(unexpected[0].key, set.key);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_to_a_server_that_went_away_are_not_expected_and_unread_keys_are_reported() {
    let server = Server::start(1);
    let mut config = config(&server, 2, 3, u64::MAX);
    config.timeout = Duration::from_millis(500);
    config.max_attempts = 2;
    let checker = Checker::start(config).await.unwrap();
    let progress = std::sync::Arc::clone(checker.progress());
    while progress.acknowledged.load(Ordering::Relaxed) < 100 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::task::spawn_blocking(move || server.handle.shutdown())
        .await
        .unwrap();
    while progress.failed.load(Ordering::Relaxed) + progress.indeterminate.load(Ordering::Relaxed) < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let run = checker.stop().await.unwrap();
    let report = run.verify().await;
    assert!(report.acknowledged >= 100);
    assert!(report.failed + report.indeterminate >= 2, "{}", report.summary());
    // Nothing can be read back: no violation is invented, and nothing is called clean.
    assert!(report.violations.is_empty(), "{}", report.summary());
    assert_eq!(report.unverified_keys.len(), 6);
    assert!(!report.is_clean());
}
