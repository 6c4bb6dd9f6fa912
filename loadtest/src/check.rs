//! `starling-bench check`: a lost-write checker in the spirit of Jepsen.
//!
//! Writers own disjoint keys, so each writer knows exactly what every one
//! of its keys must hold. Each key has one kind of write whose effect can be
//! verified:
//! - `set`: `SET key <version>` with a strictly increasing version;
//! - `incr`: `INCR key`;
//! - `list`: `RPUSH key <sequence number>`, numbers increasing from 1.
//!
//! Every write is classified as acknowledged (a non-error reply), failed
//! (an error reply, or never sent: it did not run) or indeterminate
//! (written, no reply: it may have run). A key is then valid when:
//! - set: its value is the highest acknowledged version, or a later
//!   indeterminate one;
//! - incr: acknowledged ≤ value ≤ acknowledged + indeterminate;
//! - list: strictly ascending (order kept, no duplicates), holding every
//!   acknowledged number and nothing that was not attempted.
//!
//! Writers verify one of their keys every `verify_every` writes while the
//! run goes on; [`CheckRun::verify`] checks every key once at the end.
//! Lists are rolled over to a fresh key after `max_list_length` pushes, so
//! a long run stays bounded.

use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use starling_protocol::{key_slot, Frame};

use crate::client::{encode_request, Client, ClientOptions, Mode, Outcome, Request, Topology};

/// Example keys the report lists per violation kind.
const EXAMPLES_PER_KIND: usize = 10;

#[derive(Clone, Debug, serde::Serialize)]
pub struct CheckConfig {
    pub seeds: Vec<String>,
    pub mode_opt: Option<Mode>,
    pub writers: usize,
    pub keys_per_writer: usize,
    /// The run ends at this duration or after `operations_per_writer_opt`
    /// writes per writer, whichever comes first; at least one must be set.
    pub duration_opt: Option<Duration>,
    pub operations_per_writer_opt: Option<u64>,
    /// A writer verifies one of its keys after this many writes (0: never).
    pub verify_every: u64,
    pub max_list_length: u64,
    /// Prefix of every key; make it unique per run.
    pub key_prefix: String,
    pub timeout: Duration,
    /// Sends of one request before its last redirect or refusal is its
    /// outcome. Retries back off, so the default rides out a migration
    /// handoff or a node restart of a few seconds.
    pub max_attempts: u32,
    pub seed: u64,
}

impl CheckConfig {
    /// Defaults for `seeds`, with a key prefix unique to this process and moment.
    pub fn new(seeds: Vec<String>) -> CheckConfig {
        let unique = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since_epoch| since_epoch.as_micros());
        CheckConfig {
            seeds,
            mode_opt: None,
            writers: 16,
            keys_per_writer: 12,
            duration_opt: Some(Duration::from_secs(10)),
            operations_per_writer_opt: None,
            verify_every: 50,
            max_list_length: 1000,
            key_prefix: format!("check:{}:{unique}", std::process::id()),
            timeout: Duration::from_secs(5),
            max_attempts: 30,
            seed: 1,
        }
    }
}

/// The verifiable write a key receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteKind {
    Set,
    Incr,
    List,
}

const WRITE_KINDS: [WriteKind; 3] = [WriteKind::Set, WriteKind::Incr, WriteKind::List];

/// What one writer did to one key.
#[derive(Clone, Debug)]
pub struct KeyLedger {
    pub key: String,
    pub kind: WriteKind,
    /// The next version or sequence number to write (starts at 1).
    next_number: u64,
    /// Acknowledged numbers, in order (list); the highest one only (set).
    acknowledged: Vec<u64>,
    acknowledged_count: u64,
    indeterminate: Vec<u64>,
    failed: Vec<u64>,
}

impl KeyLedger {
    fn new(key: String, kind: WriteKind) -> KeyLedger {
        KeyLedger {
            key,
            kind,
            next_number: 1,
            acknowledged: Vec::new(),
            acknowledged_count: 0,
            indeterminate: Vec::new(),
            failed: Vec::new(),
        }
    }

    pub fn acknowledged_count(&self) -> u64 {
        self.acknowledged_count
    }

    /// Numbers written so far, in order (versions or sequence numbers).
    pub fn acknowledged_numbers(&self) -> &[u64] {
        &self.acknowledged
    }

    fn encode_next_write(&self, out: &mut BytesMut) {
        let number = self.next_number.to_string();
        let key = self.key.as_bytes();
        match self.kind {
            WriteKind::Set => encode_request(&[b"SET", key, number.as_bytes()], out),
            WriteKind::Incr => encode_request(&[b"INCR", key], out),
            WriteKind::List => encode_request(&[b"RPUSH", key, number.as_bytes()], out),
        }
    }

    fn encode_read(&self, out: &mut BytesMut) {
        let key = self.key.as_bytes();
        match self.kind {
            WriteKind::Set | WriteKind::Incr => encode_request(&[b"GET", key], out),
            WriteKind::List => encode_request(&[b"LRANGE", key, b"0", b"-1"], out),
        }
    }

    /// Books the outcome of the write of `next_number`. An INCR reply is
    /// itself checked: it names the counter's value right after this write.
    fn book(&mut self, outcome: &Outcome, violations: &mut Vec<Violation>) {
        let number = self.next_number;
        self.next_number += 1;
        match outcome {
            Outcome::Reply(Frame::Error(_)) | Outcome::Unsent(_) => self.failed.push(number),
            Outcome::Indeterminate(_) => self.indeterminate.push(number),
            Outcome::Reply(reply) => {
                self.acknowledged_count += 1;
                match self.kind {
                    WriteKind::Set => self.acknowledged = vec![number],
                    WriteKind::List => self.acknowledged.push(number),
                    WriteKind::Incr => {
                        if let Some(violation) = self.check_counter(reply) {
                            violations.push(violation);
                        }
                    }
                }
            }
        }
    }

    /// Checks the key's stored value (a GET or LRANGE reply) against the ledger.
    pub fn check(&self, stored: &Frame) -> Vec<Violation> {
        match self.kind {
            WriteKind::Set => self.check_version(stored).into_iter().collect(),
            WriteKind::Incr => self.check_counter(stored).into_iter().collect(),
            WriteKind::List => self.check_list(stored),
        }
    }

    fn violation(&self, kind: ViolationKind, writes: u64, detail: String) -> Violation {
        Violation {
            kind,
            key: self.key.clone(),
            write_kind: self.kind,
            writes,
            detail,
        }
    }

    fn check_version(&self, stored: &Frame) -> Option<Violation> {
        let acknowledged = self.acknowledged.last().copied().unwrap_or(0);
        let found = match number_in(stored) {
            Ok(found) => found,
            Err(text) => return Some(self.violation(ViolationKind::Unexpected, 1, format!("value {text}"))),
        };
        match found {
            None if acknowledged == 0 => None,
            None => Some(self.violation(
                ViolationKind::Lost,
                1,
                format!("missing; version {acknowledged} was acknowledged"),
            )),
            Some(version) if version < acknowledged => Some(self.violation(
                ViolationKind::Lost,
                acknowledged - version,
                format!("holds version {version}; version {acknowledged} was acknowledged"),
            )),
            Some(version) if version == acknowledged || self.indeterminate.contains(&version) => None,
            Some(version) => Some(self.violation(
                ViolationKind::Unexpected,
                1,
                format!("holds version {version}, which was never acknowledged nor left indeterminate"),
            )),
        }
    }

    fn check_counter(&self, stored: &Frame) -> Option<Violation> {
        let value = match number_in(stored) {
            Ok(found) => found.unwrap_or(0),
            Err(text) => return Some(self.violation(ViolationKind::Unexpected, 1, format!("value {text}"))),
        };
        let low = self.acknowledged_count;
        let high = low + self.indeterminate.len() as u64;
        if value < low {
            return Some(self.violation(
                ViolationKind::Lost,
                low - value,
                format!("counter {value}, but {low} increments were acknowledged"),
            ));
        }
        if value > high {
            return Some(self.violation(
                ViolationKind::Duplicated,
                value - high,
                format!("counter {value}, but only {high} increments may have run"),
            ));
        }
        None
    }

    fn check_list(&self, stored: &Frame) -> Vec<Violation> {
        let elements = match stored {
            Frame::Array(elements) => elements.as_slice(),
            Frame::Null | Frame::NullArray => &[],
            other => return vec![self.violation(ViolationKind::Unexpected, 1, format!("reply {other:?}"))],
        };
        let mut numbers = Vec::with_capacity(elements.len());
        for element in elements {
            match number_in(element) {
                Ok(Some(number)) => numbers.push(number),
                _ => return vec![self.violation(ViolationKind::Unexpected, 1, format!("element {element:?}"))],
            }
        }
        let mut violations = Vec::new();
        let mut sorted = numbers.clone();
        sorted.sort_unstable();
        let before_dedup = sorted.len();
        sorted.dedup();
        let duplicates = (before_dedup - sorted.len()) as u64;
        if duplicates > 0 {
            violations.push(self.violation(
                ViolationKind::Duplicated,
                duplicates,
                format!("{duplicates} repeated elements"),
            ));
        }
        let out_of_order = numbers.windows(2).filter(|pair| pair[0] >= pair[1]).count() as u64;
        if out_of_order > duplicates {
            violations.push(self.violation(
                ViolationKind::Reordered,
                out_of_order - duplicates,
                format!("{} descents in {:?}", out_of_order - duplicates, abbreviate(&numbers)),
            ));
        }
        let lost: Vec<u64> = self
            .acknowledged
            .iter()
            .copied()
            .filter(|number| sorted.binary_search(number).is_err())
            .collect();
        if !lost.is_empty() {
            violations.push(self.violation(
                ViolationKind::Lost,
                lost.len() as u64,
                format!("acknowledged pushes missing: {:?}", abbreviate(&lost)),
            ));
        }
        let unexpected: Vec<u64> = sorted
            .iter()
            .copied()
            .filter(|number| self.acknowledged.binary_search(number).is_err() && !self.indeterminate.contains(number))
            .collect();
        if !unexpected.is_empty() {
            violations.push(self.violation(
                ViolationKind::Unexpected,
                unexpected.len() as u64,
                format!(
                    "elements never acknowledged nor indeterminate: {:?}",
                    abbreviate(&unexpected)
                ),
            ));
        }
        violations
    }
}

/// Why a write failed: the error's first word, or `unsent:<reason>`.
fn failure_kind(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Reply(Frame::Error(message)) => {
            let first_word = message.split(|&byte| byte == b' ').next().unwrap_or_default();
            Some(String::from_utf8_lossy(first_word).into_owned())
        }
        Outcome::Unsent(reason) => Some(format!("unsent:{reason}")),
        _ => None,
    }
}

/// The number a GET or list element holds; `Ok(None)` for a missing key.
fn number_in(frame: &Frame) -> Result<Option<u64>, String> {
    match frame {
        Frame::Null | Frame::NullArray => Ok(None),
        Frame::Integer(value) if *value >= 0 => Ok(Some(*value as u64)),
        Frame::BulkString(bytes) | Frame::SimpleString(bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| text.parse().ok())
            .map(Some)
            .ok_or_else(|| format!("{:?}", String::from_utf8_lossy(bytes))),
        other => Err(format!("{other:?}")),
    }
}

fn abbreviate(numbers: &[u64]) -> Vec<u64> {
    numbers.iter().copied().take(8).collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ViolationKind {
    /// An acknowledged write is not there.
    Lost,
    /// A write took effect more than once.
    Duplicated,
    /// List elements are out of order.
    Reordered,
    /// The key holds something no write could have produced.
    Unexpected,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    pub kind: ViolationKind,
    pub key: String,
    pub write_kind: WriteKind,
    /// How many writes the violation concerns.
    pub writes: u64,
    pub detail: String,
}

/// Live counters a caller (or the progress line) may read during a run.
#[derive(Debug, Default)]
pub struct CheckProgress {
    pub acknowledged: AtomicU64,
    pub failed: AtomicU64,
    pub indeterminate: AtomicU64,
    pub violations: AtomicU64,
    pub verified_reads: AtomicU64,
}

/// One writer: its keys (current and rolled over) and what it saw.
#[derive(Debug)]
pub struct WriterState {
    /// Failed writes by the first word of their error (or the transport failure).
    pub failures: std::collections::BTreeMap<String, u64>,
    pub keys: Vec<KeyLedger>,
    pub retired_keys: Vec<KeyLedger>,
    pub violations: Vec<Violation>,
    pub failed_reads: u64,
}

/// A running checker: writers are tasks on the caller's tokio runtime.
pub struct Checker {
    config: CheckConfig,
    topology: Arc<Topology>,
    stop: Arc<AtomicBool>,
    progress: Arc<CheckProgress>,
    writers: Vec<tokio::task::JoinHandle<WriterState>>,
}

impl Checker {
    pub async fn start(config: CheckConfig) -> anyhow::Result<Checker> {
        anyhow::ensure!(
            config.writers >= 1 && config.keys_per_writer >= 1,
            "need writers and keys"
        );
        anyhow::ensure!(
            config.duration_opt.is_some() || config.operations_per_writer_opt.is_some(),
            "give a duration or an operation count"
        );
        let topology = Arc::new(Topology::discover(&config.seeds, config.mode_opt, config.timeout).await?);
        let stop = Arc::new(AtomicBool::new(false));
        let progress = Arc::new(CheckProgress::default());
        let deadline_opt = config.duration_opt.map(|duration| Instant::now() + duration);
        let writers = (0..config.writers)
            .map(|writer_index| {
                let writer = Writer {
                    index: writer_index,
                    config: config.clone(),
                    client: Client::new(Arc::clone(&topology), client_options(&config)),
                    stop: Arc::clone(&stop),
                    progress: Arc::clone(&progress),
                    deadline_opt,
                };
                tokio::spawn(writer.run())
            })
            .collect();
        Ok(Checker {
            config,
            topology,
            stop,
            progress,
            writers,
        })
    }

    pub fn progress(&self) -> &Arc<CheckProgress> {
        &self.progress
    }

    /// Waits until the run's duration or operation count is reached.
    pub async fn wait(self) -> anyhow::Result<CheckRun> {
        let mut writers = Vec::with_capacity(self.writers.len());
        for writer in self.writers {
            writers.push(writer.await?);
        }
        Ok(CheckRun {
            config: self.config,
            topology: self.topology,
            writers,
        })
    }

    /// Stops the writers after their current write.
    pub async fn stop(self) -> anyhow::Result<CheckRun> {
        self.stop.store(true, Ordering::Release);
        self.wait().await
    }
}

fn client_options(config: &CheckConfig) -> ClientOptions {
    ClientOptions {
        timeout: config.timeout,
        max_attempts: config.max_attempts,
        ..ClientOptions::default()
    }
}

/// What the writers did, ready for the final verification.
pub struct CheckRun {
    config: CheckConfig,
    topology: Arc<Topology>,
    pub writers: Vec<WriterState>,
}

impl CheckRun {
    /// Every key the run wrote.
    pub fn keys(&self) -> impl Iterator<Item = &KeyLedger> {
        self.writers
            .iter()
            .flat_map(|writer| writer.keys.iter().chain(&writer.retired_keys))
    }

    /// Reads every key once and returns the report, violations seen during
    /// the run included.
    pub async fn verify(&self) -> CheckReport {
        let mut client = Client::new(Arc::clone(&self.topology), client_options(&self.config));
        let mut report = CheckReport::default();
        for writer in &self.writers {
            report.violations.extend(writer.violations.iter().cloned());
            report.failed_reads += writer.failed_reads;
            for (kind, count) in &writer.failures {
                *report.failures.entry(kind.clone()).or_default() += count;
            }
        }
        for ledger in self.keys() {
            report.keys += 1;
            report.acknowledged += ledger.acknowledged_count;
            report.failed += ledger.failed.len() as u64;
            report.indeterminate += ledger.indeterminate.len() as u64;
            match read(&mut client, ledger).await {
                Some(stored) => report.violations.extend(ledger.check(&stored)),
                None => report.unverified_keys.push(ledger.key.clone()),
            }
        }
        report
            .violations
            .sort_by(|a, b| (a.kind, &a.key).cmp(&(b.kind, &b.key)));
        report
    }
}

/// Reads a key's stored value; `None` if the read itself failed.
async fn read(client: &mut Client, ledger: &KeyLedger) -> Option<Frame> {
    let mut request = Request {
        slot_opt: Some(key_slot(ledger.key.as_bytes())),
        encoded: BytesMut::new(),
    };
    ledger.encode_read(&mut request.encoded);
    let mut outcomes = Vec::with_capacity(1);
    client.execute(std::slice::from_ref(&request), &mut outcomes).await;
    match outcomes.pop() {
        Some(Outcome::Reply(Frame::Error(_))) | None => None,
        Some(Outcome::Reply(stored)) => Some(stored),
        Some(_) => None,
    }
}

struct Writer {
    index: usize,
    config: CheckConfig,
    client: Client,
    stop: Arc<AtomicBool>,
    progress: Arc<CheckProgress>,
    deadline_opt: Option<Instant>,
}

impl Writer {
    fn key_name(&self, key_index: usize, generation: u64) -> String {
        let kind = WRITE_KINDS[key_index % WRITE_KINDS.len()];
        format!(
            "{}:w{}:{kind:?}:{key_index}:g{generation}",
            self.config.key_prefix, self.index
        )
        .to_lowercase()
    }

    async fn run(mut self) -> WriterState {
        let mut state = WriterState {
            failures: Default::default(),
            keys: (0..self.config.keys_per_writer)
                .map(|key_index| KeyLedger::new(self.key_name(key_index, 0), WRITE_KINDS[key_index % 3]))
                .collect(),
            retired_keys: Vec::new(),
            violations: Vec::new(),
            failed_reads: 0,
        };
        let mut generations = vec![0u64; self.config.keys_per_writer];
        let mut rng = SmallRng::seed_from_u64(self.config.seed.wrapping_mul(1_000_003).wrapping_add(self.index as u64));
        let mut request = Request::default();
        let mut outcomes = Vec::with_capacity(1);
        let mut operations = 0u64;
        while !self.finished(operations) {
            let key_index = rng.gen_range(0..state.keys.len());
            let ledger = &mut state.keys[key_index];
            request.slot_opt = Some(key_slot(ledger.key.as_bytes()));
            request.encoded.clear();
            ledger.encode_next_write(&mut request.encoded);
            self.client.execute(std::slice::from_ref(&request), &mut outcomes).await;
            let violations_before = state.violations.len();
            ledger.book(&outcomes[0], &mut state.violations);
            if let Some(kind) = failure_kind(&outcomes[0]) {
                *state.failures.entry(kind).or_default() += 1;
            }
            self.count(&outcomes[0], state.violations.len() - violations_before);
            operations += 1;
            if ledger.kind == WriteKind::List && ledger.next_number > self.config.max_list_length {
                generations[key_index] += 1;
                let fresh = KeyLedger::new(self.key_name(key_index, generations[key_index]), WriteKind::List);
                state
                    .retired_keys
                    .push(std::mem::replace(&mut state.keys[key_index], fresh));
            }
            if self.config.verify_every > 0 && operations.is_multiple_of(self.config.verify_every) {
                let ledger = &state.keys[rng.gen_range(0..state.keys.len())];
                self.verify_now(ledger, &mut state.violations, &mut state.failed_reads)
                    .await;
            }
        }
        state
    }

    fn finished(&self, operations: u64) -> bool {
        self.stop.load(Ordering::Acquire)
            || self.operations_reached(operations)
            || self.deadline_opt.is_some_and(|deadline| Instant::now() >= deadline)
    }

    fn operations_reached(&self, operations: u64) -> bool {
        self.config
            .operations_per_writer_opt
            .is_some_and(|limit| operations >= limit)
    }

    fn count(&self, outcome: &Outcome, new_violations: usize) {
        let counter = match outcome {
            Outcome::Reply(Frame::Error(_)) | Outcome::Unsent(_) => &self.progress.failed,
            Outcome::Indeterminate(_) => &self.progress.indeterminate,
            Outcome::Reply(_) => &self.progress.acknowledged,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.progress
            .violations
            .fetch_add(new_violations as u64, Ordering::Relaxed);
    }

    async fn verify_now(&mut self, ledger: &KeyLedger, violations: &mut Vec<Violation>, failed_reads: &mut u64) {
        let Some(stored) = read(&mut self.client, ledger).await else {
            *failed_reads += 1;
            return;
        };
        let found = ledger.check(&stored);
        self.progress.verified_reads.fetch_add(1, Ordering::Relaxed);
        self.progress
            .violations
            .fetch_add(found.len() as u64, Ordering::Relaxed);
        violations.extend(found);
    }
}

/// The checker's verdict.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct CheckReport {
    pub keys: u64,
    pub acknowledged: u64,
    pub failed: u64,
    pub indeterminate: u64,
    /// Failed writes by kind (`MOVED`, `CLUSTERDOWN`, `unsent:io`...).
    pub failures: std::collections::BTreeMap<String, u64>,
    /// Reads (continuous or final) that got no usable reply.
    pub failed_reads: u64,
    /// Keys the final pass could not read: not verified, reported.
    pub unverified_keys: Vec<String>,
    pub violations: Vec<Violation>,
}

impl CheckReport {
    /// No violation, and every key verified.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty() && self.unverified_keys.is_empty()
    }

    pub fn violations_of(&self, kind: ViolationKind) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(move |violation| violation.kind == kind)
    }

    /// The human-readable verdict, with example keys for each kind of violation.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        writeln!(
            out,
            "{} keys; writes: {} acknowledged, {} failed, {} indeterminate; {} failed reads",
            self.keys, self.acknowledged, self.failed, self.indeterminate, self.failed_reads
        )
        .expect("write to string");
        if !self.failures.is_empty() {
            let kinds: Vec<String> = self
                .failures
                .iter()
                .map(|(kind, count)| format!("{kind} {count}"))
                .collect();
            writeln!(out, "failed writes by kind: {}", kinds.join(", ")).expect("write to string");
        }
        for kind in [
            ViolationKind::Lost,
            ViolationKind::Duplicated,
            ViolationKind::Reordered,
            ViolationKind::Unexpected,
        ] {
            let found: Vec<&Violation> = self.violations_of(kind).collect();
            let writes: u64 = found.iter().map(|violation| violation.writes).sum();
            writeln!(out, "{kind:?}: {writes} writes on {} keys", found.len()).expect("write to string");
            for violation in found.iter().take(EXAMPLES_PER_KIND) {
                writeln!(
                    out,
                    "  {} ({:?}): {}",
                    violation.key, violation.write_kind, violation.detail
                )
                .expect("write to string");
            }
        }
        if !self.unverified_keys.is_empty() {
            writeln!(out, "unverified keys: {}", self.unverified_keys.len()).expect("write to string");
        }
        let verdict = if self.is_clean() { "OK: no violation" } else { "FAILED" };
        writeln!(out, "{verdict}").expect("write to string");
        out
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn bulk(number: u64) -> Frame {
        Frame::BulkString(Bytes::from(number.to_string()))
    }

    fn ledger(kind: WriteKind, outcomes: &[Outcome]) -> KeyLedger {
        let mut ledger = KeyLedger::new("k".into(), kind);
        let mut violations = Vec::new();
        for outcome in outcomes {
            ledger.book(outcome, &mut violations);
        }
        ledger
    }

    fn ack(reply: Frame) -> Outcome {
        Outcome::Reply(reply)
    }

    const INDETERMINATE: Outcome = Outcome::Indeterminate("timeout");

    fn kinds(violations: &[Violation]) -> Vec<ViolationKind> {
        violations.iter().map(|violation| violation.kind).collect()
    }

    #[test]
    fn versions_must_reach_the_last_acknowledged_one() {
        let set = ledger(
            WriteKind::Set,
            &[ack(Frame::ok()), ack(Frame::ok()), INDETERMINATE, Outcome::Unsent("io")],
        );
        assert!(set.check(&bulk(2)).is_empty());
        assert!(
            set.check(&bulk(3)).is_empty(),
            "indeterminate version 3 may have landed"
        );
        assert_eq!(kinds(&set.check(&bulk(1))), vec![ViolationKind::Lost]);
        assert_eq!(kinds(&set.check(&Frame::Null)), vec![ViolationKind::Lost]);
        assert_eq!(
            kinds(&set.check(&bulk(4))),
            vec![ViolationKind::Unexpected],
            "version 4 failed"
        );
        assert_eq!(kinds(&set.check(&bulk(9))), vec![ViolationKind::Unexpected]);
    }

    #[test]
    fn counters_lie_between_acknowledged_and_attempted() {
        let counter = ledger(
            WriteKind::Incr,
            &[
                ack(Frame::Integer(1)),
                INDETERMINATE,
                ack(Frame::Integer(3)),
                Outcome::Reply(Frame::error("ERR x")),
            ],
        );
        assert!(counter.check(&bulk(2)).is_empty());
        assert!(counter.check(&bulk(3)).is_empty());
        assert_eq!(counter.check(&bulk(1))[0].writes, 1);
        assert_eq!(kinds(&counter.check(&bulk(1))), vec![ViolationKind::Lost]);
        assert_eq!(kinds(&counter.check(&bulk(5))), vec![ViolationKind::Duplicated]);
    }

    #[test]
    fn an_incr_reply_outside_the_bounds_is_a_violation_at_once() {
        let mut counter = KeyLedger::new("c".into(), WriteKind::Incr);
        let mut violations = Vec::new();
        counter.book(&ack(Frame::Integer(1)), &mut violations);
        counter.book(&ack(Frame::Integer(7)), &mut violations);
        assert_eq!(kinds(&violations), vec![ViolationKind::Duplicated]);
    }

    #[test]
    fn lists_keep_every_acknowledged_push_in_order_once() {
        let list = ledger(
            WriteKind::List,
            &[ack(Frame::Integer(1)), INDETERMINATE, ack(Frame::Integer(2))],
        );
        let stored = |numbers: &[u64]| Frame::Array(numbers.iter().map(|&number| bulk(number)).collect());
        assert!(list.check(&stored(&[1, 3])).is_empty());
        assert!(list.check(&stored(&[1, 2, 3])).is_empty());
        assert_eq!(kinds(&list.check(&stored(&[3]))), vec![ViolationKind::Lost]);
        assert_eq!(list.check(&stored(&[3]))[0].writes, 1);
        assert_eq!(kinds(&list.check(&stored(&[1, 1, 3]))), vec![ViolationKind::Duplicated]);
        assert_eq!(kinds(&list.check(&stored(&[3, 1]))), vec![ViolationKind::Reordered]);
        assert_eq!(kinds(&list.check(&stored(&[1, 3, 4]))), vec![ViolationKind::Unexpected]);
        assert_eq!(kinds(&list.check(&Frame::Array(vec![]))), vec![ViolationKind::Lost]);
    }

    #[test]
    fn the_summary_names_example_keys() {
        let report = CheckReport {
            keys: 1,
            violations: vec![Violation {
                kind: ViolationKind::Lost,
                key: "check:w0:set:0:g0".into(),
                write_kind: WriteKind::Set,
                writes: 1,
                detail: "missing".into(),
            }],
            ..CheckReport::default()
        };
        let summary = report.summary();
        assert!(summary.contains("Lost: 1 writes on 1 keys"), "{summary}");
        assert!(summary.contains("check:w0:set:0:g0"));
        assert!(summary.ends_with("FAILED\n"));
        assert!(!report.is_clean());
    }
}
