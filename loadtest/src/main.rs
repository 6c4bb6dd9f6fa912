//! The `starling-bench` command line: `run`, `check` and `compare`.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use starling_loadtest::check::{CheckConfig, Checker};
use starling_loadtest::client::Mode;
use starling_loadtest::compare::{compare, CompareTarget};
use starling_loadtest::report::RunReport;
use starling_loadtest::run::{run, RunConfig};
use starling_loadtest::workload::{parse_mix, KeyDistribution, ValueSize, WorkloadConfig};

#[derive(Parser)]
#[command(
    name = "starling-bench",
    version,
    about = "Load generator, lost-write checker and peer comparison for Redis-protocol servers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Drive a workload at one target and report throughput and latency.
    Run {
        /// `host:port` of the server, or of cluster seeds (repeatable).
        #[arg(long = "target", default_value = "127.0.0.1:6379")]
        seeds: Vec<String>,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Write verifiable data and report every lost, duplicated or reordered acknowledged write.
    Check(CheckArgs),
    /// Run the same workload against several targets, alternating, and print a Markdown table.
    Compare {
        /// `name=host:port[,host:port...]` (repeatable).
        #[arg(long = "target", required = true)]
        targets: Vec<CompareTarget>,
        /// Rounds per target; targets alternate within each round.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// The target ratios are taken against (default: the last one).
        #[arg(long)]
        baseline: Option<String>,
        #[command(flatten)]
        load: LoadArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    /// Cluster if the first seed answers CLUSTER SLOTS.
    Auto,
    Standalone,
    Cluster,
}

impl ModeArg {
    fn mode_opt(self) -> Option<Mode> {
        match self {
            ModeArg::Auto => None,
            ModeArg::Standalone => Some(Mode::Standalone),
            ModeArg::Cluster => Some(Mode::Cluster),
        }
    }
}

#[derive(Args)]
struct LoadArgs {
    #[arg(long, value_enum, default_value = "auto")]
    mode: ModeArg,
    /// Built-in commands with weights, e.g. `get=8,set=1,incr=1`.
    #[arg(long, default_value = "get=1,set=1", conflicts_with = "command")]
    mix: String,
    /// A custom command template (repeatable), e.g. `"SET user:__key__ __value__"`.
    #[arg(long)]
    command: Vec<String>,
    /// Distinct keys per command.
    #[arg(long, default_value_t = 1_000_000)]
    keyspace: u64,
    /// uniform, zipfian[:exponent] or sequential.
    #[arg(long, default_value = "uniform")]
    distribution: KeyDistribution,
    /// Bytes per value: `16` or a range `16-256`.
    #[arg(long, default_value = "16")]
    value_size: ValueSize,
    /// Fields or members per hash, set and sorted-set key.
    #[arg(long, default_value_t = 100)]
    elements: u64,
    /// Seconds of TTL given to every SET (`EX`).
    #[arg(long)]
    ttl: Option<u64>,
    #[arg(long, short = 'c', default_value_t = 50)]
    clients: usize,
    /// Requests per batch per client.
    #[arg(long, short = 'P', default_value_t = 1)]
    pipeline: usize,
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Measured duration, e.g. `10s`, `2m` (default 10s unless --requests).
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// Stop after this many requests (after the warm-up).
    #[arg(long, short = 'n')]
    requests: Option<u64>,
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0s")]
    warmup: Duration,
    /// Open loop: send this many requests per second in total, measuring latency
    /// from each request's intended send time.
    #[arg(long)]
    rate: Option<f64>,
    /// Per-request timeout.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    timeout: Duration,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Hide the live progress line.
    #[arg(long)]
    quiet: bool,
    /// Also write the report as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

impl LoadArgs {
    fn run_config(&self, seeds: Vec<String>) -> anyhow::Result<RunConfig> {
        let commands = if self.command.is_empty() {
            WorkloadConfig::from_mix(&parse_mix(&self.mix).map_err(anyhow::Error::msg)?, self.ttl)
        } else {
            self.command
                .iter()
                .map(|template| {
                    let name = template.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                    (name, template.clone(), 1)
                })
                .collect()
        };
        let duration_seconds_opt = match (self.duration, self.requests) {
            (Some(duration), _) => Some(duration.as_secs_f64()),
            (None, Some(_)) => None,
            (None, None) => Some(10.0),
        };
        Ok(RunConfig {
            seeds,
            mode_opt: self.mode.mode_opt(),
            clients: self.clients,
            pipeline: self.pipeline,
            threads: self.threads,
            duration_seconds_opt,
            requests_opt: self.requests,
            warmup_seconds: self.warmup.as_secs_f64(),
            rate_opt: self.rate,
            timeout_ms: self.timeout.as_millis() as u64,
            seed: self.seed,
            show_progress: !self.quiet,
            workload: WorkloadConfig {
                commands,
                keyspace: self.keyspace,
                distribution: self.distribution,
                value_size: self.value_size,
                elements: self.elements,
                ttl_seconds_opt: self.ttl,
            },
        })
    }
}

#[derive(Args)]
struct CheckArgs {
    /// `host:port` of the server, or of cluster seeds (repeatable).
    #[arg(long = "target", default_value = "127.0.0.1:6379")]
    seeds: Vec<String>,
    #[arg(long, value_enum, default_value = "auto")]
    mode: ModeArg,
    /// Concurrent writers, each with its own keys and connection.
    #[arg(long, default_value_t = 16)]
    writers: usize,
    #[arg(long, default_value_t = 12)]
    keys_per_writer: usize,
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    duration: Duration,
    /// Stop each writer after this many writes (before the duration if reached first).
    #[arg(long)]
    operations: Option<u64>,
    /// Verify one key after every this many writes per writer (0: only at the end).
    #[arg(long, default_value_t = 50)]
    verify_every: u64,
    /// Roll a list over to a fresh key after this many pushes.
    #[arg(long, default_value_t = 1000)]
    max_list_length: u64,
    /// Key prefix (default: unique per run).
    #[arg(long)]
    key_prefix: Option<String>,
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    timeout: Duration,
    /// Sends of one write before a redirect, refusal or CLUSTERDOWN is its (failed) outcome.
    #[arg(long, default_value_t = 30)]
    max_attempts: u32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long)]
    quiet: bool,
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { seeds, load } => {
            let config = load.run_config(seeds)?;
            let result = run(&config)?;
            let report = RunReport::new(&config, &result);
            print!("{}", report.table());
            write_json(load.json.as_ref(), &report)
        }
        Command::Compare {
            targets,
            rounds,
            baseline,
            load,
        } => {
            let config = load.run_config(Vec::new())?;
            let baseline = baseline.unwrap_or_else(|| targets.last().expect("clap requires a target").name.clone());
            let report = compare(&config, &targets, rounds, &baseline)?;
            print!("{}", report.markdown());
            write_json(load.json.as_ref(), &report)
        }
        Command::Check(args) => check(args),
    }
}

fn check(args: CheckArgs) -> anyhow::Result<()> {
    let mut config = CheckConfig::new(args.seeds);
    config.mode_opt = args.mode.mode_opt();
    config.writers = args.writers;
    config.keys_per_writer = args.keys_per_writer;
    config.duration_opt = Some(args.duration);
    config.operations_per_writer_opt = args.operations;
    config.verify_every = args.verify_every;
    config.max_list_length = args.max_list_length;
    config.timeout = args.timeout;
    config.max_attempts = args.max_attempts.max(1);
    config.seed = args.seed;
    if let Some(prefix) = args.key_prefix {
        config.key_prefix = prefix;
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let report = runtime.block_on(async {
        let checker = Checker::start(config).await?;
        let progress = std::sync::Arc::clone(checker.progress());
        let reporter = (!args.quiet).then(|| {
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(Duration::from_secs(1));
                loop {
                    ticks.tick().await;
                    eprint!(
                        "\rwrites: {} acknowledged, {} failed, {} indeterminate; {} verified reads; violations {}   ",
                        progress.acknowledged.load(Ordering::Relaxed),
                        progress.failed.load(Ordering::Relaxed),
                        progress.indeterminate.load(Ordering::Relaxed),
                        progress.verified_reads.load(Ordering::Relaxed),
                        progress.violations.load(Ordering::Relaxed)
                    );
                }
            })
        });
        let finished = checker.wait().await?;
        if let Some(reporter) = reporter {
            reporter.abort();
            eprintln!();
        }
        anyhow::Ok(finished.verify().await)
    })?;
    print!("{}", report.summary());
    write_json(args.json.as_ref(), &report)?;
    if !report.is_clean() {
        std::process::exit(1);
    }
    Ok(())
}

fn write_json(path_opt: Option<&PathBuf>, report: &impl serde::Serialize) -> anyhow::Result<()> {
    let Some(path) = path_opt else {
        return Ok(());
    };
    let json = serde_json::to_string_pretty(report)?;
    std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))
}
