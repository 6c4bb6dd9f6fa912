//! Turning a run's counts into the summary table and the `--json` document.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::client::{Mode, RedirectCounts};
use crate::run::{RunConfig, RunResult};
use crate::stats::CommandStats;

/// Latency percentiles in milliseconds.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LatencySummary {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

/// One command's line of the report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CommandSummary {
    pub command: String,
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub ops_per_second: f64,
    pub latency: LatencySummary,
    pub error_kinds: BTreeMap<String, u64>,
    /// MOVED and ASK replies this command's requests followed.
    pub redirects: u64,
}

impl CommandSummary {
    pub fn new(stats: &CommandStats, elapsed_seconds: f64) -> CommandSummary {
        let histogram = &stats.latency_micros;
        let millis = |micros: u64| micros as f64 / 1000.0;
        CommandSummary {
            command: stats.name.clone(),
            requests: stats.total(),
            ok: stats.ok,
            errors: stats.error_count(),
            ops_per_second: if elapsed_seconds > 0.0 {
                stats.total() as f64 / elapsed_seconds
            } else {
                0.0
            },
            latency: LatencySummary {
                p50_ms: millis(histogram.value_at_quantile(0.50)),
                p90_ms: millis(histogram.value_at_quantile(0.90)),
                p99_ms: millis(histogram.value_at_quantile(0.99)),
                p999_ms: millis(histogram.value_at_quantile(0.999)),
                max_ms: millis(histogram.max()),
                mean_ms: histogram.mean() / 1000.0,
            },
            error_kinds: stats.errors.clone(),
            redirects: stats.redirects,
        }
    }
}

/// The whole report, as `--json` writes it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunReport {
    pub config: RunConfig,
    pub mode: Mode,
    pub elapsed_seconds: f64,
    pub commands: Vec<CommandSummary>,
    pub total: CommandSummary,
    /// Redirects followed and retries made, counted by the client
    /// (a MOVED that a retry then served is counted here, not as an error).
    pub redirects: RedirectCounts,
    pub topology_refreshes: u64,
}

impl RunReport {
    pub fn new(config: &RunConfig, result: &RunResult) -> RunReport {
        let elapsed_seconds = result.elapsed.as_secs_f64();
        RunReport {
            config: config.clone(),
            mode: result.mode,
            elapsed_seconds,
            commands: result
                .stats
                .commands
                .iter()
                .filter(|stats| stats.total() > 0)
                .map(|stats| CommandSummary::new(stats, elapsed_seconds))
                .collect(),
            total: CommandSummary::new(&result.stats.combined(), elapsed_seconds),
            redirects: result.stats.redirects,
            topology_refreshes: result.topology_refreshes,
        }
    }

    /// The human-readable summary.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let header = format!(
            "{:<12} {:>12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "command", "ops/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "errors", "redirects"
        );
        writeln!(out, "{header}").expect("write to string");
        writeln!(out, "{}", "-".repeat(header.len())).expect("write to string");
        for line in self.commands.iter().chain(std::iter::once(&self.total)) {
            writeln!(
                out,
                "{:<12} {:>12.0} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9} {:>9}",
                line.command,
                line.ops_per_second,
                line.latency.p50_ms,
                line.latency.p90_ms,
                line.latency.p99_ms,
                line.latency.p999_ms,
                line.latency.max_ms,
                line.errors,
                line.redirects
            )
            .expect("write to string");
        }
        let redirects = &self.redirects;
        writeln!(
            out,
            "\n{} requests in {:.2} s ({:?}); redirects followed: {} MOVED, {} ASK; retries: {} TRYAGAIN, {} CLUSTERDOWN; connects: {}; topology refreshes: {}",
            self.total.requests,
            self.elapsed_seconds,
            self.mode,
            redirects.moved,
            redirects.ask,
            redirects.tryagain,
            redirects.clusterdown,
            redirects.reconnects,
            self.topology_refreshes
        )
        .expect("write to string");
        if !self.total.error_kinds.is_empty() {
            let kinds: Vec<String> = self
                .total
                .error_kinds
                .iter()
                .map(|(kind, count)| format!("{kind} {count}"))
                .collect();
            writeln!(out, "errors by kind: {}", kinds.join(", ")).expect("write to string");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use starling_protocol::Frame;

    use super::*;
    use crate::client::Outcome;

    #[test]
    fn summaries_convert_microseconds_and_count_redirects() {
        let mut stats = CommandStats::new("GET");
        for latency in [1000, 2000, 3000, 4000] {
            stats.record(&Outcome::Reply(Frame::Null), 1, latency);
        }
        stats.record(&Outcome::Reply(Frame::error("MOVED 1 h:2")), 0, 5000);
        let summary = CommandSummary::new(&stats, 2.0);
        assert_eq!(summary.requests, 5);
        assert_eq!(summary.errors, 1);
        assert_eq!(summary.redirects, 4);
        assert_eq!(summary.ops_per_second, 2.5);
        assert!((summary.latency.p50_ms - 3.0).abs() < 0.01, "{:?}", summary.latency);
        assert!((summary.latency.max_ms - 5.0).abs() < 0.01);
    }
}
