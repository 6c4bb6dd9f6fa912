//! `starling-bench run`: drive a workload at a target and measure it.
//!
//! Clients are tokio tasks spread over `threads` OS threads, each thread a
//! single-threaded runtime (like redis-benchmark's event loop, one per
//! thread). A client sends a batch of `pipeline` requests, waits for every
//! reply, and records each request's latency:
//! - closed loop (default): from the moment the batch is sent;
//! - open loop (`rate`): batches are scheduled at fixed intervals and the
//!   latency runs from the *intended* send time, so a stalled server is
//!   charged for the requests it delayed (coordinated omission corrected,
//!   as wrk2 does).
//!
//! Nothing is recorded during the warm-up. A run stops after its duration,
//! or once `requests` requests (counted after the warm-up) are done.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::client::{Client, ClientOptions, Mode, Outcome, RedirectCounts, Request, Topology};
use crate::stats::{error_kind, new_histogram, RunStats};
use crate::workload::{Generator, Workload, WorkloadConfig};

/// How long the progress line waits between updates.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Clone, Debug, serde::Serialize)]
pub struct RunConfig {
    /// `host:port` of the target, or of cluster seeds.
    pub seeds: Vec<String>,
    /// `None` detects cluster mode with CLUSTER SLOTS.
    pub mode_opt: Option<Mode>,
    pub clients: usize,
    pub pipeline: usize,
    pub threads: usize,
    /// Measured duration; `None` when `requests_opt` bounds the run.
    pub duration_seconds_opt: Option<f64>,
    pub requests_opt: Option<u64>,
    pub warmup_seconds: f64,
    /// Open-loop target in requests per second, over all clients.
    pub rate_opt: Option<f64>,
    pub timeout_ms: u64,
    pub seed: u64,
    #[serde(skip)]
    pub show_progress: bool,
    pub workload: WorkloadConfig,
}

impl RunConfig {
    pub fn client_options(&self) -> ClientOptions {
        ClientOptions {
            timeout: Duration::from_millis(self.timeout_ms),
            ..ClientOptions::default()
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.clients >= 1, "--clients must be at least 1");
        anyhow::ensure!(
            (1..=100_000).contains(&self.pipeline),
            "--pipeline must be in 1..=100000"
        );
        anyhow::ensure!(self.threads >= 1, "--threads must be at least 1");
        anyhow::ensure!(
            self.duration_seconds_opt.is_some() || self.requests_opt.is_some(),
            "give --duration or --requests"
        );
        if let Some(rate) = self.rate_opt {
            anyhow::ensure!(rate > 0.0 && rate.is_finite(), "--rate must be positive");
        }
        Ok(())
    }
}

/// What a finished run measured.
#[derive(Clone, Debug)]
pub struct RunResult {
    pub mode: Mode,
    /// The measured window (warm-up excluded).
    pub elapsed: Duration,
    pub stats: RunStats,
    pub topology_refreshes: u64,
}

/// State every client of a run reads and updates.
struct Control {
    recording: AtomicBool,
    stopped: AtomicBool,
    /// Requests left to send once recording, when the run is bounded by count.
    remaining_requests_opt: Option<AtomicI64>,
    /// Requests recorded so far, for the progress line.
    recorded: AtomicU64,
    errors: AtomicU64,
    /// Latencies since the progress line last looked.
    interval_latency_micros: Mutex<Histogram<u64>>,
}

impl Control {
    /// How many requests the next batch may send; 0 ends the client.
    fn claim(&self, pipeline: usize) -> usize {
        if self.stopped.load(Ordering::Relaxed) {
            return 0;
        }
        let Some(remaining) = &self.remaining_requests_opt else {
            return pipeline;
        };
        if !self.recording.load(Ordering::Relaxed) {
            return pipeline;
        }
        let before = remaining.fetch_sub(pipeline as i64, Ordering::Relaxed);
        before.clamp(0, pipeline as i64) as usize
    }
}

/// Runs the workload and returns what it measured.
pub fn run(config: &RunConfig) -> anyhow::Result<RunResult> {
    config.validate()?;
    let workload = Arc::new(Workload::new(config.workload.clone()).map_err(anyhow::Error::msg)?);
    let topology = Arc::new(discover(config)?);
    // Without a warm-up every request counts, the very first batches included.
    let record_from_start = config.warmup_seconds <= 0.0;
    let control = Arc::new(Control {
        recording: AtomicBool::new(record_from_start),
        stopped: AtomicBool::new(false),
        remaining_requests_opt: config.requests_opt.map(|requests| AtomicI64::new(requests as i64)),
        recorded: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        interval_latency_micros: Mutex::new(new_histogram()),
    });
    let spawned = Instant::now();
    let threads: Vec<_> = (0..config.threads)
        .map(|thread_index| {
            let client_indices: Vec<usize> = (thread_index..config.clients).step_by(config.threads).collect();
            let context = ThreadContext {
                config: config.clone(),
                workload: Arc::clone(&workload),
                topology: Arc::clone(&topology),
                control: Arc::clone(&control),
            };
            std::thread::Builder::new()
                .name(format!("bench-{thread_index}"))
                .spawn(move || context.run_clients(client_indices))
        })
        .collect::<Result<_, _>>()?;
    let elapsed = supervise(config, &control, &threads, spawned);
    let mut stats = RunStats::new(&workload.command_names());
    for thread in threads {
        let thread_stats = thread
            .join()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))??;
        stats.merge(&thread_stats);
    }
    Ok(RunResult {
        mode: topology.mode,
        elapsed,
        stats,
        topology_refreshes: topology.refresh_count(),
    })
}

fn discover(config: &RunConfig) -> anyhow::Result<Topology> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(Topology::discover(
        &config.seeds,
        config.mode_opt,
        Duration::from_millis(config.timeout_ms),
    ))
}

/// Runs the warm-up, then the measured window with a progress line.
/// Returns the measured window's length.
fn supervise(
    config: &RunConfig,
    control: &Control,
    threads: &[std::thread::JoinHandle<anyhow::Result<RunStats>>],
    spawned: Instant,
) -> Duration {
    let all_finished = || threads.iter().all(|thread| thread.is_finished());
    let started = if control.recording.load(Ordering::Acquire) {
        spawned
    } else {
        let warmup_end = spawned + Duration::from_secs_f64(config.warmup_seconds);
        while Instant::now() < warmup_end && !all_finished() {
            std::thread::sleep(Duration::from_millis(10).min(warmup_end.saturating_duration_since(Instant::now())));
        }
        control.interval_latency_micros.lock().expect("latency lock").reset();
        control.recording.store(true, Ordering::Release);
        Instant::now()
    };
    let deadline_opt = config
        .duration_seconds_opt
        .map(|seconds| started + Duration::from_secs_f64(seconds));
    let progress = progress_bar(config.show_progress);
    let mut last_tick = (started, 0u64);
    loop {
        let now = Instant::now();
        if deadline_opt.is_some_and(|deadline| now >= deadline) {
            control.stopped.store(true, Ordering::Release);
            progress.finish_and_clear();
            return now - started;
        }
        if all_finished() {
            progress.finish_and_clear();
            return now - started;
        }
        if now - last_tick.0 >= PROGRESS_INTERVAL {
            last_tick = update_progress(&progress, control, last_tick, now - started);
        }
        let next_wake = deadline_opt.map_or(Duration::from_millis(5), |deadline| {
            deadline.saturating_duration_since(now).min(Duration::from_millis(5))
        });
        std::thread::sleep(next_wake);
    }
}

fn progress_bar(show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}").expect("valid template"));
    bar
}

fn update_progress(
    progress: &ProgressBar,
    control: &Control,
    last: (Instant, u64),
    elapsed: Duration,
) -> (Instant, u64) {
    let now = Instant::now();
    let recorded = control.recorded.load(Ordering::Relaxed);
    let rate = (recorded - last.1) as f64 / (now - last.0).as_secs_f64();
    let (p50, p99) = {
        let mut histogram = control.interval_latency_micros.lock().expect("latency lock");
        let percentiles = (histogram.value_at_quantile(0.5), histogram.value_at_quantile(0.99));
        histogram.reset();
        percentiles
    };
    progress.set_message(format!(
        "{:>12.0} ops/s   p50 {:.3} ms   p99 {:.3} ms   errors {}   ({:.0} s)",
        rate,
        p50 as f64 / 1000.0,
        p99 as f64 / 1000.0,
        control.errors.load(Ordering::Relaxed),
        elapsed.as_secs_f64()
    ));
    progress.tick();
    (now, recorded)
}

struct ThreadContext {
    config: RunConfig,
    workload: Arc<Workload>,
    topology: Arc<Topology>,
    control: Arc<Control>,
}

impl ThreadContext {
    fn run_clients(self, client_indices: Vec<usize>) -> anyhow::Result<RunStats> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let context = Arc::new(self);
        runtime.block_on(async {
            let tasks: Vec<_> = client_indices
                .into_iter()
                .map(|client_index| tokio::spawn(Arc::clone(&context).client_loop(client_index)))
                .collect();
            let mut stats = RunStats::new(&context.workload.command_names());
            for task in tasks {
                stats.merge(&task.await?);
            }
            Ok(stats)
        })
    }

    async fn client_loop(self: Arc<Self>, client_index: usize) -> RunStats {
        let config = &self.config;
        let route_by_slot = self.topology.mode == Mode::Cluster;
        let mut client = Client::new(Arc::clone(&self.topology), config.client_options());
        let mut generator = Generator::new(
            Arc::clone(&self.workload),
            config.seed.wrapping_add(client_index as u64),
            route_by_slot,
        );
        let mut requests = vec![Request::default(); config.pipeline];
        let mut command_indices = vec![0usize; config.pipeline];
        let mut outcomes = Vec::with_capacity(config.pipeline);
        let mut stats = RunStats::new(&self.workload.command_names());
        let mut schedule_opt = config
            .rate_opt
            .map(|rate| OpenLoopSchedule::new(rate, config, client_index));
        let mut counts_at_recording_start_opt: Option<RedirectCounts> = None;
        loop {
            let batch = self.control.claim(config.pipeline);
            if batch == 0 {
                break;
            }
            for (request, command_index) in requests.iter_mut().zip(&mut command_indices).take(batch) {
                *command_index = generator.fill(request);
            }
            let intended_start = match &mut schedule_opt {
                Some(schedule) => schedule.next_start().await,
                None => tokio::time::Instant::now(),
            };
            let was_recording = self.control.recording.load(Ordering::Acquire);
            if was_recording {
                counts_at_recording_start_opt.get_or_insert(client.counts);
            }
            client.execute(&requests[..batch], &mut outcomes).await;
            let latency_micros = intended_start.elapsed().as_micros() as u64;
            if !was_recording || self.control.stopped.load(Ordering::Acquire) {
                continue;
            }
            self.record(
                &mut stats,
                &command_indices[..batch],
                &outcomes,
                client.request_redirects(),
                latency_micros,
            );
        }
        stats.redirects = counts_since(client.counts, counts_at_recording_start_opt.unwrap_or(client.counts));
        stats
    }

    fn record(
        &self,
        stats: &mut RunStats,
        command_indices: &[usize],
        outcomes: &[Outcome],
        redirects: &[u32],
        latency_micros: u64,
    ) {
        let mut errors = 0;
        for ((command_index, outcome), redirects) in command_indices.iter().zip(outcomes).zip(redirects) {
            stats.commands[*command_index].record(outcome, *redirects, latency_micros);
            errors += u64::from(error_kind(outcome).is_some());
        }
        let batch = outcomes.len() as u64;
        self.control.recorded.fetch_add(batch, Ordering::Relaxed);
        if errors > 0 {
            self.control.errors.fetch_add(errors, Ordering::Relaxed);
        }
        self.control
            .interval_latency_micros
            .lock()
            .expect("latency lock")
            .saturating_record_n(latency_micros.max(1), batch);
    }
}

fn counts_since(now: RedirectCounts, start: RedirectCounts) -> RedirectCounts {
    RedirectCounts {
        moved: now.moved - start.moved,
        ask: now.ask - start.ask,
        tryagain: now.tryagain - start.tryagain,
        clusterdown: now.clusterdown - start.clusterdown,
        reconnects: now.reconnects - start.reconnects,
    }
}

/// Fixed-interval batch start times for one client of an open-loop run.
struct OpenLoopSchedule {
    next: tokio::time::Instant,
    interval: Duration,
}

impl OpenLoopSchedule {
    fn new(rate: f64, config: &RunConfig, client_index: usize) -> OpenLoopSchedule {
        let batches_per_second = rate / config.pipeline as f64 / config.clients as f64;
        let interval = Duration::from_secs_f64(1.0 / batches_per_second);
        // Spread the clients over one interval instead of firing them together.
        let offset = interval.mul_f64(client_index as f64 / config.clients as f64);
        OpenLoopSchedule {
            next: tokio::time::Instant::now() + offset,
            interval,
        }
    }

    /// Waits for the next scheduled start (at once if behind) and returns it.
    async fn next_start(&mut self) -> tokio::time::Instant {
        let start = self.next;
        tokio::time::sleep_until(start).await;
        self.next += self.interval;
        start
    }
}
