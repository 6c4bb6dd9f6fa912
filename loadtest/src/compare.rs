//! `starling-bench compare`: one workload against several targets, side by
//! side. Targets alternate round by round (A B A B ...) so that drift on a
//! noisy machine hits every target alike. Each target's rounds are merged:
//! throughput is requests over the summed measured time, latencies come from
//! the merged histograms. Ratios are target ÷ baseline.

use std::fmt::Write;

use crate::report::CommandSummary;
use crate::run::{run, RunConfig};
use crate::stats::RunStats;

#[derive(Clone, Debug, serde::Serialize)]
pub struct CompareTarget {
    pub name: String,
    pub seeds: Vec<String>,
}

impl std::str::FromStr for CompareTarget {
    type Err = String;

    /// `name=host:port[,host:port...]`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let Some((name, addresses)) = text.split_once('=') else {
            return Err(format!("--target wants name=host:port, got {text:?}"));
        };
        let seeds: Vec<String> = addresses
            .split(',')
            .filter(|seed| !seed.is_empty())
            .map(str::to_string)
            .collect();
        if name.is_empty() || seeds.is_empty() {
            return Err(format!("--target wants name=host:port, got {text:?}"));
        }
        Ok(CompareTarget {
            name: name.to_string(),
            seeds,
        })
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct TargetResult {
    pub name: String,
    pub seeds: Vec<String>,
    /// Total ops/s of each round, in order.
    pub round_ops_per_second: Vec<f64>,
    pub commands: Vec<CommandSummary>,
    pub total: CommandSummary,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct CompareReport {
    pub config: RunConfig,
    pub rounds: usize,
    pub baseline: String,
    pub targets: Vec<TargetResult>,
}

/// Runs `config`'s workload `rounds` times against every target, alternating.
/// `baseline` names the target ratios are taken against.
pub fn compare(
    config: &RunConfig,
    targets: &[CompareTarget],
    rounds: usize,
    baseline: &str,
) -> anyhow::Result<CompareReport> {
    anyhow::ensure!(!targets.is_empty(), "give at least one --target");
    anyhow::ensure!(rounds >= 1, "--rounds must be at least 1");
    anyhow::ensure!(
        targets.iter().any(|target| target.name == baseline),
        "--baseline {baseline:?} is not a target name"
    );
    let mut merged: Vec<Option<(RunStats, f64)>> = vec![None; targets.len()];
    let mut round_rates = vec![Vec::new(); targets.len()];
    for _ in 0..rounds {
        for (index, target) in targets.iter().enumerate() {
            let mut target_config = config.clone();
            target_config.seeds = target.seeds.clone();
            let result = run(&target_config)?;
            let elapsed_seconds = result.elapsed.as_secs_f64();
            round_rates[index].push(result.stats.combined().total() as f64 / elapsed_seconds);
            match &mut merged[index] {
                Some((stats, seconds)) => {
                    stats.merge(&result.stats);
                    *seconds += elapsed_seconds;
                }
                slot => *slot = Some((result.stats, elapsed_seconds)),
            }
        }
    }
    let targets = targets
        .iter()
        .zip(merged)
        .zip(round_rates)
        .map(|((target, merged), round_ops_per_second)| {
            let (stats, seconds) = merged.expect("every target ran at least once");
            TargetResult {
                name: target.name.clone(),
                seeds: target.seeds.clone(),
                round_ops_per_second,
                commands: stats
                    .commands
                    .iter()
                    .filter(|command| command.total() > 0)
                    .map(|command| CommandSummary::new(command, seconds))
                    .collect(),
                total: CommandSummary::new(&stats.combined(), seconds),
            }
        })
        .collect();
    Ok(CompareReport {
        config: config.clone(),
        rounds,
        baseline: baseline.to_string(),
        targets,
    })
}

impl CompareReport {
    /// The Markdown table: one row per command and target.
    pub fn markdown(&self) -> String {
        let baseline = self
            .targets
            .iter()
            .find(|target| target.name == self.baseline)
            .expect("compare checked the baseline");
        let mut out = String::new();
        let ratio_label = format!("× {}", self.baseline);
        writeln!(
            out,
            "| command | target | ops/s | ops/s {ratio_label} | p50 ms | p99 ms | p99 {ratio_label} | p99.9 ms | errors |"
        )
        .expect("write to string");
        writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|").expect("write to string");
        let rows = baseline
            .commands
            .iter()
            .map(|command| command.command.as_str())
            .chain(std::iter::once("ALL"));
        for command in rows {
            let summary_of = |target: &TargetResult| -> Option<CommandSummary> {
                if command == "ALL" {
                    return Some(target.total.clone());
                }
                target
                    .commands
                    .iter()
                    .find(|summary| summary.command == command)
                    .cloned()
            };
            let Some(base) = summary_of(baseline) else { continue };
            for target in &self.targets {
                let Some(summary) = summary_of(target) else { continue };
                writeln!(
                    out,
                    "| {command} | {} | {:.0} | {} | {:.3} | {:.3} | {} | {:.3} | {} |",
                    target.name,
                    summary.ops_per_second,
                    ratio(summary.ops_per_second, base.ops_per_second),
                    summary.latency.p50_ms,
                    summary.latency.p99_ms,
                    ratio(summary.latency.p99_ms, base.latency.p99_ms),
                    summary.latency.p999_ms,
                    summary.errors
                )
                .expect("write to string");
            }
        }
        out
    }
}

fn ratio(value: f64, base: f64) -> String {
    if base > 0.0 {
        format!("{:.2}x", value / base)
    } else {
        "n/a".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_names_and_seed_lists() {
        let target: CompareTarget = "starling=127.0.0.1:7001,127.0.0.1:7002".parse().unwrap();
        assert_eq!(target.name, "starling");
        assert_eq!(target.seeds, vec!["127.0.0.1:7001", "127.0.0.1:7002"]);
        assert!("127.0.0.1:7001".parse::<CompareTarget>().is_err());
        assert!("name=".parse::<CompareTarget>().is_err());
    }

    #[test]
    fn ratios_are_target_over_baseline() {
        assert_eq!(ratio(150.0, 100.0), "1.50x");
        assert_eq!(ratio(1.0, 0.0), "n/a");
    }
}
