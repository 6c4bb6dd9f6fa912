//! The dashboard in a real browser (headless Chromium through WebDriver):
//! node 1 of a three-node cluster shows three nodes and a fully covered slot
//! map; after a fourth node joins, a rebalance started from the page shows
//! up live, with progress, and the slot map ends with four owners, all
//! without reloading the page.
//!
//! Screenshots go to `target/test-artifacts/`. With
//! `STARLING_UPDATE_SCREENSHOT=1` the one taken mid-migration also replaces
//! `docs/dashboard.png`, which the README shows.

mod cluster_harness;
mod common;
mod http;
mod webdriver;

use std::path::PathBuf;
use std::time::Duration;

use cluster_harness::*;
use http::admin_base;
use starling_node::admin;
use webdriver::Browser;

const TOKEN: &str = "browser-test-token";
const KEYS: usize = 40_000;

fn artifact(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-artifacts")
        .join(name)
}

/// 100-byte values, so that a throttled migration takes a few seconds.
fn preload(seed: &common::TestServer) {
    let client = redis::cluster::ClusterClient::new(vec![seed.url()]).unwrap();
    let mut connection = client.get_connection().unwrap();
    let value = "v".repeat(100);
    for batch in 0..KEYS / 1000 {
        let mut pipeline = redis::cluster::cluster_pipe();
        for index in batch * 1000..(batch + 1) * 1000 {
            pipeline.cmd("SET").arg(format!("ui:{index}")).arg(&value).ignore();
        }
        let _: () = pipeline.query(&mut connection).unwrap();
    }
}

/// A JavaScript condition on the page's DOM contract.
fn attribute_is(selector: &str, attribute: &str, value: &str) -> String {
    format!("const element = document.querySelector('{selector}'); return !!element && element.getAttribute('{attribute}') === '{value}';")
}

fn text_is(selector: &str, value: &str) -> String {
    format!("const element = document.querySelector('{selector}'); return !!element && element.textContent.trim() === '{value}';")
}

#[test]
fn the_page_shows_the_cluster_and_a_rebalance_live() {
    let (_dirs, nodes) = start_nodes("dash-ui", 4, &[("admin-token", TOKEN)]);
    form_cluster(&nodes[..3].iter().collect::<Vec<_>>());
    preload(&nodes[0]);
    let page = format!("{}/", admin_base(&nodes[0]));

    let browser = Browser::start();
    browser.goto(&page);
    let limit = Duration::from_secs(30);
    browser.wait_for(
        limit,
        "the event stream",
        "return document.body.dataset.connected === 'true';",
    );
    browser.wait_for(limit, "three nodes", &text_is("#node-count", "3"));
    browser.wait_for(limit, "full coverage", &text_is("#slots-covered", "16384"));
    browser.wait_for(
        limit,
        "three owners",
        &attribute_is("canvas#slot-map", "data-owners", "3"),
    );
    browser.wait_for(
        limit,
        "a covered slot map",
        &attribute_is("canvas#slot-map", "data-covered", "16384"),
    );
    browser.wait_for(
        limit,
        "three rows",
        "return document.querySelectorAll('#nodes-table tbody tr[data-node-id]').length === 3;",
    );
    browser.wait_for(
        limit,
        "three legend entries",
        "return document.querySelector('#legend').children.length === 3;",
    );
    browser.screenshot(&artifact("dashboard-three-nodes.png"));
    // Anything set now would be gone after a reload.
    browser.eval("window.__notReloaded = true; return true;");
    let updates_before: u64 = browser
        .eval("return Number(document.body.dataset.stateUpdates);")
        .as_u64()
        .unwrap();

    // A fourth node joins (empty), then the page starts a rebalance.
    for node in &nodes {
        let _: () = command(&["CONFIG", "SET", "migration-max-bytes-per-sec", "150kb"])
            .query(&mut node.connection())
            .unwrap();
    }
    admin::add_node(&address(&nodes[0]), &address(&nodes[3])).unwrap();
    browser.wait_for(limit, "four nodes", &text_is("#node-count", "4"));
    browser.eval(&format!(
        "const input = document.querySelector('#admin-token');
         input.value = '{TOKEN}';
         input.dispatchEvent(new Event('input'));
         document.querySelector('#rebalance-btn').click();
         return true;"
    ));

    // The migrations appear with progress, and their slots are marked.
    browser.wait_for(
        limit,
        "a migration with progress, its slots marked on the map",
        "return [...document.querySelectorAll('#migrations-active .migration')]
            .some(row => Number(row.dataset.keysMoved) > 0
                && Number(row.dataset.keysMoved) <= Number(row.dataset.keysTotal))
            && Number(document.querySelector('canvas#slot-map').dataset.migrating) > 0;",
    );
    let status = browser.eval("return document.querySelector('#action-status').textContent;");
    assert!(status.as_str().unwrap().contains("202"), "{status}");
    let during = artifact("dashboard-rebalancing.png");
    browser.screenshot(&during);
    if std::env::var_os("STARLING_UPDATE_SCREENSHOT").is_some() {
        std::fs::copy(
            &during,
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/dashboard.png"),
        )
        .unwrap();
    }

    // The map ends with four owners; the finished moves are in the history.
    browser.wait_for(
        Duration::from_secs(120),
        "four owners",
        &attribute_is("canvas#slot-map", "data-owners", "4"),
    );
    browser.wait_for(
        Duration::from_secs(60),
        "no migration left",
        "return document.querySelectorAll('#migrations-active .migration').length === 0
            && document.querySelector('canvas#slot-map').dataset.migrating === '0';",
    );
    browser.wait_for(
        limit,
        "finished migrations in the history",
        "const done = document.querySelectorAll('#migrations-history .migration[data-state=\"success\"]');
         return done.length >= 3;",
    );
    browser.wait_for(
        limit,
        "migration events in the log",
        "return !!document.querySelector('#events-log li[data-kind=\"migration_finished\"]')
            && !!document.querySelector('#events-log li[data-kind=\"node_joined\"]');",
    );
    assert_eq!(browser.eval("return window.__notReloaded === true;"), true);
    let updates_after = browser
        .eval("return Number(document.body.dataset.stateUpdates);")
        .as_u64()
        .unwrap();
    assert!(
        updates_after > updates_before + 2,
        "{updates_before} -> {updates_after}"
    );
    browser.screenshot(&artifact("dashboard-four-nodes.png"));

    let keys: i64 = nodes.iter().map(|node| query::<i64>(node, &["DBSIZE"])).sum();
    assert_eq!(keys, KEYS as i64, "no key lost in the rebalance");
}
