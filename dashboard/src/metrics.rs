//! `GET /metrics`: Prometheus text format 0.0.4, with redis_exporter's
//! names where it has one and `starling_*` for the rest (docs/api.md).

use std::fmt::Write;

use crate::model::{MigrationJson, Snapshot};
use crate::source::{Mode, Sample};

struct Exposition {
    text: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    fn value(&mut self, name: &str, labels: &[(&str, &str)], value: u64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            let rendered: Vec<String> = labels
                .iter()
                .map(|(label, text)| format!("{label}=\"{}\"", escape(text)))
                .collect();
            let _ = write!(self.text, "{{{}}}", rendered.join(","));
        }
        let _ = writeln!(self.text, " {value}");
    }

    fn single(&mut self, name: &str, kind: &str, help: &str, value: u64) {
        self.family(name, kind, help);
        self.value(name, &[], value);
    }
}

/// Label values escape backslash, quote and newline.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

pub fn render(sample: &Sample, snapshot: &Snapshot) -> String {
    let mut out = Exposition { text: String::new() };
    let local = &sample.local;
    let cluster = &snapshot.cluster;
    let view = &sample.view;
    out.single("redis_up", "gauge", "Whether the node answers.", 1);
    out.single(
        "redis_connected_clients",
        "gauge",
        "Clients connected to this node.",
        local.stats.connected_clients,
    );
    out.single(
        "redis_memory_used_bytes",
        "gauge",
        "Resident memory of this node.",
        local.stats.memory_bytes,
    );
    out.single(
        "redis_commands_processed_total",
        "counter",
        "Commands this node ran.",
        local.stats.commands_processed,
    );
    out.single(
        "redis_connections_received_total",
        "counter",
        "Connections this node accepted.",
        local.connections_received,
    );
    out.single(
        "redis_net_input_bytes_total",
        "counter",
        "Bytes read from clients.",
        local.net_input_bytes,
    );
    out.single(
        "redis_net_output_bytes_total",
        "counter",
        "Bytes written to clients.",
        local.net_output_bytes,
    );
    out.family("redis_db_keys", "gauge", "Keys on this node, per database.");
    out.value("redis_db_keys", &[("db", "db0")], local.stats.keys);
    let cluster_mode = sample.mode == Mode::Cluster;
    out.single(
        "redis_cluster_enabled",
        "gauge",
        "1 in cluster mode.",
        u64::from(cluster_mode),
    );
    if cluster_mode {
        let my_epoch = view.node(&view.myself).map_or(0, |node| node.config_epoch);
        out.single(
            "redis_cluster_state",
            "gauge",
            "1 when the cluster is ok.",
            u64::from(cluster.state == "ok"),
        );
        out.single(
            "redis_cluster_slots_assigned",
            "gauge",
            "Slots with an owner.",
            cluster.slots_assigned as u64,
        );
        out.single(
            "redis_cluster_slots_ok",
            "gauge",
            "Slots whose owner is not failed.",
            cluster.slots_ok as u64,
        );
        out.single(
            "redis_cluster_slots_fail",
            "gauge",
            "Slots whose owner failed.",
            cluster.slots_fail as u64,
        );
        out.single(
            "redis_cluster_known_nodes",
            "gauge",
            "Nodes in this node's view.",
            cluster.nodes as u64,
        );
        out.single(
            "redis_cluster_current_epoch",
            "gauge",
            "The highest epoch seen.",
            cluster.current_epoch,
        );
        out.single("redis_cluster_my_epoch", "gauge", "This node's config epoch.", my_epoch);
        out.single(
            "starling_gossip_live_nodes",
            "gauge",
            "Nodes the failure detector sees alive.",
            sample.live_nodes as u64,
        );
    }
    out.family("starling_node_slots", "gauge", "Slots each node owns.");
    for node in &snapshot.nodes {
        out.value("starling_node_slots", &[("node", node.id.as_str())], node.slots as u64);
    }
    out.family(
        "starling_node_up",
        "gauge",
        "1 when the node is alive, 0 when suspect or failed.",
    );
    for node in &snapshot.nodes {
        out.value(
            "starling_node_up",
            &[("node", node.id.as_str())],
            u64::from(node.health == "alive"),
        );
    }
    out.family("starling_node_keys", "gauge", "Keys each node last reported.");
    for node in &snapshot.nodes {
        if let Some(stats) = &node.stats {
            out.value("starling_node_keys", &[("node", node.id.as_str())], stats.keys);
        }
    }
    out.family(
        "starling_node_ops_per_sec",
        "gauge",
        "Commands per second each node last reported.",
    );
    for node in &snapshot.nodes {
        if let Some(stats) = &node.stats {
            out.value(
                "starling_node_ops_per_sec",
                &[("node", node.id.as_str())],
                stats.ops_per_sec,
            );
        }
    }
    let active = &snapshot.migrations.active;
    out.single(
        "starling_migrations_active",
        "gauge",
        "Live slot migrations in the cluster.",
        active.len() as u64,
    );
    for (name, help, value) in [
        (
            "starling_migration_keys_moved",
            "Keys each live migration moved.",
            (|migration| migration.progress.keys_moved) as fn(&MigrationJson) -> u64,
        ),
        (
            "starling_migration_bytes_moved",
            "Bytes each live migration moved.",
            |migration| migration.progress.bytes_moved,
        ),
    ] {
        out.family(name, "gauge", help);
        for migration in active {
            let labels = [
                ("migration", migration.id.as_str()),
                ("source", migration.source.as_str()),
                ("target", migration.target.as_str()),
            ];
            out.value(name, &labels, value(migration));
        }
    }
    out.text
}
